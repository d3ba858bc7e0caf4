"""GP coded records to registers: hand cases, the shipped rules and refset sample, bad inputs, and a naive twin."""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capitation import FeatureSpec, encode
from capitation.errors import InputError, SchemaError
from capitation.inputs import ConditionTable
from capitation.inputs.gp import (
    OBSERVATION_REASONS,
    QOF_RULES,
    REGISTER_REASONS,
    RegisterRule,
    conditions_from_gp_records,
    read_pcd_refsets,
    read_register_rules,
)

SAMPLE = Path(__file__).parent / "data" / "pcd_refset_sample.txt"
RULES_JSON = Path(__file__).parents[1] / "src" / "capitation" / "inputs" / "data" / "register_rules.json"
AT = "2025-03-31"

# Real codes of the sample (NHS England's PCD refsets): diabetes, diabetes resolved, hypertension, and one code
# that is in both the diabetes and the PAD clusters ("peripheral angiopathy due to diabetes mellitus").
DM, DMRES, HYP, DM_AND_PAD = "5368009", "315051004", "1201005", "127014009"
DM_RULE = {"register": "DM", "diagnosis": ["DM_COD"], "resolved": ["DMRES_COD"], "min_age": 17}
SMALL_REFSETS = pd.DataFrame({"Cluster_ID": ["DM_COD", "DMRES_COD", "HYP_COD", "DM_COD", "PAD_COD", "BMIVAL_COD"],
                              "SNOMED_code": [DM, DMRES, HYP, DM_AND_PAD, DM_AND_PAD, "60621009"]})


def observations(*rows) -> pd.DataFrame:
    """(person, date, code) rows as the reader's frame."""
    return pd.DataFrame(rows, columns=["person_id", "date", "snomed_code"])


def run(obs, rules=(DM_RULE,), refsets=SMALL_REFSETS, **kw):
    kw.setdefault("at", AT)
    return conditions_from_gp_records(obs, refsets, list(rules), **kw)


def registers(result) -> set:
    return set(result.table[["person_id", "register"]].itertuples(index=False, name=None))


# -- the rule, by hand ----------------------------------------------------------------------------------------

def test_diagnosed_then_resolved_is_off_and_re_diagnosed_is_on():
    born = pd.DataFrame({"person_id": [1, 2], "date_of_birth": ["1970-01-01", "1970-01-01"]})
    result = run(observations((1, "2019-05-01", DM), (1, "2021-05-01", DMRES),
                              (2, "2019-05-01", DM), (2, "2021-05-01", DMRES), (2, "2023-05-01", DM)), people=born)
    assert registers(result) == {(2, "DM")}
    assert result.table["date"].tolist() == [pd.Timestamp("2023-05-01")]  # the latest diagnosis code's date
    assert result.left_off == {"resolved": 1}
    assert result.by_register.loc["DM", "resolved"] == 1


@pytest.mark.parametrize(("born", "on"), [("2008-04-01", False), ("2008-03-31", True), ("2008-03-30", True)])
def test_diabetes_needs_age_17_at_the_reference_date(born, on):
    result = run(observations((1, "2024-01-01", DM)),
                 people=pd.DataFrame({"person_id": [1], "date_of_birth": [born]}))
    assert (registers(result) == {(1, "DM")}) is on  # 16 the day before the 17th birthday: off
    assert result.left_off == ({} if on else {"under_age": 1})


def test_year_month_of_birth_is_read_as_the_last_day_of_the_month():
    # Born in March 2008: on 15 March 2025 they may still be 16, so they are; on 31 March they are 17.
    people = pd.DataFrame({"person_id": [1], "year_month_of_birth": ["200803"]})
    obs = observations((1, "2024-01-01", DM))
    assert run(obs, at="2025-03-15", people=people).left_off == {"under_age": 1}
    assert registers(run(obs, at="2025-03-31", people=people)) == {(1, "DM")}
    # a whole number (a CSV column read as numbers), and a column with missing months (floats, NaN)
    as_int = pd.DataFrame({"person_id": [1, 2], "year_month_of_birth": [200803.0, np.nan]})
    result = run(observations((1, "2024-01-01", DM), (2, "2024-01-01", DM)), at="2025-03-31", people=as_int)
    assert registers(result) == {(1, "DM")} and result.left_off == {"age_unknown": 1}
    # the full date wins where both are given
    both = pd.DataFrame({"person_id": [1], "year_month_of_birth": ["200803"], "date_of_birth": ["2008-03-01"]})
    assert registers(run(obs, at="2025-03-15", people=both)) == {(1, "DM")}


