"""Reading and writing files, in one place: tables in and out, hashes, strict JSON, outputs and paths.

Tables: :func:`read_table` reads a DataFrame, a Parquet file or dataset folder (:func:`read_parquet_columns`),
or a CSV file (codes as text); :func:`write_table` writes CSV or Parquet, chosen by the suffix. Hashes:
:func:`sha256_path` of a file or a folder; :func:`read_hashed_document` reads the self-hashed, strict JSON of
saved models and manifests.

Outputs (one rule for every writer of the library and the command line):

* **The destination is checked before the work** (:func:`check_output`): a folder where a file must go, a file
  where a folder must be (the destination or any folder above it), an existing file when the caller's
  ``overwrite`` is false, or a folder that cannot be created raise :class:`~capitation.errors.OutputError`
  naming the parameter, the path and the fix.
* **Missing parent folders are created** (``mkdir -p``), by the library writers as by the command line.
* **Writes are atomic** (:func:`atomic_write`): the bytes go to ``.{name}.{random}.partial`` in the target's
  folder, which is renamed over the target only once complete, so readers see the old file or the whole new
  one. A write that fails removes its temporary file; one that was killed (SIGKILL, power cut) cannot, so
  the next write to the same target removes every stale ``.{name}.*.partial`` beside it first. A writer
  holds a lock on its temporary file until the rename (released by the system if it dies), so a stale
  file is one nobody holds: a concurrent write of the same target is never disturbed.
* **Files get the user's umask**: the final file's mode is ``0o666 & ~umask``, as ``open()`` would give
  (``tempfile.mkstemp`` alone makes it 0600, unreadable to colleagues on a shared server). The umask is
  read from ``/proc/self/status`` where it exists, else set and restored at once under a lock.
* Every writer of the package goes through :func:`atomic_path` (:func:`atomic_write` and its
  ``_bytes``/``_text``/``_csv`` forms are built on it).

Paths found inside files (:func:`resolve_inside`): a saved model names its ``.npz``, a manifest names its
inputs and outputs. Like the members of an archive being extracted, each is taken relative to the folder of
the file that names it, resolved (symlinks too), and refused with
:class:`~capitation.errors.ModelFileError` if it is absolute or ends up outside that folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import pandas as pd

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

from .errors import InputError, ModelFileError, OutputError, SchemaError

__all__ = ["HASH_KEY", "as_frame", "atomic_folder", "atomic_path", "atomic_write", "atomic_write_bytes",
           "atomic_write_csv", "atomic_write_text", "check_output", "read_hashed_document", "read_parquet_columns",
           "read_table", "remove_stale_partials", "resolve_inside", "sha256_path", "write_table"]

_KINDS = ("file", "folder")
_UMASK_LOCK = threading.Lock()


# -- the destination --------------------------------------------------------------------------------------

def check_output(path, *, kind: str = "file", overwrite: bool = True, name: str = "path") -> Path:
    """Check that ``path`` can receive an output before any work is done, and return it resolved.

    Parameters
    ----------
    path : str or os.PathLike
        The file or folder to write.
    kind : {"file", "folder"}
        ``"file"``: ``path`` must not be a folder; its missing parent folders are created. ``"folder"``:
        ``path`` must not be a file; it is created (with its parents) if missing.
    overwrite : bool
        If false, an existing file (kind ``"file"``), or an existing folder that is not empty (kind
        ``"folder"``), is refused.
    name : str
        The parameter or option that named ``path``, for the message.

    Returns
    -------
    pathlib.Path
        ``path`` made absolute with symlinks resolved.

    Raises
    ------
    OutputError
        Naming ``name``, the path and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import check_output
    >>> with tempfile.TemporaryDirectory() as d:
    ...     check_output(pathlib.Path(d) / "new" / "t.csv").parent.is_dir()
    True
    """
    if kind not in _KINDS:
        raise InputError(f"The 'kind' parameter of check_output must be 'file' or 'folder'. Got {kind!r}. "
                         "Fix: pass one of those.")
    try:
        given = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise OutputError(f"The {name!r} parameter must be a path (str or os.PathLike). Got "
                          f"{type(path).__name__}. Fix: pass the file or folder to write.") from None
    if str(given) in ("", "."):
        if kind == "file":
            raise OutputError(f"The {name!r} parameter is empty; it must name a file. Fix: pass e.g. 'out.csv'.")
    text = os.fsdecode(os.fspath(path))
    if kind == "file" and text.endswith(("/", os.sep)):  # 'report/' means a folder, though Path drops the slash
        raise OutputError(f"The {name!r} parameter names {text!r}, a folder (it ends in a slash), but a file must "
                          f"be written there. Fix: add a file name, e.g. {text + 'output.csv'!r}.")
    shown = repr(str(given))
    try:
        target = given.resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a symlink loop
        raise OutputError(f"The {name!r} parameter names {shown}, which cannot be resolved ({exc}). Fix: choose "
                          "a plain file or folder name.") from None
    # The nearest part of the path that exists must be a folder (or, for the target itself, of the right kind).
    if target.exists():
        if kind == "file" and target.is_dir():
            raise OutputError(f"The {name!r} parameter names {shown}, which is a folder, but a file must be "
                              "written there. Fix: add a file name, e.g. "
                              f"{str(given / ('output' + (given.suffix or '.csv')))!r}.")
        if kind == "folder" and not target.is_dir():
            raise OutputError(f"The {name!r} parameter names {shown}, which is a file, but a folder must be "
                              "written there. Fix: choose a folder name, or move the file away.")
        if not overwrite:
            if kind == "file":
                raise OutputError(f"The {name!r} parameter names {shown}, which already exists, and overwriting "
                                  "was not allowed. Fix: choose another name, delete the file, or allow "
                                  "overwriting.")
            if any(target.iterdir()):
                raise OutputError(f"The {name!r} parameter names the folder {shown}, which is not empty, and "
                                  "overwriting was not allowed. Fix: choose another folder, empty it, or allow "
                                  "overwriting.")
    folder = target.parent if kind == "file" else target
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise OutputError(f"The {name!r} parameter names {shown}, but {str(blocker)!r} is a file, so no folder "
                          "can be made there. Fix: choose another location, or move that file away.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"The {name!r} parameter names {shown}, but the folder {str(folder)!r} cannot be "
                          f"created ({exc.strerror or exc}). Fix: choose a location you can write to.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"The {name!r} parameter names {shown}, but the folder {str(folder)!r} is not "
                          "writable. Fix: choose a location you can write to, or ask for write permission.")
    return target


# -- atomic writes ----------------------------------------------------------------------------------------

_PROC_STATUS = "/proc/self/status"
#: mkstemp's names: ``.{target}.`` + 8 characters from this alphabet + ``.partial``.
_PARTIAL = r"\.{name}\.[a-z0-9_]{{8}}\.partial"


def _umask() -> int:
    """Read the process umask without changing it where the system allows (Linux), else set and restore it."""
    try:
        with open(_PROC_STATUS, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # os.umask is process-global: set and restore at once, one thread of ours at a time
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _lock(fd: int, *, wait: bool) -> bool:
    """Lock an open temporary file (released by the system when its writer dies, even by SIGKILL)."""
    if fcntl is None:  # pragma: no cover - not POSIX
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def remove_stale_partials(path) -> list[Path]:
    """Remove the temporary files of ``path`` left by writes that were killed.

    A temporary file is stale when no writer holds its lock: a live write (another thread or process writing
    the same target) keeps its file. Without file locks (not POSIX), only files a day old are removed.

    Parameters
    ----------
    path : str or os.PathLike
        The target whose ``.{name}.*.partial`` files (or folders) beside it are looked for.

    Returns
    -------
    list of pathlib.Path
        The files and folders removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import remove_stale_partials
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (pathlib.Path(d) / ".budgets.csv.abcd1234.partial").write_text("half a file")
    ...     [p.name for p in remove_stale_partials(pathlib.Path(d) / "budgets.csv")]
    ['.budgets.csv.abcd1234.partial']
    """
    path = Path(path)
    pattern = re.compile(_PARTIAL.format(name=re.escape(path.name)))
    try:
        candidates = [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []
    removed = []
    for candidate in candidates:
        try:
            if fcntl is None:  # pragma: no cover - not POSIX
                stale = time.time() - candidate.stat().st_mtime > 86_400
            else:
                fd = os.open(candidate, os.O_RDONLY)
                try:
                    stale = _lock(fd, wait=False)
                finally:
                    os.close(fd)  # closing releases the lock
            if stale:
                if candidate.is_dir() and not candidate.is_symlink():
                    shutil.rmtree(candidate)  # a folder output's temporary folder (atomic_folder)
                else:
                    candidate.unlink()
                removed.append(candidate)
        except OSError:  # removed meanwhile by another writer, or not ours to remove
            continue
    return removed


def _locked_temporary(path: Path, name: str) -> tuple[int, Path]:
    """Create a temporary file beside ``path``, locked (the lock is held until its descriptor is closed)."""
    for _ in range(5):
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        except OSError as exc:
            raise OutputError(f"The {name!r} parameter names {str(path)!r}, but no file can be created in "
                              f"{str(path.parent)!r} ({exc.strerror or exc}). Fix: choose a location you can "
                              "write to.") from None
        _lock(fd, wait=True)
        try:  # another run's clean-up may have taken it for stale in the instant before the lock
            if os.fstat(fd).st_ino == os.stat(tmp).st_ino:
                return fd, Path(tmp)
        except OSError:
            pass
        os.close(fd)
    raise OutputError(f"The {name!r} parameter names {str(path)!r}, but its temporary files keep disappearing "
                      f"from {str(path.parent)!r}. Fix: make sure no other process is cleaning that folder.")


@contextlib.contextmanager
def atomic_path(path, *, name: str = "path"):
    """Give a temporary path beside ``path`` to write, renamed over ``path`` when the block ends without error.

    For writers that need a file name (pandas, pyarrow, a streamed Parquet writer). The destination is checked
    first (:func:`check_output`; missing folders are created), stale temporary files of the same target are
    removed, and the file gets mode ``0o666 & ~umask``. On an exception (or KeyboardInterrupt) the temporary
    file is removed and ``path`` is left as it was; an operating-system failure while writing (a full disk)
    is raised as :class:`~capitation.errors.OutputError` naming the file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    name : str
        The parameter or option that named ``path``, for messages.

    Yields
    ------
    pathlib.Path
        The temporary file (it exists, empty): write the whole content there.

    Raises
    ------
    OutputError
        ``path`` cannot receive a file (see :func:`check_output`), or writing failed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import atomic_path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_path(pathlib.Path(d) / "a.txt") as tmp:
    ...         _ = tmp.write_text("whole")
    ...     sorted(p.name for p in pathlib.Path(d).iterdir())
    ['a.txt']
    """
    path = Path(path)
    check_output(path, kind="file", overwrite=True, name=name)
    remove_stale_partials(path)
    fd, tmp = _locked_temporary(path, name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it 0600; give the mode open() would have
        os.replace(tmp, path)  # atomic on one file system: readers see the old file or the whole new one
    except OSError as exc:  # a full disk, a quota, a folder removed mid-write: named, and nothing left behind
        tmp.unlink(missing_ok=True)
        raise OutputError(f"Writing the {name!r} output {str(path)!r} failed ({exc.strerror or exc}); the "
                          "previous file, if any, is unchanged. Fix: free space on that disk or check its "
                          "permissions, or choose another location.") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_folder(path, *, overwrite: bool = False, name: str = "path"):
    """Give a temporary folder beside ``path`` to fill, put in its place when the block ends without error.

    For outputs that are folders (a Parquet dataset). The temporary folder is ``.{name}.{random}.partial``
    and is locked while it is filled, so the next write removes it if the run was killed
    (:func:`remove_stale_partials`), and a concurrent one is left alone. An existing folder at ``path`` is
    refused unless ``overwrite``; it is replaced only once the new one is complete (moved aside, the new one
    renamed in, the old one removed). The folder gets mode ``0o777 & ~umask``.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to write.
    overwrite : bool
        Whether an existing, non-empty folder at ``path`` may be replaced.
    name : str
        The parameter or option that named ``path``, for messages.

    Yields
    ------
    pathlib.Path
        The temporary folder (empty): fill it.

    Raises
    ------
    OutputError
        ``path`` is a file, a non-empty folder without ``overwrite``, or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import atomic_folder
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_folder(pathlib.Path(d) / "dataset") as tmp:
    ...         _ = (tmp / "part-0.txt").write_text("whole")
    ...     sorted(p.name for p in (pathlib.Path(d) / "dataset").iterdir())
    ['part-0.txt']
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"The {name!r} parameter names {str(path)!r}, which is a file, where a folder must go. "
                          "Fix: choose a folder path, or remove the file.")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputError(f"The {name!r} parameter names {str(path)!r}, a folder that is not empty. Fix: pass "
                          "overwrite=True to replace it, or choose a new folder.")
    check_output(path.parent, kind="folder", overwrite=True, name=name)  # the parent exists (made) and is a folder
    remove_stale_partials(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"The {name!r} parameter names {str(path)!r}, but no folder can be created in "
                          f"{str(path.parent)!r} ({exc.strerror or exc}). Fix: choose a location you can "
                          "write to.") from None
    fd = os.open(tmp, os.O_RDONLY)
    _lock(fd, wait=True)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp made it 0700
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"Writing the {name!r} output folder {str(path)!r} failed ({exc.strerror or exc}). "
                          "Fix: free space on that disk or check its permissions, or choose another "
                          "location.") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(fd)


