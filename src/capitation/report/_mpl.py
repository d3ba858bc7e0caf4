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

__all__ = ["NHS_BLUE", "PALETTE", "figure", "fit_titles", "require_matplotlib", "styled", "text_outside_figure",
           "to_png"]

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
            fig = func(*args, **kwargs)
            fit_titles(fig)
            return fig

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


# ------------------------------------------------------------------------------------------------------------
# text inside the figure
# ------------------------------------------------------------------------------------------------------------
def _laid_out(fig):
    """Lay the figure out (constrained layout runs) without rendering it; return its Agg renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def _drawn_texts(artist, renderer):
    """Yield the Text artists a draw of ``artist`` paints: visible, not empty, ticks inside the view only."""
    from matplotlib.axis import Axis
    from matplotlib.text import Annotation, Text

    if not artist.get_visible():
        return
    if isinstance(artist, Text):
        if artist.get_text().strip() and not (isinstance(artist, Annotation) and not artist._check_xy(renderer)):
            yield artist
        return
    if isinstance(artist, Axis):  # only the ticks of the view are drawn; the others keep stale positions
        children = [artist.label, artist.offsetText, *artist._update_ticks()]
    else:
        children = artist.get_children()
    for child in children:
        yield from _drawn_texts(child, renderer)


def _extent(text, renderer):
    box = text.get_window_extent(renderer)
    clip = text.get_clip_box() if text.get_clip_on() else None
    if clip is not None:
        from matplotlib.transforms import Bbox

        box = Bbox.intersection(box, clip) or Bbox.from_bounds(box.x0, box.y0, 0, 0)
    return box


def text_outside_figure(fig, tolerance: float = 1.0) -> list[str]:
    """List the texts of a figure that do not lie wholly inside it (what a saved image would cut off).

    The figure is laid out as when it is saved (constrained layout included), then every text it draws —
    titles, axis and tick labels, annotations, legends — is measured by its window extent on the renderer
    and compared with the figure's box.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to check.
    tolerance : float
        Pixels (at the figure's dpi) a text may cross the edge by, for anti-aliasing.

    Returns
    -------
    list of str
        One line per text that crosses an edge: the text, and by how many pixels on which side. Empty when
        every text lies inside the figure.

    Examples
    --------
    >>> from capitation.report._mpl import figure, text_outside_figure
    >>> fig = figure(3, 2)
    >>> ax = fig.subplots()
    >>> _ = ax.set_title("Short title")
    >>> text_outside_figure(fig)
    []
    >>> _ = fig.text(0.5, 0.5, "a label far too long to fit in a figure three inches wide", fontsize=12)
    >>> text_outside_figure(fig)  # doctest: +ELLIPSIS
    ["'a label far too long to fit in a figure three inches wide' crosses the right edge by ... px"]
    """
    renderer = _laid_out(fig)
    frame = fig.bbox
    problems = []
    for text in _drawn_texts(fig, renderer):
        box = _extent(text, renderer)
        sides = {"left": frame.x0 - box.x0, "right": box.x1 - frame.x1, "bottom": frame.y0 - box.y0,
                 "top": box.y1 - frame.y1}
        over = [f"the {side} edge by {amount:.0f} px" for side, amount in sides.items() if amount > tolerance]
        if over:
            label = text.get_text().replace("\n", " ")
            problems.append(f"{label!r} crosses " + " and ".join(over))
    return problems


def overlapping_tick_labels(fig, tolerance: float = 1.0) -> list[str]:
    """List neighbouring tick labels of an axis that overlap each other (labels printed over one another).

    Only labels written level are compared: the boxes of rotated labels overlap while their letters do not.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to check, laid out as when it is saved.
    tolerance : float
        Pixels two labels may share, for anti-aliasing.

    Returns
    -------
    list of str
        One line per overlapping pair; empty when no two labels of an axis overlap.

    Examples
    --------
    >>> from capitation.report._mpl import figure, overlapping_tick_labels
    >>> fig = figure(3, 2)
    >>> ax = fig.subplots()
    >>> _ = ax.set_xticks([0, 1], ["a", "b"])
    >>> overlapping_tick_labels(fig)
    []
    >>> _ = ax.set_xticks([0, 1], ["a label much too long here", "and another as long"])
    >>> overlapping_tick_labels(fig)
    ["x tick labels 'a label much too long here' and 'and another as long' overlap"]
    """
    renderer = _laid_out(fig)
    problems = []
    for ax in fig.axes:
        for name, labels in (("x", ax.get_xticklabels()), ("y", ax.get_yticklabels())):
            shown = [t for t in labels if t.get_visible() and t.get_text().strip() and t.get_rotation() == 0]
            boxes = [t.get_window_extent(renderer) for t in shown]
            for k in range(len(shown) - 1):  # neighbours: labels are in tick order
                (a, box_a), (b, box_b) = (shown[k], boxes[k]), (shown[k + 1], boxes[k + 1])
                wide = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
                high = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
                if wide > tolerance and high > tolerance:
                    problems.append(f"{name} tick labels {a.get_text()!r} and {b.get_text()!r} overlap")
    return problems


def _titles(fig) -> list:
    texts = [getattr(fig, "_suptitle", None)]
    for ax in fig.axes:
        texts += [ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)]
    return [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]


def fit_titles(fig, tolerance: float = 1.0):
    r"""Wrap the figure's titles (axes titles and the suptitle) onto more lines until each fits in the figure.

    Constrained layout makes room for a title's height but not its width: a long title on a narrow panel
    runs off the figure's edge and the saved image cuts it. Each title that crosses the left or right edge is
    wrapped at spaces to the width available from where it starts; constrained layout then makes room for the
    extra lines. The report's figure functions call this on every figure they return.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, changed in place.
    tolerance : float
        Pixels a title may cross the edge by.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig`` itself.

    Examples
    --------
    >>> from capitation.report._mpl import figure, fit_titles, text_outside_figure
    >>> fig = figure(3, 2)
    >>> _ = fig.subplots().set_title("A title much too long for the width of this small figure", loc="left")
    >>> len(text_outside_figure(fig))
    1
    >>> fit_titles(fig).axes[0].get_title(loc="left").count("\n") > 0, text_outside_figure(fig)
    (True, [])
    """
    import textwrap

    if fig is None or not hasattr(fig, "draw_without_rendering"):
        return fig
    for _ in range(4):  # wrapping changes the layout; a few rounds settle it
        renderer = _laid_out(fig)
        frame = fig.bbox
        changed = False
        for text in _titles(fig):
            box = text.get_window_extent(renderer)
            if box.x1 <= frame.x1 + tolerance and box.x0 >= frame.x0 - tolerance:
                continue
            start = max(box.x0, frame.x0)
            room = (frame.x1 - start) if text.get_horizontalalignment() == "left" else frame.width
            lines = text.get_text().split("\n")
            longest = max(len(line) for line in lines)
            width = max(8, int(longest * min(room / max(box.width, 1.0), 1.0) * 0.95))
            wrapped = "\n".join(textwrap.fill(line, width) for line in lines)
            if wrapped != text.get_text():
                text.set_text(wrapped)
                changed = True
        if not changed:
            break
    return fig
