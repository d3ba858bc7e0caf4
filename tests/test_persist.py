"""Saved models: JSON + .npz round trips give bit-identical scores; edited or mismatched files are refused."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import capitation as cp
from capitation.errors import InputError, ModelFileError, OutputError
from capitation.features.icd10 import DiagnosisGrouping
from capitation.features.serialize import grouping_from_dict, grouping_to_dict, spec_from_dict, spec_to_dict
from capitation.model.persist import load_model, read_model_document, save_model, training_fingerprint
from helpers import make_people


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

    from capitation._io import _canonical

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


def test_document_records_versions_spec_columns_fit_and_hashes(saved, fitted):
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


# -- the .npz a model names stays in the model's folder ---------------------------------------------------

@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink"])
def test_an_arrays_path_escaping_the_models_folder_is_refused(fitted, tmp_path, case):
    model, X, _, _ = fitted
    saved = save_model(model, tmp_path / "m" / "model.json", spec=X.spec)
    outside = tmp_path / "model.npz"
    outside.write_bytes(saved.with_suffix(".npz").read_bytes())  # the same bytes: the sha256 would match
    if case == "symlink":
        saved.with_suffix(".npz").unlink()
        saved.with_suffix(".npz").symlink_to(outside)
        recorded = "model.npz"
    else:
        recorded = "../model.npz" if case == "dotdot" else str(outside)
        _rewrite(saved, lambda d: d["arrays"].update(file=recorded), rehash=True)
    with pytest.raises(ModelFileError) as info:
        load_model(saved)
    message = str(info.value)
    assert "'arrays.file'" in message and repr(recorded) in message and str(saved) in message
    assert "Fix:" in message and ("outside" in message or "absolute" in message)


# -- strict JSON, checked fields, checked arrays -------------------------------------------------------------

@pytest.mark.parametrize("token, said", [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
                                         ("1e999", "1e999")])
def test_a_non_finite_number_in_the_document_is_refused(saved, token, said):
    text = saved.read_text(encoding="utf-8")
    document = json.loads(text)
    first = repr(document["columns"]["coef"][0])
    saved.write_text(text.replace(first, token, 1), encoding="utf-8")
    with pytest.raises(ModelFileError, match=rf"model\.json.*not JSON.*{re.escape(said)}.*Fix:"):
        load_model(saved)


@pytest.mark.parametrize("field, edit, said", [
    ("'columns.coef[0]'", lambda d: d["columns"]["coef"].__setitem__(0, None), "None"),
    ("'columns.coef[1]'", lambda d: d["columns"]["coef"].__setitem__(1, "12.5"), "'12.5'"),
    ("'columns.coef'", lambda d: d["columns"]["coef"].pop(), "a list of"),
    ("'fit.n'", lambda d: d["fit"].__setitem__("n", 1.5), "1.5"),
    ("'fit.sum_weights'", lambda d: d["fit"].__setitem__("sum_weights", 10**400), "1000"),
    ("'fit.cov_columns'", lambda d: d["fit"].__setitem__("cov_columns", ["nope"]), "['nope']"),
    ("'arrays.names'", lambda d: d["arrays"].__setitem__("names", ["cov", "extra"]), "['cov', 'extra']"),
    ("'arrays.file'", lambda d: d["arrays"].__setitem__("file", 7), "not a str"),
    ("'fit'", lambda d: d.pop("fit"), "lacks"),
])
def test_a_field_of_the_wrong_type_is_refused_even_with_a_forged_hash(saved, field, edit, said):
    _rewrite(saved, edit, rehash=True)
    with pytest.raises(ModelFileError) as info:
        load_model(saved)
    message = str(info.value)
    assert field in message and said in message and "Fix:" in message


def _npy(descr: str, shape, payload: bytes = b"") -> bytes:
    """An .npy member written by hand (never pickling): any header, any payload."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def _forge_npz(saved, members: dict[str, bytes] | bytes):
    """Replace the .npz and rehash the document so that only the arrays' own checks stand."""
    import hashlib
    import io
    import zipfile

    if isinstance(members, bytes):
        raw = members
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        raw = buffer.getvalue()
    saved.with_suffix(".npz").write_bytes(raw)
    _rewrite(saved, lambda d: d["arrays"].update(sha256=hashlib.sha256(raw).hexdigest()), rehash=True)


