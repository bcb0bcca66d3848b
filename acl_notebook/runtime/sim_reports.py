"""The simulator's host callbacks: aclrtSubscribeReport, aclrtLaunchCallback, aclrtProcessReport.

On a device a callback is a task on a stream like any other: when the stream reaches it, the
device posts a report to the thread subscribed to that stream, and that thread, looping in
aclrtProcessReport, calls the host function. The simulator keeps that shape on its lazy
streams (work completes when something waits for or observes it, `sim_streams`):

- a callback launched on a subscribed stream is queued there, after the work launched
  before it. It becomes *ready* when that work has run;
- ``process_report(timeout)`` on the subscribed thread runs the stream's queued work up to
  the callback (as the device would have done by then) and calls the callback on that
  thread; callbacks a synchronize already reached (and posted) run first. With nothing
  ready it waits up to `timeout` ms (-1: forever) for a launch and then gives ACL's code;
- a blocking callback (block type 1) holds the work after it until it returns: a
  synchronize that reaches it posts it and waits for the subscribed thread to run it, and
  while the subscribed thread runs it the rest of its stream waits; other streams move (a
  callback may wait for the program's work on them). A non-blocking one (0) is posted and
  the stream goes on;
- unsubscribing waits until the stream's callbacks have run (while the subscribed thread
  is alive to run them); destroying a stream unsubscribes it;
- a blocking callback the subscribed thread's own synchronize reaches would hang a device
  (the thread waits for itself); the simulator calls it there, on that thread, instead;
- a synchronize waits for what another thread took off the stream before it and is still
  performing (a run, a copy, a record held behind a blocking callback), not only for what is
  still queued. A thread that waits so while another thread's synchronize holds a blocking
  callback for it runs that callback itself (it could never process it); one that waits for
  its own stream from inside that stream's blocking callback does not wait for the work the
  callback holds (a device would hang there);
- an exception a callback raises comes out of the ``process_report`` call that ran it (or,
  for one the subscribed thread's own synchronize ran, out of its next ``process_report``).

Codes, in ACL's order (hicann/runtime: ``aclrtLaunchCallback`` in acl/aclrt_c/runtime/callback.c,
``ApiImplDavid::CallbackLaunch`` / ``ProcessReport``, ``CbSubscribe::CheckForInsert`` / ``Delete``,
the driver's wait-timeout mapping):

- subscribe: stream 0 needs a current context (107002); a stream already subscribed, by any
  thread, 107011 (RT_STREAM_SUBSCRIBE); a thread that already serves another device's
  streams 107012 (RT_THREAD_SUBSCRIBE). Unsubscribe: not subscribed 107011, by another
  thread 107012;
- launch: block type not 0 / 1 100000, then context 107002, a stream of another context
  107003, a stream nobody subscribed 107015 (RT_STREAM_NO_CB_REG);
- process: timeout 0 or below -1 107000; a thread that subscribed no stream 107012; nothing
  within the timeout 507012 (RT_REPORT_TIMEOUT).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Optional

from . import errors as E
from .cvalues import INT32, RT_VALUE, UINT64, c_value
from .sim_streams import StreamTask, default_key

_POLL = 0.02  # seconds between looks while a wait cannot be woken (the GIL, KeyboardInterrupt)


@dataclass(eq=False)
class CallbackTask(StreamTask):
    """aclrtLaunchCallback's task: call `fn` on thread `thread` once the stream reaches it."""

    fn: Callable[[], None]
    block: bool
    thread: int
    key: Hashable
    done: bool = False
    posted: bool = False  # handed to the subscribed thread (by a synchronize that reached it)
    error: Optional[BaseException] = field(default=None, repr=False)

    def perform(self, backend: Any) -> None:
        backend._reached(self)

    def call_here(self) -> None:
        """Call it on this (the subscribed) thread; an exception is kept for process_report."""
        try:
            self.fn()
        except BaseException as exc:  # noqa: BLE001 - raised again by process_report
            self.error = exc
        finally:
            self.done = True


@dataclass(frozen=True)
class _Subscription:
    thread: int
    device: int


