"""All of capitation's benchmarks in one command, each figure beside a baseline measured in the same run.

Run from the repository root on an installed checkout::

    python benchmarks/run.py                       # standard tier: PBRA-sized (5.2M people), a few minutes
    python benchmarks/run.py --tier england --england /tmp/se   # all England (writes it there if absent)
    python benchmarks/run.py --tier england --only fit --nhs /tmp/nhs [--nhs-practices 600]   # + NHS layouts
    python benchmarks/run.py --tier smoke          # tiny sizes: proves every benchmark runs (CI does this)
    python benchmarks/run.py --only score,fit --json figures.json

The six benchmarks, in order:

1. ``score``: score everyone and sum need exactly to practices and ICBs (file reading excluded), against a
   numpy pass that merely sums the same arrays (the memory-bandwidth floor), scipy.sparse + ``bincount``, and
   what an analyst would write in pandas (merge a coefficient table, ``groupby``).
2. ``fit``: OLS from sufficient statistics against statsmodels WLS on a size statsmodels holds; at the england
   tier also the streamed fit (and scoring) of all England from Parquet against merely reading the same
   columns with pyarrow; and at every tier the streamed fit from NHS layouts (HES, SUS, GP records and
   registrations written by ``write_nhs_extracts``, a folder of practices at a time, read through the readers)
   against a pyarrow scan of the same CSV files and beside the Parquet path on the same people
   (``bench_nhs_stream.py``; 2 practices at the smoke tier, 100 at the standard, all England at the england
   tier unless ``--nhs-practices``).
3. ``encode``: ICD-10 grouping of raw diagnosis records against a pandas ``map`` through a prepared
   dictionary, and whole-table encoding (validation + grouping + design matrix) in records per second.
4. ``synthetic``: Synthetic England generation (a 1% sample; all England at the england tier).
5. ``startup``: import, ``capitation.warmup()`` and ``capitation demo`` in fresh processes, with an empty and
   with a filled kernel cache, against importing numpy, pandas and numba alone.
6. ``cms_hcc``: CMS-HCC V28 raw scores of generated beneficiaries (mapping included) in people per second,
   against the fastest open engine installed (hccinfhir; ``pip install "capitation[bench]"``).

Every ratio is capitation ÷ baseline: for times below 1 means capitation is faster, for rates above 1.
Targets come from the issues and are checked only at the tier they were set for. Timings exclude numba's
one-off compilation (a warm-up runs first) except in ``startup``, which measures it. Figures go to
``docs/performance.md`` by hand, with the machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_core import synthetic_design, timed  # noqa: E402

TIERS = {
    # people scored, people fitted, people for statsmodels, ICD-10 records, synthetic fraction
    "smoke": {"score": 200_000, "fit": 200_000, "statsmodels": 20_000, "records": 200_000, "sample": 0.002},
    "standard": {"score": 5_200_000, "fit": 5_200_000, "statsmodels": 200_000, "records": 20_000_000,
                 "sample": 0.01},
    "england": {"score": 64_000_000, "fit": 5_200_000, "statsmodels": 200_000, "records": 20_000_000,
                "sample": 0.01},
}
COLUMNS = 250  # PBRA-like design width: 38 age-sex cells and 212 diagnosis-like flags


@dataclass(frozen=True)
class Figure:
    """One measured figure, its baseline from the same run, and the target it answers (if any)."""

    benchmark: str
    what: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    ratio: float | None = None  # value / baseline_value
    target: str = ""
    met: bool | None = None

    def line(self) -> str:
        parts = [f"[{self.benchmark}] {self.what}: {_number(self.value)} {self.unit}".rstrip()]
        if self.baseline:
            base = "" if self.baseline_value is None else f" {_number(self.baseline_value)} {self.unit}"
            parts.append(f"baseline {self.baseline}{base}".rstrip())
        if self.ratio is not None:
            parts.append(f"ratio {_number(self.ratio)}×")
        if self.target:
            verdict = "" if self.met is None else (" MET" if self.met else " MISSED")
            parts.append(f"target {self.target}{verdict}")
        return " | ".join(parts)


def _number(value: float) -> str:
    """Three significant figures, thousands separated: 0.0123, 4.56, 789, 12,345,678."""
    if value == 0 or not np.isfinite(value):
        return str(value)
    if abs(value) >= 1_000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.2e}"


def _compare(benchmark, what, value, unit, baseline, baseline_value, target="", met=None) -> Figure:
    return Figure(benchmark, what, value, unit, baseline, baseline_value,
                  None if not baseline_value else value / baseline_value, target, met)


# ----------------------------------------------------------------------------------------------------------
# 1. scoring and aggregation
# ----------------------------------------------------------------------------------------------------------

def bench_score(tier: str, sizes: dict) -> Iterator[Figure]:
    import pandas as pd
    from scipy import sparse

    from capitation._compute import score_csr
    from capitation._kernels.groupby import regroup_sum
    from capitation.aggregation import exact_group_sum

    n, p = sizes["score"], COLUMNS
    indptr, indices, data, _, _ = synthetic_design(n, p, seed=4)
    rng = np.random.default_rng(2)
    coef = rng.normal(300, 100, p)
    practice = rng.integers(0, 6_300, n).astype(np.int32)
    icb_of_practice = rng.integers(0, 42, 6_300).astype(np.int32)
    out = np.empty(n)

    def ours():
        score_csr(indptr, indices, data, coef, out)
        totals = exact_group_sum(out, practice, 6_300)
        icb = np.zeros(42, dtype=np.int64)
        regroup_sum(totals, icb_of_practice, icb)
        return icb

    t_ours, _ = timed(ours)
    t_np, _ = timed(lambda: (data.sum(), indices.sum(), out.sum(), practice.sum()))
    england = tier == "england"
    what = f"score {n:,} people ({len(indices) / n:.2f} entries each) + exact practice and ICB sums"
    yield Figure("1 score", what, t_ours, "s", target="≤ 1.0 s at 64M people",
                 met=(t_ours <= 1.0) if england else None)
    yield _compare("1 score", "the same against a numpy pass summing the same arrays", t_ours, "s",
                   "numpy pass (memory-bandwidth floor)", t_np, "≤ 4×", (t_ours / t_np <= 4) if england else None)
    csr = sparse.csr_array((data, indices, indptr), shape=(n, p))
    t_sp, _ = timed(lambda: np.bincount(practice, weights=csr @ coef, minlength=6_300), repeat=1)
    yield _compare("1 score", "the same against scipy.sparse", t_ours, "s",
                   "scipy.sparse product + np.bincount (float sums, not exact)", t_sp)
    m = min(n, 5_000_000)  # the long table an analyst would merge does not fit in memory at England scale
    rows = np.repeat(np.arange(m), np.diff(indptr[:m + 1]))
    long = pd.DataFrame({"person": rows, "column": indices[:indptr[m]], "value": data[:indptr[m]]})
    coefs = pd.DataFrame({"column": np.arange(p), "coef": coef})
    people = pd.DataFrame({"person": np.arange(m), "practice": practice[:m]})

    def analyst():
        merged = long.merge(coefs, on="column")
        need = (merged["value"] * merged["coef"]).groupby(merged["person"]).sum()
        return people.assign(need=need.reindex(people.person).to_numpy()).groupby("practice")["need"].sum()

    t_pd, _ = timed(analyst, repeat=1)
    scaled = "" if m == n else f", run on {m:,} people and scaled"
    yield _compare("1 score", "the same against pandas", t_ours, "s",
                   f"pandas merge of a coefficient table + groupby{scaled}", t_pd * n / m)


# ----------------------------------------------------------------------------------------------------------
# 2. fitting
# ----------------------------------------------------------------------------------------------------------

def bench_fit(tier: str, sizes: dict) -> Iterator[Figure]:
    import statsmodels.api as sm
    from scipy import sparse

    from capitation.model import SufficientStats, fit_ols
    from capitation.model.ols import solve

    n, p = sizes["fit"], COLUMNS
    indptr, indices, data, y, w = synthetic_design(n, p)
    names = [f"c{j}" for j in range(p)]

    def fit():
        stats = SufficientStats.empty(names)
        stats.accumulate_csr(indptr, indices, data, y, w)
        return solve(stats, on_aliased="drop")

    t_fit, _ = timed(fit)
    full = n >= 5_200_000
    yield Figure("2 fit", f"OLS on {n:,} people × {p} columns (sufficient statistics + solve)", t_fit, "s",
                 target="< 10 s at 5.2M people", met=(t_fit < 10) if full else None)
    m = sizes["statsmodels"]
    sub = sparse.csr_array((data[:indptr[m]], indices[:indptr[m]], indptr[:m + 1]), shape=(m, p))
    dense = sub.toarray()
    keep = (dense != 0).sum(axis=0) >= 30  # columns too rare in the subsample are left out of both fits
    dense = dense[:, keep]
    t_sm, ref = timed(lambda: sm.WLS(y[:m], dense, weights=w[:m]).fit(), repeat=1)
    t_dense, ours = timed(lambda: fit_ols(dense, y[:m], w[:m]))
    t_sparse, _ = timed(lambda: fit_ols(sub[:, keep], y[:m], w[:m]))
    diff = float(np.max(np.abs(ours.params.to_numpy() / ref.params - 1)))
    yield _compare("2 fit", f"WLS on {m:,} × {dense.shape[1]} from a dense array", t_dense, "s",
                   "statsmodels WLS(...).fit()", t_sm, "≥ 20× faster (ratio ≤ 0.05)",
                   (t_dense / t_sm <= 0.05) if full else None)
    yield _compare("2 fit", "the same from the sparse design", t_sparse, "s", "statsmodels WLS(...).fit()", t_sm)
    yield Figure("2 fit", "largest relative coefficient difference from statsmodels", diff, "",
                 target="≤ 1e-8", met=diff <= 1e-8)


def _child_json(*args: str) -> dict:
    """Run a benchmark script in its own process (so its peak memory is its own) and read its JSON."""
    done = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout[done.stdout.index("{"):])


def bench_stream(dataset: Path, batch_rows: int | None) -> Iterator[Figure]:
    """Streamed fit and scoring of a Parquet dataset against merely reading the same columns."""
    extra = [] if batch_rows is None else ["--batch-rows", str(batch_rows)]
    res = _child_json(str(HERE / "bench_stream.py"), str(dataset), "--json", *extra)
    england = res["people"] > 60_000_000
    scan = f"pyarrow scan of the same columns ({res['rows_read']:,} rows, no conversion)"
    yield _compare("2 fit", f"streamed fit of {res['people']:,} people from Parquet ({res['columns']} columns, "
                   f"batches of {res['batch_rows']:,}), one process", res["fit_s"], "s", scan, res["read_s"])
    yield _compare("2 fit", "streamed scoring + exact totals for "
                   f"{res['practices']:,} practices, one process", res["score_s"], "s", "the same pyarrow scan",
                   res["read_s"])
    n = res["processes"]
    same = "bit-identical" if res["fit_processes_identical"] else "NOT bit-identical"
    yield _compare("2 fit", f"the streamed fit in {n} worker processes ({same} to one process)",
                   res["fit_processes_s"], "s", "the same pyarrow scan", res["read_s"], "≤ 2× the scan",
                   (res["fit_processes_s"] <= 2 * res["read_s"] and res["fit_processes_identical"]) if england
                   else None)
    same = "bit-identical" if res["score_processes_identical"] else "NOT bit-identical"
    yield _compare("2 fit", f"streamed scoring in {n} worker processes ({same} totals)", res["score_processes_s"],
                   "s", "the same pyarrow scan", res["read_s"], "≤ 2× the scan",
                   (res["score_processes_s"] <= 2 * res["read_s"] and res["score_processes_identical"]) if england
                   else None)
    yield Figure("2 fit", "peak resident memory of the streaming process (one process)", res["peak_gb"], "GB",
                 target="≤ 4 GB", met=(res["peak_gb"] <= 4) if england else None)


def bench_dask(dataset: Path) -> Iterator[Figure]:
    """fit_dask on a LocalCluster of two single-threaded workers beside fit_parquet (``bench_dask.py``)."""
    res = _child_json(str(HERE / "bench_dask.py"), str(dataset), "--json")
    same = "bit-identical" if res["bit_identical"] else "NOT bit-identical"
    yield _compare("2 fit", f"fit_dask of {res['people']:,} people on a LocalCluster of {res['workers']} "
                   f"single-threaded workers, frames read independently ({same} to the stream)", res["dask_s"], "s",
                   "fit_parquet in this process", res["stream_s"], "bit-identical", res["bit_identical"])
    yield Figure("2 fit", "bytes moved between Dask workers: the reduction (running totals and block statistics)",
                 (res["fold_bytes_moved"] + res["block_bytes_moved"]) / 1e6, "MB")
    yield Figure("2 fit", "bytes moved between Dask workers: people and records brought to their partitions",
                 res["other_bytes_moved"] / 1e9, "GB")


def bench_nhs(tier: str, folder: Path, practices: int | None) -> Iterator[Figure]:
    """The streamed fit from NHS layouts through the readers, beside the Parquet path, on the same people."""
    args = [str(HERE / "bench_nhs_stream.py"), str(folder), "--json"]
    if practices is not None:
        args += ["--practices", str(practices)]
    if tier == "smoke":
        args += ["--chunk", "1"]
    res = _child_json(*args)
    england = res["people"] > 60_000_000
    if "write_nhs_s" in res:
        yield Figure("2 fit", f"write {res['practices']:,} practices as NHS layouts ({res['parts']} folders)",
                     res["write_nhs_s"], "s")
    scan = (f"pyarrow scan of the CSV files the readers read ({res['rows_read']:,} rows, "
            f"{res['bytes_read'] / 1e9:.2f} GB)")
    yield _compare("2 fit", f"streamed fit of {res['people']:,} people from NHS layouts through the readers, a "
                   "folder at a time", res["nhs_fit_s"], "s", scan, res["scan_s"], "≤ 3× the scan",
                   (res["nhs_fit_s"] <= 3 * res["scan_s"]) if england else None)
    yield _compare("2 fit", "the same people's fit from Parquet tidy tables", res["parquet_fit_s"], "s",
                   "the NHS-layout fit", res["nhs_fit_s"])
    yield Figure("2 fit", "largest coefficient difference, NHS layouts against Parquet (exposure to the day, cost "
                 "to the penny)", res["coef_max_abs_diff_pounds"], "£")
    yield Figure("2 fit", "peak resident memory of the NHS-layout process", res["peak_gb"], "GB",
                 target="≤ 4 GB", met=(res["peak_gb"] <= 4) if england else None)


# ----------------------------------------------------------------------------------------------------------
# 3. encoding
# ----------------------------------------------------------------------------------------------------------

def bench_encode(tier: str, sizes: dict) -> Iterator[Figure]:
    import dataclasses

    import pandas as pd
    from bench_icd10 import draw, realistic_codes

    from capitation import FeatureSpec, encode
    from capitation.datasets.synthetic import synthetic_england
    from capitation.features.icd10 import DiagnosisGrouping
    from capitation.inputs import DiagnosisTable, Population

    rng = np.random.default_rng(2011)
    base = DiagnosisGrouping.default()
    records = draw(realistic_codes(base, 8_000, rng), sizes["records"], rng)
    n = len(records)
    t_ours, _ = timed(lambda: dataclasses.replace(base).group_codes(records, on_malformed="ignore"))
    # The analyst's version: a prepared raw-code -> group dictionary (built outside the timing) and .map.
    lookup = base.group_codes(pd.unique(records), on_malformed="ignore").codes
    table = dict(zip(pd.unique(records), lookup, strict=True))
    series = pd.Series(records)
    t_map, _ = timed(lambda: series.map(table), repeat=1)
    yield _compare("3 encode", f"group {n:,} raw ICD-10 codes (object array, cold cache)", n / t_ours,
                   "records/s", "pandas Series.map through a prepared dictionary", n / t_map,
                   "≥ 5M records/s", (n / t_ours >= 5e6) if tier != "smoke" else None)
    se = synthetic_england(sizes["sample"], seed=0)
    pop = Population.from_frame(se.people)
    spec = FeatureSpec(outcome_year="2025/26")
    t_enc, X = timed(lambda: encode(spec, pop, diagnoses=se.diagnoses))
    dx = se.diagnoses
    m = len(dx)

    def analyst():
        # The same flags as pandas code: filter the window, map codes through the prepared dictionary,
        # keep distinct (person, group) pairs, look up each person's row.
        window = dx[dx["fy"].isin(spec.lookback) & dx["setting"].isin(spec.settings)
                    & dx["position"].isin(spec.positions)]
        groups = window["icd10"].astype(object).map(dict(zip(categories, category_groups, strict=True)))
        pairs = pd.DataFrame({"person_id": window["person_id"], "group": groups}).dropna().drop_duplicates()
        return pairs.assign(row=pd.Index(pop.person_id).get_indexer(pairs["person_id"]))

    categories = pd.unique(dx["icd10"].astype(object))
    category_groups = base.group_codes(categories, on_malformed="ignore").codes
    t_pd, _ = timed(analyst, repeat=1)
    yield _compare("3 encode", f"encode {m:,} diagnosis records of {len(pop):,} people (validate, window, group, "
                   f"flag) to the {X.shape[1]}-column design", m / t_enc, "records/s",
                   "pandas isin + map + drop_duplicates (no validation, no design)", m / t_pd)
    t_val, _ = timed(lambda: DiagnosisTable.from_frame(dx))
    yield Figure("3 encode", "of which validating the diagnoses table (DiagnosisTable.from_frame)", m / t_val,
                 "records/s")


def bench_hes(tier: str, sizes: dict) -> Iterator[Figure]:
    """HES's wide diagnosis columns to the long table: the reader's step against pandas melt + dropna."""
    import pandas as pd

    from capitation.inputs.hes import _diagnosis_cells

    rng = np.random.default_rng(2001)
    n = sizes["records"] // 10  # episodes; 20 columns each, about 3.5 codes filled
    pool = np.array([f"{letter}{k:02d}{d}" for letter in "CEFIJKMNRZ" for k in range(0, 100, 7) for d in "19X"],
                    dtype=object)
    filled = rng.poisson(3.5, n).clip(0, 20)
    frame = pd.DataFrame({f"DIAG_4_{s + 1:02d}": np.where(filled > s, rng.choice(pool, n), "") for s in range(20)})
    # A CSV extract is read dictionary-encoded (pandas Categoricals), which is what the reader then holds.
    as_read = frame.astype("category")
    _diagnosis_cells(as_read.head(10))  # compiles the kernel outside the timing
    t_ours, (cells, _) = timed(lambda: _diagnosis_cells(as_read))
    t_plain, _ = timed(lambda: _diagnosis_cells(frame), repeat=1)
    t_melt, _ = timed(lambda: frame.melt(ignore_index=False).replace("", np.nan).dropna(), repeat=1)
    yield _compare("3 encode", f"HES wide → long: {n:,} episodes × 20 diagnosis columns ({len(cells):,} codes), "
                   "as read from CSV", n / t_ours, "episodes/s", "pandas melt + dropna (no cleaning)", n / t_melt,
                   "≥ 5M episodes/s", (n / t_ours >= 5e6) if tier != "smoke" else None)
    yield Figure("3 encode", "the same from a DataFrame of plain strings (each column's values hashed first)",
                 n / t_plain, "episodes/s")
    yield from _bench_hes_reader(sizes)


def _bench_hes_reader(sizes: dict) -> Iterator[Figure]:
    """The whole APC reader on a CSV extract, against Arrow reading the same fields as plain text (the floor)."""
    import tempfile

    from bench_hes import artificial_extract, floor_seconds

    from capitation.inputs import read_hes_apc
    from capitation.inputs.hes import HES_APC_COLUMNS, _wanted

    sample = HERE.parent / "tests" / "data" / "artificial_hes_apc_0102_sample.csv"
    extract = artificial_extract(source=sample, episodes=sizes["records"] // 20)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "apc.csv"
        extract.to_csv(path, index=False)
        size = path.stat().st_size
        used = _wanted(path, {c: c for c in HES_APC_COLUMNS}, None)
        t_floor = min(floor_seconds(path) for _ in range(2))
        t_read, read = timed(lambda: read_hes_apc(path, unknown_sex="drop"), repeat=2)
    n = len(extract)
    yield _compare("3 encode", f"read_hes_apc, whole reader: {n:,} episodes ({size / 1e9:.2f} GB CSV, "
                   f"{len(used)} of {extract.shape[1]} fields used) → {len(read.spells):,} spells, "
                   f"{len(read.diagnoses):,} diagnoses", n / t_read, "episodes/s",
                   "Arrow reading the same fields as plain text (the floor)", n / t_floor)


# ----------------------------------------------------------------------------------------------------------
# 4. synthetic England
# ----------------------------------------------------------------------------------------------------------

def bench_synthetic(sizes: dict) -> Iterator[Figure]:
    from bench_synthetic import _warm

    from capitation.datasets.synthetic import synthetic_england

    _warm()  # compiles the generator's kernels (or finds them compiled by an earlier benchmark)
    t_gen, se = timed(lambda: synthetic_england(sizes["sample"], seed=0), repeat=2)
    people = len(se.people)
    yield Figure("4 synthetic", f"generate {sizes['sample']:.1%} of England in memory ({people:,} people, "
                 f"{len(se.diagnoses):,} diagnosis rows)", t_gen, "s",
                 target="< 10 s for 1%", met=(t_gen < 10) if sizes["sample"] >= 0.01 else None)
    yield Figure("4 synthetic", "the same as a rate", people / t_gen, "people/s")


def _write_england(path: Path) -> Iterator[Figure]:
    res = _child_json(str(HERE / "bench_synthetic.py"), "england", "--out", str(path))
    yield Figure("4 synthetic", f"write all England to Parquet ({res['people_rows']:,} people, "
                 f"{res['diagnoses_rows']:,} diagnosis rows)", res["seconds"], "s", target="< 600 s",
                 met=res["seconds"] < 600)
    yield Figure("4 synthetic", "peak resident memory of the writing process", res["peak_gb"], "GB",
                 target="< 8 GB", met=res["peak_gb"] < 8)


# ----------------------------------------------------------------------------------------------------------
# 5. start-up
# ----------------------------------------------------------------------------------------------------------

_STARTUP = """
import time
t = time.perf_counter()
{statement}
print(time.perf_counter() - t)
{after}
"""
#: Every public name of the pipeline but the model (whose scikit-learn base class costs what sklearn costs).
_PIPELINE = ("from capitation import Membership, Population, FeatureSpec, aggregate, allocate, encode, score")


def _fresh(statement: str, after: str = "", cache: Path | None = None) -> list[float]:
    """Seconds of ``statement`` (then of each print in ``after``) in a fresh interpreter, optionally with an empty
    kernel cache (``CAPITATION_CACHE_DIR``)."""
    code = _STARTUP.format(statement=statement, after=after)
    env = {**os.environ, **({} if cache is None else {"CAPITATION_CACHE_DIR": str(cache)})}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    return [float(v) for v in out.split()]


def _demo_seconds(out: Path, cache: Path) -> float:
    import time

    env = {**os.environ, "CAPITATION_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    command = shutil.which("capitation") or str(Path(sys.executable).parent / "capitation")  # the installed script
    subprocess.run([command, "demo", "--out", str(out), "--quiet", "--overwrite"], check=True, capture_output=True,
                   env=env)
    return time.perf_counter() - start


def bench_startup() -> Iterator[Figure]:
    deps = "import numpy, pandas, numba"
    t_deps = min(_fresh(deps)[0] for _ in range(3))
    t_import = min(_fresh("import capitation")[0] for _ in range(3))
    t_pipeline = min(_fresh(_PIPELINE)[0] for _ in range(3))
    t_model = min(_fresh("from capitation import CostModel")[0] for _ in range(3))
    yield _compare("5 startup", "import capitation (fresh process; names are imported on first use)", t_import, "s",
                   f"{deps} alone", t_deps, "≤ baseline + 0.1 s", t_import <= t_deps + 0.1)
    yield _compare("5 startup", "import the pipeline's names but the model (aggregate, allocate, encode, …)",
                   t_pipeline, "s", f"{deps} alone", t_deps, "≤ baseline + 0.1 s", t_pipeline <= t_deps + 0.1)
    yield _compare("5 startup", "from capitation import CostModel (scikit-learn's base class loads scikit-learn)",
                   t_model, "s", f"{deps} alone", t_deps)
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch) / "kernels"
        first = _fresh("import capitation", "print(capitation.warmup())", cache=cache)[1]
        again = _fresh("import capitation", "print(capitation.warmup())", cache=cache)[1]
        yield Figure("5 startup", "capitation.warmup() in a fresh process, nothing cached: compiles the core kernels",
                     first, "s", target="≤ 2 s", met=first <= 2)
        yield _compare("5 startup", "capitation.warmup() in the next process: loads them from the cache", again, "s",
                       "the first warmup()", first)
        cache = Path(scratch) / "demo-kernels"
        demo_first = _demo_seconds(Path(scratch) / "demo1", cache)
        demo_again = _demo_seconds(Path(scratch) / "demo2", cache)
        yield Figure("5 startup", "capitation demo, first run (fresh process, empty kernel cache)", demo_first, "s",
                     target="≤ 10 s", met=demo_first <= 10)
        yield Figure("5 startup", "capitation demo, second run (kernels from the cache)", demo_again, "s",
                     target="≤ 5 s", met=demo_again <= 5)


def bench_cms_hcc(tier: str) -> Iterator[Figure]:
    """CMS-HCC raw scores of generated beneficiaries against hccinfhir (``bench_cms_hcc.py``)."""
    from bench_cms_hcc import figures

    yield from (Figure(**f) for f in figures(tier))


# ----------------------------------------------------------------------------------------------------------

def _machine() -> str:
    import numba
    import pandas as pd

    import capitation

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numba threads "
            f"{numba.get_num_threads()}; Python {platform.python_version()}, numpy {np.__version__}, "
            f"pandas {pd.__version__}, numba {numba.__version__}, capitation {capitation.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=sorted(TIERS), default="standard")
    parser.add_argument("--only", default="score,fit,encode,synthetic,startup,cms_hcc",
                        help="comma-separated benchmarks to run (default: all six)")
    parser.add_argument("--england", type=Path, default=None,
                        help="folder of synthetic England for the england tier (written there if absent)")
    parser.add_argument("--nhs", type=Path, default=None,
                        help="folder of synthetic England in NHS layouts for the england tier (written if absent)")
    parser.add_argument("--nhs-practices", type=int, default=None,
                        help="practices written in NHS layouts (default: all at the england tier, 100 at standard)")
    parser.add_argument("--batch-rows", type=int, default=None, help="people per streamed batch")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    sizes = TIERS[args.tier]
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - {"score", "fit", "encode", "synthetic", "startup", "cms_hcc"})
    if unknown:
        parser.error(f"--only names unknown benchmark(s) {unknown}")

    import capitation

    print(f"capitation benchmarks, tier {args.tier!r}; {_machine()}")
    print(f"warm-up (compile every kernel): {capitation.warmup():.1f} s\n", flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        # The Parquet dataset streamed by the fit benchmark: all England at the england tier (written first
        # when absent, which is benchmark 4's England figure), a small one at the smoke tier.
        streamed = None
        write_england = False
        if args.tier == "england" and ({"fit", "synthetic"} & set(chosen)):
            streamed = args.england or Path(scratch) / "england"
            write_england = not (streamed / "people").exists()
            if write_england and streamed.exists():
                parser.error(f"--england {streamed} exists but holds no people/ folder; give a synthetic England "
                             "dataset or a path that does not exist yet (it is written there)")
        elif args.tier == "smoke" and "fit" in chosen:
            from capitation.datasets.synthetic import write_synthetic_england

            streamed = write_synthetic_england(Path(scratch) / "small", 0.05, practices=["A81001", "A81002"],
                                               progress=False)

        def fit() -> Iterator[Figure]:
            yield from bench_fit(args.tier, sizes)
            if streamed is not None:
                yield from bench_stream(streamed, args.batch_rows)
                if args.tier == "england":
                    yield from bench_dask(streamed)
            nhs = args.nhs if args.tier == "england" and args.nhs else Path(scratch) / "nhs"
            practices = {"smoke": 2, "standard": 100}.get(args.tier, args.nhs_practices)
            yield from bench_nhs(args.tier, nhs, args.nhs_practices or practices)

        def encode() -> Iterator[Figure]:
            yield from bench_encode(args.tier, sizes)
            yield from bench_hes(args.tier, sizes)  # reading extracts is the encoding's first step

        runs: dict[str, Callable[[], Iterator[Figure]]] = {
            "score": lambda: bench_score(args.tier, sizes),
            "fit": fit,
            "encode": encode,
            "synthetic": lambda: bench_synthetic(sizes),
            "startup": bench_startup,
            "cms_hcc": lambda: bench_cms_hcc(args.tier),
        }
        steps = [runs[name] for name in runs if name in chosen]
        if write_england:  # the streamed benchmarks need it, so it comes first
            steps.insert(0, lambda: _write_england(streamed))
        figures: list[Figure] = []
        for step in steps:
            for figure in step():
                print(figure.line(), flush=True)
                figures.append(figure)

    missed = [f for f in figures if f.met is False]
    print(f"\n{len(figures)} figures; {sum(f.met is True for f in figures)} targets met, {len(missed)} missed"
          + ("" if not missed else ": " + "; ".join(f.what for f in missed)))
    if args.json is not None:
        args.json.write_text(json.dumps({"tier": args.tier, "machine": _machine(),
                                         "figures": [asdict(f) for f in figures]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
