"""Matrix products: MatMul(V2), BatchMatMul(V2) and FullyConnection, with fused bias and post-ops."""

from __future__ import annotations

from math import prod

import numpy as np

from ..registry import OpView, Unsupported, register
from ._util import broadcast_within, f32
from .fused import plan_post


def _flags(op: OpView, names: tuple[str, ...]):
    for name in names:
        if op.has(name):
            return bool(op.attr(name))
    return None


def _solve_transposes(op: OpView, a: tuple, b: tuple, out: tuple, t1, t2) -> tuple[bool, bool]:
    """Transpose flags that fit the shapes; fusion may have dropped them (om-execution.md §7)."""
    def fits(ta: bool, tb: bool) -> bool:
        m, k = (a[-1], a[-2]) if ta else (a[-2], a[-1])
        k2, n = (b[-1], b[-2]) if tb else (b[-2], b[-1])
        return k == k2 and (m, n) == (out[-2], out[-1])

    options = [(ta, tb) for ta in (False, True) for tb in (False, True)
               if (t1 is None or ta == t1) and (t2 is None or tb == t2) and fits(ta, tb)]
    if not options:
        raise Unsupported(f"no transpose flags multiply {list(a)} by {list(b)} into {list(out)}")
    if len(options) > 1 and (t1 is None or t2 is None):
        op.note(f"transpose flags are not in the file and the shapes allow {len(options)} choices; "
                f"assumed transpose_x1={options[0][0]}, transpose_x2={options[0][1]}")
    return options[0]


def _matrix(shape: tuple) -> tuple:
    return shape if len(shape) >= 2 else (1,) + tuple(shape)


def _product_held(op: OpView, w_slot: int, has_bias: bool, post_held: int) -> int:
    """Bytes a matrix product's kernel holds at once: both operands as float32 throughout, the
    product, and beside it the product plus bias, or the post-ops."""
    out = op.out32()
    return op.f32(0) + op.f32(w_slot) + out + max(out if has_bias else 0, post_held)


def _finish(op: OpView, y: np.ndarray, xs: list, has_bias: bool, post) -> np.ndarray:
    """The product plus the bias in slot 2 (one value per output column), then the fused post-ops."""
    if has_bias:
        bias = f32(xs[2]).reshape(-1)
        broadcast_within(op, y, bias)
        y = y + bias
    return post(y, xs) if post is not None else y


@register("MatMul", "MatMulV2", "BatchMatMul", "BatchMatMulV2", "MatMulV3", "BatchMatMulV3")
def matmul(op: OpView):
    a, b, out = _matrix(op.inp(0).logical_shape), _matrix(op.inp(1).logical_shape), _matrix(op.out().logical_shape)
    t1 = _flags(op, ("transpose_x1", "adj_x1", "transpose_a"))
    t2 = _flags(op, ("transpose_x2", "adj_x2", "transpose_b"))
    ta, tb = _solve_transposes(op, a, b, out, t1, t2)
    has_bias = op.present(2) and op.inp(2).present
    if op.inp(0).dtype not in ("float16", "float32") or op.inp(1).dtype not in ("float16", "float32"):
        raise Unsupported(f"{op.inp(1).dtype} operands (quantized matmul) are not computed")
    post, post_held = plan_post(op, channels_axis=-1)
    out_shape = op.out().logical_shape
    op.cost(macs=prod(max(d, 0) for d in out) * max(a[-2] if ta else a[-1], 0),
            held=_product_held(op, 1, has_bias, post_held))

    def kernel(xs):
        x = f32(xs[0]).reshape(a)
        w = f32(xs[1]).reshape(b)
        if ta:
            x = np.swapaxes(x, -1, -2)
        if tb:
            w = np.swapaxes(w, -1, -2)
        # batch dims broadcast: [B,1,M,K] @ [1,B,K,N] is B*B products, whatever the file declares
        broadcast_within(op, x[..., :1], w[..., :1, :])
        return _finish(op, np.matmul(x, w), xs, has_bias, post).reshape(out_shape)

    return kernel


@register("FullyConnection", "InnerProduct")
def fully_connection(op: OpView):
    """Caffe-style: y = flatten(x from `axis`) . W^T + b, W = [num_output, K] unless `transpose`."""
    axis = int(op.attr("axis", 1))
    transpose = bool(op.attr("transpose", False))
    has_bias = op.present(2)
    out_shape = op.out().logical_shape
    post, post_held = plan_post(op, channels_axis=-1)
    rows = max(prod(op.inp(0).logical_shape[:axis]), 1)
    op.cost(macs=op.out().count * (op.inp(0).count // rows), held=_product_held(op, 1, has_bias, post_held))

    def kernel(xs):
        x = f32(xs[0])
        x2 = x.reshape(int(np.prod(x.shape[:axis])), -1)
        w = f32(xs[1])
        w2 = w.reshape(-1, x2.shape[1]).T if not transpose else w.reshape(x2.shape[1], -1)
        return _finish(op, x2 @ w2, xs, has_bias, post).reshape(out_shape)

    return kernel
