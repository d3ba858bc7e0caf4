"""Figures, tables and a self-contained HTML report for a finance committee.

* :func:`committee_report` — fit, validate and allocate, then write the report (what ``capitation report`` does);
* :func:`write_report` / :func:`build_report` — the whole report from whichever results are at hand;
* one function per figure, each returning a :class:`matplotlib.figure.Figure` (:mod:`.plots`):
  :func:`model_ladder`, :func:`predictive_ratios`, :func:`actual_vs_predicted`, :func:`funnel_plot`,
  :func:`consortium_budgets`, :func:`budget_risk_by_size`, :func:`budget_waterfall`;
* :func:`risk_sharing_tradeoff`, :func:`risk_sharing_table` — the section on a consortium's risk-sharing rules
  (:mod:`.risk_sharing`; in the report with ``risk_sharing=``);
* :func:`suppress_small_numbers` — small-number suppression of published practice tables.

matplotlib is optional: ``pip install "capitation[report]"``. It is imported when a figure is drawn, so
``import capitation.report`` works without it and the suppression helpers need only pandas.
"""

from ._mpl import NHS_BLUE, PALETTE
from .committee import CommitteeReport, committee_report
from .html import SECTIONS, build_report, write_report
from .plots import (
    BMJ_2011_LADDER,
    actual_vs_predicted,
    budget_risk_by_size,
    budget_waterfall,
    consortium_budgets,
    funnel_control_limits,
    funnel_plot,
    furthest_consortium,
    ladder_table,
    model_ladder,
    predictive_ratios,
)
from .risk_sharing import risk_sharing_table, risk_sharing_tradeoff
from .suppress import DEFAULT_MIN_COUNT, DEFAULT_MIN_LIST_SIZE, SuppressedTable, suppress_small_numbers

__all__ = [
    "BMJ_2011_LADDER",
    "DEFAULT_MIN_COUNT",
    "DEFAULT_MIN_LIST_SIZE",
    "NHS_BLUE",
    "PALETTE",
    "SECTIONS",
    "CommitteeReport",
    "SuppressedTable",
    "actual_vs_predicted",
    "budget_risk_by_size",
    "budget_waterfall",
    "build_report",
    "committee_report",
    "consortium_budgets",
    "funnel_control_limits",
    "funnel_plot",
    "furthest_consortium",
    "ladder_table",
    "model_ladder",
    "predictive_ratios",
    "risk_sharing_table",
    "risk_sharing_tradeoff",
    "suppress_small_numbers",
    "write_report",
]
