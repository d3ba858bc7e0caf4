"""Alternatives to least squares behind the same interface, for honest comparison.

PBRA chose person-level OLS in pounds (CHE Research Paper 73 found it the most robust estimator for practice
budgets); these let an analyst check that choice on their own data.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .ols import _least_squares
from .stats import BLOCK_SIZE, _as_design, _Design

__all__ = ["ALTERNATIVES", "fit_alternative", "predict_alternative"]

ALTERNATIVES = ("tweedie", "poisson", "two_part", "hgb")
#: Dense copies for gradient boosting are refused above this many cells (people × columns).
HGB_MAX_CELLS = 400_000_000


def _scipy(design: _Design):
    from scipy import sparse

    return sparse.csr_matrix((design.data, design.indices, design.indptr),
                             shape=(design.n_rows, len(design.columns)))


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

        positive = y > 0
        if positive.all() or not positive.any():
            raise InputError("The two-part model needs people with and without cost. Fix: use method='ols'.")
        # C=inf: an unpenalised fit, comparable with statsmodels' Logit
        self.any_cost = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=5_000).fit(
            X, positive, sample_weight=w)
        amount, _ = _least_squares(_as_design(X[positive]), y[positive], w[positive], cov_type="nonrobust",
                                   on_aliased="drop", block_size=BLOCK_SIZE)
        self.amount = amount.params.to_numpy()
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


def fit_alternative(method: str, design: _Design, y: np.ndarray, w: np.ndarray):
    """Fit ``method`` (one of :data:`ALTERNATIVES`) on a converted design with checked outcome and weights.

    Called by the one fitting path of :class:`~capitation.CostModel` (``CostModel(method=...).fit``), which
    converts the design and checks ``y`` and ``w`` once.

    Parameters
    ----------
    method : {"tweedie", "poisson", "two_part", "hgb"}
    design : the converted design (internal to :mod:`capitation.model`)
    y, w : ndarray of float64
        Outcome and weight per person, already checked.

    Returns
    -------
    object
        The fitted model, with ``predict``; pass it to :func:`predict_alternative`.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> CostModel(method="poisson").fit(X, [100.0, 300.0, 140.0, 260.0]).predict(X).round(2).tolist()
    [120.0, 280.0, 120.0, 280.0]
    """
    X = _scipy(design)
    model = {"tweedie": lambda: _LogLinear("tweedie"), "poisson": lambda: _LogLinear("poisson"),
             "two_part": _TwoPart, "hgb": _Boosting}[method]()
    return model.fit(X, y, w)


def predict_alternative(model, design: _Design) -> np.ndarray:
    """Predictions of a model from :func:`fit_alternative` on a converted design, as float64.

    Parameters
    ----------
    model : object
        From :func:`fit_alternative`.
    design : the converted design (internal to :mod:`capitation.model`)

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> CostModel(method="two_part").fit(X, [0.0, 300.0, 140.0, 260.0]).predict(X).round(2).tolist()
    [70.0, 280.0, 70.0, 280.0]
    """
    return np.asarray(model.predict(_scipy(design)), dtype=np.float64)
