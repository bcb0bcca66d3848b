"""The CPU reference for the public API: `reference` and `coverage` of a path, bytes or loaded Model.

A loaded model on the simulator is computed by the very interpreter the simulator runs it
with (so ``acl.reference(m, x)`` and ``m.run(x)`` agree bit for bit); on the acl backend the
model's file is read again from the path it was loaded from, since ACL keeps no copy we
could read. The numbers always come from `acl_notebook.cpu_reference`.
"""

from __future__ import annotations

import os
import time
from typing import Any, Optional

from .om.errors import OMFormatError
from .session import Model


def interpreter_for(source: Any) -> Any:
    """A `reference.Interpreter` for a path, a bytes-like object, or a loaded `Model`."""
    from .cpu_reference import Interpreter, open_model

    if isinstance(source, Interpreter):
        return source
    if isinstance(source, Model):
        kept = source._session.reference_of(source)
        if kept is not None:
            interpreter = kept.interpreter()
            if interpreter is None:  # the simulator runs it with placeholder values, and says why
                raise UnreadableGraph(kept.problem)
            return interpreter
        path = source.source
        if path and os.path.isfile(path):
            return open_model(path)
        raise ValueError(f"model {source.name!r} was loaded from {path or 'a buffer'}, which the CPU reference "
                         "cannot read again; pass its path or bytes instead: acl.reference(path_or_bytes, inputs)")
    return open_model(source)


def reference(source: Any, inputs: Any, *, override: Optional[dict[str, Any]] = None) -> Any:
    """The model's outputs computed on the CPU from the .om bytes alone, as `Outputs`."""
    from .cpu_reference.inputs import normalize
    from .runner.outputs import Outputs, Timing

    model = interpreter_for(source)
    if override is not None and not isinstance(override, dict):
        raise TypeError(f"override= takes a dict of 'op_name:index' -> array, not {type(override).__name__}")
    arrays = normalize(inputs, model.info.inputs)
    t0 = time.perf_counter()
    result = model.run(arrays, override=override)
    seconds = time.perf_counter() - t0
    name = source.name if isinstance(source, Model) else model.info.name
    return Outputs(result.outputs, names=result.names, gear=_gear(model, arrays),
                   timing=Timing(0.0, seconds, 0.0, seconds), simulated=result.fidelity != "computed",
                   fidelity=result.fidelity, notes=result.notes, model=name)


class UnreadableGraph(OMFormatError):
    """The model loaded, but the CPU reference cannot read its graph (the simulator runs it with
    placeholder values). An `OMFormatError`, as the same file given as bytes or a path raises,
    so one ``except acl.OMFormatError`` serves every source."""


def coverage(source: Any) -> Any:
    """What the CPU reference can do for the model (`reference.Coverage`), without running it.

    A readable .om whose graph the reference cannot read (a descriptor-only model, an
    inconsistent graph) is covered as "placeholder" with the reason, which is what running it on
    the simulator gives; a file that is not a readable .om still raises `OMFormatError`.
    """
    from .cpu_reference.result import PLACEHOLDER, Coverage
    from .om.errors import OMFormatError

    try:
        return interpreter_for(source).coverage()
    except UnreadableGraph as exc:
        reason = str(exc)
    except OMFormatError as exc:
        if not isinstance(source, Model):
            from .om.reader import inspect

            inspect(source)  # not an OM at all: the reader's own error, as everywhere
        reason = f"the CPU reference cannot read this model's graph ({exc})"
    return Coverage(PLACEHOLDER, (reason,), 0, 0, ("graph not readable",))


def _gear(model: Any, arrays: list) -> Optional[tuple[int, ...]]:
    dyn = model.info.dynamic
    if not dyn.is_dynamic:
        return None
    values = [int(a.shape[i]) for t, a in zip((t for t in model.info.inputs if t.name != "ascend_mbatch_shape_data"),
                                              arrays) for i, d in enumerate(t.dims) if d < 0]
    return tuple(values[:1]) if dyn.kind == "batch" else tuple(values)
