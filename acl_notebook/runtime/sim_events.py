"""The simulator's events: records, resets and waits queued on streams, and what observes them.

A mixin of `SimulatorBackend` next to `sim_exec.ExecutionMixin` (it uses the backend's lock,
stream queues, current-context lookup and `_finish`). The model, which the README states too:

- work on a stream is done when the program waits for it or observes it. aclrtRecordEvent and
  aclrtResetEvent are tasks on their stream like a model run or a copy;
  aclrtSynchronizeEvent, aclrtQueryEventStatus and aclrtEventElapsedTime perform the event's
  stream up to its latest record (or reset), in order, and then answer; the query never waits:
  while another thread performs that stream, or behind a blocking callback another thread has
  still to run (it is posted to it), it answers NOT_READY;
- an event's timestamp is taken when its stream reaches the record, so the time between two
  events recorded around an aclmdlExecuteAsync is the simulated compute's real duration;
- aclrtStreamWaitEvent queues a wait: when its stream reaches it, the event's stream is
  performed up to the record first (waiting for a never-recorded event waits for nothing);
  aclrtQueryEventWaitStatus observes each waiting stream up to its wait, never waiting.

Codes (the runtime's, hicann/runtime api_error.cc / event.cc, except where marked [inf]):
NULL event 100000; a flag of 0 or with a bit outside SYNC 0x1, CAPTURE_STREAM_PROGRESS 0x2
and TIME_LINE 0x8 is 107000; an unknown (destroyed, made-up) event is 107017 [inf: on a device
it is undefined]; no current context 107002; the stream checks are aclrtMemcpyAsync's (107017,
107003). Elapsed time with an event that has no record (never recorded, or reset) is the
runtime's "event recorder null", which ACL reports as 507000; with an event created without
TIME_LINE (it takes no timestamp) 107006 [inf]. A start later than the end gives a negative
time, as the runtime computes it. Never-recorded events: synchronize returns at once, the
status is NOT_READY, and the deprecated aclrtQueryEvent says COMPLETE (Event::Query).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from . import errors as E
from .cvalues import INT32, RT_VALUE, c_value
from .sim_streams import StreamTask

EVENT_SYNC = 0x1
EVENT_CAPTURE_STREAM_PROGRESS = 0x2
EVENT_TIME_LINE = 0x8
#: The flag aclrtCreateEvent gives an event: it can both time and synchronize.
EVENT_DEFAULT = EVENT_SYNC | EVENT_TIME_LINE
_KNOWN_FLAGS = EVENT_SYNC | EVENT_CAPTURE_STREAM_PROGRESS | EVENT_TIME_LINE
_RT_PARAM_INVALID = E.ACL_ERROR_RT_PARAM_INVALID
_RT_INTERNAL_ERROR = E.ACL_ERROR_RT_INTERNAL_ERROR
_RT_EVENT_TIMESTAMP_INVALID = E.ACL_ERROR_RT_EVENT_TIMESTAMP_INVALID


@dataclass(eq=False)
class _Event:
    handle: int
    context: int
    flag: int
    latest: Optional[StreamTask] = None  # the last record or reset launched on it
    stamp: Optional[float] = None  # time.monotonic() when a record was performed; None: no record
    waits: list = field(default_factory=list)  # stream waits on it not yet seen performed


@dataclass(eq=False)
class _RecordTask(StreamTask):
    event: _Event

    def perform(self, backend: Any) -> None:
        if self.event.latest is self:  # a later record or reset supersedes this one
            self.event.stamp = time.monotonic()


@dataclass(eq=False)
class _ResetTask(StreamTask):
    event: _Event

    def perform(self, backend: Any) -> None:
        if self.event.latest is self:
            self.event.stamp = None


@dataclass(eq=False)
class _WaitTask(StreamTask):
    """The stream stops here until the event's record (as it was at launch) is done."""

    awaited: Optional[StreamTask]

    def perform(self, backend: Any) -> None:
        if self.awaited is not None:
            backend._perform_through(self.awaited)


