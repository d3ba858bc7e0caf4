"""The registered population: one row per person on a practice's registered list."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import (
    as_frame,
    check_finite,
    check_integer_valued,
    check_range,
    check_unique,
    describe_rows,
    factorize_column,
    require_columns,
)
from ..errors import InputError, SchemaError, UnknownCodeError

__all__ = ["PRACTICE_CODE_PATTERN", "SEX_CODES", "Population"]

#: ODS practice codes: a letter and five digits, e.g. ``A81001``.
PRACTICE_CODE_PATTERN = r"^[A-Z]\d{5}$"
#: Accepted spellings of sex, mapped to the code stored (0 = female, 1 = male).
SEX_CODES = {"F": 0, "M": 1, "FEMALE": 0, "MALE": 1}
SEX_LABELS = ("F", "M")

REQUIRED = ("person_id", "practice_code", "sex", "lsoa_code")
MAX_AGE = 120


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
    """

    person_id: np.ndarray
    practice_code: np.ndarray
    sex: np.ndarray
    age: np.ndarray
    lsoa_code: np.ndarray
    exposure: np.ndarray
    cost: np.ndarray | None = None
    _index: pd.Index = field(default=None, repr=False)

    @classmethod
    def from_frame(cls, people, *, cost: str | None = "cost", exposure: str | None = "exposure",
                   outcome_year: str | None = None, reference_date=None,
                   practices=None, practice_pattern: str | None = PRACTICE_CODE_PATTERN) -> Population:
        """Validate a people table and return a :class:`Population`.

        Parameters
        ----------
        people : pandas.DataFrame or path
            One row per person with columns ``person_id``, ``practice_code``, ``sex`` (``F``/``M``, or
            ``female``/``male``, any case), ``age`` (whole years, 0–120) or ``date_of_birth``, and
            ``lsoa_code``; optionally ``exposure`` (or ``registration_start`` / ``registration_end``) and
            ``cost``. A Parquet path is read.
        cost : str or None
            Column holding outcome-year hospital cost (£); used when present, ``None`` to ignore.
        exposure : str or None
            Column holding years registered in the outcome year, in (0, 1]. When absent, it is computed
            from ``registration_start`` and ``registration_end`` (empty end = still registered) over the
            ``outcome_year``; without those, every person counts for a full year.
        outcome_year : str, optional
            Financial year of the outcome (``'2025/26'``), needed to turn registration dates into exposure.
        reference_date : date-like, optional
            Date at which ages are computed from ``date_of_birth``; 1 April of ``outcome_year`` by default.
        practices : iterable of str, optional
            The practices a person may be registered with; any other code raises
            :class:`~capitation.errors.UnknownCodeError`.
        practice_pattern : str or None
            Regular expression every practice code must match (ODS codes by default); ``None`` skips it.

        Returns
        -------
        Population

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs import Population
        >>> people = pd.DataFrame({"person_id": [1, 2], "practice_code": ["A81001", "A81002"],
        ...                        "sex": ["F", "M"], "age": [34, 71], "lsoa_code": ["E01011959"] * 2})
        >>> Population.from_frame(people).n_people
        2
        """
        frame = as_frame(people, "people")
        require_columns(frame, "people", REQUIRED)
        if len(frame) == 0:
            raise InputError("The 'people' table is empty. Fix: pass at least one registered person.")
        ids = frame["person_id"].to_numpy()
        _check_ids(frame, ids)

        practice, practice_codes, practice_uniques = _strings(frame, "practice_code", ids)
        lists = pd.DataFrame({"person_id": ids, "practice_code": practice})
        _check_one_list_each(lists)
        check_unique(frame, "people", "person_id", ids)
        if practice_pattern is not None:
            bad = ~pd.Series(practice_uniques[:-1], dtype=object).str.fullmatch(practice_pattern).to_numpy(
                dtype=bool)[practice_codes]
            if bad.any():
                raise InputError(
                    f"The 'people' table's column 'practice_code' must match {practice_pattern!r} (ODS codes "
                    f"such as 'A81001'). Got {int(bad.sum()):,} row(s) that do not: "
                    f"{describe_rows(frame.index, bad, practice, ids)}. Fix: strip spaces and upper-case the "
                    "codes, or pass practice_pattern=None for non-ODS identifiers."
                )
        if practices is not None:
            known = pd.Index(pd.unique(np.asarray(list(practices), dtype=object)))
            unknown = known.get_indexer(practice) < 0
            if unknown.any():
                codes = sorted(pd.unique(practice[unknown]))
                raise UnknownCodeError(
                    f"The 'people' table's column 'practice_code' holds {len(codes):,} code(s) not in the "
                    f"'practices' reference ({int(unknown.sum()):,} people), e.g. {codes[:5]}: "
                    f"{describe_rows(frame.index, unknown, practice, ids)}. Fix: use the practice frame of "
                    "the same year, or map closed or merged practices to their successors first."
                )

        sex = _sex(frame, ids)
        if "age" not in frame.columns:
            if "date_of_birth" not in frame.columns:
                require_columns(frame, "people", ["age"])
            frame = frame.assign(age=_age_from_birth(frame, ids, reference_date, outcome_year))
        age = check_finite(frame, "people", "age", ids)
        check_range(frame, "people", "age", age, low=0, high=MAX_AGE, ids=ids,
                    fix="ages are completed years from 0 to 120; correct dates of birth")
        check_integer_valued(frame, "people", "age", age, ids)
        lsoa = _strings(frame, "lsoa_code", ids)[0]

        if (exposure is not None and exposure not in frame.columns
                and {"registration_start", "registration_end"} & set(frame.columns)):
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
        """Number of people."""
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
        """Row positions of ``person_id`` values; ``-1`` where a person is not in the population."""
        return self.index.get_indexer(np.asarray(person_id)).astype(np.int64)

    def to_frame(self) -> pd.DataFrame:
        """The population as a DataFrame (``sex`` as ``F``/``M``)."""
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
        """A new population holding the people at positions ``rows`` (in that order)."""
        rows = np.asarray(rows)
        return Population(
            person_id=self.person_id[rows], practice_code=self.practice_code[rows], sex=self.sex[rows],
            age=self.age[rows], lsoa_code=self.lsoa_code[rows], exposure=self.exposure[rows],
            cost=None if self.cost is None else self.cost[rows],
        )


