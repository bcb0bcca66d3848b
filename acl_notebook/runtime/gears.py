"""Gear arithmetic of multi-gear models, shared by the simulator and the run layer.

ACL speaks about gears in two vocabularies, and mixing them up is the classic bug:

- a *gear* as our `DynamicInfo` stores it: ``(batch,)``, ``(h, w)`` or, for dims models,
  one value per ``-1`` axis of the inputs taken in the model's shape order;
- the *full dims* that `aclmdlGetInputDynamicDims` reports and `aclmdlSetInputDynamicDims`
  expects: every dim of every input in shape order, concatenated, the ``-1`` axes filled
  in (acl-execute.md §7: inputs ``1,1,40,-1`` / ``1,-1`` / ``-1,-1`` with gear
  ``20,20,1,1`` give ``1,1,40,20,1,20,1,1``).

Everything here is pure (tuples in, tuples out) so both backends and the run layer agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional

from ..om.model import DynamicInfo, TensorDesc

#: ACL_DYNAMIC_TENSOR_NAME: the extra input ATC adds to a multi-gear model.
MBATCH_INPUT = "ascend_mbatch_shape_data"

Gear = tuple[int, ...]


def user_inputs(inputs: Sequence[TensorDesc]) -> list[TensorDesc]:
    """The inputs a caller fills (everything but the mbatch input)."""
    return [t for t in inputs if t.name != MBATCH_INPUT]


def shape_order_inputs(inputs: Sequence[TensorDesc], order: Sequence[str] = ()) -> list[TensorDesc]:
    """The user inputs in the model's shape order (input order when the model names none)."""
    users = user_inputs(inputs)
    if not order:
        return users
    by_name = {t.name: t for t in users}
    picked = [by_name[n] for n in order if n in by_name]
    return picked or users


def _fill(dims: Sequence[int], values: Sequence[int]) -> Optional[Gear]:
    it = iter(values)
    out = []
    for d in dims:
        if d == -1:
            v = next(it, None)
            if v is None:
                return None
            out.append(int(v))
        else:
            out.append(int(d))
    return tuple(out)


def input_dims(kind: Optional[str], t: TensorDesc, gear: Optional[Gear], inputs: Sequence[TensorDesc] = (),
               order: Sequence[str] = ()) -> tuple[int, ...]:
    """The concrete dims of input `t` at `gear` (its own dims when static or no gear)."""
    if gear is None or kind is None or -1 not in t.dims:
        return tuple(t.dims)
    if kind == "batch":
        return tuple(gear[0] if d == -1 else d for d in t.dims)
    if kind == "hw":
        return _fill(t.dims, gear) or tuple(t.dims)
    ordered = shape_order_inputs(inputs, order)
    skip = 0
    for other in ordered:
        if other.name == t.name:
            break
        skip += other.dims.count(-1)
    return _fill(t.dims, gear[skip:]) or tuple(t.dims)


def full_dims(inputs: Sequence[TensorDesc], order: Sequence[str], gear: Gear) -> Optional[Gear]:
    """A dims gear as ACL's concatenated full dims (None if the gear has too few values)."""
    out: list[int] = []
    values = list(gear)
    for t in shape_order_inputs(inputs, order):
        holes = t.dims.count(-1)
        filled = _fill(t.dims, values[:holes])
        if filled is None:
            return None
        values = values[holes:]
        out.extend(filled)
    return tuple(out) if not values else None


def gear_from_full(inputs: Sequence[TensorDesc], order: Sequence[str], full: Sequence[int]) -> Optional[Gear]:
    """The -1 positions of ACL's full dims (None when the static dims or the length differ)."""
    ordered = shape_order_inputs(inputs, order)
    if len(full) != sum(len(t.dims) for t in ordered):
        return None
    out, pos = [], 0
    for t in ordered:
        for d in t.dims:
            value = int(full[pos])
            pos += 1
            if d == -1:
                out.append(value)
            elif d != value:
                return None
    return tuple(out)


def largest(gears: Sequence[Gear]) -> Optional[Gear]:
    """The gear that needs the most memory (largest product; the first on a tie)."""
    best, size = None, -1
    for g in gears:
        p = math.prod(g)
        if p > size:
            best, size = tuple(g), p
    return best


def output_dims(dynamic: DynamicInfo, outputs: Sequence[TensorDesc], index: int, gear: Optional[Gear]) -> Gear:
    """Output `index`'s dims at `gear`: the model's recorded per-gear shape when it has one
    (DYNAMIC_OUTPUT_SHAPE strings ``"gear,output,dims..."``), else its -1 axes filled from
    the gear (batch: every -1; otherwise the gear's values in order)."""
    t = outputs[index]
    if gear is None or dynamic.kind is None:
        return tuple(t.dims)
    if gear in dynamic.gears:
        g = dynamic.gears.index(gear)
        for text in dynamic.output_shapes:
            parts = [p for p in text.split(",") if p.strip()]
            try:
                values = [int(p) for p in parts]
            except ValueError:
                continue
            if len(values) >= 2 and values[0] == g and values[1] == index and -1 not in values[2:]:
                return tuple(values[2:])
    if -1 not in t.dims:
        return tuple(t.dims)
    if dynamic.kind == "batch":
        return tuple(gear[0] if d == -1 else d for d in t.dims)
    return _fill(t.dims, gear) or tuple(max(d, 0) for d in t.dims)


__all__ = [
    "MBATCH_INPUT",
    "full_dims",
    "gear_from_full",
    "input_dims",
    "largest",
    "output_dims",
    "shape_order_inputs",
    "user_inputs",
]
