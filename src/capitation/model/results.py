"""Immutable results of a fitted cost model, and the hash that ties a result to its FeatureSpec."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .._results import Result

__all__ = ["FitResult", "spec_sha256"]


def spec_sha256(spec) -> str | None:
    """SHA-256 of a FeatureSpec's canonical JSON, for a result's :class:`~capitation._results.Provenance`.

    The JSON is :func:`~capitation.features.serialize.spec_to_dict` (every field, the diagnosis grouping's
    whole table and learned fixed-effect levels), with sorted keys and no spaces, in UTF-8: two specs have the
    same hash exactly when they encode the same design.

    Parameters
    ----------
    spec : FeatureSpec or None
        Typically the fitted spec of the design (``X.spec``).

    Returns
    -------
    str or None
        64 hexadecimal characters; ``None`` when ``spec`` is ``None``.

    Examples
    --------
    >>> from capitation import FeatureSpec
    >>> from capitation.model.results import spec_sha256
    >>> a = spec_sha256(FeatureSpec(diagnosis_grouping=None, outcome_year="2025/26"))
    >>> b = spec_sha256(FeatureSpec(diagnosis_grouping=None, outcome_year="2024/25"))
    >>> len(a), a == spec_sha256(FeatureSpec(diagnosis_grouping=None, outcome_year="2025/26")), a == b
    (64, True, False)
    """
    if spec is None:
        return None
    from .._io import _canonical
    from ..features.serialize import spec_to_dict

    return hashlib.sha256(_canonical(spec_to_dict(spec))).hexdigest()


@dataclass(frozen=True, eq=False, repr=False)
class FitResult(Result):
    """Coefficients, covariances and fit statistics of a least-squares cost model.

    Attributes
    ----------
    params : pandas.Series
        Coefficients in £ per person-year, by column name (0 for dropped columns).
    cov : pandas.DataFrame
        Covariance of the identified coefficients (``cov_type``).
    cov_type : str
        ``"nonrobust"`` (classical) or ``"HC1"`` (heteroscedasticity-robust).
    n : int
        People in the fit.
    sum_weights : float
        Person-years (Σ weights).
    df_resid : int
        n minus the number of identified coefficients.
    ssr, centered_tss : float
        Weighted residual and total sums of squares.
    aliased, empty : tuple of str
        Columns dropped as exact combinations of earlier ones, or because no one has them.
    column_means : pandas.Series
        Weighted mean of each column in the training data (the national average for neutralisation).
    roles : pandas.Series
        Role of each column (demographic, morbidity, ... supply).
    cap : dict or None
        Cost capping applied before fitting: ``{"rule": ..., "value": £, "people_capped": n}``.
    provenance : Provenance
        Library version, and the hash of the fitted spec when the model was fitted on a FeatureMatrix.

    The Series and frames are the result's own data; :meth:`to_frame` builds a new table.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> result = CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]).result_
    >>> result.params.round(2).tolist(), result.summary().splitlines()[0]
    ([120.0, 160.0], 'Cost model: weighted least squares (coefficients in £ per person-year)')
    """

    params: pd.Series
    cov: pd.DataFrame
    cov_type: str
    n: int
    sum_weights: float
    df_resid: int
    ssr: float
    centered_tss: float
    aliased: tuple[str, ...]
    empty: tuple[str, ...]
    column_means: pd.Series
    roles: pd.Series
    cap: dict | None = None

    @cached_property
    def bse(self) -> pd.Series:
        """Standard errors of the identified coefficients."""
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.cov.index, name="std_err")

    @property
    def rsquared(self) -> float:
        """Person-level R² (weighted, centred); NaN when the outcome is constant (see :attr:`rsquared_note`)."""
        if not self.centered_tss > 0:  # a constant outcome has nothing to explain: R² is undefined, not an error
            return float("nan")
        return 1.0 - self.ssr / self.centered_tss

    @property
    def rsquared_note(self) -> str | None:
        """Why :attr:`rsquared` is undefined, or ``None`` when it is a number."""
        return None if self.centered_tss > 0 else "undefined: the outcome is constant"

    def _rsquared_text(self) -> str:
        return f"{self.rsquared:.4f}" if self.rsquared_note is None else f"{self.rsquared_note}"

    @property
    def scale(self) -> float:
        """Residual variance σ² = SSR / df_resid (NaN with no residual degrees of freedom)."""
        return self.ssr / self.df_resid if self.df_resid > 0 else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """Tabulate the coefficients: estimate, standard error, t, two-sided p-value, role.

        Returns
        -------
        pandas.DataFrame
            Indexed by the identified columns; a new table each call (editing it leaves the result as it was).

        Examples
        --------
        >>> import numpy as np
        >>> from capitation import CostModel
        >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]).result_.to_frame().columns.tolist()
        ['coef', 'std_err', 't', 'p_value', 'role']
        """
        from scipy import stats

        est = self.params.reindex(self.bse.index)
        t = est / self.bse
        table = pd.DataFrame({
            "coef": est,
            "std_err": self.bse,
            "t": t,
            "p_value": 2 * stats.t.sf(np.abs(t), self.df_resid),
            "role": self.roles.reindex(self.bse.index),
        })
        table.index.name = "column"  # a named index, so a CSV of the table has no blank first header
        return table

    def _frame(self) -> pd.DataFrame:
        return self.to_frame()

    def summary(self) -> str:
        """Summarise the fit and the coefficient table in plain text.

        Returns
        -------
        str
            The fit on the first lines (people, R², covariance, capping, dropped columns), then the table.

        Examples
        --------
        >>> import numpy as np
        >>> from capitation import CostModel
        >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> print(CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]).result_.summary().splitlines()[1])
          people 4   person-years 4.0   coefficients 2
        """
        head = [
            "Cost model: weighted least squares (coefficients in £ per person-year)",
            f"  people {self.n:,}   person-years {self.sum_weights:,.1f}   coefficients {len(self.bse):,}",
            f"  R² (person) {self._rsquared_text()}   residual s.d. £{np.sqrt(self.scale):,.0f}   "
            f"covariance {self.cov_type}",
        ]
        if self.cap:
            head.append(f"  costs capped at £{self.cap['value']:,.0f} ({self.cap['rule']}): "
                        f"{self.cap['people_capped']:,} people")
        if self.aliased or self.empty:
            head.append(f"  dropped: aliased {list(self.aliased)} empty {list(self.empty)}")
        table = self.to_frame().to_string(float_format=lambda v: f"{v:,.4g}")
        return "\n".join(head) + "\n" + table

    def __repr__(self) -> str:
        return (f"FitResult(n={self.n:,}, coefficients={len(self.bse)}, R²={self._rsquared_text()}, "
                f"cov_type={self.cov_type!r})")
