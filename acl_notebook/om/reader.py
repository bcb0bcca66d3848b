"""Read an offline model (.om) into a `ModelInfo`, from bytes in memory or from a file.

`parse` never copies the model: it reads only the small pieces it needs (header, partition
tables, MODEL_INOUT_INFO, ModelDef) through `hostbuf.HostBuffer.read`, which slices heap
buffers in place and reads files and mappings so that a file shrinking underneath cannot
raise SIGBUS. `inspect` does the same from a path: a 1 GiB model costs a few reads.

Where the facts come from: inputs, outputs and gears from MODEL_INOUT_INFO when the file
has one (ATC 7.x and later), else from the ModelDef's Data / NetOutput / Case ops; memory
sizes, SoC, versions and the op count always from the ModelDef. With ``model_num > 1`` the
first (root) model describes the I/O, and ``op_count`` counts the root model's ops only
(its ModelDef is the one parsed; the other tables are counted in ``submodels``, and their
partitions are listed with ``Partition.model`` set).

Every problem with the bytes surfaces as one `OMFormatError` whose message says what is
wrong and what to do; the last-resort handler in `parse` makes sure a damaged file can
never leak a ``struct.error`` or ``IndexError`` instead.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from ..hostbuf import (
    HostBuffer,
    HostMemoryError,
    check_host_memory,
    host_room,
    open_buffer,
    open_source,
    same_bytes,
    shown_path,
)
from . import inout, modeldef
from .errors import OMFormatError
from .header import HEADER_SIZE, check_container, read_header
from .model import DynamicInfo, MemoryNeeds, ModelInfo, Partition, make
from .partitions import read_partitions

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any, Optional, Union

    Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Any]

MODEL_DEF = 0
WEIGHTS_DATA = 1
MODEL_INOUT_INFO = 8
_BIG_MODELDEF = 64 << 20  # above this, check the framing and that the host can hold it first

# What a damaged file could still provoke despite the explicit checks; reported as OMFormatError.
_DAMAGE = (struct.error, IndexError, KeyError, ValueError, UnicodeError, OverflowError, RecursionError)


@dataclass(frozen=True)
class ParsedModel:
    """A parse plus the exact bytes it was made from, so a backend can reuse it safely.

    The parse is a function of `size` and of the `regions` it read (header, partition
    tables, MODEL_INOUT_INFO, MODEL_DEF), never of the weights. So a buffer of the same
    size holding the same bytes in those regions has this parse, and any change there
    (a mutated bytearray, a rewritten file) fails `matches`: a stale parse cannot be reused.
    Checking costs one comparison of those bytes (memcmp speed), not a parse; for a model
    held in one ``bytes`` object, which cannot change, an identity check; for our own mapping
    of a file that had settled when it was opened, one fstat (`hostbuf.FileStamp`).
    """

    info: ModelInfo
    size: int
    regions: tuple[tuple[int, bytes], ...]
    owner: Optional[bytes] = None  # the whole model as one immutable bytes object, if it was
    source: Optional[HostBuffer] = field(default=None, compare=False, repr=False)

    def head(self, size: int) -> Any:
        """The model's first `size` bytes as parsed (fewer if it is shorter), without reading
        the buffer again: the header is the first region a kept parse (`read(keep=True)`) reads."""
        if self.owner is not None:
            return memoryview(self.owner)[:size]
        return self.regions[0][1][:size]  # the header, read first (`_root_partitions`)

    def matches(self, view: memoryview) -> bool:
        if self.owner is not None:  # bytes never change: the same object is the same model
            return view.obj is self.owner and view.nbytes == self.size
        if view.nbytes != self.size:
            return False
        if self.source is not None and view is self.source.view:  # our own mapping of a path
            # a settled file unwritten since it was opened holds what was parsed: one fstat;
            # else pread what was parsed and compare
            return self.source.unchanged() or all(self.source.holds(off, data) for off, data in self.regions)
        return all(same_bytes(view, off, data) for off, data in self.regions)


class _Blob:
    """The model as the parser sees it: `size`, and `read` of exact ranges (SIGBUS-safe)."""

    def __init__(self, buf: HostBuffer, keep: bool) -> None:
        self.buf = buf
        self.size = buf.size
        self.regions: Optional[list[tuple[int, bytes]]] = [] if keep else None

    def peek(self, offset: int, size: int) -> Any:
        """Like `read`, but not remembered: for checks of bytes `read` will cover anyway."""
        return self._exact(offset, size)

    def read(self, offset: int, size: int) -> Any:
        data = self._exact(offset, size)
        if self.regions is not None:
            data = bytes(data)
            self.regions.append((offset, data))
        return data

    def _exact(self, offset: int, size: int) -> Any:
        data = self.buf.read(offset, size)
        if len(data) != size:
            why = self.buf.changed() or f"only {len(data)} of {size} bytes at offset {offset} could be read"
            raise OMFormatError(f"the model changed while it was being read ({why}); read or load it again")
        return data


def parse(data: Any) -> ModelInfo:
    """Describe the model held in `data` (bytes, bytearray, memoryview, mmap or numpy uint8 array).

    Raises OMFormatError when the bytes are not a readable offline model, TypeError or
    ValueError when `data` is not a usable bytes buffer (the README's error contract).
    """
    if isinstance(data, (str, os.PathLike)):
        raise TypeError("parse() takes the model's bytes; for a file path use acl_notebook.inspect(path)")
    with open_buffer(data) as buf:
        return read(buf).info


def inspect(source: Source) -> ModelInfo:
    """Describe a model given as a path (str / os.PathLike) or as bytes-like data.

    A path is memory-mapped read-only, and only the parts the reader parses are read (with
    ``pread``), so looking at a 1 GiB model costs a few reads, not a gigabyte of RAM. Path
    problems are OSError subclasses; bad bytes are OMFormatError naming the file.
    """
    with open_source(source, check_memory=False) as buf:
        try:
            return read(buf).info
        except OMFormatError as exc:
            if isinstance(source, (str, os.PathLike)):
                raise OMFormatError(f"{shown_path(buf.label)}: {exc}") from None
            raise


def read(buf: HostBuffer, keep: bool = False) -> ParsedModel:
    """Parse a HostBuffer; with `keep`, remember the bytes read so the parse can be handed on."""
    owner = buf.view.obj if keep and type(buf.view.obj) is bytes and buf.view.nbytes == len(buf.view.obj) else None
    blob = _Blob(buf, keep and owner is None)
    try:
        info = _parse_blob(blob)
    except OMFormatError:
        raise
    except MemoryError:
        raise HostMemoryError(f"{shown_path(buf.label)} (while decoding its ModelDef)", buf.size,
                              host_room()) from None
    except _DAMAGE as exc:
        raise OMFormatError(
            f"the model is damaged and could not be read ({type(exc).__name__}: {exc}); "
            "export it again with ATC"
        ) from exc
    return ParsedModel(info, blob.size, tuple(blob.regions or ()), owner, buf if keep else None)


def model_def(source: Source) -> Any:
    """The fully decoded ModelDef protobuf message (``acl_notebook.ge.ModelDef``) of a model.

    For code that needs the ops themselves: the CPU reference interpreter, op counts by
    type. `inspect` does not decode ops when MODEL_INOUT_INFO describes the I/O; this
    always does. Same sources and errors as `inspect`.
    """
    with open_source(source, check_memory=False) as buf:
        return _decode_full(buf)[0]


def decode_full(data: Any) -> tuple[Any, tuple[Partition, ...]]:
    """The fully decoded ModelDef and every partition (absolute offsets into `data`) of model
    bytes, for code that walks the graph and reads the weights in place (`reference`)."""
    with open_buffer(data) as buf:
        return _decode_full(buf)


def _decode_full(buf: HostBuffer) -> tuple[Any, tuple[Partition, ...]]:
    blob = _Blob(buf, keep=False)
    try:
        _header, root, partitions = _root_partitions(blob)
        part = root[MODEL_DEF]
        return modeldef.load(blob.read(part.offset, part.size), full=True), partitions
    except OMFormatError:
        raise
    except _DAMAGE as exc:
        raise OMFormatError(f"the model is damaged and could not be read ({type(exc).__name__}: {exc})") from exc


def op_types(source: Source) -> dict[str, int]:
    """How many ops of each type the root graph has (``{"Conv2D": 53, ...}``), from a full decode."""
    return modeldef.op_type_counts(model_def(source))


def _root_partitions(blob: _Blob) -> tuple[Any, dict[int, Any], tuple[Any, ...]]:
    if blob.size == 0:
        raise OMFormatError("the model is empty (0 bytes); pass the contents of a .om file")
    head = blob.read(0, min(blob.size, HEADER_SIZE))
    check_container(head, blob.size)
    header = read_header(head, blob.size)
    partitions, _wide = read_partitions(blob, header)
    root = {p.type: p for p in partitions if p.model == 0}
    if MODEL_DEF not in root:
        found = ", ".join(p.name for p in partitions) or "none"
        raise OMFormatError(
            f"the model has no MODEL_DEF partition (found: {found}), so its graph cannot be read; "
            "this is not a loadable ATC model"
        )
    part = root[MODEL_DEF]
    modeldef.check_size(part.size)  # before a byte of it is copied
    if part.size > _BIG_MODELDEF:  # copying and decoding it is costly: make sure it is worth it
        modeldef.check_framing(lambda pos, n: blob.peek(part.offset + pos, n), part.size)
        check_host_memory(f"the ModelDef of {blob.buf.label}", part.size)
    return header, root, partitions


def _parse_blob(blob: _Blob) -> ModelInfo:
    header, root, partitions = _root_partitions(blob)
    mdef_part = root[MODEL_DEF]
    io = None
    if MODEL_INOUT_INFO in root:
        part = root[MODEL_INOUT_INFO]
        io = inout.decode(blob.read(part.offset, part.size), part)
    io_complete = io is not None and io.inputs is not None and io.outputs is not None
    # With the I/O known, ops are never decoded (slim schema); older files need the full one.
    model = modeldef.load_for_scan(blob.read(mdef_part.offset, mdef_part.size), full=not io_complete)
    desc = modeldef.describe(model, scan_ops=not io_complete)
    inputs = io.inputs if io_complete else desc.inputs
    outputs = io.outputs if io_complete else desc.outputs
    if io is not None and io.kind is not None:
        dynamic = DynamicInfo(io.kind, io.gears, io.shape_order, io.output_shapes)
    elif io_complete:
        dynamic = modeldef.STATIC
    else:
        dynamic = desc.dynamic
    weights = root.get(WEIGHTS_DATA)
    weight = desc.weight_size if desc.weight_size is not None else (weights.size if weights else 0)
    return make(ModelInfo, {  # every field, without the frozen __init__'s per-field setattr
        "name": desc.name or header.name,
        "soc_version": desc.soc_version,
        "atc_version": desc.atc_version,
        "op_count": desc.op_count,
        "inputs": inputs or (),
        "outputs": outputs or (),
        "dynamic": dynamic,
        "memory": make(MemoryNeeds, {"work": desc.memory_size, "weight": weight,
                                     "zero_copy": desc.zero_copy_memory_size}),
        "header": header,
        "partitions": partitions,
        "file_size": blob.size,
        "framework": desc.framework,
        "opp_version": desc.opp_version,
        "stream_num": desc.stream_num,
        "event_num": desc.event_num,
        "submodels": header.model_num,
        "attrs": desc.attrs,
    })
