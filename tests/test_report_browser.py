"""The HTML report as a browser lays it out: headless Chromium at 1280 and 800 px wide.

How the page is read: a measuring script is put into a *copy* of the report (the report itself stays free of
scripts), Chromium loads it with ``--headless --dump-dom`` and the script, run on the page's ``load`` event,
writes what it measured as JSON into the DOM, which ``--dump-dom`` prints. No Python dependency, no driver
whose version must match the browser's, no port to open: one process per width, run side by side.

What is asserted, at each width:

* the page does not scroll sideways (``documentElement.scrollWidth <= clientWidth``);
* no element's content is wider than its box (``scrollWidth <= clientWidth``), and no element's box reaches
  outside its parent's (``getBoundingClientRect``), except inside an explicit horizontal scroll wrapper
  (``.scroll-x``; the report has none);
* every name in a table is on at most two lines, and every number cell is right-aligned in tabular figures.

Screenshots of each width (the first screen, and the whole page) are saved to ``$CAPITATION_ARTIFACTS`` when
set (``.ci/run`` sets it to ``ci-artifacts/`` in the clone), else to the test's ``tmp_path``.

Without Chromium the tests skip, except when the environment variable ``CI`` is ``true``: there they fail, as
CI must prove the layout.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from capitation import Membership, allocate
from capitation.allocation import BudgetExplanation, budget_risk
from capitation.model import validate
from capitation.report import write_report
from helpers import make_people

#: Widths the report must fit: a laptop, and a narrow window (or a tablet held upright).
WIDTHS = (1280, 800)
#: The longest ICB names of 2025/26 (the table must keep each on at most two lines).
LONG_NAMES = ["NHS Bath and North East Somerset, Swindon and Wiltshire Integrated Care Board",
              "NHS Bristol, North Somerset and South Gloucestershire Integrated Care Board",
              "NHS Buckinghamshire, Oxfordshire and Berkshire West Integrated Care Board",
              "NHS Leicester, Leicestershire and Rutland Integrated Care Board",
              "NHS Staffordshire and Stoke-on-Trent Integrated Care Board",
              "NHS Cambridgeshire and Peterborough Integrated Care Board"]

#: Measures the laid-out page and writes the result as JSON into <pre id="layout-result">.
MEASURE = r"""
<script>
window.addEventListener("load", function () {
  var de = document.documentElement, problems = [], names = [], numbers = [], checked = 0;
  function describe(el) {
    var s = el.tagName.toLowerCase();
    if (typeof el.className === "string" && el.className.trim()) s += "." + el.className.trim().split(/\s+/).join(".");
    var section = el.closest("section");
    if (section) s = "section#" + section.id + " " + s;
    var text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60);
    return text ? s + " '" + text + "'" : s;
  }
  var all = document.body.querySelectorAll("*");
  for (var i = 0; i < all.length; i++) {
    var el = all[i];
    if (el.closest(".scroll-x")) continue;  // an explicit horizontal scroll wrapper may hold wider content
    var cs = getComputedStyle(el);
    if (cs.display === "none" || cs.display === "contents" || cs.position === "fixed") continue;
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    checked++;
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
      problems.push({kind: "content wider than its box", element: describe(el), scrollWidth: el.scrollWidth,
                     clientWidth: el.clientWidth});
    var p = el.parentElement;
    if (p) {
      var pr = p.getBoundingClientRect();
      if (r.left < pr.left - 1 || r.right > pr.right + 1)
        problems.push({kind: "box outside its parent", element: describe(el), left: r.left, right: r.right,
                       parentLeft: pr.left, parentRight: pr.right});
    }
  }
  var cells = document.querySelectorAll("td.name");
  for (var j = 0; j < cells.length; j++) {
    var range = document.createRange();
    range.selectNodeContents(cells[j]);
    var rects = range.getClientRects(), tops = [];
    for (var k = 0; k < rects.length; k++) {
      if (rects[k].width === 0) continue;
      var top = rects[k].top, seen = false;
      for (var m = 0; m < tops.length; m++) if (Math.abs(tops[m] - top) < 4) seen = true;
      if (!seen) tops.push(top);
    }
    names.push({name: cells[j].textContent.trim(), lines: tops.length});
  }
  var nums = document.querySelectorAll("td.num, th.num");
  for (var n = 0; n < nums.length; n++) {
    var style = getComputedStyle(nums[n]);
    if (style.textAlign !== "right" || style.fontVariantNumeric.indexOf("tabular-nums") < 0)
      numbers.push({element: describe(nums[n]), textAlign: style.textAlign, numeric: style.fontVariantNumeric});
  }
  var out = {innerWidth: window.innerWidth, scrollWidth: de.scrollWidth, clientWidth: de.clientWidth,
             scrollHeight: de.scrollHeight, checked: checked, tables: document.querySelectorAll("table").length,
             problems: problems, names: names, numbers: numbers, numberCells: nums.length};
  var pre = document.createElement("pre");
  pre.id = "layout-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


# ------------------------------------------------------------------------------------------------------------
# the browser
# ------------------------------------------------------------------------------------------------------------
def _chromium() -> str:
    """The Chromium executable; skip without one, but fail in CI (CI=true), which must prove the layout."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium is needed to check the report's layout (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true, so the check may not be skipped")
    pytest.skip(message)


def _command(browser: str, profile: Path, width: int, height: int, *extra: str) -> list[str]:
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}", f"--window-size={width},{height}",
            *extra]


def _run_all(commands: list[list[str]], timeout: float = 180) -> list[str]:
    """Run the browser commands side by side; return each one's standard output."""
    running = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    outputs = []
    for process, command in zip(running, commands, strict=True):
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"Chromium did not finish in {timeout:.0f} s: {command}\n{err[-2000:]}")
        if process.returncode != 0:
            pytest.fail(f"Chromium failed ({process.returncode}): {command}\n{err[-2000:]}")
        outputs.append(out)
    return outputs


