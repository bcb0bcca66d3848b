"""ACL error codes: one table, one exception class per code.

Both backends report failures through `AclError(code)`. As in pynvml, `AclError.__new__`
hands back the subclass made for that code, so ``raise AclError(145003)`` is enough and a
caller can ``except ModelIdInvalidError``. Codes and names are the public ACL headers'
(``acl_base_rt.h``, ``rt_error_codes.h``, ``ge_error_codes.h``); the advice is ours.
"""

from __future__ import annotations

from typing import Optional

# code -> (ACL_ERROR_* name, short meaning). Meanings are our own summaries.
ERROR_CODES: dict[int, tuple[str, str]] = {
    0: ("ACL_SUCCESS", "success"),
    100000: ("ACL_ERROR_INVALID_PARAM", "an argument is invalid"),
    100001: ("ACL_ERROR_UNINITIALIZE", "ACL is not initialised (aclInit was not called)"),
    100002: ("ACL_ERROR_REPEAT_INITIALIZE", "aclInit was already called in this process"),
    100003: ("ACL_ERROR_INVALID_FILE", "invalid file"),
    100004: ("ACL_ERROR_WRITE_FILE", "failed to write a file"),
    100005: ("ACL_ERROR_INVALID_FILE_SIZE", "invalid file size"),
    100006: ("ACL_ERROR_PARSE_FILE", "failed to parse a file"),
    100007: ("ACL_ERROR_FILE_MISSING_ATTR", "a file lacks a required attribute"),
    100008: ("ACL_ERROR_FILE_ATTR_INVALID", "a file attribute is invalid"),
    100009: ("ACL_ERROR_INVALID_DUMP_CONFIG", "invalid dump configuration"),
    100010: ("ACL_ERROR_INVALID_PROFILING_CONFIG", "invalid profiling configuration"),
    100011: ("ACL_ERROR_INVALID_MODEL_ID", "invalid model id"),
    100012: ("ACL_ERROR_DESERIALIZE_MODEL", "failed to deserialise the model"),
    100013: ("ACL_ERROR_PARSE_MODEL", "failed to parse the model"),
    100014: ("ACL_ERROR_READ_MODEL_FAILURE", "failed to read the model"),
    100015: ("ACL_ERROR_MODEL_SIZE_INVALID", "invalid model size"),
    100016: ("ACL_ERROR_MODEL_MISSING_ATTR", "the model lacks a required attribute"),
    100017: ("ACL_ERROR_MODEL_INPUT_NOT_MATCH", "model input does not match"),
    100018: ("ACL_ERROR_MODEL_OUTPUT_NOT_MATCH", "model output does not match"),
    100019: ("ACL_ERROR_MODEL_NOT_DYNAMIC", "the model is not dynamic"),
    100020: ("ACL_ERROR_OP_TYPE_NOT_MATCH", "operator type does not match"),
    100021: ("ACL_ERROR_OP_INPUT_NOT_MATCH", "operator input does not match"),
    100022: ("ACL_ERROR_OP_OUTPUT_NOT_MATCH", "operator output does not match"),
    100023: ("ACL_ERROR_OP_ATTR_NOT_MATCH", "operator attribute does not match"),
    100024: ("ACL_ERROR_OP_NOT_FOUND", "operator not found"),
    100025: ("ACL_ERROR_OP_LOAD_FAILED", "operator failed to load"),
    100026: ("ACL_ERROR_UNSUPPORTED_DATA_TYPE", "unsupported data type"),
    100027: ("ACL_ERROR_FORMAT_NOT_MATCH", "format does not match"),
    100028: ("ACL_ERROR_BIN_SELECTOR_NOT_REGISTERED", "binary selector not registered"),
    100029: ("ACL_ERROR_KERNEL_NOT_FOUND", "kernel not found"),
    100030: ("ACL_ERROR_BIN_SELECTOR_ALREADY_REGISTERED", "binary selector already registered"),
    100031: ("ACL_ERROR_KERNEL_ALREADY_REGISTERED", "kernel already registered"),
    100032: ("ACL_ERROR_INVALID_QUEUE_ID", "invalid queue id"),
    100033: ("ACL_ERROR_REPEAT_SUBSCRIBE", "already subscribed"),
    100034: ("ACL_ERROR_STREAM_NOT_SUBSCRIBE", "stream not subscribed"),
    100035: ("ACL_ERROR_THREAD_NOT_SUBSCRIBE", "thread not subscribed"),
    100036: ("ACL_ERROR_WAIT_CALLBACK_TIMEOUT", "timed out waiting for a callback"),
    100037: ("ACL_ERROR_REPEAT_FINALIZE", "aclFinalize was already called"),
    100038: ("ACL_ERROR_NOT_STATIC_AIPP", "not a static AIPP model"),
    100039: ("ACL_ERROR_COMPILING_STUB_MODE", "the linked library is a compile-time stub"),
    100040: ("ACL_ERROR_GROUP_NOT_SET", "group not set"),
    100041: ("ACL_ERROR_GROUP_NOT_CREATE", "group not created"),
    100042: ("ACL_ERROR_PROF_ALREADY_RUN", "profiling already running"),
    100043: ("ACL_ERROR_PROF_NOT_RUN", "profiling not running"),
    100044: ("ACL_ERROR_DUMP_ALREADY_RUN", "dump already running"),
    100045: ("ACL_ERROR_DUMP_NOT_RUN", "dump not running"),
    148046: ("ACL_ERROR_PROF_REPEAT_SUBSCRIBE", "profiling already subscribed"),
    148047: ("ACL_ERROR_PROF_API_CONFLICT", "conflicting profiling APIs"),
    148048: ("ACL_ERROR_INVALID_MAX_OPQUEUE_NUM_CONFIG", "invalid max op-queue configuration"),
    148049: ("ACL_ERROR_INVALID_OPP_PATH", "invalid OPP path"),
    148050: ("ACL_ERROR_OP_UNSUPPORTED_DYNAMIC", "operator does not support dynamic shapes"),
    148051: ("ACL_ERROR_RELATIVE_RESOURCE_NOT_CLEARED", "related resources were not released"),
    148052: ("ACL_ERROR_UNSUPPORTED_JPEG", "unsupported JPEG"),
    148053: ("ACL_ERROR_INVALID_BUNDLE_MODEL_ID", "invalid bundle model id"),
    200000: ("ACL_ERROR_BAD_ALLOC", "memory allocation failed"),
    200001: ("ACL_ERROR_API_NOT_SUPPORT", "API not supported"),
    200002: ("ACL_ERROR_INVALID_DEVICE", "invalid device"),
    200003: ("ACL_ERROR_MEMORY_ADDRESS_UNALIGNED", "memory address not aligned"),
    200004: ("ACL_ERROR_RESOURCE_NOT_MATCH", "resources do not match"),
    200005: ("ACL_ERROR_INVALID_RESOURCE_HANDLE", "invalid resource handle"),
    200006: ("ACL_ERROR_FEATURE_UNSUPPORTED", "feature not supported"),
    200007: ("ACL_ERROR_PROF_MODULES_UNSUPPORTED", "profiling module not supported"),
    300000: ("ACL_ERROR_STORAGE_OVER_LIMIT", "storage over limit"),
    500000: ("ACL_ERROR_INTERNAL_ERROR", "internal error"),
    500001: ("ACL_ERROR_FAILURE", "failure"),
    500002: ("ACL_ERROR_GE_FAILURE", "graph engine failure"),
    500003: ("ACL_ERROR_RT_FAILURE", "runtime failure"),
    500004: ("ACL_ERROR_DRV_FAILURE", "driver failure"),
    500005: ("ACL_ERROR_PROFILING_FAILURE", "profiling failure"),
    145000: ("ACL_ERROR_GE_PARAM_INVALID", "graph engine: invalid parameter"),
    145001: ("ACL_ERROR_GE_EXEC_NOT_INIT", "graph engine executor not initialised"),
    145002: ("ACL_ERROR_GE_EXEC_MODEL_PATH_INVALID", "invalid model path"),
    145003: ("ACL_ERROR_GE_EXEC_MODEL_ID_INVALID", "no model is loaded with this id"),
    145006: ("ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID", "model data is not a valid OM of that size"),
    145007: ("ACL_ERROR_GE_EXEC_MODEL_ADDR_INVALID", "invalid model address"),
    145008: ("ACL_ERROR_GE_EXEC_MODEL_QUEUE_ID_INVALID", "invalid model queue id"),
    145009: ("ACL_ERROR_GE_EXEC_LOAD_MODEL_REPEATED", "model loaded repeatedly"),
    145011: ("ACL_ERROR_GE_DYNAMIC_INPUT_ADDR_INVALID", "invalid dynamic input address"),
    145012: ("ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID", "invalid dynamic input length"),
    145013: ("ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID", "invalid dynamic batch size"),
    145014: ("ACL_ERROR_GE_AIPP_BATCH_EMPTY", "AIPP batch is empty"),
    145015: ("ACL_ERROR_GE_AIPP_NOT_EXIST", "AIPP does not exist"),
    145016: ("ACL_ERROR_GE_AIPP_MODE_INVALID", "invalid AIPP mode"),
    145017: ("ACL_ERROR_GE_OP_TASK_TYPE_INVALID", "invalid operator task type"),
    145018: ("ACL_ERROR_GE_OP_KERNEL_TYPE_INVALID", "invalid operator kernel type"),
    145019: ("ACL_ERROR_GE_PLGMGR_PATH_INVALID", "invalid plugin path"),
    145020: ("ACL_ERROR_GE_FORMAT_INVALID", "invalid format"),
    145021: ("ACL_ERROR_GE_SHAPE_INVALID", "invalid shape"),
    145022: ("ACL_ERROR_GE_DATATYPE_INVALID", "invalid data type"),
    245000: ("ACL_ERROR_GE_MEMORY_ALLOCATION", "graph engine could not allocate memory"),
    245001: ("ACL_ERROR_GE_MEMORY_OPERATE_FAILED", "graph engine memory operation failed"),
    245002: ("ACL_ERROR_GE_DEVICE_MEMORY_OPERATE_FAILED", "graph engine device memory operation failed"),
    345102: ("ACL_ERROR_GE_SUBHEALTHY", "device is sub-healthy"),
    345103: ("ACL_ERROR_GE_USER_RAISE_EXCEPTION", "user raised an exception"),
    345104: ("ACL_ERROR_GE_DATA_NOT_ALIGNED", "data not aligned"),
    545000: ("ACL_ERROR_GE_INTERNAL_ERROR", "graph engine internal error"),
    545001: ("ACL_ERROR_GE_LOAD_MODEL", "graph engine failed to load the model"),
    545002: ("ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED", "failed to load the model partition"),
    545003: ("ACL_ERROR_GE_EXEC_LOAD_WEIGHT_PARTITION_FAILED", "failed to load the weight partition"),
    545004: ("ACL_ERROR_GE_EXEC_LOAD_TASK_PARTITION_FAILED", "failed to load the task partition"),
    545005: ("ACL_ERROR_GE_EXEC_LOAD_KERNEL_PARTITION_FAILED", "failed to load the kernel partition"),
    545006: ("ACL_ERROR_GE_EXEC_RELEASE_MODEL_DATA", "failed to release model data"),
    545007: ("ACL_ERROR_GE_COMMAND_HANDLE", "command handling failed"),
    545008: ("ACL_ERROR_GE_GET_TENSOR_INFO", "failed to get tensor info"),
    545009: ("ACL_ERROR_GE_UNLOAD_MODEL", "failed to unload the model"),
    545601: ("ACL_ERROR_GE_MODEL_EXECUTE_TIMEOUT", "model execution timed out"),
    545602: ("ACL_ERROR_GE_REDEPLOYING", "redeploying"),
    107000: ("ACL_ERROR_RT_PARAM_INVALID", "runtime: invalid parameter"),
    107001: ("ACL_ERROR_RT_INVALID_DEVICEID", "invalid device id"),
    107002: ("ACL_ERROR_RT_CONTEXT_NULL", "no current context on this thread"),
    107003: ("ACL_ERROR_RT_STREAM_CONTEXT", "stream is not in the current context"),
    107004: ("ACL_ERROR_RT_MODEL_CONTEXT", "model is not in the current context"),
    107005: ("ACL_ERROR_RT_STREAM_MODEL", "stream is not bound to the model"),
    107006: ("ACL_ERROR_RT_EVENT_TIMESTAMP_INVALID", "invalid event timestamp"),
    107007: ("ACL_ERROR_RT_EVENT_TIMESTAMP_REVERSAL", "event timestamp reversal"),
    107008: ("ACL_ERROR_RT_ADDR_UNALIGNED", "address not aligned"),
    107009: ("ACL_ERROR_RT_FILE_OPEN", "failed to open a file"),
    107010: ("ACL_ERROR_RT_FILE_WRITE", "failed to write a file"),
    107011: ("ACL_ERROR_RT_STREAM_SUBSCRIBE", "stream subscribe error"),
    107012: ("ACL_ERROR_RT_THREAD_SUBSCRIBE", "thread subscribe error"),
    107013: ("ACL_ERROR_RT_GROUP_NOT_SET", "group not set"),
    107014: ("ACL_ERROR_RT_GROUP_NOT_CREATE", "group not created"),
    107015: ("ACL_ERROR_RT_STREAM_NO_CB_REG", "no callback registered on the stream"),
    107016: ("ACL_ERROR_RT_INVALID_MEMORY_TYPE", "invalid memory type"),
    107017: ("ACL_ERROR_RT_INVALID_HANDLE", "invalid handle"),
    107018: ("ACL_ERROR_RT_INVALID_MALLOC_TYPE", "invalid malloc type"),
    107019: ("ACL_ERROR_RT_WAIT_TIMEOUT", "wait timed out"),
    107020: ("ACL_ERROR_RT_TASK_TIMEOUT", "task timed out"),
    107021: ("ACL_ERROR_RT_SYSPARAMOPT_NOT_SET", "system parameter not set"),
    107022: ("ACL_ERROR_RT_DEVICE_TASK_ABORT", "device task aborted"),
    107023: ("ACL_ERROR_RT_STREAM_ABORT", "stream aborted"),
    107042: ("ACL_ERROR_RT_SYMBOL_NOT_FOUND", "symbol not found"),
    207000: ("ACL_ERROR_RT_FEATURE_NOT_SUPPORT", "feature not supported by this device"),
    207001: ("ACL_ERROR_RT_MEMORY_ALLOCATION", "device memory allocation failed"),
    207002: ("ACL_ERROR_RT_MEMORY_FREE", "device memory free failed"),
    207003: ("ACL_ERROR_RT_AICORE_OVER_FLOW", "AI Core overflow"),
    207004: ("ACL_ERROR_RT_NO_DEVICE", "no device available"),
    207005: ("ACL_ERROR_RT_RESOURCE_ALLOC_FAIL", "resource allocation failed"),
    207006: ("ACL_ERROR_RT_NO_PERMISSION", "no permission"),
    207007: ("ACL_ERROR_RT_NO_EVENT_RESOURCE", "no event resource"),
    207008: ("ACL_ERROR_RT_NO_STREAM_RESOURCE", "no stream resource"),
    207009: ("ACL_ERROR_RT_NO_NOTIFY_RESOURCE", "no notify resource"),
    207010: ("ACL_ERROR_RT_NO_MODEL_RESOURCE", "no model resource"),
    207011: ("ACL_ERROR_RT_NO_CDQ_RESOURCE", "no CDQ resource"),
    207012: ("ACL_ERROR_RT_OVER_LIMIT", "over limit"),
    207013: ("ACL_ERROR_RT_QUEUE_EMPTY", "queue empty"),
    207014: ("ACL_ERROR_RT_QUEUE_FULL", "queue full"),
    207015: ("ACL_ERROR_RT_REPEATED_INIT", "repeated init"),
    207018: ("ACL_ERROR_RT_DEVICE_OOM", "device out of memory"),
    507000: ("ACL_ERROR_RT_INTERNAL_ERROR", "runtime internal error"),
    507001: ("ACL_ERROR_RT_TS_ERROR", "task scheduler error"),
    507008: ("ACL_ERROR_RT_SOC_VERSION", "the model was built for a different SoC"),
    507011: ("ACL_ERROR_RT_MODEL_EXECUTE", "model execution failed"),
    507012: ("ACL_ERROR_RT_REPORT_TIMEOUT", "no callback report came within the timeout"),
    507033: ("ACL_ERROR_RT_DEV_SETUP_ERROR", "device setup failed"),
    507046: ("ACL_ERROR_RT_STREAM_SYNC_TIMEOUT", "the stream's work did not finish within the timeout"),
    507047: ("ACL_ERROR_RT_EVENT_SYNC_TIMEOUT", "the event's record was not reached within the timeout"),
    507053: ("ACL_ERROR_RT_DEVICE_MEM_ERROR", "device memory error"),
    507899: ("ACL_ERROR_RT_DRV_INTERNAL_ERROR", "driver internal error"),
}

