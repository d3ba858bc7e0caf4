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
9. practice tables: budgets (never suppressed), and the validation practices' costs (small numbers
   suppressed by default); then notes on method and provenance.

Money in tables follows NHS England's allocation tables: £'000 rounded half up from exact pence (rounded
figures need not add to the rounded total; the pence do), negatives in parentheses, £ per head whole, distance
from target in % to two decimals. Counts of people and practices are whole numbers with thousands separators.

The page is laid out to be read on a screen from 800 px wide up and printed on A4: tables are sized to their
content (numbers right-aligned in tabular figures, names on at most two lines), figures are scaled to the
column, and nothing is wider than the page.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import InputError, SchemaError
from . import plots, risk_sharing
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
    "practices": "Practice tables",
    "method": "Method and provenance",
}

#: Sections shown only when their result is given, each after the section named: id → (heading, after).
OPTIONAL_SECTIONS = {"risk-sharing": ("Risk sharing inside the consortium", "budget-risk")}

#: CSS pixels per inch of a figure as shown: a 7.8 in figure is 858 px wide, its 9.5 pt text about 14.5 px.
_PX_PER_INCH = 110
#: PNG resolution: 1.5 image pixels per CSS pixel, sharp on high-density screens and in print.
_PNG_DPI = 165

_CSS = f"""
:root {{ --nhs-blue: {NHS_BLUE}; --ink: #231F20; --grey: #425563; --pale: #E8EDEE; --rule: #D8DDE0;
         --stripe: #F4F6F7; }}
* {{ box-sizing: border-box; }}
html {{ -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }}
body {{ font-family: Arial, "Helvetica Neue", Helvetica, "Liberation Sans", "DejaVu Sans Condensed", sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; font-size: 15px; }}
header {{ background: var(--nhs-blue); color: white; }}
header > div, main {{ max-width: 1040px; margin: 0 auto; padding-left: 32px; padding-right: 32px; }}
header > div {{ padding-top: 18px; padding-bottom: 18px; }}
header h1 {{ margin: 0 0 4px 0; font-size: 26px; line-height: 1.2; }}
header p {{ margin: 0; opacity: 0.95; }}
main {{ padding-top: 8px; padding-bottom: 40px; }}
nav ol {{ columns: 2; column-gap: 32px; padding-left: 20px; margin: 16px 0; }}
h2 {{ color: var(--nhs-blue); border-bottom: 2px solid var(--nhs-blue); padding-bottom: 3px; margin: 34px 0 12px;
      font-size: 21px; }}
h3 {{ font-size: 16px; margin: 22px 0 6px; }}
p {{ max-width: 46em; }}
figure {{ margin: 14px 0; }}
figure img {{ max-width: 100%; height: auto; display: block; }}
figcaption {{ font-size: 13px; color: var(--grey); margin-top: 4px; max-width: 46em; }}
table {{ border-collapse: collapse; font-size: 13px; margin: 10px 0; max-width: 100%; }}
table.wide {{ width: 100%; }}
th, td {{ padding: 4px 7px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }}
thead th {{ background: var(--pale); vertical-align: bottom; line-height: 1.25; }}
thead tr.groups th.group {{ text-align: center; border-bottom: 1px solid #AEB7BD; }}
tbody tr:nth-child(even) td {{ background: var(--stripe); }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
th.num {{ white-space: normal; }}
td.code {{ white-space: nowrap; }}
td.name span {{ white-space: nowrap; }}
td.pos {{ padding-right: calc(7px + 0.333em); }}
tr.total td {{ font-weight: bold; border-top: 2px solid var(--grey); border-bottom: 2px solid var(--grey);
              background: white; }}
.headline {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }}
.headline div {{ background: var(--pale); border-left: 5px solid var(--nhs-blue); padding: 8px 12px;
                 flex: 1 1 auto; min-width: 170px; }}
.headline b {{ display: block; font-size: 20px; font-variant-numeric: tabular-nums; }}
.note {{ font-size: 13px; color: var(--grey); }}
.missing {{ color: var(--grey); font-style: italic; }}
.scroll {{ max-height: 640px; overflow-y: auto; display: inline-block; max-width: 100%;
           border-bottom: 1px solid var(--rule); }}
.scroll table {{ margin: 0; }}
.scroll thead th {{ position: sticky; top: 0; z-index: 1; }}
@media (max-width: 860px) {{
  header > div, main {{ padding-left: 16px; padding-right: 16px; }}
  header h1 {{ font-size: 22px; }}
  table {{ font-size: 12px; }}
  th, td {{ padding: 3px 4px; }}
  td.pos {{ padding-right: calc(4px + 0.333em); }}
}}
@media print {{
  header {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
  nav {{ display: none; }}
  main {{ max-width: none; padding: 0 12mm; }}
  section {{ break-inside: avoid-page; }}
  section#practices {{ break-before: page; }}
  .scroll {{ max-height: none; overflow: visible; display: block; }}
  .scroll thead th {{ position: static; }}
  figure {{ break-inside: avoid; }}
  thead {{ display: table-header-group; }}
  tr {{ break-inside: avoid; }}
}}
"""

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


