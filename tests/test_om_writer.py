"""Writer-built models: every container and ModelDef variant the real samples do not cover."""

from __future__ import annotations

import struct

import pytest
from om_helpers import HEADER, expected_io, patch, rows, u32

from acl_notebook.om import ModelSpec, OMFormatError, TensorSpec, parse, write_om, write_om_file
from acl_notebook.om._proto import message_class
from acl_notebook.om.writer import demo_spec


def _wide_parts(data: bytes) -> list[tuple[int, bytes]]:
    """(type, payload) of a single-model wide table, decoded with plain struct calls."""
    num = u32(data, HEADER)
    pos = HEADER + 8 + 24 * num
    out = []
    for k in range(num):
        ptype, _off, size = struct.unpack_from("<I4xQQ", data, HEADER + 8 + 24 * k)
        out.append((ptype, data[pos : pos + size]))
        pos += size
    return out


def _rebuild(data: bytes, parts: list[tuple[int, bytes]]) -> bytes:
    """The same header with a new wide table and payloads (lengths fixed up)."""
    table = struct.pack("<I4x", len(parts))
    offset = 0
    for ptype, body in parts:
        table += struct.pack("<I4xQQ", ptype, offset, len(body))
        offset += len(body)
    payload = table + b"".join(body for _, body in parts)
    return patch(data[:HEADER], 0xB8, "<Q", len(payload)) + payload


def _edit_modeldef(data: bytes, edit) -> bytes:
    """Decode the MODEL_DEF, let `edit` change it, and put it back."""
    parts = _wide_parts(data)
    out = []
    for ptype, body in parts:
        if ptype == 0:
            model = message_class("ModelDef").FromString(body)
            edit(model)
            body = model.SerializeToString()
        out.append((ptype, body))
    return _rebuild(data, out)


def _check_round_trip(spec: ModelSpec):
    info = parse(write_om(spec))
    want_in, want_out = expected_io(spec)
    assert rows(info.inputs) == want_in
    assert rows(info.outputs) == want_out
    return info


# --- containers ---------------------------------------------------------------------------
def test_header_version_2_wide_table_layout():
    data = write_om(ModelSpec(weight_size=1000))
    assert data[:4] == b"IMOD" and u32(data, 4) == 256 and u32(data, 8) == 0x20000000
    assert u32(data, 0x4C) == 0 and struct.unpack_from("<Q", data, 0xB8)[0] == len(data) - 256
    assert u32(data, 0x9C) == 1  # model_num
    assert [t for t, _ in _wide_parts(data)] == [8, 0, 1, 3, 2]
    info = parse(data)
    assert info.om_version == "2.0" and info.header.model_num == 1
    assert info.partitions[0].offset == 256 + 8 + 24 * 5
    assert [p.size for p in info.partitions if p.type == 1] == [1000]


def test_header_version_1_narrow_table_layout():
    data = write_om(ModelSpec(header_version=1, inout_info=False, weight_size=10))
    assert u32(data, 8) == 0x10000000
    assert data[0x9C:0xA4] == b"1.11.z.0"  # platform_version where v2 keeps model_num
    assert u32(data, 0x4C) == len(data) - 256 and struct.unpack_from("<Q", data, 0xB8)[0] == 0
    assert u32(data, 256) == 4  # narrow: u32 num, then 12-byte entries
    info = _check_round_trip(ModelSpec(header_version=1, inout_info=False, weight_size=10))
    assert info.om_version == "1.0" and info.header.platform_version == "1.11.z.0"
    assert [p.type for p in info.partitions] == [0, 1, 3, 2]
    assert info.partitions[0].offset == 256 + 4 + 4 * 12


def test_version_2_with_narrow_table():
    data = write_om(ModelSpec(wide_table=False))
    assert struct.unpack_from("<Q", data, 0xB8)[0] == 0
    info = _check_round_trip(ModelSpec(wide_table=False))
    assert info.partitions[0].offset == 256 + 4 + 5 * 12


def test_version_1_file_with_model_num_slot_uses_new_layout():
    """Guard from om-format §7: a 1.0 header whose 0x9C holds a small count is the new layout."""
    data = patch(write_om(ModelSpec(name="guarded")), 8, "<I", 0x10000000)
    info = parse(data)
    assert info.header.version_text == "1.0"
    assert info.header.model_num == 1 and info.header.platform_version == "1.11.z.0"


