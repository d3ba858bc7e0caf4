"""Input validation: every bad value is refused with a message naming column, row, value and fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation import DiagnosisTable, Population
from capitation.errors import InputError, SchemaError, UnknownCodeError
from capitation.inputs import ConditionTable, financial_year


def test_valid_population_round_trips(people):
    pop = Population.from_frame(people)
    assert pop.n_people == len(people)
    back = pop.to_frame()
    pd.testing.assert_series_equal(back["age"].astype(int), people["age"].astype(int), check_names=False)
    assert (back["sex"].to_numpy() == people["sex"].to_numpy()).all()
    np.testing.assert_array_equal(pop.rows_of(people["person_id"].to_numpy()[::-1]), np.arange(len(people))[::-1])


@pytest.mark.parametrize(
    ("column", "value", "error", "pattern"),
    [
        ("age", -1, InputError, r"'age' must be >= 0 and <= 120.*row 5.*-1\.0.*Fix"),
        ("age", 121, InputError, r"'age' must be >= 0 and <= 120.*121"),
        ("age", 40.5, InputError, r"'age' must hold whole numbers.*40\.5"),
        ("age", np.nan, InputError, r"'age' must hold finite numbers.*row 5"),
        ("sex", "X", InputError, r"'sex' must be one of 'F', 'M'.*row 5.*'X'"),
        ("cost", np.nan, InputError, r"'cost' must hold finite numbers.*row 5"),
        ("cost", -10.0, InputError, r"'cost' must be >= 0.*-10\.0"),
        ("cost", np.inf, InputError, r"'cost' must hold finite numbers"),
        ("exposure", 0.0, InputError, r"'exposure' must be > 0 and <= 1"),
        ("exposure", 1.5, InputError, r"'exposure' must be > 0 and <= 1.*1\.5"),
        ("practice_code", "A8100", InputError, r"'practice_code' must match.*'A8100'.*Fix"),
        ("lsoa_code", None, InputError, r"'lsoa_code' is missing in 1 row.*row 5"),
    ],
)
def test_bad_values_are_named(people, column, value, error, pattern):
    bad = people.copy()
    if column == "age" and isinstance(value, float):
        bad["age"] = bad["age"].astype(float)
    if column == "lsoa_code":
        bad["lsoa_code"] = bad["lsoa_code"].astype(object)
    bad.loc[5, column] = value
    with pytest.raises(error, match=pattern):
        Population.from_frame(bad)


def test_duplicate_person_ids(people):
    bad = people.copy()
    bad.loc[9, "person_id"] = bad.loc[3, "person_id"]
    bad.loc[9, "practice_code"] = bad.loc[3, "practice_code"]
    with pytest.raises(InputError, match=r"'person_id' must be unique.*at rows \[3, 9\]"):
        Population.from_frame(bad)


def test_person_on_two_lists(people):
    bad = people.copy()
    bad.loc[9, "person_id"] = bad.loc[3, "person_id"]
    bad.loc[9, "practice_code"] = "Z99999"
    with pytest.raises(InputError, match=r"more than one practice's list.*'Z99999'"):
        Population.from_frame(bad)


def test_unknown_practice_code(people):
    known = sorted(people["practice_code"].unique())[1:]
    with pytest.raises(UnknownCodeError, match=r"not in the 'practices' reference.*A81001"):
        Population.from_frame(people, practices=known)


def test_numeric_sex_codes_are_ambiguous(people):
    with pytest.raises(InputError, match="ambiguous"):
        Population.from_frame(people.assign(sex=np.where(people["sex"] == "F", 2, 1)))


def test_object_dtype_where_numbers_expected(people):
    with pytest.raises(SchemaError, match=r"'age' must be numeric.*Fix: convert"):
        Population.from_frame(people.assign(age=people["age"].astype(str)))


def test_misnamed_column_gets_a_suggestion(people):
    pattern = r"missing required column\(s\) 'practice_code' \(did you mean 'Practice_Code'\?\)"
    with pytest.raises(SchemaError, match=pattern):
        Population.from_frame(people.rename(columns={"practice_code": "Practice_Code"}))


def test_empty_population(people):
    with pytest.raises(InputError, match="empty"):
        Population.from_frame(people.iloc[:0])


def test_sex_spellings_are_accepted(people):
    pop = Population.from_frame(people.assign(sex=people["sex"].map({"F": " female", "M": "Male"})))
    np.testing.assert_array_equal(pop.sex, (people["sex"] == "M").astype(np.int8))


def test_parquet_path_is_read(tmp_path, people):
    path = tmp_path / "people.parquet"
    people.to_parquet(path)
    assert Population.from_frame(path).n_people == len(people)
    people.drop(columns="sex").to_parquet(tmp_path / "nosex.parquet")
    with pytest.raises(SchemaError, match="'sex'"):
        Population.from_frame(tmp_path / "nosex.parquet")


def test_truncated_parquet_names_the_file(tmp_path, people):
    path = tmp_path / "people.parquet"
    people.to_parquet(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match=r"people\.parquet"):
        Population.from_frame(path)


def test_diagnosis_table_normalises_and_validates():
    table = DiagnosisTable.from_frame(pd.DataFrame({
        "person_id": [1, 2], "icd10": ["I21.9", "j45x"], "fy": ["2023-24", 2024],
        "setting": ["Inpatient", "OUTPATIENT"], "position": ["primary", "Secondary"]}))
    assert table.fy.tolist() == ["2023/24", "2024/25"]
    assert table.setting.tolist() == ["inpatient", "outpatient"]
    with pytest.raises(InputError, match=r"'setting' must be one of.*'daycase'"):
        DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1], "icd10": ["I21"], "setting": ["daycase"]}))
    with pytest.raises(InputError, match=r"'icd10' is missing in 1 row"):
        DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1, 2], "icd10": ["I21", None]}))
    with pytest.raises(InputError, match="not a financial year"):
        DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1], "icd10": ["I21"], "fy": ["2023/25"]}))


def test_condition_table():
    table = ConditionTable.from_frame(pd.DataFrame({"person_id": [1, 1], "register": [" dm", "HYP"]}))
    assert table.register.tolist() == ["DM", "HYP"]


@pytest.mark.parametrize("text", ["2024/25", "2024-25", "202425", "2024/2025", 2024])
def test_financial_year_forms(text):
    assert financial_year(text) == "2024/25"


def test_categorical_string_columns_are_accepted(people):
    """Parquet's dictionary-encoded strings come back as pandas categoricals."""
    cat = people.assign(practice_code=people["practice_code"].astype("category"),
                        lsoa_code=people["lsoa_code"].astype("category"), sex=people["sex"].astype("category"))
    pop = Population.from_frame(cat)
    np.testing.assert_array_equal(pop.practice_code, people["practice_code"].to_numpy(dtype=object))
