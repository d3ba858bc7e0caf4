"""Synthetic England written in the layouts NHS data arrive in, so the whole input chain can be exercised.

:func:`write_nhs_extracts` streams a Synthetic England (:mod:`capitation.datasets.synthetic`) to CSV files laid
out as the library's readers take them, a chunk of practices at a time; :func:`nhs_extracts` builds the same
tables in memory from a :class:`~capitation.datasets.synthetic.SyntheticEngland`. Read back through
:func:`~capitation.inputs.read_hes_apc`, :func:`~capitation.inputs.read_hes_op`,
:func:`~capitation.inputs.person_year_costs`, :func:`~capitation.inputs.gp.conditions_from_gp_records`,
:func:`~capitation.inputs.registrations.read_registration_extract` and
:func:`~capitation.inputs.registrations.read_nhs_digital_registrations`, they give back the generator's tables,
and every record the readers leave out or recode is one of the deliberate quirks counted in ``quirks.json``.

Files (all CSV with a header row, codes unquoted; ``pcd_refset.txt`` tab-separated):

``hes_apc.csv``
    HES admitted patient care, one row per episode, the two history years in one file (the reader takes one
    source; HES delivers a file a year): ``FYEAR`` (``YYyy``, the year the
    episode *ends*, as HES counts it), ``EPIKEY``, ``PSEUDO_HESID``, ``ADMIDATE``, ``CLASSPAT``,
    ``DIAG_4_01…DIAG_4_20``, ``EPIEND``, ``EPIORDER``, ``EPISTART``, ``EPISTAT``, ``GPPRAC``, ``LSOA11``,
    ``PROCODE3``, ``SEX`` (1 male, 2 female), ``STARTAGE`` (7001–7007 under one year). Each generated spell
    gets an admission date in its financial year (a person's spells of a year in separate, non-overlapping
    windows, so no two share an admission date), a provider (the person's local trust, 85%), a patient class
    (ordinary 60%, day case 37.5%, regular day 1.5% or night 1% attender; births ordinary) and 1–3 episodes
    (ordinary admissions only; more when a spell has more than 19 secondary codes). Every episode's
    ``DIAG_4_01`` is the spell's primary diagnosis; the secondaries are cut into consecutive blocks, one per
    episode, so the reader's once-per-spell rule gives back each spell's codes at their positions. The
    generator itself repeats a code within a spell now and then (a comorbidity drawn twice); the reader keeps
    such a code once, so what comes back is the generator's ``diagnoses`` with each (spell, code) once
    (``quirks.json``: ``generator.inpatient_codes_repeated_in_spell``). ``PSEUDO_HESID`` is the generator's
    ``person_id`` in decimal, the id every file shares.
``hes_op.csv``
    HES outpatients, one row per appointment: ``FYEAR``, ``ATTENDKEY``, ``PSEUDO_HESID``, ``APPTAGE``,
    ``APPTDATE``, ``ATTENDED`` (5, or 6 for 5%), ``DIAG_4_01…DIAG_4_12`` (the generator's code in ``01``,
    mostly ``R69X``), ``GPPRAC``, ``LSOA11``, ``SEX``.
``sus_outcome_year.csv``
    SUS-style priced activity of the outcome year: ``person_id``, ``setting`` (``inpatient`` spells and
    ``outpatient`` appointments), ``activity_id``, ``date``, ``price`` (pounds and pence). **How cost is split**:
    each person's generated ``cost`` is rounded to whole pence (``numpy.rint``: to the nearest penny, an exact
    half-penny to even), then cut into ``n`` units (1 to 9, more for larger costs) at
    ``floor(pence × W_k / W_n)`` where ``W_k`` are running sums of exponential weights and the last cut is the
    total itself, so the units' prices are whole pence that sum exactly to the rounded cost. A unit above £600
    is an inpatient spell, the others outpatient appointments. Dates fall while the person is registered.
``gp_observations.csv``, ``gp_patients.csv``, ``pcd_refset.txt``
    GP coded records (``person_id``, ``date``, ``snomed_code``), the patients' ``year_month_of_birth``, and the
    Primary Care Domain reference sets in the portal's published layout (``Cluster_ID``,
    ``Cluster_description``, ``SNOMED_code``, ``SNOMED_code_description``, ``PCD Refset ID``,
    ``Service_and_Ruleset``; a subset of the real clusters' codes, each code in one cluster only). Each
    (person, register) of the generator's ``conditions`` that :data:`~capitation.inputs.gp.QOF_RULES` covers
    has a diagnosis code dated before the outcome year (on or after the rule's ``diagnosed_since``), 30% an
    earlier one too; ``conditions_from_gp_records(..., at=<1 April of the outcome year>, people=gp_patients)``
    gives back exactly those pairs. (Pass ``gp_patients.csv`` read as text, ``pd.read_csv(path, dtype=str)``:
    the reader reads the observations CSV as text but a people CSV with inferred types, and refuses text ids
    against integer ones.) **Registers without a shipped rule** (``NDH``, ``LVSD``, ``OB``, ``SMOK``:
    not "latest diagnosis versus latest resolved" rules) are not coded in SNOMED: they are written as they
    are to ``gp_conditions_without_rule.csv`` (``person_id``, ``register``, ``date``), the layout
    :class:`~capitation.inputs.ConditionTable` takes.
``registrations.csv``
    A PDS-like extract, one row per registration: ``person_id``, ``practice_code``, ``year_month_of_birth``,
    ``sex`` (1/2), ``registration_start``, ``registration_end`` (the first day no longer registered; blank
    while registered), ``lsoa_code``. Dates of birth are drawn so that the reader's day-15 rule gives the
    generator's age at 1 April (never on 1 April); joiners are the generator's own (its join draw is
    repeated here) and the registration covers the generator's exposure to the day: the reader's exposure
    is within one day (1/365) of the generator's.
``gp-reg-pat-prac-sing-age-male.csv``, ``…-female.csv``, ``gp-reg-pat-prac-lsoa-all.csv``, ``gp-reg-pat-prac-map.csv``
    NHS Digital's "Patients Registered at a GP Practice" for an extract on 1 April of the outcome year: the
    people registered that day (everyone but the year's joiners), by practice, sex and single age (95+), by
    practice and LSOA, and the practice map. The shipped practice frame has no PCN or sub-ICB: those fields
    are blank (so the reader lists every practice under ``without_PCN`` and ``without_sub-ICB``), as are the
    ONS ICB codes; ICB codes and names and the regions come from the frame. Only practices with someone on
    the list that day are written.
``quirks.json``
    The counts of every deliberate quirk, keyed as the readers count them (see :data:`QUIRK_RATES`), the
    rows of each file, and the parameters.

Every file holds its rows practice by practice, person by person. The quirks (rates in :data:`QUIRK_RATES`):
HES APC unfinished episodes (EPISTAT 1), exact duplicate episodes, copies with SEX 9 or 0, null practice codes,
FYEAR of the year an episode ends when it ends after 31 March (the reader takes the start date's year), ages
under one as 7001–7007, codes repeated in a spell's later episodes; HES outpatients not attended (2, 3, 7) and
null practice codes; SUS activity dated before or after the year; GP codes resolved later (off), resolved then
diagnosed again or resolved the same day (on), under the rule's age, before its ``diagnosed_since``, dated after
the reference date, or in no cluster; registrations ended before the year, at null practices, duplicated, and
people of sex 9 or 0 who are not generated. ``quirks.json`` counts each as the reader counts it.

Determinism: every draw is splitmix64 of (seed, key, stream, draw number) as in the generator, keyed by the
person, the spell or the appointment, so the files are byte-identical for the same seed whatever
``chunk_practices``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from capitation._io import atomic_folder
from capitation._kernels.synthetic import STREAM_EXPO, uniform_draws
from capitation._progress import progress as _progress
from capitation._results import Result
from capitation.datasets import _synthetic_params as P
from capitation.datasets import synthetic as _syn
from capitation.errors import InputError
from capitation.inputs.gp import QOF_RULES

__all__ = ["FILES", "QUIRK_RATES", "NhsExtracts", "NhsTables", "nhs_extracts", "read_nhs_extracts",
           "write_nhs_extracts"]

#: The files :func:`write_nhs_extracts` writes.
FILES = ("hes_apc.csv", "hes_op.csv", "sus_outcome_year.csv", "gp_observations.csv", "gp_patients.csv",
         "gp_conditions_without_rule.csv", "pcd_refset.txt", "registrations.csv",
         "gp-reg-pat-prac-sing-age-male.csv", "gp-reg-pat-prac-sing-age-female.csv",
         "gp-reg-pat-prac-lsoa-all.csv", "gp-reg-pat-prac-map.csv", "quirks.json")

#: Rates of the deliberate quirks (per spell, episode, appointment, person or registration as named).
QUIRK_RATES = {
    "apc_unfinished_per_spell": 0.004,        # a copy of the spell's last episode, EPISTAT 1, no end date
    "apc_sex_unknown_per_spell": 0.0005,      # a copy of its first episode with SEX 9 (or 0)
    "apc_duplicate_per_episode": 0.002,       # the episode written twice
    "null_practice_per_record": 0.008,        # GPPRAC & (40%), V81999 (40%), V81998, V81997, blank
    "op_not_attended_per_appointment": 0.10,  # an extra appointment, ATTENDED 3 (55%), 2 (35%) or 7
    "sus_before_year_per_person": 0.01,       # an extra priced spell dated in the 30 days before the year
    "sus_after_year_per_person": 0.005,       # ... after it (people still registered)
    "gp_rediagnosed_per_pair": 0.03,          # diagnosis, resolved, diagnosed again: on the register
    "gp_resolved_same_day_per_pair": 0.005,   # resolved on the day of the latest diagnosis: on
    "gp_resolved_off_per_person": 0.02,       # a register they are not on: diagnosis then resolved: off
    "gp_under_age_per_person": 0.01,          # asthma code under 6, depression code under 18: off
    "gp_after_reference_per_person": 0.006,   # a diagnosis code dated in the outcome year: not used
    "gp_before_since_per_person": 0.002,      # a cancer code before April 2003: off
    "gp_not_in_cluster_per_person": 0.3,      # a BMI or blood-pressure observation: in no cluster
    "reg_prior_per_joiner": 0.6,              # an earlier registration elsewhere, ended before the year
    "reg_prior_per_other": 0.03,
    "reg_null_practice_per_person": 0.002,    # a row at practice V81999, &, ...
    "reg_duplicate_per_person": 0.001,        # the registration written twice
    "reg_sex_unknown_people_per_practice": 1.0,  # mean number of extra people of sex 9/0 (not generated)
}

(_S_PERSON, _S_SPELL, _S_EPISODE, _S_OP, _S_COST, _S_GP, _S_GPQ, _S_REG, _S_PRACTICE) = range(101, 110)
_DIAG_APC, _DIAG_OP = 20, 12
_SLICE = 500_000  # rows of a HES table built and written at a time
_NULL_CODES = np.array(["&", "V81999", "V81998", "V81997", ""])
_NULL_CUM = np.array([0.4, 0.8, 0.9, 0.95, 1.0])
_PROVIDERS = np.array(["RTD", "RXH", "RR8", "RWE", "RJ1", "RTH", "RM1", "RBA", "RA7", "RTE", "RK9", "RWD", "RGT",
                       "RHM", "RX1", "RAE", "RXF", "RYJ", "RQM", "RVR", "R0A", "RBS", "RJE", "RAJ", "REF", "RH8",
                       "RJ7", "RKE", "RNS", "RWH"])
_REGIONS = {"London": ("Y56", "E40000003"), "South West": ("Y58", "E40000006"), "South East": ("Y59", "E40000005"),
            "Midlands": ("Y60", "E40000008"), "East of England": ("Y61", "E40000007"),
            "North West": ("Y62", "E40000010"), "North East": ("Y63", "E40000012")}
_ISO = "%Y-%m-%d"

# A subset of NHS England's PCD refsets (codes and descriptions as the portal publishes them): each code in one
# cluster only, so a diagnosis code feeds one register.
_CLUSTERS = {
    "DM_COD": ("Diabetes mellitus codes", "999004691000230108", "QOF Diabetes", [
        ("44054006", "Diabetes mellitus type 2 (disorder)"), ("5368009", "Drug-induced diabetes mellitus (disorder)"),
        ("4855003", "Retinopathy due to diabetes mellitus (disorder)"),
        ("385041000000108", "Diabetes mellitus with multiple complications (disorder)")]),
    "DMRES_COD": ("Diabetes resolved codes", "999003371000230102", "QOF Diabetes", [
        ("315051004", "Diabetes resolved (finding)")]),
    "CAN_COD": ("Cancer codes", "999013651000230103", "QOF Cancer", [
        ("13048006", "Orbital lymphoma (disorder)"), ("20224008", "Delta heavy chain disease (disorder)"),
        ("985355341000119101", "Malignant melanoma of skin of left wrist (disorder)")]),
    "CKD_COD": ("Chronic kidney disease (CKD) stage 3-5 codes", "999004011000230108", "QOF CKD", [
        ("433144002", "Chronic kidney disease stage 3 (disorder)"),
        ("431857002", "Chronic kidney disease stage 4 (disorder)"),
        ("433146000", "Chronic kidney disease stage 5 (disorder)")]),
    "CKD1AND2_COD": ("CKD stage 1-2 codes", "999004051000230107", "QOF CKD", [
        ("431855005", "Chronic kidney disease stage 1 (disorder)"),
        ("431856006", "Chronic kidney disease stage 2 (disorder)")]),
    "CKDRES_COD": ("CKD resolved codes", "999004171000230102", "QOF CKD", [
        ("939211000000104", "Chronic kidney disease resolved (finding)")]),
    "PALCARE_COD": ("Palliative care codes", "999009771000230104", "QOF Palliative care", [
        ("103735009", "Palliative care (regime/therapy)"), ("162608008", "Terminal illness - late stage (finding)"),
        ("182964004", "Terminal care (regime/therapy)")]),
    "PALCARENI_COD": ("Palliative care not clinically indicated codes", "999009931000230103", "QOF Palliative care",
                      [("1048611000000104", "Palliative care not currently clinically indicated (situation)")]),
    "AFIB_COD": ("Atrial fibrillation codes", "999010611000230105", "QOF Atrial fibrillation", [
        ("49436004", "Atrial fibrillation (disorder)"), ("5370000", "Atrial flutter (disorder)"),
        ("195080001", "Atrial fibrillation and flutter (disorder)")]),
    "AFIBRES_COD": ("Atrial fibrillation resolved codes", "999007971000230109", "QOF Atrial fibrillation", [
        ("196371000000102", "Atrial fibrillation resolved (finding)")]),
    "CHD_COD": ("Coronary heart disease codes", "999000771000230107", "QOF CHD", [
        ("1755008", "Old myocardial infarction (disorder)"),
        ("282006", "Acute myocardial infarction of basal-lateral wall (disorder)"),
        ("776219771000119107", "History of myocardial infarction due to demand ischemia (situation)")]),
    "HF_COD": ("Heart failure codes", "999013691000230108", "QOF Heart failure", [
        ("5375005", "Chronic left-sided congestive heart failure (disorder)"),
        ("10335000", "Chronic right-sided heart failure (disorder)"),
        ("10633002", "Acute congestive heart failure (disorder)")]),
    "HFRES_COD": ("Heart failure resolved codes", "999020411000230104", "QOF Heart failure", [
        ("521691000000100", "Heart failure resolved (finding)")]),
    "HYP_COD": ("Hypertension diagnosis codes", "999006611000230105", "QOF Hypertension", [
        ("38341003", "Hypertensive disorder, systemic arterial (disorder)"),
        ("1201005", "Benign essential hypertension (disorder)"),
        ("16229371000119106", "Labile systemic arterial hypertension (disorder)")]),
    "HYPRES_COD": ("Hypertension resolved codes", "999006531000230101", "QOF Hypertension", [
        ("162659009", "Hypertension resolved (finding)")]),
    "PAD_COD": ("Peripheral arterial disease codes", "999005931000230101", "QOF PAD", [
        ("63491006", "Intermittent claudication (finding)"), ("233958001", "Peripheral ischemia (disorder)")]),
    "STRK_COD": ("Stroke diagnosis codes", "999005531000230105", "QOF Stroke", [
        ("20059004", "Occlusion of cerebral artery (disorder)"), ("7713009", "Intrapontine hemorrhage (disorder)"),
        ("957319791000119104", "Cerebrovascular accident due to thrombosis of left cerebellar artery (disorder)")]),
    "TIA_COD": ("Transient ischaemic attack codes", "999005291000230109", "QOF Stroke", [
        ("16218291000119100", "Acute cerebral ischemia (disorder)"),
        ("64009001", "Basilar artery syndrome (disorder)")]),
    "AST_COD": ("Asthma diagnosis codes", "999012891000230104", "QOF Asthma", [
        ("12428000", "Intrinsic asthma without status asthmaticus (disorder)"),
        ("11641008", "Millers' asthma (disorder)"),
        ("16584951000119101", "Oral steroid-dependent asthma (disorder)")]),
    "ASTRES_COD": ("Asthma resolved codes", "999010051000230100", "QOF Asthma", [
        ("162660004", "Asthma resolved (finding)")]),
    "COPD_COD": ("Chronic obstructive pulmonary disease codes", "999011571000230107", "QOF COPD", [
        ("13645005", "Chronic obstructive pulmonary disease (disorder)"),
        ("4981000", "Panacinar emphysema (disorder)"),
        ("16003001", "Giant bullous emphysema (disorder)")]),
    "COPDRES_COD": ("COPD resolved codes", "999009131000230100", "QOF COPD", [
        ("941201000000103", "Chronic obstructive pulmonary disease resolved (finding)")]),
    "DEM_COD": ("Dementia codes", "999001331000230103", "QOF Dementia", [
        ("16276361000119109", "Vascular dementia without behavioral disturbance (disorder)"),
        ("281004", "Dementia associated with alcoholism (disorder)"),
        ("4817008", "Primary degenerative dementia of the Alzheimer type, senile onset, with delirium (disorder)")]),
    "DEPR_COD": ("Depression diagnosis codes", "999004611000230102", "QOF Depression", [
        ("832007", "Moderate major depression (disorder)"),
        ("14183003", "Chronic major depressive disorder, single episode (disorder)"),
        ("15639000", "Moderate major depression, single episode (disorder)")]),
    "DEPRES_COD": ("Depression resolved codes", "999004651000230103", "QOF Depression", [
        ("196381000000100", "Depression resolved (finding)")]),
    "EPIL_COD": ("Epilepsy diagnosis codes", "999004851000230104", "QOF Epilepsy", [
        ("6204001", "Juvenile myoclonic epilepsy (disorder)"),
        ("322112361000132104", "Epilepsy due to scarring of brain (disorder)"),
        ("241006", "Epilepsia partialis continua (finding)")]),
    "EPILRES_COD": ("Epilepsy resolved codes", "999005091000230101", "QOF Epilepsy", [
        ("162658001", "Epilepsy resolved (finding)")]),
    "LD_COD": ("Learning disability codes", "999002611000230109", "QOF Learning disability", [
        ("1239331000000100", "Significant intellectual disability (disorder)"),
        ("3073006", "Ruvalcaba syndrome (disorder)"), ("4199009", "18p partial trisomy syndrome (disorder)")]),
    "MH_COD": ("Psychosis, schizophrenia and bipolar affective disease codes", "999001091000230104",
               "QOF Mental health", [
                   ("162004", "Severe manic bipolar I disorder without psychotic features (disorder)"),
                   ("4441000", "Severe bipolar disorder with psychotic features (disorder)"),
                   ("16238741000119105", "Bipolar disorder caused by drug (disorder)")]),
}
#: Observations in no cluster of the refsets: BMI, blood pressure, weight, cigarette consumption.
_OTHER_CODES = np.array(["60621009", "75367002", "27113001", "230056004"])


# ----------------------------------------------------------------------------------------------------------
# counter-based draws: the generator's own
# ----------------------------------------------------------------------------------------------------------
def _draws(seed: int, keys: np.ndarray, stream: int, n: int) -> np.ndarray:
    """Uniforms in (0, 1), shape ``(len(keys), n)``: draw ``j`` is the generator's ``j``-th of the stream."""
    out = np.empty((len(keys), n), dtype=np.float64)
    uniform_draws(np.uint64(int(seed) & (2**64 - 1)), np.ascontiguousarray(keys).astype(np.uint64), np.uint64(stream),
                  out)
    return out


