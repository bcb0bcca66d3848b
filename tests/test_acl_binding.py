"""The `acl` backend through real ctypes calls into the C stand-in library (tests/abi).

The fake library reads the OM bytes itself (in C), so comparing what the binding reports
with NAME.expect.json checks the whole chain: prototypes, struct layouts, buffer passing,
getters, error mapping. Writer-built models are cross-checked against the Python reader,
an independent implementation of the same GE rules.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import re
import struct
import threading
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from abi_lib import FakeAclControl, build_fake_acl, cann_root

from acl_notebook.runtime import acl as acl_module
from acl_notebook.runtime.acl import AclBackend
from acl_notebook.runtime.base import MemAttr, RunMode, Utilization
from acl_notebook.runtime.errors import AclError, FunctionNotFoundError, error_class, error_name
from acl_notebook.runtime.gears import gear_from_full
from acl_notebook.runtime.prototypes import (
    PROTOTYPES,
    STRUCT_SIZES,
    AclmdlBatch,
    AclmdlHW,
    AclmdlIODims,
    AclmdlIODimsRange,
    AclrtUtilizationInfo,
)

MODELS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "models"
A3C, ANENET = "a3c_pong_model_v2", "my_122_anenet"
REAL_MODELS = (A3C, ANENET)
GiB = 1024**3


@cache
def model_bytes(name: str) -> bytes:
    path = MODELS_DIR / f"{name}.om"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the tests expect ../shared/models beside the repository")
    return path.read_bytes()


def expected(name: str) -> dict:
    return json.loads((MODELS_DIR / f"{name}.expect.json").read_text())


def model_soc(name: str) -> str:
    """The SoC a real model was built for (the fake must pretend to be in its family)."""
    return expected(name).get("soc_version", "")


def expect_acl(call, code: int, *fragments: str) -> AclError:
    """`call()` must raise the AclError subclass for `code`, naming it and saying `fragments`."""
    with pytest.raises(AclError) as info:
        call()
    err = info.value
    assert type(err) is error_class(code), f"{type(err).__name__} ({err.code}) raised, wanted {code}"
    assert err.code == code
    assert err.name == error_name(code)
    for fragment in fragments:
        assert fragment in str(err), f"{fragment!r} not in {str(err)!r}"
    return err


def check_against_expect(desc, name: str) -> None:
    exp = expected(name)
    got_in = [t.to_dict() for t in desc.inputs]
    got_out = [t.to_dict() for t in desc.outputs]
    assert len(got_in) == len(exp["inputs"]) and len(got_out) == len(exp["outputs"])
    for got, want in zip(got_in + got_out, exp["inputs"] + exp["outputs"]):
        for key, value in want.items():
            assert got[key] == value, f"{name} {got['name']}: {key} = {got[key]!r}, expected {value!r}"
    assert desc.dynamic.kind is None and desc.dynamic.gears == ()


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def fake_lib(tmp_path_factory) -> Path:
    return build_fake_acl(tmp_path_factory.mktemp("fakeacl"))


@pytest.fixture(scope="session")
def old_lib(tmp_path_factory) -> Path:
    return build_fake_acl(tmp_path_factory.mktemp("fakeacl-old"), "old")


@pytest.fixture
def fake(fake_lib) -> FakeAclControl:
    ctl = FakeAclControl(fake_lib)
    ctl.reset()
    yield ctl
    ctl.reset()


@pytest.fixture
def acl(fake, fake_lib) -> AclBackend:
    """A backend over the fake library, not initialised."""
    return AclBackend(str(fake_lib))


@pytest.fixture
def ready(acl) -> AclBackend:
    """Initialised, with device 0 set on this thread."""
    assert acl.init() is True
    acl.set_device(0)
    return acl


# -- ABI ---------------------------------------------------------------------------------------
def test_struct_layouts_match_the_headers_and_the_c_library(fake):
    for struct_type, size in STRUCT_SIZES.items():
        assert ctypes.sizeof(struct_type) == size
        assert fake.sizeof("acl" + struct_type.__name__[3:]) == size
    assert (AclmdlIODims.name.offset, AclmdlIODims.dimCount.offset, AclmdlIODims.dims.offset) == (0, 128, 136)
    assert (AclmdlIODimsRange.rangeCount.offset, AclmdlIODimsRange.range.offset) == (0, 8)
    assert (AclmdlBatch.batchCount.offset, AclmdlBatch.batch.offset) == (0, 8)
    assert (AclmdlHW.hwCount.offset, AclmdlHW.hw.offset) == (0, 8)
    u = AclrtUtilizationInfo
    assert (u.cubeUtilization.offset, u.vectorUtilization.offset, u.aicpuUtilization.offset,
            u.memoryUtilization.offset, u.utilizationExtend.offset) == (0, 4, 8, 12, 16)


def test_every_prototype_is_exported_and_old_cann_lacks_only_optional_ones(fake_lib, old_lib):
    current, old = ctypes.CDLL(str(fake_lib)), ctypes.CDLL(str(old_lib))
    assert [n for n in PROTOTYPES if not hasattr(current, n)] == []
    missing_in_old = {n for n in PROTOTYPES if not hasattr(old, n)}
    assert missing_in_old, "the old-CANN build should lack the newer symbols"
    assert all(PROTOTYPES[n].optional for n in missing_in_old)


def test_every_acl_symbol_the_backend_calls_has_a_prototype():
    source = Path(acl_module.__file__).read_text()
    names = set(re.findall(r'"(acl(?:rt|mdl|sys)?[A-Z]\w*)"', source))
    for suffix in re.findall(r'f"aclmdlGet\{side\}(\w+)"', source):
        names |= {f"aclmdlGetInput{suffix}", f"aclmdlGetOutput{suffix}"}
    assert len(names) > 30
    assert sorted(names - set(PROTOTYPES)) == []


# -- process -------------------------------------------------------------------------------------
def test_init_twice_then_finalize_twice_then_init_again(acl):
    assert acl.init() is True
    assert acl.init() is False  # 100002 is "already initialised", not an error
    assert acl.recent_error() == ""  # ... and its message was drained
    acl.finalize()
    expect_acl(acl.finalize, 100037, "aclFinalize")
    assert acl.init() is True
    assert acl.device_count() == 1


def test_calls_before_init_fail_with_acl_codes(acl):
    data = memoryview(model_bytes(A3C))
    expect_acl(lambda: acl.set_device(0), 100001, "aclrtSetDevice", "aclInit has not been called")
    expect_acl(acl.device_count, 100001)
    expect_acl(acl.run_mode, 100001)
    expect_acl(lambda: acl.load_from_mem(data), 145001, "aclmdlLoadFromMem", "aclInit")
    expect_acl(lambda: acl.query_size(data), 145001, "aclmdlQuerySizeFromMem")
    expect_acl(lambda: acl.get_desc(1), 100001, "aclmdlGetDesc")
    assert acl.soc_name() == ""


def test_versions_run_mode_and_soc(ready, fake):
    versions = ready.versions()
    assert versions.acl_api == "1.17.0"
    assert versions.cann == "8.0.RC3.fake"
    assert ready.run_mode() is RunMode.HOST
    fake.set_run_mode(0)
    assert ready.run_mode() is RunMode.DEVICE
    assert ready.soc_name() == "Ascend910B1"
    fake.set_soc("Ascend310P3")
    assert ready.soc_name() == "Ascend310P3"


def test_backend_is_found_through_ascend_home_path(fake, fake_lib, monkeypatch):
    monkeypatch.delenv("ACL_NOTEBOOK_LIBRARY", raising=False)
    monkeypatch.setenv("ASCEND_HOME_PATH", str(cann_root(fake_lib)))
    backend = AclBackend()
    assert backend.library == str(fake_lib)
    assert backend.kind == "acl"
    assert backend.init() is True


# -- devices and contexts ------------------------------------------------------------------------
def test_devices_and_contexts(acl, fake):
    fake.set_device_count(4)
    acl.init()
    assert acl.device_count() == 4
    expect_acl(lambda: acl.set_device(4), 107001, "device 4")
    expect_acl(lambda: acl.create_context(-1), 107001)
    assert acl.get_current_context() is None
    acl.set_device(3)
    default = acl.get_current_context()
    assert default
    ctx = acl.create_context(1)
    assert ctx and ctx != default
    assert acl.get_current_context() == ctx  # a new context becomes current
    acl.set_current_context(default)
    assert acl.get_current_context() == default
    live = fake.live_contexts()
    acl.destroy_context(ctx)
    assert fake.live_contexts() == live - 1
    expect_acl(lambda: acl.destroy_context(ctx), 107017, "aclrtDestroyContext")
    expect_acl(lambda: acl.set_current_context(ctx), 107017)
    acl.reset_device(3)  # drops the default context this thread was using
    assert acl.get_current_context() is None
    expect_acl(lambda: acl.load_from_mem(memoryview(model_bytes(A3C))), 107002)


def test_a_second_thread_needs_its_own_current_context(ready, fake):
    data = model_bytes(A3C)
    main_ctx = ready.get_current_context()
    seen: dict = {}

    def worker() -> None:
        try:
            seen["before"] = ready.get_current_context()
            for name, call in (
                ("load", lambda: ready.load_from_mem(memoryview(data))),
                ("mem", lambda: ready.mem_info(MemAttr.HBM)),
            ):
                try:
                    call()
                except AclError as exc:
                    seen[name] = exc
            ready.set_current_context(main_ctx)
            seen["after"] = ready.get_current_context()
            seen["id"] = ready.load_from_mem(memoryview(data))
        except BaseException as exc:  # surfaced below
            seen["crash"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert "crash" not in seen, seen.get("crash")
    assert seen["before"] is None
    for name in ("load", "mem"):
        err = seen[name]
        assert type(err) is error_class(107002) and err.code == 107002
        assert "no current context" in str(err)
    assert seen["after"] == main_ctx
    assert ready.recent_error() == ""  # the worker's messages stayed in the worker
    ready.unload(seen["id"])  # loaded in the main thread's context, so unloadable here
    assert fake.live_models() == 0


def test_unload_from_another_context_is_refused(ready, fake):
    first = ready.get_current_context()
    model_id = ready.load_from_mem(memoryview(model_bytes(A3C)))
    ready.create_context(0)
    expect_acl(lambda: ready.unload(model_id), 107004, "aclmdlUnload", "another context")
    ready.set_current_context(first)
    ready.unload(model_id)
    assert fake.live_models() == 0


# -- loading real models ---------------------------------------------------------------------
def _address_of_bytes(data: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value


def _buffers(data: bytes, tmp_path: Path):
    """(label, buffer to pass, its data address computed independently of the backend)."""
    yield "bytes", data, _address_of_bytes(data)
    yield "memoryview(bytes)", memoryview(data), _address_of_bytes(data)
    ba = bytearray(data)
    yield "bytearray", ba, ctypes.addressof((ctypes.c_char * len(ba)).from_buffer(ba))
    padded = bytearray(b"\0" * 16) + data
    base = ctypes.addressof((ctypes.c_char * len(padded)).from_buffer(padded))
    yield "memoryview slice", memoryview(padded)[16:], base + 16
    arr = np.frombuffer(data, dtype=np.uint8).copy()
    yield "numpy", arr, arr.ctypes.data
    path = tmp_path / "model.om"
    path.write_bytes(data)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = np.frombuffer(mm, dtype=np.uint8)
        address = view.ctypes.data
        del view
        yield "mmap (read-only)", mm, address


@pytest.mark.parametrize("name", REAL_MODELS)
def test_real_models_load_without_a_copy_and_describe_as_expected(ready, fake, name, tmp_path):
    fake.set_soc(model_soc(name) or "Ascend910B1")
    data = model_bytes(name)
    memory = expected(name)["memory"]
    for label, buffer, address in _buffers(data, tmp_path):
        assert ready.query_size(buffer) == (memory["work"], memory["weight"]), label
        assert (fake.last_model_ptr(), fake.last_model_size()) == (address, len(data)), label
        model_id = ready.load_from_mem(buffer)
        assert (fake.last_model_ptr(), fake.last_model_size()) == (address, len(data)), label
        check_against_expect(ready.get_desc(model_id), name)
        ready.unload(model_id)
    assert fake.live_models() == 0 and fake.live_descs() == 0


@pytest.mark.parametrize("name", REAL_MODELS)
def test_modeldef_path_gives_the_same_descriptors(ready, fake, name):
    """Ignoring MODEL_INOUT_INFO, the C reader's ModelDef walk must agree with the file."""
    fake.set_soc(model_soc(name) or "Ascend910B1")
    fake.prefer_modeldef()
    check_against_expect(ready.get_desc(ready.load_from_mem(memoryview(model_bytes(name)))), name)


