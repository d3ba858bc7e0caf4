"""Every result shares one base: to_frame() copies, a one-line repr, escaped notebook HTML and provenance."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from capitation import CostModel, FeatureSpec, Membership, Population, aggregate, allocate, encode, score
from capitation._results import Provenance, Result
from capitation._version import __version__
from capitation.allocation import (
    BudgetRisk,
    budget_risk,
    compare_geography,
    explain_budgets,
    pace_of_change,
    place_indices,
    project_pace,
)
from capitation.model import compare_models, split_people, validate
from capitation.model.results import spec_sha256
from capitation.report import suppress_small_numbers
from helpers import make_membership, make_people

SPEC = FeatureSpec(diagnosis_grouping=None, age_bands=(0, 45, 75))


@pytest.fixture(scope="module")
def made():
    people = make_people(3_000, n_practices=12, seed=4)
    pop = Population.from_frame(people)
    membership = Membership.from_frame(make_membership(people["practice_code"].unique(), n_groups=3))
    X = encode(SPEC, pop)
    y = pop.cost / pop.exposure
    model = CostModel().fit(X, y, sample_weight=pop.exposure)
    need = score(model, X)
    agg = aggregate(pop, need, membership=membership)
    alloc = allocate(agg, 1_000_000, membership=membership)
    fit_rows, valid_rows = split_people(pop.n_people, 0.5, seed=1)
    base = pd.Series(300_000.0, index=alloc.consortia.index)
    frame = pd.DataFrame({"practice_code": ["A1", "A2", "A3"], "icb_code": ["Q1"] * 3,
                          "population": [100.0, 100.0, 100.0], "wp_core_final": [150.0, 75.0, 75.0]})
    table = pd.DataFrame({"registered": [12_000, 400], "deaths": [3, 9]}, index=["A81001", "A81002"])
    lsoas = sorted(set(pop.lsoa_code))
    home = pd.Series([alloc.consortia.index[k % 3] for k in range(len(lsoas))], index=lsoas)
    return {
        "FitResult": model.result_,
        "ValidationResult": validate(model.predict(X), y, pop.exposure, practice_code=pop.practice_code),
        "ModelComparison": compare_models(X, y, pop.exposure, practice_code=pop.practice_code, fit_rows=fit_rows,
                                          validation_rows=valid_rows, methods=("ols",)),
        "Aggregation": agg,
        "Allocation": alloc,
        "BudgetRisk": budget_risk(need, pop.practice_code, residuals=y - model.predict(X), n_resamples=5),
        "BudgetExplanation": explain_budgets(alloc, model, X, pop.practice_code),
        "PaceResult": pace_of_change(base, alloc, 1_020_000),
        "PaceProjection": project_pace(base, alloc, [1_020_000, 1_040_000]),
        "PlaceIndices": place_indices(frame, {"east": ["A1"], "west": ["A2", "A3"]}, components=["core"]),
        "GeographyComparison": compare_geography(pop, need, 1_000_000, membership=membership, area_of_lsoa=home),
        "SuppressedTable": suppress_small_numbers(table, counts=["deaths"]),
        "X": X,
    }


RESULTS = ["FitResult", "ValidationResult", "ModelComparison", "Aggregation", "Allocation", "BudgetRisk",
           "BudgetExplanation", "PaceResult", "PaceProjection", "PlaceIndices", "GeographyComparison",
           "SuppressedTable"]


def _edit(frame: pd.DataFrame) -> None:
    """Change the frame in place: its first numeric value, and a new column."""
    numeric = [j for j, dtype in enumerate(frame.dtypes) if dtype.kind in "iuf"]
    assert numeric, "a result table has numbers"
    frame.iloc[0, numeric[0]] += 1
    frame["edited"] = 1


@pytest.mark.parametrize("name", RESULTS)
def test_to_frame_is_a_copy(made, name):
    result = made[name]
    assert isinstance(result, Result) and type(result).__name__ == name
    before = result.to_frame()
    _edit(result.to_frame())
    pd.testing.assert_frame_equal(result.to_frame(), before)
    shown = result._frame()
    assert "edited" not in shown.columns


@pytest.mark.parametrize("name", RESULTS)
def test_repr_is_one_line_and_html_holds_the_headline(made, name):
    result = made[name]
    text = repr(result)
    assert "\n" not in text and text.startswith(f"{name}(")
    headline = result.summary().splitlines()[0]
    page = result._repr_html_()
    assert page.startswith("<div") and html.escape(headline) in page
    assert "<table" in page and len(page) < 20_000  # small: the first rows only


@pytest.mark.parametrize("name", RESULTS)
def test_provenance_has_the_library_version(made, name):
    provenance = made[name].provenance
    assert isinstance(provenance, Provenance)
    assert provenance.library_version == __version__
    assert provenance.as_dict()["library_version"] == __version__
    assert __version__ in made[name]._repr_html_()


def test_results_made_from_a_design_carry_its_spec_hash(made):
    expected = spec_sha256(made["X"].spec)
    assert len(expected) == 64 and int(expected, 16) >= 0
    for name in ("BudgetExplanation", "ModelComparison"):
        assert made[name].provenance.spec_sha256 == expected, name
    assert made["ValidationResult"].provenance.spec_sha256 is None  # predictions carry no spec
    other = FeatureSpec(diagnosis_grouping=None, age_bands=(0, 65))
    assert spec_sha256(other) != spec_sha256(SPEC) and spec_sha256(None) is None


def test_html_is_escaped():
    result = validate(np.array([50.0, 100.0]), np.array([0.0, 100.0]), practice_code=["<b>A</b>", "B"],
                      label="<script>alert(1)</script>")
    page = result._repr_html_()
    assert "<script>" not in page and "<b>A</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_long_tables_show_their_first_rows_only():
    risk = budget_risk(np.full(60, 500.0), [f"P{k:02d}" for k in range(30)] * 2, variance=1.0, n_resamples=0)
    page = risk._repr_html_()
    assert "first 10 of 30 rows" in page
    assert "P09" in page and "P10" not in page


def test_rescaled_risk_keeps_the_provenance(made):
    risk: BudgetRisk = made["BudgetRisk"]
    tagged = BudgetRisk(risk.table, risk.cv_person, risk.parameters, provenance=Provenance(spec_sha256="ab" * 32))
    assert tagged.rescaled(risk.table["people"] * 10).provenance is tagged.provenance


def test_a_fitted_models_result_records_the_hash_of_its_spec():
    import capitation as cp
    from capitation.model.results import spec_sha256

    people = cp.Population.from_frame(make_people(300, n_practices=3, seed=2))
    X = cp.encode(cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 40, 80)), people)
    model = cp.CostModel().fit(X, people.cost / people.exposure, sample_weight=people.exposure)
    assert model.result_.provenance.spec_sha256 == spec_sha256(X.spec) is not None


def test_the_coefficient_table_has_a_named_index_so_its_csv_has_no_blank_header(tmp_path):
    import capitation as cp

    people = cp.Population.from_frame(make_people(300, n_practices=3, seed=2))
    X = cp.encode(cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 40, 80)), people)
    model = cp.CostModel().fit(X, people.cost / people.exposure, sample_weight=people.exposure)
    model.result_.to_frame().to_csv(tmp_path / "coefficients.csv")
    assert (tmp_path / "coefficients.csv").read_text().splitlines()[0].startswith("column,coef,")
