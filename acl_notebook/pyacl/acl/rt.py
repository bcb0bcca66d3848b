"""``acl.rt``: devices, contexts, streams and memory, with pyACL's signatures and returns
(the event calls live in `rt_events` and are re-exported here).

Every pointer the program hands back is looked up in the ledger first, and a host pointer
the ledger does not know (``arr.ctypes.data``) is asked of the kernel (`Ledger.reach`). One
that is neither (made up, unmapped, or without the access: a read-only page as a copy's
destination) gets the code the runtime gives for an invalid value, 107000, never a crash;
the checks ACL makes before it touches memory (NULL, count 0, the copy kind, destMax, the
context) keep their order and codes.
"""

from __future__ import annotations

from typing import Any

from ...runtime import errors as E
from ...runtime.errors import AclError
from ..core import PROGRAM, RT_INVALID_HANDLE, RT_PARAM_INVALID, signed, takes_no_arguments, uint32, unsigned
from ..ledger import ACL_HOST, DEVICE, PYTHON
from .reports import launch_callback, process_report, subscribe_report, unsubscribe_report
from .rt_events import (
    create_event,
    create_event_ex_with_flag,
    create_event_with_flag,
    destroy_event,
    event_elapsed_time,
    query_event,
    query_event_status,
    query_event_wait_status,
    record_event,
    reset_event,
    stream_wait_event,
    synchronize_event,
    synchronize_event_with_timeout,
)
from .rt_queries import (
    device_get_stream_priority_range,
    get_device,
    get_device_utilization_rate,
    synchronize_stream_with_timeout,
)

_P = PROGRAM
_UNINITIALIZE = E.ACL_ERROR_UNINITIALIZE
_CONTEXT_NULL = E.ACL_ERROR_RT_CONTEXT_NULL
_COPY_KINDS = range(6)  # aclrtMemcpy accepts HOST_TO_HOST .. HOST_TO_BUF_TO_DEVICE


def _gate(call: str) -> int:
    """ACL's answer before acl.init (or after acl.finalize), 0 once initialised."""
    return 0 if _P.initialised else _P.fail(_UNINITIALIZE, call, "acl.init has not been called")


# -- devices and contexts -----------------------------------------------------------------------
def set_device(device_id: Any) -> int:
    call = "aclrtSetDevice"
    device = signed(device_id, "acl.rt.set_device")
    if _gate(call):
        return _UNINITIALIZE
    ret = _P.ret(call, "set_device", device)
    if not ret:
        ctx = _P.current_context()
        if ctx is not None:
            with _P.ledger.lock:
                _P.ledger.contexts[ctx] = device
                _P.ledger.defaults[device] = ctx
    return ret


def reset_device(device_id: Any) -> int:
    device = signed(device_id, "acl.rt.reset_device")
    ret = _P.ret("aclrtResetDevice", "reset_device", device)
    if not ret:
        with _P.ledger.lock:
            ctx = _P.ledger.defaults.pop(device, None)
            _P.ledger.contexts.pop(ctx, None)
            if ctx is not None:
                _forget_handles_of(ctx)
    return ret


def _forget_handles_of(ctx: int) -> None:
    """Under the ledger lock: a destroyed context's streams and events are stale handles now,
    refused before they could reach the runtime (a real one would get a freed object)."""
    ledger = _P.ledger
    for table in (ledger.streams, ledger.events):
        for handle in [h for h, owner in table.items() if owner == ctx]:
            del table[handle]


@takes_no_arguments
def get_device_count() -> tuple[int, int]:
    call = "aclrtGetDeviceCount"
    if _gate(call):
        return 0, _UNINITIALIZE
    return _P.out(call, lambda: _P.call("device_count"), 0)


def create_context(device_id: Any) -> tuple[int, int]:
    call = "aclrtCreateContext"
    device = signed(device_id, "acl.rt.create_context")
    if _gate(call):
        return 0, _UNINITIALIZE
    ctx, ret = _P.out(call, lambda: _P.call("create_context", device), 0)
    if not ret:
        _P.ledger.contexts[ctx] = device
    return ctx, ret


