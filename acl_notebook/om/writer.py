"""Write offline models of any shape and size, for tests, demos, notebooks and benchmarks.

The files follow what ATC emits as far as a reader or loader looks: the 256-byte header
(layout 1.0 or 2.0), narrow or wide partition tables, a MODEL_INOUT_INFO summary, and a
ModelDef whose graph has Data ops with ``index`` attrs, a NetOutput with
``src_name``/``src_index``, model attrs (memory sizes, SoC, versions,
``attr_model_out_nodes_name``), and for multi-gear models a Case op with the gear attrs,
``_mbatch_origin_input_dims`` on the Data ops and the extra ``ascend_mbatch_shape_data``
input ATC adds. The kernels and task list are empty, so a real NPU would refuse to run
these models; everything that only describes the model is faithful.

Conventions worth knowing:

* `TensorSpec.dims` are written as given; ``-1`` marks a dynamic axis. For gear models the
  inputs keep their ``-1`` axes and their byte size is that of the largest gear (what ACL
  reports); give outputs their largest shape, as ATC does.
* An output name without ``":"`` reads back as ``"name:0"``, exactly as ATC models name
  their outputs (``node:index`` or ``node:index:tensor``).
* A 4-D FRACTAL_Z output reads back as HWCN with reordered dims, as GE reports it.
* The weights partition is `weight_size` zero bytes, unless the spec has ``consts`` / ``ops``:
  then the graph is a real computation (see `opgraph`) and WEIGHTS_DATA holds its weights,
  packed as ATC packs them, so the CPU reference computes the model's true answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from . import _proto, inout
from .attrs import encode_index
from .enums import ACL_DTYPE_VALUES, ACL_TO_PROTO_DTYPE, FORMAT_VALUES, dtype_name, format_name, tensor_size
from .header import VERSION_1, VERSION_2, pack_header
from .model import TensorDesc
from .partitions import pack_table

MBATCH_INPUT = "ascend_mbatch_shape_data"
_DYNAMIC_TYPE = {"batch": 1, "hw": 2, "dims": 3}
_FRACTAL_Z = FORMAT_VALUES["FRACTAL_Z"]
_ALIGN = 512  # GE aligns feature-map blocks to 512 bytes
_CHUNK = 1 << 20
# Tensor attr names ATC leaves readable even in compressed models (as seen on real files).
_PLAIN_TENSOR_ATTRS = frozenset({
    "format_for_int", "origin_format", "origin_format_for_int", "origin_shape", "origin_data_type",
    "origin_shape_initialized",
})


@dataclass
class TensorSpec:
    """One model input or output: name, dims (-1 = dynamic axis), dtype and format names.

    `dims_v2` (inputs of static models only) makes a static-AIPP-style input: its byte
    size is then that of `dims_v2` (the source image in the AIPP input format, e.g.
    (1, 336, 224, 1) uint8 for a YUV420SP 224x224 image), written as MODEL_INOUT_INFO's
    dimsV2 and the Data op's ``input_dims``, while `dims` stays the network's view."""

    name: str
    dims: tuple[int, ...]
    dtype: str = "float32"
    format: str = "NCHW"
    dims_v2: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.dims = tuple(int(d) for d in self.dims)
        self.dims_v2 = tuple(int(d) for d in self.dims_v2)


def _default_inputs() -> list[TensorSpec]:
    return [TensorSpec("input", (1, 3, 224, 224))]


def _default_outputs() -> list[TensorSpec]:
    return [TensorSpec("output", (1, 1000), format="ND")]


@dataclass
class ModelSpec:
    """Everything `write_om` needs; the defaults give a small static image classifier."""

    name: str = "model"
    soc_version: str = "Ascend910B1"
    inputs: list[TensorSpec] = field(default_factory=_default_inputs)
    outputs: list[TensorSpec] = field(default_factory=_default_outputs)
    dynamic_kind: Optional[str] = None  # "batch" | "hw" | "dims"
    gears: list[tuple[int, ...]] = field(default_factory=list)  # batch: (b,); hw: (h, w); dims: -1 values
    shape_order: list[str] = field(default_factory=list)  # "dims": input names in gear order
    work_size: int = 0  # ModelDef memory_size (0 -> the aligned sum of I/O sizes)
    weight_size: int = 0  # bytes of the WEIGHTS_DATA blob (zeros)
    op_count: int = 0  # pad the graph with Const ops up to this many ops
    header_version: int = 2  # 1 (old layout, no model_num) or 2
    wide_table: Optional[bool] = None  # default: True for version 2, False for version 1
    inout_info: bool = True  # write a MODEL_INOUT_INFO partition
    compress_attrs: bool = False  # enum-compress op/tensor attr names (om_compress_version=1)
    submodels: int = 1  # model_num > 1: extra sub-model tables
    atc_version: str = "7.6.0.1.220"
    framework: str = "Onnx"
    ops: list = field(default_factory=list)  # opgraph.OpSpec, in an order where inputs come first
    consts: list = field(default_factory=list)  # opgraph.ConstSpec: the weights (WEIGHTS_DATA)
    # For test files, hostile ones included: model attrs that replace or add to the computed
    # ones (any value, e.g. memory_size=-2**40), and raw MODEL_INOUT_INFO bytes to write
    # instead of the computed partition.
    model_attrs: dict[str, Any] = field(default_factory=dict)
    inout_payload: Optional[bytes] = None
    # gear models with a computation: one op list per gear, each for that gear's static shapes
    # (ATC clones the graph per gear behind the Case op); the weights are stored once
    branches: list = field(default_factory=list)


def write_om(spec: ModelSpec) -> bytes:
    """The whole model as bytes.

    The zero weight blob is a fresh ``bytes(n)``, which the allocator hands out as untouched
    zero pages; ``b"".join`` then builds the one output buffer, so a large model costs
    about one copy of itself in RAM.
    """
    return b"".join(_chunks(spec, stream=False))


def write_om_file(spec: ModelSpec, path: Union[str, os.PathLike]) -> int:
    """Write the model to `path`, streaming the weight blob in 1 MiB chunks; returns the size."""
    total = 0
    with open(path, "wb") as f:
        for chunk in _chunks(spec, stream=True):
            f.write(chunk)
            total += len(chunk)
    return total


# ----------------------------------------------------------------------------- layout
def _chunks(spec: ModelSpec, stream: bool) -> Iterator[bytes]:
    """Header, then each table followed by its payloads; an int payload means that many zeros."""
    plan = _Plan(spec)
    root: list[tuple[int, Union[bytes, int]]] = []
    if spec.inout_payload is not None:
        root.append((8, spec.inout_payload))
    elif spec.inout_info:
        root.append((8, inout.encode(plan.acl_inputs, plan.acl_outputs, plan.kind, plan.gears,
                                     plan.shape_order, plan.output_shapes)))
    weights: Union[bytes, int] = plan.weights if plan.weights is not None else spec.weight_size
    root += [(0, plan.modeldef()), (1, weights), (3, b""), (2, b"")]
    models = [root] + [[(0, plan.submodel(i)), (2, b"")] for i in range(1, spec.submodels)]
    tables = [pack_table([(ptype, _length(body)) for ptype, body in parts], plan.wide) for parts in models]
    payload = sum(len(t) for t in tables) + sum(_length(body) for parts in models for _, body in parts)
    yield pack_header(
        version=VERSION_1 if spec.header_version == 1 else VERSION_2,
        name=spec.name,
        payload_size=payload,
        wide_table=plan.wide,
        model_num=spec.submodels,
        is_unknow_model=plan.unknown_shape,
    )
    for table, parts in zip(tables, models):
        yield table
        for _, body in parts:
            if isinstance(body, int):
                yield from _zeros(body, stream)
            elif body:
                yield body


def _length(body: Union[bytes, int]) -> int:
    return body if isinstance(body, int) else len(body)


def _zeros(size: int, stream: bool) -> Iterator[bytes]:
    if not stream:
        if size:
            yield bytes(size)
        return
    chunk = bytes(min(size, _CHUNK))
    left = size
    while left >= len(chunk) > 0:
        yield chunk
        left -= len(chunk)
    if left:
        yield chunk[:left]


# ----------------------------------------------------------------------------- planning
class _Plan:
    """The spec checked and turned into ACL-view descriptors plus the ModelDef to write."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        _validate(spec)
        self.wide = spec.wide_table if spec.wide_table is not None else spec.header_version >= 2
        self.kind = spec.dynamic_kind
        self.gears = tuple(tuple(int(v) for v in g) for g in spec.gears)
        self.shape_order = tuple(spec.shape_order)
        self.gear_dims = _gear_dims(spec, self.gears)  # input name -> dims per gear
        inputs = [self._input_desc(t) for t in spec.inputs]
        if self.kind:
            n = len(self.gears[0])
            # DT_INT32, one value a dynamic dim: what GE's MultiBatchClonePass (ATC's default way
            # of building a multi-gear model) gives the input it adds
            inputs.append(TensorDesc(MBATCH_INPUT, (n,), "int32", "ND", 4 * n, ACL_DTYPE_VALUES["int32"],
                                     FORMAT_VALUES["ND"]))
        self.acl_inputs = tuple(inputs)
        self.acl_outputs = tuple(_output_desc(t) for t in spec.outputs)
        self.output_shapes = _output_shapes(spec, self.gears) if self.kind else ()
        self.unknown_shape = int(spec.submodels > 1 or (
            not self.kind and any(d < 0 for t in spec.inputs + spec.outputs for d in t.dims)))
        self.weights: Optional[bytes] = None
        self.where: dict[str, tuple[int, int]] = {}
        if spec.ops or spec.consts or spec.branches:
            if self.kind and (spec.ops or len(spec.branches) != len(self.gears)):
                raise ValueError("a model with ops and dynamic gears takes `branches`, one op list per gear "
                                 f"({len(self.gears)} here), instead of `ops`")
            if spec.branches and not self.kind:
                raise ValueError("`branches` are for multi-gear models; a static model takes `ops`")
            from .opgraph import build_weights

            self.weights, self.where = build_weights(spec.consts)
            if spec.branches:
                self.output_shapes = _branch_output_shapes(spec)

    def _input_desc(self, t: TensorSpec) -> TensorDesc:
        dtype = ACL_DTYPE_VALUES[t.dtype]
        per_gear = self.gear_dims.get(t.name)
        if t.dims_v2 and (self.kind or any(d < 0 for d in t.dims + t.dims_v2)):
            raise ValueError(f"input {t.name!r}: dims_v2 (static AIPP) is for static inputs of static models only")
        size = max(tensor_size(d, dtype) for d in per_gear) if per_gear else tensor_size(t.dims_v2 or t.dims, dtype)
        return TensorDesc(t.name, t.dims, dtype_name(dtype), t.format, size, dtype, FORMAT_VALUES[t.format],
                          dims_v2=t.dims_v2)

    # --- ModelDef
    def modeldef(self) -> bytes:
        spec = self.spec
        attrs = _AttrWriter(spec.compress_attrs)
        model = _proto.message_class("ModelDef")()
        model.name = spec.name.encode()
        model.version = 2
        graph = model.graph.add()
        graph.name = f"{spec.name}_0".encode()
        for index, (tspec, desc) in enumerate(zip(self._input_specs(), self.acl_inputs)):
            self._data_op(graph, attrs, index, tspec, desc)
        if self.weights is not None and self.kind:
            self._gear_graphs(model, graph, attrs)
        elif self.weights is not None:
            self._compute_graph(graph, attrs, self.spec.ops, {t.name: t.dims for t in self.spec.inputs},
                                [t.dims for t in self.spec.outputs])
        else:
            producers = _producers(spec.outputs)
            fixed = len(self.acl_inputs) + len(producers) + 1 + (1 if self.kind else 0)  # + NetOutput, Case
            _const_ops(graph, attrs, max(spec.op_count - fixed, 0), spec.weight_size)
            if self.kind:
                self._case_op(graph, attrs)
            for node in producers:
                op = graph.op.add()
                op.name, op.type = node.encode(), b"Cast"
                attrs.put(op.attr, "_lxfusion_engine_name", "AIcoreEngine")
            self._netoutput(graph, attrs, producers)
        for i, op in enumerate(graph.op):
            op.id = i
        memory = _aligned_io(self.acl_inputs + self.acl_outputs)
        work = spec.work_size or memory
        weight_size = len(self.weights) if self.weights is not None else spec.weight_size
        plain = [
            ("memory_size", work), ("weight_size", weight_size),
            ("zero_copy_memory_size", min(memory, work)), ("stream_num", 1), ("event_num", 0),
            ("label_num", 0), ("soc_version", spec.soc_version), ("atc_version", spec.atc_version),
            ("opp_version", spec.atc_version), ("framework_type", spec.framework), ("target_type", "MINI"),
            ("attr_model_out_nodes_name", [t.name for t in spec.outputs]),
            ("atc_cmdline", _cmdline(spec)),
        ]
        chosen = dict(plain)
        chosen.update(spec.model_attrs)
        for name, value in chosen.items():
            _fill(model.attr.add(), name, value)
        attrs.finish(model)
        return model.SerializeToString()

    def _compute_graph(self, graph: Any, attrs: _AttrWriter, ops: list, input_dims: dict[str, tuple[int, ...]],
                       output_dims: list[tuple[int, ...]]) -> None:
        """Consts, `ops` and a NetOutput wired to them (the Data ops are already there)."""
        from .opgraph import GraphEmitter, Tensor

        emitter = GraphEmitter(graph, attrs, self.spec.consts, self.where)
        for t in self.spec.inputs:
            emitter.data_output(t.name, Tensor(input_dims[t.name], t.dtype, t.format, t.format))
        emitter.emit_consts()
        for op in ops:
            emitter.emit_op(op)
        out = graph.op.add()
        out.name, out.type = b"Node_Output", b"NetOutput"
        attrs.put(out.attr, "_lxfusion_engine_name", "DNN_VM_RTS")
        for t, dims in zip(self.spec.outputs, output_dims):
            node, idx = _node_and_index(t.name)
            tensor = emitter.output(f"{node}:{idx}")
            if tuple(tensor.physical_shape) != tuple(dims) or tensor.dtype != t.dtype or tensor.layout != t.format:
                raise ValueError(
                    f"output {t.name!r} is declared {t.dtype} {t.format} {list(dims)} but op {node!r} writes "
                    f"{tensor.dtype} {tensor.layout} {list(tensor.physical_shape)}"
                )
            out.input.append(f"{node}:{idx}".encode())
            out.src_name.append(node.encode())
            out.src_index.append(idx)
            emitter.describe(out.input_desc.add(), tensor, 0, 0)

    def _gear_graphs(self, model: Any, graph: Any, attrs: _AttrWriter) -> None:
        """A Case op in the root graph and one sub-graph per gear, as ATC's multi-batch pass leaves them.

        The root holds the Data ops (with the mbatch input), the Case op with the gear attrs,
        fed by the user inputs, and a NetOutput of the Case's outputs (the largest gear's
        shapes). Each ``<name>_batch_<i>`` sub-graph (a further ``ModelDef.graph``) is the
        whole computation at that gear's static shapes: Data ops with ``_parent_node_index``
        (the Case input they receive), the Consts (pointing at the same weight bytes), the
        gear's ops and a NetOutput.
        """
        self._case_op(graph, attrs)
        case = graph.op[len(graph.op) - 1]
        users = [(t, d) for t, d in zip(self._input_specs(), self.acl_inputs) if t.name != MBATCH_INPUT]
        for t, desc in users:
            case.input.append(f"{t.name}:0".encode())
            _tensor(case.input_desc.add(), attrs, t, _largest(self.gear_dims.get(t.name), t.dims, desc), desc.size)
        case.input.append(f"{MBATCH_INPUT}:-1".encode())  # the gear is chosen by the mbatch data
        for t, desc in zip(self.spec.outputs, self.acl_outputs):
            _tensor(case.output_desc.add(), attrs, t, t.dims, _padded(desc.size))
        attrs.put(case.attr, "_lxfusion_engine_name", "DNN_VM_RTS")
        self._netoutput(graph, attrs, [], source=case.name.decode())
        per_output = _gear_output_dims(self.output_shapes, len(self.spec.outputs))
        for i, ops in enumerate(self.spec.branches):
            sub = model.graph.add()
            sub.name = case.subgraph_name[i]
            dims = {t.name: (self.gear_dims[t.name][i] if t.name in self.gear_dims else t.dims)
                    for t in self.spec.inputs}
            for index, t in enumerate(self.spec.inputs):
                op = sub.op.add()
                op.name, op.type = t.name.encode(), b"Data"
                op.input.append(b"")
                attrs.put(op.attr, "index", index)
                attrs.put(op.attr, "_parent_node_index", index)
                size = tensor_size(dims[t.name], ACL_DTYPE_VALUES[t.dtype])
                for out in (op.input_desc.add(), op.output_desc.add()):
                    _tensor(out, attrs, t, dims[t.name], _padded(size))
            self._compute_graph(sub, attrs, ops, dims, per_output[i])
            for k, op in enumerate(sub.op):
                op.id = k

    def _input_specs(self) -> list[TensorSpec]:
        specs = list(self.spec.inputs)
        if self.kind:
            specs.append(TensorSpec(MBATCH_INPUT, self.acl_inputs[-1].dims, "int32", "ND"))
        return specs

    def _data_op(self, graph: Any, attrs: _AttrWriter, index: int, t: TensorSpec, desc: TensorDesc) -> None:
        op = graph.op.add()
        op.name, op.type = t.name.encode(), b"Data"
        op.input.append(b"")
        attrs.put(op.attr, "index", index)
        attrs.put(op.attr, "_lxfusion_engine_name", "DNN_VM_GE_LOCAL")
        attrs.put(op.attr, "OUTPUT_IS_VAR", [False])
        attrs.put(op.attr, "_output_name_key", ["y"])
        per_gear = self.gear_dims.get(t.name)
        shape = max(per_gear, key=lambda d: tensor_size(d, desc.acl_dtype)) if per_gear else t.dims
        if per_gear:
            attrs.put(op.attr, "_mbatch_origin_input_dims", list(t.dims))
        if t.dims_v2:
            attrs.put(op.attr, "input_dims", list(t.dims_v2))
        for out, padded in ((op.input_desc.add(), desc.size), (op.output_desc.add(), desc.size + 32)):
            _tensor(out, attrs, t, shape, padded)

    def _case_op(self, graph: Any, attrs: _AttrWriter) -> None:
        op = graph.op.add()
        op.name, op.type = b"ascend_mbatch_batch_case", b"Case"
        attrs.put(op.attr, "_batch_num", len(self.gears))
        for i, gear in enumerate(self.gears):
            attrs.put(op.attr, f"_pred_value_{i}", list(gear))
            op.subgraph_name.append(f"{self.spec.name}_batch_{i}".encode())
        attrs.put(op.attr, "mbatch_dynamic_type", _DYNAMIC_TYPE[self.kind or ""])
        if self.shape_order:
            attrs.put(op.attr, "user_designate_shape_order", list(self.shape_order))
        attrs.put(op.attr, "_insert_by_mbatch", True)

    def _netoutput(self, graph: Any, attrs: _AttrWriter, producers: list[str], source: str = "") -> None:
        """NetOutput of the named outputs, or of output j of op `source` for each output j."""
        op = graph.op.add()
        op.name, op.type = b"Node_Output", b"NetOutput"
        for j, (t, desc) in enumerate(zip(self.spec.outputs, self.acl_outputs)):
            node, idx = (source, j) if source else _node_and_index(t.name)
            op.input.append(f"{node}:{idx}".encode())
            op.src_name.append(node.encode())
            op.src_index.append(idx)
            _tensor(op.input_desc.add(), attrs, t, t.dims, _padded(desc.size))
        if self.output_shapes:
            attrs.put(op.attr, "_dynamic_output_dims", list(self.output_shapes))

    # --- sub-models
    def submodel(self, index: int) -> bytes:
        model = _proto.message_class("ModelDef")()
        model.name = f"{self.spec.name}_sub{index}".encode()
        model.version = 2
        graph = model.graph.add()
        graph.name = f"{self.spec.name}_sub{index}_0".encode()
        for k, kind in enumerate((b"Data", b"PartitionedCall", b"NetOutput")):
            op = graph.op.add()
            op.name, op.type, op.id = f"sub{index}_{kind.decode()}".encode(), kind, k
        _fill(model.attr.add(), "soc_version", self.spec.soc_version)
        return model.SerializeToString()


