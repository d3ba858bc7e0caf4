"""Streamed (out-of-core) fitting and scoring equal the in-memory run, bit for bit."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from capitation import FeatureSpec, Membership, Population, aggregate, encode, fit_ols, score
from capitation.errors import InputError, SchemaError
from capitation.model import BLOCK_SIZE
from capitation.stream import Batch, fit_batches, fit_parquet, iter_batches, score_parquet
from helpers import make_membership, make_people
from test_features import make_diagnoses

SPEC = FeatureSpec(outcome_year="2025/26")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream")
    people = make_people(2 * BLOCK_SIZE + 1_234, n_practices=25, seed=11)  # person_id increasing
    diagnoses = make_diagnoses(people, 40_000, seed=3).sort_values("person_id", kind="stable")
    (root / "people").mkdir()
    (root / "diagnoses").mkdir()
    for k, part in enumerate(np.array_split(np.arange(len(people)), 3)):  # several files, uneven
        people.iloc[part].to_parquet(root / "people" / f"part-{k}.parquet", row_group_size=5_000)
    diagnoses.to_parquet(root / "diagnoses" / "part-0.parquet", row_group_size=4_000)
    return root, people, diagnoses


@pytest.fixture(scope="module")
def model(dataset):
    root, _, _ = dataset
    return fit_parquet(SPEC, root / "people", root / "diagnoses", on_aliased="drop")


def test_batches_cover_everyone_once_with_their_records(dataset):
    root, people, diagnoses = dataset
    batches = list(iter_batches(root / "people", root / "diagnoses", batch_rows=10_000))
    assert [len(b.people) for b in batches[:-1]] == [10_000] * (len(batches) - 1)
    np.testing.assert_array_equal(np.concatenate([b.people.person_id for b in batches]), people.person_id)
    assert sum(len(b.diagnoses) for b in batches) == len(diagnoses)


def test_streamed_fit_is_bit_identical_on_the_block_grid(dataset):
    root, people, diagnoses = dataset
    pop = Population.from_frame(people)
    X = encode(SPEC, pop, diagnoses=diagnoses)
    whole = fit_ols(X, pop.cost / pop.exposure, pop.exposure, on_aliased="drop")
    streamed = fit_parquet(SPEC, root / "people", root / "diagnoses", batch_rows=BLOCK_SIZE, on_aliased="drop")
    np.testing.assert_array_equal(streamed.coef_, whole.params.to_numpy())
    odd = fit_parquet(SPEC, root / "people", root / "diagnoses", batch_rows=7_777, on_aliased="drop")
    np.testing.assert_allclose(odd.coef_, whole.params.to_numpy(), rtol=1e-10, atol=1e-9)
    assert streamed.result_.n == len(people)


@pytest.mark.parametrize("batch_rows", [4_096, 7_777, 100_000])
def test_streamed_scoring_gives_identical_totals_for_any_batch_size(dataset, model, batch_rows):
    root, people, diagnoses = dataset
    pop = Population.from_frame(people)
    members = Membership.from_frame(make_membership(people["practice_code"].unique()))
    expected = aggregate(pop, score(model, encode(SPEC, pop, diagnoses=diagnoses)), membership=members)
    got = score_parquet(model, root / "people", root / "diagnoses", membership=members, batch_rows=batch_rows)
    pd.testing.assert_frame_equal(got.practices, expected.practices, check_exact=True)
    pd.testing.assert_frame_equal(got.consortia, expected.consortia, check_exact=True)
    np.testing.assert_array_equal(got.need_fixed, expected.need_fixed)


def test_predictions_are_written_whole(dataset, model, tmp_path):
    root, people, _ = dataset
    out = tmp_path / "need.parquet"
    score_parquet(model, root / "people", root / "diagnoses", predictions=out, batch_rows=20_000)
    written = pd.read_parquet(out)
    np.testing.assert_array_equal(written["person_id"], people["person_id"])
    assert not list(tmp_path.glob(".*partial"))


def test_unsorted_people_are_refused(dataset, tmp_path):
    _, people, _ = dataset
    people.iloc[::-1].to_parquet(tmp_path / "people.parquet")
    with pytest.raises(InputError, match="not sorted by increasing person_id"):
        list(iter_batches(tmp_path / "people.parquet"))


def test_truncated_file_is_named(dataset, tmp_path):
    _, people, _ = dataset
    path = tmp_path / "people.parquet"
    people.to_parquet(path)
    path.write_bytes(path.read_bytes()[:1_000])
    with pytest.raises(InputError, match=r"people\.parquet"):
        list(iter_batches(path))


def test_prefetching_yields_the_same_batches_as_reading_in_turn(dataset):
    root, _, _ = dataset
    ahead = list(iter_batches(root / "people", root / "diagnoses", batch_rows=9_000))
    in_turn = list(iter_batches(root / "people", root / "diagnoses", batch_rows=9_000, prefetch=False))
    assert len(ahead) == len(in_turn)
    for a, b in zip(ahead, in_turn, strict=True):
        pd.testing.assert_frame_equal(a.people, b.people)
        pd.testing.assert_frame_equal(a.diagnoses, b.diagnoses)


def test_records_of_people_missing_from_the_list_are_refused_or_counted_not_lost(tmp_path, dataset):
    # A record whose person_id falls between two batches' people must reach encode, as in memory.
    _, people, diagnoses = dataset
    gone = people.person_id.iloc[[5, BLOCK_SIZE, len(people) - 1]].to_numpy()  # inside, at a boundary, last
    (tmp_path / "people").mkdir()
    listed = people[~people.person_id.isin(gone)]
    listed.to_parquet(tmp_path / "people" / "part-0.parquet")
    diagnoses.to_parquet(tmp_path / "diagnoses.parquet")
    lenient = FeatureSpec(outcome_year="2025/26", on_unknown_person="ignore")
    in_memory = encode(lenient, Population.from_frame(listed), diagnoses=diagnoses).exclusions
    orphans = in_memory["diagnoses_unknown_person"]  # those not already out of the window or setting
    assert orphans > 0
    from capitation.errors import UnknownCodeError

    with pytest.raises(UnknownCodeError, match="not in the population"):
        fit_parquet(SPEC, tmp_path / "people", tmp_path / "diagnoses.parquet", batch_rows=BLOCK_SIZE,
                    on_aliased="drop")
    counted = 0
    for batch in iter_batches(tmp_path / "people", tmp_path / "diagnoses.parquet", batch_rows=BLOCK_SIZE):
        X = encode(lenient, Population.from_frame(batch.people), diagnoses=batch.diagnoses)
        counted += X.exclusions.get("diagnoses_unknown_person", 0)
    assert counted == orphans


def test_prefetching_passes_on_errors_and_stops_when_the_caller_stops():
    import threading

    from capitation.stream import _prefetched

    def items():
        yield 1
        yield 2
        raise ValueError("broken third item")

    got = []
    with pytest.raises(ValueError, match="broken third item"):
        for item in _prefetched(items()):
            got.append(item)
    assert got == [1, 2]

    produced = []

    def endless():
        k = 0
        while True:
            produced.append(k)
            yield k
            k += 1

    stream = _prefetched(endless())
    assert next(stream) == 0
    stream.close()
    assert not any(t.name == "capitation-prefetch" for t in threading.enumerate())
    assert len(produced) <= 3  # the one taken, one waiting, one being made


def test_string_person_ids_stream_like_integers(tmp_path, dataset):
    _, people, diagnoses = dataset
    as_text = {pid: f"P{k:09d}" for k, pid in enumerate(people.person_id)}  # sorted as text and as numbers
    people = people.assign(person_id=people.person_id.map(as_text))
    diagnoses = diagnoses.assign(person_id=diagnoses.person_id.map(as_text))
    people.to_parquet(tmp_path / "people.parquet", row_group_size=5_000)
    diagnoses.to_parquet(tmp_path / "diagnoses.parquet", row_group_size=4_000)
    pop = Population.from_frame(people)
    whole = fit_ols(encode(SPEC, pop, diagnoses=diagnoses), pop.cost / pop.exposure, pop.exposure,
                    on_aliased="drop")
    streamed = fit_parquet(SPEC, tmp_path / "people.parquet", tmp_path / "diagnoses.parquet", batch_rows=BLOCK_SIZE,
                           on_aliased="drop")
    np.testing.assert_array_equal(streamed.coef_, whole.params.to_numpy())
    shuffled = people.iloc[::-1]
    shuffled.to_parquet(tmp_path / "unsorted.parquet")
    with pytest.raises(InputError, match="not sorted by increasing person_id"):
        list(iter_batches(tmp_path / "unsorted.parquet"))


def _same(a, b) -> bool:
    """Equal fitted values: arrays and series bit for bit, results and statistics field by field."""
    from capitation.model import FitResult, SufficientStats

    if isinstance(a, FitResult):
        return all(_same(getattr(a, f), getattr(b, f)) for f in
                   ("params", "cov", "cov_type", "n", "sum_weights", "df_resid", "ssr", "centered_tss", "aliased",
                    "empty", "column_means", "roles", "cap"))
    if isinstance(a, SufficientStats):
        return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("xtwx", "xtwy", "xtw1", "moments")) \
            and a.columns == b.columns and a.roles == b.roles
    if isinstance(a, pd.DataFrame | pd.Series | np.ndarray):
        return np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)) and \
            list(getattr(a, "index", [])) == list(getattr(b, "index", []))
    return a == b


def test_fit_from_result_load_and_fit_parquet_set_the_same_fitted_state(dataset, model, tmp_path):
    from capitation import CostModel
    from capitation.model.persist import load_model, save_model

    _, people, diagnoses = dataset
    pop = Population.from_frame(people)
    X = encode(SPEC, pop, diagnoses=diagnoses)
    fitted = CostModel(on_aliased="drop").fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    ways = {"fit": fitted, "fit_parquet": model,
            "from_result": CostModel.from_result(fitted.result_, spec=fitted.spec_, stats=fitted.stats_,
                                                 on_aliased="drop"),
            "load": load_model(save_model(fitted, tmp_path / "m.json", spec=X.spec))}
    names = {n for n in vars(fitted) if n.endswith("_") and not n.startswith("_")}
    assert {"coef_", "result_", "spec_", "stats_", "feature_names_in_", "n_features_in_"} <= names
    for way, other in ways.items():
        assert {n for n in vars(other) if n.endswith("_") and not n.startswith("_")} == names, way
        for name in sorted(names - {"provenance_"} - ({"stats_"} if way == "load" else set())):
            assert _same(getattr(fitted, name), getattr(other, name)), (way, name)
    assert ways["load"].stats_ is None and ways["load"].provenance_ is not None
    assert all(ways[w].provenance_ is None for w in ("fit", "fit_parquet", "from_result"))


def test_a_bad_on_aliased_is_refused_before_any_batch_is_read(tmp_path):
    with pytest.raises(InputError, match=r"'on_aliased' parameter of fit_parquet .*'ignore'.*Fix:"):
        fit_parquet(SPEC, tmp_path / "nowhere", on_aliased="ignore")


# -- fit_batches: the one fit path, fed by Parquet or by anything else -------------------------------------

def _in_memory_batches(people, diagnoses, sizes, as_population=False):
    """Batches cut from frames at the given sizes, each person's records with them."""
    edges = np.cumsum([0, *sizes])
    for a, b in itertools.pairwise(edges):
        part = people.iloc[a:b]
        records = diagnoses[diagnoses["person_id"].isin(part["person_id"])]
        yield Batch(Population.from_frame(part) if as_population else part, records, None)


