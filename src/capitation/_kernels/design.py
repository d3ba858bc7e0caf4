"""Sufficient statistics of a weighted least-squares fit, from a CSR design.

Determinism: rows are cut into blocks of a fixed size (independent of the thread count); each block is summed
serially into its own buffer, and the buffers are added in block order. The result therefore depends only on the
data and the block size, never on how many threads ran.
"""

from __future__ import annotations

import numba
import numpy as np

from .._config import NJIT_FLAGS, PARALLEL_FLAGS


@numba.njit(**NJIT_FLAGS)
def _gram_rows(indptr, indices, data, weights, y, start, stop, xtwx, xtwy, xtw1, moments):
    """Accumulate rows ``start:stop`` into ``xtwx`` (upper triangle), ``xtwy``, ``xtw1`` and ``moments``.

    ``moments`` holds [n, sum w, sum w*y, sum w*y*y].
    """
    for i in range(start, stop):
        w = weights[i]
        wy = w * y[i]
        lo = indptr[i]
        hi = indptr[i + 1]
        for a in range(lo, hi):
            ja = indices[a]
            wva = w * data[a]
            xtwy[ja] += data[a] * wy
            xtw1[ja] += wva
            for b in range(a, hi):
                xtwx[ja, indices[b]] += wva * data[b]
        moments[0] += 1.0
        moments[1] += w
        moments[2] += wy
        moments[3] += wy * y[i]


@numba.njit(**PARALLEL_FLAGS)
def gram(indptr, indices, data, weights, y, n_columns, block_size, xtwx, xtwy, xtw1, moments):
    """Add XᵀWX (upper triangle), XᵀWy, XᵀW1 and [n, Σw, Σwy, Σwy²] of a CSR design into the outputs.

    Column indices within a row must be strictly increasing, so each product lands in the upper triangle.
    """
    n_rows = indptr.shape[0] - 1
    n_blocks = (n_rows + block_size - 1) // block_size
    part_xx = np.zeros((n_blocks, n_columns, n_columns))
    part_xy = np.zeros((n_blocks, n_columns))
    part_x1 = np.zeros((n_blocks, n_columns))
    part_m = np.zeros((n_blocks, 4))
    for b in numba.prange(n_blocks):
        start = b * block_size
        stop = min(start + block_size, n_rows)
        _gram_rows(indptr, indices, data, weights, y, start, stop, part_xx[b], part_xy[b], part_x1[b],
                   part_m[b])
    for b in range(n_blocks):  # fixed order: bit-identical for any thread count
        xtwx += part_xx[b]
        xtwy += part_xy[b]
        xtw1 += part_x1[b]
        moments += part_m[b]
