"""Input validation: every bad value is refused with a message naming column, row, value and fix."""

from __future__ import annotations

import re

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


def test_dataset_files_that_disagree_on_a_type_name_the_dataset(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "gp").mkdir()
    pq.write_table(pa.table({"person_id": [1, 2], "register": ["DM", "DM"]}), tmp_path / "gp" / "a.parquet")
    pq.write_table(pa.table({"person_id": [[1], [2]], "register": ["DM", "DM"]}), tmp_path / "gp" / "b.parquet")
    with pytest.raises(InputError, match=r"Reading '.*gp' \(parameter 'conditions'\) failed.*Fix: .*one schema"):
        ConditionTable.from_frame(tmp_path / "gp")


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


# --- bad input that used to pass silently ------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from capitation import FeatureSpec, encode  # noqa: E402
from capitation.errors import CapitationError  # noqa: E402


def _with(frame: pd.DataFrame, column: str, row: int, value) -> pd.DataFrame:
    """``frame`` with one cell replaced, the column widened to object so any value fits."""
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


@pytest.mark.parametrize("build", [
    lambda p: Population.from_frame(_with(p, "person_id", 5, str(p["person_id"][6]))),
    lambda p: DiagnosisTable.from_frame(pd.DataFrame({"person_id": pd.Series([7, "7"], dtype=object),
                                                      "icd10": ["I21", "I22"]})),
    lambda p: ConditionTable.from_frame(pd.DataFrame({"person_id": pd.Series(["a", 1], dtype=object),
                                                      "register": ["DM", "DM"]})),
], ids=["people", "diagnoses", "conditions"])
def test_ids_mixing_integers_and_strings_are_refused(people, build):
    with pytest.raises(SchemaError, match=r"'person_id'.*mixes 1 integer|'person_id'.*with 1 string.*Fix: convert all"):
        build(people)


def test_record_ids_of_another_type_than_the_population_are_refused(people):
    as_text = pd.DataFrame({"person_id": people["person_id"].astype(str)[:3], "icd10": ["I21.9"] * 3})
    spec = FeatureSpec(on_unknown_person="ignore")  # not silently counted as three unknown people either
    with pytest.raises(SchemaError, match=r"'diagnoses' table's column 'person_id' holds strings.*row 0.*"
                                          r"integers.*Fix:.*astype\('int64'\)"):
        encode(spec, people, diagnoses=as_text)
    fixed = as_text.assign(person_id=as_text["person_id"].astype("int64"))
    assert encode(spec, people, diagnoses=fixed).exclusions == {}


@pytest.mark.parametrize("dtype", ["Int64", "float64"])
def test_missing_ids_name_the_row_and_the_fix_works(people, dtype):
    bad = people.assign(person_id=people["person_id"].astype(dtype))
    bad.loc[4, "person_id"] = pd.NA if dtype == "Int64" else np.nan
    with pytest.raises(CapitationError, match=r"'person_id'.*row 4.*Fix:.*notna\(\)") as info:
        Population.from_frame(bad)
    fix = str(info.value).partition("Fix:")[2]
    frame = bad[bad["person_id"].notna()]  # the fix the message gives, as written there
    assert "frame[frame['person_id'].notna()]" in fix
    if "astype('int64')" in fix:
        frame = frame.assign(person_id=frame["person_id"].astype("int64"))
    assert Population.from_frame(frame).n_people == len(people) - 1


def test_nullable_integer_ids_without_missing_values_are_integers(people):
    pop = Population.from_frame(people.assign(person_id=people["person_id"].astype("Int64")))
    assert pop.person_id.dtype == np.int64
    np.testing.assert_array_equal(pop.person_id, people["person_id"])


def test_identifiers_beyond_64_bits_are_refused(people):
    with pytest.raises(InputError, match=r"'person_id' must fit in 64 bits.*row 2.*Fix:.*astype\(str\)"):
        Population.from_frame(_with(people, "person_id", 2, 10**30))


