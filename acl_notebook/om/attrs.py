"""Attribute maps of a ModelDef: names (plain or "om_compress_version" enum-coded) and values.

Compressed models (om-format.md §4.1) replace op and tensor attribute names with a NUL byte
followed by base-127 digits (each stored +1) that index the model attr ``attr_name_enum``;
for names flagged in ``attrs_use_string_value`` the stored int (or list of ints) indexes
``attr_value_enum`` instead of being the value. Model- and graph-level names stay plain.

Values come back as plain Python: int, float, bool, str, or lists of those. Strings are
decoded leniently, since ATC does not promise UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import OMFormatError

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any, Optional

_BASE = 127


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def encode_index(index: int) -> bytes:
    """The compressed key for entry `index` of ``attr_name_enum`` (used by the writer)."""
    digits = bytearray(b"\0")
    while True:
        index, digit = divmod(index, _BASE)
        digits.append(digit + 1)
        if index == 0:
            return bytes(digits)


def decode_index(key: bytes) -> int:
    """Inverse of `encode_index`: Σ (byte_k − 1)·127^k over the bytes after the NUL.

    Every digit is stored +1, so a 0x00 digit (which would count −1 and could land on
    another attribute's name) or a key with no digits at all is damage, not a name.
    """
    if len(key) < 2 or 0 in key[1:]:
        raise OMFormatError(
            f"a compressed attribute name ({key!r}) has {'no digits' if len(key) < 2 else 'a 0x00 digit'}, "
            "which no ATC writes; the ModelDef is damaged, export it again"
        )
    index, scale = 0, 1
    for byte in key[1:]:
        index += (byte - 1) * scale
        scale *= _BASE
    return index


def entries_dict(entries: Iterable[Any]) -> dict[bytes, Any]:
    """A repeated AttrEntry field as ``{key: AttrDef}`` (later duplicates win, like a map)."""
    return {e.key: e.value for e in entries}


class AttrNames:
    """Resolves the op/tensor attribute keys of one model and converts their values."""

    def __init__(self, model_attrs: dict[bytes, Any]) -> None:
        self.compressed = False
        self._names: list[bytes] = []
        self._values: list[bytes] = []
        self._as_string: list[bool] = []
        version = model_attrs.get(b"om_compress_version")
        if version is not None and version.WhichOneof("value") == "i" and version.i >= 1:
            self.compressed = True
            self._names = _list_field(model_attrs.get(b"attr_name_enum"), "s")
            self._values = _list_field(model_attrs.get(b"attr_value_enum"), "s")
            self._as_string = _list_field(model_attrs.get(b"attrs_use_string_value"), "b")
        self._cache: dict[bytes, tuple[bytes, bool]] = {}

    def resolve(self, key: bytes) -> tuple[bytes, bool]:
        """(real name, whether the value is an index into attr_value_enum) for a stored key."""
        if not key.startswith(b"\0"):
            return key, False
        hit = self._cache.get(key)
        if hit is None:
            index = decode_index(key)
            if index < len(self._names):
                flag = index < len(self._as_string) and self._as_string[index]
                hit = (self._names[index], flag)
            else:  # unknown code: keep the raw key so nothing crashes on it
                hit = (key, False)
            self._cache[key] = hit
        return hit

    def collect(self, entries: Iterable[Any], wanted: Any = None) -> dict[str, Any]:
        """Values of the attrs whose resolved name is in `wanted` (all of them when None)."""
        out: dict[str, Any] = {}
        for entry in entries:
            name, as_string = self.resolve(entry.key)
            if wanted is None or name in wanted:
                out[text(name)] = self.value(entry.value, as_string)
        return out

    def value(self, attr: Any, as_string: bool = False) -> Any:
        """An AttrDef as plain Python; None when it holds nothing we model."""
        kind = attr.WhichOneof("value")
        if kind == "i":
            return self._string(attr.i) if as_string else attr.i
        if kind in ("s", "bt"):
            return text(getattr(attr, kind))
        if kind in ("f", "b", "dt"):
            return getattr(attr, kind)
        if kind == "list":
            return self._list(attr.list, as_string)
        if kind == "list_list_int":
            return [list(row.list_i) for row in attr.list_list_int.list_list_i]
        return None

    def _list(self, lst: Any, as_string: bool) -> list:
        if lst.s:
            return [text(s) for s in lst.s]
        if lst.i:
            return [self._string(v) for v in lst.i] if as_string else list(lst.i)
        for field in ("f", "b", "dt", "bt"):
            values = getattr(lst, field)
            if values:
                return [text(v) for v in values] if field == "bt" else list(values)
        return []

    def _string(self, index: int) -> str:
        if 0 <= index < len(self._values):
            return text(self._values[index])
        raise OMFormatError(
            f"a compressed attribute refers to string value #{index} but the model's attr_value_enum "
            f"has {len(self._values)} entries; the ModelDef is damaged"
        )


def _list_field(attr: Any, field: str) -> list:
    if attr is None or attr.WhichOneof("value") != "list":
        return []
    return list(getattr(attr.list, field))


_SCALAR_KINDS = frozenset(("s", "i", "f", "b"))
_NUMBER_KINDS = frozenset(("i", "f", "b"))


def model_scalars(entries: Iterable[Any]) -> dict[bytes, tuple[Optional[str], Any]]:
    """The model attrs in one pass, as ``{key: (kind, value)}`` (later duplicates win, like a
    map); `value` is set for the single-value kinds s, i, f and b only, else None.

    Each field read off a protobuf message costs a wrapper object, and `inspect` reads
    every model attr: this touches each entry's key, value and oneof once, and what is
    read from it later (`plain_model_attrs`, the sizes and versions) comes from this dict.
    """
    out: dict[bytes, tuple[Optional[str], Any]] = {}
    for entry in entries:
        value = entry.value
        kind = value.WhichOneof("value")
        out[entry.key] = (kind, getattr(value, kind)) if kind in _SCALAR_KINDS else (kind, None)
    return out


def plain_model_attrs(scalars: dict[bytes, tuple[Optional[str], Any]], limit: int = 4096) -> dict[str, Any]:
    """Model-level attrs that are single ints/floats/bools/strings, for display, from `model_scalars`.

    Lists, blobs (``tasks``) and the compression tables are left out; over-long strings
    are cut to `limit` characters.
    """
    out: dict[str, Any] = {}
    for key, (kind, value) in scalars.items():
        if kind == "s":
            value = value.decode("utf-8", "replace")
            if len(value) > limit:
                value = value[:limit] + "..."
        elif kind not in _NUMBER_KINDS:
            continue
        name = _NAMES.get(key)
        if name is None:
            name = key.decode("utf-8", "replace")
            if len(_NAMES) < _MAX_NAMES:
                _NAMES[key] = name
        out[name] = value
    order = sorted(out)
    return out if order == list(out) else {name: out[name] for name in order}  # ATC writes them sorted


# Decoded model attr names: every model of an ATC version has the same few dozen.
_NAMES: dict[bytes, str] = {}
_MAX_NAMES = 4096
