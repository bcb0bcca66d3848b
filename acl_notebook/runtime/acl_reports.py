"""Host callbacks on a stream for the `acl` backend: Python callables handed to C.

aclrtLaunchCallback takes a C function pointer and a ``void *userData``, and ACL calls that
function later, on whichever thread calls aclrtProcessReport. A Python callable cannot be
passed as is, so there is one trampoline for the whole process (a ctypes ``aclrtCallback``
that lives as long as the module, so no C report can outlive it) and a table of the
callables still to be called, keyed by the token passed as userData. Each callable stays in
the table, and so alive, until C calls it, its launch fails, or the backend that launched it
finalizes ACL (after aclFinalize C never reports again).

An exception a callable raises cannot cross back into C: the trampoline keeps it for its
thread, and `process_report` raises it once aclrtProcessReport has returned, so a program
sees its callback's error where it asked for the callbacks to run.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Optional

from .cvalues import ENUM, HANDLE, INT32, POINTER, RT_VALUE, UINT64, c_value
from .prototypes import aclrtCallback

_pending: dict[int, tuple[int, Callable[[], None]]] = {}  # token -> (id of the launching backend, fn)
_tokens = itertools.count(1)
_lock = threading.Lock()
_raised = threading.local()  # per thread: the exceptions its callbacks raised


def _trampoline(data: Optional[int]) -> None:
    with _lock:
        entry = _pending.pop(data or 0, None)
    if entry is None:
        return
    fn = entry[1]
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to process_report, never into C
        errors = getattr(_raised, "errors", None)
        if errors is None:
            errors = _raised.errors = []
        errors.append(exc)


#: the one C function pointer every launch passes (never freed: a report may arrive late)
TRAMPOLINE = aclrtCallback(_trampoline)


def add(fn: Callable[[], None], owner: int = 0) -> int:
    """Keep `fn` until C calls it back; returns the token to pass as userData. `owner`: the
    id of the backend launching it (see `drop`)."""
    with _lock:
        token = next(_tokens)
        _pending[token] = (owner, fn)
    return token


def drop(owner: int) -> None:
    """`owner` finalized ACL: C will call none of its callbacks back."""
    with _lock:
        for token in [t for t, (o, _fn) in _pending.items() if o == owner]:
            del _pending[token]


def discard(token: int) -> None:
    """The launch failed: C will never call `token` back."""
    with _lock:
        _pending.pop(token, None)


def raise_pending() -> None:
    """Raise the first exception a callback raised on this thread since the last call."""
    errors = getattr(_raised, "errors", None)
    if errors:
        _raised.errors = []
        raise errors[0]


class ReportsMixin:
    """aclrtSubscribeReport / aclrtLaunchCallback / aclrtProcessReport / aclrtUnSubscribeReport."""

    _call: Any
    _fn: Any
    _check: Any

    def subscribe_report(self, thread_id: int, stream: int) -> None:
        self._report("aclrtSubscribeReport", thread_id, stream)

    def unsubscribe_report(self, thread_id: int, stream: int) -> None:
        self._report("aclrtUnSubscribeReport", thread_id, stream)

    def _report(self, call: str, thread_id: int, stream: int) -> None:
        """A thread id past uint64 was masked into another thread's: refused (100000) instead."""
        self._call(call, c_value(thread_id, UINT64, call, "threadId"), c_value(stream or 0, POINTER, call, "stream",
                                                                               HANDLE))

    def launch_callback(self, fn: Callable[[], None], block_type: int, stream: int) -> None:
        call = "aclrtLaunchCallback"
        block, handle = c_value(block_type, ENUM, call, "blockType"), c_value(stream or 0, POINTER, call, "stream",
                                                                              HANDLE)
        token = add(fn, id(self))
        try:
            self._call(call, TRAMPOLINE, token, block, handle)
        except BaseException:
            discard(token)
            raise

    def _drop_callbacks(self) -> None:
        """After aclFinalize: let go of the callables C never called (and what they hold)."""
        drop(id(self))

    def process_report(self, timeout: int) -> None:
        ms = c_value(timeout, INT32, "aclrtProcessReport", "timeout", RT_VALUE)
        code = self._fn("aclrtProcessReport")(ms)  # ctypes releases the GIL while C waits
        raise_pending()
        self._check(code, "aclrtProcessReport")


__all__ = ["TRAMPOLINE", "ReportsMixin", "add", "discard", "drop", "raise_pending"]
