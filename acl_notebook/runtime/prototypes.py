"""Every AscendCL function and struct the `acl` backend touches, in one table.

Why one table: ctypes trusts whatever argtypes/restype it is given, and a wrong width (an
``int`` where C has ``size_t``) corrupts silently on 64-bit. Keeping each prototype next
to its neighbours makes a review against the C headers a single read; `library.function`
applies them at first use. Prototypes, struct layouts and constants are facts from the
public ACL headers (``acl_rt.h``, ``acl_base_rt.h``, ``acl_mdl.h``; see
shared/docs/acl-api.md sections 2-4).
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_char, c_char_p, c_float, c_int, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from typing import NamedTuple, Optional

ACL_MAX_DIM_CNT = 128
ACL_MAX_TENSOR_NAME_LEN = 128
ACL_MAX_BATCH_NUM = 128
ACL_MAX_HW_NUM = 128
ACL_PKG_VERSION_MAX_SIZE = 128
#: dimCount reported for a tensor of unknown rank: (size_t)-2.
ACL_UNKNOWN_RANK = ctypes.c_size_t(-2).value
#: The "reserved, pass -1" index of the dynamic-gear getters, as a size_t.
ACL_RESERVED_INDEX = ctypes.c_size_t(-1).value


class AclmdlIODims(ctypes.Structure):
    """aclmdlIODims: 1160 bytes (name 0, dimCount 128, dims 136)."""

    _fields_ = [
        ("name", c_char * ACL_MAX_TENSOR_NAME_LEN),
        ("dimCount", c_size_t),
        ("dims", c_int64 * ACL_MAX_DIM_CNT),
    ]


class AclmdlIODimsRange(ctypes.Structure):
    """aclmdlIODimsRange: 2056 bytes (rangeCount 0, range 8)."""

    _fields_ = [("rangeCount", c_size_t), ("range", (c_int64 * 2) * ACL_MAX_DIM_CNT)]


class AclmdlBatch(ctypes.Structure):
    """aclmdlBatch: 1032 bytes (batchCount 0, batch 8)."""

    _fields_ = [("batchCount", c_size_t), ("batch", c_uint64 * ACL_MAX_BATCH_NUM)]


class AclmdlHW(ctypes.Structure):
    """aclmdlHW: 2056 bytes (hwCount 0, hw 8)."""

    _fields_ = [("hwCount", c_size_t), ("hw", (c_uint64 * 2) * ACL_MAX_HW_NUM)]


class AclrtUtilizationInfo(ctypes.Structure):
    """aclrtUtilizationInfo: 24 bytes (cube 0, vector 4, aicpu 8, memory 12, utilizationExtend 16).

    Percentages, -1 where the device cannot measure that unit; `utilizationExtend` is
    reserved and must be NULL (ACL_ERROR_INVALID_PARAM otherwise).
    """

    _fields_ = [
        ("cubeUtilization", c_int32),
        ("vectorUtilization", c_int32),
        ("aicpuUtilization", c_int32),
        ("memoryUtilization", c_int32),
        ("utilizationExtend", c_void_p),
    ]


#: What aclrtUtilizationInfo holds for a unit the device cannot measure.
DEVICE_UTILIZATION_NOT_SUPPORT = -1

# Handles are opaque pointers; aclError and every enum are C ints.
aclError = c_int
aclrtContext = c_void_p
aclmdlDesc_p = c_void_p
aclmdlConfigHandle_p = c_void_p
aclrtStream = c_void_p
aclrtEvent = c_void_p
aclDataBuffer_p = c_void_p
aclmdlDataset_p = c_void_p
aclTensorDesc_p = c_void_p
aclEnum = c_int
#: typedef void (*aclrtCallback)(void *userData): a host function a stream calls back
aclrtCallback = ctypes.CFUNCTYPE(None, c_void_p)


class Prototype(NamedTuple):
    """restype, argtypes, and the user-visible feature a missing symbol would disable."""

    restype: Optional[type]
    argtypes: tuple
    feature: str
    #: True for symbols older CANN releases lack and the backend can do without.
    optional: bool = False


_P = Prototype
_szp = POINTER(c_size_t)
_u32p = POINTER(c_uint32)
_dimsp = POINTER(AclmdlIODims)
_desc = aclmdlDesc_p
_cfg = aclmdlConfigHandle_p
_DESC = "model descriptions"
_CONFIG = "loading with a config handle (priority)"
_vpp = POINTER(c_void_p)
_buf = aclDataBuffer_p
_ds = aclmdlDataset_p
_MEM = "device memory for running models"
_HOST = "page-locked host memory"
_COPY = "copying to and from the device"
_STREAM = "streams"
_CALLBACKS = "host callbacks on a stream"
_EVENTS = "events (stream synchronisation and timing)"
_BUFS = "model input/output buffers"
_RUN = "running models"
_GEARS = "choosing a gear of a multi-gear model"
_td = aclTensorDesc_p
_TENSORS = "tensor descriptions (dynamic-shape datasets)"
_CACHED = "cached device memory"

PROTOTYPES: dict[str, Prototype] = {
    # -- process --------------------------------------------------------------------------
    "aclInit": _P(aclError, (c_char_p,), "initialising ACL"),
    "aclFinalize": _P(aclError, (), "finalising ACL"),
    "aclGetRecentErrMsg": _P(c_char_p, (), "detailed error messages", True),
    "aclrtGetVersion": _P(aclError, (POINTER(c_int32),) * 3, "the ACL API version", True),
    "aclsysGetVersionStr": _P(aclError, (c_char_p, c_char_p), "the CANN version string", True),
    # -- devices and contexts -------------------------------------------------------------
    "aclrtSetDevice": _P(aclError, (c_int32,), "selecting a device"),
    "aclrtResetDevice": _P(aclError, (c_int32,), "releasing a device"),
    "aclrtGetDeviceCount": _P(aclError, (_u32p,), "counting devices"),
    "aclrtGetRunMode": _P(aclError, (POINTER(aclEnum),), "the run mode"),
    "aclrtCreateContext": _P(aclError, (POINTER(aclrtContext), c_int32), "creating contexts"),
    "aclrtDestroyContext": _P(aclError, (aclrtContext,), "destroying contexts"),
    "aclrtSetCurrentContext": _P(aclError, (aclrtContext,), "switching contexts"),
    "aclrtGetCurrentContext": _P(aclError, (POINTER(aclrtContext),), "reading the current context"),
    "aclrtGetDevice": _P(aclError, (POINTER(c_int32),), "reading the current device"),
    "aclrtGetMemInfo": _P(aclError, (aclEnum, _szp, _szp), "device memory figures"),
    "aclrtGetSocName": _P(c_char_p, (), "the SoC name", True),
    "aclrtDeviceGetStreamPriorityRange": _P(aclError, (POINTER(c_int32), POINTER(c_int32)),
                                            "the stream priority range", True),
    "aclrtGetDeviceUtilizationRate": _P(
        aclError, (c_int32, POINTER(AclrtUtilizationInfo)), "AI Core / Vector utilisation", True
    ),
    # -- model load / unload --------------------------------------------------------------
    "aclmdlQuerySizeFromMem": _P(aclError, (c_void_p, c_size_t, _szp, _szp), "model memory queries"),
    "aclmdlLoadFromMem": _P(aclError, (c_void_p, c_size_t, _u32p), "loading models from memory"),
    "aclmdlLoadFromMemWithMem": _P(aclError, (c_void_p, c_size_t, _u32p, c_void_p, c_size_t, c_void_p, c_size_t),
                                   "loading models into caller-supplied memory"),
    "aclmdlCreateConfigHandle": _P(_cfg, (), _CONFIG, True),
    "aclmdlDestroyConfigHandle": _P(aclError, (_cfg,), _CONFIG, True),
    "aclmdlSetConfigOpt": _P(aclError, (_cfg, aclEnum, c_void_p, c_size_t), _CONFIG, True),
    "aclmdlLoadWithConfig": _P(aclError, (_cfg, _u32p), _CONFIG, True),
    "aclmdlUnload": _P(aclError, (c_uint32,), "unloading models"),
    # -- model description ----------------------------------------------------------------
    "aclmdlCreateDesc": _P(_desc, (), _DESC),
    "aclmdlDestroyDesc": _P(aclError, (_desc,), _DESC),
    "aclmdlGetDesc": _P(aclError, (_desc, c_uint32), _DESC),
    "aclmdlGetDescFromMem": _P(aclError, (_desc, c_void_p, c_size_t), "describing unloaded models", True),
    "aclmdlGetNumInputs": _P(c_size_t, (_desc,), _DESC),
    "aclmdlGetNumOutputs": _P(c_size_t, (_desc,), _DESC),
    "aclmdlGetInputSizeByIndex": _P(c_size_t, (_desc, c_size_t), _DESC),
    "aclmdlGetOutputSizeByIndex": _P(c_size_t, (_desc, c_size_t), _DESC),
    "aclmdlGetInputDims": _P(aclError, (_desc, c_size_t, _dimsp), _DESC),
    "aclmdlGetInputDimsV2": _P(aclError, (_desc, c_size_t, _dimsp), "AIPP-adjusted input dims", True),
    "aclmdlGetOutputDims": _P(aclError, (_desc, c_size_t, _dimsp), _DESC),
    "aclmdlGetInputNameByIndex": _P(c_char_p, (_desc, c_size_t), _DESC),
    "aclmdlGetOutputNameByIndex": _P(c_char_p, (_desc, c_size_t), _DESC),
    "aclmdlGetInputFormat": _P(aclEnum, (_desc, c_size_t), _DESC),
    "aclmdlGetOutputFormat": _P(aclEnum, (_desc, c_size_t), _DESC),
    "aclmdlGetInputDataType": _P(aclEnum, (_desc, c_size_t), _DESC),
    "aclmdlGetOutputDataType": _P(aclEnum, (_desc, c_size_t), _DESC),
    "aclmdlGetDynamicBatch": _P(aclError, (_desc, POINTER(AclmdlBatch)), "dynamic-batch gears"),
    "aclmdlGetDynamicHW": _P(aclError, (_desc, c_size_t, POINTER(AclmdlHW)), "dynamic image-size gears"),
    "aclmdlGetInputDynamicGearCount": _P(aclError, (_desc, c_size_t, _szp), "dynamic-dims gears"),
    "aclmdlGetInputDynamicDims": _P(aclError, (_desc, c_size_t, _dimsp, c_size_t), "dynamic-dims gears"),
    "aclmdlGetInputDimsRange": _P(
        aclError, (_desc, c_size_t, POINTER(AclmdlIODimsRange)), "input shape ranges", True
    ),
    "aclmdlGetCurOutputDims": _P(aclError, (_desc, c_size_t, _dimsp), "output shapes of the current gear"),
    "aclmdlGetInputIndexByName": _P(aclError, (_desc, c_char_p, _szp), "finding inputs by name"),
    # -- memory (acl_rt.h) -------------------------------------------------------------------
    "aclrtMalloc": _P(aclError, (_vpp, c_size_t, aclEnum), _MEM),
    "aclrtFree": _P(aclError, (c_void_p,), _MEM),
    "aclrtMallocHost": _P(aclError, (_vpp, c_size_t), _HOST),
    "aclrtFreeHost": _P(aclError, (c_void_p,), _HOST),
    "aclrtMemcpy": _P(aclError, (c_void_p, c_size_t, c_void_p, c_size_t, aclEnum), _COPY),
    "aclrtMemset": _P(aclError, (c_void_p, c_size_t, c_int32, c_size_t), "filling device memory"),
    "aclrtMemsetAsync": _P(aclError, (c_void_p, c_size_t, c_int32, c_size_t, aclrtStream),
                           "filling memory on a stream"),
    "aclrtMallocCached": _P(aclError, (_vpp, c_size_t, aclEnum), _CACHED),
    "aclrtMemFlush": _P(aclError, (c_void_p, c_size_t), _CACHED),
    "aclrtMemInvalidate": _P(aclError, (c_void_p, c_size_t), _CACHED),
    "aclrtMemcpyAsync": _P(aclError, (c_void_p, c_size_t, c_void_p, c_size_t, aclEnum, aclrtStream),
                           "copying on a stream"),
    # -- streams -------------------------------------------------------------------------------
    "aclrtCreateStream": _P(aclError, (POINTER(aclrtStream),), _STREAM),
    "aclrtCreateStreamWithConfig": _P(aclError, (POINTER(aclrtStream), c_uint32, c_uint32),
                                      "streams with a priority and flags", True),
    "aclrtDestroyStream": _P(aclError, (aclrtStream,), _STREAM),
    "aclrtSynchronizeStream": _P(aclError, (aclrtStream,), _STREAM),
    "aclrtSynchronizeStreamWithTimeout": _P(aclError, (aclrtStream, c_int32), _STREAM),
    # -- host callbacks on a stream (acl_rt.h) ---------------------------------------------------
    "aclrtSubscribeReport": _P(aclError, (c_uint64, aclrtStream), _CALLBACKS),
    "aclrtUnSubscribeReport": _P(aclError, (c_uint64, aclrtStream), _CALLBACKS),
    "aclrtLaunchCallback": _P(aclError, (aclrtCallback, c_void_p, aclEnum, aclrtStream), _CALLBACKS),
    "aclrtProcessReport": _P(aclError, (c_int32,), _CALLBACKS),
    # -- events (acl_rt.h) ----------------------------------------------------------------------
    "aclrtCreateEvent": _P(aclError, (POINTER(aclrtEvent),), _EVENTS),
    "aclrtCreateEventWithFlag": _P(aclError, (POINTER(aclrtEvent), c_uint32), _EVENTS),
    "aclrtCreateEventExWithFlag": _P(aclError, (POINTER(aclrtEvent), c_uint32), "events beyond the hardware's count",
                                     True),
    "aclrtDestroyEvent": _P(aclError, (aclrtEvent,), _EVENTS),
    "aclrtRecordEvent": _P(aclError, (aclrtEvent, aclrtStream), _EVENTS),
    "aclrtResetEvent": _P(aclError, (aclrtEvent, aclrtStream), _EVENTS),
    "aclrtSynchronizeEvent": _P(aclError, (aclrtEvent,), _EVENTS),
    "aclrtSynchronizeEventWithTimeout": _P(aclError, (aclrtEvent, c_int32), "waiting for an event with a timeout",
                                           True),
    "aclrtQueryEventStatus": _P(aclError, (aclrtEvent, POINTER(aclEnum)), "querying events", True),
    "aclrtQueryEvent": _P(aclError, (aclrtEvent, POINTER(aclEnum)), "querying events (deprecated form)", True),
    "aclrtQueryEventWaitStatus": _P(aclError, (aclrtEvent, POINTER(aclEnum)), "querying an event's waits", True),
    "aclrtEventElapsedTime": _P(aclError, (POINTER(c_float), aclrtEvent, aclrtEvent), "timing with events"),
    "aclrtStreamWaitEvent": _P(aclError, (aclrtStream, aclrtEvent), _EVENTS),
    # -- data buffers and datasets (acl_base_rt.h, acl_mdl.h) -----------------------------------
    "aclCreateDataBuffer": _P(_buf, (c_void_p, c_size_t), _BUFS),
    "aclDestroyDataBuffer": _P(aclError, (_buf,), _BUFS),
    "aclGetDataBufferAddr": _P(c_void_p, (_buf,), _BUFS),
    "aclGetDataBufferSizeV2": _P(c_size_t, (_buf,), _BUFS),
    "aclUpdateDataBuffer": _P(aclError, (_buf, c_void_p, c_size_t), _BUFS),
    "aclmdlCreateDataset": _P(_ds, (), _BUFS),
    "aclmdlDestroyDataset": _P(aclError, (_ds,), _BUFS),
    "aclmdlAddDatasetBuffer": _P(aclError, (_ds, _buf), _BUFS),
    "aclmdlGetDatasetNumBuffers": _P(c_size_t, (_ds,), _BUFS),
    "aclmdlGetDatasetBuffer": _P(_buf, (_ds, c_size_t), _BUFS),
    "aclmdlSetDatasetTensorDesc": _P(aclError, (_ds, _td, c_size_t), _TENSORS),
    "aclmdlGetDatasetTensorDesc": _P(_td, (_ds, c_size_t), _TENSORS),
    # -- tensor descs (acl_base.h) ------------------------------------------------------------
    "aclCreateTensorDesc": _P(_td, (aclEnum, c_int, POINTER(c_int64), aclEnum), _TENSORS),
    "aclDestroyTensorDesc": _P(None, (_td,), _TENSORS),
    "aclGetTensorDescType": _P(aclEnum, (_td,), _TENSORS),
    "aclGetTensorDescFormat": _P(aclEnum, (_td,), _TENSORS),
    "aclGetTensorDescNumDims": _P(c_size_t, (_td,), _TENSORS),
    "aclGetTensorDescDimV2": _P(aclError, (_td, c_size_t, POINTER(c_int64)), _TENSORS),
    "aclGetTensorDescElementCount": _P(c_size_t, (_td,), _TENSORS),
    "aclGetTensorDescSize": _P(c_size_t, (_td,), _TENSORS),
    "aclGetTensorDescName": _P(c_char_p, (_td,), _TENSORS),
    "aclSetTensorDescName": _P(None, (_td, c_char_p), _TENSORS),
    # -- execution --------------------------------------------------------------------------
    "aclmdlExecute": _P(aclError, (c_uint32, _ds, _ds), _RUN),
    "aclmdlExecuteAsync": _P(aclError, (c_uint32, _ds, _ds, aclrtStream), "running models asynchronously"),
    "aclmdlSetDynamicBatchSize": _P(aclError, (c_uint32, _ds, c_size_t, c_uint64), _GEARS),
    "aclmdlSetDynamicHWSize": _P(aclError, (c_uint32, _ds, c_size_t, c_uint64, c_uint64), _GEARS),
    "aclmdlSetInputDynamicDims": _P(aclError, (c_uint32, _ds, c_size_t, _dimsp), _GEARS),
}

#: Expected struct sizes on LP64 (x86_64 and aarch64), from the headers.
STRUCT_SIZES = {AclmdlIODims: 1160, AclmdlIODimsRange: 2056, AclmdlBatch: 1032, AclmdlHW: 2056,
                AclrtUtilizationInfo: 24}

__all__ = [
    "ACL_MAX_DIM_CNT",
    "ACL_RESERVED_INDEX",
    "ACL_UNKNOWN_RANK",
    "DEVICE_UTILIZATION_NOT_SUPPORT",
    "PROTOTYPES",
    "STRUCT_SIZES",
    "AclmdlBatch",
    "AclmdlHW",
    "AclmdlIODims",
    "AclmdlIODimsRange",
    "AclrtUtilizationInfo",
    "Prototype",
]
