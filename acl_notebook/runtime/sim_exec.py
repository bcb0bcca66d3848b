"""The simulator's execute path: memory, streams, data buffers, datasets, gears, aclmdlExecute.

A mixin of `SimulatorBackend` (it uses the backend's lock, init flag, current-context
lookup and loaded-model table), kept apart so that loading and running each stay one
readable file. Check orders and codes follow shared/docs/acl-execute.md:

- aclrtMalloc: NULL/0 size 100000, then context 107002, then out of memory 207001; the
  device is charged `malloc_charge` (32-byte rounding plus a 32-byte padding).
- aclrtMemcpy: count 0 is a no-op; NULL 100000; kind outside 0-5 100000; destMax 0 or
  count > destMax 107000; dst == src is a no-op; context 107002; then a pointer that is
  not where the kind says (a device side outside every live block, a device pointer used
  as host memory in EP) is the driver's "invalid value", 107000.
- aclmdlExecute: NULL datasets or entries 100000; init 145001; unknown model 145003;
  wrong buffer counts, or a static input/output more than 64 bytes short, 500002; context
  107002; another context 107004. A sync execute allocates outputs left with NULL data.
- the three set calls check and write the mbatch buffer as §7's table says, store the gear
  in the dataset and make it the model's current shape for aclmdlGetCurOutputDims.
- aclmdlExecuteAsync makes every check (and returns every code) at once, then queues the run
  on its stream; the run reads its inputs and writes its outputs when that stream is
  synchronized, as on a device, where a program that reads the outputs first may see their
  previous contents. What waits for a stream's queue, as ACL documents: aclrtSynchronizeStream
  (0: the context's default stream), aclrtDestroyStream (aclrtDestroyStreamForce would not
  wait), aclrtDestroyContext and aclrtResetDevice (the work of their streams), aclFinalize.
  A synchronous aclrtMemcpy or aclmdlExecute does not: they are not on the program's stream.
- a stream is a queue of tasks of several kinds (`sim_streams`): model runs, asynchronous
  copies, event records, resets and waits (`sim_events`), and whatever else is launched on it,
  performed strictly in launch order. The model of completion: stream work is done when the
  program waits for it (the calls above) or observes it (aclrtSynchronizeEvent,
  aclrtQueryEventStatus and aclrtEventElapsedTime perform the event's stream up to the event,
  in order, and no further); an event's timestamp is taken when the queue reaches it, so two
  events around an aclmdlExecuteAsync measure the simulated compute's real duration.
- aclrtMemcpyAsync (the runtime's order, which differs from aclrtMemcpy's): NULL 100000; kind
  outside 0-5 100000; count 0 or count > destMax 107000 (count 0 is no no-op here); context
  107002; unknown stream 107017, another context's 107003; a pointer not where the kind says
  107000; host to host in EP 207000 (RC boards copy it); dst == src is a no-op. A copy
  between ACL memory (aclrtMalloc / aclrtMallocHost blocks) is queued: it reads its source
  when the stream reaches it, so a program that forgets to synchronize reads stale bytes.
  One whose host side is pageable memory (a numpy array, bytes) is what current CANN turns
  into "synchronize the stream, then copy at once", and so does the simulator.
- aclrtMemsetAsync (ACL's NULL check, then the runtime's `Context::MemsetAsync`): NULL 100000;
  context 107002; the stream checks above; then where the memory lives decides. Host memory
  (aclrtMallocHost, or pageable) is set at once by the runtime's memset_s, which fails when
  count > maxCount (RT_ERROR_SEC_HANDLE: 507000 here, the runtime's internal-error code, an
  inference); device memory is filled through the stream (count 0 a no-op, count > maxCount
  207001, the runtime's RT_ERROR_MEMORY_ALLOCATION), so the bytes change when the stream gets
  there.

Output values come from `sim_outputs.compute` (the interpreter seam).
"""

from __future__ import annotations

import collections
import itertools
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from ..hostbuf import host_shortfall
from ..om.enums import tensor_size
from ..om.model import TensorDesc
from ..units import human_bytes
from . import errors as E
from . import gears as G
from . import sim_outputs
from .base import ExecutionReport, MemcpyKind, RunMode, malloc_charge
from .cvalues import (
    ENUM,
    HANDLE,
    INT32,
    INT64,
    MEMORY,
    POINTER,
    RT_VALUE,
    SIZE_T,
    UINT32,
    c_value,
    copy_args,
    fill_args,
)
from .errors import AclError
from .sim_memory import AddressSpace, Block, HostAccessError, host_view
from .sim_streams import CopyTask, FillTask, Queues, StreamTask, default_key, fill

_RT_PARAM_INVALID = E.ACL_ERROR_RT_PARAM_INVALID
_RT_STREAM_CONTEXT = E.ACL_ERROR_RT_STREAM_CONTEXT
_RT_FEATURE_NOT_SUPPORT = E.ACL_ERROR_RT_FEATURE_NOT_SUPPORT
_GE_FAILURE = E.ACL_ERROR_GE_FAILURE
_DYNAMIC_INPUT_LENGTH_INVALID = E.ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID
_DYNAMIC_BATCH_SIZE_INVALID = E.ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID
_RT_MODEL_EXECUTE = E.ACL_ERROR_RT_MODEL_EXECUTE
_GE_SIZE_SLACK = 64  # GE's kDataMemAlignSizeCompare


