"""Writing outputs so that an interrupted run never leaves a file that looks complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["atomic_write_csv", "atomic_write_text"]


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)  # atomic on one file system: readers see the old file or the whole new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed on success."""
    return _atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_write_csv(path, frame: pd.DataFrame, **kwargs) -> Path:
    """Write ``frame`` as CSV to ``path`` through a temporary file renamed on success."""
    return _atomic(path, lambda tmp: frame.to_csv(tmp, **kwargs))
