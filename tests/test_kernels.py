"""Each kernel (through its driver in capitation._compute, where it has one) against its naive twin (tests/naive.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import naive
from capitation._compute import group_sum_fixed, score_csr
from capitation._kernels.cells import wide_cells
from capitation._kernels.design import distinct_pairs
from capitation._kernels.groupby import group_count, regroup_sum
from capitation._kernels.synthetic import uniform_draws
from capitation.aggregation import FIXED_POINT_SCALE, exact_group_sum
from capitation.model.stats import as_csr


@settings(max_examples=50, deadline=None)
@given(X=hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 8)),
                    elements=st.sampled_from([0.0, 0.0, 1.0, 2.5, -3.0])),
       seed=st.integers(0, 1000))
def test_score_kernel_equals_dense_product(X, seed):
    coef = np.random.default_rng(seed).normal(size=X.shape[1])
    indptr, indices, data, _ = as_csr(X)
    np.testing.assert_array_equal(naive.csr_to_dense(indptr, indices, data, X.shape[1]), X)
    out = np.empty(X.shape[0])
    score_csr(indptr, indices, data, coef, out)
    np.testing.assert_allclose(out, naive.score(X, coef), rtol=1e-12, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(0, 300), elements=st.floats(-1e5, 1e5)),
       n_groups=st.integers(1, 7), seed=st.integers(0, 1000), block=st.integers(1, 64))
def test_fixed_point_group_sum_is_exact(values, n_groups, seed, block):
    codes = np.random.default_rng(seed).integers(-1, n_groups, len(values)).astype(np.int32)
    out = np.zeros(n_groups, dtype=np.int64)
    group_sum_fixed(values, codes, FIXED_POINT_SCALE, block, out)
    quantised = np.rint(values * FIXED_POINT_SCALE) / FIXED_POINT_SCALE
    truth = naive.group_sum(quantised, codes, n_groups)
    assert [v * int(FIXED_POINT_SCALE) for v in truth] == out.tolist()  # exact, not approximately
    assert all(abs(float(t) - float(sum(values[codes == g]))) < 1e-3 * max(1, len(values))
               for g, t in enumerate(truth))


def test_group_sums_ignore_order_and_blocks_exactly():
    rng = np.random.default_rng(3)
    values = rng.gamma(0.2, 5_000, 100_000)
    codes = rng.integers(-1, 50, 100_000).astype(np.int32)
    base = exact_group_sum(values, codes, 50)
    order = rng.permutation(len(values))
    np.testing.assert_array_equal(exact_group_sum(values[order], codes[order], 50), base)
    for block in (1, 7, 4096):
        out = np.zeros(50, dtype=np.int64)
        group_sum_fixed(values, codes, FIXED_POINT_SCALE, block, out)
        np.testing.assert_array_equal(out, base)


def test_count_and_regroup_kernels():
    codes = np.array([0, 2, -1, 2, 2], dtype=np.int32)
    out = np.zeros(3, dtype=np.int64)
    group_count(codes, out)
    assert out.tolist() == [1, 0, 3]
    parent = np.array([1, 1, 0], dtype=np.int32)
    up = np.zeros(2, dtype=np.int64)
    regroup_sum(out, parent, up)
    assert up.tolist() == [3, 1]


@settings(max_examples=80, deadline=None)
@given(n_rows=st.integers(1, 30), n_groups=st.integers(1, 12), n=st.integers(0, 400), seed=st.integers(0, 10_000))
def test_distinct_pairs_equals_a_dictionary_tally(n_rows, n_groups, n, seed):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_rows, n)
    groups = rng.integers(0, n_groups, n)
    out = [np.full(n, -7, dtype=np.int64) for _ in range(3)]
    k = distinct_pairs(rows, groups, n_rows, n_groups, *out)
    assert [o[:k].tolist() for o in out] == list(naive.distinct_pairs(rows, groups))


@settings(max_examples=80, deadline=None)
@given(codes=hnp.arrays(np.int32, st.tuples(st.integers(0, 6), st.integers(0, 30)),
                        elements=st.sampled_from([-1, -1, 0, 3, 7])))
def test_wide_cells_lists_the_non_empty_cells_row_by_row(codes):
    codes = np.ascontiguousarray(codes)
    n = int((codes >= 0).sum())
    rows, slots, out = np.full(n, -7, np.int64), np.full(n, -7, np.int64), np.full(n, -7, np.int32)
    assert wide_cells(codes, rows, slots, out) == n
    assert list(zip(rows.tolist(), slots.tolist(), out.tolist(), strict=True)) == naive.wide_cells(codes)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), keys=st.lists(st.integers(0, 2**64 - 1), max_size=6),
       stream=st.integers(0, 200), n=st.integers(0, 5))
def test_uniform_draws_equal_splitmix64_in_python_integers(seed, keys, stream, n):
    out = np.empty((len(keys), n))
    uniform_draws(np.uint64(seed), np.array(keys, dtype=np.uint64), np.uint64(stream), out)
    np.testing.assert_array_equal(out, naive.uniform_draws(seed, keys, stream, n))
