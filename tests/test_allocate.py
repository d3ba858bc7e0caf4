"""Aggregation and allocation: hand calculations and exactness properties."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from capitation import CostModel, FeatureSpec, Membership, Population, aggregate, allocate, encode, score
from capitation.allocation import split_pence, to_pence
from capitation.errors import InputError, UnknownCodeError
from helpers import make_membership, make_people

HAND = pd.DataFrame({
    "person_id": [1, 2, 3, 4, 5],
    "practice_code": ["B00001", "B00002", "B00002", "B00003", "B00003"],
    "sex": ["F", "M", "F", "M", "F"],
    "age": [10, 20, 30, 40, 50],
    "lsoa_code": ["E01000001"] * 5,
})
HAND_MEMBERS = pd.DataFrame({"practice_code": ["B00001", "B00002", "B00003"],
                             "consortium_code": ["Q1", "Q1", "Q2"]})


def test_consortium_is_the_sum_of_its_practices_by_hand():
    pop = Population.from_frame(HAND)
    agg = aggregate(pop, [100.0, 200.0, 300.0, 400.0, 500.0], membership=Membership.from_frame(HAND_MEMBERS))
    assert agg.practices["need"].to_dict() == {"B00001": 100.0, "B00002": 500.0, "B00003": 900.0}
    assert agg.consortia["need"].to_dict() == {"Q1": 600.0, "Q2": 900.0}
    assert agg.consortia["registered"].to_dict() == {"Q1": 3, "Q2": 2}
    # £1,000 in proportion 100 : 500 : 900 → 66.666…, 333.333…, 600 → pennies 6,667 / 33,333 / 60,000
    alloc = allocate(agg, 1_000, membership=Membership.from_frame(HAND_MEMBERS))
    assert alloc.practices["budget_pence"].tolist() == [6_667, 33_333, 60_000]
    assert alloc.consortia["budget_pence"].to_dict() == {"Q1": 40_000, "Q2": 60_000}


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 10**13), weights=st.lists(st.integers(0, 2**52), min_size=1, max_size=30))
def test_pennies_reconcile_and_equal_hamiltons_method(total, weights):
    if sum(weights) == 0:
        weights[0] = 1
    parts = split_pence(total, np.array(weights, dtype=np.int64))
    assert int(parts.sum()) == total
    assert parts.tolist() == naive.largest_remainder(total, weights)
    # each part is within a penny of its exact share
    W = sum(weights)
    assert all(abs(Fraction(p) - Fraction(total * w, W)) < 1 for p, w in zip(parts.tolist(), weights, strict=True))


@pytest.mark.parametrize(("amount", "pence"), [(1_000, 100_000), ("12.34", 1_234), (0.1, 10),
                                                ("£1,000,000.01", 100_000_001)])
def test_control_total_to_pence(amount, pence):
    assert to_pence(amount) == pence


@pytest.mark.parametrize(("amount", "pattern"), [(-1, "zero or more"), (float("nan"), "finite"),
                                                  ("12.345", "whole number of pence"), ("abc", "accepted form"),
                                                  (None, "amount in pounds")])
def test_bad_control_totals(amount, pattern):
    with pytest.raises(InputError, match=pattern):
        to_pence(amount)


def _pipeline(people: pd.DataFrame):
    pop = Population.from_frame(people)
    X = encode(FeatureSpec(diagnosis_grouping=None), pop)
    model = CostModel().fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    return pop, score(model, X)


def test_budgets_do_not_depend_on_person_order():
    people = make_people(3_000, seed=5)
    members = Membership.from_frame(make_membership(people["practice_code"].unique()))
    pop, need = _pipeline(people)
    base = allocate(aggregate(pop, need, membership=members), "123456789.01", membership=members)
    order = np.random.default_rng(1).permutation(len(people))
    pop2 = pop.take(order)
    again = allocate(aggregate(pop2, need[order], membership=members), "123456789.01", membership=members)
    pd.testing.assert_series_equal(base.practices["budget_pence"], again.practices["budget_pence"])
    assert int(base.practices["budget_pence"].sum()) == 12_345_678_901
    assert base.consortia["budget_pence"].sum() == 12_345_678_901


def test_moving_a_practice_moves_exactly_its_budget():
    people = make_people(2_000, seed=9)
    table = make_membership(people["practice_code"].unique())
    pop, need = _pipeline(people)
    agg = aggregate(pop, need)
    before = allocate(agg, 5_000_000, membership=Membership.from_frame(table))
    moved = table.copy()
    practice = moved.loc[moved.consortium_code == "Q00", "practice_code"].iloc[0]
    moved.loc[moved.practice_code == practice, "consortium_code"] = "Q01"
    after = allocate(agg, 5_000_000, membership=Membership.from_frame(moved))
    amount = int(before.practices.loc[practice, "budget_pence"])
    delta = after.consortia["budget_pence"] - before.consortia["budget_pence"]
    assert delta.to_dict() == {"Q00": -amount, "Q01": amount, "Q02": 0}


def test_unknown_practice_in_membership_is_an_error_unless_asked():
    pop = Population.from_frame(HAND)
    partial = Membership.from_frame(HAND_MEMBERS.iloc[:2])
    with pytest.raises(UnknownCodeError, match=r"1 practice\(s\) have no consortium.*B00003.*unassigned='line'"):
        aggregate(pop, np.ones(5), membership=partial)
    agg = aggregate(pop, np.ones(5), membership=partial, unassigned="line")
    assert agg.consortia.loc["UNASSIGNED", "registered"] == 2


def test_scaling_the_control_total_scales_every_share():
    pop, need = _pipeline(make_people(1_000, seed=2))
    agg = aggregate(pop, need)
    one = allocate(agg, 1_000_000)
    ten = allocate(agg, 10_000_000)
    np.testing.assert_array_equal(one.practices["share"], ten.practices["share"])
    assert np.abs(ten.practices["budget_pence"] - 10 * one.practices["budget_pence"]).max() <= 10


def test_negative_need_is_refused():
    with pytest.raises(InputError, match="negative need"):
        allocate(pd.Series([1.0, -1.0], index=["B00001", "B00002"]), 100,
                 registered=pd.Series([1, 1], index=["B00001", "B00002"]))


def test_the_budget_table_has_published_names_whole_amounts_without_pound_signs_and_a_total():
    from capitation._results import text_table
    from capitation.allocation import published_need

    icbs = Membership.nhs_england("2025/26")
    need = published_need("2025/26", "core")
    alloc = allocate(need, "55000000000", membership=icbs)
    table = alloc.budget_table()
    body, total = table.iloc[:-1], table.iloc[-1]
    assert body["name"].tolist() == [icbs.names()[c] for c in body["ICB"]]  # whole and as published
    assert not table[["budget £", "£'000", "£ per head"]].apply(lambda c: c.str.contains("£")).any().any()
    assert total["ICB"] == "Total" and total["name"] == "all 42 ICBs"
    pence = sum(to_pence(v.replace(",", "")) for v in body["budget £"])
    assert pence == to_pence(total["budget £"].replace(",", "")) == alloc.control_total_pence
    assert sum(int(v.replace(",", "")) for v in body["£'000"]) == int(total["£'000"].replace(",", "")) == 55_000_000
    text = text_table(table)
    assert all(len(line) <= len(text.splitlines()[0]) + 40 for line in text.splitlines())
    assert text.splitlines()[-1].startswith("Total")


def test_an_allocation_of_published_need_names_the_file_it_came_from():
    from capitation.allocation.external import published_need

    need = published_need("2025/26", "core")
    alloc = allocate(need.loc[["A81001", "A81002"]], 1_000_000)
    source = alloc.parameters["need_source"]
    assert source["name"] == "nhse_practice_weighted_populations_2025_26.csv" and source["component"] == "core"
    assert f"need from {source['name']} (sha256 {source['sha256'][:12]}…)" in alloc.summary()
    plain = allocate(pd.Series([1.0, 2.0], index=["A81001", "A81002"]), 100,
                     registered=pd.Series(1, index=["A81001", "A81002"]))
    assert plain.parameters["need_source"] is None and "need from" not in plain.summary()
