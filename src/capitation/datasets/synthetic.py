"""Synthetic England: a person-level population generator built on real open data.

No person-level NHS data is public, so this module generates people whose structure follows the real thing:

* each GP practice's list (NHS England practice frame of the outcome year) filled with people whose small
  area (2011 LSOA) follows the practice's real July-2022 registration mix;
* age and sex drawn from the LSOA's broad age structure (0-15, 16-59, 60+; IMD 2019 populations) refined
  with an England single-year profile; each person carries the LSOA's IMD 2019 domains;
* GP-recorded conditions (the 21 QOF registers) at each practice's real 2021/22 prevalence, graded by age
  and correlated within a person through shared liabilities;
* two prior years of hospital history (inpatient spells with primary and secondary ICD-10 codes, and
  outpatient attendances) from a latent health process driven by age, sex, conditions and deprivation;
* the outcome-year hospital cost, with deaths, leavers and joiners (part-year exposure) and optional list
  inflation (people registered but no longer resident).

The ground truth is explicit. The outcome is ``cost = exposure * mu(x) * u_practice * eps`` where ``mu(x)`` is
linear in what a modeller can observe (38 age-sex cells, the generator's diagnosis categories seen in the two
prior years' inpatient diagnoses, GP registers, LSOA need variables, synthetic supply variables and an ICB
effect), ``u_practice`` is an unobserved practice effect with mean one independent of ``x``, and ``eps`` is a
zero-heavy multiplier with ``E[eps | x] = 1``. Hence ``E[cost | x, exposure] = exposure * mu(x)`` exactly, and
ordinary least squares with the generator's grouping recovers the coefficients in
:attr:`GroundTruth.coefficients`. The parameters live in ``capitation.datasets._synthetic_params``.

Randomness is counter-based (a hash of seed, person id and stream), so the same seed gives the same people
whatever the chunk size, the practice subset or the number of threads.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from capitation._config import parallel_for
from capitation._io import atomic_folder
from capitation._kernels import synthetic as _k
from capitation._progress import progress as _progress
from capitation.datasets import _synthetic_params as P
from capitation.datasets.practices import ATTRIBUTION
from capitation.errors import InputError, UnknownCodeError
from capitation.inputs.population import PRACTICE_CODE_PATTERN
from capitation.inputs.records import financial_year

__all__ = ["GroundTruth", "SyntheticEngland", "synthetic_england", "write_synthetic_england"]

OUTCOME_YEARS = ("2023/24", "2024/25", "2025/26")
_PRACTICE_RE = re.compile(PRACTICE_CODE_PATTERN)
_SHIFT_GRID = np.linspace(-5.0, 5.0, 501)
_TILT_GRID = np.linspace(-2.5, 2.5, 101)
_PERSONS_PER_PRACTICE = 1_000_000


def _fy(year: str, back: int) -> str:
    return financial_year(int(year[:4]) - back)


def _practice_key(codes: np.ndarray) -> np.ndarray:
    """Stable integer of a practice code: letter index * 100000 + digits (``A81001`` -> 81001)."""
    codes = np.asarray(codes, dtype=str)
    letters = np.array([ord(c[0]) - 65 for c in codes], dtype=np.int64)
    digits = np.array([int(c[1:]) for c in codes], dtype=np.int64)
    return letters * 100_000 + digits


# ----------------------------------------------------------------------------------------------------------
# reference data (package files only)
# ----------------------------------------------------------------------------------------------------------
def _data_path(name: str) -> Path:
    return Path(str(resources.files("capitation.datasets") / "data" / name))


def _dictionary_codes(column) -> tuple[np.ndarray, np.ndarray]:
    """Return a string column's distinct values, sorted, and each row's index into them."""
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        values, indices = array.dictionary.to_numpy(zero_copy_only=False), array.indices.to_numpy()
    else:
        values, indices = array.to_numpy(zero_copy_only=False), np.arange(len(array))
    sorted_values, rank = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return sorted_values, rank.astype(np.int64)[indices]


@functools.lru_cache(maxsize=1)
def _reference() -> dict:
    frame = pd.read_parquet(_data_path("practices.parquet"))
    areas = pd.read_parquet(_data_path("lsoa_areas.parquet"))
    qof = pd.read_parquet(_data_path("qof_prevalence_2021_22.parquet"))
    areas = areas.sort_values("lsoa_code", ignore_index=True)
    areas["icb_code"] = areas["icb_code"].astype(str)
    lsoa_codes = areas["lsoa_code"].to_numpy(str)
    # 861,000 practice × LSOA rows: work on the file's dictionary codes, not on a million strings
    reg = pq.read_table(_data_path("registrations_2022_07.parquet"))
    practice_values, reg_practice = _dictionary_codes(reg.column("practice_code"))
    lsoa_values, reg_lsoa = _dictionary_codes(reg.column("lsoa_code"))
    at = np.minimum(np.searchsorted(lsoa_codes, lsoa_values), len(lsoa_codes) - 1)
    lsoa_of_value = np.where(lsoa_codes[at] == lsoa_values, at, -1).astype(np.int32)
    reg_lsoa = lsoa_of_value[reg_lsoa]
    patients = reg.column("patients").to_numpy().astype(np.float64)
    order = np.lexsort((reg_lsoa, reg_practice))  # practice codes are ranks of the sorted codes: string order
    reg_practice, reg_lsoa, patients = reg_practice[order], reg_lsoa[order], patients[order]
    starts = np.flatnonzero(np.r_[True, reg_practice[1:] != reg_practice[:-1]]) if len(order) else order
    codes = practice_values[reg_practice[starts]]
    ptr = np.append(starts, len(reg_practice)).astype(np.int64)
    pops = areas[["pop_0_15", "pop_16_59", "pop_60_plus"]].to_numpy(np.float64)
    broad = pops / pops.sum(axis=1, keepdims=True)
    imd = areas["imd_score"].to_numpy(np.float64)
    weight = np.bincount(reg_lsoa, weights=patients, minlength=len(areas))
    depz = (imd - imd.mean()) / imd.std()
    rank = areas["imd_score"].rank(method="first", ascending=False).to_numpy()
    quintile = np.minimum((rank - 1) * 5 // len(areas), 4).astype(np.int8) + 1  # 1 = most deprived
    supply = areas[list(P.SUPPLY_VARS)].to_numpy(np.float64)
    supply_mean = (supply * weight[:, None]).sum(axis=0) / weight.sum()
    return {
        "frame": frame,
        "areas": areas,
        "lsoa_codes": lsoa_codes,
        "reg_codes": codes,
        "reg_ptr": ptr,
        "reg_lsoa": reg_lsoa,
        "reg_patients": patients,
        "broad": broad,
        "broad_cum": np.ascontiguousarray(np.cumsum(broad, axis=1)),
        "depz": depz,
        "quintile": quintile,
        "need": np.ascontiguousarray(areas[list(P.NEED_VARS)].to_numpy(np.float64)),
        "supply": np.ascontiguousarray(supply),
        "supply_mean": supply_mean,
        "qof": qof.set_index("practice_code"),
    }


@functools.lru_cache(maxsize=1)
def _tables() -> dict:
    """Parameter tables in kernel layout, computed once."""
    n_ages = P.N_AGES
    ages = np.arange(n_ages)
    # age-sex cell distribution within each broad age group
    age_cum = np.zeros((3, 2 * n_ages))
    for g in range(3):
        lo, hi = P.BROAD_EDGES[g], P.BROAD_EDGES[g + 1]
        w = np.zeros((2, n_ages))
        w[:, lo:hi] = P.AGE_PROFILE[:, lo:hi]
        age_cum[g] = np.cumsum(w.ravel() / w.sum())
    # national probit curves of the registers
    reg_m = np.empty((P.N_REG, 2, n_ages))
    for r in range(P.N_REG):
        prev = np.interp(ages, P.CURVE_AGES, P.REG_PREV[r])
        prev = np.clip(prev, 1e-6, 0.95)
        probit = _probit(prev)
        half = 0.5 * np.log(P.REG_SEX_OR[r]) / 1.7
        reg_m[r, 0] = probit - half
        reg_m[r, 1] = probit + half
        reg_m[r, :, : P.REG_MIN_AGE[r]] = -10.0
    reg_k = np.full(P.N_REG, np.sqrt(1.0 + P.LOAD_GENERAL**2 + P.LOAD_CLUSTER**2))
    # shift tables: mass of each broad group on each register at each grid shift
    num_tab = np.zeros((3, P.N_REG, len(_SHIFT_GRID)))
    den_tab = np.zeros((3, P.N_REG))
    for g in range(3):
        q = np.diff(np.concatenate([[0.0], age_cum[g]])).reshape(2, n_ages)
        for r in range(P.N_REG):
            inrange = ages >= P.REG_MIN_AGE[r]
            qq = q[:, inrange]
            den_tab[g, r] = qq.sum()
            x = (reg_m[r][:, inrange][None, :, :] + _SHIFT_GRID[:, None, None]).ravel()
            out = np.empty_like(x)
            _k.ndtr(x, out)
            num_tab[g, r] = (out.reshape(len(_SHIFT_GRID), -1) * qq.ravel()[None, :]).sum(axis=1)
    # background admission categories by sex and age group
    bg_cum = np.cumsum(P.CAT_BG, axis=2)
    # links from registers to categories: up to three alternatives with cumulative probabilities
    link_cat = np.zeros((P.N_REG, 3), dtype=np.int64)
    link_cum = np.ones((P.N_REG, 3))
    for r, name in enumerate(P.REG_LINK):
        if name == "*CANCER":
            link_cat[r] = [-1, P.CAT_INDEX["ONCOLOGY_PALLIATIVE"], P.CAT_INDEX["SECONDARY_CANCER"]]
            link_cum[r] = [0.6, 0.9, 1.0]
        elif name == "CKD":
            link_cat[r] = [P.CAT_INDEX["CKD"], P.CAT_INDEX["DIALYSIS"], P.CAT_INDEX["AKI_UTI"]]
            link_cum[r] = [0.85, 0.88, 1.0]
        elif name == "SECONDARY_CANCER":
            link_cat[r] = [P.CAT_INDEX["SECONDARY_CANCER"], P.CAT_INDEX["ONCOLOGY_PALLIATIVE"], -1]
            link_cum[r] = [0.5, 0.85, 1.0]
        else:
            link_cat[r] = P.CAT_INDEX[name]
    reg_sec_code = np.array([-1 if c == "*" else P.CODE_INDEX[c] for c in P.REG_SEC_CODE], dtype=np.int64)
    site_cum = np.cumsum(np.array([[w for w in row] for row in P.CANCER_SITE_W]), axis=1)
    site_map = np.array([P.CAT_INDEX[s] for s in P.CANCER_SITES], dtype=np.int64)
    sec_cat = np.array([P.CAT_INDEX[c] for c in P.SECONDARY_BG], dtype=np.int64)
    sec_cum = np.cumsum(np.array(list(P.SECONDARY_BG.values()), dtype=np.float64))
    code_cum = np.cumsum(P.CODE_W)
    # code strings: as written, with a dot, as three characters
    dotted = np.array([c[:3] if c.endswith("X") else c[:3] + "." + c[3:] for c in P.CODES])
    code_strings = np.concatenate([P.CODES, dotted, P.CODE_STEM])
    prm_f = np.zeros(32)
    prm_f[:10] = [P.YEAR_SD, P.DEP_RATE, P.BEDS_RATE, P.OP_BASE, P.OP_PER_IP, P.OP_CODED, P.SEC_A, P.SEC_B,
                  P.DOT_SHARE, P.THREE_CHAR_SHARE]
    prm_f[10:23] = [P.LOAD_GENERAL, P.LOAD_CLUSTER, P.FRAILTY_SD, P.FRAILTY_RHO, P.DEATH_A, P.DEATH_B,
                    P.DEATH_FRAIL, P.DEATH_INFANT, P.PI_A, P.PI_B, P.PI_MIN, P.PI_MAX, P.COST_SIGMA]
    prm_i = np.array([P.MAX_SPELLS, P.CODE_INDEX["Z380"], P.CODE_INDEX["R69X"], P.CAT_INDEX["PERINATAL"]],
                     dtype=np.int64)
    # population share of the ghost-weight groups, for list inflation
    groups = np.searchsorted(P.RATE_EDGES, ages, side="right")
    pop_share = np.bincount(groups, weights=P.AGE_PROFILE.sum(axis=0), minlength=len(P.GHOST_W))
    pop_share /= pop_share.sum()
    return {
        "age_cum": age_cum, "reg_m": reg_m, "reg_k": reg_k, "num_tab": num_tab, "den_tab": den_tab,
        "bg_cum": np.ascontiguousarray(bg_cum), "link_cat": link_cat, "link_cum": link_cum,
        "reg_sec_code": reg_sec_code, "site_cum": np.ascontiguousarray(site_cum), "site_map": site_map,
        "sec_cat": sec_cat, "sec_cum": sec_cum, "code_cum": code_cum, "code_strings": code_strings,
        "prm_f": prm_f, "prm_i": prm_i, "ghost_pop_share": pop_share,
    }


def _probit(p: np.ndarray) -> np.ndarray:
    """Inverse standard normal distribution function (Acklam's algorithm with one Newton step)."""
    p = np.asarray(p, dtype=np.float64)
    a = [-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00]
    b = [-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]
    x = np.empty_like(p)
    lo = p < 0.02425
    hi = p > 1 - 0.02425
    mid = ~(lo | hi)
    q = np.sqrt(-2 * np.log(p[lo]))
    x[lo] = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = np.sqrt(-2 * np.log(1 - p[hi]))
    x[hi] = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = p[mid] - 0.5
    r = q * q
    x[mid] = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    cdf = np.empty_like(x)
    _k.ndtr(x, cdf)
    e = cdf - p
    u = e * np.sqrt(2 * np.pi) * np.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


# ----------------------------------------------------------------------------------------------------------
# ground truth
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """The process that generated the outcome, as data.

    ``E[cost | x, exposure] = exposure * mu(x)`` for resident people, with
    ``mu(x) = cell + sum(category coefs seen) + sum(register coefs) + need . coefs + supply . coefs + icb``.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per term: ``term``, ``kind`` (``age_sex``, ``category``, ``register``, ``need``, ``supply``,
        ``icb``) and ``coef`` (£ per year, 2024/25 prices). Age-sex terms are the cells' base cost; ICB
        effects sum to zero over ICBs.
    practice_effects : pandas.DataFrame
        ``practice_code`` and ``effect``: the unobserved multiplicative practice effect (mean one,
        independent of ``x``) that makes practices miss their expected cost, as PBRA's did.
    supply_mean : dict
        National (registration-weighted) means of the supply variables: hold supply at these to neutralise.
    noise : dict
        Parameters of ``eps``: ``pi = clip(pi_a + pi_b * sqrt(mu / 850), pi_min, pi_max)`` is the chance of
        any cost and the cost given any is ``mu / pi`` times a mean-one lognormal with sd ``sigma``.
    observed_categories : numpy.ndarray
        Bit mask (int64) per person, aligned with ``people``: bit ``k`` set when category ``k`` appears in
        the person's prior-years inpatient diagnoses.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation.datasets.synthetic import GroundTruth
    >>> truth = GroundTruth(coefficients=pd.DataFrame(), practice_effects=pd.DataFrame(), supply_mean={},
    ...                     noise={}, observed_categories=np.array([0b101, 0]))
    >>> truth.category_matrix()[:, :3].tolist()
    [[1, 0, 1], [0, 0, 0]]
    >>> [GroundTruth.categories()[k] for k in (0, 2)]
    ['INFECTION', 'CANCER_BREAST']
    """

    coefficients: pd.DataFrame
    practice_effects: pd.DataFrame
    supply_mean: dict
    noise: dict
    observed_categories: np.ndarray = dataclasses.field(repr=False)

    @staticmethod
    def grouping_frame() -> pd.DataFrame:
        """Return the generator's own diagnosis grouping: 3-character ICD-10 code to category.

        Returns
        -------
        pandas.DataFrame
            Columns ``code`` (3-character ICD-10 stem, no dot) and ``group`` (category name).

        Examples
        --------
        >>> from capitation.datasets.synthetic import GroundTruth
        >>> g = GroundTruth.grouping_frame()
        >>> g.loc[g["code"] == "I21", "group"].item()
        'IHD'
        """
        stems, idx = np.unique(P.CODE_STEM, return_index=True)
        groups = np.array(P.CATEGORIES)[P.CODE_CAT[idx]]
        return pd.DataFrame({"code": pd.array(stems, dtype="str"), "group": pd.array(groups, dtype="str")})

    @staticmethod
    def categories() -> tuple[str, ...]:
        """Name the generator's diagnosis categories, in bit order.

        Returns
        -------
        tuple of str
            Category ``k`` is bit ``k`` of :attr:`observed_categories` and column ``k`` of
            :meth:`category_matrix`.

        Examples
        --------
        >>> from capitation.datasets.synthetic import GroundTruth
        >>> len(GroundTruth.categories()), GroundTruth.categories()[:2]
        (55, ('INFECTION', 'SEPSIS'))
        """
        return P.CATEGORIES

    def category_matrix(self) -> np.ndarray:
        """Unpack :attr:`observed_categories` into indicators of the categories each person was seen with.

        Returns
        -------
        numpy.ndarray of uint8, shape (n_people, n_categories)
            1 where the person's prior-years inpatient diagnoses include the category; columns in
            :meth:`categories` order.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from capitation.datasets.synthetic import GroundTruth
        >>> truth = GroundTruth(coefficients=pd.DataFrame(), practice_effects=pd.DataFrame(), supply_mean={},
        ...                     noise={}, observed_categories=np.array([0b11]))
        >>> np.flatnonzero(truth.category_matrix()[0]).tolist()
        [0, 1]
        """
        bits = self.observed_categories.astype(np.uint64)
        k = np.arange(P.N_CAT, dtype=np.uint64)
        return ((bits[:, None] >> k[None, :]) & np.uint64(1)).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class SyntheticEngland:
    """A generated population and the truth that generated it.

    Attributes
    ----------
    people : pandas.DataFrame
        One row per registered person: ``person_id``, ``practice_code``, ``sex``, ``age``, ``lsoa_code``,
        ``exposure``, ``cost`` and extras ``icb_code``, ``imd_quintile``, ``resident``, ``died``,
        ``expected_cost`` (truth: ``exposure * mu``, zero for non-residents) and ``need_cost`` (``mu`` per
        year with supply at national means and no ICB effect).
    diagnoses : pandas.DataFrame
        ``person_id``, ``spell_id``, ``fy``, ``setting``, ``position``, ``icd10``.
    conditions : pandas.DataFrame
        ``person_id``, ``register`` (QOF register code).
    areas : pandas.DataFrame
        ``lsoa_code``, IMD 2019 score and domains, broad-age populations, modal ``icb_code`` and the
        synthetic supply variables, for the LSOAs of the generated people.
    practices : pandas.DataFrame
        The outcome-year practice frame of the generated practices, with ``people`` generated and flags
        ``has_registrations`` and ``has_qof``.
    unmatched : pandas.DataFrame
        Practices present in one source and not another: ``practice_code``, ``issue``, ``detail``,
        ``population``.
    truth : GroundTruth
        The process that generated the outcome: coefficients, practice effects, noise.
    outcome_year : str
        The year whose cost is generated, ``'2025/26'`` form; the history covers the two years before it.
    seed, fraction, list_inflation
        As given to :func:`synthetic_england`.

    Examples
    --------
    >>> from capitation.datasets.synthetic import synthetic_england
    >>> se = synthetic_england(0.02, seed=0, practices=["A81001"])
    >>> se.outcome_year, se.practices["practice_code"].tolist(), bool(len(se.people) == se.practices["people"].sum())
    ('2025/26', ['A81001'], True)
    >>> se.truth.coefficients.groupby("kind").size().to_dict()
    {'age_sex': 38, 'category': 55, 'icb': 42, 'need': 3, 'register': 21, 'supply': 2}
    """

    people: pd.DataFrame
    diagnoses: pd.DataFrame
    conditions: pd.DataFrame
    areas: pd.DataFrame
    practices: pd.DataFrame
    unmatched: pd.DataFrame
    truth: GroundTruth
    outcome_year: str
    seed: int
    fraction: float
    list_inflation: float


# ----------------------------------------------------------------------------------------------------------
# planning: which practices, their mix, their register shifts
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Plan:
    year: str
    frame: pd.DataFrame          # every practice of the year's frame, sorted by code
    sel: np.ndarray              # indices of the practices to generate
    keys: np.ndarray             # uint64
    list_size: np.ndarray
    mix_ptr: np.ndarray
    mix_lsoa: np.ndarray
    mix_cum: np.ndarray
    tilt: np.ndarray             # exp(tau): odds multiplier of the 60+ group
    shift: np.ndarray
    depmean: np.ndarray
    icb_index: np.ndarray
    icb_codes: np.ndarray
    icb_effect: np.ndarray
    unmatched: pd.DataFrame


def _validate(fraction: float, seed: int, outcome_year: str, list_inflation: float) -> None:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise InputError(f"The 'fraction' parameter must be a number in (0, 1]. Got {fraction!r}; use 0.01 for "
                         "a 1% sample and 1.0 for full lists.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise InputError(f"The 'seed' parameter must be a non-negative integer. Got {seed!r}.")
    if outcome_year not in OUTCOME_YEARS:
        raise InputError(f"The 'outcome_year' parameter must be one of {OUTCOME_YEARS} (the years of NHS "
                         f"England's practice frames). Got {outcome_year!r}.")
    if isinstance(list_inflation, bool) or not isinstance(list_inflation, (int, float)) \
            or not 0 <= list_inflation < 0.5:
        raise InputError(f"The 'list_inflation' parameter must be a share in [0, 0.5). Got {list_inflation!r}; "
                         "England's registered lists exceed residents by about 0.08.")


def _icb_effects(seed: int, icb_codes: np.ndarray) -> np.ndarray:
    """ICB effects (£): normal draws clipped at 2.5 sd, centred to sum to zero and scaled to sd ``ICB_SD``.

    The scaling makes the spread of the 42 effects the documented one whatever the seed (42 raw draws have a
    sample sd within about ±20% of it), so the area rung of the R² ladder does not swing with the seed.
    """
    rng = np.random.Generator(np.random.Philox(key=[int(seed) & (2**64 - 1), 0x1CB]))
    e = np.clip(rng.standard_normal(len(icb_codes)), -2.5, 2.5)
    e = e - e.mean()
    return e * (P.ICB_SD / e.std()) if len(e) > 1 and e.std() > 0 else e * 0.0


def _segment_sum(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Sum ``values`` (rows) over the segments ``ptr`` (all non-empty)."""
    return np.add.reduceat(values, ptr[:-1], axis=0)


@functools.lru_cache(maxsize=3)
def _year_plan(outcome_year: str) -> dict:
    """Seed-free part of the plan for every practice of a year's frame (cached)."""
    ref, t = _reference(), _tables()
    frame_all = ref["frame"]
    frame = frame_all[frame_all["year"] == outcome_year].sort_values("practice_code", ignore_index=True)
    codes = frame["practice_code"].to_numpy(str)
    icb_of = frame["icb_code"].to_numpy(str)
    icb_codes = np.sort(np.unique(icb_of))
    # registration mix; practices without one borrow their ICB's pooled mix
    reg_codes, reg_ptr = ref["reg_codes"], ref["reg_ptr"]
    reg_lsoa, reg_pat = ref["reg_lsoa"], ref["reg_patients"]
    pos = np.minimum(np.searchsorted(reg_codes, codes), len(reg_codes) - 1)
    has_reg = reg_codes[pos] == codes
    pooled = {}
    if not has_reg.all():
        icb_map = dict(zip(codes, icb_of, strict=True))
        row_icb = np.repeat(np.array([icb_map.get(c, "") for c in reg_codes]), np.diff(reg_ptr))
        for icb in np.unique(icb_of[~has_reg]):
            sel = row_icb == icb
            tot = np.bincount(reg_lsoa[sel], weights=reg_pat[sel], minlength=len(ref["lsoa_codes"]))
            nz = np.flatnonzero(tot)
            pooled[icb] = (nz.astype(np.int32), tot[nz])
    lsoa_parts, w_parts = [], []
    for j in range(len(codes)):
        if has_reg[j]:
            a, b = reg_ptr[pos[j]], reg_ptr[pos[j] + 1]
            lsoa_parts.append(reg_lsoa[a:b])
            w_parts.append(reg_pat[a:b])
        else:
            lsoa_parts.append(pooled[icb_of[j]][0])
            w_parts.append(pooled[icb_of[j]][1])
    sizes = np.array([len(x) for x in lsoa_parts], dtype=np.int64)
    mix_ptr = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=mix_ptr[1:])
    mix_lsoa = np.concatenate(lsoa_parts).astype(np.int64)
    w = np.concatenate(w_parts)
    seg = np.repeat(np.arange(len(codes)), sizes)
    tot = _segment_sum(w, mix_ptr)
    p = w / tot[seg]                                    # practice's share of each of its LSOAs
    mix_cum = np.cumsum(w) - np.repeat(np.cumsum(tot) - tot, sizes)   # running totals per segment
    depmean = _segment_sum(p * ref["depz"][mix_lsoa], mix_ptr)
    # QOF targets (national mean where a practice has no QOF row)
    qof = ref["qof"]
    in_qof = pd.Index(qof.index).get_indexer(codes)
    has_qof = in_qof >= 0
    target = np.empty((len(codes), P.N_REG))
    target[has_qof] = qof.to_numpy(np.float64)[in_qof[has_qof]]
    target[~has_qof] = qof.mean().to_numpy(np.float64)
    target = np.clip(np.nan_to_num(target, nan=0.0), 1e-5, 0.9)
    # age tilt: odds of the 60+ group so the practice's age-graded registers at national curves match QOF
    # (searched on the practice's untilted broad shares; the LSOA-level tilt below is then exact)
    broad = ref["broad"][mix_lsoa]
    share0 = _segment_sum(p[:, None] * broad, mix_ptr)
    i0 = int(np.argmin(np.abs(_SHIFT_GRID)))
    ri = [P.REGISTERS.index(r) for r in P.TILT_REGISTERS]
    e = np.exp(_TILT_GRID)
    sh = share0[None, :, :] * np.stack([np.ones_like(e), np.ones_like(e), e], axis=1)[:, None, :]
    sh /= sh.sum(axis=2, keepdims=True)                 # grid x practices x 3
    prev = (sh @ t["num_tab"][:, ri, i0]) / (sh @ t["den_tab"][:, ri])
    loss = ((np.log(prev) - np.log(target[None, :, ri])) ** 2).sum(axis=2)
    tau = _TILT_GRID[np.argmin(loss, axis=0)]
    tau = np.where(has_qof, tau, np.nan)
    tau = P.TILT_SHRINK * (tau - np.nanmedian(tau))
    tau = np.nan_to_num(tau, nan=0.0)
    tilt = np.exp(tau)
    tb = broad * np.column_stack([np.ones_like(tilt), np.ones_like(tilt), tilt])[seg]
    tb /= tb.sum(axis=1, keepdims=True)
    share = _segment_sum(p[:, None] * tb, mix_ptr)
    # register shifts so expected prevalence matches QOF 2021/22
    shift = np.zeros((len(codes), P.N_REG))
    _k.solve_shifts(np.ascontiguousarray(share), t["num_tab"], t["den_tab"], _SHIFT_GRID,
                    np.ascontiguousarray(target), shift)
    return {
        "frame": frame.assign(has_registrations=has_reg, has_qof=has_qof),
        "keys": _practice_key(codes).astype(np.uint64), "list_size": frame["population"].to_numpy(np.float64),
        "mix_ptr": mix_ptr, "mix_lsoa": mix_lsoa, "mix_cum": mix_cum, "tilt": tilt, "shift": shift,
        "depmean": depmean, "icb_index": np.searchsorted(icb_codes, icb_of).astype(np.int64),
        "icb_codes": icb_codes,
    }


def _plan(outcome_year: str, practices: Sequence[str] | None, seed: int) -> _Plan:
    yp = _year_plan(outcome_year)
    frame = yp["frame"]
    if practices is None:
        sel = np.arange(len(frame))
    else:
        if isinstance(practices, str):
            practices = [practices]
        wanted = pd.Index([str(c) for c in practices])
        if wanted.has_duplicates:
            raise InputError("The 'practices' parameter lists a practice more than once: "
                             f"{sorted(wanted[wanted.duplicated()].unique())[:5]}. Give each code once.")
        bad = [c for c in wanted if not _PRACTICE_RE.match(c)]
        if bad:
            raise InputError(f"The 'practices' parameter must hold practice codes like 'A81001'. Got {bad[:5]}.")
        index = pd.Index(frame["practice_code"].to_numpy(str))
        pos = index.get_indexer(wanted)
        if (pos < 0).any():
            missing = list(wanted[pos < 0][:5])
            raise UnknownCodeError(f"The 'practices' parameter names {(pos < 0).sum()} practice(s) absent from "
                                   f"NHS England's {outcome_year} frame, e.g. {missing}. Pick codes from "
                                   f"load_practices('{outcome_year}').")
        sel = np.sort(pos)
    return _Plan(year=outcome_year, frame=frame, sel=sel, keys=yp["keys"], list_size=yp["list_size"],
                 mix_ptr=yp["mix_ptr"], mix_lsoa=yp["mix_lsoa"], mix_cum=yp["mix_cum"], tilt=yp["tilt"],
                 shift=yp["shift"], depmean=yp["depmean"], icb_index=yp["icb_index"], icb_codes=yp["icb_codes"],
                 icb_effect=_icb_effects(seed, yp["icb_codes"]), unmatched=_unmatched(outcome_year))


@functools.lru_cache(maxsize=4)
def _unmatched(year: str) -> pd.DataFrame:
    """Practices present in one source and not another, for the outcome year."""
    ref = _reference()
    frame_all = ref["frame"]
    frame = frame_all[frame_all["year"] == year].set_index("practice_code")
    codes = frame.index
    reg_codes = pd.Index(ref["reg_codes"])
    reg_pop = pd.Series(np.add.reduceat(ref["reg_patients"], ref["reg_ptr"][:-1]), index=reg_codes)
    parts = []

    def add(index, issue, detail, population):
        parts.append(pd.DataFrame({"practice_code": np.asarray(index, dtype=str), "issue": issue,
                                   "detail": detail, "population": np.asarray(population, dtype=np.float64)}))

    c = codes.difference(reg_codes)
    add(c, "no_registrations_2022", "not in July 2022 registrations: generated with its ICB's pooled LSOA mix",
        frame.loc[c, "population"])
    c = codes.difference(ref["qof"].index)
    add(c, "no_qof_2021_22", "not in QOF 2021/22: national prevalence used", frame.loc[c, "population"])
    c = reg_codes.difference(codes)
    add(c, "not_in_frame", f"in July 2022 registrations but not in the {year} frame: not generated",
        reg_pop.loc[c])
    for y in sorted(frame_all["year"].unique()):
        if y == year:
            continue
        other = frame_all[frame_all["year"] == y].set_index("practice_code")
        c = other.index.difference(codes)
        add(c, f"only_in_{y}", f"in the {y} frame but not in the {year} frame", other.loc[c, "population"])
        c = codes.difference(other.index)
        add(c, f"not_in_{y}", f"in the {year} frame but not in the {y} frame", frame.loc[c, "population"])
        common = codes.intersection(other.index)
        moved = common[other.loc[common, "icb_code"].to_numpy() != frame.loc[common, "icb_code"].to_numpy()]
        detail = [f"{other.at[m, 'icb_code']} in {y}, {frame.at[m, 'icb_code']} in {year}" for m in moved]
        add(moved, f"icb_changed_since_{y}", detail, frame.loc[moved, "population"])
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"practice_code": "str", "issue": "str", "detail": "str", "population": "float64"})


