"""Step 6: a control total shared out in proportion to practice need, to the penny."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from .._results import Result, text_table
from ..aggregation.aggregate import Aggregation, roll_up
from ..aggregation.membership import Membership
from ..errors import InputError, SchemaError, UnknownCodeError
from .adjustments import ORDER
from .external import source_of
from .money import exact_weights, format_pounds, pounds_to_pence_half_up, split_pence, split_thousands, to_pence

__all__ = ["UNFUNDED_REASON", "Allocation", "allocate"]

#: Why a practice of the membership has a line with no budget.
UNFUNDED_REASON = "no registered people in the need data"


@dataclass(frozen=True, eq=False, repr=False)
class Allocation(Result):
    """Budgets per practice and consortium, reconciling exactly with the control total.

    Attributes
    ----------
    practices : pandas.DataFrame
        Indexed by ``practice_code``: ``consortium_code``, ``registered`` (the list size funded; with need
        from an :class:`~capitation.aggregation.Aggregation` also ``observed``, the people in the data whose
        need per head it is), ``need``, ``need_index`` (need
        per head ÷ national need per head), ``weighted_population`` (registered × need index; sums to the
        national registered population), ``share``, ``budget_pence`` (int64), ``budget`` (£) and
        ``budget_per_head`` (£). With a baseline: ``baseline_pence``, ``baseline``,
        ``distance_from_target`` (£, baseline − target) and ``distance_from_target_pct`` (% of target).
        With list inflation: ``registered_list`` (the list before scaling).
    consortia : pandas.DataFrame or None
        The same for consortia; every budget is the exact sum of its practices' pence.
    control_total_pence : int
        The control total, in whole pence; ``budget_pence`` adds up to it exactly.
    parameters : dict
        Everything the allocation depended on, for the record (adjustments with their formulas).
    steps : pandas.DataFrame or None
        Practice weighted populations after each adjustment (``model`` first), when there were any.
    unfunded : pandas.DataFrame or None
        With a membership: its practices that the need does not cover (no registered people in the data),
        indexed by ``practice_code`` with ``consortium_code``, ``consortium_name`` and ``reason``. They get no
        budget, and :meth:`to_frame` lists them on lines of their own so that every practice appears.
    provenance : Provenance
        Library version.

    The tables are the allocation's own data, shared, not copied on access (all England has 6,300 practices
    and may be allocated many times): editing one in place changes the allocation, and :attr:`reconciles`
    says whether its pence still add up. Take :meth:`to_frame` to edit. Figures and the HTML report of an
    allocation are drawn by :mod:`capitation.report` (``consortium_budgets(alloc)``,
    ``write_report(path, allocation=alloc)``).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import allocate
    >>> need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
    >>> allocate(need, 100, registered=pd.Series(10, index=need.index))
    Allocation(£100.00 over 2 practices)
    """

    practices: pd.DataFrame
    consortia: pd.DataFrame | None
    control_total_pence: int
    parameters: dict = field(default_factory=dict)
    steps: pd.DataFrame | None = None
    unfunded: pd.DataFrame | None = None

    @property
    def control_total(self) -> str:
        """The control total as text, e.g. ``'£1,200,000,000.00'``."""
        return format_pounds(self.control_total_pence)

    @property
    def reconciles(self) -> bool:
        """Whether the practices' pence add up to the control total and each consortium's to its practices'.

        Always true of an allocation made by :func:`allocate`; the one check every table and report states.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation import allocate
        >>> need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
        >>> allocate(need, 100, registered=pd.Series(10, index=need.index)).reconciles
        True
        """
        p = self.practices
        if int(p["budget_pence"].sum()) != self.control_total_pence:
            return False
        if self.consortia is None:
            return True
        by_consortium = roll_up({"budget_pence": p["budget_pence"].to_numpy()},
                                p["consortium_code"].to_numpy(dtype=object))["budget_pence"]
        return bool((by_consortium.reindex(self.consortia.index).to_numpy() == self.consortia["budget_pence"]).all())

    def to_frame(self, level: str = "practice", units: str = "£") -> pd.DataFrame:
        """Return the budget table for ``level`` (``"practice"`` or ``"consortium"``), in ``"£"`` or ``"£000"``.

        At practice level, with a membership, the membership's practices without people in the data follow
        the funded ones with a budget of 0 and their ``reason`` (``funded`` tells the two apart).

        In ``"£000"``, ``budget_000`` holds whole £'000 that add up to the control total in £'000: the total,
        rounded half up, split by largest remainder in proportion to the pence (one rule for every table the
        package writes; see :func:`~capitation.allocation.money.split_thousands`). ``baseline_000`` follows the
        same rule for the baseline, and ``distance_from_target_000`` is ``baseline_000 − budget_000``.

        Parameters
        ----------
        level : {"practice", "consortium"}
            One line per practice, or per consortium (needs an allocation made with a membership).
        units : {"£", "£000"}
            ``"£000"`` adds the whole-£'000 columns ``budget_000`` (and, with a baseline, ``baseline_000`` and
            ``distance_from_target_000``) beside the pence and pounds.

        Returns
        -------
        pandas.DataFrame
            A copy: editing it leaves the allocation as it was.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation import allocate
        >>> need = pd.Series([1.0, 1.0, 1.0], index=["A81001", "A81002", "A81003"])
        >>> alloc = allocate(need, 4_500, registered=pd.Series(100, index=need.index))
        >>> alloc.to_frame(units="£000")["budget_000"].tolist()
        [2, 2, 1]
        """
        if level not in ("practice", "consortium") or (level == "consortium" and self.consortia is None):
            raise InputError(f"The 'level' parameter must be 'practice' or 'consortium' (with a membership). "
                             f"Got {level!r}. Fix: pass level='practice', or allocate with a membership.")
        if units not in ("£", "£000", "£'000"):
            raise InputError(f"The 'units' parameter must be '£' or '£000'. Got {units!r}. Fix: pass units='£000' "
                             "for tables in thousands of pounds.")
        if level == "practice":
            table = self.practices.copy()
            if self.unfunded is not None:
                table["funded"] = True
                table["reason"] = ""
                lines = self.unfunded.assign(funded=False, registered=0, observed=0, need=0.0, budget_pence=0,
                                             budget=0.0, share=0.0).drop(columns="consortium_name")
                table = pd.concat([table, lines[[c for c in lines.columns if c in table.columns]]])
                for column in ("budget_pence", "observed"):
                    if column in table:
                        table[column] = table[column].astype(np.int64)
        else:
            table = self.consortia.copy()
        if units in ("£000", "£'000"):
            table["budget_000"] = split_thousands(table["budget_pence"].to_numpy(), self.control_total_pence)
            if "baseline_pence" in table:
                baseline = table["baseline_pence"].fillna(0).astype(np.int64).to_numpy()
                table["baseline_000"] = split_thousands(baseline)
                table["distance_from_target_000"] = table["baseline_000"] - table["budget_000"]
        return table

    def _frame(self) -> pd.DataFrame:
        return self.practices

    def summary(self) -> str:
        """Plain-text summary, with the consortium table when there is one.

        Returns
        -------
        str
            The control total, practices and people on the first line; whether the pence reconcile; the
            practices without a budget, the adjustments and the consortium table.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation import allocate
        >>> need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
        >>> print(allocate(need, 100, registered=pd.Series(10, index=need.index)).summary())
        Allocation of £100.00 to 2 practices (20 registered people), £5.00 per head on average
          practices' pence sum to the control total: True
        """
        p = self.practices
        lines = [f"Allocation of {self.control_total} to {len(p):,} practices "
                 f"({p.registered.sum():,.0f} registered people), "
                 f"£{self.control_total_pence / 100 / p.registered.sum():,.2f} per head on average",
                 f"  practices' pence sum to the control total: {self.reconciles}"]
        if self.unfunded is not None and len(self.unfunded):
            for reason, group in self.unfunded.groupby("reason", sort=True):
                lines.append(f"  {len(group):,} practices of the membership get no budget: {reason} (listed in "
                             "to_frame() and on the result's 'unfunded')")
        source = self.parameters.get("need_source")
        if source:  # which file the need was read from: versions of one year's file differ
            digest = f" (sha256 {source['sha256'][:12]}…)" if source.get("sha256") else ""
            lines.append(f"  need from {source['name']}{digest}")
        for record in self.parameters.get("adjustments", []):
            lines.append(f"  adjustment {record['adjustment']}: {record['formula']}")
        if self.consortia is not None:
            lines.append(text_table(self.budget_table()))
        return "\n".join(lines)

    def budget_table(self, level: str = "consortium") -> pd.DataFrame:
        """Lay out the budgets as people read them: one row per consortium (or practice), then the total.

        The one table every command prints. Names are as published, whole; amounts have thousands
        separators, and the ``£`` is in the headings, not in the cells. ``registered`` is rounded to whole
        people (published list sizes are projected forward, so fractional); ``£ per head`` is the budget over
        the list funded.

        Parameters
        ----------
        level : {"consortium", "practice"}
            Consortia need an allocation made with a membership.

        Returns
        -------
        pandas.DataFrame
            Text cells: the code, ``name``, ``registered``, ``budget £`` (exact pence), ``£'000`` (whole
            £'000 adding up to the control total in £'000), ``£ per head``, ``need index`` and, with a
            baseline, ``DFT %``; the last row is the total.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation import Membership, allocate
        >>> need = pd.Series([1.0, 3.0], index=["A81001", "A81002"])
        >>> icbs = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
        ...                                            "consortium_code": ["QHM", "QOQ"]}), level="ICB")
        >>> alloc = allocate(need, 1000, registered=pd.Series([1, 2], index=need.index), membership=icbs)
        >>> alloc.budget_table()["budget £"].tolist()
        ['250.00', '750.00', '1,000.00']
        >>> from capitation._results import text_table
        >>> print(text_table(alloc.budget_table()))
        ICB    name        registered  budget £  £'000  £ per head  need index
        QHM    QHM                  1    250.00      0      250.00       0.750
        QOQ    QOQ                  2    750.00      1      375.00       1.125
        Total  all 2 ICBs           3  1,000.00      1      333.33       1.000
        """
        frame = self.to_frame(level, units="£000")
        if level == "practice":
            frame = frame[frame.get("funded", pd.Series(True, index=frame.index)).astype(bool)]
            names = frame["practice_name"] if "practice_name" in frame else pd.Series("", index=frame.index)
            label = "practice"
        else:
            names = frame["consortium_name"]
            label = self.parameters.get("level") or "consortium"
        registered = float(frame["registered"].sum())
        total_pence = int(frame["budget_pence"].sum())
        per_head = total_pence / 100 / registered
        table = pd.DataFrame({
            label: [*frame.index, "Total"],
            "name": [*names.astype(str), f"all {len(frame):,} {_plural(label)}" if len(frame) > 1 else f"1 {label}"],
            "registered": [f"{v:,.0f}" for v in [*frame["registered"], registered]],
            "budget £": [format_pounds(v, symbol=False) for v in [*frame["budget_pence"], total_pence]],
            "£'000": [f"{v:,}" for v in [*frame["budget_000"], int(frame["budget_000"].sum())]],
            "£ per head": [f"{v:,.2f}" for v in [*frame["budget_per_head"], per_head]],
            "need index": [*(f"{v:.3f}" for v in frame["need_index"]), "1.000"],
        })
        if "distance_from_target_pct" in frame:
            gap = 100 * (frame["baseline_pence"].sum() - total_pence) / total_pence
            table["DFT %"] = [f"{v:+.2f}" for v in [*frame["distance_from_target_pct"], gap]]
        return table

    def __repr__(self) -> str:
        """One line: the control total, practices and consortia."""
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
        Budgets per practice (and per consortium, with a membership) in whole pence that add up to
        ``control_total`` exactly.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import allocate
    >>> need = pd.Series([1.0, 1.0, 1.0], index=["A81001", "A81002", "A81003"])
    >>> alloc = allocate(need, 100, registered=pd.Series(1, index=need.index))
    >>> alloc.practices["budget_pence"].tolist()
    [3334, 3333, 3333]
    """
    if unassigned not in ("raise", "line"):
        raise InputError(f"The 'unassigned' parameter must be 'raise' or 'line'. Got {unassigned!r}. "
                         "Fix: unassigned='line' reports practices outside the membership on an UNASSIGNED line.")
    if membership is not None and not isinstance(membership, Membership):
        raise InputError(f"The 'membership' parameter must be a Membership. Got {type(membership).__name__}. "
                         "Fix: Membership.nhs_england(year) or Membership.from_frame(table).")
    pence = to_pence(control_total)
    if isinstance(need, Aggregation):
        if need.on_lists:  # need per head × list size: the exact shares of those amounts
            table, weights, unit = _from_series(need.practices["need"], need.practices["registered"])
        else:
            table = need.practices[["registered", "need"]].copy()
            # Person amounts were summed exactly on the 2⁻²⁰ £ grid: those integers are the exact practice need.
            weights, unit = [int(v) for v in need.need_fixed.tolist()], Fraction(1, 2**20)
        table.insert(1, "observed", need.practices["observed"].reindex(table.index).to_numpy())
    elif isinstance(need, pd.Series):
        table, weights, unit = _from_series(need, registered)
    elif isinstance(need, pd.DataFrame):
        missing = [c for c in ("need", "registered") if c not in need.columns]
        if missing:
            raise SchemaError(f"A DataFrame 'need' must have columns 'need' and 'registered', indexed by practice "
                              f"code. It lacks {missing}. Fix: use published_need(year) or build those columns.")
        if registered is not None:
            raise InputError("Pass 'registered' either as a column of the 'need' DataFrame or as the "
                             "'registered' parameter, not both. Fix: drop one of them.")
        table, weights, unit = _from_series(need["need"], need["registered"])
    else:
        raise SchemaError(f"The 'need' parameter of allocate must be an Aggregation, a Series or a DataFrame "
                          f"indexed by practice code. Got {type(need).__name__}. Fix: aggregate(population, "
                          "scores) first.")
    if len(table) == 0:
        raise InputError("The 'need' parameter holds no practices: there are no practices to allocate to. "
                         "Fix: pass need for at least one practice.")
    if (table["need"] < 0).any():
        bad = table["need"][(table["need"] < 0).to_numpy()].head(5).to_dict()
        raise InputError(f"The 'need' parameter gives practices negative need: {bad}. Practices {list(bad)} "
                         "have negative need, and a budget share cannot be negative. Fix: check the model "
                         "(predictions summed over a list should be positive).")
    if (table["registered"] <= 0).any():
        bad = table["registered"][(table["registered"] <= 0).to_numpy()].head(5).to_dict()
        raise InputError(f"The 'registered' people per practice must be positive. Got {bad}: practices "
                         f"{list(bad)} have no registered people, so need per head is undefined. Fix: "
                         "leave out closed practices, or give their list size.")
    if sum(weights) == 0:
        raise InputError(f"The 'need' parameter is 0 for all {len(table):,} practices, so there is no share to "
                         "give. Fix: check that need was computed for the practices being allocated.")
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
    denominator = sum(weights)
    table["share"] = [w / denominator for w in weights]  # int / int is correctly rounded, whatever the size
    table["budget_pence"] = budget
    table["budget"] = budget / 100
    table["budget_per_head"] = table["budget"] / table["registered"]
    consortia = unfunded = None
    if membership is not None:
        table.insert(0, "consortium_code", membership.consortium_of(table.index, unassigned=unassigned))
        if membership.practice_names is not None:
            table.insert(0, "practice_name", membership.practice_names.reindex(table.index).to_numpy(dtype=object))
        unfunded = _unfunded(table, membership, need.not_funded if isinstance(need, Aggregation) else None)
        consortia = _consortia(table, weights, unit, membership, steps is not None, unfunded)
    baseline_level = None
    if baseline is not None:
        baseline_level = _distance_from_target(table, consortia, baseline)
    parameters = {"control_total_pence": pence, "method": "largest remainder on exact need shares",
                  "list_source": need.list_source if isinstance(need, Aggregation) else "given with the need",
                  "level": membership.level if membership is not None else None, "unassigned": unassigned,
                  "adjustments": records, "baseline_level": baseline_level,
                  "membership_period": None if membership is None else membership._period().strip() or None,
                  "membership_valid_from": None if membership is None else membership.valid_from,
                  "membership_valid_to": None if membership is None else membership.valid_to,
                  "unfunded_practices": 0 if unfunded is None else len(unfunded),
                  "need_source": source_of(need) if isinstance(need, pd.Series | pd.DataFrame) else None}
    return Allocation(table, consortia, pence, parameters, steps, unfunded)


