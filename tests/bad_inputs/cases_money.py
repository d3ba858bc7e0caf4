"""Bad inputs of one class — money: control totals written ambiguously, budget options, membership dates."""

from __future__ import annotations

import pandas as pd

import capitation as cp
from capitation.allocation import published_need, split_thousands
from capitation.errors import InputError, SchemaError

from .catalogue import FIX, Case, allocate_series, need_series


def _history(**changes) -> pd.DataFrame:
    rows = pd.DataFrame({"practice_code": ["B00001", "B00002"], "consortium_code": ["X", "X"],
                         "valid_from": ["2023-04-01", "2023-04-01"], "valid_to": [None, None]})
    for column, (row, value) in changes.items():
        rows.loc[row, column] = value
    return rows


def _allocation():
    need, reg = need_series([1.0, 2.0])
    return cp.allocate(need, 1_000, registered=reg)


def cases(tmp) -> list[Case]:
    return [
        Case("control-total-decimal-comma", "allocate",
             lambda: allocate_series([1.0, 2.0], total="55,5"), InputError, "'control_total'", None, "'55,5'",
             "55,000,000,000"),
        Case("control-total-misplaced-thousands-comma", "allocate",
             lambda: allocate_series([1.0, 2.0], total="1,2345,000"), InputError, "'control_total'", None,
             "'1,2345,000'", FIX),
        Case("control-total-continental-format", "allocate",
             lambda: allocate_series([1.0, 2.0], total="1.000,00"), InputError, "'control_total'", None,
             "'1.000,00'", FIX),
        Case("control-total-exponent-text", "allocate",
             lambda: allocate_series([1.0, 2.0], total="5.5e10"), InputError, "'control_total'", None,
             "'5.5e10'", FIX),
        Case("control-total-full-width-digits", "allocate",
             lambda: allocate_series([1.0, 2.0], total="５５"), InputError, "'control_total'", None, "'５５'", FIX),
        Case("control-total-space-grouped", "allocate",
             lambda: allocate_series([1.0, 2.0], total="55 000 000"), InputError, "'control_total'", None,
             "'55 000 000'", FIX),
        Case("allocate-unassigned-option", "allocate",
             lambda: cp.allocate(need_series([1.0])[0], 100, registered=need_series([1.0])[1], unassigned="drop"),
             InputError, "'unassigned'", None, "'drop'", FIX),
        Case("allocate-membership-not-a-membership", "allocate",
             lambda: cp.allocate(need_series([1.0])[0], 100, registered=need_series([1.0])[1],
                                 membership={"B00001": "X"}),
             InputError, "'membership'", None, "dict", FIX),
        Case("allocate-need-dataframe-without-columns", "allocate",
             lambda: cp.allocate(pd.DataFrame({"wp": [1.0]}, index=["B00001"]), 100), SchemaError, "'need'",
             "'registered'", "'need'", FIX),
        Case("registered-as-text", "allocate",
             lambda: cp.allocate(need_series([1.0, 2.0])[0], 100,
                                 registered=pd.Series(["1,234", "50"], index=need_series([1.0, 2.0])[0].index)),
             InputError, "'registered'", "B00001", "'1,234'", FIX),
        Case("allocation-table-level", "Allocation.to_frame",
             lambda: _allocation().to_frame("icb"), InputError, "'level'", None, "'icb'", FIX),
        Case("allocation-table-units", "Allocation.to_frame",
             lambda: _allocation().to_frame(units="£m"), InputError, "'units'", None, "'£m'", FIX),
        Case("thousands-parts-do-not-add-up", "split_thousands",
             lambda: split_thousands([100_000, 200_000], 400_000), InputError, "parts", None, "400,000", FIX),
        Case("published-need-unknown-component", "published_need",
             lambda: published_need("2025/26", "acute"), InputError, "'component'", None, "'acute'", FIX),
        Case("membership-history-bad-date", "MembershipHistory.from_frame",
             lambda: cp.MembershipHistory.from_frame(_history(valid_from=(1, "2023-13-45"))), InputError,
             "'membership'", "row 1", "'2023-13-45'", FIX),
        Case("membership-history-numeric-date", "MembershipHistory.from_frame",
             lambda: cp.MembershipHistory.from_frame(_history().assign(valid_to=[20240401, 20240401])),
             SchemaError, "'membership'", "'valid_to'", "20240401", FIX),
    ]
