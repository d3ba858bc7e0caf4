"""Bad inputs of one class — inputs that passed silently.

Mixed id types, nullable integers, disagreeing columns, Unicode digits, empty strings, a string for a list of
codes; and, of the same kind, numbers read as dates and named columns that are absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import capitation as cp
from capitation.errors import InputError, SchemaError

from .catalogue import FIX, Case, areas, diagnoses, encode_dx, people, spoil

GP_SPEC = cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 40, 80), conditions=("DM",))
WRAP = "Fix: wrap it in a list"


def _conditions(person_id, register=("DM", "DM"), **columns) -> pd.DataFrame:
    return pd.DataFrame({"person_id": pd.Series(person_id, dtype=object), "register": list(register), **columns})


def _text_ids() -> pd.DataFrame:
    frame = people()
    frame["person_id"] = frame["person_id"].astype(str).astype(object)
    frame.loc[3, "person_id"] = ""
    return frame


def _with_birth_dates(wrong_row: int | None = None) -> pd.DataFrame:
    """People with a date of birth on 1 January, so that age at 1 April 2025 is 2025 minus the birth year."""
    frame = people()
    frame["date_of_birth"] = [f"{2025 - a}-01-01" for a in frame["age"]]
    if wrong_row is not None:
        frame.loc[wrong_row, "age"] += 1
    return frame


def _mixed_levels() -> dict:
    codes = sorted(people()["practice_code"].unique())
    return {"icb": pd.Series([1, "1", "Q2", "Q2"], index=codes, dtype=object)}


def _nullable(frame: pd.DataFrame, column: str, row: int, dtype: str) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(dtype)
    frame.loc[row, column] = pd.NA
    return frame


def cases(tmp) -> list[Case]:
    p = people()
    age3 = int(p.loc[3, "age"])
    first_practice = sorted(p["practice_code"].unique())[0]
    return [
        # ---- identifiers of mixed types: 1 and '1' would be two people --------------------------------------
        Case("people-person-id-mixed-int-and-str", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("person_id", "35", dtype=object)), SchemaError, "'people'",
             "row 3", "'35'", "Fix: convert all to one type"),
        Case("people-person-id-beyond-64-bits", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("person_id", 10**30, dtype=object)), InputError, "'person_id'",
             "row 3", str(10**30), FIX),
        Case("diagnoses-person-id-mixed-int-and-str", "encode",
             lambda: encode_dx(diagnoses(person_id=(1, "14"))), SchemaError, "'diagnoses'", "row 1", "'14'",
             "Fix: convert all to one type"),
        Case("diagnoses-person-id-text-for-integer-people", "encode",
             lambda: encode_dx(diagnoses().astype({"person_id": str})), SchemaError, "'diagnoses'", "row 0", "'7'",
             "astype('int64')"),
        Case("conditions-person-id-mixed-int-and-str", "encode",
             lambda: cp.encode(GP_SPEC, p, conditions=_conditions([7, "14"])), SchemaError, "'conditions'",
             "row 1", "'14'", FIX),
        Case("groups-levels-mixed-int-and-str", "encode",
             lambda: cp.encode(cp.FeatureSpec(diagnosis_grouping=None, fixed_effects=("icb",)), p,
                               groups=_mixed_levels()),
             SchemaError, "groups['icb']", f"practice {first_practice!r}", ": 1", FIX),
        # ---- nullable integers with missing values: rows named, and a fix that works --------------------------
        Case("people-person-id-nullable-missing", "Population.from_frame",
             lambda: cp.Population.from_frame(_nullable(p, "person_id", 3, "Int64")), InputError, "'person_id'",
             "row 3", "<NA>", "Fix: drop those rows, frame = frame[frame['person_id'].notna()]"),
        Case("people-person-id-float-with-missing", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("person_id", np.nan, dtype=float)), SchemaError, "'person_id'",
             "row 3", "nan", "notna()] and then frame['person_id'].astype('int64')"),
        Case("diagnoses-person-id-nullable-missing", "encode",
             lambda: encode_dx(_nullable(diagnoses(), "person_id", 2, "Int64")), InputError, "'diagnoses'", "row 2",
             "<NA>", FIX),
        Case("people-age-nullable-missing", "Population.from_frame",
             lambda: cp.Population.from_frame(_nullable(p, "age", 3, "Int64")), InputError, "'age'", "row 3", "nan",
             FIX),
        Case("areas-value-nullable-missing", "encode",
             lambda: cp.encode(cp.FeatureSpec(diagnosis_grouping=None, need=("imd",)), p,
                               areas=_nullable(areas(), "imd", 2, "Float64")),
             InputError, "'imd'", "row 2", "nan", FIX),
        # ---- columns that disagree, or are named and absent: one would be silently ignored -------------------
        Case("people-age-disagrees-with-date-of-birth", "Population.from_frame",
             lambda: cp.Population.from_frame(_with_birth_dates(wrong_row=3), outcome_year="2025/26"), InputError,
             "'date_of_birth'", "row 3", f"age {age3 + 1}, date_of_birth {2025 - age3}-01-01 gives {age3}", FIX),
        Case("people-age-and-date-of-birth-without-reference", "Population.from_frame",
             lambda: cp.Population.from_frame(_with_birth_dates()), InputError, "'outcome_year'", "'age'",
             "'date_of_birth'", "drop one of the two columns"),
        Case("people-named-cost-column-absent", "Population.from_frame",
             lambda: cp.Population.from_frame(p, cost="costs"), SchemaError, "'people'", "'costs'", "'cost'", FIX),
        Case("people-named-exposure-column-absent", "Population.from_frame",
             lambda: cp.Population.from_frame(p, exposure="years"), SchemaError, "'people'", "'years'", "'exposure'",
             FIX),
        # ---- numbers where dates are expected: pandas would read them as nanoseconds since 1970 --------------
        Case("people-date-of-birth-as-numbers", "Population.from_frame",
             lambda: cp.Population.from_frame(p.drop(columns="age").assign(date_of_birth=19800101),
                                              outcome_year="2025/26"),
             SchemaError, "'people'", "'date_of_birth'", "19800101", FIX),
        Case("conditions-date-as-numbers", "encode",
             lambda: cp.encode(GP_SPEC, p, conditions=_conditions([7, 14], date=[20240101, 20240102])),
             SchemaError, "'conditions'", "'date'", "20240101", FIX),
        Case("conditions-date-missing", "encode",
             lambda: cp.encode(GP_SPEC, p, conditions=_conditions([7, 14], date=pd.Series(["2024-01-01", None],
                                                                                          dtype=object))),
             InputError, "'date'", "row 1", "None", FIX),
        # ---- codes must be ASCII: \d and str.isdigit accept other scripts' digits ----------------------------
        Case("people-practice-code-full-width-digits", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("practice_code", "A８１００１")), InputError, "'practice_code'",
             "row 3", "'A８１００１'", FIX),
        Case("people-practice-pattern-digit-class", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("practice_code", "A８１００１"), practice_pattern=r"^[A-Z]\d{5}$"),
             InputError, "'practice_code'", "row 3", "'A８１００１'", FIX),
        Case("diagnoses-fy-full-width-digits", "encode",
             lambda: encode_dx(diagnoses(fy=(2, "２０２４/25"))), InputError, "'fy'", "row 2", "'２０２４/25'", FIX),
        Case("spec-outcome-year-superscript-digit", "FeatureSpec",
             lambda: cp.FeatureSpec(outcome_year="202⁵/26"), InputError, "'outcome_year'", None, "'202⁵/26'", FIX),
        # ---- empty strings where a code is required ----------------------------------------------------------
        Case("people-practice-code-empty", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("practice_code", ""), practice_pattern=None), InputError,
             "'practice_code'", "row 3", "''", FIX),
        Case("people-practice-code-blank", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("practice_code", "   "), practice_pattern=None), InputError,
             "'practice_code'", "row 3", "'   '", FIX),
        Case("people-lsoa-code-empty", "Population.from_frame",
             lambda: cp.Population.from_frame(spoil("lsoa_code", "")), InputError, "'lsoa_code'", "row 3", "''", FIX),
        Case("people-person-id-empty-string", "Population.from_frame",
             lambda: cp.Population.from_frame(_text_ids()), InputError, "'person_id'", "row 3", "''", FIX),
        Case("conditions-register-empty", "encode",
             lambda: cp.encode(GP_SPEC, p, conditions=_conditions([7, 14], register=["DM", ""])), InputError,
             "'register'", "row 1", "''", FIX),
        Case("areas-lsoa-code-empty", "encode",
             lambda: cp.encode(cp.FeatureSpec(diagnosis_grouping=None, need=("imd",)), p,
                               areas=areas(lsoa_code=(0, ""))),
             InputError, "'areas'", "row 0", "''", FIX),
        Case("spec-conditions-empty-name", "FeatureSpec",
             lambda: cp.FeatureSpec(conditions=("DM", " ")), InputError, "'conditions'", "item 1", "' '", FIX),
        # ---- a single string where a list of names is expected: 'DM' is not ('D', 'M') ----------------------
        Case("spec-conditions-single-string", "FeatureSpec",
             lambda: cp.FeatureSpec(conditions="DM"), InputError, "'conditions'", None, "'DM'", WRAP),
        Case("spec-need-single-string", "FeatureSpec",
             lambda: cp.FeatureSpec(need="imd"), InputError, "'need'", None, "'imd'", WRAP),
        Case("spec-settings-single-string", "FeatureSpec",
             lambda: cp.FeatureSpec(settings="inpatient"), InputError, "'settings'", None, "'inpatient'", WRAP),
        Case("spec-fixed-effects-single-string", "FeatureSpec",
             lambda: cp.FeatureSpec(fixed_effects="icb"), InputError, "'fixed_effects'", None, "'icb'", WRAP),
        Case("spec-hierarchies-one-chain-not-wrapped", "FeatureSpec",
             lambda: cp.FeatureSpec(hierarchies=("diabetes_type1", "diabetes_type2_other")), InputError,
             "'hierarchies'", None, "'diabetes_type1'", FIX),
        Case("spec-interactions-one-pair-not-wrapped", "FeatureSpec",
             lambda: cp.FeatureSpec(conditions=("DM", "HYP"), interactions=("gp:DM", "gp:HYP")), InputError,
             "'interactions'", None, "'gp:DM'", FIX),
        Case("spec-levels-single-string", "FeatureSpec",
             lambda: cp.FeatureSpec(fixed_effects=("icb",), levels=(("icb", "Q00"),)), InputError, "'levels'",
             "'icb'", "'Q00'", WRAP),
        Case("people-practices-single-string", "Population.from_frame",
             lambda: cp.Population.from_frame(p, practices="A81001"), InputError, "'practices'", None, "'A81001'",
             WRAP),
        Case("spec-need-as-set", "FeatureSpec",
             lambda: cp.FeatureSpec(need={"imd", "income"}), InputError, "'need'", None, "a set", FIX),
        Case("spec-conditions-repeated", "FeatureSpec",
             lambda: cp.FeatureSpec(conditions=("DM", "dm")), InputError, "'conditions'", None, "['DM']", FIX),
    ]
