"""CMS-HCC risk scores from beneficiaries and their diagnoses, exact in integer thousandths.

:func:`score` checks the tables, maps every diagnosis to its condition categories through a prepared lookup
(integer codes, never Python per record), and runs one compiled kernel over the people, a range of people per
task (:func:`capitation._config.parallel_for`), so the scores do not depend on the number of threads. Every
diagnosis record not used is counted under exactly one reason (:attr:`CmsHccScores.diagnoses_report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._config import parallel_for, readonly
from .._results import Result, text_table
from .._validation import describe_rows, factorize_column, may_hold_text
from ..errors import InputError, SchemaError
from .inputs import Beneficiaries, diagnosis_columns, match_kinds, read_beneficiaries
from .rules import (
    _MALFORMED,
    _MANDATORY,
    _MCE,
    _NEW,
    _NO_HCC,
    _OTHER_YEAR,
    _REMAPPED,
    _UNKNOWN,
    _USED,
    REASONS,
    payment_thousandths,
)
from .tables import (
    NEW_ENROLLEE_SEGMENTS,
    SEGMENTS,
    HccTables,
    check_model_year,
    is_code_shape,
    model_tables,
    normalise_codes,
)

__all__ = ["REASONS", "CmsHccDesign", "CmsHccScores", "payment_thousandths", "score"]

#: People scored per task: enough to hide the call's overhead, small enough to balance two cores.
PEOPLE_PER_TASK = 1 << 16

@dataclass(frozen=True, eq=False, repr=False)
class CmsHccDesign(Result):
    """The scoring as a sparse design × factor vector: person × (segment, variable), one entry per term.

    ``raw = X @ factors`` (thousandths) through the package's CSR scoring kernel
    (:meth:`score`), the same numbers as :attr:`CmsHccScores.raw_thousandths`.

    Attributes
    ----------
    indptr, indices, data : ndarray
        The CSR arrays (int64, int32, float64 ones).
    factors : ndarray of float64
        Segment-major factors in thousandths (exact integers as floats): column ``s * V + v`` is variable
        ``v`` of segment ``s``.
    columns : tuple of str
        ``"CNA:HCC37"``, … for every column.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import score
    >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
    ...                        "lti": [0], "new_enrollee": [0]})
    >>> design = score(people, pd.DataFrame({"person_id": [1], "icd10": ["E1169"]})).design()
    >>> design.indptr.tolist(), design.factors[design.indices].tolist()
    ([0, 3], [396.0, 166.0, 0.0])
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    factors: np.ndarray
    columns: tuple

    def score(self) -> np.ndarray:
        """Raw scores in thousandths, ``X @ factors`` by the package's CSR scoring kernel.

        Returns
        -------
        ndarray of int64

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import score
        >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
        ...                        "lti": [0], "new_enrollee": [0]})
        >>> result = score(people, pd.DataFrame({"person_id": [1], "icd10": ["E11.69"]}))
        >>> result.design().score().tolist(), result.raw_thousandths.tolist()
        ([562], [562])
        """
        from .._compute import score_csr

        out = np.empty(len(self.indptr) - 1)
        score_csr(readonly(self.indptr), readonly(self.indices), readonly(self.data), readonly(self.factors), out)
        return np.rint(out).astype(np.int64)

    def summary(self) -> str:
        """One line: rows, columns and entries.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import score
        >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
        ...                        "lti": [0], "new_enrollee": [0]})
        >>> score(people, None).design().summary()
        'CMS-HCC design: 1 people × 2,448 (segment, variable) columns, 1 entries'
        """
        return (f"CMS-HCC design: {len(self.indptr) - 1:,} people × {len(self.columns):,} (segment, variable) "
                f"columns, {len(self.indices):,} entries")

    def _frame(self) -> pd.DataFrame:
        rows = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        return pd.DataFrame({"row": rows, "column": np.asarray(self.columns, dtype=object)[self.indices],
                             "factor": self.factors[self.indices] / 1000})


