"""What the simulator writes into output buffers when a model executes: the one seam for values.

The simulator's execute path (checks, gears, copies, codes) is ACL's; the numbers it
produces are not, until a real interpreter computes them. This module is the only place
that decides those numbers, behind two functions:

- `prepare(info, model)` runs once at load with our parse and the model bytes (valid only
  during the call), and returns whatever state `compute` needs later (a compiled graph,
  weights...). The placeholder keeps nothing.
- `compute(model, inputs, gear, output_sizes)` receives the loaded model's state, the
  bytes of each user input (the mbatch input excluded, each trimmed to its size at this
  gear, in input order), the current gear (None for a static model) and the byte size of
  each output at that gear, and returns a `SimOutputs`: one bytes-like object of exactly
  that size per output, a fidelity string and notes.

The CPU reference interpreter replaces the bodies of these two functions; nothing else
in the simulator needs to change. Until then the values are ``"placeholder"``: a
deterministic function of every input byte, the same one tests/abi/fakeacl.c computes in
C, so a binding that skips a copy or reads the wrong buffer gives different outputs:

    s = (sum of all input bytes) mod 256;  c = the inputs' bytes concatenated, length L
    output j, byte k = c[k mod L] XOR ((s + 31*j + 7*k) mod 256)      (c[...] = 0 if L = 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ..om.model import ModelInfo

PLACEHOLDER = "placeholder"
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


def prepare(info: ModelInfo, model: memoryview) -> Any:
    """Called once at load; `model` is only valid during this call. Placeholder: nothing."""
    del info, model
    return None


def compute(model: ModelState, inputs: Sequence[memoryview], gear: Optional[tuple[int, ...]],
            output_sizes: Sequence[int]) -> SimOutputs:
    """The outputs' bytes for one execute (see the module docstring for the contract)."""
    del model, gear
    outputs = tuple(placeholder_output(inputs, j, n) for j, n in enumerate(output_sizes))
    return SimOutputs(outputs, PLACEHOLDER, (PLACEHOLDER_NOTE,))


def placeholder_output(inputs: Sequence[Any], index: int, size: int):
    """Output `index` (`size` bytes) of the placeholder function, as a numpy uint8 array."""
    import numpy as np

    arrays = [np.frombuffer(b, dtype=np.uint8) for b in inputs]
    total = sum(int(a.sum(dtype=np.uint64)) for a in arrays)
    s = total & 0xFF
    table = ((s + 31 * index + 7 * np.arange(256, dtype=np.int64)) & 0xFF).astype(np.uint8)
    out = np.resize(table, size)
    length = sum(a.size for a in arrays)
    if length and size:
        parts, have = [], 0
        for a in arrays:
            if have >= size:
                break
            parts.append(a[: size - have])
            have += parts[-1].size
        cat = np.concatenate(parts) if len(parts) > 1 else parts[0]
        out ^= np.resize(cat, size)
    return out


__all__ = ["ModelState", "PLACEHOLDER", "SimOutputs", "compute", "placeholder_output", "prepare"]
