"""Shared bits of the OM reader/writer tests: where the real models are, and what a spec should read as.

`expected_io` restates the reading rules from om-format.md on its own (numpy item sizes,
the "name:0" output convention, largest-gear input sizes, FRACTAL_Z shown as HWCN), so a
round trip checks the writer and reader against the documented rules, not against each
other's code.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from shared_models import MODELS_DIR, REAL_MODELS, expected, model_path  # noqa: F401 (re-exported)

# Bytes per element for dtypes numpy cannot name.
_EXTRA_ITEMSIZE = {"bfloat16": 2, "qint8": 1, "quint8": 1, "qint16": 2, "quint16": 2, "qint32": 4}


def itemsize(dtype: str) -> int:
    return _EXTRA_ITEMSIZE[dtype] if dtype in _EXTRA_ITEMSIZE else np.dtype(dtype).itemsize


def nbytes(dims, dtype: str) -> int:
    return math.prod(max(d, 0) for d in dims) * itemsize(dtype)


def expected_io(spec) -> tuple[list[tuple], list[tuple]]:
    """(name, dims, dtype, format, size) rows a reader must report for a writer spec."""
    inputs = []
    for t in spec.inputs:
        sizes = [nbytes(d, t.dtype) for d in _gear_shapes(spec, t)] or [nbytes(t.dims, t.dtype)]
        inputs.append((t.name, tuple(t.dims), t.dtype, t.format, max(sizes)))
    if spec.dynamic_kind:
        n = len(spec.gears[0])
        inputs.append(("ascend_mbatch_shape_data", (n,), "int32", "ND", 4 * n))
    outputs = []
    for t in spec.outputs:
        name = t.name if ":" in t.name else f"{t.name}:0"
        dims, fmt = tuple(t.dims), t.format
        if fmt == "FRACTAL_Z" and len(dims) == 4:
            dims, fmt = (dims[2], dims[3], dims[1], dims[0]), "HWCN"
        outputs.append((name, dims, t.dtype, fmt, nbytes(dims, t.dtype)))
    return inputs, outputs


def _gear_shapes(spec, t) -> list[tuple]:
    """The concrete shapes of input `t` for every gear (empty for static inputs)."""
    if not spec.dynamic_kind or -1 not in t.dims:
        return []
    by_name = {x.name: x for x in spec.inputs}
    order = [by_name[n] for n in spec.shape_order] if spec.shape_order else list(spec.inputs)
    if t not in order:
        return []
    shapes = []
    for gear in spec.gears:
        if spec.dynamic_kind == "batch":
            shapes.append(tuple(gear[0] if d == -1 else d for d in t.dims))
        elif spec.dynamic_kind == "hw":
            it = iter(gear)
            shapes.append(tuple(next(it) if d == -1 else d for d in t.dims))
        else:
            skip = sum(x.dims.count(-1) for x in order[: order.index(t)])
            it = iter(gear[skip:])
            shapes.append(tuple(next(it) if d == -1 else d for d in t.dims))
    return shapes


def rows(tensors) -> list[tuple]:
    return [(t.name, tuple(t.dims), t.dtype, t.format, t.size) for t in tensors]


# --- raw file surgery, independent of the reader ----------------------------------------
HEADER = 256


def u32(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def patch(data: bytes, offset: int, fmt: str, *values) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, *values)
    return bytes(buf)
