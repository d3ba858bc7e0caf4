"""The kernels that share work across cores, driven over fixed ranges on the kernels' threads.

Each function here has the signature the callers need, converts nothing and validates nothing: it cuts the
rows into ranges whose size depends on the data only, runs a serial kernel of :mod:`capitation._kernels` on
each range through :func:`capitation._config.parallel_for`, and, where ranges have partial sums, adds them
in range order. So a result is bit-identical for any thread count, as the determinism tests check.
"""

from __future__ import annotations

import numpy as np

from ._config import parallel_for
from ._kernels.design import gram_rows
from ._kernels.groupby import group_sum_fixed as _group_sum_range
from ._kernels.score import score_rows

__all__ = ["SCORE_ROWS_PER_TASK", "gram", "group_sum_fixed", "score_csr"]

#: Rows of a CSR design scored per task: enough to hide the call's overhead, small enough to balance.
SCORE_ROWS_PER_TASK = 131_072
#: Blocks of the Gram accumulation held at once: bounds memory (each block's buffer is p × p).
_GRAM_BLOCKS_PER_WAVE = 16


def score_csr(indptr, indices, data, coef, out) -> None:
    """``out[i] = Σ_k data[k] * coef[indices[k]]`` over row ``i``'s entries (kernel inputs, see ``readonly``).

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._compute import score_csr
    >>> out = np.empty(2)
    >>> score_csr(np.array([0, 1, 3]), np.array([0, 0, 1], np.int32), np.ones(3), np.array([2.0, 5.0]), out)
    >>> out.tolist()
    [2.0, 7.0]
    """
    parallel_for(lambda start, stop: score_rows(indptr, indices, data, coef, start, stop, out),
                 indptr.shape[0] - 1, SCORE_ROWS_PER_TASK)


def gram(indptr, indices, data, weights, y, n_columns, block_size, xtwx, xtwy, xtw1, moments) -> None:
    """Add XᵀWX (upper triangle), XᵀWy, XᵀW1 and ``[n, Σw, Σwy, Σwy²]`` of a CSR design into the outputs.

    Rows are cut into blocks of ``block_size``; each block is summed serially into its own buffer (blocks run
    in parallel) and the buffers are added into the outputs in block order. Column indices within a row must
    be strictly increasing, so each product lands in the upper triangle.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._compute import gram
    >>> xx, xy, x1, m = np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.zeros(4)
    >>> gram(np.array([0, 1, 3]), np.array([0, 0, 1], np.int32), np.ones(3), np.ones(2), np.array([1.0, 3.0]),
    ...      2, 1, xx, xy, x1, m)
    >>> xx.tolist(), xy.tolist(), m.tolist()
    ([[2.0, 1.0], [0.0, 1.0]], [4.0, 3.0], [2.0, 2.0, 4.0, 10.0])
    """
    n_rows = indptr.shape[0] - 1
    n_blocks = -(-n_rows // block_size)
    wave = min(_GRAM_BLOCKS_PER_WAVE, n_blocks)
    part_xx = np.empty((wave, n_columns, n_columns))
    part_xy = np.empty((wave, n_columns))
    part_x1 = np.empty((wave, n_columns))
    part_m = np.empty((wave, 4))
    for first in range(0, n_blocks, wave):
        count = min(wave, n_blocks - first)

        def blocks(lo: int, hi: int, first: int = first) -> None:
            for k in range(lo, hi):
                part_xx[k].fill(0.0)
                part_xy[k].fill(0.0)
                part_x1[k].fill(0.0)
                part_m[k].fill(0.0)
                start = (first + k) * block_size
                gram_rows(indptr, indices, data, weights, y, start, min(start + block_size, n_rows),
                          part_xx[k], part_xy[k], part_x1[k], part_m[k])

        parallel_for(blocks, count, 1)
        for k in range(count):  # fixed order: bit-identical for any thread count
            xtwx += part_xx[k]
            xtwy += part_xy[k]
            xtw1 += part_x1[k]
            moments += part_m[k]


def group_sum_fixed(values, codes, scale, block_size, out) -> None:
    """Add ``round(values * scale)`` into ``out[codes]`` (int64), skipping negative codes.

    Blocks of ``block_size`` rows are summed into their own integer buffers in parallel; integer addition is
    exact, so the totals do not depend on the blocks or the threads.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._compute import group_sum_fixed
    >>> out = np.zeros(2, np.int64)
    >>> group_sum_fixed(np.array([1.5, 2.25, 4.0]), np.array([0, 1, -1], np.int32), 4.0, 2, out)
    >>> out.tolist()
    [6, 9]
    """
    n = values.shape[0]
    n_blocks = -(-n // block_size)
    parts = np.zeros((n_blocks, out.shape[0]), dtype=np.int64)

    def blocks(first: int, stop: int) -> None:
        for k in range(first, stop):
            _group_sum_range(values, codes, scale, k * block_size, min((k + 1) * block_size, n), parts[k])

    parallel_for(blocks, n_blocks, 1)
    out += parts.sum(axis=0)
