"""The backend layer's memory, stream, data-buffer and dataset calls, on both backends, in EP and RC.

Each test drives `session.backend` with ACL's own call sequence (after `_use` made the
session's context current) and checks ACL's results and codes (shared/docs/acl-execute.md
§2-§5). The same assertions hold for the simulator and for real ctypes calls into the C
library (tests/abi/fakeacl.c).
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from backends import D2D, D2H, DEFAULT, H2D, H2H, MODES, code_of, in_thread

from acl_notebook.runtime.base import MallocPolicy, MemAttr, RunMode, malloc_charge
from acl_notebook.runtime.errors import AclError, FunctionNotFoundError


def free_bytes(s) -> int:
    return s.backend.mem_info(s._mem_attr())[0]


def test_run_mode_is_reported(dev, mode):
    assert dev.backend.run_mode() == (RunMode.HOST if mode == "EP" else RunMode.DEVICE)


# -- aclrtMalloc / aclrtFree -------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 31, 32, 33, 1000, 1 << 20])
def test_malloc_charges_rounding_and_padding(dev, size):
    b = dev.backend
    before = free_bytes(dev)
    ptr = b.malloc(size)
    assert ptr and ptr % 64 == 0, "aclrtMalloc starts 64-byte aligned"
    assert before - free_bytes(dev) == (size + 63) // 32 * 32 == malloc_charge(size)
    b.free(ptr)
    assert free_bytes(dev) == before


@pytest.mark.parametrize("policy,padded", [
    (MallocPolicy.HUGE_FIRST, True), (MallocPolicy.NORMAL_ONLY, True), (MallocPolicy.HUGE1G_ONLY, False),
    (MallocPolicy.HUGE1G_ONLY_P2P, False), (MallocPolicy.HUGE1G_ONLY | 0x100, False), (99, True),
])
def test_malloc_policy_decides_the_padding(dev, policy, padded):
    before = free_bytes(dev)
    ptr = dev.backend.malloc(100, policy)
    assert before - free_bytes(dev) == (160 if padded else 128)
    dev.backend.free(ptr)


def test_malloc_checks_in_acl_order(rig, dev):
    b = dev.backend
    assert code_of(b.malloc, 0) == 100000
    assert in_thread(lambda: code_of(b.malloc, 0)) == 100000, "size is checked before the context"
    assert in_thread(lambda: code_of(b.malloc, 64)) == 107002
    free = free_bytes(dev)
    assert code_of(b.malloc, free + 1) == 207001
    assert free_bytes(dev) == free
    assert rig.live(dev)["device_allocations"] == 0


def test_free_refuses_null_stale_and_made_up_pointers(rig, dev):
    b = dev.backend
    ptr = b.malloc(256)
    assert code_of(b.free, 0) == 100000
    assert code_of(b.free, ptr + 64) == 107000, "an interior pointer is not an allocation"
    assert code_of(b.free, 0x1234_5678_9AB0) == 107000
    b.free(ptr)
    assert code_of(b.free, ptr) == 107000, "double free"
    assert rig.live(dev)["device_allocations"] == 0


def test_free_needs_no_context(dev):
    ptr = dev.backend.malloc(64)
    assert in_thread(lambda: dev.backend.free(ptr)) is None


# -- aclrtMallocHost ------------------------------------------------------------------------------
def test_malloc_host_is_host_memory_in_ep_and_device_memory_in_rc(rig, dev, mode):
    b = dev.backend
    before = free_bytes(dev)
    host = b.malloc_host(1000)
    live = rig.live(dev)
    if mode == "EP":
        assert (live["host_allocations"], live["device_allocations"]) == (1, 0)
        assert free_bytes(dev) == before, "page-locked host memory is not device memory"
        ctypes.memset(host, 7, 1000)  # the host may write it directly
    else:
        assert (live["host_allocations"], live["device_allocations"]) == (0, 1)
        assert free_bytes(dev) < before
    assert code_of(b.malloc_host, 0) == 100000
    assert code_of(b.free_host, 0) == 100000
    b.free_host(host)
    assert code_of(b.free_host, host) == 107000
    assert free_bytes(dev) == before


def test_host_memory_the_machine_cannot_give_is_acls_allocation_error(dev):
    """aclrtMallocHost of more than the host can map (256 TiB) is 207001, like any failed
    allocation, never a Python MemoryError or OSError; the next one works."""
    b = dev.backend
    before = free_bytes(dev)
    assert code_of(b.malloc_host, 2**48) == 207001
    assert free_bytes(dev) == before
    host = b.malloc_host(64)
    b.free_host(host)


@pytest.mark.parametrize("soc", list(MODES.values()))
def test_freed_blocks_are_held_and_refused_only_within_a_budget(soc):
    """A freed real-memory block stays refused (107000 for a stale pointer) while its storage
    is held back, so the heap cannot hand its addresses to a new allocation; past 32 MiB of
    them the oldest are let go, refusal and memory together, so freeing never hoards RAM."""
    from acl_notebook.runtime.sim_memory import FREED_BYTES
    from acl_notebook.session import Config, Session

    s = Session(Config(backend="sim", soc=soc))
    s.start()
    s._use(0)
    b = s.backend
    try:
        freed = []
        for _ in range(2 * FREED_BYTES // (1 << 20)):
            ptr = b.malloc_host(1 << 20)
            b.free_host(ptr)
            freed.append(ptr)
        # a let-go address may be handed out again, or fall inside a later block that is held
        # (mmap places blocks where it likes), so the budget is read off the held blocks
        held = {p for p in freed if b.memory.was_freed(p)}
        assert freed[-1] in held and len(held) < len(set(freed))
        assert 0 < b.memory._freed_bytes <= FREED_BYTES and len(b.memory._freed) <= FREED_BYTES // (1 << 20)
        dev = b.malloc(64)
        assert code_of(b.memcpy, dev, 64, freed[-1], 64, H2D) == 107000  # still refused: a stale pointer
        b.free(dev)
    finally:
        s.shutdown()


@pytest.mark.parametrize("soc", list(MODES.values()))
def test_the_simulator_asks_the_host_before_it_holds_device_memory(soc, small_host):
    """The simulator keeps every block in host RAM: past what the host has available (a
    pretend 1 MiB host) aclrtMalloc is 207001 saying so, instead of paging in until the
    process is killed for memory; small blocks still work."""
    from acl_notebook.session import Config, Session

    s = Session(Config(backend="sim", soc=soc))
    s.start()
    s._use(0)
    try:
        small_host(1 << 20)
        with pytest.raises(AclError, match="keeps device memory in this host's RAM, which cannot give 4.0 MiB") as info:
            s.backend.malloc(4 << 20)
        assert info.value.code == 207001
        s.backend.free(s.backend.malloc(4096))
    finally:
        s.shutdown()


# -- aclrtMemcpy ---------------------------------------------------------------------------------
def test_copies_round_trip_through_device_memory(dev):
    b = dev.backend
    data = np.arange(4096, dtype=np.uint8)
    back = np.zeros_like(data)
    d1, d2 = b.malloc(data.nbytes), b.malloc(data.nbytes)
    b.memcpy(d1, data.nbytes, data.ctypes.data, data.nbytes, H2D)
    b.memcpy(d2, data.nbytes, d1, data.nbytes, D2D)
    b.memcpy(back.ctypes.data, back.nbytes, d2, data.nbytes, D2H)
    assert (back == data).all()
    back[:] = 0
    b.memcpy(back.ctypes.data, back.nbytes, d1, 100, DEFAULT)  # the addresses decide
    assert (back[:100] == data[:100]).all() and not back[100:].any()
    host = np.zeros(16, dtype=np.uint8)
    b.memcpy(host.ctypes.data, 16, data.ctypes.data, 16, H2H)
    assert (host == data[:16]).all()
    b.free(d1)
    b.free(d2)


def test_memcpy_checks_in_acl_order(dev):
    b = dev.backend
    d = b.malloc(64)
    host = np.zeros(64, dtype=np.uint8)
    h = host.ctypes.data
    assert b.memcpy(0, 0, 0, 0, 99) is None, "count 0 succeeds before anything is checked"
    assert code_of(b.memcpy, 0, 64, h, 64, H2D) == 100000
    assert code_of(b.memcpy, d, 64, 0, 64, H2D) == 100000
    for kind in (6, 7, 8, -1):
        assert code_of(b.memcpy, d, 64, h, 64, kind) == 100000, kind
    assert code_of(b.memcpy, d, 0, h, 64, H2D) == 107000
    assert code_of(b.memcpy, d, 32, h, 64, H2D) == 107000
    assert b.memcpy(d, 64, d, 64, 6 - 5) is None, "dst == src succeeds without copying"
    # the context is checked after all of that
    assert in_thread(lambda: b.memcpy(d, 64, d, 64, H2D)) is None
    assert in_thread(lambda: code_of(b.memcpy, d, 64, h, 64, H2D)) == 107002
    b.free(d)


def test_memcpy_refuses_pointers_that_are_not_where_the_kind_says(rig, dev, mode):
    b = dev.backend
    d = b.malloc(64)
    host = np.zeros(128, dtype=np.uint8)
    h = host.ctypes.data
    assert code_of(b.memcpy, d, 128, h, 128, H2D) == 107000, "past the end of the allocation"
    assert code_of(b.memcpy, d + 32, 64, h, 64, H2D) == 107000, "starts inside, ends outside"
    if mode == "EP":  # device memory is not host memory on a PCIe card
        assert code_of(b.memcpy, h, 64, h + 64, 64, H2D) == 107000, "the device side must be device memory"
        assert code_of(b.memcpy, h, 64, h + 64, 64, D2H) == 107000
        assert code_of(b.memcpy, d + 0x10_0000, 64, h, 64, H2D) == 107000, "a made-up device pointer"
        assert code_of(b.memcpy, h, 64, d, 64, H2H) == 107000
        assert code_of(b.memcpy, d, 64, h, 64, D2H) == 107000, "a device pointer as the host side"
    else:  # on the board they are one memory: acllite copies numpy arrays with DEVICE_TO_DEVICE
        host[64:] = 9
        b.memcpy(h, 64, h + 64, 64, D2D)
        assert (host[:64] == 9).all()
        b.memcpy(h, 64, d, 64, H2H)
    b.free(d)
    if mode == "EP" or rig.kind == "sim":  # the C library cannot tell freed RC memory from host memory
        assert code_of(b.memcpy, h, 64, d, 64, D2H) == 107000, "a stale device pointer"


def test_memset(dev):
    b = dev.backend
    d = b.malloc(64)
    back = np.ones(64, dtype=np.uint8)
    b.memset(d, 64, 0xAB, 48)
    b.memset(d + 48, 16, 0, 16)
    b.memcpy(back.ctypes.data, 64, d, 64, D2H)
    assert (back[:48] == 0xAB).all() and not back[48:].any()
    assert b.memset(0, 0, 0, 0) is None
    assert code_of(b.memset, 0, 64, 0, 64) == 100000
    assert code_of(b.memset, d, 32, 0, 64) == 107000
    b.free(d)


# -- streams -------------------------------------------------------------------------------------
def test_streams(rig, dev):
    b = dev.backend
    stream = b.create_stream()
    assert stream and rig.live(dev)["streams"] == 1
    b.synchronize_stream(stream)
    b.synchronize_stream(0)  # the default stream
    assert code_of(b.destroy_stream, 0) == 100000
    b.destroy_stream(stream)
    assert code_of(b.destroy_stream, stream) == 107017
    assert code_of(b.synchronize_stream, stream) == 107017
    assert in_thread(lambda: code_of(b.create_stream)) == 107002
    assert rig.live(dev)["streams"] == 0


# -- data buffers and datasets ----------------------------------------------------------------------
def test_data_buffers_validate_nothing_and_never_free_data(rig, dev):
    b = dev.backend
    d = b.malloc(128)
    buf = b.create_data_buffer(d, 128)
    empty = b.create_data_buffer(0, 0)  # the documented "let ACL allocate the output" form
    made_up = b.create_data_buffer(0xDEAD000, 7)
    assert (b.data_buffer_addr(buf), b.data_buffer_size(buf)) == (d, 128)
    assert (b.data_buffer_addr(empty), b.data_buffer_size(empty)) == (0, 0)
    assert (b.data_buffer_addr(made_up), b.data_buffer_size(made_up)) == (0xDEAD000, 7)
    b.update_data_buffer(buf, d + 64, 64)
    assert (b.data_buffer_addr(buf), b.data_buffer_size(buf)) == (d + 64, 64)
    assert (b.data_buffer_addr(0), b.data_buffer_size(0)) == (0, 0)
    assert code_of(b.update_data_buffer, 0, d, 1) == 100000
    assert code_of(b.destroy_data_buffer, 0) == 100000
    for handle in (buf, empty, made_up):
        b.destroy_data_buffer(handle)
    assert rig.live(dev)["data_buffers"] == 0
    assert rig.live(dev)["device_allocations"] == 1, "destroying a data buffer leaves its memory alone"
    b.free(d)


def test_datasets(rig, dev):
    b = dev.backend
    ds = b.create_dataset()
    bufs = [b.create_data_buffer(0, 0) for _ in range(3)]
    for buf in bufs:
        b.add_dataset_buffer(ds, buf)
    assert b.dataset_num_buffers(ds) == 3
    assert [b.dataset_buffer(ds, i) for i in range(4)] == [*bufs, 0]
    assert b.dataset_num_buffers(0) == 0 and b.dataset_buffer(0, 0) == 0
    assert code_of(b.add_dataset_buffer, 0, bufs[0]) == 100000
    assert code_of(b.add_dataset_buffer, ds, 0) == 100000
    assert code_of(b.destroy_dataset, 0) == 100000
    b.destroy_dataset(ds)
    assert rig.live(dev)["datasets"] == 0
    assert rig.live(dev)["data_buffers"] == 3, "destroying a dataset leaves its buffers alone"
    for buf in bufs:
        b.destroy_data_buffer(buf)


def test_memory_kind_reports_what_malloc_takes(dev):
    kind = MemAttr.DDR if dev.memory_kind() == "DDR" else MemAttr.HBM
    free, total = dev.backend.mem_info(kind)
    ptr = dev.backend.malloc(10 << 20)
    assert dev.backend.mem_info(kind) == (free - malloc_charge(10 << 20), total)
    assert dev.memory().free == free - malloc_charge(10 << 20)
    dev.backend.free(ptr)


def test_a_missing_symbol_names_the_feature():
    from acl_notebook.runtime.library import function

    libc = ctypes.CDLL(None)
    with pytest.raises(FunctionNotFoundError, match="device memory for running models"):
        function(libc, "aclrtMalloc")
    with pytest.raises(FunctionNotFoundError, match="choosing a gear"):
        function(libc, "aclmdlSetDynamicBatchSize")
