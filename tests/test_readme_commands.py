"""The README's "Command line" table, run as a user would on a small synthetic England, with its outputs checked.

One session-scoped folder holds the whole chain: ``capitation synth`` writes a 1% sample of every practice's
list (about 640,000 people on NHS England's 6,348 practices of 2025/26, seed fixed), ``fit`` fits the cost
model on it, ``score`` predicts each person's need, ``allocate`` shares the README's £55bn (from the scores,
from the model, and once through the real ``capitation`` entry point in a subprocess), ``report`` writes the
HTML report from the same tables and ``reproduce`` re-runs every recorded run. The other commands run
in-process through :func:`capitation.cli.main`, so numba compiles the kernels once.

The expected values are derived, never pinned: budgets must add up to the control total to the penny (and in
£'000 to the control total in £'000), every practice and ICB of NHS England's membership must be in the
tables, and the list sizes funded must be the published ones (``practices.parquet``'s ``population``, which
``synth`` writes from the shipped NHS England tables), not the people drawn into the sample.

**Why £300–£3,000 per head.** The control total is NHS England's hospital spend in PBRA's scope, about £55bn, for
about 64 million registered people: about £860 per head. An ICB's need index lies within about 0.7–1.4 of the
national mean (NHS England's published ICB need indices are within 0.8–1.25), so every ICB and the national
figure must be within a band of roughly a third to three and a half times the mean, £300–£3,000 per head. A
budget per head computed over the people in a 1% sample instead of the registered lists is 100 times larger
(about £86,000), and one over ten times too many people about £86: both are far outside the band. Practices
are not held to the band: a 1% sample of a small list is a handful of people, and tiny lists (a few
registered people at a closing practice) make any per-head figure meaningless.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation.aggregation.membership import Membership
from capitation.cli import DEFAULT_CONTROL_TOTAL, main

# of every practice's list, as the demo: about 640,000 people. At 0.2% or 0.3% (20 or 30 a practice), the
# report's model, estimated on half of them, gave a few people need far below zero (diagnosis coefficients
# from a handful of people reach -£8,000) and a practice's total with them, which the report refuses.
FRACTION = "0.01"
SEED = "0"
YEAR = "2025/26"
CONTROL_TOTAL = Decimal(DEFAULT_CONTROL_TOTAL)  # the README's £55bn, the default of allocate and report
PER_HEAD = (300, 3000)  # £ per registered person, for each ICB and for England: see the module docstring
MANIFESTS = ("synth", "fit", "score", "allocate")


# -- running commands ---------------------------------------------------------------------------------------

@dataclass
class Run:
    """One command's exit status and what it printed."""

    argv: list[str]
    status: int
    out: str
    err: str

    def check(self) -> Run:
        """Fail, showing the command and its error line, unless it exited 0."""
        assert self.status == 0, f"capitation {' '.join(self.argv)} exited {self.status}: {self.err.strip()}"
        return self


def run(*argv) -> Run:
    """``capitation ARGV`` in this process, its output captured."""
    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:  # a usage error
            status = exc.code if isinstance(exc.code, int) else 1
    return Run(argv, status, out.getvalue(), err.getvalue())


def entry_point() -> str:
    """The ``capitation`` script installed beside this Python (the environment under test), else on PATH."""
    beside = Path(sys.executable).with_name("capitation")
    found = str(beside) if beside.exists() else shutil.which("capitation")
    assert found, "no 'capitation' command beside this Python or on PATH: the package's entry point is missing"
    return found


# -- the chain, once per session ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    """The session's working folder: every input, output and manifest lies inside it, as reproduce requires."""
    return tmp_path_factory.mktemp("readme-commands")


@pytest.fixture(scope="session")
def synth(folder) -> Run:
    return run("synth", "--fraction", FRACTION, "--seed", SEED, "--year", YEAR, "--out", folder / "se",
               "--manifest", folder / "synth.json", "--quiet")


def inputs(folder: Path) -> list:
    return ["--people", folder / "se" / "people", "--diagnoses", folder / "se" / "diagnoses"]


