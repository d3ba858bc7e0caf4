"""``capitation report``: fit, validate and allocate, then write a self-contained HTML report.

The work is :func:`capitation.report.committee.committee_report`'s (which says how the samples are drawn);
this module reads the options and tables, checks them before the work, and prints. Two sources of people:
synthetic England (default), or your tables (``--people``, with ``--diagnoses``, ``--conditions``, ``--areas``,
``--membership``, ``--baseline``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import time

from .._version import __version__

__all__ = ["add_parser", "run"]

#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"outcome_year": "--year", "path": "--out", "Membership.from_frame": "--membership"}
#: Options naming input tables (the report may not overwrite one of them).
INPUTS = ("people", "diagnoses", "conditions", "areas", "membership", "baseline", "list_sizes")
#: Options about your tables, which synthetic England (no --people) has its own of.
_TABLE_OPTIONS = ("diagnoses", "conditions", "areas", "need_vars", "supply_vars", "membership", "baseline",
                  "list_sizes")


def _icbs(args: argparse.Namespace) -> list[str] | None:
    """``--icbs`` as ICB codes, each refused now, before the work, unless an ICB of ``--year``."""
    from ..aggregation.membership import Membership
    from ..errors import InputError
    from ._inputs import names

    if not args.icbs:
        return None
    codes = list(names(args.icbs))
    membership = Membership.nhs_england(args.year)
    unknown = sorted(set(codes) - set(membership.table["consortium_code"]))
    if unknown or not codes:
        raise InputError(f"The --icbs option names {unknown or args.icbs!r}, which are not {args.year} ICB codes. "
                         "Fix: use codes such as QE1, as in NHS England's ICB list for --year.")
    return codes


def _tables(args: argparse.Namespace) -> dict:
    """``--people`` and the options about them, read, as :func:`committee_report`'s keyword arguments."""
    from .._io import read_table
    from ..allocation.external import baseline_from_table
    from ..errors import InputError
    from ._inputs import names, read_list_sizes, read_membership, read_records

    people = read_records(args.people, "people")
    membership = read_membership(args.membership, args.year, args.level) if args.membership else None
    areas = read_records(args.areas, "areas")
    need, supply = names(args.need_vars), names(args.supply_vars)
    if (need or supply) and areas is None:
        raise InputError(f"The model uses area variables {list(need + supply)} but no --areas table "
                         "was given. Fix: pass --areas FILE (lsoa_code and those columns).")
    if args.icbs:
        raise InputError("The --icbs option chooses synthetic England's practices, so it would be ignored with "
                         "--people. Fix: leave --icbs out, or give only those ICBs' people.")
    return {"list_sizes": read_list_sizes(args), "people": people,
            "diagnoses": read_records(args.diagnoses, "diagnoses"),
            "conditions": read_records(args.conditions, "conditions"), "areas": areas, "need": need,
            "supply": supply, "membership": membership, "fixed_effects": args.fixed_effects,
            "baseline": baseline_from_table(read_table(args.baseline, "baseline")) if args.baseline else None,
            "source": str(args.people)}


def run(args: argparse.Namespace) -> int:
    """Fit, validate and allocate, and write the self-contained HTML report to ``args.out``.

    matplotlib, the control total and ``--out`` are checked before any work. Without ``--people`` the report
    runs on synthetic England (``--fraction``, ``--validation-practices``, ``--icbs``); with it, on your
    tables. The work is :func:`capitation.report.committee.committee_report`'s.

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``report`` parser defines them (:func:`add_parser`).

    Returns
    -------
    int
        The exit status, 0. Errors are raised (:class:`~capitation.errors.CapitationError`), and
        :func:`capitation.cli.main` prints them as one line with status 1.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from capitation.cli import CommandLineParser
    >>> rng = np.random.default_rng(1)
    >>> people = pd.DataFrame({"person_id": np.arange(2_000), "practice_code": rng.choice(["A81001", "A81002"],
    ...     2_000), "sex": rng.choice(["F", "M"], 2_000), "age": rng.integers(0, 95, 2_000),
    ...     "lsoa_code": "E01000001", "cost": rng.gamma(0.5, 900, 2_000)})
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     people.to_csv(f"{d}/people.csv", index=False)
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "consortium_code": ["Q1", "Q2"]}).to_csv(
    ...         f"{d}/groups.csv", index=False)
    ...     args = sub.choices["report"].parse_args(["--people", f"{d}/people.csv", "--membership",
    ...                                              f"{d}/groups.csv", "--control-total", "1000", "--no-ladder",
    ...                                              "--out", f"{d}/report.html", "--quiet"])
    ...     status = run(args)
    ...     html = pathlib.Path(d, "report.html").read_text(encoding="utf-8")
    >>> status, html.lstrip().lower().startswith("<!doctype html>")
    (0, True)
    """
    from ..report.committee import committee_report
    from . import check_control_total, check_outputs, require_module, write_manifest

    require_module("matplotlib", "report", "capitation report draws its figures with")
    check_control_total(args)
    check_outputs(args, [("--out", args.out, "file"), ("--manifest", args.manifest, "file")], inputs=INPUTS)
    started = time.perf_counter()
    if args.written is None:  # fixed once, so a manifest records it and a reproduction prints the same
        args.written = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"capitation {__version__} report")
    if args.people is None:  # synthetic England: the options about your tables would not be used
        given = [f"--{k.replace('_', '-')}" for k in _TABLE_OPTIONS if getattr(args, k)]
        given += ["--fixed-effects"] * args.fixed_effects + ["--fund-observed"] * args.fund_observed
        if given:
            from ..errors import InputError

            raise InputError(f"{', '.join(given)} describe your people, but no --people table was given, so the "
                             "report would run on synthetic England and not use them. Fix: pass --people FILE too, "
                             "or leave them out.")
        source = {"icbs": _icbs(args), "fraction": args.fraction, "validation_practices": args.validation_practices}
    else:
        source = _tables(args)
    result = committee_report(
        args.out, args.control_total, year=args.year, seed=args.seed, **source, ladder=not args.no_ladder,
        overspend=args.overspend, extra_cv=args.extra_cv, consortium=args.consortium, suppress=not args.no_suppress,
        min_count=args.min_count, min_list_size=args.min_list_size, practice_rows=args.practice_rows,
        log=lambda step, text: say(f"  {step:<10} {text}"), written=args.written)
    out = result.path
    say(f"  report     {out} ({out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s in all)")
    write_manifest("report", args, {"out": [out]}, say, INPUTS)
    return 0


