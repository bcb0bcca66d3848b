"""The CPU reference op by op: writer-built models whose answer independent loop code gives.

Each model is stored the way ATC stores one (fp16, NC1HWC0 activations with TransData at the
edges, FRACTAL_Z / FRACTAL_NZ weights), so layouts, wiring and fp16 rounding take part too.
"""

from __future__ import annotations

import numpy as np
import pytest
import reference_naive as naive
from graph_builder import Graph, fp16

from acl_notebook.cpu_reference import OverrideError, coverage, reference
from acl_notebook.om.opgraph import Tensor


def f16(a) -> np.ndarray:
    """What the device stores for float results: fp16-rounded."""
    return np.asarray(a, np.float64).astype(np.float16).astype(np.float64)


def close(got, want, tol: float = 2e-3) -> None:
    got = np.asarray(got, np.float64)
    want = f16(want)
    scale = max(float(np.abs(want).max()), 1.0)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def act(shape, layout="NC1HWC0", origin="NCHW", dtype="float16") -> Tensor:
    return Tensor(shape, dtype, layout, origin)


def _conv_model(x_shape, w, attrs, bias=None, out_hw=None, kind="Conv2D", extra=None, fmt="NCHW", wfmt="NCHW",
                framework="Onnx", out_c=None):
    g = Graph(framework=framework)
    g.input("x", x_shape, fmt=fmt)
    g.const("w", w, "FRACTAL_Z", wfmt)
    inputs = ["x5", "w", g.const("b", bias) if bias is not None else "", ""]
    for k, name in sorted((extra or {}).items()):
        while len(inputs) < k:
            inputs.append("")
        inputs.append(name)
    while extra and len(inputs) < 13:
        inputs.append("")
    g.to5hd("x5", "x")
    n = x_shape[0]
    shape = (n, out_c, *out_hw) if fmt == "NCHW" else (n, *out_hw, out_c)
    g.op("conv", kind, inputs, act(shape, origin=fmt), **attrs)
    g.from5hd("y", "conv", fmt)
    return g


