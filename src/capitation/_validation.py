"""Checks shared by every public entry point.

Each check raises an error from :mod:`capitation.errors` whose message names the parameter, the column, the
offending rows and values, and the fix. Nothing here drops rows: callers decide, and count, what to exclude.

Checks of a column run once per distinct value where they can (see :func:`factorize_column`), and otherwise
as whole-array numpy or pandas operations; only the error paths look at single rows.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import string
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import InputError, SchemaError

__all__ = [
    "ascii_lower",
    "ascii_upper",
    "check_finite",
    "check_identifiers",
    "check_integer_valued",
    "check_names",
    "check_number",
    "check_option",
    "check_pattern",
    "check_range",
    "check_unique",
    "describe_rows",
    "factorize_column",
    "id_kind",
    "is_number_dtype",
    "may_hold_text",
    "parse_dates",
    "require_columns",
    "text_column",
]

_SHOW = 5  # how many offending rows a message lists


def require_columns(frame: pd.DataFrame, name: str, required: Sequence[str]) -> None:
    """Raise :class:`SchemaError` naming each missing column and the closest present name.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    name : str
        The table, for the message (``"people"``, ``"diagnoses"``, ``"membership"``).
    required : sequence of str
        Columns that must be present.

    Raises
    ------
    SchemaError
        A required column is missing, or two columns share a name.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._validation import require_columns
    >>> people = pd.DataFrame({"person_id": [1], "practice": ["A81001"]})
    >>> require_columns(people, "people", ["person_id", "practice_code"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.SchemaError: The 'people' table is missing required column(s) 'practice_code' (did you mean ...
    """
    if len(frame.columns) != len(set(frame.columns)):
        dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        raise SchemaError(f"The {name!r} table has duplicate column names {dupes}. Fix: rename them.")
    missing = [c for c in required if c not in frame.columns]
    if not missing:
        return
    hints = []
    present = [str(c) for c in frame.columns]
    for col in missing:
        close = difflib.get_close_matches(col, present, n=1, cutoff=0.6)
        lowered = {p.lower().replace(" ", "_"): p for p in present}
        if not close and col in lowered:
            close = [lowered[col]]
        hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise SchemaError(
        f"The {name!r} table is missing required column(s) {', '.join(hints)}. "
        f"It has {present}. Fix: rename the columns, e.g. frame.rename(columns={{'old': 'new'}})."
    )


def describe_rows(frame_index, mask: np.ndarray, values, ids=None, id_name: str = "person_id") -> str:
    """Describe the first offending rows as ``row 3 (person_id 17): -2``, for an error message.

    Parameters
    ----------
    frame_index : pandas.Index or None
        The table's index, whose labels name the rows; ``None`` names them by position.
    mask : ndarray of bool
        The offending rows.
    values : array-like
        The column's values, shown for each row named.
    ids : array-like, optional
        Identifiers shown beside each row (the people's ``person_id``).
    id_name : str
        What the identifiers are called.

    Returns
    -------
    str
        The first five offending rows, then how many more there are.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation._validation import describe_rows
    >>> describe_rows(pd.Index([10, 11, 12]), np.array([False, True, True]), np.array([5, -2, -3]),
    ...               ids=np.array([7, 8, 9]))
    'row 11 (person_id 8): -2; row 12 (person_id 9): -3'
    """
    where = np.flatnonzero(mask)
    parts = []
    for pos in where[:_SHOW]:
        label = frame_index[pos] if frame_index is not None else pos
        who = f" ({id_name} {_plain(ids[pos])!r})" if ids is not None else ""
        parts.append(f"row {_plain(label)}: {_plain(values[pos])!r}" if not who
                     else f"row {_plain(label)}{who}: {_plain(values[pos])!r}")
    more = f" and {len(where) - _SHOW:,} more" if len(where) > _SHOW else ""
    return "; ".join(parts) + more


def factorize_column(series: pd.Series, name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column and its distinct values, followed by ``None``.

    ``uniques[codes]`` rebuilds the column with ``None`` for missing values (their code is ``-1``), so checks
    and normalisation run once per distinct value rather than once per row. Categoricals (Parquet's
    dictionary-encoded strings arrive so) are used as they are: nothing is hashed or converted.

    Parameters
    ----------
    series : pandas.Series
        The column (its ``name`` is the column's name in messages).
    name : str, optional
        The table, for messages: a cell holding a list or another unhashable value raises
        :class:`SchemaError` naming the rows.

    Returns
    -------
    codes : ndarray of int
        Position of each row's value in ``uniques``; ``-1`` for a missing value.
    uniques : ndarray of object
        The distinct values, then ``None`` (so ``uniques[-1]``, the missing value, is ``uniques[codes]``
        where the code is ``-1``).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._validation import factorize_column
    >>> codes, uniques = factorize_column(pd.Series(["DM", "HYP", None, "DM"]))
    >>> codes.tolist(), uniques.tolist(), uniques[codes].tolist()
    ([0, 1, -1, 0], ['DM', 'HYP', None], ['DM', 'HYP', None, 'DM'])
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = np.asarray(series.cat.codes)
        uniques = series.cat.categories.to_numpy(dtype=object)
    else:
        try:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
        except TypeError as exc:  # a list, dict or array in a cell: it cannot be compared with other values
            raise _unhashable(series, name) from exc
        uniques = np.asarray(uniques, dtype=object)
    return codes, np.append(uniques, None)


def _unhashable(series: pd.Series, name: str | None) -> SchemaError:
    def hashable(value) -> bool:
        try:
            hash(value)
        except TypeError:
            return False
        return True

    values = series.to_numpy(dtype=object)
    bad = ~np.fromiter(map(hashable, values), dtype=bool, count=len(values))
    table = f"The {name!r} table's column" if name else "The column"
    return SchemaError(f"{table} {series.name!r} must hold one value per cell. Got lists or other containers in "
                       f"{int(bad.sum()):,} row(s): {describe_rows(series.index, bad, values)}. "
                       f"Fix: one value per row, e.g. frame.explode({series.name!r}).")


def _plain(value):
    """Unwrap a numpy scalar to the Python value it holds, so messages read ``3`` rather than ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def is_number_dtype(dtype) -> bool:
    """Tell whether a dtype holds real numbers: integers and floats, numpy or pandas nullable.

    Parameters
    ----------
    dtype : numpy or pandas dtype
        A column's dtype.

    Returns
    -------
    bool
        False for booleans, complex numbers and timedeltas.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation._validation import is_number_dtype
    >>> is_number_dtype(np.dtype("int64")), is_number_dtype(pd.Float64Dtype()), is_number_dtype(np.dtype(bool))
    (True, True, False)
    """
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype))


def _numeric(frame: pd.DataFrame, name: str, column: str) -> np.ndarray:
    series = frame[column]
    if not is_number_dtype(series.dtype):
        sample = series.head(3).tolist()
        raise SchemaError(
            f"The {name!r} table's column {column!r} must be numeric. Got dtype {series.dtype} "
            f"(first values {sample!r}). Fix: convert it, e.g. pd.to_numeric(frame[{column!r}])."
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def check_finite(frame: pd.DataFrame, name: str, column: str, ids=None) -> np.ndarray:
    """Return a numeric column as float64, refusing NaN (or ``pd.NA``) and infinity.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    name, column : str
        The table and the column.
    ids : array-like, optional
        Identifiers named beside offending rows (the people's ``person_id``).

    Returns
    -------
    ndarray of float64

    Raises
    ------
    SchemaError
        The column is not numeric (object, text, booleans).
    InputError
        A value is missing or infinite; the message names the rows.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation._validation import check_finite
    >>> check_finite(pd.DataFrame({"age": [34, 71]}), "people", "age").tolist()
    [34.0, 71.0]
    >>> check_finite(pd.DataFrame({"age": [34, np.nan]}), "people", "age", ids=[7, 8])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'people' table's column 'age' must hold finite numbers. Got NaN or ...
    """
    values = _numeric(frame, name, column)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(
            f"The {name!r} table's column {column!r} must hold finite numbers. Got NaN or infinity in "
            f"{int(bad.sum()):,} row(s): {describe_rows(frame.index, bad, values, ids)}. "
            "Fix: fill or remove those rows before passing the table (nothing is dropped for you)."
        )
    return values


def check_range(frame: pd.DataFrame, name: str, column: str, values: np.ndarray, *, low=None, high=None,
                low_open: bool = False, ids=None, fix: str = "correct those rows") -> None:
    """Raise when ``values`` fall outside ``[low, high]`` (``(low, high]`` when ``low_open``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, whose index names the offending rows.
    name, column : str
        The table and the column, for the message.
    values : ndarray
        The column's values (e.g. from :func:`check_finite`).
    low, high : float, optional
        The bounds; ``None`` leaves that side open.
    low_open : bool
        Whether ``low`` itself is refused.
    ids : array-like, optional
        Identifiers named beside offending rows.
    fix : str
        The fix the message suggests.

    Raises
    ------
    InputError
        A value is out of range; the message names the rows and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation._validation import check_range
    >>> frame = pd.DataFrame({"exposure": [1.0, 0.0]})
    >>> check_range(frame, "people", "exposure", frame["exposure"].to_numpy(), low=0, high=1, low_open=True,
    ...             fix="remove people registered for no time")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'people' table's column 'exposure' must be > 0 and <= 1. Got 1 row(s) outside: ...
    """
    bad = np.zeros(len(values), dtype=bool)
    if low is not None:
        bad |= values <= low if low_open else values < low
    if high is not None:
        bad |= values > high
    if bad.any():
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        rule = " and ".join(r for r in (lo, hi) if r)
        raise InputError(
            f"The {name!r} table's column {column!r} must be {rule}. Got {int(bad.sum()):,} row(s) outside: "
            f"{describe_rows(frame.index, bad, values, ids)}. Fix: {fix}."
        )


def check_integer_valued(frame: pd.DataFrame, name: str, column: str, values: np.ndarray, ids=None) -> None:
    """Raise when a float column that must hold whole numbers does not.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, whose index names the offending rows.
    name, column : str
        The table and the column, for the message.
    values : ndarray of float
        The column's values, finite (e.g. from :func:`check_finite`).
    ids : array-like, optional
        Identifiers named beside offending rows.

    Raises
    ------
    InputError
        A value has a fractional part.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation._validation import check_integer_valued
    >>> check_integer_valued(pd.DataFrame({"age": [40.5]}), "people", "age", np.array([40.5]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'people' table's column 'age' must hold whole numbers. ... row 0: 40.5. ...
    """
    bad = values != np.floor(values)
    if bad.any():
        raise InputError(
            f"The {name!r} table's column {column!r} must hold whole numbers. Got {int(bad.sum()):,} "
            f"non-integer row(s): {describe_rows(frame.index, bad, values, ids)}. "
            f"Fix: use completed years, e.g. np.floor(frame[{column!r}])."
        )


def strictly_increasing(values: np.ndarray) -> bool:
    """Whether numeric ``values`` strictly increase (so they are unique): one vectorised pass, no hashing.

    Streamed batches and most extracts hold people sorted by ``person_id``; this check lets them skip the
    hash-based uniqueness test and look people up by binary search.

    Parameters
    ----------
    values : ndarray

    Returns
    -------
    bool
        False for text, or when any value is not above the one before.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._validation import strictly_increasing
    >>> [strictly_increasing(np.array(v)) for v in ([3, 7, 9], [3, 3], ["a"])]
    [True, False, False]
    """
    values = np.asarray(values)
    return values.dtype.kind in "iu" and bool((values[1:] > values[:-1]).all())


def check_unique(frame: pd.DataFrame, name: str, column: str, values: np.ndarray) -> None:
    """Raise when ``values`` repeat, naming the repeated values and their rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, whose index names the rows.
    name, column : str
        The table and the column, for the message.
    values : ndarray
        The column's values.

    Raises
    ------
    InputError
        A value appears more than once.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation._validation import check_unique
    >>> check_unique(pd.DataFrame({"person_id": [7, 8, 7]}), "people", "person_id",
    ...              np.array([7, 8, 7]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'people' table's column 'person_id' must be unique. ... 7 at rows [0, 2]. ...
    """
    dup = pd.Series(values).duplicated(keep=False).to_numpy()
    if dup.any():
        first = pd.unique(values[dup])[:_SHOW]
        rows = {v: frame.index[np.flatnonzero(values == v)][:3].tolist() for v in first}
        listing = "; ".join(f"{_plain(v)!r} at rows {r}" for v, r in rows.items())
        raise InputError(
            f"The {name!r} table's column {column!r} must be unique. Got {int(dup.sum()):,} rows sharing "
            f"{len(pd.unique(values[dup])):,} value(s): {listing}. Fix: keep one row per {column}."
        )


# -- identifiers, text codes and dates ------------------------------------------------------------------------

def check_identifiers(frame: pd.DataFrame, name: str, column: str = "person_id", *,
                      refuse_blank: bool = True) -> np.ndarray:
    """Check an identifier column: int64 (or uint64) or an object array of ``str``, one type throughout.

    Refused, naming the rows: missing values (including ``pd.NA`` in nullable integers), floats, booleans,
    dates, bytes and containers, integers mixed with strings (``1`` and ``'1'`` would be two people),
    integers beyond 64 bits and, when ``refuse_blank``, empty or whitespace-only strings.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    name, column : str
        The table and the column, for messages.
    refuse_blank : bool
        Whether to refuse blank strings. Records' ids need not be checked: a blank id matches nobody, since
        the population refuses them, and is counted or refused as an unknown person.

    Returns
    -------
    ndarray
        int64 (uint64 when the values need it; a nullable integer column as its numpy type), or object
        holding ``str``.

    Raises
    ------
    SchemaError
        A column of the wrong type, or mixing integers and strings.
    InputError
        A missing or blank id, or an integer beyond 64 bits.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._validation import check_identifiers
    >>> check_identifiers(pd.DataFrame({"person_id": pd.array([1, 2], dtype="Int64")}), "people").tolist()
    [1, 2]
    >>> check_identifiers(pd.DataFrame({"person_id": [1, "2"]}), "people")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.SchemaError: The 'people' table's column 'person_id' must hold integers or strings ... mixes ...
    """
    series = frame[column]
    dtype = series.dtype
    where = f"The {name!r} table's column {column!r}"
    kinds = "must hold integers or strings (one type for the whole column)"
    if pd.api.types.is_bool_dtype(dtype):
        raise SchemaError(f"{where} {kinds}, not booleans (dtype {dtype}, values like {series.head(3).tolist()!r}). "
                          f"Fix: use the real identifiers; True and False identify two people at most.")
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return series.to_numpy()
    if pd.api.types.is_integer_dtype(dtype):  # pandas nullable Int64 and friends
        missing = series.isna().to_numpy()
        if missing.any():
            raise InputError(f"{where} is missing (pd.NA) in {int(missing.sum()):,} row(s): "
                             f"{describe_rows(frame.index, missing, series.to_numpy(dtype=object))}. Every record "
                             f"needs an id. Fix: drop those rows, frame = frame[frame[{column!r}].notna()], "
                             "or fill them.")
        return series.to_numpy(dtype=dtype.numpy_dtype)
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(values)
        detail = (f" It is missing in {int(missing.sum()):,} row(s): {describe_rows(frame.index, missing, values)}."
                  if missing.any() else "")
        fix = (f"frame = frame[frame[{column!r}].notna()] and then frame[{column!r}].astype('int64')"
               if missing.any() else f"frame[{column!r}].astype('int64') if they are whole numbers")
        raise SchemaError(f"{where} {kinds}, not floats (dtype {dtype}).{detail} Fix: {fix}.")
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)):
        raise SchemaError(f"{where} {kinds}. Got dtype {dtype} (values like {series.head(3).tolist()!r}). "
                          f"Fix: frame[{column!r}].astype(str) if those are the identifiers.")
    values = series.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    if missing.any():
        raise InputError(f"{where} is missing in {int(missing.sum()):,} row(s): "
                         f"{describe_rows(frame.index, missing, values)}. Every record needs an id. Fix: drop those "
                         f"rows, frame = frame[frame[{column!r}].notna()], or fill them.")
    inferred = pd.api.types.infer_dtype(values, skipna=False)
    if inferred == "empty":
        return values
    if inferred == "string":
        if refuse_blank:
            blank = np.fromiter(map(str.isspace, values), dtype=bool, count=len(values)) | (values == "")
            if blank.any():
                raise InputError(f"{where} must not be empty. Got {int(blank.sum()):,} empty or blank row(s): "
                                 f"{describe_rows(frame.index, blank, values)}. Fix: give those rows their id, "
                                 "or drop them.")
        return values
    if inferred == "integer":
        return _integer_ids(frame, where, column, values)
    is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    is_int = np.fromiter((isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in values),
                         dtype=bool, count=len(values))
    other = ~(is_str | is_int)
    if other.any():
        raise SchemaError(f"{where} {kinds}. Got other types in {int(other.sum()):,} row(s): "
                          f"{describe_rows(frame.index, other, values)}. Fix: convert them, e.g. "
                          f"frame[{column!r}].astype(str), or drop those rows.")
    raise SchemaError(f"{where} {kinds}; it mixes {int(is_int.sum()):,} integer(s) (e.g. "
                      f"{describe_rows(frame.index, is_int, values)}) with {int(is_str.sum()):,} string(s) (e.g. "
                      f"{describe_rows(frame.index, is_str, values)}), so 1 and '1' would be two different ids. "
                      f"Fix: convert all to one type, e.g. frame[{column!r}] = frame[{column!r}].astype(str) (or "
                      ".astype('int64') when every string is a whole number).")


def id_kind(ids) -> str:
    """Say whether checked identifiers are ``"strings"`` or ``"integers"``: ids of two kinds never match.

    Parameters
    ----------
    ids : array-like
        Identifiers: as :func:`check_identifiers` returns them (object for text, an integer dtype otherwise),
        or as a user passes them (numpy strings, Python integers in an object array).

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._validation import id_kind
    >>> id_kind(np.array(["0042"], dtype=object)), id_kind(np.array([42])), id_kind(["0042"])
    ('strings', 'integers', 'strings')
    """
    ids = np.asarray(ids)
    integral = ids.dtype.kind in "iu" or (ids.dtype.kind == "O" and ids.size > 0 and isinstance(
        ids.flat[0], numbers.Integral) and not isinstance(ids.flat[0], bool | np.bool_))
    return "integers" if integral else "strings"


def _integer_ids(frame: pd.DataFrame, where: str, column: str, values: np.ndarray) -> np.ndarray:
    """Python or numpy integers held as objects, as int64 (or uint64 when they need it)."""
    for dtype in (np.int64, np.uint64):
        try:
            return values.astype(dtype)
        except OverflowError:
            continue
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.uint64).max
    huge = np.fromiter((not lo <= int(v) <= hi for v in values), dtype=bool, count=len(values))
    if not huge.any():  # negative and beyond int64 in one column: neither type holds both
        huge = np.fromiter((int(v) > np.iinfo(np.int64).max for v in values), dtype=bool, count=len(values))
    raise InputError(f"{where} must fit in 64 bits. Got {int(huge.sum()):,} larger integer(s): "
                     f"{describe_rows(frame.index, huge, values)}. Fix: store such identifiers as strings, "
                     f"frame[{column!r}] = frame[{column!r}].astype(str).")


