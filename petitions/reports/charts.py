"""The report's charts, drawn by matplotlib (the ``reports`` extra) with its Agg
backend and written as SVG whose text stays text (``svg.fonttype = "none"``), so
Chinese labels render in any browser with the reader's fonts.

matplotlib is imported when the first chart is drawn (its object-oriented API:
no pyplot, no GUI backend; PNG through Agg), never when the command
line starts.  Each bar carries an id (``gid``) ``bar-<chart>-…``, so a browser
test can count the bars a chart drew.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from petitions.errors import PetitionError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Fonts asked for, first found wins: CJK fonts of Linux, Windows and macOS, then
#: any sans-serif (what the SVG names too, so a browser picks the same way).
FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
         "WenQuanYi Micro Hei", "SimHei", "DejaVu Sans")
#: The three rates' colours (colour-blind safe: Okabe–Ito) and the others'.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
INSTALL_HINT = "pip install 'petitions[reports]'"


class MissingPlotting(PetitionError):
    """Charts need matplotlib, which is not installed (the ``reports`` extra)."""

    code = "missing_dependency"

    def __init__(self) -> None:
        super().__init__(f"charts need matplotlib: {INSTALL_HINT}", hint=INSTALL_HINT)


def require_plotting() -> None:
    """Raise :class:`MissingPlotting` unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingPlotting() from None


#: matplotlib's settings are process-wide: one chart is drawn at a time (the
#: dashboard serves requests from several threads).
_LOCK = threading.Lock()


@contextmanager
def _style() -> Iterator[Any]:
    require_plotting()
    import logging

    import matplotlib

    # Families asked for but absent on this machine are expected (their names
    # are still written into the SVG for the reader's browser).
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with _LOCK, matplotlib.rc_context({
        "svg.fonttype": "none", "svg.hashsalt": "petitions", "font.family": "sans-serif",
        "font.sans-serif": [*FONTS, "sans-serif"], "axes.unicode_minus": False,
        "axes.spines.top": False, "axes.spines.right": False, "font.size": 10,
    }):
        yield matplotlib


def svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no metadata)."""
    import io

    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)


def png(fig: Figure, path: str) -> None:
    fig.savefig(path, format="png", dpi=150)


def width_for(n: int, per: float, least: float = 6.0, most: float = 18.0) -> float:
    return max(least, min(most, 1.5 + per * n))


@contextmanager
def figure(width: float, height: float) -> Iterator[tuple[Figure, Any]]:
    """A new figure and its axes, closed at the end of the block."""
    with _style():
        # The object-oriented API, not pyplot: no global figure list, no GUI
        # backend (a bare Figure renders with Agg for PNG and its SVG writer).
        from matplotlib.figure import Figure

        fig = Figure(figsize=(width, height), layout="constrained")
        yield fig, fig.subplots()


def grouped_bars(fig: Figure, ax: Any, chart: str, labels: Sequence[str],
                 series: Sequence[tuple[str, Sequence[float | None]]], *,
                 percent: bool = True) -> None:
    """Bars per label, one per series side by side (a missing value: a bar of 0)."""
    n = max(1, len(series))
    width = 0.8 / n
    for k, (name, values) in enumerate(series):
        xs = [i - 0.4 + width * (k + 0.5) for i in range(len(labels))]
        heights = [(v or 0.0) * (100 if percent else 1) for v in values]
        bars = ax.bar(xs, heights, width, label=name, color=COLOURS[k % len(COLOURS)])
        for i, bar in enumerate(bars):
            bar.set_gid(f"bar-{chart}-{i}-{k}")
    ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0,
                  ha="right" if len(labels) > 4 else "center")
    if percent:
        ax.set_ylim(0, 100)
        ax.set_ylabel("%")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 if len(labels) > 4 else -0.08),
              ncol=len(series), frameon=False)


def horizontal_bars(fig: Figure, ax: Any, chart: str, labels: Sequence[str],
                    values: Sequence[float], xlabel: str, colour: str = COLOURS[0]) -> None:
    ys = list(range(len(labels)))
    bars = ax.barh(ys, values, color=colour)
    for i, bar in enumerate(bars):
        bar.set_gid(f"bar-{chart}-{i}")
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    for y, v in zip(ys, values, strict=True):
        ax.annotate(f"{v:g}", (v, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)


def stacked_bars(fig: Figure, ax: Any, chart: str, labels: Sequence[str],
                 layers: Sequence[tuple[str, Sequence[int]]], xlabel: str) -> None:
    """Horizontal bars per label, stacked by layer."""
    ys = list(range(len(labels)))
    left = [0] * len(labels)
    for k, (name, values) in enumerate(layers):
        bars = ax.barh(ys, values, left=left, label=name, color=COLOURS[k % len(COLOURS)])
        for i, bar in enumerate(bars):
            bar.set_gid(f"bar-{chart}-{i}-{k}")
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower right", frameon=False, fontsize=8)


def trend(fig: Figure, ax: Any, months: Sequence[str], filings: Sequence[int],
          rates: Sequence[tuple[str, Sequence[float | None]]], filed_label: str) -> None:
    """Filings per month as bars, the rates per month as lines on a second axis."""
    xs = list(range(len(months)))
    bars = ax.bar(xs, filings, color="#BBBBBB", label=filed_label)
    for i, bar in enumerate(bars):
        bar.set_gid(f"bar-trend-{i}")
    ax.set_ylabel(filed_label)
    ax.set_xticks(xs, months, rotation=30 if len(months) > 6 else 0)
    right = ax.twinx()
    right.set_ylim(0, 100)
    right.set_ylabel("%")
    for k, (name, values) in enumerate(rates):
        points = [(x, v * 100) for x, v in zip(xs, values, strict=True) if v is not None]
        if points:
            right.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                       color=COLOURS[k], label=name)
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper center",
              bbox_to_anchor=(0.5, -0.15), ncol=4, frameon=False)


def heat(fig: Figure, ax: Any, rows: Sequence[str], cols: Sequence[str],
         counts: Sequence[Sequence[int]]) -> None:
    """A grid of counts (rows × columns) as vector cells, each with its number."""
    mesh = ax.pcolormesh(list(range(len(cols) + 1)), list(range(len(rows) + 1)),
                         counts, cmap="OrRd", edgecolors="white", linewidth=0.5)
    mesh.set_gid("heat-cells")
    peak = max((max(r) for r in counts if r), default=0)
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            if n:
                ax.text(j + 0.5, i + 0.5, str(n), ha="center", va="center", fontsize=8,
                        color="white" if n > peak * 0.6 else "black")
    ax.set_xticks([j + 0.5 for j in range(len(cols))], cols, rotation=30, ha="right")
    ax.set_yticks([i + 0.5 for i in range(len(rows))], rows)
    ax.invert_yaxis()
    bar = fig.colorbar(mesh, ax=ax, shrink=0.8)
    if bar.solids is not None:
        bar.solids.set_rasterized(False)  # vector, like every other mark


__all__ = [
    "FONTS",
    "INSTALL_HINT",
    "MissingPlotting",
    "figure",
    "grouped_bars",
    "heat",
    "horizontal_bars",
    "png",
    "require_plotting",
    "stacked_bars",
    "svg",
    "trend",
    "width_for",
]