def _validate(spec: ModelSpec) -> None:
    if spec.header_version not in (1, 2):
        raise ValueError(f"header_version must be 1 or 2, not {spec.header_version!r}")
    if spec.submodels < 1:
        raise ValueError("submodels must be at least 1")
    if spec.submodels > 1 and spec.header_version == 1:
        raise ValueError("header version 1 has no model_num field; use header_version=2 for submodels")
    for label, value in (("work_size", spec.work_size), ("weight_size", spec.weight_size),
                         ("op_count", spec.op_count)):
        if value < 0:
            raise ValueError(f"{label} must be >= 0, not {value}")
    if not spec.inputs and not spec.outputs:
        raise ValueError("a model needs at least one input or output")
    for group, tensors in (("input", spec.inputs), ("output", spec.outputs)):
        seen = set()
        for t in tensors:
            if not t.name:
                raise ValueError(f"every {group} needs a non-empty name")
            key = t.name if group == "input" or ":" in t.name else f"{t.name}:0"
            if key in seen:
                raise ValueError(f"two {group}s are named {t.name!r}")
            seen.add(key)
            if t.dtype not in ACL_DTYPE_VALUES:
                raise ValueError(f"{group} {t.name!r}: unknown dtype {t.dtype!r}; use one of "
                                 + ", ".join(sorted(ACL_DTYPE_VALUES)))
            if t.format not in FORMAT_VALUES:
                raise ValueError(f"{group} {t.name!r}: unknown format {t.format!r}; use e.g. NCHW, NHWC, ND")
            if any(d < -2 for d in t.dims):
                raise ValueError(f"{group} {t.name!r}: dims must be >= 0, or -1 / -2 for unknown")
            if any(d >= 2**63 for d in t.dims):  # the file stores them as int64
                raise ValueError(f"{group} {t.name!r}: dims must be below 2**63, as the file stores int64")
    if any(t.name == MBATCH_INPUT for t in spec.inputs):
        raise ValueError(f"{MBATCH_INPUT!r} is added by the writer for gear models; do not list it")
    if spec.dynamic_kind is None:
        if spec.gears:
            raise ValueError("gears need a dynamic_kind ('batch', 'hw' or 'dims')")
        return
    if spec.dynamic_kind not in _DYNAMIC_TYPE:
        raise ValueError(f"dynamic_kind must be 'batch', 'hw' or 'dims', not {spec.dynamic_kind!r}")
    if not spec.gears:
        raise ValueError(f"a dynamic {spec.dynamic_kind} model needs at least one gear")
    width = {"batch": 1, "hw": 2}.get(spec.dynamic_kind) or len(spec.gears[0])
    if any(len(g) != width for g in spec.gears) or width == 0:
        raise ValueError(f"every {spec.dynamic_kind} gear must have {width or 'the same number of'} values")
    if any(v <= 0 for g in spec.gears for v in g):
        raise ValueError("gear values must be positive")
    names = {t.name for t in spec.inputs}
    for name in spec.shape_order:
        if name not in names:
            raise ValueError(f"shape_order names {name!r}, which is not an input")


