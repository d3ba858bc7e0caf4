"""Synthetic England written in NHS layouts and read back through the library's readers.

The round trip: ``write_nhs_extracts`` writes a few practices' people as HES APC and outpatient extracts, SUS-style
priced activity, GP coded records with PCD refsets, a PDS-like registration extract and NHS Digital's published
list files; the readers must give back exactly the generator's tables (``synthetic_england`` with the same
arguments), and every record they leave out or recode must be one of the quirks counted in ``quirks.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation import DiagnosisGrouping, FeatureSpec, Population, encode
from capitation.datasets import _synthetic_params as P
from capitation.datasets.nhs_layouts import FILES, nhs_extracts, read_nhs_extracts, write_nhs_extracts
from capitation.datasets.synthetic import synthetic_england
from capitation.errors import InputError
from capitation.inputs import people_from_hes, person_year_costs, read_hes_apc, read_hes_op
from capitation.inputs.gp import QOF_RULES, conditions_from_gp_records
from capitation.inputs.registrations import read_nhs_digital_registrations, read_registration_extract

FEW = ["A81001", "A81002", "B82005"]
ARGS = {"fraction": 0.05, "seed": 0, "practices": FEW}
YEAR = "2025/26"
KEY = ["person_id", "fy", "position", "icd10"]


@pytest.fixture(scope="module")
def england():
    return synthetic_england(**ARGS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_nhs_extracts(tmp_path_factory.mktemp("nhs") / "one", chunk_practices=1, **ARGS)


@pytest.fixture(scope="module")
def quirks(folder) -> dict:
    return json.loads((folder / "quirks.json").read_text())


@pytest.fixture(scope="module")
def apc(folder):
    return read_hes_apc(folder / "hes_apc.csv", unknown_sex="drop")


@pytest.fixture(scope="module")
def op(folder):
    return read_hes_op(folder / "hes_op.csv", unknown_sex="drop")


def _design_frame(x) -> pd.DataFrame:
    """A design matrix as a dense frame, rows by integer person id (the readers read ids as text)."""
    return pd.DataFrame(x.toarray(), index=x.row_ids.astype(np.int64), columns=x.column_names).sort_index()


def _multiset(frame: pd.DataFrame) -> pd.Series:
    """Rows of ``KEY`` counted, person ids as integers (the readers read them as text)."""
    frame = frame.assign(person_id=frame["person_id"].astype(np.int64))[KEY].astype(str)
    return frame.value_counts().sort_index()


def test_every_file_is_written(folder, quirks):
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    for name, rows in quirks["rows"].items():
        assert rows > 0, name
    assert quirks["generator"]["inpatient_codes_repeated_in_spell"] > 0   # why the comparison drops repeats


def test_hes_apc_gives_back_the_inpatient_diagnoses(england, apc, quirks):
    generated = england.diagnoses[england.diagnoses["setting"] == "inpatient"]
    # a code the generator repeats within a spell is one diagnosis to HES's once-per-spell rule
    once = generated.drop_duplicates(["spell_id", "icd10"])
    assert _multiset(apc.diagnoses).equals(_multiset(once))
    assert len(apc.spells) == generated["spell_id"].nunique()
    assert apc.exclusions == quirks["hes_apc"]["exclusions"]
    assert apc.recoded == quirks["hes_apc"]["recoded"]
    for reason in ("episode_unfinished", "episode_exact_duplicate", "episode_sex_not_known"):
        assert quirks["hes_apc"]["exclusions"][reason] > 0, reason
    for reason in ("fyear_disagrees_with_start_date", "practice_null_code", "age_under_one"):
        assert quirks["hes_apc"]["recoded"][reason] > 0, reason
    assert (apc.spells["episodes"] > 1).any()   # several episodes per spell


def test_hes_apc_layout(folder):
    raw = pd.read_csv(folder / "hes_apc.csv", dtype=str, keep_default_na=False)
    assert [f"DIAG_4_{k:02d}" for k in range(1, 21)] == [c for c in raw.columns if c.startswith("DIAG_4_")]
    assert set(raw["CLASSPAT"]) == {"1", "2", "3", "4"}
    assert set(raw["SEX"]) >= {"1", "2"}
    assert raw["FYEAR"].str.fullmatch(r"\d{4}").all()
    under_one = raw["STARTAGE"].astype(int) >= 7001
    assert under_one.any() and raw.loc[under_one, "STARTAGE"].astype(int).le(7007).all()
    finished = raw[raw["EPISTAT"] == "3"]
    # every episode of a spell carries the spell's primary diagnosis first
    spells = finished.groupby(["PSEUDO_HESID", "ADMIDATE", "PROCODE3"])["DIAG_4_01"].nunique()
    assert (spells == 1).all()
    assert (finished["EPISTART"] <= finished["EPIEND"]).all() and (finished["ADMIDATE"] <= finished["EPISTART"]).all()


def test_hes_op_gives_back_the_outpatient_diagnoses_and_counts(england, op, quirks):
    generated = england.diagnoses[england.diagnoses["setting"] == "outpatient"]
    coded = generated[~generated["icd10"].isin(["R69", "R69X"])]
    assert _multiset(op.diagnoses).equals(_multiset(coded))
    counts = op.counts.assign(person_id=op.counts["person_id"].astype(np.int64))
    got = counts.set_index(["person_id", "fy"])["appointments"].sort_index()
    expected = generated.groupby(["person_id", "fy"]).size().sort_index()
    assert got.to_numpy().tolist() == expected.to_numpy().tolist()
    assert got.index.tolist() == expected.index.tolist()
    assert op.exclusions == quirks["hes_op"]["exclusions"]
    assert op.recoded == quirks["hes_op"]["recoded"]
    assert quirks["hes_op"]["exclusions"]["diagnosis_not_recorded"] > len(coded)   # mostly R69X


def test_people_from_hes_agree_with_the_generator(england, apc, op):
    people = people_from_hes(apc, op, outcome_year=YEAR).people
    got = people.assign(person_id=people["person_id"].astype(np.int64)).set_index("person_id")
    expected = england.people.set_index("person_id").loc[got.index]
    assert (got["practice_code"].astype(str) == expected["practice_code"].astype(str)).all()
    assert (got["sex"].astype(str) == expected["sex"].astype(str)).all()


def test_costs_come_back_to_the_penny(england, folder, quirks):
    costs = person_year_costs(folder / "sus_outcome_year.csv", YEAR)
    pence = np.rint(england.people["cost"].to_numpy() * 100).astype(np.int64)
    # read as text, like every NHS reader: the generator's integer ids as the text written
    got = costs.costs.set_index("person_id")["cost_pence"].reindex(england.people["person_id"].astype(str),
                                                                   fill_value=0)
    assert got.to_numpy().tolist() == pence.tolist()
    assert costs.total_pence == int(pence.sum())
    assert costs.not_used == quirks["sus"]["not_used"]
    assert set(quirks["sus"]["not_used"]) == {"before_outcome_year", "after_outcome_year"}


def test_gp_records_give_back_the_registers(england, folder, quirks):
    gp = conditions_from_gp_records(folder / "gp_observations.csv", folder / "pcd_refset.txt", QOF_RULES,
                                    at="2025-04-01", people=folder / "gp_patients.csv")
    ruled = {r.register for r in QOF_RULES}
    generated = england.conditions[england.conditions["register"].isin(ruled)]
    expected = set(zip(generated["person_id"].astype(np.int64), generated["register"], strict=True))
    got = set(zip(gp.table["person_id"].astype(np.int64), gp.table["register"], strict=True))
    assert got == expected and len(gp.table) == len(expected)
    assert gp.not_used == quirks["gp"]["not_used"]
    assert gp.left_off == quirks["gp"]["left_off"]
    assert set(gp.left_off) == {"resolved", "under_age", "diagnosed_before_since"}
    assert min(quirks["gp"]["on_register"].values()) > 0    # re-diagnosed after resolved, resolved same day
    assert (gp.table["date"] < pd.Timestamp("2025-04-01")).all()
    # the registers no shipped rule builds are written as conditions
    other = pd.read_csv(folder / "gp_conditions_without_rule.csv")
    rest = england.conditions[~england.conditions["register"].isin(ruled)]
    assert set(other["register"]) == {"NDH", "LVSD", "OB", "SMOK"}
    assert set(zip(other["person_id"], other["register"], strict=True)) == \
        set(zip(rest["person_id"].astype(np.int64), rest["register"], strict=True))


def test_registration_extract_gives_back_the_people(england, folder, quirks):
    extract = read_registration_extract(folder / "registrations.csv", outcome_year=YEAR, unknown_sex="drop")
    got = extract.population.to_frame()
    got = got.assign(person_id=got["person_id"].astype(np.int64)).set_index("person_id").sort_index()
    expected = england.people.set_index("person_id").sort_index()
    assert got.index.tolist() == expected.index.tolist()
    for column in ("practice_code", "sex", "lsoa_code"):
        assert (got[column].astype(str) == expected[column].astype(str)).all(), column
    assert got["age"].astype(int).tolist() == expected["age"].astype(int).tolist()
    # registration dates are whole days: exposure comes back to within a day of the year
    assert np.abs(got["exposure"] - expected["exposure"]).max() <= 1 / 365 + 1e-12
    assert extract.exclusions == quirks["registrations"]["exclusions"]
    assert extract.recoded == {}


def test_nhs_digital_lists_are_the_people_registered_on_1_april(england, folder):
    lists = read_nhs_digital_registrations(folder / "gp-reg-pat-prac-sing-age-male.csv",
                                           folder / "gp-reg-pat-prac-sing-age-female.csv",
                                           lsoa=folder / "gp-reg-pat-prac-lsoa-all.csv",
                                           practice_map=folder / "gp-reg-pat-prac-map.csv")
    rows = pd.read_csv(folder / "registrations.csv", dtype=str, keep_default_na=False)
    joined = rows.loc[rows["registration_start"] > "2025-04-01", "person_id"].astype(np.int64)
    listed = england.people[~england.people["person_id"].isin(joined)]
    expected = (listed.assign(age=np.minimum(listed["age"], 95)).groupby(["practice_code", "sex", "age"]).size()
                .rename("patients"))
    got = lists.by_age[lists.by_age["patients"] > 0].set_index(["practice_code", "sex", "age"])["patients"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    assert lists.list_sizes["list_size"].to_dict() == listed.groupby("practice_code").size().to_dict()
    assert lists.extract_date == pd.Timestamp("2025-04-01")
    assert len(lists.lsoa_differences) == 0
    assert set(lists.unmatched) == {"without_PCN", "without_sub-ICB"}   # the shipped frame has neither
    icb = lists.membership_table("ICB").set_index("practice_code")["consortium_code"]
    assert icb.to_dict() == england.practices.set_index("practice_code")["icb_code"].loc[icb.index].to_dict()


def test_the_whole_chain_gives_the_generators_design(england, folder, apc, op):
    """People, diagnoses and conditions read from the NHS layouts encode to the generator's design matrix."""
    grouping = DiagnosisGrouping.from_frame(england.truth.grouping_frame())
    spec = FeatureSpec(diagnosis_grouping=grouping, outcome_year=YEAR, conditions=P.REGISTERS)
    expected = encode(spec, Population.from_frame(england.people), diagnoses=england.diagnoses,
                      conditions=england.conditions)
    people = read_registration_extract(folder / "registrations.csv", outcome_year=YEAR,
                                       unknown_sex="drop").population
    gp = conditions_from_gp_records(folder / "gp_observations.csv", folder / "pcd_refset.txt", QOF_RULES,
                                    at="2025-04-01", people=folder / "gp_patients.csv")
    other = pd.read_csv(folder / "gp_conditions_without_rule.csv", dtype=str)
    conditions = pd.concat([gp.table, other.assign(date=pd.to_datetime(other["date"]))], ignore_index=True)
    got = encode(spec, people, diagnoses=pd.concat([apc.diagnoses, op.diagnoses], ignore_index=True),
                 conditions=conditions)
    assert got.column_names == expected.column_names

    assert _design_frame(got).equals(_design_frame(expected))
    # the costs and the registration extract both read their ids as text: they match as written
    costs = person_year_costs(folder / "sus_outcome_year.csv", YEAR)
    pounds = costs.of(people.person_id)
    by_id = england.people.set_index("person_id")["cost"].loc[people.person_id.astype(np.int64)].to_numpy()
    assert np.abs(pounds - by_id).max() <= 0.005


