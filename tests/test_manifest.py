"""Run manifests and ``capitation reproduce``: bit-identical re-runs, and refusals when anything changed."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from capitation.cli import main
from capitation.errors import ModelFileError
from capitation.manifest import _canonical, read_manifest, reproduce
from conftest import make_membership, make_people
from test_cli import fake_generator  # noqa: F401 - a fixture


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A fit run and an allocate run from a saved model, each with a manifest."""
    folder = tmp_path_factory.mktemp("runs")
    people = make_people(600, seed=11)
    rng = np.random.default_rng(11)
    who = rng.choice(people["person_id"].to_numpy(), 200)
    pd.DataFrame({"person_id": who, "icd10": rng.choice(["I21.9", "J45X", "E119"], len(who))}).to_parquet(
        folder / "diagnoses.parquet", index=False)
    people.to_parquet(folder / "people.parquet", index=False)
    make_membership(people["practice_code"].unique()).to_csv(folder / "membership.csv", index=False)
    inputs = ["--people", str(folder / "people.parquet"), "--diagnoses", str(folder / "diagnoses.parquet")]
    assert main(["fit", *inputs, "--out", str(folder / "model" / "model.json"), "--cov-type", "HC1",
                 "--coefficients", str(folder / "coef" / "coef.csv"),
                 "--manifest", str(folder / "fit.json"), "--quiet"]) == 0
    assert main(["allocate", "--model", str(folder / "model" / "model.json"), *inputs, "--membership",
                 str(folder / "membership.csv"), "--control-total", "5000000", "--out", str(folder / "alloc"),
                 "--manifest", str(folder / "alloc.json"), "--quiet"]) == 0
    return folder


def _forge(path, edit):
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    document.pop("content_sha256")
    document["content_sha256"] = hashlib.sha256(_canonical(document)).hexdigest()
    path.write_text(json.dumps(document, sort_keys=True, indent=1), encoding="utf-8")


def test_manifest_records_inputs_parameters_outputs_and_versions(runs):
    m = read_manifest(runs / "alloc.json")
    assert m.command == "allocate" and m.parameters["control_total"] == "5000000"
    assert set(m.inputs) == {"model", "people", "diagnoses", "membership"}
    assert all(len(r["sha256"]) == 64 for r in m.inputs.values())
    assert [o["file"] for o in m.outputs] == ["practice_budgets.csv", "icb_budgets.csv"]
    assert {"capitation", "numpy", "numba", "python"} <= set(m.environment)
    assert "quiet" not in m.parameters and "manifest" not in m.parameters


@pytest.mark.parametrize("name", ["fit.json", "alloc.json"])
def test_reproduce_is_bit_identical_and_leaves_the_originals_alone(runs, name, capsys):
    before = {p: p.stat().st_mtime_ns for p in runs.rglob("*") if p.is_file()}
    result = reproduce(runs / name)
    assert result.identical, result.summary()
    assert result.outputs["identical"].all() and len(result.outputs) >= 2
    assert main(["reproduce", str(runs / name)]) == 0
    assert "bit-identical" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in runs.rglob("*") if p.is_file()} == before


def test_fit_manifest_covers_the_model_and_its_arrays(runs):
    files = [o["file"] for o in read_manifest(runs / "fit.json").outputs]
    assert files == ["coef.csv", "model.json", "model.npz"]


def test_a_changed_input_is_reported_and_exits_1(runs, tmp_path, capsys):
    copy = tmp_path / "alloc.json"
    copy.write_text((runs / "alloc.json").read_text())
    changed = tmp_path / "membership.csv"
    frame = pd.read_csv(runs / "membership.csv")
    frame.loc[0, "consortium_code"] = "Q99"
    frame.to_csv(changed, index=False)
    _forge(copy, lambda d: d["inputs"]["membership"].update(resolved=str(changed), path=str(changed)))
    result = reproduce(copy)
    assert not result.identical and "not re-run" in result.error
    assert result.inputs.set_index("parameter").loc["membership", "identical"] == np.False_
    assert main(["reproduce", str(copy)]) == 1
    assert "input changed: --membership" in capsys.readouterr().out


def test_a_different_output_is_listed(runs, tmp_path):
    copy = tmp_path / "alloc.json"
    copy.write_text((runs / "alloc.json").read_text())
    _forge(copy, lambda d: d["outputs"][1].update(sha256="0" * 64))
    result = reproduce(copy, workdir=tmp_path / "again")
    assert not result.identical
    assert result.outputs.set_index("file")["identical"].to_dict() == {"practice_budgets.csv": True,
                                                                       "icb_budgets.csv": False}
    assert (tmp_path / "again" / "out" / "alloc" / "icb_budgets.csv").exists()
    assert "DIFFERS icb_budgets.csv" in result.summary()


def test_an_edited_manifest_is_refused(runs, tmp_path, capsys):
    copy = tmp_path / "alloc.json"
    copy.write_text((runs / "alloc.json").read_text().replace('"5000000"', '"6000000"'))
    with pytest.raises(ModelFileError, match="content hash"):
        read_manifest(copy)
    assert main(["reproduce", str(copy)]) == 1
    assert "ModelFileError" in capsys.readouterr().err


def test_synth_runs_reproduce(fake_generator, tmp_path):  # noqa: F811 - the fixture imported above
    assert main(["synth", "--fraction", "0.05", "--practices", "A81001", "--out", str(tmp_path / "s"),
                 "--manifest", str(tmp_path / "s.json"), "--quiet"]) == 0
    result = reproduce(tmp_path / "s.json")
    assert result.identical, result.summary()
    assert len(result.outputs) == 5


@pytest.mark.slow
def test_synth_runs_reproduce_with_the_real_generator(tmp_path):
    assert main(["synth", "--fraction", "0.05", "--practices", "A81001", "--out", str(tmp_path / "s"),
                 "--manifest", str(tmp_path / "s.json"), "--quiet"]) == 0
    result = reproduce(tmp_path / "s.json")
    assert result.identical, result.summary()
