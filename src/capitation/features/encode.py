"""The blocks of the design: validated records into a :class:`FeatureMatrix`, block by block.

The spec module imports this one (``FeatureSpec.encode``), so this one names no spec type: each block takes
the spec it is given, a :class:`~capitation.features.FeatureSpec`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._config import readonly
from .._io import as_frame
from .._kernels.design import distinct_pairs
from .._validation import _plain, describe_rows, id_kind, is_number_dtype, require_columns, text_column
from ..errors import InputError, SchemaError, UnknownCodeError, UnseenCategoryError
from ..inputs import ConditionTable, DiagnosisTable, Population
from ..inputs.population import SEX_LABELS
from .matrix import FeatureMatrix

__all__ = ["build_design"]


def build_design(spec, population, diagnoses=None, conditions=None, areas=None,
                 groups=None) -> FeatureMatrix:
    """Build the blocks of the design ``spec`` declares (the work of :func:`~capitation.features.encode`).

    ``spec`` has been checked by the caller; see :func:`~capitation.features.encode` for the parameters, the
    result and the order in which unused records are counted.

    Parameters
    ----------
    spec : FeatureSpec
        The blocks to build.
    population, diagnoses, conditions, areas, groups
        As for :func:`~capitation.features.encode`.

    Returns
    -------
    FeatureMatrix

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.features import FeatureSpec
    >>> from capitation.features.encode import build_design
    >>> people = pd.DataFrame({"person_id": [1], "practice_code": ["A81001"], "sex": ["F"], "age": [3],
    ...                        "lsoa_code": ["E01011959"]})
    >>> build_design(FeatureSpec(diagnosis_grouping=None), people).shape
    (1, 38)
    """
    if groups is not None and not isinstance(groups, Mapping):
        raise InputError(f"The 'groups' parameter of encode must be a dict of fixed effect → practice levels. Got "
                         f"{type(groups).__name__}. Fix: e.g. groups={{'icb': Membership.nhs_england('2025/26')}}.")
    _check_interactions(spec)  # before any pass over the data
    pop = population if isinstance(population, Population) else Population.from_frame(population)
    builder = _Builder(pop.n_people)
    _age_sex(spec, pop, builder)
    if spec.diagnosis_grouping is not None:
        _diagnoses(spec, pop, diagnoses, builder)
    if spec.conditions:
        _conditions(spec, pop, conditions, builder)
    if spec.need or spec.supply:
        _areas(spec, pop, areas, builder)
    if spec.fixed_effects:
        spec = _fixed_effects(spec, pop, groups, builder)
    if spec.interactions:
        _interactions(spec, builder)
    return builder.build(pop.person_id, spec)


class _Builder:
    """Collects (row, column, value) triplets block by block, then sorts them once into CSR."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.names: list[tuple[str, str, str]] = []
        self.exclusions: dict[str, int] = {}
        self.warnings: list[str] = []

    def add_columns(self, names, block: str, role: str) -> int:
        offset = len(self.names)
        self.names.extend((name, block, role) for name in names)
        return offset

    def add_entries(self, rows, cols, vals) -> None:
        """Entries of one block, sorted by row then column."""
        self.rows.append(np.asarray(rows, dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int32))
        self.vals.append(np.asarray(vals, dtype=np.float64))

    def exclude(self, reason: str, count: int) -> None:
        if count:
            self.exclusions[reason] = self.exclusions.get(reason, 0) + int(count)

    def build(self, row_ids, spec) -> FeatureMatrix:
        rows = np.concatenate(self.rows)
        # Blocks were added in column order and each is sorted within rows, so a stable sort by row
        # leaves column indices strictly increasing within every row.
        order = np.argsort(rows, kind="stable")
        indptr = np.zeros(self.n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.n_rows), out=indptr[1:])
        columns = pd.DataFrame(self.names, columns=["name", "block", "role"])
        return FeatureMatrix(
            indptr=indptr,
            indices=np.ascontiguousarray(np.concatenate(self.cols)[order]),
            data=np.ascontiguousarray(np.concatenate(self.vals)[order]),
            columns=columns,
            row_ids=row_ids,
            exclusions=dict(self.exclusions),
            spec=spec,
            warnings=tuple(self.warnings),
        )

    def block_is_empty(self, offset: int) -> bool:
        """Whether no entry has been added to the columns from ``offset`` on (the block being built)."""
        return not any(((c >= offset) & (v != 0)).any() for c, v in zip(self.cols, self.vals, strict=True))


