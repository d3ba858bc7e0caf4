"""Money does not depend on the unit of need: exact shares, unambiguous totals, one £'000 rule."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation import Membership, allocate
from capitation.allocation import published_need
from capitation.allocation.allocate import UNFUNDED_REASON
from capitation.allocation.money import exact_weights, half_up, split_pence, split_thousands, to_pence
from capitation.errors import InputError

TOTAL = 55_000_000_000  # £55bn, the demo's envelope


def _budgets(need: pd.Series, total=TOTAL) -> np.ndarray:
    alloc = allocate(need, total, registered=pd.Series(1_000, index=need.index))
    return alloc.practices["budget_pence"].reindex(need.index).to_numpy()


def _codes(n: int) -> list[str]:
    return [f"A{81001 + i:05d}" for i in range(n)]


needs = st.lists(st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False),
                 min_size=1, max_size=40).filter(lambda v: sum(v) > 0)


# -- the unit of need ------------------------------------------------------------------------------------

def test_shares_and_weighted_people_give_the_same_pennies():
    """Need 1, 2, 3 as people or as shares: the old 2⁻²⁰ grid moved £17,484.03 between these practices."""
    need = pd.Series([1.0, 2.0, 3.0], index=_codes(3))
    assert _budgets(need).tolist() == _budgets(need / need.sum()).tolist()
    exact = [Fraction(TOTAL * 100) * k / 6 for k in (1, 2, 3)]
    assert all(abs(b - e) < 1 for b, e in zip(_budgets(need / need.sum()), exact, strict=True))


def test_a_need_far_below_the_old_grid_is_still_a_share():
    """A positive need of 2⁻³⁰ was rounded to 0 and reported as 'need is 0 for all practices'."""
    need = pd.Series([2.0**-30, 2.0**-30, 2.0**-29], index=_codes(3))
    assert _budgets(need, 400).tolist() == [10_000, 10_000, 20_000]


@settings(max_examples=60, deadline=None)
@given(needs, st.integers(min_value=-60, max_value=60))
def test_need_scaled_by_a_power_of_two_gives_identical_pennies(values, k):
    need = pd.Series(values, index=_codes(len(values)))
    assert _budgets(need).tolist() == _budgets(need * 2.0**k).tolist()


@settings(max_examples=60, deadline=None)
@given(needs, st.floats(min_value=1e-6, max_value=1e6))
def test_need_scaled_by_any_factor_stays_within_a_penny_of_the_exact_share(values, factor):
    need = pd.Series(values, index=_codes(len(values)))
    budgets = _budgets(need * factor)
    exact = [Fraction(v) for v in values]  # the shares of the need before scaling, in exact rationals
    q = Fraction(TOTAL * 100)
    for budget, n in zip(budgets, exact, strict=True):
        assert abs(budget - q * n / sum(exact)) <= 1
    assert int(budgets.sum()) == TOTAL * 100


def test_published_weighted_populations_in_any_unit():
    """NHS England's 2025/26 Final WP as weighted people, as shares and in thousands: within a penny."""
    wp = published_need("2025/26", "core")
    as_wp = allocate(wp, TOTAL).practices["budget_pence"]
    as_shares = allocate(wp.assign(need=wp.need / wp.need.sum()), TOTAL).practices["budget_pence"]
    in_thousands = allocate(wp.assign(need=wp.need / 1_000), TOTAL).practices["budget_pence"]
    assert (as_shares - as_wp).abs().max() <= 1
    assert (in_thousands - as_wp).abs().max() <= 1
    for k in (-20, -1, 3, 30):
        assert allocate(wp.assign(need=wp.need * 2.0**k), TOTAL).practices["budget_pence"].equals(as_wp)