def may_hold_text(series: pd.Series) -> bool:
    """Tell whether a column's dtype can hold strings (a Categorical's: its categories' dtype).

    Parameters
    ----------
    series : pandas.Series
        The column.

    Returns
    -------
    bool
        True for object and string dtypes, and Categoricals of them.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._validation import may_hold_text
    >>> [may_hold_text(pd.Series(v)) for v in (["F"], pd.Categorical(["F"]), [1])]
    [True, True, False]
    """
    kind = series.dtype.categories.dtype if isinstance(series.dtype, pd.CategoricalDtype) else series.dtype
    return pd.api.types.is_string_dtype(kind) or pd.api.types.is_object_dtype(kind)


def text_column(frame: pd.DataFrame, name: str, column: str, ids=None, *,
                missing_fix: str = "fill it") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a column of non-empty strings, and return it with its codes and distinct values.

    Refuses a non-text dtype, missing values, values that are not strings and empty or whitespace-only
    strings, naming the rows. Every check runs once per distinct value.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    name, column : str
        The table and the column.
    ids : array-like, optional
        Identifiers named beside offending rows.
    missing_fix : str
        The fix the message suggests for missing or blank values.

    Returns
    -------
    values : ndarray of object
        The column's strings.
    codes, uniques : ndarray
        As from :func:`factorize_column` (no code is ``-1``).

    Raises
    ------
    SchemaError
        The column's dtype cannot hold text, or a value is not a string.
    InputError
        A value is missing, empty or blank.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._validation import text_column
    >>> values, codes, uniques = text_column(pd.DataFrame({"register": ["DM", "HYP", "DM"]}), "conditions",
    ...                                      "register")
    >>> values.tolist(), codes.tolist(), uniques.tolist()
    (['DM', 'HYP', 'DM'], [0, 1, 0], ['DM', 'HYP', None])
    """
    series = frame[column]
    if not may_hold_text(series):
        raise SchemaError(f"The {name!r} table's column {column!r} must hold strings. Got dtype {series.dtype} "
                          f"(values like {series.head(3).tolist()!r}). Fix: frame[{column!r}].astype(str).")
    codes, uniques = factorize_column(series, name)
    missing = codes < 0
    if missing.any():
        raise InputError(f"The {name!r} table's column {column!r} is missing in {int(missing.sum()):,} row(s): "
                         f"{describe_rows(frame.index, missing, series.to_numpy(object), ids)}. Fix: {missing_fix}.")
    values = uniques[codes]
    not_str = np.fromiter((not isinstance(v, str) for v in uniques), dtype=bool, count=len(uniques))[codes]
    if not_str.any():
        raise SchemaError(f"The {name!r} table's column {column!r} must hold strings. Got other types in "
                          f"{int(not_str.sum()):,} row(s): {describe_rows(frame.index, not_str, values, ids)}. "
                          f"Fix: frame[{column!r}].astype(str).")
    blank = np.fromiter((isinstance(v, str) and not v.strip() for v in uniques), dtype=bool,
                        count=len(uniques))[codes]
    if blank.any():
        raise InputError(f"The {name!r} table's column {column!r} must not be empty. Got {int(blank.sum()):,} "
                         f"empty or blank row(s): {describe_rows(frame.index, blank, values, ids)}. "
                         f"Fix: {missing_fix}.")
    return values, codes, uniques


_NUMBER_KINDS = frozenset({"integer", "floating", "mixed-integer", "mixed-integer-float", "decimal", "complex",
                           "boolean"})


def parse_dates(frame: pd.DataFrame, name: str, column: str, ids=None) -> pd.Series:
    """Parse a column of dates as ``datetime64[ns]`` without time zone; missing values stay ``NaT``.

    Numbers are refused rather than read as nanoseconds since 1970 (20240101 is not a date), and so is
    any value that does not parse, naming the rows. A time-zone-aware column keeps its local dates.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    name, column : str
        The table and the column.
    ids : array-like, optional
        Identifiers named beside offending rows.

    Returns
    -------
    pandas.Series of datetime64[ns]
        Indexed as ``frame``.

    Raises
    ------
    SchemaError
        The column holds numbers.
    InputError
        A value is not a date, or lies outside the years 1678 to 2261.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._validation import parse_dates
    >>> parse_dates(pd.DataFrame({"date": ["2024-04-01", None]}), "conditions", "date").tolist()
    [Timestamp('2024-04-01 00:00:00'), NaT]
    >>> parse_dates(pd.DataFrame({"date": [20240401]}), "conditions", "date")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.SchemaError: The 'conditions' table's column 'date' must hold dates. Got numbers ...
    """
    series = frame[column]
    where = f"The {name!r} table's column {column!r}"
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(series.dtype):
        raise SchemaError(f"{where} must hold dates. Got numbers (dtype {series.dtype}, values like "
                          f"{series.head(3).tolist()!r}), which would be read as nanoseconds since 1970. Fix: "
                          f"pd.to_datetime(frame[{column!r}].astype(str), format='%Y%m%d') if they are YYYYMMDD.")
    if not pd.api.types.is_datetime64_dtype(series.dtype):
        values = series.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "date", "datetime", "datetime64",
                                                                   "empty"):
            number = np.fromiter((isinstance(v, (numbers.Number, np.bool_)) and not pd.isna(v) for v in values),
                                 dtype=bool, count=len(values))
            if number.any():
                raise SchemaError(f"{where} must hold dates. Got numbers in {int(number.sum()):,} row(s): "
                                  f"{describe_rows(frame.index, number, values, ids)}. Fix: write dates as "
                                  "YYYY-MM-DD.")
        # 01/05/2025 is 1 May in England and 5 January to pandas: never guess which.
        ambiguous = _day_month_first(values)
        if ambiguous.any():
            raise InputError(f"{where} holds {int(ambiguous.sum()):,} date(s) written day and month in numbers "
                             f"only: {describe_rows(frame.index, ambiguous, values, ids)}, which could be read "
                             "either way round. Fix: write dates as YYYY-MM-DD, e.g. pd.to_datetime(frame["
                             f"{column!r}], dayfirst=True).dt.strftime('%Y-%m-%d') for English dd/mm/yyyy.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not infer format": the rows that fail are named below
            try:
                parsed = pd.to_datetime(series, errors="coerce")
            except (TypeError, ValueError, OverflowError):
                parsed = pd.Series([_one_date(v) for v in values], index=series.index, dtype="datetime64[ns]")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        if not pd.api.types.is_datetime64_dtype(parsed.dtype):  # e.g. a mix of UTC offsets
            parsed = pd.Series([_one_date(v) for v in values], index=series.index, dtype="datetime64[ns]")
        bad = (parsed.isna() & series.notna()).to_numpy()
        if bad.any():
            raise InputError(f"{where} must hold dates. Got {int(bad.sum()):,} row(s) that are not: "
                             f"{describe_rows(frame.index, bad, values, ids)}. Fix: write dates as YYYY-MM-DD "
                             "(one format for the whole column).")
        series = parsed
    outside = ((series < pd.Timestamp.min) | (series > pd.Timestamp.max)).to_numpy()
    if outside.any():
        raise InputError(f"{where} holds {int(outside.sum()):,} date(s) outside the years 1678 to 2261: "
                         f"{describe_rows(frame.index, outside, series.to_numpy(dtype=object), ids)}. "
                         "Fix: correct those dates.")
    return series.astype("datetime64[ns]")


#: Dates of numbers only with the day and month first, in either order: 01/05/2025, 1.5.25, 01-05-2025.
_DAY_MONTH = r"\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?:[ T].*)?"


def _day_month_first(values: np.ndarray) -> np.ndarray:
    """Mark the text values written day and month in numbers only (:data:`_DAY_MONTH`)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("date", "datetime", "datetime64", "empty"):
        return np.zeros(len(values), dtype=bool)
    if kind == "string":  # each distinct value checked once
        codes, distinct = pd.factorize(values)
        flagged = [re.fullmatch(_DAY_MONTH, v) is not None for v in distinct]
        return np.append(np.asarray(flagged, dtype=bool), False)[codes]
    return np.fromiter((isinstance(v, str) and re.fullmatch(_DAY_MONTH, v) is not None for v in values),
                       dtype=bool, count=len(values))


