"""Run manifests and ``capitation reproduce``: bit-identical re-runs, and refusals when anything changed."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from capitation._io import _canonical
from capitation.cli import main
from capitation.cli.manifest import PATH_OPTIONS, check_run_folder, read_manifest, record_run, reproduce
from capitation.errors import ModelFileError, OutputError
from helpers import make_membership, make_people
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


def _copy(runs, tmp_path):
    """The run folder copied whole: a manifest records paths relative to its folder, so the copy reproduces."""
    shutil.copytree(runs, tmp_path / "runs")
    return tmp_path / "runs"


def test_a_changed_input_is_reported_and_exits_1(runs, tmp_path, capsys):
    copy = _copy(runs, tmp_path)
    frame = pd.read_csv(copy / "membership.csv")
    frame.loc[0, "consortium_code"] = "Q99"
    frame.to_csv(copy / "membership.csv", index=False)
    result = reproduce(copy / "alloc.json")
    assert not result.identical and "not re-run" in result.error
    assert result.inputs.set_index("parameter").loc["membership", "identical"] == np.False_
    assert main(["reproduce", str(copy / "alloc.json")]) == 1
    assert "input changed: --membership" in capsys.readouterr().out


def test_a_different_output_is_listed(runs, tmp_path):
    copy = _copy(runs, tmp_path)
    _forge(copy / "alloc.json", lambda d: d["outputs"][1].update(sha256="0" * 64))
    result = reproduce(copy / "alloc.json", workdir=tmp_path / "again")
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
    assert "content hash" in capsys.readouterr().err


# -- nothing read or written outside the manifest's folder ----------------------------------------------

def test_a_manifest_records_only_paths_relative_to_its_folder_and_reproduces_when_moved(runs, tmp_path):
    for name in ("fit.json", "alloc.json"):
        text = (runs / name).read_text()
        assert str(runs) not in text and str(runs.resolve()) not in text, "an absolute path was recorded"
        m = read_manifest(runs / name)
        assert all(not r["path"].startswith("/") and ".." not in r["path"] for r in m.inputs.values())
        assert m.parameters["out"] in ("model/model.json", "alloc")
    moved = _copy(runs, tmp_path)
    assert reproduce(moved / "alloc.json").identical


def _escape(copy, case):
    """Forge the copied allocate manifest so that one recorded path leads out of its folder."""
    outside = copy.parent / "outside"
    outside.mkdir(exist_ok=True)
    shutil.copy(copy / "membership.csv", outside / "membership.csv")  # same bytes: the hash would match
    if case == "input-dotdot":
        _forge(copy / "alloc.json", lambda d: (d["inputs"]["membership"].update(path="../outside/membership.csv"),
                                               d["parameters"].update(membership="../outside/membership.csv")))
        return "inputs['membership'].path", "../outside/membership.csv"
    if case == "input-absolute":
        target = str(outside / "membership.csv")
        _forge(copy / "alloc.json", lambda d: (d["inputs"]["membership"].update(path=target),
                                               d["parameters"].update(membership=target)))
        return "inputs['membership'].path", target
    if case == "input-symlink":
        (copy / "membership.csv").unlink()
        (copy / "membership.csv").symlink_to(outside / "membership.csv")
        return "inputs['membership'].path", "membership.csv"
    if case == "output-dotdot":
        _forge(copy / "alloc.json", lambda d: d["outputs"][0].update(file="../../../outside/practice_budgets.csv"))
        return "outputs[0].file", "../../../outside/practice_budgets.csv"
    if case == "output-parameter-absolute":
        target = str(outside / "alloc")
        _forge(copy / "alloc.json", lambda d: d["parameters"].update(out=target))
        return "parameters['out']", target
    if case == "fit-coefficients-unlisted":  # a path parameter the outputs do not list is still contained
        target = str(outside / "coef.csv")
        _forge(copy / "fit.json", lambda d: d["parameters"].update(coefficients=target))
        return "parameters['coefficients']", target
    raise AssertionError(case)


ESCAPES = ["input-dotdot", "input-absolute", "input-symlink", "output-dotdot", "output-parameter-absolute",
           "fit-coefficients-unlisted"]


@pytest.mark.parametrize("case", ESCAPES)
def test_a_manifest_whose_paths_escape_its_folder_is_refused(runs, tmp_path, case, capsys):
    copy = _copy(runs, tmp_path)
    field, path = _escape(copy, case)
    manifest = copy / ("fit.json" if case.startswith("fit") else "alloc.json")
    with pytest.raises(ModelFileError) as info:
        reproduce(manifest, workdir=tmp_path / "work")
    message = str(info.value)
    assert field in message and repr(path) in message and str(manifest) in message and "Fix:" in message
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["membership.csv"], "written outside"
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())
    assert main(["reproduce", str(manifest)]) == 1
    assert "bit-identical" not in capsys.readouterr().out


def test_every_output_option_of_a_rerun_goes_to_the_work_folder_even_if_no_output_lists_it(runs, tmp_path):
    copy = _copy(runs, tmp_path)
    _forge(copy / "fit.json", lambda d: (d["parameters"].update(coefficients="stray/coef.csv"),
                                         d["outputs"].__setitem__(slice(None), [o for o in d["outputs"]
                                                                                if o["parameter"] == "out"])))
    result = reproduce(copy / "fit.json", workdir=tmp_path / "work")
    assert result.identical, result.summary()
    assert not (copy / "stray").exists(), "the re-run wrote into the recorded run's folder"
    assert (tmp_path / "work" / "coefficients" / "coef.csv").is_file()


def test_a_symlink_inside_an_input_folder_that_leads_out_is_refused(tmp_path):
    folder = tmp_path / "run"
    (folder / "people").mkdir(parents=True)
    make_people(50, seed=2).to_parquet(folder / "people" / "part-0.parquet")
    (tmp_path / "secret.parquet").write_bytes((folder / "people" / "part-0.parquet").read_bytes())
    args = argparse.Namespace(people=str(folder / "people"), out=str(folder / "need.csv"), model=None)
    with pytest.raises(OutputError, match=r"--people.*outside the folder of the manifest.*Fix:"):
        check_run_folder(folder / "run.json", inputs={"people": tmp_path / "secret.parquet"}, outputs={})
    manifest = record_run("score", args, inputs={"people": folder / "people"}, outputs={}, root=folder)
    manifest.write(folder / "run.json")
    (folder / "people" / "part-1.parquet").symlink_to(tmp_path / "secret.parquet")
    with pytest.raises(OutputError, match=r"part-1\.parquet.*secret\.parquet.*outside"):
        check_run_folder(folder / "run.json", inputs={"people": folder / "people"}, outputs={})
    with pytest.raises(ModelFileError, match=r"inputs\['people'\].*part-1\.parquet.*outside.*Fix:"):
        reproduce(folder / "run.json")
    with pytest.raises(OutputError, match=r"--people.*part-1\.parquet.*outside.*Fix:"):
        record_run("score", args, inputs={"people": folder / "people"}, outputs={}, root=folder)


def test_a_run_with_inputs_outside_the_manifest_folder_gets_no_manifest(tmp_path):
    (tmp_path / "data").mkdir()
    need = tmp_path / "data" / "need.csv"
    need.write_text("practice_code,need,registered\nA81001,1.0,10\n")
    args = argparse.Namespace(need=str(need), out=str(tmp_path / "runs" / "out"),
                              manifest=str(tmp_path / "runs" / "m.json"))
    with pytest.raises(OutputError) as info:
        record_run("allocate", args, inputs={"need": need}, outputs={})
    assert "--need" in str(info.value) and str(need) in str(info.value) and repr(str(tmp_path)) in str(info.value)
    with pytest.raises(OutputError, match="--need"):
        check_run_folder(args.manifest, inputs={"need": need}, outputs={"out": args.out})
    assert check_run_folder(tmp_path / "m.json", inputs={"need": need}, outputs={"out": args.out}) == tmp_path.resolve()


def test_the_command_refuses_a_manifest_that_could_not_hold_its_inputs_before_any_work(runs, tmp_path, capsys):
    """fit/score/allocate check the manifest's folder with the outputs, not in record_run after the work."""
    model = tmp_path / "runs" / "model.json"
    argv = ["fit", "--people", str(runs / "people.parquet"), "--no-diagnoses", "--out", str(model),
            "--manifest", str(tmp_path / "runs" / "fit.json"), "--quiet"]
    assert main(argv) == 1
    line = capsys.readouterr().err
    assert line.count("\n") == 1 and "--people" in line and "people.parquet" in line
    assert not model.exists()  # refused before the fit, so nothing was written


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(command="plot"), "command 'plot'"),
    (lambda d: d.update(command="../../evil"), "command '../../evil'"),
    (lambda d: d["parameters"].update(run="x"), "parameters ['run']"),
    (lambda d: d["parameters"].update(manifest="x.json"), "parameters ['manifest']"),
    (lambda d: d["parameters"].update(launch_rockets=True), "parameters ['launch_rockets']"),
    (lambda d: d["inputs"].pop("membership"), "['membership'] but records no input"),
    (lambda d: d["inputs"].update(out={"path": "alloc", "sha256": "0" * 64}), "input 'out'"),
    (lambda d: d["outputs"].append({"parameter": "membership", "file": "x.csv", "root": "parent",
                                    "sha256": "0" * 64}), "outputs[2]"),
    (lambda d: d["inputs"]["membership"].update(path=None), "inputs['membership'].path"),
])
def test_a_manifest_naming_what_its_command_does_not_have_is_refused(runs, tmp_path, edit, message):
    copy = _copy(runs, tmp_path)
    _forge(copy / "alloc.json", edit)
    with pytest.raises(ModelFileError) as info:
        reproduce(copy / "alloc.json")
    assert message in str(info.value) and "Fix:" in str(info.value)


