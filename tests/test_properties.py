"""Invariants of the whole chain, checked by hypothesis.

Each property runs twice: a quick version in CI (the default example counts keep this file well under 90 s),
and a ``slow`` version with more examples and bigger populations (``pytest -m slow tests/test_properties.py``).
``docs/reliability.md`` lists these properties; ``test_reliability_doc`` keeps the list true.
"""

from __future__ import annotations

import functools
import tempfile
from fractions import Fraction
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import capitation as cp
from capitation._config import threads
from capitation.aggregation.aggregate import aggregation_from_totals, exact_group_sum
from helpers import make_membership, make_people

SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
            "derandomize": True}
FAST_PEOPLE, SLOW_PEOPLE = 200, 20_000


def twice(fast: int, slow: int, **strategies):
    """A quick test for CI and a ``slow`` one with ``slow`` examples; strategies take ``max_people``."""
    def wrap(check):
        def build(examples, max_people, marks=()):
            given_ = {k: v(max_people) if callable(v) else v for k, v in strategies.items()}
            test = settings(max_examples=examples, **SETTINGS)(given(**given_)(check))
            for mark in marks:
                test = mark(test)
            return test
        return build(fast, FAST_PEOPLE), build(slow, SLOW_PEOPLE, (pytest.mark.slow,))
    return wrap


def worlds(max_people: int):
    """Parameters of a random registered population with need per person."""
    return st.fixed_dictionaries({
        "n": st.integers(1, max_people),
        "k": st.integers(1, 15),
        "seed": st.integers(0, 2**32 - 1),
        "zero_share": st.sampled_from([0.0, 0.3, 0.9]),
        "pence": st.integers(0, 10**14),
    })


def make_world(w):
    """(Population, need, Membership, control total as a string of pounds)."""
    rng = np.random.default_rng(w["seed"])
    n = w["n"]
    practices = np.asarray([f"B{j:05d}" for j in range(1, w["k"] + 1)], dtype=object)
    people = pd.DataFrame({
        "person_id": rng.permutation(np.arange(1, n + 1)) * 3,
        "practice_code": practices[rng.integers(0, len(practices), n)],
        "sex": rng.choice(["F", "M"], n),
        "age": rng.integers(0, 121, n),
        "lsoa_code": "E01000001",
    })
    need = rng.gamma(0.7, 900.0, n) * (rng.random(n) >= w["zero_share"])
    if not need.any():
        need[0] = 1.0
    pop = cp.Population.from_frame(people)
    used = sorted(set(people["practice_code"]))
    members = cp.Membership.from_frame(make_membership(used, n_groups=1 + w["seed"] % 4))
    return pop, need, members, pounds(w["pence"])


def pounds(pence: int) -> str:
    return f"{pence // 100}.{pence % 100:02d}"


def budgets(pop, need, members, total) -> cp.Allocation:
    return cp.allocate(cp.aggregate(pop, need, membership=members), total, membership=members)


# ---- money -----------------------------------------------------------------------------------------------

@twice(30, 1_000, w=worlds)
def _pennies_sum_to_the_control_total(w):
    pop, need, members, total = make_world(w)
    alloc = budgets(pop, need, members, total)
    assert int(alloc.practices["budget_pence"].sum()) == w["pence"]
    assert int(alloc.consortia["budget_pence"].sum()) == w["pence"]
    assert (alloc.practices["budget_pence"] >= 0).all()


test_pennies_sum_to_the_control_total, test_pennies_sum_to_the_control_total_slow = \
    _pennies_sum_to_the_control_total


@twice(12, 800, w=worlds)
def _consortium_is_the_sum_of_its_practices(w):
    pop, need, members, total = make_world(w)
    alloc = budgets(pop, need, members, total)
    by_group = alloc.practices.groupby("consortium_code")["budget_pence"].sum()
    pd.testing.assert_series_equal(alloc.consortia["budget_pence"], by_group, check_names=False)
    agg = cp.aggregate(pop, need, membership=members)
    fixed = pd.Series(agg.need_fixed, index=agg.practices.index).groupby(agg.practices["consortium_code"]).sum()
    np.testing.assert_array_equal((fixed / 2.0**20).to_numpy(), agg.consortia["need"].to_numpy())


