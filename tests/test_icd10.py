"""ICD-10 grouping: the shipped table, the normaliser and the fast grouper against a plain-Python twin."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import pickle
import re
import string
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.errors import InputError, SchemaError, UnknownCodeError
from capitation.features.icd10 import (
    UNGROUPED,
    CodeRange,
    DiagnosisGrouping,
    normalise_icd10,
    normalise_icd10_code,
)

#: Pinned digest of the shipped table. A deliberate change to the table must update it (and the docs).
EXPECTED_SHA256 = "d060c634056f3e34e1ed320b1a3bdbc58fa63aae6ed6285ecfbc2268ffefdfe0"

#: The declared carve-outs of the shipped table: (4-character range, 3-character range it overrides).
EXPECTED_OVERRIDES = {
    ("B377", "B377", "B35", "B89"), ("C800", "C800", "C80", "C80"),
    ("C910", "C910", "C91", "C95"), ("C920", "C920", "C91", "C95"), ("C924", "C926", "C91", "C95"),
    ("C928", "C928", "C91", "C95"), ("C930", "C930", "C91", "C95"), ("C940", "C940", "C91", "C95"),
    ("C942", "C942", "C91", "C95"), ("C950", "C950", "C91", "C95"),
    ("E100", "E101", "E10", "E10"), ("E102", "E108", "E10", "E10"),
    ("E110", "E111", "E11", "E14"), ("E112", "E118", "E11", "E14"),
    ("E120", "E121", "E11", "E14"), ("E122", "E128", "E11", "E14"),
    ("E130", "E131", "E11", "E14"), ("E132", "E138", "E11", "E14"),
    ("E140", "E141", "E11", "E14"), ("E142", "E148", "E11", "E14"),
    ("G310", "G311", "G31", "G32"), ("I110", "I110", "I10", "I15"), ("I130", "I130", "I10", "I15"),
    ("I132", "I132", "I10", "I15"), ("I200", "I200", "I20", "I20"), ("J440", "J441", "J40", "J44"),
    ("K625", "K625", "K58", "K67"), ("K703", "K704", "K70", "K71"), ("K766", "K767", "K75", "K77"),
    ("K920", "K922", "K90", "K93"), ("L984", "L984", "L98", "L99"),
    ("N180", "N180", "N18", "N18"), ("N183", "N183", "N18", "N18"), ("N184", "N184", "N18", "N18"),
    ("N185", "N185", "N18", "N18"), ("N390", "N390", "N31", "N39"),
    ("R296", "R296", "R29", "R29"), ("R634", "R634", "R58", "R63"),
    ("S140", "S141", "S13", "S21"), ("S240", "S241", "S23", "S31"), ("S340", "S341", "S33", "S41"),
    ("T093", "T093", "T00", "T19"), ("U070", "U070", "U07", "U07"),
}

#: ICD-10 chapters (WHO 2010 boundaries; U codes are chapter XXII).
CHAPTERS = [("I", "A00", "B99"), ("II", "C00", "D48"), ("III", "D50", "D89"), ("IV", "E00", "E90"),
            ("V", "F00", "F99"), ("VI", "G00", "G99"), ("VII", "H00", "H59"), ("VIII", "H60", "H95"),
            ("IX", "I00", "I99"), ("X", "J00", "J99"), ("XI", "K00", "K93"), ("XII", "L00", "L99"),
            ("XIII", "M00", "M99"), ("XIV", "N00", "N99"), ("XV", "O00", "O99"), ("XVI", "P00", "P96"),
            ("XVII", "Q00", "Q99"), ("XVIII", "R00", "R99"), ("XIX", "S00", "T98"), ("XX", "V01", "Y98"),
            ("XXI", "Z00", "Z99"), ("XXII", "U00", "U99")]

COLUMNS = ["group", "label", "chapter", "start", "end", "severity_rank", "family", "rationale"]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "icd10-grouping.md"


def shipped_rows() -> list[dict]:
    """The shipped CSV read with the csv module, independently of the code under test."""
    text = resources.files("capitation.features").joinpath("data/icd10_groups.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def grouping() -> DiagnosisGrouping:
    return DiagnosisGrouping.default()


def group_of(g: DiagnosisGrouping, code: str) -> str | None:
    c = int(g.group_codes([code], on_malformed="ignore").codes[0])
    return None if c < 0 else g.groups[c]


# ---------------------------------------------------------------------------------------------------------
# Plain-Python twin: its own parser (no regex) and a loop over the CSV rows, memoised in a dict
# ---------------------------------------------------------------------------------------------------------

ALNUM = string.ascii_uppercase + string.digits


def twin_normalise(raw) -> str | None:
    if not isinstance(raw, str):
        return None
    s = raw.strip().upper()
    if len(s) < 3 or s[0] not in string.ascii_uppercase or s[1] not in string.digits or s[2] not in string.digits:
        return None
    cat, rest = s[:3], s[3:]
    fourth = fifth = None
    if rest.startswith("."):
        if len(rest) < 2 or rest[1] not in ALNUM + "-":
            return None
        fourth, rest = rest[1], rest[2:]
    elif rest and rest[0] in ALNUM + "-":
        fourth, rest = rest[0], rest[1:]
    if fourth is not None and rest and rest[0] in string.digits + "-":
        fifth, rest = rest[0], rest[1:]
    if len(rest) == 1 and rest in "AD*+\u2020-":
        rest = ""
    if rest:
        return None
    if fourth is None or fourth in "X-":
        return None if fifth not in (None, "-") else cat
    return cat + fourth


class Twin:
    def __init__(self, rows: list[dict], groups: tuple[str, ...]):
        self.rows = [(r["start"], r["end"], r["group"]) for r in rows]
        self.index = {g: i for i, g in enumerate(groups)}
        self.memo: dict[str, int] = {}

    def code(self, raw) -> int:
        norm = twin_normalise(raw)
        if norm is None:
            return -1
        if norm not in self.memo:
            found = None
            for start, end, group in self.rows:  # a 4-character match wins over a 3-character one
                if len(start) == 4 and len(norm) == 4 and start <= norm <= end:
                    found = group
            if found is None:
                for start, end, group in self.rows:
                    if len(start) == 3 and start <= norm[:3] <= end:
                        found = group
            self.memo[norm] = -1 if found is None else self.index[found]
        return self.memo[norm]


# ---------------------------------------------------------------------------------------------------------
# The shipped table
# ---------------------------------------------------------------------------------------------------------

def test_shipped_table_has_between_140_and_160_groups(grouping):
    assert 140 <= len(grouping.groups) <= 160
    assert len(set(grouping.groups)) == len(grouping.groups)


def test_every_shipped_row_is_valid():
    rows = shipped_rows()
    assert list(rows[0].keys()) == COLUMNS
    per_group: dict[str, tuple] = {}
    for line, r in enumerate(rows, start=2):
        where = f"line {line}: {r}"
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", r["group"]), where
        assert re.fullmatch(r"[A-Z][0-9]{2}[0-9]?", r["start"]), where
        assert re.fullmatch(r"[A-Z][0-9]{2}[0-9]?", r["end"]), where
        assert len(r["start"]) == len(r["end"]) and r["start"] <= r["end"], where
        if len(r["start"]) == 4:
            assert r["start"][:3] == r["end"][:3], where
        chapter = [c for c, lo, hi in CHAPTERS if lo <= r["start"][:3] <= hi and lo <= r["end"][:3] <= hi]
        assert chapter == [r["chapter"]], where
        assert r["label"].strip() and r["rationale"].strip().endswith("."), where
        assert len(r["rationale"]) <= 140 and r["rationale"].count(". ") == 0, where
        assert (r["family"] == "") == (r["severity_rank"] == ""), where
        attrs = (r["label"], r["family"], r["severity_rank"])
        assert per_group.setdefault(r["group"], attrs) == attrs, where
    ranks = {}
    for g, (_, fam, rank) in per_group.items():
        if fam:
            assert ranks.setdefault((fam, int(rank)), g) == g
    # a rank 1 .. n sequence in every family
    for fam in {f for f, _ in ranks}:
        assert sorted(r for f, r in ranks if f == fam) == list(range(1, 1 + sum(f == fam for f, _ in ranks)))


def test_no_same_length_overlaps_and_only_declared_carve_outs(grouping):
    rows = shipped_rows()
    for length in (3, 4):
        spans = sorted((r["start"], r["end"], r["group"]) for r in rows if len(r["start"]) == length)
        for (s1, e1, g1), (s2, e2, g2) in itertools.pairwise(spans):
            assert e1 < s2, f"{g1} {s1}-{e1} overlaps {g2} {s2}-{e2}"
    found = set()
    for r in rows:
        if len(r["start"]) == 4:
            for b in rows:
                if len(b["start"]) == 3 and b["start"] <= r["start"][:3] <= b["end"]:
                    assert b["group"] != r["group"], f"redundant 4-character row {r}"
                    found.add((r["start"], r["end"], b["start"], b["end"]))
    assert found == EXPECTED_OVERRIDES
    assert {(s.start, s.end, b.start, b.end) for s, b in grouping.overrides()} == EXPECTED_OVERRIDES


def codes_in_row(start: str, end: str) -> list[str]:
    if len(start) == 4:
        return [start[:3] + c for c in ALNUM if start <= start[:3] + c <= end]
    out = []
    for letter in string.ascii_uppercase:
        for n in range(100):
            cat = f"{letter}{n:02d}"
            if start <= cat <= end:
                out += [cat] + [cat + d for d in string.digits]
    return out


def test_every_row_and_every_group_is_reachable(grouping):
    reached = set()
    for r in shipped_rows():
        codes = codes_in_row(r["start"], r["end"])
        got = grouping.group_codes(codes).codes
        hits = got == grouping.groups.index(r["group"])
        assert hits.any(), f"row {r} is shadowed entirely"
        reached.update(grouping.groups[c] for c in got)
    assert reached == set(grouping.groups)


@pytest.mark.parametrize(("code", "group"), [
    ("S72.0", "fracture_hip"), ("S72.9", "fracture_hip"), ("S06.5", "cns_injury"), ("S14.1", "cns_injury"),
    ("S14.2", "injury_other"), ("N18.3", "ckd_stage3"), ("N18.4", "ckd_stage4"), ("N18.5", "ckd_stage5"),
    ("N18.0", "ckd_stage5"), ("N18.9", "ckd_other"), ("N18X", "ckd_other"), ("Z49.1", "dialysis"),
    ("Z99.2", "dialysis"), ("Z94.0", "organ_transplant"), ("Z51.5", "palliative_care"),
    ("I21.9", "ihd_acute_coronary"), ("I20.0", "ihd_acute_coronary"), ("I20.9", "ihd_chronic"),
    ("I11.0", "heart_failure"), ("I11.9", "hypertension"), ("I10X", "hypertension"), ("I48X", "atrial_fibrillation"),
    ("I63.9", "stroke_ischaemic"), ("J44.1", "copd_exacerbation"), ("J44.9", "copd"), ("J45.9", "asthma"),
    ("C78.0", "cancer_secondary"), ("C80.0", "cancer_secondary"), ("C80.9", "cancer_other_unknown"),
    ("C92.0", "leukaemia_acute"), ("C92.1", "leukaemia_chronic_mpn"), ("E10.1", "diabetes_acute_complication"),
    ("E11.5", "diabetes_chronic_complication"), ("E10.9", "diabetes_type1"), ("E11.9", "diabetes_type2_other"),
    ("K70.3", "liver_cirrhosis_failure"), ("K70.0", "liver_disease_other"), ("U07.1", "covid19"),
    ("U07.0", "interstitial_lung_disease"), ("U07.4", "covid19"), ("U09.9", "covid19"), ("U84X", "infection_other"),
    ("X61X", "self_harm"), ("Y87.0", "self_harm"), ("Y87.1", None), ("F17.1", "tobacco_use"),
    ("V01X", None), ("W19X", None), ("Y83.1", None), ("R99X", None), ("Z00.0", None), ("Z94.7", None),
])
def test_clinical_spot_checks(grouping, code, group):
    assert group_of(grouping, code) == group


def test_sha256_is_pinned_and_depends_only_on_content(grouping):
    assert grouping.sha256 == EXPECTED_SHA256
    frame = grouping.to_frame()
    # rows reordered within the same group order, documentation columns blanked: same content
    rank = {g: i for i, g in enumerate(grouping.groups)}
    shuffled = frame.sample(frac=1.0, random_state=3).assign(rationale="", chapter="")
    shuffled = shuffled.sort_values("group", key=lambda s: s.map(rank), kind="stable")
    assert DiagnosisGrouping.from_frame(shuffled).sha256 == EXPECTED_SHA256
    # a different range, label or group order is different content
    assert DiagnosisGrouping.from_frame(frame[frame.start != "L984"]).sha256 != EXPECTED_SHA256
    assert dataclasses.replace(grouping, labels=("x", *grouping.labels[1:])).sha256 != EXPECTED_SHA256
    assert DiagnosisGrouping.from_frame(frame.iloc[::-1]).sha256 != EXPECTED_SHA256


def test_docs_list_every_group(grouping):
    if not DOCS.exists():
        pytest.skip("docs are not installed with the package")
    text = DOCS.read_text("utf-8")
    missing = [g for g in grouping.groups if f"`{g}`" not in text]
    assert not missing
    assert grouping.sha256 in text


# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "norm"), [
    ("I219", "I219"), ("I21.9", "I219"), ("i21.9", "I219"), (" I21.9\t", "I219"), ("J45X", "J45"),
    ("J45.X", "J45"), ("J45", "J45"), ("G01X-D", "G01"), ("G01X*", "G01"), ("G01*", "G01"), ("G01XD", "G01"),
    ("M8000-", "M800"), ("M80.00", "M800"), ("S7201", "S720"), ("I219-A", "I219"), ("A17.0\u2020", "A170"),
    ("I10-", "I10"), ("U07.1", "U071"), ("I21A", "I21A"),
    ("I2", None), ("I21.", None), ("I2.19", None), ("I21 9", None), ("121.9", None), ("II21", None),
    ("R69X6", None), ("I2199X", None), ("I21.9.", None), ("", None), ("   ", None), (None, None),
    (float("nan"), None), (219, None), ("I21*D", None), ("I21.9DD", None),
])
def test_normalise_examples(raw, norm):
    assert normalise_icd10_code(raw) == norm
    assert twin_normalise(raw) == norm


code_parts = st.tuples(st.sampled_from(string.ascii_uppercase), st.integers(0, 99),
                       st.one_of(st.none(), st.sampled_from(string.digits)))


@settings(max_examples=150, deadline=None)
@given(parts=code_parts, dot=st.booleans(), filler=st.sampled_from(["", "X", "-"]),
       fifth=st.sampled_from(["", "-", "0", "7"]), mark=st.sampled_from(["", "A", "D", "*", "-", "+"]),
       case=st.lists(st.booleans(), min_size=8, max_size=8), pad=st.sampled_from(["", " ", "\t", "  "]))
def test_spellings_of_one_code_group_alike(parts, dot, filler, fifth, mark, case, pad):
    letter, number, fourth = parts
    canonical = f"{letter}{number:02d}{fourth or ''}"
    tail = fourth if fourth is not None else filler
    if fourth is None and filler and fifth.isdigit():
        fifth = ""  # a subdivision digit after a filler is malformed, tested elsewhere
    body = f"{letter}{number:02d}" + ("." if dot and tail else "") + tail + (fifth if tail else "") + mark
    if fourth is None and not filler and mark in ("A", "D"):
        body = body[:-1]  # a bare letter after the category is a fourth character, not a mark
    spelled = pad + "".join(c.lower() if lo else c for c, lo in zip(body, case[:len(body)], strict=True)) + pad
    assert normalise_icd10_code(spelled) == canonical
    g = DiagnosisGrouping.default()
    got = g.group_codes([canonical, spelled, canonical.lower()]).codes
    assert got[0] == got[1] == got[2]


# ---------------------------------------------------------------------------------------------------------
# Grouping against the twin, on every input container
# ---------------------------------------------------------------------------------------------------------

junk = st.text(alphabet="AIJNXZ019.-* \tad", min_size=0, max_size=7)
valid = code_parts.map(lambda p: f"{p[0]}{p[1]:02d}{p[2] or 'X'}")
raw_codes = st.one_of(valid, valid.map(str.lower), valid.map(lambda c: c[:3] + "." + c[3:]), junk)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(raw_codes, min_size=0, max_size=60))
def test_group_codes_equals_the_twin(values):
    g = DiagnosisGrouping.default()
    twin = Twin(shipped_rows(), g.groups)
    res = g.group_codes(values, on_malformed="ignore")
    expected = [twin.code(v) for v in values]
    assert res.codes.tolist() == expected
    n_mal = sum(twin_normalise(v) is None for v in values)
    assert res.n_malformed == n_mal
    assert res.n_ungrouped == sum(e == -1 for e in expected) - n_mal
    assert res.n_grouped + res.n_malformed + res.n_ungrouped == res.n_records == len(values)


def test_group_codes_equals_the_twin_on_many_random_codes(grouping):
    rng = np.random.default_rng(7)
    n = 20_000
    letters = rng.choice(list(string.ascii_uppercase), n)
    numbers = rng.integers(0, 100, n)
    fourth = rng.choice(list(string.digits + "X") + [""] * 3, n)
    values = [f"{a}{b:02d}{c}" for a, b, c in zip(letters, numbers, fourth, strict=True)]
    values[::97] = ["??"] * len(values[::97])
    twin = Twin(shipped_rows(), grouping.groups)
    res = grouping.group_codes(values, on_malformed="ignore")
    assert res.codes.tolist() == [twin.code(v) for v in values]
    assert res.n_malformed == len(values[::97])


CONTAINERS = {
    "list": lambda v: list(v),
    "object array": lambda v: np.array(v, dtype=object),
    "unicode array": lambda v: np.array([x if x is not None else "" for x in v]),
    "wide unicode array": lambda v: np.array([x if x is not None else "" for x in v], dtype="<U12"),
    "bytes array": lambda v: np.array([(x or "").encode() for x in v], dtype="S8"),
    "str Series": lambda v: pd.Series(v, dtype="str"),
    "object Series": lambda v: pd.Series(v, dtype=object),
    "Categorical": lambda v: pd.Categorical(v),
    "categorical Series": lambda v: pd.Series(v, dtype="category"),
    "arrow string": lambda v: pa.array(v, type=pa.string()),
    "arrow chunked": lambda v: pa.chunked_array([pa.array(v[:3], pa.large_string()),
                                                 pa.array(v[3:], pa.large_string())]),
    "arrow dictionary": lambda v: pa.array(v, type=pa.string()).dictionary_encode(),
    "arrow chunked dictionary": lambda v: pa.chunked_array(
        [pa.array(v[:4], pa.string()).dictionary_encode(), pa.array(v[4:], pa.string()).dictionary_encode()]),
}


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_every_container_gives_the_same_result(grouping, container):
    values = ["I21.9", "J45X", "n18.4", "V01X", "I2", "I21.9", "C50.9", "", "W19X", "I2", "Z49.1"]
    if container not in ("unicode array", "wide unicode array", "bytes array"):
        values = [*values, None]
    expected = grouping.group_codes(values, on_malformed="ignore")
    got = grouping.group_codes(CONTAINERS[container](values), on_malformed="ignore")
    assert got.codes.dtype == np.int32
    assert got.codes.tolist() == expected.codes.tolist()
    assert (got.n_malformed, got.n_ungrouped) == (expected.n_malformed, expected.n_ungrouped)
    assert set(got.ungrouped_examples) == {"V01", "W19"}


def test_unused_malformed_category_is_not_an_error(grouping):
    cat = pd.Categorical(["I21.9", "J45X"], categories=["I21.9", "J45X", "rubbish", "V01X"])
    res = grouping.group_codes(cat)
    assert res.n_malformed == 0 and res.n_ungrouped == 0 and res.malformed_examples == ()


def test_empty_input(grouping):
    res = grouping.group_codes([])
    assert res.n_records == 0 and res.codes.shape == (0,) and res.codes.dtype == np.int32


# ---------------------------------------------------------------------------------------------------------
# Malformed and ungrouped records are counted, never dropped
# ---------------------------------------------------------------------------------------------------------

def test_malformed_raises_by_default_naming_value_and_position(grouping):
    with pytest.raises(UnknownCodeError) as info:
        grouping.group_codes(["I21.9", "J45X", "I2", "I21.9", "I2", None])
    msg = str(info.value)
    assert "'codes'" in msg and "'I2' at position 2" in msg and "None at position 5" in msg
    assert "3 record(s) (2 distinct" in msg and "on_malformed='ignore'" in msg
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)


def test_malformed_are_counted_when_ignored(grouping):
    res = grouping.group_codes(["I21.9", "I2", "I2", None, "xyz", "V01X"], on_malformed="ignore")
    assert res.codes.tolist()[1:5] == [UNGROUPED] * 4
    assert (res.n_records, res.n_grouped, res.n_malformed, res.n_ungrouped) == (6, 1, 4, 1)
    assert res.malformed_examples == ("I2", "xyz", None)
    assert (res.n_malformed_distinct, res.n_ungrouped_distinct) == (3, 1)
    assert res.to_categorical().isna().sum() == 5


def test_ungrouped_is_never_an_error(grouping):
    res = grouping.group_codes(["V01X", "W19X", "V01X", "I10X"])
    assert (res.n_ungrouped, res.n_ungrouped_distinct, res.ungrouped_examples) == (3, 2, ("V01", "W19"))


def test_result_is_read_only(grouping):
    res = grouping.group_codes(["I10X"])
    with pytest.raises(ValueError):
        res.codes[0] = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n_records = 0


def test_streaming_equals_one_call_and_counts_positions_across_batches():
    g = dataclasses.replace(DiagnosisGrouping.default())  # a fresh cache
    rng = np.random.default_rng(1)
    pool = np.array(["I21.9", "J45X", "N18.4", "V01X", "C50.9", "E11.9", "K57.3"], dtype=object)
    data = pool[rng.integers(0, len(pool), 1_000)]
    whole = g.group_codes(data)
    parts = list(g.iter_group_chunks(np.array_split(data, 7)))
    assert np.concatenate([p.codes for p in parts]).tolist() == whole.codes.tolist()
    assert sum(p.n_ungrouped for p in parts) == whole.n_ungrouped
    assert len(g._cache) == len(pool)  # each distinct value was parsed once
    with pytest.raises(UnknownCodeError, match="'bad' at position 12"):
        list(g.iter_group_chunks([["I10X"] * 10, ["I10X", "I10X", "bad"]]))


def test_bad_containers_and_parameters_raise(grouping):
    with pytest.raises(SchemaError, match="single string"):
        grouping.group_codes("I21.9")
    with pytest.raises(SchemaError, match="must hold strings"):
        grouping.group_codes(np.arange(3))
    with pytest.raises(SchemaError, match="must hold strings"):
        grouping.group_codes(pd.Series([1.0, 2.0]))
    with pytest.raises(SchemaError, match="must hold strings"):
        grouping.group_codes(pa.array([1, 2]))
    with pytest.raises(SchemaError, match="one-dimensional"):
        grouping.group_codes(np.array([["I10", "I21"]], dtype=object))
    with pytest.raises(SchemaError, match="Got set"):
        grouping.group_codes({"I10"})
    with pytest.raises(InputError, match=r"'on_malformed' parameter .* Got 'warn'"):
        grouping.group_codes(["I10"], on_malformed="warn")


def test_normalise_icd10_array(grouping):
    out = normalise_icd10(pd.Series(["I21.9", "j45x", "M8000-", "I21.9"]))
    assert out.dtype == np.dtype("<U4") and out.tolist() == ["I219", "J45", "M800", "I219"]
    with pytest.raises(UnknownCodeError, match="'I2' at position 1"):
        normalise_icd10(["I21.9", "I2"])
    assert normalise_icd10(["I2", None], on_malformed="ignore").tolist() == ["", ""]


# ---------------------------------------------------------------------------------------------------------
# User tables: precedence, validation, round trip
# ---------------------------------------------------------------------------------------------------------

def test_precedence_most_specific_range_wins():
    table = pd.DataFrame({"group": ["kidney", "ckd_late", "ckd_late", "other"],
                          "start": ["N17", "N18.4", "N185", "A00"],
                          "end": ["N19", "N18.5", "N185", "A09"]})
    with pytest.raises(InputError, match=r"row 1 .* and row 2 .*overlap from N185 to N185"):
        DiagnosisGrouping.from_frame(table)
    table = table.drop(index=2)
    g = DiagnosisGrouping.from_frame(table)
    got = {c: group_of(g, c) for c in ["N17X", "N18", "N183", "N184", "N185", "N186", "N18A", "N19", "A01"]}
    assert got == {"N17X": "kidney", "N18": "kidney", "N183": "kidney", "N184": "ckd_late", "N185": "ckd_late",
                   "N186": "kidney", "N18A": "kidney", "N19": "kidney", "A01": "other"}
    assert [(s.group, b.group) for s, b in g.overrides()] == [("ckd_late", "kidney")]
    assert g.explain("N18.4").group == "ckd_late" and g.explain("N18.3").start == "N17"
    assert g.explain("B00") is None
    with pytest.raises(UnknownCodeError, match="'N1'"):
        g.explain("N1")


def test_four_character_ranges_follow_string_order_digits_before_letters():
    g = DiagnosisGrouping.from_frame(pd.DataFrame({"group": ["broad", "tail"], "start": ["N18", "N189"],
                                                   "end": ["N18", "N18B"]}))
    got = {c: group_of(g, c) for c in ["N188", "N189", "N18A", "N18B", "N18C", "N18Z"]}
    assert got == {"N188": "broad", "N189": "tail", "N18A": "tail", "N18B": "tail", "N18C": "broad",
                   "N18Z": "broad"}


def test_same_length_overlap_in_csv_names_lines():
    text = "group,start,end\nasthma,J45,J46\ncopd,J40,J45\n"
    with pytest.raises(InputError) as info:
        DiagnosisGrouping.from_csv(io.StringIO(text))
    msg = str(info.value)
    assert "line 2" in msg and "line 3" in msg and "'asthma'" in msg and "'copd'" in msg and "J45" in msg


@pytest.mark.parametrize(("rows", "message"), [
    ({"group": ["a"], "start": ["I25"], "end": ["I20"]}, "must not come after"),
    ({"group": ["a"], "start": ["K25"], "end": ["K289"]}, "same length"),
    ({"group": ["a"], "start": ["K250"], "end": ["K289"]}, "within one 3-character category"),
    ({"group": ["a"], "start": ["I2"], "end": ["I25"]}, r"'start' of row 0 must be an ICD-10 code. Got 'I2'"),
    ({"group": [None], "start": ["I20"], "end": ["I25"]}, "'group' of row 0 is empty"),
    ({"group": ["a", "a"], "code": ["I20", "I21"], "label": ["x", "y"]}, "conflicting label"),
    ({"group": ["a"], "code": ["I20"], "family": ["f"]}, "family without a severity_rank"),
    ({"group": ["a"], "code": ["I20"], "family": ["f"], "severity_rank": ["0"]}, "at least 1"),
    ({"group": ["a", "b"], "code": ["I20", "I21"], "family": ["f", "f"], "severity_rank": [1, 1]}, "share"),
    ({"group": []}, "no rows"),
])
def test_invalid_user_tables_raise_input_error(rows, message):
    frame = pd.DataFrame(rows) if rows.get("group") else pd.DataFrame({"group": [], "code": []})
    with pytest.raises(InputError, match=message):
        DiagnosisGrouping.from_frame(frame)


@pytest.mark.parametrize("columns", [["code", "start", "end", "group"], ["start", "end"], ["group", "start"]])
def test_bad_columns_raise_schema_error(columns):
    with pytest.raises(SchemaError):
        DiagnosisGrouping.from_frame(pd.DataFrame({c: ["I10"] for c in columns}))
    with pytest.raises(SchemaError, match="pandas DataFrame"):
        DiagnosisGrouping.from_frame({"group": ["a"], "code": ["I10"]})


def test_code_column_and_any_spelling_in_user_table():
    g = DiagnosisGrouping.from_frame(pd.DataFrame({"group": ["mi", "mi", "asthma"], "code": ["i21", "I22.X", "J45"],
                                                   "label": ["Heart attack", None, None]}))
    assert g.groups == ("mi", "asthma") and g.labels == ("Heart attack", "asthma")
    assert g.ranges[1] == CodeRange("I22", "I22", "mi", "", "")


def test_user_csv_round_trip(tmp_path, grouping):
    path = tmp_path / "mine.csv"
    grouping.to_frame().to_csv(path, index=False)
    again = DiagnosisGrouping.from_csv(path)
    assert again == grouping and again.sha256 == grouping.sha256 and hash(again) == hash(grouping)
    assert again.hierarchies == grouping.hierarchies
    codes = ["I21.9", "N18.3", "E11.5", "V01X"]
    assert again.group_codes(codes).codes.tolist() == grouping.group_codes(codes).codes.tolist()


def test_constructor_validates_and_instances_are_frozen_and_picklable(grouping):
    with pytest.raises(dataclasses.FrozenInstanceError):
        grouping.groups = ()
    with pytest.raises(InputError, match=r"normalised ICD-10 code.*Write it as 'J45'"):
        DiagnosisGrouping(("a",), ("A",), (CodeRange("J45X", "J45X", "a"),))
    with pytest.raises(InputError, match="no ranges"):
        DiagnosisGrouping(("a", "b"), ("A", "B"), (CodeRange("J45", "J45", "a"),))
    with pytest.raises(InputError, match="not among the groups"):
        DiagnosisGrouping(("a",), ("A",), (CodeRange("J45", "J45", "z"),))
    clone = pickle.loads(pickle.dumps(grouping))
    assert clone == grouping and clone.group_codes(["I48X"]).codes.tolist() == [grouping.groups.index(
        "atrial_fibrillation")]
    assert "154 groups" in repr(grouping)


# ---------------------------------------------------------------------------------------------------------
# Hierarchies
# ---------------------------------------------------------------------------------------------------------

def test_hierarchies_switch_off_milder_groups(grouping):
    h = grouping.hierarchies
    assert h["ckd"] == ("dialysis", "ckd_stage5", "ckd_stage4", "ckd_stage3", "ckd_other")
    assert h["diabetes"][0] == "diabetes_acute_complication"
    idx = grouping.groups.index
    flags = np.zeros((3, len(grouping.groups)), dtype=bool)
    flags[0, [idx("ckd_stage3"), idx("ckd_other"), idx("asthma")]] = True
    flags[1, [idx("dialysis"), idx("ckd_stage4")]] = True
    flags[2, [idx("ckd_stage4"), idx("diabetes_type1"), idx("diabetes_chronic_complication")]] = True
    before = flags.copy()
    out = grouping.apply_hierarchy(flags)
    assert np.array_equal(flags, before)
    names = [{grouping.groups[j] for j in np.flatnonzero(row)} for row in out]
    assert names == [{"ckd_stage3", "asthma"}, {"dialysis"}, {"ckd_stage4", "diabetes_chronic_complication"}]
    with pytest.raises(SchemaError, match="shape"):
        grouping.apply_hierarchy(np.zeros((2, 3), dtype=bool))


def test_only_ascii_letters_are_upper_cased():
    """str.upper reads the dotless 'ı' as I and the long 'ſ' as S: such codes are malformed, not I21.9 or S72.0."""
    from capitation.features.icd10 import normalise_icd10_code

    assert normalise_icd10_code("i21.9") == "I219"
    assert normalise_icd10_code("ı21.9") is None and normalise_icd10_code("ſ72.0") is None