def _alive(thread: int) -> bool:
    return any(t.ident == thread for t in threading.enumerate())


class ReportsMixin:
    """The callback calls of `SimulatorBackend` (see the module docstring)."""

    # provided by SimulatorBackend and ExecutionMixin
    _lock: threading.RLock
    _draining: threading.RLock
    _progress: threading.Condition
    _streams: dict
    _contexts: dict
    _queues: Any
    _fail: Any
    _current: Any
    _finish: Any

    def _init_reports(self) -> None:
        self._subscribed: dict[Hashable, _Subscription] = {}
        self._posted: dict[int, list[CallbackTask]] = {}  # thread -> callbacks the streams reached
        self._late: dict[int, list[BaseException]] = {}  # thread -> errors of callbacks its own syncs ran
        self._reports = threading.Condition(self._lock)
        self._held = self._progress  # waiting on it lets the streams move
        self._running = threading.local()  # .keys: streams whose blocking callback this thread runs

    def _report_key(self, stream: int, call: str) -> tuple[Hashable, Any]:
        """Under `_lock`: the queue key `stream` names (0: the current context's default
        stream) and that stream's context."""
        if not stream:
            ctx = self._current(call)
            return default_key(ctx.handle), ctx
        owner = self._streams.get(stream)
        if owner is None:
            raise self._fail(E.ACL_ERROR_RT_INVALID_HANDLE, call, "unknown stream")
        return stream, self._contexts.get(owner)

    # -- subscribe / unsubscribe ----------------------------------------------------------
    def subscribe_report(self, thread_id: int, stream: int) -> None:
        call = "aclrtSubscribeReport"
        thread_id = c_value(thread_id, UINT64, call, "threadId")
        with self._lock:
            key, ctx = self._report_key(stream, call)
            if key in self._subscribed:
                raise self._fail(E.ACL_ERROR_RT_STREAM_SUBSCRIBE, call, "the stream is already subscribed")
            device = ctx.device if ctx is not None else 0
            for sub in self._subscribed.values():
                if sub.thread == thread_id and sub.device != device:
                    raise self._fail(E.ACL_ERROR_RT_THREAD_SUBSCRIBE, call,
                                     f"thread {thread_id} serves streams of device {sub.device}, not {device}")
            self._subscribed[key] = _Subscription(int(thread_id), device)

    def unsubscribe_report(self, thread_id: int, stream: int) -> None:
        call = "aclrtUnSubscribeReport"
        thread_id = c_value(thread_id, UINT64, call, "threadId")
        with self._lock:
            key, _ctx = self._report_key(stream, call)
            sub = self._subscribed.get(key)
            if sub is None:
                raise self._fail(E.ACL_ERROR_RT_STREAM_SUBSCRIBE, call, "the stream is not subscribed")
            if sub.thread != thread_id:
                raise self._fail(E.ACL_ERROR_RT_THREAD_SUBSCRIBE, call,
                                 f"the stream is subscribed by thread {sub.thread}, not {thread_id}")
            # the thread still runs what the stream posted (ACL waits for it too)
            waits = sub.thread != threading.get_ident()
            while waits and self._left(key) and _alive(sub.thread):
                self._reports.wait(_POLL)
            self._forget_reports(key)

    def _stream_gone(self, key: Hashable) -> None:
        """A destroyed stream is unsubscribed (the runtime deletes its subscription); what it
        already posted still runs on the thread's next process_report."""
        with self._lock:
            self._subscribed.pop(key, None)

    def _left(self, key: Hashable) -> bool:
        """Under `_lock`: callbacks of `key` still to run (queued or posted)."""
        posted = any(t.key == key and not t.done for ts in self._posted.values() for t in ts)
        posted = posted or any(isinstance(t, CallbackTask) and not t.done for t in self._queues.flying(key, 0))
        return posted or self._queues.find(lambda t: isinstance(t, CallbackTask) and t.key == key
                                           and not t.done) is not None

    def _forget_reports(self, key: Hashable) -> None:
        """Under `_lock`: `key` is no longer subscribed; callbacks it posted will never run."""
        self._subscribed.pop(key, None)
        for thread, tasks in list(self._posted.items()):
            for t in tasks:
                if t.key == key:
                    t.done = True
            self._posted[thread] = [t for t in tasks if not t.done]
        self._reports.notify_all()

    # -- launch ------------------------------------------------------------------------------
    def launch_callback(self, fn: Callable[[], None], block_type: int, stream: int) -> None:
        call = "aclrtLaunchCallback"
        if block_type not in (0, 1):
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, f"invalid block type {block_type} (0 or 1)")
        with self._lock:
            ctx = self._current(call)
            key, owner = self._report_key(stream, call)
            if owner is not ctx:
                raise self._fail(E.ACL_ERROR_RT_STREAM_CONTEXT, call, "the stream belongs to another context")
            sub = self._subscribed.get(key)
            if sub is None:
                raise self._fail(E.ACL_ERROR_RT_STREAM_NO_CB_REG, call,
                                 "the stream is not subscribed to any thread (acl.rt.subscribe_report first)")
            self._queues.add(key, CallbackTask(fn, bool(block_type), sub.thread, key))
            self._reports.notify_all()

    # -- the stream reaches a callback ------------------------------------------------------
    def _reached(self, task: CallbackTask) -> None:
        """Performed in launch order by whoever runs the stream (under `_draining`)."""
        if task.thread == threading.get_ident() and task.block:
            # The subscribed thread synchronizes its own stream: on a device it would wait for
            # ever for itself to process the report; the simulator calls it here instead.
            if task.posted:  # a timed synchronize posted it already
                self._serve_posted_blocking()
            else:
                self._call_late(task)
            return
        with self._lock:
            self._post(task)
        if not task.block:
            return
        with self._held:  # hold the stream's later work; the other streams may move meanwhile
            while not task.done and _alive(task.thread):
                self._held.wait(_POLL)

    def _post(self, task: CallbackTask) -> None:
        """Under `_lock`: hand it to its thread's process_report (once)."""
        if task.posted or task.done:
            return
        if self._subscribed.get(task.key, None) is None or self._subscribed[task.key].thread != task.thread:
            task.done = True  # unsubscribed meanwhile: nobody will call it
            return
        task.posted = True
        self._posted.setdefault(task.thread, []).append(task)
        self._reports.notify_all()

    def _gate(self, key: Hashable) -> Optional[CallbackTask]:
        """Under `_lock`: the first blocking callback of `key` that another (live) thread has
        still to run and that holds up its queued work: one already taken off the queue and
        running (or about to) on another thread comes before every queued task, else the
        first queued one. What a timed synchronize may wait for in vain."""
        me = threading.get_ident()

        def holds(t: StreamTask) -> bool:
            return (isinstance(t, CallbackTask) and t.block and not t.done
                    and t.thread != me and _alive(t.thread))

        return next(filter(holds, self._queues.flying(key, me)), None) or self._queues.first(key, holds)

    def _take_before_gate(self, key: Hashable, gate: CallbackTask) -> list[StreamTask]:
        """Under `_lock`: claim what is queued on `key` before `gate`; nothing when `gate` is
        already in flight (everything before it is too, on the thread that took it)."""
        if gate.flying_on is not None:
            return []
        return self._queues.take_before(key, gate, threading.get_ident())

    def _wait_gate(self, task: CallbackTask, deadline: float) -> bool:
        """Post `task` (the work before it is done) and wait until it has run or its thread is
        gone: True; False when `deadline` (time.monotonic()) passes first (it stays posted).
        A callback another thread has taken off the queue is that thread's to call: not posted."""
        with self._lock:
            if task.flying_on is None:
                self._post(task)
        with self._held:
            while not task.done and _alive(task.thread):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._held.wait(min(left, _POLL))
        return True

    def _call_late(self, task: CallbackTask) -> None:
        """Call a blocking callback on its thread outside process_report; the queue must go
        on, so its error waits for that thread's next process_report."""
        self._call(task)
        if task.error is not None:
            with self._lock:
                self._late.setdefault(task.thread, []).append(task.error)
            task.error = None

    def _call(self, task: CallbackTask) -> None:
        """Call it on this thread, noting meanwhile that a blocking one holds its stream."""
        if not task.block:
            task.call_here()
            return
        keys = self._running.__dict__.setdefault("keys", [])
        keys.append(task.key)
        try:
            task.call_here()
        finally:
            keys.pop()

    def _holding(self, key: Hashable) -> bool:
        """Whether this thread is running a blocking callback of stream `key` (whatever
        another thread took off that stream after it cannot be done before it returns)."""
        return key in getattr(self._running, "keys", ())

    def _serve_posted_blocking(self) -> bool:
        """While this thread waits for a stream: call the blocking callbacks posted to it (the
        thread that posted one waits for this one, which would never process it)."""
        me = threading.get_ident()
        with self._lock:
            mine = self._posted.get(me, [])
            ready = [t for t in mine if t.block and not t.done]
            if not ready:
                return False
            self._posted[me] = [t for t in mine if not t.block]
        for task in ready:
            self._call_late(task)
        self._progress.notify_all()  # under `_draining`: the caller waits in `_await`
        return True

    # -- process -----------------------------------------------------------------------------
    def process_report(self, timeout: int) -> None:
        call = "aclrtProcessReport"
        timeout = c_value(timeout, INT32, call, "timeout", RT_VALUE)
        if timeout == 0 or timeout < -1:
            raise self._fail(E.ACL_ERROR_RT_PARAM_INVALID, call, f"invalid timeout {timeout} (-1 or > 0 ms)")
        me = threading.get_ident()
        deadline = None if timeout < 0 else time.monotonic() + timeout / 1000
        work: list[StreamTask] = []
        with self._lock:
            late = self._late.pop(me, None)
            if late:
                raise late[0]
            while True:
                if not self._posted.get(me) and not any(s.thread == me for s in self._subscribed.values()):
                    raise self._fail(E.ACL_ERROR_RT_THREAD_SUBSCRIBE, call, f"thread {me} subscribed no stream")
                if self._posted.get(me):
                    break
                found = self._queues.find(lambda t: isinstance(t, CallbackTask) and t.thread == me and not t.posted)
                if found is not None:
                    work = self._queues.take_through(*found, me)
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise self._fail(E.ACL_ERROR_RT_REPORT_TIMEOUT, call, f"no callback within {timeout} ms")
                self._reports.wait(_POLL if left is None else min(left, _POLL))
        posted = []
        while True:  # one at a time: a callback that waits for a stream may run the next itself
            with self._lock:
                mine = self._posted.get(me)
                if not mine:
                    self._posted.pop(me, None)
                    break
                task = mine.pop(0)
            posted.append(task)
            self._call(task)
            if task.block:  # the synchronize that posted it waits on `_held`
                with self._held:
                    self._held.notify_all()
        failed: Optional[BaseException] = None
        if work:  # the work before the callback, then the callback itself
            *before, task = work
            try:
                self._finish(before)
            except E.AclError as exc:
                failed = exc
            except BaseException:  # interrupted: the callback is dropped, nobody must wait for it
                with self._draining:
                    task.done = True
                    self._settle(task)
                raise
            if task.block:  # in flight until it returns: its stream's later work waits for it
                try:
                    self._call(task)
                finally:
                    with self._draining:
                        self._settle(task)
            else:  # the stream goes on at once: nothing waits for a non-blocking one
                with self._draining:
                    self._settle(task)
                task.call_here()
        with self._lock:
            self._reports.notify_all()
        for task in [*posted, *work]:
            if isinstance(task, CallbackTask) and task.error is not None:
                error, task.error = task.error, None
                raise error
        if failed is not None:
            raise failed

    def pending_callbacks(self) -> int:
        """Callbacks launched and not yet run (for tests)."""
        with self._lock:
            posted = sum(not t.done for ts in self._posted.values() for t in ts)
            queued = 0
            for key in self._queues.keys():
                queued += sum(isinstance(t, CallbackTask) and not t.posted for t in self._queues.pending(key))
            return posted + queued


__all__ = ["CallbackTask", "ReportsMixin"]