def _dynamic_inputs(spec: ModelSpec) -> list[TensorSpec]:
    by_name = {t.name: t for t in spec.inputs}
    order = [by_name[n] for n in spec.shape_order] if spec.shape_order else list(spec.inputs)
    return [t for t in order if -1 in t.dims]


def _gear_dims(spec: ModelSpec, gears: tuple[tuple[int, ...], ...]) -> dict[str, list[tuple[int, ...]]]:
    """Concrete dims of every dynamic input for every gear (sizes are the largest gear's)."""
    if not spec.dynamic_kind:
        return {}
    dynamic = _dynamic_inputs(spec)
    if not dynamic:
        raise ValueError(f"a dynamic {spec.dynamic_kind} model needs inputs with -1 axes")
    out: dict[str, list[tuple[int, ...]]] = {t.name: [] for t in dynamic}
    wanted = sum(t.dims.count(-1) for t in dynamic)
    for gear in gears:
        if spec.dynamic_kind == "dims" and len(gear) != wanted:
            raise ValueError(f"each dims gear must give {wanted} values, one per -1 axis in shape order")
        values = iter(gear)
        for t in dynamic:
            if spec.dynamic_kind == "batch":
                out[t.name].append(tuple(gear[0] if d == -1 else d for d in t.dims))
                continue
            if spec.dynamic_kind == "hw":
                if t.dims.count(-1) != 2:
                    raise ValueError(f"input {t.name!r}: a dynamic hw model needs exactly two -1 axes (H, W)")
                values = iter(gear)
            out[t.name].append(tuple(next(values) if d == -1 else d for d in t.dims))
    return out


