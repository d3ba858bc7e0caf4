"""``capitation score``: a saved model and people → predicted need per person (CSV or Parquet)."""

from __future__ import annotations

import argparse

from . import TABLE_SUFFIXES, check_table_suffix  # noqa: F401 - importable from here, as before
from ._inputs import add_inputs, score_people

__all__ = ["add_parser", "run", "score_people"]

#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"path": "--out"}
#: Options naming inputs (an output may not overwrite one of them).
INPUTS = ("model", "people", "diagnoses", "conditions", "areas")


def run(args: argparse.Namespace) -> int:
    """Score the people with a saved model and write one row per person to ``args.out``.

    The outputs are checked before any work (``--out`` must end in .csv or .parquet). The people are encoded
    with the model's saved spec and their need predicted with supply held at the national mean, or as
    observed with ``--observed``; the file has ``person_id``, ``practice_code``, ``exposure`` and ``need``.

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``score`` parser defines them (:func:`add_parser`).

    Returns
    -------
    int
        The exit status, 0. Errors are raised (:class:`~capitation.errors.CapitationError`), and
        :func:`capitation.cli.main` prints them as one line with status 1.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation.cli import CommandLineParser, main
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"person_id": np.arange(200), "practice_code": rng.choice(["A81001", "A81002"], 200),
    ...                        "sex": rng.choice(["F", "M"], 200), "age": rng.integers(0, 95, 200),
    ...                        "lsoa_code": "E01000001", "cost": rng.gamma(0.5, 900, 200).round(2)})
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     people.to_csv(f"{d}/people.csv", index=False)
    ...     fitted = main(["fit", "--people", f"{d}/people.csv", "--no-diagnoses", "--out", f"{d}/model.json",
    ...                    "--quiet"])
    ...     args = sub.choices["score"].parse_args(["--model", f"{d}/model.json", "--people", f"{d}/people.csv",
    ...                                             "--out", f"{d}/need.csv", "--quiet"])
    ...     status = run(args)
    ...     need = pd.read_csv(f"{d}/need.csv")
    >>> fitted, status, list(need.columns), len(need)
    (0, 0, ['person_id', 'practice_code', 'exposure', 'need'], 200)
    """
    import pandas as pd

    from .._io import write_table
    from .._progress import progress
    from . import check_outputs, write_manifest

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
    write_manifest("score", args, {"out": state["written"]}, say, INPUTS)
    return 0


def add_parser(sub) -> None:
    """Register ``score`` on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser, as ``ArgumentParser.add_subparsers`` returns
        them; the ``score`` parser is added with :func:`run` as its ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["score"].parse_args(["--model", "model.json", "--people", "people.csv",
    ...                                         "--out", "need.parquet", "--observed"])
    >>> args.model, args.out, args.observed, args.run is run
    ('model.json', 'need.parquet', True, True)
    """
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
