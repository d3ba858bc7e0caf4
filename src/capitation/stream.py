"""Out-of-core runs: Parquet datasets read in bounded batches for fitting and scoring.

Memory is bounded by ``batch_rows`` people (and their records) at a time, whatever the size of the dataset.
Results do not depend on the batch size:

* fits accumulate sufficient statistics in blocks of :data:`~capitation.model.BLOCK_SIZE` rows in a fixed
  order, and batches are cut on that grid, so a streamed fit is bit-identical to an in-memory one;
* practice totals are exact integer sums, so streamed scoring gives bit-identical totals and budgets.

People must be stored in increasing ``person_id`` order (as :func:`~capitation.datasets.synthetic.
write_synthetic_england` writes them); each batch takes the records of its people from the diagnoses and
conditions datasets by ``person_id`` range, which Parquet row-group statistics make cheap.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import atomic_path, check_output
from ._progress import progress as _progress
from ._validation import _plain
from .aggregation.aggregate import Aggregation, aggregation_from_totals, practice_totals
from .aggregation.membership import Membership
from .errors import InputError, SchemaError
from .features.spec import FeatureSpec, encode
from .inputs import Population
from .model.estimator import CostModel, _check_params
from .model.ols import result_from_stats
from .model.stats import BLOCK_SIZE, BlockStats, SufficientStats

__all__ = ["DEFAULT_BATCH_ROWS", "Batch", "fit_batches", "fit_parquet", "iter_batches", "score_parquet"]

#: People per batch: 8 blocks of the Gram kernel, about 100 MB of working memory with their records.
DEFAULT_BATCH_ROWS = 8 * BLOCK_SIZE
PEOPLE_COLUMNS = ("person_id", "practice_code", "sex", "age", "lsoa_code", "exposure", "cost")


@dataclass(frozen=True)
class Batch:
    """One batch of people with their records.

    Attributes
    ----------
    people : pandas.DataFrame or Population
        The batch's people (in ``person_id`` order when read from Parquet), with their ``cost`` to fit on.
    diagnoses, conditions : pandas.DataFrame or None
        Their records (``None`` when that dataset was not given).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.stream import Batch
    >>> len(Batch(pd.DataFrame({"person_id": [1, 2]}), None, None).people)
    2
    """

    people: pd.DataFrame | Population
    diagnoses: pd.DataFrame | None
    conditions: pd.DataFrame | None

    def population(self, outcome_year: str | None) -> Population:
        """Return the batch's people as a :class:`~capitation.Population` (as they are, when they are one).

        Parameters
        ----------
        outcome_year : str or None
            The year of the people's ages and cost, when they are a frame.

        Returns
        -------
        Population

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.stream import Batch
        >>> people = pd.DataFrame({"person_id": [1], "practice_code": ["A81001"], "sex": ["F"], "age": [40],
        ...                        "lsoa_code": ["E01000001"]})
        >>> Batch(people, None, None).population("2025/26").n_people
        1
        """
        if isinstance(self.people, Population):
            return self.people
        return Population.from_frame(self.people, outcome_year=outcome_year)


def _dataset(path, name: str):
    import pyarrow as pa
    import pyarrow.dataset as ds

    path = Path(path)
    if not path.exists():
        raise InputError(f"The {name!r} parameter names {str(path)!r}, which does not exist. "
                         "Fix: give a Parquet file or a folder of Parquet files.")
    try:
        return ds.dataset(str(path), format="parquet", partitioning="hive")
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{str(path)!r} (parameter {name!r}) is not a readable Parquet dataset: {exc}. "
                         "Fix: rewrite it; a truncated file usually means an interrupted writer.") from exc


def _columns(dataset, name: str, wanted, required) -> list[str]:
    names = dataset.schema.names
    missing = [c for c in required if c not in names]
    if missing:
        raise SchemaError(f"The Parquet data of {name!r} has no column(s) {missing}; it has {names}. "
                          "Fix: rename or add them.")
    return [c for c in wanted if c in names]


def _unreadable(name: str, exc: Exception) -> InputError:
    """Raise when a file of a dataset fails while being read (the message from pyarrow names the file)."""
    return InputError(f"Reading the {name!r} Parquet data failed: {exc}. Fix: the file named there is truncated, "
                      "corrupt or was written by an interrupted job; rewrite it.")


def _count_rows(dataset) -> int:
    import pyarrow as pa

    try:
        return dataset.count_rows()
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable("people", exc) from exc


def _guarded(batches, name: str):
    """Yield from ``batches``, turning pyarrow read errors into :class:`InputError` naming the file."""
    import pyarrow as pa

    batches = iter(batches)
    while True:
        try:
            item = next(batches)
        except StopIteration:
            return
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(name, exc) from exc
        yield item


def _records(dataset, columns, after, upto, name: str = "records") -> pd.DataFrame:
    """Select records with ``after < person_id <= upto`` (``None``: unbounded), so batches share out every record."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    where = None if after is None else ds.field("person_id") > after
    if upto is not None:
        below = ds.field("person_id") <= upto
        where = below if where is None else where & below
    try:
        return dataset.to_table(columns=columns, filter=where).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(name, exc) from exc


