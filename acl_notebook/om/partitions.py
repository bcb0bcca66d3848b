"""Partition tables: find every payload of every (sub)model, as absolute file offsets.

GE's loader ignores the stored ``mem_offset`` and walks partitions in table order, each
starting where the previous one ended (om-format.md §3); we do the same. The table width
follows GE's rule (wide when ``model_length != 0``) and is then checked the way Netron
checks it (types < 32, no repeats, everything inside the file); if that check fails we try
the other width before giving up, so a header with a wrong length field still reads.
"""

from __future__ import annotations

import struct

from .enums import PARTITION_NAMES
from .errors import OMFormatError
from .header import HEADER_SIZE
from .model import OMHeader, Partition, make

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any, Union

_NARROW_HEAD = struct.Struct("<I")
_NARROW_ENTRY = struct.Struct("<III")  # type, mem_offset, mem_size
_WIDE_HEAD = struct.Struct("<I4x")
_WIDE_ENTRY = struct.Struct("<I4xQQ")
_MAX_TYPE = 32  # partition types are small; anything >= 32 means we are misreading
_SMALLEST_TABLE = _NARROW_HEAD.size + _NARROW_ENTRY.size


def partition_name(ptype: int) -> str:
    return PARTITION_NAMES.get(ptype, f"TYPE_{ptype}")


_NAMES = tuple(partition_name(t) for t in range(_MAX_TYPE))


def read_partitions(blob: Any, header: OMHeader) -> tuple[tuple[Partition, ...], bool]:
    """All partitions of all ``model_num`` tables, and whether the tables were wide.

    `blob` has ``size`` and ``read(offset, n)``; only the tables themselves are read.
    """
    end = blob.size
    if header.model_num * _SMALLEST_TABLE > end - HEADER_SIZE:
        raise OMFormatError(
            f"corrupt OM header: it claims {header.model_num} sub-models, more partition tables than "
            f"fit in {end - HEADER_SIZE} bytes; the file is damaged"
        )
    prefer_wide = header.model_length != 0
    first_problem = ""
    for wide in (prefer_wide, not prefer_wide):
        result = _walk(blob, end, header.model_num, wide)
        if isinstance(result, str):
            first_problem = first_problem or result
            continue
        return result, wide
    raise OMFormatError(f"unreadable partition table: {first_problem}; the file is damaged or truncated")


def _walk(blob: Any, end: int, model_num: int, wide: bool) -> Union[tuple[Partition, ...], str]:
    """Partitions of all tables back to back, or a description of the first problem."""
    out: list[Partition] = []
    pos = HEADER_SIZE
    for model in range(model_num):
        result = _read_table(blob, pos, end, wide, model)
        if isinstance(result, str):
            return result
        parts, pos = result
        out.extend(parts)
    if model_num > 1 and pos != end:
        return f"the {model_num} partition tables end at offset {pos} but the file ends at {end}"
    return tuple(out)


def _read_table(
    blob: Any, pos: int, end: int, wide: bool, model: int
) -> Union[tuple[list[Partition], int], str]:
    head, entry = (_WIDE_HEAD, _WIDE_ENTRY) if wide else (_NARROW_HEAD, _NARROW_ENTRY)
    if pos + head.size > end:
        return f"{_where(model, pos, wide)} starts past the end of the file ({end} bytes)"
    (num,) = head.unpack_from(blob.read(pos, head.size))
    if not 1 <= num <= _MAX_TYPE:
        return f"{_where(model, pos, wide)} claims {num} partitions"
    cursor = pos + head.size + num * entry.size
    if cursor > end:
        return f"{_where(model, pos, wide)} with {num} entries runs past the end of the file ({end} bytes)"
    parts: list[Partition] = []
    seen = 0  # bit set of the types met so far (every type is below _MAX_TYPE)
    for k, (ptype, _mem_offset, size) in enumerate(entry.iter_unpack(blob.read(pos + head.size, num * entry.size))):
        if ptype >= _MAX_TYPE:
            return f"{_where(model, pos, wide)}: entry {k} has an unknown partition type {ptype}"
        if seen >> ptype & 1:
            return f"{_where(model, pos, wide)}: partition type {ptype} ({partition_name(ptype)}) appears twice"
        seen |= 1 << ptype
        if cursor + size > end:
            return (
                f"{_where(model, pos, wide)}: partition {partition_name(ptype)} ({size} bytes at offset {cursor}) "
                f"is out of range, the file ends at {end}"
            )
        parts.append(make(Partition, {"type": ptype, "name": _NAMES[ptype], "offset": cursor, "size": size,
                                      "model": model}))
        cursor += size
    return parts, cursor


def _where(model: int, pos: int, wide: bool) -> str:
    return f"table {model} at offset {pos} ({'24' if wide else '12'}-byte entries)"


def pack_table(entries: list[tuple[int, int]], wide: bool) -> bytes:
    """A partition table for ``(type, size)`` entries; offsets are the running sum (no padding)."""
    head, entry = (_WIDE_HEAD, _WIDE_ENTRY) if wide else (_NARROW_HEAD, _NARROW_ENTRY)
    buf = bytearray(head.size + entry.size * len(entries))
    head.pack_into(buf, 0, len(entries))
    offset = 0
    for k, (ptype, size) in enumerate(entries):
        if not wide and offset + size > 0xFFFFFFFF:
            raise ValueError("a narrow partition table cannot address past 4 GiB; use wide_table")
        entry.pack_into(buf, head.size + k * entry.size, ptype, offset, size)
        offset += size
    return bytes(buf)
