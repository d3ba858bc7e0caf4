"""Budget risk: analytic formulas by hand, and against the spread of simulated practices of similar size.

The spread check uses a small generator written here (zero-heavy gamma costs, a practice effect), not
synthetic England, so that the suite stays fast; ``test_risk_matches_synthetic_england`` (marked slow)
repeats it on synthetic England's practices.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from capitation.allocation import budget_risk, list_size_needed, overspend_probability
from capitation.errors import InputError


def test_formulas_by_hand():
    # cv 3, 10,000 people, 5%: z = 0.05 / (3 / 100) = 1.6667 → P = 0.0478
    assert overspend_probability(10_000, 3.0, 0.05) == pytest.approx(stats.norm.sf(0.05 / 0.03))
    # n = (z₀.₉₅ × cv / x)² = (1.644854 × 3 / 0.05)² = 9,739.9 → 9,740
    assert list_size_needed(3.0, 0.05, 0.05) == 9_740
    # with a group-level cv of 2%: n = 9 / ((0.05 / 1.644854)² − 0.02²) = 17,208.6 → 17,209
    assert list_size_needed(3.0, 0.05, 0.05, extra_cv=0.02) == math.ceil(9 / ((0.05 / stats.norm.isf(0.05)) ** 2
                                                                          - 0.0004))
    assert list_size_needed(3.0, 0.05, 0.05, extra_cv=0.04) == math.inf  # pooling cannot beat 4%
    # the size needed is where the probability crosses the level
    n = list_size_needed(2.5, 0.03, 0.10)
    assert overspend_probability(n, 2.5, 0.03) <= 0.10 < overspend_probability(n - 1, 2.5, 0.03)


def test_analytic_variance_is_the_sum_of_person_variances():
    need = np.array([100.0, 200.0, 300.0, 400.0])
    groups = np.array(["A", "A", "B", "B"])
    risk = budget_risk(need, groups, variance=[1.0, 4.0, 9.0, 16.0], n_resamples=0,
                       budget=pd.Series({"A": 330.0, "B": 700.0}))
    t = risk.table
    assert t.sd.tolist() == [math.sqrt(5.0), 5.0]
    assert t.p_overspend["A"] == pytest.approx(stats.norm.sf((330 * 1.05 - 300) / math.sqrt(5)))
    assert t.p_overspend["B"] == pytest.approx(stats.norm.sf((700 * 1.05 - 700) / 5))
    # proportional variance from residuals: φ = Σr² / Σŷ
    r = np.array([10.0, -10.0, 20.0, -20.0])
    prop = budget_risk(need, groups, residuals=r, n_resamples=0)
    assert prop.parameters["phi"] == pytest.approx(1000 / 1000)
    assert prop.table.sd.tolist() == pytest.approx([math.sqrt(300.0), math.sqrt(700.0)])
    with pytest.raises(InputError, match="needs 'residuals'"):
        budget_risk(need, groups)


def _simulate(sizes, seed, practice_cv=0.0, severity=2_000.0):
    """People with mean μ_i: K ~ Poisson(μ_i u / c) admissions costing Exp(c) each (Var ∝ μ, mostly zero);
    u is a practice effect with mean one."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"P{k:04d}" for k in range(len(sizes))], sizes)
    mu = rng.gamma(2.0, 300.0, len(groups))
    u = rng.normal(1.0, practice_cv, len(sizes)) if practice_cv else np.ones(len(sizes))
    k = rng.poisson(mu * np.repeat(u, sizes) / severity)
    y = np.where(k > 0, rng.gamma(np.maximum(k, 1), severity), 0.0)
    return mu, groups, y


def test_analytic_and_resampled_spread_match_simulated_practices_of_similar_size():
    sizes = np.repeat([500, 2_000, 8_000], 50)
    mu, groups, y = _simulate(sizes, seed=11)
    risk = budget_risk(mu, groups, residuals=y - mu, n_resamples=100, seed=2)
    t = risk.table
    actual = pd.Series(y).groupby(groups).sum()
    rel = (actual - t.expected) / t.expected
    size = t.people
    for n in (500, 2_000, 8_000):
        band = size == n
        observed = rel[band].std(ddof=1)                          # spread across 50 practices of this size
        predicted = float(np.sqrt((t.cv[band] ** 2).mean()))
        assert observed == pytest.approx(predicted, rel=0.25)
        resampled = float(np.sqrt(((t.sd_resampled / t.expected)[band] ** 2).mean()))
        assert resampled == pytest.approx(predicted, rel=0.10)
        # share of practices overspending by more than 5%: observed vs the mean model probability
        observed_p = float((rel[band] > 0.05).mean())
        assert abs(observed_p - t.p_overspend[band].mean()) < 0.15
    # a larger list means a smaller cv, in proportion to 1/√n
    cv = t.groupby("people").cv.mean()
    assert cv[500] / cv[2_000] == pytest.approx(2.0, rel=0.1)


