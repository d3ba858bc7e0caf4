"""The finance committee's report: fit the PBRA ladder, validate it, allocate a control total, write one HTML file.

:func:`committee_report` runs the whole chain that ``capitation report`` runs, on one of two sources of people:

* **synthetic England** (``people=None``, the default): an estimation sample of every practice's list
  (``fraction``), and, as in BMJ 2011's second validation sample, the *full* lists of
  ``validation_practices`` practices drawn at random, so practice-level fit is measured on real list sizes.
  Budgets cover NHS England's published lists: need per head from the samples times each practice's
  registered list size (:func:`~capitation.aggregation.aggregate`). The baseline for distance from target is
  the same control total shared by NHS England's published core weighted populations, and budget risk is for
  the published list sizes.
* **your tables** (``people`` with ``diagnoses``, ``conditions``, ``areas``, ``membership``, ``baseline``):
  people are split at random into estimation and validation halves; the final model, fitted on the first,
  scores everyone, and budgets fund the lists as :func:`~capitation.aggregation.aggregate` does (the
  membership's list sizes, NHS England's by default, or ``list_sizes``; the people given with ``"observed"``
  or a membership without list sizes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import check_output
from .._results import Result
from .._validation import require_columns
from .._version import __version__
from ..aggregation.aggregate import aggregate
from ..aggregation.membership import Membership
from ..allocation.allocate import Allocation, allocate
from ..allocation.explain import BudgetExplanation, explain_budgets
from ..allocation.external import published_need
from ..allocation.money import to_pence
from ..allocation.risk import BudgetRisk, budget_risk
from ..errors import InputError
from ..features.spec import encode
from ..inputs.population import Population
from ..inputs.records import ConditionTable, DiagnosisTable
from ..model.estimator import CostModel
from ..model.ladder import PARSIMONIOUS_NEED, SUPPLY, ladder_specs
from ..model.validation import ValidationResult, split_people, validate
from ..scoring.score import score
from ._mpl import require_matplotlib
from .html import write_report
from .suppress import DEFAULT_MIN_COUNT, DEFAULT_MIN_LIST_SIZE

__all__ = ["SYNTHETIC_NEED", "SYNTHETIC_NEED_FULL", "SYNTHETIC_SUPPLY", "CommitteeReport", "committee_report"]

#: Area variables of synthetic England in the ladder: the full model's need, the parsimonious model's need and
#: the supply variables of both (neutralised).
SYNTHETIC_NEED_FULL = ("income", "employment", "education", "health", "crime", "barriers", "environment", "idaci",
                       "idaopi")
SYNTHETIC_NEED = PARSIMONIOUS_NEED
SYNTHETIC_SUPPLY = SUPPLY
#: Age bands of the predictive ratios.
_AGE_EDGES = [0, 5, 15, 25, 45, 65, 75, 85, 200]
_AGE_LABELS = ["0–4", "5–14", "15–24", "25–44", "45–64", "65–74", "75–84", "85+"]


@dataclass(frozen=True, eq=False, repr=False)
class CommitteeReport(Result):
    """What :func:`committee_report` fitted, allocated and wrote.

    Attributes
    ----------
    path : pathlib.Path
        The HTML file written.
    validation : ValidationResult
        Validation of the final model (the last rung of the ladder).
    ladder : list of ValidationResult
        One validation per rung fitted, in ladder order.
    model : CostModel
        The final model.
    allocation : Allocation
        Practice and consortium budgets.
    risk : dict of str to BudgetRisk
        Budget risk of the practices (``"practices"``) and of the consortia (by the membership's level).
    explanation : BudgetExplanation
        Budget per head of the people scored, split into its parts (the report's waterfall).
    provenance_items : dict
        The items of the report's provenance table: data, samples, baseline.
    provenance : Provenance
        The library version that made it.

    Its table (:meth:`to_frame`) is the consortium budgets.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> people = pd.DataFrame({"person_id": np.arange(2_000), "practice_code": rng.choice(["A81001",
    ...     "A81002"], 2_000), "sex": rng.choice(["F", "M"], 2_000), "age": rng.integers(0, 95, 2_000),
    ...     "lsoa_code": "E01000001", "cost": rng.gamma(0.5, 900, 2_000)})
    >>> groups = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
    ...                                              "consortium_code": ["Q1", "Q2"]}))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     result = committee_report(pathlib.Path(d) / "r.html", 1000, people=people, membership=groups)
    >>> result.to_frame()["budget_pence"].sum()
    np.int64(100000)
    """

    path: Path
    validation: ValidationResult
    ladder: list
    model: CostModel
    allocation: Allocation
    risk: dict
    explanation: BudgetExplanation
    provenance_items: dict = field(default_factory=dict)

    def summary(self) -> str:
        """Describe the report in a few lines: the file, each rung's fit and the budgets.

        Returns
        -------
        str
            The file on the first line, then one line per rung and the budgets.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> import pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> people = pd.DataFrame({"person_id": np.arange(2_000), "practice_code": rng.choice(["A81001",
        ...     "A81002"], 2_000), "sex": rng.choice(["F", "M"], 2_000), "age": rng.integers(0, 95, 2_000),
        ...     "lsoa_code": "E01000001", "cost": rng.gamma(0.5, 900, 2_000)})
        >>> groups = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
        ...                                              "consortium_code": ["Q1", "Q2"]}))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     text = committee_report(pathlib.Path(d) / "r.html", 1000, people=people,
        ...                             membership=groups).summary()
        >>> text.splitlines()[-1]
        '  £1,000.00 to 2 practices; pence reconcile: True'
        """
        lines = [f"Committee report {self.path}"]
        lines += [f"  {v.label or 'model':<28} person R² {v.metrics['person_r2']:.3f}  practice R² "
                  f"{v.metrics['practice_r2']:.3f}" for v in self.ladder]
        lines.append(f"  {self.allocation.control_total} to {len(self.allocation.practices):,} practices; pence "
                     f"reconcile: {self.allocation.reconciles}")
        return "\n".join(lines)

    def _frame(self) -> pd.DataFrame:
        return self.allocation.consortia


@dataclass(frozen=True, eq=False)
class _Samples:
    """The people of a report, split into estimation and validation, with their records and ladder."""

    people_est: pd.DataFrame
    people_val: pd.DataFrame
    tables_est: dict
    tables_val: dict
    areas: pd.DataFrame | None
    membership: Membership
    rungs: list
    provenance: dict
    practices: list | None = None  # synthetic England: the practices budgets are for (None: all)


def committee_report(path, control_total, *, year: str = "2025/26", seed: int = 0, people=None, diagnoses=None,
                     conditions=None, areas=None, need=(), supply=(), membership: Membership | None = None,
                     baseline: pd.Series | None = None, fixed_effects: bool = False, list_sizes=None,
                     fraction: float = 0.01,
                     validation_practices: int = 50, icbs=None, ladder: bool = True, overspend: float = 0.05,
                     extra_cv: float = 0.0, consortium: str | None = None, suppress: bool = True,
                     min_count: int = DEFAULT_MIN_COUNT, min_list_size: float = DEFAULT_MIN_LIST_SIZE,
                     practice_rows: int | None = None, source: str | None = None,
                     log: Callable[[str, str], object] | None = None, written: str | None = None) -> CommitteeReport:
    """Fit the PBRA ladder, validate it, allocate ``control_total`` and write the finance committee's report.

    Every rung of :func:`~capitation.model.ladder_specs` that the data support is fitted on the estimation
    sample and validated on the validation sample; the last is scored and its need allocated, exact to the
    penny, to practices and their consortia; budget risk and the budget waterfall are worked out and the whole
    is written by :func:`~capitation.report.write_report` (an existing file is replaced, as there).

    Parameters
    ----------
    path : str or path-like
        The ``.html`` file to write; checked before the work.
    control_total : int, str or Decimal
        Pounds to allocate, a whole number of pence (see :func:`~capitation.allocation.to_pence`).
    year : str
        Outcome year: diagnoses of the two years before count; synthetic England's practices and NHS England's
        ICBs of that year.
    seed : int
        Seed of the samples (synthetic England, the validation practices, or the split of ``people``).
    people : pandas.DataFrame, optional
        Your people (with ``cost``); synthetic England when not given.
    diagnoses, conditions, areas : pandas.DataFrame, optional
        With ``people``: their hospital diagnoses, GP-recorded conditions, and the area table by LSOA holding
        the ``need`` and ``supply`` columns.
    need, supply : sequence of str
        With ``people``: need and supply (neutralised) columns of ``areas``.
    membership : Membership, optional
        With ``people``: practice → consortium (NHS England's ICBs of ``year`` by default).
    baseline : pandas.Series, optional
        With ``people``: current allocations (£) by practice or consortium code, for distance from target
        (e.g. :func:`~capitation.allocation.baseline_from_table`).
    fixed_effects : bool
        With ``people``: add a consortium fixed-effects rung.
    list_sizes : pandas.Series, dict, pandas.DataFrame or "observed", optional
        The registered lists to fund, as in :func:`~capitation.aggregation.aggregate`: by default the
        membership's list sizes when it has them (NHS England's published ones for its ICBs), else the people
        given. Each practice's budget is its need per head, measured on its people in the data, times its list.
    fraction : float
        Synthetic England: share of each list in the estimation sample.
    validation_practices : int
        Synthetic England: practices whose full lists validate the model (at most half of them).
    icbs : sequence of str, optional
        Synthetic England: ICB codes of ``year`` to restrict the practices to (all England by default).
    ladder : bool
        Fit every rung (by default), or only the final model.
    overspend, extra_cv : float
        Budget risk: the overspend that counts (5% by default) and the group-level cv outside the person model.
    consortium : str, optional
        The consortium of the waterfall (default: the one furthest from the average budget per head).
    suppress : bool
        Suppress small numbers in the practice table (on by default).
    min_count, min_list_size : int
        Thresholds of the suppression.
    practice_rows : int, optional
        Show only this many practices in the practice table.
    source : str, optional
        What ``people`` are (e.g. the file they were read from), for the report's subtitle and provenance.
    log : callable, optional
        Called as ``log(step, text)`` as each step ends (``"people"``, ``"model"`` once per rung,
        ``"budgets"``), e.g. to print progress.
    written : str, optional
        When the report was written, as printed in its provenance (now, to the minute, by default). Give it
        to re-create a report byte for byte, as ``capitation reproduce`` does.

    Returns
    -------
    CommitteeReport
        The file written and the pieces it shows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 3_000
    >>> age = rng.integers(0, 95, n)
    >>> people = pd.DataFrame({"person_id": np.arange(n), "practice_code": rng.choice(["A81001", "A81002",
    ...     "A81003", "A81004"], n), "sex": rng.choice(["F", "M"], n), "age": age, "lsoa_code": "E01000001",
    ...     "cost": rng.gamma(0.5, 200 + 20 * age)})
    >>> groups = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003", "A81004"],
    ...                                              "consortium_code": ["Q1", "Q1", "Q2", "Q2"]}))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     result = committee_report(pathlib.Path(d) / "report.html", "1000000", people=people,
    ...                               membership=groups)
    ...     written = result.path.exists()
    >>> written, result.allocation.reconciles, int(result.allocation.practices["budget_pence"].sum())
    (True, True, 100000000)
    >>> [v.label for v in result.ladder]
    ['Age–sex']
    """
    require_matplotlib()
    started = time.perf_counter()
    note = log if log is not None else (lambda step, text: None)
    check_output(path, kind="file", overwrite=True, name="path")
    pence = to_pence(control_total)
    if people is None:
        ignored = [k for k, v in {"diagnoses": diagnoses, "conditions": conditions, "areas": areas,
                                  "membership": membership, "baseline": baseline}.items() if v is not None]
        ignored += [k for k, v in {"need": need, "supply": supply, "fixed_effects": fixed_effects}.items() if v]
        if ignored:
            raise InputError(f"committee_report was given {ignored} without 'people': they describe your "
                             "people, and synthetic England has its own. Fix: pass people=DataFrame too, or leave "
                             "them out.")
        samples = _synthetic(year, seed, fraction, validation_practices, icbs, started, note)
    else:
        if icbs is not None:
            raise InputError("committee_report was given 'icbs' with 'people': the ICBs choose synthetic England's "
                             "practices. Fix: leave icbs out, or select your people's practices first.")
        samples = _given(people, diagnoses, conditions, areas, need, supply, membership, fixed_effects, year, seed,
                         source, note)
    pop_est, pop_val = Population.from_frame(samples.people_est), Population.from_frame(samples.people_val)
    y_est, y_val = pop_est.cost / pop_est.exposure, pop_val.cost / pop_val.exposure
    validations, model, X_est, X_val = _climb(samples, pop_est, pop_val, y_est, y_val, ladder, started, note)
    validation = validations[-1]

    need_est = score(model, X_est)
    # Budgets rest on everyone observed, both samples, scored by the final model, and fund the lists as
    # aggregate does: the membership's list sizes (NHS England's by default) or those given, else the people.
    everyone = Population.from_frame(pd.concat([samples.people_est, samples.people_val], ignore_index=True))
    need_all = np.concatenate([need_est, score(model, X_val)])
    lists = aggregate(everyone, need_all, membership=samples.membership, list_sizes=list_sizes, unassigned="line")
    _refuse_negative_need(lists)
    for line in lists.summary().splitlines()[1:]:
        note("budgets", line)
    if people is None:
        baseline = _core_shares(lists, control_total, year)
    allocation = allocate(lists, control_total, membership=samples.membership, baseline=baseline,
                          unassigned="line")
    sizes = (allocation.practices["registered"], allocation.consortia["registered"]) if lists.on_lists else None
    # The waterfall explains the people scored: the control total scaled to their share of the people funded.
    sample = aggregate(pop_est, need_est, membership=samples.membership, list_sizes="observed", unassigned="line")
    n_sample = int(sample.practices["registered"].sum())
    sample_pence = pence * n_sample // max(round(float(allocation.practices["registered"].sum())), 1)
    alloc_sample = allocate(sample, Decimal(sample_pence).scaleb(-2), membership=samples.membership,
                            unassigned="line")
    explanation = explain_budgets(alloc_sample, model, X_est, pop_est.practice_code)
    note("budgets", f"{allocation.control_total} to {len(allocation.practices):,} practices; pence reconcile: "
                    f"{allocation.reconciles}")

    risk = _risk(allocation, samples.membership, need_est, y_est - model.predict(X_est), pop_est, overspend,
                 extra_cv, sizes)
    label = "Synthetic England" if people is None else _source(source)
    out = write_report(
        path, validation=validation, ladder=validations if len(validations) > 1 else None, allocation=allocation,
        risk=risk, explanation=explanation, consortium=consortium,
        subtitle=f"{label} · {year} · control total {allocation.control_total} · capitation {__version__}",
        suppress=suppress, min_count=min_count, min_list_size=min_list_size, practice_rows=practice_rows,
        provenance={**samples.provenance, **({"report written": written} if written else {})})
    return CommitteeReport(out, validation, validations, model, allocation, risk, explanation,
                           dict(samples.provenance))


def _source(source) -> str:
    return "the people given" if source is None else str(source)


def _synthetic(year, seed, fraction, validation_practices, icbs, started, note) -> _Samples:
    """Synthetic England: a sample of every list for estimation, whole lists of other practices to validate."""
    from ..datasets import load_practices
    from ..datasets.synthetic import synthetic_england

    if isinstance(validation_practices, bool) or not isinstance(validation_practices, (int, np.integer)) \
            or validation_practices < 1:
        raise InputError(f"The 'validation_practices' parameter must be a whole number >= 1. Got "
                         f"{validation_practices!r}. Fix: e.g. validation_practices=50.")
    membership = Membership.nhs_england(year)
    chosen = None
    if icbs is not None:
        codes = [icbs] if isinstance(icbs, str) else list(icbs)
        unknown = sorted(set(codes) - set(membership.table["consortium_code"]))
        if unknown or not codes:
            raise InputError(f"The 'icbs' parameter names {unknown or codes!r}, which are not {year} ICB codes. "
                             "Fix: use codes such as QE1, as in NHS England's ICB list of that year.")
        chosen = membership.table.loc[membership.table["consortium_code"].isin(codes), "practice_code"].tolist()
    # BMJ 2011's design: estimate on a sample of people, validate on whole lists of other practices.
    # Same seed, so both samples come from the same synthetic world (area and practice effects).
    frame = load_practices(year)
    pool = np.sort(frame.loc[frame["population"] >= 1, "practice_code"].astype(str).to_numpy())
    if chosen is not None:
        pool = np.intersect1d(pool, chosen)
    rng = np.random.default_rng(seed)
    held = sorted(rng.choice(pool, size=min(validation_practices, len(pool) // 2), replace=False).tolist())
    rest = np.setdiff1d(pool, held).tolist()
    est = synthetic_england(fraction=fraction, seed=seed, outcome_year=year, practices=rest)
    val = synthetic_england(fraction=1.0, seed=seed, outcome_year=year, practices=held)
    note("people", f"{len(est.people):,} in the estimation sample ({fraction:.2%} of each list); "
                   f"{len(val.people):,} on the full lists of {len(held)} validation practices "
                   f"({time.perf_counter() - started:.0f} s)")
    registers = tuple(sorted(set(est.conditions["register"].astype(str))))
    rungs = ladder_specs(year, diagnoses=True, fixed_effects=True, need_full=SYNTHETIC_NEED_FULL, need=SYNTHETIC_NEED,
                         supply=SYNTHETIC_SUPPLY, conditions=registers)
    provenance = {"data": f"synthetic England ({year} practices), seed {seed}",
                  "estimation sample": f"{fraction:.2%} of every list ({len(est.people):,} people)",
                  "validation sample": f"full lists of {len(held)} practices ({len(val.people):,} people)",
                  "baseline": f"the control total shared by NHS England's {year} core weighted populations"}
    return _Samples(people_est=est.people, people_val=val.people,
                    tables_est={"diagnoses": DiagnosisTable.from_frame(est.diagnoses),
                                "conditions": ConditionTable.from_frame(est.conditions)},
                    tables_val={"diagnoses": DiagnosisTable.from_frame(val.diagnoses),
                                "conditions": ConditionTable.from_frame(val.conditions)},
                    areas=pd.concat([est.areas, val.areas]).drop_duplicates("lsoa_code"), membership=membership,
                    rungs=rungs, provenance=provenance, practices=chosen)


def _given(people, diagnoses, conditions, areas, need, supply, membership, fixed_effects, year, seed, source,
           note) -> _Samples:
    """Your tables: people split at random into estimation and validation halves."""
    if not isinstance(people, pd.DataFrame):
        raise InputError(f"The 'people' parameter of committee_report must be a DataFrame. Got "
                         f"{type(people).__name__}. Fix: read the table first, e.g. pd.read_parquet(path).")
    need, supply = tuple(need), tuple(supply)
    if (need or supply) and areas is None:
        raise InputError(f"The model uses area variables {list(need + supply)} but no 'areas' table was given. "
                         "Fix: pass the areas table (lsoa_code and those columns).")
    require_columns(people, "people", ["person_id"])
    if "cost" not in people.columns:
        raise InputError("The 'people' table has no 'cost' column: the report fits and validates the model on each "
                         "person's outcome-year hospital cost (£). Fix: add it, or use capitation score and "
                         "allocate with a saved model.")
    if conditions is not None:
        require_columns(conditions, "conditions", ["person_id", "register"])
    registers = tuple(sorted(set(conditions["register"].astype(str)))) if conditions is not None else ()
    rungs = ladder_specs(year, diagnoses=diagnoses is not None, fixed_effects=fixed_effects, need_full=need,
                         need=need, supply=supply, conditions=registers)
    fit_rows, val_rows = split_people(len(people), 0.5, seed=seed)
    est, val = people.iloc[fit_rows], people.iloc[val_rows]
    note("people", f"{len(people):,} from {_source(source)}")
    return _Samples(people_est=est, people_val=val, tables_est=_records_of(est, people, diagnoses, conditions),
                    tables_val=_records_of(val, people, diagnoses, conditions), areas=areas,
                    membership=Membership.nhs_england(year) if membership is None else membership, rungs=rungs,
                    provenance={"data": _source(source), "validation": f"a random half of the people (seed {seed})"})


def _records_of(half: pd.DataFrame, people: pd.DataFrame, diagnoses, conditions) -> dict:
    """Return the records of one half's people, and of no one in ``people`` (which encoding refuses, naming them)."""
    tables = {}
    for name, table, kind in (("diagnoses", diagnoses, DiagnosisTable), ("conditions", conditions, ConditionTable)):
        if table is None:
            tables[name] = None
            continue
        ids = table["person_id"]
        mine = ids.isin(half["person_id"]) | ~ids.isin(people["person_id"])
        tables[name] = kind.from_frame(table[mine.to_numpy()])
    return tables


