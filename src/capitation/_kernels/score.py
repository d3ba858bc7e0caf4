"""Scoring: predicted cost per person from a CSR design and a coefficient vector."""

from __future__ import annotations

import numba

from .._config import PARALLEL_FLAGS


@numba.njit(**PARALLEL_FLAGS)
def score_csr(indptr, indices, data, coef, out):
    """``out[i] = Σ_k data[k] * coef[indices[k]]`` over row ``i``'s entries.

    Each row is summed serially in storage order, so the result does not depend on the thread count.
    """
    n_rows = indptr.shape[0] - 1
    for i in numba.prange(n_rows):
        total = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            total += data[k] * coef[indices[k]]
        out[i] = total