@pytest.fixture(scope="session")
def fit(folder, synth) -> Run:
    synth.check()
    return run("fit", *inputs(folder), "--year", YEAR, "--out", folder / "model.json",
               "--coefficients", folder / "coefficients.csv", "--manifest", folder / "fit.json", "--quiet")


@pytest.fixture(scope="session")
def score(folder, fit) -> Run:
    fit.check()
    return run("score", "--model", folder / "model.json", *inputs(folder), "--out", folder / "need.parquet",
               "--manifest", folder / "score.json", "--quiet")


@pytest.fixture(scope="session")
def allocate(folder, score) -> Run:
    """``capitation allocate --need`` on the scores, with the default control total (the README's £55bn)."""
    score.check()
    return run("allocate", "--need", folder / "need.parquet", "--year", YEAR, "--out", folder / "budgets",
               "--manifest", folder / "allocate.json")


@pytest.fixture(scope="session")
def report(folder, synth) -> Run:
    synth.check()
    return run("report", *inputs(folder), "--year", YEAR, "--out", folder / "report.html", "--quiet")


@pytest.fixture(scope="session")
def practices(folder, synth) -> pd.DataFrame:
    """NHS England's practices of the year as synth wrote them, with their published list sizes."""
    synth.check()
    return pd.read_parquet(folder / "se" / "practices.parquet").set_index("practice_code")


@pytest.fixture(scope="session")
def membership() -> Membership:
    return Membership.nhs_england(YEAR)


def budget_tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """practice_budgets.csv and icb_budgets.csv, the exact £ read as text."""
    read = {"dtype": {"budget": str, "practice_code": str, "consortium_code": str}, "keep_default_na": False}
    return (pd.read_csv(out / "practice_budgets.csv", **read).set_index("practice_code"),
            pd.read_csv(out / "icb_budgets.csv", **read).set_index("consortium_code"))


def pounds(column: pd.Series) -> list[Decimal]:
    return [Decimal(v) for v in column]


