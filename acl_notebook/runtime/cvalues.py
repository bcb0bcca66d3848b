"""The one door from a Python int to a C integer: a value its C type cannot hold is refused.

Why: ctypes range-checks nothing it converts. An int stored into an argtype, a Structure field
or an array keeps its low bits: 2**64 + 5 passed as a ``size_t`` is 5, -2**70 as a pointer is
NULL and 2**32 + 1 as a ``uint32_t`` flag is 1, so a real NPU would be told another size,
shape, handle or flag than the caller gave, and act on it. Every int the `acl` backend hands
to C goes through `c_value` first, with the code ACL's own check of that argument answers; the
simulator makes the same check where its own lookups would not refuse such a value, so the two
backends refuse it alike (tests/test_c_values.py holds them to it).
"""

from __future__ import annotations

import ctypes
import operator
from typing import Any, NamedTuple

from . import errors as E
from .errors import ACL_ERROR_INVALID_PARAM, AclError


class CType(NamedTuple):
    """A C integer type by the name a refusal shows and the values it holds."""

    name: str
    low: int
    high: int


INT32 = CType("int32_t", -(1 << 31), (1 << 31) - 1)
#: a C enum (aclrtMemcpyKind, aclrtMemMallocPolicy, aclDataType ...): an int on every ABI ACL has
ENUM = CType("a C enum (int)", -(1 << 31), (1 << 31) - 1)
UINT32 = CType("uint32_t", 0, (1 << 32) - 1)
INT64 = CType("int64_t", -(1 << 63), (1 << 63) - 1)
UINT64 = CType("uint64_t", 0, (1 << 64) - 1)
SIZE_T = CType("size_t", 0, (1 << (8 * ctypes.sizeof(ctypes.c_size_t))) - 1)
POINTER = CType("a pointer", 0, (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1)

# What the runtime answers for a pointer or handle that names nothing it made, and so what a
# value no pointer can hold is refused with: memory 107000; contexts, streams and events 107017;
# datasets, data buffers and descs ACL's own NULL check, 100000 (the default).
MEMORY = E.ACL_ERROR_RT_PARAM_INVALID
HANDLE = E.ACL_ERROR_RT_INVALID_HANDLE
#: a timeout outside [-1, INT_MAX], or an event flag with unknown bits (the runtime's check)
RT_VALUE = E.ACL_ERROR_RT_PARAM_INVALID
#: a gear value that cannot be one of the model's gears (what GE says for a wrong one)
NOT_A_GEAR = E.ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID


def fits(value: Any, ctype: CType) -> bool:
    """True when `value` is an int `ctype` holds as it is."""
    try:
        return ctype.low <= operator.index(value) <= ctype.high
    except TypeError:
        return False


def c_value(value: Any, ctype: CType, call: str, what: str, code: int = ACL_ERROR_INVALID_PARAM) -> int:
    """`value` as the int C gets, or AclError(`code`) from `call` naming `what` when `ctype`
    cannot hold it (a TypeError for what is no int at all: a float would lose its fraction)."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{call}: {what} must be an int, not {type(value).__name__}") from None
    if not ctype.low <= number <= ctype.high:
        raise AclError(code, call, f"{what} {number} does not fit {ctype.name} ({ctype.low}..{ctype.high})")
    return number


def c_text(text: Any, call: str, what: str) -> Any:
    """`text` as the NUL-terminated UTF-8 bytes C reads (None for None or ""). C stops at a NUL,
    so a name holding one would name another input, or be stored cut short: refused (100000)."""
    if not text:
        return None
    if "\0" in text:
        raise AclError(ACL_ERROR_INVALID_PARAM, call, f"{what} {text!r} holds a NUL character, where C ends it")
    return text.encode("utf-8")


def copy_args(call: str, dst: int, dest_max: int, src: int, count: int, kind: int) -> tuple[int, ...]:
    """aclrtMemcpy's and aclrtMemcpyAsync's first five arguments, checked in C's order."""
    return (c_value(dst or 0, POINTER, call, "dst", MEMORY), c_value(dest_max, SIZE_T, call, "destMax"),
            c_value(src or 0, POINTER, call, "src", MEMORY), c_value(count, SIZE_T, call, "count"),
            c_value(kind, ENUM, call, "kind"))


def fill_args(call: str, ptr: int, max_count: int, value: int, count: int) -> tuple[int, ...]:
    """aclrtMemset's and aclrtMemsetAsync's first four arguments, checked in C's order."""
    return (c_value(ptr or 0, POINTER, call, "devPtr", MEMORY), c_value(max_count, SIZE_T, call, "maxCount"),
            c_value(value, INT32, call, "value"), c_value(count, SIZE_T, call, "count"))


__all__ = ["ENUM", "HANDLE", "INT32", "INT64", "MEMORY", "NOT_A_GEAR", "POINTER", "RT_VALUE", "SIZE_T", "UINT32",
           "UINT64", "CType", "c_text", "c_value", "copy_args", "fill_args", "fits"]
