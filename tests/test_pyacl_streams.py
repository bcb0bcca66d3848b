"""``acl.rt.memcpy_async`` in the pyACL image, on both backends, and programs that use it.

The image checks every pointer and stream handle before the runtime sees it (a made-up one
gets ACL's code, never a crash); the runtime's own checks keep their order and codes; the
copies join the stream's queue in order with ``execute_async``.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyacl_helpers import (
    D2H,
    H2D,
    H2H,
    Program,
    classifier_spec,
    image,
    outputs_on,
    run_program,
    simulated_outputs,
    write,
)


def host_buffer(acl, data: bytes) -> int:
    ptr, ret = acl.rt.malloc_host(len(data))
    assert ret == 0
    assert acl.rt.memcpy(ptr, len(data), acl.util.bytes_to_ptr(data), len(data), H2H) == 0
    return ptr


def test_staged_copies_and_a_run_on_one_stream_give_model_runs_values(env):
    acl, session = env
    p = Program(acl)
    x = image(8)
    (in_ptr, in_size), (out_ptr, out_size) = p.in_ptrs[0], p.out_ptrs[0]
    staged, back = host_buffer(acl, x.tobytes()), host_buffer(acl, bytes(out_size))
    stream, ret = acl.rt.create_stream()
    assert ret == 0
    assert acl.rt.memcpy_async(in_ptr, in_size, staged, in_size, H2D, stream) == 0
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.memcpy_async(back, out_size, out_ptr, out_size, D2H, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert acl.util.ptr_to_bytes(back, out_size) == want
    assert acl.rt.destroy_stream(stream) == 0
    for ptr in (staged, back):
        assert acl.rt.free_host(ptr) == 0


def test_memcpy_async_codes(env):
    acl, _ = env
    p = Program(acl)
    in_ptr, size = p.in_ptrs[0]
    host = host_buffer(acl, bytes(size))
    stream, _ = acl.rt.create_stream()
    assert acl.rt.memcpy_async(0, size, host, size, H2D, stream) == 100000
    assert acl.rt.memcpy_async(in_ptr, size, host, size, 9, stream) == 100000
    assert acl.rt.memcpy_async(in_ptr, size, host, 0, H2D, stream) == 107000  # count 0 is no no-op here
    assert acl.rt.memcpy_async(in_ptr, size - 1, host, size, H2D, stream) == 107000
    assert acl.rt.memcpy_async(in_ptr, size, host, size, H2D, stream + 0x40) == 107017
    assert "is not a live stream" in acl.get_recent_err_msg()
    assert acl.rt.memcpy_async(in_ptr, size, 0xDEAD0000, size, H2D, stream) == 107000  # made up
    assert acl.rt.memcpy_async(in_ptr + size, size, host, size, H2D, stream) == 107000  # past the block
    other = host_buffer(acl, bytes(size))
    assert acl.rt.memcpy_async(other, size, host, size, H2H, stream) == 207000  # EP: no async H2H
    assert acl.rt.destroy_stream(stream) == 0
    assert acl.rt.memcpy_async(in_ptr, size, host, size, H2D, stream) == 107017  # destroyed
    for ptr in (host, other):
        assert acl.rt.free_host(ptr) == 0
    with pytest.raises(TypeError):
        acl.rt.memcpy_async(in_ptr, size, host, size, H2D, "stream")


def test_a_forgotten_synchronize_reads_stale_bytes(sim_env):
    acl, session = sim_env
    p = Program(acl)
    x = image(9)
    p.feed(x)
    out_ptr, out_size = p.out_ptrs[0]
    back = host_buffer(acl, b"\x11" * out_size)
    stream, _ = acl.rt.create_stream()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.memcpy_async(back, out_size, out_ptr, out_size, D2H, stream) == 0
    assert acl.util.ptr_to_bytes(back, out_size) == b"\x11" * out_size
    assert acl.rt.synchronize_stream(stream) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert acl.util.ptr_to_bytes(back, out_size) == want
    assert acl.rt.destroy_stream(stream) == 0


def test_a_copy_into_a_numpy_array_waits_for_the_stream(env):
    """Pageable memory: ACL synchronizes the stream and copies at once, so the array holds
    the queued run's outputs without a synchronize_stream."""
    acl, session = env
    p = Program(acl)
    x = image(10)
    p.feed(x)
    out_ptr, out_size = p.out_ptrs[0]
    stream, _ = acl.rt.create_stream()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    arr = np.zeros(out_size, np.uint8)
    assert acl.rt.memcpy_async(arr.ctypes.data, out_size, out_ptr, out_size, D2H, stream) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert arr.tobytes() == want
    assert acl.rt.destroy_stream(stream) == 0


def test_copies_change_no_memory_accounting(env):
    acl, session = env
    p = Program(acl)
    free_before = acl.rt.get_mem_info(1)[0]
    listed = sorted((a.ptr, a.charge) for a in session.programs().allocations())
    in_ptr, size = p.in_ptrs[0]
    host = host_buffer(acl, bytes(size))
    stream, _ = acl.rt.create_stream()
    assert acl.rt.memcpy_async(in_ptr, size, host, size, H2D, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0
    assert acl.rt.free_host(host) == 0
    assert acl.rt.get_mem_info(1)[0] == free_before
    assert sorted((a.ptr, a.charge) for a in session.programs().allocations()) == listed
    assert acl.rt.destroy_stream(stream) == 0


# -- programs, run as a user runs them --------------------------------------------------------------
def test_double_buffered_copy_pipeline(tmp_path):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("copy_pipeline.py", str(model), str(out), "5")
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    assert saved["outputs"].shape == (5, 10)
    for x, y in zip(saved["inputs"], saved["outputs"]):
        (want,) = simulated_outputs(model.read_bytes(), [x])
        assert y.tobytes() == want
    assert len({y.tobytes() for y in saved["outputs"]}) == 5


def test_the_same_pipeline_without_synchronize_reads_the_old_contents(tmp_path):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("copy_pipeline.py", str(model), str(out), "4", "--forget-sync")
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    assert (saved["outputs"].view(np.uint8) == 0x7F).all(), "nothing arrived before a synchronize"
