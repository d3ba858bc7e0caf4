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


@numba.njit(**NJIT_FLAGS)
def distinct_pairs(rows, groups, n_rows, n_groups, out_rows, out_groups, out_counts):
    """Distinct ``(row, group)`` pairs, sorted by row then group, with how often each occurs.

    Writes the first ``k`` entries of ``out_rows``, ``out_groups`` and ``out_counts`` (each as long as
    ``rows``) and returns ``k``. Records are bucketed by row (a counting sort), then each row's few groups
    are tallied and put in order; linear in the records, where sorting ``row * n_groups + group`` is not.
    """
    n = rows.shape[0]
    start = np.zeros(n_rows + 1, dtype=np.int64)
    for i in range(n):
        start[rows[i] + 1] += 1
    for r in range(n_rows):
        start[r + 1] += start[r]
    fill = start[:-1].copy()
    bucket = np.empty(n, dtype=np.int64)
    for i in range(n):
        r = rows[i]
        bucket[fill[r]] = groups[i]
        fill[r] += 1
    tally = np.zeros(n_groups, dtype=np.int64)
    k = 0
    for r in range(n_rows):
        first = k
        for j in range(start[r], start[r + 1]):
            g = bucket[j]
            if tally[g] == 0:
                out_groups[k] = g
                k += 1
            tally[g] += 1
        for a in range(first + 1, k):  # insertion sort: a person has few distinct groups
            g = out_groups[a]
            b = a - 1
            while b >= first and out_groups[b] > g:
                out_groups[b + 1] = out_groups[b]
                b -= 1
            out_groups[b + 1] = g
        for a in range(first, k):
            g = out_groups[a]
            out_rows[a] = r
            out_counts[a] = tally[g]
            tally[g] = 0
    return k
