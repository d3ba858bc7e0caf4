r"""Risk sharing inside a consortium: reserves, high-cost pools, surplus and deficit rules, simulated.

A practice that holds a real budget carries risk: a few very expensive patients can turn a fair budget into a
deficit through no fault of its own. A :class:`RiskSharing` rule says how a consortium shares that risk, and
:func:`simulate_risk_sharing` draws many years of actual costs from the fitted model's residuals and applies
the rule to each, in whole pence. :func:`compare_rules` puts several rules side by side on the same draws.

**The rule.** Each year, for each consortium *c* with envelope ``Q_c`` (the sum of its practices' budgets in
the allocation):

* ``R_c = reserve · Q_c`` goes to a reserve and ``F_c`` (``pool_funding · Q_c``, or the pool's expected spend)
  to a high-cost pool, rounded half up to the penny; the practices' budgets ``B'_g`` are ``Q_c − R_c − F_c``
  split in proportion to their allocations by the largest remainder;
* the pool pays every person's cost above ``high_cost_threshold`` (per person-year); the practice pays the
  rest, ``A_g``;
* practice *g*'s result is ``x = B'_g + carry_g − A_g``; it keeps ``⌊s·x⌋`` of a surplus
  (``surplus_retention``) and bears ``⌊d·x⌋`` of a deficit (``deficit_share``), and carries that into next
  year up to ``± carry_cap · B'_g``; what it does not keep or carry goes to the reserve, or is met by it;
* the reserve's year is netted: if its balance would fall below zero, the consortium meets the shortfall (the
  reserve is *exhausted*).

So, in every draw and exactly in pence, practice positions + pool + reserve + consortium = ``years · Q_c −``
actual cost: the consortium's result is shared out, not a penny more or less (:attr:`RiskSharingResult.conserves`).

**The simulation.** Person *i* costs ``y_i = k · u_g · (ŷ_i + σ_i e)``: ``ŷ_i`` the model's need (negative
predictions taken as 0), ``σ_i² = φ ŷ_i`` (``"proportional"``, ``φ = Σ r² / Σ ŷ``) or ``σ²`` (``"constant"``),
``e`` drawn with replacement from the centred standardised residuals ``r_j / σ_j`` of the people in the same
band of need (``residual_bands`` bands of equal size: spread and shape follow need even where the variance
model does not; one band resamples as :func:`~capitation.allocation.budget_risk` does), ``u_g`` a practice
effect (lognormal, mean 1, cv ``extra_cv``, the same in every year of a draw) and ``k`` the consortium's
envelope over its expected cost (``cost_basis="envelope"``; 1 with ``"model"``). Drawing 10,000 years for two
million people person by person is 2·10¹⁰ draws, so each practice's year is drawn in two parts that together
have exactly that distribution (see :mod:`capitation._kernels.risk_sharing`): the people whose residual falls
in the top ``tail_share`` of their band's pool (and, for people who could reach the pool's threshold, as much
of the pool as could take them there) are drawn person by person — every pool claim is drawn exactly — and
the sum over everyone else is drawn from the translated gamma distribution with its exact mean, variance and
third moment. ``tail_share=1`` draws everyone person by person.

**Assumptions.** People are independent given the practice effect; each year's costs are fresh draws (a
person expensive this year is not more likely to be so next year; budgets are the same each year); every
person in ``person_need`` is a whole registered person-year; the residuals describe next year's costs
(in-sample residuals understate them slightly). What the person model misses at practice level is the
practice effect ``extra_cv``, as in :func:`~capitation.allocation.budget_risk`; its size must be given.
"""

from __future__ import annotations

import functools
import math
import textwrap
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
import pandas as pd

from .._config import parallel_for, readonly, threads
from .._kernels.risk_sharing import STREAMS_PER_DRAW, expected_excess, fingerprint, settle, simulate_costs
from .._results import Result
from .._validation import check_number, check_option
from ..errors import InputError, MissingDependencyError, SchemaError, UnknownCodeError
from .allocate import Allocation
from .money import format_pounds, split_pence, to_pence

__all__ = ["RiskSharing", "RiskSharingResult", "RuleComparison", "compare_rules", "simulate_risk_sharing"]

#: The practice effect's normal deviate is clipped here (a chance of 2·10⁻⁹ of being changed), so that the
#: people who can reach a pool threshold are known before drawing.
_Z_CLIP = 6.0
#: Largest denominator of a share applied in the kernel (six decimal places), so that pence × share fits int64.
_MAX_DENOMINATOR = 10**6
#: Headroom of int64 for amounts multiplied by a share's numerator.
_INT_LIMIT = 2**62
_GOLD = 0x9E3779B97F4A7C15
_MASK = 2**64 - 1


def _fraction(value: float) -> Fraction:
    """Read a float as the decimal it was written as (0.3 is 3/10, not the nearest binary fraction)."""
    return Fraction(repr(float(value)))


def _share(value, name: str, *, optional: bool = False, exact: bool = False, high: float = 1.0):
    value = check_number(value, name, "RiskSharing", low=0.0, high=high, optional=optional, what="a share",
                         fix=f"give {name} as a fraction of the budget, e.g. 0.5 for half.")
    if value is not None and exact and _fraction(value).denominator > _MAX_DENOMINATOR:
        raise InputError(f"The {name!r} parameter of RiskSharing must be written with at most 6 decimal places "
                         f"(it is applied to whole pence exactly). Got {value!r}. Fix: round it, e.g. "
                         f"{round(value, 6)!r}.", parameter=name)
    return value


@dataclass(frozen=True, slots=True)
class RiskSharing:
    """A consortium's risk-sharing rule: reserve, high-cost pool, surplus and deficit shares, carry-forward.

    Validated when made; every error names the field, the value and the fix. Vary a rule with
    :func:`dataclasses.replace`.

    Parameters
    ----------
    reserve : float
        Share of the envelope top-sliced into a reserve each year, before practice budgets, in [0, 1].
    high_cost_threshold : float or None
        Pounds per person-year above which a person's cost is paid by the high-cost pool (stop-loss);
        ``None``: no pool.
    pool_funding : float or "expected"
        Share of the envelope top-sliced to fund the pool each year, or ``"expected"``: the pool's expected
        spend under the person model, to the penny. Must be 0 (or ``"expected"``) without a threshold.
    surplus_retention : float
        Share of a surplus the practice keeps, in [0, 1] (the rest goes to the reserve). At most 6 decimals.
    deficit_share : float
        Share of a deficit the practice bears, in [0, 1] (the rest falls on the reserve, then on the
        consortium). At most 6 decimals.
    carry_cap : float or None
        Largest position, surplus or debt, a practice carries into the next year, as a share of its budget
        (e.g. 0.02); what lies beyond goes to, or is met by, the reserve. ``None``: no cap.
    years : int
        Years simulated, from 1 to 60; carry-forward is applied year by year.
    name : str or None
        Label of the rule in tables and figures.

    Examples
    --------
    >>> rule = RiskSharing(reserve=0.01, high_cost_threshold=50_000, surplus_retention=0.5, deficit_share=0.5)
    >>> rule.pool_funding, rule.years
    ('expected', 1)
    >>> RiskSharing(deficit_share=1.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'deficit_share' parameter of RiskSharing must be a share in [0, 1]. ...
    """

    reserve: float = 0.0
    high_cost_threshold: float | None = None
    pool_funding: float | str = "expected"
    surplus_retention: float = 1.0
    deficit_share: float = 1.0
    carry_cap: float | None = None
    years: int = 1
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reserve", _share(self.reserve, "reserve"))
        threshold = check_number(self.high_cost_threshold, "high_cost_threshold", "RiskSharing", low=0.0,
                                 optional=True, what="an amount of pounds per person-year",
                                 fix="give the cost above which the pool pays, e.g. 50_000, or None for no pool.")
        if threshold is not None:
            to_pence(threshold, "high_cost_threshold")  # whole pence, or a named error
        object.__setattr__(self, "high_cost_threshold", threshold)
        if isinstance(self.pool_funding, str):
            check_option(self.pool_funding, "pool_funding", "RiskSharing", ("expected",))
        else:
            object.__setattr__(self, "pool_funding", _share(self.pool_funding, "pool_funding"))
            if threshold is None and self.pool_funding > 0:
                raise InputError(f"The 'pool_funding' parameter of RiskSharing is {self.pool_funding!r} but there "
                                 "is no high-cost pool ('high_cost_threshold' is None), so the money would pay for "
                                 "nothing. Fix: set pool_funding=0, or give high_cost_threshold.",
                                 parameter="pool_funding")
            if self.reserve + self.pool_funding > 1.0:
                raise InputError(f"The top-slices of RiskSharing exceed the envelope: 'reserve' {self.reserve!r} "
                                 f"+ 'pool_funding' {self.pool_funding!r} = {self.reserve + self.pool_funding!r} "
                                 "of it. Fix: make reserve + pool_funding at most 1.", parameter="pool_funding")
        object.__setattr__(self, "surplus_retention", _share(self.surplus_retention, "surplus_retention",
                                                             exact=True))
        object.__setattr__(self, "deficit_share", _share(self.deficit_share, "deficit_share", exact=True))
        object.__setattr__(self, "carry_cap", check_number(
            self.carry_cap, "carry_cap", "RiskSharing", low=0.0, high=100.0, optional=True, what="a share of budget",
            fix="give the largest position carried as a share of budget, e.g. 0.02, or None for no cap."))
        if isinstance(self.years, bool) or not isinstance(self.years, (int, np.integer)) or \
                not 1 <= self.years < STREAMS_PER_DRAW - 3:
            raise InputError(f"The 'years' parameter of RiskSharing must be a whole number of years from 1 to 60. "
                             f"Got {self.years!r} instead. Fix: e.g. years=3.", parameter="years")
        object.__setattr__(self, "years", int(self.years))
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise InputError(f"The 'name' parameter of RiskSharing must be a non-empty string or None. Got "
                             f"{self.name!r}. Fix: e.g. name='1% reserve, £50k pool'.", parameter="name")

    @property
    def threshold_pence(self) -> int | None:
        """The high-cost threshold in whole pence per person-year (``None`` without a pool)."""
        return None if self.high_cost_threshold is None else to_pence(self.high_cost_threshold,
                                                                      "high_cost_threshold")

    def describe(self) -> str:
        """Say the rule in one line of words.

        Returns
        -------
        str
            Reserve, pool, shares, cap and years.

        Examples
        --------
        >>> rule = RiskSharing(reserve=0.01, high_cost_threshold=50_000, deficit_share=0.5)
        >>> print(rule.describe())  # doctest: +NORMALIZE_WHITESPACE
        reserve 1%; pool above £50,000 funded at its expected spend; surplus kept 100%, deficit borne 50%;
        no carry cap; 1 year
        """
        if self.high_cost_threshold is None:
            pool = "no high-cost pool"
        else:
            funding = ("at its expected spend" if self.pool_funding == "expected" else
                       f"by {_pct(self.pool_funding)} of the envelope")
            amount = format_pounds(self.threshold_pence)
            pool = f"pool above {amount.removesuffix('.00')} funded {funding}"
        cap = "no carry cap" if self.carry_cap is None else f"carry cap {_pct(self.carry_cap)} of budget"
        return (f"reserve {_pct(self.reserve)}; {pool}; surplus kept {_pct(self.surplus_retention)}, deficit borne "
                f"{_pct(self.deficit_share)}; {cap}; {self.years} year{'s' if self.years > 1 else ''}")


