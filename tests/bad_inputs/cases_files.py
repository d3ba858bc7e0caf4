"""Bad inputs of one class — files: paths that escape their folder, output destinations, broken model files.

Model files and manifests are forged with their content hash recomputed, so each case reaches the check it is
about rather than stopping at the hash.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import zipfile

import numpy as np
import pandas as pd

from capitation.errors import ModelFileError, OutputError

from .catalogue import FIX, Case, fitted, saved_model


def _rehash(path, edit):
    """Edit a hashed JSON document (model or manifest) and recompute its content hash: a deliberate forgery."""
    from capitation._io import _canonical

    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    document.pop("content_sha256", None)
    document["content_sha256"] = hashlib.sha256(_canonical(document)).hexdigest()
    path.write_text(json.dumps(document, sort_keys=True, indent=1), encoding="utf-8")
    return path


def _load(path):
    from capitation.model.persist import load_model

    return load_model(path)


def _replace_text(path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _truncate(path, size: int):
    path.write_bytes(path.read_bytes()[:size])
    return path


def _bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def _npz_bytes(tmp, raw: bytes):
    """A saved model whose .npz is replaced by ``raw``, its sha256 recorded so that only the format check stands."""
    path = saved_model(tmp)
    path.with_suffix(".npz").write_bytes(raw)
    return _load(_rehash(path, lambda d: d["arrays"].update(sha256=hashlib.sha256(raw).hexdigest())))


def _first_coef(path) -> str:
    return repr(json.loads(path.read_text(encoding="utf-8"))["columns"]["coef"][0])


def _nan_token(tmp, token: str):
    path = saved_model(tmp)
    return _load(_replace_text(path, _first_coef(path), token))


def _npy(descr: str, shape, payload: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def _forged_npz(tmp, descr: str, shape=None, payload: bytes = b""):
    """A saved model whose .npz holds one hand-written member (never pickled), the hashes made to match."""
    path = saved_model(tmp)
    k = len(json.loads(path.read_text(encoding="utf-8"))["fit"]["cov_columns"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cov.npy", _npy(descr, (k, k) if shape is None else shape, payload))
    raw = buffer.getvalue()
    path.with_suffix(".npz").write_bytes(raw)
    _rehash(path, lambda d: d["arrays"].update(sha256=hashlib.sha256(raw).hexdigest()))
    return _load(path)


def _npz_escape(tmp, how: str):
    """The model in tmp/m; an identical .npz outside it, named by the document or reached by a symlink."""
    from capitation.model.persist import save_model

    _, X, model = fitted()
    path = save_model(model, tmp / "m" / "model.json", spec=X.spec)
    outside = tmp / "model.npz"
    outside.write_bytes(path.with_suffix(".npz").read_bytes())
    if how == "symlink":
        path.with_suffix(".npz").unlink()
        path.with_suffix(".npz").symlink_to(outside)
    else:
        recorded = "../model.npz" if how == "dotdot" else str(outside)
        _rehash(path, lambda d: d["arrays"].update(file=recorded))
    return _load(path)


def _save(target):
    from capitation.model.persist import save_model

    return save_model(fitted()[2], target)


def _save_non_finite(tmp):
    from dataclasses import replace

    from capitation import CostModel

    model = fitted()[2]
    broken = CostModel(**model.get_params())
    params = model.result_.params.copy()
    params.iloc[1] = np.inf
    broken.result_ = replace(model.result_, params=params)
    from capitation.model.persist import save_model

    return save_model(broken, tmp / "m.json")


def _write_table(target):
    from capitation._io import write_table

    return write_table(pd.DataFrame({"a": [1]}), target)


def _folder(tmp, name: str):
    (tmp / name).mkdir(parents=True, exist_ok=True)
    return tmp / name


def _file(tmp, name: str):
    (tmp / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp / name).write_text("in the way\n")
    return tmp / name


def _check_output(path, **kwargs):
    from capitation._io import check_output

    return check_output(path, name="out", **kwargs)


def _manifest(tmp):
    """A recorded allocate run (need table in, a budgets folder out) in tmp/run, without running it."""
    from capitation.cli.manifest import record_run

    run = tmp / "run"
    (run / "out").mkdir(parents=True, exist_ok=True)
    (run / "need.csv").write_text("practice_code,need,registered\nB00001,1.0,10\n")
    (run / "out" / "practice_budgets.csv").write_text("practice_code,budget\nB00001,1.00\n")
    args = argparse.Namespace(need=str(run / "need.csv"), model=None, people=None, diagnoses=None,
                              conditions=None, areas=None, membership=None, control_total="1", year="2025/26",
                              level="ICB", unassigned="raise", out=str(run / "out"), format="csv",
                              manifest=str(run / "run.json"))
    inputs = {k: getattr(args, k) for k in ("need", "model", "people", "diagnoses", "conditions", "areas",
                                            "membership")}
    manifest = record_run("allocate", args, inputs=inputs, outputs={"out": [run / "out" / "practice_budgets.csv"]})
    return manifest.write(run / "run.json")


def _reproduce(path, **kwargs):
    from capitation.cli.manifest import reproduce

    return reproduce(path, **kwargs)


def _forged_manifest(tmp, edit):
    path = _manifest(tmp)
    (tmp / "need.csv").write_bytes((path.parent / "need.csv").read_bytes())  # outside, with the same bytes
    return _reproduce(_rehash(path, edit))


def _both(name: str, value):
    return lambda d: (d["inputs"][name].update(path=value), d["parameters"].update({name: value}))


def _manifest_symlink(tmp):
    path = _manifest(tmp)
    (tmp / "need.csv").write_bytes((path.parent / "need.csv").read_bytes())
    (path.parent / "need.csv").unlink()
    (path.parent / "need.csv").symlink_to(tmp / "need.csv")
    return _reproduce(path)


def _record_outside(tmp):
    from capitation.cli.manifest import record_run

    (tmp / "data").mkdir()
    (tmp / "data" / "need.csv").write_text("practice_code,need,registered\nB00001,1.0,10\n")
    args = argparse.Namespace(need=str(tmp / "data" / "need.csv"), out=str(tmp / "run" / "out"),
                              manifest=str(tmp / "run" / "run.json"))
    return record_run("allocate", args, inputs={"need": args.need}, outputs={})


def _busy_workdir(tmp):
    path = _manifest(tmp)
    _file(tmp, "busy/old.csv")
    return _reproduce(path, workdir=tmp / "busy")


def cases(tmp) -> list[Case]:
    return [
        # ---- a model file that is not strict JSON, or whose fields are not what they must be ----------------
        Case("model-file-nan-token", "persist.load_model", lambda: _nan_token(tmp, "NaN"), ModelFileError,
             "model.json", None, "NaN", FIX),
        Case("model-file-infinity-token", "persist.load_model", lambda: _nan_token(tmp, "-Infinity"),
             ModelFileError, "model.json", None, "-Infinity", FIX),
        Case("model-file-number-out-of-range", "persist.load_model", lambda: _nan_token(tmp, "1e999"),
             ModelFileError, "model.json", None, "1e999", FIX),
        Case("model-file-null-coefficient", "persist.load_model",
             lambda: _load(_rehash(saved_model(tmp), lambda d: d["columns"]["coef"].__setitem__(0, None))),
             ModelFileError, "model.json", "'columns.coef[0]'", "None", FIX),
        Case("model-file-text-coefficient", "persist.load_model",
             lambda: _load(_rehash(saved_model(tmp), lambda d: d["columns"]["coef"].__setitem__(1, "1.5"))),
             ModelFileError, "model.json", "'columns.coef[1]'", "'1.5'", FIX),
        Case("model-file-fractional-count", "persist.load_model",
             lambda: _load(_rehash(saved_model(tmp), lambda d: d["fit"].__setitem__("n", 199.5))),
             ModelFileError, "model.json", "'fit.n'", "199.5", FIX),
        Case("model-file-truncated", "persist.load_model", lambda: _load(_truncate(saved_model(tmp), 120)),
             ModelFileError, "model.json", None, "not JSON", FIX),
        Case("model-file-garbage-bytes", "persist.load_model",
             lambda: _load(_bytes(tmp / "model.json", b"\x89PNG\r\n\x1a\n\xff\xfe")), ModelFileError, "model.json",
             None, "not JSON", FIX),
        Case("model-file-repeated-key", "persist.load_model",
             lambda: _load(_replace_text(saved_model(tmp), '"format":', '"format": "x", "format":')),
             ModelFileError, "model.json", None, "'format'", FIX),
        Case("model-path-does-not-exist", "persist.load_model", lambda: _load(tmp / "nowhere" / "model.json"),
             ModelFileError, "model.json", None, "does not exist", FIX),
        Case("model-path-is-a-folder", "persist.load_model", lambda: _load(_folder(tmp, "models")),
             ModelFileError, "'path'", None, "is a folder", FIX),
        # ---- the .npz beside it: dtype, shape, members, and where it is ------------------------------------
        Case("model-npz-object-array", "persist.load_model", lambda: _forged_npz(tmp, "|O", None, b"\x80\x04"),
             ModelFileError, "model.npz", "'cov'", "object", FIX),
        Case("model-npz-wrong-dtype", "persist.load_model",
             lambda: _forged_npz(tmp, "<i8", None, b"\0" * 10_000), ModelFileError, "model.npz", "'cov'", "int64",
             FIX),
        Case("model-npz-wrong-shape", "persist.load_model", lambda: _forged_npz(tmp, "<f8", (3,), b"\0" * 24),
             ModelFileError, "model.npz", "'cov'", "(3,)", FIX),
        Case("model-npz-declares-a-huge-array", "persist.load_model",
             lambda: _forged_npz(tmp, "<f8", (1 << 20, 1 << 20)), ModelFileError, "model.npz", "'cov'",
             "(1048576, 1048576)", FIX),
        Case("model-npz-not-an-archive", "persist.load_model", lambda: _npz_bytes(tmp, b"PK\x03\x04 no archive"),
             ModelFileError, "model.npz", None, "not a readable .npz", FIX),
        Case("model-npz-path-dotdot", "persist.load_model", lambda: _npz_escape(tmp, "dotdot"), ModelFileError,
             "'arrays.file'", "model.json", "'../model.npz'", FIX),
        Case("model-npz-path-absolute", "persist.load_model", lambda: _npz_escape(tmp, "absolute"),
             ModelFileError, "'arrays.file'", "model.json", "absolute path", FIX),
        Case("model-npz-symlink-out-of-folder", "persist.load_model", lambda: _npz_escape(tmp, "symlink"),
             ModelFileError, "'arrays.file'", "model.json", "outside the file's folder", FIX),
        # ---- saving and writing: destinations checked before the work ----------------------------------------
        Case("save-model-path-is-a-folder", "persist.save_model", lambda: _save(_folder(tmp, "models")),
             OutputError, "'path'", None, "is a folder", FIX),
        Case("save-model-under-a-file", "persist.save_model", lambda: _save(_file(tmp, "models") / "m.json"),
             OutputError, "'path'", "models", "is a file", FIX),
        Case("save-model-npz-place-is-a-folder", "persist.save_model",
             lambda: (_folder(tmp, "m.npz"), _save(tmp / "m.json")), OutputError, "'path (its .npz)'", "m.npz",
             "is a folder", FIX),
        Case("save-model-coefficient-not-finite", "persist.save_model", lambda: _save_non_finite(tmp),
             ModelFileError, "model cannot be saved", None, "inf", FIX),
        Case("write-table-path-is-a-folder", "persist.write_table",
             lambda: _write_table(_folder(tmp, "budgets.csv")), OutputError, "'path'", "budgets.csv", "is a folder",
             FIX),
        Case("write-table-under-a-file", "persist.write_table",
             lambda: _write_table(_file(tmp, "out") / "budgets.csv"), OutputError, "'path'", "out", "is a file",
             FIX),
        Case("output-folder-is-a-file", "_io.check_output",
             lambda: _check_output(_file(tmp, "out"), kind="folder"), OutputError, "'out'", None, "is a file", FIX),
        Case("output-file-exists-without-overwrite", "_io.check_output",
             lambda: _check_output(_file(tmp, "budgets.csv"), overwrite=False), OutputError, "'out'",
             "budgets.csv", "already exists", FIX),
        # ---- manifests: nothing read or written outside their folder -----------------------------------------
        Case("manifest-input-dotdot", "manifest.reproduce",
             lambda: _forged_manifest(tmp, _both("need", "../need.csv")), ModelFileError, "inputs['need'].path",
             "run.json", "'../need.csv'", FIX),
        Case("manifest-input-absolute", "manifest.reproduce",
             lambda: _forged_manifest(tmp, _both("need", str(tmp / "need.csv"))), ModelFileError,
             "inputs['need'].path", "run.json", "absolute path", FIX),
        Case("manifest-input-symlink-out-of-folder", "manifest.reproduce", lambda: _manifest_symlink(tmp),
             ModelFileError, "inputs['need'].path", "run.json", "outside the file's folder", FIX),
        Case("manifest-output-file-dotdot", "manifest.reproduce",
             lambda: _forged_manifest(tmp, lambda d: d["outputs"][0].update(file="../../x.csv")), ModelFileError,
             "outputs[0].file", "run.json", "'../../x.csv'", FIX),
        Case("manifest-output-option-absolute", "manifest.reproduce",
             lambda: _forged_manifest(tmp, lambda d: d["parameters"].update(out=str(tmp / "elsewhere"))),
             ModelFileError, "parameters['out']", "run.json", "absolute path", FIX),
        Case("manifest-input-option-without-hash", "manifest.reproduce",
             lambda: _forged_manifest(tmp, lambda d: d["parameters"].update(membership="need.csv")),
             ModelFileError, "run.json", "['membership']", "records no input", FIX),
        Case("manifest-unknown-command", "manifest.reproduce",
             lambda: _forged_manifest(tmp, lambda d: d.update(command="plot")), ModelFileError, "run.json", None,
             "'plot'", FIX),
        Case("manifest-unknown-option", "manifest.reproduce",
             lambda: _forged_manifest(tmp, lambda d: d["parameters"].update(debug=True)), ModelFileError,
             "run.json", None, "['debug']", FIX),
        Case("manifest-nan-token", "manifest.read_manifest",
             lambda: _reproduce(_replace_text(_manifest(tmp), '"control_total": "1"', '"control_total": NaN')),
             ModelFileError, "run.json", None, "NaN", FIX),
        Case("manifest-truncated", "manifest.read_manifest",
             lambda: _reproduce(_truncate(_manifest(tmp), 50)),
             ModelFileError, "run.json", None, "not JSON", FIX),
        Case("manifest-workdir-not-empty", "manifest.reproduce", lambda: _busy_workdir(tmp), OutputError,
             "'workdir'", "busy", "not empty", FIX),
        Case("manifest-input-outside-its-folder", "manifest.record_run", lambda: _record_outside(tmp),
             OutputError, "--need", "need.csv", "outside the folder of the manifest", FIX),
    ]
