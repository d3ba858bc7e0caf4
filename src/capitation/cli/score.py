"""``capitation score``: a saved model and people → predicted need per person (CSV or Parquet)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run", "score_people"]

#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"path": "--out"}
#: Options naming inputs (an output may not overwrite one of them).
INPUTS = ("model", "people", "diagnoses", "conditions", "areas")
#: The suffixes --out may have (capitation._io.write_table writes CSV or Parquet).
TABLE_SUFFIXES = (".csv", ".parquet")


def score_people(args: argparse.Namespace, *, neutralise: bool = True):
    """Load ``args.model``, encode ``args.people`` with its spec and score them: ``(people, need, model)``."""
    from ..errors import InputError
    from ..persist import load_model
    from ..scoring import score
    from . import about
    from .fit import encode_inputs

    with about("--model"):
        model = load_model(args.model)
    if model.spec_ is None:
        raise InputError(f"The --model file {args.model!r} was saved without its feature spec, so it cannot "
                         "encode people. Fix: refit it with capitation fit, which saves the spec with the model.")
    people, X = encode_inputs(model.spec_, args, cost=False)
    need = score(model, X) if neutralise else score(model, X, neutralise=None)
    return people, need, model


def check_table_suffix(path, option: str) -> None:
    """Refuse, before the work, an output table whose name does not end in .csv or .parquet."""
    from pathlib import Path

    from ..errors import OutputError

    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        got = repr(suffix) if suffix else "no suffix"
        raise OutputError(f"The {option} option names {str(path)!r}, which does not end in .csv or .parquet (got "
                          f"{got}); the format is chosen by the suffix. Fix: add one, e.g. "
                          f"{str(Path(path).with_suffix('.csv'))!r}.")


def run(args: argparse.Namespace) -> int:
    """Score the people and write one row per person to ``args.out``; returns the exit status."""
    import pandas as pd

    from .._io import write_table
    from .._progress import progress
    from ..manifest import record_run
    from . import check_outputs

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    check_outputs(args, [("--out", args.out, "file"), ("--manifest", args.manifest, "file")], inputs=INPUTS)
    check_table_suffix(args.out, "--out")
    state: dict = {}

    def compute():
        state["people"], state["need"], _ = score_people(args, neutralise=not args.observed)

    def write():
        people = state["people"]
        frame = pd.DataFrame({"person_id": people.person_id, "practice_code": people.practice_code,
                              "exposure": people.exposure, "need": state["need"]})
        state["written"] = [write_table(frame, args.out)]

    for _, step in progress((("score", compute), ("write", write)), desc="capitation score", unit="step",
                            enabled=False if args.quiet else None):
        step()
    need = state["need"]
    say(f"capitation score: {len(need):,} people, mean need £{need.mean():,.2f} per year "
        f"({'as observed' if args.observed else 'supply neutralised'}); written to {args.out}")
    if args.manifest:
        inputs = {k: getattr(args, k) for k in ("model", "people", "diagnoses", "conditions", "areas")}
        record_run("score", args, inputs=inputs, outputs={"out": state["written"]}).write(args.manifest)
        say(f"  manifest {args.manifest}")
    return 0


def add_parser(sub) -> None:
    """Register ``score`` on the subcommand parsers ``sub``."""
    from .fit import add_inputs

    p = sub.add_parser("score", help="predict each person's need with a saved model",
                       description="Encode the people with the saved model's feature spec and predict each "
                       "person's annual hospital need (£), supply effects held at the national mean. Writes "
                       "person_id, practice_code, exposure and need.")
    p.add_argument("--model", required=True, help="saved model (JSON, with its .npz beside it)")
    add_inputs(p, model_given=False)
    p.add_argument("--out", required=True, help="file to write: .csv or .parquet")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (--out, --manifest); "
                   "by default they are refused")
    p.add_argument("--observed", action="store_true", help="score every column as observed (no neutralisation)")
    p.add_argument("--manifest", default=None, help="write a run manifest (JSON) here, for capitation reproduce")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