def _largest(per_gear: Optional[list[tuple[int, ...]]], dims: tuple[int, ...], desc: TensorDesc) -> tuple[int, ...]:
    return max(per_gear, key=lambda d: tensor_size(d, desc.acl_dtype)) if per_gear else dims


def _branch_output_shapes(spec: ModelSpec) -> tuple[str, ...]:
    """`_dynamic_output_dims` of a model with branches: what each gear's ops really write."""
    out = []
    for g, ops in enumerate(spec.branches):
        written = {(op.name, k): t for op in ops for k, t in enumerate(op.outputs)}
        for j, t in enumerate(spec.outputs):
            tensor = written.get(_node_and_index(t.name))
            if tensor is None:
                raise ValueError(f"output {t.name!r} names no op output of gear {g}'s branch")
            out.append(",".join(str(v) for v in [g, j, *tensor.physical_shape]))
    return tuple(out)


def _gear_output_dims(shapes: tuple[str, ...], outputs: int) -> list[list[tuple[int, ...]]]:
    """`_dynamic_output_dims` strings ("gear,output,dims...") back to dims per gear and output."""
    out: dict[int, list[tuple[int, ...]]] = {}
    for text in shapes:
        values = [int(v) for v in text.split(",")]
        out.setdefault(values[0], []).append(tuple(values[2:]))
    return [out[g][:outputs] for g in sorted(out)]


