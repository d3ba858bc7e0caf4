"""Deprecated alias: saved models are in :mod:`capitation.model.persist`, tables and hashes in :mod:`capitation._io`.

Importing this module warns (``DeprecationWarning``) and hands on the names it used to hold; nothing in
capitation imports it.

Examples
--------
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", DeprecationWarning)
...     from capitation.persist import save_model
>>> from capitation.model import persist
>>> save_model is persist.save_model
True
"""

from __future__ import annotations

import warnings

from ._io import HASH_KEY, _canonical, read_hashed_document, read_table, sha256_path, write_table
from .model.persist import FORMAT_VERSION, load_model, read_model_document, save_model, training_fingerprint

__all__ = [
    "FORMAT_VERSION",
    "HASH_KEY",
    "_canonical",
    "load_model",
    "read_hashed_document",
    "read_model_document",
    "read_table",
    "save_model",
    "sha256_path",
    "training_fingerprint",
    "write_table",
]

warnings.warn("capitation.persist is deprecated: import save_model, load_model, read_model_document, "
              "training_fingerprint and FORMAT_VERSION from capitation.model.persist, and read_table, write_table "
              "and sha256_path from capitation._io.", DeprecationWarning, stacklevel=2)
