"""Saved models: JSON + .npz round trips give bit-identical scores; edited or mismatched files are refused."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import capitation as cp
from capitation.errors import InputError, ModelFileError
from capitation.features.icd10 import DiagnosisGrouping
from capitation.features.serialize import grouping_from_dict, grouping_to_dict, spec_from_dict, spec_to_dict
from capitation.persist import load_model, read_model_document, save_model, training_fingerprint
from conftest import make_people


def _diagnoses(people: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    who = rng.choice(people["person_id"].to_numpy(), 600)
    codes = rng.choice(["I21.9", "J45X", "E119", "N18.4", "C50.9", "F32.1", "I10X"], len(who))
    return pd.DataFrame({"person_id": who, "icd10": codes, "fy": rng.choice(["2023/24", "2024/25"], len(who))})


@pytest.fixture(scope="module")
def fitted():
    people = make_people(1_500, seed=3)
    diagnoses = _diagnoses(people)
    spec = cp.FeatureSpec(outcome_year="2025/26")
    X = cp.encode(spec, people, diagnoses=diagnoses)
    y = people["cost"] / people["exposure"]
    model = cp.CostModel(on_aliased="drop", cov_type="HC1", cap="p99.5").fit(X, y, sample_weight=people["exposure"])
    return model, X, people, diagnoses


@pytest.fixture
def saved(fitted, tmp_path):
    model, X, _, _ = fitted
    return save_model(model, tmp_path / "model.json", spec=X.spec)


def _rewrite(path, edit, *, rehash=False):
    """Edit the JSON document; with ``rehash`` recompute its content hash (a deliberate forgery)."""
    import hashlib

    from capitation.persist import _canonical

    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    if rehash:
        document.pop("content_sha256")
        document["content_sha256"] = hashlib.sha256(_canonical(document)).hexdigest()
    path.write_text(json.dumps(document, sort_keys=True, indent=1), encoding="utf-8")


def test_round_trip_scores_bit_identically(fitted, saved):
    model, X, _, _ = fitted
    loaded = load_model(saved)
    assert np.array_equal(cp.score(loaded, X), cp.score(model, X))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.result_.cov.to_numpy(), model.result_.cov.to_numpy())
    assert loaded.result_.cap == model.result_.cap and loaded.result_.cov_type == "HC1"
    assert loaded.result_.rsquared == model.result_.rsquared
    assert loaded.result_.empty == model.result_.empty
    assert loaded.get_params() == model.get_params()
    assert loaded.spec_ == X.spec and loaded.spec_.diagnosis_grouping is DiagnosisGrouping.default()
    assert loaded.provenance_["training_fingerprint"] == training_fingerprint(model.result_)
    # The loaded spec encodes new people onto the same columns.
    assert cp.encode(loaded.spec_, fitted[2], diagnoses=fitted[3]).column_names == X.column_names


def test_saving_twice_writes_the_same_bytes(fitted, tmp_path):
    model, X, _, _ = fitted
    a = save_model(model, tmp_path / "a" / "m.json", spec=X.spec, created="2025-04-01T00:00:00Z")
    b = save_model(model, tmp_path / "b" / "m.json", spec=X.spec, created="2025-04-01T00:00:00Z")
    assert a.read_bytes() == b.read_bytes()
    assert a.with_suffix(".npz").read_bytes() == b.with_suffix(".npz").read_bytes()


def test_document_records_what_the_issue_asks(saved, fitted):
    document = read_model_document(saved)
    assert document["format_version"] == 1 and document["library_version"] == cp.__version__
    assert document["spec"]["diagnosis_grouping"]["sha256"] == DiagnosisGrouping.default().sha256
    assert len(document["spec"]["diagnosis_grouping"]["ranges"]) == len(DiagnosisGrouping.default().ranges)
    assert document["columns"]["name"] == fitted[1].column_names
    assert document["fit"]["n"] == 1_500 and document["fit"]["cov_type"] == "HC1"
    assert set(document) >= {"created", "training_fingerprint", "arrays", "content_sha256", "estimator"}
    assert b"pickle" not in saved.with_suffix(".npz").read_bytes().lower()


def test_an_edited_coefficient_is_refused(saved):
    _rewrite(saved, lambda d: d["columns"]["coef"].__setitem__(0, d["columns"]["coef"][0] + 1.0))
    with pytest.raises(ModelFileError, match=r"model\.json.*content hash.*edited"):
        load_model(saved)


def test_a_forged_hash_is_still_caught_by_the_fingerprint(saved):
    _rewrite(saved, lambda d: d["columns"]["mean"].__setitem__(0, 0.5), rehash=True)
    with pytest.raises(ModelFileError, match="training fingerprint"):
        load_model(saved)


def test_an_edited_grouping_table_is_refused_even_with_a_forged_hash(saved):
    def edit(d):
        d["spec"]["diagnosis_grouping"]["ranges"][0][1] = d["spec"]["diagnosis_grouping"]["ranges"][0][0]
    _rewrite(saved, edit, rehash=True)
    with pytest.raises(ModelFileError, match=r"grouping.*edited"):
        load_model(saved)


def test_an_edited_or_swapped_npz_is_refused(saved, fitted, tmp_path):
    npz = saved.with_suffix(".npz")
    raw = bytearray(npz.read_bytes())
    raw[-40] ^= 1
    npz.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=r"model\.npz.*does not match.*edited"):
        load_model(saved)
    npz.unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_model(saved)


def test_other_format_versions_and_files_are_refused(saved, tmp_path):
    _rewrite(saved, lambda d: d.__setitem__("format_version", 99))
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(saved)
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="not a saved capitation model"):
        load_model(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not JSON"):
        load_model(tmp_path / "y.json")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "absent.json")


def test_a_design_with_other_columns_is_refused(saved, fitted):
    loaded = load_model(saved)
    other = cp.encode(cp.FeatureSpec(diagnosis_grouping=None), fitted[2])
    with pytest.raises(InputError, match="differ from the model"):
        cp.score(loaded, other)


def test_only_least_squares_models_are_saved(fitted, tmp_path):
    _, X, people, _ = fitted
    poisson = cp.CostModel(method="poisson").fit(X, people["cost"] / people["exposure"])
    with pytest.raises(ModelFileError, match=r"method=.poisson.*pickl"):
        save_model(poisson, tmp_path / "m.json")
    with pytest.raises(ModelFileError, match="not fitted"):
        save_model(cp.CostModel(), tmp_path / "m.json")
    with pytest.raises(ModelFileError, match=r"\.npz"):
        save_model(fitted[0], tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_a_model_fitted_on_an_array_round_trips_without_a_spec(tmp_path):
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    model = cp.CostModel().fit(X, [100.0, 300.0, 140.0, 260.0])
    loaded = load_model(save_model(model, tmp_path / "m.json"))
    assert loaded.spec_ is None and np.array_equal(loaded.predict(X), model.predict(X))


def test_spec_round_trip_with_every_kind_of_field():
    grouping = DiagnosisGrouping.from_frame(pd.DataFrame({
        "group": ["mi", "mi", "ckd45", "ckd3"], "code": ["I21", "I22", "N184", "N183"],
        "family": [None, None, "ckd", "ckd"], "severity_rank": [None, None, 1, 2]}))
    spec = cp.FeatureSpec(age_bands=(0, 18, 65), diagnosis_grouping=grouping, outcome_year="2025/26",
                          diagnosis_values="count", conditions=("DM", "chd"), need=("imd",), supply=("dist",),
                          fixed_effects=("icb",), levels=(("icb", ("Q1", "Q2")),), on_unseen="zero",
                          hierarchies=(("ckd45", "ckd3"),), interactions=(("a", "b"),))
    data = json.loads(json.dumps(spec_to_dict(spec)))  # through JSON text
    back = spec_from_dict(data)
    assert back == spec and back.diagnosis_grouping.sha256 == grouping.sha256
    assert back.diagnosis_grouping.families == grouping.families
    assert spec_from_dict(spec_to_dict(replace(spec, diagnosis_grouping=None))).diagnosis_grouping is None


def test_spec_dict_refuses_unknown_fields_and_versions():
    data = spec_to_dict(cp.FeatureSpec(diagnosis_grouping=None))
    with pytest.raises(ModelFileError, match="does not know"):
        spec_from_dict({**data, "new_field": 1})
    with pytest.raises(ModelFileError, match="layout version 2"):
        spec_from_dict({**data, "format": 2})
    with pytest.raises(ModelFileError, match="not valid"):
        spec_from_dict({**data, "lookback_years": 0})
    bad = grouping_to_dict(DiagnosisGrouping.default())
    bad["labels"][0] = "edited"
    with pytest.raises(ModelFileError, match="edited"):
        grouping_from_dict(bad)