@pytest.mark.parametrize("case, said", [
    ("object", "object"), ("float32", "float32"), ("shape", "(2, 2)"), ("huge", "(100000, 100000)"),
    ("extra member", "['cov.npy', 'evil.npy']"), ("not a zip", "not a readable .npz"),
    ("truncated data", "not a readable .npz"),
])
def test_arrays_that_are_not_plain_float64_of_the_recorded_shape_are_refused(saved, case, said):
    k = len(read_model_document(saved)["fit"]["cov_columns"])
    members = {
        "object": {"cov.npy": _npy("|O", (k, k), b"\x80\x04junk")},
        "float32": {"cov.npy": _npy("<f4", (k, k), b"\0" * 4 * k * k)},
        "shape": {"cov.npy": _npy("<f8", (2, 2), b"\0" * 32)},
        "huge": {"cov.npy": _npy("<f8", (100_000, 100_000))},
        "extra member": {"cov.npy": _npy("<f8", (k, k), b"\0" * 8 * k * k), "evil.npy": b""},
        "not a zip": b"PK\x03\x04 this is no archive",
        "truncated data": {"cov.npy": _npy("<f8", (k, k), b"\0" * 8)},
    }[case]
    _forge_npz(saved, members)
    with pytest.raises(ModelFileError) as info:
        load_model(saved)
    message = str(info.value)
    assert said in message and "model.npz" in message and "Fix:" in message


@pytest.mark.parametrize("content", [b"", b'{"format": "capitation.CostModel", "format_v', b"\xff\xfe\x00garbage\x9c",
                                     b"[" * 100_000])
def test_truncated_or_garbage_json_is_refused(tmp_path, content):
    (tmp_path / "model.json").write_bytes(content)
    with pytest.raises(ModelFileError, match=r"model\.json.*not JSON.*Fix:"):
        load_model(tmp_path / "model.json")


def test_a_model_path_that_is_missing_a_folder_or_not_a_path_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match=r"absent\.json.*does not exist.*Fix:"):
        load_model(tmp_path / "absent.json")
    with pytest.raises(ModelFileError, match=r"'path'.*is a folder.*Fix:"):
        load_model(tmp_path)
    with pytest.raises(ModelFileError, match=r"'path'.*NoneType.*Fix:"):
        load_model(None)


# -- saving: destinations checked first, a constant outcome, non-finite estimates --------------------------

def test_save_checks_both_destinations_before_writing_either(fitted, tmp_path):
    model, X, _, _ = fitted
    (tmp_path / "model.json").mkdir()  # a folder where the document must go
    with pytest.raises(OutputError, match=r"'path'.*model\.json.*is a folder.*Fix:"):
        save_model(model, tmp_path / "model.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"], "the .npz was written alone"
    (tmp_path / "model.json").rmdir()
    (tmp_path / "model.npz").mkdir()  # a folder where the arrays must go
    with pytest.raises(OutputError, match=r"model\.npz.*is a folder.*Fix:"):
        save_model(model, tmp_path / "model.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"], "the .json was written alone"
    (tmp_path / "blocker").write_text("a file")
    with pytest.raises(OutputError, match=r"'path'.*blocker.*is a file.*Fix:"):
        save_model(model, tmp_path / "blocker" / "m.json")
    with pytest.raises(OutputError, match=r"'path'.*is a folder.*Fix:"):
        save_model(model, tmp_path / "model.npz" / "..")
    deep = save_model(model, tmp_path / "new" / "deeper" / "m.json", spec=X.spec)  # missing folders are made
    assert deep.is_file() and deep.with_suffix(".npz").is_file()


