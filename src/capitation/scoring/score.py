"""Predicted need per person: the fitted model applied with supply effects neutralised."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._compute import score_csr
from .._config import readonly
from ..errors import InputError, SchemaError
from ..features.matrix import FeatureMatrix
from ..model.results import FitResult

if TYPE_CHECKING:
    from ..model.estimator import CostModel

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
    ...                        "sex": ["F", "M", "F", "M"], "age": [30, 30, 80, 80],
    ...                        "lsoa_code": ["E01011959"] * 4, "cost": [100.0, 300.0, 900.0, 1100.0]})
    >>> spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0,))  # one band: a cell per sex
    >>> X = encode(spec, people)
    >>> model = CostModel().fit(X, people["cost"])
    >>> score(model, X).round(2).tolist()
    [500.0, 700.0, 500.0, 700.0]

    A supply variable (here beds near each person's small area) is held at its training mean, so two people
    of the same age and sex get the same need wherever they live:

    >>> people["lsoa_code"] = ["E01000001", "E01000001", "E01000002", "E01000002"]
    >>> areas = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"], "beds": [1.0, 3.0]})
    >>> spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0,), supply=("beds",))
    >>> X = encode(spec, people, areas=areas)
    >>> model = CostModel().fit(X, people["cost"])
    >>> score(model, X).round(2).tolist(), score(model, X, neutralise=None).round(2).tolist()
    ([500.0, 700.0, 500.0, 700.0], [100.0, 300.0, 900.0, 1100.0])
    >>> score(model, X, reference={"supply:beds": 1.0}).round(2).tolist()
    [100.0, 300.0, 100.0, 300.0]
    """
    # A CostModel exists only once its module (and scikit-learn) is loaded: scoring a FitResult loads neither.
    estimator = sys.modules.get("capitation.model.estimator")
    is_cost_model = estimator is not None and isinstance(model, estimator.CostModel)
    if is_cost_model and getattr(model, "method", "ols") != "ols":
        return _score_alternative(model, X, neutralise, reference)
    if is_cost_model and not hasattr(model, "result_"):
        raise SchemaError("The 'model' parameter of score is a CostModel that is not fitted. "
                        "Fix: call model.fit(X, y) first, or load a saved model.")
    result = model.result_ if is_cost_model else model
    if not isinstance(result, FitResult):
        raise SchemaError(f"The 'model' parameter of score must be a fitted CostModel or a FitResult. "
                        f"Got {type(model).__name__}. Fix: fit a CostModel first.")
    _check_columns(X, list(result.params.index))
    coef, constant = neutralised_coefficients(result, neutralise, reference)
    out = np.empty(X.n_rows)
    score_csr(readonly(X.indptr), readonly(X.indices), readonly(X.data),
              readonly(np.ascontiguousarray(coef, dtype=np.float64)), out)
    if constant:
        out += constant
    return out


def _check_columns(X, names: list[str]) -> None:
    if not isinstance(X, FeatureMatrix):
        raise SchemaError(f"The 'X' parameter of score must be a FeatureMatrix. Got {type(X).__name__}. "
                        "Fix: encode the people with the FeatureSpec used to fit the model.")
    if X.column_names != names:
        extra = sorted(set(X.column_names) - set(names))[:5]
        missing = sorted(set(names) - set(X.column_names))[:5]
        raise InputError(f"The design 'X' has columns that differ from the model's: {len(X.column_names)} vs "
                         f"{len(names)} columns; not in the model {extra}, missing {missing}. Fix: encode with the "
                         "FeatureSpec used to fit the model.")


