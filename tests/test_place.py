"""NHS England's place indices and health-inequalities blend, against hand calculations on the real files."""

from __future__ import annotations

import hashlib
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation._io import sha256_path
from capitation.aggregation.membership import Membership
from capitation.allocation import (
    HealthInequalities,
    allocate,
    place_indices,
    published_need,
    read_weighted_populations,
    round_half_up,
)
from capitation.allocation.external import source_of
from capitation.datasets import PRACTICE_YEARS, load_practices
from capitation.datasets.practices import PUBLISHED_FILES
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


# -- which file the published need came from -------------------------------------------------------------

#: Two practices of NHS England's 2025/26 file with its headings (UTF-8 with a byte-order mark, as published).
_HEAD = ("Practice_Code,GP_Practice_Name,ICB,ICBname,Population,G&A WP,CS WP,MH WP,Mat WP,Health Ineq WP,"
         "Prescr WP,Final WP,Primary Medical Care WP,Final PMC WP\n")
_ROW = ("{code},SURGERY,QHM,NHS North East and North Cumbria ICB,{population},4873.2,5185.2,4503.4,3959.3,7290.3,"
        "5068.5,{core},4340.2,4782.7\n")


def _practice_file(path: Path, a81001_population: str) -> Path:
    text = _HEAD + _ROW.format(code="A81001", population=a81001_population, core="4908.808509") \
        + _ROW.format(code="A81002", population="19801.5", core="21000.25")
    path.write_bytes(text.encode("utf-8-sig"))
    return path


def test_published_need_tells_two_versions_of_the_2025_26_file_apart(tmp_path):
    # the two versions in circulation differ in A81001's population only: 3,928.0 and 4,068.9 people
    first = _practice_file(tmp_path / "practice_weighted_populations_2025_26.csv", "3928.020356")
    second = _practice_file(tmp_path / "practice_weighted_populations_2025_26_v2.csv", "4068.906409")
    needs = [published_need(first, "core"), published_need(second, "core")]
    assert [n.loc["A81001", "registered"] for n in needs] == [3928.020356, 4068.906409]
    sources = [source_of(n) for n in needs]
    assert [s["name"] for s in sources] == [first.name, second.name]
    assert [s["sha256"] for s in sources] == [hashlib.sha256(first.read_bytes()).hexdigest(), sha256_path(second)]
    assert sources[0]["sha256"] != sources[1]["sha256"]
    assert {(s["kind"], s["year"], s["component"], s["shipped_file"]) for s in sources} == {("file", None, "core",
                                                                                             None)}
    # the same name in another folder: only the SHA-256 tells the versions apart, and it does
    (tmp_path / "other").mkdir()
    renamed = _practice_file(tmp_path / "other" / first.name, "4068.906409")
    again = source_of(read_weighted_populations(renamed))
    assert again["name"] == sources[0]["name"] and again["sha256"] == sources[1]["sha256"]
    # neither is the shipped 2025/26 file
    assert PUBLISHED_FILES["2025/26"]["sha256"] not in {s["sha256"] for s in sources}


def test_published_need_of_a_shipped_year_records_the_files_and_keeps_the_record(frame):
    need = published_need("2025/26", "primary_medical_care_final")
    source = source_of(need)
    shipped = resources.files("capitation.datasets").joinpath("data/practices.parquet").read_bytes()
    assert source == {"kind": "shipped", "name": "nhse_practice_weighted_populations_2025_26.csv",
                      "sha256": PUBLISHED_FILES["2025/26"]["sha256"], "year": "2025/26",
                      "shipped_file": "practices.parquet", "shipped_sha256": hashlib.sha256(shipped).hexdigest(),
                      "component": "primary_medical_care_final"}
    assert need.loc["A81001", "registered"] == 3928.020356  # the shipped version of the 2025/26 file
    # the record survives what callers do with the frame (select, reindex, take a column, drop a column)
    for derived in (need.loc[["A81002", "A81001"]], need.iloc[:30], need["need"].reindex(["A81001", "Z99999"]),
                    need.drop(columns="icb_code"), need[need["registered"] > 5000]):
        assert source_of(derived) == source
    # each year its own file; read_weighted_populations records the same, without a component
    names = {year: source_of(read_weighted_populations(year)) for year in PRACTICE_YEARS}
    assert [names[y]["name"] for y in PRACTICE_YEARS] == [PUBLISHED_FILES[y]["name"] for y in PRACTICE_YEARS]
    assert len({names[y]["sha256"] for y in PRACTICE_YEARS}) == 3 and "component" not in names["2025/26"]
    # a copy: editing what source_of returns leaves the frame's record as it was
    source_of(need)["sha256"] = "edited"
    assert source_of(need)["sha256"] == PUBLISHED_FILES["2025/26"]["sha256"]


def test_published_need_of_a_frame_or_a_parquet_file_says_so(tmp_path, frame):
    plain = published_need(frame.drop(columns="icb_code"), "core")
    assert {k: source_of(plain)[k] for k in ("kind", "name", "sha256", "component")} == \
        {"kind": "DataFrame", "name": "DataFrame", "sha256": None, "component": "core"}
    assert "read_from" not in source_of(plain)
    # a frame that says where it was read from keeps that, as what it was read from (it may have been edited)
    read = read_weighted_populations("2025/26")
    assert source_of(published_need(read))["read_from"] == source_of(read)
    path = tmp_path / "weights.parquet"
    frame.iloc[:50].to_parquet(path)
    parquet = source_of(published_need(path, "core"))
    assert (parquet["kind"], parquet["name"], parquet["sha256"]) == ("file", "weights.parquet", sha256_path(path))
    with pytest.raises(InputError, match="is not a file"):
        read_weighted_populations(tmp_path / "absent.csv")


@needs_reference
def test_published_need_of_2025_26_names_the_published_file_it_came_from():
    # the SHA-256 computed here from NHS England's file must be the one the package records without it
    digest = hashlib.sha256(REFERENCE.read_bytes()).hexdigest()
    shipped = source_of(published_need("2025/26", "core"))
    assert (shipped["name"], shipped["sha256"]) == (REFERENCE.name, digest)
    # and reading the file itself records the same name and SHA-256: the same version
    direct = source_of(published_need(REFERENCE, "core"))
    assert (direct["name"], direct["sha256"]) == (shipped["name"], shipped["sha256"])


@needs_reference
def test_shipped_weighted_populations_are_the_published_files_they_name():
    # every shipped year: the recorded SHA-256 is its file's, and the shipped numbers are that file's
    for year in PRACTICE_YEARS:
        path = REFERENCE.parent / PUBLISHED_FILES[year]["name"]
        assert sha256_path(path) == PUBLISHED_FILES[year]["sha256"], year
        shipped = load_practices(year).set_index("practice_code")
        raw = read_weighted_populations(path).set_index("practice_code")
        assert raw.index.equals(shipped.index), year
        columns = ["population"] + [c for c in shipped.columns if c.startswith("wp_")]
        pd.testing.assert_frame_equal(raw[columns], shipped[columns], check_exact=True, obj=year)
