"""Sufficient statistics of weighted least squares: additive, so chunks and machines can share the work.

Every pass over the data is here. A design is converted once into the kernels' form (:func:`_as_design`), its
outcome and weights checked once (:func:`check_outcome`, :func:`check_weights`); the first pass accumulates
:class:`SufficientStats` (``SufficientStats._add``) and the second, for the robust covariance, the Gram matrix
of weighted residuals (:func:`_residual_gram`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._compute import fold_blocks, gram, gram_blocks, score_csr
from .._config import readonly
from ..errors import InputError, SchemaError

__all__ = ["BLOCK_SIZE", "BlockStats", "SufficientStats", "as_csr", "check_outcome", "check_weights"]

#: Rows per block of the Gram kernel. Results depend on it (floating-point order), never on threads.
BLOCK_SIZE = 32_768


def _kernel_design(indptr, indices, data):
    """CSR arrays as the kernels take them: contiguous int64 / int32 / float64, read-only views."""
    return (readonly(np.ascontiguousarray(indptr, dtype=np.int64)),
            readonly(np.ascontiguousarray(indices, dtype=np.int32)),
            readonly(np.ascontiguousarray(data, dtype=np.float64)))


class _Design(NamedTuple):
    """A design converted once into the kernels' form: what every pass over the data reads.

    ``indptr``, ``indices`` and ``data`` are contiguous int64 / int32 / float64 read-only arrays; ``roles`` is
    the role of each column of a :class:`~capitation.features.FeatureMatrix` (``None`` for other designs).
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    columns: list
    roles: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1


def _as_design(X) -> _Design:
    """Convert the design ``X`` once (see :func:`as_csr`), keeping its column roles when it has them."""
    from ..features.matrix import FeatureMatrix

    indptr, indices, data, names = as_csr(X)
    roles = X.columns["role"].to_numpy() if isinstance(X, FeatureMatrix) else None
    return _Design(*_kernel_design(indptr, indices, data), names, roles)


