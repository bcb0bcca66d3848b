"""Tensor layouts of an offline model: physical (how the NPU stores it) <-> logical (the framework's view).

ATC stores weights and activations in the Cube unit's packed formats (om-execution.md §4):

* ``NC1HWC0``: ``[N, C1, H, W, C0]``; element ``(n, c, h, w)`` at ``[n, c//C0, h, w, c%C0]``.
* ``FRACTAL_Z`` (conv weights): ``[C1·H·W, N1, 16, C0]``; weight ``(n, c, h, w)`` at
  ``[(c//C0)·H·W + h·W + w, n//16, n%16, c%C0]``.
* ``FRACTAL_NZ`` (matrices): ``[..., W1, H1, 16, W0]`` for a logical ``[..., H, W]``; element
  ``(i, j)`` at ``[..., j//W0, i//16, i%16, j%W0]``.

Padding elements are zero when encoding and dropped when decoding. The logical tensor is
the one the framework had, in ``origin_format`` (NCHW / NHWC / HWCN / ND) and
``origin_shape``; everything else (ND, NCHW, NHWC, ...) is stored exactly as its shape says.

`to_logical` and `to_physical` are exact inverses on the logical values; the writer uses
`to_physical` to store weights the way ATC does, the CPU reference uses `to_logical` to read
them back. numpy is imported on first use, like everywhere in `om`.
"""

from __future__ import annotations

from typing import Any, Optional

PACKED = frozenset({"NC1HWC0", "FRACTAL_Z", "FRACTAL_NZ"})
_N0 = 16  # FRACTAL_Z packs output channels in blocks of 16, whatever the dtype
_H0 = 16  # FRACTAL_NZ packs rows in blocks of 16


def c0_for(itemsize: int, format_for_int: Optional[int] = None) -> int:
    """The C0 (channel block) of a packed tensor.

    ``format_for_int`` (newer ATC) packs reserved:4, C0:4, sub-format:16, format:8 bits with
    C0 = 2^(nibble-1); without it (older files, or a zero nibble) C0 is 32 for 1-byte dtypes
    and 16 otherwise, as GE's cube size rule says.
    """
    if isinstance(format_for_int, int) and not isinstance(format_for_int, bool) and format_for_int > 0:
        nibble = (format_for_int >> 24) & 0xF
        if nibble:
            return 1 << (nibble - 1)
    return 32 if itemsize == 1 else 16


def format_for_int(layout: str, c0: int) -> int:
    """The ``format_for_int`` value a modern ATC writes: the format with its C0 nibble for packed layouts."""
    from .enums import FORMAT_VALUES

    base = FORMAT_VALUES[layout]
    if layout not in PACKED:
        return base
    return ((c0.bit_length()) << 24) | base


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _as_nchw_shape(shape: tuple[int, ...], origin_format: str) -> tuple[int, int, int, int]:
    """A logical shape as (N, C, H, W): 4-D per `origin_format`, lower ranks as vectors/maps."""
    if len(shape) == 4:
        if origin_format == "NHWC":
            n, h, w, c = shape
        elif origin_format == "HWCN":
            h, w, c, n = shape
        else:
            n, c, h, w = shape
        return n, c, h, w
    if len(shape) == 1:
        return 1, shape[0], 1, 1
    if len(shape) == 2:
        return shape[0], shape[1], 1, 1
    if len(shape) == 3:
        return 1, shape[0], shape[1], shape[2]
    raise ValueError(f"a packed 4-D layout cannot hold a logical tensor of shape {list(shape)}")


def _to_nchw(x: Any, origin_format: str) -> Any:
    if x.ndim == 4:
        if origin_format == "NHWC":
            return x.transpose(0, 3, 1, 2)
        if origin_format == "HWCN":
            return x.transpose(3, 2, 0, 1)
        return x
    return x.reshape(_as_nchw_shape(x.shape, origin_format))


def _from_nchw(x: Any, shape: tuple[int, ...], origin_format: str) -> Any:
    if len(shape) == 4:
        if origin_format == "NHWC":
            return x.transpose(0, 2, 3, 1)
        if origin_format == "HWCN":
            return x.transpose(2, 3, 1, 0)
        return x
    return x.reshape(shape)


