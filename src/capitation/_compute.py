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

__all__ = ["SCORE_ROWS_PER_TASK", "fold_blocks", "gram", "gram_blocks", "group_sum_fixed", "score_csr"]

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


def gram_blocks(indptr, indices, data, weights, y, n_columns, block_size, first_block, part_xx, part_xy, part_x1,
                part_m) -> None:
    """Write the statistics of blocks ``first_block, first_block + 1, …`` of rows into the ``part_*`` buffers.

    Block ``first_block + k`` (rows ``(first_block + k) * block_size`` onwards) goes to ``part_*[k]``, for as many
    blocks as the buffers hold; blocks run in parallel, each summed serially from zero. Adding the buffers into
    running totals in block order (:func:`gram`, :meth:`capitation.model.SufficientStats.fold`) is the fit's
    one reduction.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._compute import gram_blocks
    >>> xx, xy, x1, m = np.empty((2, 2, 2)), np.empty((2, 2)), np.empty((2, 2)), np.empty((2, 4))
    >>> gram_blocks(np.array([0, 1, 3]), np.array([0, 0, 1], np.int32), np.ones(3), np.ones(2), np.array([1.0, 3.0]),
    ...             2, 1, 0, xx, xy, x1, m)
    >>> xx[1].tolist(), m[:, 0].tolist()
    ([[1.0, 1.0], [0.0, 1.0]], [1.0, 1.0])
    """
    n_rows = indptr.shape[0] - 1

    def blocks(lo: int, hi: int) -> None:
        for k in range(lo, hi):
            part_xx[k].fill(0.0)
            part_xy[k].fill(0.0)
            part_x1[k].fill(0.0)
            part_m[k].fill(0.0)
            start = (first_block + k) * block_size
            gram_rows(indptr, indices, data, weights, y, start, min(start + block_size, n_rows),
                      part_xx[k], part_xy[k], part_x1[k], part_m[k])

    parallel_for(blocks, part_xx.shape[0], 1)


def gram(indptr, indices, data, weights, y, n_columns, block_size, xtwx, xtwy, xtw1, moments) -> None:
    """Add XᵀWX (upper triangle), XᵀWy, XᵀW1 and ``[n, Σw, Σwy, Σwy²]`` of a CSR design into the outputs.

    Rows are cut into blocks of ``block_size``; each block is summed serially into its own buffer (blocks run
    in parallel, :func:`gram_blocks`) and the buffers are added into the outputs in block order. Column
    indices within a row must be strictly increasing, so each product lands in the upper triangle.

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
        gram_blocks(indptr, indices, data, weights, y, n_columns, block_size, first, part_xx[:count],
                    part_xy[:count], part_x1[:count], part_m[:count])
        fold_blocks(part_xx[:count], part_xy[:count], part_x1[:count], part_m[:count], xtwx, xtwy, xtw1, moments)


def fold_blocks(part_xx, part_xy, part_x1, part_m, xtwx, xtwy, xtw1, moments) -> None:
    """Add blocks' statistics into running totals in block order, in place: a fit's one reduction.

    The order is fixed (block 0 first), so the totals are bit-identical for any thread count and whoever
    computed the blocks.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._compute import fold_blocks
    >>> xx, xy, x1, m = np.zeros((1, 1)), np.zeros(1), np.zeros(1), np.zeros(4)
    >>> fold_blocks(np.ones((2, 1, 1)), np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 4)), xx, xy, x1, m)
    >>> xx.tolist(), m.tolist()
    ([[2.0]], [2.0, 2.0, 2.0, 2.0])
    """
    for k in range(part_m.shape[0]):
        xtwx += part_xx[k]
        xtwy += part_xy[k]
        xtw1 += part_x1[k]
        moments += part_m[k]


def group_sum_fixed(values, codes, scale, block_size, out) -> tuple[float, int]:
    """Add ``round(values * scale)`` into ``out[codes]`` (int64), skipping negative codes.

    Blocks of ``block_size`` rows are summed into their own integer buffers in parallel; integer addition is
    exact, so the totals do not depend on the blocks or the threads. Returns Σ|values| and the number of
    non-finite values (skipped), found in the same pass, for the caller's checks.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._compute import group_sum_fixed
    >>> out = np.zeros(2, np.int64)
    >>> group_sum_fixed(np.array([1.5, 2.25, 4.0]), np.array([0, 1, -1], np.int32), 4.0, 2, out)
    (7.75, 0)
    >>> out.tolist()
    [6, 9]
    """
    n = values.shape[0]
    n_blocks = -(-n // block_size)
    parts = np.zeros((n_blocks, out.shape[0]), dtype=np.int64)
    checks = np.zeros((n_blocks, 2))

    def blocks(first: int, stop: int) -> None:
        for k in range(first, stop):
            _group_sum_range(values, codes, scale, k * block_size, min((k + 1) * block_size, n), parts[k],
                             checks[k])

    parallel_for(blocks, n_blocks, 1)
    out += parts.sum(axis=0)
    return float(checks[:, 0].sum()), int(checks[:, 1].sum())
