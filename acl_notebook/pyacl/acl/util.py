"""``acl.util``: pointers to and from Python objects, as pyACL converts them.

``bytes_to_ptr`` points into the bytes object itself (programs copy device outputs into it
with ``acl.rt.memcpy`` and then read the bytes), and ``numpy_to_ptr`` at the array's data.
The pointer lives as long as the object. Any other host pointer the program made itself
(``arr.ctypes.data``) works too where the kernel says the memory is mapped (`Ledger.reach`).

Reading memory back (``ptr_to_bytes``, ``ptr_to_numpy``) works for host memory, and for
device memory only in RC mode, where host and device share one DDR. In EP mode the host
cannot address device memory, and real pyACL would crash; here it is a ``ValueError`` that
says to copy with ``acl.rt.memcpy(..., ACL_MEMCPY_DEVICE_TO_HOST)`` first.
"""

from __future__ import annotations

import ctypes
import warnings
from typing import Any

from ..core import PROGRAM, unsigned
from ..hostmem import accessible as _hostmem_access
from ..ledger import DEVICE, PYTHON, RAW, Region
from ..ledger import copy_of as _copy_of  # a helper, not a call: kept out of dir(acl.util)
from ..threads import start_thread, stop_thread

_P = PROGRAM


def bytes_to_ptr(data: Any) -> int:
    if not isinstance(data, bytes):
        raise ValueError("needs an byte as argument")
    address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0
    _P.ledger.add_python(data, address, len(data))
    return address


def numpy_to_ptr(data: Any) -> int:
    warnings.warn("acl.util.numpy_to_ptr will be deprecated. Please use acl.util.bytes_to_ptr instead.",
                  Warning, stacklevel=2)
    return _array_ptr(data, contiguous=False)


def numpy_contiguous_to_ptr(data: Any) -> int:
    return _array_ptr(data, contiguous=True)


def _array_ptr(data: Any, contiguous: bool) -> int:
    import numpy as np

    if not isinstance(data, np.ndarray):
        raise ValueError("needs an ndarray as argument")
    if not data.flags["C_CONTIGUOUS"]:
        if contiguous:
            raise ValueError("the ndarray is not C-contiguous; pass numpy.ascontiguousarray(a)")
        print("Warning:The input ndarray is discontiguous. Please use acl.util.numpy_contiguous_to_ptr instead.")
    address = int(data.ctypes.data)
    _P.ledger.add_python(data, address, int(data.nbytes))
    return address


def _readable(ptr: int, size: int, call: str) -> Region:
    """The live region the host may read ``[ptr, ptr + size)`` from, or a clear ValueError."""
    region = _P.ledger.reach(ptr, size)
    if region is None:
        raise ValueError(f"{call}: 0x{ptr:x} + {size} bytes is not live memory of this program, nor mapped host memory "
                         "(freed, unmapped, or made up); a real pyACL would crash here")
    if region.kind == DEVICE and not _P.rc():
        raise ValueError(f"{call}: 0x{ptr:x} is device memory, which the host cannot read in EP mode (a PCIe "
                         "card); copy it to host memory first with acl.rt.memcpy(host_ptr, size, dev_ptr, "
                         "size, ACL_MEMCPY_DEVICE_TO_HOST)")
    return region



def ptr_to_bytes(ptr: Any, size: Any) -> bytes:
    p, n = unsigned(ptr, "acl.util.ptr_to_bytes"), unsigned(size, "acl.util.ptr_to_bytes")
    if n == 0:
        return b""
    _readable(p, n, "acl.util.ptr_to_bytes")
    return _copy_of(p, n)


def ptr_to_numpy(ptr: Any, shape: Any, type: Any) -> Any:  # noqa: A002 (pyACL's own name)
    import numpy as np

    p = unsigned(ptr, "acl.util.ptr_to_numpy")
    dtype = _npy_type(type)
    dims = _dims(shape)
    count = 1
    for d in dims:
        count *= d
    n = count * dtype.itemsize
    if n >= 1 << 63:
        raise ValueError(f"acl.util.ptr_to_numpy: shape {dims} of {dtype} is {n:,} bytes, more than any array can "
                         "address")
    region = _readable(p, max(n, 1), "acl.util.ptr_to_numpy")
    near = _P.ledger.find(p) if region.kind == RAW else None
    if near is not None:  # a copy may read past an object's end; an array over it could write there
        raise ValueError(f"acl.util.ptr_to_numpy: 0x{p:x} + {n} bytes runs past the end of the {near.size}-byte "
                         "object it starts in; an array over it would write into memory Python owns")
    raw = (ctypes.c_char * max(n, 1)).from_address(p)
    if region.kind == PYTHON:
        raw._owner = region.owner  # the array keeps the object it views alive
    array = np.frombuffer(raw, dtype=dtype, count=count).reshape(dims)
    if region.kind == RAW and not _hostmem_access(p, max(n, 1), write=True):
        array.flags.writeable = False  # a read-only mapping: a write through the array would segfault
    return array


def _dims(shape: Any) -> tuple[int, ...]:
    """The shape as numpy takes it for a new array: a tuple (or list) of non-negative ints, or one
    int. A str, a float or None is a TypeError, a negative dim numpy's own ValueError."""
    import operator

    items = shape if isinstance(shape, (tuple, list)) else (shape,)
    try:
        dims = tuple(operator.index(d) for d in items)
    except TypeError:
        raise TypeError(f"acl.util.ptr_to_numpy: shape must be a tuple of ints, not {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"acl.util.ptr_to_numpy: negative dimensions are not allowed (shape {dims})")
    return dims


def _npy_type(number: Any) -> Any:
    """The numpy dtype for a NumPy C-API type number (NPY_FLOAT32 = 11, NPY_HALF = 23...)."""
    import numpy as np

    num = unsigned(number, "acl.util.ptr_to_numpy")
    for code in np.typecodes["All"]:
        try:
            dt = np.dtype(code)
        except TypeError:
            continue
        if dt.num == num and dt.kind not in "OVSUMm":
            return dt
    raise TypeError(f"acl.util.ptr_to_numpy: {num} is not a numpy type number for numbers")


__all__ = ["bytes_to_ptr", "numpy_contiguous_to_ptr", "numpy_to_ptr", "ptr_to_bytes", "ptr_to_numpy", "start_thread",
           "stop_thread"]


def __dir__() -> list[str]:
    """What pyACL's own module lists: its calls, not the image's imports and helpers."""
    return sorted(__all__)
