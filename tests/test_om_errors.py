"""Bad input: one OMFormatError (a ValueError) whose message says what is wrong and what to do."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from om_helpers import HEADER, model_path, patch, u32

from acl_notebook.om import ModelSpec, OMFormatError, inspect, parse, write_om


@pytest.fixture(scope="module")
def anenet() -> bytes:
    return model_path("my_122_anenet").read_bytes()


@pytest.fixture(scope="module")
def a3c() -> bytes:
    return model_path("a3c_pong_model_v2").read_bytes()


def test_error_type_is_a_value_error():
    assert issubclass(OMFormatError, ValueError)


def test_not_an_om_shows_the_first_bytes():
    with pytest.raises(OMFormatError) as exc:
        parse(b"\x08\x01\x12\x04onnx model bytes...")
    msg = str(exc.value)
    assert "not an Ascend offline model" in msg and "IMOD" in msg
    assert "08 01 12 04 6f 6e 6e 78" in msg  # the hex of what was found
    assert "ATC" in msg  # what to do


def test_empty_input():
    with pytest.raises(OMFormatError, match="empty"):
        parse(b"")


def test_short_header(a3c):
    with pytest.raises(OMFormatError, match=r"truncated.*256 bytes, got 100"):
        parse(a3c[:100])


@pytest.mark.parametrize("cut", [1, 1000, 200_000])
def test_truncated_file_says_expected_and_actual_size(anenet, cut):
    data = anenet[: len(anenet) - cut]
    with pytest.raises(OMFormatError) as exc:
        parse(data)
    msg = str(exc.value)
    assert "truncated" in msg and f"{len(anenet)} bytes" in msg and f"got {len(data)}" in msg


def test_trailing_bytes(a3c):
    with pytest.raises(OMFormatError, match=r"7 unexpected bytes"):
        parse(a3c + b"garbage")


def test_both_length_fields_zero(a3c):
    with pytest.raises(OMFormatError, match="length fields"):
        parse(patch(a3c, 0x4C, "<I", 0))


def test_bad_headsize(a3c):
    with pytest.raises(OMFormatError, match="headsize is 512"):
        parse(patch(a3c, 4, "<I", 512))


def test_encrypted_flag(anenet):
    with pytest.raises(OMFormatError, match="encrypted"):
        parse(patch(anenet, 0x50, "<B", 1))


def test_absurd_model_num(anenet):
    with pytest.raises(OMFormatError, match="sub-models"):
        parse(patch(anenet, 0x9C, "<I", 10**9))


def test_partition_out_of_range(anenet):
    # the WEIGHTS_DATA entry (third, wide) claims far more bytes than the file holds
    data = patch(anenet, HEADER + 8 + 24 * 2 + 16, "<Q", 10**12)
    with pytest.raises(OMFormatError, match="out of range|past the end") as exc:
        parse(data)
    assert "partition" in str(exc.value)


def test_partition_type_repeated(a3c):
    data = patch(a3c, HEADER + 4 + 12, "<I", 0)  # second narrow entry: WEIGHTS_DATA -> MODEL_DEF
    with pytest.raises(OMFormatError, match="partition table"):
        parse(data)


def test_missing_modeldef(a3c):
    data = patch(a3c, HEADER + 4, "<I", 12)  # retype MODEL_DEF as TILING_DATA
    with pytest.raises(OMFormatError, match="no MODEL_DEF partition"):
        parse(data)


def test_undecodable_modeldef(a3c):
    start = HEADER + 4 + 4 * 12
    size = u32(a3c, HEADER + 4 + 8)
    data = a3c[:start] + b"\xff" * size + a3c[start + size :]
    with pytest.raises(OMFormatError, match="MODEL_DEF.*(not a valid|not framed like a) ModelDef"):
        parse(data)


def test_corrupt_inout_info(anenet):
    # the input block's tensor count (right after its 8-byte block header at 384)
    data = patch(anenet, 384 + 8, "<I", 1000)
    with pytest.raises(OMFormatError, match="MODEL_INOUT_INFO.*corrupt"):
        parse(data)


def test_inout_block_overruns_partition(anenet):
    data = patch(anenet, 384 + 4, "<I", 10_000)
    with pytest.raises(OMFormatError, match="MODEL_INOUT_INFO"):
        parse(data)


def test_inout_dims_not_whole_int64s(anenet):
    data = patch(anenet, 384 + 12 + 20, "<I", 31)  # dims_len of the first input record
    with pytest.raises(OMFormatError, match="int64"):
        parse(data)


def test_compressed_value_index_out_of_range():
    from acl_notebook.om import TensorSpec

    spec = ModelSpec(inputs=[TensorSpec("a", (-1, 2)), TensorSpec("b", (3, -1))], dynamic_kind="dims",
                     gears=[(1, 2)], shape_order=["b", "a"], compress_attrs=True, inout_info=False)
    data = write_om(spec)
    assert parse(data).dynamic.shape_order == ("b", "a")
    # hide attr_value_enum: the Case op's compressed shape-order values now index nothing
    i = data.index(b"attr_value_enum")
    broken = data[:i] + b"attr_value_xxxx" + data[i + len(b"attr_value_enum") :]
    with pytest.raises(OMFormatError, match="attr_value_enum"):
        parse(broken)


# --- argument types and files -----------------------------------------------------------------
def test_parse_rejects_non_buffers_with_type_error():
    with pytest.raises(TypeError, match="bytes"):
        parse(12345)
    with pytest.raises(TypeError, match="inspect"):
        parse("model.om")


def test_non_contiguous_array_is_a_value_error(anenet):
    arr = np.frombuffer(anenet[: len(anenet) // 2 * 2], dtype=np.uint8)[::2]
    with pytest.raises(ValueError, match="contiguous"):
        parse(arr)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file") as exc:
        inspect(tmp_path / "nope.om")
    assert "nope.om" in str(exc.value)


def test_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        inspect(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.om").write_bytes(b"")
    with pytest.raises(OMFormatError, match="empty"):
        inspect(str(tmp_path / "empty.om"))


def test_file_errors_name_the_file(tmp_path, a3c):
    path = tmp_path / "cut.om"
    path.write_bytes(a3c[:-10])
    with pytest.raises(OMFormatError) as exc:
        inspect(path)
    assert str(path) in str(exc.value) and "truncated" in str(exc.value)


def test_struct_level_garbage_never_leaks_struct_error():
    # a plausible header whose table count claims 1 partition of type 0 that is empty
    header = bytearray(256)
    header[:12] = b"IMOD" + struct.pack("<II", 256, 0x20000000)
    payload = struct.pack("<I4xI4xQQ", 1, 0, 0, 0)
    struct.pack_into("<Q", header, 0xB8, len(payload))
    info = parse(bytes(header) + payload)  # empty ModelDef: a valid, empty description
    assert info.inputs == () and info.op_count == 0
