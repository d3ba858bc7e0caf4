"""The cost model as a scikit-learn estimator: ``CostModel().fit(X, y).predict(X)``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from .._config import readonly
from .._kernels.design import gram
from .._kernels.score import score_csr
from ..errors import InputError
from .ols import solve
from .results import FitResult
from .stats import BLOCK_SIZE, SufficientStats, _kernel_design, as_csr, check_outcome

__all__ = ["CostModel", "fit_ols", "result_from_stats"]

COV_TYPES = ("nonrobust", "HC1")


def _roles(X, names) -> pd.Series:
    from ..features.matrix import FeatureMatrix

    if isinstance(X, FeatureMatrix):
        return pd.Series(X.columns["role"].to_numpy(), index=names, name="role")
    return pd.Series("demographic", index=names, name="role")


def fit_ols(X, y, weights=None, *, cov_type: str = "nonrobust", on_aliased: str = "raise",
            block_size: int = BLOCK_SIZE, stats: SufficientStats | None = None) -> FitResult:
    """Weighted least squares of ``y`` on the sparse design ``X`` from sufficient statistics.

    Parameters
    ----------
    X : FeatureMatrix, scipy sparse or 2-D array
        The design. PBRA's age–sex cells span the constant, so no intercept is added.
    y : array-like
        Outcome per person: annual cost in £ (divide part-year costs by exposure and weight by exposure).
    weights : array-like, optional
        Weights per person, e.g. exposure in years. Unweighted OLS when ``None``.
    cov_type : {"nonrobust", "HC1"}
        Classical covariance, or White's heteroscedasticity-robust covariance with the n/(n−k) correction
        (as statsmodels' ``HC1``); HC1 takes a second pass over the data.
    on_aliased : {"raise", "drop"}
        What to do with empty or aliased columns (see :func:`capitation.model.ols.solve`).
    block_size : int
        Rows per block of the accumulation kernel (results depend on it, never on the thread count).
    stats : SufficientStats, optional
        Statistics already accumulated for ``X`` (e.g. merged from partitions); skips the first pass.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import fit_ols
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> fit_ols(X, [100.0, 300.0, 140.0, 260.0]).params.round(6).tolist()
    [120.0, 160.0]
    """
    if cov_type not in COV_TYPES:
        raise InputError(f"The 'cov_type' parameter of fit_ols must be one of {list(COV_TYPES)}. "
                         f"Got {cov_type!r} instead.")
    indptr, indices, data, names = as_csr(X)
    n_rows = len(indptr) - 1
    if n_rows == 0:
        raise InputError("The design 'X' has no rows. Fix: fit on at least as many people as columns.")
    y = check_outcome(y, n_rows)
    w = np.ones(n_rows) if weights is None else check_outcome(weights, n_rows, "weights")
    if stats is None:
        stats = SufficientStats.empty(names)
        stats.accumulate_csr(indptr, indices, data, y, w, block_size=block_size)
    result = result_from_stats(stats, _roles(X, names), on_aliased=on_aliased)
    if cov_type == "nonrobust":
        return result
    # HC1 needs the residuals: a second pass. Its meat Σ (w e)² x xᵀ is a Gram matrix weighted by (w e)².
    fitted = np.empty(n_rows)
    score_csr(*_kernel_design(indptr, indices, data), readonly(result.params.to_numpy(dtype=np.float64)), fitted)
    u = w * (y - fitted)
    meat = SufficientStats.empty(names)
    gram(*_kernel_design(indptr, indices, data), readonly(u * u), readonly(np.zeros(n_rows)), len(names),
         block_size, meat.xtwx, meat.xtwy, meat.xtw1, meat.moments)
    kept = pd.Index(names).get_indexer(result.cov.index)
    bread = result.cov.to_numpy() / result.scale  # (XᵀWX)⁻¹ over the identified columns
    cov = (result.n / result.df_resid) * (bread @ meat.gram[np.ix_(kept, kept)] @ bread)
    return replace(result, cov=pd.DataFrame(cov, index=result.cov.index, columns=result.cov.index), cov_type="HC1")


def _cap_value(cap, y: np.ndarray, w: np.ndarray) -> tuple[float, str] | None:
    """The £ value at which annual costs are capped: a number, or ``"p99.5"`` for a weighted percentile."""
    if cap is None:
        return None
    if isinstance(cap, str) and cap.startswith("p"):
        try:
            q = float(cap[1:])
        except ValueError:
            q = -1.0
        if not 0 < q < 100:
            raise InputError(f"The 'cap' parameter of CostModel must be a £ amount or a percentile such as 'p99.5'. "
                             f"Got {cap!r} instead. Fix: a percentile is between p0 and p100, e.g. 'p99.5'.")
        order = np.argsort(y, kind="stable")
        cum = np.cumsum(w[order])
        value = float(y[order][np.searchsorted(cum, q / 100 * cum[-1])])
        return value, f"{q:g}th percentile (person-year weighted)"
    if isinstance(cap, bool) or not isinstance(cap, (int, float, np.integer, np.floating)) or not cap > 0:
        raise InputError(f"The 'cap' parameter of CostModel must be a positive £ amount or a percentile such as "
                         f"'p99.5'. Got {cap!r} instead. Fix: e.g. cap=100_000 or cap='p99.5'; None for no cap.")
    return float(cap), "fixed £ value"


def result_from_stats(stats: SufficientStats, roles: pd.Series | None = None, *,
                      on_aliased: str = "raise") -> FitResult:
    """A least-squares :class:`FitResult` (classical covariance) from sufficient statistics alone.

    This is what makes streamed and distributed fitting possible: statistics of chunks or partitions are
    added, then solved once.
    """
    names = list(stats.columns)
    sol = solve(stats, on_aliased=on_aliased)
    n, sum_w, sum_wy, sum_wyy = stats.moments
    k = int(sol.kept.sum())
    df_resid = int(n) - k
    if df_resid <= 0:
        raise InputError(f"The design 'X' has {int(n):,} people for {k:,} coefficients, leaving no residual "
                         "degrees of freedom. Fix: fit on more people than design columns.")
    beta = sol.coef
    ssr = float(sum_wyy - 2.0 * beta @ stats.xtwy + beta @ stats.gram @ beta)
    kept_names = [nm for nm, keep in zip(names, sol.kept, strict=True) if keep]
    return FitResult(
        params=pd.Series(beta, index=names, name="coef"),
        cov=pd.DataFrame(sol.bread * (ssr / df_resid), index=kept_names, columns=kept_names),
        cov_type="nonrobust",
        n=int(n),
        sum_weights=float(sum_w),
        df_resid=df_resid,
        ssr=ssr,
        centered_tss=float(sum_wyy - sum_wy * sum_wy / sum_w),
        aliased=sol.aliased,
        empty=sol.empty,
        column_means=pd.Series(stats.column_means, index=names, name="mean"),
        roles=roles if roles is not None else pd.Series(
            list(stats.roles) if stats.roles is not None else "demographic", index=names, name="role"),
    )


class CostModel(RegressorMixin, BaseEstimator):
    """Person-level hospital cost model, fitted by least squares from sufficient statistics.

    Parameters
    ----------
    method : {"ols", "tweedie", "poisson", "two_part", "hgb"}
        Least squares in pounds (PBRA's choice; the default), or an alternative for comparison: a GLM with
        log link (Tweedie power 1.5 or Poisson), a two-part model (logistic × least squares on positive
        costs) or histogram gradient boosting (samples only). Only ``"ols"`` has a :class:`FitResult`.
    cap : float, str or None
        Cap annual costs before fitting at a £ value, or at a weighted percentile such as ``"p99.5"``;
        recorded on ``result_.cap``. Off by default, as in PBRA.
    cov_type : {"nonrobust", "HC1"}
        Covariance of the coefficients.
    on_aliased : {"raise", "drop"}
        Empty or aliased design columns raise, or are dropped and reported.
    block_size : int
        Rows per accumulation block (determinism is per block size, whatever the thread count).

    Attributes
    ----------
    coef_ : ndarray
        Coefficients (£ per person-year) in design column order.
    result_ : FitResult
        Standard errors, R², dropped columns and training means.
    feature_names_in_ : ndarray of str
        Design column names seen in ``fit``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> model = CostModel().fit(X, [100.0, 300.0, 140.0, 260.0])
    >>> model.predict(X).round(6).tolist()
    [120.0, 280.0, 120.0, 280.0]
    """

    def __init__(self, method: str = "ols", cap=None, cov_type: str = "nonrobust", on_aliased: str = "raise",
                 block_size: int = BLOCK_SIZE):
        self.method = method
        self.cap = cap
        self.cov_type = cov_type
        self.on_aliased = on_aliased
        self.block_size = block_size

    @classmethod
    def from_result(cls, result: FitResult, **params) -> CostModel:
        """A fitted least-squares model from a :class:`FitResult` (a streamed fit, or a loaded file)."""
        model = cls(**params)
        model.result_ = result
        model.coef_ = result.params.to_numpy()
        model.feature_names_in_ = np.asarray(result.params.index, dtype=object)
        model.n_features_in_ = len(model.coef_)
        model.column_means_ = result.column_means
        model.roles_ = result.roles
        return model

    def fit(self, X, y, sample_weight=None) -> CostModel:
        """Fit on design ``X`` and annual cost ``y``, weighting people by ``sample_weight`` (exposure)."""
        if not isinstance(self.block_size, (int, np.integer)) or self.block_size < 1:
            raise InputError(f"The 'block_size' parameter of CostModel must be a positive integer. "
                             f"Got {self.block_size!r} instead.")
        from .alternatives import ALTERNATIVES, fit_alternative

        if self.method != "ols" and self.method not in ALTERNATIVES:
            raise InputError(f"The 'method' parameter of CostModel must be one of {['ols', *ALTERNATIVES]}. "
                             f"Got {self.method!r} instead. Fix: use 'ols', PBRA's least squares.")
        indptr, indices, data, names = as_csr(X)
        if len(indptr) - 1 < 2:
            raise InputError(f"CostModel needs at least 2 people; got n_samples={len(indptr) - 1}. "
                             "Fix: fit on a population, not a person.")
        if y is not None and np.asarray(y).ndim == 2 and np.asarray(y).shape[1] == 1:
            import warnings

            from sklearn.exceptions import DataConversionWarning

            warnings.warn("A column-vector y was passed when a 1d array was expected; it is flattened.",
                          DataConversionWarning, stacklevel=2)
        y = check_outcome(y, len(indptr) - 1)
        w = np.ones(len(y)) if sample_weight is None else check_outcome(sample_weight, len(y), "sample_weight")
        if sample_weight is not None and not w.sum() > 0:
            raise InputError("The 'sample_weight' parameter of CostModel.fit is zero for everyone, so no one "
                             "counts. Fix: weights are exposures in years; at least one must be positive.")
        if (w < 0).any():
            raise InputError(f"The 'sample_weight' parameter of CostModel.fit must be non-negative. Got "
                             f"{float(w.min())!r} at row {int(np.argmin(w))}. Fix: weights are exposures in "
                             "years, from 0 to 1.")
        cap = _cap_value(self.cap, y, w)
        cap_record = None
        if cap is not None:
            cap_record = {"rule": cap[1], "value": cap[0], "people_capped": int((y > cap[0]).sum())}
            y = np.minimum(y, cap[0])
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.spec_ = getattr(X, "spec", None)  # the fitted FeatureSpec, to encode new data and to save
        if self.method == "ols":
            result = fit_ols(X, y, w, cov_type=self.cov_type, on_aliased=self.on_aliased,
                             block_size=int(self.block_size))
            self.result_ = replace(result, cap=cap_record)
            self.coef_ = result.params.to_numpy()
            self.column_means_ = result.column_means
            self.roles_ = result.roles
        else:
            stats = SufficientStats.empty(names)
            stats.accumulate_csr(indptr, indices, data, y, w, block_size=int(self.block_size))
            self.column_means_ = pd.Series(stats.column_means, index=names, name="mean")
            self.roles_ = _roles(X, names)
            self.estimator_ = fit_alternative(self.method, indptr, indices, data, len(names), y, w)
            self.cap_ = cap_record
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted annual cost (£) per person, with every column at its observed value.

        Use :func:`capitation.scoring.score` for need with supply neutralised.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_in_")
        indptr, indices, data, names = as_csr(X)
        if len(names) != self.n_features_in_:
            raise InputError(f"X has {len(names)} features, but CostModel is expecting {self.n_features_in_} "
                             "features as input. Fix: encode with the FeatureSpec used in fit.")
        if self.method != "ols":
            from .alternatives import predict_alternative

            return predict_alternative(self.estimator_, indptr, indices, data, self.n_features_in_)
        out = np.empty(len(indptr) - 1)
        score_csr(*_kernel_design(indptr, indices, data), readonly(np.asarray(self.coef_, dtype=np.float64)), out)
        return out

    def save(self, path, **kwargs):
        """Save the fitted model as JSON with an ``.npz`` beside it (see :func:`capitation.persist.save_model`)."""
        from ..persist import save_model

        return save_model(self, path, **kwargs)

    @classmethod
    def load(cls, path) -> CostModel:
        """Load a model saved by :meth:`save`, refusing any file that fails its checks."""
        from ..persist import load_model

        return load_model(path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