# ----------------------------------------------------------------------------------------------------------
# generation of one chunk of practices
# ----------------------------------------------------------------------------------------------------------
def _ghost_p(list_inflation: float) -> np.ndarray:
    t = _tables()
    w = np.asarray(P.GHOST_W, dtype=np.float64)
    scale = list_inflation / float((w * t["ghost_pop_share"]).sum()) if list_inflation > 0 else 0.0
    return np.clip(w * scale, 0.0, 0.9)


#: Work shared out across threads (capitation._config.parallel_for): fixed sizes, so people do not depend on
#: the thread count (they would not anyway: every draw is keyed on the person).
_PRACTICES_PER_TASK = 64
_PEOPLE_PER_TASK = 8_192


def _generate(plan: _Plan, sel: np.ndarray, fraction: float, seed: int, list_inflation: float) -> dict:
    """Arrays of the people and diagnosis rows of the practices ``sel`` (indices into the plan)."""
    ref, t = _reference(), _tables()
    useed = np.uint64(int(seed) & (2**64 - 1))
    keys = np.ascontiguousarray(plan.keys[sel])
    n_p = np.zeros(len(sel), dtype=np.int64)
    effect = np.zeros(len(sel))
    list_size = np.ascontiguousarray(plan.list_size[sel])
    parallel_for(lambda start, stop: _k.practice_draws(useed, keys, list_size, float(fraction), P.PRACTICE_SD,
                                                       n_p, effect, start, stop), len(sel), _PRACTICES_PER_TASK)
    # local CSR of the chunk's mixes
    a, b = plan.mix_ptr[sel], plan.mix_ptr[sel + 1]
    lens = b - a
    mix_ptr = np.zeros(len(sel) + 1, dtype=np.int64)
    np.cumsum(lens, out=mix_ptr[1:])
    idx = np.repeat(a - mix_ptr[:-1], lens) + np.arange(mix_ptr[-1])
    mix_lsoa = np.ascontiguousarray(plan.mix_lsoa[idx])
    mix_cum = np.ascontiguousarray(plan.mix_cum[idx])
    n = int(n_p.sum())
    p_of = np.repeat(np.arange(len(sel), dtype=np.int64), n_p)
    k_of = np.arange(n, dtype=np.int64) - np.repeat(np.cumsum(n_p) - n_p, n_p)
    o = {
        "pid": np.empty(n, np.int64), "lsoa": np.empty(n, np.int64), "age": np.empty(n, np.int64),
        "sex": np.empty(n, np.int64), "regs": np.empty(n, np.uint32), "bits": np.empty(n, np.uint64),
        "ip0": np.empty(n, np.int64), "ip1": np.empty(n, np.int64), "rows": np.empty(n, np.int64),
        "ghost": np.empty(n, np.bool_), "died": np.empty(n, np.bool_), "expo": np.empty(n, np.float64),
        "mu": np.empty(n, np.float64), "need": np.empty(n, np.float64), "cost": np.empty(n, np.float64),
        "site": np.empty(n, np.int64), "frail": np.empty(n, np.float64),
    }
    ghost_p = _ghost_p(list_inflation)
    site_cat = t["site_map"]
    people_args = (
        useed, keys, p_of, k_of, mix_ptr, mix_lsoa, mix_cum, np.ascontiguousarray(plan.shift[sel]),
        np.ascontiguousarray(plan.depmean[sel]), np.ascontiguousarray(plan.icb_index[sel]), effect,
        np.ascontiguousarray(plan.tilt[sel]), ref["broad"], ref["depz"], ref["need"], ref["supply"],
        t["age_cum"], t["reg_m"], t["reg_k"],
        P.REG_DEP, P.REG_CLUSTER, P.REG_MIN_AGE, P.REG_RATE, P.REG_LINK_W, P.REG_SEC_P, t["reg_sec_code"],
        P.REG_COST, t["link_cat"], t["link_cum"], t["site_cum"], t["bg_cum"], t["sec_cum"], t["sec_cat"],
        t["code_cum"], P.CAT_CODE_PTR, P.CAT_COST, P.CELL_COST, P.NEED_COEF, P.SUPPLY_COEF,
        ref["supply_mean"], plan.icb_effect, P.RATE_EDGES, P.AGE_GROUP_EDGES, P.BASE_RATE, ghost_p,
        P.LEAVE_P, P.JOIN_P, t["prm_f"], t["prm_i"], site_cat,
        o["pid"], o["lsoa"], o["age"], o["sex"], o["regs"], o["bits"], o["ip0"], o["ip1"], o["rows"], o["ghost"],
        o["died"], o["expo"], o["mu"], o["need"], o["cost"], o["site"], o["frail"],
    )
    parallel_for(lambda start, stop: _k.people_pass(*people_args, start, stop), n, _PEOPLE_PER_TASK)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(o["rows"], out=offsets[1:])
    m = int(offsets[-1])
    d = {"pid": np.empty(m, np.int64), "fy": np.empty(m, np.int8), "set": np.empty(m, np.int8),
         "pos": np.empty(m, np.int8), "code": np.empty(m, np.int32), "spell": np.empty(m, np.int64)}
    history_args = (
        useed, o["pid"], o["age"], o["sex"], o["regs"], o["site"], o["frail"], o["lsoa"], o["ghost"], offsets,
        ref["depz"], ref["supply"], ref["supply_mean"], t["prm_f"], t["prm_i"], t["bg_cum"], t["link_cat"],
        t["link_cum"], t["reg_sec_code"], t["sec_cum"], t["sec_cat"], t["code_cum"], P.CAT_CODE_PTR,
        P.RATE_EDGES, P.AGE_GROUP_EDGES, P.BASE_RATE, P.REG_RATE, P.REG_LINK_W, P.REG_SEC_P,
        d["pid"], d["fy"], d["set"], d["pos"], d["code"], d["spell"],
    )
    parallel_for(lambda start, stop: _k.history_rows(*history_args, start, stop), n, _PEOPLE_PER_TASK)
    return {"sel": sel, "p_of": p_of, "effect": effect, "n_p": n_p, "people": o, "diag": d}