test_consortium_is_the_sum_of_its_practices, test_consortium_is_the_sum_of_its_practices_slow = \
    _consortium_is_the_sum_of_its_practices


@twice(12, 500, w=worlds, order=st.randoms(use_true_random=False), n_chunks=st.integers(1, 9))
def _budgets_do_not_depend_on_the_order_of_people_practices_or_chunks(w, order, n_chunks):
    pop, need, members, total = make_world(w)
    base = budgets(pop, need, members, total)
    # people in another order
    # A permutation seeded by hypothesis (its own sample() refuses lists beyond 8,192 items, the slow tier's size).
    rng = np.random.default_rng(order.getrandbits(64))
    perm = rng.permutation(pop.n_people)
    again = budgets(pop.take(perm), need[perm], members, total)
    pd.testing.assert_frame_equal(again.practices, base.practices, check_exact=True)
    # practices in another order (need given as a Series)
    series = base.practices["need"].iloc[rng.permutation(len(base.practices))]
    shuffled = cp.allocate(series, total, registered=base.practices["registered"])
    np.testing.assert_array_equal(shuffled.practices["budget_pence"].to_numpy(),
                                  cp.allocate(base.practices["need"], total,
                                              registered=base.practices["registered"]).practices["budget_pence"])
    # people in chunks, the chunks' exact totals added in another order (as a streamed run does)
    cuts = np.array_split(np.arange(pop.n_people), n_chunks)
    order.shuffle(cuts)
    codes, totals = [], {"registered": [], "person_years": [], "need": []}
    for rows in cuts:
        part = pop.take(rows)
        c, labels = pd.factorize(part.practice_code, sort=True)
        c = c.astype(np.int32)
        codes.append(np.asarray(labels, dtype=object))
        totals["registered"].append(np.bincount(c, minlength=len(labels)).astype(np.int64))
        totals["person_years"].append(exact_group_sum(part.exposure, c, len(labels), "exposure"))
        totals["need"].append(exact_group_sum(need[rows], c, len(labels), "need"))
    allc, labels = pd.factorize(np.concatenate(codes), sort=True)
    summed = {}
    for key, parts in totals.items():
        out = np.zeros(len(labels), dtype=np.int64)
        np.add.at(out, allc, np.concatenate(parts))
        summed[key] = out
    streamed = aggregation_from_totals(np.asarray(labels, dtype=object), summed, membership=members)
    chunked = cp.allocate(streamed, total, membership=members)
    pd.testing.assert_frame_equal(chunked.practices, base.practices, check_exact=True)


(test_budgets_do_not_depend_on_the_order_of_people_practices_or_chunks,
 test_budgets_do_not_depend_on_the_order_of_people_practices_or_chunks_slow) = \
    _budgets_do_not_depend_on_the_order_of_people_practices_or_chunks


@twice(12, 500, w=worlds, pick=st.integers(0, 10**6))
def _moving_a_practice_moves_exactly_its_budget(w, pick):
    pop, need, members, total = make_world(w)
    agg = cp.aggregate(pop, need)
    before = cp.allocate(agg, total, membership=members)
    practice = members.practices[pick % len(members.practices)]
    origin = members.consortium_of([practice])[0]
    after = cp.allocate(agg, total, membership=members.move(practice, "QNEW", "New consortium"))
    amount = int(before.practices.loc[practice, "budget_pence"])
    pd.testing.assert_series_equal(after.practices["budget_pence"], before.practices["budget_pence"])
    delta = after.consortia["budget_pence"].sub(before.consortia["budget_pence"], fill_value=0)
    assert int(delta.loc["QNEW"]) == amount
    assert int(delta.loc[origin]) == -amount  # also when the origin is left with no practice
    assert int(delta.drop(["QNEW", origin]).abs().sum()) == 0


