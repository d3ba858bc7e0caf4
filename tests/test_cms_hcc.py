"""CMS-HCC V24/V28 scoring (capitation.cms_hcc): the published worked examples, each rule, bad input, budgets.

Expected values come from the published worked examples or from the shipped tables themselves (a factor
looked up by name), never from this module; the kernel is checked against a plain-Python reading of CMS's
rules (``reference_terms``) on generated people.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from capitation import cms_hcc
from capitation._config import threads
from capitation.cms_hcc.explain import reference_terms
from capitation.cms_hcc.rules import REASONS, payment_thousandths
from capitation.cms_hcc.synthetic import synthetic_beneficiaries
from capitation.cms_hcc.tables import MODEL_YEARS, manifest, model_tables, worked_examples
from capitation.errors import CapitationError, InputError, SchemaError

WORKED = worked_examples()


def person(**columns) -> pd.DataFrame:
    base = {"person_id": 1, "age": 70, "sex": "M", "orec": 0, "dual_status": "non", "lti": 0, "new_enrollee": 0}
    base.update(columns)
    return pd.DataFrame({k: [v] for k, v in base.items()})


def dx(*codes, pid=1) -> pd.DataFrame:
    return pd.DataFrame({"person_id": [pid] * len(codes), "icd10": list(codes)})


def one(codes=(), model="V28", year=2026, segment="derived", mce_edits=True, **columns):
    return cms_hcc.score(person(**columns), dx(*codes) if codes else None, model=model, payment_year=year,
                         segment=segment, mce_edits=mce_edits)


def factor(model, year, segment, variable) -> int:
    return model_tables(model, year).factor(segment, variable)


# -- the published worked examples ------------------------------------------------------------------------------

def _example_people(row) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    people = person(age=int(row.age), sex=row.sex, orec=int(row.orec), dual_status=row.dual_status,
                    lti=int(row.lti), new_enrollee=int(row.new_enrollee))
    codes = [c for c in row.diagnosis_codes.split(";") if c]
    return people, (dx(*codes) if codes else None)


@pytest.mark.parametrize("example", list(WORKED.itertuples()), ids=lambda r: f"{r.id}-{r.model}-{r.payment_year}")
def test_every_v24_v28_worked_example_is_reproduced_exactly(example):
    if example.model == "V22":
        pytest.skip("V22 (PACE) is not a model of capitation.cms_hcc: only V24 and V28 tables are shipped")
    people, diagnoses = _example_people(example)
    expected = int(Decimal(example.expected_raw_score) * 1000)
    fixed = cms_hcc.score(people, diagnoses, model=example.model, payment_year=int(example.payment_year),
                          segment=example.segment)
    derived = cms_hcc.score(people, diagnoses, model=example.model, payment_year=int(example.payment_year))
    assert fixed.raw_thousandths.tolist() == [expected]
    assert derived.segments.tolist() == [example.segment]  # the segment rule picks the published segment
    assert derived.raw_thousandths.tolist() == [expected]
    assert fixed.hccs().tolist() == [example.ram_payment_hccs]


def test_nineteen_worked_examples_are_v24_or_v28():
    assert (WORKED["model"] != "V22").sum() == 19


# -- the shipped tables --------------------------------------------------------------------------------------------

def test_every_shipped_table_matches_its_manifest_and_is_attributed():
    m = manifest()
    folder = resources.files("capitation.cms_hcc").joinpath("data")
    shipped = {p.name for p in folder.iterdir() if p.name.endswith(".csv")}
    assert shipped == set(m["files"])
    for name, entry in m["files"].items():
        data = folder.joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert data.count(b"\n") - 1 == entry["rows"], name
        assert entry["origin"] and entry["what"]
    readme = folder.joinpath("README.md").read_text()
    assert "17 U.S.C. §105" in readme and "17 U.S.C. §105" in m["attribution"]


def test_a_table_changed_after_release_is_refused(monkeypatch):
    import capitation.cms_hcc.tables as tables

    real = tables._read_bytes
    monkeypatch.setattr(tables, "_read_bytes", lambda name: real(name) + (b"X" if name.endswith(".csv") else b""))
    with pytest.raises(CapitationError, match="does not match its SHA-256"):
        tables._table("v28_hierarchy.csv")


def test_factors_are_read_from_the_tables_exactly():
    path = resources.files("capitation.cms_hcc").joinpath("data", "v28_coefficients_hccinfhir2026_long.csv")
    coef = pd.read_csv(path, dtype=str)
    t = model_tables("V28", 2026)
    for row in coef.sample(200, random_state=0).itertuples():
        assert t.factor(row.segment, row.variable) == int(Decimal(row.value) * 1000)
    assert t.factors.sum() == int(Decimal("1194.018") * 1000)  # the README's checksum of the V28 long table


# -- the kernel against a plain reading of CMS's rules ------------------------------------------------------------

@pytest.mark.parametrize(("model", "year", "mce"), [("V28", 2026, True), ("V28", 2027, False), ("V24", 2025, True),
                                                    ("V24", 2024, True), ("V28", 2024, True)])
def test_the_kernel_agrees_with_the_reference_on_generated_people(model, year, mce):
    people, diagnoses = synthetic_beneficiaries(4_000, model=model, payment_year=year, seed=year, mean_codes=7)
    result = cms_hcc.score(people, diagnoses, model=model, payment_year=year, mce_edits=mce)
    t = result.tables
    codes = diagnoses.assign(code=[c.replace(".", "").replace(" ", "").upper() for c in diagnoses["icd10"]])
    codes = codes[codes["code"].isin(set(t.codes))].groupby("person_id")["code"].apply(list)
    p = result._people
    hccs = result.hccs()
    for row in range(len(people)):
        ref = reference_terms(t, age=int(p.age[row]), sex=int(p.sex[row]), orec=int(p.orec[row]),
                              medicaid=int(p.medicaid[row]), segment=result.segments[row],
                              codes=codes.get(row, []), mce_edits=mce)
        assert ref["raw"] == result.raw_thousandths[row], row
        assert ";".join(f"HCC{h}" for h in ref["hccs"]) == hccs[row]


def test_the_design_times_the_factors_is_the_score():
    people, diagnoses = synthetic_beneficiaries(3_000, seed=4)
    result = cms_hcc.score(people, diagnoses)
    design = result.design()
    assert np.array_equal(design.score(), result.raw_thousandths)
    assert len(design.indptr) == len(people) + 1 and design.summary().startswith("CMS-HCC design: 3,000 people")


def test_scores_do_not_depend_on_threads_order_or_id_kind():
    people, diagnoses = synthetic_beneficiaries(20_000, seed=5)
    base = cms_hcc.score(people, diagnoses)
    with threads(1):
        single = cms_hcc.score(people, diagnoses)
    shuffled = cms_hcc.score(people, diagnoses.sample(frac=1, random_state=1))  # not grouped: counting sort
    as_text = cms_hcc.score(people.assign(person_id=people["person_id"].map("P{:06d}".format)),
                            diagnoses.assign(person_id=diagnoses["person_id"].map("P{:06d}".format)))
    plain = cms_hcc.score(people.astype({"sex": object, "dual_status": object}),
                          diagnoses.astype({"icd10": object}))
    for other in (single, shuffled, as_text, plain):
        assert np.array_equal(other.raw_thousandths, base.raw_thousandths)
        assert np.array_equal(other.hcc_words, base.hcc_words)
        assert other.diagnoses_report["records"].tolist() == base.diagnoses_report["records"].tolist()


def test_results_do_not_depend_on_how_the_work_is_cut(monkeypatch):
    import importlib

    module = importlib.import_module("capitation.cms_hcc.score")
    people, diagnoses = synthetic_beneficiaries(3_000, seed=6)
    diagnoses = diagnoses[diagnoses["person_id"] % 7 != 3]  # some people without records, some ranges empty
    base = cms_hcc.score(people, diagnoses)
    for records, persons in ((7, 5), (64, 1), (4_096, 333)):
        monkeypatch.setattr(module, "RECORDS_PER_TASK", records)
        monkeypatch.setattr(module, "PEOPLE_PER_TASK", persons)
        cut = cms_hcc.score(people, diagnoses)
        assert np.array_equal(cut.raw_thousandths, base.raw_thousandths)
        assert np.array_equal(cut._dx_ptr, base._dx_ptr)
        assert cut.diagnoses_report.equals(base.diagnoses_report)


def test_payment_scores_follow_cms_two_roundings_exactly():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 20_000, 2_000)
    raw[:4] = [0, 1, 1034, 1067 * 3]
    for norm, cia in ((1067, 59), (1153, 59), (1015, 0)):
        got = payment_thousandths(raw, norm, cia)
        step = Decimal("0.001")
        for r, g in zip(raw.tolist(), got.tolist(), strict=True):
            normalised = (Decimal(r) / 1000 / (Decimal(norm) / 1000)).quantize(step, rounding=ROUND_HALF_UP)
            expected = (normalised * (1 - Decimal(cia) / 1000)).quantize(step, rounding=ROUND_HALF_UP)
            assert g == int(expected * 1000)


# -- each rule ---------------------------------------------------------------------------------------------------

def test_a_code_mapping_to_two_categories_gives_both():
    t = model_tables("V28", 2026)
    p = t.codes.get_loc("E08311")
    both = {int(t.hcc_numbers[t.cc1[p]]), int(t.hcc_numbers[t.cc2[p]])}
    assert {int(h[3:]) for h in one(["E08311"]).hccs()[0].split(";")} == both


def test_mandatory_sex_and_age_edits_differ_by_model():
    # D66 for a woman: V28 → CC112, V24 → CC48; for a man, the mapped category.
    assert one(["D66"], sex="F").hccs()[0] == "HCC112"
    t = model_tables("V28", 2026)
    assert one(["D66"], sex="M").hccs()[0] == f"HCC{t.hcc_numbers[t.cc1[t.codes.get_loc('D66')]]}"
    assert one(["D66"], sex="F", model="V24", year=2025).hccs()[0] == "HCC48"
    # J44.9 under 18: invalid in V28, CC112 in V24.
    young = one(["J449"], age=16, orec=1)
    assert young.hccs()[0] == "" and young.diagnoses_report.loc[REASONS[7], "records"] == 1
    assert one(["J449"], age=16, orec=1, model="V24", year=2025).hccs()[0] == "HCC112"
    # F34.81 outside ages 6-18 is invalid in V24.
    assert one(["F3481"], age=40, orec=1, model="V24", year=2025).hccs()[0] == ""
    assert one(["F3481"], age=12, orec=1, model="V24", year=2025).hccs()[0] != ""


def test_mce_age_edits_are_on_by_default_and_can_be_switched_off():
    on, off = one(["C58"], age=70, sex="F"), one(["C58"], age=70, sex="F", mce_edits=False)
    assert on.hccs()[0] == "" and on.diagnoses_report.loc[REASONS[8], "records"] == 1
    assert off.hccs()[0] == "HCC22" and off.diagnoses_report.loc[REASONS[8], "records"] == 0
    assert one(["C58"], age=40, sex="F", orec=1).hccs()[0] == "HCC22"  # inside the MCE's 9-64


def test_v28_breast_cancer_c50a_is_hcc23_and_hcc22_only_under_50():
    assert one(["C50A0"], year=2027, age=60, sex="F", orec=1).hccs()[0] == "HCC23"
    assert one(["C50A0"], year=2027, age=45, sex="F", orec=1).hccs()[0] == "HCC22"
    assert one(["C50911"], year=2027, age=49, sex="F", orec=1).hccs()[0] == "HCC22"


def test_v28_hcc223_needs_another_heart_failure_hcc():
    assert one(["T82512A"]).hccs()[0] == ""  # HCC223 alone is dropped
    kept = one(["T82512A", "I110"]).hccs()[0]  # with HCC226 it stays, and the hierarchy drops 226
    assert kept == "HCC223"


def test_hierarchies_follow_cms_order_a_dropped_parent_drops_nothing():
    # 62 drops 63; 63 would drop 202 but has been dropped first (CMS's SAS macro V28115H1).
    assert one(["T8640", "I8500", "G931"]).hccs()[0] == "HCC62;HCC202"
    assert one(["I8500", "G931"]).hccs()[0] == "HCC63"
    why = one(["T8640", "I8500", "G931"]).explain(1)
    assert why.hccs.set_index("hcc").loc["HCC63", "status"] == "dropped by HCC62 (hierarchy)"


def test_hcc_counts_are_of_payment_hccs_after_hierarchies():
    codes = ["C771", "C180", "E1169", "I110", "J449"]  # 17 drops 22: four payment HCCs
    terms = one(codes).explain(1).factors["variable"].tolist()
    assert "D4" in terms and "HCC22" not in terms


def test_disabled_and_originally_disabled_come_from_age_and_orec():
    assert "OriginallyDisabled_Male" in one(age=70, orec=1).explain(1).factors["variable"].tolist()
    for orec in (0, 2, 3):  # OREC 3 is not originally disabled
        assert not any("Originally" in v for v in one(age=70, orec=orec).explain(1).factors["variable"])
    young = one(["J449"], age=50, orec=3, segment="INS", lti=1)
    assert "DISABLED_CHR_LUNG_V28" in young.explain(1).factors["variable"].tolist()
    assert "DISABLED_CHR_LUNG_V28" not in one(["J449"], age=50, orec=0, segment="INS").explain(1).factors["variable"]


def test_ltimcaid_counts_in_the_institutional_segment_only():
    ins = one(lti=1, dual_status="full")
    assert ins.segments[0] == "INS" and "LTIMCAID" in ins.explain(1).factors["variable"].tolist()
    assert ins.raw_thousandths[0] == factor("V28", 2026, "INS", "M70_74") + factor("V28", 2026, "INS", "LTIMCAID")
    assert "LTIMCAID" not in one(dual_status="full").explain(1).factors["variable"].tolist()
    assert one(lti=1).raw_thousandths[0] == factor("V28", 2026, "INS", "M70_74")  # no Medicaid: no LTIMCAID


def test_new_enrollees_get_their_cell_only():
    t = model_tables("V28", 2026)
    ne = one(["E1169", "I509"], new_enrollee=1, age=64, orec=0, sex="F", dual_status="full")
    assert ne.segments[0] == "NE" and ne.hccs()[0] == ""
    assert ne.raw_thousandths[0] == t.factor("NE", "MCAID_NORIGDIS_NEF65")  # 64 with OREC 0: the 65 cell
    assert ne.diagnoses_report.loc[REASONS[6], "records"] == 2
    assert one(new_enrollee=1, age=64, orec=1).raw_thousandths[0] == t.factor("NE", "NMCAID_NORIGDIS_NEM60_64")
    for age in (65, 66, 67, 68, 69):  # single years 65-69
        assert one(new_enrollee=1, age=age, orec=1).raw_thousandths[0] == t.factor("NE", f"NMCAID_ORIGDIS_NEM{age}")
    assert one(new_enrollee=1, age=70, orec=3).raw_thousandths[0] == t.factor("NE", "NMCAID_NORIGDIS_NEM70_74")


def test_the_derived_segment_puts_institutional_before_new_enrollee_before_community():
    people = pd.DataFrame({"person_id": [1, 2, 3, 4, 5, 6], "age": [70, 70, 70, 50, 80, 64],
                           "sex": ["F"] * 6, "orec": [0, 0, 0, 1, 0, 1],
                           "dual_status": ["full", "non", "partial", "full", "non", "non"],
                           "lti": [1, 0, 0, 0, 0, 0], "new_enrollee": [1, 1, 0, 0, 0, 0]})
    assert cms_hcc.score(people, None).segments.tolist() == ["INS", "NE", "CPA", "CFD", "CNA", "CND"]
    assert set(cms_hcc.score(people.drop(columns=["lti"]), None, segment="CFA").segments) == {"CFA"}


def test_a_code_of_another_years_table_is_counted_invalid_not_mapped():
    assert "A4154" not in model_tables("V28", 2024).codes and "A4154" in model_tables("V28", 2027).codes
    old = one(["A4154"], year=2024)
    assert old.hccs()[0] == "" and old.diagnoses_report.loc[REASONS[4], "records"] == 1
    assert one(["A4154"], year=2027).hccs()[0] == "HCC2"


def test_codes_are_normalised_whatever_their_spelling():
    spellings = ["E11.69", "e1169", " E11 69 ", "E1169"]
    assert {one([c]).hccs()[0] for c in spellings} == {"HCC37"}


def test_every_record_is_counted_under_exactly_one_reason():
    people = pd.DataFrame({"person_id": [1, 2, 3], "age": [70, 70, 16], "sex": ["F", "M", "M"], "orec": [0, 0, 1],
                           "dual_status": ["non"] * 3, "lti": [0] * 3, "new_enrollee": [0, 1, 0]})
    records = pd.DataFrame({"person_id": [1, 1, 1, 1, 1, 1, 1, 2, 9, 3, 3],
                            "icd10": ["E1169", "D66", "R05", "NOT A CODE", None, "D593", "C58", "I509", "I509",
                                      "J449", "P040"]})
    report = cms_hcc.score(people, records).diagnoses_report["records"]
    assert report.sum() == len(records)
    assert report.to_dict() == {REASONS[0]: 1, REASONS[1]: 1, REASONS[2]: 1, REASONS[3]: 2, REASONS[4]: 1,
                                REASONS[5]: 1, REASONS[6]: 1, REASONS[7]: 2, REASONS[8]: 1}


def test_large_generated_tables_count_every_record():
    people, diagnoses = synthetic_beneficiaries(30_000, seed=9)
    result = cms_hcc.score(people, diagnoses)
    assert result.diagnoses_report["records"].sum() == len(diagnoses)
    assert (result.diagnoses_report["records"] > 0).sum() >= 7  # the generator reaches nearly every reason
    assert "mean raw score" in result.summary() and "people by segment" in result.summary()


# -- explain -----------------------------------------------------------------------------------------------------

def test_explain_adds_up_and_names_diagnoses_hierarchies_and_edits():
    result = one(["E11.69", "E11.9", "D66", "C58", "R05"], sex="F", age=72)
    why = result.explain(1)
    assert round(why.factors["factor"].sum() * 1000) == result.raw_thousandths[0] == why.raw_thousandths
    hccs = why.hccs.set_index("hcc")
    assert hccs.loc["HCC37", "diagnoses"] == "E1169" and hccs.loc["HCC38", "diagnoses"] == "E119"
    assert hccs.loc["HCC38", "status"] == "dropped by HCC37 (hierarchy)"
    assert hccs.loc["HCC112", "status"] == "paid"
    effects = why.records.set_index("code")["effect"]
    assert effects["D66"].startswith("remapped to CC112") and effects["C58"] == "invalid (MCE age edit)"
    assert effects["R05"] == REASONS[5]
    text = why.summary()
    assert text.startswith("person_id 1: raw score") and "condition categories:" in text
    with pytest.raises(InputError, match="is not among the 1 beneficiaries"):
        result.explain(2)


# -- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "error", "words"), [
    (dict(model="V22"), InputError, "'model' parameter must be one of ['V24', 'V28']"),
    (dict(year=2025), InputError, "V28 payment year 2025 ICD-10 mapping is not among the shipped tables"),
    (dict(model="V24", year=2026), InputError, "paid on V28 alone from 2026"),
    (dict(segment="CXA"), InputError, "'segment' parameter of score must be 'derived' or one of"),
    (dict(mce_edits="yes"), InputError, "'mce_edits' parameter of score must be True or False"),
    (dict(age=-1), InputError, "column 'age' must be >= 0"),
    (dict(orec=4), InputError, "column 'orec' must be >= 0 and <= 3"),
    (dict(sex="X"), InputError, "column 'sex' must be one of"),
    (dict(dual_status="dual"), InputError, "column 'dual_status' must be one of"),
    (dict(lti=2), InputError, "column 'lti' must be >= 0 and <= 1"),
    (dict(age=70.5), InputError, "column 'age' must hold whole numbers"),
])
def test_bad_input_raises_a_named_error(change, error, words):
    kwargs = {k: change.pop(k) for k in list(change) if k in ("model", "year", "segment", "mce_edits")}
    with pytest.raises(error) as caught:
        one(["E1169"], **kwargs, **change)
    assert words in str(caught.value) and "Fix:" in str(caught.value)


def test_missing_columns_and_ambiguous_tables_are_refused():
    with pytest.raises(SchemaError, match=r"missing required column.*'orec'"):
        cms_hcc.score(person().drop(columns=["orec"]), None)
    with pytest.raises(SchemaError, match=r"missing required column.*'lti'"):
        cms_hcc.score(person().drop(columns=["lti"]), None)
    with pytest.raises(SchemaError, match="both 'age' and 'date_of_birth'"):
        cms_hcc.score(person(date_of_birth="1950-01-01"), None)
    with pytest.raises(SchemaError, match=r"missing required column.*'icd10'"):
        cms_hcc.score(person(), pd.DataFrame({"person_id": [1], "code": ["E1169"]}))
    with pytest.raises(SchemaError, match="holds strings but the 'beneficiaries' table's holds integers"):
        cms_hcc.score(person(), dx("E1169", pid="1"))
    with pytest.raises(InputError, match="must be unique"):
        cms_hcc.score(pd.concat([person(), person()]), None)
    with pytest.raises(InputError, match="cannot be chosen between full- and partial-benefit dual"):
        cms_hcc.score(person(medicaid=1).drop(columns=["dual_status"]), None)


def test_ages_from_dates_of_birth_are_taken_on_1_february():
    people = person(age=None).drop(columns=["age"])
    for dob, age in (("1956-02-01", 70), ("1956-02-02", 69), ("1955-12-31", 70)):
        got = cms_hcc.score(people.assign(date_of_birth=dob), None).explain(1).facts["age"]
        assert got == age, dob
    with pytest.raises(InputError, match="on or before 1 February 2026"):
        cms_hcc.score(people.assign(date_of_birth="2026-03-01"), None)


# -- blends and budgets -----------------------------------------------------------------------------------------

def test_the_blend_needs_weights_and_follows_the_stated_rounding():
    people, diagnoses = synthetic_beneficiaries(2_000, model="V24", payment_year=2024, seed=3)
    v24 = cms_hcc.score(people, diagnoses, model="V24", payment_year=2024)
    v28 = cms_hcc.score(people, diagnoses, model="V28", payment_year=2024)
    with pytest.raises(TypeError):
        cms_hcc.blend(v24, v28)  # no default weights
    b = cms_hcc.blend(v24, v28, weights={"V24": "0.67", "V28": "0.33"})
    step = Decimal("0.001")
    for r24, r28, got in zip(v24.raw_thousandths[:300].tolist(), v28.raw_thousandths[:300].tolist(),
                             b.payment_thousandths[:300].tolist(), strict=True):
        n24 = (Decimal(r24) / Decimal(1146)).quantize(step, rounding=ROUND_HALF_UP)
        n28 = (Decimal(r28) / Decimal(1015)).quantize(step, rounding=ROUND_HALF_UP)
        blended = (Decimal("0.67") * n24 + Decimal("0.33") * n28).quantize(step, rounding=ROUND_HALF_UP)
        assert got == int((blended * Decimal("0.941")).quantize(step, rounding=ROUND_HALF_UP) * 1000)
    for weights in ({"V24": "0.6", "V28": "0.3"}, {"V24": 0.5}, {"V24": "-0.1", "V28": "1.1"}):
        with pytest.raises(InputError, match="'weights' parameter of blend"):
            cms_hcc.blend(v24, v28, weights=weights)
    with pytest.raises(InputError, match="must be V28 scores"):
        cms_hcc.blend(v24, v24, weights={"V24": "0.5", "V28": "0.5"})


def test_budgets_are_benchmark_times_risk_times_months_to_the_cent():
    people, diagnoses = synthetic_beneficiaries(5_000, seed=8)
    scores = cms_hcc.score(people, diagnoses)
    rng = np.random.default_rng(8)
    members = pd.DataFrame({"person_id": people["person_id"][:4_900],
                            "contract": rng.choice(["H0001", "H0002", "H0003"], 4_900),
                            "months": rng.integers(0, 13, 4_900),
                            "rate": rng.choice(["1012.34", "987.65"], 4_900)})
    b = cms_hcc.budgets(scores, members, benchmark="rate", member_months="months")
    expected = {}
    for pid, contract, months, rate in members.itertuples(index=False):
        monthly = (Decimal(rate) * Decimal(int(scores.payment_thousandths[pid])) / 1000).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)
        expected[contract] = expected.get(contract, Decimal(0)) + monthly * int(months)
    assert {k: Decimal(v) for k, v in b.table["budget"].items()} == expected
    assert b.not_in_groups == 100 and "3 contract(s)" in b.summary()
    # A fixed pot shared in proportion to risk-weighted member-months reconciles to the cent.
    from capitation import allocate

    pot = allocate(b.table["risk_member_months"], "1000000.00", registered=b.table["members"])
    assert int(pot.practices["budget_pence"].sum()) == 100_000_000
    with pytest.raises(InputError, match="not scored"):
        cms_hcc.budgets(scores, members.assign(person_id=members["person_id"] + 10**6), benchmark="1000")
    with pytest.raises(InputError, match="whole cents"):
        cms_hcc.budgets(scores, members, benchmark="1000.001")


def test_every_model_year_shipped_scores():
    for model, year in MODEL_YEARS:
        assert one(["E1169"], model=model, year=year).raw_thousandths[0] > 0


# -- docstrings of the new modules (the repository's checker, on these modules) -------------------------------------

@pytest.mark.parametrize("module_name", ["capitation.cms_hcc", "capitation.cms_hcc.score", "capitation.cms_hcc.tables",
                                         "capitation.cms_hcc.budget", "capitation.cms_hcc.explain",
                                         "capitation.cms_hcc.inputs", "capitation.cms_hcc.synthetic",
                                         "capitation.cms_hcc.rules", "capitation.cms_hcc.compare",
                                         "capitation.cli.cms_hcc"])
def test_new_modules_have_numpy_docstrings(module_name):
    import importlib

    from test_docstrings import problems, public_objects, undocumented_parameters

    module = importlib.import_module(module_name)
    found = [p for name, obj in public_objects(module)
             for p in problems(f"{module_name}.{name}", obj) + undocumented_parameters(f"{module_name}.{name}", obj)]
    assert found == [], "\n".join(found)


# -- the command line ----------------------------------------------------------------------------------------------

@pytest.fixture
def tables(tmp_path):
    people, diagnoses = synthetic_beneficiaries(500, seed=12, categorical=False)
    people.to_csv(tmp_path / "b.csv", index=False)
    diagnoses.to_parquet(tmp_path / "d.parquet", index=False)
    return tmp_path, people, diagnoses


def test_the_command_line_writes_what_the_library_scores(tables, capsys):
    from capitation._io import read_table
    from capitation.cli import main

    folder, people, diagnoses = tables
    out = folder / "scores.parquet"
    assert main(["cms-hcc", "score", "--beneficiaries", str(folder / "b.csv"), "--diagnoses",
                 str(folder / "d.parquet"), "--model", "V28", "--year", "2026", "--out", str(out),
                 "--report", str(folder / "report.csv")]) == 0
    said = capsys.readouterr().out
    written = read_table(out, "scores")
    expected = cms_hcc.score(people, diagnoses).to_frame()
    pd.testing.assert_frame_equal(written.reset_index(drop=True), expected, check_dtype=False)
    assert list(written.columns) == ["person_id", "segment", "raw_score", "payment_score", "hccs"]
    report = pd.read_csv(folder / "report.csv")
    assert report["records"].sum() == len(diagnoses)
    assert "500 people" in said and "record(s) not used" in said and "17 U.S.C." in said
    assert main(["cms-hcc", "score", "--beneficiaries", str(folder / "b.csv"), "--diagnoses",
                 str(folder / "d.parquet"), "--out", str(out), "--quiet"]) == 1  # exists: refused
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "words"), [
    (["--year", "2025"], "capitation: error: The --year option for model V28 must be one of [2024, 2026, 2027]"),
    (["--model", "V22"], "capitation: error: The --model option must be one of ['V24', 'V28']"),
    (["--segment", "XYZ"], "capitation: error: The --segment option must be 'derived' or one of"),
    (["--out", "scores.xlsx"], "capitation: error: The --out option names"),
])
def test_command_line_errors_are_one_line_in_options(tables, options, words, capsys):
    from capitation.cli import main

    folder, _, _ = tables
    out = [] if "--out" in options else ["--out", str(folder / "s.parquet")]
    argv = ["cms-hcc", "score", "--beneficiaries", str(folder / "b.csv"), "--diagnoses", str(folder / "d.parquet"),
            *out, *options]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(words) and err.count("\n") == 1 and "Fix:" in err


def test_bad_beneficiaries_through_the_command_line_name_the_option_and_rows(tables, capsys):
    from capitation.cli import main

    folder, people, _ = tables
    people.assign(orec=people["orec"].where(people.index != 3, 7)).to_csv(folder / "bad.csv", index=False)
    assert main(["cms-hcc", "score", "--beneficiaries", str(folder / "bad.csv"), "--diagnoses",
                 str(folder / "d.parquet"), "--out", str(folder / "s.csv")]) == 1
    err = capsys.readouterr().err
    assert "The --beneficiaries table's column 'orec' must be >= 0 and <= 3" in err and "row 3" in err
