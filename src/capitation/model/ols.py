"""Solving the weighted normal equations stably, naming the columns that cannot be identified."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ..errors import DesignError, InputError
from .stats import SufficientStats

__all__ = ["ALIAS_TOLERANCE", "Solution", "solve"]

#: A column is aliased when, after scaling to unit diagonal, less than this share of its variation is left
#: once the columns before it are accounted for.
ALIAS_TOLERANCE = 1e-9


class Solution:
    """Coefficients and the pieces needed for covariances (internal to :mod:`capitation.model`)."""

    def __init__(self, coef, kept, aliased, empty, bread):
        self.coef = coef        # full length; 0 for dropped columns
        self.kept = kept        # boolean mask of identified columns
        self.aliased = aliased  # names
        self.empty = empty      # names
        self.bread = bread      # (XᵀWX)⁻¹ over kept columns


def _cholesky_dropping(gram_scaled: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Left-looking Cholesky in column order that skips columns explained by earlier ones.

    Returns the factor over kept columns and the kept mask. Dropping the later column of a dependency
    mirrors what R's ``lm`` reports as ``NA``, so the names are the ones an analyst expects.
    """
    p = gram_scaled.shape[0]
    kept = np.zeros(p, dtype=bool)
    L = np.zeros((p, p))
    for j in range(p):
        idx = np.flatnonzero(kept)
        lj = L[j, idx]
        residual = gram_scaled[j, j] - lj @ lj
        if residual <= tol * max(gram_scaled[j, j], 1.0):
            continue
        L[j, j] = np.sqrt(residual)
        below = np.arange(j + 1, p)
        L[below, j] = (gram_scaled[below, j] - L[np.ix_(below, idx)] @ lj) / L[j, j]
        kept[j] = True
    k = np.flatnonzero(kept)
    return L[np.ix_(k, k)], kept


def solve(stats: SufficientStats, *, on_aliased: str = "raise", tol: float = ALIAS_TOLERANCE) -> Solution:
    """Solve XᵀWX b = XᵀWy from sufficient statistics.

    Columns are scaled to a unit diagonal before a Cholesky factorisation, then one step of iterative
    refinement recovers the digits lost to the normal equations' conditioning.

    Parameters
    ----------
    stats : SufficientStats
    on_aliased : {"raise", "drop"}
        Empty columns (no person has them) and aliased columns (exact linear combinations of earlier
        columns) raise :class:`~capitation.errors.DesignError` naming them, or are dropped (coefficient 0)
        and reported on the result.
    tol : float
        Aliasing tolerance on the scaled problem.
    """
    G = stats.gram
    names = np.asarray(stats.columns, dtype=object)
    diag = np.diag(G).copy()
    empty = diag <= 0
    scale = np.where(empty, 0.0, 1.0 / np.sqrt(np.where(empty, 1.0, diag)))
    Gs = G * scale[:, None] * scale[None, :]
    factor, kept = _cholesky_dropping(Gs, tol)
    aliased = ~kept & ~empty
    if on_aliased == "raise" and (empty.any() or aliased.any()):
        parts = []
        if empty.any():
            parts.append(f"{int(empty.sum())} empty column(s) that no one has: {names[empty][:10].tolist()}")
        if aliased.any():
            parts.append(f"{int(aliased.sum())} aliased column(s), exact combinations of earlier columns: "
                         f"{names[aliased][:10].tolist()}")
        raise DesignError("The design 'X' cannot identify every coefficient: " + "; ".join(parts) + ". Fix: "
                          "remove or merge those columns (e.g. a reference level for fixed effects), or fit "
                          "with on_aliased='drop' to drop them and report them on the result.")
    if on_aliased not in ("raise", "drop"):
        raise InputError(f"The 'on_aliased' parameter must be 'raise' or 'drop'. Got {on_aliased!r} instead.")
    k = np.flatnonzero(kept)
    rhs = stats.xtwy[k] * scale[k]
    cho = (factor, True)
    beta = linalg.cho_solve(cho, rhs)
    beta += linalg.cho_solve(cho, rhs - Gs[np.ix_(k, k)] @ beta)  # iterative refinement
    coef = np.zeros(len(names))
    coef[k] = beta * scale[k]
    bread = linalg.cho_solve(cho, np.eye(len(k))) * scale[k][:, None] * scale[k][None, :]
    return Solution(coef, kept, tuple(names[aliased]), tuple(names[empty]), bread)