def test_born_on_29_february_turns_17_on_1_march():
    people = pd.DataFrame({"person_id": [1], "date_of_birth": ["2008-02-29"]})
    obs = observations((1, "2024-01-01", DM))
    assert run(obs, at="2025-02-28", people=people).left_off == {"under_age": 1}
    assert registers(run(obs, at="2025-03-01", people=people)) == {(1, "DM")}


def test_someone_born_after_the_reference_date_is_under_age_not_of_unknown_age():
    result = run(observations((1, "2024-01-01", DM)),
                 people=pd.DataFrame({"person_id": [1], "date_of_birth": ["2025-06-01"]}))
    assert result.left_off == {"under_age": 1}


def test_a_rule_with_an_age_counts_people_without_a_birth_date():
    result = run(observations((1, "2024-01-01", DM)))  # no people=
    assert result.table.empty and result.left_off == {"age_unknown": 1}
    result = run(observations((1, "2024-01-01", DM), (2, "2024-01-01", DM)),
                 people=pd.DataFrame({"person_id": [1, 2], "date_of_birth": ["1970-01-01", None]}))
    assert registers(result) == {(1, "DM")} and result.left_off == {"age_unknown": 1}


def test_a_resolved_code_on_the_day_of_the_latest_diagnosis_leaves_the_person_on():
    # QOF: the resolved date is that of a resolved code "recorded after the most recent diagnosis"; rule 1 reads
    # "the latest diagnosis is not followed by a resolved code". One day later takes them off.
    rules = [{"register": "DM", "diagnosis": ["DM_COD"], "resolved": ["DMRES_COD"]}]
    same_day = run(observations((1, "2022-06-01", DM), (1, "2022-06-01", DMRES)), rules)
    assert registers(same_day) == {(1, "DM")}
    next_day = run(observations((1, "2022-06-01", DM), (1, "2022-06-02", DMRES)), rules)
    assert registers(next_day) == set() and next_day.left_off == {"resolved": 1}


def test_a_code_in_two_clusters_feeds_both():
    rules = [{"register": "DM", "diagnosis": ["DM_COD"]}, {"register": "PAD", "diagnosis": ["PAD_COD"]}]
    result = run(observations((1, "2022-06-01", DM_AND_PAD)), rules)
    assert registers(result) == {(1, "DM"), (1, "PAD")}
    assert result.not_used == {} and result.observations == 1


def test_a_cluster_may_serve_two_rules():
    rules = [{"register": "DM", "diagnosis": ["DM_COD"], "resolved": ["DMRES_COD"]},
             {"register": "EVERDM", "diagnosis": ["DM_COD"]}]
    result = run(observations((1, "2019-01-01", DM), (1, "2020-01-01", DMRES)), rules)
    assert registers(result) == {(1, "EVERDM")}


def test_observations_after_the_reference_date_are_left_out_and_counted():
    rules = [{"register": "DM", "diagnosis": ["DM_COD"], "resolved": ["DMRES_COD"]}]
    obs = observations((1, "2020-01-01 00:00", DM), (1, "2025-04-01 00:00", DMRES),  # resolved after `at`: on
                       (2, "2025-04-01 00:00", DM),                                    # diagnosed after: not on
                       (3, "2025-03-31 23:59", DM))                                    # on `at` (time dropped)
    result = run(obs, rules)
    assert registers(run(obs.assign(date=pd.to_datetime(obs["date"])), rules)) == registers(result)
    assert registers(result) == {(1, "DM"), (3, "DM")}
    assert result.not_used == {"after_reference_date": 2}


def test_codes_in_no_cluster_and_in_clusters_no_rule_reads_are_counted():
    rules = [{"register": "HYP", "diagnosis": ["HYP_COD"]}]
    result = run(observations((1, "2020-01-01", HYP), (1, "2020-01-01", "60621009"),  # BMIVAL_COD: no rule reads it
                              (1, "2020-01-01", "999999999"), (2, "2020-01-01", DM)), rules)
    assert registers(result) == {(1, "HYP")}
    assert result.not_used == {"not_in_any_cluster": 1, "cluster_not_in_rules": 2}


