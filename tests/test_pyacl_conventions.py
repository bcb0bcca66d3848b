"""pyACL's conventions and ACL's semantics through the `acl` image, on both backends.

Return shapes (tuples, dicts, lists, None), contexts per thread, streams, EP device memory
the host cannot read, memcpy kinds, gears, and every handle checked: a stale or made-up
one gets ACL's code, never a crash (on the ctypes backend a crash would take the test
process down, so these tests passing there is the proof).
"""

from __future__ import annotations

import ctypes
import mmap
import threading

import numpy as np
import pytest
from pyacl_helpers import (
    ACL_HBM_MEM,
    D2H,
    H2D,
    HUGE_FIRST,
    Program,
    batch_spec,
    classifier_spec,
    hw_spec,
    image,
    libc,
    outputs_on,
    pyacl_installed,
    two_input_spec,
)

from acl_notebook.om.writer import write_om


@pytest.fixture
def rc_env(rig):
    session = rig.session(soc="Ascend310B4")
    with pyacl_installed(session) as acl:
        yield acl, session


# -- return conventions ---------------------------------------------------------------------------
def test_return_shapes_follow_pyacl(env):
    acl, _ = env
    p = Program(acl)
    count, ret = acl.rt.get_device_count()
    assert (type(count), ret) == (int, 0) and count >= 1
    assert acl.rt.get_run_mode() == (1, 0)  # ACL_HOST: the simulated 910B is a PCIe card
    free, total, ret = acl.rt.get_mem_info(ACL_HBM_MEM)
    assert ret == 0 and 0 < free <= total
    assert acl.rt.get_context() == (p.ctx, 0)
    assert acl.get_soc_name() == "Ascend910B1"
    dims, ret = acl.mdl.get_input_dims(p.desc, 0)
    assert ret == 0 and dims == {"name": "image", "dimCount": 4, "dims": [1, 3, 16, 16]}
    dims, ret = acl.mdl.get_output_dims(p.desc, 0)
    assert dims["dims"] == [1, 10] and dims["name"].startswith("prob")
    assert acl.mdl.get_dynamic_batch(p.desc) == ({"batchCount": 0, "batch": []}, 0)
    assert acl.mdl.get_dynamic_hw(p.desc, -1) == ({"hwCount": 0, "hw": []}, 0)
    assert acl.mdl.get_num_inputs(p.desc) == 1 and acl.mdl.get_num_outputs(p.desc) == 1
    assert acl.mdl.get_input_size_by_index(p.desc, 0) == 3 * 16 * 16 * 4
    assert acl.mdl.get_input_data_type(p.desc, 0) == 0 and acl.mdl.get_input_format(p.desc, 0) == 0  # FLOAT, NCHW
    assert acl.mdl.get_output_format(p.desc, 0) == 2  # ND
    assert acl.mdl.get_input_name_by_index(p.desc, 0) == "image"
    assert acl.mdl.get_input_index_by_name(p.desc, "image") == (0, 0)
    ds, ret = acl.mdl.add_dataset_buffer(acl.mdl.create_dataset(), acl.create_data_buffer(0, 0))
    assert ret == 0 and acl.mdl.get_dataset_num_buffers(ds) == 1  # (dataset, ret), as samples unpack it
    assert acl.mdl.query_size_from_mem(acl.util.bytes_to_ptr(p.om), len(p.om))[2] == 0
    assert acl.app_log(1, "hello") is None


def test_failures_are_codes_with_a_message_read_once(env):
    acl, _ = env
    assert acl.init() == 100002  # REPEAT_INITIALIZE
    msg = acl.get_recent_err_msg()
    assert "100002" in msg and "aclInit" in msg
    assert acl.get_recent_err_msg() is None
    p = Program(acl)
    assert acl.mdl.get_input_index_by_name(p.desc, "nope") == (0, 100000)
    assert acl.mdl.get_input_dims(p.desc, 5) == ({}, 100000)
    assert acl.mdl.get_input_name_by_index(p.desc, 5) is None
    assert acl.mdl.get_input_data_type(p.desc, 5) == -1 and acl.mdl.get_input_size_by_index(p.desc, 5) == 0
    assert acl.finalize() == 0
    assert acl.finalize() == 100037  # REPEAT_FINALIZE
    assert acl.mdl.load_from_file("x.om") == (0, 145001)  # after finalize: GE not initialised


