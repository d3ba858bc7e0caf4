"""Wide tables of codes to long: the non-empty cells of a ``(columns, rows)`` matrix of integer codes."""

from __future__ import annotations

from .._config import kernel


@kernel
def wide_cells(codes, rows, slots, out):
    """Write the cells of ``codes`` (int32, ``(columns, rows)``) that are not ``-1``, in row order.

    Row by row, each row's columns in order: ``rows`` gets the row, ``slots`` the column and ``out`` the
    code. The three outputs are as long as the number of such cells; returns that number.
    """
    n_columns, n_rows = codes.shape
    j = 0
    for i in range(n_rows):
        for k in range(n_columns):
            c = codes[k, i]
            if c >= 0:
                rows[j] = i
                slots[j] = k
                out[j] = c
                j += 1
    return j