def atomic_write(path, write, *, name: str = "path") -> Path:
    """Write ``path`` by calling ``write(tmp)`` on a temporary file beside it, renamed over ``path`` on success.

    See :func:`atomic_path` for the checks made and the mode given.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    write : callable
        Called with the temporary file's path (str); must write the whole content there.
    name : str
        The parameter that named ``path``, for messages.

    Returns
    -------
    pathlib.Path
        ``path`` as given (not resolved).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from capitation._io import atomic_write
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = atomic_write(pathlib.Path(d) / "t.parquet", pd.DataFrame({"a": [1]}).to_parquet)
    ...     pd.read_parquet(out)["a"].tolist()
    [1]
    """
    path = Path(path)
    with atomic_path(path, name=name) as tmp:
        write(str(tmp))
    return path


_atomic = atomic_write  # the name the rest of the package has used


def atomic_write_bytes(path, data: bytes, *, name: str = "path") -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed on success (see :func:`atomic_write`).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    data : bytes
        The whole content.
    name : str
        The parameter that named ``path``, for messages.

    Returns
    -------
    pathlib.Path
        ``path`` as given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import atomic_write_bytes
    >>> with tempfile.TemporaryDirectory() as d:
    ...     atomic_write_bytes(pathlib.Path(d) / "model.npz", b"PK").read_bytes()
    b'PK'
    """
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), name=name)


def atomic_write_text(path, text: str, *, name: str = "path") -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed on success (see :func:`atomic_write`).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    text : str
        The whole content.
    name : str
        The parameter that named ``path``, for messages.

    Returns
    -------
    pathlib.Path
        ``path`` as given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import atomic_write_text
    >>> with tempfile.TemporaryDirectory() as d:
    ...     atomic_write_text(pathlib.Path(d) / "report.html", "<p>£55bn</p>").read_text(encoding="utf-8")
    '<p>£55bn</p>'
    """
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), name=name)