def _age_sex(spec, pop: Population, builder: _Builder) -> None:
    labels = spec.age_band_labels()
    offset = builder.add_columns([f"age_sex:{s}_{band}" for s in SEX_LABELS for band in labels],
                                 "age_sex", "demographic")
    band = np.searchsorted(np.asarray(spec.age_bands), pop.age, side="right") - 1
    cols = offset + pop.sex.astype(np.int64) * len(labels) + band
    builder.add_entries(np.arange(pop.n_people), cols, np.ones(pop.n_people))


def _check_id_types(pop: Population, person_id: np.ndarray, table: str) -> None:
    """Refuse records whose ids are text when the population's are integers, or the reverse: none would match."""
    if len(person_id) == 0:
        return
    pop_kind, rec_kind = id_kind(pop.person_id), id_kind(person_id)
    if pop_kind != rec_kind:
        shown = describe_rows(None, np.arange(len(person_id)) < 3, person_id)
        raise SchemaError(
            f"The {table!r} table's column 'person_id' holds {rec_kind} ({shown}), but the population's "
            f"person_id are {pop_kind} (e.g. {_plain(pop.person_id[0])!r}), so no record would find its person. "
            f"Fix: give both one type, e.g. {table}['person_id'] = {table}['person_id']."
            + ("astype(str)." if pop_kind == "strings" else "astype('int64').")
        )