def test_each_observation_is_counted_once_under_the_first_reason():
    people = pd.DataFrame({"person_id": [1], "date_of_birth": ["1970-01-01"]})
    result = run(observations((9, "2026-01-01", "999999999"),   # after `at` first
                              (9, "2020-01-01", "999999999"),   # then an unknown person
                              (1, "2020-01-01", "999999999"),   # then a code in no cluster
                              (1, "2020-01-01", DM)), people=people)
    assert result.not_used == {"after_reference_date": 1, "unknown_person": 1, "not_in_any_cluster": 1}
    assert list(result.not_used) == [k for k in OBSERVATION_REASONS if k in result.not_used]
    assert result.observations - sum(result.not_used.values()) == 1


def test_diagnosed_since_reads_the_latest_diagnosis_code():
    rules = [{"register": "DEP", "diagnosis": ["DM_COD"], "diagnosed_since": "2006-04-01"}]
    result = run(observations((1, "2006-03-31", DM), (2, "2001-01-01", DM), (2, "2006-04-01", DM)), rules)
    assert registers(result) == {(2, "DEP")}
    assert result.left_off == {"diagnosed_before_since": 1}


def test_long_codes_survive_as_text_and_as_integers():
    long = ["1234567890123456", "999012891000230104"]  # 16 digits, 18 digits (a float would change both)
    refsets = pd.DataFrame({"Cluster_ID": ["LONG_COD", "LONG_COD"], "SNOMED_code": long})
    rules = [{"register": "L", "diagnosis": ["LONG_COD"]}]
    as_text = run(observations((1, "2020-01-01", long[0]), (2, "2020-01-01", " " + long[1] + " ")), rules, refsets)
    obs = pd.DataFrame({"person_id": [1, 2, 3], "date": ["2020-01-01"] * 3,
                        "snomed_code": np.array([1234567890123456, 999012891000230104, 1234567890123457])})
    as_int = run(obs, rules, refsets)
    assert registers(as_text) == registers(as_int) == {(1, "L"), (2, "L")}
    assert as_int.not_used == {"not_in_any_cluster": 1}  # one digit off is another code
    assert read_pcd_refsets(refsets)["SNOMED_code"].tolist() == long


def test_string_ids_columns_mapping_and_an_empty_table():
    obs = pd.DataFrame({"patient": ["p1", "p2"], "when": pd.to_datetime(["2020-01-01", "2020-02-01"]),
                        "code": [HYP, DM]})
    result = run(obs, [{"register": "HYP", "diagnosis": ["HYP_COD"]}],
                 columns={"person_id": "patient", "date": "when", "snomed_code": "code"})
    assert registers(result) == {("p1", "HYP")}
    assert result.conditions.person_id.dtype.kind == "O"
    empty = run(observations(), [{"register": "HYP", "diagnosis": ["HYP_COD"]}])
    assert empty.table.empty and empty.registers == {"HYP": 0} and empty.not_used == {}


def test_the_result_reads_as_other_results():
    result = run(observations((1, "2020-01-01", HYP), (2, "2026-01-01", HYP)),
                 [{"register": "HYP", "diagnosis": ["HYP_COD"]}])
    assert repr(result).startswith("GpConditions(GP records at 2025-03-31: 1 people on 1 of 1 registers")
    assert "not used: 1 after reference date" in result.summary()
    frame = result.to_frame()
    assert frame is not result.table and frame.columns.tolist() == ["person_id", "register", "date"]
    assert "<table" in result._repr_html_()
    assert isinstance(result.conditions, ConditionTable) and result.registers == {"HYP": 1}


# -- the shipped rules and the refset sample --------------------------------------------------------------------

def test_the_shipped_rules_are_the_package_registers_with_their_sources():
    assert [r.register for r in QOF_RULES] == ["DM", "CAN", "CKD", "PC", "AF", "CHD", "HF", "HYP", "PAD", "STIA",
                                               "AST", "COPD", "DEM", "DEP", "EP", "LD", "MH"]
    by = {r.register: r for r in QOF_RULES}
    assert (by["DM"].diagnosis, by["DM"].resolved, by["DM"].min_age) == (("DM_COD",), ("DMRES_COD",), 17)
    assert (by["AST"].min_age, by["DEP"].min_age, by["DEP"].diagnosed_since) == (6, 18, "2006-04-01")
    assert by["STIA"].diagnosis == ("STRK_COD", "TIA_COD") and by["DEP"].diagnosis == ("DEPR_COD",)
    assert all(r.source.startswith("QOF ") for r in QOF_RULES)
    document = json.loads(RULES_JSON.read_text(encoding="utf-8"))
    assert [RegisterRule.from_dict(d) for d in document["rules"]] == list(QOF_RULES)
    assert [r.as_dict() for r in QOF_RULES] == document["rules"]
    with pytest.raises(AttributeError):
        QOF_RULES[0].min_age = 16


