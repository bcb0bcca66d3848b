"""Pooling: MaxPool, MaxPoolV3, AvgPool, AvgPoolV2, Caffe Pooling, global pools; NCHW float32."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..geometry import Axis, out_size
from ..registry import OpView, Unsupported, register
from ._util import UFUNC_BUFFERS, f32, from_nchw, spatial_format, to_nchw
from .conv import _hw, nchw_shape


def pool_nchw(x: np.ndarray, kh: int, kw: int, ah: Axis, aw: Axis, ho: int, wo: int, kind: str,
              exclusive: bool = True) -> np.ndarray:
    """Max or average pooling; pads (and ceil-mode overhang) never win a max and, if `exclusive`, never count."""
    n, c, h, w = x.shape
    extra_h = max((ho - 1) * ah.stride + kh - (h + ah.before + ah.after), 0)
    extra_w = max((wo - 1) * aw.stride + kw - (w + aw.before + aw.after), 0)
    pad = ((0, 0), (0, 0), (ah.before, ah.after + extra_h), (aw.before, aw.after + extra_w))
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, pad, constant_values=fill) if any(p for pair in pad for p in pair) else x
    windows = _windows(np.ascontiguousarray(xp), kh, kw, ah.stride, aw.stride, ho, wo)
    if kind == "max":
        return windows.max(axis=(4, 5))
    total = windows.sum(axis=(4, 5), dtype=np.float32)
    if exclusive:
        ones = np.pad(np.ones((1, 1, h, w), np.float32), pad)
        counts = _windows(ones, kh, kw, ah.stride, aw.stride, ho, wo).sum(axis=(4, 5))
    else:  # padding counts, the overhang of ceil mode does not
        ones = np.pad(np.ones((1, 1, h + ah.before + ah.after, w + aw.before + aw.after), np.float32),
                      ((0, 0), (0, 0), (0, extra_h), (0, extra_w)))
        counts = _windows(ones, kh, kw, ah.stride, aw.stride, ho, wo).sum(axis=(4, 5))
    return total / np.maximum(counts, 1)


def _windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int) -> np.ndarray:
    n, c = x.shape[:2]
    s = x.strides
    return as_strided(x, (n, c, ho, wo, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]), writeable=False)


def _same(size: int, k: int, s: int) -> Axis:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return Axis(s, total // 2, total - total // 2)


def _plan_pool(op: OpView, kind: str, ksize, strides, mode: str, pads, fmt_attr, ceil: bool, global_pool: bool,
               exclusive: bool = True):
    xd, od = op.inp(0), op.out(0)
    n, c, h, w = nchw_shape(xd)
    _, _, ho, wo = nchw_shape(od)
    fmt_in, fmt_out = spatial_format(xd.logical_format), spatial_format(od.logical_format)
    fmt = fmt_attr if fmt_attr in ("NCHW", "NHWC") else fmt_in
    if global_pool:
        kh, kw, ah, aw = h, w, Axis(1, 0, 0), Axis(1, 0, 0)
    else:
        if not isinstance(ksize, list):
            raise Unsupported("ksize is not in the file")
        kh, kw = _hw(ksize, fmt)
        sh, sw = _hw(strides, fmt) if isinstance(strides, list) else (1, 1)
        if mode == "SAME":
            ah, aw = _same(h, kh, sh), _same(w, kw, sw)
        elif mode == "VALID":
            ah, aw = Axis(sh, 0, 0), Axis(sw, 0, 0)
        else:
            p = [int(v) for v in pads] if isinstance(pads, list) and len(pads) == 4 else [0, 0, 0, 0]
            ah, aw = Axis(sh, p[0], p[1]), Axis(sw, p[2], p[3])
    got = [(out_size(h, kh, ah, m), out_size(w, kw, aw, m)) for m in (ceil, not ceil)]
    if got[0] != (ho, wo):
        if got[1] == (ho, wo):
            op.note(f"ceil_mode={ceil} gives {list(got[0])}, the file declares {[ho, wo]}; used ceil_mode={not ceil}")
        else:
            raise Unsupported(f"window {kh}x{kw} with strides {ah.stride},{aw.stride} does not give {[ho, wo]}")
    hp = max(h + ah.before + ah.after, (ho - 1) * ah.stride + kh)
    wp = max(w + aw.before + aw.after, (wo - 1) * aw.stride + kw)
    out = n * c * ho * wo
    # the padded input (np.pad), or the input made contiguous when it is an NHWC view
    padded = n * c * hp * wp if (hp, wp) != (h, w) else (n * c * h * w if fmt_in == "NHWC" else 0)
    if kind == "max":
        pooled = padded + out
    else:  # the sum, its divisor counted over a padded plane of ones, the quotient
        pooled = padded + 2 * out + h * w + hp * wp + 2 * ho * wo
    held = op.f32(0) + 4 * max(pooled, 2 * out if fmt_out == "NHWC" else 0) + UFUNC_BUFFERS  # reduced over windows
    op.cost(macs=n * c * ho * wo * kh * kw, held=held)

    def kernel(xs):
        x = to_nchw(f32(xs[0]), fmt_in)
        return from_nchw(pool_nchw(x, kh, kw, ah, aw, ho, wo, kind, exclusive), fmt_out)

    return kernel


@register("MaxPoolV3", "AvgPoolV2", "MaxPoolV2")
def pool_v3(op: OpView):
    kind = "avg" if op.type == "AvgPoolV2" else "max"
    mode = str(op.attr("padding_mode", op.attr("padding", "CALCULATED")))
    return _plan_pool(op, kind, op.attr("ksize"), op.attr("strides"), mode, op.attr("pads"), op.attr("data_format"),
                      bool(op.attr("ceil_mode", False)), bool(op.attr("global_pooling", False)),
                      bool(op.attr("exclusive", True)))


@register("MaxPool", "AvgPool", "MaxPoolWithArgmax")
def pool_tf(op: OpView):
    kind = "avg" if op.type == "AvgPool" else "max"
    mode = str(op.attr("padding", "VALID"))
    return _plan_pool(op, kind, op.attr("ksize"), op.attr("strides"), mode, op.attr("pads"), op.attr("data_format"),
                      False, False)


@register("Pooling")
def pooling(op: OpView):
    """Caffe Pooling: `mode` 0 max / 1 avg, `window`, `stride`, `pad` [t,b,l,r], `ceil_mode` (0 = ceil)."""
    mode = int(op.attr("mode", 0))
    if mode not in (0, 1):
        raise Unsupported(f"pooling mode {mode} is not modelled")
    return _plan_pool(op, "max" if mode == 0 else "avg", op.attr("window"), op.attr("stride"), "CALCULATED",
                      op.attr("pad"), "NCHW", int(op.attr("ceil_mode", 0)) == 0,
                      bool(op.attr("global_pooling", False)), exclusive=False)


@register("GlobalAveragePool", "GlobalMaxPool")
def global_pool(op: OpView):
    fmt = spatial_format(op.inp(0).logical_format)
    kind = "max" if op.type == "GlobalMaxPool" else "mean"
    op.cost(held=op.f32(0) + 2 * op.out32())

    def kernel(xs):
        x = to_nchw(f32(xs[0]), fmt)
        y = x.max(axis=(2, 3), keepdims=True) if kind == "max" else x.mean(axis=(2, 3), keepdims=True)
        return from_nchw(y, fmt)

    return kernel
