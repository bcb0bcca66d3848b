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
    """One piece of work launched on a stream; performed in launch order, later.

    Once a thread takes it off its queue it is *in flight* until that thread has performed
    it: `claimant` is that thread, `performed` says it is done (see `Queues`)."""

    claimant: int = 0
    flying_on: Hashable = None
    performed: bool = False

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


@dataclass
class FillTask(StreamTask):
    """aclrtMemsetAsync on device memory: the bytes are set when the stream reaches the task
    (the runtime queues copies of a filled host block), so a program that reads them before
    it synchronizes sees the old contents, as on a device."""

    target: memoryview
    value: int

    def perform(self, backend: Any) -> None:
        fill(self.target, self.value)


def fill(target: memoryview, value: int) -> None:
    """aclrtMemset's bytes: every byte of `target` set to the low byte of `value`."""
    target[:] = bytes([int(value) & 0xFF]) * len(target)


def default_key(context: int) -> tuple[str, int]:
    """The queue key of a context's default stream (stream handle 0 in that context)."""
    return ("default", context)


class Queues:
    """Tasks by queue key, in launch order. Not thread-safe: the backend's lock guards it.

    A task taken off a queue stays known as in flight on its key until `settle`: a thread
    that waits for a stream must also wait for what another thread took off it just before
    and is still performing (it may be held by a blocking callback), and must not perform
    the stream's later tasks first."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, list[StreamTask]] = {}
        self._flying: dict[Hashable, list[StreamTask]] = {}

    def add(self, key: Hashable, task: StreamTask) -> None:
        self._tasks.setdefault(key, []).append(task)

    def keys(self) -> list[Hashable]:
        return list(self._tasks)

    def pending(self, key: Hashable) -> list[StreamTask]:
        """What is still queued on `key` (a copy of the list)."""
        return list(self._tasks.get(key, ()))

    def take(self, keys: Iterable[Hashable], claimant: int) -> list[StreamTask]:
        """For thread `claimant`, per key in launch order: the tasks other threads took off
        these queues and have not performed yet (to wait for), then everything still queued
        there (to perform, now claimed by `claimant`)."""
        out: list[StreamTask] = []
        for k in list(keys):
            out += self.flying(k, claimant)
            out += self._claim(k, self._tasks.pop(k, []), claimant)
        return out

    def take_through(self, key: Hashable, task: StreamTask, claimant: int) -> list[StreamTask]:
        """As `take` for one key, up to and including `task`; when `task` is no longer queued
        the in-flight tasks up to it (those another thread still performs), else []."""
        tasks = self._tasks.get(key, [])
        for i, t in enumerate(tasks):
            if t is task:
                head, self._tasks[key] = tasks[: i + 1], tasks[i + 1:]
                if not self._tasks[key]:
                    del self._tasks[key]
                return self.flying(key, claimant) + self._claim(key, head, claimant)
        flying = self._flying.get(key, [])
        for i, t in enumerate(flying):
            if t is task:
                return [f for f in flying[: i + 1] if f.claimant != claimant]
        return []

    def take_before(self, key: Hashable, task: StreamTask, claimant: int) -> list[StreamTask]:
        """As `take` for one key, up to but not including the queued `task` (which stays)."""
        tasks = self._tasks.get(key, [])
        for i, t in enumerate(tasks):
            if t is task:
                head, self._tasks[key] = tasks[:i], tasks[i:]
                return self.flying(key, claimant) + self._claim(key, head, claimant)
        return self.take([key], claimant)

    def first(self, key: Hashable, match: Callable[[StreamTask], bool]) -> Optional[StreamTask]:
        """The first task queued on `key` that `match` accepts."""
        return next((t for t in self._tasks.get(key, ()) if match(t)), None)

    def _claim(self, key: Hashable, tasks: list[StreamTask], claimant: int) -> list[StreamTask]:
        for t in tasks:
            t.claimant, t.flying_on = claimant, key
        if tasks:
            self._flying.setdefault(key, []).extend(tasks)
        return tasks

    def flying(self, key: Hashable, claimant: int) -> list[StreamTask]:
        """Tasks of `key` that threads other than `claimant` took and have not performed."""
        return [t for t in self._flying.get(key, ()) if t.claimant != claimant]

    def settle(self, task: StreamTask) -> None:
        """`task` has been performed (or dropped): it is no longer in flight."""
        task.performed = True
        flying = self._flying.get(task.flying_on, [])
        for i, t in enumerate(flying):
            if t is task:  # identity: dataclass tasks compare equal by value
                del flying[i]
                if not flying:
                    del self._flying[task.flying_on]
                return

    def find(self, match: Callable[[StreamTask], bool]) -> Optional[tuple[Hashable, StreamTask]]:
        """The first queued task `match` accepts, with its key."""
        for key, tasks in self._tasks.items():
            for t in tasks:
                if match(t):
                    return key, t
        return None


__all__ = ["CopyTask", "FillTask", "Queues", "StreamTask", "default_key", "fill"]
