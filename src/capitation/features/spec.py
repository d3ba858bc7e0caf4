"""What the design holds, declared once: :class:`FeatureSpec`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

from ..errors import InputError
from ..inputs.records import POSITIONS, SETTINGS, financial_year

__all__ = ["PBRA_AGE_BANDS", "FeatureSpec"]

#: PBRA's 19 five-year bands (0–4, …, 85–89, 90+), by lower edge; × 2 sexes = 38 cells.
PBRA_AGE_BANDS: tuple[int, ...] = tuple(range(0, 95, 5))


def _default_grouping():
    from .icd10 import DiagnosisGrouping

    return DiagnosisGrouping.default()


@dataclass(frozen=True)
class FeatureSpec:
    """Declares every block of the person-level design.

    Parameters
    ----------
    age_bands : tuple of int
        Lower edges of the age bands, starting at 0; the last band is open. PBRA's 19 by default.
    diagnosis_grouping : DiagnosisGrouping or None
        ICD-10 code → morbidity group. The package's default grouping unless given; ``None`` leaves the
        morbidity block out.
    settings : tuple of str
        Settings whose diagnoses count (PBRA: inpatient only).
    positions : tuple of str
        Diagnosis positions that count (PBRA: all, primary and secondary).
    outcome_year : str or None
        The year whose cost is predicted, ``'2025/26'`` form. With it, only diagnoses from the
        ``lookback_years`` financial years before it count (the table must then have ``fy``); without it,
        every diagnosis in the table counts.
    lookback_years : int
        Number of financial years before the outcome year (PBRA: 2).
    diagnosis_values : {"flag", "count"}
        1 if the person had the group at least once, or the number of records.
    conditions : tuple of str
        GP-recorded registers that enter as flags (e.g. QOF ``"DM"``); empty by default, as in PBRA.
    need, supply : tuple of str
        Area variables (columns of the ``areas`` table, by LSOA) declared as need or as supply. Supply
        variables are neutralised when predicting need.
    fixed_effects : tuple of str
        Names of groupings whose levels enter as dummies (e.g. ``("icb",)`` as PBRA's PCT effects); each
        is given to :func:`encode` as ``groups={"icb": practice → level}``. The first level (sorted) is the
        reference and has no column, so the dummies are not aliased with the age–sex cells. Fixed effects
        are neutralised when predicting need.
    levels : tuple of (str, tuple of str)
        Levels of each fixed effect, learned at the first encoding (see :attr:`FeatureMatrix.spec`) and
        then kept, so new data are encoded onto the same columns.
    on_unseen : {"raise", "zero"}
        A level not among ``levels``: an error, or all that effect's dummies 0 (counted on the result).
    hierarchies : tuple of tuple of str
        Chains of diagnosis groups, most severe first: a person with an earlier group in a chain has the
        later ones switched off (e.g. ``(("diabetes_complicated", "diabetes_uncomplicated"),)``).
    interactions : tuple of (str, str)
        Pairs of column names whose product enters as an extra column (``"a*b"``).
    on_unknown_person : {"raise", "ignore"}
        Diagnoses or conditions of people not in the population: an error, or a count on the result.
    on_malformed : {"raise", "ignore"}
        Malformed ICD-10 codes: an error, or a count on the result.

    Examples
    --------
    >>> from capitation.features import FeatureSpec
    >>> spec = FeatureSpec(diagnosis_grouping=None)
    >>> len(spec.age_bands) * 2
    38
    """

    age_bands: tuple[int, ...] = PBRA_AGE_BANDS
    diagnosis_grouping: object = field(default_factory=_default_grouping)
    settings: tuple[str, ...] = ("inpatient",)
    positions: tuple[str, ...] = ("primary", "secondary")
    outcome_year: str | None = None
    lookback_years: int = 2
    diagnosis_values: Literal["flag", "count"] = "flag"
    conditions: tuple[str, ...] = ()
    need: tuple[str, ...] = ()
    supply: tuple[str, ...] = ()
    fixed_effects: tuple[str, ...] = ()
    levels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    on_unseen: Literal["raise", "zero"] = "raise"
    hierarchies: tuple[tuple[str, ...], ...] = ()
    interactions: tuple[tuple[str, str], ...] = ()
    on_unknown_person: Literal["raise", "ignore"] = "raise"
    on_malformed: Literal["raise", "ignore"] = "raise"

    def __post_init__(self) -> None:
        bands = tuple(self.age_bands)
        if not bands or bands[0] != 0 or any(b <= a for a, b in itertools.pairwise(bands)) \
                or any(not isinstance(b, int) or b < 0 for b in bands) or bands[-1] > 120:
            raise ValueError(f"The 'age_bands' parameter of FeatureSpec must be strictly increasing whole-year "
                             f"lower edges starting at 0 and at most 120. Got {self.age_bands!r} instead. "
                             "Fix: e.g. age_bands=(0, 5, 10, ..., 90), as PBRA's 19 bands.")
        object.__setattr__(self, "age_bands", bands)
        for name, allowed in (("settings", SETTINGS), ("positions", POSITIONS)):
            value = tuple(getattr(self, name))
            bad = [v for v in value if v not in allowed]
            if bad or not value:
                raise ValueError(f"The {name!r} parameter of FeatureSpec must be a non-empty subset of "
                                 f"{list(allowed)}. Got {value!r} instead.")
            object.__setattr__(self, name, value)
        if self.outcome_year is not None:
            try:
                object.__setattr__(self, "outcome_year", financial_year(self.outcome_year))
            except InputError as exc:
                raise InputError(f"The 'outcome_year' parameter of FeatureSpec is not valid: {exc}") from exc
        if not isinstance(self.lookback_years, int) or self.lookback_years < 1:
            raise ValueError("The 'lookback_years' parameter of FeatureSpec must be a positive integer. "
                             f"Got {self.lookback_years!r} instead. Fix: PBRA uses lookback_years=2.")
        object.__setattr__(self, "fixed_effects", tuple(self.fixed_effects))
        object.__setattr__(self, "levels", tuple((str(k), tuple(str(v) for v in vs)) for k, vs in self.levels))
        unknown = [k for k, _ in self.levels if k not in self.fixed_effects]
        if unknown:
            raise ValueError(f"The 'levels' parameter of FeatureSpec names {unknown}, which are not in "
                             f"fixed_effects={self.fixed_effects!r}. Fix: declare them as fixed effects.")
        object.__setattr__(self, "hierarchies", tuple(tuple(chain) for chain in self.hierarchies))
        if self.hierarchies and self.diagnosis_grouping is not None:
            known = set(self.diagnosis_grouping.groups)
            bad = [g for chain in self.hierarchies for g in chain if g not in known]
            if bad or any(len(chain) < 2 for chain in self.hierarchies):
                raise ValueError(f"The 'hierarchies' parameter of FeatureSpec must be chains of at least two "
                                 f"diagnosis groups of the grouping. Unknown groups: {bad[:5]}.")
        object.__setattr__(self, "interactions", tuple(tuple(pair) for pair in self.interactions))
        if any(len(pair) != 2 for pair in self.interactions):
            raise ValueError("The 'interactions' parameter of FeatureSpec must be pairs of column names. "
                             f"Got {self.interactions!r} instead.")
        for name, allowed in (("diagnosis_values", ("flag", "count")), ("on_unseen", ("raise", "zero")),
                              ("on_unknown_person", ("raise", "ignore")), ("on_malformed", ("raise", "ignore"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"The {name!r} parameter of FeatureSpec must be one of {list(allowed)}. "
                                 f"Got {getattr(self, name)!r} instead.")
        for name in ("conditions", "need", "supply"):
            value = tuple(getattr(self, name))
            if any(not isinstance(v, str) for v in value):
                raise ValueError(f"The {name!r} parameter of FeatureSpec must be a tuple of names. "
                                 f"Got {getattr(self, name)!r} instead.")
            object.__setattr__(self, name, tuple(v.upper() for v in value) if name == "conditions" else value)
        both = set(self.need) & set(self.supply)
        if both:
            raise ValueError(f"Area variables {sorted(both)} are declared as both need and supply in FeatureSpec "
                             "(the 'need' and 'supply' parameters). "
                             "Fix: give each variable one role.")

    @property
    def is_fitted(self) -> bool:
        """Whether every fixed effect has its levels (so encoding new data is aligned)."""
        return {k for k, _ in self.levels} == set(self.fixed_effects)

    def encode(self, population, diagnoses=None, conditions=None, areas=None, groups=None):
        """Shorthand for :func:`capitation.features.encode` with this spec."""
        from .encode import encode

        return encode(self, population, diagnoses=diagnoses, conditions=conditions, areas=areas, groups=groups)

    @property
    def lookback(self) -> tuple[str, ...]:
        """The financial years whose diagnoses count (empty when ``outcome_year`` is not set)."""
        if self.outcome_year is None:
            return ()
        start = int(self.outcome_year[:4])
        return tuple(financial_year(start - k) for k in range(self.lookback_years, 0, -1))

    def age_band_labels(self) -> list[str]:
        """Labels such as ``'0-4'`` and ``'90+'``."""
        edges = list(self.age_bands)
        return [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)] + [f"{edges[-1]}+"]
