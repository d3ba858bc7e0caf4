"""Beneficiaries and diagnoses in, checked arrays out: the inputs of CMS-HCC scoring.

Every check names the table, the column, the rows, the value and the fix; nothing is dropped or defaulted
silently. Columns of few distinct values (sex, dual status) are checked once per distinct value, so a
Parquet table read with dictionary columns (pandas Categoricals) is checked without touching its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._io import as_frame
from .._validation import (
    check_finite,
    check_identifiers,
    check_integer_valued,
    check_range,
    describe_rows,
    factorize_column,
    id_kind,
    parse_dates,
    require_columns,
)
from ..errors import InputError, SchemaError
from .tables import MAX_AGE

__all__ = ["BENEFICIARY_COLUMNS", "DIAGNOSIS_COLUMNS", "DUAL_STATUSES", "Beneficiaries", "read_beneficiaries"]

#: The columns of the beneficiaries table (one of age/date_of_birth, one of dual_status/medicaid; lti and
#: new_enrollee when the segment is derived).
BENEFICIARY_COLUMNS = ("person_id", "age | date_of_birth", "sex", "orec", "dual_status | medicaid", "lti",
                       "new_enrollee")
#: The columns of the diagnoses table (long: one row per diagnosis).
DIAGNOSIS_COLUMNS = ("person_id", "icd10")
#: Dual statuses, in the order of their codes (0, 1, 2): not dual, partial-benefit, full-benefit dual.
DUAL_STATUSES = ("non", "partial", "full")

_TABLE = "beneficiaries"


@dataclass(frozen=True, eq=False)
class Beneficiaries:
    """Checked beneficiaries as arrays, in the order of the table.

    Attributes
    ----------
    person_id : ndarray
        int64 or object (strings), unique.
    age : ndarray of int16
        Age on 1 February of the payment year.
    sex : ndarray of int8
        1 male, 2 female (CMS's codes).
    orec : ndarray of int8
        Original reason for entitlement, 0–3.
    medicaid : ndarray of int8
        1 for Medicaid (any dual status), else 0.
    dual : ndarray of int8
        0 non-dual, 1 partial, 2 full; -1 where only ``medicaid`` was given.
    lti, new_enrollee : ndarray of int8 or None
        0/1; ``None`` when the table has no such column (allowed with a fixed segment only).
    age_source : str
        ``"age"`` or ``"date_of_birth"``.
    index : PersonIndex
        Finds each record's person.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc.inputs import read_beneficiaries
    >>> b = read_beneficiaries(pd.DataFrame({"person_id": [3], "age": [80], "sex": ["M"], "orec": [1],
    ...                                      "medicaid": [0]}), 2026, derived=False)
    >>> len(b), b.dual.tolist(), b.lti is None
    (1, [-1], True)
    """

    person_id: np.ndarray
    age: np.ndarray
    sex: np.ndarray
    orec: np.ndarray
    medicaid: np.ndarray
    dual: np.ndarray
    lti: np.ndarray | None
    new_enrollee: np.ndarray | None
    age_source: str
    index: PersonIndex

    def __len__(self) -> int:
        return len(self.person_id)


def _whole(frame: pd.DataFrame, column: str, low: int, high: int, ids, fix: str) -> np.ndarray:
    """Check a column of whole numbers in ``[low, high]``; integer columns are checked by their extremes alone."""
    series = frame[column]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        values = series.to_numpy()
        if len(values) == 0 or (values.min() >= low and values.max() <= high):
            return values
    values = check_finite(frame, _TABLE, column, ids)
    check_integer_valued(frame, _TABLE, column, values, ids)
    check_range(frame, _TABLE, column, values, low=low, high=high, ids=ids, fix=fix)
    return values


def _flags(frame: pd.DataFrame, column: str, ids, fix: str) -> np.ndarray:
    return _whole(frame, column, 0, 1, ids, fix).astype(np.int8)


def _small_text(frame: pd.DataFrame, column: str, mapping: dict, ids, fix: str) -> np.ndarray:
    """Map a column of few distinct values through ``mapping`` (keys normalised: stripped, lower case)."""
    codes, uniques = factorize_column(frame[column], _TABLE)
    lookup = np.full(len(uniques), -1, dtype=np.int8)
    for j, value in enumerate(uniques[:-1]):
        key = value.strip().lower() if isinstance(value, str) else (
            str(int(value)) if isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(
                value, (bool, np.bool_)) and float(value).is_integer() else None)
        lookup[j] = mapping.get(key, -1)
    out = lookup[codes]
    bad = out < 0
    if bad.any():
        shown = np.asarray(uniques[codes], dtype=object)
        raise InputError(f"The {_TABLE!r} table's column {column!r} must be one of {sorted(set(mapping))}. Got "
                         f"{int(bad.sum()):,} row(s) with other values: {describe_rows(frame.index, bad, shown, ids)}."
                         f" Fix: {fix}.")
    return out


def read_beneficiaries(beneficiaries, payment_year: int, *, derived: bool) -> Beneficiaries:
    """Check the beneficiaries table and return its columns as arrays.

    Parameters
    ----------
    beneficiaries : pandas.DataFrame or path
        ``person_id``, ``age`` (on 1 February of the payment year) or ``date_of_birth``, ``sex`` (F/M, or CMS's
        2/1), ``orec`` (0–3), ``dual_status`` (non/partial/full) or ``medicaid`` (0/1), ``lti`` (0/1) and
        ``new_enrollee`` (0/1). Other columns are ignored.
    payment_year : int
        The payment year, whose 1 February is the date ages are taken on.
    derived : bool
        Whether the segment is derived from the columns (then ``lti``, ``new_enrollee`` and, for the community
        segments of people on Medicaid, ``dual_status`` are required).

    Returns
    -------
    Beneficiaries

    Raises
    ------
    SchemaError
        A column is missing or of the wrong type, or both of a pair (``age`` and ``date_of_birth``) are given.
    InputError
        A value is missing or out of range (ages below 0, OREC outside 0–3, ...), or person_id repeats.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc.inputs import read_beneficiaries
    >>> b = read_beneficiaries(pd.DataFrame({"person_id": [1], "date_of_birth": ["1955-02-02"], "sex": ["F"],
    ...                                      "orec": [0], "dual_status": ["full"], "lti": [0],
    ...                                      "new_enrollee": [0]}), 2026, derived=True)
    >>> b.age.tolist(), b.sex.tolist(), b.medicaid.tolist(), b.dual.tolist()
    ([70], [2], [1], [2])
    """
    frame = as_frame(beneficiaries, _TABLE)
    for a, b in (("age", "date_of_birth"), ("dual_status", "medicaid")):
        if a in frame.columns and b in frame.columns:
            raise SchemaError(f"The {_TABLE!r} table has both {a!r} and {b!r}; the score would depend on which "
                              f"was read. Fix: drop one of them, e.g. frame.drop(columns={b!r}).")
    age_column = "date_of_birth" if "date_of_birth" in frame.columns else "age"
    dual_column = "medicaid" if "medicaid" in frame.columns else "dual_status"
    required = ["person_id", age_column, "sex", "orec", dual_column] + (["lti", "new_enrollee"] if derived else [])
    require_columns(frame, _TABLE, required)
    ids = check_identifiers(frame, _TABLE)
    index = PersonIndex.build(ids)
    if index is None:
        from .._validation import check_unique

        check_unique(frame, _TABLE, "person_id", ids)
    if age_column == "age":
        age = _whole(frame, "age", 0, MAX_AGE, ids,
                     "give each person's age in completed years on 1 February of the payment year")
    else:
        dob = parse_dates(frame, _TABLE, "date_of_birth", ids)
        missing = dob.isna().to_numpy()
        if missing.any():
            raise InputError(f"The {_TABLE!r} table's column 'date_of_birth' is missing in {int(missing.sum()):,} "
                             f"row(s): {describe_rows(frame.index, missing, dob.to_numpy(object), ids)}. "
                             "Fix: fill those dates, or give 'age' instead.")
        year, month, day = (dob.dt.year.to_numpy(), dob.dt.month.to_numpy(), dob.dt.day.to_numpy())
        # Completed years on 1 February (CMS's DATE_ASOF): one less if the birthday falls later in the year.
        age = (payment_year - year - ((month > 2) | ((month == 2) & (day > 1)))).astype(np.float64)
        check_range(frame, _TABLE, "date_of_birth", age, low=0, high=MAX_AGE, ids=ids,
                    fix=f"dates of birth must fall on or before 1 February {payment_year}, the date CMS takes ages "
                        "on (an age is shown for each row named)")
    orec = _whole(frame, "orec", 0, 3, ids, "OREC is 0 (old age), 1 (disability), 2 (ESRD) or 3 (disability and "
                  "ESRD)")
    sex = _small_text(frame, "sex", {"m": 1, "f": 2, "1": 1, "2": 2}, ids,
                      "write F or M (CMS's codes 2 and 1 are read too)")
    if dual_column == "dual_status":
        dual = _small_text(frame, "dual_status", {s: i for i, s in enumerate(DUAL_STATUSES)}, ids,
                           "write non, partial or full (full-benefit dual)")
        medicaid = (dual > 0).astype(np.int8)
    else:
        medicaid = _flags(frame, "medicaid", ids, "1 for people on Medicaid, else 0")
        dual = np.full(len(frame), -1, dtype=np.int8)
    lti = _flags(frame, "lti", ids, "1 for long-term institutional people, else 0") if "lti" in frame else None
    new = (_flags(frame, "new_enrollee", ids, "1 for new enrollees, else 0")
           if "new_enrollee" in frame else None)
    return Beneficiaries(person_id=ids, age=age.astype(np.int16), sex=sex, orec=orec.astype(np.int8),
                         medicaid=medicaid, dual=dual, lti=lti, new_enrollee=new, age_source=age_column,
                         index=index)


#: Integer ids spanning at most this many times the number of people are looked up in a table, not hashed.
_DENSE_SPAN = 4
#: Records looked up per task.
_LOOKUP_ROWS = 1 << 20


@dataclass(frozen=True, eq=False)
class PersonIndex:
    """Where each person_id is in the beneficiaries table: a direct table for compact integer ids, else a hash.

    Attributes
    ----------
    low : int
        The smallest id (dense table only).
    table : ndarray of int64 or None
        ``table[id - low]`` is the row of ``id`` (or -1); ``None`` for hashed ids.
    hashed : pandas.Index or None
        The ids, for :meth:`pandas.Index.get_indexer`.
    """

    low: int
    table: np.ndarray | None
    hashed: pd.Index | None

    @classmethod
    def build(cls, ids: np.ndarray) -> PersonIndex | None:
        """Index unique ``ids``; ``None`` when some repeat."""
        from .._config import readonly
        from .._kernels.hcc import dense_table

        if ids.dtype == np.int64 and len(ids):
            low, high = int(ids.min()), int(ids.max())
            span = high - low + 1
            if span <= max(_DENSE_SPAN * len(ids), 1 << 16):
                table = np.full(span, -1, dtype=np.int64)
                if dense_table(readonly(ids), low, table) >= 0:
                    return None
                return cls(low, table, None)
        hashed = pd.Index(ids)
        return cls(0, None, hashed) if hashed.is_unique else None

    def rows(self, record_ids: np.ndarray) -> np.ndarray:
        """Find the row of each record's person, -1 for ids not among the beneficiaries (int64)."""
        from .._config import parallel_for, readonly
        from .._kernels.hcc import dense_lookup

        if self.table is None:
            return self.hashed.get_indexer(record_ids).astype(np.int64)
        if record_ids.dtype != np.int64:  # unsigned ids beyond int64 cannot be in a table of int64 ids
            big = record_ids > np.iinfo(np.int64).max
            out = np.full(len(record_ids), -1, dtype=np.int64)
            out[~big] = self.rows(record_ids[~big].astype(np.int64))
            return out
        out = np.empty(len(record_ids), dtype=np.int64)
        ids, table = readonly(record_ids), readonly(self.table)
        parallel_for(lambda start, stop: dense_lookup(ids, self.low, table, start, stop, out), len(out),
                     _LOOKUP_ROWS)
        return out


def diagnosis_columns(diagnoses) -> tuple[pd.DataFrame, np.ndarray]:
    """Check the diagnoses table's columns and return it with its person ids (int64 or object strings).

    Parameters
    ----------
    diagnoses : pandas.DataFrame or path
        Long: ``person_id`` and ``icd10`` (any spelling; dots, case and spaces are normalised).

    Returns
    -------
    frame : pandas.DataFrame
        The table.
    ids : ndarray
        Its ``person_id`` column, checked.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc.inputs import diagnosis_columns
    >>> frame, ids = diagnosis_columns(pd.DataFrame({"person_id": [1, 1], "icd10": ["E11.69", "i509"]}))
    >>> ids.tolist()
    [1, 1]
    """
    frame = as_frame(diagnoses, "diagnoses")
    require_columns(frame, "diagnoses", list(DIAGNOSIS_COLUMNS))
    ids = check_identifiers(frame, "diagnoses", refuse_blank=False)
    return frame, ids


def match_kinds(people_ids: np.ndarray, record_ids: np.ndarray) -> None:
    """Refuse person ids of two kinds (integers in one table, strings in the other): they would never match."""
    if len(record_ids) and len(people_ids) and id_kind(people_ids) != id_kind(record_ids):
        raise SchemaError(f"The 'diagnoses' table's column 'person_id' holds {id_kind(record_ids)} but the "
                          f"'beneficiaries' table's holds {id_kind(people_ids)}, so no diagnosis would match anyone. "
                          "Fix: convert one of them, e.g. frame['person_id'] = frame['person_id'].astype(str).")