def test_exact_weights_are_the_values_exactly():
    values = np.array([0.1, 3.0, 2.0**-1000, 0.0, 1e300])
    weights, exponent = exact_weights(values)
    assert [Fraction(w) * Fraction(2) ** exponent for w in weights] == [Fraction(v) for v in values]
    with pytest.raises(InputError, match="finite and non-negative"):
        exact_weights([1.0, np.nan])


# -- control totals --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "pence"), [("55000000000", 5_500_000_000_000), ("55,000,000,000", 5_500_000_000_000),
                                             ("£55,000,000,000.00", 5_500_000_000_000), (" 1,234.5 ", 123_450),
                                             ("0.01", 1), ("£999", 99_900)])
def test_control_totals_in_the_accepted_forms(text, pence):
    assert to_pence(text) == pence


@pytest.mark.parametrize("text", ["55,5", "1,23", "1,2345", ",100", "100,", "1e9", "１２", "55 000", "£", "",
                                  "1.000,00", "12..5", "£-5"])
def test_control_totals_in_other_forms_are_refused_with_the_forms_accepted(text):
    with pytest.raises(InputError, match="accepted form") as info:
        to_pence(text)
    assert "55,000,000,000" in str(info.value)


# -- £'000 -----------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=60))
def test_thousands_columns_add_up_to_the_rounded_total(parts):
    figures = split_thousands(parts)
    assert int(figures.sum()) == half_up(sum(parts), 100_000)
    assert all(abs(Fraction(p, 100_000) - f) < 1 for p, f in zip(parts, figures.tolist(), strict=True))


def test_every_budget_table_in_thousands_sums_to_the_control_total():
    wp = published_need("2025/26", "core")
    icbs = Membership.nhs_england("2025/26")
    alloc = allocate(wp.drop(columns="icb_code"), TOTAL, membership=icbs)
    for level in ("practice", "consortium"):
        assert int(alloc.to_frame(level, units="£000")["budget_000"].sum()) == TOTAL // 1_000


def test_split_pence_takes_integers_of_any_size():
    big = [3 * 2**200, 2**200, 0]
    assert split_pence(400, big).tolist() == [300, 100, 0]


# -- every practice of the membership appears --------------------------------------------------------------

def test_practices_without_people_have_a_line_and_a_reason():
    codes = _codes(4)
    members = Membership.from_frame(pd.DataFrame({"practice_code": codes, "consortium_code": ["Q1", "Q1", "Q2", "Q2"]}))
    need = pd.Series([1.0, 2.0, 3.0], index=codes[:3])
    alloc = allocate(need, 600, registered=pd.Series(10, index=need.index), membership=members)
    table = alloc.to_frame()
    assert sorted(table.index) == codes
    assert table.loc[codes[3], "budget_pence"] == 0 and table.loc[codes[3], "reason"] == UNFUNDED_REASON
    assert not table.loc[codes[3], "funded"] and table.loc[codes[:3], "funded"].all()
    assert int(table["budget_pence"].sum()) == 60_000
    assert alloc.parameters["unfunded_practices"] == 1
    assert alloc.consortia["practices_unfunded"].tolist() == [0, 1]
    assert "1 practices of the membership get no budget" in alloc.summary()


def test_need_of_any_size_is_shared_exactly():
    """1e16 overflowed the old int64 grid and was refused; exact shares have no such limit."""
    need = pd.Series([1.0, 1e16, 1e300], index=_codes(3))
    assert _budgets(need, 1_000).tolist() == [0, 0, 100_000]


def test_an_allocation_says_whether_it_reconciles():
    need = pd.Series([1.0, 2.0, 3.0], index=_codes(3))
    members = Membership.from_frame(pd.DataFrame({"practice_code": _codes(3), "consortium_code": ["Q1", "Q1", "Q2"]}))
    alloc = allocate(need, 601, registered=pd.Series(10, index=need.index), membership=members)
    assert alloc.reconciles
    alloc.practices.loc[_codes(3)[0], "budget_pence"] += 1  # a penny too many somewhere breaks it
    assert not alloc.reconciles
