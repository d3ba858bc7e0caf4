"""The HTML report, its figures, small-number suppression and ``capitation report`` on given tables."""

from __future__ import annotations

import base64
import re
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from capitation import CostModel, FeatureSpec, Membership, Population, aggregate, allocate, encode, score
from capitation.allocation import budget_risk, explain_budgets, thousands
from capitation.errors import InputError
from capitation.model import split_people, validate
from capitation.report import (
    BMJ_2011_LADDER,
    SECTIONS,
    actual_vs_predicted,
    budget_risk_by_size,
    budget_waterfall,
    build_report,
    consortium_budgets,
    funnel_control_limits,
    funnel_plot,
    ladder_table,
    model_ladder,
    predictive_ratios,
    suppress_small_numbers,
    write_report,
)
from helpers import make_membership, make_people

#: Sections that must carry a figure when every result is given.
FIGURE_SECTIONS = ("ladder", "predictive-ratios", "actual-vs-predicted", "funnel", "consortium-budgets",
                   "budget-risk", "waterfall")


@pytest.fixture(scope="module")
def results():
    people = make_people(12_000, n_practices=30, seed=11)
    pop = Population.from_frame(people)
    groups = make_membership(people["practice_code"].unique(), n_groups=4)
    membership = Membership.from_frame(groups, level="ICB")
    fit_rows, val_rows = split_people(pop.n_people, 0.5, seed=2)
    est, val = pop.take(fit_rows), pop.take(val_rows)
    ladder, model, X = [], None, None
    for name, bands in (("Age–sex, broad", (0, 45, 75)), ("Age–sex, fine", (0, 15, 45, 65, 75, 85))):
        spec = FeatureSpec(diagnosis_grouping=None, age_bands=bands)
        X = encode(spec, est)
        model = CostModel().fit(X, est.cost / est.exposure, sample_weight=est.exposure)
        V = encode(spec, val)
        dims = {"sex": val.sex.astype(str), "age band": np.where(val.age < 65, "0–64", "65+")}
        ladder.append(validate(model.predict(V), val.cost / val.exposure, val.exposure,
                               practice_code=val.practice_code, groups=dims, label=name))
    need = score(model, X)
    agg = aggregate(est, need, membership=membership)
    baseline = pd.Series([2.6e6, 2.4e6, 2.5e6, 2.5e6], index=sorted(groups["consortium_code"].unique()))
    alloc = allocate(agg, 10_000_000, membership=membership, baseline=baseline)
    y = est.cost / est.exposure
    risk = budget_risk(need, est.practice_code, residuals=y - model.predict(X), n_resamples=20)
    consortium = alloc.practices["consortium_code"].reindex(est.practice_code).to_numpy(dtype=object)
    risk_c = budget_risk(need, consortium, residuals=y - model.predict(X), n_resamples=0)
    explanation = explain_budgets(alloc, model, X, est.practice_code)
    return {"validation": ladder[-1], "ladder": ladder, "allocation": alloc, "risk": risk, "risk_c": risk_c,
            "explanation": explanation, "people": people, "groups": groups}


