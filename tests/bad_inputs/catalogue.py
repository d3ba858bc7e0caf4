"""The bad-input catalogue: one row per distinct bad input, across every public entry point.

Each :class:`Case` builds one bad call and says what must come back: the exception type, and fragments of
the message naming the parameter (or table), the column or row, the value received and the fix. The
catalogue is a plain list so that ``docs/reliability.md`` can be checked against it (count and ids).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import capitation as cp
from capitation.errors import (
    DesignError,
    InputError,
    ModelFileError,
    SchemaError,
    UnknownCodeError,
    UnseenCategoryError,
)
from helpers import make_membership, make_people

FIX = "Fix:"


@dataclass(frozen=True)
class Case:
    """One bad input: how to make the call, and what its error must say."""

    id: str
    entry: str  # the public entry point called
    call: Callable[[], object]
    error: type[Exception]
    parameter: str  # the parameter or table named
    where: str | None  # the column or row named (None for scalar parameters)
    value: str | None  # the offending value as written in the message
    fix: str = FIX

    def fragments(self) -> dict[str, str]:
        parts = {"parameter": self.parameter, "where": self.where, "value": self.value, "fix": self.fix}
        return {k: v for k, v in parts.items() if v is not None}


# -- small, valid building blocks; each case spoils one thing --------------------------------------------

SPEC = cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 40, 80))


def people(n: int = 40) -> pd.DataFrame:
    return make_people(n, n_practices=4, seed=1)


def copy_row(source: int, target: int, **changes) -> pd.DataFrame:
    """People with row ``target`` given row ``source``'s person_id (and practice, unless changed)."""
    frame = people()
    frame.loc[target, ["person_id", "practice_code"]] = frame.loc[source, ["person_id", "practice_code"]]
    for column, value in changes.items():
        frame.loc[target, column] = value
    return frame


def spoil(column: str, value, row: int = 3, dtype=None) -> pd.DataFrame:
    frame = people()
    if dtype is not None:
        frame[column] = frame[column].astype(dtype)
    frame.loc[row, column] = value
    return frame


@functools.lru_cache(maxsize=1)
def fitted():
    pop = cp.Population.from_frame(people(200))
    X = cp.encode(SPEC, pop)
    return pop, X, cp.CostModel().fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)


def unspecified_model() -> cp.CostModel:
    """A model fitted on a plain array: it has no FeatureSpec to encode new data with."""
    pop, X, _ = fitted()
    return cp.CostModel().fit(X.toarray(), pop.cost / pop.exposure, sample_weight=pop.exposure)


def membership(drop: int = 0) -> cp.Membership:
    table = make_membership(people()["practice_code"].unique(), n_groups=2)
    return cp.Membership.from_frame(table.iloc[drop:])


def need_series(values, registered=None):
    codes = [f"B{k:05d}" for k in range(1, len(values) + 1)]
    need = pd.Series(values, index=codes, dtype=float)
    reg = pd.Series(registered if registered is not None else [100] * len(values), index=codes)
    return need, reg


def allocate_series(values, registered=None, total=1_000):
    need, reg = need_series(values, registered)
    return cp.allocate(need, total, registered=reg)


def diagnoses(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame({"person_id": [7, 14, 21, 28], "icd10": ["I21.9", "E11.9", "J44.1", "C50.9"],
                          "fy": ["2023/24", "2024/25", "2024/25", "2023/24"]})
    for column, (row, value) in overrides.items():
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    return frame


def encode_dx(frame, spec=None):
    spec = spec or cp.FeatureSpec(outcome_year="2025/26")
    return cp.encode(spec, people(), diagnoses=frame)


AREA_SPEC = cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 40, 80), need=("imd",))


def areas(**overrides) -> pd.DataFrame:
    codes = sorted(people()["lsoa_code"].unique())
    frame = pd.DataFrame({"lsoa_code": codes, "imd": np.linspace(1, 50, len(codes))})
    for column, (row, value) in overrides.items():
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    return frame


