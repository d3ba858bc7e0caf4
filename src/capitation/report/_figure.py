"""The report's Figure class; imports matplotlib, so it is imported only when a figure is drawn."""

from __future__ import annotations

from matplotlib.figure import Figure

__all__ = ["ReportFigure"]


class ReportFigure(Figure):
    """A matplotlib Figure that shows itself as PNG in Jupyter, without pyplot or ``%matplotlib inline``."""

    def _repr_png_(self) -> bytes:
        from ._mpl import to_png

        return to_png(self, dpi=100)
