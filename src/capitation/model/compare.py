"""One table comparing estimators fitted and validated on the same people."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Provenance, Result
from ..errors import InputError
from .estimator import CostModel
from .results import spec_sha256
from .validation import ValidationResult, validate

__all__ = ["METHODS", "ModelComparison", "compare_models"]

METHODS = ("ols", "tweedie", "poisson", "two_part", "hgb")


@dataclass(frozen=True, eq=False, repr=False)
class ModelComparison(Result):
    """Validation metrics of several estimators on the same validation people.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method: person and practice R², MAE, Cumming's measure, share of practices off by
        10% or more, the largest predictive-ratio departure from 1 across groups, and seconds to fit.
        The result's own data; :meth:`to_frame` gives a copy.
    validations : dict
        The full :class:`ValidationResult` of each method.
    provenance : Provenance
        Library version, and the hash of the design's spec when ``X`` was a FeatureMatrix.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation.model import ModelComparison
    >>> c = ModelComparison(pd.DataFrame({"person_r2": [0.1, 0.2]}, index=pd.Index(["ols", "hgb"], name="method")),
    ...                     {})
    >>> c
    ModelComparison(Estimators on the same validation data: 2 methods, best person R² 0.2000 (hgb))
    """

    table: pd.DataFrame
    validations: dict

    def _frame(self) -> pd.DataFrame:
        return self.table

    def to_frame(self) -> pd.DataFrame:
        """Return the comparison table, as a copy.

        Returns
        -------
        pandas.DataFrame
            One row per method (editing it leaves the result as it was).

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.model import ModelComparison
        >>> c = ModelComparison(pd.DataFrame({"person_r2": [0.1]}, index=pd.Index(["ols"], name="method")), {})
        >>> c.to_frame() is c.table
        False
        """
        return self.table.copy()

    def summary(self) -> str:
        """Describe the comparison table as text.

        Returns
        -------
        str
            A title line, then one row per method.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.model import ModelComparison
        >>> c = ModelComparison(pd.DataFrame({"person_r2": [0.1]}, index=pd.Index(["ols"], name="method")), {})
        >>> c.summary().splitlines()[0]
        'Estimators on the same validation data'
        """
        return "Estimators on the same validation data\n" + self.table.to_string(float_format=lambda v: f"{v:.4f}")

    def __repr__(self) -> str:
        text = f"Estimators on the same validation data: {len(self.table)} methods"
        if "person_r2" in self.table and self.table["person_r2"].notna().any():
            best = self.table["person_r2"].idxmax()
            text += f", best person R² {self.table.at[best, 'person_r2']:.4f} ({best})"
        return f"ModelComparison({text})"


def compare_models(X, y, weights=None, *, practice_code, fit_rows, validation_rows, methods=METHODS,
                   groups: dict | None = None) -> ModelComparison:
    """Fit each method on ``fit_rows`` and validate all of them on the same ``validation_rows``.

    Parameters
    ----------
    X : FeatureMatrix
        The design of every person (fit and validation).
    y : array-like
        Annual cost per person (£).
    weights : array-like, optional
        Exposure in person-years.
    practice_code : array-like
        Each person's practice, for practice-level metrics.
    fit_rows, validation_rows : array-like of int
        Positions of the estimation and validation people (e.g. from :func:`split_people` or
        :func:`split_practices`).
    methods : sequence of str
        Any of ``"ols"``, ``"tweedie"``, ``"poisson"``, ``"two_part"``, ``"hgb"``.
    groups : dict, optional
        Dimensions for predictive ratios, one value per person (all people).

    Returns
    -------
    ModelComparison
        One row of validation metrics (and seconds to fit) per method, with each method's full validation.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import compare_models
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(400), rng.integers(0, 2, 400)])
    >>> y = X @ [300.0, 500.0] * rng.gamma(0.5, 2, 400)
    >>> table = compare_models(X, y, practice_code=np.repeat(list("ABCD"), 100), fit_rows=np.arange(0, 400, 2),
    ...                        validation_rows=np.arange(1, 400, 2), methods=("ols", "poisson")).to_frame()
    >>> list(table.index)
    ['ols', 'poisson']
    """
    y = np.asarray(y, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    codes = np.asarray(practice_code, dtype=object)
    fit_rows, validation_rows = np.asarray(fit_rows), np.asarray(validation_rows)
    if len(np.intersect1d(fit_rows, validation_rows)):
        raise InputError("The 'fit_rows' and 'validation_rows' of compare_models overlap. Fix: validate on people "
                         "the models did not see, e.g. from split_people().")
    from ..features.matrix import FeatureMatrix

    X_fit, X_valid = ((X.take(fit_rows), X.take(validation_rows)) if isinstance(X, FeatureMatrix)
                      else (X[fit_rows], X[validation_rows]))  # arrays and scipy sparse index by rows
    valid_groups = {k: np.asarray(v)[validation_rows] for k, v in (groups or {}).items()}
    rows, validations = [], {}
    for method in methods:
        start = time.perf_counter()
        model = CostModel(method=method, on_aliased="drop").fit(X_fit, y[fit_rows], sample_weight=w[fit_rows])
        seconds = time.perf_counter() - start
        result: ValidationResult = validate(model.predict(X_valid), y[validation_rows], w[validation_rows],
                                            practice_code=codes[validation_rows], groups=valid_groups, label=method)
        validations[method] = result
        ratios = result.predictive_ratios["ratio"].to_numpy()
        rows.append({"method": method, **{k: result.metrics[k] for k in
                                          ("person_r2", "practice_r2", "mae", "cpm", "share_practices_off_10pct")},
                     "worst_predictive_ratio_gap": float(np.max(np.abs(ratios - 1))), "fit_seconds": seconds})
    provenance = Provenance(spec_sha256=spec_sha256(X.spec)) if isinstance(X, FeatureMatrix) else Provenance()
    return ModelComparison(pd.DataFrame(rows).set_index("method"), validations, provenance=provenance)
