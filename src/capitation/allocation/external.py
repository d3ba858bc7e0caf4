"""NHS England's published practice weighted populations, used directly as practice need.

An ICB can then share its envelope among its places without fitting any model::

    need = published_need("2025/26", component="core")
    places = Membership.from_frame(my_places, level="place")
    allocate(need.loc[places.practices], envelope, membership=places)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._io import as_frame
from ..errors import InputError, SchemaError

__all__ = ["COMPONENTS", "published_need", "read_weighted_populations"]

#: Component name → column of the practice frame (as :func:`~capitation.datasets.load_practices`).
COMPONENTS = {
    "general_acute": "wp_general_acute",
    "community": "wp_community",
    "mental_health": "wp_mental_health",
    "maternity": "wp_maternity",
    "health_inequalities": "wp_health_inequalities",
    "prescribing": "wp_prescribing",
    "core": "wp_core_final",
    "primary_medical_care": "wp_primary_medical_care",
    "primary_medical_care_final": "wp_primary_medical_care_final",
}

#: Column headings of NHS England's published CSV files (2023/24 to 2025/26) → the package's names.
_RAW = {
    "Practice_Code": "practice_code", "GP_Practice_Name": "practice_name", "Practice_Postcode": "postcode",
    "ICB": "icb_code", "ICS22": "icb_code", "ICBname": "icb_name", "ICS22name": "icb_name",
    "Region": "region", "Region22": "region", "PCN_Code": "pcn_code", "PCN_Name": "pcn_name",
    "LOC": "sub_icb_code", "LOC22": "sub_icb_code", "LOCname": "sub_icb_name", "LOC22name": "sub_icb_name",
    "Population": "population", "pop 2022/23": "population",
    "G&A WP": "wp_general_acute", "CS WP": "wp_community", "MH WP": "wp_mental_health",
    "Mat WP": "wp_maternity", "Health Ineq WP": "wp_health_inequalities", "Prescr WP": "wp_prescribing",
    "Final WP": "wp_core_final", "Primary Medical Care WP": "wp_primary_medical_care",
    "Final PMC WP": "wp_primary_medical_care_final",
}


def read_weighted_populations(source) -> pd.DataFrame:
    """A practice weighted-population table in the package's column names.

    Parameters
    ----------
    source : str, path or pandas.DataFrame
        A shipped year (``'2025/26'``), NHS England's CSV file (any of the three years' headings; the
        byte-order mark is handled), or a frame with either NHS England's or the package's columns.

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``icb_code``, ``population`` and the ``wp_*`` columns present.

    Examples
    --------
    >>> read_weighted_populations("2025/26")["population"].sum().round(-5)
    np.float64(63800000.0)
    """
    from ..datasets import PRACTICE_YEARS, load_practices
    from ..inputs.records import financial_year

    if isinstance(source, (str, int)) and not str(source).lower().endswith((".csv", ".parquet")):
        try:
            year = financial_year(source)
        except InputError:
            year = None
        if year is not None:
            if year not in PRACTICE_YEARS:
                raise InputError(f"The 'source' year must be one of {list(PRACTICE_YEARS)}. Got {source!r}. "
                                 "Fix: pass NHS England's CSV for other years.")
            return load_practices(year)
    if (isinstance(source, str) and source.lower().endswith(".csv")) or (hasattr(source, "__fspath__") \
            and str(source).lower().endswith(".csv")):
        frame = pd.read_csv(source, encoding="utf-8-sig", dtype={"Practice_Code": str})
    else:
        frame = as_frame(source, "source")
    frame = frame.rename(columns={k: v for k, v in _RAW.items() if k in frame.columns})
    missing = [c for c in ("practice_code", "population") if c not in frame.columns]
    if missing:
        raise SchemaError(f"The weighted-population table lacks {missing}. It has {list(frame.columns)[:12]}. "
                          "Fix: pass NHS England's practice file, or name the columns practice_code, "
                          "population, wp_core_final, ...")
    frame = frame.loc[:, ~frame.columns.duplicated()]
    if frame["practice_code"].duplicated().any():
        dup = frame.loc[frame["practice_code"].duplicated(), "practice_code"].head(5).tolist()
        raise InputError(f"The weighted-population table repeats practices {dup}. Fix: one row per practice.")
    return frame.reset_index(drop=True)


def published_need(source="2025/26", component: str = "core") -> pd.DataFrame:
    """NHS England's weighted population of one component as practice need, ready for :func:`allocate`.

    Parameters
    ----------
    source : str, path or pandas.DataFrame
        See :func:`read_weighted_populations`.
    component : str
        One of :data:`COMPONENTS`: ``"core"`` (Final WP), ``"primary_medical_care_final"``,
        ``"general_acute"``, ...

    Returns
    -------
    pandas.DataFrame
        Indexed by ``practice_code``: ``need`` (the weighted population), ``registered`` (NHS England's
        practice population) and ``icb_code`` when known.

    Examples
    --------
    >>> from capitation import allocate
    >>> need = published_need("2025/26", "core")
    >>> alloc = allocate(need, 100_000_000_000)
    >>> int(alloc.practices["budget_pence"].sum())
    10000000000000
    """
    if component not in COMPONENTS:
        raise InputError(f"The 'component' parameter of published_need must be one of {list(COMPONENTS)}. "
                         f"Got {component!r}. Fix: 'core' is the Final WP; 'general_acute' the G&A need.")
    frame = read_weighted_populations(source)
    column = COMPONENTS[component]
    if column not in frame.columns:
        raise SchemaError(f"The weighted-population table has no {column!r} column for component {component!r}.")
    out = pd.DataFrame({"need": frame[column].to_numpy(dtype=np.float64),
                        "registered": frame["population"].to_numpy(dtype=np.float64)},
                       index=pd.Index(frame["practice_code"].astype(object).to_numpy(), name="practice_code"))
    if "icb_code" in frame.columns:
        out["icb_code"] = frame["icb_code"].astype(object).to_numpy()
    return out
