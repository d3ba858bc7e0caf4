"""GP coded records (SNOMED CT) read into QOF-style registers: the conditions table the encoder takes.

:func:`conditions_from_gp_records` takes GP observations (person, date, SNOMED CT code), NHS England's
Primary Care Domain (PCD) reference sets (the clusters of codes the QOF business rules read, in the layout of
the PCD portal's ``.txt`` files) and register rules given as data (:data:`QOF_RULES`, shipped in
``inputs/data/register_rules.json``), and returns who is on which register at a reference date, as a
:class:`~capitation.inputs.ConditionTable` whose ``date`` is the latest diagnosis code's.

The rule, for each register: a person is on it when

1. they have a code of one of its diagnosis clusters on or before the reference date ``at``;
2. their latest such code is **not followed by** a code of one of its resolved clusters: a resolved code
   recorded on a later day takes them off; one recorded on the same day does not (QOF's field definitions read
   the resolved date as that of a resolved code "recorded after the most recent diagnosis", and rule 1 as "the
   latest diagnosis is not followed by a resolved code");
3. that latest diagnosis code is on or after the rule's ``diagnosed_since``, when it has one (depression:
   1 April 2006; cancer: 1 April 2003; palliative care: 1 April 2008);
4. they are at least ``min_age`` years old (completed years) at ``at``, when the rule has a minimum age.

Every observation not used is counted once, under the first of ``after_reference_date``, ``unknown_person``
(only when ``people`` is given), ``not_in_any_cluster`` (a code in no cluster of the refsets) and
``cluster_not_in_rules`` (only in clusters no rule reads). Every person with a diagnosis code of a register
who is not on it is counted once, under the first of ``resolved``, ``diagnosed_before_since``, ``age_unknown``
and ``under_age``.

Everything runs on whole arrays: codes and dates are checked once per distinct value, and the latest code of
each person and cluster is one group-by over integer keys.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import read_table
from .._results import Result
from .._validation import (
    ascii_upper,
    check_identifiers,
    check_names,
    check_unique,
    describe_rows,
    factorize_column,
    id_kind,
    may_hold_text,
    parse_dates,
    require_columns,
    text_column,
)
from ..errors import InputError, SchemaError
from .records import ConditionTable

__all__ = ["GP_COLUMNS", "OBSERVATION_REASONS", "QOF_RULES", "REGISTER_REASONS", "GpConditions", "RegisterRule",
           "conditions_from_gp_records", "read_pcd_refsets", "read_register_rules"]

#: The observation columns the reader uses (the keys of ``columns=``).
GP_COLUMNS = ("person_id", "date", "snomed_code")
#: Why an observation was not used, in the order the reasons are tried.
OBSERVATION_REASONS = ("after_reference_date", "unknown_person", "not_in_any_cluster", "cluster_not_in_rules")
#: Why a person with a diagnosis code of a register is not on it, in the order the reasons are tried.
REGISTER_REASONS = ("resolved", "diagnosed_before_since", "age_unknown", "under_age")

#: A SNOMED CT identifier: 6 to 18 digits, no leading zero (an SCTID is an integer written without padding).
_SCTID = re.compile(r"[1-9][0-9]{5,17}", re.ASCII)
_SCTID_LOW, _SCTID_HIGH = 10 ** 5, 10 ** 18 - 1
#: Dates given as parameters (``at``, ``diagnosed_since``) are ISO when text: '03/04/2025' could be either month.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_RULE_KEYS = ("register", "diagnosis", "resolved", "min_age", "diagnosed_since", "source")
_RULES_FILE = "data/register_rules.json"
_RULES_FORMAT = "capitation-register-rules"
_NO_DAY = np.iinfo(np.int64).min  # no code (of a cluster, resolved, ...) on any day
_NO_AGE = np.iinfo(np.int64).min  # no birth date (someone born after the reference date has a negative age)
_REFSET_FIX = ("pass the PCD portal's refset content file as published (YYYYMMDD_PCD_Refset_Content.txt, "
               "tab-separated) or a frame with columns 'Cluster_ID' and 'SNOMED_code'")


# -- rules ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegisterRule:
    """One register as data: which clusters diagnose it, which resolve it, and its age and date conditions.

    A person is on the register when their latest code of a ``diagnosis`` cluster (on or before the reference
    date) is not followed, on a later day, by a code of a ``resolved`` cluster, is on or after
    ``diagnosed_since`` (when given), and they are at least ``min_age`` at the reference date (when given).

    Attributes
    ----------
    register : str
        The register code the conditions table carries (``'DM'``), ASCII upper case.
    diagnosis : tuple of str
        PCD cluster ids whose codes put a person on the register (``('DM_COD',)``); at least one.
    resolved : tuple of str
        Cluster ids whose later codes take them off (``('DMRES_COD',)``); none by default.
    min_age : int or None
        Minimum age in completed years at the reference date (QOF diabetes: 17); no age condition if None.
    diagnosed_since : str or None
        ISO date: the latest diagnosis code must be on or after it (QOF depression: ``'2006-04-01'``).
    source : str
        Where the rule comes from (business rules version and wording), for the reader.

    Examples
    --------
    >>> from capitation.inputs.gp import RegisterRule
    >>> rule = RegisterRule("dm", ["DM_COD"], ["DMRES_COD"], min_age=17)
    >>> rule.register, rule.diagnosis, rule.min_age
    ('DM', ('DM_COD',), 17)
    >>> RegisterRule("DM", [])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: RegisterRule('DM') has no 'diagnosis' clusters. ... Fix: ...
    """

    register: str
    diagnosis: tuple[str, ...]
    resolved: tuple[str, ...] = ()
    min_age: int | None = None
    diagnosed_since: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        checked = _checked_rule({k: getattr(self, k) for k in _RULE_KEYS}, f"RegisterRule({self.register!r})")
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    @classmethod
    def from_dict(cls, data: Mapping, *, where: str = "the rule") -> RegisterRule:
        """Build a rule from a mapping (one rule of a JSON file), refusing unknown and missing keys.

        Parameters
        ----------
        data : mapping
            Keys ``register`` and ``diagnosis`` (required), ``resolved``, ``min_age``, ``diagnosed_since`` and
            ``source``.
        where : str
            What the mapping is, for messages (``"rule 3 of rules.json"``).

        Returns
        -------
        RegisterRule

        Raises
        ------
        InputError
            An unknown or missing key, or a value a rule cannot hold (empty clusters, a negative age, ...),
            naming ``where`` and the key.

        Examples
        --------
        >>> from capitation.inputs.gp import RegisterRule
        >>> RegisterRule.from_dict({"register": "HYP", "diagnosis": ["HYP_COD"], "resolved": ["HYPRES_COD"]}).resolved
        ('HYPRES_COD',)
        >>> RegisterRule.from_dict({"register": "DM", "diagnosis": ["DM_COD"], "min_agee": 17},
        ...                        where="rule 1")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        capitation.errors.InputError: Rule 1 ('DM') has unknown key 'min_agee' (did you mean 'min_age'?). ...
        """
        if isinstance(data, RegisterRule):
            return data
        if not isinstance(data, Mapping):
            raise InputError(f"{_cap(where)} must be a mapping (a JSON object) or a RegisterRule. Got "
                             f"{type(data).__name__} {data!r}. Fix: e.g. {{\"register\": \"DM\", \"diagnosis\": "
                             "[\"DM_COD\"]}.")
        label = f"{_cap(where)}" + (f" ({data['register']!r})" if isinstance(data.get("register"), str) else "")
        unknown = [k for k in data if k not in _RULE_KEYS]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), _RULE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"{label} has unknown key {key!r}{hint}. A rule's keys are {list(_RULE_KEYS)}. "
                             "Fix: rename or remove it.")
        missing = [k for k in ("register", "diagnosis") if k not in data]
        if missing:
            raise InputError(f"{label} lacks the key(s) {missing}. Fix: every rule needs 'register' (e.g. 'DM') "
                             "and 'diagnosis' (a list of cluster ids, e.g. ['DM_COD']).")
        return cls(**_checked_rule({k: data[k] if k in data else _DEFAULTS[k] for k in _RULE_KEYS}, label))

    def as_dict(self) -> dict:
        """Return the rule as a plain dict, the JSON form :meth:`from_dict` reads.

        Returns
        -------
        dict
            Lists for the clusters; keys whose value is the default are left out.

        Examples
        --------
        >>> from capitation.inputs.gp import RegisterRule
        >>> RegisterRule("CHD", ["CHD_COD"]).as_dict()
        {'register': 'CHD', 'diagnosis': ['CHD_COD']}
        """
        out = {"register": self.register, "diagnosis": list(self.diagnosis)}
        if self.resolved:
            out["resolved"] = list(self.resolved)
        for key in ("min_age", "diagnosed_since"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.source:
            out["source"] = self.source
        return out


_DEFAULTS = {"resolved": (), "min_age": None, "diagnosed_since": None, "source": ""}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _checked_rule(values: dict, label: str) -> dict:
    """Normalise a rule's fields (names stripped and upper-cased, lists as tuples), or raise naming the key."""
    register = values["register"]
    if not isinstance(register, str) or not register.strip():
        raise InputError(f"{label}: 'register' must be a non-empty string (e.g. 'DM'). Got {register!r}. "
                         "Fix: name the register as the conditions table and FeatureSpec(conditions=...) do.")
    out = {"register": ascii_upper(register.strip())}
    for key in ("diagnosis", "resolved"):
        items = check_names(values[key], key, label, ordered=False, example="DM_COD")
        names = tuple(dict.fromkeys(ascii_upper(v.strip()) for v in items))
        out[key] = names
    if not out["diagnosis"]:
        raise InputError(f"{label} has no 'diagnosis' clusters. A register needs at least one cluster whose codes "
                         "put a person on it. Fix: e.g. diagnosis=['DM_COD'].")
    both = [c for c in out["diagnosis"] if c in out["resolved"]]
    if both:
        raise InputError(f"{label} names {both} as both 'diagnosis' and 'resolved'. Fix: a cluster either puts a "
                         "person on the register or takes them off; keep it in one list.")
    age = values["min_age"]
    if age is not None:
        number = isinstance(age, (int, np.integer, float, np.floating)) and not isinstance(age, (bool, np.bool_))
        if not number or not math.isfinite(age) or age != int(age) or not 0 <= age <= 130:
            raise InputError(f"{label}: 'min_age' must be a whole number of years from 0 to 130, or None. Got "
                             f"{age!r}. Fix: e.g. min_age=17 (QOF diabetes), or leave it out for no age condition.")
        age = int(age)
    out["min_age"] = age
    since = values["diagnosed_since"]
    if since is not None:
        out["diagnosed_since"] = _iso_day(since, f"{label}: 'diagnosed_since'",
                                          "e.g. diagnosed_since='2006-04-01', or leave it out")
    else:
        out["diagnosed_since"] = None
    source = values["source"]
    if not isinstance(source, str):
        raise InputError(f"{label}: 'source' must be text (where the rule comes from). Got {source!r}. "
                         "Fix: e.g. source='QOF v49 DM_REG'.")
    out["source"] = source
    return out


