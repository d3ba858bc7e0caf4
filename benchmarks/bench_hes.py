"""The whole HES admitted patient care reader on a large CSV extract: time and peak memory, fresh process.

Run from the repository root::

    python benchmarks/bench_hes.py --copies 1000 --batch-rows 500000   # 2.1M episodes, a 1.05 GB CSV

The extract is NHS Digital's artificial APC file repeated, each copy with its own people and episode keys
(the 739-episode sample under ``tests/`` when ``../shared`` is absent). Arrow reading the same fields as plain
text is timed in the same process as the floor. Numba compilation runs first and is not timed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_core import peak_memory_gb

HERE = Path(__file__).resolve().parent
_FULL = HERE.parent.parent / "shared" / "reference" / "artificial-hes" / "artificial_hes_apc_0102.csv"
_SAMPLE = HERE.parent / "tests" / "data" / "artificial_hes_apc_0102_sample.csv"


def artificial_extract(copies: int | None = None, source: Path | None = None, *,
                       episodes: int | None = None) -> pd.DataFrame:
    """The artificial APC extract ``copies`` times over (or enough copies for about ``episodes``), each copy
    other people and episodes (the same spells)."""
    sample = pd.read_csv(source or (_FULL if _FULL.exists() else _SAMPLE), dtype=str, keep_default_na=False)
    if copies is None:
        copies = max(1, episodes // len(sample))
    return pd.concat([sample.assign(PSEUDO_HESID=sample["PSEUDO_HESID"] + f"_{k}",
                                    EPIKEY=(sample["EPIKEY"].astype("int64") + k * 10**12).astype(str))
                      for k in range(copies)], ignore_index=True)


def floor_seconds(path: Path) -> float:
    """Seconds for Arrow to read the fields the reader uses as plain text: the reader's floor."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from capitation.inputs.hes import HES_APC_COLUMNS, _wanted

    used = _wanted(path, {c: c for c in HES_APC_COLUMNS}, None)
    t = time.perf_counter()
    pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=used,
                                                              column_types=dict.fromkeys(used, pa.string())))
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=250)
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # the child that writes the extract
    args = parser.parse_args()
    if args.write:
        frame = artificial_extract(args.copies)
        frame.to_csv(args.write, index=False)
        print(len(frame))
        return
    import capitation
    from capitation.inputs import read_hes_apc

    capitation.warmup()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "apc.csv"
        # written by a child process, so this one's peak memory is the reader's
        child = subprocess.run([sys.executable, __file__, "--copies", str(args.copies), "--write", str(path)],
                               check=True, capture_output=True, text=True)
        n, size = int(child.stdout), path.stat().st_size
        before = peak_memory_gb()
        t = time.perf_counter()
        read = read_hes_apc(path, unknown_sex="drop", batch_rows=args.batch_rows)
        seconds = time.perf_counter() - t
        peak = peak_memory_gb()  # before the floor's read, which holds the whole text
        floor = floor_seconds(path)
    print(json.dumps({"episodes_read": n, "csv_gb": round(size / 1e9, 2), "batch_rows": args.batch_rows,
                      "episodes_used": len(read.episodes), "spells": len(read.spells),
                      "diagnoses": len(read.diagnoses), "seconds": round(seconds, 1),
                      "episodes_per_s": round(n / seconds), "floor_seconds": round(floor, 1),
                      "times_floor": round(seconds / floor, 2), "peak_gb_before_read": round(before, 2),
                      "peak_gb": round(peak, 2)}, indent=1))


if __name__ == "__main__":
    main()
