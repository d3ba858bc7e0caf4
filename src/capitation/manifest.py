"""Run manifests: what a command read, every parameter it used, what it wrote; and re-running it.

A manifest is a JSON document (sorted keys, UTF-8) recording one run of a ``capitation`` subcommand
(``synth``, ``fit``, ``score`` or ``allocate``): the library and its dependencies' versions, every
parameter, and the sha256 of each input and each output file. :func:`reproduce` checks the inputs are
unchanged, re-runs the command into a temporary folder and compares the outputs' hashes, so a reviewer
can confirm that a published allocation follows, bit for bit, from the recorded inputs.

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> from capitation.cli import main
>>> from capitation.manifest import reproduce
>>> with tempfile.TemporaryDirectory() as d:
...     d = pathlib.Path(d)
...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "need": [3.0, 1.0],
...                   "registered": [30, 10]}).to_csv(d / "need.csv", index=False)
...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "consortium_code": ["Q1", "Q1"]}).to_csv(
...         d / "icbs.csv", index=False)
...     status = main(["allocate", "--need", str(d / "need.csv"), "--membership", str(d / "icbs.csv"),
...                    "--control-total", "1000", "--out", str(d / "out"), "--manifest", str(d / "run.json"),
...                    "--quiet"])
...     result = reproduce(d / "run.json")
>>> status, result.identical, result.outputs["file"].tolist()
(0, True, ['practice_budgets.csv', 'icb_budgets.csv'])
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import hashlib
import json
import platform
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .errors import InputError, ModelFileError
from .persist import _canonical, read_hashed_document, sha256_path

__all__ = ["MANIFEST_FORMAT", "Manifest", "Reproduction", "read_manifest", "record_run", "reproduce"]

#: Version of the manifest layout; :func:`read_manifest` reads this version only.
MANIFEST_FORMAT = 1
_KIND = "capitation.RunManifest"
_HASH_KEY = "content_sha256"
#: Parameters that say how a run reports, not what it computes: not recorded.
_NOT_RECORDED = ("run", "debug", "manifest", "command", "quiet")
#: Versions that can change output bits; a difference is reported by :func:`reproduce`.
_PACKAGES = ("capitation", "numpy", "pandas", "pyarrow", "numba", "scipy", "scikit-learn")


def environment() -> dict:
    """Versions of Python, capitation and the packages whose arithmetic or file format reaches the outputs.

    Examples
    --------
    >>> from capitation.manifest import environment
    >>> sorted(environment())[:3]
    ['capitation', 'machine', 'numba']
    """
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    env = {"python": platform.python_version(), "machine": platform.machine(), "system": platform.system()}
    for name in _PACKAGES:
        try:
            env[name] = __version__ if name == "capitation" else version(name)
        except PackageNotFoundError:  # pragma: no cover - every one is a dependency
            env[name] = None
    return env


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclasses.dataclass(frozen=True)
class Manifest:
    """One recorded run of a ``capitation`` subcommand.

    Attributes
    ----------
    command : str
        The subcommand (``"fit"``, ``"allocate"``, ...).
    parameters : dict
        Every parameter of the run, as the subcommand's options (JSON types).
    inputs : dict
        For each input parameter: ``path`` (as given), ``resolved`` (absolute) and ``sha256``.
    outputs : list of dict
        Each file written: ``parameter`` (the option naming the output), ``file`` (path relative to that
        output's folder), ``root`` (``"self"`` when the option names that folder, ``"parent"`` when it names
        a file in it) and ``sha256``.
    environment : dict
        Versions of Python, capitation, numpy, pandas, pyarrow, numba, scipy and scikit-learn.
    created : str
        When the run finished (UTC, ISO 8601).
    source : pathlib.Path or None
        The manifest file it was read from.
    """

    command: str
    parameters: dict
    inputs: dict
    outputs: list
    environment: dict
    created: str
    source: Path | None = None

    def to_dict(self) -> dict:
        """The manifest as JSON types (without its content hash)."""
        return {"format": _KIND, "format_version": MANIFEST_FORMAT, "command": self.command,
                "parameters": self.parameters, "inputs": self.inputs, "outputs": self.outputs,
                "environment": self.environment, "created": self.created}

    def write(self, path) -> Path:
        """Write the manifest as JSON with its content hash, atomically; returns the path."""
        from ._io import atomic_write_text

        document = self.to_dict()
        document[_HASH_KEY] = hashlib.sha256(_canonical(document)).hexdigest()
        return atomic_write_text(Path(path), json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1,
                                                        allow_nan=False) + "\n")


def _json_value(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value


def record_run(command: str, args: argparse.Namespace, *, inputs: dict, outputs: dict) -> Manifest:
    """The manifest of a finished run: parameters from ``args``, hashes of ``inputs`` and ``outputs``.

    Parameters
    ----------
    command : str
        The subcommand that ran.
    args : argparse.Namespace
        Its parsed options (reporting options such as ``--quiet`` are left out).
    inputs : dict of str → path or None
        Input files or folders by option name; ``None`` entries (options not given) are skipped.
    outputs : dict of str → list of path
        Every file the run wrote, by the option naming its location (a folder, or a file whose folder
        holds it).

    Returns
    -------
    Manifest

    Examples
    --------
    >>> import argparse, tempfile, pathlib
    >>> from capitation.manifest import record_run
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = pathlib.Path(d) / "need.csv"
    ...     _ = out.write_text("practice_code,need\\nA81001,1.0\\n")
    ...     m = record_run("score", argparse.Namespace(out=str(out), seed=0), inputs={}, outputs={"out": [out]})
    >>> m.parameters["seed"], m.outputs[0]["file"], m.outputs[0]["root"]
    (0, 'need.csv', 'parent')
    """
    parameters = {k: _json_value(v) for k, v in sorted(vars(args).items()) if k not in _NOT_RECORDED}
    recorded_inputs = {}
    for name, path in sorted(inputs.items()):
        if path is None:
            continue
        recorded_inputs[name] = {"path": str(path), "resolved": str(Path(path).resolve()),
                                 "sha256": sha256_path(path)}
    recorded_outputs = []
    for parameter, files in sorted(outputs.items()):
        location = Path(getattr(args, parameter))
        is_folder = location.is_dir()
        root = location if is_folder else location.parent
        for file in files:
            file = Path(file)
            try:
                relative = file.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                raise InputError(f"Output {str(file)!r} is not in the folder of --{parameter} {str(location)!r}; a "
                                 "manifest records only outputs it can re-create there.") from None
            recorded_outputs.append({"parameter": parameter, "file": relative, "sha256": sha256_path(file),
                                     "root": "self" if is_folder else "parent"})
    return Manifest(command, parameters, recorded_inputs, recorded_outputs, environment(), _now())


def _output_root(location: Path) -> Path:
    """Outputs are recorded relative to the output folder, or to the output file's folder."""
    return location if location.is_dir() or not location.suffix else location.parent