# ------------------------------------------------------------------------------------------------------------
# formatting
# ------------------------------------------------------------------------------------------------------------
def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _blank(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and not np.isfinite(value)) or value is pd.NA


def _paren(value: float, digits: int = 0) -> str:
    """Negative numbers in parentheses, thousands separated."""
    if _blank(value):
        return ""
    text = f"{abs(value):,.{digits}f}"
    return f"({text})" if value < 0 and text.strip("0.,") else text


def _count(value) -> str:
    """Write a count of people or practices as a whole number with thousands separators (``1``, not ``1.0``)."""
    return "" if _blank(value) else f"{round(float(value)):,}"


def _day(value) -> str:
    """Write a date as a committee paper does: ``1 April 2025``."""
    day = pd.Timestamp(value)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _membership_period(parameters: dict) -> str | None:
    """Say the membership's period in words, by its first and last days: ``1 April 2025 to 31 March 2026``.

    A membership is in force over ``[valid_from, valid_to)``: ``valid_to`` is the first day it no longer holds,
    so the last day shown is the day before. Read from ``membership_valid_from``/``membership_valid_to`` when
    the allocation records them, else from its ``membership_period`` text, whose second date is the last day
    (as :class:`~capitation.aggregation.Membership` writes it).
    """
    start, end = parameters.get("membership_valid_from"), parameters.get("membership_valid_to")
    if start is not None or end is not None:
        last = None if end is None else pd.Timestamp(end) - pd.Timedelta(days=1)
    else:
        text = parameters.get("membership_period")
        match = re.fullmatch(r"\s*(?:in force\s+)?(\S+)\s+to\s+(\S+)\s*", str(text or ""))
        if match is None:
            return text or None
        start, last = (None if v in ("…", "...") else v for v in match.groups())
    if start is not None and last is not None:
        return f"{_day(start)} to {_day(last)}"
    if start is not None:
        return f"from {_day(start)}"
    return None if last is None else f"until {_day(last)}"


def _name_lines(name, width: int = 16) -> list[str]:
    """Split a name into at most two parts, at the space that balances them best (none if it is short).

    The report shows each part unbroken: a name is on one line where the column is wide enough, else on two.
    """
    text = " ".join(str(name).split())
    if len(text) <= width or " " not in text:
        return [text]
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    cut = min(spaces, key=lambda i: (max(i, len(text) - i - 1), -i))
    return [text[:cut], text[cut + 1:]]


@dataclass(frozen=True)
class _Col:
    """A column of a report table: heading (under an optional group heading), formatter, kind of cell."""

    heading: str
    fmt: Callable = str
    numeric: bool = True
    group: str | None = None
    kind: str = ""  # "name": the formatter gives the parts of a name, each kept on one line
    signed: bool = False  # negatives in parentheses: positive figures are padded to line up with them

    @property
    def css(self) -> str:
        return " ".join(c for c in ("num" if self.numeric else "", self.kind) if c)


