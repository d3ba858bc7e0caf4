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
    """The :class:`~capitation.FeatureSpec` the options declare."""
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
    """An argparse type: ``--cap`` is a positive amount of pounds or a percentile ``pNN``; kept as text."""
    from . import _number

    if text.startswith("p"):
        _number(float, text[1:], "a percentile strictly between p0 and p100, e.g. p99.5", lambda v: 0 < v < 100,
                shown=repr(text))
    else:
        _number(float, text, "a positive amount of pounds or a percentile such as p99.5",
                lambda v: 0 < v < float("inf"))
    return text


def run(args: argparse.Namespace) -> int:
    """Fit the model and save it to ``args.out``; returns the exit status."""
    import datetime as dt

    from .._io import write_table
    from .._progress import progress
    from ..errors import InputError, OutputError
    from ..model.estimator import CostModel
    from ..model.persist import save_model
    from . import check_outputs, check_table_suffix
    from .manifest import record_run

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
    say(f"  saved    {out} (+ {out.with_suffix('.npz').name})")
    if args.manifest:
        inputs = {k: getattr(args, k) for k in ("people", "diagnoses", "conditions", "areas", "grouping")}
        outputs = {"out": state["written"][:2]}
        if args.coefficients:
            outputs["coefficients"] = state["written"][2:]
        record_run("fit", args, inputs=inputs, outputs=outputs).write(args.manifest)
        say(f"  manifest {args.manifest}")
    return 0


def add_parser(sub) -> None:
    """Register ``fit`` on the subcommand parsers ``sub``."""
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
