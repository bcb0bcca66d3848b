"""The behavioural suite both backends must pass: the simulator, and the ctypes binding
driving a compiled library that exports the ACL C ABI (tests/abi)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from backends import small_model
from shared_models import REAL_MODEL_SOC, REAL_MODELS, expected, model_path

import acl_notebook.hostbuf as hostbuf
from acl_notebook.om import OMFormatError
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runtime.base import MemAttr
from acl_notebook.runtime.errors import AclError, error_class
from acl_notebook.session import DeviceMemoryError, HostMemoryError, ModelNotFoundError

MiB = 1024**2


def soc_for(name: str) -> str:
    return REAL_MODEL_SOC[name] or "Ascend910B1"


def desc_dicts(tensors) -> list[dict]:
    return [{"name": t.name, "dims": list(t.dims), "dtype": t.dtype, "format": t.format, "size": t.size}
            for t in tensors]


def expect_dicts(items: list[dict]) -> list[dict]:
    from acl_notebook.om.enums import ACL_DTYPE_VALUES, tensor_size

    out = []
    for d in items:
        size = d.get("size", tensor_size(tuple(d["dims"]), ACL_DTYPE_VALUES[d["dtype"]]))
        out.append({"name": d["name"], "dims": d["dims"], "dtype": d["dtype"], "format": d["format"], "size": size})
    return out


# -- loading real models, every buffer kind ---------------------------------------------
BUFFER_KINDS = {
    "bytes": lambda b: b,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "numpy": lambda b: np.frombuffer(bytearray(b), dtype=np.uint8),
}


@pytest.mark.parametrize("name", REAL_MODELS)
@pytest.mark.parametrize("kind", BUFFER_KINDS)
def test_load_real_model_from_memory(rig, name, kind):
    s = rig.session(soc=soc_for(name))
    exp = expected(name)
    data = BUFFER_KINDS[kind](model_path(name).read_bytes())
    before = s.memory()
    m = s.load(data)
    assert m.name == m.info.name and m.backend == rig.kind
    assert desc_dicts(m.inputs) == expect_dicts(exp["inputs"])
    assert desc_dicts(m.outputs) == expect_dicts(exp["outputs"])
    assert (m.needs.work, m.needs.weight) == (exp["memory"]["work"], exp["memory"]["weight"])
    after = s.memory()
    assert before.free - after.free == exp["memory"]["work"] + exp["memory"]["weight"]
    assert [share.name for share in after.models] == [m.name]
    assert m.source == f"<{type(data).__name__ if kind != 'numpy' else 'ndarray'}>"
    s.unload(m)
    assert s.memory().free == before.free
    assert s.models() == ()


@pytest.mark.parametrize("name", REAL_MODELS)
def test_load_by_path_and_names_stay_distinct(rig, name):
    s = rig.session(soc=soc_for(name))
    first = s.load(model_path(name))
    second = s.load(str(model_path(name)))
    assert first.source == str(model_path(name))
    assert first.name == name  # the file's stem, as for an upload of the same file
    assert first.aliases == ((first.info.name,) if first.info.name != name else ())
    assert second.name == f"{first.name}-2"
    assert second.id > first.id
    s.unload(first)
    third = s.load(model_path(name))
    assert third.id > second.id, "model ids are never reused"
    assert third.name == first.name
    assert [m.id for m in s.models()] == [second.id, third.id]


DYNAMIC_SPECS = {
    "batch": dict(inputs=[TensorSpec("images", (-1, 3, 224, 224), "float16", "NCHW")],
                  outputs=[TensorSpec("logits", (-1, 1000), "float32", "ND")], gears=[(1,), (4,), (8,)]),
    "hw": dict(inputs=[TensorSpec("images", (1, 3, -1, -1), "float32", "NCHW")],
               outputs=[TensorSpec("mask", (1, 2, -1, -1), "float32", "NCHW")], gears=[(224, 224), (448, 640)]),
    "dims": dict(inputs=[TensorSpec("tokens", (1, -1), "int32", "ND"), TensorSpec("mask", (1, -1), "int64", "ND")],
                 outputs=[TensorSpec("hidden", (1, -1, 768), "float16", "ND")],
                 gears=[(128, 128), (512, 512)], shape_order=["tokens", "mask"]),
}


@pytest.mark.parametrize("kind", DYNAMIC_SPECS)
def test_descriptors_of_dynamic_models_come_from_the_runtime(rig, kind):
    s = rig.session()
    spec = ModelSpec(name=f"dyn-{kind}", soc_version="Ascend910B1", dynamic_kind=kind,
                     work_size=8 * MiB, weight_size=4 * MiB, **DYNAMIC_SPECS[kind])
    m = s.load(write_om(spec))
    assert m.dynamic.kind == kind
    assert m.dynamic.gears == tuple(tuple(g) for g in DYNAMIC_SPECS[kind]["gears"])
    user_inputs = [t for t in m.inputs if t.name != "ascend_mbatch_shape_data"]
    assert [(t.name, t.dims, t.dtype, t.format) for t in user_inputs] == [
        (t.name, tuple(t.dims), t.dtype, t.format) for t in DYNAMIC_SPECS[kind]["inputs"]]
    assert [t.dims for t in m.outputs] == [tuple(t.dims) for t in DYNAMIC_SPECS[kind]["outputs"]]
    assert m.dynamic == m.info.dynamic  # what ACL has no getter for comes from our parse
    if kind == "dims":
        assert m.dynamic.shape_order == ("tokens", "mask")


# -- the memory pre-check and a full device ------------------------------------------------
def test_fill_device_precheck_then_force(rig):
    s = rig.session(memory=256 * MiB)
    idle = s.memory()
    blobs = [small_model(f"m{i}", work=30 * MiB, weight=30 * MiB) for i in range(6)]
    loaded = []
    refusal = None
    for blob in blobs:
        try:
            loaded.append(s.load(blob))
        except DeviceMemoryError as exc:
            refusal = exc
            break
    assert refusal is not None, "the device should have filled up"
    assert len(loaded) == (idle.free // (60 * MiB))
    report = s.memory()
    assert refusal.needed == 60 * MiB
    assert refusal.free == report.free and refusal.total == report.total
    assert refusal.candidates and refusal.candidates[0][1] == 60 * MiB
    assert "unload" in str(refusal) and "MiB" in str(refusal)
    ids = [m.id for m in s.models()]

    with pytest.raises(AclError) as info:
        s.load(blobs[-1], force=True)
    assert info.value.code == 207001
    assert isinstance(info.value, error_class(207001))
    assert [m.id for m in s.models()] == ids, "a failed load leaves every model loaded"
    assert s.memory().free == report.free

    assert s.unload_all() == len(loaded)
    assert s.memory().free == idle.free
    assert s.memory().used == idle.used


def test_precheck_names_models_to_unload(rig):
    s = rig.session(memory=512 * MiB)
    small = s.load(small_model("small", 10 * MiB, 10 * MiB), name="small")
    big = s.load(small_model("big", 100 * MiB, 100 * MiB), name="big")
    free = s.memory().free
    need = free + 50 * MiB
    with pytest.raises(DeviceMemoryError) as info:
        s.load(small_model("huge", need - 10 * MiB, 10 * MiB), name="huge")
    assert [n for n, _ in info.value.candidates] == ["big"]
    assert {m.name for m in s.models()} == {small.name, big.name}


# -- bad input ------------------------------------------------------------------------
def test_bad_bytes_are_refused_before_the_device(rig):
    s = rig.session()
    good = s.load(model_path("a3c_pong_model_v2"))
    data = model_path("a3c_pong_model_v2").read_bytes()
    for bad in (data[:1000], b"PK\x03\x04" + data[4:], b"", b"hello world" * 40):
        with pytest.raises(OMFormatError):
            s.load(bad)
    assert [m.id for m in s.models()] == [good.id]
    assert good.loaded


def test_raw_runtime_codes_for_bad_buffers(rig):
    s = rig.session()
    s._use(0)
    data = model_path("a3c_pong_model_v2").read_bytes()
    cases = {b"": 100000, data[:100]: 145006, data[:-1]: 145006, b"XXXX" + data[4:]: 145006}
    for blob, code in cases.items():
        with pytest.raises(AclError) as info:
            s.backend.load_from_mem(memoryview(blob))
        assert info.value.code == code, (len(blob), info.value)
        with pytest.raises(AclError) as info:
            s.backend.query_size(memoryview(blob))
        assert info.value.code == code


def test_model_for_another_soc_is_refused(rig):
    s = rig.session(soc="Ascend910B1")
    keep = s.load(model_path("a3c_pong_model_v2"))
    with pytest.raises(AclError) as info:
        s.load(model_path("my_122_anenet"))
    assert info.value.code == 507008
    assert "Ascend310B4" in str(info.value)
    assert [m.id for m in s.models()] == [keep.id]


def test_same_soc_family_is_accepted(rig):
    s = rig.session(soc="Ascend310B1")
    m = s.load(model_path("my_122_anenet"))
    assert m.info.soc_version == "Ascend310B4"
    report = s.memory()
    assert report.kind == "DDR"
    assert (report.free, report.total) == s.backend.mem_info(MemAttr.DDR)


def test_unknown_and_double_unload(rig):
    s = rig.session()
    m = s.load(model_path("a3c_pong_model_v2"))
    s._use(0)
    with pytest.raises(AclError) as info:
        s.backend.unload(m.id + 1000)
    assert info.value.code == 145003
    s.unload(m)
    with pytest.raises(AclError) as info:
        s.backend.unload(m.id)
    assert info.value.code == 145003
    with pytest.raises(ModelNotFoundError):
        s.unload(m.name)
    with pytest.raises(ModelNotFoundError):
        s.unload(12345)


def test_wrong_device_is_a_clear_error(rig):
    s = rig.session(devices=2)
    with pytest.raises(ValueError, match="valid devices are 0..1"):
        s.load(model_path("a3c_pong_model_v2"), device=2)
    assert s.models() == ()


def test_models_on_two_devices(rig):
    s = rig.session(devices=2)
    m0 = s.load(model_path("a3c_pong_model_v2"))
    m1 = s.load(model_path("a3c_pong_model_v2"), device=1)
    assert (m0.device, m1.device) == (0, 1)
    assert [x.id for x in s.memory(1).models] == [m1.id]
    assert [x.id for x in s.memory(0).models] == [m0.id]
    s.unload(m1)
    s.unload(m0)


# -- ACL's process, context and thread rules -----------------------------------------------
def test_init_finalize_semantics(rig):
    s = rig.session()
    backend = s.backend
    assert backend.init() is False, "a second aclInit reports 'already initialised'"
    s.shutdown()
    with pytest.raises(AclError) as info:
        backend.finalize()
    assert info.value.code == 100037
    assert backend.init() is True
    backend.finalize()


def test_calls_before_init(rig):
    s = rig.session()
    backend = s.backend
    s.shutdown()  # aclFinalize
    with pytest.raises(AclError) as info:
        backend.load_from_mem(memoryview(model_path("a3c_pong_model_v2").read_bytes()))
    assert info.value.code == 145001
    with pytest.raises(AclError) as info:
        backend.load_from_mem(memoryview(b""))
    assert info.value.code == 100000, "the buffer arguments are checked before initialisation"


@pytest.mark.parametrize("version,wide", [(1, False), (1, True), (2, False), (2, True)])
def test_every_header_layout_loads(rig, version, wide):
    s = rig.session()
    spec = ModelSpec(name=f"v{version}{'w' if wide else 'n'}", soc_version="Ascend910B1",
                     inputs=[TensorSpec("x", (2, 8), "int8", "ND")], outputs=[TensorSpec("y", (2,), "int64", "ND")],
                     header_version=version, wide_table=wide, inout_info=version == 2, work_size=MiB)
    m = s.load(write_om(spec))
    assert [(t.name, t.dims, t.dtype, t.size) for t in m.inputs] == [("x", (2, 8), "int8", 16)]
    # GE names an output "<name>:<src index>" when the recorded name has no colon
    assert [(t.name, t.dims, t.dtype, t.size) for t in m.outputs] == [("y:0", (2,), "int64", 16)]
    assert m.info.header.version == version << 28


def test_thread_without_context_gets_context_null(rig):
    s = rig.session()
    data = memoryview(model_path("a3c_pong_model_v2").read_bytes())
    result = {}

    def worker():
        try:
            s.backend.load_from_mem(data)
        except AclError as exc:
            result["code"] = exc.code
        result["via_session"] = s.load(data, name="from-thread").id

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert result["code"] == 107002
    assert s.find("from-thread").id == result["via_session"]


def test_unload_from_another_context_is_refused(rig):
    s = rig.session()
    m = s.load(model_path("a3c_pong_model_v2"))
    other = s.backend.create_context(0)  # becomes current on this thread
    with pytest.raises(AclError) as info:
        s.backend.unload(m.id)
    assert info.value.code == 107004
    s.backend.destroy_context(other)
    s.unload(m)  # the session puts its own context back first
    assert s.models() == ()


def test_load_with_config_priority(rig):
    s = rig.session()
    m = s.load(model_path("a3c_pong_model_v2"), priority=1)
    assert m.loaded and s.models()[0].id == m.id


@pytest.mark.parametrize("priority", [-1, 8, 2**31 - 1])
def test_a_load_priority_outside_the_stream_range_is_refused_and_nothing_is_lost(rig, priority):
    """aclmdlSetConfigOpt checks PRIORITY_INT32 against the stream priority range (greatest 0,
    least 7): 100000 on both backends, and the model already loaded stays loaded."""
    s = rig.session()
    kept = s.load(model_path("a3c_pong_model_v2"), name="kept", priority=7)
    with pytest.raises(AclError) as info:
        s.load(model_path("a3c_pong_model_v2"), name="refused", priority=priority)
    assert info.value.code == 100000 and "aclmdlSetConfigOpt" in str(info.value)
    assert [m.name for m in s.models()] == ["kept"] and kept.loaded


def test_mem_info_kinds(rig):
    s = rig.session(soc="Ascend910B1")
    s._use(0)
    assert s.backend.mem_info(MemAttr.DDR) == (0, 0)
    free, total = s.backend.mem_info(MemAttr.HBM)
    assert 0 < free < total
    s.shutdown()
    s2 = rig.session(soc="Ascend310P3")
    s2._use(0)
    assert s2.backend.mem_info(MemAttr.HBM) == s2.backend.mem_info(MemAttr.DDR)


def test_host_memory_guard(rig, monkeypatch):
    s = rig.session()
    asked = []
    monkeypatch.setattr(hostbuf, "host_available_memory", lambda: asked.append(1) or 1000)
    path = model_path("a3c_pong_model_v2")
    # a file no larger than the free memory fits what is available too: /proc/meminfo is not read
    monkeypatch.setattr(hostbuf, "_free_memory", lambda: path.stat().st_size)
    s.unload(s.load(path))
    assert asked == []
    monkeypatch.setattr(hostbuf, "_free_memory", lambda: path.stat().st_size - 1)
    with pytest.raises(HostMemoryError, match="available"):
        s.load(path)
    assert s.models() == () and asked == [1]


def test_cycles_leave_nothing_behind(rig):
    s = rig.session()
    idle = s.memory()
    blob = small_model("cycle", 4 * MiB, 4 * MiB)
    for _ in range(50):
        s.unload(s.load(blob))
    assert s.models() == ()
    assert s.memory().free == idle.free


def test_shutdown_unloads_everything_and_restarts(rig):
    s = rig.session()
    events = []
    s.subscribe(lambda e, p: events.append(e))
    m = s.load(model_path("a3c_pong_model_v2"))
    s.shutdown()
    assert not m.loaded and s.models() == ()
    assert events == ["load", "unload"]
    again = s.load(model_path("a3c_pong_model_v2"))
    assert again.loaded


def test_utilisation_of_an_idle_device_and_in_the_samples(rig):
    s = rig.session(devices=2)
    util = s.utilization()
    assert (util.cube, util.vector) == (0, 0)  # nothing runs yet
    assert s.sample(0).util == util  # the history carries it for the panel's plot
    assert s.utilization(1).cube == 0
    with pytest.raises(ValueError, match="valid devices are 0..1"):
        s.utilization(2)

