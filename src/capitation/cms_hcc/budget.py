"""From scores to money: the V24/V28 blend, and plan, contract or ACO budgets exact to the cent.

A budget is benchmark × risk × member-months: each person's monthly amount is the benchmark (dollars per
member per month) times their payment score, rounded half away from zero to the cent, times their months;
a group's budget is the exact integer sum of its people's cents (the package's integer group-sum kernel), so
it does not depend on the order of the people or the threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np
import pandas as pd

from .._config import readonly
from .._io import as_frame
from .._results import Result
from .._validation import check_finite, check_identifiers, check_integer_valued, check_range, require_columns
from ..errors import InputError, SchemaError
from .score import CmsHccScores, score  # noqa: F401 - score for the examples

__all__ = ["BlendedScores", "Budgets", "blend", "budgets"]


def _decimal(value, name: str, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float, np.integer, np.floating)):
        raise InputError(f"The {name!r} parameter must be {what}. Got {value!r} ({type(value).__name__}). Fix: "
                         "pass it as text, e.g. '0.67'.", parameter=name)
    try:
        d = Decimal(repr(float(value))) if isinstance(value, (float, np.floating)) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError(f"The {name!r} parameter must be {what}. Got {value!r}. Fix: pass it as text, e.g. "
                         "'0.67'.", parameter=name) from None
    if not d.is_finite():
        raise InputError(f"The {name!r} parameter must be {what}. Got {value!r}. Fix: a finite number.",
                         parameter=name)
    return d


@dataclass(frozen=True, eq=False, repr=False)
class BlendedScores(Result):
    """V24 and V28 scores of the same people blended for a payment year that pays on both.

    Attributes
    ----------
    person_id : ndarray
        The people, in the order of the scores blended.
    payment_year : int
        The payment year.
    weights : dict of str → str
        ``{"V24": ..., "V28": ...}`` as given (exact decimals adding up to 1).
    v24, v28 : CmsHccScores
        The two scores blended.
    normalised_thousandths : dict of str → ndarray of int64
        Each model's raw score divided by its normalisation factor, rounded to three decimals.
    blended_thousandths, payment_thousandths : ndarray of int64
        The weighted sum rounded to three decimals, and that × (1 − coding intensity) rounded to three.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import score
    >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
    ...                        "lti": [0], "new_enrollee": [0]})
    >>> b = blend(score(people, None, model="V24", payment_year=2024),
    ...           score(people, None, model="V28", payment_year=2024), weights={"V24": "0.67", "V28": "0.33"})
    >>> b.normalised_thousandths["V24"].tolist(), b.normalised_thousandths["V28"].tolist()
    ([344], [390])
    """

    person_id: np.ndarray
    payment_year: int
    weights: dict
    v24: CmsHccScores
    v28: CmsHccScores
    normalised_thousandths: dict
    blended_thousandths: np.ndarray
    payment_thousandths: np.ndarray

    def _frame(self) -> pd.DataFrame:
        return pd.DataFrame({"person_id": self.person_id, "segment_v24": self.v24.segments,
                             "segment_v28": self.v28.segments, "raw_v24": self.v24.raw_score,
                             "raw_v28": self.v28.raw_score,
                             "normalised_v24": self.normalised_thousandths["V24"] / 1000,
                             "normalised_v28": self.normalised_thousandths["V28"] / 1000,
                             "blended": self.blended_thousandths / 1000,
                             "payment_score": self.payment_thousandths / 1000})

    def summary(self) -> str:
        """One line: the year, the weights and the mean blended and payment scores.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import blend, score
        >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0],
        ...                        "dual_status": ["non"], "lti": [0], "new_enrollee": [0]})
        >>> b = blend(score(people, None, model="V24", payment_year=2024),
        ...           score(people, None, model="V28", payment_year=2024), weights={"V24": "0.67", "V28": "0.33"})
        >>> b.summary().split(": ")[1]
        '1 people, mean blended score 0.359, mean payment score 0.338'
        """
        n = len(self.person_id)
        mean = (lambda a: f"{a.sum() / n / 1000:.3f}") if n else (lambda a: "-")
        return (f"V24/V28 blend for payment year {self.payment_year} (V24 {self.weights['V24']}, V28 "
                f"{self.weights['V28']}): {n:,} people, mean blended score {mean(self.blended_thousandths)}, mean "
                f"payment score {mean(self.payment_thousandths)}")


def blend(v24: CmsHccScores, v28: CmsHccScores, *, weights: dict) -> BlendedScores:
    """Blend V24 and V28 scores of the same people, with the payment year's weights (required: no default).

    Each model's raw score is normalised by its own factor and rounded to three decimals; the weighted sum is
    rounded to three decimals, then the MA coding-intensity adjustment is applied once and the result rounded
    to three decimals (halves away from zero, in integers). CMS blended 67% V24 + 33% V28 in 2024 and
    33% + 67% in 2025; the weights are the caller's to state.

    Parameters
    ----------
    v24, v28 : CmsHccScores
        Scores of the same beneficiaries (same order) for the same payment year, by V24 and by V28.
    weights : dict
        ``{"V24": w, "V28": 1 - w}``, exact decimals (text such as ``"0.67"`` is best) adding up to 1.

    Returns
    -------
    BlendedScores

    Raises
    ------
    InputError
        The scores are not one V24 and one V28 of the same people and year, or the weights are not two exact
        decimals in [0, 1] adding up to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import blend, score
    >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
    ...                        "lti": [0], "new_enrollee": [0]})
    >>> dx = pd.DataFrame({"person_id": [1, 1], "icd10": ["E1169", "I509"]})
    >>> b = blend(score(people, dx, model="V24", payment_year=2024), score(people, dx, model="V28", payment_year=2024),
    ...           weights={"V24": "0.67", "V28": "0.33"})
    >>> b.to_frame()[["raw_v24", "raw_v28", "blended", "payment_score"]].values.tolist()
    [[1.148, 1.034, 1.008, 0.949]]
    """
    for name, s, model in (("v24", v24, "V24"), ("v28", v28, "V28")):
        if not isinstance(s, CmsHccScores) or s.model != model:
            raise InputError(f"The {name!r} parameter of blend must be {model} scores (capitation.cms_hcc.score(..., "
                             f"model={model!r})). Got {getattr(s, 'model', type(s).__name__)!r}.", parameter=name)
    if v24.payment_year != v28.payment_year:
        raise InputError(f"The 'v24' and 'v28' scores are for payment years {v24.payment_year} and "
                         f"{v28.payment_year}; a blend is one year's. Fix: score both for the same payment_year.",
                         parameter="v28")
    if len(v24.person_id) != len(v28.person_id) or not np.array_equal(v24.person_id, v28.person_id):
        raise InputError("The 'v24' and 'v28' scores are not of the same people in the same order. Fix: score the "
                         "same beneficiaries table with both models.", parameter="v28")
    if not isinstance(weights, dict) or set(weights) != {"V24", "V28"}:
        raise InputError(f"The 'weights' parameter of blend must be a dict with keys 'V24' and 'V28'. Got "
                         f"{weights!r}. Fix: e.g. weights={{'V24': '0.33', 'V28': '0.67'}} for payment year 2025.",
                         parameter="weights")
    w = {m: Fraction(_decimal(weights[m], "weights", "an exact decimal in [0, 1]")) for m in ("V24", "V28")}
    if any(not 0 <= x <= 1 for x in w.values()) or w["V24"] + w["V28"] != 1:
        raise InputError(f"The 'weights' parameter of blend must be two decimals in [0, 1] adding up to 1 exactly. "
                         f"Got {weights!r}. Fix: e.g. {{'V24': '0.33', 'V28': '0.67'}}.", parameter="weights")
    if v24.tables.coding_intensity != v28.tables.coding_intensity:
        raise InputError(f"The two models' MA coding-intensity adjustments differ ({v24.tables.coding_intensity} and "
                         f"{v28.tables.coding_intensity} thousandths) in payment year {v24.payment_year}, so the "
                         "blend's adjustment is ambiguous. Fix: blend the payment scores yourself.", parameter="v28")
    norm = {}
    for m, s in (("V24", v24), ("V28", v28)):
        d = s.tables.normalisation
        norm[m] = (2 * s.raw_thousandths * 1000 + d) // (2 * d)
    denominator = np.lcm(w["V24"].denominator, w["V28"].denominator)
    a = w["V24"].numerator * (denominator // w["V24"].denominator)
    b = w["V28"].numerator * (denominator // w["V28"].denominator)
    blended = (2 * (a * norm["V24"] + b * norm["V28"]) + denominator) // (2 * denominator)
    payment = (2 * blended * (1000 - v24.tables.coding_intensity) + 1000) // 2000
    return BlendedScores(person_id=v24.person_id, payment_year=v24.payment_year,
                         weights={m: str(weights[m]) for m in ("V24", "V28")}, v24=v24, v28=v28,
                         normalised_thousandths=norm, blended_thousandths=blended.astype(np.int64),
                         payment_thousandths=payment.astype(np.int64))


def _cents(value, name: str) -> int:
    d = _decimal(value, name, "an amount of dollars per member per month")
    cents = d * 100
    if cents != cents.to_integral_value() or cents < 0:
        raise InputError(f"The {name!r} parameter must be a non-negative amount of whole cents. Got {value!r}. "
                         "Fix: round it to two decimals first, e.g. '1053.27'.", parameter=name)
    return int(cents)


@dataclass(frozen=True, eq=False, repr=False)
class Budgets(Result):
    """Budgets per group (plan, contract, ACO): benchmark × payment score × member-months, to the cent.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by the group: ``members``, ``member_months``, ``risk_member_months`` (Σ payment score × months,
        exact to three decimals), ``budget_cents`` (int64, exact) and ``budget`` (dollars as text, ``'1234.56'``).
    not_in_groups : int
        People scored but in no group (their money is in no budget).
    group : str
        The grouping column.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import score
    >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
    ...                        "lti": [0], "new_enrollee": [0]})
    >>> b = budgets(score(people, None), pd.DataFrame({"person_id": [1], "contract": ["H1"]}), benchmark=1000)
    >>> b.table[["members", "member_months", "budget_cents"]].values.tolist()
    [[1, 12, 418800]]
    """

    table: pd.DataFrame
    not_in_groups: int
    group: str

    def _frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        """Give the headline: groups, people, member-months and the total, exact to the cent.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import budgets, score
        >>> people = pd.DataFrame({"person_id": [1, 2], "age": [70, 80], "sex": ["M", "F"], "orec": [0, 0],
        ...                        "dual_status": ["non", "non"], "lti": [0, 0], "new_enrollee": [0, 0]})
        >>> members = pd.DataFrame({"person_id": [1, 2], "contract": ["H1234", "H1234"]})
        >>> budgets(score(people, None), members, benchmark="1000.00").summary()
        'Budgets for 1 contract(s): $9,732.00 for 2 people (24 member-months); 0 people scored were in no contract'
        """
        t = self.table
        total = int(t["budget_cents"].sum())
        return (f"Budgets for {len(t):,} {self.group}(s): ${total // 100:,}.{total % 100:02d} for "
                f"{int(t['members'].sum()):,} people ({int(t['member_months'].sum()):,} member-months); "
                f"{self.not_in_groups:,} people scored were in no {self.group}")


def budgets(scores, members, *, group: str = "contract", benchmark, member_months=12) -> Budgets:
    """Turn payment scores into budgets per plan, contract or ACO: benchmark × risk × member-months, to the cent.

    Each person's monthly amount is ``benchmark × payment score`` rounded half away from zero to the cent; times
    their member-months it is their amount, and a group's budget is the exact sum of its people's cents.

    Parameters
    ----------
    scores : CmsHccScores or BlendedScores
        Payment scores per person.
    members : pandas.DataFrame or path
        ``person_id`` and the ``group`` column (one row per person scored who is in a group); optionally
        ``member_months`` and ``benchmark`` columns (named by the parameters below).
    group : str
        The column of ``members`` that names each person's group.
    benchmark : str, Decimal, int or column name
        Dollars per member per month at a risk score of 1.0 (``"1053.27"``), or the name of a column of
        ``members`` holding one per person (e.g. their county's rate).
    member_months : int or str
        Months of enrolment, 0–12, for everyone (12 by default), or the name of a column of ``members``.

    Returns
    -------
    Budgets

    Raises
    ------
    SchemaError
        A missing column.
    InputError
        A person in ``members`` who was not scored, a repeated person, months outside 0–12, an amount that is
        not whole cents, or totals beyond 64-bit cents.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import budgets, score
    >>> people = pd.DataFrame({"person_id": [1, 2, 3], "age": [70, 80, 67], "sex": ["M", "F", "F"],
    ...                        "orec": [0, 0, 0], "dual_status": ["non", "non", "full"], "lti": [0, 0, 0],
    ...                        "new_enrollee": [0, 0, 0]})
    >>> members = pd.DataFrame({"person_id": [1, 2, 3], "contract": ["H1", "H1", "H2"], "months": [12, 6, 12]})
    >>> budgets(score(people, None), members, benchmark="1000.00", member_months="months").table["budget"].to_dict()
    {'H1': '6960.00', 'H2': '4608.00'}
    """
    from .._kernels.groupby import regroup_sum

    if not isinstance(scores, (CmsHccScores, BlendedScores)):
        raise InputError(f"The 'scores' parameter of budgets must be CMS-HCC scores (capitation.cms_hcc.score or "
                         f"blend). Got {type(scores).__name__}.", parameter="scores")
    frame = as_frame(members, "members")
    columns = ["person_id", group] + [c for c in (benchmark, member_months) if isinstance(c, str)
                                      and c in frame.columns]
    if isinstance(member_months, str) and member_months not in frame.columns:
        columns.append(member_months)
    require_columns(frame, "members", columns)
    ids = check_identifiers(frame, "members")
    index = pd.Index(scores.person_id)
    rows = index.get_indexer(ids)
    if (rows < 0).any():
        bad = rows < 0
        raise InputError(f"The 'members' table names {int(bad.sum()):,} person(s) who were not scored, e.g. "
                         f"{pd.unique(ids[bad])[:5].tolist()}. Fix: score them, or remove them from the members.",
                         parameter="members")
    if pd.Index(ids).has_duplicates:
        dup = pd.Index(ids)[pd.Index(ids).duplicated()].unique()[:5].tolist()
        raise InputError(f"The 'members' table lists person(s) {dup} more than once; a person is in one group. "
                         "Fix: one row per person.", parameter="members")
    if isinstance(member_months, str):
        months = check_finite(frame, "members", member_months, ids)
        check_integer_valued(frame, "members", member_months, months, ids)
        check_range(frame, "members", member_months, months, low=0, high=12, ids=ids,
                    fix="months of enrolment in the year, 0 to 12")
        months = months.astype(np.int64)
    else:
        if isinstance(member_months, bool) or not isinstance(member_months, (int, np.integer)) \
                or not 0 <= member_months <= 12:
            raise InputError(f"The 'member_months' parameter of budgets must be a whole number of months, 0 to 12, "
                             f"or a column of 'members'. Got {member_months!r}.", parameter="member_months")
        months = np.full(len(ids), int(member_months), dtype=np.int64)
    if isinstance(benchmark, str) and benchmark in frame.columns:
        values = frame[benchmark].to_numpy(dtype=object)
        rate = np.array([_cents(v, "benchmark") for v in values], dtype=np.int64)
    else:
        rate = np.full(len(ids), _cents(benchmark, "benchmark"), dtype=np.int64)
    payment = np.asarray(scores.payment_thousandths, dtype=np.int64)[rows]
    if (rate.astype(float) * payment.astype(float) * 12).sum() >= 2.0**62:
        raise InputError("The budgets add up to more than 64-bit cents hold. Fix: check the benchmark's units "
                         "(dollars per member per month).", parameter="benchmark")
    monthly = (2 * rate * payment + 1000) // 2000
    cents = monthly * months
    if group not in frame.columns:
        raise SchemaError(f"The 'members' table has no column {group!r}. Fix: pass group='<column>'.")
    codes, names = pd.factorize(frame[group], sort=True)
    if (codes < 0).any():
        raise InputError(f"The 'members' table's column {group!r} is missing in {int((codes < 0).sum()):,} row(s). "
                         "Fix: give every member a group, or drop those rows.", parameter="members")
    codes = codes.astype(np.int32)
    k = len(names)
    total = np.zeros(k, dtype=np.int64)
    regroup_sum(readonly(np.ascontiguousarray(cents)), readonly(codes), total)
    risk = np.zeros(k, dtype=np.int64)
    regroup_sum(readonly(np.ascontiguousarray(payment * months)), readonly(codes), risk)
    table = pd.DataFrame({"members": np.bincount(codes, minlength=k),
                          "member_months": np.bincount(codes, weights=months, minlength=k).astype(np.int64),
                          "risk_member_months": risk / 1000, "budget_cents": total,
                          "budget": [f"{int(c) // 100}.{int(c) % 100:02d}" for c in total]},
                         index=pd.Index(np.asarray(names, dtype=object), name=group))
    return Budgets(table=table, not_in_groups=int(len(scores.person_id) - len(ids)), group=group)
