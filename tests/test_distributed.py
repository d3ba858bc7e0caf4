"""Dask: partial statistics merged in a tree, partitions scored, on a local cluster — equal to one machine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation import FeatureSpec, Membership, Population, aggregate, allocate, encode, fit_ols, score

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from capitation.distributed import fit_dask, partial_stats, score_dask  # noqa: E402
from helpers import make_membership, make_people  # noqa: E402
from test_features import make_diagnoses  # noqa: E402

SPEC = FeatureSpec(outcome_year="2025/26")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data():
    people = make_people(12_000, n_practices=15, seed=21)
    diagnoses = make_diagnoses(people, 9_000, seed=5)
    cuts = np.array_split(np.arange(len(people)), 5)
    people_parts = [people.iloc[c] for c in cuts]
    dx_parts = [diagnoses[diagnoses.person_id.isin(p.person_id)] for p in people_parts]
    people_ddf = dd.from_delayed([dask.delayed(p) for p in people_parts], meta=people.head(0))
    dx_ddf = dd.from_delayed([dask.delayed(d) for d in dx_parts], meta=diagnoses.head(0))
    return people, diagnoses, people_ddf, dx_ddf


def test_distributed_fit_equals_single_machine(client, data):
    people, diagnoses, people_ddf, dx_ddf = data
    pop = Population.from_frame(people)
    single = fit_ols(encode(SPEC, pop, diagnoses=diagnoses), pop.cost / pop.exposure, pop.exposure, on_aliased="drop")
    model = fit_dask(SPEC, people_ddf, dx_ddf, on_aliased="drop", split_every=2)
    np.testing.assert_allclose(model.coef_, single.params.to_numpy(), rtol=1e-9, atol=1e-9)
    assert model.result_.roles.tolist() == single.roles.tolist()
    halves = (people.iloc[:6_000], people.iloc[6_000:])
    merged = sum((partial_stats(h, diagnoses[diagnoses.person_id.isin(h.person_id)], spec=SPEC) for h in halves[1:]),
                 partial_stats(halves[0], diagnoses[diagnoses.person_id.isin(halves[0].person_id)], spec=SPEC))
    assert merged.n == len(people)
    from capitation.model.ols import result_from_stats
    np.testing.assert_allclose(result_from_stats(merged, on_aliased="drop").params, single.params, rtol=1e-9,
                               atol=1e-9)


def test_distributed_budgets_equal_single_machine_to_the_penny(client, data):
    people, diagnoses, people_ddf, dx_ddf = data
    model = fit_dask(SPEC, people_ddf, dx_ddf, on_aliased="drop")
    scored = score_dask(model, SPEC, people_ddf, dx_ddf).compute()
    pop = Population.from_frame(people)
    members = Membership.from_frame(make_membership(people["practice_code"].unique()))
    local = allocate(aggregate(pop, score(model, encode(SPEC, pop, diagnoses=diagnoses)), membership=members),
                     "987654321.09", membership=members)
    order = pop.rows_of(scored["person_id"].to_numpy())
    remote = allocate(aggregate(pop.take(order), scored["need"].to_numpy(), membership=members), "987654321.09",
                      membership=members)
    pd.testing.assert_series_equal(remote.practices["budget_pence"], local.practices["budget_pence"])
    pd.testing.assert_series_equal(remote.consortia["budget_pence"], local.consortia["budget_pence"])


def test_distributed_fit_sets_the_same_fitted_state_as_fit(client, data):
    from capitation import CostModel

    people, diagnoses, people_ddf, dx_ddf = data
    pop = Population.from_frame(people)
    X = encode(SPEC, pop, diagnoses=diagnoses)
    fitted = CostModel(on_aliased="drop").fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    model = fit_dask(SPEC, people_ddf, dx_ddf, on_aliased="drop")
    names = {n for n in vars(fitted) if n.endswith("_") and not n.startswith("_")}
    assert {n for n in vars(model) if n.endswith("_") and not n.startswith("_")} == names
    assert model.stats_.n == len(people) and model.spec_ == SPEC and model.provenance_ is None
    np.testing.assert_array_equal(model.feature_names_in_, fitted.feature_names_in_)
    assert model.roles_.tolist() == fitted.roles_.tolist() and model.get_params() == fitted.get_params()


def test_a_bad_on_aliased_is_refused_before_any_partition_is_read():
    from capitation.errors import InputError

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the partitions were read ({name!r}) before the parameters were checked")

    with pytest.raises(InputError, match=r"'on_aliased' parameter of fit_dask .*'ignore'.*Fix:"):
        fit_dask(SPEC, Untouchable(), on_aliased="ignore")
