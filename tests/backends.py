"""What the backend-layer tests share: the two device modes, the copy kinds, ACL's raw call
sequence for a model run (`Runner`), and the checks the runtime, stream and event tests make.

Helpers only; the fixtures built on them (`mode`, `dev`, `static`, `sim_dev`) are in conftest.py.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runtime.base import MemcpyKind
from acl_notebook.runtime.errors import AclError
from acl_notebook.runtime.gears import output_dims
from acl_notebook.runtime.sim_outputs import PLACEHOLDER, placeholder_output

#: The two run modes the suite covers, by a SoC that has each: EP (a host beside the card) and RC.
MODES = {"EP": "Ascend910B1", "RC": "Ascend310B4"}
H2D, D2H, D2D, H2H, DEFAULT = (MemcpyKind.HOST_TO_DEVICE, MemcpyKind.DEVICE_TO_HOST,
                               MemcpyKind.DEVICE_TO_DEVICE, MemcpyKind.HOST_TO_HOST, MemcpyKind.DEFAULT)

MiB = 1 << 20


def code_of(call, *args) -> int:
    """The ACL code `call(*args)` fails with (the test fails if it succeeds)."""
    with pytest.raises(AclError) as info:
        call(*args)
    return info.value.code


def in_thread(fn):
    """Run `fn` on a fresh thread (no current context) and return its result or exception."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["value"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return box["value"]


def build(soc: str, inputs, outputs, **extra) -> bytes:
    """An .om for `soc` with these tensors and 1 MiB of work and weight memory."""
    return write_om(ModelSpec(name="m", soc_version=soc, inputs=inputs, outputs=outputs,
                              work_size=MiB, weight_size=MiB, **extra))


#: A static model with two inputs and two outputs of different dtypes: `build(soc, *STATIC)`.
STATIC = ([TensorSpec("a", (2, 8), "float32", "ND"), TensorSpec("b", (3,), "int8", "ND")],
          [TensorSpec("y", (4,), "int32", "ND"), TensorSpec("z", (5, 5), "uint8", "ND")])


def small_model(name: str, work: int, weight: int, soc: str = "Ascend910B1") -> bytes:
    """An .om with one float16 image input and one output that asks for `work` and `weight` bytes."""
    spec = ModelSpec(
        name=name, soc_version=soc,
        inputs=[TensorSpec("x", (1, 3, 32, 32), "float16", "NCHW")],
        outputs=[TensorSpec("y", (1, 10), "float32", "ND")],
        work_size=work, weight_size=weight,
    )
    return write_om(spec)


class Runner:
    """The raw ACL sequence a client writes: malloc, data buffers, datasets, copies, execute."""

    def __init__(self, session, model) -> None:
        self.s, self.b, self.m = session, session.backend, model
        self.ptrs: list[int] = []
        self.bufs: list[int] = []
        self.inputs = self.dataset([t.size for t in model.inputs])
        # a dynamic output reports size 0 (unknown dims count as 0): size it for its largest gear
        sizes = [t.size or max(int(np.prod(output_dims(model.dynamic, model.outputs, j, g))) *
                               t.numpy_dtype.itemsize for g in model.dynamic.gears)
                 for j, t in enumerate(model.outputs)]
        self.outputs = self.dataset(sizes)

    def dataset(self, sizes) -> int:
        ds = self.b.create_dataset()
        for size in sizes:
            ptr = self.b.malloc(max(size, 1))
            self.ptrs.append(ptr)
            self.bufs.append(self.b.create_data_buffer(ptr, size))
            self.b.add_dataset_buffer(ds, self.bufs[-1])
        return ds

    def addr(self, ds: int, i: int) -> int:
        return self.b.data_buffer_addr(self.b.dataset_buffer(ds, i))

    def put(self, i: int, data: np.ndarray) -> None:
        self.b.memcpy(self.addr(self.inputs, i), data.nbytes, data.ctypes.data, data.nbytes, H2D)
        self.b.update_data_buffer(self.b.dataset_buffer(self.inputs, i), self.addr(self.inputs, i), data.nbytes)

    def get(self, j: int, nbytes: int) -> np.ndarray:
        out = np.zeros(nbytes, dtype=np.uint8)
        if nbytes:
            self.b.memcpy(out.ctypes.data, nbytes, self.addr(self.outputs, j), nbytes, D2H)
        return out

    def close(self) -> None:
        for ds in (self.inputs, self.outputs):
            self.b.destroy_dataset(ds)
        for buf in self.bufs:
            self.b.destroy_data_buffer(buf)
        for ptr in self.ptrs:
            self.b.free(ptr)


def check_values(rig, session, got: np.ndarray, inputs: list[np.ndarray], j: int) -> None:
    """Output `j` is what both backends compute from these input bytes when they cannot run the
    graph (the placeholder function), so a skipped copy or a wrong buffer shows."""
    report = session.backend.last_execution()
    if rig.kind == "acl":
        assert report is None, "real hardware has no fidelity report"
    else:
        assert report is not None and report.notes
        if report.fidelity != PLACEHOLDER:
            return  # an interpreter computes real values; other tests check those
    want = placeholder_output([x.view(np.uint8).reshape(-1) for x in inputs], j, got.size)
    assert (got == want).all()


def pinned(b, data: bytes) -> int:
    """ACL host memory (aclrtMallocHost) holding `data`."""
    ptr = b.malloc_host(len(data))
    b.memcpy(ptr, len(data), np.frombuffer(data, np.uint8).ctypes.data, len(data), H2H)
    return ptr


def read_host(b, ptr: int, n: int) -> bytes:
    """The `n` bytes at ACL host memory `ptr`, copied out the way a client does."""
    out = np.zeros(n, np.uint8)
    b.memcpy(out.ctypes.data, n, ptr, n, H2H)
    return out.tobytes()


def placeholder_expected(out, inputs: list[np.ndarray], j: int) -> np.ndarray:
    """What output `j` of a run (`Outputs`) holds when it is the placeholder function of `inputs`."""
    flat = [np.ascontiguousarray(x).view(np.uint8).reshape(-1) for x in inputs]
    return placeholder_output(flat, j, out[j].nbytes)


def check_outputs(rig, out, inputs: list[np.ndarray]) -> None:
    """A `Model.run`'s outputs came from these input bytes: the simulator says it ran the
    placeholder function, the ctypes backend says nothing, and on both every output is that
    function of the bytes the device got."""
    if rig.kind == "sim":
        assert out.simulated and out.fidelity == PLACEHOLDER and out.notes
    else:
        assert not out.simulated and out.fidelity is None and out.notes == ()
    if out.fidelity not in (None, PLACEHOLDER):
        return
    for j in range(len(out)):
        assert (out[j].reshape(-1).view(np.uint8) == placeholder_expected(out, inputs, j)).all(), out.names[j]