def _known_context(ctx: int) -> bool:
    return ctx in _P.ledger.contexts or _P.bridge.is_session_context(ctx)


def destroy_context(context: Any) -> int:
    call = "aclrtDestroyContext"
    ctx = unsigned(context, "acl.rt.destroy_context")
    if ctx and _P.bridge.is_session_context(ctx):
        return _P.fail(RT_INVALID_HANDLE, call, "that context belongs to the notebook session, not to the program")
    if ctx and ctx not in _P.ledger.contexts:
        return _P.fail(RT_INVALID_HANDLE, call, f"0x{ctx:x} is not a live context of this program")
    ret = _P.ret(call, "destroy_context", ctx)
    if not ret:
        with _P.ledger.lock:
            _P.ledger.contexts.pop(ctx, None)
            _forget_handles_of(ctx)
            for dev, default in list(_P.ledger.defaults.items()):
                if default == ctx:
                    del _P.ledger.defaults[dev]
    return ret


def set_context(context: Any) -> int:
    call = "aclrtSetCurrentContext"
    ctx = unsigned(context, "acl.rt.set_context")
    if ctx and not _known_context(ctx):
        return _P.fail(RT_INVALID_HANDLE, call, f"0x{ctx:x} is not a live context")
    return _P.ret(call, "set_current_context", ctx)


@takes_no_arguments
def get_context() -> tuple[int, int]:
    call = "aclrtGetCurrentContext"
    try:
        ctx = _P.call("get_current_context")
    except AclError as exc:
        return 0, _P.failed(exc, call)
    if ctx is None:
        return 0, _P.fail(_CONTEXT_NULL, call, "no current context on this thread")
    _P.ledger.contexts.setdefault(ctx, _device_of(ctx))
    return ctx, 0


def _device_of(ctx: Any) -> int:
    return _P.ledger.contexts.get(ctx, 0) if ctx is not None else 0


@takes_no_arguments
def get_run_mode() -> tuple[int, int]:
    """No acl.init needed: aclrtGetRunModeImpl only asks the runtime (acllite_image reads the
    mode when it is imported, before any init, and picks its copy kinds by it)."""
    return _P.out("aclrtGetRunMode", lambda: int(_P.call("run_mode")), 0)


def get_mem_info(attr: Any) -> tuple[int, int, int]:
    kind = signed(attr, "acl.rt.get_mem_info")
    try:
        free, total = _P.call("mem_info", kind)
        return free, total, 0
    except (AclError, ValueError) as exc:  # ValueError: an attr the enum does not know
        if isinstance(exc, AclError):
            return 0, 0, _P.failed(exc, "aclrtGetMemInfo")
        return 0, 0, _P.fail(E.ACL_ERROR_INVALID_PARAM, "aclrtGetMemInfo", f"unknown memory attribute {kind}")


# -- streams ---------------------------------------------------------------------------------------
@takes_no_arguments
def create_stream() -> tuple[int, int]:
    call = "aclrtCreateStream"
    stream, ret = _P.out(call, lambda: _P.call("create_stream"), 0)
    if not ret:
        _P.ledger.streams[stream] = _P.current_context() or 0
    return stream, ret


def create_stream_with_config(priority: Any, flag: Any) -> tuple[int, int]:
    """aclrtCreateStreamWithConfig: priority 0 (highest) to 7 (a larger one is taken as 7) and
    ACL_STREAM_* flags (FAST_LAUNCH 0x1, FAST_SYNC 0x2), which change speed, not results."""
    call, py = "aclrtCreateStreamWithConfig", "acl.rt.create_stream_with_config"
    prio, fl = uint32(priority, py), uint32(flag, py)
    stream, ret = _P.out(call, lambda: _P.call("create_stream_with_config", prio, fl), 0)
    if not ret:
        _P.ledger.streams[stream] = _P.current_context() or 0
    return stream, ret


