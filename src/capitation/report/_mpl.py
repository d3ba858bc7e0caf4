"""matplotlib, imported only when a figure is drawn, and the house style of the report's figures.

Figures are made with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: nothing is added to
pyplot's global list of open figures (no leaks in services, no double display in notebooks), and saving to PNG
uses the Agg renderer whatever backend the caller has chosen. They are ``ReportFigure``, a Figure that shows
itself as PNG in Jupyter; the class is made on first use, since it subclasses matplotlib's Figure.
"""

from __future__ import annotations

import contextlib
import functools

from ..errors import MissingDependencyError

__all__ = ["NHS_BLUE", "PALETTE", "figure", "require_matplotlib", "styled", "to_png"]

#: NHS Blue, the colour of NHS identity guidelines.
NHS_BLUE = "#005EB8"
#: NHS identity palette: blues, greys and the accent colours used for warnings and comparisons.
PALETTE = {
    "blue": NHS_BLUE,
    "dark_blue": "#003087",
    "bright_blue": "#0072CE",
    "light_blue": "#41B6E6",
    "pale_blue": "#E8EDEE",
    "dark_grey": "#425563",
    "mid_grey": "#768692",
    "light_grey": "#AEB7BD",
    "green": "#009639",
    "warm_yellow": "#FFB81C",
    "red": "#DA291C",
    "orange": "#ED8B00",
}

_INSTALL = 'pip install "capitation[report]"'

_RC = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.edgecolor": PALETTE["dark_grey"],
    "axes.labelcolor": "#231F20",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#D8DDE0",
    "grid.linewidth": 0.6,
    "xtick.color": PALETTE["dark_grey"],
    "ytick.color": PALETTE["dark_grey"],
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}


def require_matplotlib():
    """Import ``matplotlib``, or raise an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(f"capitation's figures and report need matplotlib. Fix: {_INSTALL}") from exc
    return matplotlib


def styled(func):
    """Run a figure function inside the report's matplotlib style (rcParams restored afterwards)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        matplotlib = require_matplotlib()
        with matplotlib.rc_context(_RC):
            return func(*args, **kwargs)

    return wrapper


@functools.cache
def _report_figure_class():
    """Make ``ReportFigure``: a matplotlib Figure that shows itself as PNG in Jupyter.

    It needs neither pyplot nor ``%matplotlib inline``. Made once, on first use, so that importing this module
    needs no matplotlib.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    class ReportFigure(Figure):
        """A matplotlib Figure that shows itself as PNG in Jupyter, without pyplot or ``%matplotlib inline``."""

        def _repr_png_(self) -> bytes:
            return to_png(self, dpi=100)

    ReportFigure.__qualname__ = "ReportFigure"  # found by pickle through the module's __getattr__
    return ReportFigure


def __getattr__(name: str):
    if name == "ReportFigure":
        return _report_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def figure(width: float, height: float, **kwargs):
    """Make a new constrained-layout Figure (inches), outside pyplot, that displays itself in notebooks."""
    return _report_figure_class()(figsize=(width, height), layout="constrained", **kwargs)


def to_png(fig, dpi: int = 150) -> bytes:
    """Render the figure as PNG bytes, by Agg."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with contextlib.suppress(AttributeError):
        fig.set_dpi(100)
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()
