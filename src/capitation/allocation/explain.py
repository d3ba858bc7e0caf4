"""Why a consortium's budget per head differs from the national average, block by block.

Need is linear in the design, ``need_i = Σ_j x_ij β_j + c`` (supply columns held at the national mean and
folded into ``c``), and a consortium's budget is ``Q × Σ_{i∈g} need_i / Σ_i need_i``. Its budget per head
``b_g`` against the national ``b̄ = Q / N`` therefore splits exactly over the blocks of columns::

    b_g − b̄ = (b̄ / n̄) × Σ_blocks Σ_{j∈block} (x̄_{g,j} − x̄_j) β_j

with ``x̄_{g,j}`` the consortium's mean of column *j* over its registered people, ``x̄_j`` the national mean
and ``n̄`` the national need per head. Blocks follow the column roles: age–sex (``demographic``),
morbidity, primary-care conditions and area need; supply and fixed effects contribute nothing (supply
neutral). ``other`` is what remains: penny rounding, and any adjustments made in :func:`allocate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Provenance, Result
from ..errors import InputError, SchemaError
from .allocate import Allocation

__all__ = ["BLOCKS", "BudgetExplanation", "explain_budgets"]

#: Column role → explanation block.
BLOCKS = {"demographic": "age_sex", "morbidity": "morbidity", "primary-care": "primary_care", "need": "need",
          "supply": "supply_neutralised", "fixed-effect": "supply_neutralised"}
_ORDER = ("age_sex", "morbidity", "primary_care", "need", "supply_neutralised", "other")


@dataclass(frozen=True, eq=False, repr=False)
class BudgetExplanation(Result):
    """Budget per head against the national average, split into contributions (£ per head).

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by consortium: ``registered``, ``national_per_head``, one column per block
        (``age_sex``, ``morbidity``, ``primary_care``, ``need``, ``supply_neutralised``, ``other``) and
        ``budget_per_head``; each row satisfies national + Σ blocks = budget per head. The result's own
        data: :meth:`to_frame` gives a copy to edit.
    provenance : Provenance
        Library version and the hash of the design's spec.

    The waterfall figure is :func:`capitation.report.budget_waterfall`, drawn from :meth:`waterfall`.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.allocation import BudgetExplanation
    >>> e = BudgetExplanation(pd.DataFrame({"registered": [10.0], "national_per_head": [100.0], "age_sex": [5.0],
    ...                                     "morbidity": [0.0], "primary_care": [0.0], "need": [0.0],
    ...                                     "supply_neutralised": [0.0], "other": [0.0],
    ...                                     "budget_per_head": [105.0]}, index=["Q1"]))
    >>> e.waterfall()["end"].tolist()
    [100.0, 105.0, 105.0, 105.0, 105.0, 105.0, 105.0, 105.0]
    """

    table: pd.DataFrame

    def _frame(self) -> pd.DataFrame:
        return self.table

    def to_frame(self) -> pd.DataFrame:
        """Return the contribution table, as a copy.

        Returns
        -------
        pandas.DataFrame
            Editing it leaves the explanation as it was.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.allocation import BudgetExplanation
        >>> e = BudgetExplanation(pd.DataFrame({"budget_per_head": [105.0]}, index=["Q1"]))
        >>> e.to_frame() is e.table
        False
        """
        return self.table.copy()

    def waterfall(self) -> pd.DataFrame:
        """Lay the contributions out as a long frame for waterfall charts, one row per step of each consortium.

        Returns
        -------
        pandas.DataFrame
            ``consortium_code``, ``step``, ``kind`` (``total``/``delta``), ``value``, ``start`` and ``end``
            (£ per head): the national average, each block in order, then the budget per head.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.allocation import BudgetExplanation
        >>> blocks = dict.fromkeys(["age_sex", "morbidity", "primary_care", "need", "supply_neutralised", "other"],
        ...                        1.0)
        >>> e = BudgetExplanation(pd.DataFrame({"national_per_head": [100.0], **blocks, "budget_per_head": [106.0]},
        ...                                    index=["Q1"]))
        >>> e.waterfall()["step"].tolist()[:3]
        ['national average', 'age_sex', 'morbidity']
        """
        rows = []
        for code, row in self.table.iterrows():
            level = row["national_per_head"]
            rows.append((code, "national average", "total", level, 0.0, level))
            for block in _ORDER:
                rows.append((code, block, "delta", row[block], level, level + row[block]))
                level += row[block]
            rows.append((code, "budget per head", "total", row["budget_per_head"], 0.0, row["budget_per_head"]))
        return pd.DataFrame(rows, columns=["consortium_code", "step", "kind", "value", "start", "end"])

    def summary(self) -> str:
        """Describe the contributions, £ per head, in plain text.

        Returns
        -------
        str
            A title line, then one row per consortium: budget per head and each block's part.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.allocation import BudgetExplanation
        >>> blocks = dict.fromkeys(["age_sex", "morbidity", "primary_care", "need", "supply_neutralised", "other"],
        ...                        0.0)
        >>> e = BudgetExplanation(pd.DataFrame({**blocks, "budget_per_head": [1.0]}, index=["Q1"]))
        >>> e.summary().splitlines()[0]
        'Budget per head against the national average (£ per head; supply neutral)'
        """
        columns = ["budget_per_head", *_ORDER]
        return ("Budget per head against the national average (£ per head; supply neutral)\n"
                + self.table[columns].to_string(float_format=lambda v: f"{v:,.2f}"))


def explain_budgets(allocation: Allocation, model, X, practice_code, *, neutralise=None) -> BudgetExplanation:
    """Split each consortium's budget per head into age–sex, morbidity, primary-care and need parts.

    Parameters
    ----------
    allocation : Allocation
        Made with a membership, from the aggregation of the same people's need.
    model : CostModel or FitResult
        The model that scored ``X``.
    X : FeatureMatrix
        The design of the registered people (one row per person).
    practice_code : array-like
        Each row's practice (e.g. ``population.practice_code``).
    neutralise : sequence of str, optional
        The roles or columns held at the national mean when scoring (default: supply and fixed effects).

    Returns
    -------
    BudgetExplanation
        One row per consortium: the national budget per head, each block's contribution (£ per head) and the
        consortium's budget per head, which they add up to.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation import CostModel, FeatureSpec, Membership, Population, aggregate, allocate, encode, score
    >>> people = pd.DataFrame({"person_id": range(1, 9), "practice_code": ["A1"] * 4 + ["A2"] * 4,
    ...                        "sex": ["F", "M"] * 4, "age": [30] * 4 + [80] * 4, "lsoa_code": ["E01011959"] * 8,
    ...                        "cost": [100.0, 200.0] * 2 + [900.0, 1100.0] * 2})
    >>> pop = Population.from_frame(people, practice_pattern=None)
    >>> X = encode(FeatureSpec(diagnosis_grouping=None, age_bands=(0, 65)), pop)
    >>> model = CostModel().fit(X, pop.cost)
    >>> groups = Membership.from_frame(pd.DataFrame({"practice_code": ["A1", "A2"], "consortium_code": ["X", "Y"]}))
    >>> alloc = allocate(aggregate(pop, score(model, X)), 4_600, membership=groups)
    >>> parts = explain_budgets(alloc, model, X, pop.practice_code).table
    >>> parts[["age_sex", "budget_per_head"]].round(2).values.tolist()
    [[-425.0, 150.0], [425.0, 1000.0]]
    """
    from ..model.estimator import CostModel
    from ..model.results import FitResult, spec_sha256
    from ..scoring.score import NEUTRAL_ROLES, neutralised_coefficients

    if not isinstance(allocation, Allocation) or allocation.consortia is None:
        raise InputError("explain_budgets needs an Allocation made with a membership. Fix: "
                         "allocate(need, total, membership=...).")
    result = model.result_ if isinstance(model, CostModel) else model
    if not isinstance(result, FitResult):
        raise SchemaError(f"The 'model' parameter must be a fitted CostModel or FitResult. Got {type(model).__name__}.")
    if list(X.column_names) != list(result.params.index):
        raise InputError("The design's columns differ from the model's. Fix: encode with the FeatureSpec used "
                         "to fit the model.")
    practices = np.asarray(practice_code, dtype=object).reshape(-1)
    if len(practices) != X.n_rows:
        raise InputError(f"The 'practice_code' parameter has {len(practices):,} values for {X.n_rows:,} rows of X.")
    table = allocation.practices
    where = pd.Index(table.index).get_indexer(practices)
    if (where < 0).any():
        raise InputError(f"Practices {sorted(set(practices[where < 0]))[:5]} of X are not in the allocation. "
                         "Fix: allocate the aggregation of the same people.")
    consortium = table["consortium_code"].to_numpy(dtype=object)[where]
    codes, names = pd.factorize(consortium, sort=True)
    coef, constant = neutralised_coefficients(result, neutralise if neutralise is not None else NEUTRAL_ROLES)
    from scipy import sparse

    design = X.to_scipy()
    k = len(names)
    indicator = sparse.csr_array((np.ones(X.n_rows), (codes, np.arange(X.n_rows))), shape=(k, X.n_rows))
    people = np.bincount(codes, minlength=k).astype(np.float64)
    group_means = (indicator @ design).toarray() / people[:, None]
    national_means = np.asarray(design.sum(axis=0)).reshape(-1) / X.n_rows
    contrib = (group_means - national_means[None, :]) * coef[None, :]
    national_need = float(national_means @ coef + constant)
    if national_need <= 0:
        raise InputError("The national need per head is not positive, so budgets per head cannot be explained.")
    q_per_head = allocation.control_total_pence / 100 / float(table["registered"].sum())
    scale = q_per_head / national_need
    roles = result.roles.reindex(result.params.index).map(BLOCKS).fillna("need").to_numpy()
    out = pd.DataFrame(index=pd.Index(np.asarray(names, dtype=object), name="consortium_code"))
    out["registered"] = people
    out["national_per_head"] = q_per_head
    for block in _ORDER[:-1]:
        mask = roles == block
        out[block] = scale * contrib[:, mask].sum(axis=1) if mask.any() else 0.0
    budget = allocation.consortia["budget_per_head"].reindex(out.index).to_numpy()
    out["other"] = budget - q_per_head - out[list(_ORDER[:-1])].sum(axis=1)
    out["budget_per_head"] = budget
    return BudgetExplanation(out, provenance=Provenance(spec_sha256=spec_sha256(getattr(X, "spec", None))))