def in_thousands(amount: Decimal) -> int:
    return int(amount.scaleb(-3).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- synth, fit, score --------------------------------------------------------------------------------------

def test_synth_writes_a_sample_of_every_practice(synth, folder, practices, membership):
    synth.check()
    for table in ("people", "diagnoses", "conditions", "areas", "practices"):
        assert any((folder / "se").glob(f"{table}*")), f"synth wrote no {table} table"
    assert set(practices.index) == set(membership.practices)
    people = pd.read_parquet(folder / "se" / "people", columns=["person_id", "practice_code"])
    assert people["person_id"].is_unique
    assert set(people["practice_code"]) <= set(membership.practices)
    expected = float(FRACTION) * practices["population"].sum()  # the share of the published lists
    assert abs(len(people) - expected) <= 0.02 * expected, (len(people), expected)


def test_fit_saves_json_and_npz_without_pickle(fit, folder):
    fit.check()
    saved = json.loads((folder / "model.json").read_text())
    assert isinstance(saved, dict) and saved
    with np.load(folder / "model.npz", allow_pickle=False) as arrays:
        assert arrays.files
        assert all(arrays[name].dtype != object for name in arrays.files)
    coefficients = pd.read_csv(folder / "coefficients.csv")
    assert len(coefficients) > 38  # the 38 age-sex cells, plus the diagnosis groups
    assert np.isfinite(coefficients.select_dtypes("number").to_numpy(float)).all()


def test_score_predicts_everyone(score, folder):
    score.check()
    people = pd.read_parquet(folder / "se" / "people", columns=["person_id", "practice_code"])
    need = pd.read_parquet(folder / "need.parquet")
    assert {"person_id", "practice_code", "need"} <= set(need.columns)
    assert len(need) == len(people)
    assert need["person_id"].is_unique and set(need["person_id"]) == set(people["person_id"])
    merged = people.merge(need, on="person_id", suffixes=("", "_scored"))
    assert (merged["practice_code"] == merged["practice_code_scored"]).all()
    assert np.isfinite(need["need"]).all() and need["need"].mean() > 0


# -- allocate -----------------------------------------------------------------------------------------------

def test_allocate_budgets_sum_to_the_control_total_to_the_penny(allocate, folder):
    allocate.check()
    practice, icb = budget_tables(folder / "budgets")
    assert sum(pounds(practice["budget"])) == CONTROL_TOTAL
    assert sum(pounds(icb["budget"])) == CONTROL_TOTAL
    assert int(practice["budget_pence"].sum()) == int(CONTROL_TOTAL * 100)
    # every £'000 column adds up to the control total in £'000 (README, "What is exact")
    assert int(practice["budget_000"].sum()) == in_thousands(CONTROL_TOTAL)
    assert int(icb["budget_000"].sum()) == in_thousands(CONTROL_TOTAL)


def test_allocate_icb_budgets_are_the_sums_of_their_practices(allocate, folder, membership):
    allocate.check()
    practice, icb = budget_tables(folder / "budgets")
    assert set(icb.index) == set(membership.consortia)
    icb_of = membership.as_series()
    assert (practice["consortium_code"] == icb_of.reindex(practice.index)).all()
    summed = {code: sum(pounds(group["budget"]), Decimal(0)) for code, group in practice.groupby("consortium_code")}
    assert {code: Decimal(v) for code, v in icb["budget"].items()} == summed


def test_allocate_lists_every_practice_funded_or_with_its_reason(allocate, folder, membership):
    allocate.check()
    practice, _ = budget_tables(folder / "budgets")
    assert practice.index.is_unique
    assert set(practice.index) == set(membership.practices)
    unfunded = practice[practice["budget_pence"] == 0]
    if len(unfunded):
        assert "reason" in practice.columns, "practices with no budget, and no reason column"
        assert (unfunded["reason"].str.strip() != "").all(), unfunded.index[unfunded["reason"].str.strip() == ""]
    sampled = set(pd.read_parquet(folder / "se" / "people", columns=["practice_code"])["practice_code"])
    assert (practice.loc[sorted(sampled), "budget_pence"] > 0).all(), "a practice with people got no budget"


def test_allocate_funds_the_registered_lists_at_a_plausible_amount_per_head(allocate, folder, practices):
    allocate.check()
    _, icb = budget_tables(folder / "budgets")
    published = practices["population"].sum()  # NHS England's registered list sizes
    registered = icb["registered"].sum()
    assert abs(registered - published) <= 0.01 * published, (
        f"the ICBs' registered population is {registered:,.0f}, not the published lists' {published:,.0f}")
    assert PER_HEAD[0] <= float(CONTROL_TOTAL) / registered <= PER_HEAD[1]
    per_head = pd.Series([float(b) for b in pounds(icb["budget"])], index=icb.index) / icb["registered"]
    np.testing.assert_allclose(icb["budget_per_head"], per_head, rtol=1e-9)
    outside = per_head[(per_head < PER_HEAD[0]) | (per_head > PER_HEAD[1])]
    assert outside.empty, f"£ per head outside £{PER_HEAD[0]}–£{PER_HEAD[1]}: {outside.round(2).to_dict()}"


def test_allocate_from_the_model_gives_the_same_budgets(allocate, folder):
    allocate.check()
    again = run("allocate", "--model", folder / "model.json", *inputs(folder), "--year", YEAR,
                "--out", folder / "budgets-from-model", "--quiet").check()
    assert again.out == ""  # --quiet
    for name in ("practice_budgets.csv", "icb_budgets.csv"):
        assert (folder / "budgets-from-model" / name).read_bytes() == (folder / "budgets" / name).read_bytes()


def test_the_capitation_command_itself(allocate, folder):
    """One real run of the installed entry point, in a new process, gives the in-process run's files."""
    allocate.check()
    out = folder / "budgets-subprocess"
    done = subprocess.run([entry_point(), "allocate", "--need", str(folder / "need.parquet"), "--year", YEAR,
                           "--out", str(out), "--quiet"], capture_output=True, text=True, cwd=folder, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    for name in ("practice_budgets.csv", "icb_budgets.csv"):
        assert (out / name).read_bytes() == (folder / "budgets" / name).read_bytes()


# -- report -------------------------------------------------------------------------------------------------

class _Tables(HTMLParser):
    """The tables of an HTML page: each as its column names (header cells spanning rows and columns joined, top
    to bottom: ``Target allocation £ per head``) and its body rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.raw: list[list[list[tuple[str, str, int, int]]]] = []  # tables → rows → (tag, text, colspan, rowspan)
        self._row: list | None = None
        self._cell: tuple[str, int, int, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.raw.append([])
        elif tag == "tr" and self.raw:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = (tag, int(attrs.get("colspan") or 1), int(attrs.get("rowspan") or 1), [])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            kind, colspan, rowspan, text = self._cell
            self._row.append((kind, " ".join("".join(text).split()), colspan, rowspan))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.raw[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[3].append(data)

    @property
    def tables(self) -> list[tuple[list[str], list[list[str]]]]:
        found = []
        for rows in self.raw:
            n_header = next((i for i, row in enumerate(rows) if any(kind != "th" for kind, *_ in row)), len(rows))
            grid: dict[tuple[int, int], str] = {}
            for r, row in enumerate(rows[:n_header]):
                c = 0
                for _, text, colspan, rowspan in row:
                    while (r, c) in grid:
                        c += 1
                    for dr in range(rowspan):
                        for dc in range(colspan):
                            grid[r + dr, c + dc] = text
                    c += colspan
            width = max((c + 1 for _, c in grid), default=0)
            names = []
            for c in range(width):
                parts = [grid.get((r, c), "") for r in range(n_header)]
                names.append(" ".join(p for i, p in enumerate(parts) if p and p not in parts[:i]))
            found.append((names, [[text for _, text, *_ in row] for row in rows[n_header:]]))
        return found


def test_report_writes_a_self_contained_html_with_the_icb_table(report, folder, membership, practices):
    report.check()
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert not re.search(r"""<(?:img|script|link)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""", html), \
        "the report loads something from the network: it must be self-contained"
    parser = _Tables()
    parser.feed(re.sub(r"""(src|href)=(["'])data:[^"']*\2""", r"\1=\2\2", html))  # embedded figures: not read
    icb_tables = [(names, rows) for names, rows in parser.tables
                  if any(row and row[0] in membership.consortia for row in rows)]
    assert icb_tables, "no table in the report lists the ICBs"
    names, rows = icb_tables[0]
    rows = [row for row in rows if row[0] in membership.consortia]
    assert sorted(row[0] for row in rows) == sorted(membership.consortia)

    def column(*words: str) -> list[float]:
        found = [i for i, name in enumerate(names) if all(w.lower() in name.lower() for w in words)]
        assert found, f"the report's ICB table has no column naming {' and '.join(words)}: {names}"
        return [float(row[found[0]].replace(",", "").replace("£", "")) for row in rows]

    per_head = column("per head")
    outside = [v for v in per_head if not PER_HEAD[0] <= v <= PER_HEAD[1]]
    assert not outside, f"£ per head outside £{PER_HEAD[0]}–£{PER_HEAD[1]} in the report: {outside[:5]}"
    registered, published = sum(column("registered")), practices["population"].sum()
    assert abs(registered - published) <= 0.01 * published, (registered, published)
    # the target allocation in £'000 adds up to the control total in £'000 (README, "What is exact")
    assert sum(column("target", "£'000")) == in_thousands(CONTROL_TOTAL)


# -- reproduce ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", MANIFESTS)
def test_reproduce_confirms_each_recorded_run_bit_identical(command, request, folder):
    request.getfixturevalue(command).check()
    manifest = folder / f"{command}.json"
    assert manifest.exists(), f"capitation {command} --manifest wrote no manifest"
    again = run("reproduce", manifest)
    assert again.status == 0, f"reproduce {command}.json exited {again.status}: {again.err.strip()}\n{again.out}"
    assert "bit-identical" in again.out