def test_age_and_date_of_birth_must_agree(people):
    frame = people.head(3).assign(age=[35, 34, 0], date_of_birth=["1990-04-01", "1990-04-02", "2025-03-01"])
    assert Population.from_frame(frame, outcome_year="2025/26").age.tolist() == [35, 34, 0]
    frame.loc[1, "age"] = 35  # born on 2 April 1990: 34 on 1 April 2025
    with pytest.raises(InputError, match=r"'age' and 'date_of_birth' disagree in 1 row.*row 1 .*age 35.*gives 34.*"
                                         r"Fix:"):
        Population.from_frame(frame, outcome_year="2025/26")
    # the reference date is the one the library computes ages at: here it makes 35 right
    assert Population.from_frame(frame.drop(index=[0, 2]), reference_date="2025-04-02").age.tolist() == [35]
    with pytest.raises(InputError, match=r"'outcome_year' parameter is needed to check 'age' against "
                                         r"'date_of_birth'.*Fix:.*drop one of the two columns"):
        Population.from_frame(frame)
    unknown_birth = frame.assign(date_of_birth=[None, None, "2025-03-01"])  # age stands where the date is missing
    assert Population.from_frame(unknown_birth, outcome_year="2025/26").age.tolist() == [35, 35, 0]


def test_codes_must_use_ascii_digits(people):
    wide = _with(people, "practice_code", 3, "A８１００１")
    with pytest.raises(InputError, match=r"'practice_code' must match.*row 3.*'A８１００１'"):
        Population.from_frame(wide)
    # a pattern of the user's own is matched in ASCII too, so \d means 0-9
    with pytest.raises(InputError, match=r"row 3.*'A８１００１'"):
        Population.from_frame(wide, practice_pattern=r"[A-Z]\d{5}")
    for text in ("２０２４/25", "202²", "2024/２５"):
        with pytest.raises(InputError, match="not a financial year"):
            financial_year(text)
    with pytest.raises(InputError, match=r"'fy'.*row 0.*'２０２４/25'"):
        DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1], "icd10": ["I21"], "fy": ["２０２４/25"]}))


def test_case_folding_is_ascii_only():
    """'ı'.upper() is 'I' and 'ſ'.upper() is 'S': look-alikes must not become real codes."""
    table = ConditionTable.from_frame(pd.DataFrame({"person_id": [1, 2], "register": ["stıa", "stia"]}))
    assert table.register.tolist() == ["STıA", "STIA"]
    assert FeatureSpec(diagnosis_grouping=None, conditions=("ſmok",)).conditions == ("ſMOK",)
    with pytest.raises(InputError, match=r"'setting' must be one of.*'ınpatient'"):
        DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1], "icd10": ["I21"], "setting": ["ınpatient"]}))


@pytest.mark.parametrize(("column", "value", "options"), [
    ("practice_code", "", {"practice_pattern": None}),
    ("practice_code", "  ", {"practice_pattern": None}),
    ("lsoa_code", "", {}),
    ("lsoa_code", "\t", {}),
    ("person_id", "", {}),
])
def test_empty_codes_are_refused(people, column, value, options):
    bad = _with(people, column, 7, value)
    if column == "person_id":
        bad["person_id"] = bad["person_id"].astype(str)
        bad.loc[7, "person_id"] = value
    with pytest.raises(InputError, match=rf"'{column}' must not be empty.*row 7.*{re.escape(repr(value))}.*Fix:"):
        Population.from_frame(bad, **options)


def test_empty_registers_and_area_codes_are_refused(people):
    with pytest.raises(InputError, match=r"'register' must not be empty.*row 1.*' '"):
        ConditionTable.from_frame(pd.DataFrame({"person_id": [7, 14], "register": ["DM", " "]}))
    areas = pd.DataFrame({"lsoa_code": [*sorted(people["lsoa_code"].unique()), ""], "imd": 1.0})
    with pytest.raises(InputError, match=r"'areas' table's column 'lsoa_code' must not be empty.*''"):
        encode(FeatureSpec(diagnosis_grouping=None, need=("imd",)), people, areas=areas)


@pytest.mark.parametrize(("parameter", "value"), [
    ("conditions", "DM"), ("need", "imd"), ("supply", "beds"), ("fixed_effects", "icb"),
    ("settings", "inpatient"), ("positions", "primary"),
])
def test_a_string_where_a_list_of_names_is_expected_is_refused(parameter, value):
    with pytest.raises(InputError, match=rf"'{parameter}' parameter of FeatureSpec.*not a single string: "
                                         rf"{value!r}.*Fix: wrap it in a list, {parameter}=\[{value!r}\]"):
        FeatureSpec(diagnosis_grouping=None, **{parameter: value})


