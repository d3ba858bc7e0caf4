"""Long tables of events: hospital diagnoses and GP-recorded conditions."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._io import as_frame
from .._validation import (
    ascii_lower,
    ascii_upper,
    check_identifiers,
    describe_rows,
    factorize_column,
    parse_dates,
    require_columns,
    text_column,
)
from ..errors import InputError

__all__ = ["NULL_PRACTICE_CODES", "POSITIONS", "SETTINGS", "ConditionTable", "DiagnosisTable", "financial_year"]

#: Hospital settings a diagnosis may come from (``ae``: accident and emergency).
SETTINGS = ("inpatient", "outpatient", "ae")
#: Practice codes that stand for no practice (NHS Data Model and Dictionary "GP practice code" null codes):
#: ``V81997`` no registered GP practice, ``V81998`` not applicable, ``V81999`` not known, ``&`` not known.
NULL_PRACTICE_CODES = ("&", "V81997", "V81998", "V81999")
#: Positions of a diagnosis within its spell or attendance.
POSITIONS = ("primary", "secondary")
#: ``2024``, ``2024/25``, ``2024-25``, ``2024/2025`` or ``202425`` (no leading zero: the year has four digits).
_FINANCIAL_YEAR = re.compile(r"([1-9][0-9]{3})(?:[/-]([0-9]{2}|[0-9]{4})|([0-9]{2}))?", re.ASCII)


def financial_year(value, *, hes: bool = False) -> str:
    """Normalise a financial year to NHS England's ``'2024/25'`` form.

    A financial year runs from 1 April to 31 March; it is named by the calendar year it starts in.

    HES writes the year as ``FYEAR`` = ``YYyy``: ``'2021'`` is 2020/21 and ``'0102'`` is 2001/02, while
    ``'2021'`` as the starting year would be 2021/22. Read as one or the other without saying which, a year of
    records shifts by one and falls silently out of a look-back window. So four digits written as text whose
    two halves are consecutive years (``'2021'``, ``'1920'``) are refused as ambiguous unless ``hes=True``
    says they are HES's ``FYEAR``; text that cannot be ``FYEAR`` (``'2024'``) and a Python ``int`` are
    starting years.

    Parameters
    ----------
    value : str or int
        ``'2024/25'``, ``'2024-25'``, ``'202425'``, ``'2024/2025'`` or the starting year ``2024`` (ASCII
        digits; surrounding spaces are ignored). With ``hes=True``: HES's ``FYEAR``, ``YYyy`` as text or a
        number (``'0102'``, ``102``, ``'2021'``, ``2021``).
    hes : bool
        Read ``value`` as HES's ``FYEAR`` (years 89–99 are 19xx, the rest 20xx: HES starts in 1989/90).

    Returns
    -------
    str
        ``'YYYY/YY'``, e.g. ``'2024/25'``.

    Raises
    ------
    InputError
        ``value`` is not a financial year, its two years are not consecutive (``'2024/26'``), or it is
        ambiguous (``'2021'`` without ``hes``).

    Examples
    --------
    >>> from capitation.inputs import financial_year
    >>> financial_year("2024-25"), financial_year(2024), financial_year("2024/2025"), financial_year("2024")
    ('2024/25', '2024/25', '2024/25', '2024/25')
    >>> financial_year("2021", hes=True), financial_year(102, hes=True), financial_year("9900", hes=True)
    ('2020/21', '2001/02', '1999/00')
    >>> financial_year("2021")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: '2021' is ambiguous: HES's FYEAR for 2020/21, or the year starting in 2021 ...
    >>> financial_year("2024/26")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: '2024/26' is not a financial year. Fix: ...
    """
    if hes:
        return _hes_fyear(value)
    # ASCII digits only: str.isdigit accepts '２' and '²', which int() reads or refuses with a raw ValueError.
    text = str(value).strip()
    match = _FINANCIAL_YEAR.fullmatch(text)
    start = None
    if match is not None:
        start, end = int(match.group(1)), match.group(2) or match.group(3)
        if end is not None and (start + 1) % 10 ** len(end) != int(end):
            start = None
        elif end is None and not isinstance(value, (int, np.integer)) and _consecutive_halves(text):
            hes_year = _hes_fyear(text)
            raise InputError(f"{value!r} is ambiguous: HES's FYEAR for {hes_year}, or the year starting in "
                             f"{start} ({start}/{(start + 1) % 100:02d}). Fix: write the year as "
                             f"'{hes_year}' or '{start}/{(start + 1) % 100:02d}', or read HES's FYEAR with "
                             "financial_year(value, hes=True).")
    if start is None:
        hint = " If it is HES's FYEAR, read it with financial_year(value, hes=True)." \
            if _consecutive_halves(text) else ""
        raise InputError(f"{value!r} is not a financial year. Fix: write it as '2024/25' (1 April 2024 to "
                         f"31 March 2025) or give the starting calendar year, 2024.{hint}")
    return f"{start}/{(start + 1) % 100:02d}"


def _consecutive_halves(text: str) -> bool:
    """Whether four digits read as HES's ``YYyy``: the second pair is the year after the first."""
    return len(text) == 4 and text.isascii() and text.isdigit() and (int(text[:2]) + 1) % 100 == int(text[2:])