@pytest.mark.parametrize("as_population", [False, True])
def test_fit_batches_on_the_block_grid_is_the_in_memory_fit(dataset, as_population):
    _, people, diagnoses = dataset
    pop = Population.from_frame(people)
    whole = fit_ols(encode(SPEC, pop, diagnoses=diagnoses), pop.cost / pop.exposure, pop.exposure,
                    on_aliased="drop")
    sizes = [BLOCK_SIZE, BLOCK_SIZE, len(people) - 2 * BLOCK_SIZE]
    got = fit_batches(SPEC, _in_memory_batches(people, diagnoses, sizes, as_population), on_aliased="drop")
    np.testing.assert_array_equal(got.coef_, whole.params.to_numpy())
    # batches off the grid (a practice's part file, say) agree to rounding
    odd = fit_batches(SPEC, _in_memory_batches(people, diagnoses, [5_000, 30_001, len(people) - 35_001]),
                      on_aliased="drop")
    np.testing.assert_allclose(odd.coef_, whole.params.to_numpy(), rtol=1e-10, atol=1e-9)
    assert got.result_.n == len(people)


def test_fit_batches_refuses_no_batches_and_batches_without_cost(dataset):
    _, people, _ = dataset
    with pytest.raises(InputError, match=r"no people to fit on.*Fix:"):
        fit_batches(SPEC, iter(()), on_aliased="drop")
    with pytest.raises(SchemaError, match=r"no 'cost' column.*Fix:"):
        fit_batches(SPEC, [Batch(people.drop(columns="cost").iloc[:100], None, None)], on_aliased="drop")
    with pytest.raises(InputError, match=r"'on_aliased' parameter of fit_batches"):
        fit_batches(SPEC, iter(()), on_aliased="ignore")


