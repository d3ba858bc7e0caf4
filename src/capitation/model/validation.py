"""Validation as in BMJ 2011 (Dixon et al.), and more: how well predicted need tracks actual cost.

Definitions (weights are exposures in person-years, ``y`` annual cost, ``ŷ`` prediction):

* person-level R² = 1 − Σ w (y − ŷ)² / Σ w (y − ȳ)², with ȳ the weighted mean;
* practice-level R²: each practice's actual cost per person-year ``a_g = Σ w y / Σ w`` and predicted
  ``p_g = Σ w ŷ / Σ w`` over its list; R² = 1 − Σ n_g (a_g − p_g)² / Σ n_g (a_g − ā)², weighted by list size
  ``n_g = Σ w`` (person-years), ā the list-weighted mean;
* MAE = Σ w |y − ŷ| / Σ w; Cumming's prediction measure CPM = 1 − Σ w |y − ŷ| / Σ w |y − ȳ|;
* predictive ratio of a group = Σ w ŷ / Σ w y over its people (1 is unbiased; NHS analysts also quote its
  inverse);
* share of practices off by 10% or more: |p_g / a_g − 1| ≥ 0.10.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError

__all__ = ["LIST_SIZE_BANDS", "ValidationResult", "split_people", "split_practices", "validate"]

#: List-size bands (registered people) for error against list size.
LIST_SIZE_BANDS = (0, 2_000, 4_000, 6_000, 8_000, 10_000, 15_000, 20_000, 30_000, np.inf)


def _band_labels(edges) -> list[str]:
    def k(v):
        return f"{v / 1000:g}k"
    return [f"{k(lo)}–{k(hi)}" if np.isfinite(hi) else f"{k(lo)}+" for lo, hi in itertools.pairwise(edges)]


def split_people(n_people: int, fraction: float = 0.5, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split people at random into estimation and validation positions (BMJ 2011's samples 1 and 2).

    Parameters
    ----------
    n_people : int
        People to split (e.g. ``population.n_people``); positions run from 0 to ``n_people - 1``.
    fraction : float
        Share of people in the estimation sample, in (0, 1).
    seed : int
        Seed of the random permutation: the same seed gives the same split.

    Returns
    -------
    fit_rows, validation_rows : ndarray of int
        Sorted positions of the estimation and validation people; together they cover every person once.

    Examples
    --------
    >>> fit_rows, valid_rows = split_people(10, 0.5, seed=1)
    >>> len(fit_rows), len(valid_rows), len(set(fit_rows) & set(valid_rows))
    (5, 5, 0)
    """
    if not 0 < fraction < 1:
        raise InputError(f"The 'fraction' parameter of split_people must be in (0, 1). Got {fraction!r}.")
    order = np.random.default_rng(seed).permutation(n_people)
    cut = round(n_people * fraction)
    return np.sort(order[:cut]), np.sort(order[cut:])


