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