def destroy_stream(stream: Any) -> int:
    call = "aclrtDestroyStream"
    s = unsigned(stream, "acl.rt.destroy_stream")
    if s and s not in _P.ledger.streams:
        return _P.fail(RT_INVALID_HANDLE, call, f"0x{s:x} is not a live stream")
    ret = _P.ret(call, "destroy_stream", s)
    if not ret:
        _P.ledger.streams.pop(s, None)
    return ret


def synchronize_stream(stream: Any) -> int:
    call = "aclrtSynchronizeStream"
    s = unsigned(stream, "acl.rt.synchronize_stream")
    return _P.stale_stream(s, call) or _P.ret(call, "synchronize_stream", s)


@takes_no_arguments
def synchronize_device() -> int:
    """aclrtSynchronizeDevice: waits for every stream of the current context's device (the
    program's streams in any of its contexts there, and this context's default stream)."""
    call = "aclrtSynchronizeDevice"
    ctx = _P.current_context()
    if ctx is None:
        return _P.fail(_CONTEXT_NULL, call, "no current context on this thread")
    device = _device_of(ctx)
    first = 0
    for s, owner in list(_P.ledger.streams.items()):
        if _device_of(owner) == device:  # every stream is waited for, even after one fails
            ret = _P.ret(call, "synchronize_stream", s)
            first = first or ret
    ret = _P.ret(call, "synchronize_stream", 0)
    return first or ret


# -- memory ----------------------------------------------------------------------------------------
def _device_malloc(call: str, name: str, size: Any, policy: Any) -> tuple[int, int]:
    """aclrtMalloc or aclrtMallocCached (`name`: the bridge's and pyACL's name of it), tracked."""
    where = f"acl.rt.{name}"
    n, pol = unsigned(size, where), signed(policy, where)
    ptr, ret = _P.out(call, lambda: _P.call(name, n, pol), 0)
    if not ret:
        _track(ptr, n, DEVICE, _charge(n, pol))
    return ptr, ret


def malloc(size: Any, policy: Any) -> tuple[int, int]:
    return _device_malloc("aclrtMalloc", "malloc", size, policy)


def malloc_cached(size: Any, policy: Any) -> tuple[int, int]:
    """aclrtMallocCached: device memory as acl.rt.malloc gives it (freed with acl.rt.free); the
    program keeps the host's cache coherent with mem_flush / mem_invalidate."""
    return _device_malloc("aclrtMallocCached", "malloc_cached", size, policy)


def mem_flush(dev_ptr: Any, size: Any) -> int:
    return _cache_op(dev_ptr, size, "aclrtMemFlush", "mem_flush", "acl.rt.mem_flush")


def mem_invalidate(dev_ptr: Any, size: Any) -> int:
    return _cache_op(dev_ptr, size, "aclrtMemInvalidate", "mem_invalidate", "acl.rt.mem_invalidate")


def _cache_op(dev_ptr: Any, size: Any, call: str, name: str, py: str) -> int:
    """NULL and size 0 are the runtime's to answer (100000); a range outside the program's
    allocations never reaches it (107000, the runtime's invalid value)."""
    p, n = unsigned(dev_ptr, py), unsigned(size, py)
    if p and n and _P.ledger.allocation(p, n) is None:
        return _P.fail(RT_PARAM_INVALID, call, f"0x{p:x} + {n} bytes is not inside live memory from "
                                               "acl.rt.malloc or malloc_cached")
    return _P.ret(call, name, p, n)


def malloc_host(size: Any) -> tuple[int, int]:
    call = "aclrtMallocHost"
    n = unsigned(size, "acl.rt.malloc_host")
    ptr, ret = _P.out(call, lambda: _P.call("malloc_host", n), 0)
    if not ret:
        rc = _P.rc()
        # in RC aclrtMallocHost returns device memory; in EP it is page-locked host memory
        _track(ptr, n, ACL_HOST, _charge(n, 0) if rc else 0)
    return ptr, ret


