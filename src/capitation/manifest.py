"""Deprecated alias of :mod:`capitation.cli.manifest`, where run manifests now live.

The command line records them. Importing this module warns (:class:`DeprecationWarning`); every name it had
is still here.

Examples
--------
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", DeprecationWarning)
...     from capitation.manifest import record_run
>>> import capitation.cli.manifest
>>> record_run is capitation.cli.manifest.record_run
True
"""

from __future__ import annotations

import warnings

from .cli import manifest as _manifest
from .cli.manifest import (
    MANIFEST_FORMAT,
    PATH_OPTIONS,
    Manifest,
    Reproduction,
    check_run_folder,
    read_manifest,
    record_run,
    reproduce,
)

__all__ = ["MANIFEST_FORMAT", "PATH_OPTIONS", "Manifest", "Reproduction", "check_run_folder", "read_manifest",
           "record_run", "reproduce"]

warnings.warn("capitation.manifest is deprecated: import from capitation.cli.manifest instead.", DeprecationWarning,
              stacklevel=2)


def __getattr__(name: str):
    """Look up the other names of :mod:`capitation.cli.manifest` (private helpers included), as before the move."""
    try:
        return getattr(_manifest, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
