"""`run`: numpy inputs in, `Outputs` out, for a loaded model, through the session only.

The inputs are checked and converted first (`inputs.prepare`: nothing reaches ACL before
they are right). Then the session makes its context current, takes the model's run lock
and does one run on the model's reused device buffers (`session_io`): one copy per input
straight from the caller's array (no host copy when it is already C-contiguous and of the
right dtype), the gear call, aclmdlExecute, and one copy per output into a fresh array.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..om.enums import tensor_size
from ..runtime.sim_outputs import PLACEHOLDER
from .errors import InputTypeError
from .inputs import Prepared, prepare
from .outputs import Outputs, Timing


def resolve(model: Any) -> Any:
    """A loaded Model from a Model, a name or an id (the session's registry)."""
    from ..session import Model, get_session

    if isinstance(model, Model):
        return model
    return get_session().find(model)


def _empty(t: Any, dims: tuple[int, ...]) -> np.ndarray:
    """A fresh output array: its numpy dtype, or raw bytes for types numpy cannot hold."""
    if t.numpy_dtype is None:
        return np.empty(tensor_size(dims, t.acl_dtype), dtype=np.uint8)
    return np.empty(tuple(max(d, 0) for d in dims), dtype=t.numpy_dtype)


def execute(model: Any, prepared: Prepared, out: Optional[list[np.ndarray]] = None) -> Outputs:
    """One run of already-prepared inputs. `out`, when given, receives the output arrays
    and is reused on later calls with the same shapes (the benchmark's loop does that)."""
    arrays = prepared.arrays  # kept referenced until the copies are done
    host = [(a.ctypes.data, a.nbytes) for a in arrays]
    results: list[Optional[np.ndarray]] = [None] * len(model.outputs)

    def make_output(j: int, dims: tuple[int, ...]) -> tuple[int, int]:
        t = model.outputs[j]
        reuse = out[j] if out is not None and j < len(out) else None
        want = tuple(max(d, 0) for d in dims)
        if reuse is not None and (reuse.shape == want or t.numpy_dtype is None):
            arr = reuse
        else:
            arr = _empty(t, dims)
        results[j] = arr
        return arr.ctypes.data, arr.nbytes

    record, report = model._session.execute(model, host, prepared.gear, make_output)
    del arrays
    if out is not None:
        out[:] = results
    fidelity = report.fidelity if report is not None else None
    return Outputs(results, names=[t.name for t in model.outputs], gear=record.gear,
                   timing=Timing(record.h2d, record.execute, record.d2h, record.total),
                   simulated=fidelity == PLACEHOLDER, fidelity=fidelity,
                   notes=report.notes if report is not None else (), model=model.name)


def run(model: Any, inputs: Any = None, *, batch: Optional[int] = None, hw: Optional[tuple[int, int]] = None,
        dims: Optional[tuple[int, ...]] = None, override: Any = None) -> Outputs:
    """Run a loaded model on numpy inputs; see `Model.run` and the README for the rules.

    override: reserved for giving the simulator the output values to return; refused for now.
    """
    if override is not None:
        raise InputTypeError("override= is not supported yet: the simulator computes its own output values "
                             "(see Outputs.fidelity); run without it")
    model = resolve(model)
    return execute(model, prepare(model, inputs, batch=batch, hw=hw, dims=dims))


__all__ = ["execute", "resolve", "run"]