# What a notebook user can do about the codes they are likely to meet.
ERROR_ADVICE: dict[int, str] = {
    100000: "check the arguments (a model buffer must be non-empty)",
    100001: "initialise the session first (acl_notebook.configure() or %acl_info)",
    145001: "the runtime is not initialised; restart the session with acl_notebook.configure()",
    145003: "list loaded models with %acl_models; ids are never reused after unload",
    145006: "the bytes are not a complete .om file; check the path, or re-export it with ATC",
    107002: "the call ran without the session's context; load through acl_notebook, not raw ACL",
    107004: "load, execute and unload a model in the same context",
    207001: "unload models (%acl_unload) or use a device with more free memory",
    207018: "unload models (%acl_unload) or use a device with more free memory",
    245000: "unload models (%acl_unload) or use a device with more free memory",
    507008: "rebuild the model with ATC --soc_version matching this device (%acl_info shows it)",
    200002: "pick a device that exists (%acl_info lists them)",
    107001: "pick a device that exists (%acl_info lists them)",
    100039: "a compile-time stub library was loaded; point ASCEND_HOME_PATH at a real CANN install",
}


def error_name(code: int) -> str:
    return ERROR_CODES.get(code, (f"ACL_ERROR_{code}", ""))[0]


class AclError(RuntimeError):
    """A non-zero aclError returned by the runtime (real or simulated).

    Attributes: `code` (int), `name` (``ACL_ERROR_*``), `meaning`, `call` (the C function
    that failed, if known) and `detail` (``aclGetRecentErrMsg`` text, if any).
    """

    code: int = -1
    _by_code: dict[int, type] = {}

    def __new__(cls, code: int, call: str = "", detail: str = "", hint: str = ""):
        if cls is AclError:
            cls = AclError._by_code.get(int(code), AclError)
        return super().__new__(cls)

    def __init__(self, code: int, call: str = "", detail: str = "", hint: str = ""):
        self.code = int(code)
        self.call = call
        self.detail = (detail or "").strip()
        self.hint = hint or ERROR_ADVICE.get(self.code, "")
        super().__init__(self.code, call, self.detail, self.hint)

    @property
    def name(self) -> str:
        return error_name(self.code)

    @property
    def meaning(self) -> str:
        return ERROR_CODES.get(self.code, ("", "unknown ACL error code"))[1]

    def __reduce__(self):
        return (AclError, (self.code, self.call, self.detail, self.hint))

    def __str__(self) -> str:
        where = f"{self.call} failed: " if self.call else ""
        text = f"{where}{self.name} ({self.code}): {self.meaning}"
        if self.detail:
            text += f" [{self.detail}]"
        if self.hint:
            text += f"; {self.hint}"
        return text


