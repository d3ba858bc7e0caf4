"""Which consortium each practice belongs to, as data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import as_frame, require_columns
from ..errors import InputError, UnknownCodeError

__all__ = ["Membership", "UNASSIGNED"]

#: Consortium code given to practices outside the membership when ``unassigned="line"``.
UNASSIGNED = "UNASSIGNED"


@dataclass(frozen=True, eq=False)
class Membership:
    """Practice → consortium (ICB, sub-ICB, PCN, place or any grouping).

    A consortium's budget is always the sum of its member practices' budgets; membership never comes from
    where people live.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``practice_code``, ``consortium_code``, ``consortium_name``; one row per practice.
    level : str
        What the consortia are, e.g. ``"ICB"``.

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

    @classmethod
    def from_frame(cls, frame, *, practice: str = "practice_code", consortium: str = "consortium_code",
                   name: str | None = None, level: str = "consortium") -> Membership:
        """Validate a practice → consortium table (one row per practice).

        Parameters
        ----------
        frame : pandas.DataFrame or path
        practice, consortium : str
            Column names of the practice and consortium codes.
        name : str, optional
            Column of consortium names (``consortium_name`` is used when present).
        level : str
            Label of the grouping, e.g. ``"ICB"`` or ``"place"``.
        """
        frame = as_frame(frame, "membership")
        require_columns(frame, "membership", [practice, consortium])
        if name is None and "consortium_name" in frame.columns:
            name = "consortium_name"
        table = pd.DataFrame({
            "practice_code": frame[practice].astype(object).to_numpy(),
            "consortium_code": frame[consortium].astype(object).to_numpy(),
            "consortium_name": (frame[name].astype(object).to_numpy() if name else
                                frame[consortium].astype(object).to_numpy()),
        })
        for column in ("practice_code", "consortium_code"):
            missing = table[column].isna().to_numpy()
            if missing.any():
                rows = frame.index[missing][:5].tolist()
                raise InputError(f"The 'membership' table's column {column!r} is missing at rows {rows}. "
                                 "Fix: every practice needs a consortium; mark deliberate gaps with your own "
                                 "code, or leave those practices out and allocate with unassigned='line'.")
        dup = table["practice_code"].duplicated(keep=False).to_numpy()
        if dup.any():
            clash = table[dup].groupby("practice_code")["consortium_code"].unique().head(5)
            detail = "; ".join(f"{p} in {sorted(c)}" for p, c in clash.items())
            raise InputError(f"The 'membership' table lists {int(table.practice_code[dup].nunique())} "
                             f"practice(s) more than once: {detail}. A practice belongs to one consortium at a "
                             "time. Fix: keep the membership effective for the allocation year.")
        return cls(table.sort_values("practice_code", ignore_index=True), level)

    @classmethod
    def nhs_england(cls, year: str = "2025/26") -> Membership:
        """ICB membership of practices from NHS England's weighted-population file for ``year``.

        Examples
        --------
        >>> from capitation.aggregation import Membership
        >>> len(Membership.nhs_england("2025/26").consortia)
        42
        """
        from ..datasets import load_practices

        practices = load_practices(year)
        return cls.from_frame(practices, consortium="icb_code", name="icb_name", level="ICB")

    @property
    def consortia(self) -> list[str]:
        """Consortium codes, sorted."""
        return sorted(self.table["consortium_code"].unique())

    def consortium_of(self, practice_codes, *, unassigned: str = "raise") -> np.ndarray:
        """Consortium code of each practice; unknown practices raise, or get ``UNASSIGNED`` with ``"line"``."""
        if unassigned not in ("raise", "line"):
            raise ValueError(f"The 'unassigned' parameter must be 'raise' or 'line'. Got {unassigned!r} instead.")
        codes = np.asarray(practice_codes, dtype=object)
        where = pd.Index(self.table["practice_code"]).get_indexer(codes)
        unknown = where < 0
        if unknown.any() and unassigned == "raise":
            raise UnknownCodeError(
                f"{int(unknown.sum()):,} practice(s) have no {self.level} in the membership, e.g. "
                f"{codes[unknown][:5].tolist()}. Fix: use the membership of the same year as the lists, or "
                "pass unassigned='line' to report them on an explicit 'UNASSIGNED' line."
            )
        out = self.table["consortium_code"].to_numpy(dtype=object)[np.where(unknown, 0, where)]
        out[unknown] = UNASSIGNED
        return out

    def names(self) -> dict[str, str]:
        """Consortium code → name."""
        pairs = self.table.drop_duplicates("consortium_code")
        return dict(zip(pairs["consortium_code"], pairs["consortium_name"], strict=True))