@pytest.mark.parametrize("case", [
    dict(c=3, o=8, k=3, stride=(1, 1), pads=(1, 1, 1, 1), dil=(1, 1), groups=1),
    dict(c=5, o=4, k=3, stride=(2, 2), pads=(0, 1, 1, 0), dil=(1, 1), groups=1),
    dict(c=4, o=6, k=3, stride=(1, 1), pads=(2, 2, 2, 2), dil=(2, 2), groups=1),
    dict(c=4, o=6, k=3, stride=(1, 2), pads=(1, 1, 1, 1), dil=(1, 1), groups=2),
    dict(c=6, o=6, k=3, stride=(1, 1), pads=(1, 1, 1, 1), dil=(1, 1), groups=6),
    dict(c=20, o=18, k=1, stride=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), groups=1),
])
def test_conv2d_matches_loops(case):
    c, o, k = case["c"], case["o"], case["k"]
    x = fp16((1, c, 7, 8), seed=1)
    w = fp16((o, c // case["groups"], k, k), seed=2, scale=0.3)
    b = fp16((o,), seed=3)
    want = naive.conv2d(x, w, case["stride"], case["pads"], case["dil"], case["groups"]) + b.reshape(1, -1, 1, 1)
    g = _conv_model(x.shape, w, dict(strides=[1, 1, *case["stride"]], pads=list(case["pads"]),
                                     dilations=[1, 1, *case["dil"]], groups=case["groups"], data_format="NCHW"),
                    bias=b, out_hw=want.shape[2:], out_c=o)
    r = reference(g.build("y"), x)
    assert r.fidelity == "computed" and r.notes == ()
    assert r.outputs[0].dtype == np.float16
    close(r.outputs[0], want)


def test_tensorflow_conv_in_nhwc_with_hwcn_weights():
    x = fp16((1, 9, 9, 3), seed=4)
    w = fp16((3, 3, 3, 5), seed=5, scale=0.3)  # [kh, kw, Cin, Cout]
    want = naive.conv2d(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), (2, 2), (1, 1, 1, 1)).transpose(0, 2, 3, 1)
    g = _conv_model(x.shape, w, dict(strides=[1, 2, 2, 1], pads=[1, 1, 1, 1], dilations=[1, 1, 1, 1],
                                     data_format="NHWC"), out_hw=(5, 5), fmt="NHWC", wfmt="HWCN",
                    framework="TensorFlow", out_c=5)
    r = reference(g.build("y"), x)
    assert r.fidelity == "computed"
    close(r.outputs[0], want)


def test_fixpipe_conv_residual_and_two_prelus():
    """conv -> PReLU(relu_weight_0) -> + x2 -> PReLU(relu_weight_1), the 13-input form of ATC 7.x."""
    x = fp16((1, 4, 6, 6), seed=6)
    w = fp16((8, 4, 1, 1), seed=7, scale=0.5)
    x2 = fp16((1, 8, 6, 6), seed=8)
    b = fp16((8,), seed=9)
    w0, w1 = np.float32([0.25]), np.float32([0.1])
    g = Graph()
    g.input("x", x.shape)
    g.input("r", x2.shape)
    g.const("w", w, "FRACTAL_Z", "NCHW")
    g.const("b", b)
    g.const("w0", w0.reshape(1, 1, 1), "NCHW")
    g.const("w1", w1.reshape(1, 1, 1), "NCHW")
    g.to5hd("x5", "x")
    g.to5hd("r5", "r")
    g.op("conv", "Conv2D", ["x5", "w", "b", "", "r5", "", "w0", "", "", "w1", "", "", ""], act((1, 8, 6, 6)),
         dilations=[1, 1, 1, 1], groups=1, data_format="NHWC",
         _datadump_original_op_types=["PRelu", "Add", "PRelu"], _kernelname="te_fused_op_conv2d_fix_pipe_0123")
    g.from5hd("y", "conv")
    r = reference(g.build("y"), [x, x2])
    conv = f16(naive.conv2d(x, w) + b.reshape(1, -1, 1, 1))
    want = naive.prelu(naive.prelu(conv, w0) + x2, w1)
    assert r.fidelity == "computed", r.notes  # a 1x1 conv's geometry is determined by the shapes
    close(r.outputs[0], want, tol=4e-3)


def test_erased_geometry_is_solved_and_said():
    x = fp16((1, 3, 16, 16), seed=10)
    w = fp16((4, 3, 3, 3), seed=11, scale=0.3)
    want = naive.conv2d(x, w, (2, 2), (1, 1, 1, 1))
    g = _conv_model(x.shape, w, dict(dilations=[1, 1, 1, 1], groups=1, data_format="NHWC",
                                     _datadump_original_op_types=["Relu"]), out_hw=(8, 8), out_c=4)
    blob = g.build("y")
    r = reference(blob, x)
    assert r.fidelity == "approximate"
    assert len(r.notes) == 1 and r.notes[0].startswith("Conv2D 'conv': strides/pads not in the file")
    assert "stride 2, pads 1+1" in r.notes[0] and "dilation assumed 1" in r.notes[0]
    close(r.outputs[0], np.maximum(want, 0))
    cov = coverage(blob)
    assert (cov.fidelity, cov.guessed, cov.summary) == ("approximate", 1, "approximate: 1 op guessed")
    assert cov.notes == r.notes


def test_conv_transpose_matches_scatter():
    x = fp16((1, 4, 5, 6), seed=12)
    w = fp16((4, 3, 3, 3), seed=13, scale=0.3)  # [Cin, Cout, kh, kw]
    want = naive.conv_transpose(x, w, (2, 2), (1, 1, 1, 1), (10, 12))
    g = Graph()
    g.input("x", x.shape)
    g.const("w", w, "FRACTAL_Z", "NCHW")
    g.to5hd("x5", "x")
    g.op("deconv", "Conv2DTransposeD", ["x5", "w", "", ""], act((1, 3, 10, 12)), input_size=[1, 3, 10, 12],
         strides=[1, 1, 2, 2], pads=[1, 1, 1, 1], dilations=[1, 1, 1, 1], groups=1, data_format="NCHW",
         output_padding=[0, 0, 1, 1])
    g.from5hd("y", "deconv")
    r = reference(g.build("y"), x)
    assert r.fidelity == "computed", r.notes
    close(r.outputs[0], want)


def test_matmul_in_fractal_nz_with_bias_and_a_fused_relu6_from_the_kernel_name():
    a = fp16((3, 40), seed=14)
    w = fp16((40, 20), seed=15, scale=0.5)
    b = fp16((20,), seed=16)
    g = Graph(framework="TensorFlow")
    g.input("a", a.shape, fmt="ND")
    g.const("w", w, "FRACTAL_NZ", "ND")
    g.const("b", b)
    g.op("nz", "TransData", ["a"], Tensor((3, 40), "float16", "FRACTAL_NZ", "ND"))
    g.op("mm", "MatMulV2", ["nz", "w", "b", ""], Tensor((3, 20), "float16", "FRACTAL_NZ", "ND"),
         mm_kernelname="te_fused_op_mat_mul_relu6_80397ef05d128600_a6d5fdad0331f15b__kernel0")
    g.op("y", "TransData", ["mm"], Tensor((3, 20), "float16", "ND"))
    r = reference(g.build("y"), a)
    assert r.fidelity == "computed", r.notes
    close(r.outputs[0], np.clip(a.astype(np.float64) @ w + b, 0, 6))


def test_matmul_transpose_flags_read_or_guessed():
    a, w = fp16((4, 4), seed=17), fp16((4, 4), seed=18)
    for attrs, want, fidelity in ((dict(transpose_x1=False, transpose_x2=True), a.astype(float) @ w.T, "computed"),
                                  ({}, a.astype(float) @ w, "approximate")):
        g = Graph()
        g.input("a", a.shape, fmt="ND")
        g.const("w", w)
        g.op("mm", "MatMulV2", ["a", "w"], Tensor((4, 4)), **attrs)
        r = reference(g.build("mm"), a)
        assert r.fidelity == fidelity
        close(r.outputs[0], want)
    assert "transpose flags are not in the file" in r.notes[0]


def test_fully_connection():
    x = fp16((2, 3, 2, 2), seed=19)
    w = fp16((5, 3, 2, 2), seed=20, scale=0.3)
    b = fp16((5,), seed=21)
    g = Graph()
    g.input("x", x.shape)
    g.const("w", w, "FRACTAL_Z", "NCHW")
    g.const("b", b)
    g.op("fc", "FullyConnection", ["x", "w", "b"], Tensor((2, 5)), num_output=5, transpose=False, axis=1)
    r = reference(g.build("fc"), x)
    close(r.outputs[0], x.reshape(2, -1).astype(float) @ w.reshape(5, -1).T + b)


@pytest.mark.parametrize("kind, attrs, k, stride, pads, out_hw, count_pad", [
    ("MaxPoolV3", dict(ksize=[1, 1, 3, 3], strides=[1, 1, 2, 2], padding_mode="CALCULATED", pads=[1, 1, 1, 1],
                       data_format="NCHW", ceil_mode=False), (3, 3), (2, 2), (1, 1, 1, 1), (4, 5), False),
    ("MaxPoolV3", dict(ksize=[1, 1, 2, 2], strides=[1, 1, 2, 2], padding_mode="CALCULATED", pads=[0, 0, 0, 0],
                       data_format="NCHW", ceil_mode=True), (2, 2), (2, 2), (0, 0, 0, 0), (4, 5), False),
    ("AvgPoolV2", dict(ksize=[1, 1, 3, 3], strides=[1, 1, 1, 1], padding_mode="CALCULATED", pads=[1, 1, 1, 1],
                       data_format="NCHW", exclusive=True), (3, 3), (1, 1), (1, 1, 1, 1), (7, 9), False),
    ("AvgPoolV2", dict(ksize=[1, 1, 3, 3], strides=[1, 1, 1, 1], padding_mode="CALCULATED", pads=[1, 1, 1, 1],
                       data_format="NCHW", exclusive=False), (3, 3), (1, 1), (1, 1, 1, 1), (7, 9), True),
    ("MaxPool", dict(ksize=[1, 1, 3, 3], strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW"),
     (3, 3), (2, 2), (1, 1, 1, 1), (4, 5), False),
    ("Pooling", dict(mode=1, window=[2, 2], stride=[2, 2], pad=[0, 0, 0, 0], ceil_mode=0), (2, 2), (2, 2),
     (0, 0, 0, 0), (4, 5), False),
])
def test_pooling_matches_loops(kind, attrs, k, stride, pads, out_hw, count_pad):
    x = fp16((1, 5, 7, 9), seed=22)
    g = Graph()
    g.input("x", x.shape)
    g.to5hd("x5", "x")
    g.op("pool", kind, ["x5"], act((1, 5, *out_hw)), **attrs)
    g.from5hd("y", "pool")
    r = reference(g.build("y"), x)
    assert r.fidelity == "computed", r.notes
    ceil_pads = (pads[0], pads[1] + 1, pads[2], pads[3] + 1) if kind != "AvgPoolV2" else pads
    close(r.outputs[0], naive.pool(x, k, stride, ceil_pads, "max" if "Max" in kind else "avg", out_hw, count_pad))


@pytest.mark.parametrize("op_type", ["ResizeBilinearV2", "ResizeNearestNeighborV2"])
@pytest.mark.parametrize("align, half", [(False, False), (True, False), (False, True)])
def test_resize_follows_tensorflow_sampling(op_type, align, half):
    x = fp16((1, 3, 5, 7), seed=23)
    g = Graph()
    g.input("x", x.shape)
    g.const("size", np.int32([9, 12]))
    g.to5hd("x5", "x")
    g.op("rs", op_type, ["x5", "size"], act((1, 3, 9, 12)), align_corners=align, half_pixel_centers=half)
    g.from5hd("y", "rs")
    r = reference(g.build("y"), x)
    fn = naive.resize_bilinear if "Bilinear" in op_type else naive.resize_nearest
    close(r.outputs[0], fn(x, (9, 12), align, half))


UNARY_CASES = {
    "Relu": lambda v: max(v, 0.0), "Relu6": lambda v: min(max(v, 0.0), 6.0),
    "Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Tanh": np.tanh, "Abs": abs, "Exp": np.exp,
    "Swish": lambda v: v / (1 + np.exp(-v)),
    "Gelu": lambda v: 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3))),
}