class _RowGroups:
    """A dataset stored in ``person_id`` order, read a row group at a time: each batch reads its own.

    Each batch reads only the row groups that hold its people, and the last one read is kept for the next.

    Filtering the whole dataset for each batch (``to_table(filter=...)``) read every row group that overlaps a
    batch (with pyarrow's 1M-row row groups, two or three per batch) and evaluated the filter over all of it:
    five times a plain scan. Here a row group is read once when batches come in order (:func:`iter_batches`),
    and at most once per batch it overlaps when worker processes read batches out of order.
    """

    def __init__(self, groups: list, columns: list, name: str):
        self.groups, self.columns, self.name = groups, columns, name  # [(fragment, row group id, min, max)]
        self.lows = np.array([g[2] for g in groups])
        self.highs = np.array([g[3] for g in groups])
        self._held: dict = {}  # row group position -> table (the last batch's)

    @classmethod
    def of(cls, dataset, columns: list, name: str) -> _RowGroups | None:
        """Index ``dataset`` by row group, or ``None`` when its row groups are not in ``person_id`` order."""
        groups = []
        try:
            for fragment in dataset.get_fragments():
                fragment.ensure_complete_metadata()
                for group in fragment.row_groups:
                    stats = (group.statistics or {}).get("person_id")
                    if not stats or stats.get("min") is None or group.num_rows == 0:
                        return None
                    groups.append((fragment, group.id, stats["min"], stats["max"]))
        except (AttributeError, TypeError, OSError, ValueError):  # not Parquet fragments, or unreadable footers
            return None
        if not groups:
            return None
        highs = [g[3] for g in groups]
        if any(type(g[2]) is not type(groups[0][2]) for g in groups) or any(
                groups[k + 1][2] < highs[k] for k in range(len(groups) - 1)):
            return None  # ids overlap from one row group to the next: the filter finds them wherever they are
        return cls(groups, columns, name)

    def take(self, after, upto) -> pd.DataFrame:
        """Read the records with ``after < person_id <= upto`` (``None``: unbounded)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        first = 0 if after is None else int(np.searchsorted(self.highs, after, side="right"))
        stop = len(self.groups) if upto is None else int(np.searchsorted(self.lows, upto, side="right"))
        wanted = range(first, max(first, stop))
        held = {k: self._held[k] if k in self._held else self._read(k) for k in wanted}
        self._held = {k: held[k] for k in wanted[-1:]}  # the next batch in order starts in the last one
        if not held:
            return _records(self.groups[0][0], self.columns, after, upto, self.name)  # no rows: the schema
        tables = []
        for table in held.values():
            ids = table.column("person_id")
            keep = None if after is None else pc.greater(ids, after)
            if upto is not None:
                below = pc.less_equal(ids, upto)
                keep = below if keep is None else pc.and_(keep, below)
            tables.append(table if keep is None else table.filter(keep))
        try:
            return pa.concat_tables(tables).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(self.name, exc) from exc

    def _read(self, k: int):
        import pyarrow as pa

        fragment, group, _, _ = self.groups[k]
        try:
            return fragment.subset(row_group_ids=[group]).to_table(columns=self.columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(self.name, exc) from exc


def iter_batches(people, diagnoses=None, conditions=None, *, batch_rows: int = DEFAULT_BATCH_ROWS,
                 progress: bool | None = None, prefetch: bool = True) -> Iterator[Batch]:
    """Yield people in batches of exactly ``batch_rows`` (the last one shorter), with their records.

    Batch ``k`` holds the records whose ``person_id`` lies after the last person of batch ``k - 1`` and up to
    its own last person (the first and last batches are open-ended), so every record lands in exactly one
    batch; a record of someone missing from ``people`` reaches :func:`~capitation.encode`, which refuses it
    or counts it, just as in memory.

    Parameters
    ----------
    people, diagnoses, conditions : path
        Parquet files or dataset folders; people sorted by ``person_id``.
    batch_rows : int
        People per batch; a multiple of :data:`~capitation.model.BLOCK_SIZE` keeps streamed fits
        bit-identical to in-memory ones.
    progress : bool, optional
        Show a progress bar (default: on an interactive terminal).
    prefetch : bool, default True
        Read the next batch on a background thread while the caller works on this one (pyarrow reads
        release the GIL, so on two cores reading costs almost no wall time). At most three batches are in
        memory at once: the caller's, one waiting and one being read.

    Yields
    ------
    Batch

    Examples
    --------
    >>> import tempfile
    >>> from capitation.datasets.synthetic import write_synthetic_england
    >>> from capitation.stream import iter_batches
    >>> with tempfile.TemporaryDirectory() as d:
    ...     se = write_synthetic_england(d + "/se", 0.05, practices=["A81001"], progress=False)
    ...     sizes = [len(b.people) for b in iter_batches(se / "people", se / "diagnoses", batch_rows=100)]
    >>> sizes[0], sum(sizes[:-1]) == 100 * (len(sizes) - 1)
    (100, True)
    """
    _check_batch_rows(batch_rows)
    src = _Sources.open(people, diagnoses, conditions)
    batches = _read_batches(src, _count_rows(src.people_ds), int(batch_rows), progress)
    return _prefetched(batches) if prefetch else batches


@dataclass(frozen=True)
class _Sources:
    """The datasets a stream reads, with the columns it takes from each (paths kept, for worker processes)."""

    paths: tuple
    people_ds: object
    people_cols: list
    dx_ds: object
    dx_cols: list | None
    gp_ds: object
    gp_cols: list | None
    row_groups: dict  # name -> _RowGroups or None (not in person_id order), filled when a table is first read

    @classmethod
    def open(cls, people, diagnoses, conditions) -> _Sources:
        people_ds = _dataset(people, "people")
        people_cols = _columns(people_ds, "people", PEOPLE_COLUMNS,
                               ("person_id", "practice_code", "sex", "age", "lsoa_code"))
        dx_ds = None if diagnoses is None else _dataset(diagnoses, "diagnoses")
        dx_cols = None if dx_ds is None else _columns(dx_ds, "diagnoses", ("person_id", "icd10", "fy", "date",
                                                                           "setting", "position"),
                                                      ("person_id", "icd10"))
        gp_ds = None if conditions is None else _dataset(conditions, "conditions")
        gp_cols = None if gp_ds is None else _columns(gp_ds, "conditions", ("person_id", "register", "date"),
                                                       ("person_id", "register"))
        paths = tuple(None if p is None else str(p) for p in (people, diagnoses, conditions))
        return cls(paths, people_ds, people_cols, dx_ds, dx_cols, gp_ds, gp_cols, {})

    def records(self, name: str, after, upto) -> pd.DataFrame | None:
        """Read the ``name`` table's rows with ``after < person_id <= upto`` (``None``: unbounded)."""
        dataset, columns = {"people": (self.people_ds, self.people_cols), "diagnoses": (self.dx_ds, self.dx_cols),
                            "conditions": (self.gp_ds, self.gp_cols)}[name]
        if dataset is None:
            return None
        if name not in self.row_groups:  # one look at the footers, and only for a table read by id range
            self.row_groups[name] = _RowGroups.of(dataset, columns, name)
        index = self.row_groups[name]
        return index.take(after, upto) if index is not None else _records(dataset, columns, after, upto, name)

    def batch(self, after, upto) -> Batch:
        """Read the people with ``after < person_id <= upto`` (``None``: unbounded) and their records."""
        return Batch(self.records("people", after, upto), self.records("diagnoses", after, upto),
                     self.records("conditions", after, upto))

    def __reduce__(self):  # a worker process reopens the datasets from their paths
        return (_Sources.open, self.paths)


