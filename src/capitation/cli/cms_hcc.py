"""``capitation cms-hcc score``: beneficiaries and diagnoses → CMS-HCC V24/V28 risk scores (CSV or Parquet).

The module is ``cms_hcc``; its command is ``cms-hcc`` (:func:`capitation.cli.command_name`).
"""

from __future__ import annotations

import argparse

from . import check_table_suffix

__all__ = ["add_parser", "run"]

#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"payment_year": "--year", "path": "--out", "mce_edits": "--no-mce-edits"}
#: Options naming inputs (an output may not overwrite one of them).
INPUTS = ("beneficiaries", "diagnoses")


def run(args: argparse.Namespace) -> int:
    """Score the beneficiaries and write one row per person to ``args.out``.

    The outputs are checked before any work (``--out`` and ``--report`` must end in .csv or .parquet). The file
    has ``person_id``, ``segment``, ``raw_score``, ``payment_score`` and ``hccs``; ``--report`` writes what
    became of every diagnosis record, one line per reason.

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``cms-hcc`` parser defines them (:func:`add_parser`).

    Returns
    -------
    int
        The exit status, 0. Errors are raised (:class:`~capitation.errors.CapitationError`), and
        :func:`capitation.cli.main` prints them as one line with status 1.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from capitation.cli import main
    >>> people = pd.DataFrame({"person_id": [1, 2], "age": [70, 45], "sex": ["M", "F"], "orec": [0, 1],
    ...                        "dual_status": ["non", "full"], "lti": [0, 0], "new_enrollee": [0, 0]})
    >>> dx = pd.DataFrame({"person_id": [1, 1, 2], "icd10": ["E11.69", "I50.9", "J44.9"]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     people.to_csv(f"{d}/b.csv", index=False)
    ...     dx.to_csv(f"{d}/d.csv", index=False)
    ...     status = main(["cms-hcc", "score", "--beneficiaries", f"{d}/b.csv", "--diagnoses", f"{d}/d.csv",
    ...                    "--model", "V28", "--year", "2026", "--out", f"{d}/scores.parquet", "--quiet"])
    ...     scores = pd.read_parquet(f"{d}/scores.parquet")
    >>> status, scores["raw_score"].tolist(), scores["hccs"].tolist()
    (0, [1.034, 0.665], ['HCC37;HCC226', 'HCC280'])
    """
    from .._io import write_table
    from . import check_outputs
    from ._inputs import read_records

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    check_outputs(args, [("--out", args.out, "file"), ("--report", args.report, "file")], inputs=INPUTS)
    check_table_suffix(args.out, "--out")
    if args.report is not None:
        check_table_suffix(args.report, "--report")
    from ..cms_hcc import score
    from ..cms_hcc.tables import ATTRIBUTION, check_model_year

    check_model_year(args.model, args.year)  # before reading anything
    beneficiaries = read_records(args.beneficiaries, "beneficiaries")
    diagnoses = read_records(args.diagnoses, "diagnoses")
    result = score(beneficiaries, diagnoses, model=args.model, payment_year=args.year, segment=args.segment,
                   mce_edits=not args.no_mce_edits)
    write_table(result.to_frame(), args.out)
    if args.report is not None:
        write_table(result.diagnoses_report.reset_index(), args.report)
    lines = result.summary().splitlines()
    say(f"capitation cms-hcc score: {lines[0][len('CMS-HCC '):]}; written to {args.out}")
    for line in lines[1:3]:
        say(f"  {line}")
    report = result.diagnoses_report
    for reason, count in report["records"].items():
        if count and not reason.startswith("used"):
            say(f"  {count:,} record(s) not used: {reason}")
    say(f"  tables: {ATTRIBUTION}")
    return 0


def add_parser(sub) -> None:
    """Register ``cms-hcc`` (module name ``cms_hcc``) on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser; the parser is added with :func:`run` as its
        ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["cms-hcc"].parse_args(["score", "--beneficiaries", "b.parquet", "--diagnoses",
    ...                                           "d.parquet", "--out", "scores.parquet"])
    >>> args.command, args.model, args.year, args.segment, args.run is run
    ('cms_hcc', 'V28', 2026, 'derived', True)
    """
    from . import positive_int

    p = sub.add_parser("cms-hcc", help="CMS-HCC V24/V28 risk scores of Medicare beneficiaries",
                       description="Score Medicare beneficiaries with CMS's published CMS-HCC model (V24 or V28): "
                       "raw scores exact to three decimals, payment scores (normalised, MA coding-intensity "
                       "adjusted) and payment HCCs. Writes person_id, segment, raw_score, payment_score, hccs.")
    p.add_argument("action", choices=["score"], help="what to do: score")
    p.add_argument("--beneficiaries", required=True, help="beneficiaries table (Parquet or CSV): person_id, age or "
                   "date_of_birth, sex, orec, dual_status or medicaid, lti, new_enrollee")
    p.add_argument("--diagnoses", required=True, help="diagnoses table, long: person_id, icd10")
    p.add_argument("--model", default="V28", type=str.upper, help="V28 (default) or V24")
    p.add_argument("--year", default=2026, type=positive_int, help="payment year (default 2026): V28 2024, 2026, "
                   "2027; V24 2024, 2025")
    p.add_argument("--segment", default="derived", help="'derived' (default: INS, NE, then community by dual status "
                   "and age) or a fixed segment for everyone: CNA, CND, CFA, CFD, CPA, CPD, INS, NE, SNPNE")
    p.add_argument("--no-mce-edits", action="store_true", help="do not apply the MCE age edits (CMS applies them "
                   "by default)")
    p.add_argument("--out", required=True, help="file to write: .csv or .parquet")
    p.add_argument("--report", default=None, help="also write what became of every diagnosis record (.csv or "
                   ".parquet)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files; by default they are "
                   "refused")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run, command="cms_hcc")
