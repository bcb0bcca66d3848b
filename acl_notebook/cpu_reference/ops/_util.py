"""Small helpers the op families share: float32 views, NCHW <-> framework layout, channel vectors."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

#: Bytes numpy's iterator allocates for a ufunc over strided operands (an in-place add into a
#: strided slice, a reduction over windows): a buffer of 8192 values for each of up to three
#: operands.
UFUNC_BUFFERS = 3 * 8192 * 4


def f32(x: Any) -> np.ndarray:
    """The array as float32 (no copy when it already is)."""
    return np.asarray(x, dtype=np.float32)


def to_nchw(x: np.ndarray, fmt: str) -> np.ndarray:
    """A 4-D activation or weight in `fmt` (NCHW, NHWC, HWCN) as NCHW / OIHW."""
    if x.ndim != 4:
        raise ValueError(f"expected a 4-D tensor, got shape {list(x.shape)}")
    if fmt == "NHWC":
        return x.transpose(0, 3, 1, 2)
    if fmt == "HWCN":
        return x.transpose(3, 2, 0, 1)
    return x


def from_nchw(x: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "NHWC":
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    if fmt == "HWCN":
        return np.ascontiguousarray(x.transpose(2, 3, 1, 0))
    return x


def spatial_format(fmt: str) -> str:
    """NHWC stays NHWC; everything else is treated as NCHW (ONNX, Caffe, MindSpore)."""
    return "NHWC" if fmt == "NHWC" else "NCHW"


def channel_vector(v: Optional[np.ndarray], channels: int, what: str) -> Optional[np.ndarray]:
    """A per-channel parameter (scalar, [C], [C,1,1], [1,C,1,1]...) as a flat float32 [C] (or [1])."""
    if v is None:
        return None
    flat = f32(v).reshape(-1)
    if flat.size not in (1, channels):
        raise ValueError(f"{what} has {flat.size} values for {channels} channels")
    return flat


def per_channel(v: np.ndarray, ndim: int = 4) -> np.ndarray:
    """A flat [C] vector shaped to broadcast over NCHW."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def prelu(x: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """PReLU on NCHW with a scalar or per-channel slope."""
    s = per_channel(slope, x.ndim) if slope.size > 1 else slope.reshape(())
    return np.where(x >= 0, x, x * s)


def broadcast_within(op: Any, *arrays: Any) -> None:
    """Refuse (ValueError) inputs whose broadcast is larger than the op's declared output, before
    numpy allocates it: two small inputs of shapes [N,1] and [1,N] make N*N elements."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays if a is not None))
    declared = op.out().count
    if math.prod(shape) > max(declared, 1):
        raise ValueError(f"its inputs broadcast to {list(shape)}, more than the {declared} values the file declares")


def axis_list(value: Any, ndim: int) -> list[int]:
    """Axes from an attr or a Const (int or list, negative counted from the end)."""
    if value is None:
        return list(range(ndim))
    values = np.asarray(value).reshape(-1).tolist()
    return [int(a) % ndim if ndim else 0 for a in values]
