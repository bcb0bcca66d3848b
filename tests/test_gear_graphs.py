"""Multi-gear models with a computation: the writer's Case op and per-gear branches, and the
CPU reference running the branch that matches the inputs."""

from __future__ import annotations

import numpy as np
import pytest

import acl_notebook as acl
from acl_notebook.cpu_reference import coverage, reference
from acl_notebook.om import ModelSpec, TensorSpec, write_om
from acl_notebook.om.opgraph import ConstSpec, OpSpec, Tensor
from acl_notebook.om.reader import model_def

GEARS = (1, 2, 4)
W = np.arange(12, dtype=np.float16).reshape(3, 4) / 8  # [in, out]


def _branch(batch: int) -> list[OpSpec]:
    """x [b, 3] -> x @ W + 1, through FRACTAL_NZ as ATC packs matrices, then ReLU."""
    return [
        OpSpec("to_nz", "TransData", ["x"], [Tensor((batch, 3), "float16", "FRACTAL_NZ", "ND")],
               {"src_format": "ND", "dst_format": "FRACTAL_NZ"}),
        OpSpec("mm", "MatMulV2", ["to_nz", "w", "b", ""], [Tensor((batch, 4), "float16", "FRACTAL_NZ", "ND")],
               {"transpose_x1": False, "transpose_x2": False}),
        OpSpec("to_nd", "TransData", ["mm"], [Tensor((batch, 4), "float16", "ND", "ND")],
               {"src_format": "FRACTAL_NZ", "dst_format": "ND"}),
        OpSpec("relu", "Relu", ["to_nd"], [Tensor((batch, 4), "float16", "ND", "ND")]),
    ]


def _spec(**changes) -> ModelSpec:
    spec = ModelSpec(
        name="gears", soc_version="Ascend310P3",
        inputs=[TensorSpec("x", (-1, 3), "float16", "ND")],
        outputs=[TensorSpec("relu:0", (max(GEARS), 4), "float16", "ND")],
        dynamic_kind="batch", gears=[(g,) for g in GEARS],
        consts=[ConstSpec("w", W, "FRACTAL_NZ", "ND"), ConstSpec("b", np.ones(4, np.float16), "ND")],
        branches=[_branch(g) for g in GEARS],
        model_attrs={"note_for_readers": "hello", "score": 0.5},
    )
    for k, v in changes.items():
        setattr(spec, k, v)
    return spec


def test_layout_is_a_case_shell_with_one_branch_per_gear():
    blob = write_om(_spec())
    info = acl.inspect(blob)
    assert info.dynamic.kind == "batch" and info.dynamic.gears == tuple((g,) for g in GEARS)
    # what each gear really writes, so aclmdlGetCurOutputDims trims outputs per gear
    assert info.dynamic.output_shapes == tuple(f"{i},0,{g},4" for i, g in enumerate(GEARS))
    assert info.attrs["note_for_readers"] == "hello" and info.attrs["score"] == pytest.approx(0.5)
    model = model_def(blob)
    root, *subs = model.graph
    case = [op for op in root.op if op.type == b"Case"]
    assert len(case) == 1 and list(case[0].subgraph_name) == [s.name for s in subs]
    assert [op.type for op in root.op].count(b"Const") == 0  # the computation lives in the branches
    for sub, g in zip(subs, GEARS):
        data = [op for op in sub.op if op.type == b"Data"]
        assert [list(op.output_desc[0].shape.dim) for op in data] == [[g, 3]]
    # weights are stored once: the same offsets in every branch
    offsets = {tuple(sorted(op.output_desc[0].data_offset for op in sub.op if op.type == b"Const")) for sub in subs}
    assert len(offsets) == 1


def test_reference_runs_the_branch_of_the_input_shape():
    blob = write_om(_spec())
    assert coverage(blob).fidelity == "computed"
    for g in GEARS:
        x = (np.arange(3 * g, dtype=np.float16).reshape(g, 3) - 4) / 4
        r = reference(blob, x)
        want = np.maximum(x.astype(np.float32) @ W.astype(np.float32) + 1, 0)
        assert r.fidelity == "computed" and r.notes == ()
        assert r.outputs[0].shape == (g, 4)
        np.testing.assert_allclose(r.outputs[0], want, rtol=2e-3, atol=2e-3)


def test_reference_refuses_a_batch_that_is_no_gear():
    with pytest.raises(ValueError, match="match none of the model's gears"):
        reference(write_om(_spec()), np.zeros((3, 3), np.float16))


@pytest.mark.parametrize("changes, message", [
    ({"branches": [_branch(1)]}, "one op list per gear"),
    ({"ops": _branch(1)}, "one op list per gear"),
    ({"dynamic_kind": None, "gears": []}, "for multi-gear models"),
])
def test_inconsistent_specs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        write_om(_spec(**changes))
