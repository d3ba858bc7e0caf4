"""Pace of change: floors, caps, minimum growth and exact totals, by hand and under hypothesis."""

from __future__ import annotations

import math
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.allocation import PaceOfChange, allocate, pace_of_change, project_pace
from capitation.errors import InputError


def test_hand_example_minimum_then_floor_then_convergence():
    # targets 1:1:2 of £440 → £110, £110, £220; baselines £100, £120, £190; min growth 1%, floor −5%, no cap
    base = pd.Series([100.0, 120.0, 190.0], index=["A", "B", "C"])
    result = pace_of_change(base, pd.Series([1.0, 1.0, 2.0], index=base.index), 440,
                            PaceOfChange(min_growth=0.01, floor=-0.05))
    t = result.table
    assert t.target_pence.tolist() == [11_000, 11_000, 22_000]
    assert t.minimum_pence.tolist() == [10_100, 12_120, 19_190]   # ⌈B × 1.01⌉
    assert t.floor_pence.tolist() == [10_450, 10_450, 20_900]     # ⌈T × 0.95⌉
    # after minimum and floor: 10,450 + 12,120 + 20,900 = 43,470; 530p left for gaps 550 (A) and 1,100 (C)
    # every body under target closes 530 / 1,650 of its gap: A 176.67 → 177, C 353.33 → 353
    assert t.allocation_pence.tolist() == [10_627, 12_120, 21_253]
    assert t.stage.tolist() == ["convergence", "minimum", "convergence"]
    assert result.status["convergence"] == pytest.approx(530 / 1650)


def test_rates_are_taken_as_written_not_as_binary_floats():
    # 0.01 as a binary float is a hair above 1/100; ⌈10,000 × 1.01⌉ must still be 10,100
    result = pace_of_change(pd.Series([100.0, 100.0], index=["X", "Y"]), pd.Series([1.0, 3.0], index=["X", "Y"]),
                            210, PaceOfChange(min_growth=0.01, floor=None))
    assert result.table.allocation_pence.tolist() == [10_100, 10_900]


def test_phased_cap_lowers_the_minimum_of_bodies_far_above_target():
    rule = PaceOfChange(min_growth=0.02, floor=None, cap_phase=(0.05, 0.10), above_target_growth=0.0)
    assert rule.minimum_growth(Fraction(0)) == Fraction(1, 50)
    assert rule.minimum_growth(Fraction(75, 1000)) == Fraction(1, 100)   # half-way: half the minimum
    assert rule.minimum_growth(Fraction(1, 5)) == 0
    base = pd.Series([105.0, 107.5, 120.0, 67.5], index=list("ABCD"))
    result = pace_of_change(base, pd.Series([1.0] * 4, index=base.index), 406, rule)
    t = result.table
    assert t.target_pence.tolist() == [10_150] * 4
    assert t.allocation_pence.iloc[2] == 12_000                          # ≥ 10% above: flat cash
    assert t.min_growth.iloc[1] == pytest.approx(0.02 * (1 - (10_750 / 10_150 - 1 - 0.05) / 0.05))


def test_unaffordable_minimum_and_partly_funded_floor_are_recorded():
    base = pd.Series([100.0, 100.0], index=["A", "B"])
    poor = pace_of_change(base, pd.Series([1.0, 1.0], index=base.index), 150, PaceOfChange(min_growth=0.0))
    assert poor.status["minimum_affordable"] is False and int(poor.table.allocation_pence.sum()) == 15_000
    floor = pace_of_change(pd.Series([50.0, 150.0], index=["A", "B"]), pd.Series([1.0, 1.0], index=["A", "B"]),
                           204, PaceOfChange(min_growth=0.0, floor=-0.05))
    # floor of A is 96.90; only £4 of the £46.90 gap can be paid
    assert floor.status["floor_funded"] == pytest.approx(400 / 4_690)
    assert floor.table.allocation_pence.tolist() == [5_400, 15_000]


def test_projection_converges_and_each_year_reconciles():
    base = pd.Series([80.0, 100.0, 120.0], index=["A", "B", "C"])
    rule = PaceOfChange(min_growth=0.01, floor=-0.05, cap=0.08)
    proj = project_pace(base, pd.Series([1.0, 1.0, 1.0], index=base.index), [310, 320, 330, 340, 350], rule)
    for year in proj.years:
        assert int(year.table.allocation_pence.sum()) == year.control_total_pence
    distance = proj.to_frame("distance_after")
    assert distance.abs().max().is_monotonic_decreasing
    assert distance.loc["A"].iloc[-1] > -0.05
    assert "year 5" in proj.summary()


