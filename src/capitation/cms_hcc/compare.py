"""Score the same people with an open engine (``hccinfhir``) and explain every disagreement by its cause.

``hccinfhir`` scores one person per call; it is an optional dependency (``pip install "capitation[bench]"``).
Each person whose raw score differs is put down to the rules the two engines read differently, each tried on
the person by the plain-Python reading of the rules (:func:`~capitation.cms_hcc.explain.reference_terms`):

``mapping``
    the engines' ICD-10-CM tables of the payment year differ (the person's scores agree once hccinfhir is
    given this package's table);
``hierarchy``
    a parent dropped by an earlier parent still drops its own children in hccinfhir;
``new enrollee OREC 2/3``
    hccinfhir scores new enrollees with OREC 2 or 3 as ESRD, in five-year cells;
``MCE edits in V24``
    hccinfhir applies the MCE age edits to V28 only;
``institutional new enrollee``
    hccinfhir scores a long-term institutional new enrollee in the institutional segment but with a
    new-enrollee age/sex cell, which that segment has no factor for.

A disagreement no cause explains is listed as ``unexplained`` (there should be none).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import MissingDependencyError
from .explain import reference_terms
from .score import CmsHccScores, score
from .tables import model_tables

__all__ = ["CAUSES", "EngineComparison", "compare_with_hccinfhir"]

#: Each cause of disagreement: what differs, and which engine follows CMS's rule and why.
CAUSES = {
    "mapping": "the payment year's ICD-10-CM tables differ. CMS's rule: a code counts if, and only if, it is in "
               "the payment year's mapping; this package ships CMS's payment-year table (for V24 PY2025 it has "
               "the FY2025 codes, e.g. C810A, that hccinfhir's 2025 file lacks).",
    "hierarchy": "hccinfhir drops every child of every parent present before the hierarchy; CMS's SAS macro "
                 "(V28115H1) applies the parents in order to the HCCs still present, so a parent already dropped "
                 "drops nothing (HCC62 drops HCC63, and HCC202 is paid). This package follows CMS.",
    "new enrollee OREC 2/3": "hccinfhir treats OREC 2 and 3 as ESRD and looks up a five-year new-enrollee cell "
                             "(NE*65_69) that has no factor, scoring 0; CMS's CMS-HCC new-enrollee cells "
                             "(AGESEXV2) are single years 65–69 whatever the OREC. This package follows CMS.",
    "MCE edits in V24": "hccinfhir applies the MCE age edits to V28 only; CMS's V24 edit macro (V24I0ED1) applies "
                        "them too when edits are on (its default), and the MCE age conditions are of ICD-10 codes, "
                        "the same for every model. This package applies them to both.",
    "institutional new enrollee": "hccinfhir scores a long-term institutional new enrollee in the institutional "
                                  "segment (the segment this package derives too: INS before NE) but looks up a "
                                  "new-enrollee age/sex cell there, which INS has no factor for, so the person gets no "
                                  "demographic factor; CMS's institutional score (its SAS INST_REG) uses the "
                                  "age/sex cells F0_34 … M95_GT. This package follows CMS.",
    "unexplained": "no known cause.",
}
_NAME = {"V24": "CMS-HCC Model V24", "V28": "CMS-HCC Model V28"}
_DUAL = {0: "00", 1: "01", 2: "02", -1: "NA"}


@dataclass(frozen=True, eq=False, repr=False)
class EngineComparison(Result):
    """The same people scored by capitation and by hccinfhir: agreement, speed and each disagreement's cause.

    Attributes
    ----------
    model, payment_year : str, int
        What was scored.
    people : int
        People compared.
    agree : int
        People whose raw scores are equal to the thousandth.
    disagreements : pandas.DataFrame
        One row per person who differs: ``person_id``, ``segment``, ``capitation`` and ``hccinfhir`` raw
        scores, ``causes`` (``;``-joined keys of :data:`CAUSES`) and ``detail``.
    hccinfhir_seconds : float
        Wall time of hccinfhir's calls (one person per call), the peer's speed.
    hccinfhir_version : str
        The version compared with.
    provenance : Provenance
        Library version.

    Examples
    --------
    >>> from capitation.cms_hcc.compare import EngineComparison
    >>> import pandas as pd
    >>> c = EngineComparison("V28", 2026, 10, 10, pd.DataFrame(columns=["person_id", "causes"]), 0.01, "0.4.0")
    >>> c.summary().splitlines()[0].split(": ")[1].split("; ")
    ['capitation and hccinfhir 0.4.0 agree on 10 of 10 people (100.00%)', '10 with the same ICD-10-CM table']
    """

    model: str
    payment_year: int
    people: int
    agree: int
    disagreements: pd.DataFrame
    hccinfhir_seconds: float
    hccinfhir_version: str

    def _frame(self) -> pd.DataFrame:
        return self.disagreements

    @property
    def agree_same_table(self) -> int:
        """People scored alike once hccinfhir is given this package's ICD-10-CM table of the payment year."""
        if not len(self.disagreements):
            return self.agree
        other = self.disagreements["causes"].str.split(";").map(lambda c: any(x != "mapping" for x in c))
        return self.people - int(other.sum())

    def causes(self) -> pd.Series:
        """People who differ, by cause (a person may have several).

        Returns
        -------
        pandas.Series
            Counts indexed by cause.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc.compare import EngineComparison
        >>> d = pd.DataFrame({"person_id": [1, 2], "causes": ["mapping", "mapping;hierarchy"]})
        >>> EngineComparison("V28", 2026, 5, 3, d, 0.1, "0.4.0").causes().to_dict()
        {'hierarchy': 1, 'mapping': 2}
        """
        if not len(self.disagreements):
            return pd.Series(dtype=np.int64, name="people")
        return self.disagreements["causes"].str.split(";").explode().value_counts().sort_index().rename("people")

    def summary(self) -> str:
        """Agreement, hccinfhir's speed, and the people who differ by cause with which rule is CMS's.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.cms_hcc.compare import EngineComparison
        >>> d = pd.DataFrame({"person_id": [1], "causes": ["hierarchy"]})
        >>> print(EngineComparison("V28", 2026, 4, 3, d, 0.001, "0.4.0").summary().splitlines()[2][:40])
        1 people: hierarchy — hccinfhir drops ev
        """
        share = 100 * self.agree / self.people if self.people else 100.0
        lines = [f"CMS-HCC {self.model} payment year {self.payment_year}: capitation and hccinfhir "
                 f"{self.hccinfhir_version} agree on {self.agree:,} of {self.people:,} people ({share:.2f}%); "
                 f"{self.agree_same_table:,} with the same ICD-10-CM table",
                 f"hccinfhir: {self.people / self.hccinfhir_seconds:,.0f} people per second (one person per call)"
                 if self.hccinfhir_seconds > 0 else "hccinfhir: not timed"]
        for cause, count in self.causes().items():
            lines.append(f"{count:,} people: {cause} — {CAUSES[cause]}")
        return "\n".join(lines)