def _neutral_columns(names, roles, means, neutralise, reference) -> tuple[np.ndarray, np.ndarray]:
    """Mask of neutralised columns, and the value each is held at (training mean or reference)."""
    names = list(names)
    if not neutralise:
        return np.zeros(len(names), dtype=bool), means.to_numpy()
    unknown = [v for v in neutralise if v not in set(roles) and v not in names and v not in NEUTRAL_ROLES]
    if unknown:
        raise InputError(f"The 'neutralise' parameter names {unknown}, which are neither column roles "
                         f"({sorted(set(roles))}) nor columns of the model. Fix: check the spelling.")
    mask = roles.isin(list(neutralise)).to_numpy() | np.isin(np.asarray(names, dtype=object), list(neutralise))
    at = means.copy()
    for name, value in (reference or {}).items():
        if name not in names:
            raise InputError(f"The 'reference' parameter names {name!r}, not a column of the model. "
                             f"Fix: use one of {[n for n, m in zip(names, mask, strict=True) if m]}.")
        at[name] = float(value)
    return mask, at.to_numpy()


def neutralised_coefficients(result: FitResult, neutralise, reference=None) -> tuple[np.ndarray, float]:
    """Zero the coefficients of neutralised columns, and compute the constant they contribute at the reference.

    ``X @ coef + constant`` is then the need :func:`score` predicts: the linear form that streamed and
    distributed scoring, and the explanation of an allocation, apply.

    Parameters
    ----------
    result : FitResult
        The fitted model (``CostModel().fit(...).result_``).
    neutralise : sequence of str or None
        Column roles or column names to hold at the reference, as in :func:`score`.
    reference : dict, optional
        Values at which to hold named neutralised columns instead of the training mean.

    Returns
    -------
    coef : ndarray of float64
        One coefficient per design column, 0 for the neutralised ones.
    constant : float
        ``Σ_{j neutral} x̄_j β_j``, the same for every person.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import CostModel, FeatureSpec, encode
    >>> from capitation.scoring.score import neutralised_coefficients
    >>> people = pd.DataFrame({"person_id": [1, 2, 3, 4], "practice_code": ["A81001"] * 4,
    ...                        "sex": ["F", "M", "F", "M"], "age": [30, 30, 80, 80],
    ...                        "lsoa_code": ["E01000001", "E01000001", "E01000002", "E01000002"],
    ...                        "cost": [100.0, 300.0, 500.0, 700.0]})
    >>> areas = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002"], "beds": [1.0, 3.0]})
    >>> X = encode(FeatureSpec(diagnosis_grouping=None, age_bands=(0,), supply=("beds",)), people, areas=areas)
    >>> result = CostModel().fit(X, people["cost"]).result_
    >>> coef, constant = neutralised_coefficients(result, ("supply",))
    >>> coef.round(2).tolist(), round(constant, 2)
    ([-100.0, 100.0, 0.0], 400.0)
    """
    coef = result.params.to_numpy().copy()
    mask, at = _neutral_columns(result.params.index, result.roles, result.column_means, neutralise, reference)
    constant = float(np.dot(coef[mask], at[mask]))
    coef[mask] = 0.0
    return coef, constant


def _score_alternative(model: CostModel, X: FeatureMatrix, neutralise, reference) -> np.ndarray:
    """Non-linear models: predict on a design whose neutralised columns hold the reference for everyone."""
    names = list(model.feature_names_in_)
    _check_columns(X, names)
    mask, at = _neutral_columns(names, model.roles_, model.column_means_, neutralise, reference)
    if not mask.any():
        return model.predict(X)
    keep = ~mask[X.indices]
    rows = np.repeat(np.arange(X.n_rows), np.diff(X.indptr))[keep]
    cols = X.indices[keep]
    vals = X.data[keep]
    neutral = np.flatnonzero(mask)
    rows = np.concatenate([rows, np.repeat(np.arange(X.n_rows), len(neutral))])
    cols = np.concatenate([cols, np.tile(neutral, X.n_rows)]).astype(np.int32)
    vals = np.concatenate([vals, np.tile(at[neutral], X.n_rows)])
    order = np.lexsort((cols, rows))
    indptr = np.zeros(X.n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=X.n_rows), out=indptr[1:])
    held = FeatureMatrix(indptr, cols[order], vals[order], X.columns, X.row_ids, X.exclusions, X.spec)
    return model.predict(held)
