"""Step 4 of the pipeline: predicted need per person, with supply neutralised."""

from .score import NEUTRAL_ROLES, score

__all__ = ["NEUTRAL_ROLES", "score"]