def _climb(samples: _Samples, pop_est, pop_val, y_est, y_val, ladder: bool, started, note):
    """Fit each rung on the estimation sample and validate it: the validations, and the last model and designs."""
    groups = {"icb": samples.membership}
    people_val = samples.people_val
    age_band = pd.cut(pop_val.age, _AGE_EDGES, right=False, labels=_AGE_LABELS)
    dims = {"age band": np.asarray(age_band.astype(str)), "sex": people_val["sex"].astype(str).to_numpy()}
    if "imd_quintile" in people_val.columns:
        dims["IMD quintile (1 = most deprived)"] = people_val["imd_quintile"].astype(str).to_numpy()
    validations = []
    model = X_est = X_val = None
    for rung in samples.rungs if ladder else samples.rungs[-1:]:
        spec = rung.spec
        kwargs = {"groups": groups} if spec.fixed_effects else {}
        X = encode(spec, pop_est, areas=samples.areas if (spec.need or spec.supply) else None,
                   diagnoses=samples.tables_est["diagnoses"], conditions=samples.tables_est["conditions"], **kwargs)
        model = CostModel(on_aliased="drop").fit(X, y_est, sample_weight=pop_est.exposure)
        spec = X.spec  # with the fixed effects' levels, so the validation sample is encoded onto the same columns
        V = encode(spec, pop_val, areas=samples.areas if (spec.need or spec.supply) else None,
                   diagnoses=samples.tables_val["diagnoses"], conditions=samples.tables_val["conditions"], **kwargs)
        v = validate(model.predict(V), y_val, pop_val.exposure, practice_code=pop_val.practice_code, groups=dims,
                     label=rung.name)
        validations.append(v)
        X_est, X_val = X, V
        note("model", f"{rung.name:<28} person R² {v.metrics['person_r2']:.3f}  practice R² "
                      f"{v.metrics['practice_r2']:.3f}  ({time.perf_counter() - started:.0f} s)")
    return validations, model, X_est, X_val