def _iso_day(value, what: str, fix: str) -> str:
    """Write a date given as ISO text, ``date``, ``Timestamp`` or ``datetime64`` as ``'YYYY-MM-DD'``."""
    return _day(value, what, fix).strftime("%Y-%m-%d")


def _day(value, what: str, fix: str) -> pd.Timestamp:
    bad = value is None or isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)) or (
        isinstance(value, str) and not _ISO_DAY.fullmatch(value.strip()))
    stamp = pd.NaT
    if not bad:
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError, OverflowError):
            stamp = pd.NaT
    if stamp is pd.NaT or pd.isna(stamp):
        raise InputError(f"{what} must be a date, as text YYYY-MM-DD (e.g. '2025-03-31') or a date object. Got "
                         f"{value!r}. Fix: {fix}.")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def read_register_rules(rules, *, name: str = "rules") -> tuple[RegisterRule, ...]:
    """Read register rules: a JSON file, or a list of :class:`RegisterRule` or of dicts, checked.

    Parameters
    ----------
    rules : str, os.PathLike, sequence of RegisterRule or dict
        A ``.json`` file holding a list of rules or an object with a ``"rules"`` list (the shipped
        ``register_rules.json``'s layout), or the rules themselves.
    name : str
        The parameter that gave the rules, for messages.

    Returns
    -------
    tuple of RegisterRule
        In the order given.

    Raises
    ------
    InputError
        The file cannot be read or is not JSON, a rule has an unknown or missing key or a value a rule cannot
        hold, or two rules name one register.

    Examples
    --------
    >>> from capitation.inputs.gp import read_register_rules
    >>> [r.register for r in read_register_rules([{"register": "CHD", "diagnosis": ["CHD_COD"]}])]
    ['CHD']
    >>> read_register_rules([{"register": "DM", "diagnosis": ["DM_COD"], "min_age": -1}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: Rule 1 of the 'rules' parameter ('DM'): 'min_age' must be a whole number ...
    """
    origin = f"the {name!r} parameter"
    if isinstance(rules, (str, os.PathLike)):
        path = Path(rules)
        origin = f"{str(path)!r}"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which does not exist. Fix: pass the path "
                             "of a rules JSON file, or a list of rules.") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"The rules file {str(path)!r} (parameter {name!r}) is not readable JSON ({exc}). Fix: "
                             "write a list of rules, or an object with a \"rules\" list, as in the shipped "
                             "register_rules.json.") from None
        rules = document.get("rules") if isinstance(document, dict) else document
        if not isinstance(rules, list):
            raise InputError(f"The rules file {origin} holds no list of rules. Fix: write a JSON list of rules, or an "
                             "object with a \"rules\" list.")
    if isinstance(rules, (RegisterRule, Mapping)):
        rules = [rules]
    try:
        items = list(rules)
    except TypeError:
        raise InputError(f"The {name!r} parameter must be a list of rules (RegisterRule or dicts) or a JSON path. "
                         f"Got {type(rules).__name__}. Fix: e.g. {name}=QOF_RULES.") from None
    if not items:
        raise InputError(f"The {name!r} parameter holds no rules. Fix: pass at least one, e.g. {name}=QOF_RULES.")
    out = tuple(r if isinstance(r, RegisterRule) else RegisterRule.from_dict(r, where=f"rule {k} of {origin}")
                for k, r in enumerate(items, start=1))
    seen: dict[str, int] = {}
    for k, rule in enumerate(out, start=1):
        if rule.register in seen:
            raise InputError(f"Rules {seen[rule.register]} and {k} of {origin} both define the register "
                             f"{rule.register!r}. Fix: one rule per register (list every cluster in one rule).")
        seen[rule.register] = k
    return out


