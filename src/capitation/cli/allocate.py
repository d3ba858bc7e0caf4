"""``capitation allocate``: need per practice or per person + a control total → practice and ICB budgets."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "need_from_table", "run"]


def need_from_table(frame):
    """Practice need from a table: per person (``person_id``, ``practice_code``, ``need``) summed exactly
    over each list, or per practice (``practice_code``, ``need``, ``registered``)."""
    import numpy as np
    import pandas as pd

    from .._validation import require_columns
    from ..aggregation import Aggregation, exact_group_sum
    from ..aggregation.aggregate import FIXED_POINT_SCALE

    if "person_id" in frame.columns:
        require_columns(frame, "need", ["practice_code", "need"])
        need = pd.to_numeric(frame["need"], errors="raise").to_numpy(dtype=np.float64)
        codes, practices = pd.factorize(frame["practice_code"].astype(str).to_numpy(), sort=True)
        fixed = exact_group_sum(need, codes.astype(np.int32), len(practices), "need")
        table = pd.DataFrame({"registered": np.bincount(codes, minlength=len(practices)),
                              "need": fixed / FIXED_POINT_SCALE},
                             index=pd.Index(np.asarray(practices, dtype=object), name="practice_code"))
        return Aggregation(table, None, fixed)
    require_columns(frame, "need", ["practice_code", "need", "registered"])
    return frame.set_index(frame["practice_code"].astype(str).to_numpy())[["need", "registered"]]


def _membership(args: argparse.Namespace):
    from ..aggregation import Membership
    from ..persist import read_table

    if not args.membership:
        return Membership.nhs_england(args.year, level=args.level)
    frame = read_table(args.membership, "membership")
    if "consortium_code" not in frame.columns and "icb_code" in frame.columns:  # e.g. capitation synth's practices
        return Membership.from_frame(frame, consortium="icb_code",
                                     name="icb_name" if "icb_name" in frame.columns else None, level=args.level)
    return Membership.from_frame(frame, level=args.level)


def _pounds(pence) -> list[str]:
    from ..allocation.money import pence_to_text

    return [pence_to_text(p) for p in pence]


def _table(alloc, level: str):
    from ..allocation import thousands

    frame = alloc.to_frame(level, units="£000")
    frame["budget"] = _pounds(frame["budget_pence"])  # exact pounds and pence, as text
    frame["budget_000"] = thousands(frame["budget_pence"].to_numpy())  # £'000, half up, as NHS England publishes
    return frame.reset_index()


def run(args: argparse.Namespace) -> int:
    """Allocate the control total and write the practice and consortium tables; returns the exit status."""
    import pandas as pd

    from .._progress import progress
    from ..aggregation import aggregate
    from ..allocation import allocate, format_pounds, thousands
    from ..errors import InputError
    from ..manifest import record_run
    from ..persist import read_table, write_table

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    if (args.need is None) == (args.model is None):
        raise InputError("capitation allocate needs either --need FILE (need per practice or per person) or "
                         "--model FILE with --people (to score them first), not both. Fix: pass one of them.")
    out = Path(args.out)
    state: dict = {}

    def need():
        if args.need is not None:
            state["need"] = need_from_table(read_table(args.need, "need"))
        else:
            from .score import score_people

            people, need, _ = score_people(args)
            state["need"] = aggregate(people, need)

    def money():
        state["membership"] = _membership(args)
        state["alloc"] = allocate(state["need"], args.control_total, membership=state["membership"],
                                  unassigned=args.unassigned)

    def write():
        alloc, level = state["alloc"], state["membership"].level
        state["written"] = [write_table(_table(alloc, "practice"), out / f"practice_budgets.{args.format}"),
                            write_table(_table(alloc, "consortium"), out / f"{level.lower()}_budgets.{args.format}")]

    for _, step in progress((("need", need), ("allocate", money), ("write", write)), desc="capitation allocate",
                            unit="step", enabled=False if args.quiet else None):
        step()
    alloc = state["alloc"]
    c = alloc.consortia
    shown = pd.DataFrame({
        state["membership"].level: c.index,
        "name": c["consortium_name"].astype(str).str.slice(0, 40),
        "registered": c["registered"].map("{:,.0f}".format),
        "budget £": c["budget_pence"].map(format_pounds),
        "£'000": [f"{v:,}" for v in thousands(c["budget_pence"].to_numpy())],
        "£ per head": c["budget_per_head"].map("{:,.2f}".format),
    })
    say(shown.to_string(index=False))
    reconciles = int(alloc.practices["budget_pence"].sum()) == alloc.control_total_pence
    say(f"\n{alloc.control_total} to {len(alloc.practices):,} practices in {len(c)} consortia; practice pence sum "
        f"to the control total: {reconciles}. Written to {out}/")
    if args.manifest:
        inputs = {k: getattr(args, k) for k in ("need", "model", "people", "diagnoses", "conditions", "areas",
                                                "membership")}
        record_run("allocate", args, inputs=inputs, outputs={"out": state["written"]}).write(args.manifest)
        say(f"manifest {args.manifest}")
    return 0


def add_parser(sub) -> None:
    """Register ``allocate`` on the subcommand parsers ``sub``."""
    from .demo import DEFAULT_CONTROL_TOTAL
    from .fit import add_inputs

    p = sub.add_parser("allocate", help="share a control total between practices and ICBs, to the penny",
                       description="Share a control total between practices in proportion to their need, in "
                       "whole pence, and sum practices into their consortia (ICBs by default). Need comes from "
                       "--need (per person: person_id, practice_code, need, as written by capitation score; or "
                       "per practice: practice_code, need, registered) or from --model with --people. Writes "
                       "practice and consortium tables with budgets in £ (budget, exact) and £'000 "
                       "(budget_000, rounded half up).")
    p.add_argument("--need", default=None, help="need table (CSV or Parquet), per person or per practice")
    p.add_argument("--model", default=None, help="saved model: score --people first")
    add_inputs(p, model_given=True)
    p.add_argument("--control-total", default=DEFAULT_CONTROL_TOTAL,
                   help="pounds to allocate, a whole number of pence (default: %(default)s)")
    p.add_argument("--year", default="2025/26", help="year of NHS England's ICB membership (default: %(default)s)")
    p.add_argument("--membership", default=None, help="practice → consortium table (practice_code, "
                   "consortium_code[, consortium_name], or icb_code/icb_name) instead of NHS England's")
    p.add_argument("--level", default="ICB", help="name of the consortium level, used in file names "
                   "(default: %(default)s)")
    p.add_argument("--unassigned", choices=("raise", "line"), default="raise",
                   help="practices without a consortium: an error, or an UNASSIGNED line (default: %(default)s)")
    p.add_argument("--out", required=True, help="folder for practice_budgets and <level>_budgets")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="(default: %(default)s)")
    p.add_argument("--manifest", default=None, help="write a run manifest (JSON) here, for capitation reproduce")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
