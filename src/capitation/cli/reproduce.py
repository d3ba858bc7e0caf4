"""``capitation reproduce MANIFEST``: re-run a recorded command and confirm its outputs are bit-identical."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    """Re-run the manifest's command; 0 when every output is bit-identical, 1 otherwise."""
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
    """Register ``reproduce`` on the subcommand parsers ``sub``."""
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
