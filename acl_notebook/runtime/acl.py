"""The `acl` backend: AscendCL itself, through ctypes over libascendcl.so.

Each method is one or two ACL calls (see `base.Backend`). Three rules hold throughout:

- every non-zero aclError goes through `errors.check`, with ``aclGetRecentErrMsg()`` text
  as the detail, so a failure reads the same whichever backend produced it;
- model bytes are handed to C by address, never copied: we export the caller's buffer with
  the buffer protocol (read-only ``bytes`` and writable ``bytearray``/numpy/mmap alike),
  pass ``view.buf`` and release the export only after the call returns;
- every handle we create (model desc, config handle) is destroyed on every path.

The execution calls (memory, streams, data buffers, datasets, execute, gears) are one C
call each, taking and returning plain ints (0 = NULL), so the session and a pyACL-style
layer can use ACL's own call sequence. A NULL that a C function returns becomes 0.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from ctypes import byref, c_int, c_int32, c_size_t, c_uint32, c_void_p
from typing import Any, Optional

from ..om.enums import dtype_name, format_name
from ..om.model import DynamicInfo, TensorDesc
from . import errors as E
from .acl_reports import ReportsMixin
from .acl_tensors import TensorDescsMixin
from .base import (
    MDL_LOAD_FROM_MEM,
    MDL_LOAD_FROM_MEM_WITH_MEM,
    MDL_LOAD_TYPE_SIZET,
    MDL_MEM_ADDR_PTR,
    MDL_MEM_SIZET,
    MDL_PRIORITY_INT32,
    MDL_WEIGHT_ADDR_PTR,
    MDL_WEIGHT_SIZET,
    MDL_WORKSPACE_ADDR_PTR,
    MDL_WORKSPACE_SIZET,
    Backend,
    MemAttr,
    ModelDesc,
    RunMode,
    Utilization,
    Versions,
)
from .cvalues import (
    ENUM,
    HANDLE,
    INT32,
    INT64,
    MEMORY,
    NOT_A_GEAR,
    POINTER,
    RT_VALUE,
    SIZE_T,
    UINT32,
    UINT64,
    c_text,
    c_value,
    copy_args,
    fill_args,
    fits,
)
from .errors import AclError, FunctionNotFoundError, check
from .library import function, load_library, locate
from .prototypes import (
    ACL_MAX_DIM_CNT,
    ACL_PKG_VERSION_MAX_SIZE,
    ACL_RESERVED_INDEX,
    ACL_UNKNOWN_RANK,
    AclmdlBatch,
    AclmdlHW,
    AclmdlIODims,
    AclmdlIODimsRange,
    AclrtUtilizationInfo,
)

_ACL_ERROR_BAD_ALLOC = E.ACL_ERROR_BAD_ALLOC  # what we report when a create call returns NULL


# -- zero-copy access to a Python buffer ---------------------------------------------------
class _PyBuffer(ctypes.Structure):
    """CPython's Py_buffer (stable layout, part of the limited API since 3.11)."""

    _fields_ = [
        ("buf", c_void_p),
        ("obj", c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_void_p),
        ("shape", c_void_p),
        ("strides", c_void_p),
        ("suboffsets", c_void_p),
        ("internal", c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), c_int]
_get_buffer.restype = c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_release_buffer.restype = None
_PyBUF_SIMPLE = 0  # contiguous bytes, read-only allowed


@contextmanager
def pinned(buffer: Any) -> Iterator[tuple[int, int]]:
    """Yield ``(address, nbytes)`` of a contiguous buffer without copying it.

    The buffer stays exported (so it cannot be freed or resized) until the block ends.
    """
    view = _PyBuffer()
    try:
        _get_buffer(buffer, byref(view), _PyBUF_SIMPLE)
    except TypeError:
        raise TypeError(
            f"model must be a bytes-like object (bytes, bytearray, memoryview, numpy array, mmap), "
            f"not {type(buffer).__name__}"
        ) from None
    except BufferError as exc:
        raise ValueError(
            f"model buffer cannot be passed to ACL without a copy ({exc}); pass a C-contiguous "
            "buffer, e.g. bytes(model)"
        ) from None
    try:
        yield (view.buf or 0), int(view.len)
    finally:
        _release_buffer(byref(view))