@pytest.mark.parametrize("op_type", sorted(UNARY_CASES))
def test_unary_ops(op_type):
    x = fp16((2, 3, 4, 5), seed=24, scale=2)
    g = Graph()
    g.input("x", x.shape)
    g.op("u", op_type, ["x"], Tensor(x.shape, "float16", "NCHW"))
    r = reference(g.build("u"), x)
    close(r.outputs[0], np.vectorize(UNARY_CASES[op_type])(x.astype(np.float64)))


@pytest.mark.parametrize("op_type, fn", [("Add", np.add), ("Sub", np.subtract), ("Mul", np.multiply),
                                         ("RealDiv", np.divide), ("Maximum", np.maximum), ("Minimum", np.minimum)])
def test_binary_ops_broadcast_on_logical_shapes(op_type, fn):
    a = fp16((2, 3, 4, 5), seed=25)
    b = (np.abs(fp16((3, 1, 1), seed=26)) + 0.5).astype(np.float16)
    g = Graph()
    g.input("a", a.shape)
    g.const("b", b)
    g.op("e", op_type, ["a", "b"], Tensor(a.shape, "float16", "NCHW"))
    close(reference(g.build("e"), a).outputs[0], fn(a.astype(np.float64), b.astype(np.float64)))


def test_batchnorm_prelu_and_the_folded_automatic_buffer_fusion_forms():
    x = fp16((1, 6, 3, 4), seed=27)
    mean, var = fp16((6,), seed=28), np.abs(fp16((6,), seed=29)) + 0.5
    gamma, beta = fp16((6,), seed=30), fp16((6,), seed=31)
    slope = np.float32([0.2])
    g = Graph()
    g.input("x", x.shape)
    for name, v in (("mean", mean), ("var", var), ("gamma", gamma), ("beta", beta)):
        g.const(name, v, "NC1HWC0", "NCHW")
    g.const("slope", slope.reshape(1, 1, 1), "NCHW")
    c2 = (gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + 1e-5))
    c1 = beta / c2 - mean
    g.const("c1", c1.astype(np.float16), "NC1HWC0", "NCHW")
    g.const("c2", c2.astype(np.float16), "NC1HWC0", "NCHW")
    g.to5hd("x5", "x")
    g.op("bn", "BNInferenceD", ["x5", "mean", "var", "gamma", "beta"], act(x.shape), epsilon=1e-5)
    g.op("folded", "AutomaticBufferFusionOp", ["x5", "c1", "c2", "slope"], act(x.shape),
         _datadump_original_op_types=["BatchNorm", "PRelu"])
    g.op("addp", "AutomaticBufferFusionOp", ["bn", "folded", "slope"], act(x.shape),
         _datadump_original_op_types=["Add", "PRelu"])
    g.from5hd("y0", "bn")
    g.from5hd("y1", "folded")
    g.from5hd("y2", "addp")
    r = reference(g.build("y0", "y1", "y2"), x)
    bn = (x - mean.reshape(1, -1, 1, 1)) / np.sqrt(var.reshape(1, -1, 1, 1) + 1e-5) * gamma.reshape(1, -1, 1, 1) \
        + beta.reshape(1, -1, 1, 1)
    assert r.fidelity == "computed"
    close(r.outputs[0], bn, tol=4e-3)
    folded = naive.prelu((x + f16(c1).reshape(1, -1, 1, 1)) * f16(c2).reshape(1, -1, 1, 1), slope)
    close(r.outputs[1], folded, tol=4e-3)
    close(r.outputs[2], naive.prelu(f16(bn) + f16(folded), slope), tol=8e-3)


