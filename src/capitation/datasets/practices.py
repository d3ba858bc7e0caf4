"""The practice frame shipped with the package (NHS England's weighted-population files, three years)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from ..errors import InputError
from ..inputs.records import financial_year

__all__ = ["ATTRIBUTION", "PRACTICE_YEARS", "load_practices"]

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
PRACTICE_YEARS = ("2023/24", "2024/25", "2025/26")


@lru_cache(maxsize=1)
def _all_years() -> pd.DataFrame:
    with resources.files("capitation.datasets").joinpath("data/practices.parquet").open("rb") as handle:
        return pd.read_parquet(handle)


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
