"""Immutable descriptions of an offline model, as the reader produces them.

Everything above the `om` package (runtime, session, magics, widgets) speaks in these
types, so they carry ACL's own vocabulary: dims with -1 for a dynamic axis, the ACL enum
value beside a readable name, and byte sizes as ACL reports them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import prod as _prod

from .._rich import _repr_html_, _repr_pretty_
from .enums import ACL_DTYPE_NAMES, DTYPE_BITS, numpy_dtype_name, tensor_size

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Optional

#: The largest byte count we believe from a file or a runtime (1 PiB): far above any
#: device's memory, far below where int64/size_t arithmetic wraps (2**63).
MAX_BYTES = 2**50
_MAX_BITS = MAX_BYTES * 8
#: ACL_MAX_DIM_CNT: the most dims an ``aclmdlIODims`` holds (the runtime refuses a record with more).
MAX_DIMS = 128


def dims_problem(dims: tuple[int, ...], acl_dtype: int) -> Optional[str]:
    """Why no runtime and no array could have a tensor of these dims, or None.

    GE writes -1 (an unknown axis) and -2 (an unknown rank) and nothing lower. A zero axis
    makes the byte size 0, so the size rule alone (at most `MAX_BYTES`) lets dims such as
    ``[0, 2**62, 2**62]`` through, which numpy then refuses with its own words at the first
    run; so the other axes, each zero or unknown taken as 1, must fit in `MAX_BYTES` too.
    Every parse asks this of every I/O tensor, so the common case (all axes >= 1) is one
    C-level ``min`` and ``prod``."""
    if not dims:
        return None
    if len(dims) > MAX_DIMS:
        return f"{len(dims)} dims, more than the {MAX_DIMS} ACL's aclmdlIODims holds (ACL_MAX_DIM_CNT)"
    low = min(dims)
    if low < -2:
        return f"a dim of {low} (GE writes only -1, an unknown axis, and -2, an unknown rank)"
    count = _prod(dims) if low >= 1 else _prod(d if d > 1 else 1 for d in dims)
    if count * (DTYPE_BITS.get(acl_dtype) or 8) > _MAX_BITS:  # an unknown dtype as one byte
        return "axes that, each zero or unknown one taken as 1, hold more than any device (over 1 PiB)"
    return None


def dims_refusal(name: str, dims: tuple[int, ...], dims_v2: tuple[int, ...], acl_dtype: int) -> Optional[str]:
    """`dims_problem` of a tensor's dims, then of its dimsV2 view (when it differs), as one
    phrase naming it."""
    if dims_problem(dims, acl_dtype) is None and (not dims_v2 or dims_v2 == dims):
        return None  # the common case, once per I/O tensor of every parse
    for what, values in (("dims", dims), ("dimsV2", dims_v2 if dims_v2 != dims else ())):
        problem = dims_problem(values, acl_dtype)
        if problem:
            shown = ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
            return f"tensor {name!r} has {what} [{shown}] with {problem}"
    return None


_new = object.__new__


def make(cls: type, fields: dict):
    """An instance of frozen dataclass `cls` with exactly `fields` (every field, by name).

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``, which is most of what building a `ModelInfo` costs; the reader
    builds several such values per parse, so it fills the instance dict in one step
    instead. Equality, hashing, repr and `dataclasses.replace` are unaffected.
    """
    obj = _new(cls)
    obj.__dict__.update(fields)
    return obj


@dataclass(frozen=True)
class TensorDesc:
    """One model input or output, in the terms `aclmdlGet*` getters use.

    `dtype` is the numpy dtype name where numpy has one (``"float32"``) and ACL's own
    lower-case name otherwise (``"bfloat16"``, ``"int4"``); `acl_dtype`/`acl_format` keep
    the enum values so nothing is lost in the translation.

    `dims_v2` is what ``aclmdlGetInputDimsV2`` reports where it differs from `dims` (empty
    otherwise): for a static-AIPP input the shape of the source image in the AIPP input
    format, whose bytes are `size`, while `dims` stays the network's view.
    """

    name: str
    dims: tuple[int, ...]
    dtype: str
    format: str
    size: int
    acl_dtype: int = -1
    acl_format: int = -1
    dims_range: tuple[tuple[int, int], ...] = ()
    dims_v2: tuple[int, ...] = ()

    @property
    def aipp_dims(self) -> tuple[int, ...]:
        """The shape the input's bytes take when it is a static-AIPP input, else ().

        That is `dims_v2` when it is static and its bytes are exactly `size` while `dims`'
        are not: only then does a caller hand over the AIPP-format image instead of an array
        of `dims`. Anything else (no dims_v2, a dynamic view, sizes that disagree) keeps the
        ordinary rules, so a damaged record cannot change what an input takes."""
        v2 = self.dims_v2
        if not v2 or any(d < 0 for d in v2) or any(d < 0 for d in self.dims):
            return ()
        if tensor_size(v2, self.acl_dtype) != self.size or tensor_size(self.dims, self.acl_dtype) == self.size:
            return ()
        return v2

    @property
    def is_dynamic(self) -> bool:
        """True when any axis is unknown (-1) or the rank itself is unknown (-2)."""
        return any(d < 0 for d in self.dims)

    @property
    def numpy_dtype(self):
        """The numpy dtype object, or None for types numpy cannot hold (int4, fp8...)."""
        import numpy as np

        name = numpy_dtype_name(self.acl_dtype)
        return np.dtype(name) if name else None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "dims": list(self.dims),
            "dtype": self.dtype,
            "format": self.format,
            "size": self.size,
            **({"dims_v2": list(self.dims_v2)} if self.dims_v2 else {}),
        }


@dataclass(frozen=True)
class DynamicInfo:
    """Gears of a multi-gear (dynamic batch / image size / dims) model.

    `kind` is ``"batch"``, ``"hw"``, ``"dims"`` or ``None`` for a static model. Each gear
    is a tuple: ``(batch,)``, ``(h, w)`` or, for dims, one value per -1 axis of the inputs
    taken in `shape_order` order. (ACL's own getters and the dims set call speak in every
    input's full dims concatenated instead; `runtime.gears` converts between the two.)
    """

    kind: Optional[str] = None
    gears: tuple[tuple[int, ...], ...] = ()
    shape_order: tuple[str, ...] = ()
    output_shapes: tuple[str, ...] = ()

    @property
    def is_dynamic(self) -> bool:
        return self.kind is not None

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "gears": [list(g) for g in self.gears],
            "shape_order": list(self.shape_order),
            "output_shapes": list(self.output_shapes),
        }


@dataclass(frozen=True)
class MemoryNeeds:
    """Device memory a model asks for, as `aclmdlQuerySizeFromMem` reports it.

    `work` is the feature-map/workspace size (ModelDef ``memory_size``), `weight` the
    weight size; `zero_copy` is the part of `work` used by inputs and outputs.
    """

    work: int = 0
    weight: int = 0
    zero_copy: int = 0

    @property
    def total(self) -> int:
        return self.work + self.weight

    def to_dict(self) -> dict:
        return {"work": self.work, "weight": self.weight, "zero_copy": self.zero_copy, "total": self.total}


@dataclass(frozen=True)
class Partition:
    """One entry of a partition table: where a payload sits in the file."""

    type: int
    name: str
    offset: int  # absolute offset in the file
    size: int
    model: int = 0  # which partition table (0 = root model) when the header's model_num > 1


@dataclass(frozen=True)
class OMHeader:
    """The fields of the 256-byte ModelFileHeader a person may want to see."""

    version: int  # 0x10000000 or 0x20000000
    length: int
    is_encrypt: int
    is_checksum: int
    modeltype: int
    genmode: int
    name: str
    om_ir_version: int
    model_num: int
    platform_version: str
    platform_type: int
    model_length: int
    need_check_os_cpu_info: int
    is_unknow_model: int

    @property
    def version_text(self) -> str:
        return f"{self.version >> 28}.{(self.version >> 24) & 0xF}"


@dataclass(frozen=True)
class ModelInfo:
    """Everything the reader learned from an OM file, before any device is touched."""

    name: str
    soc_version: str
    atc_version: str
    op_count: int
    inputs: tuple[TensorDesc, ...]
    outputs: tuple[TensorDesc, ...]
    dynamic: DynamicInfo
    memory: MemoryNeeds
    header: OMHeader
    partitions: tuple[Partition, ...] = ()
    file_size: int = 0
    framework: str = ""
    opp_version: str = ""
    stream_num: int = 0
    event_num: int = 0
    submodels: int = 1
    attrs: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def om_version(self) -> str:
        """Header version as text: "1.0" or "2.0"."""
        return self.header.version_text

    def input(self, name: str) -> TensorDesc:
        return _by_name(self.inputs, name, "input")

    def output(self, name: str) -> TensorDesc:
        return _by_name(self.outputs, name, "output")

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    def to_dict(self) -> dict:
        """The `--json` shape of `acl-notebook inspect`: everything its text shows, and the header."""
        return {
            "name": self.name,
            "soc_version": self.soc_version,
            "atc_version": self.atc_version,
            "opp_version": self.opp_version,
            "framework": self.framework,
            "om_version": self.om_version,
            "op_count": self.op_count,
            "stream_num": self.stream_num,
            "event_num": self.event_num,
            "file_size": self.file_size,
            "submodels": self.submodels,
            "partitions": [asdict(p) for p in self.partitions],
            "header": asdict(self.header),
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "dynamic": self.dynamic.to_dict(),
            "memory": self.memory.to_dict(),
        }


def _by_name(tensors: tuple[TensorDesc, ...], name: str, what: str) -> TensorDesc:
    for t in tensors:
        if t.name == name:
            return t
    known = ", ".join(t.name for t in tensors) or "none"
    raise KeyError(f"no {what} named {name!r}; the model has: {known}")


__all__ = [
    "ACL_DTYPE_NAMES",
    "MAX_BYTES",
    "MAX_DIMS",
    "DynamicInfo",
    "MemoryNeeds",
    "ModelInfo",
    "OMHeader",
    "Partition",
    "TensorDesc",
    "dims_problem",
    "dims_refusal",
]
