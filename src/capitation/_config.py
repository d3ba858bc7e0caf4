"""The one home of numba's compilation flags and thread settings.

Why one module: every kernel takes its flags from here, so a reviewer checks one file to know that nothing near
money is compiled with ``fastmath`` (which allows reassociation and would make totals depend on the compiler's
whims), and CI can grep for a literal ``fastmath=`` anywhere else.

* ``FASTMATH`` is ``False`` and stays so for every kernel in this package.
* ``CACHE`` (on-disk caching of compiled kernels) is opt-in with ``CAPITATION_NUMBA_CACHE=1``: caching is
  unsafe with some multiprocessing set-ups and stale caches are hard to debug, so services that want it ask.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

import numba
import numpy as np

from .errors import InputError

__all__ = ["CACHE", "FASTMATH", "NJIT_FLAGS", "PARALLEL_FLAGS", "readonly", "threads"]

FASTMATH: bool = False

CACHE: bool = os.environ.get("CAPITATION_NUMBA_CACHE", "0") == "1"
if CACHE:  # pragma: no cover - depends on the environment
    warnings.warn(
        "CAPITATION_NUMBA_CACHE=1: compiled kernels are cached on disk. Clear __pycache__ after upgrading "
        "numba, and avoid it with multiprocessing start methods other than 'spawn'.",
        stacklevel=2,
    )

#: Flags of serial kernels.
NJIT_FLAGS: dict = {"nogil": True, "fastmath": FASTMATH, "cache": CACHE, "error_model": "numpy"}
#: Flags of kernels that use ``prange``. Never cached: parallel kernels loaded from cache have segfaulted
#: in other projects (pynndescent PR #175).
PARALLEL_FLAGS: dict = {"nogil": True, "fastmath": FASTMATH, "cache": False, "parallel": True,
                        "error_model": "numpy"}


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