def _refuse_negative_need(lists) -> None:
    """Say why a practice's need came out negative, in the report's terms, before allocate refuses it."""
    practices = lists.practices
    negative = practices[practices["need"] < 0]
    if len(negative):
        shown = ", ".join(f"{code} ({int(n):,} people)" for code, n in negative["observed"].head(5).items())
        raise InputError(f"The cost model fitted for the report predicts negative need for {len(negative)} "
                         f"practice(s): {shown}. Few people per practice, with diagnosis groups seen in only a "
                         "handful of people, give coefficients of thousands of pounds either way, and a list of "
                         "a few people can then sum below zero; a budget share cannot be negative. Fix: give the "
                         "report more people per practice (a larger sample), or group rare diagnoses more "
                         "coarsely.")


def _core_shares(lists, control_total, year) -> pd.Series:
    """Share the control total by NHS England's core weighted populations: synthetic England's baseline."""
    funded = lists.practices
    core = published_need(year, "core")["need"].reindex(funded.index)
    shares = allocate(core, control_total, registered=funded["registered"])
    return pd.Series(shares.practices["budget_pence"] / 100)


def _risk(allocation, membership, need, residuals, pop_est, overspend, extra_cv, sizes) -> dict[str, BudgetRisk]:
    """Budget risk of the practices and of the consortia; for the published list sizes when ``sizes`` is given."""
    kwargs = {"residuals": residuals, "overspend": overspend, "extra_cv": extra_cv, "n_resamples": 0}
    risk_p = budget_risk(need, pop_est.practice_code, **kwargs)
    consortium_of = allocation.practices["consortium_code"].reindex(pop_est.practice_code).fillna("UNASSIGNED")
    risk_c = budget_risk(need, consortium_of.to_numpy(dtype=object), **kwargs)
    if sizes is not None:
        risk_p = risk_p.rescaled(sizes[0], label="published list sizes")
        risk_c = risk_c.rescaled(sizes[1], label="published list sizes")
    level = membership.level if membership.level != "consortium" else "consortia"
    return {"practices": risk_p, level: risk_c}