def test_targets_from_an_allocation_and_bad_rules():
    need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
    target = allocate(need, 300, registered=pd.Series([1, 1], index=need.index))
    result = pace_of_change(pd.Series([150.0, 150.0], index=need.index), target, 300, PaceOfChange(0.0, None))
    assert result.table.target_pence.tolist() == [10_000, 20_000]
    with pytest.raises(ValueError, match=r"'floor' parameter of PaceOfChange must be a rate in \[-1, 0\]"):
        PaceOfChange(floor=0.05)
    with pytest.raises(ValueError, match="'cap_phase' parameter"):
        PaceOfChange(cap_phase=(0.10, 0.05))
    with pytest.raises(ValueError, match=r"'cap' .* is below 'min_growth'"):
        PaceOfChange(min_growth=0.02, cap=0.01)
    with pytest.raises(InputError, match=r"Only in baseline: \['C'\]"):
        pace_of_change(pd.Series([1.0, 1.0, 1.0], index=list("ABC")), pd.Series([1.0, 1.0], index=list("AB")), 3)


rates = st.sampled_from([0.0, 0.005, 0.017, 0.021, 0.036, 0.044])


@settings(max_examples=250, deadline=None)
@given(baselines=st.lists(st.integers(0, 10**9), min_size=1, max_size=12), data=st.data(),
       growth=st.floats(-0.05, 0.15), min_growth=rates,
       floor=st.one_of(st.none(), st.sampled_from([-0.10, -0.05, -0.025, 0.0])),
       cap=st.one_of(st.none(), st.sampled_from([0.05, 0.10, 0.15])),
       phase=st.one_of(st.none(), st.just((0.05, 0.10))))
def test_pace_rules_hold_for_any_baselines_and_targets(baselines, data, growth, min_growth, floor, cap, phase):
    n = len(baselines)
    weights = data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    if sum(weights) == 0:
        weights[0] = 1
    codes = [f"Q{k:02d}" for k in range(n)]
    total = max(0, int(sum(baselines) * (1 + growth)))
    rule = PaceOfChange(min_growth=min_growth, floor=floor, cap=cap, cap_phase=phase)
    result = pace_of_change(pd.Series(baselines, index=codes) / 100, pd.Series(weights, index=codes, dtype=float),
                            total / 100, rule)
    t = result.table
    a = t.allocation_pence.tolist()
    m, f, tg = t.minimum_pence.tolist(), t.floor_pence.tolist(), t.target_pence.tolist()
    assert sum(a) == total and sum(tg) == total                     # exact to the penny
    assert all(v >= 0 for v in a)
    s = result.status
    if not s["minimum_affordable"]:
        assert sum(m) > total
        return
    # minimum growth (exactly as written, rounded up to the penny) for everyone
    for b, g, ai in zip(baselines, t.min_growth, a, strict=True):
        assert ai >= math.ceil(Fraction(b) * (1 + Fraction(repr(g))) - Fraction(1, 10**6))
    floors_met = all(ai >= fi for ai, fi in zip(a, f, strict=True))
    if s["floor_funded"] == 1.0:
        assert floors_met                                           # nobody below the floor
    else:
        assert sum(max(fi, mi) for fi, mi in zip(f, m, strict=True)) > total
    for ai, mi, fi, ti in zip(a, m, f, tg, strict=True):
        assert ai <= max(mi, fi, ti)                               # convergence never overshoots a target
        if mi >= ti:
            assert ai == max(mi, fi) or s["floor_funded"] < 1      # above target: exactly the minimum
    if cap is not None and s["cap_relaxed_pence"] == 0:
        for b, ai, mi, fi in zip(baselines, a, m, f, strict=True):
            assert ai <= max(mi, fi, math.floor(Fraction(b) * (1 + Fraction(repr(cap)))))
    # convergence closes the same fraction of every (capped) gap: the exact oracle, within a penny
    if s["floor_funded"] == 1.0 and s["cap_relaxed_pence"] == 0 and cap is None:
        start = [max(mi, fi) for mi, fi in zip(m, f, strict=True)]
        gaps = [max(0, ti - si) for ti, si in zip(tg, start, strict=True)]
        left = total - sum(start)
        if sum(gaps):
            lam = Fraction(left, sum(gaps))
            for ai, si, gi in zip(a, start, gaps, strict=True):
                assert abs(Fraction(ai) - (si + lam * gi)) < 1
