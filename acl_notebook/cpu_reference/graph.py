"""The graph of an offline model as the CPU reference needs it: nodes, wiring, descriptors, weights.

Built once from the model bytes (om-execution.md §1-§3): graph[0] of the ModelDef in stored
order (every data input names an earlier op), each op's data inputs as ``(producer, index)``
with ``None`` for an absent optional input (positions count, control edges ``:-1`` are
dropped), every tensor descriptor in both its physical and its logical form, and the
WEIGHTS_DATA partition as a zero-copy ``memoryview`` that Const ops point into.

Anything inconsistent (a producer that does not exist, a Const outside the weights, no
NetOutput) is one `OMFormatError`, like every other bad-bytes case in the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..hostbuf import read_view
from ..om import modeldef
from ..om.attrs import AttrNames, entries_dict, text
from ..om.enums import FORMAT_NAMES, PROTO_TO_ACL_DTYPE, numpy_dtype_name
from ..om.errors import OMFormatError
from ..om.layouts import PACKED, c0_for
from ..om.reader import decode_full

MODEL_DEF, WEIGHTS_DATA = 0, 1
_DESC_ATTRS = frozenset({b"origin_format", b"origin_shape", b"format_for_int"})
#: Bytes per value of each numpy dtype name a descriptor can have.
ITEMSIZE = {"float16": 2, "float32": 4, "int8": 1, "uint8": 1, "int32": 4, "int64": 8, "bool": 1,
            "int16": 2, "uint16": 2, "uint32": 4, "uint64": 8, "float64": 8}


@dataclass(frozen=True)
class Desc:
    """One tensor descriptor: the physical tensor (`layout`, `shape`, `dtype`) and its logical view.

    `logical_shape` / `logical_format` are what kernels compute on: the stored shape for plain
    layouts, ``origin_shape`` in ``origin_format`` for the packed ones (NC1HWC0, FRACTAL_Z,
    FRACTAL_NZ). `dtype` is a numpy dtype name, or None for an absent input or a type numpy
    cannot hold.
    """

    present: bool
    dtype: Optional[str]
    acl_dtype: int
    layout: str
    shape: tuple[int, ...]
    origin_format: str
    origin_shape: Optional[tuple[int, ...]]
    c0: int
    data_offset: int = 0
    weight_size: int = 0
    #: Values the stored (physical) tensor holds, negative dims counted as 0; and the bytes of
    #: the logical array in its dtype (float32 where numpy has none), what the interpreter keeps
    #: for this tensor and `budget` adds up. Set once here: the budget reads them for every op.
    count: int = field(init=False, repr=False, compare=False)
    logical_bytes: int = field(init=False, repr=False, compare=False)
    packed: bool = field(init=False, repr=False, compare=False)  # a packed layout (NC1HWC0, FRACTAL_*)

    @property
    def logical_shape(self) -> tuple[int, ...]:
        if self.packed and self.origin_shape is not None:
            return self.origin_shape
        return self.shape

    @property
    def logical_format(self) -> str:
        if self.packed:
            return self.origin_format or "NCHW"
        if self.layout == "ND" and self.origin_format in ("NCHW", "NHWC") and len(self.shape) == 4:
            return self.origin_format
        return self.layout

    def __post_init__(self) -> None:
        object.__setattr__(self, "packed", self.layout in PACKED)
        if not self.present:  # an absent input: nothing to hold (ABSENT's shape is ())
            object.__setattr__(self, "count", 0)
            object.__setattr__(self, "logical_bytes", 0)
            return
        n = 1
        for d in self.shape:
            n *= d if d > 0 else 0
        object.__setattr__(self, "count", n)
        if self.packed and self.origin_shape is not None:
            n = 1
            for d in self.origin_shape:
                n *= d if d > 0 else 0
        object.__setattr__(self, "logical_bytes", n * (ITEMSIZE.get(self.dtype or "", 0) or 4))

    @property
    def itemsize(self) -> int:
        return ITEMSIZE.get(self.dtype or "", 0)

    @property
    def nbytes(self) -> int:
        return self.count * self.itemsize

    def text(self) -> str:
        """``float16 NC1HWC0 [1,1,42,42,16] (NHWC [1,42,42,1])`` for notes and errors."""
        out = f"{self.dtype} {self.layout} {list(self.shape)}"
        if self.packed:
            out += f" ({self.logical_format} {list(self.logical_shape)})"
        return out


ABSENT = Desc(False, None, -1, "FORMAT_RESERVED", (), "ND", None, 16)


@dataclass
class Node:
    """One op: its data inputs by position (None = absent), descriptors and decoded attrs."""

    index: int
    name: str
    type: str
    inputs: list[Optional[tuple[str, int]]]
    input_descs: list[Desc]
    output_descs: list[Desc]
    attrs: dict[str, Any]
    const: Optional[Desc] = None  # Const: where its bytes are
    const_data: bytes = b""  # Const: TensorDef.data when the file stores the bytes inline
    subgraphs: list[str] = field(default_factory=list)


@dataclass
class Graph:
    """A model graph ready to interpret; `weights` views the file's WEIGHTS_DATA partition."""

    name: str
    nodes: list[Node]
    by_name: dict[str, Node]
    inputs: list[Node]  # Data ops in model input order
    netoutput: Node
    weights: memoryview
    framework: str = ""
    subgraphs: dict[str, Graph] = field(default_factory=dict)


