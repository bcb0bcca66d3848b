"""Convolutions: Conv2D (grouped, dilated, fused), DepthwiseConv2D, Conv2DTransposeD, Conv2DBackpropInputD.

Computed in NCHW / OIHW float32 with one im2col GEMM per group (1x1 stride-1 convs skip the
im2col; depthwise convs accumulate shifted slices instead). Geometry comes from the attrs
when fusion kept them, else from shapes (`..geometry`). Every plan checks that its geometry
reproduces the output shape the file declares.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..geometry import Axis, out_size, solve, transpose_solve
from ..graph import Desc
from ..registry import OpView, Unsupported, logical_count, register
from ._util import UFUNC_BUFFERS, broadcast_within, f32, from_nchw, per_channel, spatial_format, to_nchw
from .fused import plan_post


def nchw_shape(desc: Desc) -> tuple[int, int, int, int]:
    shape = desc.logical_shape
    if len(shape) != 4:
        raise Unsupported(f"expected a 4-D tensor, the file declares {desc.text()}")
    fmt = desc.logical_format
    if fmt == "NHWC":
        return shape[0], shape[3], shape[1], shape[2]
    if fmt == "HWCN":
        return shape[3], shape[2], shape[0], shape[1]
    return shape[0], shape[1], shape[2], shape[3]


def _hw(values: list, fmt: Optional[str]) -> tuple[int, int]:
    if len(values) == 2:
        return int(values[0]), int(values[1])
    if len(values) == 4:
        return (int(values[1]), int(values[2])) if fmt == "NHWC" else (int(values[2]), int(values[3]))
    raise ValueError(values)


def read_geometry(op: OpView, size: tuple[int, int], out: tuple[int, int], k: tuple[int, int],
                  transpose: bool = False) -> tuple[Axis, Axis]:
    """(H axis, W axis) from the attrs when they reproduce the declared shape, else solved from shapes."""
    strides, pads, dilations = op.attr("strides"), op.attr("pads"), op.attr("dilations")
    kept = isinstance(strides, list) and isinstance(pads, list) and len(pads) == 4
    if kept:
        attr_fmt = op.attr("data_format")
        formats = [attr_fmt] if attr_fmt in ("NCHW", "NHWC") else []
        formats += [f for f in ("NCHW", "NHWC") if f not in formats]
        for fmt in formats:
            try:
                sh, sw = _hw(strides, fmt)
                dh, dw = _hw(dilations, fmt) if isinstance(dilations, list) and dilations else (1, 1)
            except ValueError:
                continue
            axes = (Axis(sh, int(pads[0]), int(pads[1]), dh), Axis(sw, int(pads[2]), int(pads[3]), dw))
            got = tuple(_forward_or_transpose(size[i], k[i], axes[i], transpose, out[i]) for i in (0, 1))
            if got == tuple(out):
                if attr_fmt in ("NCHW", "NHWC") and fmt != attr_fmt:
                    op.note(f"strides/dilations read in {fmt} order although data_format says {attr_fmt} "
                            "(that order reproduces the declared output shape)")
                return axes
        op.note(f"strides {strides} / pads {pads} do not give the declared output {list(out)}; "
                "geometry solved from shapes instead")
    solved = []
    guessed = []
    for i, label in ((0, "H"), (1, "W")):
        try:
            axis, determined, text = (transpose_solve if transpose else solve)(size[i], out[i], k[i], op.framework)
        except ValueError as exc:
            raise Unsupported(str(exc)) from None
        solved.append(axis)
        if not determined:
            guessed.append(f"{label}: {text}")
    if guessed:
        op.note("strides/pads not in the file (erased by fusion); solved from shapes as "
                + "; ".join(guessed) + ", dilation assumed 1")
    return solved[0], solved[1]


def _forward_or_transpose(size: int, k: int, axis: Axis, transpose: bool, want: int) -> int:
    if not transpose:
        return out_size(size, k, axis)
    full = (size - 1) * axis.stride + axis.dilation * (k - 1) + 1
    # a transposed conv's output_padding adds up to stride-1 rows at the end
    cropped = full - axis.before - axis.after
    return want if cropped <= want < cropped + axis.stride else cropped


# ----------------------------------------------------------------------------- kernels
def conv_nchw(x: np.ndarray, w: np.ndarray, ah: Axis, aw: Axis, groups: int) -> np.ndarray:
    """Cross-correlation of x [N,C,H,W] with w [O, C/groups, kh, kw]."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = out_size(h, kh, ah), out_size(wd, kw, aw)
    if ah.before or ah.after or aw.before or aw.after:
        x = np.pad(x, ((0, 0), (0, 0), (ah.before, ah.after), (aw.before, aw.after)))
    if groups == c and cg == 1 and groups > 1:
        return _depthwise(x, w, ah, aw, ho, wo)
    out = np.empty((n, o, ho * wo), np.float32)
    og = o // groups
    for b in range(n):
        cols = _im2col(x[b], kh, kw, ah, aw, ho, wo)  # [C*kh*kw, ho*wo]
        for g in range(groups):
            wmat = w[g * og:(g + 1) * og].reshape(og, cg * kh * kw)
            rows = cols[g * cg * kh * kw:(g + 1) * cg * kh * kw]
            np.matmul(wmat, rows, out=out[b, g * og:(g + 1) * og])
    return out.reshape(n, o, ho, wo)


