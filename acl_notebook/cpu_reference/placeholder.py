"""The values a placeholder result carries: a deterministic function of every input byte.

When some op feeding an output cannot be computed, its values are not the model's whatever
we put there; zeros would look plausible, this does not. It is the function the simulator
has always written (and tests/abi/fakeacl.c computes in C), so a binding that skips a copy or
reads the wrong buffer still shows:

    s = (sum of all input bytes) mod 256;  c = the inputs' bytes concatenated, length L
    output j, byte k = c[k mod L] XOR ((s + 31*j + 7*k) mod 256)      (c[...] = 0 if L = 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

NOTE = "the output values are a deterministic function of the input bytes (placeholder), not the model's"


def placeholder_output(inputs: Sequence[Any], index: int, size: int) -> np.ndarray:
    """Output `index` (`size` bytes) of the placeholder function, as a numpy uint8 array."""
    arrays = [np.frombuffer(b, dtype=np.uint8) for b in inputs]
    total = sum(int(a.sum(dtype=np.uint64)) for a in arrays)
    s = total & 0xFF
    table = ((s + 31 * index + 7 * np.arange(256, dtype=np.int64)) & 0xFF).astype(np.uint8)
    out = _cycle(table, size)
    length = sum(a.size for a in arrays)
    if length and size:
        parts, have = [], 0
        for a in arrays:
            if have >= size:
                break
            parts.append(a[: size - have])
            have += parts[-1].size
        cat = np.concatenate(parts) if len(parts) > 1 else parts[0]
        out ^= _cycle(cat, size)
    return out


def _cycle(a: np.ndarray, size: int) -> np.ndarray:
    """`a` repeated to `size` values, as a new array. Not ``np.resize``: it concatenates a tuple
    of size / len(a) references to `a`, 41 bytes held per output byte for a one-byte input
    (a 1 GiB output of a model with a scalar input would ask for 41 GiB) and seconds of work."""
    if a.size >= size:
        return a[:size].copy()
    return np.tile(a, -(-size // a.size))[:size]


def placeholder_like(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The placeholder values in the outputs' shapes and dtypes."""
    raw = [np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in inputs]
    return tuple(placeholder_output(raw, j, o.nbytes).view(o.dtype).reshape(o.shape) for j, o in enumerate(outputs))
