"""Step 5: person amounts summed exactly over registered lists, then practices summed into consortia."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from .._config import readonly
from .._kernels.groupby import group_count, group_sum_fixed, regroup_sum
from .._results import Result
from ..errors import InputError, SchemaError
from ..inputs import Population
from .membership import Membership

__all__ = ["FIXED_POINT_SCALE", "Aggregation", "aggregate", "aggregation_from_totals", "exact_group_sum",
           "practice_totals", "roll_up"]

#: Person amounts are rounded to 1/2²⁰ of a pound (under a ten-thousandth of a penny) and summed as integers,
#: which makes every total exact and independent of order, chunking and threads.
FIXED_POINT_SCALE = float(2**20)
_LIMIT = 2.0**62 / FIXED_POINT_SCALE  # headroom below int64 overflow, in pounds


def exact_group_sum(values: np.ndarray, codes: np.ndarray, n_groups: int, name: str = "values") -> np.ndarray:
    """Sum values per group exactly, as int64 fixed point (``/ FIXED_POINT_SCALE`` gives pounds).

    Each amount is rounded to the 1/2²⁰ £ grid of :data:`FIXED_POINT_SCALE` and the integers are summed, so a
    group's total does not depend on the order of the people, on batches or on threads.

    Parameters
    ----------
    values : ndarray of float
        Finite amounts per person in £ (need, cost, or exposure in person-years).
    codes : ndarray of int
        Each person's group, ``0 … n_groups − 1`` (e.g. the position of their practice_code).
    n_groups : int
        Number of groups.
    name : str
        What the values are, for messages.

    Returns
    -------
    ndarray of int64
        One fixed-point total per group.

    Raises
    ------
    InputError
        Non-finite values, or totals that could overflow int64.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.aggregation.aggregate import FIXED_POINT_SCALE, exact_group_sum
    >>> totals = exact_group_sum(np.array([0.5, 1.25, 2.0]), np.array([0, 1, 0]), 2, "need")
    >>> totals.tolist(), (totals / FIXED_POINT_SCALE).tolist()
    ([2621440, 1310720], [2.5, 1.25])
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        bad = np.flatnonzero(~np.isfinite(values))
        raise InputError(f"The {name!r} amounts must be finite. Got {values[bad[0]]!r} at person row {bad[0]} "
                         f"({len(bad):,} in all). Fix: score with a fitted model and finite features.")
    if np.abs(values).sum() >= _LIMIT:
        big = int(np.argmax(np.abs(values)))
        raise InputError(f"The {name!r} amounts add up to more than £{_LIMIT:,.0f}, beyond exact fixed-point "
                         f"summation (the largest is {float(values[big])!r} at person row {big}). "
                         "Fix: express them in thousands of pounds.")
    out = np.zeros(n_groups, dtype=np.int64)
    block = max(65_536, -(-len(values) // (4 * numba.get_num_threads())))
    group_sum_fixed(readonly(np.ascontiguousarray(values, dtype=np.float64)),
                    readonly(np.ascontiguousarray(codes, dtype=np.int32)), FIXED_POINT_SCALE, block, out)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class Aggregation(Result):
    """Practice and consortium totals of predicted need (and actual cost, when known).

    Attributes
    ----------
    practices : pandas.DataFrame
        Indexed by ``practice_code``: ``consortium_code``, ``registered`` (people), ``person_years``,
        ``need`` (£), ``need_per_head`` and, with costs, ``cost`` and ``cost_per_head``.
    consortia : pandas.DataFrame or None
        The same summed over member practices (``None`` without a membership).
    need_fixed : ndarray of int64
        Practice need in fixed point, the exact input of allocation.
    provenance : Provenance
        Library version.

    The tables are the result's own data, shared, not copied: :meth:`to_frame` gives a copy to edit.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.aggregation.aggregate import aggregation_from_totals
    >>> agg = aggregation_from_totals(np.array(["A81001"]), {"registered": [2], "person_years": [2 * 2**20],
    ...                                                      "need": [300 * 2**20]})
    >>> agg
    Aggregation(Aggregation: 1 practices, 2 people, need £300 (£150.00 per head))
    """

    practices: pd.DataFrame
    consortia: pd.DataFrame | None
    need_fixed: np.ndarray

    def _frame(self) -> pd.DataFrame:
        return self.practices

    def to_frame(self, level: str = "practice") -> pd.DataFrame:
        """Return the table for ``level``, as a copy.

        Parameters
        ----------
        level : {"practice", "consortium"}
            Consortium level needs a membership.

        Returns
        -------
        pandas.DataFrame
            A copy: editing it leaves the aggregation as it was.

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.aggregation.aggregate import aggregation_from_totals
        >>> agg = aggregation_from_totals(np.array(["A81001"]), {"registered": [2], "person_years": [2 * 2**20],
        ...                                                      "need": [300 * 2**20]})
        >>> agg.to_frame()["need_per_head"].tolist()
        [150.0]
        """
        if level == "practice":
            return self.practices.copy()
        if level == "consortium" and self.consortia is not None:
            return self.consortia.copy()
        raise InputError(f"The 'level' parameter must be 'practice' or 'consortium' (with a membership). "
                         f"Got {level!r}.")

    def summary(self) -> str:
        """Describe the totals in plain text.

        Returns
        -------
        str
            One line: practices, people, need and need per head (and consortia, with a membership).

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.aggregation.aggregate import aggregation_from_totals
        >>> agg = aggregation_from_totals(np.array(["A81001"]), {"registered": [4], "person_years": [4 * 2**20],
        ...                                                      "need": [1000 * 2**20]})
        >>> agg.summary()
        'Aggregation: 1 practices, 4 people, need £1,000 (£250.00 per head)'
        """
        p = self.practices
        text = (f"Aggregation: {len(p):,} practices, {int(p.registered.sum()):,} people, need "
                f"£{p.need.sum():,.0f} (£{p.need.sum() / p.registered.sum():,.2f} per head)")
        if self.consortia is not None:
            text += f", {len(self.consortia):,} consortia"
        return text


def aggregate(population: Population, need, *, membership: Membership | None = None,
              unassigned: str = "raise") -> Aggregation:
    """Sum predicted need over each practice's registered list, then practices into consortia.

    Parameters
    ----------
    population : Population
        The registered people (their ``practice_code`` decides where their need counts).
    need : array-like
        Predicted annual need per person (£), in population order (e.g. from :func:`capitation.score`).
    membership : Membership, optional
        Practice → consortium; without it only practice totals are made.
    unassigned : {"raise", "line"}
        Practices outside the membership raise, or are gathered on an explicit ``UNASSIGNED`` line.

    Returns
    -------
    Aggregation
        Exact totals per practice (and per consortium, with a membership): registered people, person-years,
        need and, when the population has costs, cost.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import Membership, Population, aggregate
    >>> people = Population.from_frame(pd.DataFrame({
    ...     "person_id": [1, 2, 3], "practice_code": ["A81001", "A81002", "A81002"],
    ...     "sex": ["F", "M", "F"], "age": [40, 50, 60], "lsoa_code": ["E01011959"] * 3}))
    >>> icbs = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
    ...                                            "consortium_code": ["QHM", "QHM"]}))
    >>> agg = aggregate(people, [100.0, 250.0, 50.0], membership=icbs)
    >>> agg.practices["need"].tolist(), agg.consortia["need"].tolist()
    ([100.0, 300.0], [400.0])
    """
    if not isinstance(population, Population):
        raise SchemaError(f"The 'population' parameter of aggregate must be a Population. Got "
                        f"{type(population).__name__}. Fix: Population.from_frame(people).")
    need = np.asarray(need, dtype=np.float64).reshape(-1)
    if len(need) != population.n_people:
        raise InputError(f"The 'need' parameter has {len(need):,} values for {population.n_people:,} people. "
                         "Fix: score the same population, in the same order.")
    practice_codes, totals = practice_totals(population, need)
    return aggregation_from_totals(practice_codes, totals, membership=membership, unassigned=unassigned)


def practice_totals(population: Population, need: np.ndarray) -> tuple[np.ndarray, dict]:
    """Total each practice's registered list exactly: people, and person-years, need and cost in fixed point.

    Streamed runs add these batch by batch before :func:`aggregation_from_totals`.

    Parameters
    ----------
    population : Population
        The registered people (their ``practice_code``, ``exposure`` and, when known, ``cost``).
    need : ndarray of float
        Predicted annual need per person (£), in population order.

    Returns
    -------
    practice_codes : ndarray of object
        The practices of ``population``, sorted.
    totals : dict of str → ndarray of int64
        In the order of ``practice_codes``: ``registered`` (people), and ``person_years``, ``need`` and
        ``cost`` in fixed point (``/ FIXED_POINT_SCALE``); ``cost`` is ``None`` without costs.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation import Population
    >>> from capitation.aggregation.aggregate import FIXED_POINT_SCALE, practice_totals
    >>> people = Population.from_frame(pd.DataFrame({
    ...     "person_id": [1, 2, 3], "practice_code": ["A81002", "A81001", "A81002"],
    ...     "sex": ["F", "M", "F"], "age": [40, 50, 60], "lsoa_code": ["E01011959"] * 3}))
    >>> codes, totals = practice_totals(people, np.array([100.0, 250.0, 50.0]))
    >>> codes.tolist(), totals["registered"].tolist(), (totals["need"] / FIXED_POINT_SCALE).tolist()
    (['A81001', 'A81002'], [1, 2], [250.0, 150.0])
    """
    codes, practice_codes = pd.factorize(population.practice_code, sort=True)
    codes = codes.astype(np.int32)
    n = len(practice_codes)
    registered = np.zeros(n, dtype=np.int64)
    group_count(readonly(codes), registered)
    totals = {
        "registered": registered,
        "person_years": exact_group_sum(population.exposure, codes, n, "exposure"),
        "need": exact_group_sum(need, codes, n, "need"),
        "cost": None if population.cost is None else exact_group_sum(population.cost, codes, n, "cost"),
    }
    return np.asarray(practice_codes, dtype=object), totals


def aggregation_from_totals(practice_codes: np.ndarray, totals: dict, *, membership: Membership | None = None,
                            unassigned: str = "raise") -> Aggregation:
    """Build an :class:`Aggregation` from exact practice totals, e.g. accumulated batch by batch by a streamed run.

    Parameters
    ----------
    practice_codes : array-like of str
        The practices, in the order of ``totals`` (any order: they are sorted).
    totals : dict of str → array-like of int
        ``registered`` as counts of people; ``person_years``, ``need`` and optional ``cost`` in fixed point
        (£ × :data:`FIXED_POINT_SCALE`), as :func:`practice_totals` makes them.
    membership : Membership, optional
        Practice → consortium; without it only practice totals are made.
    unassigned : {"raise", "line"}
        Practices outside the membership raise, or are gathered on an explicit ``UNASSIGNED`` line.

    Returns
    -------
    Aggregation
        Practice (and consortium) totals in £; consortium totals are exact sums of their practices'.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation import Membership
    >>> icbs = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
    ...                                            "consortium_code": ["QHM", "QHM"]}))
    >>> agg = aggregation_from_totals(np.array(["A81002", "A81001"]),
    ...                               {"registered": [2, 1], "person_years": [2 * 2**20, 2**20],
    ...                                "need": [150 * 2**20, 250 * 2**20]}, membership=icbs)
    >>> agg.practices["need"].tolist(), agg.consortia["need"].tolist()
    ([250.0, 150.0], [400.0])
    """
    order = np.argsort(practice_codes, kind="stable")
    practice_codes = np.asarray(practice_codes, dtype=object)[order]
    totals = {k: None if totals.get(k) is None else np.asarray(totals[k], dtype=np.int64)[order]
              for k in ("registered", "person_years", "need", "cost")}  # fixed column order
    practices = pd.DataFrame({"registered": totals["registered"],
                              "person_years": totals["person_years"] / FIXED_POINT_SCALE,
                              "need": totals["need"] / FIXED_POINT_SCALE},
                             index=pd.Index(practice_codes, name="practice_code"))
    practices["need_per_head"] = practices["need"] / practices["registered"]
    if totals.get("cost") is not None:
        practices["cost"] = totals["cost"] / FIXED_POINT_SCALE
        practices["cost_per_head"] = practices["cost"] / practices["registered"]
    consortia = None
    if membership is not None:
        parent = membership.consortium_of(practices.index, unassigned=unassigned)
        practices.insert(0, "consortium_code", parent)
        consortia = _consortia(parent, totals, membership)
    return Aggregation(practices, consortia, totals["need"])


def roll_up(columns: dict, parent, membership: Membership | None = None) -> pd.DataFrame:
    """Sum practice columns into their consortia, exactly: the one practice → consortium roll-up.

    int64 columns (fixed-point need, pence, people) are summed by the integer kernel, so a consortium's total
    is the exact sum of its practices'; float columns (projected list sizes) by :func:`math.fsum`, correctly
    rounded whatever the order; columns of Python integers (exact need weights) in Python integers.

    Parameters
    ----------
    columns : dict of str → array-like
        One value per practice for each column, in the order of ``parent``.
    parent : array-like of str
        Each practice's consortium code.
    membership : Membership, optional
        For the ``consortium_name`` column.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``consortium_code`` (sorted): ``consortium_name`` (with a membership), ``practices`` and
        the columns' sums.

    Examples
    --------
    >>> import numpy as np
    >>> roll_up({"budget_pence": np.array([1, 2, 3]), "registered": np.array([0.5, 0.25, 1.0])},
    ...         ["Q2", "Q1", "Q2"]).to_dict("list")
    {'practices': [1, 2], 'budget_pence': [2, 4], 'registered': [0.25, 1.5]}
    """
    codes, names = pd.factorize(np.asarray(parent, dtype=object), sort=True)
    codes = codes.astype(np.int32)
    k = len(names)
    table = pd.DataFrame({"practices": np.bincount(codes, minlength=k)},
                         index=pd.Index(np.asarray(names, dtype=object), name="consortium_code"))
    if membership is not None:
        label = membership.names()
        table.insert(0, "consortium_name", [label.get(c, c) for c in table.index])
    for column, values in columns.items():
        if isinstance(values, list) or (isinstance(values, np.ndarray) and values.dtype == object):
            sums = [0] * k
            for code, value in zip(codes.tolist(), list(values), strict=True):
                sums[code] += value  # Python integers of any size: exact
            table[column] = sums
            continue
        array = np.asarray(values)
        if array.dtype.kind in "iu":
            out = np.zeros(k, dtype=np.int64)
            regroup_sum(readonly(np.ascontiguousarray(array, dtype=np.int64)), readonly(codes), out)
            table[column] = out
        else:
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(k + 1))
            floats = np.asarray(array, dtype=np.float64)[order]
            table[column] = [math.fsum(floats[bounds[g]:bounds[g + 1]]) for g in range(k)]
    return table


def _consortia(parent, totals: dict, membership: Membership) -> pd.DataFrame:
    """Consortium totals as exact integer sums of their practices' integer totals."""
    table = roll_up({c: v for c, v in totals.items() if v is not None}, parent, membership)
    for column in ("person_years", "need", "cost"):
        if column in table:
            table[column] = table[column] / FIXED_POINT_SCALE
    table["need_per_head"] = table["need"] / table["registered"]
    if "cost" in table:
        table["cost_per_head"] = table["cost"] / table["registered"]
    return table