def _adjust(table: pd.DataFrame, adjustments: tuple, membership):
    """Apply adjustments in the canonical order; return the table, fixed-point weights, steps, records."""
    kinds = {}
    for adj in adjustments:
        if not isinstance(adj, ORDER):
            raise SchemaError(f"The 'adjustments' parameter of allocate takes ListInflation, HealthInequalities "
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
    weights, _ = exact_weights(wp, "weighted_population")
    return table, weights, pd.DataFrame(steps), records


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


def _from_series(need: pd.Series, registered) -> tuple[pd.DataFrame, list[int], Fraction]:
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
    counts = pd.to_numeric(people, errors="coerce")
    if counts.isna().any() or not np.isfinite(counts.to_numpy(dtype=np.float64)).all():
        bad = people[counts.isna().to_numpy() | ~np.isfinite(counts.to_numpy(dtype=np.float64))].head(5).to_dict()
        raise InputError(f"The 'registered' people per practice must be finite numbers. Got {bad}. "
                         "Fix: convert list sizes to numbers first (e.g. pd.to_numeric after removing "
                         "thousands separators).")
    people = counts.astype(np.float64) if counts.dtype.kind == "f" else counts
    order = np.argsort(need.index.to_numpy(dtype=object), kind="stable")
    table = pd.DataFrame({"registered": people.to_numpy()[order], "need": values[order]},
                         index=pd.Index(need.index.to_numpy(dtype=object)[order], name="practice_code"))
    if (values < 0).any():
        return table, [], Fraction(1)  # refused by allocate, which names the practices
    # The exact shares of the values given: no grid, so the unit of need (shares, £, £'000) changes nothing.
    weights, exponent = exact_weights(table["need"].to_numpy(), "need")
    return table, weights, Fraction(2) ** exponent


def _plural(level: str) -> str:
    return {"consortium": "consortia"}.get(level, level if level.endswith("s") else level + "s")


def _unfunded(table: pd.DataFrame, membership: Membership, not_funded: pd.DataFrame | None) -> pd.DataFrame:
    """Practices of the membership that the need does not cover: each on a line of its own, with the reason."""
    members = membership.table.set_index("practice_code")
    absent = members.index.difference(table.index, sort=False)
    kept = ["consortium_code", "consortium_name"] + (["practice_name"] if "practice_name" in members else [])
    frame = members.loc[absent, kept].sort_index()
    frame.index.name = "practice_code"
    known = pd.Series(dtype=object) if not_funded is None else not_funded["reason"]
    frame["reason"] = known.reindex(frame.index).fillna(UNFUNDED_REASON).to_numpy(dtype=object)
    return frame


def _consortia(table: pd.DataFrame, weights: list[int], unit: Fraction, membership: Membership,
               adjusted: bool, unfunded: pd.DataFrame):
    columns = {"registered": table["registered"].to_numpy()}
    if "observed" in table:
        columns["observed"] = table["observed"].to_numpy()
    columns["budget_pence"] = table["budget_pence"].to_numpy()
    if "registered_list" in table:
        columns["registered_list"] = table["registered_list"].to_numpy()
    if adjusted:
        columns["need"] = table["need"].to_numpy(dtype=np.float64)
    columns["weights"] = list(weights)  # Python integers: the exact need of each consortium
    out = roll_up(columns, table["consortium_code"].to_numpy(dtype=object))
    consortium_weights = out.pop("weights").tolist()
    out.insert(out.columns.get_loc("budget_pence") + 1, "practices_unfunded",
               unfunded.groupby("consortium_code").size().reindex(out.index, fill_value=0))
    denominator = sum(weights)
    # Without adjustments the weights are need itself, exactly; with them, weighted populations.
    if not adjusted:
        out["need"] = [float(w * unit) for w in consortium_weights]
    out["share"] = [w / denominator for w in consortium_weights]
    out["weighted_population"] = out["share"] * float(table["registered"].sum())
    out["need_index"] = out["weighted_population"] / out["registered"]
    out["budget"] = out["budget_pence"] / 100
    out["budget_per_head"] = out["budget"] / out["registered"]
    names = membership.names()
    out.insert(0, "consortium_name", [names.get(c, c) for c in out.index])
    return out