def _hes_fyear(value) -> str:
    """HES's ``FYEAR`` (``YYyy``, leading zeros possibly lost: ``102``) as ``'YYYY/yy'``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (str, int, np.integer)):
        raise InputError(f"{value!r} is not HES's FYEAR. Fix: FYEAR is YYyy as text or a whole number, e.g. "
                         "'2021' or 2021 for 2020/21, '0102' or 102 for 2001/02.")
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) < 4:
        text = text.zfill(4)  # a number loses FYEAR's leading zeros: 102 is '0102', 1 is '0001'
    if not _consecutive_halves(text):
        raise InputError(f"{value!r} is not HES's FYEAR (YYyy, two consecutive years). Fix: FYEAR '2021' is "
                         "2020/21 and '0102' is 2001/02; write other years as '2024/25'.")
    first = int(text[:2])
    start = (1900 if first >= 89 else 2000) + first  # HES begins in 1989/90
    return f"{start}/{(start + 1) % 100:02d}"


def _categorical(frame: pd.DataFrame, name: str, column: str, allowed: tuple[str, ...]) -> pd.Categorical:
    # Normalise each distinct spelling once: a few spellings repeated over millions of records.
    codes, uniques = factorize_column(frame[column], name)
    lookup = {a: k for k, a in enumerate(allowed)}
    # ASCII case folding: str.lower would fold look-alike letters of other scripts into these names.
    position = np.asarray([lookup.get(ascii_lower(v.strip()), -1) if isinstance(v, str) else -1 for v in uniques],
                          dtype=np.int8)[codes]
    bad = position < 0
    if bad.any():
        raise InputError(f"The {name!r} table's column {column!r} must be one of {list(allowed)}. Got "
                         f"{int(bad.sum()):,} other value(s): "
                         f"{describe_rows(frame.index, bad, frame[column].to_numpy(object))}. "
                         "Fix: map your source's codes to these names.")
    return pd.Categorical.from_codes(position, categories=list(allowed))


def _recoded(codes: np.ndarray, labels) -> pd.Categorical:
    """Build a Categorical of ``labels[codes]`` whose categories are the distinct labels (two spellings may agree).

    A ``None`` label (a value no row uses) becomes a missing value.
    """
    merged, categories = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=True)
    return pd.Categorical.from_codes(merged[codes], categories=pd.Index(categories, dtype=object))


def _financial_year_of_dates(frame: pd.DataFrame, name: str) -> pd.Categorical:
    """Financial year (April to March) of each date in ``frame['date']``."""
    dates = parse_dates(frame, name, "date")
    missing = dates.isna().to_numpy()
    if missing.any():
        raise InputError(f"The {name!r} table's column 'date' is missing in {int(missing.sum()):,} row(s): "
                         f"{describe_rows(frame.index, missing, frame['date'].to_numpy(object))}. "
                         "Fix: fill the dates, or give 'fy' instead.")
    start = (dates.dt.year - (dates.dt.month < 4).astype(int)).to_numpy()
    uniques, inverse = np.unique(start, return_inverse=True)
    return pd.Categorical.from_codes(inverse.astype(np.int32), categories=[financial_year(int(u)) for u in uniques])


def _ids(frame: pd.DataFrame, name: str) -> np.ndarray:
    # Blank string ids need no check here: the population refuses them, so they match nobody and are
    # refused or counted as records of unknown people.
    return check_identifiers(frame, name, "person_id", refuse_blank=False)


def _year_of_column(value, frame: pd.DataFrame, inverse: np.ndarray, k: int, ids) -> str:
    """``financial_year(value)``, or an error naming the 'fy' column and the rows holding ``value``."""
    try:  # values from a file: text rules apply to numbers too (2021 may be HES's FYEAR as much as '2021')
        return financial_year(value if isinstance(value, str) else str(value))
    except InputError as exc:
        bad = inverse == k
        ambiguous = "ambiguous" in str(exc)
        what = "an ambiguous year (maybe HES's FYEAR)" if ambiguous else "not a financial year"
        why = str(exc).partition(": ")[2] if ambiguous else str(exc).partition(". ")[2]
        raise InputError(f"The 'diagnoses' table's column 'fy' holds {int(bad.sum()):,} row(s) that are {what}: "
                         f"{describe_rows(frame.index, bad, frame['fy'].to_numpy(object), ids)}. {why}") from exc


@dataclass(frozen=True, eq=False)
class DiagnosisTable:
    """Hospital diagnoses, one row per diagnosis recorded in a spell or attendance.

    Build one with :meth:`from_frame`, which validates; the constructor itself does not. The text columns are
    Categoricals so that millions of records cost one small integer each and every check runs once per
    distinct value; Parquet's dictionary-encoded columns are used without conversion.

    Attributes
    ----------
    person_id : ndarray
        The person each diagnosis belongs to (int64, or object for string ids), matched against the
        population's ``person_id`` when encoding.
    icd10 : pandas.Categorical
        Codes as recorded (normalised later by the diagnosis grouping, once per distinct code).
    fy : pandas.Categorical or None
        Financial year of the activity, ``'2024/25'`` form.
    setting : pandas.Categorical
        ``'inpatient'``, ``'outpatient'`` or ``'ae'`` (``'inpatient'`` when the column is absent).
    position : pandas.Categorical
        ``'primary'`` or ``'secondary'`` (``'primary'`` when the column is absent).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.inputs import DiagnosisTable
    >>> table = DiagnosisTable.from_frame(pd.DataFrame({
    ...     "person_id": [7, 7, 9], "icd10": ["E11.9", "I10X", "J45X"], "fy": ["2024/25"] * 3,
    ...     "setting": ["inpatient", "inpatient", "outpatient"], "position": ["primary", "secondary", "primary"]}))
    >>> len(table), list(table.setting.categories)
    (3, ['inpatient', 'outpatient', 'ae'])
    """

    person_id: np.ndarray
    icd10: pd.Categorical
    fy: pd.Categorical | None
    setting: pd.Categorical
    position: pd.Categorical

    @classmethod
    def from_frame(cls, diagnoses) -> DiagnosisTable:
        """Validate a diagnoses table.

        Parameters
        ----------
        diagnoses : pandas.DataFrame or path
            Columns ``person_id`` and ``icd10``; optionally ``fy`` (financial year) or ``date`` (of
            admission or attendance; its financial year is used), ``setting`` (inpatient / outpatient / ae)
            and ``position`` (primary / secondary). A Parquet path is read.

        Returns
        -------
        DiagnosisTable
            Codes kept as recorded (they are normalised by the diagnosis grouping when encoding); ``fy`` in
            ``'2024/25'`` form; ``setting`` and ``position`` lower case.

        Raises
        ------
        SchemaError
            A required column is missing, or ``person_id`` has the wrong type.
        InputError
            A missing code, id or date, a year that is not a financial year, or an unknown setting or
            position; the message names the rows.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs import DiagnosisTable
        >>> table = DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1], "icd10": ["I21.9"],
        ...                                                 "fy": ["2023-24"]}))
        >>> table.fy[0], table.setting[0]
        ('2023/24', 'inpatient')
        """
        frame = as_frame(diagnoses, "diagnoses")
        require_columns(frame, "diagnoses", ("person_id", "icd10"))
        ids = _ids(frame, "diagnoses")
        codes, uniques = factorize_column(frame["icd10"], "diagnoses")
        missing = codes < 0
        if missing.any():
            shown = describe_rows(frame.index, missing, frame["icd10"].to_numpy(object), ids)
            raise InputError(f"The 'diagnoses' table's column 'icd10' is missing in {int(missing.sum()):,} "
                             f"row(s): {shown}. Fix: drop records with no diagnosis; they carry no morbidity "
                             "information.")
        # Codes stay as recorded (the grouping normalises each distinct one), as a Categorical.
        icd10 = pd.Categorical.from_codes(codes, categories=pd.Index(uniques[:-1], dtype=object))
        fy = None
        if "fy" in frame.columns:
            codes, uniques = factorize_column(frame["fy"], "diagnoses")
            codes = np.where(codes < 0, len(uniques) - 1, codes)  # missing: the trailing None, refused below
            used = np.bincount(codes, minlength=len(uniques)) > 0
            fy = _recoded(codes, [_year_of_column(u, frame, codes, k, ids) if used[k] else None
                                  for k, u in enumerate(uniques)])
        elif "date" in frame.columns:
            fy = _financial_year_of_dates(frame, "diagnoses")
        n = len(frame)
        setting = (_categorical(frame, "diagnoses", "setting", SETTINGS) if "setting" in frame.columns
                   else pd.Categorical.from_codes(np.zeros(n, np.int8), categories=list(SETTINGS)))
        position = (_categorical(frame, "diagnoses", "position", POSITIONS) if "position" in frame.columns
                    else pd.Categorical.from_codes(np.zeros(n, np.int8), categories=list(POSITIONS)))
        return cls(person_id=ids, icd10=icd10, fy=fy, setting=setting, position=position)

    def __len__(self) -> int:
        return len(self.person_id)


@dataclass(frozen=True, eq=False)
class ConditionTable:
    """Conditions recorded by GPs (e.g. QOF registers), one row per person and register.

    Build one with :meth:`from_frame`, which validates; the constructor itself does not.

    Attributes
    ----------
    person_id : ndarray
        The person each condition belongs to (int64, or object for string ids).
    register : pandas.Categorical
        Register codes, upper case (``'DM'``, ``'HYP'``); matched against ``FeatureSpec.conditions``.
    date : ndarray of datetime64[ns] or None
        When each condition was recorded, if known: conditions recorded on or after the start of the outcome
        year are left out when encoding (and counted).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.inputs import ConditionTable
    >>> table = ConditionTable.from_frame(pd.DataFrame({"person_id": [1, 2], "register": ["dm", " HYP"]}))
    >>> table.register.tolist(), table.date is None
    (['DM', 'HYP'], True)
    """

    person_id: np.ndarray
    register: pd.Categorical
    date: np.ndarray | None = None

    @classmethod
    def from_frame(cls, conditions) -> ConditionTable:
        """Validate a GP-recorded conditions table.

        Parameters
        ----------
        conditions : pandas.DataFrame or path
            Columns ``person_id`` and ``register`` (e.g. the QOF register code ``'DM'``); optionally
            ``date`` (when the condition was recorded: conditions recorded on or after the start of the
            outcome year are not known at prediction time and are left out, and counted). A Parquet path is
            read.

        Returns
        -------
        ConditionTable
            Registers upper-cased and stripped of surrounding spaces.

        Raises
        ------
        SchemaError
            A required column is missing, or a column has the wrong type.
        InputError
            A missing id, register or date; the message names the rows.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs import ConditionTable
        >>> len(ConditionTable.from_frame(pd.DataFrame({"person_id": [1, 1], "register": ["DM", "hyp"]})))
        2
        """
        frame = as_frame(conditions, "conditions")
        require_columns(frame, "conditions", ("person_id", "register"))
        ids = _ids(frame, "conditions")
        _, codes, uniques = text_column(frame, "conditions", "register", ids,
                                        missing_fix="drop rows with no register, or fill them")
        registers = _recoded(codes, [ascii_upper(v.strip()) for v in uniques[:-1]] + [None])
        date = None
        if "date" in frame.columns:
            dates = parse_dates(frame, "conditions", "date", ids)
            missing = dates.isna().to_numpy()
            if missing.any():
                # A missing date would silently count as recorded before the outcome year.
                raise InputError(f"The 'conditions' table's column 'date' is missing in {int(missing.sum()):,} "
                                 f"row(s): {describe_rows(frame.index, missing, frame['date'].to_numpy(object), ids)}"
                                 ". Fix: fill the dates, or drop the 'date' column (then every condition counts "
                                 "as known before the outcome year).")
            date = dates.to_numpy("datetime64[ns]")
        return cls(person_id=ids, register=registers, date=date)

    def __len__(self) -> int:
        return len(self.person_id)