def test_a_model_with_a_non_finite_coefficient_is_not_saved(fitted, tmp_path):
    model = fitted[0]
    broken = cp.CostModel(**model.get_params())
    params = model.result_.params.copy()
    params.iloc[2] = np.nan
    broken.result_ = replace(model.result_, params=params)
    with pytest.raises(ModelFileError, match=rf"1 coefficient\(s\) are not finite \({re.escape(repr(params.index[2]))}"
                                             r" = nan\).*Fix:"):
        save_model(broken, tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("outcome", ["zero", "constant"])
def test_a_constant_outcome_saves_strict_json_and_loads_consistently(tmp_path, outcome):
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    y = np.zeros(5) if outcome == "zero" else np.full(5, 250.0)
    model = cp.CostModel().fit(X, y)
    model.result_ = replace(model.result_, centered_tss=0.0)  # what a constant outcome gives, exactly
    saved = save_model(model, tmp_path / "m.json")
    text = saved.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    fit = json.loads(text)["fit"]
    assert fit["rsquared"] is None and fit["rsquared_note"] == "undefined: the outcome is constant"
    loaded = load_model(saved)

    def r2(m):
        try:
            value = m.result_.rsquared
        except ZeroDivisionError:  # until FitResult.rsquared itself says "undefined"
            return "undefined"
        return "undefined" if value is None or not np.isfinite(value) else value

    assert r2(loaded) == r2(model) == "undefined"
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_a_defined_rsquared_is_written_as_a_number_without_a_note(saved, fitted):
    fit = read_model_document(saved)["fit"]
    assert fit["rsquared"] == fitted[0].result_.rsquared and "rsquared_note" not in fit


# -- the user's umask ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_saved_files_get_the_users_umask(fitted, tmp_path, umask, mode):
    import os
    import stat

    from capitation._io import write_table

    model, X, _, _ = fitted
    old = os.umask(umask)
    try:
        saved = save_model(model, tmp_path / "m.json", spec=X.spec)
        tables = [write_table(pd.DataFrame({"a": [1]}), tmp_path / f"t.{s}") for s in ("csv", "parquet")]
    finally:
        os.umask(old)
    for path in (saved, saved.with_suffix(".npz"), *tables):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name


def test_write_table_refuses_a_folder_or_a_file_in_the_way_and_makes_missing_folders(tmp_path):
    from capitation._io import write_table

    frame = pd.DataFrame({"a": [1]})
    (tmp_path / "t.csv").mkdir()
    with pytest.raises(OutputError, match=r"'path'.*t\.csv.*is a folder.*Fix:"):
        write_table(frame, tmp_path / "t.csv")
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"'path'.*'.*f' is a file.*Fix:"):
        write_table(frame, tmp_path / "f" / "t.csv")
    assert write_table(frame, tmp_path / "a" / "b" / "t.parquet").is_file()
    with pytest.raises(InputError, match=r"'frame'.*list.*Fix:"):
        write_table([1, 2], tmp_path / "x.csv")


# -- one path: save_model / load_model, fitted state set by the class's _set_fitted ---------------------------

def test_a_loaded_model_has_every_fitted_attribute_of_the_fitted_one(fitted, saved):
    model = fitted[0]
    loaded = load_model(saved)
    names = {n for n in vars(model) if n.endswith("_") and not n.startswith("_")}
    assert {n for n in vars(loaded) if n.endswith("_") and not n.startswith("_")} == names
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert loaded.n_features_in_ == model.n_features_in_ and loaded.cap_ == model.cap_ == model.result_.cap
    pd.testing.assert_series_equal(loaded.column_means_, model.column_means_)
    assert loaded.roles_.tolist() == model.roles_.tolist() and loaded.estimator_ is model.estimator_ is None
    assert loaded.stats_ is None and model.stats_ is not None  # a file holds no statistics
    assert loaded.provenance_["path"] == str(saved) and model.provenance_ is None


def test_the_methods_save_and_load_are_the_functions(fitted, tmp_path):
    model, X, _, _ = fitted
    path = model.save(tmp_path / "m.json", spec=X.spec, created="2025-04-01T00:00:00Z")
    again = save_model(model, tmp_path / "f" / "m.json", spec=X.spec, created="2025-04-01T00:00:00Z")
    assert path.read_bytes() == again.read_bytes()
    assert np.array_equal(cp.CostModel.load(path).predict(X), load_model(again).predict(X))


def test_a_subclass_loads_as_itself(fitted, saved):
    class Mine(cp.CostModel):
        pass

    assert type(Mine.load(saved)) is Mine and type(load_model(saved, cls=Mine)) is Mine
    assert type(load_model(saved)) is cp.CostModel


def test_an_unknown_estimator_class_is_refused(saved):
    _rewrite(saved, lambda d: d["estimator"].__setitem__("class", "LassoModel"), rehash=True)
    with pytest.raises(ModelFileError, match=r"estimator class 'LassoModel'.*Fix:"):
        load_model(saved)


def test_the_old_persist_module_is_a_deprecated_alias():
    import importlib
    import sys

    import capitation._io as io
    import capitation.model.persist as persist

    sys.modules.pop("capitation.persist", None)
    with pytest.warns(DeprecationWarning, match=r"capitation\.persist is deprecated.*capitation\.model\.persist"):
        old = importlib.import_module("capitation.persist")
    for name in ("FORMAT_VERSION", "load_model", "read_model_document", "save_model", "training_fingerprint"):
        assert getattr(old, name) is getattr(persist, name)
    for name in ("read_table", "write_table", "sha256_path", "read_hashed_document", "_canonical"):
        assert getattr(old, name) is getattr(io, name)