def atomic_write_csv(path, frame: pd.DataFrame, *, name: str = "path", **kwargs) -> Path:
    """Write ``frame`` as CSV to ``path`` through a temporary file renamed on success (see :func:`atomic_write`).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    frame : pandas.DataFrame
        The table.
    name : str
        The parameter that named ``path``, for messages.
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_csv` (e.g. ``index=False``).

    Returns
    -------
    pathlib.Path
        ``path`` as given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from capitation._io import atomic_write_csv
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = atomic_write_csv(pathlib.Path(d) / "budgets.csv", pd.DataFrame({"practice_code": ["A81001"]}),
    ...                            index=False)
    ...     out.read_text().splitlines()
    ['practice_code', 'A81001']
    """
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, **kwargs), name=name)


# -- paths found inside files -----------------------------------------------------------------------------

def resolve_inside(recorded, folder, *, field: str, source, fix: str) -> Path:
    """Resolve a path recorded in a file, relative to that file's folder, refusing any that escapes it.

    Parameters
    ----------
    recorded : str
        The path as written in the file (POSIX separators; relative).
    folder : str or os.PathLike
        The folder of the file that records it: the root the path must stay inside.
    field : str
        Where in the file the path was found (e.g. ``"outputs['budgets.csv']"``), for the message.
    source : str or os.PathLike
        The file that records the path, for the message.
    fix : str
        The end of the message's "Fix: ...".

    Returns
    -------
    pathlib.Path
        Absolute, with symlinks resolved, inside ``folder``.

    Raises
    ------
    ModelFileError
        The path is not text, is empty, is absolute, or resolves (through ``..`` or a symlink) outside
        ``folder``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import resolve_inside
    >>> with tempfile.TemporaryDirectory() as d:
    ...     resolve_inside("a/b.csv", d, field="f", source="m.json", fix="f").relative_to(pathlib.Path(d).resolve())
    PosixPath('a/b.csv')
    """
    where = f"{field} of {str(source)!r}"
    if not isinstance(recorded, str) or not recorded or "\0" in recorded:
        raise ModelFileError(f"The path in {where} is {recorded!r}, not a file name. Fix: {fix}.")
    if (PurePosixPath(recorded).is_absolute() or PureWindowsPath(recorded).is_absolute()
            or PureWindowsPath(recorded).drive or recorded.startswith(("/", "\\"))):
        raise ModelFileError(f"The path in {where} is {recorded!r}, an absolute path; paths recorded in a file "
                             "must be relative to its folder, so nothing outside it is read or written. "
                             f"Fix: {fix}.")
    root = Path(folder).resolve()
    try:
        resolved = (root / recorded).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ModelFileError(f"The path in {where} is {recorded!r}, which cannot be resolved ({exc}). "
                             f"Fix: {fix}.") from None
    if not resolved.is_relative_to(root):
        raise ModelFileError(f"The path in {where} is {recorded!r}, which resolves to {str(resolved)!r}, outside "
                             f"the file's folder {str(root)!r}; nothing outside it is read or written. "
                             f"Fix: {fix}.")
    return resolved


