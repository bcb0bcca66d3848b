"""What fusion folded into an op: the post-op tail of a conv / matmul, and AutomaticBufferFusionOp.

The file keeps the head op's type; the tail survives only as `_datadump_original_op_types`
(ATC 7.x), or as the snake-case kernel name ``te_fused_op_<types>_<hash>`` (older builds),
om-execution.md §7. FixPipe (13-input convs) has fixed input slots: x2 at 4 (the residual),
then per stage k = 0, 1: quant_scale_k, relu_weight_k, clip_value_k, and anti-quant at 11, 12.
What checked out numerically: conv -> act0 -> + x2 -> act1, where an act is PReLU with
relu_weight_k when present, else ReLU (clipped by clip_value_k: Relu6).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy as np

from ..registry import OpView, Unsupported, logical_count, register
from ._util import broadcast_within, channel_vector, f32, per_channel, prelu, to_nchw
from .elementwise import TEMPS, UNARY

ACTIVATIONS = frozenset({"Relu", "Relu6", "PRelu", "LeakyRelu", "Sigmoid", "Tanh", "Swish", "Gelu", "Elu"})
HEADS = frozenset({"Conv2D", "MatMul", "MatMulV2", "BatchMatMul", "BatchMatMulV2", "Conv2DTransposeD",
                   "DepthwiseConv2D", "Conv2DBackpropInputD", "FullyConnection", "FixPipe", "BiasAdd"})
# snake-case tokens of fused kernel names, longest first
_TOKENS: list[tuple[tuple[str, ...], str]] = [
    (("batch", "mat", "mul", "v2"), "BatchMatMulV2"), (("batch", "mat", "mul"), "BatchMatMul"),
    (("mat", "mul", "v2"), "MatMulV2"), (("mat", "mul"), "MatMul"), (("matmulv2",), "MatMulV2"),
    (("conv2d", "transpose", "d"), "Conv2DTransposeD"), (("conv2d", "backprop", "input", "d"), "Conv2DBackpropInputD"),
    (("depthwise", "conv2d"), "DepthwiseConv2D"), (("conv2d",), "Conv2D"), (("fix", "pipe"), "FixPipe"),
    (("bninference", "d"), "BatchNorm"), (("bn", "inference", "d"), "BatchNorm"), (("leaky", "relu"), "LeakyRelu"),
    (("bias", "add"), "BiasAdd"), (("relu6",), "Relu6"), (("relu",), "Relu"), (("prelu",), "PRelu"),
    (("sigmoid",), "Sigmoid"), (("tanh",), "Tanh"), (("swish",), "Swish"), (("gelu",), "Gelu"), (("elu",), "Elu"),
    (("add",), "Add"), (("mul",), "Mul"), (("fully", "connection"), "FullyConnection"),
]
_FIXPIPE_SLOTS = 13


def kernel_name(op: OpView) -> str:
    for key in (f"{op.name}_kernelname", "_kernelname", "_kernel_bin_id"):
        value = op.attr(key)
        if isinstance(value, str) and value:
            return value
    return ""


def kernel_types(name: str) -> list[str]:
    """Op types spelled in a ``te_fused_op_<types>_<hash>`` kernel name ([] for an unfused kernel)."""
    m = re.match(r"te_fused_op_(.*)", name)
    if not m:
        return []
    tokens = m.group(1).split("_")
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for pattern, kind in _TOKENS:
            if tuple(tokens[i: i + len(pattern)]) == pattern:
                out.append(kind)
                i += len(pattern)
                break
        else:
            break  # the hash: the types are over
    return out


def tail_types(op: OpView) -> list[str]:
    """The fused post-ops of `op`, in the order the file lists them (head excluded)."""
    recorded = op.attr("_datadump_original_op_types")
    if isinstance(recorded, list) and recorded:
        return [str(t) for t in recorded if str(t) not in HEADS]
    spelled = kernel_types(kernel_name(op))
    return [t for t in spelled[1:] if t not in HEADS]


PostOp = Callable[[np.ndarray, Sequence[Any]], np.ndarray]


def unary_bytes(kind: str, n: int) -> int:
    """Bytes an activation holds at once on `n` float32 values, its result included (`UNARY`
    functions: `TEMPS`; PReLU and LeakyRelu: the mask, x * slope and the result)."""
    if kind in ("PRelu", "LeakyRelu"):
        return 9 * n
    return 4 * n * TEMPS.get(kind, 1)


def plan_post(op: OpView, channels_axis: int = 1) -> tuple[Optional[PostOp], int]:
    """The post-op function of a fused conv / matmul (None when nothing was fused), and the bytes
    it holds at once beyond the head's output, which its caller keeps alive meanwhile.

    The function takes the head's float32 output in NCHW (or [..., N] for a matmul, with
    `channels_axis` = -1) and all of the op's inputs.
    """
    tail = tail_types(op)
    n = logical_count(op.out())
    fixpipe = op.n_inputs >= 5 and any(op.present(i) for i in range(4, op.n_inputs))
    if fixpipe:
        return _plan_fixpipe(op, tail, channels_axis, n)
    # a BatchNorm in the tail with no inputs of its own was folded into the weights and bias
    # (the Conv*BatchnormFusionPass passes), so it computes nothing here
    tail = [t for t in tail if t != "BatchNorm"]
    if not tail:
        return None, 0
    steps: list[Callable[[np.ndarray], np.ndarray]] = []
    held = 0
    for k, t in enumerate(tail):  # each step's result is made while the previous one is alive
        held = max(held, (4 * n if k else 0) + unary_bytes(t, n))
    for t in tail:
        if t == "LeakyRelu":
            slope = op.attr("negative_slope")
            if slope is None:
                op.note("fused LeakyRelu's negative_slope is not in the file; assumed 0.2 (TensorFlow's default)")
                slope = 0.2
            s = np.float32(slope)
            steps.append(lambda y, s=s: np.where(y >= 0, y, y * s))
        elif t in UNARY:
            steps.append(UNARY[t])
        else:
            raise Unsupported(f"fused post-op {t} has no inputs of its own in the file; it cannot be computed")

    def post(y: np.ndarray, xs: Sequence[Any]) -> np.ndarray:
        for step in steps:
            y = step(y)
        return y

    return post, held


def _plan_fixpipe(op: OpView, tail: list[str], channels_axis: int, n: int) -> tuple[PostOp, int]:
    for slot, what in ((5, "quant_scale_0"), (8, "quant_scale_1"), (11, "anti_quant_scale"), (12, "anti_quant_offset")):
        if op.present(slot):
            raise Unsupported(f"FixPipe {what} is set: quantized convolutions are not computed")
    acts = [t for t in tail if t in ACTIVATIONS]
    unknown = [t for t in tail if t not in ACTIVATIONS and t not in ("Add", "BatchNorm", "FixPipe", "Conv2D")]
    if unknown:
        raise Unsupported(f"fused post-ops {unknown} of a FixPipe conv are not modelled")
    residual = op.present(4)
    stage = [op.present(6), op.present(9)]
    clips = [op.present(7), op.present(10)]
    plan: list[Optional[str]] = [None, None]  # activation of stage 0 (before + x2) and stage 1 (after)
    if residual:
        if len(acts) >= 2:
            plan = [acts[0], acts[1]]
            if stage[0] or stage[1]:
                plan = ["PRelu" if stage[0] else _plain(acts, 0), "PRelu" if stage[1] else _plain(acts, 1)]
        elif len(acts) == 1:
            if stage[0] and not stage[1]:
                plan = ["PRelu", None]
            elif stage[1] and not stage[0]:
                plan = [None, "PRelu"]
            else:
                before = tail.index(acts[0]) < tail.index("Add") if "Add" in tail else False
                plan = [acts[0], None] if before else [None, acts[0]]
                op.note(f"FixPipe: whether {acts[0]} runs before or after the residual add is not recorded; "
                        f"assumed {'before' if before else 'after'} (the order of _datadump_original_op_types)")
    else:
        if len(acts) > 1:
            op.note(f"FixPipe: {len(acts)} activations {acts} without a residual input; applied in the listed order")
        plan = [acts[0] if acts else None, None]
        if stage[0]:
            plan[0] = "PRelu"
    for k in (0, 1):
        if plan[k] == "PRelu" and not stage[k]:
            raise Unsupported(f"FixPipe: a PRelu is fused but relu_weight_{k} is absent")
    acts = [0, 0]  # bytes each stage holds: its activation, then the clip made from its result
    for k in (0, 1):
        kind = plan[k]
        if kind is not None:
            acts[k] = max(unary_bytes(kind, n), 8 * n if clips[k] else 0)
    kept = 4 * n if plan[0] is not None else 0  # stage 0's result (else the head's own output)
    x2 = op.f32(4) + (4 * n if residual else 0)  # the residual as float32, and y + x2
    held = max(acts[0], kept + x2, x2 + acts[1]) if residual else max(acts[0], kept + acts[1])

    def act(y: np.ndarray, kind: Optional[str], k: int, xs: Sequence[Any]) -> np.ndarray:
        if kind is None:
            return y
        if kind == "PRelu":
            channels = y.shape[channels_axis]
            w = channel_vector(xs[6 + 3 * k], channels, f"relu_weight_{k}")
            if channels_axis == 1:
                y = prelu(y, w)
            else:
                y = np.where(y >= 0, y, y * w)
        elif kind in UNARY:
            y = UNARY[kind](y)
        else:
            raise ValueError(kind)
        if clips[k]:
            y = np.minimum(y, f32(xs[7 + 3 * k]).reshape(-1)[0])
        return y

    def post(y: np.ndarray, xs: Sequence[Any]) -> np.ndarray:
        y = act(y, plan[0], 0, xs)
        if residual:
            x2 = _residual(xs[4], op)
            broadcast_within(op, y, x2)
            y = y + x2
        return act(y, plan[1], 1, xs)

    return post, held


def _plain(acts: list[str], k: int) -> Optional[str]:
    kind = acts[k] if k < len(acts) else None
    return "Relu" if kind == "PRelu" else kind


def _residual(x2: Any, op: OpView) -> np.ndarray:
    x = f32(x2)
    return to_nchw(x, op.inp(4).logical_format) if x.ndim == 4 else x


# ----------------------------------------------------------------------------- vector-unit chains
@register("AutomaticBufferFusionOp")
def automatic_buffer_fusion(op: OpView):
    """Vector-unit chains; the two folded forms seen in ATC 7.x files (om-execution.md §7)."""
    types = [str(t) for t in op.attr("_datadump_original_op_types", []) or []]
    fmt = op.inp(0).logical_format
    n = max(logical_count(op.out()), logical_count(op.inp(0)))

    def nchw(x):
        x = f32(x)
        return to_nchw(x, fmt) if x.ndim == 4 else x

    def back(y):
        return y.transpose(0, 2, 3, 1) if y.ndim == 4 and fmt == "NHWC" else y

    if types == ["BatchNorm", "PRelu"] and op.n_inputs == 4:
        # HostBNFusionPass: y = PReLU((x + c1) * c2, w), c2 = gamma/sqrt(var+eps), c1 = beta/c2 - mean
        def bn_prelu(xs):
            x = nchw(xs[0])
            c = x.shape[1]
            c1 = per_channel(channel_vector(xs[1], c, "the folded BN shift"), x.ndim)
            c2 = per_channel(channel_vector(xs[2], c, "the folded BN scale"), x.ndim)
            return back(prelu((x + c1) * c2, channel_vector(xs[3], c, "the PReLU weight")))

        op.cost(held=op.f32(0) + sum(op.f32(i) for i in (1, 2, 3)) + 4 * n + unary_bytes("PRelu", n))
        return bn_prelu
    if len(types) == 2 and types[0] in ("Add", "Mul", "Sub") and types[1] in ACTIVATIONS and op.n_inputs in (2, 3):
        combine = {"Add": np.add, "Mul": np.multiply, "Sub": np.subtract}[types[0]]
        activation = types[1]
        if activation == "PRelu" and op.n_inputs != 3:
            raise Unsupported("a fused PRelu without its weight input")

        op.cost(held=op.f32(0) + op.f32(1) + op.f32(2) + 4 * n + unary_bytes(activation, n))

        def binary_act(xs):
            a, b = nchw(xs[0]), nchw(xs[1])
            broadcast_within(op, a, b)
            y = combine(a, b)
            if activation == "PRelu":
                return back(prelu(y, channel_vector(xs[2], y.shape[1], "the PReLU weight")))
            return back(UNARY[activation](y))

        return binary_act
    if types and all(t in UNARY for t in types) and op.n_inputs == 1:
        # each step's result is made while the previous one (at first the float32 input) is alive
        op.cost(held=max((op.f32(0) if k == 0 else 4 * n) + unary_bytes(t, n) for k, t in enumerate(types)))

        def chain(xs):
            y = f32(xs[0])
            for t in types:
                y = UNARY[t](y)
            return y

        return chain
    raise Unsupported(
        f"the fused chain {types or '(types not recorded)'} with {op.n_inputs} inputs keeps no record of how "
        "its inputs feed its ops"
    )
