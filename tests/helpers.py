"""Helpers shared by the tests: small populations made here, independent of the synthetic generator.

Tests import them from here (``from helpers import make_people``); ``conftest.py`` only holds fixtures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_people(n: int = 2_000, n_practices: int = 12, seed: int = 0) -> pd.DataFrame:
    """A small registered population with a cost that rises with age."""
    rng = np.random.default_rng(seed)
    practices = [f"A{81001 + k:05d}" for k in range(n_practices)]
    age = rng.integers(0, 100, n)
    sex = rng.choice(["F", "M"], n)
    exposure = np.where(rng.random(n) < 0.1, rng.uniform(0.05, 1.0, n), 1.0)
    mean = 150 + 12 * age + 100 * (sex == "M")
    cost = np.where(rng.random(n) < 0.3, rng.gamma(0.8, mean / 0.3 / 0.8), 0.0)
    return pd.DataFrame({
        "person_id": np.arange(1, n + 1, dtype=np.int64) * 7,
        "practice_code": rng.choice(practices, n),
        "sex": sex,
        "age": age,
        "lsoa_code": rng.choice([f"E0100{k:04d}" for k in range(40)], n),
        "exposure": exposure,
        "cost": cost * exposure,
    })


def make_membership(practices, n_groups: int = 3) -> pd.DataFrame:
    codes = sorted(practices)
    return pd.DataFrame({"practice_code": codes,
                         "consortium_code": [f"Q{k % n_groups:02d}" for k in range(len(codes))],
                         "consortium_name": [f"Consortium {k % n_groups}" for k in range(len(codes))]})