#: The key under which a self-hashed JSON document (a saved model, a manifest) records its own sha256.
HASH_KEY = "content_sha256"


# -- hashes -----------------------------------------------------------------------------------------------

def sha256_path(path) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative paths and contents, in sorted order).

    Parameters
    ----------
    path : str or os.PathLike
        A file, or a folder such as a partitioned Parquet dataset.

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation._io import sha256_path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (pathlib.Path(d) / "a.txt").write_bytes(b"abc")
    ...     sha256_path(pathlib.Path(d) / "a.txt")[:16]
    'ba7816bf8f01cfea'
    """
    path = Path(path)
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
            digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
            digest.update(sha256_path(file).encode("ascii") + b"\n")
        return digest.hexdigest()
    raise InputError(f"Cannot hash {str(path)!r}: it does not exist. Fix: check the path.")


def _canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


class _NotStrictJSON(ValueError):
    """Raised inside the JSON parser's hooks; the reader turns it into a ModelFileError naming the file."""


def _reject_constant(token: str):
    raise _NotStrictJSON(f"the token {token} is not JSON (a number that is not finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value):
        raise _NotStrictJSON(f"the number {text} is out of range (not finite)")
    return value


def _unique_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise _NotStrictJSON(f"the key(s) {repeated} appear twice in one object")
    return dict(pairs)


def _strict_json(text: str):
    """JSON as the standard defines it: no ``NaN``/``Infinity`` tokens, no out-of-range numbers, no repeated keys."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                      object_pairs_hook=_unique_keys)


def read_hashed_document(path, *, kind: str, version: int, what: str, label: str, fix_missing: str,
                         fix_foreign: str, fix_version: str, fix_edited: str, name: str = "path") -> dict:
    """Read a JSON document that carries a hash of its own content, refusing anything doubtful.

    Shared by saved models and run manifests: the file must exist, be strict JSON (no ``NaN`` or
    ``Infinity``, no repeated keys), declare ``format == kind`` and ``format_version == version``, and its
    content must hash to the recorded ``content_sha256`` (any edit after writing is caught). The hash is the
    SHA-256 of the document without that key, as compact JSON with sorted keys.

    Parameters
    ----------
    path : str or os.PathLike
        The document.
    kind : str
        The ``format`` it must declare.
    version : int
        The ``format_version`` it must declare.
    what : str
        What the file is, for messages (``"model file"``, ``"manifest"``).
    label : str
        What a file of the right kind is called, for the message refusing another kind.
    fix_missing, fix_foreign, fix_version, fix_edited : str
        The fix each message suggests: for a missing file, a file of another kind, another format version,
        and a file whose content fails its hash.
    name : str
        The parameter that named ``path``, for messages.

    Returns
    -------
    dict
        The whole document, ``content_sha256`` included.

    Raises
    ------
    ModelFileError
        Each refusal, naming the file and the fix.

    Examples
    --------
    >>> import hashlib, json, pathlib, tempfile
    >>> from capitation._io import HASH_KEY, read_hashed_document
    >>> document = {"format": "demo", "format_version": 1, "control_total": "55000000000"}
    >>> document[HASH_KEY] = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":"))
    ...                                     .encode()).hexdigest()
    >>> def saved(folder, content):
    ...     path = pathlib.Path(folder) / "run.json"
    ...     _ = path.write_text(json.dumps(content))
    ...     return path
    >>> expect = dict(kind="demo", version=1, what="demo file", label="demo file", fix_missing="check the path",
    ...               fix_foreign="pass a demo file", fix_version="upgrade", fix_edited="write it again")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     read_hashed_document(saved(d, document), **expect)["control_total"]
    '55000000000'
    >>> with tempfile.TemporaryDirectory() as d:
    ...     read_hashed_document(saved(d, {**document, "control_total": "56000000000"}),
    ...                          **expect)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.ModelFileError: The demo file '...run.json' fails its content hash: ... Fix: write it again.
    """
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise ModelFileError(f"The {name!r} parameter must name the {what} (a str or os.PathLike). Got "
                             f"{type(path).__name__}. Fix: {fix_missing}.") from None
    shown = repr(str(path))
    if path.is_dir():
        raise ModelFileError(f"The {name!r} parameter names {shown}, which is a folder, not a {what}. "
                             f"Fix: {fix_missing}.")
    if not path.is_file():
        raise ModelFileError(f"The {what} {shown} does not exist. Fix: {fix_missing}.")
    try:
        document = _strict_json(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ModelFileError(f"The {what} {shown} is not JSON ({exc}). Fix: {fix_foreign}.") from None
    except OSError as exc:
        raise ModelFileError(f"The {what} {shown} cannot be read ({exc.strerror or exc}). Fix: check its "
                             "permissions, or copy it somewhere readable.") from None
    if not isinstance(document, dict) or document.get("format") != kind:
        raise ModelFileError(f"The file {shown} is not a {label} (no format {kind!r}). Fix: {fix_foreign}.")
    if document.get("format_version") != version:
        raise ModelFileError(f"The {what} {shown} has format version {document.get('format_version')!r}, "
                             f"written by capitation {document.get('library_version')}; this version reads format "
                             f"{version}. Fix: {fix_version}.")
    recorded = document.pop(HASH_KEY, None)
    actual = hashlib.sha256(_canonical(document)).hexdigest()
    if recorded != actual:
        raise ModelFileError(f"The {what} {shown} fails its content hash: it records {str(recorded)[:16]}... "
                             f"but its content hashes to {actual[:16]}..., so it was edited after it was written. "
                             f"Fix: {fix_edited}.")
    document[HASH_KEY] = recorded
    return document


# -- tables -----------------------------------------------------------------------------------------------

#: Columns read as text from CSV files, whatever their values look like.
_TEXT_COLUMNS = ("practice_code", "lsoa_code", "consortium_code", "consortium_name", "icb_code",
                 "icb_name", "icd10", "register", "fy", "setting", "position", "sex")


def read_parquet_columns(path: Path, *, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read ``columns`` of a Parquet file or dataset folder, naming the file in any error.

    Parameters
    ----------
    path : pathlib.Path
        A ``.parquet`` file or a folder of them (hive partitions allowed).
    name : str
        The parameter that named the path, for messages.
    columns : sequence of str, optional
        Columns to read; a missing one raises :class:`SchemaError` listing what the file has.

    Returns
    -------
    pandas.DataFrame
        Dictionary-encoded columns arrive as Categoricals; hive partition keys as columns.

    Raises
    ------
    InputError
        The file or dataset cannot be read.
    SchemaError
        A column asked for is missing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from capitation._io import read_parquet_columns
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "people.parquet"
    ...     pd.DataFrame({"person_id": [1, 2], "age": [34, 71]}).to_parquet(path)
    ...     read_parquet_columns(path, name="people", columns=["age"])["age"].tolist()
    [34, 71]
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
    except (pa.ArrowException, OSError) as exc:  # ArrowInvalid, ArrowTypeError, ArrowNotImplementedError, ...
        raise InputError(f"The {name!r} parameter points to {str(path)!r}, which is not a readable Parquet "
                         f"file or dataset ({exc}). Fix: rewrite it, or check it is not truncated.") from exc
    if columns is not None:
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise SchemaError(f"The Parquet data at {str(path)!r} (parameter {name!r}) has no column(s) "
                              f"{missing}; it has {dataset.schema.names}. Fix: rename or add them.")
    try:
        return dataset.to_table(columns=list(columns) if columns is not None else None).to_pandas()
    except (pa.ArrowException, OSError) as exc:  # ArrowInvalid, ArrowTypeError, ArrowNotImplementedError, ...
        raise InputError(f"Reading {str(path)!r} (parameter {name!r}) failed: {exc}. Fix: the files of a dataset "
                         "may disagree on a column's type (rewrite them with one schema), or a file may be truncated "
                         "or written by an interrupted job; rewrite it.") from exc


def as_frame(data, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Return ``data`` as a DataFrame; a path to a Parquet file or dataset is read (only ``columns``).

    Parameters
    ----------
    data : pandas.DataFrame, str or os.PathLike
        The table, or where it is stored as Parquet.
    name : str
        The parameter's name, used in error messages.
    columns : sequence of str, optional
        Columns to read from Parquet (all when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``data`` itself when it is a DataFrame (not copied).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._io import as_frame
    >>> as_frame(pd.DataFrame({"a": [1]}), "people").shape
    (1, 1)
    """
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which does not exist. "
                             "Fix: pass a DataFrame or the path of a Parquet file or dataset folder.")
        return read_parquet_columns(path, name=name, columns=columns)
    raise SchemaError(f"The {name!r} parameter must be a pandas DataFrame or a Parquet path. "
                      f"Got {type(data).__name__} instead. Fix: build a DataFrame, e.g. pd.DataFrame(records).")


