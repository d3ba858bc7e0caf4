"""Need and current allocations from outside the model.

The sources are NHS England's published practice weighted populations, a need table computed elsewhere and
a table of current allocations. With the published weighted populations an ICB can share its envelope among
its places without fitting any model::

    need = published_need("2025/26", component="core")
    places = Membership.from_frame(my_places, level="place")
    allocate(need.loc[places.practices], envelope, membership=places)

Both record which file they used: the frame's ``attrs["source"]`` holds the file's name and SHA-256 (for a
shipped year, those of NHS England's published CSV it was derived from), read by :func:`source_of`. Versions
of one year's file in circulation differ there even where they agree on the name.

A need table per person (as ``capitation score`` writes) or per practice is read by :func:`need_from_table`,
and a table of current allocations (for the distance from target) by :func:`baseline_from_table`. Need per head
estimated on a sample of each list becomes need for the whole lists in :func:`~capitation.aggregation.aggregate`.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import as_frame, sha256_path
from ..errors import InputError, SchemaError

__all__ = ["COMPONENTS", "SOURCE_KEY", "baseline_from_table", "need_from_table", "need_on_published_lists",
           "published_need", "read_weighted_populations", "source_of"]

#: Key of ``DataFrame.attrs`` under which :func:`read_weighted_populations` and :func:`published_need` record
#: the file they used (see :func:`source_of`).
SOURCE_KEY = "source"

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
    """Read a practice weighted-population table into the package's column names, recording its source.

    Parameters
    ----------
    source : str, path or pandas.DataFrame
        A shipped year (``'2025/26'``), NHS England's CSV file (any of the three years' headings; the
        byte-order mark is handled), a Parquet file, or a frame with either NHS England's or the package's
        columns.

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``icb_code``, ``population`` and the ``wp_*`` columns present. ``attrs["source"]``
        records what was read (see :func:`source_of`): ``kind`` (``"shipped"``, ``"file"`` or
        ``"DataFrame"``), ``name`` and ``sha256`` of the file (for a shipped year, NHS England's published
        CSV it was derived from; for a path, the bytes read; for a frame, ``"DataFrame"`` and ``None``),
        ``year`` (a shipped year's, else ``None``) and, for a shipped year, ``shipped_file`` and
        ``shipped_sha256``, the package's own file.

    Examples
    --------
    >>> frame = read_weighted_populations("2025/26")
    >>> frame["population"].sum().round(-5)
    np.float64(63800000.0)
    >>> source = source_of(frame)
    >>> source["name"], source["sha256"][:12], source["year"]
    ('nhse_practice_weighted_populations_2025_26.csv', 'ec4f15678eb8', '2025/26')
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
            frame = load_practices(year)
            frame.attrs[SOURCE_KEY] = _shipped_source(year)
            return frame
    record = None
    if isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(".csv"):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"The 'source' parameter names {str(path)!r}, which is not a file. Fix: check the "
                             "path of NHS England's practice weighted-population CSV.")
        data = path.read_bytes()  # hashed and parsed from the same bytes: the record is of what was read
        record = _record("file", path.name, hashlib.sha256(data).hexdigest())
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"Practice_Code": str})
    elif isinstance(source, pd.DataFrame):
        record = _record("DataFrame", "DataFrame", None)
        if isinstance(source.attrs.get(SOURCE_KEY), dict):  # where the frame had been read from, as it said
            record["read_from"] = copy.deepcopy(source.attrs[SOURCE_KEY])
        frame = source
    else:
        frame = as_frame(source, "source")  # refuses what is neither a frame nor an existing path
        record = _record("file", Path(source).name, sha256_path(source))
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
    frame = frame.reset_index(drop=True)
    frame.attrs = {**frame.attrs, SOURCE_KEY: record}
    return frame


def _record(kind: str, name: str, sha256: str | None, year: str | None = None) -> dict:
    return {"kind": kind, "name": name, "sha256": sha256, "year": year, "shipped_file": None,
            "shipped_sha256": None}


