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
    """The person-level design: CSR arrays plus column metadata and row ids.

    Made by :func:`~capitation.features.encode` (or :meth:`FeatureSpec.encode`); one row per person of the
    population, in its order. It is never densified for real data: :meth:`toarray` is for small examples.

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

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.features import FeatureSpec, encode
    >>> people = pd.DataFrame({"person_id": [1, 2, 3], "practice_code": ["A81001"] * 3, "sex": ["F", "M", "F"],
    ...                        "age": [3, 92, 40], "lsoa_code": ["E01011959"] * 3})
    >>> conditions = pd.DataFrame({"person_id": [2, 2, 9], "register": ["DM", "HYP", "DM"]})
    >>> spec = FeatureSpec(diagnosis_grouping=None, conditions=("DM",), on_unknown_person="ignore")
    >>> X = encode(spec, people, conditions=conditions)
    >>> X.shape, X.nnz, X.column_names[-1]
    ((3, 39), 4, 'gp:DM')
    >>> X.exclusions
    {'conditions_register_not_in_spec': 1, 'conditions_unknown_person': 1}
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
        """Return the design as a ``scipy.sparse.csr_array`` (for interoperability and tests).

        Returns
        -------
        scipy.sparse.csr_array
            Of shape :attr:`shape`, with the same entries.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.features import FeatureSpec, encode
        >>> people = pd.DataFrame({"person_id": [1, 2, 3], "practice_code": ["A81001"] * 3,
        ...                        "sex": ["F", "M", "F"], "age": [3, 92, 40], "lsoa_code": ["E01011959"] * 3})
        >>> X = encode(FeatureSpec(diagnosis_grouping=None), people)
        >>> A = X.to_scipy()
        >>> A.shape, float(A.sum())
        ((3, 38), 3.0)
        """
        from scipy import sparse

        return sparse.csr_array((self.data, self.indices, self.indptr), shape=self.shape)

    def toarray(self, max_cells: int = 50_000_000) -> np.ndarray:
        """Return a dense copy, for small data only.

        Parameters
        ----------
        max_cells : int, default 50_000_000
            The largest number of cells (rows × columns) allowed: about 400 MB of float64.

        Returns
        -------
        ndarray of float64, shape (n_rows, n_columns)

        Raises
        ------
        InputError
            The copy would hold more than ``max_cells`` cells.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.features import FeatureSpec, encode
        >>> people = pd.DataFrame({"person_id": [1, 2, 3], "practice_code": ["A81001"] * 3,
        ...                        "sex": ["F", "M", "F"], "age": [3, 92, 40], "lsoa_code": ["E01011959"] * 3})
        >>> X = encode(FeatureSpec(diagnosis_grouping=None), people)
        >>> X.toarray().sum(axis=1).tolist()
        [1.0, 1.0, 1.0]
        >>> X.toarray(max_cells=100)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        capitation.errors.InputError: A dense copy would hold 114 cells, over the 'max_cells' limit of 100. ...
        """
        if self.n_rows * self.n_columns > max_cells:
            raise InputError(f"A dense copy would hold {self.n_rows * self.n_columns:,} cells, over the 'max_cells' "
                             f"limit of {max_cells:,}. Fix: use the sparse arrays, or raise max_cells knowingly.")
        return self.to_scipy().toarray()

    def take(self, rows) -> FeatureMatrix:
        """Select the rows at positions ``rows``, in that order, as a new matrix.

        Parameters
        ----------
        rows : array-like of int
            Row positions; a row may be taken more than once.

        Returns
        -------
        FeatureMatrix
            Same columns, exclusions and spec; ``row_ids`` follow the rows taken.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.features import FeatureSpec, encode
        >>> people = pd.DataFrame({"person_id": [1, 2, 3], "practice_code": ["A81001"] * 3,
        ...                        "sex": ["F", "M", "F"], "age": [3, 92, 40], "lsoa_code": ["E01011959"] * 3})
        >>> X = encode(FeatureSpec(diagnosis_grouping=None), people)
        >>> part = X.take([2, 0])
        >>> part.row_ids.tolist(), [part.column_names[j] for j in part.indices]
        ([3, 1], ['age_sex:F_40-44', 'age_sex:F_0-4'])
        """
        rows = np.asarray(rows, dtype=np.int64)
        starts, stops = self.indptr[rows], self.indptr[rows + 1]
        lengths = stops - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        gather = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return FeatureMatrix(indptr, self.indices[gather], self.data[gather], self.columns,
                             self.row_ids[rows], dict(self.exclusions), self.spec)

    def summary(self) -> str:
        """Describe the matrix in plain text: size, density, columns by block, exclusions.

        Returns
        -------
        str
            Several lines; also the matrix's ``repr``.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.features import FeatureSpec, encode
        >>> people = pd.DataFrame({"person_id": [1, 2, 3], "practice_code": ["A81001"] * 3,
        ...                        "sex": ["F", "M", "F"], "age": [3, 92, 40], "lsoa_code": ["E01011959"] * 3})
        >>> X = encode(FeatureSpec(diagnosis_grouping=None), people)
        >>> print(X.summary())
        FeatureMatrix: 3 people × 38 columns, 3 entries (1.00 per person)
          age_sex             38 columns
        """
        blocks = self.columns.groupby("block", sort=False).size()
        lines = [f"FeatureMatrix: {self.n_rows:,} people × {self.n_columns:,} columns, {self.nnz:,} entries "
                 f"({self.nnz / max(self.n_rows, 1):.2f} per person)"]
        lines += [f"  {block:<16}{count:>6} columns" for block, count in blocks.items()]
        if self.exclusions:
            lines.append("  excluded records: " + ", ".join(f"{k} {v:,}" for k, v in self.exclusions.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()