def test_the_sample_is_read_in_the_published_layout():
    raw = SAMPLE.read_text(encoding="utf-8")
    header = raw.splitlines()[0].split("\t")
    assert header == ["Cluster_ID", "Cluster_description", "SNOMED_code", "SNOMED_code_description",
                      "PCD Refset ID", "Service_and_Ruleset"]  # the PCD portal's PCD_Refset_Content.txt
    pairs = read_pcd_refsets(SAMPLE)
    needed = {c for r in QOF_RULES for c in (*r.diagnosis, *r.resolved)}
    assert set(pairs["Cluster_ID"]) == needed
    assert pairs["SNOMED_code"].str.len().max() == 18 and "10692761000119107" in set(pairs["SNOMED_code"])
    # the same rows as the "by output" file lays them out: a code once per output, the refset id spelt as published
    table = pd.read_csv(SAMPLE, sep="\t", dtype=str)
    by_output = pd.concat([table.assign(Output_ID="SMOK1_REG"), table.assign(Output_ID="X_REG")])
    by_output = by_output.rename(columns={"Cluster_description": "Cluster_Description"})[
        ["Output_ID", "Cluster_ID", "Cluster_Description", "SNOMED_code", "SNOMED_code_description", "PCD Refset ID"]]
    assert read_pcd_refsets(by_output).equals(pairs)


def test_the_sample_file_variants_are_read(tmp_path):
    text = SAMPLE.read_text(encoding="utf-8")
    crlf = tmp_path / "20240905_PCD_Refset_Content.txt"  # Windows line ends and code page, a non-ASCII description
    crlf.write_bytes(text.replace("\n", "\r\n").replace("Benign essential", "Bénin – essential").encode("cp1252"))
    assert read_pcd_refsets(crlf).equals(read_pcd_refsets(SAMPLE))
    by_output = tmp_path / "20240905_PCD_Refset_Content_by_Output.txt"
    table = pd.read_csv(SAMPLE, sep="\t", dtype=str).rename(columns={"Cluster_description": "Cluster_Description"})
    pd.concat([table.assign(Output_ID="DM_REG"), table.assign(Output_ID="SMOK1_REG")])[
        ["Output_ID", "Cluster_ID", "Cluster_Description", "SNOMED_code", "SNOMED_code_description",
         "PCD Refset ID"]].to_csv(by_output, sep="\t", index=False)
    assert read_pcd_refsets(by_output).equals(read_pcd_refsets(SAMPLE))
    quoted = tmp_path / "quoted.txt"  # a quote inside a description is text, not the start of a quoted field
    quoted.write_text(text.replace("(disorder)", '"disorder'), encoding="utf-8")
    assert read_pcd_refsets(quoted).equals(read_pcd_refsets(SAMPLE))
    comma = tmp_path / "commas.txt"
    pd.read_csv(SAMPLE, sep="\t", dtype=str).to_csv(comma, index=False)
    with pytest.raises(SchemaError, match="comma-separated"):
        read_pcd_refsets(comma)
    assert read_pcd_refsets(pd.read_csv(SAMPLE, sep="\t", dtype=str).rename(
        columns={"Cluster_ID": "CLUSTER_ID", "SNOMED_code": "snomed_code"})).equals(read_pcd_refsets(SAMPLE))
    csv_path = tmp_path / "refsets.csv"
    pd.read_csv(SAMPLE, sep="\t", dtype=str).to_csv(csv_path, index=False)
    assert read_pcd_refsets(csv_path).equals(read_pcd_refsets(SAMPLE))


def test_the_shipped_rules_on_the_sample_refsets():
    born = pd.DataFrame({"person_id": [1, 2, 3, 4], "date_of_birth": ["1950-01-01", "2015-01-01", "1990-01-01",
                                                                      "1960-06-01"]})
    result = conditions_from_gp_records(observations(
        (1, "2018-01-01", DM_AND_PAD),          # DM and PAD
        (1, "2019-01-01", "10692761000119107"),  # asthma and COPD (a 17-digit code in both clusters)
        (2, "2022-01-01", "10692761000119107"),  # aged 10: AST needs 6, COPD no age
        (3, "2005-01-01", "1086471000000103"),   # depression before April 2006 (also an MH code)
        (4, "2020-01-01", HYP), (4, "2021-01-01", "162659009")), SAMPLE, at=AT, people=born)
    assert registers(result) == {(1, "DM"), (1, "PAD"), (1, "AST"), (1, "COPD"), (2, "AST"), (2, "COPD"),
                                 (3, "MH")}
    assert result.left_off == {"resolved": 1, "diagnosed_before_since": 1}
    assert result.by_register.loc["HYP", "resolved"] == result.by_register.loc["DEP", "diagnosed_before_since"] == 1


