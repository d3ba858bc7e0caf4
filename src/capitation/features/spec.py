"""What the design holds, declared once: :class:`FeatureSpec`."""

from __future__ import annotations

import itertools
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .._validation import ascii_upper, check_names, check_option
from ..errors import CapitationWarning, InputError
from ..inputs.records import POSITIONS, SETTINGS, financial_year
from .encode import build_design
from .matrix import FeatureMatrix

__all__ = ["MAX_LOOKBACK_YEARS", "PBRA_AGE_BANDS", "FeatureSpec", "encode"]

#: PBRA's 19 five-year bands (0–4, …, 85–89, 90+), by lower edge; × 2 sexes = 38 cells.
PBRA_AGE_BANDS: tuple[int, ...] = tuple(range(0, 95, 5))
#: The longest look-back accepted (HES begins in 1989; a century is already generous).
MAX_LOOKBACK_YEARS = 100
_OWNER = "FeatureSpec"


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

    Raises
    ------
    InputError
        A bad parameter. Every parameter is checked when the spec is made, and the message names the
        parameter, the value and what is accepted. Lists of names must be lists or tuples (one string is
        refused, not read as its characters; a set is refused, its order changing between runs) of distinct
        non-empty strings.

    See Also
    --------
    encode : builds the design a spec declares.

    Examples
    --------
    >>> from capitation.features import FeatureSpec
    >>> spec = FeatureSpec(diagnosis_grouping=None)
    >>> len(spec.age_bands) * 2
    38
    >>> spec = FeatureSpec(outcome_year="2025-26", conditions=("dm", "HYP"))
    >>> spec.outcome_year, spec.lookback, spec.conditions
    ('2025/26', ('2023/24', '2024/25'), ('DM', 'HYP'))
    >>> FeatureSpec(conditions="DM")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'conditions' parameter of FeatureSpec must be a list of names or codes, not ...
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
        # Every option is checked here, when the spec is made, so no bad option is found halfway through
        # encoding millions of records; each raises InputError naming the parameter, value and fix.
        object.__setattr__(self, "age_bands", _age_bands(self.age_bands))
        grouping = self.diagnosis_grouping
        if grouping is not None:
            from .icd10 import DiagnosisGrouping

            if not isinstance(grouping, DiagnosisGrouping):
                raise InputError(f"The 'diagnosis_grouping' parameter of {_OWNER} must be a DiagnosisGrouping or "
                                 f"None. Got {type(grouping).__name__} {grouping!r}. Fix: leave it out for the "
                                 "package's grouping, or DiagnosisGrouping.from_csv(path).")
        for name, allowed in (("settings", SETTINGS), ("positions", POSITIONS)):
            value = _names(getattr(self, name), name, allowed[0])
            bad = [v for v in value if v not in allowed]
            if bad or not value:
                raise InputError(f"The {name!r} parameter of {_OWNER} must be a non-empty subset of "
                                 f"{list(allowed)}. Got {value!r} instead. Fix: e.g. {name}=({allowed[0]!r},).")
            object.__setattr__(self, name, value)
        if self.outcome_year is not None:
            try:
                object.__setattr__(self, "outcome_year", financial_year(self.outcome_year))
            except InputError as exc:
                raise InputError(f"The 'outcome_year' parameter of {_OWNER} is not valid: {exc}") from None
        years = self.lookback_years
        if not isinstance(years, numbers.Integral) or isinstance(years, (bool, np.bool_)) \
                or not 1 <= years <= MAX_LOOKBACK_YEARS:
            raise InputError(f"The 'lookback_years' parameter of {_OWNER} must be a whole number of years from 1 "
                             f"to {MAX_LOOKBACK_YEARS}. Got {years!r} instead. Fix: PBRA uses lookback_years=2.")
        object.__setattr__(self, "lookback_years", int(years))
        if self.outcome_year is not None and int(self.outcome_year[:4]) - self.lookback_years < 1000:
            raise InputError(f"The 'lookback_years' parameter of {_OWNER} reaches back before the year 1000 from "
                             f"outcome_year={self.outcome_year!r}. Got {years!r}. Fix: PBRA uses lookback_years=2.")
        for name, allowed in (("diagnosis_values", ("flag", "count")), ("on_unseen", ("raise", "zero")),
                              ("on_unknown_person", ("raise", "ignore")), ("on_malformed", ("raise", "ignore"))):
            object.__setattr__(self, name, check_option(getattr(self, name), name, _OWNER, allowed))
        # ASCII case folding: register codes are ASCII, and str.upper would fold look-alikes into them.
        object.__setattr__(self, "conditions", _names(self.conditions, "conditions", "DM", ascii_upper))
        for name, example in (("need", "imd_score"), ("supply", "acute_beds_per_1000"), ("fixed_effects", "icb")):
            object.__setattr__(self, name, _names(getattr(self, name), name, example))
        both = set(self.need) & set(self.supply)
        if both:
            raise InputError(f"Area variables {sorted(both)} are declared as both need and supply in {_OWNER} "
                             "(the 'need' and 'supply' parameters). Fix: give each variable one role.")
        object.__setattr__(self, "levels", _levels(self.levels, self.fixed_effects))
        object.__setattr__(self, "hierarchies", _hierarchies(self.hierarchies, grouping))
        object.__setattr__(self, "interactions", _interactions(self.interactions))

    @property
    def is_fitted(self) -> bool:
        """Whether every fixed effect has its levels (so encoding new data is aligned)."""
        return {k for k, _ in self.levels} == set(self.fixed_effects)

    def encode(self, population, diagnoses=None, conditions=None, areas=None, groups=None):
        """Build the design this spec declares: shorthand for :func:`capitation.features.encode`.

        Parameters
        ----------
        population : Population or pandas.DataFrame or path
            The people, one design row each, in this order.
        diagnoses : DiagnosisTable or pandas.DataFrame or path, optional
            Hospital diagnoses (needed when the spec has a diagnosis grouping; none means nobody has one).
        conditions : ConditionTable or pandas.DataFrame or path, optional
            GP-recorded conditions (needed when :attr:`conditions` is not empty).
        areas : pandas.DataFrame or path, optional
            One row per LSOA: ``lsoa_code`` and the :attr:`need` and :attr:`supply` columns.
        groups : dict, optional
            For each of :attr:`fixed_effects`, the level of each practice (a Series indexed by practice code,
            or a :class:`~capitation.aggregation.Membership`).

        Returns
        -------
        FeatureMatrix
            Its ``spec`` is this spec with any fixed-effect levels learned here: encode new data with it.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.features import FeatureSpec
        >>> people = pd.DataFrame({"person_id": [1, 2], "practice_code": ["A81001"] * 2, "sex": ["F", "M"],
        ...                        "age": [3, 92], "lsoa_code": ["E01011959"] * 2})
        >>> FeatureSpec(diagnosis_grouping=None).encode(people).shape
        (2, 38)
        """
        return encode(self, population, diagnoses=diagnoses, conditions=conditions, areas=areas, groups=groups)

    @property
    def lookback(self) -> tuple[str, ...]:
        """The financial years whose diagnoses count (empty when ``outcome_year`` is not set)."""
        if self.outcome_year is None:
            return ()
        start = int(self.outcome_year[:4])
        return tuple(financial_year(start - k) for k in range(self.lookback_years, 0, -1))

    def age_band_labels(self) -> list[str]:
        """Label each age band, as the age–sex column names spell them.

        Returns
        -------
        list of str
            One label per band: ``'lo-hi'`` (inclusive years), and ``'lo+'`` for the last, open band.

        Examples
        --------
        >>> from capitation.features import FeatureSpec
        >>> FeatureSpec(age_bands=(0, 16, 65, 85), diagnosis_grouping=None).age_band_labels()
        ['0-15', '16-64', '65-84', '85+']
        """
        edges = list(self.age_bands)
        return [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)] + [f"{edges[-1]}+"]