@dataclass(frozen=True, eq=False, repr=False)
class CmsHccScores(Result):
    """CMS-HCC raw and payment scores, one per beneficiary, with the record of what was and was not used.

    Attributes
    ----------
    model, payment_year : str, int
        The model and payment year whose tables scored them.
    segment_rule : str
        ``"derived"`` or the fixed segment everyone was scored in.
    mce_edits : bool
        Whether MCE age edits were applied.
    person_id : ndarray
        The beneficiaries, in the order of the table given.
    segment : ndarray of int8
        Each person's segment, a position in :data:`~capitation.cms_hcc.tables.SEGMENTS`.
    raw_thousandths, payment_thousandths : ndarray of int64
        Exact raw scores and payment scores (:func:`payment_thousandths`), in thousandths.
    hcc_words : ndarray of uint64
        n × 2: each person's payment HCCs after hierarchies, bit ``k`` for the ``k``-th HCC of the model.
    diagnoses_report : pandas.DataFrame
        One line per reason of :data:`REASONS`: ``records``, ``codes`` (distinct) and ``examples``.
    tables : HccTables
        The prepared tables.
    provenance : Provenance
        Library version.

    The arrays are the result's own, shared: :meth:`to_frame` gives a table to edit.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import score
    >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
    ...                        "lti": [0], "new_enrollee": [0]})
    >>> result = score(people, pd.DataFrame({"person_id": [1], "icd10": ["E1169"]}))
    >>> result.raw_thousandths.tolist(), result.payment_thousandths.tolist(), result.segments.tolist()
    ([562], [496], ['CNA'])
    """

    model: str
    payment_year: int
    segment_rule: str
    mce_edits: bool
    person_id: np.ndarray
    segment: np.ndarray
    raw_thousandths: np.ndarray
    payment_thousandths: np.ndarray
    hcc_words: np.ndarray
    diagnoses_report: pd.DataFrame
    tables: HccTables = field(repr=False)
    _people: Beneficiaries = field(repr=False)
    _dx_ptr: np.ndarray = field(repr=False)
    _dx_code: np.ndarray = field(repr=False)
    _unused: dict = field(repr=False)

    @property
    def raw_score(self) -> np.ndarray:
        """Raw scores as floats with three decimals (``raw_thousandths / 1000``)."""
        return self.raw_thousandths / 1000

    @property
    def payment_score(self) -> np.ndarray:
        """Payment scores as floats with three decimals."""
        return self.payment_thousandths / 1000

    @property
    def segments(self) -> np.ndarray:
        """Each person's segment by name (``"CNA"``, ``"INS"``, ...)."""
        return np.asarray(SEGMENTS, dtype=object)[self.segment]

    def hccs(self) -> np.ndarray:
        """Each person's payment HCCs after hierarchies, ``;``-joined (``"HCC37;HCC226"``; ``""`` for none).

        New enrollees have none: they are scored on demographics only.

        Returns
        -------
        ndarray of object

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import score
        >>> people = pd.DataFrame({"person_id": [1, 2], "age": [70, 80], "sex": ["M", "F"], "orec": [0, 0],
        ...                        "dual_status": ["non", "non"], "lti": [0, 0], "new_enrollee": [0, 0]})
        >>> dx = pd.DataFrame({"person_id": [1, 1], "icd10": ["I50.9", "E11.69"]})
        >>> score(people, dx).hccs().tolist()
        ['HCC37;HCC226', '']
        """
        w0, w1 = self.hcc_words[:, 0], self.hcc_words[:, 1]
        c0, u0 = pd.factorize(w0)
        c1, u1 = pd.factorize(w1)
        combined, first = pd.factorize(c0.astype(np.int64) * len(u1) + c1)
        names = [f"HCC{h}" for h in self.tables.hcc_numbers]
        labels = []
        for key in first:
            words = (int(u0[key // len(u1)]), int(u1[key % len(u1)]))
            labels.append(";".join(names[k] for k in range(len(names)) if (words[k // 64] >> (k % 64)) & 1))
        return np.asarray(labels, dtype=object)[combined]

    def _frame(self) -> pd.DataFrame:
        return pd.DataFrame({"person_id": self.person_id, "segment": self.segments, "raw_score": self.raw_score,
                             "payment_score": self.payment_score, "hccs": self.hccs()})

    def summary(self) -> str:
        r"""Describe the scores: headline, people by segment, and what became of every diagnosis record.

        Returns
        -------
        str
            The headline (model, year, people, mean raw and payment scores), the segments, then the records.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import score
        >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
        ...                        "lti": [0], "new_enrollee": [0]})
        >>> print(score(people, None).summary().splitlines()[0].replace(", mean", ",\n mean"))
        CMS-HCC V28 payment year 2026: 1 people (segments derived, MCE edits on),
         mean raw score 0.396,
         mean payment score 0.349
        """
        n = len(self.person_id)
        mean = (lambda a: f"{a.sum() / n / 1000:.3f}") if n else (lambda a: "-")
        head = (f"CMS-HCC {self.model} payment year {self.payment_year}: {n:,} people (segments "
                f"{self.segment_rule}, MCE edits {'on' if self.mce_edits else 'off'}), mean raw score "
                f"{mean(self.raw_thousandths)}, mean payment score {mean(self.payment_thousandths)}")
        counts = np.bincount(self.segment, minlength=len(SEGMENTS))
        segs = ", ".join(f"{s} {c:,}" for s, c in zip(SEGMENTS, counts, strict=True) if c)
        report = self.diagnoses_report.reset_index()
        report = report[report["records"] > 0]
        lines = [head, f"people by segment: {segs or 'none'}",
                 f"diagnosis records: {int(self.diagnoses_report['records'].sum()):,}"]
        if len(report):
            lines.append(text_table(report.astype(str), left=1))
        return "\n".join(lines)

    def design(self) -> CmsHccDesign:
        """Build the scoring as a CSR design × factor vector (see :class:`CmsHccDesign`).

        Returns
        -------
        CmsHccDesign

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import score
        >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
        ...                        "lti": [0], "new_enrollee": [0]})
        >>> d = score(people, pd.DataFrame({"person_id": [1], "icd10": ["E1169"]})).design()
        >>> [d.columns[j] for j in d.indices]
        ['CNA:M70_74', 'CNA:HCC37', 'CNA:D1']
        """
        from .._kernels.hcc import hcc_range

        t = self.tables
        args = _kernel_inputs(t, self._people, self.segment_rule, self._dx_ptr, self._dx_code, self.mce_edits)
        n = len(self.person_id)
        ptr = np.zeros(n + 1, dtype=np.int64)
        seg, raw, payment = np.empty(n, np.int8), np.empty(n, np.int64), np.empty(n, np.int64)
        words, tally = np.empty((n, 2), np.uint64), np.zeros(4, np.int64)

        def run(mode: int, indices: np.ndarray) -> None:
            parallel_for(lambda a, b: hcc_range(*args, mode, a, b, seg, raw, payment, words, tally, ptr, indices),
                         n, PEOPLE_PER_TASK)

        run(1, np.empty(0, dtype=np.int32))
        np.cumsum(ptr, out=ptr)
        indices = np.empty(int(ptr[-1]), dtype=np.int32)
        run(2, indices)
        columns = tuple(f"{s}:{v}" for s in SEGMENTS for v in t.variables)
        return CmsHccDesign(ptr, indices, np.ones(len(indices)), t.factors.ravel().astype(np.float64), columns)

    def explain(self, person_id):
        """Explain one person's score: each factor, the diagnoses behind each HCC, hierarchies and edits.

        Parameters
        ----------
        person_id : int or str
            A beneficiary of the table scored.

        Returns
        -------
        capitation.cms_hcc.explain.Explanation

        Raises
        ------
        InputError
            ``person_id`` is not among the beneficiaries.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import score
        >>> people = pd.DataFrame({"person_id": [7], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
        ...                        "lti": [0], "new_enrollee": [0]})
        >>> why = score(people, pd.DataFrame({"person_id": [7], "icd10": ["E11.69"]})).explain(7)
        >>> why.factors[["variable", "factor"]].values.tolist()
        [['M70_74', 0.396], ['HCC37', 0.166], ['D1', 0.0]]
        """
        from .explain import explain_person

        rows = self._people.index.rows(np.asarray([person_id], dtype=self.person_id.dtype)) \
            if _same_kind(person_id, self.person_id) else np.array([-1])
        if rows[0] < 0:
            raise InputError(f"The 'person_id' parameter of explain ({person_id!r}) is not among the "
                             f"{len(self.person_id):,} beneficiaries scored. Fix: pass one of result.person_id.",
                             parameter="person_id")
        return explain_person(self, int(rows[0]))


def _same_kind(value, ids: np.ndarray) -> bool:
    if ids.dtype.kind in "iu":
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    return isinstance(value, str)


def _kernel_inputs(t: HccTables, people: Beneficiaries, segment: str, dx_ptr, dx_code, mce: bool) -> tuple:
    """Return the arguments of :func:`capitation._kernels.hcc.hcc_range` before ``mode`` (read-only views)."""
    is_ne = np.array([s in NEW_ENROLLEE_SEGMENTS for s in SEGMENTS])
    empty = np.zeros(0, dtype=np.int8)
    fixed = -1 if segment == "derived" else SEGMENTS.index(segment)
    ro = lambda a: readonly(np.ascontiguousarray(a))  # noqa: E731
    return (ro(people.age), ro(people.sex), ro(people.orec), ro(people.medicaid), ro(people.dual),
            ro(people.lti if fixed < 0 else empty), ro(people.new_enrollee if fixed < 0 else empty), fixed, ro(is_ne),
            ro(dx_ptr), ro(dx_code), ro(t.code_mask), ro(t.code_flag), ro(t.med_kind), ro(t.med_sex), ro(t.med_lo),
            ro(t.med_hi), ro(t.med_mask), ro(t.mce_lo), ro(t.mce_hi), bool(mce), ro(t.parent_mask), ro(t.child_mask),
            int(t.cc223), ro(t.cc223_keep), ro(t.inter_var), ro(t.inter_mask), ro(t.inter_disabl), ro(t.var_hcc),
            ro(t.var_count), ro(t.var_ce), ro(t.var_ne), ro(t.var_origdis), int(t.var_ltimcaid), int(t.var_origds),
            ro(t.ce_band), ro(t.ne_band), ro(t.present), ro(t.factors), int(t.normalisation),
            int(t.coding_intensity))


def _check_segments(people: Beneficiaries, segment: str) -> None:
    """Refuse, before the work, community members on Medicaid whose dual status is unknown."""
    if segment != "derived" or not (people.dual < 0).any():
        return
    unknown = (people.medicaid != 0) & (people.lti == 0) & (people.new_enrollee == 0)
    if unknown.any():
        raise InputError(f"The 'beneficiaries' table gives 'medicaid' but not 'dual_status', so the community "
                         f"segment of {int(unknown.sum()):,} people on Medicaid cannot be chosen between full- and "
                         f"partial-benefit dual: {describe_rows(None, unknown, people.person_id)}. Fix: give "
                         "'dual_status' (non/partial/full) instead of 'medicaid', or a fixed segment "
                         "(segment='CFA', ...).", parameter="segment")


def _code_reasons(t: HccTables, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct value's code id in the table (-1 if none) and its reason when not in the table."""
    normal = normalise_codes(uniques)
    ids = t.codes.get_indexer(normal).astype(np.int32)
    reason = np.full(len(uniques), _USED, dtype=np.int8)
    shape = is_code_shape(normal)
    other = np.fromiter((c in t.other_years for c in normal), dtype=bool, count=len(normal))
    reason[ids < 0] = _NO_HCC
    reason[(ids < 0) & other] = _OTHER_YEAR
    reason[(ids < 0) & ~shape] = _MALFORMED
    return ids, reason


def score(beneficiaries, diagnoses, *, model: str = "V28", payment_year: int = 2026, segment: str = "derived",
          mce_edits: bool = True) -> CmsHccScores:
    """Score beneficiaries with a published CMS-HCC model: raw and payment scores, exact, with every record counted.

    Parameters
    ----------
    beneficiaries : pandas.DataFrame or path
        One row per person: ``person_id``, ``age`` (on 1 February of the payment year) or ``date_of_birth``,
        ``sex`` (F/M), ``orec`` (0–3), ``dual_status`` (non/partial/full) or ``medicaid`` (0/1), ``lti``
        (0/1, long-term institutional) and ``new_enrollee`` (0/1); the last two only with ``segment="derived"``.
    diagnoses : pandas.DataFrame, path or None
        Long: ``person_id`` and ``icd10`` (any spelling: dots, case and spaces are normalised). ``None`` for no
        diagnoses (demographic scores).
    model : {"V28", "V24"}
        The CMS-HCC model: V28 (the 2024 model) or V24 (the 2020 model).
    payment_year : int
        The payment year: its ICD-10-CM table decides which codes are valid (a code of another year's table
        is counted as invalid, not mapped), and ages are taken on its 1 February. V24: 2024, 2025; V28: 2024,
        2026, 2027.
    segment : str
        ``"derived"`` picks INS (lti) over NE (new_enrollee) over C{F|P|N}{A|D} (full/partial/non dual; aged
        65+ or disabled); a fixed segment (``"CNA"``, ``"CND"``, ``"CFA"``, ``"CFD"``, ``"CPA"``, ``"CPD"``,
        ``"INS"``, ``"NE"``, ``"SNPNE"``) scores everyone in it.
    mce_edits : bool
        Apply the Medicare Code Editor's age edits (on by default, as in CMS's software).

    Returns
    -------
    CmsHccScores
        ``to_frame()``: ``person_id``, ``segment``, ``raw_score``, ``payment_score``, ``hccs``; ``explain(id)``;
        ``design()``; ``diagnoses_report``.

    Raises
    ------
    InputError
        Unknown model, payment year or segment; a value out of range (ages below 0, OREC outside 0–3, ...).
    SchemaError
        A missing column, or a column of the wrong type.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import score
    >>> people = pd.DataFrame({"person_id": [1], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
    ...                        "lti": [0], "new_enrollee": [0]})
    >>> dx = pd.DataFrame({"person_id": [1] * 6, "icd10": ["E11.69", "I50.30", "I50.9", "I21.1", "I20.9", "R05"]})
    >>> score(people, dx, model="V28", payment_year=2027).to_frame().to_dict("records")
    [{'person_id': 1, 'segment': 'CNA', 'raw_score': 1.034, 'payment_score': 0.901, 'hccs': 'HCC37;HCC226'}]
    """
    model, payment_year = check_model_year(model, payment_year)
    if not isinstance(mce_edits, (bool, np.bool_)):
        raise InputError(f"The 'mce_edits' parameter of score must be True or False. Got {mce_edits!r}. Fix: pass "
                         "mce_edits=True (CMS's default) or mce_edits=False.", parameter="mce_edits")
    if segment != "derived" and segment not in SEGMENTS:
        raise InputError(f"The 'segment' parameter of score must be 'derived' or one of {list(SEGMENTS)}. Got "
                         f"{segment!r}. Fix: pass segment='derived' to pick each person's segment from their "
                         "columns.", parameter="segment")
    t = model_tables(model, payment_year)
    people = read_beneficiaries(beneficiaries, payment_year, derived=segment == "derived")
    _check_segments(people, segment)
    n = len(people)
    if diagnoses is None:
        dx_ptr, dx_code = np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int32)
        counts, unused = np.zeros(len(REASONS), dtype=np.int64), _no_records()
    else:
        dx_ptr, dx_code, counts, unused = _records(t, people, diagnoses)
    seg, raw, payment, words, tally = _run(t, people, segment, dx_ptr, dx_code, mce_edits)
    counts[_USED] -= tally[0] + tally[1] + tally[2] + tally[3]
    counts[_REMAPPED], counts[_MANDATORY], counts[_MCE], counts[_NEW] = tally[2], tally[0], tally[1], tally[3]
    report = pd.DataFrame({"records": counts, "codes": unused["distinct"], "examples": unused["examples"]},
                          index=pd.Index(REASONS, name="reason"))
    return CmsHccScores(model=model, payment_year=payment_year, segment_rule=segment, mce_edits=bool(mce_edits),
                        person_id=people.person_id, segment=seg, raw_thousandths=raw, payment_thousandths=payment,
                        hcc_words=words, diagnoses_report=report, tables=t, _people=people, _dx_ptr=dx_ptr,
                        _dx_code=dx_code, _unused=unused)


#: Diagnosis records handled per task.
RECORDS_PER_TASK = 1 << 20


def _no_records() -> dict:
    return {"ids": np.empty(0, np.int64), "codes": np.empty(0, np.int32), "uniques": np.array([None], object),
            "reason_of": np.zeros(1, np.int8), "distinct": np.zeros(len(REASONS), np.int64),
            "examples": [""] * len(REASONS)}


def _grouped_ptr(order: np.ndarray, ptr: np.ndarray, n: int, m: int) -> bool:
    """Finish ``ptr`` from the ranges' own entries when the records are grouped by person; False if they are not.

    Each range wrote ``ptr`` for the rows it saw; here rows seen by no range get the start of the next row
    seen, and a row whose records run on from the previous range keeps its start there.
    """
    last, last_start = -1, 0
    first_global = None
    for sorted_rows, first, first_start, final, final_start in order.tolist():
        if first < 0:
            continue
        if not sorted_rows or first < last:
            return False
        if first_global is None:
            first_global = first
        if first == last:
            ptr[first] = last_start  # the person's records began in an earlier range
            if final == first:
                continue
        else:
            ptr[last + 1:first] = first_start  # people without records
        last, last_start = final, final_start
    if first_global is None:
        ptr[:] = 0
        return True
    ptr[:first_global] = ptr[first_global]
    ptr[last + 1:] = m
    return True


def _records(t: HccTables, people: Beneficiaries, diagnoses) -> tuple:
    """Map every diagnosis record to its person and code id; count the ones not used by reason.

    Returns ``dx_ptr`` (n + 1), ``dx_code`` (each person's codes from ``dx_ptr[i]``; -1 for a record not used)
    and the counts by reason, and what explanations need to find a person's records.
    """
    from .._kernels.hcc import bucket_rows, records_range

    frame, record_ids = diagnosis_columns(diagnoses)
    match_kinds(people.person_id, record_ids)
    if not may_hold_text(frame["icd10"]):
        raise SchemaError(f"The 'diagnoses' table's column 'icd10' must hold ICD-10-CM codes as text. Got dtype "
                          f"{frame['icd10'].dtype} (values like {frame['icd10'].head(3).tolist()!r}). Fix: "
                          "frame['icd10'] = frame['icd10'].astype(str).")
    codes, uniques = factorize_column(frame["icd10"], "diagnoses")
    if codes.dtype not in (np.int8, np.int16, np.int32):
        codes = codes.astype(np.int32) if len(uniques) < 2**31 else codes
    code_of, reason_of = _code_reasons(t, uniques)
    n, m = len(people), len(record_ids)
    index = people.index
    use_table = index.table is not None and record_ids.dtype == np.int64
    ids = record_ids if use_table else np.zeros(0, dtype=np.int64)
    table = index.table if use_table else np.zeros(0, dtype=np.int64)
    rows_in = np.zeros(0, dtype=np.int64) if use_table else index.rows(record_ids)
    code = np.empty(m, dtype=np.int32)
    dx_ptr = np.zeros(n + 1, dtype=np.int64)
    tasks = max(1, -(-m // RECORDS_PER_TASK))
    counts = np.zeros((tasks, len(REASONS)), dtype=np.int64)
    seen = np.zeros((tasks, 2, len(uniques)), dtype=np.int8)
    order = np.zeros((tasks, 5), dtype=np.int64)
    args = (readonly(ids), index.low, readonly(table), readonly(rows_in), use_table, readonly(codes),
            readonly(code_of), readonly(reason_of), _UNKNOWN, _USED)

    def records(write_rows: bool, rows: np.ndarray, ptr: np.ndarray) -> None:
        parallel_for(lambda a, b: records_range(*args, a, b, write_rows, rows, code, counts[a // RECORDS_PER_TASK],
                                                seen[a // RECORDS_PER_TASK], ptr, order[a // RECORDS_PER_TASK]),
                     m, RECORDS_PER_TASK)

    records(False, np.empty(0, dtype=np.int32), dx_ptr)
    if _grouped_ptr(order, dx_ptr, n, m):  # grouped by person in the beneficiaries' order: no sort, no copy
        dx_code = code
    else:  # the records are in another order: sort them by person
        rows = np.empty(m, dtype=np.int32 if n < 2**31 else np.int64)
        counts[:] = 0
        records(True, rows, np.zeros(n + 1, dtype=np.int64))
        dx_ptr[:] = 0
        dx_code = np.empty(m, dtype=np.int32)
        bucket_rows(readonly(rows), readonly(code), n, dx_ptr, dx_code)
        dx_code = dx_code[:dx_ptr[-1]]
    seen = seen.max(axis=0)
    found = {"ids": record_ids, "codes": codes, "uniques": uniques, "reason_of": reason_of,
             "distinct": np.zeros(len(REASONS), np.int64), "examples": [""] * len(REASONS)}
    for r in range(len(REASONS)):
        which = np.flatnonzero(seen[1] > 0 if r == _UNKNOWN else (seen[0] > 0) & (reason_of == r))
        if r == _USED or not len(which):
            continue
        found["distinct"][r] = len(which)
        found["examples"][r] = ", ".join(repr(uniques[u]) if uniques[u] in ("", None) else str(uniques[u])
                                         for u in which[:5])
    return dx_ptr, dx_code, counts.sum(axis=0), found


def _run(t: HccTables, people: Beneficiaries, segment: str, dx_ptr, dx_code, mce: bool):
    from .._kernels.hcc import hcc_range

    n = len(people)
    args = _kernel_inputs(t, people, segment, dx_ptr, dx_code, mce)
    seg = np.empty(n, dtype=np.int8)
    raw = np.empty(n, dtype=np.int64)
    payment = np.empty(n, dtype=np.int64)
    words = np.empty((n, 2), dtype=np.uint64)
    tasks = max(1, -(-n // PEOPLE_PER_TASK))
    tally = np.zeros((tasks, 4), dtype=np.int64)
    ptr, indices = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
    parallel_for(lambda a, b: hcc_range(*args, 0, a, b, seg, raw, payment, words, tally[a // PEOPLE_PER_TASK], ptr,
                                        indices), n, PEOPLE_PER_TASK)
    return seg, raw, payment, words, tally.sum(axis=0)
