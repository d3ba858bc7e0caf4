"""Progress bars for long, streamed steps.

One wrapper so every long loop reports the same way: on a terminal it shows a tqdm bar on stderr; in CI, in
tests or when ``progress=False`` it stays silent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

__all__ = ["progress"]


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", enabled: bool | None = None,
             unit: str = "it") -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar when it helps a person watching.

    Parameters
    ----------
    iterable : iterable
        What to iterate over.
    total : int, optional
        Number of items, when ``len(iterable)`` is not available.
    desc : str
        Short label shown before the bar.
    enabled : bool, optional
        ``True`` forces a bar, ``False`` none; ``None`` (default) shows one only on an interactive stderr
        outside CI.
    unit : str
        Name of one item.

    Yields
    ------
    object
        The items of ``iterable``, unchanged and in order.

    Examples
    --------
    >>> from capitation._progress import progress
    >>> sum(progress(range(3), enabled=False))
    3
    """
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("CI")
    if not enabled:
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
