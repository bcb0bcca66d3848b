"""MODEL_DEF (partition type 0): decode the protobuf once and pick out what ACL would report.

The ModelDef is parsed with protobuf (upb in practice) from our own ge_ir.proto. When a
MODEL_INOUT_INFO partition answers the I/O question we parse the slim schema, where each op
is one undecoded ``bytes`` value: the model attrs and ``len(graph.op)`` are all we read.
Only otherwise (older files) is the full ModelDef decoded, for one pass over graph[0]
reading each op's ``type`` to find the Data / NetOutput / Case ops. Their I/O rules are GE's DavinciModel
rules (om-format.md §4.3, §4.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import _proto, fullwire, slimwire
from .attrs import AttrNames, entries_dict, model_scalars, plain_model_attrs, text
from .enums import (
    DYNAMIC_KINDS,
    FORMAT_VALUES,
    FRAMEWORK_NAMES,
    PROTO_TO_ACL_DTYPE,
    SELF_DEFINED_DTYPE_TO_ACL,
    dtype_name,
    format_name,
    tensor_size,
)
from .errors import OMFormatError, bad_modeldef
from .model import MAX_BYTES, DynamicInfo, TensorDesc, dims_refusal

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

INPUT_OP_TYPES = frozenset({b"Data", b"AippData", b"AnnData"})
NETOUTPUT = b"NetOutput"
CASE = b"Case"
FRACTAL_Z = 4
HWCN = 16

# Attr names we read, as stored (bytes) after decompression.
_DATA_OP_ATTRS = frozenset({b"index", b"_dynamic_aipp_input_dims", b"_mbatch_origin_input_dims", b"input_dims"})
_TENSOR_ATTRS = frozenset({
    b"format_for_int", b"__tensor_desc_data_type__", b"_special_input_size", b"_special_output_size",
})
_NETOUTPUT_ATTRS = frozenset({b"_dynamic_output_dims"})


STATIC = DynamicInfo()  # a frozen value: one instance serves every static model


@dataclass
class ModelDefInfo:
    """What the ModelDef says, in reader terms; I/O fields stay None unless ops were scanned."""

    name: str = ""
    op_count: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)
    soc_version: str = ""
    atc_version: str = ""
    opp_version: str = ""
    framework: str = ""
    memory_size: int = 0
    weight_size: Optional[int] = None
    zero_copy_memory_size: int = 0
    stream_num: int = 0
    event_num: int = 0
    inputs: Optional[tuple[TensorDesc, ...]] = None
    outputs: Optional[tuple[TensorDesc, ...]] = None
    dynamic: DynamicInfo = STATIC


#: protobuf cannot parse a message of 2 GiB or more, and GE reads ModelDefs with that limit too.
MAX_MODELDEF_BYTES = 2**31 - 1


def check_size(size: int) -> None:
    """Refuse a ModelDef too large for any protobuf parser, before a byte of it is read."""
    if size > MAX_MODELDEF_BYTES:
        raise OMFormatError(
            f"the MODEL_DEF partition claims {size} bytes, but a ModelDef cannot exceed 2 GiB "
            "(protobuf's limit, which GE's loader shares); the partition table is damaged"
        )


_WIRE_TYPES = frozenset({0, 1, 2, 5})  # varint, fixed64, length-delimited, fixed32 (no groups)


_FRAMING_WINDOW = 64 << 10
_MAX_FRAMING_FIELDS = 4096  # real ModelDefs have a few dozen top-level fields (attrs, graphs)


def check_framing(peek: Callable[[int, int], Any], size: int) -> None:
    """Refuse a MODEL_DEF whose top-level fields do not tile it, before it is copied.

    Walks the message's top-level field headers only (a key, then a length or a fixed
    width) through `peek(pos, n)`, a few bytes at a time: each key must name a field with a
    wire type proto3 writes, and each field must end inside the partition. A partition of
    zeros or noise, or one sized to a whole file it does not fill, fails within the first
    fields. After `_MAX_FRAMING_FIELDS` fields the rest is left to protobuf.
    """
    pos = window_at = 0
    window = b""
    for _ in range(_MAX_FRAMING_FIELDS):
        if pos >= size:
            return
        if not window_at <= pos <= window_at + len(window) - min(20, size - pos):
            window_at, window = pos, peek(pos, min(_FRAMING_WINDOW, size - pos))  # one read per 64 KiB
        head = memoryview(window)[pos - window_at : pos - window_at + 20]
        key, used = _varint(head, 0)
        wire = key & 7
        if used is None or key >> 3 == 0 or wire not in _WIRE_TYPES:
            break
        if wire == 0:
            _value, end = _varint(head, used)
            if end is None:
                break
            pos += end
        elif wire == 2:
            length, end = _varint(head, used)
            if end is None:
                break
            pos += end + length
        else:
            pos += used + (8 if wire == 1 else 4)
        if pos > size:
            break
    else:
        return
    raise OMFormatError(
        f"the MODEL_DEF partition ({size} bytes) is not framed like a ModelDef protobuf (a field at "
        f"byte {pos} does not parse or runs past the partition end); the file is damaged, export it again"
    )


def _varint(head: Any, pos: int) -> tuple[int, Optional[int]]:
    value = shift = 0
    while pos < len(head) and shift < 64:
        byte = head[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos
    return value, None


def load(blob: Any, full: bool = True) -> Any:
    """Parse a MODEL_DEF payload (bytes or a memoryview) with protobuf; DecodeError becomes
    OMFormatError.

    ``full=False`` parses the slim schema: model attrs and graphs whose ops stay undecoded
    bytes, which is all `describe(..., scan_ops=False)` reads.
    """
    check_size(len(blob))
    model = _proto.message_class("ModelDef" if full else "SlimModelDef")()
    try:
        model.ParseFromString(blob)
    except _proto.decode_error() as exc:
        raise bad_modeldef(len(blob), exc) from None
    return model


#: How many ModelDefs a process reads in Python (`slimwire`, `fullwire`) before protobuf.
_python_decodes = 1


def load_for_scan(blob: Any, full: bool) -> Any:
    """`load` for `describe` only (the result may not be a protobuf message).

    Importing protobuf and building its classes costs a fresh process ~20 ms, far more than
    walking one small ModelDef in Python; once built, upb decodes the same ModelDef 3x (a
    few ops) to 40x (thousands of ops) faster than the walk. So only a process's first decode,
    when small, is walked in Python: a cold ``acl-notebook inspect`` never imports protobuf,
    and a kernel pays the import once, at its second model, instead of the walk each time.
    """
    global _python_decodes
    limit = fullwire.MAX_BYTES if full else slimwire.MAX_BYTES
    if _python_decodes > 0 and len(blob) <= limit and _proto.unused():
        check_size(len(blob))
        _python_decodes -= 1
        return fullwire.parse(blob) if full else slimwire.parse(blob)
    return load(blob, full)


def op_type_counts(model: Any) -> dict[str, int]:
    """How many ops of each type graph 0 of a fully decoded ModelDef holds, most frequent first."""
    counts: dict[bytes, int] = {}
    if model.graph:
        for op in model.graph[0].op:
            counts[op.type] = counts.get(op.type, 0) + 1
    return {text(k): v for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def describe(model: Any, scan_ops: bool) -> ModelDefInfo:
    """Model-level facts always; inputs/outputs/gears from the ops when `scan_ops` (which
    needs a full ModelDef; the slim one is enough otherwise)."""
    scalars = model_scalars(model.attr)  # every model attr read once (see model_scalars)
    info = ModelDefInfo(
        name=text(model.name),
        op_count=sum(len(g.op) for g in model.graph),
        attrs=plain_model_attrs(scalars),
        soc_version=_str_attr(scalars, b"soc_version"),
        atc_version=_str_attr(scalars, b"atc_version"),
        opp_version=_str_attr(scalars, b"opp_version"),
        framework=_framework(scalars.get(b"framework_type")),
        memory_size=_size_attr(scalars, b"memory_size") or 0,
        weight_size=_size_attr(scalars, b"weight_size"),
        zero_copy_memory_size=_size_attr(scalars, b"zero_copy_memory_size") or 0,
        stream_num=_int_attr(scalars, b"stream_num") or 0,
        event_num=_int_attr(scalars, b"event_num") or 0,
    )
    if scan_ops:
        raw = entries_dict(model.attr)
        names = AttrNames(raw)  # the compression tables matter only for op and tensor attrs
        out_attr = raw.get(b"attr_model_out_nodes_name")
        out_names = names.value(out_attr) if out_attr is not None else []
        _scan_graph(model, names, out_names if isinstance(out_names, list) else [], info)
    return info


_Scalars = "dict[bytes, tuple[Optional[str], Any]]"  # what attrs.model_scalars returns


def _size_attr(scalars: _Scalars, key: bytes) -> Optional[int]:
    """A byte-count attr, refused when negative or beyond any device (it would be charged as is)."""
    value = _int_attr(scalars, key)
    if value is not None and not 0 <= value <= MAX_BYTES:
        raise OMFormatError(
            f"the model attribute {key.decode()} is {value} bytes, which no device can hold "
            f"(a size must be 0 to {MAX_BYTES}); the ModelDef is damaged, export it again"
        )
    return value


def _int_attr(scalars: _Scalars, key: bytes) -> Optional[int]:
    kind, value = scalars.get(key, _ABSENT)
    return value if kind == "i" else None


def _str_attr(scalars: _Scalars, key: bytes) -> str:
    kind, value = scalars.get(key, _ABSENT)
    return text(value) if kind == "s" else ""


_ABSENT = (None, None)


def _framework(attr: Optional[tuple[Optional[str], Any]]) -> str:
    kind, value = attr or _ABSENT
    if kind == "s":
        return text(value)
    if kind == "i":
        return FRAMEWORK_NAMES.get(value, str(value))
    return ""


# ----------------------------------------------------------------------------- graph scan
def _scan_graph(model: Any, names: AttrNames, out_names: list, info: ModelDefInfo) -> None:
    data_ops: list[Any] = []
    netoutput = case = None
    if model.graph:
        for op in model.graph[0].op:  # the one per-op loop: a type check, nothing more
            kind = op.type
            if kind in INPUT_OP_TYPES:
                data_ops.append(op)
            elif kind == NETOUTPUT:
                netoutput = netoutput or op
            elif kind == CASE:
                case = case or op
    info.inputs = _inputs(data_ops, names)
    info.outputs = _outputs(netoutput, names, out_names) if netoutput is not None else ()
    info.dynamic = _gears(case, netoutput, names) if case is not None else STATIC


def _inputs(data_ops: list[Any], names: AttrNames) -> tuple[TensorDesc, ...]:
    ordered = []
    for pos, op in enumerate(data_ops):
        attrs = names.collect(op.attr, _DATA_OP_ATTRS)
        index = attrs.get("index")
        desc = op.input_desc[0] if op.input_desc else (op.output_desc[0] if op.output_desc else None)
        out_attrs = names.collect(op.output_desc[0].attr, _TENSOR_ATTRS) if op.output_desc else {}
        dims = _list_of_ints(attrs.get("_dynamic_aipp_input_dims")) or _list_of_ints(
            attrs.get("_mbatch_origin_input_dims")
        )
        tensor = _tensor(text(op.name), desc, names, dims)
        special = out_attrs.get("_special_input_size")
        size = special if isinstance(special, int) and special > 0 else (desc.size if desc is not None else 0)
        tensor = _replace_size(tensor, max(size, 0), _list_of_ints(attrs.get("input_dims")) or ())
        ordered.append((index if isinstance(index, int) else pos, pos, tensor))
    ordered.sort(key=lambda item: (item[0], item[1]))
    return tuple(t for _, _, t in ordered)


def _outputs(op: Any, names: AttrNames, out_names: list) -> tuple[TensorDesc, ...]:
    count = len(op.input_desc)
    src_name = [text(s) for s in op.src_name]
    src_index = list(op.src_index)
    use_attr = len(out_names) == count and all(isinstance(n, str) for n in out_names)
    outputs = []
    for i, desc in enumerate(op.input_desc):
        idx = src_index[i] if i < len(src_index) else 0
        if use_attr:
            name = out_names[i] if ":" in out_names[i] else f"{out_names[i]}:{idx}"
        else:
            name = f"output_{i}_{src_name[i] if i < len(src_name) else ''}_{idx}"
        tensor = _tensor(name, desc, names, None)
        if tensor.acl_format == FRACTAL_Z and len(tensor.dims) == 4:  # GE reports these as HWCN
            k, c, h, w = tensor.dims
            tensor = TensorDesc(name, (h, w, c, k), tensor.dtype, format_name(HWCN), 0,
                                tensor.acl_dtype, HWCN, tensor.dims_range)
        special = names.collect(desc.attr, _TENSOR_ATTRS).get("_special_output_size")
        if not (isinstance(special, int) and special > 0):
            special = tensor_size(tensor.dims, tensor.acl_dtype)
        outputs.append(_replace_size(tensor, special))
    return tuple(outputs)


def _tensor(name: str, desc: Any, names: AttrNames, dims: Optional[tuple[int, ...]]) -> TensorDesc:
    if desc is None:
        return TensorDesc(name, dims or (), dtype_name(-1), format_name(-1), 0, -1, -1)
    attrs = names.collect(desc.attr, _TENSOR_ATTRS)
    override = attrs.get("__tensor_desc_data_type__")
    if isinstance(override, int) and override in SELF_DEFINED_DTYPE_TO_ACL:
        acl_dtype = SELF_DEFINED_DTYPE_TO_ACL[override]
    else:
        acl_dtype = PROTO_TO_ACL_DTYPE.get(desc.dtype, desc.dtype)
    fmt = attrs.get("format_for_int")
    if isinstance(fmt, int) and not isinstance(fmt, bool):
        acl_format = fmt & 0xFF if fmt >= 0 else -1
    else:
        acl_format = FORMAT_VALUES.get(text(desc.layout), -1)
    if dims is None:
        dims = tuple(desc.shape.dim)
    return TensorDesc(name, dims, dtype_name(acl_dtype), format_name(acl_format), 0, acl_dtype, acl_format)


def _replace_size(t: TensorDesc, size: int, dims_v2: tuple[int, ...] = ()) -> TensorDesc:
    """`t` with its byte size (and the Data op's ``input_dims``, the dimsV2 view GE sets
    for static AIPP), refused when no device could hold it (damaged dims or sizes would
    otherwise be believed, and charged, like MODEL_INOUT_INFO's are refused)."""
    if size > MAX_BYTES:
        raise OMFormatError(
            f"the ModelDef gives tensor {t.name!r} (dims {list(t.dims)}) {size} bytes, more than any device "
            f"holds (at most {MAX_BYTES}); the file is damaged, export it again"
        )
    refusal = dims_refusal(t.name, t.dims, dims_v2, t.acl_dtype)
    if refusal:
        raise OMFormatError(f"the ModelDef's {refusal}; the file is damaged, export it again")
    return TensorDesc(t.name, t.dims, t.dtype, t.format, size, t.acl_dtype, t.acl_format, t.dims_range,
                      dims_v2 if dims_v2 != t.dims else ())


def _list_of_ints(value: Any) -> Optional[tuple[int, ...]]:
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


def _gears(case: Any, netoutput: Any, names: AttrNames) -> DynamicInfo:
    attrs = names.collect(case.attr)
    present = 0
    while f"_pred_value_{present}" in attrs:
        present += 1
    count = attrs.get("_batch_num")
    if not isinstance(count, int) or not 0 <= count <= present:  # never trust a count over the data
        count = present
    gears = tuple(_list_of_ints(attrs.get(f"_pred_value_{i}")) or () for i in range(count))
    kind_code = attrs.get("mbatch_dynamic_type")
    kind = DYNAMIC_KINDS.get(kind_code) if isinstance(kind_code, int) else None
    if kind is None and gears:
        kind = "batch" if all(len(g) == 1 for g in gears) else "dims"
    order = attrs.get("user_designate_shape_order")
    shapes = None
    if netoutput is not None:
        shapes = names.collect(netoutput.attr, _NETOUTPUT_ATTRS).get("_dynamic_output_dims")
    return DynamicInfo(
        kind=kind,
        gears=gears if kind else (),
        shape_order=tuple(order) if kind and isinstance(order, list) else (),
        output_shapes=tuple(shapes) if kind and isinstance(shapes, list) else (),
    )