def test_arguments_c_cannot_parse_raise_type_error(env):
    acl, _ = env
    with pytest.raises(TypeError, match="acl.rt.malloc"):
        acl.rt.malloc("64", 0)
    with pytest.raises(TypeError):
        acl.mdl.load_from_file(b"model.om")
    with pytest.raises(ValueError, match="byte"):
        acl.util.bytes_to_ptr("text")
    with pytest.raises(ValueError, match="ndarray"), pytest.warns(Warning, match="deprecated"):
        acl.util.numpy_to_ptr([1, 2])
    p = Program(acl)
    with pytest.raises(TypeError, match="not dict"):
        acl.mdl.set_input_dynamic_dims(p.model_id, p.ins, 0, [1, 2])



def test_calls_that_parse_no_arguments_drop_extra_ones(env):
    """pyACL's wrappers of the calls without inputs never parse their METH_VARARGS tuple, so a
    public sample's ``acl.rt.get_device(0)`` answers as ``get_device()``; keywords are refused."""
    acl, _ = env
    p = Program(acl)
    assert acl.rt.get_device(0) == acl.rt.get_device() == (0, 0)
    assert acl.rt.get_run_mode(0) == acl.rt.get_run_mode() == (1, 0)
    assert acl.rt.get_device_count(0) == acl.rt.get_device_count()
    assert acl.rt.get_context(0, "x") == (p.ctx, 0)
    assert acl.rt.device_get_stream_priority_range(0) == acl.rt.device_get_stream_priority_range()
    assert acl.get_version(0) == acl.get_version() and acl.get_soc_name(0) == acl.get_soc_name()
    stream, ret = acl.rt.create_stream(0)
    assert ret == 0 and acl.rt.destroy_stream(stream) == 0
    event, ret = acl.rt.create_event(0)
    assert ret == 0 and acl.rt.destroy_event(event) == 0
    assert acl.rt.synchronize_device(0) == 0
    for make, destroy in ((acl.mdl.create_dataset, acl.mdl.destroy_dataset),
                          (acl.mdl.create_desc, acl.mdl.destroy_desc),
                          (acl.mdl.create_config_handle, acl.mdl.destroy_config_handle)):
        handle = make(0)
        assert handle and destroy(handle) == 0
    assert acl.rt.malloc(0, HUGE_FIRST)[1] != 0 and "aclrtMalloc" in acl.get_recent_err_msg(0)
    with pytest.raises(TypeError):
        acl.rt.get_device(device=0)
    assert acl.finalize(0) == 0

# -- contexts, threads, streams ------------------------------------------------------------------------
def test_contexts_are_per_thread(env):
    acl, _ = env
    p = Program(acl)
    seen = {}

    def worker():
        seen["before"] = acl.rt.malloc(64, HUGE_FIRST)
        seen["execute"] = acl.mdl.execute(p.model_id, p.ins, p.outs)
        seen["set"] = acl.rt.set_context(p.ctx)
        ptr, ret = acl.rt.malloc(64, HUGE_FIRST)
        seen["after"] = ret
        seen["free"] = acl.rt.free(ptr)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["before"] == (0, 107002) and seen["execute"] == 107002  # no context on a new thread
    assert (seen["set"], seen["after"], seen["free"]) == (0, 0, 0)


def test_a_model_lives_in_the_context_it_was_loaded_in(env):
    acl, _ = env
    p = Program(acl)
    other, ret = acl.rt.create_context(0)  # becomes current
    assert ret == 0
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 107004  # RT_MODEL_CONTEXT
    assert acl.mdl.unload(p.model_id) == 107004
    assert acl.rt.set_context(p.ctx) == 0
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 0
    assert acl.mdl.unload(p.model_id) == 0
    assert acl.mdl.unload(p.model_id) == 145003  # gone
    assert acl.rt.destroy_context(other) == 0


