"""Obviously-correct twins of the kernels, in plain Python and numpy, for tests only."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def gram(X: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Dense XᵀWX, XᵀWy, XᵀW1 and [n, Σw, Σwy, Σwy²]."""
    Xw = X * w[:, None]
    return Xw.T @ X, Xw.T @ y, Xw.sum(axis=0), np.array([len(y), w.sum(), w @ y, w @ (y * y)])


def score(X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return X @ coef


def group_sum(values, codes, n_groups):
    """Exact sums per group with Fractions (the ground truth for fixed-point sums, before quantising)."""
    out = [Fraction(0)] * n_groups
    for v, c in zip(values, codes, strict=True):
        if c >= 0:
            out[c] += Fraction(float(v))
    return out


def largest_remainder(total: int, weights) -> list[int]:
    """Hamilton's method, written directly from its definition with Fractions."""
    W = sum(weights)
    exact = [Fraction(total * w, W) for w in weights]
    floors = [int(e) for e in exact]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def csr_to_dense(indptr, indices, data, n_columns):
    out = np.zeros((len(indptr) - 1, n_columns))
    for i in range(len(indptr) - 1):
        for k in range(indptr[i], indptr[i + 1]):
            out[i, indices[k]] += data[k]
    return out


def distinct_pairs(rows, groups):
    """Distinct (row, group) pairs in row-then-group order with their counts, by a dictionary."""
    tally: dict[tuple[int, int], int] = {}
    for r, g in zip(rows.tolist(), groups.tolist(), strict=True):
        tally[(r, g)] = tally.get((r, g), 0) + 1
    keys = sorted(tally)
    return [k[0] for k in keys], [k[1] for k in keys], [tally[k] for k in keys]


def wide_cells(codes: np.ndarray) -> list[tuple[int, int, int]]:
    """The (row, column, code) of every cell of a ``(columns, rows)`` matrix that is not -1, row by row."""
    n_columns, n_rows = codes.shape
    return [(i, k, int(codes[k, i])) for i in range(n_rows) for k in range(n_columns) if codes[k, i] != -1]


def uniform_draws(seed: int, keys, stream: int, n: int) -> np.ndarray:
    """The generator's splitmix64 draws with Python integers: ``out[i, j]`` is draw ``j + 1`` of ``keys[i]``."""
    mask = 2**64 - 1

    def mix(x: int) -> int:
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    gold = 0x9E3779B97F4A7C15
    out = np.empty((len(keys), n))
    for i, key in enumerate(keys):
        state = mix(mix((seed + gold) & mask) ^ mix((int(key) * gold + stream) & mask))
        for j in range(n):
            state = (state + gold) & mask
            out[i, j] = ((mix(state) >> 11) + 0.5) / 2.0**53
    return out


def risk_sharing_costs(codes, need, residual, n_practices, *, scale, variance="proportional", bands=10,
                       extra_cv=0.0, thresholds=(), years=1, draws=100, seed=0, exposure=None):
    """Person-level costs and pool claims, drawn person by person: the brute-force twin of the fast scheme.

    Each person costs ``scale_g · u_g · (ŷ + σ e)``: ``e`` drawn with replacement from the centred standardised
    residuals ``r √exposure / σ`` of their band of need (equal-count quantile bands of ŷ, ties in one band),
    ``u_g`` lognormal with mean 1 and cv ``extra_cv`` (its deviate clipped at ±6), the same in each year of a
    draw. Returns ``costs[d, t, g]`` and ``claims[r, d, t, g]`` (whole pence; each person's cost rounded).
    """
    rng = np.random.default_rng(seed)
    codes = np.asarray(codes)
    yhat = np.maximum(np.asarray(need, dtype=float), 0.0)
    r = np.asarray(residual, dtype=float)
    x = np.ones(len(r)) if exposure is None else np.asarray(exposure, dtype=float)
    if variance == "proportional":
        sigma = np.sqrt((x * r * r).sum() / yhat.sum() * yhat)
    else:
        sigma = np.full(len(r), np.sqrt((x * r * r).mean()))
    live = sigma > 0
    band = np.full(len(r), -1)
    if bands > 1:
        edges = np.unique(np.quantile(yhat[live], np.arange(1, bands) / bands, method="inverted_cdf"))
        band[live] = np.searchsorted(edges, yhat[live], side="right")
    else:
        band[live] = 0
    pools = {}
    for b in np.unique(band[live]):
        e = r[band == b] * np.sqrt(x[band == b]) / sigma[band == b]
        pools[b] = e - e.mean()
    s = np.sqrt(np.log1p(extra_cv ** 2))
    costs = np.zeros((draws, years, n_practices), dtype=np.int64)
    claims = np.zeros((len(thresholds), draws, years, n_practices), dtype=np.int64)
    for d in range(draws):
        z = np.clip(rng.standard_normal(n_practices), -6.0, 6.0)
        u = np.exp(s * z - s * s / 2) if s > 0 else np.ones(n_practices)
        for t in range(years):
            e = np.zeros(len(r))
            for b, pool in pools.items():
                here = band == b
                e[here] = pool[rng.integers(0, len(pool), here.sum())]
            cents = np.where(live, np.rint(100.0 * scale[codes] * u[codes] * (yhat + sigma * e)), 0.0)
            cents = cents.astype(np.int64)
            np.add.at(costs[d, t], codes, cents)
            for k, threshold in enumerate(thresholds):
                np.add.at(claims[k, d, t], codes, np.maximum(cents - threshold, 0))
    return costs, claims


def settle_rule(costs, claims, budgets, caps, cons, reserve_in, pool_in, keep, bear, limit):
    """A risk-sharing rule applied with Python integers and Fractions, from its definition.

    Each year: ``x = budget + carry − (cost − claim)``; the practice keeps ``⌊keep·x⌋`` of a surplus or bears
    ``⌊bear·x⌋`` of a deficit, clipped to ``± cap`` (``cap < 0``: none), and carries it; the rest goes to the
    reserve, which gets ``reserve_in`` a year and is topped up by the consortium when it would go negative. The
    pool gets ``pool_in`` a year and pays the claims. Returns positions, deficit flags (ever below
    ``−limit·budget``), ``[pool, reserve, consortium]`` balances and exhaustion flags.
    """
    draws, years, n_g = costs.shape
    n_c = len(reserve_in)
    positions = np.zeros((draws, n_g), dtype=np.int64)
    deficit = np.zeros((draws, n_g), dtype=bool)
    accounts = np.zeros((draws, n_c, 3), dtype=np.int64)
    exhausted = np.zeros((draws, n_c), dtype=bool)
    for d in range(draws):
        carry, reserve, pool, short = [0] * n_g, [0] * n_c, [0] * n_c, [0] * n_c
        for t in range(years):
            flow = [0] * n_c
            for g in range(n_g):
                c = int(cons[g])
                claim = int(claims[d, t, g])
                pool[c] -= claim
                x = int(budgets[g]) + carry[g] - (int(costs[d, t, g]) - claim)
                k = math.floor(Fraction(x) * (keep if x >= 0 else bear))
                if caps[g] >= 0:
                    k = max(-int(caps[g]), min(int(caps[g]), k))
                flow[c] += x - k
                carry[g] = k
                if Fraction(k) < -limit * int(budgets[g]):
                    deficit[d, g] = True
            for c in range(n_c):
                pool[c] += int(pool_in[c])
                reserve[c] += int(reserve_in[c]) + flow[c]
                if reserve[c] < 0:
                    short[c] -= reserve[c]
                    reserve[c] = 0
                    exhausted[d, c] = True
        positions[d] = carry
        accounts[d, :, 0], accounts[d, :, 1], accounts[d, :, 2] = pool, reserve, [-s for s in short]
    return positions, deficit, accounts, exhausted
