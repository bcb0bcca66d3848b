"""acl.rt.memset_async (aclrtMemsetAsync), which memory samples and pre-processing code use to
clear or fill buffers on a stream.

ACL checks only for NULL; the runtime (`Context::MemsetAsync`) then looks at where the memory
lives: host memory is set at once by a memset_s (count > maxCount fails), device memory is
filled through the stream (count 0 a no-op, count > maxCount 207001). On the simulator the
fill is a task of its stream, so it happens in launch order with the stream's copies and
runs, and a read before the synchronize sees the old bytes.
"""

from __future__ import annotations

import pytest
from pyacl_helpers import D2H, H2D, HUGE_FIRST, pyacl_installed, run_program


@pytest.fixture
def stream_env(env_with_device):
    """`env_with_device` with a context of the program's own and a stream in it: (acl, stream)."""
    acl, _ = env_with_device
    context, ret = acl.rt.create_context(0)
    assert ret == 0
    stream, ret = acl.rt.create_stream()
    assert ret == 0
    yield acl, stream
    assert acl.rt.destroy_stream(stream) == 0
    assert acl.rt.destroy_context(context) == 0


@pytest.fixture
def stream_sim(sim_env):
    """`sim_env` with device 0 set and a stream in its default context: (acl, stream)."""
    acl, _ = sim_env
    assert acl.rt.set_device(0) == 0
    stream, ret = acl.rt.create_stream()
    assert ret == 0
    yield acl, stream
    assert acl.rt.destroy_stream(stream) == 0


def device_bytes(acl, ptr, size):
    host, ret = acl.rt.malloc_host(size)
    assert ret == 0
    try:
        assert acl.rt.memcpy(host, size, ptr, size, D2H) == 0
        return acl.util.ptr_to_bytes(host, size)
    finally:
        acl.rt.free_host(host)


def test_host_memory_is_set_at_once(stream_env):
    acl, stream = stream_env
    host, ret = acl.rt.malloc_host(64)
    assert ret == 0
    assert acl.rt.memset(host, 64, 1, 64) == 0
    assert acl.rt.memset_async(host, 64, 0x5A, 40, stream) == 0
    assert acl.util.ptr_to_bytes(host, 64) == b"\x5a" * 40 + b"\x01" * 24  # before any synchronize
    assert acl.rt.free_host(host) == 0


def test_device_memory_is_filled_by_the_stream(stream_env):
    acl, stream = stream_env
    dev, ret = acl.rt.malloc(256, HUGE_FIRST)
    assert ret == 0
    assert acl.rt.memset(dev, 256, 1, 256) == 0
    assert acl.rt.memset_async(dev, 256, 0x300 + 9, 100, stream) == 0  # the low byte, as memset
    assert acl.rt.synchronize_stream(stream) == 0
    assert device_bytes(acl, dev, 256) == b"\x09" * 100 + b"\x01" * 156
    assert acl.rt.memset_async(dev, 256, 7, 256, 0) == 0  # 0: the default stream
    assert acl.rt.synchronize_stream(0) == 0
    assert device_bytes(acl, dev, 256) == b"\x07" * 256
    assert acl.rt.free(dev) == 0


def test_the_codes(stream_env):
    acl, stream = stream_env
    dev, _ = acl.rt.malloc(64, HUGE_FIRST)
    host, _ = acl.rt.malloc_host(64)
    assert acl.rt.memset_async(0, 64, 0, 64, stream) == 100000
    assert acl.rt.memset_async(dev, 32, 0, 64, stream) == 207001  # device: RT_ERROR_MEMORY_ALLOCATION
    assert acl.rt.memset_async(host, 32, 0, 64, stream) == 507000  # host: memset_s failed
    assert "exceeds maxCount" in acl.get_recent_err_msg()
    assert acl.rt.memset_async(dev, 64, 0, 0, stream) == 0  # count 0 changes nothing
    assert acl.rt.memset_async(dev, 64, 0, 8, 0xDEAD0) == 107017  # not a stream
    assert acl.rt.memset_async(dev + 32, 64, 0, 64, stream) == 107000  # runs past the block
    assert acl.rt.free(dev) == 0 and acl.rt.free_host(host) == 0


def test_no_current_context_is_107002(rig):
    import threading

    session = rig.session(soc="Ascend910B1")
    with pyacl_installed(session, set_device=True) as acl:
        host, _ = acl.rt.malloc_host(16)
        got = []
        t = threading.Thread(target=lambda: got.append(acl.rt.memset_async(host, 16, 0, 16, 0)))
        t.start()
        t.join()
        assert got == [107002]
        assert acl.rt.free_host(host) == 0


def test_a_fill_waits_for_the_stream_on_the_simulator(stream_sim):
    acl, stream = stream_sim
    dev, _ = acl.rt.malloc(128, HUGE_FIRST)
    assert acl.rt.memset(dev, 128, 0xAB, 128) == 0
    assert acl.rt.memset_async(dev, 128, 0, 128, stream) == 0
    assert device_bytes(acl, dev, 128) == b"\xab" * 128, "a synchronous copy does not wait for the stream"
    assert acl.rt.synchronize_stream(stream) == 0
    assert device_bytes(acl, dev, 128) == bytes(128)
    assert acl.rt.free(dev) == 0


def test_fills_and_copies_run_in_launch_order(stream_sim):
    acl, stream = stream_sim
    src, _ = acl.rt.malloc(64, HUGE_FIRST)
    dst, _ = acl.rt.malloc(64, HUGE_FIRST)
    staging, _ = acl.rt.malloc_host(64)
    assert acl.rt.memset(staging, 64, 3, 64) == 0
    assert acl.rt.memcpy_async(src, 64, staging, 64, H2D, stream) == 0
    assert acl.rt.memset_async(src, 64, 4, 32, stream) == 0  # after the copy: overwrites its first half
    assert acl.rt.memcpy_async(dst, 64, src, 64, 3, stream) == 0  # after the fill: sees it
    assert acl.rt.memset_async(src, 64, 5, 64, stream) == 0  # after that copy: not seen by dst
    assert acl.rt.synchronize_stream(stream) == 0
    assert device_bytes(acl, dst, 64) == b"\x04" * 32 + b"\x03" * 32
    assert device_bytes(acl, src, 64) == b"\x05" * 64
    for p in (src, dst):
        assert acl.rt.free(p) == 0
    assert acl.rt.free_host(staging) == 0


def test_a_program_that_fills_and_round_trips():
    r = run_program("fill_and_round_trip.py", "4096", "7")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["host after fill: [7]", "round trip: [7]", "device after clear: [0]"]
    assert "acl-notebook:" not in r.stderr
