"""Device memory (and utilisation) over time as PNGs, drawn with matplotlib's Agg canvas.

A PNG in an ``ipywidgets.Image`` looks the same in JupyterLab, Voila and a headless test,
needs no JavaScript plotting library, and can be drawn from the panel's timer thread: we
build a `Figure` directly (never pyplot), so no global figure manager or GUI backend is
involved and two threads never share a figure.

What the memory plot shows, the way GPU dashboards (nvdashboard, nvitop) do: the y axis
runs to the device's total, so "how full is it" reads at a glance; each model is a band
in its own colour (the same as in the bar and the table), stacked on the runtime's share;
the time axis starts with the session. A model of a few MiB on a 64 GiB device would be
a band thinner than a pixel, so bands are drawn at least `MIN_BAND_PX` high (the legend
keeps the true sizes), and ``mode="models"`` zooms onto the models alone.
"""

from __future__ import annotations

import io
import zlib
from datetime import datetime
from typing import Callable, Mapping, Optional, Sequence, Union

from ..display import PALETTE, human_bytes

OTHER_COLOUR = "#B9BEC6"  # runtime, idle use, other processes
TOTAL_COLOUR = "#3B4048"
CUBE_COLOUR = "#2F6FB0"
VECTOR_COLOUR = "#D9822B"

#: Change points beyond this many are thinned evenly: drawing cost must not grow with the
#: session's age (the history keeps changes, not ticks, so this is rarely reached).
MAX_POINTS = 600
#: Shortest time axis drawn, in seconds (a session a few seconds old still gets an axis).
MIN_SPAN_S = 20
#: The newest level is drawn at least this share of the axis wide.
LAST_STEP_SHARE = 0.02
#: Thinnest band a loaded model gets, in pixels of the PNG: MiB models stay visible.
MIN_BAND_PX = 4

MODES = ("total", "models")
_LABEL_CHARS = 20  # legend names longer than this are cut with an ellipsis
_LEGEND_ROWS = 4  # rows of the legend under the plot; more models are summed up as "… N more"
_LEGEND_ROW_IN = 0.23
_FONT = 9.5
# Margins in inches, shared by both plots so their time axes line up. The legend goes
# under the plot, so the time axis gets the whole width of a notebook column.
LEFT_IN, RIGHT_IN = 0.62, 0.24
_BOTTOM_IN = 0.42

_UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))

Colours = Union[Mapping[str, str], Callable[[str], str], None]


def colour_for(name: str, palette: Sequence[str] = PALETTE) -> str:
    """A stable colour for a model name that has none assigned (same name, same colour)."""
    return palette[zlib.crc32(name.encode("utf-8")) % len(palette)]


def _colour(colours: Colours, name: str) -> str:
    if callable(colours):
        return colours(name)
    if colours and name in colours:
        return colours[name]
    return colour_for(name)


def _unit_for(peak: float) -> tuple[int, str]:
    for scale, unit in _UNITS:
        if peak >= scale:
            return scale, unit
    return 1, "B"


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _thin(points: list) -> list:
    if len(points) <= MAX_POINTS:
        return points
    step = (len(points) - 1) / (MAX_POINTS - 1)
    return [points[round(i * step)] for i in range(MAX_POINTS)]