def _class_name(acl_name: str) -> str:
    stem = acl_name.removeprefix("ACL_ERROR_").removeprefix("ACL_")
    return "".join(part.capitalize() for part in stem.split("_")) + "Error"


def _make_classes() -> dict[str, type]:
    made: dict[str, type] = {}
    for code, (acl_name, meaning) in ERROR_CODES.items():
        if code == 0:
            continue
        cls = type(_class_name(acl_name), (AclError,), {"__doc__": f"{acl_name} ({code}): {meaning}."})
        cls.__module__ = __name__
        AclError._by_code[code] = cls
        made[cls.__name__] = cls
    return made


globals().update(_make_classes())


def error_class(code: int) -> type:
    """The AclError subclass raised for `code`."""
    return AclError._by_code.get(int(code), AclError)


def check(code: int, call: str = "", detail: Optional[str] = None) -> None:
    """The single return-code check: raise the matching AclError for a non-zero code."""
    if code:
        raise AclError(code, call, detail or "")


class LibraryNotFoundError(OSError):
    """No usable libascendcl.so was found; the message lists every place tried."""


class FunctionNotFoundError(AttributeError):
    """The loaded libascendcl.so lacks a symbol (an older CANN); only that feature fails."""


# Codes the rest of the package names directly.
ACL_ERROR_INVALID_PARAM = 100000
ACL_ERROR_UNINITIALIZE = 100001
ACL_ERROR_REPEAT_INITIALIZE = 100002
ACL_ERROR_REPEAT_FINALIZE = 100037
ACL_ERROR_API_NOT_SUPPORT = 200001
ACL_ERROR_INVALID_DEVICE = 200002
ACL_ERROR_GE_EXEC_NOT_INIT = 145001
ACL_ERROR_GE_EXEC_MODEL_ID_INVALID = 145003
ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID = 145006
ACL_ERROR_GE_EXEC_MODEL_ADDR_INVALID = 145007
ACL_ERROR_GE_PARAM_INVALID = 145000
ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED = 545002
ACL_ERROR_RT_PARAM_INVALID = 107000
ACL_ERROR_RT_INVALID_DEVICEID = 107001
ACL_ERROR_RT_CONTEXT_NULL = 107002
ACL_ERROR_RT_MODEL_CONTEXT = 107004
ACL_ERROR_RT_MEMORY_ALLOCATION = 207001
ACL_ERROR_RT_INTERNAL_ERROR = 507000
ACL_ERROR_RT_SOC_VERSION = 507008
ACL_ERROR_RT_INVALID_HANDLE = 107017
ACL_ERROR_RT_PARAM_INVALID = 107000
ACL_ERROR_RT_STREAM_CONTEXT = 107003
ACL_ERROR_RT_STREAM_SUBSCRIBE = 107011
ACL_ERROR_RT_THREAD_SUBSCRIBE = 107012
ACL_ERROR_RT_STREAM_NO_CB_REG = 107015
ACL_ERROR_RT_REPORT_TIMEOUT = 507012
ACL_ERROR_RT_STREAM_SYNC_TIMEOUT = 507046
ACL_ERROR_RT_EVENT_SYNC_TIMEOUT = 507047
ACL_ERROR_FEATURE_UNSUPPORTED = 200006
ACL_ERROR_BAD_ALLOC = 200000
ACL_ERROR_GE_FAILURE = 500002
ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID = 145012
ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID = 145013
ACL_ERROR_RT_EVENT_TIMESTAMP_INVALID = 107006
ACL_ERROR_RT_FEATURE_NOT_SUPPORT = 207000
ACL_ERROR_RT_MODEL_EXECUTE = 507011