def _check_sorted(ids: np.ndarray, last_id) -> None:
    """Refuse people that are not in strictly increasing ``person_id`` order (``last_id``: the previous batch's)."""
    if (ids[1:] <= ids[:-1]).any() or (last_id is not None and len(ids) and ids[0] <= last_id):
        seq = ids if last_id is None else np.r_[np.asarray([last_id], dtype=ids.dtype), ids]
        bad = int(np.flatnonzero(seq[1:] <= seq[:-1])[0])
        raise InputError(f"The 'people' dataset is not sorted by increasing person_id (person_id "
                         f"{_plain(seq[bad + 1])!r} follows {_plain(seq[bad])!r}), which streaming needs to "
                         "find each batch's records. Fix: sort people (and their records) by person_id, or "
                         "write them with capitation.datasets.synthetic.write_synthetic_england.")


def _batch_cuts(src: _Sources, batch_rows: int, progress) -> list[tuple]:
    """Find the ``(after, upto]`` person_id range of each batch of ``batch_rows`` people, in one pass over ids.

    The first and last ranges are open-ended (``None``), as in :func:`iter_batches`, so every record lands in
    exactly one batch.
    """
    total = _count_rows(src.people_ds)
    ends, seen, last_id = [], 0, None
    scanner = src.people_ds.to_batches(columns=["person_id"], batch_size=1 << 20)
    for record_batch in _progress(_guarded(scanner, "people"), desc="people ids", enabled=progress, unit="batch"):
        ids = record_batch.column("person_id").to_numpy(zero_copy_only=False)
        if not len(ids):
            continue
        _check_sorted(ids, last_id)
        last_id = ids[-1]
        # positions (in this record batch) of each batch's last person
        first_end = (batch_rows - seen % batch_rows) - 1
        ends.extend(_plain(v) for v in ids[first_end::batch_rows])
        seen += len(ids)
    if total == 0 or seen == 0:
        return []
    if seen % batch_rows == 0:
        ends = ends[:-1]  # the last batch is open-ended
    bounds = [None, *ends, None]
    return list(itertools.pairwise(bounds))


