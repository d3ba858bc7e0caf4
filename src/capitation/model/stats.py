"""Sufficient statistics of weighted least squares: additive, so chunks and machines can share the work."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._config import readonly
from .._kernels.design import gram
from ..errors import InputError, SchemaError

__all__ = ["BLOCK_SIZE", "SufficientStats", "as_csr"]

#: Rows per block of the Gram kernel. Results depend on it (floating-point order), never on threads.
BLOCK_SIZE = 32_768


def _kernel_design(indptr, indices, data):
    """CSR arrays as the kernels take them: contiguous int64 / int32 / float64, read-only views."""
    return (readonly(np.ascontiguousarray(indptr, dtype=np.int64)),
            readonly(np.ascontiguousarray(indices, dtype=np.int32)),
            readonly(np.ascontiguousarray(data, dtype=np.float64)))


def as_csr(X):
    """``(indptr int64, indices int32, data float64, column names)`` of a design.

    Accepts a :class:`~capitation.features.FeatureMatrix`, a scipy sparse matrix or array, or a dense 2-D
    array (converted; dense input is for small data and scikit-learn compatibility).
    """
    from ..features.matrix import FeatureMatrix

    if isinstance(X, FeatureMatrix):
        return X.indptr, X.indices, X.data, X.column_names
    try:
        from scipy import sparse
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        sparse = None
    if sparse is not None and sparse.issparse(X):
        if X.shape[1] == 0:
            raise InputError(f"The design 'X' has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required. "
                             "Fix: encode at least the age–sex cells.")
        csr = sparse.csr_array(X)
        if np.iscomplexobj(csr.data):
            raise InputError("Complex data not supported: the design 'X' holds complex numbers. "
                             "Fix: pass real values.")
        csr.sum_duplicates()
        csr.sort_indices()
        names = [f"x{j}" for j in range(csr.shape[1])]
        return (csr.indptr.astype(np.int64), csr.indices.astype(np.int32), csr.data.astype(np.float64), names)
    array = np.asarray(X)
    if array.dtype == object:
        raise SchemaError("The design 'X' has object dtype. Fix: convert it to numbers, e.g. X.astype(float).")
    if array.ndim != 2:  # a shape problem is a value problem (ValueError), as scikit-learn expects
        raise InputError(f"The design 'X' must be 2-D (people × columns). Got shape {array.shape}. "
                         "Fix: Reshape your data, e.g. X.reshape(-1, 1) for one column.")
    if array.shape[1] == 0:
        raise InputError(f"The design 'X' has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required. "
                         "Fix: encode at least the age–sex cells.")
    if np.iscomplexobj(array):
        raise InputError("Complex data not supported: the design 'X' holds complex numbers. "
                             "Fix: pass real values.")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise InputError("The design 'X' holds NaN or infinity. Fix: fill or remove those values.")
    rows, cols = np.nonzero(array)
    indptr = np.zeros(array.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=array.shape[0]), out=indptr[1:])
    names = [f"x{j}" for j in range(array.shape[1])]
    return indptr, cols.astype(np.int32), array[rows, cols], names


def check_outcome(y, n_rows: int, name: str = "y") -> np.ndarray:
    """``y`` as contiguous float64 of length ``n_rows``, finite and non-negative."""
    if y is None:
        raise InputError(f"The estimator requires {name} to be passed, but the target {name} is None. "
                         "Fix: pass the annual cost of each person.")
    values = np.asarray(y)
    if values.dtype == object:
        raise SchemaError(f"The {name!r} parameter has object dtype. Fix: pd.to_numeric({name}).")
    if np.iscomplexobj(values):
        raise InputError(f"Complex data not supported: the {name!r} parameter holds complex numbers. "
                         "Fix: pass real values.")
    values = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if len(values) != n_rows:
        raise InputError(f"The {name!r} parameter has {len(values):,} values for {n_rows:,} design rows. "
                         "Fix: pass one value per person, in design row order.")
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"The {name!r} parameter holds NaN or infinity at {int(bad.sum()):,} row(s), first "
                         f"at row {int(np.flatnonzero(bad)[0])} ({float(values[bad][0])!r}). "
                         "Fix: fill or remove those people.")
    return values


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """Everything weighted least squares needs, from one pass over the data.

    ``xtwx`` holds the upper triangle of XᵀWX; ``moments`` is ``[n, Σw, Σwy, Σwy²]``. Adding the statistics
    of two disjoint chunks gives the statistics of their union (to floating-point rounding; bit-identical to
    one pass when streamed chunks end on a multiple of :data:`BLOCK_SIZE` rows, as the streaming readers
    arrange).

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import SufficientStats
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    >>> both = SufficientStats.from_design(X, [1.0, 3.0, 2.0])
    >>> parts = SufficientStats.from_design(X[:1], [1.0]) + SufficientStats.from_design(X[1:], [3.0, 2.0])
    >>> bool(np.allclose(both.xtwx, parts.xtwx)), both.n
    (True, 3)
    """

    xtwx: np.ndarray
    xtwy: np.ndarray
    xtw1: np.ndarray
    moments: np.ndarray
    columns: tuple[str, ...]
    roles: tuple[str, ...] | None = None

    @classmethod
    def empty(cls, columns, roles=None) -> SufficientStats:
        """Zero statistics for ``columns`` (with their ``roles``, when known)."""
        p = len(columns)
        return cls(np.zeros((p, p)), np.zeros(p), np.zeros(p), np.zeros(4), tuple(columns),
                   None if roles is None else tuple(roles))

    @classmethod
    def from_design(cls, X, y, weights=None, *, block_size: int = BLOCK_SIZE) -> SufficientStats:
        """Statistics of design ``X``, outcome ``y`` and optional ``weights`` (e.g. exposure)."""
        from ..features.matrix import FeatureMatrix

        indptr, indices, data, names = as_csr(X)
        stats = cls.empty(names, X.columns["role"].tolist() if isinstance(X, FeatureMatrix) else None)
        stats.accumulate_csr(indptr, indices, data, y, weights, block_size=block_size)
        return stats

    def accumulate_csr(self, indptr, indices, data, y, weights=None, *, block_size: int = BLOCK_SIZE) -> None:
        """Add a chunk's rows into these statistics in place (used by streaming fits)."""
        n_rows = len(indptr) - 1
        y = check_outcome(y, n_rows)
        w = np.ones(n_rows) if weights is None else check_outcome(weights, n_rows, "weights")
        if (w < 0).any():
            raise InputError(f"The 'weights' parameter must be non-negative. Got {float(w.min())!r} at row "
                             f"{int(np.argmin(w))}. Fix: weights are exposures in years, from 0 to 1.")
        if len(indices) and (indices.min() < 0 or indices.max() >= len(self.columns)):
            raise InputError("The design's column indices do not fit the statistics' columns. "
                             "Fix: encode every chunk with the same fitted FeatureSpec.")
        gram(*_kernel_design(indptr, indices, data), readonly(np.ascontiguousarray(w, dtype=np.float64)),
             readonly(np.ascontiguousarray(y, dtype=np.float64)), len(self.columns), block_size,
             self.xtwx, self.xtwy, self.xtw1, self.moments)

    def __add__(self, other: SufficientStats) -> SufficientStats:
        if not isinstance(other, SufficientStats):
            return NotImplemented
        if other.columns != self.columns:
            raise SchemaError("Cannot add sufficient statistics of designs with different columns. "
                              "Fix: encode every part with the same FeatureSpec.")
        return SufficientStats(self.xtwx + other.xtwx, self.xtwy + other.xtwy, self.xtw1 + other.xtw1,
                               self.moments + other.moments, self.columns, self.roles or other.roles)

    @property
    def n(self) -> int:
        """Number of rows seen."""
        return int(self.moments[0])

    @property
    def gram(self) -> np.ndarray:
        """The full symmetric XᵀWX."""
        upper = np.triu(self.xtwx)
        return upper + np.triu(upper, 1).T

    @property
    def column_means(self) -> np.ndarray:
        """Weighted mean of each column (XᵀW1 / Σw): the national average used to neutralise supply."""
        return self.xtw1 / self.moments[1]
