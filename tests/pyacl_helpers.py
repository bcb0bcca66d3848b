"""Helpers for the pyACL tests: models built by the writer, programs run through the runner,
and the outputs the simulator computes for given inputs (to check read-back against)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

PROGRAMS = Path(__file__).parent / "pyacl_programs"
REPO = Path(__file__).resolve().parents[1]

#: libc with mmap / munmap / mprotect typed, for tests that hand programs memory they then unmap.
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


#: pyACL's plain ints for what the programs pass: aclrtMemMallocPolicy ACL_MEM_MALLOC_HUGE_FIRST,
#: aclrtMemcpyKind's four kinds, aclrtMemAttr ACL_HBM_MEM.
HUGE_FIRST = 0
H2H, H2D, D2H, D2D = 0, 1, 2, 3
ACL_HBM_MEM = 1


@contextmanager
def pyacl_installed(session, set_device: bool = False) -> Iterator:
    """The pyACL image installed over `session` with ``acl.init()`` done (and device 0 set when
    `set_device`): yields the ``acl`` module, uninstalled and unbound afterwards."""
    from acl_notebook import pyacl
    from acl_notebook.pyacl.core import PROGRAM

    assert pyacl.install(force=True, session=session).installed
    import acl

    assert acl.init() == 0
    if set_device:
        assert acl.rt.set_device(0) == 0
    try:
        yield acl
    finally:
        pyacl.uninstall()
        PROGRAM.bind(None)


def classifier_spec(soc: str = "Ascend910B1") -> ModelSpec:
    return ModelSpec(name="classifier", soc_version=soc,
                     inputs=[TensorSpec("image", (1, 3, 16, 16), "float32", "NCHW")],
                     outputs=[TensorSpec("prob", (1, 10), "float32", "ND")], weight_size=4096)


def batch_spec(soc: str = "Ascend910B1") -> ModelSpec:
    return ModelSpec(name="batcher", soc_version=soc,
                     inputs=[TensorSpec("x", (-1, 3, 8, 8), "float32", "NCHW")],
                     outputs=[TensorSpec("y", (-1, 10), "float32", "ND")],
                     dynamic_kind="batch", gears=[(1,), (2,), (8,)])


def hw_spec(soc: str = "Ascend910B1") -> ModelSpec:
    return ModelSpec(name="segmenter", soc_version=soc,
                     inputs=[TensorSpec("image", (1, 3, -1, -1), "float32", "NCHW")],
                     outputs=[TensorSpec("mask", (1, 2, -1, -1), "float32", "NCHW")],
                     dynamic_kind="hw", gears=[(16, 24), (32, 48)])


def two_input_spec(soc: str = "Ascend910B1") -> ModelSpec:
    return ModelSpec(name="pair", soc_version=soc,
                     inputs=[TensorSpec("a", (1, -1), "float32", "ND"), TensorSpec("b", (-1, 4), "float32", "ND")],
                     outputs=[TensorSpec("score", (-1, 4), "float32", "ND")],
                     dynamic_kind="dims", gears=[(2, 1), (8, 8)], shape_order=["a", "b"])


def write(tmp_path: Path, spec: ModelSpec) -> Path:
    path = tmp_path / f"{spec.name}.om"
    path.write_bytes(write_om(spec))
    return path


def run_program(name: str, *args: str, env: Optional[dict] = None, runner_args: Sequence[str] = (),
                cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    """`python -m acl_notebook.pyacl PROGRAM ARGS` in a fresh interpreter."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACL_NOTEBOOK_")}
    full_env.setdefault("ACL_NOTEBOOK_BACKEND", "sim")
    full_env.update(env or {})
    script = str(PROGRAMS / name) if (PROGRAMS / name).is_file() else name
    return subprocess.run([sys.executable, "-m", "acl_notebook.pyacl", *runner_args, script, *args],
                          capture_output=True, text=True, env=full_env, cwd=cwd or REPO, timeout=120)


def outputs_on(session, model: bytes, inputs: Sequence[np.ndarray], gear: Optional[tuple] = None) -> list[bytes]:
    """What `session`'s backend computes for these inputs at this gear, through the public
    path (the model loaded beside the program's and run with `Model.run`, then unloaded)."""
    m = session.load(model, name="expected")
    try:
        kind = m.dynamic.kind
        gear_arg = {} if gear is None else {"batch": {"batch": gear[0]}, "hw": {"hw": tuple(gear)},
                                            "dims": {"dims": tuple(gear)}}[kind]
        outputs = m.run(list(inputs), **gear_arg)
        return [np.ascontiguousarray(o).tobytes() for o in outputs]
    finally:
        session.unload(m)


def simulated_outputs(model: bytes, inputs: Sequence[np.ndarray], gear: Optional[tuple] = None) -> list[bytes]:
    """What the simulator computes for these inputs at this gear (a fresh simulator session)."""
    from acl_notebook.session import Config, Session

    session = Session(Config(backend="sim"))
    try:
        return outputs_on(session, model, inputs, gear)
    finally:
        session.shutdown()


class Program:
    """A small program in the usual style, for the tests to poke at."""

    def __init__(self, acl, spec=None, soc="Ascend910B1"):
        self.acl = acl
        assert acl.rt.set_device(0) == 0
        self.ctx, ret = acl.rt.create_context(0)
        assert ret == 0
        self.om = write_om(spec or classifier_spec(soc))
        self.model_id, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(self.om), len(self.om))
        assert ret == 0, acl.get_recent_err_msg()
        self.desc = acl.mdl.create_desc()
        assert acl.mdl.get_desc(self.desc, self.model_id) == 0
        self.ins, self.in_ptrs = self._dataset(acl.mdl.get_num_inputs(self.desc), acl.mdl.get_input_size_by_index)
        self.outs, self.out_ptrs = self._dataset(acl.mdl.get_num_outputs(self.desc), acl.mdl.get_output_size_by_index)

    def _dataset(self, n, size_of):
        acl = self.acl
        ds = acl.mdl.create_dataset()
        ptrs = []
        for i in range(n):
            size = size_of(self.desc, i)
            ptr, ret = acl.rt.malloc(size, HUGE_FIRST)
            assert ret == 0
            _, ret = acl.mdl.add_dataset_buffer(ds, acl.create_data_buffer(ptr, size))
            assert ret == 0
            ptrs.append((ptr, size))
        return ds, ptrs

    def feed(self, x):
        data = x.tobytes()
        ptr, size = self.in_ptrs[0]
        assert self.acl.rt.memcpy(ptr, size, self.acl.util.bytes_to_ptr(data), len(data), H2D) == 0

    def read(self, index=0):
        ptr, size = self.out_ptrs[index]
        host = bytes(size)
        assert self.acl.rt.memcpy(self.acl.util.bytes_to_ptr(host), size, ptr, size, D2H) == 0
        return host


def image(seed=0):
    return np.random.default_rng(seed).standard_normal((1, 3, 16, 16)).astype(np.float32)
