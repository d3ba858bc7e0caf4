"""One person's CMS-HCC score, step by step, from the same tables by a plain-Python reading of CMS's rules.

:func:`reference_terms` is written from the tables by name (codes, edits, hierarchies, groups, interactions),
independently of the compiled kernel; :meth:`CmsHccScores.explain` checks that the two agree on the person's
score, and the tests compare them on many generated people.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result, text_table
from ..errors import CapitationError
from .tables import NE_CELLS, NEW_ENROLLEE_SEGMENTS, HccTables

__all__ = ["Explanation", "reference_terms"]


def _fires(row, age: int, sex: int) -> bool:
    """Whether an edit row of the tables fires for a person (sex 1 male, 2 female)."""
    if row["edit_type"] == "sex":
        return str(sex) == row["sex"]
    low = int(row["age_min"]) if row["age_min"] else None
    high = int(row["age_max"]) if row["age_max"] else None
    return (high is not None and age <= high) or (low is not None and age >= low)


@functools.lru_cache(maxsize=8)
def _edit_rules(t: HccTables) -> tuple[dict, dict]:
    """Return the tables' mandatory and MCE edit rows, by code."""
    edits = {row["icd10"]: row for row in t.edits.to_dict("records")}
    return ({c: r for c, r in edits.items() if r["edit_type"] != "mce_age"},
            {c: r for c, r in edits.items() if r["edit_type"] == "mce_age"})


def reference_terms(t: HccTables, *, age: int, sex: int, orec: int, medicaid: int, segment: str, codes,
                    mce_edits: bool = True, hierarchy: str = "cms", ne_esrd_bands: bool = False,
                    omit_cell: bool = False) -> dict:
    """Score one person by CMS's rules read from the tables by name: records, HCCs, terms and the raw score.

    Parameters
    ----------
    t : HccTables
        The model and payment year's tables.
    age, sex, orec, medicaid : int
        Age on 1 February of the payment year, sex (1 male, 2 female), OREC (0–3), Medicaid (0/1).
    segment : str
        The segment scored (``"CNA"``, ..., ``"NE"``).
    codes : sequence of str
        The person's ICD-10-CM codes that are in the year's table (normalised).
    mce_edits : bool
        Whether MCE age edits apply.
    hierarchy : {"cms", "set"}
        ``"cms"``: parents in CMS's order drop their children from the HCCs still present (a parent dropped
        first drops nothing), as CMS's SAS macros do. ``"set"``: every parent in the pre-hierarchy set drops
        its children, as some open engines do (for comparing with them).
    ne_esrd_bands : bool
        Score new enrollees with OREC 2 or 3 in five-year cells (``NE*65_69``, which has no factor), as an open
        engine that treats them as ESRD does (for comparing with it); CMS's rule is ``False``.
    omit_cell : bool
        Leave out the continuing-enrollee age/sex cell, as an open engine does for institutional new enrollees
        (it looks up a new-enrollee cell in a segment that has none; for comparing with it). CMS's rule is
        ``False``.

    Returns
    -------
    dict
        ``records`` (one dict per code: ``code``, ``mapped``, ``edit``, ``assigned``), ``ccs`` (after edits and
        the HCC223 rule), ``cc223_dropped``, ``dropped`` (child → parent that dropped it), ``hccs`` (payment
        HCCs), ``terms`` (list of ``(variable, kind, thousandths)``) and ``raw`` (thousandths).

    Examples
    --------
    >>> from capitation.cms_hcc.tables import model_tables
    >>> r = reference_terms(model_tables("V28", 2026), age=70, sex=1, orec=0, medicaid=0, segment="CNA",
    ...                     codes=["E1169", "I509"])
    >>> r["hccs"], r["raw"]
    ([37, 226], 1034)
    """
    mandatory, mce = _edit_rules(t)
    s = t.segment_index(segment)

    def term(variable: str, kind: str, terms: list) -> None:
        j = t.variables.index(variable) if variable in t.variables else -1
        if j >= 0 and t.present[s, j]:
            terms.append((variable, kind, int(t.factors[s, j])))

    terms: list = []
    sx = "M" if sex == 1 else "F"
    records = []
    if segment in NEW_ENROLLEE_SEGMENTS:
        cell_age = 65 if (age == 64 and orec == 0) else age
        cell = t.ne_cells[int(t.ne_band[cell_age])]
        if ne_esrd_bands and orec in (2, 3) and 65 <= age <= 69:
            cell = "65_69"  # no such new-enrollee cell: no factor
        ne = NE_CELLS[(1 if medicaid else 0) + (2 if (age >= 65 and orec == 1) else 0)]
        term(f"{ne}_NE{sx}{cell}", "new-enrollee cell (NEMCAID × NE_ORIGDIS × age/sex)", terms)
        records = [{"code": c, "mapped": [], "edit": "", "assigned": [], "effect": "not scored: new enrollee"}
                   for c in codes]
        return {"records": records, "ccs": [], "cc223_dropped": False, "dropped": {}, "hccs": [], "groups": [],
                "terms": terms, "raw": sum(v for _, _, v in terms), "disabled": age < 65 and orec != 0}
    disabled = age < 65 and orec != 0
    origdis = orec == 1 and not disabled
    if not omit_cell:
        term(f"{sx}{t.ce_cells[int(t.ce_band[age])]}", "age/sex cell", terms)
    if origdis:
        term(f"OriginallyDisabled_{'Male' if sex == 1 else 'Female'}", "originally disabled (OREC 1, aged 65+)",
             terms)
        term("ORIGDS", "originally disabled", terms)
    if medicaid:
        term("LTIMCAID", "Medicaid, long-term institutional", terms)
    ccs: set[int] = set()
    for code in codes:
        p = t.codes.get_loc(code)
        mapped = [int(t.hcc_numbers[k]) for k in (t.cc1[p], t.cc2[p]) if k >= 0]
        assigned, edit, effect = mapped, "", "mapped"
        rule = mandatory.get(code)
        if rule is not None and _fires(rule, age, sex):
            edit = rule["description"]
            if rule["action"] == "invalid":
                assigned, effect = [], "invalid (mandatory edit)"
            else:
                assigned, effect = [int(rule["cc_override"])], f"remapped to CC{rule['cc_override']} (mandatory edit)"
        rule = mce.get(code)
        if assigned and mce_edits and rule is not None and _fires(rule, age, sex):
            edit = (edit + "; " if edit else "") + rule["description"]
            assigned, effect = [], "invalid (MCE age edit)"
        ccs |= set(assigned)
        records.append({"code": code, "mapped": mapped, "edit": edit, "assigned": assigned, "effect": effect})
    cc223_dropped = False
    if t.model == "V28" and 223 in ccs and not ccs & {221, 222, 224, 225, 226}:
        ccs.discard(223)
        cc223_dropped = True
    hccs = set(ccs)
    dropped: dict[int, int] = {}
    present = set(ccs)
    for parent in sorted(t.hierarchy):  # CMS's order; a parent already dropped drops nothing
        if parent in (hccs if hierarchy == "cms" else present):
            for child in t.hierarchy[parent]:
                if child in hccs:
                    hccs.discard(child)
                    dropped[child] = parent
    hccs_sorted = sorted(hccs)
    for h in hccs_sorted:
        term(f"HCC{h}", "payment HCC", terms)
    groups = [g for g, members in t.group_members.items() if hccs & set(members)]

    def on(name: str) -> bool:
        if name == "DISABL":
            return disabled
        if name in t.group_members:
            return name in groups
        return int(name[3:]) in hccs

    for name, a, b in t.interaction_terms:
        if on(a) and on(b):
            term(name, f"interaction {a} × {b}", terms)
    if hccs:
        term(f"D{len(hccs)}" if len(hccs) < 10 else "D10P", f"count of payment HCCs ({len(hccs)})", terms)
    return {"records": records, "ccs": sorted(ccs), "cc223_dropped": cc223_dropped, "dropped": dropped,
            "hccs": hccs_sorted, "groups": groups, "terms": terms, "raw": sum(v for _, _, v in terms),
            "disabled": disabled}


