"""``capitation report``: fit, validate and allocate, then write a self-contained HTML report.

Two sources of people:

* **synthetic England** (default): an estimation sample of every practice's list (``--fraction``), and, as in
  BMJ 2011's second validation sample, the *full* lists of ``--validation-practices`` practices drawn at
  random, so practice-level fit is measured on real list sizes. Budgets cover NHS England's published lists:
  need per head from the sample times each practice's registered population. The baseline for distance from
  target is the same control total shared by NHS England's published core weighted populations.
* **your tables** (``--people``, with ``--diagnoses``, ``--conditions``, ``--areas``, ``--membership``,
  ``--baseline``): people are split at random into estimation and validation halves; budgets cover the people
  given.
"""

from __future__ import annotations

import argparse
import time

from .. import __version__

__all__ = ["add_parser", "run"]

DEFAULT_CONTROL_TOTAL = "55000000000"
#: Library names the options feed that are not the options' own (see capitation.cli.speak_options).
PARAMETERS = {"outcome_year": "--year", "path": "--out", "Membership.from_frame": "--membership"}
#: Options naming input tables (the report may not overwrite one of them).
INPUTS = ("people", "diagnoses", "conditions", "areas", "membership", "baseline")
#: Area variables of synthetic England used in the ladder: the parsimonious model's need and supply.
SYNTHETIC_NEED = ("income", "idaopi", "health")
SYNTHETIC_NEED_FULL = ("income", "employment", "education", "health", "crime", "barriers", "environment",
                       "idaci", "idaopi")
SYNTHETIC_SUPPLY = ("distance_acute_km", "acute_beds_per_1000")


def _ladder_specs(year, *, diagnoses: bool, fixed_effects: bool, need_full=(), need=(), supply=(),
                  conditions=()) -> list[tuple[str, object]]:
    """The PBRA ladder as (name, FeatureSpec), skipping rungs the data cannot support."""
    from .. import FeatureSpec

    specs = [("Age–sex", FeatureSpec(outcome_year=year, diagnosis_grouping=None))]
    base = FeatureSpec(outcome_year=year) if diagnoses else specs[0][1]
    if diagnoses:
        specs.append(("+ diagnoses", base))
    fe = ("icb",) if fixed_effects else ()
    if fixed_effects:
        specs.append(("+ ICB effects", FeatureSpec(**{**_fields(base), "fixed_effects": fe})))
    if need_full or supply:
        specs.append(("Full: + all need, supply", FeatureSpec(**{**_fields(base), "fixed_effects": fe,
                                                                  "need": tuple(need_full), "supply": tuple(supply)})))
    if need and tuple(need) != tuple(need_full):
        specs.append(("Parsimonious need, supply", FeatureSpec(**{**_fields(base), "fixed_effects": fe,
                                                                   "need": tuple(need), "supply": tuple(supply)})))
    if conditions:
        last = specs[-1][1]
        specs.append(("+ GP-recorded conditions", FeatureSpec(**{**_fields(last), "conditions": tuple(conditions)})))
    return specs


def _fields(spec) -> dict:
    import dataclasses

    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "levels"}


def _read(path, name: str):
    """The table ``--<name>`` names (CSV or Parquet), or ``None`` when the option was not given."""
    from .._io import read_table

    return None if path is None else read_table(path, name)


def _baseline(path):
    """``--baseline``: a table of code and current allocation (£), the first two columns, as a Series."""
    import pandas as pd

    from ..errors import SchemaError
    from .allocate import _numbers

    table = _read(path, "baseline")
    if table.shape[1] < 2:
        raise SchemaError(f"The 'baseline' table must have two columns, code and current allocation (£). Got "
                          f"{[str(c) for c in table.columns]}. Fix: e.g. practice_code,baseline.")
    return pd.Series(_numbers(table, table.columns[1], "baseline").astype(float),
                     index=table.iloc[:, 0].astype(str).to_numpy())


