"""The simulator's streams: each one an ordered queue of tasks of several kinds.

Why a queue of tasks rather than of model runs: on a device a stream executes whatever was
launched on it (model runs, asynchronous copies, event records, host callbacks) strictly in
launch order, and only when the program waits for it does it matter that the work is done.
The simulator keeps that order and performs a stream's tasks when the program waits for or
observes them (see `sim_exec`'s docstring for which calls do). Every task was fully checked
when it was launched; performing it only moves bytes, computes, or takes a timestamp.

A task kind is a `StreamTask` subclass with a `perform(backend)` method; the queue does
not care what it does. `Queues` holds the tasks by queue key: a stream handle, or
``("default", context)`` for a context's default stream.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Optional


class StreamTask(ABC):
    """One piece of work launched on a stream; performed in launch order, later."""

    @abstractmethod
    def perform(self, backend: Any) -> None:
        """Do the work. May raise `AclError`; the tasks queued after it still run."""


@dataclass
class CopyTask(StreamTask):
    """aclrtMemcpyAsync: both sides were resolved to live views at launch; the bytes move now
    (so the copy reads its source as it is when the stream reaches it, as a device does)."""

    target: memoryview
    source: memoryview

    def perform(self, backend: Any) -> None:
        self.target[:] = self.source


def default_key(context: int) -> tuple[str, int]:
    """The queue key of a context's default stream (stream handle 0 in that context)."""
    return ("default", context)


class Queues:
    """Tasks by queue key, in launch order. Not thread-safe: the backend's lock guards it."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, list[StreamTask]] = {}

    def add(self, key: Hashable, task: StreamTask) -> None:
        self._tasks.setdefault(key, []).append(task)

    def keys(self) -> list[Hashable]:
        return list(self._tasks)

    def pending(self, key: Hashable) -> list[StreamTask]:
        """What is still queued on `key` (a copy of the list)."""
        return list(self._tasks.get(key, ()))

    def take(self, keys: Iterable[Hashable]) -> list[StreamTask]:
        """Everything queued on these keys, in launch order per key, off their queues."""
        return [t for k in keys for t in self._tasks.pop(k, ())]

    def take_through(self, key: Hashable, task: StreamTask) -> list[StreamTask]:
        """The tasks of `key` up to and including `task`, off the queue; [] if it is not queued
        there (already performed, or taken by another thread that is performing it)."""
        tasks = self._tasks.get(key, [])
        for i, t in enumerate(tasks):
            if t is task:
                head, self._tasks[key] = tasks[: i + 1], tasks[i + 1:]
                if not self._tasks[key]:
                    del self._tasks[key]
                return head
        return []

    def find(self, match: Callable[[StreamTask], bool]) -> Optional[tuple[Hashable, StreamTask]]:
        """The first queued task `match` accepts, with its key."""
        for key, tasks in self._tasks.items():
            for t in tasks:
                if match(t):
                    return key, t
        return None


__all__ = ["CopyTask", "Queues", "StreamTask", "default_key"]
