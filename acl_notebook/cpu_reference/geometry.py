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
    """Every (stride, before, after) with dilation 1 and pads in [0, k) giving `out` from `size`."""
    found = []
    for s in range(1, max(size, k) + 1):
        p_min = (out - 1) * s + k - size
        for total in range(max(p_min, 0), min(p_min + s - 1, 2 * (k - 1)) + 1):
            for before in range(0, min(total, k - 1) + 1):
                if total - before <= k - 1:
                    found.append((s, before, total - before))
    return found


def solve(size: int, out: int, k: int, framework: str) -> tuple[Axis, bool, str]:
    """The most likely axis geometry, whether it is determined, and what was assumed (text)."""
    found = candidates(size, out, k)
    if not found:
        raise ValueError(f"no stride and padding turn {size} into {out} with a kernel of {k}")
    distinct = {(s, before) for s, before, _ in found}
    stride = min(s for s, _, _ in found)
    totals = sorted({b + a for s, b, a in found if s == stride})
    if framework.lower().startswith("tensorflow"):
        total = totals[0]
        before = total // 2
    else:
        even = [t for t in totals if t % 2 == 0]
        total = even[0] if even else totals[0]
        before = total // 2
    axis = Axis(stride, before, total - before)
    determined = len(distinct) == 1 and k == 1
    return axis, determined, f"stride {stride}, pads {before}+{total - before}"


def transpose_solve(size: int, out: int, k: int, framework: str = "") -> tuple[Axis, bool, str]:
    """Transposed conv: out = (size-1)*s - pads + (k-1) + 1; smallest stride, symmetric crop."""
    for s in range(1, max(out, k) + 1):
        total = (size - 1) * s + k - out
        if 0 <= total <= 2 * (k - 1):
            before = total // 2
            text = f"stride {s}, pads {before}+{total - before}"
            return Axis(s, before, total - before), k == 1 and size == out, text
    raise ValueError(f"no stride and padding turn {size} into {out} with a transposed kernel of {k}")
