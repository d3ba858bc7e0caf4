"""Group sums over integer codes, ``(values, codes, out)``; a code of ``-1`` means "no group".

Money-path sums are exact: each amount is first rounded to a fixed point (an integer number of ``1/scale``
pounds, ``scale`` a power of two so the scaling itself is exact), and integers are added. Integer addition is
associative, so practice totals are bit-identical whatever the order of people, the chunking or the number of
threads.
"""

from __future__ import annotations

import numpy as np

from .._config import kernel


@kernel
def group_sum_fixed(values, codes, scale, start, stop, out, checks):
    """Add ``round(values[i] * scale)`` into ``out[codes[i]]`` (int64) for rows ``start:stop``; skip codes < 0.

    In the same pass, ``checks[0]`` gains the rows' Σ|value| and ``checks[1]`` the number of non-finite values,
    so the caller can refuse amounts that are not finite or could overflow without two more passes.
    """
    total = 0.0
    bad = 0.0
    for i in range(start, stop):
        v = values[i]
        if not np.isfinite(v):
            bad += 1.0
            continue
        total += abs(v)
        c = codes[i]
        if c >= 0:
            out[c] += np.int64(np.rint(v * scale))
    checks[0] += total
    checks[1] += bad


@kernel
def group_count(codes, out):
    """Count rows per code into ``out`` (int64), skipping negative codes."""
    for i in range(codes.shape[0]):
        c = codes[i]
        if c >= 0:
            out[c] += 1


@kernel
def regroup_sum(values, codes, out):
    """Sum int64 group totals into parent groups: ``out[codes[g]] += values[g]`` (consortium from practices)."""
    for g in range(values.shape[0]):
        c = codes[g]
        if c >= 0:
            out[c] += values[g]
