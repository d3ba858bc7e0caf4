"""``capitation allocate``: need per practice or per person + a control total → practice and ICB budgets."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..allocation.external import need_from_table
from ._inputs import add_inputs, add_list_sizes, read_membership

__all__ = ["add_parser", "check_level", "need_from_table", "run"]

#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"outcome_year": "--year", "path": "--out", "Membership.from_frame": "--membership"}
#: Options naming inputs (an output may not overwrite one of them).
INPUTS = ("need", "model", "people", "diagnoses", "conditions", "areas", "membership", "list_sizes")


def check_level(level: str) -> str:
    """Check ``--level``, which names the consortium file (``<level>_budgets``): a plain name, not ``practice``.

    Parameters
    ----------
    level : str
        The name of the consortium level (``"ICB"``, ``"PCN"``, ``"place"``).

    Returns
    -------
    str
        ``level``, unchanged.

    Raises
    ------
    InputError
        ``level`` is not a plain name of letters, digits, ``-`` and ``_``, or is ``practice`` (in any case),
        whose file would overwrite the practice table.

    Examples
    --------
    >>> from capitation.errors import InputError
    >>> check_level("PCN")
    'PCN'
    >>> try:
    ...     check_level("Practice")
    ... except InputError as exc:
    ...     print(str(exc).split(". Fix")[0])
    The --level option 'practice' would write the consortium table over practice_budgets
    """
    import re

    from ..errors import InputError

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", level or ""):
        raise InputError(f"The --level option {level!r} names the consortium output file (<level>_budgets), so it "
                         "must be a plain name of letters, digits, - and _. Fix: e.g. --level ICB or --level PCN.")
    if level.lower() == "practice":
        raise InputError("The --level option 'practice' would write the consortium table over "
                         "practice_budgets. Fix: name the consortium level, e.g. --level ICB or --level PCN.")
    return level


def _pounds(pence) -> list[str]:
    from ..allocation.money import pence_to_text

    return [pence_to_text(p) for p in pence]


def _table(alloc, level: str):
    frame = alloc.to_frame(level, units="£000")  # budget_000: whole £'000 adding up to the control total
    frame["budget"] = _pounds(frame["budget_pence"])  # exact pounds and pence, as text
    return frame.reset_index()


def run(args: argparse.Namespace) -> int:
    """Allocate the control total and write the practice and consortium tables into ``args.out``.

    Need comes from ``--need`` (per person, summed exactly over each list, or per practice; see
    :func:`~capitation.allocation.external.need_from_table`) or from ``--model`` scoring ``--people``.
    ``--level``, the control total and every output are checked before any work. The tables,
    ``practice_budgets`` and ``<level>_budgets``, hold each budget in pounds and pence (``budget``, exact,
    as text) and in whole £'000 (``budget_000``, adding up to the control total).

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``allocate`` parser defines them (:func:`add_parser`).

    Returns
    -------
    int
        The exit status, 0. Errors are raised (:class:`~capitation.errors.CapitationError`), and
        :func:`capitation.cli.main` prints them as one line with status 1.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"], "need": [3.0, 1.0, 2.0],
    ...                   "registered": [30, 10, 20]}).to_csv(f"{d}/need.csv", index=False)
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"], "consortium_code": ["P1", "P1", "P2"]}
    ...                  ).to_csv(f"{d}/places.csv", index=False)
    ...     args = sub.choices["allocate"].parse_args(["--need", f"{d}/need.csv", "--membership", f"{d}/places.csv",
    ...                                                "--level", "place", "--control-total", "1000",
    ...                                                "--out", f"{d}/out", "--quiet"])
    ...     status = run(args)
    ...     places = pd.read_csv(f"{d}/out/place_budgets.csv", dtype={"budget": str})
    >>> status, places["consortium_code"].tolist(), places["budget"].tolist()
    (0, ['P1', 'P2'], ['666.67', '333.33'])
    """
    from .._io import read_table, write_table
    from .._progress import progress
    from .._results import text_table
    from ..aggregation.aggregate import aggregate
    from ..allocation.allocate import allocate
    from ..errors import InputError
    from . import check_control_total, check_outputs, write_manifest
    from ._inputs import read_list_sizes, score_people

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    if (args.need is None) == (args.model is None):
        raise InputError("capitation allocate needs either --need FILE (need per practice or per person) or "
                         "--model FILE with --people (to score them first), not both. Fix: pass one of them.")
    if args.model is not None and args.people is None:
        raise InputError("capitation allocate --model scores the people of --people, which was not given. Fix: "
                         "pass --people FILE (and their --diagnoses), or give the need itself with --need.")
    unused = [f"--{k}" for k in ("people", "diagnoses", "conditions", "areas") if getattr(args, k) is not None]
    if args.need is not None and unused:
        raise InputError(f"capitation allocate reads the need from --need, so {', '.join(unused)} would be "
                         "ignored. Fix: leave them out, or use --model instead of --need to score those people.")
    level = check_level(args.level)
    check_control_total(args)
    out = Path(args.out)
    files = {"practice": out / f"practice_budgets.{args.format}",
             "consortium": out / f"{level.lower()}_budgets.{args.format}"}
    check_outputs(args, [("--out", files["practice"], "file"), ("--out", files["consortium"], "file"),
                         ("--manifest", args.manifest, "file")], inputs=INPUTS)
    state: dict = {"membership": read_membership(args.membership, args.year, args.level)}

    lists = read_list_sizes(args)

    def need():
        membership = state["membership"]
        if args.need is not None:
            table = read_table(args.need, "need")
            if "person_id" not in table.columns and lists is not None:
                raise InputError("The --need table is per practice, with its own 'registered' column, so "
                                 "--list-sizes/--fund-observed would not be used. Fix: leave them out, or give "
                                 "need per person (as capitation score writes).")
            state["need"] = need_from_table(table, membership=membership, list_sizes=lists,
                                            unassigned=args.unassigned)
        else:
            people, need, _ = score_people(args)
            state["need"] = aggregate(people, need, membership=membership, list_sizes=lists,
                                      unassigned=args.unassigned)

    def money():
        state["alloc"] = allocate(state["need"], args.control_total, membership=state["membership"],
                                  unassigned=args.unassigned)

    def write():
        alloc = state["alloc"]
        state["written"] = [write_table(_table(alloc, "practice"), files["practice"]),
                            write_table(_table(alloc, "consortium"), files["consortium"])]

    for _, step in progress((("need", need), ("allocate", money), ("write", write)), desc="capitation allocate",
                            unit="step", enabled=False if args.quiet else None):
        step()
    alloc = state["alloc"]
    for line in state["need"].summary().splitlines()[1:] if hasattr(state["need"], "not_funded") else []:
        say(f"note: {line}")
    say(text_table(alloc.budget_table()))
    say(f"\n{alloc.control_total} to {len(alloc.practices):,} practices in {len(alloc.consortia)} consortia "
        f"(registered: {alloc.parameters['list_source']}); practice pence sum to the control total: "
        f"{alloc.reconciles}. Written to {out}/")
    unfunded = alloc.parameters["unfunded_practices"]
    if unfunded:
        say(f"{unfunded:,} practice(s) of the membership get no budget: they are listed in "
            f"{files['practice'].name} with a budget of 0 and the reason.")
    write_manifest("allocate", args, {"out": state["written"]}, say, INPUTS)
    return 0


def add_parser(sub) -> None:
    """Register ``allocate`` on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser, as ``ArgumentParser.add_subparsers`` returns
        them; the ``allocate`` parser is added with :func:`run` as its ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["allocate"].parse_args(["--need", "need.csv", "--out", "budgets"])
    >>> args.control_total, args.level, args.unassigned, args.format, args.run is run
    ('55000000000', 'ICB', 'raise', 'csv', True)
    """
    from . import DEFAULT_CONTROL_TOTAL

    p = sub.add_parser("allocate", help="share a control total between practices and ICBs, to the penny",
                       description="Share a control total between practices in proportion to their need, in "
                       "whole pence, and sum practices into their consortia (ICBs by default). Need comes from "
                       "--need (per person: person_id, practice_code, need, as written by capitation score; or "
                       "per practice: practice_code, need, registered) or from --model with --people. Writes "
                       "practice and consortium tables with budgets in £ (budget, exact) and £'000 "
                       "(budget_000: whole £'000 by largest remainder, adding up to the control total).")
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
    add_list_sizes(p)
    p.add_argument("--unassigned", choices=("raise", "line"), default="raise",
                   help="practices without a consortium: an error, or an UNASSIGNED line (default: %(default)s)")
    p.add_argument("--out", required=True, help="folder for practice_budgets and <level>_budgets")
    p.add_argument("--overwrite", action="store_true", help="replace those files (and --manifest) if they exist; "
                   "by default they are refused")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="(default: %(default)s)")
    p.add_argument("--manifest", default=None, help="write a run manifest (JSON) here, for capitation reproduce")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
