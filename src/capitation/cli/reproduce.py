"""``capitation reproduce MANIFEST``: re-run a recorded command and confirm its outputs are bit-identical."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    """Re-run the command ``args.manifest_file`` records and compare every output's sha256 with the recorded one.

    ``--keep`` is checked before the re-run (a new or empty folder). The verdict and each output's hashes
    are printed unless ``--quiet``; the work is :func:`capitation.cli.manifest.reproduce`'s.

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``reproduce`` parser defines them (:func:`add_parser`): ``manifest_file``,
        ``keep`` and ``quiet``.

    Returns
    -------
    int
        The exit status: 0 when every input is unchanged and every output bit-identical, 1 otherwise.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from capitation.cli import CommandLineParser, main
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "need": [3.0, 1.0],
    ...                   "registered": [30, 10]}).to_csv(f"{d}/need.csv", index=False)
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "consortium_code": ["Q1", "Q1"]}).to_csv(
    ...         f"{d}/icbs.csv", index=False)
    ...     recorded = main(["allocate", "--need", f"{d}/need.csv", "--membership", f"{d}/icbs.csv",
    ...                      "--control-total", "1000", "--out", f"{d}/out", "--manifest", f"{d}/run.json",
    ...                      "--quiet"])
    ...     status = run(sub.choices["reproduce"].parse_args([f"{d}/run.json"]))  # doctest: +ELLIPSIS
    capitation reproduce: allocate run of ... (capitation ...)
    bit-identical: every output has the recorded sha256
      same    practice_budgets.csv  ... -> ...
      same    icb_budgets.csv  ... -> ...
    >>> recorded, status
    (0, 0)
    """
    from .._io import check_output
    from .manifest import read_manifest, reproduce

    manifest = read_manifest(args.manifest_file)
    if args.keep is not None:  # before the re-run: a file there, or an earlier run's outputs, are refused
        check_output(args.keep, kind="folder", overwrite=False, name="--keep")
    if not args.quiet:
        print(f"capitation reproduce: {manifest.command} run of {manifest.created} "
              f"(capitation {manifest.environment.get('capitation')})", flush=True)
    result = reproduce(manifest, workdir=args.keep)
    if not args.quiet:
        print(result.summary(), flush=True)
    return 0 if result.identical else 1


def add_parser(sub) -> None:
    """Register ``reproduce`` on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser, as ``ArgumentParser.add_subparsers`` returns
        them; the ``reproduce`` parser is added with :func:`run` as its ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["reproduce"].parse_args(["run.json", "--keep", "again"])
    >>> args.manifest_file, args.keep, args.quiet, args.run is run
    ('run.json', 'again', False, True)
    """
    p = sub.add_parser("reproduce", help="re-run a recorded run and confirm its outputs are bit-identical",
                       description="Check that the inputs recorded in MANIFEST are unchanged, re-run the "
                       "command with every recorded parameter into a temporary folder, and compare each "
                       "output's sha256 with the recorded one. Exits 0 when all are identical, 1 otherwise. "
                       "Every path in MANIFEST must lie inside MANIFEST's folder: one that escapes it (absolute, "
                       "'..', or a symlink out) is refused, and the re-run writes only in its work folder.")
    p.add_argument("manifest_file", metavar="MANIFEST", help="manifest written by --manifest")
    p.add_argument("--keep", default=None, metavar="DIR",
                   help="re-create the outputs in DIR (new or empty) and keep them")
    p.add_argument("--quiet", action="store_true", help="print nothing; the exit status tells")
    p.set_defaults(run=run)
