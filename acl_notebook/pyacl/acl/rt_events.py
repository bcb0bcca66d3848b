"""``acl.rt``'s event calls, with pyACL's signatures and returns (re-exported by `rt`).

Every event handle the program hands back is looked up in the ledger first: a destroyed or
made-up one gets 107017 (ACL's "invalid handle") instead of reaching C, where it would be a
dangling pointer. NULL goes down, so the runtime answers 100000 as ACL does. When work on a
stream completes is the runtime's business (the simulator's model: `runtime/sim_events`).
"""

from __future__ import annotations

from typing import Any, Callable

from ..core import PROGRAM, RT_INVALID_HANDLE, signed, takes_no_arguments, unsigned

_P = PROGRAM


def _created(call: str, name: str, *args: Any) -> tuple[int, int]:
    event, ret = _P.out(call, lambda: _P.call(name, *args), 0)
    if not ret:
        _P.ledger.events[event] = _P.current_context() or 0
    return event, ret


@takes_no_arguments
def create_event() -> tuple[int, int]:
    """``event, ret = acl.rt.create_event()``: an event that can time and synchronize."""
    return _created("aclrtCreateEvent", "create_event")


def create_event_with_flag(flag: Any) -> tuple[int, int]:
    f = unsigned(flag, "acl.rt.create_event_with_flag") & 0xFFFFFFFF
    return _created("aclrtCreateEventWithFlag", "create_event", f)


def create_event_ex_with_flag(flag: Any) -> tuple[int, int]:
    f = unsigned(flag, "acl.rt.create_event_ex_with_flag") & 0xFFFFFFFF
    return _created("aclrtCreateEventExWithFlag", "create_event", f, True)


def _stale(event: int, call: str) -> int:
    """107017 for a non-NULL handle that is not one of the program's live events, else 0."""
    if event and event not in _P.ledger.events:
        return _P.fail(RT_INVALID_HANDLE, call, f"0x{event:x} is not a live event (destroyed, or never created)")
    return 0


def destroy_event(event: Any) -> int:
    call = "aclrtDestroyEvent"
    e = unsigned(event, "acl.rt.destroy_event")
    ret = _stale(e, call) or _P.ret(call, "destroy_event", e)
    if not ret:
        _P.ledger.events.pop(e, None)
    return ret


def record_event(event: Any, stream: Any) -> int:
    call, py = "aclrtRecordEvent", "acl.rt.record_event"
    e, s = unsigned(event, py), unsigned(stream, py)
    return _stale(e, call) or _P.stale_stream(s, call) or _P.ret(call, "record_event", e, s)


def reset_event(event: Any, stream: Any) -> int:
    call, py = "aclrtResetEvent", "acl.rt.reset_event"
    e, s = unsigned(event, py), unsigned(stream, py)
    return _stale(e, call) or _P.stale_stream(s, call) or _P.ret(call, "reset_event", e, s)


def stream_wait_event(stream: Any, event: Any) -> int:
    call, py = "aclrtStreamWaitEvent", "acl.rt.stream_wait_event"
    s, e = unsigned(stream, py), unsigned(event, py)
    return _stale(e, call) or _P.stale_stream(s, call) or _P.ret(call, "stream_wait_event", s, e)


def synchronize_event(event: Any) -> int:
    call = "aclrtSynchronizeEvent"
    e = unsigned(event, "acl.rt.synchronize_event")
    return _stale(e, call) or _P.ret(call, "synchronize_event", e)


def query_event_status(event: Any) -> tuple[int, int]:
    """``status, ret``: ACL_EVENT_RECORDED_STATUS_COMPLETE (1) or _NOT_READY (0)."""
    return _status("aclrtQueryEventStatus", "query_event_status", event, bool)


def synchronize_event_with_timeout(event: Any, timeout: Any) -> int:
    """aclrtSynchronizeEventWithTimeout: the timeout ([-1, INT_MAX]) is checked first, so a bad
    one reaches the runtime (107000) before the event is looked at; expiry is 507047."""
    call, py = "aclrtSynchronizeEventWithTimeout", "acl.rt.synchronize_event_with_timeout"
    e, t = unsigned(event, py), signed(timeout, py)
    ret = _stale(e, call) if t >= -1 else 0
    return ret or _P.ret(call, "synchronize_event_with_timeout", e, t)


def query_event(event: Any) -> tuple[int, int]:
    """The deprecated aclrtQueryEvent: ``status, ret`` with aclrtEventStatus values, 0
    ACL_EVENT_STATUS_COMPLETE (also for an event never recorded) and 1 NOT_READY (a record
    launched and not yet reached): the reverse numbering of query_event_status."""
    return _status("aclrtQueryEvent", "query_event", event)


def query_event_wait_status(event: Any) -> tuple[int, int]:
    """``status, ret`` with aclrtEventWaitStatus values: 0 ACL_EVENT_WAIT_STATUS_COMPLETE once
    every stream that waits on the event (`stream_wait_event`) has got past its wait (also
    when none waits), 1 NOT_READY while one has not (pyACL's page copies the recorded-status
    names; the C enum is these)."""
    return _status("aclrtQueryEventWaitStatus", "query_event_wait_status", event)


def _status(call: str, method: str, event: Any, convert: Callable[[Any], Any] = int) -> tuple[int, int]:
    """``(status, ret)`` of one of the event status queries: a stale event is refused before
    the runtime is asked (status 0), else the backend's `method` answers."""
    e = unsigned(event, f"acl.rt.{method}")
    ret = _stale(e, call)
    if ret:
        return 0, ret
    return _P.out(call, lambda: int(convert(_P.call(method, e))), 0)


def event_elapsed_time(start: Any, end: Any) -> tuple[float, int]:
    """``ms, ret``: milliseconds from `start`'s record to `end`'s (0.0 on failure)."""
    call, py = "aclrtEventElapsedTime", "acl.rt.event_elapsed_time"
    a, b = unsigned(start, py), unsigned(end, py)
    ret = _stale(a, call) or _stale(b, call)
    if ret:
        return 0.0, ret
    return _P.out(call, lambda: float(_P.call("event_elapsed_time", a, b)), 0.0)


__all__ = [
    "create_event", "create_event_ex_with_flag", "create_event_with_flag", "destroy_event", "event_elapsed_time",
    "query_event", "query_event_status", "query_event_wait_status", "record_event", "reset_event", "stream_wait_event",
    "synchronize_event", "synchronize_event_with_timeout",
]
