"""Core kernels at PBRA and England scale: OLS from sufficient statistics, scoring, exact aggregation.

Run::

    python benchmarks/bench_core.py [--people 5200000] [--columns 250] [--statsmodels-people 200000]
    python benchmarks/bench_core.py --score-people 64000000 --skip-fit     # scoring at England scale

Each figure is printed beside a baseline measured in the same run: statsmodels WLS (on a size it holds in
memory, with the coefficient difference) and a plain numpy pass over the same arrays.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic_design(n: int, p: int, seed: int = 0):
    """A CSR design shaped like PBRA's: one age-sex cell each, a few diagnosis flags for some people."""
    rng = np.random.default_rng(seed)
    n_dx = p - 38
    k = np.minimum(rng.geometric(0.55, n) - 1, 12)  # 0 for most people, a long tail of multimorbidity
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    dx = 38 + (rng.zipf(1.6, len(rows)) % n_dx)
    pairs = np.unique(rows * p + dx)  # sorted by row then column, repeats gone
    all_rows = np.concatenate([np.arange(n), pairs // p])
    all_cols = np.concatenate([rng.integers(0, 38, n), pairs % p])
    order = np.argsort(all_rows, kind="stable")  # cells (< 38) stay ahead of diagnoses within a row
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(all_rows, minlength=n), out=indptr[1:])
    indices = np.ascontiguousarray(all_cols[order], dtype=np.int32)
    data = np.ones(len(indices))
    beta = np.concatenate([rng.uniform(100, 3000, 38), rng.gamma(1.0, 800, n_dx)])
    mean = np.add.reduceat(beta[indices], indptr[:-1])
    y = mean * rng.gamma(0.15, 1 / 0.15, n)
    w = np.where(rng.random(n) < 0.1, rng.uniform(0.05, 1, n), 1.0)
    return indptr, indices, data, y, w


def peak_memory_gb() -> float:
    """Peak resident memory of this process in GB.

    Linux's VmHWM where there is one: ``ru_maxrss`` survives ``exec``, so a benchmark started by a process
    that was large would report its parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=5_200_000)
    parser.add_argument("--columns", type=int, default=250)
    parser.add_argument("--statsmodels-people", type=int, default=200_000)
    parser.add_argument("--score-people", type=int, default=None, help="people for the scoring comparison "
                        "(default: --people)")
    parser.add_argument("--skip-fit", action="store_true", help="only the scoring and aggregation comparison")
    args = parser.parse_args()

    import numba

    import capitation

    print(f"machine: {numba.config.NUMBA_NUM_THREADS} threads; numba {numba.__version__}")
    print(f"warm-up (compile every kernel): {capitation.warmup():.1f} s")
    if not args.skip_fit:
        bench_fit(args)
    bench_score(args.score_people or args.people, args.columns)


def bench_fit(args) -> None:
    import statsmodels.api as sm
    from scipy import sparse

    from capitation.model import SufficientStats, fit_ols
    from capitation.model.ols import solve

    indptr, indices, data, y, w = synthetic_design(args.people, args.columns)
    names = [f"c{j}" for j in range(args.columns)]
    print(f"design: {args.people:,} people × {args.columns} columns, {len(indices) / args.people:.2f} entries/person")

    def fit():
        stats = SufficientStats.empty(names)
        stats.accumulate_csr(indptr, indices, data, y, w)
        return solve(stats, on_aliased="drop")

    t_fit, _ = timed(fit)
    print(f"OLS fit (sufficient statistics + solve): {t_fit:.2f} s  ({args.people / t_fit / 1e6:.1f} M people/s)")

    # statsmodels on a size it can hold, same code path on our side
    m = args.statsmodels_people
    sub = sparse.csr_array((data[:indptr[m]], indices[:indptr[m]], indptr[:m + 1]), shape=(m, args.columns))
    dense = sub.toarray()
    keep = (dense != 0).sum(axis=0) >= 30  # columns too rare in the subsample are left out of both fits
    dense = dense[:, keep]
    t_sm, ref = timed(lambda: sm.WLS(y[:m], dense, weights=w[:m]).fit(), repeat=1)
    t_ours, ours = timed(lambda: fit_ols(dense, y[:m], w[:m]), repeat=3)
    diff = np.max(np.abs(ours.params.to_numpy() / ref.params - 1))
    print(f"statsmodels WLS on {m:,} × {dense.shape[1]}: {t_sm:.2f} s; capitation {t_ours:.3f} s from a dense "
          f"array (ratio {t_sm / t_ours:.0f}×); max relative coefficient difference {diff:.1e}")
    t_sp, _ = timed(lambda: fit_ols(sub[:, keep], y[:m], w[:m]), repeat=3)
    print(f"  capitation from the sparse design: {t_sp:.3f} s (ratio {t_sm / t_sp:.0f}×)")


def bench_score(n: int, p: int) -> None:
    """Score everyone and sum per practice and ICB, against what an analyst would write."""
    import pandas as pd
    from scipy import sparse

    from capitation._kernels.groupby import regroup_sum
    from capitation._kernels.score import score_csr
    from capitation.aggregation import exact_group_sum

    indptr, indices, data, _, _ = synthetic_design(n, p, seed=4)
    rng = np.random.default_rng(2)
    coef = rng.normal(300, 100, p)
    practice = rng.integers(0, 6_300, n).astype(np.int32)
    icb_of_practice = rng.integers(0, 42, 6_300).astype(np.int32)
    out = np.empty(n)
    print(f"scoring: {n:,} people, {len(indices) / n:.2f} entries/person, 6,300 practices, 42 ICBs")

    def ours():
        score_csr(indptr, indices, data, coef, out)
        totals = exact_group_sum(out, practice, 6_300)
        icb = np.zeros(42, dtype=np.int64)
        regroup_sum(totals, icb_of_practice, icb)
        return icb

    t_ours, _ = timed(ours)
    t_np, _ = timed(lambda: (data.sum(), indices.sum(), out.sum(), practice.sum()))
    print(f"  capitation score + exact practice and ICB sums: {t_ours:.3f} s; a numpy pass merely summing the "
          f"same arrays {t_np:.3f} s (ratio {t_ours / t_np:.2f}×)")
    csr = sparse.csr_array((data, indices, indptr), shape=(n, p))
    t_sp, _ = timed(lambda: np.bincount(practice, weights=csr @ coef, minlength=6_300), repeat=1)
    print(f"  scipy.sparse product + bincount: {t_sp:.3f} s (capitation {t_sp / t_ours:.1f}× faster)")
    m = min(n, 5_000_000)  # the long format an analyst would merge does not fit in memory at England scale
    rows = np.repeat(np.arange(m), np.diff(indptr[:m + 1]))
    long = pd.DataFrame({"person": rows, "column": indices[:indptr[m]], "value": data[:indptr[m]]})
    coefs = pd.DataFrame({"column": np.arange(p), "coef": coef})
    people = pd.DataFrame({"person": np.arange(m), "practice": practice[:m]})

    def analyst():
        merged = long.merge(coefs, on="column")
        need = (merged["value"] * merged["coef"]).groupby(merged["person"]).sum()
        return people.assign(need=need.reindex(people.person).to_numpy()).groupby("practice")["need"].sum()

    t_pd, _ = timed(analyst, repeat=1)
    print(f"  pandas merge + groupby on {m:,} people: {t_pd:.3f} s; scaled to {n:,}: {t_pd * n / m:.1f} s "
          f"(capitation {t_pd * n / m / t_ours:.0f}× faster)")


if __name__ == "__main__":
    main()
