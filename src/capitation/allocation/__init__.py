"""Step 6 of the pipeline: need to money, exact to the penny, with NHS England's mechanics and budget risk.

* :func:`allocate` — control total × need share, in whole pence, practices summed into consortia;
  optional :class:`ListInflation`, :class:`HealthInequalities`, :class:`UnavoidableCost` adjustments and
  distance from target against a baseline.
* :func:`published_need` — NHS England's practice weighted populations as need, without a model;
  :func:`need_from_table`, :func:`baseline_from_table` — need and current allocations from tables;
  :func:`need_on_published_lists` — deprecated: :func:`~capitation.aggregation.aggregate` funds lists.
* :func:`place_indices` — NHS England's place-based need indices.
* :func:`pace_of_change`, :func:`project_pace` — minimum growth, floor, cap, convergence, exact totals.
* :func:`budget_risk`, :func:`list_size_needed`, :func:`overspend_probability` — budget risk.
* :class:`RiskSharing`, :func:`simulate_risk_sharing`, :func:`compare_rules` — risk sharing inside a
  consortium (reserve, high-cost pool, surplus and deficit shares, carry-forward), simulated in pence.
* :func:`explain_budgets` — budget per head split into age–sex, morbidity, primary care and need.
* :func:`compare_geography` — budgets by registered list versus by residence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

# Imported now: the submodule ``allocate`` shares the function's name, and a lazily resolved name would find
# the submodule (which importing it binds on this package) instead of the function.
from .allocate import Allocation, allocate

if TYPE_CHECKING:
    from ..aggregation.membership import Membership, MembershipHistory
    from .adjustments import HealthInequalities, ListInflation, UnavoidableCost
    from .explain import BudgetExplanation, explain_budgets
    from .external import (
        COMPONENTS,
        baseline_from_table,
        need_from_table,
        need_on_published_lists,
        published_need,
        read_weighted_populations,
    )
    from .geography import GeographyComparison, compare_geography
    from .money import (
        exact_weights,
        format_pounds,
        pounds_to_pence_half_up,
        round_half_up,
        split_pence,
        split_thousands,
        thousands,
        to_pence,
    )
    from .pace import PaceOfChange, PaceProjection, PaceResult, pace_of_change, project_pace
    from .place import PlaceIndices, place_indices
    from .risk import BudgetRisk, budget_risk, list_size_needed, overspend_probability
    from .risk_sharing import RiskSharing, RiskSharingResult, RuleComparison, compare_rules, simulate_risk_sharing

#: Each name and its module (relative to this package), imported on first use: ``from capitation import allocate``
#: need not load budget risk, risk sharing or the published-need readers.
_HOMES = {
    "Membership": "..aggregation.membership", "MembershipHistory": "..aggregation.membership",
    "HealthInequalities": ".adjustments", "ListInflation": ".adjustments", "UnavoidableCost": ".adjustments",
    "BudgetExplanation": ".explain", "explain_budgets":
    ".explain", "COMPONENTS": ".external", "baseline_from_table": ".external", "need_from_table": ".external",
    "need_on_published_lists": ".external", "published_need": ".external", "read_weighted_populations":
    ".external", "GeographyComparison": ".geography", "compare_geography": ".geography", "exact_weights":
    ".money", "format_pounds": ".money", "pounds_to_pence_half_up": ".money", "round_half_up": ".money",
    "split_pence": ".money", "split_thousands": ".money", "thousands": ".money", "to_pence": ".money",
    "PaceOfChange": ".pace", "PaceProjection": ".pace", "PaceResult": ".pace", "pace_of_change": ".pace",
    "project_pace": ".pace", "PlaceIndices": ".place", "place_indices": ".place", "BudgetRisk": ".risk",
    "budget_risk": ".risk", "list_size_needed": ".risk", "overspend_probability": ".risk", "RiskSharing":
    ".risk_sharing", "RiskSharingResult": ".risk_sharing", "RuleComparison": ".risk_sharing", "compare_rules":
    ".risk_sharing", "simulate_risk_sharing": ".risk_sharing"
}



__all__ = [
    "COMPONENTS",
    "Allocation",
    "BudgetExplanation",
    "BudgetRisk",
    "GeographyComparison",
    "HealthInequalities",
    "ListInflation",
    "Membership",
    "MembershipHistory",
    "PaceOfChange",
    "PaceProjection",
    "PaceResult",
    "PlaceIndices",
    "RiskSharing",
    "RiskSharingResult",
    "RuleComparison",
    "UnavoidableCost",
    "allocate",
    "baseline_from_table",
    "budget_risk",
    "compare_geography",
    "compare_rules",
    "exact_weights",
    "explain_budgets",
    "format_pounds",
    "list_size_needed",
    "need_from_table",
    "need_on_published_lists",
    "overspend_probability",
    "pace_of_change",
    "place_indices",
    "pounds_to_pence_half_up",
    "project_pace",
    "published_need",
    "read_weighted_populations",
    "round_half_up",
    "simulate_risk_sharing",
    "split_pence",
    "split_thousands",
    "thousands",
    "to_pence",
]

__getattr__, __dir__ = lazy_names(__name__, _HOMES, __all__)
