"""Adjustments, distance from target, £'000 tables, explanation and the geography comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation import CostModel, FeatureSpec, Membership, Population, aggregate, encode, score
from capitation.allocation import (
    HealthInequalities,
    ListInflation,
    UnavoidableCost,
    allocate,
    compare_geography,
    explain_budgets,
    thousands,
)
from capitation.errors import InputError, UnknownCodeError
from helpers import make_membership, make_people

CODES = ["A1", "A2", "A3"]
NEED = pd.Series([100.0, 200.0, 300.0], index=CODES)
PEOPLE = pd.Series([10.0, 10.0, 20.0], index=CODES)


def test_unavoidable_cost_by_hand():
    # WP = 40 × need share = 6.667, 13.333, 20; × MFF 1, 1, 1.1 → 6.667, 13.333, 22 → renormalised to 40
    mff = UnavoidableCost(pd.Series([1.0, 1.0, 1.1], index=CODES))
    alloc = allocate(NEED, 1_000, registered=PEOPLE, adjustments=[mff])
    raw = np.array([100, 200, 330.0])
    np.testing.assert_allclose(alloc.practices.weighted_population, 40 * raw / raw.sum())
    assert alloc.practices.budget_pence.tolist() == [15_873, 31_746, 52_381]   # 100,000 × 100/630 …
    assert alloc.parameters["adjustments"][0]["formula"].startswith("WP_final = WP * MFF")
    by_icb = UnavoidableCost(pd.Series({"X": 1.0, "Y": 1.1}), level="consortium")
    members = Membership.from_frame(pd.DataFrame({"practice_code": CODES, "consortium_code": ["X", "X", "Y"]}))
    same = allocate(NEED, 1_000, registered=PEOPLE, adjustments=[by_icb], membership=members)
    assert same.practices.budget_pence.tolist() == alloc.practices.budget_pence.tolist()
    with pytest.raises(UnknownCodeError, match=r"no index for consortium\(s\) \['Y'\]"):
        allocate(NEED, 1_000, registered=PEOPLE, membership=members,
                 adjustments=[UnavoidableCost(pd.Series({"X": 1.0}), level="consortium")])


def test_health_inequalities_blend_by_hand():
    hi = pd.Series([3.0, 1.0, 0.0], index=CODES)  # normalised to 40 people: 30, 10, 0
    alloc = allocate(NEED, 1_000, registered=PEOPLE, adjustments=[HealthInequalities(0.25, hi)])
    wp = 0.75 * 40 * np.array([1, 2, 3]) / 6 + 0.25 * np.array([30.0, 10.0, 0.0])
    np.testing.assert_allclose(alloc.practices.weighted_population, wp)
    np.testing.assert_allclose(alloc.steps["model"], 40 * np.array([1, 2, 3]) / 6)
    with pytest.raises(ValueError, match=r"'h' parameter of HealthInequalities must be a number in \[0, 1\]"):
        HealthInequalities(1.5, hi)


def test_list_inflation_by_hand():
    cells = pd.DataFrame({"practice_code": ["A1", "A1", "A2", "A3"], "area": ["E1", "E2", "E1", "E2"],
                          "age_band": ["all"] * 4, "registered": [5.0, 5.0, 10.0, 20.0]})
    residents = pd.DataFrame({"area": ["E1", "E2"], "age_band": ["all", "all"], "residents": [12.0, 25.0]})
    spec = ListInflation(cells, residents)
    # f(E1) = 12/15 = 0.8, f(E2) = 25/25 = 1
    assert spec.factors.tolist() == [0.8, 1.0]
    alloc = allocate(NEED, 1_000, registered=PEOPLE, adjustments=[spec])
    assert alloc.practices.registered.tolist() == [9.0, 8.0, 20.0]
    assert alloc.practices.registered_list.tolist() == [10.0, 10.0, 20.0]
    # need scales with the people: 100 × 0.9, 200 × 0.8, 300 × 1
    np.testing.assert_allclose(alloc.practices.need, [90.0, 160.0, 300.0])
    assert alloc.practices.budget_pence.tolist() == [16_364, 29_091, 54_545]   # 100,000 × 90/550 …
    with pytest.raises(UnknownCodeError, match=r"no total for 1 \(area, age_band\)"):
        ListInflation(cells, residents.iloc[:1])


def test_adjustments_compose_in_a_fixed_order_and_reconcile():
    hi = HealthInequalities(0.1, pd.Series([1.0, 2.0, 1.0], index=CODES))
    mff = UnavoidableCost(pd.Series([1.02, 0.98, 1.0], index=CODES))
    a = allocate(NEED, "999.99", registered=PEOPLE, adjustments=[hi, mff])
    b = allocate(NEED, "999.99", registered=PEOPLE, adjustments=[mff, hi])
    assert a.practices.budget_pence.tolist() == b.practices.budget_pence.tolist()
    assert int(a.practices.budget_pence.sum()) == 99_999
    assert list(a.steps.columns) == ["model", "health_inequalities", "unavoidable_cost"]
    with pytest.raises(InputError, match="lists HealthInequalities twice"):
        allocate(NEED, 1, registered=PEOPLE, adjustments=[hi, hi])


@settings(max_examples=80, deadline=None)
@given(total=st.integers(0, 10**12), h=st.floats(0, 1), data=st.data())
def test_pennies_reconcile_for_any_control_total_with_adjustments(total, h, data):
    n = data.draw(st.integers(1, 15))
    codes = [f"B{i:05d}" for i in range(n)]
    need = pd.Series(data.draw(st.lists(st.floats(0.01, 1e6), min_size=n, max_size=n)), index=codes)
    people = pd.Series(data.draw(st.lists(st.integers(1, 50_000), min_size=n, max_size=n)), index=codes)
    hi = pd.Series(data.draw(st.lists(st.floats(0.01, 1e5), min_size=n, max_size=n)), index=codes)
    mff = pd.Series(data.draw(st.lists(st.floats(0.8, 1.3), min_size=n, max_size=n)), index=codes)
    alloc = allocate(need, total / 100, registered=people,
                     adjustments=[HealthInequalities(h, hi), UnavoidableCost(mff)])
    assert int(alloc.practices.budget_pence.sum()) == total
    assert alloc.practices.weighted_population.sum() == pytest.approx(people.sum(), rel=1e-9)


def test_distance_from_target_against_a_baseline():
    members = Membership.from_frame(pd.DataFrame({"practice_code": CODES, "consortium_code": ["X", "X", "Y"]}))
    alloc = allocate(NEED, 600, registered=PEOPLE, membership=members,
                     baseline=pd.Series({"X": 330.0, "Y": 270.005}))
    c = alloc.consortia
    assert c.budget_pence.tolist() == [30_000, 30_000]
    assert c.baseline_pence.tolist() == [33_000, 27_001]                  # half a penny rounds up
    assert c.distance_from_target.tolist() == [30.0, -29.99]
    assert c.distance_from_target_pct.tolist() == pytest.approx([10.0, -9.996666666])
    by_practice = allocate(NEED, 600, registered=PEOPLE, membership=members,
                           baseline=pd.Series([110.0, 190.0, 330.0], index=CODES))
    assert by_practice.consortia.baseline_pence.tolist() == [30_000, 33_000]
    assert by_practice.practices.distance_from_target_pct.tolist() == pytest.approx([10.0, -5.0, 10.0])
    assert "DFT %" in by_practice.summary()
    table = by_practice.to_frame("consortium", units="£000")
    # £630 of baseline is 1 £'000 (half up), given by largest remainder to the larger line (33,000 of 63,000 p)
    assert table.baseline_000.tolist() == [0, 1]
    assert table.distance_from_target_000.tolist() == (table.baseline_000 - table.budget_000).tolist()
    with pytest.raises(UnknownCodeError, match="neither all practices nor all consortia"):
        allocate(NEED, 600, registered=PEOPLE, membership=members, baseline=pd.Series({"Z": 1.0}))


def test_thousands_round_half_up_as_published():
    assert thousands([49_999, 50_000, 149_999, 150_000, -150_000, 0]).tolist() == [0, 1, 1, 2, -2, 0]
    with pytest.raises(InputError, match="whole pence"):
        thousands([1.5])


@pytest.fixture(scope="module")
def fitted():
    people = make_people(4_000, n_practices=12, seed=21)
    pop = Population.from_frame(people)
    X = encode(FeatureSpec(diagnosis_grouping=None), pop)
    model = CostModel().fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    members = Membership.from_frame(make_membership(people.practice_code.unique(), n_groups=3))
    need = score(model, X)
    return pop, X, model, members, need


def test_explanation_adds_up_and_equals_a_dense_twin(fitted):
    pop, X, model, members, need = fitted
    alloc = allocate(aggregate(pop, need, membership=members), 7_654_321, membership=members)
    parts = explain_budgets(alloc, model, X, pop.practice_code)
    t = parts.table
    blocks = ["age_sex", "morbidity", "primary_care", "need", "supply_neutralised", "other"]
    np.testing.assert_allclose(t.national_per_head + t[blocks].sum(axis=1), t.budget_per_head, rtol=1e-12)
    assert t.other.abs().max() < 0.01                                   # only pennies of rounding
    # dense twin: consortium mean need per head minus national, scaled to £ of budget
    dense = X.toarray()
    coef = model.result_.params.to_numpy()
    consortium = pd.Series(members.consortium_of(pop.practice_code))
    per_head = pd.Series(dense @ coef).groupby(consortium).mean()
    national = (dense @ coef).mean()
    expected = 7_654_321 / len(pop.practice_code) * (per_head - national) / national
    np.testing.assert_allclose(t.age_sex, expected.reindex(t.index), rtol=1e-9)
    w = parts.waterfall()
    last = w[w.step == "other"].set_index("consortium_code").end
    np.testing.assert_allclose(last.reindex(t.index), t.budget_per_head, rtol=1e-12)


def test_geography_comparison_reconciles_both_ways(fitted):
    pop, _, _, members, need = fitted
    lsoas = sorted(set(pop.lsoa_code))
    home = pd.Series([members.consortia[i % 3] for i in range(len(lsoas))], index=lsoas)
    out = compare_geography(pop, need, "1000000.00", membership=members, area_of_lsoa=home)
    t = out.table
    assert int(t.budget_list_pence.sum()) == int(t.budget_residence_pence.sum()) == 100_000_000
    assert int(t.difference_pence.sum()) == 0
    assert t.registered.sum() == t.residents.sum() == pop.n_people
    # by list it is exactly allocate on the aggregation
    alloc = allocate(aggregate(pop, need, membership=members), "1000000.00", membership=members)
    assert t.budget_list_pence.to_dict() == alloc.consortia.budget_pence.to_dict()
    # by residence, by hand: need of the people living in each area
    by_home = pd.Series(need).groupby(home.reindex(pop.lsoa_code).to_numpy()).sum()
    np.testing.assert_allclose(t.need_residence, by_home.reindex(t.index), rtol=1e-9)
    with pytest.raises(UnknownCodeError, match="live in LSOAs with no area"):
        compare_geography(pop, need, 1, membership=members, area_of_lsoa=home.iloc[1:])
    partial = compare_geography(pop, need, 1, membership=members, area_of_lsoa=home.iloc[1:], unmapped="line")
    assert partial.parameters["unmapped"] == int((pop.lsoa_code == lsoas[0]).sum()) > 0
    assert "would move between consortia" in out.summary()