@pytest.mark.parametrize(("name", "version"), [(A3C, 0x10000000), (ANENET, 0x20000000)])
def test_both_header_layouts_are_read(ready, fake, name, version):
    fake.set_soc(model_soc(name) or "Ascend910B1")
    model_id = ready.load_from_mem(memoryview(model_bytes(name)))
    # MANIFEST.md: platform_version "1.11.z.0" in both; model_num 1 (absent, hence 1, in 1.0).
    assert fake.model_header(model_id) == (version, 1, "1.11.z.0")


def test_get_desc_from_mem_describes_without_loading(ready, fake):
    fake.set_soc(model_soc(ANENET))
    check_against_expect(ready.get_desc_from_mem(model_bytes(ANENET)), ANENET)
    assert fake.live_models() == 0 and fake.live_descs() == 0


def test_model_ids_start_at_one_and_are_never_reused(ready, fake):
    data = memoryview(model_bytes(A3C))
    first = ready.load_from_mem(data)
    second = ready.load_from_mem(data)
    assert (first, second) == (1, 2)
    ready.unload(first)
    assert ready.load_from_mem(data) == 3
    expect_acl(lambda: ready.unload(first), 145003, "aclmdlUnload", f"id {first}")
    expect_acl(lambda: ready.get_desc(first), 145003, "aclmdlGetDesc")
    expect_acl(lambda: ready.unload(-1), 145003, "model id -1 does not fit uint32_t")