def read_manifest(path) -> Manifest:
    """Read a manifest, checking its format version and its content hash.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Manifest

    Raises
    ------
    ModelFileError
        The file is missing, not a manifest, of another format version, or edited after it was written.
    """
    path = Path(path)
    document = read_hashed_document(
        path, kind=_KIND, version=MANIFEST_FORMAT, what="manifest", label="capitation run manifest",
        fix_missing="check the path; write one with --manifest on capitation synth, fit, score or allocate",
        fix_foreign="pass the file written by --manifest",
        fix_version="reproduce it with the version that wrote it",
        fix_edited="restore the original manifest")
    document.pop(_HASH_KEY)
    try:
        return Manifest(document["command"], document["parameters"], document["inputs"], document["outputs"],
                        document["environment"], document["created"], path)
    except KeyError as exc:
        raise ModelFileError(f"The manifest {str(path)!r} lacks {exc}. Fix: restore the original manifest.") from None


@dataclasses.dataclass(frozen=True)
class Reproduction:
    """The outcome of :func:`reproduce`.

    Attributes
    ----------
    identical : bool
        Every input unchanged and every output re-created with the recorded sha256.
    inputs : pandas.DataFrame
        One row per input: ``parameter``, ``path``, ``recorded``, ``found`` (sha256) and ``identical``.
    outputs : pandas.DataFrame
        One row per output: ``parameter``, ``file``, ``recorded``, ``reproduced`` (sha256) and ``identical``.
    environment : dict
        Versions that differ from the recorded run: name → (recorded, now).
    error : str or None
        Why the re-run failed, if it did.
    workdir : pathlib.Path or None
        Where the outputs were re-created, when kept.
    """

    identical: bool
    inputs: pd.DataFrame
    outputs: pd.DataFrame
    environment: dict
    error: str | None = None
    workdir: Path | None = None

    def summary(self) -> str:
        """Plain text: the verdict, then any changed inputs, differing outputs and version differences."""
        lines = ["bit-identical: every output has the recorded sha256" if self.identical
                 else "NOT reproduced"]
        changed = self.inputs[~self.inputs["identical"]] if len(self.inputs) else self.inputs
        for row in changed.itertuples():
            lines.append(f"  input changed: --{row.parameter} {row.path} (recorded {row.recorded[:12]}..., now "
                         f"{(row.found or 'missing')[:12]}...)")
        if self.error:
            lines.append(f"  the re-run failed: {self.error}")
        for row in self.outputs.itertuples():
            mark = "same" if row.identical else "DIFFERS"
            lines.append(f"  {mark:<8}{row.file}  {row.recorded[:12]}... -> {(row.reproduced or 'missing')[:12]}...")
        for name, (was, now) in sorted(self.environment.items()):
            lines.append(f"  version  {name}: recorded {was}, now {now}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Reproduction(identical={self.identical}, outputs={len(self.outputs)}, "
                f"differing={int((~self.outputs['identical']).sum()) if len(self.outputs) else 0})")


