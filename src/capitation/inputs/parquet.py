"""Reading Parquet files and datasets with errors that name the file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError, SchemaError

__all__ = ["read_parquet_columns"]


def read_parquet_columns(path: Path, *, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read ``columns`` of a Parquet file or dataset folder, naming the file in any error.

    Parameters
    ----------
    path : pathlib.Path
        A ``.parquet`` file or a folder of them (hive partitions allowed).
    name : str
        The parameter that named the path, for messages.
    columns : sequence of str, optional
        Columns to read; a missing one raises :class:`SchemaError` listing what the file has.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
    except (pa.ArrowException, OSError) as exc:  # ArrowInvalid, ArrowTypeError, ArrowNotImplementedError, ...
        raise InputError(f"The {name!r} parameter points to {str(path)!r}, which is not a readable Parquet "
                         f"file or dataset ({exc}). Fix: rewrite it, or check it is not truncated.") from exc
    if columns is not None:
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise SchemaError(f"The Parquet data at {str(path)!r} (parameter {name!r}) has no column(s) "
                              f"{missing}; it has {dataset.schema.names}. Fix: rename or add them.")
    try:
        return dataset.to_table(columns=list(columns) if columns is not None else None).to_pandas()
    except (pa.ArrowException, OSError) as exc:  # ArrowInvalid, ArrowTypeError, ArrowNotImplementedError, ...
        raise InputError(f"Reading {str(path)!r} (parameter {name!r}) failed: {exc}. Fix: the files of a dataset "
                         "may disagree on a column's type (rewrite them with one schema), or a file may be truncated "
                         "or written by an interrupted job; rewrite it.") from exc
