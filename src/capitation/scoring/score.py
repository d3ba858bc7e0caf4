"""Predicted need per person: the fitted model applied with supply effects neutralised."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._kernels.score import score_csr
from ..errors import InputError
from ..features.matrix import FeatureMatrix
from ..model.estimator import CostModel
from ..model.results import FitResult

__all__ = ["NEUTRAL_ROLES", "score"]

#: Roles held at their national mean when predicting need: they describe supply, not need.
NEUTRAL_ROLES = ("supply", "fixed-effect")


def score(model, X: FeatureMatrix, *, neutralise: Sequence[str] | None = NEUTRAL_ROLES,
          reference: dict[str, float] | None = None) -> np.ndarray:
    """Predicted annual cost per person (£) with supply neutralised.

    For each neutralised column *j* the person's own value is replaced by the training data's weighted
    mean (or by ``reference[name]``), so that ``need_i = Σ_{j kept} x_ij β_j + Σ_{j neutral} x̄_j β_j``:
    local access to hospitals then moves no one's predicted need.

    Parameters
    ----------
    model : CostModel or FitResult
        The fitted model.
    X : FeatureMatrix
        Design encoded with the spec used in fitting.
    neutralise : sequence of str or None
        Column roles or column names to hold at the reference; ``None`` or ``()`` scores every column as
        observed.
    reference : dict, optional
        Values at which to hold named neutralised columns instead of the training mean.

    Returns
    -------
    ndarray of float64
        One prediction per design row.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import CostModel, FeatureSpec, encode, score
    >>> people = pd.DataFrame({"person_id": [1, 2, 3, 4], "practice_code": ["A81001"] * 4,
    ...                        "sex": ["F", "F", "M", "M"], "age": [30, 30, 80, 80],
    ...                        "lsoa_code": ["E01011959"] * 4, "cost": [100.0, 300.0, 900.0, 1100.0]})
    >>> spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0, 65))
    >>> X = encode(spec, people)
    >>> model = CostModel().fit(X, people["cost"])
    >>> score(model, X).round(2).tolist()
    [200.0, 200.0, 1000.0, 1000.0]
    """
    result = model.result_ if isinstance(model, CostModel) else model
    if not isinstance(result, FitResult):
        raise TypeError(f"The 'model' parameter of score must be a fitted CostModel or a FitResult. "
                        f"Got {type(model).__name__}. Fix: fit a CostModel first.")
    if not isinstance(X, FeatureMatrix):
        raise TypeError(f"The 'X' parameter of score must be a FeatureMatrix. Got {type(X).__name__}. "
                        "Fix: encode the people with the FeatureSpec used to fit the model.")
    names = list(result.params.index)
    if X.column_names != names:
        extra = sorted(set(X.column_names) - set(names))[:5]
        missing = sorted(set(names) - set(X.column_names))[:5]
        raise InputError(f"The design's columns differ from the model's: {len(X.column_names)} vs {len(names)} "
                         f"columns; not in the model {extra}, missing {missing}. Fix: encode with the "
                         "FeatureSpec used to fit the model.")
    coef, constant = neutralised_coefficients(result, neutralise, reference)
    out = np.empty(X.n_rows)
    score_csr(X.indptr, X.indices, X.data, coef, out)
    if constant:
        out += constant
    return out


def neutralised_coefficients(result: FitResult, neutralise, reference=None) -> tuple[np.ndarray, float]:
    """Coefficients with neutralised columns zeroed, and the constant they contribute at the reference."""
    coef = result.params.to_numpy().copy()
    if not neutralise:
        return coef, 0.0
    names = result.params.index
    mask = result.roles.isin(list(neutralise)).to_numpy() | names.isin(list(neutralise))
    unknown = [v for v in neutralise if v not in set(result.roles) and v not in set(names)
               and v not in NEUTRAL_ROLES]
    if unknown:
        raise InputError(f"The 'neutralise' parameter names {unknown}, which are neither column roles "
                         f"({sorted(set(result.roles))}) nor columns of the model. Fix: check the spelling.")
    at = result.column_means.copy()
    for name, value in (reference or {}).items():
        if name not in names:
            raise InputError(f"The 'reference' parameter names {name!r}, not a column of the model. "
                             f"Fix: use one of {list(names[mask])}.")
        at[name] = float(value)
    constant = float(np.dot(coef[mask], at.to_numpy()[mask]))
    coef[mask] = 0.0
    return coef, constant


