"""The OM container: read offline models into `ModelInfo`, and write them for tests and demos.

Names are resolved lazily: importing `acl_notebook.om.model` (as the display layer does on
`%load_ext`) must not pull in the reader and writer. protobuf itself is imported the first
time a ModelDef is parsed or written.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "OMFormatError": ".errors",
    "DynamicInfo": ".model",
    "MemoryNeeds": ".model",
    "ModelInfo": ".model",
    "OMHeader": ".model",
    "Partition": ".model",
    "TensorDesc": ".model",
    "inspect": ".reader",
    "parse": ".reader",
    "model_def": ".reader",
    "op_types": ".reader",
    "ModelSpec": ".writer",
    "TensorSpec": ".writer",
    "demo_spec": ".writer",
    "write_om": ".writer",
    "write_om_file": ".writer",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
