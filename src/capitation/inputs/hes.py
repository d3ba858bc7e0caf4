"""Hospital Episode Statistics (HES) admitted patient care extracts, read as they come.

:func:`read_hes_apc` takes an extract with one row per episode and HES's own field names (or a ``columns=``
mapping for a local warehouse's) and returns the episodes, their provider spells and the long diagnoses table
:func:`~capitation.features.encode` takes, with every record it did not use counted under one reason. The
coding rules, each from HES's data dictionary and NHS Digital's published methods:

* ``FYEAR`` is ``YYyy`` (``0102`` is 2001/02; :func:`~capitation.inputs.financial_year` with ``hes=True``).
  The episode's start date, when it is valid, decides the year; a disagreement with ``FYEAR`` is counted.
* Dates ``1800-01-01`` and ``1801-01-01`` mean missing or invalid.
* ``SEX`` 1 is male, 2 female; 0 (not known) and 9 (not specified) are refused by default, or dropped and
  counted with ``unknown_sex="drop"``. ``STARTAGE`` 7001–7007 code ages under one year: age 0; a blank age
  leaves the record out, counted.
* ``GPPRAC`` ``&``, ``V81997``, ``V81998`` and ``V81999`` are NHS null codes: no practice.
* Unfinished episodes (``EPISTAT`` other than 3) are left out; exact duplicate episodes are removed once.
* Provider spells follow NHS Digital's method: a person's episodes with the same admission date and provider
  (``PROCODE3``) are one spell, except regular day and night attenders (``CLASSPAT`` 3 and 4), one spell per
  episode; episodes are ordered by ``EPISTART``, ``EPIORDER``, ``EPIEND`` and ``EPIKEY``.
* Diagnoses: ``DIAG_4_01…DIAG_4_20``, else ``DIAG_4_CONCAT``, else ``DIAG_3_01…`` (four characters before
  three); SUS's ``Primary_Diagnosis_Code`` and ``Secondary_Diagnosis_Code_1…23``; or the columns a warehouse
  names with ``diagnoses=`` (in position order, or a primary and one field of joined secondaries). The first is the
  primary diagnosis. ``-`` and blanks are none; ``X`` fillers and fifth characters are the ICD-10 grouper's
  to read. **A code is taken once per spell**: repeated in later episodes of the same admission it is one
  diagnosis (kept at its most primary position), so flags are unchanged and counts count admissions, not
  episodes. Each repeat is counted.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from .._io import iter_table_batches
from .._kernels.cells import wide_cells
from .._results import Result
from ..errors import InputError, SchemaError
from .records import NULL_PRACTICE_CODES, financial_year

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "HES_AE_COLUMNS",
    "HES_APC_COLUMNS",
    "HES_NULL_PRACTICES",
    "HES_OP_COLUMNS",
    "HesAttendances",
    "HesExtract",
    "HesOutpatients",
    "HesPeople",
    "people_from_hes",
    "read_hes_ae",
    "read_hes_apc",
    "read_hes_op",
]

#: HES's field names the reader uses (the keys of ``columns=``).
HES_APC_COLUMNS = ("PSEUDO_HESID", "EPIKEY", "FYEAR", "EPISTART", "EPIEND", "EPIORDER", "EPISTAT", "ADMIDATE",
                   "PROCODE3", "CLASSPAT", "SEX", "STARTAGE", "GPPRAC", "LSOA11")
#: HES outpatient field names the reader uses (the keys of ``columns=``).
HES_OP_COLUMNS = ("PSEUDO_HESID", "ATTENDKEY", "FYEAR", "APPTDATE", "ATTENDED", "SEX", "APPTAGE", "GPPRAC", "LSOA11")
#: HES A&E field names the reader uses (the keys of ``columns=``).
HES_AE_COLUMNS = ("PSEUDO_HESID", "AEKEY", "FYEAR", "ARRIVALDATE", "SEX", "ARRIVALAGE", "GPPRAC", "LSOA11")
#: ATTENDED codes of appointments that took place: 5 seen on time or early, 6 arrived late but seen.
ATTENDED_CODES = ("5", "6")
#: R69 (with its filler): "illness, unspecified", what outpatient records carry when no diagnosis was recorded.
_NOT_RECORDED = ("R69", "R69X")
#: GPPRAC values that stand for no practice: the NHS null codes, kept in one place.
HES_NULL_PRACTICES = NULL_PRACTICE_CODES
#: Records read at a time: about 100 MB of an extract's text, dictionary-encoded.
DEFAULT_BATCH_ROWS = 1_000_000
#: Dates that HES writes for missing (1800-01-01) and invalid (1801-01-01).
_NULL_DATES = ("1800-01-01", "1801-01-01")
_DIAG4 = re.compile(r"DIAG_4_(\d{2})")
_DIAG3 = re.compile(r"DIAG_3_(\d{2})")
_NOT_A_CODE = ("", "-", "&", "NULL", "NAN", "NONE")
#: SUS's names (the National Commissioning Data Repository's APC and OPA tables): one primary field and the
#: secondary ones numbered from 1 (up to 23 for admitted care since CDS 6.2, 12 for outpatients).
_SUS_PRIMARY = "Primary_Diagnosis_Code"
_SUS_SECONDARY = re.compile(r"Secondary_Diagnosis_Code_(\d{1,2})")


class _Reading:
    """The steps every HES reader shares: the extract read as text, its fields checked, what is left out counted.

    Each reader names its extract (``label``), its record (``unit``: ``episode``, ``appointment``,
    ``attendance``) and its fields; the rules for duplicates, ``SEX``, blank ages, ``FYEAR`` against the
    record's date and ``GPPRAC`` are written once here.
    """

    def __init__(self, source, columns, fields: tuple, required: tuple, *, label: str, unit: str, caller: str,
                 unknown_sex: str, batch_rows: int, diagnoses=None) -> None:
        if unknown_sex not in ("raise", "drop"):
            raise InputError(f"The 'unknown_sex' parameter of {caller} must be 'raise' or 'drop'. Got "
                             f"{unknown_sex!r}. Fix: unknown_sex='drop' leaves SEX 0/9 {unit}s out and counts them.")
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int | np.integer) or batch_rows < 1:
            raise InputError(f"The 'batch_rows' parameter of {caller} must be a whole number of records, at least 1. "
                             f"Got {batch_rows!r}. Fix: batch_rows=1_000_000 (the default) holds about 100 MB.")
        self.batch_rows = int(batch_rows)
        self.source, self.required = source, required
        self.names = {k: k for k in fields} | dict(columns or {})
        self.wanted = _wanted(source, self.names, diagnoses)
        self.label, self.unit, self.caller, self.unknown_sex = label, unit, caller, unknown_sex
        self.exclusions: dict[str, int] = {}
        self.recoded: dict[str, int] = {}
        self.frame = pd.DataFrame()
        self._duplicate = np.zeros(0, dtype=bool)

    def batches(self):
        """Set :attr:`frame` to each batch of the extract in turn (at most ``batch_rows`` records) and yield it.

        Exact duplicates are found over the whole extract in the one pass, by a 64-bit hash of the fields read:
        a record is a duplicate when its hash is one of a record before it, in its batch or an earlier one.
        Two different records share a hash with odds of about n²/2⁶⁵ (1 in 90,000 for 20 million records).
        """
        stream = iter_table_batches(self.source, "source", self.wanted, batch_rows=self.batch_rows,
                                    plain=[self.names[k] for k in _KEYS if k in self.names])
        first = next(stream)
        self._check_fields(first)
        seen = np.zeros(0, dtype=np.uint64)  # sorted hashes of the records of the batches before
        for batch in itertools.chain([first], stream):
            hashes = pd.util.hash_pandas_object(batch, index=False).to_numpy()
            duplicate = pd.Series(hashes).duplicated(keep="first").to_numpy()
            if len(seen):
                duplicate = duplicate | (seen[np.searchsorted(seen, hashes).clip(max=len(seen) - 1)] == hashes)
            # two sorted runs: a stable sort merges them in linear time
            seen = np.sort(np.concatenate([seen, np.unique(hashes)]), kind="stable")
            self.frame, self._duplicate = batch, duplicate
            yield batch

    def _check_fields(self, frame: pd.DataFrame) -> None:
        missing = [self.names[k] for k in self.required if self.names[k] not in frame.columns]
        if missing:
            raise SchemaError(f"The {self.label} lacks the field(s) {missing}. It has "
                              f"{list(frame.columns)[:12]}{' ...' if frame.shape[1] > 12 else ''}. Fix: pass "
                              "columns={'PSEUDO_HESID': 'your_name', ...} for fields named differently.")

    def text(self, name: str) -> pd.Series:
        """Return the field ``name`` (HES's name) as stripped text: identifiers as strings, the rest coded."""
        return (_key_text if name in _KEYS else _text)(self.frame, self.names[name])

    @staticmethod
    def count(into: dict, reason: str, n) -> None:
        if int(n):
            into[reason] = into.get(reason, 0) + int(n)

    def leave_out(self, reason: str, rows: np.ndarray) -> np.ndarray:
        """Count ``rows`` under ``reason`` (when any) and return them."""
        self.count(self.exclusions, reason, rows.sum())
        return rows

    def recode(self, reason: str, rows: np.ndarray) -> None:
        self.count(self.recoded, reason, rows.sum())

    def duplicates(self) -> np.ndarray:
        """Exact duplicate records after their first, left out."""
        return self.leave_out(f"{self.unit}_exact_duplicate", self._duplicate)

    def sex_and_age(self, out: np.ndarray, age: str, where: str) -> tuple[np.ndarray, np.ndarray]:
        """``SEX`` read (0/9 refused or left out) and blank ages left out: the sexes, and the records now out."""
        sex = _sex(self.text("SEX"), self.frame.index)
        unknown = pd.isna(sex) & ~out
        if unknown.any() and self.unknown_sex == "raise":
            raise InputError(f"The {self.label}'s field {self.names['SEX']!r} is 0 (not known) or 9 (not "
                             f"specified) {where.format(n=int(unknown.sum()))}, rows "
                             f"{self.frame.index[unknown][:5].tolist()}. Fix: {self.caller}(..., "
                             "unknown_sex='drop') leaves them out and counts them.")
        out = out | self.leave_out(f"{self.unit}_sex_not_known", unknown)
        # blank: HES's null; other values are read or refused
        return sex, out | self.leave_out(f"{self.unit}_age_not_known", (self.text(age) == "").to_numpy() & ~out)

    def years(self, date: str, used: np.ndarray, disagreement: str) -> tuple[np.ndarray, np.ndarray]:
        """Each record's financial year (its ``date`` wins over ``FYEAR``) and its dates; disagreements counted."""
        fy, disagree, dates = _financial_years(self.text("FYEAR"), self.text(date), self.frame.index,
                                               self.names["FYEAR"], self.names[date])
        self.recode(disagreement, disagree & used)
        return fy, dates

    def practices(self, used: np.ndarray) -> pd.Categorical:
        """``GPPRAC`` with HES's null codes (and blanks) as missing; those used counted."""
        practice = _missing(self.text("GPPRAC"), ("", *HES_NULL_PRACTICES))
        self.recode("practice_null_code", pd.isna(practice) & used)
        return practice

    def ages(self, age: str, used: np.ndarray) -> np.ndarray:
        return _ages(self.text(age), self.names[age], self.frame.index, used)

    def attendances(self, key: str, date: str, age: str, sex: np.ndarray, used: np.ndarray,
                    disagreement: str) -> pd.DataFrame:
        """Build one row per record used of an extract of dated visits (appointments, attendances)."""
        fy, dates = self.years(date, used, disagreement)
        return _table({
            "person_id": self.text("PSEUDO_HESID"),
            "attendance_id": self.text(key),
            "fy": fy,
            "date": dates,
            "sex": sex,
            "age": self.ages(age, used),
            "practice_code": self.practices(used),
            "lsoa_code": self.lsoa(),
        }, index=self.frame.index)[used]

    def lsoa(self) -> pd.Categorical:
        return _missing(self.text("LSOA11"), ("",))


#: Identifiers, nearly one distinct value per record: kept as (Arrow) strings, never coded as Categoricals.
_KEYS = ("PSEUDO_HESID", "EPIKEY", "ATTENDKEY", "AEKEY")
#: Columns of diagnoses in the layouts the readers know (HES APC/OP, HES A&E, SUS).
_DIAGNOSIS_COLUMN = re.compile(r"DIAG_[34]_(\d{2}|CONCAT)|DIAG2_\d{2}|Primary_Diagnosis_Code|"
                               r"Secondary_Diagnosis_Code_\d{1,2}")


def _wanted(source, names: dict, diagnoses) -> list | None:
    """List the columns of a CSV file the reader uses: an extract has about 200, the reader needs about 40.

    ``None`` (every column) for anything but a CSV path. Exact duplicates are then duplicates on these fields,
    which include the record's key (``EPIKEY``, ``ATTENDKEY``, ``AEKEY``).
    """
    if not (isinstance(source, str | os.PathLike) and str(source).lower().endswith(".csv")) \
            or not Path(source).is_file():
        return None  # read_table reports a missing file
    header = pd.read_csv(source, nrows=0, dtype=str).columns
    named = set(names.values())
    if isinstance(diagnoses, dict):
        secondary = diagnoses.get("secondary", [])
        named |= {diagnoses.get("primary"), *([secondary] if isinstance(secondary, str) else secondary)}
    elif isinstance(diagnoses, list | tuple):
        named |= set(diagnoses)
    return [c for c in header if c in named or _DIAGNOSIS_COLUMN.fullmatch(c)]


@dataclass(frozen=True, eq=False, repr=False)
class HesExtract(Result):
    """An admitted patient care extract, read: episodes, provider spells, diagnoses and what was not used.

    Text columns are pandas Categoricals with their values sorted: a record costs an integer code, and the
    tables are the same whatever the batches.

    Attributes
    ----------
    episodes : pandas.DataFrame
        One row per finished, distinct episode used: ``person_id``, ``episode_id``, ``spell_id``, ``fy``,
        ``episode_start``, ``admission_date``, ``provider``, ``sex`` (``M``/``F``), ``age``,
        ``practice_code`` (missing for HES's null codes) and ``lsoa_code``.
    spells : pandas.DataFrame
        One row per provider spell: ``spell_id``, ``person_id``, ``admission_date``, ``provider``, ``fy`` (of
        its first episode) and ``episodes``.
    diagnoses : pandas.DataFrame
        The long table :class:`~capitation.inputs.DiagnosisTable` reads: ``person_id``, ``spell_id``, ``fy``,
        ``setting`` (``inpatient``), ``position`` (``primary``/``secondary``) and ``icd10``, each code once per
        spell.
    exclusions : dict of str → int
        What was not used, each counted once under its reason: episodes (``episode_…``) and diagnosis cells
        (``diagnosis_…``).
    recoded : dict of str → int
        Episodes used with a field read by a rule: ``fyear_disagrees_with_start_date`` (the date's year
        taken), ``practice_null_code`` (no practice), ``age_under_one`` (``STARTAGE`` 7001–7007 → 0).
    layout : str
        Which diagnosis columns were read.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> extract = read_hes_apc(pd.DataFrame({"PSEUDO_HESID": ["p1"], "EPIKEY": ["1"], "FYEAR": ["2021"],
    ...     "EPISTART": ["1800-01-01"], "EPISTAT": ["3"], "SEX": ["1"], "STARTAGE": ["60"], "GPPRAC": ["V81999"],
    ...     "DIAG_4_01": ["I219"]}))
    >>> extract.diagnoses["fy"].tolist(), extract.recoded  # FYEAR 2021 is 2020/21; V81999 is no practice
    (['2020/21'], {'practice_null_code': 1})
    """

    episodes: pd.DataFrame
    spells: pd.DataFrame
    diagnoses: pd.DataFrame
    exclusions: dict = field(default_factory=dict)
    recoded: dict = field(default_factory=dict)
    layout: str = ""

    def _frame(self) -> pd.DataFrame:
        return self.diagnoses

    def summary(self) -> str:
        """Describe the extract: episodes, spells, people and diagnoses kept, then each exclusion.

        Returns
        -------
        str
            The headline, then one line per reason something was not used.

        Examples
        --------
        >>> import pandas as pd
        >>> extract = read_hes_apc(pd.DataFrame({"PSEUDO_HESID": ["p1"], "EPIKEY": ["1"], "FYEAR": ["0102"],
        ...     "EPISTART": ["2001-05-01"], "EPISTAT": ["3"], "ADMIDATE": ["2001-05-01"], "PROCODE3": ["RTA"],
        ...     "SEX": ["2"], "STARTAGE": ["34"], "GPPRAC": ["M84031"], "DIAG_4_01": ["F321"]}))
        >>> extract.summary().splitlines()[0]
        'HES admitted patient care: 1 episodes in 1 provider spells of 1 people, 1 diagnoses (DIAG_4_01…01)'
        """
        e = self.episodes
        lines = [f"HES admitted patient care: {len(e):,} episodes in {len(self.spells):,} provider spells of "
                 f"{e['person_id'].nunique():,} people, {len(self.diagnoses):,} diagnoses ({self.layout})"]
        return "\n".join(lines + _reason_lines(self.exclusions, self.recoded))


def read_hes_apc(source, *, columns: dict | None = None, diagnoses=None, unknown_sex: str = "raise",
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> HesExtract:
    """Read a HES admitted patient care extract (one row per episode) into the library's tables.

    Parameters
    ----------
    source : pandas.DataFrame, str or path
        The extract: a DataFrame, a CSV file (read as text, exactly as written) or Parquet.
    columns : dict of str → str, optional
        HES field name → your column's name, for the fields named differently (``{"PSEUDO_HESID":
        "patient_id"}``); HES's names by default. See :data:`HES_APC_COLUMNS`.
    diagnoses : list of str or dict, optional
        Where the diagnoses are. By default the layouts are found by name, in this order: HES's
        ``DIAG_4_01…DIAG_4_20``, ``DIAG_4_CONCAT`` (codes joined by commas), ``DIAG_3_01…``,
        ``DIAG_3_CONCAT``, then SUS's ``Primary_Diagnosis_Code`` with ``Secondary_Diagnosis_Code_1…23``. For
        another warehouse: the columns in position order (the first is the primary diagnosis), or
        ``{"primary": column, "secondary": [columns]}``, or ``{"primary": column, "secondary": column}`` for
        one field of secondary codes joined by ``,`` (or ``;``, ``|``).
    unknown_sex : {"raise", "drop"}
        ``SEX`` 0 (not known) or 9 (not specified): refuse, naming the rows (by default), or leave those
        episodes out and count them.
    batch_rows : int
        Records read and checked at a time (one million by default, about 100 MB of text). The tables are the
        same whatever the batches; exact duplicates are found over the whole extract.

    Returns
    -------
    HesExtract
        Episodes, provider spells and the long diagnoses table, with ``exclusions`` counted.

    Raises
    ------
    SchemaError
        A required field, or every known diagnosis layout, is missing.
    InputError
        A value no rule reads: ``FYEAR`` that is not ``YYyy``, an unparseable date, a ``SEX`` or ``STARTAGE``
        outside HES's codes, or ``SEX`` 0/9 with ``unknown_sex="raise"``.

    Examples
    --------
    >>> import pandas as pd
    >>> extract = read_hes_apc(pd.DataFrame({
    ...     "PSEUDO_HESID": ["p1", "p1"], "EPIKEY": ["1", "2"], "FYEAR": ["0102", "0102"],
    ...     "EPISTART": ["2001-05-01", "2001-05-03"], "EPIORDER": ["1", "2"], "EPISTAT": ["3", "3"],
    ...     "ADMIDATE": ["2001-05-01", "2001-05-01"], "PROCODE3": ["RTA", "RTA"], "CLASSPAT": ["1", "1"],
    ...     "SEX": ["2", "2"], "STARTAGE": ["7002", "7002"], "GPPRAC": ["&", "&"],
    ...     "DIAG_4_01": ["F321", "I10X"], "DIAG_4_02": ["I10X", "-"]}))
    >>> extract.diagnoses[["fy", "position", "icd10"]].to_dict("list")
    {'fy': ['2001/02', '2001/02'], 'position': ['primary', 'primary'], 'icd10': ['F321', 'I10X']}
    >>> extract.exclusions, extract.recoded
    ({'diagnosis_repeated_in_spell': 1}, {'practice_null_code': 2, 'age_under_one': 2})
    >>> extract.episodes["age"].tolist(), extract.episodes["practice_code"].isna().tolist()
    ([0, 0], [True, True])
    """
    read = _Reading(source, columns, HES_APC_COLUMNS,
                    ("PSEUDO_HESID", "EPIKEY", "FYEAR", "EPISTAT", "SEX", "STARTAGE", "GPPRAC"),
                    label="HES extract", unit="episode", caller="read_hes_apc", unknown_sex=unknown_sex,
                    batch_rows=batch_rows, diagnoses=diagnoses)
    parts = [_apc_batch(read, diagnoses) for _ in read.batches()]
    layout = parts[0][2]
    episodes = _concat([p[0] for p in parts])
    cells = _concat([p[1] for p in parts], ignore_index=True)
    episodes, spells = _spells(episodes)
    diagnoses, repeated = _once_per_spell(cells, episodes)
    read.count(read.exclusions, "diagnosis_repeated_in_spell", repeated)
    return HesExtract(_canonical(episodes.drop(columns=["classpat"]).reset_index(drop=True)), _canonical(spells),
                      _canonical(diagnoses), read.exclusions, read.recoded, layout)


def _apc_batch(read: _Reading, diagnoses) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """One batch of episodes read by the per-record rules: the episodes used, their diagnosis cells, the layout."""
    frame, text, names = read.frame, read.text, read.names
    out = read.duplicates()
    out = out | read.leave_out("episode_unfinished", (text("EPISTAT") != "3").to_numpy() & ~out)
    sex, out = read.sex_and_age(out, "STARTAGE", "in {n:,} episode(s)")
    used = ~out
    fy, start = read.years("EPISTART", used, "fyear_disagrees_with_start_date")
    practice = read.practices(used)
    ages = read.ages("STARTAGE", used)
    number = _numbers(text("STARTAGE"))
    read.recode("age_under_one", (number >= 7001) & (number <= 7007) & used)
    episodes = _table({
        "person_id": text("PSEUDO_HESID"),
        "episode_id": text("EPIKEY"),
        "fy": fy,
        "episode_start": start,
        "episode_end": _dates(text("EPIEND"), names["EPIEND"], frame.index),
        "episode_order": _numbers(text("EPIORDER")),
        "admission_date": _dates(text("ADMIDATE"), names["ADMIDATE"], frame.index),
        "provider": text("PROCODE3"),
        "classpat": text("CLASSPAT"),
        "sex": sex,
        "age": ages,
        "practice_code": practice,
        "lsoa_code": read.lsoa(),
    }, index=frame.index)
    cells, layout = _diagnosis_cells(frame, diagnoses, "read_hes_apc")
    cells = cells[used[cells["row"].to_numpy()]]
    cells = cells.assign(row=frame.index[cells["row"].to_numpy()])  # positions → the episodes' labels
    return episodes[used], cells, layout


def _sex(values: pd.Series, index) -> pd.Categorical:
    """``SEX`` 1 → M, 2 → F; 0 and 9 missing; any other value refused, naming rows."""
    known = {"1": 1, "2": 0, "0": -1, "9": -1}  # codes into the categories F, M
    bad = ~values.isin(list(known))
    if bad.any():
        raise InputError(f"The HES extract's field 'SEX' must be 1 (male), 2 (female), 0 or 9. Got "
                         f"{values[bad].head(5).tolist()} at rows {index[bad.to_numpy()][:5].tolist()}. Fix: map "
                         "your source's sex codes to HES's.")
    lookup = np.array([known.get(v, -1) for v in values.cat.categories], dtype=np.int8)  # unused: any
    return pd.Categorical.from_codes(lookup[values.cat.codes.to_numpy()], _categories(["F", "M"]))


def _dates(values: pd.Series, column: str, index) -> np.ndarray:
    """ISO dates; blanks and HES's 1800-01-01/1801-01-01 as missing; anything else refused, naming rows."""
    null = values.cat.categories.isin(("", *_NULL_DATES))
    parsed = _per_distinct(values, lambda v: pd.to_datetime(v.where(~null), format="%Y-%m-%d",
                                                            errors="coerce").to_numpy())
    missing = np.append(null, True)[values.cat.codes.to_numpy()]
    bad = pd.isna(parsed) & ~missing
    if bad.any():
        raise InputError(f"The HES extract's field {column!r} holds {int(bad.sum()):,} value(s) that are not ISO "
                         f"dates: {values[bad].head(5).tolist()} at rows {index[bad][:5].tolist()}. Fix: write "
                         "dates as YYYY-MM-DD (HES's 1800-01-01 and 1801-01-01 are read as missing).")
    return parsed


def _ages(values: pd.Series, column: str, index, used: np.ndarray) -> np.ndarray:
    """Ages in years of the records ``used`` (-1 elsewhere); HES's 7001–7007 (under one year) are 0."""
    number = _numbers(values)
    under_one = (number >= 7001) & (number <= 7007)
    bad = (np.isnan(number) | ~(((number >= 0) & (number <= 130)) | under_one) | (number % 1 != 0)) & used
    if bad.any():
        raise InputError(f"The HES extract's field {column!r} must be an age in years (0–130) or 7001–7007 (under "
                         f"one year). Got {values[bad].head(5).tolist()} at rows {index[bad][:5].tolist()}. "
                         "Fix: correct those episodes, or remove them.")
    return np.where(under_one, 0, np.where(used, number, -1)).astype(np.int64)


def _financial_years(fyear: pd.Series, start: pd.Series, index, fyear_column: str,
                     date_column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each record's year: its date's when valid (the date wins), else FYEAR's; where they disagree; the dates."""
    distinct = {}
    for value in fyear.cat.categories[np.unique(fyear.cat.codes.to_numpy())]:
        try:
            distinct[value] = financial_year(value, hes=True)
        except InputError:
            rows = index[(fyear == value).to_numpy()][:5].tolist()
            raise InputError(f"The HES extract's field {fyear_column!r} holds {value!r} at rows {rows}, which is "
                             "not FYEAR (YYyy, two consecutive years). Fix: FYEAR '2021' is 2020/21 and '0102' is "
                             "2001/02; correct those episodes.") from None
    dates = _dates(start, date_column, index)
    valid = ~pd.isna(dates)
    when = pd.DatetimeIndex(dates)
    year = np.where(valid, when.year.to_numpy() - (when.month.to_numpy() < 4), -1)
    # one code per financial year, named once: FYEAR's values first, then the dates' years
    years, inverse = np.unique(year[valid], return_inverse=True)
    from_dates = [financial_year(int(y)) for y in years]
    labels = pd.unique(np.array([*distinct.values(), *from_dates], dtype=object))
    position = {label: k for k, label in enumerate(labels)}
    lookup = np.array([position[distinct[v]] if v in distinct else -1 for v in fyear.cat.categories], dtype=np.int32)
    from_fyear = lookup[fyear.cat.codes.to_numpy()] if len(lookup) else np.full(len(fyear), -1, np.int32)
    from_date = np.full(len(fyear), -1, dtype=np.int32)
    from_date[valid] = np.array([position[label] for label in from_dates], dtype=np.int32)[inverse]
    fy = np.where(valid, from_date, from_fyear)
    return pd.Categorical.from_codes(fy, _categories(labels)), valid & (from_date != from_fyear), dates


def _diagnosis_columns(frame: pd.DataFrame, diagnoses, caller: str) -> tuple[list[pd.Series], list[int], str]:
    """Find the diagnosis columns in position order (the first primary), their slot numbers, the layout's name.

    ``diagnoses`` is ``None`` (the layouts HES and SUS write, found by name), a list of columns in position
    order, or ``{"primary": column, "secondary": [columns] or one column of joined codes}``.
    """
    if diagnoses is None:
        for pattern in (_DIAG4, "DIAG_4_CONCAT", _DIAG3, "DIAG_3_CONCAT"):
            if isinstance(pattern, str):
                if pattern in frame.columns:
                    return _joined(frame[pattern], 1, pattern)
                continue
            slots = sorted((int(m.group(1)), c) for c in frame.columns if (m := pattern.fullmatch(c)))
            if slots:
                return [frame[c] for _, c in slots], [k for k, _ in slots], f"{slots[0][1]}…{slots[-1][1][-2:]}"
        secondary = sorted((int(m.group(1)), c) for c in frame.columns if (m := _SUS_SECONDARY.fullmatch(c)))
        if _SUS_PRIMARY in frame.columns:
            diagnoses = {"primary": _SUS_PRIMARY, "secondary": [c for _, c in secondary]}
        else:
            raise SchemaError(f"The extract has no diagnosis columns {caller} knows: neither HES's DIAG_4_01…, "
                              f"DIAG_4_CONCAT, DIAG_3_01… nor SUS's {_SUS_PRIMARY} (+ Secondary_Diagnosis_Code_1…"
                              f"). It has {_some_columns(frame)}. Fix: pass diagnoses=['your_primary', "
                              "'your_second', ...] in position order, or diagnoses={'primary': 'col', 'secondary': "
                              "'col of comma-joined codes'}.")
    if isinstance(diagnoses, dict):
        unknown = set(diagnoses) - {"primary", "secondary"}
        if unknown or "primary" not in diagnoses:
            raise InputError(f"The 'diagnoses' parameter of {caller} takes the keys 'primary' and (optionally) "
                             f"'secondary'. Got {sorted(diagnoses)}. Fix: diagnoses={{'primary': "
                             "'Primary_Diagnosis_Code', 'secondary': ['Secondary_Diagnosis_Code_1', ...]}.")
        primary, secondary = diagnoses["primary"], diagnoses.get("secondary", [])
        _require(frame, [primary] + ([secondary] if isinstance(secondary, str) else list(secondary)), caller)
        if isinstance(secondary, str):  # SUS's one field of the secondary codes, joined
            columns, numbers, _ = _joined(frame[secondary], 2, secondary)
            return [frame[primary], *columns], [1, *numbers], f"{primary} + {secondary} (joined)"
        names = [primary, *secondary]
        return [frame[c] for c in names], list(range(1, len(names) + 1)), f"{primary} + {len(names) - 1} secondary"
    if isinstance(diagnoses, str) or not all(isinstance(c, str) for c in diagnoses) or not len(diagnoses):
        raise InputError(f"The 'diagnoses' parameter of {caller} must be a list of column names (the first is the "
                         f"primary diagnosis) or a dict with 'primary' and 'secondary'. Got {diagnoses!r}. Fix: "
                         "diagnoses=['DIAG_01', 'DIAG_02', ...].")
    names = list(diagnoses)
    _require(frame, names, caller)
    return [frame[c] for c in names], list(range(1, len(names) + 1)), f"{names[0]}…{names[-1]}"


def _joined(column: pd.Series, first: int, name: str) -> tuple[list[pd.Series], list[int], str]:
    """Split a field of joined codes (HES's ``DIAG_4_CONCAT``, SUS's secondary string) into columns, in order."""
    split = _text(column.to_frame(), column.name).str.split(r"[,;|]", regex=True, expand=True)
    return [split[c] for c in split.columns], list(range(first, first + split.shape[1])), name


def _require(frame: pd.DataFrame, names: list, caller: str) -> None:
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise SchemaError(f"The extract lacks the diagnosis column(s) {missing} named by the 'diagnoses' "
                          f"parameter of {caller}. It has {_some_columns(frame)}. Fix: name the extract's columns.")


def _some_columns(frame: pd.DataFrame) -> str:
    return f"{list(frame.columns)[:12]}{' ...' if frame.shape[1] > 12 else ''}"


def _diagnosis_cells(frame: pd.DataFrame, diagnoses=None, caller: str = "read_hes_apc") -> tuple[pd.DataFrame, str]:
    """Wide diagnosis columns → one row per non-empty cell: ``row``, ``slot`` (1 = primary) and ``icd10``.

    Each column's distinct values are cleaned once (an extract repeats a few thousand codes over millions of
    rows) and numbered in one dictionary; the cells are then found in one pass over a matrix of numbers,
    which comes out in row order, each row's codes in slot order.
    """
    columns, numbers, layout = _diagnosis_columns(frame, diagnoses, caller)
    local, cleaned = [], []
    for column in columns:
        if isinstance(column.dtype, pd.CategoricalDtype):
            index, distinct = column.cat.codes.to_numpy(), column.cat.categories.to_numpy(dtype=object)
        else:
            index, distinct = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=True)
        clean = pd.Index(distinct, dtype=object).astype(str).str.strip().str.upper().to_numpy(dtype=object)
        local.append(index)
        cleaned.append(clean)
    ids, codes = pd.factorize(np.concatenate(cleaned) if cleaned else np.array([], dtype=object))
    ids = np.where(np.isin(codes, _NOT_A_CODE)[ids], -1, ids).astype(np.int32)
    matrix = np.empty((len(columns), len(frame)), dtype=np.int32)  # one row per column: contiguous writes
    offset = 0
    for k, (index, clean) in enumerate(zip(local, cleaned, strict=True)):
        # the NA sentinel -1 reads the extra -1 on the end
        np.take(np.append(ids[offset:offset + len(clean)], np.int32(-1)), index, out=matrix[k])
        offset += len(clean)
    n = int(np.count_nonzero(matrix >= 0))
    rows, slots, cell = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int32)
    wide_cells(matrix, rows, slots, cell)
    # Kept as a Categorical, numbers into the dictionary of distinct codes: no Python string per cell.
    icd10 = pd.Categorical.from_codes(cell, pd.Index(np.asarray(codes, dtype=object), dtype=object))
    return pd.DataFrame({"row": rows, "slot": np.asarray(numbers, dtype=np.int64)[slots], "icd10": icd10}), layout


def _spells(episodes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NHS Digital's provider spells: person, admission date and provider; CLASSPAT 3/4 one episode each.

    Sorted and grouped on integer codes (text ranked by its distinct values, missing dates and orders last),
    so no per-episode string is compared.
    """
    person = _ranks(episodes["person_id"])
    keys = (_ranks(episodes["episode_id"]), _last_if_missing(episodes["episode_end"]),
            _last_if_missing(episodes["episode_order"]), _last_if_missing(episodes["episode_start"]), person)
    sort = np.lexsort(keys)  # stable: equal keys keep the extract's order
    order = episodes.iloc[sort]
    regular = order["classpat"].isin(["3", "4"]).to_numpy()
    key = pd.DataFrame({"person": person[sort],
                        "admitted": _last_if_missing(order["admission_date"]),
                        "provider": _ranks(order["provider"]),
                        "alone": np.where(regular, np.arange(len(order)), -1)})
    number = key.groupby(list(key.columns), sort=False).ngroup().to_numpy()  # in order of first appearance
    order = order.assign(spell_id=number.astype(np.int64) + 1)  # numbered 1, 2, ... in person order
    _, first, size = np.unique(number, return_index=True, return_counts=True)
    spells = order.iloc[first][["spell_id", "person_id", "admission_date", "provider", "fy"]].assign(
        episodes=size.astype(np.int64)).reset_index(drop=True)
    return order, spells


def _ranks(values: pd.Series) -> np.ndarray:
    """Integers in the sorted order of text (missing last), sorting only its distinct values."""
    if not isinstance(values.dtype, pd.CategoricalDtype):  # identifiers: Arrow ranks them
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.rank(pa.array(values.array), sort_keys="ascending", tiebreaker="dense").to_numpy().astype(np.int64)
    rank = np.append(_sort_order(values.cat.categories)[1], np.iinfo(np.int64).max)  # code -1: missing
    return rank[values.cat.codes.to_numpy()]


def _sort_order(categories: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Return the permutation that sorts text, and each value's place in it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # Arrow sorts by UTF-8 bytes, the order of Python's str comparison, and far faster than a list of objects
    order = pc.array_sort_indices(pa.array(categories.to_numpy(dtype=object), type=pa.string())).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return order, rank


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Give each Categorical column exactly its values, sorted: the same table whatever the batches or layout."""
    out = {}
    for c in frame.columns:
        values = frame[c]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.cat.remove_unused_categories()
            order, rank = _sort_order(values.cat.categories)
            codes = values.cat.codes.to_numpy()
            values = pd.Categorical.from_codes(np.append(rank, -1)[codes],
                                               _categories(values.cat.categories[order]))
        out[c] = values
    return pd.DataFrame(out, index=frame.index)


def _last_if_missing(values: pd.Series) -> np.ndarray:
    """Dates or numbers as sortable int64 / float64, missing values after every other."""
    array = values.to_numpy()
    if np.issubdtype(array.dtype, np.datetime64):
        number = array.astype("datetime64[ns]").astype(np.int64)
        return np.where(pd.isna(array), np.iinfo(np.int64).max, number)
    number = array.astype(np.float64)
    return np.where(np.isnan(number), np.inf, number)


def _once_per_spell(cells: pd.DataFrame, episodes: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Make the long diagnoses, each code once per spell at its most primary position; count the repeats.

    Of a code's cells in one spell, the primary one is kept if any, else the earliest (episode order, then
    slot); the rows come out in episode order, each episode's codes in slot order. All on integers.
    """
    columns = ["person_id", "spell_id", "fy", "setting", "position", "icd10"]
    if not len(cells):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), 0
    at = episodes.index.get_indexer(pd.Index(cells["row"].to_numpy()))  # position in spell order
    spell = episodes["spell_id"].to_numpy()[at]
    code = cells["icd10"].cat.codes.to_numpy()
    slot = cells["slot"].to_numpy()
    primary = slot == 1
    ranked = np.lexsort((slot, at, ~primary, code, spell))
    first = np.ones(len(ranked), dtype=bool)
    first[1:] = (spell[ranked][1:] != spell[ranked][:-1]) | (code[ranked][1:] != code[ranked][:-1])
    keep = ranked[first]
    keep = keep[np.lexsort((slot[keep], at[keep]))]
    out = _table({"person_id": episodes["person_id"].array.take(at[keep]), "spell_id": spell[keep],
                  "fy": episodes["fy"].array.take(at[keep]), "setting": "inpatient",
                  "position": _positions(primary[keep]),
                  "icd10": cells["icd10"].array.take(keep)})
    return out, int(len(ranked) - len(keep))


def _per_person_year(visits: pd.DataFrame, name: str) -> pd.DataFrame:
    """Visits per person and financial year, sorted (only the pairs that occur)."""
    return visits.groupby(["person_id", "fy"], sort=True, observed=True).size().rename(name).reset_index()


def _positions(primary: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes((~primary).astype(np.int8), _categories(["primary", "secondary"]))


def _table(columns: dict, index=None) -> pd.DataFrame:
    """Build a DataFrame whose text is Categorical: a record costs an integer code, not a Python string.

    A value that is one string is every row's; an array of numpy strings is coded by its distinct values.
    """
    n = next(len(v) for v in columns.values() if not isinstance(v, str))
    out = {}
    for k, v in columns.items():
        if isinstance(v, str):
            v = pd.Categorical.from_codes(np.zeros(n, np.int8), _categories([v]))
        elif isinstance(v, np.ndarray) and v.dtype.kind == "U":
            distinct, inverse = np.unique(v, return_inverse=True)
            v = pd.Categorical.from_codes(inverse.astype(np.int32), _categories(distinct))
        elif isinstance(v, pd.Series):
            v = v.array
        out[k] = pd.Series(v, dtype=object, index=index) if isinstance(v, np.ndarray) and v.dtype == object else v
    return pd.DataFrame(out, index=index)


def _reason_lines(not_used: dict, recoded: dict) -> list[str]:
    """One summary line per reason something was not used, then per rule that recoded a field."""
    return ([f"  not used: {n:,} {reason.replace('_', ' ')}" for reason, n in not_used.items()]
            + [f"  recoded: {n:,} {reason.replace('_', ' ')}" for reason, n in recoded.items()])


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return a column as stripped text, ``""`` where absent or missing: a Categorical of its distinct values.

    An extract repeats a few thousand values over millions of records, so each distinct value is stripped
    (and later read by a rule) once, and a record costs one integer code.
    """
    if column not in frame.columns:
        return pd.Series(pd.Categorical.from_codes(np.zeros(len(frame), np.int8), _categories([""])),
                         index=frame.index)
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, distinct = values.cat.codes.to_numpy(), values.cat.categories.to_numpy(dtype=object)
    else:
        codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    stripped = pd.Index(distinct, dtype=object).astype(str).str.strip().to_numpy(dtype=object)
    # stripping can make two values one ("A " and "A"); missing values become "" (appended last)
    merged, uniques = pd.factorize(np.append(stripped, ""))
    codes = merged[np.where(codes < 0, len(distinct), codes)]
    return pd.Series(pd.Categorical.from_codes(codes, _categories(uniques)), index=frame.index)


def _key_text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return an identifier column as stripped strings (pandas' Arrow-backed ``str``), ``""`` where missing."""
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[column].astype("str").fillna("").str.strip()


def _categories(values) -> pd.Index:
    """Categories as Python objects, whatever pandas would infer: every batch's must have one dtype."""
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def _per_distinct(values: pd.Series, read) -> np.ndarray:
    """Apply ``read`` (array of distinct values → array) to each distinct value once, and spread the result."""
    categories = values.cat.categories
    result = np.asarray(read(pd.Series(categories.to_numpy(dtype=object), dtype=object)))
    return result[values.cat.codes.to_numpy()]


def _missing(values: pd.Series, none: tuple) -> pd.Categorical:
    """Return the text as a Categorical with the values ``none`` (blanks, null codes) missing."""
    codes = values.cat.codes.to_numpy()
    gone = values.cat.categories.isin(none)
    return pd.Categorical.from_codes(np.where(gone[codes], -1, codes) if gone.any() else codes,
                                     _categories(values.cat.categories))


def _numbers(values: pd.Series) -> np.ndarray:
    """Text as float64: blanks and anything not a number as NaN."""
    return _per_distinct(values, lambda v: pd.to_numeric(v.replace("", np.nan), errors="coerce").to_numpy(np.float64))


def _concat(frames: list[pd.DataFrame], *, ignore_index: bool = False) -> pd.DataFrame:
    """Stack the batches' tables, each Categorical column's categories merged (pandas would make them objects)."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True) if ignore_index else frames[0]
    first = frames[0]
    categorical = [c for c in first.columns if isinstance(first[c].dtype, pd.CategoricalDtype)]
    out = pd.concat([f.drop(columns=categorical) for f in frames], ignore_index=ignore_index)
    for c in categorical:
        out[c] = union_categoricals([f[c].array for f in frames])
    return out[list(first.columns)]


@dataclass(frozen=True, eq=False, repr=False)
class HesOutpatients(Result):
    """A HES outpatient extract, read: attended appointments, their diagnoses, and what was not used.

    Attributes
    ----------
    appointments : pandas.DataFrame
        One row per attended appointment: ``person_id``, ``attendance_id``, ``fy``, ``date``, ``sex``,
        ``age``, ``practice_code`` (missing for HES's null codes) and ``lsoa_code``.
    diagnoses : pandas.DataFrame
        The long table :class:`~capitation.inputs.DiagnosisTable` reads (``setting`` ``outpatient``), without
        ``R69`` ("not recorded"), each code once per appointment.
    counts : pandas.DataFrame
        Attended appointments per person and financial year: ``person_id``, ``fy``, ``appointments``.
    exclusions : dict of str → int
        What was not used, each under one reason: appointments (``appointment_…``) and diagnosis cells
        (``diagnosis_…``; ``diagnosis_not_recorded`` counts R69).
    recoded : dict of str → int
        Appointments used with a field read by a rule (``practice_null_code``).
    layout : str
        Which diagnosis columns were read.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> op = read_hes_op(pd.DataFrame({"PSEUDO_HESID": ["p1", "p1"], "ATTENDKEY": ["1", "2"], "FYEAR": ["0304"] * 2,
    ...     "APPTDATE": ["2003-09-17", "2003-10-01"], "ATTENDED": ["5", "3"], "SEX": ["2", "2"],
    ...     "APPTAGE": ["33.0", "33.0"], "GPPRAC": ["M89026"] * 2, "DIAG_4_01": ["R69X", "L309"]}))
    >>> len(op.appointments), op.exclusions
    (1, {'appointment_not_attended': 1, 'diagnosis_not_recorded': 1})
    """

    appointments: pd.DataFrame
    diagnoses: pd.DataFrame
    counts: pd.DataFrame
    exclusions: dict = field(default_factory=dict)
    recoded: dict = field(default_factory=dict)
    layout: str = ""

    def _frame(self) -> pd.DataFrame:
        return self.diagnoses

    def summary(self) -> str:
        """Describe the extract: attended appointments, people and diagnoses kept, then each exclusion.

        Returns
        -------
        str
            The headline, then one line per reason something was not used or recoded.

        Examples
        --------
        >>> import pandas as pd
        >>> op = read_hes_op(pd.DataFrame({"PSEUDO_HESID": ["p1"], "ATTENDKEY": ["1"], "FYEAR": ["0304"],
        ...     "APPTDATE": ["2003-09-17"], "ATTENDED": ["6"], "SEX": ["1"], "APPTAGE": ["40"],
        ...     "GPPRAC": ["&"], "DIAG_4_01": ["L309"]}))
        >>> op.summary().splitlines()[0]
        'HES outpatients: 1 attended appointments of 1 people, 1 diagnoses (DIAG_4_01…01)'
        """
        a = self.appointments
        lines = [f"HES outpatients: {len(a):,} attended appointments of {a['person_id'].nunique():,} people, "
                 f"{len(self.diagnoses):,} diagnoses ({self.layout})"]
        return "\n".join(lines + _reason_lines(self.exclusions, self.recoded))


def read_hes_op(source, *, columns: dict | None = None, diagnoses=None, unknown_sex: str = "raise",
                batch_rows: int = DEFAULT_BATCH_ROWS) -> HesOutpatients:
    """Read a HES outpatient extract (one row per appointment) into the library's tables.

    Only attended appointments (``ATTENDED`` 5 or 6) are used; the others are counted. Diagnoses come from
    ``DIAG_4_01…DIAG_4_12`` (else ``DIAG_4_CONCAT`` or ``DIAG_3_…``), position 01 primary; ``R69`` ("illness,
    unspecified"), which outpatient records carry when nothing was recorded, is counted and never grouped.
    ``FYEAR``, dates, ``SEX``, ages (``APPTAGE``) and ``GPPRAC`` follow :func:`read_hes_apc`'s rules; the
    appointment date, when valid, decides the year.

    Parameters
    ----------
    source : pandas.DataFrame, str or path
        The extract: a DataFrame, a CSV file (read as text, exactly as written) or Parquet.
    columns : dict of str → str, optional
        HES field name → your column's name (see :data:`HES_OP_COLUMNS`).
    diagnoses : list of str or dict, optional
        Where the diagnoses are, as for :func:`read_hes_apc` (HES's ``DIAG_4_01…DIAG_4_12`` by default).
    unknown_sex : {"raise", "drop"}
        ``SEX`` 0 or 9 on an attended appointment: refuse, naming the rows, or leave it out and count it.
    batch_rows : int
        Records read and checked at a time (one million by default, about 100 MB of text). The tables are the
        same whatever the batches; exact duplicates are found over the whole extract.

    Returns
    -------
    HesOutpatients
        Attended appointments, their diagnoses (``setting`` ``outpatient``) and appointments per person-year.

    Raises
    ------
    SchemaError
        A required field, or every known diagnosis layout, is missing.
    InputError
        A value no rule reads, or ``SEX`` 0/9 with ``unknown_sex="raise"``.

    Examples
    --------
    >>> import pandas as pd
    >>> op = read_hes_op(pd.DataFrame({"PSEUDO_HESID": ["p1", "p1"], "ATTENDKEY": ["1", "2"], "FYEAR": ["0304"] * 2,
    ...     "APPTDATE": ["2003-09-17", "2004-02-02"], "ATTENDED": ["5", "6"], "SEX": ["2", "2"],
    ...     "APPTAGE": ["33.0", "33.0"], "GPPRAC": ["M89026"] * 2, "DIAG_4_01": ["L309", "R69X"]}))
    >>> op.diagnoses[["setting", "icd10"]].values.tolist(), op.counts["appointments"].tolist()
    ([['outpatient', 'L309']], [2])
    """
    read = _Reading(source, columns, HES_OP_COLUMNS,
                    ("PSEUDO_HESID", "ATTENDKEY", "FYEAR", "ATTENDED", "SEX", "APPTAGE", "GPPRAC"),
                    label="HES outpatient extract", unit="appointment", caller="read_hes_op",
                    unknown_sex=unknown_sex, batch_rows=batch_rows, diagnoses=diagnoses)
    parts = [_op_batch(read, diagnoses) for _ in read.batches()]
    layout = parts[0][2]
    appointments = _concat([p[0] for p in parts])
    cells = _concat([p[1] for p in parts], ignore_index=True)
    at = appointments.index.get_indexer(pd.Index(cells["row"].to_numpy()))
    long = _table({"person_id": appointments["person_id"].array.take(at),
                   "attendance_id": appointments["attendance_id"].array.take(at),
                   "fy": appointments["fy"].array.take(at), "setting": "outpatient",
                   "position": _positions(cells["slot"].to_numpy() == 1),
                   "icd10": cells["icd10"].array, "order": at, "slot": cells["slot"].to_numpy()})
    long = long.sort_values(["order", "slot"], kind="stable")
    # the first is the most primary
    repeated = read.leave_out("diagnosis_repeated_in_appointment",
                              long.duplicated(["order", "icd10"], keep="first").to_numpy())
    diagnoses = long[~repeated].drop(columns=["order", "slot"]).reset_index(drop=True)
    counts = _per_person_year(appointments, "appointments")
    return HesOutpatients(_canonical(appointments.reset_index(drop=True)), _canonical(diagnoses), _canonical(counts),
                          read.exclusions, read.recoded, layout)


def _op_batch(read: _Reading, diagnoses) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """One batch of appointments read by the per-record rules: attended appointments, their recorded cells."""
    frame, text = read.frame, read.text
    out = read.duplicates()
    out = out | read.leave_out("appointment_not_attended", ~text("ATTENDED").isin(ATTENDED_CODES).to_numpy() & ~out)
    sex, out = read.sex_and_age(out, "APPTAGE", "on {n:,} attended appointment(s)")
    used = ~out
    appointments = read.attendances("ATTENDKEY", "APPTDATE", "APPTAGE", sex, used,
                                    "fyear_disagrees_with_appointment_date")
    cells, layout = _diagnosis_cells(frame, diagnoses, "read_hes_op")
    cells = cells[used[cells["row"].to_numpy()]]
    recorded = ~read.leave_out("diagnosis_not_recorded", cells["icd10"].isin(_NOT_RECORDED).to_numpy())
    cells = cells[recorded]
    return appointments, cells.assign(row=frame.index[cells["row"].to_numpy()]), layout


@dataclass(frozen=True, eq=False, repr=False)
class HesAttendances(Result):
    """A HES A&E extract, read: attendances, their A&E diagnosis codes (not ICD-10), and what was not used.

    Attributes
    ----------
    attendances : pandas.DataFrame
        One row per attendance used: ``person_id``, ``attendance_id``, ``fy``, ``date``, ``sex``, ``age``,
        ``practice_code`` (missing for HES's null codes) and ``lsoa_code``.
    ae_codes : pandas.DataFrame
        The A&E diagnosis codes (``DIAG2_01…``) as written: ``person_id``, ``attendance_id``, ``slot`` and
        ``code``. They are HES's own A&E diagnosis scheme, **not ICD-10**, so there is no ``diagnoses``
        table here to encode: map them (or ECDS's SNOMED codes) to ICD-10 upstream.
    counts : pandas.DataFrame
        Attendances per person and financial year: ``person_id``, ``fy``, ``attendances``.
    exclusions : dict of str → int
        Attendances not used, each under one reason.
    recoded : dict of str → int
        Attendances used with a field read by a rule (``practice_null_code``).
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> ae = read_hes_ae(pd.DataFrame({"PSEUDO_HESID": ["p1"], "AEKEY": ["9"], "FYEAR": ["0708"],
    ...     "ARRIVALDATE": ["2008-02-12"], "SEX": ["1"], "ARRIVALAGE": ["7006.0"], "GPPRAC": ["C82627"],
    ...     "DIAG2_01": ["040"]}))
    >>> ae.attendances["age"].tolist(), ae.ae_codes["code"].tolist(), ae.counts["attendances"].tolist()
    ([0], ['040'], [1])
    """

    attendances: pd.DataFrame
    ae_codes: pd.DataFrame
    counts: pd.DataFrame
    exclusions: dict = field(default_factory=dict)
    recoded: dict = field(default_factory=dict)

    def _frame(self) -> pd.DataFrame:
        return self.attendances

    def summary(self) -> str:
        """Describe the extract: attendances and people, then each exclusion.

        Returns
        -------
        str
            The headline, then one line per reason something was not used or recoded.

        Examples
        --------
        >>> import pandas as pd
        >>> ae = read_hes_ae(pd.DataFrame({"PSEUDO_HESID": ["p1"], "AEKEY": ["9"], "FYEAR": ["0708"],
        ...     "ARRIVALDATE": ["2008-02-12"], "SEX": ["2"], "ARRIVALAGE": ["30"], "GPPRAC": ["&"]}))
        >>> print(ae.summary())
        HES A&E: 1 attendances of 1 people, 0 A&E diagnosis codes (not ICD-10: never grouped)
          recoded: 1 practice null code
        """
        a = self.attendances
        lines = [f"HES A&E: {len(a):,} attendances of {a['person_id'].nunique():,} people, {len(self.ae_codes):,} "
                 "A&E diagnosis codes (not ICD-10: never grouped)"]
        return "\n".join(lines + _reason_lines(self.exclusions, self.recoded))


def read_hes_ae(source, *, columns: dict | None = None, unknown_sex: str = "raise",
                batch_rows: int = DEFAULT_BATCH_ROWS) -> HesAttendances:
    """Read a HES A&E extract (one row per attendance): attendances counted, A&E codes never taken as ICD-10.

    ``FYEAR``, dates, ``SEX``, ages (``ARRIVALAGE``, 7001–7007 under one year), ``GPPRAC`` and exact
    duplicates follow :func:`read_hes_apc`'s rules; the arrival date, when valid, decides the year.
    ``DIAG2_01…`` are HES's A&E diagnosis codes, a scheme of its own: they are kept as written in
    ``ae_codes`` and never passed to the ICD-10 grouper.

    Parameters
    ----------
    source : pandas.DataFrame, str or path
        The extract: a DataFrame, a CSV file (read as text, exactly as written) or Parquet.
    columns : dict of str → str, optional
        HES field name → your column's name (see :data:`HES_AE_COLUMNS`).
    unknown_sex : {"raise", "drop"}
        ``SEX`` 0 or 9: refuse, naming the rows, or leave the attendance out and count it.
    batch_rows : int
        Records read and checked at a time (one million by default, about 100 MB of text). The tables are the
        same whatever the batches; exact duplicates are found over the whole extract.

    Returns
    -------
    HesAttendances
        Attendances, their A&E codes and attendances per person-year.

    Raises
    ------
    SchemaError
        A required field is missing.
    InputError
        A value no rule reads, or ``SEX`` 0/9 with ``unknown_sex="raise"``.

    Examples
    --------
    >>> import pandas as pd
    >>> ae = read_hes_ae(pd.DataFrame({"PSEUDO_HESID": ["p1", "p1"], "AEKEY": ["1", "2"], "FYEAR": ["0708"] * 2,
    ...     "ARRIVALDATE": ["2007-12-28", "2008-02-25"], "SEX": ["2", "0"], "ARRIVALAGE": ["28.0", "28.0"],
    ...     "GPPRAC": ["F85631", "&"]}), unknown_sex="drop")
    >>> len(ae.attendances), ae.exclusions
    (1, {'attendance_sex_not_known': 1})
    """
    read = _Reading(source, columns, HES_AE_COLUMNS, ("PSEUDO_HESID", "AEKEY", "FYEAR", "SEX", "ARRIVALAGE", "GPPRAC"),
                    label="HES A&E extract", unit="attendance", caller="read_hes_ae", unknown_sex=unknown_sex,
                    batch_rows=batch_rows)
    parts = [_ae_batch(read) for _ in read.batches()]
    attendances = _concat([p[0] for p in parts])
    codes = _concat([p[1] for p in parts], ignore_index=True)
    counts = _per_person_year(attendances, "attendances")
    return HesAttendances(_canonical(attendances.reset_index(drop=True)), _canonical(codes), _canonical(counts),
                          read.exclusions, read.recoded)



def _ae_batch(read: _Reading) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One batch of attendances read by the per-record rules: those used, and their A&E codes as written."""
    frame = read.frame
    sex, out = read.sex_and_age(read.duplicates(), "ARRIVALAGE", "in {n:,} attendance(s)")
    used = ~out
    attendances = read.attendances("AEKEY", "ARRIVALDATE", "ARRIVALAGE", sex, used, "fyear_disagrees_with_arrival_date")
    slots = sorted((int(m.group(1)), c) for c in frame.columns if (m := re.fullmatch(r"DIAG2_(\d{2})", c)))
    codes = pd.DataFrame({"person_id": pd.Series(dtype=object), "attendance_id": pd.Series(dtype=object),
                          "slot": pd.Series(dtype=np.int64), "code": pd.Series(dtype=object)})
    if slots:
        wide = np.column_stack([_text(frame, c).to_numpy(dtype=object).astype(str) for _, c in slots])[used]
        rows, cols = np.nonzero(~np.isin(wide, _NOT_A_CODE))
        codes = _table({"person_id": attendances["person_id"].array.take(rows),
                        "attendance_id": attendances["attendance_id"].array.take(rows),
                              "slot": np.array([k for k, _ in slots])[cols], "code": wide[rows, cols]})
    return attendances, codes


@dataclass(frozen=True, eq=False, repr=False)
class HesPeople(Result):
    """The people of HES extracts, one row each, with the people left out counted.

    ``people`` is ready for :meth:`Population.from_frame <capitation.inputs.Population.from_frame>`.

    Attributes
    ----------
    people : pandas.DataFrame
        ``person_id``, ``practice_code``, ``sex``, ``age`` (at 1 April of the outcome year) and
        ``lsoa_code``, sorted by person.
    outcome_year : str
        The year the people are for.
    not_used : dict of str → int
        People left out, each under one reason: ``no_practice`` (every record has a null ``GPPRAC``),
        ``no_lsoa`` (no record has ``LSOA11``).
    recoded : dict of str → int
        People kept with a field settled by a rule: ``sex_disagrees`` (records disagree: the latest wins),
        ``practice_from_earlier_record`` and ``lsoa_from_earlier_record`` (the latest record had none).
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> ae = read_hes_ae(pd.DataFrame({"PSEUDO_HESID": ["p1"], "AEKEY": ["9"], "FYEAR": ["0708"],
    ...     "ARRIVALDATE": ["2008-02-12"], "SEX": ["1"], "ARRIVALAGE": ["40"], "GPPRAC": ["C82627"],
    ...     "LSOA11": ["E01000001"]}))
    >>> people_from_hes(ae, outcome_year="2009/10").people[["practice_code", "age"]].values.tolist()
    [['C82627', 42]]
    """

    people: pd.DataFrame
    outcome_year: str
    not_used: dict = field(default_factory=dict)
    recoded: dict = field(default_factory=dict)

    def _frame(self) -> pd.DataFrame:
        return self.people

    def summary(self) -> str:
        """Describe the people: how many, and each reason someone was left out or a field settled by a rule.

        Returns
        -------
        str
            The headline, then one line per reason.

        Examples
        --------
        >>> import pandas as pd
        >>> ae = read_hes_ae(pd.DataFrame({"PSEUDO_HESID": ["p1"], "AEKEY": ["9"], "FYEAR": ["0708"],
        ...     "ARRIVALDATE": ["2008-02-12"], "SEX": ["1"], "ARRIVALAGE": ["40"], "GPPRAC": ["&"]}))
        >>> print(people_from_hes(ae, outcome_year="2008/09").summary())
        People of the HES extracts for 2008/09: 0
          not used: 1 no practice
        """
        lines = [f"People of the HES extracts for {self.outcome_year}: {len(self.people):,}"]
        return "\n".join(lines + _reason_lines(self.not_used, self.recoded))


def people_from_hes(*extracts, outcome_year: str) -> HesPeople:
    """Build one row per person from HES extracts: practice, sex, age and area of their latest record.

    HES is not a registration list: use it for people only when no registration extract is at hand (the
    people no hospital saw are missing). Each person takes the practice and LSOA of their latest record
    that has one, and the sex of their latest record. HES gives ages at each record's start; the latest
    record's age is carried forward by whole financial years to 1 April of ``outcome_year``, so it may be a
    year out for a birthday between the record and 1 April. Records dated after the outcome year are not
    used.

    Parameters
    ----------
    *extracts : HesExtract, HesOutpatients or HesAttendances
        What :func:`read_hes_apc`, :func:`read_hes_op` and :func:`read_hes_ae` return.
    outcome_year : str
        The financial year the people are for, e.g. ``'2003/04'``.

    Returns
    -------
    HesPeople
        The people, and those left out (no practice, no LSOA) counted.

    Raises
    ------
    InputError
        No extract given, something that is not an extract, or an outcome year before a record's year.

    Examples
    --------
    >>> import pandas as pd
    >>> op = read_hes_op(pd.DataFrame({"PSEUDO_HESID": ["p1", "p1"], "ATTENDKEY": ["1", "2"],
    ...     "FYEAR": ["0304"] * 2, "APPTDATE": ["2003-09-17", "2004-02-02"], "ATTENDED": ["5", "5"],
    ...     "SEX": ["2", "2"], "APPTAGE": ["33", "34"], "GPPRAC": ["M89026", "&"],
    ...     "LSOA11": ["E01000001", "E01000002"], "DIAG_4_01": ["L309", "R69X"]}))
    >>> people = people_from_hes(op, outcome_year="2004/05")
    >>> people.people[["practice_code", "age", "lsoa_code"]].values.tolist(), people.recoded
    ([['M89026', 35, 'E01000002']], {'practice_from_earlier_record': 1})
    """
    year = financial_year(outcome_year)
    start = int(year[:4])
    if not extracts:
        raise InputError("people_from_hes needs at least one extract. Fix: people_from_hes(read_hes_apc(path), "
                         "outcome_year='2025/26').")
    parts = []
    for extract in extracts:
        table = {HesExtract: "episodes", HesOutpatients: "appointments", HesAttendances: "attendances"}.get(
            type(extract))
        if table is None:
            raise InputError(f"people_from_hes takes what read_hes_apc, read_hes_op and read_hes_ae return. Got "
                             f"{type(extract).__name__}. Fix: read the extract first.")
        t = getattr(extract, table)
        parts.append(pd.DataFrame({
            "person_id": t["person_id"].to_numpy(dtype=object),
            "fy_start": pd.Series(t["fy"], dtype=object).str[:4].astype(np.int64).to_numpy(),
            "date": t["episode_start" if table == "episodes" else "date"].to_numpy(),
            "sex": t["sex"].to_numpy(dtype=object), "age": t["age"].to_numpy(dtype=np.int64),
            "practice_code": t["practice_code"].to_numpy(dtype=object),
            "lsoa_code": t["lsoa_code"].to_numpy(dtype=object)}))
    records = pd.concat(parts, ignore_index=True)
    not_used: dict[str, int] = {}
    later = (records["fy_start"] > start).to_numpy()
    _Reading.count(not_used, "record_after_outcome_year", later.sum())
    records = records[~later].sort_values(["person_id", "fy_start", "date"], kind="stable", na_position="first")
    grouped = records.groupby("person_id", sort=True)
    latest = grouped.last()  # each column's latest value that is not missing
    last_row = records.drop_duplicates("person_id", keep="last").set_index("person_id").reindex(latest.index)
    recoded: dict[str, int] = {}
    _Reading.count(recoded, "sex_disagrees", (grouped["sex"].nunique() > 1).sum())
    no_practice = latest["practice_code"].isna().to_numpy()
    no_lsoa = latest["lsoa_code"].isna().to_numpy() & ~no_practice
    _Reading.count(not_used, "no_practice", no_practice.sum())
    _Reading.count(not_used, "no_lsoa", no_lsoa.sum())
    kept = ~(no_practice | no_lsoa)
    for column in ("practice_code", "lsoa_code"):
        earlier = last_row[column].isna().to_numpy() & kept
        _Reading.count(recoded, f"{column.split('_')[0]}_from_earlier_record", earlier.sum())
    people = pd.DataFrame({
        "person_id": latest.index.to_numpy(dtype=object)[kept],
        "practice_code": latest["practice_code"].to_numpy(dtype=object)[kept],
        "sex": last_row["sex"].to_numpy(dtype=object)[kept],
        # the latest record's age, carried forward to 1 April of the outcome year
        "age": (last_row["age"] + start - last_row["fy_start"]).to_numpy(dtype=np.int64)[kept],
        "lsoa_code": latest["lsoa_code"].to_numpy(dtype=object)[kept]})
    return HesPeople(people, year, not_used, recoded)