def add_parser(sub) -> None:
    """Register ``report`` on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser, as ``ArgumentParser.add_subparsers`` returns
        them; the ``report`` parser is added with :func:`run` as its ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["report"].parse_args(["--icbs", "QE1,QOC", "--fraction", "0.005"])
    >>> args.out, args.icbs, args.fraction, args.min_count, args.run is run
    ('capitation-report.html', 'QE1,QOC', 0.005, 5, True)
    """
    from . import DEFAULT_CONTROL_TOTAL, fraction, non_negative_float, non_negative_int, positive_float, positive_int
    from ._inputs import add_list_sizes

    p = sub.add_parser("report", help="fit, validate and allocate, and write a self-contained HTML report",
                       description="Fit the PBRA model ladder, validate it, allocate a control total to practices "
                       "and consortia, and write one HTML file (figures embedded) for a finance committee. "
                       "Runs on synthetic England unless --people is given.")
    p.add_argument("--out", default="capitation-report.html", help="HTML file to write (default: %(default)s); an "
                   "existing file is refused unless --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--year", default="2025/26", help="outcome year and membership (default: %(default)s)")
    p.add_argument("--control-total", default=DEFAULT_CONTROL_TOTAL, help="pounds to allocate (default: %(default)s)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    g = p.add_argument_group("synthetic England")
    g.add_argument("--fraction", type=fraction, default=0.01, help="share of each list in the estimation sample "
                   "(default: %(default)s)")
    g.add_argument("--validation-practices", type=positive_int, default=50,
                   help="practices whose full lists validate the model (default: %(default)s)")
    g.add_argument("--icbs", help="comma-separated ICB codes to restrict the practices to (default: all England)")
    g = p.add_argument_group("your tables (CSV or Parquet)")
    g.add_argument("--people", help="people table (see docs/input-formats.md); switches off synthetic England")
    g.add_argument("--diagnoses", help="hospital diagnoses table")
    g.add_argument("--conditions", help="GP-recorded conditions table")
    g.add_argument("--areas", help="area table by LSOA (with the --need-vars/--supply-vars columns)")
    g.add_argument("--need-vars", help="comma-separated need columns of --areas")
    g.add_argument("--supply-vars", help="comma-separated supply columns of --areas (neutralised)")
    g.add_argument("--membership", help="practice_code, consortium_code[, consortium_name] (default: NHS "
                   "England's ICBs of --year)")
    g.add_argument("--level", default="ICB", help="name of the --membership grouping (default: %(default)s)")
    add_list_sizes(g)
    g.add_argument("--fixed-effects", action="store_true", help="add a consortium fixed-effects rung")
    g.add_argument("--baseline", help="CSV of code, current allocation £ (practice or consortium) for distance "
                   "from target")
    g = p.add_argument_group("report")
    g.add_argument("--consortium", help="consortium of the waterfall (default: furthest from average)")
    g.add_argument("--overspend", type=positive_float, default=0.05, help="overspend that counts in budget risk "
                   "(default: %(default)s)")
    g.add_argument("--extra-cv", type=non_negative_float, default=0.0, help="group-level cv outside the person model "
                   "(default: %(default)s)")
    g.add_argument("--no-ladder", action="store_true", help="fit only the final model")
    g.add_argument("--written", help="date and time printed as 'report written' (default: now); a --manifest "
                   "records it, so that capitation reproduce re-creates the same file")
    g.add_argument("--no-suppress", action="store_true", help="publish small numbers (suppression is on by "
                   "default)")
    g.add_argument("--min-count", type=positive_int, default=5, help="smallest count shown (default: %(default)s)")
    g.add_argument("--min-list-size", type=non_negative_int, default=1000, help="smallest list whose figures are shown "
                   "(default: %(default)s)")
    g.add_argument("--practice-rows", type=positive_int, help="show only this many practices in the table")
    p.add_argument("--manifest", default=None, help="write a run manifest (JSON) here, for capitation reproduce")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
