"""The PBRA model ladder (Dixon et al., BMJ 2011, Table 1), reproduced on any population.

Five models, each adding to the one before: (1) age–sex; (2) + diagnoses; (3) + area fixed effects (PCTs
then, ICBs here); (4) + all need and supply variables; (5) parsimonious: area effects and a few need and
supply variables. As in the paper, each is fitted on an estimation sample of people, checked on a second
sample of people (validation 1), and checked at practice level on practices held out whole (validation 2).

The rungs are defined once, by :func:`ladder_specs`; :func:`pbra_ladder` and the finance committee's report
(:func:`capitation.report.committee.committee_report`) both climb them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
from ..features.spec import FeatureSpec, encode
from ..inputs import Population
from .estimator import CostModel
from .validation import split_people, split_practices, validate

__all__ = ["ALL_NEED", "PARSIMONIOUS_NEED", "PUBLISHED_LADDER", "RUNGS", "SUPPLY", "LadderResult", "LadderRung",
           "ladder_specs", "pbra_ladder"]

#: BMJ 2011;343:d6608, Table 1: R² in the estimation sample, validation sample 1 (people) and at practice
#: level (validation sample 2, 797 practices).
PUBLISHED_LADDER = pd.DataFrame(
    {"published_r2_estimation": [0.0373, 0.1264, 0.1268, 0.1272, 0.1272],
     "published_r2_validation": [0.0366, 0.1223, 0.1227, 0.1230, 0.1229],
     "published_r2_practice": [0.3444, 0.6084, 0.7437, 0.7851, 0.7735]},
    index=pd.Index(["1 age-sex", "2 + diagnoses", "3 + area effects", "4 + needs and supply", "5 parsimonious"],
                   name="model"))

#: Area need variables of model 4 (all of them), of model 5 (the parsimonious few) and the supply variables
#: of both (neutralised when predicting need), as columns of synthetic England's areas table.
ALL_NEED = ("imd_score", "income", "employment", "education", "health", "crime", "barriers", "environment",
            "idaci", "idaopi")
PARSIMONIOUS_NEED = ("income", "idaopi", "health")
SUPPLY = ("distance_acute_km", "acute_beds_per_1000")

#: The rungs in ladder order: key → (name in the committee report, name in BMJ 2011 Table 1). GP-recorded
#: conditions were not in the paper's ladder.
RUNGS = {
    "age_sex": ("Age–sex", "1 age-sex"),
    "diagnoses": ("+ diagnoses", "2 + diagnoses"),
    "area_effects": ("+ ICB effects", "3 + area effects"),
    "need_supply": ("Full: + all need, supply", "4 + needs and supply"),
    "parsimonious": ("Parsimonious need, supply", "5 parsimonious"),
    "conditions": ("+ GP-recorded conditions", None),
}


class LadderRung(NamedTuple):
    """One model of the ladder: its key in :data:`RUNGS`, its name and its feature spec.

    Attributes
    ----------
    key : str
        The rung's key in :data:`RUNGS` (``"age_sex"``, ``"diagnoses"``, ...).
    name : str
        Its name in the committee report (``"Age–sex"``, ``"+ diagnoses"``, ...).
    spec : FeatureSpec
        The design of its model.

    Examples
    --------
    >>> rung = ladder_specs("2025/26")[1]
    >>> rung.key, rung.name, rung.published
    ('diagnoses', '+ diagnoses', '2 + diagnoses')
    """

    key: str
    name: str
    spec: FeatureSpec

    @property
    def published(self) -> str | None:
        """The rung's name in BMJ 2011 Table 1 (the index of :data:`PUBLISHED_LADDER`), or ``None``."""
        return RUNGS[self.key][1]


