"""Streamed fit and scoring of a Parquet dataset too large for memory (all England), in its own process.

Run after writing the dataset (``benchmarks/run.py --tier england`` runs this for you)::

    python benchmarks/bench_synthetic.py england --out /tmp/se
    python benchmarks/bench_stream.py /tmp/se [--batch-rows 262144] [--json]

Prints the time of a plain pyarrow scan of the same columns (the I/O floor), of the streamed fit and of the
streamed scoring with exact practice and ICB totals, and the peak memory of this process; then the same fit and
scoring in worker processes (``processes=2``), checked bit-identical to the one-process results. Run on its own so
that the peak is the streaming's, not some earlier benchmark's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_core import peak_memory_gb

DIAGNOSIS_COLUMNS = ["person_id", "icd10", "fy", "setting", "position"]


def measure(dataset: Path, batch_rows: int | None = None, outcome_year: str = "2025/26",
            processes: int = 2) -> dict:
    import pyarrow.dataset as ds

    import capitation
    from capitation import FeatureSpec, Membership
    from capitation.stream import DEFAULT_BATCH_ROWS, PEOPLE_COLUMNS, fit_parquet, score_parquet

    out = {"warmup_s": capitation.warmup(), "batch_rows": batch_rows or DEFAULT_BATCH_ROWS}
    start = time.perf_counter()
    rows = 0
    for sub, columns in (("people", list(PEOPLE_COLUMNS)), ("diagnoses", DIAGNOSIS_COLUMNS)):
        for record_batch in ds.dataset(dataset / sub, format="parquet").to_batches(columns=columns):
            rows += record_batch.num_rows
    out.update(read_s=time.perf_counter() - start, rows_read=rows, peak_after_read_gb=peak_memory_gb())

    def fit(n):
        return fit_parquet(FeatureSpec(outcome_year=outcome_year), dataset / "people", dataset / "diagnoses",
                           batch_rows=out["batch_rows"], on_aliased="drop", progress=False, processes=n)

    def scored(n):
        return score_parquet(model, dataset / "people", dataset / "diagnoses",
                             membership=Membership.nhs_england(outcome_year), unassigned="line",
                             batch_rows=out["batch_rows"], progress=False, processes=n)

    start = time.perf_counter()
    model = fit(1)
    out.update(fit_s=time.perf_counter() - start, people=model.result_.n, columns=len(model.result_.params),
               rsquared=model.result_.rsquared, peak_after_fit_gb=peak_memory_gb())
    start = time.perf_counter()
    totals = scored(1)
    out.update(score_s=time.perf_counter() - start, practices=len(totals.practices), peak_gb=peak_memory_gb())
    # The same in worker processes (their memory is their own: peak_memory_gb is this process's only)
    start = time.perf_counter()
    parallel = fit(processes)
    out.update(processes=processes, fit_processes_s=time.perf_counter() - start,
               fit_processes_identical=bool(np.array_equal(parallel.coef_, model.coef_)
                                             and np.array_equal(parallel.stats_.xtwx, model.stats_.xtwx)))
    start = time.perf_counter()
    parallel_totals = scored(processes)
    out.update(score_processes_s=time.perf_counter() - start,
               score_processes_identical=bool(parallel_totals.practices.equals(totals.practices)
                                               and np.array_equal(parallel_totals.need_fixed, totals.need_fixed)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="folder with people/ and diagnoses/ (write_synthetic_england)")
    parser.add_argument("--batch-rows", type=int, default=None)
    parser.add_argument("--outcome-year", default="2025/26")
    parser.add_argument("--processes", type=int, default=2, help="worker processes of the parallel runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    res = measure(args.dataset, args.batch_rows, args.outcome_year, args.processes)
    if args.json:
        print(json.dumps(res))
        return
    print(f"warm-up {res['warmup_s']:.1f} s; batches of {res['batch_rows']:,} people")
    print(f"pyarrow scan of the same columns: {res['rows_read']:,} rows in {res['read_s']:.1f} s")
    print(f"streamed fit: {res['people']:,} people, {res['columns']} columns, R² {res['rsquared']:.4f}, "
          f"{res['fit_s']:.1f} s ({res['people'] / res['fit_s'] / 1e6:.2f}M people/s)")
    print(f"streamed scoring + exact practice and ICB totals: {res['practices']:,} practices, {res['score_s']:.1f} s")
    print(f"peak memory (VmHWM): {res['peak_gb']:.2f} GB")
    print(f"in {res['processes']} processes: fit {res['fit_processes_s']:.1f} s (identical: "
          f"{res['fit_processes_identical']}), scoring {res['score_processes_s']:.1f} s (identical: "
          f"{res['score_processes_identical']})")


if __name__ == "__main__":
    main()
