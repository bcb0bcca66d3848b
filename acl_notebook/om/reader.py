"""Read an offline model (.om) into a `ModelInfo`, from bytes in memory or from a file.

`parse` never copies the model: it reads through one ``memoryview`` with
``struct.unpack_from`` and slices only the small pieces it needs (the ModelDef partition,
which protobuf must own, and a few names). `inspect` maps a file read-only with ``mmap``,
so looking at a 1 GiB model costs a few page faults, not a gigabyte of RAM.

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

import mmap
import os
import struct
from pathlib import Path
from typing import Any, Union

from . import inout, modeldef
from .errors import OMFormatError
from .header import check_container, read_header
from .model import DynamicInfo, MemoryNeeds, ModelInfo
from .partitions import read_partitions

MODEL_DEF = 0
WEIGHTS_DATA = 1
MODEL_INOUT_INFO = 8

# What a damaged file could still provoke despite the explicit checks; reported as OMFormatError.
_DAMAGE = (struct.error, IndexError, KeyError, ValueError, UnicodeError, OverflowError, RecursionError)

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, mmap.mmap, Any]


def parse(data: Any) -> ModelInfo:
    """Describe the model held in `data` (bytes, bytearray, memoryview, mmap or numpy uint8 array).

    Raises OMFormatError when the bytes are not a readable offline model, TypeError when
    `data` is not a bytes-like object at all.
    """
    view = _byte_view(data)
    try:
        return _parse_view(view)
    except OMFormatError:
        raise
    except _DAMAGE as exc:
        raise OMFormatError(
            f"the model is damaged and could not be read ({type(exc).__name__}: {exc}); "
            "export it again with ATC"
        ) from exc
    finally:
        view.release()


def inspect(source: Source) -> ModelInfo:
    """Describe a model given as a path (str / os.PathLike) or as bytes-like data.

    A path is memory-mapped read-only rather than read, so only the pages the reader
    touches are loaded. A missing file raises FileNotFoundError; a directory or an empty
    or malformed file raises OMFormatError.
    """
    if isinstance(source, (str, os.PathLike)):
        return _inspect_path(Path(os.fspath(source)))
    return parse(source)


def _inspect_path(path: Path) -> ModelInfo:
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"no such model file: {path} (working directory: {os.getcwd()})") from None
    except IsADirectoryError:
        raise OMFormatError(f"{path} is a directory, not a model; pass the .om file itself") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise OMFormatError(f"{path} is empty (0 bytes); it is not a model, copy the .om file again")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return parse(mapped)
    except OMFormatError as exc:
        raise OMFormatError(f"{path}: {exc}") from None
    finally:
        mapped.close()


def _byte_view(data: Any) -> memoryview:
    """A flat unsigned-byte view of `data`, without copying it."""
    if isinstance(data, (str, os.PathLike)):
        raise TypeError("parse() takes the model's bytes; for a file path use acl_notebook.inspect(path)")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(
            f"expected the model as bytes, bytearray, memoryview, mmap or a numpy uint8 array, "
            f"not {type(data).__name__}"
        ) from None
    if view.format == "B" and view.ndim == 1 and view.c_contiguous:
        return view
    try:
        if not view.c_contiguous:
            raise TypeError(
                "the model buffer is not C-contiguous; pass a contiguous copy (numpy.ascontiguousarray)"
            )
        return view.cast("B")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot read the model buffer as plain bytes: {exc}") from None
    finally:
        view.release()  # the cast view (if any) keeps the underlying buffer alive on its own


def _parse_view(view: memoryview) -> ModelInfo:
    if len(view) == 0:
        raise OMFormatError("the model is empty (0 bytes); pass the contents of a .om file")
    check_container(view)
    header = read_header(view)
    partitions, _wide = read_partitions(view, header)
    root = {p.type: p for p in partitions if p.model == 0}
    mdef_part = root.get(MODEL_DEF)
    if mdef_part is None:
        found = ", ".join(p.name for p in partitions) or "none"
        raise OMFormatError(
            f"the model has no MODEL_DEF partition (found: {found}), so its graph cannot be read; "
            "this is not a loadable ATC model"
        )
    io = inout.decode(view, root[MODEL_INOUT_INFO]) if MODEL_INOUT_INFO in root else None
    io_complete = io is not None and io.inputs is not None and io.outputs is not None
    model = modeldef.load(bytes(view[mdef_part.offset : mdef_part.offset + mdef_part.size]))
    desc = modeldef.describe(model, scan_ops=not io_complete)
    inputs = io.inputs if io_complete else desc.inputs
    outputs = io.outputs if io_complete else desc.outputs
    if io is not None and io.kind is not None:
        dynamic = DynamicInfo(io.kind, io.gears, io.shape_order, io.output_shapes)
    elif io_complete:
        dynamic = DynamicInfo()
    else:
        dynamic = desc.dynamic
    weights = root.get(WEIGHTS_DATA)
    weight = desc.weight_size if desc.weight_size is not None else (weights.size if weights else 0)
    return ModelInfo(
        name=desc.name or header.name,
        soc_version=desc.soc_version,
        atc_version=desc.atc_version,
        op_count=desc.op_count,
        inputs=inputs or (),
        outputs=outputs or (),
        dynamic=dynamic,
        memory=MemoryNeeds(work=desc.memory_size, weight=weight, zero_copy=desc.zero_copy_memory_size),
        header=header,
        partitions=partitions,
        file_size=len(view),
        framework=desc.framework,
        opp_version=desc.opp_version,
        stream_num=desc.stream_num,
        event_num=desc.event_num,
        submodels=header.model_num,
        attrs=desc.attrs,
    )