@dataclass(frozen=True, eq=False, repr=False)
class Explanation(Result):
    """One person's score, explained: each factor, the diagnoses behind each HCC, hierarchies and edits.

    Attributes
    ----------
    person_id : int or str
        The person.
    segment : str
        The segment scored.
    raw_thousandths, payment_thousandths : int
        The scores, exact.
    factors : pandas.DataFrame
        One row per term of the score: ``variable``, ``kind``, ``factor`` (three decimals).
    hccs : pandas.DataFrame
        One row per condition category after edits: ``hcc``, ``diagnoses`` (the codes that gave it),
        ``status`` ("paid", "dropped by HCC…" or "dropped: HCC223 without heart failure HCC").
    records : pandas.DataFrame
        The person's diagnosis records: ``code``, ``mapped`` (categories in the table), ``edit`` (which fired),
        ``effect``.
    facts : dict
        Age, sex, OREC, Medicaid, DISABL, ORIGDIS, model, payment year, MCE edits.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.cms_hcc import score
    >>> people = pd.DataFrame({"person_id": [7], "age": [70], "sex": ["M"], "orec": [0], "dual_status": ["non"],
    ...                        "lti": [0], "new_enrollee": [0]})
    >>> why = score(people, pd.DataFrame({"person_id": [7, 7], "icd10": ["E11.69", "E11.9"]})).explain(7)
    >>> why.hccs.values.tolist()
    [['HCC37', 'E1169', 'paid'], ['HCC38', 'E119', 'dropped by HCC37 (hierarchy)']]
    """

    person_id: object
    segment: str
    raw_thousandths: int
    payment_thousandths: int
    factors: pd.DataFrame
    hccs: pd.DataFrame
    records: pd.DataFrame
    facts: dict

    def _frame(self) -> pd.DataFrame:
        return self.factors

    def summary(self) -> str:
        """Write the explanation in plain text: headline, facts, factors, HCCs and records.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc import score
        >>> people = pd.DataFrame({"person_id": [7], "age": [70], "sex": ["M"], "orec": [0],
        ...                        "dual_status": ["non"], "lti": [0], "new_enrollee": [0]})
        >>> print(score(people, pd.DataFrame({"person_id": [7], "icd10": ["E11.69"]})).explain(7).summary()
        ...       .splitlines()[0])
        person_id 7: raw score 0.562 in segment CNA (CMS-HCC V28 payment year 2026), payment score 0.496
        """
        f = self.facts
        lines = [f"person_id {self.person_id}: raw score {self.raw_thousandths / 1000:.3f} in segment {self.segment} "
                 f"(CMS-HCC {f['model']} payment year {f['payment_year']}), payment score "
                 f"{self.payment_thousandths / 1000:.3f}",
                 f"age {f['age']} ({f['age_source']}), sex {f['sex']}, OREC {f['orec']}, Medicaid {f['medicaid']}, "
                 f"DISABL {int(f['disabled'])}, ORIGDIS {int(f['origdis'])}, MCE edits "
                 f"{'on' if f['mce_edits'] else 'off'}", "factors:"]
        table = self.factors.assign(factor=self.factors["factor"].map("{:.3f}".format))
        lines.append(text_table(table.astype(str), left=2) if len(table) else "  none")
        if len(self.hccs):
            lines += ["condition categories:", text_table(self.hccs.astype(str), left=3)]
        if len(self.records):
            lines += ["diagnosis records:", text_table(self.records.astype(str), left=4)]
        return "\n".join(lines)