def _shipped_rules() -> tuple[RegisterRule, ...]:
    with resources.files("capitation.inputs").joinpath(_RULES_FILE).open("r", encoding="utf-8") as handle:
        document = json.load(handle)
    assert document["format"] == _RULES_FORMAT, "the shipped register rules file has another layout"
    return read_register_rules(document["rules"], name="register_rules.json")


#: The QOF registers shipped in ``inputs/data/register_rules.json`` (each rule's ``source`` says where it comes
#: from): DM, CAN, CKD, PC, AF, CHD, HF, HYP, PAD, STIA, AST, COPD, DEM, DEP, EP, LD and MH.
QOF_RULES: tuple[RegisterRule, ...] = _shipped_rules()


# -- codes and dates ------------------------------------------------------------------------------------------

def _snomed_codes(frame: pd.DataFrame, name: str, column: str, ids=None, *,
                  fix: str) -> tuple[np.ndarray, np.ndarray]:
    """Each row's position among the column's distinct SNOMED CT codes, and those codes as int64 (checked once each).

    Text and integer columns are read; floats are refused (a float keeps 15 to 17 significant digits, so an
    18-digit code would change), and so are missing values and anything that is not 6 to 18 digits.
    """
    series = frame[column]
    dtype = series.dtype
    where = f"The {name!r} table's column {column!r}"
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_float_dtype(dtype) or \
            pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise SchemaError(f"{where} must hold SNOMED CT codes as text (or integers). Got dtype {dtype} (values like "
                          f"{series.head(3).tolist()!r}); a float keeps only 15 to 17 significant digits, so codes of "
                          f"up to 18 digits would change. Fix: read the column as text, e.g. "
                          f"pd.read_csv(path, dtype={{{column!r}: str}}).")
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        missing = series.isna().to_numpy()
        if missing.any():
            raise InputError(f"{where} is missing in {int(missing.sum()):,} row(s): "
                             f"{describe_rows(frame.index, missing, series.to_numpy(object), ids)}. Fix: drop those "
                             "rows; an observation without a code says nothing.")
        codes, uniques = pd.factorize(series.to_numpy(dtype=series.dtype.numpy_dtype
                                      if hasattr(series.dtype, "numpy_dtype") else None))
        uniques = np.asarray(uniques)
        ok = (uniques >= _SCTID_LOW) & (uniques <= _SCTID_HIGH)
        keys = np.full(len(uniques), -1, dtype=np.int64)
        keys[ok] = uniques[ok].astype(np.int64)
    elif may_hold_text(series):
        codes, uniques = factorize_column(series, name)
        missing = codes < 0
        if missing.any():
            raise InputError(f"{where} is missing in {int(missing.sum()):,} row(s): "
                             f"{describe_rows(frame.index, missing, series.to_numpy(object), ids)}. Fix: drop those "
                             "rows; an observation without a code says nothing.")
        keys = np.fromiter((_sctid(v) for v in uniques[:-1]), dtype=np.int64, count=len(uniques) - 1)
    else:
        raise SchemaError(f"{where} must hold SNOMED CT codes as text. Got dtype {dtype} (values like "
                          f"{series.head(3).tolist()!r}). Fix: frame[{column!r}].astype(str).")
    bad = (keys < 0)[codes]
    if bad.any():
        raise InputError(f"{where} must hold SNOMED CT codes: 6 to 18 ASCII digits, the first not 0. Got "
                         f"{int(bad.sum()):,} row(s) that are not: "
                         f"{describe_rows(frame.index, bad, series.to_numpy(object), ids)}. Fix: {fix}.")
    return np.asarray(codes, dtype=np.intp), keys


