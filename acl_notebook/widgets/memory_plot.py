"""Device memory over time as a PNG, drawn with matplotlib's Agg canvas.

A PNG in an ``ipywidgets.Image`` looks the same in JupyterLab, Voila and a headless test,
needs no JavaScript plotting library, and can be drawn from the panel's timer thread: we
build a `Figure` directly (never pyplot), so no global figure manager or GUI backend is
involved and two threads never share a figure.
"""

from __future__ import annotations

import io
import zlib
from datetime import datetime, timedelta
from typing import Mapping, Optional, Sequence

# The memory bar's colours: the panel maps the loaded models to them in the bar's order, so
# a model has one colour in both views; names without a mapping get a stable one from it.
from ..display import PALETTE

OTHER_COLOUR = "#A9AEB5"  # runtime, idle use, other processes
TOTAL_COLOUR = "#4A4F57"

#: Samples beyond this many (the newest kept) are not drawn: the plot is a glance, and
#: drawing cost must not grow with the session's age.
MAX_POINTS = 600
#: Shortest time axis drawn, in seconds.
MIN_SPAN_S = 60
#: The newest level is drawn at least this share of the axis wide.
LAST_STEP_SHARE = 0.03

_LABEL_CHARS = 20  # legend entries longer than this are cut with an ellipsis
_LEGEND_ROWS = 9  # more would overflow the plot's height

_UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))


def colour_for(name: str, palette: Sequence[str] = PALETTE) -> str:
    """A stable colour for a model name that has none assigned (same name, same colour)."""
    return palette[zlib.crc32(name.encode("utf-8")) % len(palette)]


def _unit_for(peak: int) -> tuple[int, str]:
    for scale, unit in _UNITS:
        if peak >= scale:
            return scale, unit
    return 1, "B"


def render_png(
    samples: Sequence,
    *,
    title: str = "",
    width: float = 7.2,
    height: float = 2.5,
    dpi: int = 100,
    now: Optional[float] = None,
    colours: Optional[Mapping[str, str]] = None,
) -> bytes:
    """Draw used memory (stacked by model, the rest as "runtime / other") against time.

    `samples` are `MemorySample`-like objects (``t, total, used, per_model``) of ONE device,
    oldest first. Memory changes in steps (a load is instantaneous), so the areas are drawn
    as steps; `now` extends the last step to the present so a quiet device still shows its
    current level. `colours` maps model names to colours (others get a stable fallback).
    Returns PNG bytes; an empty list gives a plot saying "no samples yet".
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure

    points = list(samples)[-MAX_POINTS:]
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    # Fixed margins (in inches) instead of a layout engine: half the drawing time, and
    # the plot does not jump about as tick labels change width.
    fig.subplots_adjust(left=0.6 / width, right=1 - 1.6 / width, bottom=0.38 / height,
                        top=1 - (0.32 if title else 0.12) / height)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5, colors="#444")
    ax.grid(axis="y", color="#e4e6ea", linewidth=0.8)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title, fontsize=10, loc="left", color="#333")

    if not points:
        ax.text(0.5, 0.5, "no memory samples yet", ha="center", va="center", transform=ax.transAxes,
                color="#888", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        return _to_png(fig)

    times = [datetime.fromtimestamp(s.t) for s in points]
    # Hold the last level until now, and for at least a visible sliver: steps are drawn
    # "post", so a plot redrawn right after a load would otherwise end exactly where the new
    # level starts and show the level from before the load until the next change.
    span = max(points[-1].t - points[0].t, MIN_SPAN_S)
    end = max(now if now is not None else points[-1].t, points[-1].t + max(1.0, LAST_STEP_SHARE * span))
    times.append(datetime.fromtimestamp(end))
    points.append(points[-1])

    total = max(s.total for s in points)
    used_peak = max(s.used for s in points)
    # Models are often tiny next to a 64 GB device: zoom onto what is used and state the
    # total in words, unless the device is at least half full.
    zoomed = 0 < used_peak < total / 2
    peak = max(used_peak if zoomed else total, 1)
    scale, unit = _unit_for(peak)
    names: list[str] = []
    for s in points:
        for name in s.per_model:
            if name not in names:
                names.append(name)

    base = [0.0] * len(points)
    chosen = dict(colours or {})
    layers = [(name, [s.per_model.get(name, 0) / scale for s in points], chosen.get(name) or colour_for(name))
              for name in names]
    models_sum = [sum(s.per_model.values()) for s in points]
    other = [max(s.used - m, 0) / scale for s, m in zip(points, models_sum)]
    # "runtime / other" at the bottom: it is the floor the models sit on
    for label, values, colour in [("runtime / other", other, OTHER_COLOUR), *layers]:
        top = [b + v for b, v in zip(base, values)]
        ax.fill_between(times, base, top, step="post", color=colour, alpha=0.9, linewidth=0, label=label)
        base = top
    if zoomed:
        # an empty legend entry (listed last) says what the axis leaves out
        ax.plot([], [], " ", label=f"total {total / scale:,.1f} {unit}")
    else:
        # the total is known for the whole window, not just since the first sample
        start = min(times[0], times[-1] - timedelta(seconds=MIN_SPAN_S))
        ax.step([start, *times], [points[0].total / scale] + [s.total / scale for s in points], where="post",
                color=TOTAL_COLOUR, linewidth=1.2, linestyle="--", label="total")

    ax.set_ylim(0, peak / scale * (1.3 if zoomed else 1.08))
    # at least a minute of axis, so a young session does not show three identical tick labels
    start = min(times[0], times[-1] - timedelta(seconds=MIN_SPAN_S))
    ax.set_xlim(start, times[-1])
    ax.set_ylabel(unit, fontsize=8.5, color="#444")
    locator = AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))
    # legend: the stack's layers top-down, as drawn, then the total; long names shortened
    items = list(zip(*ax.get_legend_handles_labels()))
    items = items[:-1][::-1][: _LEGEND_ROWS - 1] + items[-1:]
    labels = [lab if len(lab) <= _LABEL_CHARS else lab[: _LABEL_CHARS - 1] + "…" for _, lab in items[:-1]]
    labels.append(items[-1][1])
    ax.legend([h for h, _ in items], labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False, borderaxespad=0)
    return _to_png(fig)


def _to_png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()


__all__ = ["MAX_POINTS", "MIN_SPAN_S", "colour_for", "render_png"]
