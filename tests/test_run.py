"""`Model.run` / `m(x)` end to end, on both backends, in EP and RC, from any thread.

Values are checked against the placeholder function the C library computes from the
bytes it finds in device memory (and the simulator computes while its fidelity is
"placeholder"), so a skipped or misdirected copy fails here.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from backends import MODES, check_outputs, placeholder_expected

from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runner.errors import InputError, InputNameError, InputTypeError
from acl_notebook.runtime.base import MemcpyKind
from acl_notebook.session import DeviceMemoryError
from acl_notebook.session_io import io_charge

MiB = 1 << 20
ZERO = {"device_allocations": 0, "host_allocations": 0, "data_buffers": 0, "datasets": 0, "streams": 0,
        "descs": 0, "events": 0}


def spec(soc: str, inputs, outputs, **extra) -> bytes:
    return write_om(ModelSpec(name=extra.pop("name", "net"), soc_version=soc, inputs=inputs, outputs=outputs,
                              work_size=MiB, weight_size=MiB, **extra))


TWO_IN = ([TensorSpec("image", (1, 3, 8, 8), "float32", "NCHW"), TensorSpec("scale", (2,), "int32", "ND")],
          [TensorSpec("prob", (1, 10), "float32", "ND"), TensorSpec("mask", (1, 8, 8), "uint8", "ND")])
BATCH = dict(inputs=[TensorSpec("x", (-1, 3, 4, 4), "float16", "NCHW")],
             outputs=[TensorSpec("y", (-1, 10), "float32", "ND")], dynamic_kind="batch", gears=[(1,), (4,), (8,)])
HW_NHWC = dict(inputs=[TensorSpec("img", (1, -1, -1, 3), "uint8", "NHWC")],
               outputs=[TensorSpec("seg", (1, -1, -1), "uint8", "ND")], dynamic_kind="hw",
               gears=[(4, 6), (8, 8)])
DIMS = dict(inputs=[TensorSpec("tokens", (1, -1), "int32", "ND"), TensorSpec("mask", (1, -1), "int64", "ND")],
            outputs=[TensorSpec("hidden", (1, -1, 4), "float16", "ND")], dynamic_kind="dims",
            gears=[(5, 5), (9, 9)], shape_order=["tokens", "mask"])


@pytest.fixture
def two(rig, mode):
    s = rig.session(soc=MODES[mode])
    return s, s.load(spec(MODES[mode], *TWO_IN))


def inputs_for_two(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1, 3, 8, 8)).astype(np.float32), np.array([3, -7], np.int32)


# -- values, forms, names ----------------------------------------------------------------------
def test_run_returns_outputs_computed_from_the_inputs(rig, two):
    s, m = two
    image, scale = inputs_for_two()
    out = m.run([image, scale])
    assert out.names == ("prob:0", "mask:0") and out.gear is None and out.model == m.name
    assert [(a.shape, a.dtype) for a in out] == [((1, 10), np.float32), ((1, 8, 8), np.uint8)]
    check_outputs(rig, out, [image, scale])
    assert out["prob"] is out[0] and out["mask:0"] is out[1]
    t = out.timing
    assert 0 < t.execute <= t.total and 0 < t.h2d <= t.total and 0 < t.d2h <= t.total
    same = m({"scale": scale, "image": image})
    assert all((a == b).all() for a, b in zip(out, same))
    prob, mask = m([image, scale])  # unpacks like a tuple
    assert (prob == out[0]).all()
    with pytest.raises(KeyError, match="no output named 'nope'"):
        out["nope"]


def test_results_belong_to_the_caller(two):
    s, m = two
    a = m(list(inputs_for_two(1)))
    keep = [x.copy() for x in a]
    b = m(list(inputs_for_two(2)))
    assert all((x == y).all() for x, y in zip(a, keep)), "a later run must not overwrite an earlier result"
    assert any((x != y).any() for x, y in zip(a, b))
    assert not any(np.shares_memory(x, y) for x, y in zip(a, b))


def test_zero_copy_for_contiguous_arrays_of_the_right_dtype(rig, two, mode):
    s, m = two
    image, scale = inputs_for_two()
    m([image, scale])
    log = rig.memcpy_log(s)[-4:]
    copy_in = MemcpyKind.DEVICE_TO_DEVICE if mode == "RC" else MemcpyKind.HOST_TO_DEVICE
    copy_out = MemcpyKind.DEVICE_TO_DEVICE if mode == "RC" else MemcpyKind.DEVICE_TO_HOST
    assert [k for *_, k in log] == [copy_in, copy_in, copy_out, copy_out], "one copy per input and per output"
    assert [src for _, src, _, _ in log[:2]] == [image.ctypes.data, scale.ctypes.data], "passed by address"
    assert [n for _, _, n, _ in log] == [image.nbytes, scale.nbytes, 40, 64]
    # a strided view and a float64 array are converted (a copy), and still give the right values
    wide = np.asfortranarray(image.astype(np.float64))
    out = m([wide, scale.astype(np.int64)])
    log = rig.memcpy_log(s)[-4:]
    assert log[0][1] != wide.ctypes.data
    check_outputs(rig, out, [image, scale])


def test_io_buffers_are_allocated_once_charged_and_freed(rig, two):
    s, m = two
    before = s.memory()
    assert m.memory == m.needs.total and m.io_bytes == 0
    m(list(inputs_for_two()))
    mallocs = rig.calls(s, "aclrtMalloc")
    assert mallocs == 4 and rig.live(s)["device_allocations"] == 4
    assert m.io_bytes == io_charge(m) > 0 and m.memory == m.needs.total + m.io_bytes
    after = s.memory()
    assert before.free - after.free == m.io_bytes
    assert [x.bytes for x in after.models] == [m.memory], "memory reports charge the I/O to the model"
    assert s.history.samples(m.device)[-1].per_model[m.name] == m.memory, "and so does the memory history"
    for _ in range(5):
        m(list(inputs_for_two()))
    assert rig.calls(s, "aclrtMalloc") == mallocs, "later runs allocate nothing"
    s.unload(m)
    assert rig.live(s) == ZERO, "every aclrtMalloc has its aclrtFree; buffers, datasets and descs destroyed"
    assert s.memory().free == before.free + m.needs.total


def test_shutdown_releases_io_buffers(rig, two):
    s, m = two
    m(list(inputs_for_two()))
    live = rig.live(s)
    assert live["device_allocations"] and live["datasets"] == 2 and live["descs"] == 1
    backend = s.backend
    s.shutdown()
    assert not m.loaded
    counts = backend.live_objects() if rig.kind == "sim" else rig.control.live_objects()
    assert counts == ZERO


def test_first_allocation_is_prechecked_like_a_load(rig):
    s = rig.session(memory=64 * MiB)
    big = [TensorSpec("x", (4 * MiB,), "float32", "ND")]
    m = s.load(spec("Ascend910B1", big, [TensorSpec("y", (4 * MiB,), "float32", "ND")], name="big"))
    free = s.memory().free
    filler = s.load(write_om(ModelSpec(name="filler", soc_version="Ascend910B1", work_size=free - 20 * MiB,
                                       inputs=[TensorSpec("a", (4,), "int8", "ND")],
                                       outputs=[TensorSpec("b", (4,), "int8", "ND")])))
    x = np.zeros(4 * MiB, np.float32)
    calls = rig.calls(s, "aclrtMalloc")
    with pytest.raises(DeviceMemoryError) as info:
        m(x)
    assert info.value.candidates == (("filler", filler.memory),)
    assert "I/O buffers" in str(info.value) and "\n" not in str(info.value)
    assert rig.calls(s, "aclrtMalloc") == calls and rig.live(s)["device_allocations"] == 0
    assert m.loaded and m.io_bytes == 0
    s.unload(filler)
    out = m(x)
    check_outputs(rig, out, [x])


# -- refusals before any ACL call ------------------------------------------------------------------
def _refused(rig, s, m, call, kind, *fragments):
    counts = {f: rig.calls(s, f) for f in ("aclrtMemcpy", "aclmdlExecute", "aclrtMalloc")}
    free = s.memory().free
    with pytest.raises(kind) as info:
        call()
    err = info.value
    text = str(err)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    assert {f: rig.calls(s, f) for f in counts} == counts, "nothing reached ACL"
    assert s.memory().free == free and m.loaded and s.find(m.id) is m
    return err


def test_bad_inputs_are_refused_before_any_acl_call(rig, two):
    s, m = two
    image, scale = inputs_for_two()
    m([image, scale])  # buffers exist: a refusal must not touch them either
    r = lambda *a: _refused(rig, s, m, *a)  # noqa: E731
    r(lambda: m([image]), InputError, "1 inputs given", "has 2", "'image', 'scale'")
    r(lambda: m(image), InputTypeError, "one array given", "2 inputs")
    r(lambda: m(), InputTypeError, "needs 2 input(s)")
    r(lambda: m({"image": image, "scael": scale}), InputNameError, "no input named 'scael'", "'image', 'scale'")
    r(lambda: m({"image": image}), InputNameError, "input 'scale' is missing")
    r(lambda: m({"image": image, "scale": scale, "ascend_mbatch_shape_data": scale}), InputNameError,
      "not yours to give")
    r(lambda: m([image[:, :2], scale]), InputError, "input 'image'", "(1, 2, 8, 8)", "expected (1, 3, 8, 8)")
    r(lambda: m([image, scale.astype(np.float32)]), InputTypeError, "input 'scale'", "float32", "int32",
      "same_kind")
    r(lambda: m([image, [1, 2, 3]]), InputError, "input 'scale'", "(3,)", "(2,)")
    r(lambda: m([image, scale], batch=2), InputError, "static", "batch=")
    # a writer model without a graph has no CPU reference to override (sim); the NPU takes none (acl)
    r(lambda: m.run([image, scale], override={"prob": 1}), (InputTypeError, ValueError), "override=")
    assert (m([image, scale])[0] == m([image, scale])[0]).all(), "still usable"


def test_dynamic_refusals_list_the_gears(rig, mode):
    s = rig.session(soc=MODES[mode])
    m = s.load(spec(MODES[mode], **BATCH))
    x = np.ones((2, 3, 4, 4), np.float16)
    r = lambda *a: _refused(rig, s, m, *a)  # noqa: E731
    r(lambda: m(x), InputError, "input 'x'", "batch 2", "gears: 1, 4, 8")
    r(lambda: m(np.ones((4, 3, 4, 4), np.float16), batch=3), InputError, "batch=3", "gears: 1, 4, 8")
    r(lambda: m(np.ones((4, 3, 4, 4), np.float16), batch=8), InputError, "given shape (4, 3, 4, 4)",
      "expected (8, 3, 4, 4)", "batch gear 8")
    r(lambda: m(np.ones((4, 3, 5, 4), np.float16)), InputError, "axis 2 must be 4")
    r(lambda: m(np.ones((4, 3, 4), np.float16)), InputError, "rank 3", "expected rank 4")
    r(lambda: m(x, hw=(4, 4)), InputError, "batch gears", "use batch=")
    r(lambda: m(x, batch=1, hw=(1, 1)), InputError, "give one of")
    r(lambda: m(x, batch="x"), InputTypeError, "batch= must be an int")
    for not_whole in (1.5, 4.0, float("inf"), True):  # never truncated into another gear
        r(lambda b=not_whole: m(x, batch=b), InputTypeError, "batch= must be an int")
    assert m(np.ones((4, 3, 4, 4), np.float16), batch=np.int64(4)).gear == (4,)  # a numpy integer is an int


# -- gears ------------------------------------------------------------------------------------------
def test_batch_gear_from_the_input_shape_and_trimmed_outputs(rig, mode):
    s = rig.session(soc=MODES[mode])
    m = s.load(spec(MODES[mode], **BATCH))
    for b in (1, 8, 4):
        x = np.random.default_rng(b).standard_normal((b, 3, 4, 4))  # float64: converted to float16
        out = m(x)
        assert out.gear == (b,) and out[0].shape == (b, 10)
        check_outputs(rig, out, [x.astype(np.float16)])
    forced = m(np.ones((4, 3, 4, 4), np.float16), batch=4)
    assert forced.gear == (4,)


def test_hw_gear_from_h_and_w_of_the_format(rig, mode):
    s = rig.session(soc=MODES[mode])
    m = s.load(spec(MODES[mode], **HW_NHWC))
    x = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(1, 4, 6, 3)
    out = m(x)
    assert out.gear == (4, 6) and out[0].shape == (1, 4, 6)
    check_outputs(rig, out, [x])
    out = m(np.zeros((1, 8, 8, 3), np.uint8), hw=(8, 8))
    assert out.gear == (8, 8) and out[0].shape == (1, 8, 8)
    with pytest.raises(InputError, match="4x6, 8x8"):
        m(np.zeros((1, 6, 4, 3), np.uint8))


def test_dims_gear_from_every_input_shape(rig, mode):
    s = rig.session(soc=MODES[mode])
    m = s.load(spec(MODES[mode], **DIMS))
    tokens, mask = np.arange(9, dtype=np.int32).reshape(1, 9), np.ones((1, 9), np.int64)
    out = m({"tokens": tokens, "mask": mask})
    assert out.gear == (9, 9) and out[0].shape == (1, 9, 4)
    check_outputs(rig, out, [tokens, mask])
    out = m([tokens[:, :5], mask[:, :5]], dims=(5, 5))
    assert out.gear == (5, 5) and out[0].shape == (1, 5, 4)
    with pytest.raises(InputError, match=r"\(5, 5\), \(9, 9\)"):
        m([tokens[:, :5], mask])


# -- threads -------------------------------------------------------------------------------------------
def test_runs_from_another_thread_make_the_context_current(rig, two):
    s, m = two
    image, scale = inputs_for_two()
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("out", m([image, scale])))
    t.start()
    t.join()
    check_outputs(rig, box["out"], [image, scale])


def test_one_model_from_two_threads_is_serialised(rig, two):
    s, m = two
    errors, outs = [], []

    def work(seed):
        try:
            for i in range(15):
                image, scale = inputs_for_two(seed * 100 + i)
                out = m([image, scale])
                assert (out[1].view(np.uint8).reshape(-1) == placeholder_expected(out, [image, scale], 1)).all()
            outs.append(seed)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(outs) == [0, 1, 2]
    assert rig.calls(s, "aclrtMalloc") == 4, "one set of buffers, shared under the model's lock"


def test_unload_waits_for_a_run_and_frees_everything(rig, two):
    s, m = two
    m(list(inputs_for_two()))
    with m._run_lock:  # a run in flight on another thread
        t = threading.Thread(target=s.unload, args=(m,))
        t.start()
        t.join(0.2)
        assert t.is_alive() and m.loaded, "unload waits for the run"
    t.join()
    assert not m.loaded and rig.live(s) == ZERO


def test_a_dropped_result_is_recycled_a_held_one_never(two):
    s, m = two
    x = list(inputs_for_two())
    first = m(x)
    address = first[1].ctypes.data
    del first
    second = m(x)
    assert second[1].ctypes.data == address, "nobody held it: the next run writes into it again"
    view = second[1][0]
    held = second[1].ctypes.data
    del second
    third = m(x)
    assert third[1].ctypes.data != held, "a view of it is still alive: never overwritten"
    assert view.base is not None


# -- random inputs ------------------------------------------------------------------------------
MIXED = dict(inputs=[TensorSpec("x", (-1, 3, 4, 4), "float16", "NCHW"), TensorSpec("ids", (-1, 7), "int32", "ND"),
                     TensorSpec("keep", (-1, 2), "bool", "ND"), TensorSpec("w", (-1, 5), "float64", "ND")],
             outputs=[TensorSpec("y", (-1, 10), "float32", "ND")], dynamic_kind="batch", gears=[(1,), (4,)])


def test_random_inputs_match_the_descriptors_at_the_gear(rig):
    import acl_notebook as acl

    m = rig.session().load(spec("Ascend910B1", **MIXED))
    largest, one = acl.random_inputs(m, seed=3), acl.random_inputs(m, batch=1, seed=3)
    assert {k: (v.shape, v.dtype.name) for k, v in largest.items()} == {
        "x": ((4, 3, 4, 4), "float16"), "ids": ((4, 7), "int32"), "keep": ((4, 2), "bool"), "w": ((4, 5), "float64")}
    assert one["x"].shape == (1, 3, 4, 4)
    for name in ("x", "w"):
        values = largest[name].astype(np.float64)
        assert values.min() >= -1 and values.max() < 1 and values.std() > 0.2  # spread over [-1, 1)
    assert 0 <= largest["ids"].min() and largest["ids"].max() < 100
    again = acl.random_inputs(m, seed=3)
    assert all(np.array_equal(largest[k], again[k]) for k in largest)  # a seed gives the same arrays
    assert not np.array_equal(acl.random_inputs(m, seed=4)["x"], largest["x"])
    assert m(largest).gear == (4,)


def test_random_inputs_the_host_cannot_hold_are_refused_before_any_is_made(rig, monkeypatch, small_host):
    """Filling arrays larger than host memory gets the kernel killed, not a MemoryError: a
    model with a huge input (here: more than a pretend 1 MiB host) gets HostMemoryError,
    from random_inputs and from bench, and stays loaded and usable."""
    import acl_notebook as acl
    from acl_notebook import hostbuf

    s = rig.session()
    m = s.load(spec("Ascend910B1", [TensorSpec("x", (1, 3, 512, 512), "float32", "NCHW")],
                    [TensorSpec("y", (1, 10), "float32", "ND")]))
    small_host(MiB)
    for call in (lambda: acl.random_inputs(m), lambda: acl.bench(m, n=1, warmup=0)):
        with pytest.raises(hostbuf.HostMemoryError, match=r"random input set for model 'net' is 3.0 MiB but "
                                                          r"the host has only 1.0 MiB.*pass arrays of your own"):
            call()
    monkeypatch.undo()
    assert m.loaded and m(acl.random_inputs(m)).gear is None


def test_outputs_the_host_cannot_hold_are_refused_and_the_model_stays_usable(rig, monkeypatch, small_host):
    """A run whose outputs would not fit in host memory (a pretend 1 MiB host, 4 MiB output)
    is refused before anything is paged in: HostMemoryError for a new output array; on the
    simulator, which computes the outputs in host RAM first, ACL's 207001 for the run. The
    model stays loaded and runs again once there is room."""
    from acl_notebook import hostbuf
    from acl_notebook.runtime.errors import AclError

    s = rig.session()
    m = s.load(spec("Ascend910B1", [TensorSpec("x", (1, 4), "float32", "ND")],
                    [TensorSpec("y", (1, MiB), "float32", "ND")]))
    x = np.ones((1, 4), np.float32)
    first = m(x)  # device buffers are made here, while there is room
    small_host(MiB)
    if rig.kind == "sim":  # it computes the outputs before any copy out: its check comes first
        with pytest.raises(AclError, match=r"computes a run's outputs in this host's RAM") as refused:
            m(x)
        assert refused.value.code == 207001
    else:  # `first` still holds the last arrays, so the run needs a new one
        with pytest.raises(hostbuf.HostMemoryError, match=r"output 'y(:0)?' is 4.0 MiB but the host has only 1.0 MiB"):
            m(x)
    assert first[0].shape == (1, MiB)
    monkeypatch.undo()
    assert m.loaded and m(x)[0].shape == (1, MiB)