def ladder_specs(year, *, diagnoses: bool = True, fixed_effects: bool = True, need_full=(), need=(), supply=(),
                 conditions=(), keep_repeats: bool = False) -> list[LadderRung]:
    """Define the PBRA ladder's rungs, each a :class:`FeatureSpec` adding to the one before.

    Age–sex; + diagnoses; + area fixed effects (``"icb"``, given to :func:`encode` as ``groups={"icb": ...}``);
    + all need variables and the supply variables; the parsimonious need variables with the supply variables;
    + GP-recorded conditions (on the last of those).

    Parameters
    ----------
    year : str or None
        The outcome year of every spec (diagnoses of the two years before it count).
    diagnoses : bool
        Whether there are diagnoses: without them every rung builds on the age–sex cells.
    fixed_effects : bool
        Whether the rungs from the third on have area fixed effects.
    need_full, need, supply : sequence of str
        Area variables: the full model's need, the parsimonious model's need, and the supply of both.
    conditions : sequence of str
        GP registers of the last rung; none leaves it out.
    keep_repeats : bool
        Keep the five rungs of BMJ 2011 even where one adds nothing to the one before (no diagnoses, no fixed
        effects, no area variables, the same need in the full and parsimonious models). By default such a
        rung is left out, so that each rung the data can support is fitted once.

    Returns
    -------
    list of LadderRung
        ``(key, name, spec)`` in ladder order.

    Examples
    --------
    >>> rungs = ladder_specs("2025/26", need_full=ALL_NEED, need=PARSIMONIOUS_NEED, supply=SUPPLY)
    >>> [r.name for r in rungs]
    ['Age–sex', '+ diagnoses', '+ ICB effects', 'Full: + all need, supply', 'Parsimonious need, supply']
    >>> rungs[-1].spec.need, rungs[-1].spec.fixed_effects
    (('income', 'idaopi', 'health'), ('icb',))
    >>> [r.name for r in ladder_specs("2025/26", diagnoses=False, fixed_effects=False)]
    ['Age–sex']
    """
    need_full, need, supply, conditions = (tuple(v) for v in (need_full, need, supply, conditions))
    age_sex = FeatureSpec(outcome_year=year, diagnosis_grouping=None)
    rungs = [LadderRung("age_sex", RUNGS["age_sex"][0], age_sex)]

    def add(key: str, spec: FeatureSpec, wanted: bool) -> None:
        if wanted or keep_repeats:
            rungs.append(LadderRung(key, RUNGS[key][0], spec))

    base = FeatureSpec(outcome_year=year) if diagnoses else age_sex
    add("diagnoses", base, diagnoses)
    effects = ("icb",) if fixed_effects else ()
    add("area_effects", dataclasses.replace(base, fixed_effects=effects), fixed_effects)
    add("need_supply", dataclasses.replace(base, fixed_effects=effects, need=need_full, supply=supply),
        bool(need_full or supply))
    add("parsimonious", dataclasses.replace(base, fixed_effects=effects, need=need, supply=supply),
        bool(need) and need != need_full)
    if conditions:
        add("conditions", dataclasses.replace(rungs[-1].spec, conditions=conditions), True)
    return rungs


@dataclass(frozen=True, eq=False, repr=False)
class LadderResult(Result):
    """The ladder's fit statistics beside the published ones.

    Attributes
    ----------
    table : pandas.DataFrame
        Per model: columns, people in each sample, R² in estimation, validation 1 and at practice level, the
        share of held-out practices off by 10% or more, and the published figures (:meth:`to_frame` copies it;
        :func:`capitation.report.model_ladder` draws it).
    models : dict
        The fitted :class:`CostModel` of each rung.
    provenance : Provenance
        The library version that fitted it.

    Examples
    --------
    >>> import pandas as pd
    >>> ours = pd.DataFrame({"columns": [38], "r2_estimation": [0.04], "r2_validation": [0.04], "r2_practice": [0.3],
    ...                      "share_practices_off_10pct": [0.6]}, index=pd.Index(["1 age-sex"], name="model"))
    >>> LadderResult(ours.join(PUBLISHED_LADDER), {})
    LadderResult(PBRA model ladder (ours vs BMJ 2011 Table 1))
    """

    table: pd.DataFrame
    models: dict

    def summary(self) -> str:
        """Describe the ladder as text, ours beside the BMJ's.

        Returns
        -------
        str
            A headline, then one row per model.

        Examples
        --------
        >>> import pandas as pd
        >>> ours = pd.DataFrame({"columns": [38], "r2_estimation": [0.04], "r2_validation": [0.04],
        ...                      "r2_practice": [0.3], "share_practices_off_10pct": [0.6]},
        ...                     index=pd.Index(["1 age-sex"], name="model"))
        >>> LadderResult(ours.join(PUBLISHED_LADDER), {}).summary().splitlines()[-1].split()[:4]
        ['1', 'age-sex', '38', '0.0400']
        """
        cols = ["columns", "r2_estimation", "r2_validation", "r2_practice", "share_practices_off_10pct",
                "published_r2_estimation", "published_r2_validation", "published_r2_practice"]
        return "PBRA model ladder (ours vs BMJ 2011 Table 1)\n" + self.table[cols].to_string(
            float_format=lambda v: f"{v:.4f}")

    def _frame(self) -> pd.DataFrame:
        return self.table