def test_load_with_config_passes_address_size_and_priority(ready, fake):
    data = bytearray(model_bytes(A3C))
    address = ctypes.addressof((ctypes.c_char * len(data)).from_buffer(data))
    model_id = ready.load_with_config(data, priority=5)
    assert (fake.last_model_ptr(), fake.last_model_size(), fake.last_priority()) == (address, len(data), 5)
    check_against_expect(ready.get_desc(model_id), A3C)
    assert ready.load_with_config(memoryview(data)) == model_id + 1
    assert fake.last_priority() is None
    assert fake.live_config_handles() == 0
    expect_acl(lambda: ready.load_with_config(data, priority=2**31), 100000, "int32")
    expect_acl(lambda: ready.load_with_config(b""), 100000, "aclmdlLoadWithConfig")
    assert fake.live_config_handles() == 0 and fake.live_models() == 2


# -- memory and SoC checks -----------------------------------------------------------------------
def test_mem_info_accounts_for_loaded_models(ready, fake):
    fake.set_memory(total=4 * GiB, idle=GiB)
    need = sum(expected(A3C)["memory"].values())
    assert ready.mem_info(MemAttr.HBM) == (3 * GiB, 4 * GiB)
    model_id = ready.load_from_mem(memoryview(model_bytes(A3C)))
    assert ready.mem_info(MemAttr.HBM) == (3 * GiB - need, 4 * GiB)
    ready.unload(model_id)
    assert ready.mem_info(MemAttr.HBM) == (3 * GiB, 4 * GiB)