# ----------------------------------------------------------------------------------------------------------
# arrays -> Arrow tables
# ----------------------------------------------------------------------------------------------------------
def _dict(indices: np.ndarray, values: np.ndarray) -> pa.DictionaryArray:
    """``values[indices]`` as a dictionary array whose dictionary holds each value once.

    Repeated dictionary values (the code strings repeat: 'I10X' written as three characters is also the stem
    'I10') made pyarrow size the Parquet dictionary page for every entry but write each value once, leaving
    uninitialised memory in the file: the same data gave different bytes from run to run.
    """
    codes, uniques = pd.factorize(np.asarray(values))
    if len(uniques) < len(values):
        indices = codes[indices]
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices).astype(np.int32)),
                                          pa.array(np.asarray(uniques, dtype=object), type=pa.string()))


def _people_table(plan: _Plan, g: dict) -> pa.Table:
    ref = _reference()
    o = g["people"]
    codes = plan.frame["practice_code"].to_numpy(str)[g["sel"]]
    icbs = plan.icb_codes[plan.icb_index[g["sel"]]]
    lsoa_u, lsoa_inv = np.unique(o["lsoa"], return_inverse=True)
    resident = ~o["ghost"]
    return pa.table({
        "person_id": o["pid"],
        "practice_code": _dict(g["p_of"], codes),
        "sex": _dict(o["sex"], np.array(P.SEXES)),
        "age": o["age"].astype(np.int16),
        "lsoa_code": _dict(lsoa_inv, ref["lsoa_codes"][lsoa_u]),
        "exposure": o["expo"],
        "cost": o["cost"],
        "icb_code": _dict(g["p_of"], icbs),
        "imd_quintile": ref["quintile"][o["lsoa"]],
        "resident": resident,
        "died": o["died"],
        "expected_cost": o["expo"] * o["mu"],
        "need_cost": o["need"],
    })


