"""Sufficient statistics of a weighted least-squares fit, from a CSR design.

Determinism: :func:`capitation._compute.gram` cuts rows into blocks of a fixed size (independent of the thread
count); each block is summed serially by :func:`gram_rows` into its own buffer, and the buffers are added in block
order. The result therefore depends only on the data and the block size, never on how many threads ran.
"""

from __future__ import annotations

import numpy as np

from .._config import kernel


@kernel
def gram_rows(indptr, indices, data, weights, y, start, stop, xtwx, xtwy, xtw1, moments):
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


@kernel
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