def _flat(data: Any) -> memoryview:
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) else data
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def load_graph(data: Any) -> Graph:
    """Decode the model in `data` (a bytes-like object kept alive by the caller) into a `Graph`."""
    view = _flat(data)
    model, partitions = decode_full(view)  # refuses a model without a MODEL_DEF partition
    root = {p.type: p for p in partitions if p.model == 0}
    weights = root.get(WEIGHTS_DATA)
    blob = view[weights.offset: weights.offset + weights.size] if weights else view[0:0]
    return graph_of(model, blob)


@dataclass(frozen=True)
class Detached:
    """What a model's graph needs once the model buffer is gone: the ModelDef bytes and the bytes
    of every Const some op reads (by data_offset and size), nothing else of WEIGHTS_DATA.
    `decoded` is the ModelDef already decoded, when the graph is built right away (else it is
    decoded again from `modeldef` then: a decoded ModelDef is far larger than its bytes)."""

    modeldef: bytes
    consts: dict
    copied: int
    decoded: Any = field(default=None, compare=False, repr=False)

    def graph(self) -> Graph:
        model = self.decoded if self.decoded is not None else modeldef.load(self.modeldef, full=True)
        return graph_of(model, self.consts)


def detach_model(data: Any, keep_decoded: bool = False) -> Detached:
    """Copy out of the model buffer what `Detached.graph` needs (see `Detached`), checking every read
    Const lies inside WEIGHTS_DATA. One ModelDef decode and a scan of op inputs: no graph is built."""
    view = _flat(data)
    model, partitions = decode_full(view)
    root = {p.type: p for p in partitions if p.model == 0}
    weights, mdef = root.get(WEIGHTS_DATA), root[MODEL_DEF]
    blob = view[weights.offset: weights.offset + weights.size] if weights else view[0:0]
    names = AttrNames(entries_dict(model.attr))
    kept: dict[tuple[int, int], bytes] = {}
    copied = 0
    for g in model.graph:
        read = {ref.rpartition(b":")[0] or ref for op in g.op for ref in op.input
                if ref and not ref.endswith(b":-1")}
        for op in g.op:
            if op.type != b"Const" or op.name not in read:
                continue
            where = _const_weights(op, names, blob)  # what _const reads, no node built at load
            if where is None or where in kept:
                continue
            kept[where] = _copy(blob, *where)
            copied += where[1]
    if keep_decoded:  # the graph is built from `model` right away: its bytes are not needed
        return Detached(b"", kept, copied, model)
    return Detached(_copy(view, mdef.offset, mdef.size), kept, copied)


def _const_weights(op: Any, names: AttrNames, blob: memoryview) -> Optional[tuple[int, int]]:
    """(data_offset, nbytes) of a Const whose bytes live in WEIGHTS_DATA, None when TensorDef.data
    holds them inline: the descriptor `_const` picks, bounds-checked as `_const` checks it, read
    from the protobuf fields alone (a load builds no `Desc`, and no attr is decoded)."""
    tensor = None
    for entry in op.attr:  # the last `value` TensorDef wins, as in _node
        if entry.value.WhichOneof("value") == "t" and names.resolve(entry.key)[0] == b"value":
            tensor = entry.value.t
    where = _weight_range(tensor.desc) if tensor is not None and tensor.HasField("desc") else None
    if where is None:
        if not op.output_desc:
            raise OMFormatError(f"Const op {text(op.name)!r} has no tensor descriptor; the graph is damaged")
        where = _weight_range(op.output_desc[0]) or (0, 0, 0)  # an absent descriptor: no bytes
    offset, nbytes, weight_size = where
    stored = len(tensor.data) if tensor is not None and tensor.data else weight_size
    _check_stored(text(op.name), nbytes, stored, "inline" if tensor is not None and tensor.data else "weight")
    if tensor is not None and tensor.data:
        return None
    size = weight_size or nbytes
    if offset < 0 or offset + size > len(blob):
        raise OMFormatError(
            f"Const op {text(op.name)!r} points at WEIGHTS_DATA[{offset}:{offset + size}] "
            f"but the partition holds {len(blob)} bytes; the model is damaged or its weights are kept elsewhere"
        )
    return offset, nbytes


