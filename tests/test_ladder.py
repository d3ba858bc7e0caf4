"""The PBRA ladder runs end to end on synthetic England and climbs as the paper's does."""

from __future__ import annotations

import numpy as np
import pytest

from capitation.datasets import load_practices
from capitation.model import PUBLISHED_LADDER, pbra_ladder

synthetic = pytest.importorskip("capitation.datasets.synthetic")


@pytest.fixture(scope="module")
def ladder():
    codes = load_practices("2025/26")["practice_code"].sample(40, random_state=3).tolist()
    england = synthetic.synthetic_england(fraction=0.25, practices=codes, seed=3)
    return pbra_ladder(england.people, england.diagnoses, england.areas, outcome_year=england.outcome_year,
                       held_out_practices=0.25, seed=1)


def test_ladder_table_sits_beside_the_published_figures(ladder):
    table = ladder.to_frame()
    assert list(table.index) == list(PUBLISHED_LADDER.index)
    np.testing.assert_array_equal(table["published_r2_practice"], PUBLISHED_LADDER["published_r2_practice"])
    assert table["columns"].is_monotonic_increasing is False or table["columns"].iloc[1] > table["columns"].iloc[0]
    assert (table["people_estimation"] > 0).all() and (table["practices_held_out"] >= 10).all()
    assert "BMJ 2011" in ladder.summary()


def test_diagnoses_raise_person_level_fit(ladder):
    table = ladder.to_frame()
    # the first step of the ladder is the large one, in the paper (0.04 → 0.12) and in synthetic England
    assert table.loc["2 + diagnoses", "r2_estimation"] > 2 * table.loc["1 age-sex", "r2_estimation"]
    assert table.loc["2 + diagnoses", "r2_validation"] > table.loc["1 age-sex", "r2_validation"]
    # nested models cannot fit the estimation sample worse
    assert table["r2_estimation"].iloc[:4].is_monotonic_increasing