def test_concat_split_on_logical_channels_of_nc1hwc0():
    a, b = fp16((1, 3, 2, 2), seed=32), fp16((1, 13, 2, 2), seed=33)
    g = Graph()
    g.input("a", a.shape)
    g.input("b", b.shape)
    g.to5hd("a5", "a")
    g.to5hd("b5", "b")
    g.op("cat", "ConcatD", ["a5", "b5"], act((1, 16, 2, 2)), concat_dim=1, N=2)
    g.op("split", "SplitD", ["cat"], [act((1, 10, 2, 2)), act((1, 6, 2, 2))], split_dim=1, num_split=2)
    g.from5hd("y0", "cat")
    g.op("y1", "TransData", ["split:1"], Tensor((1, 6, 2, 2), "float16", "NCHW"))
    r = reference(g.build("y0", "y1"), [a, b])
    both = np.concatenate([a, b], axis=1)
    assert np.array_equal(r.outputs[0], both) and np.array_equal(r.outputs[1], both[:, 10:])


def test_slice_transpose_pad_reduce():
    x = fp16((2, 3, 4, 5), seed=34)
    g = Graph()
    g.input("x", x.shape)
    g.op("ss", "StridedSliceD", ["x"], Tensor((2, 2, 4), "float16", "ND"), begin=[0, 1, 0, 4], end=[2, 3, 4, 5],
         strides=[1, 1, 1, 1], begin_mask=0, end_mask=0, shrink_axis_mask=8)
    g.op("tr", "TransposeD", ["x"], Tensor((5, 2, 4, 3), "float16", "ND"), perm=[3, 0, 2, 1])
    g.op("pad", "PadD", ["x"], Tensor((2, 3, 6, 8), "float16", "ND"), paddings=[[0, 0], [0, 0], [1, 1], [2, 1]])
    g.op("mean", "ReduceMeanD", ["x"], Tensor((2, 3, 1, 1), "float16", "ND"), axes=[2, 3], keep_dims=True)
    g.op("mx", "ReduceMaxD", ["x"], Tensor((2, 5), "float16", "ND"), axes=[1, 2], keep_dims=False)
    r = reference(g.build("ss", "tr", "pad", "mean", "mx"), x)
    assert np.array_equal(r.outputs[0], x[:, 1:3, :, 4])
    assert np.array_equal(r.outputs[1], x.transpose(3, 0, 2, 1))
    assert np.array_equal(r.outputs[2], np.pad(x, [(0, 0), (0, 0), (1, 1), (2, 1)]))
    close(r.outputs[3], x.astype(np.float64).mean(axis=(2, 3), keepdims=True))
    assert np.array_equal(r.outputs[4], x.max(axis=(1, 2)))