def _diagnoses_table(plan: _Plan, g: dict) -> pa.Table:
    d = g["diag"]
    t = _tables()
    fys = np.array([_fy(plan.year, 2), _fy(plan.year, 1)])
    return pa.table({
        "person_id": d["pid"],
        "spell_id": d["spell"],
        "fy": _dict(d["fy"], fys),
        "setting": _dict(d["set"], np.array(["inpatient", "outpatient"])),
        "position": _dict(d["pos"], np.array(["primary", "secondary"])),
        "icd10": _dict(d["code"], t["code_strings"]),
    })


def _conditions_table(g: dict) -> pa.Table:
    o = g["people"]
    regs = o["regs"]
    mat = ((regs[:, None] >> np.arange(P.N_REG, dtype=np.uint32)[None, :]) & np.uint32(1)).astype(bool)
    rows, cols = np.nonzero(mat)
    return pa.table({"person_id": o["pid"][rows], "register": _dict(cols, np.array(P.REGISTERS))})


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas with dictionary strings decoded to the ``str`` dtype the input schema asks for."""
    cols = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_dictionary(col.type):
            cols[name] = pd.array(col.cast(pa.string()), dtype="str")
        else:
            cols[name] = col.to_numpy()
    return pd.DataFrame(cols)


def _areas_frame(lsoa_index: np.ndarray | None = None) -> pd.DataFrame:
    areas = _reference()["areas"]
    if lsoa_index is not None:
        areas = areas.iloc[np.unique(lsoa_index)]
    out = areas.reset_index(drop=True).copy()
    out["imd_quintile"] = _reference()["quintile"][areas.index.to_numpy()]
    for c in ("lsoa_code", "icb_code"):
        out[c] = out[c].astype("str")
    return out


def _truth(plan: _Plan, g_list: list[dict]) -> GroundTruth:
    ref = _reference()
    rows = []
    for s, sex in enumerate(P.SEXES):
        for b in range(P.N_BANDS):
            rows.append((P.cell_label(sex, b), "age_sex", float(P.CELL_COST[s, b])))
    rows += [(c, "category", float(v)) for c, v in zip(P.CATEGORIES, P.CAT_COST, strict=True)]
    rows += [(r, "register", float(v)) for r, v in zip(P.REGISTERS, P.REG_COST, strict=True)]
    rows += [(v, "need", float(c)) for v, c in zip(P.NEED_VARS, P.NEED_COEF, strict=True)]
    rows += [(v, "supply", float(c)) for v, c in zip(P.SUPPLY_VARS, P.SUPPLY_COEF, strict=True)]
    rows += [(f"icb_{c}", "icb", float(e)) for c, e in zip(plan.icb_codes, plan.icb_effect, strict=True)]
    coefs = pd.DataFrame(rows, columns=["term", "kind", "coef"]).astype({"term": "str", "kind": "str"})
    codes = plan.frame["practice_code"].to_numpy(str)
    pe = pd.DataFrame({
        "practice_code": pd.array(np.concatenate([codes[g["sel"]] for g in g_list]) if g_list else [],
                                  dtype="str"),
        "effect": np.concatenate([g["effect"] for g in g_list]) if g_list else np.zeros(0),
    })
    bits = np.concatenate([g["people"]["bits"] for g in g_list]) if g_list else np.zeros(0, np.uint64)
    return GroundTruth(
        coefficients=coefs, practice_effects=pe,
        supply_mean=dict(zip(P.SUPPLY_VARS, map(float, ref["supply_mean"]), strict=True)),
        noise={"pi_a": P.PI_A, "pi_b": P.PI_B, "pi_min": P.PI_MIN, "pi_max": P.PI_MAX, "sigma": P.COST_SIGMA,
               "practice_sd": P.PRACTICE_SD},
        observed_categories=bits.astype(np.int64),
    )


# ----------------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------------
def synthetic_england(fraction: float = 0.01, *, seed: int = 0, outcome_year: str = "2025/26",
                      practices: Sequence[str] | None = None, list_inflation: float = 0.0,
                      progress: bool | None = None) -> SyntheticEngland:
    """Generate a synthetic registered population of England (or of some practices) in memory.

    Parameters
    ----------
    fraction : float, default 0.01
        Share of each practice's list to generate (stochastic rounding per practice); 1.0 gives full lists.
    seed : int, default 0
        Seed of everything. The same seed gives the same people whatever ``practices`` subset or thread
        count: a person depends only on the seed, the practice code and their place in the practice.
    outcome_year : {"2023/24", "2024/25", "2025/26"}
        Year of the outcome cost; the practice frame and ICB membership of that year are used and the
        history covers the two financial years before it.
    practices : sequence of str, optional
        Practice codes to generate (default: every practice in the year's frame).
    list_inflation : float, default 0.0
        Share of registered people who are no longer resident (``resident`` False): they stay on the list,
        have no hospital history and no cost. Concentrated in young adults.
    progress : bool, optional
        Show a progress bar (default: only on an interactive terminal).

    Returns
    -------
    SyntheticEngland

    Examples
    --------
    >>> from capitation.datasets.synthetic import synthetic_england
    >>> se = synthetic_england(0.05, seed=1, practices=["A81001", "A81002"])
    >>> sorted(se.people["practice_code"].unique())
    ['A81001', 'A81002']
    >>> bool((se.people["exposure"] > 0).all() and (se.people["cost"] >= 0).all())
    True
    """
    _validate(fraction, seed, outcome_year, list_inflation)
    plan = _plan(outcome_year, practices, int(seed))
    n = len(plan.sel)
    chunk = 500
    gens = []
    starts = range(0, n, chunk)
    for s in _progress(starts, total=len(starts), desc="synthetic England", enabled=progress, unit="chunk"):
        gens.append(_generate(plan, plan.sel[s:s + chunk], fraction, int(seed), list_inflation))
    people = pa.concat_tables([_people_table(plan, g) for g in gens]) if gens else None
    diag = pa.concat_tables([_diagnoses_table(plan, g) for g in gens]) if gens else None
    cond = pa.concat_tables([_conditions_table(g) for g in gens]) if gens else None
    people_df = _to_pandas(people.unify_dictionaries() if people is not None else people)
    frame = plan.frame.iloc[plan.sel].assign(people=np.concatenate([g["n_p"] for g in gens]) if gens else 0)
    lsoa_all = np.concatenate([g["people"]["lsoa"] for g in gens]) if gens else np.zeros(0, np.int64)
    return SyntheticEngland(
        people=people_df,
        diagnoses=_to_pandas(diag),
        conditions=_to_pandas(cond),
        areas=_areas_frame(lsoa_all),
        practices=frame.reset_index(drop=True),
        unmatched=plan.unmatched,
        truth=_truth(plan, gens),
        outcome_year=outcome_year,
        seed=int(seed),
        fraction=float(fraction),
        list_inflation=float(list_inflation),
    )


def write_synthetic_england(path: str | os.PathLike, fraction: float = 1.0, *, seed: int = 0,
                            outcome_year: str = "2025/26", practices: Sequence[str] | None = None,
                            list_inflation: float = 0.0, chunk_practices: int = 200,
                            progress: bool | None = None, overwrite: bool = False) -> Path:
    """Stream a synthetic England to a partitioned Parquet dataset, a chunk of practices at a time.

    The dataset has sub-folders ``people/``, ``diagnoses/``, ``conditions/`` (one file per chunk, same
    columns as :func:`synthetic_england`) and ``areas.parquet``, ``practices.parquet``, ``unmatched.parquet``,
    ``truth_coefficients.parquet``, ``truth_practice_effects.parquet``. It is written under a temporary name
    next to ``path`` and renamed when complete, so a reader never sees half a dataset.

    Parameters
    ----------
    path : path-like
        Folder to create.
    fraction, seed, outcome_year, practices, list_inflation :
        As in :func:`synthetic_england`; the output is identical whatever ``chunk_practices``.
    chunk_practices : int, default 200
        Practices generated per chunk; bounds memory (about 2 million people per chunk at full lists).
    progress : bool, optional
        Show a progress bar (default: only on an interactive terminal).
    overwrite : bool, default False
        Replace an existing folder at ``path``.

    Returns
    -------
    pathlib.Path
        The dataset folder.

    Examples
    --------
    >>> import tempfile, pyarrow.dataset as ds
    >>> from capitation.datasets.synthetic import write_synthetic_england
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = write_synthetic_england(d + "/se", 0.02, practices=["A81001", "A81002"], chunk_practices=1)
    ...     ds.dataset(out / "people").count_rows() > 0
    True
    """
    _validate(fraction, seed, outcome_year, list_inflation)
    if isinstance(chunk_practices, bool) or not isinstance(chunk_practices, int) or chunk_practices < 1:
        raise InputError(f"The 'chunk_practices' parameter must be a positive integer. Got {chunk_practices!r}.")
    path = Path(path)
    plan = _plan(outcome_year, practices, int(seed))
    meta = {b"attribution": ATTRIBUTION.encode(), b"generator": b"capitation.datasets.synthetic",
            b"seed": str(int(seed)).encode(), b"fraction": repr(float(fraction)).encode(),
            b"outcome_year": outcome_year.encode(), b"list_inflation": repr(float(list_inflation)).encode()}
    n = len(plan.sel)
    starts = list(range(0, n, chunk_practices))
    counts, lsoas, effects = [], [], []
    # Written into a temporary folder that replaces ``path`` only when complete (a killed run's is cleaned up).
    with atomic_folder(path, overwrite=overwrite, name="path") as tmp:
        for sub in ("people", "diagnoses", "conditions"):
            (tmp / sub).mkdir()
        for c, s in enumerate(_progress(starts, total=len(starts), desc="synthetic England", enabled=progress,
                                        unit="chunk")):
            g = _generate(plan, plan.sel[s:s + chunk_practices], fraction, int(seed), list_inflation)
            for sub, table in (("people", _people_table(plan, g)), ("diagnoses", _diagnoses_table(plan, g)),
                               ("conditions", _conditions_table(g))):
                table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
                pq.write_table(table, tmp / sub / f"part-{c:05d}.parquet", compression="zstd",
                               compression_level=1)
            counts.append(g["n_p"])
            lsoas.append(np.unique(g["people"]["lsoa"]))
            effects.append((g["sel"], g["effect"]))
            del g
        frame = plan.frame.iloc[plan.sel].assign(people=np.concatenate(counts) if counts else 0)
        truth = _truth(plan, [{"sel": s_, "effect": e_, "people": {"bits": np.zeros(0, np.uint64)}}
                              for s_, e_ in effects])
        for name, df in (("areas", _areas_frame(np.concatenate(lsoas) if lsoas else None)),
                         ("practices", frame), ("unmatched", plan.unmatched),
                         ("truth_coefficients", truth.coefficients),
                         ("truth_practice_effects", truth.practice_effects)):
            table = pa.Table.from_pandas(df, preserve_index=False)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
            pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
    return path
