"""An AscendCL simulator: ACL's semantics and error codes with no NPU.

It is the spec the `acl` backend is held to (the same behavioural tests run on both). What
it copies from ACL (see shared/docs/acl-api.md §5-§6):

- aclInit once per process (again: REPEAT_INITIALIZE), aclFinalize once (again:
  REPEAT_FINALIZE); model calls before aclInit fail with GE_EXEC_NOT_INIT.
- the current context is per thread; a thread without one gets RT_CONTEXT_NULL.
- model bytes are validated like GE's ModelParserBase (size, magic, header length), then
  parsed for real (once per load: the session's parse is reused while the buffer still
  holds the bytes it was made from); models built for another SoC family are refused (RT_SOC_VERSION).
- real hardware has one SoC; the simulator may be created with ``soc="auto"``, and then
  the first model that names a SoC, while no other model that names one is loaded, makes
  the simulated device that SoC (a simulator convenience, said to the user by the
  session). From then on the family rule above applies as on a real device.
- each loaded model is charged its work + weight memory on its device; a load that does
  not fit fails with RT_MEMORY_ALLOCATION and changes nothing.
- model ids start at 1, are process-wide and never reused; unloading an unknown id gives
  GE_EXEC_MODEL_ID_INVALID; unloading from another context gives RT_MODEL_CONTEXT.
- memory, streams, data buffers, datasets and execution: see `sim_exec` (their checks and
  codes), `sim_streams` (a stream's queue of tasks), `sim_events` (events and the model of
  when stream work completes) and `sim_memory` (the validated device address space); output
  values come from `sim_outputs`, the one seam an interpreter replaces; host callbacks on a
  stream: see `sim_reports`; tensor descs and a dataset's entry descs: see `sim_tensors`.
"""

from __future__ import annotations

import itertools
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional

from ..hostbuf import read_view
from ..om.errors import OMFormatError
from ..om.model import ModelInfo
from . import errors as E
from . import gears as G
from . import sim_outputs
from .base import Backend, MemAttr, ModelDesc, RunMode, Utilization, Versions
from .cvalues import ENUM, MEMORY, POINTER, SIZE_T, c_value
from .errors import AclError
from .sim_events import EventsMixin
from .sim_exec import ExecutionMixin
from .sim_reports import ReportsMixin
from .sim_streams import default_key
from .sim_tensors import TensorDescsMixin
from .socs import (
    AUTO,
    DEFAULT_SOC,
    FALLBACK_SOC,
    MAX_DEVICES,
    SocProfile,
    get_profile,
    measures_vector,
    profile_for_model,
    soc_family,
)

if TYPE_CHECKING:
    from ..om.reader import ParsedModel

_MAGIC = b"IMOD"
#: The stream priorities (aclrtDeviceGetStreamPriorityRange: greatest 0 to least 7), which
#: aclmdlSetConfigOpt's PRIORITY_INT32 must be in when the option is set
_LOAD_PRIORITIES = range(0, 8)
_HEADER = 256
#: Seconds over which utilisation is averaged (npu-smi also reports a recent average).
UTIL_WINDOW_S = 1.0


@dataclass
class _Context:
    handle: int
    device: int


@dataclass
class _Loaded:
    info: ModelInfo
    device: int
    context: int
    charge: int
    state: sim_outputs.ModelState
    current_gear: Optional[tuple[int, ...]] = None  # model-wide, set by the gear set calls