def test_softmax_on_fractal_nz_ignores_the_padding_and_argmax_is_int32():
    x = fp16((1, 6), seed=35, scale=3)
    g = Graph(framework="TensorFlow")
    g.input("x", x.shape, fmt="ND")
    g.op("nz", "TransData", ["x"], Tensor((1, 6), "float16", "FRACTAL_NZ", "ND"))
    g.op("sm", "SoftmaxV2", ["nz"], Tensor((1, 6), "float16", "FRACTAL_NZ", "ND"), axes=[-1])
    g.op("nd", "TransData", ["sm"], Tensor((1, 6), "float16", "ND"))
    g.op("am", "ArgMaxD", ["nd"], Tensor((1,), "int32", "ND"), dimension=1)
    r = reference(g.build("nd", "am"), x)
    e = np.exp(x.astype(np.float64) - x.max())
    close(r.outputs[0], e / e.sum())
    assert r.outputs[1].dtype == np.int32 and r.outputs[1][0] == int(np.argmax(x))


def test_cast_and_fp16_rounding_at_fp16_outputs():
    x = np.float32([[1.0001, 3.14159265, 65504.0, 70000.0, -2.5]])
    g = Graph()
    g.input("x", x.shape, dtype="float32", fmt="ND")
    g.op("c", "Cast", ["x"], Tensor(x.shape, "float16", "ND"), dst_type=1)
    g.op("back", "Cast", ["c"], Tensor(x.shape, "float32", "ND"), dst_type=0)
    g.op("i", "Cast", ["x"], Tensor(x.shape, "int32", "ND"), dst_type=3)
    r = reference(g.build("back", "i"), x)
    assert r.outputs[0].dtype == np.float32
    with np.errstate(over="ignore"):
        # 70000 overflows to inf, as on fp16
        assert np.array_equal(r.outputs[0], x.astype(np.float16).astype(np.float32))
    assert r.outputs[1].tolist() == [[1, 3, 65504, 70000, -2]]


