"""Computation graphs for the writer: ops, their tensors and weights, stored the way ATC stores them.

A `ModelSpec` with ``ops`` gets a real graph instead of placeholder Const ops: its Data ops,
one Const op per `ConstSpec` (bytes in WEIGHTS_DATA at a 512-aligned ``data_offset``, packed
into the layout you ask for: FRACTAL_Z, FRACTAL_NZ, NC1HWC0 or a plain one), your `OpSpec`
ops in order, and a NetOutput fed by the model's outputs. The CPU reference
(`acl_notebook.cpu_reference`) computes such models, so tests and demos can build a model whose
answer is known::

    import numpy as np
    from acl_notebook.om import ModelSpec, TensorSpec, write_om
    from acl_notebook.om.opgraph import ConstSpec, OpSpec, Tensor

    w = np.ones((8, 3, 3, 3), np.float16)                     # OIHW, as ONNX has it
    act = Tensor((1, 8, 16, 16), "float16", "NC1HWC0", "NCHW")  # logical shape, physical layout
    spec = ModelSpec(
        inputs=[TensorSpec("x", (1, 3, 16, 16), "float16", "NCHW")],
        outputs=[TensorSpec("conv:0", (1, 1, 16, 16, 16), "float16", "NC1HWC0")],
        consts=[ConstSpec("w", w, "FRACTAL_Z", "NCHW")],
        ops=[
            OpSpec("to5hd", "TransData", ["x"], [Tensor((1, 3, 16, 16), "float16", "NC1HWC0", "NCHW")],
                   {"src_format": "NCHW", "dst_format": "NC1HWC0"}),
            OpSpec("conv", "Conv2D", ["to5hd", "w", "", ""], [act],
                   {"strides": [1, 1, 1, 1], "pads": [1, 1, 1, 1], "dilations": [1, 1, 1, 1],
                    "groups": 1, "data_format": "NCHW"}),
        ],
    )
    blob = write_om(spec)

Conventions (the ones ATC follows, om-execution.md §1-§3):

* A `Tensor` is given by its **logical** shape (the framework's, in ``origin_format``) and its
  physical ``layout``; the stored shape is derived (`layouts.physical_shape`) and
  ``origin_shape`` / ``origin_format`` / ``format_for_int`` (with C0) are written as attrs.
* An op's ``inputs`` are ``"producer"`` / ``"producer:index"``, ``""`` for an absent optional
  input (it keeps its position, with a FORMAT_RESERVED descriptor), or ``"producer:-1"`` for a
  control edge. Each input descriptor is the producer's output descriptor unless
  ``input_descs`` gives another one: that is how an erased Reshape looks (the consumer reads
  the same bytes with its own shape).
* Fused ops are ordinary `OpSpec`s: the head's type, the extra inputs (e.g. FixPipe's 13), and
  the attrs that survive fusion (``_datadump_original_op_types``, ...). Leave out ``strides``
  and ``pads`` to write a fused conv the way ATC 7.x does (its geometry is then solved from
  shapes, and the reference says so).
* Model outputs name ``"op:index"``; their `TensorSpec` dims/dtype/format must be what that op
  writes (the physical descriptor), as in ATC files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from . import layouts
from .enums import ACL_DTYPE_VALUES, ACL_TO_PROTO_DTYPE, FORMAT_VALUES

WEIGHT_ALIGN = 512  # ATC's Const offsets are 512-aligned and start at 512


@dataclass
class Tensor:
    """A tensor as an op sees it: logical `shape` in `origin_format`, stored in `layout` as `dtype`."""

    shape: tuple[int, ...]
    dtype: str = "float16"
    layout: str = "ND"
    origin_format: Optional[str] = None  # default: `layout` for plain layouts, NCHW for packed ones

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if self.dtype not in ACL_DTYPE_VALUES:
            raise ValueError(f"unknown dtype {self.dtype!r}")
        if self.layout not in FORMAT_VALUES:
            raise ValueError(f"unknown layout {self.layout!r}")
        if self.origin_format is None:
            self.origin_format = "NCHW" if self.layout in layouts.PACKED else self.layout

    @property
    def c0(self) -> int:
        import numpy as np

        return layouts.c0_for(np.dtype(self.dtype).itemsize)

    @property
    def physical_shape(self) -> tuple[int, ...]:
        return layouts.physical_shape(self.layout, self.shape, self.origin_format or "ND", self.c0)


@dataclass
class ConstSpec:
    """A weight: `value` is the logical array (framework layout `origin_format`), stored in `layout`."""

    name: str
    value: Any
    layout: str = "ND"
    origin_format: Optional[str] = None
    dtype: Optional[str] = None  # default: the array's dtype

    def tensor(self) -> Tensor:
        import numpy as np

        value = np.asarray(self.value)
        return Tensor(value.shape, self.dtype or value.dtype.name, self.layout, self.origin_format)

    def physical_bytes(self) -> bytes:
        import numpy as np

        t = self.tensor()
        value = np.asarray(self.value, dtype=t.dtype)
        return layouts.to_physical(value, t.layout, t.origin_format or "ND", t.c0).tobytes()


@dataclass
class OpSpec:
    """One op of the graph (see the module docstring for the input and descriptor rules)."""

    name: str
    type: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    input_descs: Optional[list[Optional[Tensor]]] = None  # None entries: take the producer's


def build_weights(consts: list[ConstSpec]) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """The WEIGHTS_DATA blob and ``{const name: (data_offset, weight_size)}``."""
    blob = bytearray(WEIGHT_ALIGN if consts else 0)
    where: dict[str, tuple[int, int]] = {}
    for c in consts:
        data = c.physical_bytes()
        where[c.name] = (len(blob), len(data))
        blob += data
        blob += bytes(-len(blob) % WEIGHT_ALIGN)
    return bytes(blob), where


def split_input(ref: str) -> tuple[str, int]:
    """``"op:1"`` -> ("op", 1); ``"op"`` -> ("op", 0); ``"op:-1"`` -> ("op", -1)."""
    node, sep, idx = ref.rpartition(":")
    if sep and (idx.isdigit() or (idx.startswith("-") and idx[1:].isdigit())):
        return node, int(idx)
    return ref, 0


class GraphEmitter:
    """Writes Const ops, user ops and their descriptors into a GraphDef (used by `writer`)."""

    def __init__(self, graph: Any, attrs: Any, consts: list[ConstSpec], where: dict[str, tuple[int, int]]):
        self.graph = graph
        self.attrs = attrs  # the writer's _AttrWriter (compression aware)
        self.produced: dict[tuple[str, int], tuple[Tensor, int, int]] = {}  # -> (tensor, offset, size)
        self.consts = consts
        self.where = where

    def data_output(self, name: str, tensor: Tensor) -> None:
        self.produced[(name, 0)] = (tensor, 0, 0)

    def emit_consts(self) -> None:
        for c in self.consts:
            tensor = c.tensor()
            offset, size = self.where[c.name]
            op = self.graph.op.add()
            op.name, op.type = c.name.encode(), b"Const"
            self.attrs.put(op.attr, "_lxfusion_engine_name", "DNN_VM_GE_LOCAL")
            desc = op.output_desc.add()
            self.describe(desc, tensor, offset, size)
            value = _value_entry(op.attr, self.attrs, "value")
            value.t.desc.CopyFrom(desc)
            self.produced[(c.name, 0)] = (tensor, offset, size)

    def emit_op(self, spec: OpSpec) -> None:
        op = self.graph.op.add()
        op.name, op.type = spec.name.encode(), spec.type.encode()
        given = spec.input_descs or []
        for k, ref in enumerate(spec.inputs):
            op.input.append(ref.encode())
            if ref == "":
                _reserved(op.input_desc.add(), self.attrs)
                op.is_input_const.append(False)
                continue
            node, idx = split_input(ref)
            if idx < 0:
                continue  # control edge: no descriptor, as in ATC files
            if (node, idx) not in self.produced:
                raise ValueError(f"op {spec.name!r} input {k} names {ref!r}, which no earlier op produces")
            tensor, offset, size = self.produced[(node, idx)]
            override = given[k] if k < len(given) else None
            self.describe(op.input_desc.add(), override or tensor, offset, size)
            op.is_input_const.append(size > 0)
        for k, tensor in enumerate(spec.outputs):
            self.describe(op.output_desc.add(), tensor, 0, 0)
            self.produced[(spec.name, k)] = (tensor, 0, 0)
        for name, value in spec.attrs.items():
            self.attrs.put(op.attr, name, value)

    def output(self, ref: str) -> Tensor:
        node, idx = split_input(ref)
        if (node, idx) not in self.produced:
            raise ValueError(f"model output {ref!r} names no op output of the graph")
        return self.produced[(node, idx)][0]

    def describe(self, desc: Any, t: Tensor, offset: int, size: int) -> None:
        """Fill a TensorDescriptor as ATC does: physical dtype/layout/shape plus origin attrs."""
        desc.dtype = ACL_TO_PROTO_DTYPE.get(ACL_DTYPE_VALUES[t.dtype], 0)
        desc.shape.dim.extend(t.physical_shape)
        desc.layout = t.layout.encode()
        desc.device_type = b"NPU"
        desc.real_dim_cnt = len(t.physical_shape)
        if size:
            desc.data_offset = offset
            desc.weight_size = size
        self.attrs.put(desc.attr, "format_for_int", layouts.format_for_int(t.layout, t.c0))
        self.attrs.put(desc.attr, "origin_format", t.origin_format)
        self.attrs.put(desc.attr, "origin_shape", list(t.shape))


def _reserved(desc: Any, attrs: Any) -> None:
    """The descriptor of an absent optional input: dtype 0, FORMAT_RESERVED."""
    desc.layout = b"FORMAT_RESERVED"
    attrs.put(desc.attr, "format_for_int", FORMAT_VALUES["RESERVED"])
    attrs.put(desc.attr, "origin_format", "ND")


def _value_entry(entries: Any, attrs: Any, name: str) -> Any:
    """An attr entry named `name` whose AttrDef the caller fills (a TensorDef has no plain value)."""
    attrs.put(entries, name, 0)
    entry = entries[len(entries) - 1]
    entry.value.Clear()
    return entry.value
