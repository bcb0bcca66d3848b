"""Host pointers a program made itself (``arr.ctypes.data``, ``ctypes.addressof``) work where
the memory is really mapped with the access the call needs, on both backends; an unmapped,
read-only, inaccessible or made-up one gets ACL's code and the process survives (on the
ctypes backend a wrong answer would be a segfault in the C library, taking pytest down)."""

from __future__ import annotations

import ctypes
import mmap

import numpy as np
import pytest
from pyacl_helpers import (
    D2H,
    H2D,
    H2H,
    classifier_spec,
    libc,
    outputs_on,
    pyacl_installed,
    run_program,
    simulated_outputs,
    write,
)

from acl_notebook.om.writer import write_om
from acl_notebook.pyacl import hostmem

PAGE = mmap.PAGESIZE
PROT_NONE, PROT_READ, PROT_RW = 0, 1, 3


class Pages:
    """Three anonymous pages we can unmap or protect one at a time."""

    def __init__(self) -> None:
        self.base = libc.mmap(None, 3 * PAGE, PROT_RW, 0x22, -1, 0)  # MAP_PRIVATE | MAP_ANONYMOUS
        assert self.base not in (None, ctypes.c_void_p(-1).value)

    def protect(self, page: int, prot: int) -> None:
        assert libc.mprotect(self.base + page * PAGE, PAGE, prot) == 0

    def unmap(self, page: int) -> None:
        assert libc.munmap(self.base + page * PAGE, PAGE) == 0

    def close(self) -> None:
        libc.munmap(self.base, 3 * PAGE)


@pytest.fixture
def pages():
    p = Pages()
    yield p
    p.close()


def device(acl, size):
    ptr, ret = acl.rt.malloc(size, 0)
    assert ret == 0
    return ptr


def test_raw_numpy_and_ctypes_pointers_copy_both_ways(env_with_device):
    acl, _ = env_with_device
    dev = device(acl, 256)
    src = np.arange(64, dtype=np.float32)
    assert acl.rt.memcpy(dev, 256, src.ctypes.data, src.nbytes, H2D) == 0
    back = np.zeros(64, dtype=np.float32)
    assert acl.rt.memcpy(back.__array_interface__["data"][0], back.nbytes, dev, 256, D2H) == 0
    assert np.array_equal(back, src)
    buf = (ctypes.c_char * 256)()
    assert acl.rt.memcpy(ctypes.addressof(buf), 256, dev, 256, D2H) == 0
    assert bytes(buf) == src.tobytes()
    cast = ctypes.cast(buf, ctypes.c_void_p).value
    other = np.full(64, 7, dtype=np.float32)
    assert acl.rt.memcpy(cast, 256, other.ctypes.data, 256, H2H) == 0  # host to host, both raw
    assert bytes(buf) == other.tobytes()
    assert acl.util.ptr_to_bytes(src.ctypes.data + 4, 8) == src[1:3].tobytes()  # interior raw pointers too
    view = acl.util.ptr_to_numpy(src.ctypes.data, (64,), 11)
    assert np.array_equal(view, src) and view.flags.writeable
    assert acl.rt.memset(back.ctypes.data, back.nbytes, 0, back.nbytes) == 0
    assert not back.any()
    assert acl.rt.free(dev) == 0