def _weight_range(d: Any) -> Optional[tuple[int, int, int]]:
    """(data_offset, nbytes, weight_size) of a descriptor `_desc` calls present, else None."""
    if d.layout in (b"", b"FORMAT_RESERVED", b"RESERVED") or (d.dtype == 0 and not d.shape.dim):
        return None
    count = 1
    for dim in d.shape.dim:
        count *= max(dim, 0)
    itemsize = ITEMSIZE.get(numpy_dtype_name(PROTO_TO_ACL_DTYPE.get(d.dtype, -1)) or "", 0)
    return int(d.data_offset), count * itemsize, int(d.weight_size)


def _copy(view: memoryview, offset: int, size: int) -> bytes:
    """view[offset:offset+size] as bytes, read SIGBUS-safely (the view may map a file that shrinks)."""
    data = read_view(view, offset, size)
    if len(data) != size:
        raise OMFormatError("the model changed while it was being loaded (its file shrank); load it again")
    return bytes(data)


def graph_of(model: Any, blob: Any) -> Graph:
    """The `Graph` of a decoded ModelDef; `blob` is WEIGHTS_DATA (a memoryview) or `Detached.consts`."""
    raw = entries_dict(model.attr)
    names = AttrNames(raw)
    framework = modeldef.describe(model, scan_ops=False).framework
    if not model.graph:
        raise OMFormatError("the ModelDef has no graph; there is nothing to compute")
    graphs = {text(g.name): g for g in model.graph}
    main = _build(model.graph[0], names, blob, framework)
    for sub_name in {s for n in main.nodes for s in n.subgraphs}:
        if sub_name in graphs:
            main.subgraphs[sub_name] = _build(graphs[sub_name], names, blob, framework, need_output=True)
    return main


def _build(g: Any, names: AttrNames, blob: memoryview, framework: str, need_output: bool = True) -> Graph:
    nodes: list[Node] = []
    by_name: dict[str, Node] = {}
    for index, op in enumerate(g.op):
        node = _node(index, op, names, blob)
        for ref in node.inputs:
            if ref is None:
                continue
            producer = by_name.get(ref[0])
            if producer is None:
                raise OMFormatError(
                    f"op {node.name!r} ({node.type}) reads {ref[0]!r}, which is not an earlier op of the graph; "
                    "the graph is inconsistent"
                )
            if ref[1] >= len(producer.output_descs) and producer.type not in ("Data", "Const"):
                raise OMFormatError(
                    f"op {node.name!r} reads output {ref[1]} of {producer.name!r}, which has "
                    f"{len(producer.output_descs)} outputs; the graph is inconsistent"
                )
        nodes.append(node)
        by_name[node.name] = node
    outputs = [n for n in nodes if n.type == "NetOutput"]
    if not outputs:
        raise OMFormatError("the graph has no NetOutput op, so the model's outputs are unknown")
    data = [n for n in nodes if n.type in ("Data", "AippData", "AnnData")]
    ordered = sorted(enumerate(data), key=lambda p: (p[1].attrs.get("index", p[0]) if isinstance(
        p[1].attrs.get("index"), int) else p[0], p[0]))
    weights = blob if isinstance(blob, memoryview) else memoryview(b"")
    return Graph(text(g.name), nodes, by_name, [n for _, n in ordered], outputs[0], weights, framework)