class EventsMixin:
    """aclrt event calls for the simulator (see the module docstring)."""

    _lock: threading.RLock
    _gate: Any  # sim_reports: the first blocking callback queued on a stream for another thread
    _post: Any  # sim_reports: hand a callback to its thread
    _wait_gate: Any  # sim_reports: post a blocking callback and wait for it until a deadline

    def _init_events(self) -> None:
        self._events: dict[int, _Event] = {}
        self._event_handles = itertools.count(0x7E000010, 16)

    def _event(self, event: int, call: str) -> _Event:
        if not event:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "event is NULL")
        found = self._events.get(event)
        if found is None:
            raise self._fail(E.ACL_ERROR_RT_INVALID_HANDLE, call, f"0x{event:x} is not a live event")
        return found

    def create_event(self, flag: Optional[int] = None, extended: bool = False) -> int:
        call = ("aclrtCreateEvent" if flag is None else
                "aclrtCreateEventExWithFlag" if extended else "aclrtCreateEventWithFlag")
        with self._lock:
            if flag is not None and (flag == 0 or flag & ~_KNOWN_FLAGS):
                raise self._fail(_RT_PARAM_INVALID, call, f"flag 0x{flag:x} is 0 or has an unknown bit")
            ctx = self._current(call)
            handle = next(self._event_handles)
            self._events[handle] = _Event(handle, ctx.handle, EVENT_DEFAULT if flag is None else int(flag))
            return handle

    def destroy_event(self, event: int) -> None:
        with self._lock:
            self._event(event, "aclrtDestroyEvent")
            del self._events[event]  # a record still queued sets the time of an orphan: harmless

    def _launch_on_event(self, event: int, stream: int, call: str, kind: type) -> None:
        with self._lock:
            ev = self._event(event, call)
            ctx = self._current(call)
            key = self._stream_key(stream, ctx.handle, call)
            task = kind(ev)
            ev.latest = task
            self._queues.add(key, task)

    def record_event(self, event: int, stream: int) -> None:
        self._launch_on_event(event, stream, "aclrtRecordEvent", _RecordTask)

    def reset_event(self, event: int, stream: int) -> None:
        self._launch_on_event(event, stream, "aclrtResetEvent", _ResetTask)

    def stream_wait_event(self, stream: int, event: int) -> None:
        call = "aclrtStreamWaitEvent"
        with self._lock:
            ev = self._event(event, call)
            ctx = self._current(call)
            key = self._stream_key(stream, ctx.handle, call)
            wait = _WaitTask(ev.latest)
            # only the waits not yet performed matter to query_event_wait_status: a pipeline
            # that records and waits every iteration and never asks must not grow this list
            ev.waits = [w for w in ev.waits if not w.performed]
            ev.waits.append(wait)
            self._queues.add(key, wait)

    def _perform_through(self, task: StreamTask) -> None:
        """Perform `task`'s stream up to and including it, if it is still queued, or wait for
        the thread that took it off the queue to finish performing it."""
        with self._lock:
            found = self._queues.find(lambda t: t is task)
            key = found[0] if found else task.flying_on
            tasks = [] if task.performed else self._queues.take_through(key, task, threading.get_ident())
        self._finish(tasks)

    def _blocking_before(self, task: StreamTask) -> tuple[Any, Any]:
        """Under `_lock`: the key of the queue `task` waits in (None when it is not queued) and
        the blocking callback for another thread queued before it (None when there is none)."""
        found = self._queues.find(lambda t: t is task)
        if found is None:
            return None, None
        key = found[0]
        gate = self._gate(key)
        if (gate is not None and gate.flying_on is None
                and self._queues.first(key, lambda t: t is gate or t is task) is not gate):
            gate = None  # the callback comes after the task (one in flight comes before every queued task)
        return key, gate

    def _observe(self, event: int, call: str) -> _Event:
        """The event once its stream has reached its latest record or reset."""
        with self._lock:
            ev = self._event(event, call)
            latest = ev.latest
        if latest is not None:
            self._perform_through(latest)
        return ev

    def synchronize_event(self, event: int) -> None:
        self._observe(event, "aclrtSynchronizeEvent")

    def synchronize_event_with_timeout(self, event: int, timeout: int) -> None:
        """As aclrtSynchronizeEvent, within `timeout` ms (-1: no limit). Queued work takes no
        simulated time, so the only wait that can expire is for a blocking callback before the
        record that another thread has still to run: then 507047, and the callback, the record
        and the work between stay queued (the runtime's order: the timeout is checked first)."""
        call = "aclrtSynchronizeEventWithTimeout"
        timeout = c_value(timeout, INT32, call, "timeout", RT_VALUE)
        if timeout < -1:
            raise self._fail(_RT_PARAM_INVALID, call, f"timeout {timeout} is not in [-1, INT_MAX]")
        if timeout == -1:
            self._observe(event, call)
            return
        deadline = time.monotonic() + timeout / 1000.0
        while True:
            with self._lock:
                latest = self._event(event, call).latest
                key, gate = self._blocking_before(latest) if latest is not None else (None, None)
                tasks = [] if gate is None else self._take_before_gate(key, gate)
            if gate is None:
                if latest is not None:
                    self._perform_through(latest)
                return
            self._finish(tasks)
            if not self._wait_gate(gate, deadline):
                raise self._fail(E.ACL_ERROR_RT_EVENT_SYNC_TIMEOUT, call,
                                 "a blocking callback before the event's record has not returned within the timeout")

    def _poll(self, event: int, call: str) -> tuple[_Event, bool]:
        """The event, and whether its latest record or reset is done (`_poll_task`)."""
        with self._lock:
            ev = self._event(event, call)
            latest = ev.latest
        return ev, latest is None or self._poll_task(latest)

    def _poll_task(self, latest: StreamTask) -> bool:
        """Whether `latest` is done, after performing its stream up to it as `_observe` does,
        but never waiting: while another thread performs that stream, or a blocking callback
        another thread has to run comes first (it is posted to that thread), it is not done yet."""
        me = threading.get_ident()
        with self._lock:
            if latest.performed:
                return True
            key, gate = self._blocking_before(latest)
            if key is None or self._queues.flying(key, me):
                return False  # another thread is performing the stream: not there yet
            tasks = (self._queues.take_through(key, latest, me) if gate is None
                     else self._queues.take_before(key, gate, me))
        self._finish(tasks)
        if gate is not None:
            with self._lock:
                self._post(gate)
            return False
        return True

    def query_event_status(self, event: int) -> bool:
        """COMPLETE (True) once the event's latest record is done (`_poll`); NOT_READY (False)
        before, and for an event never recorded or reset since."""
        ev, done = self._poll(event, "aclrtQueryEventStatus")
        return done and ev.stamp is not None

    def query_event(self, event: int) -> int:
        """The deprecated aclrtQueryEvent: the runtime's Event::Query says NOT_READY (1) only
        while the latest record is launched and not yet reached, so an event never recorded
        (or reset) is COMPLETE (0), unlike aclrtQueryEventStatus."""
        _, done = self._poll(event, "aclrtQueryEvent")
        return 0 if done else 1

    def query_event_wait_status(self, event: int) -> int:
        """aclrtQueryEventWaitStatus: aclrtEventWaitStatus 0 (COMPLETE) once every stream that
        waits on the event (aclrtStreamWaitEvent) has got past its wait, and when none waits;
        1 (NOT_READY) while one has not (the runtime's Event::QueryEventWaitStatus over its
        wait tasks). Each waiting stream is observed as `query_event_status` observes the
        record's: performed up to the wait, never waited for."""
        call = "aclrtQueryEventWaitStatus"
        with self._lock:
            waits = list(self._event(event, call).waits)
        pending = [w for w in waits if not self._poll_task(w)]
        with self._lock:
            ev = self._events.get(event)
            if ev is not None:
                ev.waits = [w for w in ev.waits if not w.performed]
        return 1 if pending else 0

    def event_elapsed_time(self, start: int, end: int) -> float:
        call = "aclrtEventElapsedTime"
        with self._lock:  # both handles are checked before either stream is performed
            self._event(start, call)
            self._event(end, call)
        first, last = self._observe(start, call), self._observe(end, call)
        for ev in (first, last):
            if ev.stamp is None:
                raise self._fail(_RT_INTERNAL_ERROR, call,
                                 f"event 0x{ev.handle:x} has no record (never recorded, or reset since)")
            if not ev.flag & EVENT_TIME_LINE:
                raise self._fail(_RT_EVENT_TIMESTAMP_INVALID, call,
                                 f"event 0x{ev.handle:x} was created without ACL_EVENT_TIME_LINE: it takes no time")
        return (last.stamp - first.stamp) * 1000.0


__all__ = ["EVENT_CAPTURE_STREAM_PROGRESS", "EVENT_DEFAULT", "EVENT_SYNC", "EVENT_TIME_LINE", "EventsMixin"]
