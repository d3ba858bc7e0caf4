"""Dask: people and records read independently, aligned by the library, fitted bit for bit as when streamed."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest

from capitation import FeatureSpec, Membership, Population, aggregate, allocate, encode, fit_ols, score
from capitation.errors import InputError, SchemaError, UnknownCodeError
from capitation.model import BLOCK_SIZE
from capitation.model.ols import result_from_stats
from capitation.stream import fit_parquet, score_parquet

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from capitation.distributed import (  # noqa: E402
    _located,
    block_stats,
    fit_dask,
    fold_stats,
    part_of,
    partial_stats,
    score_dask,
    stats_frame,
)
from helpers import make_membership, make_people  # noqa: E402
from test_features import make_diagnoses  # noqa: E402

SPEC = FeatureSpec(outcome_year="2025/26")
#: Six practices of three ICBs (QE1, QHM, QOQ), small lists: a few thousand people at fraction 0.2.
PRACTICES = ["A82620", "A82613", "B81058", "B82622", "A81001", "A81004"]
ROWS = 700  # people per partition: several partitions of a small dataset, off the block grid on purpose


def _same_stats(a, b) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("xtwx", "xtwy", "xtw1", "moments")) \
        and a.columns == b.columns


@pytest.fixture(scope="module")
def client():
    # Two single-threaded worker processes: results and errors cross process boundaries, pickled.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture
def in_process():
    """Run the test on the synchronous scheduler (even beside the cluster): the same bits, less overhead."""
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def england(tmp_path_factory):
    from capitation.datasets.synthetic import write_synthetic_england

    root = write_synthetic_england(tmp_path_factory.mktemp("dask") / "se", 0.2, practices=PRACTICES,
                                   chunk_practices=2, progress=False)  # three files per table
    return root


@pytest.fixture(scope="module")
def streamed(england):
    return fit_parquet(SPEC, england / "people", england / "diagnoses", batch_rows=ROWS, on_aliased="drop",
                       progress=False)


def _read(england):
    return dd.read_parquet(england / "people"), dd.read_parquet(england / "diagnoses")


def test_frames_read_independently_fit_bit_identical_to_the_streamed_fit(client, england, streamed):
    people, diagnoses = _read(england)
    assert people.npartitions == diagnoses.npartitions == 3  # files of two practices, not of ROWS people
    model = fit_dask(SPEC, people, diagnoses, on_aliased="drop", partition_rows=ROWS)
    assert streamed.stats_.n > 4 * ROWS  # several partitions
    np.testing.assert_array_equal(model.coef_, streamed.coef_)
    assert _same_stats(model.stats_, streamed.stats_)
    assert model.result_.roles.tolist() == streamed.result_.roles.tolist()


def test_records_stored_in_another_order_are_shuffled_onto_the_peoples_divisions(in_process, england, streamed):
    people, diagnoses = _read(england)
    backwards = diagnoses.partitions[::-1]  # not in person_id ranges: Dask's shuffle aligns them
    shuffled = dd.from_pandas(pd.read_parquet(england / "diagnoses").sample(frac=1.0, random_state=0),
                              npartitions=4, sort=False)
    for records in (backwards, shuffled):
        model = fit_dask(SPEC, people, records, on_aliased="drop", partition_rows=ROWS)
        np.testing.assert_array_equal(model.coef_, streamed.coef_)


@pytest.mark.parametrize("order", ["stored", "backwards"])  # repartitioned, or shuffled (p2p, then tasks)
def test_the_synchronous_scheduler_and_a_local_cluster_give_the_same_bits(client, england, order):
    people, diagnoses = _read(england)
    diagnoses = diagnoses if order == "stored" else diagnoses.partitions[::-1]
    on_cluster = fit_dask(SPEC, people, diagnoses, on_aliased="drop", partition_rows=ROWS)
    with dask.config.set(scheduler="synchronous"):  # beside the client: the shuffle must not be p2p
        in_process = fit_dask(SPEC, people, diagnoses, on_aliased="drop", partition_rows=ROWS)
    np.testing.assert_array_equal(on_cluster.coef_, in_process.coef_)
    assert _same_stats(on_cluster.stats_, in_process.stats_)


def test_fixed_effect_levels_are_learned_in_a_first_pass(in_process, england):
    people, diagnoses = _read(england)
    spec = FeatureSpec(outcome_year="2025/26", fixed_effects=("icb",))  # no levels given
    icbs = Membership.nhs_england("2025/26")  # all 42 ICBs; the data have three
    model = fit_dask(spec, people, diagnoses, groups={"icb": icbs}, on_aliased="drop", partition_rows=ROWS)
    whole = pd.read_parquet(england / "people")
    in_memory = encode(spec, Population.from_frame(whole), diagnoses=pd.read_parquet(england / "diagnoses"),
                       groups={"icb": icbs}).spec
    assert model.spec_.levels == in_memory.levels == (("icb", ("QE1", "QHM", "QOQ")),)
    assert [n for n in model.result_.params.index if n.startswith("fe:")] == ["fe:icb=QHM", "fe:icb=QOQ"]
    # fit_parquet takes a spec's levels from the mapping: give it the data's practices, and the bits agree
    theirs = icbs.as_series().loc[sorted(whole["practice_code"].astype(str).unique())]
    stream = fit_parquet(spec, england / "people", england / "diagnoses", groups={"icb": theirs}, batch_rows=ROWS,
                         on_aliased="drop", progress=False)
    np.testing.assert_array_equal(model.coef_, stream.coef_)


@pytest.mark.parametrize("break_it, error, message", [
    ("unknown person", UnknownCodeError, "record.*of 1 people not in the population"),
    ("no fy column", SchemaError, "has no 'fy' column"),
])
def test_a_library_error_on_a_worker_reaches_the_caller_as_that_class(client, england, break_it, error, message):
    people, _ = _read(england)
    records = pd.read_parquet(england / "diagnoses")
    if break_it == "unknown person":  # a record that counts (inpatient, in the window) of someone not listed
        k = records.index[(records["setting"] == "inpatient") & records["fy"].isin(SPEC.lookback)][7]
        records.loc[k, "person_id"] = 5
    else:
        records = records.drop(columns="fy")
    with pytest.raises(error, match=message) as caught:
        fit_dask(SPEC, people, dd.from_pandas(records, npartitions=3, sort=False), on_aliased="drop",
                 partition_rows=ROWS)
    assert type(caught.value) is error
    where = re.match(r"Dask partition (\d+) of (\d+) \(people from person_id \d+\): ", str(caught.value))
    assert where and int(where.group(2)) > 4  # which partition of how many, then the worker's own message
    assert break_it != "unknown person" or where.group(1) == "1"  # 5 is below everyone: the first partition


def test_a_located_error_keeps_its_class_and_parameter_through_pickling():
    moved = pickle.loads(pickle.dumps(_located(UnknownCodeError("a code.", parameter="diagnoses"), "partition 3")))
    assert type(moved) is UnknownCodeError and moved.parameter == "diagnoses" and str(moved) == "partition 3: a code."


@pytest.mark.parametrize("person_id", [5, 10 ** 15])  # before the first person, after the last
def test_records_beyond_the_peoples_range_are_not_lost_when_already_sorted(in_process, england, person_id):
    # A sorted table goes by repartition, not shuffle: its outer bounds are widened, so nothing falls off.
    people, _ = _read(england)
    files = [pd.read_parquet(f) for f in sorted((england / "diagnoses").glob("*.parquet"))]  # one per id range
    at = 0 if person_id == 5 else -1  # the first file's first record, or the last file's last
    counted = (files[at]["setting"] == "inpatient") & files[at]["fy"].isin(SPEC.lookback)
    files[at].loc[files[at].index[counted][at], "person_id"] = person_id
    files[at] = files[at].sort_values("person_id", kind="stable")
    records = dd.concat([dd.from_pandas(f, npartitions=1, sort=False) for f in files])
    with pytest.raises(UnknownCodeError, match=rf"person_id \[{person_id}\]"):
        fit_dask(SPEC, people, records, on_aliased="drop", partition_rows=ROWS)


def test_unsorted_people_are_refused_naming_the_ids(in_process, england):
    people, diagnoses = _read(england)
    with pytest.raises(InputError, match=r"not sorted by increasing person_id across partitions: partition 2 "
                                         r"starts at person_id 826\d+, not after the 18\d+ that ends "
                                         r"partition 1.*sort_values"):
        fit_dask(SPEC, people.partitions[::-1], diagnoses, on_aliased="drop")
    frame = pd.read_parquet(england / "people")
    swapped = frame.iloc[[1, 0, *range(2, len(frame))]]
    with pytest.raises(InputError, match=r"in partition 1, person_id \d+ follows \d+"):
        fit_dask(SPEC, dd.from_pandas(swapped, npartitions=2, sort=False), diagnoses, on_aliased="drop")




def test_score_dask_aligns_independent_frames_and_equals_score_parquet(in_process, england, streamed, tmp_path):
    people, diagnoses = _read(england)
    scored = score_dask(streamed, streamed.spec_, people, diagnoses.partitions[::-1]).compute()
    score_parquet(streamed, england / "people", england / "diagnoses", predictions=tmp_path / "need.parquet",
                  progress=False)
    expected = pd.read_parquet(tmp_path / "need.parquet")
    np.testing.assert_array_equal(scored["person_id"].to_numpy(), expected["person_id"].to_numpy())
    np.testing.assert_array_equal(scored["need"].to_numpy(), expected["need"].to_numpy())


def test_the_tree_reduction_agrees_to_rounding(in_process, england, streamed):
    people, diagnoses = _read(england)
    tree = fit_dask(SPEC, people, diagnoses, on_aliased="drop", partition_rows=ROWS, reduction="tree",
                    split_every=2)
    np.testing.assert_allclose(tree.coef_, streamed.coef_, rtol=1e-10, atol=1e-8)
    assert tree.stats_.n == streamed.stats_.n


def test_stats_frame_rows_fold_exactly_in_any_row_order(england, streamed):
    # What Spark does (tests/test_spark.py), with pandas: parts cut by part_of, rows collected in any order.
    people = pd.read_parquet(england / "people")
    records = pd.read_parquet(england / "diagnoses")
    cuts = people["person_id"].to_numpy()[::ROWS]
    people, records = people.assign(part=part_of(people["person_id"], cuts)), records.assign(
        part=part_of(records["person_id"], cuts))
    rows = pd.concat([stats_frame(p.sample(frac=1.0, random_state=1), records[records["part"] == k], spec=SPEC)
                      for k, p in people.groupby("part")], ignore_index=True)
    assert len(rows) == len(cuts)
    shuffled = rows.sample(frac=1.0, random_state=2)
    assert _same_stats(fold_stats(shuffled), streamed.stats_)
    with pytest.raises(InputError, match=r"lacks part 1.*Fix:"):
        fold_stats(shuffled[shuffled["part"] != 1])
    with pytest.raises(InputError, match=r"blocks \[0, 0\] for part 2.*once each"):
        fold_stats(pd.concat([rows, rows[rows["part"] == 2]]))


def test_block_stats_folded_in_order_equal_one_pass_on_the_block_grid():
    from capitation.model import SufficientStats

    people = make_people(2 * BLOCK_SIZE + 100, n_practices=4, seed=3)  # two blocks and a bit
    diagnoses = make_diagnoses(people, 20_000, seed=4)
    pop = Population.from_frame(people)
    whole = SufficientStats.from_design(encode(SPEC, pop, diagnoses=diagnoses), pop.cost / pop.exposure,
                                        pop.exposure)
    blocks = block_stats(people, diagnoses, spec=SPEC)
    assert [b.n for b in blocks] == [BLOCK_SIZE, BLOCK_SIZE, 100]
    assert _same_stats(fold_stats(blocks), whole)
    with pytest.raises(InputError, match=r"must hold SufficientStats. Got str at position 1"):
        fold_stats([blocks[0], "stats"])


def test_partitions_of_several_blocks_are_folded_block_by_block_into_the_running_totals(in_process, tmp_path):
    # Off the grid on purpose (BLOCK_SIZE + 500 people a partition): the second partition's two blocks must be
    # added one by one into the totals, as fit_parquet's second batch is, not summed first.
    people = make_people(2 * BLOCK_SIZE + 1_234, n_practices=6, seed=11)
    diagnoses = make_diagnoses(people, 20_000, seed=3)
    people.to_parquet(tmp_path / "people.parquet")
    diagnoses.to_parquet(tmp_path / "diagnoses.parquet")
    rows = BLOCK_SIZE + 500
    stream = fit_parquet(SPEC, tmp_path / "people.parquet", tmp_path / "diagnoses.parquet", batch_rows=rows,
                         on_aliased="drop", progress=False)
    model = fit_dask(SPEC, dd.from_pandas(people, npartitions=2, sort=False), dd.from_pandas(diagnoses, npartitions=2),
                     on_aliased="drop", partition_rows=rows)
    np.testing.assert_array_equal(model.coef_, stream.coef_)
    assert _same_stats(model.stats_, stream.stats_)


# -- frames partitioned alike by the caller still work -----------------------------------------------------

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


def test_distributed_fit_equals_single_machine(in_process, data):
    people, diagnoses, people_ddf, dx_ddf = data
    pop = Population.from_frame(people)
    single = fit_ols(encode(SPEC, pop, diagnoses=diagnoses), pop.cost / pop.exposure, pop.exposure, on_aliased="drop")
    model = fit_dask(SPEC, people_ddf, dx_ddf, on_aliased="drop")  # one partition of the block grid
    np.testing.assert_array_equal(model.coef_, single.params.to_numpy())
    assert model.result_.roles.tolist() == single.roles.tolist()
    halves = (people.iloc[:6_000], people.iloc[6_000:])
    merged = sum((partial_stats(h, diagnoses[diagnoses.person_id.isin(h.person_id)], spec=SPEC) for h in halves[1:]),
                 partial_stats(halves[0], diagnoses[diagnoses.person_id.isin(halves[0].person_id)], spec=SPEC))
    assert merged.n == len(people)
    np.testing.assert_allclose(result_from_stats(merged, on_aliased="drop").params, single.params, rtol=1e-9,
                               atol=1e-9)


def test_distributed_budgets_equal_single_machine_to_the_penny(client, data):
    people, diagnoses, people_ddf, dx_ddf = data
    model = fit_dask(SPEC, people_ddf, dx_ddf, on_aliased="drop", partition_rows=2_500)
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


def test_distributed_fit_sets_the_same_fitted_state_as_fit(in_process, data):
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


class Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"the partitions were read ({name!r}) before the parameters were checked")


@pytest.mark.parametrize("kwargs, message", [
    ({"on_aliased": "ignore"}, r"'on_aliased' parameter of fit_dask .*'ignore'.*Fix:"),
    ({"partition_rows": 0}, r"'partition_rows' parameter of fit_dask must be a positive integer. Got 0.*Fix:"),
    ({"reduction": "fast"}, r"'reduction' parameter of fit_dask must be one of \['exact', 'tree'\]. Got 'fast'"),
    ({"split_every": 1}, r"'split_every' parameter of fit_dask must be an integer of at least 2. Got 1"),
    ({"diagnosis": None}, r"unexpected keyword argument\(s\) \['diagnosis'\]. Fix:"),
])
def test_bad_parameters_are_refused_before_any_partition_is_read(kwargs, message):
    with pytest.raises(InputError, match=message):
        fit_dask(SPEC, Untouchable(), **kwargs)


def test_people_without_cost_or_person_id_and_mismatched_id_types_are_refused(data):
    people, diagnoses, _, _ = data
    with pytest.raises(SchemaError, match=r"'people_ddf' parameter of fit_dask has no 'cost' column"):
        fit_dask(SPEC, dd.from_pandas(people.drop(columns="cost"), npartitions=2))
    with pytest.raises(SchemaError, match=r"'people_ddf' parameter has no 'person_id' column or index"):
        fit_dask(SPEC, dd.from_pandas(people.rename(columns={"person_id": "id"}), npartitions=2))
    as_text = diagnoses.assign(person_id=diagnoses["person_id"].astype(str))
    with pytest.raises(SchemaError, match=r"records' person_id are strings .* people's are numbers"):
        fit_dask(SPEC, dd.from_pandas(people, npartitions=2), dd.from_pandas(as_text, npartitions=2))
    with pytest.raises(InputError, match=r"fixed effects \['icb'\] without their levels.*learn_levels"):
        score_dask(None, FeatureSpec(fixed_effects=("icb",)), Untouchable())


# -- the block grid itself (slow: more than two blocks of people, on the cluster) --------------------------

@pytest.mark.slow
def test_on_the_block_grid_a_dask_fit_is_the_in_memory_fit(client, tmp_path):
    people = make_people(2 * BLOCK_SIZE + 1_234, n_practices=25, seed=11)
    diagnoses = make_diagnoses(people, 40_000, seed=3)
    (tmp_path / "people").mkdir()
    for k, part in enumerate(np.array_split(np.arange(len(people)), 3)):  # files off the grid
        people.iloc[part].to_parquet(tmp_path / "people" / f"part-{k}.parquet")
    diagnoses.to_parquet(tmp_path / "diagnoses.parquet")  # unsorted: shuffled by Dask
    pop = Population.from_frame(people)
    whole = fit_ols(encode(SPEC, pop, diagnoses=diagnoses), pop.cost / pop.exposure, pop.exposure, on_aliased="drop")
    for rows in (BLOCK_SIZE, 2 * BLOCK_SIZE):
        model = fit_dask(SPEC, dd.read_parquet(tmp_path / "people"), dd.read_parquet(tmp_path / "diagnoses.parquet"),
                         on_aliased="drop", partition_rows=rows)
        np.testing.assert_array_equal(model.coef_, whole.params.to_numpy())
    stream = fit_parquet(SPEC, tmp_path / "people", tmp_path / "diagnoses.parquet", on_aliased="drop",
                         progress=False)
    np.testing.assert_array_equal(stream.coef_, model.coef_)
