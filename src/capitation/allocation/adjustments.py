"""Optional adjustments between need and money, each a frozen spec with its formula.

They act on practice *weighted populations* (WP: registered × need index, normalised so the total equals
the registered population of the practices allocated) and are always applied in the same order, whatever
order they are passed in:

1. :class:`ListInflation` — registered lists scaled to official resident totals by area and age band;
2. :class:`HealthInequalities` — ``WP ← (1 − h)·WP + h·WP_HI``;
3. :class:`UnavoidableCost` — ``WP ← WP × index`` (market forces factor), renormalised.

Each returns the new table and a record of what it did, kept on the :class:`Allocation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_number, require_columns
from ..errors import InputError, UnknownCodeError

__all__ = ["ORDER", "HealthInequalities", "ListInflation", "UnavoidableCost"]


def _series(value, name: str, owner: str) -> pd.Series:
    if not isinstance(value, pd.Series):
        raise InputError(f"The {name!r} parameter of {owner} must be a pandas Series indexed by code. Got "
                         f"{type(value).__name__}. Fix: e.g. frame.set_index('practice_code')['{name}'].")
    if value.index.has_duplicates:
        raise InputError(f"The {name!r} Series of {owner} repeats codes "
                         f"{value.index[value.index.duplicated()][:5].tolist()}. Fix: one value per code.")
    values = pd.to_numeric(value, errors="coerce").astype(np.float64)
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        raise InputError(f"The {name!r} Series of {owner} must hold finite numbers. Got "
                         f"{value[bad].head(5).to_dict()}. Fix: fill or correct those codes.")
    return values


def _normalise(wp: np.ndarray, people: float) -> np.ndarray:
    """Scale ``wp`` so that it sums to ``people``."""
    return wp * (people / wp.sum())


@dataclass(frozen=True, eq=False)
class HealthInequalities:
    """Blend a health-inequalities weighted population into need: ``WP ← (1 − h)·WP + h·WP_HI``.

    ``WP_HI`` is first normalised to the same total as ``WP`` (the registered population allocated), so
    the blend moves shares, not the total. NHS England uses ``h = 0.10`` for core services and
    ``h = 0.15`` for primary medical care.

    Parameters
    ----------
    h : float
        Weight of the inequalities component, in [0, 1].
    weighted : pandas.Series
        ``WP_HI`` per practice (e.g. NHS England's ``Health Ineq WP``), indexed by practice code.

    Examples
    --------
    >>> import pandas as pd
    >>> HealthInequalities(0.10, pd.Series([1.0, 3.0], index=["A1", "A2"])).h
    0.1
    """

    h: float = 0.10
    weighted: pd.Series = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "h", check_number(self.h, "h", "HealthInequalities", low=0, high=1,
                                                   fix="NHS England uses 0.10 (core) and 0.15 (primary care)."))
        if self.weighted is None:
            raise InputError("HealthInequalities needs 'weighted', the inequalities weighted population per "
                             "practice. Fix: pass e.g. load_practices(year).set_index('practice_code')"
                             "['wp_health_inequalities'].")
        values = _series(self.weighted, "weighted", "HealthInequalities")
        if (values < 0).any():
            raise InputError(f"The 'weighted' Series of HealthInequalities must be non-negative. Got "
                             f"{values[values < 0].head(5).to_dict()}.")
        object.__setattr__(self, "weighted", values)

    formula = "WP_final = (1 - h) * WP + h * WP_HI * (sum WP / sum WP_HI)"

    def apply(self, table: pd.DataFrame, membership=None) -> tuple[pd.DataFrame, dict]:
        """Blend ``table['weighted_population']`` with the practices' ``WP_HI``.

        Parameters
        ----------
        table : pandas.DataFrame
            Indexed by ``practice_code``, with column ``weighted_population`` (as :func:`allocate` passes it);
            every practice must have a value in :attr:`weighted`.
        membership : Membership, optional
            Not used: the blend is practice by practice. Taken so every adjustment is applied alike.

        Returns
        -------
        table : pandas.DataFrame
            A copy of ``table`` with the blended ``weighted_population`` (same total).
        record : dict
            ``adjustment``, ``h`` and ``formula``, kept in the allocation's ``parameters``.

        Examples
        --------
        >>> import pandas as pd
        >>> table = pd.DataFrame({"weighted_population": [50.0, 150.0]},
        ...                      index=pd.Index(["A81001", "A81002"], name="practice_code"))
        >>> spec = HealthInequalities(0.10, pd.Series([1.0, 1.0], index=["A81001", "A81002"]))
        >>> out, record = spec.apply(table)
        >>> out["weighted_population"].tolist(), record["adjustment"]
        ([55.0, 145.0], 'health_inequalities')
        """
        hi = self.weighted.reindex(table.index)
        if hi.isna().any():
            missing = hi.index[hi.isna()][:5].tolist()
            raise UnknownCodeError(f"HealthInequalities has no 'weighted' value for practices {missing} "
                                   f"({int(hi.isna().sum()):,} in all). Fix: pass WP_HI for every practice "
                                   "allocated (the same year's file).")
        wp = table["weighted_population"].to_numpy()
        hi_wp = _normalise(hi.to_numpy(), wp.sum())
        out = table.copy()
        out["weighted_population"] = (1.0 - self.h) * wp + self.h * hi_wp
        return out, {"adjustment": "health_inequalities", "h": self.h, "formula": self.formula}


@dataclass(frozen=True, eq=False)
class UnavoidableCost:
    """Scale need by an unavoidable-cost index (market forces factor): ``WP ← WP × index``, renormalised.

    Parameters
    ----------
    index : pandas.Series
        Positive index per practice, or per consortium (then every member practice gets its
        consortium's value; needs the allocation's membership).
    level : {"practice", "consortium"}
        What ``index`` is indexed by.

    Examples
    --------
    >>> import pandas as pd
    >>> UnavoidableCost(pd.Series([1.05], index=["QHM"]), level="consortium").level
    'consortium'
    """

    index: pd.Series = field(default=None, repr=False)
    level: str = "practice"

    formula = "WP_final = WP * MFF * (sum WP / sum (WP * MFF))"

    def __post_init__(self) -> None:
        if self.level not in ("practice", "consortium"):
            raise InputError(f"The 'level' parameter of UnavoidableCost must be 'practice' or 'consortium'. "
                             f"Got {self.level!r} instead.")
        if self.index is None:
            raise InputError("UnavoidableCost needs 'index', the market forces factor per practice or "
                             "consortium. Fix: pass a Series, e.g. pd.Series({'QHM': 1.02, ...}).")
        values = _series(self.index, "index", "UnavoidableCost")
        if (values <= 0).any():
            raise InputError(f"The 'index' Series of UnavoidableCost must be positive. Got "
                             f"{values[values <= 0].head(5).to_dict()}. Fix: an index of 1 means average cost.")
        object.__setattr__(self, "index", values)

    def apply(self, table: pd.DataFrame, membership=None) -> tuple[pd.DataFrame, dict]:
        """Multiply ``table['weighted_population']`` by each practice's index and renormalise.

        Parameters
        ----------
        table : pandas.DataFrame
            Indexed by ``practice_code``, with column ``weighted_population`` (as :func:`allocate` passes it).
        membership : Membership, optional
            Practice → consortium; needed when :attr:`level` is ``"consortium"``, to give each practice its
            consortium's index.

        Returns
        -------
        table : pandas.DataFrame
            A copy of ``table`` with the scaled ``weighted_population``, renormalised to the same total.
        record : dict
            ``adjustment``, ``level`` and ``formula``, kept in the allocation's ``parameters``.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> table = pd.DataFrame({"weighted_population": [100.0, 100.0]},
        ...                      index=pd.Index(["A81001", "B82001"], name="practice_code"))
        >>> icbs = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "B82001"],
        ...                                            "consortium_code": ["QHM", "QOQ"]}))
        >>> spec = UnavoidableCost(pd.Series([1.5, 0.5], index=["QHM", "QOQ"]), level="consortium")
        >>> out, record = spec.apply(table, icbs)
        >>> out["weighted_population"].tolist(), record["level"]
        ([150.0, 50.0], 'consortium')
        """
        if self.level == "consortium":
            if membership is None:
                raise InputError("UnavoidableCost(level='consortium') needs the allocation's membership. "
                                 "Fix: pass membership= to allocate, or give the index per practice.")
            keys = pd.Index(membership.consortium_of(table.index, unassigned="line"))
        else:
            keys = table.index
        factor = self.index.reindex(keys)
        if factor.isna().any():
            missing = sorted(set(keys[factor.isna().to_numpy()]))[:5]
            raise UnknownCodeError(f"UnavoidableCost has no index for {self.level}(s) {missing}. Fix: give a "
                                   f"value for every {self.level} allocated (1.0 for average cost).")
        wp = table["weighted_population"].to_numpy()
        out = table.copy()
        out["weighted_population"] = _normalise(wp * factor.to_numpy(), wp.sum())
        return out, {"adjustment": "unavoidable_cost", "level": self.level, "formula": self.formula}


@dataclass(frozen=True, eq=False)
class ListInflation:
    """Scale registered lists to official resident totals by area and age band.

    For each (area, age band) cell ``f = residents / Σ_practices registered``; a practice's list becomes
    ``registered_p × Σ_cells reg_pc·f_c / Σ_cells reg_pc`` and its need
    ``need_p × Σ_cells w_pc·f_c / Σ_cells w_pc`` with ``w`` the cell's need (``need`` column) or, without
    it, the cell's registrations. Only the practice's own mix of cells matters, so cells may come from a
    different extract than the lists being allocated.

    Parameters
    ----------
    cells : pandas.DataFrame
        Columns ``practice_code``, ``area``, ``age_band``, ``registered`` and optionally ``need``.
    residents : pandas.DataFrame
        Columns ``area``, ``age_band``, ``residents`` (e.g. ONS mid-year estimates).
    only_deflate : bool
        Cap every factor at 1 (lists are shrunk to residents but never grown).

    Attributes
    ----------
    factors : pandas.Series
        The factor ``f`` of each (area, age band) cell, indexed by ``(area, age_band)``: residents over
        registrations, capped at 1 with ``only_deflate``.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.DataFrame({"practice_code": ["A1", "A2"], "area": ["E1", "E1"], "age_band": ["0+", "0+"],
    ...                       "registered": [60, 50]})
    >>> spec = ListInflation(cells, pd.DataFrame({"area": ["E1"], "age_band": ["0+"], "residents": [100]}))
    >>> round(float(spec.factors.iloc[0]), 4)
    0.9091
    """

    cells: pd.DataFrame = field(repr=False)
    residents: pd.DataFrame = field(repr=False)
    only_deflate: bool = False

    formula = ("f_(area,band) = residents / sum registered; registered_p *= sum_c reg_pc f_c / sum_c reg_pc; "
               "need_p *= sum_c w_pc f_c / sum_c w_pc")

    def __post_init__(self) -> None:
        require_columns(self.cells, "cells", ["practice_code", "area", "age_band", "registered"])
        require_columns(self.residents, "residents", ["area", "age_band", "residents"])
        for frame, name, column in ((self.cells, "cells", "registered"), (self.residents, "residents", "residents")):
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():
                raise InputError(f"The {name!r} table's column {column!r} must be non-negative numbers. Got "
                                 f"{frame[column][bad].head(5).tolist()} at rows {frame.index[bad][:5].tolist()}.")
        if self.residents.duplicated(["area", "age_band"]).any():
            dup = self.residents[self.residents.duplicated(["area", "age_band"], keep=False)]
            raise InputError(f"The 'residents' table repeats (area, age_band) cells, e.g. "
                             f"{dup[['area', 'age_band']].head(3).values.tolist()}. Fix: one total per cell.")
        registered = self.cells.groupby(["area", "age_band"], sort=True)["registered"].sum()
        residents = self.residents.set_index(["area", "age_band"])["residents"].astype(np.float64)
        missing = registered.index.difference(residents.index)
        if len(missing):
            raise UnknownCodeError(f"The 'residents' table has no total for {len(missing):,} (area, age_band) "
                                   f"cell(s) of the lists, e.g. {list(missing[:3])}. Fix: give residents for "
                                   "every cell the practices draw from.")
        empty = registered.index[registered.to_numpy() == 0]
        if len(empty) and (residents.reindex(empty) > 0).any():
            raise InputError(f"Cells {list(empty[:3])} have residents but no registrations, so no factor can "
                             "move them onto lists. Fix: merge those cells with a neighbouring age band.")
        factors = (residents.reindex(registered.index) / registered.where(registered > 0, 1.0)).rename("factor")
        if self.only_deflate:
            factors = factors.clip(upper=1.0)
        object.__setattr__(self, "factors", factors)

    def apply(self, table: pd.DataFrame, membership=None) -> tuple[pd.DataFrame, dict]:
        """Rescale ``table['registered']`` and ``table['need']`` practice by practice.

        Parameters
        ----------
        table : pandas.DataFrame
            Indexed by ``practice_code``, with columns ``registered`` and ``need`` (as :func:`allocate` passes
            it); every practice must have cells in :attr:`cells`.
        membership : Membership, optional
            Not used: the factors come from the practices' own cells. Taken so every adjustment is applied
            alike.

        Returns
        -------
        table : pandas.DataFrame
            A copy of ``table`` with ``registered`` and ``need`` scaled, and ``registered_list`` holding the
            registered list before scaling.
        record : dict
            ``adjustment``, ``only_deflate``, ``people_before``, ``people_after`` and ``formula``, kept in the
            allocation's ``parameters``.

        Examples
        --------
        >>> import pandas as pd
        >>> cells = pd.DataFrame({"practice_code": ["A81001", "A81002"], "area": ["E1", "E1"],
        ...                       "age_band": ["0+", "0+"], "registered": [100, 100]})
        >>> spec = ListInflation(cells, pd.DataFrame({"area": ["E1"], "age_band": ["0+"], "residents": [180]}))
        >>> table = pd.DataFrame({"registered": [100.0, 100.0], "need": [1.0, 3.0]},
        ...                      index=pd.Index(["A81001", "A81002"], name="practice_code"))
        >>> out, record = spec.apply(table)
        >>> out["registered"].tolist(), out["registered_list"].tolist(), record["people_after"]
        ([90.0, 90.0], [100.0, 100.0], 180.0)
        """
        cells = self.cells.join(self.factors, on=["area", "age_band"])
        reg = cells["registered"].astype(np.float64)
        weight = cells["need"].astype(np.float64) if "need" in cells.columns else reg
        grouped = pd.DataFrame({"reg": reg, "reg_f": reg * cells["factor"], "w": weight,
                                "w_f": weight * cells["factor"], "practice_code": cells["practice_code"]}
                               ).groupby("practice_code").sum()
        grouped = grouped.reindex(table.index)
        missing = grouped.index[grouped["reg"].isna() | (grouped["reg"] <= 0)]
        if len(missing):
            raise UnknownCodeError(f"ListInflation has no registrations by area and age band for practices "
                                   f"{missing[:5].tolist()} ({len(missing):,} in all). Fix: add their cells.")
        people_factor = (grouped["reg_f"] / grouped["reg"]).to_numpy()
        need_factor = np.where(grouped["w"] > 0, grouped["w_f"] / grouped["w"].where(grouped["w"] > 0, 1.0),
                               people_factor)
        out = table.copy()
        out["registered_list"] = table["registered"]
        out["registered"] = table["registered"].to_numpy() * people_factor
        out["need"] = table["need"].to_numpy() * need_factor
        record = {"adjustment": "list_inflation", "only_deflate": self.only_deflate,
                  "people_before": float(table["registered"].sum()), "people_after": float(out["registered"].sum()),
                  "formula": self.formula}
        return out, record


#: The order adjustments are applied in, whatever order they are passed.
ORDER = (ListInflation, HealthInequalities, UnavoidableCost)
