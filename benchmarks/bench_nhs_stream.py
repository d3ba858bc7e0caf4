"""The streamed fit from NHS layouts, beside the same fit from Parquet tidy tables, in its own process.

Synthetic England is written twice for the same practices: as NHS-layout CSV files (HES APC and outpatients,
SUS-style priced activity, GP records, registrations; ``write_nhs_extracts``), a folder per chunk of practices,
and as the library's tidy Parquet tables (``write_synthetic_england``). Then:

* **scan**: pyarrow reads every CSV file the readers read, every column as text (the I/O floor of the NHS path);
* **NHS path**: each folder is read through the readers (``read_nhs_extracts``: registrations, costs, HES, GP
  records) and fitted a folder at a time (``fit_batches``);
* **Parquet path**: ``fit_parquet`` on the tidy tables of the same people.

The two fits agree to the rounding the layouts impose (exposure to the day, cost to the penny): the largest
coefficient difference (in pounds) and both R² are printed. Usage::

    python benchmarks/bench_nhs_stream.py /tmp/nhs --practices 200 [--chunk 200] [--json]
    python benchmarks/bench_nhs_stream.py /tmp/nhs-england              # all England (written if absent)

The folder is written when absent (its write time is reported) and reused when present.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_core import peak_memory_gb

#: The files read_nhs_extracts reads (the refset and quirks are small and not counted).
READ_FILES = ("registrations.csv", "sus_outcome_year.csv", "hes_apc.csv", "hes_op.csv", "gp_observations.csv",
              "gp_patients.csv", "gp_conditions_without_rule.csv")


def practices_of(n: int | None, outcome_year: str = "2025/26") -> list[str]:
    """The first ``n`` practices of the outcome year's frame (all when ``n`` is None), in the writer's order."""
    from capitation.datasets.synthetic import _plan

    plan = _plan(outcome_year, None, 0)
    return list(plan.frame["practice_code"].to_numpy(str)[plan.sel[:n]])


def write(folder: Path, codes: list[str], chunk: int) -> dict:
    """Write the NHS-layout parts and the tidy Parquet tables of the same people."""
    from capitation.datasets.nhs_layouts import write_nhs_extracts
    from capitation.datasets.synthetic import write_synthetic_england

    folder.mkdir(parents=True)
    t = time.perf_counter()
    for k, start in enumerate(range(0, len(codes), chunk)):
        write_nhs_extracts(folder / "nhs" / f"part-{k:05d}", practices=codes[start:start + chunk],
                           chunk_practices=chunk, progress=False)
    nhs_s = time.perf_counter() - t
    t = time.perf_counter()
    write_synthetic_england(folder / "tidy", 1.0, practices=codes, progress=False)
    return {"write_nhs_s": nhs_s, "write_parquet_s": time.perf_counter() - t, "practices": len(codes)}


def scan_seconds(parts: list[Path]) -> tuple[float, int, int]:
    """Seconds for pyarrow to read every file the readers read, all columns as text; rows and bytes read."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rows = size = 0
    t = time.perf_counter()
    for part in parts:
        for name in READ_FILES:
            path = part / name
            with open(path, "rb") as f:
                names = f.readline().decode().strip().split(",")
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string())))
            rows += table.num_rows
            size += path.stat().st_size
    return time.perf_counter() - t, rows, size


def measure(folder: Path) -> dict:
    import capitation
    from capitation import FeatureSpec
    from capitation.datasets.nhs_layouts import read_nhs_extracts
    from capitation.stream import Batch, fit_batches, fit_parquet

    out = {"warmup_s": capitation.warmup()}
    parts = sorted((folder / "nhs").glob("part-*"))
    out["parts"] = len(parts)
    out["scan_s"], out["rows_read"], out["bytes_read"] = scan_seconds(parts)
    spec = FeatureSpec(outcome_year="2025/26")
    read_s = 0.0

    def batches():
        nonlocal read_s
        for part in parts:
            t = time.perf_counter()
            tables = read_nhs_extracts(part)
            read_s += time.perf_counter() - t
            yield Batch(tables.people, tables.diagnoses, tables.conditions)

    t = time.perf_counter()
    nhs = fit_batches(spec, batches(), on_aliased="drop")
    out.update(nhs_fit_s=time.perf_counter() - t, nhs_read_s=read_s, people=nhs.result_.n,
               columns=len(nhs.result_.params), peak_after_nhs_gb=peak_memory_gb())
    t = time.perf_counter()
    tidy = fit_parquet(spec, folder / "tidy" / "people", folder / "tidy" / "diagnoses", on_aliased="drop",
                       progress=False)
    out["parquet_fit_s"] = time.perf_counter() - t
    out["coef_max_abs_diff_pounds"] = float(np.max(np.abs(nhs.coef_ - tidy.coef_)))
    out["rsquared_nhs"], out["rsquared_parquet"] = nhs.result_.rsquared, tidy.result_.rsquared
    out["parquet_people"] = tidy.result_.n
    out["peak_gb"] = peak_memory_gb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="written here when absent, reused when present")
    parser.add_argument("--practices", type=int, default=None, help="the first N practices (default: all England)")
    parser.add_argument("--chunk", type=int, default=200, help="practices per NHS-layout folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    res = {}
    if not args.folder.exists():
        res.update(write(args.folder, practices_of(args.practices), args.chunk))
    res.update(measure(args.folder))
    if args.json:
        print(json.dumps(res))
        return
    if "write_nhs_s" in res:
        print(f"wrote {res['practices']:,} practices as NHS layouts in {res['write_nhs_s']:.1f} s, as Parquet in "
              f"{res['write_parquet_s']:.1f} s")
    print(f"scan: {res['rows_read']:,} rows, {res['bytes_read'] / 1e9:.2f} GB of CSV in {res['scan_s']:.1f} s")
    print(f"NHS layouts through the readers, fitted a folder at a time: {res['people']:,} people in "
          f"{res['nhs_fit_s']:.1f} s ({res['nhs_read_s']:.1f} s reading), {res['nhs_fit_s'] / res['scan_s']:.1f}x "
          "the scan")
    print(f"Parquet tidy tables, fit_parquet: {res['parquet_people']:,} people in {res['parquet_fit_s']:.1f} s")
    print(f"largest coefficient difference £{res['coef_max_abs_diff_pounds']:.2f}; R² {res['rsquared_nhs']:.5f} "
          f"against {res['rsquared_parquet']:.5f}; peak {res['peak_gb']:.2f} GB")


if __name__ == "__main__":
    main()