def test_a_string_where_nested_names_are_expected_is_refused(people):
    with pytest.raises(InputError, match=r"'practices' parameter of Population.from_frame.*'A81001'.*"
                                         r"Fix: wrap it in a list"):
        Population.from_frame(people, practices="A81001")
    with pytest.raises(InputError, match=r"'hierarchies'.*the string 'diabetes_type1' as a chain.*Fix:"):
        FeatureSpec(hierarchies=("diabetes_type1", "diabetes_type2_other"))
    with pytest.raises(InputError, match=r"'interactions'.*pairs of column names.*'gp:DM' among.*Fix:"):
        FeatureSpec(diagnosis_grouping=None, conditions=("DM", "HYP"), interactions=("gp:DM", "gp:HYP"))
    with pytest.raises(InputError, match=r"levels of 'icb'.*single string 'Q00'.*Fix: wrap it in a list"):
        FeatureSpec(diagnosis_grouping=None, fixed_effects=("icb",), levels=(("icb", "Q00"),))
    with pytest.raises(InputError, match=r"'need'.*Got a set.*order.*Fix:"):
        FeatureSpec(diagnosis_grouping=None, need={"imd", "income"})
    with pytest.raises(InputError, match=r"'conditions'.*names \['DM'\] more than once.*Fix:"):
        FeatureSpec(diagnosis_grouping=None, conditions=("DM", "dm"))


def test_a_named_column_that_is_absent_is_refused(people):
    with pytest.raises(SchemaError, match=r"missing required column\(s\) 'costs' \(did you mean 'cost'\?\)"):
        Population.from_frame(people, cost="costs")
    assert Population.from_frame(people.drop(columns="cost")).cost is None  # the default is used when present


@pytest.mark.parametrize("table", ["people", "diagnoses", "conditions"])
def test_numbers_are_not_read_as_dates(people, table):
    """pandas reads 20240101 as 20,240,101 nanoseconds after 1970."""
    with pytest.raises(SchemaError, match=r"'(date_of_birth|date)' must hold dates. Got numbers.*Fix:"):
        if table == "people":
            Population.from_frame(people.drop(columns="age").assign(date_of_birth=19800101), outcome_year="2025/26")
        elif table == "diagnoses":
            DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1], "icd10": ["I21"], "date": [20240101]}))
        else:
            ConditionTable.from_frame(pd.DataFrame({"person_id": [1], "register": ["DM"], "date": [20240101]}))


def test_unparseable_and_missing_condition_dates_name_the_rows():
    frame = pd.DataFrame({"person_id": [1, 2, 3], "register": ["DM"] * 3, "date": ["2024-01-01", None, "2024-13-01"]})
    with pytest.raises(InputError, match=r"'date' must hold dates.*row 2.*'2024-13-01'"):
        ConditionTable.from_frame(frame)
    with pytest.raises(InputError, match=r"'date' is missing in 1 row.*row 1.*Fix:"):
        ConditionTable.from_frame(frame.iloc[:2])


# --- options are checked when the object is made -----------------------------------------------------------

@pytest.mark.parametrize(("parameter", "value", "accepted", "shown"), [
    ("on_malformed", "skip", "['raise', 'ignore']", "'skip'"),
    ("on_unknown_person", "drop", "['raise', 'ignore']", "'drop'"),
    ("on_unseen", "ignore", "['raise', 'zero']", "'ignore'"),
    ("diagnosis_values", "binary", "['flag', 'count']", "'binary'"),
    ("on_malformed", None, "['raise', 'ignore']", "None"),
    ("settings", ("daycase",), "['inpatient', 'outpatient', 'ae']", "('daycase',)"),
    ("positions", (), "['primary', 'secondary']", "()"),
    ("lookback_years", True, "1 to 100", "True"),
    ("lookback_years", 10**9, "1 to 100", "1000000000"),
    ("lookback_years", 2.0, "1 to 100", "2.0"),
    ("age_bands", (0, 5.5), "strictly increasing whole-year", "(0, 5.5)"),
    ("age_bands", "0,5", "strictly increasing whole-year", "'0,5'"),
    ("diagnosis_grouping", "default", "DiagnosisGrouping or None", "'default'"),
    ("levels", (("icb", ()),), "at least one", "()"),
    ("interactions", (("a", "b", "c"),), "pairs of column names", "('a', 'b', 'c')"),
    ("hierarchies", (("diabetes_type1",),), "at least two", "('diabetes_type1',)"),
    ("outcome_year", "2025/27", "'2024/25'", "'2025/27'"),
])
def test_every_spec_option_is_checked_at_construction(parameter, value, accepted, shown):
    with pytest.raises(InputError, match=r"Fix:") as info:
        FeatureSpec(fixed_effects=("icb",), **{parameter: value})
    message = str(info.value)
    assert f"'{parameter}'" in message and accepted in message and shown in message, message