def _sections(text: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', text, flags=re.S))


def _pngs(text: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def test_report_has_every_section_each_with_an_image(results, tmp_path):
    path = write_report(tmp_path / "out" / "report.html", validation=results["validation"],
                        ladder=results["ladder"], allocation=results["allocation"],
                        risk={"practices": results["risk"], "ICBs": results["risk_c"]},
                        explanation=results["explanation"], provenance={"data": "test population"},
                        min_list_size=100)
    text = path.read_text(encoding="utf-8")
    sections = _sections(text)
    assert list(sections) == list(SECTIONS)
    for key in FIGURE_SECTIONS:
        images = _pngs(sections[key])
        assert len(images) == 1, key
        assert images[0].startswith(b"\x89PNG\r\n\x1a\n") and len(images[0]) > 5_000, key
    assert "Not included" not in text
    # self-contained: no external stylesheets, scripts or images
    assert not re.search(r'<(link|script)\b', text)
    assert not re.search(r'src="(?!data:)', text)
    assert "#005EB8" in text
    assert "test population" in sections["method"]


def test_consortium_table_in_thousands_with_exact_totals(results):
    alloc = results["allocation"]
    text = build_report(allocation=alloc)
    table = _sections(text)["consortium-budgets"]
    # grouped headings, as NHS England's allocation tables: Target allocation £'000, Distance from target £'000 and %
    assert '<th class="group" colspan="2">Target allocation</th>' in table
    assert '<th class="group" colspan="2">Distance from target</th>' in table
    assert '<th class="num">£&#x27;000</th>' in table and '<th class="num">%</th>' in table
    total = int(thousands([alloc.control_total_pence])[0])
    assert f"{total:,}" in table
    # every consortium's budget in £'000 by the package's one rule (largest remainder), negatives in parentheses
    figures = alloc.to_frame("consortium", units="£000")
    assert int(figures["budget_000"].sum()) == total
    for code, row in figures.iterrows():
        assert f">{int(row['budget_000']):,}<" in table, code
        gap = int(row["distance_from_target_000"])
        shown = f"({abs(gap):,})" if gap < 0 else f"{gap:,}"
        assert f">{shown}<" in table, code


def test_missing_results_are_named_not_drawn(results):
    text = build_report(validation=results["validation"])
    sections = _sections(text)
    assert list(sections) == list(SECTIONS)
    assert "Not included" in sections["consortium-budgets"] and "Not included" in sections["waterfall"]
    assert len(_pngs(sections["funnel"])) == 1
    with pytest.raises(TypeError, match="'allocation' parameter"):
        build_report(allocation=results["validation"])


def test_practice_table_suppresses_small_numbers_by_default(results):
    from capitation.report.html import _practice_section

    alloc, validation = results["allocation"], results["validation"]
    # validation columns rest on the people validated (~200 per practice here): suppressed under the threshold
    both = _practice_section(alloc, validation, True, 5, 150, None)
    assert both.count("[c]") == 1  # the note only
    n = len(validation.practices)
    both = _practice_section(alloc, validation, True, 5, 10**6, None)
    assert both.count("[c]") == 3 * n + 1  # actual, predicted, error; and the note
    assert "suppressed" in both and "under 5" in both and "1,000,000 people" in both
    shown = _practice_section(alloc, validation, False, 5, 10**6, None)
    assert "[c]" not in shown and "suppression is off" in shown


def test_budgets_are_never_suppressed(results):
    """Small practices' budgets are published: suppression is for figures about people, never a budget line."""
    alloc = results["allocation"]
    assert (alloc.practices["registered"] < 1_000).all()  # every test list is under the default threshold
    sections = _sections(build_report(allocation=alloc, validation=results["validation"]))
    budgets = sections["practices"].split("<h3>Validation practices</h3>")[0]
    assert "Budgets by practice" in budgets and "[c]" not in budgets
    for code, row in alloc.to_frame(units="£000").iterrows():
        assert f"<td class=\"code\">{code}</td>" in budgets
        assert f">{int(row['budget_000']):,}<" in budgets, code
    # the report says which figures are suppressed, by which thresholds, and that budgets are not
    method = sections["method"]
    assert "counts of people under 5" in method and "fewer than 1,000 people" in method
    assert "Budgets, list sizes and need indices are never suppressed" in method
    assert "[c]" not in _sections(build_report(allocation=alloc, min_list_size=10**6))["practices"]


def test_counts_print_as_whole_numbers(results):
    """Counts of practices and people are whole numbers with thousands separators, never "7.0"."""
    validation = results["validation"]
    by_size = validation.by_list_size
    assert pd.api.types.is_integer_dtype(by_size["practices"])  # a row of floats would make them 7.0
    ladder = _sections(build_report(validation=validation, ladder=results["ladder"]))["ladder"]
    table = ladder.split("Error against list size")[1]
    counts = re.findall(r"<tr><td[^>]*>[^<]+</td><td class=\"num\">([^<]+)</td>", table)
    assert counts == [f"{n:,}" for n in by_size["practices"]]
    assert not re.search(r">[\d,]+\.0<", ladder)
    from capitation.report.html import _count

    assert [_count(v) for v in (1, 7.0, 1234.0, np.int64(63_849_383), 2.6)] == ["1", "7", "1,234", "63,849,383",
                                                                                "3"]


def test_membership_period_prints_its_last_day(results):
    """A membership's valid_to is exclusive: 1 April 2025 to 31 March 2026, not "to 2026-04-01"."""
    need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
    frame = pd.DataFrame({"practice_code": need.index, "consortium_code": ["Q1", "Q2"]})
    for membership in (Membership.from_frame(frame, level="ICB", year="2025/26"),
                       Membership.from_frame(frame, level="ICB", valid_from="2025-04-01", valid_to="2026-04-01")):
        alloc = allocate(need, 300, registered=pd.Series(10, index=need.index), membership=membership)
        method = _sections(build_report(allocation=alloc))["method"]
        assert "ICBs in force 1 April 2025 to 31 March 2026" in method
        assert "2026-04-01" not in method and "1 April 2026" not in method
    # recorded as dates (valid_to exclusive), or as the text Membership writes (its last day)
    from capitation.report.html import _membership_period

    assert _membership_period({"membership_valid_from": "2025-04-01", "membership_valid_to": "2026-04-01"}) == \
        "1 April 2025 to 31 March 2026"
    assert _membership_period({"membership_period": "in force 2024-04-01 to 2025-03-31"}) == \
        "1 April 2024 to 31 March 2025"
    assert _membership_period({"membership_valid_from": "2025-04-01"}) == "from 1 April 2025"
    assert _membership_period({}) is None


def test_every_figure_the_report_draws_keeps_its_text_inside(results, monkeypatch):
    """No title, label or annotation runs off a figure's edge (a saved image would cut it off)."""
    from capitation.report import html as report_html
    from capitation.report._mpl import overlapping_tick_labels
    from capitation.report.plots import text_outside_figure

    drawn = []
    figure = report_html._figure
    monkeypatch.setattr(report_html, "_figure", lambda fig, *a: drawn.append(fig) or figure(fig, *a))
    build_report(validation=results["validation"], ladder=results["ladder"], allocation=results["allocation"],
                 risk={"practices": results["risk"], "ICBs": results["risk_c"]},
                 explanation=results["explanation"], min_list_size=100)
    assert len(drawn) == len(FIGURE_SECTIONS)
    # England's 42 ICBs with their long names: the figure whose title was cut off ("(grey: over targe")
    names = Membership.nhs_england("2025/26").names()
    rng = np.random.default_rng(4)
    icbs = pd.DataFrame({"consortium_name": list(names.values()),
                         "distance_from_target_pct": rng.normal(0, 5, len(names))}, index=list(names))
    drawn += [consortium_budgets(icbs), consortium_budgets(icbs.drop(columns="consortium_name")),
              budget_waterfall(results["explanation"], name=max(names.values(), key=len)),
              model_ladder(pd.concat([BMJ_2011_LADDER] * 2, ignore_index=True))]
    # the ladder as the report draws it from people with GP records: three rungs, long names side by side
    three = BMJ_2011_LADDER.head(3).assign(model=["Age–sex", "+ diagnoses", "+ GP-recorded conditions"])
    drawn.append(model_ladder(three))
    for fig in drawn:
        assert text_outside_figure(fig) == [], fig.axes[0].get_title(loc="left")
        assert overlapping_tick_labels(fig) == [], fig.axes[0].get_title(loc="left")


def test_text_outside_figure_finds_what_a_saved_image_would_cut_off():
    from capitation.report._mpl import figure, fit_titles
    from capitation.report.plots import text_outside_figure

    fig = figure(4, 3)
    ax = fig.subplots()
    ax.plot([1, 2], [1, 2])
    assert text_outside_figure(fig) == []
    ax.set_title("Distance from target by consortium (grey: over target; blue: under)", loc="left")
    fig.text(0.8, 0.5, "a note too long for the space left")
    found = text_outside_figure(fig)
    assert len(found) == 2 and all("crosses the right edge" in f for f in found), found
    fit_titles(fig)  # titles are wrapped to fit; other text is the figure's own business
    assert text_outside_figure(fig) == [found[1]], text_outside_figure(fig)
    assert "\n" in ax.get_title(loc="left")
    fig.texts[0].set_visible(False)
    # an annotation whose point is outside the axes is not drawn, so it is not counted
    ax.annotate("not drawn", (10.0, 10.0)).set_in_layout(False)
    assert text_outside_figure(fig) == []


def test_tables_are_laid_out_for_a_finance_paper(results):
    """Numbers right-aligned in tabular figures, names of at most two unbroken parts, grouped headings."""
    table = _sections(build_report(allocation=results["allocation"]))["consortium-budgets"]
    assert re.search(r'<th class="group" colspan="2">Target allocation</th>', table)
    names = [n for n in re.findall(r'<td class="name">(.*?)</td>', table) if n]  # the total's is blank
    assert len(names) == 4 and all(1 <= n.count("<span>") <= 2 for n in names)
    numbers = re.findall(r'<td class="([^"]*)">\(?[\d,.]+\)?</td>', table)
    assert numbers and all(c.split()[0] == "num" for c in numbers)
    from capitation.report.html import _CSS, _name_lines

    assert "font-variant-numeric: tabular-nums" in _CSS and "text-align: right" in _CSS
    assert _name_lines("Bath and North East Somerset, Swindon and Wiltshire") == [
        "Bath and North East Somerset,", "Swindon and Wiltshire"]
    assert _name_lines("Devon") == ["Devon"]


def test_suppress_small_numbers_by_hand():
    t = pd.DataFrame({"registered": [12_000, 400, 5_000], "deaths": [3, 9, 0], "cost": [812.0, 655.0, 700.0],
                      "budget": [1, 2, 3]}, index=["A81001", "A81002", "A81003"])
    s = suppress_small_numbers(t, counts=["deaths"], lists={"registered": ["cost"]})
    assert s.mask.to_numpy().tolist() == [[False, True, False, False], [False, False, True, False],
                                          [False, False, False, False]]
    assert np.isnan(s.table.loc["A81001", "deaths"]) and s.table.loc["A81003", "deaths"] == 0
    assert s.parameters["cells"] == 2 and s.parameters["rows"] == 2
    every = suppress_small_numbers(t, lists={"registered": None}, min_list_size=1_000)
    assert every.mask.loc["A81002"].tolist() == [False, True, True, True]
    zero = suppress_small_numbers(t, counts=["deaths"], suppress_zero=True)
    assert zero.mask["deaths"].tolist() == [True, False, True]
    with pytest.raises(InputError, match="not in the table"):
        suppress_small_numbers(t, counts=["nope"])
    with pytest.raises(ValueError, match="min_count"):
        suppress_small_numbers(t, min_count=0)


def test_each_plot_returns_a_figure_outside_pyplot(results):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    figures = [
        model_ladder(results["ladder"]),
        model_ladder(ladder_table(results["ladder"]), benchmark=False),
        predictive_ratios(results["validation"]),
        predictive_ratios(results["validation"].predictive_ratios, ["sex"]),
        actual_vs_predicted(results["validation"]),
        funnel_plot(results["validation"]),
        funnel_plot(results["validation"].practices, cv=results["risk"].cv_person, size="person_years"),
        consortium_budgets(results["allocation"]),
        budget_risk_by_size(results["risk"]),
        budget_risk_by_size({"practices": results["risk"].table, "ICBs": results["risk_c"]}),
        budget_waterfall(results["explanation"]),
        budget_waterfall(results["explanation"].waterfall(), results["explanation"].table.index[0]),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert plt.get_fignums() == before
    assert figures[0]._repr_png_().startswith(b"\x89PNG")  # shows itself in Jupyter without pyplot
    with pytest.raises(InputError, match="not in the explanation"):
        budget_waterfall(results["explanation"], "NOPE")


def test_ladder_table_and_bmj_benchmark(results):
    frame = ladder_table(results["ladder"])
    assert frame["model"].tolist() == ["Age–sex, broad", "Age–sex, fine"]
    assert frame["practice_r2"].iloc[1] == results["validation"].metrics["practice_r2"]
    assert BMJ_2011_LADDER["practice_r2"].tolist() == [0.3444, 0.6084, 0.7437, 0.7851, 0.7735]
    assert ladder_table({"a": results["validation"]})["model"].tolist() == ["a"]


def test_funnel_limits_follow_the_formula():
    lo, hi = funnel_control_limits([100, 10_000], cv=2.0, probability=0.998)
    z = 3.090232306167813
    np.testing.assert_allclose(hi, [1 + z * 2 / 10, 1 + z * 2 / 100])
    np.testing.assert_allclose(lo, [max(0, 1 - z * 2 / 10), 1 - z * 2 / 100])
    with pytest.raises(ValueError, match="'cv'"):
        funnel_control_limits([10], cv=-1.0)


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    from capitation.report import _mpl

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "capitation\[report\]"'):
        _mpl.require_matplotlib()


def test_cli_report_on_given_tables(results, tmp_path, capsys):
    from capitation.cli import main

    people_csv = tmp_path / "people.csv"
    results["people"].to_csv(people_csv, index=False)
    groups_csv = tmp_path / "groups.csv"
    results["groups"].to_csv(groups_csv, index=False)
    out = tmp_path / "report.html"
    status = main(["report", "--people", str(people_csv), "--membership", str(groups_csv), "--level", "ICB",
                   "--control-total", "1000000", "--out", str(out), "--quiet"])
    assert status == 0, capsys.readouterr().err
    sections = _sections(out.read_text(encoding="utf-8"))
    assert list(sections) == list(SECTIONS)
    for key in ("predictive-ratios", "actual-vs-predicted", "funnel", "consortium-budgets", "budget-risk",
                "waterfall"):
        assert len(_pngs(sections[key])) == 1, key
    assert "[c]" in sections["practices"]


def test_report_functions_draw_and_write_each_result(tmp_path):
    """Results draw nothing themselves: the report's functions take them (what replaced their plot methods)."""
    rng = np.random.default_rng(0)
    codes = np.repeat([f"A{81001 + k}" for k in range(30)], 200)
    actual = rng.gamma(0.3, 3_000, len(codes))
    result = validate(actual * 0.2 + 700, actual, practice_code=codes,
                      groups={"sex": rng.choice(["F", "M"], len(codes))})
    for figure in (predictive_ratios(result), actual_vs_predicted(result), funnel_plot(result)):
        assert figure.axes and figure.axes[0].has_data()
    practices = [f"A{81001 + k}" for k in range(30)]
    need = pd.Series(rng.uniform(500, 1_500, 30), index=practices)
    members = Membership.from_frame(pd.DataFrame({"practice_code": practices,
                                                  "consortium_code": [f"Q{k % 3}" for k in range(30)]}))
    alloc = allocate(need, 1_000_000, membership=members, registered=pd.Series(1_000, index=practices))
    assert consortium_budgets(alloc).axes[0].has_data()
    write_report(tmp_path / "report.html", allocation=alloc, validation=result)
    assert "data:image/png;base64" in (tmp_path / "report.html").read_text(encoding="utf-8")
    for name in ("plot", "write_report", "plot_funnel", "plot_predictive_ratios", "plot_actual_vs_predicted"):
        assert not hasattr(result, name) and not hasattr(alloc, name), name


def test_the_risk_figure_draws_the_risks_own_curve(results):
    risk = results["risk"]
    axes = budget_risk_by_size(risk).axes[0]
    people = risk.table["people"]
    curve = risk.curve(max(people.min() * 0.5, 1), people.max() * 2)
    pooling, needed = axes.lines[0], axes.lines[1]
    np.testing.assert_array_equal(pooling.get_xdata(), curve["people"].to_numpy())
    np.testing.assert_array_equal(pooling.get_ydata(), 100 * curve["p_overspend"].to_numpy())
    assert needed.get_xdata()[0] == risk.pool_needed()
    assert axes.get_xlim()[1] == pytest.approx(curve["people"].iloc[-1])
    # a frame alone, with a cv: the curve of a pool of people with that cv
    frame = budget_risk_by_size(risk.table, cv=2.0, overspend=0.1).axes[0]
    np.testing.assert_allclose(frame.lines[0].get_ydata(),
                               100 * risk.curve(max(people.min() * 0.5, 1), people.max() * 2, cv=2.0,
                                                overspend=0.1)["p_overspend"].to_numpy())
    text = _sections(build_report(risk=risk))
    assert f"{risk.pool_needed():,.0f} people" in text["summary"] + text["budget-risk"]


def test_the_summary_states_whether_the_allocation_reconciles():
    from capitation.report.html import _summary

    need = pd.Series([1.0, 2.0, 3.0], index=["A81001", "A81002", "A81003"])
    members = Membership.from_frame(pd.DataFrame({"practice_code": need.index, "consortium_code": ["Q1", "Q1", "Q2"]}))
    alloc = allocate(need, 600, registered=pd.Series(10, index=need.index), membership=members)
    assert "Pence reconcile<b>yes</b>" in _sections(build_report(allocation=alloc))["summary"]
    alloc.consortia.loc["Q1", "budget_pence"] += 1  # practices still add up; a consortium no longer does
    assert not alloc.reconciles
    assert "Pence reconcile<b>NO</b>" in _summary(None, alloc, None, None)


def test_negative_need_is_explained_in_the_reports_terms(tmp_path, monkeypatch, capsys):
    """A model that predicts a list below zero (few people, rare groups) is refused saying why, not by allocate."""
    from capitation.cli import main
    from capitation.report import committee
    from helpers import make_people

    real = committee.score
    monkeypatch.setattr(committee, "score", lambda model, X: -np.abs(real(model, X)))
    people = make_people(600, n_practices=6, seed=2)
    with pytest.raises(InputError, match=r"predicts negative need for \d+ practice\(s\): A81001 \(\d+ people\).*Fix:"):
        committee.committee_report(tmp_path / "r.html", 1000, people=people, ladder=False)
    csv = tmp_path / "people.csv"
    people.to_csv(csv, index=False)
    status = main(["report", "--people", str(csv), "--control-total", "1000", "--out", str(tmp_path / "c.html"),
                   "--quiet"])
    err = capsys.readouterr().err
    assert status != 0 and "predicts negative need" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c.html").exists() and not (tmp_path / "r.html").exists()
