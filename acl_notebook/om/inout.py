"""MODEL_INOUT_INFO (partition type 8): GE's binary summary of a model's inputs, outputs and gears.

Newer ATC builds write it so a loader can describe a model without decoding the protobuf
(om-format.md §5). It is a run of TLV blocks ``u32 type, u32 length, value``; enums inside
use the C++ numbering, which is already ACL's. Every length is checked against the block
before anything is read, so a damaged partition is reported, never over-read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .enums import ACL_DTYPE_NAMES, dtype_name, format_name
from .errors import OMFormatError
from .model import MAX_BYTES, Partition, TensorDesc, dims_refusal, make

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Optional

INPUT_DESC = 0
OUTPUT_DESC = 1
DYNAMIC_BATCH = 2
DYNAMIC_HW = 3
DYNAMIC_DIMS = 4
DYNAMIC_OUTPUT_SHAPE = 5
DESIGNATE_SHAPE_ORDER = 6

_GEAR_KINDS = {DYNAMIC_BATCH: "batch", DYNAMIC_HW: "hw", DYNAMIC_DIMS: "dims"}
_GE_DT_UNDEFINED = 28  # ge::DT_UNDEFINED; ACL calls it -1

_BLOCK = struct.Struct("<II")
_U32 = struct.Struct("<I")
_RECORD = struct.Struct("<QiiIIII")  # size, format, dt, name_len, dims_len, dimsV2_len, range_len


@dataclass(frozen=True)
class InoutInfo:
    """What the partition says; None where a block is absent (the ModelDef then fills in)."""

    inputs: Optional[tuple[TensorDesc, ...]] = None
    outputs: Optional[tuple[TensorDesc, ...]] = None
    kind: Optional[str] = None
    gears: tuple[tuple[int, ...], ...] = ()
    shape_order: tuple[str, ...] = ()
    output_shapes: tuple[str, ...] = ()


def _corrupt(detail: str) -> OMFormatError:
    return OMFormatError(
        f"the MODEL_INOUT_INFO partition is corrupt: {detail}; the file is damaged, export it again"
    )


def decode(view: memoryview, part: Partition) -> InoutInfo:
    """Read every block of the partition (`view` holds exactly its bytes; offsets in messages
    are relative to its start). Unknown block types are skipped like GE does; a second input
    or output block is refused, as the runtime refuses it (545002)."""
    pos, end = 0, part.size
    found: dict[str, object] = dict(_NOTHING)
    while pos < end:
        if pos + _BLOCK.size > end:
            raise _corrupt(f"a block header at offset {pos} is cut off by the partition end ({end})")
        btype, length = _BLOCK.unpack_from(view, pos)
        start, stop = pos + _BLOCK.size, pos + _BLOCK.size + length
        if stop > end:
            raise _corrupt(f"block type {btype} at offset {pos} claims {length} bytes, past the end ({end})")
        if btype in (INPUT_DESC, OUTPUT_DESC):
            key = "inputs" if btype == INPUT_DESC else "outputs"
            if found[key] is not None:
                raise _corrupt(f"it has a second {key[:-1]} block (type {btype}) at offset {pos}; the runtime "
                               "refuses such a model (545002) because it cannot tell which block is right")
            found[key] = _tensors(view, start, stop)
        elif btype == DYNAMIC_BATCH:
            found["kind"] = "batch"
            found["gears"] = tuple((v,) for v in _u64_list(view, start, stop))
        elif btype in (DYNAMIC_HW, DYNAMIC_DIMS):
            found["kind"] = _GEAR_KINDS[btype]
            found["gears"] = _nested_u64(view, start, stop)
        elif btype == DYNAMIC_OUTPUT_SHAPE:
            found["output_shapes"] = _strings(view, start, stop)
        elif btype == DESIGNATE_SHAPE_ORDER:
            found["shape_order"] = _strings(view, start, stop)
        pos = stop
    return make(InoutInfo, found)


_NOTHING = {"inputs": None, "outputs": None, "kind": None, "gears": (), "shape_order": (), "output_shapes": ()}


def _count(view: memoryview, start: int, stop: int, item_size: int, what: str) -> int:
    if start + _U32.size > stop:
        raise _corrupt(f"the {what} block at offset {start} has no room for its count")
    (n,) = _U32.unpack_from(view, start)
    if n * item_size > stop - start - _U32.size:
        raise _corrupt(f"the {what} block at offset {start} claims {n} entries, more than fit")
    return n


def _tensors(view: memoryview, start: int, stop: int) -> tuple[TensorDesc, ...]:
    n = _count(view, start, stop, _RECORD.size, "tensor")
    pos = start + _U32.size
    out = []
    for k in range(n):
        if pos + _RECORD.size > stop:
            raise _corrupt(f"tensor record {k} at offset {pos} is cut off")
        size, fmt, dt, name_len, dims_len, dims2_len, range_len = _RECORD.unpack_from(view, pos)
        pos += _RECORD.size
        if dims_len % 8 or dims2_len % 8 or range_len % 16:
            raise _corrupt(f"tensor record {k} has dims lengths ({dims_len}, {dims2_len}, {range_len}) "
                           "that are not whole int64 values")
        if pos + name_len + dims_len + dims2_len + range_len > stop:
            raise _corrupt(f"tensor record {k} at offset {pos} runs past its block")
        if size > MAX_BYTES:
            raise _corrupt(f"tensor record {k} claims {size} bytes, more than any device holds")
        name = str(view[pos : pos + name_len], "utf-8", "replace")
        pos += name_len
        dims = _int64s(dims_len).unpack_from(view, pos)
        pos += dims_len
        dims_v2 = _int64s(dims2_len).unpack_from(view, pos) if dims2_len else ()
        pos += dims2_len  # dimsV2: aclmdlGetInputDimsV2's view (the AIPP input for static AIPP)
        flat = _int64s(range_len).unpack_from(view, pos) if range_len else ()
        pos += range_len
        acl_dtype = -1 if dt == _GE_DT_UNDEFINED else dt
        refusal = dims_refusal(name, dims, dims_v2, acl_dtype)
        if refusal:
            raise _corrupt(refusal)
        primary = fmt & 0xFF if fmt >= 0 else fmt
        out.append(make(TensorDesc, {
            "name": name,
            "dims": dims,
            "dtype": ACL_DTYPE_NAMES.get(acl_dtype) or dtype_name(acl_dtype),
            "format": format_name(primary),
            "size": size,
            "acl_dtype": acl_dtype,
            "acl_format": primary,
            "dims_range": tuple(zip(flat[0::2], flat[1::2])) if flat else (),
            "dims_v2": dims_v2 if dims_v2 != dims else (),
        }))
    return tuple(out)


_INT64S: dict[int, struct.Struct] = {}


def _int64s(nbytes: int) -> struct.Struct:
    """The Struct of `nbytes` // 8 little-endian int64s (compiled once per length: shapes repeat)."""
    packer = _INT64S.get(nbytes)
    if packer is None:
        packer = struct.Struct(f"<{nbytes // 8}q")
        if len(_INT64S) < 64:
            _INT64S[nbytes] = packer
    return packer