# Worker processes of fit_parquet / score_parquet(processes=...): what every task of a run shares.
_WORKER: dict = {}


def _start_worker(shared: dict) -> None:
    from ._config import threads

    _WORKER.clear()
    _WORKER.update(shared)
    stack = contextlib.ExitStack()
    stack.enter_context(threads(1))  # the processes are the parallelism; a kernel's own threads would contend
    _WORKER["threads"] = stack


def _fit_task(run: list) -> list[BlockStats]:
    w = _WORKER
    return [_batch_blocks(w["spec"], w["sources"].batch(*cut), w["areas"], w["groups"]) for cut in run]


#: Consecutive batches per task of a worker process: a worker reads them in order, so a row group shared by
#: two of them is read once (interleaving single batches between workers read most row groups twice).
_BATCHES_PER_TASK = 4


def _in_processes(task, cuts: list, processes: int, shared: dict, progress, desc: str) -> Iterator:
    """Run ``task(run)`` on runs of consecutive cuts in worker processes; yield each cut's result in order.

    At most two tasks per process are in flight, so memory stays bounded; the workers read their batches
    themselves, and only results (a batch's block statistics, 0.3 MB per 32,768 people at 192 columns, or
    its practice totals) travel back. Errors raised in a worker are raised here, as the same class.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context(method),
                             initializer=_start_worker, initargs=(shared,)) as pool:
        runs = [cuts[k:k + _BATCHES_PER_TASK] for k in range(0, len(cuts), _BATCHES_PER_TASK)]
        done = itertools.chain.from_iterable(_in_order(pool, task, runs, 2 * processes))
        yield from _progress(done, desc=desc, enabled=progress, unit="batch", total=len(cuts))


def _in_order(pool, task, cuts: list, ahead: int) -> Iterator:
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    todo = iter(cuts)
    pending: deque = deque(pool.submit(task, cut) for cut in itertools.islice(todo, ahead))
    while pending:
        try:
            result = pending.popleft().result()
        except BrokenProcessPool as exc:
            raise InputError(f"A worker process of the streamed run stopped ({exc}). Fix: run with processes=1 "
                             "to see the error in this process, or free memory.") from exc
        pending.extend(pool.submit(task, cut) for cut in itertools.islice(todo, 1))
        yield result


def _score_batch(model, spec: FeatureSpec, batch: Batch, areas, groups, keep_need: bool):
    """One batch's part of scoring: its practices' exact totals, and each person's need when it is kept."""
    from .scoring import score

    pop = batch.population(spec.outcome_year)
    X = encode(spec, pop, diagnoses=batch.diagnoses, conditions=batch.conditions, areas=areas, groups=groups)
    need = score(model, X)
    table = None
    if keep_need:
        import pyarrow as pa

        table = pa.table({"person_id": pop.person_id, "practice_code": pop.practice_code.astype(str), "need": need})
    return practice_totals(pop, need), table


