"""Live views of many devices: this host's device grid, and the cluster view (hosts x devices).

Both draw a `MemoryGrid` (display.py renders it: one bar per device, a model group in one
colour across devices) and redraw from a timer thread, only when the numbers changed.
They read through the public API alone (`acl.memory(device="all")`, `acl.cluster.*`).
"""

from __future__ import annotations

import html
import logging
import threading
from typing import Any, Callable, Optional

import ipywidgets as W

from ..display import error_line, render_html
from .ticker import Ticker

log = logging.getLogger("acl_notebook.widgets")

DEFAULT_INTERVAL = 2.0


def _key(grid: Any) -> tuple:
    """What a redraw depends on (not the timestamp)."""
    return tuple((c.host, c.device, c.state, c.reason, c.total, c.free, c.used,
                  tuple((s.name, s.bytes, s.state) for s in c.models)) for c in grid.cells)


class GridView(W.VBox):
    """A `MemoryGrid` from `source()`, redrawn every `interval` seconds when it changed.

    `extra()` (optional) returns more renderable objects shown under the grid (the
    cluster's models and workers). `close()` stops the timer.
    """

    def __init__(self, source: Callable[[], Any], *, extra: Optional[Callable[[], list]] = None,
                 interval: float = DEFAULT_INTERVAL, autostart: bool = True) -> None:
        super().__init__()
        self._source = source
        self._extra = extra
        self._lock = threading.Lock()
        self._last: Any = None
        self.grid_html = W.HTML()
        self.grid_html.add_class("acl-device-grid")
        self.extra_html = W.HTML()
        self.children = [self.grid_html, self.extra_html]
        self.closed = False
        self.grid: Any = None
        self.refresh()
        self._ticker = Ticker(self.refresh, interval, name="acl-notebook-grid-timer")
        if autostart:
            self._ticker.start()

    @property
    def timer(self) -> Ticker:
        return self._ticker

    def refresh(self) -> bool:
        """Re-read the grid; True if it changed and was redrawn."""
        if self.closed:
            return False
        with self._lock:
            try:
                grid = self._source()
            except Exception as exc:  # say it where the grid goes; the next tick tries again
                log.debug("grid source failed", exc_info=True)
                self.grid_html.value = f'<div class="acl-err acl-note">{html.escape(error_line(exc))}</div>'
                self._last = None
                return True
            extra = self._extra() if self._extra is not None else []
            key = (_key(grid), tuple(repr(x) for x in extra))
            if key == self._last:
                return False
            self._last, self.grid = key, grid
            self.grid_html.value = render_html(grid)
            self.extra_html.value = "".join(render_html(x) for x in extra)
            return True

    def close(self) -> None:
        if not getattr(self, "closed", True):
            self.closed = True
            self._ticker.stop()
            self.grid_html.close()
            self.extra_html.close()
        super().close()


def cluster_view(interval: float = DEFAULT_INTERVAL, autostart: bool = True, timeout: float = 5.0) -> GridView:
    """The cluster: hosts x devices with memory and models per device, lost ones marked, and
    the model table; live. Each refresh is bounded by `timeout`."""
    from .. import cluster

    def models() -> list:
        return [cluster.models()]

    return GridView(lambda: cluster.memory(timeout=timeout), extra=models, interval=interval, autostart=autostart)


__all__ = ["GridView", "cluster_view"]
