"""Step 3 of the pipeline: fit the person-level cost model from sufficient statistics, and validate it."""

from .compare import ModelComparison, compare_models
from .estimator import CostModel, fit_ols
from .ladder import PUBLISHED_LADDER, LadderResult, LadderRung, ladder_specs, pbra_ladder
from .results import FitResult
from .stats import BLOCK_SIZE, BlockStats, SufficientStats
from .validation import ValidationResult, split_people, split_practices, validate

__all__ = [
    "BLOCK_SIZE",
    "BlockStats",
    "PUBLISHED_LADDER",
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