class SimulatedDevice:
    """Memory book-keeping for one simulated NPU."""

    def __init__(self, profile: SocProfile, total: Optional[int]) -> None:
        self.total = int(total) if total is not None else profile.total
        self.idle_used = min(profile.idle_used, self.total // 8) if total is not None else profile.idle_used
        self.charged = 0
        # (start, end) of recent model runs, time.monotonic(); model execution records them
        self.runs: deque[tuple[float, float]] = deque(maxlen=4096)

    @property
    def free(self) -> int:
        return max(self.total - self.idle_used - self.charged, 0)

    def record_run(self, start: float, end: float) -> None:
        """Note that the AI Cores were busy from `start` to `end` (time.monotonic())."""
        if end > start:
            self.runs.append((start, end))

    def busy_percent(self, now: float, window: float = UTIL_WINDOW_S) -> int:
        """Share of the last `window` seconds spent running models, as ACL reports it (0-100)."""
        begin = now - window
        busy = sum(max(0.0, min(end, now) - max(start, begin)) for start, end in self.runs if end > begin)
        return int(round(100 * min(busy, window) / window))


class SimulatorBackend(ExecutionMixin, ReportsMixin, EventsMixin, TensorDescsMixin, Backend):
    """The embedded default backend; see the module docstring for what it guarantees."""

    kind = "sim"
    library = "(embedded simulator)"

    def __init__(self, soc: str = DEFAULT_SOC, memory: Optional[int] = None, devices: Optional[int] = None):
        #: True while the SoC follows the models (``soc="auto"``); see `adopted_by`.
        self.auto = soc == AUTO
        self.profile = get_profile(FALLBACK_SOC if self.auto else soc)
        #: The id of the loaded model whose SoC an `auto` simulator took, if any.
        self.adopted_by: Optional[int] = None
        count = devices if devices is not None else self.profile.devices
        if not 1 <= count <= MAX_DEVICES:
            raise ValueError(f"devices must be 1 to {MAX_DEVICES}, got {count}")
        if memory is not None and memory <= 0:
            raise ValueError(f"memory must be a positive number of bytes, got {memory}")
        self._memory = memory
        self.devices = [SimulatedDevice(self.profile, memory) for _ in range(count)]
        self._lock = threading.RLock()
        self._local = threading.local()
        self._initialised = False
        self._finalized = False
        self._contexts: dict[int, _Context] = {}
        self._default_contexts: dict[int, int] = {}
        self._handles = itertools.count(0x5100)
        self._ids = itertools.count(1)
        self._models: dict[int, _Loaded] = {}
        self._init_execution()
        self._init_reports()
        self._init_events()
        self._init_tensor_descs()

    # -- helpers ----------------------------------------------------------------------
    def _fail(self, code: int, call: str, detail: str = "") -> AclError:
        return AclError(code, call, detail)

    def _need_init(self, call: str, code: int = E.ACL_ERROR_UNINITIALIZE) -> None:
        if not self._initialised:
            raise self._fail(code, call, "aclInit has not been called")

    def _current(self, call: str) -> _Context:
        handle = getattr(self._local, "context", None)
        ctx = self._contexts.get(handle) if handle is not None else None
        if ctx is None:
            raise self._fail(E.ACL_ERROR_RT_CONTEXT_NULL, call, "no current context on this thread")
        return ctx

    def get_device(self) -> int:
        return self._current("aclrtGetDevice").device

    def _check_device(self, device: int, call: str) -> None:
        if not 0 <= device < len(self.devices):
            raise self._fail(
                E.ACL_ERROR_RT_INVALID_DEVICEID, call,
                f"device {device} does not exist (valid: 0..{len(self.devices) - 1})",
            )

    def adopt_parse(self, parsed: Optional[ParsedModel]) -> None:
        # Per thread: the offer is for the offering thread's own query and load, never for a
        # program's load on another thread that happens to run meanwhile.
        self._local.handed = parsed
        self._local.checked = None  # the handed parse whose bytes passed GE's header checks

    def _parse(self, model: memoryview, call: str) -> tuple[ModelInfo, Optional[ParsedModel]]:
        """Validate like GE's ModelParserBase, then parse with our reader (or reuse the parse
        the session handed over, when the buffer still holds the bytes it was made from).
        Returns the info and, when it was reused, that parse."""
        size = model.nbytes
        if size == 0:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "model buffer is empty")
        handed = getattr(self._local, "handed", None)
        if handed is not None and handed.matches(model):
            if handed is not self._local.checked:  # once per handed parse: the bytes are the same
                self._check_header(handed.head(_HEADER), size, call)
                self._local.checked = handed
            return handed.info, handed
        self._check_header(read_view(model, 0, _HEADER), size, call)  # no SIGBUS from a shrunk file
        from ..om.reader import parse

        try:
            return parse(model), None
        except OMFormatError as exc:
            raise self._fail(E.ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED, call, str(exc)) from None
        except ValueError as exc:  # the buffer itself is unreadable (a mapping whose file shrank)
            raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID, call, str(exc)) from None

    def _check_header(self, head: Any, size: int, call: str) -> None:
        """GE's checks of the header (`head`: its first bytes, fewer if the buffer is shorter)."""
        if size < _HEADER or len(head) < _HEADER or bytes(head[:4]) != _MAGIC:
            raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID, call, "not an OM model buffer")
        # GE prefers the 64-bit model_length when set; in the oldest layout that area is
        # reserved and zero, so reading it for every header version is what GE does too.
        length, model_length = struct.unpack_from("<I", head, 0x4C)[0], struct.unpack_from("<Q", head, 0xB8)[0]
        if (model_length or length) != size - _HEADER:
            raise self._fail(
                E.ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID, call,
                f"header says {model_length or length} payload bytes, buffer has {size - _HEADER}",
            )

    # -- process ----------------------------------------------------------------------
    def init(self) -> bool:
        with self._lock:
            if self._initialised:
                return False
            self._initialised = True
            self._finalized = False
            return True

    def finalize(self) -> None:
        with self._lock:
            if self._finalized:
                raise self._fail(E.ACL_ERROR_REPEAT_FINALIZE, "aclFinalize")
            self._initialised = False
            self._finalized = True
            tasks = self._take(self._queues.keys())
        self._finish(tasks)  # the device finishes what it was given before it goes

    def versions(self) -> Versions:
        return Versions(acl_api="1.17.0", cann="simulated", driver="simulated")

    def run_mode(self) -> RunMode:
        self._need_init("aclrtGetRunMode")
        return self.profile.run_mode

    def soc_name(self) -> str:
        return self.profile.name if self._initialised else ""

    # -- devices and contexts -----------------------------------------------------------
    def device_count(self) -> int:
        self._need_init("aclrtGetDeviceCount")
        return len(self.devices)

    def set_device(self, device: int) -> None:
        with self._lock:
            self._need_init("aclrtSetDevice")
            self._check_device(device, "aclrtSetDevice")
            handle = self._default_contexts.get(device)
            if handle is None:
                handle = next(self._handles)
                self._contexts[handle] = _Context(handle, device)
                self._default_contexts[device] = handle
            self._local.context = handle

    def reset_device(self, device: int) -> None:
        with self._lock:
            self._need_init("aclrtResetDevice")
            self._check_device(device, "aclrtResetDevice")
            handle = self._default_contexts.pop(device, None)
            if handle is not None:
                self._contexts.pop(handle, None)
            on_device = {h for h, c in self._contexts.items() if c.device == device} | {handle}
            tasks = self._take(self._queues_of(on_device))
        self._finish(tasks)  # resetting a device waits for its queued work
        if handle is not None:
            self._forget_objects_of({handle})  # the default context's streams and events go with it

    def create_context(self, device: int) -> int:
        with self._lock:
            self._need_init("aclrtCreateContext")
            self._check_device(device, "aclrtCreateContext")
            handle = next(self._handles)
            self._contexts[handle] = _Context(handle, device)
            self._local.context = handle
            return handle

    def destroy_context(self, context: int) -> None:
        with self._lock:
            if self._contexts.pop(context, None) is None:
                raise self._fail(E.ACL_ERROR_RT_INVALID_HANDLE, "aclrtDestroyContext", "unknown context")
            if getattr(self._local, "context", None) == context:
                self._local.context = None
            tasks = self._take(self._queues_of({context}))
        self._finish(tasks)  # destroying a context waits for its streams' queued work
        self._forget_objects_of({context})

    def _forget_objects_of(self, contexts: set) -> None:
        """The streams, events and report subscriptions of destroyed contexts are gone, as in
        ACL: a later call naming one gets 107017 (unknown handle), not a context that is no more."""
        with self._lock:
            streams = [s for s, owner in self._streams.items() if owner in contexts]
            for stream in streams:
                del self._streams[stream]
            for key in streams + [default_key(c) for c in contexts]:
                self._stream_gone(key)  # unsubscribed, as aclrtDestroyStream leaves a stream
            for e in [e for e, ev in self._events.items() if ev.context in contexts]:
                del self._events[e]

    def set_current_context(self, context: int) -> None:
        with self._lock:
            if not context:  # ACL checks the argument before the runtime looks it up
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclrtSetCurrentContext", "context is NULL")
            if context not in self._contexts:
                raise self._fail(E.ACL_ERROR_RT_INVALID_HANDLE, "aclrtSetCurrentContext", "unknown context")
            self._local.context = context

    def get_current_context(self) -> Optional[int]:
        handle = getattr(self._local, "context", None)
        return handle if handle in self._contexts else None

    def mem_info(self, attr: MemAttr) -> tuple[int, int]:
        with self._lock:
            self._need_init("aclrtGetMemInfo")
            dev = self.devices[self._current("aclrtGetMemInfo").device]
            if type(attr) is not MemAttr:  # a plain int from a program: ACL refuses an unknown one
                number = c_value(attr, ENUM, "aclrtGetMemInfo", "attr")
                if number not in MemAttr._value2member_map_:
                    raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclrtGetMemInfo",
                                     f"attr {number} is not an aclrtMemAttr")
                attr = MemAttr(number)
            hbm_attr = attr in (MemAttr.HBM, MemAttr.HBM_HUGE, MemAttr.HBM_NORMAL)
            if self.profile.memory_kind == "HBM" and not hbm_attr:
                return 0, 0  # A2/A3 have no DDR pool for the device: ACL reports zeros
            # On DDR boards ACL silently redirects HBM queries to DDR.
            return dev.free, dev.total

    def stream_priority_range(self) -> Optional[tuple[int, int]]:
        self._need_init("aclrtDeviceGetStreamPriorityRange")
        return _LOAD_PRIORITIES[-1], _LOAD_PRIORITIES[0]  # 0 is the greatest priority

    def utilization(self, device: int) -> Optional[Utilization]:
        """Busy share of recent runs (idle: 0 %); Vector is -1 (None) on chips without one."""
        with self._lock:
            self._need_init("aclrtGetDeviceUtilizationRate")
            self._check_device(device, "aclrtGetDeviceUtilizationRate")
            busy = self.devices[device].busy_percent(time.monotonic())
            vector = busy if measures_vector(self.profile.name) else None
            return Utilization(cube=busy, vector=vector, aicpu=0)

    # -- models ---------------------------------------------------------------------------
    def _need_buffer(self, model: memoryview, call: str) -> None:
        # ACL checks the (pointer, size) arguments before anything else.
        if model.nbytes == 0:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "model buffer is empty")

    def query_size(self, model: memoryview) -> tuple[int, int]:
        self._need_buffer(model, "aclmdlQuerySizeFromMem")
        self._need_init("aclmdlQuerySizeFromMem", E.ACL_ERROR_GE_EXEC_NOT_INIT)
        info, _parsed = self._parse(model, "aclmdlQuerySizeFromMem")
        return info.memory.work, info.memory.weight

    def load_from_mem(self, model: memoryview) -> int:
        return self._load(model, "aclmdlLoadFromMem")

    def load_with_config(self, model: memoryview, priority: Optional[int] = None, work: int = 0,
                         work_size: int = 0, weight: int = 0, weight_size: int = 0) -> int:
        if priority is not None and int(priority) not in _LOAD_PRIORITIES:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclmdlSetConfigOpt",
                             f"priority {priority} is outside the stream priority range [0, 7] (0 is the greatest)")
        supplied = (work, work_size, weight, weight_size) if work or weight else None
        return self._load(model, "aclmdlLoadWithConfig", supplied)

    def load_with_mem(self, model: memoryview, work: int, work_size: int, weight: int, weight_size: int) -> int:
        return self._load(model, "aclmdlLoadFromMemWithMem", (work, work_size, weight, weight_size))

    def _load(self, model: memoryview, call: str, supplied: Optional[tuple[int, int, int, int]] = None) -> int:
        """`supplied`: (work, work size, weight, weight size) the caller gives (WithMem loads)."""
        work_ptr, work_size, weight_ptr, weight_size = supplied or (0, 0, 0, 0)
        for value, ctype, what, code in ((work_ptr, POINTER, "workPtr", MEMORY), (work_size, SIZE_T, "workSize", 0),
                                         (weight_ptr, POINTER, "weightPtr", MEMORY),
                                         (weight_size, SIZE_T, "weightSize", 0)):
            c_value(value or 0, ctype, call, what, code or E.ACL_ERROR_INVALID_PARAM)  # as the ctypes backend
        with self._lock:
            self._need_buffer(model, call)
            self._need_init(call, E.ACL_ERROR_GE_EXEC_NOT_INIT)
            ctx = self._current(call)
            for ptr, size, what in ((work_ptr, work_size, "workPtr"), (weight_ptr, weight_size, "weightPtr")):
                block = self.memory.find(ptr, size) if ptr else None
                if ptr and (block is None or block.host):
                    raise self._fail(107000, call, f"{what} 0x{ptr:x} + {size} bytes is not live device memory")
            info, parsed = self._parse(model, call)
            if (work_ptr and work_size < info.memory.work) or (weight_ptr and weight_size < info.memory.weight):
                raise self._fail(E.ACL_ERROR_GE_PARAM_INVALID, call,
                                 f"the model needs {info.memory.work} work and {info.memory.weight} weight bytes, "
                                 f"{work_size if work_ptr else '-'} / {weight_size if weight_ptr else '-'} given")
            adopt = self._adoption(info.soc_version, call)
            profile = adopt or self.profile
            if info.soc_version and soc_family(info.soc_version) != soc_family(profile.name):
                raise self._fail(
                    E.ACL_ERROR_RT_SOC_VERSION, call,
                    f"model soc {info.soc_version} does not match device soc {profile.name}",
                )
            devices = self._as(adopt) if adopt is not None else self.devices
            dev = devices[ctx.device]
            charge = (0 if work_ptr else info.memory.work) + (0 if weight_ptr else info.memory.weight)
            if charge > dev.free:
                raise self._fail(
                    E.ACL_ERROR_RT_MEMORY_ALLOCATION, call,
                    f"device {ctx.device} out of memory: need {charge} bytes, {dev.free} free",
                )
            state = sim_outputs.ModelState(info, sim_outputs.prepare(info, model, parsed))
            # Nothing changes before this point: a refused load leaves the device as it was.
            self.profile, self.devices = profile, devices
            self._profile_changed()
            model_id = next(self._ids)
            dev.charged += charge
            self._models[model_id] = _Loaded(info, ctx.device, ctx.handle, charge, state)
            if self.auto and self.adopted_by is None and info.soc_version:
                self.adopted_by = model_id
            return model_id

    def _adoption(self, soc: str, call: str) -> Optional[SocProfile]:
        """The profile an `auto` simulator becomes for a model built for `soc`, or None
        when it stays as it is (not auto, already decided, no SoC named, same SoC)."""
        if not (self.auto and self.adopted_by is None and soc) or soc == self.profile.name:
            return None
        profile = profile_for_model(soc)
        if profile is None:
            raise self._fail(
                E.ACL_ERROR_RT_SOC_VERSION, call,
                f"model soc {soc} is not a SoC the simulator can imitate (device soc {self.profile.name})",
            )
        for index, dev in enumerate(self.devices):
            after = SimulatedDevice(profile, self._memory)
            if dev.charged > after.free:
                raise self._fail(
                    E.ACL_ERROR_RT_SOC_VERSION, call,
                    f"model soc {soc}: the models already on device {index} would not fit a "
                    f"{profile.name} ({after.total} bytes); device soc stays {self.profile.name}",
                )
        return profile

    def _as(self, profile: SocProfile) -> list[SimulatedDevice]:
        """The simulated devices turned into `profile`, with what each has charged."""
        devices = []
        for old in self.devices:
            new = SimulatedDevice(profile, self._memory)
            new.charged = old.charged
            new.runs = old.runs
            devices.append(new)
        return devices

    def get_desc(self, model_id: int) -> ModelDesc:
        with self._lock:
            self._need_init("aclmdlGetDesc")
            loaded = self._models.get(model_id)
            if loaded is None:
                raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "aclmdlGetDesc", f"no model id {model_id}")
            info = loaded.info
            return ModelDesc(info.inputs, info.outputs, _as_acl_reports(info))

    def get_desc_from_mem(self, model: memoryview) -> ModelDesc:
        # GE's GetModelDescInfoFromMem: the same checks and parse as a load, nothing loaded
        self._need_buffer(model, "aclmdlGetDescFromMem")
        self._need_init("aclmdlGetDescFromMem")
        info, _parsed = self._parse(model, "aclmdlGetDescFromMem")
        return ModelDesc(info.inputs, info.outputs, _as_acl_reports(info))

    def unload(self, model_id: int) -> None:
        with self._lock:
            self._need_init("aclmdlUnload")
            ctx = self._current("aclmdlUnload")
            loaded = self._models.get(model_id)
            if loaded is None:
                raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "aclmdlUnload", f"model id {model_id}")
            if loaded.context != ctx.handle:
                raise self._fail(
                    E.ACL_ERROR_RT_MODEL_CONTEXT, "aclmdlUnload",
                    "the model was loaded in another context",
                )
            del self._models[model_id]
            self.devices[loaded.device].charged -= loaded.charge
            # What the model's CPU reference holds (the caller's bytes, or its file held open)
            # goes with its state: now, or when a run still queued on a stream has finished.
            if model_id == self.adopted_by:
                # The next model that names a SoC decides again, unless one still loaded
                # names a SoC (it keeps the device what it is).
                self.adopted_by = next((i for i, m in self._models.items() if m.info.soc_version), None)

    # -- introspection for tests and the panel -----------------------------------------
    def live_objects(self) -> dict[str, int]:
        with self._lock:
            return {**super().live_objects(), "events": len(self._events)}

    def loaded_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._models)


def _as_acl_reports(info: ModelInfo):
    """Our gears in ACL's vocabulary: a dims gear is every input's dims concatenated in shape
    order (what aclmdlGetInputDynamicDims returns), not only the -1 positions."""
    dyn = info.dynamic
    if dyn.kind != "dims":
        return dyn
    full = tuple(G.full_dims(info.inputs, dyn.shape_order, g) or g for g in dyn.gears)
    return replace(dyn, gears=full, shape_order=(), output_shapes=())