def _locate(record: dict, manifest: Manifest) -> Path | None:
    """An input where it was, else relative to the manifest's folder, else relative to here."""
    candidates = [Path(record["resolved"]), Path(record["path"])]
    if manifest.source is not None:
        candidates.insert(1, manifest.source.parent / record["path"])
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return None


def reproduce(manifest, *, workdir=None) -> Reproduction:
    """Re-run a recorded command into a fresh folder and compare every output's sha256.

    Parameters
    ----------
    manifest : Manifest or path
        The run to reproduce (a path is read with :func:`read_manifest`).
    workdir : path, optional
        Folder for the re-created outputs, kept afterwards; a temporary folder, removed, by default.

    Returns
    -------
    Reproduction
        ``identical`` is True when every input is unchanged and every output is bit-identical.

    Examples
    --------
    See the module docstring.
    """
    import importlib

    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest)
    rows = []
    located = {}
    for name, record in sorted(manifest.inputs.items()):
        where = _locate(record, manifest)
        found = None if where is None else sha256_path(where)
        located[name] = where
        rows.append({"parameter": name, "path": record["path"], "recorded": record["sha256"], "found": found,
                     "identical": found == record["sha256"]})
    inputs = pd.DataFrame(rows, columns=["parameter", "path", "recorded", "found", "identical"])
    now = environment()
    env = {k: (v, now.get(k)) for k, v in manifest.environment.items() if now.get(k) != v}
    keep = workdir is not None
    base = Path(workdir) if keep else Path(tempfile.mkdtemp(prefix="capitation-reproduce-"))
    base.mkdir(parents=True, exist_ok=True)
    error = None
    try:
        if not inputs["identical"].all():
            error = "inputs differ from the recorded ones, so the command was not re-run"
            reproduced = {}
        else:
            params = dict(manifest.parameters)
            for name, where in located.items():
                params[name] = str(where)
            new_roots = {}
            # Every output location moves into the work folder, so a re-run never overwrites the originals.
            roots = {o["parameter"]: o["root"] for o in manifest.outputs}
            for parameter in sorted(set(roots) | ({"out"} & {k for k, v in params.items() if v is not None})):
                target = base / parameter / Path(params[parameter]).name
                target.parent.mkdir(parents=True, exist_ok=True)
                params[parameter] = str(target)
                new_roots[parameter] = target if roots.get(parameter) == "self" else target.parent
            try:
                module = importlib.import_module(f"capitation.cli.{manifest.command}")
            except ModuleNotFoundError:
                raise ModelFileError(f"The manifest records the command {manifest.command!r}, which this version "
                                     "of capitation does not have. Fix: reproduce with the version that wrote it."
                                     ) from None
            args = argparse.Namespace(**params, manifest=None, quiet=True, debug=False, command=manifest.command)
            try:
                status = module.run(args)
                if status:
                    error = f"capitation {manifest.command} exited with status {status}"
            except Exception as exc:  # reported on the result, like the CLI's one-line errors
                error = f"{type(exc).__name__}: {exc}"
            reproduced = {}
            for output in manifest.outputs:
                file = new_roots[output["parameter"]] / output["file"]
                reproduced[output["parameter"], output["file"]] = sha256_path(file) if file.exists() else None
        rows = []
        for o in manifest.outputs:
            again = reproduced.get((o["parameter"], o["file"]))
            rows.append({"parameter": o["parameter"], "file": o["file"], "recorded": o["sha256"], "reproduced": again,
                         "identical": again == o["sha256"]})
        outputs = pd.DataFrame(rows, columns=["parameter", "file", "recorded", "reproduced", "identical"])
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    identical = error is None and bool(inputs["identical"].all()) and bool(outputs["identical"].all()) \
        and len(outputs) > 0
    return Reproduction(identical, inputs, outputs, env, error, base if keep else None)
