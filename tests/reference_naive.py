"""Straightforward loop implementations of the ops the CPU reference computes, written independently
of it (no im2col, no strides tricks, no shared helpers), so the tests compare two different codes."""

from __future__ import annotations

import math

import numpy as np


def conv2d(x, w, stride=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), groups=1):
    """x [N,C,H,W], w [O,C/g,kh,kw], pads (top, bottom, left, right)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((n, c, h + pads[0] + pads[1], wd + pads[2] + pads[3]))
    xp[:, :, pads[0]:pads[0] + h, pads[2]:pads[2] + wd] = x
    ho = (h + pads[0] + pads[1] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + pads[2] + pads[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for b in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0
                    for ci in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                acc += xp[b, g * cg + ci, i * stride[0] + p * dil[0], j * stride[1] + q * dil[1]] \
                                    * w[oc, ci, p, q]
                    out[b, oc, i, j] = acc
    return out


def conv_transpose(x, w, stride, pads, out_hw, dil=(1, 1)):
    """x [N,Cin,H,W], w [Cin,Cout,kh,kw]: every input pixel scatters its weighted kernel."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    big = np.zeros((n, cout, (h - 1) * stride[0] + dil[0] * (kh - 1) + 1 + out_hw[0],
                    (wd - 1) * stride[1] + dil[1] * (kw - 1) + 1 + out_hw[1]))
    for b in range(n):
        for ci in range(cin):
            for i in range(h):
                for j in range(wd):
                    for p in range(kh):
                        for q in range(kw):
                            r, s = i * stride[0] + p * dil[0], j * stride[1] + q * dil[1]
                            big[b, :, r, s] += x[b, ci, i, j] * w[ci, :, p, q]
    return big[:, :, pads[0]:pads[0] + out_hw[0], pads[2]:pads[2] + out_hw[1]]


def pool(x, k, stride, pads, kind, out_hw, count_pad=False):
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    out = np.zeros((n, c) + tuple(out_hw))
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            r0, c0 = i * stride[0] - pads[0], j * stride[1] - pads[2]
            rows = [r for r in range(r0, r0 + k[0]) if 0 <= r < h]
            cols = [q for q in range(c0, c0 + k[1]) if 0 <= q < w]
            win = x[:, :, rows][:, :, :, cols]
            if kind == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:
                if count_pad:
                    rr = [r for r in range(r0, r0 + k[0]) if r < h + pads[1]]
                    cc = [q for q in range(c0, c0 + k[1]) if q < w + pads[3]]
                    count = len(rr) * len(cc)
                else:
                    count = len(rows) * len(cols)
                out[:, :, i, j] = win.sum(axis=(2, 3)) / count
    return out


def resize_bilinear(x, out_hw, align=False, half=False):
    """TensorFlow's ResizeBilinear, pixel by pixel."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    ho, wo = out_hw
    sy = (h - 1) / (ho - 1) if align and ho > 1 else h / ho
    sx = (w - 1) / (wo - 1) if align and wo > 1 else w / wo
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        fy = (i + 0.5) * sy - 0.5 if half else i * sy
        y0 = math.floor(fy)
        dy = fy - y0
        if half and fy < 0:
            dy = 0.0
        ya, yb = min(max(y0, 0), h - 1), min(max(y0 + 1, 0), h - 1)
        for j in range(wo):
            fx = (j + 0.5) * sx - 0.5 if half else j * sx
            x0 = math.floor(fx)
            dx = fx - x0
            if half and fx < 0:
                dx = 0.0
            xa, xb = min(max(x0, 0), w - 1), min(max(x0 + 1, 0), w - 1)
            top = x[:, :, ya, xa] * (1 - dx) + x[:, :, ya, xb] * dx
            bottom = x[:, :, yb, xa] * (1 - dx) + x[:, :, yb, xb] * dx
            out[:, :, i, j] = top * (1 - dy) + bottom * dy
    return out


def resize_nearest(x, out_hw, align=False, half=False):
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    ho, wo = out_hw
    sy = (h - 1) / (ho - 1) if align and ho > 1 else h / ho
    sx = (w - 1) / (wo - 1) if align and wo > 1 else w / wo

    def src(i, s, size):
        v = round(i * s) if align else math.floor((i + 0.5) * s if half else i * s)
        return min(v, size - 1)

    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, src(i, sy, h), src(j, sx, w)]
    return out


def prelu(x, slope):
    x = np.asarray(x, np.float64)
    s = np.asarray(slope, np.float64).reshape(-1)
    s = s.reshape(1, -1, 1, 1) if s.size > 1 else s[0]
    return np.where(x >= 0, x, x * s)
