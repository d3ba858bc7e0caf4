"""Step 2 of the pipeline: records to a sparse person-level design."""

from .icd10 import DiagnosisGrouping, GroupedCodes, normalise_icd10
from .matrix import ROLES, FeatureMatrix
from .spec import PBRA_AGE_BANDS, FeatureSpec, encode

__all__ = [
    "PBRA_AGE_BANDS",
    "ROLES",
    "DiagnosisGrouping",
    "FeatureMatrix",
    "FeatureSpec",
    "GroupedCodes",
    "encode",
    "normalise_icd10",
]