def _cell(tag: str, text: str, css: str, extra: str = "") -> str:
    cls = f" class=\"{css}\"" if css else ""
    return f"<{tag}{cls}{extra}>{text}</{tag}>"


def _pad(col: _Col, text: str) -> str:
    """Give a cell its classes: a signed figure not in parentheses gets room for one, so digits line up."""
    return f"{col.css} pos" if col.signed and text and not text.endswith(")") else col.css


def _heading(text: str) -> str:
    """Write a heading, with a line break at each newline of ``text``."""
    return "<br>".join(_e(part) for part in str(text).split("\n"))


def _head(columns: dict, index_name: str | None) -> str:
    grouped = any(c.group for c in columns.values())
    first, second = [], []
    span = " rowspan=\"2\"" if grouped else ""
    if index_name is not None:
        first.append(_cell("th", _e(index_name), "", span))
    items = list(columns.values())
    k = 0
    while k < len(items):
        col = items[k]
        if not col.group:
            first.append(_cell("th", _heading(col.heading), col.css, span))
            k += 1
            continue
        n = 1
        while k + n < len(items) and items[k + n].group == col.group:
            n += 1
        first.append(_cell("th", _heading(col.group), "group", f" colspan=\"{n}\"" if n > 1 else ""))
        second += [_cell("th", _heading(c.heading), c.css) for c in items[k:k + n]]
        k += n
    rows = [f"<tr class=\"groups\">{''.join(first)}</tr>" if grouped else f"<tr>{''.join(first)}</tr>"]
    if second:
        rows.append(f"<tr>{''.join(second)}</tr>")
    return "<thead>" + "".join(rows) + "</thead>"


def _text(col: _Col, value) -> str:
    if _blank(value):
        return ""
    shown = col.fmt(value)
    if col.kind == "name":
        return " ".join(f"<span>{_e(part)}</span>" for part in shown)
    return _e(shown)


def _table(frame: pd.DataFrame, columns: dict, *, mask: pd.DataFrame | None = None, total: dict | None = None,
           index_name: str | None = None, css: str = "") -> str:
    """Render an HTML table; ``columns`` maps a column of ``frame`` to its :class:`_Col`.

    Values are read column by column, so an integer column stays integer (``iterrows`` would turn it into
    floats in a row with any float). Cells flagged in ``mask`` show the suppression marker.
    """
    values = {c: frame[c].tolist() for c in columns}
    hidden = {c: (mask[c].to_numpy(dtype=bool) if mask is not None and c in mask.columns else None)
              for c in columns}
    rows = []
    for k, idx in enumerate(frame.index):
        cells = [_cell("td", _e(idx), "code")] if index_name is not None else []
        for c, col in columns.items():
            text = _e(MARKER) if hidden[c] is not None and hidden[c][k] else _text(col, values[c][k])
            cells.append(_cell("td", text, _pad(col, text)))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if total:
        cells = [_cell("td", _e(total.get("__label__", "Total")), "")] if index_name is not None else []
        cells += [_cell("td", _e(total.get(c, "")), _pad(col, _e(total.get(c, "")))) for c, col in columns.items()]
        rows.append("<tr class=\"total\">" + "".join(cells) + "</tr>")
    cls = f" class=\"{css}\"" if css else ""
    return f"<table{cls}>" + _head(columns, index_name) + "<tbody>" + "".join(rows) + "</tbody></table>"


