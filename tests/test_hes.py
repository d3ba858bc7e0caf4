"""HES admitted patient care read as it comes: each coding rule against the artificial extract and hand cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation import FeatureSpec, encode
from capitation.errors import InputError, SchemaError
from capitation.inputs import DiagnosisTable
from capitation.inputs.hes import read_hes_apc

SAMPLE = Path(__file__).parent / "data" / "artificial_hes_apc_0102_sample.csv"


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def extract():
    return read_hes_apc(SAMPLE, unknown_sex="drop")


def _naive_long(raw: pd.DataFrame) -> set:
    """The non-empty diagnosis cells of the episodes used, by pandas melt: (episode, code, primary)."""
    used = raw[(raw["EPISTAT"] == "3") & raw["SEX"].isin(["1", "2"])].drop_duplicates()
    cells = used.melt(id_vars=["EPIKEY"], value_vars=[f"DIAG_4_{k:02d}" for k in range(1, 21)], var_name="slot",
                      value_name="icd10")
    cells = cells[~cells["icd10"].str.strip().isin(["", "-"])]
    cells["primary"] = cells["slot"] == "DIAG_4_01"
    cells = cells.sort_values(["EPIKEY", "icd10", "primary"], ascending=[True, True, False])
    return set(cells.drop_duplicates(["EPIKEY", "icd10"])[["EPIKEY", "icd10", "primary"]].itertuples(index=False,
                                                                                                    name=None))


def test_the_long_table_is_the_non_empty_diagnosis_cells_of_the_episodes_used(raw, extract):
    # every spell here is one episode (the artificial people do not link across episodes), so per spell = per row
    assert (extract.spells["episodes"] == 1).all()
    episode_of = dict(zip(extract.episodes["spell_id"], extract.episodes["episode_id"], strict=True))
    got = {(episode_of[s], c, p == "primary") for s, c, p in
           extract.diagnoses[["spell_id", "icd10", "position"]].itertuples(index=False, name=None)}
    assert got == _naive_long(raw)
    assert len(got) == len(extract.diagnoses)


def test_a_hand_checked_episode(extract):
    mine = extract.episodes[extract.episodes["episode_id"] == "657513751800"].iloc[0]
    assert (mine["fy"], mine["sex"], mine["age"], mine["practice_code"]) == ("2001/02", "F", 72, "K81045")
    rows = extract.diagnoses[extract.diagnoses["spell_id"] == mine["spell_id"]]
    assert rows[["position", "icd10"]].values.tolist() == [["primary", "M171"], ["secondary", "Z886"]]  # '-' none


def test_unfinished_episodes_unknown_sex_and_repeats_are_counted_once_each(raw, extract):
    assert extract.exclusions["episode_unfinished"] == (raw["EPISTAT"] != "3").sum() == 11
    assert extract.exclusions["episode_sex_not_known"] == ((raw["SEX"] == "0") & (raw["EPISTAT"] == "3")).sum()
    used = (raw["EPISTAT"] == "3") & raw["SEX"].isin(["1", "2"])
    assert len(extract.episodes) == used.sum()
    assert extract.recoded["age_under_one"] == (raw.loc[used, "STARTAGE"].astype(int) >= 7001).sum() > 0
    assert (extract.episodes["age"] <= 130).all()
    null = raw.loc[used, "GPPRAC"].isin(["&", "", "V81997", "V81998", "V81999"])
    assert extract.recoded["practice_null_code"] == null.sum() > (raw.loc[used, "GPPRAC"] == "&").sum() > 0
    assert extract.episodes["practice_code"].isna().sum() == extract.recoded["practice_null_code"]


def test_sex_not_known_is_refused_by_default_naming_the_rows(raw):
    with pytest.raises(InputError, match=r"'SEX' is 0 \(not known\) or 9.*unknown_sex='drop'"):
        read_hes_apc(raw)


def _episodes(**columns) -> pd.DataFrame:
    base = {"PSEUDO_HESID": "p1", "EPIKEY": "1", "FYEAR": "0102", "EPISTART": "2001-05-01", "EPIEND": "2001-05-02",
            "EPIORDER": "1", "EPISTAT": "3", "ADMIDATE": "2001-05-01", "PROCODE3": "RTA", "CLASSPAT": "1",
            "SEX": "2", "STARTAGE": "34", "GPPRAC": "M84031", "DIAG_4_01": "F321", "DIAG_4_02": "I10X"}
    n = max(len(v) for v in columns.values()) if columns else 1
    return pd.DataFrame({k: columns.get(k, [v] * n) for k, v in base.items()})


def test_the_start_date_decides_the_year_and_a_disagreement_with_fyear_is_counted():
    extract = read_hes_apc(_episodes(FYEAR=["0203", "0102", "0102"], EPISTART=["2001-06-01", "1800-01-01",
                                                                                  "2002-03-31"],
                                     EPIKEY=["1", "2", "3"], ADMIDATE=["2001-06-01", "2001-07-01", "2002-03-31"]))
    assert extract.episodes.sort_values("episode_id")["fy"].tolist() == ["2001/02", "2001/02", "2001/02"]
    assert extract.recoded["fyear_disagrees_with_start_date"] == 1  # HES's null date: FYEAR is used, no disagreement


def test_episodes_of_one_admission_are_one_spell_and_a_code_counts_once_per_spell():
    frame = _episodes(EPIKEY=["1", "2", "3", "4"], EPIORDER=["1", "2", "1", "1"],
                      EPISTART=["2001-05-01", "2001-05-03", "2001-06-01", "2001-06-08"],
                      ADMIDATE=["2001-05-01", "2001-05-01", "2001-06-01", "2001-06-01"],
                      CLASSPAT=["1", "1", "3", "3"], DIAG_4_01=["F321", "I10X", "Z511", "Z511"],
                      DIAG_4_02=["I10X", "F321", "-", ""])
    extract = read_hes_apc(frame)
    assert extract.spells["episodes"].tolist() == [2, 1, 1]  # regular attenders: one spell per episode
    first = extract.diagnoses[extract.diagnoses["spell_id"] == extract.spells["spell_id"][0]]
    assert sorted(first[["icd10", "position"]].values.tolist()) == [["F321", "primary"], ["I10X", "primary"]]
    assert extract.exclusions["diagnosis_repeated_in_spell"] == 2


def test_exact_duplicate_episodes_are_removed_and_counted():
    frame = pd.concat([_episodes(), _episodes()], ignore_index=True)
    extract = read_hes_apc(frame)
    assert len(extract.episodes) == 1 and extract.exclusions["episode_exact_duplicate"] == 1


def test_the_concatenated_layout_reads_the_same_diagnoses(raw):
    # the artificial file's own DIAG_4_CONCAT does not always match its columns (generated field by field), so
    # join the columns as HES does: every slot up to the last code, '-' for an empty one
    slots = [f"DIAG_4_{k:02d}" for k in range(1, 21)]
    cells = raw[slots].apply(lambda c: c.str.strip()).replace("", "-").to_numpy()
    joined = [",".join(row[:max((k + 1 for k, v in enumerate(row) if v != "-"), default=0)]) for row in cells]
    wide = read_hes_apc(raw, unknown_sex="drop")
    concat = read_hes_apc(raw.drop(columns=[c for c in raw.columns if c.startswith(("DIAG_3_", "DIAG_4_"))])
                          .assign(DIAG_4_CONCAT=joined), unknown_sex="drop")
    assert concat.layout == "DIAG_4_CONCAT" and wide.layout == "DIAG_4_01…20"
    pd.testing.assert_frame_equal(concat.diagnoses, wide.diagnoses)


def _sus(raw: pd.DataFrame) -> pd.DataFrame:
    """The sample's diagnoses in SUS's layout: a primary field and 23 numbered secondary fields."""
    sus = raw.drop(columns=[c for c in raw.columns if c.startswith(("DIAG_3_", "DIAG_4_"))])
    sus["Primary_Diagnosis_Code"] = raw["DIAG_4_01"]
    for k in range(1, 24):
        sus[f"Secondary_Diagnosis_Code_{k}"] = raw[f"DIAG_4_{k + 1:02d}"] if k < 20 else ""
    return sus


def test_sus_layouts_read_the_same_diagnoses_as_hes(raw):
    hes = read_hes_apc(raw, unknown_sex="drop")
    sus = _sus(raw)
    numbered = read_hes_apc(sus, unknown_sex="drop")
    assert numbered.layout == "Primary_Diagnosis_Code + 23 secondary"
    pd.testing.assert_frame_equal(numbered.diagnoses, hes.diagnoses)
    # one field of the secondary codes, joined (the separators SUS warehouses use)
    secondary = [f"Secondary_Diagnosis_Code_{k}" for k in range(1, 24)]
    parts = sus[secondary].apply(lambda c: c.str.strip()).to_numpy()
    joined = sus.drop(columns=secondary).assign(secondaries=["; ".join(v for v in row if v) for row in parts])
    one = read_hes_apc(joined, diagnoses={"primary": "Primary_Diagnosis_Code", "secondary": "secondaries"},
                       unknown_sex="drop")
    pd.testing.assert_frame_equal(one.diagnoses, hes.diagnoses)
    # a warehouse's own names, in position order
    mine = raw.rename(columns={f"DIAG_4_{k:02d}": f"dx{k}" for k in range(1, 21)})
    listed = read_hes_apc(mine, diagnoses=[f"dx{k}" for k in range(1, 21)], unknown_sex="drop")
    assert listed.layout == "dx1…dx20"
    pd.testing.assert_frame_equal(listed.diagnoses, hes.diagnoses)


def test_four_character_codes_win_over_three_in_either_hes_layout():
    # DIAG_4_CONCAT (4 characters) before DIAG_3_01… (3): the more precise codes are read
    frame = _episodes().drop(columns=["DIAG_4_01", "DIAG_4_02"]).assign(DIAG_3_01="F32", DIAG_4_CONCAT="F321,I10X")
    extract = read_hes_apc(frame)
    assert extract.layout == "DIAG_4_CONCAT" and extract.diagnoses["icd10"].tolist() == ["F321", "I10X"]


@pytest.mark.parametrize("diagnoses, error, words", [
    (None, SchemaError, "no diagnosis columns read_hes_apc knows"),
    ({"main": "dx1"}, InputError, "takes the keys 'primary' and (optionally) 'secondary'"),
    ("dx1", InputError, "must be a list of column names"),
    (["dx1", "dx9"], SchemaError, "lacks the diagnosis column(s) ['dx9']"),
])
def test_an_unknown_diagnosis_layout_is_refused_saying_how_to_name_it(diagnoses, error, words):
    frame = _episodes().rename(columns={"DIAG_4_01": "dx1", "DIAG_4_02": "dx2"})
    with pytest.raises(error) as caught:
        read_hes_apc(frame, diagnoses=diagnoses)
    assert words in str(caught.value) and "Fix:" in str(caught.value)


def test_a_csv_extract_reads_as_text_the_same_as_its_frame(raw, extract):
    # the file is read dictionary-encoded (each distinct value once); the result is the frame's, value for value
    from_frame = read_hes_apc(raw, unknown_sex="drop")
    pd.testing.assert_frame_equal(extract.diagnoses, from_frame.diagnoses)
    pd.testing.assert_frame_equal(extract.episodes, from_frame.episodes)
    assert extract.exclusions == from_frame.exclusions and extract.recoded == from_frame.recoded


@pytest.mark.parametrize("edit, error, words", [
    (lambda f: f.drop(columns="EPISTAT"), SchemaError, "lacks the field(s) ['EPISTAT']"),
    (lambda f: f.assign(EPISTART="01/05/2001"), InputError, "'EPISTART' holds 1 value(s) that are not ISO dates"),
    (lambda f: f.assign(FYEAR="2024"), InputError, "'FYEAR' holds '2024'"),
    (lambda f: f.assign(SEX="F"), InputError, "'SEX' must be 1 (male), 2 (female)"),
    (lambda f: f.assign(STARTAGE="7008"), InputError, "'STARTAGE' must be an age"),
])
def test_bad_extracts_are_refused_naming_the_field_and_value(edit, error, words):
    with pytest.raises(error) as caught:
        read_hes_apc(edit(_episodes()))
    assert words in str(caught.value) and "Fix:" in str(caught.value)


def test_a_local_warehouse_names_its_fields_through_columns():
    frame = _episodes().rename(columns={"PSEUDO_HESID": "patient_id", "GPPRAC": "gp_code"})
    extract = read_hes_apc(frame, columns={"PSEUDO_HESID": "patient_id", "GPPRAC": "gp_code"})
    assert extract.episodes["person_id"].tolist() == ["p1"] and extract.episodes["practice_code"].tolist() == ["M84031"]


def test_the_extract_flows_into_the_design(extract):
    people = extract.episodes.drop_duplicates("person_id")
    people = pd.DataFrame({"person_id": people["person_id"].to_numpy(), "practice_code": "A81001",
                           "sex": people["sex"].to_numpy(), "age": people["age"].to_numpy(),
                           "lsoa_code": "E01011959"})
    table = DiagnosisTable.from_frame(extract.diagnoses)
    X = encode(FeatureSpec(outcome_year="2002/03", on_malformed="ignore"), people, diagnoses=table)
    assert X.exclusions["diagnoses_malformed_code"] == (extract.diagnoses["icd10"] == "0000").sum() == 1
    diagnosis_columns = np.flatnonzero(X.columns["block"].to_numpy() == "diagnoses")
    assert np.isin(X.indices, diagnosis_columns).sum() > 100  # people have diagnosis groups from 2001/02
    # the start date decides the year: episodes of the 2001/02 file that began before April 2000 are outside
    outside = ~extract.diagnoses["fy"].isin(["2000/01", "2001/02"])
    assert X.exclusions["diagnoses_outside_window"] == outside.sum() > 0


# --- Outpatients ----------------------------------------------------------------------------------------------

from capitation.inputs.hes import read_hes_op  # noqa: E402

OP_SAMPLE = Path(__file__).parent / "data" / "artificial_hes_op_0304_sample.csv"


@pytest.fixture(scope="module")
def op_raw() -> pd.DataFrame:
    return pd.read_csv(OP_SAMPLE, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def op(op_raw):
    return read_hes_op(op_raw, unknown_sex="drop")


def test_only_attended_appointments_are_used_and_the_others_counted(op_raw, op):
    attended = op_raw["ATTENDED"].isin(["5", "6"])
    assert op.exclusions["appointment_not_attended"] == (~attended).sum() > 0
    known = attended & op_raw["SEX"].isin(["1", "2"]) & (op_raw["APPTAGE"] != "")
    assert op.exclusions["appointment_sex_not_known"] == (attended & op_raw["SEX"].isin(["0", "9"])).sum()
    assert op.exclusions["appointment_age_not_known"] == 1
    assert sorted(op.appointments["attendance_id"]) == sorted(op_raw.loc[known, "ATTENDKEY"])
    assert op.counts["appointments"].sum() == len(op.appointments)
    assert op.counts.groupby(["person_id", "fy"]).size().max() == 1  # one count per person-year


def test_r69_not_recorded_is_counted_never_grouped_and_the_rest_match_the_cells(op_raw, op):
    used = op_raw["ATTENDED"].isin(["5", "6"]) & op_raw["SEX"].isin(["1", "2"]) & (op_raw["APPTAGE"] != "")
    cells = op_raw[used].melt(id_vars=["ATTENDKEY"], value_vars=[f"DIAG_4_{k:02d}" for k in range(1, 13)],
                              var_name="slot", value_name="icd10")
    cells = cells[~cells["icd10"].str.strip().isin(["", "-"])]
    r69 = cells["icd10"].isin(["R69", "R69X"])
    assert op.exclusions["diagnosis_not_recorded"] == r69.sum() > 0
    assert not op.diagnoses["icd10"].isin(["R69", "R69X"]).any()
    expected = {(a, c, s == "DIAG_4_01") for a, s, c in cells[~r69][["ATTENDKEY", "slot", "icd10"]]
                .itertuples(index=False, name=None)}
    got = {(a, c, p == "primary") for a, c, p in op.diagnoses[["attendance_id", "icd10", "position"]]
           .itertuples(index=False, name=None)}
    assert got == expected and (op.diagnoses["setting"] == "outpatient").all()
    assert set(op.diagnoses["fy"]) <= {"2003/04"}


def test_outpatient_diagnoses_are_read_by_the_diagnosis_table(op):
    table = DiagnosisTable.from_frame(op.diagnoses)
    assert len(table.person_id) == len(op.diagnoses)
    assert set(table.setting.astype(str)) == {"outpatient"}


def test_a_missing_outpatient_field_is_named():
    with pytest.raises(SchemaError, match=r"lacks the field\(s\) \['ATTENDED'\]"):
        read_hes_op(pd.DataFrame({"PSEUDO_HESID": ["p"], "ATTENDKEY": ["1"], "FYEAR": ["0304"], "SEX": ["1"],
                                  "APPTAGE": ["3"], "GPPRAC": ["&"], "DIAG_4_01": ["L309"]}))


# --- A&E: attendances counted, A&E diagnosis codes never read as ICD-10 ----------------------------------------

from capitation.errors import UnknownCodeError  # noqa: E402
from capitation.inputs.hes import read_hes_ae  # noqa: E402

AE_SAMPLE = Path(__file__).parent / "data" / "artificial_hes_ae_0708_sample.csv"


def test_ae_attendances_are_counted_and_their_codes_kept_as_written_not_as_icd10():
    raw = pd.read_csv(AE_SAMPLE, dtype=str, keep_default_na=False)
    ae = read_hes_ae(raw, unknown_sex="drop")
    known = raw["SEX"].isin(["1", "2"]) & (raw["ARRIVALAGE"] != "")
    assert len(ae.attendances) == known.sum() and ae.counts["attendances"].sum() == known.sum()
    known_sex = raw["SEX"].isin(["1", "2"])
    assert ae.exclusions == {"attendance_sex_not_known": (~known_sex).sum(),
                             "attendance_age_not_known": (known_sex & (raw["ARRIVALAGE"] == "")).sum()}
    under_one = pd.to_numeric(raw.loc[known, "ARRIVALAGE"]).between(7001, 7007)
    assert (ae.attendances["age"].to_numpy()[under_one.to_numpy()] == 0).all() and under_one.any()
    cells = raw.loc[known, [c for c in raw.columns if c.startswith("DIAG2_")]].to_numpy().ravel()
    assert sorted(ae.ae_codes["code"]) == sorted(c.strip() for c in cells if c.strip() not in ("", "-"))
    assert not hasattr(ae, "diagnoses")  # nothing here to encode as ICD-10


def test_ae_codes_given_as_icd10_are_refused_saying_they_are_not_icd10():
    people = pd.DataFrame({"person_id": [1], "practice_code": ["A81001"], "sex": ["F"], "age": [30],
                           "lsoa_code": ["E01011959"]})
    records = DiagnosisTable.from_frame(pd.DataFrame({"person_id": [1], "fy": ["2007/08"], "setting": ["ae"],
                                                      "position": ["primary"], "icd10": ["038"]}))
    with pytest.raises(UnknownCodeError, match="HES A&E's DIAG2_… are A&E diagnosis codes, not ICD-10"):
        encode(FeatureSpec(settings=("inpatient", "ae")), people, diagnoses=records)


def test_artificial_extracts_run_end_to_end_from_read_to_allocation():
    """APC 2001/02 and OP 2003/04 → people, costs, diagnoses → design → fit → need → budgets, all counted."""
    from capitation import Membership, Population, aggregate, allocate, score
    from capitation.features.icd10 import DiagnosisGrouping
    from capitation.inputs import people_from_hes, person_year_costs
    from capitation.model import CostModel

    # the 2001/02 extract has 2001 LSOAs only (LSOA11 is blank), named for the reader
    apc = read_hes_apc(SAMPLE, unknown_sex="drop", columns={"LSOA11": "LSOA01"})
    op = read_hes_op(OP_SAMPLE, unknown_sex="drop")
    # hand-checked rows: the non-empty diagnosis cells of one episode and of one appointment, in position order
    spell = apc.episodes.loc[apc.episodes["episode_id"] == "657513751800", "spell_id"].item()
    assert apc.diagnoses.loc[apc.diagnoses["spell_id"] == spell, "icd10"].tolist() == ["M171", "Z886"]
    assert op.diagnoses.loc[op.diagnoses["attendance_id"] == "37480048968", ["position", "icd10"]].values.tolist() \
        == [["primary", "Z510"]]

    people = people_from_hes(apc, op, outcome_year="2003/04")
    everyone = set(apc.episodes["person_id"]) | set(op.appointments["person_id"])
    assert len(people.people) + people.not_used["no_practice"] + people.not_used["no_lsoa"] == len(everyone)
    activity = op.appointments.assign(setting="outpatient", hrg="WF01B")[["person_id", "setting", "date", "hrg"]]
    costs = person_year_costs(activity, "2003/04", tariff=pd.DataFrame({"hrg": ["WF01B"], "price": [140.0]}))
    assert costs.total_pence == 14_000 * op.appointments["fy"].eq("2003/04").sum()
    pop = Population.from_frame(people.people.assign(cost=lambda f: costs.of(f["person_id"])))

    chapters = DiagnosisGrouping.from_frame(pd.DataFrame({
        "group": ["neoplasms", "circulatory", "respiratory"], "start": ["C00", "I00", "J00"],
        "end": ["D48", "I99", "J99"]}))
    spec = FeatureSpec(outcome_year="2003/04", age_bands=(0, 18, 65), diagnosis_grouping=chapters,
                       settings=("inpatient", "outpatient"), on_unknown_person="ignore", on_malformed="ignore")
    diagnoses = DiagnosisTable.from_frame(pd.concat([apc.diagnoses, op.diagnoses], ignore_index=True))
    X = encode(spec, pop, diagnoses=diagnoses)
    outside = ~pd.Series(diagnoses.person_id).isin(set(pop.person_id)).to_numpy()
    in_window = np.isin(np.asarray(diagnoses.fy, dtype=object), ["2001/02", "2002/03"])
    assert X.exclusions["diagnoses_unknown_person"] == (outside & in_window).sum() > 0
    assert X.exclusions["diagnoses_malformed_code"] == 1  # the artificial file's '0000'
    # a log link keeps each person's need positive on a sample this small (people do not link across the files)
    model = CostModel(method="poisson").fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    need = score(model, X)

    table = Membership.nhs_england("2025/26").table
    listed = table["practice_code"].isin(sorted(set(pop.practice_code))[::2])
    membership = Membership.from_frame(table[listed], level="ICB")
    agg = aggregate(pop, need, membership=membership, list_sizes="observed", unassigned="line")
    alloc = allocate(agg, 1_000_000, membership=membership, unassigned="line")
    assert alloc.reconciles and alloc.practices["budget_pence"].sum() == 100_000_000
    # people on practices the membership does not list are funded on a line of their own, counted, never dropped
    off = ~np.isin(pop.practice_code, membership.practices)
    line = alloc.consortia.loc["UNASSIGNED"]
    assert line["registered"] == off.sum() > 0 and alloc.practices["registered"].sum() == len(pop)


def test_people_take_their_latest_record_and_every_one_left_out_is_counted():
    from capitation.inputs import people_from_hes

    op = read_hes_op(pd.DataFrame({
        "PSEUDO_HESID": ["p1", "p1", "p1", "p2", "p3", "p4"], "ATTENDKEY": list("123456"),
        "FYEAR": ["0304", "0304", "0506", "0304", "0304", "0304"],
        "APPTDATE": ["2003-05-01", "2004-01-10", "2005-06-01", "2003-07-01", "2003-07-01", "2003-07-01"],
        "ATTENDED": ["5"] * 6, "SEX": ["1", "2", "1", "2", "1", "1"], "APPTAGE": ["40", "40", "41", "7002", "9", "9"],
        "GPPRAC": ["A81001", "&", "B82001", "A81002", "V81999", "A81003"],
        "LSOA11": ["E01000001", "E01000002", "E01000003", "E01000004", "E01000005", ""], "DIAG_4_01": ["L309"] * 6}))
    people = people_from_hes(op, outcome_year="2004/05")
    p1 = people.people.set_index("person_id").loc["p1"]
    # p1's 2005/06 record is after the outcome year; the latest before it has no practice, so the earlier one's
    assert (p1["practice_code"], p1["sex"], p1["lsoa_code"], p1["age"]) == ("A81001", "F", "E01000002", 41)
    assert people.people.set_index("person_id").loc["p2", "age"] == 1  # under one in 2003/04, one year on
    assert people.not_used == {"record_after_outcome_year": 1, "no_practice": 1, "no_lsoa": 1}
    assert people.recoded == {"sex_disagrees": 1, "practice_from_earlier_record": 1}
    assert sorted(people.people["person_id"]) == ["p1", "p2"]


@pytest.mark.parametrize("batch_rows", [97, 500, 10**6])
def test_reading_in_batches_gives_the_same_tables_and_counts(raw, tmp_path, batch_rows):
    # a duplicate far from its first, and a spell whose episodes fall in different batches
    second = raw.iloc[[5]].assign(EPIKEY="999000000001", EPIORDER="2", EPISTART=raw.iloc[5]["EPISTART"])
    frame = pd.concat([raw, raw.iloc[[3]], second], ignore_index=True)
    path = tmp_path / "apc.csv"
    frame.to_csv(path, index=False)
    whole = read_hes_apc(frame, unknown_sex="drop", batch_rows=10**7)
    assert whole.exclusions["episode_exact_duplicate"] == 1 and (whole.spells["episodes"] == 2).sum() == 1
    for source in (path, frame):
        batched = read_hes_apc(source, unknown_sex="drop", batch_rows=batch_rows)
        for table in ("episodes", "spells", "diagnoses"):
            pd.testing.assert_frame_equal(getattr(batched, table), getattr(whole, table))
        assert batched.exclusions == whole.exclusions and batched.recoded == whole.recoded


@pytest.mark.parametrize("batch_rows", [13, 10**6])
def test_outpatient_and_ae_extracts_read_in_batches_give_the_same_tables(op_raw, batch_rows):
    from capitation.inputs import read_hes_ae

    op_whole, op_batched = (read_hes_op(op_raw, unknown_sex="drop", batch_rows=b) for b in (10**7, batch_rows))
    for table in ("appointments", "diagnoses", "counts"):
        pd.testing.assert_frame_equal(getattr(op_batched, table), getattr(op_whole, table))
    assert op_batched.exclusions == op_whole.exclusions
    ae = Path(__file__).parent / "data" / "artificial_hes_ae_0708_sample.csv"
    ae_whole, ae_batched = (read_hes_ae(ae, unknown_sex="drop", batch_rows=b) for b in (10**7, batch_rows))
    for table in ("attendances", "ae_codes", "counts"):
        pd.testing.assert_frame_equal(getattr(ae_batched, table), getattr(ae_whole, table))
    assert ae_batched.exclusions == ae_whole.exclusions


def test_batch_rows_must_be_a_whole_number_and_an_empty_extract_is_read():
    with pytest.raises(InputError, match=r"'batch_rows'.*whole number.*Fix:"):
        read_hes_apc(_episodes(), batch_rows=0)
    empty = read_hes_apc(_episodes().iloc[:0])
    assert len(empty.episodes) == len(empty.diagnoses) == 0


def _naive_spells(extract_episodes: pd.DataFrame, cells: list) -> tuple[list, list]:
    """NHS Digital's spells and the once-per-spell rule in plain Python: (spell of each episode id), long rows."""
    def last(v):  # missing sorts after every value
        return (1, 0) if v is None or v != v or v is pd.NaT else (0, v)

    rows = list(extract_episodes.itertuples(index=False))
    rows.sort(key=lambda r: (r.person_id, last(r.episode_start), last(r.episode_order), last(r.episode_end),
                             r.episode_id))
    number, spell_of = {}, {}
    for r in rows:
        alone = r.episode_id if r.classpat in ("3", "4") else None
        key = (r.person_id, None if pd.isna(r.admission_date) else r.admission_date, r.provider, alone)
        spell_of[r.episode_id] = number.setdefault(key, len(number) + 1)
    kept: dict = {}
    for position, r in enumerate(rows):
        for slot, code in cells[r.episode_id]:
            best = kept.get((spell_of[r.episode_id], code))
            if best is None or (slot == 1 and best[2] != 1):
                kept[(spell_of[r.episode_id], code)] = (position, slot, slot, r.person_id)
    long = sorted((position, slot, person, spell, code) for (spell, code), (position, slot, _, person)
                  in kept.items())
    return spell_of, [(person, spell, code, "primary" if slot == 1 else "secondary")
                      for _, slot, person, spell, code in long]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spells_and_once_per_spell_equal_a_plain_python_twin(seed):
    rng = np.random.default_rng(seed)
    n = 600
    dates = pd.date_range("2021-04-01", periods=20).strftime("%Y-%m-%d").to_numpy()
    frame = pd.DataFrame({
        "PSEUDO_HESID": rng.choice([f"p{i}" for i in range(40)], n), "EPIKEY": rng.permutation(n).astype(str),
        "FYEAR": "2122", "EPISTART": np.where(rng.random(n) < .05, "1800-01-01", rng.choice(dates, n)),
        "EPIEND": np.where(rng.random(n) < .1, "", rng.choice(dates, n)),
        "EPIORDER": np.where(rng.random(n) < .1, "", rng.integers(1, 4, n).astype(str)), "EPISTAT": "3",
        "ADMIDATE": np.where(rng.random(n) < .05, "", rng.choice(dates[:5], n)),
        "PROCODE3": rng.choice(["RTA", "RNA"], n), "CLASSPAT": rng.choice(["1", "2", "3", "4"], n, p=[.6, .2, .1, .1]),
        "SEX": "1", "STARTAGE": "50", "GPPRAC": "A81001",
        "DIAG_4_01": rng.choice(["I10X", "E119", "J449"], n), "DIAG_4_02": rng.choice(["I10X", "E119", "", "Z886"], n),
        "DIAG_4_03": rng.choice(["I10X", "", "E119"], n)})
    extract = read_hes_apc(frame)
    cells = {k: [(s + 1, v) for s, v in enumerate(row) if v not in ("", "-")]
             for k, row in zip(frame["EPIKEY"], frame[["DIAG_4_01", "DIAG_4_02", "DIAG_4_03"]].to_numpy(), strict=True)}
    spell_of, long = _naive_spells(extract.episodes.assign(classpat=frame.set_index("EPIKEY").loc[
        extract.episodes["episode_id"], "CLASSPAT"].to_numpy()), cells)
    assert dict(zip(extract.episodes["episode_id"], extract.episodes["spell_id"], strict=True)) == spell_of
    assert (extract.spells["episodes"] > 1).sum() > 10
    got = list(extract.diagnoses[["person_id", "spell_id", "icd10", "position"]].itertuples(index=False, name=None))
    assert got == long
