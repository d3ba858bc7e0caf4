"""The ``capitation`` command: one module per subcommand, each with ``add_parser(sub)`` and ``run(args)``.

Errors print one line (``capitation: error: ...``) and exit with status 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__

__all__ = ["main"]


#: Subcommands in the order ``--help`` lists them; each is a module of this package with
#: ``add_parser(sub)`` registering itself and ``run(args)`` returning the exit status.
SUBCOMMANDS = ("demo", "synth", "fit", "score", "allocate", "report", "reproduce")


def _parser() -> argparse.ArgumentParser:
    import importlib
    import importlib.util

    parser = argparse.ArgumentParser(prog="capitation", description="Person-based resource allocation for GP "
                                     "practices and their consortia.")
    parser.add_argument("--version", action="version", version=f"capitation {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``capitation`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if not 0 < getattr(args, "fraction", 0.5) <= 1:
        parser.error(f"--fraction must be in (0, 1]; got {args.fraction}")
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("capitation: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for people, the traceback with --debug
        if args.debug:
            raise
        print(f"capitation: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