def test_table_width_falls_back_when_length_fields_disagree():
    """A wide table announced by `length` instead of `model_length` still reads (Netron-style check)."""
    data = write_om(ModelSpec(weight_size=64))
    swapped = patch(patch(data, 0xB8, "<Q", 0), 0x4C, "<I", len(data) - 256)
    info = parse(swapped)
    assert [p.type for p in info.partitions] == [8, 0, 1, 3, 2]
    assert rows(info.inputs) == rows(parse(data).inputs)


def test_stored_mem_offsets_are_ignored_like_ge():
    data = write_om(ModelSpec())
    scrambled = data
    for k in range(5):
        scrambled = patch(scrambled, HEADER + 8 + 24 * k + 8, "<Q", 0xDEAD_BEEF + k)
    assert rows(parse(scrambled).outputs) == rows(parse(data).outputs)


def test_submodels_give_several_tables():
    spec = ModelSpec(submodels=3, op_count=40, weight_size=100)
    data = write_om(spec)
    assert u32(data, 0x9C) == 3
    info = _check_round_trip(spec)
    assert info.submodels == 3 == info.header.model_num
    assert sorted({p.model for p in info.partitions}) == [0, 1, 2]
    assert [p.type for p in info.partitions if p.model == 2] == [0, 2]
    assert info.op_count == 40  # the root model's ops; sub-models are counted in `submodels`
    assert info.partitions[-1].offset + info.partitions[-1].size == len(data)


def test_submodels_need_header_version_2():
    with pytest.raises(ValueError, match="model_num"):
        write_om(ModelSpec(submodels=2, header_version=1))


def test_without_inout_info_the_modeldef_answers():
    spec = ModelSpec(
        inputs=[TensorSpec("b", (2, 8), "int32", "ND"), TensorSpec("a", (1, 3, 4, 4), "float16", "NHWC")],
        outputs=[TensorSpec("out:1:probs", (2, 8), "float16", "ND"), TensorSpec("mask", (4,), "bool", "ND")],
        inout_info=False,
    )
    info = _check_round_trip(spec)
    assert 8 not in [p.type for p in info.partitions]
    assert [t.name for t in info.outputs] == ["out:1:probs", "mask:0"]


def test_write_om_file_streams_the_same_bytes(tmp_path):
    spec = ModelSpec(weight_size=(1 << 20) * 3 + 17, op_count=30)
    path = tmp_path / "m.om"
    size = write_om_file(spec, path)
    assert size == path.stat().st_size
    assert path.read_bytes() == write_om(spec)
    weights = [p for p in parse(path.read_bytes()).partitions if p.type == 1][0]
    assert weights.size == spec.weight_size
    blob = path.read_bytes()[weights.offset : weights.offset + weights.size]
    assert blob.count(0) == len(blob)


def test_op_count_padding_and_memory_attrs():
    info = parse(write_om(ModelSpec(op_count=123, work_size=5_000_000, weight_size=4096)))
    assert info.op_count == 123
    assert (info.memory.work, info.memory.weight) == (5_000_000, 4096)
    assert info.memory.zero_copy <= info.memory.work


def test_derived_work_size_covers_the_io():
    info = parse(write_om(ModelSpec()))
    io_bytes = sum(t.size for t in info.inputs + info.outputs)
    assert info.memory.work >= io_bytes > 0


def test_model_level_facts():
    spec = ModelSpec(name="net", soc_version="Ascend310P3", atc_version="8.0.RC1", framework="TensorFlow")
    info = parse(write_om(spec))
    assert (info.name, info.soc_version, info.atc_version, info.framework) == (
        "net", "Ascend310P3", "8.0.RC1", "TensorFlow")
    assert info.attrs["soc_version"] == "Ascend310P3"
    assert "--soc_version=Ascend310P3" in info.attrs["atc_cmdline"]


# --- ModelDef features ----------------------------------------------------------------------
@pytest.mark.parametrize("inout_info", [True, False])
def test_compressed_attrs(inout_info):
    spec = ModelSpec(
        inputs=[TensorSpec(f"in{i}", (1, i + 1), "float16", "ND") for i in range(4)],
        outputs=[TensorSpec("y", (1, 10), "float32", "NC")],
        compress_attrs=True, inout_info=inout_info, op_count=30,
    )
    data = write_om(spec)
    model = message_class("ModelDef").FromString(dict(_wide_parts(data))[0])
    data_op = next(op for op in model.graph[0].op if op.type == b"Data")
    assert all(e.key.startswith(b"\0") for e in data_op.attr)  # names really are encoded
    assert b"om_compress_version" in [e.key for e in model.attr]
    info = _check_round_trip(spec)
    assert info.attrs["om_compress_version"] == 1


