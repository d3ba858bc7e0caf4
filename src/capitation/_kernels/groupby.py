"""Group sums over integer codes, ``(values, codes, out)``; a code of ``-1`` means "no group".

Money-path sums are exact: each amount is first rounded to a fixed point (an integer number of ``1/scale``
pounds, ``scale`` a power of two so the scaling itself is exact), and integers are added. Integer addition is
associative, so practice totals are bit-identical whatever the order of people, the chunking or the number of
threads.
"""

from __future__ import annotations

import numba
import numpy as np

from .._config import NJIT_FLAGS, PARALLEL_FLAGS


@numba.njit(**PARALLEL_FLAGS)
def group_sum_fixed(values, codes, scale, block_size, out):
    """Add ``round(values * scale)`` into ``out[codes]`` (int64), skipping negative codes."""
    n = values.shape[0]
    n_groups = out.shape[0]
    n_blocks = (n + block_size - 1) // block_size
    parts = np.zeros((n_blocks, n_groups), dtype=np.int64)
    for b in numba.prange(n_blocks):
        stop = min((b + 1) * block_size, n)
        part = parts[b]
        for i in range(b * block_size, stop):
            c = codes[i]
            if c >= 0:
                part[c] += np.int64(np.rint(values[i] * scale))
    for b in range(n_blocks):
        out += parts[b]


@numba.njit(**NJIT_FLAGS)
def group_count(codes, out):
    """Count rows per code into ``out`` (int64), skipping negative codes."""
    for i in range(codes.shape[0]):
        c = codes[i]
        if c >= 0:
            out[c] += 1


@numba.njit(**NJIT_FLAGS)
def regroup_sum(values, codes, out):
    """Sum int64 group totals into parent groups: ``out[codes[g]] += values[g]`` (consortium from practices)."""
    for g in range(values.shape[0]):
        c = codes[g]
        if c >= 0:
            out[c] += values[g]
