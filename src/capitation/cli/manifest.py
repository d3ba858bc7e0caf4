"""Run manifests: what a command read, every parameter it used, what it wrote; and re-running it.

A manifest is a JSON document (sorted keys, UTF-8) recording one run of a ``capitation`` subcommand
(``synth``, ``fit``, ``score``, ``allocate``, ``report`` or ``demo``): the library and its dependencies' versions, every
parameter, and the sha256 of each input and each output file. :func:`reproduce` checks the inputs are
unchanged, re-runs the command into a temporary folder and compares the outputs' hashes, so a reviewer
can confirm that a published allocation follows, bit for bit, from the recorded inputs.

**Nothing outside the manifest's folder.** Every path a manifest records (each input, each output
location and every path-valued parameter) is relative to the folder the manifest is written in, and must
lie inside it: a run whose inputs or outputs lie elsewhere gets no manifest
(:class:`~capitation.errors.OutputError`; write the manifest in a folder that holds them all; a command checks
this with :func:`check_run_folder` before its work). :func:`reproduce` treats a manifest like an archive being
extracted: each recorded path is resolved (symlinks too) inside the manifest's folder and an
absolute path, a ``..`` escape or a symlink out of the folder is refused with
:class:`~capitation.errors.ModelFileError` naming the field, the path and the fix; the re-run writes only
inside its work folder. So a run folder can be moved or copied whole and still reproduce.

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> from capitation.cli import main
>>> from capitation.cli.manifest import reproduce
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
import os
import platform
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .._io import _canonical, check_output, read_hashed_document, resolve_inside, sha256_path
from .._results import Result
from ..errors import InputError, ModelFileError, OutputError

__all__ = ["MANIFEST_FORMAT", "PATH_OPTIONS", "Manifest", "Reproduction", "check_run_folder", "read_manifest",
           "record_run", "reproduce"]

#: Version of the manifest layout; :func:`read_manifest` reads this version only. Version 2 records every
#: path relative to the manifest's folder (version 1 recorded absolute paths).
MANIFEST_FORMAT = 2
_KIND = "capitation.RunManifest"
_HASH_KEY = "content_sha256"
#: Parameters that say how a run reports, not what it computes: not recorded.
_NOT_RECORDED = ("run", "debug", "manifest", "command", "quiet")
#: The commands a manifest can record, and which of their options name files or folders: ``inputs`` are read
#: (and hashed), ``outputs`` are written. Every other option is a value. :func:`reproduce` re-runs only these
#: commands, moves every output option into its work folder and refuses a manifest naming an option the
#: command does not have, so a forged manifest cannot make a re-run read or write anywhere else.
PATH_OPTIONS = {
    "synth": {"inputs": (), "outputs": ("out",)},
    "fit": {"inputs": ("people", "diagnoses", "conditions", "areas", "grouping"), "outputs": ("out", "coefficients")},
    "score": {"inputs": ("model", "people", "diagnoses", "conditions", "areas"), "outputs": ("out",)},
    "allocate": {"inputs": ("need", "model", "people", "diagnoses", "conditions", "areas", "membership",
                            "list_sizes"), "outputs": ("out",)},
    "demo": {"inputs": (), "outputs": ("out",)},
    "report": {"inputs": ("people", "diagnoses", "conditions", "areas", "membership", "baseline", "list_sizes"),
               "outputs": ("out",)},
}
#: Versions that can change output bits; a difference is reported by :func:`reproduce`.
_PACKAGES = ("capitation", "numpy", "pandas", "pyarrow", "numba", "scipy", "scikit-learn")


def environment() -> dict:
    """Versions of Python, capitation and the packages whose arithmetic or file format reaches the outputs.

    Examples
    --------
    >>> from capitation.cli.manifest import environment
    >>> sorted(environment())[:3]
    ['capitation', 'machine', 'numba']
    """
    from importlib.metadata import PackageNotFoundError, version

    from .._version import __version__

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
        Every parameter of the run, as the subcommand's options (JSON types); path-valued options relative to
        the manifest's folder.
    inputs : dict
        For each input parameter: ``path`` (relative to the manifest's folder) and ``sha256``.
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
    folder : pathlib.Path or None
        The folder its paths are relative to: the folder of the manifest file (written or read).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> m = Manifest("score", {"out": "need.csv", "observed": False}, {}, [], {"capitation": "0.1.0"},
    ...              "2025-04-01T09:00:00Z")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = read_manifest(m.write(pathlib.Path(d) / "run.json"))
    >>> back.command, back.parameters == m.parameters, back.source.name
    ('score', True, 'run.json')
    """

    command: str
    parameters: dict
    inputs: dict
    outputs: list
    environment: dict
    created: str
    source: Path | None = None
    folder: Path | None = None

    def to_dict(self) -> dict:
        """Return the manifest as JSON types (without its content hash).

        Returns
        -------
        dict
            ``format``, ``format_version``, ``command``, ``parameters``, ``inputs``, ``outputs``,
            ``environment`` and ``created``: the document :meth:`write` hashes and writes.

        Examples
        --------
        >>> m = Manifest("score", {"out": "need.csv"}, {}, [], {"capitation": "0.1.0"}, "2025-04-01T09:00:00Z")
        >>> document = m.to_dict()
        >>> document["format"], document["format_version"], document["parameters"]
        ('capitation.RunManifest', 2, {'out': 'need.csv'})
        """
        return {"format": _KIND, "format_version": MANIFEST_FORMAT, "command": self.command,
                "parameters": self.parameters, "inputs": self.inputs, "outputs": self.outputs,
                "environment": self.environment, "created": self.created}

    def write(self, path) -> Path:
        """Write the manifest as JSON with its content hash, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            The manifest file; when the manifest has a :attr:`folder`, it must be in that folder. An existing
            file is replaced.

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        OutputError
            ``path`` is a folder, or is not in the folder the manifest's paths are relative to.

        Examples
        --------
        >>> import json, pathlib, tempfile
        >>> m = Manifest("score", {"out": "need.csv"}, {}, [], {"capitation": "0.1.0"}, "2025-04-01T09:00:00Z")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = m.write(pathlib.Path(d) / "run.json")
        ...     document = json.loads(path.read_text(encoding="utf-8"))
        >>> path.name, document["command"], len(document["content_sha256"])
        ('run.json', 'score', 64)
        """
        from .._io import atomic_write_text

        if self.folder is not None and Path(path).resolve().parent != Path(self.folder).resolve():
            raise OutputError(f"The 'path' parameter names {str(path)!r}, but this manifest's paths are relative to "
                              f"{str(Path(self.folder).resolve())!r}, so it must be written in that folder. "
                              "Fix: write it there, or record the run again with root= its folder.")
        path = check_output(path, kind="file", name="path")
        document = self.to_dict()
        document[_HASH_KEY] = hashlib.sha256(_canonical(document)).hexdigest()
        return atomic_write_text(path, json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1,
                                                  allow_nan=False) + "\n")


