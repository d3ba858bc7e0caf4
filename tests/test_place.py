"""NHS England's place indices and health-inequalities blend, against hand calculations on the real files."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation.aggregation.membership import Membership
from capitation.allocation import (
    HealthInequalities,
    allocate,
    place_indices,
    published_need,
    read_weighted_populations,
    round_half_up,
)
from capitation.datasets import load_practices
from capitation.errors import InputError, UnknownCodeError

# The raw file sits in ../shared beside the repository (as in CI); the package itself never reads it.
REFERENCE = (Path(__file__).resolve().parents[2] / "shared" / "reference"
             / "nhse_practice_weighted_populations_2025_26.csv")
needs_reference = pytest.mark.skipif(not REFERENCE.exists(), reason=f"{REFERENCE} is not present")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_practices("2025/26")


def _places(frame: pd.DataFrame) -> pd.Series:
    """Two ICBs cut into places by postcode district (a realistic, arbitrary grouping)."""
    chosen = frame[frame.icb_code.isin(["QHM", "QKK"])].copy()
    district = chosen.postcode.str.split(" ").str[0]
    chosen["place"] = chosen.icb_code + ":" + district.str.rstrip("0123456789")
    return chosen.set_index("practice_code")["place"]


def _half_up(x: float, places: int) -> float:
    return float(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def test_place_indices_equal_a_hand_calculation_on_the_2025_26_file(frame):
    place_of = _places(frame)
    result = place_indices("2025/26", place_of, components=("core", "general_acute", "health_inequalities",
                                                            "primary_medical_care_final"))
    # the hand calculation, directly with pandas on the shipped file
    members = frame.set_index("practice_code").loc[place_of.index].assign(place=place_of)
    icb = frame[frame.icb_code.isin(["QHM", "QKK"])].groupby("icb_code")
    for component, column in (("core", "wp_core_final"), ("general_acute", "wp_general_acute"),
                              ("health_inequalities", "wp_health_inequalities"),
                              ("primary_medical_care_final", "wp_primary_medical_care_final")):
        icb_rate = icb[column].sum() / icb["population"].sum()
        place = members.groupby("place")
        place_rate = place[column].sum() / place["population"].sum()
        parent = members.groupby("place")["icb_code"].first()
        hand = place_rate / icb_rate.reindex(parent).to_numpy()
        np.testing.assert_allclose(result.places[f"index_{component}"], hand.reindex(result.places.index),
                                   rtol=1e-13)
        np.testing.assert_allclose(result.icbs[f"index_{component}"], icb_rate.reindex(result.icbs.index),
                                   rtol=1e-13)
        published = result.published()[f"index_{component}"]
        assert published.tolist() == [_half_up(v, 3) for v in hand.reindex(published.index)]
    assert result.published()["population"].tolist() == \
        [_half_up(v, 0) for v in members.groupby("place")["population"].sum().reindex(result.places.index)]
    assert len(result.places) > 10 and set(result.places.icb_code) == {"QHM", "QKK"}


def test_a_few_place_indices_written_out(frame):
    # QHM cut in two by list order: the first 40 practices, then the rest (numbers from the 2025/26 file)
    qhm = frame[frame.icb_code == "QHM"]
    north = qhm.iloc[:40]
    result = place_indices(frame, {"north": north.practice_code.tolist(),
                                   "south": qhm.practice_code.iloc[40:].tolist()})
    icb_core = qhm.wp_core_final.sum() / qhm.population.sum()
    hand = north.wp_core_final.sum() / north.population.sum() / icb_core
    assert result.places.loc["north", "index_core"] == pytest.approx(hand, rel=1e-14)
    assert result.published().loc["north", "index_core"] == 1.041
    assert result.published("icb").loc["QHM", "index_core"] == _half_up(icb_core, 3)
    # the population-weighted mean of the places' indices is the ICB's own: 1
    w = result.places.population / result.places.population.sum()
    assert float((w * result.places.index_core).sum()) == pytest.approx(1.0, abs=1e-14)


def test_place_errors_name_the_place_and_the_fix(frame):
    qhm = frame[frame.icb_code == "QHM"].practice_code.tolist()
    qkk = frame[frame.icb_code == "QKK"].practice_code.tolist()
    with pytest.raises(InputError, match=r"Place 'mixed' spans ICBs \['QHM', 'QKK'\].*split it by ICB"):
        place_indices(frame, {"mixed": qhm[:3] + qkk[:3]})
    with pytest.raises(UnknownCodeError, match=r"Practices \['Z99999'\]"):
        place_indices(frame, {"p": ["Z99999"]})
    with pytest.raises(InputError, match="more than one place"):
        place_indices(frame, pd.Series(["a", "b"], index=[qhm[0], qhm[0]]))


def test_round_half_up_is_decimal_not_binary():
    # 2.675 is stored as 2.67499999…; published tables read it as written and round it up
    assert round(2.675, 2) == 2.67
    assert round_half_up([2.675, 0.0005, 1.0004999, -0.0015], 3).tolist() == [2.675, 0.001, 1.0, -0.002]
    assert round_half_up([2.675], 2).tolist() == [2.68]


def test_final_pmc_is_the_health_inequalities_blend_on_the_2025_26_file(frame):
    # NHS England: Final PMC WP = 0.85 × PMC WP + 0.15 × HI WP (to the file's rounding)
    blend = 0.85 * frame.wp_primary_medical_care + 0.15 * frame.wp_health_inequalities
    np.testing.assert_allclose(frame.wp_primary_medical_care_final, blend, rtol=1e-8, atol=1e-5)
    # and the library's HealthInequalities adjustment reproduces the published shares
    need = published_need("2025/26", "primary_medical_care")
    hi = frame.set_index("practice_code")["wp_health_inequalities"]
    blended = allocate(need, 10_000_000_000, adjustments=[HealthInequalities(0.15, hi)])
    published = frame.set_index("practice_code")["wp_primary_medical_care_final"]
    np.testing.assert_allclose(blended.practices["weighted_population"], published.reindex(blended.practices.index),
                               rtol=1e-8, atol=1e-4)
    # h = 0.10 with the core inputs would not reproduce it: the test can fail
    other = allocate(need, 10_000_000_000, adjustments=[HealthInequalities(0.10, hi)])
    assert np.abs(other.practices["weighted_population"] - published.reindex(other.practices.index)).max() > 1


@needs_reference
def test_nhs_england_csv_is_read_directly_and_matches_the_shipped_frame(frame):
    raw = read_weighted_populations(REFERENCE)
    merged = frame.merge(raw, on="practice_code", suffixes=("", "_csv"))
    assert len(merged) == len(frame)
    for column in ("population", "wp_core_final", "wp_health_inequalities"):
        np.testing.assert_array_equal(merged[column], merged[f"{column}_csv"])
    assert {"pcn_code", "sub_icb_code"} <= set(raw.columns)


def test_an_icb_allocates_to_its_places_from_published_weights(frame):
    place_of = _places(frame)
    qhm = place_of[place_of.str.startswith("QHM")]
    need = published_need("2025/26", "core").loc[qhm.index]
    places = Membership.from_frame(pd.DataFrame({"practice_code": qhm.index, "consortium_code": qhm.values}),
                                   level="place", year="2025/26")
    alloc = allocate(need, "4321987654.32", membership=places)
    assert int(alloc.consortia.budget_pence.sum()) == 432_198_765_432
    # a place's share of its ICB's envelope is its weighted population's share
    wp = need.need.groupby(qhm).sum()
    np.testing.assert_allclose(alloc.consortia.share, wp / wp.sum(), rtol=1e-9)  # WP in 2⁻²⁰ fixed point
    # and its need index against the ICB is the place index of NHS England's tool
    indices = place_indices(frame, qhm, components=("core",)).places["index_core"]
    np.testing.assert_allclose(alloc.consortia.need_index, indices.reindex(alloc.consortia.index), rtol=1e-9)