def _shipped_source(year: str) -> dict:
    """Return a shipped year's record: NHS England's file it came from and the package's file it is read from."""
    from ..datasets.practices import PUBLISHED_FILES, SHIPPED_FILE, _shipped_sha256

    published = PUBLISHED_FILES[year]
    record = _record("shipped", published["name"], published["sha256"], year)
    record.update(shipped_file=SHIPPED_FILE, shipped_sha256=_shipped_sha256())
    return record


def source_of(data) -> dict | None:
    """Return the file a weighted-population table or published need came from, as recorded when it was read.

    :func:`read_weighted_populations` and :func:`published_need` record it in ``attrs["source"]``; pandas
    keeps it through selection, reindexing and arithmetic (``need.loc[codes]``, ``need["need"]``), but not in
    a frame written to a file, built anew or concatenated with another source's. The record says where the
    data was read from, not that it is unchanged since: editing the values in place leaves it as it was.

    Parameters
    ----------
    data : pandas.DataFrame or pandas.Series
        A table returned by :func:`read_weighted_populations` or :func:`published_need`, or derived from one.

    Returns
    -------
    dict or None
        A copy of the record: ``kind``, ``name``, ``sha256``, ``year``, ``shipped_file``,
        ``shipped_sha256`` (and from :func:`published_need`, ``component``); ``None`` when none is recorded.

    Examples
    --------
    >>> need = published_need("2025/26", "core")
    >>> source = source_of(need.loc[["A81001", "A81002"], "need"])
    >>> source["name"], source["component"], source["shipped_file"]
    ('nhse_practice_weighted_populations_2025_26.csv', 'core', 'practices.parquet')
    >>> import pandas as pd
    >>> source_of(pd.DataFrame({"need": [1.0]})) is None
    True
    """
    attrs = getattr(data, "attrs", None)
    record = attrs.get(SOURCE_KEY) if isinstance(attrs, dict) else None
    return copy.deepcopy(record) if isinstance(record, dict) else None


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
        practice population) and ``icb_code`` when known. ``attrs["source"]`` records the file used, as
        :func:`read_weighted_populations` does, and the ``component`` (read it with :func:`source_of`).

    Examples
    --------
    >>> from capitation import allocate
    >>> need = published_need("2025/26", "core")
    >>> alloc = allocate(need, 100_000_000_000)
    >>> int(alloc.practices["budget_pence"].sum())
    10000000000000
    >>> source = source_of(need)
    >>> source["name"], source["sha256"][:12], source["component"]
    ('nhse_practice_weighted_populations_2025_26.csv', 'ec4f15678eb8', 'core')
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
    out.attrs[SOURCE_KEY] = {**frame.attrs[SOURCE_KEY], "component": component}
    return out


def need_on_published_lists(need_per_head: pd.Series, year="2025/26", *, default_per_head: float,
                            practices=None, whole_people: bool = False) -> pd.DataFrame:
    """Need of each practice's whole published list: need per head (estimated on a sample) × list size.

    .. deprecated::
        Use :func:`~capitation.aggregation.aggregate` with ``membership=Membership.nhs_england(year)`` (or
        ``list_sizes=``), the one way to fund lists from a sample's need per head; this function warns.

    Parameters
    ----------
    need_per_head : pandas.Series
        Need per head (£) by practice code, e.g. ``aggregate(sample, need).practices["need_per_head"]``.
    year : str
        The year of NHS England's practice file whose registered populations are used.
    default_per_head : float
        Need per head of a practice that ``need_per_head`` does not give (e.g. the sample's national mean).
    practices : sequence of str, optional
        Only these practices (all practices of the file by default).
    whole_people : bool
        List sizes rounded to whole people, leaving out practices of nobody; by default they are used as
        published (NHS England projects them forward, so they are fractional).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``practice_code``, in the file's order: ``need`` (£ a year), ``registered`` (the list size
        used) and ``estimated`` (whether ``need_per_head`` gave the practice's need per head).

    Examples
    --------
    >>> import pandas as pd
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     lists = need_on_published_lists(pd.Series({"A81001": 900.0}), "2025/26", default_per_head=1000.0,
    ...                                     practices=["A81001", "A81002"], whole_people=True)
    >>> lists["estimated"].tolist(), bool((lists["need"] == lists["registered"] * [900.0, 1000.0]).all())
    ([True, False], True)
    """
    import warnings

    from ..datasets import load_practices

    warnings.warn("need_on_published_lists is deprecated: aggregate(population, need, "
                  "membership=Membership.nhs_england(year)) funds the published lists from the sample's need per "
                  "head, the same way everywhere.", DeprecationWarning, stacklevel=2)
    frame = load_practices(year)
    if whole_people:
        frame = frame[frame["population"].round() > 0]
    if practices is not None:
        frame = frame[frame["practice_code"].isin(list(practices))]
    per_head = need_per_head.reindex(frame["practice_code"])
    estimated = per_head.notna().to_numpy()
    per_head = per_head.fillna(default_per_head)
    sizes = frame["population"].round() if whole_people else frame["population"]
    registered = pd.Series(sizes.to_numpy(), index=frame["practice_code"])
    return pd.DataFrame({"need": per_head.to_numpy() * registered.to_numpy(), "registered": registered.to_numpy(),
                         "estimated": estimated}, index=registered.index)

