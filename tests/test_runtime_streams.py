"""Streams as queues of tasks of several kinds: aclrtMemcpyAsync next to aclmdlExecuteAsync.

The same behaviour on both backends (the C library completes stream work at launch, the
simulator when the stream is waited for), in EP and RC: the runtime's order of checks for
aclrtMemcpyAsync, launch order across copies and runs, and what only the simulator can show
(a forgotten synchronize reads stale bytes). Facts: shared/docs/acl-execute.md §2-§3 and
the runtime's MemcpyAsync checks as `sim_exec`'s docstring records them.
"""

from __future__ import annotations

import numpy as np
import pytest
from backends import D2D, D2H, DEFAULT, H2D, H2H, check_values, code_of, in_thread, pinned, read_host


def test_copies_on_a_stream_arrive_after_synchronize(dev):
    b = dev.backend
    payload = bytes(range(200))
    host_in, host_out = pinned(b, payload), pinned(b, bytes(200))
    device = b.malloc(200)
    stream = b.create_stream()
    b.memcpy_async(device, 200, host_in, 200, H2D, stream)
    b.memcpy_async(host_out, 200, device, 200, D2H, stream)  # in order: reads what the first wrote
    b.synchronize_stream(stream)
    assert read_host(b, host_out, 200) == payload
    b.destroy_stream(stream)
    for ptr in (host_in, host_out):
        b.free_host(ptr)
    b.free(device)


def test_memcpy_async_checks_in_the_runtimes_order(dev, mode):
    b = dev.backend
    host, device = b.malloc_host(64), b.malloc(64)
    stream = b.create_stream()
    assert code_of(b.memcpy_async, 0, 64, host, 64, H2D, stream) == 100000  # NULL first
    assert code_of(b.memcpy_async, device, 64, host, 64, 7, stream) == 100000  # then the kind
    assert code_of(b.memcpy_async, device, 64, host, 0, H2D, stream) == 107000  # count 0: no no-op here
    assert code_of(b.memcpy_async, device, 32, host, 64, H2D, stream) == 107000  # count > destMax
    assert in_thread(lambda: code_of(b.memcpy_async, device, 64, host, 64, H2D, stream)) == 107002
    assert code_of(b.memcpy_async, device, 64, host, 64, H2D, stream + 16) == 107017  # not a stream
    if mode == "EP":
        assert code_of(b.memcpy_async, device + 64, 64, host, 64, H2D, stream) == 107000  # past the block
        assert code_of(b.memcpy_async, host, 64, device, 64, H2H, stream) == 107000, "device memory as host"
        other = b.malloc_host(64)
        assert code_of(b.memcpy_async, other, 64, host, 64, H2H, stream) == 207000, "no async H2H in EP"
        b.free_host(other)
    b.memcpy_async(device, 64, device, 64, D2D, stream)  # dst == src: nothing to do
    b.synchronize_stream(stream)
    b.destroy_stream(stream)
    b.free_host(host)
    b.free(device)


def test_a_stream_of_another_context_is_refused(dev):
    b = dev.backend
    host, device = b.malloc_host(64), b.malloc(64)
    stream = b.create_stream()
    other = b.create_context(0)  # current now
    assert code_of(b.memcpy_async, device, 64, host, 64, H2D, stream) == 107003
    b.destroy_context(other)
    dev._use(0)
    b.destroy_stream(stream)
    b.free_host(host)
    b.free(device)


def test_a_pipeline_of_copies_and_a_run_keeps_launch_order(rig, static):
    """Stage the inputs with memcpy_async, execute_async, copy the outputs back with
    memcpy_async, synchronize: the values are the run's on the staged inputs."""
    r, b = static, static.b
    a = np.arange(16, dtype=np.float32) - 3
    bb = np.array([7, 1, -2], dtype=np.int8)
    stream = b.create_stream()
    staged = [pinned(b, x.tobytes()) for x in (a, bb)]
    for i, (ptr, x) in enumerate(zip(staged, (a, bb))):
        b.memcpy_async(r.addr(r.inputs, i), x.nbytes, ptr, x.nbytes, H2D, stream)
    b.execute_async(r.m.id, r.inputs, r.outputs, stream)
    backs = []
    for j, t in enumerate(r.m.outputs):
        backs.append(pinned(b, bytes(t.size)))
        b.memcpy_async(backs[-1], t.size, r.addr(r.outputs, j), t.size, D2H, stream)
    b.synchronize_stream(stream)
    for j, t in enumerate(r.m.outputs):
        got = np.frombuffer(read_host(b, backs[j], t.size), np.uint8)
        check_values(rig, r.s, got, [a, bb], j)
    b.destroy_stream(stream)
    for ptr in staged + backs:
        b.free_host(ptr)


