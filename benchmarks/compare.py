"""Compare two ``benchmarks/run.py --json`` outputs figure by figure: what got faster, what got slower.

Run from the repository root::

    python benchmarks/run.py --tier england --england /tmp/se --json /tmp/new.json
    python benchmarks/compare.py benchmarks/results/england.json /tmp/new.json [--threshold 0.1]

Figures are matched by benchmark and description (sizes are part of the description, so a figure measured on
other sizes does not match). For each, it prints the old and new value, new ÷ old, and — where both runs
measured a baseline in the same run — the old and new ratio to it, which is the figure to compare across
machines: absolute times move with the machine and its load, ratios to a baseline measured side by side much
less. Nothing here fails a build: a slower figure is information, not a verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(path: Path) -> dict:
    """Read one run's figures, keyed by (benchmark, what)."""
    document = json.loads(path.read_text())
    return {"machine": document.get("machine", "?"), "tier": document.get("tier", "?"),
            "figures": {(f["benchmark"], f["what"]): f for f in document["figures"]}}


def compare(old: dict, new: dict, threshold: float = 0.1) -> list[dict]:
    """One row per figure in both runs: values, new ÷ old, the ratios to their baselines, and a verdict."""
    rows = []
    for key in sorted(old["figures"].keys() & new["figures"].keys()):
        a, b = old["figures"][key], new["figures"][key]
        change = None if not a["value"] else b["value"] / a["value"]
        ratio_change = None if not a.get("ratio") or b.get("ratio") is None else b["ratio"] / a["ratio"]
        basis = ratio_change if ratio_change is not None else change
        lower_is_better = a["unit"] in ("s", "GB")
        verdict = ""
        if basis is not None and (lower_is_better or a["unit"].endswith("/s")):
            better = basis < 1 if lower_is_better else basis > 1
            if abs(basis - 1) > threshold:
                verdict = "better" if better else "WORSE"
        rows.append({"benchmark": key[0], "what": key[1], "unit": a["unit"], "old": a["value"], "new": b["value"],
                     "change": change, "old_ratio": a.get("ratio"), "new_ratio": b.get("ratio"),
                     "ratio_change": ratio_change, "verdict": verdict})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--threshold", type=float, default=0.1, help="relative change reported as better/WORSE")
    args = parser.parse_args(argv)
    old, new = load(args.old), load(args.new)
    print(f"old: {args.old} (tier {old['tier']}; {old['machine']})")
    print(f"new: {args.new} (tier {new['tier']}; {new['machine']})\n")
    if old["tier"] != new["tier"]:
        print(f"note: the runs are of different tiers ({old['tier']}, {new['tier']}); figures whose descriptions do "
              "not name their sizes are matched across sizes, so read their ratios with care.\n")

    def fmt(v):
        return "—" if v is None else f"{v:.3g}"

    for row in compare(old, new, args.threshold):
        ratios = ("" if row["ratio_change"] is None else
                  f" | ratio to baseline {fmt(row['old_ratio'])}× → {fmt(row['new_ratio'])}×")
        print(f"[{row['benchmark']}] {row['what']}: {fmt(row['old'])} → {fmt(row['new'])} {row['unit']} "
              f"(×{fmt(row['change'])}){ratios} {row['verdict']}".rstrip())
    only = sorted(old["figures"].keys() ^ new["figures"].keys())
    if only:
        print(f"\n{len(only)} figure(s) in one run only (other sizes or benchmarks).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
