"""Reading and writing files: outputs that never look complete when they are not, paths that stay inside.

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
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

from .errors import InputError, ModelFileError, OutputError

__all__ = ["atomic_folder", "atomic_path", "atomic_write", "atomic_write_bytes", "atomic_write_csv",
           "atomic_write_text", "check_output", "remove_stale_partials", "resolve_inside"]

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
    """The process umask, read without changing it where the system allows (Linux), else set-and-restored."""
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
    """Remove the temporary files of ``path`` left by writes that were killed; returns those removed.

    A temporary file is stale when no writer holds its lock: a live write (another thread or process writing
    the same target) keeps its file. Without file locks (not POSIX), only files a day old are removed.
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
    """A new temporary file beside ``path``, locked (the lock is held until its descriptor is closed)."""
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
    """A temporary path beside ``path`` to write, renamed over ``path`` when the block ends without error.

    For writers that need a file name (pandas, pyarrow, a streamed Parquet writer). The destination is checked
    first (:func:`check_output`; missing folders are created), stale temporary files of the same target are
    removed, and the file gets mode ``0o666 & ~umask``. On an exception (or KeyboardInterrupt) the temporary
    file is removed and ``path`` is left as it was; an operating-system failure while writing (a full disk)
    is raised as :class:`~capitation.errors.OutputError` naming the file.

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
    """A temporary folder beside ``path`` to fill, put in its place when the block ends without error.

    For outputs that are folders (a Parquet dataset). The temporary folder is ``.{name}.{random}.partial``
    and is locked while it is filled, so the next write removes it if the run was killed
    (:func:`remove_stale_partials`), and a concurrent one is left alone. An existing folder at ``path`` is
    refused unless ``overwrite``; it is replaced only once the new one is complete (moved aside, the new one
    renamed in, the old one removed). The folder gets mode ``0o777 & ~umask``.

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
    write : callable
        Called with the temporary file's path (str); must write the whole content there.
    name : str
        The parameter that named ``path``, for messages.

    Returns
    -------
    pathlib.Path
        ``path`` as given (not resolved).
    """
    path = Path(path)
    with atomic_path(path, name=name) as tmp:
        write(str(tmp))
    return path


_atomic = atomic_write  # the name the rest of the package has used


def atomic_write_bytes(path, data: bytes, *, name: str = "path") -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed on success."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), name=name)


def atomic_write_text(path, text: str, *, name: str = "path") -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed on success."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), name=name)


def atomic_write_csv(path, frame: pd.DataFrame, *, name: str = "path", **kwargs) -> Path:
    """Write ``frame`` as CSV to ``path`` through a temporary file renamed on success."""
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
