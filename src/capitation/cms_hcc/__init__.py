"""CMS-HCC: the US Medicare Advantage risk-adjustment models (V24 and V28) with their published factors.

A second family of models beside the fitted PBRA model: nothing is estimated. Each beneficiary's ICD-10-CM
diagnoses are mapped to condition categories by the payment year's table, edited for age and sex, put through
CMS's hierarchies, and scored with the published relative factors of their segment, exactly, in integer
thousandths. Scores sum into plan, contract or ACO budgets to the cent (:func:`budgets`).

Examples
--------
>>> import pandas as pd
>>> from capitation import cms_hcc
>>> people = pd.DataFrame({"person_id": [1, 2], "age": [70, 45], "sex": ["M", "F"], "orec": [0, 1],
...                        "dual_status": ["non", "full"], "lti": [0, 0], "new_enrollee": [0, 0]})
>>> dx = pd.DataFrame({"person_id": [1, 1, 2], "icd10": ["E11.69", "I50.9", "J44.9"]})
>>> cms_hcc.score(people, dx).to_frame()[["person_id", "segment", "raw_score", "hccs"]].values.tolist()
[[1, 'CNA', 1.034, 'HCC37;HCC226'], [2, 'CFD', 0.665, 'HCC280']]
"""

from .budget import BlendedScores, Budgets, blend, budgets
from .explain import Explanation
from .score import CmsHccDesign, CmsHccScores, score
from .tables import MODEL_YEARS, SEGMENTS, manifest, worked_examples

__all__ = [
    "MODEL_YEARS",
    "SEGMENTS",
    "BlendedScores",
    "Budgets",
    "CmsHccDesign",
    "CmsHccScores",
    "Explanation",
    "blend",
    "budgets",
    "manifest",
    "score",
    "worked_examples",
]