def _one_date(value):
    """One value as a naive Timestamp, or ``NaT`` (the slow path, taken only when the column fails whole)."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        return pd.NaT
    return stamp.tz_localize(None) if stamp is not pd.NaT and stamp.tzinfo is not None else stamp


# -- parameters: checked when an object is made, before any pass over data ---------------------------------

def check_number(value, parameter: str, owner: str | None = None, *, low: float = -math.inf,
                 high: float = math.inf, low_open: bool = False, high_open: bool = False, optional: bool = False,
                 what: str = "a number", fix: str | None = None) -> float | None:
    """Check a real number in an interval, as ``float`` (``None`` passes when ``optional``).

    The one check of rates, shares and tolerances given as parameters: bools, text, NaN and infinities are
    refused, and the message states the interval with its brackets.

    Parameters
    ----------
    value : object
        What the caller passed.
    parameter, owner : str
        The parameter's name and the function or class it belongs to, for the message.
    low, high : float
        The interval's ends (infinite by default).
    low_open, high_open : bool
        Whether ``low`` / ``high`` themselves are excluded.
    optional : bool
        Whether ``None`` is allowed (and returned).
    what : str
        What the number is, e.g. ``"a rate"``.
    fix : str, optional
        The fix to suggest.

    Returns
    -------
    float or None
        ``value`` as a ``float``; ``None`` when it is ``None`` and ``optional``.

    Raises
    ------
    InputError
        ``value`` is not a real number in the interval (bools, text, NaN and infinities included).

    Examples
    --------
    >>> from capitation._validation import check_number
    >>> check_number(0.05, "overspend", low=0, low_open=True)
    0.05
    >>> check_number(1.5, "h", "HealthInequalities", low=0, high=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'h' parameter of HealthInequalities must be a number in [0, 1]. ...
    """
    if value is None and optional:
        return None
    interval = (f"{'(' if low_open else '['}{_plain_bound(low)}, {_plain_bound(high)}{')' if high_open else ']'}")
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    ok = number and math.isfinite(value) and (low < value if low_open else low <= value) and (
        value < high if high_open else value <= high)
    if not ok:
        of = f" of {owner}" if owner else ""
        raise InputError(f"The {parameter!r} parameter{of} must be {what} in {interval}"
                         f"{' or None' if optional else ''}. Got {value!r} instead. "
                         f"Fix: {fix or f'pass a number in {interval}.'}")
    return float(value)


def _plain_bound(bound: float) -> str:
    if math.isinf(bound):
        return "∞" if bound > 0 else "-∞"
    return f"{bound:g}"


def check_option(value, parameter: str, owner: str, allowed: Sequence[str]) -> str:
    """Return ``value`` when it is one of ``allowed``; raise :class:`InputError` naming all of them otherwise.

    Parameters
    ----------
    value : object
        What the caller passed.
    parameter, owner : str
        The parameter and the function or class it belongs to, for the message.
    allowed : sequence of str
        The accepted values; the first is the one the fix suggests.

    Returns
    -------
    str

    Raises
    ------
    InputError
        ``value`` is not one of ``allowed`` (case matters).

    Examples
    --------
    >>> from capitation._validation import check_option
    >>> check_option("zero", "on_unseen", "FeatureSpec", ("raise", "zero"))
    'zero'
    >>> check_option("drop", "on_unseen", "FeatureSpec", ("raise", "zero"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'on_unseen' parameter of FeatureSpec must be one of ['raise', 'zero']. Got ...
    """
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"The {parameter!r} parameter of {owner} must be one of {list(allowed)}. Got {value!r} "
                         f"instead. Fix: pass {parameter}={allowed[0]!r} (or another of those values).")
    return str(value)


def check_names(value, parameter: str, owner: str, *, ordered: bool = True, example: str = "name") -> tuple:
    """Check a sequence of non-empty strings (names or codes), and return it as a tuple of ``str``.

    A single string is refused rather than read as its characters (``"DM"`` is not ``("D", "M")``), and so
    is a set when ``ordered`` (its order varies between runs, and with it the order of design columns).

    Parameters
    ----------
    value : sequence of str
        What the caller passed.
    parameter, owner : str
        The parameter and the function or class it belongs to, for the message.
    ordered : bool
        Whether the order of the names matters.
    example : str
        A plausible element, used in the suggested fix.

    Returns
    -------
    tuple of str
        In the order given (repeats are kept: callers that need distinct names check that).

    Raises
    ------
    InputError
        A single string, a set when ``ordered``, something that is not iterable, or an item that is not a
        non-empty string.

    Examples
    --------
    >>> from capitation._validation import check_names
    >>> check_names(["DM", "HYP"], "conditions", "FeatureSpec")
    ('DM', 'HYP')
    >>> check_names("DM", "conditions", "FeatureSpec")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'conditions' parameter of FeatureSpec must be a list of names or codes, not ...
    """
    if isinstance(value, (str, bytes)):
        raise InputError(f"The {parameter!r} parameter of {owner} must be a list of names or codes, not a single "
                         f"string: {value!r} would be read as its characters {list(value)[:6]!r}. "
                         f"Fix: wrap it in a list, {parameter}=[{value!r}].")
    if ordered and isinstance(value, (set, frozenset)):
        raise InputError(f"The {parameter!r} parameter of {owner} must be a list or tuple. Got a set "
                         f"({sorted(map(str, value))[:6]!r}), whose order changes between runs and with it the "
                         f"order of the design's columns. Fix: {parameter}=sorted(...) or a tuple.")
    try:
        items = tuple(value)
    except TypeError:
        raise InputError(f"The {parameter!r} parameter of {owner} must be a list of names or codes. Got "
                         f"{type(value).__name__} {value!r} instead. Fix: e.g. {parameter}=[{example!r}].") from None
    bad = [(k, v) for k, v in enumerate(items) if not isinstance(v, str) or not v.strip()]
    if bad:
        shown = "; ".join(f"item {k}: {v!r}" for k, v in bad[:_SHOW])
        raise InputError(f"The {parameter!r} parameter of {owner} must hold non-empty strings. Got {len(bad):,} "
                         f"other item(s): {shown}. Fix: e.g. {parameter}=[{example!r}], each name as text.")
    return tuple(str(v) for v in items)


def check_pattern(pattern, parameter: str, owner: str) -> re.Pattern:
    r"""Compile a code pattern with :data:`re.ASCII`, so ``\d`` and ``\w`` never accept other scripts' digits.

    Parameters
    ----------
    pattern : str or re.Pattern
        The regular expression; a compiled (text) pattern is recompiled with its flags plus ASCII.
    parameter, owner : str
        The parameter and the function or class it belongs to, for the message.

    Returns
    -------
    re.Pattern

    Raises
    ------
    InputError
        ``pattern`` is not a text pattern, or does not compile.

    Examples
    --------
    >>> from capitation._validation import check_pattern
    >>> pattern = check_pattern(r"^[A-Z]\d{5}$", "practice_pattern", "Population.from_frame")
    >>> bool(pattern.fullmatch("A81001")), bool(pattern.fullmatch("A８1001"))
    (True, False)
    """
    example = "r'^[A-Z][0-9]{5}$'"
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise InputError(f"The {parameter!r} parameter of {owner} must be a text pattern. Got the bytes "
                             f"pattern {pattern.pattern!r}. Fix: use a str, e.g. {parameter}={example}.")
        source, flags = pattern.pattern, pattern.flags & ~re.UNICODE
    elif isinstance(pattern, str):
        source, flags = pattern, 0
    else:
        raise InputError(f"The {parameter!r} parameter of {owner} must be a regular expression (str) or None. Got "
                         f"{type(pattern).__name__} {pattern!r}. Fix: e.g. {parameter}={example}.")
    try:
        return re.compile(source, flags | re.ASCII)
    except re.error as exc:
        raise InputError(f"The {parameter!r} parameter of {owner} is not a valid regular expression ({exc}). Got "
                         f"{source!r}. Fix: correct it, e.g. {parameter}={example}.") from None


_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_upper(text: str) -> str:
    """Upper-case ASCII letters only: ``str.upper`` maps 'ı' to 'I' and 'ſ' to 'S', which no code spells.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``text`` with ``a``–``z`` upper-cased and every other character as it was.

    Examples
    --------
    >>> from capitation._validation import ascii_upper
    >>> ascii_upper("i21.9"), ascii_upper("ı21.9")
    ('I21.9', 'ı21.9')
    """
    return text.translate(_UPPER)


def ascii_lower(text: str) -> str:
    r"""Lower-case ASCII letters only (``str.lower`` maps the Kelvin sign to 'k').

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``text`` with ``A``–``Z`` lower-cased and every other character as it was.

    Examples
    --------
    >>> from capitation._validation import ascii_lower
    >>> ascii_lower("Inpatient"), ascii_lower("\u212a") == "\u212a", "\u212a".lower()
    ('inpatient', True, 'k')
    """
    return text.translate(_LOWER)