def _figure(fig, alt: str, caption: str) -> str:
    """Embed a figure as a PNG data URI, shown at a fixed scale (scaled down to the column when narrower)."""
    width, height = fig.get_size_inches()
    data = base64.b64encode(to_png(fig, dpi=_PNG_DPI)).decode("ascii")
    return (f"<figure><img alt=\"{_e(alt)}\" width=\"{round(width * _PX_PER_INCH)}\" "
            f"height=\"{round(height * _PX_PER_INCH)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _section(key: str, body: str) -> str:
    heading = SECTIONS[key] if key in SECTIONS else OPTIONAL_SECTIONS[key][0]
    return f"<section id=\"{key}\"><h2>{_e(heading)}</h2>{body}</section>"


def _missing(what: str) -> str:
    return f"<p class=\"missing\">Not included: {_e(what)}</p>"


def _level(allocation) -> str:
    """Name a consortium in headings by the membership's level (``ICB``), else ``Consortium``."""
    level = str(allocation.parameters.get("level") or "consortium")
    return level if level.isupper() else level[:1].upper() + level[1:]


# ------------------------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------------------------
def _summary(validation, allocation, risk, ladder) -> str:
    cards = []
    if allocation is not None:
        p = allocation.practices
        cards.append(("Control total", allocation.control_total))
        cards.append(("Practices", _count(len(p))))
        if allocation.consortia is not None:
            cards.append((f"{_level(allocation)}s" if _level(allocation).isupper() else "Consortia",
                           _count(len(allocation.consortia))))
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
                      f"{_count(needed)} people" if np.isfinite(needed) else "none large enough"))
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
        text.append(f"The model was validated on {_count(m['people'])} people ({_count(m['person_years'])} "
                    f"person-years) registered with {_count(m['practices'])} practices.")
    return body + "".join(f"<p>{_e(t)}</p>" for t in text)


def _ladder_section(ladder, validation) -> str:
    parts = []
    if ladder is not None:
        frame = plots._ladder_frame(ladder)
        parts.append(_figure(plots.model_ladder(frame), "Bar charts of person and practice R² by model",
                             "Share of the variance of annual cost explained, by model. Diamonds: BMJ 2011 (Dixon "
                             "et al.), Table 1, whose person-level figures are on 5.2 million people and practice "
                             "figures on 797 practices."))
        columns = {"model": _Col("Model", str, numeric=False), "person_r2": _Col("Person R²", "{:.4f}".format),
                   "practice_r2": _Col("Practice R²", "{:.4f}".format)}
        for column, heading, fmt in (("mae", "MAE (£)", "{:,.0f}".format), ("cpm", "CPM", "{:.4f}".format),
                                     ("share_practices_off_10pct", "Practices off ≥10%", "{:.1%}".format)):
            if column in frame.columns:
                columns[column] = _Col(heading, fmt)
        parts.append(_table(frame, columns))
    if validation is not None:
        m = validation.metrics
        rows = pd.DataFrame({"value": [_count(m["people"]), _count(m["person_years"]), _count(m["practices"]),
                                       f"{m['person_r2']:.4f}", f"{m['practice_r2']:.4f}", f"£{m['mae']:,.0f}",
                                       f"{m['cpm']:.4f}", f"{m['share_practices_off_10pct']:.1%}"]},
                            index=["People", "Person-years", "Practices", "Person-level R²", "Practice-level R²",
                                   "Mean absolute error per person-year", "Cumming's prediction measure",
                                   "Practices off by 10% or more"])
        parts.append(f"<h3>Validation of {_e(validation.label or 'the model')}</h3>")
        parts.append(_table(rows, {"value": _Col("Value", str)}, index_name="Measure"))
        by_size = validation.by_list_size
        parts.append("<h3>Error against list size</h3><p class=\"note\">The practices of the validation sample, "
                     "by list size.</p>")
        parts.append(_table(by_size, {"practices": _Col("Practices", _count),
                                      "mean_abs_relative_error": _Col("Mean |error|", _pct_or_blank),
                                      "share_off_10pct": _Col("Off by ≥10%", "{:.1%}".format)},
                            index_name="List size"))
    if not parts:
        return _missing("no model ladder or validation was given.")
    return "".join(parts)