def test_erased_reshape_reads_the_producers_bytes():
    """A consumer with another descriptor sees the bytes, NC1HWC0 padding included (om-execution.md §1)."""
    x = fp16((1, 2, 2, 3), seed=36)  # NHWC
    g = Graph(framework="TensorFlow")
    g.input("x", x.shape, fmt="NHWC")
    g.op("flat", "Relu", ["x"], Tensor((1, 12), "float16", "ND"), input_descs=[Tensor((1, 12), "float16", "ND")])
    g.op("x5", "TransData", ["x"], Tensor(x.shape, "float16", "NC1HWC0", "NHWC"))
    g.op("raw", "Abs", ["x5"], Tensor((1, 64), "float16", "ND"), input_descs=[Tensor((1, 64), "float16", "ND")])
    r = reference(g.build("flat", "raw"), x)
    assert np.array_equal(r.outputs[0], np.maximum(x.reshape(1, 12), 0))
    packed = np.zeros((1, 1, 2, 2, 16), np.float16)
    packed[..., :3] = x
    assert np.array_equal(r.outputs[1], np.abs(packed.reshape(1, 64)))


def test_unknown_and_framework_ops_are_placeholders_never_computed():
    x = fp16((1, 6), seed=37)
    g = Graph(framework="TensorFlow")
    g.input("x", x.shape, fmt="ND")
    g.op("noise", "FrameworkOp", ["x"], Tensor((1, 6), "float32", "ND"), original_type="RandomStandardNormal",
         framework_type=3)
    g.op("mystery", "MyCustomOp", ["x"], Tensor((1, 6), "float16", "ND"))
    g.op("sum", "Add", ["noise", "mystery"], Tensor((1, 6), "float16", "ND"))
    blob = g.build("sum")
    cov = coverage(blob)
    assert cov.fidelity == "placeholder"
    assert cov.summary == "placeholder: FrameworkOp RandomStandardNormal, MyCustomOp"
    r = reference(blob, x)
    from acl_notebook.cpu_reference.placeholder import placeholder_like

    # placeholder values cannot pass for the model's: they are a function of the input bytes
    assert r.fidelity == "placeholder" and r.outputs[0].dtype == np.float16 and r.outputs[0].shape == (1, 6)
    assert np.array_equal(r.outputs[0], placeholder_like([x], [np.zeros((1, 6), np.float16)])[0])
    assert not np.array_equal(r.outputs[0], reference(blob, x + np.float16(1)).outputs[0])
    assert any("FrameworkOp 'noise'" in n and "RandomStandardNormal" in n and "override=" in n for n in r.notes)
    assert any(n.startswith("MyCustomOp 'mystery': no CPU implementation") for n in r.notes)
    # the caller supplies what the file cannot: then the rest is computed, and the note says so
    noise = np.arange(6, dtype=np.float32).reshape(1, 6)
    r = reference(blob, x, override={"noise:0": noise, "mystery": x})
    assert r.fidelity == "computed"
    close(r.outputs[0], noise + x)
    assert set(r.notes) == {"'noise:0' was given by the caller (override=)",
                            "'mystery:0' was given by the caller (override=)"}


