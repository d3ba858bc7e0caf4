"""capitation: person-based resource allocation for GP practices and their consortia.

The pipeline, in the order the subpackages read::

    inputs → features → model → scoring → aggregation → allocation

Examples
--------
>>> import capitation
>>> {"Population", "FeatureSpec", "CostModel", "score", "aggregate", "allocate"} <= set(capitation.__all__)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._version import __version__

if TYPE_CHECKING:  # what the names below are, for type checkers and documentation; imported on first use
    from .aggregation import Aggregation, Membership, MembershipHistory, aggregate
    from .allocation import Allocation, allocate
    from .features import DiagnosisGrouping, FeatureMatrix, FeatureSpec, encode
    from .inputs import ConditionTable, DiagnosisTable, Population
    from .model import CostModel, FitResult, SufficientStats, fit_ols
    from .scoring import score

#: Each public name and the subpackage that defines it. ``import capitation`` imports none of them: a name is
#: imported when first used, so a script that only aggregates never loads scikit-learn, statsmodels or scipy.
_HOMES = {
    "Aggregation": ".aggregation", "Membership": ".aggregation", "MembershipHistory": ".aggregation",
    "aggregate": ".aggregation", "Allocation": ".allocation", "allocate": ".allocation",
    "DiagnosisGrouping": ".features", "FeatureMatrix": ".features", "FeatureSpec": ".features", "encode": ".features",
    "ConditionTable": ".inputs", "DiagnosisTable": ".inputs", "Population": ".inputs", "CostModel": ".model",
    "FitResult": ".model", "SufficientStats": ".model", "fit_ols": ".model", "score": ".scoring",
}



__all__ = [
    "Aggregation",
    "Allocation",
    "ConditionTable",
    "CostModel",
    "DiagnosisGrouping",
    "DiagnosisTable",
    "FeatureMatrix",
    "FeatureSpec",
    "FitResult",
    "Membership",
    "MembershipHistory",
    "Population",
    "SufficientStats",
    "__version__",
    "aggregate",
    "allocate",
    "encode",
    "fit_ols",
    "score",
    "warmup",
]

__getattr__, __dir__ = lazy_names(__name__, _HOMES, __all__, submodules=True)


def warmup() -> float:
    """Compile every kernel for the canonical float64/int32 signatures, so the first real call is fast.

    Services call this at start-up; it takes a few seconds once per process.

    Returns
    -------
    float
        The seconds spent (next to nothing once the kernels are compiled).

    Examples
    --------
    >>> import capitation
    >>> capitation.warmup() >= 0
    True
    """
    import time

    import numpy as np

    from ._compute import gram, group_sum_fixed, score_csr
    from ._config import readonly
    from ._kernels.cells import wide_cells
    from ._kernels.design import distinct_pairs
    from ._kernels.groupby import group_count, regroup_sum

    start = time.perf_counter()
    # Kernels take read-only inputs (capitation._config.readonly): compile exactly that signature.
    indptr, indices = readonly(np.array([0, 1, 2], dtype=np.int64)), readonly(np.array([0, 1], dtype=np.int32))
    data = y = readonly(np.ones(2))
    gram(indptr, indices, data, y, y, 2, 1, np.zeros((2, 2)), np.zeros(2), np.zeros(2), np.zeros(4))
    score_csr(indptr, indices, data, y, np.empty(2))
    codes = readonly(np.array([0, -1], dtype=np.int32))
    group_sum_fixed(data, codes, 2.0**20, 1, np.zeros(1, dtype=np.int64))
    group_count(codes, np.zeros(1, dtype=np.int64))
    regroup_sum(readonly(np.ones(2, dtype=np.int64)), codes, np.zeros(1, dtype=np.int64))
    pairs = readonly(np.zeros(2, dtype=np.int64))
    distinct_pairs(pairs, pairs, 1, 1, np.empty(2, np.int64), np.empty(2, np.int64), np.empty(2, np.int64))
    wide_cells(np.zeros((2, 1), dtype=np.int32), np.empty(2, np.int64), np.empty(2, np.int64), np.empty(2, np.int32))
    return time.perf_counter() - start
