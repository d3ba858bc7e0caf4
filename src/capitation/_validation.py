"""Checks shared by every public entry point.

Each check raises an error from :mod:`capitation.errors` whose message names the parameter, the column, the
offending rows and values, and the fix. Nothing here drops rows: callers decide, and count, what to exclude.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, SchemaError

__all__ = [
    "as_frame",
    "check_finite",
    "check_integer_valued",
    "check_range",
    "check_unique",
    "describe_rows",
    "factorize_column",
    "require_columns",
]

_SHOW = 5  # how many offending rows a message lists


def as_frame(data, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Return ``data`` as a DataFrame; a path to a Parquet file or dataset is read (only ``columns``).

    Parameters
    ----------
    data : pandas.DataFrame, str or os.PathLike
        The table, or where it is stored as Parquet.
    name : str
        The parameter's name, used in error messages.
    columns : sequence of str, optional
        Columns to read from Parquet (all when ``None``).
    """
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which does not exist. "
                             "Fix: pass a DataFrame or the path of a Parquet file or dataset folder.")
        from .inputs.parquet import read_parquet_columns

        return read_parquet_columns(path, name=name, columns=columns)
    raise SchemaError(f"The {name!r} parameter must be a pandas DataFrame or a Parquet path. "
                      f"Got {type(data).__name__} instead. Fix: build a DataFrame, e.g. pd.DataFrame(records).")


def require_columns(frame: pd.DataFrame, name: str, required: Sequence[str]) -> None:
    """Raise :class:`SchemaError` naming each missing column and the closest present name."""
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
    """Describe the first offending rows as ``row 3 (person_id 17): -2``."""
    where = np.flatnonzero(mask)
    parts = []
    for pos in where[:_SHOW]:
        label = frame_index[pos] if frame_index is not None else pos
        who = f" ({id_name} {_plain(ids[pos])!r})" if ids is not None else ""
        parts.append(f"row {_plain(label)}: {_plain(values[pos])!r}" if not who
                     else f"row {_plain(label)}{who}: {_plain(values[pos])!r}")
    more = f" and {len(where) - _SHOW:,} more" if len(where) > _SHOW else ""
    return "; ".join(parts) + more


def factorize_column(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column and its distinct values, followed by ``None``.

    ``uniques[codes]`` rebuilds the column with ``None`` for missing values (their code is ``-1``), so checks
    and normalisation run once per distinct value rather than once per row. Categoricals (Parquet's
    dictionary-encoded strings arrive so) are used as they are: nothing is hashed or converted.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = np.asarray(series.cat.codes)
        uniques = series.cat.categories.to_numpy(dtype=object)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
    return codes, np.append(uniques, None)


def _plain(value):
    """A numpy scalar as the Python value it holds, so messages read ``3`` rather than ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def _numeric(frame: pd.DataFrame, name: str, column: str) -> np.ndarray:
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)):
        sample = series.head(3).tolist()
        raise SchemaError(
            f"The {name!r} table's column {column!r} must be numeric. Got dtype {series.dtype} "
            f"(first values {sample!r}). Fix: convert it, e.g. pd.to_numeric(frame[{column!r}])."
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def check_finite(frame: pd.DataFrame, name: str, column: str, ids=None) -> np.ndarray:
    """Return the column as float64, raising on object dtype, NaN or infinity."""
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
    """Raise when ``values`` fall outside ``[low, high]`` (``(low, high]`` when ``low_open``)."""
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
    """Raise when a float column that must hold whole numbers does not."""
    bad = values != np.floor(values)
    if bad.any():
        raise InputError(
            f"The {name!r} table's column {column!r} must hold whole numbers. Got {int(bad.sum()):,} "
            f"non-integer row(s): {describe_rows(frame.index, bad, values, ids)}. "
            f"Fix: use completed years, e.g. np.floor(frame[{column!r}])."
        )


def check_unique(frame: pd.DataFrame, name: str, column: str, values: np.ndarray) -> None:
    """Raise when ``values`` repeat, naming the repeated values and their rows."""
    dup = pd.Series(values).duplicated(keep=False).to_numpy()
    if dup.any():
        first = pd.unique(values[dup])[:_SHOW]
        rows = {v: frame.index[np.flatnonzero(values == v)][:3].tolist() for v in first}
        listing = "; ".join(f"{v!r} at rows {r}" for v, r in rows.items())
        raise InputError(
            f"The {name!r} table's column {column!r} must be unique. Got {int(dup.sum()):,} rows sharing "
            f"{len(pd.unique(values[dup])):,} value(s): {listing}. Fix: keep one row per {column}."
        )
