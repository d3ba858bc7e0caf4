"""Step 6: a control total shared out in proportion to practice need, to the penny."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..aggregation.aggregate import FIXED_POINT_SCALE, Aggregation
from ..aggregation.membership import Membership
from ..errors import InputError
from .money import format_pounds, split_pence, to_pence

__all__ = ["allocate", "Allocation"]


@dataclass(frozen=True, eq=False)
class Allocation:
    """Budgets per practice and consortium, reconciling exactly with the control total.

    Attributes
    ----------
    practices : pandas.DataFrame
        Indexed by ``practice_code``: ``consortium_code``, ``registered``, ``need``, ``need_index`` (need
        per head ÷ national need per head), ``weighted_population`` (registered × need index; sums to the
        national registered population), ``share``, ``budget_pence`` (int64), ``budget`` (£) and
        ``budget_per_head`` (£).
    consortia : pandas.DataFrame or None
        The same for consortia; every budget is the exact sum of its practices' pence.
    control_total_pence : int
    parameters : dict
        Everything the allocation depended on, for the record.
    """

    practices: pd.DataFrame
    consortia: pd.DataFrame | None
    control_total_pence: int
    parameters: dict = field(default_factory=dict)

    @property
    def control_total(self) -> str:
        """The control total as text, e.g. ``'£1,200,000,000.00'``."""
        return format_pounds(self.control_total_pence)

    def to_frame(self, level: str = "practice", units: str = "£") -> pd.DataFrame:
        """The budget table for ``level`` (``"practice"`` or ``"consortium"``), in ``"£"`` or ``"£000"``."""
        if level == "practice":
            table = self.practices.copy()
        elif level == "consortium" and self.consortia is not None:
            table = self.consortia.copy()
        else:
            raise ValueError(f"The 'level' parameter must be 'practice' or 'consortium' (with a membership). "
                             f"Got {level!r}.")
        if units in ("£000", "£'000"):
            table["budget_000"] = table["budget_pence"] / 100_000
        elif units != "£":
            raise ValueError(f"The 'units' parameter must be '£' or '£000'. Got {units!r}.")
        return table

    def summary(self) -> str:
        """Plain-text summary, with the consortium table when there is one."""
        p = self.practices
        lines = [f"Allocation of {self.control_total} to {len(p):,} practices "
                 f"({int(p.registered.sum()):,} registered people), "
                 f"£{self.control_total_pence / 100 / p.registered.sum():,.2f} per head on average",
                 f"  practices' pence sum to the control total: {int(p.budget_pence.sum()) == self.control_total_pence}"]
        if self.consortia is not None:
            c = self.consortia
            table = pd.DataFrame({
                "name": c["consortium_name"].str.slice(0, 44),
                "registered": c["registered"].map("{:,}".format),
                "budget £": c["budget_pence"].map(format_pounds),
                "£ per head": c["budget_per_head"].map("{:,.2f}".format),
                "need index": c["need_index"].map("{:.3f}".format),
            })
            lines.append(table.to_string())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Allocation({self.control_total} over {len(self.practices):,} practices"
                + (f", {len(self.consortia)} consortia)" if self.consortia is not None else ")"))


def allocate(need, control_total, *, membership: Membership | None = None, registered=None,
             unassigned: str = "raise") -> Allocation:
    """Share ``control_total`` between practices in proportion to their need, exact to the penny.

    Parameters
    ----------
    need : Aggregation or pandas.Series
        Practice need: an :class:`~capitation.aggregation.Aggregation` (predicted £), or a Series indexed by
        practice code of any non-negative weight (e.g. NHS England's published weighted populations).
    control_total : int, float, str or Decimal
        Pounds to allocate; must be a whole number of pence.
    membership : Membership, optional
        Practice → consortium, for consortium budgets (each the sum of its practices').
    registered : pandas.Series, optional
        Registered people per practice (needed with a Series ``need``, for per-head figures).
    unassigned : {"raise", "line"}
        Practices without a consortium raise, or go on an explicit ``UNASSIGNED`` line.

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
    else:
        raise TypeError(f"The 'need' parameter of allocate must be an Aggregation or a pandas Series indexed by "
                        f"practice code. Got {type(need).__name__}. Fix: aggregate(population, scores) first.")
    if (weights < 0).any():
        bad = table.index[weights < 0][:5].tolist()
        raise InputError(f"Practices {bad} have negative need. A budget share cannot be negative. Fix: check "
                         "the model (predictions summed over a list should be positive).")
    if len(table) == 0:
        raise InputError("There are no practices to allocate to. Fix: pass need for at least one practice.")
    budget = split_pence(pence, weights)
    national_per_head = table["need"].sum() / table["registered"].sum()
    table["need_index"] = table["need"] / table["registered"] / national_per_head
    table["weighted_population"] = table["registered"] * table["need_index"]
    table["share"] = weights / weights.sum()
    table["budget_pence"] = budget
    table["budget"] = budget / 100
    table["budget_per_head"] = table["budget"] / table["registered"]
    consortia = None
    if membership is not None:
        table.insert(0, "consortium_code", membership.consortium_of(table.index, unassigned=unassigned))
        consortia = _consortia(table, weights, membership, national_per_head)
    parameters = {"control_total_pence": pence, "method": "largest remainder on exact need shares",
                  "level": membership.level if membership is not None else None, "unassigned": unassigned}
    return Allocation(table, consortia, pence, parameters)


def _from_series(need: pd.Series, registered) -> tuple[pd.DataFrame, np.ndarray]:
    if need.index.has_duplicates:
        raise InputError(f"The 'need' Series repeats practice codes {need.index[need.index.duplicated()][:5].tolist()}. "
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
        raise InputError(f"The 'registered' Series has no value for practices {people.index[people.isna()][:5].tolist()}. "
                         "Fix: give every practice's registered population.")
    order = np.argsort(need.index.to_numpy(dtype=object), kind="stable")
    table = pd.DataFrame({"registered": people.to_numpy()[order], "need": values[order]},
                         index=pd.Index(need.index.to_numpy(dtype=object)[order], name="practice_code"))
    weights = np.rint(table["need"].to_numpy() * FIXED_POINT_SCALE).astype(np.int64)
    return table, weights


def _consortia(table: pd.DataFrame, weights: np.ndarray, membership: Membership, national_per_head: float):
    grouped = table.groupby("consortium_code", sort=True)
    out = pd.DataFrame({
        "practices": grouped.size(),
        "registered": grouped["registered"].sum(),
        "budget_pence": grouped["budget_pence"].sum(),  # integer sums: exact
    })
    need_fixed = pd.Series(weights, index=table.index).groupby(table["consortium_code"], sort=True).sum()
    out["need"] = need_fixed / FIXED_POINT_SCALE
    out["need_index"] = out["need"] / out["registered"] / national_per_head
    out["weighted_population"] = out["registered"] * out["need_index"]
    out["share"] = need_fixed / weights.sum()
    out["budget"] = out["budget_pence"] / 100
    out["budget_per_head"] = out["budget"] / out["registered"]
    names = membership.names()
    out.insert(0, "consortium_name", [names.get(c, c) for c in out.index])
    return out