def _output_desc(t: TensorSpec) -> TensorDesc:
    """An output as ACL reports it (FRACTAL_Z 4-D shapes are turned into HWCN like GE does)."""
    dtype, fmt = ACL_DTYPE_VALUES[t.dtype], FORMAT_VALUES[t.format]
    dims = t.dims
    if fmt == _FRACTAL_Z and len(dims) == 4:
        dims, fmt = (dims[2], dims[3], dims[1], dims[0]), FORMAT_VALUES["HWCN"]
    name = t.name if ":" in t.name else f"{t.name}:0"
    return TensorDesc(name, dims, dtype_name(dtype), format_name(fmt), tensor_size(dims, dtype), dtype, fmt)


def _output_shapes(spec: ModelSpec, gears: tuple[tuple[int, ...], ...]) -> tuple[str, ...]:
    """`_dynamic_output_dims` strings: "gear,output,dims..." with each gear's own output dims.

    An output axis that is -1 takes the gear's value. An output declared with its largest shape
    (as ATC reports outputs) takes the gear's value on each axis that sits where the first
    dynamic input varies and equals that axis's largest gear value: batch 8 -> 1 on axis 0 for
    the batch-1 gear, 720x1280 -> 256x512 for an image-size gear.
    """
    slots = _varying_axes(spec)  # (axis in the output, index into the gear) per dynamic slot
    largest = [max(g[k] for g in gears) for _, k in slots]
    out = []
    for g, gear in enumerate(gears):
        for j, t in enumerate(spec.outputs):
            holes = t.dims.count(-1)
            if spec.dynamic_kind == "batch":
                dims = [gear[0] if d == -1 else d for d in t.dims]
            elif 0 < holes <= len(gear):  # the gear's leading values (a dims gear's first input)
                values = iter(gear)
                dims = [next(values) if d == -1 else d for d in t.dims]
            else:
                dims = list(t.dims)
            for (axis, k), top in zip(slots, largest):
                if -len(dims) <= axis < len(dims) and dims[axis] == top:
                    dims[axis] = gear[k]
            out.append(",".join(str(v) for v in [g, j, *dims]))
    return tuple(out)