def _im2col(x: np.ndarray, kh: int, kw: int, ah: Axis, aw: Axis, ho: int, wo: int) -> np.ndarray:
    c = x.shape[0]
    if kh == kw == 1 and ah.stride == aw.stride == 1:
        return np.ascontiguousarray(x[:, :ho, :wo]).reshape(c, ho * wo)
    x = np.ascontiguousarray(x)
    sc, sh, sw = x.strides
    view = as_strided(x, (c, kh, kw, ho, wo),
                      (sc, sh * ah.dilation, sw * aw.dilation, sh * ah.stride, sw * aw.stride), writeable=False)
    return view.reshape(c * kh * kw, ho * wo)


def _depthwise(x: np.ndarray, w: np.ndarray, ah: Axis, aw: Axis, ho: int, wo: int) -> np.ndarray:
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    mult = o // c
    out = np.zeros((n, c, mult, ho, wo), np.float32)
    wk = w.reshape(c, mult, kh, kw)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * ah.dilation, j * aw.dilation
            patch = x[:, :, r0:r0 + ah.stride * (ho - 1) + 1:ah.stride, c0:c0 + aw.stride * (wo - 1) + 1:aw.stride]
            out += patch[:, :, None] * wk[None, :, :, i, j, None, None]
    return out.reshape(n, o, ho, wo)


def conv_transpose_nchw(x: np.ndarray, w: np.ndarray, ah: Axis, aw: Axis, groups: int,
                        out_hw: tuple[int, int]) -> np.ndarray:
    """Transposed conv of x [N,Cin,H,W] with w [Cin, Cout/groups, kh, kw], cropped to `out_hw`."""
    n, cin, h, wd = x.shape
    _, cog, kh, kw = w.shape
    full_h = (h - 1) * ah.stride + ah.dilation * (kh - 1) + 1
    full_w = (wd - 1) * aw.stride + aw.dilation * (kw - 1) + 1
    need_h, need_w = ah.before + out_hw[0], aw.before + out_hw[1]
    full = np.zeros((n, groups * cog, max(full_h, need_h), max(full_w, need_w)), np.float32)
    cig = cin // groups
    for b in range(n):
        for g in range(groups):
            wmat = w[g * cig:(g + 1) * cig].reshape(cig, cog * kh * kw)
            cols = (wmat.T @ x[b, g * cig:(g + 1) * cig].reshape(cig, h * wd)).reshape(cog, kh, kw, h, wd)
            target = full[b, g * cog:(g + 1) * cog]
            for i in range(kh):
                for j in range(kw):
                    r0, c0 = i * ah.dilation, j * aw.dilation
                    target[:, r0:r0 + ah.stride * (h - 1) + 1:ah.stride,
                           c0:c0 + aw.stride * (wd - 1) + 1:aw.stride] += cols[:, i, j]
    return full[:, :, ah.before:need_h, aw.before:need_w]


