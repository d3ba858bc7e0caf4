"""The practice frame shipped with the package (NHS England's weighted-population files, three years)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import pandas as pd

from ..errors import InputError
from ..inputs.records import financial_year

__all__ = ["ATTRIBUTION", "PRACTICE_YEARS", "PUBLISHED_FILES", "SHIPPED_FILE", "load_practices"]

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
PRACTICE_YEARS = ("2023/24", "2024/25", "2025/26")

#: The file the practice frame is shipped in (under ``capitation/datasets/data/``), all three years.
SHIPPED_FILE = "practices.parquet"

#: Year → NHS England's published CSV file that year's rows of :data:`SHIPPED_FILE` were derived from, by name
#: and SHA-256 of its bytes (computed from the files when the data was built, so that the package can name
#: them without having them). Versions of a year's file differ in their SHA-256: the 2025/26 file shipped
#: gives A81001 3,928.020356 people (4,068.906409 is the 2024/25 file's figure).
PUBLISHED_FILES = {
    "2023/24": {"name": "nhse_practice_weighted_populations_2023_24.csv",
                "sha256": "f8eb9008ac4a8ef442612a97c2b2633ad14ffc4f1d0265edeb73944b88692731"},
    "2024/25": {"name": "nhse_practice_weighted_populations_2024_25.csv",
                "sha256": "e5729efafb1b01257a27bf10935ea0c3c8ecf904bd2356409fc561db4c3caf5c"},
    "2025/26": {"name": "nhse_practice_weighted_populations_2025_26.csv",
                "sha256": "ec4f15678eb80187141e9f325c67bd7dbf112ca7bae988a10cdffd40c293f68c"},
}


@lru_cache(maxsize=1)
def _all_years() -> pd.DataFrame:
    with resources.files("capitation.datasets").joinpath(f"data/{SHIPPED_FILE}").open("rb") as handle:
        return pd.read_parquet(handle)


@lru_cache(maxsize=1)
def _shipped_sha256() -> str:
    """SHA-256 of the bytes of :data:`SHIPPED_FILE` as installed (read through importlib.resources)."""
    digest = hashlib.sha256()
    with resources.files("capitation.datasets").joinpath(f"data/{SHIPPED_FILE}").open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_practices(year: str = "2025/26") -> pd.DataFrame:
    """GP practices with their ICB, registered population and NHS England weighted populations.

    Derived from NHS England's practice weighted-population files used for ICB allocations
    (2023/24, 2024/25 and 2025/26). Contains public sector information licensed under the Open Government
    Licence v3.0.

    Parameters
    ----------
    year : str
        Allocation year, ``'2025/26'`` form (``'2025-26'`` and ``2025`` are accepted).

    Returns
    -------
    pandas.DataFrame
        One row per practice: ``practice_code``, ``practice_name``, ``postcode``, ``icb_code``,
        ``icb_name``, ``region``, ``population`` (registered, as projected by NHS England) and the weighted
        populations ``wp_general_acute``, ``wp_community``, ``wp_mental_health``, ``wp_maternity``,
        ``wp_health_inequalities``, ``wp_prescribing``, ``wp_core_final``, ``wp_primary_medical_care``,
        ``wp_primary_medical_care_final``.

    Examples
    --------
    >>> from capitation.datasets import load_practices
    >>> practices = load_practices("2025/26")
    >>> len(practices), practices["icb_code"].nunique()
    (6348, 42)
    """
    fy = financial_year(year)
    if fy not in PRACTICE_YEARS:
        raise InputError(f"The 'year' parameter must be one of {list(PRACTICE_YEARS)}. Got {year!r}. "
                         "Fix: choose a year the package ships, or load your own practice file.")
    frame = _all_years()
    return frame[frame["year"] == fy].drop(columns="year").reset_index(drop=True)