def test_memory_kinds_follow_the_board(ready, fake):
    fake.set_memory(total=8 * GiB, idle=GiB)
    assert ready.mem_info(MemAttr.DDR) == (0, 0)  # 910B: HBM only
    assert ready.mem_info(MemAttr.HBM_HUGE) == (7 * GiB, 8 * GiB)
    fake.set_soc("Ascend310B1")  # DDR only: HBM queries are answered from DDR
    assert ready.mem_info(MemAttr.HBM) == ready.mem_info(MemAttr.DDR) == (7 * GiB, 8 * GiB)


def test_model_that_does_not_fit_is_refused_and_charges_nothing(ready, fake):
    need = sum(expected(A3C)["memory"].values())
    fake.set_memory(total=GiB + need - 1, idle=GiB)
    data = memoryview(model_bytes(A3C))
    expect_acl(lambda: ready.load_from_mem(data), 207001, "out of memory", str(need))
    assert fake.live_models() == 0
    assert ready.mem_info(MemAttr.HBM)[0] == need - 1
    fake.set_memory(total=GiB + need, idle=GiB)  # an exact fit loads
    ready.load_from_mem(data)
    assert ready.mem_info(MemAttr.HBM)[0] == 0


def test_soc_family_rule(ready, fake):
    data = memoryview(model_bytes(ANENET))  # built for Ascend310B4
    expect_acl(lambda: ready.load_from_mem(data), 507008, "Ascend310B4", "Ascend910B1")
    fake.set_soc("Ascend310P3")
    expect_acl(lambda: ready.load_from_mem(data), 507008, "Ascend310P3")
    fake.set_soc("Ascend310B1")  # same family "Ascend310B"
    assert ready.load_from_mem(data) == 1
    fake.set_soc("Ascend910_9391")  # a model without soc_version loads anywhere
    assert ready.load_from_mem(memoryview(model_bytes(A3C))) == 2