def test_a_practice_effect_is_captured_by_extra_cv():
    sizes = np.full(120, 10_000)
    mu, groups, y = _simulate(sizes, seed=5, practice_cv=0.08)
    risk = budget_risk(mu, groups, residuals=y - mu, n_resamples=0, extra_cv=0.08)
    actual = pd.Series(y).groupby(groups).sum()
    rel = (actual - risk.table.expected) / risk.table.expected
    assert rel.std() == pytest.approx(float(np.sqrt((risk.table.cv ** 2).mean())), rel=0.2)
    without = budget_risk(mu, groups, residuals=y - mu, n_resamples=0)
    assert rel.std() > 1.5 * float(np.sqrt((without.table.cv ** 2).mean()))   # ignoring it understates risk


@pytest.mark.slow
def test_risk_matches_synthetic_england():  # pragma: no cover - slow
    from capitation.datasets import load_practices
    from capitation.datasets.synthetic import synthetic_england

    frame = load_practices("2025/26")
    codes = frame[frame.icb_code == "QHM"].practice_code.tolist()[:150]
    se = synthetic_england(0.25, seed=3, practices=codes, progress=False)
    people = se.people[se.people.resident]
    mu = people.expected_cost.to_numpy()
    risk = budget_risk(mu, people.practice_code.to_numpy(), residuals=(people.cost - people.expected_cost).to_numpy(),
                       n_resamples=0, extra_cv=0.08)
    actual = people.groupby("practice_code").cost.sum()
    rel = (actual - risk.table.expected) / risk.table.expected
    assert rel.std() == pytest.approx(float(np.sqrt((risk.table.cv ** 2).mean())), rel=0.3)


def test_pool_needed_and_the_pooling_curve():
    risk = budget_risk(np.full(4_000, 500.0), np.repeat(["A", "B"], [1_000, 3_000]), variance=(3 * 500.0) ** 2,
                       n_resamples=0)
    assert risk.cv_person == pytest.approx(3.0)
    assert risk.pool_needed() == list_size_needed(risk.cv_person, 0.05, 0.05) == 9_740
    assert risk.pool_needed(extra_cv=0.02) == list_size_needed(risk.cv_person, 0.05, 0.05, 0.02)
    curve = risk.curve()
    # half the smallest group to twice the largest, then on to 1.5 × the pool needed, so that it lies on the curve
    assert curve["people"].iloc[0] == 500 and curve["people"].iloc[-1] == pytest.approx(1.5 * 9_740)
    assert len(curve) == 300 and curve["people"].is_monotonic_increasing
    np.testing.assert_allclose(curve["p_overspend"], stats.norm.sf(0.05 / np.sqrt(9.0 / curve["people"])))
    wide = risk.curve(10, 1e6, points=6, overspend=0.10)
    assert wide["people"].tolist() == pytest.approx([10, 100, 1_000, 10_000, 1e5, 1e6])
    np.testing.assert_allclose(wide["p_overspend"], overspend_probability(wide["people"], risk.cv_person, 0.10))
    # no pool is large enough: the curve stops at 10⁸ people
    assert risk.curve(extra_cv=0.04)["people"].iloc[-1] == pytest.approx(1e8)


def test_rescaled_risk_is_for_lists_of_the_given_sizes():
    # A: 100 people with cv 3; B: 100 people with no variance; C: not in sizes
    need = np.full(300, 500.0)
    groups = np.repeat(["A", "B", "C"], 100)
    variance = np.repeat([(3 * 500.0) ** 2, 0.0, (2 * 500.0) ** 2], 100)
    risk = budget_risk(need, groups, variance=variance, n_resamples=0, extra_cv=0.01)
    scaled = risk.rescaled(pd.Series({"A": 10_000, "B": 5_000, "Z": 7}))
    t = scaled.table
    assert t["people"].tolist() == [10_000.0, 5_000.0, 100.0]
    assert t.at["A", "p_overspend"] == pytest.approx(stats.norm.sf(0.05 / math.sqrt(9 / 10_000 + 0.01 ** 2)))
    assert t.at["B", "p_overspend"] == 0.0  # no variance, no risk
    assert t.at["C", "p_overspend"] == pytest.approx(stats.norm.sf(0.05 / math.sqrt(4 / 100 + 0.01 ** 2)))
    assert scaled.parameters["scaled_to"] == "given list sizes" and scaled.cv_person == risk.cv_person
    assert risk.rescaled(pd.Series({"A": 1}), label="published lists").parameters["scaled_to"] == "published lists"
    # the sample's own figures are untouched, in the result and in the rescaled copy
    assert risk.table["people"].tolist() == [100, 100, 100] and "scaled_to" not in risk.parameters
    pd.testing.assert_series_equal(t["sd"], risk.table["sd"])
    with pytest.raises(InputError, match="'sizes' parameter"):
        risk.rescaled({"A": 10})