# ----------------------------------------------------------------------------- planners
def _weight_desc_check(op: OpView, slot: int) -> Desc:
    wd = op.inp(slot)
    if not wd.present:
        raise Unsupported(f"the filter (input {slot}) is absent")
    if wd.layout not in ("FRACTAL_Z", "NCHW", "NHWC", "HWCN", "ND"):
        raise Unsupported(f"filter layout {wd.layout} is not decoded")
    if wd.dtype not in ("float16", "float32"):
        raise Unsupported(f"a {wd.dtype} filter (quantized conv) is not computed")
    return wd


def _weights_held(op: OpView, slot: int) -> int:
    """Bytes of the filter as the kernel uses it: float32, made contiguous in OIHW."""
    wd = op.inp(slot)
    moved = wd.logical_format in ("NHWC", "HWCN")  # to_nchw transposes, ascontiguousarray copies
    return op.f32(slot) + (4 * logical_count(wd) if moved else 0)


def _conv_held(op: OpView, x: tuple[int, int, int, int], y: tuple[int, int, int], k: tuple[int, int],
               axes: tuple[Axis, Axis], groups: int, fmt_in: str, fmt_out: str, post_held: int) -> int:
    """Bytes `conv2d`'s kernel holds at once: the float32 input and filter throughout, then the
    larger of the convolution (the zero-padded input, the output, one batch item's im2col
    columns, two of them while the next item's are made) and what follows it (the fused
    post-ops beside the output, the NHWC copy of the result)."""
    n, c, h, w = x
    o, ho, wo = y
    (kh, kw), (ah, aw) = k, axes
    pads = ah.before + ah.after + aw.before + aw.after
    padded = n * c * (h + ah.before + ah.after) * (w + aw.before + aw.after) if pads else 0
    out = n * o * ho * wo
    if groups == c and groups > 1:  # depthwise: the output and one tap's product (of a strided slice)
        conv = padded + 2 * out + UFUNC_BUFFERS // 4
    else:
        strided = fmt_in == "NHWC" and not pads  # x[b] is a transposed view: made contiguous first
        if kh == kw == 1 and ah.stride == aw.stride == 1:
            cols = c * ho * wo if strided or (ho, wo) != (h, w) else 0
        else:
            cols = c * kh * kw * ho * wo + (c * h * w if strided else 0)
        conv = padded + out + cols * (2 if n > 1 else 1)
    after = max(post_held, 4 * out if fmt_out == "NHWC" else 0)
    return op.f32(0) + _weights_held(op, 1) + max(4 * conv, 4 * out + after)


