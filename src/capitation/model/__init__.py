"""Step 3 of the pipeline: fit the person-level cost model from sufficient statistics, and validate it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .compare import ModelComparison, compare_models
    from .estimator import CostModel, fit_ols
    from .ladder import PUBLISHED_LADDER, LadderResult, LadderRung, ladder_specs, pbra_ladder
    from .results import FitResult
    from .stats import BLOCK_SIZE, BlockStats, SufficientStats
    from .validation import ValidationResult, split_people, split_practices, validate

#: Each name and its module, imported on first use: CostModel's base class loads scikit-learn (about a second),
#: which scoring with a FitResult, sufficient statistics and the streamed fit's folding do not need.
_HOMES = {
    "ModelComparison": ".compare", "compare_models": ".compare", "CostModel": ".estimator", "fit_ols": ".estimator",
    "PUBLISHED_LADDER": ".ladder", "LadderResult": ".ladder", "LadderRung": ".ladder", "ladder_specs": ".ladder",
    "pbra_ladder": ".ladder", "FitResult": ".results", "BLOCK_SIZE": ".stats", "BlockStats": ".stats",
    "SufficientStats": ".stats", "ValidationResult": ".validation", "split_people": ".validation",
    "split_practices": ".validation", "validate": ".validation",
}



__all__ = [
    "BLOCK_SIZE",
    "PUBLISHED_LADDER",
    "BlockStats",
    "CostModel",
    "FitResult",
    "LadderResult",
    "LadderRung",
    "ModelComparison",
    "SufficientStats",
    "ValidationResult",
    "compare_models",
    "fit_ols",
    "ladder_specs",
    "pbra_ladder",
    "split_people",
    "split_practices",
    "validate",
]

__getattr__, __dir__ = lazy_names(__name__, _HOMES, __all__)