# ----------------------------------------------------------------------------------------------------------
# days (int64 days since 1970-01-01)
# ----------------------------------------------------------------------------------------------------------
def _april1(year) -> np.ndarray:
    months = (np.asarray(year, dtype=np.int64) - 1970) * 12 + 3
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    year = m.astype("datetime64[Y]").astype(np.int64) + 1970
    month = m.astype(np.int64) % 12 + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _hes_age(dob: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Return HES's age at ``day``: completed years, or 7001–7007 under one year.

    7001 is under a day old, then 1–6, 7–28, 29–90, 91–181, 182–272 and 273 days or more.
    """
    y1, m1, d1 = _ymd(dob)
    y2, m2, d2 = _ymd(day)
    years = y2 - y1 - ((m2 * 32 + d2) < (m1 * 32 + d1))
    age_days = day - dob
    code = 7001 + sum((age_days >= k).astype(np.int64) for k in (1, 7, 29, 91, 182, 273))
    return np.where(years >= 1, years, code)


def _date_array(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    return pa.array(values, type=pa.date32(), mask=None if valid is None else ~valid)


def _text(indices: np.ndarray, values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``values[indices]`` as a dictionary-encoded Arrow column (null where ``indices`` < 0 or not ``valid``)."""
    indices = np.asarray(indices, dtype=np.int64)
    mask = indices < 0 if valid is None else (indices < 0) | ~valid
    dictionary = pa.array(np.asarray(values, dtype=object), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(np.where(mask, 0, indices).astype(np.int32), mask=mask),
                                          dictionary)  # the CSV writer writes the values


def _fyear(start_year: np.ndarray, first: int) -> pa.Array:
    """HES's FYEAR ``YYyy`` of financial years starting in ``start_year`` (from ``first`` on)."""
    years = np.arange(first, first + 4)
    labels = np.array([f"{a % 100:02d}{(a + 1) % 100:02d}" for a in years])  # four labels, not one per row
    return _text(np.asarray(start_year, dtype=np.int64) - first, labels)


def _n_distinct(values: np.ndarray) -> int:
    if not len(values):
        return 0
    s = np.sort(values)
    return int(1 + np.count_nonzero(s[1:] != s[:-1]))


def _pounds(pence: np.ndarray) -> pa.Array:
    """Whole pence as Arrow decimals of pounds with two places (written ``1234.56``), built from the integers."""
    pence = np.ascontiguousarray(pence, dtype=np.int64)
    words = np.zeros((len(pence), 2), dtype=np.int64)
    words[:, 0] = pence
    words[:, 1] = np.where(pence < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(pence), [None, pa.py_buffer(words.tobytes())])


def _sliced(n: int, columns):
    """Yield the table of rows ``0..n`` in slices of ``_SLICE`` rows (one empty table when ``n`` is 0)."""
    for a in range(0, max(n, 1), _SLICE):
        yield columns(slice(a, min(a + _SLICE, n)))


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


# ----------------------------------------------------------------------------------------------------------
# one chunk of people -> the tables of every file
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Chunk:
    """A chunk's people, diagnosis rows and conditions as arrays (the generator's order)."""

    pid: np.ndarray
    prac: np.ndarray          # index into practices
    sex: np.ndarray           # 0 F, 1 M (P.SEXES)
    age: np.ndarray
    lsoa: np.ndarray          # index into lsoa_codes
    expo: np.ndarray
    cost: np.ndarray
    resident: np.ndarray
    died: np.ndarray
    d_pid: np.ndarray
    d_spell: np.ndarray
    d_fy: np.ndarray          # 0, 1: the two history years
    d_set: np.ndarray         # 0 inpatient, 1 outpatient
    d_pos: np.ndarray         # 0 primary, 1 secondary
    d_code: np.ndarray        # index into code_strings
    c_row: np.ndarray         # person row of each condition
    c_reg: np.ndarray         # index into P.REGISTERS
    practices: pd.DataFrame   # practice_code, practice_name, postcode, icb_code, icb_name, region
    lsoa_codes: np.ndarray
    code_strings: np.ndarray


@dataclasses.dataclass(frozen=True)
class _Context:
    seed: int
    year: str
    frame_codes: np.ndarray   # every practice of the year's frame (for earlier registrations)


def _rules_by_register() -> dict:
    return {r.register: r for r in QOF_RULES}


def _build(cx: _Context, ch: _Chunk, emit) -> dict:
    """Give every file's rows for one chunk to ``emit(name, table)``, one table at a time; return the quirk counts.

    Tables are Arrow (the map a pandas frame); the HES tables come in slices, so memory holds one at a time.
    """
    seed = cx.seed
    y0 = int(cx.year[:4])
    fy_start = int(_april1(y0))
    fy_end = int(_april1(y0 + 1))
    n_days = fy_end - fy_start
    hist = _april1(np.array([y0 - 2, y0 - 1, y0]))
    h_start, h_days = hist[:2], np.diff(hist)
    n = len(ch.pid)
    q: dict[str, dict] = {k: {} for k in ("hes_apc", "hes_op", "sus", "gp", "registrations", "generator")}

    # --- people: date of birth (never 1 April, so the day-15 rule gives the age back), registration ---------
    u = _draws(seed, ch.pid, _S_PERSON, 13)
    born_by = _april1(y0 - ch.age)                      # born after 1 April of y0 - age - 1, before this
    w0 = _april1(y0 - ch.age - 1) + 1
    dob = w0 + np.floor(u[:, 0] * (born_by - w0)).astype(np.int64)
    rg = np.searchsorted(P.RATE_EDGES, ch.age, side="right")
    e = _draws(seed, ch.pid, STREAM_EXPO, 2)  # the generator's own join draws
    joiner = (e[:, 0] < P.JOIN_P[rg]) & ch.resident
    s = np.where(joiner, e[:, 1], 0.0)
    end = s + ch.expo
    over = end > 1.0
    s = np.where(over, np.maximum(1.0 - ch.expo, 0.0), s)
    end = np.minimum(end, 1.0)
    sd = np.minimum(np.rint(s * n_days).astype(np.int64), n_days - 1)
    ed = np.minimum(np.maximum(np.rint(end * n_days).astype(np.int64), sd + 1), n_days)
    lo = np.maximum(dob, fy_start - 10_957)
    before = lo + np.floor(u[:, 1] * (fy_start - lo + 1)).astype(np.int64)
    reg_start = np.where(sd > 0, fy_start + sd, np.where(joiner, fy_start, before))
    still = (ed == n_days) & ~ch.died
    reg_end = fy_start + ed
    listed = sd == 0
    sex_code = np.array([2, 1], dtype=np.int64)[ch.sex]  # P.SEXES is (F, M); NHS codes 1 male, 2 female
    practice_codes = ch.practices["practice_code"].to_numpy(str)

    emit("registrations.csv", _registrations(cx, ch, u, dob, joiner, reg_start, reg_end, still, sex_code,
                                            practice_codes, fy_start, q["registrations"]))
    ym = _ymd(dob)
    emit("gp_patients.csv", pa.table({"person_id": ch.pid, "year_month_of_birth": ym[0] * 100 + ym[1]}))

    # --- NHS Digital: the lists on 1 April ----------------------------------------------------------------
    for name, table in _nhs_digital(ch, listed, cx.year).items():
        emit(name, table)

    # --- HES ------------------------------------------------------------------------------------------------
    _, code_uid = np.unique(ch.code_strings, return_inverse=True)
    for table in _hes_apc(seed, ch, u, dob, h_start, h_days, y0, sex_code, practice_codes, code_uid,
                          q["hes_apc"], q["generator"]):
        emit("hes_apc.csv", table)
    for table in _hes_op(seed, ch, dob, h_start, h_days, y0, sex_code, practice_codes, q["hes_op"]):
        emit("hes_op.csv", table)

    # --- SUS: the outcome year's priced activity ----------------------------------------------------------
    emit("sus_outcome_year.csv", _sus(seed, ch, fy_start, fy_end, sd, ed, still, q["sus"]))

    # --- GP records -----------------------------------------------------------------------------------------
    obs, other = _gp(seed, ch, dob, fy_start, q["gp"])
    emit("gp_observations.csv", obs)
    emit("gp_conditions_without_rule.csv", other)
    q["people"] = {"people": n, "listed_on_extract_date": int(listed.sum()), "joiners": int((sd > 0).sum())}
    return q


def _count(into: dict, key: str, value) -> None:
    value = int(value)
    if value:
        into[key] = into.get(key, 0) + value


def _null_practice(u_null: np.ndarray, u_code: np.ndarray, index: np.ndarray, n_codes: int, rate: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Practice code indices with HES/PDS null codes (``n_codes + k``: ``_NULL_CODES[k]``) in ``rate`` of them."""
    null = u_null < rate
    return np.where(null, n_codes + _pick(_NULL_CUM, u_code), index), null


def _registrations(cx, ch, u, dob, joiner, reg_start, reg_end, still, sex_code, practice_codes, fy_start, q):
    n = len(ch.pid)
    rate = QUIRK_RATES
    row = np.arange(n)
    # earlier registrations at another practice, ended on or before 1 April: outside the year
    prior = np.where(joiner, u[:, 2] < rate["reg_prior_per_joiner"], u[:, 2] < rate["reg_prior_per_other"])
    p_end = np.where(joiner, fy_start - np.floor(u[:, 3] * 1095).astype(np.int64), reg_start)
    p_start = np.maximum(dob, p_end - 1 - np.floor(u[:, 4] * 3650).astype(np.int64))
    prior &= p_start < p_end
    n_frame = len(cx.frame_codes)
    other = np.floor(u[:, 5] * n_frame).astype(np.int64)
    own = np.searchsorted(cx.frame_codes, practice_codes)[ch.prac]      # practices as indices into the frame
    other_code = np.where(other == own, (other + 1) % n_frame, other)
    null = u[:, 6] < rate["reg_null_practice_per_person"]
    null_code = n_frame + _pick(_NULL_CUM, u[:, 7])
    dup = u[:, 8] < rate["reg_duplicate_per_person"]
    # extra people of unknown sex (9 or 0), not generated: person ids past any practice's list
    keys = _syn._practice_key(practice_codes)
    has = np.bincount(ch.prac, minlength=len(practice_codes)) > 0
    up = _draws(cx.seed, keys, _S_PRACTICE, 4)
    n_x = np.where(has, (up[:, 0] < 0.5).astype(np.int64) + (up[:, 1] < 0.5), 0)
    first = np.searchsorted(ch.prac, np.arange(len(practice_codes)))
    xp = np.repeat(np.arange(len(practice_codes)), n_x)
    xj = np.arange(len(xp)) - np.repeat(np.cumsum(n_x) - n_x, n_x)
    x_pid = keys[xp] * 1_000_000 + 999_990 + xj
    ux = _draws(cx.seed, x_pid, _S_REG, 3)
    x_dob = _april1(int(cx.year[:4]) - 1 - np.floor(ux[:, 0] * 80).astype(np.int64)) + 40
    x_ym = _ymd(x_dob)

    ym = _ymd(dob)
    yyyymm = ym[0] * 100 + ym[1]
    parts = {"pid": [], "order": [], "practice": [], "ymb": [], "sex": [], "start": [], "end": [], "end_valid": [],
             "lsoa": []}

    def add(rows, order, practice, start, end, end_valid, sex=None, pid=None, ymb=None, lsoa=None):
        parts["pid"].append(ch.pid[rows] if pid is None else pid)
        parts["order"].append(np.full(len(rows), order))
        parts["practice"].append(practice)
        parts["ymb"].append(yyyymm[rows] if ymb is None else ymb)
        parts["sex"].append(sex_code[rows] if sex is None else sex)
        parts["start"].append(start)
        parts["end"].append(end)
        parts["end_valid"].append(end_valid)
        parts["lsoa"].append(ch.lsoa[rows] if lsoa is None else lsoa)

    r = row[prior]
    add(r, 0, other_code[r], p_start[r], p_end[r], np.ones(len(r), bool))
    add(row, 1, own, reg_start, reg_end, ~still)
    r = row[dup]
    add(r, 2, own[r], reg_start[r], reg_end[r], ~still[r])
    r = row[null]
    add(r, 3, null_code[r], reg_start[r], reg_end[r], ~still[r])
    add(first[xp], 0, np.searchsorted(cx.frame_codes, practice_codes)[xp], np.full(len(xp), fy_start - 365),
        np.zeros(len(xp), np.int64), np.zeros(len(xp), bool), sex=np.where(ux[:, 1] < 0.7, 9, 0), pid=x_pid,
        ymb=x_ym[0] * 100 + x_ym[1], lsoa=ch.lsoa[first[xp]])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((cat["order"], cat["pid"]))
    cat = {k: v[order] for k, v in cat.items()}
    _count(q, "registration_exact_duplicate", dup.sum())
    _count(q, "practice_null_code", null.sum())
    _count(q, "registration_outside_outcome_year", prior.sum())
    _count(q, "sex_not_known", len(xp))
    return pa.table({
        "person_id": cat["pid"],
        "practice_code": _text(cat["practice"], np.concatenate([cx.frame_codes, _NULL_CODES])),
        "year_month_of_birth": cat["ymb"].astype(np.int64),
        "sex": cat["sex"].astype(np.int64),
        "registration_start": _date_array(cat["start"]),
        "registration_end": _date_array(cat["end"], cat["end_valid"]),
        "lsoa_code": _text(cat["lsoa"], ch.lsoa_codes),
    })


def _nhs_digital(ch, listed, year) -> dict:
    y0 = int(year[:4])
    codes = ch.practices["practice_code"].to_numpy(str)
    n_p = len(codes)
    count = np.bincount(ch.prac[listed], minlength=n_p)
    keep = np.flatnonzero(count > 0)
    prac = ch.prac[listed]
    age = np.minimum(ch.age[listed], 95)
    out = {}
    pc = ch.practices["postcode"].to_numpy(str)
    for s, name in enumerate(("FEMALE", "MALE")):
        mine = ch.sex[listed] == s
        grid = np.bincount(prac[mine] * 96 + age[mine], minlength=n_p * 96).reshape(n_p, 96)
        counts = np.concatenate([grid, grid.sum(axis=1, keepdims=True)], axis=1)[keep]   # 0..95+, ALL
        labels = np.array([str(a) for a in range(95)] + ["95+", "ALL"])
        rows = len(keep) * 97
        p_of = np.repeat(keep, 97)
        out[f"gp-reg-pat-prac-sing-age-{name.lower()}.csv"] = pa.table({
            "PUBLICATION": pa.array(np.full(rows, "GP_PRAC_PAT_LIST")),
            "EXTRACT_DATE": pa.array(np.full(rows, f"{y0}-04-01")),
            "TYPE": pa.array(np.full(rows, "GP")),
            "SUB_ICB_LOCATION_CODE": pa.nulls(rows, pa.string()),
            "ONS_SUB_ICB_LOCATION_CODE": pa.nulls(rows, pa.string()),
            "ORG_CODE": _text(p_of, codes),
            "POSTCODE": _text(p_of, pc),
            "SEX": pa.array(np.full(rows, name)),
            "AGE": _text(np.tile(np.arange(97), len(keep)), labels),
            "NUMBER_OF_PATIENTS": pa.array(counts.ravel().astype(np.int64)),
        })
    # practice x LSOA, both sexes
    key = prac.astype(np.int64) * len(ch.lsoa_codes) + ch.lsoa[listed]
    cells, number = np.unique(key, return_counts=True)
    cp, cl = cells // len(ch.lsoa_codes), cells % len(ch.lsoa_codes)
    names = ch.practices["practice_name"].to_numpy(str)
    # pandas writes it (practice names may hold commas: quoted where needed); a few thousand rows a chunk
    out["gp-reg-pat-prac-lsoa-all.csv"] = pd.DataFrame({
        "PUBLICATION": "GP_PRAC_PAT_LIST", "EXTRACT_DATE": f"01APR{y0}", "PRACTICE_CODE": codes[cp],
        "PRACTICE_NAME": names[cp], "LSOA_CODE": ch.lsoa_codes[cl], "SEX": "ALL",
        "NUMBER_OF_PATIENTS": number.astype(np.int64)})
    f = ch.practices.iloc[keep]
    names_r = pd.unique(f["region"].astype(str).to_numpy())
    plain = [r.replace("&", "and").removeprefix("NHS ") for r in names_r]
    lookup = {r: next((v for k, v in _REGIONS.items() if p.startswith(k)), ("", ""))
              for r, p in zip(names_r, plain, strict=True)}   # per region (seven), not per practice
    region_code = f["region"].astype(str).map(lookup).tolist()
    out["gp-reg-pat-prac-map.csv"] = pd.DataFrame({
        "PUBLICATION": "GP_PRAC_PAT_LIST", "EXTRACT_DATE": f"01Apr{y0}",
        "PRACTICE_CODE": f["practice_code"].to_numpy(str), "PRACTICE_NAME": f["practice_name"].to_numpy(str),
        "PRACTICE_POSTCODE": f["postcode"].to_numpy(str), "PCN_CODE": "", "PCN_NAME": "",
        "ONS_SUB_ICB_LOCATION_CODE": "", "SUB_ICB_LOCATION_CODE": "", "SUB_ICB_LOCATION_NAME": "",
        "ONS_ICB_CODE": "", "ICB_CODE": f["icb_code"].to_numpy(str),
        "ICB_NAME": f["icb_name"].astype(str).str.upper().to_numpy(),
        "ONS_COMM_REGION_CODE": [c[1] for c in region_code], "COMM_REGION_CODE": [c[0] for c in region_code],
        "COMM_REGION_NAME": f["region"].astype(str).str.upper().to_numpy(), "SUPPLIER_NAME": "",
    })
    return out


def _spells_of(ch: _Chunk, setting: int):
    rows = np.flatnonzero(ch.d_set == setting)
    spell = ch.d_spell[rows]
    if len(rows) and (np.diff(spell) < 0).any():
        raise InputError("The generator's diagnosis rows must come person by person, spell by spell (sorted "
                         "spell_id). Fix: pass SyntheticEngland.diagnoses as generated.", parameter="england")
    first = np.flatnonzero(np.r_[True, spell[1:] != spell[:-1]]) if len(rows) else np.zeros(0, np.int64)
    return rows, first


def _person_rows(ch, pids: np.ndarray) -> np.ndarray:
    people = ch.pid if isinstance(ch, _Chunk) else ch
    at = np.searchsorted(people, pids)
    if len(pids) and ((at >= len(people)).any() or (people[np.minimum(at, len(people) - 1)] != pids).any()):
        raise InputError("Some diagnosis or condition rows belong to no person of the people table. Fix: pass "
                         "the SyntheticEngland's own tables.", parameter="england")
    return at


def _hes_apc(seed, ch, up, dob, h_start, h_days, y0, sex_code, practice_codes, code_uid, q, qg):
    rate = QUIRK_RATES
    rows, first = _spells_of(ch, 0)
    ns = len(first)
    n_rows = np.diff(np.r_[first, len(rows)])
    sp_id = ch.d_spell[rows[first]]
    prow = _person_rows(ch, ch.d_pid[rows[first]])
    fy = ch.d_fy[rows[first]].astype(np.int64)
    code = ch.d_code[rows]
    if len(rows) and (ch.d_pos[rows[first]] != 0).any():
        raise InputError("Each generated spell must start with its primary diagnosis. Fix: pass "
                         "SyntheticEngland.diagnoses as generated.", parameter="england")
    # generator's own repeats (a code twice in one spell): the reader keeps each once
    pair = np.repeat(np.arange(ns), n_rows) * (int(code_uid.max()) + 1 if len(code_uid) else 1) + code_uid[code]
    distinct = _n_distinct(pair)
    _count(qg, "inpatient_codes_repeated_in_spell", len(pair) - distinct)
    u = _draws(seed, sp_id, _S_SPELL, 9)
    birth = (ch.age[prow] + fy) == 1
    # patient class, episodes, length of stay
    classpat = np.select([u[:, 0] < 0.60, u[:, 0] < 0.975, u[:, 0] < 0.99], [1, 2, 3], 4)
    classpat = np.where(birth, 1, classpat)
    n_ep = np.where(classpat == 1, 1 + (u[:, 1] >= 0.80) + (u[:, 1] >= 0.95), 1)
    n_ep = np.maximum(n_ep, -(-(n_rows - 1) // (_DIAG_APC - 1)))
    classpat = np.where(n_ep > 1, 1, classpat)
    los = np.where(classpat == 1, np.floor(-np.log(u[:, 2]) * 4.0), 0).astype(np.int64)
    los = np.where(birth, np.floor(u[:, 2] * 3).astype(np.int64), los)
    # admission dates: a person's spells of a year in separate windows
    group = prow * 2 + fy
    nb = ~birth
    g_first = np.r_[True, group[1:] != group[:-1]] if ns else np.zeros(0, bool)
    g_id = np.cumsum(g_first) - 1
    nb_count = np.bincount(g_id, weights=nb, minlength=int(g_id[-1]) + 1 if ns else 0).astype(np.int64)
    nb_rank = np.cumsum(nb) - np.repeat(np.cumsum(nb_count) - nb_count, np.bincount(g_id)) - 1 if ns else g_id
    days_y = h_days[fy]
    width = days_y // np.maximum(nb_count[g_id], 1)
    off = np.floor(u[:, 3] * width).astype(np.int64)
    adm = nb_rank * width + off
    last = nb_rank == nb_count[g_id] - 1
    los = np.where(nb & ~last, np.minimum(los, width - 1 - off), los)
    adm = np.where(birth, dob[prow] - h_start[fy], adm)
    home = np.floor(up[:, 12] * len(_PROVIDERS)).astype(np.int64)
    provider = np.where(u[:, 4] < 0.85, home[prow], np.floor(u[:, 5] * len(_PROVIDERS)).astype(np.int64))
    # episodes
    ep_sp = np.repeat(np.arange(ns), n_ep)
    ne = len(ep_sp)
    j = np.arange(ne) - np.repeat(np.cumsum(n_ep) - n_ep, n_ep)
    st = np.minimum(adm[ep_sp] + (los[ep_sp] * j) // n_ep[ep_sp], days_y[ep_sp] - 1)
    is_last = j == n_ep[ep_sp] - 1
    en = np.where(is_last, adm[ep_sp] + los[ep_sp], np.r_[st[1:], 0] if ne else st)
    st_day = h_start[fy[ep_sp]] + st
    en_day = h_start[fy[ep_sp]] + en
    end_year = fy[ep_sp] + (en >= days_y[ep_sp])            # the year the episode ends: HES's FYEAR
    # diagnoses: every episode's DIAG_4_01 the primary, the secondaries in consecutive blocks
    mat = np.full((ne, _DIAG_APC), -1, dtype=np.int32)
    mat[:, 0] = code[first[ep_sp]] if ne else 0
    n_sec = n_rows - 1
    block = first[ep_sp] + 1 + (n_sec[ep_sp] * j) // n_ep[ep_sp]
    secondary = np.ones(len(rows), bool)
    secondary[first] = False
    g = np.flatnonzero(secondary)
    ep_of = np.searchsorted(block, g, side="right") - 1
    mat[ep_of, 1 + g - block[ep_of]] = code[g]
    ep_key = sp_id[ep_sp] * 10 + j
    ue = _draws(seed, ep_key, _S_EPISODE, 3)
    prac_idx = ch.prac[prow][ep_sp]
    gp, null = _null_practice(ue[:, 0], ue[:, 1], prac_idx, len(practice_codes), rate["null_practice_per_record"])
    age = _hes_age(dob[prow][ep_sp], st_day)
    # quirk rows: duplicates, unfinished copies of the last episode, copies of the first with SEX 9/0
    dup = ue[:, 2] < rate["apc_duplicate_per_episode"]
    unf = (u[:, 6] < rate["apc_unfinished_per_spell"])[ep_sp] & is_last
    sxx = (u[:, 7] < rate["apc_sex_unknown_per_spell"])[ep_sp] & (j == 0)
    src = np.concatenate([np.arange(ne), np.flatnonzero(dup), np.flatnonzero(sxx), np.flatnonzero(unf)])
    kind = np.concatenate([np.zeros(ne, np.int64), np.full(dup.sum(), 1), np.full(sxx.sum(), 2),
                           np.full(unf.sum(), 3)])
    order = np.lexsort((kind, src))
    src, kind = src[order], kind[order]
    sp_src = ep_sp[src]
    epikey = np.where(kind == 2, sp_id[sp_src] * 10 + 8, np.where(kind == 3, sp_id[sp_src] * 10 + 9, ep_key[src]))
    sex = np.where(kind == 2, np.where(u[sp_src, 8] < 0.7, 9, 0), sex_code[prow[sp_src]])
    y_end = np.where(kind == 3, fy[sp_src], end_year[src]) + y0 - 2
    _count(q, "episode_exact_duplicate", dup.sum())
    _count(q, "episode_unfinished", unf.sum())
    _count(q, "episode_sex_not_known", sxx.sum())
    cells = int((mat >= 0).sum())
    _count(q, "diagnosis_repeated_in_spell", cells - distinct)
    _count(q, "fyear_disagrees_with_start_date", (end_year != fy[ep_sp]).sum())
    _count(q, "practice_null_code", null.sum())
    _count(q, "age_under_one", (age >= 7001).sum())
    gp_codes = np.concatenate([practice_codes, _NULL_CODES])

    def columns(rows_):
        src_, kind_, sp_ = src[rows_], kind[rows_], sp_src[rows_]
        out = {
            "FYEAR": _fyear(y_end[rows_], y0 - 2),
            "EPIKEY": epikey[rows_].astype(np.int64),
            "PSEUDO_HESID": ch.pid[prow[sp_]],
            "ADMIDATE": _date_array(h_start[fy[sp_]] + adm[sp_]),
            "CLASSPAT": classpat[sp_].astype(np.int64),
        }
        block_ = mat[src_]
        for k in range(_DIAG_APC):
            out[f"DIAG_4_{k + 1:02d}"] = _text(block_[:, k], ch.code_strings)
        out.update({
            "EPIEND": _date_array(en_day[src_], kind_ != 3),
            "EPIORDER": (j[src_] + 1).astype(np.int64),
            "EPISTART": _date_array(st_day[src_]),
            "EPISTAT": np.where(kind_ == 3, 1, 3).astype(np.int64),
            "GPPRAC": _text(gp[src_], gp_codes),
            "LSOA11": _text(ch.lsoa[prow[sp_]], ch.lsoa_codes),
            "PROCODE3": _text(provider[sp_], _PROVIDERS),
            "SEX": sex[rows_].astype(np.int64),
            "STARTAGE": age[src_].astype(np.int64),
        })
        return pa.table(out)

    return _sliced(len(src), columns)


def _hes_op(seed, ch, dob, h_start, h_days, y0, sex_code, practice_codes, q):
    rate = QUIRK_RATES
    rows = np.flatnonzero(ch.d_set == 1)
    na = len(rows)
    key = ch.d_spell[rows]
    prow = _person_rows(ch, ch.d_pid[rows])
    fy = ch.d_fy[rows].astype(np.int64)
    u = _draws(seed, key, _S_OP, 7)
    day = h_start[fy] + np.floor(u[:, 0] * h_days[fy]).astype(np.int64)
    extra = u[:, 2] < rate["op_not_attended_per_appointment"]
    src = np.concatenate([np.arange(na), np.flatnonzero(extra)])
    kind = np.concatenate([np.zeros(na, np.int64), np.ones(int(extra.sum()), np.int64)])
    order = np.lexsort((kind, src))
    src, kind = src[order], kind[order]
    day = np.where(kind == 1, h_start[fy[src]] + np.floor(u[src, 4] * h_days[fy[src]]).astype(np.int64), day[src])
    attended = np.where(kind == 1, np.array([3, 2, 7])[_pick(np.array([0.55, 0.9, 1.0]), u[src, 3])],
                        np.where(u[src, 1] < 0.05, 6, 5))
    gp, null = _null_practice(u[:, 5], u[:, 6], ch.prac[prow], len(practice_codes), rate["null_practice_per_record"])
    r69 = np.isin(ch.code_strings, ["R69", "R69X"])
    code = np.where(kind == 1, -1, ch.d_code[rows][src])
    _count(q, "appointment_not_attended", extra.sum())
    _count(q, "diagnosis_not_recorded", r69[ch.d_code[rows]].sum())
    _count(q, "practice_null_code", null.sum())
    r69x = int(np.flatnonzero(ch.code_strings == "R69X")[0]) if (ch.code_strings == "R69X").any() else -1
    gp_codes = np.concatenate([practice_codes, _NULL_CODES])
    code = np.where(kind == 1, r69x, code)

    def columns(rows_):
        src_, who = src[rows_], prow[src[rows_]]
        out = {
            "FYEAR": _fyear(fy[src_] + y0 - 2, y0 - 2),
            "ATTENDKEY": key[src_] * 10 + kind[rows_],
            "PSEUDO_HESID": ch.pid[who],
            "APPTAGE": _hes_age(dob[who], day[rows_]).astype(np.int64),
            "APPTDATE": _date_array(day[rows_]),
            "ATTENDED": attended[rows_].astype(np.int64),
            "DIAG_4_01": _text(code[rows_], ch.code_strings),
        }
        for k in range(1, _DIAG_OP):
            out[f"DIAG_4_{k + 1:02d}"] = pa.nulls(len(src_), pa.string())
        out.update({
            "GPPRAC": _text(gp[src_], gp_codes),
            "LSOA11": _text(ch.lsoa[who], ch.lsoa_codes),
            "SEX": sex_code[who],
        })
        return pa.table(out)

    return _sliced(len(src), columns)


def _sus(seed, ch, fy_start, fy_end, sd, ed, still, q):
    rate = QUIRK_RATES
    pence = np.rint(ch.cost * 100.0).astype(np.int64)
    who = np.flatnonzero(pence > 0)
    u = _draws(seed, ch.pid[who], _S_COST, 22)
    units = np.clip(1 + np.floor(u[:, 0] * np.minimum(8, 1 + np.log2(1 + pence[who] / 40_000))), 1, 9
                    ).astype(np.int64)
    row = np.repeat(np.arange(len(who)), units)
    k = np.arange(len(row)) - np.repeat(np.cumsum(units) - units, units)
    weight = -np.log(u[row, 1 + k])
    cum = np.cumsum(weight)
    base = np.repeat(cum[np.cumsum(units) - units] - weight[np.cumsum(units) - units], units) if len(row) else cum
    within = cum - base
    total = np.repeat(within[np.cumsum(units) - 1], units) if len(row) else within
    cut = np.floor(pence[who][row] * (within / total)).astype(np.int64)
    cut = np.where(k == units[row] - 1, pence[who][row], np.minimum(cut, pence[who][row]))
    prev = np.r_[0, cut[:-1]] if len(cut) else cut
    share = np.where(k == 0, cut, cut - prev)
    if (share < 0).any():  # cuts are monotone by construction; a negative share would be a bug here
        raise InputError("Internal error: a cost split gave a negative price.", parameter="england")
    p = who[row]
    day = fy_start + sd[p] + np.floor(u[row, 11 + k] * (ed[p] - sd[p])).astype(np.int64)
    setting = (share <= 60_000).astype(np.int64)  # 0 inpatient, 1 outpatient
    # priced activity outside the year, deliberately
    ub = u[:, 10]
    before = ub < rate["sus_before_year_per_person"]
    after = (ub >= rate["sus_before_year_per_person"]) & (ub < rate["sus_before_year_per_person"]
                                                          + rate["sus_after_year_per_person"]) & still[who]
    xb, xa = np.flatnonzero(before), np.flatnonzero(after)
    x_row = np.concatenate([xb, xa])
    x_day = np.concatenate([fy_start - 1 - np.floor(u[xb, 20] * 30).astype(np.int64),
                            fy_end + np.floor(u[xa, 20] * 30).astype(np.int64)])
    x_price = 50_000 + np.floor(u[x_row, 21] * 400_000).astype(np.int64)
    _count(q, "before_outcome_year", len(xb))
    _count(q, "after_outcome_year", len(xa))
    pid = np.concatenate([ch.pid[p], ch.pid[who[x_row]]])
    unit = np.concatenate([k, np.full(len(x_row), 9)])
    order = np.lexsort((unit, pid))
    price = np.concatenate([share, x_price])[order]
    return pa.table({
        "person_id": pid[order],
        "setting": _text(np.concatenate([setting, np.zeros(len(x_row), np.int64)])[order],
                         np.array(["inpatient", "outpatient"])),
        "activity_id": pa.array((pid * 10 + unit)[order]),
        "date": _date_array(np.concatenate([day, x_day])[order]),
        "price": _pounds(price),
    })


def _gp(seed, ch, dob, at, q):
    rules = _rules_by_register()
    regs = np.array(P.REGISTERS)
    cluster_codes = {c: np.array([code for code, _ in v[3]]) for c, v in _CLUSTERS.items()}
    all_codes = np.array([code for v in _CLUSTERS.values() for code, _ in v[3]] + list(_OTHER_CODES))
    code_at = {c: int(np.flatnonzero(all_codes == c)[0]) for c in all_codes}
    # per register: diagnosis codes (first cluster; STIA either), resolved codes, since day, min age
    diag_tab, res_tab, since, min_age, has_rule = [], [], [], [], []
    for r in regs:
        rule = rules.get(str(r))
        has_rule.append(rule is not None)
        if rule is None:
            diag_tab.append(np.zeros(0, np.int64))
            res_tab.append(np.zeros(0, np.int64))
            since.append(-10**6)
            min_age.append(-1)
            continue
        diag_tab.append(np.array([code_at[c] for cl in rule.diagnosis for c in cluster_codes[cl]]))
        res_tab.append(np.array([code_at[c] for cl in rule.resolved for c in cluster_codes[cl]], dtype=np.int64))
        since.append(-10**6 if rule.diagnosed_since is None else
                     int(np.datetime64(rule.diagnosed_since, "D").astype(np.int64)))
        min_age.append(-1 if rule.min_age is None else rule.min_age)
    since, min_age, has_rule = np.array(since), np.array(min_age), np.array(has_rule)
    n_diag = np.array([len(t) for t in diag_tab])
    n_res = np.array([len(t) for t in res_tab])
    d_ptr = np.r_[0, np.cumsum(n_diag)]
    r_ptr = np.r_[0, np.cumsum(n_res)]
    d_flat = np.concatenate(diag_tab)
    r_flat = np.concatenate([t for t in res_tab if len(t)])

    def dx(reg, uu):
        at_ = d_ptr[reg] + np.floor(uu * n_diag[reg]).astype(np.int64)
        return d_flat[np.minimum(at_, len(d_flat) - 1)]

    def rx(reg, uu):
        at_ = r_ptr[reg] + np.floor(uu * n_res[reg]).astype(np.int64)
        return r_flat[np.minimum(at_, len(r_flat) - 1)]

    obs_pid, obs_day, obs_code = [], [], []

    def add(rows, day, code):
        obs_pid.append(ch.pid[rows])
        obs_day.append(np.asarray(day, np.int64))
        obs_code.append(np.asarray(code, np.int64))

    ruled = has_rule[ch.c_reg]
    c_row, c_reg = ch.c_row[ruled], ch.c_reg[ruled]
    u = _draws(seed, ch.pid[c_row] * 32 + c_reg, _S_GP, 10)
    lo = np.maximum(np.maximum(dob[c_row], since[c_reg]), at - 14_610)
    main = lo + np.floor(u[:, 0] * (at - lo)).astype(np.int64)
    add(c_row, main, dx(c_reg, u[:, 1]))
    review = u[:, 2] < 0.3
    add(c_row[review], (lo + np.floor(u[:, 3] * (main - lo + 1)).astype(np.int64))[review],
        dx(c_reg, u[:, 4])[review])
    resolvable = n_res[c_reg] > 0
    rate = QUIRK_RATES
    rediag = resolvable & (u[:, 5] < rate["gp_rediagnosed_per_pair"]) & (main - lo >= 2)
    d1 = lo + np.floor(u[:, 6] * (main - lo - 1)).astype(np.int64)
    d2 = d1 + 1 + np.floor(u[:, 7] * (main - d1 - 1)).astype(np.int64)
    add(c_row[rediag], d1[rediag], dx(c_reg, u[:, 8])[rediag])
    add(c_row[rediag], d2[rediag], rx(c_reg, u[:, 9])[rediag])
    same = resolvable & ~rediag & (u[:, 5] >= rate["gp_rediagnosed_per_pair"]) & (
        u[:, 5] < rate["gp_rediagnosed_per_pair"] + rate["gp_resolved_same_day_per_pair"])
    add(c_row[same], main[same], rx(c_reg, u[:, 9])[same])
    _count(q, "rediagnosed_after_resolved_on_register", rediag.sum())
    _count(q, "resolved_on_day_of_diagnosis_on_register", same.sum())

    # people's quirks on registers they are not on
    n = len(ch.pid)
    on = np.zeros((n, len(regs)), dtype=bool)
    on[ch.c_row, ch.c_reg] = True
    up = _draws(seed, ch.pid, _S_GPQ, 8)
    row = np.arange(n)
    res_regs = np.flatnonzero(n_res > 0)
    not_used, left_off = {}, {}
    uq = up[:, 0]
    a = rate["gp_resolved_off_per_person"]
    b = a + rate["gp_under_age_per_person"]
    c = b + rate["gp_after_reference_per_person"]
    d = c + rate["gp_before_since_per_person"]
    r_off = res_regs[np.floor(up[:, 1] * len(res_regs)).astype(np.int64)]
    lo_p = np.maximum(np.maximum(dob, since[r_off]), at - 14_610)
    sel = (uq < a) & ~on[row, r_off] & (at - lo_p >= 2)
    d1 = lo_p + np.floor(up[:, 2] * (at - lo_p - 1)).astype(np.int64)
    d2 = d1 + 1 + np.floor(up[:, 3] * (at - d1 - 1)).astype(np.int64)
    add(row[sel], d1[sel], dx(r_off, up[:, 4])[sel])
    add(row[sel], d2[sel], rx(r_off, up[:, 5])[sel])
    _count(left_off, "resolved", sel.sum())
    ast, dep = list(regs).index("AST"), list(regs).index("DEP")
    r_young = np.where(ch.age < min_age[ast], ast, dep)
    lo_y = np.maximum(dob, since[r_young])
    sel = (uq >= a) & (uq < b) & (ch.age < min_age[dep]) & ~on[row, r_young] & (at - lo_y >= 1)
    add(row[sel], (lo_y + np.floor(up[:, 2] * (at - lo_y)).astype(np.int64))[sel], dx(r_young, up[:, 4])[sel])
    _count(left_off, "under_age", sel.sum())
    ruled_regs = np.flatnonzero(has_rule)
    r_any = ruled_regs[np.floor(up[:, 1] * len(ruled_regs)).astype(np.int64)]
    sel = (uq >= b) & (uq < c)
    add(row[sel], at + 1 + np.floor(up[:, 2] * 300).astype(np.int64)[sel], dx(r_any, up[:, 4])[sel])
    _count(not_used, "after_reference_date", sel.sum())
    can = list(regs).index("CAN")
    early = max(int(since[can]) - 1, 0)
    lo_c = np.maximum(dob, early - 5_000)
    sel = (uq >= c) & (uq < d) & ~on[:, can] & (dob < early)
    add(row[sel], (lo_c + np.floor(up[:, 2] * (early - lo_c + 1)).astype(np.int64))[sel],
        dx(np.full(n, can), up[:, 4])[sel])
    _count(left_off, "diagnosed_before_since", sel.sum())
    sel = up[:, 6] < rate["gp_not_in_cluster_per_person"]
    lo_o = np.maximum(dob, at - 1826)
    add(row[sel], (lo_o + np.floor(up[:, 7] * (at - lo_o)).astype(np.int64))[sel],
        len(all_codes) - len(_OTHER_CODES) + np.floor(up[:, 5] * len(_OTHER_CODES)).astype(np.int64)[sel])
    _count(not_used, "not_in_any_cluster", sel.sum())
    q["not_used"] = not_used
    q["left_off"] = left_off

    pid = np.concatenate(obs_pid)
    day = np.concatenate(obs_day)
    code = np.concatenate(obs_code)
    order = np.lexsort((code, day, pid))
    obs = pa.table({"person_id": pid[order], "date": _date_array(day[order]),
                    "snomed_code": _text(code[order], all_codes)})
    # registers no shipped rule builds: written as conditions, dated as a diagnosis would be
    o_row, o_reg = ch.c_row[~ruled], ch.c_reg[~ruled]
    uo = _draws(seed, ch.pid[o_row] * 32 + o_reg, _S_GP, 1)
    lo = np.maximum(dob[o_row], at - 14_610)
    other = pa.table({"person_id": ch.pid[o_row], "register": _text(o_reg, regs),
                      "date": _date_array(lo + np.floor(uo[:, 0] * (at - lo)).astype(np.int64))})
    return obs, other


def _refset_table() -> pd.DataFrame:
    rows = [(cl, desc, code, code_desc, refset, service)
            for cl, (desc, refset, service, codes) in _CLUSTERS.items() for code, code_desc in codes]
    return pd.DataFrame(rows, columns=["Cluster_ID", "Cluster_description", "SNOMED_code", "SNOMED_code_description",
                                       "PCD Refset ID", "Service_and_Ruleset"])


# ----------------------------------------------------------------------------------------------------------
# inputs: the generator's chunk, or a SyntheticEngland
# ----------------------------------------------------------------------------------------------------------
_PRACTICE_COLUMNS = ["practice_code", "practice_name", "postcode", "icb_code", "icb_name", "region"]


def _chunk_from_generator(plan, g: dict) -> _Chunk:
    ref, t = _syn._reference(), _syn._tables()
    o, d = g["people"], g["diag"]
    regs = o["regs"]
    mat = ((regs[:, None] >> np.arange(P.N_REG, dtype=np.uint32)[None, :]) & np.uint32(1)).astype(bool)
    c_row, c_reg = np.nonzero(mat)
    return _Chunk(pid=o["pid"], prac=g["p_of"], sex=o["sex"], age=o["age"], lsoa=o["lsoa"], expo=o["expo"],
                  cost=o["cost"], resident=~o["ghost"], died=o["died"], d_pid=d["pid"], d_spell=d["spell"],
                  d_fy=d["fy"], d_set=d["set"], d_pos=d["pos"], d_code=d["code"], c_row=c_row, c_reg=c_reg,
                  practices=plan.frame.iloc[g["sel"]][_PRACTICE_COLUMNS].reset_index(drop=True),
                  lsoa_codes=ref["lsoa_codes"], code_strings=t["code_strings"])


def _chunk_from_england(se) -> _Chunk:
    people, diag, cond = se.people, se.diagnoses, se.conditions
    pid = people["person_id"].to_numpy(np.int64)
    if len(pid) > 1 and (np.diff(pid) <= 0).any():
        raise InputError("The 'england' parameter's people must be in generated order (increasing person_id). "
                         "Fix: pass a SyntheticEngland as synthetic_england returns it.", parameter="england")
    practices = se.practices[_PRACTICE_COLUMNS].reset_index(drop=True)
    prac = pd.Index(practices["practice_code"].to_numpy(str)).get_indexer(people["practice_code"].to_numpy(str))
    lsoa, lsoa_codes = pd.factorize(people["lsoa_code"].to_numpy(str), sort=True)
    code, code_strings = pd.factorize(diag["icd10"].to_numpy(str), sort=True)
    fys = [_syn._fy(se.outcome_year, 2), _syn._fy(se.outcome_year, 1)]
    c_row = _person_rows(pid, cond["person_id"].to_numpy(np.int64))
    c_reg = pd.Index(P.REGISTERS).get_indexer(cond["register"].to_numpy(str))
    order = np.lexsort((c_reg, c_row))
    return _Chunk(pid=pid, prac=prac.astype(np.int64), sex=(people["sex"].to_numpy(str) == "M").astype(np.int64),
                  age=people["age"].to_numpy(np.int64), lsoa=lsoa.astype(np.int64),
                  expo=people["exposure"].to_numpy(np.float64), cost=people["cost"].to_numpy(np.float64),
                  resident=people["resident"].to_numpy(bool), died=people["died"].to_numpy(bool),
                  d_pid=diag["person_id"].to_numpy(np.int64), d_spell=diag["spell_id"].to_numpy(np.int64),
                  d_fy=pd.Index(fys).get_indexer(diag["fy"].to_numpy(str)).astype(np.int8),
                  d_set=(diag["setting"].to_numpy(str) == "outpatient").astype(np.int8),
                  d_pos=(diag["position"].to_numpy(str) == "secondary").astype(np.int8),
                  d_code=code.astype(np.int64), c_row=c_row[order], c_reg=c_reg[order].astype(np.int64),
                  practices=practices, lsoa_codes=np.asarray(lsoa_codes, dtype=str),
                  code_strings=np.asarray(code_strings, dtype=str))


def _context(seed: int, outcome_year: str) -> _Context:
    frame = _syn._year_plan(outcome_year)["frame"]
    return _Context(seed=int(seed), year=outcome_year, frame_codes=frame["practice_code"].to_numpy(str))


def _add_quirks(total: dict, part: dict) -> None:
    for k, v in part.items():
        if isinstance(v, dict):
            _add_quirks(total.setdefault(k, {}), v)
        else:
            total[k] = total.get(k, 0) + v


def _quirks_document(q: dict, rows: dict, params: dict) -> dict:
    apc, op, gp = q.get("hes_apc", {}), q.get("hes_op", {}), q.get("gp", {})
    excl_apc = ("episode_exact_duplicate", "episode_unfinished", "episode_sex_not_known", "diagnosis_repeated_in_spell")
    rec_apc = ("fyear_disagrees_with_start_date", "practice_null_code", "age_under_one")
    excl_op = ("appointment_not_attended", "diagnosis_not_recorded")
    reg = q.get("registrations", {})
    excl_reg = ("registration_exact_duplicate", "practice_null_code", "registration_outside_outcome_year",
                "sex_not_known")

    def pick(d, keys):
        return {k: int(d[k]) for k in keys if d.get(k)}

    return {
        "parameters": params,
        "hes_apc": {"exclusions": pick(apc, excl_apc), "recoded": pick(apc, rec_apc)},
        "hes_op": {"exclusions": pick(op, excl_op), "recoded": pick(op, ("practice_null_code",))},
        "sus": {"not_used": pick(q.get("sus", {}), ("before_outcome_year", "after_outcome_year"))},
        "gp": {"not_used": {k: int(v) for k, v in gp.get("not_used", {}).items()},
               "left_off": {k: int(v) for k, v in gp.get("left_off", {}).items()},
               "on_register": pick(gp, ("rediagnosed_after_resolved_on_register",
                                        "resolved_on_day_of_diagnosis_on_register"))},
        "registrations": {"exclusions": pick(reg, excl_reg)},
        "generator": {k: int(v) for k, v in q.get("generator", {}).items()},
        "people": {k: int(v) for k, v in q.get("people", {}).items()},
        "rows": rows,
        "rates": QUIRK_RATES,
    }


# ----------------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class NhsExtracts:
    """Synthetic England in NHS layouts, in memory: one table per file and the quirk counts.

    Attributes
    ----------
    tables : dict of str → pandas.DataFrame
        One frame per file of :data:`FILES` (but ``quirks.json``), keyed by file name, all columns as the text
        the file holds (the readers take these frames as they take the files).
    quirks : dict
        The document written to ``quirks.json``: per reader, the exclusions and recodings it should count.

    Examples
    --------
    >>> from capitation.datasets.synthetic import synthetic_england
    >>> from capitation.datasets.nhs_layouts import nhs_extracts
    >>> ex = nhs_extracts(synthetic_england(0.02, seed=0, practices=["A81001"]))
    >>> sorted(ex.quirks["hes_apc"]), ex.tables["hes_apc.csv"].columns[:3].tolist()
    (['exclusions', 'recoded'], ['FYEAR', 'EPIKEY', 'PSEUDO_HESID'])
    """

    tables: dict
    quirks: dict


def _as_text_frame(table) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table.astype(str)
    cols = {}
    for name in table.column_names:
        col = table[name]
        text = col.cast(pa.string()) if not pa.types.is_string(col.type) else col
        cols[name] = pd.Series(text.fill_null("").to_numpy(zero_copy_only=False), dtype=object)
    return pd.DataFrame(cols)


def nhs_extracts(england) -> NhsExtracts:
    """Lay one generated :class:`~capitation.datasets.synthetic.SyntheticEngland` out as NHS extracts, in memory.

    The same rows as :func:`write_nhs_extracts` writes for the same seed and practices (the files are these
    tables, concatenated chunk by chunk); useful for tests and notebooks on a few practices.

    Parameters
    ----------
    england : SyntheticEngland
        As :func:`~capitation.datasets.synthetic.synthetic_england` returns it (its tables in generated order).

    Returns
    -------
    NhsExtracts
        A frame per file (text, as written) and the quirk counts.

    Raises
    ------
    InputError
        ``england`` is not a SyntheticEngland, or its tables are not in generated order.

    Examples
    --------
    >>> from capitation.datasets.synthetic import synthetic_england
    >>> from capitation.datasets.nhs_layouts import nhs_extracts
    >>> from capitation.inputs import read_hes_apc
    >>> se = synthetic_england(0.02, seed=0, practices=["A81001"])
    >>> ex = nhs_extracts(se)
    >>> apc = read_hes_apc(ex.tables["hes_apc.csv"], unknown_sex="drop")
    >>> apc.exclusions == ex.quirks["hes_apc"]["exclusions"]
    True
    """
    if not isinstance(england, _syn.SyntheticEngland):
        raise InputError(f"The 'england' parameter of nhs_extracts must be a SyntheticEngland. Got "
                         f"{type(england).__name__}. Fix: nhs_extracts(synthetic_england(0.01, seed=0)).",
                         parameter="england")
    cx = _context(england.seed, england.outcome_year)
    parts: dict = {}
    q = _build(cx, _chunk_from_england(england), lambda name, table: parts.setdefault(name, []).append(table))
    tables = {name: pd.concat(ts, ignore_index=True) if isinstance(ts[0], pd.DataFrame) else pa.concat_tables(ts)
              for name, ts in parts.items()}
    tables["pcd_refset.txt"] = _refset_table()
    rows = {name: len(t) if isinstance(t, pd.DataFrame) else t.num_rows for name, t in tables.items()}
    params = {"seed": england.seed, "fraction": england.fraction, "outcome_year": england.outcome_year,
              "list_inflation": england.list_inflation}
    return NhsExtracts({k: _as_text_frame(v) for k, v in tables.items()}, _quirks_document(q, rows, params))


def write_nhs_extracts(path: str | os.PathLike, fraction: float = 1.0, *, seed: int = 0,
                       outcome_year: str = "2025/26", practices: Sequence[str] | None = None,
                       list_inflation: float = 0.0, chunk_practices: int = 200, progress: bool | None = None,
                       overwrite: bool = False) -> Path:
    """Stream a Synthetic England to NHS-layout CSV files, a chunk of practices at a time.

    Writes the files of :data:`FILES` (described in this module's notes) into a folder, atomically: they are
    written under a temporary name beside ``path`` and renamed when complete. Memory is bounded by the chunk.

    Parameters
    ----------
    path : path-like
        Folder to create.
    fraction, seed, outcome_year, practices, list_inflation :
        As in :func:`~capitation.datasets.synthetic.synthetic_england`: the people are that function's.
    chunk_practices : int, default 200
        Practices generated and written per chunk; the bytes written are the same whatever its value.
    progress : bool, optional
        Show a progress bar (default: only on an interactive terminal).
    overwrite : bool, default False
        Replace an existing folder at ``path``.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    InputError
        A bad parameter (the message names it, the value and the fix).
    OutputError
        ``path`` exists (without ``overwrite``) or cannot be written.

    Examples
    --------
    >>> import json, tempfile
    >>> from capitation.datasets.nhs_layouts import write_nhs_extracts
    >>> from capitation.inputs import read_hes_apc
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = write_nhs_extracts(d + "/nhs", 0.02, practices=["A81001", "A81002"], chunk_practices=1)
    ...     quirks = json.loads((out / "quirks.json").read_text())
    ...     apc = read_hes_apc(out / "hes_apc.csv", unknown_sex="drop")
    ...     apc.exclusions == quirks["hes_apc"]["exclusions"]
    True
    """
    _syn._validate(fraction, seed, outcome_year, list_inflation)
    if isinstance(chunk_practices, bool) or not isinstance(chunk_practices, int | np.integer) or chunk_practices < 1:
        raise InputError(f"The 'chunk_practices' parameter of write_nhs_extracts must be a positive integer. Got "
                         f"{chunk_practices!r}. Fix: chunk_practices=200 (about 2 million people per chunk).",
                         parameter="chunk_practices")
    path = Path(path)
    plan = _syn._plan(outcome_year, practices, int(seed))
    if not len(plan.sel):
        raise InputError(f"The 'practices' parameter of write_nhs_extracts names no practice. Got {practices!r}. "
                         "Fix: give practice codes such as ['A81001'], or None for every practice.",
                         parameter="practices")
    cx = _context(int(seed), outcome_year)
    starts = list(range(0, len(plan.sel), int(chunk_practices)))
    quirks: dict = {}
    rows: dict = {}
    with atomic_folder(path, overwrite=overwrite, name="path") as tmp:
        writers: dict = {}

        def emit(name, table):
            if isinstance(table, pd.DataFrame):  # the practice map: a few rows per chunk, quoted where needed
                table.to_csv(tmp / name, mode="a", header=name not in rows, index=False, lineterminator="\n")
            else:
                if name not in writers:  # the header unquoted, as NHS files are, then the rows
                    sink = open(tmp / name, "wb")  # closed in the finally below
                    sink.write((",".join(table.column_names) + "\n").encode())
                    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
                    writers[name] = (sink, pacsv.CSVWriter(sink, table.schema, write_options=options))
                writers[name][1].write_table(table)
            rows[name] = rows.get(name, 0) + (len(table) if isinstance(table, pd.DataFrame) else table.num_rows)

        try:
            for s in _progress(starts, total=len(starts), desc="NHS extracts", enabled=progress, unit="chunk"):
                g = _syn._generate(plan, plan.sel[s:s + chunk_practices], fraction, int(seed), list_inflation)
                _add_quirks(quirks, _build(cx, _chunk_from_generator(plan, g), emit))
                del g
        finally:
            for sink, writer in writers.values():
                writer.close()
                sink.close()
        refset = _refset_table()
        refset.to_csv(tmp / "pcd_refset.txt", sep="\t", index=False, lineterminator="\n")
        rows["pcd_refset.txt"] = len(refset)
        params = {"seed": int(seed), "fraction": float(fraction), "outcome_year": outcome_year,
                  "list_inflation": float(list_inflation),
                  "practices": None if practices is None else len(plan.sel)}
        doc = _quirks_document(quirks, dict(sorted(rows.items())), params)
        (tmp / "quirks.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return path


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class NhsTables(Result):
    """NHS-layout files read back through the library's readers: the tables a fit or a score takes.

    Attributes
    ----------
    people : Population
        The registration extract's people of the outcome year, with ``cost`` from the SUS-style activity
        (0 for people with none).
    diagnoses : pandas.DataFrame
        HES admitted patient care and outpatient diagnoses, as :func:`~capitation.encode` takes them.
    conditions : pandas.DataFrame
        GP registers: those read from SNOMED records by the QOF rules, and those written without a rule.
    readers : dict of str → Result
        Each file's reader result by file name, with its counts of rows not used and recoded.
    outcome_year : str
        The year the files were written for.
    provenance : Provenance
        The library version that read them.

    Examples
    --------
    >>> import tempfile
    >>> from capitation.datasets.nhs_layouts import read_nhs_extracts, write_nhs_extracts
    >>> with tempfile.TemporaryDirectory() as d:
    ...     tables = read_nhs_extracts(write_nhs_extracts(d + "/nhs", 0.02, practices=["A81001"]))
    >>> tables.people.n_people == len(tables.to_frame()), sorted(tables.readers)[:2]
    (True, ['gp_observations.csv', 'hes_apc.csv'])
    """

    people: object
    diagnoses: pd.DataFrame
    conditions: pd.DataFrame
    readers: dict
    outcome_year: str

    def summary(self) -> str:
        """Describe the tables and, per file, the rows its reader did not use.

        Returns
        -------
        str
            A headline, then one line per file.

        Examples
        --------
        >>> import tempfile
        >>> from capitation.datasets.nhs_layouts import read_nhs_extracts, write_nhs_extracts
        >>> with tempfile.TemporaryDirectory() as d:
        ...     tables = read_nhs_extracts(write_nhs_extracts(d + "/nhs", 0.02, practices=["A81001"]))
        >>> tables.summary().splitlines()[0].startswith("NHS extracts for 2025/26:")
        True
        """
        lines = [f"NHS extracts for {self.outcome_year}: {self.people.n_people:,} people, "
                 f"{len(self.diagnoses):,} diagnosis rows, {len(self.conditions):,} register rows"]
        for name, result in self.readers.items():
            not_used = getattr(result, "exclusions", None) or getattr(result, "not_used", None) or {}
            counted = ", ".join(f"{k} {v:,}" for k, v in not_used.items() if v) or "none"
            lines.append(f"  {name}: not used: {counted}")
        return "\n".join(lines)

    def _frame(self) -> pd.DataFrame:
        return self.people.to_frame()


def read_nhs_extracts(folder: str | os.PathLike) -> NhsTables:
    """Read a folder of :func:`write_nhs_extracts` back through the library's readers.

    Registrations give the people of the outcome year, the SUS-style activity their cost, HES admitted care
    and outpatients their diagnoses, GP records (with the QOF rules at 1 April of the outcome year) and the
    registers without a rule their conditions. A part of England written a chunk of practices per folder
    can so be fitted a folder at a time, through the readers (:func:`capitation.stream.fit_batches`).

    Parameters
    ----------
    folder : path-like
        A folder written by :func:`write_nhs_extracts`.

    Returns
    -------
    NhsTables
        The people with cost, their diagnoses and conditions, and each reader's result.

    Raises
    ------
    InputError
        The folder lacks one of the files, or its ``quirks.json`` does not say the outcome year.

    Examples
    --------
    >>> import tempfile
    >>> from capitation.datasets.nhs_layouts import read_nhs_extracts, write_nhs_extracts
    >>> with tempfile.TemporaryDirectory() as d:
    ...     tables = read_nhs_extracts(write_nhs_extracts(d + "/nhs", 0.02, practices=["A81001"]))
    >>> tables.outcome_year, bool(tables.people.cost.sum() > 0)
    ('2025/26', True)
    """
    from capitation.inputs import (
        conditions_from_gp_records,
        person_year_costs,
        read_hes_apc,
        read_hes_op,
        read_registration_extract,
    )

    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise InputError(f"The folder {str(folder)!r} given to read_nhs_extracts lacks {len(missing)} of the files "
                         f"write_nhs_extracts writes, e.g. {missing[:3]}. Fix: point to a folder that "
                         "write_nhs_extracts wrote.", parameter="folder")
    try:
        year = json.loads((folder / "quirks.json").read_text())["parameters"]["outcome_year"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"The quirks.json of {str(folder)!r} does not say the outcome year ({exc!r}). Fix: point "
                         "to a folder that write_nhs_extracts wrote.", parameter="folder") from None
    first = int(year[:4])
    registrations = read_registration_extract(folder / "registrations.csv", outcome_year=year, unknown_sex="drop")
    costs = person_year_costs(folder / "sus_outcome_year.csv", year)
    people = dataclasses.replace(registrations.population, cost=costs.of(registrations.population.person_id))
    apc = read_hes_apc(folder / "hes_apc.csv", unknown_sex="drop")
    op = read_hes_op(folder / "hes_op.csv", unknown_sex="drop")
    gp = conditions_from_gp_records(folder / "gp_observations.csv", folder / "pcd_refset.txt", QOF_RULES,
                                    at=f"{first}-04-01", people=folder / "gp_patients.csv")
    other = pd.read_csv(folder / "gp_conditions_without_rule.csv", dtype=str, keep_default_na=False)
    conditions = pd.concat([gp.table, other.assign(date=pd.to_datetime(other["date"]))], ignore_index=True)
    diagnoses = pd.concat([apc.diagnoses, op.diagnoses], ignore_index=True)
    readers = {"registrations.csv": registrations, "sus_outcome_year.csv": costs, "hes_apc.csv": apc,
               "hes_op.csv": op, "gp_observations.csv": gp}
    return NhsTables(people, diagnoses, conditions, readers, year)
