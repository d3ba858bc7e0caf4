"""A self-contained HTML report for a finance committee: figures embedded as PNG, no external files.

:func:`write_report` takes whichever results are at hand (a validation, a model ladder, an allocation, a
budget risk, a budget explanation) and writes the sections they support, in this order:

1. summary — the headline numbers;
2. model ladder and fit (:func:`~capitation.report.plots.model_ladder`);
3. predictive ratios by group;
4. actual against predicted cost per practice;
5. funnel plot of practice error against list size;
6. consortium budgets with distance from target (figure and table in £'000);
7. budget risk against list size;
8. waterfall of one consortium's budget drivers;
9. practice table (small numbers suppressed by default), then notes on method and provenance.

Money in tables follows NHS England's allocation tables: £'000 rounded half up from exact pence (rounded
figures need not add to the rounded total; the pence do), negatives in parentheses, £ per head whole, distance
from target in % to two decimals.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import InputError, SchemaError
from . import plots
from ._mpl import NHS_BLUE, to_png
from .suppress import DEFAULT_MIN_COUNT, DEFAULT_MIN_LIST_SIZE, MARKER, suppress_small_numbers

__all__ = ["SECTIONS", "build_report", "write_report"]

#: Section ids in report order, with their headings.
SECTIONS = {
    "summary": "Summary",
    "ladder": "Model ladder and fit",
    "predictive-ratios": "Predictive ratios by group",
    "actual-vs-predicted": "Actual against predicted cost per practice",
    "funnel": "Practice error against list size",
    "consortium-budgets": "Consortium budgets and distance from target",
    "budget-risk": "Budget risk against list size",
    "waterfall": "What drives a consortium's budget",
    "practices": "Practice table",
    "method": "Method and provenance",
}

_CSS = f"""
:root {{ --nhs-blue: {NHS_BLUE}; --ink: #231F20; --grey: #425563; --pale: #E8EDEE; }}
* {{ box-sizing: border-box; }}
body {{ font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; color: var(--ink); margin: 0;
       line-height: 1.45; font-size: 15px; }}
header {{ background: var(--nhs-blue); color: white; padding: 18px 32px; }}
header h1 {{ margin: 0 0 4px 0; font-size: 26px; }}
header p {{ margin: 0; opacity: 0.95; }}
main {{ max-width: 1040px; margin: 0 auto; padding: 8px 32px 40px 32px; }}
nav ol {{ columns: 2; padding-left: 20px; }}
h2 {{ color: var(--nhs-blue); border-bottom: 2px solid var(--nhs-blue); padding-bottom: 3px; margin-top: 34px; }}
figure {{ margin: 14px 0; }}
figure img {{ max-width: 100%; height: auto; display: block; }}
figcaption {{ font-size: 13px; color: var(--grey); margin-top: 4px; }}
table {{ border-collapse: collapse; font-size: 13px; margin: 10px 0; }}
th, td {{ padding: 3px 8px; border-bottom: 1px solid #D8DDE0; }}
th {{ background: var(--pale); text-align: left; vertical-align: bottom; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
tr.total td {{ font-weight: bold; border-top: 2px solid var(--grey); }}
.headline {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }}
.headline div {{ background: var(--pale); border-left: 5px solid var(--nhs-blue); padding: 8px 12px;
                 min-width: 180px; }}
.headline b {{ display: block; font-size: 20px; }}
.note {{ font-size: 13px; color: var(--grey); }}
.missing {{ color: var(--grey); font-style: italic; }}
.scroll {{ max-height: 640px; overflow-y: auto; }}
@media print {{
  header {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
  nav {{ display: none; }}
  main {{ max-width: none; padding: 0 12mm; }}
  section {{ break-inside: avoid-page; }}
  section#practices {{ break-before: page; }}
  .scroll {{ max-height: none; overflow: visible; }}
  figure {{ break-inside: avoid; }}
  thead {{ display: table-header-group; }}
}}
"""


# ------------------------------------------------------------------------------------------------------------
# formatting
# ------------------------------------------------------------------------------------------------------------
def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _paren(value: float, digits: int = 0) -> str:
    """Negative numbers in parentheses, thousands separated."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    text = f"{abs(value):,.{digits}f}"
    return f"({text})" if value < 0 and text.strip("0.,") else text


def _table(frame: pd.DataFrame, formats: dict, *, mask: pd.DataFrame | None = None, total: dict | None = None,
           index_name: str | None = None) -> str:
    """Render an HTML table; ``formats`` maps column → (heading, formatter, numeric?)."""
    head = [f"<th>{_e(index_name)}</th>"] if index_name else []
    for _column, (heading, _fmt, numeric) in formats.items():
        head.append(f"<th class=\"{'num' if numeric else ''}\">{_e(heading)}</th>")
    rows = []
    for idx, row in frame.iterrows():
        cells = [f"<td>{_e(idx)}</td>"] if index_name else []
        for column, (_heading, fmt, numeric) in formats.items():
            hidden = mask is not None and column in mask.columns and bool(mask.at[idx, column])
            value = row[column]
            if hidden:
                text = MARKER
            elif value is None or (isinstance(value, float) and np.isnan(value)):
                text = ""
            else:
                text = fmt(value)
            cells.append(f"<td class=\"{'num' if numeric else ''}\">{_e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if total:
        cells = [f"<td>{_e(total.get('__label__', 'Total'))}</td>"] if index_name else []
        for column, (_heading, _fmt, numeric) in formats.items():
            cells.append(f"<td class=\"{'num' if numeric else ''}\">{_e(total.get(column, ''))}</td>")
        rows.append("<tr class=\"total\">" + "".join(cells) + "</tr>")
    return ("<table><thead><tr>" + "".join(head) + "</tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _figure(fig, alt: str, caption: str) -> str:
    data = base64.b64encode(to_png(fig)).decode("ascii")
    return (f"<figure><img alt=\"{_e(alt)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _section(key: str, body: str) -> str:
    return f"<section id=\"{key}\"><h2>{_e(SECTIONS[key])}</h2>{body}</section>"


def _missing(what: str) -> str:
    return f"<p class=\"missing\">Not included: {_e(what)}</p>"


# ------------------------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------------------------
def _summary(validation, allocation, risk, ladder) -> str:
    cards = []
    if allocation is not None:
        p = allocation.practices
        cards.append(("Control total", allocation.control_total))
        cards.append(("Practices", f"{len(p):,}"))
        if allocation.consortia is not None:
            cards.append(("Consortia", f"{len(allocation.consortia):,}"))
        per_head = allocation.control_total_pence / 100 / p["registered"].sum()
        cards.append(("£ per registered person", f"£{per_head:,.0f}"))
        cards.append(("Pence reconcile", "yes" if allocation.reconciles else "NO"))
    if validation is not None:
        m = validation.metrics
        cards.append(("Person-level R²", f"{m['person_r2']:.3f}"))
        cards.append(("Practice-level R²", f"{m['practice_r2']:.3f}"))
        cards.append(("Practices off by ≥10%", f"{m['share_practices_off_10pct']:.0%}"))
    if risk is not None:
        pr = risk.parameters
        needed = risk.pool_needed()
        cards.append((f"Pool for ≤{pr['probability']:.0%} risk of >{pr['overspend']:.0%} overspend",
                      f"{needed:,.0f} people" if np.isfinite(needed) else "none large enough"))
    if not cards and ladder is None:
        return _missing("no results were given.")
    body = "<div class=\"headline\">" + "".join(f"<div>{_e(k)}<b>{_e(v)}</b></div>" for k, v in cards) + "</div>"
    text = []
    if allocation is not None:
        text.append("Each practice's budget is the control total times its share of predicted need, split in whole "
                    "pence by the largest-remainder method; a consortium's budget is the exact sum of its "
                    "practices' budgets, so every table reconciles to the penny.")
    if validation is not None:
        m = validation.metrics
        text.append(f"The model was validated on {m['people']:,} people ({m['person_years']:,.0f} person-years) "
                    f"registered with {m['practices']:,} practices.")
    return body + "".join(f"<p>{_e(t)}</p>" for t in text)


def _ladder_section(ladder, validation) -> str:
    parts = []
    if ladder is not None:
        frame = plots._ladder_frame(ladder)
        parts.append(_figure(plots.model_ladder(frame), "Bar charts of person and practice R² by model",
                             "Share of the variance of annual cost explained, by model. Diamonds: BMJ 2011 (Dixon "
                             "et al.), Table 1, whose person-level figures are on 5.2 million people and practice "
                             "figures on 797 practices."))
        formats = {"model": ("Model", str, False), "person_r2": ("Person R²", "{:.4f}".format, True),
                   "practice_r2": ("Practice R²", "{:.4f}".format, True)}
        for column, heading, fmt in (("mae", "MAE (£)", "{:,.0f}".format), ("cpm", "CPM", "{:.4f}".format),
                                     ("share_practices_off_10pct", "Practices off ≥10%", "{:.1%}".format)):
            if column in frame.columns:
                formats[column] = (heading, fmt, True)
        parts.append(_table(frame, formats))
    if validation is not None:
        m = validation.metrics
        rows = pd.DataFrame({"value": [f"{m['people']:,}", f"{m['person_years']:,.0f}", f"{m['practices']:,}",
                                       f"{m['person_r2']:.4f}", f"{m['practice_r2']:.4f}", f"£{m['mae']:,.0f}",
                                       f"{m['cpm']:.4f}", f"{m['share_practices_off_10pct']:.1%}"]},
                            index=["People", "Person-years", "Practices", "Person-level R²", "Practice-level R²",
                                   "Mean absolute error per person-year", "Cumming's prediction measure",
                                   "Practices off by 10% or more"])
        parts.append(f"<p>Validation of <b>{_e(validation.label)}</b>:</p>")
        parts.append(_table(rows, {"value": ("", str, True)}, index_name="Measure"))
        by_size = validation.by_list_size
        parts.append("<p>Error against list size (practices of the validation sample):</p>")
        parts.append(_table(by_size, {"practices": ("Practices", "{:,}".format, True),
                                      "mean_abs_relative_error": ("Mean |error|", _pct_or_blank, True),
                                      "share_off_10pct": ("Off by ≥10%", "{:.1%}".format, True)},
                            index_name="List size"))
    if not parts:
        return _missing("no model ladder or validation was given.")
    return "".join(parts)


def _pct_or_blank(v: float) -> str:
    return f"{v:.1%}" if np.isfinite(v) else "n/a (zero actual cost)"


def _consortium_section(allocation) -> str:
    if allocation is None or allocation.consortia is None:
        return _missing("no allocation with a membership was given.")
    c = allocation.consortia
    has_dft = "distance_from_target_pct" in c.columns
    caption = ("Consortia sorted by distance from target, (baseline − target) ÷ target: grey bars are over target, "
               "blue under." if has_dft else
               "Consortia sorted by budget per head against the average (no baseline was given, so there is no "
               "distance from target).")
    parts = [_figure(plots.consortium_budgets(allocation), "Bar chart of consortia", caption)]
    frame = allocation.to_frame("consortium", units="£000")  # £'000 by the package's one rule
    formats = {"consortium_name": ("Name", str, False),
               "registered": ("Registered population", lambda v: _paren(v), True),
               "weighted_population": ("Weighted population", lambda v: _paren(v), True),
               "need_index": ("Need index", "{:.3f}".format, True),
               "budget_000": ("Target allocation (£'000)", _paren, True),
               "budget_per_head": ("Target £ per head", lambda v: _paren(v), True)}
    total = {"__label__": "England" if len(c) > 20 else "Total",
             "registered": _paren(c["registered"].sum()), "weighted_population": _paren(c["weighted_population"].sum()),
             "budget_000": _paren(frame["budget_000"].sum()),
             "budget_per_head": _paren(c["budget_pence"].sum() / 100 / c["registered"].sum())}
    if has_dft:
        formats.update({"baseline_000": ("Baseline (£'000)", _paren, True),
                        "distance_from_target_000": ("Distance from target (under)/over (£'000)", _paren, True),
                        "distance_from_target_pct": ("DfT (%)", lambda v: _paren(v, 2), True)})
        gap = int(c["baseline_pence"].sum() - c["budget_pence"].sum())
        total.update({"baseline_000": _paren(frame["baseline_000"].sum()),
                      "distance_from_target_000": _paren(frame["distance_from_target_000"].sum()),
                      "distance_from_target_pct": _paren(100 * gap / c["budget_pence"].sum(), 2)})
    if "consortium_name" not in frame.columns:
        formats.pop("consortium_name")
    parts.append(_table(frame, formats, total=total, index_name="Code"))
    parts.append("<p class=\"note\">£'000 by largest remainder from exact pence: each figure is its amount rounded "
                 "down or up, and each column adds up to its total rounded half up. Negative figures in "
                 "parentheses.</p>")
    return "".join(parts)


def _practice_section(allocation, validation, suppress, min_count, min_list_size, max_rows) -> str:
    if allocation is None and validation is None:
        return _missing("no allocation or validation was given.")
    table = pd.DataFrame()
    formats: dict = {}
    lists: dict = {}
    if allocation is not None:
        p = allocation.practices.assign(budget_000=allocation.to_frame(units="£000")["budget_000"])
        table = p.reindex(columns=[c for c in ("consortium_code", "registered", "need_index", "budget_000",
                                               "budget_per_head", "distance_from_target_pct") if c in p.columns])
        formats.update({"consortium_code": ("Consortium", str, False),
                        "registered": ("Registered", lambda v: _paren(v), True),
                        "need_index": ("Need index", "{:.3f}".format, True),
                        "budget_000": ("Budget (£'000)", _paren, True),
                        "budget_per_head": ("£ per head", lambda v: _paren(v), True),
                        "distance_from_target_pct": ("DfT (%)", lambda v: _paren(v, 2), True)})
        lists["registered"] = [c for c in ("need_index", "budget_000", "budget_per_head",
                                           "distance_from_target_pct") if c in table.columns]
    if validation is not None:
        v = validation.practices.rename(columns={"list_size": "validation_people", "actual": "actual_pp",
                                                 "predicted": "predicted_pp"})
        v = v[["validation_people", "actual_pp", "predicted_pp", "relative_error"]]
        table = v if table.empty else table.join(v, how="left")
        formats.update({"validation_people": ("People validated", lambda v: _paren(v), True),
                        "actual_pp": ("Actual £ per person-year", lambda v: _paren(v), True),
                        "predicted_pp": ("Predicted £ per person-year", lambda v: _paren(v), True),
                        "relative_error": ("Predicted ÷ actual − 1", lambda v: f"{v:+.1%}" if np.isfinite(v) else "",
                                           True)})
        lists["validation_people"] = ["actual_pp", "predicted_pp", "relative_error"]
    formats = {k: f for k, f in formats.items() if k in table.columns}
    mask = None
    note = "Small-number suppression is off."
    if suppress:
        result = suppress_small_numbers(table, counts=[c for c in ("validation_people",) if c in table.columns],
                                        min_count=min_count, lists=lists, min_list_size=min_list_size)
        mask = result.mask
        note = (f"{MARKER}: suppressed — counts under {min_count}, and figures resting on fewer than "
                f"{min_list_size:,} people (the registered list for budgets, the people validated for costs); "
                f"{result.parameters['cells']:,} cells in {result.parameters['rows']:,} rows. Primary suppression "
                "only: check published totals cannot reveal a suppressed cell.")
    shown = table if max_rows is None else table.head(max_rows)
    extra = "" if max_rows is None or len(table) <= max_rows else (
        f"<p class=\"note\">First {max_rows:,} of {len(table):,} practices shown.</p>")
    return (f"<p class=\"note\">{_e(note)}</p>" + extra + "<div class=\"scroll\">"
            + _table(shown, formats, mask=None if mask is None else mask.loc[shown.index], index_name="Practice")
            + "</div>")


def _method_section(allocation, validation, risk, provenance) -> str:
    items = ["Need: each registered person's predicted annual hospital cost from the person-level least-squares "
             "model, with supply variables and area fixed effects held at their national means (supply "
             "neutralised); a practice's need is the exact sum over its registered list.",
             "Validation measures (see docs/method.md): person R² = 1 − Σw(y − ŷ)² / Σw(y − ȳ)²; practice R² on "
             "cost per person-year, weighted by list size; predictive ratio = Σŷ ÷ Σy within a group; CPM = "
             "1 − Σ|y − ŷ| / Σ|y − ȳ|.",
             "Funnel plot limits: 1 ± z·cv/√n, with cv the coefficient of variation of one person's cost about "
             "their prediction; points outside the 99.8% limits vary more than chance alone allows."]
    if risk is not None:
        pr = risk.parameters
        items.append(f"Budget risk: Var(actual) = Σσᵢ² + (τ·E)², σᵢ² from the residuals ({pr['variance']} "
                     f"model), τ = {pr['extra_cv']:.3f}; probability of an overspend above {pr['overspend']:.0%} "
                     "by the normal approximation, checked by resampling the residuals.")
    if allocation is not None:
        for record in allocation.parameters.get("adjustments", []):
            items.append(f"Adjustment {record['adjustment']}: {record['formula']}")
    rows = dict(provenance or {})
    rows.setdefault("capitation version", __version__)
    rows.setdefault("report written", _dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    if allocation is not None:
        rows.setdefault("control total", allocation.control_total)
        if allocation.parameters.get("membership_period"):
            rows.setdefault("membership", allocation.parameters["membership_period"])
    table = _table(pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows)),
                   {"value": ("", str, False)}, index_name="Item")
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>" + table


# ------------------------------------------------------------------------------------------------------------
# public
# ------------------------------------------------------------------------------------------------------------
def build_report(*, validation=None, ladder=None, allocation=None, risk=None, explanation=None, consortium=None,
                 title: str = "Hospital budgets by person-based resource allocation", subtitle: str | None = None,
                 funnel_cv: float | None = None, suppress: bool = True, min_count: int = DEFAULT_MIN_COUNT,
                 min_list_size: float = DEFAULT_MIN_LIST_SIZE, practice_rows: int | None = None,
                 provenance: dict | None = None) -> str:
    """Build the report as one HTML string, from whichever results are given.

    Parameters
    ----------
    validation, ladder, allocation, risk, explanation, consortium, title, subtitle, funnel_cv, suppress, \
min_count, min_list_size, practice_rows, provenance
        As for :func:`write_report`.

    Returns
    -------
    str
        A self-contained HTML document (figures embedded as PNG); sections without results say so.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import allocate
    >>> from capitation.report import build_report
    >>> need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
    >>> page = build_report(allocation=allocate(need, 300, registered=pd.Series(10, index=need.index)))
    >>> page.startswith("<!DOCTYPE html>"), "Pence reconcile<b>yes</b>" in page
    (True, True)
    """
    from ..allocation.allocate import Allocation
    from ..allocation.explain import BudgetExplanation
    from ..allocation.risk import BudgetRisk
    from ..model.validation import ValidationResult

    for name, value, kind in (("validation", validation, ValidationResult), ("allocation", allocation, Allocation),
                              ("explanation", explanation, BudgetExplanation)):
        if value is not None and not isinstance(value, kind):
            raise SchemaError(f"The {name!r} parameter of write_report must be a {kind.__name__}. "
                            f"Got {type(value).__name__}.")
    risk_layers = risk if isinstance(risk, dict) else ({} if risk is None else {"practices": risk})
    first_risk = next((r for r in risk_layers.values() if isinstance(r, BudgetRisk)), None)
    if risk is not None and not risk_layers:
        raise InputError("The 'risk' parameter of write_report is an empty mapping.")
    if funnel_cv is None and first_risk is not None:
        funnel_cv = first_risk.cv_person
    sections = {"summary": _summary(validation, allocation, first_risk, ladder),
                "ladder": _ladder_section(ladder, validation)}
    if validation is not None:
        sections["predictive-ratios"] = _figure(
            plots.predictive_ratios(validation), "Dot plot of predictive ratios",
            "Predicted ÷ actual cost by group: 1 is unbiased, below 1 the model under-predicts the group's cost. "
            "Red points are outside the ±5% band.")
        sections["actual-vs-predicted"] = _figure(
            plots.actual_vs_predicted(validation), "Scatter plot of practices",
            "Each point is a practice of the validation sample: actual against predicted cost per person-year.")
        sections["funnel"] = _figure(
            plots.funnel_plot(validation, cv=funnel_cv), "Funnel plot",
            "Actual cost as a percentage of predicted against list size. Limits show the spread expected from "
            "chance alone at each list size; small lists scatter most.")
    else:
        for key in ("predictive-ratios", "actual-vs-predicted", "funnel"):
            sections[key] = _missing("no validation was given.")
    sections["consortium-budgets"] = _consortium_section(allocation)
    if risk_layers:
        note = ""
        if first_risk is not None:
            pr = first_risk.parameters
            needed = first_risk.pool_needed()
            note = (f"<p>With the national case mix, a pool needs about {needed:,.0f} people for the chance of "
                    f"overspending by more than {pr['overspend']:.0%} to fall to {pr['probability']:.0%}. "
                    "Practices well below this size should share risk (e.g. through their ICB or a PCN).</p>"
                    if np.isfinite(needed) else "<p>No pool is large enough at this group-level variation.</p>")
        sections["budget-risk"] = _figure(
            plots.budget_risk_by_size(risk_layers), "Budget risk against list size",
            "Each point is a practice or consortium: the model-implied chance that its actual cost exceeds its "
            "budget by more than the threshold. The curve is a pool of average people.") + note
    else:
        sections["budget-risk"] = _missing("no budget risk was given.")
    if explanation is not None:
        chosen = consortium if consortium is not None else plots.furthest_consortium(explanation)
        name = None
        if allocation is not None and allocation.consortia is not None and chosen in allocation.consortia.index \
                and "consortium_name" in allocation.consortia.columns:
            name = allocation.consortia.at[chosen, "consortium_name"]
        fig = plots.budget_waterfall(explanation, chosen, name=name)
        sections["waterfall"] = _figure(
            fig, f"Waterfall of budget drivers ({chosen})",
            "From the national budget per head to this consortium's, by the model's blocks of predictors: "
            "green raises the budget, red lowers it. Supply is neutralised, so it contributes nothing.")
        t = explanation.to_frame()
        cols = [c for c in ("budget_per_head", "age_sex", "morbidity", "primary_care", "need", "other") if c in t]
        sections["waterfall"] += _table(t[cols], {c: (plots._BLOCK_LABELS.get(c, c).replace("_", " "),
                                                      lambda v: _paren(v, 2), True) for c in cols},
                                        index_name="Consortium")
    else:
        sections["waterfall"] = _missing("no budget explanation was given.")
    sections["practices"] = _practice_section(allocation, validation, suppress, min_count, min_list_size,
                                              practice_rows)
    sections["method"] = _method_section(allocation, validation, first_risk, provenance)
    nav = "<nav><ol>" + "".join(f"<li><a href=\"#{k}\">{_e(v)}</a></li>" for k, v in SECTIONS.items()) + "</ol></nav>"
    sub = f"<p>{_e(subtitle)}</p>" if subtitle else ""
    body = "".join(_section(k, sections[k]) for k in SECTIONS)
    return ("<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><header><h1>{_e(title)}</h1>{sub}</header><main>{nav}{body}"
            "</main></body></html>")


def write_report(path, *, validation=None, ladder=None, allocation=None, risk=None, explanation=None,
                 consortium=None, title: str = "Hospital budgets by person-based resource allocation",
                 subtitle: str | None = None, funnel_cv: float | None = None, suppress: bool = True,
                 min_count: int = DEFAULT_MIN_COUNT, min_list_size: float = DEFAULT_MIN_LIST_SIZE,
                 practice_rows: int | None = None, provenance: dict | None = None) -> Path:
    """Write a self-contained HTML report (figures embedded as PNG) from whichever results are given.

    Parameters
    ----------
    path : str or path-like
        The ``.html`` file to write (written atomically).
    validation : ValidationResult, optional
        Validation of the final model: fit, predictive ratios, actual vs predicted, funnel plot.
    ladder : pandas.DataFrame or sequence of ValidationResult, optional
        The model ladder (``model``, ``person_r2``, ``practice_r2``; see :func:`~capitation.report.ladder_table`).
    allocation : Allocation, optional
        Budgets; with a membership, the consortium section (and distance from target with a baseline).
    risk : BudgetRisk, pandas.DataFrame or dict of name → either, optional
        Budget risk per practice (and per consortium, as a second layer).
    explanation : BudgetExplanation, optional
        From :func:`~capitation.allocation.explain_budgets`, for the waterfall.
    consortium : str, optional
        The consortium of the waterfall (default: the one furthest from the average budget per head).
    title, subtitle : str
        Heading of the report.
    funnel_cv : float, optional
        Person cost coefficient of variation for the funnel limits (default: from ``risk``, else estimated).
    suppress : bool
        Suppress small numbers in the practice table (on by default): counts under ``min_count`` and figures
        resting on fewer than ``min_list_size`` people.
    min_count, min_list_size : int
        Thresholds of the suppression (5 and 1,000 by default).
    practice_rows : int, optional
        Show only the first rows of the practice table (all by default).
    provenance : dict, optional
        Extra items (data source, seed, ...) for the provenance table.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from capitation import allocate
    >>> from capitation.report import write_report
    >>> need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_report(pathlib.Path(folder) / "budgets.html",
    ...                         allocation=allocate(need, 300, registered=pd.Series(10, index=need.index)))
    ...     path.name, path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    ('budgets.html', True)
    """
    from .._io import atomic_write_text

    text = build_report(validation=validation, ladder=ladder, allocation=allocation, risk=risk,
                        explanation=explanation, consortium=consortium, title=title, subtitle=subtitle,
                        funnel_cv=funnel_cv, suppress=suppress, min_count=min_count, min_list_size=min_list_size,
                        practice_rows=practice_rows, provenance=provenance)
    target = Path(os.fspath(path))
    atomic_write_text(target, text)
    return target
