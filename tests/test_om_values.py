"""The reader builds its frozen values without their generated ``__init__`` (`model.make`,
for speed): each must be exactly the value ``__init__`` builds, field for field, and stay frozen."""

from __future__ import annotations

import dataclasses

import pytest
from shared_models import REAL_MODELS, model_path

from acl_notebook.om import ModelInfo, ModelSpec, TensorSpec, parse, write_om

_IO = dict(inputs=[TensorSpec("x", (-1, 3, 8, 8), "float16")], outputs=[TensorSpec("y", (-1, 10), "float32", "ND")])
WRITER = {
    "inout": ModelSpec(name="inout", weight_size=512, op_count=12, **_IO),
    "batch": ModelSpec(name="batch", dynamic_kind="batch", gears=[(1,), (4,)], **_IO),
    "no-inout": ModelSpec(name="old", header_version=1, inout_info=False, compress_attrs=True, **_IO),
    "submodels": ModelSpec(name="subs", submodels=3),
}


def _values(info: ModelInfo):
    yield info
    yield from (info.header, info.memory, info.dynamic)
    yield from info.partitions
    yield from info.inputs
    yield from info.outputs


def _sources():
    for name, spec in WRITER.items():
        yield pytest.param(lambda spec=spec: write_om(spec), id=name)
    for name in REAL_MODELS:
        yield pytest.param(lambda name=name: model_path(name).read_bytes(), id=name)


@pytest.mark.parametrize("make_bytes", list(_sources()))
def test_reader_values_equal_what_init_builds(make_bytes):
    info = parse(make_bytes())
    checked = 0
    for value in _values(info):
        names = [f.name for f in dataclasses.fields(value)]
        assert list(vars(value)) == names, type(value).__name__  # every field, none extra, in order
        rebuilt = type(value)(**{n: getattr(value, n) for n in names})
        assert rebuilt == value and hash(rebuilt) == hash(value) and repr(rebuilt) == repr(value)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, names[0], None)
        checked += 1
    assert checked >= 6
    assert dataclasses.replace(info, name="other").name == "other" and info.name != "other"
    assert info.attrs and all(type(k) is str for k in info.attrs) and list(info.attrs) == sorted(info.attrs)