# -- files ------------------------------------------------------------------------------------------------------

def test_observations_from_csv_and_parquet(tmp_path):
    obs = observations((1, "2020-01-01", HYP), (2, "2020-01-01", "1234567890123456"))
    rules = [{"register": "HYP", "diagnosis": ["HYP_COD"]}]
    csv_path = tmp_path / "obs.csv"
    obs.to_csv(csv_path, index=False)
    from_csv = run(csv_path, rules)  # read as text: ids are strings, codes keep every digit
    assert registers(from_csv) == {("1", "HYP")} and from_csv.not_used == {"not_in_any_cluster": 1}
    as_ints = obs.assign(snomed_code=obs["snomed_code"].astype("int64"), date=pd.to_datetime(obs["date"]))
    as_ints.to_parquet(tmp_path / "obs.parquet")
    obs.assign(extra=1.5).to_parquet(tmp_path / "dictionary.parquet")
    assert registers(run(tmp_path / "obs.parquet", rules)) == {(1, "HYP")}
    assert registers(run(tmp_path / "dictionary.parquet", rules)) == {(1, "HYP")}


def test_rules_as_dicts_objects_and_json(tmp_path):
    as_dicts = [{"register": "hyp", "diagnosis": ["hyp_cod"]}, DM_RULE]
    as_objects = [RegisterRule("HYP", ["HYP_COD"]), RegisterRule("DM", ["DM_COD"], ["DMRES_COD"], min_age=17)]
    listed = tmp_path / "rules.json"
    listed.write_text(json.dumps(as_dicts))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"format": "capitation-register-rules", "rules": as_dicts}))
    assert read_register_rules(as_dicts) == read_register_rules(as_objects) == read_register_rules(listed) \
        == read_register_rules(wrapped) == tuple(as_objects)
    obs = observations((1, "2020-01-01", HYP), (1, "2020-01-01", DM))
    born = pd.DataFrame({"person_id": [1], "date_of_birth": ["1950-01-01"]})
    expected = {(1, "HYP"), (1, "DM")}
    assert registers(conditions_from_gp_records(obs, SMALL_REFSETS, listed, at=AT, people=born)) == expected
    assert registers(conditions_from_gp_records(obs, SMALL_REFSETS, as_dicts, at=AT, people=born)) == expected


# -- bad inputs -------------------------------------------------------------------------------------------------

def test_a_missing_column_names_it_and_the_mapping():
    obs = observations((1, "2020-01-01", HYP)).rename(columns={"snomed_code": "code"})
    with pytest.raises(SchemaError, match=r"missing required column\(s\) 'snomed_code'.*columns=\{") as info:
        run(obs)
    assert "'code'" in str(info.value)  # what the table has
    with pytest.raises(SchemaError, match=r"missing required column\(s\) 'Cluster_ID'"):
        run(observations((1, "2020-01-01", HYP)), refsets=SMALL_REFSETS.rename(columns={"Cluster_ID": "cluster"}))


@pytest.mark.parametrize("code", ["E11.9", "C10..", "0123456", "12345", "1234567890123456789", "XaIfG", ""])
def test_a_malformed_code_names_the_row_the_value_and_the_fix(code):
    obs = observations((7, "2020-01-01", HYP), (8, "2020-01-01", code))
    with pytest.raises(InputError, match=r"column 'snomed_code' must hold SNOMED CT codes") as info:
        run(obs)
    message = str(info.value)
    assert f"row 1 (person_id 8): {code!r}" in message and "Fix: map Read, CTV3 or local codes" in message


def test_codes_as_floats_or_missing_are_refused():
    obs = pd.DataFrame({"person_id": [1], "date": ["2020-01-01"], "snomed_code": [38341003.0]})
    with pytest.raises(SchemaError, match=r"dtype float64.*dtype=\{'snomed_code': str\}"):
        run(obs)
    with pytest.raises(InputError, match=r"'snomed_code' is missing in 1 row\(s\): row 0 \(person_id 1\)"):
        run(observations((1, "2020-01-01", None)))
    bad_refset = pd.DataFrame({"Cluster_ID": ["HYP_COD"], "SNOMED_code": ["38341003x"]})
    with pytest.raises(InputError, match=r"'refsets' table's column 'SNOMED_code'.*'38341003x'.*Fix: check"):
        run(observations((1, "2020-01-01", HYP)), [{"register": "HYP", "diagnosis": ["HYP_COD"]}], bad_refset)