def _size_bands(registered: np.ndarray, bands: int) -> np.ndarray:
    """Equal-count bands of list size, 0 (smallest) … bands − 1, ties in code order."""
    rank = pd.Series(registered).rank(method="first").to_numpy()
    return np.minimum((rank - 1) * bands // len(registered), bands - 1).astype(int)


def _pct(share: float) -> str:
    text = f"{100 * share:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


# ------------------------------------------------------------------------------------------------------------
# preparation: people → sorted arrays, segments, keys
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Basis:
    """Everything a simulation is built on, fixed before any draw (shared by the rules compared)."""

    practices: pd.Index            # practice codes, sorted
    consortium_codes: pd.Index     # consortium codes, sorted
    cons: np.ndarray               # consortium index per practice (int32)
    consortium_names: dict
    people: np.ndarray             # people simulated per practice
    registered: np.ndarray         # registered list per practice (from the allocation)
    allocation_pence: np.ndarray   # budget per practice in the allocation (int64)
    envelope: np.ndarray           # Q_c per consortium (Python ints in an object array)
    split_order: np.ndarray        # practice order for the top-slice split (by key, so labels do not matter)
    keys: np.ndarray               # uint64 key per practice
    expected_cost: np.ndarray      # £ a year per practice (scaled)
    scale: np.ndarray              # k per practice
    kernel: dict                   # the arrays simulate_costs takes
    expected_claims: dict          # threshold pence → £ a year per practice (exact expectation)
    parameters: dict


def _check_frame(person_need) -> pd.DataFrame:
    if not isinstance(person_need, pd.DataFrame):
        raise SchemaError(f"The 'person_need' parameter must be a DataFrame with one row per person: "
                          f"practice_code, need (£ a year) and residual (actual − predicted). Got "
                          f"{type(person_need).__name__}. Fix: pd.DataFrame({{'practice_code': ..., 'need': "
                          "cp.score(model, X), 'residual': y - model.predict(X)}).", parameter="person_need")
    missing = [c for c in ("practice_code", "need", "residual") if c not in person_need.columns]
    if missing:
        raise SchemaError(f"The 'person_need' table lacks columns {missing}. It needs practice_code, need (the "
                          "model's predicted cost a year) and residual (actual − predicted, for the variance and "
                          "the resampling pool); exposure is optional. Fix: add them.", parameter="person_need")
    if len(person_need) == 0:
        raise InputError("The 'person_need' table has no people. Fix: pass the people of the practices to simulate.",
                         parameter="person_need")
    return person_need


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"The 'person_need' table's column {column!r} must be finite numbers. Got "
                         f"{frame[column].iloc[row]!r} at row {row} ({int(bad.sum()):,} in all). Fix: fill or drop "
                         "those people.", parameter="person_need")
    return values


def _bands(yhat: np.ndarray, n_bands: int) -> np.ndarray:
    """Band of need of each person: equal-count quantiles of ŷ, ties kept in one band (0 … B − 1)."""
    if n_bands <= 1 or len(yhat) < 2:
        return np.zeros(len(yhat), dtype=np.int64)
    edges = np.unique(np.quantile(yhat, np.arange(1, n_bands) / n_bands, method="inverted_cdf"))
    band = np.searchsorted(edges, yhat, side="right")
    _, band = np.unique(band, return_inverse=True)  # drop bands nobody is in
    return band.astype(np.int64)