def _person_rows(spec, pop: Population, person_id: np.ndarray, keep: np.ndarray, table: str,
                 builder: _Builder) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ``keep`` records whose person is in the population, and those people's rows.

    Records of people not in the population raise, or are counted as ``<table>_unknown_person``.
    """
    at = np.flatnonzero(keep)
    rows = pop.rows_of(person_id[at])
    unknown = rows < 0
    if unknown.any():
        if spec.on_unknown_person == "raise":
            ids = pd.unique(person_id[at[unknown]])
            mask = np.zeros(len(person_id), dtype=bool)
            mask[at[unknown]] = True
            raise UnknownCodeError(
                f"The {table!r} table has {int(unknown.sum()):,} record(s) of {len(ids):,} people not in the "
                f"population, e.g. person_id {[v.item() if hasattr(v, 'item') else v for v in ids[:5]]} "
                f"({describe_rows(None, mask, person_id)}). "
                "Fix: filter the records to the registered population, or pass "
                "FeatureSpec(on_unknown_person='ignore') to count and skip them."
            )
        builder.exclude(f"{table}_unknown_person", unknown.sum())
        at, rows = at[~unknown], rows[~unknown]
    return at, rows


def _flags(rows: np.ndarray, groups: np.ndarray, n_rows: int, n_groups: int, values: str):
    """Distinct (row, group) pairs sorted by row then group, valued 1 (flags) or the number of records.

    Returns the rows, groups and values of the pairs, and the number of records behind each pair.
    """
    n = len(rows)
    out_rows, out_groups, counts = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    k = distinct_pairs(readonly(np.ascontiguousarray(rows, dtype=np.int64)),
                       readonly(np.ascontiguousarray(groups, dtype=np.int64)), n_rows, n_groups, out_rows, out_groups,
                       counts)
    vals = np.ones(k) if values == "flag" else counts[:k].astype(np.float64)
    return out_rows[:k], out_groups[:k], vals, counts[:k]


def _diagnoses(spec, pop: Population, diagnoses, builder: _Builder) -> None:
    grouping = spec.diagnosis_grouping
    n_groups = len(grouping.groups)
    offset = builder.add_columns([f"dx:{g}" for g in grouping.groups], "diagnoses", "morbidity")
    if diagnoses is None:
        return
    table = diagnoses if isinstance(diagnoses, DiagnosisTable) else DiagnosisTable.from_frame(diagnoses)
    _check_id_types(pop, table.person_id, "diagnoses")
    # Each stage sees only the records every earlier stage kept, so each record is counted once, under the
    # first reason that applies (the order is documented in encode's Notes).
    keep = _is_in(table.setting, spec.settings)
    builder.exclude("diagnoses_other_setting", len(keep) - int(keep.sum()))
    in_position = _is_in(table.position, spec.positions)
    builder.exclude("diagnoses_other_position", (keep & ~in_position).sum())
    keep &= in_position
    if spec.outcome_year is not None:
        if table.fy is None:
            raise SchemaError(f"FeatureSpec(outcome_year={spec.outcome_year!r}) counts diagnoses from "
                              f"{list(spec.lookback)} only, but the 'diagnoses' table has no 'fy' column. "
                              "Fix: add the financial year of each record, or leave outcome_year unset.")
        in_window = _is_in(table.fy, spec.lookback)
        builder.exclude("diagnoses_outside_window", (keep & ~in_window).sum())
        keep &= in_window
    at, rows = _person_rows(spec, pop, table.person_id, keep, "diagnoses", builder)
    try:
        grouped = grouping.group_codes(table.icd10[at], on_malformed=spec.on_malformed)
    except UnknownCodeError as exc:
        raise _malformed(table, at) from exc
    builder.exclude("diagnoses_malformed_code", grouped.n_malformed)
    builder.exclude("diagnoses_ungrouped_code", grouped.n_ungrouped)
    valid = grouped.codes >= 0
    r, g, v, records = _flags(rows[valid], grouped.codes[valid], pop.n_people, n_groups, spec.diagnosis_values)
    if spec.hierarchies:
        kept = _apply_hierarchies(spec, r, g, pop.n_people)
        # Count the records behind each switched-off pair, so the counts still add up to records.
        builder.exclude("diagnoses_superseded_by_hierarchy", records[~kept].sum())
        r, g, v = r[kept], g[kept], v[kept]
    builder.add_entries(r, offset + g, v)
    if len(table.person_id) and builder.block_is_empty(offset):
        builder.warnings.append(_empty_diagnoses(spec, table, builder.exclusions))


def _empty_diagnoses(spec, table: DiagnosisTable, exclusions: dict) -> str:
    """Why no one has any diagnosis group, naming the likely cause."""
    from .matrix import describe_exclusions

    mine = {k: v for k, v in exclusions.items() if k.startswith("diagnoses_")}
    text = (f"No one has any diagnosis group: none of the {len(table.person_id):,} diagnosis records was used "
            f"({describe_exclusions(mine)}).")
    outside = mine.get("diagnoses_outside_window", 0)
    years = [] if table.fy is None else sorted(str(y) for y in pd.unique(np.asarray(table.fy, dtype=object))
                                               if isinstance(y, str))
    if outside and outside == max(mine.values()) and years:
        text += (f" The likely cause is the outcome year: outcome_year='{spec.outcome_year}' reads diagnoses "
                 f"of {', '.join(spec.lookback)}, and the records are of {', '.join(years)}. Fix: pass the year "
                 f"that follows the records, outcome_year='{_next_year(years[-1])}'.")
    else:
        text += " Fix: check that the diagnoses table belongs to these people and the spec's settings."
    return text


def _next_year(year: str) -> str:
    start = int(year[:4]) + 1
    return f"{start}/{(start + 1) % 100:02d}"


def _by_category(values: pd.Categorical, per_category, missing) -> np.ndarray:
    """``per_category[k]`` for each row of category ``k``, ``missing`` where the value is missing."""
    return np.append(np.asarray(per_category), missing)[values.codes]


def _is_in(values: pd.Categorical, allowed) -> np.ndarray:
    """``values ∈ allowed`` row by row, decided once per category (missing values are not in)."""
    return _by_category(values, values.categories.isin(list(allowed)), False)


def _malformed(table: DiagnosisTable, at: np.ndarray) -> UnknownCodeError:
    """Build the error for malformed ICD-10 codes among the records at positions ``at``, naming rows and ids."""
    from .icd10 import normalise_icd10_code

    keep = np.zeros(len(table), dtype=bool)
    keep[at] = True
    codes = pd.Series(table.icd10, dtype=object)
    uniques = codes[keep].dropna().unique()
    bad_values = {u for u in uniques if normalise_icd10_code(u) is None}
    bad = keep & (codes.isin(bad_values) | codes.isna()).to_numpy()
    ae = bool((np.asarray(table.setting.astype(str), dtype=object)[bad] == "ae").any())
    hint = (" Records of setting 'ae' must carry ICD-10 codes too: HES A&E's DIAG2_… are A&E diagnosis codes, not "
            "ICD-10, so map them (or ECDS's SNOMED codes) to ICD-10 upstream; read_hes_ae counts attendances and "
            "never groups those codes." if ae else "")
    return UnknownCodeError(
        f"The 'diagnoses' table's column 'icd10' holds {int(bad.sum()):,} record(s) that are not ICD-10 codes: "
        f"{describe_rows(None, bad, codes.to_numpy(), table.person_id)}. A code is a letter, two digits and an "
        f"optional fourth character, with an optional dot (e.g. 'I21.9', 'J45X').{hint} Fix: correct or remove "
        "those records, or pass FeatureSpec(on_malformed='ignore') to skip them and count them in "
        "FeatureMatrix.exclusions.")


def _apply_hierarchies(spec, rows: np.ndarray, groups: np.ndarray, n_rows: int) -> np.ndarray:
    """Mask of (row, group) pairs kept once more severe groups switch off milder ones in each chain."""
    position = {g: k for k, g in enumerate(spec.diagnosis_grouping.groups)}
    keep = np.ones(len(rows), dtype=bool)
    for chain in spec.hierarchies:
        has_more_severe = np.zeros(n_rows, dtype=bool)
        for group in chain:
            mine = groups == position[group]
            keep[mine & has_more_severe[rows]] = False
            has_more_severe[rows[mine]] = True
    return keep


def _conditions(spec, pop: Population, conditions, builder: _Builder) -> None:
    offset = builder.add_columns([f"gp:{r}" for r in spec.conditions], "conditions", "primary-care")
    if conditions is None:
        raise InputError(f"FeatureSpec(conditions={spec.conditions!r}) needs a 'conditions' table. "
                         "Fix: pass conditions=..., or leave conditions out of the spec.")
    table = conditions if isinstance(conditions, ConditionTable) else ConditionTable.from_frame(conditions)
    _check_id_types(pop, table.person_id, "conditions")
    # As for diagnoses: each stage sees only what the earlier ones kept, so each record is counted once.
    code = _by_category(table.register, pd.Index(spec.conditions).get_indexer(table.register.categories), -1)
    keep = code >= 0
    builder.exclude("conditions_register_not_in_spec", len(keep) - int(keep.sum()))
    if table.date is not None and spec.outcome_year is not None:
        # Only what the GP had recorded before the outcome year began is known when budgets are set.
        late = keep & (table.date >= np.datetime64(f"{spec.outcome_year[:4]}-04-01"))
        builder.exclude("conditions_recorded_in_outcome_year", late.sum())
        keep &= ~late
    at, rows = _person_rows(spec, pop, table.person_id, keep, "conditions", builder)
    r, g, v, _ = _flags(rows, code[at], pop.n_people, len(spec.conditions), "flag")
    builder.add_entries(r, offset + g, v)
    if len(table.person_id) and builder.block_is_empty(offset):
        from .matrix import describe_exclusions

        mine = {k: n for k, n in builder.exclusions.items() if k.startswith("conditions_")}
        builder.warnings.append(f"No one has any GP condition of {list(spec.conditions)}: none of the "
                                f"{len(table.person_id):,} condition records was used ({describe_exclusions(mine)}). "
                                "Fix: check the registers named in the spec and the outcome year.")


def _areas(spec, pop: Population, areas, builder: _Builder) -> None:
    variables = list(spec.need) + list(spec.supply)
    if areas is None:
        raise InputError(f"FeatureSpec declares area variables {variables} but no 'areas' table was given. "
                         "Fix: pass areas=DataFrame with 'lsoa_code' and those columns.")
    frame = as_frame(areas, "areas", ["lsoa_code", *variables])
    require_columns(frame, "areas", ["lsoa_code", *variables])
    index = pd.Index(text_column(frame, "areas", "lsoa_code", missing_fix="give every area its LSOA code, or drop "
                                                                          "the rows without one")[0])
    if index.has_duplicates:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise InputError(f"The 'areas' table's column 'lsoa_code' must be unique. Got repeats such as {dup}. "
                         "Fix: keep one row per LSOA.")
    where = index.get_indexer(pop.lsoa_code)
    unknown = where < 0
    if unknown.any():
        codes = pd.unique(pop.lsoa_code[unknown])
        raise UnknownCodeError(
            f"{int(unknown.sum()):,} people live in {len(codes):,} LSOA(s) missing from the 'areas' table, "
            f"e.g. {codes[:5].tolist()}: {describe_rows(None, unknown, pop.lsoa_code, pop.person_id)}. "
            "Fix: add those areas (check the LSOA vintage: 2011 vs 2021 codes) or impute their values."
        )
    values = []
    for name in variables:
        column = frame[name]
        if not is_number_dtype(column.dtype):
            raise SchemaError(f"The 'areas' table's column {name!r} must be numeric. Got dtype {column.dtype}. "
                              f"Fix: pd.to_numeric(areas[{name!r}]).")
        array = column.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(array)
        if bad.any():
            raise InputError(f"The 'areas' table's column {name!r} must be finite. Got NaN or infinity: "
                             f"{describe_rows(frame.index, bad, array)}. Fix: fill those areas' values.")
        values.append(array[where])
    for names, role in ((spec.need, "need"), (spec.supply, "supply")):
        builder.add_columns([f"{role}:{v}" for v in names], "areas", role)
    n, k = pop.n_people, len(variables)
    first = len(builder.names) - k
    builder.add_entries(np.repeat(np.arange(n), k), np.tile(np.arange(first, first + k), n),
                        np.column_stack(values).ravel())


def _fixed_effects(spec, pop: Population, groups, builder: _Builder):
    """Dummies for each fixed effect's levels (the first level is the reference), aligned to the spec."""
    from dataclasses import replace

    learned = dict(spec.levels)
    for name in spec.fixed_effects:
        if groups is None or name not in groups:
            raise InputError(f"FeatureSpec declares the fixed effect {name!r} but encode got no groups[{name!r}]. "
                             f"Fix: encode(..., groups={{{name!r}: Series practice_code → level}}).")
        mapping = groups[name]
        if not isinstance(mapping, pd.Series) and callable(getattr(mapping, "as_series", None)):
            mapping = mapping.as_series()  # a Membership (a layer above features) gives its practice → consortium
        if not isinstance(mapping, pd.Series):
            raise SchemaError(f"The 'groups' parameter of encode: groups[{name!r}] must be a pandas Series indexed by "
                              f"practice code, or a Membership. Got {type(mapping).__name__}. Fix: e.g. "
                              f"groups={{{name!r}: pd.Series(levels, index=practice_codes)}}.")
        _check_levels(mapping, name)
        level = mapping.astype(object).reindex(pd.Index(pop.practice_code)).to_numpy(dtype=object)
        unmapped = pd.isna(level)
        if unmapped.any():
            codes = sorted(pd.unique(pop.practice_code[unmapped]))[:5]
            raise UnknownCodeError(f"{int(unmapped.sum()):,} people are on practices with no {name!r} level, e.g. "
                                   f"{codes}. Fix: give every practice a level in groups[{name!r}].")
        if name not in learned:
            learned[name] = tuple(sorted(pd.unique(level.astype(str))))
        levels = learned[name]
        offset = builder.add_columns([f"fe:{name}={v}" for v in levels[1:]], "fixed_effects", "fixed-effect")
        code = pd.Index(levels).get_indexer(level.astype(str))
        unseen = code < 0
        if unseen.any():
            if spec.on_unseen == "raise":
                raise UnseenCategoryError(
                    f"{int(unseen.sum()):,} people have {name!r} levels the spec never saw, e.g. "
                    f"{sorted(pd.unique(level[unseen].astype(str)))[:5]}; the spec knows {list(levels)[:8]}. "
                    "Fix: encode with a spec fitted on data that has them, or FeatureSpec(on_unseen='zero') "
                    "to give them no dummy (counted on the result).")
            builder.exclude(f"fixed_effect_{name}_unseen_level", unseen.sum())
        has = code >= 1
        builder.add_entries(np.flatnonzero(has), offset + code[has] - 1, np.ones(int(has.sum())))
    return replace(spec, levels=tuple((k, learned[k]) for k in spec.fixed_effects))


