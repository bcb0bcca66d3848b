"""The device side of running one loaded model: its I/O buffers and one run, in ACL calls.

The session owns one `ModelIO` per model that has run. It is made at the first run, sized
for the largest gear, reused by every later run and closed at unload or exit, so a loop
of runs allocates nothing (msame and ais_bench do the same: allocate ahead, reuse; ACL
warns that frequent malloc/free costs performance). What it holds, all released by
`close` on every path: one `aclrtMalloc` per input and output, a data buffer for each,
the input and output datasets, and a live model desc (for `aclmdlGetCurOutputDims` and
`aclmdlGetInputIndexByName`).

One run (`run`) is exactly: one copy per user input into its device buffer
(HOST_TO_DEVICE in EP; DEVICE_TO_DEVICE in RC, where host memory is device memory, as
acllite does), the gear set call if the model is dynamic, `aclmdlExecute`, the current
output dims for a dynamic model, and one copy per output back (DEVICE_TO_HOST, or
DEVICE_TO_DEVICE in RC). The caller (the session) holds the model's run lock and has made
its context current.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .om.enums import tensor_size
from .runtime.base import Backend, MemcpyKind, malloc_charge
from .runtime.errors import ACL_ERROR_INVALID_PARAM, AclError
from .runtime.gears import MBATCH_INPUT, full_dims, largest, output_dims

_clock = time.perf_counter


@dataclass(frozen=True)
class RunRecord:
    """What one run did: the outputs' dims and where the time went (seconds)."""

    output_dims: tuple[tuple[int, ...], ...]
    gear: Optional[tuple[int, ...]]
    h2d: float
    execute: float
    d2h: float
    total: float


def buffer_sizes(model: Any) -> tuple[list[int], list[int]]:
    """Device bytes each input and output needs for the model's largest gear.

    Inputs: what ACL reports (`aclmdlGetInputSizeByIndex` is the largest gear's size).
    Outputs: the reported size, or for a dynamic output (reported as 0, its -1 axes count
    as 0) the largest of its sizes over every gear."""
    ins = [t.size for t in model.inputs]
    outs = []
    for j, t in enumerate(model.outputs):
        sizes = [t.size]
        for gear in model.dynamic.gears:
            dims = output_dims(model.dynamic, model.outputs, j, gear)
            sizes.append(tensor_size(tuple(dims), t.acl_dtype))
        outs.append(max(sizes))
    return ins, outs


def io_charge(model: Any) -> int:
    """Device memory the I/O buffers take (aclrtMalloc's rounding and padding included)."""
    ins, outs = buffer_sizes(model)
    return sum(malloc_charge(max(n, 1)) for n in (*ins, *outs))