def _moments(values: np.ndarray) -> tuple[float, float, float]:
    if len(values) == 0:
        return 0.0, 0.0, 0.0
    mean = float(values.mean())
    dev = values - mean
    return mean, float(np.mean(dev * dev)), float(np.mean(dev * dev * dev))


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _prepare(allocation, person_need, thresholds, *, variance, extra_cv, cost_basis, residual_bands, tail_share,
             owner) -> _Basis:
    if not isinstance(allocation, Allocation):
        raise SchemaError(f"The 'allocation' parameter of {owner} must be an Allocation (from allocate). Got "
                          f"{type(allocation).__name__}. Fix: budgets = allocate(need, control_total, "
                          "membership=...).", parameter="allocation")
    frame = _check_frame(person_need)
    variance = check_option(variance, "variance", owner, ("proportional", "constant"))
    cost_basis = check_option(cost_basis, "cost_basis", owner, ("envelope", "model"))
    extra_cv = check_number(extra_cv, "extra_cv", owner, low=0.0, high=1.0, what="a coefficient of variation",
                            fix="give the practice-level cv the person model misses, e.g. 0.05, or 0.")
    tail_share = check_number(tail_share, "tail_share", owner, low=0.0, high=1.0, low_open=True, what="a share",
                              fix="keep the default 0.01, or 1 to draw every person.")
    if isinstance(residual_bands, bool) or not isinstance(residual_bands, (int, np.integer)) or residual_bands < 1:
        raise InputError(f"The 'residual_bands' parameter of {owner} must be a whole number of bands, at least 1. "
                         f"Got {residual_bands!r}. Fix: residual_bands=10 (or 1 for one pool).",
                         parameter="residual_bands")
    table = allocation.practices
    labels, uniques = pd.factorize(frame["practice_code"], use_na_sentinel=False)
    uniques = pd.Index(uniques).astype(str)
    known = pd.Index(table.index.astype(str))
    found = known.get_indexer(uniques)
    index = found[labels]
    if (found < 0).any():
        absent = sorted(uniques[found < 0].tolist())
        raise UnknownCodeError(f"The 'person_need' table has people of practices the allocation does not fund: "
                               f"{absent[:5]}{' …' if len(absent) > 5 else ''} ({len(absent):,} practices). Fix: "
                               "allocate to those practices, or leave their people out.", parameter="person_need")
    present = np.unique(index)
    practices = known[present]
    order = np.searchsorted(present, index)  # each person's practice, 0 … G − 1
    n_g = len(practices)
    people = np.bincount(order, minlength=n_g)
    rows = table.iloc[present]
    registered = rows["registered"].to_numpy(dtype=np.float64)
    gap = np.abs(registered - people)
    off = gap > np.maximum(2.0, 0.02 * registered)
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise InputError(f"The allocation funds {registered[k]:,.1f} registered people at practice {practices[k]} "
                         f"but 'person_need' holds {people[k]:,} of its people ({int(off.sum()):,} practices "
                         "differ by more than 2%). A simulation draws the cost of the people given, against the "
                         "budget of the list funded. Fix: pass every person of each list, or allocate with "
                         "aggregate(..., list_sizes='observed').", parameter="person_need")
    if "consortium_code" in rows.columns:
        consortium = rows["consortium_code"].astype(str).to_numpy(dtype=object)
    else:
        consortium = np.full(n_g, "all", dtype=object)
    consortium_codes = pd.Index(np.unique(consortium.astype(str)))
    cons = consortium_codes.get_indexer(consortium).astype(np.int32)
    names = {}
    if allocation.consortia is not None and "consortium_name" in allocation.consortia.columns:
        names = {str(k): v for k, v in allocation.consortia["consortium_name"].items()}
    allocation_pence = rows["budget_pence"].to_numpy(dtype=np.int64)
    envelope = np.array([sum(int(b) for b in allocation_pence[cons == c]) for c in range(len(consortium_codes))],
                        dtype=object)

    need = _numbers(frame, "need")
    residual = _numbers(frame, "residual")
    exposure = np.ones(len(frame)) if "exposure" not in frame.columns else _numbers(frame, "exposure")
    if ((exposure <= 0) | (exposure > 1)).any():
        raise InputError("The 'person_need' table's column 'exposure' must be person-years in (0, 1]. Fix: give "
                         "the share of the year behind each person's residual.", parameter="person_need")
    clipped = int((need < 0).sum())
    yhat = np.maximum(need, 0.0)
    scaled_r2 = exposure * residual * residual
    if variance == "proportional":
        if yhat.sum() <= 0:
            raise InputError(f"A proportional variance needs positive need. Fix: {owner}(..., variance='constant').",
                             parameter="variance")
        phi = float(scaled_r2.sum() / yhat.sum())
        sigma = np.sqrt(phi * yhat)
        spread = {"phi": phi}
    else:
        sigma2 = float(scaled_r2.mean())
        sigma = np.full(len(yhat), math.sqrt(sigma2))
        spread = {"sigma2": sigma2}
    live = sigma > 0
    if not live.any():
        raise InputError("The residuals are all zero (or every need is 0): there is nothing to resample. Fix: pass "
                         "actual − predicted cost for people with known costs.", parameter="person_need")
    # the resampling pools: standardised residuals by band of need, centred, sorted
    band = np.full(len(yhat), -1, dtype=np.int64)
    band[live] = _bands(yhat[live], int(residual_bands))
    n_bands = int(band.max()) + 1
    e = np.zeros(len(yhat))
    e[live] = residual[live] * np.sqrt(exposure[live]) / sigma[live]
    pools, band_lo, band_hi = [], np.zeros(n_bands, dtype=np.int64), np.zeros(n_bands, dtype=np.int64)
    start = 0
    for b in range(n_bands):
        values = e[band == b]
        values = np.sort(values - values.mean())
        pools.append(values)
        band_lo[b], band_hi[b] = start, start + len(values)
        start += len(values)
    pool = np.concatenate(pools)
    sizes = band_hi - band_lo

    # the money scale: the consortium's expected cost becomes its envelope (or stays in the model's £)
    expected_model = np.bincount(order, weights=yhat, minlength=n_g)
    if cost_basis == "envelope":
        per_consortium = np.bincount(cons, weights=expected_model, minlength=len(consortium_codes))
        if (per_consortium <= 0).any():
            bad = consortium_codes[np.flatnonzero(per_consortium <= 0)[0]]
            raise InputError(f"Consortium {bad}'s people have no expected cost, so its envelope cannot be their "
                             f"cost. Fix: {owner}(..., cost_basis='model').", parameter="cost_basis")
        k_c = np.array([float(q) / 100 for q in envelope]) / per_consortium
    else:
        k_c = np.ones(len(consortium_codes))
    scale = k_c[cons]
    to_pence_g = 100.0 * scale
    log_sd = math.sqrt(math.log1p(extra_cv * extra_cv))
    u_bound = math.exp(log_sd * _Z_CLIP - 0.5 * log_sd * log_sd)

    # explicit classes: the top tail_share of the band's pool, and enough of it to hold every pool claim
    sim = np.flatnonzero(live)
    m_b = sizes[band[sim]]
    base = np.maximum(1, np.ceil(tail_share * m_b).astype(np.int64))
    need_n = base.copy()
    t_min = min(thresholds) if thresholds else None
    if t_min is not None:
        f_max = to_pence_g[order[sim]] * u_bound
        t_model = t_min / f_max * (1.0 - 1e-12)
        t = (t_model - yhat[sim]) / sigma[sim]
        above = np.empty(len(sim), dtype=np.int64)
        for b in range(n_bands):
            here = band[sim] == b
            above[here] = sizes[b] - np.searchsorted(pool[band_lo[b]:band_hi[b]], t[here], side="right")
        need_n = np.maximum(base, above)
    explicit = base.copy()
    while (short := explicit < np.minimum(need_n, m_b)).any():
        explicit[short] *= 2
    explicit = np.minimum(explicit, m_b)
    every = explicit == m_b

    # canonical order: practice, band, class, need; segments are runs of (practice, band, class)
    level = np.searchsorted(np.unique(explicit), explicit)
    group = (order[sim].astype(np.int64) * n_bands + band[sim]) * (int(level.max(initial=0)) + 1) + level
    by_need = np.argsort(yhat[sim], kind="stable")
    sort = by_need[np.argsort(group[by_need], kind="stable")]
    sim = sim[sort]
    explicit, every, m_b = explicit[sort], every[sort], m_b[sort]
    p_of, b_of = order[sim], band[sim]
    change = np.ones(len(sim), dtype=bool)
    change[1:] = (p_of[1:] != p_of[:-1]) | (b_of[1:] != b_of[:-1]) | (explicit[1:] != explicit[:-1])
    seg_lo = np.flatnonzero(change).astype(np.int64)
    seg_hi = np.append(seg_lo[1:], len(sim)).astype(np.int64)
    seg_p, seg_b, seg_n = p_of[seg_lo], b_of[seg_lo], explicit[seg_lo]
    seg_all = every[seg_lo]
    seg_cut = band_lo[seg_b] + (sizes[seg_b] - seg_n)
    seg_top = band_hi[seg_b].copy()
    with np.errstate(divide="ignore"):
        seg_log1mq = np.where(seg_all, 0.0, np.log1p(-seg_n / sizes[seg_b]))
    moments = {}
    for b, n in set(zip(seg_b.tolist(), seg_n.tolist(), strict=True)):
        moments[(b, n)] = _moments(pool[band_lo[b]:band_hi[b] - n]) if n < sizes[b] else (0.0, 0.0, 0.0)
    seg_mu = np.array([moments[(b, n)][0] for b, n in zip(seg_b, seg_n, strict=True)])
    seg_var = np.array([moments[(b, n)][1] for b, n in zip(seg_b, seg_n, strict=True)])
    seg_k3 = np.array([moments[(b, n)][2] for b, n in zip(seg_b, seg_n, strict=True)])
    seg_ptr = np.zeros(n_g + 1, dtype=np.int64)
    np.add.at(seg_ptr, seg_p + 1, 1)
    seg_ptr = np.cumsum(seg_ptr)
    y_s, s_s = yhat[sim], sigma[sim]
    seg_of = np.repeat(np.arange(len(seg_lo)), seg_hi - seg_lo)
    bulk = ~seg_all[seg_of]
    w_mean = np.where(bulk, y_s + seg_mu[seg_of] * s_s, 0.0)
    w_var = np.where(bulk, seg_var[seg_of] * s_s * s_s, 0.0)
    w_k3 = np.where(bulk, seg_k3[seg_of] * s_s * s_s * s_s, 0.0)
    bulk_mean = np.bincount(p_of, weights=w_mean, minlength=n_g)
    bulk_var = np.bincount(p_of, weights=w_var, minlength=n_g)
    bulk_k3 = np.bincount(p_of, weights=w_k3, minlength=n_g)

    # keys: a fingerprint of each practice's people, so that codes and order do not matter
    fp = np.zeros(n_g, dtype=np.uint64)
    fingerprint(readonly(np.ascontiguousarray(yhat).view(np.uint64)), readonly(order.astype(np.int32)), fp)
    keys = [(int(f) + int(n) * _GOLD) & _MASK for f, n in zip(fp.tolist(), people.tolist(), strict=True)]
    seen: dict[int, int] = {}
    for g, key in enumerate(keys):  # identical lists are told apart by code order
        k = seen.get(key, 0)
        seen[key] = k + 1
        if k:
            keys[g] = (key + k * 0xD1B54A32D192ED03) & _MASK
    keys = np.array(keys, dtype=np.uint64)
    split_order = np.lexsort((np.arange(n_g), keys))

    kernel = {"seg_ptr": seg_ptr, "seg_lo": seg_lo, "seg_hi": seg_hi, "seg_cut": seg_cut, "seg_top": seg_top,
              "seg_all": seg_all.astype(np.bool_), "seg_log1mq": seg_log1mq, "seg_mu": seg_mu, "seg_var": seg_var,
              "seg_k3": seg_k3, "yhat": np.ascontiguousarray(y_s), "sigma": np.ascontiguousarray(s_s), "pool": pool,
              "bulk_mean": bulk_mean, "bulk_var": bulk_var, "bulk_k3": bulk_k3, "to_pence": to_pence_g,
              "log_sd": log_sd, "z_clip": _Z_CLIP}
    person_pence = np.ascontiguousarray(to_pence_g[order])
    claims = {t: _expected_claims(t, yhat, sigma, band, order, pool, band_lo, band_hi, person_pence, log_sd, n_g)
              for t in thresholds}
    explicit_rate = float(np.sum(np.where(every, 1.0, explicit / m_b)))
    parameters = {"variance": variance, **spread, "extra_cv": extra_cv, "cost_basis": cost_basis,
                  "scale": {c: float(v) for c, v in zip(consortium_codes, k_c, strict=True)},
                  "residual_bands": n_bands, "tail_share": tail_share, "clipped": clipped,
                  "people": len(frame), "people_drawn": len(sim),
                  "explicit_per_year": explicit_rate,
                  "practices_not_simulated": sorted(set(known) - set(practices))}
    return _Basis(practices=pd.Index(practices, name="practice_code"),
                  consortium_codes=pd.Index(consortium_codes, name="consortium_code"), cons=cons,
                  consortium_names=names, people=people, registered=registered, allocation_pence=allocation_pence,
                  envelope=envelope, split_order=split_order, keys=keys,
                  expected_cost=scale * expected_model, scale=scale, kernel=kernel,
                  expected_claims=claims, parameters=parameters)


def _expected_claims(threshold, yhat, sigma, band, order, pool, band_lo, band_hi, to_pence, log_sd, n_g) -> np.ndarray:
    """Exact expected pool claims per practice, £ a year: E[max(f u (ŷ + σ e) − T, 0)] over the band's pool.

    The practice effect ``u`` is integrated by 16-point Gauss–Hermite quadrature; pennies are not rounded.
    """
    if log_sd > 0:
        nodes, weights = np.polynomial.hermite_e.hermegauss(16)
        weights = weights / weights.sum()
        effects = np.exp(log_sd * np.clip(nodes, -_Z_CLIP, _Z_CLIP) - 0.5 * log_sd * log_sd)
    else:
        effects, weights = np.array([1.0]), np.array([1.0])
    cumulative = np.concatenate([[0.0], np.cumsum(pool)])
    per_person = np.empty(len(yhat))
    args = (readonly(yhat), readonly(sigma), readonly(band), readonly(pool), readonly(cumulative), readonly(band_lo),
            readonly(band_hi), readonly(to_pence), readonly(effects), readonly(weights), float(threshold))
    parallel_for(lambda start, stop: expected_excess(*args, start, stop, per_person), len(yhat), 65_536)
    return np.bincount(order, weights=per_person, minlength=n_g) / 100.0


