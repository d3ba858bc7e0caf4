"""Scoring: predicted cost per person from a CSR design and a coefficient vector."""

from __future__ import annotations

from .._config import kernel


@kernel
def score_rows(indptr, indices, data, coef, start, stop, out):
    """``out[i] = Σ_k data[k] * coef[indices[k]]`` over row ``i``'s entries, for rows ``start:stop``.

    Each row is summed serially in storage order, so the result does not depend on how rows are shared out.
    """
    for i in range(start, stop):
        total = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            total += data[k] * coef[indices[k]]
        out[i] = total
