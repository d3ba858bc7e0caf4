"""Helpers shared by the benchmarks: a PBRA-shaped synthetic design, best-of timing, peak memory.

The scoring and fitting comparisons that use them live in ``benchmarks/run.py`` (``--only score,fit``).
"""

from __future__ import annotations

import time

import numpy as np


def synthetic_design(n: int, p: int, seed: int = 0):
    """A CSR design shaped like PBRA's: one age-sex cell each, a few diagnosis flags for some people."""
    rng = np.random.default_rng(seed)
    n_dx = p - 38
    k = np.minimum(rng.geometric(0.55, n) - 1, 12)  # 0 for most people, a long tail of multimorbidity
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    dx = 38 + (rng.zipf(1.6, len(rows)) % n_dx)
    pairs = np.unique(rows * p + dx)  # sorted by row then column, repeats gone
    all_rows = np.concatenate([np.arange(n), pairs // p])
    all_cols = np.concatenate([rng.integers(0, 38, n), pairs % p])
    order = np.argsort(all_rows, kind="stable")  # cells (< 38) stay ahead of diagnoses within a row
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(all_rows, minlength=n), out=indptr[1:])
    indices = np.ascontiguousarray(all_cols[order], dtype=np.int32)
    data = np.ones(len(indices))
    beta = np.concatenate([rng.uniform(100, 3000, 38), rng.gamma(1.0, 800, n_dx)])
    mean = np.add.reduceat(beta[indices], indptr[:-1])
    y = mean * rng.gamma(0.15, 1 / 0.15, n)
    w = np.where(rng.random(n) < 0.1, rng.uniform(0.05, 1, n), 1.0)
    return indptr, indices, data, y, w


def peak_memory_gb() -> float:
    """Peak resident memory of this process in GB.

    Linux's VmHWM where there is one: ``ru_maxrss`` survives ``exec``, so a benchmark started by a process
    that was large would report its parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out