def as_csr(X):
    """``(indptr int64, indices int32, data float64, column names)`` of a design.

    Accepts a :class:`~capitation.features.FeatureMatrix`, a scipy sparse matrix or array, or a dense 2-D
    array (converted; dense input is for small data and scikit-learn compatibility).

    Parameters
    ----------
    X : FeatureMatrix, scipy sparse or 2-D array
        The design, people × columns.

    Returns
    -------
    tuple
        ``(indptr, indices, data, names)``: the CSR arrays and the column names (``x0``, ``x1``, ... for
        designs without names).

    Raises
    ------
    InputError
        ``X`` is not 2-D, has no columns, holds complex numbers, NaN or infinity.
    SchemaError
        ``X`` has object dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model.stats import as_csr
    >>> indptr, indices, data, names = as_csr(np.array([[1.0, 0.0], [1.0, 2.0]]))
    >>> indptr.tolist(), indices.tolist(), data.tolist(), names
    ([0, 1, 3], [0, 0, 1], [1.0, 1.0, 2.0], ['x0', 'x1'])
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
    """``y`` as contiguous float64 of length ``n_rows``, and finite.

    Parameters
    ----------
    y : array-like
        One value per design row.
    n_rows : int
        Rows of the design.
    name : str
        The parameter's name, for the error messages.

    Returns
    -------
    ndarray of float64
        Flattened, contiguous.

    Raises
    ------
    InputError
        ``y`` is None, complex, of another length, or holds NaN or infinity.
    SchemaError
        ``y`` has object dtype.

    Examples
    --------
    >>> from capitation.model.stats import check_outcome
    >>> check_outcome([[1], [2]], 2).tolist()
    [1.0, 2.0]
    """
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


def check_weights(weights, n_rows: int, name: str = "weights", *, caller: str | None = None,
                  positive_total: bool = False) -> np.ndarray:
    """Weights per person (e.g. exposure in years) as float64: finite and non-negative; ones when ``None``.

    Parameters
    ----------
    weights : array-like or None
        One weight per design row.
    n_rows : int
        Rows of the design.
    name : str
        The parameter's name, for the error messages.
    caller : str, optional
        The function the parameter belongs to, for the error messages (``"CostModel.fit"``).
    positive_total : bool
        Also refuse weights that sum to zero (no one counts).

    Returns
    -------
    ndarray of float64

    Raises
    ------
    InputError
        As :func:`check_outcome`, or a weight is negative, or (``positive_total``) none is positive.

    Examples
    --------
    >>> from capitation.model.stats import check_weights
    >>> check_weights(None, 2).tolist(), check_weights([0.5, 1], 2).tolist()
    ([1.0, 1.0], [0.5, 1.0])
    >>> check_weights([1.0, -0.5], 2, "sample_weight", caller="CostModel.fit")
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'sample_weight' parameter of CostModel.fit must be non-negative. Got -0.5 \
at row 1. Fix: weights are exposures in years, from 0 to 1.
    """
    if weights is None:
        return np.ones(n_rows)
    w = check_outcome(weights, n_rows, name)
    of = "" if caller is None else f" of {caller}"
    if positive_total and not w.sum() > 0:
        raise InputError(f"The {name!r} parameter{of} is zero for everyone, so no one counts. Fix: weights are "
                         "exposures in years; at least one must be positive.")
    if (w < 0).any():
        raise InputError(f"The {name!r} parameter{of} must be non-negative. Got {float(w.min())!r} at row "
                         f"{int(np.argmin(w))}. Fix: weights are exposures in years, from 0 to 1.")
    return w


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """Everything weighted least squares needs, from one pass over the data.

    ``xtwx`` holds the upper triangle of XᵀWX; ``moments`` is ``[n, Σw, Σwy, Σwy²]``. Adding the statistics
    of two disjoint chunks gives the statistics of their union (to floating-point rounding; bit-identical to
    one pass when streamed chunks end on a multiple of :data:`BLOCK_SIZE` rows, as the streaming readers
    arrange).

    Attributes
    ----------
    xtwx : ndarray, shape (p, p)
        Upper triangle of XᵀWX (the full matrix is :attr:`gram`).
    xtwy, xtw1 : ndarray, shape (p,)
        XᵀWy and XᵀW1.
    moments : ndarray, shape (4,)
        ``[n, Σw, Σwy, Σwy²]``.
    columns : tuple of str
        Design column names.
    roles : tuple of str or None
        Role of each column, when the design had them.

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
        """Zero statistics for ``columns`` (with their ``roles``, when known).

        Parameters
        ----------
        columns : sequence of str
            Design column names.
        roles : sequence of str, optional
            Role of each column.

        Returns
        -------
        SufficientStats

        Examples
        --------
        >>> from capitation.model import SufficientStats
        >>> SufficientStats.empty(["a", "b"]).xtwx.shape
        (2, 2)
        """
        p = len(columns)
        return cls(np.zeros((p, p)), np.zeros(p), np.zeros(p), np.zeros(4), tuple(columns),
                   None if roles is None else tuple(roles))

    @classmethod
    def from_design(cls, X, y, weights=None, *, block_size: int = BLOCK_SIZE) -> SufficientStats:
        """Statistics of design ``X``, outcome ``y`` and optional ``weights`` (e.g. exposure).

        Parameters
        ----------
        X : FeatureMatrix, scipy sparse or 2-D array
            The design (its column roles are kept when it is a FeatureMatrix).
        y : array-like
            Outcome per person.
        weights : array-like, optional
            Weight per person; ones when ``None``.
        block_size : int
            Rows per block of the accumulation kernel.

        Returns
        -------
        SufficientStats

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.model import SufficientStats
        >>> stats = SufficientStats.from_design(np.array([[1.0, 0.0], [1.0, 1.0]]), [1.0, 3.0], [1.0, 0.5])
        >>> stats.n, stats.xtwy.tolist()
        (2, [2.5, 1.5])
        """
        design = _as_design(X)
        y = check_outcome(y, design.n_rows)
        w = check_weights(weights, design.n_rows)
        stats = cls.empty(design.columns, design.roles)
        stats._add(design, y, w, block_size=block_size)
        return stats

    def accumulate_csr(self, indptr, indices, data, y, weights=None, *, block_size: int = BLOCK_SIZE) -> None:
        """Add a chunk's rows into these statistics in place (used by streaming fits).

        Parameters
        ----------
        indptr, indices, data : ndarray
            The chunk's design as CSR arrays, encoded onto these statistics' columns.
        y : array-like
            Outcome per row.
        weights : array-like, optional
            Weight per row; ones when ``None``.
        block_size : int
            Rows per block; chunks that end on a multiple of it add up bit-identically to one pass.

        Returns
        -------
        None

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.model import SufficientStats
        >>> stats = SufficientStats.empty(["a", "b"])
        >>> stats.accumulate_csr(np.array([0, 1, 3]), np.array([0, 0, 1]), np.array([1.0, 1.0, 2.0]), [1.0, 3.0])
        >>> stats.n, stats.xtwy.tolist()
        (2, [4.0, 6.0])
        """
        design = _Design(*_kernel_design(indptr, indices, data), list(self.columns))
        y = check_outcome(y, design.n_rows)
        w = check_weights(weights, design.n_rows)
        self._add(design, y, w, block_size=block_size)

    def _add(self, design: _Design, y: np.ndarray, w: np.ndarray, *, block_size: int) -> None:
        """Add a converted design's rows (the first pass), with outcome and weights already checked."""
        if len(design.indices) and (design.indices.min() < 0 or design.indices.max() >= len(self.columns)):
            raise InputError("The design's column indices do not fit the statistics' columns. "
                             "Fix: encode every chunk with the same fitted FeatureSpec.")
        gram(design.indptr, design.indices, design.data, readonly(np.ascontiguousarray(w, dtype=np.float64)),
             readonly(np.ascontiguousarray(y, dtype=np.float64)), len(self.columns), block_size,
             self.xtwx, self.xtwy, self.xtw1, self.moments)

    def fold(self, blocks: BlockStats) -> None:
        """Add consecutive blocks' statistics into these, in block order and in place: the fit's one reduction.

        Folding the blocks of every part of the data, part after part, gives the same bits as one pass over all
        of it, whoever computed the blocks (another thread, another process, another machine).

        Parameters
        ----------
        blocks : BlockStats
            Encoded onto these statistics' columns.

        Returns
        -------
        None

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.model import BlockStats, SufficientStats
        >>> X, y = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]]), np.array([1.0, 3.0, 2.0])
        >>> first, second = (BlockStats.from_design(X[:2], y[:2], block_size=1),
        ...                  BlockStats.from_design(X[2:], y[2:], block_size=1))
        >>> stats = SufficientStats.empty(first.columns)
        >>> stats.fold(first)
        >>> stats.fold(second)
        >>> bool(np.array_equal(stats.xtwx, SufficientStats.from_design(X, y, block_size=1).xtwx))
        True
        """
        if blocks.columns != self.columns:
            raise SchemaError("Cannot fold block statistics of a design with other columns. "
                              "Fix: encode every part with the same fitted FeatureSpec.")
        fold_blocks(blocks.xtwx, blocks.xtwy, blocks.xtw1, blocks.moments, self.xtwx, self.xtwy, self.xtw1,
                    self.moments)  # in block order, as the Gram kernel adds its blocks

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



