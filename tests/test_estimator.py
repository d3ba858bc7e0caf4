"""scikit-learn's estimator checks on CostModel: every check that applies passes.

Checks that fail are listed by name with the reason: each is refused by design, because the cost model's input
rules are stricter than scikit-learn's. When one starts passing, ``parametrize_with_checks`` reports its entry
here as stale.
"""

from __future__ import annotations

import pytest
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
    parametrize_with_checks,
)

from capitation import CostModel
from capitation.errors import InputError

BY_DESIGN = {
    "check_dtype_object": "object-dtype designs are refused with SchemaError rather than converted: a design "
                          "column of Python objects is almost always a mistake upstream",
    "check_sample_weight_equivalence_on_dense_data": "the check's random design has more columns than distinct "
                                                     "rows after weighting, which CostModel refuses as aliased "
                                                     "(on_aliased='raise', the default); with on_aliased='drop' "
                                                     "it passes (tested below)",
    "check_sample_weight_equivalence_on_sparse_data": "as the dense case: aliased columns are refused by default",
}

def _expected_failed(estimator):
    return dict(BY_DESIGN)


@parametrize_with_checks([CostModel()], expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("check", [check_sample_weight_equivalence_on_dense_data,
                                   check_sample_weight_equivalence_on_sparse_data])
def test_sample_weights_are_repetitions_when_aliased_columns_are_dropped(check):
    check("CostModel", CostModel(on_aliased="drop"))


def test_parameter_constraints_cover_every_parameter_and_accept_the_defaults():
    defaults = CostModel().get_params()
    assert set(CostModel._parameter_constraints) == set(defaults)
    validate_parameter_constraints(CostModel._parameter_constraints, defaults, caller_name="CostModel")
    with pytest.raises(InvalidParameterError):  # the constraints themselves refuse what fit refuses
        validate_parameter_constraints(CostModel._parameter_constraints, {**defaults, "block_size": 0}, "CostModel")


def test_a_bad_parameter_is_the_packages_error_not_scikit_learns():
    with pytest.raises(InputError) as caught:
        CostModel(cov_type="HC9")._validate_params()
    assert not isinstance(caught.value, InvalidParameterError) and isinstance(caught.value, ValueError)
    assert caught.value.parameter == "cov_type"