def _signed_pct(v: float) -> str:
    """Write a signed percentage with a true minus sign: ``+1.9%``, ``−0.5%``."""
    return f"{v:+.1%}".replace("-", "−") if np.isfinite(v) else ""


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_count(n)} {one if n == 1 else (many or one + 's')}"


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
    level = _level(allocation)
    columns = {"consortium_name": _Col(level, lambda v: _name_lines(plots.short_name(v)), numeric=False,
                                       kind="name"),
               "registered": _Col("Registered", _paren, group="Population"),
               "weighted_population": _Col("Weighted", _paren, group="Population"),
               "need_index": _Col("Need index", "{:.3f}".format),
               "budget_000": _Col("£'000", _paren, group="Target allocation"),
               "budget_per_head": _Col("£ per head", _paren, group="Target allocation")}
    total = {"__label__": "England" if len(c) > 20 else "Total",
             "registered": _paren(c["registered"].sum()), "weighted_population": _paren(c["weighted_population"].sum()),
             "budget_000": _paren(frame["budget_000"].sum()),
             "budget_per_head": _paren(c["budget_pence"].sum() / 100 / c["registered"].sum())}
    if has_dft:
        columns.update({"baseline_000": _Col("£'000", _paren, group="Baseline"),
                        "distance_from_target_000": _Col("£'000", _paren, group="Distance from target", signed=True),
                        "distance_from_target_pct": _Col("%", lambda v: _paren(v, 2), group="Distance from target",
                                                         signed=True)})
        gap = int(c["baseline_pence"].sum() - c["budget_pence"].sum())
        total.update({"baseline_000": _paren(frame["baseline_000"].sum()),
                      "distance_from_target_000": _paren(frame["distance_from_target_000"].sum()),
                      "distance_from_target_pct": _paren(100 * gap / c["budget_pence"].sum(), 2)})
    if "consortium_name" not in frame.columns:
        columns.pop("consortium_name")
    parts.append(_table(frame, columns, total=total, index_name="Code", css="wide"))
    note = ("£'000 by largest remainder from exact pence: each figure is its amount rounded down or up, and each "
            "column adds up to its total rounded half up. Negative figures in parentheses.")
    if has_dft:
        note += (" Distance from target is baseline − target: positive when the baseline is over target, "
                 "(negative) when under; % of target.")
    if "consortium_name" in frame.columns:
        note += " Names without “NHS” and “Integrated Care Board”."
    parts.append(f"<p class=\"note\">{_e(note)}</p>")
    return "".join(parts)


def _suppression_rule(min_count: int, min_list_size: float) -> str:
    return (f"counts of people under {min_count:,}, and figures resting on fewer than {min_list_size:,.0f} people "
            "(a practice's actual and predicted cost per person-year and its error, when fewer people were "
            "validated)")


def _practice_section(allocation, validation, suppress, min_count, min_list_size, max_rows) -> str:
    if allocation is None and validation is None:
        return _missing("no allocation or validation was given.")
    parts = []
    if allocation is not None:
        p = allocation.practices.assign(budget_000=allocation.to_frame(units="£000")["budget_000"])
        columns = {"consortium_code": _Col(_level(allocation), str, numeric=False, kind="code"),
                   "registered": _Col("Registered", _paren),
                   "need_index": _Col("Need index", "{:.3f}".format),
                   "budget_000": _Col("Budget (£'000)", _paren),
                   "budget_per_head": _Col("£ per head", _paren),
                   "distance_from_target_pct": _Col("Distance from\ntarget (%)", lambda v: _paren(v, 2),
                                                    signed=True)}
        columns = {k: col for k, col in columns.items() if k in p.columns}
        shown = p if max_rows is None else p.head(max_rows)
        extra = "" if max_rows is None or len(p) <= max_rows else (
            f" First {_count(max_rows)} of {_count(len(p))} practices shown.")
        parts.append("<h3>Budgets by practice</h3>")
        parts.append(f"<p class=\"note\">Budgets, list sizes and need indices are published in full for every "
                     f"practice, however small its list: they are the allocation itself, not figures about "
                     f"people.{_e(extra)}</p>")
        parts.append("<div class=\"scroll\">" + _table(shown, columns, index_name="Practice") + "</div>")
    if validation is not None:
        v = validation.practices.rename(columns={"list_size": "validation_people", "actual": "actual_pp",
                                                 "predicted": "predicted_pp"})
        v = v[["validation_people", "actual_pp", "predicted_pp", "relative_error"]]
        if allocation is not None and "consortium_code" in allocation.practices.columns:
            v.insert(0, "consortium_code", allocation.practices["consortium_code"].reindex(v.index).to_numpy())
        columns = {"consortium_code": _Col(_level(allocation) if allocation is not None else "Consortium", str,
                                           numeric=False, kind="code"),
                   "validation_people": _Col("People validated", _count),
                   "actual_pp": _Col("Actual", _paren, group="£ per person-year"),
                   "predicted_pp": _Col("Predicted", _paren, group="£ per person-year"),
                   "relative_error": _Col("Predicted ÷\nactual − 1", _signed_pct)}
        columns = {k: col for k, col in columns.items() if k in v.columns}
        mask = None
        if suppress:
            result = suppress_small_numbers(v, counts=["validation_people"], min_count=min_count,
                                            lists={"validation_people": ["actual_pp", "predicted_pp",
                                                                         "relative_error"]},
                                            min_list_size=min_list_size)
            mask = result.mask
            note = (f"{MARKER}: suppressed to protect people's confidentiality — "
                    f"{_suppression_rule(min_count, min_list_size)}: {_plural(result.parameters['cells'], 'cell')} "
                    f"in {_plural(result.parameters['rows'], 'practice')}. Primary suppression only: check that "
                    "published totals cannot reveal a suppressed cell.")
        else:
            note = "Small-number suppression is off: every figure is shown."
        parts.append("<h3>Validation practices</h3>")
        parts.append(f"<p class=\"note\">The practices whose people validated the model: actual against predicted "
                     f"cost. {_e(note)}</p>")
        parts.append("<div class=\"scroll\">" + _table(v, columns, mask=mask, index_name="Practice") + "</div>")
    return "".join(parts)


