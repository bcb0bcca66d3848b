"""A bounded time series of device memory (and utilisation), for the panel's plots.

Memory changes in steps: most timer samples repeat the level before them. A run of equal
samples is kept as its first and its latest sample (the latest one's time moves on), so
the bounded buffer holds changes, not ticks, and the plot can start at the session's
start however long the kernel has been up.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

#: The `per_model` key for device memory pyACL programs allocated that no model has run with.
PROGRAM_BUFFERS = "pyACL buffers"


@dataclass(frozen=True)
class MemorySample:
    t: float  # time.time()
    device: int
    total: int
    free: int
    used: int
    per_model: dict = field(default_factory=dict)  # model name -> bytes charged
    util: Any = None  # runtime.base.Utilization, or None when the backend cannot say

    def level(self) -> tuple:
        """What a plot draws of this sample (everything but the time)."""
        return (self.device, self.total, self.free, tuple(sorted(self.per_model.items())), self.util)


class MemoryHistory:
    """Keeps the last `maxlen` changes of every device (runs of equal samples collapsed)."""

    def __init__(self, maxlen: int = 4096, flush: Optional[Callable[[], None]] = None) -> None:
        """`flush`: called before every read, to add the samples its owner put off (the
        session spaces the samples of quick loads and unloads, see `Session._memory_changed`)."""
        self._samples: deque[MemorySample] = deque(maxlen=maxlen)
        self._runs: dict[int, int] = {}  # device -> length of its current run of equal samples
        self._lock = threading.Lock()
        self._flush = flush

    def add(self, sample: MemorySample) -> None:
        with self._lock:
            index = self._latest_index(sample.device)
            same = index is not None and self._samples[index].level() == sample.level()
            if same and self._runs.get(sample.device, 1) >= 2:
                # the middle of a flat run says nothing new: move the run's end instead
                del self._samples[index]
            else:
                self._runs[sample.device] = self._runs.get(sample.device, 1) + 1 if same else 1
            self._samples.append(sample)

    def _latest_index(self, device: int) -> Optional[int]:
        for i in range(len(self._samples) - 1, -1, -1):
            if self._samples[i].device == device:
                return i
        return None

    def samples(self, device: Optional[int] = None) -> list[MemorySample]:
        self._flushed()
        with self._lock:
            return [s for s in self._samples if device is None or s.device == device]

    def latest(self, device: int) -> Optional[MemorySample]:
        self._flushed()
        with self._lock:
            index = self._latest_index(device)
            return None if index is None else self._samples[index]

    def clear(self) -> None:
        with self._lock:
            self._samples.clear()
            self._runs.clear()

    def __len__(self) -> int:
        self._flushed()
        return len(self._samples)

    def _flushed(self) -> None:
        if self._flush is not None:
            self._flush()