# -- bad bytes --------------------------------------------------------------------------------------
def _with_partition_table_count(data: bytes, count: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<I", out, 256, count)
    return bytes(out)


def _wide_partitions(data: bytes) -> list[tuple[int, int, int]]:
    """(type, absolute offset, size) of a wide table (anenet's layout)."""
    (num,) = struct.unpack_from("<I", data, 256)
    cursor, parts = 256 + 8 + 24 * num, []
    for k in range(num):
        ptype, _offset, size = struct.unpack_from("<I4xQQ", data, 256 + 8 + 24 * k)
        parts.append((ptype, cursor, size))
        cursor += size
    return parts


def _narrow_partitions(data: bytes) -> list[tuple[int, int, int]]:
    (num,) = struct.unpack_from("<I", data, 256)
    cursor, parts = 256 + 4 + 12 * num, []
    for k in range(num):
        ptype, _offset, size = struct.unpack_from("<III", data, 256 + 4 + 12 * k)
        parts.append((ptype, cursor, size))
        cursor += size
    return parts


def _smash(data: bytes, ptype: int, parts, nbytes: int = 32) -> bytes:
    out = bytearray(data)
    offset = next(off for t, off, _ in parts if t == ptype)
    out[offset : offset + nbytes] = b"\xff" * nbytes
    return bytes(out)


def _bad_inputs():
    a3c, anenet = model_bytes(A3C), model_bytes(ANENET)
    bad_magic = bytearray(a3c)
    bad_magic[:4] = b"XMOD"
    return [
        ("empty", b"", 100000, "modelSize is 0"),
        ("header only", a3c[:200], 145006, "less than the 256-byte"),
        ("bad magic", bytes(bad_magic), 145006, "magic"),
        ("truncated", anenet[:-1], 145006, "payload"),
        ("padded", a3c + b"\0", 145006, "payload"),
        ("no partitions", _with_partition_table_count(anenet, 0), 545002, "partition table"),
        ("corrupt MODEL_DEF", _smash(a3c, 0, _narrow_partitions(a3c)), 545002, "MODEL_DEF"),
        ("corrupt INOUT", _smash(anenet, 8, _wide_partitions(anenet), 8), 545002, "MODEL_INOUT_INFO"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda c: c[0])
def test_bad_model_bytes_map_to_acl_codes(ready, fake, case):
    _label, data, code, fragment = case
    fake.set_soc("Ascend310B4")
    expect_acl(lambda: ready.load_from_mem(memoryview(data)), code, "aclmdlLoadFromMem", fragment)
    expect_acl(lambda: ready.query_size(memoryview(data)), code, "aclmdlQuerySizeFromMem", fragment)
    assert fake.live_models() == 0


def test_unusable_python_buffers_are_refused_clearly(ready):
    with pytest.raises(TypeError, match="bytes-like"):
        ready.load_from_mem("not bytes")  # type: ignore[arg-type]
    strided = memoryview(bytearray(model_bytes(A3C)))[::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        ready.load_from_mem(strided)


# -- descriptors the real models do not exercise ------------------------------------------------
def _record(name: str, dims, dtype: int, fmt: int, size: int, ranges=()) -> bytes:
    raw = name.encode()
    d = struct.pack(f"<{len(dims)}q", *dims)
    r = struct.pack(f"<{2 * len(ranges)}q", *(v for pair in ranges for v in pair))
    return struct.pack("<QiiIIII", size, fmt, dtype, len(raw), len(d), len(d), len(r)) + raw + d + d + r


def _block(btype: int, body: bytes) -> bytes:
    return struct.pack("<II", btype, len(body)) + body


def _with_inout(data: bytes, partition: bytes) -> bytes:
    """`data` (a wide-table model) with its MODEL_INOUT_INFO partition replaced."""
    (num,) = struct.unpack_from("<I", data, 256)
    parts = _wide_partitions(data)
    k = next(i for i, (t, _, _) in enumerate(parts) if t == 8)
    _, start, size = parts[k]
    out = bytearray(data[:start] + partition + data[start + size :])
    delta = len(partition) - size
    struct.pack_into("<Q", out, 256 + 8 + 24 * k + 16, len(partition))
    for j in range(k + 1, num):
        at = 256 + 8 + 24 * j + 8
        struct.pack_into("<Q", out, at, struct.unpack_from("<Q", out, at)[0] + delta)
    struct.pack_into("<Q", out, 0xB8, len(out) - 256)
    return bytes(out)


GEAR_CASES = [
    ("batch", _block(2, struct.pack("<I3q", 3, 1, 2, 8)), ((1,), (2,), (8,))),
    ("hw", _block(3, struct.pack("<I2I4q", 2, 2, 2, 224, 224, 448, 320)), ((224, 224), (448, 320))),
    # ACL reports a dims gear as every input's dims concatenated, -1 axes filled (acl-execute.md §7)
    ("dims", _block(4, struct.pack("<I2I6q", 2, 3, 3, 1, 2, 3, 4, 5, 6)), ((1, 3, 2, 3), (4, 3, 5, 6))),
]


@pytest.mark.parametrize("kind,gear_block,gears", GEAR_CASES, ids=[c[0] for c in GEAR_CASES])
def test_dynamic_gears_ranges_and_enum_translation(ready, fake, kind, gear_block, gears):
    ranges = ((1, 8), (3, 3), (224, 448), (224, 448))
    inputs = _block(
        0,
        struct.pack("<I", 2)
        + _record("image", (-1, 3, -1, -1), 1, 3 | (2 << 8), 0, ranges)  # float16, NC1HWC0 + sub-format
        + _record("ascend_mbatch_shape_data", (3,), 9, 2, 24),  # int64 ND
    )
    outputs = _block(1, struct.pack("<I", 1) + _record("out:0", (-2,), 28, 29, 0))  # undefined, FRACTAL_NZ
    fake.set_soc("Ascend310B4")
    data = _with_inout(model_bytes(ANENET), inputs + outputs + gear_block)
    desc = ready.get_desc(ready.load_from_mem(memoryview(data)))
    image, shape_data = desc.inputs
    assert (image.name, image.dims, image.dtype, image.format) == ("image", (-1, 3, -1, -1), "float16", "NC1HWC0")
    assert (image.acl_dtype, image.acl_format, image.dims_range) == (1, 3, ranges)
    assert (shape_data.dtype, shape_data.format, shape_data.size, shape_data.dims) == ("int64", "ND", 24, (3,))
    (out,) = desc.outputs
    assert (out.dims, out.dtype, out.acl_dtype, out.format) == ((-2,), "undefined", -1, "FRACTAL_NZ")
    assert (desc.dynamic.kind, desc.dynamic.gears) == (kind, gears)


# -- writer-built models -----------------------------------------------------------------------
def _writer_specs():
    writer = pytest.importorskip("acl_notebook.om.writer")
    M, T = writer.ModelSpec, writer.TensorSpec
    two = [T("x", (1, -1)), T("y", (-1, 4), "int32", "ND")]
    fz = [T("w", (16, 3, 5, 7), "float16", "FRACTAL_Z"), T("o:1", (1,), "bfloat16", "ND")]
    return writer, {
        "static v2": M(),
        "header 1.0": M(header_version=1),
        "header 1.0 wide": M(header_version=1, wide_table=True),
        "narrow v2": M(wide_table=False),
        "no inout, compressed": M(
            inout_info=False, compress_attrs=True, inputs=[T("a", (2, 3), "float16", "ND"), T("b", (4,), "int8", "ND")]
        ),
        "batch": M(inputs=[T("x", (-1, 3, 8, 8))], dynamic_kind="batch", gears=[(1,), (2,), (8,)]),
        "batch, no inout": M(
            inputs=[T("x", (-1, 3, 8, 8))], dynamic_kind="batch", gears=[(1,), (4,)], inout_info=False
        ),
        "hw, compressed": M(
            inputs=[T("x", (1, 3, -1, -1))],
            dynamic_kind="hw",
            gears=[(8, 8), (16, 12)],
            inout_info=False,
            compress_attrs=True,
        ),
        "dims": M(inputs=two, dynamic_kind="dims", gears=[(2, 3), (4, 5)]),
        "dims, no inout": M(inputs=two, dynamic_kind="dims", gears=[(2, 3), (4, 5)], inout_info=False),
        "FRACTAL_Z out, no inout": M(inout_info=False, outputs=fz),
        "sub-models": M(submodels=3),
        "unknown rank, int4": M(
            inputs=[T("x", (-2,)), T("q", (3, 5), "int4", "ND")],
            outputs=[T("y", (7,), "uint1", "ND")],
            inout_info=False,
        ),
        "big weights": M(weight_size=3 << 20, work_size=5 << 20, soc_version="Ascend910B4"),
    }


def test_writer_built_models_match_the_python_reader(ready, fake):
    """Two independent readers of the same bytes (C in the fake, Python in acl_notebook.om)."""
    from acl_notebook.om import inspect

    writer, specs = _writer_specs()
    for label, spec in specs.items():
        data = writer.write_om(spec)
        info = inspect(data)
        assert ready.query_size(data) == (info.memory.work, info.memory.weight), label
        desc = ready.get_desc(ready.load_from_mem(data))
        assert desc.inputs == info.inputs, label
        assert desc.outputs == info.outputs, label
        gears = desc.dynamic.gears
        if desc.dynamic.kind == "dims":  # ACL's full dims back to one value per -1 axis
            gears = tuple(gear_from_full(info.inputs, info.dynamic.shape_order, g) for g in gears)
            assert all(len(g) == sum(len(t.dims) for t in info.inputs[:-1]) for g in desc.dynamic.gears), label
        assert (desc.dynamic.kind, gears) == (info.dynamic.kind, info.dynamic.gears), label
        names = [t.name for t in spec.inputs]
        assert [t.name for t in desc.inputs][: len(names)] == names, label
    assert fake.live_descs() == 0


# -- fault injection ---------------------------------------------------------------------------
def test_injected_failures_surface_with_code_and_text_and_leak_nothing(ready, fake):
    data = memoryview(model_bytes(A3C))
    model_id = ready.load_from_mem(data)
    fake.fail("aclmdlGetDesc", 507899)
    expect_acl(lambda: ready.get_desc(model_id), 507899, "aclmdlGetDesc", "injected failure")
    fake.fail("aclmdlGetOutputDims", 545008)
    expect_acl(lambda: ready.get_desc(model_id), 545008, "aclmdlGetOutputDims")
    fake.fail("aclmdlGetDynamicBatch", 500002)
    expect_acl(lambda: ready.get_desc(model_id), 500002)
    assert fake.live_descs() == 0  # the desc was destroyed on every failure path
    fake.fail("aclmdlCreateDesc", 1)
    expect_acl(lambda: ready.get_desc(model_id), 200000, "aclmdlCreateDesc")
    fake.fail("aclmdlSetConfigOpt", 100000, after_n_calls=1)
    expect_acl(lambda: ready.load_with_config(data, priority=1), 100000, "aclmdlSetConfigOpt")
    fake.fail("aclmdlLoadWithConfig", 207001)
    expect_acl(lambda: ready.load_with_config(data), 207001, "aclmdlLoadWithConfig")
    assert fake.live_config_handles() == 0
    fake.fail("aclrtGetMemInfo", 507033)
    expect_acl(lambda: ready.mem_info(MemAttr.HBM), 507033, "aclrtGetMemInfo")
    fake.fail("aclrtSetDevice", 123456)  # a code outside the table still raises AclError
    err = expect_acl(lambda: ready.set_device(0), 123456)
    assert type(err) is AclError
    assert ready.get_desc(model_id).inputs  # everything works again afterwards
    assert fake.live_models() == 1


def test_fail_after_n_calls_counts_calls(ready, fake):
    fake.fail("aclrtGetDeviceCount", 500000, after_n_calls=2)
    assert ready.device_count() == 1
    assert ready.device_count() == 1
    expect_acl(ready.device_count, 500000)
    assert ready.device_count() == 1  # one-shot


# -- utilisation ---------------------------------------------------------------------------------
def test_utilisation_reads_the_struct_and_maps_minus_one_to_none(fake, ready):
    assert ready.utilization(0) == Utilization(cube=0, vector=0, aicpu=0)
    fake.set_device_count(2)
    fake.set_utilization(1, 87, -1, 4)  # -1: a chip without a Vector unit
    assert ready.utilization(1) == Utilization(cube=87, vector=None, aicpu=4)
    expect_acl(lambda: ready.utilization(5), 107001, "device 5")


def test_utilisation_follows_acl_argument_rules(fake, fake_lib, ready):
    fn = ctypes.CDLL(str(fake_lib)).aclrtGetDeviceUtilizationRate
    fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_int32, ctypes.POINTER(AclrtUtilizationInfo)]
    info = AclrtUtilizationInfo()
    assert fn(0, ctypes.byref(info)) == 0 and info.memoryUtilization == -1  # memory: not supported
    info.utilizationExtend = ctypes.c_void_p(1)  # reserved: must be NULL
    assert fn(0, ctypes.byref(info)) == 100000
    assert fn(0, None) == 100000


def test_utilisation_before_init_is_refused(acl):
    expect_acl(lambda: acl.utilization(0), 100001)


# -- an older CANN -------------------------------------------------------------------------------
def test_old_cann_fails_only_the_features_it_lacks(old_lib):
    fake = FakeAclControl(old_lib)
    fake.reset()
    assert fake.is_old_cann
    backend = AclBackend(str(old_lib))  # loading resolves nothing eagerly
    assert backend.init() is True
    backend.set_device(0)
    assert backend.versions().acl_api == "1.17.0"
    assert backend.versions().cann == ""  # aclsysGetVersionStr is missing: empty, not an error
    data = model_bytes(A3C)
    model_id = backend.load_from_mem(memoryview(data))
    desc = backend.get_desc(model_id)  # no aclmdlGetInputDimsRange: ranges are just empty
    check_against_expect(desc, A3C)
    assert desc.inputs[0].dims_range == ()
    with pytest.raises(FunctionNotFoundError, match="aclmdlCreateConfigHandle.*too old for loading with a config"):
        backend.load_with_config(memoryview(data), priority=1)
    with pytest.raises(FunctionNotFoundError, match="aclmdlGetDescFromMem.*too old"):
        backend.get_desc_from_mem(data)
    assert backend.utilization(0) is None  # no aclrtGetDeviceUtilizationRate: no figures, no error
    assert fake.live_models() == 1 and fake.live_config_handles() == 0
    backend.unload(model_id)
    fake.reset()
