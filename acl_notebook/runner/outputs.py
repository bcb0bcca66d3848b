"""`Outputs`: what a run returns. A tuple of numpy arrays in output order, plus names.

It reads like onnxruntime's list of outputs (``y, = m(x)``, ``out[0]``) and like a dict
(``out["prob"]``), and carries how the run went: the gear, the time spent in each step,
and whether the values are real. The arrays belong to the caller: each run allocates
fresh ones, so a result stays valid after later runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

from .._rich import _repr_html_, _repr_pretty_


@dataclass(frozen=True)
class Timing:
    """Seconds spent in one run: host-to-device copies, aclmdlExecute alone, device-to-host
    copies, and the whole run (gear call and output-shape queries included)."""

    h2d: float
    execute: float
    d2h: float
    total: float

    def to_dict(self) -> dict:
        return asdict(self)


class Outputs(tuple):
    """The arrays a run produced, in output order; ``out["name"]`` also works.

    Attributes: `names`, `gear` (None for a static model), `timing` (`Timing`),
    `simulated` (True on the simulator unless its CPU reference computed every op from the
    file, i.e. `fidelity` is "computed"), `fidelity` and `notes` (how the simulator computed
    them; None and () on real hardware), `model` (the model's name).
    """

    names: tuple[str, ...]
    gear: Optional[tuple[int, ...]]
    timing: Timing
    simulated: bool
    fidelity: Optional[str]
    notes: tuple[str, ...]
    model: str

    def __new__(cls, arrays: Any, *, names: Any, gear: Optional[tuple[int, ...]] = None,
                timing: Optional[Timing] = None, simulated: bool = False, fidelity: Optional[str] = None,
                notes: Any = (), model: str = "") -> Outputs:
        self = super().__new__(cls, tuple(arrays))
        self.names = tuple(names)
        self.gear = gear
        self.timing = timing or Timing(0.0, 0.0, 0.0, 0.0)
        self.simulated = bool(simulated)
        self.fidelity = fidelity
        self.notes = tuple(notes)
        self.model = model
        return self

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index(key))
        return tuple.__getitem__(self, key)

    def _index(self, name: str) -> int:
        if name in self.names:
            return self.names.index(name)
        # GE appends ":<index>" to output names; "prob" finds "prob:0" when that is unambiguous
        short = [i for i, n in enumerate(self.names) if n.split(":")[0] == name]
        if len(short) == 1:
            return short[0]
        known = ", ".join(repr(n) for n in self.names)
        raise KeyError(f"no output named {name!r}; the outputs are {known}")

    def keys(self) -> tuple[str, ...]:
        return self.names

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self.names, self))

    def to_dict(self) -> dict[str, Any]:
        """name -> array."""
        return dict(self.items())

    def summary(self) -> list[dict[str, Any]]:
        """Per output: name, shape, dtype, min, max, mean, argmax (index tuple), NaN and Inf
        counts; NaN/Inf make fp16 overflow visible, min/max/mean skip them."""
        import numpy as np

        rows = []
        for name, arr in self.items():
            row: dict[str, Any] = {"name": name, "shape": tuple(arr.shape), "dtype": str(arr.dtype),
                                   "min": None, "max": None, "mean": None, "argmax": None, "nan": 0, "inf": 0}
            if arr.size and arr.dtype.kind in "biufc":
                values = arr.real if arr.dtype.kind == "c" else arr
                if values.dtype.kind == "f":
                    row["nan"] = int(np.isnan(values).sum())
                    row["inf"] = int(np.isinf(values).sum())
                    finite = values[np.isfinite(values)]
                else:
                    finite = values.reshape(-1)
                if finite.size:
                    row["min"] = finite.min().item()
                    row["max"] = finite.max().item()
                    row["mean"] = float(finite.astype(np.float64).mean())
                    flat = np.where(np.isnan(values), -np.inf, values) if values.dtype.kind == "f" else values
                    row["argmax"] = tuple(int(i) for i in np.unravel_index(int(np.argmax(flat)), arr.shape))
            rows.append(row)
        return rows

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}: {tuple(a.shape)} {a.dtype}" for n, a in self.items())
        flag = ", simulated" if self.simulated else ""
        return f"Outputs({parts}{flag})"

    def __reduce__(self):  # tuple subclasses pickle their items only; keep the rest too
        return (_rebuild, (tuple(self), self.names, self.gear, self.timing, self.simulated, self.fidelity,
                           self.notes, self.model))


def _rebuild(arrays, names, gear, timing, simulated, fidelity, notes, model) -> Outputs:
    return Outputs(arrays, names=names, gear=gear, timing=timing, simulated=simulated, fidelity=fidelity,
                   notes=notes, model=model)


__all__ = ["Outputs", "Timing"]