def _outcome_year_bounds(outcome_year, why: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    from .records import financial_year

    if outcome_year is None:
        raise InputError(f"The 'outcome_year' parameter is needed to {why}. Fix: pass outcome_year='2025/26'.")
    start = int(financial_year(outcome_year)[:4])
    return pd.Timestamp(start, 4, 1), pd.Timestamp(start + 1, 4, 1)


def _dates(frame: pd.DataFrame, column: str, ids) -> pd.Series:
    try:
        return pd.to_datetime(frame[column], errors="raise")
    except (ValueError, TypeError) as exc:
        raise InputError(f"The 'people' table's column {column!r} must hold dates. {exc}. "
                         "Fix: write dates as YYYY-MM-DD.") from exc


def _age_from_birth(frame: pd.DataFrame, ids, reference_date, outcome_year) -> np.ndarray:
    """Completed years at the reference date (1 April of the outcome year by default)."""
    ref = pd.Timestamp(reference_date) if reference_date is not None else \
        _outcome_year_bounds(outcome_year, "compute ages from 'date_of_birth'")[0]
    born = _dates(frame, "date_of_birth", ids)
    missing = born.isna().to_numpy()
    if missing.any():
        raise InputError(f"The 'people' table's column 'date_of_birth' is missing in {int(missing.sum()):,} "
                         f"row(s): {describe_rows(frame.index, missing, born.to_numpy(), ids)}. "
                         "Fix: fill it, or give 'age' instead.")
    years = ref.year - born.dt.year
    before_birthday = (born.dt.month > ref.month) | ((born.dt.month == ref.month) & (born.dt.day > ref.day))
    return (years - before_birthday.astype(int)).to_numpy(dtype=np.float64)


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


def _check_ids(frame: pd.DataFrame, ids: np.ndarray) -> None:
    if ids.dtype.kind in "iu":
        return
    if ids.dtype.kind == "f":
        raise SchemaError("The 'people' table's column 'person_id' must be integers or strings, not floats "
                          f"(dtype {ids.dtype}). Fix: frame['person_id'].astype('int64') if they are whole.")
    missing = pd.isna(ids)
    if missing.any():
        raise InputError(f"The 'people' table's column 'person_id' is missing in {int(missing.sum()):,} "
                         f"row(s): {describe_rows(frame.index, missing, ids)}. Fix: every person needs an id.")


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


def _may_hold_text(series: pd.Series) -> bool:
    """Whether a column's dtype can hold strings (a Categorical's: its categories' dtype)."""
    kind = series.dtype.categories.dtype if isinstance(series.dtype, pd.CategoricalDtype) else series.dtype
    return pd.api.types.is_string_dtype(kind) or pd.api.types.is_object_dtype(kind)


def _strings(frame: pd.DataFrame, column: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The column as an object array of strings, with its codes and distinct values (see factorize_column)."""
    series = frame[column]
    if not _may_hold_text(series):
        raise SchemaError(f"The 'people' table's column {column!r} must hold strings. Got dtype "
                          f"{series.dtype}. Fix: frame[{column!r}].astype(str).")
    codes, uniques = factorize_column(series)
    values = uniques[codes]
    missing = codes < 0
    if missing.any():
        raise InputError(f"The 'people' table's column {column!r} is missing in {int(missing.sum()):,} row(s): "
                         f"{describe_rows(frame.index, missing, series.to_numpy(object), ids)}. Fix: fill it; "
                         f"people without a {column} cannot be placed.")
    not_str = np.fromiter((not isinstance(v, str) for v in uniques), dtype=bool, count=len(uniques))[codes]
    if not_str.any():
        raise SchemaError(f"The 'people' table's column {column!r} must hold strings. Got other types in "
                          f"{int(not_str.sum()):,} row(s): {describe_rows(frame.index, not_str, values, ids)}. "
                          f"Fix: frame[{column!r}].astype(str).")
    return values, codes, uniques


def _sex(frame: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    raw = frame["sex"]
    if not _may_hold_text(raw):
        raise InputError(
            f"The 'people' table's column 'sex' must be 'F' or 'M' (or 'female'/'male'). Got dtype {raw.dtype} "
            f"with values like {raw.head(3).tolist()!r}. Numeric codes are ambiguous (ONS uses 1 = male, "
            "2 = female). Fix: frame['sex'].map({1: 'M', 2: 'F'}) after checking your source's convention."
        )
    # Normalise each distinct spelling once, then look the codes up by position.
    positions, spellings = factorize_column(raw)
    known = np.asarray([SEX_CODES.get(v.strip().upper(), -1) if isinstance(v, str) else -1 for v in spellings],
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

