"""``capitation fit``: people and their diagnoses (and conditions, areas) → a saved cost model."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._inputs import add_inputs, encode_inputs, names

__all__ = ["add_parser", "build_spec", "encode_inputs", "names", "run"]

#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"outcome_year": "--year", "need": "--need-vars", "supply": "--supply-vars", "path": "--out",
              "DiagnosisGrouping.from_frame": "--grouping", "DiagnosisGrouping.from_csv": "--grouping"}
#: Options naming input tables (an output may not overwrite one of them).
INPUTS = ("people", "diagnoses", "conditions", "areas", "grouping")


def build_spec(args: argparse.Namespace):
    """Build the :class:`~capitation.FeatureSpec` the options declare.

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``fit`` parser defines them: ``no_diagnoses`` and ``grouping`` choose the diagnosis
        grouping (none, a CSV, or the package's), ``year`` the outcome year, and ``registers``, ``need_vars``
        and ``supply_vars`` (comma-separated) the GP registers and area variables.

    Returns
    -------
    FeatureSpec
        The design the model is fitted on, saved with it.

    Raises
    ------
    CapitationError
        The ``--grouping`` file cannot be read, or is not a diagnosis grouping (the error names ``--grouping``).

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["fit"].parse_args(["--people", "people.csv", "--out", "model.json", "--year", "2025/26",
    ...                                       "--registers", "DM, CHD", "--no-diagnoses"])
    >>> spec = build_spec(args)
    >>> spec.outcome_year, spec.conditions, spec.diagnosis_grouping is None
    ('2025/26', ('DM', 'CHD'), True)
    """
    from ..features.icd10 import DiagnosisGrouping
    from ..features.spec import FeatureSpec
    from . import about

    if args.no_diagnoses:
        grouping = None
    elif args.grouping:
        with about("--grouping"):
            grouping = DiagnosisGrouping.from_csv(args.grouping)
    else:
        grouping = DiagnosisGrouping.default()
    return FeatureSpec(diagnosis_grouping=grouping, outcome_year=args.year, conditions=names(args.registers),
                       need=names(args.need_vars), supply=names(args.supply_vars))


def _cap(text: str | None):
    """``--cap`` as CostModel takes it: ``None``, a percentile text such as ``"p99.5"``, or pounds."""
    if text is None:
        return None
    return text if text.startswith("p") else float(text)


def cap_option(text: str) -> str:
    """Check ``--cap`` for argparse: a positive amount of pounds or a percentile ``pNN``, kept as text."""
    from . import _number

    if text.startswith("p"):
        _number(float, text[1:], "a percentile strictly between p0 and p100, e.g. p99.5", lambda v: 0 < v < 100,
                shown=repr(text))
    else:
        _number(float, text, "a positive amount of pounds or a percentile such as p99.5",
                lambda v: 0 < v < float("inf"))
    return text


def run(args: argparse.Namespace) -> int:
    """Fit the model and save it to ``args.out`` (JSON, its arrays in a ``.npz`` beside it).

    Every output (``--out`` and its ``.npz``, ``--coefficients``, ``--manifest``) is checked before the
    tables are read. The people are encoded with :func:`build_spec`'s spec, the model is fitted on annual
    cost weighted by exposure and its first summary lines are printed (unless ``--quiet``).

    Parameters
    ----------
    args : argparse.Namespace
        The options as the ``fit`` parser defines them (:func:`add_parser`). ``args.created``, when ``None``,
        is set to the current time, so that a manifest records it and a re-run writes the same bytes.

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
    >>> from capitation.model.persist import load_model
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"person_id": np.arange(200), "practice_code": rng.choice(["A81001", "A81002"], 200),
    ...                        "sex": rng.choice(["F", "M"], 200), "age": rng.integers(0, 95, 200),
    ...                        "lsoa_code": "E01000001", "cost": rng.gamma(0.5, 900, 200).round(2)})
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     people.to_csv(f"{d}/people.csv", index=False)
    ...     args = sub.choices["fit"].parse_args(["--people", f"{d}/people.csv", "--no-diagnoses",
    ...                                           "--out", f"{d}/model.json", "--quiet"])
    ...     status = run(args)
    ...     model = load_model(f"{d}/model.json")
    ...     written = sorted(p.name for p in pathlib.Path(d).iterdir())
    >>> status, written, model.result_.n, len(model.result_.params)
    (0, ['model.json', 'model.npz', 'people.csv'], 200, 38)
    """
    import datetime as dt

    from .._io import write_table
    from .._progress import progress
    from ..errors import InputError, OutputError
    from ..features.matrix import describe_exclusions
    from ..model.estimator import CostModel
    from ..model.persist import save_model
    from . import check_outputs, check_table_suffix, write_manifest

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    out = Path(args.out)
    if out.suffix.lower() == ".npz":
        raise OutputError(f"The --out option names {str(out)!r}, but the model is JSON with its arrays in a .npz "
                          f"beside it. Fix: name the JSON file, e.g. {str(out.with_suffix('.json'))!r}.")
    check_outputs(args, [("--out", out, "file"), ("--out", out.with_suffix(".npz"), "file"),
                         ("--coefficients", args.coefficients, "file"), ("--manifest", args.manifest, "file")],
                  inputs=INPUTS)
    if args.coefficients is not None:
        check_table_suffix(args.coefficients, "--coefficients")
    if args.created is None:  # recorded, so that reproducing the run writes the same bytes
        args.created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    state: dict = {}

    def read_and_encode():
        state["spec"] = build_spec(args)
        state["people"], state["X"] = encode_inputs(state["spec"], args, cost=True)
        if state["people"].cost is None:
            raise InputError("The --people table has no 'cost' column; fitting needs each person's outcome-year "
                             "hospital cost (£). Fix: add it, or use capitation score with a saved model.")

    def fit():
        people = state["people"]
        state["model"] = CostModel(cap=_cap(args.cap), cov_type=args.cov_type, on_aliased=args.on_aliased).fit(
            state["X"], people.cost / people.exposure, sample_weight=people.exposure)

    def save():
        state["written"] = [save_model(state["model"], out, spec=state["X"].spec, created=args.created),
                            out.with_suffix(".npz")]
        if args.coefficients:
            state["written"].append(write_table(state["model"].result_.to_frame(), args.coefficients, index=True))

    steps = (("read and encode", read_and_encode), ("fit", fit), ("save", save))
    for _, step in progress(steps, desc="capitation fit", unit="step", enabled=False if args.quiet else None):
        step()
    result = state["model"].result_
    say("\n".join(result.summary().splitlines()[:3]))
    if result.aliased or result.empty:
        say(f"  dropped  {len(result.empty)} empty column(s) (no one has them), {len(result.aliased)} aliased; "
            "coefficients 0 (listed in the model file)")
    say(f"  design   {state['X'].summary().splitlines()[0]}")
    say(f"  records not used: {describe_exclusions(state['X'].exclusions)}")
    say(f"  saved    {out} (+ {out.with_suffix('.npz').name})")
    outputs = {"out": state["written"][:2], **({"coefficients": state["written"][2:]} if args.coefficients else {})}
    write_manifest("fit", args, outputs, say, INPUTS)
    return 0


def add_parser(sub) -> None:
    """Register ``fit`` on the subcommand parsers ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of the ``capitation`` parser, as ``ArgumentParser.add_subparsers`` returns
        them; the ``fit`` parser is added with :func:`run` as its ``run`` default.

    Examples
    --------
    >>> from capitation.cli import CommandLineParser
    >>> sub = CommandLineParser(prog="capitation").add_subparsers(dest="command")
    >>> add_parser(sub)
    >>> args = sub.choices["fit"].parse_args(["--people", "people.csv", "--out", "model.json", "--cap", "p99.5"])
    >>> args.people, args.cap, args.cov_type, args.on_aliased, args.run is run
    ('people.csv', 'p99.5', 'nonrobust', 'drop', True)
    """
    p = sub.add_parser("fit", help="fit the person-level cost model and save it (JSON + .npz)",
                       description="Encode the people's age-sex cells and diagnosis groups (and optional GP "
                       "registers and area variables), fit the cost model by least squares on annual cost "
                       "weighted by exposure, print its summary and save it with its feature spec.")
    add_inputs(p, model_given=False)
    p.add_argument("--out", required=True, help="model file to write (e.g. model.json; arrays go to model.npz)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (--out and its .npz, "
                   "--coefficients, --manifest); by default they are refused")
    p.add_argument("--year", default=None, help="outcome year, e.g. 2025/26: only diagnoses of the two years "
                   "before it count (default: every diagnosis in the table)")
    p.add_argument("--no-diagnoses", action="store_true", help="leave the diagnosis groups out of the model")
    p.add_argument("--grouping", default=None, help="ICD-10 grouping CSV (default: the package's grouping)")
    p.add_argument("--registers", default=None, help="comma-separated GP registers entering as flags, e.g. DM,CHD")
    p.add_argument("--need-vars", default=None, help="comma-separated area need variables")
    p.add_argument("--supply-vars", default=None, help="comma-separated area supply variables (neutralised)")
    p.add_argument("--cov-type", choices=("nonrobust", "HC1"), default="nonrobust", help="(default: %(default)s)")
    p.add_argument("--cap", type=cap_option, default=None,
                   help="cap annual costs at £ amount or a percentile such as p99.5")
    p.add_argument("--on-aliased", choices=("drop", "raise"), default="drop",
                   help="empty or aliased columns are dropped and reported, or an error (default: %(default)s)")
    p.add_argument("--coefficients", default=None, help="also write the coefficient table (CSV or Parquet)")
    p.add_argument("--created", default=None, help="creation time recorded in the model (default: now, UTC)")
    p.add_argument("--manifest", default=None, help="write a run manifest (JSON) here, for capitation reproduce")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