def explain_person(result, row: int) -> Explanation:
    """Build the :class:`Explanation` of the person at ``row`` of a :class:`~capitation.cms_hcc.CmsHccScores`."""
    from .rules import REASONS, payment_thousandths

    t: HccTables = result.tables
    p = result._people
    codes = [t.codes[c] for c in result._dx_code[result._dx_ptr[row]:result._dx_ptr[row + 1]] if c >= 0]
    segment = str(result.segments[row])
    ref = reference_terms(t, age=int(p.age[row]), sex=int(p.sex[row]), orec=int(p.orec[row]),
                          medicaid=int(p.medicaid[row]), segment=segment, codes=codes, mce_edits=result.mce_edits)
    if ref["raw"] != int(result.raw_thousandths[row]):  # pragma: no cover - a bug if it ever happens
        raise CapitationError(f"capitation bug: the explanation of person_id {result.person_id[row]!r} adds up to "
                              f"{ref['raw']} thousandths but the kernel scored {int(result.raw_thousandths[row])}. "
                              "Please report it with the person's row.")
    factors = pd.DataFrame({"variable": [v for v, _, _ in ref["terms"]], "kind": [k for _, k, _ in ref["terms"]],
                            "factor": [x / 1000 for _, _, x in ref["terms"]]})
    by_cc: dict[int, list[str]] = {}
    for r in ref["records"]:
        for cc in r["assigned"]:
            by_cc.setdefault(cc, []).append(r["code"])
    status = {}
    for cc in ref["ccs"]:
        status[cc] = f"dropped by HCC{ref['dropped'][cc]} (hierarchy)" if cc in ref["dropped"] else "paid"
    if ref["cc223_dropped"]:
        status[223] = "dropped: HCC223 needs one of HCC221, 222, 224, 225, 226"
    hccs = pd.DataFrame({"hcc": [f"HCC{c}" for c in sorted(status)],
                         "diagnoses": [", ".join(by_cc.get(c, [])) for c in sorted(status)],
                         "status": [status[c] for c in sorted(status)]})
    records = [{"code": r["code"], "mapped": ", ".join(f"CC{c}" for c in r["mapped"]), "edit": r["edit"],
                "effect": r["effect"]} for r in ref["records"]]
    found = result._unused
    pid = result.person_id[row]
    mine = np.flatnonzero(found["ids"] == pid)
    missing = len(found["uniques"]) - 1
    for j in mine:
        u = int(found["codes"][j])
        u = missing if u < 0 else u
        reason = int(found["reason_of"][u])
        if REASONS[reason].startswith("used"):
            continue  # in the table: described above
        value = found["uniques"][u]
        records.append({"code": "" if value is None else str(value), "mapped": "", "edit": "",
                        "effect": REASONS[reason]})
    records = pd.DataFrame(records, columns=["code", "mapped", "edit", "effect"])
    facts = {"model": t.model, "payment_year": t.payment_year, "age": int(p.age[row]), "age_source": p.age_source,
             "sex": "M" if p.sex[row] == 1 else "F", "orec": int(p.orec[row]), "medicaid": int(p.medicaid[row]),
             "disabled": ref["disabled"], "origdis": int(p.orec[row]) == 1 and not ref["disabled"],
             "mce_edits": result.mce_edits}
    payment = int(payment_thousandths([ref["raw"]], t.normalisation, t.coding_intensity)[0])
    return Explanation(person_id=result.person_id[row].item() if isinstance(result.person_id[row], np.generic)
                       else result.person_id[row], segment=segment, raw_thousandths=ref["raw"],
                       payment_thousandths=payment, factors=factors, hccs=hccs, records=records, facts=facts)
