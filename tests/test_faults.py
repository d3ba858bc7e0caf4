"""Faults: an interrupted run leaves nothing that looks complete; broken files are named; memory is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import capitation as cp
from capitation._io import atomic_write_csv
from capitation.errors import InputError
from capitation.stream import fit_parquet, iter_batches, score_parquet
from conftest import make_people

SPEC = cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 40, 80))
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    people = make_people(6_000, n_practices=8, seed=3)
    (root / "people").mkdir()
    for k, rows in enumerate(np.array_split(np.arange(len(people)), 3)):
        people.iloc[rows].to_parquet(root / "people" / f"part-{k}.parquet", row_group_size=500)
    return root, people


@pytest.fixture(scope="module")
def model(dataset):
    root, _ = dataset
    return fit_parquet(SPEC, root / "people", batch_rows=1_000)


KILLED_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import capitation.scoring as scoring
    import capitation as cp
    from capitation.stream import fit_parquet, score_parquet

    spec = cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 40, 80))
    model = fit_parquet(spec, {people!r}, batch_rows=1_000)
    real, calls = scoring.score, [0]

    def slow_score(*args, **kwargs):  # after two batches, say so and hang until killed
        calls[0] += 1
        if calls[0] == 3:
            Path({ready!r}).write_text("ready")
            time.sleep(600)
        return real(*args, **kwargs)

    scoring.score = slow_score
    score_parquet(model, {people!r}, predictions={out!r}, batch_rows=1_000)
""")


def test_a_killed_streamed_run_leaves_no_output_that_looks_complete(dataset, tmp_path):
    root, _ = dataset
    out, ready = tmp_path / "need.parquet", tmp_path / "ready"
    script = KILLED_RUN.format(tests=str(TESTS), people=str(root / "people"), out=str(out), ready=str(ready))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the streamed run never reached its third batch"
            time.sleep(0.2)
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
        assert partial, "two batches were written to a temporary file"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists(), "a killed run must leave nothing at the final path"
    assert all(p.name.startswith(".") and p.name.endswith(".partial") for p in tmp_path.iterdir()
               if p.name != "ready"), "only hidden .partial files may remain"


def test_an_error_mid_run_removes_the_temporary_file(dataset, model, tmp_path, monkeypatch):
    root, _ = dataset
    import capitation.scoring as scoring

    real, calls = scoring.score, [0]

    def failing(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "score", failing)
    out = tmp_path / "need.parquet"
    with pytest.raises(KeyboardInterrupt):
        score_parquet(model, root / "people", predictions=out, batch_rows=1_000)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_table_write_leaves_the_old_file_or_nothing(tmp_path):
    path = tmp_path / "budgets.csv"
    atomic_write_csv(path, pd.DataFrame({"a": [1, 2]}), index=False)
    before = path.read_bytes()

    class Exploding(pd.DataFrame):
        def to_csv(self, target, **kwargs):
            Path(target).write_text("a\n1\n")  # half a table, then the process is interrupted
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_csv(path, Exploding({"a": [3, 4]}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["budgets.csv"]
    with pytest.raises(KeyboardInterrupt):
        atomic_write_csv(tmp_path / "new.csv", Exploding({"a": [3]}))
    assert not (tmp_path / "new.csv").exists()


def _broken(folder: Path, people: pd.DataFrame, how: str) -> Path:
    folder.mkdir()
    people.iloc[:3_000].to_parquet(folder / "part-0.parquet")
    bad = folder / "part-1.parquet"
    people.iloc[3_000:].to_parquet(bad)
    raw = bad.read_bytes()
    bad.write_bytes(raw[: len(raw) // 2] if how == "truncated" else os.urandom(len(raw)))
    return bad


@pytest.mark.parametrize("how", ["truncated", "garbage"])
@pytest.mark.parametrize("reader", ["iter_batches", "score_parquet", "Population.from_frame"])
def test_an_unreadable_file_in_a_dataset_is_named(dataset, model, tmp_path, how, reader):
    _, people = dataset
    bad = _broken(tmp_path / "people", people, how)
    call = {"iter_batches": lambda: list(iter_batches(tmp_path / "people", batch_rows=1_000)),
            "score_parquet": lambda: score_parquet(model, tmp_path / "people", batch_rows=1_000),
            "Population.from_frame": lambda: cp.Population.from_frame(tmp_path / "people")}[reader]
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert str(bad) in message and "'people'" in message and "Fix:" in message


def test_a_truncated_records_file_is_named(dataset, model, tmp_path):
    root, people = dataset
    dx = tmp_path / "diagnoses.parquet"
    pd.DataFrame({"person_id": people["person_id"], "icd10": "I21.9", "fy": "2024/25"}).to_parquet(dx)
    dx.write_bytes(dx.read_bytes()[:200])
    with pytest.raises(InputError, match=r"'diagnoses'.*diagnoses\.parquet.*Fix"):
        list(iter_batches(root / "people", dx, batch_rows=1_000))


@pytest.mark.parametrize("batch_rows", [1, 97, 1_000])
def test_chunks_are_bounded_and_do_not_change_the_answer(dataset, model, batch_rows, monkeypatch):
    root, people = dataset
    import capitation.stream as stream

    seen = []
    real = stream.encode

    def counting(spec, pop, *args, **kwargs):
        seen.append(pop.n_people)
        return real(spec, pop, *args, **kwargs)

    monkeypatch.setattr(stream, "encode", counting)
    small = score_parquet(model, root / "people", batch_rows=batch_rows) if batch_rows > 1 else None
    if small is None:  # one person at a time: only check the bound on the first few batches
        for k, batch in enumerate(iter_batches(root / "people", batch_rows=1)):
            assert len(batch.people) == 1
            if k == 50:
                break
        return
    assert max(seen) <= batch_rows and sum(seen) == len(people)
    monkeypatch.setattr(stream, "encode", real)
    whole = score_parquet(model, root / "people", batch_rows=len(people))
    pd.testing.assert_frame_equal(small.practices, whole.practices, check_exact=True)
    np.testing.assert_array_equal(small.need_fixed, whole.need_fixed)