#: Numbers as text: plain decimals (``1234.5``, ``-2``, ``1e3``), or with commas between groups of three digits.
_PLAIN_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_GROUPED_NUMBER = r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"


def _numbers(frame: pd.DataFrame, column: str, name: str = "need") -> np.ndarray:
    """Read the column's numbers: int64 when all are whole in an integer column or in text, else float64.

    Text may hold numbers with thousands separators (``"1,234"`` is 1234; ``"12,34"`` is refused). Missing
    values, NaN, infinity and text that is not a number raise :class:`~capitation.errors.InputError` naming
    the column, the rows and the values.
    """
    from .._validation import check_finite, describe_rows

    series = frame[column]
    if pd.api.types.is_integer_dtype(series.dtype) and not pd.api.types.is_extension_array_dtype(series.dtype):
        return series.to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return check_finite(frame, name, column)
    text = series.astype("string").str.strip()
    missing = (text.isna() | (text == "")).to_numpy()
    number = (text.str.fullmatch(_PLAIN_NUMBER) | text.str.fullmatch(_GROUPED_NUMBER)).fillna(False).to_numpy()
    bad = ~number & ~missing
    shown = series.to_numpy(dtype=object)
    if bad.any():
        raise InputError(f"The {name!r} table's column {column!r} must hold numbers. Got {int(bad.sum()):,} row(s) "
                         f"that are not: {describe_rows(frame.index, bad, shown)}. Fix: write plain numbers such as "
                         "1234.5; commas may only separate thousands, as in 1,234,567.5.")
    if missing.any():
        raise InputError(f"The {name!r} table's column {column!r} is empty in {int(missing.sum()):,} row(s): "
                         f"{describe_rows(frame.index, missing, shown)}. Fix: fill those rows, or remove them "
                         "(nothing is dropped for you).")
    values = pd.to_numeric(text.str.replace(",", "", regex=False).to_numpy(dtype=object), errors="raise")
    if values.dtype.kind != "i":
        values = values.astype(np.float64)
    if values.dtype.kind == "f" and not np.isfinite(values).all():  # e.g. 1e999
        bad = ~np.isfinite(values)
        raise InputError(f"The {name!r} table's column {column!r} must hold finite numbers. Got "
                         f"{int(bad.sum()):,} row(s) too large: {describe_rows(frame.index, bad, shown)}. "
                         "Fix: correct those rows.")
    return values


def _practice_codes(frame: pd.DataFrame) -> np.ndarray:
    """Return the practice_code column as text, refusing missing codes (which would otherwise become 'nan')."""
    from .._validation import describe_rows

    codes = frame["practice_code"]
    missing = codes.isna().to_numpy()
    if missing.any():
        raise InputError(f"The 'need' table's column 'practice_code' is empty in {int(missing.sum()):,} row(s): "
                         f"{describe_rows(frame.index, missing, codes.to_numpy(dtype=object))}. Fix: fill the "
                         "practice codes, or remove those rows.")
    return np.asarray(codes.astype(str), dtype=object)


