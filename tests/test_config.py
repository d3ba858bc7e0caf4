"""capitation._config: the kernels' thread pool (parallel_for) and their on-disk cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from capitation._config import parallel_for, threads


def test_parallel_for_covers_every_item_once_in_ranges_that_do_not_depend_on_threads():
    seen = {}
    for n_threads in (1, 2):
        ranges = []
        lock = threading.Lock()

        def task(start, stop, ranges=ranges, lock=lock):
            with lock:
                ranges.append((start, stop))

        with threads(n_threads):
            parallel_for(task, 10, 3)
        seen[n_threads] = sorted(ranges)
    assert seen[1] == seen[2] == [(0, 3), (3, 6), (6, 9), (9, 10)]


def test_parallel_for_runs_tasks_on_two_threads_at_once():
    barrier = threading.Barrier(2, timeout=10)  # both tasks must be running together to pass it
    with threads(2):
        parallel_for(lambda start, stop: barrier.wait(), 2, 1)


def test_parallel_for_reraises_a_task_error_after_the_others_finish():
    done = []

    def task(start, stop):
        if start == 0:
            raise ValueError("boom in the first range")
        done.append(start)

    with threads(2), pytest.raises(ValueError, match="boom"):
        parallel_for(task, 8, 1)
    assert sorted(done) == list(range(1, 8))


def test_parallel_for_nested_in_its_own_tasks_does_not_deadlock():
    out = np.zeros((4, 4))

    def outer(start, stop):
        for i in range(start, stop):
            parallel_for(lambda a, b, i=i: out[i].__setitem__(slice(a, b), i + 1), 4, 1)

    with threads(2):
        parallel_for(outer, 4, 1)
    assert out.tolist() == [[i + 1.0] * 4 for i in range(4)]


# A fresh process scores and fits with the kernels, printing the results' bits and the cache's hits and misses.
SCRIPT = r"""
import hashlib, json, warnings
import numpy as np
from capitation._compute import gram, score_csr
from capitation._config import readonly
from capitation._kernels.design import gram_rows
from capitation._kernels.score import score_rows

rng = np.random.default_rng(0)
n, p = 5_000, 6
indptr = readonly(np.arange(0, 2 * n + 1, 2, dtype=np.int64))
first = rng.integers(0, p - 1, n)
second = first + 1 + rng.integers(0, 1_000_000, n) % (p - 1 - first)  # columns strictly increase in a row
indices = readonly(np.column_stack([first, second]).ravel().astype(np.int32))
data, y = readonly(rng.random(2 * n)), readonly(rng.gamma(1.0, 500.0, n))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = np.empty(n)
    score_csr(indptr, indices, data, readonly(rng.normal(size=p)), out)
    xx, xy, x1, m = np.zeros((p, p)), np.zeros(p), np.zeros(p), np.zeros(4)
    gram(indptr, indices, data, readonly(np.ones(n)), y, p, 1024, xx, xy, x1, m)
digest = hashlib.sha256(out.tobytes() + xx.tobytes() + xy.tobytes() + m.tobytes()).hexdigest()
print(json.dumps({"digest": digest,
                  "hits": sum(sum(k.stats.cache_hits.values()) for k in (gram_rows, score_rows)),
                  "misses": sum(sum(k.stats.cache_misses.values()) for k in (gram_rows, score_rows)),
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
"""


def _run(cache_dir, **env):
    environment = {key: value for key, value in os.environ.items() if key != "CAPITATION_NUMBA_CACHE"}
    environment.update(CAPITATION_CACHE_DIR=str(cache_dir), **env)
    done = subprocess.run([sys.executable, "-c", SCRIPT], check=True, capture_output=True, text=True,
                          env=environment)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_kernels_from_the_cache_and_gets_the_same_bits(tmp_path):
    first = _run(tmp_path)
    assert first["misses"] >= 2 and first["hits"] == 0
    assert list(tmp_path.glob("kernels-*/*/*.nbi")), "nothing was written to the cache folder"
    second = _run(tmp_path)
    assert second["hits"] >= 2 and second["misses"] == 0
    assert second["digest"] == first["digest"]


def test_a_corrupt_cache_file_is_ignored_with_a_warning_and_rewritten(tmp_path):
    first = _run(tmp_path)
    index_files = list(tmp_path.glob("kernels-*/*/*.nbi"))
    for path in index_files:
        path.write_bytes(b"\x80\x04 not a numba index")
    damaged = _run(tmp_path)
    assert damaged["digest"] == first["digest"]
    assert any(w.startswith("KernelCacheWarning") and "could not read" in w for w in damaged["warnings"])
    repaired = _run(tmp_path)
    assert repaired["hits"] >= 2 and repaired["warnings"] == [] and repaired["digest"] == first["digest"]


def test_caching_can_be_turned_off(tmp_path):
    off = _run(tmp_path, CAPITATION_NUMBA_CACHE="0")
    assert off["hits"] == 0 and not list(tmp_path.rglob("*.nbi"))