@register("Conv2D", "DepthwiseConv2D", "Conv2DCompress")
def conv2d(op: OpView):
    xd, od = op.inp(0), op.out(0)
    wd = _weight_desc_check(op, 1)
    n, c, h, w = nchw_shape(xd)
    _, o, ho, wo = nchw_shape(od)
    wshape = nchw_shape(wd)
    depthwise = op.type == "DepthwiseConv2D"
    if depthwise and wd.logical_format == "HWCN":  # TF depthwise: [kh, kw, C, multiplier]
        kh, kw = wd.logical_shape[0], wd.logical_shape[1]
        groups = c
    else:
        kh, kw = wshape[2], wshape[3]
        groups = int(op.attr("groups", 1) or 1)
        if depthwise:
            groups = c
        if wshape[1] * groups != c:
            if wshape[1] and c % wshape[1] == 0:
                op.note(f"groups {groups} does not fit C={c} and a filter of {wshape[1]} channels; "
                        f"used {c // wshape[1]}")
                groups = c // wshape[1]
            else:
                raise Unsupported(f"a filter of {list(wshape)} cannot convolve {c} channels")
    ah, aw = read_geometry(op, (h, w), (ho, wo), (kh, kw))
    fmt_in, fmt_out, wfmt = spatial_format(xd.logical_format), spatial_format(od.logical_format), wd.logical_format
    post, post_held = plan_post(op)
    op.cost(macs=n * o * ho * wo * (c // max(groups, 1)) * kh * kw,
            held=_conv_held(op, (n, c, h, w), (o, ho, wo), (kh, kw), (ah, aw), groups, fmt_in, fmt_out, post_held),
            loops=kh * kw if groups == c and groups > 1 else n * max(groups, 1))  # depthwise: per tap
    has_bias = op.present(2)

    def kernel(xs):
        x = to_nchw(f32(xs[0]), fmt_in)
        if depthwise and wfmt == "HWCN":
            k = f32(xs[1])  # [kh, kw, C, m] -> [C*m, 1, kh, kw]
            wt = k.transpose(2, 3, 0, 1).reshape(-1, 1, kh, kw)
        else:
            wt = to_nchw(f32(xs[1]), wfmt)
        y = conv_nchw(x, np.ascontiguousarray(wt), ah, aw, groups)
        if has_bias:
            y += per_channel(f32(xs[2]).reshape(-1))
        if post is not None:
            y = post(y, xs)
        return from_nchw(y, fmt_out)

    return kernel


@register("Conv2DTransposeD", "Conv2DTranspose", "Conv2DBackpropInputD", "Deconvolution")
def conv_transpose(op: OpView):
    backprop = op.type == "Conv2DBackpropInputD"
    x_slot, w_slot = (1, 0) if backprop else (0, 1)
    xd, od = op.inp(x_slot), op.out(0)
    wd = _weight_desc_check(op, w_slot)
    n, c, h, w = nchw_shape(xd)
    _, o, ho, wo = nchw_shape(od)
    wshape = nchw_shape(wd)  # [Cin_x, Cout/groups, kh, kw]
    kh, kw = wshape[2], wshape[3]
    groups = int(op.attr("groups", 1) or 1)
    if wshape[0] != c or wshape[1] * groups != o:
        raise Unsupported(f"a filter of {list(wshape)} does not map {c} to {o} channels with groups {groups}")
    ah, aw = read_geometry(op, (h, w), (ho, wo), (kh, kw), transpose=True)
    full = n * o * max((h - 1) * ah.stride + ah.dilation * (kh - 1) + 1, ah.before + ho) * max(
        (w - 1) * aw.stride + aw.dilation * (kw - 1) + 1, aw.before + wo)
    fmt_in, fmt_out, wfmt = spatial_format(xd.logical_format), spatial_format(od.logical_format), wd.logical_format
    post, post_held = plan_post(op)
    out = n * o * ho * wo
    # the uncropped output and one group's columns; then the cropped result made contiguous (or
    # plus its bias) beside it; then the post-ops, the NHWC copy
    cols = wshape[1] * kh * kw * h * w + (c // max(groups, 1) * h * w if fmt_in == "NHWC" else 0)
    # (each tap is added into a strided slice of the uncropped output: numpy buffers it)
    phases = (4 * (full + cols) + UFUNC_BUFFERS, 4 * (full + out), 4 * out + post_held,
              8 * out if fmt_out == "NHWC" else 0)
    op.cost(macs=n * c * h * w * wshape[1] * kh * kw, held=op.f32(x_slot) + _weights_held(op, w_slot) + max(phases),
            loops=n * max(groups, 1) * kh * kw)
    has_bias = not backprop and op.present(2)

    def kernel(xs):
        x = to_nchw(f32(xs[x_slot]), fmt_in)
        wt = np.ascontiguousarray(to_nchw(f32(xs[w_slot]), wfmt))
        y = conv_transpose_nchw(x, wt, ah, aw, groups, (ho, wo))
        if has_bias:
            bias = per_channel(f32(xs[2]).reshape(-1))
            broadcast_within(op, y, bias)
            y = y + bias
        if post is not None:
            y = post(y, xs)
        return from_nchw(np.ascontiguousarray(y), fmt_out)

    return kernel