def _method_section(allocation, validation, risk, provenance, suppress=True, min_count=DEFAULT_MIN_COUNT,
                    min_list_size=DEFAULT_MIN_LIST_SIZE) -> str:
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
    if validation is not None:
        items.append((f"Small-number suppression ({MARKER}) of the validation practices' table: "
                      f"{_suppression_rule(min_count, min_list_size)}. " if suppress else
                      "Small-number suppression was switched off. ")
                     + "Budgets, list sizes and need indices are never suppressed.")
    rows = dict(provenance or {})
    rows.setdefault("capitation version", __version__)
    rows.setdefault("report written", _dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    if allocation is not None:
        rows.setdefault("control total", allocation.control_total)
        period = _membership_period(allocation.parameters)
        if period:
            rows.setdefault("membership", f"{_level(allocation)}s in force {period}" if _level(allocation).isupper()
                            else f"in force {period}")
    table = _table(pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows)),
                   {"value": _Col("Details", str, numeric=False)}, index_name="Item")
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>" + table


def _risk_sharing_section(result) -> str:
    """Write the trade-off figure, the rules side by side and what the simulation assumes (see risk_sharing.py)."""
    table = risk_sharing.risk_sharing_table(result)
    columns = {c: _Col(str(c), str) for c in table.columns}
    return (_figure(risk_sharing.risk_sharing_tradeoff(result), "Trade-offs of risk-sharing rules",
                    risk_sharing.RISK_SHARING_CAPTION)
            + _table(table, columns, index_name="Measure", css="wide")
            + f"<p class=\"note\">{_e(risk_sharing.risk_sharing_note(result))}</p>")


def _waterfall_table(explanation, allocation) -> str:
    """Each consortium's budget per head, from the national average through each block of predictors."""
    t = explanation.to_frame()
    blocks = [c for c in ("age_sex", "morbidity", "primary_care", "need", "other") if c in t]
    columns = {}
    if allocation is not None and allocation.consortia is not None and "consortium_name" in allocation.consortia:
        t["consortium_name"] = allocation.consortia["consortium_name"].reindex(t.index)
        columns["consortium_name"] = _Col(_level(allocation), lambda v: _name_lines(plots.short_name(v)),
                                          numeric=False, kind="name")
    money = lambda v: _paren(v, 2)  # noqa: E731
    if "national_per_head" in t:
        columns["national_per_head"] = _Col("National average", money)
    columns.update({c: _Col(plots._BLOCK_LABELS.get(c, c), money, group="Contribution of", signed=True)
                    for c in blocks})
    if "budget_per_head" in t:
        columns["budget_per_head"] = _Col("Budget per head", money)
    note = ("£ per registered person, to the penny: the national average plus each block's contribution is the "
            "budget per head. Supply is neutralised and contributes nothing. Negative figures in parentheses.")
    return (_table(t, columns, index_name="Code", css="wide")
            + f"<p class=\"note\">{_e(note)}</p>")