def measure(browser: str, page: Path, work: Path, widths=WIDTHS) -> dict[int, dict]:
    """Lay ``page`` out at each width in headless Chromium and return what the measuring script found."""
    text = page.read_text(encoding="utf-8")
    probe = work / f"{page.stem}-measured.html"
    probe.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    commands = [_command(browser, work / f"profile-measure-{w}", w, 1000, "--virtual-time-budget=10000", "--dump-dom",
                         probe.as_uri()) for w in widths]
    results = {}
    for width, dom in zip(widths, _run_all(commands), strict=True):
        found = re.search(r'<pre id="layout-result">(.*?)</pre>', dom, flags=re.S)
        assert found, f"the measuring script left no result at {width} px:\n{dom[-1000:]}"
        results[width] = json.loads(html.unescape(found.group(1)))
    return results


def screenshots(browser: str, page: Path, folder: Path, heights: dict[int, int]) -> list[Path]:
    """Save the first screen and the whole page (up to 16,000 px) of each width as PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    shots, commands, profiles = [], [], []
    for width, height in heights.items():
        for label, tall in (("first-screen", 900), ("page", min(max(height, 900), 16_000))):
            path = folder / f"{page.stem}-{width}px-{label}.png"
            shots.append(path)
            profiles.append(folder / f".profile-{width}-{label}")
            commands.append(_command(browser, profiles[-1], width, tall, "--hide-scrollbars", f"--screenshot={path}",
                                     page.as_uri()))
    try:
        _run_all(commands)
    finally:
        for profile in profiles:
            shutil.rmtree(profile, ignore_errors=True)
    return shots


def _artifacts(tmp_path: Path) -> Path:
    folder = os.environ.get("CAPITATION_ARTIFACTS")
    return Path(folder) / "report-browser" if folder else tmp_path / "artifacts"


# ------------------------------------------------------------------------------------------------------------
# a small report, with every section, the longest names and England-sized figures
# ------------------------------------------------------------------------------------------------------------
def small_report(path: Path) -> Path:
    """Write a report with every section: 24 practices in 6 ICBs with the longest names, £55 billion.

    Layout is what is tested, so the results are made directly, without fitting a model (numba's compile
    would take longer than the whole test): two "models" predict by age band and sex, the lists are
    England-sized (some under 1,000 people) and the waterfall's contributions are made up to add up.
    """
    people = make_people(8_000, n_practices=24, seed=5)
    practices = sorted(people["practice_code"].unique())
    codes = ["QOX", "QUY", "QU9", "QK1", "QNC", "QUE"]
    groups = pd.DataFrame({"practice_code": practices, "consortium_code": [codes[k % 6] for k in range(24)],
                           "consortium_name": [LONG_NAMES[k % 6] for k in range(24)]})
    membership = Membership.from_frame(groups, name="consortium_name", level="ICB", year="2025/26")
    y = people["cost"] / people["exposure"]
    dims = {"sex": people["sex"].to_numpy(), "age band": np.where(people["age"] < 65, "0–64", "65+")}
    ladder = []
    for name, keys in (("Age–sex, broad", [people["age"] // 45]), ("Age–sex, fine", [people["age"] // 15,
                                                                                       people["sex"]])):
        predicted = y.groupby(keys).transform("mean").to_numpy()
        ladder.append(validate(predicted, y.to_numpy(), people["exposure"].to_numpy(), label=name,
                               practice_code=people["practice_code"].to_numpy(), groups=dims))
    per_head = pd.Series(predicted).groupby(people["practice_code"].to_numpy()).mean()
    rng = np.random.default_rng(7)
    lists = pd.Series(rng.integers(600, 400_000, len(practices)), index=practices, dtype=float)
    baseline = pd.Series(rng.uniform(0.8, 1.2, 6), index=codes)
    allocation = allocate(per_head.reindex(practices) * lists, "55000000000", registered=lists,
                          membership=membership, baseline=baseline / baseline.sum() * 55e9)
    residuals = y.to_numpy() - predicted
    risk = budget_risk(predicted, people["practice_code"].to_numpy(), residuals=residuals, n_resamples=0)
    icb = people["practice_code"].map(dict(zip(practices, groups["consortium_code"], strict=True)))
    risk_c = budget_risk(predicted, icb.to_numpy(dtype=object), residuals=residuals, n_resamples=0)
    blocks = pd.DataFrame(rng.normal(0, 30, (6, 5)), index=codes,
                          columns=["age_sex", "morbidity", "primary_care", "need", "other"])
    national = allocation.control_total_pence / 100 / lists.sum()
    explanation = BudgetExplanation(blocks.assign(registered=allocation.consortia["registered"],
                                                  national_per_head=national, supply_neutralised=0.0,
                                                  budget_per_head=national + blocks.sum(axis=1)))
    return write_report(path, validation=ladder[-1], ladder=ladder, allocation=allocation,
                        risk={"practices": risk, "ICBs": risk_c}, explanation=explanation,
                        subtitle="Test ICBs · 2025/26 · control total £55,000,000,000.00",
                        provenance={"data": "test population"})


@pytest.fixture(scope="module")
def browser() -> str:
    return _chromium()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return small_report(tmp_path_factory.mktemp("browser") / "report.html")


@pytest.fixture(scope="module")
def layout(browser, report, tmp_path_factory) -> dict[int, dict]:
    return measure(browser, report, tmp_path_factory.mktemp("measure"))


# ------------------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_does_not_scroll_sideways(layout, width):
    found = layout[width]
    assert found["innerWidth"] == width  # the window is the width asked for
    assert found["checked"] > 500 and found["tables"] >= 6, found  # the page was laid out, tables and all
    assert found["scrollWidth"] <= found["clientWidth"], found


@pytest.mark.parametrize("width", WIDTHS)
def test_no_element_is_wider_than_its_container(layout, width):
    problems = layout[width]["problems"]
    assert not problems, "\n".join(json.dumps(p, ensure_ascii=False) for p in problems[:20])


@pytest.mark.parametrize("width", WIDTHS)
def test_names_on_two_lines_at_most_and_numbers_right_aligned(layout, width):
    found = layout[width]
    names = found["names"]
    assert len(names) >= 12  # the consortium table and the waterfall's
    assert all(n["lines"] in ((1, 2) if n["name"] else (0,)) for n in names), [n for n in names if n["lines"] > 2]
    assert any(n["lines"] == 2 for n in names) or width > 800  # the longest names do need two lines at 800 px
    assert found["numberCells"] > 200 and not found["numbers"], found["numbers"][:5]


def test_screenshots_are_saved(browser, report, layout, tmp_path):
    folder = _artifacts(tmp_path)
    shots = screenshots(browser, report, folder, {w: layout[w]["scrollHeight"] for w in WIDTHS})
    for path in shots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_the_check_catches_a_table_wider_than_the_page(browser, report, tmp_path):
    """The measure fails a page with a table too wide for it: the check can fail."""
    text = report.read_text(encoding="utf-8")
    wide = "<table><tr>" + "".join(f"<td>{'9' * 12}</td>" for _ in range(14)) + "</tr></table>"
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace("<section id=\"method\"><h2>", f"<section id=\"method\">{wide}<h2>"),
                      encoding="utf-8")
    found = measure(browser, broken, tmp_path, widths=(800,))[800]
    assert found["scrollWidth"] > found["clientWidth"]
    assert any("999999999999" in p["element"] for p in found["problems"])