def _u64_list(view: memoryview, start: int, stop: int) -> tuple[int, ...]:
    n = _count(view, start, stop, 8, "dynamic batch")
    return struct.unpack_from(f"<{n}q", view, start + _U32.size)


def _nested_u64(view: memoryview, start: int, stop: int) -> tuple[tuple[int, ...], ...]:
    n = _count(view, start, stop, 4, "gear")
    counts = struct.unpack_from(f"<{n}I", view, start + _U32.size)
    pos = start + _U32.size + 4 * n
    if 8 * sum(counts) > stop - pos:
        raise _corrupt(f"the gear block at offset {start} lists more values than it holds")
    values = struct.unpack_from(f"<{sum(counts)}q", view, pos)
    gears, k = [], 0
    for c in counts:
        gears.append(tuple(values[k : k + c]))
        k += c
    return tuple(gears)


def _strings(view: memoryview, start: int, stop: int) -> tuple[str, ...]:
    n = _count(view, start, stop, 4, "string list")
    lengths = struct.unpack_from(f"<{n}I", view, start + _U32.size)
    pos = start + _U32.size + 4 * n
    if sum(lengths) > stop - pos:
        raise _corrupt(f"the string list block at offset {start} lists more text than it holds")
    out = []
    for length in lengths:
        out.append(bytes(view[pos : pos + length]).decode("utf-8", "replace"))
        pos += length
    return tuple(out)


# ----------------------------------------------------------------------------- writing
def encode(
    inputs: tuple[TensorDesc, ...],
    outputs: tuple[TensorDesc, ...],
    kind: Optional[str] = None,
    gears: tuple[tuple[int, ...], ...] = (),
    shape_order: tuple[str, ...] = (),
    output_shapes: tuple[str, ...] = (),
) -> bytes:
    """The partition as GE's SaveModelIntroduction lays it out (blocks with nothing to say omitted)."""
    blocks = [_block(INPUT_DESC, _encode_tensors(inputs)), _block(OUTPUT_DESC, _encode_tensors(outputs))]
    if kind == "batch":
        values = [g[0] for g in gears]
        body = _U32.pack(len(values)) + struct.pack(f"<{len(values)}q", *values)
        blocks.append(_block(DYNAMIC_BATCH, body))
    elif kind in ("hw", "dims"):
        flat = [v for g in gears for v in g]
        body = _U32.pack(len(gears)) + struct.pack(f"<{len(gears)}I", *(len(g) for g in gears))
        body += struct.pack(f"<{len(flat)}q", *flat)
        blocks.append(_block(DYNAMIC_HW if kind == "hw" else DYNAMIC_DIMS, body))
    if output_shapes:
        blocks.append(_block(DYNAMIC_OUTPUT_SHAPE, _encode_strings(output_shapes)))
    if shape_order:
        blocks.append(_block(DESIGNATE_SHAPE_ORDER, _encode_strings(shape_order)))
    return b"".join(blocks)


def _block(btype: int, body: bytes) -> bytes:
    return _BLOCK.pack(btype, len(body)) + body


def _encode_tensors(tensors: tuple[TensorDesc, ...]) -> bytes:
    parts = [_U32.pack(len(tensors))]
    for t in tensors:
        name = t.name.encode("utf-8")
        dims = struct.pack(f"<{len(t.dims)}q", *t.dims)
        ranges = struct.pack(f"<{2 * len(t.dims_range)}q", *(v for pair in t.dims_range for v in pair))
        dims2 = struct.pack(f"<{len(t.dims_v2)}q", *t.dims_v2) if t.dims_v2 else dims  # GE writes both
        dt = _GE_DT_UNDEFINED if t.acl_dtype == -1 else t.acl_dtype
        parts.append(_RECORD.pack(t.size, t.acl_format, dt, len(name), len(dims), len(dims2), len(ranges)))
        parts += [name, dims, dims2, ranges]
    return b"".join(parts)


def _encode_strings(items: tuple[str, ...]) -> bytes:
    raw = [s.encode("utf-8") for s in items]
    return _U32.pack(len(raw)) + struct.pack(f"<{len(raw)}I", *(len(r) for r in raw)) + b"".join(raw)
