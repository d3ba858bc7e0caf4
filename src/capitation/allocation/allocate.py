"""Step 6: a control total shared out in proportion to practice need, to the penny."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from ..aggregation.aggregate import FIXED_POINT_SCALE, Aggregation
from ..aggregation.membership import Membership
from ..errors import InputError, UnknownCodeError
from .adjustments import ORDER
from .money import format_pounds, split_pence, to_pence

__all__ = ["Allocation", "allocate", "pounds_to_pence_half_up"]


@dataclass(frozen=True, eq=False)
class Allocation:
    """Budgets per practice and consortium, reconciling exactly with the control total.

    Attributes
    ----------
    practices : pandas.DataFrame
        Indexed by ``practice_code``: ``consortium_code``, ``registered``, ``need``, ``need_index`` (need
        per head ÷ national need per head), ``weighted_population`` (registered × need index; sums to the
        national registered population), ``share``, ``budget_pence`` (int64), ``budget`` (£) and
        ``budget_per_head`` (£). With a baseline: ``baseline_pence``, ``baseline``,
        ``distance_from_target`` (£, baseline − target) and ``distance_from_target_pct`` (% of target).
        With list inflation: ``registered_list`` (the list before scaling).
    consortia : pandas.DataFrame or None
        The same for consortia; every budget is the exact sum of its practices' pence.
    control_total_pence : int
    parameters : dict
        Everything the allocation depended on, for the record (adjustments with their formulas).
    steps : pandas.DataFrame or None
        Practice weighted populations after each adjustment (``model`` first), when there were any.
    """

    practices: pd.DataFrame
    consortia: pd.DataFrame | None
    control_total_pence: int
    parameters: dict = field(default_factory=dict)
    steps: pd.DataFrame | None = None

    @property
    def control_total(self) -> str:
        """The control total as text, e.g. ``'£1,200,000,000.00'``."""
        return format_pounds(self.control_total_pence)

    def to_frame(self, level: str = "practice", units: str = "£") -> pd.DataFrame:
        """The budget table for ``level`` (``"practice"`` or ``"consortium"``), in ``"£"`` or ``"£000"``.

        In ``"£000"`` the money columns ``budget_000`` (and ``baseline_000``, ``distance_from_target_000``)
        are added in thousands of pounds, unrounded; :func:`~capitation.allocation.thousands` gives the
        rounded figures NHS England publishes.
        """
        if level == "practice":
            table = self.practices.copy()
        elif level == "consortium" and self.consortia is not None:
            table = self.consortia.copy()
        else:
            raise ValueError(f"The 'level' parameter must be 'practice' or 'consortium' (with a membership). "
                             f"Got {level!r}.")
        if units in ("£000", "£'000"):
            table["budget_000"] = table["budget_pence"] / 100_000
            if "baseline_pence" in table:
                table["baseline_000"] = table["baseline_pence"] / 100_000
                table["distance_from_target_000"] = (table["baseline_pence"] - table["budget_pence"]) / 100_000
        elif units != "£":
            raise ValueError(f"The 'units' parameter must be '£' or '£000'. Got {units!r}.")
        return table

    def write_report(self, path, **kwargs):
        """Write the self-contained HTML report of this allocation (see :func:`capitation.report.write_report`)."""
        from ..report import write_report

        return write_report(path, allocation=self, **kwargs)

    def plot(self, **kwargs):
        """Consortium budgets (with distance from target when there is a baseline), a matplotlib Figure."""
        from ..report import consortium_budgets

        return consortium_budgets(self, **kwargs)

    def summary(self) -> str:
        """Plain-text summary, with the consortium table when there is one."""
        p = self.practices
        lines = [f"Allocation of {self.control_total} to {len(p):,} practices "
                 f"({p.registered.sum():,.0f} registered people), "
                 f"£{self.control_total_pence / 100 / p.registered.sum():,.2f} per head on average",
                 "  practices' pence sum to the control total: "
                 f"{int(p.budget_pence.sum()) == self.control_total_pence}"]
        for record in self.parameters.get("adjustments", []):
            lines.append(f"  adjustment {record['adjustment']}: {record['formula']}")
        if self.consortia is not None:
            c = self.consortia
            table = pd.DataFrame({
                "name": c["consortium_name"].astype(str).str.slice(0, 44),
                "registered": c["registered"].map("{:,.0f}".format),
                "budget £": c["budget_pence"].map(format_pounds),
                "£ per head": c["budget_per_head"].map("{:,.2f}".format),
                "need index": c["need_index"].map("{:.3f}".format),
            })
            if "distance_from_target_pct" in c:
                table["DFT %"] = c["distance_from_target_pct"].map("{:+.2f}".format)
            lines.append(table.to_string())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Allocation({self.control_total} over {len(self.practices):,} practices"
                + (f", {len(self.consortia)} consortia)" if self.consortia is not None else ")"))


def allocate(need, control_total, *, membership: Membership | None = None, registered=None,
             unassigned: str = "raise", adjustments=(), baseline=None) -> Allocation:
    """Share ``control_total`` between practices in proportion to their need, exact to the penny.

    ``target_p = control_total × share_p`` with ``share_p = WP_p / Σ WP``, split in whole pence by
    largest remainder; a consortium's budget is the sum of its practices' pence.

    Parameters
    ----------
    need : Aggregation, pandas.Series or pandas.DataFrame
        Practice need: an :class:`~capitation.aggregation.Aggregation` (predicted £); a Series indexed by
        practice code of any non-negative weight (e.g. NHS England's published weighted populations); or
        a DataFrame indexed by practice code with columns ``need`` and ``registered`` (as returned by
        :func:`~capitation.allocation.published_need`).
    control_total : int, float, str or Decimal
        Pounds to allocate; must be a whole number of pence.
    membership : Membership, optional
        Practice → consortium, for consortium budgets (each the sum of its practices').
    registered : pandas.Series, optional
        Registered people per practice (needed with a Series ``need``, for per-head figures).
    unassigned : {"raise", "line"}
        Practices without a consortium raise, or go on an explicit ``UNASSIGNED`` line.
    adjustments : sequence of ListInflation, HealthInequalities, UnavoidableCost
        Optional adjustments, applied in that order (see :mod:`capitation.allocation.adjustments`).
    baseline : pandas.Series, optional
        Current allocations in £, indexed by practice code or by consortium code, for the distance from
        target ``(baseline − target) / target``.

    Returns
    -------
    Allocation

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import allocate
    >>> need = pd.Series([1.0, 1.0, 1.0], index=["A81001", "A81002", "A81003"])
    >>> alloc = allocate(need, 100, registered=pd.Series(1, index=need.index))
    >>> alloc.practices["budget_pence"].tolist()
    [3334, 3333, 3333]
    """
    pence = to_pence(control_total)
    if isinstance(need, Aggregation):
        table = need.practices[["registered", "need"]].copy()
        weights = need.need_fixed
    elif isinstance(need, pd.Series):
        table, weights = _from_series(need, registered)
    elif isinstance(need, pd.DataFrame):
        missing = [c for c in ("need", "registered") if c not in need.columns]
        if missing:
            raise InputError(f"A DataFrame 'need' must have columns 'need' and 'registered', indexed by practice "
                             f"code. It lacks {missing}. Fix: use published_need(year) or build those columns.")
        if registered is not None:
            raise InputError("Pass 'registered' either as a column of the 'need' DataFrame or as the "
                             "'registered' parameter, not both.")
        table, weights = _from_series(need["need"], need["registered"])
    else:
        raise TypeError(f"The 'need' parameter of allocate must be an Aggregation, a Series or a DataFrame "
                        f"indexed by practice code. Got {type(need).__name__}. Fix: aggregate(population, "
                        "scores) first.")
    if (weights < 0).any():
        bad = table["need"][weights < 0].head(5).to_dict()
        raise InputError(f"The 'need' parameter gives practices negative need: {bad}. Practices {list(bad)} "
                         "have negative need, and a budget share cannot be negative. Fix: check the model "
                         "(predictions summed over a list should be positive).")
    if len(table) == 0:
        raise InputError("The 'need' parameter holds no practices: there are no practices to allocate to. "
                         "Fix: pass need for at least one practice.")
    if (table["registered"] <= 0).any():
        bad = table["registered"][(table["registered"] <= 0).to_numpy()].head(5).to_dict()
        raise InputError(f"The 'registered' people per practice must be positive. Got {bad}: practices "
                         f"{list(bad)} have no registered people, so need per head is undefined. Fix: "
                         "leave out closed practices, or give their list size.")
    if int(np.sum(weights, dtype=object)) == 0:
        raise InputError(f"The 'need' parameter is 0 for all {len(table):,} practices, so there is no share to "
                         "give. Fix: check that need was computed for the practices being allocated.")
    if unassigned not in ("raise", "line"):
        raise ValueError(f"The 'unassigned' parameter must be 'raise' or 'line'. Got {unassigned!r} instead.")
    steps = None
    records: list[dict] = []
    if adjustments:
        table, weights, steps, records = _adjust(table, tuple(adjustments), membership)
    budget = split_pence(pence, weights)
    if steps is None:
        national_per_head = table["need"].sum() / table["registered"].sum()
        table["need_index"] = table["need"] / table["registered"] / national_per_head
        table["weighted_population"] = table["registered"] * table["need_index"]
    else:
        table["need_index"] = table["weighted_population"] / table["registered"]
    table["share"] = weights / weights.sum()
    table["budget_pence"] = budget
    table["budget"] = budget / 100
    table["budget_per_head"] = table["budget"] / table["registered"]
    consortia = None
    if membership is not None:
        table.insert(0, "consortium_code", membership.consortium_of(table.index, unassigned=unassigned))
        consortia = _consortia(table, weights, membership, steps is not None)
    baseline_level = None
    if baseline is not None:
        baseline_level = _distance_from_target(table, consortia, baseline)
    parameters = {"control_total_pence": pence, "method": "largest remainder on exact need shares",
                  "level": membership.level if membership is not None else None, "unassigned": unassigned,
                  "adjustments": records, "baseline_level": baseline_level,
                  "membership_period": None if membership is None else membership._period().strip() or None}
    return Allocation(table, consortia, pence, parameters, steps)


def _adjust(table: pd.DataFrame, adjustments: tuple, membership):
    """Apply adjustments in the canonical order; return the table, fixed-point weights, steps, records."""
    kinds = {}
    for adj in adjustments:
        if not isinstance(adj, ORDER):
            raise TypeError(f"The 'adjustments' parameter of allocate takes ListInflation, HealthInequalities "
                            f"or UnavoidableCost specs. Got {type(adj).__name__}.")
        if type(adj) in kinds:
            raise InputError(f"The 'adjustments' parameter lists {type(adj).__name__} twice. Fix: combine them "
                             "into one spec.")
        kinds[type(adj)] = adj
    table = table.copy()
    table["need"] = table["need"].astype(np.float64)
    records = []
    first = kinds.pop(ORDER[0], None)
    if first is not None:
        table, record = first.apply(table, membership)
        records.append(record)
    people = float(table["registered"].sum())
    table["weighted_population"] = table["need"] * (people / table["need"].sum())
    steps = {"model": table["weighted_population"].copy()}
    for kind in ORDER[1:]:
        adj = kinds.pop(kind, None)
        if adj is None:
            continue
        table, record = adj.apply(table, membership)
        records.append(record)
        steps[record["adjustment"]] = table["weighted_population"].copy()
    wp = table["weighted_population"].to_numpy()
    if not np.isfinite(wp).all() or (wp < 0).any():
        raise InputError("The adjusted weighted populations are not finite and non-negative. Fix: check the "
                         "adjustment inputs (indices, inequality weights).")
    weights = np.rint(wp * FIXED_POINT_SCALE).astype(np.int64)
    return table, weights, pd.DataFrame(steps), records


def pounds_to_pence_half_up(values) -> np.ndarray:
    """Amounts in £ to whole pence, rounding half a penny up (away from zero), exactly in decimal.

    Examples
    --------
    >>> pounds_to_pence_half_up([1.005, 2.0, -0.125]).tolist()
    [101, 200, -13]
    """
    out = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        if not np.isfinite(v):
            raise InputError(f"Amounts in pounds must be finite. Got {v!r}. Fix: fill the missing amounts.")
        out.append(int((Decimal(repr(v)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    return np.asarray(out, dtype=np.int64)


def _distance_from_target(table: pd.DataFrame, consortia: pd.DataFrame | None, baseline) -> str:
    if not isinstance(baseline, pd.Series):
        raise InputError(f"The 'baseline' parameter of allocate must be a pandas Series of £ indexed by practice "
                         f"or consortium code. Got {type(baseline).__name__}.")
    if baseline.index.has_duplicates:
        repeated = baseline.index[baseline.index.duplicated()][:5].tolist()
        raise InputError(f"The 'baseline' Series repeats codes {repeated}. Fix: one baseline per code.")
    codes = set(baseline.index)
    if codes <= set(table.index):
        targets = [(table, "practice")]
        if consortia is not None:
            targets.append((consortia, "consortium"))
        level = "practice"
        if len(codes) != len(table):
            missing = table.index.difference(baseline.index)[:5].tolist()
            raise UnknownCodeError(f"The 'baseline' Series has no value for practices {missing}. Fix: give a "
                                   "baseline for every practice allocated (0 for new ones).")
        practice_pence = pd.Series(pounds_to_pence_half_up(baseline.reindex(table.index)), index=table.index)
        table["baseline_pence"] = practice_pence.to_numpy()
        if consortia is not None:
            consortia["baseline_pence"] = practice_pence.groupby(table["consortium_code"]).sum().reindex(
                consortia.index).to_numpy()
    elif consortia is not None and codes <= set(consortia.index):
        level = "consortium"
        if len(codes) != len(consortia):
            missing = consortia.index.difference(baseline.index)[:5].tolist()
            raise UnknownCodeError(f"The 'baseline' Series has no value for consortia {missing}. Fix: give a "
                                   "baseline for every consortium.")
        consortia["baseline_pence"] = pounds_to_pence_half_up(baseline.reindex(consortia.index))
        targets = [(consortia, "consortium")]
    else:
        unknown = sorted(codes - set(table.index) - (set() if consortia is None else set(consortia.index)))[:5]
        raise UnknownCodeError(f"The 'baseline' Series is indexed by codes that are neither all practices nor all "
                               f"consortia of the allocation, e.g. {unknown}. Fix: index it by practice code, or "
                               "by consortium code with a membership.")
    for frame, _ in targets:
        frame["baseline"] = frame["baseline_pence"] / 100
        gap = frame["baseline_pence"] - frame["budget_pence"]
        frame["distance_from_target"] = gap / 100
        frame["distance_from_target_pct"] = 100 * gap / frame["budget_pence"].where(frame["budget_pence"] > 0)
    return level


def _from_series(need: pd.Series, registered) -> tuple[pd.DataFrame, np.ndarray]:
    if need.index.has_duplicates:
        repeated = need.index[need.index.duplicated()][:5].tolist()
        raise InputError(f"The 'need' Series repeats practice codes {repeated}. "
                         "Fix: one value per practice.")
    values = pd.to_numeric(need, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"The 'need' Series must be finite numbers. Got {need[bad].head(5).to_dict()}. "
                         "Fix: fill or remove those practices.")
    if registered is None:
        raise InputError("With need given as a Series, allocate needs 'registered' (people per practice) for "
                         "per-head figures. Fix: pass registered=Series indexed by practice code.")
    people = pd.Series(registered).reindex(need.index)
    if people.isna().any():
        absent = people.index[people.isna()][:5].tolist()
        raise InputError(f"The 'registered' Series has no value for practices {absent}. "
                         "Fix: give every practice's registered population.")
    scaled = np.abs(values) * FIXED_POINT_SCALE
    if scaled.max(initial=0.0) >= 2.0**62 or scaled.sum() >= 2.0**62:
        big = need.index[int(np.argmax(np.abs(values)))]
        raise InputError(f"The 'need' Series is too large to share exactly: practice {big} has "
                         f"{float(values[int(np.argmax(np.abs(values)))])!r}, and need is held in 1/2^20 of a "
                         f"unit as 64-bit integers (at most {2.0**62 / FIXED_POINT_SCALE:,.0f} in all). "
                         "Fix: express need in smaller units (e.g. £000 or weighted people).")
    order = np.argsort(need.index.to_numpy(dtype=object), kind="stable")
    table = pd.DataFrame({"registered": people.to_numpy()[order], "need": values[order]},
                         index=pd.Index(need.index.to_numpy(dtype=object)[order], name="practice_code"))
    weights = np.rint(table["need"].to_numpy() * FIXED_POINT_SCALE).astype(np.int64)
    return table, weights


def _consortia(table: pd.DataFrame, weights: np.ndarray, membership: Membership, adjusted: bool):
    grouped = table.groupby("consortium_code", sort=True)
    out = pd.DataFrame({
        "practices": grouped.size(),
        "registered": grouped["registered"].sum(),
        "budget_pence": grouped["budget_pence"].sum(),  # integer sums: exact
    })
    if "registered_list" in table:
        out["registered_list"] = grouped["registered_list"].sum()
    need_fixed = pd.Series(weights, index=table.index).groupby(table["consortium_code"], sort=True).sum()
    # Without adjustments the weights are need itself (exact fixed point); with them, weighted populations.
    out["need"] = grouped["need"].sum() if adjusted else need_fixed / FIXED_POINT_SCALE
    out["share"] = need_fixed / weights.sum()
    # Σ WP over the consortium = national people × the consortium's exact share of need.
    out["weighted_population"] = out["share"] * float(table["registered"].sum())
    out["need_index"] = out["weighted_population"] / out["registered"]
    out["budget"] = out["budget_pence"] / 100
    out["budget_per_head"] = out["budget"] / out["registered"]
    names = membership.names()
    out.insert(0, "consortium_name", [names.get(c, c) for c in out.index])
    return out