def test_spec_accepts_numpy_integers_and_lists():
    spec = FeatureSpec(diagnosis_grouping=None, age_bands=np.arange(0, 95, 5), lookback_years=np.int64(3),
                       need=["imd"], settings=["inpatient", "ae"])
    assert spec.age_bands == tuple(range(0, 95, 5)) and spec.lookback_years == 3
    assert spec.need == ("imd",) and spec.settings == ("inpatient", "ae")


def test_interactions_of_columns_the_spec_cannot_make_are_refused_before_reading_data():
    spec = FeatureSpec(diagnosis_grouping=None, conditions=("DM",), interactions=(("gp:DM", "gp:HYP"),))
    with pytest.raises(InputError, match=r"interactions name columns \['gp:HYP'\]"):
        encode(spec, "/no/such/people.parquet")  # refused before the (missing) people table is read


# --- garbage at every entry point: only capitation's own errors come out --------------------------------

GARBAGE = st.one_of(
    st.none(), st.just(np.nan), st.just(pd.NA), st.just(pd.NaT), st.booleans(),
    st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4), st.binary(max_size=4), st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1), st.tuples(st.integers()),
    st.datetimes(), st.dates(), st.just(pd.Timestamp("2024-01-01", tz="Europe/London")),
    st.just(pd.Timedelta(days=1)), st.complex_numbers(max_magnitude=10), st.just(object()),
)
PEOPLE_COLUMNS = ("person_id", "practice_code", "sex", "age", "lsoa_code", "exposure", "cost", "date_of_birth",
                  "registration_start", "registration_end")


def _spoilt(frame: pd.DataFrame, column: str, rows, value, infer: bool) -> pd.DataFrame:
    cells = (frame[column].to_numpy(dtype=object) if column in frame else np.full(len(frame), None)).copy()
    for row in rows:
        cells[row] = value
    out = frame.copy()
    out[column] = pd.Series(cells.tolist() if infer else cells, index=frame.index, dtype=None if infer else object)
    return out


