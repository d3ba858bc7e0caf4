"""Throughput of ``DiagnosisGrouping.group_codes`` on 20 million diagnosis records, on one core.

Run from the repository root::

    python benchmarks/bench_icd10.py [--n 20000000] [--distinct 8000] [--repeat 3] [--check]

The records are drawn with Zipf-like frequencies from about 8,000 distinct codes written as HES writes them
(4 characters, ``X`` filler for undivided categories), with a few dotted or lower-case spellings, about 2% of
distinct codes outside every group (external causes, unselected Z codes) and a handful of malformed values
(so the counting path runs: ``on_malformed="ignore"``). Every timed call except the streaming one uses a
fresh grouping, so the cache of parsed codes starts cold. The process is pinned to one CPU where the OS
allows it. The rate printed is records per second, best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import string
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from capitation.features.icd10 import DiagnosisGrouping

TARGET = 5_000_000  # records per second


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        pa.set_cpu_count(1)
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity on this OS)"


def realistic_codes(grouping: DiagnosisGrouping, n_distinct: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct raw codes: categories inside the table's 3-character ranges, a few subdivisions each."""
    categories = []
    for r in grouping.ranges:
        if len(r.start) == 3:
            for letter in string.ascii_uppercase:
                for n in range(100):
                    cat = f"{letter}{n:02d}"
                    if r.start <= cat <= r.end:
                        categories.append(cat)
    pool = []
    for cat in categories:
        k = int(rng.poisson(5))
        if k == 0:
            pool.append(cat + "X")
        else:
            pool += [cat + str(d) for d in rng.choice(10, size=min(k, 10), replace=False)]
    outside = [f"{letter}{n:02d}{d}" for letter in "VWY" for n in range(1, 99, 3) for d in (0, 9)]
    outside += [f"Z{n:02d}{d}" for n in (0, 1, 3, 4, 11, 30, 37, 38, 80, 86, 88) for d in (0, 1, 8, 9)]
    rng.shuffle(pool)
    n_out = max(1, n_distinct // 50)
    chosen = pool[: n_distinct - n_out - 210] + outside[:n_out]
    variants = [c[:3] + "." + c[3:] if i % 2 else c.lower() for i, c in enumerate(chosen[:200])]
    malformed = ["", "I2", "UNKNOWN", "R69X6", "12.3", "I21 9", "NULL", "?", "A0", "-"]
    return np.array(chosen + variants + malformed, dtype=object)


def draw(codes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    weights = 1.0 / np.arange(1, codes.size + 1) ** 1.1
    weights[-10:] = weights[-1] / 100  # malformed values are rare
    order = rng.permutation(codes.size - 10)
    ranked = np.concatenate([codes[:-10][order], codes[-10:]])
    return ranked[rng.choice(codes.size, size=n, p=weights / weights.sum())]


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall-clock and best CPU seconds over ``repeat`` runs, and the last result."""
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000_000, help="records (default 20,000,000)")
    parser.add_argument("--distinct", type=int, default=8_000, help="distinct codes (default 8,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the headline is below {TARGET:,}/s")
    args = parser.parse_args(argv)

    pinned = pin_to_one_core()
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else "load ?"
    rng = np.random.default_rng(args.seed)
    base = DiagnosisGrouping.default()
    distinct = realistic_codes(base, args.distinct, rng)
    records = draw(distinct, args.n, rng)
    n = records.size
    print(f"capitation ICD-10 grouper benchmark: {n:,} records, {len(set(records.tolist())):,} distinct values "
          f"used ({distinct.size:,} in the pool); {pinned}; {load} on {os.cpu_count()} CPUs")
    print(f"numpy {np.__version__}, pandas {pd.__version__}, pyarrow {pa.__version__}, "
          f"python {sys.version.split()[0]}")

    inputs = {
        "numpy object array": records,
        "pandas Series, str dtype": pd.Series(records, dtype="str"),
        "numpy fixed-width <U6 array": records.astype("<U6"),
        "pandas Categorical": pd.Categorical(records),
        "pyarrow dictionary array": pa.array(records, type=pa.string()).dictionary_encode(),
    }
    rows = []
    headline = None
    for name, values in inputs.items():
        seconds, cpu, res = timed(
            lambda v=values: dataclasses.replace(base).group_codes(v, on_malformed="ignore"), args.repeat)
        rows.append((name, seconds, cpu))
        headline = headline or n / seconds
        if name == "numpy object array":
            summary = res

    streamed = dataclasses.replace(base)
    chunks = np.array_split(records, 20)

    def stream():
        return sum(r.n_records for r in streamed.iter_group_chunks(chunks, on_malformed="ignore"))

    seconds, cpu, _ = timed(stream, args.repeat)
    rows.append(("stream of 20 object chunks", seconds, cpu))

    width = max(len(r[0]) for r in rows)
    print(f"\n{'input':<{width}}  {'seconds':>8}  {'records/s':>12}  {'cpu s':>6}  {'records/cpu-s':>13}")
    for name, seconds, cpu in rows:
        print(f"{name:<{width}}  {seconds:8.3f}  {n / seconds:12,.0f}  {cpu:6.3f}  {n / cpu:13,.0f}")
    print(f"\n{summary!r}")
    print(f"malformed examples: {summary.malformed_examples}")
    verdict = "PASS" if headline >= TARGET else "FAIL"
    print(f"\nheadline (numpy object array): {headline:,.0f} records/s -> {verdict} (target {TARGET:,}/s)")
    return 1 if args.check and headline < TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