# ------------------------------------------------------------------------------------------------------------
# simulation and settlement
# ------------------------------------------------------------------------------------------------------------
def _check_draws(draws, seed, owner):
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 1 <= draws <= 10_000_000:
        raise InputError(f"The 'draws' parameter of {owner} must be a whole number of simulated years from 1 to "
                         f"10,000,000. Got {draws!r}. Fix: draws=10_000.", parameter="draws")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise InputError(f"The 'seed' parameter of {owner} must be a non-negative integer. Got {seed!r}. "
                         "Fix: seed=0.", parameter="seed")
    return int(draws), int(seed)


#: Draws of one practice per task of the simulation kernel (its people stay in the cache for the block).
_DRAW_BLOCK = 256


def _grain(n_practices: int) -> int:
    """Draws per range on the kernels' threads: about 4,096 practice-years, whatever the thread count."""
    return max(1, min(256, 4096 // max(1, n_practices)))


def _simulate(basis: _Basis, thresholds: list[int], years: int, draws: int, seed: int, n_threads):
    """Costs (draws, years, practices) and claims per threshold, in pence."""
    k = basis.kernel
    n_g = len(basis.practices)
    given = np.array(thresholds, dtype=np.int64)
    costs = np.zeros((draws, years, n_g), dtype=np.int64)
    claims = np.zeros((len(given), draws, years, n_g), dtype=np.int64)
    if draws * years * n_g * (1 + len(given)) > 2**31:
        raise InputError(f"{draws:,} draws of {years} years for {n_g:,} practices would hold "
                         f"{8 * draws * years * n_g * (1 + len(given)) / 2**30:,.1f} GiB of drawn costs. Fix: fewer "
                         "draws, or one consortium at a time.", parameter="draws")
    block = _DRAW_BLOCK
    tasks = n_g * -(-draws // block)
    args = (np.uint64(seed), readonly(basis.keys), draws, block)
    rest = (readonly(k["seg_ptr"]), readonly(k["seg_lo"]), readonly(k["seg_hi"]), readonly(k["seg_cut"]),
            readonly(k["seg_top"]), readonly(k["seg_all"]), readonly(k["seg_log1mq"]), readonly(k["seg_mu"]),
            readonly(k["seg_var"]), readonly(k["seg_k3"]), readonly(k["yhat"]), readonly(k["sigma"]),
            readonly(k["pool"]), readonly(k["bulk_mean"]), readonly(k["bulk_var"]), readonly(k["bulk_k3"]),
            readonly(k["to_pence"]), k["log_sd"], k["z_clip"], readonly(given), costs, claims)
    with threads(n_threads):
        parallel_for(lambda start, stop: simulate_costs(*args, start, stop, *rest), tasks, 1)
    by_threshold = {t: claims[r] for r, t in enumerate(thresholds)}
    return costs, by_threshold


def _terms(rule: RiskSharing, basis: _Basis) -> dict:
    """Put the rule in pence for these practices: top-slices, budgets after them, caps, shares as fractions."""
    n_c = len(basis.consortium_codes)
    reserve = _fraction(rule.reserve)
    threshold = rule.threshold_pence
    expected = basis.expected_claims.get(threshold) if threshold is not None else None
    reserve_in = np.zeros(n_c, dtype=np.int64)
    pool_in = np.zeros(n_c, dtype=np.int64)
    budgets = np.zeros(len(basis.practices), dtype=np.int64)
    for c in range(n_c):
        q = int(basis.envelope[c])
        r = _half_up(q * reserve.numerator, reserve.denominator)
        if threshold is None:
            f = 0
        elif rule.pool_funding == "expected":
            f = math.floor(100.0 * float(expected[basis.cons == c].sum()) + 0.5)
        else:
            share = _fraction(rule.pool_funding)
            f = _half_up(q * share.numerator, share.denominator)
        if r + f > q:
            code = basis.consortium_codes[c]
            raise InputError(f"The top-slices of rule {rule.name or rule.describe()!r} exceed consortium {code}'s "
                             f"envelope of {format_pounds(q)}: reserve {format_pounds(r)} + pool funding "
                             f"{format_pounds(f)} (its expected spend, 'pool_funding'='expected'). Fix: lower "
                             "'reserve', or raise 'high_cost_threshold'.", parameter="pool_funding")
        reserve_in[c], pool_in[c] = r, f
        members = basis.split_order[basis.cons[basis.split_order] == c]
        budgets[members] = split_pence(q - r - f, basis.allocation_pence[members]) if q > 0 else 0
    if rule.carry_cap is None:
        caps = np.full(len(budgets), -1, dtype=np.int64)
    else:
        cap = _fraction(rule.carry_cap)
        caps = np.array([int(b) * cap.numerator // cap.denominator for b in budgets.tolist()], dtype=np.int64)
    keep, bear = _fraction(rule.surplus_retention), _fraction(rule.deficit_share)
    return {"budgets": budgets, "caps": caps, "reserve_in": reserve_in, "pool_in": pool_in, "keep": keep,
            "bear": bear, "threshold": threshold}


def _settle(basis: _Basis, terms: dict, costs, claims, limit: Fraction, n_threads):
    draws, years, n_g = costs.shape
    n_c = len(basis.consortium_codes)
    keep, bear = terms["keep"], terms["bear"]
    largest = int(np.abs(costs).max(initial=0)) + int(terms["budgets"].max(initial=0))
    factor = max(keep.numerator, bear.numerator, limit.numerator, limit.denominator, 1)
    if 2 * years * largest * factor >= 2**63:
        raise InputError(f"A practice's budget and costs (up to £{largest / 100:,.0f} a year over {years} years) are "
                         "too large to share in exact 64-bit pence at these shares. Fix: simulate fewer years, or "
                         "give the shares with fewer decimals.", parameter="rule")
    positions = np.zeros((draws, n_g), dtype=np.int64)
    deficit_any = np.zeros((draws, n_g), dtype=np.uint8)
    accounts = np.zeros((draws, n_c, 3), dtype=np.int64)
    exhausted = np.zeros((draws, n_c), dtype=np.uint8)
    args = (readonly(costs), readonly(claims), readonly(terms["budgets"]), readonly(terms["caps"]),
            readonly(basis.cons), readonly(terms["reserve_in"]), readonly(terms["pool_in"]), keep.numerator,
            keep.denominator, bear.numerator, bear.denominator, limit.numerator, limit.denominator)
    with threads(n_threads):
        parallel_for(lambda start, stop: settle(*args, start, stop, positions, deficit_any, accounts, exhausted),
                     draws, 4 * _grain(n_g))
    return positions, deficit_any, accounts, exhausted


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _result(rule: RiskSharing, basis: _Basis, costs, claims, overspend: float, draws: int, seed: int, n_threads,
            extra: dict | None = None) -> RiskSharingResult:
    terms = _terms(rule, basis)
    limit = _fraction(overspend)
    positions, deficit_any, accounts, exhausted = _settle(basis, terms, costs, claims, limit, n_threads)
    practices = _practice_table(basis, terms, rule, positions, deficit_any, costs, claims, limit)
    consortia = _consortium_table(basis, terms, rule, positions, accounts, exhausted, costs, claims, practices)
    parameters = {**basis.parameters, "draws": draws, "seed": seed, "overspend": overspend,
                  "years": rule.years, "rule": rule.describe(), **(extra or {})}
    return RiskSharingResult(rule, practices, consortia, _frozen(positions), _frozen(accounts),
                             _frozen(deficit_any.astype(bool)), _frozen(exhausted.astype(bool)),
                             readonly(costs), readonly(claims), parameters, _basis=basis, _terms=terms)


def _quantiles(values: np.ndarray, axis=0) -> np.ndarray:
    return np.quantile(values, [0.05, 0.5, 0.95], axis=axis, method="inverted_cdf").astype(np.int64)


def _practice_table(basis, terms, rule, positions, deficit_any, costs, claims, limit) -> pd.DataFrame:
    budgets = terms["budgets"]
    q = _quantiles(positions)
    alone = basis.allocation_pence[None, :] - costs[:, 0, :]
    frame = pd.DataFrame({
        "consortium_code": np.asarray(basis.consortium_codes)[basis.cons],
        "people": basis.people,
        "registered": basis.registered,
        "allocation_pence": basis.allocation_pence,
        "budget_pence": budgets,
        "expected_cost": basis.expected_cost,
        "pool_claims_mean": (claims.sum(axis=1).mean(axis=0) / 100 / rule.years) if terms["threshold"] is not None
        else np.zeros(len(budgets)),
        "position_mean": positions.mean(axis=0) / 100,
        "position_sd": positions.std(axis=0, ddof=1) / 100 if len(positions) > 1 else np.nan,
        "position_q05_pence": q[0], "position_q50_pence": q[1], "position_q95_pence": q[2],
        "p_deficit": (positions * limit.denominator < -limit.numerator * budgets[None, :]).mean(axis=0),
        "p_deficit_any_year": deficit_any.mean(axis=0),
        "own_p_deficit": (alone * limit.denominator < -limit.numerator * basis.allocation_pence[None, :]).mean(axis=0),
        "expected_surplus_kept": np.maximum(positions, 0).mean(axis=0) / 100,
        "expected_deficit_borne": np.maximum(-positions, 0).mean(axis=0) / 100,
    }, index=basis.practices)
    return frame


def _by_consortium(values: np.ndarray, cons: np.ndarray, n_c: int) -> np.ndarray:
    """Sum (draws, practices) int64 into (draws, consortia), exactly."""
    out = np.zeros((values.shape[0], n_c), dtype=np.int64)
    for c in range(n_c):
        out[:, c] = values[:, cons == c].sum(axis=1)
    return out


def _consortium_table(basis, terms, rule, positions, accounts, exhausted, costs, claims, practices) -> pd.DataFrame:
    n_c = len(basis.consortium_codes)
    cons = basis.cons
    spend = _by_consortium(claims.sum(axis=1), cons, n_c)
    held = _by_consortium(positions, cons, n_c)
    consortium = accounts[:, :, 2]
    threshold = rule.high_cost_threshold
    expected_spend = [float(basis.expected_claims[terms["threshold"]][cons == c].sum())
                      if terms["threshold"] is not None else 0.0 for c in range(n_c)]
    cost_total = _by_consortium(costs.sum(axis=1), cons, n_c)
    envelope = np.array([int(q) for q in basis.envelope], dtype=np.int64)
    frame = pd.DataFrame({
        "consortium_name": [basis.consortium_names.get(c, c) for c in basis.consortium_codes],
        "practices": np.bincount(cons, minlength=n_c),
        "people": np.bincount(cons, weights=basis.people, minlength=n_c).astype(np.int64),
        "envelope_pence": envelope,
        "reserve_pence": terms["reserve_in"],
        "pool_funding_pence": terms["pool_in"],
        "high_cost_threshold": np.nan if threshold is None else float(threshold),
        "pool_spend_mean": spend.mean(axis=0) / 100 / rule.years,
        "pool_spend_expected": expected_spend,
        "pool_spend_q95_pence": _quantiles(spend)[2],
        "p_pool_overspend": (accounts[:, :, 0] < 0).mean(axis=0),
        "p_reserve_exhausted": exhausted.mean(axis=0),
        "reserve_end_mean": accounts[:, :, 1].mean(axis=0) / 100,
        "consortium_mean": consortium.mean(axis=0) / 100,
        "consortium_q05_pence": _quantiles(consortium)[0],
        "practices_position_mean": held.mean(axis=0) / 100,
        "expected_surplus_kept": np.bincount(cons, weights=practices["expected_surplus_kept"], minlength=n_c),
        "mean_p_deficit": np.bincount(cons, weights=practices["p_deficit"], minlength=n_c) / np.bincount(cons),
        "practices_p_deficit_over_10pct": np.bincount(cons, weights=(practices["p_deficit"] > 0.10),
                                                      minlength=n_c).astype(np.int64),
        "envelope_less_cost_mean": (rule.years * envelope[None, :] - cost_total).mean(axis=0) / 100,
    }, index=basis.consortium_codes)
    return frame


# ------------------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------------------
@functools.cache
def _figure_class():
    """Make a matplotlib Figure that shows itself as PNG in Jupyter (on first use: matplotlib is optional)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError('Figures need matplotlib. Fix: pip install "capitation[report]"',
                                     name="matplotlib") from exc

    class RiskSharingFigure(Figure):
        """A Figure that renders itself as PNG in notebooks, without pyplot."""

        def _repr_png_(self) -> bytes:
            import io

            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(self)
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100, facecolor="white")
            return buffer.getvalue()

    return RiskSharingFigure


def _new_figure(width: float, height: float):
    return _figure_class()(figsize=(width, height), layout="constrained")


_BLUE, _GREY, _RED, _ORANGE = "#005EB8", "#768692", "#DA291C", "#ED8B00"


@dataclass(frozen=True, eq=False, repr=False)
class RiskSharingResult(Result):
    """The simulated positions of practices, pool, reserve and consortium under one risk-sharing rule.

    Attributes
    ----------
    rule : RiskSharing
        The rule applied.
    practices : pandas.DataFrame
        Indexed by ``practice_code``: ``consortium_code``, ``people`` (simulated), ``registered``,
        ``allocation_pence`` (its budget in the allocation), ``budget_pence`` (after the top-slices),
        ``expected_cost`` and ``pool_claims_mean`` (£ a year, the pool's share of it), ``position_mean`` and
        ``position_sd`` (£) and ``position_q05/q50/q95_pence`` of what it carries out of the last year,
        ``p_deficit`` (that position
        below ``−overspend`` × budget), ``p_deficit_any_year``, ``own_p_deficit`` (the same chance for the
        practice alone, on its allocation, with no pool and no sharing, in the first year),
        ``expected_surplus_kept`` and ``expected_deficit_borne`` (£). The result's own data: :meth:`to_frame`
        gives a copy.
    consortia : pandas.DataFrame
        Indexed by ``consortium_code``: ``consortium_name``, ``practices``, ``people``, ``envelope_pence``,
        ``reserve_pence`` and ``pool_funding_pence`` (a year), ``high_cost_threshold`` (£), ``pool_spend_mean``
        (simulated) and ``pool_spend_expected`` (exact under the person model), £ a year;
        ``pool_spend_q95_pence`` (over the years), ``p_pool_overspend``, ``p_reserve_exhausted`` (the
        consortium had to meet a shortfall), ``reserve_end_mean``, ``consortium_mean`` (£, ≤ 0: what the
        consortium must find) and ``consortium_q05_pence``, ``practices_position_mean``,
        ``expected_surplus_kept``, ``mean_p_deficit``, ``practices_p_deficit_over_10pct`` and
        ``envelope_less_cost_mean`` (£).
    positions : numpy.ndarray
        ``(draws, practices)`` int64 pence: each practice's position at the end, in the order of ``practices``.
    accounts : numpy.ndarray
        ``(draws, consortia, 3)`` int64 pence: the pool's, the reserve's and the consortium's balances.
    deficit_any : numpy.ndarray
        ``(draws, practices)`` bool: the practice was below ``−overspend`` × budget in some year.
    exhausted : numpy.ndarray
        ``(draws, consortia)`` bool: the reserve was exhausted in some year.
    costs : numpy.ndarray
        ``(draws, years, practices)`` int64 pence: each practice's people's actual cost.
    claims : numpy.ndarray
        ``(draws, years, practices)`` int64 pence: the part of it the pool paid.
    parameters : dict
        Variance model (``phi`` or ``sigma2``), ``extra_cv``, ``cost_basis`` and ``scale`` per consortium,
        ``residual_bands``, ``tail_share``, ``people``, ``people_drawn``, ``explicit_per_year`` (people drawn
        one by one per simulated year), ``clipped``, ``practices_not_simulated``, ``draws``, ``seed``,
        ``overspend``, ``years`` and the ``rule`` in words.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from capitation import allocate
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"practice_code": np.repeat(["A1", "A2"], [500, 1500]),
    ...                        "need": rng.gamma(2.0, 400.0, 2000)})
    >>> people["residual"] = rng.gamma(0.3, people["need"] / 0.3) - people["need"]
    >>> sums = people.groupby("practice_code")["need"].sum()
    >>> budgets = allocate(sums, round(sums.sum(), 2), registered=people.groupby("practice_code").size())
    >>> result = simulate_risk_sharing(budgets, people, RiskSharing(deficit_share=0.5), draws=500)
    >>> result.conserves, bool(result.practices["p_deficit"].le(result.practices["own_p_deficit"]).all())
    (True, True)
    """

    rule: RiskSharing
    practices: pd.DataFrame
    consortia: pd.DataFrame
    positions: np.ndarray
    accounts: np.ndarray
    deficit_any: np.ndarray
    exhausted: np.ndarray
    costs: np.ndarray
    claims: np.ndarray
    parameters: dict = field(default_factory=dict)
    _basis: _Basis | None = field(default=None, repr=False)
    _terms: dict | None = field(default=None, repr=False)

    def _frame(self) -> pd.DataFrame:
        return self.practices

    def to_frame(self, level: str = "practice") -> pd.DataFrame:
        """Return the practice or consortium table, as a copy.

        Parameters
        ----------
        level : {"practice", "consortium"}
            Which table.

        Returns
        -------
        pandas.DataFrame
            Editing it leaves the result as it was.

        Examples
        --------
        >>> result = _example()
        >>> result.to_frame("consortium")["practices"].tolist()
        [2]
        """
        level = check_option(level, "level", "RiskSharingResult.to_frame", ("practice", "consortium"))
        return (self.practices if level == "practice" else self.consortia).copy()

    @property
    def conserves(self) -> bool:
        """Whether in every draw practices + pool + reserve + consortium = years × envelope − actual cost, in pence."""
        basis = self._basis
        n_c = len(basis.consortium_codes)
        held = _by_consortium(self.positions, basis.cons, n_c)
        cost = _by_consortium(self.costs.sum(axis=1), basis.cons, n_c)
        envelope = np.array([int(q) for q in basis.envelope], dtype=np.int64)
        left = held + self.accounts.sum(axis=2)
        return bool((left == self.rule.years * envelope[None, :] - cost).all())

    def draws(self, level: str = "practice") -> pd.DataFrame:
        """Return the simulated positions draw by draw, in whole pence.

        Parameters
        ----------
        level : {"practice", "consortium"}
            ``"practice"``: one column per practice, one row per draw. ``"consortium"``: one row per draw and
            consortium with ``practices`` (their positions summed), ``pool``, ``reserve``, ``consortium`` and
            ``envelope_less_cost``; the first four add up to the last.

        Returns
        -------
        pandas.DataFrame
            int64 pence, a copy.

        Examples
        --------
        >>> result = _example()
        >>> d = result.draws("consortium")
        >>> bool((d[["practices", "pool", "reserve", "consortium"]].sum(axis=1) == d["envelope_less_cost"]).all())
        True
        """
        level = check_option(level, "level", "RiskSharingResult.draws", ("practice", "consortium"))
        if level == "practice":
            return pd.DataFrame(self.positions.copy(), columns=self.practices.index,
                                index=pd.RangeIndex(len(self.positions), name="draw"))
        basis = self._basis
        n_c = len(basis.consortium_codes)
        held = _by_consortium(self.positions, basis.cons, n_c)
        cost = _by_consortium(self.costs.sum(axis=1), basis.cons, n_c)
        envelope = np.array([int(q) for q in basis.envelope], dtype=np.int64)
        n = len(self.positions)
        return pd.DataFrame({
            "draw": np.repeat(np.arange(n), n_c),
            "consortium_code": np.tile(np.asarray(basis.consortium_codes, dtype=object), n),
            "practices": held.reshape(-1), "pool": self.accounts[:, :, 0].reshape(-1),
            "reserve": self.accounts[:, :, 1].reshape(-1), "consortium": self.accounts[:, :, 2].reshape(-1),
            "envelope_less_cost": (self.rule.years * envelope[None, :] - cost).reshape(-1)})

    def with_rule(self, rule: RiskSharing) -> RiskSharingResult:
        """Apply another rule with the same high-cost threshold to the same drawn costs.

        Parameters
        ----------
        rule : RiskSharing
            The rule; its ``high_cost_threshold`` and ``years`` must be those of this result's rule (the
            pool's claims were drawn for that threshold).

        Returns
        -------
        RiskSharingResult
            A new result on the same draws; this one is left as it was.

        Examples
        --------
        >>> from dataclasses import replace
        >>> result = _example()
        >>> shared = result.with_rule(replace(result.rule, deficit_share=0.0, reserve=0.05))
        >>> float(shared.practices["p_deficit"].max())
        0.0
        """
        if not isinstance(rule, RiskSharing):
            raise SchemaError(f"The 'rule' parameter of with_rule must be a RiskSharing. Got {type(rule).__name__}.",
                              parameter="rule")
        if rule.high_cost_threshold != self.rule.high_cost_threshold or rule.years != self.rule.years:
            raise InputError(f"with_rule keeps the drawn costs, so the rule's 'high_cost_threshold' and 'years' must "
                             f"stay {self.rule.high_cost_threshold!r} and {self.rule.years!r}. Got "
                             f"{rule.high_cost_threshold!r} and {rule.years!r}. Fix: simulate_risk_sharing or "
                             "compare_rules for another threshold.", parameter="rule")
        p = self.parameters
        return _result(rule, self._basis, np.asarray(self.costs), np.asarray(self.claims), p["overspend"], p["draws"],
                       p["seed"], None)

    def reserve_curve(self, shares=None) -> pd.DataFrame:
        """Tabulate the chance that the reserve is exhausted against the reserve's size, on the same draws.

        Each size is this rule with another ``reserve`` (practice budgets top-sliced accordingly), settled on the
        drawn costs; the other terms stay as they are.

        Parameters
        ----------
        shares : sequence of float, optional
            Reserve sizes as shares of the envelope; by default 0 to 2.5 × the rule's (at least 5%), 21 sizes.

        Returns
        -------
        pandas.DataFrame
            One row per size and consortium: ``reserve`` (share), ``consortium_code``, ``reserve_pence``,
            ``p_reserve_exhausted`` and ``consortium_mean`` (£).

        Examples
        --------
        >>> result = _example()
        >>> curve = result.reserve_curve([0.0, 0.05])
        >>> curve["p_reserve_exhausted"].is_monotonic_decreasing
        True
        """
        if shares is None:
            top = max(0.05, 2.5 * self.rule.reserve)
            shares = [round(v, 6) for v in np.linspace(0.0, top, 21)]
        funding = self.rule.pool_funding
        if isinstance(funding, float) and funding + max(shares) > 1:
            raise InputError(f"The 'shares' of reserve_curve go up to {max(shares)!r}, which with the pool's "
                             f"{funding!r} exceeds the envelope. Fix: smaller shares.", parameter="shares")
        rows = []
        for share in shares:
            other = self.with_rule(replace(self.rule, reserve=share)) if share != self.rule.reserve else self
            c = other.consortia
            rows.append(pd.DataFrame({"reserve": float(share), "consortium_code": c.index,
                                      "reserve_pence": c["reserve_pence"].to_numpy(),
                                      "p_reserve_exhausted": c["p_reserve_exhausted"].to_numpy(),
                                      "consortium_mean": c["consortium_mean"].to_numpy()}))
        return pd.concat(rows, ignore_index=True)

    def by_size(self, bands: int = 3) -> pd.DataFrame:
        """Summarise practices by list size: what the rule does to small and large practices.

        Parameters
        ----------
        bands : int
            Equal-count bands of registered list (3: the smallest third, the middle, the largest third).

        Returns
        -------
        pandas.DataFrame
            One row per band: ``practices``, ``smallest`` and ``largest`` list, mean ``own_p_deficit`` (alone,
            no sharing) and ``p_deficit`` (under the rule), mean ``position_sd_pct`` (sd of the position as % of
            budget), mean ``expected_surplus_kept`` and ``expected_deficit_borne`` (£ per practice).

        Examples
        --------
        >>> result = _example()
        >>> result.by_size(bands=2)["practices"].tolist()
        [1, 1]
        """
        if isinstance(bands, bool) or not isinstance(bands, (int, np.integer)) or bands < 1:
            raise InputError(f"The 'bands' parameter of by_size must be a whole number, at least 1. Got {bands!r}.",
                             parameter="bands")
        t = self.practices
        band = _size_bands(t["registered"].to_numpy(), int(bands))
        with np.errstate(divide="ignore", invalid="ignore"):
            sd_pct = 100 * t["position_sd"] / (t["budget_pence"] / 100)
        frame = pd.DataFrame({"band": band, "registered": t["registered"].to_numpy(),
                              "own_p_deficit": t["own_p_deficit"].to_numpy(), "p_deficit": t["p_deficit"].to_numpy(),
                              "position_sd_pct": sd_pct.to_numpy(),
                              "expected_surplus_kept": t["expected_surplus_kept"].to_numpy(),
                              "expected_deficit_borne": t["expected_deficit_borne"].to_numpy()})
        out = frame.groupby("band").agg(practices=("registered", "size"), smallest=("registered", "min"),
                                        largest=("registered", "max"), own_p_deficit=("own_p_deficit", "mean"),
                                        p_deficit=("p_deficit", "mean"), position_sd_pct=("position_sd_pct", "mean"),
                                        expected_surplus_kept=("expected_surplus_kept", "mean"),
                                        expected_deficit_borne=("expected_deficit_borne", "mean"))
        out.index.name = "list size band"
        return out

    def measures(self) -> pd.Series:
        """Give the rule's headline figures for the first consortium, as :func:`compare_rules` tabulates them.

        Returns
        -------
        pandas.Series
            Numbers (float): the rule's terms (reserve share and £ a year, threshold, pool funding, shares,
            cap), the chance that the reserve is exhausted, the pool's mean spend and chance of overspending, what the
            consortium must find (mean, and the 1-in-20 worst), practices' mean chance of a deficit — all, the
            smallest and the largest third of lists (by rank), the smallest third alone — practices at more
            than 10% risk, and the surplus kept and deficit borne by practices (£, summed).

        Examples
        --------
        >>> m = _example().measures()
        >>> float(m["P(reserve exhausted)"]), float(m["practices with P(deficit) > 10%"])
        (0.0, 2.0)
        """
        rule, c = self.rule, self.consortia.iloc[0]
        t = self.practices[self.practices["consortium_code"] == self.consortia.index[0]]
        third = _size_bands(t["registered"].to_numpy(), 3)
        small, large = third == 0, third == 2
        return pd.Series({
            "reserve (share of envelope)": rule.reserve,
            "reserve £ a year": c["reserve_pence"] / 100,
            "high-cost threshold £": np.nan if rule.high_cost_threshold is None else rule.high_cost_threshold,
            "pool funding £ a year": c["pool_funding_pence"] / 100,
            "surplus kept by practice": rule.surplus_retention,
            "deficit borne by practice": rule.deficit_share,
            "carry cap (share of budget)": np.nan if rule.carry_cap is None else rule.carry_cap,
            "P(reserve exhausted)": float(c["p_reserve_exhausted"]),
            "pool spend £ a year (mean)": float(c["pool_spend_mean"]),
            "P(pool overspends)": float(c["p_pool_overspend"]),
            "consortium must find £ (mean)": 0.0 - float(c["consortium_mean"]),
            "consortium must find £ (1 in 20)": 0.0 - float(c["consortium_q05_pence"]) / 100,
            "practices: mean P(deficit)": float(t["p_deficit"].mean()),
            "small practices: mean P(deficit)": float(t["p_deficit"][small].mean()),
            "large practices: mean P(deficit)": float(t["p_deficit"][large].mean()),
            "small practices alone: mean P(deficit)": float(t["own_p_deficit"][small].mean()),
            "practices with P(deficit) > 10%": int((t["p_deficit"] > 0.10).sum()),
            "surplus kept by practices £ (mean)": float(t["expected_surplus_kept"].sum()),
            "deficit borne by practices £ (mean)": float(t["expected_deficit_borne"].sum()),
        }, name=rule.name, dtype=np.float64)

    def summary(self) -> str:
        """Describe the simulation in plain text: the rule, each consortium, then the riskiest practices.

        Returns
        -------
        str
            The headline on the first line.

        Examples
        --------
        >>> print(_example().summary().splitlines()[0])  # doctest: +ELLIPSIS
        Risk sharing, 500 simulated years of 2 practices in 1 consortium: reserve 0%; ...
        """
        p = self.parameters
        c = self.consortia
        head = (f"Risk sharing, {p['draws']:,} simulated {'years' if self.rule.years == 1 else 'periods'} of "
                f"{len(self.practices):,} practices in {len(c):,} consorti{'um' if len(c) == 1 else 'a'}: "
                f"{self.rule.describe()}")
        lines = [head, f"  people {p['people']:,}; variance {p['variance']}, practice cv {p['extra_cv']:.3f}, "
                       f"{p['residual_bands']} bands of need; deficit = position below −{p['overspend']:.0%} "
                       f"of budget; conserved to the penny in every draw: {'yes' if self.conserves else 'NO'}"]
        for code, row in c.iterrows():
            label = code if row["consortium_name"] == code else f"{code} {row['consortium_name']}"
            lines.append(f"  {label}: envelope {format_pounds(int(row['envelope_pence']))}, "
                         f"reserve {format_pounds(int(row['reserve_pence']))}, pool funding "
                         f"{format_pounds(int(row['pool_funding_pence']))}; P(reserve exhausted) "
                         f"{row['p_reserve_exhausted']:.3f}; pool spend £{row['pool_spend_mean']:,.0f} a year "
                         f"(P overspend {row['p_pool_overspend']:.3f}); mean practice P(deficit) "
                         f"{row['mean_p_deficit']:.3f}")
        show = self.practices.sort_values("p_deficit", ascending=False)[
            ["consortium_code", "registered", "budget_pence", "position_sd", "own_p_deficit", "p_deficit"]].head(20)
        return "\n".join(lines) + "\n" + show.to_string(float_format=lambda v: f"{v:,.4g}")

    def plot(self):
        """Draw the rule's trade-offs: reserve size against the chance of exhausting it, and practices' risk.

        Left, the chance that the reserve is exhausted against its size (:meth:`reserve_curve`, re-settled on
        the same draws), the rule's own reserve marked. Right, each practice's chance of a deficit beyond the
        ``overspend`` share of its budget against its list size, alone (grey) and under the rule (blue). The
        trade-off of the high-cost threshold needs several thresholds: :meth:`RuleComparison.plot`.

        Returns
        -------
        matplotlib.figure.Figure
            It shows itself in a notebook (PNG), without pyplot.

        Examples
        --------
        >>> fig = _example().plot()
        >>> len(fig.axes)
        2
        """
        fig = _new_figure(9.0, 3.8)
        left, right = fig.subplots(1, 2)
        curve = self.reserve_curve()
        for code, part in curve.groupby("consortium_code"):
            left.plot(100 * part["reserve"], part["p_reserve_exhausted"], color=_BLUE, lw=1.6,
                      label=str(code) if len(self.consortia) > 1 else None)
        left.scatter(100 * np.full(len(self.consortia), self.rule.reserve), self.consortia["p_reserve_exhausted"],
                     color=_RED, zorder=3, label="this rule")
        left.set_xlabel("reserve, % of the envelope")
        left.set_ylabel("P(reserve exhausted)")
        left.set_ylim(-0.02, 1.02)
        left.set_title("Reserve size against the chance of exhausting it")
        left.legend()
        t = self.practices
        right.scatter(t["registered"], t["own_p_deficit"], s=14, color=_GREY, label="alone, no sharing")
        right.scatter(t["registered"], t["p_deficit"], s=14, color=_BLUE, label="under the rule")
        right.set_xscale("log")
        right.set_xlabel("registered list (log scale)")
        right.set_ylabel(f"P(deficit beyond {self.parameters['overspend']:.0%} of budget)")
        right.set_ylim(-0.02, max(0.1, float(t[["own_p_deficit", "p_deficit"]].max().max()) * 1.1))
        right.set_title("Practices' deficit risk by list size")
        right.legend()
        return fig


@dataclass(frozen=True, eq=False, repr=False)
class RuleComparison(Result):
    """Several risk-sharing rules for one consortium, side by side, simulated on the same draws.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per measure, one column per rule (numbers): the rule's terms, ``P(reserve exhausted)``, the
        pool's expected spend and chance of overspending, what the consortium may have to find, practices' mean
        chance of a deficit (all, the smallest third and the largest third by list size), practices at more
        than 10% risk, and the surplus practices keep. :meth:`to_frame` gives a copy.
    results : dict
        Rule name → :class:`RiskSharingResult`, each on the same drawn costs.
    consortium : str
        The consortium compared.
    small, large : float
        The largest list of the smallest third of practices and the smallest list of the largest third
        (thirds by rank of list size, as :meth:`RiskSharingResult.by_size`).
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> comparison = _example_comparison()
    >>> list(comparison.table.columns)
    ['own', 'shared']
    """

    table: pd.DataFrame
    results: dict
    consortium: str
    small: float
    large: float

    def _frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        """Describe the comparison in plain text: the rules, then the table.

        Returns
        -------
        str
            The headline on the first line.

        Examples
        --------
        >>> print(_example_comparison().summary().splitlines()[0])  # doctest: +ELLIPSIS
        2 risk-sharing rules for consortium all (2 practices, 500 simulated years each, the same draws)
        """
        first = next(iter(self.results.values()))
        head = (f"{len(self.results)} risk-sharing rules for consortium {self.consortium} "
                f"({len(first.practices):,} practices, {first.parameters['draws']:,} simulated "
                f"{'years' if first.rule.years == 1 else 'periods'} each, the same draws)")
        rules = [f"  {name}: {r.rule.describe()}" for name, r in self.results.items()]
        return "\n".join([head, *rules, self.table.to_string(float_format=lambda v: f"{v:,.4g}")])

    def plot(self):
        """Draw the trade-off between the rules: reserve against exhaustion, threshold against practices' risk.

        Left, each rule's chance of exhausting its reserve against the reserve's size (its
        :meth:`RiskSharingResult.reserve_curve`, the rule's own reserve marked). Right, practices' mean chance
        of a deficit beyond the ``overspend`` share of budget, for the smallest and the largest third of
        lists, rule by rule in order of their high-cost threshold.

        Returns
        -------
        matplotlib.figure.Figure
            It shows itself in a notebook (PNG), without pyplot.

        Examples
        --------
        >>> len(_example_comparison().plot().axes)
        2
        """
        fig = _new_figure(9.5, 4.0)
        left, right = fig.subplots(1, 2)
        colours = ["#005EB8", "#ED8B00", "#009639", "#DA291C", "#768692", "#41B6E6", "#003087"]
        top = max(0.05, 2.5 * max(r.rule.reserve for r in self.results.values()))
        shares = [round(v, 6) for v in np.linspace(0.0, top, 21)]
        for k, (name, result) in enumerate(self.results.items()):
            colour = colours[k % len(colours)]
            curve = result.reserve_curve(shares)
            left.plot(100 * curve["reserve"], curve["p_reserve_exhausted"], color=colour, lw=1.5, label=name)
            left.scatter([100 * result.rule.reserve], result.consortia["p_reserve_exhausted"], color=colour,
                         zorder=3, edgecolor="black", lw=0.6)
        left.set_xlabel("reserve, % of the envelope")
        left.set_ylabel("P(reserve exhausted)")
        left.set_ylim(-0.02, 1.02)
        left.set_title("Reserve size against the chance of exhausting it")
        left.legend(fontsize=8)
        order = sorted(self.results, key=lambda n: (self.results[n].rule.high_cost_threshold is None,
                                                    self.results[n].rule.high_cost_threshold or 0))
        x = np.arange(len(order))
        for row, label, colour, marker in (("small practices: mean P(deficit)", f"smallest third (≤ {self.small:,.0f})",
                                            _RED, "o"),
                                           ("large practices: mean P(deficit)", f"largest third (≥ {self.large:,.0f})",
                                            _BLUE, "s")):
            right.plot(x, [self.table.at[row, n] for n in order], marker=marker, color=colour, lw=1.2, label=label)
        labels = []
        width = max(8, int(44 / max(1, len(order))))
        for n in order:
            t = self.results[n].rule.high_cost_threshold
            pool = "no pool" if t is None else f"pool > £{t / 1000:,.4g}k"
            labels.append(textwrap.fill(n, width) + f"\n({pool})")
        right.set_xticks(x, labels, fontsize=8)
        right.set_xlim(-0.5, len(order) - 0.5)
        right.set_ylabel("practices' mean P(deficit)")
        right.set_ylim(bottom=0)
        right.set_title("High-cost threshold against practices' deficit risk")
        right.legend(fontsize=8)
        return fig


# ------------------------------------------------------------------------------------------------------------
# public functions
# ------------------------------------------------------------------------------------------------------------
def simulate_risk_sharing(allocation, person_need, rule, *, variance: str = "proportional", draws: int = 10_000,
                          seed: int = 0, extra_cv: float = 0.0, overspend: float = 0.05,
                          cost_basis: str = "envelope", residual_bands: int = 10, tail_share: float = 0.01,
                          n_threads: int | None = None) -> RiskSharingResult:
    """Simulate a risk-sharing rule: each practice's, the pool's, the reserve's and the consortium's positions.

    Each draw is ``rule.years`` years of actual costs for the people in ``person_need``, drawn from the model's
    resampled residuals (heavy-tailed, not a normal approximation) and shared by the rule in whole pence (see
    the module's notes for the rule's arithmetic, the scheme and its assumptions). The consortia are those of
    the allocation's membership (one, ``"all"``, without); each has its own reserve and pool.

    Parameters
    ----------
    allocation : Allocation
        Budgets from :func:`~capitation.allocate`; every practice of ``person_need`` must be funded, for a list
        of the people given (within 2%). Funded practices with no one in ``person_need`` are left out (listed
        in ``parameters["practices_not_simulated"]``).
    person_need : pandas.DataFrame
        One row per person: ``practice_code``, ``need`` (the model's predicted cost a year, £), ``residual``
        (actual − predicted, £ a year) and optionally ``exposure`` (the person-years behind the residual, in
        (0, 1]; residuals are standardised by ``√exposure``).
    rule : RiskSharing
        The rule.
    variance : {"proportional", "constant"}
        Person variance ``σ² = φ ŷ`` or ``σ²``, as in :func:`~capitation.allocation.budget_risk`.
    draws : int
        Simulated years (periods of ``rule.years`` years).
    seed : int
        Seed; a practice's draws depend on it and on its own people only (not on its code, nor on the others).
    extra_cv : float
        Coefficient of variation of a practice effect the person model misses (lognormal, mean 1, persistent
        over the years of a draw), as ``extra_cv`` in :func:`~capitation.allocation.budget_risk`.
    overspend : float
        A deficit counts beyond this share of the budget (0.05: 5%); at most 6 decimals.
    cost_basis : {"envelope", "model"}
        ``"envelope"``: each consortium's expected cost is its envelope (the model's £ scaled, so that a fair
        budget is fair on average); ``"model"``: the model's £ as they are, against the allocation's pence.
    residual_bands : int
        Bands of need (equal numbers of people) whose residuals are resampled separately; 1: one pool.
    tail_share : float
        Share of each band's pool (its top) drawn person by person; 1 draws everyone (exact, slow).
    n_threads : int, optional
        numba threads (the result is the same for any number).

    Returns
    -------
    RiskSharingResult
        Per practice and per consortium: the distribution of the net position (pence), the chance of a deficit
        beyond ``overspend``, of exhausting the reserve, the pool's expected spend and the surplus kept.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from capitation import allocate
    >>> rng = np.random.default_rng(1)
    >>> people = pd.DataFrame({"practice_code": np.repeat(["A1", "A2", "A3"], [800, 2000, 6000]),
    ...                        "need": rng.gamma(2.0, 400.0, 8800)})
    >>> people["residual"] = rng.gamma(0.3, people["need"] / 0.3) - people["need"]
    >>> sums = people.groupby("practice_code")["need"].sum()
    >>> budgets = allocate(sums, round(sums.sum(), 2), registered=people.groupby("practice_code").size())
    >>> rule = RiskSharing(reserve=0.01, high_cost_threshold=5_000, surplus_retention=0.5, deficit_share=0.5)
    >>> result = simulate_risk_sharing(budgets, people, rule, draws=2_000)
    >>> result.conserves
    True
    >>> t = result.practices
    >>> bool((t["p_deficit"] < t["own_p_deficit"]).all())  # every practice is safer under the rule
    True
    """
    owner = "simulate_risk_sharing"
    if not isinstance(rule, RiskSharing):
        raise SchemaError(f"The 'rule' parameter of {owner} must be a RiskSharing. Got {type(rule).__name__}. "
                          "Fix: RiskSharing(reserve=0.01, high_cost_threshold=50_000, ...).", parameter="rule")
    draws, seed = _check_draws(draws, seed, owner)
    overspend = _overspend(overspend, owner)
    thresholds = [] if rule.threshold_pence is None else [rule.threshold_pence]
    basis = _prepare(allocation, person_need, thresholds, variance=variance, extra_cv=extra_cv, cost_basis=cost_basis,
                     residual_bands=residual_bands, tail_share=tail_share, owner=owner)
    costs, claims = _simulate(basis, thresholds, rule.years, draws, seed, n_threads)
    pool = claims[thresholds[0]] if thresholds else np.zeros_like(costs)
    return _result(rule, basis, costs, pool, overspend, draws, seed, n_threads)


def _overspend(overspend, owner) -> float:
    overspend = check_number(overspend, "overspend", owner, low=0.0, high=1.0, what="a share of budget",
                             fix="e.g. overspend=0.05 for 5%.")
    if _fraction(overspend).denominator > _MAX_DENOMINATOR:
        raise InputError(f"The 'overspend' parameter of {owner} must have at most 6 decimal places. Got "
                         f"{overspend!r}. Fix: round it.", parameter="overspend")
    return overspend


def compare_rules(allocation, person_need, rules, *, consortium: str | None = None, variance: str = "proportional",
                  draws: int = 10_000, seed: int = 0, extra_cv: float = 0.0, overspend: float = 0.05,
                  cost_basis: str = "envelope", residual_bands: int = 10, tail_share: float = 0.01,
                  n_threads: int | None = None) -> RuleComparison:
    """Tabulate several risk-sharing rules side by side for one consortium, on the same simulated costs.

    Every rule is applied to the same draws of every person's cost (common random numbers), so differences
    between the rules are the rules', not chance's: a higher high-cost threshold, for instance, never makes the
    pool pay more in any draw.

    Parameters
    ----------
    allocation : Allocation
        As for :func:`simulate_risk_sharing`.
    person_need : pandas.DataFrame
        As for :func:`simulate_risk_sharing`; people of other consortia are left out.
    rules : sequence of RiskSharing
        At least one, all with the same ``years``; named by their ``name`` (``"rule 1"``, … otherwise),
        names distinct.
    consortium : str, optional
        The consortium compared; needed when the allocation's practices are in more than one.
    variance, draws, seed, extra_cv, overspend, cost_basis, residual_bands, tail_share, n_threads
        As for :func:`simulate_risk_sharing`.

    Returns
    -------
    RuleComparison
        The table (measures × rules), each rule's :class:`RiskSharingResult` and the trade-off figure.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from capitation import allocate
    >>> rng = np.random.default_rng(1)
    >>> people = pd.DataFrame({"practice_code": np.repeat(["A1", "A2", "A3"], [800, 2000, 6000]),
    ...                        "need": rng.gamma(2.0, 400.0, 8800)})
    >>> people["residual"] = rng.gamma(0.3, people["need"] / 0.3) - people["need"]
    >>> sums = people.groupby("practice_code")["need"].sum()
    >>> budgets = allocate(sums, round(sums.sum(), 2), registered=people.groupby("practice_code").size())
    >>> rules = [RiskSharing(name="alone"),
    ...          RiskSharing(high_cost_threshold=5_000, name="pool > £5k"),
    ...          RiskSharing(high_cost_threshold=10_000, name="pool > £10k")]
    >>> comparison = compare_rules(budgets, people, rules, draws=1_000)
    >>> spend = {n: r.claims.sum(axis=(1, 2)) for n, r in comparison.results.items()}
    >>> bool((spend["pool > £10k"] <= spend["pool > £5k"]).all())  # in every draw
    True
    """
    owner = "compare_rules"
    rules = list(rules) if not isinstance(rules, RiskSharing) else [rules]
    if not rules or not all(isinstance(r, RiskSharing) for r in rules):
        raise SchemaError(f"The 'rules' parameter of {owner} must be a list of RiskSharing rules (at least one). "
                          f"Got {rules!r}.", parameter="rules")
    names = [r.name or f"rule {k + 1}" for k, r in enumerate(rules)]
    if len(set(names)) < len(names):
        raise InputError(f"The 'rules' of {owner} must have distinct names. Got {names}. Fix: name=... each.",
                         parameter="rules")
    if len({r.years for r in rules}) > 1:
        raise InputError(f"The 'rules' of {owner} must simulate the same number of years (their draws are shared). "
                         f"Got years {[r.years for r in rules]}.", parameter="rules")
    draws, seed = _check_draws(draws, seed, owner)
    overspend = _overspend(overspend, owner)
    if not isinstance(allocation, Allocation):
        raise SchemaError(f"The 'allocation' parameter of {owner} must be an Allocation (from allocate). Got "
                          f"{type(allocation).__name__}.", parameter="allocation")
    frame = _check_frame(person_need)
    codes = frame["practice_code"].astype(str)
    unknown = sorted(set(codes) - set(allocation.practices.index.astype(str)))
    if unknown:
        raise UnknownCodeError(f"The 'person_need' table has people of practices the allocation does not fund: "
                               f"{unknown[:5]}{' …' if len(unknown) > 5 else ''} ({len(unknown):,} practices). Fix: "
                               "allocate to those practices, or leave their people out.", parameter="person_need")
    if "consortium_code" in allocation.practices.columns:
        member = allocation.practices["consortium_code"].astype(str)
        member.index = member.index.astype(str)
        found = sorted(set(member.reindex(codes.unique()).dropna()))
        if consortium is None:
            if len(found) != 1:
                raise InputError(f"The people of 'person_need' are in {len(found)} consortia {found[:5]}: "
                                 f"{owner} compares rules for one. Fix: consortium='{found[0] if found else ''}'.",
                                 parameter="consortium")
            consortium = found[0]
        elif str(consortium) not in set(member):
            raise UnknownCodeError(f"The 'consortium' parameter of {owner} is {consortium!r}, which is not a "
                                   f"consortium of the allocation. Fix: one of {sorted(set(member))[:5]}.",
                                   parameter="consortium")
        consortium = str(consortium)
        frame = frame[(member.reindex(codes).to_numpy() == consortium)]
        if len(frame) == 0:
            raise InputError(f"'person_need' has nobody in consortium {consortium}. Fix: pass its people.",
                             parameter="person_need")
    else:
        consortium = "all"
    thresholds = sorted({r.threshold_pence for r in rules if r.threshold_pence is not None})
    basis = _prepare(allocation, frame, thresholds, variance=variance, extra_cv=extra_cv, cost_basis=cost_basis,
                     residual_bands=residual_bands, tail_share=tail_share, owner=owner)
    costs, claims = _simulate(basis, thresholds, rules[0].years, draws, seed, n_threads)
    zero = None
    results = {}
    for name, rule in zip(names, rules, strict=True):
        if rule.threshold_pence is None:
            zero = np.zeros_like(costs) if zero is None else zero
            pool = zero
        else:
            pool = claims[rule.threshold_pence]
        results[name] = _result(rule, basis, costs, pool, overspend, draws, seed, n_threads,
                                extra={"compared_with": [n for n in names if n != name]})
    registered = basis.registered
    third = _size_bands(registered, 3)
    small, large = float(registered[third == 0].max()), float(registered[third == 2].min(initial=np.inf))
    table = pd.DataFrame({name: r.measures() for name, r in results.items()})
    table.index.name = "measure"
    return RuleComparison(table, results, consortium, small, large)


def _example_people(sizes=(500, 1500), seed=0):
    rng = np.random.default_rng(seed)
    codes = [f"A{k + 1}" for k in range(len(sizes))]
    people = pd.DataFrame({"practice_code": np.repeat(codes, sizes), "need": rng.gamma(2.0, 400.0, sum(sizes))})
    people["residual"] = rng.gamma(0.3, people["need"] / 0.3) - people["need"]
    return people


def _example_allocation(people):
    from .allocate import allocate

    sums = people.groupby("practice_code")["need"].sum()
    return allocate(sums, round(float(sums.sum()), 2), registered=people.groupby("practice_code").size())


def _example() -> RiskSharingResult:
    """Simulate a small example: two practices, no sharing, 500 draws."""
    people = _example_people()
    return simulate_risk_sharing(_example_allocation(people), people, RiskSharing(), draws=500)


def _example_comparison() -> RuleComparison:
    """Compare two rules on a small example: each practice alone, and a shared reserve."""
    people = _example_people()
    rules = [RiskSharing(name="own"), RiskSharing(reserve=0.02, deficit_share=0.5, name="shared")]
    return compare_rules(_example_allocation(people), people, rules, draws=500)