def test_an_unparseable_or_missing_date_names_the_row():
    with pytest.raises(InputError, match=r"column 'date' must hold dates.*row 1 \(person_id 2\): '2020-13-45'"):
        run(observations((1, "2020-01-01", HYP), (2, "2020-13-45", HYP)))
    with pytest.raises(InputError, match=r"column 'date' is missing in 1 row\(s\): row 1 \(person_id 2\).*Fix"):
        run(observations((1, "2020-01-01", HYP), (2, None, HYP)))
    with pytest.raises(SchemaError, match=r"must hold dates\. Got numbers"):
        run(pd.DataFrame({"person_id": [1], "date": [20200101], "snomed_code": [HYP]}))


@pytest.mark.parametrize(("rule", "pattern"), [
    ({**DM_RULE, "min_agee": 17}, r"Rule 1 of the 'rules' parameter \('DM'\) has unknown key 'min_agee' "
                                  r"\(did you mean 'min_age'\?\)"),
    ({"register": "DM"}, r"\('DM'\) lacks the key\(s\) \['diagnosis'\]"),
    ({"register": "DM", "diagnosis": []}, r"\('DM'\) has no 'diagnosis' clusters.*Fix"),
    ({"register": "DM", "diagnosis": "DM_COD"}, r"'diagnosis' parameter of Rule 1 .* not a single string"),
    ({**DM_RULE, "min_age": -1}, r"\('DM'\): 'min_age' must be a whole number of years from 0 to 130.*Got -1"),
    ({**DM_RULE, "min_age": True}, r"'min_age' must be a whole number"),
    ({**DM_RULE, "diagnosed_since": "01/04/2006"}, r"'diagnosed_since' must be a date, as text YYYY-MM-DD"),
    ({**DM_RULE, "resolved": ["DM_COD"]}, r"names \['DM_COD'\] as both 'diagnosis' and 'resolved'"),
    ({"register": " ", "diagnosis": ["DM_COD"]}, r"'register' must be a non-empty string"),
])
def test_a_bad_rule_names_the_rule_and_the_key(rule, pattern):
    with pytest.raises(InputError, match=pattern):
        run(observations((1, "2020-01-01", DM)), [rule])


def test_bad_rule_collections_and_parameters():
    with pytest.raises(InputError, match=r"Rules 1 and 2 of the 'rules' parameter both define the register 'DM'"):
        read_register_rules([DM_RULE, {"register": "dm", "diagnosis": ["DM_COD"]}])
    with pytest.raises(InputError, match="holds no rules"):
        read_register_rules([])
    with pytest.raises(InputError, match=r"no codes for the cluster\(s\) the rules name: AST: \['AST_COD', "
                                         r"'ASTRES_COD'\].*r.register not in \['AST'\]"):
        run(observations((1, "2020-01-01", DM)), [{"register": "AST", "diagnosis": ["AST_COD"],
                                                    "resolved": ["ASTRES_COD"]}])
    with pytest.raises(InputError, match=r"'at' parameter of conditions_from_gp_records must be a date"):
        run(observations((1, "2020-01-01", DM)), at=20250331)
    with pytest.raises(InputError, match=r"'columns' parameter .* has the key 'code'; .*\['person_id', 'date'"):
        run(observations((1, "2020-01-01", DM)), columns={"code": "snomed_code"})


def test_rules_files_that_cannot_be_read(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_register_rules(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="is not readable JSON"):
        read_register_rules(broken)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"register": "DM", "diagnosis": ["DM_COD"], "min_age": -3}]}))
    with pytest.raises(InputError, match=r"Rule 1 of '.*bad.json' \('DM'\): 'min_age'"):
        read_register_rules(bad)


def test_people_problems():
    obs = observations((1, "2020-01-01", DM))
    with pytest.raises(SchemaError, match="needs 'date_of_birth' or 'year_month_of_birth'"):
        run(obs, people=pd.DataFrame({"person_id": [1], "age": [40]}))
    with pytest.raises(SchemaError, match=r"person ids are integers .* 'people' table's are strings"):
        run(obs, people=pd.DataFrame({"person_id": ["1"], "date_of_birth": ["1970-01-01"]}))
    with pytest.raises(InputError, match=r"'year_month_of_birth' must be YYYYMM.*row 0 \(person_id 1\): '2008-03'"):
        run(obs, people=pd.DataFrame({"person_id": [1], "year_month_of_birth": ["2008-03"]}))
    with pytest.raises(InputError, match="must be unique"):
        run(obs, people=pd.DataFrame({"person_id": [1, 1], "date_of_birth": ["1970-01-01", "1971-01-01"]}))