def _names(value, parameter: str, example: str, normalise=None) -> tuple[str, ...]:
    """Check a tuple of distinct names (see :func:`~capitation._validation.check_names`), normalised first."""
    names = check_names(value, parameter, _OWNER, example=example)
    if normalise is not None:
        names = tuple(normalise(n) for n in names)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"The {parameter!r} parameter of {_OWNER} names {repeated} more than once, which would "
                         f"make repeated columns. Got {value!r}. Fix: name each once.")
    return names


def _age_bands(value) -> tuple[int, ...]:
    fix = "Fix: e.g. age_bands=(0, 5, 10, ..., 90), as PBRA's 19 bands."
    rule = ("The 'age_bands' parameter of FeatureSpec must be strictly increasing whole-year lower edges starting "
            "at 0 and at most 120.")
    if isinstance(value, (str, bytes)):
        raise InputError(f"{rule} Got the string {value!r} instead. {fix}")
    try:
        bands = tuple(value)
    except TypeError:
        raise InputError(f"{rule} Got {type(value).__name__} {value!r} instead. {fix}") from None
    whole = all(isinstance(b, numbers.Integral) and not isinstance(b, (bool, np.bool_)) for b in bands)
    if not whole or not bands or bands[0] != 0 or bands[-1] > 120 or any(b <= a for a, b in itertools.pairwise(bands)):
        raise InputError(f"{rule} Got {value!r} instead. {fix}")
    return tuple(int(b) for b in bands)


