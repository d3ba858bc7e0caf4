"""Data shipped with the package, and synthetic populations built on it.

Contains public sector information licensed under the Open Government Licence v3.0.
"""

from .practices import ATTRIBUTION, PRACTICE_YEARS, load_practices

__all__ = ["ATTRIBUTION", "PRACTICE_YEARS", "load_practices"]