def parquet_people(tmp, frame: pd.DataFrame, name: str = "people.parquet"):
    path = tmp / name
    frame.to_parquet(path)
    return path


def design_with(column: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(30), rng.integers(0, 2, 30).astype(float)])
    return np.column_stack([X, column(X) if callable(column) else column])


def saved_model(tmp):
    from capitation.model.persist import save_model

    _, X, model = fitted()
    return save_model(model, tmp / "model.json", spec=X.spec)


def tamper(path, edit):
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    return path


def cases(tmp) -> list[Case]:
    """Every case, in the order docs/reliability.md lists them; ``tmp`` is a scratch folder for file cases."""
    from . import cases_errors, cases_files, cases_inputs, cases_money

    return (_core_cases(tmp) + cases_money.cases(tmp) + cases_inputs.cases(tmp) + cases_errors.cases(tmp)
            + cases_files.cases(tmp))


def _core_cases(tmp) -> list[Case]:
    p = people()
    return [
        # ---- people → Population.from_frame -----------------------------------------------------------
        Case("people-duplicate-person-id", "Population.from_frame",
             lambda: cp.Population.from_frame(copy_row(3, 39)),
             InputError, "'people'", "'person_id'", "28", FIX),
        Case("people-person-on-two-lists", "Population.from_frame",
             lambda: cp.Population.from_frame(copy_row(3, 39, practice_code="Z99999")),
             InputError, "'people'", "person_id 28", "'Z99999'", FIX),
        Case("people-unknown-practice-code", "Population.from_frame",
             lambda: cp.Population.from_frame(p, practices=sorted(p.practice_code.unique())[1:]),
             UnknownCodeError, "'practices'", "'practice_code'", sorted(p.practice_code.unique())[0], FIX),
        Case("people-malformed-practice-code", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("practice_code", "a81001 ")), InputError,
             "'people'", "row 3", "'a81001 '", FIX),
        Case("people-age-negative", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("age", -1)), InputError, "'people'", "row 3", "-1", FIX),
        Case("people-age-over-120", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("age", 121)), InputError, "'age'", "row 3", "121", FIX),
        Case("people-age-not-whole", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("age", 40.5, dtype=float)), InputError, "'age'", "row 3",
             "40.5", FIX),
        Case("people-age-nan", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("age", np.nan, dtype=float)), InputError, "'age'",
             "row 3", "nan", FIX),
        Case("people-age-object-dtype", "Population.from_frame",
             lambda: cp.Population.from_frame(p.assign(age=p.age.astype(str))), SchemaError, "'age'",
             "'people'", "dtype", FIX),
        Case("people-sex-outside-set", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("sex", "X")), InputError, "'sex'", "row 3", "'X'", FIX),
        Case("people-sex-numeric-codes", "Population.from_frame",
             lambda: cp.Population.from_frame(p.assign(sex=np.where(p.sex == "F", 2, 1))), InputError,
             "'sex'", "'people'", "int64", FIX),
        Case("people-cost-nan", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("cost", np.nan)), InputError, "'cost'", "row 3", "nan", FIX),
        Case("people-cost-inf", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("cost", np.inf)), InputError, "'cost'", "row 3", "inf", FIX),
        Case("people-cost-negative", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("cost", -10.0)), InputError, "'cost'", "row 3", "-10.0",
             FIX),
        Case("people-exposure-negative", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("exposure", -0.5)), InputError, "'exposure'", "row 3",
             "-0.5", FIX),
        Case("people-exposure-over-one", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("exposure", 1.5)), InputError, "'exposure'", "row 3",
             "1.5", FIX),
        Case("people-exposure-inf", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("exposure", np.inf)), InputError, "'exposure'", "row 3",
             "inf", FIX),
        Case("people-empty", "Population.from_frame",
             lambda: cp.Population.from_frame(p.iloc[:0]), InputError, "'people'", None, "empty", FIX),
        Case("people-misspelt-column", "Population.from_frame",
             lambda: cp.Population.from_frame(p.rename(columns={"age": "Age"})), SchemaError, "'people'",
             "'age'", "'Age'", FIX),
        Case("people-swapped-column-names", "Population.from_frame",
             lambda: cp.Population.from_frame(p.rename(columns={"practice_code": "practice", "lsoa_code": "lsoa"})),
             SchemaError, "'people'", "'practice_code'", "'practice'", FIX),
        Case("people-duplicate-column-names", "Population.from_frame",
             lambda: cp.Population.from_frame(pd.concat([p, p[["age"]]], axis=1)), SchemaError, "'people'",
             "'age'", "['age']", FIX),
        Case("people-float-person-id", "Population.from_frame",
             lambda: cp.Population.from_frame(p.assign(person_id=p.person_id.astype(float))), SchemaError,
             "'people'", "'person_id'", "float64", FIX),
        Case("people-missing-person-id", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("person_id", None, dtype=object)), InputError, "'person_id'",
             "row 3", "None", FIX),
        Case("people-missing-lsoa", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("lsoa_code", None, dtype=object)), InputError,
             "'lsoa_code'", "row 3", "None", FIX),
        Case("people-registration-outside-outcome-year", "Population.from_frame",
             lambda: cp.Population.from_frame(p.drop(columns="exposure").assign(
                 registration_start="2024-04-01", registration_end=["2025-01-01"] * 3 + ["2024-05-01"] * 37),
                 outcome_year="2025/26"), InputError, "'people'", "row 0", "2025/26", FIX),
        Case("people-date-of-birth-after-reference", "Population.from_frame",
             lambda: cp.Population.from_frame(p.drop(columns="age").assign(
                 date_of_birth=["1980-05-01"] * 3 + ["2027-01-01"] + ["1990-01-01"] * 36), outcome_year="2025/26"),
             InputError, "'age'", "row 3", "-2", FIX),
        Case("people-not-a-table", "Population.from_frame",
             lambda: cp.Population.from_frame(p.to_dict("records")), SchemaError, "'people'", None, "list", FIX),
        Case("people-path-does-not-exist", "Population.from_frame",
             lambda: cp.Population.from_frame(tmp / "nowhere.parquet"), InputError, "'people'", None,
             "nowhere.parquet", FIX),
        Case("people-parquet-missing-column", "Population.from_frame",
             lambda: cp.Population.from_frame(parquet_people(tmp, p.drop(columns="sex"), "nosex.parquet")),
             SchemaError, "'people'", "'sex'", "nosex" if False else "'sex'", FIX),
        Case("people-parquet-mistyped-column", "Population.from_frame",
             lambda: cp.Population.from_frame(parquet_people(tmp, p.assign(age=p.age.astype(str)), "strage.parquet")),
             SchemaError, "'people'", "'age'", "'47'", FIX),
        Case("people-parquet-truncated", "Population.from_frame",
             lambda: cp.Population.from_frame(_truncated(tmp, p)), InputError, "'people'", None,
             "truncated.parquet", FIX),
        # ---- diagnoses and conditions → encode ---------------------------------------------------------
        Case("diagnoses-malformed-icd10", "encode",
             lambda: encode_dx(diagnoses(icd10=(2, "J4X.1"))), UnknownCodeError, "'diagnoses'", "row 2",
             "'J4X.1'", FIX),
        Case("diagnoses-missing-icd10", "encode",
             lambda: encode_dx(diagnoses(icd10=(1, None))), InputError, "'icd10'", "row 1", "None", FIX),
        Case("diagnoses-bad-financial-year", "encode",
             lambda: encode_dx(diagnoses(fy=(2, "2024/26"))), InputError, "'fy'", "row 2", "'2024/26'", FIX),
        Case("diagnoses-no-year-with-outcome-year", "encode",
             lambda: encode_dx(diagnoses().drop(columns="fy")), SchemaError, "'diagnoses'", "'fy'", "2025/26",
             FIX),
        Case("diagnoses-unparseable-date", "encode",
             lambda: encode_dx(diagnoses().drop(columns="fy").assign(date=["2024-01-01", "2024-13-45",
                                                                            "2024-02-01", "2024-03-01"])),
             InputError, "'diagnoses'", "'date'", "2024-13-45", FIX),
        Case("diagnoses-unknown-person", "encode",
             lambda: encode_dx(diagnoses(person_id=(0, 999_999))), UnknownCodeError, "'diagnoses'",
             "person_id", "999999", FIX),
        Case("diagnoses-setting-outside-set", "encode",
             lambda: encode_dx(diagnoses().assign(setting=["inpatient", "day case", "ae", "ae"])), InputError,
             "'setting'", "row 1", "'day case'", FIX),
        Case("conditions-register-missing", "encode",
             lambda: cp.encode(cp.FeatureSpec(diagnosis_grouping=None, conditions=("DM",)), p,
                               conditions=pd.DataFrame({"person_id": [7, 14], "register": ["DM", None]})),
             InputError, "'register'", "row 1", "nan", FIX),
        # ---- areas and fixed effects → encode ----------------------------------------------------------
        Case("areas-unknown-lsoa", "encode",
             lambda: cp.encode(AREA_SPEC, p, areas=areas().iloc[1:]), UnknownCodeError, "'areas'",
             "person_id", sorted(p.lsoa_code.unique())[0], FIX),
        Case("areas-value-nan", "encode",
             lambda: cp.encode(AREA_SPEC, p, areas=areas(imd=(2, np.nan)).astype({"imd": float})), InputError,
             "'imd'", "row 2", "nan", FIX),
        Case("areas-value-object-dtype", "encode",
             lambda: cp.encode(AREA_SPEC, p, areas=areas(imd=(2, "high"))), SchemaError, "'imd'", "'areas'",
             "object", FIX),
        Case("areas-duplicate-lsoa", "encode",
             lambda: cp.encode(AREA_SPEC, p, areas=pd.concat([areas(), areas().iloc[:1]])), InputError,
             "'lsoa_code'", "'areas'", sorted(p.lsoa_code.unique())[0], FIX),
        Case("fixed-effect-unseen-level", "encode",
             lambda: cp.encode(cp.FeatureSpec(diagnosis_grouping=None, fixed_effects=("icb",),
                                              levels=(("icb", ("Q00",)),)), p, groups={"icb": membership()}),
             UnseenCategoryError, "'icb'", "people", "'Q01'", FIX),
        Case("fixed-effect-practice-without-level", "encode",
             lambda: cp.encode(cp.FeatureSpec(diagnosis_grouping=None, fixed_effects=("icb",)), p,
                               groups={"icb": membership(drop=1)}),
             UnknownCodeError, "groups['icb']", "people", sorted(p.practice_code.unique())[0], FIX),
        # ---- FeatureSpec --------------------------------------------------------------------------------
        Case("spec-age-bands-not-increasing", "FeatureSpec",
             lambda: cp.FeatureSpec(age_bands=(0, 40, 20)), ValueError, "'age_bands'", None, "(0, 40, 20)", FIX),
        Case("spec-lookback-zero", "FeatureSpec",
             lambda: cp.FeatureSpec(lookback_years=0), ValueError, "'lookback_years'", None, "0", FIX),
        Case("spec-outcome-year-malformed", "FeatureSpec",
             lambda: cp.FeatureSpec(outcome_year="2025/27"), InputError, "'outcome_year'", None, "'2025/27'",
             FIX),
        Case("spec-need-and-supply-overlap", "FeatureSpec",
             lambda: cp.FeatureSpec(need=("imd",), supply=("imd",)), ValueError, "'need'", None, "'imd'", FIX),
        # ---- model → CostModel.fit / fit_ols -----------------------------------------------------------
        Case("design-aliased-column", "CostModel.fit",
             lambda: cp.CostModel().fit(design_with(lambda X: X[:, 0] - X[:, 1]), np.arange(30.0)),
             DesignError, "'X'", "'x2'", "aliased", FIX),
        Case("design-object-dtype", "CostModel.fit",
             lambda: cp.CostModel().fit(np.array([[1, "a"], [1, "b"]], dtype=object), [1.0, 2.0]), SchemaError,
             "'X'", None, "object", FIX),
        Case("design-no-rows", "fit_ols",
             lambda: cp.fit_ols(np.empty((0, 2)), []), InputError, "'X'", None, "no rows", FIX),
        Case("outcome-nan", "CostModel.fit",
             lambda: cp.CostModel().fit(design_with(np.arange(30.0)), np.r_[np.zeros(4), np.nan, np.ones(25)]),
             InputError, "'y'", "row 4", "nan", FIX),
        Case("outcome-object-dtype", "CostModel.fit",
             lambda: cp.CostModel().fit(design_with(np.arange(30.0)), np.array(["1"] * 30, dtype=object)),
             SchemaError, "'y'", None, "object", FIX),
        Case("outcome-wrong-length", "CostModel.fit",
             lambda: cp.CostModel().fit(design_with(np.arange(30.0)), np.ones(29)), InputError, "'y'", None,
             "29", FIX),
        Case("weights-negative", "CostModel.fit",
             lambda: cp.CostModel().fit(design_with(np.arange(30.0)), np.ones(30),
                                        sample_weight=np.r_[np.ones(6), -0.5, np.ones(23)]),
             InputError, "'sample_weight'", "row 6", "-0.5", FIX),
        Case("fewer-people-than-columns", "fit_ols",
             lambda: cp.fit_ols(np.eye(3), [1.0, 2.0, 3.0]), InputError, "'X'", None, "3", FIX),
        Case("cost-model-unknown-method", "CostModel.fit",
             lambda: cp.CostModel(method="lasso").fit(design_with(np.arange(30.0)), np.ones(30)), ValueError,
             "'method'", None, "'lasso'", FIX),
        Case("cost-model-bad-cap", "CostModel.fit",
             lambda: cp.CostModel(cap="p150").fit(design_with(np.arange(30.0)), np.ones(30)), ValueError,
             "'cap'", None, "'p150'", FIX),
        # ---- scoring → score, persist.load_model -------------------------------------------------------
        Case("loaded-model-on-data-with-other-columns", "score",
             lambda: cp.score(_load(saved_model(tmp)),
                              cp.encode(cp.FeatureSpec(diagnosis_grouping=None), fitted()[0])), InputError,
             "'X'", "age_sex:F_0-4", "age_sex:F_0-39", FIX),
        Case("score-unfitted-model", "score",
             lambda: cp.score(cp.CostModel(), fitted()[1]), TypeError, "'model'", None, "CostModel", FIX),
        Case("score-neutralise-unknown-role", "score",
             lambda: cp.score(fitted()[2], fitted()[1], neutralise=("suply",)), InputError, "'neutralise'",
             None, "'suply'", FIX),
        Case("model-file-edited", "persist.load_model",
             lambda: _load(tamper(saved_model(tmp), lambda d: d["columns"]["coef"].__setitem__(0, 1.0))),
             ModelFileError, "model.json", None, "hashes to", FIX),
        Case("model-file-other-format-version", "persist.load_model",
             lambda: _load(tamper(saved_model(tmp), lambda d: d.__setitem__("format_version", 99))),
             ModelFileError, "model.json", None, "99", FIX),
        # ---- aggregation → aggregate, Membership -------------------------------------------------------
        Case("need-wrong-length", "aggregate",
             lambda: cp.aggregate(fitted()[0], np.ones(199)), InputError, "'need'", None, "199", FIX),
        Case("need-nan", "aggregate",
             lambda: cp.aggregate(fitted()[0], np.r_[np.ones(5), np.nan, np.ones(194)]), InputError, "'need'",
             "row 5", "nan", FIX),
        Case("need-beyond-exact-sum", "aggregate",
             lambda: cp.aggregate(fitted()[0], np.full(200, 1e17)), InputError, "'need'", None, "1e+17", FIX),
        Case("aggregate-frame-not-population", "aggregate",
             lambda: cp.aggregate(p, np.ones(len(p))), TypeError, "'population'", None, "DataFrame", FIX),
        Case("practice-not-in-membership", "aggregate",
             lambda: cp.aggregate(fitted()[0], np.ones(200), membership=membership(drop=1)), UnknownCodeError,
             "'membership'", "practice", sorted(p.practice_code.unique())[0], FIX),
        Case("membership-practice-twice", "Membership.from_frame",
             lambda: cp.Membership.from_frame(pd.DataFrame({"practice_code": ["B00001", "B00001"],
                                                            "consortium_code": ["Q1", "Q2"]})),
             InputError, "'membership'", "'practice_code'", "B00001", FIX),
        Case("membership-consortium-missing", "Membership.from_frame",
             lambda: cp.Membership.from_frame(pd.DataFrame({"practice_code": ["B00001", "B00002"],
                                                            "consortium_code": ["Q1", None]})),
             InputError, "'membership'", "rows [1]", "'consortium_code'", FIX),
        Case("membership-reserved-code", "Membership.from_frame",
             lambda: cp.Membership.from_frame(pd.DataFrame({"practice_code": ["B00001"],
                                                            "consortium_code": ["UNASSIGNED"]})),
             InputError, "'membership'", "'consortium_code'", "'UNASSIGNED'", FIX),
        Case("membership-unknown-consortium", "Membership.members",
             lambda: membership().members("Q99"), UnknownCodeError, "'consortium'", None, "'Q99'", FIX),
        Case("membership-date-outside-history", "MembershipHistory.as_of",
             lambda: cp.MembershipHistory.nhs_england().as_of("2030/31"), InputError, "'when'", None,
             "2030-04-01", FIX),
        # ---- allocation → allocate ---------------------------------------------------------------------
        Case("control-total-negative", "allocate",
             lambda: allocate_series([1.0, 2.0], total=-5), InputError, "'control_total'", None, "-5", FIX),
        Case("control-total-nan", "allocate",
             lambda: allocate_series([1.0, 2.0], total=float("nan")), InputError, "'control_total'", None,
             "nan", FIX),
        Case("control-total-fraction-of-penny", "allocate",
             lambda: allocate_series([1.0, 2.0], total="1000.005"), InputError, "'control_total'", None,
             "'1000.005'", FIX),
        Case("control-total-not-a-number", "allocate",
             lambda: allocate_series([1.0, 2.0], total="one million"), InputError, "'control_total'", None,
             "'one million'", FIX),
        Case("control-total-beyond-int64-pence", "allocate",
             lambda: allocate_series([1.0, 2.0], total=10**17), InputError, "'control_total'", None,
             str(10**17), FIX),
        Case("need-negative-practice", "allocate",
             lambda: allocate_series([1.0, -2.0]), InputError, "'need'", "B00002", "-2.0", FIX),
        Case("need-all-zero", "allocate",
             lambda: allocate_series([0.0, 0.0]), InputError, "'need'", None, "is 0", FIX),
        Case("practice-with-zero-list", "allocate",
             lambda: allocate_series([1.0, 2.0], registered=[100, 0]), InputError, "'registered'", "B00002",
             "0", FIX),
        Case("need-no-practices", "allocate",
             lambda: allocate_series([]), InputError, "'need'", None, "no practices", FIX),
        Case("need-duplicate-practice", "allocate",
             lambda: cp.allocate(pd.Series([1.0, 2.0], index=["B00001", "B00001"]), 100,
                                 registered=pd.Series([1, 1], index=["B00001", "B00001"])),
             InputError, "'need'", "practice codes", "B00001", FIX),
        Case("registered-missing-practice", "allocate",
             lambda: cp.allocate(pd.Series([1.0, 2.0], index=["B00001", "B00002"]), 100,
                                 registered=pd.Series([1], index=["B00001"])),
             InputError, "'registered'", "practices", "B00002", FIX),
        Case("baseline-unknown-codes", "allocate",
             lambda: cp.allocate(*need_series([1.0, 2.0])[:1], 100, registered=need_series([1.0, 2.0])[1],
                                 baseline=pd.Series([5.0], index=["ZZZ"])),
             UnknownCodeError, "'baseline'", "codes", "ZZZ", FIX),
        # ---- streaming → iter_batches, fit_parquet, score_parquet --------------------------------------
        Case("stream-batch-rows-zero", "stream.iter_batches",
             lambda: list(_stream().iter_batches(parquet_people(tmp, p), batch_rows=0)), InputError,
             "'batch_rows'", None, "0", FIX),
        Case("stream-parquet-missing-column", "stream.fit_parquet",
             lambda: _stream().fit_parquet(SPEC, parquet_people(tmp, p.drop(columns="lsoa_code"), "nolsoa.parquet")),
             SchemaError, "'people'", "'lsoa_code'", "['lsoa_code']", FIX),
        Case("stream-parquet-mistyped-column", "stream.fit_parquet",
             lambda: _stream().fit_parquet(SPEC, parquet_people(tmp, p.assign(cost=p.cost.astype(str)),
                                                                "strcost.parquet")),
             SchemaError, "'people'", "'cost'", "dtype", FIX),
        Case("stream-people-unsorted", "stream.score_parquet",
             lambda: _stream().score_parquet(fitted()[2], parquet_people(tmp, p.iloc[::-1], "rev.parquet"),
                                             spec=SPEC), InputError, "'people'", "person_id", "273", FIX),
        Case("stream-people-truncated", "stream.score_parquet",
             lambda: _stream().score_parquet(fitted()[2], _truncated(tmp, p, "cut.parquet"), spec=SPEC),
             InputError, "'people'", None, "cut.parquet", FIX),
        Case("stream-people-empty", "stream.fit_parquet",
             lambda: _stream().fit_parquet(SPEC, parquet_people(tmp, p.iloc[:0], "none.parquet")), InputError,
             "'people'", None, "empty", FIX),
        Case("stream-score-without-spec", "stream.score_parquet",
             lambda: _stream().score_parquet(unspecified_model(), parquet_people(tmp, p)), InputError, "'spec'", None,
             "is None", FIX),
        Case("stream-fit-batches-none", "stream.fit_batches",
             lambda: _stream().fit_batches(SPEC, iter(())), InputError, "batches", None, "empty", FIX),
        # ---- the PBRA ladder's design → pbra_ladder ----------------------------------------------------
        Case("ladder-held-out-share-above-one", "model.pbra_ladder",
             lambda: _ladder(p, 1.5), InputError, "'held_out_practices'", None, "1.5", FIX),
        Case("ladder-held-out-unknown-practice", "model.pbra_ladder",
             lambda: _ladder(p, ["Z99999"]), InputError, "'held_out_practices'", None, "'Z99999'", FIX),
        # ---- NHS-layout folders → read_nhs_extracts ------------------------------------------------------
        Case("nhs-extracts-folder-without-files", "datasets.nhs_layouts.read_nhs_extracts",
             lambda: _nhs().read_nhs_extracts(tmp), InputError, "folder", None, "hes_apc.csv", FIX),
    ]


def _truncated(tmp, frame, name: str = "truncated.parquet"):
    path = parquet_people(tmp, frame, name)
    path.write_bytes(path.read_bytes()[:300])
    return path


def _load(path):
    from capitation.model.persist import load_model

    return load_model(path)


def _ladder(frame, held):
    from capitation.model import pbra_ladder

    return pbra_ladder(frame.assign(icb_code="QE1"), None, None, outcome_year="2025/26", need=(), supply=(),
                       parsimonious_need=(), held_out_practices=held)


def _nhs():
    from capitation.datasets import nhs_layouts

    return nhs_layouts


def _stream():
    from capitation import stream

    return stream
