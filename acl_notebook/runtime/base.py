"""The one interface both backends implement.

Each method is a thin, faithful image of one or two ACL calls, so the session above can
follow ACL's rules (same context for load / query / unload, pre-check before load) without
knowing which backend it drives. Failures are `AclError` with ACL's own codes.

Model bytes arrive as a 1-D, C-contiguous ``memoryview`` of unsigned bytes (possibly
read-only); a backend must not copy it (the `acl` backend passes its address to C, the
simulator parses it in place).

Execution speaks C's language on purpose: pointers, data buffers, datasets, streams and
model descs are plain ``int`` handles (0 is NULL), so the session and a pyACL-style layer
can drive either backend with ACL's own call sequence and get ACL's own codes back. The
facts are in shared/docs/acl-execute.md.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..om.model import DynamicInfo, TensorDesc


class RunMode(enum.IntEnum):
    """aclrtRunMode: where the application runs relative to the NPU."""

    DEVICE = 0  # RC form: the app runs on the board's own CPU
    HOST = 1  # EP form: a PCIe card in a host server


class MemAttr(enum.IntEnum):
    """aclrtMemAttr (the subset we query)."""

    DDR = 0
    HBM = 1
    DDR_HUGE = 2
    DDR_NORMAL = 3
    HBM_HUGE = 4
    HBM_NORMAL = 5


class MemcpyKind(enum.IntEnum):
    """aclrtMemcpyKind. aclrtMemcpy accepts 0-5; 6 and 7 belong to other copy APIs."""

    HOST_TO_HOST = 0
    HOST_TO_DEVICE = 1
    DEVICE_TO_HOST = 2
    DEVICE_TO_DEVICE = 3
    DEFAULT = 4
    HOST_TO_BUF_TO_DEVICE = 5
    INNER_DEVICE_TO_DEVICE = 6
    INTER_DEVICE_TO_DEVICE = 7


class MallocPolicy(enum.IntEnum):
    """aclrtMemMallocPolicy (flag bits 0x100, 0x1000, 0x100000 may be OR-ed in)."""

    HUGE_FIRST = 0
    HUGE_ONLY = 1
    NORMAL_ONLY = 2
    HUGE_FIRST_P2P = 3
    HUGE_ONLY_P2P = 4
    NORMAL_ONLY_P2P = 5
    HUGE1G_ONLY = 6
    HUGE1G_ONLY_P2P = 7


#: The flag bits aclrtMalloc's policy may carry besides the policy itself.
MALLOC_FLAG_BITS = 0x100 | 0x1000 | 0x100000


def malloc_charge(size: int, policy: int = 0, padding: int = 32) -> int:
    """Bytes aclrtMalloc really takes for `size`: rounded up to 32 plus a padding, except
    for the two HUGE1G policies (32-byte rounding only). A policy outside 0-7 falls back to
    the default, as the runtime does (acl-execute.md §2)."""
    base = int(policy) & ~MALLOC_FLAG_BITS
    if base in (MallocPolicy.HUGE1G_ONLY, MallocPolicy.HUGE1G_ONLY_P2P):
        return (size + 31) // 32 * 32
    return (size + 32 + padding - 1) // 32 * 32


@dataclass(frozen=True)
class ExecutionReport:
    """How the simulator computed the outputs of its last aclmdlExecute.

    `fidelity` is ``"placeholder"`` while the values are deterministic functions of the
    inputs (not the model's arithmetic); a real interpreter reports something else.
    """

    fidelity: str
    notes: tuple[str, ...] = ()
    model_id: int = 0
    gear: Optional[tuple[int, ...]] = None


# aclmdlConfigAttr values we set, and the load types for "from memory".
MDL_PRIORITY_INT32 = 0
MDL_LOAD_TYPE_SIZET = 1
MDL_MEM_ADDR_PTR = 3
MDL_MEM_SIZET = 4
MDL_WEIGHT_ADDR_PTR = 5
MDL_WEIGHT_SIZET = 6
MDL_WORKSPACE_ADDR_PTR = 7
MDL_WORKSPACE_SIZET = 8
MDL_LOAD_FROM_MEM = 3
MDL_LOAD_FROM_MEM_WITH_MEM = 4


@dataclass(frozen=True)
class ModelDesc:
    """What `aclmdlGetDesc` and its getters say about a model."""

    inputs: tuple[TensorDesc, ...]
    outputs: tuple[TensorDesc, ...]
    dynamic: DynamicInfo = field(default_factory=DynamicInfo)


@dataclass(frozen=True)
class Versions:
    """Version strings a backend can report; empty where the library cannot say."""

    acl_api: str = ""  # aclrtGetVersion, e.g. "1.17.0"
    cann: str = ""  # aclsysGetVersionStr("CANN") or the install's version file
    driver: str = ""


@dataclass(frozen=True)
class Utilization:
    """aclrtGetDeviceUtilizationRate for one device, in percent; None where ACL says -1
    (not measurable there: no Vector unit on Atlas 200/300/500 inference and training
    products, never memory in current CANN)."""

    cube: Optional[int] = None  # AI Core (Cube)
    vector: Optional[int] = None
    aicpu: Optional[int] = None

    @property
    def known(self) -> bool:
        return any(v is not None for v in (self.cube, self.vector, self.aicpu))


class Backend(ABC):
    """A driver for one AscendCL implementation (real library or simulator)."""

    #: ``"acl"`` or ``"sim"``
    kind: str = ""
    #: path of the loaded library, or ``"(embedded simulator)"``
    library: str = ""

    # -- process ----------------------------------------------------------------------
    @abstractmethod
    def init(self) -> bool:
        """aclInit(NULL). True if this call initialised ACL, False if it already was
        (ACL_ERROR_REPEAT_INITIALIZE is not an error for us)."""

    @abstractmethod
    def finalize(self) -> None:
        """aclFinalize()."""

    @abstractmethod
    def versions(self) -> Versions: ...

    @abstractmethod
    def run_mode(self) -> RunMode:
        """aclrtGetRunMode()."""

    @abstractmethod
    def soc_name(self) -> str:
        """aclrtGetSocName() (needs a device set); "" when unknown."""

    # -- devices and contexts -----------------------------------------------------------
    @abstractmethod
    def device_count(self) -> int:
        """aclrtGetDeviceCount()."""

    @abstractmethod
    def set_device(self, device: int) -> None: ...

    @abstractmethod
    def reset_device(self, device: int) -> None: ...

    @abstractmethod
    def create_context(self, device: int) -> int:
        """aclrtCreateContext(); returns an opaque handle (an address for `acl`). The new
        context becomes current on the calling thread."""

    @abstractmethod
    def destroy_context(self, context: int) -> None: ...

    @abstractmethod
    def set_current_context(self, context: int) -> None:
        """aclrtSetCurrentContext(): binds the context to the calling thread."""

    @abstractmethod
    def get_current_context(self) -> Optional[int]:
        """aclrtGetCurrentContext(); None when the thread has none."""

    @abstractmethod
    def get_device(self) -> int:
        """aclrtGetDevice(): the device of the calling thread's current context (107002
        when the thread has none)."""

    @abstractmethod
    def mem_info(self, attr: MemAttr) -> tuple[int, int]:
        """aclrtGetMemInfo(attr) for the current context's device: (free, total) bytes."""

    def utilization(self, device: int) -> Optional[Utilization]:
        """aclrtGetDeviceUtilizationRate(device); None when this ACL cannot say (the symbol
        is missing on older CANN). Not abstract: a backend without it simply has no row."""
        return None

    def stream_priority_range(self) -> Optional[tuple[int, int]]:
        """aclrtDeviceGetStreamPriorityRange(): (least, greatest) stream priority, the range
        aclrtCreateStreamWithConfig takes; None when this ACL cannot say (older CANN has no
        such symbol). Not abstract, for the same reason as `utilization`."""
        return None

    # -- models ---------------------------------------------------------------------------
    def adopt_parse(self, parsed: Any) -> None:
        """Offer the session's parse (`om.reader.ParsedModel`) of a buffer it is about to
        query and load, so a backend that parses in Python need not parse again; None ends
        the offer. A backend may use it only for a buffer it `matches`. The real runtime
        parses in C: no-op."""
        del parsed

    @abstractmethod
    def query_size(self, model: memoryview) -> tuple[int, int]:
        """aclmdlQuerySizeFromMem(): (work size, weight size) in bytes."""

    @abstractmethod
    def load_from_mem(self, model: memoryview) -> int:
        """aclmdlLoadFromMem(); returns the model id."""

    @abstractmethod
    def load_with_config(self, model: memoryview, priority: Optional[int] = None, work: int = 0,
                         work_size: int = 0, weight: int = 0, weight_size: int = 0) -> int:
        """aclmdlCreateConfigHandle + aclmdlSetConfigOpt(LOAD_TYPE=FROM_MEM, MEM_ADDR,
        MEM_SIZE[, PRIORITY]) + aclmdlLoadWithConfig; the handle is always destroyed.
        With `work` or `weight` (device pointers, as for `load_with_mem`) the load type is
        FROM_MEM_WITH_MEM and WORKSPACE_ADDR/SIZE, WEIGHT_ADDR/SIZE carry them: the pyACL
        image's config loads that supply their own memory."""

    def load_with_mem(self, model: memoryview, work: int, work_size: int, weight: int, weight_size: int) -> int:
        """aclmdlLoadFromMemWithMem(): the caller supplies the work and / or weight memory
        (device pointers from `malloc`; 0 lets ACL allocate that part), which the model then
        does not take from the device again. Backends that cannot say ACL_ERROR_API_NOT_SUPPORT."""
        from .errors import AclError

        raise AclError(200001, "aclmdlLoadFromMemWithMem", f"the {self.kind} backend cannot load into caller memory")

    @abstractmethod
    def get_desc(self, model_id: int) -> ModelDesc:
        """aclmdlCreateDesc + aclmdlGetDesc + getters + aclmdlDestroyDesc."""

    @abstractmethod
    def get_desc_from_mem(self, model: memoryview) -> ModelDesc:
        """aclmdlCreateDesc + aclmdlGetDescFromMem + getters + aclmdlDestroyDesc: what a
        model's bytes say about it without loading them (model inspectors ask this)."""

    @abstractmethod
    def unload(self, model_id: int) -> None:
        """aclmdlUnload()."""

    # -- device and host memory (acl-execute.md §2) ---------------------------------------
    @abstractmethod
    def malloc(self, size: int, policy: int = MallocPolicy.HUGE_FIRST) -> int:
        """aclrtMalloc(): a device pointer; 32-byte rounding plus padding is charged."""

    @abstractmethod
    def free(self, ptr: int) -> None:
        """aclrtFree()."""

    @abstractmethod
    def malloc_host(self, size: int) -> int:
        """aclrtMallocHost(): page-locked host memory in EP, device memory in RC."""

    @abstractmethod
    def free_host(self, ptr: int) -> None:
        """aclrtFreeHost()."""

    @abstractmethod
    def memcpy(self, dst: int, dest_max: int, src: int, count: int, kind: int) -> None:
        """aclrtMemcpy() (synchronous), with ACL's order of checks."""

    @abstractmethod
    def memset(self, ptr: int, max_count: int, value: int, count: int) -> None:
        """aclrtMemset()."""

    @abstractmethod
    def memcpy_async(self, dst: int, dest_max: int, src: int, count: int, kind: int, stream: int) -> None:
        """aclrtMemcpyAsync(): checks now, copies when `stream` (0: the default stream) reaches
        it; the caller synchronizes before it uses the destination."""

    @abstractmethod
    def memset_async(self, ptr: int, max_count: int, value: int, count: int, stream: int) -> None:
        """aclrtMemsetAsync(): host memory is set at once, device memory when `stream` (0: the
        default stream) reaches the fill; the caller synchronizes before it reads it."""

    @abstractmethod
    def malloc_cached(self, size: int, policy: int = MallocPolicy.HUGE_FIRST) -> int:
        """aclrtMallocCached(): device memory the host may cache, charged as `malloc` charges
        it and freed with `free`; the caller keeps the caches coherent (`mem_flush`)."""

    @abstractmethod
    def mem_flush(self, ptr: int, size: int) -> None:
        """aclrtMemFlush(): write the cached lines of ``[ptr, ptr + size)`` back to memory."""

    @abstractmethod
    def mem_invalidate(self, ptr: int, size: int) -> None:
        """aclrtMemInvalidate(): drop the cached lines of ``[ptr, ptr + size)``."""

    # -- streams ---------------------------------------------------------------------------
    @abstractmethod
    def create_stream(self) -> int:
        """aclrtCreateStream() in the current context."""

    @abstractmethod
    def create_stream_with_config(self, priority: int, flag: int) -> int:
        """aclrtCreateStreamWithConfig(): a stream like `create_stream`'s with a priority (0
        highest, 7 lowest; a larger one is taken as 7) and ACL_STREAM_* flag bits (FAST_LAUNCH
        0x1, FAST_SYNC 0x2, ...), which change how fast work is issued, not what it does."""

    @abstractmethod
    def destroy_stream(self, stream: int) -> None:
        """aclrtDestroyStream(); waits for the stream's queued work first."""

    @abstractmethod
    def synchronize_stream(self, stream: int) -> None:
        """aclrtSynchronizeStream(); 0 is the current context's default stream. Only after it
        are the outputs of `execute_async` on that stream final."""

    @abstractmethod
    def synchronize_stream_with_timeout(self, stream: int, timeout: int) -> None:
        """aclrtSynchronizeStreamWithTimeout(): as `synchronize_stream`, giving up after
        `timeout` ms (-1: never); a timeout below -1 is 107000, one that expires 507046."""

    # -- host callbacks on a stream (acl_rt.h; the simulator's model: sim_reports.py) -------
    @abstractmethod
    def subscribe_report(self, thread_id: int, stream: int) -> None:
        """aclrtSubscribeReport(): callbacks launched on `stream` (0: the current context's
        default stream) run on thread `thread_id` (a ``threading.get_ident()``, pthread_t)."""

    @abstractmethod
    def unsubscribe_report(self, thread_id: int, stream: int) -> None:
        """aclrtUnSubscribeReport(); waits for the callbacks the stream has posted to run."""

    @abstractmethod
    def launch_callback(self, fn: Callable[[], None], block_type: int, stream: int) -> None:
        """aclrtLaunchCallback(): queue a call of `fn` on `stream`, made by the subscribed
        thread's `process_report` once the work before it has run. `block_type` 1 holds the
        stream's later work until `fn` returns; 0 does not; anything else is 100000."""

    @abstractmethod
    def process_report(self, timeout: int) -> None:
        """aclrtProcessReport(timeout ms, -1 forever): on a subscribed thread, run the callbacks
        that are ready, waiting up to `timeout` for one (507012 when none came). An exception a
        callback raised is raised here, after the call."""

    # -- events (acl-execute.md §3; the simulator's model of completion is in sim_events) ------
    @abstractmethod
    def create_event(self, flag: Optional[int] = None, extended: bool = False) -> int:
        """aclrtCreateEvent (no flag), aclrtCreateEventWithFlag, or aclrtCreateEventExWithFlag
        (`extended`), in the current context. Flags: SYNC 0x1, CAPTURE_STREAM_PROGRESS 0x2,
        TIME_LINE 0x8 (only a TIME_LINE event takes timestamps)."""

    @abstractmethod
    def destroy_event(self, event: int) -> None:
        """aclrtDestroyEvent()."""

    @abstractmethod
    def record_event(self, event: int, stream: int) -> None:
        """aclrtRecordEvent(): a task on `stream` (0: the default stream) that marks everything
        launched on it before."""

    @abstractmethod
    def reset_event(self, event: int, stream: int) -> None:
        """aclrtResetEvent(): a task on `stream` that clears the event's record."""

    @abstractmethod
    def synchronize_event(self, event: int) -> None:
        """aclrtSynchronizeEvent(): returns once the event's latest record is done."""

    @abstractmethod
    def synchronize_event_with_timeout(self, event: int, timeout: int) -> None:
        """aclrtSynchronizeEventWithTimeout(): as `synchronize_event`, giving up after `timeout`
        ms (-1: never); a timeout below -1 is 107000 (checked before the event), one that
        expires 507047 (ACL_ERROR_RT_EVENT_SYNC_TIMEOUT)."""

    @abstractmethod
    def query_event_status(self, event: int) -> bool:
        """aclrtQueryEventStatus(): True for ACL_EVENT_RECORDED_STATUS_COMPLETE (1), False for
        NOT_READY (0: never recorded, reset, or not yet reached)."""

    @abstractmethod
    def query_event(self, event: int) -> int:
        """The deprecated aclrtQueryEvent(): aclrtEventStatus 1 (NOT_READY) while the event's
        latest record is launched and not yet reached, else 0 (COMPLETE: reached, or never
        recorded; the runtime's Event::Query), observed as `query_event_status` observes."""

    @abstractmethod
    def query_event_wait_status(self, event: int) -> int:
        """aclrtQueryEventWaitStatus(): aclrtEventWaitStatus 0 (COMPLETE: every stream that
        waits on the event has got past its wait, or none waits) or 1 (NOT_READY)."""

    @abstractmethod
    def event_elapsed_time(self, start: int, end: int) -> float:
        """aclrtEventElapsedTime(): milliseconds from `start`'s record to `end`'s."""

    @abstractmethod
    def stream_wait_event(self, stream: int, event: int) -> None:
        """aclrtStreamWaitEvent(): work launched on `stream` after this waits for the event."""

    # -- data buffers and datasets ---------------------------------------------------------
    @abstractmethod
    def create_data_buffer(self, data: int, size: int) -> int:
        """aclCreateDataBuffer(): validates nothing; 0 only when out of memory."""

    @abstractmethod
    def destroy_data_buffer(self, buffer: int) -> None:
        """aclDestroyDataBuffer(): frees the descriptor, never the data."""

    @abstractmethod
    def data_buffer_addr(self, buffer: int) -> int:
        """aclGetDataBufferAddr(); 0 for a NULL buffer."""

    @abstractmethod
    def data_buffer_size(self, buffer: int) -> int:
        """aclGetDataBufferSizeV2(); 0 for a NULL buffer."""

    @abstractmethod
    def update_data_buffer(self, buffer: int, data: int, size: int) -> None:
        """aclUpdateDataBuffer()."""

    @abstractmethod
    def create_dataset(self) -> int:
        """aclmdlCreateDataset()."""

    @abstractmethod
    def destroy_dataset(self, dataset: int) -> None:
        """aclmdlDestroyDataset(): frees the dataset, not its data buffers."""

    @abstractmethod
    def add_dataset_buffer(self, dataset: int, buffer: int) -> None:
        """aclmdlAddDatasetBuffer() (appends)."""

    @abstractmethod
    def dataset_num_buffers(self, dataset: int) -> int:
        """aclmdlGetDatasetNumBuffers(); 0 for NULL."""

    @abstractmethod
    def dataset_buffer(self, dataset: int, index: int) -> int:
        """aclmdlGetDatasetBuffer(); 0 for NULL or an index past the end."""

    # -- tensor descs (acl_base.h) and a dataset's per-entry descs (acl_mdl.h) ----------------
    @abstractmethod
    def create_tensor_desc(self, dtype: int, dims: Sequence[int], fmt: int) -> int:
        """aclCreateTensorDesc(): a desc holding these values as given (ACL checks none); 0
        when ACL returns NULL."""

    @abstractmethod
    def destroy_tensor_desc(self, desc: int) -> None:
        """aclDestroyTensorDesc() (returns nothing; NULL is a no-op)."""

    @abstractmethod
    def tensor_desc_type(self, desc: int) -> int:
        """aclGetTensorDescType(); ACL_DT_UNDEFINED (-1) for NULL."""

    @abstractmethod
    def tensor_desc_format(self, desc: int) -> int:
        """aclGetTensorDescFormat(); ACL_FORMAT_UNDEFINED (-1) for NULL."""

    @abstractmethod
    def tensor_desc_num_dims(self, desc: int) -> int:
        """aclGetTensorDescNumDims(); ACL_UNKNOWN_RANK when the first dim is -2, 0 for NULL."""

    @abstractmethod
    def tensor_desc_dim(self, desc: int, index: int) -> int:
        """aclGetTensorDescDimV2(): dim `index`; NULL or an index past the dims is 100000."""

    @abstractmethod
    def tensor_desc_element_count(self, desc: int) -> int:
        """aclGetTensorDescElementCount(): 1 for no dims, 0 for NULL, a negative dim or overflow."""

    @abstractmethod
    def tensor_desc_size(self, desc: int) -> int:
        """aclGetTensorDescSize(): element count times the data type's size (0 for NULL)."""

    @abstractmethod
    def tensor_desc_name(self, desc: int) -> str:
        """aclGetTensorDescName(); "" for NULL."""

    @abstractmethod
    def set_tensor_desc_name(self, desc: int, name: Optional[str]) -> None:
        """aclSetTensorDescName(); None sets "", NULL desc is ignored."""

    @abstractmethod
    def set_dataset_tensor_desc(self, dataset: int, desc: int, index: int) -> None:
        """aclmdlSetDatasetTensorDesc(): entry `index` keeps its own copy of `desc` (0 drops
        it); NULL dataset or an index past the entries is 100000. A model executed with any
        input entry so described gives every output entry a fresh, empty desc (ACL's
        ModelExecute; a shape-range model's runtime would fill in the real shapes)."""

    @abstractmethod
    def dataset_tensor_desc(self, dataset: int, index: int) -> int:
        """aclmdlGetDatasetTensorDesc(): the entry's own desc, 0 for none, NULL or a bad index."""

    # -- execution -------------------------------------------------------------------------
    @abstractmethod
    def execute(self, model_id: int, inputs: int, outputs: int) -> None:
        """aclmdlExecute() (synchronous)."""

    @abstractmethod
    def execute_async(self, model_id: int, inputs: int, outputs: int, stream: int) -> None:
        """aclmdlExecuteAsync(): checks now, runs later; the caller synchronizes `stream` before
        it reads the outputs (before that they may still hold their previous contents)."""

    @abstractmethod
    def set_dynamic_batch_size(self, model_id: int, dataset: int, index: int, batch: int) -> None:
        """aclmdlSetDynamicBatchSize()."""

    @abstractmethod
    def set_dynamic_hw_size(self, model_id: int, dataset: int, index: int, height: int, width: int) -> None:
        """aclmdlSetDynamicHWSize()."""

    @abstractmethod
    def set_input_dynamic_dims(self, model_id: int, dataset: int, index: int, dims: Sequence[int]) -> None:
        """aclmdlSetInputDynamicDims(); `dims` is every input's dims concatenated in shape order."""

    # -- a live model desc (the getters that need one while running) ----------------------
    @abstractmethod
    def create_desc(self, model_id: int) -> int:
        """aclmdlCreateDesc + aclmdlGetDesc(model_id): a desc handle to keep while running."""

    @abstractmethod
    def destroy_desc(self, desc: int) -> None:
        """aclmdlDestroyDesc()."""

    @abstractmethod
    def cur_output_dims(self, desc: int, index: int) -> tuple[int, ...]:
        """aclmdlGetCurOutputDims(): output `index`'s dims at the model's current gear."""

    @abstractmethod
    def input_index_by_name(self, desc: int, name: str) -> int:
        """aclmdlGetInputIndexByName(); a name the model lacks is 100000."""

    def last_execution(self) -> Optional[ExecutionReport]:
        """How the last execute computed its outputs; None on real hardware (`acl`)."""
        return None

    def set_next_override(self, model_id: int, override: Optional[dict]) -> None:
        """Simulator only: op outputs the next execute of `model_id` on this thread must use.

        The NPU computes every op itself, so real hardware has nothing to take them."""
        raise NotImplementedError("override= needs the simulator: the NPU computes every op itself")

    def reference_of(self, model_id: int) -> Any:
        """Simulator only: the CPU reference it computes `model_id` with (an object with
        ``interpreter()`` and ``problem``); None elsewhere."""
        return None
