"""Validation metrics, cost capping, neutralisation and the alternative estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from capitation import CostModel, FeatureSpec, Population, score
from capitation.errors import InputError
from capitation.model import split_people, split_practices, validate
from helpers import make_people


def test_metrics_by_hand():
    actual = np.array([0.0, 100.0, 300.0, 0.0])
    predicted = np.array([50.0, 100.0, 200.0, 50.0])
    r = validate(predicted, actual, practice_code=["A", "A", "B", "B"])
    # mean 100; SS_tot 60,000; SS_res 15,000; Σ|e| 200; Σ|y - ȳ| 400
    assert r.metrics["person_r2"] == pytest.approx(0.75)
    assert r.metrics["mae"] == pytest.approx(50.0)
    assert r.metrics["cpm"] == pytest.approx(0.5)
    # practices: A actual 50 predicted 75; B actual 150 predicted 125; mean 100 → R² = 1 - 1250/5000
    assert r.metrics["practice_r2"] == pytest.approx(0.75)
    assert r.metrics["share_practices_off_10pct"] == 1.0


def test_practice_r2_equals_pandas_twin():
    rng = np.random.default_rng(0)
    n = 5_000
    codes = rng.choice([f"P{k}" for k in range(40)], n)
    w = rng.uniform(0.2, 1, n)
    y = rng.gamma(0.3, 3_000, n)
    yhat = y * 0.3 + rng.normal(600, 50, n)
    r = validate(yhat, y, w, practice_code=codes, groups={"half": (np.arange(n) % 2).astype(str)})
    f = pd.DataFrame({"c": codes, "w": w, "y": y * w, "p": yhat * w}).groupby("c").sum()
    a, p, n_g = f.y / f.w, f.p / f.w, f.w
    abar = (a * n_g).sum() / n_g.sum()
    twin = 1 - (n_g * (a - p) ** 2).sum() / (n_g * (a - abar) ** 2).sum()
    assert r.metrics["practice_r2"] == pytest.approx(twin, rel=1e-12)
    half = r.predictive_ratios[r.predictive_ratios.dimension == "half"]
    even = np.arange(n) % 2 == 0
    assert half.set_index("group").loc["0", "ratio"] == pytest.approx((yhat * w)[even].sum() / (y * w)[even].sum())
    assert r.by_list_size["practices"].sum() == 40


def test_splits_are_disjoint_and_complete():
    a, b = split_people(1_001, 0.5, seed=3)
    assert len(np.intersect1d(a, b)) == 0 and len(a) + len(b) == 1_001
    codes = np.repeat([f"P{k}" for k in range(20)], 7)
    rest, held = split_practices(codes, 0.25, seed=1)
    assert set(codes[rest]).isdisjoint(codes[held]) and len(set(codes[held])) == 5


@pytest.fixture(scope="module")
def fitted_setup():
    people = make_people(6_000, n_practices=20, seed=4)
    pop = Population.from_frame(people)
    rng = np.random.default_rng(0)
    lsoas = np.sort(people["lsoa_code"].unique())
    areas = pd.DataFrame({"lsoa_code": lsoas, "imd": rng.uniform(5, 50, len(lsoas)),
                          "beds": rng.uniform(1, 3, len(lsoas)), "flat": 2.0})
    spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0, 15, 45, 65, 75, 85), need=("imd",), supply=("beds",))
    X = spec.encode(pop, areas=areas)
    return pop, areas, X


def test_cap_at_a_percentile_is_recorded(fitted_setup):
    pop, _, X = fitted_setup
    y = pop.cost / pop.exposure
    model = CostModel(cap="p99").fit(X, y, sample_weight=pop.exposure)
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(pop.exposure[order])
    value = y[order][np.searchsorted(cum, 0.99 * cum[-1])]
    assert model.result_.cap["value"] == value
    assert model.result_.cap["people_capped"] == int((y > value).sum()) > 0
    plain = CostModel().fit(X, np.minimum(y, value), sample_weight=pop.exposure)
    np.testing.assert_allclose(model.coef_, plain.coef_, rtol=1e-12)
    with pytest.raises(ValueError, match="'cap' parameter"):
        CostModel(cap="p150").fit(X, y)


def test_neutralisation_holds_supply_at_the_national_mean(fitted_setup):
    pop, _, X = fitted_setup
    model = CostModel().fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    as_observed = score(model, X, neutralise=None)
    need = score(model, X)
    beta = model.result_.params["supply:beds"]
    beds = X.toarray()[:, X.column_names.index("supply:beds")]
    mean = np.average(beds, weights=pop.exposure)
    np.testing.assert_allclose(as_observed - need, beta * (beds - mean), atol=1e-9)
    # the weighted national total is unchanged: supply is redistributed, not removed
    assert np.average(need, weights=pop.exposure) == pytest.approx(np.average(as_observed, weights=pop.exposure))
    at_two = score(model, X, reference={"supply:beds": 2.0})
    np.testing.assert_allclose(as_observed - at_two, beta * (beds - 2.0), atol=1e-9)


def test_neutralising_a_constant_supply_variable_changes_nothing(fitted_setup):
    pop, areas, _ = fitted_setup
    spec = FeatureSpec(diagnosis_grouping=None, age_bands=(0, 15, 45, 65, 75, 85), need=("imd",), supply=("flat",))
    X = spec.encode(pop, areas=areas)
    model = CostModel(on_aliased="drop").fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    assert model.result_.aliased == ("supply:flat",)
    np.testing.assert_array_equal(score(model, X), score(model, X, neutralise=None))


def test_tweedie_equals_statsmodels_glm(fitted_setup):
    pop, _, X = fitted_setup
    y = pop.cost / pop.exposure
    model = CostModel(method="tweedie").fit(X, y, sample_weight=pop.exposure)
    family = sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log())
    ref = sm.GLM(y, X.toarray(), family=family, var_weights=pop.exposure).fit()
    np.testing.assert_allclose(model.predict(X), ref.predict(X.toarray()), rtol=1e-4)


def test_two_part_is_probability_times_amount(fitted_setup):
    pop, _, X = fitted_setup
    y = pop.cost / pop.exposure
    model = CostModel(method="two_part").fit(X, y, sample_weight=pop.exposure)
    dense = X.toarray()
    positive = y > 0
    p_any = sm.Logit(positive.astype(float), dense).fit(disp=0).predict(dense)
    amount = sm.WLS(y[positive], dense[positive], weights=pop.exposure[positive]).fit().predict(dense)
    unweighted = CostModel(method="two_part").fit(X, y)
    np.testing.assert_allclose(unweighted.predict(X), p_any * sm.OLS(y[positive], dense[positive]).fit()
                               .predict(dense), rtol=1e-4)  # lbfgs vs Newton: both iterative
    assert np.corrcoef(model.predict(X), p_any * amount)[0, 1] > 0.999


def test_boosting_and_poisson_predict_sensibly(fitted_setup):
    pop, _, X = fitted_setup
    y = pop.cost / pop.exposure
    for method in ("hgb", "poisson"):
        model = CostModel(method=method).fit(X, y, sample_weight=pop.exposure)
        predicted = score(model, X)
        assert predicted.shape == (pop.n_people,)
        assert np.average(predicted, weights=pop.exposure) == pytest.approx(
            np.average(y, weights=pop.exposure), rel=0.05)
    with pytest.raises(ValueError, match="'method' parameter"):
        CostModel(method="lasso").fit(X, y)


def test_one_table_compares_estimators_on_the_same_validation_people(fitted_setup):
    from capitation.model import compare_models

    pop, _, X = fitted_setup
    y = pop.cost / pop.exposure
    fit_rows, valid_rows = split_people(pop.n_people, 0.5, seed=2)
    comparison = compare_models(X, y, pop.exposure, practice_code=pop.practice_code, fit_rows=fit_rows,
                                validation_rows=valid_rows, methods=("ols", "two_part", "poisson"),
                                groups={"sex": np.where(pop.sex == 0, "F", "M")})
    table = comparison.to_frame()
    assert list(table.index) == ["ols", "two_part", "poisson"]
    # the OLS row is exactly a validation of an OLS fit on the estimation half
    ols = CostModel(on_aliased="drop").fit(X.take(fit_rows), y[fit_rows], sample_weight=pop.exposure[fit_rows])
    check = validate(ols.predict(X.take(valid_rows)), y[valid_rows], pop.exposure[valid_rows],
                     practice_code=pop.practice_code[valid_rows])
    assert table.loc["ols", "person_r2"] == pytest.approx(check.metrics["person_r2"], rel=1e-12)
    assert "Estimators on the same validation data" in comparison.summary()
    with pytest.raises(InputError, match="overlap"):
        compare_models(X, y, practice_code=pop.practice_code, fit_rows=fit_rows, validation_rows=fit_rows[:5])


def test_validation_bands_practices_by_their_registered_lists_when_given():
    import pandas as pd

    from capitation.model import validate

    actual = np.array([0.0, 100.0, 300.0, 0.0])
    codes = ["A81001", "A81001", "A81002", "A81002"]
    own = validate(np.full(4, 100.0), actual, practice_code=codes)
    assert set(own.by_list_size.index) == {"0k–2k"}  # two people each: the sample's own count
    lists = validate(np.full(4, 100.0), actual, practice_code=codes,
                     list_sizes=pd.Series({"A81001": 3_000.0, "A81002": 12_500.0}))
    assert lists.practices["list_size"].tolist() == [3_000.0, 12_500.0]
    assert set(lists.by_list_size.index) == {"2k–4k", "10k–15k"}