def read_table(data, name: str, columns=None, *, categorical: str = "decode", text: bool = False) -> pd.DataFrame:
    """Read a table from a DataFrame, a Parquet file or dataset folder, or a ``.csv`` file.

    Parameters
    ----------
    data : pandas.DataFrame, str or os.PathLike
        The table, or where it is stored. Codes (practice, LSOA, ICD-10, ...) are read from CSV as text.
    name : str
        The parameter that named it, for error messages.
    columns : sequence of str, optional
        Columns to read from Parquet (all by default).
    categorical : {"decode", "keep"}
        Parquet's dictionary-encoded columns arrive as pandas Categoricals. ``"decode"`` turns each into its
        plain values; ``"keep"`` leaves those of text (codes) as Categoricals, for the functions that take them
        as they are (:class:`~capitation.inputs.Population`, :class:`~capitation.inputs.DiagnosisTable`,
        :class:`~capitation.inputs.ConditionTable`, the areas of :func:`~capitation.features.encode`), and
        still decodes those of numbers or dates, which the checks take as plain columns.
    text : bool
        Read every column of a CSV file as text, exactly as written (no number parsing, blanks stay ``""``):
        for NHS extracts whose codes (``FYEAR`` ``0102``, ``SEX``, dates) must not be reinterpreted.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from capitation._io import read_table, write_table
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_table(pd.DataFrame({"practice_code": ["A81001"], "need": [1.5]}), pathlib.Path(d) / "n.csv")
    ...     read_table(p, "need").to_dict("list")
    {'practice_code': ['A81001'], 'need': [1.5]}
    """
    if categorical not in ("decode", "keep"):
        raise InputError(f"The 'categorical' parameter of read_table must be 'decode' or 'keep'. Got "
                         f"{categorical!r}. Fix: categorical='keep' leaves Parquet's dictionary columns as "
                         "Categoricals.")
    if isinstance(data, str | os.PathLike) and Path(data).suffix.lower() == ".csv":
        path = Path(data)
        if not path.is_file():
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which does not exist. Fix: check the "
                             "path.")
        try:
            if text:
                return _read_csv_text(path, columns)
            head = pd.read_csv(path, nrows=0)
            codes = {c: str for c in head.columns if c in _TEXT_COLUMNS}
            return pd.read_csv(path, dtype=codes, keep_default_na=True, usecols=columns)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which is not a readable CSV table "
                             f"({exc}). Fix: rewrite it as CSV with a header row, or use Parquet.") from None
    frame = as_frame(data, name, columns)  # a DataFrame as it is, or Parquet
    if not isinstance(data, pd.DataFrame):
        # Parquet dictionary columns arrive as categoricals; the input checks expect plain numbers and dates,
        # and plain codes unless the caller takes categoricals.
        keep = categorical == "keep" or text
        dictionary = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)
                      and not (keep and pd.api.types.is_string_dtype(frame[c].cat.categories))]
        if dictionary:
            frame = frame.assign(**{c: frame[c].astype(frame[c].cat.categories.dtype) for c in dictionary})
    return frame