def _varying_axes(spec: ModelSpec) -> list[tuple[int, int]]:
    """Where a gear's values go in an output shaped like the first dynamic input: batch on
    axis 0, H and W on the last two axes, dims on the first input's -1 axes."""
    if spec.dynamic_kind == "batch":
        return [(0, 0)]
    if spec.dynamic_kind == "hw":
        return [(-2, 0), (-1, 1)]
    dynamic = _dynamic_inputs(spec)
    first = dynamic[0].dims if dynamic else ()
    return [(axis, k) for k, axis in enumerate(a for a, d in enumerate(first) if d == -1)]


def _node_and_index(name: str) -> tuple[str, int]:
    parts = name.split(":")
    if len(parts) > 1 and parts[1].isdigit():
        return parts[0], int(parts[1])
    return parts[0], 0


def _producers(outputs: list[TensorSpec]) -> list[str]:
    seen: dict[str, None] = {}
    for t in outputs:
        seen.setdefault(_node_and_index(t.name)[0], None)
    return list(seen)


def _padded(size: int) -> int:
    """GE's planned size: rounded up to 32 bytes plus 32 (never what ACL reports)."""
    return (size + 31) // 32 * 32 + 32


def _aligned_io(tensors: Iterable[TensorDesc]) -> int:
    return sum((_padded(t.size) + _ALIGN - 1) // _ALIGN * _ALIGN for t in tensors)


def _tensor(desc: Any, attrs: _AttrWriter, t: TensorSpec, dims: tuple[int, ...], size: int) -> None:
    dtype, fmt = ACL_DTYPE_VALUES[t.dtype], FORMAT_VALUES[t.format]
    desc.dtype = ACL_TO_PROTO_DTYPE.get(dtype, 0)
    desc.shape.dim.extend(dims)
    desc.layout = t.format.encode()
    desc.size = size
    desc.device_type = b"NPU"
    desc.real_dim_cnt = len(dims)
    attrs.put(desc.attr, "format_for_int", fmt)
    attrs.put(desc.attr, "origin_format", t.format)
    attrs.put(desc.attr, "origin_shape", list(t.dims))
    attrs.put(desc.attr, "_data_visit_distance", [0, -1])


def _const_ops(graph: Any, attrs: _AttrWriter, count: int, weight_size: int) -> None:
    """`count` Const ops pointing into the weight blob, built once and copied (fast for 20k ops)."""
    if count <= 0:
        return
    template = graph.op.add()
    template.type = b"Const"
    attrs.put(template.attr, "_lxfusion_engine_name", "DNN_VM_GE_LOCAL")
    attrs.put(template.attr, "OUTPUT_IS_VAR", [False])
    attrs.put(template.attr, "_output_name_key", ["y"])
    attrs.put(template.attr, "_ir_attr_names", ["value"])
    share = weight_size // count
    elems = max(share // 2, 1)
    desc = template.output_desc.add()
    _tensor(desc, attrs, TensorSpec("w", (elems,), "float16", "ND"), (elems,), _padded(2 * elems))
    desc.weight_size = share
    template.name = b"const_0"
    for i in range(1, count):
        op = graph.op.add()
        op.CopyFrom(template)
        op.name = f"const_{i}".encode()
        op.output_desc[0].data_offset = i * share


def _cmdline(spec: ModelSpec) -> str:
    shapes = ";".join(f"{t.name}:{','.join(str(d) for d in t.dims)}" for t in spec.inputs)
    cmd = f"atc --model={spec.name}.onnx --framework=5 --output={spec.name} --input_shape=\"{shapes}\""
    if spec.dynamic_kind == "batch":
        cmd += " --dynamic_batch_size=\"" + ",".join(str(g[0]) for g in spec.gears) + "\""
    elif spec.dynamic_kind == "hw":
        cmd += " --dynamic_image_size=\"" + ";".join(",".join(map(str, g)) for g in spec.gears) + "\""
    elif spec.dynamic_kind == "dims":
        cmd += " --dynamic_dims=\"" + ";".join(",".join(map(str, g)) for g in spec.gears) + "\""
    return cmd + f" --soc_version={spec.soc_version}"


# ----------------------------------------------------------------------------- attributes
def _fill(entry: Any, name: str, value: Any) -> None:
    """Set a plain-named AttrEntry (model-level attrs are never compressed)."""
    entry.key = name.encode()
    _set_value(entry.value, value)


def _set_value(attr: Any, value: Any) -> None:
    if isinstance(value, bool):
        attr.b = value
    elif isinstance(value, int):
        attr.i = value
    elif isinstance(value, float):
        attr.f = value
    elif isinstance(value, str):
        attr.s = value.encode()
    elif isinstance(value, list) and value and all(isinstance(v, (list, tuple)) for v in value):
        for row in value:  # list_list_int, e.g. PadD's paddings
            attr.list_list_int.list_list_i.add().list_i.extend(int(v) for v in row)
    elif isinstance(value, list):
        lst = attr.list
        if all(isinstance(v, bool) for v in value) and value:
            lst.b.extend(value)
            lst.val_type = 4
        elif all(isinstance(v, int) for v in value):
            lst.i.extend(value)
            lst.val_type = 2
        elif all(isinstance(v, (int, float)) for v in value):
            lst.f.extend(value)
            lst.val_type = 3
        else:
            lst.s.extend(v.encode() for v in value)
            lst.val_type = 1
    else:  # pragma: no cover - internal misuse
        raise TypeError(f"cannot store {type(value).__name__} in an attr")


class _AttrWriter:
    """Writes op/tensor attrs, enum-compressing names (and string values) when asked."""

    def __init__(self, compress: bool) -> None:
        self.compress = compress
        self.names: dict[str, int] = {}
        self.as_string: list[bool] = []
        self.values: dict[str, int] = {}

    def put(self, entries: Any, name: str, value: Any) -> None:
        entry = entries.add()
        stringy = isinstance(value, str) or (
            isinstance(value, list) and any(isinstance(v, str) for v in value)
        )
        if not self.compress or name in _PLAIN_TENSOR_ATTRS:
            entry.key = name.encode()
            _set_value(entry.value, value)
            return
        index = self.names.get(name)
        if index is None:
            index = self.names[name] = len(self.names)
            self.as_string.append(stringy)
        entry.key = encode_index(index)
        if self.as_string[index]:
            value = self._index(value) if isinstance(value, str) else [self._index(v) for v in value]
        _set_value(entry.value, value)

    def _index(self, text: str) -> int:
        index = self.values.get(text)
        if index is None:
            index = self.values[text] = len(self.values)
        return index

    def finish(self, model: Any) -> None:
        """Add the model-level tables a compressed model carries."""
        if not self.compress:
            return
        _fill(model.attr.add(), "om_compress_version", 1)
        _fill(model.attr.add(), "attr_name_enum", list(self.names))
        _fill(model.attr.add(), "attr_value_enum", list(self.values))
        entry = model.attr.add()
        entry.key = b"attrs_use_string_value"
        entry.value.list.b.extend(self.as_string)
        entry.value.list.val_type = 4



def demo_spec(
    size_mb: float = 49, name: str = "resnet50_demo", soc_version: str = "Ascend310P3"
) -> ModelSpec:
    """A ResNet-50-like classifier with dynamic batch gears 1/2/4/8 and `size_mb` MiB of weights.

    Shapes, gear layout, op count and memory sizes are in the range ATC gives such a model,
    so demos and screenshots look like the real thing.
    """
    if size_mb < 0:
        raise ValueError(f"size_mb must be >= 0, not {size_mb}")
    return ModelSpec(
        name=name,
        soc_version=soc_version,
        inputs=[TensorSpec("images", (-1, 3, 224, 224), "float32", "NCHW")],
        outputs=[TensorSpec("logits", (8, 1000), "float32", "ND")],
        dynamic_kind="batch",
        gears=[(1,), (2,), (4,), (8,)],
        work_size=96 * (1 << 20),
        weight_size=int(size_mb * (1 << 20)),
        op_count=320,
        compress_attrs=True,
    )
