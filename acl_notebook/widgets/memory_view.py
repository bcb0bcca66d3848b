"""The panel's memory section: per-device bars, the host's line, the report, memory and
utilisation over time.

It reads the session (memory reports, the sampled history, utilisation) and renders
through `display` and `memory_plot`; it owns no state beyond the zoom the user picked.
A device the kernel has not opened is never opened here just to draw its bar.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any

import ipywidgets as W

from ..api import host_memory
from ..display import device_rows_html, error_line, host_row_html, human_bytes, model_colour, render_html
from .memory_plot import render_png, render_util_png

log = logging.getLogger("acl_notebook.widgets")


class MemorySection:
    """Widgets of the memory view; `draw(device)` re-reads the session and redraws them."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.title = W.HTML('<div class="acl-section">Device memory</div>', layout=W.Layout(flex="1 1 auto"))
        self.mode = W.ToggleButtons(
            options=[("Device total", "total"), ("Models only", "models")], value="total",
            tooltips=["y axis up to the device's total memory", "zoom onto the loaded models"],
            style={"button_width": "auto"},
        )
        self.mode.add_class("acl-zoom")
        self.devices = W.HTML()
        self.devices.add_class("acl-devices")
        # host memory (the container's limit, where one is tighter than the node): what runs,
        # random inputs and the CPU reference take, and what the device rows cannot show
        self.host = W.HTML()
        self.host.add_class("acl-host")
        self.report = W.HTML(layout=W.Layout(flex="0 1 390px", min_width="300px", max_width="480px"))
        self.report.add_class("acl-memory")
        # width 100%: the PNG is drawn at 1.5x for sharp text and shown at the column's width
        self.plot = W.Image(format="png", layout=W.Layout(width="100%", max_width="660px", object_fit="contain"))
        self.plot.add_class("acl-plot")
        self.util_plot = W.Image(format="png", layout=W.Layout(width="100%", max_width="660px",
                                                                object_fit="contain", display="none"))
        self.util_plot.add_class("acl-util-plot")
        head = W.HBox([self.title, self.mode], layout=W.Layout(align_items="flex-end"))
        plots = W.VBox([self.plot, self.util_plot], layout=W.Layout(flex="1 1 520px", min_width="320px",
                                                                    max_width="660px"))
        row = W.HBox([self.report, plots], layout=W.Layout(flex_flow="row wrap", grid_gap="16px",
                                                          align_items="flex-start"))
        self._containers = (head, plots, row)
        self.box = W.VBox([head, self.devices, self.host, row])
        self.last_key: Any = None

    def widgets(self) -> list[W.Widget]:
        return [self.title, self.mode, self.devices, self.host, self.report, self.plot, self.util_plot,
                *self._containers, self.box]

    def draw(self, device: int, device_count: int = 1) -> None:
        """Redraw everything for `device` (the selected one of `device_count`); errors show
        where the numbers go."""
        try:
            self._draw(device, device_count)
        except Exception as exc:  # e.g. the runtime refusing a query: say so, keep the panel alive
            log.debug("memory view failed", exc_info=True)
            self.report.value = f'<div class="acl-err acl-note">{html.escape(error_line(exc))}</div>'

    def _draw(self, device: int, count: int) -> None:
        session = self._session
        if not session.started:
            # shut down (e.g. %unload_ext): asking for memory would start the runtime again
            self.report.value = ('<div class="acl-muted acl-note">The session is shut down; it starts '
                                 "again with the next load.</div>")
            self.devices.layout.display = "none"
            return
        report = session.memory(device)
        self.report.value = render_html(report)
        everything = session.history.samples()
        samples = [s for s in everything if s.device == device]
        if samples:
            self.last_key = samples[-1].level()
        start = everything[0].t if everything else None  # the session's first sample: its start
        now = time.time()
        zoom = self.mode.value
        title = (f"Device {device} · {report.kind} · {human_bytes(report.used)} of {human_bytes(report.total)} used"
                 + (" · models only" if zoom == "models" else ""))
        self.plot.value = render_png(samples, title=title, mode=zoom, now=now, start=start, colours=model_colour)
        util = render_util_png(samples, now=now, start=start)
        if util is None:  # the runtime cannot say: no row, and nothing broken
            self.util_plot.layout.display = "none"
        else:
            self.util_plot.value = util
            self.util_plot.layout.display = None
        self._draw_devices(device, count)
        self.draw_host()

    def draw_host(self) -> None:
        """Re-read host memory and redraw its line (the timer calls this every tick: host
        memory moves without any load or unload; an unchanged value sends nothing)."""
        try:
            shown = host_row_html(host_memory())
        except Exception as exc:  # an unreadable /proc must not break the memory view
            log.debug("host memory line failed", exc_info=True)
            shown = f'<div class="acl-muted acl-note">Host memory: {html.escape(error_line(exc))}</div>'
        if self.host.value != shown:
            self.host.value = shown

    def _draw_devices(self, selected: int, count: int) -> None:
        session = self._session
        if count <= 1:
            self.devices.layout.display = "none"
            return
        opened = set(session.open_devices())
        rows = []
        for d in range(count):
            if d in opened:
                rows.append((d, session.memory(d), session.utilization(d), d == selected))
            else:
                rows.append((d, None, None, d == selected))
        self.devices.value = device_rows_html(rows)
        self.devices.layout.display = None


__all__ = ["MemorySection"]