def _check_levels(mapping: pd.Series, name: str) -> None:
    """Refuse a practice listed twice, and levels mixing numbers and text (``1`` and ``'1'`` would merge)."""
    repeated = mapping.index.duplicated(keep=False)
    if repeated.any():
        codes = sorted(map(str, pd.unique(mapping.index[repeated])))[:5]
        raise InputError(f"The 'groups' parameter of encode: groups[{name!r}] lists {int(repeated.sum()):,} "
                         f"rows for practices given more than once, e.g. {codes}. Fix: one level per practice, "
                         f"e.g. groups[{name!r}][~groups[{name!r}].index.duplicated()].")
    values = mapping.to_numpy(dtype=object)
    present = ~np.asarray(pd.isna(values), dtype=bool)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if is_text.any() and (present & ~is_text).any():
        other = present & ~is_text
        shown = "; ".join(f"practice {mapping.index[k]!r}: {values[k]!r}" for k in np.flatnonzero(other)[:5])
        raise SchemaError(f"The 'groups' parameter of encode: groups[{name!r}] mixes text levels with "
                          f"{int(other.sum()):,} other value(s) ({shown}), which would be merged with text of the "
                          f"same spelling. Fix: convert all to one type, e.g. groups[{name!r}].astype(str).")


def _check_interactions(spec) -> None:
    """Refuse interactions of columns the spec cannot make, from the spec alone (no data needed)."""
    if not spec.interactions:
        return
    names = [f"age_sex:{s}_{band}" for s in SEX_LABELS for band in spec.age_band_labels()]
    if spec.diagnosis_grouping is not None:
        names += [f"dx:{g}" for g in spec.diagnosis_grouping.groups]
    names += [f"gp:{r}" for r in spec.conditions] + [f"need:{v}" for v in spec.need]
    names += [f"supply:{v}" for v in spec.supply]
    learned = dict(spec.levels)
    names += [f"fe:{k}={v}" for k, levels in learned.items() for v in levels[1:]]
    open_prefixes = tuple(f"fe:{k}=" for k in spec.fixed_effects if k not in learned)  # levels learned later
    known = set(names)
    missing = [n for pair in spec.interactions for n in pair
               if n not in known and not (open_prefixes and n.startswith(open_prefixes))]
    if missing:
        raise InputError(f"FeatureSpec's interactions name columns {missing[:5]} that the design does not have. "
                         f"Fix: use column names such as {names[:3]} (see FeatureMatrix.column_names).")


def _interactions(spec, builder: _Builder) -> None:
    """Product columns for declared pairs, appended after every other block."""
    names = [n for n, _, _ in builder.names]
    roles = {n: role for n, _, role in builder.names}
    position = {n: k for k, n in enumerate(names)}
    missing = [n for pair in spec.interactions for n in pair if n not in position]
    if missing:
        raise InputError(f"FeatureSpec's interactions name columns {missing[:5]} that the design does not have. "
                         f"Fix: use column names such as {names[:3]} (see FeatureMatrix.column_names).")
    rows = np.concatenate(builder.rows)
    cols = np.concatenate(builder.cols)
    vals = np.concatenate(builder.vals)
    for a, b in spec.interactions:
        in_a, in_b = cols == position[a], cols == position[b]
        common, ia, ib = np.intersect1d(rows[in_a], rows[in_b], assume_unique=True, return_indices=True)
        role = "supply" if "supply" in (roles[a], roles[b]) else roles[a]
        column = builder.add_columns([f"{a}*{b}"], "interactions", role)
        builder.add_entries(common, np.full(len(common), column), vals[in_a][ia] * vals[in_b][ib])
