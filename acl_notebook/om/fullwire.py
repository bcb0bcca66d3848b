"""The whole ModelDef read straight off the protobuf wire, for a cold start on a small older file.

A file without MODEL_INOUT_INFO needs its ops decoded to find the Data / NetOutput / Case
descriptors. In a fresh process, importing protobuf and building its classes costs more
than walking a small ModelDef in Python, so `modeldef.load_for_scan` uses this for the
first decode of a process (what a cold ``acl-notebook inspect`` does) and upb after.

It yields objects with the fields and defaults of our ``ge_ir.proto`` messages (`SCHEMA`,
which a test holds equal to the descriptor set), read-only, and follows protobuf's rules:
unknown fields and known fields with another wire type are skipped; a repeated singular
scalar means "last one wins", a repeated singular message is merged; repeated scalars come
packed or not; a ``oneof`` keeps its last member; every nested message is decoded (so
damage anywhere is found, as upb finds it) and malformed bytes are an `OMFormatError` like
protobuf's DecodeError. tests/test_fuzz.py holds `describe` of it equal to upb's.
"""

from __future__ import annotations

import struct

from .errors import bad_modeldef
from .slimwire import _I32, _I64, _LEN, _VARINT, _Corrupt, _varint

#: Above this size (or once a process has decoded one ModelDef) upb is used instead.
MAX_BYTES = 64 << 10
_MAX_DEPTH = 100  # upb's default recursion limit for ParseFromString
_FLOAT = struct.Struct("<f")

# message -> {field number: (name, kind, repeated)}; kind is a scalar type or a message name.
SCHEMA: dict[str, dict[int, tuple[str, str, bool]]] = {
    "AttrEntry": {1: ("key", "bytes", False), 2: ("value", "AttrDef", False)},
    "ListValue": {2: ("s", "bytes", True), 3: ("i", "int64", True), 4: ("f", "float", True),
                  5: ("b", "bool", True), 7: ("bt", "bytes", True), 12: ("dt", "int64", True),
                  20: ("val_type", "int32", False)},
    "ListInt": {1: ("list_i", "int64", True)},
    "ListListInt": {1: ("list_list_i", "ListInt", True)},
    "AttrDef": {1: ("list", "ListValue", False), 2: ("s", "bytes", False), 3: ("i", "int64", False),
                4: ("f", "float", False), 5: ("b", "bool", False), 7: ("bt", "bytes", False),
                12: ("t", "TensorDef", False), 14: ("list_list_int", "ListListInt", False),
                15: ("dt", "int64", False)},
    "TensorDef": {1: ("desc", "TensorDescriptor", False), 2: ("data", "bytes", False)},
    "ShapeDef": {1: ("dim", "int64", True)},
    "TensorDescriptor": {1: ("name", "bytes", False), 2: ("dtype", "int32", False), 3: ("shape", "ShapeDef", False),
                         4: ("layout", "bytes", False), 5: ("attr", "AttrEntry", True),
                         10: ("size", "int64", False), 11: ("weight_size", "int64", False),
                         14: ("device_type", "bytes", False), 16: ("real_dim_cnt", "int64", False),
                         18: ("data_offset", "int64", False)},
    "OpDef": {1: ("name", "bytes", False), 2: ("type", "bytes", False), 5: ("input", "bytes", True),
              10: ("attr", "AttrEntry", True), 21: ("id", "int64", False), 22: ("stream_id", "int64", False),
              24: ("src_name", "bytes", True), 25: ("src_index", "int64", True),
              32: ("is_input_const", "bool", True), 33: ("input_desc", "TensorDescriptor", True),
              34: ("output_desc", "TensorDescriptor", True), 35: ("subgraph_name", "bytes", True)},
    "GraphDef": {1: ("name", "bytes", False), 4: ("input", "bytes", True), 5: ("output", "bytes", True),
                 6: ("op", "OpDef", True), 11: ("attr", "AttrEntry", True)},
    "ModelDef": {1: ("name", "bytes", False), 2: ("version", "uint32", False), 3: ("custom_version", "bytes", False),
                 7: ("graph", "GraphDef", True), 11: ("attr", "AttrEntry", True)},
}
ONEOF = {"AttrDef": "value"}  # every field of AttrDef is a member of its oneof
_DEFAULTS = {"bytes": b"", "int64": 0, "int32": 0, "uint32": 0, "bool": False, "float": 0.0}
_WIRE = {"bytes": _LEN, "int64": _VARINT, "int32": _VARINT, "uint32": _VARINT, "bool": _VARINT, "float": _I32}


