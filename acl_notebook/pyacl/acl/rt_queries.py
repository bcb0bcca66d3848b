"""``acl.rt`` calls around inference that public programs make besides the core surface:
``get_device``, ``get_device_utilization_rate``, ``device_get_stream_priority_range`` and
``synchronize_stream_with_timeout``.

They live here rather than in ``rt.py`` so that module stays about contexts, streams and
memory; ``acl.rt`` re-exports them. Return shapes are pyACL's: ``(device_id, ret)``; a dict
with ``cube_utilization``, ``vector_utilization``, ``aicpu_utilization``, ``memory_utilization``
(-1 where the device cannot say) and ``utilization_extend``, returned with zeros when the call
fails; and ``ret``.
"""

from __future__ import annotations

from typing import Any

from ...runtime import errors as E
from ...runtime.errors import AclError
from ..core import PROGRAM, signed, takes_no_arguments, unsigned

_P = PROGRAM
_NOT_MEASURED = -1  # what aclrtGetDeviceUtilizationRate reports for a unit it cannot measure


@takes_no_arguments
def get_device() -> tuple[int, int]:
    """aclrtGetDevice: the device of this thread's current context, or (0, 107002) when the
    thread has none (libraries ask it to tell whether ACL is set up already)."""
    return _P.out("aclrtGetDevice", lambda: int(_P.call("get_device")), 0)


def _utilization_dict(cube: int = 0, vector: int = 0, aicpu: int = 0, memory: int = 0) -> dict:
    return {"cube_utilization": cube, "vector_utilization": vector, "aicpu_utilization": aicpu,
            "memory_utilization": memory, "utilization_extend": 0}


def get_device_utilization_rate(device_id: Any) -> tuple[dict, int]:
    call = "aclrtGetDeviceUtilizationRate"
    device = signed(device_id, "acl.rt.get_device_utilization_rate")
    if not _P.initialised:
        return _utilization_dict(), _P.fail(E.ACL_ERROR_UNINITIALIZE, call, "acl.init has not been called")
    try:
        found = _P.call("utilization", device)
    except AclError as exc:
        return _utilization_dict(), _P.failed(exc, call)
    if found is None:
        return _utilization_dict(), _P.fail(E.ACL_ERROR_API_NOT_SUPPORT, call,
                                            "this CANN's libascendcl has no aclrtGetDeviceUtilizationRate")

    def percent(value: Any) -> int:
        return _NOT_MEASURED if value is None else int(value)

    return _utilization_dict(percent(found.cube), percent(found.vector), percent(found.aicpu), _NOT_MEASURED), 0


@takes_no_arguments
def device_get_stream_priority_range() -> tuple[int, int, int]:
    """aclrtDeviceGetStreamPriorityRange: ``(least, greatest, ret)``, the priorities
    create_stream_with_config takes (0 is the greatest); ``(0, 0, code)`` on failure, 200001
    where this CANN's libascendcl has no such call."""
    call = "aclrtDeviceGetStreamPriorityRange"
    if not _P.initialised:
        return 0, 0, _P.fail(E.ACL_ERROR_UNINITIALIZE, call, "acl.init has not been called")
    try:
        found = _P.call("stream_priority_range")
    except AclError as exc:
        return 0, 0, _P.failed(exc, call)
    if found is None:
        return 0, 0, _P.fail(E.ACL_ERROR_API_NOT_SUPPORT, call, "this CANN's libascendcl has no " + call)
    least, greatest = found
    return int(least), int(greatest), 0


def synchronize_stream_with_timeout(stream: Any, timeout: Any) -> int:
    """aclrtSynchronizeStreamWithTimeout: ACL checks the timeout ([-1, INT_MAX]) first, so a
    bad one reaches the runtime (107000) before the stream is looked at."""
    call = "aclrtSynchronizeStreamWithTimeout"
    s = unsigned(stream, "acl.rt.synchronize_stream_with_timeout")
    t = signed(timeout, "acl.rt.synchronize_stream_with_timeout")
    if t >= -1:  # a bad timeout reaches the runtime first
        ret = _P.stale_stream(s, call)
        if ret:
            return ret
    return _P.ret(call, "synchronize_stream_with_timeout", s, t)


__all__ = ["get_device", "get_device_utilization_rate", "synchronize_stream_with_timeout"]
