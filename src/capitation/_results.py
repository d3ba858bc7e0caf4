"""The one base of every result: summary(), to_frame() copies, __repr__, _repr_html_ and provenance.

A result is a frozen dataclass deriving from :class:`Result`::

    @dataclass(frozen=True, eq=False, repr=False)   # repr=False keeps Result's one-line __repr__
    class Thing(Result):
        table: pd.DataFrame

        def summary(self) -> str: ...               # plain text, headline on the first line
        def _frame(self) -> pd.DataFrame: ...       # the main table, the result's own (no copy)

and gets :meth:`~Result.to_frame` (a copy of ``_frame()``; results whose tables take parameters define their
own, which must also return copies), a one-line ``__repr__`` and ``_repr_html_`` (the headline, the first
rows of the table and the provenance, for notebooks). Every result records a :class:`Provenance`, keyword
only and last, so positional construction of the result's own fields is unchanged.

The tables a result holds as attributes (``Allocation.practices``, ``BudgetRisk.table``, ...) are the
result's own data, shared, not copied on access: they can hold millions of rows. Read them freely; to
edit, take :meth:`~Result.to_frame` (or ``.copy()``) first, since an edit in place changes the result.

This module sits with the other base modules: it imports nothing of the package but the version, so the
producer of a result gives its spec hash as data (see :func:`capitation.model.results.spec_sha256`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from ._version import __version__

__all__ = ["HTML_ROWS", "Provenance", "Result", "text_table"]

#: Rows of the table shown by a result's ``_repr_html_`` in a notebook.
HTML_ROWS = 10
#: Columns shown, at most (pandas puts "..." between the first and last halves).
_HTML_COLUMNS = 12


@dataclass(frozen=True)
class Provenance:
    """Where a result came from: the library version that made it and, when known, the spec's hash.

    Parameters
    ----------
    library_version : str
        Version of capitation that made the result (this one by default).
    spec_sha256 : str or None
        SHA-256 of the canonical JSON of the :class:`~capitation.FeatureSpec` whose design the result rests
        on (:func:`capitation.model.results.spec_sha256`); ``None`` when it did not come from a spec.

    Examples
    --------
    >>> from capitation._results import Provenance
    >>> from capitation._version import __version__
    >>> p = Provenance(spec_sha256="ab" * 32)
    >>> p.library_version == __version__, p.as_dict()["spec_sha256"][:4]
    (True, 'abab')
    """

    library_version: str = __version__
    spec_sha256: str | None = None

    def as_dict(self) -> dict:
        """Return the provenance as a plain dict (for tables and JSON).

        Returns
        -------
        dict
            ``library_version`` and ``spec_sha256``.

        Examples
        --------
        >>> from capitation._results import Provenance
        >>> sorted(Provenance().as_dict())
        ['library_version', 'spec_sha256']
        """
        return {"library_version": self.library_version, "spec_sha256": self.spec_sha256}

    def text(self) -> str:
        """One line: ``capitation <version>`` and, with a spec, the first 12 digits of its hash.

        Returns
        -------
        str

        Examples
        --------
        >>> from capitation._results import Provenance
        >>> Provenance("1.2.3", "0123456789abcdef" * 4).text()
        'capitation 1.2.3 · spec sha256 0123456789ab…'
        """
        spec = "" if self.spec_sha256 is None else f" · spec sha256 {self.spec_sha256[:12]}…"
        return f"capitation {self.library_version}{spec}"


@dataclass(frozen=True, eq=False, repr=False)
class Result:
    r"""Base of every result: plain-text summary, table copies, one-line repr, notebook HTML, provenance.

    Subclasses are frozen dataclasses decorated with ``repr=False`` (so that this one-line ``__repr__`` is
    kept) and define :meth:`summary` and ``_frame()``.

    Parameters
    ----------
    provenance : Provenance, keyword only
        Library version and spec hash (the running version and no spec by default).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> import pandas as pd
    >>> from capitation._results import Result
    >>> @dataclass(frozen=True, eq=False, repr=False)
    ... class Totals(Result):
    ...     table: pd.DataFrame
    ...     def summary(self):
    ...         return f"Totals of {len(self.table)} rows\n" + self.table.to_string()
    ...     def _frame(self):
    ...         return self.table
    >>> t = Totals(pd.DataFrame({"n": [1, 2]}))
    >>> t
    Totals(Totals of 2 rows)
    >>> t.to_frame() is t.table, "Totals of 2 rows" in t._repr_html_()
    (False, True)
    """

    provenance: Provenance = field(default_factory=Provenance, kw_only=True)

    def summary(self) -> str:
        """Describe the result in plain text; the first line is the headline.

        Every result defines its own; this base raises :class:`NotImplementedError`.

        Returns
        -------
        str
            The headline on the first line (it is also the result's one-line ``repr``), details after.

        Examples
        --------
        >>> import pandas as pd
        >>> from capitation import allocate
        >>> need = pd.Series([1.0, 2.0], index=["A81001", "A81002"])
        >>> allocate(need, 100, registered=pd.Series(10, index=need.index)).summary().splitlines()[0]
        'Allocation of £100.00 to 2 practices (20 registered people), £5.00 per head on average'
        """
        raise NotImplementedError(f"{type(self).__name__} must define summary()")

    def _frame(self) -> pd.DataFrame:
        """Return the result's main table, its own data (not a copy): what :meth:`to_frame` copies."""
        raise NotImplementedError(f"{type(self).__name__} must define _frame()")

    def to_frame(self) -> pd.DataFrame:
        """Return the result's main table, as a copy: editing it leaves the result as it was.

        Returns
        -------
        pandas.DataFrame
            A copy of the table the result is built on (e.g. one row per practice_code).

        Examples
        --------
        >>> from dataclasses import dataclass
        >>> import pandas as pd
        >>> from capitation._results import Result
        >>> @dataclass(frozen=True, eq=False, repr=False)
        ... class Lists(Result):
        ...     table: pd.DataFrame
        ...     def summary(self):
        ...         return f"{len(self.table)} registered lists"
        ...     def _frame(self):
        ...         return self.table
        >>> lists = Lists(pd.DataFrame({"registered_list": [9_800, 4_200]}, index=["A81001", "A81002"]))
        >>> table = lists.to_frame()
        >>> table is lists.table, table["registered_list"].tolist()
        (False, [9800, 4200])
        """
        return self._frame().copy()

    def _headline(self) -> str:
        text = self.summary()
        return text.splitlines()[0] if text else type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._headline()})"

    def _repr_html_(self) -> str:
        """Render the headline, the first rows of the table and the provenance as escaped HTML (for notebooks)."""
        frame = self._frame()
        rows = len(frame)
        table = frame.head(HTML_ROWS).to_html(max_cols=_HTML_COLUMNS, border=0, escape=True)
        shown = f"first {HTML_ROWS:,} of {rows:,} rows · " if rows > HTML_ROWS else ""
        return (f"<div class=\"capitation-result\"><p><strong>{html.escape(type(self).__name__)}</strong>: "
                f"{html.escape(self._headline())}</p>{table}"
                f"<p><small>{html.escape(shown + self.provenance.text())}</small></p></div>")


def text_table(frame: pd.DataFrame, left: int = 2) -> str:
    """Lay out a table of text cells for a terminal: the first ``left`` columns aligned left, the rest right.

    Parameters
    ----------
    frame : pandas.DataFrame
        Cells already written as text (e.g. :meth:`~capitation.allocation.Allocation.budget_table`).
    left : int
        How many leading columns are words (codes, names), aligned left; numbers are aligned right.

    Returns
    -------
    str
        The heading line and one line per row, columns two spaces apart, no index.

    Examples
    --------
    >>> import pandas as pd
    >>> print(text_table(pd.DataFrame({"ICB": ["QHM", "Total"], "budget £": ["5.00", "10.00"]}), left=1))
    ICB    budget £
    QHM        5.00
    Total     10.00
    """
    cells = [[str(c) for c in frame.columns]] + [[str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(row[j]) for row in cells) for j in range(frame.shape[1])]
    return "\n".join("  ".join(v.ljust(w) if j < left else v.rjust(w) for j, (v, w) in
                                enumerate(zip(row, widths, strict=True))).rstrip() for row in cells)