def split_practices(practice_code, fraction: float = 0.15, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole practices, as BMJ 2011's validation sample of 797 practices.

    Everyone on a held-out practice's registered list is in the validation sample, so practice-level figures
    are measured on lists the model never saw.

    Parameters
    ----------
    practice_code : array-like
        Each person's practice, in population order.
    fraction : float
        Share of practices held out (at least one practice is).
    seed : int
        Seed of the random choice of practices: the same seed gives the same split.

    Returns
    -------
    rest, held : ndarray of int
        Positions of people on the other practices' lists, and of people on the held-out practices' lists.

    Examples
    --------
    >>> rest, held = split_practices(["A", "A", "B", "C"], 0.34, seed=0)
    >>> sorted(rest.tolist() + held.tolist())
    [0, 1, 2, 3]
    """
    codes = np.asarray(practice_code, dtype=object)
    practices = np.sort(pd.unique(codes))
    held = np.random.default_rng(seed).permutation(len(practices))[: max(1, round(len(practices) * fraction))]
    out = np.isin(codes, practices[held])
    return np.flatnonzero(~out), np.flatnonzero(out)


@dataclass(frozen=True, eq=False, repr=False)
class ValidationResult(Result):
    """Fit statistics of predictions against actual costs (see the module docstring for definitions).

    Attributes
    ----------
    metrics : dict
        ``person_r2``, ``practice_r2``, ``mae``, ``cpm``, ``share_practices_off_10pct``, ``people``,
        ``practices``, ``person_years``.
    predictive_ratios : pandas.DataFrame
        ``dimension``, ``group``, ``person_years``, ``actual``, ``predicted``, ``ratio``.
    practices : pandas.DataFrame
        Per practice: list size, actual and predicted cost per person-year, relative error.
    by_list_size : pandas.DataFrame
        Practices by list-size band: count, mean absolute relative error, share off by 10% or more.
    label : str
        Name of the model in tables.
    provenance : Provenance
        Library version (predictions and costs carry no spec).

    The frames are the result's own data. Figures of a validation are drawn by :mod:`capitation.report`
    (``predictive_ratios(v)``, ``actual_vs_predicted(v)``, ``funnel_plot(v)``, ``write_report(path, validation=v)``).

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import validate
    >>> v = validate(np.array([50.0, 100.0, 200.0, 50.0]), np.array([0.0, 100.0, 300.0, 0.0]),
    ...              practice_code=["A", "A", "B", "B"], label="age–sex")
    >>> v
    ValidationResult(age–sex: person R²=0.7500, practice R²=0.7500)
    """

    metrics: dict
    predictive_ratios: pd.DataFrame
    practices: pd.DataFrame
    by_list_size: pd.DataFrame
    label: str = field(default="model")

    def to_frame(self) -> pd.DataFrame:
        """Return the headline metrics as a one-row frame indexed by the label.

        Returns
        -------
        pandas.DataFrame
            A new table each call (editing it leaves the result as it was).

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.model import validate
        >>> v = validate(np.array([50.0, 100.0]), np.array([0.0, 100.0]), practice_code=["A", "B"])
        >>> v.to_frame()[["mae", "people"]].values.tolist()
        [[25.0, 2.0]]
        """
        return pd.DataFrame([self.metrics], index=pd.Index([self.label], name="model"))

    def _frame(self) -> pd.DataFrame:
        return self.to_frame()

    def summary(self) -> str:
        """Plain-text report of the metrics, predictive ratios and error by list size.

        Returns
        -------
        str
            The headline (people, person-years, practices) on the first line.

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.model import validate
        >>> v = validate(np.array([50.0, 100.0]), np.array([0.0, 100.0]), practice_code=["A", "B"], label="m")
        >>> v.summary().splitlines()[0]
        'Validation of m: 2 people (2 person-years), 2 practices'
        """
        m = self.metrics
        lines = [
            f"Validation of {self.label}: {m['people']:,} people ({m['person_years']:,.0f} person-years), "
            f"{m['practices']:,} practices",
            f"  person R² {m['person_r2']:.4f}   practice R² {m['practice_r2']:.4f}   MAE £{m['mae']:,.0f}   "
            f"CPM {m['cpm']:.4f}",
            f"  practices off by 10% or more: {m['share_practices_off_10pct']:.1%}",
            "", "Predictive ratios (predicted ÷ actual):",
            self.predictive_ratios.to_string(index=False, float_format=lambda v: f"{v:,.3f}"),
            "", "Error against list size:",
            self.by_list_size.to_string(float_format=lambda v: f"{v:,.3f}"),
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        m = self.metrics
        return f"ValidationResult({self.label}: person R²={m['person_r2']:.4f}, practice R²={m['practice_r2']:.4f})"


def _weighted_r2(actual, predicted, weights) -> float:
    mean = np.average(actual, weights=weights)
    total = np.sum(weights * (actual - mean) ** 2)
    if not total > 0:  # a constant outcome has nothing to explain: undefined, not a division by zero
        return float("nan")
    return 1.0 - np.sum(weights * (actual - predicted) ** 2) / total


def validate(predicted, actual, weights=None, *, practice_code, groups: dict | None = None,
             label: str = "model", list_sizes=None) -> ValidationResult:
    """Compare predicted with actual annual cost, person by person and practice by practice.

    Parameters
    ----------
    predicted, actual : array-like
        Annual cost per person (£): the model's prediction and the outcome (cost ÷ exposure).
    weights : array-like, optional
        Exposure in person-years (1 each when omitted).
    practice_code : array-like
        Each person's practice, for practice-level figures.
    groups : dict of str → array-like, optional
        Dimensions for predictive ratios, e.g. ``{"age band": ..., "sex": ..., "IMD quintile": ...}``.
        The list-size band of each person's practice is always added.
    label : str
        Name of the model in tables.
    list_sizes : pandas.Series, optional
        Each practice's registered list size, by practice code, for the list-size bands (e.g.
        ``Membership.nhs_england(year).list_sizes``); by default the people given, which for a sample are
        far fewer than the list.

    Returns
    -------
    ValidationResult
        Person- and practice-level metrics, predictive ratios by group, the practice table and error by
        list-size band.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import validate
    >>> actual = np.array([0.0, 100.0, 300.0, 0.0])
    >>> result = validate(np.array([50.0, 100.0, 200.0, 50.0]), actual, practice_code=["A", "A", "B", "B"])
    >>> round(result.metrics["mae"], 2), round(result.metrics["person_r2"], 4)
    (50.0, 0.75)
    """
    yhat = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(actual, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    codes = np.asarray(practice_code, dtype=object)
    if not (len(yhat) == len(y) == len(w) == len(codes)):
        raise InputError(f"validate needs one value per person in each of 'predicted' ({len(yhat):,}), "
                         f"'actual' ({len(y):,}), 'weights' ({len(w):,}) and 'practice_code' ({len(codes):,}).")
    for name, values in (("predicted", yhat), ("actual", y), ("weights", w)):
        if not np.isfinite(values).all():
            raise InputError(f"The {name!r} parameter of validate holds NaN or infinity. Fix: fill or remove them.")
    mean = np.average(y, weights=w)
    frame = pd.DataFrame({"practice": codes, "w": w, "wy": w * y, "wp": w * yhat})
    per = frame.groupby("practice", sort=True).agg(list_size=("w", "size"), person_years=("w", "sum"),
                                                   actual=("wy", "sum"), predicted=("wp", "sum"))
    if list_sizes is not None:  # the registered lists, not the people of them in the data
        per["list_size"] = pd.Series(list_sizes, dtype=np.float64).reindex(per.index).fillna(per["list_size"])
    per["actual"] /= per["person_years"]
    per["predicted"] /= per["person_years"]
    per["relative_error"] = per["predicted"] / per["actual"] - 1
    practice_r2 = _weighted_r2(per["actual"].to_numpy(), per["predicted"].to_numpy(), per["person_years"].to_numpy())
    off = (per["relative_error"].abs() >= 0.10)
    band = pd.cut(per["list_size"], LIST_SIZE_BANDS, right=False, labels=_band_labels(LIST_SIZE_BANDS))
    by_size = pd.DataFrame({"practices": per.groupby(band, observed=True).size(),
                            "mean_abs_relative_error": per["relative_error"].abs().groupby(band, observed=True).mean(),
                            "share_off_10pct": off.groupby(band, observed=True).mean()})
    by_size.index = by_size.index.astype(str)
    by_size.index.name = "list size"

    dims = dict(groups or {})
    dims["list size"] = band.astype(str).reindex(codes).to_numpy()
    ratios = []
    for dim, labels in dims.items():
        labels = np.asarray(labels)
        if len(labels) != len(y):
            raise InputError(f"groups[{dim!r}] has {len(labels):,} values for {len(y):,} people.")
        g = pd.DataFrame({"group": labels, "w": w, "wy": w * y, "wp": w * yhat}).groupby("group", sort=True).sum()
        ratios.append(pd.DataFrame({"dimension": dim, "group": g.index.astype(str), "person_years": g["w"].to_numpy(),
                                    "actual": (g["wy"] / g["w"]).to_numpy(), "predicted": (g["wp"] / g["w"]).to_numpy(),
                                    "ratio": (g["wp"] / g["wy"]).to_numpy()}))
    metrics = {
        "person_r2": float(_weighted_r2(y, yhat, w)),
        "practice_r2": float(practice_r2),
        "mae": float(np.average(np.abs(y - yhat), weights=w)),
        "cpm": float(1 - np.sum(w * np.abs(y - yhat)) / np.sum(w * np.abs(y - mean))),
        "share_practices_off_10pct": float(off.mean()),
        "people": len(y),
        "practices": len(per),
        "person_years": float(w.sum()),
    }
    return ValidationResult(metrics, pd.concat(ratios, ignore_index=True), per, by_size, label)
