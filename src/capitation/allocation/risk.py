"""Budget risk: how far a practice's or consortium's actual cost may land from its budget.

With person predictions ``ŷ_i`` (the model's need) and person residual variances ``σ_i²``, the actual cost
of a group *g* is ``Y_g = Σ_{i∈g} y_i`` with ``E[Y_g] = Σ ŷ_i`` and, people being independent,

    Var(Y_g) = Σ_{i∈g} σ_i² + (τ · E[Y_g])²

where ``τ`` (``extra_cv``) is an optional group-level coefficient of variation the person model cannot see
(e.g. a practice's own style). Against a budget ``B_g`` the gap is ``Y_g − B_g``; by the central limit
theorem ``P(Y_g > (1 + x) B_g) ≈ 1 − Φ(((1 + x) B_g − E[Y_g]) / sd(Y_g))``.

For a pool of ``n`` people like the average person (coefficient of variation ``c = σ̄ / μ̄``) budgeted at
expected cost, ``P(overspend > x) = 1 − Φ(x / √(c²/n + τ²))`` and the pool needed to keep this under
``α`` is ``n ≥ c² / ((x / z_{1−α})² − τ²)`` (no pool is large enough when ``τ ≥ x / z_{1−α}``).

Variances come from residuals ``r_i = y_i − ŷ_i``: ``"constant"`` uses ``σ² = mean(r²)``;
``"proportional"`` (costs' variance grows with their mean) uses ``σ_i² = φ · ŷ_i`` with
``φ = Σ r² / Σ ŷ``. The resampling estimate draws standardised residuals ``r_j / σ_j`` with replacement,
``y_i* = ŷ_i + σ_i e*``, and sums them per group; the pool is centred but not rescaled, so a variance
model that does not fit the residuals shows up as a difference between the two estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from .._validation import check_number
from ..errors import InputError

__all__ = ["BudgetRisk", "budget_risk", "list_size_needed", "overspend_probability"]


def _special():
    from scipy import special  # here, not at import: scipy costs a fifth of a second to load

    return special


def _normal_sf(x):
    """P(Z > x) for a standard normal Z (``scipy.stats.norm.sf``, bit for bit, without loading scipy.stats)."""
    return _special().ndtr(-np.asarray(x, dtype=np.float64))


def overspend_probability(n, cv: float, overspend: float = 0.05, extra_cv: float = 0.0):
    """Give P(actual > (1 + overspend) × budget) for a pool of ``n`` people budgeted at expected cost.

    ``1 − Φ(overspend / √(cv²/n + extra_cv²))`` (normal approximation).

    Parameters
    ----------
    n : int or array-like
        People in the pool.
    cv : float
        Coefficient of variation of one person's annual cost (σ / μ).
    overspend : float
        The overspend that counts, as a fraction of budget (0.05 = 5%).
    extra_cv : float
        Group-level coefficient of variation not explained by the person model.

    Returns
    -------
    float or ndarray of float
        The probability for each ``n`` (an array, 0-d for a single ``n``).

    Examples
    --------
    >>> round(float(overspend_probability(10_000, 3.0, 0.05)), 4)
    0.0478
    >>> overspend_probability([1_000, 100_000], 3.0, 0.05).round(4).tolist()  # bigger registered lists, less risk
    [0.2991, 0.0]
    """
    cv = check_number(cv, "cv", low=0.0, low_open=True)
    overspend = check_number(overspend, "overspend", low=0.0, low_open=True)
    extra_cv = check_number(extra_cv, "extra_cv", low=0.0)
    n = np.asarray(n, dtype=np.float64)
    if (n <= 0).any():
        raise InputError("The 'n' parameter must be positive numbers of people.")
    return _normal_sf(overspend / np.sqrt(cv * cv / n + extra_cv * extra_cv))


def list_size_needed(cv: float, overspend: float = 0.05, probability: float = 0.05, extra_cv: float = 0.0) -> float:
    """Find the smallest pool whose chance of overspending by more than ``overspend`` is at most ``probability``.

    ``n = ⌈cv² / ((overspend / z)² − extra_cv²)⌉`` with ``z = Φ⁻¹(1 − probability)``; ``inf`` when
    ``extra_cv ≥ overspend / z`` (pooling cannot remove group-level risk).

    Parameters
    ----------
    cv : float
        Coefficient of variation of one person's annual cost (σ / μ), positive.
    overspend : float
        The overspend that counts, as a fraction of budget (0.05 = 5%).
    probability : float
        The acceptable chance of such an overspend, in (0, 0.5).
    extra_cv : float
        Group-level coefficient of variation not explained by the person model.

    Returns
    -------
    float
        Whole people on the registered list (or in the consortium); ``inf`` when no pool is large enough.

    Examples
    --------
    >>> list_size_needed(3.0, overspend=0.05, probability=0.05)
    9740.0
    >>> list_size_needed(3.0, extra_cv=0.04)  # a practice's own style: pooling cannot beat it
    inf
    """
    cv = check_number(cv, "cv", low=0.0, low_open=True)
    overspend = check_number(overspend, "overspend", low=0.0, low_open=True)
    probability = check_number(probability, "probability", low=0.0, high=0.5, low_open=True, high_open=True)
    extra_cv = check_number(extra_cv, "extra_cv", low=0.0)
    z = -_special().ndtri(probability)  # the normal quantile above which ``probability`` lies
    room = (overspend / z) ** 2 - extra_cv ** 2
    if room <= 0:
        return math.inf
    return float(math.ceil(cv * cv / room))


@dataclass(frozen=True, eq=False, repr=False)
class BudgetRisk(Result):
    """Distribution of actual minus budget per group, analytic and resampled.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by group: ``people``, ``expected`` (Σ ŷ, £), ``budget`` (£), ``sd`` (analytic, £), ``cv``
        (sd ÷ budget), ``p_overspend`` (analytic), ``sd_resampled``, ``p_overspend_resampled``,
        ``gap_q05``/``gap_q95`` (resampled quantiles of actual − budget, £), ``cv_person`` (the group's
        σ̄/μ̄) and ``list_size_needed`` (people with this case mix to meet ``probability``). The result's own
        data: :meth:`to_frame` gives a copy to edit.
    cv_person : float
        Coefficient of variation of the average person's cost, over everyone.
    parameters : dict
        ``overspend``, ``probability``, ``extra_cv``, ``variance`` model, ``phi`` or ``sigma2``,
        ``n_resamples``, ``seed`` and ``clipped`` (people whose negative prediction was taken as 0); after
        :meth:`rescaled`, ``scaled_to``.
    provenance : Provenance
        Library version.

    The figure of a budget risk is :func:`capitation.report.budget_risk_by_size`, which draws the groups and
    :meth:`curve`.

    Examples
    --------
    >>> import numpy as np
    >>> risk = budget_risk(np.full(4_000, 500.0), np.repeat(["A1", "A2"], 2_000), variance=(3 * 500.0) ** 2,
    ...                    n_resamples=0)
    >>> risk.pool_needed()
    9740.0
    """

    table: pd.DataFrame
    cv_person: float
    parameters: dict = field(default_factory=dict)

    def _frame(self) -> pd.DataFrame:
        return self.table

    def to_frame(self) -> pd.DataFrame:
        """Return the per-group table, as a copy.

        Returns
        -------
        pandas.DataFrame
            Editing it leaves the result as it was.

        Examples
        --------
        >>> import numpy as np
        >>> risk = budget_risk(np.full(10, 500.0), ["A1"] * 10, variance=1.0, n_resamples=0)
        >>> risk.to_frame()["people"].tolist()
        [10]
        """
        return self.table.copy()

    def _setting(self, name: str, value):
        return self.parameters[name] if value is None else value

    def pool_needed(self, *, cv: float | None = None, overspend: float | None = None,
                    probability: float | None = None, extra_cv: float | None = None) -> float:
        """Count the people a pool of average people needs for ``P(overspend) ≤ probability``.

        The pool size of :func:`list_size_needed`, with the settings of this risk unless given.

        Parameters
        ----------
        cv, overspend, probability, extra_cv : float, optional
            Instead of :attr:`cv_person` and the ``parameters`` the risk was computed with.

        Returns
        -------
        float
            Whole people; ``inf`` when no pool is large enough.

        Examples
        --------
        >>> import numpy as np
        >>> risk = budget_risk(np.full(10, 500.0), ["A1"] * 10, variance=(3 * 500.0) ** 2, n_resamples=0)
        >>> risk.pool_needed(), risk.pool_needed(extra_cv=0.04)
        (9740.0, inf)
        """
        return list_size_needed(self.cv_person if cv is None else cv, self._setting("overspend", overspend),
                                self._setting("probability", probability), self._setting("extra_cv", extra_cv))

    def curve(self, lo: float | None = None, hi: float | None = None, *, points: int = 300,
              cv: float | None = None, overspend: float | None = None, probability: float | None = None,
              extra_cv: float | None = None) -> pd.DataFrame:
        """Tabulate the pooling curve: chance that a pool of average people overspends, against its size.

        ``P = 1 − Φ(overspend / √(cv²/n + extra_cv²))`` (:func:`overspend_probability`) at ``points``
        log-spaced sizes from ``lo`` to ``hi``, extended to 1.5 × :meth:`pool_needed` (at most 10⁸ people)
        so that the size needed lies on the curve. This is the curve
        :func:`capitation.report.budget_risk_by_size` draws.

        Parameters
        ----------
        lo, hi : float, optional
            Smallest and largest size; by default half the smallest group and twice the largest.
        points : int
            Sizes on the curve.
        cv, overspend, probability, extra_cv : float, optional
            Instead of :attr:`cv_person` and the ``parameters`` the risk was computed with.

        Returns
        -------
        pandas.DataFrame
            ``people`` (increasing) and ``p_overspend``.

        Examples
        --------
        >>> import numpy as np
        >>> risk = budget_risk(np.full(10, 500.0), ["A1"] * 10, variance=(3 * 500.0) ** 2, n_resamples=0)
        >>> c = risk.curve(100, 1_000_000, points=3)
        >>> c["people"].tolist(), c["p_overspend"].round(4).tolist()
        ([100.0, 10000.0, 1000000.0], [0.4338, 0.0478, 0.0])
        """
        if lo is None or hi is None:
            people = self.table["people"].to_numpy(dtype=float) if "people" in self.table else np.empty(0)
            people = people[people > 0]
            low, high = (max(people.min() * 0.5, 1), people.max() * 2) if len(people) else (100, 1e6)
            lo = low if lo is None else lo
            hi = high if hi is None else hi
        cv = self.cv_person if cv is None else cv
        overspend, extra_cv = self._setting("overspend", overspend), self._setting("extra_cv", extra_cv)
        needed = self.pool_needed(cv=cv, overspend=overspend, probability=probability, extra_cv=extra_cv)
        grid = np.geomspace(lo, max(hi, min(needed * 1.5, 1e8)), points)
        return pd.DataFrame({"people": grid, "p_overspend": overspend_probability(grid, cv, overspend, extra_cv)})

    def rescaled(self, sizes: pd.Series, *, label: str = "given list sizes") -> BudgetRisk:
        """Recompute the risk for groups of ``sizes`` people, each with its own case mix.

        A group's analytic probability of overspending becomes that of ``sizes[group]`` people with the
        group's person cv (``cv_person`` column; the overall :attr:`cv_person` where it is undefined):
        ``overspend_probability(size, cv, overspend, extra_cv)``, and 0 for a group with no variance. Use it
        when the people scored are a sample of each list (e.g. 1%) and budgets cover the whole lists. Only
        ``people`` and ``p_overspend`` change; the other columns stay those of the people scored.

        Parameters
        ----------
        sizes : pandas.Series
            People per group, indexed by group; groups it does not name keep their size.
        label : str
            What the sizes are, recorded as ``parameters["scaled_to"]``.

        Returns
        -------
        BudgetRisk
            A new result; this one is left as it was.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> risk = budget_risk(np.full(200, 500.0), np.repeat(["A1", "A2"], 100), variance=(3 * 500.0) ** 2,
        ...                    n_resamples=0)
        >>> big = risk.rescaled(pd.Series({"A1": 10_000}))
        >>> big.table["people"].tolist(), big.table["p_overspend"].round(4).tolist()
        ([10000.0, 100.0], [0.0478, 0.4338])
        """
        if not isinstance(sizes, pd.Series):
            raise InputError(f"The 'sizes' parameter of BudgetRisk.rescaled must be a Series of people indexed by "
                             f"group. Got {type(sizes).__name__}. Fix: e.g. registered list sizes by practice.")
        p = self.parameters
        table = self.table.copy()
        people = sizes.reindex(table.index).fillna(table["people"]).to_numpy(dtype=float)
        cv = table["cv_person"].replace([np.inf, -np.inf], np.nan).fillna(self.cv_person).to_numpy()
        table["people"] = people
        table["p_overspend"] = [float(overspend_probability(n, c, p["overspend"], p["extra_cv"])) if c > 0 else 0.0
                                for n, c in zip(people, cv, strict=True)]
        return BudgetRisk(table, self.cv_person, {**p, "scaled_to": label}, provenance=self.provenance)

    def summary(self) -> str:
        """Risk in plain text, groups sorted by the analytic probability of overspending.

        Returns
        -------
        str
            The settings on the first line, the pool needed, then the 20 riskiest groups.

        Examples
        --------
        >>> import numpy as np
        >>> risk = budget_risk(np.full(10, 500.0), ["A1"] * 10, variance=(3 * 500.0) ** 2, n_resamples=0)
        >>> print(risk.summary().splitlines()[1])
          pool needed for P ≤ 5% with the national case mix: 9,740 people
        """
        p = self.parameters
        t = self.table.sort_values("p_overspend", ascending=False)
        head = (f"Budget risk ({len(t):,} groups; P(actual > budget × {1 + p['overspend']:.2f}); variance "
                f"{p['variance']}, person cv {self.cv_person:.2f}, group cv {p['extra_cv']:.3f}; "
                f"{p['n_resamples']} resamples)\n"
                f"  pool needed for P ≤ {p['probability']:.0%} with the national case mix: "
                f"{self.pool_needed():,.0f} people")
        show = t[["people", "budget", "cv", "p_overspend", "p_overspend_resampled", "list_size_needed"]].head(20)
        return head + "\n" + show.to_string(float_format=lambda v: f"{v:,.4g}")


def budget_risk(need, groups, *, residuals=None, variance=None, variance_model: str = "proportional",
                budget=None, overspend: float = 0.05, probability: float = 0.05, extra_cv: float = 0.0,
                n_resamples: int = 400, seed: int = 0) -> BudgetRisk:
    """Estimate the distribution of actual cost minus budget for each group (practice or consortium).

    The distribution is the one the model implies: expected cost and variance summed over each group's people.

    Parameters
    ----------
    need : array-like
        Predicted annual cost per person (£), e.g. from :func:`capitation.score`.
    groups : array-like
        Each person's group (practice code, or consortium code).
    residuals : array-like, optional
        ``actual − predicted`` per person, aligned with ``need`` (from the fitting or a validation sample),
        used to estimate the variance and as the resampling pool.
    variance : float or array-like, optional
        Person variances ``σ_i²`` instead of estimating them from ``residuals``.
    variance_model : {"proportional", "constant"}
        ``σ_i² = φ ŷ_i`` or ``σ_i² = σ²`` when estimating from residuals.
    budget : pandas.Series, optional
        Budget per group in £ (e.g. from :func:`allocate`); expected cost Σ ŷ when omitted.
    overspend : float
        Overspend that counts, as a fraction of budget.
    probability : float
        Acceptable chance of such an overspend, for ``list_size_needed``.
    extra_cv : float
        Group-level coefficient of variation outside the person model (0 by default).
    n_resamples : int
        Resamples for the bootstrap estimate (0 to skip).
    seed : int
        Seed of the resampling.

    Returns
    -------
    BudgetRisk
        One row per group with the analytic (and, with ``n_resamples``, resampled) chance of overspending.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> need = np.full(20_000, 500.0)
    >>> groups = np.repeat(["A1", "A2"], [2_000, 18_000])
    >>> risk = budget_risk(need, groups, variance=(3 * 500.0) ** 2, n_resamples=0)
    >>> risk.table["p_overspend"].round(3).tolist()
    [0.228, 0.013]
    """
    yhat = np.ascontiguousarray(need, dtype=np.float64).reshape(-1)
    labels = np.asarray(groups, dtype=object).reshape(-1)
    if len(labels) != len(yhat):
        raise InputError(f"The 'groups' parameter has {len(labels):,} values for {len(yhat):,} people. "
                         "Fix: give each person's practice or consortium, in the order of 'need'.")
    if len(yhat) == 0 or not np.isfinite(yhat).all():
        raise InputError("The 'need' parameter must be finite predictions for at least one person.")
    if variance_model not in ("proportional", "constant"):
        raise InputError("The 'variance_model' parameter must be 'proportional' or 'constant'. "
                         f"Got {variance_model!r} instead.")
    overspend = check_number(overspend, "overspend", low=0.0, low_open=True)
    probability = check_number(probability, "probability", low=0.0, high=0.5, low_open=True, high_open=True)
    extra_cv = check_number(extra_cv, "extra_cv", low=0.0)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0:
        raise InputError(f"The 'n_resamples' parameter must be a non-negative integer. Got {n_resamples!r}.")
    clipped = int((yhat < 0).sum())
    mean = np.maximum(yhat, 0.0)
    params: dict = {"overspend": overspend, "probability": probability, "extra_cv": extra_cv,
                    "n_resamples": int(n_resamples), "seed": seed, "clipped": clipped}
    r = None
    if variance is not None:
        sigma2 = np.broadcast_to(np.asarray(variance, dtype=np.float64), yhat.shape).copy()
        if not np.isfinite(sigma2).all() or (sigma2 < 0).any():
            raise InputError("The 'variance' parameter must be finite and non-negative.")
        params["variance"] = "given"
    elif residuals is not None:
        r = np.ascontiguousarray(residuals, dtype=np.float64).reshape(-1)
        if len(r) != len(yhat) or not np.isfinite(r).all():
            raise InputError(f"The 'residuals' parameter must hold {len(yhat):,} finite values, one per person of "
                             "'need'. Fix: pass actual − predicted for the same people.")
        if variance_model == "constant":
            params["sigma2"] = float(np.mean(r * r))
            sigma2 = np.full(len(yhat), params["sigma2"])
        else:
            if mean.sum() <= 0:
                raise InputError("A proportional variance needs positive predictions. Fix: use "
                                 "variance_model='constant'.")
            params["phi"] = float(np.dot(r, r) / mean.sum())
            sigma2 = params["phi"] * mean
        params["variance"] = variance_model
    else:
        raise InputError("budget_risk needs 'residuals' (actual − predicted per person) or 'variance'. Fix: "
                         "score a sample with known costs and pass cost − need.")
    codes, names = pd.factorize(labels, sort=True)
    k = len(names)
    people = np.bincount(codes, minlength=k)
    expected = np.bincount(codes, weights=mean, minlength=k)
    var = np.bincount(codes, weights=sigma2, minlength=k) + (extra_cv * expected) ** 2
    index = pd.Index(np.asarray(names, dtype=object), name="group")
    if budget is None:
        budgets = expected.copy()
    else:
        if not isinstance(budget, pd.Series):
            raise InputError("The 'budget' parameter must be a Series of £ indexed by group. "
                             f"Got {type(budget).__name__}.")
        found = budget.reindex(index)
        if found.isna().any():
            absent = index[found.isna().to_numpy()][:5].tolist()
            raise InputError(f"The 'budget' Series has no value for groups {absent}. "
                             "Fix: give every group's budget.")
        budgets = found.to_numpy(dtype=np.float64)
    sd = np.sqrt(var)
    limit = (1 + overspend) * budgets
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (limit - expected) / sd, np.where(limit >= expected, np.inf, -np.inf))
    table = pd.DataFrame({"people": people, "expected": expected, "budget": budgets, "sd": sd,
                          "cv": sd / budgets, "p_overspend": _normal_sf(z)}, index=index)
    if n_resamples:
        sims = _resample(mean, sigma2, r, codes, k, n_resamples, seed, extra_cv, expected)
        gaps = sims - budgets[None, :]
        table["sd_resampled"] = sims.std(axis=0, ddof=1) if n_resamples > 1 else np.nan
        table["p_overspend_resampled"] = (sims > limit[None, :]).mean(axis=0)
        table["gap_q05"] = np.quantile(gaps, 0.05, axis=0)
        table["gap_q95"] = np.quantile(gaps, 0.95, axis=0)
    else:
        for column in ("sd_resampled", "p_overspend_resampled", "gap_q05", "gap_q95"):
            table[column] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        table["cv_person"] = np.sqrt(people * np.bincount(codes, weights=sigma2, minlength=k)) / expected
    table["list_size_needed"] = [list_size_needed(c, overspend, probability, extra_cv) if c > 0 else 1.0
                                 for c in table["cv_person"].fillna(np.inf)]
    cv_person = float(np.sqrt(len(mean) * sigma2.sum()) / mean.sum())
    return BudgetRisk(table, cv_person, params)


def _resample(mean, sigma2, residuals, codes, k, n_resamples, seed, extra_cv, expected) -> np.ndarray:
    """``n_resamples × k`` simulated group totals: ŷ + σ e*, e* drawn from the standardised residuals."""
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(sigma2)
    if residuals is not None:
        pool = residuals / np.where(sigma > 0, sigma, 1.0)
        pool = pool[sigma > 0] if (sigma > 0).any() else pool
        pool = pool - pool.mean()  # centred, not rescaled: a wrong variance model shows as a gap
    else:
        pool = None
    out = np.empty((n_resamples, k))
    for b in range(n_resamples):
        e = pool[rng.integers(0, len(pool), len(mean))] if pool is not None else rng.standard_normal(len(mean))
        out[b] = np.bincount(codes, weights=mean + sigma * e, minlength=k)
        if extra_cv:
            out[b] += extra_cv * expected * rng.standard_normal(k)
    return out
