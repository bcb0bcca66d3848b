"""The two shared real models end to end through the CPU reference, with fidelity and notes as found."""

from __future__ import annotations

import re

import numpy as np
import pytest
from shared_models import expected, model_path

from acl_notebook.cpu_reference import coverage, open_model, reference
from acl_notebook.om import layouts


@pytest.fixture(scope="module")
def anenet():
    m = open_model(model_path("my_122_anenet"))
    x = np.random.default_rng(0).standard_normal((1, 3, 256, 512)).astype(np.float32)
    return m, m.run([x])


def test_anenet_runs_end_to_end_with_the_declared_outputs(anenet):
    m, r = anenet
    want = expected("my_122_anenet")["outputs"]
    assert r.names == tuple(o["name"] for o in want)
    for got, o in zip(r.outputs, want):
        assert got.shape == tuple(o["dims"]) and got.dtype == np.dtype(o["dtype"])
        assert np.isfinite(got).all() and float(np.abs(got).max()) > 0
    # the file lacks the fused convs' strides and pads: every such op is named, and only those
    assert r.fidelity == "approximate"
    assert len(r.notes) == 48
    assert all("strides/pads not in the file (erased by fusion); solved from shapes" in n for n in r.notes)
    noted = {re.match(r"\w+ '(.*)': ", n).group(1) for n in r.notes}
    # the 12 dilated convs record dilations [1,1,1,1]; their real dilation is unrecoverable, and they are noted
    dilated = [n.name for n in m.graph.nodes if n.type == "Conv2D" and n.name.startswith("/dilated")
               and "ext_conv2" in n.name]
    assert len(dilated) == 12 and set(dilated) <= noted
    assert coverage(m).notes == r.notes and coverage(m).summary == "approximate: 48 ops guessed"


def test_anenet_ops_with_kept_attributes_are_not_noted(anenet):
    m, r = anenet
    noted = {re.match(r"\w+ '(.*)': ", n).group(1) for n in r.notes}
    kept = [n for n in m.graph.nodes if n.type in ("Conv2D", "Conv2DTransposeD") and "strides" in n.attrs]
    assert len(kept) == 7 and not noted & {n.name for n in kept}


def _a3c_weights(m):
    out = {}
    for node in m.graph.nodes:
        d = node.const
        if node.type == "Const" and d is not None:
            raw = np.frombuffer(m.graph.weights, d.dtype, d.count, d.data_offset).reshape(d.shape)
            logical = layouts.to_logical(raw, d.layout, d.logical_shape, d.logical_format, d.c0) if d.packed else raw
            out[node.name] = logical.astype(np.float64)
    return out


def _conv_valid_stride2(x, w):
    """x [H, W, C], w [kh, kw, C, O] (TensorFlow), VALID, stride 2, by summing kernel taps."""
    kh, kw = w.shape[:2]
    ho, wo = (x.shape[0] - kh) // 2 + 1, (x.shape[1] - kw) // 2 + 1
    y = np.zeros((ho, wo, w.shape[3]))
    for p in range(kh):
        for q in range(kw):
            y += np.einsum("hwc,co->hwo", x[p:p + 2 * ho - 1:2, q:q + 2 * wo - 1:2], w[p, q])
    return y


def _h(x):
    return np.asarray(x).astype(np.float16).astype(np.float64)


def test_a3c_matches_a_plain_tensorflow_forward_pass():
    m = open_model(model_path("a3c_pong_model_v2"))
    w = _a3c_weights(m)
    convs = [n for n in m.graph.nodes if n.type == "Conv2D"]
    mms = [n for n in m.graph.nodes if n.type == "MatMulV2"]
    actions = []
    for seed in range(8):
        x = np.random.default_rng(seed).random((1, 42, 42, 1)).astype(np.float32)
        r = m.run([x])
        h = _h(x[0])
        for conv in convs:  # conv + BiasAdd + Relu, fused
            h = _h(np.maximum(_conv_valid_stride2(h, w[conv.inputs[1][0]]) + w[conv.inputs[2][0]], 0))
        v = h.reshape(1, -1)  # TF's Reshape of NHWC, erased in the file
        v = _h(np.clip(v @ w[mms[0].inputs[1][0]] + w[mms[0].inputs[2][0]], 0, 6))
        logits = _h(v @ w[mms[1].inputs[1][0]] + w[mms[1].inputs[2][0]])
        want = int(np.argmax(logits))
        assert r.outputs[0].dtype == np.int32 and r.outputs[0].shape == (1,)
        assert int(r.outputs[0][0]) == want
        actions.append(want)
    assert len(set(actions)) > 1  # the answer depends on the input


def test_a3c_fidelity_and_notes_as_found():
    path = model_path("a3c_pong_model_v2")
    r = reference(path, np.zeros((1, 42, 42, 1), np.float32))
    assert r.names == ("out_a:0",) and r.fidelity == "approximate"
    assert r.notes == tuple(
        f"Conv2D 'W_0/conv{i}/Conv2DW_0/conv{i}/Relu': strides/pads not in the file (erased by fusion); solved from "
        "shapes as H: stride 2, pads 0+0; W: stride 2, pads 0+0, dilation assumed 1" for i in (1, 2, 3))
    cov = coverage(path)
    assert (cov.fidelity, cov.ops, cov.guessed, cov.summary) == ("approximate", 12, 3, "approximate: 3 ops guessed")


@pytest.mark.parametrize("name", ["a3c_pong_model_v2", "my_122_anenet"])
def test_a_load_keeps_exactly_the_weights_the_built_graph_reads(name):
    """The load-time Const scan (no nodes built) keeps the bytes of every Const some op reads,
    at the (offset, size) the graph built at the first run looks them up by, and nothing else."""
    from acl_notebook.cpu_reference.graph import detach_model, load_graph

    data = model_path(name).read_bytes()
    graph = load_graph(data)
    read = {ref[0] for n in graph.nodes for ref in n.inputs if ref is not None}
    want = {}
    for node in graph.nodes:
        if node.type == "Const" and node.name in read and not node.const_data:
            d = node.const
            want[(d.data_offset, d.nbytes)] = bytes(graph.weights[d.data_offset:d.data_offset + d.nbytes])
    detached = detach_model(data)
    assert detached.consts == want and len(want) > 3
    assert detached.copied == sum(len(v) for v in want.values())
    rebuilt = detached.graph()
    assert [n.name for n in rebuilt.nodes] == [n.name for n in graph.nodes]
    assert all(n.const_data == want[(n.const.data_offset, n.const.nbytes)]
               for n in rebuilt.nodes if n.type == "Const" and n.name in read and not n.const_data
               and (n.const.data_offset, n.const.nbytes) in want)
