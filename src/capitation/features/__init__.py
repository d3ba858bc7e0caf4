"""Step 2 of the pipeline: records to a sparse person-level design."""

from .encode import encode
from .matrix import ROLES, FeatureMatrix
from .spec import PBRA_AGE_BANDS, FeatureSpec

__all__ = ["PBRA_AGE_BANDS", "ROLES", "FeatureMatrix", "FeatureSpec", "encode"]
