"""The one practice → consortium roll-up, against a plain-Python twin."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.aggregation.aggregate import roll_up

practices = st.lists(st.tuples(st.sampled_from(["Q1", "Q2", "Q3", "QZ"]), st.integers(-10**15, 10**15),
                               st.floats(-1e9, 1e9, allow_nan=False), st.integers(0, 2**200)), min_size=1, max_size=80)


@settings(max_examples=80, deadline=None)
@given(practices)
def test_roll_up_sums_each_column_exactly_as_plain_python_does(rows):
    parent = [r[0] for r in rows]
    table = roll_up({"pence": np.array([r[1] for r in rows], dtype=np.int64),
                     "people": np.array([r[2] for r in rows]), "weights": [r[3] for r in rows]}, parent)
    assert table.index.tolist() == sorted(set(parent))
    for code, row in table.iterrows():
        mine = [r for r in rows if r[0] == code]
        assert row["practices"] == len(mine)
        assert row["pence"] == sum(r[1] for r in mine)
        assert row["people"] == math.fsum(r[2] for r in mine)  # correctly rounded: order cannot matter
        assert row["weights"] == sum(r[3] for r in mine)


def test_roll_up_does_not_depend_on_the_order_of_practices():
    rng = np.random.default_rng(0)
    parent = rng.choice(["Q1", "Q2"], 1_000)
    people = rng.random(1_000) * 1e6
    order = rng.permutation(1_000)
    a = roll_up({"people": people}, parent)
    b = roll_up({"people": people[order]}, parent[order])
    assert a.equals(b)


# --- Registered lists funded, apart from the people observed (a sample funds its whole lists) -----------------

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from capitation import Membership, Population, aggregate, allocate  # noqa: E402
from capitation.aggregation.aggregate import EMPTY_LIST_REASON, OFF_LIST_REASON, UNCOVERED_REASON  # noqa: E402
from capitation.errors import InputError  # noqa: E402


def _sample(codes, seed=0):
    """People on the lists ``codes`` (any number each), with a need per person."""
    rng = np.random.default_rng(seed)
    n = 8 * len(codes)
    frame = pd.DataFrame({"person_id": np.arange(n), "practice_code": rng.choice(codes, n),
                          "sex": rng.choice(["F", "M"], n), "age": rng.integers(0, 95, n),
                          "lsoa_code": "E01011959"})
    return Population.from_frame(frame), rng.gamma(0.7, 900.0, n)


def _naive_on_lists(people, need, lists):
    """The documented rule by hand: observed need per head × list size; the national per head where no one."""
    frame = pd.DataFrame({"practice": people.practice_code, "need": need})
    per_head = frame.groupby("practice")["need"].mean()
    national = need.sum() / len(need)
    return {code: size * per_head.get(code, national) for code, size in lists.items() if size > 0}


def test_need_per_head_of_the_sample_times_the_list_size_funds_each_list():
    people, need = _sample(["A81001", "A81002", "A81004"])
    lists = {"A81001": 3928.02, "A81002": 18818.34, "A81004": 0.0, "A81005": 7944.2}
    agg = aggregate(people, need, list_sizes=lists)
    expected = _naive_on_lists(people, need, lists)
    assert agg.on_lists and agg.list_source == "list sizes given"
    assert sorted(agg.practices.index) == sorted(expected)  # A81004's list is empty: not funded
    for code, value in expected.items():
        # person amounts are summed on the 2⁻²⁰ £ grid, so per head agrees to ~1e-6 £ a person
        assert agg.practices.loc[code, "need"] == pytest.approx(value, rel=1e-8)
    assert agg.practices.loc["A81005", "observed"] == 0  # funded at the national need per head
    assert agg.practices["registered"].sum() == pytest.approx(3928.02 + 18818.34 + 7944.2)
    assert agg.practices["observed"].sum() + agg.not_funded["observed"].sum() == people.n_people
    assert agg.not_funded.loc["A81004", "reason"] == EMPTY_LIST_REASON
    assert "1 practice(s) on the lists had no one observed" in agg.summary()


def test_people_off_the_lists_inform_nothing_funded_and_are_counted_once():
    people, need = _sample(["A81001", "A81002"])
    agg = aggregate(people, need, list_sizes={"A81001": 1000})
    off = agg.not_funded.loc["A81002"]
    assert off["reason"] == OFF_LIST_REASON
    assert off["observed"] == (people.practice_code == "A81002").sum()
    assert off["need_observed"] == pytest.approx(need[people.practice_code == "A81002"].sum())
    assert list(agg.practices.index) == ["A81001"]


def test_nhs_englands_membership_funds_its_published_lists_of_the_icbs_the_data_cover():
    icbs = Membership.nhs_england("2025/26")
    qhm = icbs.table.loc[icbs.table["consortium_code"] == "QHM", "practice_code"].tolist()
    people, need = _sample(qhm[:5])
    agg = aggregate(people, need, membership=icbs)
    published = icbs.list_sizes
    assert agg.list_source == "NHS England's 2025/26 practice file"
    funded = agg.practices.index
    assert set(funded) == {c for c in qhm if published[c] > 0}  # every QHM list, and only QHM's
    assert agg.practices["registered"].to_numpy() == pytest.approx(published[funded].to_numpy(), rel=0)
    assert set(agg.not_funded["reason"]) <= {UNCOVERED_REASON, EMPTY_LIST_REASON}
    assert len(funded) + len(agg.not_funded) == len(icbs.table)  # each practice once: funded or why not
    assert list(agg.consortia.index) == ["QHM"]
    assert agg.consortia.loc["QHM", "need"] == pytest.approx(agg.practices["need"].sum(), rel=1e-14)
    # £ per head now means per registered person: about the national average, not £ per person sampled
    alloc = allocate(agg, "5500000000", membership=icbs)
    assert 100 < alloc.consortia.loc["QHM", "budget_per_head"] < 5_000
    assert alloc.reconciles and int(alloc.practices["budget_pence"].sum()) == 550_000_000_000
    names = alloc.to_frame()["practice_name"]  # the practice names the published file has, on every line
    assert names.to_dict() == icbs.practice_names.reindex(names.index).to_dict() and names.notna().all()


def test_observed_keeps_the_exact_sums_over_the_people_in_the_data():
    icbs = Membership.nhs_england("2025/26")
    people, need = _sample(["A81001", "A81002"])
    agg = aggregate(people, need, membership=icbs, list_sizes="observed", unassigned="line")
    assert not agg.on_lists and agg.need_fixed is not None
    assert (agg.practices["registered"] == agg.practices["observed"]).all()
    assert agg.practices["registered"].sum() == people.n_people


@pytest.mark.parametrize("lists, words", [
    ("published", "'observed'"),
    ({"A81001": -1.0}, "must not be negative"),
    ({"A81001": float("nan")}, "list_size"),
    (pd.DataFrame({"practice_code": ["A81001", "A81001"], "list_size": [1, 2]}), "repeat practices ['A81001']"),
    ([1, 2], "Series or dict"),
])
def test_bad_list_sizes_are_refused_naming_the_parameter(lists, words):
    people, need = _sample(["A81001"])
    with pytest.raises(InputError, match="list_sizes") as caught:
        aggregate(people, need, list_sizes=lists)
    assert words in str(caught.value)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_lists_funded_do_not_depend_on_the_order_of_people(seed):
    people, need = _sample(["A81001", "A81002", "A81004"], seed=seed % 97)
    order = np.random.default_rng(seed).permutation(people.n_people)
    shuffled = Population.from_frame(people.to_frame().iloc[order].reset_index(drop=True))
    lists = {"A81001": 3928.02, "A81002": 18818.34, "A81004": 11355.6, "A81005": 7944.2}
    a = aggregate(people, need, list_sizes=lists).practices
    b = aggregate(shuffled, need[order], list_sizes=lists).practices
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_exact_sums_refuse_amounts_that_are_not_finite_naming_the_row(bad):
    from capitation.aggregation.aggregate import exact_group_sum

    values = np.arange(200_000, dtype=np.float64)
    values[123_457] = bad
    with pytest.raises(InputError, match=r"'need' amounts must be finite.*person row 123457 \(1 in all\)"):
        exact_group_sum(values, np.zeros(len(values), dtype=np.int32), 1, "need")


def test_exact_sums_refuse_totals_beyond_fixed_point_naming_the_largest():
    from capitation.aggregation.aggregate import _LIMIT, exact_group_sum

    values = np.full(10, _LIMIT / 9)
    values[4] *= 1.5
    with pytest.raises(InputError, match=r"beyond exact fixed-point.*person row 4.*thousands of pounds"):
        exact_group_sum(values, np.zeros(10, dtype=np.int32), 1, "need")
    small = exact_group_sum(values / 10, np.zeros(10, dtype=np.int32), 1, "need")  # below the limit: summed
    assert small[0] > 0
