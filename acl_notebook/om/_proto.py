"""Message classes for our ge_ir.proto, built at run time from the committed descriptor set.

We ship a serialized ``FileDescriptorSet`` (``ge_ir.desc``) rather than generated
``*_pb2.py`` code because generated code is tied to the protobuf version that produced it;
a descriptor set loads on every protobuf from 3.20 to today. Classes live in a private
pool so they can never clash with another package that registers GE's own protos.
protobuf itself is imported on first use only, keeping ``import acl_notebook`` cheap.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

PACKAGE = "acl_notebook.ge"
DESCRIPTOR_FILE = "ge_ir.desc"

_lock = threading.Lock()
_classes: dict[str, Any] = {}


def descriptor_set_bytes() -> bytes:
    """The committed, serialized FileDescriptorSet (package data next to ge_ir.proto)."""
    return resources.files(__package__).joinpath(DESCRIPTOR_FILE).read_bytes()


def message_class(name: str) -> Any:
    """The message class for ``acl_notebook.ge.<name>``, e.g. ``message_class("ModelDef")``."""
    cls = _classes.get(name)
    if cls is None:
        with _lock:
            if not _classes:
                _classes.update(_build_classes())
        cls = _classes[name]
    return cls


def _build_classes() -> dict[str, Any]:
    from google.protobuf import descriptor_pb2, descriptor_pool

    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in files.file:
        pool.Add(file_proto)
    make = _class_maker()
    out = {}
    for file_proto in files.file:
        if file_proto.package != PACKAGE:
            continue
        for msg in file_proto.message_type:
            out[msg.name] = make(pool.FindMessageTypeByName(f"{PACKAGE}.{msg.name}"))
    return out


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