class BlockStats(NamedTuple):
    """The statistics of each block of :data:`BLOCK_SIZE` consecutive rows, in order, not yet added.

    What a part of the data (a streamed batch, a worker's partition) hands back so that
    :meth:`SufficientStats.fold` can add the blocks in the order a single pass would: a fit from parts is then
    bit-identical to a fit in memory, provided each part starts on the block grid. A block's arrays are about
    ``8 p²`` bytes (0.3 MB at 192 columns).

    Attributes
    ----------
    xtwx : ndarray, shape (blocks, p, p)
    xtwy, xtw1 : ndarray, shape (blocks, p)
    moments : ndarray, shape (blocks, 4)
    columns : tuple of str
    roles : tuple of str or None

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.model import BlockStats
    >>> BlockStats.from_design(np.ones((5, 2)), np.arange(5.0), block_size=2).moments[:, 0].tolist()
    [2.0, 2.0, 1.0]
    """

    xtwx: np.ndarray
    xtwy: np.ndarray
    xtw1: np.ndarray
    moments: np.ndarray
    columns: tuple[str, ...]
    roles: tuple[str, ...] | None

    @classmethod
    def from_design(cls, X, y, weights=None, *, block_size: int = BLOCK_SIZE) -> BlockStats:
        """Statistics of each block of ``block_size`` rows of design ``X`` (outcome ``y``, ``weights``).

        Parameters
        ----------
        X : FeatureMatrix, scipy sparse or 2-D array
        y : array-like
        weights : array-like, optional
            Ones when ``None``.
        block_size : int

        Returns
        -------
        BlockStats

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.model import BlockStats
        >>> BlockStats.from_design(np.ones((3, 1)), [1.0, 2.0, 3.0], block_size=2).xtwy.tolist()
        [[3.0], [3.0]]
        """
        design = _as_design(X)
        y = check_outcome(y, design.n_rows)
        w = readonly(np.ascontiguousarray(check_weights(weights, design.n_rows), dtype=np.float64))
        p, n_blocks = len(design.columns), -(-design.n_rows // block_size)
        out = cls(np.empty((n_blocks, p, p)), np.empty((n_blocks, p)), np.empty((n_blocks, p)),
                  np.empty((n_blocks, 4)), tuple(design.columns), None if design.roles is None else tuple(design.roles))
        gram_blocks(design.indptr, design.indices, design.data, w, readonly(np.ascontiguousarray(y, dtype=np.float64)),
                    p, block_size, 0, out.xtwx, out.xtwy, out.xtw1, out.moments)
        return out


def _residual_gram(design: _Design, y: np.ndarray, w: np.ndarray, coef: np.ndarray, *, block_size: int) -> np.ndarray:
    """Sum (wᵢ eᵢ)² xᵢ xᵢᵀ over the rows of ``design``: the second pass, for White's robust covariance.

    The residuals ``e = y − X coef`` come from the coefficients of the first pass; the sum is the first pass's
    Gram matrix with weights ``(w e)²`` (outcome zero), so it shares its kernel and its determinism.
    """
    fitted = np.empty(design.n_rows)
    score_csr(design.indptr, design.indices, design.data, readonly(np.asarray(coef, dtype=np.float64)), fitted)
    u = w * (y - fitted)
    meat = SufficientStats.empty(design.columns)
    meat._add(design, np.zeros(design.n_rows), u * u, block_size=block_size)
    return meat.gram
