"""Least squares from sufficient statistics: the normal equations solved stably, the fit's result and covariances.

The one least-squares engine of :mod:`capitation.model`: :class:`~capitation.CostModel`, :func:`~capitation.fit_ols`
and the two-part model's amount part all fit through :func:`_least_squares`; streamed and distributed fits solve
merged statistics with :func:`result_from_stats`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import DesignError, InputError
from .results import FitResult
from .stats import SufficientStats, _Design, _residual_gram

__all__ = ["ALIAS_TOLERANCE", "Solution", "result_from_stats", "solve"]

#: A column is aliased when, after scaling to unit diagonal, less than this share of its variation is left
#: once the columns before it are accounted for.
ALIAS_TOLERANCE = 1e-9


class Solution:
    """Coefficients and the pieces needed for covariances (internal to :mod:`capitation.model`).

    Parameters
    ----------
    coef : ndarray
        Every column's coefficient; 0 for dropped columns.
    kept : ndarray of bool
        The identified columns.
    aliased, empty : tuple of str
        Names of the dropped columns.
    bread : ndarray
        (XᵀWX)⁻¹ over the kept columns.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import SufficientStats
    >>> from capitation.model.ols import solve
    >>> X = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    >>> sol = solve(SufficientStats.from_design(X, [1.0, 3.0, 2.0]), on_aliased="drop")
    >>> sol.kept.tolist(), sol.empty
    ([True, True, False], ('x2',))
    """

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
        Aliased columns (exact linear combinations of earlier columns, usually a modelling mistake such as a
        fixed effect without a reference level) raise :class:`~capitation.errors.DesignError` naming them, or
        are dropped (coefficient 0) and reported on the result. Empty columns (no person has them: normal in
        a sample, e.g. a rare diagnosis group) are always dropped and reported on the result's ``empty``.
    tol : float
        Aliasing tolerance on the scaled problem.

    Returns
    -------
    Solution

    Raises
    ------
    DesignError
        Aliased columns, with ``on_aliased="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import SufficientStats
    >>> from capitation.model.ols import solve
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> solve(SufficientStats.from_design(X, [100.0, 300.0, 140.0, 260.0])).coef.round(6).tolist()
    [120.0, 160.0]
    """
    G = stats.gram
    names = np.asarray(stats.columns, dtype=object)
    diag = np.diag(G).copy()
    empty = diag <= 0
    scale = np.where(empty, 0.0, 1.0 / np.sqrt(np.where(empty, 1.0, diag)))
    Gs = G * scale[:, None] * scale[None, :]
    factor, kept = _cholesky_dropping(Gs, tol)
    aliased = ~kept & ~empty
    if on_aliased == "raise" and aliased.any():
        also = (f" ({int(empty.sum())} empty column(s) that no one has are dropped and reported as usual)"
                if empty.any() else "")
        raise DesignError(f"The design 'X' cannot identify every coefficient: {int(aliased.sum())} aliased "
                          f"column(s), exact combinations of earlier columns: {names[aliased][:10].tolist()}{also}. "
                          "Fix: remove or merge those columns (e.g. a reference level for fixed effects), or fit "
                          "with on_aliased='drop' to drop them and report them on the result.")
    if on_aliased not in ("raise", "drop"):
        raise InputError(f"The 'on_aliased' parameter must be 'raise' or 'drop'. Got {on_aliased!r} instead.")
    k = np.flatnonzero(kept)
    rhs = stats.xtwy[k] * scale[k]
    cho = (factor, True)
    from scipy import linalg  # here, not at import: only a fit needs it

    beta = linalg.cho_solve(cho, rhs)
    beta += linalg.cho_solve(cho, rhs - Gs[np.ix_(k, k)] @ beta)  # iterative refinement
    coef = np.zeros(len(names))
    coef[k] = beta * scale[k]
    bread = linalg.cho_solve(cho, np.eye(len(k))) * scale[k][:, None] * scale[k][None, :]
    return Solution(coef, kept, tuple(names[aliased]), tuple(names[empty]), bread)