def _sctid(value) -> int:
    """Read a SNOMED CT identifier as an int, or -1: text of 6 to 18 digits (spaces around ignored), or an integer."""
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _SCTID.fullmatch(text) else -1
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value) if _SCTID_LOW <= value <= _SCTID_HIGH else -1
    return -1


def _days(frame: pd.DataFrame, name: str, column: str, ids=None) -> np.ndarray:
    """Each row's date as days since 1970 (int64); times of day are dropped. Text is parsed once per distinct value."""
    series = frame[column]
    text = may_hold_text(series)
    if text:
        codes, uniques = factorize_column(series, name)
        small = pd.DataFrame({column: pd.Series(uniques[:-1], dtype=object)})
        failure = None
        try:
            parsed = parse_dates(small, name, column)
        except (InputError, SchemaError) as exc:
            failure = exc
        if failure is not None:
            parse_dates(frame, name, column, ids)  # the same failure, naming the table's rows (and their people)
            raise failure
        days = np.append(parsed.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64), _NO_DAY)
        missing = codes < 0
        days = days[codes]
    else:
        parsed = parse_dates(frame, name, column, ids)
        missing = parsed.isna().to_numpy()
        days = parsed.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    if missing.any():
        raise InputError(f"The {name!r} table's column {column!r} is missing in {int(missing.sum()):,} row(s): "
                         f"{describe_rows(frame.index, missing, series.to_numpy(object), ids)}. Fix: fill the dates "
                         "or drop those rows; an undated code cannot be placed before or after another.")
    return days


def _reference_day(at) -> tuple[pd.Timestamp, int]:
    stamp = _day(at, "The 'at' parameter of conditions_from_gp_records",
                 "pass the reference date, e.g. at='2025-03-31' (the end of QOF year 2024/25)")
    return stamp, int(np.datetime64(stamp.date(), "D").astype(np.int64))


# -- refsets --------------------------------------------------------------------------------------------------

def _read_refset_frame(refsets) -> pd.DataFrame:
    if isinstance(refsets, (str, os.PathLike)) and Path(refsets).suffix.lower() in (".txt", ".tsv"):
        path = Path(refsets)
        if not path.is_file():
            raise InputError(f"The 'refsets' parameter names {str(path)!r}, which does not exist. Fix: "
                             f"{_REFSET_FIX}.")
        frame = None
        for encoding in ("utf-8-sig", "cp1252"):
            try:  # QUOTE_NONE: a quote inside a description is text, never the start of a quoted field
                frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE,
                                    encoding=encoding)
                break
            except UnicodeDecodeError:
                continue
            except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
                raise InputError(f"The 'refsets' parameter names {str(path)!r}, which is not a readable "
                                 f"tab-separated table ({exc}). Fix: {_REFSET_FIX}.") from None
        if frame is None:
            raise InputError(f"The 'refsets' parameter names {str(path)!r}, which is neither UTF-8 nor Windows-1252 "
                             f"text. Fix: {_REFSET_FIX}.")
        frame.columns = [str(c).strip() for c in frame.columns]
        if frame.shape[1] == 1 and "," in frame.columns[0]:
            raise SchemaError(f"The refsets file {str(path)!r} has one column, {frame.columns[0][:60]!r}: it looks "
                              "comma-separated, but .txt files are read as the PCD portal writes them, tab-separated. "
                              "Fix: rename it to .csv, or write it with tabs.")
        return frame
    return read_table(refsets, "refsets", text=True)


def _refset_pairs(refsets) -> tuple[np.ndarray, np.ndarray]:
    """Return the refsets' distinct (code, cluster) pairs: codes as int64, cluster ids as upper-case text."""
    frame = _read_refset_frame(refsets)
    # The portal's files differ in the case of their headers (Cluster_description, Cluster_Description).
    folded = {}
    for want in ("Cluster_ID", "SNOMED_code"):
        same = [c for c in frame.columns if isinstance(c, str) and c.strip().lower() == want.lower()]
        if want not in frame.columns and len(same) == 1:
            folded[same[0]] = want
    frame = frame.rename(columns=folded) if folded else frame
    require_columns(frame, "refsets", ("Cluster_ID", "SNOMED_code"))
    _, cluster_codes, cluster_uniques = text_column(frame, "refsets", "Cluster_ID",
                                                    missing_fix="drop rows with no cluster id")
    codes, keys = _snomed_codes(frame, "refsets", "SNOMED_code", fix=f"check the file's layout: {_REFSET_FIX}")
    names = np.asarray([ascii_upper(v.strip()) for v in cluster_uniques[:-1]], dtype=object)
    pairs = pd.DataFrame({"code": keys[codes], "cluster": names[cluster_codes]}).drop_duplicates()
    pairs = pairs.sort_values(["cluster", "code"], kind="stable")
    return pairs["code"].to_numpy(np.int64), pairs["cluster"].to_numpy(object)


def read_pcd_refsets(refsets) -> pd.DataFrame:
    """Read NHS England's Primary Care Domain reference sets: which SNOMED CT codes each cluster holds.

    The PCD portal publishes its clusters as tab-separated ``.txt`` files: ``PCD_Refset_Content`` (columns
    ``Cluster_ID``, ``Cluster_description``, ``SNOMED_code``, ``SNOMED_code_description``, ``PCD Refset ID``,
    ``Service_and_Ruleset``) and ``PCD_Refset_Content_by_Output`` (``Output_ID``, ``Cluster_ID``,
    ``Cluster_Description``, ``SNOMED_code``, ``SNOMED_code_description``, ``PCD Refset ID``). Either is read:
    ``Cluster_ID`` and ``SNOMED_code`` are required (in any letter case), the other columns are ignored, and a
    code listed several times for one cluster (once per output) counts once.

    Parameters
    ----------
    refsets : pandas.DataFrame, str or os.PathLike
        A ``.txt`` or ``.tsv`` file (tab-separated, read as text exactly as written), a ``.csv`` file, Parquet,
        or a DataFrame.

    Returns
    -------
    pandas.DataFrame
        Columns ``Cluster_ID`` (upper case) and ``SNOMED_code`` (text), one row per distinct pair, sorted by
        cluster then code. It is itself a valid ``refsets`` argument.

    Raises
    ------
    SchemaError
        A required column is missing, or codes are not text or integers (floats lose digits).
    InputError
        The file cannot be read, or a cluster id or code is missing or malformed; the message names the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.inputs.gp import read_pcd_refsets
    >>> read_pcd_refsets(pd.DataFrame({"Output_ID": ["DM_REG", "NDH_REG"], "Cluster_ID": ["DM_COD", "DM_COD"],
    ...                                "SNOMED_code": ["44054006", "44054006"]})).to_dict("list")
    {'Cluster_ID': ['DM_COD'], 'SNOMED_code': ['44054006']}
    """
    keys, clusters = _refset_pairs(refsets)
    return pd.DataFrame({"Cluster_ID": clusters, "SNOMED_code": keys.astype(str).astype(object)})


