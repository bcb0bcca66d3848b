"""The CPU reference's entry points for a model given as a path or as bytes."""

from __future__ import annotations

import mmap
import os
from typing import Any, Optional

from ..hostbuf import shown_path
from ..om.errors import OMFormatError
from .inputs import normalize
from .interpreter import Interpreter
from .result import Coverage, Result


def open_model(source: Any) -> Interpreter:
    """An `Interpreter` for a path (memory-mapped read-only, never read whole) or a bytes-like object."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size == 0:
                    raise OMFormatError(f"{shown_path(path)} is empty (0 bytes); it is not a model")
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise FileNotFoundError(f"no such model file: {path}") from None
        except IsADirectoryError:
            raise OMFormatError(f"{shown_path(path)} is a directory, not a model; pass the .om file itself") from None
        return Interpreter(mapped)
    return Interpreter(source)


def reference(source: Any, inputs: Any, *, override: Optional[dict[str, Any]] = None) -> Result:
    """Compute the model's outputs on the CPU from its bytes alone."""
    model = source if isinstance(source, Interpreter) else open_model(source)
    return model.run(normalize(inputs, model.info.inputs), override=override)


def coverage(source: Any) -> Coverage:
    """What the reference can compute for a model, without running it."""
    model = source if isinstance(source, Interpreter) else open_model(source)
    return model.coverage()
