"""Convolution / pooling geometry: read it from attrs, or solve it from shapes when fusion erased it.

Modern ATC fusion drops ``strides`` and ``pads`` from fused convs (and leaves a wrong
``dilations``), om-execution.md §7. Per spatial axis the input size, output size and kernel
size bound the stride and the total padding; we list every (stride, pad_before) pair that
fits with pads smaller than the kernel and dilation 1. One pair (a 1x1 kernel with a single
possible stride) means the geometry is determined. Otherwise we pick the smallest stride,
then TensorFlow's SAME/VALID rule for TF models (extra row at the end) or the smallest
symmetric padding for the others (ONNX exporters pad symmetrically), and say what was
assumed. Dilation can never be recovered: any d gives the same shapes with another pad.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Axis:
    """One spatial axis of a conv or pool: stride, padding before / after, dilation."""

    stride: int
    before: int
    after: int
    dilation: int = 1


def out_size(size: int, k: int, axis: Axis, ceil_mode: bool = False) -> int:
    span = size + axis.before + axis.after - axis.dilation * (k - 1) - 1
    if span < 0:
        return 0
    return (-(-span // axis.stride) if ceil_mode else span // axis.stride) + 1


def candidates(size: int, out: int, k: int) -> list[tuple[int, int, int]]:
    """Every (stride, before, after) with dilation 1 and pads in [0, k) giving `out` from `size`
    (an enumeration, for small sizes: `solve` reads the same set in closed form)."""
    found = []
    for s in range(1, max(size, k) + 1):
        p_min = (out - 1) * s + k - size
        for total in range(max(p_min, 0), min(p_min + s - 1, 2 * (k - 1)) + 1):
            for before in range(0, min(total, k - 1) + 1):
                if total - before <= k - 1:
                    found.append((s, before, total - before))
    return found


def _strides(size: int, out: int, k: int) -> tuple[int, int]:
    """The range of strides `candidates` holds, solved instead of searched (a file may declare
    sizes of 2**40: a search would never end). For stride s the total padding must lie in
    [(out-1)*s + k - size, that + s - 1] and in [0, 2(k-1)]."""
    if size < 1 or out < 1 or k < 1:
        raise ValueError(f"no stride and padding turn {size} into {out} with a kernel of {k}")
    low = max(1, -(-(size + 1 - k) // out))
    high = max(size, k) if out == 1 else min(max(size, k), (size + k - 2) // (out - 1))
    if low > high:
        raise ValueError(f"no stride and padding turn {size} into {out} with a kernel of {k}")
    return low, high


def solve(size: int, out: int, k: int, framework: str) -> tuple[Axis, bool, str]:
    """The most likely axis geometry, whether it is determined, and what was assumed (text)."""
    stride, highest = _strides(size, out, k)
    p_min = (out - 1) * stride + k - size
    first, last = max(p_min, 0), min(p_min + stride - 1, 2 * (k - 1))  # the totals at that stride
    if framework.lower().startswith("tensorflow"):
        total = first
    else:
        even = first + first % 2
        total = even if even <= last else first
    before = total // 2
    axis = Axis(stride, before, total - before)
    determined = k == 1 and stride == highest  # a 1x1 kernel has no pads: one stride, one answer
    return axis, determined, f"stride {stride}, pads {before}+{total - before}"


def transpose_solve(size: int, out: int, k: int, framework: str = "") -> tuple[Axis, bool, str]:
    """Transposed conv: out = (size-1)*s - pads + (k-1) + 1; smallest stride, symmetric crop."""
    if size > 1:
        s = max(1, -(-(out - k) // (size - 1)))  # the smallest stride whose total padding is >= 0
    else:
        s = 1
    total = (size - 1) * s + k - out
    if size >= 1 and k >= 1 and s <= max(out, k) and 0 <= total <= 2 * (k - 1):
        before = total // 2
        text = f"stride {s}, pads {before}+{total - before}"
        return Axis(s, before, total - before), k == 1 and size == out, text
    raise ValueError(f"no stride and padding turn {size} into {out} with a transposed kernel of {k}")