def test_data_ops_are_ordered_by_index_attr_not_graph_order():
    spec = ModelSpec(
        inputs=[TensorSpec("first", (1,), "int8", "ND"), TensorSpec("second", (2,), "int8", "ND"),
                TensorSpec("third", (3,), "int8", "ND")],
        inout_info=False, compress_attrs=True,
    )

    def reverse_ops(model):
        ops = list(model.graph[0].op)
        ops.reverse()
        del model.graph[0].op[:]
        model.graph[0].op.extend(ops)

    info = parse(_edit_modeldef(write_om(spec), reverse_ops))
    assert [t.name for t in info.inputs] == ["first", "second", "third"]


def test_special_sizes_and_self_defined_dtype_override():
    spec = ModelSpec(inputs=[TensorSpec("x", (4, 4), "float32", "ND")],
                     outputs=[TensorSpec("y", (4, 4), "float32", "ND")], inout_info=False)

    def edit(model):
        for op in model.graph[0].op:
            if op.type == b"NetOutput":
                entry = op.input_desc[0].attr.add()
                entry.key, entry.value.i = b"_special_output_size", 1234
                entry = op.input_desc[0].attr.add()
                entry.key, entry.value.i = b"__tensor_desc_data_type__", 13  # self-defined DUAL
            if op.type == b"Data":
                entry = op.output_desc[0].attr.add()
                entry.key, entry.value.i = b"_special_input_size", 999

    info = parse(_edit_modeldef(write_om(spec), edit))
    assert info.inputs[0].size == 999
    assert info.outputs[0].size == 1234
    assert (info.outputs[0].acl_dtype, info.outputs[0].dtype) == (25, "dual")


def test_output_names_fall_back_when_out_nodes_attr_does_not_match():
    spec = ModelSpec(outputs=[TensorSpec("a", (1,), "float32", "ND"), TensorSpec("b:2", (1,), "int8", "ND")],
                     inout_info=False)

    def drop_out_names(model):
        keep = [e for e in model.attr if e.key != b"attr_model_out_nodes_name"]
        del model.attr[:]
        model.attr.extend(keep)

    info = parse(_edit_modeldef(write_om(spec), drop_out_names))
    assert [t.name for t in info.outputs] == ["output_0_a_0", "output_1_b_2"]


@pytest.mark.parametrize("inout_info", [True, False])
def test_fractal_z_output_is_reported_as_hwcn(inout_info):
    spec = ModelSpec(outputs=[TensorSpec("w", (32, 16, 3, 5), "float16", "FRACTAL_Z")], inout_info=inout_info)
    info = _check_round_trip(spec)
    assert (info.outputs[0].dims, info.outputs[0].format, info.outputs[0].acl_format) == ((3, 5, 16, 32), "HWCN", 16)


COMMON_DTYPES = ["float32", "float16", "bfloat16", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                 "int64", "uint64", "float64", "bool", "complex64"]
COMMON_FORMATS = ["NCHW", "NHWC", "ND", "NC1HWC0", "FRACTAL_NZ", "NCDHW", "NDHWC", "HWCN", "NC", "NCL"]


@pytest.mark.parametrize("inout_info", [True, False])
def test_all_common_dtypes_and_formats(inout_info):
    inputs = [TensorSpec(f"i_{d}", (2, 3, 4), d, COMMON_FORMATS[k % len(COMMON_FORMATS)])
              for k, d in enumerate(COMMON_DTYPES)]
    outputs = [TensorSpec(f"o_{f}", (5, 1, 2, 3), COMMON_DTYPES[k % len(COMMON_DTYPES)], f)
               for k, f in enumerate(COMMON_FORMATS)]
    info = _check_round_trip(ModelSpec(inputs=inputs, outputs=outputs, inout_info=inout_info))
    assert {t.dtype for t in info.inputs} == set(COMMON_DTYPES)
    assert {t.format for t in info.outputs} == set(COMMON_FORMATS)