def _engine():
    try:
        import hccinfhir  # noqa: F401
        from hccinfhir.model_calculate import calculate_raf
        from hccinfhir.utils import load_dx_to_cc_mapping
    except ImportError as exc:
        raise MissingDependencyError("Comparing with hccinfhir needs hccinfhir, which is not installed. Fix: pip "
                                     "install \"capitation[bench]\" (or pip install hccinfhir).",
                                     name="hccinfhir") from exc
    from importlib.metadata import version

    return calculate_raf, load_dx_to_cc_mapping, version("hccinfhir")


def _their_mapping(load, model: str, payment_year: int):
    try:
        return load(f"ra_dx_to_cc_{payment_year}.csv")
    except Exception:
        from hccinfhir.defaults import dx_to_cc_default

        return dx_to_cc_default


def _our_mapping(model: str, payment_year: int) -> dict:
    t = model_tables(model, payment_year)
    name = _NAME[model]
    return {(code, name): {str(int(t.hcc_numbers[k])) for k in (t.cc1[p], t.cc2[p]) if k >= 0}
            for p, code in enumerate(t.codes)}


def compare_with_hccinfhir(beneficiaries: pd.DataFrame, diagnoses: pd.DataFrame, *, model: str = "V28",
                           payment_year: int = 2026) -> EngineComparison:
    """Score the people with capitation and hccinfhir (MCE edits on in both) and explain every difference.

    hccinfhir is called once per person with its own table of the payment year (its default, 2026, when it
    has none), the person's codes with spaces removed (it strips dots and case only), the dual status as a
    dual-eligibility code (non 00, partial 01, full 02) and its own choice of segment, which follows the same
    INS > NE > community rule.

    Parameters
    ----------
    beneficiaries, diagnoses : pandas.DataFrame
        As for :func:`~capitation.cms_hcc.score` (``dual_status`` and ``age``; segments derived).
    model : {"V28", "V24"}
        The model.
    payment_year : int
        The payment year.

    Returns
    -------
    EngineComparison

    Raises
    ------
    MissingDependencyError
        hccinfhir is not installed.

    Examples
    --------
    >>> from capitation.cms_hcc.compare import compare_with_hccinfhir
    >>> from capitation.cms_hcc.synthetic import synthetic_beneficiaries
    >>> people, dx = synthetic_beneficiaries(200, seed=2)
    >>> compare_with_hccinfhir(people, dx).people  # doctest: +SKIP
    200
    """
    calculate_raf, load, their_version = _engine()
    ours: CmsHccScores = score(beneficiaries, diagnoses, model=model, payment_year=payment_year)
    t = ours.tables
    p = ours._people
    codes = pd.Series(np.asarray(diagnoses["icd10"], dtype=object)).map(
        lambda v: v.replace(" ", "") if isinstance(v, str) else "")
    by_person = codes.groupby(np.asarray(diagnoses["person_id"])).apply(list)
    theirs_table = _their_mapping(load, model, payment_year)
    name = _NAME[model]

    def run(i: int, mapping) -> int:
        r = calculate_raf(by_person.get(p.person_id[i], []), model_name=name, age=int(p.age[i]),
                          sex="M" if p.sex[i] == 1 else "F", dual_elgbl_cd=_DUAL[int(p.dual[i])],
                          orec=str(int(p.orec[i])), new_enrollee=bool(p.new_enrollee[i]), lti=bool(p.lti[i]),
                          dx_to_cc_mapping=mapping, switch_edits=True)
        return round(r.risk_score * 1000)

    n = len(ours.person_id)
    start = time.perf_counter()
    theirs = np.array([run(i, theirs_table) for i in range(n)], dtype=np.int64)
    seconds = time.perf_counter() - start
    differ = np.flatnonzero(theirs != ours.raw_thousandths)
    mapping = _our_mapping(model, payment_year) if len(differ) else {}
    in_table = set(t.codes)
    rows = []
    for i in differ.tolist():
        causes, detail = [], []
        same_table = run(i, mapping)
        if same_table != theirs[i]:
            causes.append("mapping")
            mine = {c.replace(".", "").upper() for c in by_person.get(p.person_id[i], [])}
            detail.append("codes read differently: " + ", ".join(sorted(
                c for c in mine if (c in in_table) != ((c, name) in theirs_table)
                or ((c, name) in theirs_table and theirs_table[(c, name)] != mapping.get((c, name))))))
        if same_table != ours.raw_thousandths[i]:
            kept = [c for c in (v.replace(".", "").upper() for v in by_person.get(p.person_id[i], [])) if c in in_table]
            facts = dict(age=int(p.age[i]), sex=int(p.sex[i]), orec=int(p.orec[i]), medicaid=int(p.medicaid[i]),
                         segment=str(ours.segments[i]), codes=kept)
            cms = reference_terms(t, **facts)["raw"]
            alternatives = {"hierarchy": dict(hierarchy="set"), "new enrollee OREC 2/3": dict(ne_esrd_bands=True),
                            "MCE edits in V24": dict(mce_edits=model == "V28"),
                            "institutional new enrollee": dict(omit_cell=bool(p.new_enrollee[i])
                                                               and ours.segments[i] == "INS")}
            active = [c for c, alt in alternatives.items() if reference_terms(t, **facts, **alt)["raw"] != cms]
            combined = {k: v for c in active for k, v in alternatives[c].items()}
            if active and reference_terms(t, **facts, **combined)["raw"] == same_table:
                causes += active
            else:
                causes.append("unexplained")
        rows.append({"person_id": ours.person_id[i], "segment": ours.segments[i],
                     "capitation": ours.raw_thousandths[i] / 1000, "hccinfhir": theirs[i] / 1000,
                     "causes": ";".join(causes), "detail": "; ".join(detail)})
    table = pd.DataFrame(rows, columns=["person_id", "segment", "capitation", "hccinfhir", "causes", "detail"])
    return EngineComparison(model, payment_year, n, n - len(differ), table, seconds, their_version)
