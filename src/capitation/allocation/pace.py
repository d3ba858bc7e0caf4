"""Pace of change: moving bodies from their baselines towards target, exactly within the control total.

For each body *i* with baseline ``B_i`` and target ``T_i`` (targets rescaled to the control total ``Q``
in whole pence), let ``d_i = B_i / T_i − 1`` be the baseline's distance from the new target. Then:

1. **Minimum growth.** ``g_i = min_growth``; with ``cap_phase = (a, b)``, bodies above target have it
   phased down linearly, from ``min_growth`` at ``d_i ≤ a`` to ``above_target_growth`` at ``d_i ≥ b``.
   ``M_i = ⌈B_i (1 + g_i)⌉`` pence. If ``Σ M > Q`` the minimum is unaffordable: ``A = Q`` split pro rata to
   ``M`` and nothing else happens.
2. **Floor.** ``F_i = ⌈T_i (1 + floor)⌉``; gaps ``G_i = max(0, F_i − M_i)`` are funded from
   ``R = Q − Σ M``, pro rata to the gaps (every body closes the same fraction) if ``R < Σ G``.
3. **Convergence.** What is left, ``R' = R − Σ G``, goes to bodies still under target, pro rata to their
   remaining gap ``T_i − A_i``, each limited by the growth cap ``⌊B_i (1 + cap)⌋``: every body under target
   closes the same fraction of its (capped) gap. If the caps leave money unspent, the rest is shared pro
   rata to the remaining gaps regardless of the cap, and the amount is recorded as ``cap_relaxed``.

Every split is a largest-remainder split in integer pence, so ``Σ A = Q`` exactly. Because targets sum to
``Q``, convergence never lifts anyone above target; bodies above target get exactly their minimum.
Precedence: the floor beats the cap (a body far below target may grow faster than ``cap``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from .._results import Result
from .._validation import check_number
from ..errors import InputError, SchemaError
from .allocate import Allocation
from .money import format_pounds, pounds_to_pence_half_up, split_pence, to_pence

__all__ = ["PaceOfChange", "PaceProjection", "PaceResult", "pace_of_change", "project_pace"]


def _rate(value, name: str, low: float, high: float, optional: bool = False):
    return check_number(value, name, "PaceOfChange", low=low, high=high, optional=optional, what="a rate",
                        fix="give rates as fractions (0.017 is 1.7%).")


@dataclass(frozen=True)
class PaceOfChange:
    """Rules for moving from baselines to targets in one year.

    Parameters
    ----------
    min_growth : float
        Minimum cash growth for every body not phased down (e.g. 0.017 = 1.7%; may be negative).
    floor : float or None
        Nobody ends more than ``-floor`` below target, e.g. ``-0.05``; ``None`` for no floor.
    cap : float or None
        Maximum growth from convergence money, e.g. ``0.10``; ``None`` for no cap. The floor beats the cap.
    cap_phase : (float, float) or None
        Distances above target ``(a, b)`` over which the minimum growth of bodies above target is phased
        from ``min_growth`` (at ``a``) down to ``above_target_growth`` (at ``b`` and beyond).
    above_target_growth : float
        Minimum growth of bodies at least ``b`` above target (``0.0``: flat cash).

    Examples
    --------
    >>> PaceOfChange(min_growth=0.017, floor=-0.05, cap=0.10, cap_phase=(0.05, 0.10)).floor
    -0.05
    """

    min_growth: float = 0.017
    floor: float | None = -0.05
    cap: float | None = None
    cap_phase: tuple[float, float] | None = None
    above_target_growth: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_growth", _rate(self.min_growth, "min_growth", -1.0, 10.0))
        object.__setattr__(self, "floor", _rate(self.floor, "floor", -1.0, 0.0, optional=True))
        object.__setattr__(self, "cap", _rate(self.cap, "cap", -1.0, 10.0, optional=True))
        object.__setattr__(self, "above_target_growth",
                           _rate(self.above_target_growth, "above_target_growth", -1.0, 10.0))
        if self.cap is not None and self.cap < self.min_growth:
            raise InputError(f"The 'cap' ({self.cap}) of PaceOfChange is below 'min_growth' ({self.min_growth}). "
                             "Fix: the cap limits convergence money, so it must be at least the minimum growth.")
        if self.cap_phase is not None:
            phase = tuple(self.cap_phase)
            if len(phase) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in phase) \
                    or not 0.0 <= phase[0] < phase[1]:
                raise InputError(f"The 'cap_phase' parameter of PaceOfChange must be (a, b) with 0 <= a < b, "
                                 f"distances above target such as (0.05, 0.10). Got {self.cap_phase!r} instead.")
            object.__setattr__(self, "cap_phase", (float(phase[0]), float(phase[1])))
            if self.above_target_growth > self.min_growth:
                raise InputError(f"The 'above_target_growth' ({self.above_target_growth}) must not exceed "
                                 f"'min_growth' ({self.min_growth}): it is the reduced minimum of bodies far above "
                                 "target.")

    def minimum_growth(self, distance: Fraction) -> Fraction:
        """Give the minimum growth rate of a body whose baseline is ``distance`` from target, exactly.

        Without ``cap_phase`` every body has ``min_growth``; with ``cap_phase = (a, b)`` the rate falls linearly
        from ``min_growth`` at ``distance <= a`` to ``above_target_growth`` at ``distance >= b``.

        Parameters
        ----------
        distance : fractions.Fraction
            The body's baseline distance from target, ``baseline / target − 1`` (``1/20`` is 5% above target).

        Returns
        -------
        fractions.Fraction
            The minimum growth rate, exact (rates are read as the decimals they were written as).

        Examples
        --------
        >>> from fractions import Fraction
        >>> rule = PaceOfChange(min_growth=0.02, cap_phase=(0.05, 0.10))
        >>> rule.minimum_growth(Fraction(0)), rule.minimum_growth(Fraction(3, 40)), rule.minimum_growth(Fraction(1, 5))
        (Fraction(1, 50), Fraction(1, 100), Fraction(0, 1))
        """
        m = _exact(self.min_growth)
        if self.cap_phase is None:
            return m
        a, b = _exact(self.cap_phase[0]), _exact(self.cap_phase[1])
        low = _exact(self.above_target_growth)
        if distance <= a:
            return m
        if distance >= b:
            return low
        return m + (low - m) * (distance - a) / (b - a)


@dataclass(frozen=True, eq=False, repr=False)
class PaceResult(Result):
    """One year's allocations after pace of change.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by body: ``baseline_pence``, ``target_pence``, ``distance_before`` (fraction),
        ``min_growth``, ``minimum_pence``, ``floor_pence``, ``allocation_pence``, ``growth`` (fraction),
        ``distance_after`` (fraction) and ``stage`` (what set the amount: ``"minimum"``, ``"floor"``,
        ``"convergence"``, ``"cap"`` or ``"unaffordable"``).
    control_total_pence : int
        The year's control total, in whole pence; ``allocation_pence`` adds up to it exactly.
    rule : PaceOfChange
        The rules applied.
    status : dict
        ``minimum_affordable``, ``floor_funded`` (fraction of floor gaps funded), ``convergence`` (fraction of
        capped gaps closed) and ``cap_relaxed_pence``.
    provenance : Provenance
        Library version.

    The table is the result's own data: :meth:`to_frame` gives a copy to edit.

    Examples
    --------
    >>> import pandas as pd
    >>> base = pd.Series([100.0, 100.0], index=["X", "Y"])
    >>> pace_of_change(base, pd.Series([1.0, 3.0], index=["X", "Y"]), 210, PaceOfChange(min_growth=0.01, floor=None))
    PaceResult(Pace of change: £210.00 over 2 bodies (allocations sum exactly: True))
    """

    table: pd.DataFrame
    control_total_pence: int
    rule: PaceOfChange
    status: dict = field(default_factory=dict)

    def _frame(self) -> pd.DataFrame:
        return self.table

    def to_frame(self, units: str = "£") -> pd.DataFrame:
        """Return the table, as a copy, with money also in ``"£"`` or ``"£000"``.

        Parameters
        ----------
        units : {"£", "£000"}
            Adds ``baseline``, ``target`` and ``allocation`` (or ``…_000``) beside the pence.

        Returns
        -------
        pandas.DataFrame
            Editing it leaves the result as it was.

        Examples
        --------
        >>> import pandas as pd
        >>> base = pd.Series([100.0, 100.0], index=["X", "Y"])
        >>> r = pace_of_change(base, pd.Series([1.0, 3.0], index=["X", "Y"]), 210, PaceOfChange(floor=None))
        >>> r.to_frame()["allocation"].tolist()
        [101.7, 108.3]
        """
        table = self.table.copy()
        div = {"£": 100, "£000": 100_000, "£'000": 100_000}.get(units)
        if div is None:
            raise InputError(f"The 'units' parameter must be '£' or '£000'. Got {units!r}.")
        suffix = "" if div == 100 else "_000"
        for column in ("baseline", "target", "allocation"):
            table[column + suffix] = table[f"{column}_pence"] / div
        return table

    def summary(self) -> str:
        """Plain-text account of what each rule did.

        Returns
        -------
        str
            The total and whether the allocations sum to it on the first line; the rule, what each stage
            did, the distances from target before and after, and the bodies by stage.

        Examples
        --------
        >>> import pandas as pd
        >>> base = pd.Series([100.0, 100.0], index=["X", "Y"])
        >>> r = pace_of_change(base, pd.Series([1.0, 3.0], index=["X", "Y"]), 210, PaceOfChange(floor=None))
        >>> r.summary().splitlines()[-1]
        '  bodies by stage: minimum 1, convergence 1'
        """
        t = self.table
        s = self.status
        lines = [f"Pace of change: {format_pounds(self.control_total_pence)} over {len(t)} bodies "
                 f"(allocations sum exactly: {int(t.allocation_pence.sum()) == self.control_total_pence})",
                 f"  rule: {self.rule}",
                 f"  minimum growth affordable: {s['minimum_affordable']}; floor gaps funded: "
                 f"{s['floor_funded']:.1%}; capped gaps closed: {s['convergence']:.1%}; "
                 f"cap relaxed by {format_pounds(s['cap_relaxed_pence'])}",
                 f"  distance from target: {t.distance_before.min():+.2%} … {t.distance_before.max():+.2%} before, "
                 f"{t.distance_after.min():+.2%} … {t.distance_after.max():+.2%} after",
                 "  bodies by stage: " + ", ".join(f"{k} {v}" for k, v in t.stage.value_counts().items())]
        return "\n".join(lines)


def _pence_series(values, name: str) -> pd.Series:
    if isinstance(values, Allocation):
        frame = values.consortia if values.consortia is not None else values.practices
        return frame["budget_pence"].astype(np.int64)
    if not isinstance(values, pd.Series):
        raise InputError(f"The {name!r} parameter of pace_of_change must be a pandas Series of £ indexed by body "
                         f"code (or an Allocation for targets). Got {type(values).__name__}.")
    if values.index.has_duplicates:
        raise InputError(f"The {name!r} Series repeats codes {values.index[values.index.duplicated()][:5].tolist()}.")
    pence = pd.Series(pounds_to_pence_half_up(values.to_numpy(dtype=np.float64)), index=values.index)
    if (pence < 0).any():
        raise InputError(f"The {name!r} Series must be non-negative. Got {values[pence < 0].head(5).to_dict()}.")
    return pence


def pace_of_change(baseline, target, control_total, rule: PaceOfChange | None = None) -> PaceResult:
    """Set next year's allocations from baselines, targets and the control total, under ``rule``.

    Parameters
    ----------
    baseline : pandas.Series
        This year's allocation per body in £ (rounded half up to pence).
    target : pandas.Series or Allocation
        Target per body in £ or any non-negative weights (rescaled to ``control_total``); an
        :class:`Allocation` gives its consortium (or practice) budgets.
    control_total : int, float, str or Decimal
        Next year's total, in £.
    rule : PaceOfChange
        Minimum growth, floor, cap and phasing (default ``PaceOfChange()``).

    Returns
    -------
    PaceResult
        Each body's allocation in whole pence (adding up to ``control_total`` exactly), with what set it.

    Examples
    --------
    >>> import pandas as pd
    >>> base = pd.Series([100.0, 100.0], index=["X", "Y"])
    >>> result = pace_of_change(base, pd.Series([1.0, 3.0], index=["X", "Y"]), 210,
    ...                         PaceOfChange(min_growth=0.01, floor=None))
    >>> result.table["allocation_pence"].tolist()
    [10100, 10900]
    """
    rule = PaceOfChange() if rule is None else rule
    if not isinstance(rule, PaceOfChange):
        raise SchemaError(f"The 'rule' parameter of pace_of_change must be a PaceOfChange. Got {type(rule).__name__}.")
    q = to_pence(control_total)
    base = _pence_series(baseline, "baseline")
    weights = _pence_series(target, "target")
    if set(base.index) != set(weights.index):
        only_b = sorted(set(base.index) - set(weights.index))[:5]
        only_t = sorted(set(weights.index) - set(base.index))[:5]
        raise InputError(f"The 'baseline' and 'target' must cover the same bodies. Only in baseline: {only_b}; "
                         f"only in target: {only_t}. Fix: give new bodies a baseline of 0.")
    codes = sorted(base.index)
    b = [int(v) for v in base.reindex(codes)]
    w = weights.reindex(codes).to_numpy(dtype=np.int64)
    if w.sum() == 0:
        raise InputError("The 'target' weights are all zero. Fix: pass the targets (e.g. from allocate).")
    t = [int(v) for v in split_pence(q, w)]
    allocation, table, status = _pace(b, t, q, rule)
    frame = pd.DataFrame(table, index=pd.Index(codes, name="body"))
    frame["allocation_pence"] = np.asarray(allocation, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["growth"] = frame["allocation_pence"] / frame["baseline_pence"].where(frame["baseline_pence"] > 0) - 1
        frame["distance_after"] = frame["allocation_pence"] / frame["target_pence"].where(frame["target_pence"] > 0) - 1
    return PaceResult(frame, q, rule, status)


def _exact(rate: float) -> Fraction:
    """Read a rate as the decimal it was written as (0.01 is exactly 1/100, not the nearest binary float)."""
    return Fraction(repr(float(rate)))


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _split(total: int, weights: list[int]) -> list[int]:
    if total == 0 or sum(weights) == 0:
        return [0] * len(weights)
    return [int(v) for v in split_pence(total, np.asarray(weights, dtype=np.int64))]


def _pace(b: list[int], t: list[int], q: int, rule: PaceOfChange):
    n = len(b)
    dist = [Fraction(bi, ti) - 1 if ti > 0 else None for bi, ti in zip(b, t, strict=True)]
    growth = [rule.minimum_growth(d) if d is not None else _exact(rule.above_target_growth if rule.cap_phase
                                                                   else rule.min_growth) for d in dist]
    minimum = [max(0, _ceil(bi * (1 + g))) for bi, g in zip(b, growth, strict=True)]
    floor = [max(0, _ceil(ti * (1 + _exact(rule.floor)))) if rule.floor is not None else 0 for ti in t]
    table = {"baseline_pence": b, "target_pence": t,
             "distance_before": [float(d) if d is not None else np.inf for d in dist],
             "min_growth": [float(g) for g in growth], "minimum_pence": minimum, "floor_pence": floor}
    status = {"minimum_affordable": True, "floor_funded": 1.0, "convergence": 1.0, "cap_relaxed_pence": 0}
    if sum(minimum) > q:
        status.update(minimum_affordable=False, floor_funded=0.0, convergence=0.0)
        table["stage"] = ["unaffordable"] * n
        return _split(q, minimum), table, status
    rest = q - sum(minimum)
    gaps = [max(0, f - m) for f, m in zip(floor, minimum, strict=True)]
    stage = ["minimum"] * n
    if sum(gaps) and rest <= sum(gaps):
        extra = _split(rest, gaps)
        status.update(floor_funded=rest / sum(gaps), convergence=0.0)
        table["stage"] = ["floor" if g else "minimum" for g in gaps]
        return [m + e for m, e in zip(minimum, extra, strict=True)], table, status
    alloc = [m + g for m, g in zip(minimum, gaps, strict=True)]
    stage = ["floor" if g else s for g, s in zip(gaps, stage, strict=True)]
    rest -= sum(gaps)
    if rest == 0:
        table["stage"] = stage
        return alloc, table, status
    room = [max(0, ti - a) for ti, a in zip(t, alloc, strict=True)]
    if rule.cap is not None:
        ceiling = [_floor(bi * (1 + _exact(rule.cap))) for bi in b]
        capped = [min(r, max(0, c - a)) for r, c, a in zip(room, ceiling, alloc, strict=True)]
    else:
        capped = room
    if rest <= sum(capped):
        extra = _split(rest, capped)
        status["convergence"] = rest / sum(capped)
        alloc = [a + e for a, e in zip(alloc, extra, strict=True)]
        stage = ["convergence" if e else s for e, s in zip(extra, stage, strict=True)]
        if rule.cap is not None:
            stage = ["cap" if (c < r and e == c and e > 0) else s
                     for c, r, e, s in zip(capped, room, extra, stage, strict=True)]
        table["stage"] = stage
        return alloc, table, status
    # The caps cannot absorb the money: close every capped gap, then share the rest over remaining gaps.
    alloc = [a + c for a, c in zip(alloc, capped, strict=True)]
    rest -= sum(capped)
    left = [max(0, ti - a) for ti, a in zip(t, alloc, strict=True)]
    extra = _split(rest, left) if sum(left) else _split(rest, [max(ti, 1) for ti in t])
    status["cap_relaxed_pence"] = rest
    alloc = [a + e for a, e in zip(alloc, extra, strict=True)]
    stage = ["cap relaxed" if e else ("convergence" if c else s)
             for e, c, s in zip(extra, capped, stage, strict=True)]
    table["stage"] = stage
    return alloc, table, status


@dataclass(frozen=True, eq=False, repr=False)
class PaceProjection(Result):
    """Pace of change over several years: each year's allocation is the next year's baseline.

    Attributes
    ----------
    years : tuple of PaceResult
        One result per projected year, in order.
    labels : tuple of str
        The years' labels, one per result.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> p = project_pace(pd.Series([90.0, 110.0], index=["X", "Y"]), pd.Series([1.0, 1.0], index=["X", "Y"]),
    ...                  [204, 208], PaceOfChange(min_growth=0.0, floor=None, cap=0.05))
    >>> p.labels, len(p.years)
    (('year 1', 'year 2'), 2)
    """

    years: tuple[PaceResult, ...]
    labels: tuple[str, ...]

    def to_frame(self, column: str = "allocation_pence") -> pd.DataFrame:
        """One column per year of ``column`` (e.g. ``"distance_after"``), bodies as rows.

        Parameters
        ----------
        column : str
            A column of :attr:`PaceResult.table`.

        Returns
        -------
        pandas.DataFrame
            A new table (editing it leaves the years as they were).

        Examples
        --------
        >>> import pandas as pd
        >>> p = project_pace(pd.Series([90.0, 110.0], index=["X", "Y"]), pd.Series([1.0, 1.0], index=["X", "Y"]),
        ...                  [204, 208], PaceOfChange(min_growth=0.0, floor=None, cap=0.05))
        >>> p.to_frame().loc["X"].tolist()
        [9400, 9800]
        """
        return pd.DataFrame({label: r.table[column] for label, r in zip(self.labels, self.years, strict=True)})

    def _frame(self) -> pd.DataFrame:
        return self.to_frame()

    def summary(self) -> str:
        """Describe the range of distances from target, year by year.

        Returns
        -------
        str
            A title line, then one line per year.

        Examples
        --------
        >>> import pandas as pd
        >>> p = project_pace(pd.Series([90.0, 110.0], index=["X", "Y"]), pd.Series([1.0, 1.0], index=["X", "Y"]),
        ...                  [204], PaceOfChange(min_growth=0.0, floor=None, cap=0.05))
        >>> print(p.summary())
        Pace-of-change projection
          year 1: £204.00; distance from target -7.84% … +7.84%; floor funded 100%
        """
        lines = ["Pace-of-change projection"]
        for label, r in zip(self.labels, self.years, strict=True):
            d = r.table["distance_after"]
            lines.append(f"  {label}: {format_pounds(r.control_total_pence)}; distance from target "
                         f"{d.min():+.2%} … {d.max():+.2%}; floor funded {r.status['floor_funded']:.0%}")
        return "\n".join(lines)


def project_pace(baseline, targets, control_totals, rule: PaceOfChange | None = None,
                 labels=None) -> PaceProjection:
    """Apply :func:`pace_of_change` year after year.

    Parameters
    ----------
    baseline : pandas.Series
        Allocations in £ in the year before the first projected year.
    targets : pandas.Series or sequence of pandas.Series
        Target weights per body: the same every year, or one per year.
    control_totals : sequence of amounts in £
        One control total per projected year.
    rule : PaceOfChange or sequence of PaceOfChange
        The rule, or one per year.
    labels : sequence of str, optional
        Year labels (``"year 1"``, … by default).

    Returns
    -------
    PaceProjection
        One :class:`PaceResult` per control total; each year's allocations are the next year's baseline.

    Examples
    --------
    >>> import pandas as pd
    >>> base = pd.Series([90.0, 110.0], index=["X", "Y"])
    >>> p = project_pace(base, pd.Series([1.0, 1.0], index=["X", "Y"]), [204, 208, 212],
    ...                  PaceOfChange(min_growth=0.0, floor=None, cap=0.05))
    >>> p.to_frame().loc["X"].tolist()
    [9400, 9800, 10200]
    """
    totals = list(control_totals)
    if not totals:
        raise InputError("The 'control_totals' parameter of project_pace is empty. Fix: one total per year.")
    per_year_targets = [targets] * len(totals) if isinstance(targets, (pd.Series, Allocation)) else list(targets)
    rules = list(rule) if isinstance(rule, (list, tuple)) else [rule] * len(totals)
    if len(per_year_targets) != len(totals) or len(rules) != len(totals):
        raise InputError(f"project_pace needs one target and one rule per control total: got {len(totals)} totals, "
                         f"{len(per_year_targets)} targets and {len(rules)} rules.")
    labels = tuple(labels) if labels is not None else tuple(f"year {k + 1}" for k in range(len(totals)))
    results = []
    current = baseline
    for target, total, r in zip(per_year_targets, totals, rules, strict=True):
        result = pace_of_change(current, target, total, r)
        results.append(result)
        current = result.table["allocation_pence"] / 100
    return PaceProjection(tuple(results), labels)
