"""`compare`: a model's outputs on the device against the CPU reference, output by output.

On an Atlas box this is the check users otherwise do with msit / polygraphy against the ONNX
model, here from the .om alone. On the simulator the device run *is* the CPU reference, so
every error is zero by construction; the figures mean something on real hardware.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

from ._rich import _repr_html_, _repr_pretty_


@dataclass(frozen=True)
class OutputComparison:
    """One output: device vs reference."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    max_abs: Optional[float]
    max_rel: Optional[float]
    mean_abs: Optional[float]
    cosine: Optional[float]
    argmax_agreement: Optional[float]  # share of positions whose argmax over axis 1 (or overall) agrees
    nan_device: int
    inf_device: int
    nan_reference: int
    inf_reference: int


@dataclass(frozen=True)
class Comparison:
    """`acl.compare` result: per output figures, how the reference was computed, where it ran."""

    model: str
    backend: str
    fidelity: str  # the reference's
    notes: tuple[str, ...]
    outputs: tuple[OutputComparison, ...]

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    def to_dict(self) -> dict:
        return asdict(self)


def compare_arrays(name: str, device: Any, ref: Any) -> OutputComparison:
    """The figures for one pair of arrays (NaN / Inf left out of the error statistics, counted apart)."""
    import numpy as np

    a, b = np.asarray(device), np.asarray(ref)
    numeric = a.dtype.kind in "biuf" and b.dtype.kind in "biuf" and a.shape == b.shape

    def bad(x, test):
        return int(test(x).sum()) if x.dtype.kind == "f" else 0

    counts = (bad(a, np.isnan), bad(a, np.isinf), bad(b, np.isnan), bad(b, np.isinf))
    if not numeric or a.size == 0:
        return OutputComparison(name, tuple(a.shape), str(a.dtype), None, None, None, None, None, *counts)
    with np.errstate(invalid="ignore"):  # a signalling NaN (placeholder bytes) warns when widened
        x, y = a.astype(np.float64).reshape(-1), b.astype(np.float64).reshape(-1)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return OutputComparison(name, tuple(a.shape), str(a.dtype), None, None, None, None, None, *counts)
    diff = np.abs(x[ok] - y[ok])
    rel = diff / np.maximum(np.abs(y[ok]), np.finfo(np.float32).tiny)
    norm = float(np.linalg.norm(x[ok]) * np.linalg.norm(y[ok]))
    cosine = float(np.clip(np.dot(x[ok], y[ok]) / norm, -1.0, 1.0)) if norm > 0 else float(not diff.any())
    if a.ndim >= 2 and a.shape[1] > 1:
        agree = float((np.argmax(a, axis=1) == np.argmax(b, axis=1)).mean())
    else:
        agree = float(np.argmax(a) == np.argmax(b))
    return OutputComparison(name, tuple(a.shape), str(a.dtype), float(diff.max()), float(rel.max()),
                            float(diff.mean()), cosine, agree, *counts)


def compare(model: Any, inputs: Any = None, *, source: Any = None, seed: Optional[int] = 0) -> Comparison:
    """Run `model` (a Model, name or id) on the device and through the CPU reference; compare.

    source: the model's .om (path or bytes) for the reference, when the model was loaded from a
    buffer on real hardware (ACL keeps no copy to read back); by default the model itself.
    """
    from .cpuref import reference
    from .runner.execute import resolve
    from .runner.inputs import random_inputs

    model = resolve(model)
    _refuse_aipp(model)
    if inputs is None:
        inputs = random_inputs(model, seed=seed)
    device = model.run(inputs)
    ref = reference(model if source is None else source, inputs)
    rows = tuple(compare_arrays(n, d, r) for n, d, r in zip(device.names, device, ref))
    return Comparison(model.name, model.backend, ref.fidelity or "", tuple(ref.notes), rows)


def _refuse_aipp(model: Any) -> None:
    """No single input set feeds both sides of a static-AIPP model: the device takes the
    AIPP-format image, the CPU reference the network's input after the AIPP stage."""
    aipp = [t for t in model.inputs if t.aipp_dims]
    if aipp:
        from .runner.errors import InputError

        t = aipp[0]
        raise InputError(f"model {model.name!r} cannot be compared with its CPU reference: input {t.name!r} is a "
                         f"static-AIPP input (the device takes the {tuple(t.aipp_dims)} {t.dtype} AIPP-format "
                         f"image, the reference the network's {tuple(t.dims)} input after AIPP, which is not "
                         "computed here); run both yourself: model.run(image) and acl.reference(model, x)")


__all__ = ["Comparison", "OutputComparison", "compare", "compare_arrays"]