def test_execute_async_outputs_are_final_after_synchronize(env):
    acl, session = env
    p = Program(acl)
    x = image(1)
    p.feed(x)
    stream, ret = acl.rt.create_stream()
    assert ret == 0
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want
    assert acl.rt.get_context() == (p.ctx, 0)  # the session's load and run left the program's context
    assert acl.rt.synchronize_device() == 0
    assert acl.rt.destroy_stream(stream) == 0
    assert acl.rt.destroy_stream(stream) == 107017  # stale
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, 0xDEAD000) == 107017  # made up
    assert acl.rt.synchronize_stream(0xDEAD000) == 107017


def test_the_session_keeps_the_programs_context_on_its_thread(env):
    import acl_notebook

    acl, session = env
    p = Program(acl)
    acl_notebook.memory()
    session.models()
    session.sample()
    assert acl.rt.get_context() == (p.ctx, 0)
    assert acl.mdl.unload(p.model_id) == 0  # still in the program's context


def test_a_program_cannot_destroy_the_sessions_context(env):
    acl, session = env
    ctx = next(iter(session._contexts.values()))
    assert acl.rt.destroy_context(ctx) == 107017
    assert session.memory().total > 0  # the session still works


# -- memory ------------------------------------------------------------------------------------------
def test_device_memory_is_not_host_readable_in_ep(env):
    acl, _ = env
    p = Program(acl)
    ptr, size = p.out_ptrs[0]
    with pytest.raises(ValueError, match="EP mode"):
        acl.util.ptr_to_bytes(ptr, size)
    with pytest.raises(ValueError, match="EP mode"):
        acl.util.ptr_to_numpy(ptr, (1, 10), 11)


def test_device_memory_is_host_memory_in_rc(rc_env):
    acl, session = rc_env
    assert acl.rt.get_run_mode() == (0, 0)  # ACL_DEVICE: the app runs on the board
    p = Program(acl, classifier_spec("Ascend310B4"))
    x = image(2)
    p.feed(x)
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 0
    ptr, size = p.out_ptrs[0]
    (want,) = outputs_on(session, p.om, [x])
    assert acl.util.ptr_to_bytes(ptr, size) == want == p.read()
    assert acl.util.ptr_to_numpy(ptr, (1, 10), 11).tobytes() == want  # NPY_FLOAT32


def test_a_read_past_a_converted_object_copies_what_follows_but_a_write_past_it_is_refused(env):
    """Ascend's dynamic image-size sample copies the largest gear's byte count out of a smaller
    input's bytes: a device reads the memory that follows, and so does the image (the kernel
    vouches the pages are mapped); writing past an object's end would corrupt the heap: 107000."""
    acl, _ = env
    small = bytes(range(48))
    dev, ret = acl.rt.malloc(4096, HUGE_FIRST)
    assert ret == 0
    sp = acl.util.bytes_to_ptr(small)
    assert acl.rt.memcpy(dev, 4096, sp, 64, H2D) == 0  # 16 bytes past the object's end
    back = bytes(64)
    assert acl.rt.memcpy(acl.util.bytes_to_ptr(back), 64, dev, 64, D2H) == 0
    assert back[:48] == small
    assert acl.rt.memcpy(sp, 64, dev, 64, D2H) == 107000  # a write past the object's end
    assert "runs past the end of its 48-byte object" in acl.get_recent_err_msg()
    assert small == bytes(range(48))
    assert acl.util.ptr_to_bytes(sp, 64)[:48] == small  # a read, like the copy
    with pytest.raises(ValueError, match="runs past the end of the 48-byte object"):
        acl.util.ptr_to_numpy(sp, (64,), 2)  # an array over it could be written: refused
    assert acl.rt.memcpy(dev + 4064, 64, sp, 64, H2D) == 107000  # past the allocation's end: never
    assert acl.rt.free(dev) == 0