def _charge(size: int, policy: int) -> int:
    from ...runtime.base import malloc_charge

    return malloc_charge(size, policy)


def _track(ptr: int, size: int, kind: str, charge: int) -> None:
    device = _device_of(_P.current_context())
    _P.ledger.add_region(ptr, size, kind, device)
    if charge:
        _P.bridge.note_alloc(ptr, size, charge, device, host=kind == ACL_HOST)



def free(dev_ptr: Any) -> int:
    return _release(dev_ptr, DEVICE, "aclrtFree", "free", "acl.rt.free")


def free_host(host_ptr: Any) -> int:
    return _release(host_ptr, ACL_HOST, "aclrtFreeHost", "free_host", "acl.rt.free_host")


def _release(pointer: Any, kind: str, call: str, name: str, py: str) -> int:
    ptr = unsigned(pointer, py)
    region = _P.ledger.regions.get(ptr) if ptr else None
    if ptr and (region is None or region.kind != kind):
        what = "acl.rt.malloc" if kind == DEVICE else "acl.rt.malloc_host"
        return _P.fail(RT_PARAM_INVALID, call, f"0x{ptr:x} is not a live {what} pointer (freed twice, "
                                                "an interior pointer, or never allocated)")
    ret = _P.ret(call, name, ptr)
    if not ret:
        _P.ledger.drop_region(ptr)
        _P.bridge.note_free(ptr)
    return ret


def _unknown(ptr: int, count: int, write: bool) -> bool:
    return _P.ledger.reach(ptr, count, write) is None


def memcpy(dst: Any, dest_max: Any, src: Any, count: Any, kind: Any) -> int:
    call = "aclrtMemcpy"
    d, dmax = unsigned(dst, "acl.rt.memcpy"), unsigned(dest_max, "acl.rt.memcpy")
    s, n = unsigned(src, "acl.rt.memcpy"), unsigned(count, "acl.rt.memcpy")
    k = signed(kind, "acl.rt.memcpy")
    # ACL's checks that come before any memory is touched are the runtime's to answer
    touches = n and d and s and k in _COPY_KINDS and dmax and n <= dmax and d != s
    if touches and _P.current_context() is not None:
        ret, k = _copy_sides(call, s, d, n, k)
        if ret:
            return ret
    return _P.ret(call, "memcpy", d, dmax, s, n, k)


def _copy_sides(call: str, src: int, dst: int, count: int, kind: int) -> tuple[int, int]:
    """The ledger's answer for both sides of a copy the runtime would perform: (ACL's code,
    kind) for a side that is not live memory the copy may read or write, else (0, the kind to
    pass down, see `_rc_kind`)."""
    for side, ptr in (("src", src), ("dst", dst)):
        if _unknown(ptr, count, side == "dst"):
            return _P.fail(RT_PARAM_INVALID, call, _unknown_text(side, ptr, count)), kind
    return 0, _rc_kind(kind, src, dst, count)


def memcpy_async(dst: Any, dest_max: Any, src: Any, count: Any, kind: Any, stream: Any) -> int:
    """aclrtMemcpyAsync: the copy joins `stream`'s queue (0: the default stream), in order with
    its model runs; the destination is final after ``synchronize_stream``. Its checks before
    memory is touched are the runtime's (count 0 is 107000 here, not a no-op as in memcpy)."""
    call, py = "aclrtMemcpyAsync", "acl.rt.memcpy_async"
    d, dmax = unsigned(dst, py), unsigned(dest_max, py)
    s, n = unsigned(src, py), unsigned(count, py)
    k, st = signed(kind, py), unsigned(stream, py)
    reaches = n and d and s and k in _COPY_KINDS and n <= dmax
    if reaches and _P.current_context() is not None:
        ret = _P.stale_stream(st, call)
        if ret:
            return ret
        ret, k = _copy_sides(call, s, d, n, k)
        if ret:
            return ret
    return _P.ret(call, "memcpy_async", d, dmax, s, n, k, st)