def _json_value(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value


def _relative(path, root: Path, option: str, manifest_hint: str) -> str:
    """``path`` relative to ``root`` (resolved, symlinks followed), or an OutputError if it lies outside."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root):
        common = os.path.commonpath([str(resolved), str(root)])
        raise OutputError(f"The --{option.replace('_', '-')} path {str(path)!r} resolves to {str(resolved)!r}, "
                          f"outside the folder of the manifest {manifest_hint}; a manifest records only paths "
                          "inside its own folder, so that reproducing it reads and writes nothing elsewhere. "
                          f"Fix: write the manifest in a folder holding every input and output (e.g. in "
                          f"{common!r}), or copy the inputs into the manifest's folder.")
    return resolved.relative_to(root).as_posix() or "."


def _files_of(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def check_run_folder(manifest, *, inputs: dict, outputs: dict) -> Path:
    """Check, before a run, that its manifest can be written and will hold every path; returns its folder.

    A command given ``--manifest`` calls this first, so a run whose inputs or outputs lie outside the
    manifest's folder is refused before any work rather than after it.

    Parameters
    ----------
    manifest : path
        The manifest file to write.
    inputs, outputs : dict of str → path or None
        The input and output locations by option name (``None``: option not given).

    Returns
    -------
    pathlib.Path
        The manifest's folder, resolved.

    Raises
    ------
    OutputError
        The manifest's destination is unusable, or a path (or a file inside an input folder) lies outside
        its folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation.cli.manifest import check_run_folder
    >>> with tempfile.TemporaryDirectory() as d:
    ...     root = check_run_folder(pathlib.Path(d) / "run.json", inputs={"people": pathlib.Path(d) / "p.csv"},
    ...                             outputs={"out": pathlib.Path(d) / "out"})
    ...     root == pathlib.Path(d).resolve()
    True
    """
    root = check_output(manifest, kind="file", name="--manifest").parent
    hint = repr(str(root))
    for option, location in sorted({**inputs, **outputs}.items()):
        if location is None:
            continue
        _relative(location, root, option, hint)
        if option in inputs and Path(location).exists():
            for file in _files_of(Path(location)):
                _relative(file, root, option, hint)
    return root


def record_run(command: str, args: argparse.Namespace, *, inputs: dict, outputs: dict, root=None) -> Manifest:
    r"""Record the manifest of a finished run: parameters from ``args``, hashes of ``inputs`` and ``outputs``.

    Parameters
    ----------
    command : str
        The subcommand that ran (one of :data:`PATH_OPTIONS`).
    args : argparse.Namespace
        Its parsed options (reporting options such as ``--quiet`` are left out).
    inputs : dict of str → path or None
        Input files or folders by option name; ``None`` entries (options not given) are skipped.
    outputs : dict of str → list of path
        Every file the run wrote, by the option naming its location (a folder, or a file whose folder
        holds it).
    root : path, optional
        The folder the manifest will be written in, which every path is recorded relative to: the folder of
        ``args.manifest`` by default.

    Returns
    -------
    Manifest

    Raises
    ------
    OutputError
        An input or output lies outside ``root`` (see :func:`check_run_folder`, which checks this before a run).

    Examples
    --------
    >>> import argparse, tempfile, pathlib
    >>> from capitation.cli.manifest import record_run
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = pathlib.Path(d) / "need.csv"
    ...     _ = out.write_text("practice_code,need\nA81001,1.0\n")
    ...     m = record_run("score", argparse.Namespace(out=str(out), observed=False), inputs={},
    ...                    outputs={"out": [out]}, root=d)
    >>> m.parameters["out"], m.outputs[0]["file"], m.outputs[0]["root"]
    ('need.csv', 'need.csv', 'parent')
    """
    if command not in PATH_OPTIONS:
        raise InputError(f"The 'command' parameter of record_run is {command!r}; only {sorted(PATH_OPTIONS)} can "
                         "be recorded. Fix: record one of those, or add the command to PATH_OPTIONS.")
    if root is None:
        manifest = getattr(args, "manifest", None)
        if manifest is None:
            raise InputError("record_run needs the folder the manifest will be written in: 'root' is None and "
                             "args has no 'manifest'. Fix: pass root=, or set args.manifest.")
        root = Path(manifest).parent
    root = Path(root).resolve()
    hint = repr(str(root))
    options = PATH_OPTIONS[command]
    path_options = set(options["inputs"]) | set(options["outputs"]) | set(inputs) | set(outputs)
    parameters = {}
    for key, value in sorted(vars(args).items()):
        if key in _NOT_RECORDED:
            continue
        if key in path_options and value is not None:
            value = _relative(value, root, key, hint)
        parameters[key] = _json_value(value)
    recorded_inputs = {}
    for name, path in sorted(inputs.items()):
        if path is None:
            continue
        for file in _files_of(Path(path)):  # a symlink inside an input folder must not lead out of it
            _relative(file, root, name, hint)
        recorded_inputs[name] = {"path": _relative(path, root, name, hint), "sha256": sha256_path(path)}
    recorded_outputs = []
    for parameter, files in sorted(outputs.items()):
        location = Path(getattr(args, parameter))
        is_folder = location.is_dir()
        folder = (location if is_folder else location.parent).resolve()
        for file in files:
            file = Path(file)
            try:
                relative = file.resolve().relative_to(folder).as_posix()
            except ValueError:
                raise OutputError(f"Output {str(file)!r} is not in the folder of --{parameter} {str(location)!r}; "
                                  "a manifest records only outputs it can re-create there. Fix: write every "
                                  f"output of --{parameter} inside {str(folder)!r}.") from None
            recorded_outputs.append({"parameter": parameter, "file": relative, "sha256": sha256_path(file),
                                     "root": "self" if is_folder else "parent"})
    return Manifest(command, parameters, recorded_inputs, recorded_outputs, environment(), _now(), None, root)


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

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from capitation.errors import ModelFileError
    >>> m = Manifest("score", {"out": "need.csv"}, {}, [], {"capitation": "0.1.0"}, "2025-04-01T09:00:00Z")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = m.write(pathlib.Path(d) / "run.json")
    ...     print(read_manifest(path).created)
    ...     edited = json.loads(path.read_text(encoding="utf-8"))
    ...     edited["parameters"]["out"] = "elsewhere.csv"
    ...     _ = path.write_text(json.dumps(edited), encoding="utf-8")
    ...     try:
    ...         read_manifest(path)
    ...     except ModelFileError as exc:
    ...         print("refused:", "restore the original manifest" in str(exc))
    2025-04-01T09:00:00Z
    refused: True
    """
    document = read_hashed_document(
        path, kind=_KIND, version=MANIFEST_FORMAT, what="manifest", label="capitation run manifest",
        fix_missing="check the path; write one with --manifest on capitation synth, fit, score, allocate, report "
                    "or demo",
        fix_foreign="pass the file written by --manifest",
        fix_version="reproduce it with the version that wrote it, or record the run again with this version",
        fix_edited="restore the original manifest")
    path = Path(path)
    document.pop(_HASH_KEY)
    try:
        manifest = Manifest(document["command"], document["parameters"], document["inputs"], document["outputs"],
                            document["environment"], document["created"], path, path.parent)
    except KeyError as exc:
        raise ModelFileError(f"The manifest {str(path)!r} lacks {exc}. Fix: restore the original manifest.") from None
    kinds = {"command": str, "parameters": dict, "inputs": dict, "outputs": list, "environment": dict,
             "created": str}
    for field, kind in kinds.items():
        if not isinstance(getattr(manifest, field), kind):
            raise ModelFileError(f"The manifest {str(path)!r} has {field} = {getattr(manifest, field)!r}, not a "
                                 f"{kind.__name__}. Fix: restore the original manifest.")
    return manifest


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Reproduction(Result):
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
    provenance : Provenance
        The library version that checked the run.

    Examples
    --------
    >>> import pandas as pd
    >>> outputs = pd.DataFrame({"parameter": ["out"], "file": ["need.csv"], "recorded": ["ab" * 32],
    ...                         "reproduced": ["ab" * 32], "identical": [True]})
    >>> inputs = pd.DataFrame(columns=["parameter", "path", "recorded", "found", "identical"])
    >>> Reproduction(True, inputs, outputs, {})
    Reproduction(identical=True, outputs=1, differing=0)
    """

    identical: bool
    inputs: pd.DataFrame
    outputs: pd.DataFrame
    environment: dict
    error: str | None = None
    workdir: Path | None = None

    def summary(self) -> str:
        """Describe the outcome in plain text: the verdict, then changed inputs, each output and version differences.

        Returns
        -------
        str
            The verdict on the first line (``bit-identical: ...`` or ``NOT reproduced``), then one line per
            changed input, the re-run's error if any, one line per output (``same`` or ``DIFFERS``, with the
            first digits of both hashes) and one per package whose version differs.

        Examples
        --------
        >>> import pandas as pd
        >>> outputs = pd.DataFrame({"parameter": ["out"], "file": ["need.csv"], "recorded": ["ab" * 32],
        ...                         "reproduced": ["cd" * 32], "identical": [False]})
        >>> inputs = pd.DataFrame(columns=["parameter", "path", "recorded", "found", "identical"])
        >>> print(Reproduction(False, inputs, outputs, {"numpy": ("1.26.4", "2.1.0")}).summary())
        NOT reproduced
          DIFFERS need.csv  abababababab... -> cdcdcdcdcdcd...
          version  numpy: recorded 1.26.4, now 2.1.0
        """
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

    def _frame(self) -> pd.DataFrame:
        return self.outputs

    def __repr__(self) -> str:
        return (f"Reproduction(identical={self.identical}, outputs={len(self.outputs)}, "
                f"differing={int((~self.outputs['identical']).sum()) if len(self.outputs) else 0})")


def _options_of(command: str) -> set[str]:
    """Name the options of a subcommand, as its parser defines them (argparse lists them only in ``_actions``)."""
    import importlib

    module = importlib.import_module(f"capitation.cli.{command}")
    sub = argparse.ArgumentParser(add_help=False).add_subparsers(dest="command")
    module.add_parser(sub)
    return {a.dest for a in sub.choices[command]._actions if a.dest not in ("help", argparse.SUPPRESS)}


def _checked(manifest: Manifest) -> tuple[Path, dict[str, Path]]:
    """Refuse a manifest whose command, options or paths are not what this version would record.

    Returns the manifest's folder and each input resolved inside it.
    """
    if manifest.source is None and manifest.folder is None:
        raise InputError("The 'manifest' parameter of reproduce has no folder to resolve its paths in. Fix: pass "
                         "the manifest file, or a Manifest from read_manifest or record_run.")
    folder = Path(manifest.folder if manifest.folder is not None else manifest.source.parent).resolve()
    source = manifest.source if manifest.source is not None else folder
    shown = repr(str(source))
    fix_forged = "restore the original manifest, or record the run again"
    if manifest.command not in PATH_OPTIONS:
        raise ModelFileError(f"The manifest {shown} records the command {manifest.command!r}, which cannot be "
                             f"reproduced: only {sorted(PATH_OPTIONS)} are recorded. Fix: {fix_forged}.")
    known = _options_of(manifest.command)
    unknown = sorted(set(manifest.parameters) - (known - set(_NOT_RECORDED)))
    if unknown:
        raise ModelFileError(f"The manifest {shown} records parameters {unknown}, which capitation "
                             f"{manifest.command} does not have (or which are never recorded). Fix: reproduce it "
                             f"with the version that wrote it, or {fix_forged}.")
    options = PATH_OPTIONS[manifest.command]

    def inside(value, field):
        return resolve_inside(value, folder, field=field, source=source,
                              fix="record paths relative to the manifest's folder and inside it (keep the inputs "
                              f"and outputs in that folder and write the manifest there), or {fix_forged}")

    located = {}
    for name, record in sorted(manifest.inputs.items()):
        if name not in options["inputs"]:
            raise ModelFileError(f"The manifest {shown} records an input {name!r}, which is not an input option of "
                                 f"capitation {manifest.command} ({list(options['inputs'])}). Fix: {fix_forged}.")
        if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
            raise ModelFileError(f"The manifest {shown} has inputs[{name!r}] = {record!r}, not a path and sha256. "
                                 f"Fix: {fix_forged}.")
        located[name] = inside(record.get("path"), f"inputs[{name!r}].path")
        if manifest.parameters.get(name) != record.get("path"):
            raise ModelFileError(f"The manifest {shown} records --{name} {manifest.parameters.get(name)!r} among its "
                                 f"parameters but the input {record.get('path')!r}. Fix: {fix_forged}.")
        if located[name].is_dir():  # every file of an input folder too: no symlink out of the folder
            for file in _files_of(located[name]):
                inside(os.path.relpath(file, folder), f"inputs[{name!r}] (file {file.name!r})")
    for option in (*options["inputs"], *options["outputs"]):
        value = manifest.parameters.get(option)
        if value is not None:
            inside(value, f"parameters[{option!r}]")
    unhashed = sorted(o for o in options["inputs"] if manifest.parameters.get(o) is not None and o not in located)
    if unhashed:
        raise ModelFileError(f"The manifest {shown} sets the input option(s) {unhashed} but records no input (and "
                             f"no sha256) for them, so they cannot be checked. Fix: {fix_forged}.")
    for k, output in enumerate(manifest.outputs):
        if (not isinstance(output, dict) or output.get("parameter") not in options["outputs"]
                or output.get("root") not in ("self", "parent") or not isinstance(output.get("sha256"), str)
                or manifest.parameters.get(output["parameter"]) is None):
            raise ModelFileError(f"The manifest {shown} has outputs[{k}] = {output!r}, not an output of an option "
                                 f"of capitation {manifest.command} that the run was given. Fix: {fix_forged}.")
        location = inside(manifest.parameters[output["parameter"]], f"parameters[{output['parameter']!r}]")
        resolve_inside(output.get("file"), location if output["root"] == "self" else location.parent,
                       field=f"outputs[{k}].file", source=source,
                       fix=f"outputs are recorded relative to their own folder; {fix_forged}")
    return folder, located


def reproduce(manifest, *, workdir=None) -> Reproduction:
    r"""Re-run a recorded command into a fresh folder and compare every output's sha256.

    Parameters
    ----------
    manifest : Manifest or path
        The run to reproduce (a path is read with :func:`read_manifest`).
    workdir : path, optional
        Folder for the re-created outputs, kept afterwards: new or empty (an earlier run's files there could
        pass for this one's). A temporary folder, removed, by default.

    Returns
    -------
    Reproduction
        ``identical`` is True when every input is unchanged and every output is bit-identical.

    Raises
    ------
    ModelFileError
        The manifest is unreadable, or names a path outside its folder (absolute, ``..``, or through a
        symlink), a command or option this version does not have, or an input without its hash.
    OutputError
        ``workdir`` is a file, or a folder that is not empty.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from capitation.cli import main
    >>> with tempfile.TemporaryDirectory() as d:
    ...     d = pathlib.Path(d)
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "need": [3.0, 1.0],
    ...                   "registered": [30, 10]}).to_csv(d / "need.csv", index=False)
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "consortium_code": ["Q1", "Q1"]}).to_csv(
    ...         d / "icbs.csv", index=False)
    ...     status = main(["allocate", "--need", str(d / "need.csv"), "--membership", str(d / "icbs.csv"),
    ...                    "--control-total", "1000", "--out", str(d / "out"), "--manifest", str(d / "run.json"),
    ...                    "--quiet"])
    ...     kept = reproduce(d / "run.json", workdir=d / "again")
    ...     again = sorted(p.relative_to(kept.workdir).as_posix() for p in kept.workdir.rglob("*.csv"))
    ...     _ = (d / "need.csv").write_text("practice_code,need,registered\nA81001,1.0,30\nA81002,1.0,10\n")
    ...     changed = reproduce(d / "run.json")
    >>> kept.identical, again
    (True, ['out/out/icb_budgets.csv', 'out/out/practice_budgets.csv'])
    >>> changed.identical, changed.error
    (False, 'inputs differ from the recorded ones, so the command was not re-run')
    """
    import importlib

    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest)
    _, located = _checked(manifest)
    if workdir is not None:
        check_output(workdir, kind="folder", overwrite=False, name="workdir")
    rows = []
    for name, record in sorted(manifest.inputs.items()):
        where = located[name]
        found = sha256_path(where) if where.exists() else None
        rows.append({"parameter": name, "path": record["path"], "recorded": record["sha256"], "found": found,
                     "identical": found == record["sha256"]})
    inputs = pd.DataFrame(rows, columns=["parameter", "path", "recorded", "found", "identical"])
    now = environment()
    env = {k: (v, now.get(k)) for k, v in manifest.environment.items() if now.get(k) != v}
    keep = workdir is not None
    base = (Path(workdir) if keep else Path(tempfile.mkdtemp(prefix="capitation-reproduce-"))).resolve()
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
            # Every output option given moves into the work folder, so a re-run writes nothing anywhere else.
            roots = {o["parameter"]: o["root"] for o in manifest.outputs}
            for parameter in PATH_OPTIONS[manifest.command]["outputs"]:
                if params.get(parameter) is None:
                    continue
                target = base / parameter / (Path(params[parameter]).name or parameter)
                target.parent.mkdir(parents=True, exist_ok=True)
                params[parameter] = str(target)
                new_roots[parameter] = target if roots.get(parameter) == "self" else target.parent
            module = importlib.import_module(f"capitation.cli.{manifest.command}")
            args = argparse.Namespace(**params, manifest=None, quiet=True, debug=False, command=manifest.command)
            try:
                status = module.run(args)
                if status:
                    error = f"capitation {manifest.command} exited with status {status}"
            except Exception as exc:  # reported on the result, like the CLI's one-line errors
                error = f"{type(exc).__name__}: {exc}"
            reproduced = {}
            for k, output in enumerate(manifest.outputs):
                file = resolve_inside(output["file"], new_roots[output["parameter"]], field=f"outputs[{k}].file",
                                      source=manifest.source or "the manifest",
                                      fix="restore the original manifest, or record the run again")
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