def test_memcpy_checks_kinds_sizes_and_pointers(env):
    acl, _ = env
    src = bytes(range(64))
    dev, ret = acl.rt.malloc(64, HUGE_FIRST)
    assert ret == 0
    sp = acl.util.bytes_to_ptr(src)
    assert acl.rt.memcpy(dev, 64, sp, 64, 7) == 100000  # INTER_DEVICE_TO_DEVICE is not aclrtMemcpy's
    assert acl.rt.memcpy(dev, 64, sp, 64, 99) == 100000
    assert acl.rt.memcpy(dev, 32, sp, 64, H2D) == 107000  # count > destMax
    assert acl.rt.memcpy(dev, 64, sp, 0, H2D) == 0  # nothing to copy
    assert acl.rt.memcpy(0, 64, sp, 64, H2D) == 100000
    assert acl.rt.memcpy(dev + 32, 64, sp, 64, H2D) == 107000  # runs past the allocation
    assert acl.rt.memcpy(0x7F0000001000, 64, sp, 64, H2D) == 107000  # made up
    assert "not live memory" in acl.get_recent_err_msg()
    assert acl.rt.memcpy(dev, 64, sp, 64, H2D) == 0
    out = bytes(64)
    assert acl.rt.memcpy(acl.util.bytes_to_ptr(out), 64, dev, 64, D2H) == 0
    assert out == src  # bytes_to_ptr points into the bytes object itself
    assert acl.rt.memset(dev, 64, 0xAB, 16) == 0
    assert acl.rt.memcpy(acl.util.bytes_to_ptr(out), 64, dev, 64, D2H) == 0
    assert out[:16] == b"\xab" * 16 and out[16:] == src[16:]
    assert acl.rt.memset(dev, 64, 0, 128) == 107000  # count > maxCount
    assert acl.rt.free(dev) == 0
    assert acl.rt.free(dev) == 107000  # double free
    assert acl.rt.memcpy(dev, 64, sp, 64, H2D) == 107000  # freed


def test_a_pointer_into_a_dropped_object_whose_memory_is_gone_is_stale(env):
    acl, _ = env
    dev, _ = acl.rt.malloc(64, HUGE_FIRST)
    pages = libc.mmap(None, mmap.PAGESIZE, 3, 0x22, -1, 0)  # PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS
    arr = np.ctypeslib.as_array((ctypes.c_uint8 * mmap.PAGESIZE).from_address(pages))
    stale = acl.util.numpy_contiguous_to_ptr(arr)
    del arr
    assert libc.munmap(pages, mmap.PAGESIZE) == 0  # the program dropped the array and unmapped it
    assert acl.rt.memcpy(dev, 64, stale, 64, H2D) == 107000
    with pytest.raises(ValueError, match="not live memory"):
        acl.util.ptr_to_bytes(stale, 64)
    keep = bytes(range(64))
    ptr = acl.util.bytes_to_ptr(keep)
    assert acl.util.ptr_to_bytes(ptr, 64) == keep
    arr = np.arange(16, dtype=np.float32)
    with pytest.warns(Warning, match="deprecated"):
        aptr = acl.util.numpy_to_ptr(arr)
    assert acl.rt.memcpy(dev, 64, aptr, 64, H2D) == 0
    assert acl.rt.free(dev) == 0


def test_malloc_host_and_free_host(env):
    acl, _ = env
    host, ret = acl.rt.malloc_host(128)
    assert ret == 0
    data = bytes(range(128))
    assert acl.rt.memcpy(host, 128, acl.util.bytes_to_ptr(data), 128, 0) == 0
    assert acl.util.ptr_to_bytes(host, 128) == data  # page-locked host memory is host memory
    assert acl.rt.free(host) == 107000  # not aclrtMalloc memory
    assert acl.rt.free_host(host) == 0
    assert acl.rt.free_host(host) == 107000
    assert acl.rt.malloc(0, 0) == (0, 100000)


