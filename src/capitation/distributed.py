"""Beyond one machine: the pipeline's partition functions for Dask (and Spark's ``mapInPandas``).

The heavy steps are pure functions of one partition:

* :func:`partial_stats` — a partition's additive sufficient statistics (reduce by ``+``, in a tree);
* :func:`score_partition` — each person's predicted need (map).

Engines only move partitions; budgets are then set from exact integer practice totals, so they do not
depend on how the data were partitioned. Dask is an optional extra (``pip install "capitation[dask]"``).

Spark recipe (the same functions; no Spark code ships here)::

    from capitation.distributed import score_partition, SCORE_SCHEMA_DDL
    scored = people_sdf.mapInPandas(
        lambda frames: (score_partition(f, None, model=model, spec=spec) for f in frames), SCORE_SCHEMA_DDL)
"""

from __future__ import annotations

from functools import reduce

import pandas as pd

from .errors import InputError, MissingDependencyError
from .features.spec import FeatureSpec, encode
from .inputs import Population
from .model.estimator import CostModel, _check_params
from .model.ols import result_from_stats
from .model.stats import SufficientStats

__all__ = ["SCORE_META", "SCORE_SCHEMA_DDL", "fit_dask", "partial_stats", "score_dask", "score_partition"]

def _score_frame(person_id, practice_code, need) -> pd.DataFrame:
    """Build the output of :func:`score_partition`; also its empty ``meta``, so dtypes always agree."""
    return pd.DataFrame({"person_id": pd.array(person_id, dtype="int64"),
                         "practice_code": pd.Series(list(practice_code), dtype=object).astype(str),
                         "need": pd.array(need, dtype="float64")})


#: Columns and dtypes of :func:`score_partition`'s output (Dask's ``meta``).
SCORE_META = _score_frame([], [], [])
#: The same as a Spark DDL schema string.
SCORE_SCHEMA_DDL = "person_id long, practice_code string, need double"


def _dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("Dask is an optional extra, not installed. "
                                     'Fix: pip install "capitation[dask]"') from exc
    return dask, dd


def partial_stats(people: pd.DataFrame, diagnoses: pd.DataFrame | None = None, *, spec: FeatureSpec,
                  conditions: pd.DataFrame | None = None, areas=None, groups=None) -> SufficientStats:
    """Sufficient statistics of one partition of people (with their records), for a tree reduction.

    Annual cost ``cost / exposure`` is weighted by ``exposure``, as in :func:`capitation.stream.fit_parquet`.

    Parameters
    ----------
    people : pandas.DataFrame
        One partition of people, with ``cost`` (and ``exposure``, else a full year each).
    diagnoses, conditions : pandas.DataFrame, optional
        The records of those people.
    spec : FeatureSpec
        The same spec for every partition.
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
    pop = Population.from_frame(people, outcome_year=spec.outcome_year)
    if pop.cost is None:
        raise InputError("partial_stats needs a 'cost' column in each people partition. Fix: add the outcome cost.")
    X = encode(spec, pop, diagnoses=diagnoses, conditions=conditions, areas=areas, groups=groups)
    return SufficientStats.from_design(X, pop.cost / pop.exposure, pop.exposure)


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


def _pairs(people_ddf, diagnoses_ddf):
    people_parts = people_ddf.to_delayed()
    if diagnoses_ddf is None:
        return [(p, None) for p in people_parts]
    dx_parts = diagnoses_ddf.to_delayed()
    if len(dx_parts) != len(people_parts):
        raise InputError(f"The people and diagnoses Dask frames have {len(people_parts)} and {len(dx_parts)} "
                         "partitions. Fix: partition both the same way (e.g. by practice or person_id range), so "
                         "each partition of diagnoses belongs to the people of the same partition.")
    return list(zip(people_parts, dx_parts, strict=True))


def fit_dask(spec: FeatureSpec, people_ddf, diagnoses_ddf=None, *, on_aliased: str = "raise",
             split_every: int = 8, **encode_kwargs) -> CostModel:
    """Fit on Dask DataFrames by a tree reduction of partial sufficient statistics.

    Partition *k* of ``diagnoses_ddf`` must hold the records of the people in partition *k* of
    ``people_ddf``. The result equals a single-machine fit to floating-point rounding (tested to 1e-9).

    Parameters
    ----------
    spec : FeatureSpec
        With its fixed-effect levels fixed, if it has fixed effects.
    people_ddf, diagnoses_ddf : dask.dataframe.DataFrame
        People (with ``cost``) and their diagnoses, partitioned alike.
    on_aliased : {"raise", "drop"}
        Checked before any partition is read.
    split_every : int
        Statistics added per node of the reduction tree.
    **encode_kwargs
        ``conditions``, ``areas``, ``groups``, as :func:`capitation.encode` takes them.

    Returns
    -------
    CostModel
        Fitted, with ``result_``, ``spec_`` and ``stats_`` set as by ``CostModel.fit``.

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
    >>> parts = dd.from_delayed([dask.delayed(people.iloc[:2]), dask.delayed(people.iloc[2:])], meta=people.head(0))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     model = fit_dask(FeatureSpec(diagnosis_grouping=None, age_bands=(0,)), parts)
    >>> model.coef_.round(2).tolist(), model.stats_.n
    ([500.0, 700.0], 4)
    """
    _check_params("fit_dask", on_aliased=on_aliased)
    dask, _ = _dask()
    if spec.fixed_effects and not spec.is_fitted:
        raise InputError("Fix the fixed-effect levels before a distributed fit: FeatureSpec(levels=...).")
    parts = [dask.delayed(partial_stats)(p, d, spec=spec, **encode_kwargs) for p, d in _pairs(people_ddf,
                                                                                              diagnoses_ddf)]
    while len(parts) > 1:  # a tree: log(n) rounds of adding up to split_every statistics
        parts = [dask.delayed(lambda *s: reduce(lambda a, b: a + b, s))(*parts[i:i + split_every])
                 for i in range(0, len(parts), split_every)]
    stats = parts[0].compute()
    return CostModel.from_result(result_from_stats(stats, on_aliased=on_aliased), spec=spec, stats=stats,
                                 on_aliased=on_aliased)


def score_dask(model: CostModel, spec: FeatureSpec, people_ddf, diagnoses_ddf=None, **encode_kwargs):
    """Per-person need as a Dask DataFrame (lazy), partition by partition.

    Parameters
    ----------
    model : CostModel
        Fitted.
    spec : FeatureSpec
        The fitted spec of the model.
    people_ddf, diagnoses_ddf : dask.dataframe.DataFrame
        People and their diagnoses, partitioned alike.
    **encode_kwargs
        ``conditions``, ``areas``, ``groups``, as :func:`capitation.encode` takes them.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; columns and dtypes as :data:`SCORE_META`.

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
    >>> parts = dd.from_delayed([dask.delayed(people.iloc[:2]), dask.delayed(people.iloc[2:])], meta=people.head(0))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     score_dask(model, spec, parts).compute()["need"].round(2).tolist()
    [500.0, 700.0, 500.0, 700.0]
    """
    dask, dd = _dask()
    parts = [dask.delayed(score_partition)(p, d, model=model, spec=spec, **encode_kwargs)
             for p, d in _pairs(people_ddf, diagnoses_ddf)]
    return dd.from_delayed(parts, meta=SCORE_META)


