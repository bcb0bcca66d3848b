"""No int reaches C wrapped: a value its C type cannot hold is refused, alike on both backends.

ctypes keeps the low bits of an int it converts (2**64 + 5 as a size_t is 5, -2**70 as a pointer
NULL, 2**32 + 1 as a uint32_t flag 1) for argtypes, Structure fields and arrays alike, so the
ctypes backend told the C library another size, handle, shape or flag than the caller gave,
and the C side acted on it (copied 5 bytes, used the default stream, chose a gear) where the
simulator refused. Each case calls one backend method with one argument out of its C type's
range and the others valid, with the same values on both backends: the ACL code is the one
ACL's own check of that argument gives, and on the ctypes backend the C library never saw the
call at all (its call counter did not move).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from backends import MODES, STATIC, Runner, build

from acl_notebook.om.writer import TensorSpec
from acl_notebook.runtime.errors import AclError

#: Out of range for each C type, both ways, just past the edge and far past it.
ODD = {
    "pointer": (2**64, 2**64 + 5, -1, -(2**70)),
    "int32": (2**31, -(2**31) - 1, 2**64 + 5, -(2**70)),
    "uint32": (2**32, 2**32 + 1, -1, -(2**70)),
    "int64": (2**63, -(2**63) - 1, 2**64 + 5),
}
ODD["size_t"] = ODD["uint64"] = ODD["pointer"]
MEMORY, HANDLE, INVALID, NOT_A_GEAR, DEVICE, MODEL = 107000, 107017, 100000, 145013, 107001, 145003
DYN = dict(inputs=[TensorSpec("x", (-1, 3, 4, 4), "float16", "NCHW")],
           outputs=[TensorSpec("y", (-1, 10), "float32", "ND")], gears=[(1,), (2,), (8,)])
HW = dict(inputs=[TensorSpec("x", (1, 3, -1, -1), "uint8", "NCHW")],
          outputs=[TensorSpec("y", (1, 2, -1, -1), "uint8", "NCHW")], gears=[(4, 6), (8, 8)])
DIMS = dict(inputs=[TensorSpec("t", (1, -1), "int32", "ND")], outputs=[TensorSpec("h", (1, -1), "int32", "ND")],
            gears=[(3,), (5,)])

# (case, C type of the argument, C function, what the call answers: an ACL code, or a getter's
# value for NULL, and the call with the odd value `v` in that argument)
CASES = [
    ("set_device", "int32", "aclrtSetDevice", DEVICE, lambda w, v: w.b.set_device(v)),
    ("reset_device", "int32", "aclrtResetDevice", DEVICE, lambda w, v: w.b.reset_device(v)),
    ("create_context", "int32", "aclrtCreateContext", DEVICE, lambda w, v: w.b.create_context(v)),
    ("utilization", "int32", "aclrtGetDeviceUtilizationRate", DEVICE, lambda w, v: w.b.utilization(v)),
    ("destroy_context", "pointer", "aclrtDestroyContext", HANDLE, lambda w, v: w.b.destroy_context(v)),
    ("set_current_context", "pointer", "aclrtSetCurrentContext", HANDLE, lambda w, v: w.b.set_current_context(v)),
    ("mem_info.attr", "int32", "aclrtGetMemInfo", INVALID, lambda w, v: w.b.mem_info(v)),
    ("malloc.size", "size_t", "aclrtMalloc", INVALID, lambda w, v: w.b.malloc(v)),
    ("malloc.policy", "int32", "aclrtMalloc", INVALID, lambda w, v: w.b.malloc(64, v)),
    ("malloc_cached.size", "size_t", "aclrtMallocCached", INVALID, lambda w, v: w.b.malloc_cached(v)),
    ("malloc_cached.policy", "int32", "aclrtMallocCached", INVALID, lambda w, v: w.b.malloc_cached(64, v)),
    ("malloc_host.size", "size_t", "aclrtMallocHost", INVALID, lambda w, v: w.b.malloc_host(v)),
    ("free", "pointer", "aclrtFree", MEMORY, lambda w, v: w.b.free(v)),
    ("free_host", "pointer", "aclrtFreeHost", MEMORY, lambda w, v: w.b.free_host(v)),
    ("mem_flush.ptr", "pointer", "aclrtMemFlush", MEMORY, lambda w, v: w.b.mem_flush(v, 64)),
    ("mem_flush.size", "size_t", "aclrtMemFlush", INVALID, lambda w, v: w.b.mem_flush(w.dev, v)),
    ("mem_invalidate.size", "size_t", "aclrtMemInvalidate", INVALID, lambda w, v: w.b.mem_invalidate(w.dev, v)),
    ("memcpy.dst", "pointer", "aclrtMemcpy", MEMORY, lambda w, v: w.b.memcpy(v, 64, w.dev, 64, 3)),
    ("memcpy.destMax", "size_t", "aclrtMemcpy", INVALID, lambda w, v: w.b.memcpy(w.dev2, v, w.dev, 64, 3)),
    ("memcpy.src", "pointer", "aclrtMemcpy", MEMORY, lambda w, v: w.b.memcpy(w.dev, 64, v, 64, 3)),
    ("memcpy.count", "size_t", "aclrtMemcpy", INVALID, lambda w, v: w.b.memcpy(w.dev2, 64, w.dev, v, 3)),
    ("memcpy.kind", "int32", "aclrtMemcpy", INVALID, lambda w, v: w.b.memcpy(w.dev2, 64, w.dev, 64, v)),
    ("memcpy_async.count", "size_t", "aclrtMemcpyAsync", INVALID,
     lambda w, v: w.b.memcpy_async(w.dev2, 64, w.dev, v, 3, w.stream)),
    ("memcpy_async.kind", "int32", "aclrtMemcpyAsync", INVALID,
     lambda w, v: w.b.memcpy_async(w.dev2, 64, w.dev, 64, v, w.stream)),
    ("memcpy_async.stream", "pointer", "aclrtMemcpyAsync", HANDLE,
     lambda w, v: w.b.memcpy_async(w.dev2, 64, w.dev, 64, 3, v)),
    ("memset.ptr", "pointer", "aclrtMemset", MEMORY, lambda w, v: w.b.memset(v, 64, 0, 64)),
    ("memset.maxCount", "size_t", "aclrtMemset", INVALID, lambda w, v: w.b.memset(w.dev, v, 0, 64)),
    ("memset.value", "int32", "aclrtMemset", INVALID, lambda w, v: w.b.memset(w.dev, 64, v, 64)),
    ("memset.count", "size_t", "aclrtMemset", INVALID, lambda w, v: w.b.memset(w.dev, 64, 0, v)),
    ("memset_async.value", "int32", "aclrtMemsetAsync", INVALID, lambda w, v: w.b.memset_async(w.dev, 64, v, 64, 0)),
    ("memset_async.stream", "pointer", "aclrtMemsetAsync", HANDLE,
     lambda w, v: w.b.memset_async(w.dev, 64, 0, 64, v)),
    ("stream_with_config.priority", "uint32", "aclrtCreateStreamWithConfig", INVALID,
     lambda w, v: w.b.create_stream_with_config(v, 0)),
    ("stream_with_config.flag", "uint32", "aclrtCreateStreamWithConfig", INVALID,
     lambda w, v: w.b.create_stream_with_config(0, v)),
    ("destroy_stream", "pointer", "aclrtDestroyStream", HANDLE, lambda w, v: w.b.destroy_stream(v)),
    ("synchronize_stream", "pointer", "aclrtSynchronizeStream", HANDLE, lambda w, v: w.b.synchronize_stream(v)),
    ("synchronize_stream_with_timeout.timeout", "int32", "aclrtSynchronizeStreamWithTimeout", MEMORY,
     lambda w, v: w.b.synchronize_stream_with_timeout(w.stream, v)),
    ("create_event_with_flag", "uint32", "aclrtCreateEventWithFlag", MEMORY, lambda w, v: w.b.create_event(v)),
    ("create_event_ex_with_flag", "uint32", "aclrtCreateEventExWithFlag", MEMORY,
     lambda w, v: w.b.create_event(v, extended=True)),
    ("destroy_event", "pointer", "aclrtDestroyEvent", HANDLE, lambda w, v: w.b.destroy_event(v)),
    ("record_event.event", "pointer", "aclrtRecordEvent", HANDLE, lambda w, v: w.b.record_event(v, w.stream)),
    ("record_event.stream", "pointer", "aclrtRecordEvent", HANDLE, lambda w, v: w.b.record_event(w.event, v)),
    ("reset_event.event", "pointer", "aclrtResetEvent", HANDLE, lambda w, v: w.b.reset_event(v, w.stream)),
    ("synchronize_event", "pointer", "aclrtSynchronizeEvent", HANDLE, lambda w, v: w.b.synchronize_event(v)),
    ("synchronize_event_with_timeout.timeout", "int32", "aclrtSynchronizeEventWithTimeout", MEMORY,
     lambda w, v: w.b.synchronize_event_with_timeout(w.event, v)),
    ("query_event_status", "pointer", "aclrtQueryEventStatus", HANDLE, lambda w, v: w.b.query_event_status(v)),
    ("query_event", "pointer", "aclrtQueryEvent", HANDLE, lambda w, v: w.b.query_event(v)),
    ("event_elapsed_time.end", "pointer", "aclrtEventElapsedTime", HANDLE,
     lambda w, v: w.b.event_elapsed_time(w.event, v)),
    ("stream_wait_event.stream", "pointer", "aclrtStreamWaitEvent", HANDLE,
     lambda w, v: w.b.stream_wait_event(v, w.event)),
    ("create_data_buffer.data", "pointer", "aclCreateDataBuffer", INVALID, lambda w, v: w.b.create_data_buffer(v, 64)),
    ("create_data_buffer.size", "size_t", "aclCreateDataBuffer", INVALID,
     lambda w, v: w.b.create_data_buffer(w.dev, v)),
    ("destroy_data_buffer", "pointer", "aclDestroyDataBuffer", INVALID, lambda w, v: w.b.destroy_data_buffer(v)),
    ("update_data_buffer.data", "pointer", "aclUpdateDataBuffer", INVALID,
     lambda w, v: w.b.update_data_buffer(w.buffer, v, 64)),
    ("update_data_buffer.size", "size_t", "aclUpdateDataBuffer", INVALID,
     lambda w, v: w.b.update_data_buffer(w.buffer, w.dev, v)),
    ("destroy_dataset", "pointer", "aclmdlDestroyDataset", INVALID, lambda w, v: w.b.destroy_dataset(v)),
    ("add_dataset_buffer.dataBuffer", "pointer", "aclmdlAddDatasetBuffer", INVALID,
     lambda w, v: w.b.add_dataset_buffer(w.dataset, v)),
    ("create_tensor_desc.dataType", "int32", "aclCreateTensorDesc", INVALID,
     lambda w, v: w.b.create_tensor_desc(v, [1, 2], 2)),
    ("create_tensor_desc.dims", "int64", "aclCreateTensorDesc", INVALID,
     lambda w, v: w.b.create_tensor_desc(0, [1, v], 2)),
    ("create_tensor_desc.format", "int32", "aclCreateTensorDesc", INVALID,
     lambda w, v: w.b.create_tensor_desc(0, [1, 2], v)),
    ("tensor_desc_dim.index", "size_t", "aclGetTensorDescDimV2", INVALID,
     lambda w, v: w.b.tensor_desc_dim(w.tensor_desc, v)),
    ("set_dataset_tensor_desc.index", "size_t", "aclmdlSetDatasetTensorDesc", INVALID,
     lambda w, v: w.b.set_dataset_tensor_desc(w.run.inputs, w.tensor_desc, v)),
    ("execute.model", "uint32", "aclmdlExecute", MODEL, lambda w, v: w.b.execute(v, w.run.inputs, w.run.outputs)),
    ("execute.input", "pointer", "aclmdlExecute", INVALID, lambda w, v: w.b.execute(w.model.id, v, w.run.outputs)),
    ("execute_async.stream", "pointer", "aclmdlExecuteAsync", HANDLE,
     lambda w, v: w.b.execute_async(w.model.id, w.run.inputs, w.run.outputs, v)),
    ("set_dynamic_batch_size.index", "size_t", "aclmdlSetDynamicBatchSize", INVALID,
     lambda w, v: w.b.set_dynamic_batch_size(w.batch.id, w.gears.inputs, v, 2)),
    ("set_dynamic_batch_size.batchSize", "uint64", "aclmdlSetDynamicBatchSize", NOT_A_GEAR,
     lambda w, v: w.b.set_dynamic_batch_size(w.batch.id, w.gears.inputs, w.mbatch, v)),
    ("set_dynamic_hw_size.height", "uint64", "aclmdlSetDynamicHWSize", NOT_A_GEAR,
     lambda w, v: w.b.set_dynamic_hw_size(w.hw.id, w.hw_gears.inputs, len(w.hw.inputs) - 1, v, 6)),
    ("set_input_dynamic_dims.index", "size_t", "aclmdlSetInputDynamicDims", INVALID,
     lambda w, v: w.b.set_input_dynamic_dims(w.dims.id, w.dim_gears.inputs, v, [1, 3])),
    ("set_input_dynamic_dims.dims", "int64", "aclmdlSetInputDynamicDims", INVALID,
     lambda w, v: w.b.set_input_dynamic_dims(w.dims.id, w.dim_gears.inputs, 1, [1, v])),
    ("cur_output_dims.index", "size_t", "aclmdlGetCurOutputDims", INVALID,
     lambda w, v: w.b.cur_output_dims(w.desc, v)),
    ("unload", "uint32", "aclmdlUnload", MODEL, lambda w, v: w.b.unload(v)),
    ("load_with_mem.workPtr", "pointer", "aclmdlLoadFromMemWithMem", MEMORY,
     lambda w, v: w.b.load_with_mem(w.om, v, w.work, 0, 0)),
    ("load_with_mem.workSize", "size_t", "aclmdlLoadFromMemWithMem", INVALID,
     lambda w, v: w.b.load_with_mem(w.om, w.work_ptr, v, 0, 0)),
    ("load_with_config.workSize", "size_t", "aclmdlSetConfigOpt", INVALID,
     lambda w, v: w.b.load_with_config(w.om, None, w.work_ptr, v)),
    ("load_with_config.priority", "int32", "aclmdlSetConfigOpt", INVALID, lambda w, v: w.b.load_with_config(w.om, v)),
    ("subscribe_report.threadId", "uint64", "aclrtSubscribeReport", INVALID,
     lambda w, v: w.b.subscribe_report(v, w.stream)),
    ("launch_callback.blockType", "int32", "aclrtLaunchCallback", INVALID,
     lambda w, v: w.b.launch_callback(lambda: None, v, w.stream)),
    ("process_report.timeout", "int32", "aclrtProcessReport", MEMORY, lambda w, v: w.b.process_report(v)),
]
#: getters answer what C answers for NULL: a handle or index C cannot be given names nothing
GETTERS = [
    ("data_buffer_addr", "pointer", "aclGetDataBufferAddr", 0, lambda w, v: w.b.data_buffer_addr(v)),
    ("data_buffer_size", "pointer", "aclGetDataBufferSizeV2", 0, lambda w, v: w.b.data_buffer_size(v)),
    ("dataset_num_buffers", "pointer", "aclmdlGetDatasetNumBuffers", 0, lambda w, v: w.b.dataset_num_buffers(v)),
    ("dataset_buffer.index", "size_t", "aclmdlGetDatasetBuffer", 0, lambda w, v: w.b.dataset_buffer(w.run.inputs, v)),
    ("tensor_desc_type", "pointer", "aclGetTensorDescType", -1, lambda w, v: w.b.tensor_desc_type(v)),
    ("tensor_desc_num_dims", "pointer", "aclGetTensorDescNumDims", 0, lambda w, v: w.b.tensor_desc_num_dims(v)),
    ("dataset_tensor_desc.index", "size_t", "aclmdlGetDatasetTensorDesc", 0,
     lambda w, v: w.b.dataset_tensor_desc(w.run.inputs, v)),
]


@pytest.fixture
def world(rig):
    """A session with its context current, a static, a batch, a dims and an hw model, their datasets,
    device memory, a stream, an event, a model desc and a tensor desc."""
    soc = MODES["EP"]
    s = rig.session(soc=soc)
    model = s.load(build(soc, *STATIC))
    batch = s.load(build(soc, dynamic_kind="batch", **DYN))
    dims = s.load(build(soc, dynamic_kind="dims", **DIMS))
    hw = s.load(build(soc, dynamic_kind="hw", **HW))
    s._use(0)
    b = s.backend
    om = memoryview(build(soc, *STATIC))
    work, _weight = b.query_size(om)
    w = SimpleNamespace(
        s=s, b=b, model=model, batch=batch, dims=dims, hw=hw, om=om, work=work, run=Runner(s, model),
        gears=Runner(s, batch), dim_gears=Runner(s, dims), hw_gears=Runner(s, hw), dev=b.malloc(1 << 16),
        dev2=b.malloc(1 << 16),
        work_ptr=b.malloc(work), stream=b.create_stream(), event=b.create_event(), desc=b.create_desc(model.id),
        tensor_desc=b.create_tensor_desc(0, [1, 2], 2),
    )
    w.buffer, w.dataset, w.mbatch = b.create_data_buffer(w.dev, 64), b.create_dataset(), len(batch.inputs) - 1
    yield w
    for r in (w.run, w.gears, w.dim_gears, w.hw_gears):
        r.close()


def calls_seen(rig, world, func: str) -> int:
    """How often the C library was entered for `func` (the simulator has no C side: 0)."""
    return rig.control.calls(func) if rig.kind == "acl" else 0


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_value_its_c_type_cannot_hold_is_refused_before_c(rig, world, case):
    _name, ctype, func, code, call = case
    before = calls_seen(rig, world, func)
    for value in ODD[ctype]:
        with pytest.raises(AclError) as info:
            call(world, value)
        assert info.value.code == code, (value, info.value)
        if rig.kind == "acl":  # the simulator's own lookups say what they found ("unknown stream")
            assert str(value) in info.value.detail, info.value.detail  # the value as given, never wrapped
    assert calls_seen(rig, world, func) == before, f"{func} was called with a value C cannot hold"


@pytest.mark.parametrize("case", GETTERS, ids=[c[0] for c in GETTERS])
def test_a_getter_given_what_c_cannot_hold_answers_as_for_null(rig, world, case):
    _name, ctype, func, nothing, call = case
    before = calls_seen(rig, world, func)
    for value in ODD[ctype]:
        assert call(world, value) == nothing, value
    assert calls_seen(rig, world, func) == before


def test_the_values_at_the_edges_still_reach_c(rig, world):
    """The checks refuse only what C cannot hold: the largest size_t is a copy count C is given
    (and refuses, as it exceeds destMax), the smallest int32 a timeout C refuses itself."""
    b = world.b
    before = calls_seen(rig, world, "aclrtMemcpy")
    with pytest.raises(AclError) as info:
        b.memcpy(world.dev2, 64, world.dev, 2**64 - 1, 3)
    assert info.value.code == MEMORY
    assert rig.kind == "sim" or calls_seen(rig, world, "aclrtMemcpy") == before + 1
    with pytest.raises(AclError) as info:
        b.synchronize_stream_with_timeout(world.stream, -(2**31))
    assert info.value.code == MEMORY
    b.memcpy(world.dev2, 64, world.dev, 64, 3)  # and plain values run as before


def test_a_dims_gear_past_int64_never_wraps_into_a_gear(rig, world):
    """The reproduction: 2**64 + 3 stored into aclmdlIODims.dims became 3, the ctypes backend
    set gear (3,) and the run went on, while the simulator refused the value."""
    b, m = world.b, world.dims
    with pytest.raises(AclError) as info:
        b.set_input_dynamic_dims(m.id, world.dim_gears.inputs, len(m.inputs) - 1, [1, 2**64 + 3])
    assert info.value.code == INVALID
    b.set_input_dynamic_dims(m.id, world.dim_gears.inputs, len(m.inputs) - 1, [1, 3])  # the gear itself is fine


@pytest.mark.parametrize("where", ["input_index_by_name", "set_tensor_desc_name"])
def test_a_name_with_a_nul_never_reaches_c_cut_short(rig, world, where):
    """C reads a name up to its first NUL: 'a\\0b' found input 'a' on the ctypes backend, where
    the simulator said there is no such input, and a tensor desc's name was stored as 'a'."""
    func = {"input_index_by_name": "aclmdlGetInputIndexByName", "set_tensor_desc_name": "aclSetTensorDescName"}[where]
    before = calls_seen(rig, world, func)
    with pytest.raises(AclError) as info:
        if where == "input_index_by_name":
            world.b.input_index_by_name(world.desc, "a\0b")
        else:
            world.b.set_tensor_desc_name(world.tensor_desc, "a\0b")
    assert info.value.code == INVALID
    assert calls_seen(rig, world, func) == before
    assert world.b.input_index_by_name(world.desc, "a") == 0
    world.b.set_tensor_desc_name(world.tensor_desc, "ab")
    assert world.b.tensor_desc_name(world.tensor_desc) == "ab"
