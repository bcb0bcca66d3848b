"""``acl.rt`` host callbacks: ``subscribe_report``, ``launch_callback``, ``process_report``,
``unsubscribe_report``, with pyACL's signatures and returns (hicann/runtime
python/pyACL/rt/rt_synchronize.cpp): each returns ``ret``.

- ``subscribe_report(thread_id, stream)`` / ``unsubscribe_report(thread_id, stream)``: a
  uint64 thread id (``acl.util.start_thread``'s) and a stream (0: the default stream);
- ``launch_callback(fn, user_data_list, block_type, stream)``: ``fn`` must be callable
  (``TypeError`` otherwise, as pyACL says); the subscribed thread later calls
  ``fn(user_data_list)``; block type 0 (no block) or 1 (block);
- ``process_report(timeout)``: timeout in ms, -1 for ever. An exception the callback raised
  comes out of this call on the subscribed thread (in pyACL it surfaces there too, as a
  ``SystemError`` whose cause it is).

The image checks what real pyACL hands to C unchecked: a stream must be a live stream of the
program (107017 otherwise, as for every stream call), and the thread a subscription names
must be a live thread of this process (100000 otherwise: ACL would accept any number, and a
callback for a thread that does not exist would never run, holding a blocking stream for
ever). The runtime gives the rest of ACL's codes (`runtime.sim_reports`).
"""

from __future__ import annotations

from typing import Any

from ...runtime import errors as E
from ...runtime.errors import AclError
from ..core import PROGRAM, signed, unsigned
from ..threads import is_thread

_P = PROGRAM


def subscribe_report(thread_id: Any, stream: Any) -> int:
    call = "aclrtSubscribeReport"
    tid, s = unsigned(thread_id, "acl.rt.subscribe_report"), unsigned(stream, "acl.rt.subscribe_report")
    ret = _P.stale_stream(s, call)
    if ret:
        return ret
    if not is_thread(tid):
        return _P.fail(E.ACL_ERROR_INVALID_PARAM, call, f"{tid} is not a live thread of this process "
                                                         "(acl.util.start_thread returns one)")
    return _P.ret(call, "subscribe_report", tid, s)


def unsubscribe_report(thread_id: Any, stream: Any) -> int:
    call = "aclrtUnSubscribeReport"
    tid, s = unsigned(thread_id, "acl.rt.unsubscribe_report"), unsigned(stream, "acl.rt.unsubscribe_report")
    ret = _P.stale_stream(s, call)
    if ret:
        return ret
    return _P.ret(call, "unsubscribe_report", tid, s)


def launch_callback(fn: Any, user_data_list: Any, block_type: Any, stream: Any) -> int:
    call = "aclrtLaunchCallback"
    block = signed(block_type, "acl.rt.launch_callback")
    s = unsigned(stream, "acl.rt.launch_callback")
    if not callable(fn):
        raise TypeError("parameter must be callable")
    ret = _P.stale_stream(s, call)
    if ret:
        return ret
    return _P.ret(call, "launch_callback", lambda: fn(user_data_list), block, s)


def process_report(timeout: Any) -> int:
    call = "aclrtProcessReport"
    ms = signed(timeout, "acl.rt.process_report")
    try:
        _P.call("process_report", ms)  # a callback's own exception propagates
    except AclError as exc:
        return _P.failed(exc, call)
    return 0


__all__ = ["launch_callback", "process_report", "subscribe_report", "unsubscribe_report"]