def _items(value, parameter: str, rule: str, fix: str) -> tuple:
    """``value`` as a tuple of its items; a single string, or something that is not a collection, is refused."""
    if isinstance(value, (str, bytes)):
        raise InputError(f"The {parameter!r} parameter of FeatureSpec must be {rule}. Got the string {value!r}. {fix}")
    try:
        return tuple(value)
    except TypeError:
        raise InputError(f"The {parameter!r} parameter of FeatureSpec must be {rule}. Got {type(value).__name__} "
                         f"{value!r}. {fix}") from None


def _levels(value, fixed_effects: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``((effect, (level, ...)), ...)``, each effect declared and given once, its levels distinct."""
    fix = "Fix: e.g. levels=(('icb', ('QE1', 'QF7')),), or leave it empty to learn the levels at the first encoding."
    pairs = _items(value, "levels", "pairs of (fixed effect, levels)", fix)
    out = []
    for pair in pairs:
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise InputError(f"The 'levels' parameter of FeatureSpec must be pairs of (fixed effect, levels). Got "
                             f"{pair!r} among them. {fix}")
        effect, levels = pair
        if isinstance(levels, (str, bytes)):
            raise InputError(f"The levels of {effect!r} in the 'levels' parameter of FeatureSpec must be a list, "
                             f"not the single string {levels!r}. Fix: wrap it in a list, ({effect!r}, [{levels!r}]).")
        try:
            levels = tuple(str(v) for v in levels)  # levels are matched as text (see encode)
        except TypeError:
            raise InputError(f"The levels of {effect!r} in the 'levels' parameter of FeatureSpec must be a list. "
                             f"Got {type(levels).__name__} {levels!r}. {fix}") from None
        if not levels or len(set(levels)) != len(levels):
            raise InputError(f"The levels of {effect!r} in the 'levels' parameter of FeatureSpec must be distinct "
                             f"and at least one. Got {levels!r}. {fix}")
        out.append((str(effect), levels))
    effects = [k for k, _ in out]
    unknown = [k for k in effects if k not in fixed_effects]
    if unknown or len(set(effects)) != len(effects):
        raise InputError(f"The 'levels' parameter of FeatureSpec names {effects}, which must be distinct and among "
                         f"fixed_effects={fixed_effects!r}; {unknown or 'some'} are not. Fix: declare them as fixed "
                         "effects, and give each effect's levels once.")
    return tuple(out)


def _hierarchies(value, grouping) -> tuple[tuple[str, ...], ...]:
    """Chains of at least two diagnosis groups (of ``grouping``, when there is one)."""
    fix = "Fix: e.g. hierarchies=(('diabetes_complicated', 'diabetes_uncomplicated'),), a tuple of chains."
    chains = _items(value, "hierarchies", "a list of chains of group names", fix)
    out = []
    for chain in chains:
        if isinstance(chain, (str, bytes)):
            raise InputError(f"The 'hierarchies' parameter of FeatureSpec must be a list of chains, each a list of "
                             f"group names. Got the string {chain!r} as a chain (one chain must be wrapped in a "
                             f"list of its own). {fix}")
        names = check_names(chain, "hierarchies", _OWNER, example="diabetes_complicated")
        if len(names) < 2 or len(set(names)) != len(names):
            raise InputError(f"Each chain in the 'hierarchies' parameter of FeatureSpec must name at least two "
                             f"distinct diagnosis groups. Got {chain!r}. {fix}")
        out.append(names)
    if out and grouping is not None:
        known = set(grouping.groups)
        bad = [g for chain in out for g in chain if g not in known]
        if bad:
            raise InputError(f"The 'hierarchies' parameter of FeatureSpec names groups {bad[:5]} that the diagnosis "
                             f"grouping does not have. Got {value!r}. Fix: use group ids of the grouping, e.g. "
                             f"{list(grouping.groups)[:3]}.")
    return tuple(out)


def _interactions(value) -> tuple[tuple[str, str], ...]:
    """Pairs of column names; whether the design has them is checked by encode, before any pass over data."""
    fix = "Fix: e.g. interactions=(('gp:DM', 'gp:HYP'),), a tuple of pairs of column names."
    pairs = _items(value, "interactions", "a list of pairs of column names", fix)
    out = []
    for pair in pairs:
        # A pair given as one string of two characters would otherwise pass as two one-letter names.
        names = None if isinstance(pair, (str, bytes)) else _try_names(pair)
        if names is None or len(names) != 2:
            raise InputError(f"The 'interactions' parameter of FeatureSpec must be pairs of column names. Got "
                             f"{pair!r} among {value!r}. {fix}")
        out.append(names)
    return tuple(out)


def _try_names(value) -> tuple[str, ...] | None:
    try:
        return check_names(value, "interactions", _OWNER)
    except InputError:
        return None


def encode(spec: FeatureSpec, population, diagnoses=None, conditions=None, areas=None,
           groups=None) -> FeatureMatrix:
    """Build the sparse person-level design declared by ``spec``.

    Parameters
    ----------
    spec : FeatureSpec
        The blocks to build.
    population : Population or pandas.DataFrame or path
        The people, one design row each, in this order.
    diagnoses : DiagnosisTable or pandas.DataFrame or path, optional
        Hospital diagnoses (needed when ``spec`` has a diagnosis grouping; none means nobody has one).
    conditions : ConditionTable or pandas.DataFrame or path, optional
        GP-recorded conditions (needed when ``spec.conditions`` is not empty).
    areas : pandas.DataFrame or path, optional
        One row per LSOA: ``lsoa_code`` and the ``need`` and ``supply`` columns the spec names.
    groups : dict, optional
        For each of ``spec.fixed_effects``, the level of each practice: a pandas Series indexed by practice
        code, or a :class:`~capitation.aggregation.Membership`.

    Returns
    -------
    FeatureMatrix
        Records that were not encoded are counted in ``exclusions`` by reason; ``spec`` holds the spec
        with the fixed-effect levels learned here (encode new data with it).

    Notes
    -----
    Every record that is not used is counted under exactly one reason: the first of these that applies, so
    the ``diagnoses_*`` counts add up to the diagnosis records not used and the ``conditions_*`` counts to
    the condition records not used. The spec's scope comes first (records it does not read are not used
    whoever they belong to, and these tests are cheap, per category), then whose record it is, then what
    its code says; the person lookup and the code grouping run only on the records still in play.

    Diagnoses:

    1. ``diagnoses_other_setting``: a setting not in ``spec.settings``;
    2. ``diagnoses_other_position``: a position not in ``spec.positions``;
    3. ``diagnoses_outside_window``: a financial year outside ``spec.lookback`` (with ``outcome_year``);
    4. ``diagnoses_unknown_person``: a person not in the population (``on_unknown_person="ignore"``);
    5. ``diagnoses_malformed_code``: not an ICD-10 code (``on_malformed="ignore"``);
    6. ``diagnoses_ungrouped_code``: a valid code in no group of the grouping;
    7. ``diagnoses_superseded_by_hierarchy``: records of a group switched off by a more severe one.

    Conditions:

    1. ``conditions_register_not_in_spec``: a register not in ``spec.conditions``;
    2. ``conditions_recorded_in_outcome_year``: recorded on or after the start of the outcome year;
    3. ``conditions_unknown_person``: a person not in the population (``on_unknown_person="ignore"``).

    The ``on_unknown_person`` and ``on_malformed`` errors follow the same order: they concern only records
    that no earlier reason excludes. ``fixed_effect_<name>_unseen_level`` counts people, not records.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.features import FeatureSpec, encode
    >>> people = pd.DataFrame({"person_id": [1, 2], "practice_code": ["A81001"] * 2, "sex": ["F", "M"],
    ...                        "age": [3, 92], "lsoa_code": ["E01011959"] * 2})
    >>> X = encode(FeatureSpec(diagnosis_grouping=None), people)
    >>> X.shape, [X.column_names[i] for i in X.indices]
    ((2, 38), ['age_sex:F_0-4', 'age_sex:M_90+'])
    """
    if not isinstance(spec, FeatureSpec):
        raise InputError(f"The 'spec' parameter of encode must be a FeatureSpec. Got {type(spec).__name__}. "
                         "Fix: e.g. encode(FeatureSpec(outcome_year='2025/26'), people).")
    X = build_design(spec, population, diagnoses=diagnoses, conditions=conditions, areas=areas, groups=groups)
    for message in X.warnings:
        warnings.warn(message, CapitationWarning, stacklevel=2)
    return X