def _rc_kind(kind: int, src: int, dst: int, count: int) -> int:
    """In RC mode the app's own memory is device memory too: acllite copies a numpy array
    into aclrtMalloc memory with DEVICE_TO_DEVICE there, and the board does it. The runtime
    below cannot vouch for a Python object's memory, but the ledger can; so a copy naming
    such memory (converted, or raw) is passed down with the kind that says where each side
    really lives."""
    src_py, dst_py = (_P.ledger.allocation(p, count) is None for p in (src, dst))
    if not (src_py or dst_py) or not _P.rc():
        return kind
    return {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[(src_py, dst_py)]


def memset(dev_ptr: Any, max_count: Any, value: Any, count: Any) -> int:
    call = "aclrtMemset"
    p, mx = unsigned(dev_ptr, "acl.rt.memset"), unsigned(max_count, "acl.rt.memset")
    v, n = signed(value, "acl.rt.memset"), unsigned(count, "acl.rt.memset")
    if n and p and n <= mx and _P.current_context() is not None and _unknown(p, n, True):
        return _P.fail(RT_PARAM_INVALID, call, _unknown_text("devPtr", p, n))
    return _P.ret(call, "memset", p, mx, v, n)


def memset_async(dev_ptr: Any, max_count: Any, value: Any, count: Any, stream: Any) -> int:
    """aclrtMemsetAsync: host memory (malloc_host, a numpy array) is set at once, device memory
    when `stream` (0: the default stream) reaches the fill, so read it after
    ``synchronize_stream``. The handle checks are the image's; the codes are the runtime's."""
    call, py = "aclrtMemsetAsync", "acl.rt.memset_async"
    p, mx = unsigned(dev_ptr, py), unsigned(max_count, py)
    v, n, st = signed(value, py), unsigned(count, py), unsigned(stream, py)
    if p and n and n <= mx and _P.current_context() is not None:
        ret = _P.stale_stream(st, call)
        if ret:
            return ret
        if _unknown(p, n, True):
            return _P.fail(RT_PARAM_INVALID, call, _unknown_text("devPtr", p, n))
    return _P.ret(call, "memset_async", p, mx, v, n, st)


def _unknown_text(side: str, ptr: int, count: int) -> str:
    near = _P.ledger.find(ptr)
    if near is not None:
        return (f"{side} 0x{ptr:x} + {count} bytes runs past the end of its {near.size}-byte "
                f"{'buffer' if near.kind != PYTHON else 'object'}")
    return (f"{side} 0x{ptr:x} + {count} bytes is not live memory of this program, nor mapped host memory the "
            f"copy may {'write' if side != 'src' else 'read'} (freed, unmapped, read-only, or made up)")


__all__ = [
    "create_context", "create_event", "create_event_ex_with_flag", "create_event_with_flag", "create_stream",
    "create_stream_with_config", "destroy_context", "destroy_event", "destroy_stream",
    "device_get_stream_priority_range", "event_elapsed_time", "free", "free_host", "get_context", "get_device",
    "get_device_count", "get_device_utilization_rate", "get_mem_info", "get_run_mode", "launch_callback", "malloc",
    "malloc_cached", "malloc_host", "mem_flush", "mem_invalidate",
    "memcpy", "memcpy_async", "memset", "memset_async", "process_report", "query_event", "query_event_status",
    "query_event_wait_status", "record_event", "reset_device", "reset_event", "set_context", "set_device",
    "stream_wait_event", "subscribe_report", "synchronize_device", "synchronize_event",
    "synchronize_event_with_timeout", "synchronize_stream", "synchronize_stream_with_timeout", "unsubscribe_report",
]


def __dir__() -> list[str]:
    """What pyACL's own module lists: its calls, not the image's imports and helpers."""
    return sorted(__all__)
