"""One function per figure of the report, each taking the library's result objects.

Each returns a :class:`matplotlib.figure.Figure` (for notebooks: the figure shows itself as a cell's value),
made outside ``pyplot``, so there is no figure to close and no backend to choose.

=================================  ===========================================================================
:func:`model_ladder`               person- and practice-level R² of each model of the ladder, against BMJ 2011
:func:`predictive_ratios`          predicted ÷ actual cost by group (age band, sex, deprivation, list size …)
:func:`actual_vs_predicted`        actual against predicted cost per person-year, one point per practice
:func:`funnel_plot`                actual ÷ predicted against list size, with 95% and 99.8% control limits
:func:`consortium_budgets`         consortia sorted by distance from target (or by need index)
:func:`budget_risk_by_size`        probability of overspending against list size, with the pooling curve
:func:`budget_waterfall`           one consortium's budget per head, from the national average, by driver
=================================  ===========================================================================

Every figure is drawn in constrained layout and its titles are wrapped to fit (:func:`fit_titles`), so no text
runs off its edge; :func:`text_outside_figure` checks that (the report's tests run it on every figure).

matplotlib is an optional dependency (``pip install "capitation[report]"``), imported when a figure is drawn.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError, SchemaError
from ._mpl import NHS_BLUE, PALETTE, figure, fit_titles, styled, text_outside_figure

__all__ = [
    "BMJ_2011_LADDER",
    "actual_vs_predicted",
    "budget_risk_by_size",
    "budget_waterfall",
    "consortium_budgets",
    "fit_titles",
    "funnel_control_limits",
    "funnel_plot",
    "furthest_consortium",
    "ladder_table",
    "model_ladder",
    "predictive_ratios",
    "short_name",
    "text_outside_figure",
]

#: Dixon et al., BMJ 2011;343:d6608, Table 1: R² of the five PBRA models (person level on validation
#: sample 1 of 5.2 million people; practice level on validation sample 2 of 797 practices).
BMJ_2011_LADDER = pd.DataFrame({
    "model": ["Age–sex", "+ diagnoses", "+ PCT effects", "Full: + 135 needs, 63 supply",
              "Parsimonious: + 7 needs, 3 supply"],
    "person_r2": [0.0366, 0.1223, 0.1227, 0.1230, 0.1229],
    "practice_r2": [0.3444, 0.6084, 0.7437, 0.7851, 0.7735],
})

_BLOCK_LABELS = {
    "national average": "National average",
    "age_sex": "Age and sex",
    "morbidity": "Diagnoses",
    "primary_care": "GP-recorded conditions",
    "need": "Area need",
    "supply_neutralised": "Supply (neutralised)",
    "other": "Other (pennies, adjustments)",
    "budget per head": "Budget per head",
}


def short_name(name: str) -> str:
    """Shorten an ICB's name to drop ``NHS`` and ``Integrated Care Board``, for axis labels.

    Parameters
    ----------
    name : str
        A consortium name, e.g. a ``consortium_name`` of :meth:`Membership.names
        <capitation.aggregation.Membership.names>`; anything else is turned into text.

    Returns
    -------
    str
        The name without the leading ``NHS`` and the trailing ``Integrated Care Board`` (or ``ICB``).

    Examples
    --------
    >>> short_name("NHS Mid and South Essex Integrated Care Board")
    'Mid and South Essex'
    """
    text = str(name)
    for part in (" Integrated Care Board", " ICB"):
        text = text.replace(part, "")
    return text[4:] if text.startswith("NHS ") else text


def _pounds(v: float) -> str:
    return f"−£{abs(v):,.0f}" if v < 0 else f"£{v:,.0f}"


# ------------------------------------------------------------------------------------------------------------
# model ladder
# ------------------------------------------------------------------------------------------------------------
def ladder_table(validations) -> pd.DataFrame:
    """Tabulate the model ladder (``model``, ``person_r2``, ``practice_r2`` and the other metrics) from validations.

    Parameters
    ----------
    validations : sequence of ValidationResult, or mapping of name → ValidationResult
        One validation per model, in ladder order (names default to each result's ``label``).

    Returns
    -------
    pandas.DataFrame
        One row per model, in ladder order: ``model`` then every entry of the validation's ``metrics``, as
        :func:`model_ladder` draws it.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import validate
    >>> y = np.array([0.0, 100.0, 300.0, 0.0])
    >>> v = validate(np.array([50.0, 100.0, 200.0, 50.0]), y, practice_code=["A", "A", "B", "B"], label="age–sex")
    >>> ladder_table([v])[["model", "person_r2", "practice_r2"]].round(2).values.tolist()
    [['age–sex', 0.75, 0.75]]
    """
    items = list(validations.items()) if isinstance(validations, Mapping) else [(v.label, v) for v in validations]
    if not items:
        raise InputError("ladder_table needs at least one ValidationResult. Fix: validate each model of the ladder.")
    rows = []
    for name, result in items:
        metrics = getattr(result, "metrics", None)
        if metrics is None:
            raise SchemaError(f"ladder_table takes ValidationResult objects. Got {type(result).__name__} for {name!r}.")
        rows.append({"model": name, **metrics})
    return pd.DataFrame(rows)


def _ladder_frame(ladder) -> pd.DataFrame:
    frame = ladder if isinstance(ladder, pd.DataFrame) else ladder_table(ladder)
    missing = [c for c in ("model", "person_r2", "practice_r2") if c not in frame.columns]
    if missing:
        raise InputError(f"The ladder frame lacks columns {missing}. Fix: give 'model', 'person_r2' and "
                         "'practice_r2' (ladder_table(validations) builds it).")
    return frame.reset_index(drop=True)


@styled
def model_ladder(ladder, *, benchmark: bool = True):
    """Draw bar charts of person-level and practice-level R² for each model of the ladder.

    Parameters
    ----------
    ladder : pandas.DataFrame or sequence of ValidationResult
        Columns ``model``, ``person_r2`` and ``practice_r2``, one row per model in ladder order (see
        :func:`ladder_table`).
    benchmark : bool
        Mark BMJ 2011's Table 1 values (:data:`BMJ_2011_LADDER`) on the first five rungs, which are taken to
        be PBRA's five models in order: age–sex, + diagnoses, + area effects, full, parsimonious.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, person level and practice level, one bar per model.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import validate
    >>> v = validate(np.array([50.0, 100.0, 200.0, 50.0]), np.array([0.0, 100.0, 300.0, 0.0]),
    ...              practice_code=["A81001", "A81001", "A81002", "A81002"], label="age–sex")
    >>> fig = model_ladder([v])
    >>> [ax.get_title(loc="left") for ax in fig.axes]
    ['Person level R²', 'Practice level R²']
    """
    frame = _ladder_frame(ladder)
    n = len(frame)
    fig = figure(min(max(7.5, 1.25 * n + 2.5), 8.8), 3.8)
    axes = fig.subplots(1, 2)
    x = np.arange(n)
    labels = [textwrap.fill(str(m), 14) for m in frame["model"]]  # "+ GP-recorded conditions" on two lines
    for ax, column, title in ((axes[0], "person_r2", "Person level"), (axes[1], "practice_r2", "Practice level")):
        values = frame[column].to_numpy(dtype=float)
        ax.bar(x, values, color=NHS_BLUE, width=0.62, label="this model", zorder=2)
        top = np.nanmax(values) if np.isfinite(values).any() else 1.0
        above = values.copy()  # where each value's label goes: above its bar, and above the benchmark's diamond
        if benchmark:
            k = min(n, len(BMJ_2011_LADDER))
            ref = BMJ_2011_LADDER[column].to_numpy()[:k]
            ax.scatter(x[:k], ref, marker="D", s=26, color=PALETTE["warm_yellow"], edgecolor="#231F20",
                       linewidth=0.6, zorder=3, label="BMJ 2011, Table 1")
            top = max(top, ref.max())
            near = np.abs(ref - values[:k]) < 0.08 * max(top, 1e-9)
            above[:k] = np.where(near, np.fmax(values[:k], ref), values[:k])
        for xi, v, at in zip(x, values, above, strict=True):
            lift = 2 if at == v else 6  # clear of the diamond (26 pt² ≈ 5 pt across)
            ax.annotate(f"{v:.3f}", (xi, at), xytext=(0, lift), textcoords="offset points", ha="center",
                        va="bottom", fontsize=8)
        ax.set_ylim(0, top * 1.18 if top > 0 else 1)
        ax.set_xticks(x, labels, rotation=25 if n > 3 else 0, ha="right" if n > 3 else "center")
        ax.set_title(f"{title} R²")
        ax.grid(axis="x", visible=False)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2)  # below the panels: clear of the title
    fig.suptitle("Model ladder: share of variance in annual hospital cost explained", x=0.01, ha="left",
                 fontweight="bold", fontsize=11)
    return fig


# ------------------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------------------
@styled
def predictive_ratios(validation, dimensions=None, *, band: float = 0.05):
    """Draw a dot plot of predictive ratios (predicted ÷ actual cost) by group, one panel per dimension.

    Parameters
    ----------
    validation : ValidationResult or pandas.DataFrame
        A validation, or its ``predictive_ratios`` frame (``dimension``, ``group``, ``ratio``,
        ``person_years``).
    dimensions : sequence of str, optional
        Dimensions to show, in order (all by default).
    band : float
        Half-width of the shaded band around 1 (0.05: ratios within ±5%).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per dimension, one dot per group (red outside the band).

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import validate
    >>> v = validate(np.array([50.0, 100.0, 200.0, 50.0]), np.array([0.0, 100.0, 300.0, 0.0]),
    ...              practice_code=["A81001", "A81001", "A81002", "A81002"], groups={"sex": ["F", "M", "F", "M"]})
    >>> fig = predictive_ratios(v, ["sex"])
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['F', 'M']
    """
    table = validation if isinstance(validation, pd.DataFrame) else validation.predictive_ratios
    if dimensions is None:
        dimensions = list(dict.fromkeys(table["dimension"]))
    dimensions = [d for d in dimensions if (table["dimension"] == d).any()]
    if not dimensions:
        raise InputError("There are no predictive ratios to plot. Fix: validate with groups={...}.")
    sizes = [int((table["dimension"] == d).sum()) for d in dimensions]
    fig = figure(7.5, 0.9 + 0.24 * sum(sizes) + 0.45 * len(dimensions))
    axes = fig.subplots(len(dimensions), 1, sharex=True, height_ratios=[s + 1.2 for s in sizes], squeeze=False)[:, 0]
    finite = table["ratio"].replace([np.inf, -np.inf], np.nan).dropna()
    lo = min(1 - 2 * band, float(finite.min()) - 0.02) if len(finite) else 1 - 2 * band
    hi = max(1 + 2 * band, float(finite.max()) + 0.02) if len(finite) else 1 + 2 * band
    for ax, dim in zip(axes, dimensions, strict=True):
        part = table[table["dimension"] == dim]
        part = part.iloc[sorted(range(len(part)), key=lambda i: _natural(part["group"].iloc[i]))]
        y = np.arange(len(part))[::-1]
        ax.axvspan(1 - band, 1 + band, color=PALETTE["pale_blue"], zorder=0)
        ax.axvline(1, color=PALETTE["dark_grey"], linewidth=0.9, zorder=1)
        ratio = part["ratio"].to_numpy(dtype=float)
        inside = np.abs(ratio - 1) <= band
        ax.hlines(y, 1, ratio, color=PALETTE["light_grey"], linewidth=1.2, zorder=2)
        ax.scatter(ratio[inside], y[inside], color=NHS_BLUE, s=30, zorder=3)
        ax.scatter(ratio[~inside], y[~inside], color=PALETTE["red"], s=30, zorder=3)
        ax.set_yticks(y, part["group"].astype(str).tolist())
        ax.set_ylim(-0.7, len(part) - 0.3)
        ax.set_title(str(dim), fontsize=9.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlim(lo, hi)
    axes[-1].set_xlabel(f"Predictive ratio: predicted ÷ actual cost (1 = unbiased; band ±{band:.0%})")
    fig.suptitle("Predictive ratios by group", x=0.01, ha="left", fontweight="bold", fontsize=11)
    return fig


def _practices(validation) -> pd.DataFrame:
    frame = validation if isinstance(validation, pd.DataFrame) else validation.practices
    missing = [c for c in ("actual", "predicted", "list_size") if c not in frame.columns]
    if missing:
        raise InputError(f"The practice table lacks {missing}. Fix: pass a ValidationResult or its .practices.")
    return frame


@styled
def actual_vs_predicted(validation, *, clip: float = 0.995):
    """Plot actual against predicted cost per person-year, one point per practice sized by list size.

    Parameters
    ----------
    validation : ValidationResult or pandas.DataFrame
        A validation, or its ``practices`` frame (``list_size``, ``actual``, ``predicted``).
    clip : float
        Axes end at this quantile of the values, so a handful of tiny lists do not squash the rest; the
        number of practices beyond the axes is written on the chart.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter panel with the line actual = predicted, ±10% lines and the practice-level R².

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import validate
    >>> v = validate(np.array([50.0, 100.0, 200.0, 50.0]), np.array([0.0, 100.0, 300.0, 0.0]),
    ...              practice_code=["A81001", "A81001", "A81002", "A81002"], label="age–sex")
    >>> fig = actual_vs_predicted(v)
    >>> fig.axes[0].get_title(loc="left")
    'Actual against predicted cost per practice'
    """
    frame = _practices(validation)
    a = frame["actual"].to_numpy(dtype=float)
    p = frame["predicted"].to_numpy(dtype=float)
    n = frame["list_size"].to_numpy(dtype=float)
    fig = figure(6.0, 5.2)
    ax = fig.subplots()
    both = np.concatenate([a, p])
    top = float(np.nanquantile(both, clip)) * 1.05 if len(a) else 1.0
    bottom = float(np.nanquantile(both, 1 - clip)) * 0.9 if len(a) else 0.0
    size = 8 + 60 * np.sqrt(n / max(n.max(), 1))
    ax.scatter(p, a, s=size, color=NHS_BLUE, alpha=0.45, edgecolor="white", linewidth=0.4, zorder=2)
    ax.plot([bottom, top], [bottom, top], color=PALETTE["dark_grey"], linewidth=1, zorder=3, label="actual = predicted")
    for f, style in ((1.1, "--"), (0.9, "--")):
        ax.plot([bottom, top], [bottom * f, top * f], color=PALETTE["mid_grey"], linewidth=0.8, linestyle=style,
                zorder=3)
    ax.plot([], [], color=PALETTE["mid_grey"], linestyle="--", linewidth=0.8, label="±10%")
    ax.set_xlim(bottom, top)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.set_xlabel("Predicted cost per person-year (£)")
    ax.set_ylabel("Actual cost per person-year (£)")
    outside = int(((a > top) | (p > top) | (a < bottom) | (p < bottom)).sum())
    w = frame["person_years"].to_numpy(dtype=float) if "person_years" in frame else n
    good = np.isfinite(a) & np.isfinite(p)
    mean = np.average(a[good], weights=w[good])
    r2 = 1 - np.sum(w[good] * (a[good] - p[good]) ** 2) / np.sum(w[good] * (a[good] - mean) ** 2)
    note = f"{len(frame):,} practices (point area ∝ list size)\npractice R² {r2:.3f}"
    if outside:
        note += f"\n{outside:,} beyond the axes"
    ax.text(0.02, 0.98, note, transform=ax.transAxes, va="top", fontsize=8.5, bbox=_NOTE_BOX, zorder=5)
    ax.legend(loc="lower right")
    ax.set_title("Actual against predicted cost per practice")
    ax.yaxis.set_major_formatter(_money_formatter())
    ax.xaxis.set_major_formatter(_money_formatter())
    return fig


def _natural(label) -> tuple:
    """Sort key putting '5–14' before '15–24' and '2k–4k' before '10k–15k'."""
    import re

    match = re.match(r"\s*(\d+(?:\.\d+)?)(k?)", str(label))
    if match is None:
        return (1, str(label))
    return (0, float(match.group(1)) * (1000 if match.group(2) else 1), str(label))


#: A white box behind a note inside the axes, so lines and points under it do not make it unreadable.
_NOTE_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "boxstyle": "square,pad=0.2"}


def _log_ticks(ax, lo: float, hi: float) -> None:
    """1–2–5 ticks with thousands separators on a log axis, no minor labels; finer when the range is short."""
    from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter

    decades = math.log10(max(hi, 1.0) / max(lo, 1.0))
    steps = (1,) if decades > 4 else (1, 5) if decades > 2.5 else (1, 2, 5)
    ticks = [m * 10.0 ** e for e in range(0, 10) for m in steps if lo <= m * 10.0 ** e <= hi]
    if len(ticks) < 3:  # less than a decade or so: every 1–9 step, else round numbers across the range
        ticks = [m * 10.0 ** e for e in range(0, 10) for m in range(1, 10) if lo <= m * 10.0 ** e <= hi]
    if len(ticks) < 3:
        ticks = [t for t in MaxNLocator(4).tick_values(lo, hi) if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(_money_formatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _money_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def funnel_control_limits(list_size, cv: float, probability: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Compute the lower and upper control limits of actual ÷ predicted for lists of ``list_size`` people.

    If each person's cost has coefficient of variation ``cv`` about their prediction, a practice's mean
    cost over ``n`` people has coefficient of variation ``cv / √n``; the limits are ``1 ± z · cv / √n``
    (normal approximation) with ``z = Φ⁻¹((1 + probability) / 2)``, the lower one floored at 0.

    Parameters
    ----------
    list_size : array_like of float
        Registered people (or person-years) on each list; positive.
    cv : float
        Coefficient of variation of one person's annual cost about its prediction, positive.
    probability : float
        Two-sided coverage of the limits, in (0, 1): 0.95 for 95% limits.

    Returns
    -------
    lower, upper : ndarray of float
        The limits for each list size, as ratios (1 is actual = predicted).

    Examples
    --------
    >>> lo, hi = funnel_control_limits([10_000], cv=3.0, probability=0.95)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.9412, 1.0588)
    """
    from scipy import stats

    if not 0 < probability < 1:
        raise InputError(f"The 'probability' parameter must be in (0, 1). Got {probability!r}.")
    if not (isinstance(cv, (int, float, np.floating)) and math.isfinite(cv) and cv > 0):
        raise InputError(f"The 'cv' parameter must be a positive number. Got {cv!r}.")
    n = np.asarray(list_size, dtype=float)
    half = stats.norm.isf((1 - probability) / 2) * cv / np.sqrt(n)
    return np.maximum(1 - half, 0.0), 1 + half


def _robust_cv(ratio: np.ndarray, n: np.ndarray) -> float:
    z = (ratio - 1) * np.sqrt(n)
    z = z[np.isfinite(z)]
    if len(z) < 3:
        raise InputError("Too few practices to estimate the funnel's spread. Fix: pass cv= (e.g. "
                         "budget_risk(...).cv_person).")
    return float(1.4826 * np.median(np.abs(z - np.median(z))))


@styled
def funnel_plot(validation, *, cv: float | None = None, size: str = "list_size", limits=(0.95, 0.998),
                label=None):
    """Draw a funnel plot: each practice's actual ÷ predicted cost against its list size, with control limits.

    Parameters
    ----------
    validation : ValidationResult or pandas.DataFrame
        A validation, or its ``practices`` frame (``list_size``, ``person_years``, ``actual``, ``predicted``).
    cv : float, optional
        Coefficient of variation of one person's annual cost about its prediction, e.g.
        :attr:`BudgetRisk.cv_person <capitation.allocation.BudgetRisk>`. The limits then show what chance
        alone gives, and practices outside them have costs the person model does not explain. When omitted
        it is estimated robustly from the practices themselves (1.4826 × the median absolute deviation of
        ``(ratio − 1)·√n``), so the limits also absorb practice-level variation.
    size : {"list_size", "person_years"}
        Column used as the list size.
    limits : tuple of float
        Two-sided coverage of the inner and outer limits (95% and 99.8% by default).
    label : str, optional
        What a unit is called in the legend (``"practices"``).

    Returns
    -------
    matplotlib.figure.Figure
        One panel, list size on a log axis; practices beyond the inner and outer limits are coloured and
        counted in the legend.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import validate
    >>> v = validate(np.array([50.0, 100.0, 200.0, 50.0]), np.array([0.0, 100.0, 300.0, 0.0]),
    ...              practice_code=["A81001", "A81001", "A81002", "A81002"], label="age–sex")
    >>> fig = funnel_plot(v, cv=3.0)
    >>> fig.axes[0].get_title(loc="left"), fig.axes[0].texts[0].get_text()
    ('Funnel plot: practice error against list size', 'limits from a person cost cv of 3.00 (given)')
    """
    frame = _practices(validation)
    if size not in frame.columns:
        raise InputError(f"The 'size' parameter must be a column of the practice table. Got {size!r}.")
    n = frame[size].to_numpy(dtype=float)
    a = frame["actual"].to_numpy(dtype=float)
    p = frame["predicted"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, a / p, np.nan)
    ok = np.isfinite(ratio) & (n > 0)
    estimated = cv is None
    if estimated:
        cv = _robust_cv(ratio[ok], n[ok])
    grid = np.geomspace(max(n[ok].min() * 0.8, 1), n[ok].max() * 1.25, 200)
    inner_lo, inner_hi = funnel_control_limits(grid, cv, limits[0])
    outer_lo, outer_hi = funnel_control_limits(grid, cv, limits[1])
    n_lo, n_hi = funnel_control_limits(n[ok], cv, limits[0])
    o_lo, o_hi = funnel_control_limits(n[ok], cv, limits[1])
    r = ratio[ok]
    outer = (r < o_lo) | (r > o_hi)
    inner = ((r < n_lo) | (r > n_hi)) & ~outer
    fig = figure(7.5, 5.0)
    ax = fig.subplots()
    ax.fill_between(grid, 100 * inner_lo, 100 * inner_hi, color=PALETTE["pale_blue"], zorder=0)
    ax.plot(grid, 100 * inner_lo, color=PALETTE["light_blue"], linewidth=1, label=f"{limits[0]:.0%} limits")
    ax.plot(grid, 100 * inner_hi, color=PALETTE["light_blue"], linewidth=1)
    ax.plot(grid, 100 * outer_lo, color=PALETTE["dark_blue"], linewidth=1, linestyle="--",
            label=f"{limits[1]:.1%} limits")
    ax.plot(grid, 100 * outer_hi, color=PALETTE["dark_blue"], linewidth=1, linestyle="--")
    ax.axhline(100, color=PALETTE["dark_grey"], linewidth=0.9)
    unit = label or "practices"
    ax.scatter(n[ok][~(inner | outer)], 100 * r[~(inner | outer)], s=12, color=NHS_BLUE, alpha=0.55,
               edgecolor="none", label=f"{unit} within limits", zorder=2)
    ax.scatter(n[ok][inner], 100 * r[inner], s=14, color=PALETTE["warm_yellow"], edgecolor="#231F20",
               linewidth=0.3, label=f"beyond {limits[0]:.0%} ({int(inner.sum()):,})", zorder=3)
    ax.scatter(n[ok][outer], 100 * r[outer], s=16, color=PALETTE["red"], edgecolor="#231F20", linewidth=0.3,
               label=f"beyond {limits[1]:.1%} ({int(outer.sum()):,})", zorder=4)
    ax.set_xscale("log")
    _log_ticks(ax, grid[0], grid[-1])
    low, high = np.nanquantile(100 * r, [0.005, 0.995]) if len(r) else (50, 150)
    ax.set_ylim(max(0, min(low, 100 * o_lo.min(), 80) - 5), max(high, 120) + 5)
    ax.set_xlabel("List size (registered people, log scale)" if size == "list_size" else "Person-years (log scale)")
    ax.set_ylabel("Actual cost as % of predicted")
    source = "estimated from the practices" if estimated else "given"
    ax.set_title("Funnel plot: practice error against list size")
    ax.text(0.01, 0.02, f"limits from a person cost cv of {cv:.2f} ({source})", transform=ax.transAxes,
            fontsize=8, color=PALETTE["dark_grey"], bbox=_NOTE_BOX, zorder=5)
    hidden = int((~ok).sum())
    if hidden:
        ax.text(0.99, 0.02, f"{hidden:,} practices without predicted cost not shown", transform=ax.transAxes,
                ha="right", fontsize=8, bbox=_NOTE_BOX, zorder=5)
    # below the axes, where it hides no practice
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    return fig


# ------------------------------------------------------------------------------------------------------------
# budgets
# ------------------------------------------------------------------------------------------------------------
@styled
def consortium_budgets(allocation, *, top: int | None = None):
    """Draw consortia by distance from target (with a baseline), else by budget per head against the average.

    Parameters
    ----------
    allocation : Allocation or pandas.DataFrame
        An allocation made with a membership, or its consortium table.
    top : int, optional
        Show only the ``top`` consortia furthest from zero.

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal bar per consortium, sorted, labelled by short name and code.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import Membership, allocate
    >>> need = pd.Series([1.0, 2.0, 3.0], index=["A81001", "A81002", "B82001"])
    >>> icbs = Membership.from_frame(pd.DataFrame({"practice_code": need.index,
    ...                                            "consortium_code": ["QHM", "QHM", "QOQ"]}))
    >>> alloc = allocate(need, 600, registered=pd.Series(100, index=need.index), membership=icbs,
    ...                  baseline=pd.Series({"QHM": 330.0, "QOQ": 270.0}))
    >>> fig = consortium_budgets(alloc)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]  # under target first
    ['QOQ', 'QHM']
    """
    table = allocation if isinstance(allocation, pd.DataFrame) else allocation.consortia
    if table is None or len(table) == 0:
        raise InputError("consortium_budgets needs consortium budgets. Fix: allocate(..., membership=...).")
    has_dft = "distance_from_target_pct" in table.columns and table["distance_from_target_pct"].notna().any()
    if has_dft:
        value = table["distance_from_target_pct"].astype(float)
        xlabel = "Distance from target: (baseline − target) ÷ target, %"
        title = "Distance from target by consortium"
        keys = ("over target", "under target")
    else:
        national = table["budget"].sum() / table["registered"].sum()
        value = 100 * (table["budget_per_head"].astype(float) / national - 1)
        xlabel = f"Budget per head against the average of £{national:,.0f}, %"
        title = "Budget per head by consortium against the average"
        keys = ("above the average", "below the average")
    order = value.sort_values()
    if top is not None:
        order = order.loc[order.abs().sort_values(ascending=False).index[:top]].sort_values()
    names = table["consortium_name"] if "consortium_name" in table.columns else pd.Series(table.index, table.index)
    labels = [f"{short_name(names.loc[c])} ({c})" if short_name(names.loc[c]) != c else str(c) for c in order.index]
    fig = figure(7.8, 1.0 + 0.21 * len(order))
    ax = fig.subplots()
    y = np.arange(len(order))
    colours = [PALETTE["dark_grey"] if v > 0 else NHS_BLUE for v in order.to_numpy()]
    ax.barh(y, order.to_numpy(), color=colours, height=0.7, zorder=2)
    ax.axvline(0, color="#231F20", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=7.5 if len(order) > 25 else 8.5)
    ax.set_ylim(-0.6, len(order) - 0.4)
    span = float(order.abs().max()) or 1.0
    for yi, v in zip(y, order.to_numpy(), strict=True):
        ax.annotate(f"{v:+.2f}%", (v, yi), xytext=(3 if v >= 0 else -3, 0), textcoords="offset points",
                    ha="left" if v >= 0 else "right", va="center", fontsize=7)
    ax.set_xlim(-span * 1.3 if order.min() < 0 else -span * 0.05, span * 1.3 if order.max() > 0 else span * 0.05)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=PALETTE["dark_grey"], label=keys[0]), Patch(color=NHS_BLUE, label=keys[1])],
              loc="lower right")
    return fig


