"""Small-number suppression for published practice tables (statistical disclosure control).

Two primary rules, applied cell by cell:

* **small counts** — a count of people (deaths, people with a condition, …) in ``1 … min_count − 1`` is
  suppressed (``0`` is shown unless ``suppress_zero``);
* **small lists** — in a row whose list size (a column such as ``registered``) is below ``min_list_size``,
  the figures that list stands behind (actual cost per head, error, …) are suppressed.

Suppressed cells become ``NaN`` in :attr:`SuppressedTable.table` and are flagged in :attr:`SuppressedTable.mask`;
:meth:`SuppressedTable.to_frame` writes them as ``[c]`` (the Government Statistical Service's mark for
"confidential"). This is primary suppression only: a suppressed cell can sometimes be recovered from a
published total by subtraction, so check totals (or round them) before publishing.

Suppression is for figures *about people*: counts of people, and the costs and rates of a cell resting on few
of them. It is not for the allocation itself: a practice's budget, list size, need index or £ per head is a
line a finance paper must carry, whatever the size of the list (NHS England publishes them for every
practice), so the report's budget tables are never passed through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError, SchemaError

__all__ = ["DEFAULT_MIN_COUNT", "DEFAULT_MIN_LIST_SIZE", "MARKER", "SuppressedTable", "suppress_small_numbers"]

#: Counts below this are suppressed (1–4 by default).
DEFAULT_MIN_COUNT = 5
#: Figures resting on fewer registered people than this are suppressed.
DEFAULT_MIN_LIST_SIZE = 1_000
#: What a suppressed cell shows (Government Statistical Service guidance: "[c]" for confidential).
MARKER = "[c]"


@dataclass(frozen=True, eq=False, repr=False)
class SuppressedTable(Result):
    """A table with small numbers suppressed.

    Attributes
    ----------
    table : pandas.DataFrame
        The input with suppressed cells set to ``NaN`` (numeric columns keep their dtype where possible).
    mask : pandas.DataFrame of bool
        ``True`` where a cell was suppressed.
    parameters : dict
        The rule: ``min_count``, ``counts``, ``min_list_size``, ``lists``, ``suppress_zero``, and the
        number of ``cells`` and ``rows`` affected.
    provenance : Provenance
        Library version.

    ``table`` and ``mask`` are the result's own data: :meth:`to_frame` gives a new table to edit.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"registered": [12_000, 400], "deaths": [3, 9]}, index=["A81001", "A81002"])
    >>> suppress_small_numbers(t, counts=["deaths"])
    SuppressedTable(Small-number suppression: 1 cells in 1 rows (counts under 5; figures resting on lists under 1,000))
    """

    table: pd.DataFrame
    mask: pd.DataFrame
    parameters: dict = field(default_factory=dict)

    def to_frame(self, marker: str = MARKER) -> pd.DataFrame:
        """Return the table with suppressed cells written as ``marker`` (object columns where needed).

        Parameters
        ----------
        marker : str
            What a suppressed cell shows (``"[c]"`` by default).

        Returns
        -------
        pandas.DataFrame
            A new table (editing it leaves the result as it was).

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"deaths": [3, 9]}, index=["A81001", "A81002"])
        >>> suppress_small_numbers(t, counts=["deaths"]).to_frame(marker="*")["deaths"].tolist()
        ['*', 9]
        """
        out = self.table.copy()
        integers = self.parameters.get("integer_columns", [])
        for column in self.mask.columns[self.mask.any()]:
            hidden = self.mask[column].to_numpy()
            values = [marker if h else (int(v) if column in integers else v)
                      for v, h in zip(out[column].tolist(), hidden, strict=True)]
            out[column] = pd.Series(values, index=out.index, dtype=object)
        return out

    def _frame(self) -> pd.DataFrame:
        return self.to_frame()

    def summary(self) -> str:
        """Say in one line what was suppressed and by which rule.

        Returns
        -------
        str
            The number of cells and rows suppressed, and the two thresholds.

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"deaths": [3, 9]}, index=["A81001", "A81002"])
        >>> suppress_small_numbers(t, counts=["deaths"], min_count=10).summary()
        'Small-number suppression: 2 cells in 2 rows (counts under 10; figures resting on lists under 1,000)'
        """
        p = self.parameters
        return (f"Small-number suppression: {p['cells']:,} cells in {p['rows']:,} rows (counts under "
                f"{p['min_count']}; figures resting on lists under {p['min_list_size']:,})")


def suppress_small_numbers(frame: pd.DataFrame, *, counts: Sequence[str] = (), min_count: int = DEFAULT_MIN_COUNT,
                           lists: Mapping[str, Sequence[str] | None] | None = None,
                           min_list_size: float = DEFAULT_MIN_LIST_SIZE,
                           suppress_zero: bool = False) -> SuppressedTable:
    """Suppress small counts, and the figures of small lists, in a table meant for publication.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per practice (or other unit).
    counts : sequence of str
        Columns holding counts of people; values in ``1 … min_count − 1`` are suppressed.
    min_count : int
        Smallest count that may be published (5 by default).
    lists : mapping of str → sequence of str or None, optional
        For each list-size column, the columns it stands behind (``None``: every other numeric column). In
        rows where the list size is under ``min_list_size``, those columns are suppressed. The list-size
        column itself is kept (list sizes are published by NHS Digital).
    min_list_size : float
        Smallest list whose figures may be published (1,000 by default).
    suppress_zero : bool
        Also suppress zero counts.

    Returns
    -------
    SuppressedTable
        The table with suppressed cells set to ``NaN``, the mask of those cells and the rule applied.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"registered": [12_000, 400], "deaths": [3, 9], "cost_per_head": [812.0, 655.0]},
    ...                  index=["A81001", "A81002"])
    >>> s = suppress_small_numbers(t, counts=["deaths"], lists={"registered": ["cost_per_head"]})
    >>> s.to_frame().values.tolist()
    [[12000, '[c]', 812.0], [400, 9, '[c]']]
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"suppress_small_numbers takes a pandas DataFrame. Got {type(frame).__name__}.")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise InputError(f"The 'min_count' parameter must be a positive integer. Got {min_count!r} instead.")
    if not isinstance(min_list_size, (int, float, np.integer, np.floating)) or min_list_size < 0:
        raise InputError(f"The 'min_list_size' parameter must be a non-negative number. Got {min_list_size!r}.")
    counts = list(counts)
    lists = dict(lists or {})
    unknown = [c for c in [*counts, *lists, *(c for cols in lists.values() if cols for c in cols)]
               if c not in frame.columns]
    if unknown:
        raise InputError(f"Columns {sorted(set(unknown))} are not in the table. Fix: name columns of the table "
                         f"({list(frame.columns)[:8]}...).")
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for column in counts:
        values = pd.to_numeric(frame[column], errors="coerce")
        small = (values < min_count) & ((values > 0) | suppress_zero)
        mask[column] |= small.fillna(False).to_numpy(dtype=bool)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    for size_column, protected in lists.items():
        size = pd.to_numeric(frame[size_column], errors="coerce")
        small = (size < min_list_size).fillna(False).to_numpy(dtype=bool)
        columns = [c for c in numeric if c != size_column] if protected is None else list(protected)
        for column in columns:
            mask[column] |= small
    table = frame.copy()
    integer_columns = [c for c in mask.columns[mask.any()] if pd.api.types.is_integer_dtype(table[c])]
    for column in mask.columns[mask.any()]:
        if pd.api.types.is_integer_dtype(table[column]) or pd.api.types.is_bool_dtype(table[column]):
            table[column] = table[column].astype("float64")
        table[column] = table[column].where(~mask[column])
    parameters = {"min_count": int(min_count), "counts": counts, "min_list_size": min_list_size,
                  "lists": {k: (None if v is None else list(v)) for k, v in lists.items()},
                  "suppress_zero": bool(suppress_zero), "cells": int(mask.to_numpy().sum()),
                  "rows": int(mask.any(axis=1).sum()), "integer_columns": integer_columns}
    return SuppressedTable(table, mask, parameters)
