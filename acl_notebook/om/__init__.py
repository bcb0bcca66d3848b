"""The OM container: read offline models into `ModelInfo`, and write them for tests and demos.

Names are resolved lazily: importing `acl_notebook.om.model` (as the display layer does on
`%load_ext`) must not pull in the reader and writer. protobuf itself is imported the first
time a ModelDef is parsed or written.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "OMFormatError": "errors",
    "DynamicInfo": "model",
    "MemoryNeeds": "model",
    "ModelInfo": "model",
    "OMHeader": "model",
    "Partition": "model",
    "TensorDesc": "model",
    "inspect": "reader",
    "parse": "reader",
    "ModelSpec": "writer",
    "TensorSpec": "writer",
    "demo_spec": "writer",
    "write_om": "writer",
    "write_om_file": "writer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'acl_notebook.om' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
