"""ICD-10 diagnosis grouping: normalise raw codes and map them to morbidity groups, fast.

A person's diagnoses enter the cost model as membership of *morbidity groups* (PBRA used 157 groups built
from inpatient diagnoses; Dixon et al., BMJ 2011). This module holds

* :func:`normalise_icd10` / :func:`normalise_icd10_code`: turn the spellings found in NHS data (``I21.9``,
  ``i219``, ``J45X``, ``G01X-D``, ``M8000-``) into one canonical 3- or 4-character code;
* :class:`DiagnosisGrouping`: a frozen, validated table of code ranges -> groups. The package ships a
  default of 154 groups (``DiagnosisGrouping.default()``, documented in ``docs/icd10-grouping.md``); users
  can load their own with :meth:`DiagnosisGrouping.from_csv` or :meth:`DiagnosisGrouping.from_frame`;
* :meth:`DiagnosisGrouping.group_codes`: maps millions of records to ``int32`` group codes, with ``-1`` for
  codes that are ungrouped or malformed. Both kinds are *counted* on the returned :class:`GroupedCodes`,
  never dropped silently.

Normalisation rules
-------------------
After stripping surrounding whitespace and upper-casing, a code is accepted when it reads, left to right:

1. a letter and two digits (the 3-character category), e.g. ``I21``;
2. optionally a fourth character, a digit or a letter, which may be preceded by one dot (``I21.9``). A
   fourth character ``X`` or ``-`` is a filler meaning "no fourth character" (HES writes ``J45X``) and is
   dropped. Any other letter is kept (national extensions); lookups fall back to the 3-character category;
3. only after a real or filler fourth character: optionally a fifth character, a digit (the WHO
   fifth-character subdivision, e.g. ``M80.00``, ``S72.01``) or the HES filler ``-``. It is dropped. A digit
   after a filler fourth character (``R69X6``) is malformed;
4. optionally one final mark, dropped: ``A`` (asterisk) or ``D`` (dagger) as HES writes them in the sixth
   position, ``*``, ``+``, ``\u2020`` or ``-``.

The result is a letter, two digits and an optional fourth character that is not ``X``. Anything else is
*malformed*: an internal space, a dot anywhere but after the third character, a trailing dot, a sixth or
later character, a mark in the middle, a missing value (``None``, ``NaN``) or an empty string.

Range semantics and precedence
------------------------------
A 3-character range ``start``-``end`` covers every code whose category lies between them, including all of
their 4-character codes (``I20``-``I25`` covers ``I21``, ``I219`` and ``I21A``). A 4-character range covers
4-character codes of one category only (``N183``-``N185``). Ranges of the same length must not overlap. A
4-character range may lie inside a 3-character range of another group: it is a *carve-out*, and the most
specific range wins. :meth:`DiagnosisGrouping.overrides` lists the carve-outs of a grouping.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from capitation._validation import ascii_upper
from capitation.errors import InputError, SchemaError, UnknownCodeError

__all__ = [
    "UNGROUPED",
    "CodeRange",
    "DiagnosisGrouping",
    "GroupedCodes",
    "normalise_icd10",
    "normalise_icd10_code",
]

#: Group code of a record whose code is malformed or lies in no range.
UNGROUPED: int = -1
_MALFORMED: int = -2  # internal only: results never contain it

_CODE_RE = re.compile(
    r"(?P<cat>[A-Z][0-9]{2})"
    r"(?:\.?(?P<fourth>[0-9A-Z-])(?P<fifth>[0-9-])?)?"
    r"(?P<mark>[AD*+\u2020-])?"
)
_NORMAL_RE = re.compile(r"[A-Z][0-9]{2}[0-9A-WYZ]?")
_FILLERS = frozenset("X-")

# Every normalised code has a slot in a flat table: 26 letters x 100 two-digit numbers x 37 slots (the bare
# category, then fourth characters 0-9 and A-Z, in the order codes sort as strings).
_SLOTS = 37
_FOURTH_SLOT = {c: i + 1 for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_UNIVERSE = 26 * 100 * _SLOTS
_CACHE_MAX = 1 << 20
_N_EXAMPLES = 10
_FORMAT = "capitation-icd10-grouping/1"
_DEFAULT_RESOURCE = "data/icd10_groups.csv"
_ACCEPTED = ("A code is a letter, two digits and an optional fourth character, with an optional dot after the "
             "third character, HES fillers and dagger/asterisk marks (e.g. 'I21.9', 'i219', 'J45X', 'G01X-D').")


# ----------------------------------------------------------------------------------------------------------
# Normalisation
# ----------------------------------------------------------------------------------------------------------

def normalise_icd10_code(code: object) -> str | None:
    """Normalise one ICD-10 code, or return ``None`` when it is malformed or missing.

    Parameters
    ----------
    code : object
        A code as found in the data. Strings (and bytes) are parsed by the rules in the module docstring;
        anything else, including ``None`` and ``NaN``, is malformed.

    Returns
    -------
    str or None
        The 3- or 4-character code without dot, filler or marks; ``None`` when the value is not a code.

    Examples
    --------
    >>> from capitation.features.icd10 import normalise_icd10_code
    >>> [normalise_icd10_code(c) for c in ["I21.9", " i219 ", "J45X", "G01X-D", "M8000-", "I2"]]
    ['I219', 'I219', 'J45', 'G01', 'M800', None]
    """
    if isinstance(code, (bytes, np.bytes_)):
        code = bytes(code).decode("latin-1")
    if not isinstance(code, str):
        return None
    m = _CODE_RE.fullmatch(ascii_upper(code.strip()))  # str.upper would make 'ı21.9' I219
    if m is None:
        return None
    cat, fourth, fifth = m.group("cat", "fourth", "fifth")
    if fourth is None or fourth in _FILLERS:
        if fifth is not None and fifth != "-":
            return None  # a fifth-character digit needs a real fourth character
        return cat
    return cat + fourth


def _slot(code: str) -> int:
    """Index of a *normalised* code in the flat lookup table."""
    base = (ord(code[0]) - 65) * 100 * _SLOTS + int(code[1:3]) * _SLOTS
    return base if len(code) == 3 else base + _FOURTH_SLOT[code[3]]


def _check_on_malformed(on_malformed: object, caller: str) -> None:
    if on_malformed not in ("raise", "ignore"):
        raise InputError(f"The 'on_malformed' parameter of {caller} must be 'raise' or 'ignore'. "
                         f"Got {on_malformed!r} instead.")


# ----------------------------------------------------------------------------------------------------------
# Factorisation of the many input containers (done once per call; everything else works on unique values)
# ----------------------------------------------------------------------------------------------------------

class _Factorised(NamedTuple):
    codes: np.ndarray          # integer position of each record in `uniques`; -1 for a missing value
    uniques: list              # distinct raw values
    all_present: bool          # False for categoricals, whose categories may be unused


def _pandas_factorize(values: Any) -> _Factorised:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _Factorised(np.asarray(codes), list(uniques.tolist()), True)


def _factorise_packed(arr: np.ndarray) -> _Factorised | None:
    """Fixed-width ASCII strings of up to 8 characters, packed into uint64 keys (no Python objects)."""
    n = arr.shape[0]
    if arr.dtype.kind == "U":
        width = arr.dtype.itemsize // 4
        if width == 0 or width > 8:
            return None
        chars = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")).view(np.uint32).reshape(n, width)
        if n and int(chars.max()) > 127:
            return None
        encoding = "ascii"
    else:
        width = arr.dtype.itemsize
        if width == 0 or width > 8:
            return None
        chars = np.ascontiguousarray(arr).view(np.uint8).reshape(n, width)
        encoding = "latin-1"
    packed = np.zeros((n, 8), dtype=np.uint8)
    packed[:, :width] = chars
    codes, keys = pd.factorize(packed.view(np.uint64).reshape(n))
    key_bytes = np.ascontiguousarray(keys).view(np.uint8).reshape(-1, 8)
    uniques = [bytes(row).rstrip(b"\x00").decode(encoding) for row in key_bytes]
    return _Factorised(np.asarray(codes), uniques, True)


def _arrow_indices(chunk: Any) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    idx = chunk.indices
    if pa.types.is_unsigned_integer(idx.type):
        idx = idx.cast(pa.int64())
    if idx.null_count:
        idx = pc.fill_null(idx, -1)
    return idx.to_numpy(zero_copy_only=False)


def _factorise_arrow(values: Any, param: str, caller: str) -> _Factorised:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_dictionary(kind):
        encoded, all_present = values, False
        value_type = kind.value_type
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        encoded, all_present = pc.dictionary_encode(values), True
        value_type = kind
    else:
        raise SchemaError(f"The {param!r} parameter of {caller} must hold strings. Got a pyarrow array of "
                          f"type {kind} instead; cast it to string first.")
    if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)
            or pa.types.is_string_view(value_type)):
        raise SchemaError(f"The {param!r} parameter of {caller} must hold strings. Got a pyarrow dictionary "
                          f"of {value_type} values instead; cast it to string first.")
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries()
        if encoded.num_chunks == 0:
            return _Factorised(np.empty(0, np.int64), [], True)
        dictionary = encoded.chunk(0).dictionary
        codes = np.concatenate([_arrow_indices(c) for c in encoded.chunks])
    else:
        dictionary = encoded.dictionary
        codes = _arrow_indices(encoded)
    return _Factorised(codes, dictionary.to_pylist(), all_present)


def _factorise(values: Any, param: str, caller: str) -> _Factorised:
    if isinstance(values, (str, bytes)):
        raise SchemaError(f"The {param!r} parameter of {caller} must be a one-dimensional collection of codes. "
                          f"Got the single string {values!r} instead; wrap it in a list.")
    module = type(values).__module__
    if module.startswith("pyarrow"):
        return _factorise_arrow(values, param, caller)
    if isinstance(values, (pd.Series, pd.Index)) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if isinstance(values, pd.Categorical):
        return _Factorised(np.asarray(values.codes), values.categories.tolist(), False)
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        if not pd.api.types.is_string_dtype(values.dtype):
            raise SchemaError(f"The {param!r} parameter of {caller} must hold strings. Got dtype "
                              f"{values.dtype} instead; codes are text such as 'I21.9'.")
        return _pandas_factorize(values)
    if isinstance(values, (list, tuple)):
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
    elif isinstance(values, np.ndarray):
        arr = values
    else:
        raise SchemaError(f"The {param!r} parameter of {caller} must be a list, numpy array, pandas Series, "
                          f"Categorical or pyarrow array of codes. Got {type(values).__name__} instead.")
    if arr.ndim != 1:
        raise SchemaError(f"The {param!r} parameter of {caller} must be one-dimensional. Got shape "
                          f"{arr.shape} instead; pass one column of codes (use .ravel() for a matrix).")
    if arr.dtype.kind in "US":
        packed = _factorise_packed(arr)
        return packed if packed is not None else _pandas_factorize(arr.astype(object))
    if arr.dtype.kind == "O":
        return _pandas_factorize(arr)
    if arr.dtype.kind == "T":  # numpy's variable-width StringDType
        return _pandas_factorize(arr.astype(object))
    raise SchemaError(f"The {param!r} parameter of {caller} must hold strings. Got dtype {arr.dtype} instead; "
                      f"codes are text such as 'I21.9'.")


def _presence(f: _Factorised) -> np.ndarray:
    """Which unique values (and, in the last slot, the missing value) occur at least once."""
    k = len(f.uniques)
    if f.all_present:
        present = np.ones(k + 1, dtype=bool)
        present[k] = bool(f.codes.size) and bool((f.codes < 0).any())
    else:
        present = np.zeros(k + 1, dtype=bool)
        present[f.codes] = True  # -1 lands in the last slot
    return present


def _malformed_error(f: _Factorised, slots: np.ndarray, n_records: int, param: str, caller: str,
                     offset: int) -> UnknownCodeError:
    k = len(f.uniques)
    shown = []
    for i in slots[:3]:
        first = int(np.argmax(f.codes == i)) if i < k else int(np.argmax(f.codes < 0))
        value = f.uniques[i] if i < k else None
        shown.append(f"{value!r} at position {first + offset:,}")
    more = "" if len(slots) <= 3 else f" and {len(slots) - 3:,} more distinct value(s)"
    return UnknownCodeError(
        f"The {param!r} parameter of {caller} holds {n_records:,} record(s) ({len(slots):,} distinct "
        f"value(s)) that are not ICD-10 codes: {', '.join(shown)}{more} (0-based positions of the first record "
        f"of each). {_ACCEPTED} Missing values count as "
        "malformed. Correct or remove these records, or pass on_malformed='ignore' to give them the code -1 "
        "and count them in GroupedCodes.n_malformed."
    )


def normalise_icd10(codes: Any, *, on_malformed: Literal["raise", "ignore"] = "raise") -> np.ndarray:
    """Normalise many ICD-10 codes: upper case, no whitespace, no dot, no filler, no marks.

    The rules are in the module docstring. Each distinct value is parsed once, so long columns with few
    distinct codes are cheap.

    Parameters
    ----------
    codes : list, numpy array, pandas Series/Index/Categorical or pyarrow array
        One column of raw codes.
    on_malformed : {"raise", "ignore"}, default "raise"
        ``"raise"`` raises :class:`~capitation.errors.UnknownCodeError` naming the offending values and
        their positions; ``"ignore"`` returns ``""`` for them.

    Returns
    -------
    numpy.ndarray
        Normalised codes, dtype ``<U4``, same length as ``codes``.

    Raises
    ------
    UnknownCodeError
        A value is malformed and ``on_malformed="raise"``.
    SchemaError
        ``codes`` is not a one-dimensional collection of strings.

    Examples
    --------
    >>> from capitation.features.icd10 import normalise_icd10
    >>> normalise_icd10(["I21.9", "i219", "J45X", "N18.4"]).tolist()
    ['I219', 'I219', 'J45', 'N184']
    >>> normalise_icd10(["I21.9", "not a code"], on_malformed="ignore").tolist()
    ['I219', '']
    """
    caller = "normalise_icd10"
    _check_on_malformed(on_malformed, caller)
    f = _factorise(codes, "codes", caller)
    norms = [normalise_icd10_code(u) for u in f.uniques]
    lut = np.array([*(n or "" for n in norms), ""], dtype="<U4")
    if on_malformed == "raise":
        bad = np.array([n is None for n in norms] + [True])
        bad &= _presence(f)
        if bad.any():
            slots = np.flatnonzero(bad)
            n_bad = int(np.count_nonzero(bad.take(f.codes)))
            raise _malformed_error(f, slots, n_bad, "codes", caller, 0)
    return lut.take(f.codes)


# ----------------------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class GroupedCodes:
    """Group codes of a column of diagnosis records, with the count of everything that was not grouped.

    Attributes
    ----------
    codes : numpy.ndarray
        ``int32`` (read-only), one per record: the position of the record's group in ``groups``, or ``-1``
        when the code is ungrouped or malformed.
    groups : tuple of str
        Group ids of the grouping used, in code order.
    n_records, n_malformed, n_ungrouped : int
        Records in total, records whose value is not a code (including missing values), and records with a
        valid code that lies in no range. ``n_records = n_grouped + n_malformed + n_ungrouped``.
    n_malformed_distinct, n_ungrouped_distinct : int
        Distinct values behind the two counts.
    malformed_examples : tuple
        Up to ten distinct malformed raw values, in order of first appearance, with ``None`` (for missing
        values) after the others.
    ungrouped_examples : tuple of str
        Up to ten distinct ungrouped codes, normalised, in order of first appearance.
    grouping_sha256 : str
        :attr:`DiagnosisGrouping.sha256` of the grouping used.

    Examples
    --------
    >>> from capitation.features.icd10 import DiagnosisGrouping
    >>> res = DiagnosisGrouping.default().group_codes(["I21.9", "i219", "V01X", None, "XYZ"],
    ...                                               on_malformed="ignore")
    >>> res.codes.tolist(), res.n_grouped, res.n_ungrouped, res.n_malformed
    ([67, 67, -1, -1, -1], 2, 1, 2)
    >>> res.ungrouped_examples, res.malformed_examples
    (('V01',), ('XYZ', None))
    """

    codes: np.ndarray
    groups: tuple[str, ...]
    n_records: int
    n_malformed: int
    n_ungrouped: int
    n_malformed_distinct: int
    n_ungrouped_distinct: int
    malformed_examples: tuple
    ungrouped_examples: tuple[str, ...]
    grouping_sha256: str

    @property
    def n_grouped(self) -> int:
        """Records mapped to a group."""
        return self.n_records - self.n_malformed - self.n_ungrouped

    def to_categorical(self) -> pd.Categorical:
        """Return the group ids as a pandas Categorical (ungrouped and malformed records are missing).

        Returns
        -------
        pandas.Categorical
            One value per record; the categories are :attr:`groups`, in code order.

        Examples
        --------
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> res = DiagnosisGrouping.default().group_codes(["I48X", "V01X"])
        >>> res.to_categorical().tolist()
        ['atrial_fibrillation', nan]
        """
        return pd.Categorical.from_codes(self.codes, categories=pd.Index(self.groups, dtype=object))

    def __repr__(self) -> str:
        return (f"GroupedCodes(n_records={self.n_records:,}, n_grouped={self.n_grouped:,}, "
                f"n_ungrouped={self.n_ungrouped:,}, n_malformed={self.n_malformed:,}, "
                f"groups={len(self.groups)}, grouping_sha256={self.grouping_sha256[:12]}...)")


# ----------------------------------------------------------------------------------------------------------
# Grouping table
# ----------------------------------------------------------------------------------------------------------

class CodeRange(NamedTuple):
    """One row of a grouping table: an inclusive range of normalised codes and its group.

    Attributes
    ----------
    start, end : str
        First and last code of the range, normalised (no dot), both of 3 or both of 4 characters; a
        3-character range covers every 4-character code of its categories.
    group : str
        The group id the range maps to.
    chapter : str
        The ICD-10 chapter (documentation only; not part of the grouping's hash).
    rationale : str
        Why the codes are grouped so (documentation only; not part of the grouping's hash).

    Examples
    --------
    >>> from capitation.features.icd10 import DiagnosisGrouping
    >>> row = DiagnosisGrouping.default().explain("I21.9")
    >>> row.start, row.end, row.group
    ('I21', 'I24', 'ihd_acute_coronary')
    """

    start: str
    end: str
    group: str
    chapter: str = ""
    rationale: str = ""


def _describe(r: CodeRange) -> str:
    span = r.start if r.start == r.end else f"{r.start}-{r.end}"
    return f"group {r.group!r}, {span}"


def _check_ranges(ranges: Sequence[CodeRange], groups: Iterable[str], where: Callable[[int], str]) -> None:
    """Raise InputError on the first invalid or overlapping range, naming its row."""
    known = set(groups)
    for i, r in enumerate(ranges):
        for name, value in (("start", r.start), ("end", r.end)):
            if not isinstance(value, str) or _NORMAL_RE.fullmatch(value) is None:
                hint = ""
                if isinstance(value, str) and normalise_icd10_code(value):
                    hint = f" Write it as {normalise_icd10_code(value)!r}."
                raise InputError(f"The '{name}' of {where(i)} must be a normalised ICD-10 code (a letter, two "
                                 f"digits and an optional fourth character other than X, no dot). Got {value!r} "
                                 f"instead.{hint}")
        if len(r.start) != len(r.end):
            raise InputError(f"The 'start' {r.start!r} and 'end' {r.end!r} of {where(i)} must have the same "
                             "length (both 3 or both 4 characters). Split the range at the category boundary.")
        if r.start > r.end:
            raise InputError(f"The 'start' of {where(i)} must not come after its 'end'. Got {r.start!r} > "
                             f"{r.end!r}; swap them.")
        if len(r.start) == 4 and r.start[:3] != r.end[:3]:
            raise InputError(f"A 4-character range must stay within one 3-character category, but {where(i)} "
                             f"runs from {r.start!r} to {r.end!r}. Split it into one range per category, or "
                             "use a 3-character range.")
        if r.group not in known:
            raise InputError(f"The 'group' of {where(i)} is {r.group!r}, which is not among the groups of "
                             "the table. Add the group or correct the id.")
    for length in (3, 4):
        order = sorted((i for i, r in enumerate(ranges) if len(r.start) == length),
                       key=lambda i: (ranges[i].start, ranges[i].end))
        widest = None
        for i in order:
            r = ranges[i]
            if widest is not None and r.start <= ranges[widest].end:
                w = ranges[widest]
                raise InputError(
                    f"{where(widest)} ({_describe(w)}) and {where(i)} ({_describe(r)}) overlap from {r.start} "
                    f"to {min(r.end, w.end)}. Ranges of the same length must not overlap: a code may lie in a "
                    "3-character range and in a 4-character range carved out of it (the 4-character range "
                    "wins), never in two ranges of the same length. Split or remove one of the ranges.")
            if widest is None or r.end > ranges[widest].end:
                widest = i


def _canonical_text(groups, labels, families, ranks, ranges) -> str:
    lines = [_FORMAT]
    for g, lab, fam, rk in zip(groups, labels, families, ranks, strict=True):
        lines.append(f"group\t{g}\t{lab}\t{fam or ''}\t{'' if rk is None else rk}")
    for r in sorted(ranges, key=lambda r: (r.start, r.end, r.group)):
        lines.append(f"range\t{r.start}\t{r.end}\t{r.group}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DiagnosisGrouping:
    """A validated mapping of ICD-10 code ranges to morbidity groups, with a fast grouper.

    Build one with :meth:`default` (the shipped table), :meth:`from_csv` or :meth:`from_frame`; the
    constructor itself validates too. Instances are immutable and hashable; equal tables have equal
    :attr:`sha256`. Each instance keeps a private, bounded cache from raw value to group that persists
    across calls, so grouping a stream of chunks parses each distinct code once.

    Parameters
    ----------
    groups : tuple of str
        Group ids, in the order that defines the integer group codes.
    labels : tuple of str
        A plain-English label per group.
    ranges : tuple of CodeRange
        The range table (normalised codes, inclusive). See the module docstring for the precedence rule.
    families : tuple of (str or None), optional
        Hierarchy family per group (``None``: not in a hierarchy). Defaults to no hierarchies.
    severity_ranks : tuple of (int or None), optional
        Rank within the family, 1 = most severe. Set exactly when ``families`` is set, unique per family.

    Attributes
    ----------
    sha256 : str
        SHA-256 of the canonical table content: format version, groups in order with label, family and
        rank, and the ranges sorted by code. Row order within the table, ``chapter`` and ``rationale`` are
        documentation and do not change it.

    Examples
    --------
    >>> from capitation.features.icd10 import DiagnosisGrouping
    >>> grouping = DiagnosisGrouping.default()
    >>> len(grouping.groups)
    154
    >>> res = grouping.group_codes(["I21.9", "i219", "J45X", "V01X", "N18.4"])
    >>> [grouping.groups[c] if c >= 0 else None for c in res.codes]
    ['ihd_acute_coronary', 'ihd_acute_coronary', 'asthma', None, 'ckd_stage4']
    >>> res.n_ungrouped, res.ungrouped_examples
    (1, ('V01',))
    """

    groups: tuple[str, ...]
    labels: tuple[str, ...]
    ranges: tuple[CodeRange, ...]
    families: tuple[str | None, ...] | None = None
    severity_ranks: tuple[int | None, ...] | None = None
    sha256: str = field(init=False)

    # -- construction --------------------------------------------------------------------------------------

    def __post_init__(self) -> None:
        put = functools.partial(object.__setattr__, self)
        groups = tuple(self.groups)
        n = len(groups)
        families = (None,) * n if self.families is None else tuple(self.families)
        ranks = (None,) * n if self.severity_ranks is None else tuple(self.severity_ranks)
        try:
            ranges = tuple(CodeRange(*r) for r in self.ranges)
        except TypeError as exc:
            raise SchemaError(f"The 'ranges' parameter of DiagnosisGrouping must be a sequence of CodeRange "
                              f"(start, end, group[, chapter, rationale]). {exc}") from None
        put("groups", groups)
        put("labels", tuple(self.labels))
        put("ranges", ranges)
        put("families", families)
        put("severity_ranks", ranks)
        _check_groups(groups, self.labels, families, ranks)
        _check_ranges(ranges, groups, lambda i: f"ranges[{i}]")
        covered = {r.group for r in ranges}
        empty = [g for g in groups if g not in covered]
        if empty:
            raise InputError(f"Every group needs at least one range; {empty[:5]} have no ranges. Add ranges or "
                             "drop these groups.")
        text = _canonical_text(groups, self.labels, families, ranks, ranges)
        put("sha256", hashlib.sha256(text.encode("utf-8")).hexdigest())
        self._build()

    def _build(self) -> None:
        index = {g: i for i, g in enumerate(self.groups)}
        table = np.full(_UNIVERSE, UNGROUPED, dtype=np.int32)
        row_of = np.full(_UNIVERSE, -1, dtype=np.int32)
        for length in (3, 4):  # 4-character ranges are written last: the most specific range wins
            for i, r in enumerate(self.ranges):
                if len(r.start) != length:
                    continue
                if length == 3:
                    lo, hi = _slot(r.start), _slot(r.end) + _SLOTS
                else:
                    lo, hi = _slot(r.start), _slot(r.end) + 1
                table[lo:hi] = index[r.group]
                row_of[lo:hi] = i
        members: dict[str, list[tuple[int, int]]] = {}
        for i, (fam, rk) in enumerate(zip(self.families, self.severity_ranks, strict=True)):
            if fam is not None:
                members.setdefault(fam, []).append((rk, i))
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_row_of", row_of)
        object.__setattr__(self, "_hierarchy", {f: tuple(i for _, i in sorted(m)) for f, m in members.items()})
        object.__setattr__(self, "_cache", {})

    def __getstate__(self) -> dict:
        return {"groups": self.groups, "labels": self.labels, "ranges": self.ranges,
                "families": self.families, "severity_ranks": self.severity_ranks, "sha256": self.sha256}

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "ranges", tuple(CodeRange(*r) for r in self.ranges))
        self._build()

    def __repr__(self) -> str:
        return (f"DiagnosisGrouping({len(self.groups)} groups, {len(self.ranges)} ranges, "
                f"sha256={self.sha256[:12]}...)")

    @classmethod
    def default(cls) -> DiagnosisGrouping:
        """Return the grouping shipped with capitation (``features/data/icd10_groups.csv``).

        The same instance is returned on every call, so its cache of parsed codes is shared.

        Returns
        -------
        DiagnosisGrouping
            154 groups, documented in ``docs/icd10-grouping.md``.

        Examples
        --------
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> DiagnosisGrouping.default() is DiagnosisGrouping.default()
        True
        """
        return _default_grouping()

    @classmethod
    def from_csv(cls, path_or_buffer: Any) -> DiagnosisGrouping:
        r"""Load a grouping from a CSV file or buffer.

        Parameters
        ----------
        path_or_buffer : str, path or file-like
            A CSV with the columns described in :meth:`from_frame`. Cells are read as text; empty cells are
            missing.

        Returns
        -------
        DiagnosisGrouping

        Raises
        ------
        SchemaError
            A required column is missing or the file is not CSV.
        InputError
            A row is invalid; the message names its line.

        Examples
        --------
        >>> import io
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> csv = "group,code\nmi,I21\nmi,I22\nckd45,N184\nckd45,N185\n"
        >>> g = DiagnosisGrouping.from_csv(io.StringIO(csv))
        >>> g.group_codes(["I21.4", "N18.5", "N18.3"]).codes.tolist()
        [0, 1, -1]
        """
        if isinstance(path_or_buffer, str) or hasattr(path_or_buffer, "__fspath__"):
            name = str(path_or_buffer)
        else:
            name = str(getattr(path_or_buffer, "name", None) or "the CSV buffer")
        try:
            frame = pd.read_csv(path_or_buffer, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise SchemaError(f"The 'path_or_buffer' parameter of DiagnosisGrouping.from_csv must be a CSV "
                              f"table; {name} could not be read: {exc}") from None
        return cls._from_frame(frame, lambda i: f"line {i + 2} of {name}")

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> DiagnosisGrouping:
        """Build a grouping from a table, one row per code or code range.

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns:

            * ``group`` (required): the group id. Groups are numbered in order of first appearance.
            * either ``code`` (one code per row) or ``start`` and ``end`` (an inclusive range). Codes may
              be written in any accepted spelling (``I21.9``, ``J45X``); they are normalised. Both ends of a
              range must have the same length, and a 4-character range must stay within one category.
            * optional: ``label`` (defaults to the id), ``family`` and ``severity_rank`` (hierarchies; 1 is
              the most severe), ``chapter`` and ``rationale`` (documentation). A group's label, family and
              rank may be given on any of its rows, but must not conflict.

        Returns
        -------
        DiagnosisGrouping

        Raises
        ------
        SchemaError
            Required columns are missing or ambiguous.
        InputError
            A row is invalid or two ranges of the same length overlap; the message names the rows.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> table = pd.DataFrame({"group": ["kidney", "ckd_late"], "start": ["N17", "N18.4"],
        ...                       "end": ["N19", "N18.5"]})
        >>> g = DiagnosisGrouping.from_frame(table)
        >>> [g.groups[c] for c in g.group_codes(["N184", "N183", "N17X"]).codes]
        ['ckd_late', 'kidney', 'kidney']
        """
        return cls._from_frame(frame, lambda i: f"row {i}")

    @classmethod
    def _from_frame(cls, frame: Any, where: Callable[[int], str]) -> DiagnosisGrouping:
        caller = "DiagnosisGrouping.from_frame"
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"The 'frame' parameter of {caller} must be a pandas DataFrame. Got "
                              f"{type(frame).__name__} instead.")
        columns = [str(c) for c in frame.columns]
        if len(set(columns)) != len(columns):
            raise SchemaError(f"The table given to {caller} has duplicate column names: {columns}.")
        if "group" not in columns:
            raise SchemaError(f"The table given to {caller} must have a 'group' column. Found {columns}.")
        has_code = "code" in columns
        if has_code and ("start" in columns or "end" in columns):
            raise SchemaError(f"The table given to {caller} has both 'code' and 'start'/'end' columns; keep "
                              "either 'code' (single codes) or 'start' and 'end' (ranges).")
        if not has_code and not ("start" in columns and "end" in columns):
            raise SchemaError(f"The table given to {caller} must have a 'code' column or both 'start' and "
                              f"'end' columns. Found {columns}.")
        frame = frame.set_axis(columns, axis=1)

        def column(name: str) -> list[str | None]:
            if name not in columns:
                return [None] * len(frame)
            out: list[str | None] = []
            for v in frame[name].tolist():
                if v is None or (not isinstance(v, str) and pd.isna(v)):
                    out.append(None)
                else:
                    out.append(str(v).strip() or None)
            return out

        group_col = column("group")
        start_col = column("code" if has_code else "start")
        end_col = column("code" if has_code else "end")
        label_col, family_col, rank_col = column("label"), column("family"), column("severity_rank")
        chapter_col, why_col = column("chapter"), column("rationale")

        order: list[str] = []
        attrs: dict[str, dict[str, tuple[Any, int]]] = {}
        ranges = []
        for i in range(len(frame)):
            g = group_col[i]
            if g is None:
                raise InputError(f"The 'group' of {where(i)} is empty; every row needs a group id.")
            ends = []
            for name, raw in (("code" if has_code else "start", start_col[i]),
                              ("code" if has_code else "end", end_col[i])):
                code = normalise_icd10_code(raw) if raw is not None else None
                if code is None:
                    raise InputError(f"The {name!r} of {where(i)} must be an ICD-10 code. Got {raw!r} instead. "
                                     f"{_ACCEPTED}")
                ends.append(code)
            rank: int | None = None
            if rank_col[i] is not None:
                try:
                    as_float = float(rank_col[i])
                except ValueError:
                    as_float = float("nan")
                if not as_float.is_integer() or as_float < 1:
                    raise InputError(f"The 'severity_rank' of {where(i)} must be a whole number of at least 1 "
                                     f"(1 = most severe). Got {rank_col[i]!r} instead.")
                rank = int(as_float)
            if g not in attrs:
                order.append(g)
                attrs[g] = {}
            for key, value in (("label", label_col[i]), ("family", family_col[i]), ("severity_rank", rank)):
                if value is None:
                    continue
                seen = attrs[g].get(key)
                if seen is not None and seen[0] != value:
                    raise InputError(f"Group {g!r} has conflicting {key} values: {seen[0]!r} at {where(seen[1])} "
                                     f"and {value!r} at {where(i)}. Give each group one {key}.")
                attrs[g].setdefault(key, (value, i))
            ranges.append(CodeRange(ends[0], ends[1], g, chapter_col[i] or "", why_col[i] or ""))
        if not ranges:
            raise InputError(f"The table given to {caller} has no rows; a grouping needs at least one range.")

        def attr(g: str, key: str, default: Any) -> Any:
            return attrs[g][key][0] if key in attrs[g] else default

        labels = tuple(attr(g, "label", g) for g in order)
        families = tuple(attr(g, "family", None) for g in order)
        ranks = tuple(attr(g, "severity_rank", None) for g in order)
        first_row = {}
        for i, r in enumerate(ranges):
            first_row.setdefault(r.group, i)
        _check_groups(tuple(order), labels, families, ranks, lambda g: where(first_row[g]))
        _check_ranges(ranges, order, where)
        return cls(groups=tuple(order), labels=labels, ranges=tuple(ranges), families=families,
                   severity_ranks=ranks)

    # -- inspection ----------------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Return the range table, one row per range, in the columns :meth:`from_frame` reads.

        Returns
        -------
        pandas.DataFrame
            Columns ``group``, ``label``, ``chapter``, ``start``, ``end``, ``severity_rank`` (nullable
            integer), ``family``, ``rationale``.

        Examples
        --------
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> frame = DiagnosisGrouping.default().to_frame()
        >>> frame.loc[frame.group == "ckd_stage4", ["start", "end", "family", "severity_rank"]].values.tolist()
        [['N184', 'N184', 'ckd', 3]]
        """
        index = {g: i for i, g in enumerate(self.groups)}
        rows = [(r.group, self.labels[index[r.group]], r.chapter, r.start, r.end,
                 self.severity_ranks[index[r.group]], self.families[index[r.group]], r.rationale)
                for r in self.ranges]
        frame = pd.DataFrame(rows, columns=["group", "label", "chapter", "start", "end", "severity_rank",
                                            "family", "rationale"])
        frame["severity_rank"] = frame["severity_rank"].astype("Int64")
        return frame

    def overrides(self) -> list[tuple[CodeRange, CodeRange]]:
        """List the carve-outs: each 4-character range lying inside a 3-character range of another group.

        Returns
        -------
        list of (CodeRange, CodeRange)
            ``(specific, broad)`` pairs; within them the specific range wins.

        Examples
        --------
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> pairs = DiagnosisGrouping.default().overrides()
        >>> [(s.start, b.start, b.end) for s, b in pairs if s.group == "ckd_stage4"]
        [('N184', 'N18', 'N18')]
        """
        broad = [r for r in self.ranges if len(r.start) == 3]
        out = []
        for r in self.ranges:
            if len(r.start) == 4:
                for b in broad:
                    if b.start <= r.start[:3] <= b.end and b.group != r.group:
                        out.append((r, b))
        return out

    def explain(self, code: str) -> CodeRange | None:
        """Find the range that decides the group of one code, or ``None`` if the code is ungrouped.

        Parameters
        ----------
        code : str
            One code in any accepted spelling.

        Returns
        -------
        CodeRange or None
            The 4-character range when one covers the code (it wins over a 3-character one), else the
            3-character range, else ``None``.

        Raises
        ------
        UnknownCodeError
            ``code`` is malformed.

        Examples
        --------
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> DiagnosisGrouping.default().explain("I11.0").group
        'heart_failure'
        """
        norm = normalise_icd10_code(code)
        if norm is None:
            raise UnknownCodeError(f"The 'code' parameter of DiagnosisGrouping.explain must be an ICD-10 code. "
                                   f"Got {code!r} instead. {_ACCEPTED}")
        row = int(self._row_of[_slot(norm)])
        return None if row < 0 else self.ranges[row]

    @property
    def hierarchies(self) -> dict[str, tuple[str, ...]]:
        """Group ids of each hierarchy family, most severe first."""
        return {f: tuple(self.groups[i] for i in m) for f, m in self._hierarchy.items()}

    def apply_hierarchy(self, flags: Any) -> np.ndarray:
        """Switch off milder groups of a family for people who have a more severe one.

        Parameters
        ----------
        flags : array-like of bool, shape (n_people, n_groups)
            Person-by-group indicator matrix, columns in :attr:`groups` order.

        Returns
        -------
        numpy.ndarray of bool
            A new matrix: in each family, only the most severe flagged group stays on.

        Raises
        ------
        SchemaError
            ``flags`` does not have one column per group.

        Examples
        --------
        >>> import numpy as np
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> g = DiagnosisGrouping.default()
        >>> flags = np.zeros((1, len(g.groups)), dtype=bool)
        >>> flags[0, [g.groups.index("ckd_stage3"), g.groups.index("ckd_stage5")]] = True
        >>> [g.groups[j] for j in np.flatnonzero(g.apply_hierarchy(flags)[0])]
        ['ckd_stage5']
        """
        f = np.asarray(flags)
        if f.ndim != 2 or f.shape[1] != len(self.groups):
            raise SchemaError(f"The 'flags' parameter of DiagnosisGrouping.apply_hierarchy must have shape "
                              f"(n_people, {len(self.groups)}). Got shape {f.shape} instead.")
        f = f.astype(bool)
        out = f.copy()
        for members in self._hierarchy.values():
            seen = np.zeros(f.shape[0], dtype=bool)
            for j in members:
                out[:, j] &= ~seen
                seen |= f[:, j]
        return out

    # -- grouping ------------------------------------------------------------------------------------------

    def _lookup(self, uniques: list) -> np.ndarray:
        """Look up the internal codes (group, UNGROUPED or _MALFORMED) of the unique raw values, plus a missing slot."""
        cache = self._cache
        if len(cache) > _CACHE_MAX:
            cache.clear()
        table = self._table
        out = np.empty(len(uniques) + 1, dtype=np.int32)
        for i, raw in enumerate(uniques):
            try:
                value = cache.get(raw)
            except TypeError:  # unhashable value
                value, raw = _MALFORMED, None
            if value is None:
                norm = normalise_icd10_code(raw)
                value = _MALFORMED if norm is None else int(table[_slot(norm)])
                if raw is not None:
                    cache[raw] = value
            out[i] = value
        out[-1] = _MALFORMED
        return out

    def group_codes(self, codes: Any, *, on_malformed: Literal["raise", "ignore"] = "raise") -> GroupedCodes:
        """Map diagnosis records to group codes.

        The input is factorised once; only its distinct values are parsed and looked up (through a cache
        that persists across calls), then one integer ``take`` writes the result. pandas Categoricals and
        pyarrow dictionary arrays are used as they are, without re-factorising.

        Parameters
        ----------
        codes : list, numpy array, pandas Series/Index/Categorical or pyarrow (dictionary) array
            One column of raw ICD-10 codes, one per record.
        on_malformed : {"raise", "ignore"}, default "raise"
            What to do with values that are not ICD-10 codes (including missing values): raise
            :class:`~capitation.errors.UnknownCodeError` naming them, or give them ``-1`` and count them.
            Valid codes in no range are never an error: they get ``-1`` and are counted as ungrouped.

        Returns
        -------
        GroupedCodes
            ``int32`` codes into :attr:`groups` and the counts of ungrouped and malformed records.

        Raises
        ------
        UnknownCodeError
            Malformed values and ``on_malformed="raise"``.
        SchemaError
            ``codes`` is not a one-dimensional collection of strings.

        Examples
        --------
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> g = DiagnosisGrouping.default()
        >>> res = g.group_codes(["J44.1", "J44.9", "", "Z99.2"], on_malformed="ignore")
        >>> [g.groups[c] if c >= 0 else None for c in res.codes]
        ['copd_exacerbation', 'copd', None, 'dialysis']
        >>> res.n_malformed, res.malformed_examples
        (1, ('',))
        """
        return self._group(codes, on_malformed, 0, "DiagnosisGrouping.group_codes")

    def iter_group_chunks(self, batches: Iterable[Any], *,
                          on_malformed: Literal["raise", "ignore"] = "raise") -> Iterator[GroupedCodes]:
        """Group a stream of batches, one :class:`GroupedCodes` per batch.

        The cache of parsed codes is shared by all batches, and record positions in error messages count
        from the start of the stream.

        Parameters
        ----------
        batches : iterable
            Batches accepted by :meth:`group_codes` (e.g. one column of each Parquet record batch).
        on_malformed : {"raise", "ignore"}, default "raise"
            As in :meth:`group_codes`.

        Yields
        ------
        GroupedCodes

        Examples
        --------
        >>> from capitation.features.icd10 import DiagnosisGrouping
        >>> g = DiagnosisGrouping.default()
        >>> [r.n_grouped for r in g.iter_group_chunks([["I10X", "E11.9"], ["C50.9"]])]
        [2, 1]
        """
        caller = "DiagnosisGrouping.iter_group_chunks"
        _check_on_malformed(on_malformed, caller)
        offset = 0
        for batch in batches:
            result = self._group(batch, on_malformed, offset, caller)
            offset += result.n_records
            yield result

    def _group(self, codes: Any, on_malformed: str, offset: int, caller: str) -> GroupedCodes:
        _check_on_malformed(on_malformed, caller)
        f = _factorise(codes, "codes", caller)
        lut = self._lookup(f.uniques)
        out = np.maximum(lut, UNGROUPED).take(f.codes)
        n = int(out.size)
        n_bad = n - int(np.count_nonzero(out >= 0)) if n else 0
        n_malformed = n_ungrouped = n_mal_distinct = n_ung_distinct = 0
        malformed: tuple = ()
        ungrouped: tuple[str, ...] = ()
        if n_bad:
            present = _presence(f)
            mal_slots = lut == _MALFORMED
            mal_present = np.flatnonzero(mal_slots & present)
            ung_present = np.flatnonzero((lut == UNGROUPED) & present)
            if mal_present.size:
                n_malformed = int(np.count_nonzero(mal_slots.take(f.codes)))
                if on_malformed == "raise":
                    raise _malformed_error(f, mal_present, n_malformed, "codes", caller, offset)
            n_ungrouped = n_bad - n_malformed
            n_mal_distinct, n_ung_distinct = int(mal_present.size), int(ung_present.size)
            k = len(f.uniques)
            malformed = tuple(f.uniques[i] if i < k else None for i in mal_present[:_N_EXAMPLES])
            ungrouped = tuple(normalise_icd10_code(f.uniques[i]) for i in ung_present[:_N_EXAMPLES])
        out.flags.writeable = False
        return GroupedCodes(codes=out, groups=self.groups, n_records=n, n_malformed=n_malformed,
                            n_ungrouped=n_ungrouped, n_malformed_distinct=n_mal_distinct,
                            n_ungrouped_distinct=n_ung_distinct, malformed_examples=malformed,
                            ungrouped_examples=ungrouped, grouping_sha256=self.sha256)


def _check_groups(groups: tuple, labels: Sequence, families: tuple, ranks: tuple,
                  where: Callable[[str], str] | None = None) -> None:
    def at(g: str) -> str:
        return f" ({where(g)})" if where is not None else ""

    for name, seq in (("labels", labels), ("families", families), ("severity_ranks", ranks)):
        if len(seq) != len(groups):
            raise SchemaError(f"The '{name}' parameter of DiagnosisGrouping must have one entry per group "
                              f"({len(groups)}). Got {len(seq)} instead.")
    seen: set[str] = set()
    for g in groups:
        if not isinstance(g, str) or not g.strip() or g != g.strip():
            raise InputError(f"Group ids must be non-empty strings without surrounding spaces. Got {g!r}.")
        if g in seen:
            raise InputError(f"Group ids must be unique; {g!r} appears twice in 'groups'.")
        seen.add(g)
    for g, lab in zip(groups, labels, strict=True):
        if not isinstance(lab, str) or not lab.strip():
            raise InputError(f"The label of group {g!r}{at(g)} must be a non-empty string. Got {lab!r}.")
    by_family: dict[str, dict[int, str]] = {}
    for g, fam, rk in zip(groups, families, ranks, strict=True):
        if (fam is None) != (rk is None):
            raise InputError(f"Group {g!r}{at(g)} has a family without a severity_rank or the reverse "
                             f"(family={fam!r}, severity_rank={rk!r}). Give both or neither.")
        if fam is None:
            continue
        if not isinstance(rk, (int, np.integer)) or isinstance(rk, bool) or rk < 1:
            raise InputError(f"The severity_rank of group {g!r}{at(g)} must be a whole number of at least 1. "
                             f"Got {rk!r}.")
        ranked = by_family.setdefault(fam, {})
        if int(rk) in ranked:
            raise InputError(f"Groups {ranked[int(rk)]!r} and {g!r}{at(g)} share severity_rank {rk} in family "
                             f"{fam!r}. Ranks must be unique within a family.")
        ranked[int(rk)] = g


@functools.cache
def _default_grouping() -> DiagnosisGrouping:
    source = resources.files("capitation.features").joinpath(_DEFAULT_RESOURCE)
    with source.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return DiagnosisGrouping._from_frame(frame, lambda i: f"line {i + 2} of capitation/features/{_DEFAULT_RESOURCE}")