# -- people ---------------------------------------------------------------------------------------------------

def _people_ages(people, at: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Return the people's ids and ages in completed years at ``at`` (``_NO_AGE`` where the birth date is unknown)."""
    frame = read_table(people, "people", text=True)  # as the observations are read: ids match
    require_columns(frame, "people", ("person_id",))
    if "date_of_birth" not in frame.columns and "year_month_of_birth" not in frame.columns:
        raise SchemaError(f"The 'people' table needs 'date_of_birth' or 'year_month_of_birth' (YYYYMM). It has "
                          f"{[str(c) for c in frame.columns]}. Fix: add one of them; without people= every rule "
                          "with a minimum age counts its people as age_unknown.")
    ids = check_identifiers(frame, "people", "person_id")
    check_unique(frame, "people", "person_id", ids)
    ages = np.full(len(frame), _NO_AGE, dtype=np.int64)
    if "year_month_of_birth" in frame.columns:
        year, month = _year_months(frame, ids)
        known = year > 0
        if known.any():
            born = pd.to_datetime(pd.DataFrame({"year": year[known], "month": month[known], "day": 1}))
            last = born.dt.days_in_month.to_numpy()  # born on the month's last day: never older than they are
            before = (at.month < month[known]) | ((at.month == month[known]) & (at.day < last))
            ages[known] = at.year - year[known] - before
    if "date_of_birth" in frame.columns:  # a full date wins over the month where both are given
        dob = parse_dates(frame, "people", "date_of_birth", ids)
        known = dob.notna().to_numpy()
        if known.any():
            y, m, d = (dob.dt.year.to_numpy()[known], dob.dt.month.to_numpy()[known], dob.dt.day.to_numpy()[known])
            ages[known] = at.year - y - ((at.month < m) | ((at.month == m) & (at.day < d)))
    return ids, ages


def _year_months(frame: pd.DataFrame, ids) -> tuple[np.ndarray, np.ndarray]:
    """``year_month_of_birth`` (``YYYYMM`` as text or a whole number) as years and months; 0 where missing."""
    series = frame["year_month_of_birth"]
    where = "The 'people' table's column 'year_month_of_birth'"
    if pd.api.types.is_bool_dtype(series.dtype) or not (pd.api.types.is_numeric_dtype(series.dtype)
                                                        or may_hold_text(series)):
        raise SchemaError(f"{where} must hold YYYYMM as text or whole numbers. Got dtype {series.dtype} (values "
                          f"like {series.head(3).tolist()!r}). Fix: e.g. frame['date_of_birth'].dt.strftime('%Y%m').")
    codes, uniques = factorize_column(series, "people")
    parsed = [_yyyymm(v) for v in uniques[:-1]] + [(0, 0)]
    year = np.asarray([p[0] for p in parsed], dtype=np.int64)[codes]
    month = np.asarray([p[1] for p in parsed], dtype=np.int64)[codes]
    bad = year < 0
    if bad.any():
        raise InputError(f"{where} must be YYYYMM (e.g. 198403 for March 1984), or missing. Got "
                         f"{int(bad.sum()):,} row(s) that are not: "
                         f"{describe_rows(frame.index, bad, series.to_numpy(object), ids)}. Fix: correct those rows, "
                         "or leave them empty (then the person's age is unknown, and counted).")
    return year, month


def _yyyymm(value) -> tuple[int, int]:
    """(year, month) of ``YYYYMM``; (0, 0) when missing, (-1, -1) when not YYYYMM."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return 0, 0
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0, 0
        number = int(text) if text.isascii() and text.isdigit() and len(text) == 6 else -1
    elif isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, (bool, np.bool_)):
        number = int(value) if float(value).is_integer() else -1
    else:
        number = -1
    year, month = divmod(number, 100)
    if number < 0 or not 1 <= month <= 12 or not 1800 <= year <= 2261:
        return -1, -1
    return year, month


def _same_id_kind(observed: np.ndarray, people_ids: np.ndarray) -> None:
    if len(observed) == 0 or len(people_ids) == 0:
        return
    obs_kind, people_kind = id_kind(observed), id_kind(people_ids)
    if obs_kind != people_kind:
        cast = "astype(str)" if obs_kind == "strings" else "astype('int64')"
        raise SchemaError(f"The 'observations' table's person ids are {obs_kind} (e.g. {observed[0]!r}) but "
                          f"the 'people' table's are {people_kind} (e.g. {people_ids[0]!r}), so no observation "
                          "would find its person. Fix: give both one type, e.g. people['person_id'] = "
                          f"people['person_id'].{cast}.")


# -- the result -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class GpConditions(Result):
    """Who is on which register at the reference date, from GP records, with everything not used counted.

    Attributes
    ----------
    conditions : ConditionTable
        One row per person and register they are on; ``date`` is their latest diagnosis code's (on or before
        ``at``), so the encoder's outcome-year cut applies. Pass it as ``encode(..., conditions=...)``.
    table : pandas.DataFrame
        The same as a frame: ``person_id``, ``register``, ``date``, sorted by person then register.
    by_register : pandas.DataFrame
        One row per rule's register, in the rules' order: ``on_register`` and, for the people with a diagnosis
        code who are not on it, one column per reason of :data:`REGISTER_REASONS`.
    not_used : dict of str → int
        Observations not used, each counted once under the first reason of :data:`OBSERVATION_REASONS` that
        applies (reasons with no observation are left out).
    left_off : dict of str → int
        People with a diagnosis code of a register who are not on it, per reason (summed over registers).
    observations : int
        Observations read; ``observations - sum(not_used.values())`` were used.
    at : pandas.Timestamp
        The reference date.
    rules : tuple of RegisterRule
        The rules applied.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.inputs.gp import conditions_from_gp_records
    >>> refsets = pd.DataFrame({"Cluster_ID": ["DM_COD", "DMRES_COD"], "SNOMED_code": ["44054006", "315051004"]})
    >>> obs = pd.DataFrame({"person_id": [1, 1, 2], "date": ["2019-05-01", "2021-06-01", "2020-01-01"],
    ...                     "snomed_code": ["44054006", "315051004", "44054006"]})
    >>> rules = [{"register": "DM", "diagnosis": ["DM_COD"], "resolved": ["DMRES_COD"]}]
    >>> result = conditions_from_gp_records(obs, refsets, rules, at="2025-03-31")
    >>> result.table["person_id"].tolist(), result.left_off
    ([2], {'resolved': 1})
    """

    conditions: ConditionTable
    table: pd.DataFrame
    by_register: pd.DataFrame
    not_used: dict = field(default_factory=dict)
    left_off: dict = field(default_factory=dict)
    observations: int = 0
    at: pd.Timestamp | None = None
    rules: tuple = ()

    @property
    def registers(self) -> dict:
        """People on each register (every rule's register, in the rules' order, zeros included)."""
        return {k: int(v) for k, v in self.by_register["on_register"].items()}

    def _frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        """Describe the result: people and registers, then each register's count and every reason counted.

        Returns
        -------
        str
            The headline, one line of register counts, then one line per reason something was not used.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.inputs.gp import conditions_from_gp_records
        >>> refsets = pd.DataFrame({"Cluster_ID": ["HYP_COD"], "SNOMED_code": ["38341003"]})
        >>> obs = pd.DataFrame({"person_id": [1, 2], "date": ["2020-01-01", "2026-01-01"],
        ...                     "snomed_code": ["38341003", "38341003"]})
        >>> result = conditions_from_gp_records(obs, refsets, [{"register": "HYP", "diagnosis": ["HYP_COD"]}],
        ...                                     at="2025-03-31")
        >>> print(result.summary())
        GP records at 2025-03-31: 1 people on 1 of 1 registers (1 entries), from 2 observations (1 used)
          on register: HYP 1
          not used: 1 after reference date
        """
        people = self.table["person_id"].nunique()
        counts = self.registers
        filled = sum(1 for v in counts.values() if v)
        used = self.observations - sum(self.not_used.values())
        day = self.at.strftime("%Y-%m-%d") if self.at is not None else "?"
        lines = [f"GP records at {day}: {people:,} people on {filled:,} of {len(counts):,} registers "
                 f"({len(self.table):,} entries), from {self.observations:,} observations ({used:,} used)"]
        shown = [f"{k} {v:,}" for k, v in counts.items() if v]
        if shown:
            lines.append("  on register: " + " · ".join(shown))
        lines += [f"  not used: {n:,} {reason.replace('_', ' ')}" for reason, n in self.not_used.items()]
        for reason, n in self.left_off.items():
            per = self.by_register[reason]
            detail = " · ".join(f"{k} {v:,}" for k, v in per.items() if v)
            lines.append(f"  left off: {n:,} {reason.replace('_', ' ')} ({detail})")
        return "\n".join(lines)


# -- the reader -----------------------------------------------------------------------------------------------

def _column_names(columns) -> dict:
    names = {k: k for k in GP_COLUMNS}
    if columns is None:
        return names
    if not isinstance(columns, Mapping):
        raise InputError(f"The 'columns' parameter of conditions_from_gp_records must be a dict (the reader's name → "
                         f"your column's name). Got {type(columns).__name__}. Fix: e.g. columns={{'snomed_code': "
                         "'code'}.")
    for key, value in columns.items():
        if key not in GP_COLUMNS:
            close = difflib.get_close_matches(str(key), GP_COLUMNS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"The 'columns' parameter of conditions_from_gp_records has the key {key!r}{hint}; its "
                             f"keys are the reader's names {list(GP_COLUMNS)}, its values your columns' names. "
                             "Fix: e.g. columns={'snomed_code': 'code'}.")
        if not isinstance(value, str) or not value:
            raise InputError(f"The 'columns' parameter of conditions_from_gp_records maps {key!r} to {value!r}; it "
                             "must be the name of your column. Fix: e.g. columns={'snomed_code': 'code'}.")
        names[key] = value
    if len(set(names.values())) < len(names):
        raise InputError(f"The 'columns' parameter of conditions_from_gp_records maps two fields to one column: "
                         f"{names}. Fix: one column per field.")
    return names


def _read_observations(observations, names: dict) -> pd.DataFrame:
    wanted = [names[k] for k in GP_COLUMNS]
    csv_path = isinstance(observations, (str, os.PathLike)) and Path(observations).suffix.lower() == ".csv"
    parquet_path = isinstance(observations, (str, os.PathLike)) and not csv_path
    frame = read_table(observations, "observations", wanted if parquet_path else None, categorical="keep",
                       text=True)
    try:
        require_columns(frame, "observations", wanted)
    except SchemaError as exc:
        raise SchemaError(f"{exc} Or pass columns={{'person_id': ..., 'date': ..., 'snomed_code': ...}} naming "
                          "your columns.") from None
    return frame


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and count of each of ``n`` keys in ``keys``, which is sorted."""
    starts = np.searchsorted(keys, np.arange(n), side="left")
    ends = np.searchsorted(keys, np.arange(n), side="right")
    return starts, ends - starts


