"""``capitation demo``: the whole pipeline on synthetic England, printing ICB budgets."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .._version import __version__
from . import DEFAULT_CONTROL_TOTAL

__all__ = ["add_parser", "run"]

#: The files written into --out.
OUTPUTS = ("icb_budgets.csv", "practice_budgets.csv", "coefficients.csv", "README.txt")
#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"outcome_year": "--year", "path": "--out"}


def run(args: argparse.Namespace) -> int:
    """Run the whole chain on synthetic England, print the ICB table and write the CSVs into ``args.out``.

    The control total and every output file are checked first, so a malformed total or an earlier run's
    files (without ``--overwrite``) are refused before any work. The run itself takes about 13 seconds at
    the default 1% sample (``capitation demo``), much of it numba compiling kernels on first use.

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``demo`` parser defines them (:func:`add_parser`): ``out``, ``overwrite``,
        ``fraction``, ``seed``, ``year``, ``control_total`` and ``quiet``.

    Returns
    -------
    int
        The exit status, 0. Errors are raised (:class:`~capitation.errors.CapitationError`), and
        :func:`capitation.cli.main` prints them as one line with status 1.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> from capitation.errors import InputError
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["demo"].parse_args(["--control-total", "55,5", "--quiet"])
    >>> try:
    ...     run(args)
    ... except InputError as exc:
    ...     print(str(exc).split(" is not")[0])
    The 'control_total' parameter '55,5'
    """
    import numpy as np

    from .._io import atomic_write_csv, atomic_write_text
    from .._results import text_table
    from ..aggregation.aggregate import aggregate
    from ..aggregation.membership import Membership
    from ..allocation.allocate import allocate
    from ..allocation.money import pence_to_text
    from ..datasets import ATTRIBUTION
    from ..datasets.synthetic import synthetic_england
    from ..features.matrix import describe_exclusions
    from ..features.spec import FeatureSpec, encode
    from ..inputs.population import Population
    from ..model.estimator import CostModel
    from ..scoring.score import score
    from . import check_control_total, check_outputs, write_manifest

    started = time.perf_counter()
    out = Path(args.out)
    check_control_total(args)
    icb_file, practice_file, coefficients_file, readme_file = (out / name for name in OUTPUTS)
    check_outputs(args, [("--out", out / name, "file") for name in OUTPUTS] + [("--manifest", args.manifest, "file")])
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"capitation {__version__} demo: synthetic England ({args.fraction:.1%} sample, seed {args.seed}) on "
        f"NHS England's {args.year} practices and ICBs")

    synth = synthetic_england(fraction=args.fraction, seed=args.seed, outcome_year=args.year)
    pop = Population.from_frame(synth.people)
    say(f"  people     {pop.n_people:,} on {len(np.unique(pop.practice_code)):,} practices' lists "
        f"({time.perf_counter() - started:.1f} s)")

    spec = FeatureSpec(outcome_year=args.year)
    X = encode(spec, pop, diagnoses=synth.diagnoses)
    say(f"  design     {X.n_columns} columns (38 age-sex cells, {X.n_columns - 38} diagnosis groups), "
        f"{X.nnz / X.n_rows:.2f} entries per person")
    say(f"  records not used: {describe_exclusions(X.exclusions)}")

    model = CostModel(on_aliased="drop").fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
    fit = model.result_
    dropped = len(fit.aliased) + len(fit.empty)
    say(f"  model      OLS on {fit.n:,} people: person-level R² {fit.rsquared:.3f}"
        + (f"; {dropped} diagnosis group(s) with no one in the sample set to 0" if dropped else ""))

    need = score(model, X)
    membership = Membership.nhs_england(args.year)
    # The sample measures each practice's need per head; the budget funds its whole published list.
    lists = aggregate(pop, need, membership=membership)
    alloc = allocate(lists, args.control_total, membership=membership)
    for line in lists.summary().splitlines()[1:]:
        say(f"  note       {line}")
    say("")
    say(text_table(alloc.budget_table()))
    say(f"\n  total      {alloc.control_total} to {len(alloc.practices):,} practices in {len(alloc.consortia)} ICBs; "
        f"practice pence sum to the control total: {alloc.reconciles}")

    # budget_000: whole £'000 by largest remainder, so each column adds up to the control total in £'000
    icb_out = alloc.to_frame("consortium", units="£000")
    icb_out = icb_out.assign(budget=icb_out["budget_pence"].map(pence_to_text))
    atomic_write_csv(icb_file, icb_out)
    practice_out = alloc.to_frame("practice", units="£000")
    practice_out = practice_out.assign(budget=practice_out["budget_pence"].map(pence_to_text))
    atomic_write_csv(practice_file, practice_out)
    atomic_write_csv(coefficients_file, fit.to_frame())
    atomic_write_text(readme_file, (
        f"capitation {__version__} demo output (synthetic data, not a real allocation)\n"
        f"control total {alloc.control_total}; year {args.year}; sample {args.fraction:.2%}; seed {args.seed}\n"
        "icb_budgets.csv: budget per ICB (pounds and pence; budget_000 in £'000), the sum of its practices'\n"
        "practice_budgets.csv: budget per practice, need index and weighted population\n"
        f"registered: the list funded, NHS England's {args.year} published list size (projected, so fractional);\n"
        "observed: the people of the list in the sample, whose need per head is measured; need = need per head\n"
        "of the people observed x registered (the national need per head for a list with no one observed)\n"
        "coefficients.csv: the fitted person-level model (£ per person-year)\n"
        f"{ATTRIBUTION}\n"))
    say(f"  outputs    {out}/icb_budgets.csv, practice_budgets.csv, coefficients.csv "
        f"({time.perf_counter() - started:.1f} s in all)")
    write_manifest("demo", args, {"out": [icb_file, practice_file, coefficients_file, readme_file]}, say)
    return 0


def add_parser(sub) -> None:
    """Register ``demo`` on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser, as ``ArgumentParser.add_subparsers`` returns
        them; the ``demo`` parser is added with :func:`run` as its ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["demo"].parse_args(["--fraction", "0.02", "--seed", "3"])
    >>> args.fraction, args.seed, args.out, args.control_total, args.run is run
    (0.02, 3, 'capitation-output', '55000000000', True)
    """
    from . import fraction, non_negative_int

    demo = sub.add_parser("demo", help="run the whole pipeline on synthetic England and print ICB budgets",
                          description="Generate a synthetic sample of England's registered population on the "
                          "real practices, fit the PBRA-style cost model, score everyone and allocate a control "
                          "total to every practice and ICB, exact to the penny. Writes CSVs to --out.")
    demo.add_argument("--out", default="capitation-output", help="output folder (default: %(default)s); files "
                      "already there are not replaced unless --overwrite")
    demo.add_argument("--overwrite", action="store_true", help="replace output files left by an earlier run")
    demo.add_argument("--fraction", type=fraction, default=0.01, help="share of England to generate "
                      "(default: %(default)s, about 640,000 people)")
    demo.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument("--year", default="2025/26", help="allocation year and ICB membership (default: %(default)s)")
    demo.add_argument("--control-total", default=DEFAULT_CONTROL_TOTAL,
                      help="pounds to allocate (default: %(default)s)")
    demo.add_argument("--manifest", default=None, help="write a run manifest (JSON) here, for capitation reproduce")
    demo.add_argument("--quiet", action="store_true", help="print nothing")
    demo.set_defaults(run=run)
