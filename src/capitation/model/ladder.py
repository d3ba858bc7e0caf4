"""The PBRA model ladder (Dixon et al., BMJ 2011, Table 1), reproduced on any population.

Five models, each adding to the one before: (1) age–sex; (2) + diagnoses; (3) + area fixed effects (PCTs
then, ICBs here); (4) + all need and supply variables; (5) parsimonious: area effects and a few need and
supply variables. As in the paper, each is fitted on an estimation sample of people, checked on a second
sample of people (validation 1), and checked at practice level on practices held out whole (validation 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import InputError
from ..features.encode import encode
from ..features.spec import FeatureSpec
from ..inputs import Population
from .estimator import CostModel
from .validation import split_people, split_practices, validate

__all__ = ["PUBLISHED_LADDER", "LadderResult", "pbra_ladder"]

#: BMJ 2011;343:d6608, Table 1: R² in the estimation sample, validation sample 1 (people) and at practice
#: level (validation sample 2, 797 practices).
PUBLISHED_LADDER = pd.DataFrame(
    {"published_r2_estimation": [0.0373, 0.1264, 0.1268, 0.1272, 0.1272],
     "published_r2_validation": [0.0366, 0.1223, 0.1227, 0.1230, 0.1229],
     "published_r2_practice": [0.3444, 0.6084, 0.7437, 0.7851, 0.7735]},
    index=pd.Index(["1 age-sex", "2 + diagnoses", "3 + area effects", "4 + needs and supply", "5 parsimonious"],
                   name="model"))

ALL_NEED = ("imd_score", "income", "employment", "education", "health", "crime", "barriers", "environment",
            "idaci", "idaopi")


@dataclass(frozen=True, eq=False)
class LadderResult:
    """The ladder's fit statistics beside the published ones.

    Attributes
    ----------
    table : pandas.DataFrame
        Per model: columns, people in each sample, R² in estimation, validation 1 and at practice level, the
        share of held-out practices off by 10% or more, and the published figures.
    models : dict
        The fitted :class:`CostModel` of each rung.
    """

    table: pd.DataFrame
    models: dict

    def to_frame(self) -> pd.DataFrame:
        """The ladder table."""
        return self.table.copy()

    def summary(self) -> str:
        """The ladder as text, ours beside the BMJ's."""
        cols = ["columns", "r2_estimation", "r2_validation", "r2_practice", "share_practices_off_10pct",
                "published_r2_estimation", "published_r2_validation", "published_r2_practice"]
        return "PBRA model ladder (ours vs BMJ 2011 Table 1)\n" + self.table[cols].to_string(
            float_format=lambda v: f"{v:.4f}")

    def plot(self, **kwargs):
        """The ladder beside the published figures (a matplotlib Figure)."""
        from ..report import model_ladder

        return model_ladder(self.table, **kwargs)

    def __repr__(self) -> str:
        return self.summary()


def pbra_ladder(people, diagnoses, areas, *, outcome_year: str, icb=None, need=ALL_NEED,
                supply=("distance_acute_km", "acute_beds_per_1000"), parsimonious_need=("income", "idaopi", "health"),
                held_out_practices: float = 0.15, seed: int = 0) -> LadderResult:
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
    held_out_practices : float
        Share of practices held out whole for practice-level validation (BMJ: 797 practices).
    seed : int
        Seed of both splits.

    Returns
    -------
    LadderResult

    Notes
    -----
    Practice-level R² compares per-capita costs over whole lists, so it needs practices generated at full
    size: a 1% sample leaves about 95 people per practice, whose mean cost is mostly noise.
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
    rest, held = split_practices(pop.practice_code, held_out_practices, seed=seed)
    estimation, validation = (rest[i] for i in split_people(len(rest), 0.5, seed=seed))
    rungs = {
        "1 age-sex": FeatureSpec(diagnosis_grouping=None, outcome_year=outcome_year),
        "2 + diagnoses": FeatureSpec(outcome_year=outcome_year),
        "3 + area effects": FeatureSpec(outcome_year=outcome_year, fixed_effects=("icb",)),
        "4 + needs and supply": FeatureSpec(outcome_year=outcome_year, fixed_effects=("icb",), need=tuple(need),
                                            supply=tuple(supply)),
        "5 parsimonious": FeatureSpec(outcome_year=outcome_year, fixed_effects=("icb",),
                                      need=tuple(parsimonious_need), supply=tuple(supply)),
    }
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


