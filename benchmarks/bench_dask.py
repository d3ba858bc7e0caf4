"""Dask beside the stream: the same Parquet dataset fitted both ways, the coefficients compared bit for bit.

Run after writing a dataset (all England, or any part of it)::

    python benchmarks/bench_synthetic.py england --out /tmp/se        # all England, or e.g.
    python -c "from capitation.datasets.synthetic import write_synthetic_england as w; w('/tmp/se5', 0.05)"
    python benchmarks/bench_dask.py /tmp/se [--partition-rows 262144] [--shuffle] [--tree] [--json]

Times ``capitation.stream.fit_parquet`` (this process) and ``capitation.distributed.fit_dask`` on a
``distributed.LocalCluster`` of two single-threaded worker processes, people and diagnoses read independently
with ``dd.read_parquet``; checks that the coefficients and statistics are bit-identical; and reports the peak
memory (Linux ``VmHWM``) of this process and of each worker, and the bytes that moved between workers, split
into the reduction's (the running totals along the fold chain, block statistics) and the rest (people and
records brought to their partitions). ``--shuffle`` hands Dask the diagnoses' files in reverse order, so they
are shuffled (``set_index``) instead of repartitioned; ``--tree`` also times the tree reduction. Numba's
compilation is excluded on both sides (``capitation.warmup()`` in this process and on every worker first).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench_core import peak_memory_gb


def _worker_peak_gb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


def _incoming(dask_worker) -> list:
    """What this worker fetched from other workers: (key, bytes) of every transfer."""
    return [(str(key), int(nbytes)) for entry in dask_worker.transfer_incoming_log
            for key, nbytes in entry.get("keys", {}).items()]


def _moved(client) -> dict:
    kinds = {"fold": 0, "blocks": 0, "other": 0, "transfers": 0}
    for transfers in client.run(_incoming).values():
        for key, nbytes in transfers:
            kind = "fold" if "capitation-fold" in key else "blocks" if "capitation-blocks" in key else "other"
            kinds[kind] += nbytes
            kinds["transfers"] += 1
    return kinds


def measure(dataset: Path, partition_rows: int | None = None, *, shuffle: bool = False, tree: bool = False,
            workers: int = 2, outcome_year: str = "2025/26") -> dict:
    import dask.dataframe as dd
    import distributed
    import numpy as np

    import capitation
    from capitation import FeatureSpec
    from capitation.distributed import DEFAULT_PARTITION_ROWS, fit_dask
    from capitation.stream import fit_parquet

    rows = partition_rows or DEFAULT_PARTITION_ROWS
    spec = FeatureSpec(outcome_year=outcome_year)
    out = {"warmup_s": capitation.warmup(), "partition_rows": rows, "workers": workers, "shuffle": shuffle}

    start = time.perf_counter()
    streamed = fit_parquet(spec, dataset / "people", dataset / "diagnoses", batch_rows=rows, on_aliased="drop",
                           progress=False)
    out.update(stream_s=time.perf_counter() - start, people=streamed.stats_.n, columns=len(streamed.coef_),
               peak_after_stream_gb=peak_memory_gb())

    start = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    client.run(capitation.warmup)  # compile (or load) the kernels on every worker before the clock starts
    out["cluster_s"] = time.perf_counter() - start
    try:
        people = dd.read_parquet(dataset / "people")
        diagnoses = dd.read_parquet(dataset / "diagnoses")
        if shuffle:
            diagnoses = diagnoses.partitions[::-1]  # not in person_id ranges: Dask shuffles them
        start = time.perf_counter()
        model = fit_dask(spec, people, diagnoses, on_aliased="drop", partition_rows=rows)
        out["dask_s"] = time.perf_counter() - start
        moved = _moved(client)
        out.update(bit_identical=bool(np.array_equal(model.coef_, streamed.coef_) and all(
                       np.array_equal(getattr(model.stats_, f), getattr(streamed.stats_, f))
                       for f in ("xtwx", "xtwy", "xtw1", "moments"))),
                   partitions=-(-streamed.stats_.n // rows), input_partitions=(people.npartitions,
                                                                                diagnoses.npartitions),
                   totals_bytes=int(sum(getattr(model.stats_, f).nbytes for f in ("xtwx", "xtwy", "xtw1", "moments"))),
                   fold_bytes_moved=moved["fold"], block_bytes_moved=moved["blocks"],
                   other_bytes_moved=moved["other"], transfers=moved["transfers"],
                   worker_peak_gb=sorted(client.run(_worker_peak_gb).values()))
        if tree:
            start = time.perf_counter()
            summed = fit_dask(spec, people, diagnoses, on_aliased="drop", partition_rows=rows, reduction="tree")
            out["tree_s"] = time.perf_counter() - start
            out["tree_max_rel_diff"] = float(np.max(np.abs(summed.coef_ - streamed.coef_)
                                                    / np.maximum(np.abs(streamed.coef_), 1.0)))
    finally:
        client.close()
        cluster.close()
    out["peak_gb"] = peak_memory_gb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="folder with people/ and diagnoses/ (write_synthetic_england)")
    parser.add_argument("--partition-rows", type=int, default=None, help="people per partition and per batch")
    parser.add_argument("--shuffle", action="store_true", help="diagnoses' files in reverse: shuffled by Dask")
    parser.add_argument("--tree", action="store_true", help="also time reduction='tree'")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--outcome-year", default="2025/26")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    res = measure(args.dataset, args.partition_rows, shuffle=args.shuffle, tree=args.tree, workers=args.workers,
                  outcome_year=args.outcome_year)
    if args.json:
        print(json.dumps(res))
        return
    mb = 1e6
    print(f"{res['people']:,} people, {res['columns']} columns; partitions and batches of {res['partition_rows']:,} "
          f"people ({res['partitions']} of them); Dask read {res['input_partitions'][0]} people and "
          f"{res['input_partitions'][1]} diagnoses partitions")
    print(f"streamed fit (fit_parquet, this process): {res['stream_s']:.1f} s, "
          f"peak {res['peak_after_stream_gb']:.2f} GB")
    print(f"Dask fit (fit_dask, {res['workers']} single-threaded workers, "
          f"{'shuffled' if res['shuffle'] else 'repartitioned'} diagnoses): {res['dask_s']:.1f} s "
          f"({res['dask_s'] / res['stream_s']:.2f}× the stream); cluster start and warm-up {res['cluster_s']:.1f} s")
    print(f"bit-identical coefficients and statistics: {res['bit_identical']}")
    if "tree_s" in res:
        print(f"tree reduction: {res['tree_s']:.1f} s, largest relative coefficient difference "
              f"{res['tree_max_rel_diff']:.1e}")
    print(f"bytes moved between workers: running totals {res['fold_bytes_moved'] / mb:.2f} MB "
          f"({res['totals_bytes'] / mb:.2f} MB each), block statistics {res['block_bytes_moved'] / mb:.2f} MB, "
          f"people and records {res['other_bytes_moved'] / mb:.1f} MB ({res['transfers']:,} transfers)")
    print(f"peak memory (VmHWM): this process {res['peak_gb']:.2f} GB, workers "
          f"{', '.join(f'{g:.2f}' for g in res['worker_peak_gb'])} GB")


if __name__ == "__main__":
    main()