# -- handles -----------------------------------------------------------------------------------------
def test_made_up_and_stale_handles_get_acl_codes(env):
    acl, _ = env
    p = Program(acl)
    fake = 0x5A5A5A50
    buf = acl.create_data_buffer(*p.in_ptrs[0])
    assert acl.destroy_data_buffer(buf) == 0
    assert acl.destroy_data_buffer(buf) == 100000
    assert acl.get_data_buffer_addr(buf) == 0 and acl.get_data_buffer_size_v2(fake) == 0
    assert acl.update_data_buffer(fake, 0, 0) == 100000
    assert acl.mdl.destroy_dataset(fake) == 100000
    assert acl.mdl.add_dataset_buffer(fake, buf) == (fake, 100000)
    assert acl.mdl.get_dataset_num_buffers(fake) == 0 and acl.mdl.get_dataset_buffer(fake, 0) == 0
    assert acl.mdl.execute(p.model_id, fake, p.outs) == 100000
    stale_ds = acl.mdl.create_dataset()
    _, ret = acl.mdl.add_dataset_buffer(stale_ds, buf)  # a destroyed buffer: ACL only stores it
    assert ret == 0
    assert acl.mdl.execute(p.model_id, stale_ds, p.outs) == 100000
    assert acl.mdl.get_num_inputs(fake) == 0 and acl.mdl.get_input_name_by_index(fake, 0) is None
    assert acl.mdl.get_desc(fake, p.model_id) == 100000
    assert acl.mdl.get_desc(p.desc, 999) == 145003
    assert acl.mdl.destroy_desc(p.desc) == 0 and acl.mdl.destroy_desc(p.desc) == 100000
    assert acl.rt.set_context(fake) == 107017 and acl.rt.destroy_context(fake) == 107017
    assert acl.rt.free(p.in_ptrs[0][0] + 8) == 107000  # an interior pointer is not an allocation


def test_execute_refuses_buffers_pointing_at_unknown_memory(env):
    acl, _ = env
    p = Program(acl)
    buf = acl.mdl.get_dataset_buffer(p.ins, 0)
    assert acl.update_data_buffer(buf, 0x7F0000002000, p.in_ptrs[0][1]) == 0  # ACL does not look
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 107000
    assert "input 0" in acl.get_recent_err_msg()
    assert acl.update_data_buffer(buf, *p.in_ptrs[0]) == 0
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 0


def test_loads_check_paths_and_pointers(env, tmp_path):
    acl, _ = env
    assert acl.rt.set_device(0) == 0
    assert acl.mdl.load_from_file(str(tmp_path / "missing.om")) == (0, 145002)
    assert acl.mdl.load_from_mem(0x7F0000003000, 4096) == (0, 100000)
    assert acl.mdl.load_from_mem(0, 0) == (0, 100000)
    junk = bytes(1024)
    assert acl.mdl.load_from_mem(acl.util.bytes_to_ptr(junk), len(junk)) == (0, 145006)
    assert acl.mdl.query_size(str(tmp_path / "missing.om")) == (0, 0, 145002)


# -- gears -------------------------------------------------------------------------------------------
def test_gears_are_checked_with_acl_codes(env):
    acl, _ = env
    p = Program(acl, batch_spec())
    index, ret = acl.mdl.get_input_index_by_name(p.desc, "ascend_mbatch_shape_data")
    assert ret == 0
    assert acl.mdl.get_dynamic_batch(p.desc) == ({"batchCount": 3, "batch": [1, 2, 8]}, 0)
    assert acl.mdl.get_output_dims(p.desc, 0)[0]["dims"] == [8, 10]  # outputs at the largest gear
    assert acl.mdl.get_output_size_by_index(p.desc, 0) == 8 * 10 * 4
    assert acl.mdl.set_dynamic_batch_size(p.model_id, p.ins, index, 3) == 145013  # not a gear
    assert acl.mdl.set_dynamic_batch_size(p.model_id, p.ins, index, 0) == 100000
    assert acl.mdl.set_dynamic_batch_size(p.model_id, 0x5A5A5A50, index, 2) == 100000
    assert acl.mdl.set_dynamic_batch_size(p.model_id, p.ins, index, 2) == 0
    assert acl.mdl.get_cur_output_dims(p.desc, 0)[0]["dims"] == [2, 10]
    assert acl.mdl.get_input_dynamic_gear_count(p.desc, -1) == (0, 0)  # not a dims model
    assert acl.mdl.get_input_dynamic_gear_count(p.desc, 0) == (0, 100000)  # index must be -1