class Message:
    """One decoded message; unset fields read as protobuf's defaults."""

    __slots__ = ("_set",)
    _name = ""

    def __init__(self) -> None:
        self._set: dict[str, object] = {}

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        spec = _BY_NAME[self._name].get(name)
        if spec is None:
            raise AttributeError(f"{self._name} has no field {name!r}")
        kind, repeated = spec
        if repeated:
            return ()
        return _DEFAULTS[kind] if kind in _DEFAULTS else _CLASSES[kind]()

    def WhichOneof(self, group: str) -> object:  # noqa: N802 - protobuf's spelling
        if ONEOF.get(self._name) != group:
            raise ValueError(f"{self._name} has no oneof {group!r}")
        return self._set.get("_case")


_BY_NAME = {msg: {name: (kind, rep) for name, kind, rep in fields.values()} for msg, fields in SCHEMA.items()}


def _make_class(msg: str) -> type:
    def get(self: Message, name: str) -> object:
        value = self._set.get(name, _MISSING)
        if value is _MISSING or (msg in ONEOF and self._set.get("_case") != name):
            return Message.__getattr__(self, name)
        return value

    props = {name: property(lambda self, n=name: get(self, n)) for name in _BY_NAME[msg]}
    return type(msg, (Message,), {"__slots__": (), "_name": msg, **props})


_MISSING = object()
_CLASSES = {msg: _make_class(msg) for msg in SCHEMA}


def parse(blob: object) -> Message:
    """Decode a whole ModelDef; malformed bytes raise OMFormatError."""
    data = bytes(blob)
    model = _CLASSES["ModelDef"]()
    try:
        _decode(model, data, 0, len(data), 0)
    except _Corrupt as exc:
        raise bad_modeldef(len(data), exc) from None
    return model


def _decode(msg: Message, data: bytes, pos: int, end: int, depth: int) -> None:
    """Merge data[pos:end] into `msg`. The field walk of `slimwire._fields`, inlined with a
    one-byte fast path for keys, varints and lengths: this loop is a cold start's main cost."""
    if depth >= _MAX_DEPTH:
        raise _Corrupt("messages nested deeper than protobuf's recursion limit")
    schema = SCHEMA[msg._name]
    store = msg._set
    oneof = msg._name in ONEOF
    while pos < end:
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0 or key > 0xFFFFFFFF:
            raise _Corrupt("a field number of 0" if number == 0 else "a field key beyond 32 bits")
        if wire == _VARINT or wire == _LEN:
            if pos >= end:
                raise _Corrupt("a varint is cut off")
            value = data[pos]
            if value < 0x80:
                pos += 1
            else:
                value, pos = _varint(data, pos, end)
            if wire == _LEN:
                s, e = pos, pos + value
                if e > end:
                    raise _Corrupt("a length-delimited field runs past its message")
                pos = e
            else:
                s, e = value, pos  # for a varint, `s` carries its value
        elif wire == _I32 or wire == _I64:
            s, e = pos, pos + (4 if wire == _I32 else 8)
            if e > end:
                raise _Corrupt("a fixed-width field runs past its message")
            pos = e
        else:
            raise _Corrupt(f"wire type {wire} (groups are not proto3)")
        spec = schema.get(number)
        if spec is None:
            continue
        name, kind, repeated = spec
        if kind in _CLASSES:
            if wire != _LEN:
                continue  # a known number with another wire type is an unknown field
            if repeated:
                sub = _CLASSES[kind]()
                store.setdefault(name, []).append(sub)
            else:
                sub = store.get(name)
                if sub is None or (oneof and store.get("_case") != name):
                    sub = store[name] = _CLASSES[kind]()  # a oneof switching member starts afresh
                if oneof:
                    store["_case"] = name
            _decode(sub, data, s, e, depth + 1)
        elif repeated:
            if wire == _LEN and kind != "bytes":
                store.setdefault(name, []).extend(_packed(kind, data, s, e))
            elif wire == _WIRE[kind]:
                store.setdefault(name, []).append(_scalar(kind, data, s, e))
        elif wire == _WIRE[kind]:
            store[name] = _scalar(kind, data, s, e)
            if oneof:
                store["_case"] = name


def _scalar(kind: str, data: bytes, start: int, end: int) -> object:
    if kind == "bytes":
        return data[start:end]
    if kind == "float":
        return _FLOAT.unpack_from(data, start)[0]
    return _convert(kind, start)  # for varints `_fields` passes the value as `start`


def _convert(kind: str, value: int) -> object:
    if kind == "int64":
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "bool":
        return value != 0
    value &= 0xFFFFFFFF
    if kind == "int32":
        return value - (1 << 32) if value >= 1 << 31 else value
    return value  # uint32


def _packed(kind: str, data: bytes, start: int, end: int) -> list:
    if kind == "float":
        if (end - start) % 4:
            raise _Corrupt("a packed float run that is not whole floats")
        return [v for (v,) in _FLOAT.iter_unpack(data[start:end])]
    out, pos = [], start
    while pos < end:
        value, pos = _varint(data, pos, end)
        out.append(_convert(kind, value))
    return out
