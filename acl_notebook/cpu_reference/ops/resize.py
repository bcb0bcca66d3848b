"""Image resizes with TensorFlow's sampling rules (what ATC records, om-execution.md §8)."""

from __future__ import annotations

import numpy as np

from ..registry import OpView, register
from ._util import f32, from_nchw, spatial_format, to_nchw
from .conv import nchw_shape


def _bilinear_axis(size: int, out: int, align: bool, half: bool):
    """Lower index, upper index and weight of the upper sample for each output position."""
    scale = (size - 1) / (out - 1) if align and out > 1 else size / out
    dst = np.arange(out, dtype=np.float64)
    src = (dst + 0.5) * scale - 0.5 if half else dst * scale
    low_f = np.floor(src)
    frac = (src - low_f).astype(np.float32)
    low = np.clip(low_f.astype(np.int64), 0, size - 1)
    high = np.clip(low_f.astype(np.int64) + 1, 0, size - 1)
    if half:
        frac = np.where(src < 0, np.float32(0), frac)
    return low, high, frac


def _nearest_axis(size: int, out: int, align: bool, half: bool):
    scale = (size - 1) / (out - 1) if align and out > 1 else size / out
    dst = np.arange(out, dtype=np.float64)
    if align:
        src = np.round(dst * scale)
    elif half:
        src = np.floor((dst + 0.5) * scale)
    else:
        src = np.floor(dst * scale)
    return np.clip(src.astype(np.int64), 0, size - 1)


def resize_nchw(x: np.ndarray, ho: int, wo: int, mode: str, align: bool, half: bool) -> np.ndarray:
    h, w = x.shape[2], x.shape[3]
    if mode == "nearest":
        return x[:, :, _nearest_axis(h, ho, align, half)][:, :, :, _nearest_axis(w, wo, align, half)]
    # in place: a fancy-indexed array views numpy's own buffer, so numpy would not reuse it for
    # `a * w + b * v`, and each pass would hold three arrays instead of two
    lo, hi, fh = _bilinear_axis(h, ho, align, half)
    rows = _blend(x[:, :, lo], x[:, :, hi], fh[None, None, :, None])
    lo, hi, fw = _bilinear_axis(w, wo, align, half)
    return _blend(rows[:, :, :, lo], rows[:, :, :, hi], fw)


def _blend(low: np.ndarray, high: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """low * (1 - frac) + high * frac, made in `low`."""
    high *= frac
    low *= 1 - frac
    low += high
    return low


@register("ResizeBilinearV2", "ResizeBilinearV2D", "ResizeNearestNeighborV2", "ResizeNearestNeighborV2D",
          "ResizeBilinear", "ResizeNearestNeighbor")
def resize(op: OpView):
    mode = "nearest" if "Nearest" in op.type else "bilinear"
    align = bool(op.attr("align_corners", False))
    half = bool(op.attr("half_pixel_centers", False))
    fmt_in, fmt_out = spatial_format(op.inp(0).logical_format), spatial_format(op.out().logical_format)
    _, _, ho, wo = nchw_shape(op.out())
    n, c, _, w = nchw_shape(op.inp(0))  # the kernel keeps the input's N and C, whatever the file declares
    rows, out = n * c * ho * w, n * c * ho * wo
    if mode == "nearest":  # the rows picked, then the columns picked from them
        held = rows + out
    else:  # the two rows blended (in place), then the two columns beside the rows
        held = max(2 * rows, rows + 2 * out)
    if fmt_out == "NHWC":
        held = max(held, 2 * out)
    # and the per-axis index and weight arrays (float64 and int64 positions)
    op.cost(held=op.f32(0) + 4 * held + 6 * 8 * (ho + wo))

    def kernel(xs):
        x = to_nchw(f32(xs[0]), fmt_in)
        return from_nchw(resize_nchw(x, ho, wo, mode, align, half), fmt_out)

    return kernel