def test_a_copy_into_pageable_memory_waits_for_the_stream_first(rig, static):
    """Current CANN turns an async copy touching pageable host memory (a numpy array) into
    "synchronize the stream, then copy": the array holds the queued run's outputs at once."""
    r, b = static, static.b
    a, bb = np.ones(16, np.float32), np.array([1, 2, 3], np.int8)
    r.put(0, a)
    r.put(1, bb)
    stream = b.create_stream()
    b.execute_async(r.m.id, r.inputs, r.outputs, stream)
    t = r.m.outputs[0]
    out = np.zeros(t.size, np.uint8)
    b.memcpy_async(out.ctypes.data, t.size, r.addr(r.outputs, 0), t.size, D2H, stream)
    check_values(rig, r.s, out, [a, bb], 0)
    b.destroy_stream(stream)


def test_the_default_stream_and_the_default_kind(dev):
    b = dev.backend
    payload = b"\x5a" * 96
    src, dst = pinned(b, payload), pinned(b, bytes(96))
    device = b.malloc(96)
    b.memcpy_async(device, 96, src, 96, DEFAULT, 0)  # where each address lives decides
    b.memcpy_async(dst, 96, device, 96, DEFAULT, 0)
    b.synchronize_stream(0)
    assert read_host(b, dst, 96) == payload
    for ptr in (src, dst):
        b.free_host(ptr)
    b.free(device)


# -- what only the simulator can show: the copy happens when the stream gets to it ---------------
def test_forgetting_to_synchronize_reads_stale_bytes(sim_dev):
    b = sim_dev.backend
    old, new = b"\x01" * 64, b"\x02" * 64
    host_out = pinned(b, old)
    device = b.malloc(64)
    b.memcpy(device, 64, np.frombuffer(new, np.uint8).ctypes.data, 64, H2D)
    stream = b.create_stream()
    b.memcpy_async(host_out, 64, device, 64, D2H, stream)
    assert read_host(b, host_out, 64) == old, "the copy has not happened yet"
    b.synchronize_stream(stream)
    assert read_host(b, host_out, 64) == new
    b.destroy_stream(stream)
    b.free_host(host_out)
    b.free(device)


def test_a_queued_copy_reads_its_source_when_the_stream_reaches_it(sim_dev):
    b = sim_dev.backend
    src, dst = pinned(b, b"\x03" * 32), pinned(b, bytes(32))
    device = b.malloc(32)
    stream = b.create_stream()
    b.memcpy_async(device, 32, src, 32, H2D, stream)
    b.memcpy(src, 32, np.full(32, 4, np.uint8).ctypes.data, 32, H2H)  # changed before the stream ran
    b.memcpy_async(dst, 32, device, 32, D2H, stream)
    b.destroy_stream(stream)  # waits for the stream's tasks
    assert read_host(b, dst, 32) == b"\x04" * 32
    for ptr in (src, dst):
        b.free_host(ptr)
    b.free(device)


@pytest.mark.parametrize("finish", ["destroy_context", "reset_device", "finalize"])
def test_what_else_waits_for_queued_copies(finish):
    from acl_notebook.runtime.simulator import SimulatorBackend

    b = SimulatorBackend(soc="Ascend910B1")
    b.init()
    ctx = b.create_context(0)
    src, dst = pinned(b, b"\x09" * 48), pinned(b, bytes(48))
    stream = b.create_stream()
    device = b.malloc(48)
    b.memcpy_async(device, 48, src, 48, H2D, stream)
    b.memcpy_async(dst, 48, device, 48, D2H, stream)
    assert read_host(b, dst, 48) == bytes(48)
    if finish == "destroy_context":
        b.destroy_context(ctx)
    elif finish == "reset_device":
        b.reset_device(0)
    else:
        b.finalize()
    view = b.memory.find(dst).view
    assert bytes(view[:48]) == b"\x09" * 48
