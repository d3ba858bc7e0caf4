"""The cost model as a scikit-learn estimator: ``CostModel().fit(X, y).predict(X)``.

One fitting path. :meth:`CostModel.fit` and :func:`fit_ols` refuse bad parameters before reading any data,
convert the design and check the outcome and weights once, then call :func:`_fit`, which caps costs and fits
least squares (:mod:`capitation.model.ols`, whose passes over the data are in :mod:`capitation.model.stats`)
or one of the alternatives (:mod:`capitation.model.alternatives`). Every fitted attribute is set in one place,
:meth:`CostModel._set_fitted`, whether the model was fitted, built from a result, streamed or loaded.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)

from .._compute import score_csr
from .._config import readonly
from .._results import Provenance
from ..errors import InputError
from .alternatives import ALTERNATIVES, fit_alternative, predict_alternative
from .ols import _design_roles, _least_squares
from .ols import result_from_stats as _result_from_stats
from .persist import load_model, register_estimator, save_model
from .results import FitResult, spec_sha256
from .stats import BLOCK_SIZE, SufficientStats, _as_design, _Design, check_outcome, check_weights

__all__ = ["CostModel", "fit_ols"]

METHODS = ("ols", *ALTERNATIVES)
COV_TYPES = ("nonrobust", "HC1")
ON_ALIASED = ("raise", "drop")

#: What each fitting parameter may be, in scikit-learn's terms (``CostModel._parameter_constraints``).
PARAMETER_CONSTRAINTS: dict = {
    "method": [StrOptions(set(METHODS))],
    "cap": [None, Interval(Real, 0, None, closed="neither"), str],
    "cov_type": [StrOptions(set(COV_TYPES))],
    "on_aliased": [StrOptions(set(ON_ALIASED))],
    "block_size": [Interval(Integral, 1, None, closed="left")],
}
#: For each parameter: what it must be, and the fix, as a refusal says them.
_ALLOWED = {
    "method": (f"one of {list(METHODS)}", "use 'ols', PBRA's least squares."),
    "cap": ("a positive £ amount or a percentile such as 'p99.5'",
            "e.g. cap=100_000 or cap='p99.5'; None for no cap."),
    "cov_type": (f"one of {list(COV_TYPES)}",
                 "'nonrobust' for the classical covariance, 'HC1' for White's heteroscedasticity-robust one."),
    "on_aliased": ("'raise' or 'drop'",
                   "'raise' refuses empty or aliased design columns; 'drop' drops them and reports them."),
    "block_size": ("a positive integer",
                   f"keep the default BLOCK_SIZE ({BLOCK_SIZE:,}); results depend on it, never on the thread count."),
}


def _refuse(name: str, value, caller: str):
    allowed, fix = _ALLOWED[name]
    raise InputError(f"The {name!r} parameter of {caller} must be {allowed}. Got {value!r} instead. Fix: {fix}",
                     parameter=name)


def _parse_cap(cap, caller: str) -> tuple[str, float] | None:
    """``("value", £)`` or ``("percentile", q)`` for a cap that passed its constraints; ``None`` for no cap."""
    if cap is None:
        return None
    if isinstance(cap, str) and cap.startswith("p"):
        try:
            q = float(cap[1:])
        except ValueError:
            q = -1.0
        if not 0 < q < 100:
            raise InputError(f"The 'cap' parameter of {caller} must be a £ amount or a percentile such as 'p99.5'. "
                             f"Got {cap!r} instead. Fix: a percentile is between p0 and p100, e.g. 'p99.5'.",
                             parameter="cap")
        return "percentile", q
    if isinstance(cap, bool) or not isinstance(cap, (int, float, np.integer, np.floating)) or not cap > 0:
        _refuse("cap", cap, caller)
    return "value", float(cap)


def _check_params(caller: str, **params) -> tuple[str, float] | None:
    """Refuse bad fitting parameters before any data is read, with :class:`InputError` naming each one.

    Each value is held against :data:`PARAMETER_CONSTRAINTS` (scikit-learn's checks); a refusal names the
    parameter, the value and the fix. Returns the parsed ``cap`` when one is given.
    """
    for name, value in params.items():
        try:
            validate_parameter_constraints({name: PARAMETER_CONSTRAINTS[name]}, {name: value}, caller_name=caller)
        except InvalidParameterError:
            _refuse(name, value, caller)
    return _parse_cap(params["cap"], caller) if "cap" in params else None


def _cap_value(cap: tuple[str, float], y: np.ndarray, w: np.ndarray) -> tuple[float, str]:
    """Return the £ value at which annual costs are capped, and the rule: a number, or a weighted percentile."""
    kind, number = cap
    if kind == "value":
        return number, "fixed £ value"
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(w[order])
    value = float(y[order][np.searchsorted(cum, number / 100 * cum[-1])])
    return value, f"{number:g}th percentile (person-year weighted)"


def _fit(design: _Design, y: np.ndarray, w: np.ndarray, *, method: str = "ols", cap=None,
         cov_type: str = "nonrobust", on_aliased: str = "raise", block_size: int = BLOCK_SIZE,
         stats: SufficientStats | None = None) -> dict:
    """Fit on a converted design with checked ``y`` and ``w`` (the one fitting path); return the fitted state.

    Caps costs (``cap`` as parsed by :func:`_check_params`), then fits least squares (first pass, solve and, for
    ``"HC1"``, the second pass) or the alternative ``method`` (with a first pass for the training means).
    Returns the keyword arguments of :meth:`CostModel._set_fitted`.
    """
    cap_record = None
    if cap is not None:
        value, rule = _cap_value(cap, y, w)
        cap_record = {"rule": rule, "value": value, "people_capped": int((y > value).sum())}
        y = np.minimum(y, value)
    if method == "ols":
        result, stats = _least_squares(design, y, w, cov_type=cov_type, on_aliased=on_aliased,
                                       block_size=block_size, stats=stats)
        return {"result": replace(result, cap=cap_record), "stats": stats}
    stats = SufficientStats.empty(design.columns, design.roles)
    stats._add(design, y, w, block_size=block_size)
    return {"estimator": fit_alternative(method, design, y, w), "stats": stats, "cap": cap_record,
            "columns": design.columns, "roles": _design_roles(design),
            "column_means": pd.Series(stats.column_means, index=design.columns, name="mean")}


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
        What to do with aliased columns; empty ones are always dropped and reported (see
        :func:`capitation.model.ols.solve`).
    block_size : int
        Rows per block of the accumulation kernel (results depend on it, never on the thread count).
    stats : SufficientStats, optional
        Statistics already accumulated for ``X`` (e.g. merged from partitions); skips the first pass.

    Returns
    -------
    FitResult

    Raises
    ------
    InputError
        A parameter is not allowed (checked before the data are read), or ``X``, ``y`` or ``weights`` is.
    DesignError
        Empty or aliased columns, with ``on_aliased="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import fit_ols
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> fit_ols(X, [100.0, 300.0, 140.0, 260.0]).params.round(6).tolist()
    [120.0, 160.0]
    """
    _check_params("fit_ols", cov_type=cov_type, on_aliased=on_aliased, block_size=block_size)
    design = _as_design(X)
    if design.n_rows == 0:
        raise InputError("The design 'X' has no rows. Fix: fit on at least as many people as columns.")
    y = check_outcome(y, design.n_rows)
    w = check_weights(weights, design.n_rows, "weights")
    return _fit(design, y, w, cov_type=cov_type, on_aliased=on_aliased, block_size=int(block_size),
                stats=stats)["result"]


@register_estimator
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
        Aliased design columns raise, or are dropped and reported. Empty columns (no one in the data has
        them, normal in a sample) are always dropped and listed on ``result_.empty``.
    block_size : int
        Rows per accumulation block (determinism is per block size, whatever the thread count).

    Parameters are checked against :attr:`_parameter_constraints` when ``fit`` starts, before any data is
    read; a bad one raises :class:`~capitation.errors.InputError` naming it, the value and the fix.

    Attributes
    ----------
    coef_ : ndarray
        Coefficients (£ per person-year) in design column order (least squares only).
    result_ : FitResult
        Standard errors, R², dropped columns and training means (least squares only).
    feature_names_in_ : ndarray of str
        Design column names seen in ``fit``.
    n_features_in_ : int
    column_means_, roles_ : pandas.Series
        Weighted training mean and role of each column (scoring holds supply columns at their mean).
    cap_ : dict or None
        The cost cap applied (as ``result_.cap``).
    spec_ : FeatureSpec or None
        The spec that encoded the training design, to encode new people.
    stats_ : SufficientStats or None
        The training data's sufficient statistics (``None`` when built from a result or loaded from a file).
    estimator_ : object or None
        The fitted alternative (``None`` for least squares).
    provenance_ : dict or None
        For a loaded model: its file, library version, creation time and hashes.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> model = CostModel().fit(X, [100.0, 300.0, 140.0, 260.0])
    >>> model.predict(X).round(6).tolist()
    [120.0, 280.0, 120.0, 280.0]
    """

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __init__(self, method: str = "ols", cap=None, cov_type: str = "nonrobust", on_aliased: str = "raise",
                 block_size: int = BLOCK_SIZE):
        self.method = method
        self.cap = cap
        self.cov_type = cov_type
        self.on_aliased = on_aliased
        self.block_size = block_size

    def _validate_params(self) -> tuple[str, float] | None:
        """Check every parameter against :attr:`_parameter_constraints`; returns the parsed ``cap``.

        Raises :class:`~capitation.errors.InputError` (a ``ValueError``) rather than scikit-learn's
        ``InvalidParameterError``, naming the parameter, the value and the fix.
        """
        return _check_params(type(self).__name__, method=self.method, cap=self.cap, cov_type=self.cov_type,
                             on_aliased=self.on_aliased, block_size=self.block_size)

    def _set_fitted(self, result: FitResult | None = None, *, spec=None, stats: SufficientStats | None = None,
                    provenance: dict | None = None, estimator=None, cap: dict | None = None, columns=None,
                    roles: pd.Series | None = None, column_means: pd.Series | None = None) -> CostModel:
        """Set every fitted attribute; the one place that does, for fit, results, streamed fits and loading.

        A least-squares ``result`` gives the columns, roles, means and cap; an alternative gives its fitted
        ``estimator`` with ``columns``, ``roles``, ``column_means`` and ``cap``. Returns the model.
        """
        if result is not None:
            columns, roles, column_means, cap = result.params.index, result.roles, result.column_means, result.cap
            if spec is not None and result.provenance.spec_sha256 is None:
                # The result records which design it came from, as every result does.
                result = replace(result, provenance=Provenance(library_version=result.provenance.library_version,
                                                               spec_sha256=spec_sha256(spec)))
            self.result_ = result
            self.coef_ = result.params.to_numpy()
        else:  # an alternative has no least-squares result: none is left from an earlier fit
            self.__dict__.pop("result_", None)
            self.__dict__.pop("coef_", None)
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.column_means_ = column_means
        self.roles_ = roles
        self.cap_ = cap
        self.estimator_ = estimator
        self.spec_ = spec
        self.stats_ = stats
        self.provenance_ = provenance
        return self

    @classmethod
    def from_result(cls, result: FitResult, *, spec=None, stats: SufficientStats | None = None,
                    **params) -> CostModel:
        """Make a fitted least-squares model from a :class:`FitResult` (a streamed fit, or a loaded file).

        Parameters
        ----------
        result : FitResult
        spec : FeatureSpec, optional
            The spec that encoded the training design (``spec_``).
        stats : SufficientStats, optional
            The statistics ``result`` was solved from (``stats_``).
        **params
            Estimator parameters (``on_aliased="drop"``, ...).

        Returns
        -------
        CostModel

        Examples
        --------
        >>> import numpy as np
        >>> from capitation import CostModel, fit_ols
        >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> model = CostModel.from_result(fit_ols(X, [100.0, 300.0, 140.0, 260.0]))
        >>> model.predict(X).round(6).tolist()
        [120.0, 280.0, 120.0, 280.0]
        """
        return cls(**params)._set_fitted(result, spec=spec, stats=stats)

    def fit(self, X, y, sample_weight=None) -> CostModel:
        """Fit on design ``X`` and annual cost ``y``, weighting people by ``sample_weight`` (exposure).

        The parameters are checked first, before any data is read; then the design is converted and ``y`` and
        ``sample_weight`` are checked, once.

        Parameters
        ----------
        X : FeatureMatrix, scipy sparse or 2-D array
            The design; a FeatureMatrix also gives the column roles and ``spec_``.
        y : array-like
            Annual cost (£) per person.
        sample_weight : array-like, optional
            Weight per person (exposure in years); non-negative, not all zero.

        Returns
        -------
        CostModel
            ``self``, fitted.

        Raises
        ------
        InputError
            A parameter, or ``X``, ``y`` or ``sample_weight``, is not allowed.
        DesignError
            Empty or aliased columns, with ``on_aliased="raise"``.

        Examples
        --------
        >>> import numpy as np
        >>> from capitation import CostModel
        >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> model = CostModel(cov_type="HC1").fit(X, [100.0, 300.0, 140.0, 260.0], sample_weight=[1, 1, 0.5, 0.5])
        >>> model.coef_.round(6).tolist(), model.result_.cov_type
        ([113.333333, 173.333333], 'HC1')
        """
        cap = self._validate_params()
        design = _as_design(X)
        if design.n_rows < 2:
            raise InputError(f"CostModel needs at least 2 people; got n_samples={design.n_rows}. "
                             "Fix: fit on a population, not a person.")
        if y is not None and np.asarray(y).ndim == 2 and np.asarray(y).shape[1] == 1:
            from sklearn.exceptions import DataConversionWarning

            warnings.warn("A column-vector y was passed when a 1d array was expected; it is flattened.",
                          DataConversionWarning, stacklevel=2)
        y = check_outcome(y, design.n_rows)
        w = check_weights(sample_weight, design.n_rows, "sample_weight", caller="CostModel.fit", positive_total=True)
        state = _fit(design, y, w, method=self.method, cap=cap, cov_type=self.cov_type, on_aliased=self.on_aliased,
                     block_size=int(self.block_size))
        return self._set_fitted(**state, spec=getattr(X, "spec", None))  # the FeatureSpec, to encode new data

    def predict(self, X) -> np.ndarray:
        """Predicted annual cost (£) per person, with every column at its observed value.

        Use :func:`capitation.scoring.score` for need with supply neutralised.

        Parameters
        ----------
        X : FeatureMatrix, scipy sparse or 2-D array
            A design with the training columns.

        Returns
        -------
        ndarray of float64

        Examples
        --------
        >>> import numpy as np
        >>> from capitation import CostModel
        >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]).predict(X[:2]).round(6).tolist()
        [120.0, 280.0]
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_in_")
        design = _as_design(X)
        if len(design.columns) != self.n_features_in_:
            raise InputError(f"X has {len(design.columns)} features, but CostModel is expecting "
                             f"{self.n_features_in_} features as input. Fix: encode with the FeatureSpec used in fit.")
        if self.method != "ols":
            return predict_alternative(self.estimator_, design)
        out = np.empty(design.n_rows)
        score_csr(design.indptr, design.indices, design.data, readonly(np.asarray(self.coef_, dtype=np.float64)),
                  out)
        return out

    def save(self, path, **kwargs):
        """Save the fitted model as JSON with an ``.npz`` beside it (see :func:`capitation.model.persist.save_model`).

        Parameters
        ----------
        path : str or os.PathLike
            The JSON file to write.
        **kwargs
            ``spec=`` and ``created=``, as :func:`~capitation.model.persist.save_model` takes them.

        Returns
        -------
        pathlib.Path
            The JSON file.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from capitation import CostModel
        >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]).save(pathlib.Path(d) / "m.json").name
        'm.json'
        """
        return save_model(self, path, **kwargs)

    @classmethod
    def load(cls, path) -> CostModel:
        """Load a model saved by :meth:`save`, refusing any file that fails its checks.

        Parameters
        ----------
        path : str or os.PathLike
            The model's JSON file (see :func:`capitation.model.persist.load_model`).

        Returns
        -------
        CostModel
            Of this class, fitted as after ``fit``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from capitation import CostModel
        >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     saved = CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]).save(pathlib.Path(d) / "m.json")
        ...     CostModel.load(saved).coef_.round(6).tolist()
        [120.0, 160.0]
        """
        return load_model(path, cls=cls)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def __getattr__(name: str):
    if name == "result_from_stats":  # moved to capitation.model.ols, beside the solver
        warnings.warn("capitation.model.estimator.result_from_stats is deprecated: import it from "
                      "capitation.model.ols.", DeprecationWarning, stacklevel=2)
        return _result_from_stats
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