def need_from_table(frame: pd.DataFrame, *, membership=None, list_sizes=None, unassigned: str = "raise"):
    """Practice need from a table: per person, summed exactly over each list, or per practice.

    Parameters
    ----------
    frame : pandas.DataFrame
        Either one row per person, ``person_id``, ``practice_code`` and ``need`` (as ``capitation score``
        writes), or one row per practice, ``practice_code``, ``need`` and ``registered``. Numbers may be text
        with thousands separators (``"1,234"``); anything else that is not a number, missing values and a
        person listed twice are refused, naming the column, rows and values.
    membership, list_sizes, unassigned
        Per person: the lists to fund, as in :func:`~capitation.aggregation.aggregate` (by default the
        membership's list sizes when it has them, else the people in the table).

    Returns
    -------
    Aggregation or pandas.DataFrame
        Per person: an :class:`~capitation.aggregation.Aggregation` of the people's need over the lists
        funded (see :func:`~capitation.aggregation.aggregate`). Per practice: a DataFrame indexed by practice
        code with ``need`` and ``registered``. Either is what :func:`~capitation.allocation.allocate` takes.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.allocation import allocate
    >>> people = pd.DataFrame({"person_id": [1, 2, 3], "practice_code": ["A81001", "A81001", "A81002"],
    ...                        "need": [100.0, 300.0, 400.0]})
    >>> need_from_table(people).practices[["registered", "need"]].to_dict("list")
    {'registered': [2, 1], 'need': [400.0, 400.0]}
    >>> practices = pd.DataFrame({"practice_code": ["A81001", "A81002"], "need": ["1,500", "500"],
    ...                           "registered": [1000, 900]})
    >>> allocate(need_from_table(practices), 100).practices["budget_pence"].tolist()
    [7500, 2500]
    """
    from .._validation import check_unique, require_columns
    from ..aggregation.aggregate import FIXED_POINT_SCALE, aggregation_from_totals, exact_group_sum

    if "person_id" in frame.columns:
        require_columns(frame, "need", ["practice_code", "need"])
        check_unique(frame, "need", "person_id", frame["person_id"].to_numpy())
        need = _numbers(frame, "need")
        codes, practices = pd.factorize(_practice_codes(frame), sort=True)
        people = np.bincount(codes, minlength=len(practices)).astype(np.int64)
        totals = {"registered": people, "person_years": people * int(FIXED_POINT_SCALE),  # a year each
                  "need": exact_group_sum(need, codes.astype(np.int32), len(practices), "need")}
        return aggregation_from_totals(np.asarray(practices, dtype=object), totals, membership=membership,
                                       list_sizes=list_sizes, unassigned=unassigned)
    require_columns(frame, "need", ["practice_code", "need", "registered"])
    return pd.DataFrame({"need": _numbers(frame, "need"), "registered": _numbers(frame, "registered")},
                        index=_practice_codes(frame))


def baseline_from_table(frame: pd.DataFrame) -> pd.Series:
    """Read current allocations (£) from a table whose first two columns are a code and the amount.

    Parameters
    ----------
    frame : pandas.DataFrame
        The code of each practice or consortium in the first column and its current allocation in pounds in
        the second (numbers, or text with thousands separators such as ``"1,234.50"``); other columns are
        ignored.

    Returns
    -------
    pandas.Series
        Pounds (float) indexed by code (text), as the ``baseline`` of :func:`~capitation.allocation.allocate`.

    Examples
    --------
    >>> import pandas as pd
    >>> baseline_from_table(pd.DataFrame({"icb_code": ["QE1", "QOC"], "current": ["1,250.50", "900"]})).to_dict()
    {'QE1': 1250.5, 'QOC': 900.0}
    """
    if frame.shape[1] < 2:
        raise SchemaError(f"The 'baseline' table must have two columns, code and current allocation (£). Got "
                          f"{[str(c) for c in frame.columns]}. Fix: e.g. practice_code,baseline.")
    return pd.Series(_numbers(frame, frame.columns[1], "baseline").astype(float),
                     index=frame.iloc[:, 0].astype(str).to_numpy())
