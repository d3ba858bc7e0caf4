"""Generated Medicare beneficiaries and diagnoses, for benchmarks and for comparing engines (no real person).

The mix covers every branch of the rules: aged 65–100 and disabled people under 65, new enrollees (many aged
64–69), OREC 0–3, the three dual statuses, long-term institutional people, and 0–15 diagnoses each drawn from
the payment year's table, plus codes of another year's table, codes that map to no payment HCC and malformed
values, some written with dots, in lower case or with spaces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_number
from .tables import model_tables

__all__ = ["synthetic_beneficiaries"]

#: Well-formed ICD-10-CM codes that map to no payment HCC of either model (cough, essential hypertension, ...).
NO_HCC_CODES = ("R05", "I10", "Z0000", "M545", "J069", "E785", "K219", "R509", "Z23", "H5213")
#: Values that are not ICD-10-CM codes at all.
MALFORMED = ("", "UNKNOWN", "12.3", "E1", "NULL")


def synthetic_beneficiaries(n: int, *, model: str = "V28", payment_year: int = 2026, seed: int = 0,
                            mean_codes: float = 5.0, spellings: bool = True,
                            categorical: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``n`` beneficiaries and their diagnoses (long) for a model and payment year.

    Parameters
    ----------
    n : int
        People.
    model : {"V28", "V24"}
        Whose table the diagnoses are drawn from.
    payment_year : int
        Whose table (and whose other years' codes are the "other year" ones).
    seed : int
        Random seed: the same seed gives the same tables.
    mean_codes : float
        Mean diagnoses per person (Poisson, capped at 15).
    spellings : bool
        Write a fifth of the codes as people do (``"e11.69"``, ``"I50 9"``) rather than as the tables do.
    categorical : bool
        Return text columns as pandas Categoricals, as Parquet's dictionary columns are read.

    Returns
    -------
    beneficiaries : pandas.DataFrame
        ``person_id`` (0 … n − 1), ``age``, ``sex``, ``orec``, ``dual_status``, ``lti``, ``new_enrollee``.
    diagnoses : pandas.DataFrame
        ``person_id``, ``icd10``.

    Examples
    --------
    >>> from capitation.cms_hcc.synthetic import synthetic_beneficiaries
    >>> people, dx = synthetic_beneficiaries(1_000, seed=1)
    >>> len(people), list(people.columns), round(len(dx) / len(people))
    (1000, ['person_id', 'age', 'sex', 'orec', 'dual_status', 'lti', 'new_enrollee'], 5)
    """
    n = int(check_number(n, "n", "synthetic_beneficiaries", low=0, what="a number of people"))
    t = model_tables(model, payment_year)
    rng = np.random.default_rng(seed)
    disabled = rng.random(n) < 0.16
    age = np.where(disabled, rng.integers(18, 65, n), 65 + np.minimum(rng.exponential(9.0, n), 35).astype(np.int64))
    new = rng.random(n) < 0.07
    age = np.where(new & (rng.random(n) < 0.6), rng.integers(64, 70, n), age)
    orec = np.where(age < 65, rng.choice([1, 2, 3], n, p=[0.85, 0.1, 0.05]),
                    rng.choice([0, 1, 2, 3], n, p=[0.8, 0.15, 0.03, 0.02]))
    orec = np.where((age == 64) & (rng.random(n) < 0.5), 0, orec)  # turning 65: entitled by age
    dual = rng.choice(np.array(["non", "partial", "full"], dtype=object), n, p=[0.76, 0.08, 0.16])
    lti = (rng.random(n) < 0.04).astype(np.int8)
    sex = rng.choice(np.array(["F", "M"], dtype=object), n, p=[0.55, 0.45])
    people = pd.DataFrame({"person_id": np.arange(n, dtype=np.int64), "age": age.astype(np.int16), "sex": sex,
                           "orec": orec.astype(np.int8), "dual_status": dual, "lti": lti,
                           "new_enrollee": new.astype(np.int8)})
    k = np.minimum(rng.poisson(mean_codes, n), 15)
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    m = len(rows)
    # A pool of values (the year's codes, then other years', no-HCC and malformed ones, then codes spelled as
    # people write them); records draw positions in it, so nothing is done per record but integer draws.
    valid = list(np.asarray(t.codes, dtype=object)[rng.permutation(len(t.codes))])
    other = sorted(t.other_years)
    styled = [(c[:3] + "." + c[3:]).lower() if j % 2 else (c[:3] + " " + c[3:]) for j, c in enumerate(valid[:2000])
              if len(c) > 3] if spellings else []
    pool = np.asarray(valid + other + list(NO_HCC_CODES) + list(MALFORMED) + styled, dtype=object)
    weights = np.concatenate([0.92 / np.arange(1, len(valid) + 1) ** 0.8 / np.sum(1 / np.arange(1, len(valid) + 1)
                                                                                   ** 0.8),
                              np.full(len(other), 0.02 / max(len(other), 1)),
                              np.full(len(NO_HCC_CODES), 0.05 / len(NO_HCC_CODES)),
                              np.full(len(MALFORMED), 0.01 / len(MALFORMED))])
    if styled:  # the styled spellings take a share of their codes' draws
        weights = np.concatenate([weights, weights[:len(styled)] * 0.25])
        weights[:len(styled)] *= 0.75
    pick = np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(m), side="right")
    pick = np.minimum(pick, len(pool) - 1).astype(np.int32)
    icd10 = pd.Categorical.from_codes(pick, categories=pd.Index(pool, dtype=object).unique()) \
        if len(pd.unique(pool)) == len(pool) else pd.Categorical(pool[pick])
    if not categorical:
        icd10 = np.asarray(icd10, dtype=object)
    if categorical:
        people["sex"] = pd.Categorical(sex)
        people["dual_status"] = pd.Categorical(dual)
    return people, pd.DataFrame({"person_id": rows, "icd10": icd10})