# ------------------------------------------------------------------------------------------------------------
# public
# ------------------------------------------------------------------------------------------------------------
def build_report(*, validation=None, ladder=None, allocation=None, risk=None, explanation=None, consortium=None,
                 title: str = "Hospital budgets by person-based resource allocation", subtitle: str | None = None,
                 funnel_cv: float | None = None, suppress: bool = True, min_count: int = DEFAULT_MIN_COUNT,
                 min_list_size: float = DEFAULT_MIN_LIST_SIZE, practice_rows: int | None = None,
                 provenance: dict | None = None, risk_sharing=None) -> str:
    """Build the report as one HTML string, from whichever results are given.

    Parameters
    ----------
    validation, ladder, allocation, risk, explanation, consortium, title, subtitle, funnel_cv, suppress, \
min_count, min_list_size, practice_rows, provenance, risk_sharing
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
        sections["waterfall"] += _waterfall_table(explanation, allocation)
    else:
        sections["waterfall"] = _missing("no budget explanation was given.")
    sections["practices"] = _practice_section(allocation, validation, suppress, min_count, min_list_size,
                                              practice_rows)
    sections["method"] = _method_section(allocation, validation, first_risk, provenance, suppress, min_count,
                                         min_list_size)
    order = list(SECTIONS)
    if risk_sharing is not None:
        sections["risk-sharing"] = _risk_sharing_section(risk_sharing)
        order.insert(order.index(OPTIONAL_SECTIONS["risk-sharing"][1]) + 1, "risk-sharing")
    headings = {**SECTIONS, **{k: v[0] for k, v in OPTIONAL_SECTIONS.items()}}
    nav = "<nav><ol>" + "".join(f"<li><a href=\"#{k}\">{_e(headings[k])}</a></li>" for k in order) + "</ol></nav>"
    sub = f"<p>{_e(subtitle)}</p>" if subtitle else ""
    body = "".join(_section(k, sections[k]) for k in order)
    return ("<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><header><div><h1>{_e(title)}</h1>{sub}</div></header><main>{nav}{body}"
            "</main></body></html>")


def write_report(path, *, validation=None, ladder=None, allocation=None, risk=None, explanation=None,
                 consortium=None, title: str = "Hospital budgets by person-based resource allocation",
                 subtitle: str | None = None, funnel_cv: float | None = None, suppress: bool = True,
                 min_count: int = DEFAULT_MIN_COUNT, min_list_size: float = DEFAULT_MIN_LIST_SIZE,
                 practice_rows: int | None = None, provenance: dict | None = None, risk_sharing=None) -> Path:
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
        Suppress small numbers in the validation practices' table (on by default): counts of people under
        ``min_count``, and the costs and error of a practice with fewer than ``min_list_size`` people
        validated. Budgets, list sizes and need indices are never suppressed: they are the allocation itself.
    min_count, min_list_size : int
        Thresholds of the suppression (5 and 1,000 by default), stated in the report.
    practice_rows : int, optional
        Show only the first rows of the practice budget table (all by default).
    provenance : dict, optional
        Extra items (data source, seed, ...) for the provenance table.
    risk_sharing : RuleComparison or RiskSharingResult, optional
        From :func:`~capitation.allocation.compare_rules` or :func:`~capitation.allocation.simulate_risk_sharing`:
        adds the section "Risk sharing inside the consortium" (the trade-off figure and the rules side by side)
        after the budget risk. Without it the section is left out.

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
                        practice_rows=practice_rows, provenance=provenance, risk_sharing=risk_sharing)
    target = Path(os.fspath(path))
    atomic_write_text(target, text)
    return target
