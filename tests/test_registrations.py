"""Registrations read as they come: a PDS-like extract, NHS Digital's published files, ODS successions.

Every rule of ``capitation.inputs.registrations`` against the hand-made samples in ``tests/data/nhs_digital/``
(published layouts, a few practices) and small frames built here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation.aggregation import UNASSIGNED, Membership, MembershipHistory
from capitation.errors import InputError, SchemaError
from capitation.inputs import Population
from capitation.inputs.registrations import (
    NULL_PRACTICE_CODES,
    NhsDigitalRegistrations,
    Successions,
    read_nhs_digital_registrations,
    read_registration_extract,
)

DATA = Path(__file__).parent / "data" / "nhs_digital"
MALE = DATA / "gp-reg-pat-prac-sing-age-male.csv"
FEMALE = DATA / "gp-reg-pat-prac-sing-age-female.csv"
LSOA = DATA / "gp-reg-pat-prac-lsoa-all.csv"
MAP = DATA / "gp-reg-pat-prac-map.csv"
SUCC = DATA / "succ.csv"
EXTRACT = DATA / "registration_extract_sample.csv"


def raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def extract(**columns) -> pd.DataFrame:
    """One registration per row, everyone registered all year at A81001 unless told otherwise."""
    n = len(next(iter(columns.values())))
    base = {"person_id": [f"p{k}" for k in range(n)], "practice_code": ["A81001"] * n,
            "year_month_of_birth": ["198001"] * n, "sex": ["2"] * n, "registration_start": ["2010-01-01"] * n,
            "registration_end": [""] * n, "lsoa_code": ["E01011959"] * n}
    return pd.DataFrame(base | columns)


# == Task A: the PDS-like extract =============================================================================

@pytest.fixture(scope="module")
def sample():
    return read_registration_extract(EXTRACT, outcome_year="2025/26", unknown_sex="drop")


def test_every_row_not_used_is_counted_once_under_its_reason(sample):
    assert sample.exclusions == {"registration_exact_duplicate": 1, "practice_null_code": 2,
                                 "registration_outside_outcome_year": 1, "sex_not_known": 1}
    assert sample.rows == len(raw(EXTRACT)) == 14
    # rows used + rows left out = rows read; one person's two registrations are one person
    assert len(sample.population) + sum(sample.exclusions.values()) + sample.recoded[
        "registration_folded_into_latest"] == sample.rows
    assert sample.population.person_id.tolist() == ["0001", "0002", "0005", "0007", "0009", "0010", "0011", "0012"]


def test_the_csv_is_read_as_text_so_ids_keep_their_leading_zeros(sample):
    assert sample.population.person_id[0] == "0001"
    assert isinstance(sample.population, Population)


@pytest.mark.parametrize(("born", "day", "age"), [
    ("200004", 15, 24), ("200004", 1, 25),  # April: the only month where the day matters at 1 April
    ("200003", 15, 25), ("200003", 1, 25),
    ("200005", 15, 24), ("200005", 1, 24),
    ("200012", 15, 24), ("200101", 15, 24),
])
def test_age_at_1_april_under_the_day_of_month_rule(born, day, age):
    got = read_registration_extract(extract(year_month_of_birth=[born]), outcome_year="2025/26", day_of_birth=day)
    assert got.population.age.tolist() == [age]
    assert got.day_of_birth == day


def test_the_mid_month_rule_is_the_default_and_the_first_makes_april_births_a_year_older():
    frame = extract(year_month_of_birth=["200004", "197104", "200011"])
    mid = read_registration_extract(frame, outcome_year="2025/26").population.age
    first = read_registration_extract(frame, outcome_year="2025/26", day_of_birth=1).population.age
    assert mid.tolist() == [24, 53, 24]
    assert (first - mid).tolist() == [1, 1, 0]


@pytest.mark.parametrize("day", [0, 29, 15.0, True, "15"])
def test_day_of_birth_must_be_a_day_every_month_has(day):
    with pytest.raises(InputError, match="'day_of_birth'"):
        read_registration_extract(extract(sex=["1"]), outcome_year="2025/26", day_of_birth=day)


def test_ages_are_computed_by_population_so_its_limits_hold():
    with pytest.raises(InputError, match=r"registration extract.*'age' must be >= 0 and <= 120"):
        read_registration_extract(extract(year_month_of_birth=["190001"]), outcome_year="2025/26")


def test_people_born_during_the_outcome_year_are_age_0_and_counted(sample):
    frame = extract(year_month_of_birth=["202506", "202603", "202504"],
                    registration_start=["2025-06-20", "2026-03-20", "2025-04-20"])
    got = read_registration_extract(frame, outcome_year="2025/26")
    assert got.population.age.tolist() == [0, 0, 0]
    assert got.recoded == {"born_during_outcome_year": 3}
    assert sample.recoded["born_during_outcome_year"] == 1
    with pytest.raises(InputError, match="born after 2025/26 ends"):
        read_registration_extract(extract(year_month_of_birth=["202605"]), outcome_year="2025/26")


@pytest.mark.parametrize("sex", ["0", "9", "X", "x"])
def test_unknown_sex_is_refused_by_default_naming_the_rows_and_the_fix(sex):
    frame = extract(sex=["1", sex])
    with pytest.raises(InputError, match=r"0, 9 or X \(not known\) in 1 row.*row 1 \(person_id 'p1'\).*"
                                         r"unknown_sex='drop'"):
        read_registration_extract(frame, outcome_year="2025/26")
    got = read_registration_extract(frame, outcome_year="2025/26", unknown_sex="drop")
    assert got.exclusions == {"sex_not_known": 1} and got.population.person_id.tolist() == ["p0"]


def test_sex_codes_1_2_m_and_f_are_read_and_others_refused():
    got = read_registration_extract(extract(sex=["1", "2", "M", "f", 1, 2]), outcome_year="2025/26")
    assert got.population.sex.tolist() == [1, 0, 1, 0, 1, 0]  # Population's codes: 1 male, 0 female
    with pytest.raises(InputError, match=r"must be 1 \(male\), 2 \(female\).*'U'"):
        read_registration_extract(extract(sex=["1", "U"]), outcome_year="2025/26")


def test_an_unknown_sex_on_a_row_left_out_for_another_reason_is_not_refused():
    frame = extract(sex=["1", "9"], practice_code=["A81001", "V81999"])
    assert read_registration_extract(frame, outcome_year="2025/26").exclusions == {"practice_null_code": 1}


@pytest.mark.parametrize("code", ["V81997", "V81998", "V81999", "&", "", "  "])
def test_null_practice_codes_are_no_practice_and_counted(code):
    assert set(NULL_PRACTICE_CODES) == {"V81997", "V81998", "V81999", "&"}
    got = read_registration_extract(extract(practice_code=["A81001", code]), outcome_year="2025/26")
    assert got.exclusions == {"practice_null_code": 1}
    assert got.population.practice_code.tolist() == ["A81001"]


@pytest.mark.parametrize("born", ["200013", "200000", "", "2000-04", "20000415", "abcdef", "179912"])
def test_a_malformed_month_of_birth_is_refused_naming_rows_and_the_fix(born):
    with pytest.raises(InputError, match=r"must be the month of birth as YYYYMM.*row 1 \(person_id 'p1'\).*Fix: "):
        read_registration_extract(extract(year_month_of_birth=["200004", born]), outcome_year="2025/26")


def test_a_malformed_month_of_birth_on_a_row_not_used_is_not_refused():
    frame = extract(year_month_of_birth=["200004", "200013"], registration_end=["", "2020-01-01"])
    got = read_registration_extract(frame, outcome_year="2025/26")
    assert got.exclusions == {"registration_outside_outcome_year": 1}


def test_numbers_for_months_of_birth_and_sex_are_read_as_their_digits():
    frame = extract(year_month_of_birth=[200004, 195001], sex=[2, 1])
    assert read_registration_extract(frame, outcome_year="2025/26").population.age.tolist() == [24, 75]


def test_registrations_outside_the_outcome_year_are_counted_and_left_out():
    frame = extract(registration_start=["2010-01-01", "2026-04-01", "2010-01-01", "", "2026-03-31"],
                    registration_end=["2025-04-01", "", "2025-04-02", "", ""])
    got = read_registration_extract(frame, outcome_year="2025/26")
    # the end date is the first day no longer registered: ending on 1 April 2025 is no time in 2025/26
    assert got.exclusions == {"registration_outside_outcome_year": 2}
    assert got.population.person_id.tolist() == ["p2", "p3", "p4"]
    assert got.population.exposure.tolist() == pytest.approx([1 / 365, 1.0, 1 / 365])


def test_a_registration_ending_on_or_before_it_starts_is_refused():
    frame = extract(registration_start=["2025-06-01", "2025-06-01"], registration_end=["", "2025-06-01"])
    with pytest.raises(InputError, match=r"end on or before they start.*row 1 \(person_id 'p1'\): "
                                         r"'2025-06-01 to 2025-06-01'"):
        read_registration_extract(frame, outcome_year="2025/26")


def test_a_person_who_moved_practice_is_kept_at_the_latest_with_all_their_time():
    frame = extract(person_id=["a", "a", "a", "b"], practice_code=["A81001", "A81002", "A81003", "A81001"],
                    registration_start=["2001-01-01", "2025-07-01", "2025-12-01", "2010-01-01"],
                    registration_end=["2025-06-01", "2025-11-01", "", "2025-10-01"],
                    lsoa_code=["E01000001", "E01000002", "E01000003", "E01000004"])
    got = read_registration_extract(frame, outcome_year="2025/26")
    people = got.population
    assert people.person_id.tolist() == ["a", "b"]
    assert people.practice_code.tolist() == ["A81003", "A81001"]
    assert people.lsoa_code.tolist() == ["E01000003", "E01000004"]  # the latest registration's area
    assert people.exposure.tolist() == pytest.approx([(61 + 123 + 121) / 365, 183 / 365])
    assert got.recoded == {"registration_folded_into_latest": 2, "person_moved_practice": 1}


def test_re_registering_at_the_same_practice_is_folded_but_is_not_a_move():
    frame = extract(person_id=["a", "a"], registration_start=["2001-01-01", "2025-10-01"],
                    registration_end=["2025-06-01", ""])
    got = read_registration_extract(frame, outcome_year="2025/26", multiple_registrations="raise")
    assert got.recoded == {"registration_folded_into_latest": 1}
    assert got.population.exposure.tolist() == pytest.approx([(61 + 182) / 365])


def test_multiple_registrations_raise_refuses_people_at_two_practices():
    frame = extract(person_id=["a", "a"], practice_code=["A81001", "A81002"],
                    registration_start=["2001-01-01", "2025-10-01"], registration_end=["2025-10-01", ""])
    with pytest.raises(InputError, match=r"1 person\(s\).*more than one practice.*'a' at \['A81001', 'A81002'\]"):
        read_registration_extract(frame, outcome_year="2025/26", multiple_registrations="raise")
    with pytest.raises(InputError, match="'multiple_registrations'"):
        read_registration_extract(frame, outcome_year="2025/26", multiple_registrations="first")


def test_overlapping_registrations_of_one_person_are_refused():
    frame = extract(person_id=["a", "a"], practice_code=["A81001", "A81002"],
                    registration_start=["2001-01-01", "2025-10-01"], registration_end=["2025-10-02", ""])
    with pytest.raises(InputError, match=r"overlapping an earlier one of the same person.*person_id 'a' at rows "
                                         r"\[0, 1\].*one list at a time"):
        read_registration_extract(frame, outcome_year="2025/26")


def test_details_that_differ_between_a_persons_rows_are_counted_and_the_latest_used():
    frame = extract(person_id=["a", "a"], sex=["1", "2"], year_month_of_birth=["198001", "198001"],
                    registration_start=["2001-01-01", "2025-10-01"], registration_end=["2025-10-01", ""])
    got = read_registration_extract(frame, outcome_year="2025/26")
    assert got.recoded["person_details_differ"] == 1 and got.population.sex.tolist() == [0]


def test_exact_duplicate_rows_are_used_once():
    frame = extract(person_id=["a", "a"])
    got = read_registration_extract(frame, outcome_year="2025/26")
    assert got.exclusions == {"registration_exact_duplicate": 1} and len(got.population) == 1


def test_columns_rename_the_fields_and_registration_end_may_be_absent():
    frame = extract(sex=["1"]).drop(columns="registration_end").rename(
        columns={"person_id": "NHS_NUMBER_PSEUDO", "year_month_of_birth": "YOB_MOB"})
    got = read_registration_extract(frame, outcome_year="2025/26",
                                    columns={"person_id": "NHS_NUMBER_PSEUDO", "year_month_of_birth": "YOB_MOB"})
    assert got.population.person_id.tolist() == ["p0"] and got.population.exposure.tolist() == [1.0]
    with pytest.raises(SchemaError, match=r"lacks the field\(s\) \['YOB_MOB'\].*columns="):
        read_registration_extract(frame.drop(columns="YOB_MOB"), outcome_year="2025/26",
                                  columns={"person_id": "NHS_NUMBER_PSEUDO", "year_month_of_birth": "YOB_MOB"})
    with pytest.raises(InputError, match=r"names field\(s\) \['dob'\]"):
        read_registration_extract(frame, outcome_year="2025/26", columns={"dob": "YOB_MOB"})


def test_options_are_checked():
    with pytest.raises(InputError, match="'outcome_year'"):
        read_registration_extract(extract(sex=["1"]), outcome_year="2021")  # ambiguous: HES's FYEAR or 2021/22
    with pytest.raises(InputError, match="'unknown_sex'"):
        read_registration_extract(extract(sex=["1"]), outcome_year="2025/26", unknown_sex="keep")


def test_population_errors_name_the_extract_and_its_fields():
    with pytest.raises(InputError, match=r"Reading the registration extract \(fields .*'lsoa_code'.*must not be "
                                         r"empty"):
        read_registration_extract(extract(lsoa_code=[" "]), outcome_year="2025/26")


def test_the_summary_lists_every_count(sample):
    text = sample.summary()
    assert text.splitlines()[0] == "Registrations for 2025/26: 8 people at 7 practices, 7.45 person-years, from 14 rows"
    for reason in ("registration exact duplicate", "practice null code", "registration outside outcome year",
                   "sex not known", "registration folded into latest", "born during outcome year", "day 15"):
        assert reason in text


# == Task B: NHS Digital's files ==============================================================================

@pytest.fixture(scope="module")
def published() -> NhsDigitalRegistrations:
    return read_nhs_digital_registrations(MALE, FEMALE, lsoa=LSOA, practice_map=MAP)


def _all_rows(path: Path) -> pd.Series:
    frame = raw(path)
    rows = frame[frame["AGE"] == "ALL"]
    return rows.set_index("ORG_CODE")["NUMBER_OF_PATIENTS"].astype(int)


def test_list_sizes_are_the_all_rows_male_plus_female(published):
    male, female = _all_rows(MALE), _all_rows(FEMALE)
    sizes = published.list_sizes
    assert sizes["male"].to_dict() == male.to_dict()
    assert sizes["female"].to_dict() == female.to_dict()
    assert sizes["list_size"].to_dict() == (male + female).to_dict()
    assert sizes.index.tolist() == ["A81001", "A81002", "B82005", "M85001"]
    assert published.extract_date == pd.Timestamp("2025-07-01") and published.publication == "GP_PRAC_PAT_LIST"


def test_95_plus_is_read_as_one_age_and_the_single_ages_sum_to_all(published):
    by_age = published.by_age
    assert by_age["age"].between(0, 95).all()
    old = by_age[(by_age["practice_code"] == "A81001") & (by_age["age"] == 95)].set_index("sex")["patients"]
    assert old.to_dict() == {"F": 9, "M": 3}  # the sample's 95+ rows
    for path, sex in ((MALE, "M"), (FEMALE, "F")):
        frame = raw(path)
        over = frame[frame["AGE"] == "95+"].set_index("ORG_CODE")["NUMBER_OF_PATIENTS"].astype(int)
        got = by_age[(by_age["sex"] == sex) & (by_age["age"] == 95)].set_index("practice_code")["patients"]
        assert got.to_dict() == over.to_dict()
    summed = by_age.groupby(["practice_code", "sex"])["patients"].sum().unstack()
    assert summed["M"].to_dict() == published.list_sizes["male"].to_dict()
    assert summed["F"].to_dict() == published.list_sizes["female"].to_dict()


def test_a_practice_whose_ages_do_not_sum_to_its_all_row_is_refused_naming_both_totals():
    frame = raw(MALE)
    frame.loc[(frame["ORG_CODE"] == "A81002") & (frame["AGE"] == "40"), "NUMBER_OF_PATIENTS"] = "0"
    ages_40 = int(raw(MALE).query("ORG_CODE == 'A81002' and AGE == '40'")["NUMBER_OF_PATIENTS"].iloc[0])
    with pytest.raises(InputError, match=rf"'sing_age_male' file's single ages do not sum to the ALL row for 1 "
                                         rf"practice\(s\): A81002: 0 to 95\+ sum to {4310 - ages_40:,}, ALL is 4,310"):
        read_nhs_digital_registrations(frame, FEMALE)


def test_a_practice_without_an_all_row_is_refused():
    frame = raw(FEMALE)
    frame = frame[~((frame["ORG_CODE"] == "B82005") & (frame["AGE"] == "ALL"))]
    with pytest.raises(InputError, match=r"no ALL row for 1 practice\(s\): \['B82005'\]"):
        read_nhs_digital_registrations(MALE, frame)


def test_an_age_given_twice_is_refused_as_in_may_2024():
    frame = raw(MALE)
    repeat = frame[(frame["ORG_CODE"] == "A81001") & (frame["AGE"] == "95+")]
    with pytest.raises(InputError, match=r"A81001 age 95\+.*May 2024"):
        read_nhs_digital_registrations(pd.concat([frame, repeat]), FEMALE)


@pytest.mark.parametrize("age", ["95", "100", "-1", "0_4", ""])
def test_ages_outside_the_publication_are_refused(age):
    frame = raw(MALE)
    frame.loc[0, "AGE"] = age
    with pytest.raises(InputError, match=r"AGE must be 0 to 94, 95\+ or ALL"):
        read_nhs_digital_registrations(frame, FEMALE)


@pytest.mark.parametrize("count", ["-1", "2.5", "", "1,200", "*"])
def test_counts_must_be_whole_numbers_of_people(count):
    frame = raw(MALE)
    frame.loc[0, "NUMBER_OF_PATIENTS"] = count
    with pytest.raises(InputError, match="NUMBER_OF_PATIENTS must hold whole numbers"):
        read_nhs_digital_registrations(frame, FEMALE)


def test_the_files_must_be_passed_as_the_sexes_they_hold():
    with pytest.raises(InputError, match="'sing_age_male' file must hold SEX MALE only"):
        read_nhs_digital_registrations(FEMALE, MALE)


@pytest.mark.parametrize("written", ["01Jul2022", "01JUL2022", "1Jul2022", "2022-07-01", "01/07/2022", "20220701",
                                     " 01jul2022 "])
def test_extract_dates_in_every_published_form(written):
    male, female = raw(MALE).assign(EXTRACT_DATE=written), raw(FEMALE).assign(EXTRACT_DATE="2022-07-01")
    got = read_nhs_digital_registrations(male, female)
    assert got.extract_date == pd.Timestamp("2022-07-01")


@pytest.mark.parametrize("written", ["July 2022", "31Jun2022", "01Jux2022", "2022/07/01", "", "07/2022"])
def test_extract_dates_in_no_published_form_are_refused(written):
    with pytest.raises(InputError, match=r"EXTRACT_DATE .* is not a date in any of the publication's forms"):
        read_nhs_digital_registrations(raw(MALE).assign(EXTRACT_DATE=written), FEMALE)


def test_the_two_single_age_files_must_be_of_one_extract():
    with pytest.raises(InputError, match="different extracts: 'sing_age_male' of 2025-06-01"):
        read_nhs_digital_registrations(raw(MALE).assign(EXTRACT_DATE="01Jun2025"), FEMALE)
    mixed = raw(MALE)
    mixed.loc[0, "EXTRACT_DATE"] = "2025-06-01"
    with pytest.raises(InputError, match="holds 2 extract dates"):
        read_nhs_digital_registrations(mixed, FEMALE)


def test_older_and_newer_field_names_are_both_read():
    renamed = raw(MALE).rename(columns={"TYPE": "ORG_TYPE", "NUMBER_OF_PATIENTS": "Number of Patients",
                                        "SUB_ICB_LOCATION_CODE": "CCG_CODE"})
    older = raw(FEMALE).rename(columns={"ORG_CODE": "CODE", "NUMBER_OF_PATIENTS": "number of patients"})
    got = read_nhs_digital_registrations(renamed, older)
    assert got.list_sizes["list_size"].sum() == 20_133
    with pytest.raises(SchemaError, match="lacks the field ORG_CODE or CODE or PRACTICE_CODE"):
        read_nhs_digital_registrations(raw(MALE).drop(columns="ORG_CODE"), FEMALE)


def test_rows_of_another_organisation_type_are_counted_and_left_out():
    frame = raw(MALE)
    extra = frame[frame["ORG_CODE"] == "A81001"].assign(TYPE="PCN", ORG_CODE="U89141")
    got = read_nhs_digital_registrations(pd.concat([frame, extra]), FEMALE)
    assert got.excluded == {"sing_age_male_rows_not_gp_practice": len(extra)}
    assert "U89141" not in got.list_sizes.index


def test_a_practice_in_one_sex_file_only_is_counted_with_zero_of_the_other():
    female = raw(FEMALE)
    got = read_nhs_digital_registrations(MALE, female[female["ORG_CODE"] != "M85001"])
    assert got.unmatched["in_one_sex_file_only"] == ("M85001",)
    assert got.list_sizes.loc["M85001"].to_dict() == {"female": 0, "male": 1203, "list_size": 1203}


def test_age_bands_sum_the_single_ages(published):
    bands = published.age_bands()
    assert bands["age_band"].cat.categories[[0, 1, -1]].tolist() == ["0-4", "5-9", "95+"]
    assert len(bands) == 4 * 2 * 20  # every practice, sex and band, zeros included
    total = bands.groupby("practice_code")["patients"].sum()
    assert total.to_dict() == published.list_sizes["list_size"].to_dict()
    by_age = published.by_age
    young = by_age[(by_age["age"] < 5) & (by_age["sex"] == "F") & (by_age["practice_code"] == "B82005")]
    got = bands.query("practice_code == 'B82005' and sex == 'F' and age_band == '0-4'")["patients"]
    assert got.tolist() == [young["patients"].sum()]
    with pytest.raises(InputError, match="'edges'"):
        published.age_bands(edges=(5, 10))
    with pytest.raises(InputError, match="'edges'"):
        published.age_bands(edges=(0, 50, 100))


# -- the LSOA files ---------------------------------------------------------------------------------------------

def test_lsoa_totals_that_agree_leave_no_differences(published):
    assert published.lsoa_differences.empty
    assert published.lsoa_extract_date == pd.Timestamp("2025-07-01")
    assert published.lsoa.groupby("practice_code")["patients"].sum().to_dict() == \
        published.list_sizes["list_size"].to_dict()


def test_lsoa_totals_that_differ_are_reported_not_picked():
    lsoa = raw(LSOA)
    lsoa.loc[lsoa["PRACTICE_CODE"] == "B82005", "NUMBER_OF_PATIENTS"] = ["3963", "1376"]
    got = read_nhs_digital_registrations(MALE, FEMALE, lsoa=lsoa)
    assert got.lsoa_differences.to_dict("records") == [
        {"practice_code": "B82005", "sex": "ALL", "list_size": 5336, "lsoa_total": 5339, "difference": 3}]
    assert got.list_sizes.loc["B82005", "list_size"] == 5336  # the lists are not changed
    assert "LSOA totals differ from the lists for 1 practice(s), +3 people" in got.summary()


def test_lsoa_files_by_sex_are_compared_sex_by_sex():
    lsoa = raw(LSOA)
    sizes = read_nhs_digital_registrations(MALE, FEMALE).list_sizes
    male = lsoa.drop_duplicates("PRACTICE_CODE").assign(SEX="MALE", NUMBER_OF_PATIENTS=sizes["male"].to_numpy())
    female = male.assign(SEX="FEMALE", NUMBER_OF_PATIENTS=sizes["female"].to_numpy() - np.array([0, 0, 0, 2]))
    got = read_nhs_digital_registrations(MALE, FEMALE, lsoa=[male, female])
    assert got.lsoa_differences[["practice_code", "sex", "difference"]].values.tolist() == [["M85001", "F", -2]]
    with pytest.raises(InputError, match="appear more than once"):
        read_nhs_digital_registrations(MALE, FEMALE, lsoa=[male, male])


def test_practices_missing_from_the_lsoa_file_are_counted():
    lsoa = raw(LSOA)
    got = read_nhs_digital_registrations(MALE, FEMALE, lsoa=lsoa[lsoa["PRACTICE_CODE"] != "A81002"])
    assert got.unmatched["not_in_lsoa"] == ("A81002",)


# -- the practice map and the membership ------------------------------------------------------------------------

def test_practices_the_map_and_the_lists_do_not_share_are_counted(published):
    assert published.unmatched == {"not_in_map": ("M85001",), "not_in_lists": ("B82099",),
                                   "without_PCN": ("B82099",)}
    assert published.map_layout == "sub-ICB" and published.map_extract_date == pd.Timestamp("2025-07-01")
    text = published.summary()
    assert "practices not in map: 1 (M85001)" in text and "practices not in lists: 1 (B82099)" in text


@pytest.mark.parametrize(("level", "codes", "names"), [
    ("ICB", ["QHM", "QHM", "QOQ"], "NHS NORTH EAST AND NORTH CUMBRIA INTEGRATED CARE BOARD"),
    ("sub-ICB", ["16C", "16C", "42D"], "NHS NORTH EAST AND NORTH CUMBRIA ICB - 16C"),
    ("PCN", ["U89141", "U89141", "U52330"], "STOCKTON PCN"),
    ("region", ["Y63", "Y63", "Y63"], "NORTH EAST AND YORKSHIRE"),
])
def test_membership_at_each_level_of_the_map(published, level, codes, names):
    members = Membership.from_nhs_digital(published, level=level)
    assert members.level == level
    assert members.practices == ["A81001", "A81002", "B82005"]  # M85001 is not in the map; B82099 has no list
    assert members.consortium_of(members.practices).tolist() == codes
    assert members.names()[codes[0]] == names
    assert members.practice_names.tolist() == ["THE DENSHAM SURGERY", "QUEENS PARK MEDICAL CENTRE",
                                               "PRIORY MEDICAL GROUP"]


def test_membership_list_sizes_are_the_all_rows(published):
    members = Membership.from_nhs_digital(published)
    expected = (_all_rows(MALE) + _all_rows(FEMALE)).astype(float)
    assert members.list_sizes.to_dict() == expected.drop("M85001").to_dict()
    assert members.list_source == ("NHS Digital's Patients Registered at a GP Practice (GP_PRAC_PAT_LIST), extract "
                                   "of 2025-07-01")


def test_membership_is_dated_from_the_extract_or_for_a_financial_year(published):
    snapshot = Membership.from_nhs_digital(published)
    assert (snapshot.valid_from, snapshot.valid_to) == (pd.Timestamp("2025-07-01"), None)
    assert not snapshot.in_force("2025-06-30") and snapshot.in_force("2030-01-01")
    budget = Membership.from_nhs_digital(published, "ICB", year="2025/26")
    assert (budget.valid_from, budget.valid_to) == (pd.Timestamp("2025-04-01"), pd.Timestamp("2026-04-01"))
    history = MembershipHistory([budget, Membership.from_nhs_digital(published, "ICB", year="2026/27")])
    assert history.as_of("2026-05-01").valid_from == pd.Timestamp("2026-04-01")


def test_pcn_membership_leaves_out_practices_without_a_pcn_and_counts_them():
    frame = raw(MAP)
    frame.loc[frame["PRACTICE_CODE"] == "A81002", ["PCN_CODE", "PCN_NAME"]] = ""
    got = read_nhs_digital_registrations(MALE, FEMALE, practice_map=frame)
    assert got.unmatched["without_PCN"] == ("A81002", "B82099")
    assert Membership.from_nhs_digital(got, "PCN").practices == ["A81001", "B82005"]
    assert Membership.from_nhs_digital(got, "ICB").practices == ["A81001", "A81002", "B82005"]


def test_membership_needs_the_map_and_a_known_level(published):
    with pytest.raises(InputError, match="without a practice map"):
        Membership.from_nhs_digital(read_nhs_digital_registrations(MALE, FEMALE))
    with pytest.raises(InputError, match=r"'level'.*\['ICB', 'sub-ICB', 'PCN', 'region'\]"):
        Membership.from_nhs_digital(published, level="CCG")
    with pytest.raises(InputError, match="read_nhs_digital_registrations"):
        Membership.from_nhs_digital(raw(MAP))


def test_the_map_before_july_2022_reads_ccgs_and_stps():
    legacy = raw(MAP).rename(columns={"SUB_ICB_LOCATION_CODE": "CCG_CODE", "ONS_SUB_ICB_LOCATION_CODE": "ONS_CCG_CODE",
                                      "SUB_ICB_LOCATION_NAME": "CCG_NAME", "ICB_CODE": "STP_CODE",
                                      "ONS_ICB_CODE": "ONS_STP_CODE", "ICB_NAME": "STP_NAME"})
    got = read_nhs_digital_registrations(MALE, FEMALE, practice_map=legacy)
    assert got.map_layout == "CCG"
    sub = Membership.from_nhs_digital(got, "sub-ICB")
    assert sub.consortium_of(sub.practices).tolist() == ["16C", "16C", "42D"]
    assert Membership.from_nhs_digital(got, "ICB").consortia == ["QHM", "QOQ"]


def test_a_practice_twice_in_the_map_is_refused_as_in_may_2024():
    frame = raw(MAP)
    with pytest.raises(InputError, match=r"1 practice\(s\) more than once: \['A81001'\].*K82057"):
        read_nhs_digital_registrations(MALE, FEMALE, practice_map=pd.concat([frame, frame.iloc[[0]]]))


def test_a_map_of_another_month_is_named_in_the_summary():
    got = read_nhs_digital_registrations(MALE, FEMALE, practice_map=raw(MAP).assign(EXTRACT_DATE="01Jun2025"))
    assert got.map_extract_date == pd.Timestamp("2025-06-01")
    assert "the map are of another extract: 2025-06-01" in got.summary()


# == Task C: successions ======================================================================================

@pytest.fixture(scope="module")
def succession() -> Successions:
    return Successions.read(SUCC)


def test_the_published_headerless_file_is_read(succession):
    table = succession.table
    assert len(table) == len(pd.read_csv(SUCC, header=None)) == 5
    assert table.columns.tolist() == ["predecessor_code", "successor_code", "reason", "effective_date", "indicator"]
    assert table["effective_date"].min() == pd.Timestamp("2023-04-01")
    assert succession.duplicates == 0


def test_chains_are_followed(succession):
    got = succession.resolve(["A81004", "A81003", "A81001"])
    assert got.codes.tolist() == ["A81001", "A81001", "A81001"]
    assert got.table.set_index("code")["steps"].to_dict() == {"A81003": 1, "A81004": 2}
    assert got.mapped == 2


def test_only_successions_in_force_on_the_day_apply(succession):
    assert succession.resolve(["A81004"], at="2023-12-31").codes.tolist() == ["A81003"]  # the second step is later
    assert succession.resolve(["A81004"], at="2022-01-01").codes.tolist() == ["A81004"]
    assert succession.resolve(["A81004"], at="2024-04-01").codes.tolist() == ["A81001"]  # in force on its day
    # M85010 -> M85001 takes effect on 1 April 2026: not in force in 2025/26
    assert succession.resolve(["M85010"], at="2025/26").codes.tolist() == ["M85010"]
    assert succession.resolve(["M85010"], at="2025/26").mapped == 0
    assert succession.resolve(["M85010"]).codes.tolist() == ["M85001"]


def test_a_cycle_is_refused_naming_it():
    succ = Successions.read(pd.DataFrame({"predecessor_code": ["A1", "B1", "C1", "X1"],
                                          "successor_code": ["B1", "C1", "A1", "A1"],
                                          "effective_date": ["20200401", "20210401", "20220401", "20190401"]}))
    with pytest.raises(InputError, match=r"cycle: (A1 → B1 → C1 → A1|B1 → C1 → A1 → B1|C1 → A1 → B1 → C1)"):
        succ.resolve(["Z9"])  # a cycle anywhere among the successions in force
    assert succ.resolve(["X1", "B1"], at="2021-06-01").codes.tolist() == ["C1", "C1"]  # before the cycle closes


def test_a_code_succeeded_by_itself_is_a_cycle():
    succ = Successions.read(pd.DataFrame([["A1", "A1", "", "20200401", ""]]))
    with pytest.raises(InputError, match="cycle: A1 → A1"):
        succ.resolve(["A1"])


def test_two_successors_on_one_day_are_refused_and_the_latest_day_wins():
    split = Successions.read(pd.DataFrame({"predecessor_code": ["A1", "A1"], "successor_code": ["B1", "C1"],
                                           "effective_date": ["20200401", "20200401"]}))
    with pytest.raises(InputError, match=r"A1 → \['B1', 'C1'\] on 2020-04-01"):
        split.resolve(["A1"])
    later = Successions.read(pd.DataFrame({"predecessor_code": ["A1", "A1"], "successor_code": ["B1", "C1"],
                                           "effective_date": ["20200401", "20220401"]}))
    assert later.resolve(["A1"], at="2021-01-01").codes.tolist() == ["B1"]
    assert later.resolve(["A1"]).codes.tolist() == ["C1"]


def test_frames_with_named_columns_iso_dates_and_duplicates():
    frame = pd.DataFrame({"predecessor_code": ["A1", "A1"], "successor_code": ["B1", "B1"],
                          "effective_date": ["2020-04-01", "2020-04-01"], "reason": ["Merger", "Merger"]})
    succ = Successions.read(frame)
    assert succ.duplicates == 1 and succ.table["reason"].tolist() == ["Merger"]
    dated = Successions.read(frame.assign(effective_date=pd.to_datetime(frame["effective_date"])))
    assert dated.table["effective_date"].tolist() == [pd.Timestamp("2020-04-01")]


def test_bad_successions_are_refused_naming_rows():
    with pytest.raises(InputError, match=r"'effective_date' must be a date.*row 1: '2020-13-01'"):
        Successions.read(pd.DataFrame([["A1", "B1", "", "20200401", ""], ["C1", "D1", "", "2020-13-01", ""]]))
    with pytest.raises(InputError, match=r"'successor_code' is blank at row 0"):
        Successions.read(pd.DataFrame([["A1", " ", "", "20200401", ""]]))
    with pytest.raises(SchemaError, match="lacks the column"):
        Successions.read(pd.DataFrame({"old": ["A1"], "new": ["B1"]}))
    with pytest.raises(InputError, match="does not exist"):
        Successions.read(DATA / "no-such-succ.csv")


def test_at_takes_dates_and_financial_years(succession):
    assert succession.resolve(["B82010"], at="2025/26").at == pd.Timestamp("2025-04-01")
    assert succession.resolve(["B82010"], at=pd.Timestamp("2025-03-31")).codes.tolist() == ["B82010"]
    assert succession.resolve(["B82010"], at="20250401").codes.tolist() == ["B82005"]
    with pytest.raises(InputError, match="'at'"):
        succession.resolve(["B82010"], at="soon")


def test_mapped_counts_every_code_given_repeats_included(succession):
    got = succession.resolve(["B82010", "B82010", "B82011", "A81001"], at="2025/26")
    assert got.mapped == 3 and len(got.table) == 2
    assert got.table.set_index("code")["count"].to_dict() == {"B82010": 2, "B82011": 1}


def test_missing_codes_stay_missing(succession):
    assert succession.resolve(np.array(["A81003", None], dtype=object)).codes.tolist() == ["A81001", None]


def test_the_merger_keeps_the_look_back_people_with_the_allocation_years_practice(sample, succession, published):
    """Two practices (B82010, B82011) merged into B82005 on 1 April 2025, and A81003 into A81001 in 2024.

    The look-back extract still places their people at the old codes, which the 2025/26 membership does not
    list; mapped onto the successors, every one of them is funded with the practice that now holds their list.
    """
    people = sample.population
    members = Membership.from_nhs_digital(published, "ICB", year="2025/26")
    before = pd.Series(members.consortium_of(people.practice_code, unassigned="line"))
    assert (before == UNASSIGNED).sum() == 4  # A81003, B82010, B82011 (merged) and M85001 (not in the map)

    resolved = succession.resolve(people.practice_code, at="2025/26")
    assert resolved.mapped == 3
    assert resolved.table[["code", "successor", "count"]].values.tolist() == [
        ["A81003", "A81001", 1], ["B82010", "B82005", 1], ["B82011", "B82005", 1]]

    merged = succession.remap_population(people, at="2025/26")
    assert merged is not people and isinstance(merged, Population)
    counts = pd.Series(merged.practice_code).value_counts().to_dict()
    assert counts == {"A81001": 3, "B82005": 3, "A81002": 1, "M85001": 1}
    after = pd.Series(members.consortium_of(merged.practice_code, unassigned="line"))
    assert (after == UNASSIGNED).sum() == 1  # only M85001, which the map does not hold
    assert after.value_counts().to_dict() == {"QHM": 4, "QOQ": 3, UNASSIGNED: 1}
    # the people are the same people: ids, ages, sexes, areas and exposures unchanged
    for name in ("person_id", "sex", "age", "lsoa_code", "exposure"):
        assert np.array_equal(getattr(merged, name), getattr(people, name))
    assert people.practice_code.tolist().count("B82010") == 1  # the original population is unchanged


def test_remapping_as_of_an_earlier_year_applies_only_the_successions_then(sample, succession):
    earlier = succession.remap_population(sample.population, at="2024/25")
    assert pd.Series(earlier.practice_code).value_counts()[["B82010", "B82011"]].tolist() == [1, 1]
    assert "A81003" not in earlier.practice_code
    with pytest.raises(InputError, match="must be a Population"):
        succession.remap_population(sample.population.to_frame())


def test_the_resolution_summary_names_what_was_mapped(sample, succession):
    text = succession.resolve(sample.population.practice_code, at="2025/26").summary()
    assert text.splitlines()[0] == "3 of 8 codes mapped onto successors (3 distinct), as of 2025-04-01"
    assert "B82011 → B82005 (1 step, 1)" in text