def _node(index: int, op: Any, names: AttrNames, blob: memoryview) -> Node:
    name, kind = text(op.name), text(op.type)
    inputs: list[Optional[tuple[str, int]]] = []
    for raw in op.input:
        ref = text(raw)
        if ref == "":
            inputs.append(None)
            continue
        producer, sep, idx = ref.rpartition(":")
        if not sep:
            inputs.append((ref, 0))
            continue
        try:
            k = int(idx)
        except ValueError:
            inputs.append((ref, 0))
            continue
        if k >= 0:
            inputs.append((producer, k))
        # k < 0: a control edge (om-execution.md §2), no data and no descriptor
    input_descs = [_desc(d, names) for d in op.input_desc]
    while len(input_descs) < len(inputs):
        input_descs.append(ABSENT)
    attrs: dict[str, Any] = {}
    tensor_value = None
    for entry in op.attr:
        real, as_string = names.resolve(entry.key)
        if real == b"value" and entry.value.WhichOneof("value") == "t":
            tensor_value = entry.value.t
            continue
        attrs[text(real)] = names.value(entry.value, as_string)
    node = Node(index, name, kind, inputs, input_descs, [_desc(d, names) for d in op.output_desc], attrs,
                subgraphs=[text(s) for s in op.subgraph_name])
    if kind == "Const":
        _const(node, tensor_value, names, blob)
    return node


def _const(node: Node, tensor: Any, names: AttrNames, blob: memoryview) -> None:
    """Where a Const's bytes are: TensorDef.data, else WEIGHTS_DATA at desc.data_offset (netron's order)."""
    desc = _desc(tensor.desc, names) if tensor is not None and tensor.HasField("desc") else None
    if desc is None or not desc.present:
        desc = node.output_descs[0] if node.output_descs else None
    if desc is None:
        raise OMFormatError(f"Const op {node.name!r} has no tensor descriptor; the graph is damaged")
    node.const = desc
    inline = tensor is not None and bool(tensor.data)
    _check_stored(node.name, desc.nbytes, len(tensor.data) if inline else desc.weight_size,
                  "inline" if inline else "weight")
    if inline:
        node.const_data = bytes(tensor.data)
        return
    if isinstance(blob, dict):  # a detached model: the bytes kept at load (absent: no op reads it)
        node.const_data = blob.get((desc.data_offset, desc.nbytes), b"")
        return
    size = desc.weight_size or desc.nbytes
    if desc.data_offset < 0 or desc.data_offset + size > len(blob):
        raise OMFormatError(
            f"Const op {node.name!r} points at WEIGHTS_DATA[{desc.data_offset}:{desc.data_offset + size}] "
            f"but the partition holds {len(blob)} bytes; the model is damaged or its weights are kept elsewhere"
        )


def _check_stored(name: str, nbytes: int, stored: int, where: str) -> None:
    """A Const whose shape and dtype need more bytes than the file stores for it (TensorDef.data,
    or ``weight_size`` in WEIGHTS_DATA; 0 there means the shape alone sizes it) is damage: read
    as declared it would run past its bytes, or ask for terabytes a few bytes cannot back."""
    if nbytes > stored and (stored or where == "inline"):
        raise OMFormatError(
            f"Const op {name!r} declares {nbytes} bytes of values but the file stores {stored} "
            f"({'TensorDef.data' if where == 'inline' else 'weight_size'}); the model is damaged")


def _desc(d: Any, names: AttrNames) -> Desc:
    layout = text(d.layout)
    if not layout and d.dtype == 0 and not d.shape.dim:
        return ABSENT
    attrs = names.collect(d.attr, _DESC_ATTRS)
    acl_dtype = PROTO_TO_ACL_DTYPE.get(d.dtype, -1)
    dtype = numpy_dtype_name(acl_dtype)
    fmt = attrs.get("format_for_int")
    if layout in ("", "FORMAT_RESERVED", "RESERVED") or (d.dtype == 0 and not d.shape.dim):
        return ABSENT
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt >= 0 and not layout:
        layout = FORMAT_NAMES.get(fmt & 0xFF, layout)
    origin = attrs.get("origin_shape")
    origin_shape = tuple(int(v) for v in origin) if isinstance(origin, list) else None
    origin_format = attrs.get("origin_format") if isinstance(attrs.get("origin_format"), str) else layout
    itemsize = ITEMSIZE.get(dtype or "", 2)
    return Desc(
        present=True,
        dtype=dtype,
        acl_dtype=acl_dtype,
        layout=layout,
        shape=tuple(int(v) for v in d.shape.dim),
        origin_format=origin_format or "ND",
        origin_shape=origin_shape,
        c0=c0_for(itemsize, fmt if isinstance(fmt, int) else None),
        data_offset=int(d.data_offset),
        weight_size=int(d.weight_size),
    )
