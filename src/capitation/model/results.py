"""Immutable results of a fitted cost model."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = ["FitResult"]


@dataclass(frozen=True, eq=False)
class FitResult:
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
        """Coefficient table: estimate, standard error, t, two-sided p-value, role."""
        from scipy import stats

        est = self.params.reindex(self.bse.index)
        t = est / self.bse
        return pd.DataFrame({
            "coef": est,
            "std_err": self.bse,
            "t": t,
            "p_value": 2 * stats.t.sf(np.abs(t), self.df_resid),
            "role": self.roles.reindex(self.bse.index),
        })

    def summary(self) -> str:
        """A plain-text summary of the fit and the coefficient table."""
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
