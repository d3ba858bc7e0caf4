"""The person-level design as compressed sparse rows, never a dense people × columns matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["EXCLUSION_WORDS", "ROLES", "FeatureMatrix", "describe_exclusions"]

#: What a column stands for; scoring neutralises the ``supply`` and ``fixed-effect`` roles.
ROLES = ("demographic", "morbidity", "primary-care", "need", "supply", "fixed-effect")


#: Each reason a record is not encoded (the keys of ``FeatureMatrix.exclusions``), in words.
EXCLUSION_WORDS = {
    "diagnoses_other_setting": "diagnosis records of a setting the spec does not read",
    "diagnoses_other_position": "diagnosis records in a position the spec does not read",
    "diagnoses_outside_window": "diagnosis records outside the look-back years",
    "diagnoses_unknown_person": "diagnosis records of people not in the population",
    "diagnoses_malformed_code": "diagnosis records whose code is not ICD-10",
    "diagnoses_ungrouped_code": "diagnosis records whose code is in no diagnosis group",
    "diagnoses_superseded_by_hierarchy": "diagnosis records of a group outranked by a more severe one",
    "conditions_register_not_in_spec": "GP condition records of a register the spec does not use",
    "conditions_recorded_in_outcome_year": "GP condition records made in or after the outcome year",
    "conditions_unknown_person": "GP condition records of people not in the population",
}


def describe_exclusions(exclusions: dict) -> str:
    """Say in words which records were not used, with how many, largest first.

    Parameters
    ----------
    exclusions : dict of str → int
        Counts by reason, as :attr:`FeatureMatrix.exclusions`.

    Returns
    -------
    str
        ``"none"``, or one clause per reason separated by semicolons.

    Examples
    --------
    >>> print(describe_exclusions({"diagnoses_ungrouped_code": 21525, "diagnoses_other_setting": 259382}))
    259,382 diagnosis records of a setting the spec does not read; 21,525 diagnosis records whose code is in no ...
    >>> describe_exclusions({})
    'none'
    """
    if not exclusions:
        return "none"
    words = []
    for reason, count in sorted(exclusions.items(), key=lambda item: (-item[1], item[0])):
        if reason in EXCLUSION_WORDS:
            words.append(f"{count:,} {EXCLUSION_WORDS[reason]}")
        elif reason.startswith("fixed_effect_") and reason.endswith("_unseen_level"):
            words.append(f"{count:,} people in a {reason[13:-13]!r} level not seen in fitting")
        else:
            words.append(f"{count:,} {reason.replace('_', ' ')}")
    return "; ".join(words)


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
    warnings : tuple of str
        What probably went wrong, with its likely cause, e.g. a block of the design in which no one has any
        column although its table was given (:func:`~capitation.features.encode` also issues each as a
        :class:`~capitation.errors.CapitationWarning`).

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
    warnings: tuple = ()

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
                             self.row_ids[rows], dict(self.exclusions), self.spec, self.warnings)

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
            lines.append("  records not used: " + describe_exclusions(self.exclusions))
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()