def _held_out(practice_code, held_out_practices, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of people on the practices kept for estimation, and on those held out whole."""
    what = "The 'held_out_practices' parameter of pbra_ladder"
    if isinstance(held_out_practices, (int, float, np.integer, np.floating)) and not isinstance(
            held_out_practices, bool):
        share = float(held_out_practices)
        if not 0 < share < 1:
            raise InputError(f"{what} must be a share of practices between 0 and 1, or practice codes. Got "
                             f"{held_out_practices!r}. Fix: e.g. held_out_practices=0.15 (BMJ 2011 held out 797 "
                             "practices whole).", parameter="held_out_practices")
        return split_practices(practice_code, share, seed=seed)
    if isinstance(held_out_practices, str):
        held_out_practices = [held_out_practices]
    named = pd.Index(pd.unique(np.asarray(list(held_out_practices), dtype=object)))
    codes = pd.Index(pd.unique(np.asarray(practice_code, dtype=object)))
    if not len(named):
        raise InputError(f"{what} names no practice. Got []. Fix: pass a share, or some practice codes.",
                         parameter="held_out_practices")
    unknown = named.difference(codes)
    if len(unknown):
        raise InputError(f"{what} names {len(unknown)} of its {len(named)} practices with nobody in people, e.g. "
                         f"{list(unknown[:3])}. Fix: hold out practices with people on their registered lists.",
                         parameter="held_out_practices")
    if len(named) == len(codes):
        raise InputError(f"{what} names every practice ({len(named)}), leaving no one to estimate on. Fix: keep "
                         "some practices for estimation.", parameter="held_out_practices")
    out = np.asarray(named.get_indexer(np.asarray(practice_code, dtype=object)) >= 0)
    return np.flatnonzero(~out), np.flatnonzero(out)


def pbra_ladder(people, diagnoses, areas, *, outcome_year: str, icb=None, need=ALL_NEED, supply=SUPPLY,
                parsimonious_need=PARSIMONIOUS_NEED, held_out_practices=0.15, seed: int = 0) -> LadderResult:
    """Fit and validate the five PBRA models on one population.

    Parameters
    ----------
    people, diagnoses, areas : pandas.DataFrame
        The population (with ``cost``), its hospital diagnoses and LSOA attributes (``need`` and
        ``supply`` columns), e.g. from :func:`capitation.datasets.synthetic.synthetic_england`.
    outcome_year : str
        The year whose cost is predicted; diagnoses of the two years before count.
    icb : pandas.Series, optional
        Area of each practice for the fixed effects (by practice code); ``people['icb_code']`` by default.
    need, supply : tuple of str
        Area variables of model 4.
    parsimonious_need : tuple of str
        Need variables of model 5 (with all ``supply`` variables and the area effects).
    held_out_practices : float or sequence of str
        Practices held out whole for practice-level validation (BMJ: 797 practices): a share of them, drawn
        with ``seed``, or their practice codes (a fixed design, e.g. BMJ 2011's at PBRA-era list sizes in
        ``benchmarks/bench_synthetic.py realism --design pbra``).
    seed : int
        Seed of both splits (of the people only, when the held-out practices are named).

    Returns
    -------
    LadderResult
        One row per model, in the order of BMJ 2011 Table 1, beside the published figures; and each fitted
        model.

    Notes
    -----
    Practice-level R² compares per-capita costs over whole lists, so it needs practices generated at full
    size: a 1% sample leaves about 95 people per practice, whose mean cost is mostly noise.

    Examples
    --------
    A small made-up population, without diagnoses, on eight practices in two ICBs and three areas (so the
    R² are small, and at practice level on the two held-out practices they mean little):

    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"person_id": np.arange(2_000), "practice_code": rng.choice(
    ...     [f"A8100{k}" for k in range(1, 9)], 2_000), "sex": rng.choice(["F", "M"], 2_000),
    ...     "age": rng.integers(0, 95, 2_000), "lsoa_code": rng.choice(["E01000001", "E01000002", "E01000003"],
    ...     2_000), "cost": rng.gamma(0.5, 900, 2_000)})
    >>> people["icb_code"] = np.where(people["practice_code"] < "A81005", "QE1", "QOC")
    >>> areas = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002", "E01000003"], "income": [0.1, 0.2, 0.3],
    ...                       "health": [0.5, -0.2, 1.0], "distance_acute_km": [2.0, 5.0, 9.0]})
    >>> ladder = pbra_ladder(people, None, areas, outcome_year="2025/26", need=("income", "health"),
    ...                      parsimonious_need=("income",), supply=("distance_acute_km",), held_out_practices=0.25)
    >>> table = ladder.to_frame()
    >>> list(table.index) == list(PUBLISHED_LADDER.index), table["practices_held_out"].tolist()
    (True, [2, 2, 2, 2, 2])
    >>> bool(table["r2_estimation"].is_monotonic_increasing)
    True
    """
    frame = people
    if icb is None:
        if "icb_code" not in frame.columns:
            raise InputError("pbra_ladder needs each practice's area for the fixed effects. Fix: pass icb=Series "
                             "indexed by practice code, or an 'icb_code' column in people.")
        icb = frame.drop_duplicates("practice_code").set_index("practice_code")["icb_code"]
    pop = Population.from_frame(frame, outcome_year=outcome_year)
    if pop.cost is None:
        raise InputError("pbra_ladder needs a 'cost' column in people. Fix: add the outcome-year cost.")
    y = pop.cost / pop.exposure
    w = pop.exposure
    rest, held = _held_out(pop.practice_code, held_out_practices, seed)
    estimation, validation = (rest[i] for i in split_people(len(rest), 0.5, seed=seed))
    rungs = {rung.published: rung.spec
             for rung in ladder_specs(outcome_year, need_full=need, need=parsimonious_need, supply=supply,
                                      keep_repeats=True)}
    rows, models = [], {}
    for name, spec in rungs.items():
        X = encode(spec, pop, diagnoses=diagnoses if spec.diagnosis_grouping is not None else None,
                   areas=areas if (spec.need or spec.supply) else None, groups={"icb": icb})
        model = CostModel(on_aliased="drop").fit(X.take(estimation), y[estimation], sample_weight=w[estimation])
        predicted = model.predict(X)
        valid = validate(predicted[validation], y[validation], w[validation],
                         practice_code=pop.practice_code[validation])
        practice = validate(predicted[held], y[held], w[held], practice_code=pop.practice_code[held])
        models[name] = model
        rows.append({"model": name, "columns": X.n_columns,
                     "people_estimation": len(estimation), "people_validation": len(validation),
                     "practices_held_out": practice.metrics["practices"],
                     "r2_estimation": model.result_.rsquared, "r2_validation": valid.metrics["person_r2"],
                     "r2_practice": practice.metrics["practice_r2"],
                     "share_practices_off_10pct": practice.metrics["share_practices_off_10pct"]})
    table = pd.DataFrame(rows).set_index("model").join(PUBLISHED_LADDER)
    return LadderResult(table, models)


