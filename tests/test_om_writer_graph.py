"""The writer's compute graphs: weights packed as ATC packs them, descriptors and wiring as ATC writes them."""

from __future__ import annotations

import numpy as np
import pytest
from graph_builder import Graph, fp16

from acl_notebook.cpu_reference.graph import load_graph
from acl_notebook.om import ModelSpec, TensorSpec, inspect, layouts, write_om
from acl_notebook.om.opgraph import OpSpec, Tensor


def _model(compress: bool) -> tuple[bytes, dict]:
    g = Graph(compress=compress)
    g.input("x", (1, 3, 8, 8))
    values = {
        "w": (fp16((20, 3, 3, 3)), "FRACTAL_Z", "NCHW"),
        "w_tf": (fp16((3, 3, 3, 20), seed=1), "FRACTAL_Z", "HWCN"),
        "m": (fp16((40, 24), seed=2), "FRACTAL_NZ", "ND"),
        "b": (fp16((20,), seed=3), "NC1HWC0", "NCHW"),
        "slope": (np.float32([0.25]), "NCHW", None),
    }
    for name, (value, layout, origin) in values.items():
        g.const(name, value, layout, origin)
    g.to5hd("x5", "x")
    g.op("conv", "Conv2D", ["x5", "w", "b", ""], Tensor((1, 20, 8, 8), "float16", "NC1HWC0", "NCHW"),
         strides=[1, 1, 1, 1], pads=[1, 1, 1, 1], dilations=[1, 1, 1, 1], groups=1, data_format="NCHW",
         fused_scale=0.5, names=["a", "b"])
    return g.build("conv"), values


@pytest.mark.parametrize("compress", [False, True])
def test_weights_are_packed_aligned_and_described(compress):
    blob, values = _model(compress)
    info = inspect(blob)
    assert [t.name for t in info.inputs] == ["x"] and info.outputs[0].dims == (1, 2, 8, 8, 16)
    graph = load_graph(blob)
    assert info.memory.weight == len(graph.weights)
    spans = []
    for name, (value, layout, _origin) in values.items():
        d = graph.by_name[name].const
        assert d.data_offset % 512 == 0 and d.data_offset >= 512
        assert d.layout == layout and d.logical_shape == value.shape
        c0 = layouts.c0_for(value.dtype.itemsize)
        physical = layouts.to_physical(value, layout, d.logical_format, c0)
        assert d.shape == physical.shape and d.weight_size == physical.nbytes
        stored = np.frombuffer(graph.weights, value.dtype, d.count, d.data_offset).reshape(d.shape)
        assert np.array_equal(stored, physical)
        spans.append((d.data_offset, d.data_offset + d.weight_size))
    spans.sort()
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # never overlap
    assert not any(graph.weights[:512])
    conv = graph.by_name["conv"]
    assert conv.inputs == [("x5", 0), ("w", 0), ("b", 0), None]
    assert conv.input_descs[1].data_offset == graph.by_name["w"].const.data_offset  # the consumer repeats it
    assert not conv.input_descs[3].present
    assert conv.attrs["strides"] == [1, 1, 1, 1] and conv.attrs["data_format"] == "NCHW"
    assert conv.attrs["fused_scale"] == pytest.approx(0.5) and conv.attrs["names"] == ["a", "b"]
    assert conv.output_descs[0].c0 == 16 and conv.output_descs[0].origin_shape == (1, 20, 8, 8)


def test_control_edges_and_reinterpreting_descriptors():
    g = Graph()
    g.input("x", (1, 4, 4, 2), fmt="NHWC")
    g.const("shape", np.int32([1, 32]))
    g.op("flat", "Relu", ["x", "shape:-1"], Tensor((1, 32), "float16", "ND"),
         input_descs=[Tensor((1, 32), "float16", "ND")])
    graph = load_graph(g.build("flat"))
    node = graph.by_name["flat"]
    assert node.inputs == [("x", 0)]  # the control edge carries no data
    assert node.input_descs[0].shape == (1, 32)  # the consumer's own view of the producer's bytes


def test_bad_graphs_are_refused_with_what_is_wrong():
    g = Graph()
    g.input("x", (1, 4))
    g.op("y", "Relu", ["nowhere"], Tensor((1, 4)))
    with pytest.raises(ValueError, match="no earlier op produces"):
        g.build("y")
    g = Graph()
    g.input("x", (1, 4))
    g.op("y", "Relu", ["x"], Tensor((1, 4)))
    spec = ModelSpec(inputs=g.inputs, outputs=[TensorSpec("y:0", (1, 5), "float16", "ND")], ops=g.ops)
    with pytest.raises(ValueError, match="declared"):
        write_om(spec)
    spec = ModelSpec(inputs=[TensorSpec("x", (-1, 4), "float16", "ND")], outputs=[TensorSpec("y:0", (8, 4), "float16")],
                     ops=[OpSpec("y", "Relu", ["x"], [Tensor((8, 4))])], dynamic_kind="batch", gears=[(1,), (8,)])
    with pytest.raises(ValueError, match="one op list per gear"):
        write_om(spec)
