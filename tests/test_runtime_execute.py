"""aclmdlExecute and the gear calls through the backend layer, on both backends, in EP and RC.

The C library computes every output from the input bytes it finds in device memory with
the same placeholder function as the simulator (`sim_outputs.placeholder_output`), so
these tests fail if a copy is skipped or the wrong buffer is passed. Codes and check
order: shared/docs/acl-execute.md §6-§7.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from backends import D2H, H2D, MODES, STATIC, Runner, build, check_values, code_of, in_thread

from acl_notebook.om.writer import TensorSpec
from acl_notebook.runtime.gears import MBATCH_INPUT, full_dims, input_dims
from acl_notebook.runtime.sim_outputs import placeholder_output


def test_static_execute_computes_outputs_from_the_device_inputs(rig, static):
    r = static
    a = np.arange(16, dtype=np.float32)
    bb = np.array([5, -3, 9], dtype=np.int8)
    r.put(0, a)
    r.put(1, bb)
    r.b.execute(r.m.id, r.inputs, r.outputs)
    for j, t in enumerate(r.m.outputs):
        check_values(rig, r.s, r.get(j, t.size), [a, bb], j)
    first = r.get(1, 25)
    r.put(1, np.array([5, -3, 10], dtype=np.int8))  # one byte changes every output
    r.b.execute(r.m.id, r.inputs, r.outputs)
    assert (r.get(1, 25) != first).any()


def test_execute_checks_in_acl_order(rig, static):
    r, b = static, static.b
    assert code_of(b.execute, r.m.id, 0, r.outputs) == 100000
    assert code_of(b.execute, r.m.id, r.inputs, 0) == 100000
    assert code_of(b.execute, r.m.id + 100, r.inputs, r.outputs) == 145003
    short = b.create_dataset()
    b.add_dataset_buffer(short, b.dataset_buffer(r.inputs, 0))
    assert code_of(b.execute, r.m.id, short, r.outputs) == 500002, "one input buffer for two inputs"
    b.destroy_dataset(short)
    assert in_thread(lambda: code_of(b.execute, r.m.id, r.inputs, r.outputs)) == 107002
    other = b.create_context(0)
    assert code_of(b.execute, r.m.id, r.inputs, r.outputs) == 107004
    b.destroy_context(other)
    r.s._use(0)
    b.execute(r.m.id, r.inputs, r.outputs)


def test_static_buffer_sizes_allow_ge_slack_of_64_bytes(rig, mode):
    s = rig.session(soc=MODES[mode])
    m = s.load(build(MODES[mode], [TensorSpec("x", (256,), "uint8", "ND")], [TensorSpec("y", (8,), "uint8", "ND")]))
    s._use(0)
    r = Runner(s, m)
    x = r.b.dataset_buffer(r.inputs, 0)
    r.b.update_data_buffer(x, r.addr(r.inputs, 0), 192)  # 64 short: accepted
    r.b.execute(m.id, r.inputs, r.outputs)
    r.b.update_data_buffer(x, r.addr(r.inputs, 0), 191)
    assert code_of(r.b.execute, m.id, r.inputs, r.outputs) == 500002
    r.close()


def test_a_dataset_entry_whose_buffer_is_gone_is_refused(static):
    r, b = static, static.b
    ds = b.create_dataset()
    gone = b.create_data_buffer(r.addr(r.inputs, 0), 64)
    b.add_dataset_buffer(ds, gone)
    b.add_dataset_buffer(ds, b.dataset_buffer(r.inputs, 1))
    b.destroy_data_buffer(gone)
    assert code_of(b.execute, r.m.id, ds, r.outputs) == 100000
    b.destroy_dataset(ds)


def test_sync_execute_allocates_outputs_left_null_async_does_not(rig, static):
    r, b = static, static.b
    a, bb = np.ones(16, np.float32), np.ones(3, np.int8)
    r.put(0, a)
    r.put(1, bb)
    out = b.create_dataset()
    y = b.create_data_buffer(0, 0)
    z = b.create_data_buffer(r.addr(r.outputs, 1), 25)
    b.add_dataset_buffer(out, y)
    b.add_dataset_buffer(out, z)
    stream = b.create_stream()
    assert code_of(b.execute_async, r.m.id, r.inputs, out, stream) == 100000
    allocations = rig.live(r.s)["device_allocations"]
    b.execute(r.m.id, r.inputs, out)
    ptr, size = b.data_buffer_addr(y), b.data_buffer_size(y)
    assert ptr and size == r.m.outputs[0].size
    assert rig.live(r.s)["device_allocations"] == allocations + 1, "the caller now owns it"
    got = np.zeros(size, np.uint8)
    b.memcpy(got.ctypes.data, size, ptr, size, D2H)
    check_values(rig, r.s, got, [a, bb], 0)
    b.free(ptr)
    b.execute_async(r.m.id, r.inputs, r.outputs, stream)
    b.synchronize_stream(stream)
    check_values(rig, r.s, r.get(1, 25), [a, bb], 1)
    b.destroy_stream(stream)
    for h in (y, z):
        b.destroy_data_buffer(h)
    b.destroy_dataset(out)


def test_a_stream_of_another_context_is_refused(static):
    r, b = static, static.b
    other = b.create_context(0)
    foreign = b.create_stream()
    r.s._use(0)
    assert code_of(b.execute_async, r.m.id, r.inputs, r.outputs, foreign) == 107003
    assert code_of(b.execute_async, r.m.id, r.inputs, r.outputs, foreign + 16) == 107017
    b.set_current_context(other)
    b.destroy_stream(foreign)
    b.destroy_context(other)
    r.s._use(0)


def test_real_model_executes_and_reads_every_input_byte(rig, mode):
    s = rig.session(soc="Ascend310B4")
    from shared_models import model_path

    m = s.load(model_path("my_122_anenet"))
    s._use(0)
    r = Runner(s, m)
    x = np.random.default_rng(1).standard_normal((1, 3, 256, 512)).astype(np.float32)
    r.put(0, x)
    r.b.execute(m.id, r.inputs, r.outputs)
    outs = [r.get(j, t.size) for j, t in enumerate(m.outputs)]
    for j, got in enumerate(outs):
        check_values(rig, s, got, [x], j)
    x.reshape(-1)[-1] += 1  # the very last input byte matters
    r.put(0, x)
    r.b.execute(m.id, r.inputs, r.outputs)
    assert any((r.get(j, t.size) != outs[j]).any() for j, t in enumerate(m.outputs))
    r.close()


# -- gears ---------------------------------------------------------------------------------------
DYN = {
    "batch": dict(inputs=[TensorSpec("x", (-1, 3, 4, 4), "float16", "NCHW")],
                  outputs=[TensorSpec("y", (-1, 10), "float32", "ND")], gears=[(1,), (2,), (8,)]),
    "hw": dict(inputs=[TensorSpec("x", (1, 3, -1, -1), "uint8", "NCHW")],
               outputs=[TensorSpec("y", (1, 2, -1, -1), "uint8", "NCHW")], gears=[(4, 6), (8, 8)]),
    "dims": dict(inputs=[TensorSpec("t", (1, -1), "int32", "ND"), TensorSpec("k", (-1, 2), "int64", "ND")],
                 outputs=[TensorSpec("h", (1, -1, 3), "float16", "ND")], gears=[(3, 5), (6, 2)],
                 shape_order=["k", "t"]),
}


def dyn_model(rig, mode, kind):
    s = rig.session(soc=MODES[mode])
    m = s.load(build(MODES[mode], dynamic_kind=kind, **DYN[kind]))
    s._use(0)
    return s, m, Runner(s, m)


def set_gear(b, m, ds, index, gear):
    if m.dynamic.kind == "batch":
        b.set_dynamic_batch_size(m.id, ds, index, gear[0])
    elif m.dynamic.kind == "hw":
        b.set_dynamic_hw_size(m.id, ds, index, *gear)
    else:
        b.set_input_dynamic_dims(m.id, ds, index, full_dims(m.inputs, m.dynamic.shape_order, gear))


@pytest.mark.parametrize("kind", list(DYN))
def test_gear_set_calls_write_the_mbatch_buffer_and_shape_outputs(rig, mode, kind):
    s, m, r = dyn_model(rig, mode, kind)
    b = r.b
    desc = b.create_desc(m.id)
    index = b.input_index_by_name(desc, MBATCH_INPUT)
    assert m.inputs[index].name == MBATCH_INPUT
    largest = {"batch": (8,), "hw": (8, 8), "dims": (3, 5)}[kind]
    expect = {"batch": lambda g: (g[0], 10), "hw": lambda g: (1, 2, *g), "dims": lambda g: (1, g[0], 3)}[kind]
    assert b.cur_output_dims(desc, 0) == expect(largest), "no gear set yet: the largest gear"
    for gear in m.dynamic.gears:
        set_gear(b, m, r.inputs, index, gear)
        assert b.cur_output_dims(desc, 0) == expect(gear)
        stored = np.zeros(m.inputs[index].size, np.uint8)
        b.memcpy(stored.ctypes.data, stored.nbytes, r.addr(r.inputs, index), stored.nbytes, D2H)
        assert stored.nbytes == 4 * len(gear), "the mbatch input is int32, one value a dynamic dim"
        assert tuple(stored.view(np.int32)) == gear, "4 bytes per value: the buffer has no room for 8"
        users = [t for t in m.inputs if t.name != MBATCH_INPUT]
        arrays = []
        for i, t in enumerate(users):
            dims = input_dims(kind, t, gear, m.inputs, m.dynamic.shape_order)
            x = (np.arange(int(np.prod(dims))) % 97).astype(t.numpy_dtype).reshape(dims)
            r.put(i, x)
            arrays.append(x)
        b.execute(m.id, r.inputs, r.outputs)
        out_dims = expect(gear)
        n = int(np.prod(out_dims)) * m.outputs[0].numpy_dtype.itemsize
        check_values(rig, s, r.get(0, n), arrays, 0)
    b.destroy_desc(desc)
    r.close()


@pytest.mark.parametrize("kind", list(DYN))
def test_gear_set_calls_check_in_acl_order(rig, mode, kind):
    s, m, r = dyn_model(rig, mode, kind)
    b = r.b
    index = len(m.inputs) - 1
    good = m.dynamic.gears[0]
    bad = {"batch": (3,), "hw": (5, 5), "dims": (4, 4)}[kind]
    zero = {"batch": (0,), "hw": (0, 4), "dims": None}[kind]
    assert code_of(set_gear, b, m, 0, index, good) == 100000, "NULL dataset"
    if zero is not None:
        assert code_of(set_gear, b, m, r.inputs, index, zero) == 100000
    assert code_of(set_gear, b, m, r.inputs, index + 1, good) == 100000, "no buffer at that index"
    assert code_of(set_gear, b, m, r.inputs, index, bad) == 145013
    gone = type(m).__new__(type(m))
    gone.__dict__.update(m.__dict__, id=m.id + 50)
    assert code_of(set_gear, b, gone, r.inputs, index, good) == 145003
    tiny = b.create_dataset()
    for i in range(len(m.inputs)):
        b.add_dataset_buffer(tiny, b.dataset_buffer(r.inputs, i) if i != index else
                             b.create_data_buffer(r.addr(r.inputs, index), 2))
    assert code_of(set_gear, b, m, tiny, index, good) == 145012, "a 2-byte mbatch buffer"
    b.destroy_data_buffer(b.dataset_buffer(tiny, index))
    b.destroy_dataset(tiny)
    assert in_thread(lambda: code_of(set_gear, b, m, r.inputs, index, good)) == 107002, "its H2D copy"
    set_gear(b, m, r.inputs, index, good)
    r.close()


def test_dims_must_be_every_inputs_dims_concatenated(rig, mode):
    s, m, r = dyn_model(rig, mode, "dims")
    b, index = r.b, len(m.inputs) - 1
    # shape order is k then t: k (-1, 2), t (1, -1); gear (3, 5) -> k (3, 2), t (1, 5)
    b.set_input_dynamic_dims(m.id, r.inputs, index, (3, 2, 1, 5))
    assert code_of(b.set_input_dynamic_dims, m.id, r.inputs, index, (3, 5)) == 145012, "only the -1 values"
    assert code_of(b.set_input_dynamic_dims, m.id, r.inputs, index, (3, 9, 1, 5)) == 145012, "a static dim"
    assert code_of(b.set_input_dynamic_dims, m.id, r.inputs, index, (1, 5, 3, 2)) == 145012, "input order"
    assert code_of(b.set_input_dynamic_dims, m.id, r.inputs, index, (3, 2, 1, 4)) == 145013
    assert code_of(b.set_input_dynamic_dims, m.id, r.inputs, index, ()) == 100000
    assert m.dynamic.gears == ((3, 5), (6, 2)), "the session keeps one value per -1 axis"
    r.close()


def test_execute_without_a_set_call_uses_what_the_mbatch_buffer_holds(rig, mode):
    s, m, r = dyn_model(rig, mode, "batch")
    b, index = r.b, 1
    desc = b.create_desc(m.id)
    x = np.ones((2, 3, 4, 4), np.float16)
    r.put(0, x)
    gear = np.array([2], np.int32)
    b.memcpy(r.addr(r.inputs, index), 4, gear.ctypes.data, 4, H2D)
    b.execute(m.id, r.inputs, r.outputs)
    assert b.cur_output_dims(desc, 0) == (2, 10)
    check_values(rig, s, r.get(0, 80), [x], 0)
    junk = np.array([3], np.int32)
    b.memcpy(r.addr(r.inputs, index), 4, junk.ctypes.data, 4, H2D)
    assert code_of(b.execute, m.id, r.inputs, r.outputs) == 507011
    b.destroy_desc(desc)
    r.close()


def test_desc_getters(rig, mode):
    s, m, r = dyn_model(rig, mode, "hw")
    b = r.b
    desc = b.create_desc(m.id)
    assert b.input_index_by_name(desc, "x") == 0
    assert code_of(b.input_index_by_name, desc, "nope") == 100000
    assert code_of(b.input_index_by_name, 0, "x") == 100000
    assert code_of(b.cur_output_dims, desc, 1) == 100000
    assert code_of(b.cur_output_dims, 0, 0) == 100000
    r.close()
    s.unload(m)
    s._use(0)
    assert code_of(b.cur_output_dims, desc, 0) == 145003, "the desc outlives the model"
    b.destroy_desc(desc)
    assert code_of(b.create_desc, m.id) == 145003
    assert rig.live(s)["descs"] == 0


def test_static_model_has_no_mbatch_input(static):
    r = static
    desc = r.b.create_desc(r.m.id)
    assert code_of(r.b.input_index_by_name, desc, MBATCH_INPUT) == 100000
    assert r.b.cur_output_dims(desc, 1) == (5, 5)
    r.b.destroy_desc(desc)


def test_two_threads_execute_two_models(rig, mode):
    s = rig.session(soc=MODES[mode])
    models = [s.load(build(MODES[mode], *STATIC)) for _ in range(2)]
    ctx = s._use(0)
    errors = []

    def work(m, seed):
        try:
            s.backend.set_current_context(ctx)
            r = Runner(s, m)
            a = np.full(16, seed, np.float32)
            bb = np.full(3, seed, np.int8)
            for _ in range(20):
                r.put(0, a)
                r.put(1, bb)
                r.b.execute(m.id, r.inputs, r.outputs)
                want = placeholder_output([a.view(np.uint8), bb.view(np.uint8)], 1, 25)
                assert (r.get(1, 25) == want).all()
            r.close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m, i + 1)) for i, m in enumerate(models)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert rig.live(s)["device_allocations"] == 0
