"""Registered people and registered lists, read as they come: PDS-like extracts, NHS Digital's files, ODS successions.

Three sources, one module:

* :func:`read_registration_extract` turns a PDS-like extract (one row per registration: person, practice,
  month of birth ``YYYYMM``, sex code, registration dates, LSOA) into a validated
  :class:`~capitation.inputs.Population` for an outcome year, counting every row it did not use under one
  reason. Ages and exposure are computed by :meth:`Population.from_frame
  <capitation.inputs.Population.from_frame>` itself (from ``date_of_birth`` and the registration dates).
* :func:`read_nhs_digital_registrations` reads NHS Digital's monthly "Patients Registered at a GP Practice"
  files as published (single year of age by sex, practice × LSOA, practice → PCN → sub-ICB → ICB → region
  map), checks each practice's single ages against its ``ALL`` row, and reports (never hides) where the files
  disagree. :meth:`Membership.from_nhs_digital <capitation.aggregation.Membership.from_nhs_digital>` turns the
  result into a membership with registered list sizes.
* :class:`Successions` reads ODS's ``succ.csv`` (organisation successions) and maps practice codes onto their
  successors as of a date, so that people of a practice merged since the look-back years are placed with the
  practice that the allocation year's membership lists.

**Month of birth.** PDS and GP extracts give the month of birth, not the day. Ages are completed years at
1 April of the outcome year, so only people born in April are affected by the day chosen: born on 1 April
they have had their birthday, born on the 2nd to the 30th they have not. The reader takes each person as born
on the **15th** of the month (``day_of_birth=15``): an April-born person is then a year younger than the
1st-of-the-month rule makes them, which is right for 29 of April's 30 days (born 2000-04: age 24 at
2025-04-01, not 25). The 1st of the month would put every April-born person (about one person in twelve) a
year too old except those born on 1 April; the 15th errs for those born on 1 April only, about one April
birth in thirty. Any day from the 2nd gives the same ages at 1 April; the 15th is also the least biased
choice should ages ever be taken at another day of the year. ``day_of_birth=`` sets another rule.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._io import read_table
from .._results import Result
from .._validation import check_identifiers, describe_rows, factorize_column, may_hold_text, parse_dates
from ..errors import CapitationError, InputError, SchemaError
from .population import PRACTICE_CODE_PATTERN, Population, _exposure_from_registration, _outcome_year_bounds
from .records import NULL_PRACTICE_CODES, financial_year

__all__ = [
    "EXTRACT_COLUMNS",
    "MAP_LEVELS",
    "NULL_PRACTICE_CODES",
    "SUCCESSION_COLUMNS",
    "NhsDigitalRegistrations",
    "RegistrationExtract",
    "Resolution",
    "Successions",
    "read_nhs_digital_registrations",
    "read_registration_extract",
]

#: The extract's fields, by the names the reader uses (the keys of ``columns=``).
EXTRACT_COLUMNS = ("person_id", "practice_code", "year_month_of_birth", "sex", "registration_start",
                   "registration_end", "lsoa_code")
#: Sex codes (NHS Data Dictionary person stated gender / PDS): 1 male, 2 female; 0 not known, 9 not
#: specified and X not known are "not known"; ``M`` and ``F`` are accepted too.
_SEX_KNOWN = {"1": "M", "2": "F", "M": "M", "F": "F", "MALE": "M", "FEMALE": "F"}
_SEX_NOT_KNOWN = ("0", "9", "X")
#: Membership levels of NHS Digital's practice map, and the columns of :attr:`NhsDigitalRegistrations.practice_map`
#: that give each level's code and name.
MAP_LEVELS = {"ICB": ("icb_code", "icb_name"), "sub-ICB": ("sub_icb_code", "sub_icb_name"),
              "PCN": ("pcn_code", "pcn_name"), "region": ("region_code", "region_name")}

_EXTRACT_REQUIRED = ("person_id", "practice_code", "year_month_of_birth", "sex", "registration_start", "lsoa_code")
_YYYYMM = re.compile(r"([0-9]{4})([0-9]{2})", re.ASCII)
_OWNER = "read_registration_extract"


# == Task A: a PDS-like extract ================================================================================

@dataclass(frozen=True, eq=False, repr=False)
class RegistrationExtract(Result):
    """A registration extract, read: the people of the outcome year, and every row not used, counted.

    Attributes
    ----------
    population : Population
        One person per row, at their latest registration, with ``age`` (completed years at 1 April of the
        outcome year, from the month of birth under the ``day_of_birth`` rule) and ``exposure`` (years
        registered during the outcome year, over all the person's registrations).
    exclusions : dict of str → int
        Rows of the extract not used, each counted once under the first reason that applies:
        ``registration_exact_duplicate``, ``practice_null_code`` (``V81997``, ``V81998``, ``V81999``, ``&`` or
        blank), ``registration_outside_outcome_year`` and, with ``unknown_sex="drop"``, ``sex_not_known``.
    recoded : dict of str → int
        Rows or people used with a rule applied: ``registration_folded_into_latest`` (rows: an earlier
        registration of someone with several, whose time counts in the exposure but whose practice does not),
        ``person_moved_practice`` (people registered at two or more practices in the year),
        ``person_details_differ`` (people whose sex or month of birth differs between their rows: the latest
        is used) and ``born_during_outcome_year`` (people born after 1 April: age 0).
    outcome_year : str
        The financial year, e.g. ``'2025/26'``.
    day_of_birth : int
        The day of the month every person is taken as born on (15 by default).
    rows : int
        Rows read.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> extract = read_registration_extract(pd.DataFrame({
    ...     "person_id": ["p1", "p2"], "practice_code": ["A81001", "V81999"], "year_month_of_birth": ["200004"] * 2,
    ...     "sex": ["2", "1"], "registration_start": ["2010-01-01"] * 2, "registration_end": ["", ""],
    ...     "lsoa_code": ["E01011959"] * 2}), outcome_year="2025/26")
    >>> len(extract.population), extract.exclusions
    (1, {'practice_null_code': 1})
    """

    population: Population
    exclusions: dict = field(default_factory=dict)
    recoded: dict = field(default_factory=dict)
    outcome_year: str = ""
    day_of_birth: int = 15
    rows: int = 0

    def _frame(self) -> pd.DataFrame:
        return self.population.to_frame()

    def summary(self) -> str:
        """Describe the extract: people, practices and person-years kept, then each row not used.

        Returns
        -------
        str
            The headline, then one line per reason rows were not used or a rule was applied.

        Examples
        --------
        >>> import pandas as pd
        >>> extract = read_registration_extract(pd.DataFrame({
        ...     "person_id": ["p1"], "practice_code": ["A81001"], "year_month_of_birth": ["195012"], "sex": ["F"],
        ...     "registration_start": ["2025-10-01"], "lsoa_code": ["E01011959"]}), outcome_year="2025/26")
        >>> extract.summary().splitlines()[0]
        'Registrations for 2025/26: 1 people at 1 practices, 0.50 person-years, from 1 rows'
        """
        p = self.population
        lines = [f"Registrations for {self.outcome_year}: {len(p):,} people at "
                 f"{len(pd.unique(p.practice_code)):,} practices, {float(p.exposure.sum()):,.2f} person-years, "
                 f"from {self.rows:,} rows"]
        lines += [f"  not used: {n:,} {reason.replace('_', ' ')}" for reason, n in self.exclusions.items()]
        lines += [f"  recoded: {n:,} {reason.replace('_', ' ')}" for reason, n in self.recoded.items()]
        lines.append(f"  ages at 1 April {self.outcome_year[:4]}, each person born on day {self.day_of_birth} of "
                     "their month of birth")
        return "\n".join(lines)


def read_registration_extract(source, *, outcome_year, columns: Mapping | None = None, unknown_sex: str = "raise",
                              day_of_birth: int = 15, multiple_registrations: str = "latest",
                              practice_pattern: str | None = PRACTICE_CODE_PATTERN) -> RegistrationExtract:
    r"""Read a PDS-like registration extract (one row per registration) into the people of an outcome year.

    The rules, in the order they apply (a row left out is counted once, under the first that applies):

    1. An exact duplicate row is used once (``registration_exact_duplicate``).
    2. A practice code ``V81997``, ``V81998``, ``V81999``, ``&`` (NHS null codes) or blank is no practice: the
       row is left out (``practice_null_code``).
    3. A registration that does not overlap the outcome year (1 April to 31 March; the end date is the first
       day no longer registered, empty when still registered; an empty start is before the year) is left out
       (``registration_outside_outcome_year``). One that ends on or before it starts is refused.
    4. ``sex`` 1 or ``M`` is male, 2 or ``F`` female; 0 (not known), 9 (not specified) and ``X`` (not known)
       are refused by default, or left out with ``unknown_sex="drop"`` (``sex_not_known``).
    5. ``year_month_of_birth`` must be ``YYYYMM`` (month 01–12); anything else, blank included, is refused
       naming the rows, as :class:`~capitation.inputs.Population` refuses a missing date of birth. Everyone
       is taken as born on day ``day_of_birth`` of their month (see the module's notes); people born during
       the outcome year are age 0 (counted, ``born_during_outcome_year``).
    6. A person with several registrations in the year is one person, at their **latest** registration (the
       latest start): their practice, sex, month of birth and LSOA come from it, and their exposure is the time
       registered over all of them (``registration_folded_into_latest``, ``person_moved_practice``). Two
       registrations of one person that overlap in time are refused: a person is on one list at a time.
       ``multiple_registrations="raise"`` refuses people registered at two practices instead.

    Ages (completed years at 1 April of the outcome year) and exposure (years registered in the outcome year)
    are then computed, and everything validated, by :meth:`Population.from_frame
    <capitation.inputs.Population.from_frame>`.

    Parameters
    ----------
    source : pandas.DataFrame, str or path
        The extract: a DataFrame, a CSV file (read as text, exactly as written: ids are then strings) or
        Parquet.
    outcome_year : str
        The financial year of the outcome, e.g. ``'2025/26'``.
    columns : dict of str → str, optional
        The reader's field name → your column's name, for fields named differently, e.g.
        ``{"person_id": "NHS_NUMBER_PSEUDO", "year_month_of_birth": "YOB_MOB"}``. See :data:`EXTRACT_COLUMNS`;
        ``registration_end`` may be absent (everyone still registered).
    unknown_sex : {"raise", "drop"}
        Sex 0, 9 or ``X`` on a row otherwise used: refuse, naming the rows (by default), or leave the row out
        and count it.
    day_of_birth : int
        The day of the month (1–28) everyone is taken as born on; 15 by default. ``1`` makes April-born people
        a year older at 1 April.
    multiple_registrations : {"latest", "raise"}
        A person registered at two or more practices in the year: kept at the latest (by default, counted),
        or refused naming them.
    practice_pattern : str or None
        Passed to :meth:`Population.from_frame <capitation.inputs.Population.from_frame>` (ODS codes by
        default; ``None`` accepts other non-empty identifiers).

    Returns
    -------
    RegistrationExtract
        The :class:`~capitation.inputs.Population` and the counts of what was not used.

    Raises
    ------
    SchemaError
        A required field is missing.
    InputError
        A bad option; or a value no rule reads: a month of birth that is not ``YYYYMM``, a sex code outside
        the ones above, a registration ending on or before it starts or overlapping another of the same
        person, someone born after the outcome year, or what :meth:`Population.from_frame
        <capitation.inputs.Population.from_frame>` refuses (a blank LSOA, an age over 120, ...). The message
        names the rows of the extract.

    Examples
    --------
    >>> import pandas as pd
    >>> extract = read_registration_extract(pd.DataFrame({
    ...     "person_id": ["p1", "p1", "p2", "p3"], "practice_code": ["A81001", "A81002", "A81001", "A81001"],
    ...     "year_month_of_birth": ["200004", "200004", "195001", "198007"], "sex": ["2", "2", "M", "1"],
    ...     "registration_start": ["2019-05-01", "2025-10-01", "2001-01-01", "2001-01-01"],
    ...     "registration_end": ["2025-10-01", "", "", "2024-06-01"], "lsoa_code": ["E01011959"] * 4}),
    ...     outcome_year="2025/26")
    >>> people = extract.population
    >>> people.person_id.tolist(), people.practice_code.tolist(), people.age.tolist(), people.exposure.tolist()
    (['p1', 'p2'], ['A81002', 'A81001'], [24, 75], [1.0, 1.0])
    >>> extract.exclusions, extract.recoded
    ({'registration_outside_outcome_year': 1}, {'registration_folded_into_latest': 1, 'person_moved_practice': 1})
    """
    year = _year_option(outcome_year)
    if unknown_sex not in ("raise", "drop"):
        raise InputError(f"The 'unknown_sex' parameter of {_OWNER} must be 'raise' or 'drop'. Got {unknown_sex!r}. "
                         "Fix: unknown_sex='drop' leaves rows of sex 0, 9 or X out and counts them.")
    if multiple_registrations not in ("latest", "raise"):
        raise InputError(f"The 'multiple_registrations' parameter of {_OWNER} must be 'latest' or 'raise'. Got "
                         f"{multiple_registrations!r}. Fix: 'latest' keeps each person at their latest "
                         "registration, 'raise' refuses people registered at two practices.")
    if isinstance(day_of_birth, bool) or not isinstance(day_of_birth, (int, np.integer)) or not 1 <= day_of_birth <= 28:
        raise InputError(f"The 'day_of_birth' parameter of {_OWNER} must be a whole day of the month from 1 to 28. "
                         f"Got {day_of_birth!r}. Fix: day_of_birth=15 (mid-month, the default).")
    names = _column_names(columns)
    frame = read_table(source, "source", text=True)
    label = "registration extract"
    missing = [names[k] for k in _EXTRACT_REQUIRED if names[k] not in frame.columns]
    if missing:
        raise SchemaError(f"The {label} lacks the field(s) {missing}. It has {list(frame.columns)[:12]}"
                          f"{' ...' if frame.shape[1] > 12 else ''}. Fix: pass columns={{'person_id': 'your_name', "
                          "...}} for fields named differently.")
    if len(frame) == 0:
        raise InputError(f"The {label} is empty. Fix: pass at least one registration.")
    ids = check_identifiers(frame, label, names["person_id"])
    index = frame.index
    exclusions: dict[str, int] = {}
    recoded: dict[str, int] = {}

    def leave_out(reason: str, rows: np.ndarray) -> np.ndarray:
        if rows.any():
            exclusions[reason] = exclusions.get(reason, 0) + int(rows.sum())
        return rows

    out = leave_out("registration_exact_duplicate", frame.duplicated(keep="first").to_numpy())
    practice = _text(frame[names["practice_code"]])
    null = np.isin(practice, NULL_PRACTICE_CODES) | (practice == "")
    out = out | leave_out("practice_null_code", null & ~out)

    fy_start, fy_end = _outcome_year_bounds(year, "read registrations")
    start = _dates(frame, label, names["registration_start"], ids)
    end = (_dates(frame, label, names["registration_end"], ids) if names["registration_end"] in frame.columns
           else pd.Series(pd.NaT, index=index, dtype="datetime64[ns]"))
    backwards = (start.notna() & end.notna() & (end <= start)).to_numpy() & ~out
    if backwards.any():
        shown = np.full(len(frame), None, dtype=object)
        for k in np.flatnonzero(backwards)[:5]:  # the rows named in the message only
            shown[k] = f"{start.iloc[k].date()} to {end.iloc[k].date()}"
        raise InputError(f"The {label} has {int(backwards.sum()):,} registration(s) that end on or before they start "
                         f"({names['registration_end']!r} is the first day no longer registered): "
                         f"{describe_rows(index, backwards, shown, ids)}. Fix: correct those dates, or remove the "
                         "rows.")
    during = ((start.isna() | (start < fy_end)) & (end.isna() | (end > fy_start))).to_numpy()
    out = out | leave_out("registration_outside_outcome_year", ~during & ~out)

    raw_sex = frame[names["sex"]]
    sex, sex_unknown, sex_bad = _sex_codes(raw_sex)
    bad = sex_bad & ~out
    if bad.any():
        raise InputError(f"The {label}'s field {names['sex']!r} must be 1 (male), 2 (female), M or F, or 0, 9 or X "
                         f"(not known). Got {int(bad.sum()):,} other value(s): "
                         f"{describe_rows(index, bad, raw_sex.to_numpy(dtype=object), ids)}. Fix: map your source's "
                         "codes to these.")
    unknown = sex_unknown & ~out
    if unknown.any() and unknown_sex == "raise":
        raise InputError(f"The {label}'s field {names['sex']!r} is 0, 9 or X (not known) in {int(unknown.sum()):,} "
                         f"row(s) otherwise used: {describe_rows(index, unknown, raw_sex.to_numpy(dtype=object), ids)}."
                         f" Fix: {_OWNER}(..., unknown_sex='drop') leaves them out and counts them; the model's "
                         "age-sex cells need male or female.")
    out = out | leave_out("sex_not_known", unknown)
    used = ~out
    if not used.any():
        raise InputError(f"No row of the {label} is used for {year}: {exclusions}. Fix: check the outcome year and "
                         "the practice codes.")

    raw_birth = frame[names["year_month_of_birth"]]
    born_year, born_month, birth_bad = _year_months(raw_birth)
    bad = birth_bad & used
    if bad.any():
        raise InputError(f"The {label}'s field {names['year_month_of_birth']!r} must be the month of birth as YYYYMM "
                         f"(month 01 to 12). Got {int(bad.sum()):,} other value(s), blanks included: "
                         f"{describe_rows(index, bad, raw_birth.to_numpy(dtype=object), ids)}. Fix: correct those "
                         "rows; people of unknown month of birth cannot be given an age, so remove them (and count "
                         "them) if it cannot be found.")

    rows = np.flatnonzero(used)
    keep, exposure, moved = _one_row_per_person(ids, practice, start, end, rows, index, year, recoded,
                                                sex_and_birth=(sex, raw_birth.to_numpy(dtype=object)), label=label)
    if moved is not None and multiple_registrations == "raise":
        raise InputError(f"{len(moved):,} person(s) in the {label} are registered at more than one practice during "
                         f"{year}: {moved[:5]}. Fix: multiple_registrations='latest' keeps each at their latest "
                         "registration (their whole registered time counts in the exposure).")

    born = pd.to_datetime(pd.DataFrame({"year": born_year[keep], "month": born_month[keep],
                                        "day": np.full(len(keep), int(day_of_birth))}))
    late = (born >= fy_end).to_numpy()
    if late.any():
        raise InputError(f"The {label} has {int(late.sum()):,} person(s) born after {year} ends, yet registered during "
                         f"it: {describe_rows(index[keep], late, raw_birth.to_numpy(dtype=object)[keep], ids[keep])}."
                         " Fix: correct their month of birth or registration dates.")
    newborn = (born > fy_start).to_numpy()
    if newborn.any():
        recoded["born_during_outcome_year"] = int(newborn.sum())
    people = pd.DataFrame({
        "person_id": ids[keep],
        "practice_code": practice[keep],
        "sex": sex[keep],
        "date_of_birth": born.where(~newborn, fy_start).to_numpy(),  # born in the year: age 0 at its start
        "lsoa_code": _text(frame[names["lsoa_code"]])[keep],
        "exposure": exposure,
    }, index=index[keep])
    try:
        population = Population.from_frame(people, cost=None, exposure="exposure", outcome_year=year,
                                           practice_pattern=practice_pattern)
    except CapitationError as exc:  # its messages name the people table; say which extract and fields they are
        raise type(exc)(f"Reading the {label} (fields {names}): {exc}", parameter="source") from exc
    return RegistrationExtract(population, exclusions, recoded, year, int(day_of_birth), len(frame))


def _year_option(value) -> str:
    try:
        return financial_year(value)
    except InputError as exc:
        raise InputError(f"The 'outcome_year' parameter of {_OWNER} is not valid: {exc}") from None


def _column_names(columns) -> dict:
    names = {k: k for k in EXTRACT_COLUMNS}
    if columns is None:
        return names
    if not isinstance(columns, Mapping):
        raise InputError(f"The 'columns' parameter of {_OWNER} must be a dict of the reader's field names to yours. "
                         f"Got {type(columns).__name__}. Fix: e.g. columns={{'person_id': 'NHS_NUMBER_PSEUDO'}}.")
    unknown = [k for k in columns if k not in names]
    if unknown:
        raise InputError(f"The 'columns' parameter of {_OWNER} names field(s) {unknown} the reader does not have. "
                         f"Fix: use the names {list(EXTRACT_COLUMNS)} as keys, your column names as values.")
    return names | {k: str(v) for k, v in columns.items()}


def _dates(frame: pd.DataFrame, label: str, column: str, ids) -> pd.Series:
    """Parse a date column as :func:`~capitation._validation.parse_dates` does, blank text as missing."""
    series = frame[column]
    if not may_hold_text(series):
        return parse_dates(frame, label, column, ids)
    # Text, or Arrow's dictionary-encoded text (read_table's CSV): each distinct value is parsed once, blanks
    # are missing; a value refused is refused again row by row, so that the message names the extract's rows.
    codes, uniques = factorize_column(series, label)
    distinct = np.array([None if isinstance(v, str) and not v.strip() else v for v in uniques], dtype=object)
    try:
        parsed = parse_dates(pd.DataFrame({column: distinct}), label, column).to_numpy()
    except CapitationError:
        rows = pd.DataFrame({column: distinct[codes]}, index=frame.index)
        return parse_dates(rows, label, column, ids)
    return pd.Series(parsed[codes], index=frame.index, dtype="datetime64[ns]")  # the trailing None: NaT


def _text(series: pd.Series) -> np.ndarray:
    """Return a column as stripped text (object array), ``""`` where missing; each distinct value converted once."""
    codes, uniques = factorize_column(series)
    clean = np.array([_plain_text(v) for v in uniques[:-1]] + [""], dtype=object)
    return clean[codes]  # missing (code -1) picks the trailing ""


def _plain_text(value) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))  # 200004.0, from a numeric column with blanks
    return str(value).strip()


def _sex_codes(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``M``/``F`` (``None`` elsewhere), the rows of a not-known code, and the rows of a code no rule reads."""
    codes, uniques = factorize_column(raw)
    spelt = [_plain_text(v).upper() for v in uniques[:-1]]
    known = np.array([_SEX_KNOWN.get(v) for v in spelt] + [None], dtype=object)
    not_known = np.array([v in _SEX_NOT_KNOWN for v in spelt] + [False])
    bad = np.array([v not in _SEX_KNOWN and v not in _SEX_NOT_KNOWN for v in spelt] + [True])
    return known[codes], not_known[codes], bad[codes]


def _year_months(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year and month of each ``YYYYMM`` (0 where not one), and the rows that are not."""
    codes, uniques = factorize_column(raw)
    years, months, bad = [], [], []
    for value in uniques[:-1]:
        match = _YYYYMM.fullmatch(_plain_text(value))
        ok = match is not None and 1 <= int(match.group(2)) <= 12 and 1800 <= int(match.group(1)) <= 2200
        years.append(int(match.group(1)) if ok else 0)
        months.append(int(match.group(2)) if ok else 0)
        bad.append(not ok)
    years, months, bad = np.array([*years, 0]), np.array([*months, 0]), np.array([*bad, True])
    return years[codes], months[codes], bad[codes]


def _one_row_per_person(ids, practice, start, end, rows, index, year, recoded, *, sex_and_birth, label):
    """Each person's latest registration among ``rows``, their exposure over all of them, and who moved practice.

    Returns the positions kept (in the extract's order), the exposure of each, and the people registered at two
    or more practices (``None`` when nobody was).
    """
    fy_start, fy_end = _outcome_year_bounds(year, "read registrations")
    dated = pd.DataFrame({"registration_start": start.to_numpy()[rows], "registration_end": end.to_numpy()[rows]},
                         index=index[rows])
    per_row = _exposure_from_registration(dated, ids[rows], year)  # Population's own rule: overlap with the year
    several = pd.Series(ids[rows]).duplicated(keep=False).to_numpy()
    if not several.any():
        return rows, np.minimum(per_row, 1.0), None
    sub = rows[several]
    person, _ = pd.factorize(ids[sub])
    lo = np.maximum(start.fillna(fy_start).to_numpy("datetime64[ns]").astype(np.int64)[sub], fy_start.value)
    hi = np.minimum(end.fillna(fy_end).to_numpy("datetime64[ns]").astype(np.int64)[sub], fy_end.value)
    order = np.lexsort((hi, lo, person))
    person_o, lo_o, hi_o, sub_o = person[order], lo[order], hi[order], sub[order]
    same = np.r_[False, person_o[1:] == person_o[:-1]]
    reach = pd.Series(hi_o).groupby(person_o).cummax().to_numpy()
    overlap = same & (lo_o < np.r_[0, reach[:-1]])
    if overlap.any():
        who = pd.unique(ids[sub_o[overlap]])[:5]
        detail = "; ".join(f"person_id {p!r} at rows {index[rows[ids[rows] == p]].tolist()[:4]}" for p in who[:3])
        raise InputError(f"The {label} has {int(overlap.sum()):,} registration(s) overlapping an earlier one of the "
                         f"same person during {year}: {detail}. A person is on one list at a time. Fix: end each "
                         "registration on the day the next begins, or remove duplicated registrations.")
    last = np.r_[~same[1:], True]
    folded = int((~last).sum())
    recoded["registration_folded_into_latest"] = folded
    pairs = pd.DataFrame({"person": person_o, "practice": practice[sub_o]}).drop_duplicates()
    counts = np.bincount(pairs["person"].to_numpy(), minlength=person.max() + 1)
    moved_people = np.flatnonzero(counts > 1)
    if len(moved_people):
        recoded["person_moved_practice"] = len(moved_people)
    sex, birth = sex_and_birth
    last_of = np.empty(person.max() + 1, dtype=np.int64)
    last_of[person_o[last]] = sub_o[last]
    differ = (sex[sub_o] != sex[last_of[person_o]]) | (birth[sub_o] != birth[last_of[person_o]])
    if differ.any():
        recoded["person_details_differ"] = len(np.unique(person_o[differ]))
    position = np.searchsorted(rows, sub)  # positions of these rows within ``rows`` (sorted)
    total = np.bincount(person, weights=per_row[position], minlength=person.max() + 1)
    keep = np.sort(np.concatenate([rows[~several], sub_o[last]]))
    exposure = pd.Series(per_row, index=rows)
    exposure.loc[sub_o[last]] = total[person_o[last]]
    moved = [ids[sub_o[last][person_o[last] == p][0]] for p in moved_people[:5]] if len(moved_people) else None
    if moved is not None:
        moved = [f"person_id {_plain(p)!r} at {sorted(set(practice[sub[person == q]]))}"
                 for p, q in zip(moved, moved_people[:5], strict=True)]
    return keep, np.minimum(exposure.loc[keep].to_numpy(), 1.0), moved


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# == Task B: NHS Digital's published registration files ========================================================

#: Each practice's code, by file: single ages (``ORG_CODE``; older files ``CODE``), LSOA and map (``PRACTICE_CODE``).
_PRACTICE_FIELDS = ("ORG_CODE", "CODE", "PRACTICE_CODE")
_TYPE_FIELDS = ("ORG_TYPE", "TYPE")
_SEXES = {"MALE": "M", "MALES": "M", "FEMALE": "F", "FEMALES": "F", "ALL": "ALL"}
#: ``Number of Patients`` (older LSOA files) and ``NUMBER_OF_PATIENTS`` are one field once headers are normalised.
_COUNT = "NUMBER_OF_PATIENTS"
_MONTHS = {m: k for k, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                                       "DEC"), start=1)}
_DATE_FORMS = (re.compile(r"([0-9]{1,2})([A-Za-z]{3})([0-9]{4})", re.ASCII),  # 01Jul2022, 04JAN2021
               re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII),  # 2022-07-01
               re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})", re.ASCII),  # 01/07/2022
               re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII))  # 20220701
#: The practice map's fields, by layout: since July 2022 (sub-ICB locations and ICBs), and before (CCGs, STPs).
_MAP_FIELDS = {
    "practice_name": ("PRACTICE_NAME",), "practice_postcode": ("PRACTICE_POSTCODE",),
    "pcn_code": ("PCN_CODE",), "pcn_name": ("PCN_NAME",),
    "sub_icb_code": ("SUB_ICB_LOCATION_CODE", "CCG_CODE"), "ons_sub_icb_code": ("ONS_SUB_ICB_LOCATION_CODE",
                                                                                 "ONS_CCG_CODE"),
    "sub_icb_name": ("SUB_ICB_LOCATION_NAME", "CCG_NAME"),
    "icb_code": ("ICB_CODE", "STP_CODE"), "ons_icb_code": ("ONS_ICB_CODE", "ONS_STP_CODE"),
    "icb_name": ("ICB_NAME", "STP_NAME"),
    "region_code": ("COMM_REGION_CODE",), "ons_region_code": ("ONS_COMM_REGION_CODE",),
    "region_name": ("COMM_REGION_NAME",),
}
_MAX_SINGLE_AGE = 95  # 95 stands for "95+"


@dataclass(frozen=True, eq=False, repr=False)
class NhsDigitalRegistrations(Result):
    """NHS Digital's "Patients Registered at a GP Practice" files for one extract, read and cross-checked.

    Attributes
    ----------
    list_sizes : pandas.DataFrame
        One row per practice in the single-age files, indexed by ``practice_code`` (sorted): ``female``,
        ``male`` (each file's ``ALL`` row; 0 where a practice is in one file only) and ``list_size`` (their
        sum), as int64.
    by_age : pandas.DataFrame
        ``practice_code``, ``sex`` (``F``/``M``), ``age`` (0–95, where 95 is the published ``95+``) and
        ``patients``: the single-age rows, whose sum per practice and sex is that ``ALL`` row.
    extract_date : pandas.Timestamp
        The snapshot's date (``EXTRACT_DATE``; the single-age files must agree).
    publication : str
        The ``PUBLICATION`` field, e.g. ``'GP_PRAC_PAT_LIST'`` (``""`` when absent).
    lsoa : pandas.DataFrame or None
        ``practice_code``, ``lsoa_code``, ``sex`` (``ALL``, ``F`` or ``M``, as the files give) and
        ``patients``, when LSOA files were given.
    lsoa_differences : pandas.DataFrame
        Practices whose LSOA total differs from their single-age ``ALL`` total, one row per practice and sex:
        ``practice_code``, ``sex``, ``list_size``, ``lsoa_total`` and ``difference`` (LSOA minus lists). Empty
        when they agree (or without LSOA files): a difference is reported here, never resolved by picking one.
    practice_map : pandas.DataFrame or None
        One row per practice of the map: ``practice_code``, ``practice_name``, ``practice_postcode``,
        ``pcn_code``, ``pcn_name``, ``sub_icb_code``, ``ons_sub_icb_code``, ``sub_icb_name``, ``icb_code``,
        ``ons_icb_code``, ``icb_name``, ``region_code``, ``ons_region_code``, ``region_name`` (``None`` where
        the file has no such field or a blank).
    map_layout : str
        ``"sub-ICB"`` (the map since July 2022), ``"CCG"`` (before: CCGs as the sub-ICB level, STPs as the
        ICB level) or ``""`` without a map.
    lsoa_extract_date, map_extract_date : pandas.Timestamp or None
        The LSOA files' and the map's own extract dates (they may be another month's: see ``summary()``).
    unmatched : dict of str → tuple of str
        Practice codes the files do not agree on, by what: ``in_one_sex_file_only``, ``not_in_map`` (lists
        without a map row: no membership can place them), ``not_in_lists`` (map rows without a list),
        ``not_in_lsoa``, ``lsoa_not_in_lists`` and ``without_<level>`` (map rows with a blank code at that
        level). Only non-empty entries are kept.
    excluded : dict of str → int
        Rows not used, by reason (``<file>_rows_not_gp_practice``: rows of another ``ORG_TYPE`` than ``GP``).
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> def one_sex(sex, n):
    ...     return pd.DataFrame({"PUBLICATION": "GP_PRAC_PAT_LIST", "EXTRACT_DATE": "2025-07-01",
    ...                          "ORG_CODE": "A81001", "SEX": sex, "AGE": ["0", "95+", "ALL"],
    ...                          "NUMBER_OF_PATIENTS": [n, 1, n + 1]})
    >>> lists = read_nhs_digital_registrations(one_sex("MALE", 10), one_sex("FEMALE", 20))
    >>> lists.list_sizes.to_dict("index")
    {'A81001': {'female': 21, 'male': 11, 'list_size': 32}}
    """

    list_sizes: pd.DataFrame
    by_age: pd.DataFrame
    extract_date: pd.Timestamp
    publication: str = ""
    lsoa: pd.DataFrame | None = None
    lsoa_differences: pd.DataFrame = field(default_factory=lambda: _empty_differences())
    practice_map: pd.DataFrame | None = None
    map_layout: str = ""
    lsoa_extract_date: pd.Timestamp | None = None
    map_extract_date: pd.Timestamp | None = None
    unmatched: dict = field(default_factory=dict)
    excluded: dict = field(default_factory=dict)

    def _frame(self) -> pd.DataFrame:
        return self.list_sizes

    def summary(self) -> str:
        """Describe the extract: practices and people registered, then every disagreement between the files.

        Returns
        -------
        str
            The headline, then one line per kind of unmatched practice, LSOA difference or row not used.

        Examples
        --------
        >>> import pandas as pd
        >>> def one_sex(sex, n):
        ...     return pd.DataFrame({"EXTRACT_DATE": "01Jul2025", "ORG_CODE": "A81001", "SEX": sex,
        ...                          "AGE": ["0", "ALL"], "NUMBER_OF_PATIENTS": [n, n]})
        >>> read_nhs_digital_registrations(one_sex("MALE", 10), one_sex("FEMALE", 20)).summary().splitlines()[0]
        'NHS Digital registrations as at 2025-07-01: 1 practices, 30 registered (10 male, 20 female)'
        """
        s = self.list_sizes
        lines = [f"NHS Digital registrations as at {self.extract_date.date()}: {len(s):,} practices, "
                 f"{int(s['list_size'].sum()):,} registered ({int(s['male'].sum()):,} male, "
                 f"{int(s['female'].sum()):,} female)"]
        for kind, stamp in (("map", self.map_extract_date), ("LSOA files", self.lsoa_extract_date)):
            if stamp is not None and stamp != self.extract_date:
                lines.append(f"  the {kind} are of another extract: {stamp.date()}")
        lines += [f"  practices {kind.replace('_', ' ')}: {len(codes):,} ({', '.join(codes[:5])}"
                  f"{', …' if len(codes) > 5 else ''})" for kind, codes in self.unmatched.items()]
        if len(self.lsoa_differences):
            d = self.lsoa_differences
            lines.append(f"  LSOA totals differ from the lists for {d['practice_code'].nunique():,} practice(s), "
                         f"{int(d['difference'].sum()):+,} people in all")
        lines += [f"  not used: {n:,} {reason.replace('_', ' ')}" for reason, n in self.excluded.items()]
        return "\n".join(lines)

    def age_bands(self, edges=(0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95)
                  ) -> pd.DataFrame:
        """Sum the single ages into age bands, practice by practice and sex by sex.

        Parameters
        ----------
        edges : sequence of int
            Increasing lower bounds of the bands, starting at 0 and at most 95 (the published ``95+`` is one age);
            the last band is open (``'95+'`` with the default five-year bands).

        Returns
        -------
        pandas.DataFrame
            ``practice_code``, ``sex``, ``age_band`` (``'0-4'`` … ``'95+'``, an ordered Categorical) and
            ``patients``, every band present for every practice and sex (zeros included).

        Raises
        ------
        InputError
            ``edges`` that do not start at 0, do not increase, or go beyond 95.

        Examples
        --------
        >>> import pandas as pd
        >>> def one_sex(sex, n):
        ...     return pd.DataFrame({"EXTRACT_DATE": "2025-07-01", "ORG_CODE": "A81001", "SEX": sex,
        ...                          "AGE": ["3", "70", "95+", "ALL"], "NUMBER_OF_PATIENTS": [n, n, 1, 2 * n + 1]})
        >>> lists = read_nhs_digital_registrations(one_sex("MALE", 10), one_sex("FEMALE", 20))
        >>> lists.age_bands(edges=(0, 65, 85)).query("sex == 'F'")["patients"].tolist()
        [20, 20, 1]
        """
        bounds = [int(e) for e in edges]
        if not bounds or bounds[0] != 0 or any(b <= a for a, b in itertools.pairwise(bounds)) \
                or bounds[-1] > _MAX_SINGLE_AGE:
            raise InputError(f"The 'edges' parameter of NhsDigitalRegistrations.age_bands must be increasing whole "
                             f"ages from 0 to at most 95. Got {list(edges)!r}. Fix: e.g. edges=(0, 5, 10, ..., 95).")
        labels = [f"{a}-{b - 1}" if b - 1 > a else f"{a}" for a, b in itertools.pairwise(bounds)]
        labels.append(f"{bounds[-1]}+")
        band = np.searchsorted(np.asarray(bounds), self.by_age["age"].to_numpy(), side="right") - 1
        grid = pd.MultiIndex.from_product([self.list_sizes.index, ["F", "M"], range(len(labels))],
                                          names=["practice_code", "sex", "band"])
        summed = (self.by_age.assign(band=band).groupby(["practice_code", "sex", "band"])["patients"].sum()
                  .reindex(grid, fill_value=0).reset_index())
        summed["age_band"] = pd.Categorical.from_codes(summed["band"].to_numpy(), categories=labels, ordered=True)
        return summed[["practice_code", "sex", "age_band", "patients"]].astype({"patients": np.int64})

    def membership_table(self, level: str = "ICB") -> pd.DataFrame:
        """Join the list sizes to the practice map at one level: the table a membership is built from.

        Practices without a map row, map rows without a list, and practices with a blank code at ``level`` are
        left out; each is counted in :attr:`unmatched` (``not_in_map``, ``not_in_lists``, ``without_<level>``).

        Parameters
        ----------
        level : {"ICB", "sub-ICB", "PCN", "region"}
            The map's grouping (see :data:`MAP_LEVELS`).

        Returns
        -------
        pandas.DataFrame
            ``practice_code``, ``practice_name``, ``consortium_code``, ``consortium_name`` and ``list_size``
            (the single-age files' ``ALL`` rows, male plus female), sorted by practice.

        Raises
        ------
        InputError
            No practice map was read, or ``level`` is not one of the four.

        Examples
        --------
        >>> import pandas as pd
        >>> def one_sex(sex, n):
        ...     return pd.DataFrame({"EXTRACT_DATE": "2025-07-01", "ORG_CODE": ["A81001", "A81001"], "SEX": sex,
        ...                          "AGE": ["40", "ALL"], "NUMBER_OF_PATIENTS": [n, n]})
        >>> practice_map = pd.DataFrame({"EXTRACT_DATE": "01Jul2025", "PRACTICE_CODE": ["A81001"],
        ...                              "PRACTICE_NAME": ["THE DENSHAM SURGERY"], "ICB_CODE": ["QHM"],
        ...                              "ICB_NAME": ["NHS North East and North Cumbria ICB"]})
        >>> lists = read_nhs_digital_registrations(one_sex("MALE", 5), one_sex("FEMALE", 7), practice_map=practice_map)
        >>> lists.membership_table("ICB")[["practice_code", "consortium_code", "list_size"]].values.tolist()
        [['A81001', 'QHM', 12]]
        """
        if level not in MAP_LEVELS:
            raise InputError(f"The 'level' parameter must be one of {list(MAP_LEVELS)}. Got {level!r}. Fix: e.g. "
                             "level='ICB', or level='sub-ICB' for sub-ICB locations (CCGs before July 2022).")
        if self.practice_map is None:
            raise InputError("These registrations were read without a practice map, so no practice has a "
                             f"{level}. Fix: read_nhs_digital_registrations(..., "
                             "practice_map='gp-reg-pat-prac-map.csv').")
        code, name = MAP_LEVELS[level]
        joined = self.practice_map.join(self.list_sizes["list_size"], on="practice_code", how="inner")
        joined = joined[joined[code].notna()]
        out = pd.DataFrame({"practice_code": joined["practice_code"].to_numpy(dtype=object),
                            "practice_name": joined["practice_name"].to_numpy(dtype=object),
                            "consortium_code": joined[code].to_numpy(dtype=object),
                            "consortium_name": joined[name].fillna(joined[code]).to_numpy(dtype=object),
                            "list_size": joined["list_size"].to_numpy(dtype=np.int64)})
        return out.sort_values("practice_code", ignore_index=True)


def read_nhs_digital_registrations(sing_age_male, sing_age_female, *, lsoa=None,
                                   practice_map=None) -> NhsDigitalRegistrations:
    """Read NHS Digital's "Patients Registered at a GP Practice" files of one extract, as published.

    The files (CSV read as text, Parquet, or DataFrames), their fields found by name whatever their order
    (headers are upper-cased with spaces as ``_``, so ``Number of Patients`` is ``NUMBER_OF_PATIENTS``):

    * ``gp-reg-pat-prac-sing-age-male.csv`` and ``-female.csv``: ``PUBLICATION``, ``EXTRACT_DATE``,
      ``ORG_TYPE`` or ``TYPE``, the practice as ``ORG_CODE`` (or ``CODE``), ``POSTCODE``, ``SEX``, ``AGE``
      (``0`` … ``94``, ``95+``, ``ALL``) and ``NUMBER_OF_PATIENTS``; other fields (``CCG_CODE``,
      ``SUB_ICB_LOCATION_CODE``, their ONS codes) are not used. Each practice's single ages must sum to its
      ``ALL`` row, and a practice and age may appear once. Rows whose ``ORG_TYPE`` is not ``GP`` are counted
      and left out.
    * ``gp-reg-pat-prac-lsoa-all.csv`` (or ``-male``/``-female``; quarterly): ``PUBLICATION``, ``EXTRACT_DATE``,
      ``PRACTICE_CODE``, ``PRACTICE_NAME``, ``LSOA_CODE``, ``SEX`` (``ALL``, ``MALE``, ``FEMALE``) and
      ``NUMBER_OF_PATIENTS``. Each practice's total is compared with its lists, sex by sex; differences are
      reported in :attr:`NhsDigitalRegistrations.lsoa_differences`.
    * ``gp-reg-pat-prac-map.csv``: ``PRACTICE_CODE``, ``PRACTICE_NAME``, ``PRACTICE_POSTCODE``, ``PCN_CODE``,
      ``PCN_NAME``, ``SUB_ICB_LOCATION_CODE``, ``ONS_SUB_ICB_LOCATION_CODE``, ``SUB_ICB_LOCATION_NAME``,
      ``ICB_CODE``, ``ONS_ICB_CODE``, ``ICB_NAME``, ``COMM_REGION_CODE``, ``ONS_COMM_REGION_CODE``,
      ``COMM_REGION_NAME`` (and ``SUPPLIER_NAME``, not used); before July 2022 ``CCG_*`` and ``STP_*`` in place
      of the sub-ICB and ICB fields. A practice may appear once.

    ``EXTRACT_DATE`` is read as written in any of the publication's forms: ``01Jul2022``, ``01JUL2022``,
    ``2022-07-01``, ``01/07/2022`` or ``20220701``.

    Parameters
    ----------
    sing_age_male, sing_age_female : pandas.DataFrame, str or path
        The single-year-of-age files of male and female patients (``SEX`` ``MALE`` and ``FEMALE``).
    lsoa : pandas.DataFrame, str, path or list of them, optional
        The practice × LSOA file(s) of the same extract.
    practice_map : pandas.DataFrame, str or path, optional
        The practice → PCN → sub-ICB → ICB → region map.

    Returns
    -------
    NhsDigitalRegistrations
        List sizes, single ages, LSOA counts and the map, with every practice the files disagree on counted in
        ``unmatched``.

    Raises
    ------
    SchemaError
        A file lacks a field it needs.
    InputError
        A practice whose single ages do not sum to its ``ALL`` row (the message names the practices and both
        totals), a practice without an ``ALL`` row, an age, sex or count that is not one of the publication's,
        a practice and age (or LSOA) given twice, a practice twice in the map, an extract date that is not
        one of the forms above, or male and female files of different extracts.

    Examples
    --------
    >>> import pandas as pd
    >>> male = pd.DataFrame({"EXTRACT_DATE": "2025-07-01", "ORG_CODE": "A81001", "SEX": "MALE",
    ...                      "AGE": ["0", "1", "ALL"], "NUMBER_OF_PATIENTS": [3, 4, 8]})
    >>> female = male.assign(SEX="FEMALE")
    >>> read_nhs_digital_registrations(male, female)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'sing_age_male' file's single ages do not sum to the ALL row for 1 practice(s):
    A81001: 0 to 95+ sum to 7, ALL is 8. ...
    """
    excluded: dict[str, int] = {}
    male, male_date, publication = _single_ages(sing_age_male, "sing_age_male", "M", excluded)
    female, female_date, _ = _single_ages(sing_age_female, "sing_age_female", "F", excluded)
    if male_date != female_date:
        raise InputError(f"The single-age files are of different extracts: 'sing_age_male' of {male_date.date()}, "
                         f"'sing_age_female' of {female_date.date()}. Fix: pass the two files of one month's "
                         "publication.")
    totals = pd.concat({"female": female[1], "male": male[1]}, axis=1)
    unmatched: dict[str, tuple] = {}
    _note(unmatched, "in_one_sex_file_only", totals.index[totals.isna().any(axis=1).to_numpy()])
    sizes = totals.fillna(0).astype(np.int64).sort_index()
    sizes["list_size"] = sizes["female"] + sizes["male"]
    sizes.index.name = "practice_code"
    by_age = pd.concat([female[0], male[0]], ignore_index=True).sort_values(["practice_code", "sex", "age"],
                                                                            ignore_index=True)

    lsoa_frame, lsoa_date, differences = None, None, _empty_differences()
    if lsoa is not None:
        lsoa_frame, lsoa_date = _lsoa_counts(lsoa)
        differences = _compare_lsoa(lsoa_frame, sizes)
        present = pd.Index(pd.unique(lsoa_frame["practice_code"]))
        _note(unmatched, "not_in_lsoa", sizes.index.difference(present))
        _note(unmatched, "lsoa_not_in_lists", present.difference(sizes.index))

    map_frame, layout, map_date = None, "", None
    if practice_map is not None:
        map_frame, layout, map_date = _practice_map(practice_map)
        mapped = pd.Index(map_frame["practice_code"])
        _note(unmatched, "not_in_map", sizes.index.difference(mapped))
        _note(unmatched, "not_in_lists", mapped.difference(sizes.index))
        for level, (code, _) in MAP_LEVELS.items():
            _note(unmatched, f"without_{level}", mapped[map_frame[code].isna().to_numpy()])
    return NhsDigitalRegistrations(sizes, by_age, male_date, publication, lsoa_frame, differences, map_frame, layout,
                                   lsoa_date, map_date, unmatched, excluded)


def _note(into: dict, kind: str, codes) -> None:
    codes = tuple(sorted(str(c) for c in codes))
    if codes:
        into[kind] = codes


def _empty_differences() -> pd.DataFrame:
    return pd.DataFrame({"practice_code": pd.Series(dtype=object), "sex": pd.Series(dtype=object),
                         "list_size": pd.Series(dtype=np.int64), "lsoa_total": pd.Series(dtype=np.int64),
                         "difference": pd.Series(dtype=np.int64)})


def _published(source, name: str) -> pd.DataFrame:
    """Read a published file as text, its headers upper-cased with spaces as underscores."""
    frame = read_table(source, name, text=True)
    headers = [re.sub(r"\s+", "_", str(c).strip()).upper() for c in frame.columns]
    if len(set(headers)) != len(headers):
        raise SchemaError(f"The {name!r} file has fields that are one name once upper-cased: {list(frame.columns)}. "
                          "Fix: rename or drop the repeated field.")
    return frame.set_axis(headers, axis=1)


def _field(frame: pd.DataFrame, name: str, choices: tuple, *, required: bool = True) -> str | None:
    found = next((c for c in choices if c in frame.columns), None)
    if found is None and required:
        raise SchemaError(f"The {name!r} file lacks the field {' or '.join(choices)}. It has "
                          f"{list(frame.columns)[:16]}. Fix: pass the file as published by NHS Digital (fields are "
                          "found by name, in any order and case).")
    return found


def _strip(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.Series(_text(frame[column]), index=frame.index)


def _counts(frame: pd.DataFrame, name: str) -> np.ndarray:
    raw = _strip(frame, _COUNT)
    number = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(number) | (number < 0) | (number != np.floor(number))
    if bad.any():
        raise InputError(f"The {name!r} file's field NUMBER_OF_PATIENTS must hold whole numbers of people. Got "
                         f"{describe_rows(frame.index, bad, raw.to_numpy(dtype=object))}. Fix: pass the file as "
                         "published (no thousands separators, no suppression marks).")
    return number.astype(np.int64)


def _extract_date(frame: pd.DataFrame, name: str, *, required: bool = True) -> pd.Timestamp | None:
    if "EXTRACT_DATE" not in frame.columns:
        if required:
            _field(frame, name, ("EXTRACT_DATE",))
        return None
    values = pd.unique(_strip(frame, "EXTRACT_DATE").to_numpy(dtype=object))
    dates = {_one_extract_date(v, name) for v in values}
    if len(dates) != 1:
        raise InputError(f"The {name!r} file holds {len(dates)} extract dates, {sorted(str(d.date()) for d in dates)}"
                         " (EXTRACT_DATE). Fix: one file per extract: pass each month's files separately.")
    return dates.pop()


def _one_extract_date(value: str, name: str) -> pd.Timestamp:
    for k, form in enumerate(_DATE_FORMS):
        match = form.fullmatch(value)
        if match is None:
            continue
        a, b, c = match.groups()
        try:
            if k == 0:
                month = _MONTHS.get(b.upper())
                if month is not None:
                    return pd.Timestamp(_dt.date(int(c), month, int(a)))
            elif k in (1, 3):
                return pd.Timestamp(_dt.date(int(a), int(b), int(c)))
            else:
                return pd.Timestamp(_dt.date(int(c), int(b), int(a)))
        except ValueError:
            break
    raise InputError(f"The {name!r} file's EXTRACT_DATE {value!r} is not a date in any of the publication's forms "
                     "(01Jul2022, 01JUL2022, 2022-07-01, 01/07/2022, 20220701). Fix: pass the file as published, or "
                     "write the date as YYYY-MM-DD.")


def _single_ages(source, name: str, sex: str, excluded: dict):
    """One sex's single ages: (long rows, ALL total by practice), the extract date and the publication."""
    frame = _published(source, name)
    practice_field = _field(frame, name, _PRACTICE_FIELDS)
    for needed in ("SEX", "AGE", _COUNT):
        _field(frame, name, (needed,))
    date = _extract_date(frame, name)
    type_field = _field(frame, name, _TYPE_FIELDS, required=False)
    if type_field is not None:
        other = (_strip(frame, type_field).str.upper() != "GP").to_numpy()
        if other.any():
            excluded[f"{name}_rows_not_gp_practice"] = int(other.sum())
            frame = frame[~other]
    if len(frame) == 0:
        raise InputError(f"The {name!r} file has no GP practice rows. Fix: pass the practice file "
                         "(gp-reg-pat-prac-sing-age-...), not the regions' one.")
    publication = ", ".join(sorted(set(_strip(frame, "PUBLICATION")) - {""})) if "PUBLICATION" in frame.columns else ""
    practice = _strip(frame, practice_field)
    blank = (practice == "").to_numpy()
    if blank.any():
        raise InputError(f"The {name!r} file's field {practice_field} is blank at "
                         f"{describe_rows(frame.index, blank, practice.to_numpy(dtype=object))}. Fix: pass the file "
                         "as published.")
    sexes = _strip(frame, "SEX").str.upper()
    wrong = (sexes.map(_SEXES) != sex).to_numpy()
    if wrong.any():
        expected = "MALE" if sex == "M" else "FEMALE"
        raise InputError(f"The {name!r} file must hold SEX {expected} only. Got "
                         f"{describe_rows(frame.index, wrong, sexes.to_numpy(dtype=object))}. Fix: pass "
                         "gp-reg-pat-prac-sing-age-male.csv as sing_age_male and the female file as sing_age_female.")
    ages_raw = _strip(frame, "AGE").str.upper()
    codes, uniques = pd.factorize(ages_raw)
    age_of = np.array([_age_value(v) for v in uniques], dtype=np.int64)
    age = age_of[codes]
    bad = age < -1
    if bad.any():
        raise InputError(f"The {name!r} file's field AGE must be 0 to 94, 95+ or ALL. Got "
                         f"{describe_rows(frame.index, bad, ages_raw.to_numpy(dtype=object))}. Fix: pass the "
                         "single-year-of-age file as published (not the five-year bands).")
    count = _counts(frame, name)
    rows = pd.DataFrame({"practice_code": practice.to_numpy(dtype=object), "age": age, "patients": count})
    repeated = rows.duplicated(["practice_code", "age"], keep=False).to_numpy()
    if repeated.any():
        pairs = rows[repeated].drop_duplicates(["practice_code", "age"]).head(5)
        shown = ", ".join(f"{p} age {'ALL' if a < 0 else ('95+' if a == _MAX_SINGLE_AGE else a)}"
                          for p, a in zip(pairs["practice_code"], pairs["age"], strict=True))
        raise InputError(f"The {name!r} file gives {int(repeated.sum()):,} rows for practice and age pairs that "
                         f"appear more than once, e.g. {shown}. Fix: each practice's age appears once (NHS Digital "
                         "reissued May 2024's files for 95+ appearing several times): use the corrected file.")
    is_all = rows["age"].to_numpy() < 0
    total = rows[is_all].set_index("practice_code")["patients"]
    singles = rows[~is_all]
    summed = singles.groupby("practice_code")["patients"].sum()
    no_all = summed.index.difference(total.index)
    if len(no_all):
        raise InputError(f"The {name!r} file has no ALL row for {len(no_all):,} practice(s): "
                         f"{no_all[:5].tolist()}. Fix: pass the file as published; each practice's ALL row is its "
                         "registered list.")
    summed = summed.reindex(total.index, fill_value=0)
    mismatch = summed.to_numpy() != total.to_numpy()
    if mismatch.any():
        shown = "; ".join(f"{p}: 0 to 95+ sum to {s:,}, ALL is {t:,}" for p, s, t in
                          zip(total.index[mismatch][:5], summed.to_numpy()[mismatch][:5],
                              total.to_numpy()[mismatch][:5], strict=True))
        raise InputError(f"The {name!r} file's single ages do not sum to the ALL row for {int(mismatch.sum()):,} "
                         f"practice(s): {shown}. Fix: use a complete, uncorrupted copy of the publication's file; "
                         "neither total is picked for you.")
    long = singles.assign(sex=sex)[["practice_code", "sex", "age", "patients"]]
    return (long, total.sort_index()), date, publication


def _age_value(text: str) -> int:
    """Read a published AGE as a number: 0–94, 95 for '95+', -1 for 'ALL', -2 for anything else."""
    if text == "ALL":
        return -1
    if text == "95+":
        return _MAX_SINGLE_AGE
    if text.isascii() and text.isdigit() and int(text) < _MAX_SINGLE_AGE:
        return int(text)
    return -2


def _lsoa_counts(sources) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    many = isinstance(sources, (list, tuple))
    parts, dates = [], set()
    for k, source in enumerate(sources if many else [sources]):
        name = f"lsoa[{k}]" if many else "lsoa"
        frame = _published(source, name)
        for needed in ("PRACTICE_CODE", "LSOA_CODE", "SEX", _COUNT):
            _field(frame, name, (needed,))
        stamp = _extract_date(frame, name, required=False)
        if stamp is not None:
            dates.add(stamp)
        sexes = _strip(frame, "SEX").str.upper()
        sex = sexes.map(_SEXES)
        bad = sex.isna().to_numpy()
        if bad.any():
            raise InputError(f"The {name!r} file's field SEX must be ALL, MALE or FEMALE. Got "
                             f"{describe_rows(frame.index, bad, sexes.to_numpy(dtype=object))}. Fix: pass the file as "
                             "published.")
        parts.append(pd.DataFrame({"practice_code": _text(frame["PRACTICE_CODE"]),
                                   "lsoa_code": _text(frame["LSOA_CODE"]), "sex": sex.to_numpy(dtype=object),
                                   "patients": _counts(frame, name)}))
    if len(dates) > 1:
        raise InputError(f"The LSOA files are of different extracts: {sorted(str(d.date()) for d in dates)}. Fix: pass "
                         "the files of one publication.")
    counts = pd.concat(parts, ignore_index=True)
    repeated = counts.duplicated(["practice_code", "lsoa_code", "sex"], keep=False).to_numpy()
    if repeated.any():
        shown = counts[repeated].drop_duplicates(["practice_code", "lsoa_code", "sex"]).head(5)
        raise InputError(f"The LSOA file(s) give {int(repeated.sum()):,} rows for practice, LSOA and sex cells that "
                         f"appear more than once, e.g. {shown[['practice_code', 'lsoa_code', 'sex']].values.tolist()}. "
                         "Fix: pass each file once (the ALL file, or the MALE and FEMALE files, or all three).")
    return counts, (dates.pop() if dates else None)


def _compare_lsoa(counts: pd.DataFrame, sizes: pd.DataFrame) -> pd.DataFrame:
    """Practice × sex totals of the LSOA files against the single-age ALL rows, where they differ."""
    lists = {"ALL": sizes["list_size"], "M": sizes["male"], "F": sizes["female"]}
    totals = counts.groupby(["sex", "practice_code"])["patients"].sum()
    parts = []
    for sex, total in totals.groupby(level="sex"):
        total = total.droplevel("sex")
        shared = total.index.intersection(sizes.index)
        listed = lists[sex].reindex(shared).to_numpy(dtype=np.int64)
        found = total.reindex(shared).to_numpy(dtype=np.int64)
        differ = listed != found
        parts.append(pd.DataFrame({"practice_code": shared[differ].to_numpy(dtype=object), "sex": sex,
                                   "list_size": listed[differ], "lsoa_total": found[differ],
                                   "difference": found[differ] - listed[differ]}))
    out = pd.concat([_empty_differences(), *parts], ignore_index=True)
    return out.astype({"list_size": np.int64, "lsoa_total": np.int64, "difference": np.int64}).sort_values(
        ["practice_code", "sex"], ignore_index=True)


def _practice_map(source) -> tuple[pd.DataFrame, str, pd.Timestamp | None]:
    frame = _published(source, "practice_map")
    _field(frame, "practice_map", ("PRACTICE_CODE",))
    layout = "sub-ICB" if "SUB_ICB_LOCATION_CODE" in frame.columns else ("CCG" if "CCG_CODE" in frame.columns else "")
    stamp = _extract_date(frame, "practice_map", required=False)
    out = pd.DataFrame({"practice_code": _text(frame["PRACTICE_CODE"])}, index=frame.index)
    for column, choices in _MAP_FIELDS.items():
        found = _field(frame, "practice_map", choices, required=False)
        values = _text(frame[found]) if found is not None else np.full(len(frame), "", dtype=object)
        out[column] = np.where(values == "", None, values)
    blank = (out["practice_code"] == "").to_numpy()
    if blank.any():
        raise InputError(f"The 'practice_map' file's PRACTICE_CODE is blank at rows {frame.index[blank][:5].tolist()}. "
                         "Fix: pass the map as published.")
    repeated = out["practice_code"].duplicated(keep=False).to_numpy()
    if repeated.any():
        codes = sorted(pd.unique(out["practice_code"][repeated]))
        raise InputError(f"The 'practice_map' file lists {len(codes):,} practice(s) more than once: {codes[:5]}. A "
                         "practice has one PCN, sub-ICB location and ICB at a time (NHS Digital reissued May 2024's "
                         "publication for such a duplicate, K82057). Fix: use the corrected map.")
    return out.sort_values("practice_code", ignore_index=True), layout, stamp


# == Task C: ODS successions ===================================================================================

#: The fields of ODS's ``succ.csv``, in the published order (the file has no header row).
SUCCESSION_COLUMNS = ("predecessor_code", "successor_code", "reason", "effective_date", "indicator")


@dataclass(frozen=True, eq=False)
class Successions:
    """Organisation successions (ODS ``succ.csv``): which code took over from which, and from when.

    Build one with :meth:`read`. Chains are followed (A → B → C maps A to C) and only successions in force on
    the day asked for apply, so a population of the look-back years can be placed with the practices of the
    allocation year (:meth:`remap_population`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per succession, sorted: ``predecessor_code``, ``successor_code``, ``reason``,
        ``effective_date`` (Timestamp) and ``indicator``, as published.
    duplicates : int
        Exact duplicate rows of the source, used once.

    Examples
    --------
    >>> import pandas as pd
    >>> succ = Successions.read(pd.DataFrame({"predecessor_code": ["A81002"], "successor_code": ["A81001"],
    ...                                       "effective_date": ["20240401"]}))
    >>> succ.resolve(["A81002", "A81003"]).codes.tolist()
    ['A81001', 'A81003']
    """

    table: pd.DataFrame
    duplicates: int = 0

    @classmethod
    def read(cls, source) -> Successions:
        """Read successions: ODS's headerless ``succ.csv``, or a table with named columns.

        Parameters
        ----------
        source : str, path or pandas.DataFrame
            A ``.csv`` file in ODS's published layout, without a header row: predecessor code, successor code,
            reason for succession, effective date (``YYYYMMDD``) and succession indicator. Or a DataFrame (or
            Parquet file) with columns ``predecessor_code``, ``successor_code`` and ``effective_date``
            (``YYYYMMDD``, ``YYYY-MM-DD`` or dates) and optionally ``reason`` and ``indicator``; a frame with
            the five positional columns 0–4 is read as the published layout.

        Returns
        -------
        Successions

        Raises
        ------
        SchemaError
            A column is missing, or a CSV file has fewer than four fields.
        InputError
            A blank code or date, or a date that does not parse; the message names the rows.

        Examples
        --------
        >>> import pandas as pd
        >>> succ = Successions.read(pd.DataFrame([["B82010", "B82005", "R", "20230401", ""]]))
        >>> succ.table[["predecessor_code", "successor_code", "effective_date"]].values.tolist()
        [['B82010', 'B82005', Timestamp('2023-04-01 00:00:00')]]
        """
        frame = _succession_frame(source)
        missing = [c for c in ("predecessor_code", "successor_code", "effective_date") if c not in frame.columns]
        if missing:
            raise SchemaError(f"The 'successions' table lacks the column(s) {missing}. It has {list(frame.columns)}. "
                              "Fix: name them predecessor_code, successor_code and effective_date, or pass ODS's "
                              "headerless succ.csv as published.")
        table = pd.DataFrame({c: (_text(frame[c]) if c in frame.columns and c != "effective_date" else
                                  np.full(len(frame), "", dtype=object)) for c in SUCCESSION_COLUMNS},
                             index=frame.index)
        for column in ("predecessor_code", "successor_code"):
            blank = (table[column] == "").to_numpy()
            if blank.any():
                raise InputError(f"The 'successions' table's column {column!r} is blank at "
                                 f"{describe_rows(frame.index, blank, table[column].to_numpy())}. Fix: every "
                                 "succession names the organisation closed and the one succeeding it.")
        table["effective_date"] = _succession_dates(frame["effective_date"])
        dup = table.duplicated(keep="first").to_numpy()
        table = table[~dup].sort_values(["effective_date", "predecessor_code", "successor_code"], ignore_index=True)
        return cls(table, int(dup.sum()))

    def resolve(self, codes, at=None) -> Resolution:
        """Map codes onto their successors as of a day, following chains.

        Only successions effective on or before ``at`` apply (all of them by default). A code succeeded more
        than once (on different days) takes its latest succession in force; two different successors on the
        same day are refused, as is a cycle (A → B → A), since neither has one answer.

        Parameters
        ----------
        codes : array-like of str
            Codes to map, e.g. a population's ``practice_code``.
        at : date-like or financial year, optional
            The day (a financial year stands for its 1 April: ``'2025/26'`` is 2025-04-01); ``None`` applies
            every succession.

        Returns
        -------
        Resolution
            The mapped codes (codes without a succession unchanged) and how many were mapped.

        Raises
        ------
        InputError
            A cycle among the successions in force (the message names it), a code succeeded by two codes on
            one day, or an ``at`` that is not a date.

        Examples
        --------
        >>> import pandas as pd
        >>> succ = Successions.read(pd.DataFrame({"predecessor_code": ["A1", "B1"], "successor_code": ["B1", "C1"],
        ...                                       "effective_date": ["20230401", "20260401"]}))
        >>> succ.resolve(["A1", "B1", "Z9"]).codes.tolist(), succ.resolve(["A1"], at="2025/26").codes.tolist()
        (['C1', 'C1', 'Z9'], ['B1'])
        >>> succ.resolve(["A1", "A1", "Z9"]).mapped
        2
        """
        day = None if at is None else _as_day(at)
        final, length = _follow(self._steps(day))  # every predecessor's final successor, once
        values = np.asarray(codes, dtype=object).reshape(-1)
        position, distinct = pd.factorize(values, use_na_sentinel=True)
        distinct = np.asarray(distinct, dtype=object)
        where = pd.Index(final.index).get_indexer(distinct)
        changed = where >= 0
        mapped = distinct.copy()
        mapped[changed] = final.to_numpy(dtype=object)[where[changed]]
        out = np.append(mapped, None)[position]  # missing codes stay missing
        count = np.bincount(position[position >= 0], minlength=len(distinct))
        table = pd.DataFrame({"code": distinct[changed], "successor": mapped[changed],
                              "steps": length[where[changed]], "count": count[changed]})
        table = table.sort_values("code", ignore_index=True)
        return Resolution(out, int(table["count"].sum()), table, day)

    def remap_population(self, population: Population, at=None) -> Population:
        """Place each person with their practice's successor as of a day: a new population, practice codes mapped.

        The look-back years' people of a practice that merged before the allocation year keep their records
        (diagnoses link by ``person_id``), and are now listed under the practice the allocation year's
        membership holds. Counts: :meth:`resolve` on ``population.practice_code`` with the same ``at``.

        Parameters
        ----------
        population : Population
            The people (not changed).
        at : date-like or financial year, optional
            As for :meth:`resolve`: typically the allocation year, e.g. ``'2025/26'``.

        Returns
        -------
        Population
            A copy (``dataclasses.replace``) whose ``practice_code`` holds the successors.

        Examples
        --------
        >>> import pandas as pd
        >>> people = Population.from_frame(pd.DataFrame({"person_id": [1, 2], "practice_code": ["A81002", "A81001"],
        ...     "sex": ["F", "M"], "age": [40, 50], "lsoa_code": ["E01011959"] * 2}))
        >>> succ = Successions.read(pd.DataFrame([["A81002", "A81001", "R", "20240401", ""]]))
        >>> succ.remap_population(people, at="2025/26").practice_code.tolist()
        ['A81001', 'A81001']
        """
        if not isinstance(population, Population):
            raise InputError(f"The 'population' parameter of Successions.remap_population must be a Population. Got "
                             f"{type(population).__name__}. Fix: Population.from_frame(people) first.")
        resolved = self.resolve(population.practice_code, at)
        return dataclasses.replace(population, practice_code=np.asarray(resolved.codes, dtype=object))

    def __repr__(self) -> str:
        dates = self.table["effective_date"]
        span = f", effective {dates.min().date()} to {dates.max().date()}" if len(dates) else ""
        return f"Successions({len(self.table):,} successions{span})"

    def _steps(self, day) -> pd.Series:
        """One step per predecessor: its successor, by its latest succession in force on ``day``."""
        live = self.table if day is None else self.table[self.table["effective_date"] <= day]
        latest = live.groupby("predecessor_code")["effective_date"].transform("max")
        live = live[(live["effective_date"] == latest).to_numpy()].drop_duplicates(["predecessor_code",
                                                                                    "successor_code"])
        split = live["predecessor_code"].duplicated(keep=False).to_numpy()
        if split.any():
            clash = live[split]
            codes = pd.unique(clash["predecessor_code"])
            detail = "; ".join(  # the error path: the first few codes only
                f"{c} → {sorted(clash.loc[clash.predecessor_code == c, 'successor_code'])} on "
                f"{clash.loc[clash.predecessor_code == c, 'effective_date'].iloc[0].date()}" for c in codes[:5])
            raise InputError(f"{len(codes):,} code(s) are succeeded by two or more codes on the same day: {detail}. "
                             "A person's practice needs one successor. Fix: keep the succession that took the "
                             "registered list (drop the others from successions.table) and build Successions from "
                             "that table.")
        return pd.Series(live["successor_code"].to_numpy(dtype=object),
                         index=pd.Index(live["predecessor_code"].to_numpy(dtype=object)))


@dataclass(frozen=True, eq=False, repr=False)
class Resolution(Result):
    """Codes mapped onto their successors, and what was mapped.

    Attributes
    ----------
    codes : ndarray of object
        One code per code given: its final successor, or itself.
    mapped : int
        How many of the codes given were mapped (counting repeats: people, for a population's practices).
    table : pandas.DataFrame
        One row per distinct code mapped: ``code``, ``successor`` (final), ``steps`` (length of the chain) and
        ``count`` (how many of the codes given it was).
    at : pandas.Timestamp or None
        The day the successions were taken as of (``None``: all).
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> succ = Successions.read(pd.DataFrame({"predecessor_code": ["A1"], "successor_code": ["B1"],
    ...                                       "effective_date": ["20230401"]}))
    >>> succ.resolve(["A1", "A1", "B1"]).table.to_dict("records")
    [{'code': 'A1', 'successor': 'B1', 'steps': 1, 'count': 2}]
    """

    codes: np.ndarray
    mapped: int
    table: pd.DataFrame
    at: pd.Timestamp | None = None

    def _frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        """Describe the mapping: how many codes, and which, were mapped onto successors.

        Returns
        -------
        str
            The headline, then one line per distinct code mapped (the first ten).

        Examples
        --------
        >>> import pandas as pd
        >>> succ = Successions.read(pd.DataFrame({"predecessor_code": ["A1"], "successor_code": ["B1"],
        ...                                       "effective_date": ["20230401"]}))
        >>> print(succ.resolve(["A1", "C1"], at="2024-01-01").summary())
        1 of 2 codes mapped onto successors (1 distinct), as of 2024-01-01
          A1 → B1 (1 step, 1)
        """
        when = "all successions" if self.at is None else f"as of {self.at.date()}"
        lines = [f"{self.mapped:,} of {len(self.codes):,} codes mapped onto successors ({len(self.table):,} distinct), "
                 f"{when}"]
        head = self.table.head(10)
        lines += [f"  {code} → {successor} ({steps} step{'s' if steps > 1 else ''}, {count:,})" for code, successor,
                  steps, count in zip(head["code"], head["successor"], head["steps"], head["count"], strict=True)]
        return "\n".join(lines)


def _succession_frame(source) -> pd.DataFrame:
    from pathlib import Path

    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".csv":
        path = Path(source)
        if not path.is_file():
            raise InputError(f"The 'source' parameter of Successions.read names {str(path)!r}, which does not exist. "
                             "Fix: check the path (ODS publishes succ.csv inside succ.zip).")
        try:
            frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"The 'source' parameter of Successions.read names {str(path)!r}, which is not a "
                             f"readable CSV file ({exc}). Fix: pass ODS's succ.csv as published.") from None
    else:
        frame = read_table(source, "source", text=True)
    if list(frame.columns)[:4] == [0, 1, 2, 3]:  # the published layout, no header row
        if frame.shape[1] > len(SUCCESSION_COLUMNS):
            raise SchemaError(f"The 'successions' file has {frame.shape[1]} fields; ODS's succ.csv has "
                              f"{len(SUCCESSION_COLUMNS)} ({', '.join(SUCCESSION_COLUMNS)}). Fix: pass succ.csv as "
                              "published, or a table with named columns.")
        frame = frame.set_axis(list(SUCCESSION_COLUMNS[:frame.shape[1]]), axis=1)
    elif isinstance(frame.columns, pd.RangeIndex) or all(isinstance(c, (int, np.integer)) for c in frame.columns):
        raise SchemaError(f"The 'successions' file has {frame.shape[1]} field(s); ODS's succ.csv has at least 4 "
                          f"({', '.join(SUCCESSION_COLUMNS)}). Fix: pass succ.csv as published.")
    return frame


def _succession_dates(raw: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.to_datetime(raw).dt.tz_localize(None) if isinstance(raw.dtype, pd.DatetimeTZDtype) else raw
        values = parsed.to_numpy(dtype="datetime64[ns]")
        text = raw.astype(str).to_numpy(dtype=object)
    else:
        text = _text(raw)
        compact = pd.to_datetime(pd.Series(text), format="%Y%m%d", errors="coerce")
        iso = pd.to_datetime(pd.Series(text), format="%Y-%m-%d", errors="coerce")
        values = compact.fillna(iso).to_numpy(dtype="datetime64[ns]")
    bad = np.isnat(values)
    if bad.any():
        raise InputError(f"The 'successions' table's column 'effective_date' must be a date (YYYYMMDD, as ODS writes "
                         f"it, or YYYY-MM-DD). Got {describe_rows(raw.index, bad, text)}. Fix: correct those rows; "
                         "a succession without a date cannot be placed before or after a year.")
    return values


def _as_day(value) -> pd.Timestamp:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, (int, np.integer)) or (isinstance(text, str) and re.fullmatch(
            r"[0-9]{4}([/-][0-9]{2}|/[0-9]{4}|[0-9]{2})?", text, re.ASCII) and not re.fullmatch(r"[0-9]{8}", text)):
        try:
            return pd.Timestamp(int(financial_year(text)[:4]), 4, 1)
        except InputError as exc:
            raise InputError(f"The 'at' parameter is not a date or financial year: {exc}") from None
    try:
        day = pd.Timestamp(text)
    except (TypeError, ValueError):
        day = pd.NaT
    if day is pd.NaT:
        raise InputError(f"The 'at' parameter must be a date or a financial year. Got {value!r}. Fix: e.g. "
                         "at='2025-04-01' or at='2025/26'.")
    return (day.tz_localize(None) if day.tzinfo is not None else day).normalize()


def _follow(steps: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Each predecessor's final successor along ``steps`` and the chain's length; a cycle is refused, named."""
    lookup = pd.Index(steps.index)
    successors = steps.to_numpy(dtype=object)
    current = successors.copy()
    length = np.ones(len(steps), dtype=np.int64)
    active = np.ones(len(steps), dtype=bool)
    for _ in range(len(steps) + 1):  # a chain has at most one step per succession; more is a cycle
        rows = np.flatnonzero(active)
        where = lookup.get_indexer(current[rows])
        moves = where >= 0
        if not moves.any():
            return pd.Series(current, index=lookup), length
        current[rows[moves]] = successors[where[moves]]
        length[rows[moves]] += 1
        active[rows[~moves]] = False
    raise InputError(f"The successions in force contain a cycle: {' → '.join(_cycle(steps, current[active][0]))}. "
                     "No code in it has a final successor. Fix: remove the succession that reverses an earlier one, "
                     "or resolve as of a day before it (at=...).")


def _cycle(steps: pd.Series, start) -> list[str]:
    """Name the cycle reached from ``start`` (the error path: a walk of at most the cycle's length)."""
    mapping = steps.to_dict()
    seen, code = [], start
    while code not in seen:
        seen.append(code)
        code = mapping[code]
    loop = seen[seen.index(code):]
    return [*loop, loop[0]]
