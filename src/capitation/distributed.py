"""Beyond one machine: the pipeline's partition functions, driven by Dask here and usable from Spark.

:func:`fit_dask` and :func:`score_dask` take Dask DataFrames of people and of their records however they were
read (``dd.read_parquet`` of each table, ``dd.from_pandas``, ...) and align them themselves:

1. **A first cheap pass** over the people (their ``person_id``, and one row per practice when fixed-effect
   levels are to be learned) counts each partition, checks that people come in increasing ``person_id`` order
   (as :func:`capitation.stream.fit_parquet` needs them; unsorted people are refused, not sorted behind the
   caller's back), learns the fixed-effect levels as :func:`capitation.encode` learns them in memory, and
   reads the ``person_id`` of every ``partition_rows``-th person: the cut points. The same pass reads the
   records' ``person_id`` (first, last, smallest, largest, whether sorted) to pick how to move them.
2. **Dask moves the rows.** People are repartitioned on the cut points (``set_index(sorted=True)`` then
   ``repartition(divisions=...)``: no shuffle). Records already stored in ``person_id`` ranges (as
   :func:`~capitation.datasets.synthetic.write_synthetic_england` writes them) are repartitioned the same
   way; others are shuffled onto the same divisions by ``set_index("person_id", divisions=...)``, Dask's
   own shuffle. Partition *k* of the records then holds exactly the records of partition *k*'s people (a
   record of someone not in the people lands in one partition, where encoding refuses or counts it).
3. **Each partition is encoded on a worker**, and its statistics are reduced.

Two reductions:

* ``"exact"`` (the default): each partition returns the statistics of each of its blocks of
  :data:`BLOCK_SIZE` people (:func:`block_stats`), and a chain of small tasks adds them into running totals in
  block order (:func:`fold_stats`), which is what the Gram kernel does in memory. ``fit_dask(...,
  partition_rows=R)`` is therefore bit-identical to ``fit_parquet(..., batch_rows=R)`` for any ``R``, and,
  ``R`` being a multiple of :data:`BLOCK_SIZE` (the default is ``8 * BLOCK_SIZE``), to the in-memory fit. The
  block statistics stay on the worker that made them; what moves along the chain is the running totals,
  ``(p² + 2p + 4) × 8`` bytes (0.30 MB at 192 columns), at most once per partition, so about as many bytes
  as a tree moves. The cost is latency (a chain of one cheap task per partition rather than a tree of
  log(n) rounds) and memory (a partition's result is its blocks, ``R / BLOCK_SIZE`` times a total).
* ``"tree"``: :func:`partial_stats` of each partition, added by ``+`` in a tree of ``split_every``; agrees
  with the exact fold to rounding (about 1e-12 relative), not bit for bit.

Errors raised on a worker reach the caller as the library's own class (a :class:`~capitation.errors.
CapitationError` pickles with its message and ``parameter``), their message prefixed with the partition and
its first ``person_id``. Budgets are then set from exact integer practice totals, so they do not depend on the
partitioning. Dask is an optional extra (``pip install "capitation[dask]"``).

Spark recipe (no Spark code ships here; ``tests/test_spark.py`` runs this block as it is written). Given Spark
DataFrames ``people_sdf`` (with ``cost``) and ``diagnoses_sdf``, a :class:`~capitation.FeatureSpec` ``spec``
and ``groups`` as :func:`capitation.encode` takes them (or ``None``). ``mapInPandas`` sees one frame at a
time, so it cannot give a partition of people their diagnoses; Spark's ``cogroup`` on a part number can::

    import pandas as pd
    from pyspark.sql import functions as F
    from capitation.distributed import (BLOCK_SIZE, SCORE_SCHEMA_DDL, STATS_SCHEMA_DDL, fold_stats,
                                        learn_levels, model_from_stats, part_of, score_partition, stats_frame)

    # Parts of BLOCK_SIZE people in person_id order (zipWithIndex numbers them without one big partition);
    # each record goes to the part whose person_id range holds it.
    numbered = people_sdf.select("person_id").orderBy("person_id").rdd.zipWithIndex()
    cuts = sorted(numbered.filter(lambda r: r[1] % BLOCK_SIZE == 0).map(lambda r: r[0][0]).collect())

    @F.pandas_udf("long")
    def part(person_id: pd.Series) -> pd.Series:
        return part_of(person_id, cuts)

    people_p = people_sdf.withColumn("part", part("person_id"))
    diagnoses_p = diagnoses_sdf.withColumn("part", part("person_id"))
    spec = learn_levels(spec, people_sdf.dropDuplicates(["practice_code"]).toPandas(), groups=groups)

    # Fit: each part's block statistics, folded in order: bit-identical to fit_parquet on the same people.
    stats = (people_p.groupBy("part").cogroup(diagnoses_p.groupBy("part"))
             .applyInPandas(lambda p, d: stats_frame(p, d, spec=spec, groups=groups), STATS_SCHEMA_DDL))
    model = model_from_stats(fold_stats(stats.toPandas()), spec, on_aliased="drop")

    # Score: each part's people with their records; one row per person.
    scored = (people_p.groupBy("part").cogroup(diagnoses_p.groupBy("part"))
              .applyInPandas(lambda p, d: score_partition(p, d, model=model, spec=spec, groups=groups),
                             SCORE_SCHEMA_DDL))

Adding the rows of ``stats`` in any other order (``sum``) agrees with that fit to rounding.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from functools import reduce

import numpy as np
import pandas as pd

from ._validation import _plain
from .errors import CapitationError, InputError, MissingDependencyError, SchemaError
from .features.spec import FeatureSpec, encode
from .inputs import Population
from .model.estimator import CostModel, _check_params
from .model.ols import result_from_stats
from .model.stats import BLOCK_SIZE, BlockStats, SufficientStats

__all__ = ["BLOCK_SIZE", "DEFAULT_PARTITION_ROWS", "SCORE_META", "SCORE_SCHEMA_DDL", "STATS_META",
           "STATS_SCHEMA_DDL", "block_stats", "fit_dask", "fold_stats", "learn_levels", "model_from_stats",
           "part_of", "partial_stats", "score_dask", "score_partition", "stats_frame"]

#: People per partition of :func:`fit_dask`: 8 blocks of the Gram kernel, as the streaming batches.
DEFAULT_PARTITION_ROWS = 8 * BLOCK_SIZE
_REDUCTIONS = ("exact", "tree")
_ENCODE_KWARGS = ("conditions", "areas", "groups")
#: The people columns that learning fixed-effect levels reads (one row per practice).
_LEVEL_COLUMNS = ("person_id", "practice_code", "sex", "age", "date_of_birth", "lsoa_code")
#: The columns encoding reads from each table; Dask reads no others (as the streaming readers).
_COLUMNS = {"people": (*_LEVEL_COLUMNS, "exposure", "registration_start", "registration_end", "cost"),
            "diagnoses": ("person_id", "icd10", "fy", "date", "setting", "position"),
            "conditions": ("person_id", "register", "date")}


def _score_frame(person_id, practice_code, need) -> pd.DataFrame:
    """Build the output of :func:`score_partition`; also its empty ``meta``, so dtypes always agree."""
    return pd.DataFrame({"person_id": pd.array(person_id, dtype="int64"),
                         "practice_code": pd.Series(list(practice_code), dtype=object).astype(str),
                         "need": pd.array(need, dtype="float64")})


#: Columns and dtypes of :func:`score_partition`'s output (Dask's ``meta``).
SCORE_META = _score_frame([], [], [])
#: The same as a Spark DDL schema string.
SCORE_SCHEMA_DDL = "person_id long, practice_code string, need double"

#: Columns of :func:`stats_frame`'s output: one row per block; ``xtwx`` is the upper triangle, row by row.
STATS_META = pd.DataFrame({"part": pd.Series(dtype="int64"), "block": pd.Series(dtype="int64"),
                           **{name: pd.Series(dtype=object) for name in ("columns", "roles", "xtwx", "xtwy", "xtw1",
                                                                         "moments")}})
#: The same as a Spark DDL schema string.
STATS_SCHEMA_DDL = ("part long, block long, columns array<string>, roles array<string>, xtwx array<double>, "
                    "xtwy array<double>, xtw1 array<double>, moments array<double>")


def _dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("Dask is an optional extra, not installed. "
                                     'Fix: pip install "capitation[dask]"', name="dask") from exc
    return dask, dd


# ----------------------------------------------------------------------------------------------------------
# Partition functions (pandas in, results out): the same for Dask, Spark or a loop
# ----------------------------------------------------------------------------------------------------------

def _population(people: pd.DataFrame, spec: FeatureSpec, caller: str) -> Population:
    pop = Population.from_frame(people, outcome_year=spec.outcome_year)
    if pop.cost is None:
        raise InputError(f"{caller} needs a 'cost' column in each people partition. Fix: add the outcome cost.")
    return pop


def partial_stats(people: pd.DataFrame, diagnoses: pd.DataFrame | None = None, *, spec: FeatureSpec,
                  conditions: pd.DataFrame | None = None, areas=None, groups=None) -> SufficientStats:
    """Sufficient statistics of one partition of people (with their records), for a tree reduction.

    Annual cost ``cost / exposure`` is weighted by ``exposure``, as in :func:`capitation.stream.fit_parquet`.
    Statistics of partitions added by ``+`` (in any order, in a tree) agree with one pass to rounding; for
    bit-identical sums use :func:`block_stats` and :func:`fold_stats`.

    Parameters
    ----------
    people : pandas.DataFrame
        One partition of people, with ``cost`` (and ``exposure``, else a full year each).
    diagnoses, conditions : pandas.DataFrame, optional
        The records of those people.
    spec : FeatureSpec
        The same spec for every partition (with its fixed-effect levels, if it has fixed effects).
    areas, groups : optional
        As :func:`capitation.encode` takes them.

    Returns
    -------
    SufficientStats
        To be added to the other partitions' (``+``).

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import FeatureSpec
    >>> from capitation.distributed import partial_stats
    >>> people = pd.DataFrame({"person_id": [1, 2], "practice_code": ["A81001"] * 2, "sex": ["F", "M"],
    ...                        "age": [30, 70], "lsoa_code": ["E01011959"] * 2, "cost": [100.0, 900.0]})
    >>> partial_stats(people, spec=FeatureSpec(diagnosis_grouping=None)).n
    2
    """
    pop = _population(people, spec, "partial_stats")
    X = encode(spec, pop, diagnoses=diagnoses, conditions=conditions, areas=areas, groups=groups)
    return SufficientStats.from_design(X, pop.cost / pop.exposure, pop.exposure)


def block_stats(people: pd.DataFrame, diagnoses: pd.DataFrame | None = None, *, spec: FeatureSpec,
                conditions: pd.DataFrame | None = None, areas=None, groups=None) -> list[SufficientStats]:
    """Sufficient statistics of each block of :data:`BLOCK_SIZE` people of a partition, in order.

    The Gram kernel sums each block of people on its own and adds the block sums into the running totals in
    block order. Folding these lists with :func:`fold_stats`, partition after partition in ``person_id``
    order, is the same floating-point computation: bit-identical to a streamed fit whose batches are these
    partitions, and to the in-memory fit when every partition but the last holds a multiple of
    :data:`BLOCK_SIZE` people.

    Parameters
    ----------
    people : pandas.DataFrame
        One partition of people in the order of the fit (increasing ``person_id``), with ``cost``.
    diagnoses, conditions : pandas.DataFrame, optional
        The records of those people.
    spec : FeatureSpec
        The same spec for every partition (with its fixed-effect levels: see :func:`learn_levels`).
    areas, groups : optional
        As :func:`capitation.encode` takes them.

    Returns
    -------
    list of SufficientStats
        One per block: ``ceil(len(people) / BLOCK_SIZE)``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation import FeatureSpec
    >>> from capitation.distributed import block_stats, fold_stats, partial_stats
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"person_id": np.arange(1000), "practice_code": "A81001",
    ...                        "sex": rng.choice(["F", "M"], 1000), "age": rng.integers(0, 95, 1000),
    ...                        "lsoa_code": "E01000001", "cost": rng.gamma(0.5, 900, 1000)})
    >>> spec = FeatureSpec(diagnosis_grouping=None)
    >>> blocks = block_stats(people.iloc[:400], spec=spec) + block_stats(people.iloc[400:], spec=spec)
    >>> len(blocks), fold_stats(blocks).n
    (2, 1000)
    """
    pop = _population(people, spec, "block_stats")
    X = encode(spec, pop, diagnoses=diagnoses, conditions=conditions, areas=areas, groups=groups)
    blocks = BlockStats.from_design(X, pop.cost / pop.exposure, pop.exposure)  # the one block computation
    return [SufficientStats(blocks.xtwx[k], blocks.xtwy[k], blocks.xtw1[k], blocks.moments[k], blocks.columns,
                            blocks.roles) for k in range(blocks.moments.shape[0])]


def fold_stats(parts) -> SufficientStats:
    """Add statistics into running totals one after another, in the order given: the exact reduction.

    Parameters
    ----------
    parts : iterable of SufficientStats, or pandas.DataFrame
        Block statistics in fit order (:func:`block_stats` of each partition, partition after partition), or
        the rows of :func:`stats_frame` from every part, in any row order (they are put in ``part``, then
        ``block`` order, and must number the parts ``0, 1, ...`` and each part's blocks ``0, 1, ...``).

    Returns
    -------
    SufficientStats

    Raises
    ------
    InputError
        No statistics, something else among them, or (from a frame) a part or block missing or repeated.
    SchemaError
        Statistics of different columns, or a frame without the columns of :data:`STATS_META`.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.distributed import fold_stats
    >>> from capitation.model import SufficientStats
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    >>> parts = [SufficientStats.from_design(X[:2], [1.0, 3.0]), SufficientStats.from_design(X[2:], [2.0])]
    >>> fold_stats(parts).xtwy.tolist()
    [6.0, 3.0]
    """
    if isinstance(parts, pd.DataFrame):
        parts = _stats_from_frame(parts)
    total = None
    for k, part in enumerate(parts):
        if not isinstance(part, SufficientStats):
            raise InputError(f"The 'parts' parameter of fold_stats must hold SufficientStats. Got "
                             f"{type(part).__name__} at position {k}. Fix: pass block_stats(...) of each "
                             "partition, or the rows of stats_frame.")
        if total is None:  # from zeros, as the kernel adds its first block into zeroed totals
            total = SufficientStats.empty(part.columns, part.roles)
        total = total + part
    if total is None:
        raise InputError("The 'parts' parameter of fold_stats is empty: there are no statistics to add. Fix: "
                         "pass the block statistics of at least one partition.")
    return total


def model_from_stats(stats: SufficientStats, spec: FeatureSpec, *, on_aliased: str = "raise") -> CostModel:
    """Solve the least-squares cost model from statistics summed over every person.

    Parameters
    ----------
    stats : SufficientStats
        From :func:`fold_stats` (or a sum of :func:`partial_stats`).
    spec : FeatureSpec
        The spec every partition was encoded with; it becomes the model's ``spec_``.
    on_aliased : {"raise", "drop"}
        As :class:`~capitation.CostModel` takes it.

    Returns
    -------
    CostModel
        Fitted, with ``result_``, ``spec_`` and ``stats_`` set as by ``CostModel.fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import FeatureSpec
    >>> from capitation.distributed import model_from_stats, partial_stats
    >>> people = pd.DataFrame({"person_id": [1, 2, 3, 4], "practice_code": ["A81001"] * 4,
    ...                        "sex": ["F", "M", "F", "M"], "age": [30, 30, 80, 80],
    ...                        "lsoa_code": ["E01011959"] * 4, "cost": [100.0, 300.0, 900.0, 1100.0]})
    >>> spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0,))
    >>> model_from_stats(partial_stats(people, spec=spec), spec).coef_.round(2).tolist()
    [500.0, 700.0]
    """
    _check_params("model_from_stats", on_aliased=on_aliased)
    return CostModel.from_result(result_from_stats(stats, on_aliased=on_aliased), spec=spec, stats=stats,
                                 on_aliased=on_aliased)


def learn_levels(spec: FeatureSpec, people: pd.DataFrame, *, groups=None) -> FeatureSpec:
    """Fix the spec's fixed-effect levels from the people, as :func:`capitation.encode` learns them.

    A practice's level does not depend on who is registered there, so one person per practice is enough:
    ``people`` may be the whole population or any rows holding every practice (e.g. ``drop_duplicates``
    on ``practice_code``). The levels are those of the practices present, sorted; encoding those rows with
    the spec's fixed effects alone learns them, so they are exactly the levels of an in-memory fit.

    Parameters
    ----------
    spec : FeatureSpec
        Returned unchanged when it has no fixed effects or already has their levels.
    people : pandas.DataFrame
        People with ``person_id``, ``practice_code``, ``sex``, ``age`` (or ``date_of_birth``) and
        ``lsoa_code``; at least one row of every practice.
    groups : dict, optional
        As :func:`capitation.encode` takes them: the level of each practice, for each fixed effect.

    Returns
    -------
    FeatureSpec
        With ``levels`` set for every fixed effect (``spec.is_fitted``).

    Raises
    ------
    InputError
        A fixed effect without its ``groups`` entry, as :func:`capitation.encode` raises it.
    UnknownCodeError
        A practice without a level.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import FeatureSpec
    >>> from capitation.distributed import learn_levels
    >>> people = pd.DataFrame({"person_id": [1, 2], "practice_code": ["A81001", "A81002"], "sex": ["F", "M"],
    ...                        "age": [30, 70], "lsoa_code": ["E01011959"] * 2})
    >>> icb = pd.Series(["QE1", "QF7", "QHM"], index=["A81001", "A81002", "B82005"])
    >>> learn_levels(FeatureSpec(fixed_effects=("icb",)), people, groups={"icb": icb}).levels
    (('icb', ('QE1', 'QF7')),)
    """
    if not spec.fixed_effects or spec.is_fitted:
        return spec
    columns = [c for c in _LEVEL_COLUMNS if c in people.columns]
    rows = people[columns].drop_duplicates("practice_code") if "practice_code" in columns else people[columns]
    lean = replace(spec, diagnosis_grouping=None, conditions=(), need=(), supply=(), interactions=(),
                   hierarchies=())
    learned = encode(lean, Population.from_frame(rows, cost=None, outcome_year=spec.outcome_year),
                     groups=groups).spec
    return replace(spec, levels=learned.levels)


def _needs_levels(spec: FeatureSpec, caller: str) -> None:
    if spec.fixed_effects and not spec.is_fitted:
        raise InputError(f"The 'spec' parameter of {caller} has the fixed effects {list(spec.fixed_effects)} "
                         "without their levels, so each partition would learn its own. Fix: learn them once, "
                         "spec = learn_levels(spec, people, groups=groups), or pass the model's spec_.")


def score_partition(people: pd.DataFrame, diagnoses: pd.DataFrame | None = None, *, model: CostModel,
                    spec: FeatureSpec, conditions: pd.DataFrame | None = None, areas=None,
                    groups=None) -> pd.DataFrame:
    """Predicted need of each person in one partition: ``person_id``, ``practice_code``, ``need``.

    Parameters
    ----------
    people : pandas.DataFrame
        One partition of people.
    diagnoses, conditions : pandas.DataFrame, optional
        The records of those people.
    model : CostModel
        Fitted.
    spec : FeatureSpec
        The fitted spec of the model.
    areas, groups : optional
        As :func:`capitation.encode` takes them.

    Returns
    -------
    pandas.DataFrame
        Columns and dtypes as :data:`SCORE_META`.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import CostModel, FeatureSpec, encode
    >>> from capitation.distributed import score_partition
    >>> people = pd.DataFrame({"person_id": [1, 2, 3, 4], "practice_code": ["A81001"] * 4,
    ...                        "sex": ["F", "M", "F", "M"], "age": [30, 30, 80, 80],
    ...                        "lsoa_code": ["E01011959"] * 4, "cost": [100.0, 300.0, 900.0, 1100.0]})
    >>> spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0,))  # one band: a cell per sex
    >>> model = CostModel().fit(encode(spec, people), people["cost"])
    >>> score_partition(people, model=model, spec=spec)["need"].round(2).tolist()
    [500.0, 700.0, 500.0, 700.0]
    """
    from .scoring import score

    if len(people) == 0:
        return SCORE_META.copy()
    pop = Population.from_frame(people, outcome_year=spec.outcome_year)
    X = encode(spec, pop, diagnoses=diagnoses, conditions=conditions, areas=areas, groups=groups)
    return _score_frame(pop.person_id, pop.practice_code, score(model, X))


def part_of(person_id, cuts) -> pd.Series:
    """Find the part of each ``person_id``: the last cut at or below it (ids below the first cut: part 0).

    With ``cuts`` the ``person_id`` of the first person of each part (in increasing order), every person is
    in their part, and every record goes to the part of its person, or (a person not among the people) to
    one part, where encoding refuses or counts it. For Spark, as a ``pandas_udf`` (see the module's recipe).

    Parameters
    ----------
    person_id : pandas.Series or array-like
        Ids of people or of records.
    cuts : sequence
        The first ``person_id`` of each part, increasing.

    Returns
    -------
    pandas.Series
        int64 part numbers, ``0`` to ``len(cuts) - 1``.

    Raises
    ------
    InputError
        ``cuts`` is empty or not strictly increasing.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.distributed import part_of
    >>> part_of(pd.Series([3, 10, 11, 25, 40]), [5, 11, 30]).tolist()
    [0, 0, 1, 1, 2]
    """
    edges = np.asarray(list(cuts))
    if not len(edges) or (len(edges) > 1 and not (edges[1:] > edges[:-1]).all()):
        raise InputError(f"The 'cuts' parameter of part_of must be the first person_id of each part, strictly "
                         f"increasing. Got {list(edges[:5])}{' ...' if len(edges) > 5 else ''}. Fix: collect "
                         "them from the people sorted by person_id.")
    ids = person_id.to_numpy() if isinstance(person_id, pd.Series) else np.asarray(person_id)
    parts = np.clip(np.searchsorted(edges, ids, side="right") - 1, 0, len(edges) - 1).astype(np.int64)
    index = person_id.index if isinstance(person_id, pd.Series) else None
    return pd.Series(parts, index=index, dtype="int64")


def stats_frame(people: pd.DataFrame, diagnoses: pd.DataFrame | None = None, *, spec: FeatureSpec,
                conditions: pd.DataFrame | None = None, areas=None, groups=None, part: str = "part") -> pd.DataFrame:
    """Give a part's block statistics as rows of plain columns, for engines that move frames (Spark).

    The part's people are put in ``person_id`` order, cut into blocks of :data:`BLOCK_SIZE` (see
    :func:`block_stats`), and each block becomes one row (:data:`STATS_SCHEMA_DDL`); :func:`fold_stats` of
    every part's rows is the exact reduction.

    Parameters
    ----------
    people : pandas.DataFrame
        The people of one part, in any order, with ``cost`` and the ``part`` column (one value).
    diagnoses, conditions : pandas.DataFrame, optional
        Their records (a ``part`` column among them is ignored).
    spec : FeatureSpec
        With its fixed-effect levels (:func:`learn_levels`).
    areas, groups : optional
        As :func:`capitation.encode` takes them.
    part : str, default "part"
        The column holding the part number: ``0, 1, ...`` in ``person_id`` order.

    Returns
    -------
    pandas.DataFrame
        Columns as :data:`STATS_META`: ``part``, ``block``, and the statistics (``xtwx`` as its upper
        triangle, row by row).

    Raises
    ------
    InputError
        The spec's fixed effects have no levels; no people but records; several part numbers.
    SchemaError
        No ``part`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import FeatureSpec
    >>> from capitation.distributed import fold_stats, stats_frame
    >>> people = pd.DataFrame({"person_id": [2, 1], "practice_code": ["A81001"] * 2, "sex": ["F", "M"],
    ...                        "age": [30, 70], "lsoa_code": ["E01011959"] * 2, "cost": [100.0, 900.0],
    ...                        "part": [0, 0]})
    >>> rows = stats_frame(people, spec=FeatureSpec(diagnosis_grouping=None))
    >>> rows[["part", "block"]].values.tolist(), fold_stats(rows).n
    ([[0, 0]], 2)
    """
    _needs_levels(spec, "stats_frame")
    if part not in people.columns:
        raise SchemaError(f"The people given to stats_frame have no {part!r} column (the 'part' parameter). Got "
                          f"{list(people.columns)}. Fix: add each person's part number, e.g. with part_of.")
    records = {"diagnoses": diagnoses, "conditions": conditions}
    records = {k: (None if v is None else v.drop(columns=[part], errors="ignore")) for k, v in records.items()}
    if len(people) == 0:
        held = [k for k, v in records.items() if v is not None and len(v)]
        if held:
            raise InputError(f"stats_frame got {held[0]} records but no people for their part, so they would be "
                             "lost. Fix: give each record the part of the people whose person_id range holds it "
                             "(part_of with the first person_id of each part), not a join on person_id.")
        return STATS_META.copy()
    numbers = pd.unique(people[part])
    if len(numbers) != 1:
        raise InputError(f"stats_frame got the people of several parts in one call ({part!r} holds "
                         f"{sorted(map(_plain, numbers))[:5]}). Fix: group by {part!r} before calling it.")
    ordered = people.drop(columns=[part]).sort_values("person_id", kind="stable")
    blocks = block_stats(ordered, records["diagnoses"], spec=spec, conditions=records["conditions"], areas=areas,
                         groups=groups)
    upper = np.triu_indices(len(blocks[0].columns))
    return pd.DataFrame({"part": np.full(len(blocks), int(_plain(numbers[0])), dtype=np.int64),
                         "block": np.arange(len(blocks), dtype=np.int64),
                         "columns": [list(b.columns) for b in blocks],
                         "roles": [None if b.roles is None else list(b.roles) for b in blocks],
                         "xtwx": [b.xtwx[upper] for b in blocks], "xtwy": [b.xtwy for b in blocks],
                         "xtw1": [b.xtw1 for b in blocks], "moments": [b.moments for b in blocks]})


def _stats_from_frame(frame: pd.DataFrame) -> list[SufficientStats]:
    """Read the rows of :func:`stats_frame` as statistics, in ``part`` then ``block`` order, each once."""
    missing = [c for c in STATS_META.columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"The frame given to fold_stats has no column(s) {missing}; it has {list(frame.columns)}. "
                          "Fix: pass the rows of stats_frame (STATS_SCHEMA_DDL).")
    if not len(frame):
        return []
    frame = frame.sort_values(["part", "block"], kind="stable")
    parts, blocks = frame["part"].to_numpy(dtype=np.int64), frame["block"].to_numpy(dtype=np.int64)
    numbers = np.unique(parts)
    if not np.array_equal(numbers, np.arange(len(numbers))):
        gap = int(np.flatnonzero(numbers != np.arange(len(numbers)))[0])
        raise InputError(f"The frame given to fold_stats lacks part {gap} (it has parts {numbers[:5].tolist()}"
                         f"{' ...' if len(numbers) > 5 else ''}), so some people would be missing. Fix: number the "
                         "parts 0, 1, ... in person_id order and collect the rows of every part.")
    for p in numbers:
        got = blocks[parts == p]
        if not np.array_equal(got, np.arange(len(got))):
            raise InputError(f"The frame given to fold_stats has blocks {got[:5].tolist()} for part {int(p)}; they "
                             "must be 0, 1, ... once each. Fix: pass each part's rows of stats_frame once.")
    out = []
    for row in frame.itertuples(index=False):
        columns = tuple(str(c) for c in row.columns)
        p = len(columns)
        xtwx = np.zeros((p, p))
        upper = np.asarray(row.xtwx, dtype=np.float64)
        if upper.shape != (p * (p + 1) // 2,):
            raise InputError(f"Part {row.part}, block {row.block} of the frame given to fold_stats has "
                             f"{upper.size} xtwx values for {p} columns (the upper triangle has "
                             f"{p * (p + 1) // 2}). Fix: pass the rows of stats_frame as it made them.")
        xtwx[np.triu_indices(p)] = upper
        roles = None if row.roles is None else tuple(str(r) for r in row.roles)
        out.append(SufficientStats(xtwx, np.asarray(row.xtwy, dtype=np.float64),
                                   np.asarray(row.xtw1, dtype=np.float64), np.asarray(row.moments, dtype=np.float64),
                                   columns, roles))
    return out


# ----------------------------------------------------------------------------------------------------------
# Dask: align people and records, then map and reduce
# ----------------------------------------------------------------------------------------------------------

def _with_id(frame):
    """Put ``person_id`` back as a column of a partition (Dask's alignment puts it in the index)."""
    if frame is None or "person_id" in frame.columns or frame.index.name != "person_id":
        return frame
    return frame.reset_index()


def _located(exc: CapitationError, where: str) -> CapitationError:
    """Make the same error class and parameter, its message prefixed with where in the data it arose."""
    try:
        return type(exc)(f"{where}: {exc}", parameter=exc.parameter)
    except TypeError:  # pragma: no cover - a subclass with another signature: keep it as it is
        return exc


def _blocks_task(people, diagnoses, conditions, *, spec, areas, groups, where):
    try:
        return block_stats(_with_id(people), _with_id(diagnoses), spec=spec, conditions=_with_id(conditions),
                           areas=areas, groups=groups)
    except CapitationError as exc:
        raise _located(exc, where) from exc


def _partial_task(people, diagnoses, conditions, *, spec, areas, groups, where):
    try:
        return partial_stats(_with_id(people), _with_id(diagnoses), spec=spec, conditions=_with_id(conditions),
                             areas=areas, groups=groups)
    except CapitationError as exc:
        raise _located(exc, where) from exc


def _score_task(people, diagnoses, conditions, *, model, spec, areas, groups, where):
    try:
        return score_partition(_with_id(people), _with_id(diagnoses), model=model, spec=spec,
                               conditions=_with_id(conditions), areas=areas, groups=groups)
    except CapitationError as exc:
        raise _located(exc, where) from exc


def _fold_task(running, blocks):
    """Add a partition's blocks into the running totals (``None`` before the first partition)."""
    return fold_stats(blocks if running is None else [running, *blocks])


def _sum_stats(*parts):
    return reduce(lambda a, b: a + b, parts)


def _people_summary(frame, level_columns):
    """Pass 1 over a people partition: size, first and last id, the first pair out of order, practice rows."""
    frame = _with_id(frame)
    ids = frame["person_id"].to_numpy()
    out = {"n": len(ids), "first": ids[0] if len(ids) else None, "last": ids[-1] if len(ids) else None,
           "bad": None, "levels": None}
    if len(ids) > 1:
        down = np.flatnonzero(~(ids[1:] > ids[:-1]))
        if len(down):
            out["bad"] = (ids[down[0]], ids[down[0] + 1])
    if level_columns:
        out["levels"] = frame[level_columns].drop_duplicates("practice_code")
    return out


def _records_summary(frame):
    """Pass 1 over a records partition: size, first, last, least and greatest id, whether sorted."""
    ids = _with_id(frame)["person_id"]
    if not len(ids):
        return {"n": 0}
    values = ids.to_numpy()
    return {"n": len(ids), "first": values[0], "last": values[-1], "min": ids.min(), "max": ids.max(),
            "sorted": bool(ids.is_monotonic_increasing)}


def _indexed(frame):
    """Move ``person_id`` into the index of a partition, as Dask's divisions describe it."""
    return frame.set_index("person_id")


def _ids_at(frame, positions):
    return _with_id(frame)["person_id"].to_numpy()[positions].tolist()


def _compute(dask, *objects):
    """``dask.compute``, with a file unreadable on a worker turned into the library's :class:`InputError`."""
    import pyarrow as pa

    try:
        return dask.compute(*objects)
    except CapitationError:
        raise
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"Reading a partition failed on a Dask worker: {exc}. Fix: the file named there is "
                         "truncated, corrupt or was written by an interrupted job; rewrite it.") from exc


def _shuffle_method(dask) -> str | None:
    """Choose the shuffle: Dask's default unless the scheduler in force is not the distributed client's.

    Dask picks ``p2p`` whenever a distributed client exists, even under ``dask.config.set(scheduler=
    "synchronous")``, where p2p cannot run; then ``"tasks"``, which any scheduler runs. A method set in
    Dask's configuration is left to Dask.
    """
    from dask.base import get_scheduler

    if dask.config.get("dataframe.shuffle.method", None) is not None:
        return None
    owner = getattr(get_scheduler(), "__self__", None)
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask without distributed
        return "tasks"
    return None if isinstance(owner, Client) else "tasks"


def _as_frame(dd, frame, name: str, table: str):
    """Return a Dask DataFrame (a pandas one becomes one partition) of the columns encoding reads.

    ``person_id`` is a column (it may come as the index); other columns are not read (Dask pushes the
    selection down to ``read_parquet``), as the streaming readers read only these.
    """
    if isinstance(frame, pd.DataFrame):
        frame = dd.from_pandas(frame, npartitions=1, sort=False)
    if not isinstance(frame, dd.DataFrame):
        raise InputError(f"The {name!r} parameter must be a Dask (or pandas) DataFrame. Got "
                         f"{type(frame).__name__}. Fix: e.g. dask.dataframe.read_parquet(folder).")
    if "person_id" not in frame.columns:
        if frame.index.name != "person_id":
            raise SchemaError(f"The {name!r} parameter has no 'person_id' column or index; it has "
                              f"{list(frame.columns)}. Fix: rename the column holding each person's id.")
        frame = frame.reset_index()
    return frame[[c for c in frame.columns if c in _COLUMNS[table]]]


def _id_kind(dtype) -> str | None:
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return "numbers"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "strings"
    return None  # object: decided per value by encode


def _check_rows(partition_rows, caller: str) -> None:
    if isinstance(partition_rows, (bool, np.bool_)) or not isinstance(partition_rows, (int, np.integer)) \
            or partition_rows < 1:
        raise InputError(f"The 'partition_rows' parameter of {caller} must be a positive integer. Got "
                         f"{partition_rows!r}. Fix: use a multiple of BLOCK_SIZE ({BLOCK_SIZE:,}), e.g. the "
                         f"default {DEFAULT_PARTITION_ROWS:,}, for a fit bit-identical to one machine's.")


def _encode_kwargs(kwargs: dict, caller: str) -> dict:
    unknown = sorted(set(kwargs) - set(_ENCODE_KWARGS))
    if unknown:
        raise InputError(f"{caller} got unexpected keyword argument(s) {unknown}. Fix: pass only "
                         f"{list(_ENCODE_KWARGS)}, as capitation.encode takes them.")
    return {k: kwargs.get(k) for k in _ENCODE_KWARGS}


class _Aligned:
    """People and their records cut on the same ``person_id`` divisions, as lists of Dask delayed parts."""

    def __init__(self, people, records: dict, cuts: list, spec: FeatureSpec):
        self.people = people
        self.records = records
        self.cuts = cuts
        self.spec = spec

    def __len__(self) -> int:
        return len(self.people)

    def parts(self, name: str) -> list:
        parts = self.records.get(name)
        return [None] * len(self) if parts is None else parts

    def where(self, k: int) -> str:
        return f"Dask partition {k + 1} of {len(self)} (people from person_id {_plain(self.cuts[k])!r})"


def _align(dask, dd, people, records: dict, *, partition_rows: int | None, spec: FeatureSpec, groups,
           caller: str) -> _Aligned:
    """Pass over the people and records (and, to cut on the grid, read the cut ids), then align them by Dask."""
    people = _as_frame(dd, people, "people_ddf", "people")
    records = {name: _as_frame(dd, frame, f"{name}_ddf" if name == "diagnoses" else name, name)
               for name, frame in records.items() if frame is not None}
    people_kind = _id_kind(people.dtypes["person_id"])
    for name, frame in records.items():
        kind = _id_kind(frame.dtypes["person_id"])
        if people_kind and kind and kind != people_kind:
            raise SchemaError(f"The {name!r} records' person_id are {kind} ({frame.dtypes['person_id']}) but the "
                              f"people's are {people_kind} ({people.dtypes['person_id']}), so no record would find "
                              f"its person. Fix: give both one type, e.g. {name}['person_id'].astype("
                              f"{'str' if people_kind == 'strings' else repr('int64')}).")
    learn = bool(spec.fixed_effects) and not spec.is_fitted
    level_columns = [c for c in _LEVEL_COLUMNS if c in people.columns] if learn else None
    # The partitions are taken once, as delayed objects, and every pass and the fit use those same ones: Dask
    # may fuse Parquet files into fewer partitions when it optimises a graph, differently for different
    # selections of columns, so partition k of one graph need not be partition k of another.
    people_parts = people.to_delayed()
    record_parts = {name: frame.to_delayed() for name, frame in records.items()}
    summaries = [dask.delayed(_people_summary)(p, level_columns) for p in people_parts]
    record_summaries = {name: [dask.delayed(_records_summary)(p) for p in parts]
                        for name, parts in record_parts.items()}
    summaries, record_summaries = _compute(dask, summaries, record_summaries)

    held = [j for j, s in enumerate(summaries) if s["n"]]
    if not held:
        raise InputError("The 'people_ddf' parameter has no people (every partition is empty). Fix: point to a "
                         "dataset with people in it.")
    fix = ("Fix: sort people by person_id, e.g. people_ddf.sort_values('person_id') (a Dask shuffle), or write "
           "them sorted as capitation.datasets.synthetic.write_synthetic_england does.")
    for j in held:
        if summaries[j]["bad"] is not None:
            a, b = summaries[j]["bad"]
            raise InputError(f"The 'people_ddf' parameter of {caller} is not sorted by increasing person_id: in "
                             f"partition {j + 1}, person_id {_plain(b)!r} follows {_plain(a)!r}. Distributed fits "
                             f"cut people on the same person_id grid as fit_parquet and need that order. {fix}")
    for i, j in itertools.pairwise(held):
        if not summaries[j]["first"] > summaries[i]["last"]:
            raise InputError(f"The 'people_ddf' parameter of {caller} is not sorted by increasing person_id across "
                             f"partitions: partition {j + 1} starts at person_id {_plain(summaries[j]['first'])!r}, "
                             f"not after the {_plain(summaries[i]['last'])!r} that ends partition {i + 1}. {fix}")
    if learn:
        spec = learn_levels(spec, pd.concat([summaries[j]["levels"] for j in held], ignore_index=True),
                            groups=groups)

    parts = [people_parts[j] for j in held]
    counts = np.array([summaries[j]["n"] for j in held])
    divisions = [summaries[j]["first"] for j in held] + [summaries[held[-1]]["last"]]
    cuts = divisions
    if partition_rows is not None:
        offsets = np.r_[0, np.cumsum(counts)]
        grid = np.arange(0, offsets[-1], partition_rows)
        inside = [grid[(grid >= offsets[k]) & (grid < offsets[k + 1])] - offsets[k] for k in range(len(parts))]
        picks = [dask.delayed(_ids_at)(parts[k], at) for k, at in enumerate(inside) if len(at)]
        cuts = [v for chunk in _compute(dask, *picks) for v in chunk] + [divisions[-1]]
    indexed = dd.from_delayed([dask.delayed(_indexed)(p) for p in parts], meta=_indexed(people._meta),
                              divisions=divisions, verify_meta=False)
    if cuts != divisions:  # Dask slices the people's partitions on the cuts and joins neighbours: no shuffle
        indexed = indexed.repartition(divisions=cuts)

    aligned = {}
    for name, frame in records.items():
        stats = record_summaries[name]
        full = [j for j, s in enumerate(stats) if s["n"]]
        if not full:  # no records at all: each partition gets the (empty) table
            aligned[name] = [_with_id(frame._meta)] * (len(cuts) - 1)
            continue
        lo = min(cuts[0], min(stats[j]["min"] for j in full))
        hi = max(cuts[-1], max(stats[j]["max"] for j in full))
        target = [lo, *cuts[1:-1], hi]  # widened, so a record beyond the people lands in an end partition
        held_parts = [record_parts[name][j] for j in full]
        ordered = all(stats[j]["sorted"] for j in full) and all(
            stats[j]["first"] > stats[i]["last"] for i, j in itertools.pairwise(full))
        if ordered:  # stored in person_id ranges already: slice and join neighbours, no shuffle
            own = [stats[j]["first"] for j in full] + [stats[full[-1]]["last"]]
            frame = dd.from_delayed([dask.delayed(_indexed)(p) for p in held_parts], meta=_indexed(frame._meta),
                                    divisions=own, verify_meta=False).repartition(divisions=target, force=True)
        else:  # Dask's shuffle onto the people's divisions
            frame = dd.from_delayed(held_parts, meta=frame._meta, verify_meta=False).set_index(
                "person_id", divisions=target, shuffle_method=_shuffle_method(dask))
        aligned[name] = frame.to_delayed()
    return _Aligned(indexed.to_delayed(), aligned, list(cuts), spec)


def fit_dask(spec: FeatureSpec, people_ddf, diagnoses_ddf=None, *, on_aliased: str = "raise",
             partition_rows: int = DEFAULT_PARTITION_ROWS, reduction: str = "exact", split_every: int = 8,
             **encode_kwargs) -> CostModel:
    """Fit on Dask DataFrames of people and their records, aligned by the library, reduced exactly.

    People and records may be read independently (``dd.read_parquet`` of each table): a first cheap pass
    learns the fixed-effect levels and the ``person_id`` at every ``partition_rows``-th person, and Dask
    moves people and records onto those divisions (see the module's description). With
    ``reduction="exact"`` the coefficients are bit-identical to
    ``capitation.stream.fit_parquet(..., batch_rows=partition_rows)`` on the same data, and so to the
    in-memory fit when ``partition_rows`` is a multiple of :data:`BLOCK_SIZE`, whatever the scheduler or
    the number of workers.

    Parameters
    ----------
    spec : FeatureSpec
        Fixed-effect levels not given are learned from the people (as in memory).
    people_ddf : dask.dataframe.DataFrame or pandas.DataFrame
        People with ``cost``, in increasing ``person_id`` order (partition after partition); ``person_id``
        as a column or as the index.
    diagnoses_ddf : dask.dataframe.DataFrame or pandas.DataFrame, optional
        Their diagnoses, partitioned any way.
    on_aliased : {"raise", "drop"}
        Checked before any partition is read.
    partition_rows : int, default ``8 * BLOCK_SIZE``
        People per partition of the fit (the last one shorter).
    reduction : {"exact", "tree"}
        ``"exact"``: block statistics folded in order (bit-identical, as above). ``"tree"``: partition
        statistics added in a tree of ``split_every`` (agrees to rounding).
    split_every : int
        Statistics added per node of the tree (``reduction="tree"``).
    **encode_kwargs
        ``conditions`` (a Dask or pandas DataFrame, aligned like the diagnoses), ``areas`` and ``groups``,
        as :func:`capitation.encode` takes them.

    Returns
    -------
    CostModel
        Fitted, with ``result_``, ``spec_`` (with the levels learned) and ``stats_`` set as by
        ``CostModel.fit``.

    Raises
    ------
    InputError
        A bad parameter (before any data is read); people not sorted by ``person_id``; no people.
    SchemaError
        No ``person_id`` or ``cost``; records whose ``person_id`` type differs from the people's.
    CapitationError
        Any error of the library raised on a worker, as its own class, the message naming the partition.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask
    >>> import dask.dataframe as dd
    >>> from capitation import FeatureSpec
    >>> from capitation.distributed import fit_dask
    >>> people = pd.DataFrame({"person_id": [1, 2, 3, 4], "practice_code": ["A81001"] * 4,
    ...                        "sex": ["F", "M", "F", "M"], "age": [30, 30, 80, 80],
    ...                        "lsoa_code": ["E01011959"] * 4, "cost": [100.0, 300.0, 900.0, 1100.0]})
    >>> parts = dd.from_pandas(people, npartitions=2)
    >>> with dask.config.set(scheduler="synchronous"):
    ...     model = fit_dask(FeatureSpec(diagnosis_grouping=None, age_bands=(0,)), parts, partition_rows=3)
    >>> model.coef_.round(2).tolist(), model.stats_.n
    ([500.0, 700.0], 4)
    """
    _check_params("fit_dask", on_aliased=on_aliased)
    _check_rows(partition_rows, "fit_dask")
    if reduction not in _REDUCTIONS:
        raise InputError(f"The 'reduction' parameter of fit_dask must be one of {list(_REDUCTIONS)}. Got "
                         f"{reduction!r}. Fix: 'exact' for bit-identical statistics, 'tree' for a tree of sums.")
    if isinstance(split_every, (bool, np.bool_)) or not isinstance(split_every, (int, np.integer)) \
            or split_every < 2:
        raise InputError(f"The 'split_every' parameter of fit_dask must be an integer of at least 2. Got "
                         f"{split_every!r}. Fix: e.g. split_every=8.")
    kwargs = _encode_kwargs(encode_kwargs, "fit_dask")
    dask, dd = _dask()
    if isinstance(people_ddf, (pd.DataFrame, dd.DataFrame)) and "cost" not in people_ddf.columns:
        raise SchemaError(f"The 'people_ddf' parameter of fit_dask has no 'cost' column to fit on; it has "
                          f"{list(people_ddf.columns)}. Fix: add the outcome-year cost of each person.")
    aligned = _align(dask, dd, people_ddf, {"diagnoses": diagnoses_ddf, "conditions": kwargs["conditions"]},
                     partition_rows=int(partition_rows), spec=spec, groups=kwargs["groups"], caller="fit_dask")
    spec = aligned.spec
    token = uuid.uuid4().hex[:16]
    shared = {"spec": dask.delayed(spec, name=f"capitation-spec-{token}", traverse=False),
              "areas": None if kwargs["areas"] is None else dask.delayed(kwargs["areas"],
                                                                          name=f"capitation-areas-{token}",
                                                                          traverse=False),
              "groups": None if kwargs["groups"] is None else dask.delayed(kwargs["groups"],
                                                                            name=f"capitation-groups-{token}",
                                                                            traverse=False)}
    triples = zip(aligned.people, aligned.parts("diagnoses"), aligned.parts("conditions"), strict=True)
    if reduction == "exact":
        running = None
        for k, (p, d, c) in enumerate(triples):
            blocks = dask.delayed(_blocks_task)(p, d, c, **shared, where=aligned.where(k),
                                                dask_key_name=f"capitation-blocks-{token}-{k}")
            running = dask.delayed(_fold_task)(running, blocks, dask_key_name=f"capitation-fold-{token}-{k}")
        (stats,) = _compute(dask, running)
    else:
        parts = [dask.delayed(_partial_task)(p, d, c, **shared, where=aligned.where(k),
                                             dask_key_name=f"capitation-partial-{token}-{k}")
                 for k, (p, d, c) in enumerate(triples)]
        while len(parts) > 1:  # a tree: log(n) rounds of adding up to split_every statistics
            parts = [dask.delayed(_sum_stats)(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
        (stats,) = _compute(dask, parts[0])
    return model_from_stats(stats, spec, on_aliased=on_aliased)


def score_dask(model: CostModel, spec: FeatureSpec, people_ddf, diagnoses_ddf=None, **encode_kwargs):
    """Per-person need as a Dask DataFrame (lazy), the records aligned to the people's partitions.

    A first pass over the people's ``person_id`` (and the records') runs now, to find the divisions the
    records are moved onto (see the module's description); the scoring itself is lazy. People keep their
    partitions.

    Parameters
    ----------
    model : CostModel
        Fitted.
    spec : FeatureSpec
        The fitted spec of the model (``model.spec_``), with its fixed-effect levels.
    people_ddf : dask.dataframe.DataFrame or pandas.DataFrame
        People in increasing ``person_id`` order.
    diagnoses_ddf : dask.dataframe.DataFrame or pandas.DataFrame, optional
        Their diagnoses, partitioned any way.
    **encode_kwargs
        ``conditions`` (aligned like the diagnoses), ``areas``, ``groups``, as :func:`capitation.encode`
        takes them.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; columns and dtypes as :data:`SCORE_META`, people in the order given.

    Raises
    ------
    InputError
        The spec's fixed effects have no levels; people not sorted by ``person_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask
    >>> import dask.dataframe as dd
    >>> from capitation import CostModel, FeatureSpec, encode
    >>> from capitation.distributed import score_dask
    >>> people = pd.DataFrame({"person_id": [1, 2, 3, 4], "practice_code": ["A81001"] * 4,
    ...                        "sex": ["F", "M", "F", "M"], "age": [30, 30, 80, 80],
    ...                        "lsoa_code": ["E01011959"] * 4, "cost": [100.0, 300.0, 900.0, 1100.0]})
    >>> spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0,))
    >>> model = CostModel().fit(encode(spec, people), people["cost"])
    >>> with dask.config.set(scheduler="synchronous"):
    ...     score_dask(model, spec, dd.from_pandas(people, npartitions=2)).compute()["need"].round(2).tolist()
    [500.0, 700.0, 500.0, 700.0]
    """
    _needs_levels(spec, "score_dask")
    kwargs = _encode_kwargs(encode_kwargs, "score_dask")
    dask, dd = _dask()
    aligned = _align(dask, dd, people_ddf, {"diagnoses": diagnoses_ddf, "conditions": kwargs["conditions"]},
                     partition_rows=None, spec=spec, groups=kwargs["groups"], caller="score_dask")
    token = uuid.uuid4().hex[:16]
    shared = {name: None if value is None else dask.delayed(value, name=f"capitation-{name}-{token}",
                                                             traverse=False)
              for name, value in (("model", model), ("spec", spec), ("areas", kwargs["areas"]),
                                  ("groups", kwargs["groups"]))}
    parts = [dask.delayed(_score_task)(p, d, c, **shared, where=aligned.where(k),
                                       dask_key_name=f"capitation-score-{token}-{k}")
             for k, (p, d, c) in enumerate(zip(aligned.people, aligned.parts("diagnoses"),
                                               aligned.parts("conditions"), strict=True))]
    return dd.from_delayed(parts, meta=SCORE_META, verify_meta=False)
