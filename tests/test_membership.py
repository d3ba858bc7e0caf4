"""Effective-dated membership, and consortium budgets as exact sums of their practices'."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from capitation.aggregation.membership import Membership, MembershipHistory
from capitation.allocation import allocate, published_need
from capitation.datasets import load_practices
from capitation.errors import InputError, UnknownCodeError


@pytest.mark.parametrize("year", ["2023/24", "2024/25", "2025/26"])
def test_each_years_membership_comes_from_that_years_file(year):
    frame = load_practices(year)
    members = Membership.nhs_england(year)
    assert members.level == "ICB" and len(members.consortia) == 42
    assert members.valid_from == pd.Timestamp(int(year[:4]), 4, 1)
    assert members.valid_to == pd.Timestamp(int(year[:4]) + 1, 4, 1)
    expected = frame.set_index("practice_code")["icb_code"]
    got = pd.Series(members.consortium_of(expected.index), index=expected.index)
    pd.testing.assert_series_equal(got, expected, check_names=False, check_dtype=False)


def test_history_picks_the_membership_in_force():
    history = MembershipHistory.nhs_england()
    assert history.as_of("2024-03-31").valid_from == pd.Timestamp(2023, 4, 1)
    assert history.as_of("2024-04-01").valid_from == pd.Timestamp(2024, 4, 1)
    assert history.as_of("2025/26").valid_to == pd.Timestamp(2026, 4, 1)
    with pytest.raises(InputError, match=r"No membership is in force on 2026-04-01.*2023-04-01"):
        history.as_of("2026/27")
    # practices that closed between 2023/24 and 2025/26 are reported as having left, none silently
    changes = history.changes("2023/24", "2025/26")
    left = set(load_practices("2023/24").practice_code) - set(load_practices("2025/26").practice_code)
    assert set(changes.index[changes.change == "left"]) == left


def test_dated_rows_become_snapshots_and_overlaps_are_refused():
    rows = pd.DataFrame({"practice_code": ["A1", "A1", "A2", "A3"], "consortium_code": ["X", "Y", "X", "Y"],
                         "valid_from": ["2023-04-01", "2024-10-01", "2023-04-01", "2024-04-01"],
                         "valid_to": ["2024-10-01", None, None, None]})
    history = MembershipHistory.from_frame(rows, level="place")
    assert [m.valid_from.strftime("%Y-%m-%d") for m in history.memberships] == \
        ["2023-04-01", "2024-04-01", "2024-10-01"]
    assert history.as_of("2024-05-01").consortium_of(["A1", "A2", "A3"]).tolist() == ["X", "X", "Y"]
    assert history.as_of("2025-01-01").consortium_of(["A1", "A2", "A3"]).tolist() == ["Y", "X", "Y"]
    assert history.changes("2024-05-01", "2025-01-01").to_dict("index") == \
        {"A1": {"before": "X", "after": "Y", "change": "moved"}}
    overlapping = rows.assign(valid_to=[None, None, None, None])
    with pytest.raises(InputError, match=r"On 2024-10-01: .*A1 in \['X', 'Y'\]"):
        MembershipHistory.from_frame(overlapping)
    a = Membership.from_frame(rows.iloc[:1], year="2023/24")
    b = Membership.from_frame(rows.iloc[1:2], valid_from="2024-01-01")
    with pytest.raises(InputError, match="Memberships overlap"):
        MembershipHistory([a, b])


def test_bad_periods_and_reserved_codes_are_refused():
    frame = pd.DataFrame({"practice_code": ["A1"], "consortium_code": ["X"]})
    with pytest.raises(InputError, match=r"'valid_to' date .* must be after"):
        Membership.from_frame(frame, valid_from="2024-04-01", valid_to="2024-04-01")
    with pytest.raises(InputError, match="either 'year' or 'valid_from'"):
        Membership.from_frame(frame, year="2024/25", valid_from="2024-04-01")
    with pytest.raises(InputError, match="reserved consortium code 'UNASSIGNED'"):
        Membership.from_frame(frame.assign(consortium_code="UNASSIGNED"))
    with pytest.raises(ValueError, match=r"'level' parameter of Membership\.nhs_england"):
        Membership.nhs_england("2025/26", level="PCN")


def test_a_practice_without_a_group_is_an_error_unless_asked_for_a_line():
    need = published_need("2025/26").iloc[:30]
    members = Membership.from_frame(pd.DataFrame({"practice_code": need.index[:29], "consortium_code": "P1"}))
    with pytest.raises(UnknownCodeError, match=rf"1 practice\(s\) have no consortium.*{need.index[29]}"):
        allocate(need, 1_000, membership=members)
    alloc = allocate(need, 1_000, membership=members, unassigned="line")
    assert alloc.consortia.loc["UNASSIGNED", "budget_pence"] == alloc.practices["budget_pence"].iloc[29]


def test_moving_a_real_practice_between_icbs_moves_exactly_its_budget():
    need = published_need("2025/26", "core")
    before = Membership.nhs_england("2025/26")
    practice = before.members("QHM")[0]
    after = before.move(practice, "QOQ")
    a = allocate(need, "145000000000.00", membership=before)
    b = allocate(need, "145000000000.00", membership=after)
    amount = int(a.practices.loc[practice, "budget_pence"])
    delta = (b.consortia["budget_pence"] - a.consortia["budget_pence"])
    assert delta[delta != 0].to_dict() == {"QHM": -amount, "QOQ": amount}
    assert int(b.consortia["budget_pence"].sum()) == 14_500_000_000_000
    assert after.changes(before).empty is False and before.changes(after).loc[practice, "change"] == "moved"


@settings(max_examples=60, deadline=None)
@given(data=st.data(), total=st.integers(0, 10**12), n=st.integers(1, 25), k=st.integers(1, 5))
def test_consortium_is_the_sum_of_its_practices_and_moves_are_exact(data, total, n, k):
    codes = [f"B{i:05d}" for i in range(n)]
    need = pd.Series(data.draw(st.lists(st.floats(0, 1e7), min_size=n, max_size=n)), index=codes)
    if (np.rint(need * 2**20) == 0).all():  # need below the fixed-point grain everywhere: nothing to share
        need.iloc[0] = 1.0
    groups = data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    table = pd.DataFrame({"practice_code": codes, "consortium_code": [f"G{g}" for g in groups]})
    members = Membership.from_frame(table)
    alloc = allocate(need, total / 100, registered=pd.Series(1.0, index=codes), membership=members)
    assert int(alloc.practices["budget_pence"].sum()) == total
    by_hand = alloc.practices.groupby("consortium_code")["budget_pence"].sum()
    pd.testing.assert_series_equal(alloc.consortia["budget_pence"], by_hand, check_names=False)
    # shares of the need exactly as given (each float a binary fraction), not of a rounded grain
    weights = [Fraction(float(v)) for v in need.sort_index()]
    assert alloc.practices["budget_pence"].tolist() == naive.largest_remainder(total, weights)
    mover = codes[data.draw(st.integers(0, n - 1))]
    moved = allocate(need, total / 100, registered=pd.Series(1.0, index=codes),
                     membership=members.move(mover, "GNEW"))
    amount = int(alloc.practices.loc[mover, "budget_pence"])
    delta = moved.consortia["budget_pence"].sub(alloc.consortia["budget_pence"], fill_value=0)
    assert int(delta.get("GNEW", 0)) == amount
    assert int(delta.abs().sum()) == 2 * amount


def test_financial_years_are_ascii_digits():
    from capitation.aggregation.membership import as_date
    from capitation.errors import InputError

    assert as_date("2024/25") == pd.Timestamp("2024-04-01")
    with pytest.raises(InputError, match="'２０２４/25'"):
        as_date("２０２４/25")


def test_nhs_englands_membership_carries_the_published_list_sizes_and_practice_names():
    from capitation.datasets import load_practices

    m = Membership.nhs_england("2025/26")
    published = load_practices("2025/26").set_index("practice_code")
    assert m.list_sizes.to_dict() == published["population"].to_dict()
    assert m.practice_names.to_dict() == published["practice_name"].to_dict()
    assert m.list_source == "NHS England's 2025/26 practice file"
    moved = m.move(m.practices[0], "QOQ")
    assert moved.list_sizes.equals(m.list_sizes)  # moving a practice keeps its list


def test_a_membership_period_is_shown_by_its_last_day():
    m = Membership.nhs_england("2025/26")
    assert repr(m).endswith("in force 2025-04-01 to 2026-03-31)")
    assert m.valid_to == pd.Timestamp("2026-04-01")  # still exclusive underneath


def test_a_membership_table_can_give_list_sizes_and_refuses_bad_ones():
    frame = pd.DataFrame({"practice_code": ["A81001", "A81002"], "consortium_code": ["P1", "P1"],
                          "list_size": [1200.5, 800]})
    m = Membership.from_frame(frame, list_size="list_size")
    assert m.list_sizes.to_dict() == {"A81001": 1200.5, "A81002": 800.0}
    assert Membership.from_frame(frame).list_sizes is None  # only when asked for
    with pytest.raises(InputError, match="'list_size' must not be negative"):
        Membership.from_frame(frame.assign(list_size=[-1, 800]), list_size="list_size")
    with pytest.raises(InputError, match="must hold numbers"):
        Membership.from_frame(frame.assign(list_size=["a", "b"]), list_size="list_size")
