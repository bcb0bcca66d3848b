"""A background thread that calls a function every few seconds until stopped.

The panel's memory view must follow the device while the user does other things in the
notebook, so the sampling cannot wait for the kernel's main thread (busy running cells)
or for the kernel's IOLoop (absent in headless tests and plain IPython). A daemon thread
waiting on an `Event` costs nothing between ticks and stops within one `wait` call.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

log = logging.getLogger("acl_notebook.widgets")


class Ticker:
    """Calls `fn()` every `interval` seconds on its own thread; `stop()` ends and joins it.

    A failing tick is logged and the next one still runs: a transient error (the session
    being reconfigured, a device reset) must not freeze the view for good.
    """

    def __init__(self, fn: Callable[[], None], interval: float,
                 name: str = "acl-notebook-panel-timer") -> None:
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.fn = fn
        self.interval = float(interval)
        self.name = name
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def thread(self) -> Optional[threading.Thread]:
        return self._thread

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it (unless called from the thread itself)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.fn()
            except Exception:
                log.debug("panel timer tick failed", exc_info=True)
            self.ticks += 1


__all__ = ["Ticker"]
