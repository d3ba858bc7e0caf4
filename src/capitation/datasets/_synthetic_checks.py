"""Measurements of a Synthetic England against its realism targets (used by tests, benchmarks and docs).

Plain numpy: the OLS here is a check on the generator, independent of the library's own estimator. Design
matrices are built in row chunks so a few million people fit in memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitation.datasets import _synthetic_params as P

LADDER = {
    "age_sex": ("age_sex",),
    "diagnoses": ("age_sex", "category"),
    "area": ("age_sex", "category", "icb", "need", "supply"),
    "registers": ("age_sex", "category", "icb", "need", "supply", "register"),
}


def _codes(se, icb_codes):
    """Integer codes of a population for the design matrix (computed once per call of a check)."""
    people = se.people
    cell = (people["sex"].to_numpy(str) == "M") * P.N_BANDS + P.age_band(people["age"].to_numpy(np.int64))
    icb = np.searchsorted(icb_codes, people["icb_code"].to_numpy(str))
    lsoa = pd.Index(se.areas["lsoa_code"]).get_indexer(people["lsoa_code"])
    area_need = se.areas[list(P.NEED_VARS)].to_numpy(np.float64)[lsoa]
    area_supply = se.areas[list(P.SUPPLY_VARS)].to_numpy(np.float64)[lsoa]
    pos = pd.Index(people["person_id"]).get_indexer(se.conditions["person_id"])
    reg = pd.Index(P.REGISTERS).get_indexer(se.conditions["register"])
    regs = np.zeros(len(people), dtype=np.int64)
    np.bitwise_or.at(regs, pos, np.left_shift(1, reg))
    return {"cell": cell, "icb": icb, "need": area_need, "supply": area_supply, "regs": regs,
            "bits": se.truth.observed_categories}


def _bits(b, n):
    k = np.arange(n, dtype=np.int64)
    return ((b[:, None] >> k[None, :]) & 1).astype(np.float64)


def _indicator(codes, n_cols, offset):
    rows = np.arange(len(codes))
    return rows, codes + offset, np.ones(len(codes)), n_cols


def design(c, terms, n_icb):
    """Build the sparse design matrix (CSR) of ``terms``.

    The blocks are age-sex cells, categories, ICB dummies (first ICB is the reference), need, supply and
    registers; no intercept (the 38 cells carry it).
    """
    from scipy import sparse

    n = len(c["cell"])
    blocks = []
    if "age_sex" in terms:
        blocks.append(sparse.csr_matrix((np.ones(n), (np.arange(n), c["cell"])), shape=(n, 2 * P.N_BANDS)))
    if "category" in terms:
        blocks.append(sparse.csr_matrix(_bits(c["bits"], P.N_CAT)))
    if "icb" in terms:
        keep = c["icb"] > 0
        blocks.append(sparse.csr_matrix((np.ones(keep.sum()), (np.flatnonzero(keep), c["icb"][keep] - 1)),
                                        shape=(n, n_icb - 1)))
    if "need" in terms:
        blocks.append(sparse.csr_matrix(c["need"]))
    if "supply" in terms:
        blocks.append(sparse.csr_matrix(c["supply"]))
    if "register" in terms:
        blocks.append(sparse.csr_matrix(_bits(c["regs"], P.N_REG)))
    return sparse.hstack(blocks, format="csr")


def _blocks(c, terms, n_icb, lo, hi):
    """Dense rows ``lo:hi`` of :func:`design` (for small checks)."""
    sub = {k: v[lo:hi] for k, v in c.items()}
    return design(sub, terms, n_icb).toarray()


def fit_ols(se, terms, icb_codes=None, codes=None):
    """Fit exposure-weighted OLS of annualised cost (``cost / exposure``) on ``terms``.

    Returns ``(beta, r2, icb_codes)`` with the weighted person-level R².
    """
    icb_codes = np.sort(se.people["icb_code"].unique().astype(str)) if icb_codes is None else icb_codes
    c = _codes(se, icb_codes) if codes is None else codes
    y = (se.people["cost"] / se.people["exposure"]).to_numpy(np.float64)
    w = se.people["exposure"].to_numpy(np.float64)
    x = design(c, terms, len(icb_codes))
    xw = x.multiply(w[:, None]).tocsr()
    xtx = (xw.T @ x).toarray()
    beta = np.linalg.lstsq(xtx, xw.T @ y, rcond=None)[0]
    pred = x @ beta
    ybar = np.average(y, weights=w)
    r2 = 1 - np.sum(w * (y - pred) ** 2) / np.sum(w * (y - ybar) ** 2)
    return beta, float(r2), icb_codes


def predict(se, beta, terms, icb_codes, codes=None):
    """Annual predicted cost per person."""
    c = _codes(se, icb_codes) if codes is None else codes
    return design(c, terms, len(icb_codes)) @ beta


def practice_r2(se, pred_annual):
    """R² of actual vs predicted practice cost per head (practices weighted by list size)."""
    p = se.people
    df = pd.DataFrame({"practice": p["practice_code"].to_numpy(str), "cost": p["cost"].to_numpy(),
                       "pred": pred_annual * p["exposure"].to_numpy(), "n": 1.0})
    g = df.groupby("practice").sum()
    actual = g["cost"] / g["n"]
    predicted = g["pred"] / g["n"]
    w = g["n"]
    mean = np.average(actual, weights=w)
    return float(1 - np.sum(w * (actual - predicted) ** 2) / np.sum(w * (actual - mean) ** 2))


def ladder(estimation, validation=None, rungs=tuple(LADDER)):
    """Person-level R² (on ``estimation``) and practice-level R² (on ``validation``) for the PBRA ladder."""
    out = {}
    icb_codes = np.sort(estimation.people["icb_code"].unique().astype(str))
    vcodes = _codes(validation, icb_codes) if validation is not None else None
    ecodes = _codes(estimation, icb_codes)
    for name in rungs:
        terms = LADDER[name]
        beta, r2, _ = fit_ols(estimation, terms, icb_codes, ecodes)
        out[f"person_r2_{name}"] = r2
        if validation is not None:
            pred = predict(validation, beta, terms, icb_codes, vcodes)
            out[f"practice_r2_{name}"] = practice_r2(validation, pred)
    return out


def realism(se):
    """Headline realism figures of a generated population."""
    p = se.people
    d = se.diagnoses
    n = len(p)
    res = p["resident"].to_numpy()
    ip = d[d["setting"] == "inpatient"]
    out = {"people": n}
    for fy in sorted(d["fy"].unique()):
        ids = ip.loc[ip["fy"] == fy, "person_id"].unique()
        out[f"share_with_inpatient_spell_{fy}"] = len(ids) / max(res.sum(), 1)
    spells = ip.drop_duplicates("spell_id")
    out["inpatient_spells_per_head_per_year"] = len(spells) / max(res.sum(), 1) / 2
    op = d[d["setting"] == "outpatient"]
    out["outpatient_attendances_per_head_per_year"] = op["spell_id"].nunique() / max(res.sum(), 1) / 2
    cost = p["cost"].to_numpy()
    out["mean_cost_per_head"] = float(cost.mean())
    out["mean_cost_per_person_year"] = float(cost.sum() / p["exposure"].sum())
    out["share_with_any_cost"] = float((cost > 0).mean())
    srt = np.sort(cost)[::-1]
    tot = srt.sum()
    for q in (1, 5, 10):
        out[f"top{q}pct_share_of_cost"] = float(srt[: max(int(n * q / 100), 1)].sum() / tot)
    counts = spells.groupby("person_id").size()
    sp = pd.Series(0.0, index=p["person_id"])
    sp.loc[counts.index] = counts.to_numpy()
    rate = pd.Series(sp.to_numpy(), index=p["imd_quintile"].to_numpy()).groupby(level=0).mean()
    out["admission_ratio_q1_q5"] = float(rate.loc[1] / rate.loc[5])
    # age-sex standardised ratio (indirect: observed / expected from national age-sex rates)
    cell = (p["sex"].to_numpy(str) == "M") * P.N_BANDS + P.age_band(p["age"].to_numpy(np.int64))
    nat = pd.Series(sp.to_numpy()).groupby(cell).mean()
    expected = nat.loc[cell].to_numpy()
    q = p["imd_quintile"].to_numpy()
    out["admission_ratio_q1_q5_age_sex_standardised"] = float(
        (sp.to_numpy()[q == 1].sum() / expected[q == 1].sum()) / (sp.to_numpy()[q == 5].sum() / expected[q == 5].sum()))
    out["deaths_per_1000"] = float(p["died"].mean() * 1000)
    out["part_year_share"] = float((p["exposure"] < 1).mean())
    return out


def qof_agreement(se):
    """Correlation across practices of generated register prevalence with QOF 2021/22 (list-weighted)."""
    from capitation.datasets.synthetic import _reference

    qof = _reference()["qof"]
    p = se.people
    n = p.groupby("practice_code").size()
    out = {}
    c = se.conditions.merge(p[["person_id", "practice_code", "age"]], on="person_id")
    for r, min_age in zip(P.REGISTERS, P.REG_MIN_AGE, strict=True):
        denom = p[p["age"] >= min_age].groupby("practice_code").size()
        num = c[(c["register"] == r)].groupby("practice_code").size().reindex(denom.index, fill_value=0)
        gen = num / denom
        ref = qof[r].reindex(gen.index)
        ok = ref.notna() & (n.reindex(gen.index) > 0)
        out[r] = (float(np.corrcoef(gen[ok], ref[ok])[0, 1]), float(num.sum() / denom.sum()),
                  float(np.average(ref[ok], weights=denom[ok])))
    return out


def wp_correlation(se, min_list=1000):
    """Correlate practice expected need cost per head with NHS England's G&A weighted population per head.

    An outside check, for the outcome year, over practices with at least ``min_list`` people.
    """
    from capitation.datasets.synthetic import _reference

    frame = _reference()["frame"]
    f = frame[frame["year"] == se.outcome_year].set_index("practice_code")
    ga = f["wp_general_acute"] / f["population"]
    p = se.people
    need = p[p["resident"]].groupby("practice_code")["need_cost"].mean()
    full = p.assign(mu=p["expected_cost"] / p["exposure"]).groupby("practice_code")["mu"].mean()
    size = p.groupby("practice_code").size()
    both = pd.DataFrame({"need": need, "mu": full, "ga": ga.reindex(need.index), "n": size}).dropna()
    both = both[both["n"] >= min_list]
    return {"r_need_vs_ga_wp": float(np.corrcoef(both["need"], both["ga"])[0, 1]),
            "r_expected_vs_ga_wp": float(np.corrcoef(both["mu"], both["ga"])[0, 1]),
            "practices": len(both)}


#: BMJ 2011's design at PBRA-era list sizes: 800 random practices held out whole, generated at 65% of today's
#: lists (validation sample 2: 797 practices); the people of the model's estimation and validation-1 samples
#: drawn from all the other practices, here 5% of each list (about 2.8M people: 1.4M estimate, as the paper's
#: 5.2M were a sample of everyone else).
PBRA_VALIDATION, PBRA_FRACTION, PBRA_ESTIMATION_FRACTION = 800, 0.65, 0.05


def pbra_design(seed: int, n_validation: int = PBRA_VALIDATION, fraction: float = PBRA_FRACTION,
                estimation_fraction: float = PBRA_ESTIMATION_FRACTION):
    """Return the estimation and validation populations of the PBRA-like design (practices by ``42 + seed``)."""
    from capitation.datasets.synthetic import _reference, synthetic_england

    codes = np.sort(_reference()["frame"].query("year == '2025/26'")["practice_code"].to_numpy(str))
    pick = np.random.default_rng(42 + seed).choice(codes, n_validation, replace=False)
    val = synthetic_england(fraction, seed=seed, practices=list(pick))
    est = synthetic_england(estimation_fraction, seed=seed, practices=list(np.setdiff1d(codes, pick)))
    return est, val


def pbra_tables(estimation, validation) -> dict:
    """Return the design as the arguments of :func:`capitation.model.pbra_ladder`: validation held out whole."""
    return {"people": pd.concat([estimation.people, validation.people], ignore_index=True),
            "diagnoses": pd.concat([estimation.diagnoses, validation.diagnoses], ignore_index=True),
            "areas": pd.concat([estimation.areas, validation.areas], ignore_index=True).drop_duplicates("lsoa_code"),
            "held_out_practices": list(validation.people["practice_code"].unique()),
            "outcome_year": validation.outcome_year}


def share_off(validation, pred_annual, threshold: float = 0.10) -> float:
    """Share of practices with ``|predicted / actual - 1| >= threshold``, as ``capitation.model.validate``."""
    p = validation.people
    g = pd.DataFrame({"practice": p["practice_code"].to_numpy(str), "cost": p["cost"].to_numpy(),
                      "pred": pred_annual * p["exposure"].to_numpy()}).groupby("practice").sum()
    return float(((g["pred"] / g["cost"] - 1).abs() >= threshold).mean())


def pbra_rungs(estimation, validation) -> dict:
    """Each rung of :data:`LADDER`: person R² (estimation), practice R² and share 10%+ off (validation)."""
    icb_codes = np.sort(np.union1d(estimation.people["icb_code"].unique().astype(str),
                                   validation.people["icb_code"].unique().astype(str)))
    ecodes, vcodes = _codes(estimation, icb_codes), _codes(validation, icb_codes)
    out = {}
    for name, terms in LADDER.items():
        beta, r2, _ = fit_ols(estimation, terms, icb_codes, ecodes)
        pred = predict(validation, beta, terms, icb_codes, vcodes)
        out[f"person_r2_{name}"] = r2
        out[f"practice_r2_{name}"] = practice_r2(validation, pred)
        out[f"share_off_10pct_{name}"] = share_off(validation, pred)
    return out
