"""The registered population: one row per person on a practice's registered list."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._io import as_frame
from .._validation import (
    _plain,
    ascii_upper,
    check_finite,
    check_identifiers,
    check_integer_valued,
    check_names,
    check_pattern,
    check_range,
    check_unique,
    describe_rows,
    factorize_column,
    may_hold_text,
    parse_dates,
    require_columns,
    strictly_increasing,
    text_column,
)
from ..errors import InputError, UnknownCodeError

__all__ = ["PRACTICE_CODE_PATTERN", "SEX_CODES", "Population"]

#: ODS practice codes: a letter and five digits, e.g. ``A81001`` (ASCII only: ``\\d`` would accept '１').
PRACTICE_CODE_PATTERN = r"^[A-Z][0-9]{5}$"
#: Accepted spellings of sex, mapped to the code stored (0 = female, 1 = male).
SEX_CODES = {"F": 0, "M": 1, "FEMALE": 0, "MALE": 1}
SEX_LABELS = ("F", "M")

REQUIRED = ("person_id", "practice_code", "sex", "lsoa_code")
MAX_AGE = 120
_OWNER = "Population.from_frame"


@dataclass(frozen=True, eq=False)
class Population:
    """Validated people on registered lists, as arrays.

    Build one with :meth:`from_frame`; the constructor itself does not validate.

    Attributes
    ----------
    person_id : ndarray
        Unique person identifiers (int64, or object for string ids).
    practice_code : ndarray of object
        Each person's practice (ODS code).
    sex : ndarray of int8
        0 = female, 1 = male.
    age : ndarray of int16
        Completed years at the start of the outcome year, 0 to 120.
    lsoa_code : ndarray of object
        Small area of residence (LSOA).
    exposure : ndarray of float64
        Years registered during the outcome year, in (0, 1].
    cost : ndarray of float64 or None
        Outcome-year hospital cost in pounds, when known (for fitting and validation).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.inputs import Population
    >>> people = Population.from_frame(pd.DataFrame({
    ...     "person_id": [11, 12, 13], "practice_code": ["A81001", "A81001", "A81002"], "sex": ["F", "male", "m"],
    ...     "age": [34, 71, 5], "lsoa_code": ["E01011959"] * 3, "exposure": [1.0, 0.5, 1.0],
    ...     "cost": [0.0, 1250.0, 310.0]}))
    >>> len(people), people.sex.tolist(), float(people.exposure.sum())
    (3, [0, 1, 1], 2.5)
    """

    person_id: np.ndarray
    practice_code: np.ndarray
    sex: np.ndarray
    age: np.ndarray
    lsoa_code: np.ndarray
    exposure: np.ndarray
    cost: np.ndarray | None = None
    _index: pd.Index = field(default=None, repr=False)
    _sorted: bool | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_frame(cls, people, *, cost: str | None = "cost", exposure: str | None = "exposure",
                   outcome_year: str | None = None, reference_date=None,
                   practices=None, practice_pattern: str | None = PRACTICE_CODE_PATTERN) -> Population:
        r"""Validate a people table and return a :class:`Population`.

        Parameters
        ----------
        people : pandas.DataFrame or path
            One row per person with columns ``person_id`` (integers or non-empty strings, one type),
            ``practice_code``, ``sex`` (``F``/``M``, or ``female``/``male``, any case), ``age`` (whole years,
            0–120) or ``date_of_birth`` (or both, when they agree: see below), and ``lsoa_code``; optionally
            ``exposure`` (or ``registration_start`` / ``registration_end``) and ``cost``. A Parquet path is
            read.
        cost : str or None
            Column holding outcome-year hospital cost (£); ``'cost'`` is used when present, another name
            must be present, ``None`` ignores it.
        exposure : str or None
            Column holding years registered in the outcome year, in (0, 1]. When absent, it is computed
            from ``registration_start`` and ``registration_end`` (empty end = still registered) over the
            ``outcome_year``; without those, every person counts for a full year (a name other than
            ``'exposure'`` must then be present).
        outcome_year : str, optional
            Financial year of the outcome (``'2025/26'``), needed to turn registration dates into exposure.
        reference_date : date-like, optional
            Date at which ages are computed from ``date_of_birth``; 1 April of ``outcome_year`` by default.
            When both ``age`` and ``date_of_birth`` are given, each ``age`` must equal the age computed at
            this date (rows with no date of birth keep their ``age``); otherwise one column would be
            silently ignored.
        practices : list of str, optional
            The practices a person may be registered with (a list, not one string); any other code raises
            :class:`~capitation.errors.UnknownCodeError`.
        practice_pattern : str or None
            Regular expression every practice code must match (ODS codes by default), matched with
            :data:`re.ASCII` so that ``\d`` is ``[0-9]``; ``None`` skips it (codes must still be non-empty).

        Returns
        -------
        Population
            One entry per row of ``people``, in the same order.

        Raises
        ------
        InputError
            A bad option (every option is checked before the table is read, and the error names it), or a bad
            value: a missing or repeated id, a person on two practices' lists, an age out of 0–120, an
            exposure out of (0, 1], a negative cost, ... The message names the rows and the fix.
        SchemaError
            A required column is missing, or a column has the wrong type.
        UnknownCodeError
            A practice code not in ``practices``.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs import Population
        >>> people = pd.DataFrame({"person_id": [1, 2], "practice_code": ["A81001", "A81002"],
        ...                        "sex": ["F", "M"], "age": [34, 71], "lsoa_code": ["E01011959"] * 2})
        >>> Population.from_frame(people).n_people
        2
        """
        # Every option is checked before the table is read or any pass over it is made.
        cost = _column_option(cost, "cost")
        exposure = _column_option(exposure, "exposure")
        outcome_year = _year_option(outcome_year)
        reference = _date_option(reference_date, "reference_date")
        known = None if practices is None else check_names(practices, "practices", _OWNER, ordered=False,
                                                            example="A81001")
        pattern = None if practice_pattern is None else check_pattern(practice_pattern, "practice_pattern", _OWNER)

        frame = as_frame(people, "people")
        require_columns(frame, "people", REQUIRED)
        if len(frame) == 0:
            raise InputError("The 'people' table is empty. Fix: pass at least one registered person.")
        registration = {"registration_start", "registration_end"} & set(frame.columns)
        # A column named on purpose must be there; only the defaults are used "when present" (and exposure
        # can be computed from registration dates).
        named = [cost] if cost not in (None, "cost") and cost not in frame.columns else []
        if exposure not in (None, "exposure") and exposure not in frame.columns and not registration:
            named.append(exposure)
        if named:
            require_columns(frame, "people", named)
        ids = check_identifiers(frame, "people", "person_id")

        practice, practice_codes, practice_uniques = text_column(
            frame, "people", "practice_code", ids, missing_fix="fill it; people without a practice_code cannot be "
                                                               "placed")
        if not strictly_increasing(ids):  # sorted ids are unique: skip hashing them (streamed batches are)
            lists = pd.DataFrame({"person_id": ids, "practice_code": practice})
            _check_one_list_each(lists)
            check_unique(frame, "people", "person_id", ids)
        if pattern is not None:
            matches = np.fromiter((pattern.fullmatch(v) is not None for v in practice_uniques[:-1]), dtype=bool,
                                  count=len(practice_uniques) - 1)
            bad = ~matches[practice_codes]
            if bad.any():
                raise InputError(
                    f"The 'people' table's column 'practice_code' must match {pattern.pattern!r} (ODS codes "
                    f"such as 'A81001'). Got {int(bad.sum()):,} row(s) that do not: "
                    f"{describe_rows(frame.index, bad, practice, ids)}. Fix: strip spaces and upper-case the "
                    "codes (ASCII letters and digits only), or pass practice_pattern=None for non-ODS identifiers."
                )
        if known is not None:
            reference_codes = pd.Index(pd.unique(np.asarray(known, dtype=object)))
            unknown = reference_codes.get_indexer(practice) < 0
            if unknown.any():
                codes = sorted(pd.unique(practice[unknown]))
                raise UnknownCodeError(
                    f"The 'people' table's column 'practice_code' holds {len(codes):,} code(s) not in the "
                    f"'practices' reference ({int(unknown.sum()):,} people), e.g. {codes[:5]}: "
                    f"{describe_rows(frame.index, unknown, practice, ids)}. Fix: use the practice frame of "
                    "the same year, or map closed or merged practices to their successors first."
                )

        sex = _sex(frame, ids)
        age = _age(frame, ids, reference, outcome_year)
        lsoa = text_column(frame, "people", "lsoa_code", ids,
                           missing_fix="fill it; people without a lsoa_code cannot be given their area's needs")[0]

        if exposure is not None and exposure not in frame.columns and registration:
            frame = frame.assign(**{exposure: _exposure_from_registration(frame, ids, outcome_year)})
        if exposure is not None and exposure in frame.columns:
            years = check_finite(frame, "people", exposure, ids)
            check_range(frame, "people", exposure, years, low=0, high=1, low_open=True, ids=ids,
                        fix="exposure is the fraction of the outcome year registered; remove people "
                            "registered for no time and cap at 1")
        else:
            years = np.ones(len(frame))
        amounts = None
        if cost is not None and cost in frame.columns:
            amounts = check_finite(frame, "people", cost, ids)
            check_range(frame, "people", cost, amounts, low=0, ids=ids,
                        fix="costs are non-negative pounds; net refunds off at practice level instead")
        return cls(
            person_id=ids,
            practice_code=practice,
            sex=sex,
            age=age.astype(np.int16),
            lsoa_code=lsoa,
            exposure=np.ascontiguousarray(years, dtype=np.float64),
            cost=None if amounts is None else np.ascontiguousarray(amounts, dtype=np.float64),
        )

    @property
    def n_people(self) -> int:
        """Number of people (rows)."""
        return len(self.person_id)

    def __len__(self) -> int:
        return self.n_people

    @property
    def index(self) -> pd.Index:
        """Positions of people by ``person_id`` (built once, on first use)."""
        if self._index is None:
            object.__setattr__(self, "_index", pd.Index(self.person_id))
        return self._index

    def rows_of(self, person_id) -> np.ndarray:
        """Find the row positions of ``person_id`` values; ``-1`` where a person is not in the population.

        Parameters
        ----------
        person_id : array-like
            Identifiers to look up, of the population's id type.

        Returns
        -------
        ndarray of int64
            One position per value given.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs import Population
        >>> people = Population.from_frame(pd.DataFrame({"person_id": [11, 12], "practice_code": ["A81001"] * 2,
        ...                                              "sex": ["F", "M"], "age": [34, 71],
        ...                                              "lsoa_code": ["E01011959"] * 2}))
        >>> people.rows_of([12, 99, 11]).tolist()
        [1, -1, 0]
        """
        person_id = np.asarray(person_id)
        ids = self.person_id
        if self._sorted_ids() and person_id.dtype.kind in "iu" and len(ids):
            at = np.minimum(np.searchsorted(ids, person_id), len(ids) - 1)  # binary search, no hash table
            return np.where(ids[at] == person_id, at, -1).astype(np.int64)
        return self.index.get_indexer(person_id).astype(np.int64)

    def _sorted_ids(self) -> bool:
        if self._sorted is None:
            object.__setattr__(self, "_sorted", strictly_increasing(self.person_id))
        return self._sorted

    def to_frame(self) -> pd.DataFrame:
        """Return the population as a DataFrame (``sex`` as ``F``/``M``).

        Returns
        -------
        pandas.DataFrame
            Columns ``person_id``, ``practice_code``, ``sex``, ``age``, ``lsoa_code``, ``exposure`` and, when
            known, ``cost``: a table :meth:`from_frame` accepts.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs import Population
        >>> people = Population.from_frame(pd.DataFrame({"person_id": [11], "practice_code": ["A81001"],
        ...                                              "sex": ["female"], "age": [34],
        ...                                              "lsoa_code": ["E01011959"]}))
        >>> people.to_frame().to_dict("records")
        [{'person_id': 11, 'practice_code': 'A81001', 'sex': 'F', 'age': 34, 'lsoa_code': 'E01011959', 'exposure': 1.0}]
        """
        frame = pd.DataFrame({
            "person_id": self.person_id,
            "practice_code": self.practice_code,
            "sex": np.asarray(SEX_LABELS, dtype=object)[self.sex],
            "age": self.age,
            "lsoa_code": self.lsoa_code,
            "exposure": self.exposure,
        })
        if self.cost is not None:
            frame["cost"] = self.cost
        return frame

    def take(self, rows) -> Population:
        """Select the people at positions ``rows``, in that order, as a new population.

        Parameters
        ----------
        rows : array-like of int
            Row positions (or a boolean mask), e.g. from :meth:`rows_of`.

        Returns
        -------
        Population
            Not validated again: the people are those of this population.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs import Population
        >>> people = Population.from_frame(pd.DataFrame({"person_id": [11, 12, 13], "practice_code": ["A81001"] * 3,
        ...                                              "sex": ["F", "M", "F"], "age": [34, 71, 5],
        ...                                              "lsoa_code": ["E01011959"] * 3}))
        >>> people.take([2, 0]).person_id.tolist()
        [13, 11]
        """
        rows = np.asarray(rows)
        return Population(
            person_id=self.person_id[rows], practice_code=self.practice_code[rows], sex=self.sex[rows],
            age=self.age[rows], lsoa_code=self.lsoa_code[rows], exposure=self.exposure[rows],
            cost=None if self.cost is None else self.cost[rows],
        )


def _column_option(value, parameter: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InputError(f"The {parameter!r} parameter of {_OWNER} must be a column name (str) or None. Got "
                         f"{type(value).__name__} {value!r}. Fix: e.g. {parameter}={parameter!r}, or None to ignore "
                         "it.")
    return value


def _year_option(value) -> str | None:
    from .records import financial_year

    if value is None:
        return None
    try:
        return financial_year(value)
    except InputError as exc:
        raise InputError(f"The 'outcome_year' parameter of {_OWNER} is not valid: {exc}") from None


def _date_option(value, parameter: str) -> pd.Timestamp | None:
    """Return a date parameter as a naive Timestamp; numbers are refused (pandas would read 5 as 5 ns after 1970)."""
    if value is None:
        return None
    stamp = pd.NaT
    if not isinstance(value, (numbers.Number, np.bool_)):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError, OverflowError):
            stamp = pd.NaT
    if stamp is pd.NaT:
        raise InputError(f"The {parameter!r} parameter of {_OWNER} must be a date. Got {type(value).__name__} "
                         f"{value!r}. Fix: e.g. {parameter}='2025-04-01'.")
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _outcome_year_bounds(outcome_year, why: str, fix: str = "pass outcome_year='2025/26'"
                         ) -> tuple[pd.Timestamp, pd.Timestamp]:
    if outcome_year is None:
        raise InputError(f"The 'outcome_year' parameter is needed to {why}. Fix: {fix}.")
    start = int(outcome_year[:4])
    return pd.Timestamp(start, 4, 1), pd.Timestamp(start + 1, 4, 1)


def _dates(frame: pd.DataFrame, column: str, ids) -> pd.Series:
    return parse_dates(frame, "people", column, ids)


def _age(frame: pd.DataFrame, ids, reference, outcome_year) -> np.ndarray:
    """Completed years at the start of the outcome year, from ``age`` or ``date_of_birth``, or both when they agree.

    When both columns are given, a person's ``age`` must equal the completed years at the reference date
    computed from ``date_of_birth`` (rows with no date of birth keep their ``age``); otherwise one of the two
    would be silently ignored.
    """
    has_age, has_birth = "age" in frame.columns, "date_of_birth" in frame.columns
    if not has_age and not has_birth:
        require_columns(frame, "people", ["age"])
    from_birth = None
    if has_birth:
        why = ("check 'age' against 'date_of_birth' (both columns are given)" if has_age
               else "compute ages from 'date_of_birth'")
        fix = "pass outcome_year='2025/26' or reference_date='2025-04-01'" + (
            ", or drop one of the two columns" if has_age else "")
        from_birth = _age_from_birth(frame, ids, reference, outcome_year, why=why, fix=fix, allow_missing=has_age)
        if not has_age:
            frame = frame.assign(age=from_birth)
    age = check_finite(frame, "people", "age", ids)
    check_range(frame, "people", "age", age, low=0, high=MAX_AGE, ids=ids,
                fix="ages are completed years from 0 to 120; correct dates of birth")
    check_integer_valued(frame, "people", "age", age, ids)
    if has_age and has_birth:
        disagree = ~np.isnan(from_birth) & (from_birth != age)
        if disagree.any():
            shown = "; ".join(f"row {_plain(frame.index[k])!r} (person_id {_plain(ids[k])!r}): age {age[k]:g}, "
                              f"date_of_birth {_plain(frame['date_of_birth'].iloc[k])!s} gives {from_birth[k]:g}"
                              for k in np.flatnonzero(disagree)[:5])
            more = f" and {int(disagree.sum()) - 5:,} more" if disagree.sum() > 5 else ""
            raise InputError(
                f"The 'people' table's columns 'age' and 'date_of_birth' disagree in {int(disagree.sum()):,} row(s) "
                f"(age is completed years at the reference date): {shown}{more}. Fix: correct those rows, or drop one "
                "of the two columns so that there is one source of age."
            )
    return age


def _age_from_birth(frame: pd.DataFrame, ids, reference, outcome_year, *, why: str, fix: str,
                    allow_missing: bool = False) -> np.ndarray:
    """Completed years at the reference date (1 April of the outcome year by default); NaN where unknown."""
    ref = reference if reference is not None else _outcome_year_bounds(outcome_year, why, fix)[0]
    born = _dates(frame, "date_of_birth", ids)
    missing = born.isna().to_numpy()
    if missing.any() and not allow_missing:
        raise InputError(f"The 'people' table's column 'date_of_birth' is missing in {int(missing.sum()):,} "
                         f"row(s): {describe_rows(frame.index, missing, born.to_numpy(), ids)}. "
                         "Fix: fill it, or give 'age' instead.")
    years = (ref.year - born.dt.year).to_numpy(dtype=np.float64, na_value=np.nan)
    before_birthday = ((born.dt.month > ref.month) | ((born.dt.month == ref.month) & (born.dt.day > ref.day)))
    return years - before_birthday.to_numpy(dtype=np.float64)


def _exposure_from_registration(frame: pd.DataFrame, ids, outcome_year) -> np.ndarray:
    """Years registered within the outcome year: overlap of [start, end) with 1 April to 31 March."""
    fy_start, fy_end = _outcome_year_bounds(outcome_year, "compute exposure from registration dates")
    start = _dates(frame, "registration_start", ids) if "registration_start" in frame.columns else None
    end = _dates(frame, "registration_end", ids) if "registration_end" in frame.columns else None
    lo = np.full(len(frame), fy_start.value) if start is None else \
        np.maximum(start.fillna(fy_start).to_numpy("datetime64[ns]").astype(np.int64), fy_start.value)
    hi = np.full(len(frame), fy_end.value) if end is None else \
        np.minimum(end.fillna(fy_end).to_numpy("datetime64[ns]").astype(np.int64), fy_end.value)
    days = (hi - lo) / 86_400e9
    none = days <= 0
    if none.any():
        raise InputError(f"{int(none.sum()):,} people in the 'people' table were not registered at any time "
                         f"in {outcome_year}: {describe_rows(frame.index, none, days, ids)} (days registered). "
                         "Fix: keep only people registered during the outcome year.")
    return days / ((fy_end - fy_start).days)


def _check_one_list_each(lists: pd.DataFrame) -> None:
    """Raise a specific error when one person appears on two practices' lists."""
    repeated = lists[lists["person_id"].duplicated(keep=False).to_numpy()]  # cheap when there are none
    per_person = repeated.groupby("person_id", sort=False)["practice_code"].nunique()
    multi = per_person[per_person > 1]
    if len(multi):
        example = multi.index[:5].tolist()
        detail = "; ".join(
            f"person_id {p!r} on {sorted(lists.loc[lists.person_id == p, 'practice_code'].unique())}"
            for p in example[:3]
        )
        raise InputError(
            f"The 'people' table puts {len(multi):,} person(s) on more than one practice's list: {detail}. "
            "A person belongs to one registered list. Fix: keep each person's current registration "
            "(latest registration start) before building the population."
        )


