"""The same model's budgets by registered list and by residence, side by side.

By list, a consortium's need is the need of everyone registered with its member practices (how this library
sets budgets). By residence, it is the need of everyone living in its area, people being placed by their
LSOA. Both split the same control total in whole pence (largest remainder on exact fixed-point sums), so
the difference shows what "budgets that do not depend on geography" changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result
from ..aggregation.aggregate import FIXED_POINT_SCALE, exact_group_sum
from ..aggregation.membership import UNASSIGNED, Membership
from ..errors import InputError, SchemaError, UnknownCodeError
from ..inputs import Population
from .money import format_pounds, split_pence, to_pence

__all__ = ["GeographyComparison", "compare_geography"]


@dataclass(frozen=True, eq=False, repr=False)
class GeographyComparison(Result):
    """Budgets by registered list versus by residence.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by consortium: ``registered`` and ``residents`` (people), ``need_list`` and
        ``need_residence`` (£), ``budget_list_pence`` and ``budget_residence_pence``, ``difference_pence``
        (residence − list), ``difference_pct`` (% of the list budget) and both budgets per head.
    control_total_pence : int
        The control total both budgets share, in whole pence.
    parameters : dict
        ``unmapped``: people whose LSOA has no area (on an ``UNASSIGNED`` line when allowed).
    provenance : Provenance
        Library version.

    The table is the result's own data: :meth:`to_frame` gives a copy to edit.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"registered": [1], "residents": [1], "budget_list_pence": [100],
    ...                   "budget_residence_pence": [100], "difference_pence": [0], "difference_pct": [0.0]},
    ...                  index=pd.Index(["X"], name="consortium_code"))
    >>> GeographyComparison(t, 100, {})
    GeographyComparison(Budgets by registered list vs by residence (£1.00; £0.00 would move between consortia))
    """

    table: pd.DataFrame
    control_total_pence: int
    parameters: dict

    def _frame(self) -> pd.DataFrame:
        return self.table

    def to_frame(self) -> pd.DataFrame:
        """Return the comparison table, as a copy.

        Returns
        -------
        pandas.DataFrame
            Editing it leaves the result as it was.

        Examples
        --------
        >>> import pandas as pd
        >>> c = GeographyComparison(pd.DataFrame({"difference_pct": [0.0]}, index=["X"]), 100, {})
        >>> c.to_frame() is c.table
        False
        """
        return self.table.copy()

    def summary(self) -> str:
        """Describe the comparison in plain text, largest differences first.

        Returns
        -------
        str
            The control total and the money that would move on the first line, then one row per consortium.

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"registered": [2], "residents": [1], "budget_list_pence": [100],
        ...                   "budget_residence_pence": [100], "difference_pence": [0], "difference_pct": [0.0]},
        ...                  index=pd.Index(["X"], name="consortium_code"))
        >>> GeographyComparison(t, 100, {}).summary().splitlines()[0]
        'Budgets by registered list vs by residence (£1.00; £0.00 would move between consortia)'
        """
        t = self.table.reindex(self.table["difference_pct"].abs().sort_values(ascending=False).index)
        show = pd.DataFrame({"registered": t["registered"].map("{:,}".format),
                             "residents": t["residents"].map("{:,}".format),
                             "by list": t["budget_list_pence"].map(format_pounds),
                             "by residence": t["budget_residence_pence"].map(format_pounds),
                             "difference %": t["difference_pct"].map("{:+.2f}".format)})
        moved = int(t["difference_pence"].abs().sum() // 2)
        return (f"Budgets by registered list vs by residence ({format_pounds(self.control_total_pence)}; "
                f"{format_pounds(moved)} would move between consortia)\n" + show.to_string())


def compare_geography(population: Population, need, control_total, *, membership: Membership,
                      area_of_lsoa: pd.Series, unmapped: str = "raise") -> GeographyComparison:
    """Compare consortium budgets from registered lists and from residence, for the same people and model.

    Parameters
    ----------
    population : Population
        The registered people (``practice_code`` and ``lsoa_code``).
    need : array-like
        Predicted need per person (£), in population order.
    control_total : int, float, str or Decimal
        Pounds to allocate, both ways; a whole number of pence.
    membership : Membership
        Practice → consortium (the list-based grouping).
    area_of_lsoa : pandas.Series
        LSOA code → consortium code (the residence-based grouping, same codes as ``membership``).
    unmapped : {"raise", "line"}
        People whose practice or LSOA has no consortium: an error, or an ``UNASSIGNED`` line.

    Returns
    -------
    GeographyComparison
        One row per consortium with both budgets in whole pence, each column adding up to ``control_total``.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import Membership, Population
    >>> pop = Population.from_frame(pd.DataFrame({
    ...     "person_id": [1, 2, 3], "practice_code": ["A81001", "A81001", "A81002"], "sex": ["F", "M", "F"],
    ...     "age": [40, 50, 60], "lsoa_code": ["E1", "E2", "E2"]}))
    >>> icbs = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
    ...                                            "consortium_code": ["X", "Y"]}))
    >>> out = compare_geography(pop, [100.0, 100.0, 200.0], 400, membership=icbs,
    ...                         area_of_lsoa=pd.Series({"E1": "X", "E2": "Y"}))
    >>> out.table[["budget_list_pence", "budget_residence_pence"]].values.tolist()
    [[20000, 10000], [20000, 30000]]
    """
    if not isinstance(population, Population):
        raise SchemaError(f"The 'population' parameter must be a Population. Got {type(population).__name__}.")
    if not isinstance(area_of_lsoa, pd.Series) or area_of_lsoa.index.has_duplicates:
        raise InputError("The 'area_of_lsoa' parameter must be a Series of consortium code indexed by unique LSOA "
                         "codes. Fix: e.g. lsoa_table.set_index('lsoa_code')['icb_code'].")
    if unmapped not in ("raise", "line"):
        raise InputError(f"The 'unmapped' parameter must be 'raise' or 'line'. Got {unmapped!r} instead.")
    pence = to_pence(control_total)
    values = np.asarray(need, dtype=np.float64).reshape(-1)
    if len(values) != population.n_people:
        raise InputError(f"The 'need' parameter has {len(values):,} values for {population.n_people:,} people.")
    by_list = membership.consortium_of(population.practice_code, unassigned=unmapped)
    lsoa = np.asarray(population.lsoa_code, dtype=object)
    where = pd.Index(area_of_lsoa.index).get_indexer(lsoa)
    missing = where < 0
    if missing.any() and unmapped == "raise":
        raise UnknownCodeError(f"{int(missing.sum()):,} people live in LSOAs with no area, e.g. "
                               f"{sorted(set(lsoa[missing]))[:5]}. Fix: extend 'area_of_lsoa', or pass "
                               "unmapped='line' to count them on an 'UNASSIGNED' line.")
    by_home = np.where(missing, UNASSIGNED, area_of_lsoa.to_numpy(dtype=object)[np.where(missing, 0, where)])
    labels = np.asarray(sorted(set(by_list) | set(by_home)), dtype=object)
    index = pd.Index(labels, name="consortium_code")
    out = pd.DataFrame(index=index)
    for suffix, groups in (("list", by_list), ("residence", by_home)):
        codes = index.get_indexer(groups).astype(np.int32)
        fixed = exact_group_sum(values, codes, len(index), "need")
        if fixed.sum() <= 0:
            raise InputError("Total need is not positive, so no budget can be shared.")
        out[f"people_{suffix}"] = np.bincount(codes, minlength=len(index))
        out[f"need_{suffix}"] = fixed / FIXED_POINT_SCALE
        out[f"budget_{suffix}_pence"] = split_pence(pence, fixed)
    out = out.rename(columns={"people_list": "registered", "people_residence": "residents"})
    out["difference_pence"] = out["budget_residence_pence"] - out["budget_list_pence"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["difference_pct"] = 100 * out["difference_pence"] / out["budget_list_pence"]
        out["per_head_list"] = out["budget_list_pence"] / 100 / out["registered"]
        out["per_head_residence"] = out["budget_residence_pence"] / 100 / out["residents"]
    params = {"unmapped": int(missing.sum()), "unassigned_practices": int((by_list == UNASSIGNED).sum())}
    return GeographyComparison(out, pence, params)