def _only_capitation_errors(call, *args, **kwargs) -> None:
    """Call; success or a CapitationError are both fine, any other exception fails the test."""
    try:
        call(*args, **kwargs)
    except CapitationError:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_garbage_raises_only_capitation_errors(data):
    people = make_people_small()
    value = data.draw(GARBAGE, label="value")
    rows = data.draw(st.sampled_from([[3], [0, 3], list(range(10))]), label="rows")
    infer = data.draw(st.booleans(), label="infer dtype")
    entry = data.draw(st.sampled_from(["people", "people option", "diagnoses", "conditions", "areas", "spec",
                                       "encode option"]), label="entry")
    records = {"person_id": people["person_id"].to_numpy(), "icd10": ["I21.9"] * 10, "fy": ["2024/25"] * 10,
               "setting": ["inpatient"] * 10, "position": ["primary"] * 10, "register": ["DM"] * 10,
               "date": ["2024-01-01"] * 10}
    if entry == "people":
        column = data.draw(st.sampled_from(PEOPLE_COLUMNS), label="column")
        _only_capitation_errors(Population.from_frame, _spoilt(people, column, rows, value, infer),
                                outcome_year="2025/26")
    elif entry == "people option":
        option = data.draw(st.sampled_from(["cost", "exposure", "outcome_year", "reference_date", "practices",
                                            "practice_pattern"]), label="option")
        _only_capitation_errors(Population.from_frame, people.assign(date_of_birth="1990-01-01"), **{option: value})
    elif entry in ("diagnoses", "conditions"):
        keys = ("person_id", "icd10", "fy", "date", "setting", "position") if entry == "diagnoses" else \
            ("person_id", "register", "date")
        column = data.draw(st.sampled_from(keys), label="column")
        frame = _spoilt(pd.DataFrame({k: records[k] for k in keys if k != "date" or entry == "conditions"}),
                        column, rows, value, infer)
        spec = FeatureSpec(outcome_year="2025/26", conditions=("DM",), on_unknown_person="ignore",
                           on_malformed="ignore")
        _only_capitation_errors(encode, spec, people, **{entry: frame})
    elif entry == "areas":
        areas = pd.DataFrame({"lsoa_code": sorted(people["lsoa_code"].unique())}).assign(imd=1.0)
        column = data.draw(st.sampled_from(["lsoa_code", "imd"]), label="column")
        spoilt = _spoilt(areas, column, [r for r in rows if r < len(areas)], value, infer)
        _only_capitation_errors(encode, FeatureSpec(diagnosis_grouping=None, need=("imd",)), people, areas=spoilt)
    elif entry == "spec":
        import dataclasses

        field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(FeatureSpec)]), label="field")
        shape = data.draw(st.sampled_from(["bare", "in a list", "nested"]), label="shape")
        given_value = {"bare": value, "in a list": [value], "nested": [[value, value]]}[shape]
        _only_capitation_errors(FeatureSpec, **{field: given_value})
    else:
        option = data.draw(st.sampled_from(["spec", "population", "diagnoses", "conditions", "areas", "groups",
                                            "groups level"]), label="option")
        spec = FeatureSpec(diagnosis_grouping=None, conditions=("DM",), fixed_effects=("icb",))
        icb = pd.Series("Q1", index=sorted(people["practice_code"].unique()), dtype=object)
        conditions = pd.DataFrame({"person_id": [7], "register": ["DM"]})
        kwargs = {"spec": spec, "population": people, "conditions": conditions, "groups": {"icb": icb}}
        if option == "groups level":
            kwargs["groups"] = {"icb": _spoilt(icb.to_frame("level"), "level", [0], value, infer)["level"]}
        else:
            kwargs[option] = value
        _only_capitation_errors(encode, **kwargs)


#: One of each kind of garbage, for the sweep of every option below.
GARBAGE_VALUES = [None, np.nan, pd.NA, pd.NaT, True, 0, -1, 2**63, 10**30, 1.5, float("inf"), "", " ", "x", "１",
                  b"A81001", [], [1, 2], {"a": 1}, (1,), pd.Timestamp("2020-01-01"),
                  pd.Timestamp("2020-01-01", tz="UTC"), pd.Timedelta(days=1), 3 + 4j, object(), np.array([1, 2]),
                  np.int64(3)]