@dataclass
class _DataBuffer:
    data: int
    size: int


@dataclass
class _Dataset:
    buffers: list[int] = field(default_factory=list)
    gear: Optional[tuple[int, ...]] = None  # stored by the set calls


@dataclass
class _RunTask(StreamTask):
    """One queued model run: everything was checked at launch; only the values are left."""

    model_id: int
    state: Any
    in_views: list
    out_views: list
    gear: Optional[tuple[int, ...]]
    sizes: list
    device: int
    override: Optional[dict]

    def perform(self, backend: Any) -> None:
        backend._run(self)


@dataclass
class _Desc:
    model_id: int
    inputs: tuple[TensorDesc, ...]
    outputs: tuple[TensorDesc, ...]


class ExecutionMixin:
    """aclrt memory/stream calls and the aclmdl execute family for the simulator."""

    # provided by SimulatorBackend
    _lock: threading.RLock
    _holding: Any  # sim_reports: whether this thread runs a blocking callback of a stream
    _serve_posted_blocking: Any  # sim_reports: run a blocking callback posted to this thread
    _gate: Any  # sim_reports: the first blocking callback queued on a stream for another thread
    _wait_gate: Any  # sim_reports: post it and wait for it until a deadline
    _models: dict
    devices: list
    profile: Any
    _dataset_gone: Any  # sim_tensors: a destroyed dataset's entry descs go with it
    _outputs_described: Any  # sim_tensors: fresh output descs after a run with described inputs

    def _init_execution(self) -> None:
        rc = self.profile.run_mode == RunMode.DEVICE
        self.memory = AddressSpace(rc=rc)
        self._objects = itertools.count(0x7A000010, 16)
        self._buffers: dict[int, _DataBuffer] = {}
        self._datasets: dict[int, _Dataset] = {}
        self._streams: dict[int, int] = {}  # stream -> context
        # what each stream has been given and not yet done (runs, copies, event records ...)
        self._queues = Queues()
        # held while queued tasks are performed; re-entrant, because a task may wait for another
        # stream's work. Waiting on `_progress` (for a task another thread performs, or for a
        # blocking callback) lets go of it, so the streams can move meanwhile.
        self._draining = threading.RLock()
        self._progress = threading.Condition(self._draining)
        self._descs: dict[int, _Desc] = {}
        self._last = threading.local()
        #: calls made, by name, for tests that count copies and allocations
        self.calls: dict[str, int] = {}
        #: the last aclrtMemcpy calls, newest last: (dst, src, count, kind)
        self.memcpy_log: collections.deque = collections.deque(maxlen=16)

    def _profile_changed(self) -> None:
        """An `auto` simulator became another SoC: an RC board shares one memory."""
        rc = self.profile.run_mode == RunMode.DEVICE
        if rc != self.memory.rc and not self.memory.live():
            self.memory.rc = rc

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    # -- memory ---------------------------------------------------------------------------
    def malloc(self, size: int, policy: int = 0) -> int:
        return self._malloc("aclrtMalloc", size, policy)

    def malloc_cached(self, size: int, policy: int = 0) -> int:
        """aclrtMallocCached: the same checks, rounding and padding as aclrtMalloc (memory.cpp);
        the simulated device has no cache between host and device, so it is plain device memory."""
        return self._malloc("aclrtMallocCached", size, policy)

    def _malloc(self, call: str, size: int, policy: int) -> int:
        size, policy = c_value(size, SIZE_T, call, "size"), c_value(policy, ENUM, call, "policy")
        with self._lock:
            self._count(call)
            if size <= 0:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "size is 0")
            ctx = self._current(call)
            return self._allocate(ctx.device, size, policy, call).address

    def mem_flush(self, ptr: int, size: int) -> None:
        self._cache_op("aclrtMemFlush", ptr, size)

    def mem_invalidate(self, ptr: int, size: int) -> None:
        self._cache_op("aclrtMemInvalidate", ptr, size)

    def _cache_op(self, call: str, ptr: int, size: int) -> None:
        """aclrtMemFlush / aclrtMemInvalidate: NULL or size 0 is 100000 (ACL's checks); a range
        outside live device memory is the runtime's invalid value, 107000 [inf]. With nothing
        cached there is nothing to write back or drop."""
        ptr, size = c_value(ptr or 0, POINTER, call, "devPtr", MEMORY), c_value(size, SIZE_T, call, "size")
        with self._lock:
            if not ptr:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "devPtr is NULL")
            if size == 0:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "size must be greater than 0")
            self._device_side(ptr, size, call, strict=True)

    def _allocate(self, device: int, size: int, policy: int, call: str, host: bool = False) -> Block:
        dev = self.devices[device]
        charge = 0 if host else malloc_charge(size, policy)
        if charge > dev.free:
            raise self._fail(E.ACL_ERROR_RT_MEMORY_ALLOCATION, call,
                             f"device {device} out of memory: {charge} bytes asked, {dev.free} free")
        doing = "keeps device memory in this host's RAM, which cannot give {size}"
        self._need_host(size, call, doing)  # every simulated block is real memory of this host
        try:
            block = self.memory.allocate(size, charge, device, host=host)
        except MemoryError as exc:
            raise self._short_of_host(call, doing, size, str(exc) or "out of memory") from None
        dev.charged += charge
        return block

    def _need_host(self, size: int, call: str, doing: str) -> None:
        """207001 before the simulator takes `size` bytes of host RAM the host cannot give:
        filling them would get the process killed for memory, not a MemoryError. `doing`
        names `{size}`, formatted only for the refusal (this is on every execute's path)."""
        available = host_shortfall(size)
        if available is not None:
            raise self._short_of_host(call, doing, size, available.says())

    def _short_of_host(self, call: str, doing: str, size: int, why: str) -> AclError:
        text = doing.format(size=human_bytes(size))
        return self._fail(E.ACL_ERROR_RT_MEMORY_ALLOCATION, call, f"the simulator {text} now ({why})")

    def free(self, ptr: int) -> None:
        with self._lock:
            self._count("aclrtFree")
            if not ptr:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclrtFree", "devPtr is NULL")
            block = self.memory.find(ptr)
            if block is None or block.address != ptr or block.host:
                raise self._fail(_RT_PARAM_INVALID, "aclrtFree", f"0x{ptr:x} is not a live aclrtMalloc pointer")
            self.memory.release(ptr)
            self.devices[block.device].charged -= block.charge

    def malloc_host(self, size: int) -> int:
        size = c_value(size, SIZE_T, "aclrtMallocHost", "size")
        with self._lock:
            self._count("aclrtMallocHost")
            if size <= 0:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclrtMallocHost", "size is 0")
            ctx = self._current("aclrtMallocHost")
            if self.memory.rc:  # RC: host and device are one, so this is device memory
                return self._allocate(ctx.device, size, 0, "aclrtMallocHost").address
            return self._allocate(ctx.device, size, 0, "aclrtMallocHost", host=True).address

    def free_host(self, ptr: int) -> None:
        with self._lock:
            self._count("aclrtFreeHost")
            if not ptr:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclrtFreeHost", "hostPtr is NULL")
            block = self.memory.find(ptr)
            if block is None or block.address != ptr or (block.host == self.memory.rc):
                raise self._fail(_RT_PARAM_INVALID, "aclrtFreeHost", f"0x{ptr:x} is not a live aclrtMallocHost pointer")
            self.memory.release(ptr)
            self.devices[block.device].charged -= block.charge

    def _device_side(self, ptr: int, count: int, call: str, strict: bool = False) -> memoryview:
        """Device memory at `ptr`. On RC the board's host memory is device memory too (acllite
        copies numpy arrays with DEVICE_TO_DEVICE there), so an address outside every block
        is host memory through `host_view`; one that starts inside a block must fit in it."""
        block = self.memory.find(ptr, count)
        if block is not None and not block.host:
            offset = ptr - block.address
            return block.view[offset: offset + count]
        if self.memory.rc and not strict and block is None and self.memory.find(ptr) is None:
            return self._host_side(ptr, count, call)
        raise self._fail(_RT_PARAM_INVALID, call, f"0x{ptr:x} (+{count} bytes) is not inside live device memory")

    def _host_side(self, ptr: int, count: int, call: str) -> memoryview:
        block = self.memory.find(ptr, count)
        if block is not None and (block.host or self.memory.rc):
            offset = ptr - block.address
            return block.view[offset: offset + count]
        if block is not None or self.memory.is_synthetic(ptr):
            raise self._fail(_RT_PARAM_INVALID, call,
                             f"0x{ptr:x} is device memory, which the host cannot address in EP mode")
        if self.memory.find(ptr) is None and self.memory.was_freed(ptr):
            raise self._fail(_RT_PARAM_INVALID, call, f"0x{ptr:x} points into memory that was freed")
        try:
            return host_view(ptr, count)
        except HostAccessError as exc:
            raise self._fail(_RT_PARAM_INVALID, call, str(exc)) from None

    def _side(self, ptr: int, count: int, device: Optional[bool], call: str) -> memoryview:
        if self._is_device(ptr, count, device):
            return self._device_side(ptr, count, call)
        return self._host_side(ptr, count, call)

    _KIND_SIDES = {0: (False, False), 1: (False, True), 2: (True, False), 3: (True, True), 4: (None, None),
                   5: (False, True)}

    def memcpy(self, dst: int, dest_max: int, src: int, count: int, kind: int) -> None:
        call = "aclrtMemcpy"
        dst, dest_max, src, count, kind = copy_args(call, dst, dest_max, src, count, kind)  # as C would get them
        with self._lock:
            self._count(call)
            self.memcpy_log.append((dst, src, count, int(kind)))
            if count == 0:
                return
            if not dst or not src:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "dst or src is NULL")
            if int(kind) not in self._KIND_SIDES:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, f"kind {kind} is not accepted by aclrtMemcpy")
            if dest_max == 0 or count > dest_max:
                raise self._fail(_RT_PARAM_INVALID, call, f"count {count} exceeds destMax {dest_max}")
            if dst == src:
                return
            self._current(call)
            src_device, dst_device = self._KIND_SIDES[int(kind)]
            source = self._side(src, count, src_device, call)
            target = self._side(dst, count, dst_device, call)
            target[:] = source
            self._count(f"aclrtMemcpy[{MemcpyKind(int(kind)).name}]")

    def memcpy_async(self, dst: int, dest_max: int, src: int, count: int, kind: int, stream: int) -> None:
        """aclrtMemcpyAsync: every check now, the copy when the stream reaches it (see the
        module docstring for the order of checks and the pageable-memory rule)."""
        call = "aclrtMemcpyAsync"
        dst, dest_max, src, count, kind = copy_args(call, dst, dest_max, src, count, kind)
        stream = c_value(stream or 0, POINTER, call, "stream", HANDLE)
        with self._lock:
            self._count(call)
            if not dst or not src:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "dst or src is NULL")
            if int(kind) not in self._KIND_SIDES:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, f"kind {kind} is not accepted by aclrtMemcpyAsync")
            if count == 0 or count > dest_max:
                raise self._fail(_RT_PARAM_INVALID, call, f"count {count} is 0 or exceeds destMax {dest_max}")
            ctx = self._current(call)
            key = self._stream_key(stream, ctx.handle, call)
            src_device, dst_device = self._KIND_SIDES[int(kind)]
            source = self._side(src, count, src_device, call)
            target = self._side(dst, count, dst_device, call)
            on_device = [self._is_device(p, count, d) for p, d in ((src, src_device), (dst, dst_device))]
            if not self.memory.rc and not any(on_device):
                raise self._fail(_RT_FEATURE_NOT_SUPPORT, call,
                                 "an asynchronous host-to-host copy is not supported in EP mode; use aclrtMemcpy")
            if dst == src:
                return
            self._count(f"aclrtMemcpyAsync[{MemcpyKind(int(kind)).name}]")
            if self.memory.find(src, count) is not None and self.memory.find(dst, count) is not None:
                self._queues.add(key, CopyTask(target, source))
                return
            # pageable memory (not from aclrtMalloc / aclrtMallocHost): ACL synchronizes the
            # stream and copies at once, so the device never reads host pages that may be gone
            tasks = self._take([key])
        self._finish(tasks)
        target[:] = source

    def _is_device(self, ptr: int, count: int, device: Optional[bool]) -> bool:
        """Whether a copy side counts as device memory (None, as for ACL_MEMCPY_DEFAULT and
        memset: where the address lives decides)."""
        if device is not None:
            return device
        block = self.memory.find(ptr, count)
        return block is not None and not block.host

    def _stream_key(self, stream: int, context: int, call: str) -> Any:
        """The queue key of `stream` (0: the context's default stream), checked as ACL does:
        an unknown stream is 107017, one of another context 107003."""
        if not stream:
            return default_key(context)
        owner = self._streams.get(stream)
        if owner is None:
            raise self._fail(E.ACL_ERROR_RT_INVALID_HANDLE, call, "unknown stream")
        if owner != context:
            raise self._fail(_RT_STREAM_CONTEXT, call, "the stream belongs to another context")
        return stream

    def memset(self, ptr: int, max_count: int, value: int, count: int) -> None:
        call = "aclrtMemset"
        ptr, max_count, value, count = fill_args(call, ptr, max_count, value, count)
        with self._lock:
            self._count(call)
            if count == 0:
                return
            if not ptr:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "devPtr is NULL")
            if count > max_count:
                raise self._fail(_RT_PARAM_INVALID, call, f"count {count} exceeds maxCount {max_count}")
            self._current(call)
            fill(self._side(ptr, count, None, call), value)

    def memset_async(self, ptr: int, max_count: int, value: int, count: int, stream: int) -> None:
        """aclrtMemsetAsync (see the module docstring): host memory now, device memory on the stream."""
        call = "aclrtMemsetAsync"
        ptr, max_count, value, count = fill_args(call, ptr, max_count, value, count)
        stream = c_value(stream or 0, POINTER, call, "stream", HANDLE)
        with self._lock:
            self._count(call)
            if not ptr:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "devPtr is NULL")
            ctx = self._current(call)
            key = self._stream_key(stream, ctx.handle, call)
            on_device = self._is_device(ptr, max(count, 1), None)
            if count > max_count:
                if on_device:
                    raise self._fail(E.ACL_ERROR_RT_MEMORY_ALLOCATION, call,
                                     f"count {count} exceeds maxCount {max_count}")
                raise self._fail(E.ACL_ERROR_RT_INTERNAL_ERROR, call,
                                 f"memset_s failed: count {count} exceeds maxCount {max_count}")
            if count == 0:
                return
            view = self._side(ptr, count, None, call)
            if on_device:
                self._queues.add(key, FillTask(view, value))
                return
        fill(view, value)

    # -- streams ----------------------------------------------------------------------------
    def create_stream(self) -> int:
        return self._new_stream("aclrtCreateStream")

    def create_stream_with_config(self, priority: int, flag: int) -> int:
        """aclrtCreateStreamWithConfig: a priority above 7 is taken as 7 and the flags only
        change how fast the runtime issues and waits, so the simulated stream is a plain one."""
        call = "aclrtCreateStreamWithConfig"
        c_value(priority, UINT32, call, "priority")
        c_value(flag, UINT32, call, "flag")
        return self._new_stream(call)

    def _new_stream(self, call: str) -> int:
        with self._lock:
            ctx = self._current(call)
            handle = next(self._objects)
            self._streams[handle] = ctx.handle
            return handle

    def destroy_stream(self, stream: int) -> None:
        with self._lock:
            if not stream:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclrtDestroyStream", "stream is NULL")
            if self._streams.pop(stream, None) is None:
                raise self._fail(E.ACL_ERROR_RT_INVALID_HANDLE, "aclrtDestroyStream", "unknown stream")
            tasks = self._take([stream])
        self._finish(tasks)  # aclrtDestroyStream waits for the stream's tasks (aclrtDestroyStreamForce would not)
        self._stream_gone(stream)

    def synchronize_stream(self, stream: int) -> None:
        """Performs what was launched on `stream` (runs, copies, fills, records, callbacks):
        only now do its outputs change."""
        self._synchronize(stream, "aclrtSynchronizeStream")

    def synchronize_stream_with_timeout(self, stream: int, timeout: int) -> None:
        """Queued work takes no simulated time; what can take real time is a blocking callback
        the subscribed thread has not run: past `timeout` ms (-1: never) that is ACL's
        507046, and the callback and the work after it stay queued."""
        call = "aclrtSynchronizeStreamWithTimeout"
        timeout = c_value(timeout, INT32, call, "timeout", RT_VALUE)
        if int(timeout) < -1:
            raise self._fail(E.ACL_ERROR_RT_PARAM_INVALID, call, f"timeout {timeout} is not in [-1, INT_MAX]")
        deadline = time.monotonic() + int(timeout) / 1000 if int(timeout) > 0 else None
        self._synchronize(stream, call, deadline)

    def _synchronize(self, stream: int, call: str, deadline: Optional[float] = None) -> None:
        while True:
            with self._lock:
                ctx = self._current(call)
                if stream and stream not in self._streams:
                    raise self._fail(E.ACL_ERROR_RT_INVALID_HANDLE, call, "unknown stream")
                key = stream or default_key(ctx.handle)
                gate = None if deadline is None else self._gate(key)
                tasks = self._take([key]) if gate is None else self._take_before_gate(key, gate)
            self._finish(tasks)
            if gate is None:
                return
            if not self._wait_gate(gate, deadline):
                raise self._fail(E.ACL_ERROR_RT_STREAM_SYNC_TIMEOUT, call,
                                 "a blocking callback on the stream has not returned within the timeout")

    # -- data buffers and datasets --------------------------------------------------------
    def create_data_buffer(self, data: int, size: int) -> int:
        call = "aclCreateDataBuffer"
        data, size = c_value(data or 0, POINTER, call, "data"), c_value(size, SIZE_T, call, "size")
        with self._lock:
            handle = next(self._objects)
            self._buffers[handle] = _DataBuffer(int(data or 0), int(size))
            return handle

    def _buffer(self, buffer: int, call: str) -> _DataBuffer:
        found = self._buffers.get(buffer) if buffer else None
        if found is None:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "dataBuffer is NULL or not a live aclDataBuffer")
        return found

    def destroy_data_buffer(self, buffer: int) -> None:
        with self._lock:
            self._buffer(buffer, "aclDestroyDataBuffer")
            del self._buffers[buffer]

    def data_buffer_addr(self, buffer: int) -> int:
        found = self._buffers.get(buffer)
        return found.data if found else 0

    def data_buffer_size(self, buffer: int) -> int:
        found = self._buffers.get(buffer)
        return found.size if found else 0

    def update_data_buffer(self, buffer: int, data: int, size: int) -> None:
        call = "aclUpdateDataBuffer"
        data, size = c_value(data or 0, POINTER, call, "data"), c_value(size, SIZE_T, call, "size")
        with self._lock:
            found = self._buffer(buffer, "aclUpdateDataBuffer")
            found.data, found.size = int(data or 0), int(size)

    def create_dataset(self) -> int:
        with self._lock:
            handle = next(self._objects)
            self._datasets[handle] = _Dataset()
            return handle

    def _dataset(self, dataset: int, call: str) -> _Dataset:
        found = self._datasets.get(dataset) if dataset else None
        if found is None:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "dataset is NULL or not a live aclmdlDataset")
        return found

    def destroy_dataset(self, dataset: int) -> None:
        with self._lock:
            self._dataset(dataset, "aclmdlDestroyDataset")
            del self._datasets[dataset]
            self._dataset_gone(dataset)  # sim_tensors: the entries' own tensor descs go with it

    def add_dataset_buffer(self, dataset: int, buffer: int) -> None:
        with self._lock:
            ds = self._dataset(dataset, "aclmdlAddDatasetBuffer")
            if not c_value(buffer or 0, POINTER, "aclmdlAddDatasetBuffer", "dataBuffer"):
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclmdlAddDatasetBuffer", "dataBuffer is NULL")
            ds.buffers.append(buffer)

    def dataset_num_buffers(self, dataset: int) -> int:
        found = self._datasets.get(dataset)
        return len(found.buffers) if found else 0

    def dataset_buffer(self, dataset: int, index: int) -> int:
        found = self._datasets.get(dataset)
        if found is None or not 0 <= index < len(found.buffers):
            return 0
        return found.buffers[index]

    # -- descs --------------------------------------------------------------------------------
    def create_desc(self, model_id: int) -> int:
        with self._lock:
            loaded = self._models.get(model_id)
            if loaded is None:
                raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "aclmdlGetDesc", f"no model id {model_id}")
            handle = next(self._objects)
            self._descs[handle] = _Desc(model_id, loaded.info.inputs, loaded.info.outputs)
            return handle

    def destroy_desc(self, desc: int) -> None:
        with self._lock:
            if self._descs.pop(desc, None) is None:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, "aclmdlDestroyDesc", "not a live aclmdlDesc")

    def input_index_by_name(self, desc: int, name: str) -> int:
        call = "aclmdlGetInputIndexByName"
        found = self._descs.get(desc)
        if found is None or not name:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "modelDesc or name is NULL")
        for i, t in enumerate(found.inputs):
            if t.name == name:
                return i
        raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, f"the model has no input named {name!r}")

    def cur_output_dims(self, desc: int, index: int) -> tuple[int, ...]:
        call = "aclmdlGetCurOutputDims"
        with self._lock:
            found = self._descs.get(desc)
            if found is None:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "modelDesc is NULL")
            if not 0 <= index < len(found.outputs):
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, f"output index {index} out of range")
            loaded = self._models.get(found.model_id)
            if loaded is None:
                raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, call, f"model {found.model_id} is not loaded")
            dyn = loaded.info.dynamic
            gear = loaded.current_gear or G.largest(dyn.gears)
            return G.output_dims(dyn, loaded.info.outputs, index, gear)

    # -- gears ---------------------------------------------------------------------------------
    def _mbatch(self, model_id: int, dataset: int, index: int, call: str, need: int) -> tuple[_Dataset, _DataBuffer]:
        ds = self._dataset(dataset, call)
        buf = self._buffers.get(ds.buffers[index]) if 0 <= index < len(ds.buffers) else None
        if buf is None or not buf.data:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, f"no data buffer with an address at index {index}")
        if buf.size < need:
            raise self._fail(_DYNAMIC_INPUT_LENGTH_INVALID, call,
                             f"the mbatch buffer holds {buf.size} bytes, at least {need} are needed")
        return ds, buf

    def _loaded_for_set(self, model_id: int, call: str) -> Any:
        loaded = self._models.get(model_id)
        if loaded is None:
            raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, call, f"no model id {model_id}")
        return loaded

    def _store_gear(self, loaded: Any, ds: _Dataset, buf: _DataBuffer, gear: tuple[int, ...], call: str) -> None:
        width = 8 if buf.size >= 8 * len(gear) else 4
        payload = struct.pack(f"<{len(gear)}{'q' if width == 8 else 'i'}", *gear)
        self._current(call)  # the internal host-to-device aclrtMemcpy needs a context
        self._device_side(buf.data, len(payload), call, strict=True)[:] = payload
        ds.gear = gear
        loaded.current_gear = gear

    def _not_a_gear(self, loaded: Any, gear: tuple[int, ...], call: str) -> AclError:
        listed = ", ".join(str(g) for g in loaded.info.dynamic.gears) or "none"
        return self._fail(_DYNAMIC_BATCH_SIZE_INVALID, call, f"{gear} is not a gear of the model (gears: {listed})")

    def set_dynamic_batch_size(self, model_id: int, dataset: int, index: int, batch: int) -> None:
        call = "aclmdlSetDynamicBatchSize"
        with self._lock:
            self._dataset(dataset, call)
            if batch == 0:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "batchSize is 0")
            ds, buf = self._mbatch(model_id, dataset, index, call, 4)
            loaded = self._loaded_for_set(model_id, call)
            dyn = loaded.info.dynamic
            if dyn.kind != "batch" or (batch,) not in dyn.gears:
                raise self._not_a_gear(loaded, (batch,), call)
            self._store_gear(loaded, ds, buf, (int(batch),), call)

    def set_dynamic_hw_size(self, model_id: int, dataset: int, index: int, height: int, width: int) -> None:
        call = "aclmdlSetDynamicHWSize"
        with self._lock:
            self._dataset(dataset, call)
            if height == 0 or width == 0:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "height or width is 0")
            ds, buf = self._mbatch(model_id, dataset, index, call, 8)
            loaded = self._loaded_for_set(model_id, call)
            dyn = loaded.info.dynamic
            if dyn.kind != "hw" or (height, width) not in dyn.gears:
                raise self._not_a_gear(loaded, (height, width), call)
            self._store_gear(loaded, ds, buf, (int(height), int(width)), call)

    def set_input_dynamic_dims(self, model_id: int, dataset: int, index: int, dims: Sequence[int]) -> None:
        call = "aclmdlSetInputDynamicDims"
        with self._lock:
            self._dataset(dataset, call)
            if dims is None:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "dims is NULL")
            if len(dims) == 0:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "dimCount is 0")
            dims = [c_value(d, INT64, call, f"dims[{i}]") for i, d in enumerate(dims)]  # aclmdlIODims holds int64
            ds, buf = self._mbatch(model_id, dataset, index, call, 0)
            loaded = self._loaded_for_set(model_id, call)
            info = loaded.info
            order = info.dynamic.shape_order
            gear = G.gear_from_full(info.inputs, order, dims)
            if gear is None:
                want = " / ".join(",".join(map(str, t.dims)) for t in G.shape_order_inputs(info.inputs, order))
                raise self._fail(_DYNAMIC_INPUT_LENGTH_INVALID, call,
                                 f"dims {tuple(dims)} are not every input's dims in shape order ({want})")
            if info.dynamic.kind != "dims" or gear not in info.dynamic.gears:
                raise self._not_a_gear(loaded, gear, call)
            if buf.size < 4 * len(gear):
                raise self._fail(_DYNAMIC_INPUT_LENGTH_INVALID, call,
                                 f"the mbatch buffer holds {buf.size} bytes, {4 * len(gear)} are needed")
            self._store_gear(loaded, ds, buf, gear, call)

    # -- execute -------------------------------------------------------------------------------
    def execute(self, model_id: int, inputs: int, outputs: int) -> None:
        self._execute(model_id, inputs, outputs, None, "aclmdlExecute")

    def execute_async(self, model_id: int, inputs: int, outputs: int, stream: int) -> None:
        self._execute(model_id, inputs, outputs, stream, "aclmdlExecuteAsync")

    def _entries(self, dataset: int, call: str) -> list[_DataBuffer]:
        ds = self._datasets.get(dataset) if dataset else None
        if ds is None:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "input or output dataset is NULL")
        entries = [self._buffers.get(b) for b in ds.buffers]
        if any(e is None for e in entries):
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "a dataset entry has no data buffer")
        return entries  # type: ignore[return-value]

    def _execute(self, model_id: int, inputs: int, outputs: int, stream: Optional[int], call: str) -> None:
        with self._lock:
            self._count(call)
            ins, outs = self._entries(inputs, call), self._entries(outputs, call)
            self._need_init(call, E.ACL_ERROR_GE_EXEC_NOT_INIT)
            loaded = self._models.get(model_id)
            if loaded is None:
                raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, call, f"no model id {model_id}")
            info = loaded.info
            if len(ins) != len(info.inputs) or len(outs) != len(info.outputs):
                raise self._fail(_GE_FAILURE, call,
                                 f"{len(ins)} input / {len(outs)} output buffers given, the model has "
                                 f"{len(info.inputs)} / {len(info.outputs)}")
            dyn = info.dynamic
            if not dyn.is_dynamic:
                for side, bufs, descs in (("input", ins, info.inputs), ("output", outs, info.outputs)):
                    for i, (b, t) in enumerate(zip(bufs, descs)):
                        if b.data and b.size + _GE_SIZE_SLACK < t.size:
                            raise self._fail(_GE_FAILURE, call,
                                             f"{side} {i} buffer has {b.size} bytes, the model needs {t.size}")
            ctx = self._current(call)
            if loaded.context != ctx.handle:
                raise self._fail(E.ACL_ERROR_RT_MODEL_CONTEXT, call, "the model was loaded in another context")
            key = self._stream_key(stream, ctx.handle, call) if stream is not None else None
            gear = self._gear_for_run(loaded, ins, inputs, call)
            in_views = self._input_views(info, ins, gear, call)
            sizes, missing = [], []
            for j, t in enumerate(info.outputs):
                if dyn.is_dynamic:
                    dims = G.output_dims(dyn, info.outputs, j, gear)
                    sizes.append(tensor_size(tuple(max(d, 0) for d in dims), t.acl_dtype))
                else:
                    sizes.append(t.size)
                if not outs[j].data:
                    missing.append(j)
            if missing and stream is not None:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call,
                                 "aclmdlExecuteAsync cannot allocate outputs left with NULL data")
            for j in missing:  # ACL allocates them; the caller frees them with aclrtFree
                outs[j].data = self._allocate(ctx.device, info.outputs[j].size, 0, call).address
                outs[j].size = info.outputs[j].size
            out_views = []
            for j, b in enumerate(outs):
                n = min(sizes[j], b.size)
                out_views.append(self._device_side(b.data, n, call, strict=True) if n else memoryview(b""))
            if gear is not None:
                loaded.current_gear = gear
            override = getattr(self._last, "override", None)
            self._last.override = None  # one execute only
            task = _RunTask(model_id, loaded.state, in_views, out_views, gear, sizes, ctx.device, override)
            self._outputs_described(inputs, outputs, len(outs))  # sim_tensors: ModelExecute's output descs
            if key is not None:  # queued: the outputs change when the stream is synchronized
                self._queues.add(key, task)
                return
        self._run(task)

    def _run(self, task: _RunTask) -> None:
        """Compute one run and write its outputs. Outside the lock: an interpreter may take a
        while, and the views keep their blocks' storage alive even if another thread frees them."""
        started = time.monotonic()
        need = 2 * sum(task.sizes)  # the outputs' bytes, and the scratch they are made in
        doing = "computes a run's outputs in this host's RAM, which cannot hold {size} for them"
        self._need_host(need, "aclmdlExecute", doing)
        try:
            result = sim_outputs.compute(task.state, task.in_views, task.gear, task.sizes, override=task.override)
        except MemoryError as exc:  # ACL's code, never a bare MemoryError
            raise self._short_of_host("aclmdlExecute", doing, need, str(exc) or "out of memory") from None
        # the run kept the device busy: aclrtGetDeviceUtilizationRate reports it
        self.devices[task.device].record_run(started, time.monotonic())
        for view, data in zip(task.out_views, result.outputs):
            if len(view):
                view[:] = memoryview(data).cast("B")[: len(view)]
        self._last.report = ExecutionReport(result.fidelity, tuple(result.notes), task.model_id, task.gear)

    def _take(self, keys: Iterable) -> list[StreamTask]:
        """Under `_lock`: the tasks queued on these streams, in launch order, off their queues,
        each key's preceded by those of its tasks another thread is still performing."""
        return self._queues.take(keys, threading.get_ident())

    def _finish(self, tasks: list[StreamTask]) -> None:
        """After `_lock` is released: perform this thread's tasks and wait for the others' (a
        sync returns only once what another thread took off the stream before it is done)."""
        me = threading.get_ident()
        mine = [t for t in tasks if t.claimant == me]
        with self._draining:
            failed: Optional[AclError] = None
            try:
                for t in tasks:  # a task that fails (207001) never drops the ones queued after it
                    if t.claimant != me:
                        self._await(t)
                        continue
                    try:
                        t.perform(self)
                    except AclError as exc:
                        failed = failed or exc
                    finally:
                        self._settle(t)
            finally:  # interrupted (KeyboardInterrupt): nobody must wait for the rest for ever
                for t in mine:
                    if not t.performed:
                        self._settle(t)
            if failed is not None:
                raise failed

    def _settle(self, task: StreamTask) -> None:
        """Under `_draining`: `task` is done; wake whoever waits for it."""
        with self._lock:
            self._queues.settle(task)
        self._progress.notify_all()

    def _await(self, task: StreamTask) -> None:
        """Under `_draining`: wait until another thread has performed `task`. Not when this
        thread is running the blocking callback that holds it (that would wait for itself);
        a blocking callback that thread posted to this one meanwhile is run here."""
        while not task.performed and not self._holding(task.flying_on):
            if not self._serve_posted_blocking():
                self._progress.wait(0.02)

    def _queues_of(self, contexts: set) -> list:
        """The queue keys of every stream (default ones included) of these contexts."""
        return [k for k in self._queues.keys()
                if (k[1] if isinstance(k, tuple) else self._streams.get(k)) in contexts]

    def _gear_for_run(self, loaded: Any, ins: list[_DataBuffer], dataset: int, call: str) -> Optional[tuple[int, ...]]:
        """The gear set on this dataset, else whatever the mbatch buffer holds."""
        dyn = loaded.info.dynamic
        if not dyn.is_dynamic:
            return None
        stored = self._datasets[dataset].gear
        if stored is not None:
            return stored
        index = next((i for i, t in enumerate(loaded.info.inputs) if t.name == G.MBATCH_INPUT), None)
        width = len(dyn.gears[0]) if dyn.gears else 0
        if index is None or not width or not ins[index].data:
            raise self._fail(_RT_MODEL_EXECUTE, call, "no gear is set and the model has no readable mbatch input")
        buf = ins[index]
        step = 8 if buf.size >= 8 * width else 4
        raw = bytes(self._device_side(buf.data, step * width, call, strict=True))
        gear = struct.unpack(f"<{width}{'q' if step == 8 else 'i'}", raw)
        if gear not in dyn.gears:  # [inf] no batch label matches: the task fails on the device
            raise self._fail(_RT_MODEL_EXECUTE, call, f"the mbatch buffer holds {gear}, which is not a gear")
        return tuple(gear)

    def _input_views(self, info: Any, ins: list[_DataBuffer], gear: Optional[tuple[int, ...]],
                     call: str) -> list[memoryview]:
        views = []
        for t, b in zip(info.inputs, ins):
            if t.name == G.MBATCH_INPUT:
                continue
            if gear is not None:
                dims = G.input_dims(info.dynamic.kind, t, gear, info.inputs, info.dynamic.shape_order)
                need = tensor_size(dims, t.acl_dtype)
            else:
                need = t.size
            n = min(need, b.size)
            views.append(self._device_side(b.data, n, call, strict=True) if n else memoryview(b""))
        return views

    def last_execution(self) -> Optional[ExecutionReport]:
        return getattr(self._last, "report", None)

    def set_next_override(self, model_id: int, override: Optional[dict]) -> None:
        """Give the next execute of `model_id` on this thread op outputs to use (checked now)."""
        if override is None:
            self._last.override = None
            return
        with self._lock:
            loaded = self._models.get(model_id)
            if loaded is None:
                raise self._fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "override", f"no model id {model_id}")
            state = loaded.state
        sim_outputs.check_override(state, override)
        self._last.override = override

    def reference_of(self, model_id: int) -> Any:
        """The CPU reference the simulator computes `model_id` with: a `sim_outputs.Kept`, whose
        ``interpreter()`` is None when the graph cannot be read (``problem`` says why); None for
        an unknown id."""
        with self._lock:
            loaded = self._models.get(model_id)
            kept = loaded.state.prepared if loaded is not None else None
        return kept if isinstance(kept, sim_outputs.Kept) else None

    # -- introspection for tests ---------------------------------------------------------------
    def live_objects(self) -> dict[str, int]:
        """Live allocations and handles (what must be zero after unload and shutdown)."""
        with self._lock:
            blocks = self.memory.live()
            return {
                "device_allocations": sum(1 for b in blocks if not b.host),
                "host_allocations": sum(1 for b in blocks if b.host),
                "data_buffers": len(self._buffers),
                "datasets": len(self._datasets),
                "streams": len(self._streams),
                "descs": len(self._descs),

            }