def test_same_bytes_whatever_the_chunk_size(folder, tmp_path):
    other = write_nhs_extracts(tmp_path / "three", chunk_practices=3, **ARGS)
    for name in FILES:
        assert (other / name).read_bytes() == (folder / name).read_bytes(), name
    reseeded = write_nhs_extracts(tmp_path / "seed1", chunk_practices=3, **{**ARGS, "seed": 1})
    assert (reseeded / "hes_apc.csv").read_bytes() != (folder / "hes_apc.csv").read_bytes()


def test_in_memory_tables_are_the_files(england, folder, quirks):
    ex = nhs_extracts(england)
    for name, table in ex.tables.items():
        sep = "\t" if name.endswith(".txt") else ","
        written = pd.read_csv(folder / name, dtype=str, keep_default_na=False, sep=sep)
        assert written.equals(table.astype(str)), name
    for section in ("hes_apc", "hes_op", "sus", "gp", "registrations", "generator", "people", "rows"):
        assert ex.quirks[section] == quirks[section], section


def test_bad_parameters_are_refused(tmp_path, folder):
    with pytest.raises(InputError, match="chunk_practices"):
        write_nhs_extracts(tmp_path / "x", 0.05, practices=FEW, chunk_practices=0)
    with pytest.raises(InputError, match="fraction"):
        write_nhs_extracts(tmp_path / "x", 2.0, practices=FEW)
    with pytest.raises(InputError, match="practices"):
        write_nhs_extracts(tmp_path / "x", 0.05, practices=[])
    with pytest.raises(InputError, match="england"):
        nhs_extracts("not a SyntheticEngland")