# -- into the encoder -------------------------------------------------------------------------------------------

def test_the_conditions_feed_encode():
    people = pd.DataFrame({"person_id": [10, 20, 30, 40], "practice_code": ["A81001"] * 4,
                           "sex": ["F", "M", "F", "M"], "age": [60, 16, 45, 70], "lsoa_code": ["E01000001"] * 4,
                           "date_of_birth": ["1965-01-01", "2008-06-01", "1980-01-01", "1955-01-01"]})
    obs = observations((10, "2019-01-01", DM), (20, "2024-01-01", DM), (30, "2020-01-01", HYP),
                       (30, "2020-01-01", DM), (30, "2021-01-01", DMRES), (40, "2024-06-01", HYP))
    rules = [DM_RULE, {"register": "HYP", "diagnosis": ["HYP_COD"]}]
    gp = conditions_from_gp_records(obs, SMALL_REFSETS, rules, at=AT, people=people[["person_id", "date_of_birth"]])
    spec = FeatureSpec(diagnosis_grouping=None, outcome_year="2025/26", conditions=("DM", "HYP"))
    X = encode(spec, people.drop(columns="date_of_birth"), conditions=gp.conditions)
    flags = pd.DataFrame(X.toarray(), columns=X.column_names)[["gp:DM", "gp:HYP"]]
    assert flags.to_numpy().tolist() == [[1, 0], [0, 0], [0, 1], [0, 1]]
    assert not any(k.startswith("conditions_") for k in X.exclusions)  # every date is before the outcome year
    again = encode(spec, people.drop(columns="date_of_birth"), conditions=gp.to_frame())  # as a plain frame
    np.testing.assert_array_equal(again.toarray(), X.toarray())


# -- against a plain-Python twin ----------------------------------------------------------------------------------

def _age(born, at: dt.date):
    if born is None:
        return None
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def naive(obs: pd.DataFrame, refsets: pd.DataFrame, rules, at: dt.date, born: dict | None):
    """The registers person by person, in plain Python: (entries, not_used, left_off)."""
    clusters_of = defaultdict(set)
    for cluster, code in zip(refsets["Cluster_ID"], refsets["SNOMED_code"], strict=True):
        clusters_of[int(code)].add(cluster)
    read = {c for r in rules for c in (*r.diagnosis, *r.resolved)}
    not_used, latest = defaultdict(int), defaultdict(dict)
    for person, day, code in obs.itertuples(index=False, name=None):
        day = pd.Timestamp(day).date()
        if day > at:
            not_used["after_reference_date"] += 1
        elif born is not None and person not in born:
            not_used["unknown_person"] += 1
        elif not clusters_of[int(code)]:
            not_used["not_in_any_cluster"] += 1
        elif not clusters_of[int(code)] & read:
            not_used["cluster_not_in_rules"] += 1
        else:
            for cluster in clusters_of[int(code)] & read:
                latest[person][cluster] = max(latest[person].get(cluster, day), day)
    entries, left_off = set(), defaultdict(int)
    for person, seen in latest.items():
        for rule in rules:
            diagnosed = [seen[c] for c in rule.diagnosis if c in seen]
            if not diagnosed:
                continue
            diagnosis = max(diagnosed)
            resolved = max((seen[c] for c in rule.resolved if c in seen), default=None)
            age = _age(born.get(person), at) if born is not None else None
            if resolved is not None and resolved > diagnosis:
                left_off["resolved"] += 1
            elif rule.diagnosed_since is not None and diagnosis < dt.date.fromisoformat(rule.diagnosed_since):
                left_off["diagnosed_before_since"] += 1
            elif rule.min_age is not None and age is None:
                left_off["age_unknown"] += 1
            elif rule.min_age is not None and age < rule.min_age:
                left_off["under_age"] += 1
            else:
                entries.add((person, rule.register, pd.Timestamp(diagnosis)))
    return entries, dict(not_used), dict(left_off)


CODES = [100001, 100002, 100003, 100004, 100005, 999999]  # 999999 is in no cluster
CLUSTERS = ["A_COD", "B_COD", "C_COD", "D_COD", "E_COD"]


