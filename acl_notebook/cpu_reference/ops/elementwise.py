"""Elementwise ops: activations, arithmetic with broadcasting on logical shapes, PReLU, BatchNorm."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..registry import OpView, Unsupported, logical_count, register
from ._util import broadcast_within, channel_vector, f32, per_channel, prelu, to_nchw


def _gelu(x: np.ndarray) -> np.ndarray:
    # the tanh form, which the Ascend Gelu kernel implements
    return 0.5 * x * (1.0 + np.tanh(np.float32(math.sqrt(2.0 / math.pi)) * (x + np.float32(0.044715) * x ** 3)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Relu": lambda x: np.maximum(x, 0),
    "Relu6": lambda x: np.clip(x, 0, 6),
    "Sigmoid": _sigmoid,
    "Tanh": np.tanh,
    "Swish": lambda x: x * _sigmoid(x),
    "Gelu": _gelu,
    "Abs": np.abs,
    "Exp": np.exp,
    "Log": np.log,
    "Sqrt": np.sqrt,
    "Rsqrt": lambda x: 1.0 / np.sqrt(x),
    "Neg": np.negative,
    "Square": np.square,
    "Reciprocal": lambda x: 1.0 / x,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Round": np.round,
    "Sign": np.sign,
    "Softplus": lambda x: np.logaddexp(0, x),
    "Erf": np.vectorize(math.erf, otypes=[np.float32]),
    "HardSwish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "HardSigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "Mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
}

#: Float32 arrays of the input's size each UNARY function holds at once, its result included
#: (numpy reuses an expression's temporaries of 256 KiB and more in place, so ``1.0 / (1.0 +
#: np.exp(-x))`` holds two); 1 when not listed. Checked against tracemalloc by
#: tests/test_reference_budget.py (Erf goes through np.vectorize: a Python float per value).
TEMPS: dict[str, int] = {"Sigmoid": 2, "Swish": 2, "Gelu": 3, "Rsqrt": 2, "HardSwish": 2, "HardSigmoid": 2,
                         "Mish": 2, "Erf": 17}

BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add,
    "AddV2": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "RealDiv": np.divide,
    "Div": np.divide,
    "Maximum": np.maximum,
    "Minimum": np.minimum,
    "Pow": np.power,
    "SquaredDifference": lambda a, b: np.square(a - b),
    "FloorDiv": np.floor_divide,
}


def size32(op: OpView) -> int:
    """Bytes of one float32 array of an elementwise op's size: its input's, or its output's when
    that is larger (a broadcast)."""
    return max(4 * logical_count(op.inp(0)), op.out32())


@register(*UNARY)
def unary(op: OpView):
    fn = UNARY[op.type]
    if op.type == "Swish" and op.attr("scale", 1.0) != 1.0:
        scale = np.float32(op.attr("scale"))
        op.cost(held=op.f32(0) + 3 * size32(op))  # scale * x, then the sigmoid's two

        def scaled(xs):
            x = f32(xs[0])
            return x * _sigmoid(scale * x)

        return scaled
    op.cost(held=op.f32(0) + TEMPS.get(op.type, 1) * size32(op))
    return lambda xs: fn(f32(xs[0]))


@register("LeakyRelu")
def leaky_relu(op: OpView):
    slope = np.float32(op.attr("negative_slope", 0.0))
    n = size32(op)
    op.cost(held=op.f32(0) + n // 4 + 2 * n)  # the mask, x * slope, the result

    def kernel(xs):
        x = f32(xs[0])
        return np.where(x >= 0, x, x * slope)

    return kernel


@register("Elu")
def elu(op: OpView):
    alpha = np.float32(op.attr("alpha", 1.0))
    n = size32(op)
    op.cost(held=op.f32(0) + n // 4 + 2 * n)  # the mask, alpha * expm1(x), the result

    def kernel(xs):
        x = f32(xs[0])
        return np.where(x > 0, x, alpha * np.expm1(x))

    return kernel


@register("ClipByValue")
def clip(op: OpView):
    n = size32(op)
    op.cost(held=op.f32(0) + op.f32(1) + op.f32(2) + 2 * n)

    def kernel(xs):
        broadcast_within(op, *xs[:3])
        return np.minimum(np.maximum(f32(xs[0]), f32(xs[1])), f32(xs[2]))

    return kernel


@register(*BINARY)
def binary(op: OpView):
    fn = BINARY[op.type]
    integer = op.out().dtype not in ("float16", "float32", None)
    convert = np.asarray if integer else f32
    n = logical_count(op.out())
    temps = 2 if op.type == "SquaredDifference" else 1
    if integer:  # numpy's own result type: an int array, float64 for a division
        a, b = op.inp(0).dtype or "int64", op.inp(1).dtype or "int64"
        made = np.result_type(a, b, *([np.float64] if fn is np.divide else [])).name
        op.cost(held=temps * n * np.dtype(made).itemsize, makes=made)
    else:
        op.cost(held=op.f32(0) + op.f32(1) + temps * max(op.out32(), 4 * logical_count(op.inp(0))))

    def kernel(xs):
        broadcast_within(op, xs[0], xs[1])
        return fn(convert(xs[0]), convert(xs[1]))

    return kernel


@register("AddN")
def add_n(op: OpView):
    op.cost(held=size32(op) + max(op.f32(i) for i in range(max(op.n_inputs, 1))))

    def kernel(xs):
        total = f32(xs[0]).copy()
        for x in xs[1:]:
            if x is not None:
                total += f32(x)
        return total

    return kernel


@register("BiasAdd")
def bias_add(op: OpView):
    fmt = op.inp(0).logical_format
    nchw = op.attr("data_format", fmt) == "NCHW" or fmt == "NCHW"
    op.cost(held=op.f32(0) + op.f32(1) + size32(op))

    def kernel(xs):
        x, b = f32(xs[0]), f32(xs[1]).reshape(-1)
        if nchw and x.ndim >= 3:
            b = b.reshape((1, -1) + (1,) * (x.ndim - 2))
        broadcast_within(op, x, b)
        return x + b

    return kernel


@register("PRelu")
def prelu_op(op: OpView):
    fmt = op.inp(0).logical_format
    n = size32(op)
    op.cost(held=op.f32(0) + op.f32(1) + n // 4 + 2 * n)  # the mask, x * slope, the result

    def kernel(xs):
        x = f32(xs[0])
        if x.ndim == 4:
            nchw = to_nchw(x, fmt)
            out = prelu(nchw, channel_vector(xs[1], nchw.shape[1], "the PReLU weight"))
            return out.transpose(0, 2, 3, 1) if fmt == "NHWC" else out
        w = f32(xs[1])
        broadcast_within(op, x, w)
        return np.where(x >= 0, x, x * w)

    return kernel


@register("BatchNorm", "BNInference", "BNInferenceD", "FusedBatchNorm", "FusedBatchNormV3", "BatchNormExt2")
def batch_norm(op: OpView):
    """y = (x - mean) / sqrt(var + eps) * scale + offset, per channel.

    BatchNorm / FusedBatchNorm take (x, scale, offset, mean, variance); BNInference(D) take
    (x, mean, variance, scale?, offset?) and may have `use_global_stats` false, which is a
    training-mode op we cannot reproduce.
    """
    eps = np.float32(op.attr("epsilon", 1e-5))
    fmt = op.inp(0).logical_format
    bn_inference = op.type.startswith("BNInference")
    if op.attr("is_training", False) is True:
        raise Unsupported("is_training is set: batch statistics of a training step cannot be reproduced")
    if bn_inference:
        order = {"mean": 1, "variance": 2, "scale": 3, "offset": 4}
    else:
        order = {"scale": 1, "offset": 2, "mean": 3, "variance": 4}
    op.cost(held=op.f32(0) + size32(op) + sum(op.f32(i) for i in range(1, 5)))

    def kernel(xs):
        x = f32(xs[0])
        nchw = to_nchw(x, fmt) if x.ndim == 4 else x
        c = nchw.shape[1]
        get = {k: (channel_vector(xs[i], c, k) if i < len(xs) and xs[i] is not None else None)
               for k, i in order.items()}
        mean = get["mean"] if get["mean"] is not None else np.zeros(1, np.float32)
        var = get["variance"] if get["variance"] is not None else np.ones(1, np.float32)
        scale = get["scale"] if get["scale"] is not None else np.ones(1, np.float32)
        offset = get["offset"] if get["offset"] is not None else np.zeros(1, np.float32)
        mult = scale / np.sqrt(var + eps)
        y = nchw * per_channel(mult, nchw.ndim)
        y += per_channel(offset - mean * mult, nchw.ndim)  # in place: numpy reuses no temporary it broadcasts into
        return y.transpose(0, 2, 3, 1) if x.ndim == 4 and fmt == "NHWC" else y

    return kernel


@register("Scale")
def scale(op: OpView):
    """Caffe Scale: x * scale (+ bias), per channel along `axis` (default 1)."""
    axis = int(op.attr("axis", 1))
    op.cost(held=op.f32(0) + op.f32(1) + op.f32(2) + (2 if op.present(2) else 1) * size32(op))

    def kernel(xs):
        x = f32(xs[0])
        shape = [1] * x.ndim
        s = f32(xs[1]).reshape(-1)
        shape[axis] = s.size
        s = s.reshape(shape)
        broadcast_within(op, x, s)
        y = x * s
        if len(xs) > 2 and xs[2] is not None:
            y = y + f32(xs[2]).reshape(shape)
        return y

    return kernel
