"""The person-level design as compressed sparse rows, never a dense people × columns matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["ROLES", "FeatureMatrix"]

#: What a column stands for; scoring neutralises the ``supply`` and ``fixed-effect`` roles.
ROLES = ("demographic", "morbidity", "primary-care", "need", "supply", "fixed-effect")


@dataclass(frozen=True, eq=False)
class FeatureMatrix:
    """CSR arrays plus column metadata and row ids.

    Attributes
    ----------
    indptr : ndarray of int64, shape (n_rows + 1,)
        Row ``i``'s entries are ``indices[indptr[i]:indptr[i + 1]]``.
    indices : ndarray of int32
        Column of each entry, strictly increasing within a row.
    data : ndarray of float64
        Value of each entry.
    columns : pandas.DataFrame
        One row per column: ``name``, ``block``, ``role``.
    row_ids : ndarray
        The ``person_id`` of each row.
    exclusions : dict
        Records not encoded, by reason (e.g. ``{"diagnoses_ungrouped_code": 12}``), each counted once under the
        first reason that applies (the precedence is in :func:`~capitation.features.encode`'s notes); nothing
        is dropped silently.
    spec : FeatureSpec or None
        The spec that built the matrix, with any learned fixed-effect levels: encode new data with it.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    columns: pd.DataFrame
    row_ids: np.ndarray
    exclusions: dict = field(default_factory=dict)
    spec: object = None

    @property
    def n_rows(self) -> int:
        """Number of people."""
        return len(self.indptr) - 1

    @property
    def n_columns(self) -> int:
        """Number of design columns."""
        return len(self.columns)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_columns)``."""
        return self.n_rows, self.n_columns

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return len(self.indices)

    @property
    def column_names(self) -> list[str]:
        """Column names in design order."""
        return self.columns["name"].tolist()

    def to_scipy(self):
        """The design as a ``scipy.sparse.csr_array`` (for interoperability and tests)."""
        from scipy import sparse

        return sparse.csr_array((self.data, self.indices, self.indptr), shape=self.shape)

    def toarray(self, max_cells: int = 50_000_000) -> np.ndarray:
        """A dense copy, for small data only (refuses more than ``max_cells`` cells)."""
        if self.n_rows * self.n_columns > max_cells:
            raise InputError(f"A dense copy would hold {self.n_rows * self.n_columns:,} cells, over the 'max_cells' "
                             f"limit of {max_cells:,}. Fix: use the sparse arrays, or raise max_cells knowingly.")
        return self.to_scipy().toarray()

    def take(self, rows) -> FeatureMatrix:
        """The rows at positions ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, stops = self.indptr[rows], self.indptr[rows + 1]
        lengths = stops - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        gather = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return FeatureMatrix(indptr, self.indices[gather], self.data[gather], self.columns,
                             self.row_ids[rows], dict(self.exclusions), self.spec)

    def summary(self) -> str:
        """Plain-text description: size, density, columns by block, exclusions."""
        blocks = self.columns.groupby("block", sort=False).size()
        lines = [f"FeatureMatrix: {self.n_rows:,} people × {self.n_columns:,} columns, {self.nnz:,} entries "
                 f"({self.nnz / max(self.n_rows, 1):.2f} per person)"]
        lines += [f"  {block:<16}{count:>6} columns" for block, count in blocks.items()]
        if self.exclusions:
            lines.append("  excluded records: " + ", ".join(f"{k} {v:,}" for k, v in self.exclusions.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()
