"""Each person's hospital cost in the outcome year, from the prices an ICB holds or an HRG tariff.

The model's outcome is what each person's hospital care cost in the outcome year. An ICB holds it as SUS
prices: the final price of each admitted patient spell, of each outpatient appointment and of each A&E
attendance. :func:`person_year_costs` takes one table of priced activity (one row per spell, appointment or
attendance, whatever the setting) and sums, for each person, the prices dated in the outcome year, exactly: in
whole pence, as integers. Activity without a price can be priced from its HRG with a tariff table the user
supplies (national tariff or local prices, one price per HRG, or per setting and HRG). Nothing is dropped
silently: activity outside the year, and activity that no rule could price, is counted by reason and setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._io import read_table
from .._results import Result
from .._validation import check_identifiers, describe_rows, id_kind, parse_dates, require_columns
from ..errors import InputError, SchemaError
from .records import SETTINGS, financial_year

__all__ = ["COST_COLUMNS", "PersonYearCosts", "person_year_costs"]

#: The columns :func:`person_year_costs` reads (the keys of ``columns=``); ``price`` or ``hrg`` may be absent.
COST_COLUMNS = ("person_id", "setting", "date", "price", "hrg")


@dataclass(frozen=True, eq=False, repr=False)
class PersonYearCosts(Result):
    """Outcome-year hospital cost per person, summed in whole pence, with what was not priced counted.

    Attributes
    ----------
    costs : pandas.DataFrame
        One row per person with priced activity in the year: ``person_id``, ``cost_pence`` (int64, the exact
        sum), ``cost`` (pounds) and one ``<setting>_pence`` column per setting present.
    outcome_year : str
        The financial year summed, e.g. ``'2025/26'``.
    total_pence : int
        Sum of every in-year price used, in pence; equals ``costs["cost_pence"].sum()``.
    not_used : dict of str → int
        Activity rows not summed, each under one reason (``before_outcome_year``, ``after_outcome_year``,
        ``undated``, ``unpriced``: no price and no HRG the tariff prices), keyed ``"<reason>"`` and counted once.
    unpriced_by_setting : dict of str → int
        The ``unpriced`` rows by setting.
    priced_from_tariff : int
        In-year rows without a price, priced from their HRG.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> costs = person_year_costs(pd.DataFrame({"person_id": [1, 1, 2], "setting": ["inpatient", "ae", "ae"],
    ...     "date": ["2025-05-01", "2025-06-01", "2026-05-01"], "price": [2450.10, 180.0, 175.0]}), "2025/26")
    >>> costs.costs[["person_id", "cost_pence"]].values.tolist(), costs.not_used
    ([[1, 263010]], {'after_outcome_year': 1})
    """

    costs: pd.DataFrame
    outcome_year: str
    total_pence: int
    not_used: dict = field(default_factory=dict)
    unpriced_by_setting: dict = field(default_factory=dict)
    priced_from_tariff: int = 0

    def _frame(self) -> pd.DataFrame:
        return self.costs

    def of(self, person_id) -> np.ndarray:
        """Each listed person's cost in pounds, 0 for people with no priced activity in the year.

        Parameters
        ----------
        person_id : array-like
            The people, e.g. :attr:`Population.person_id <capitation.inputs.Population>`.

        Returns
        -------
        numpy.ndarray of float64
            In the order given.

        Examples
        --------
        >>> import pandas as pd
        >>> costs = person_year_costs(pd.DataFrame({"person_id": [7], "setting": ["outpatient"],
        ...     "date": ["2025-09-09"], "price": [132.0]}), "2025/26")
        >>> costs.of([7, 8]).tolist()
        [132.0, 0.0]
        """
        ours = self.costs["person_id"].to_numpy()
        theirs = np.asarray(person_id)
        if len(ours) and len(theirs) and id_kind(ours) != id_kind(theirs):
            # every cost would silently be 0: the ids of one side were read as numbers, of the other as text
            raise InputError(f"The 'person_id' parameter of PersonYearCosts.of holds {id_kind(theirs)} (e.g. "
                             f"{theirs[:3].tolist()}) and the costs' ids are {id_kind(ours)} (e.g. "
                             f"{ours[:3].tolist()}): one side was read as text, the other as numbers, so no one "
                             "would match. Fix: give both the same type, e.g. ids.astype(str), or read both tables "
                             "as text.")
        pence = pd.Series(self.costs["cost_pence"].to_numpy(), index=pd.Index(ours))
        found = pence.reindex(pd.Index(theirs)).fillna(0).to_numpy(dtype=np.int64)
        return found / 100.0

    def summary(self) -> str:
        """Describe the costs: people, the total to the penny, and what was not used.

        Returns
        -------
        str
            The headline, then one line per reason rows were not used.

        Examples
        --------
        >>> import pandas as pd
        >>> costs = person_year_costs(pd.DataFrame({"person_id": [1], "setting": ["ae"], "date": ["2025-06-01"],
        ...     "price": [180.0]}), "2025/26")
        >>> costs.summary()
        'Hospital costs 2025/26: 1 people, £180.00 in total'
        """
        lines = [f"Hospital costs {self.outcome_year}: {len(self.costs):,} people, "
                 f"£{self.total_pence // 100:,}.{self.total_pence % 100:02d} in total"]
        if self.priced_from_tariff:
            lines.append(f"  priced from the tariff: {self.priced_from_tariff:,} rows without a price")
        lines += [f"  not used: {n:,} {reason.replace('_', ' ')}" for reason, n in self.not_used.items()]
        lines += [f"    unpriced {setting}: {n:,}" for setting, n in self.unpriced_by_setting.items()]
        return "\n".join(lines)


def person_year_costs(activity, outcome_year, *, columns: dict | None = None, tariff=None) -> PersonYearCosts:
    """Sum each person's priced hospital activity dated in the outcome year, exactly, in pence.

    Parameters
    ----------
    activity : pandas.DataFrame or path
        One row per priced unit (a spell, an appointment, an attendance): ``person_id``, ``setting`` (one of
        :data:`~capitation.inputs.SETTINGS`), ``date`` (the date that places it in a year: a spell's discharge
        or admission date, as your costing rules say; an appointment's or attendance's date), and ``price``
        (pounds, to the penny; blank when not priced) and/or ``hrg`` (the HRG code, priced by ``tariff``).
        Concatenate SUS's APC spells, outpatient appointments and A&E attendances into this one table.
    outcome_year : str
        The financial year to sum (``'2025/26'``): 1 April to 31 March.
    columns : dict of str → str, optional
        Library name (:data:`COST_COLUMNS`) → your column's name, e.g. ``{"price": "Spell_Final_Price"}``.
    tariff : pandas.DataFrame or path, optional
        Prices for activity without one: columns ``hrg`` and ``price`` (pounds), and ``setting`` when a price
        depends on it; one row per HRG (per setting and HRG). A row's own price always wins.

    Returns
    -------
    PersonYearCosts
        Per-person costs, their exact total and the rows not used, by reason.

    Raises
    ------
    SchemaError
        A required column is missing, or neither ``price`` nor ``hrg`` is there.
    InputError
        An unknown setting, an unparseable date, a negative price, a price with fractions of a penny, a
        tariff that prices one HRG twice or a financial year that is not one; the message names the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> activity = pd.DataFrame({"person_id": ["a", "a", "b"], "setting": ["inpatient", "outpatient", "inpatient"],
    ...     "date": ["2025-04-01", "2026-03-31", "2025-10-10"], "price": [1000.0, None, None],
    ...     "hrg": ["FD10A", "WF01B", "XX99Z"]})
    >>> tariff = pd.DataFrame({"hrg": ["WF01B"], "price": [150.0]})
    >>> costs = person_year_costs(activity, "2025/26", tariff=tariff)
    >>> costs.costs[["person_id", "cost"]].values.tolist(), costs.not_used, costs.priced_from_tariff
    ([['a', 1150.0]], {'unpriced': 1}, 1)
    """
    year = financial_year(outcome_year)
    start = pd.Timestamp(int(year[:4]), 4, 1)
    end = start + pd.DateOffset(years=1)
    names = {k: k for k in COST_COLUMNS} | dict(columns or {})
    unknown = set(columns or {}) - set(COST_COLUMNS)
    if unknown:
        raise InputError(f"The 'columns' parameter of person_year_costs maps library names {list(COST_COLUMNS)}; "
                         f"got {sorted(unknown)}. Fix: columns={{'price': 'Spell_Final_Price'}} (library → yours).")
    # a CSV as text, as the other NHS readers read theirs: ids '0042' stay themselves and match theirs
    frame = read_table(activity, "activity", text=True)
    require_columns(frame, "activity", [names[k] for k in ("person_id", "setting", "date")])
    has_price, has_hrg = names["price"] in frame.columns, names["hrg"] in frame.columns
    if not (has_price or has_hrg):
        raise SchemaError(f"The 'activity' table has neither a price column ({names['price']!r}) nor an HRG column "
                          f"({names['hrg']!r}). Fix: name your price column with columns={{'price': 'yours'}}, or "
                          "give the HRG and a tariff.")
    ids = check_identifiers(frame, "activity", names["person_id"])
    setting = frame[names["setting"]].astype(object).where(frame[names["setting"]].notna(), "").astype(str)
    setting = setting.str.strip().str.lower()
    bad = ~setting.isin(SETTINGS).to_numpy()
    if bad.any():
        raise InputError(f"The 'activity' table's column {names['setting']!r} must be one of {list(SETTINGS)}: "
                         f"{describe_rows(frame.index, bad, frame[names['setting']].to_numpy(object), ids)}. "
                         "Fix: label each row inpatient, outpatient or ae.")
    dates = parse_dates(frame, "activity", names["date"], ids)
    pence = _pence(frame, names["price"], ids) if has_price else np.full(len(frame), -1, dtype=np.int64)
    from_tariff = (pence < 0) & has_hrg & (tariff is not None)
    if from_tariff.any():
        hrg = frame[names["hrg"]].astype(object).where(frame[names["hrg"]].notna(), "").astype(str).str.strip()
        pence = np.where(from_tariff, _tariff_pence(tariff, setting, hrg.str.upper()), pence)
    from_tariff &= pence >= 0
    not_used: dict[str, int] = {}
    undated = dates.isna().to_numpy()
    before = ~undated & (dates < start).to_numpy()
    after = ~undated & (dates >= end).to_numpy()
    unpriced = ~(undated | before | after) & (pence < 0)
    for reason, rows in (("undated", undated), ("before_outcome_year", before), ("after_outcome_year", after),
                         ("unpriced", unpriced)):
        if rows.any():
            not_used[reason] = int(rows.sum())
    by_setting = {s: int((unpriced & (setting == s).to_numpy()).sum()) for s in SETTINGS}
    used = ~(undated | before | after | unpriced)
    table = pd.DataFrame({"person_id": ids[used], "setting": setting.to_numpy()[used], "pence": pence[used]})
    wide = table.pivot_table(index="person_id", columns="setting", values="pence", aggfunc="sum", fill_value=0,
                             sort=True)
    wide = wide.reindex(columns=[s for s in SETTINGS if s in wide.columns]).astype(np.int64)
    costs = pd.DataFrame({"person_id": wide.index.to_numpy(), "cost_pence": wide.sum(axis=1).to_numpy(np.int64)})
    costs["cost"] = costs["cost_pence"] / 100.0
    for s in wide.columns:
        costs[f"{s}_pence"] = wide[s].to_numpy(np.int64)
    return PersonYearCosts(costs, year, int(table["pence"].sum()), not_used,
                           {s: n for s, n in by_setting.items() if n}, int((from_tariff & used).sum()))


def _pence(frame: pd.DataFrame, column: str, ids, label: str = "activity") -> np.ndarray:
    """Prices in pounds as whole pence (int64), ``-1`` where blank; negatives and fractions of a penny refused."""
    values = frame[column]
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    number = pd.to_numeric(text.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
    blank = (text == "").to_numpy()
    bad = np.isnan(number) & ~blank
    if bad.any():
        raise InputError(f"The {label!r} table's column {column!r} holds values that are not prices: "
                         f"{describe_rows(frame.index, bad, values.to_numpy(object), ids)}. Fix: write prices in "
                         "pounds, e.g. 2450.10, and leave unpriced rows blank.")
    negative = ~blank & (number < 0)
    if negative.any():
        raise InputError(f"The {label!r} table's column {column!r} holds negative prices: "
                         f"{describe_rows(frame.index, negative, values.to_numpy(object), ids)}. Fix: net "
                         "adjustments into the activity they adjust before summing.")
    scaled = np.where(blank, 0.0, number) * 100.0
    pence = np.rint(scaled)
    fraction = ~blank & (np.abs(scaled - pence) > 1e-6 * np.maximum(1.0, np.abs(scaled)))
    if fraction.any():
        raise InputError(f"The {label!r} table's column {column!r} holds prices with fractions of a penny: "
                         f"{describe_rows(frame.index, fraction, values.to_numpy(object), ids)}. Fix: round "
                         "each price to the penny as your costing rules say; the sum is exact in pence.")
    return np.where(blank, -1, pence).astype(np.int64)


def _tariff_pence(tariff, setting: pd.Series, hrg: pd.Series) -> np.ndarray:
    """Look up the tariff's price (pence) of each row's HRG (and setting, when the tariff has one); -1 if none."""
    table = read_table(tariff, "tariff")
    require_columns(table, "tariff", ("hrg", "price"))
    by_setting = "setting" in table.columns
    key = ["setting", "hrg"] if by_setting else ["hrg"]
    clean = pd.DataFrame({"hrg": table["hrg"].astype(str).str.strip().str.upper()})
    if by_setting:
        clean["setting"] = table["setting"].astype(str).str.strip().str.lower()
    twice = clean.duplicated(key, keep=False).to_numpy()
    if twice.any():
        raise InputError(f"The 'tariff' table prices the same {' and '.join(key)} more than once: "
                         f"{describe_rows(table.index, twice, clean['hrg'].to_numpy(object))}. Fix: one price per "
                         f"{' and '.join(key)}.")
    clean["pence"] = _pence(table, "price", None, "tariff")
    clean = clean[clean["pence"] >= 0]
    rows = pd.MultiIndex.from_arrays([setting.to_numpy(), hrg.to_numpy()]) if by_setting else pd.Index(hrg)
    index = pd.MultiIndex.from_frame(clean[key]) if by_setting else pd.Index(clean["hrg"])
    at = index.get_indexer(rows)
    return np.where(at >= 0, clean["pence"].to_numpy()[np.maximum(at, 0)], -1)
