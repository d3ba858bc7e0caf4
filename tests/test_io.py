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
from helpers import make_people

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
    # The next run to the same target completes it and leaves no temporary file behind.
    score_parquet(fit_parquet(SPEC, root / "people", batch_rows=1_000), root / "people", predictions=out,
                  batch_rows=1_000)
    assert out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["need.parquet", "ready"]


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


# -- the one atomic writer: killed writes, stale temporary files, modes, destinations ----------------------

KILLED_WRITE = textwrap.dedent("""
    import time
    from pathlib import Path
    from capitation._io import atomic_write

    def half_then_hang(tmp):
        Path(tmp).write_text("a\\n1\\n")  # half a table
        Path({ready!r}).write_text("ready")
        time.sleep(600)

    atomic_write({out!r}, half_then_hang)
""")


def test_a_killed_write_leaves_a_partial_that_the_next_write_removes(tmp_path):
    out, ready = tmp_path / "budgets.csv", tmp_path / "ready"
    atomic_write_csv(out, pd.DataFrame({"a": [0]}), index=False)
    before = out.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITE.format(out=str(out), ready=str(ready))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    stale = [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert len(stale) == 1 and stale[0].startswith(".budgets.csv."), stale
    assert out.read_bytes() == before, "the killed write must leave the old file whole"
    atomic_write_csv(out, pd.DataFrame({"a": [1, 2]}), index=False)  # the next write to the same target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["budgets.csv", "ready"]
    assert out.read_text() == "a\n1\n2\n"


def test_the_temporary_file_of_a_live_write_is_left_alone(tmp_path):
    from capitation._io import atomic_path, remove_stale_partials

    out = tmp_path / "need.csv"
    other = tmp_path / ".other.csv.abcd1234.partial"  # another target's: never touched
    other.write_text("x")
    with atomic_path(out) as tmp:
        tmp.write_text("in progress")
        assert remove_stale_partials(out) == [] and tmp.exists(), "a live write's file was taken for stale"
        atomic_write_csv(tmp_path / "need.csv.bak", pd.DataFrame({"a": [1]}))  # a neighbour's write neither
        assert tmp.exists()
    assert out.read_text() == "in progress" and other.exists()
    dead = tmp_path / ".need.csv.zz99yy88.partial"
    dead.write_text("left by a killed run")
    assert remove_stale_partials(out) == [dead] and not dead.exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
@pytest.mark.parametrize("proc_status", [True, False])
def test_written_files_get_the_users_umask(tmp_path, monkeypatch, umask, mode, proc_status):
    import stat

    from capitation import _io

    if not proc_status:  # where /proc/self/status is missing, the umask is set and restored instead
        monkeypatch.setattr(_io, "_PROC_STATUS", str(tmp_path / "no-such-file"))
    old = os.umask(umask)
    try:
        assert _io._umask() == umask
        assert os.umask(umask) == umask, "reading the umask changed it"
        paths = [atomic_write_csv(tmp_path / "t.csv", pd.DataFrame({"a": [1]})),
                 _io.atomic_write_text(tmp_path / "r.html", "<p>report</p>"),
                 _io.atomic_write_bytes(tmp_path / "a.npz", b"PK")]
    finally:
        os.umask(old)
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name


def test_the_umask_is_read_in_a_fresh_process_too(tmp_path):
    script = ("import os, stat; os.umask(0o027); from capitation._io import atomic_write_text; "
              f"p = atomic_write_text({str(tmp_path / 'x.json')!r}, '{{}}'); "
              "print(oct(stat.S_IMODE(os.stat(p).st_mode)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "0o640", done.stderr


def test_check_output_refuses_every_bad_destination_before_any_work(tmp_path):
    from capitation._io import check_output
    from capitation.errors import OutputError

    (tmp_path / "folder").mkdir()
    (tmp_path / "file.csv").write_text("a\n")
    bad = [
        (dict(path=tmp_path / "folder", kind="file"), "is a folder"),
        (dict(path=tmp_path / "file.csv", kind="folder"), "is a file"),
        (dict(path=tmp_path / "file.csv" / "x.csv"), "is a file, so no folder"),
        (dict(path=tmp_path / "file.csv" / "a" / "b", kind="folder"), "is a file, so no folder"),
        (dict(path=tmp_path / "file.csv", overwrite=False), "already exists"),
        (dict(path=tmp_path, kind="folder", overwrite=False), "not empty"),
        (dict(path=42), "int"),
        (dict(path=str(tmp_path / "a\0b.csv")), "cannot be resolved"),
        (dict(path=str(tmp_path / "report") + "/"), "ends in a slash"),  # a folder, though Path drops the slash
    ]
    for kwargs, said in bad:
        with pytest.raises(OutputError) as info:
            check_output(**kwargs, name="--out")
        message = str(info.value)
        assert "'--out'" in message and said in message and "Fix:" in message, message
        if "path" in kwargs and not isinstance(kwargs["path"], int):
            assert repr(str(kwargs["path"])) in message
    made = check_output(tmp_path / "new" / "deeper" / "t.csv", overwrite=False)
    assert made.parent.is_dir() and not made.exists() and made.is_absolute()
    assert check_output(tmp_path / "out", kind="folder", overwrite=False).is_dir()
    assert check_output(tmp_path / "file.csv") == (tmp_path / "file.csv").resolve()  # overwriting allowed


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_check_output_refuses_a_folder_that_cannot_be_written(tmp_path):
    from capitation._io import check_output
    from capitation.errors import OutputError

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutputError, match=r"'path'.*locked.*Fix:"):
        check_output(locked / "t.csv")


def test_a_full_disk_is_named_and_leaves_the_old_file(tmp_path):
    import errno

    from capitation._io import atomic_write
    from capitation.errors import OutputError

    out = tmp_path / "budgets.csv"
    out.write_text("old\n")

    def fill_the_disk(tmp):
        Path(tmp).write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)

    with pytest.raises(OutputError) as info:
        atomic_write(out, fill_the_disk, name="out")
    message = str(info.value)
    assert "'out'" in message and str(out) in message and os.strerror(errno.ENOSPC) in message and "Fix:" in message
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["budgets.csv"]


def test_a_folder_output_replaces_the_old_one_only_when_complete_and_cleans_a_killed_runs_folder(tmp_path):
    from capitation._io import _umask, atomic_folder
    from capitation.errors import OutputError

    target = tmp_path / "dataset"
    target.mkdir()
    (target / "old.txt").write_text("old")
    stale = tmp_path / ".dataset.abcd1234.partial"  # a killed run's temporary folder: nobody holds its lock
    stale.mkdir()
    (stale / "part-0.parquet").write_text("half")
    with pytest.raises(OutputError, match="not empty"):
        with atomic_folder(target):
            pass
    with pytest.raises(RuntimeError), atomic_folder(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("killed half way")
    assert [p.name for p in target.iterdir()] == ["old.txt"]  # a failed write leaves the old folder whole
    with atomic_folder(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]  # stale, failed and old folders gone
    assert (target.stat().st_mode & 0o777) == 0o777 & ~_umask()