def _scaled_risk(risk, sizes):
    """A BudgetRisk whose probabilities are for ``sizes`` people per group (same case mix per group)."""
    import numpy as np

    from ..allocation.risk import BudgetRisk, overspend_probability

    p = risk.parameters
    table = risk.table.copy()
    people = sizes.reindex(table.index).fillna(table["people"]).to_numpy(dtype=float)
    cv = table["cv_person"].replace([np.inf, -np.inf], np.nan).fillna(risk.cv_person).to_numpy()
    table["people"] = people
    table["p_overspend"] = [float(overspend_probability(n, c, p["overspend"], p["extra_cv"])) if c > 0 else 0.0
                            for n, c in zip(people, cv, strict=True)]
    return BudgetRisk(table, risk.cv_person, {**p, "scaled_to": "published list sizes"})


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from .. import (
        ConditionTable,
        CostModel,
        DiagnosisTable,
        Membership,
        Population,
        aggregate,
        allocate,
        encode,
        score,
    )
    from .._validation import require_columns
    from ..allocation import budget_risk, explain_budgets, published_need
    from ..allocation.money import pence_to_text, to_pence
    from ..errors import InputError
    from ..model import split_people, validate
    from ..report import write_report
    from . import check_control_total, check_outputs, require_module
    from .allocate import _membership

    require_module("matplotlib", "report", "capitation report draws its figures with")
    check_control_total(args)
    check_outputs(args, [("--out", args.out, "file")], inputs=INPUTS)
    started = time.perf_counter()
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"capitation {__version__} report")
    provenance: dict = {}
    synthetic = args.people is None
    if synthetic:
        from ..datasets import load_practices
        from ..datasets.synthetic import synthetic_england

        membership = Membership.nhs_england(args.year)
        chosen = None
        if args.icbs:
            codes = [c.strip() for c in args.icbs.split(",") if c.strip()]
            unknown = sorted(set(codes) - set(membership.table["consortium_code"]))
            if unknown or not codes:
                raise InputError(f"The --icbs option names {unknown or args.icbs!r}, which are not {args.year} "
                                 "ICB codes. Fix: use codes such as QE1, as in NHS England's ICB list for --year.")
            chosen = membership.table.loc[membership.table["consortium_code"].isin(codes), "practice_code"].tolist()
        # BMJ 2011's design: estimate on a sample of people, validate on whole lists of other practices.
        # Same seed, so both samples come from the same synthetic world (area and practice effects).
        frame = load_practices(args.year)
        pool = np.sort(frame.loc[frame["population"] >= 1, "practice_code"].astype(str).to_numpy())
        if chosen is not None:
            pool = np.intersect1d(pool, chosen)
        rng = np.random.default_rng(args.seed)
        held = sorted(rng.choice(pool, size=min(args.validation_practices, len(pool) // 2), replace=False).tolist())
        rest = np.setdiff1d(pool, held).tolist()
        est = synthetic_england(fraction=args.fraction, seed=args.seed, outcome_year=args.year, practices=rest)
        val = synthetic_england(fraction=1.0, seed=args.seed, outcome_year=args.year, practices=held)
        say(f"  people     {len(est.people):,} in the estimation sample ({args.fraction:.2%} of each list); "
            f"{len(val.people):,} on the full lists of {len(held)} validation practices "
            f"({time.perf_counter() - started:.0f} s)")
        areas = pd.concat([est.areas, val.areas]).drop_duplicates("lsoa_code")
        registers = tuple(sorted(set(est.conditions["register"].astype(str))))
        specs = _ladder_specs(args.year, diagnoses=True, fixed_effects=True, need_full=SYNTHETIC_NEED_FULL,
                              need=SYNTHETIC_NEED, supply=SYNTHETIC_SUPPLY, conditions=registers)
        tables_est = {"diagnoses": DiagnosisTable.from_frame(est.diagnoses),
                      "conditions": ConditionTable.from_frame(est.conditions)}
        tables_val = {"diagnoses": DiagnosisTable.from_frame(val.diagnoses),
                      "conditions": ConditionTable.from_frame(val.conditions)}
        people_est, people_val = est.people, val.people
        provenance.update({"data": f"synthetic England ({args.year} practices), seed {args.seed}",
                           "estimation sample": f"{args.fraction:.2%} of every list ({len(est.people):,} people)",
                           "validation sample": f"full lists of {len(held)} practices ({len(val.people):,} people)",
                           "baseline": f"the control total shared by NHS England's {args.year} core weighted "
                                       "populations"})
    else:
        people = _read(args.people, "people")
        membership = _membership(args) if args.membership else Membership.nhs_england(args.year)
        areas = _read(args.areas, "areas")
        need_cols = tuple(c.strip() for c in (args.need or "").split(",") if c.strip())
        supply_cols = tuple(c.strip() for c in (args.supply or "").split(",") if c.strip())
        if (need_cols or supply_cols) and areas is None:
            raise InputError(f"The model uses area variables {list(need_cols + supply_cols)} but no --areas table "
                             "was given. Fix: pass --areas FILE (lsoa_code and those columns).")
        diagnoses, conditions = _read(args.diagnoses, "diagnoses"), _read(args.conditions, "conditions")
        if conditions is not None:
            require_columns(conditions, "conditions", ["person_id", "register"])
        registers = tuple(sorted(set(conditions["register"].astype(str)))) if conditions is not None else ()
        diagnoses = None if diagnoses is None else DiagnosisTable.from_frame(diagnoses)
        conditions = None if conditions is None else ConditionTable.from_frame(conditions)
        specs = _ladder_specs(args.year, diagnoses=diagnoses is not None, fixed_effects=args.fixed_effects,
                              need_full=need_cols, need=need_cols, supply=supply_cols, conditions=registers)
        fit_rows, val_rows = split_people(len(people), 0.5, seed=args.seed)
        people_est, people_val = people.iloc[fit_rows], people.iloc[val_rows]
        tables_est = tables_val = {"diagnoses": diagnoses, "conditions": conditions}
        provenance.update({"data": str(args.people), "validation": "a random half of the people (seed "
                                                                  f"{args.seed})"})
        say(f"  people     {len(people):,} from {args.people}")
    pop_est, pop_val = Population.from_frame(people_est), Population.from_frame(people_val)
    y_est, y_val = pop_est.cost / pop_est.exposure, pop_val.cost / pop_val.exposure
    groups = {"icb": membership}

    ladder = []
    model = X_est = X_val = None
    for name, spec_k in specs if not args.no_ladder else specs[-1:]:
        kwargs = {"groups": groups} if spec_k.fixed_effects else {}
        X_k = encode(spec_k, pop_est, areas=areas if (spec_k.need or spec_k.supply) else None,
                     diagnoses=tables_est["diagnoses"], conditions=tables_est["conditions"], **kwargs)
        model_k = CostModel(on_aliased="drop").fit(X_k, y_est, sample_weight=pop_est.exposure)
        spec_k = X_k.spec
        V_k = encode(spec_k, pop_val, areas=areas if (spec_k.need or spec_k.supply) else None,
                     diagnoses=tables_val["diagnoses"], conditions=tables_val["conditions"], **kwargs)
        age_band = pd.cut(pop_val.age, [0, 5, 15, 25, 45, 65, 75, 85, 200], right=False,
                          labels=["0–4", "5–14", "15–24", "25–44", "45–64", "65–74", "75–84", "85+"])
        dims = {"age band": np.asarray(age_band.astype(str)), "sex": people_val["sex"].astype(str).to_numpy()}
        if "imd_quintile" in people_val.columns:
            dims["IMD quintile (1 = most deprived)"] = people_val["imd_quintile"].astype(str).to_numpy()
        v = validate(model_k.predict(V_k), y_val, pop_val.exposure, practice_code=pop_val.practice_code,
                     groups=dims, label=name)
        ladder.append(v)
        model, X_est, X_val = model_k, X_k, V_k
        say(f"  model      {name:<28} person R² {v.metrics['person_r2']:.3f}  practice R² "
            f"{v.metrics['practice_r2']:.3f}  ({time.perf_counter() - started:.0f} s)")
    validation = ladder[-1]

    need = score(model, X_est)
    icb_of = membership
    sample = aggregate(pop_est, need, membership=icb_of, unassigned="line")
    q_pence = to_pence(args.control_total)
    if synthetic:
        practices = load_practices(args.year)
        practices = practices[practices["population"].round() > 0]
        if chosen is not None:
            practices = practices[practices["practice_code"].isin(chosen)]
        held_need = aggregate(pop_val, score(model, X_val)).practices["need_per_head"]
        per_head = sample.practices["need_per_head"].combine_first(held_need).reindex(practices["practice_code"])
        per_head = per_head.fillna(sample.practices["need"].sum() / sample.practices["registered"].sum())
        registered = pd.Series(practices["population"].round().to_numpy(), index=practices["practice_code"])
        practice_need = pd.Series(per_head.to_numpy() * registered.to_numpy(), index=registered.index)
        core = published_need(args.year, "core")["need"].reindex(registered.index)
        baseline_alloc = allocate(core, args.control_total, registered=registered)
        baseline = pd.Series(baseline_alloc.practices["budget_pence"] / 100)
        allocation = allocate(practice_need, args.control_total, membership=membership, registered=registered,
                              baseline=baseline)
        sizes_practice = registered
        sizes_consortium = allocation.consortia["registered"]
    else:
        baseline = None
        if args.baseline:
            baseline = _baseline(args.baseline)
        allocation = allocate(sample, args.control_total, membership=membership, baseline=baseline,
                              unassigned="line")
        sizes_practice = sizes_consortium = None
    n_sample = int(sample.practices["registered"].sum())
    q_sample = q_pence * n_sample // int(allocation.practices["registered"].sum())
    alloc_sample = allocate(sample, pence_to_text(q_sample), membership=icb_of,
                            unassigned="line")
    explanation = explain_budgets(alloc_sample, model, X_est, pop_est.practice_code)
    say(f"  budgets    {allocation.control_total} to {len(allocation.practices):,} practices; pence reconcile: "
        f"{int(allocation.practices['budget_pence'].sum()) == allocation.control_total_pence}")

    residuals = y_est - model.predict(X_est)
    kwargs = {"residuals": residuals, "overspend": args.overspend, "extra_cv": args.extra_cv, "n_resamples": 0}
    risk_p = budget_risk(need, pop_est.practice_code, **kwargs)
    consortium_of = allocation.practices["consortium_code"].reindex(pop_est.practice_code).fillna("UNASSIGNED")
    risk_c = budget_risk(need, consortium_of.to_numpy(dtype=object), **kwargs)
    if sizes_practice is not None:
        risk_p, risk_c = _scaled_risk(risk_p, sizes_practice), _scaled_risk(risk_c, sizes_consortium)
    level = membership.level if membership.level != "consortium" else "consortia"
    out = write_report(
        args.out, validation=validation, ladder=ladder if len(ladder) > 1 else None, allocation=allocation,
        risk={"practices": risk_p, level: risk_c}, explanation=explanation, consortium=args.consortium,
        subtitle=(f"{'Synthetic England' if synthetic else args.people} · {args.year} · control total "
                  f"{allocation.control_total} · capitation {__version__}"),
        suppress=not args.no_suppress, min_count=args.min_count, min_list_size=args.min_list_size,
        practice_rows=args.practice_rows, provenance=provenance)
    say(f"  report     {out} ({out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s in all)")
    return 0


def add_parser(sub) -> None:
    """Register ``report`` on the subcommand parsers ``sub``."""
    from . import fraction, non_negative_float, non_negative_int, positive_float, positive_int

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
    g.add_argument("--areas", help="area table by LSOA (with --need/--supply columns)")
    g.add_argument("--need", help="comma-separated need columns of --areas")
    g.add_argument("--supply", help="comma-separated supply columns of --areas (neutralised)")
    g.add_argument("--membership", help="practice_code, consortium_code[, consortium_name] (default: NHS "
                   "England's ICBs of --year)")
    g.add_argument("--level", default="consortium", help="name of the --membership grouping (default: %(default)s)")
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
    g.add_argument("--no-suppress", action="store_true", help="publish small numbers (suppression is on by "
                   "default)")
    g.add_argument("--min-count", type=positive_int, default=5, help="smallest count shown (default: %(default)s)")
    g.add_argument("--min-list-size", type=non_negative_int, default=1000, help="smallest list whose figures are shown "
                   "(default: %(default)s)")
    g.add_argument("--practice-rows", type=positive_int, help="show only this many practices in the table")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(run=run)
