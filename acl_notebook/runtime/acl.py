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

_INT32 = (-(2**31), 2**31 - 1)
_ACL_ERROR_BAD_ALLOC = E.ACL_ERROR_BAD_ALLOC  # what we report when a create call returns NULL
_UINT32_MAX = 2**32 - 1


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
        device = int(device)
        if not _INT32[0] <= device <= _INT32[1]:
            raise AclError(E.ACL_ERROR_RT_INVALID_DEVICEID, call, f"device {device} is not an int32")
        return device

    def set_device(self, device: int) -> None:
        self._call("aclrtSetDevice", self._device(device, "aclrtSetDevice"))

    def reset_device(self, device: int) -> None:
        self._call("aclrtResetDevice", self._device(device, "aclrtResetDevice"))

    def create_context(self, device: int) -> int:
        ctx = c_void_p()
        self._call("aclrtCreateContext", byref(ctx), self._device(device, "aclrtCreateContext"))
        return ctx.value or 0

    def destroy_context(self, context: int) -> None:
        self._call("aclrtDestroyContext", c_void_p(int(context)))

    def set_current_context(self, context: int) -> None:
        self._call("aclrtSetCurrentContext", c_void_p(int(context)))

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
        self._call("aclrtGetMemInfo", int(attr), byref(free), byref(total))
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
        model_id = c_uint32()
        with pinned(model) as (address, size):
            self._call("aclmdlLoadFromMemWithMem", address, size, byref(model_id), work or None, work_size,
                       weight or None, weight_size)
        return model_id.value

    def load_with_config(self, model: memoryview, priority: Optional[int] = None, work: int = 0,
                         work_size: int = 0, weight: int = 0, weight_size: int = 0) -> int:
        if priority is not None and not _INT32[0] <= int(priority) <= _INT32[1]:
            detail = f"priority {priority} does not fit int32"
            raise AclError(E.ACL_ERROR_INVALID_PARAM, "aclmdlSetConfigOpt", detail)
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
                    opts += [(MDL_WORKSPACE_ADDR_PTR, c_void_p(work or None)),
                             (MDL_WORKSPACE_SIZET, c_size_t(work_size)),
                             (MDL_WEIGHT_ADDR_PTR, c_void_p(weight or None)),
                             (MDL_WEIGHT_SIZET, c_size_t(weight_size))]
                if priority is not None:
                    opts.append((MDL_PRIORITY_INT32, c_int32(int(priority))))
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
        value = int(model_id)
        if not 0 <= value <= _UINT32_MAX:
            raise AclError(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, call, f"model id {model_id} is not a uint32")
        return value

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
        ptr = c_void_p()
        self._call("aclrtMalloc", byref(ptr), int(size), int(policy))
        return ptr.value or 0

    def free(self, ptr: int) -> None:
        self._call("aclrtFree", ptr or None)

    def malloc_cached(self, size: int, policy: int = 0) -> int:
        ptr = c_void_p()
        self._call("aclrtMallocCached", byref(ptr), int(size), int(policy))
        return ptr.value or 0

    def mem_flush(self, ptr: int, size: int) -> None:
        self._call("aclrtMemFlush", ptr or None, int(size))

    def mem_invalidate(self, ptr: int, size: int) -> None:
        self._call("aclrtMemInvalidate", ptr or None, int(size))

    def malloc_host(self, size: int) -> int:
        ptr = c_void_p()
        self._call("aclrtMallocHost", byref(ptr), int(size))
        return ptr.value or 0

    def free_host(self, ptr: int) -> None:
        self._call("aclrtFreeHost", ptr or None)

    def memcpy(self, dst: int, dest_max: int, src: int, count: int, kind: int) -> None:
        self._call("aclrtMemcpy", dst or None, int(dest_max), src or None, int(count), int(kind))

    def memcpy_async(self, dst: int, dest_max: int, src: int, count: int, kind: int, stream: int) -> None:
        self._call("aclrtMemcpyAsync", dst or None, int(dest_max), src or None, int(count), int(kind), stream or None)

    def memset(self, ptr: int, max_count: int, value: int, count: int) -> None:
        self._call("aclrtMemset", ptr or None, int(max_count), int(value), int(count))

    def memset_async(self, ptr: int, max_count: int, value: int, count: int, stream: int) -> None:
        self._call("aclrtMemsetAsync", ptr or None, int(max_count), int(value), int(count), stream or None)

    # -- streams ------------------------------------------------------------------------------
    def create_stream(self) -> int:
        stream = c_void_p()
        self._call("aclrtCreateStream", byref(stream))
        return stream.value or 0

    def create_stream_with_config(self, priority: int, flag: int) -> int:
        stream = c_void_p()
        self._call("aclrtCreateStreamWithConfig", byref(stream), int(priority) & _UINT32_MAX, int(flag) & _UINT32_MAX)
        return stream.value or 0

    def destroy_stream(self, stream: int) -> None:
        self._call("aclrtDestroyStream", stream or None)

    def synchronize_stream(self, stream: int) -> None:
        self._call("aclrtSynchronizeStream", stream or None)

    def synchronize_stream_with_timeout(self, stream: int, timeout: int) -> None:
        self._call("aclrtSynchronizeStreamWithTimeout", stream or None, int(timeout))

    # -- events -------------------------------------------------------------------------------
    def create_event(self, flag: Optional[int] = None, extended: bool = False) -> int:
        event = c_void_p()
        if flag is None:
            self._call("aclrtCreateEvent", byref(event))
        else:
            name = "aclrtCreateEventExWithFlag" if extended else "aclrtCreateEventWithFlag"
            self._call(name, byref(event), int(flag) & _UINT32_MAX)
        return event.value or 0

    def destroy_event(self, event: int) -> None:
        self._call("aclrtDestroyEvent", event or None)

    def record_event(self, event: int, stream: int) -> None:
        self._call("aclrtRecordEvent", event or None, stream or None)

    def reset_event(self, event: int, stream: int) -> None:
        self._call("aclrtResetEvent", event or None, stream or None)

    def synchronize_event(self, event: int) -> None:
        self._call("aclrtSynchronizeEvent", event or None)

    def query_event_status(self, event: int) -> bool:
        status = c_int(0)
        self._call("aclrtQueryEventStatus", event or None, byref(status))
        return status.value == 1  # ACL_EVENT_RECORDED_STATUS_COMPLETE

    def synchronize_event_with_timeout(self, event: int, timeout: int) -> None:
        self._call("aclrtSynchronizeEventWithTimeout", event or None, int(timeout))

    def query_event(self, event: int) -> int:
        status = c_int(0)
        self._call("aclrtQueryEvent", event or None, byref(status))
        return int(status.value)  # aclrtEventStatus: 0 COMPLETE, 1 NOT_READY

    def query_event_wait_status(self, event: int) -> int:
        status = c_int(0)
        self._call("aclrtQueryEventWaitStatus", event or None, byref(status))
        return int(status.value)  # aclrtEventWaitStatus: 0 COMPLETE, 1 NOT_READY

    def event_elapsed_time(self, start: int, end: int) -> float:
        ms = ctypes.c_float(0.0)
        self._call("aclrtEventElapsedTime", byref(ms), start or None, end or None)
        return float(ms.value)

    def stream_wait_event(self, stream: int, event: int) -> None:
        self._call("aclrtStreamWaitEvent", stream or None, event or None)

    # -- data buffers and datasets ---------------------------------------------------------------
    def create_data_buffer(self, data: int, size: int) -> int:
        handle = self._fn("aclCreateDataBuffer")(data or None, int(size))
        if not handle:
            raise AclError(_ACL_ERROR_BAD_ALLOC, "aclCreateDataBuffer", self.recent_error() or "returned NULL")
        return handle

    def destroy_data_buffer(self, buffer: int) -> None:
        self._call("aclDestroyDataBuffer", buffer or None)

    def data_buffer_addr(self, buffer: int) -> int:
        return self._fn("aclGetDataBufferAddr")(buffer or None) or 0

    def data_buffer_size(self, buffer: int) -> int:
        return int(self._fn("aclGetDataBufferSizeV2")(buffer or None))

    def update_data_buffer(self, buffer: int, data: int, size: int) -> None:
        self._call("aclUpdateDataBuffer", buffer or None, data or None, int(size))

    def create_dataset(self) -> int:
        handle = self._fn("aclmdlCreateDataset")()
        if not handle:
            raise AclError(_ACL_ERROR_BAD_ALLOC, "aclmdlCreateDataset", self.recent_error() or "returned NULL")
        return handle

    def destroy_dataset(self, dataset: int) -> None:
        self._call("aclmdlDestroyDataset", dataset or None)

    def add_dataset_buffer(self, dataset: int, buffer: int) -> None:
        self._call("aclmdlAddDatasetBuffer", dataset or None, buffer or None)

    def dataset_num_buffers(self, dataset: int) -> int:
        return int(self._fn("aclmdlGetDatasetNumBuffers")(dataset or None))

    def dataset_buffer(self, dataset: int, index: int) -> int:
        return self._fn("aclmdlGetDatasetBuffer")(dataset or None, int(index)) or 0

    # -- execution ------------------------------------------------------------------------------
    def execute(self, model_id: int, inputs: int, outputs: int) -> None:
        mid = self._model_id(model_id, "aclmdlExecute")
        self._call("aclmdlExecute", mid, inputs or None, outputs or None)

    def execute_async(self, model_id: int, inputs: int, outputs: int, stream: int) -> None:
        mid = self._model_id(model_id, "aclmdlExecuteAsync")
        self._call("aclmdlExecuteAsync", mid, inputs or None, outputs or None, stream or None)

    def set_dynamic_batch_size(self, model_id: int, dataset: int, index: int, batch: int) -> None:
        mid = self._model_id(model_id, "aclmdlSetDynamicBatchSize")
        self._call("aclmdlSetDynamicBatchSize", mid, dataset or None, int(index), int(batch))

    def set_dynamic_hw_size(self, model_id: int, dataset: int, index: int, height: int, width: int) -> None:
        mid = self._model_id(model_id, "aclmdlSetDynamicHWSize")
        self._call("aclmdlSetDynamicHWSize", mid, dataset or None, int(index), int(height), int(width))

    def set_input_dynamic_dims(self, model_id: int, dataset: int, index: int, dims: Sequence[int]) -> None:
        mid = self._model_id(model_id, "aclmdlSetInputDynamicDims")
        if dims is None:
            self._call("aclmdlSetInputDynamicDims", mid, dataset or None, int(index), None)
            return
        if len(dims) > ACL_MAX_DIM_CNT:
            raise AclError(E.ACL_ERROR_INVALID_PARAM, "aclmdlSetInputDynamicDims",
                           f"{len(dims)} dims do not fit aclmdlIODims ({ACL_MAX_DIM_CNT} at most)")
        io = AclmdlIODims()
        io.dimCount = len(dims)
        for i, d in enumerate(dims):
            io.dims[i] = int(d)
        self._call("aclmdlSetInputDynamicDims", mid, dataset or None, int(index), byref(io))

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
        self._call("aclmdlDestroyDesc", desc or None)

    def cur_output_dims(self, desc: int, index: int) -> tuple[int, ...]:
        dims = AclmdlIODims()
        self._call("aclmdlGetCurOutputDims", desc or None, int(index), byref(dims))
        return _dims(dims)

    def input_index_by_name(self, desc: int, name: str) -> int:
        index = c_size_t()
        self._call("aclmdlGetInputIndexByName", desc or None, name.encode() if name else None, byref(index))
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
