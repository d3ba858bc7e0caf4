"""The PBRA ladder runs end to end on synthetic England and climbs as the paper's does."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from capitation.aggregation.membership import Membership
from capitation.datasets import load_practices
from capitation.model import PUBLISHED_LADDER, pbra_ladder
from capitation.model.ladder import ALL_NEED, PARSIMONIOUS_NEED, RUNGS, SUPPLY, ladder_specs
from helpers import make_membership, make_people

synthetic = pytest.importorskip("capitation.datasets.synthetic")


@pytest.fixture(scope="module")
def england():
    codes = load_practices("2025/26")["practice_code"].sample(40, random_state=3).tolist()
    return synthetic.synthetic_england(fraction=0.25, practices=codes, seed=3)


@pytest.fixture(scope="module")
def ladder(england):
    return pbra_ladder(england.people, england.diagnoses, england.areas, outcome_year=england.outcome_year,
                       held_out_practices=0.25, seed=1)


def test_held_out_practices_can_be_named(england, ladder):
    """Naming the practices a share would draw gives the same ladder: one split, two ways to ask for it."""
    from capitation.model.validation import split_practices

    codes = england.people["practice_code"].to_numpy(object)
    _, held = split_practices(codes, 0.25, seed=1)
    named = sorted(set(codes[held]))
    again = pbra_ladder(england.people, england.diagnoses, england.areas, outcome_year=england.outcome_year,
                        held_out_practices=named, seed=1)
    pd.testing.assert_frame_equal(again.to_frame(), ladder.to_frame())
    assert (again.to_frame()["practices_held_out"] == len(named)).all()


def test_bad_held_out_practices_are_refused(england):
    from capitation.errors import InputError

    people = england.people
    first = people["practice_code"].iloc[0]
    for held, match in [(1.5, r"'held_out_practices' parameter.*share.*Got 1.5.*Fix:"), (0, "Got 0\\."),
                        ([], "names no practice.*Fix:"),
                        ([first, "Z99999"], r"names 1 of its 2 practices with nobody in people.*'Z99999'.*Fix:"),
                        (list(people["practice_code"].unique()), "names every practice.*Fix:")]:
        with pytest.raises(InputError, match=match):
            pbra_ladder(people, england.diagnoses, england.areas, outcome_year=england.outcome_year,
                        held_out_practices=held)


def test_ladder_table_sits_beside_the_published_figures(ladder):
    table = ladder.to_frame()
    assert list(table.index) == list(PUBLISHED_LADDER.index)
    np.testing.assert_array_equal(table["published_r2_practice"], PUBLISHED_LADDER["published_r2_practice"])
    columns = table["columns"]
    # models 1 to 4 each add columns (diagnosis groups, ICB dummies, need and supply); model 5 keeps 3 of the
    # 10 need variables of model 4, one column each
    assert columns.iloc[:4].is_monotonic_increasing and columns.iloc[:4].is_unique
    assert columns.iloc[4] == columns.iloc[3] - (len(ALL_NEED) - len(PARSIMONIOUS_NEED))
    assert (table["people_estimation"] > 0).all() and (table["practices_held_out"] >= 10).all()
    assert "BMJ 2011" in ladder.summary()


def test_diagnoses_raise_person_level_fit(ladder):
    table = ladder.to_frame()
    # the first step of the ladder is the large one, in the paper (0.04 → 0.12) and in synthetic England
    assert table.loc["2 + diagnoses", "r2_estimation"] > 2 * table.loc["1 age-sex", "r2_estimation"]
    assert table.loc["2 + diagnoses", "r2_validation"] > table.loc["1 age-sex", "r2_validation"]
    # nested models cannot fit the estimation sample worse
    assert table["r2_estimation"].iloc[:4].is_monotonic_increasing


# -- the ladder's one definition -----------------------------------------------------------------------------

def test_pbra_ladder_fits_the_rungs_of_ladder_specs(ladder):
    rungs = ladder_specs("2025/26", need_full=ALL_NEED, need=PARSIMONIOUS_NEED, supply=SUPPLY, keep_repeats=True)
    assert list(ladder.models) == [r.published for r in rungs] == list(PUBLISHED_LADDER.index)
    for rung, model in zip(rungs, ladder.models.values(), strict=True):
        # the fitted spec has learned the ICB levels; otherwise it is the rung's
        assert dataclasses.replace(model.spec_, levels=()) == rung.spec, rung.name


def test_ladder_specs_leave_out_rungs_the_data_cannot_support():
    full = ladder_specs("2025/26", need_full=ALL_NEED, need=PARSIMONIOUS_NEED, supply=SUPPLY, conditions=("DM",))
    assert [r.key for r in full] == list(RUNGS)
    assert [r.name for r in full] == [name for name, _ in RUNGS.values()]
    assert full[0].spec.diagnosis_grouping is None and full[1].spec.diagnosis_grouping is not None
    assert [r.spec.fixed_effects for r in full] == [(), (), ("icb",), ("icb",), ("icb",), ("icb",)]
    assert full[3].spec.need == ALL_NEED and full[4].spec.need == full[5].spec.need == PARSIMONIOUS_NEED
    assert all(r.spec.supply == SUPPLY for r in full[3:]) and full[5].spec.conditions == ("DM",)
    # no diagnoses: every rung builds on the age-sex cells; one set of need variables: one area rung
    bare = ladder_specs("2025/26", diagnoses=False, fixed_effects=False, need_full=("imd",), need=("imd",))
    assert [r.key for r in bare] == ["age_sex", "need_supply"]
    assert bare[1].spec.diagnosis_grouping is None and bare[1].spec.need == ("imd",)
    # BMJ's five rungs, each kept even where it repeats the one before
    five = ladder_specs("2025/26", keep_repeats=True)
    assert [r.published for r in five] == list(PUBLISHED_LADDER.index)
    assert five[2].spec == five[3].spec == five[4].spec


def test_the_committee_report_climbs_the_same_rungs(tmp_path, monkeypatch):
    """Renaming a rung in the one definition renames it in the committee report's ladder."""
    from capitation.report.committee import committee_report

    pytest.importorskip("matplotlib")
    people = make_people(1_500, seed=2)
    membership = Membership.from_frame(make_membership(people["practice_code"].unique()))
    areas = pd.DataFrame({"lsoa_code": sorted(people["lsoa_code"].unique())})
    areas["imd"] = np.linspace(5, 50, len(areas))
    monkeypatch.setitem(RUNGS, "area_effects", ("+ consortium effects", RUNGS["area_effects"][1]))
    result = committee_report(tmp_path / "r.html", 1000, people=people, areas=areas, need=("imd",),
                              membership=membership, fixed_effects=True)
    expected = ladder_specs("2025/26", diagnoses=False, fixed_effects=True, need_full=("imd",), need=("imd",))
    assert [v.label for v in result.ladder] == [r.name for r in expected] == \
        ["Age–sex", "+ consortium effects", "Full: + all need, supply"]
    assert dataclasses.replace(result.model.spec_, levels=()) == expected[-1].spec
