"""``capitation synth``: write a synthetic registered population of England as Parquet or CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]

TABLES = ("people", "diagnoses", "conditions", "areas", "practices")
#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"outcome_year": "--year", "path": "--out"}


def run(args: argparse.Namespace) -> int:
    """Generate the population and write its tables into ``args.out``, as Parquet or CSV.

    The outputs are checked first: a ``--out`` folder that is not empty (or a ``--manifest`` file that exists)
    is refused, before any work, unless ``--overwrite``. The tables are ``people``, ``diagnoses``,
    ``conditions``, ``areas`` and ``practices``; Parquet is streamed into partitioned folders (with the
    generator's truth tables), so all England fits in bounded memory. A small run, such as
    ``capitation synth --fraction 0.0005 --practices A81001 --out se``, takes a few seconds after the
    generator's numba kernels have compiled (about 15 seconds, once per process).

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``synth`` parser defines them (:func:`add_parser`): ``out``, ``fraction``,
        ``seed``, ``year``, ``practices``, ``list_inflation``, ``format``, ``overwrite``, ``manifest`` and
        ``quiet``.

    Returns
    -------
    int
        The exit status, 0. Errors are raised (:class:`~capitation.errors.CapitationError`), and
        :func:`capitation.cli.main` prints them as one line with status 1.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from capitation.cli import CommandLineParser
    >>> from capitation.errors import OutputError
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (pathlib.Path(d) / "notes.txt").write_text("an earlier run")
    ...     args = sub.choices["synth"].parse_args(["--fraction", "0.0005", "--practices", "A81001",
    ...                                             "--out", d, "--quiet"])
    ...     try:
    ...         run(args)
    ...     except OutputError as exc:
    ...         print("refused before any work: --out", str(exc).split("which ")[1].split(",")[0])
    refused before any work: --out is not empty
    """
    from .._io import write_table
    from ..datasets.synthetic import synthetic_england, write_synthetic_england
    from . import check_outputs, write_manifest

    out = Path(args.out)
    check_outputs(args, [("--out", out, "folder"), ("--manifest", args.manifest, "file")])
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    practices = [p.strip() for p in args.practices.split(",") if p.strip()] if args.practices else None
    show = False if args.quiet else None
    if args.format == "parquet":
        # check_outputs has refused a non-empty --out unless --overwrite (and created it empty): replace it.
        write_synthetic_england(out, args.fraction, seed=args.seed, outcome_year=args.year, practices=practices,
                                list_inflation=args.list_inflation, progress=show, overwrite=True)
        written = sorted(p for p in out.rglob("*") if p.is_file())
        import pyarrow.dataset as ds

        people, records = ds.dataset(out / "people").count_rows(), ds.dataset(out / "diagnoses").count_rows()
    else:
        synth = synthetic_england(args.fraction, seed=args.seed, outcome_year=args.year, practices=practices,
                                  list_inflation=args.list_inflation, progress=show)
        written = [write_table(getattr(synth, name), out / f"{name}.csv") for name in TABLES]
        people, records = len(synth.people), len(synth.diagnoses)
    say(f"capitation synth: {people:,} people and {records:,} diagnosis records ({args.fraction:.2%} of "
        f"{args.year} England, seed {args.seed}) written to {out}/ as {args.format}: {', '.join(TABLES)}")
    write_manifest("synth", args, {"out": written}, say)
    return 0


def add_parser(sub) -> None:
    """Register ``synth`` on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser, as ``ArgumentParser.add_subparsers`` returns
        them; the ``synth`` parser is added with :func:`run` as its ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["synth"].parse_args(["--out", "se", "--fraction", "0.0005", "--practices", "A81001"])
    >>> args.fraction, args.practices, args.format, args.year, args.run is run
    (0.0005, 'A81001', 'parquet', '2025/26', True)
    """
    from . import fraction, non_negative_int

    p = sub.add_parser("synth", help="write a synthetic registered population (people, diagnoses, ...)",
                       description="Generate a synthetic sample of England's registered population on NHS "
                       "England's real practices and write its tables (people, diagnoses, conditions, areas, "
                       "practices) as Parquet (partitioned folders, streamed) or CSV. The same seed gives the "
                       "same people.")
    p.add_argument("--out", required=True, help="folder to write; a folder that is not empty is refused unless "
                   "--overwrite")
    p.add_argument("--fraction", type=fraction, default=0.01, help="share of each practice's list to generate "
                   "(default: %(default)s, about 640,000 people for all England)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--year", default="2025/26", help="outcome year; its practices and ICBs (default: %(default)s)")
    p.add_argument("--practices", default=None, help="comma-separated practice codes (default: every practice)")
    p.add_argument("--list-inflation", type=float, default=0.0,
                   help="share of registered people no longer resident (default: %(default)s)")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="(default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder (and --manifest)")
    p.add_argument("--manifest", default=None, help="write a run manifest (JSON) here, for capitation reproduce")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
