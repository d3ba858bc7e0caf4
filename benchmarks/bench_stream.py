"""Streamed fit and scoring of a Parquet dataset too large for memory (all England).

Run after writing the dataset::

    python benchmarks/bench_synthetic.py england --out /tmp/se
    /usr/bin/time -v python benchmarks/bench_stream.py /tmp/se [--batch-rows 262144]

Prints the time of each pass and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="folder with people/ and diagnoses/ (write_synthetic_england)")
    parser.add_argument("--batch-rows", type=int, default=None)
    parser.add_argument("--outcome-year", default="2025/26")
    args = parser.parse_args()

    import capitation
    from capitation import FeatureSpec, Membership
    from capitation.stream import DEFAULT_BATCH_ROWS, fit_parquet, score_parquet

    batch = args.batch_rows or DEFAULT_BATCH_ROWS
    print(f"warm-up: {capitation.warmup():.1f} s; batches of {batch:,} people")
    spec = FeatureSpec(outcome_year=args.outcome_year)
    start = time.perf_counter()
    model = fit_parquet(spec, args.dataset / "people", args.dataset / "diagnoses", batch_rows=batch,
                        on_aliased="drop")
    fit_seconds = time.perf_counter() - start
    result = model.result_
    print(f"streamed fit: {result.n:,} people, {len(result.params)} columns, R² {result.rsquared:.4f}, "
          f"{fit_seconds:.1f} s ({result.n / fit_seconds / 1e6:.2f}M people/s)")
    start = time.perf_counter()
    icbs = Membership.nhs_england(args.outcome_year)
    totals = score_parquet(model, args.dataset / "people", args.dataset / "diagnoses", membership=icbs,
                           unassigned="line", batch_rows=batch)
    score_seconds = time.perf_counter() - start
    print(f"streamed scoring + exact practice and ICB totals: {len(totals.practices):,} practices, "
          f"{score_seconds:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak memory (max RSS): {peak:.2f} GB")


if __name__ == "__main__":
    main()