def test_override_mistakes_are_one_clear_error():
    x = fp16((1, 6), seed=38)
    g = Graph()
    g.input("x", x.shape, fmt="ND")
    g.op("relu", "Relu", ["x"], Tensor((1, 6), "float16", "ND"))
    blob = g.build("relu")
    with pytest.raises(OverrideError, match="no op named 'rel'.*did you mean 'relu'"):
        reference(blob, x, override={"rel": x})
    with pytest.raises(OverrideError, match="expected shape \\[1, 6\\], got \\[6\\]"):
        reference(blob, x, override={"relu:0": x.reshape(6)})
    with pytest.raises(OverrideError, match="expected float16 values, got int64"):
        reference(blob, x, override={"relu": np.zeros((1, 6), np.int64)})
    with pytest.raises(OverrideError, match="has 1 output"):
        reference(blob, x, override={"relu:3": x})
    assert reference(blob, x, override={"relu": np.ones((1, 6))}).outputs[0].tolist() == [[1.0] * 6]


def test_only_ops_that_reach_the_outputs_run():
    x = fp16((1, 4), seed=39)
    g = Graph()
    g.input("x", x.shape, fmt="ND")
    g.op("dead", "MyCustomOp", ["x"], Tensor((1, 4), "float16", "ND"))
    g.op("live", "Relu", ["x"], Tensor((1, 4), "float16", "ND"))
    r = reference(g.build("live"), x)
    assert r.fidelity == "computed" and r.notes == ()


def test_big_intermediates_are_freed_after_their_last_consumer():
    import tracemalloc

    shape = (1, 16, 128, 128)  # 512 KiB in fp16, 1 MiB as float32 scratch
    g = Graph()
    g.input("x", shape)
    prev = "x"
    for i in range(24):
        prev = g.op(f"r{i}", "Relu" if i % 2 else "Abs", [prev], Tensor(shape, "float16", "NCHW"))
    blob = g.build(prev)
    x = fp16(shape)
    reference(blob, x)
    tracemalloc.start()
    reference(blob, x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tensor = int(np.prod(shape)) * 2
    assert peak < 8 * tensor, f"peak {peak} bytes for a chain of 24 ops on {tensor}-byte tensors"


def test_tensorflow_depthwise_conv_with_a_channel_multiplier():
    x = fp16((1, 7, 7, 3), seed=42)  # NHWC
    k = fp16((3, 3, 3, 2), seed=43, scale=0.3)  # [kh, kw, C, multiplier]
    g = Graph(framework="TensorFlow")
    g.input("x", x.shape, fmt="NHWC")
    g.const("k", k, "HWCN", "HWCN")
    g.op("dw", "DepthwiseConv2D", ["x", "k", "", ""], Tensor((1, 7, 7, 6), "float16", "NHWC"),
         strides=[1, 1, 1, 1], pads=[1, 1, 1, 1], dilations=[1, 1, 1, 1], data_format="NHWC")
    r = reference(g.build("dw"), x)
    assert r.fidelity == "computed", r.notes
    # channel c*m + j of the output convolves input channel c with k[:, :, c, j]
    w = k.transpose(2, 3, 0, 1).reshape(6, 1, 3, 3)
    want = naive.conv2d(x.transpose(0, 3, 1, 2), w, pads=(1, 1, 1, 1), groups=3).transpose(0, 2, 3, 1)
    close(r.outputs[0], want)
