"""What the simulator writes into output buffers when a model executes: the CPU reference's answer.

The simulator's execute path (checks, gears, copies, codes) is ACL's; the numbers come from
`acl_notebook.cpu_reference`, the numpy interpreter of the .om graph, so ``Model.run`` on the
simulator returns exactly what ``acl.reference`` returns, with its fidelity and notes.
Two functions form the seam:

- `prepare(info, model, parsed)` runs once at load with our parse and the model bytes, which
  ACL lets the caller free once aclmdlLoadFromMem returns. What is kept depends on what the
  bytes are, so that a load costs about one parse and a run still sees the loaded model:

  * one immutable ``bytes`` object (the session's parse says so: `ParsedModel.owner`) is
    held by reference until unload; it cannot change, and holding it copies nothing;
  * the session's own mapping of a file that had settled when it was opened is held open
    (`hostbuf.KeptFile`, a descriptor and the file's stamp); its weights are read at the first
    run, and a file written after the load (a real device had copied it) is said to be so;
  * any other buffer (a bytearray, numpy array, mmap, a raw pointer from a pyACL program) may
    change or be freed: the ModelDef is decoded now to find the Consts some op reads, and the
    ModelDef bytes and those weights are copied (`cpu_reference.graph.detach_model`), as a
    real NPU copies weights into device memory; the kernels and task info around them are not.

  In every case the graph is built, and numpy imported, at the first run, not at load.

- `compute(model, inputs, gear, output_sizes, override=None)` receives the loaded model's
  state, the bytes of each user input (the mbatch input excluded, each trimmed to its size at
  this gear, in input order), the current gear (None for a static model), the byte size of
  each output at that gear, and the caller's ``override`` (checked beforehand by
  `check_override`); it returns a `SimOutputs`: one bytes-like object of exactly that size
  per output, a fidelity string and notes.

A model whose graph the reference cannot read still loads and runs: its outputs are the
placeholder below (a deterministic function of every input byte, the same one
tests/abi/fakeacl.c computes in C), with fidelity "placeholder" and a note saying why:

    s = (sum of all input bytes) mod 256;  c = the inputs' bytes concatenated, length L
    output j, byte k = c[k mod L] XOR ((s + 31*j + 7*k) mod 256)      (c[...] = 0 if L = 0)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ..hostbuf import shown_path
from ..om.model import ModelInfo

PLACEHOLDER = "placeholder"
COMPUTED = "computed"
PLACEHOLDER_NOTE = ("output values are a deterministic function of the input bytes, not the model's "
                    "arithmetic (the simulator has no interpreter for this model)")


@dataclass(frozen=True)
class ModelState:
    """What the simulator keeps of a loaded model for `compute`."""

    info: ModelInfo  # our parse of the bytes (descriptors, gears, attrs)
    prepared: Any = None  # whatever `prepare` returned


@dataclass(frozen=True)
class SimOutputs:
    outputs: tuple[Any, ...]  # bytes-like, one per output, exactly the requested sizes
    fidelity: str = PLACEHOLDER
    notes: tuple[str, ...] = ()


class Kept:
    """The CPU reference of one loaded model: what `prepare` kept (`graph.Detached` copied at
    load, the caller's immutable bytes, or a `hostbuf.KeptFile`), made an interpreter at the
    first run, or the reason its graph cannot be read."""

    def __init__(self, info: ModelInfo, detached: Any = None, problem: str = "", held: Any = None) -> None:
        self.info = info
        self.problem = problem
        # weight bytes copied: at load, or (a settled file's) at the first run
        self.copied = detached.copied if detached is not None else 0
        self._detached = detached
        self._held = held  # bytes (read in place) or a KeptFile (read at the first run)
        self._interpreter: Any = None
        self._lock = threading.Lock()

    def interpreter(self) -> Any:
        """The `cpu_reference.Interpreter`, or None when the graph cannot be read (see `problem`)."""
        if self._interpreter is None and (self._detached is not None or self._held is not None):
            with self._lock:
                if self._interpreter is None and (self._detached is not None or self._held is not None):
                    self._interpreter, self.problem = _interpreter(self._graph, self.info)
                    self._detached = None
                    self.release()
        return self._interpreter

    def _graph(self) -> Any:
        """The graph from what was kept; OMFormatError / ValueError say why it cannot be had."""
        held = self._held
        if held is None:
            return self._detached.graph()
        from ..cpu_reference.graph import detach_model, load_graph

        if isinstance(held, bytes):
            return load_graph(held)  # weights read in place: the bytes stay alive with the graph
        if not held.unchanged():
            raise ValueError(_changed(held.label))
        with held.read() as buf:
            detached = detach_model(buf.view, keep_decoded=True)
        if not held.unchanged():  # written while its weights were being copied
            raise ValueError(_changed(held.label))
        self.copied = detached.copied
        return detached.graph()

    def release(self) -> None:
        """Let go of what was held, once the graph is built (at unload it goes with the state,
        after any run still queued)."""
        held, self._held = self._held, None
        if held is not None and not isinstance(held, bytes):
            held.close()


def _changed(label: str) -> str:
    return (f"{shown_path(label)} was written after the model was loaded from it (a device holds the bytes it "
            "loaded; the simulator reads them from the file at the first run); load it again")


def _interpreter(graph: Any, info: ModelInfo) -> tuple[Any, str]:
    from ..cpu_reference import Interpreter
    from ..om.errors import OMFormatError

    try:
        return Interpreter(None, graph=graph(), info=info), ""
    except (OMFormatError, ValueError, TypeError, IndexError, KeyError, MemoryError, OSError) as exc:
        return None, f"the CPU reference cannot read this model's graph ({exc})"


def prepare(info: ModelInfo, model: memoryview, parsed: Any = None) -> Kept:
    """Called once at load; `model` is only valid during this call (see the module docstring).
    `parsed`: the session's `om.reader.ParsedModel` of exactly these bytes, when there is one."""
    if parsed is not None:
        if parsed.owner is not None and model.obj is parsed.owner:  # immutable bytes: hold them
            return Kept(info, held=parsed.owner)
        if parsed.source is not None and model is parsed.source.view:  # the session's mapping
            try:
                kept_file = parsed.source.keep_file()
            except OSError:  # no descriptor to spare (EMFILE): copy now instead
                kept_file = None
            if kept_file is not None:
                return Kept(info, held=kept_file)
    from ..cpu_reference.graph import detach_model
    from ..om.errors import OMFormatError

    try:
        detached = detach_model(model)
    except (OMFormatError, ValueError, TypeError, IndexError, KeyError, MemoryError) as exc:
        return Kept(info, problem=f"the CPU reference cannot read this model's graph ({exc})")
    return Kept(info, detached)


def check_override(model: ModelState, override: dict[str, Any]) -> None:
    """Refuse an override the model cannot take (unknown tensor, wrong shape or dtype) before any execute."""
    kept = model.prepared
    interpreter = None if aipp_note(model.info) else kept.interpreter() if isinstance(kept, Kept) else None
    if interpreter is None:
        from ..cpu_reference import OverrideError

        reason = aipp_note(model.info) or (kept.problem if isinstance(kept, Kept) else "the model has no CPU "
                                           "reference")
        raise OverrideError(f"override= cannot be applied: {reason}")
    interpreter.check_override(override)


def compute(model: ModelState, inputs: Sequence[memoryview], gear: Optional[tuple[int, ...]],
            output_sizes: Sequence[int], override: Optional[dict[str, Any]] = None) -> SimOutputs:
    """The outputs' bytes for one execute (see the module docstring for the contract)."""
    kept = model.prepared
    aipp = aipp_note(model.info)
    if aipp:  # the bytes are an AIPP-format image, not the graph's input: nothing to compute from
        from ..cpu_reference.placeholder import NOTE

        outputs = tuple(placeholder_output(inputs, j, n) for j, n in enumerate(output_sizes))
        return SimOutputs(outputs, PLACEHOLDER, (aipp, NOTE))
    interpreter = kept.interpreter() if isinstance(kept, Kept) else None
    if interpreter is None:
        note = kept.problem if isinstance(kept, Kept) and kept.problem else PLACEHOLDER_NOTE
        outputs = tuple(placeholder_output(inputs, j, n) for j, n in enumerate(output_sizes))
        return SimOutputs(outputs, PLACEHOLDER, (note,))
    import numpy as np

    from ..hostbuf import HostMemoryError

    try:
        arrays = []
        for t, raw in zip(_user_inputs(model.info), inputs):
            dtype = t.numpy_dtype or np.dtype(np.uint8)
            flat = np.frombuffer(raw, dtype=dtype)
            arrays.append(flat.reshape(_shape_at(t.dims, flat.size, gear, model.info.dynamic.kind)))
        result = interpreter.run(arrays, override=override)
    # OMFormatError too (a graph it cannot follow), and the reference's refusals of a run the file
    # sizes past this host (ReferenceLimitError, HostMemoryError): a device would still run it
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError, HostMemoryError) as exc:
        from ..cpu_reference.interpreter import OverrideError

        if isinstance(exc, OverrideError):  # the caller's mistake, not the model's
            raise
        # the device would run the model; only the CPU reference cannot: say so, as placeholder
        from ..cpu_reference.budget import ReferenceLimitError
        from ..cpu_reference.placeholder import NOTE

        if isinstance(exc, (ReferenceLimitError, HostMemoryError)):  # it says what and why itself
            note = f"not computed on the CPU: {exc}"
        else:
            note = f"the CPU reference cannot run this model's graph ({exc})"
        outputs = tuple(placeholder_output(inputs, j, n) for j, n in enumerate(output_sizes))
        return SimOutputs(outputs, PLACEHOLDER, (note, NOTE))
    outputs = []
    for array, size in zip(result.outputs, output_sizes):
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        if data.size != size:  # a dynamic output is reported at the gear's size
            padded = np.zeros(size, np.uint8)
            padded[: min(size, data.size)] = data[:size]
            data = padded
        outputs.append(data)
    return SimOutputs(tuple(outputs), result.fidelity, tuple(result.notes))


