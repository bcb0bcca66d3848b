"""The slim ModelDef read straight off the protobuf wire, for a process's first small ModelDef.

`modeldef.describe(..., scan_ops=False)` reads only the model's name, the number of ops of
each graph and the model attrs' scalar values. For one small ModelDef, walking those fields
in Python costs less than importing protobuf and building its classes, which is most of a
cold ``acl-notebook inspect``; `modeldef.load_for_scan` uses upb for every later one.

This module yields objects with exactly the parts of the ``SlimModelDef`` message that
`describe` touches (``name``, ``graph[i].op`` as a sized range, ``attr`` entries whose
``value`` answers ``WhichOneof`` and ``.i/.s/.f/.b``), and follows protobuf's rules: unknown
fields are skipped, a repeated singular field means "last one wins" (and a repeated message
is merged), and anything malformed is an `OMFormatError` like protobuf's DecodeError.
tests/test_fuzz.py holds it equal to upb."""

from __future__ import annotations

import struct

from .errors import bad_modeldef

#: Above this ModelDef size even a first decode uses protobuf (upb): at this size the walk
#: costs a few tenths of a millisecond, and importing protobuf no longer dominates.
MAX_BYTES = 256 << 10

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_FLOAT = struct.Struct("<f")
_ATTR_KINDS = {2: "s", 3: "i", 4: "f", 5: "b", 7: "bt", 15: "dt"}  # scalar oneof members of AttrDef
_LIST_KINDS = {1: "list", 14: "list_list_int"}  # kept as their kind only: describe never reads them


class _Corrupt(Exception):
    pass


class Attr:
    """One AttrDef: its set oneof member (``kind``) and that member's value."""

    __slots__ = ("kind", "_value")

    def __init__(self) -> None:
        self.kind = None
        self._value: object = None

    def WhichOneof(self, _group: str) -> object:  # noqa: N802 - protobuf's spelling
        return self.kind

    def _get(self, kind: str, default: object) -> object:
        return self._value if self.kind == kind else default

    @property
    def i(self) -> object:
        return self._get("i", 0)

    @property
    def s(self) -> object:
        return self._get("s", b"")

    @property
    def f(self) -> object:
        return self._get("f", 0.0)

    @property
    def b(self) -> object:
        return self._get("b", False)

    @property
    def bt(self) -> object:
        return self._get("bt", b"")

    @property
    def dt(self) -> object:
        return self._get("dt", 0)


class Entry:
    __slots__ = ("key", "value")

    def __init__(self) -> None:
        self.key = b""
        self.value = Attr()


class Graph:
    __slots__ = ("op",)

    def __init__(self, ops: int) -> None:
        self.op = range(ops)  # only len() is read


class SlimModel:
    __slots__ = ("name", "graph", "attr")

    def __init__(self) -> None:
        self.name = b""
        self.graph: list = []
        self.attr: list = []


def parse(blob: object) -> SlimModel:
    """Decode a ModelDef's slim view; malformed bytes raise OMFormatError."""
    data = bytes(blob)
    model = SlimModel()
    try:
        for field, wire, start, end in _fields(data, 0, len(data)):
            if field == 1 and wire == _LEN:
                model.name = data[start:end]
            elif field == 7 and wire == _LEN:
                model.graph.append(Graph(_count_ops(data, start, end)))
            elif field == 11 and wire == _LEN:
                model.attr.append(_entry(data, start, end))
    except _Corrupt as exc:
        raise bad_modeldef(len(data), exc) from None
    return model


def _count_ops(data: bytes, start: int, end: int) -> int:
    return sum(1 for field, wire, _s, _e in _fields(data, start, end) if field == 6 and wire == _LEN)


def _entry(data: bytes, start: int, end: int) -> Entry:
    entry = Entry()
    for field, wire, s, e in _fields(data, start, end):
        if field == 1 and wire == _LEN:
            entry.key = data[s:e]
        elif field == 2 and wire == _LEN:
            _merge_attr(entry.value, data, s, e)  # a repeated message field merges
    return entry


def _merge_attr(attr: Attr, data: bytes, start: int, end: int) -> None:
    for field, wire, s, e in _fields(data, start, end):
        kind = _ATTR_KINDS.get(field)
        if kind is not None:
            value = _scalar(kind, wire, data, s, e)
            if value is not _SKIP:
                attr.kind, attr._value = kind, value
        elif field in _LIST_KINDS and wire == _LEN:
            (_check_list if field == 1 else _check_list_list)(data, s, e)  # protobuf decodes them
            attr.kind, attr._value = _LIST_KINDS[field], None


# ListValue: field -> what protobuf checks ("v" varint scalars, "f" floats, "b" bytes).
_LIST_FIELDS = {2: "b", 3: "v", 4: "f", 5: "v", 7: "b", 12: "v", 20: "v"}


def _check_list(data: bytes, start: int, end: int) -> None:
    for field, wire, s, e in _fields(data, start, end):
        _check_repeated(_LIST_FIELDS.get(field), wire, data, s, e)


def _check_list_list(data: bytes, start: int, end: int) -> None:
    for field, wire, s, e in _fields(data, start, end):
        if field == 1 and wire == _LEN:  # ListInt { repeated int64 list_i = 1; }
            for inner, inner_wire, s2, e2 in _fields(data, s, e):
                _check_repeated("v" if inner == 1 else None, inner_wire, data, s2, e2)


def _check_repeated(kind: object, wire: int, data: bytes, start: int, end: int) -> None:
    """A packed run must hold whole values, as protobuf requires."""
    if wire != _LEN or kind not in ("v", "f"):
        return
    if kind == "f":
        if (end - start) % 4:
            raise _Corrupt("a packed float run that is not whole floats")
        return
    pos = start
    while pos < end:
        _value, pos = _varint(data, pos, end)


_SKIP = object()
_WIRE_OF = {"s": _LEN, "bt": _LEN, "i": _VARINT, "b": _VARINT, "dt": _VARINT, "f": _I32}


def _scalar(kind: str, wire: int, data: bytes, start: int, end: int) -> object:
    if wire != _WIRE_OF[kind]:
        return _SKIP  # a known number with another wire type is an unknown field to protobuf
    if wire == _LEN:
        return data[start:end]
    if wire == _I32:
        return _FLOAT.unpack_from(data, start)[0]
    value = start  # for varints `_fields` passes the decoded value as `start`
    if kind == "b":
        return value != 0
    return value - (1 << 64) if value >= 1 << 63 else value  # int64 two's complement


def _fields(data: bytes, pos: int, end: int):
    """(field number, wire type, start, end) of each field in data[pos:end]; for a varint,
    `start` is its value."""
    while pos < end:
        key, pos = _varint(data, pos, end)
        field, wire = key >> 3, key & 7
        if field == 0 or key > 0xFFFFFFFF:
            raise _Corrupt("a field number of 0" if field == 0 else "a field key beyond 32 bits")
        if wire == _VARINT:
            value, pos = _varint(data, pos, end)
            yield field, wire, value, pos
        elif wire == _LEN:
            length, pos = _varint(data, pos, end)
            stop = pos + length
            if stop > end:
                raise _Corrupt("a length-delimited field runs past its message")
            yield field, wire, pos, stop
            pos = stop
        elif wire in (_I64, _I32):
            stop = pos + (8 if wire == _I64 else 4)
            if stop > end:
                raise _Corrupt("a fixed-width field runs past its message")
            yield field, wire, pos, stop
            pos = stop
        else:
            raise _Corrupt(f"wire type {wire} (groups are not proto3)")


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise _Corrupt("a varint is cut off")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise _Corrupt("a varint longer than 10 bytes")
