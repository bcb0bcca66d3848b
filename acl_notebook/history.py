"""A bounded time series of device memory, for the panel's plot."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class MemorySample:
    t: float  # time.time()
    device: int
    total: int
    free: int
    used: int
    per_model: dict = field(default_factory=dict)  # model name -> bytes charged


class MemoryHistory:
    """Keeps the last `maxlen` samples; a sample is cheap (a few ints), so hours fit."""

    def __init__(self, maxlen: int = 4096) -> None:
        self._samples: deque[MemorySample] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, sample: MemorySample) -> None:
        with self._lock:
            self._samples.append(sample)

    def samples(self, device: Optional[int] = None) -> list[MemorySample]:
        with self._lock:
            return [s for s in self._samples if device is None or s.device == device]

    def clear(self) -> None:
        with self._lock:
            self._samples.clear()

    def __len__(self) -> int:
        return len(self._samples)
