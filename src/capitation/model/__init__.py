"""Step 3 of the pipeline: fit the person-level cost model from sufficient statistics."""

from .estimator import CostModel, fit_ols
from .results import FitResult
from .stats import BLOCK_SIZE, SufficientStats

__all__ = ["BLOCK_SIZE", "CostModel", "FitResult", "SufficientStats", "fit_ols"]
