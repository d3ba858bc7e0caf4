"""The report's section on risk sharing: the trade-off figure and the rules side by side.

:func:`risk_sharing_tradeoff` draws what :meth:`RuleComparison.plot <capitation.allocation.RuleComparison.plot>`
(or :meth:`RiskSharingResult.plot <capitation.allocation.RiskSharingResult.plot>`) draws, in the report's style;
:func:`risk_sharing_table` writes the measures of each rule as a committee paper shows them. The HTML report
includes the section when :func:`~capitation.report.write_report` is given ``risk_sharing=``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SchemaError
from ._mpl import styled

__all__ = ["RISK_SHARING_CAPTION", "risk_sharing_note", "risk_sharing_table", "risk_sharing_tradeoff"]

#: The figure's caption in the report.
RISK_SHARING_CAPTION = ("Left: the chance that the consortium's reserve is exhausted (the consortium must find money) "
                        "against the reserve's size, each rule re-settled on the same simulated years; dots mark the "
                        "rules as proposed. Right: practices' mean chance of a deficit beyond the threshold share of "
                        "their budget, for the smallest and the largest third of lists, rule by rule.")

#: How each measure of :meth:`RiskSharingResult.measures` is written: share, pounds, probability or count.
_KINDS = {
    "reserve (share of envelope)": "share", "reserve £ a year": "pounds", "high-cost threshold £": "pounds",
    "pool funding £ a year": "pounds", "surplus kept by practice": "share", "deficit borne by practice": "share",
    "carry cap (share of budget)": "share", "P(reserve exhausted)": "probability",
    "pool spend £ a year (mean)": "pounds", "P(pool overspends)": "probability",
    "consortium must find £ (mean)": "pounds", "consortium must find £ (1 in 20)": "pounds",
    "practices: mean P(deficit)": "probability", "small practices: mean P(deficit)": "probability",
    "large practices: mean P(deficit)": "probability", "small practices alone: mean P(deficit)": "probability",
    "practices with P(deficit) > 10%": "count", "surplus kept by practices £ (mean)": "pounds",
    "deficit borne by practices £ (mean)": "pounds",
}


def _results(result):
    from ..allocation.risk_sharing import RiskSharingResult, RuleComparison

    if isinstance(result, RuleComparison):
        return result.results, result.table
    if isinstance(result, RiskSharingResult):
        name = result.rule.name or "rule"
        return {name: result}, result.measures().to_frame(name)
    raise SchemaError(f"The 'risk_sharing' result must be a RuleComparison (compare_rules) or a RiskSharingResult "
                      f"(simulate_risk_sharing). Got {type(result).__name__}.", parameter="risk_sharing")


def _cell(kind: str, value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "none"
    if kind == "share":
        return f"{100 * value:.4g}%"
    if kind == "pounds":
        return f"£{value:,.0f}"
    if kind == "probability":
        return f"{value:.3f}"
    return f"{round(value):,}"


@styled
def risk_sharing_tradeoff(result):
    """Draw the trade-off of risk-sharing rules in the report's style.

    Parameters
    ----------
    result : RuleComparison or RiskSharingResult
        From :func:`~capitation.allocation.compare_rules` (the rules side by side) or
        :func:`~capitation.allocation.simulate_risk_sharing` (one rule).

    Returns
    -------
    matplotlib.figure.Figure
        The result's own figure (its ``plot()``), with the report's fonts and colours.

    Examples
    --------
    >>> from capitation.allocation.risk_sharing import _example_comparison
    >>> len(risk_sharing_tradeoff(_example_comparison()).axes)
    2
    """
    _results(result)
    return result.plot()


def risk_sharing_table(result) -> pd.DataFrame:
    """Write each rule's measures as text, one row per measure and one column per rule.

    Parameters
    ----------
    result : RuleComparison or RiskSharingResult
        The rules compared, or one rule.

    Returns
    -------
    pandas.DataFrame
        Text cells: shares in %, money in whole £, probabilities to three decimals, counts.

    Examples
    --------
    >>> from capitation.allocation.risk_sharing import _example_comparison
    >>> risk_sharing_table(_example_comparison()).loc["reserve (share of envelope)"].tolist()
    ['0%', '2%']
    """
    _, table = _results(result)
    out = pd.DataFrame({name: [_cell(_KINDS.get(row, "count"), table.at[row, name]) for row in table.index]
                        for name in table.columns}, index=table.index)
    out.index.name = "measure"
    return out


def risk_sharing_note(result) -> str:
    """Say in words what was simulated and what the simulation cannot see, for under the table.

    Parameters
    ----------
    result : RuleComparison or RiskSharingResult
        The rules compared, or one rule.

    Returns
    -------
    str
        One paragraph.

    Examples
    --------
    >>> from capitation.allocation.risk_sharing import _example_comparison
    >>> "500 simulated years" in risk_sharing_note(_example_comparison())
    True
    """
    results, _ = _results(result)
    first = next(iter(results.values()))
    p = first.parameters
    return (f"{p['draws']:,} simulated {'years' if first.rule.years == 1 else 'periods'} of actual costs for "
            f"{p['people']:,} people in {len(first.practices):,} practices, each person's cost drawn from the "
            f"model's residuals in {p['residual_bands']} bands of need (heavy-tailed, not a normal approximation), "
            f"with a practice effect of cv {p['extra_cv']:.1%} for what the person model cannot see; the same draws "
            f"for every rule. A deficit counts beyond {p['overspend']:.0%} of the practice's budget after the "
            "top-slices. Every draw is shared exactly in pence: practices, pool, reserve and consortium add up to the "
            "envelope less the actual cost. Not seen: costs that persist from one year to the next, budgets that "
            "change between years, and practice-level effects other than the one given.")
