"""The one home of numba's compilation flags, its on-disk cache and the kernels' threads.

Why one module: every kernel takes its decorator from here, so a reviewer checks one file to know that nothing
near money is compiled with ``fastmath`` (which allows reassociation and would make totals depend on the
compiler's whims), and CI can grep for a literal ``fastmath=`` anywhere else.

* ``FASTMATH`` is ``False`` and stays so for every kernel in this package.
* Every kernel is serial (``nogil``, no ``parallel=True``): the kernels that share work across cores are run
  over fixed ranges by :func:`parallel_for` on a thread pool. Serial kernels compile several times faster than
  ``prange`` ones, the ranges depend on the data's size only (so results do not depend on the thread count),
  and they are safe to cache, which parallel kernels loaded from a cache have not always been (pynndescent
  PR #175).
* ``CACHE``: compiled kernels are kept on disk by default, in a directory of their own per user, per version of
  capitation and of numba (:data:`CACHE_DIR`), so a second process starts without compiling. numba also keys
  each entry on the source file, the Python version and the CPU. A cache file that cannot be read is ignored
  with a :class:`KernelCacheWarning` and rewritten. ``CAPITATION_NUMBA_CACHE=0`` turns caching off;
  ``CAPITATION_CACHE_DIR`` moves it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np

from ._version import __version__
from .errors import InputError

__all__ = ["CACHE", "CACHE_DIR", "FASTMATH", "NJIT_FLAGS", "KernelCacheWarning", "kernel", "parallel_for",
           "readonly", "threads"]

FASTMATH: bool = False

#: Kernels are cached on disk unless ``CAPITATION_NUMBA_CACHE=0``.
CACHE: bool = os.environ.get("CAPITATION_NUMBA_CACHE", "1") != "0"


def _cache_dir() -> Path:
    root = os.environ.get("CAPITATION_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "capitation")
    return Path(root) / f"kernels-capitation{__version__}-numba{numba.__version__}"


#: Where compiled kernels are kept: per user (the home directory's cache), per capitation and numba version.
CACHE_DIR: Path = _cache_dir()

#: Flags of every kernel (all serial: see :func:`parallel_for`). Caching is handled by :func:`kernel`.
NJIT_FLAGS: dict = {"nogil": True, "fastmath": FASTMATH, "cache": False, "error_model": "numpy"}


class KernelCacheWarning(UserWarning):
    """A compiled kernel could not be read from, or written to, the on-disk cache; it is compiled instead."""


def _enable_cache(dispatcher) -> None:
    """Give ``dispatcher`` an on-disk cache in :data:`CACHE_DIR` that warns, never fails, on a bad file.

    numba's own cache raises on a corrupt index (an unpickling error) and picks its directory from global
    settings shared with every other numba user in the process; this one is ours alone.
    """
    from numba.core.caching import (  # numba's documented extension points for cache locations
        CompileResultCacheImpl,
        FunctionCache,
        UserProvidedCacheLocator,
    )

    class Locator(UserProvidedCacheLocator):
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(CACHE_DIR / self.get_suitable_cache_subpath(py_file))

        @classmethod
        def from_function(cls, py_func, py_file):
            if not os.path.exists(py_file):
                return None
            self = cls(py_func, py_file)
            try:
                self.ensure_cache_path()
            except OSError:
                return None
            return self

    class Impl(CompileResultCacheImpl):
        _locator_classes = (Locator,)

    class Cache(FunctionCache):
        _impl_class = Impl

        def load_overload(self, sig, target_context):
            try:
                return super().load_overload(sig, target_context)
            except Exception as exc:  # a truncated or foreign file: compile afresh and rewrite it
                warnings.warn(f"capitation could not read its compiled-kernel cache for {self._py_func.__name__} "
                              f"({type(exc).__name__}: {exc}); compiling it instead. The file is replaced. "
                              f"Cache: {CACHE_DIR}", KernelCacheWarning, stacklevel=2)
                with contextlib.suppress(OSError):
                    os.remove(self._cache_file._index_path)
                return None

        def save_overload(self, sig, data):
            try:
                super().save_overload(sig, data)
            except Exception as exc:
                warnings.warn(f"capitation could not write its compiled-kernel cache for {self._py_func.__name__} "
                              f"({type(exc).__name__}: {exc}); it will compile again next time. Cache: {CACHE_DIR}",
                              KernelCacheWarning, stacklevel=2)

    if not os.path.exists(dispatcher.py_func.__code__.co_filename):
        return  # defined interactively (a notebook cell, a doctest): no source file to key a cache on
    try:
        dispatcher._cache = Cache(dispatcher.py_func)
    except Exception as exc:  # no writable directory: run uncached rather than fail at import
        warnings.warn(f"capitation cannot cache compiled kernels in {CACHE_DIR} ({exc}); they will be compiled in "
                      "each process. Set CAPITATION_CACHE_DIR to a writable folder, or CAPITATION_NUMBA_CACHE=0.",
                      KernelCacheWarning, stacklevel=3)


def kernel(function: Callable) -> Callable:
    """Compile ``function`` as a capitation kernel: ``numba.njit`` with :data:`NJIT_FLAGS`, cached on disk.

    Parameters
    ----------
    function : callable
        A plain-Python loop over contiguous arrays.

    Returns
    -------
    numba dispatcher
        Compiled on first call (or loaded from :data:`CACHE_DIR`).

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._config import kernel
    >>> @kernel
    ... def total(values):
    ...     s = 0.0
    ...     for v in values:
    ...         s += v
    ...     return s
    >>> total(np.arange(4.0))
    6.0
    """
    dispatcher = numba.njit(**NJIT_FLAGS)(function)
    if CACHE:
        _enable_cache(dispatcher)
    return dispatcher


# ----------------------------------------------------------------------------------------------------------
# threads
# ----------------------------------------------------------------------------------------------------------

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _reset_pool() -> None:  # a forked child has the pool object but not its threads
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_reset_pool)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS),
                                       thread_name_prefix="capitation-kernel")
        return _POOL


def parallel_for(task: Callable[[int, int], None], n: int, grain: int) -> None:
    """Run ``task(start, stop)`` over ``[0, n)`` cut into ranges of ``grain`` items, on the kernels' threads.

    The ranges depend on ``n`` and ``grain`` only, never on the number of threads, and each task writes only
    its own outputs, so results are bit-identical whatever the thread count. Kernels release the GIL, so up
    to ``numba.get_num_threads()`` ranges run at once (set it with :func:`threads`). The calling thread works
    too, so a call from inside another pool task cannot deadlock. The first error raised by a task is
    re-raised once every running task has finished.

    Parameters
    ----------
    task : callable
        ``task(start, stop)``, typically a lambda calling a kernel on rows ``start:stop``.
    n : int
        Number of items.
    grain : int
        Items per range (at least 1).

    Returns
    -------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._config import parallel_for
    >>> out = np.zeros(10)
    >>> parallel_for(lambda start, stop: out.__setitem__(slice(start, stop), start), 10, 4)
    >>> out.tolist()
    [0.0, 0.0, 0.0, 0.0, 4.0, 4.0, 4.0, 4.0, 8.0, 8.0]
    """
    grain = max(1, int(grain))
    starts = range(0, int(n), grain)
    workers = min(numba.get_num_threads(), len(starts))
    if workers <= 1:
        for start in starts:
            task(start, min(start + grain, n))
        return
    lock = threading.Lock()
    pending = iter(starts)

    def work() -> None:
        while True:
            with lock:
                start = next(pending, None)
            if start is None:
                return
            task(start, min(start + grain, n))

    futures = [_pool().submit(work) for _ in range(workers - 1)]
    try:
        work()
    finally:
        errors = [f.exception() for f in futures]  # waits for each
    for error in errors:
        if error is not None:
            raise error


def readonly(array: np.ndarray) -> np.ndarray:
    """Return a read-only view of ``array`` (no copy): the form in which every kernel takes its inputs.

    numba compiles a separate version of a kernel for read-only arrays, and a compilation costs seconds.
    Frozen results hold read-only arrays while fresh ones are writeable, so callers pass every kernel input
    through here: one signature, the one :func:`capitation.warmup` compiles, whatever the caller holds.

    Parameters
    ----------
    array : numpy.ndarray
        Any array; it is not changed (its own ``writeable`` flag stays as it was).

    Returns
    -------
    numpy.ndarray
        A view sharing ``array``'s memory, with ``flags.writeable`` False.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation._config import readonly
    >>> a = np.zeros(3)
    >>> view = readonly(a)
    >>> view.flags.writeable, a.flags.writeable, np.shares_memory(view, a)
    (False, True, True)
    """
    view = array.view()
    view.flags.writeable = False
    return view


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[int]:
    """Run a block with ``n`` numba threads, restoring the previous setting afterwards.

    Parameters
    ----------
    n : int or None
        Number of threads, from 1 to ``numba.config.NUMBA_NUM_THREADS``; ``None`` leaves the current setting.

    Yields
    ------
    int
        The number of threads in force inside the block.

    Raises
    ------
    InputError
        ``n`` is not a whole number in that range (raised as the block is entered).

    Examples
    --------
    >>> from capitation._config import threads
    >>> with threads(1) as n:
    ...     n
    1
    """
    previous = numba.get_num_threads()
    if n is None:
        yield previous
        return
    if not isinstance(n, int) or isinstance(n, bool) or n < 1 or n > numba.config.NUMBA_NUM_THREADS:
        raise InputError(
            f"The 'n_threads' parameter must be an integer between 1 and {numba.config.NUMBA_NUM_THREADS}. "
            f"Got {n!r} instead."
        )
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)