def test_a_kept_work_folder_must_be_new_or_empty(runs, tmp_path, capsys):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "old.csv").write_text("a\n")
    with pytest.raises(OutputError, match=r"'workdir'.*busy.*not empty.*Fix:"):
        reproduce(runs / "alloc.json", workdir=tmp_path / "busy")
    (tmp_path / "file").write_text("x")
    assert main(["reproduce", str(runs / "alloc.json"), "--keep", str(tmp_path / "file")]) == 1
    assert "--keep" in capsys.readouterr().err


def test_path_options_name_real_options_and_match_the_commands_inputs():
    import importlib

    from capitation.cli.manifest import _options_of

    for command, options in PATH_OPTIONS.items():
        known = _options_of(command)
        assert set(options["inputs"]) | set(options["outputs"]) <= known, command
        declared = getattr(importlib.import_module(f"capitation.cli.{command}"), "INPUTS", None)
        if declared is not None:  # the command's own list of input options, where it declares one
            assert set(declared) == set(options["inputs"]), command


def test_a_manifest_is_written_only_in_the_folder_its_paths_are_relative_to(tmp_path):
    args = argparse.Namespace(out=str(tmp_path / "s"), fraction=0.1)
    (tmp_path / "s").mkdir()
    manifest = record_run("synth", args, inputs={}, outputs={"out": []}, root=tmp_path)
    with pytest.raises(OutputError, match=r"relative to.*Fix:"):
        manifest.write(tmp_path / "elsewhere" / "m.json")
    with pytest.raises(OutputError, match=r"is a folder"):
        manifest.write(tmp_path / "s")
    assert manifest.write(tmp_path / "m.json").is_file()


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


def test_a_manifest_of_the_old_layout_with_absolute_paths_is_refused_by_its_version(runs, tmp_path):
    copy = _copy(runs, tmp_path)
    _forge(copy / "alloc.json", lambda d: d.update(format_version=1))
    with pytest.raises(ModelFileError, match=r"format version 1.*reads format 2.*Fix: .*record the run again"):
        reproduce(copy / "alloc.json")


def test_the_old_module_path_still_works_and_warns(monkeypatch):
    """Manifests moved to capitation.cli.manifest; capitation.manifest hands on every name, with a warning."""
    import importlib
    import sys

    import capitation.cli.manifest as moved

    monkeypatch.delitem(sys.modules, "capitation.manifest", raising=False)
    with pytest.warns(DeprecationWarning, match=r"capitation\.cli\.manifest"):
        old = importlib.import_module("capitation.manifest")
    assert old.__all__ == moved.__all__
    for name in [*moved.__all__, "environment", "_options_of", "_checked"]:
        assert getattr(old, name) is getattr(moved, name), name
    with pytest.raises(AttributeError, match="no_such_name"):
        old.no_such_name  # noqa: B018 - the attribute access is the test