test_moving_a_practice_moves_exactly_its_budget, test_moving_a_practice_moves_exactly_its_budget_slow = \
    _moving_a_practice_moves_exactly_its_budget


@twice(15, 800, w=worlds, factor=st.integers(2, 1_000))
def _scaling_the_control_total_scales_every_share(w, factor):
    pop, need, _, _ = make_world(w)
    pence = max(w["pence"] // factor, 1)
    agg = cp.aggregate(pop, need)
    one = cp.allocate(agg, pounds(pence))
    many = cp.allocate(agg, pounds(pence * factor))
    np.testing.assert_array_equal(one.practices["share"].to_numpy(), many.practices["share"].to_numpy())
    gap = (many.practices["budget_pence"] - factor * one.practices["budget_pence"]).abs()
    assert int(gap.max()) < factor + 1  # each budget is within a penny of its exact share at both totals


test_scaling_the_control_total_scales_every_share, test_scaling_the_control_total_scales_every_share_slow = \
    _scaling_the_control_total_scales_every_share


def _with_one_more_person(pop: cp.Population, need, practice: str, amount: float):
    frame = pop.to_frame()
    extra = pd.DataFrame({"person_id": [int(frame["person_id"].max()) + 1], "practice_code": [practice],
                          "sex": ["F"], "age": [50], "lsoa_code": ["E01000001"], "exposure": [1.0]})
    return cp.Population.from_frame(pd.concat([frame, extra], ignore_index=True)), np.r_[need, amount]


@twice(15, 800, w=worlds, pick=st.integers(0, 10**6), amount=st.floats(1e-3, 1e6))
def _adding_a_person_with_positive_need_never_lowers_their_practice_share(w, pick, amount):
    pop, need, _, total = make_world(w)
    before = cp.aggregate(pop, need)
    practice = before.practices.index[pick % len(before.practices)]
    after = cp.aggregate(*_with_one_more_person(pop, need, practice, amount))
    j = list(before.practices.index).index(practice)
    share_before = Fraction(int(before.need_fixed[j]), int(before.need_fixed.sum()))
    share_after = Fraction(int(after.need_fixed[j]), int(after.need_fixed.sum()))
    assert share_after >= share_before
    budget_before = cp.allocate(before, total).practices.loc[practice, "budget_pence"]
    budget_after = cp.allocate(after, total).practices.loc[practice, "budget_pence"]
    assert budget_after >= budget_before - 1  # a larger exact target; rounding moves at most one penny


(test_adding_a_person_with_positive_need_never_lowers_their_practice_share,
 test_adding_a_person_with_positive_need_never_lowers_their_practice_share_slow) = \
    _adding_a_person_with_positive_need_never_lowers_their_practice_share


@twice(10, 400, w=worlds, pick=st.integers(0, 10**6))
def _a_person_with_zero_need_changes_no_budget(w, pick):
    pop, need, members, total = make_world(w)
    base = budgets(pop, need, members, total)
    practice = base.practices.index[pick % len(base.practices)]
    more = budgets(*_with_one_more_person(pop, need, practice, 0.0), members, total)
    pd.testing.assert_series_equal(more.practices["budget_pence"], base.practices["budget_pence"])


test_a_person_with_zero_need_changes_no_budget, test_a_person_with_zero_need_changes_no_budget_slow = \
    _a_person_with_zero_need_changes_no_budget


# ---- the model ------------------------------------------------------------------------------------------

AREA_SPEC = cp.FeatureSpec(diagnosis_grouping=None, need=("imd",), supply=("beds",))


@functools.lru_cache(maxsize=2)
def area_world(n: int):
    people = make_people(n, n_practices=9, seed=4)
    codes = sorted(people["lsoa_code"].unique())
    rng = np.random.default_rng(5)
    areas = pd.DataFrame({"lsoa_code": codes, "imd": rng.uniform(1, 60, len(codes)),
                          "beds": rng.uniform(0, 5, len(codes))})
    pop = cp.Population.from_frame(people)
    X = cp.encode(AREA_SPEC, pop, areas=areas)
    model = cp.CostModel().fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    members = cp.Membership.from_frame(make_membership(people["practice_code"].unique()))
    return people, areas, model, members


def _area_budgets(people, areas, model, members):
    pop = cp.Population.from_frame(people)
    need = cp.score(model, cp.encode(AREA_SPEC, pop, areas=areas))
    return cp.allocate(cp.aggregate(pop, need, membership=members), "987654321.09", membership=members)


@twice(3, 150, seed=st.integers(0, 2**32 - 1), size=lambda m: st.just(800 if m == FAST_PEOPLE else 20_000))
def _relabelling_areas_does_not_change_list_budgets(seed, size):
    people, areas, model, members = area_world(size)
    base = _area_budgets(people, areas, model, members)
    codes = areas["lsoa_code"].tolist()
    rng = np.random.default_rng(seed)
    relabel = dict(zip(codes, [f"W0{k:07d}" for k in rng.permutation(10**6)[:len(codes)]], strict=True))
    moved = _area_budgets(people.assign(lsoa_code=people["lsoa_code"].map(relabel)),
                          areas.assign(lsoa_code=areas["lsoa_code"].map(relabel)).sample(frac=1, random_state=seed
                                                                                        % 2**31),
                          model, members)
    pd.testing.assert_frame_equal(moved.practices, base.practices, check_exact=True)
    pd.testing.assert_frame_equal(moved.consortia, base.consortia, check_exact=True)


test_relabelling_areas_does_not_change_list_budgets, test_relabelling_areas_does_not_change_list_budgets_slow = \
    _relabelling_areas_does_not_change_list_budgets


def fit_world(seed: int, n: int):
    people = make_people(n, n_practices=7, seed=seed)
    pop = cp.Population.from_frame(people)
    spec = cp.FeatureSpec(diagnosis_grouping=None, age_bands=(0, 20, 40, 60, 80))
    X = cp.encode(spec, pop)
    return pop, X


@twice(6, 100, seed=st.integers(0, 2**32 - 1), n=lambda m: st.integers(200, max(m, 2_000)))
def _save_load_predict_is_identical(seed, n):
    from capitation.model.persist import load_model, save_model

    pop, X = fit_world(seed, n)
    model = cp.CostModel(on_aliased="drop").fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    with tempfile.TemporaryDirectory() as folder:
        loaded = load_model(save_model(model, Path(folder) / "model.json", spec=X.spec))
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(cp.score(loaded, X), cp.score(model, X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    again = cp.encode(loaded.spec_, pop)
    np.testing.assert_array_equal(cp.score(loaded, again), cp.score(model, X))


test_save_load_predict_is_identical, test_save_load_predict_is_identical_slow = _save_load_predict_is_identical


def _run(pop, X, n_threads: int):
    with threads(n_threads):
        model = cp.CostModel(block_size=64, cov_type="HC1", on_aliased="drop").fit(
            X, pop.cost / pop.exposure, sample_weight=pop.exposure)
        need = cp.score(model, X)
        alloc = cp.allocate(cp.aggregate(pop, need), "123456789.10")
    return model.coef_, model.result_.cov.to_numpy(), need, alloc.practices["budget_pence"].to_numpy()


@twice(3, 60, seed=st.integers(0, 2**32 - 1), n=lambda m: st.integers(500, 10 * m))
def _one_and_two_threads_are_bit_identical(seed, n):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least two numba threads")
    pop, X = fit_world(seed, n)
    for a, b in zip(_run(pop, X, 1), _run(pop, X, 2), strict=True):
        np.testing.assert_array_equal(a, b)


test_one_and_two_threads_are_bit_identical, test_one_and_two_threads_are_bit_identical_slow = \
    _one_and_two_threads_are_bit_identical

#: The properties this file checks, by test name (docs/reliability.md lists the same).
PROPERTIES = sorted(name for name in dir() if name.startswith("test_") and not name.endswith("_slow"))