# --- worker processes (processes=2): the same bits as one process ----------------------------------------------

def test_a_fit_in_two_processes_is_bit_identical_to_one(dataset):
    root, _, _ = dataset
    one = fit_parquet(SPEC, root / "people", root / "diagnoses", batch_rows=BLOCK_SIZE, on_aliased="drop")
    two = fit_parquet(SPEC, root / "people", root / "diagnoses", batch_rows=BLOCK_SIZE, on_aliased="drop",
                      processes=2)
    np.testing.assert_array_equal(two.coef_, one.coef_)
    np.testing.assert_array_equal(two.stats_.xtwx, one.stats_.xtwx)
    assert two.result_.n == one.result_.n
    odd = fit_parquet(SPEC, root / "people", root / "diagnoses", batch_rows=7_777, on_aliased="drop")
    odd_two = fit_parquet(SPEC, root / "people", root / "diagnoses", batch_rows=7_777, on_aliased="drop",
                          processes=3)  # more processes than cores, batches off the block grid: still the same
    np.testing.assert_array_equal(odd_two.stats_.moments, odd.stats_.moments)
    np.testing.assert_array_equal(odd_two.coef_, odd.coef_)


def test_scoring_in_two_processes_gives_the_same_totals_and_predictions(dataset, model, tmp_path):
    root, people, _ = dataset
    members = Membership.from_frame(make_membership(people["practice_code"].unique()))
    one = score_parquet(model, root / "people", root / "diagnoses", membership=members, batch_rows=9_000,
                        predictions=tmp_path / "one.parquet")
    two = score_parquet(model, root / "people", root / "diagnoses", membership=members, batch_rows=9_000,
                        predictions=tmp_path / "two.parquet", processes=2)
    pd.testing.assert_frame_equal(two.practices, one.practices, check_exact=True)
    pd.testing.assert_frame_equal(two.consortia, one.consortia, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two.parquet"), pd.read_parquet(tmp_path / "one.parquet"))


def test_an_error_in_a_worker_process_arrives_as_the_library_error(dataset, tmp_path):
    _, people, _ = dataset
    (tmp_path / "people").mkdir()
    people.drop(columns="cost").to_parquet(tmp_path / "people" / "part.parquet")
    with pytest.raises(SchemaError, match="no 'cost' column"):
        fit_parquet(SPEC, tmp_path / "people", on_aliased="drop", processes=2)
    people.iloc[::-1].to_parquet(tmp_path / "unsorted.parquet")
    with pytest.raises(InputError, match="not sorted by increasing person_id"):
        fit_parquet(SPEC, tmp_path / "unsorted.parquet", on_aliased="drop", processes=2)


@pytest.mark.parametrize("processes", [0, 1.5, True, "2"])
def test_processes_must_be_a_positive_integer(dataset, processes):
    root, _, _ = dataset
    with pytest.raises(InputError, match="'processes' parameter of fit_parquet"):
        fit_parquet(SPEC, root / "people", on_aliased="drop", processes=processes)