def _expand(groups: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows whose group is ``groups``: the row each expanded entry comes from, and its position in the targets.

    Row ``i`` gives ``counts[groups[i]]`` entries, pointing at ``starts[groups[i]] + 0, 1, ...``.
    """
    rep = counts[groups]
    total = int(rep.sum())
    source = np.repeat(np.arange(len(groups)), rep)
    first = np.cumsum(rep) - rep
    offset = np.arange(total, dtype=np.int64) - np.repeat(first, rep)
    return source, np.repeat(starts[groups], rep) + offset


def _latest(keys: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys`` and the latest day of each."""
    if len(keys) == 0:
        return keys.astype(np.int64), days.astype(np.int64)
    latest = pd.Series(days, copy=False).groupby(keys, sort=False).max()
    return latest.index.to_numpy(np.int64), latest.to_numpy(np.int64)


def conditions_from_gp_records(observations, refsets, rules=QOF_RULES, *, at, people=None,
                               columns: dict | None = None) -> GpConditions:
    """Read GP coded records (SNOMED CT) into registers at a reference date, as the conditions table encode takes.

    Parameters
    ----------
    observations : pandas.DataFrame, str or os.PathLike
        One row per coded observation: ``person_id`` (integers or strings), ``date`` (dates, or text in one
        format; times of day are dropped) and ``snomed_code`` (SNOMED CT concept ids as text, or integers: 6 to
        18 digits; floats are refused, since they lose digits). A CSV file is read as text exactly as written;
        a Parquet path reads only these columns.
    refsets : pandas.DataFrame, str or os.PathLike
        The PCD reference sets, as :func:`read_pcd_refsets` reads them (the PCD portal's tab-separated ``.txt``
        files as published, CSV, Parquet or a frame with ``Cluster_ID`` and ``SNOMED_code``). A code in several
        clusters feeds each of them.
    rules : sequence of RegisterRule or dict, or str or os.PathLike
        The registers to build (:data:`QOF_RULES` by default), or a JSON file of rules (see
        :func:`read_register_rules`). Every cluster a rule names must be in ``refsets``.
    at : str, datetime.date or pandas.Timestamp
        The reference date (e.g. ``'2025-03-31'``, the end of QOF year 2024/25). Observations after it are left
        out and counted; ages are taken on it.
    people : pandas.DataFrame, str or os.PathLike, optional
        ``person_id`` and ``date_of_birth`` or ``year_month_of_birth`` (``YYYYMM``; the person is taken as born
        on the month's last day, so they are never older than they are: up to a month younger). Needed by rules
        with a ``min_age``: without it, or without a person's birth date, such a rule counts them as
        ``age_unknown``. When given, observations of people not in it are counted as ``unknown_person``.
    columns : dict of str → str, optional
        The reader's name → your column's name, for the columns named differently (``{"snomed_code":
        "code"}``). See :data:`GP_COLUMNS`.

    Returns
    -------
    GpConditions
        ``conditions`` (a :class:`~capitation.inputs.ConditionTable`), its frame ``table``, ``by_register``,
        and the counts ``not_used`` (observations) and ``left_off`` (people with a diagnosis code not on the
        register).

    Raises
    ------
    SchemaError
        A required column is missing or has the wrong type (codes as floats, dates as numbers), or the
        observations' and people's ids are of different types.
    InputError
        A missing or malformed code, id or date (the message names the rows), a rule that cannot be read, a
        cluster a rule names that is not in ``refsets``, or an ``at`` that is not a date.

    Notes
    -----
    A resolved code recorded on the same day as the latest diagnosis code does not take the person off the
    register: QOF's business rules read the resolved date as that of a resolved code "recorded after the most
    recent diagnosis", and the register rule as "the latest diagnosis is not followed by a resolved code".

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.inputs.gp import conditions_from_gp_records
    >>> refsets = pd.DataFrame({"Cluster_ID": ["DM_COD", "DMRES_COD", "HYP_COD"],
    ...                         "SNOMED_code": ["44054006", "315051004", "38341003"]})
    >>> obs = pd.DataFrame({
    ...     "person_id": [1, 1, 1, 2, 3],
    ...     "date": ["2019-03-01", "2021-03-01", "2023-03-01", "2022-01-01", "2024-01-01"],
    ...     "snomed_code": ["44054006", "315051004", "44054006", "44054006", "38341003"]})
    >>> people = pd.DataFrame({"person_id": [1, 2, 3], "date_of_birth": ["1960-01-01", "2010-01-01", "1950-01-01"]})
    >>> result = conditions_from_gp_records(obs, refsets, [
    ...     {"register": "DM", "diagnosis": ["DM_COD"], "resolved": ["DMRES_COD"], "min_age": 17},
    ...     {"register": "HYP", "diagnosis": ["HYP_COD"]}], at="2025-03-31", people=people)
    >>> result.table.astype({"date": str}).values.tolist()  # person 1 re-diagnosed in 2023; person 2 is 15
    [[1, 'DM', '2023-03-01'], [3, 'HYP', '2024-01-01']]
    >>> result.registers, result.left_off
    ({'DM': 1, 'HYP': 1}, {'under_age': 1})
    """
    rules = read_register_rules(rules, name="rules")
    at_stamp, at_day = _reference_day(at)
    names = _column_names(columns)
    ref_keys, ref_clusters = _refset_pairs(refsets)

    # The clusters the rules read, and for each cluster the (rule, role) pairs it feeds (0 diagnosis, 1 resolved).
    cluster_names = list(dict.fromkeys(c for r in rules for c in (*r.diagnosis, *r.resolved)))
    present = set(pd.unique(ref_clusters))
    absent = {r.register: [c for c in (*r.diagnosis, *r.resolved) if c not in present] for r in rules}
    absent = {k: v for k, v in absent.items() if v}
    if absent:
        raise InputError(f"The 'refsets' table has no codes for the cluster(s) the rules name: "
                         f"{'; '.join(f'{k}: {v}' for k, v in absent.items())}. A register with a missing diagnosis "
                         "cluster would be empty, and one with a missing resolved cluster would keep resolved people. "
                         f"Fix: {_REFSET_FIX} holding them, or drop those rules, e.g. rules=[r for r in QOF_RULES if "
                         f"r.register not in {sorted(absent)}].")
    cluster_of = {c: k for k, c in enumerate(cluster_names)}
    n_clusters, n_rules = len(cluster_names), len(rules)
    role_pairs = sorted((cluster_of[c], r, role) for r, rule in enumerate(rules)
                        for role, group in enumerate((rule.diagnosis, rule.resolved)) for c in group)
    role_cluster = np.asarray([p[0] for p in role_pairs], dtype=np.int64)
    role_rule = np.asarray([p[1] for p in role_pairs], dtype=np.int64)
    role_kind = np.asarray([p[2] for p in role_pairs], dtype=np.int64)
    role_start, role_count = _csr(role_cluster, n_clusters)

    # The refsets' (code, rule cluster) pairs, sorted by code, and every code in any cluster.
    in_rules = pd.Index(cluster_names).get_indexer(ref_clusters)
    order = np.lexsort((in_rules[in_rules >= 0], ref_keys[in_rules >= 0]))
    pair_code, pair_cluster = ref_keys[in_rules >= 0][order], in_rules[in_rules >= 0][order]
    any_code = np.unique(ref_keys)

    frame = _read_observations(observations, names)
    n = len(frame)
    ids = check_identifiers(frame, "observations", names["person_id"], refuse_blank=False)
    days = _days(frame, "observations", names["date"], ids)
    ucode, ukeys = _snomed_codes(frame, "observations", names["snomed_code"], ids,
                                 fix="map Read, CTV3 or local codes to SNOMED CT first, or drop those rows (nothing is "
                                     "dropped for you); codes read as numbers may have lost digits, so read the "
                                     "column as text")
    person, person_ids = pd.factorize(ids)
    person = np.asarray(person, dtype=np.int64)
    person_ids = np.asarray(person_ids)
    if person_ids.dtype.kind not in "iuO":
        person_ids = person_ids.astype(object)

    # Each observation not used is counted once, under the first reason that applies.
    not_used: dict[str, int] = {}

    def leave_out(reason: str, rows: np.ndarray) -> None:
        if rows.any():
            not_used[reason] = not_used.get(reason, 0) + int(rows.sum())

    out = days > at_day
    leave_out("after_reference_date", out)
    ages = np.full(len(person_ids), _NO_AGE, dtype=np.int64)
    if people is not None:
        people_ids, people_ages = _people_ages(people, at_stamp)
        _same_id_kind(person_ids, people_ids)
        row = pd.Index(people_ids).get_indexer(person_ids) if len(person_ids) else np.empty(0, np.intp)
        ages = np.where(row >= 0, people_ages[np.maximum(row, 0)], _NO_AGE) if len(people_ids) else ages
        unknown = (row < 0)[person] & ~out
        leave_out("unknown_person", unknown)
        out |= unknown
    code_start = np.searchsorted(pair_code, ukeys, side="left")
    code_count = np.searchsorted(pair_code, ukeys, side="right") - code_start
    in_any = np.isin(ukeys, any_code)
    rows = ~in_any[ucode] & ~out
    leave_out("not_in_any_cluster", rows)
    out |= rows
    rows = (code_count == 0)[ucode] & ~out
    leave_out("cluster_not_in_rules", rows)
    out |= rows
    not_used = {k: not_used[k] for k in OBSERVATION_REASONS if k in not_used}

    # The latest day of each (person, cluster): one group-by over integer keys.
    used = np.flatnonzero(~out)
    source, target = _expand(ucode[used], code_start, code_count)
    rows_used = used[source]
    pc_key, pc_day = _latest(person[rows_used] * n_clusters + pair_cluster[target], days[rows_used])

    # Then of each (person, rule, role): a cluster may feed several rules, as diagnosis or resolved.
    pc_person, pc_cluster = pc_key // max(n_clusters, 1), pc_key % max(n_clusters, 1)
    source, target = _expand(pc_cluster, role_start, role_count)
    prr_key, prr_day = _latest((pc_person[source] * n_rules + role_rule[target]) * 2 + role_kind[target],
                               pc_day[source])
    is_diag = prr_key % 2 == 0
    pr_diag, diag_day = prr_key[is_diag] // 2, prr_day[is_diag]
    pr_res, res_day = prr_key[~is_diag] // 2, prr_day[~is_diag]
    at_res = pd.Index(pr_res).get_indexer(pr_diag) if len(pr_res) else np.full(len(pr_diag), -1)
    resolved_day = np.where(at_res >= 0, res_day[np.maximum(at_res, 0)] if len(res_day) else _NO_DAY, _NO_DAY)
    who, rule = pr_diag // n_rules, pr_diag % n_rules

    since = np.asarray([_NO_DAY if r.diagnosed_since is None else
                        int(np.datetime64(r.diagnosed_since, "D").astype(np.int64)) for r in rules], dtype=np.int64)
    min_age = np.asarray([-1 if r.min_age is None else r.min_age for r in rules], dtype=np.int64)
    age = ages[who]
    reasons = {
        "resolved": resolved_day > diag_day,  # a resolved code on a later day; the same day leaves them on
        "diagnosed_before_since": diag_day < since[rule],
        "age_unknown": (min_age[rule] >= 0) & (age == _NO_AGE),
        "under_age": (min_age[rule] >= 0) & (age != _NO_AGE) & (age < min_age[rule]),  # born after `at`: under
    }
    off = np.zeros(len(rule), dtype=bool)
    by_register = {}
    for reason in REGISTER_REASONS:
        mine = reasons[reason] & ~off
        by_register[reason] = np.bincount(rule[mine], minlength=n_rules)
        off |= mine
    on = ~off
    by_register = pd.DataFrame({"on_register": np.bincount(rule[on], minlength=n_rules), **by_register},
                               index=pd.Index([r.register for r in rules], name="register")).astype(np.int64)
    left_off = {k: int(by_register[k].sum()) for k in REGISTER_REASONS if by_register[k].sum()}

    registers = np.asarray([r.register for r in rules], dtype=object)
    table = pd.DataFrame({
        "person_id": person_ids[who[on]],
        "register": registers[rule[on]],
        "date": diag_day[on].astype("datetime64[D]").astype("datetime64[ns]"),
        "_rule": rule[on],
    }).sort_values(["person_id", "_rule"], kind="stable").drop(columns="_rule").reset_index(drop=True)
    return GpConditions(ConditionTable.from_frame(table), table, by_register, not_used, left_off, n, at_stamp, rules)
