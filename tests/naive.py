"""Obviously-correct twins of the kernels, in plain Python and numpy, for tests only."""

from __future__ import annotations

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
