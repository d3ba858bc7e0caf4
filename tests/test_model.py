"""The OLS engine against statsmodels, and its sufficient statistics against a dense twin."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from capitation import CostModel, FeatureSpec, Population, encode, fit_ols
from capitation._config import threads
from capitation.errors import DesignError, InputError
from capitation.model import SufficientStats


def design(n=3_000, p=15, seed=1):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, p)) < 0.2).astype(float)
    X[:, 0] = 1.0
    X[:, p - 1] = rng.normal(20, 8, n)  # a continuous area-like column
    w = rng.uniform(0.05, 1.0, n)
    y = X @ rng.normal(200, 100, p) + rng.gamma(0.3, 2_000, n)
    return X, y, w


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1"])
def test_wls_equals_statsmodels(cov_type):
    X, y, w = design()
    ours = fit_ols(X, y, w, cov_type=cov_type)
    ref = sm.WLS(y, X, weights=w).fit(cov_type=cov_type)
    np.testing.assert_allclose(ours.params.to_numpy(), ref.params, rtol=1e-8)
    np.testing.assert_allclose(ours.bse.to_numpy(), ref.bse, rtol=1e-8)
    assert ours.rsquared == pytest.approx(ref.rsquared, rel=1e-8)
    assert ours.ssr == pytest.approx(ref.ssr, rel=1e-8)
    assert ours.df_resid == ref.df_resid


def test_pbra_design_equals_statsmodels(people):
    """On the real design (38 age–sex cells spanning the constant, exposure weights)."""
    pop = Population.from_frame(people)
    X = encode(FeatureSpec(diagnosis_grouping=None, age_bands=(0, 15, 45, 65, 75, 85)), pop)
    y = pop.cost / pop.exposure
    ours = fit_ols(X, y, pop.exposure)
    ref = sm.WLS(y, X.toarray(), weights=pop.exposure).fit()
    np.testing.assert_allclose(ours.params.to_numpy(), ref.params, rtol=1e-8)
    np.testing.assert_allclose(ours.bse.to_numpy(), ref.bse, rtol=1e-8)
    assert ours.rsquared == pytest.approx(ref.rsquared, rel=1e-8)


def test_sufficient_statistics_equal_dense_twin():
    X, y, w = design(n=500, p=6)
    stats = SufficientStats.from_design(X, y, w, block_size=64)
    xtwx, xtwy, xtw1, moments = naive.gram(X, y, w)
    np.testing.assert_allclose(stats.gram, xtwx, rtol=1e-12)
    np.testing.assert_allclose(stats.xtwy, xtwy, rtol=1e-12)
    np.testing.assert_allclose(stats.xtw1, xtw1, rtol=1e-12)
    np.testing.assert_allclose(stats.moments, moments, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(1, 499), seed=st.integers(0, 2**16))
def test_partial_statistics_merge(cut, seed):
    X, y, w = design(n=500, p=5, seed=seed)
    whole = SufficientStats.from_design(X, y, w, block_size=50)
    merged = (SufficientStats.from_design(X[:cut], y[:cut], w[:cut], block_size=50)
              + SufficientStats.from_design(X[cut:], y[cut:], w[cut:], block_size=50))
    np.testing.assert_allclose(merged.gram, whole.gram, rtol=1e-12)
    np.testing.assert_allclose(merged.xtwy, whole.xtwy, rtol=1e-12)
    np.testing.assert_array_equal(merged.moments[0], whole.moments[0])


def test_block_aligned_chunks_are_bit_identical_to_one_pass():
    X, y, w = design(n=1_000, p=5)
    whole = SufficientStats.from_design(X, y, w, block_size=100)
    running = SufficientStats.empty(whole.columns)
    from capitation.model.stats import as_csr
    for start in range(0, 1_000, 300):  # 300 rows = 3 blocks
        indptr, indices, data, _ = as_csr(X[start:start + 300])
        running.accumulate_csr(indptr, indices, data, y[start:start + 300], w[start:start + 300], block_size=100)
    np.testing.assert_array_equal(running.xtwx, whole.xtwx)
    np.testing.assert_array_equal(running.xtwy, whole.xtwy)


def test_thread_count_does_not_change_a_bit():
    X, y, w = design(n=200_000, p=8)
    with threads(1):
        one = SufficientStats.from_design(X, y, w)
    with threads(2):
        two = SufficientStats.from_design(X, y, w)
    np.testing.assert_array_equal(one.xtwx, two.xtwx)
    np.testing.assert_array_equal(one.moments, two.moments)


def test_empty_and_aliased_columns_are_named():
    X, y, w = design(n=400, p=5)
    X = np.column_stack([X, X[:, 1] + X[:, 2], np.zeros(400)])
    with pytest.raises(DesignError, match=r"empty column.*'x6'.*aliased.*'x5'"):
        fit_ols(X, y, w)
    dropped = fit_ols(X, y, w, on_aliased="drop")
    assert dropped.aliased == ("x5",) and dropped.empty == ("x6",)
    ref = sm.WLS(y, X[:, :5], weights=w).fit()
    np.testing.assert_allclose(dropped.params.to_numpy()[:5], ref.params, rtol=1e-8)


def test_estimator_follows_scikit_learn_contract():
    X, y, w = design(n=600, p=4)
    model = CostModel()
    assert model.fit(X, y, sample_weight=w) is model
    assert model.n_features_in_ == 4
    np.testing.assert_allclose(model.predict(X), X @ model.coef_, rtol=1e-12)
    from sklearn.base import clone
    assert clone(model).get_params() == model.get_params()


def test_bad_outcome_is_refused():
    X, y, w = design(n=100, p=3)
    y[7] = np.nan
    with pytest.raises(InputError, match=r"'y'.*NaN.*row 7"):
        fit_ols(X, y, w)
    with pytest.raises(InputError, match="'weights' parameter must be non-negative"):
        fit_ols(X, np.nan_to_num(y), -w)
