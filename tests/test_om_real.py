"""The reader on the real ATC models in ../shared/models: descriptors, header facts, input kinds."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

import numpy as np
import pytest
from om_helpers import REAL_MODELS, expected, model_path, rows

import acl_notebook
from acl_notebook.om import ModelInfo, OMFormatError, inspect, parse


def _as_kind(path: Path, kind: str):
    """The model at `path` in one of the input forms parse/inspect accept."""
    data = path.read_bytes()
    if kind == "bytes":
        return data
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    if kind == "numpy":
        return np.frombuffer(data, dtype=np.uint8)
    if kind == "str":
        return str(path)
    if kind == "path":
        return path
    raise AssertionError(kind)


KINDS = ("bytes", "bytearray", "memoryview", "numpy", "str", "path")


def _check_expected(info: ModelInfo, name: str) -> None:
    exp = expected(name)
    assert [t.name for t in info.inputs] == [t["name"] for t in exp["inputs"]]
    assert [t.name for t in info.outputs] == [t["name"] for t in exp["outputs"]]
    for got, want in zip(info.inputs + info.outputs, exp["inputs"] + exp["outputs"]):
        assert list(got.dims) == want["dims"], got.name
        assert got.dtype == want["dtype"], got.name
        assert got.format == want["format"], got.name
        if "size" in want:
            assert got.size == want["size"], got.name
    assert info.memory.work == exp["memory"]["work"]
    assert info.memory.weight == exp["memory"]["weight"]
    if "soc_version" in exp:
        assert info.soc_version == exp["soc_version"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", REAL_MODELS)
def test_real_model_matches_expect_json(name, kind):
    info = inspect(_as_kind(model_path(name), kind))
    _check_expected(info, name)


@pytest.mark.parametrize("name", REAL_MODELS)
def test_parse_from_mmap_leaves_the_map_closable(name):
    with open(model_path(name), "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        info = parse(mm)
        _check_expected(info, name)
    # leaving the with-block closed the map: no memoryview of ours was still exported


def test_failed_parse_of_mmap_also_releases_it(tmp_path):
    bad = tmp_path / "bad.om"
    bad.write_bytes(model_path("a3c_pong_model_v2").read_bytes()[:100_000])
    with open(bad, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    with pytest.raises(OMFormatError):
        parse(mm)
    mm.close()  # BufferError here would mean a leaked export


def test_inspect_path_unmaps_the_file():
    path = model_path("my_122_anenet")
    inspect(path)
    maps = Path("/proc/self/maps").read_text()
    assert str(path) not in maps


def test_outputs_of_old_model_use_shape_times_dtype_not_planned_size():
    # the NetOutput desc plans 64 bytes for the [1] int32 output; ACL reports 4
    (out,) = inspect(model_path("a3c_pong_model_v2")).outputs
    assert (out.dims, out.dtype, out.acl_dtype, out.size) == ((1,), "int32", 3, 4)


def test_numpy_array_of_another_dtype_is_refused_and_its_byte_view_read():
    data = model_path("my_122_anenet").read_bytes()  # even length
    wide = np.frombuffer(data, dtype=np.uint16)
    with pytest.raises(TypeError, match=r"uint8.*view\(numpy.uint8\)"):
        parse(wide)  # the error contract: items that are not bytes are refused, as load refuses them
    _check_expected(parse(wide.view(np.uint8)), "my_122_anenet")


def test_lazy_package_export_is_the_reader():
    assert acl_notebook.inspect is inspect
    assert acl_notebook.OMFormatError is OMFormatError


# --- header and partition facts from MANIFEST.md ----------------------------------------
def test_anenet_header_and_partitions():
    path = model_path("my_122_anenet")
    info = inspect(path)
    h = info.header
    assert (h.version, h.version_text, h.length, h.is_encrypt, h.modeltype) == (0x20000000, "2.0", 0, 0, 0)
    assert (h.name, h.om_ir_version, h.model_num) == ("my_122_anenet", 2, 1)
    assert (h.platform_version, h.platform_type) == ("1.11.z.0", 1)
    assert h.model_length == 3_960_306 == path.stat().st_size - 256
    assert (h.need_check_os_cpu_info, h.is_unknow_model) == (0, 0)
    assert [(p.type, p.name, p.size) for p in info.partitions] == [
        (8, "MODEL_INOUT_INFO", 507),
        (0, "MODEL_DEF", 1_297_461),
        (1, "WEIGHTS_DATA", 2_203_648),
        (3, "TBE_KERNELS", 378_946),
        (2, "TASK_INFO", 79_616),
    ]
    # wide table: 8-byte head + 5 x 24-byte entries, so data starts at 384; payloads back to back
    assert info.partitions[0].offset == 384
    ends = [p.offset + p.size for p in info.partitions]
    assert [p.offset for p in info.partitions[1:]] == ends[:-1]
    assert ends[-1] == info.file_size == 3_960_562


def test_anenet_model_facts():
    info = inspect(model_path("my_122_anenet"))
    assert (info.name, info.op_count, info.submodels) == ("my_122_anenet", 547, 1)
    assert (info.atc_version, info.opp_version, info.framework) == ("7.6.0.1.220", "7.6.0.1.220", "Onnx")
    assert (info.stream_num, info.event_num) == (1, 0)
    assert info.memory.zero_copy == 4_720_128
    assert info.attrs["om_compress_version"] == 1
    assert "--soc_version=Ascend310B4" in info.attrs["atc_cmdline"]
    assert info.attrs["memory_size"] == 11_275_776
    assert not info.dynamic.is_dynamic
    assert info.inputs[0].acl_dtype == 0 and info.inputs[0].acl_format == 0


def test_a3c_header_is_the_old_layout():
    path = model_path("a3c_pong_model_v2")
    info = inspect(path)
    h = info.header
    assert (h.version, h.version_text, h.model_num) == (0x10000000, "1.0", 1)
    assert h.length == 378_699 == path.stat().st_size - 256
    assert h.model_length == 0
    assert (h.name, h.platform_version, h.platform_type) == ("a3c_pong_model", "1.11.z.0", 1)
    assert [(p.type, p.size) for p in info.partitions] == [(0, 32_085), (1, 320_000), (3, 20_918), (2, 5_644)]
    assert info.partitions[0].offset == 256 + 4 + 4 * 12  # narrow table
    assert (info.atc_version, info.opp_version) == ("1.75.22.0.220", "1.75.22.0.220")
    assert (info.memory.work, info.memory.weight, info.stream_num, info.event_num) == (90_624, 320_000, 1, 0)
    assert info.soc_version == ""


def test_anenet_modeldef_path_agrees_with_inout_info():
    """Hide the MODEL_INOUT_INFO entry (retype it) so I/O must come from the compressed ModelDef."""
    data = model_path("my_122_anenet").read_bytes()
    assert struct.unpack_from("<I", data, 256 + 8)[0] == 8  # first wide entry is type 8
    hidden = bytearray(data)
    struct.pack_into("<I", hidden, 256 + 8, 9)  # STATIC_TASK_DESC: a type the reader ignores
    via_ops = parse(hidden)
    via_tlv = parse(data)
    assert 8 not in [p.type for p in via_ops.partitions]
    assert rows(via_ops.inputs) == rows(via_tlv.inputs)
    assert rows(via_ops.outputs) == rows(via_tlv.outputs)
    _check_expected(via_ops, "my_122_anenet")


def test_callers_buffers_are_untouched_and_released():
    data = model_path("a3c_pong_model_v2").read_bytes()
    grow = bytearray(data)
    parse(grow)
    grow.extend(b"x")  # BufferError here would mean parse kept an export of the bytearray
    view = memoryview(data)
    parse(view)
    assert view[:4] == b"IMOD"  # the caller's own view still works
    arr = np.frombuffer(data, dtype=np.uint8)
    parse(arr)
    assert arr[0] == ord("I")


@pytest.mark.parametrize("name", REAL_MODELS)
def test_model_def_is_the_full_decode_and_op_types_count_it(name):
    from acl_notebook.om import model_def, op_types

    path = model_path(name)
    full = model_def(path)
    assert full.DESCRIPTOR.full_name == "acl_notebook.ge.ModelDef"
    assert len(full.graph[0].op) == inspect(path).op_count == {"a3c_pong_model_v2": 25, "my_122_anenet": 547}[name]
    counts = op_types(path.read_bytes())
    assert sum(counts.values()) == len(full.graph[0].op)
    assert counts.get("NetOutput") == 1 and counts.get("Data", 0) >= 1
    assert list(counts.values()) == sorted(counts.values(), reverse=True)