def result_from_stats(stats: SufficientStats, roles: pd.Series | None = None, *,
                      on_aliased: str = "raise") -> FitResult:
    """Solve a least-squares :class:`FitResult` (classical covariance) from sufficient statistics alone.

    This is what makes streamed and distributed fitting possible: statistics of chunks or partitions are
    added, then solved once.

    Parameters
    ----------
    stats : SufficientStats
        Accumulated over every person of the fit.
    roles : pandas.Series, optional
        Role of each column, by name; from ``stats.roles`` (or ``"demographic"``) when ``None``.
    on_aliased : {"raise", "drop"}
        What to do with aliased columns; empty ones are always dropped and reported (see :func:`solve`).

    Returns
    -------
    FitResult

    Raises
    ------
    DesignError
        Aliased columns, with ``on_aliased="raise"``.
    InputError
        No residual degrees of freedom (no more people than identified coefficients).

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import SufficientStats
    >>> from capitation.model.ols import result_from_stats
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> y = [100.0, 300.0, 140.0, 260.0]
    >>> parts = SufficientStats.from_design(X[:2], y[:2]) + SufficientStats.from_design(X[2:], y[2:])
    >>> result_from_stats(parts).params.round(6).tolist()
    [120.0, 160.0]
    """
    names = list(stats.columns)
    sol = solve(stats, on_aliased=on_aliased)
    n, sum_w, sum_wy, sum_wyy = stats.moments
    k = int(sol.kept.sum())
    df_resid = int(n) - k
    if df_resid <= 0:
        raise InputError(f"The design 'X' has {int(n):,} people for {k:,} coefficients, leaving no residual "
                         "degrees of freedom. Fix: fit on more people than design columns.")
    beta = sol.coef
    ssr = float(sum_wyy - 2.0 * beta @ stats.xtwy + beta @ stats.gram @ beta)
    kept_names = [nm for nm, keep in zip(names, sol.kept, strict=True) if keep]
    return FitResult(
        params=pd.Series(beta, index=names, name="coef"),
        cov=pd.DataFrame(sol.bread * (ssr / df_resid), index=kept_names, columns=kept_names),
        cov_type="nonrobust",
        n=int(n),
        sum_weights=float(sum_w),
        df_resid=df_resid,
        ssr=ssr,
        centered_tss=float(sum_wyy - sum_wy * sum_wy / sum_w),
        aliased=sol.aliased,
        empty=sol.empty,
        column_means=pd.Series(stats.column_means, index=names, name="mean"),
        roles=roles if roles is not None else pd.Series(
            list(stats.roles) if stats.roles is not None else "demographic", index=names, name="role"),
    )


def _design_roles(design: _Design) -> pd.Series:
    """Role of each design column: the FeatureMatrix's, or ``"demographic"`` for a plain array."""
    if design.roles is not None:
        return pd.Series(design.roles, index=design.columns, name="role")
    return pd.Series("demographic", index=design.columns, name="role")


def _robust(result: FitResult, meat: np.ndarray, columns) -> FitResult:
    """White's HC1 covariance (n/(n−k) correction, as statsmodels'): bread · meat · bread over kept columns."""
    kept = pd.Index(columns).get_indexer(result.cov.index)
    bread = result.cov.to_numpy() / result.scale  # (XᵀWX)⁻¹ over the identified columns
    cov = (result.n / result.df_resid) * (bread @ meat[np.ix_(kept, kept)] @ bread)
    return replace(result, cov=pd.DataFrame(cov, index=result.cov.index, columns=result.cov.index), cov_type="HC1")


def _least_squares(design: _Design, y: np.ndarray, w: np.ndarray, *, cov_type: str, on_aliased: str,
                   block_size: int, stats: SufficientStats | None = None) -> tuple[FitResult, SufficientStats]:
    """Weighted least squares on a converted design with checked ``y`` and ``w``: the result and its statistics.

    The first pass accumulates the sufficient statistics (skipped when ``stats`` is given); ``"HC1"`` takes the
    second pass over the same converted design (both passes are in :mod:`capitation.model.stats`).
    """
    if stats is None:
        stats = SufficientStats.empty(design.columns, design.roles)
        stats._add(design, y, w, block_size=block_size)
    result = result_from_stats(stats, _design_roles(design), on_aliased=on_aliased)
    if cov_type == "HC1":
        meat = _residual_gram(design, y, w, result.params.to_numpy(), block_size=block_size)
        result = _robust(result, meat, design.columns)
    return result, stats
