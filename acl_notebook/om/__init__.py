"""The OM container: read offline models into `ModelInfo`, and write them for tests and demos.

Importing this package costs only the standard library; protobuf is imported the first
time a ModelDef is parsed or written.
"""

from __future__ import annotations

from .errors import OMFormatError
from .model import DynamicInfo, MemoryNeeds, ModelInfo, OMHeader, Partition, TensorDesc
from .reader import inspect, parse
from .writer import ModelSpec, TensorSpec, demo_spec, write_om, write_om_file

__all__ = [
    "DynamicInfo",
    "MemoryNeeds",
    "ModelInfo",
    "ModelSpec",
    "OMFormatError",
    "OMHeader",
    "Partition",
    "TensorDesc",
    "TensorSpec",
    "demo_spec",
    "inspect",
    "parse",
    "write_om",
    "write_om_file",
]
