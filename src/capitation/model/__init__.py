"""Step 3 of the pipeline: fit the person-level cost model from sufficient statistics, and validate it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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
    "ModelComparison": "compare", "compare_models": "compare", "CostModel": "estimator", "fit_ols": "estimator",
    "PUBLISHED_LADDER": "ladder", "LadderResult": "ladder", "LadderRung": "ladder", "ladder_specs": "ladder",
    "pbra_ladder": "ladder", "FitResult": "results", "BLOCK_SIZE": "stats", "BlockStats": "stats",
    "SufficientStats": "stats", "ValidationResult": "validation", "split_people": "validation",
    "split_practices": "validation", "validate": "validation",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