# -- read_nhs_extracts: the chain above as one call, and a fit a folder at a time ----------------------------

def test_read_nhs_extracts_is_the_chain_of_readers(england, folder):
    tables = read_nhs_extracts(folder)
    people = read_registration_extract(folder / "registrations.csv", outcome_year=YEAR,
                                       unknown_sex="drop").population
    np.testing.assert_array_equal(tables.people.person_id, people.person_id)
    np.testing.assert_array_equal(tables.people.exposure, people.exposure)
    # every cost to the penny of the generator's, people in the registration extract's order
    by_id = england.people.set_index("person_id")["cost"].loc[people.person_id.astype(np.int64)].to_numpy()
    assert np.abs(tables.people.cost - by_id).max() <= 0.005
    grouping = DiagnosisGrouping.from_frame(england.truth.grouping_frame())
    spec = FeatureSpec(diagnosis_grouping=grouping, outcome_year=YEAR, conditions=P.REGISTERS)
    expected = encode(spec, Population.from_frame(england.people), diagnoses=england.diagnoses,
                      conditions=england.conditions)
    got = encode(spec, tables.people, diagnoses=tables.diagnoses, conditions=tables.conditions)

    assert _design_frame(got).equals(_design_frame(expected))
    assert set(tables.readers) == {"registrations.csv", "sus_outcome_year.csv", "hes_apc.csv", "hes_op.csv",
                                   "gp_observations.csv"}
    assert tables.summary().splitlines()[0].startswith(f"NHS extracts for {YEAR}: {people.n_people:,} people")


