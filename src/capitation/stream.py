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
from .model.stats import BLOCK_SIZE, SufficientStats

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
    if not isinstance(batch_rows, (int, np.integer)) or batch_rows < 1:
        raise InputError(f"The 'batch_rows' parameter must be a positive integer. Got {batch_rows!r}. "
                         f"Fix: use a multiple of BLOCK_SIZE ({BLOCK_SIZE:,}), e.g. the default "
                         f"{DEFAULT_BATCH_ROWS:,}.")
    people_ds = _dataset(people, "people")
    people_cols = _columns(people_ds, "people", PEOPLE_COLUMNS,
                           ("person_id", "practice_code", "sex", "age", "lsoa_code"))
    dx_ds = None if diagnoses is None else _dataset(diagnoses, "diagnoses")
    dx_cols = None if dx_ds is None else _columns(dx_ds, "diagnoses", ("person_id", "icd10", "fy", "date", "setting",
                                                                       "position"), ("person_id", "icd10"))
    gp_ds = None if conditions is None else _dataset(conditions, "conditions")
    gp_cols = None if gp_ds is None else _columns(gp_ds, "conditions", ("person_id", "register", "date"),
                                                   ("person_id", "register"))
    total = _count_rows(people_ds)
    batches = _read_batches(people_ds, people_cols, dx_ds, dx_cols, gp_ds, gp_cols, total, int(batch_rows),
                            progress)
    return _prefetched(batches) if prefetch else batches


def _read_batches(people_ds, people_cols, dx_ds, dx_cols, gp_ds, gp_cols, total: int, batch_rows: int,
                  progress) -> Iterator[Batch]:
    import pyarrow as pa

    after = None  # the last person_id of the previous batch
    emitted = 0

    def emit(people: pa.Table) -> Batch:
        nonlocal after, emitted
        emitted += people.num_rows
        upto = None if emitted >= total else people.column("person_id")[-1].as_py()
        batch = Batch(people.to_pandas(),
                      None if dx_ds is None else _records(dx_ds, dx_cols, after, upto, "diagnoses"),
                      None if gp_ds is None else _records(gp_ds, gp_cols, after, upto, "conditions"))
        after = upto
        return batch

    # People are sliced as Arrow record batches and converted once per batch: converting pieces and
    # concatenating them in pandas would turn dictionary columns with different dictionaries into objects.
    pending: list = []
    held = 0
    last_id = None
    step = min(batch_rows, 1 << 20)
    scanner = people_ds.to_batches(columns=people_cols, batch_size=step)
    for record_batch in _progress(_guarded(scanner, "people"), desc="people", enabled=progress, unit="batch",
                                  total=-(-total // step)):
        if not record_batch.num_rows:
            continue
        ids = record_batch.column("person_id").to_numpy(zero_copy_only=False)  # integers or strings
        if (ids[1:] <= ids[:-1]).any() or (last_id is not None and ids[0] <= last_id):
            seq = ids if last_id is None else np.r_[np.asarray([last_id], dtype=ids.dtype), ids]
            bad = int(np.flatnonzero(seq[1:] <= seq[:-1])[0])
            raise InputError(f"The 'people' dataset is not sorted by increasing person_id (person_id "
                             f"{_plain(seq[bad + 1])!r} follows {_plain(seq[bad])!r}), which streaming needs to "
                             "find each batch's records. Fix: sort people (and their records) by person_id, or "
                             "write them with capitation.datasets.synthetic.write_synthetic_england.")
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
                progress: bool | None = None) -> CostModel:
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
    return fit_batches(spec, iter_batches(people, diagnoses, conditions, batch_rows=batch_rows, progress=progress),
                       areas=areas, groups=groups, on_aliased=on_aliased)


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
    stats = None
    for batch in batches:
        pop = batch.population(spec.outcome_year)
        if pop.cost is None:
            raise SchemaError("The people of a batch have no 'cost' column to fit on. Fix: add the outcome-year "
                              "cost.")
        X = encode(spec, pop, diagnoses=batch.diagnoses, conditions=batch.conditions, areas=areas, groups=groups)
        if stats is None:
            stats = SufficientStats.empty(X.column_names, X.columns["role"].tolist())
        stats.accumulate_csr(X.indptr, X.indices, X.data, pop.cost / pop.exposure, pop.exposure)
    if stats is None:
        raise InputError("There are no people to fit on (the 'people' dataset or the batches are empty). Fix: "
                         "point to a dataset with people in it.")
    return CostModel.from_result(result_from_stats(stats, on_aliased=on_aliased), spec=spec, stats=stats,
                                 on_aliased=on_aliased)


def score_parquet(model: CostModel, people, diagnoses=None, conditions=None, *, spec: FeatureSpec | None = None,
                  areas=None, groups=None, membership: Membership | None = None, unassigned: str = "raise",
                  batch_rows: int = DEFAULT_BATCH_ROWS, predictions: str | os.PathLike | None = None,
                  progress: bool | None = None) -> Aggregation:
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
    from .scoring import score

    spec = spec if spec is not None else getattr(model, "spec_", None)
    if spec is None:
        raise InputError("The 'spec' parameter of score_parquet is None and the model has no spec_; scoring "
                         "needs the fitted FeatureSpec. Fix: pass spec=X.spec of the training design, or fit with "
                         "fit_parquet.")
    if predictions is not None:
        check_output(predictions, name="predictions")  # before the first batch, not after the whole run
    parts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []  # per batch: practices and integer totals
    with contextlib.ExitStack() as stack:  # on any failure the writer closes and the partial file goes
        writer = None
        for batch in iter_batches(people, diagnoses, conditions, batch_rows=batch_rows, progress=progress):
            pop = batch.population(spec.outcome_year)
            X = encode(spec, pop, diagnoses=batch.diagnoses, conditions=batch.conditions, areas=areas, groups=groups)
            need = score(model, X)
            parts.append(practice_totals(pop, need))
            if predictions is not None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.table({"person_id": pop.person_id, "practice_code": pop.practice_code.astype(str),
                                  "need": need})
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
