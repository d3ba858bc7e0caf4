"""Streamed fit and scoring of a Parquet dataset too large for memory (all England), in its own process.

Run after writing the dataset (``benchmarks/run.py --tier england`` runs this for you)::

    python benchmarks/bench_synthetic.py england --out /tmp/se
    python benchmarks/bench_stream.py /tmp/se [--batch-rows 262144] [--json]

Prints the time of a plain pyarrow scan of the same columns (the I/O floor), of the streamed fit and of the
streamed scoring with exact practice and ICB totals, and the peak memory of this process. Run on its own so
that the peak is the streaming's, not some earlier benchmark's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench_core import peak_memory_gb

DIAGNOSIS_COLUMNS = ["person_id", "icd10", "fy", "setting", "position"]


def measure(dataset: Path, batch_rows: int | None = None, outcome_year: str = "2025/26") -> dict:
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

    start = time.perf_counter()
    model = fit_parquet(FeatureSpec(outcome_year=outcome_year), dataset / "people", dataset / "diagnoses",
                        batch_rows=out["batch_rows"], on_aliased="drop", progress=False)
    out.update(fit_s=time.perf_counter() - start, people=model.result_.n, columns=len(model.result_.params),
               rsquared=model.result_.rsquared, peak_after_fit_gb=peak_memory_gb())

    start = time.perf_counter()
    totals = score_parquet(model, dataset / "people", dataset / "diagnoses",
                           membership=Membership.nhs_england(outcome_year), unassigned="line",
                           batch_rows=out["batch_rows"], progress=False)
    out.update(score_s=time.perf_counter() - start, practices=len(totals.practices),
               peak_gb=peak_memory_gb())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="folder with people/ and diagnoses/ (write_synthetic_england)")
    parser.add_argument("--batch-rows", type=int, default=None)
    parser.add_argument("--outcome-year", default="2025/26")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    res = measure(args.dataset, args.batch_rows, args.outcome_year)
    if args.json:
        print(json.dumps(res))
        return
    print(f"warm-up {res['warmup_s']:.1f} s; batches of {res['batch_rows']:,} people")
    print(f"pyarrow scan of the same columns: {res['rows_read']:,} rows in {res['read_s']:.1f} s")
    print(f"streamed fit: {res['people']:,} people, {res['columns']} columns, R² {res['rsquared']:.4f}, "
          f"{res['fit_s']:.1f} s ({res['people'] / res['fit_s'] / 1e6:.2f}M people/s)")
    print(f"streamed scoring + exact practice and ICB totals: {res['practices']:,} practices, {res['score_s']:.1f} s")
    print(f"peak memory (VmHWM): {res['peak_gb']:.2f} GB")


if __name__ == "__main__":
    main()