def test_load_from_mem_takes_a_raw_pointer_and_copies_the_model(env_with_device):
    acl, session = env_with_device
    om = write_om(classifier_spec())
    blob = np.frombuffer(om, dtype=np.uint8).copy()
    model_id, ret = acl.mdl.load_from_mem(blob.ctypes.data, blob.nbytes)
    assert ret == 0, acl.get_recent_err_msg()
    assert acl.mdl.query_size_from_mem(blob.ctypes.data, blob.nbytes)[2] == 0
    blob[:] = 0  # the program reuses its buffer: the loaded model is unaffected
    del blob
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc(desc, model_id) == 0
    assert acl.mdl.get_num_inputs(desc) == 1
    (m,) = session.models()
    assert m.info.inputs[0].name == "image"
    # it runs, and reads back what Model.run computes
    size_in, size_out = acl.mdl.get_input_size_by_index(desc, 0), acl.mdl.get_output_size_by_index(desc, 0)
    dev_in, dev_out = device(acl, size_in), device(acl, size_out)
    ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
    acl.mdl.add_dataset_buffer(ins, acl.create_data_buffer(dev_in, size_in))
    acl.mdl.add_dataset_buffer(outs, acl.create_data_buffer(dev_out, size_out))
    x = np.random.default_rng(3).standard_normal((1, 3, 16, 16)).astype(np.float32)
    assert acl.rt.memcpy(dev_in, size_in, x.ctypes.data, x.nbytes, H2D) == 0
    assert acl.mdl.execute(model_id, ins, outs) == 0
    y = np.empty(size_out // 4, dtype=np.float32)
    assert acl.rt.memcpy(y.ctypes.data, y.nbytes, dev_out, size_out, D2H) == 0
    assert acl.mdl.unload(model_id) == 0
    (want,) = outputs_on(session, om, [x])
    assert y.tobytes() == want

def test_load_from_mem_refuses_a_copy_the_container_cannot_hold(env_with_device, small_cgroup):
    """The model under a raw pointer is copied into host memory (ACL copies it too). In a
    container with too little room left that copy would get the kernel OOM-killed, so the
    load answers ACL_ERROR_BAD_ALLOC (200000) and says why; loaded models stay loaded."""
    acl, session = env_with_device
    om = write_om(classifier_spec())
    small = np.frombuffer(om, dtype=np.uint8).copy()
    first, ret = acl.mdl.load_from_mem(small.ctypes.data, small.nbytes)
    assert ret == 0, acl.get_recent_err_msg()
    big = np.zeros(96 << 20, dtype=np.uint8)  # 96 MiB of the program's own memory
    big[: len(om)] = small
    small_cgroup(64 << 20, used=16 << 20)
    model_id, ret = acl.mdl.load_from_mem(big.ctypes.data, big.nbytes)
    assert (model_id, ret) == (0, 200000)
    message = acl.get_recent_err_msg()
    assert "ACL_ERROR_BAD_ALLOC" in message and "100,663,296 bytes" in message, message
    assert "container's memory limit (cgroup) of 64.0 MiB" in message, message
    assert [m.id for m in session.models()] == [first]
    small_cgroup(1 << 30)  # the pod is resized: the same call loads
    model_id, ret = acl.mdl.load_from_mem(small.ctypes.data, small.nbytes)
    assert ret == 0 and model_id != first



def test_unmapped_pages_get_acl_codes(env_with_device, pages):
    acl, _ = env_with_device
    dev = device(acl, 3 * PAGE)
    data = np.arange(3 * PAGE, dtype=np.uint8)
    assert acl.rt.memcpy(pages.base, 3 * PAGE, data.ctypes.data, 3 * PAGE, H2H) == 0  # all mapped: fine
    pages.unmap(1)
    assert acl.rt.memcpy(dev, 3 * PAGE, pages.base, 3 * PAGE, H2D) == 107000  # src crosses the hole
    assert "not live memory" in acl.get_recent_err_msg()
    assert acl.rt.memcpy(pages.base, 3 * PAGE, dev, 3 * PAGE, D2H) == 107000  # so does dst
    assert acl.rt.memcpy(pages.base + PAGE, 16, data.ctypes.data, 16, H2H) == 107000  # inside it
    assert acl.rt.memcpy(dev, PAGE, pages.base + 2 * PAGE, PAGE, H2D) == 0  # the pages around it still work
    assert acl.rt.memcpy(pages.base, PAGE - 8, dev, PAGE - 8, D2H) == 0
    assert acl.rt.memset(pages.base + PAGE - 8, 16, 0, 16) == 107000  # runs into the hole
    with pytest.raises(ValueError, match="not live memory"):
        acl.util.ptr_to_bytes(pages.base + PAGE, 4)
    with pytest.raises(ValueError, match="not live memory"):
        acl.util.ptr_to_numpy(pages.base, (3 * PAGE,), 2)  # uint8
    assert acl.mdl.load_from_mem(pages.base + PAGE, 64) == (0, 100000)
    assert acl.mdl.query_size_from_mem(pages.base, 3 * PAGE) == (0, 0, 100000)
    assert acl.rt.free(dev) == 0


def test_a_closed_mmap_and_a_made_up_address_get_acl_codes(env_with_device):
    acl, _ = env_with_device
    dev = device(acl, 64)
    m = mmap.mmap(-1, PAGE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(m))
    assert acl.rt.memcpy(dev, 64, address, 64, H2D) == 0
    m.close()
    assert acl.rt.memcpy(dev, 64, address, 64, H2D) == 107000
    assert acl.rt.memcpy(address, 64, dev, 64, D2H) == 107000
    for made_up in (0x7F0000001000, 0xDEAD, (1 << 63) + 64, (1 << 64) - 16):
        assert acl.rt.memcpy(dev, 64, made_up, 64, H2D) == 107000
        assert acl.rt.memcpy(made_up, 64, dev, 64, D2H) == 107000
        assert acl.mdl.load_from_mem(made_up, 64) == (0, 100000)
    assert acl.rt.free(dev) == 0


def test_the_access_must_match_read_only_and_no_access_pages(env_with_device, pages):
    acl, _ = env_with_device
    dev = device(acl, PAGE)
    assert acl.rt.memcpy(dev, PAGE, pages.base, PAGE, H2D) == 0
    pages.protect(0, PROT_READ)
    assert acl.rt.memcpy(dev, PAGE, pages.base, PAGE, H2D) == 0  # a read-only page may be read
    assert acl.rt.memcpy(pages.base, PAGE, dev, PAGE, D2H) == 107000  # but not written
    assert acl.rt.memset(pages.base, 16, 1, 16) == 107000
    ro = acl.util.ptr_to_numpy(pages.base, (PAGE,), 2)
    assert not ro.flags.writeable  # a write through the array would segfault
    pages.protect(1, PROT_NONE)
    assert acl.rt.memcpy(dev, PAGE, pages.base + PAGE, PAGE, H2D) == 107000
    with pytest.raises(ValueError):
        acl.util.ptr_to_bytes(pages.base + PAGE, 1)
    assert acl.rt.free(dev) == 0


def test_device_memory_stays_device_memory(env_with_device):
    """The ledger's knowledge comes first: an EP device pointer is not host memory (on the
    ctypes backend it is, in the C library's heap, which the kernel would call mapped)."""
    acl, _ = env_with_device
    dev = device(acl, 64)
    with pytest.raises(ValueError, match="EP mode"):
        acl.util.ptr_to_bytes(dev, 64)
    host = np.zeros(128, dtype=np.uint8)
    assert acl.rt.memcpy(dev + 32, 64, host.ctypes.data, 64, H2D) == 107000  # runs past the allocation
    assert acl.rt.memcpy(host.ctypes.data, 64, host.ctypes.data + 64, 64, D2H) == 107000  # no device side
    assert acl.rt.free(dev) == 0
    assert acl.rt.memcpy(dev, 64, host.ctypes.data, 64, H2D) == 107000  # freed


@pytest.mark.parametrize("soc", ["Ascend910B1", "Ascend310B4"])  # EP: pinned host memory; RC: device memory
def test_an_array_made_after_a_free_never_inherits_its_refusal(rig, soc):
    """A copy from a live array always works, whatever the program freed before. On both backends
    memory given back with aclrtFreeHost stays refused, and no array made next is handed those
    addresses (the C library holds its freed blocks back as the simulator does). (Before, numpy
    reused a freed block's address within a few frees, and a copy from that live array got 107000
    "points into memory that was freed".)"""
    session = rig.session(soc=soc)
    with pyacl_installed(session, set_device=True) as acl:
        dev = device(acl, 8192)
        freed, arrays = [], []
        for size in (64, 4000, 4096, 8192) * 25:
            ptr, ret = acl.rt.malloc_host(size)
            assert ret == 0 and acl.rt.free_host(ptr) == 0
            freed.append((ptr, ptr + size))
            arrays.append(np.full(size, len(arrays) % 251, dtype=np.uint8))  # kept: each a new allocation
            data = arrays[-1].ctypes.data
            assert not any(lo <= data < hi for lo, hi in freed), "an array was given freed ACL memory"
            assert acl.rt.memcpy(dev, 8192, data, size, H2D) == 0, acl.get_recent_err_msg()
        back = np.zeros(8192, dtype=np.uint8)
        assert acl.rt.memcpy(back.ctypes.data, 8192, dev, 8192, D2H) == 0
        assert (back == arrays[-1]).all()  # the last copy really happened
        assert acl.rt.memcpy(dev, 8192, freed[-1][0], 64, H2D) == 107000  # the stale pointer itself
        assert acl.rt.free(dev) == 0


@pytest.mark.parametrize("way", ["madvise", "process_vm", "proc-maps"])
def test_each_way_of_asking_the_kernel_gives_the_same_answers(pages, way):
    previous = hostmem._use(way)
    try:
        arr = np.zeros(5 * PAGE, dtype=np.uint8)
        assert hostmem.accessible(arr.ctypes.data, arr.nbytes, write=True)
        assert hostmem.accessible(arr.ctypes.data + 3, 1)
        assert not hostmem.accessible(0x7F0000001000, 64)
        assert not hostmem.accessible(0, 8)
        assert hostmem.accessible(pages.base, 3 * PAGE, write=True)
        pages.protect(1, PROT_READ)
        assert hostmem.accessible(pages.base, 3 * PAGE)
        assert not hostmem.accessible(pages.base, 3 * PAGE, write=True)
        pages.protect(1, PROT_NONE)
        assert not hostmem.accessible(pages.base + PAGE + 100, 1)
        pages.protect(1, PROT_RW)
        pages.unmap(1)
        assert not hostmem.accessible(pages.base, 3 * PAGE)
        assert hostmem.accessible(pages.base + 2 * PAGE, PAGE, write=True)
        assert not hostmem.accessible(pages.base + PAGE - 1, 2)
        assert hostmem.accessible(pages.base + PAGE - 1, 1, write=True)
    finally:
        hostmem._use(previous)


def test_a_program_written_with_ctypes_data_runs_unchanged(tmp_path):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("raw_pointers.py", str(model), str(out), "4")
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    (want,) = simulated_outputs(model.read_bytes(), [saved["input0"]])
    assert saved["output0"].tobytes() == want
    assert r.stdout.strip() == f"top1: {int(np.argmax(saved['output0']))} same: True"
    assert "acl-notebook:" not in r.stderr  # cleaned up: no leak report


def test_the_same_program_on_the_ctypes_backend(tmp_path_factory, tmp_path, monkeypatch):
    from abi_lib import build_fake_acl

    from acl_notebook.session import Config, Session

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    env = {"ACL_NOTEBOOK_BACKEND": "acl", "ASCEND_HOME_PATH": str(lib.parents[1])}
    r = run_program("raw_pointers.py", str(model), str(out), env=env)
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    monkeypatch.setenv("ASCEND_HOME_PATH", env["ASCEND_HOME_PATH"])
    same = Session(Config(backend="acl"))
    try:
        (want,) = outputs_on(same, model.read_bytes(), [saved["input0"]])
    finally:
        same.shutdown()
    assert saved["output0"].tobytes() == want


def test_a_copy_of_two_gib_or_more_is_whole(sim_env):
    """ctypes.string_at hands C its count as an int: acl.util.ptr_to_bytes of 2**31 + 16 bytes of
    raw memory returned the bytes up to the first NUL, and 2**32 + 5 bytes would have been 5; a
    model loaded from such a pointer was copied short the same way."""
    acl, _ = sim_env
    n = 2**31 + 16
    base = libc.mmap(None, n, PROT_RW, 0x4022, -1, 0)  # MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
    assert base not in (None, ctypes.c_void_p(-1).value)
    try:  # untouched pages read as zeros without taking memory; only the copy does
        ctypes.memmove(base, b"h\0", 2)
        ctypes.memmove(base + n - 4, b"tail", 4)
        data = acl.util.ptr_to_bytes(base, n)
        assert len(data) == n and data[:2] == b"h\0" and data[-4:] == b"tail"
        del data
    finally:
        libc.munmap(base, n)
