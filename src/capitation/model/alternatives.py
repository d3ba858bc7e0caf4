"""Alternatives to least squares behind the same interface, for honest comparison.

PBRA chose person-level OLS in pounds (CHE Research Paper 73 found it the most robust estimator for practice
budgets); these let an analyst check that choice on their own data.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["ALTERNATIVES", "fit_alternative"]

ALTERNATIVES = ("tweedie", "poisson", "two_part", "hgb")
#: Dense copies for gradient boosting are refused above this many cells (people × columns).
HGB_MAX_CELLS = 400_000_000


def _scipy(indptr, indices, data, n_columns):
    from scipy import sparse

    return sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_columns))


class _LogLinear:
    """A GLM with log link: Tweedie (power 1.5, compound Poisson–gamma) or Poisson quasi-likelihood."""

    def __init__(self, family: str):
        self.family = family

    def fit(self, X, y, w):
        from sklearn.linear_model import PoissonRegressor, TweedieRegressor

        # The age–sex cells span the constant, so no separate intercept.
        model = (TweedieRegressor(power=1.5, link="log", alpha=0.0, fit_intercept=False, max_iter=1_000)
                 if self.family == "tweedie" else PoissonRegressor(alpha=0.0, fit_intercept=False, max_iter=1_000))
        self.model = model.fit(X, y, sample_weight=w)
        return self

    def predict(self, X):
        return self.model.predict(X)


class _TwoPart:
    """P(any cost) from a logistic regression × E(cost | any cost) from least squares."""

    def fit(self, X, y, w):
        from sklearn.linear_model import LogisticRegression

        from .estimator import fit_ols

        positive = y > 0
        if positive.all() or not positive.any():
            raise InputError("The two-part model needs people with and without cost. Fix: use method='ols'.")
        # C=inf: an unpenalised fit, comparable with statsmodels' Logit
        self.any_cost = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=5_000).fit(
            X, positive, sample_weight=w)
        self.amount = fit_ols(X[positive], y[positive], w[positive], on_aliased="drop").params.to_numpy()
        return self

    def predict(self, X):
        return self.any_cost.predict_proba(X)[:, 1] * (X @ self.amount)


class _Boosting:
    """scikit-learn's histogram gradient boosting on a dense copy (samples only)."""

    def fit(self, X, y, w):
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=0)
        self.model.fit(self._dense(X), y, sample_weight=w)
        return self

    def predict(self, X):
        return self.model.predict(self._dense(X))

    @staticmethod
    def _dense(X):
        if X.shape[0] * X.shape[1] > HGB_MAX_CELLS:
            raise InputError(f"Gradient boosting needs a dense copy of {X.shape[0]:,} × {X.shape[1]:,} cells. "
                             "Fix: fit it on a sample of people (it is a comparison, not the allocation model).")
        return X.toarray().astype(np.float32)


def fit_alternative(method: str, indptr, indices, data, n_columns: int, y, w):
    """Fit ``method`` (one of :data:`ALTERNATIVES`) on a CSR design; returns an object with ``predict``."""
    X = _scipy(indptr, indices, data, n_columns)
    model = {"tweedie": lambda: _LogLinear("tweedie"), "poisson": lambda: _LogLinear("poisson"),
             "two_part": _TwoPart, "hgb": _Boosting}[method]()
    return model.fit(X, y, w)


def predict_alternative(model, indptr, indices, data, n_columns: int) -> np.ndarray:
    return np.asarray(model.predict(_scipy(indptr, indices, data, n_columns)), dtype=np.float64)
