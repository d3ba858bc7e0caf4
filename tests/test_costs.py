"""Outcome-year costs from prices or an HRG tariff: exact to the penny, and every row not used counted."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.errors import InputError, SchemaError
from capitation.inputs.costs import person_year_costs


def _naive(activity: pd.DataFrame, start: str, end: str) -> dict:
    """Per person pence, summed row by row with Python integers from the prices' text."""
    out: dict = defaultdict(int)
    for row in activity.itertuples(index=False):
        if start <= row.date < end:
            pounds, _, pence = f"{row.price:.2f}".partition(".")
            out[row.person_id] += int(pounds) * 100 + int(pence)
    return dict(out)


@settings(max_examples=60, deadline=None)
@given(pence=st.lists(st.integers(0, 10**9), min_size=1, max_size=60), seed=st.integers(0, 10_000))
def test_costs_sum_exactly_to_the_in_year_prices_whatever_the_order(pence, seed):
    rng = np.random.default_rng(seed)
    n = len(pence)
    dates = pd.Timestamp("2025-02-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    activity = pd.DataFrame({"person_id": rng.integers(0, 5, n), "setting": rng.choice(["inpatient", "ae"], n),
                             "date": dates.strftime("%Y-%m-%d"), "price": np.asarray(pence) / 100})
    costs = person_year_costs(activity, "2025/26")
    expected = _naive(activity, "2025-04-01", "2026-04-01")
    assert dict(zip(costs.costs["person_id"], costs.costs["cost_pence"], strict=True)) == expected
    assert costs.total_pence == sum(expected.values()) == costs.costs["cost_pence"].sum()
    in_year = activity["date"].between("2025-04-01", "2026-03-31")
    assert sum(costs.not_used.values()) == (~in_year).sum()
    shuffled = person_year_costs(activity.sample(frac=1, random_state=seed), "2025/26")
    pd.testing.assert_frame_equal(shuffled.costs, costs.costs)


def test_the_year_runs_from_1_april_to_31_march_and_the_rest_is_counted():
    activity = pd.DataFrame({"person_id": [1, 1, 1, 1, 1], "setting": ["ae"] * 5,
                             "date": ["2025-03-31", "2025-04-01", "2026-03-31", "2026-04-01", None],
                             "price": [1.0, 2.0, 4.0, 8.0, 16.0]})
    costs = person_year_costs(activity, "2025/26")
    assert costs.total_pence == 600
    assert costs.not_used == {"undated": 1, "before_outcome_year": 1, "after_outcome_year": 1}


def test_a_tariff_prices_what_has_no_price_and_a_price_of_its_own_wins():
    activity = pd.DataFrame({"person_id": ["a", "a", "b", "c"], "setting": ["inpatient", "outpatient", "outpatient",
                                                                           "ae"],
                             "date": ["2025-05-01"] * 4, "price": [999.99, None, None, None],
                             "hrg": ["FD10A", "WF01B", "wf01b ", "VB09Z"]})
    tariff = pd.DataFrame({"setting": ["inpatient", "outpatient", "ae"], "hrg": ["FD10A", "WF01B", "VB01Z"],
                           "price": [1500.0, 150.0, 300.0]})
    costs = person_year_costs(activity, "2025/26", tariff=tariff)
    assert costs.of(["a", "b", "c"]).tolist() == [999.99 + 150.0, 150.0, 0.0]
    assert costs.priced_from_tariff == 2
    assert costs.not_used == {"unpriced": 1} and costs.unpriced_by_setting == {"ae": 1}
    # a tariff without settings prices an HRG the same in each
    flat = person_year_costs(activity, "2025/26", tariff=tariff.drop(columns="setting"))
    assert flat.total_pence == costs.total_pence
    assert "unpriced ae: 1" in costs.summary()
    # a price of nothing is a price: never replaced by the tariff's
    free = person_year_costs(activity.assign(price=[0.0, None, None, None]), "2025/26", tariff=tariff)
    assert free.of(["a"]).tolist() == [150.0] and free.priced_from_tariff == 2


def test_per_setting_pence_columns_add_up_to_the_cost():
    activity = pd.DataFrame({"person_id": [1, 1, 2], "setting": ["inpatient", "ae", "ae"],
                             "date": ["2025-05-01"] * 3, "price": [10.10, 0.20, 3.00]})
    costs = person_year_costs(activity, "2025/26").costs
    assert costs[["inpatient_pence", "ae_pence"]].sum(axis=1).tolist() == costs["cost_pence"].tolist() == [1030, 300]


def test_your_column_names_through_columns():
    sus = pd.DataFrame({"Der_Pseudo_NHS_Number": [5], "setting": ["inpatient"], "Discharge_Date": ["2025-07-01"],
                        "Spell_Final_Price": ["2450.10"]})
    costs = person_year_costs(sus, "2025/26", columns={"person_id": "Der_Pseudo_NHS_Number",
                                                       "date": "Discharge_Date", "price": "Spell_Final_Price"})
    assert costs.of([5]).tolist() == [2450.10] and costs.total_pence == 245010


def _one(**changes) -> pd.DataFrame:
    row = {"person_id": [1], "setting": ["inpatient"], "date": ["2025-05-01"], "price": [10.0]}
    return pd.DataFrame(row | changes)


@pytest.mark.parametrize("activity, kwargs, error, words", [
    (_one(setting=["ward"]), {}, InputError, "column 'setting' must be one of"),
    (_one(price=[-5.0]), {}, InputError, "negative prices"),
    (_one(price=[10.005]), {}, InputError, "fractions of a penny"),
    (_one(price=["ten"]), {}, InputError, "not prices"),
    (_one(date=["01/05/2025"]), {}, InputError, "could be read either way round"),
    (_one().drop(columns="price"), {}, SchemaError, "neither a price column"),
    (_one().drop(columns="date"), {}, SchemaError, "'date'"),
    (_one(), {"columns": {"cost": "x"}}, InputError, "maps library names"),
    (_one(price=[None], hrg=["FD10A"]), {"tariff": pd.DataFrame({"hrg": ["FD10A", "FD10A"], "price": [1.0, 2.0]})},
     InputError, "prices the same hrg more than once"),
])
def test_bad_activity_is_refused_naming_the_column_and_the_fix(activity, kwargs, error, words):
    with pytest.raises(error) as caught:
        person_year_costs(activity, "2025/26", **kwargs)
    assert words in str(caught.value) and "Fix:" in str(caught.value)


def test_a_csv_is_read_as_text_so_its_ids_match_the_other_nhs_readers(tmp_path):
    path = tmp_path / "sus.csv"
    pd.DataFrame({"person_id": ["0042", "7"], "setting": ["inpatient", "outpatient"],
                  "date": ["2025-06-01", "2025-07-01"], "price": ["1200.10", "99.99"]}).to_csv(path, index=False)
    costs = person_year_costs(path, "2025/26")
    # the registration and HES readers read '0042' as the text it is; so do the costs
    assert costs.of(np.array(["0042", "7", "8"], dtype=object)).tolist() == [1200.10, 99.99, 0.0]


def test_ids_of_another_type_than_the_costs_are_refused_not_costed_at_zero():
    costs = person_year_costs(pd.DataFrame({"person_id": ["42"], "setting": ["inpatient"], "date": ["2025-06-01"],
                                            "price": [10.0]}), "2025/26")
    with pytest.raises(InputError, match=r"'person_id'.*integer.*text.*astype\(str\)"):
        costs.of(np.array([42]))