def test_hw_and_dims_gears(env):
    acl, _ = env
    p = Program(acl, hw_spec())
    index, _ = acl.mdl.get_input_index_by_name(p.desc, "ascend_mbatch_shape_data")
    assert acl.mdl.get_dynamic_hw(p.desc, -1) == ({"hwCount": 2, "hw": [[16, 24], [32, 48]]}, 0)
    assert acl.mdl.set_dynamic_hw_size(p.model_id, p.ins, index, 16, 16) == 145013
    assert acl.mdl.set_dynamic_hw_size(p.model_id, p.ins, index, 16, 24) == 0
    q = Program(acl, two_input_spec())
    count, ret = acl.mdl.get_input_dynamic_gear_count(q.desc, -1)
    assert (count, ret) == (2, 0)
    gears, ret = acl.mdl.get_input_dynamic_dims(q.desc, -1, count)
    assert ret == 0 and [g["dims"] for g in gears] == [[1, 2, 1, 4], [1, 8, 8, 4]]
    assert gears[0] == {"name": "", "dimCount": 4, "dims": [1, 2, 1, 4]}
    assert acl.mdl.get_input_dynamic_dims(q.desc, -1, 1) == ([], 100000)  # fewer than the model has
    mb, _ = acl.mdl.get_input_index_by_name(q.desc, "ascend_mbatch_shape_data")
    assert acl.mdl.set_input_dynamic_dims(q.model_id, q.ins, mb, {"dimCount": 4, "name": "",
                                                                   "dims": [1, 3, 1, 4]}) == 145013
    assert acl.mdl.set_input_dynamic_dims(q.model_id, q.ins, mb, gears[1]) == 0
    assert acl.mdl.get_cur_output_dims(q.desc, 0)[0]["dims"] == [8, 4]


def test_loads_into_memory_the_program_allocated(env, tmp_path):
    acl, session = env
    assert acl.rt.set_device(0) == 0
    om = write_om(classifier_spec())
    path = tmp_path / "m.om"
    path.write_bytes(om)
    work, weight, ret = acl.mdl.query_size(str(path))
    assert ret == 0 and work > 0 and weight > 0
    work_ptr, _ = acl.rt.malloc(work, HUGE_FIRST)
    weight_ptr, _ = acl.rt.malloc(weight, HUGE_FIRST)
    free_before = acl.rt.get_mem_info(ACL_HBM_MEM)[0]
    model_id, ret = acl.mdl.load_from_file_with_mem(str(path), work_ptr, work, weight_ptr, weight)
    assert ret == 0, acl.get_recent_err_msg()
    assert acl.rt.get_mem_info(ACL_HBM_MEM)[0] == free_before  # the model took no device memory of its own
    (model,) = session.models()
    assert model.runtime_charge == 0 and model.memory == model.program_io > work + weight
    ptr = acl.util.bytes_to_ptr(om)
    assert acl.mdl.load_from_mem_with_mem(ptr, len(om), work_ptr, work - 1, 0, 0) == (0, 145000)  # too small
    assert acl.mdl.load_from_mem_with_mem(ptr, len(om), 0x7F0000004000, work, 0, 0) == (0, 107000)
    second, ret = acl.mdl.load_from_mem_with_mem(ptr, len(om), 0, 0, weight_ptr, weight)  # shares the weights
    assert ret == 0
    assert acl.rt.get_mem_info(ACL_HBM_MEM)[0] == free_before - work  # only its work memory was taken
    for mid in (model_id, second):
        assert acl.mdl.unload(mid) == 0
    assert acl.rt.get_mem_info(ACL_HBM_MEM)[0] == free_before
    assert acl.rt.free(work_ptr) == 0 and acl.rt.free(weight_ptr) == 0