def _read_csv_text(path: Path, columns) -> pd.DataFrame:
    """Every column of a CSV file as text, dictionary-encoded: pandas Categoricals of the strings as written.

    An NHS extract repeats a few thousand distinct values per column over millions of rows; Arrow's reader
    (threaded) stores each distinct value once, and the readers then clean each distinct value once.
    """
    import pyarrow.csv as pacsv

    return pacsv.read_csv(path, convert_options=_csv_text_options(path, columns)).to_pandas()


def _csv_text_options(path: Path, columns, plain=()):
    """Arrow's options to read ``columns`` (all by default) of a CSV file as dictionary-encoded text.

    The columns ``plain`` (identifiers, a distinct value per row or nearly) are read as plain strings:
    encoding them would only cost time.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = pd.read_csv(path, nrows=0, dtype=str).columns
    names = list(header) if columns is None else list(columns)
    absent = [c for c in names if c not in header]
    if absent:
        raise SchemaError(f"The CSV file {str(path)!r} has no column(s) {absent}. It has {list(header)[:12]}. "
                          "Fix: check the column names.")
    text = pa.dictionary(pa.int32(), pa.string())
    return pacsv.ConvertOptions(column_types={c: pa.string() if c in plain else text for c in header},
                                include_columns=names,
                                strings_can_be_null=False, quoted_strings_can_be_null=False)


def iter_table_batches(data, name: str, columns=None, *, batch_rows: int, plain=()):
    """Yield a table in batches of at most about ``batch_rows`` rows, every column as text where it is read.

    The streaming twin of :func:`read_table` with ``text=True``: a CSV file is read by Arrow in blocks, every
    field dictionary-encoded text exactly as written; Parquet (a file or dataset folder) in record batches; a
    DataFrame in slices. Each batch's index holds its rows' positions in the whole table (a DataFrame's
    slices keep its own labels), so errors name the same rows as a whole read would.

    Parameters
    ----------
    data : pandas.DataFrame, str or os.PathLike
        The table, or where it is stored.
    name : str
        The parameter that named it, for error messages.
    columns : sequence of str, optional
        Columns to read (all by default).
    batch_rows : int
        Rows per batch, at most (a CSV batch ends at the first block boundary past it, so it may hold a few
        more).
    plain : sequence of str
        Columns of a CSV file to read as plain strings rather than dictionary-encoded (identifiers).

    Yields
    ------
    pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation._io import iter_table_batches
    >>> [b.index.tolist() for b in iter_table_batches(pd.DataFrame({"a": range(5)}), "t", batch_rows=2)]
    [[0, 1], [2, 3], [4]]
    """
    import pyarrow as pa

    if isinstance(data, pd.DataFrame):
        frame = data if columns is None else data[list(columns)]
        for start in range(0, len(frame), batch_rows):
            yield frame.iloc[start:start + batch_rows]
        if not len(frame):
            yield frame
        return
    if isinstance(data, str | os.PathLike) and Path(data).suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        path = Path(data)
        if not path.is_file():
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which does not exist. Fix: check the "
                             "path.")
        options = _csv_text_options(path, columns, plain)
        try:
            reader = pacsv.open_csv(path, convert_options=options)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which is not a readable CSV table "
                             f"({exc}). Fix: rewrite it as CSV with a header row, or use Parquet.") from None
        batches = _guarded_batches(reader, name, path)
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in options.include_columns})
    else:
        import pyarrow.dataset as ds

        path = Path(as_path(data, name))
        try:
            dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"The {name!r} parameter points to {str(path)!r}, which is not a readable Parquet "
                             f"file or dataset ({exc}). Fix: rewrite it, or check it is not truncated.") from exc
        batches = _guarded_batches(dataset.to_batches(columns=None if columns is None else list(columns),
                                                      batch_size=batch_rows), name, path)
        empty = dataset.schema.empty_table().to_pandas()
    offset, held, rows = 0, [], 0
    for batch in batches:
        held.append(batch)
        rows += batch.num_rows
        if rows >= batch_rows:
            yield _batch_frame(held, offset)
            offset, held, rows = offset + rows, [], 0
    if held:
        yield _batch_frame(held, offset)
    elif not offset:  # no rows at all: the columns, empty
        yield empty


def as_path(data, name: str) -> Path:
    """Return ``data`` as an existing path, or raise naming the parameter."""
    if not isinstance(data, str | os.PathLike):
        raise SchemaError(f"The {name!r} parameter must be a pandas DataFrame or a path. Got "
                          f"{type(data).__name__} instead. Fix: build a DataFrame, e.g. pd.DataFrame(records).")
    if not Path(data).exists():
        raise InputError(f"The {name!r} parameter names {str(data)!r}, which does not exist. Fix: check the path.")
    return Path(data)


def _guarded_batches(batches, name: str, path: Path):
    import pyarrow as pa

    try:
        yield from batches
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"Reading {str(path)!r} (parameter {name!r}) failed: {exc}. Fix: rewrite the file; it may "
                         "be truncated or hold a row with the wrong number of fields.") from None


def _batch_frame(batches: list, offset: int) -> pd.DataFrame:
    import pyarrow as pa

    frame = pa.Table.from_batches(batches).to_pandas()
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


def write_table(frame: pd.DataFrame, path, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV or Parquet (by the suffix of ``path``), atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    path : str or os.PathLike
        Ending in ``.csv`` or ``.parquet``.
    index : bool
        Write the index as a column.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from capitation._io import write_table
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_table(pd.DataFrame({"a": [1]}), pathlib.Path(d) / "t.parquet").name
    't.parquet'
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"The 'frame' parameter of write_table must be a pandas DataFrame. Got "
                         f"{type(frame).__name__}. Fix: pass a DataFrame (pd.DataFrame(...)).")
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise InputError(f"The 'path' parameter of write_table must be a file name (str or os.PathLike). Got "
                         f"{type(path).__name__}. Fix: pass e.g. 'budgets.csv'.") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=index))
    if suffix == ".parquet":
        return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=index, engine="pyarrow"))
    raise InputError(f"The output {str(path)!r} must end in .csv or .parquet. Got suffix {suffix!r}. "
                     "Fix: choose one of those.")