def aipp_note(info: ModelInfo) -> str:
    """Why a model with static-AIPP inputs gets placeholder outputs ("" when it has none):
    the device's AIPP stage (colour conversion, crop, normalisation) is not simulated, so
    the CPU reference has no network input to compute from."""
    aipp = [t for t in _user_inputs(info) if t.aipp_dims]
    if not aipp:
        return ""
    t = aipp[0]
    more = f" (and {len(aipp) - 1} more)" if len(aipp) > 1 else ""
    return (f"input {t.name!r}{more} is a static-AIPP input: the simulator does not compute the AIPP stage "
            f"that turns its {list(t.aipp_dims)} {t.dtype} image into the network's {list(t.dims)} input, "
            "so the model's arithmetic is not computed either")


def _user_inputs(info: ModelInfo) -> list[Any]:
    return [t for t in info.inputs if t.name != "ascend_mbatch_shape_data"]


def _shape_at(dims: tuple[int, ...], count: int, gear: Optional[tuple[int, ...]], kind: Optional[str]) -> tuple:
    """An input's shape at this gear: -1 axes from the gear (batch, h/w), or the one that fits `count`."""
    holes = [i for i, d in enumerate(dims) if d < 0]
    if not holes:
        return tuple(dims)
    shape = list(dims)
    if gear and kind == "batch":
        for i in holes:
            shape[i] = gear[0]
    elif gear and len(gear) == len(holes):
        for i, v in zip(holes, gear):
            shape[i] = v
    if any(d < 0 for d in shape):
        known = 1
        for d in shape:
            known *= d if d >= 0 else 1
        missing = [i for i, d in enumerate(shape) if d < 0]
        shape[missing[0]] = count // max(known, 1)
        for i in missing[1:]:
            shape[i] = 1
    return tuple(shape)


def placeholder_output(inputs: Sequence[Any], index: int, size: int):
    """Output `index` (`size` bytes) of the placeholder function, as a numpy uint8 array."""
    from ..cpu_reference.placeholder import placeholder_output as function

    return function(inputs, index, size)


__all__ = ["COMPUTED", "Kept", "ModelState", "PLACEHOLDER", "SimOutputs", "aipp_note", "check_override", "compute",
           "placeholder_output", "prepare"]