def test_a_fit_a_folder_at_a_time_is_the_fit_of_the_generators_tables(england, tmp_path):
    """Written a practice per folder, read through the readers, fitted with fit_batches: the generator's fit."""
    from capitation.stream import Batch, fit_batches

    spec = FeatureSpec(outcome_year=YEAR)
    parts = [write_nhs_extracts(tmp_path / code, practices=[code], fraction=ARGS["fraction"], seed=ARGS["seed"])
             for code in FEW]
    streamed = fit_batches(spec, (Batch(t.people, t.diagnoses, t.conditions)
                                  for t in map(read_nhs_extracts, parts)), on_aliased="drop")
    truth = fit_batches(spec, [Batch(england.people, england.diagnoses, None)], on_aliased="drop")
    assert streamed.result_.n == truth.result_.n == len(england.people)
    # exposure within a day and cost to the penny of the generator's: the coefficients agree closely
    np.testing.assert_allclose(streamed.coef_, truth.coef_, rtol=2e-3, atol=0.5)


def test_read_nhs_extracts_names_a_folder_it_cannot_read(tmp_path, folder):
    with pytest.raises(InputError, match=r"lacks 13 of the files.*Fix:"):
        read_nhs_extracts(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in FILES:
        (bad / name).write_bytes((folder / name).read_bytes())
    (bad / "quirks.json").write_text("{}")
    with pytest.raises(InputError, match=r"does not say the outcome year.*Fix:"):
        read_nhs_extracts(bad)