class ModelIO:
    """The I/O buffers of one model on its device (see the module docstring)."""

    def __init__(self, backend: Backend, model: Any, rc: bool) -> None:
        self.backend = backend
        self.model_id = model.id
        self.dynamic = model.dynamic
        self.inputs = model.inputs
        self.outputs = model.outputs
        self.rc = rc
        self.in_sizes, self.out_sizes = buffer_sizes(model)
        self.charge = io_charge(model)
        self.in_ptrs: list[int] = []
        self.out_ptrs: list[int] = []
        self._buffers: list[int] = []
        self.in_ds = self.out_ds = self.desc = 0
        self.mbatch: Optional[int] = None
        self.user = [i for i, t in enumerate(self.inputs) if t.name != MBATCH_INPUT]
        self._open()

    def _open(self) -> None:
        b = self.backend
        try:
            self.desc = b.create_desc(self.model_id)
            self.in_ds, self.out_ds = b.create_dataset(), b.create_dataset()
            for sizes, ptrs, ds in ((self.in_sizes, self.in_ptrs, self.in_ds),
                                    (self.out_sizes, self.out_ptrs, self.out_ds)):
                for size in sizes:
                    ptr = b.malloc(max(size, 1))  # aclrtMalloc refuses 0 bytes
                    ptrs.append(ptr)
                    buf = b.create_data_buffer(ptr, size)
                    self._buffers.append(buf)
                    b.add_dataset_buffer(ds, buf)
            if self.dynamic.is_dynamic:
                try:
                    self.mbatch = b.input_index_by_name(self.desc, MBATCH_INPUT)
                except AclError as exc:
                    if exc.code != ACL_ERROR_INVALID_PARAM:
                        raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Destroy the datasets, data buffers and desc, and free every buffer (best effort:
        one failure does not keep the rest allocated)."""
        b = self.backend
        steps: list[tuple[Callable[[int], None], int]] = [
            (b.destroy_dataset, self.in_ds), (b.destroy_dataset, self.out_ds),
            *((b.destroy_data_buffer, h) for h in self._buffers),
            *((b.free, p) for p in (*self.in_ptrs, *self.out_ptrs)),
            (b.destroy_desc, self.desc),
        ]
        self.in_ds = self.out_ds = self.desc = 0
        self._buffers, self.in_ptrs, self.out_ptrs = [], [], []
        first: Optional[BaseException] = None
        for fn, handle in steps:
            if not handle:
                continue
            try:
                fn(handle)
            except Exception as exc:  # keep releasing; report the first failure
                first = first or exc
        if first is not None:
            raise first

    def _set_gear(self, gear: tuple[int, ...]) -> None:
        b, kind = self.backend, self.dynamic.kind
        if self.mbatch is None:
            raise AclError(ACL_ERROR_INVALID_PARAM, "aclmdlGetInputIndexByName",
                           f"the model has gears but no {MBATCH_INPUT} input")
        if kind == "batch":
            b.set_dynamic_batch_size(self.model_id, self.in_ds, self.mbatch, gear[0])
        elif kind == "hw":
            b.set_dynamic_hw_size(self.model_id, self.in_ds, self.mbatch, gear[0], gear[1])
        else:
            full = full_dims(self.inputs, self.dynamic.shape_order, gear)
            b.set_input_dynamic_dims(self.model_id, self.in_ds, self.mbatch, full or gear)

    def run(self, host_inputs: Sequence[tuple[int, int]], gear: Optional[tuple[int, ...]],
            make_output: Callable[[int, tuple[int, ...]], tuple[int, int]]) -> RunRecord:
        """One run. `host_inputs`: (address, bytes) per user input, in model order;
        `make_output(j, dims)` returns (address, capacity) of the host memory for output j."""
        b = self.backend
        copy_in = MemcpyKind.DEVICE_TO_DEVICE if self.rc else MemcpyKind.HOST_TO_DEVICE
        copy_out = MemcpyKind.DEVICE_TO_DEVICE if self.rc else MemcpyKind.DEVICE_TO_HOST
        t0 = _clock()
        h2d = 0.0
        for i, (address, nbytes) in zip(self.user, host_inputs):
            t = _clock()
            b.memcpy(self.in_ptrs[i], self.in_sizes[i], address, nbytes, copy_in)
            h2d += _clock() - t
        if self.dynamic.is_dynamic:
            self._set_gear(gear or largest(self.dynamic.gears) or ())
        t = _clock()
        b.execute(self.model_id, self.in_ds, self.out_ds)
        execute = _clock() - t
        dims_all = []
        d2h = 0.0
        for j, desc in enumerate(self.outputs):
            dims = b.cur_output_dims(self.desc, j) if self.dynamic.is_dynamic else tuple(desc.dims)
            dims_all.append(tuple(dims))
            nbytes = min(tensor_size(tuple(dims), desc.acl_dtype), self.out_sizes[j])
            address, capacity = make_output(j, tuple(dims))
            if nbytes:
                t = _clock()
                b.memcpy(address, capacity, self.out_ptrs[j], nbytes, copy_out)
                d2h += _clock() - t
        return RunRecord(tuple(dims_all), gear, h2d, execute, d2h, _clock() - t0)


__all__ = ["ModelIO", "RunRecord", "buffer_sizes", "io_charge"]
