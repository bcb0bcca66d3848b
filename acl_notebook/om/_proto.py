"""Message classes for our ge_ir.proto, built at run time from the committed descriptor set.

We ship a serialized ``FileDescriptorSet`` (``ge_ir.desc``) rather than generated
``*_pb2.py`` code because generated code is tied to the protobuf version that produced it;
a descriptor set loads on every protobuf from 3.20 to today. Classes live in a private
pool so they can never clash with another package that registers GE's own protos.
protobuf itself is imported on first use only, keeping ``import acl_notebook`` cheap.
"""

from __future__ import annotations

import os
from _thread import allocate_lock  # threading.Lock without importing threading (cold start)

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

PACKAGE = "acl_notebook.ge"
DESCRIPTOR_FILE = "ge_ir.desc"

_lock = allocate_lock()
_pool: Any = None
_maker: Any = None
_classes: dict[str, Any] = {}


def descriptor_set_bytes() -> bytes:
    """The committed, serialized FileDescriptorSet (package data next to ge_ir.proto).

    Read with a plain open beside this module: ``importlib.resources`` would import
    pathlib and urllib, a third of a cold ``inspect``'s start-up.
    """
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), DESCRIPTOR_FILE), "rb") as f:
        return f.read()


def message_class(name: str) -> Any:
    """The message class for ``acl_notebook.ge.<name>``, e.g. ``message_class("ModelDef")``.

    Classes are built one at a time, when first asked for: a cold ``inspect`` builds the
    slim ModelDef and the attr messages, never the op and tensor classes it does not read.
    """
    cls = _classes.get(name)
    if cls is None:
        with _lock:
            cls = _classes.get(name)
            if cls is None:
                descriptor = _descriptor_pool().FindMessageTypeByName(f"{PACKAGE}.{name}")
                cls = _classes[name] = _maker(descriptor)
    return cls


def unused() -> bool:
    """True while no message class has been built (protobuf not imported on our behalf)."""
    return _pool is None


def _descriptor_pool() -> Any:
    """A private pool holding our files (caller holds `_lock`)."""
    global _pool, _maker
    if _pool is None:
        _pool, _maker = _upb_pool() or _public_pool()
        for file_proto in _set_members(descriptor_set_bytes()):
            _pool.AddSerializedFile(file_proto)  # no descriptor_pb2 classes needed for this
    return _pool


def _upb_pool() -> Optional[tuple[Any, Callable[[Any], Any]]]:
    """upb's own pool and class maker, when upb is the backend in use.

    ``google.protobuf.descriptor_pool`` and ``message_factory`` import the pure-Python
    descriptor machinery (text_format, python_message...), which costs a cold ``inspect``
    more than everything else it does; upb's extension makes the same pool and classes
    without it. Anything unexpected falls back to the public modules.
    """
    try:
        from google._upb import _message
        from google.protobuf import message
    except ImportError:
        return None
    if not getattr(_message, "_IS_UPB", False) or not hasattr(_message, "MessageMeta"):
        return None  # pragma: no cover - another protobuf build

    def make(descriptor: Any) -> Any:
        return _message.MessageMeta(descriptor.name, (message.Message,),
                                    {"DESCRIPTOR": descriptor, "__module__": None})

    return _message.DescriptorPool(), make


def _public_pool() -> tuple[Any, Callable[[Any], Any]]:  # pragma: no cover - non-upb protobuf
    from google.protobuf import descriptor_pool

    return descriptor_pool.DescriptorPool(), _class_maker()


def _set_members(raw: bytes) -> list[bytes]:
    """The serialized FileDescriptorProtos of a FileDescriptorSet (its field 1, repeated).

    A five-line wire walk instead of ``descriptor_pb2``, whose import alone costs more
    than the rest of a cold ``inspect``. protoc writes only field 1 here, dependencies first.
    """
    out, pos = [], 0
    while pos < len(raw):
        key, pos = _varint(raw, pos)
        length, pos = _varint(raw, pos)
        if key != 0x0A:
            raise ValueError(f"unexpected field key {key:#x} in {DESCRIPTOR_FILE}")
        out.append(raw[pos : pos + length])
        pos += length
    return out


def _varint(raw: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = raw[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _class_maker():
    """`GetMessageClass` (protobuf >= 4.21) or the older `MessageFactory.GetPrototype`."""
    from google.protobuf import message_factory

    get_class = getattr(message_factory, "GetMessageClass", None)
    if get_class is not None:
        return get_class
    factory = message_factory.MessageFactory()
    return factory.GetPrototype  # pragma: no cover - protobuf < 4.21 only


def decode_error() -> type[Exception]:
    """protobuf's DecodeError class (imported lazily like everything else here)."""
    from google.protobuf.message import DecodeError

    return DecodeError