@st.composite
def cases(draw):
    pairs = draw(st.lists(st.tuples(st.sampled_from(CLUSTERS), st.sampled_from(CODES[:-1])), min_size=1,
                          max_size=12, unique=True))
    refsets = pd.DataFrame(pairs, columns=["Cluster_ID", "SNOMED_code"]).astype({"SNOMED_code": str})
    present = sorted(set(refsets["Cluster_ID"]))
    rules = []
    for k in range(draw(st.integers(1, 3))):
        diagnosis = draw(st.lists(st.sampled_from(present), min_size=1, max_size=2, unique=True))
        resolved = draw(st.lists(st.sampled_from([c for c in present if c not in diagnosis] or ["-"]), max_size=2,
                                 unique=True))
        rules.append(RegisterRule(f"R{k}", diagnosis, [c for c in resolved if c != "-"],
                                  min_age=draw(st.one_of(st.none(), st.integers(0, 30))),
                                  diagnosed_since=draw(st.one_of(st.none(), st.just("2020-01-01")))))
    n = draw(st.integers(0, 40))
    start = dt.date(2018, 1, 1)
    span = draw(st.sampled_from([2900, 3]))  # a few days: same-day diagnosis and resolved codes are common
    obs = pd.DataFrame({
        "person_id": np.array(draw(st.lists(st.integers(1, 6), min_size=n, max_size=n)), dtype=np.int64),
        "date": [start + dt.timedelta(days=d) for d in draw(st.lists(st.integers(0, span), min_size=n,
                                                                         max_size=n))],
        "snomed_code": pd.Series([str(c) for c in draw(st.lists(st.sampled_from(CODES), min_size=n, max_size=n))],
                                 dtype=object)})
    obs["date"] = pd.to_datetime(obs["date"])
    born = None
    if draw(st.booleans()):
        born = {p: draw(st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2024, 12, 31))))
                for p in draw(st.lists(st.integers(1, 6), unique=True))}
    return obs, refsets, rules, born


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_vectorised_reader_equals_the_plain_python_twin(case):
    obs, refsets, rules, born = case
    at = dt.date(2024, 3, 31)
    people = None if born is None else pd.DataFrame({"person_id": np.array(list(born), dtype=np.int64),
                                                     "date_of_birth": pd.to_datetime(list(born.values()))})
    result = conditions_from_gp_records(obs, refsets, rules, at=at, people=people)
    entries, not_used, left_off = naive(obs, refsets, rules, at, born)
    assert set(result.table.itertuples(index=False, name=None)) == entries
    assert len(result.table) == len(entries)
    assert result.not_used == not_used and result.left_off == left_off
    assert list(result.left_off) == [k for k in REGISTER_REASONS if k in result.left_off]
    # people with a diagnosis code: on the register or left off once
    assert int(result.by_register.to_numpy().sum()) == len(entries) + sum(left_off.values())


def _last_day_born(year_month: int, at: dt.date) -> int:
    year, month = divmod(year_month, 100)
    return _age(dt.date(year, month, calendar.monthrange(year, month)[1]), at)


@settings(max_examples=200, deadline=None)
@given(st.integers(1950, 2023), st.integers(1, 12), st.integers(1, 31),
       st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)))
def test_a_month_of_birth_never_makes_anyone_older_than_they_are(year, month, day, at):
    true_age = _age(dt.date(year, month, min(day, calendar.monthrange(year, month)[1])), at)
    people = pd.DataFrame({"person_id": [1], "year_month_of_birth": [f"{year}{month:02d}"]})
    obs = observations((1, "2000-01-01", DM))

    def on(min_age):
        rules = [{"register": "X", "diagnosis": ["DM_COD"], "min_age": min_age}]
        return run(obs, rules, at=at, people=people).registers["X"] == 1

    assert not on(true_age + 1)  # never older than they are
    assert on(true_age) is (_last_day_born(year * 100 + month, at) == true_age)  # at most a month younger
    assert true_age == 0 or on(true_age - 1)


def test_people_from_a_csv_are_read_as_text_like_the_observations(tmp_path):
    obs, people = tmp_path / "obs.csv", tmp_path / "people.csv"
    observations((101, "2020-01-01", DM), (102, "2020-01-01", DM)).to_csv(obs, index=False)
    pd.DataFrame({"person_id": [101, 102], "year_month_of_birth": [195001, 201001]}).to_csv(people, index=False)
    result = conditions_from_gp_records(obs, SMALL_REFSETS, [DM_RULE], at=AT, people=people)
    # numbers in both files: both read as the text written, so the ids match and the age rule applies
    assert registers(result) == {("101", "DM")} and result.left_off == {"under_age": 1}
