"""Which consortium each practice belongs to, as data, and when.

A :class:`Membership` is one snapshot (practice → consortium) with the dates it is in force; a
:class:`MembershipHistory` is a run of non-overlapping snapshots, so that a budget for 2024/25 uses the
2024/25 membership and a practice that moves between groups carries exactly its own budget with it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._io import as_frame
from .._validation import parse_dates, require_columns
from ..errors import InputError, UnknownCodeError

__all__ = ["UNASSIGNED", "Membership", "MembershipHistory", "as_date", "as_list_sizes"]

#: Consortium code given to practices outside the membership when ``unassigned="line"``.
UNASSIGNED = "UNASSIGNED"

_FINANCIAL_YEAR = re.compile(r"^[0-9]{4}([/-][0-9]{2}|/[0-9]{4}|[0-9]{2})?$")  # ASCII digits only

_NHSE_LEVELS = {"ICB": ("icb_code", "icb_name"), "region": ("region", "region")}


def list_sizes_column(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """Return a column of list sizes as float64, refusing missing, infinite, negative and non-numeric values."""
    from .._validation import check_finite, describe_rows

    if not pd.api.types.is_numeric_dtype(frame[column].dtype) or pd.api.types.is_bool_dtype(frame[column].dtype):
        raise InputError(f"The {name!r} table's column {column!r} must hold numbers (people on each list). Got "
                         f"dtype {frame[column].dtype}, e.g. {frame[column].head(3).tolist()}. Fix: convert it "
                         "first, e.g. pd.to_numeric(...) after removing thousands separators.")
    values = check_finite(frame, name, column)
    negative = values < 0
    if negative.any():
        raise InputError(f"The {name!r} table's column {column!r} must not be negative: "
                         f"{describe_rows(frame.index, negative, values)}. Fix: a list size counts people.")
    return values


def as_list_sizes(values, name: str = "list_sizes") -> pd.Series:
    """Read registered list sizes by practice code: a Series, a mapping, or a table with ``list_size``.

    Parameters
    ----------
    values : pandas.Series, dict or pandas.DataFrame
        People on each practice's registered list, indexed (or keyed) by practice code; or a table with
        columns ``practice_code`` and ``list_size``. Sizes may be fractional (NHS England projects its
        list sizes forward) and must be finite and non-negative.
    name : str
        The parameter's name, for messages.

    Returns
    -------
    pandas.Series
        float64, indexed by ``practice_code`` (text), sorted.

    Raises
    ------
    InputError
        A practice listed twice, a missing code, or a size that is missing, infinite, negative or not a number.

    Examples
    --------
    >>> as_list_sizes({"A81002": 1200, "A81001": 950.5}).to_dict()
    {'A81001': 950.5, 'A81002': 1200.0}
    """
    if isinstance(values, pd.DataFrame):
        require_columns(values, name, ["practice_code", "list_size"])
        frame = pd.DataFrame({"practice_code": values["practice_code"].to_numpy(dtype=object),
                              "list_size": values["list_size"].to_numpy()}, index=values.index)
    elif isinstance(values, (pd.Series, dict)):
        series = pd.Series(values)
        frame = pd.DataFrame({"practice_code": series.index.to_numpy(dtype=object),
                              "list_size": series.to_numpy()})
    else:
        raise InputError(f"The {name!r} parameter must be a Series or dict of list sizes by practice code, or a "
                         f"table with columns practice_code and list_size. Got {type(values).__name__}. Fix: "
                         "e.g. pd.Series({'A81001': 9512.0}).")
    codes = frame["practice_code"]
    if codes.isna().any():
        raise InputError(f"The {name!r} list sizes have missing practice codes at rows "
                         f"{frame.index[codes.isna().to_numpy()][:5].tolist()}. Fix: fill or remove them.")
    codes = codes.astype(str)
    if codes.duplicated().any():
        raise InputError(f"The {name!r} list sizes repeat practices {codes[codes.duplicated()].head(5).tolist()}. "
                         "Fix: one list size per practice.")
    if not pd.api.types.is_numeric_dtype(frame["list_size"].dtype):
        frame["list_size"] = pd.to_numeric(frame["list_size"], errors="coerce")
    sizes = list_sizes_column(frame, "list_size", name)
    return pd.Series(sizes, index=pd.Index(codes.to_numpy(dtype=object), name="practice_code"),
                     name="list_size").sort_index()


def as_date(value, name: str = "date") -> pd.Timestamp:
    """Read a date, or a financial year (``'2024/25'``, ``'2024-25'``, ``2024``) as its 1 April start.

    Parameters
    ----------
    value : date-like, str or int
        A date (``'2024-07-01'``, a ``datetime`` or ``Timestamp``) or a financial year; an integer is a
        financial year's starting calendar year.
    name : str
        The parameter that gave ``value``, for the error message.

    Returns
    -------
    pandas.Timestamp
        Midnight of the day (time of day dropped).

    Raises
    ------
    InputError
        ``value`` is neither a date nor a financial year.

    Examples
    --------
    >>> from capitation.aggregation.membership import as_date
    >>> as_date("2024/25"), as_date("2024-07-01")
    (Timestamp('2024-04-01 00:00:00'), Timestamp('2024-07-01 00:00:00'))
    """
    from ..inputs.records import financial_year

    if isinstance(value, (int, np.integer)) or (isinstance(value, str) and _FINANCIAL_YEAR.match(value.strip())):
        return pd.Timestamp(int(financial_year(value)[:4]), 4, 1)
    try:
        out = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"The {name!r} parameter must be a date or a financial year. Got {value!r}. "
                         "Fix: pass e.g. '2024-04-01' or '2024/25'.") from exc
    if out is pd.NaT:
        raise InputError(f"The {name!r} parameter must be a date or a financial year. Got {value!r}.")
    return out.normalize()


@dataclass(frozen=True, eq=False)
class Membership:
    """Practice → consortium (ICB, sub-ICB, PCN, place or any grouping), in force over a period.

    A consortium's budget is always the sum of its member practices' budgets; membership never comes from
    where people live.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``practice_code``, ``consortium_code``, ``consortium_name`` and, when the membership knows
        them, ``list_size`` (the registered list of each practice) and ``practice_name``; one row per
        practice.
    level : str
        What the consortia are, e.g. ``"ICB"``.
    valid_from, valid_to : pandas.Timestamp or None
        The period the membership is in force, ``[valid_from, valid_to)``; ``None`` is open-ended.
    list_source : str
        Where the list sizes come from (``""`` without them), e.g. ``"NHS England's 2025/26 practice file"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.aggregation import Membership
    >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
    ...                                         "consortium_code": ["QHM", "QHM"]}))
    >>> m.consortia
    ['QHM']
    """

    table: pd.DataFrame
    level: str = "consortium"
    valid_from: pd.Timestamp | None = None
    valid_to: pd.Timestamp | None = None
    list_source: str = ""

    def __post_init__(self) -> None:
        if self.valid_from is not None and self.valid_to is not None and self.valid_to <= self.valid_from:
            raise InputError(f"The 'valid_to' date ({self.valid_to.date()}) of a Membership must be after its "
                             f"'valid_from' date ({self.valid_from.date()}). Fix: valid_to is exclusive, e.g. "
                             "valid_from='2024-04-01', valid_to='2025-04-01' for 2024/25.")

    @classmethod
    def from_frame(cls, frame, *, practice: str = "practice_code", consortium: str = "consortium_code",
                   name: str | None = None, level: str = "consortium", valid_from=None, valid_to=None,
                   year=None, list_size: str | None = None, practice_name: str | None = None) -> Membership:
        """Validate a practice → consortium table (one row per practice).

        Parameters
        ----------
        frame : pandas.DataFrame or path
            One row per practice (a Parquet path is read).
        practice, consortium : str
            Column names of the practice and consortium codes.
        name : str, optional
            Column of consortium names (``consortium_name`` is used when present).
        level : str
            Label of the grouping, e.g. ``"ICB"`` or ``"place"``.
        valid_from, valid_to : date-like or financial year, optional
            The period the membership is in force, ``[valid_from, valid_to)``.
        year : str, optional
            Shorthand for a whole financial year: ``year='2024/25'`` is 1 April 2024 to 1 April 2025.
        list_size : str, optional
            Column of each practice's registered list size (people; fractional when projected). With it,
            :func:`~capitation.aggregation.aggregate` funds these lists by default (see :attr:`list_sizes`).
        practice_name : str, optional
            Column of practice names, carried into budget tables (``practice_name`` is used when present).

        Returns
        -------
        Membership
            Sorted by practice code; consortium names default to the codes when no name column is given.

        Raises
        ------
        SchemaError
            A named column is missing.
        InputError
            A missing code, a practice listed twice, the reserved code ``'UNASSIGNED'``, or dates that do not
            make a period.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001"], "consortium_code": ["P1"]}),
        ...                           level="place", year="2024/25")
        >>> m.valid_from.date(), m.valid_to.date()
        (datetime.date(2024, 4, 1), datetime.date(2025, 4, 1))
        """
        frame = as_frame(frame, "membership")
        require_columns(frame, "membership", [practice, consortium] + ([list_size] if list_size else []))
        if name is None and "consortium_name" in frame.columns:
            name = "consortium_name"
        table = pd.DataFrame({
            "practice_code": frame[practice].astype(object).to_numpy(),
            "consortium_code": frame[consortium].astype(object).to_numpy(),
            "consortium_name": (frame[name].astype(object).to_numpy() if name else
                                frame[consortium].astype(object).to_numpy()),
        })
        if list_size:
            table["list_size"] = list_sizes_column(frame, list_size, "membership")
        if practice_name is None and "practice_name" in frame.columns:
            practice_name = "practice_name"
        if practice_name:
            require_columns(frame, "membership", [practice_name])
            table["practice_name"] = frame[practice_name].astype(object).to_numpy()
        for column in ("practice_code", "consortium_code"):
            missing = table[column].isna().to_numpy()
            if missing.any():
                rows = frame.index[missing][:5].tolist()
                raise InputError(f"The 'membership' table's column {column!r} is missing at rows {rows}. "
                                 "Fix: every practice needs a consortium; mark deliberate gaps with your own "
                                 "code, or leave those practices out and allocate with unassigned='line'.")
        if (table["consortium_code"] == UNASSIGNED).any():
            raise InputError(f"The 'membership' table's column 'consortium_code' uses the reserved consortium code "
                             f"{UNASSIGNED!r}. Fix: "
                             "leave unassigned practices out and allocate with unassigned='line'.")
        dup = table["practice_code"].duplicated(keep=False).to_numpy()
        if dup.any():
            clash = table[dup].groupby("practice_code")["consortium_code"].unique().head(5)
            detail = "; ".join(f"{p} in {sorted(c)}" for p, c in clash.items())
            raise InputError(f"The 'membership' table's column 'practice_code' lists "
                             f"{int(table.practice_code[dup].nunique())} practice(s) more than once: {detail}. "
                             "A practice belongs to one consortium at a "
                             "time. Fix: keep the membership effective for the allocation year, or build a "
                             "MembershipHistory from dated rows.")
        if year is not None:
            if valid_from is not None or valid_to is not None:
                raise InputError("Pass either 'year' or 'valid_from'/'valid_to' to Membership.from_frame, not "
                                 f"both. Got year={year!r}, valid_from={valid_from!r}, valid_to={valid_to!r}.")
            valid_from = as_date(year, "year")
            valid_to = valid_from + pd.DateOffset(years=1)
        start = None if valid_from is None else as_date(valid_from, "valid_from")
        end = None if valid_to is None else as_date(valid_to, "valid_to")
        source = f"the membership table's column {list_size!r}" if list_size else ""
        return cls(table.sort_values("practice_code", ignore_index=True), level, start, end, source)

    @classmethod
    def nhs_england(cls, year: str = "2025/26", level: str = "ICB") -> Membership:
        """Practice membership from NHS England's weighted-population file for ``year``.

        Parameters
        ----------
        year : str
            ``'2023/24'``, ``'2024/25'`` or ``'2025/26'``; the membership is in force for that year.
        level : {"ICB", "region"}
            The grouping read from the file.

        Returns
        -------
        Membership
            Every practice of the year's file (see :func:`~capitation.datasets.load_practices`), in force from
            1 April of ``year`` to the next 1 April, with the file's registered list sizes (NHS England's
            ``Population``, projected forward, so fractional) as :attr:`list_sizes`.

        Examples
        --------
        >>> from capitation.aggregation import Membership
        >>> len(Membership.nhs_england("2025/26").consortia)
        42
        """
        from ..datasets import load_practices

        if level not in _NHSE_LEVELS:
            raise InputError(f"The 'level' parameter of Membership.nhs_england must be one of "
                             f"{list(_NHSE_LEVELS)}. Got {level!r} instead. Fix: for places, PCNs or sub-ICB "
                             "locations pass your own table to Membership.from_frame.")
        code, label = _NHSE_LEVELS[level]
        practices = load_practices(year)
        membership = cls.from_frame(practices, consortium=code, name=label, level=level, year=year,
                                    list_size="population")
        return replace(membership, list_source=f"NHS England's {year} practice file")

    @classmethod
    def from_nhs_digital(cls, registrations, level: str = "ICB", *, year=None) -> Membership:
        """Practice membership and registered lists from NHS Digital's "Patients Registered at a GP Practice".

        The practice → PCN → sub-ICB → ICB → region map gives each practice's consortium at ``level``; the
        single-age files' ``ALL`` rows (male plus female) give its registered list. Only practices in both, with
        a code at ``level``, are members: the others are counted on ``registrations.unmatched``
        (``not_in_map``, ``not_in_lists``, ``without_<level>``), where their codes are listed; allocate with
        ``unassigned="line"`` to show people of practices outside the membership on their own line.

        **Dates.** An extract is a snapshot as at its date, so the membership is in force from the extract date,
        open-ended (``valid_to=None``): the library does not guess how long a snapshot holds. Budgets are set
        for a financial year, often from lists of an earlier month; pass ``year='2025/26'`` to date the
        membership for that whole year (1 April to the next 1 April), as :meth:`nhs_england` does, and so build
        a :class:`MembershipHistory` of one snapshot per year.

        Parameters
        ----------
        registrations : NhsDigitalRegistrations
            From :func:`~capitation.inputs.registrations.read_nhs_digital_registrations`, read with its
            ``practice_map``.
        level : {"ICB", "sub-ICB", "PCN", "region"}
            The grouping: ICBs (STPs before July 2022), sub-ICB locations (CCGs before July 2022), primary care
            networks or NHS England commissioning regions.
        year : str, optional
            The financial year the membership is in force for, instead of from the extract date onwards.

        Returns
        -------
        Membership
            With ``list_size`` (the published registered lists, whole people), ``practice_name`` and
            ``list_source`` naming the publication and the extract date.

        Raises
        ------
        InputError
            ``registrations`` is not that result, was read without a practice map, or ``level`` is not one of
            the four.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> from capitation.inputs.registrations import read_nhs_digital_registrations
        >>> def one_sex(sex, n):
        ...     return pd.DataFrame({"PUBLICATION": "GP_PRAC_PAT_LIST", "EXTRACT_DATE": "2025-07-01",
        ...                          "ORG_CODE": ["A81001"] * 2, "SEX": sex, "AGE": ["95+", "ALL"],
        ...                          "NUMBER_OF_PATIENTS": [n, n]})
        >>> practice_map = pd.DataFrame({"PRACTICE_CODE": ["A81001"], "PRACTICE_NAME": ["THE DENSHAM SURGERY"],
        ...                              "PCN_CODE": ["U89141"], "PCN_NAME": ["STOCKTON PCN"]})
        >>> lists = read_nhs_digital_registrations(one_sex("MALE", 4), one_sex("FEMALE", 6), practice_map=practice_map)
        >>> m = Membership.from_nhs_digital(lists, level="PCN")
        >>> m.consortia, m.list_sizes.to_dict(), m.valid_from.date(), m.valid_to
        (['U89141'], {'A81001': 10.0}, datetime.date(2025, 7, 1), None)
        >>> m.list_source
        "NHS Digital's Patients Registered at a GP Practice (GP_PRAC_PAT_LIST), extract of 2025-07-01"
        """
        from ..inputs.registrations import MAP_LEVELS, NhsDigitalRegistrations

        if not isinstance(registrations, NhsDigitalRegistrations):
            raise InputError(f"The 'registrations' parameter of Membership.from_nhs_digital must be the result of "
                             f"read_nhs_digital_registrations. Got {type(registrations).__name__}. Fix: "
                             "read_nhs_digital_registrations(male, female, practice_map=...) first.")
        if level not in MAP_LEVELS:
            raise InputError(f"The 'level' parameter of Membership.from_nhs_digital must be one of "
                             f"{list(MAP_LEVELS)}. Got {level!r} instead. Fix: e.g. level='sub-ICB'.")
        table = registrations.membership_table(level)
        stamp = registrations.extract_date
        dates = {"year": year} if year is not None else {"valid_from": stamp}
        membership = cls.from_frame(table, name="consortium_name", level=level, list_size="list_size",
                                    practice_name="practice_name", **dates)
        publication = f" ({registrations.publication})" if registrations.publication else ""
        return replace(membership, list_source=f"NHS Digital's Patients Registered at a GP Practice{publication}, "
                                               f"extract of {stamp.date()}")

    @property
    def consortia(self) -> list[str]:
        """Consortium codes, sorted."""
        return sorted(self.table["consortium_code"].unique())

    @property
    def practices(self) -> list[str]:
        """Practice codes, sorted."""
        return self.table["practice_code"].tolist()

    @property
    def practice_names(self) -> pd.Series | None:
        """Each practice's name by practice code, or ``None`` when the membership has none.

        Examples
        --------
        >>> from capitation.aggregation import Membership
        >>> Membership.nhs_england("2025/26").practice_names.iloc[0]
        'THE DENSHAM SURGERY'
        """
        if "practice_name" not in self.table.columns:
            return None
        return pd.Series(self.table["practice_name"].to_numpy(dtype=object),
                         index=pd.Index(self.table["practice_code"].to_numpy(dtype=object), name="practice_code"),
                         name="practice_name")

    @property
    def list_sizes(self) -> pd.Series | None:
        """Each practice's registered list size (people), or ``None`` when the membership has none.

        These are the lists :func:`~capitation.aggregation.aggregate` funds by default: for
        :meth:`nhs_england`, NHS England's published registered populations of that year.

        Examples
        --------
        >>> from capitation.aggregation import Membership
        >>> lists = Membership.nhs_england("2025/26").list_sizes
        >>> len(lists), round(lists.sum(), -5)
        (6348, np.float64(63800000.0))
        """
        if "list_size" not in self.table.columns:
            return None
        return pd.Series(self.table["list_size"].to_numpy(dtype=np.float64),
                         index=pd.Index(self.table["practice_code"].to_numpy(dtype=object), name="practice_code"),
                         name="list_size")

    def in_force(self, when) -> bool:
        """Tell whether the membership is in force on a day.

        Parameters
        ----------
        when : date-like or financial year
            The day; a financial year stands for its 1 April (see :func:`as_date`).

        Returns
        -------
        bool
            ``valid_from <= when < valid_to``, an open end always holding.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"],
        ...                                         "consortium_code": ["QHM", "QHM", "QOQ"],
        ...                                         "consortium_name": ["North East", "North East", "Humber"]}),
        ...                           level="ICB", year="2024/25")
        >>> m.in_force("2024-07-01"), m.in_force("2025/26")
        (True, False)
        """
        day = as_date(when, "when")
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)

    def consortium_of(self, practice_codes, *, unassigned: str = "raise") -> np.ndarray:
        """Look up the consortium code of each practice.

        Parameters
        ----------
        practice_codes : array-like of str
            Practice codes, e.g. a population's ``practice_code``.
        unassigned : {"raise", "line"}
            A practice not in the membership raises :class:`~capitation.errors.UnknownCodeError`, or is given
            the code :data:`UNASSIGNED` (reported on its own line by the allocation).

        Returns
        -------
        ndarray of object
            One consortium code per practice code given.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"],
        ...                                         "consortium_code": ["QHM", "QHM", "QOQ"],
        ...                                         "consortium_name": ["North East", "North East", "Humber"]}),
        ...                           level="ICB", year="2024/25")
        >>> m.consortium_of(["A81003", "A81001"]).tolist()
        ['QOQ', 'QHM']
        >>> m.consortium_of(["A81003", "Y99999"], unassigned="line").tolist()
        ['QOQ', 'UNASSIGNED']
        """
        if unassigned not in ("raise", "line"):
            raise InputError(f"The 'unassigned' parameter must be 'raise' or 'line'. Got {unassigned!r} instead.")
        codes = np.asarray(practice_codes, dtype=object)
        where = pd.Index(self.table["practice_code"]).get_indexer(codes)
        unknown = where < 0
        if unknown.any() and unassigned == "raise":
            raise UnknownCodeError(
                f"{int(unknown.sum()):,} practice(s) have no {self.level} in the 'membership'{self._period()}, e.g. "
                f"{codes[unknown][:5].tolist()}. Fix: use the membership of the same year as the lists, or "
                "pass unassigned='line' to report them on an explicit 'UNASSIGNED' line."
            )
        out = self.table["consortium_code"].to_numpy(dtype=object)[np.where(unknown, 0, where)]
        out[unknown] = UNASSIGNED
        return out

    def members(self, consortium: str) -> list[str]:
        """List the member practices of one consortium.

        Parameters
        ----------
        consortium : str
            A consortium code of the membership.

        Returns
        -------
        list of str
            Practice codes, sorted.

        Raises
        ------
        UnknownCodeError
            ``consortium`` is not in the membership.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"],
        ...                                         "consortium_code": ["QHM", "QHM", "QOQ"],
        ...                                         "consortium_name": ["North East", "North East", "Humber"]}),
        ...                           level="ICB", year="2024/25")
        >>> m.members("QHM")
        ['A81001', 'A81002']
        """
        found = self.table.loc[self.table["consortium_code"] == consortium, "practice_code"].tolist()
        if not found:
            raise UnknownCodeError(f"The 'consortium' parameter of Membership.members names {consortium!r}, "
                                   "which is not in the membership. "
                                   f"Fix: use one of {self.consortia[:10]}{' …' if len(self.consortia) > 10 else ''}.")
        return found

    def as_series(self) -> pd.Series:
        """Practice → consortium as a Series: the form :func:`~capitation.features.encode` takes for groups.

        Returns
        -------
        pandas.Series
            Consortium codes indexed by ``practice_code``.

        Examples
        --------
        >>> import pandas as pd
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002"],
        ...                                         "consortium_code": ["QHM", "QHM"]}))
        >>> m.as_series().to_dict()
        {'A81001': 'QHM', 'A81002': 'QHM'}
        """
        return self.table.set_index("practice_code")["consortium_code"].copy()

    def names(self) -> dict[str, str]:
        """Map each consortium code to its name.

        Returns
        -------
        dict of str to str
            Consortium code → name, in order of the practices' codes.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"],
        ...                                         "consortium_code": ["QHM", "QHM", "QOQ"],
        ...                                         "consortium_name": ["North East", "North East", "Humber"]}),
        ...                           level="ICB", year="2024/25")
        >>> m.names()
        {'QHM': 'North East', 'QOQ': 'Humber'}
        """
        pairs = self.table.drop_duplicates("consortium_code")
        return dict(zip(pairs["consortium_code"], pairs["consortium_name"], strict=True))

    def move(self, practices, to: str, name: str | None = None, *, valid_from=None) -> Membership:
        """Move ``practices`` to consortium ``to`` (a new one when ``to`` is new), in a new membership.

        Parameters
        ----------
        practices : str or list of str
            Practice codes, all already members.
        to : str
            Destination consortium code.
        name : str, optional
            Its name, when it is a new consortium.
        valid_from : date-like, optional
            When the move takes effect (the new membership's start); unchanged otherwise.

        Returns
        -------
        Membership
            A copy with the practices moved; this membership is unchanged.

        Raises
        ------
        UnknownCodeError
            A practice is not a member.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A1", "A2"], "consortium_code": ["X", "X"]}))
        >>> m.move("A2", "Y").consortium_of(["A1", "A2"]).tolist()
        ['X', 'Y']
        """
        moving = [practices] if isinstance(practices, str) else list(practices)
        self.consortium_of(moving)  # raises on unknown practices
        table = self.table.copy()
        rows = table["practice_code"].isin(moving)
        label = name if name is not None else self.names().get(to, to)
        table.loc[rows, "consortium_code"] = to
        table.loc[rows, "consortium_name"] = label
        start = self.valid_from if valid_from is None else as_date(valid_from, "valid_from")
        return replace(self, table=table, valid_from=start)

    def changes(self, other: Membership) -> pd.DataFrame:
        """List the practices whose consortium differs between ``self`` (before) and ``other`` (after).

        Parameters
        ----------
        other : Membership
            The later membership.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``practice_code``, sorted: ``before``, ``after`` (``None`` when absent) and ``change``
            (``"moved"``, ``"joined"`` or ``"left"``).

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import Membership
        >>> m = Membership.from_frame(pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"],
        ...                                         "consortium_code": ["QHM", "QHM", "QOQ"],
        ...                                         "consortium_name": ["North East", "North East", "Humber"]}),
        ...                           level="ICB", year="2024/25")
        >>> m.changes(m.move("A81002", "QOQ")).to_dict("index")
        {'A81002': {'before': 'QHM', 'after': 'QOQ', 'change': 'moved'}}
        """
        a = self.table.set_index("practice_code")["consortium_code"]
        b = other.table.set_index("practice_code")["consortium_code"]
        both = pd.concat({"before": a, "after": b}, axis=1).astype(object)
        both = both[~(both["before"] == both["after"])]
        both["change"] = np.where(both["before"].isna(), "joined", np.where(both["after"].isna(), "left", "moved"))
        both.index.name = "practice_code"
        return both.sort_index().where(both.notna(), None)

    def _period(self) -> str:
        if self.valid_from is None and self.valid_to is None:
            return ""
        start = "…" if self.valid_from is None else str(self.valid_from.date())
        # valid_to is exclusive: people read a period by its last day (2025-04-01 to 2026-03-31)
        end = "…" if self.valid_to is None else str((self.valid_to - pd.Timedelta(days=1)).date())
        return f" in force {start} to {end}"

    def __repr__(self) -> str:
        return (f"Membership({len(self.table):,} practices in {len(self.consortia):,} {self.level}"
                f"{self._period()})")


@dataclass(frozen=True, eq=False)
class MembershipHistory:
    """Effective-dated memberships: non-overlapping snapshots, each in force over its own period.

    Attributes
    ----------
    memberships : tuple of Membership
        Sorted by ``valid_from``; every snapshot has a start date, and none overlaps the next.

    Examples
    --------
    >>> from capitation.aggregation import MembershipHistory
    >>> history = MembershipHistory.nhs_england()
    >>> history.as_of("2024/25").valid_from.date()
    datetime.date(2024, 4, 1)
    """

    memberships: tuple[Membership, ...]

    def __post_init__(self) -> None:
        snaps = tuple(self.memberships)
        if not snaps or any(not isinstance(m, Membership) for m in snaps):
            raise InputError("The 'memberships' of a MembershipHistory must be a non-empty sequence of "
                             "Membership. Fix: pass e.g. [Membership.nhs_england(y) for y in years].")
        undated = [i for i, m in enumerate(snaps) if m.valid_from is None]
        if undated:
            raise InputError(f"Memberships {undated} of the history have no 'valid_from' date. Fix: build them "
                             "with Membership.from_frame(..., year='2024/25') or valid_from=.")
        snaps = tuple(sorted(snaps, key=lambda m: m.valid_from))
        for before, after in itertools.pairwise(snaps):
            if before.valid_to is None or before.valid_to > after.valid_from:
                raise InputError(f"Memberships overlap: one in force from {before.valid_from.date()} to "
                                 f"{'open' if before.valid_to is None else before.valid_to.date()}, the next from "
                                 f"{after.valid_from.date()}. Fix: end each membership (valid_to) where the "
                                 "next begins.")
        object.__setattr__(self, "memberships", snaps)

    @classmethod
    def nhs_england(cls, years=None, level: str = "ICB") -> MembershipHistory:
        """Read NHS England's memberships for the years the package ships.

        Parameters
        ----------
        years : sequence of str, optional
            Financial years, among 2023/24, 2024/25 and 2025/26 (all three by default).
        level : {"ICB", "region"}
            The grouping read from each year's file (see :meth:`Membership.nhs_england`).

        Returns
        -------
        MembershipHistory
            One snapshot per year, each in force from its 1 April to the next.

        Examples
        --------
        >>> from capitation.aggregation import MembershipHistory
        >>> MembershipHistory.nhs_england(["2024/25", "2025/26"])
        MembershipHistory(2 snapshots: 2024-04-01 to 2025-03-31, 2025-04-01 to 2026-03-31)
        """
        from ..datasets import PRACTICE_YEARS

        return cls(tuple(Membership.nhs_england(y, level=level) for y in (years or PRACTICE_YEARS)))

    @classmethod
    def from_frame(cls, frame, *, valid_from: str = "valid_from", valid_to: str = "valid_to",
                   practice: str = "practice_code", consortium: str = "consortium_code",
                   name: str | None = None, level: str = "consortium") -> MembershipHistory:
        """Build a history of snapshots from dated rows (practice, consortium, valid_from, valid_to).

        A snapshot starts at each date where any row starts or ends; two rows for one practice in force on the
        same day raise.

        Parameters
        ----------
        frame : pandas.DataFrame or path
            One row per practice and period (a Parquet path is read).
        valid_from, valid_to : str
            Column names of the dates each row takes effect and ends; ``valid_to`` is exclusive, may be empty
            (open-ended), and the column may be absent (every row open-ended).
        practice, consortium : str
            Column names of the practice and consortium codes.
        name : str, optional
            Column of consortium names (``consortium_name`` is used when present).
        level : str
            Label of the grouping, e.g. ``"ICB"`` or ``"PCN"``.

        Returns
        -------
        MembershipHistory

        Raises
        ------
        SchemaError
            A named column is missing.
        InputError
            A row with no start date or ending on or before it starts, or a practice in two consortia on one
            day (the message names the day).

        Examples
        --------
        >>> import pandas as pd
        >>> rows = pd.DataFrame({"practice_code": ["A1", "A1", "A2"], "consortium_code": ["X", "Y", "X"],
        ...                      "valid_from": ["2023-04-01", "2024-04-01", "2023-04-01"],
        ...                      "valid_to": ["2024-04-01", None, None]})
        >>> h = MembershipHistory.from_frame(rows)
        >>> h.as_of("2024/25").consortium_of(["A1", "A2"]).tolist()
        ['Y', 'X']
        """
        frame = as_frame(frame, "membership")
        require_columns(frame, "membership", [practice, consortium, valid_from])
        starts = parse_dates(frame, "membership", valid_from).dt.normalize()
        if starts.isna().any():
            rows = frame.index[starts.isna().to_numpy()][:5].tolist()
            raise InputError(f"The 'membership' column {valid_from!r} is empty at rows {rows}. Fix: give every "
                             "row the date it takes effect.")
        ends = (parse_dates(frame, "membership", valid_to).dt.normalize() if valid_to in frame.columns
                else pd.Series(pd.NaT, index=frame.index))
        bad = (ends.notna() & (ends <= starts)).to_numpy()
        if bad.any():
            raise InputError(f"The 'membership' rows {frame.index[bad][:5].tolist()} end on or before they start. "
                             f"Fix: {valid_to!r} is exclusive and must be after {valid_from!r}.")
        cuts = sorted(set(starts) | set(ends.dropna()))
        snaps = []
        for start, end in zip(cuts, [*cuts[1:], None], strict=True):
            live = ((starts <= start) & (ends.isna() | (ends > start))).to_numpy()
            if not live.any():
                continue
            try:
                snaps.append(Membership.from_frame(frame[live], practice=practice, consortium=consortium,
                                                   name=name, level=level, valid_from=start, valid_to=end))
            except InputError as exc:
                raise InputError(f"On {start.date()}: {exc}") from exc
        return cls(tuple(snaps))

    def as_of(self, when) -> Membership:
        """Find the membership in force on a day.

        Parameters
        ----------
        when : date-like or financial year
            The day; a financial year stands for its 1 April (see :func:`as_date`).

        Returns
        -------
        Membership

        Raises
        ------
        InputError
            No snapshot is in force on that day.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import MembershipHistory
        >>> rows = pd.DataFrame({"practice_code": ["A1", "A1", "A2"], "consortium_code": ["X", "Y", "X"],
        ...                      "valid_from": ["2023-04-01", "2024-04-01", "2023-04-01"],
        ...                      "valid_to": ["2024-04-01", None, None]})
        >>> history = MembershipHistory.from_frame(rows)
        >>> history.as_of("2023-12-31").consortium_of(["A1", "A2"]).tolist()
        ['X', 'X']
        """
        day = as_date(when, "when")
        for membership in self.memberships:
            if membership.in_force(day):
                return membership
        periods = ", ".join(m._period().replace(" in force ", "") for m in self.memberships)
        raise InputError(f"No membership is in force on {day.date()} (the 'when' parameter, {when!r}). "
                         f"The history covers {periods}. "
                         "Fix: pass a date inside one of those periods, or add the membership for that date.")

    def changes(self, before, after) -> pd.DataFrame:
        """List the practices that moved, joined or left between two days.

        Parameters
        ----------
        before, after : date-like or financial year
            The two days; a financial year stands for its 1 April.

        Returns
        -------
        pandas.DataFrame
            As from :meth:`Membership.changes`, comparing the snapshots in force on the two days.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation.aggregation import MembershipHistory
        >>> rows = pd.DataFrame({"practice_code": ["A1", "A1", "A2"], "consortium_code": ["X", "Y", "X"],
        ...                      "valid_from": ["2023-04-01", "2024-04-01", "2023-04-01"],
        ...                      "valid_to": ["2024-04-01", None, None]})
        >>> history = MembershipHistory.from_frame(rows)
        >>> history.changes("2023/24", "2024/25").to_dict("index")
        {'A1': {'before': 'X', 'after': 'Y', 'change': 'moved'}}
        """
        return self.as_of(before).changes(self.as_of(after))

    @property
    def table(self) -> pd.DataFrame:
        """All snapshots as dated rows: the membership table plus ``valid_from`` and ``valid_to``."""
        parts = [m.table.assign(valid_from=m.valid_from, valid_to=m.valid_to) for m in self.memberships]
        return pd.concat(parts, ignore_index=True)

    def __repr__(self) -> str:
        return f"MembershipHistory({len(self.memberships)} snapshots: " + \
            ", ".join(m._period().replace(" in force ", "") for m in self.memberships) + ")"
