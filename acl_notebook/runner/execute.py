"""`run`: numpy inputs in, `Outputs` out, for a loaded model, through the session only.

The inputs are checked and converted first (`inputs.prepare`: nothing reaches ACL before
they are right). Then the session makes its context current, takes the model's run lock
and does one run on the model's reused device buffers (`session_io`): one copy per input
straight from the caller's array (no host copy when it is already C-contiguous and of the
right dtype), the gear call, aclmdlExecute, and one copy per output into an array the
caller owns: a fresh one, or the previous run's when the caller has let go of it.
"""

from __future__ import annotations

import sys
import threading
import weakref
from math import prod
from typing import Any, Optional

import numpy as np

from ..hostbuf import HostMemoryError, check_host_memory, host_room
from ..om.enums import tensor_size
from ..runtime.sim_outputs import COMPUTED
from .errors import InputTypeError
from .inputs import NUMPY_MAX_DIMS, Prepared, prepare
from .outputs import Outputs, Timing


def resolve(model: Any) -> Any:
    """A loaded Model from a Model, a name or an id (the session's registry)."""
    from ..session import Model, get_session

    if isinstance(model, Model):
        return model
    return get_session().find(model)


def _empty(t: Any, dims: tuple[int, ...]) -> np.ndarray:
    """A fresh output array: its numpy dtype, or raw bytes for types numpy cannot hold.
    Refused first when the host cannot hold it (the copy into it would page it all in)."""
    what, size = f"output {t.name!r}", tensor_size(dims, t.acl_dtype)
    fix = "run a smaller gear, or on a machine with more RAM"
    check_host_memory(what, size, fix)
    if t.numpy_dtype is not None and len(dims) > NUMPY_MAX_DIMS:
        from ..om.errors import OMFormatError  # ACL allows 128 dims

        raise OMFormatError(f"{what} has {len(dims)} axes, more than the {NUMPY_MAX_DIMS} a numpy array can have, "
                            "so this model's outputs cannot be returned as arrays")
    if t.numpy_dtype is not None and prod(max(d, 1) for d in dims) * t.numpy_dtype.itemsize >= 2**63:
        from ..om.errors import OMFormatError  # numpy refuses such a shape even when it holds 0 values

        raise OMFormatError(f"{what} has dims {list(dims)}, which no array can have; the model's "
                            "descriptor is damaged")
    try:
        if t.numpy_dtype is None:
            return np.empty(size, dtype=np.uint8)
        return np.empty(tuple(max(d, 0) for d in dims), dtype=t.numpy_dtype)
    except MemoryError:  # a limit of the process's own (ulimit -v) rather than of the host
        raise HostMemoryError(what, size, host_room(), fix) from None


# Output arrays of each model's previous run, offered again to the next run of that
# model if the caller let go of them (see `_unshared`): a loop of ``m(x)`` that drops its
# results then writes into memory that is already paged in instead of fresh pages each
# time, which at 64 MiB is most of the cost over a bare C loop. Touched only under the
# model's run lock (make_output runs inside Session.execute).
_spares: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_spares_lock = threading.Lock()


def _refs(slots: list, j: int) -> int:
    candidate = slots[j]
    return sys.getrefcount(candidate)


_BASELINE = _refs([object()], 0)  # the count when only the slot itself holds the object


def _unshared(slots: list, j: int) -> bool:
    """True when nothing but `slots` refers to slots[j] (no Outputs, view or export of it)."""
    return _refs(slots, j) <= _BASELINE


def execute(model: Any, prepared: Prepared, override: Optional[dict] = None) -> Outputs:
    """One run of already-prepared inputs (`override`: simulator only, see `run`)."""
    arrays = prepared.arrays  # kept referenced until the copies are done
    host = [(a.ctypes.data, a.nbytes) for a in arrays]
    results: list[Optional[np.ndarray]] = [None] * len(model.outputs)
    with _spares_lock:
        spare = _spares.setdefault(model, [None] * len(model.outputs))

    def make_output(j: int, dims: tuple[int, ...]) -> tuple[int, int]:
        t = model.outputs[j]
        want = tuple(max(d, 0) for d in dims)
        free = spare[j] is not None and _unshared(spare, j)  # before a local name refers to it
        old = spare[j]
        if free and old.nbytes == tensor_size(dims, t.acl_dtype) and (t.numpy_dtype is None or old.shape == want):
            arr = old
        else:
            arr = _empty(t, dims)
        del old
        spare[j] = results[j] = arr
        return arr.ctypes.data, arr.nbytes

    record, report = model._session.execute(model, host, prepared.gear, make_output, override=override)
    del arrays
    fidelity = report.fidelity if report is not None else None
    return Outputs(results, names=[t.name for t in model.outputs], gear=record.gear,
                   timing=Timing(record.h2d, record.execute, record.d2h, record.total),
                   simulated=fidelity is not None and fidelity != COMPUTED, fidelity=fidelity,
                   notes=report.notes if report is not None else (), model=model.name)


def run(model: Any, inputs: Any = None, *, batch: Optional[int] = None, hw: Optional[tuple[int, int]] = None,
        dims: Optional[tuple[int, ...]] = None, override: Any = None) -> Outputs:
    """Run a loaded model on numpy inputs; see `Model.run` and the README for the rules.

    override: simulator only: ``{"op_name:index" or "op_name": array}`` replaces those op
    outputs in the CPU reference the simulator computes with (random ops, custom ops, probes),
    exactly as ``acl.reference(..., override=)`` does.
    """
    model = resolve(model)
    if override is not None:
        if not isinstance(override, dict):
            raise InputTypeError(f"override= takes a dict of 'op_name:index' -> array, not {type(override).__name__}")
        if model.backend != "sim":
            raise InputTypeError("override= replaces op outputs in the simulator's CPU reference; on the acl "
                                 "backend the NPU computes every op itself. For a CPU run with overrides use "
                                 "acl.reference(model, inputs, override=...)")
    return execute(model, prepare(model, inputs, batch=batch, hw=hw, dims=dims), override=override)


__all__ = ["execute", "resolve", "run"]