def _risk_layers(risk) -> list[tuple[str, pd.DataFrame, object]]:
    from ..allocation.risk import BudgetRisk

    items = list(risk.items()) if isinstance(risk, Mapping) else [("groups", risk)]
    out = []
    for name, item in items:
        if isinstance(item, BudgetRisk):
            out.append((name, item.table, item))
        elif isinstance(item, pd.DataFrame):
            missing = [c for c in ("people", "p_overspend") if c not in item.columns]
            if missing:
                raise InputError(f"The budget-risk frame {name!r} lacks {missing}. Fix: pass a BudgetRisk or a "
                                 "frame with 'people' and 'p_overspend'.")
            out.append((name, item, None))
        else:
            raise SchemaError(f"budget_risk_by_size takes BudgetRisk objects or frames. Got {type(item).__name__}.")
    if not out:
        raise InputError("budget_risk_by_size needs at least one BudgetRisk.")
    return out


@styled
def budget_risk_by_size(risk, *, cv: float | None = None, overspend: float | None = None,
                        probability: float | None = None, extra_cv: float | None = None):
    """Plot the probability of overspending the budget by more than ``overspend`` against list size.

    Parameters
    ----------
    risk : BudgetRisk, pandas.DataFrame or mapping of name → either
        The groups to plot (``people`` and ``p_overspend`` per group); several layers (e.g.
        ``{"practices": ..., "ICBs": ...}``) share the axes.
    cv, overspend, probability, extra_cv : float, optional
        Parameters of the pooling curve ``P = 1 − Φ(x / √(cv²/n + τ²))``
        (:meth:`BudgetRisk.curve <capitation.allocation.BudgetRisk.curve>`); taken from the first
        :class:`~capitation.allocation.BudgetRisk` when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, list size on a log axis: the groups, the pooling curve and the pool needed.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.allocation import budget_risk
    >>> risk = budget_risk(np.full(4_000, 500.0), np.repeat(["A1", "A2"], 2_000), variance=(3 * 500.0) ** 2,
    ...                    n_resamples=0)
    >>> len(budget_risk_by_size(risk).axes[0].lines)  # the pooling curve, the size needed, the acceptable risk
    3
    """
    from ..allocation.risk import BudgetRisk

    layers = _risk_layers(risk)
    first = next((r for _, _, r in layers if r is not None), None)
    params = first.parameters if first is not None else {}
    cv = cv if cv is not None else (first.cv_person if first is not None else None)
    overspend = overspend if overspend is not None else params.get("overspend", 0.05)
    probability = probability if probability is not None else params.get("probability", 0.05)
    extra_cv = extra_cv if extra_cv is not None else params.get("extra_cv", 0.0)
    fig = figure(7.5, 4.4)
    ax = fig.subplots()
    markers = ["o", "s", "^", "D"]
    colours = [NHS_BLUE, PALETTE["dark_blue"], PALETTE["orange"], PALETTE["green"]]
    people = np.concatenate([t["people"].to_numpy(dtype=float) for _, t, _ in layers])
    people = people[people > 0]
    lo, hi = (max(people.min() * 0.5, 1), people.max() * 2) if len(people) else (100, 1e6)
    if cv is not None:
        # The curve of a pool of average people, as the risk computes it (frames alone: a pool of cv people).
        pool = first if first is not None else BudgetRisk(pd.DataFrame({"people": []}), cv, {})
        settings = {"cv": cv, "overspend": overspend, "probability": probability, "extra_cv": extra_cv}
        curve = pool.curve(lo, hi, **settings)
        hi = float(curve["people"].iloc[-1])
        ax.plot(curve["people"].to_numpy(), 100 * curve["p_overspend"].to_numpy(), color=PALETTE["dark_grey"],
                linewidth=1.4, label=f"pool of average people (cv {cv:.2f}" + (f", group cv {extra_cv:.3f})"
                                                                              if extra_cv else ")"), zorder=1)
        needed = pool.pool_needed(**settings)
        if math.isfinite(needed):
            ax.axvline(needed, color=PALETTE["red"], linewidth=0.9, linestyle=":")
            right = math.log(needed / lo) > 0.6 * math.log(hi / lo)  # near the right edge: label on the left
            ax.annotate(f"pool needed: {needed:,.0f} people", (needed, 48), xytext=(-4 if right else 4, 0),
                        textcoords="offset points", fontsize=8, color=PALETTE["red"], va="top",
                        ha="right" if right else "left")
    ax.axhline(100 * probability, color=PALETTE["red"], linewidth=0.9, linestyle=":",
               label=f"acceptable risk {probability:.0%}")
    for k, (name, table, _) in enumerate(layers):
        ax.scatter(table["people"], 100 * table["p_overspend"], s=14 if len(table) > 100 else 28,
                   marker=markers[k % 4], color=colours[k % 4], alpha=0.6 if len(table) > 100 else 0.9,
                   edgecolor="none" if len(table) > 100 else "white", linewidth=0.5, label=str(name), zorder=2 + k)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    _log_ticks(ax, lo, hi)
    ax.set_ylim(0, 52)
    ax.set_xlabel("Registered people (log scale)")
    ax.set_ylabel(f"P(actual > budget + {overspend:.0%}), %")
    ax.set_title(f"Budget risk against list size: chance of overspending by more than {overspend:.0%}")
    ax.legend(loc="center right")
    return fig