def _figure(width: float, height: float, dpi: int, top_in: float, bottom_in: float = _BOTTOM_IN):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    # Fixed margins (in inches) instead of a layout engine: faster, the plot does not jump
    # about as labels change width, and the two plots' time axes stay aligned.
    fig.subplots_adjust(left=LEFT_IN / width, right=1 - RIGHT_IN / width, bottom=bottom_in / height,
                        top=1 - top_in / height)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9aa0a8")
    ax.tick_params(labelsize=_FONT, colors="#3a3f47", length=3)
    ax.grid(axis="y", color="#e6e8ec", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _time_axis(ax, start: float, end: float) -> None:
    from matplotlib.dates import AutoDateLocator, DateFormatter

    ax.set_xlim(datetime.fromtimestamp(start), datetime.fromtimestamp(end))
    locator = AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M" if end - start > 3 * 3600 else "%H:%M:%S"))


def _span(points: Sequence, now: Optional[float], start: Optional[float]) -> tuple[float, float]:
    """The time axis: from the session's start (the first sample) to now."""
    first = points[0].t if start is None else min(start, points[0].t)
    end = max(now if now is not None else points[-1].t, points[-1].t)
    end = max(end, first + MIN_SPAN_S)
    # hold the newest level for a visible sliver, so a redraw at the moment of a load
    # shows the new level, not only the one before it (steps are drawn "post")
    end = max(end, points[-1].t + LAST_STEP_SHARE * (end - first))
    return first, end


def render_png(
    samples: Sequence,
    *,
    title: str = "",
    mode: str = "total",
    width: float = 6.4,
    height: float = 2.5,
    dpi: int = 150,
    now: Optional[float] = None,
    start: Optional[float] = None,
    colours: Colours = None,
) -> bytes:
    """Draw used memory, stacked by model on the runtime's share, against time.

    `samples` are `MemorySample`-like objects (``t, total, used, per_model``) of ONE device,
    oldest first. ``mode="total"`` runs the y axis to the device total; ``"models"`` zooms
    onto the models alone. `now` extends the last level to the present, `start` (default:
    the first sample) is where the time axis begins. `colours` maps a model name to its
    colour (a mapping or a function). Returns PNG bytes; no samples gives a plot saying so.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    points = _thin(list(samples))
    names: list[str] = []
    for s in points:
        for name in s.per_model:
            if name not in names:
                names.append(name)
    entries = len(names) + (1 if mode == "total" else 0)
    columns = 3 if all(len(n) <= 12 for n in names) else 2
    rows = min(-(-entries // columns), _LEGEND_ROWS) if points else 0
    legend_in = rows * _LEGEND_ROW_IN
    height += legend_in  # the legend adds rows under the plot, the plot keeps its size
    fig, ax = _figure(width, height, dpi, 0.36 if title else 0.14, _BOTTOM_IN + legend_in + (0.06 if rows else 0))
    if title:
        ax.set_title(title, fontsize=_FONT + 1, loc="left", color="#23272e", pad=8)
    if not points:
        ax.text(0.5, 0.5, "no memory samples yet", ha="center", va="center", transform=ax.transAxes,
                color="#777", fontsize=_FONT)
        ax.set_xticks([])
        ax.set_yticks([])
        return _to_png(fig)

    first, end = _span(points, now, start)
    times = [datetime.fromtimestamp(s.t) for s in points] + [datetime.fromtimestamp(end)]
    points = points + [points[-1]]
    last = points[-1]

    # the device as it is now: a simulator that adopted a model's SoC has a new total
    total = last.total
    model_sums = [sum(s.per_model.values()) for s in points]
    if mode == "total":
        peak = max(total, 1)
    else:
        peak = max(max(model_sums), 1)
    scale, unit = _unit_for(peak)
    top = peak / scale * (1.04 if mode == "total" else 1.22)
    # a band of MIN_BAND_PX pixels, in data units of this axis
    axes_px = ax.get_position().height * height * dpi
    min_band = top / max(axes_px, 1) * MIN_BAND_PX

    base = [0.0] * len(points)
    legend: list[tuple[object, str]] = []
    if mode == "total":
        other = [max(s.used - m, 0) / scale for s, m in zip(points, model_sums)]
        patch = ax.fill_between(times, base, other, step="post", color=OTHER_COLOUR, linewidth=0)
        legend.append((patch, f"runtime / other  {human_bytes(max(last.used - model_sums[-1], 0))}"))
        base = other
    for name in names:
        colour = _colour(colours, name)
        values = [s.per_model.get(name, 0) / scale for s in points]
        shown = [max(v, min_band) if v > 0 else 0.0 for v in values]
        top_edge = [b + v for b, v in zip(base, shown)]
        patch = ax.fill_between(times, base, top_edge, step="post", color=colour, linewidth=0)
        now_bytes = last.per_model.get(name, 0)
        legend.append((patch, f"{_short(name)}  {human_bytes(now_bytes) if now_bytes else 'unloaded'}"))
        base = top_edge

    if mode == "total":
        ax.step(times, [s.total / scale for s in points], where="post", color=TOTAL_COLOUR, linewidth=1.1,
                linestyle=(0, (4, 3)), clip_on=True)
        ax.text(1.0, total / scale, f"total {human_bytes(total)} ", transform=ax.get_yaxis_transform(),
                ha="right", va="bottom", fontsize=_FONT - 0.5, color=TOTAL_COLOUR)
    elif not names:
        ax.text(0.5, 0.5, "no model loaded yet", ha="center", va="center", transform=ax.transAxes,
                color="#777", fontsize=_FONT)

    ax.set_ylim(0, top)
    ax.set_ylabel(unit, fontsize=_FONT, color="#3a3f47")
    _time_axis(ax, first, end)
    # legend under the plot, in the stack's order from the bottom: runtime, then the models
    # in load order; what does not fit is counted
    items = legend
    room = rows * columns
    if len(items) > room:
        items = items[: room - 1] + [(None, f"… {len(items) - room + 1} more")]
    handles = [h if h is not None else ax.plot([], [], " ")[0] for h, _ in items]
    if items:
        fig.legend(handles, [label for _, label in items], loc="lower left", ncol=columns,
                   bbox_to_anchor=(LEFT_IN / width - 0.01, 0.01), fontsize=_FONT, frameon=False, borderaxespad=0.2,
                   handlelength=1.0, handleheight=1.0, columnspacing=1.6, labelspacing=0.35)
    return _to_png(fig)


def has_utilization(samples: Sequence) -> bool:
    """Whether any sample carries utilisation figures (the backend can measure them)."""
    return any(getattr(s, "util", None) is not None for s in samples)


def render_util_png(
    samples: Sequence,
    *,
    width: float = 6.4,
    height: float = 1.45,
    dpi: int = 150,
    now: Optional[float] = None,
    start: Optional[float] = None,
) -> Optional[bytes]:
    """AI Core and Vector utilisation (0-100 %) against time, on the memory plot's time axis.

    Returns None when no sample has figures (a runtime without the call): the caller hides
    the row instead of drawing an empty plot.
    """
    points = _thin(list(samples))
    if not has_utilization(points):
        return None
    first, end = _span(points, now, start)
    fig, ax = _figure(width, height, dpi, 0.3)
    times = [datetime.fromtimestamp(s.t) for s in points] + [datetime.fromtimestamp(end)]
    points = points + [points[-1]]
    legend = []
    lines = (("cube", "AI Core", CUBE_COLOUR, "-"), ("vector", "Vector", VECTOR_COLOUR, "--"))
    for attr, label, colour, style in lines:
        values = [getattr(s.util, attr, None) if s.util is not None else None for s in points]
        if all(v is None for v in values):
            continue  # this chip cannot measure that unit: no line, no legend entry
        ys = [float("nan") if v is None else v for v in values]
        (line,) = ax.step(times, ys, where="post", color=colour, linewidth=1.4, linestyle=style)
        if attr == "cube":
            ax.fill_between(times, 0, [0 if v != v else v for v in ys], step="post", color=colour, alpha=0.15,
                            linewidth=0)
        current = next((v for v in reversed(values) if v is not None), None)
        legend.append((line, f"{label}  {current if current is not None else '-'} %"))
    ax.set_ylim(0, 105)
    ax.set_yticks([0, 50, 100])
    ax.set_ylabel("busy %", fontsize=_FONT, color="#3a3f47")
    _time_axis(ax, first, end)
    # the current figures read like a title over the plot
    ax.legend([h for h, _ in legend], [label for _, label in legend], loc="lower left", bbox_to_anchor=(0, 1.0),
              ncol=len(legend), fontsize=_FONT, frameon=False, borderaxespad=0.1, handlelength=1.6,
              columnspacing=1.6)
    return _to_png(fig)


def _to_png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()


__all__ = ["LEFT_IN", "MAX_POINTS", "MIN_BAND_PX", "MIN_SPAN_S", "MODES", "RIGHT_IN", "colour_for",
           "has_utilization", "render_png", "render_util_png"]