def test_acl_enum_values_are_acl_numbering_in_both_paths():
    spec = ModelSpec(inputs=[TensorSpec("x", (1,), "int32", "NHWC")], outputs=[TensorSpec("y", (1,), "int64", "NC")])
    for inout_info in (True, False):
        info = parse(write_om(ModelSpec(**{**spec.__dict__, "inout_info": inout_info})))
        assert (info.inputs[0].acl_dtype, info.inputs[0].acl_format) == (3, 1)  # ACL_INT32, NHWC
        assert (info.outputs[0].acl_dtype, info.outputs[0].acl_format) == (9, 35)  # ACL_INT64, NC


def test_unknown_dims_without_gears():
    spec = ModelSpec(inputs=[TensorSpec("x", (-1, 3, -1), "float32", "ND"), TensorSpec("r", (-2,), "int8", "ND")],
                     outputs=[TensorSpec("y", (-1, 10), "float32", "ND")])
    info = _check_round_trip(spec)
    assert info.inputs[0].size == 0 and info.inputs[0].is_dynamic
    assert not info.dynamic.is_dynamic
    assert info.header.is_unknow_model == 1


# --- gears ----------------------------------------------------------------------------------
GEAR_SPECS = {
    "batch": dict(inputs=[TensorSpec("x", (-1, 3, 32, 32)), TensorSpec("meta", (1, 4), "int32", "ND")],
                  outputs=[TensorSpec("y", (8, 10), "float32", "ND")], dynamic_kind="batch",
                  gears=[(1,), (4,), (8,)]),
    "hw": dict(inputs=[TensorSpec("img", (1, 3, -1, -1))], outputs=[TensorSpec("mask", (1, 1, 448, 448))],
               dynamic_kind="hw", gears=[(224, 224), (448, 448), (320, 480)]),
    "dims": dict(inputs=[TensorSpec("a", (1, -1), "int64", "ND"), TensorSpec("b", (-1, -1, 8), "float16", "ND")],
                 outputs=[TensorSpec("c", (4, 4), "float16", "ND")], dynamic_kind="dims",
                 gears=[(2, 1, 3), (4, 2, 2)], shape_order=["b", "a"]),
}


@pytest.mark.parametrize("inout_info", [True, False], ids=["tlv", "case-op"])
@pytest.mark.parametrize("kind", sorted(GEAR_SPECS))
def test_gears(kind, inout_info):
    spec = ModelSpec(inout_info=inout_info, compress_attrs=not inout_info, **GEAR_SPECS[kind])
    data = write_om(spec)
    assert (8 in [t for t, _ in _wide_parts(data)]) is inout_info
    info = _check_round_trip(spec)
    dyn = info.dynamic
    assert dyn.kind == kind and dyn.is_dynamic
    assert dyn.gears == tuple(tuple(g) for g in spec.gears)
    assert dyn.shape_order == tuple(spec.shape_order)
    assert info.inputs[-1].name == "ascend_mbatch_shape_data"
    # "gear,output,dims" strings, one per gear and output
    assert len(dyn.output_shapes) == len(spec.gears) * len(spec.outputs)
    assert dyn.output_shapes[0].split(",")[:2] == ["0", "0"]


def test_case_op_gears_match_tlv_gears():
    for kind, kw in GEAR_SPECS.items():
        tlv = parse(write_om(ModelSpec(**kw))).dynamic
        case = parse(write_om(ModelSpec(inout_info=False, **kw))).dynamic
        assert tlv == case, kind


def test_gear_validation():
    with pytest.raises(ValueError, match="-1"):
        write_om(ModelSpec(dynamic_kind="batch", gears=[(1,), (2,)]))  # no dynamic axis
    with pytest.raises(ValueError, match="values"):
        write_om(ModelSpec(inputs=[TensorSpec("x", (1, 3, -1, -1))], dynamic_kind="hw", gears=[(1,)]))
    with pytest.raises(ValueError, match="dims gear"):
        write_om(ModelSpec(inputs=[TensorSpec("x", (-1, -1))], dynamic_kind="dims", gears=[(1, 2, 3)]))
    with pytest.raises(ValueError, match="dynamic_kind"):
        write_om(ModelSpec(gears=[(1,)]))


