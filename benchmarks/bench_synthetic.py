"""Speed, memory and realism of the Synthetic England generator.

Run from the repository root::

    python benchmarks/bench_synthetic.py sample            # 1% of England in memory (target < 10 s)
    python benchmarks/bench_synthetic.py realism           # realism figures and the PBRA R² ladder
    python benchmarks/bench_synthetic.py realism --design pbra [--seed S | --seeds 0,1,2]
                                                           # PBRA-like design (below); mean and range
    /usr/bin/time -v python benchmarks/bench_synthetic.py england --out /tmp/se   # all England streamed
                                                           # (target < 10 min, peak RSS < 8 GB)

Timings exclude numba compilation (a warm-up call on one practice runs first and its time is printed
separately). ``realism`` estimates the person-level OLS on a 2% sample of the practices outside a validation
set of 300 full-size practices (PBRA's design: an estimation sample of people, a validation sample of
practices) and prints every figure recorded in ``docs/synthetic-england.md``.

``realism --design pbra`` is BMJ 2011's design at PBRA-era list sizes: 800 random practices of the 2025/26
frame (``numpy.random.default_rng(42 + seed)``, so seed 0 draws with 42) generated at 65% of today's lists and
held out whole (validation sample 2), and 5% of the people of every other practice, split in halves into the
estimation sample and validation sample 1, as the paper's samples were drawn from everyone else. The library's
own ``capitation.model.pbra_ladder`` climbs the five rungs of Table 1 (its ICD-10 grouping, ICB effects, need
and supply from the areas table); for each it prints the person R² (estimation and validation 1), the
practice R² (validation 2) and the share of held-out practices 10% or more off (``|predicted / actual per
head - 1| >= 0.10``). Beside them, as an independent check, ``oracle_*``: plain-numpy OLS on the generator's
own categories. Then NHS England's weighted-population correlation, the top-1% share and the deprivation
ratio. ``--seeds 0,1,2`` repeats it and adds the mean and range over the seeds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
from bench_core import peak_memory_gb


def _warm():
    from capitation.datasets.synthetic import synthetic_england

    t = time.perf_counter()
    synthetic_england(0.01, seed=0, practices=["A81001"])
    return time.perf_counter() - t


def bench_sample(fraction: float, seed: int, repeat: int) -> dict:
    from capitation.datasets.synthetic import synthetic_england

    out = {"warm_up_s": round(_warm(), 1)}
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        se = synthetic_england(fraction, seed=seed)
        times.append(time.perf_counter() - t)
    out.update({"fraction": fraction, "people": len(se.people), "diagnosis_rows": len(se.diagnoses),
                "condition_rows": len(se.conditions), "best_s": round(min(times), 2),
                "people_per_s": round(len(se.people) / min(times))})
    return out


def bench_england(path: Path, chunk: int, seed: int, n_practices: int | None) -> dict:
    import pyarrow.dataset as ds

    from capitation.datasets.synthetic import _reference, write_synthetic_england

    out = {"warm_up_s": round(_warm(), 1)}
    practices = None
    if n_practices:
        codes = np.sort(_reference()["frame"].query("year == '2025/26'")["practice_code"].to_numpy(str))
        practices = list(codes[:n_practices])
    if path.exists():
        shutil.rmtree(path)
    t = time.perf_counter()
    write_synthetic_england(path, 1.0, seed=seed, chunk_practices=chunk, progress=None, practices=practices)
    out["seconds"] = round(time.perf_counter() - t, 1)
    for sub in ("people", "diagnoses", "conditions"):
        out[f"{sub}_rows"] = ds.dataset(path / sub).count_rows()
    out["size_gb"] = round(sum(f.stat().st_size for f in path.rglob("*.parquet")) / 1e9, 2)
    out["peak_gb"] = round(peak_memory_gb(), 2)
    return out


def bench_realism(n_validation: int, fraction: float, seed: int) -> dict:
    from capitation.datasets import _synthetic_checks as checks
    from capitation.datasets.synthetic import _reference, synthetic_england

    codes = _reference()["frame"].query("year == '2025/26'")["practice_code"].to_numpy(str)
    pick = np.random.default_rng(42).choice(codes, n_validation, replace=False)
    est = synthetic_england(fraction, seed=seed, practices=list(np.setdiff1d(codes, pick)))
    val = synthetic_england(1.0, seed=seed, practices=list(pick))
    out = {"estimation_people": len(est.people), "validation_practices": n_validation,
           "validation_people": len(val.people)}
    out.update(checks.realism(est))
    out.update(checks.ladder(est, val))
    out.update(checks.wp_correlation(val))
    q = checks.qof_agreement(val)
    out["qof_practice_correlation_min"] = min(v[0] for v in q.values())
    out["qof_practice_correlation_median"] = float(np.median([v[0] for v in q.values()]))
    return {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else int(v)) for k, v in out.items()}


#: The rungs of BMJ 2011 Table 1, in order, as the keys of the figures.
RUNG_KEYS = ("age_sex", "diagnoses", "area_effects", "need_supply", "parsimonious")


def bench_pbra(seed: int) -> dict:
    from capitation.datasets import _synthetic_checks as checks
    from capitation.model import pbra_ladder

    t = time.perf_counter()
    est, val = checks.pbra_design(seed)
    out = {"seed": seed, "generate_s": round(time.perf_counter() - t, 1),
           "estimation_practices": est.people["practice_code"].nunique(), "estimation_people": len(est.people),
           "validation_practices": val.people["practice_code"].nunique(), "validation_people": len(val.people)}
    table = pbra_ladder(**checks.pbra_tables(est, val), seed=seed).to_frame()
    for key, (_, row) in zip(RUNG_KEYS, table.iterrows(), strict=True):
        out[f"person_r2_{key}"] = row["r2_estimation"]
        out[f"validation_r2_{key}"] = row["r2_validation"]
        out[f"practice_r2_{key}"] = row["r2_practice"]
        out[f"share_off_10pct_{key}"] = row["share_practices_off_10pct"]
    out["ladder_s"] = round(time.perf_counter() - t - out["generate_s"], 1)
    # the independent check: plain-numpy OLS on the generator's own categories (not the library's grouping)
    out.update({f"oracle_{k}": v for k, v in checks.pbra_rungs(est, val).items()})
    r = checks.realism(est)
    out["top1pct_share_of_cost"] = r["top1pct_share_of_cost"]
    out["admission_ratio_q1_q5_age_sex_standardised"] = r["admission_ratio_q1_q5_age_sex_standardised"]
    out["mean_cost_per_head"] = r["mean_cost_per_head"]
    wp = checks.wp_correlation(val)
    out["r_need_vs_ga_wp"] = wp["r_need_vs_ga_wp"]
    out["wp_practices"] = wp["practices"]
    out["seconds"] = round(time.perf_counter() - t, 1)
    return {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else int(v)) for k, v in out.items()}


def bench_pbra_seeds(seeds: list[int]) -> dict:
    runs = [bench_pbra(s) for s in seeds]
    out = {"runs": runs}
    if len(runs) > 1:
        keys = [k for k in runs[0] if k != "seed"]
        out["summary"] = {k: {"mean": round(float(np.mean([r[k] for r in runs])), 4),
                              "min": min(r[k] for r in runs), "max": max(r[k] for r in runs)} for k in keys}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["sample", "england", "realism"])
    parser.add_argument("--fraction", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=str, default=None, help="comma-separated seeds (realism --design pbra)")
    parser.add_argument("--design", choices=["default", "pbra"], default="default",
                        help="realism: the default design or the PBRA-like one (1,000 practices at 65%%)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=200, help="practices per chunk when streaming")
    parser.add_argument("--validation", type=int, default=300, help="full-size validation practices")
    parser.add_argument("--out", type=Path, default=Path("/tmp/synthetic_england"))
    parser.add_argument("--practices", type=int, default=None, help="only the first N practices (england)")
    args = parser.parse_args()
    if args.what == "sample":
        res = bench_sample(args.fraction or 0.01, args.seed, args.repeat)
    elif args.what == "england":
        res = bench_england(args.out, args.chunk, args.seed, args.practices)
    elif args.design == "pbra":
        seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [args.seed]
        res = bench_pbra_seeds(seeds)
    else:
        res = bench_realism(args.validation, args.fraction or 0.02, args.seed)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