def physical_shape(layout: str, logical_shape: tuple[int, ...], origin_format: str, c0: int) -> tuple[int, ...]:
    """The stored shape of a logical tensor in `layout` (plain layouts keep the logical shape)."""
    shape = tuple(int(d) for d in logical_shape)
    if layout == "NC1HWC0":
        n, c, h, w = _as_nchw_shape(shape, origin_format)
        return n, _ceil(c, c0), h, w, c0
    if layout == "FRACTAL_Z":
        n, c, h, w = _as_nchw_shape(shape, origin_format)
        return _ceil(c, c0) * h * w, _ceil(n, _N0), _N0, c0
    if layout == "FRACTAL_NZ":
        if len(shape) == 1:
            shape = (1,) + shape
        *batch, rows, cols = shape
        return (*batch, _ceil(cols, c0), _ceil(rows, _H0), _H0, c0)
    return shape


def _own(view: Any) -> Any:
    """A C-contiguous copy of `view`, the padding cut off. Not ``ascontiguousarray``: when the cut
    happens to be contiguous (one row of a FRACTAL_NZ matrix, batch 1 of NC1HWC0, whole
    C0 groups) it returns the view itself, which keeps the whole padded copy alive (16x the
    logical bytes for a [1, n] NZ weight) for as long as the value is used."""
    import numpy as np

    return np.array(view, order="C", copy=True)


def to_logical(physical: Any, layout: str, logical_shape: tuple[int, ...], origin_format: str, c0: int) -> Any:
    """Decode a stored tensor (already shaped as `physical_shape` says) into its logical array."""
    import numpy as np

    shape = tuple(int(d) for d in logical_shape)
    expected = physical_shape(layout, shape, origin_format, c0)
    x = np.asarray(physical)
    if x.shape != expected:
        x = x.reshape(expected)
    if layout == "NC1HWC0":
        n, c, h, w = _as_nchw_shape(shape, origin_format)
        c1 = expected[1]
        nchw = x.transpose(0, 1, 4, 2, 3).reshape(n, c1 * c0, h, w)[:, :c]
        return _own(_from_nchw(nchw, shape, origin_format))
    if layout == "FRACTAL_Z":
        n, c, h, w = _as_nchw_shape(shape, origin_format)
        c1, n1 = _ceil(c, c0), expected[1]
        nchw = x.reshape(c1, h, w, n1, _N0, c0).transpose(3, 4, 0, 5, 1, 2).reshape(n1 * _N0, c1 * c0, h, w)
        return _own(_from_nchw(nchw[:n, :c], shape, origin_format))
    if layout == "FRACTAL_NZ":
        mat = shape if len(shape) > 1 else (1,) + shape
        *batch, rows, cols = mat
        b = len(batch)
        w1, h1 = expected[b], expected[b + 1]
        order = tuple(range(b)) + (b + 1, b + 2, b, b + 3)
        nd = x.transpose(order).reshape(*batch, h1 * _H0, w1 * c0)[..., :rows, :cols]
        return _own(nd).reshape(shape)
    return x.reshape(shape)


def to_physical(logical: Any, layout: str, origin_format: str, c0: int) -> Any:
    """Encode a logical array into `layout`, zeros in the padding (the inverse of `to_logical`)."""
    import numpy as np

    x = np.asarray(logical)
    shape = x.shape
    target = physical_shape(layout, shape, origin_format, c0)
    if layout == "NC1HWC0":
        n, c, h, w = _as_nchw_shape(shape, origin_format)
        c1 = target[1]
        padded = np.zeros((n, c1 * c0, h, w), x.dtype)
        padded[:, :c] = _to_nchw(x, origin_format)
        return np.ascontiguousarray(padded.reshape(n, c1, c0, h, w).transpose(0, 1, 3, 4, 2))
    if layout == "FRACTAL_Z":
        n, c, h, w = _as_nchw_shape(shape, origin_format)
        c1, n1 = _ceil(c, c0), target[1]
        padded = np.zeros((n1 * _N0, c1 * c0, h, w), x.dtype)
        padded[:n, :c] = _to_nchw(x, origin_format)
        six = padded.reshape(n1, _N0, c1, c0, h, w).transpose(2, 4, 5, 0, 1, 3)
        return np.ascontiguousarray(six).reshape(target)
    if layout == "FRACTAL_NZ":
        mat = x if x.ndim > 1 else x.reshape(1, -1)
        *batch, rows, cols = mat.shape
        b = len(batch)
        w1, h1 = target[b], target[b + 1]
        padded = np.zeros((*batch, h1 * _H0, w1 * c0), x.dtype)
        padded[..., :rows, :cols] = mat
        split = padded.reshape(*batch, h1, _H0, w1, c0)
        order = tuple(range(b)) + (b + 2, b, b + 1, b + 3)
        return np.ascontiguousarray(split.transpose(order))
    return np.ascontiguousarray(x)