def _score_task(run: list) -> list:
    w = _WORKER
    return [_score_batch(w["model"], w["spec"], w["sources"].batch(*cut), w["areas"], w["groups"], w["keep_need"])
            for cut in run]


def _check_processes(processes, caller: str) -> int:
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) or processes < 1:
        raise InputError(f"The 'processes' parameter of {caller} must be a positive integer. Got {processes!r}. "
                         "Fix: 1 (this process only) or the number of cores, e.g. os.cpu_count().")
    return int(processes)


def _check_batch_rows(batch_rows) -> None:
    if not isinstance(batch_rows, (int, np.integer)) or batch_rows < 1:
        raise InputError(f"The 'batch_rows' parameter must be a positive integer. Got {batch_rows!r}. "
                         f"Fix: use a multiple of BLOCK_SIZE ({BLOCK_SIZE:,}), e.g. the default "
                         f"{DEFAULT_BATCH_ROWS:,}.")


def _read_batches(src: _Sources, total: int, batch_rows: int, progress) -> Iterator[Batch]:
    import pyarrow as pa

    after = None  # the last person_id of the previous batch
    emitted = 0

    def emit(people: pa.Table) -> Batch:
        nonlocal after, emitted
        emitted += people.num_rows
        upto = None if emitted >= total else people.column("person_id")[-1].as_py()
        batch = Batch(people.to_pandas(), src.records("diagnoses", after, upto),
                      src.records("conditions", after, upto))
        after = upto
        return batch

    # People are sliced as Arrow record batches and converted once per batch: converting pieces and
    # concatenating them in pandas would turn dictionary columns with different dictionaries into objects.
    pending: list = []
    held = 0
    last_id = None
    step = min(batch_rows, 1 << 20)
    scanner = src.people_ds.to_batches(columns=src.people_cols, batch_size=step)
    for record_batch in _progress(_guarded(scanner, "people"), desc="people", enabled=progress, unit="batch",
                                  total=-(-total // step)):
        if not record_batch.num_rows:
            continue
        ids = record_batch.column("person_id").to_numpy(zero_copy_only=False)  # integers or strings
        _check_sorted(ids, last_id)
        last_id = ids[-1]
        pending.append(record_batch)
        held += record_batch.num_rows
        while held >= batch_rows:
            joined = pa.Table.from_batches(pending)
            yield emit(joined.slice(0, batch_rows))
            rest = joined.slice(batch_rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield emit(pa.Table.from_batches(pending))


def _prefetched(items: Iterator, depth: int = 1) -> Iterator:
    """Yield from ``items`` while a background thread produces up to ``depth`` items ahead.

    Errors raised while producing are raised here, in order; stopping early (``close()``, an error in the
    caller) stops the producer after the item it is working on.
    """
    import queue
    import threading

    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            offer((None, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="capitation-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = box.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _fitted_spec(spec: FeatureSpec, groups) -> FeatureSpec:
    """Fixed-effect levels must be fixed before streaming: take them from the groups mapping."""
    if not spec.fixed_effects or spec.is_fitted:
        return spec
    learned = dict(spec.levels)
    for name in spec.fixed_effects:
        if groups is None or name not in groups:
            raise InputError(f"FeatureSpec declares the fixed effect {name!r} but no groups[{name!r}] was given.")
        mapping = groups[name]
        values = mapping.table["consortium_code"] if isinstance(mapping, Membership) else mapping
        learned.setdefault(name, tuple(sorted(pd.unique(np.asarray(values, dtype=object).astype(str)))))
    return replace(spec, levels=tuple((k, learned[k]) for k in spec.fixed_effects))


def fit_parquet(spec: FeatureSpec, people, diagnoses=None, conditions=None, *, areas=None, groups=None,
                batch_rows: int = DEFAULT_BATCH_ROWS, on_aliased: str = "raise",
                progress: bool | None = None, processes: int = 1) -> CostModel:
    """Fit the least-squares cost model on Parquet datasets too large for memory.

    Each batch is encoded and its sufficient statistics added; the normal equations are solved once at the
    end. Annual cost is ``cost / exposure``, weighted by ``exposure`` (person-years).

    Parameters
    ----------
    spec : FeatureSpec
    people, diagnoses, conditions : path
        Parquet datasets (people sorted by ``person_id``, with a ``cost`` column).
    areas : pandas.DataFrame, optional
    groups : dict, optional
        Fixed-effect levels by practice (see :func:`capitation.encode`).
    batch_rows : int
        People per batch (bounded memory); results are identical for any multiple of ``BLOCK_SIZE``.
    on_aliased : {"raise", "drop"}
    progress : bool, optional
    processes : int, default 1
        Worker processes that read and encode batches side by side (``os.cpu_count()`` to use every core).
        Each worker reads its own batches; only their block statistics come back (0.3 MB per 32,768 people
        at 192 columns), folded in batch order, so the model is bit-identical for any number of processes.
        Scripts that use it need the ``if __name__ == "__main__":`` guard any use of :mod:`multiprocessing`
        needs.

    Returns
    -------
    CostModel
        Fitted, with ``result_`` (classical covariance), ``spec_`` (the fitted spec to encode new data) and
        ``stats_`` (the summed statistics), set as by ``CostModel.fit``.

    Raises
    ------
    InputError
        ``on_aliased`` is not allowed (checked before any data is read), a dataset is missing, unreadable,
        unsorted or empty.

    Examples
    --------
    >>> import tempfile
    >>> from capitation import FeatureSpec
    >>> from capitation.datasets.synthetic import write_synthetic_england
    >>> from capitation.stream import fit_parquet
    >>> with tempfile.TemporaryDirectory() as d:
    ...     se = write_synthetic_england(d + "/se", 0.05, practices=["A81001", "A81002"], progress=False)
    ...     model = fit_parquet(FeatureSpec(outcome_year="2025/26"), se / "people", se / "diagnoses",
    ...                         on_aliased="drop", progress=False)
    >>> model.result_.n > 0
    True
    """
    _check_params("fit_parquet", on_aliased=on_aliased)  # before the first batch, not after the whole run
    processes = _check_processes(processes, "fit_parquet")
    if processes == 1:
        return fit_batches(spec, iter_batches(people, diagnoses, conditions, batch_rows=batch_rows,
                                              progress=progress), areas=areas, groups=groups, on_aliased=on_aliased)
    _check_batch_rows(batch_rows)
    spec = _fitted_spec(spec, groups)
    src = _Sources.open(people, diagnoses, conditions)
    cuts = _batch_cuts(src, int(batch_rows), progress)
    shared = {"spec": spec, "sources": src, "areas": areas, "groups": groups}
    return _fit_from_blocks(spec, _in_processes(_fit_task, cuts, processes, shared, progress, "fit"), on_aliased)


def fit_batches(spec: FeatureSpec, batches, *, areas=None, groups=None, on_aliased: str = "raise") -> CostModel:
    """Fit the least-squares cost model on a stream of batches, adding each batch's sufficient statistics.

    The one fit path of out-of-core runs: :func:`fit_parquet` feeds it Parquet batches; NHS extracts read a
    part at a time through the readers (e.g. :func:`capitation.datasets.nhs_layouts.read_nhs_extracts`) feed
    it the same way. Only one batch is in memory at a time (with the generator's own look-ahead).

    Parameters
    ----------
    spec : FeatureSpec
    batches : iterable of Batch
        Each with its people (a frame or a :class:`~capitation.Population`, with ``cost``) and their records.
        Cut batches on the :data:`~capitation.model.BLOCK_SIZE` grid of people for results bit-identical to
        an in-memory fit; otherwise they agree to rounding.
    areas : pandas.DataFrame, optional
    groups : dict, optional
        Fixed-effect levels by practice (see :func:`capitation.encode`).
    on_aliased : {"raise", "drop"}

    Returns
    -------
    CostModel
        As from :func:`fit_parquet`.

    Raises
    ------
    InputError
        ``on_aliased`` is not allowed, a batch has no cost, or there are no batches.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation import FeatureSpec
    >>> from capitation.stream import Batch, fit_batches
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"person_id": np.arange(400), "practice_code": "A81001",
    ...                        "sex": rng.choice(["F", "M"], 400), "age": rng.integers(0, 95, 400),
    ...                        "lsoa_code": "E01000001", "cost": rng.gamma(0.5, 900, 400)})
    >>> halves = (Batch(people.iloc[:200], None, None), Batch(people.iloc[200:], None, None))
    >>> spec = FeatureSpec(outcome_year="2025/26", diagnosis_grouping=None)
    >>> fit_batches(spec, halves, on_aliased="drop").result_.n
    400
    """
    _check_params("fit_batches", on_aliased=on_aliased)
    spec = _fitted_spec(spec, groups)
    return _fit_from_blocks(spec, (_batch_blocks(spec, batch, areas, groups) for batch in batches), on_aliased)


def _batch_blocks(spec: FeatureSpec, batch: Batch, areas, groups) -> BlockStats:
    """One batch's part of a fit: its design's statistics block by block (the same work in any process)."""
    pop = batch.population(spec.outcome_year)
    if pop.cost is None:
        raise SchemaError("The people of a batch have no 'cost' column to fit on. Fix: add the outcome-year "
                          "cost.")
    X = encode(spec, pop, diagnoses=batch.diagnoses, conditions=batch.conditions, areas=areas, groups=groups)
    return BlockStats.from_design(X, pop.cost / pop.exposure, pop.exposure)


def _fit_from_blocks(spec: FeatureSpec, parts, on_aliased: str) -> CostModel:
    """Fold the batches' block statistics in batch order and solve once: the one end of every streamed fit."""
    stats = None
    for blocks in parts:
        if stats is None:
            stats = SufficientStats.empty(blocks.columns, blocks.roles)
        stats.fold(blocks)
    if stats is None:
        raise InputError("There are no people to fit on (the 'people' dataset or the batches are empty). Fix: "
                         "point to a dataset with people in it.")
    return CostModel.from_result(result_from_stats(stats, on_aliased=on_aliased), spec=spec, stats=stats,
                                 on_aliased=on_aliased)


def score_parquet(model: CostModel, people, diagnoses=None, conditions=None, *, spec: FeatureSpec | None = None,
                  areas=None, groups=None, membership: Membership | None = None, unassigned: str = "raise",
                  batch_rows: int = DEFAULT_BATCH_ROWS, predictions: str | os.PathLike | None = None,
                  progress: bool | None = None, processes: int = 1) -> Aggregation:
    """Score people batch by batch and sum need exactly over practices (and consortia).

    Parameters
    ----------
    model : CostModel
        A fitted least-squares model.
    people, diagnoses, conditions : path
        Parquet datasets, people sorted by ``person_id``.
    spec : FeatureSpec, optional
        The fitted spec (``model.spec_`` from :func:`fit_parquet` by default).
    areas : pandas.DataFrame, optional
    groups : dict, optional
        Fixed-effect levels by practice (see :func:`capitation.encode`).
    membership : Membership, optional
        Practice → consortium, for consortium totals.
    unassigned : {"raise", "line"}
        What to do with practices outside ``membership`` (see :func:`capitation.aggregate`).
    batch_rows : int
        People per batch (bounded memory); totals are identical for any value.
    predictions : path, optional
        Also write each person's predicted need to this Parquet file (written under a temporary name and
        renamed when complete).
    progress : bool, optional
        Show a progress bar (default: on an interactive terminal).
    processes : int, default 1
        Worker processes that read and encode batches side by side (``os.cpu_count()`` to use every core).
        Each worker reads its own batches; only their exact practice totals come back (and each person's need,
        for ``predictions``, written in batch order), so the totals are bit-identical for any number of
        processes. Scripts that use it need the ``if __name__ == "__main__":`` guard any use of
        :mod:`multiprocessing` needs.

    Returns
    -------
    Aggregation
        Bit-identical to :func:`capitation.aggregate` on the whole data in memory, for any ``batch_rows``.

    Examples
    --------
    >>> import tempfile
    >>> from capitation import FeatureSpec
    >>> from capitation.datasets.synthetic import write_synthetic_england
    >>> from capitation.stream import fit_parquet, score_parquet
    >>> with tempfile.TemporaryDirectory() as d:
    ...     se = write_synthetic_england(d + "/se", 0.05, practices=["A81001", "A81002"], progress=False)
    ...     model = fit_parquet(FeatureSpec(outcome_year="2025/26"), se / "people", se / "diagnoses",
    ...                         on_aliased="drop", progress=False)
    ...     totals = score_parquet(model, se / "people", se / "diagnoses", progress=False)
    >>> sorted(totals.practices.index)
    ['A81001', 'A81002']
    """
    spec = spec if spec is not None else getattr(model, "spec_", None)
    if spec is None:
        raise InputError("The 'spec' parameter of score_parquet is None and the model has no spec_; scoring "
                         "needs the fitted FeatureSpec. Fix: pass spec=X.spec of the training design, or fit with "
                         "fit_parquet.")
    if predictions is not None:
        check_output(predictions, name="predictions")  # before the first batch, not after the whole run
    processes = _check_processes(processes, "score_parquet")
    if processes == 1:
        scored = (_score_batch(model, spec, batch, areas, groups, predictions is not None)
                  for batch in iter_batches(people, diagnoses, conditions, batch_rows=batch_rows, progress=progress))
    else:
        _check_batch_rows(batch_rows)
        src = _Sources.open(people, diagnoses, conditions)
        shared = {"model": model, "spec": spec, "sources": src, "areas": areas, "groups": groups,
                  "keep_need": predictions is not None}
        scored = _in_processes(_score_task, _batch_cuts(src, int(batch_rows), progress), processes, shared, progress,
                               "score")
    parts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []  # per batch: practices and integer totals
    with contextlib.ExitStack() as stack:  # on any failure the writer closes and the partial file goes
        writer = None
        for totals, table in scored:
            parts.append(totals)
            if table is not None:
                import pyarrow.parquet as pq

                if writer is None:
                    tmp = stack.enter_context(atomic_path(predictions, name="predictions"))
                    writer = stack.enter_context(contextlib.closing(pq.ParquetWriter(tmp, table.schema)))
                writer.write_table(table)
    if not parts:
        raise InputError("The 'people' dataset is empty. Fix: point to a dataset with people in it.")
    # A practice's list may span batches: add its integer totals exactly.
    codes, practices = pd.factorize(np.concatenate([p for p, _ in parts]), sort=True)
    arrays: dict[str, np.ndarray | None] = {"cost": None}
    for key in (k for k, v in parts[0][1].items() if v is not None):
        out = np.zeros(len(practices), dtype=np.int64)
        np.add.at(out, codes, np.concatenate([totals[key] for _, totals in parts]))
        arrays[key] = out
    return aggregation_from_totals(np.asarray(practices, dtype=object), arrays, membership=membership,
                                   unassigned=unassigned)