def _sex(frame: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    raw = frame["sex"]
    if not may_hold_text(raw):
        raise InputError(
            f"The 'people' table's column 'sex' must be 'F' or 'M' (or 'female'/'male'). Got dtype {raw.dtype} "
            f"with values like {raw.head(3).tolist()!r}. Numeric codes are ambiguous (ONS uses 1 = male, "
            "2 = female). Fix: frame['sex'].map({1: 'M', 2: 'F'}) after checking your source's convention."
        )
    # Normalise each distinct spelling once, then look the codes up by position.
    positions, spellings = factorize_column(raw, "people")
    # ASCII case folding: str.upper would read look-alike letters of other scripts as these spellings.
    known = np.asarray([SEX_CODES.get(ascii_upper(v.strip()), -1) if isinstance(v, str) else -1 for v in spellings],
                       dtype=np.int64)
    codes = known[positions]  # the trailing None (missing) maps to -1
    bad = codes < 0
    if bad.any():
        raise InputError(
            f"The 'people' table's column 'sex' must be one of 'F', 'M', 'female', 'male' (any case). Got "
            f"{int(bad.sum()):,} other value(s): {describe_rows(frame.index, bad, raw.to_numpy(object), ids)}. "
            "Fix: map your codes to 'F'/'M'; the model's age-sex cells need one of the two (people recorded "
            "as indeterminate need a documented rule of yours)."
        )
    return codes.astype(np.int8)

