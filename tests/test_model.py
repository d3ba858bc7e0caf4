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
    with pytest.raises(DesignError, match=r"aliased.*'x5'.*1 empty column"):
        fit_ols(X, y, w)
    dropped = fit_ols(X, y, w, on_aliased="drop")
    assert dropped.aliased == ("x5",) and dropped.empty == ("x6",)
    ref = sm.WLS(y, X[:, :5], weights=w).fit()
    np.testing.assert_allclose(dropped.params.to_numpy()[:5], ref.params, rtol=1e-8)
    # an empty column alone is normal in a sample: dropped and reported by default, never refused
    empty_only = fit_ols(np.column_stack([X[:, :5], np.zeros(400)]), y, w)
    assert empty_only.empty == ("x5",) and empty_only.aliased == ()
    np.testing.assert_allclose(empty_only.params.to_numpy()[:5], ref.params, rtol=1e-8)


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


# -- one fitting path ---------------------------------------------------------------------------------------

def _count_calls(monkeypatch, name: str) -> list:
    """Record every call of the model package's ``name`` (wherever the package's modules look it up)."""
    import importlib

    calls: list = []
    for module in ("stats", "ols", "alternatives", "estimator"):
        module = importlib.import_module(f"capitation.model.{module}")
        original = module.__dict__.get(name)
        if original is None:
            continue

        def counted(*args, _original=original, **kwargs):
            calls.append((args, kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize(("method", "cov_type"), [("ols", "nonrobust"), ("ols", "HC1"), ("poisson", "nonrobust")])
def test_a_fit_converts_the_design_once(monkeypatch, method, cov_type):
    X, y, w = design(n=300, p=4)
    conversions = _count_calls(monkeypatch, "as_csr")
    kernel_forms = _count_calls(monkeypatch, "_kernel_design")
    CostModel(method=method, cov_type=cov_type).fit(X, np.abs(y) / 1_000, sample_weight=w)
    assert len(conversions) == 1 and len(kernel_forms) == 1


@pytest.mark.parametrize(("method", "cov_type"), [("ols", "nonrobust"), ("ols", "HC1"), ("poisson", "nonrobust"),
                                                  ("two_part", "nonrobust")])
def test_a_fit_checks_the_outcome_and_the_weights_once(monkeypatch, method, cov_type):
    X, y, w = design(n=300, p=4)
    y = np.abs(y) / 1_000
    y[::3] = 0.0  # people without cost, for the two-part model
    checks = _count_calls(monkeypatch, "check_outcome")
    CostModel(method=method, cov_type=cov_type).fit(X, y, sample_weight=w)
    named = [args[2] if len(args) > 2 else kwargs.get("name", "y") for args, kwargs in checks]
    assert named == ["y", "sample_weight"]


def test_fit_ols_checks_the_outcome_and_the_weights_once(monkeypatch):
    X, y, w = design(n=300, p=4)
    checks = _count_calls(monkeypatch, "check_outcome")
    conversions = _count_calls(monkeypatch, "as_csr")
    fit_ols(X, y, w, cov_type="HC1")
    assert [args[2] if len(args) > 2 else "y" for args, _ in checks] == ["y", "weights"]
    assert len(conversions) == 1


@pytest.mark.parametrize("method", ["ols", "poisson", "two_part"])
def test_a_bad_weight_gives_one_message_whatever_the_method(method):
    X, y, w = design(n=100, p=3)
    w[6] = -0.5
    with pytest.raises(InputError) as caught:
        CostModel(method=method, cov_type="HC1" if method == "ols" else "nonrobust").fit(X, y, sample_weight=w)
    assert str(caught.value) == ("The 'sample_weight' parameter of CostModel.fit must be non-negative. Got -0.5 at "
                                 "row 6. Fix: weights are exposures in years, from 0 to 1.")


def test_the_second_pass_is_the_gram_matrix_of_weighted_residuals():
    from capitation.model.stats import _as_design, _residual_gram

    X, y, w = design(n=500, p=5)
    coef = np.linalg.lstsq(X * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    u = w * (y - X @ coef)
    expected = (X * (u * u)[:, None]).T @ X
    np.testing.assert_allclose(_residual_gram(_as_design(X), y, w, coef, block_size=64), expected, rtol=1e-10)


def test_hc1_uses_the_first_pass_statistics_it_returns():
    X, y, w = design(n=800, p=5)
    model = CostModel(cov_type="HC1").fit(X, y, sample_weight=w)
    again = fit_ols(X, y, w, cov_type="HC1", stats=model.stats_)
    np.testing.assert_array_equal(again.cov.to_numpy(), model.result_.cov.to_numpy())
    np.testing.assert_array_equal(model.stats_.xtwx, SufficientStats.from_design(X, y, w).xtwx)


# -- parameters are refused before any data is read ---------------------------------------------------------

class Untouchable:
    """Stands for data that must not be read: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the data were read (attribute {name!r}) before the parameters were checked")

    def __array__(self, *args, **kwargs):
        raise AssertionError("the data were read (as an array) before the parameters were checked")

    def __len__(self):
        raise AssertionError("the data were read (len) before the parameters were checked")


BAD_PARAMETERS = [("method", "lasso"), ("cap", -1.0), ("cap", "p150"), ("cap", True), ("cap", "lots"),
                  ("cap", [100]), ("cov_type", "HC3"), ("on_aliased", "ignore"), ("block_size", 0),
                  ("block_size", 2.5), ("block_size", "8")]


@pytest.mark.parametrize(("name", "value"), BAD_PARAMETERS)
def test_bad_parameters_are_refused_before_the_data_are_read(name, value):
    with pytest.raises(InputError) as caught:
        CostModel(**{name: value}).fit(Untouchable(), Untouchable(), sample_weight=Untouchable())
    message = str(caught.value)
    assert caught.value.parameter == name and isinstance(caught.value, ValueError)
    assert f"'{name}' parameter of CostModel" in message and repr(value) in message and "Fix:" in message


@pytest.mark.parametrize(("name", "value"), [("cov_type", "HC3"), ("on_aliased", "ignore"), ("block_size", 0)])
def test_fit_ols_refuses_bad_parameters_before_the_data_are_read(name, value):
    with pytest.raises(InputError, match=rf"'{name}' parameter of fit_ols .*Fix:") as caught:
        fit_ols(Untouchable(), Untouchable(), Untouchable(), **{name: value})
    assert caught.value.parameter == name


def test_good_parameters_pass_their_constraints():
    for params in ({"cap": 100_000}, {"cap": np.float64(5e4)}, {"cap": "p99.5"}, {"block_size": np.int64(64)},
                   {"method": "hgb", "cov_type": "HC1", "on_aliased": "drop"}):
        CostModel(**params)._validate_params()


# -- one place sets the fitted state -------------------------------------------------------------------------

def _fitted_attributes(model) -> set[str]:
    return {name for name in vars(model) if name.endswith("_") and not name.startswith("_")}


def test_from_result_sets_what_fit_sets():
    X, y, w = design(n=400, p=4)
    fitted = CostModel(cov_type="HC1").fit(X, y, sample_weight=w)
    rebuilt = CostModel.from_result(fitted.result_, spec=fitted.spec_, stats=fitted.stats_, cov_type="HC1")
    assert _fitted_attributes(rebuilt) == _fitted_attributes(fitted)
    for name in _fitted_attributes(fitted):
        a, b = getattr(fitted, name), getattr(rebuilt, name)
        assert a is b or np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)), name


def test_an_alternative_refit_leaves_no_least_squares_state():
    X, y, w = design(n=300, p=4)
    y = np.abs(y) / 1_000
    model = CostModel().fit(X, y, sample_weight=w)
    model.set_params(method="poisson").fit(X, y, sample_weight=w)
    assert not hasattr(model, "result_") and not hasattr(model, "coef_") and model.estimator_ is not None
    np.testing.assert_array_equal(model.column_means_.to_numpy(), model.stats_.column_means)


def test_result_from_stats_moved_to_ols_with_a_warning():
    from capitation.model import estimator, ols

    with pytest.warns(DeprecationWarning, match=r"capitation\.model\.ols"):
        moved = estimator.result_from_stats
    assert moved is ols.result_from_stats