def furthest_consortium(explanation) -> str:
    """Find the consortium whose budget per head is furthest from the national average.

    Parameters
    ----------
    explanation : BudgetExplanation or pandas.DataFrame
        From :func:`~capitation.allocation.explain_budgets`, or its ``waterfall()`` frame.

    Returns
    -------
    str
        The consortium code (the first of any tie); :func:`budget_waterfall` draws it by default.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.allocation import BudgetExplanation
    >>> blocks = dict.fromkeys(["age_sex", "morbidity", "primary_care", "need", "supply_neutralised", "other"], 0.0)
    >>> e = BudgetExplanation(pd.DataFrame({"national_per_head": [100.0, 100.0], **blocks,
    ...                                     "budget_per_head": [105.0, 90.0]}, index=["QHM", "QOQ"]))
    >>> furthest_consortium(e)
    'QOQ'
    """
    frame = explanation if isinstance(explanation, pd.DataFrame) else explanation.waterfall()
    totals = frame[frame["step"] == "budget per head"].set_index("consortium_code")["value"]
    national = frame[frame["step"] == "national average"].set_index("consortium_code")["value"]
    return (totals - national).abs().idxmax()


@styled
def budget_waterfall(explanation, consortium=None, *, name: str | None = None):
    """Draw a waterfall of one consortium's budget per head: national average, each driver, budget per head.

    Parameters
    ----------
    explanation : BudgetExplanation or pandas.DataFrame
        From :func:`~capitation.allocation.explain_budgets`, or its ``waterfall()`` frame.
    consortium : str, optional
        Consortium code; by default the one whose budget per head is furthest from the average.
    name : str, optional
        Name to show in the title.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per step: the national average and the budget per head as totals, each block between them
        as a rise (green) or a fall (red).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.allocation import BudgetExplanation
    >>> blocks = dict.fromkeys(["morbidity", "primary_care", "need", "supply_neutralised", "other"], 0.0)
    >>> e = BudgetExplanation(pd.DataFrame({"national_per_head": [100.0], "age_sex": [5.0], **blocks,
    ...                                     "budget_per_head": [105.0]}, index=["QHM"]))
    >>> fig = budget_waterfall(e, "QHM", name="NHS North East and North Cumbria Integrated Care Board")
    >>> fig.axes[0].get_title(loc="left"), len(fig.axes[0].patches)
    ('Budget drivers of North East and North Cumbria (QHM)', 8)
    """
    frame = explanation if isinstance(explanation, pd.DataFrame) else explanation.waterfall()
    needed = {"consortium_code", "step", "kind", "value", "start", "end"}
    if not needed <= set(frame.columns):
        raise InputError(f"The waterfall frame needs columns {sorted(needed)}. Fix: pass "
                         "explain_budgets(...) or its .waterfall().")
    if consortium is None:
        consortium = furthest_consortium(frame)
    part = frame[frame["consortium_code"] == consortium].reset_index(drop=True)
    if part.empty:
        raise InputError(f"Consortium {consortium!r} is not in the explanation. Fix: pick one of "
                         f"{sorted(frame['consortium_code'].unique())[:8]}.")
    fig = figure(7.8, 4.2)
    ax = fig.subplots()
    x = np.arange(len(part))
    for xi, row in part.iterrows():
        if row["kind"] == "total":
            bottom, height, colour = 0.0, row["value"], NHS_BLUE
        else:
            bottom, height = min(row["start"], row["end"]), abs(row["value"])
            colour = PALETTE["green"] if row["value"] >= 0 else PALETTE["red"]
        ax.bar(xi, height, bottom=bottom, color=colour, width=0.62, zorder=2)
        top = max(row["start"], row["end"]) if row["kind"] == "delta" else row["value"]
        text = _pounds(row["value"]) if row["kind"] == "total" else (
            ("+" if row["value"] >= 0.005 else "−" if row["value"] <= -0.005 else "") + f"£{abs(row['value']):,.2f}")
        ax.annotate(text, (xi, top), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=8)
        if xi < len(part) - 1:
            ax.plot([xi + 0.31, xi + 0.69], [row["end"], row["end"]], color=PALETTE["mid_grey"], linewidth=0.7)
    values = np.concatenate([part["start"], part["end"]])
    deltas = part.loc[part["kind"] == "delta", ["start", "end"]].to_numpy()
    span = values.max() - (deltas.min() if deltas.size else 0)
    low = max(0.0, (deltas.min() if deltas.size else values.min()) - 0.6 * max(span, 1))
    ax.set_ylim(low, values.max() + 0.12 * (values.max() - low))
    ax.set_xticks(x, [_BLOCK_LABELS.get(s, s) for s in part["step"]], rotation=25, ha="right")
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("£ per registered person")
    ax.yaxis.set_major_formatter(_money_formatter())
    label = f"{short_name(name)} ({consortium})" if name else str(consortium)
    ax.set_title(f"Budget drivers of {label}")
    if low > 0:
        ax.text(0.99, 0.97, "axis does not start at zero", transform=ax.transAxes, ha="right", va="top",
                fontsize=7.5, color=PALETTE["mid_grey"])
    return fig