def test_every_option_and_column_refuses_garbage_with_capitation_errors():
    """Each option of Population.from_frame, FeatureSpec and encode, and each column of the tables they read,
    given one of each kind of garbage."""
    import dataclasses

    people = make_people_small()
    births = people.assign(date_of_birth="1990-01-01")
    spec = FeatureSpec(diagnosis_grouping=None, conditions=("DM",), fixed_effects=("icb",))
    icb = pd.Series("Q1", index=sorted(people["practice_code"].unique()), dtype=object)
    tables = {"spec": spec, "population": people, "conditions": pd.DataFrame({"person_id": [7], "register": ["DM"]}),
              "groups": {"icb": icb}}
    records = pd.DataFrame({"person_id": people["person_id"], "icd10": "I21.9", "fy": "2024/25", "date": "2024-01-01",
                            "setting": "inpatient", "position": "primary", "register": "DM"})
    lenient = FeatureSpec(outcome_year="2025/26", conditions=("DM",), on_unknown_person="ignore", on_malformed="ignore")
    areas = pd.DataFrame({"lsoa_code": sorted(people["lsoa_code"].unique())}).assign(imd=1.0)
    area_spec = FeatureSpec(diagnosis_grouping=None, need=("imd",))
    for value in GARBAGE_VALUES:
        for option in ("cost", "exposure", "outcome_year", "reference_date", "practices", "practice_pattern"):
            _only_capitation_errors(Population.from_frame, births, **{option: value})
        for field in dataclasses.fields(FeatureSpec):
            for shaped in (value, [value], [[value, value]]):
                _only_capitation_errors(FeatureSpec, **{field.name: shaped})
        for option in ("spec", "population", "diagnoses", "conditions", "areas", "groups"):
            _only_capitation_errors(encode, **{**tables, option: value})
        for table in (DiagnosisTable, ConditionTable):
            _only_capitation_errors(table.from_frame, value)
        for infer in (False, True):
            for column in PEOPLE_COLUMNS:
                _only_capitation_errors(Population.from_frame, _spoilt(people, column, [3], value, infer),
                                        outcome_year="2025/26")
            for column in ("person_id", "icd10", "fy", "setting", "position"):
                frame = _spoilt(records.drop(columns=["date", "register"]), column, [3], value, infer)
                _only_capitation_errors(encode, lenient, people, diagnoses=frame)
            for column in ("person_id", "register", "date"):
                frame = _spoilt(records[["person_id", "register", "date"]], column, [3], value, infer)
                _only_capitation_errors(encode, lenient, people, conditions=frame)
            for column in ("lsoa_code", "imd"):
                _only_capitation_errors(encode, area_spec, people, areas=_spoilt(areas, column, [3], value, infer))


def make_people_small() -> pd.DataFrame:
    from helpers import make_people

    return make_people(10, n_practices=2, seed=5)


# --- HES's FYEAR (YYyy) is never read silently as a starting year ---------------------------------------------



@given(st.integers(1989, 2088))
def test_hes_fyear_reads_as_the_year_it_names_as_text_or_number(start):
    expected = f"{start}/{(start + 1) % 100:02d}"
    fyear = f"{start % 100:02d}{(start + 1) % 100:02d}"
    assert financial_year(fyear, hes=True) == expected
    assert financial_year(int(fyear), hes=True) == expected  # '0102' stored as a number is 102
    assert financial_year(expected) == expected


@pytest.mark.parametrize("text, readings", [("2021", ("2020/21", "2021/22")), ("1920", ("2019/20", "1920/21"))])
def test_four_digits_that_may_be_fyear_are_refused_as_ambiguous_naming_both_readings(text, readings):
    with pytest.raises(InputError, match="ambiguous") as caught:
        financial_year(text)
    assert all(r in str(caught.value) for r in readings) and "hes=True" in str(caught.value)
    assert financial_year("2024") == "2024/25" and financial_year(2021) == "2021/22"  # no FYEAR reading / an int


@pytest.mark.parametrize("value", ["2024", "0103", "abcd", 20.21, True, "21"])
def test_what_is_not_fyear_is_refused_as_fyear(value):
    with pytest.raises(InputError, match="FYEAR"):
        financial_year(value, hes=True)


@pytest.mark.parametrize("fy", ["2021", 2021])
def test_a_diagnoses_fy_column_holding_fyear_is_refused_not_shifted(fy):
    records = pd.DataFrame({"person_id": [1, 2], "fy": [fy, fy], "setting": "inpatient", "position": "primary",
                            "icd10": "I21.9"})
    with pytest.raises(InputError, match="column 'fy'") as caught:
        DiagnosisTable.from_frame(records)
    assert "ambiguous" in str(caught.value) and "2020/21" in str(caught.value)


@pytest.mark.parametrize("written", ["01/05/2025", "1.5.25", "01-05-2025", "01/05/2025 10:00"])
def test_a_date_of_numbers_with_day_and_month_first_is_refused_not_guessed(written):
    # 1 May in England, 5 January to pandas: the table names the rows and how to say which
    from capitation._validation import parse_dates

    with pytest.raises(InputError, match=r"could be read either way round.*dayfirst=True"):
        parse_dates(pd.DataFrame({"date": ["2025-05-01", written]}), "conditions", "date")
    assert parse_dates(pd.DataFrame({"date": ["2025-05-01", "2025-05-01"]}), "conditions", "date").nunique() == 1