@pytest.mark.parametrize("bad, match", [
    (dict(inputs=[TensorSpec("x", (1,), "float33")]), "unknown dtype"),
    (dict(inputs=[TensorSpec("x", (1,), format="NCWH")]), "unknown format"),
    (dict(inputs=[TensorSpec("x", (1,)), TensorSpec("x", (2,))]), "named"),
    (dict(outputs=[TensorSpec("y", (1,)), TensorSpec("y:0", (2,))]), "named"),
    (dict(header_version=3), "header_version"),
    (dict(weight_size=-1), "weight_size"),
    (dict(inputs=[TensorSpec("", (1,))]), "name"),
    (dict(inputs=[TensorSpec("x", (1, 2**63))]), "below 2\\*\\*63"),  # was struct.error
])
def test_writer_rejects_bad_specs(bad, match):
    with pytest.raises(ValueError, match=match):
        write_om(ModelSpec(**bad))


# --- containers the reader must refuse clearly ---------------------------------------------
def test_om2_zip_is_refused_clearly():
    zipped = b"PK\x03\x04" + bytes(400)
    with pytest.raises(OMFormatError, match="OM2 zip package") as exc:
        parse(zipped)
    assert "aclmdlLoadFromFile" in str(exc.value)


def test_pico_is_refused_clearly():
    with pytest.raises(OMFormatError, match="PICO.*SVP"):
        parse(b"PICO" + bytes(1000))


def test_encrypted_model_is_refused_clearly():
    data = patch(write_om(ModelSpec()), 0x50, "<B", 1)
    with pytest.raises(OMFormatError, match="encrypted"):
        parse(data)


@pytest.mark.parametrize("modeltype, match", [(3, "flow"), (5, "bundle")])
def test_flow_and_bundle_models_are_refused_clearly(modeltype, match):
    data = patch(write_om(ModelSpec()), 0x52, "<B", modeltype)
    with pytest.raises(OMFormatError, match=match):
        parse(data)


def test_demo_spec_is_a_realistic_dynamic_model():
    spec = demo_spec(size_mb=2)
    info = _check_round_trip(spec)
    assert info.dynamic.kind == "batch" and info.dynamic.gears == ((1,), (2,), (4,), (8,))
    assert info.memory.weight == 2 << 20
    assert info.op_count == 320


def test_case_op_gear_count_is_never_trusted_over_the_data():
    spec = ModelSpec(inout_info=False, **GEAR_SPECS["batch"])

    def inflate(model):
        case = next(op for op in model.graph[0].op if op.type == b"Case")
        for entry in case.attr:
            if entry.key == b"_batch_num":
                entry.value.i = 10**12  # a damaged count must not make us loop a trillion times

    info = parse(_edit_modeldef(write_om(spec), inflate))
    assert info.dynamic.gears == ((1,), (4,), (8,))


def test_outputs_declared_with_their_largest_shape_get_each_gears_own_shape():
    """As ATC reports them: the output desc has the largest shape, each gear its own dims."""
    cases = {
        "batch": (dict(inputs=[TensorSpec("x", (-1, 3, 8, 8))], outputs=[TensorSpec("y", (8, 10))],
                       gears=[(1,), (8,)]), ["0,0,1,10", "1,0,8,10"]),
        "hw": (dict(inputs=[TensorSpec("img", (1, 3, -1, -1))], outputs=[TensorSpec("m", (1, 2, 720, 1280))],
                    gears=[(256, 512), (720, 1280)]), ["0,0,1,2,256,512", "1,0,1,2,720,1280"]),
        "dims": (dict(inputs=[TensorSpec("ids", (-1, -1), "int32", "ND"), TensorSpec("mask", (-1, -1), "int32", "ND")],
                      outputs=[TensorSpec("h", (4, 512, 768), "float16", "ND")], shape_order=["ids", "mask"],
                      gears=[(1, 128, 1, 128), (4, 512, 4, 512)]), ["0,0,1,128,768", "1,0,4,512,768"]),
    }
    for kind, (kw, want) in cases.items():
        dyn = parse(write_om(ModelSpec(dynamic_kind=kind, **kw))).dynamic
        assert list(dyn.output_shapes) == want, kind
    # an output whose axes do not follow the input keeps its shape in every gear
    dyn = parse(write_om(ModelSpec(dynamic_kind="batch", inputs=[TensorSpec("x", (-1, 4))],
                                   outputs=[TensorSpec("stats", (3, 7))], gears=[(1,), (8,)]))).dynamic
    assert list(dyn.output_shapes) == ["0,0,3,7", "1,0,3,7"]
