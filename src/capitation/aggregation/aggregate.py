"""Step 5: person amounts summed exactly over registered lists, then practices summed into consortia."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from .._compute import group_sum_fixed
from .._config import readonly
from .._kernels.groupby import group_count, regroup_sum
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
    values = readonly(np.ascontiguousarray(values, dtype=np.float64))
    out = np.zeros(n_groups, dtype=np.int64)
    block = max(65_536, -(-len(values) // (4 * numba.get_num_threads())))
    # The checks come from the same pass as the sums (two numpy passes over 64M amounts cost more than the sum)
    absolute, non_finite = group_sum_fixed(values, readonly(np.ascontiguousarray(codes, dtype=np.int32)),
                                           FIXED_POINT_SCALE, block, out)
    if non_finite:
        bad = np.flatnonzero(~np.isfinite(values))
        raise InputError(f"The {name!r} amounts must be finite. Got {values[bad[0]]!r} at person row {bad[0]} "
                         f"({len(bad):,} in all). Fix: score with a fitted model and finite features.")
    if absolute >= _LIMIT:
        big = int(np.argmax(np.abs(values)))
        raise InputError(f"The {name!r} amounts add up to more than £{_LIMIT:,.0f}, beyond exact fixed-point "
                         f"summation (the largest is {float(values[big])!r} at person row {big}). "
                         "Fix: express them in thousands of pounds.")
    return out


#: The reason a practice whose people were observed gets no budget: its list is not among the lists funded.
OFF_LIST_REASON = "not on the registered lists funded"
#: The reason a practice on the lists gets no budget: its list size is 0.
EMPTY_LIST_REASON = "list size 0"
#: The reason a practice on the membership's lists gets no budget: the data hold no one of its consortium.
UNCOVERED_REASON = "no one of its consortium in the data"


@dataclass(frozen=True, eq=False, repr=False)
class Aggregation(Result):
    """Practice and consortium totals of predicted need (and actual cost, when known).

    Two numbers of people are kept apart: ``observed``, the people of each list in the data, whose need
    per head is measured; and ``registered``, the list size funded. They are the same when the data hold the
    whole lists. For a sample they are not, and each practice's need is its observed need per head times its
    registered list (see :func:`aggregate`).

    Attributes
    ----------
    practices : pandas.DataFrame
        Indexed by ``practice_code``: ``consortium_code`` (with a membership), ``registered`` (the list size
        funded), ``observed`` (people in the data), ``person_years`` (observed), ``need`` (£ a year for the
        registered list), ``need_per_head`` and, with costs, ``cost`` (observed) and ``cost_per_head`` (per
        person observed).
    consortia : pandas.DataFrame or None
        The same summed over member practices (``None`` without a membership).
    need_fixed : ndarray of int64 or None
        Practice need in fixed point, the exact input of allocation, when need is the exact sum over the people
        observed; ``None`` when it is funded on list sizes (then allocation takes the exact shares of ``need``).
    list_source : str
        Where ``registered`` comes from: ``"people observed"``, or the source of the list sizes.
    not_funded : pandas.DataFrame
        Practices left out of the totals, one line each: ``observed`` people, their ``need_observed`` and the
        ``reason`` (:data:`OFF_LIST_REASON`, :data:`EMPTY_LIST_REASON` or :data:`UNCOVERED_REASON`). Empty
        when nothing was left out.
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
    Aggregation(Aggregation: 1 practices, 2 registered (the people observed), need £300 (£150.00 per head))
    """

    practices: pd.DataFrame
    consortia: pd.DataFrame | None
    need_fixed: np.ndarray | None
    list_source: str = "people observed"
    not_funded: pd.DataFrame | None = None

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

    @property
    def on_lists(self) -> bool:
        """Whether need is funded on list sizes rather than summed over the people observed.

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.aggregation.aggregate import aggregation_from_totals
        >>> aggregation_from_totals(np.array(["A81001"]), {"registered": [2], "person_years": [2 * 2**20],
        ...                                                "need": [300 * 2**20]}).on_lists
        False
        """
        return self.need_fixed is None

    def summary(self) -> str:
        """Describe the totals in plain text.

        Returns
        -------
        str
            The headline (practices, registered people and where the lists come from, need and need per head,
            and consortia with a membership), then a line for each kind of practice left out or imputed.

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.aggregation.aggregate import aggregation_from_totals
        >>> agg = aggregation_from_totals(np.array(["A81001"]), {"registered": [4], "person_years": [4 * 2**20],
        ...                                                      "need": [1000 * 2**20]})
        >>> agg.summary()
        'Aggregation: 1 practices, 4 registered (the people observed), need £1,000 (£250.00 per head)'
        """
        p = self.practices
        registered = p.registered.sum()
        if self.on_lists:
            people = (f"{registered:,.0f} registered (list sizes: {self.list_source}; "
                      f"{int(p.observed.sum()):,} people observed)")
        else:
            people = f"{int(registered):,} registered (the people observed)"
        text = f"Aggregation: {len(p):,} practices, {people}, need £{p.need.sum():,.0f} " \
               f"(£{p.need.sum() / registered:,.2f} per head)"
        if self.consortia is not None:
            text += f", {len(self.consortia):,} consortia"
        imputed = int((p["observed"] == 0).sum()) if self.on_lists else 0
        if imputed:
            text += (f"\n{imputed:,} practice(s) on the lists had no one observed: funded at the national need "
                     "per head of the people observed")
        if self.not_funded is not None and len(self.not_funded):
            for reason, lines in self.not_funded.groupby("reason", sort=True):
                text += (f"\n{len(lines):,} practice(s) with {int(lines['observed'].sum()):,} people observed "
                         f"get no budget: {reason}")
        return text


def aggregate(population: Population, need, *, membership: Membership | None = None, list_sizes=None,
              unassigned: str = "raise") -> Aggregation:
    """Sum predicted need over each practice's registered list, then practices into consortia.

    The people in the data may be whole lists or a sample of them. Each practice's need per head is the
    exact sum of its observed people's need divided by their number; its need is that per head times the
    list size funded (``registered``), the one way a sample funds a whole list. With the whole lists in the
    data the two are the same people and need is the exact sum itself.

    Parameters
    ----------
    population : Population
        The people observed (their ``practice_code`` decides where their need counts).
    need : array-like
        Predicted annual need per person (£), in population order (e.g. from :func:`capitation.score`).
    membership : Membership, optional
        Practice → consortium; without it only practice totals are made.
    list_sizes : pandas.Series, dict, pandas.DataFrame or "observed", optional
        The registered list of each practice to fund (people, by practice code; see
        :func:`~capitation.aggregation.membership.as_list_sizes`). By default the membership's list sizes
        when it has them (:meth:`Membership.nhs_england` carries NHS England's published ones), else the
        people observed; ``"observed"`` uses the people observed whatever the membership. With list sizes,
        every practice of the lists is funded (of the membership's lists, those of the consortia the data
        cover): one with no one observed at the national need per head of the people observed. Practices
        observed but not on the lists get no budget (their people still informed the model). Both are counted
        on the result.
    unassigned : {"raise", "line"}
        Practices outside the membership raise, or are gathered on an explicit ``UNASSIGNED`` line.

    Returns
    -------
    Aggregation
        Totals per practice (and per consortium, with a membership): list size funded, people observed,
        person-years, need and, when the population has costs, cost.

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

    The same people as a sample of lists of 1,000 and 3,000 people:

    >>> agg = aggregate(people, [100.0, 250.0, 50.0], membership=icbs, list_sizes={"A81001": 1000, "A81002": 3000})
    >>> agg.practices["need"].tolist(), agg.practices["need_per_head"].tolist()
    ([100000.0, 450000.0], [100.0, 150.0])
    """
    if not isinstance(population, Population):
        raise SchemaError(f"The 'population' parameter of aggregate must be a Population. Got "
                        f"{type(population).__name__}. Fix: Population.from_frame(people).")
    need = np.asarray(need, dtype=np.float64).reshape(-1)
    if len(need) != population.n_people:
        raise InputError(f"The 'need' parameter has {len(need):,} values for {population.n_people:,} people. "
                         "Fix: score the same population, in the same order.")
    practice_codes, totals = practice_totals(population, need)
    return aggregation_from_totals(practice_codes, totals, membership=membership, list_sizes=list_sizes,
                                   unassigned=unassigned)


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
                            list_sizes=None, unassigned: str = "raise") -> Aggregation:
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
    list_sizes : pandas.Series, dict, pandas.DataFrame or "observed", optional
        The registered lists to fund, as in :func:`aggregate`.
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
    lists, source, by_default = _lists_funded(list_sizes, membership)
    if lists is not None:
        return _on_lists(practice_codes, totals, lists, source, membership, unassigned, by_default)
    practices = pd.DataFrame({"registered": totals["registered"], "observed": totals["registered"],
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
        consortia = _consortia(parent, dict(totals, observed=totals["registered"]), membership)
    return Aggregation(practices, consortia, totals["need"], not_funded=_no_lines())


def _lists_funded(list_sizes, membership: Membership | None) -> tuple[pd.Series | None, str, bool]:
    """Return the list sizes to fund, where they come from, and whether they are the membership's by default."""
    from .membership import as_list_sizes

    if isinstance(list_sizes, str):
        if list_sizes != "observed":
            raise InputError(f"The 'list_sizes' parameter must be list sizes by practice code or 'observed'. Got "
                             f"{list_sizes!r}. Fix: list_sizes='observed' funds the people in the data; "
                             "Membership.nhs_england(year) carries NHS England's published list sizes.")
        return None, "people observed", False
    if list_sizes is not None:
        return as_list_sizes(list_sizes), "list sizes given", False
    if membership is not None and membership.list_sizes is not None:
        return membership.list_sizes, membership.list_source or "the membership's list sizes", True
    return None, "people observed", False


def _uncovered(codes: np.ndarray, observed: pd.Series, membership: Membership) -> np.ndarray:
    """Which of the membership's practices ``codes`` belong to a consortium of which no one was observed."""
    parent = membership.as_series()
    seen = observed.index[observed.to_numpy() > 0]
    covered = set(parent.reindex(seen).dropna())
    return ~parent.reindex(codes).isin(covered).to_numpy()


def _no_lines() -> pd.DataFrame:
    return pd.DataFrame({"observed": pd.Series(dtype=np.int64), "need_observed": pd.Series(dtype=np.float64),
                         "reason": pd.Series(dtype=object)}, index=pd.Index([], dtype=object, name="practice_code"))


def _on_lists(practice_codes: np.ndarray, totals: dict, lists: pd.Series, source: str,
              membership: Membership | None, unassigned: str, by_default: bool) -> Aggregation:
    """Fund each list at its observed need per head; the national per head where no one was observed."""
    observed = pd.Series(totals["registered"], index=practice_codes)
    need_observed = pd.Series(totals["need"] / FIXED_POINT_SCALE, index=practice_codes)
    # The people observed as a whole: the need per head of a list of which no one is in the data.
    national = float(totals["need"].sum()) / FIXED_POINT_SCALE / max(int(totals["registered"].sum()), 1)
    funded = lists[lists > 0]
    uncovered = pd.Index([], dtype=object)
    if by_default:
        # The membership's lists by default: fund the consortia the data cover, not every list of the country.
        outside = _uncovered(funded.index.to_numpy(dtype=object), observed, membership)
        uncovered, funded = funded.index[outside], funded[~outside]
    off = ~observed.index.isin(funded.index)
    not_funded = pd.DataFrame({"observed": observed[off].to_numpy(), "need_observed": need_observed[off].to_numpy(),
                               "reason": np.where(observed.index[off].isin(lists.index), EMPTY_LIST_REASON,
                                                  OFF_LIST_REASON).astype(object)},
                              index=pd.Index(observed.index[off], dtype=object, name="practice_code"))
    for codes, reason in ((lists.index[(lists == 0).to_numpy()].difference(observed.index), EMPTY_LIST_REASON),
                          (uncovered, UNCOVERED_REASON)):
        if len(codes):
            lines = pd.DataFrame({"observed": 0, "need_observed": 0.0, "reason": reason},
                                 index=pd.Index(codes, dtype=object, name="practice_code"))
            not_funded = pd.concat([not_funded, lines]) if len(not_funded) else lines
    not_funded = not_funded.sort_index()
    codes = funded.index.to_numpy(dtype=object)
    position = pd.Index(practice_codes).get_indexer(codes)
    seen = position >= 0

    def pick(values: np.ndarray | None) -> np.ndarray | None:  # a total per funded practice, 0 where none observed
        if values is None:
            return None
        out = np.zeros(len(codes), dtype=np.int64)
        out[seen] = values[position[seen]]
        return out

    fixed = {k: pick(totals[k]) for k in ("registered", "person_years", "need", "cost")}
    per_head = np.full(len(codes), national)
    per_head[seen] = (fixed["need"][seen] / FIXED_POINT_SCALE) / fixed["registered"][seen]
    registered = funded.to_numpy(dtype=np.float64)
    practices = pd.DataFrame({"registered": registered, "observed": fixed["registered"],
                              "person_years": fixed["person_years"] / FIXED_POINT_SCALE,
                              "need": per_head * registered, "need_per_head": per_head},
                             index=pd.Index(codes, name="practice_code"))
    if fixed["cost"] is not None:
        practices["cost"] = fixed["cost"] / FIXED_POINT_SCALE
        practices["cost_per_head"] = practices["cost"] / practices["observed"].where(practices["observed"] > 0)
    consortia = None
    if membership is not None:
        parent = membership.consortium_of(practices.index, unassigned=unassigned)
        practices.insert(0, "consortium_code", parent)
        columns = {"registered": registered, "observed": fixed["registered"], "person_years": fixed["person_years"],
                   "need": practices["need"].to_numpy()}
        if fixed["cost"] is not None:
            columns["cost"] = fixed["cost"]
        consortia = roll_up(columns, parent, membership)
        for column in ("person_years", "cost"):
            if column in consortia:
                consortia[column] = consortia[column] / FIXED_POINT_SCALE
        consortia["need_per_head"] = consortia["need"] / consortia["registered"]
        if "cost" in consortia:
            consortia["cost_per_head"] = consortia["cost"] / consortia["observed"].where(consortia["observed"] > 0)
    return Aggregation(practices, consortia, None, list_source=source, not_funded=not_funded)


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
    table = roll_up({c: totals[c] for c in ("registered", "observed", "person_years", "need", "cost")
                     if totals.get(c) is not None}, parent, membership)
    for column in ("person_years", "need", "cost"):
        if column in table:
            table[column] = table[column] / FIXED_POINT_SCALE
    table["need_per_head"] = table["need"] / table["registered"]
    if "cost" in table:
        table["cost_per_head"] = table["cost"] / table["registered"]
    return table
