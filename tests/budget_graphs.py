"""Writer graphs that each exercise one kernel family of the CPU reference at a few MB per tensor,
so the traced peak of a run is the kernels' own arrays and not allocator noise. Used by
tests/test_reference_budget.py (the plan bounds the traced peak closely) and by
benchmarks/bench_reference.py --plan (the ratios, side by side).

Each entry builds (model bytes, inputs). Activations travel as ATC writes them where the family
does on a device (NC1HWC0 around convs and pools, FRACTAL_Z filters, FRACTAL_NZ matmul weights),
plainly elsewhere; fp16 unless the case says float32 or int8.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from graph_builder import Graph

from acl_notebook.om.opgraph import Tensor

Case = Callable[[], tuple[bytes, list[np.ndarray]]]


def _x(shape, dtype="float16", seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "int8":
        return rng.integers(-100, 100, shape, dtype=np.int8)
    return rng.standard_normal(shape).astype(dtype)


def _act(shape, dtype="float16") -> Tensor:
    return Tensor(shape, dtype, "NC1HWC0", "NCHW")


def _conv(c=32, o=32, hw=128, k=3, stride=1, pad=1, dil=1, groups=1, n=1, dtype="float16", relu=False,
          packed=True) -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (n, c, hw, hw), dtype)
    w = _x((o, c // groups, k, k), dtype, seed=1) * np.asarray(0.1, dtype)
    g.const("w", w, "FRACTAL_Z" if packed else "NCHW", "NCHW")
    g.const("b", _x((o,), dtype, seed=2))
    out = (hw + 2 * pad - dil * (k - 1) - 1) // stride + 1
    src = g.to5hd("x5", "x") if packed else "x"
    attrs = dict(strides=[1, 1, stride, stride], pads=[pad] * 4, dilations=[1, 1, dil, dil], groups=groups,
                 data_format="NCHW")
    if relu:
        attrs["_datadump_original_op_types"] = ["Conv2D", "Relu"]
    kind = "DepthwiseConv2D" if groups == c and groups > 1 else "Conv2D"
    g.op("conv", kind, [src, "w", "b", ""], _act((n, o, out, out), dtype) if packed else
         Tensor((n, o, out, out), dtype, "NCHW"), **attrs)
    last = g.from5hd("y", "conv") if packed else "conv"
    return g.build(last), [_x((n, c, hw, hw), dtype)]


def _matmul(m=1024, k=1024, n=1024, kind="MatMulV2", dtype="float16") -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("a", (m, k), dtype, "ND")
    if kind == "FullyConnection":
        g.const("w", _x((n, k, 1, 1), dtype, seed=1), "FRACTAL_Z", "NCHW")
        g.const("b", _x((n,), dtype, seed=2))
        g.op("mm", kind, ["a", "w", "b"], Tensor((m, n), dtype, "ND"), num_output=n, transpose=False, axis=1)
    elif kind == "BatchMatMulV2":
        g.input("b", (8, k, n // 8), dtype, "ND")
        g.op("a3", "Reshape", ["a"], Tensor((8, m // 8, k), dtype, "ND"))
        g.op("mm", kind, ["a3", "b"], Tensor((8, m // 8, n // 8), dtype, "ND"), adj_x1=False, adj_x2=False)
        return g.build("mm"), [_x((m, k), dtype), _x((8, k, n // 8), dtype, seed=3)]
    else:
        g.const("w", _x((k, n), dtype, seed=1), "FRACTAL_NZ", "ND")
        g.const("b", _x((n,), dtype, seed=2))
        g.op("nz", "TransData", ["a"], Tensor((m, k), dtype, "FRACTAL_NZ", "ND"))
        g.op("mm", kind, ["nz", "w", "b", ""], Tensor((m, n), dtype, "FRACTAL_NZ", "ND"),
             transpose_x1=False, transpose_x2=False)
        g.op("y", "TransData", ["mm"], Tensor((m, n), dtype, "ND"))
        return g.build("y"), [_x((m, k), dtype)]
    return g.build("mm"), [_x((m, k), dtype)]


def _pool(kind="MaxPoolV3", k=3, stride=2, pad=1, c=32, hw=256) -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (1, c, hw, hw))
    g.to5hd("x5", "x")
    out = (hw + 2 * pad - k) // stride + 1
    g.op("pool", kind, ["x5"], _act((1, c, out, out)), ksize=[1, 1, k, k], strides=[1, 1, stride, stride],
         padding_mode="CALCULATED", pads=[pad] * 4, data_format="NCHW", exclusive=True)
    return g.build(g.from5hd("y", "pool")), [_x((1, c, hw, hw))]


def _resize(kind="ResizeBilinearV2D", c=16, hw=128, scale=2) -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (1, c, hw, hw))
    g.to5hd("x5", "x")
    g.op("rs", kind, ["x5"], _act((1, c, hw * scale, hw * scale)), size=[hw * scale] * 2, align_corners=False,
         half_pixel_centers=True)
    return g.build(g.from5hd("y", "rs")), [_x((1, c, hw, hw))]


def _pad() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (4, 16, 128, 128), fmt="ND")
    g.op("pad", "PadD", ["x"], Tensor((4, 16, 132, 136), "float16", "ND"), paddings=[[0, 0], [0, 0], [2, 2], [4, 4]])
    g.op("r", "Relu", ["pad"], Tensor((4, 16, 132, 136), "float16", "ND"))
    return g.build("r"), [_x((4, 16, 128, 128))]


def _concat_split() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    shape = (1, 32, 128, 128)
    g.input("a", shape, fmt="ND")
    g.input("b", shape, fmt="ND")
    g.op("cat", "ConcatD", ["a", "b"], Tensor((1, 64, 128, 128), "float16", "ND"), concat_dim=1, N=2)
    g.op("split", "SplitD", ["cat"], [Tensor((1, 16, 128, 128), "float16", "ND"),
                                      Tensor((1, 48, 128, 128), "float16", "ND")], split_dim=1, num_split=2)
    g.op("y", "Neg", ["split:1"], Tensor((1, 48, 128, 128), "float16", "ND"))
    return g.build("y"), [_x(shape), _x(shape, seed=1)]


def _broadcast(dtype="float16") -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    shape = (1, 64, 128, 128)
    g.input("x", shape, dtype, "ND")
    g.input("s", (1, 64, 1, 128), dtype, "ND")
    g.const("b", _x((1, 64, 1, 1), dtype, seed=2))
    g.op("add", "Add", ["x", "b"], Tensor(shape, dtype, "ND"))
    g.op("mul", "Mul", ["add", "s"], Tensor(shape, dtype, "ND"))
    g.op("sig", "Sigmoid", ["mul"], Tensor(shape, dtype, "ND"))
    return g.build("sig"), [_x(shape, dtype), _x((1, 64, 1, 128), dtype, seed=1)]


def _softmax() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (256, 8192), fmt="ND")
    g.op("sm", "SoftmaxV2", ["x"], Tensor((256, 8192), "float16", "ND"), axes=[-1])
    return g.build("sm"), [_x((256, 8192))]


def _reduce() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (8, 64, 64, 64), fmt="ND")
    g.op("mean", "ReduceMeanD", ["x"], Tensor((8, 64, 1, 1), "float16", "ND"), axes=[2, 3], keep_dims=True)
    g.op("sum", "ReduceSumD", ["x"], Tensor((64, 64, 64), "float16", "ND"), axes=[0], keep_dims=False)
    return g.build("mean", "sum"), [_x((8, 64, 64, 64))]


def _transpose() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (4, 64, 64, 64), fmt="ND")
    g.op("tr", "TransposeD", ["x"], Tensor((4, 64, 64, 64), "float16", "ND"), perm=[0, 2, 3, 1])
    g.op("rs", "Reshape", ["tr"], Tensor((4, 4096, 64), "float16", "ND"))
    g.op("y", "Abs", ["rs"], Tensor((4, 4096, 64), "float16", "ND"))
    return g.build("y"), [_x((4, 64, 64, 64))]


def _slice_keeps_input() -> tuple[bytes, list[np.ndarray]]:
    """A slice is a view: the array it cuts from stays alive while the slice does (here through
    the Neg that follows), though no op reads that array any more."""
    g = Graph()
    shape = (4, 32, 128, 128)
    g.input("x", shape, fmt="ND")
    g.op("a", "Abs", ["x"], Tensor(shape, "float16", "ND"))
    g.op("s", "StridedSliceD", ["a"], Tensor((1, 32, 128, 128), "float16", "ND"), begin=[0, 0, 0, 0],
         end=[1, 32, 128, 128], strides=[1, 1, 1, 1])
    g.op("b", "Neg", ["x"], Tensor(shape, "float16", "ND"))
    return g.build("s", "b"), [_x(shape)]


def _int8() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    shape = (4, 32, 128, 128)
    g.input("q", shape, "int8", "ND")
    g.op("deq", "Cast", ["q"], Tensor(shape, "float16", "ND"), dst_type=1)
    g.op("relu", "Relu", ["deq"], Tensor(shape, "float16", "ND"))
    return g.build("relu"), [_x(shape, "int8")]


_ONES = [1, 1, 1, 1]


def _nhwc_conv() -> tuple[bytes, list[np.ndarray]]:
    g = Graph(framework="TensorFlow")
    g.input("x", (1, 128, 128, 32), fmt="NHWC")
    g.const("w", _x((32, 32, 3, 3), seed=1) * np.float16(0.1), "FRACTAL_Z", "NCHW")
    g.op("conv", "Conv2D", ["x", "w", "", ""], Tensor((1, 128, 128, 32), "float16", "NHWC"), strides=_ONES,
         pads=_ONES, dilations=_ONES, groups=1, data_format="NHWC")
    return g.build("conv"), [_x((1, 128, 128, 32))]


def _tf_depthwise() -> tuple[bytes, list[np.ndarray]]:
    g = Graph(framework="TensorFlow")
    g.input("x", (1, 128, 128, 32), fmt="NHWC")
    g.const("k", _x((3, 3, 32, 2), seed=1), "HWCN", "HWCN")  # [kh, kw, C, multiplier]
    g.op("dw", "DepthwiseConv2D", ["x", "k", "", ""], Tensor((1, 128, 128, 64), "float16", "NHWC"), strides=_ONES,
         pads=_ONES, dilations=_ONES, data_format="NHWC")
    return g.build("dw"), [_x((1, 128, 128, 32))]


def _deconv() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    g.input("x", (1, 32, 64, 64))
    g.to5hd("x5", "x")
    g.const("w", _x((32, 16, 4, 4), seed=1), "FRACTAL_Z", "NCHW")
    g.op("dc", "Conv2DTransposeD", ["x5", "w", "", ""], _act((1, 16, 128, 128)), input_size=[1, 16, 128, 128],
         strides=[1, 1, 2, 2], pads=_ONES, dilations=_ONES, groups=1, data_format="NCHW")
    return g.build(g.from5hd("y", "dc")), [_x((1, 32, 64, 64))]


def _fixpipe_prelu() -> tuple[bytes, list[np.ndarray]]:
    """A FixPipe conv as ATC fuses it: conv -> PReLU -> + residual -> PReLU."""
    g = Graph()
    shape = (1, 32, 128, 128)
    g.input("x", shape)
    g.input("r", shape)
    g.to5hd("x5", "x")
    g.to5hd("r5", "r")
    g.const("w", _x((32, 32, 3, 3), seed=1) * np.float16(0.1), "FRACTAL_Z", "NCHW")
    g.const("b", _x((32,), seed=2))
    g.const("w0", _x((32,), seed=3).reshape(32, 1, 1), "NCHW")
    g.const("w1", _x((32,), seed=4).reshape(32, 1, 1), "NCHW")
    g.op("conv", "Conv2D", ["x5", "w", "b", "", "r5", "", "w0", "", "", "w1", "", "", ""], _act(shape), strides=_ONES,
         pads=_ONES, dilations=_ONES, groups=1, data_format="NCHW",
         _datadump_original_op_types=["Conv2D", "PRelu", "Add", "PRelu"])
    return g.build(g.from5hd("y", "conv")), [_x(shape), _x(shape, seed=5)]


def _activations() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    shape = (1, 64, 128, 128)
    g.input("x", shape, fmt="ND")
    g.const("slope", _x((64,), seed=3))
    g.op("leaky", "LeakyRelu", ["x"], Tensor(shape, "float16", "ND"), negative_slope=0.1)
    g.op("prelu", "PRelu", ["leaky", "slope"], Tensor(shape, "float16", "ND"))
    g.op("elu", "Elu", ["prelu"], Tensor(shape, "float16", "ND"))
    g.op("gelu", "Gelu", ["elu"], Tensor(shape, "float16", "ND"))
    return g.build("gelu"), [_x(shape)]


def _batch_norm() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    shape = (2, 64, 128, 128)
    g.input("x", shape)
    g.to5hd("x5", "x")
    var = np.abs(_x((64,), seed=2)) + np.float16(1)
    for name, value in (("mean", _x((64,), seed=1)), ("var", var), ("gamma", _x((64,), seed=3)),
                        ("beta", _x((64,), seed=4))):
        g.const(name, value.reshape(1, 64, 1, 1), "NC1HWC0", "NCHW")
    g.op("bn", "BNInferenceD", ["x5", "mean", "var", "gamma", "beta"], _act(shape), epsilon=1e-5)
    return g.build(g.from5hd("y", "bn")), [_x(shape)]


def _scale_bias() -> tuple[bytes, list[np.ndarray]]:
    g = Graph()
    shape = (4, 64, 64, 64)
    g.input("x", shape, fmt="NCHW")
    g.const("s", _x((64,), seed=1))
    g.const("b", _x((64,), seed=2))
    g.op("scale", "Scale", ["x", "s", "b"], Tensor(shape, "float16", "NCHW"), axis=1)
    g.op("bias", "BiasAdd", ["scale", "b"], Tensor(shape, "float16", "NCHW"), data_format="NCHW")
    g.op("sum", "AddN", ["scale", "bias", "x"], Tensor(shape, "float16", "NCHW"))
    return g.build("sum"), [_x(shape)]


def _nhwc_pool_resize() -> tuple[bytes, list[np.ndarray]]:
    g = Graph(framework="TensorFlow")
    g.input("x", (1, 128, 128, 32), fmt="NHWC")
    g.op("pool", "MaxPool", ["x"], Tensor((1, 64, 64, 32), "float16", "NHWC"), ksize=[1, 3, 3, 1],
         strides=[1, 2, 2, 1], padding="SAME", data_format="NHWC")
    g.op("up", "ResizeBilinearV2D", ["pool"], Tensor((1, 128, 128, 32), "float16", "NHWC"), size=[128, 128],
         align_corners=False, half_pixel_centers=True)
    return g.build("up"), [_x((1, 128, 128, 32))]


def _argmax_casts() -> tuple[bytes, list[np.ndarray]]:
    """Four outputs (a plan's end holds them all, and the placeholder function's three arrays of one)."""
    g = Graph()
    shape = (8, 64, 64, 64)
    g.input("x", shape, fmt="NCHW")
    g.op("gap", "GlobalAveragePool", ["x"], Tensor((8, 64, 1, 1), "float16", "NCHW"))
    g.op("arg", "ArgMaxV2", ["x"], Tensor((8, 64, 64), "int32", "ND"), dimension=1)
    g.op("mask", "Cast", ["x"], Tensor(shape, "bool", "ND"))
    g.op("ints", "Cast", ["x"], Tensor(shape, "int32", "ND"))
    return g.build("gap", "arg", "mask", "ints"), [_x(shape)]


def _argmax_inner(dtype="float32", kind="ArgMaxV2", dim=1) -> tuple[bytes, list[np.ndarray]]:
    """An argmax along an axis that is not the last: numpy moves it last in a contiguous copy."""
    g = Graph()
    shape = (64, 512, 256)
    g.input("x", shape, dtype, "ND")
    kept = tuple(d for i, d in enumerate(shape) if i != dim)
    outs = [Tensor(kept, "int32", "ND")] + ([Tensor(kept, dtype, "ND")] if kind == "ArgMaxWithValue" else [])
    g.op("arg", kind, ["x"], outs if len(outs) > 1 else outs[0], dimension=dim)
    return g.build(*(["arg:0", "arg:1"] if len(outs) > 1 else ["arg"])), [_x(shape, dtype)]


def _nz_row_weight() -> tuple[bytes, list[np.ndarray]]:
    """A [1, n] FRACTAL_NZ weight: stored 16 rows high, its one logical row a contiguous cut of
    the decoded copy, which must not keep the 16x padded copy alive through the matmul."""
    g = Graph()
    g.input("a", (3, 1), fmt="ND")
    g.const("w", _x((1, 400000), seed=1), "FRACTAL_NZ", "ND")
    g.op("mm", "MatMulV2", ["a", "w"], Tensor((3, 400000), "float16", "ND"))
    return g.build("mm"), [_x((3, 1))]


def _mean_first_axis() -> tuple[bytes, list[np.ndarray]]:
    """np.mean along an axis that is not the last holds a buffer of its own (about 128 KiB)."""
    g = Graph()
    g.input("x", (64, 512, 256), fmt="ND")
    g.op("mean", "ReduceMeanD", ["x"], Tensor((512, 256), "float16", "ND"), axes=[0], keep_dims=False)
    return g.build("mean"), [_x((64, 512, 256))]


#: family -> case builder
FAMILIES: dict[str, Case] = {
    "conv 3x3": lambda: _conv(),
    "conv 3x3 float32, plain layouts": lambda: _conv(dtype="float32", packed=False),
    "conv 3x3 stride 2, batch 2, fused Relu": lambda: _conv(stride=2, n=2, relu=True),
    "conv 1x1": lambda: _conv(c=64, o=64, k=1, pad=0),
    "conv grouped (4)": lambda: _conv(groups=4),
    "conv depthwise": lambda: _conv(c=64, o=64, groups=64),
    "conv dilated (2)": lambda: _conv(pad=2, dil=2),
    "matmul (FRACTAL_NZ weights)": lambda: _matmul(),
    "matmul, a [1, n] FRACTAL_NZ weight": _nz_row_weight,
    "batch matmul": lambda: _matmul(kind="BatchMatMulV2"),
    "fully connection": lambda: _matmul(m=256, kind="FullyConnection"),
    "max pool": lambda: _pool(),
    "avg pool": lambda: _pool("AvgPoolV2"),
    "resize bilinear": lambda: _resize(),
    "resize nearest": lambda: _resize("ResizeNearestNeighborV2D"),
    "pad": _pad,
    "concat / split": _concat_split,
    "elementwise broadcast": _broadcast,
    "elementwise broadcast float32": lambda: _broadcast("float32"),
    "softmax": _softmax,
    "reductions": _reduce,
    "mean over the first axis": _mean_first_axis,
    "transpose / reshape": _transpose,
    "strided slice (a view keeps its input)": _slice_keeps_input,
    "int8 input": _int8,
    "conv NHWC (TensorFlow)": _nhwc_conv,
    "depthwise conv, HWCN filter (TensorFlow)": _tf_depthwise,
    "conv transpose": _deconv,
    "conv, FixPipe PRelu + residual + PRelu": _fixpipe_prelu,
    "activations (LeakyRelu, PRelu, Elu, Gelu)": _activations,
    "batch norm": _batch_norm,
    "scale, bias, AddN": _scale_bias,
    "NHWC pool and resize": _nhwc_pool_resize,
    "global pool, argmax, casts": _argmax_casts,
    "argmax over a middle axis, float32": _argmax_inner,
    "argmax with value over the first axis, float16": lambda: _argmax_inner("float16", "ArgMaxWithValue", 0),
}