def _decode(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


class AclBackend(ReportsMixin, TensorDescsMixin, Backend):
    """Drives a real (or test-double) libascendcl.so found by `library.locate`."""

    kind = "acl"

    def __init__(self, library: Optional[str] = None) -> None:
        #: resolved path of the library in use
        self.library = locate(library)
        self._lib = load_library(self.library)

    def __repr__(self) -> str:
        return f"AclBackend(library={self.library!r})"

    # -- plumbing ---------------------------------------------------------------------------
    def _fn(self, name: str) -> Any:
        return function(self._lib, name)

    def _optional(self, name: str) -> Any:
        """The function, or None when this CANN does not export it."""
        try:
            return self._fn(name)
        except FunctionNotFoundError:
            return None

    def recent_error(self) -> str:
        """aclGetRecentErrMsg() of this thread ("" when none); reading it clears it."""
        fn = self._optional("aclGetRecentErrMsg")
        return _decode(fn()).strip() if fn is not None else ""

    def _check(self, code: int, call: str) -> None:
        if code:
            check(code, call, self.recent_error())

    def _call(self, name: str, *args: Any) -> None:
        self._check(self._fn(name)(*args), name)

    @staticmethod
    def _ptr(value: Any, call: str, what: str, code: int = E.ACL_ERROR_INVALID_PARAM) -> int:
        """A pointer or handle for C (0 is NULL); refused with `code` when no pointer holds it,
        where ctypes would pass its low 64 bits (-2**70 would be NULL: the default stream)."""
        return c_value(value or 0, POINTER, call, what, code)

    # -- process ----------------------------------------------------------------------------
    def init(self) -> bool:
        code = self._fn("aclInit")(None)
        if code == E.ACL_ERROR_REPEAT_INITIALIZE:
            self.recent_error()  # drain the message: it is not an error for us
            return False
        self._check(code, "aclInit")
        return True

    def finalize(self) -> None:
        self._call("aclFinalize")
        self._drop_callbacks()

    def versions(self) -> Versions:
        api = cann = ""
        get_version = self._optional("aclrtGetVersion")
        if get_version is not None:
            major, minor, patch = c_int32(), c_int32(), c_int32()
            self._check(get_version(byref(major), byref(minor), byref(patch)), "aclrtGetVersion")
            api = f"{major.value}.{minor.value}.{patch.value}"
        get_str = self._optional("aclsysGetVersionStr")
        if get_str is not None:
            buf = ctypes.create_string_buffer(ACL_PKG_VERSION_MAX_SIZE)
            self._check(get_str(b"CANN", buf), "aclsysGetVersionStr")
            cann = _decode(buf.value)
        return Versions(acl_api=api, cann=cann)

    def run_mode(self) -> RunMode:
        mode = c_int()
        self._call("aclrtGetRunMode", byref(mode))
        return RunMode(mode.value)

    def soc_name(self) -> str:
        fn = self._optional("aclrtGetSocName")
        return _decode(fn()) if fn is not None else ""

    # -- devices and contexts -----------------------------------------------------------------
    def device_count(self) -> int:
        count = c_uint32()
        self._call("aclrtGetDeviceCount", byref(count))
        return count.value

    def _device(self, device: int, call: str) -> int:
        return c_value(device, INT32, call, "device", E.ACL_ERROR_RT_INVALID_DEVICEID)

    def set_device(self, device: int) -> None:
        self._call("aclrtSetDevice", self._device(device, "aclrtSetDevice"))

    def reset_device(self, device: int) -> None:
        self._call("aclrtResetDevice", self._device(device, "aclrtResetDevice"))

    def create_context(self, device: int) -> int:
        ctx = c_void_p()
        self._call("aclrtCreateContext", byref(ctx), self._device(device, "aclrtCreateContext"))
        return ctx.value or 0

    def destroy_context(self, context: int) -> None:
        self._call("aclrtDestroyContext", self._ptr(context, "aclrtDestroyContext", "context", HANDLE))

    def set_current_context(self, context: int) -> None:
        self._call("aclrtSetCurrentContext", self._ptr(context, "aclrtSetCurrentContext", "context", HANDLE))

    def get_current_context(self) -> Optional[int]:
        ctx = c_void_p()
        code = self._fn("aclrtGetCurrentContext")(byref(ctx))
        if code == E.ACL_ERROR_RT_CONTEXT_NULL:
            self.recent_error()
            return None
        self._check(code, "aclrtGetCurrentContext")
        return ctx.value or None

    def get_device(self) -> int:
        device = c_int32()
        self._call("aclrtGetDevice", byref(device))
        return device.value

    def mem_info(self, attr: MemAttr) -> tuple[int, int]:
        free, total = c_size_t(), c_size_t()
        self._call("aclrtGetMemInfo", c_value(attr, ENUM, "aclrtGetMemInfo", "attr"), byref(free), byref(total))
        return free.value, total.value

    def stream_priority_range(self) -> Optional[tuple[int, int]]:
        fn = self._optional("aclrtDeviceGetStreamPriorityRange")
        if fn is None:
            return None
        least, greatest = c_int32(), c_int32()
        self._check(fn(byref(least), byref(greatest)), "aclrtDeviceGetStreamPriorityRange")
        return least.value, greatest.value

    def utilization(self, device: int) -> Optional[Utilization]:
        fn = self._optional("aclrtGetDeviceUtilizationRate")
        if fn is None:  # older CANN: the panel hides the row
            return None
        info = AclrtUtilizationInfo()  # zeroed: utilizationExtend is NULL, as ACL requires
        self._check(fn(self._device(device, "aclrtGetDeviceUtilizationRate"), byref(info)),
                    "aclrtGetDeviceUtilizationRate")
        return Utilization(cube=_percent(info.cubeUtilization), vector=_percent(info.vectorUtilization),
                           aicpu=_percent(info.aicpuUtilization))

    # -- models -----------------------------------------------------------------------------
    def query_size(self, model: memoryview) -> tuple[int, int]:
        work, weight = c_size_t(), c_size_t()
        with pinned(model) as (address, size):
            self._call("aclmdlQuerySizeFromMem", address, size, byref(work), byref(weight))
        return work.value, weight.value

    def load_from_mem(self, model: memoryview) -> int:
        model_id = c_uint32()
        with pinned(model) as (address, size):
            self._call("aclmdlLoadFromMem", address, size, byref(model_id))
        return model_id.value

    def load_with_mem(self, model: memoryview, work: int, work_size: int, weight: int, weight_size: int) -> int:
        call = "aclmdlLoadFromMemWithMem"
        work_ptr, work_size, weight_ptr, weight_size = self._supplied(call, work, work_size, weight, weight_size)
        model_id = c_uint32()
        with pinned(model) as (address, size):
            self._call(call, address, size, byref(model_id), work_ptr, work_size, weight_ptr, weight_size)
        return model_id.value

    def _supplied(self, call: str, work: int, work_size: int, weight: int, weight_size: int) -> tuple:
        """The caller's work and weight memory as C gets it: a pointer no device memory can be
        at is 107000, a size no size_t holds 100000 (the simulator's answers)."""
        return (self._ptr(work, call, "workPtr", MEMORY), c_value(work_size, SIZE_T, call, "workSize"),
                self._ptr(weight, call, "weightPtr", MEMORY), c_value(weight_size, SIZE_T, call, "weightSize"))

    def load_with_config(self, model: memoryview, priority: Optional[int] = None, work: int = 0,
                         work_size: int = 0, weight: int = 0, weight_size: int = 0) -> int:
        if priority is not None:
            priority = c_value(priority, INT32, "aclmdlSetConfigOpt", "priority")
        work, work_size, weight, weight_size = self._supplied("aclmdlLoadWithConfig", work, work_size, weight,
                                                              weight_size)
        create = self._fn("aclmdlCreateConfigHandle")
        set_opt = self._fn("aclmdlSetConfigOpt")
        load = self._fn("aclmdlLoadWithConfig")
        destroy = self._fn("aclmdlDestroyConfigHandle")
        handle = create()
        if not handle:
            detail = self.recent_error() or "returned NULL"
            raise AclError(_ACL_ERROR_BAD_ALLOC, "aclmdlCreateConfigHandle", detail)
        model_id = c_uint32()
        try:
            with pinned(model) as (address, size):
                kind = MDL_LOAD_FROM_MEM_WITH_MEM if work or weight else MDL_LOAD_FROM_MEM
                opts: list[tuple[int, Any]] = [
                    (MDL_LOAD_TYPE_SIZET, c_size_t(kind)),
                    (MDL_MEM_ADDR_PTR, c_void_p(address)),  # the value is a pointer to the void*
                    (MDL_MEM_SIZET, c_size_t(size)),
                ]
                if kind == MDL_LOAD_FROM_MEM_WITH_MEM:
                    opts += [(MDL_WORKSPACE_ADDR_PTR, c_void_p(work)),
                             (MDL_WORKSPACE_SIZET, c_size_t(work_size)),
                             (MDL_WEIGHT_ADDR_PTR, c_void_p(weight)),
                             (MDL_WEIGHT_SIZET, c_size_t(weight_size))]
                if priority is not None:
                    opts.append((MDL_PRIORITY_INT32, c_int32(priority)))
                for attr, value in opts:
                    code = set_opt(handle, attr, byref(value), ctypes.sizeof(value))
                    self._check(code, "aclmdlSetConfigOpt")
                self._check(load(handle, byref(model_id)), "aclmdlLoadWithConfig")
        except BaseException:
            destroy(handle)  # best effort: the original error is the one to report
            raise
        self._check(destroy(handle), "aclmdlDestroyConfigHandle")
        return model_id.value

    def _model_id(self, model_id: int, call: str) -> int:
        return c_value(model_id, UINT32, call, "model id", E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID)

    def unload(self, model_id: int) -> None:
        self._call("aclmdlUnload", self._model_id(model_id, "aclmdlUnload"))

    def get_desc(self, model_id: int) -> ModelDesc:
        mid = self._model_id(model_id, "aclmdlGetDesc")
        return self._with_desc(lambda desc: self._call("aclmdlGetDesc", desc, mid))

    def get_desc_from_mem(self, model: memoryview) -> ModelDesc:
        """aclmdlGetDescFromMem: describe model bytes without loading them (newer CANN only)."""
        fill = self._fn("aclmdlGetDescFromMem")

        def run(desc: int) -> None:
            with pinned(model) as (address, size):
                self._check(fill(desc, address, size), "aclmdlGetDescFromMem")

        return self._with_desc(run)

    # -- descriptions -----------------------------------------------------------------------
    def _with_desc(self, fill: Any) -> ModelDesc:
        """Create a desc, fill it, read it, and destroy it whatever happens."""
        destroy = self._fn("aclmdlDestroyDesc")
        desc = self._fn("aclmdlCreateDesc")()
        if not desc:
            raise AclError(_ACL_ERROR_BAD_ALLOC, "aclmdlCreateDesc", self.recent_error() or "returned NULL")
        try:
            fill(desc)
            result = self._describe(desc)
        except BaseException:
            destroy(desc)
            raise
        self._check(destroy(desc), "aclmdlDestroyDesc")
        return result

    def _describe(self, desc: int) -> ModelDesc:
        inputs = tuple(self._tensor(desc, i, "Input") for i in range(self._fn("aclmdlGetNumInputs")(desc)))
        outputs = tuple(self._tensor(desc, i, "Output") for i in range(self._fn("aclmdlGetNumOutputs")(desc)))
        return ModelDesc(inputs, outputs, self._dynamic(desc))

    def _tensor(self, desc: int, index: int, side: str) -> TensorDesc:
        dims = AclmdlIODims()
        self._call(f"aclmdlGet{side}Dims", desc, index, byref(dims))
        name = _decode(self._fn(f"aclmdlGet{side}NameByIndex")(desc, index)) or _decode(dims.name)
        acl_dtype = int(self._fn(f"aclmdlGet{side}DataType")(desc, index))
        acl_format = int(self._fn(f"aclmdlGet{side}Format")(desc, index))
        return TensorDesc(
            name=name,
            dims=_dims(dims),
            dtype=dtype_name(acl_dtype),
            format=format_name(acl_format),
            size=int(self._fn(f"aclmdlGet{side}SizeByIndex")(desc, index)),
            acl_dtype=acl_dtype,
            acl_format=acl_format,
            dims_range=self._dims_range(desc, index) if side == "Input" else (),
            dims_v2=self._dims_v2(desc, index, _dims(dims)) if side == "Input" else (),
        )

    def _dims_v2(self, desc: int, index: int, dims: tuple[int, ...]) -> tuple[int, ...]:
        """aclmdlGetInputDimsV2 where it differs from the dims (a static-AIPP input), else ();
        an older CANN without the call has no such view to give."""
        get_v2 = self._optional("aclmdlGetInputDimsV2")
        if get_v2 is None:
            return ()
        v2 = AclmdlIODims()
        self._check(get_v2(desc, index, byref(v2)), "aclmdlGetInputDimsV2")
        found = _dims(v2)
        return found if found != dims else ()

    def _dims_range(self, desc: int, index: int) -> tuple[tuple[int, int], ...]:
        get_range = self._optional("aclmdlGetInputDimsRange")
        if get_range is None:
            return ()
        ranges = AclmdlIODimsRange()
        self._check(get_range(desc, index, byref(ranges)), "aclmdlGetInputDimsRange")
        count = min(ranges.rangeCount, ACL_MAX_DIM_CNT)
        return tuple((int(ranges.range[i][0]), int(ranges.range[i][1])) for i in range(count))

    def _dynamic(self, desc: int) -> DynamicInfo:
        batch = AclmdlBatch()
        self._call("aclmdlGetDynamicBatch", desc, byref(batch))
        if batch.batchCount:
            count = min(batch.batchCount, len(batch.batch))
            return DynamicInfo("batch", tuple((int(b),) for b in batch.batch[:count]))
        hw = AclmdlHW()
        self._call("aclmdlGetDynamicHW", desc, ACL_RESERVED_INDEX, byref(hw))
        if hw.hwCount:
            count = min(hw.hwCount, len(hw.hw))
            return DynamicInfo("hw", tuple((int(hw.hw[i][0]), int(hw.hw[i][1])) for i in range(count)))
        gears = c_size_t()
        self._call("aclmdlGetInputDynamicGearCount", desc, ACL_RESERVED_INDEX, byref(gears))
        if gears.value:
            table = (AclmdlIODims * gears.value)()
            self._call("aclmdlGetInputDynamicDims", desc, ACL_RESERVED_INDEX, table, gears.value)
            return DynamicInfo("dims", tuple(_dims(g) for g in table))
        return DynamicInfo()


    # -- device and host memory ---------------------------------------------------------------
    def malloc(self, size: int, policy: int = 0) -> int:
        return self._malloc("aclrtMalloc", size, policy)

    def _malloc(self, call: str, size: int, policy: int) -> int:
        ptr = c_void_p()
        self._call(call, byref(ptr), c_value(size, SIZE_T, call, "size"), c_value(policy, ENUM, call, "policy"))
        return ptr.value or 0

    def free(self, ptr: int) -> None:
        self._call("aclrtFree", self._ptr(ptr, "aclrtFree", "devPtr", MEMORY))

    def malloc_cached(self, size: int, policy: int = 0) -> int:
        return self._malloc("aclrtMallocCached", size, policy)

    def mem_flush(self, ptr: int, size: int) -> None:
        self._cache_op("aclrtMemFlush", ptr, size)

    def mem_invalidate(self, ptr: int, size: int) -> None:
        self._cache_op("aclrtMemInvalidate", ptr, size)

    def _cache_op(self, call: str, ptr: int, size: int) -> None:
        self._call(call, self._ptr(ptr, call, "devPtr", MEMORY), c_value(size, SIZE_T, call, "size"))

    def malloc_host(self, size: int) -> int:
        ptr = c_void_p()
        self._call("aclrtMallocHost", byref(ptr), c_value(size, SIZE_T, "aclrtMallocHost", "size"))
        return ptr.value or 0

    def free_host(self, ptr: int) -> None:
        self._call("aclrtFreeHost", self._ptr(ptr, "aclrtFreeHost", "hostPtr", MEMORY))

    def memcpy(self, dst: int, dest_max: int, src: int, count: int, kind: int) -> None:
        self._call("aclrtMemcpy", *copy_args("aclrtMemcpy", dst, dest_max, src, count, kind))

    def memcpy_async(self, dst: int, dest_max: int, src: int, count: int, kind: int, stream: int) -> None:
        call = "aclrtMemcpyAsync"
        self._call(call, *copy_args(call, dst, dest_max, src, count, kind), self._ptr(stream, call, "stream", HANDLE))

    def memset(self, ptr: int, max_count: int, value: int, count: int) -> None:
        self._call("aclrtMemset", *fill_args("aclrtMemset", ptr, max_count, value, count))

    def memset_async(self, ptr: int, max_count: int, value: int, count: int, stream: int) -> None:
        call = "aclrtMemsetAsync"
        self._call(call, *fill_args(call, ptr, max_count, value, count), self._ptr(stream, call, "stream", HANDLE))

    # -- streams ------------------------------------------------------------------------------
    def create_stream(self) -> int:
        stream = c_void_p()
        self._call("aclrtCreateStream", byref(stream))
        return stream.value or 0

    def create_stream_with_config(self, priority: int, flag: int) -> int:
        stream = c_void_p()
        call = "aclrtCreateStreamWithConfig"
        self._call(call, byref(stream), c_value(priority, UINT32, call, "priority"),
                   c_value(flag, UINT32, call, "flag"))
        return stream.value or 0

    def destroy_stream(self, stream: int) -> None:
        self._call("aclrtDestroyStream", self._ptr(stream, "aclrtDestroyStream", "stream", HANDLE))

    def synchronize_stream(self, stream: int) -> None:
        self._call("aclrtSynchronizeStream", self._ptr(stream, "aclrtSynchronizeStream", "stream", HANDLE))

    def synchronize_stream_with_timeout(self, stream: int, timeout: int) -> None:
        call = "aclrtSynchronizeStreamWithTimeout"
        self._call(call, self._ptr(stream, call, "stream", HANDLE), c_value(timeout, INT32, call, "timeout", RT_VALUE))

    # -- events -------------------------------------------------------------------------------
    def create_event(self, flag: Optional[int] = None, extended: bool = False) -> int:
        event = c_void_p()
        if flag is None:
            self._call("aclrtCreateEvent", byref(event))
        else:
            name = "aclrtCreateEventExWithFlag" if extended else "aclrtCreateEventWithFlag"
            self._call(name, byref(event), c_value(flag, UINT32, name, "flag", RT_VALUE))  # the runtime's 107000
        return event.value or 0

    def _event(self, name: str, *handles: tuple[int, str]) -> None:
        """An event call whose arguments are handles (events and streams), in C's order."""
        self._call(name, *(self._ptr(h, name, what, HANDLE) for h, what in handles))

    def destroy_event(self, event: int) -> None:
        self._event("aclrtDestroyEvent", (event, "event"))

    def record_event(self, event: int, stream: int) -> None:
        self._event("aclrtRecordEvent", (event, "event"), (stream, "stream"))

    def reset_event(self, event: int, stream: int) -> None:
        self._event("aclrtResetEvent", (event, "event"), (stream, "stream"))

    def synchronize_event(self, event: int) -> None:
        self._event("aclrtSynchronizeEvent", (event, "event"))

    def _event_status(self, name: str, event: int) -> int:
        status = c_int(0)
        self._call(name, self._ptr(event, name, "event", HANDLE), byref(status))
        return int(status.value)

    def query_event_status(self, event: int) -> bool:
        return self._event_status("aclrtQueryEventStatus", event) == 1  # ACL_EVENT_RECORDED_STATUS_COMPLETE

    def synchronize_event_with_timeout(self, event: int, timeout: int) -> None:
        call = "aclrtSynchronizeEventWithTimeout"
        self._call(call, self._ptr(event, call, "event", HANDLE), c_value(timeout, INT32, call, "timeout", RT_VALUE))

    def query_event(self, event: int) -> int:
        return self._event_status("aclrtQueryEvent", event)  # aclrtEventStatus: 0 COMPLETE, 1 NOT_READY

    def query_event_wait_status(self, event: int) -> int:
        return self._event_status("aclrtQueryEventWaitStatus", event)  # aclrtEventWaitStatus: 0 COMPLETE, 1 NOT_READY

    def event_elapsed_time(self, start: int, end: int) -> float:
        call = "aclrtEventElapsedTime"
        ms = ctypes.c_float(0.0)
        self._call(call, byref(ms), self._ptr(start, call, "startEvent", HANDLE),
                   self._ptr(end, call, "endEvent", HANDLE))
        return float(ms.value)

    def stream_wait_event(self, stream: int, event: int) -> None:
        self._event("aclrtStreamWaitEvent", (stream, "stream"), (event, "event"))

    # -- data buffers and datasets ---------------------------------------------------------------
    def create_data_buffer(self, data: int, size: int) -> int:
        call = "aclCreateDataBuffer"
        handle = self._fn(call)(self._ptr(data, call, "data"), c_value(size, SIZE_T, call, "size"))
        if not handle:
            raise AclError(_ACL_ERROR_BAD_ALLOC, call, self.recent_error() or "returned NULL")
        return handle

    def destroy_data_buffer(self, buffer: int) -> None:
        self._call("aclDestroyDataBuffer", self._ptr(buffer, "aclDestroyDataBuffer", "dataBuffer"))

    def data_buffer_addr(self, buffer: int) -> int:
        """0 for a handle no pointer holds, as C answers NULL (a getter refuses nothing)."""
        return (self._fn("aclGetDataBufferAddr")(buffer or None) or 0) if fits(buffer or 0, POINTER) else 0

    def data_buffer_size(self, buffer: int) -> int:
        return int(self._fn("aclGetDataBufferSizeV2")(buffer or None)) if fits(buffer or 0, POINTER) else 0

    def update_data_buffer(self, buffer: int, data: int, size: int) -> None:
        call = "aclUpdateDataBuffer"
        self._call(call, self._ptr(buffer, call, "dataBuffer"), self._ptr(data, call, "data"),
                   c_value(size, SIZE_T, call, "size"))

    def create_dataset(self) -> int:
        handle = self._fn("aclmdlCreateDataset")()
        if not handle:
            raise AclError(_ACL_ERROR_BAD_ALLOC, "aclmdlCreateDataset", self.recent_error() or "returned NULL")
        return handle

    def destroy_dataset(self, dataset: int) -> None:
        self._call("aclmdlDestroyDataset", self._ptr(dataset, "aclmdlDestroyDataset", "dataset"))

    def add_dataset_buffer(self, dataset: int, buffer: int) -> None:
        call = "aclmdlAddDatasetBuffer"
        self._call(call, self._ptr(dataset, call, "dataset"), self._ptr(buffer, call, "dataBuffer"))

    def dataset_num_buffers(self, dataset: int) -> int:
        return int(self._fn("aclmdlGetDatasetNumBuffers")(dataset or None)) if fits(dataset or 0, POINTER) else 0

    def dataset_buffer(self, dataset: int, index: int) -> int:
        if not (fits(dataset or 0, POINTER) and fits(index, SIZE_T)):
            return 0  # C's NULL for a dataset or an index C could not be given
        return self._fn("aclmdlGetDatasetBuffer")(dataset or None, index) or 0

    # -- execution ------------------------------------------------------------------------------
    def execute(self, model_id: int, inputs: int, outputs: int) -> None:
        call = "aclmdlExecute"
        ins, outs = self._ptr(inputs, call, "input"), self._ptr(outputs, call, "output")  # GE's order
        self._call(call, self._model_id(model_id, call), ins, outs)

    def execute_async(self, model_id: int, inputs: int, outputs: int, stream: int) -> None:
        call = "aclmdlExecuteAsync"
        ins, outs = self._ptr(inputs, call, "input"), self._ptr(outputs, call, "output")
        self._call(call, self._model_id(model_id, call), ins, outs, self._ptr(stream, call, "stream", HANDLE))

    def _gear_target(self, call: str, model_id: int, dataset: int, index: int) -> tuple[int, int, int]:
        """The model, dataset and mbatch input index a set call names, as C gets them."""
        return (self._model_id(model_id, call), self._ptr(dataset, call, "dataset"),
                c_value(index, SIZE_T, call, "index"))

    def set_dynamic_batch_size(self, model_id: int, dataset: int, index: int, batch: int) -> None:
        call = "aclmdlSetDynamicBatchSize"
        target = self._gear_target(call, model_id, dataset, index)
        self._call(call, *target, c_value(batch, UINT64, call, "batchSize", NOT_A_GEAR))

    def set_dynamic_hw_size(self, model_id: int, dataset: int, index: int, height: int, width: int) -> None:
        call = "aclmdlSetDynamicHWSize"
        target = self._gear_target(call, model_id, dataset, index)
        self._call(call, *target, c_value(height, UINT64, call, "height", NOT_A_GEAR),
                   c_value(width, UINT64, call, "width", NOT_A_GEAR))

    def set_input_dynamic_dims(self, model_id: int, dataset: int, index: int, dims: Sequence[int]) -> None:
        call = "aclmdlSetInputDynamicDims"
        target = self._gear_target(call, model_id, dataset, index)
        if dims is None:
            self._call(call, *target, None)
            return
        if len(dims) > ACL_MAX_DIM_CNT:
            raise AclError(E.ACL_ERROR_INVALID_PARAM, call,
                           f"{len(dims)} dims do not fit aclmdlIODims ({ACL_MAX_DIM_CNT} at most)")
        io = AclmdlIODims()
        io.dimCount = len(dims)
        for i, d in enumerate(dims):
            io.dims[i] = c_value(d, INT64, call, f"dims[{i}]")  # a Structure field wraps silently too
        self._call(call, *target, byref(io))

    # -- a live desc -----------------------------------------------------------------------------
    def create_desc(self, model_id: int) -> int:
        mid = self._model_id(model_id, "aclmdlGetDesc")
        desc = self._fn("aclmdlCreateDesc")()
        if not desc:
            raise AclError(_ACL_ERROR_BAD_ALLOC, "aclmdlCreateDesc", self.recent_error() or "returned NULL")
        try:
            self._call("aclmdlGetDesc", desc, mid)
        except BaseException:
            self._fn("aclmdlDestroyDesc")(desc)
            raise
        return desc

    def destroy_desc(self, desc: int) -> None:
        self._call("aclmdlDestroyDesc", self._ptr(desc, "aclmdlDestroyDesc", "modelDesc"))

    def cur_output_dims(self, desc: int, index: int) -> tuple[int, ...]:
        call = "aclmdlGetCurOutputDims"
        dims = AclmdlIODims()
        self._call(call, self._ptr(desc, call, "modelDesc"), c_value(index, SIZE_T, call, "index"), byref(dims))
        return _dims(dims)

    def input_index_by_name(self, desc: int, name: str) -> int:
        call = "aclmdlGetInputIndexByName"
        index = c_size_t()
        self._call(call, self._ptr(desc, call, "modelDesc"), c_text(name, call, "name"), byref(index))
        return index.value


def _percent(value: int) -> Optional[int]:
    """ACL's -1 ("this unit cannot be measured here") as None; anything else as is."""
    return None if value < 0 else int(value)


def _dims(dims: AclmdlIODims) -> tuple[int, ...]:
    """An aclmdlIODims as a tuple; unknown rank becomes ``(-2,)`` as GE writes it."""
    if dims.dimCount == ACL_UNKNOWN_RANK:
        return (-2,)
    return tuple(int(d) for d in dims.dims[: min(dims.dimCount, ACL_MAX_DIM_CNT)])


__all__ = ["AclBackend", "pinned"]
