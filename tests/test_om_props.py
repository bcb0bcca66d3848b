"""Property tests: any writer spec round-trips; damaged real bytes never crash the reader."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from om_helpers import expected_io, model_path, rows

from acl_notebook.om import ModelInfo, ModelSpec, OMFormatError, TensorSpec, parse, write_om

# Slow 2-core CI boxes: generous per-example deadline (examples take milliseconds), no
# too_slow health check, and a fixed example budget that keeps the file under ~20 s.
SETTINGS = dict(deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])

DTYPES = ["float32", "float16", "bfloat16", "int8", "uint8", "int16", "uint16", "int32", "uint32",
          "int64", "uint64", "float64", "bool", "complex64", "complex128"]
FORMATS = ["NCHW", "NHWC", "ND", "NC1HWC0", "FRACTAL_Z", "FRACTAL_NZ", "HWCN", "NDHWC", "NCDHW", "NC", "CHWN"]

names = st.text(min_size=1, max_size=12)
static_dim = st.integers(min_value=0, max_value=64)
any_dim = st.one_of(static_dim, st.just(-1))


@st.composite
def tensors(draw, dims_strategy, min_size=1, max_size=3, normalize=lambda n: n):
    """Uniquely named TensorSpecs (uniqueness after `normalize`, e.g. the output "name:0" rule)."""
    chosen = draw(st.lists(names, min_size=min_size, max_size=max_size, unique_by=normalize))
    return [TensorSpec(n, tuple(draw(dims_strategy)), draw(st.sampled_from(DTYPES)), draw(st.sampled_from(FORMATS)))
            for n in chosen if n != "ascend_mbatch_shape_data"]


def _out_name(n: str) -> str:
    return n if ":" in n else f"{n}:0"


@st.composite
def specs(draw):
    kind = draw(st.sampled_from([None, None, "batch", "hw", "dims"]))
    outputs = draw(tensors(st.lists(any_dim, max_size=4), normalize=_out_name))
    gears: list = []
    order: list = []
    if kind is None:
        inputs = draw(tensors(st.lists(any_dim, max_size=5), min_size=0))
    elif kind == "batch":
        inputs = draw(tensors(st.lists(static_dim, min_size=1, max_size=4)))
        inputs[0].dims = (-1,) + inputs[0].dims[1:]
        gears = [(b,) for b in draw(st.lists(st.integers(1, 32), min_size=1, max_size=4, unique=True))]
    elif kind == "hw":
        inputs = draw(tensors(st.lists(static_dim, min_size=2, max_size=4)))
        inputs[0].dims = inputs[0].dims[:-2] + (-1, -1)
        gears = draw(st.lists(st.tuples(st.integers(1, 64), st.integers(1, 64)), min_size=1, max_size=4))
    else:
        inputs = draw(tensors(st.lists(any_dim, min_size=1, max_size=4)))
        inputs[0].dims = (-1,) + inputs[0].dims[1:]
        if draw(st.booleans()):
            order = draw(st.permutations([t.name for t in inputs]))
        holes = sum(t.dims.count(-1) for t in inputs)
        gears = draw(st.lists(st.tuples(*[st.integers(1, 8)] * holes), min_size=1, max_size=3))
    if not inputs and not outputs:
        outputs = [TensorSpec("y", (1,))]
    version = draw(st.sampled_from([1, 2]))
    return ModelSpec(
        name=draw(names),
        soc_version=draw(st.sampled_from(["Ascend910B1", "Ascend310P3", "Ascend310B4", ""])),
        inputs=inputs,
        outputs=outputs,
        dynamic_kind=kind,
        gears=gears,
        shape_order=list(order),
        work_size=draw(st.integers(0, 1 << 40)),
        weight_size=draw(st.integers(0, 4096)),
        op_count=draw(st.integers(0, 40)),
        header_version=version,
        wide_table=draw(st.sampled_from([None, True, False])),
        inout_info=draw(st.booleans()),
        compress_attrs=draw(st.booleans()),
        submodels=draw(st.integers(1, 3)) if version == 2 else 1,
    )


@settings(max_examples=150, **SETTINGS)
@given(specs())
def test_writer_reader_round_trip(spec):
    info = parse(write_om(spec))
    want_in, want_out = expected_io(spec)
    assert rows(info.inputs) == want_in
    assert rows(info.outputs) == want_out
    assert info.name == spec.name and info.soc_version == spec.soc_version
    assert info.om_version == f"{spec.header_version}.0"
    assert info.submodels == spec.submodels
    assert info.op_count >= spec.op_count
    assert info.memory.weight == spec.weight_size
    if spec.work_size:
        assert info.memory.work == spec.work_size
    assert info.dynamic.kind == spec.dynamic_kind
    assert info.dynamic.gears == tuple(tuple(g) for g in spec.gears)
    assert info.dynamic.shape_order == tuple(spec.shape_order)
    assert (8 in {p.type for p in info.partitions}) is spec.inout_info


# --- damaged bytes ------------------------------------------------------------------------------
REAL = {name: model_path(name).read_bytes() for name in ("a3c_pong_model_v2", "my_122_anenet")}
GEAR_MODEL = write_om(ModelSpec(
    inputs=[TensorSpec("a", (-1, 3)), TensorSpec("b", (2, -1))], dynamic_kind="dims",
    gears=[(1, 2), (3, 4)], shape_order=["b", "a"], compress_attrs=True, op_count=20,
))
SAMPLES = {**REAL, "gear_model": GEAR_MODEL}


def _read_or_refuse(data: bytes) -> None:
    """The contract: a valid ModelInfo or an OMFormatError, nothing else."""
    try:
        info = parse(data)
    except OMFormatError as exc:
        assert str(exc)
        return
    assert isinstance(info, ModelInfo)
    assert all(t.size >= 0 for t in info.inputs + info.outputs)


def _hot_offset(data: bytes):
    """Offsets where damage matters most: header, tables, TLV and the start of the ModelDef."""
    return st.one_of(st.integers(0, 1023), st.integers(0, min(len(data), 300_000) - 1),
                     st.integers(0, len(data) - 1))


@settings(max_examples=120, **SETTINGS)
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_truncation_never_crashes(name, data):
    blob = SAMPLES[name]
    cut = data.draw(st.one_of(st.integers(0, 1024), st.integers(0, len(blob))))
    _read_or_refuse(blob[:cut])


@settings(max_examples=200, **SETTINGS)
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_bit_flips_never_crash(name, data):
    blob = bytearray(SAMPLES[name])
    for _ in range(data.draw(st.integers(1, 8))):
        offset = data.draw(_hot_offset(blob))
        blob[offset] ^= 1 << data.draw(st.integers(0, 7))
    _read_or_refuse(bytes(blob))


@settings(max_examples=120, **SETTINGS)
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_overwritten_words_never_crash(name, data):
    """Whole header/table fields replaced by arbitrary values (counts, lengths, types)."""
    blob = bytearray(SAMPLES[name])
    offset = data.draw(st.integers(0, 600))
    width = data.draw(st.sampled_from([1, 4, 8]))
    value = data.draw(st.integers(0, (1 << (8 * width)) - 1))
    blob[offset : offset + width] = value.to_bytes(width, "little")[: len(blob) - offset]
    _read_or_refuse(bytes(blob))


@settings(max_examples=100, **SETTINGS)
@given(st.sampled_from(sorted(SAMPLES)), st.sampled_from(sorted(SAMPLES)), st.data())
def test_splices_never_crash(first, second, data):
    a, b = SAMPLES[first], SAMPLES[second]
    i = data.draw(st.integers(0, len(a)))
    j = data.draw(st.integers(0, len(b)))
    k = data.draw(st.integers(j, min(len(b), j + 200_000)))
    _read_or_refuse(a[:i] + b[j:k] + a[i + (k - j) :])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_themselves_read(name):
    info = parse(SAMPLES[name])
    assert info.inputs
