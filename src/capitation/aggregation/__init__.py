"""Step 5 of the pipeline: people → practices → consortia, summed exactly."""

from .aggregate import FIXED_POINT_SCALE, Aggregation, aggregate, exact_group_sum
from .membership import UNASSIGNED, Membership, MembershipHistory

__all__ = [
    "FIXED_POINT_SCALE",
    "UNASSIGNED",
    "Aggregation",
    "Membership",
    "MembershipHistory",
    "aggregate",
    "exact_group_sum",
]
