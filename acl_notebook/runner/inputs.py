"""From what a caller passes to the arrays a run copies: matching, conversion, gear choice.

All of it happens before any ACL call, so a mistake costs nothing on the device and
leaves the model loaded and usable. The rules:

- inputs are one array (a model with one user input), a list/tuple in input order, or a
  dict name -> array; the mbatch input (``ascend_mbatch_shape_data``) is never the
  caller's: the gear set call fills it;
- an array that is already C-contiguous and of the input's dtype is used as it is (its
  address goes to aclrtMemcpy, no host copy); anything else goes through
  ``numpy.asarray(value, dtype)`` when numpy's ``same_kind`` casting allows it
  (float64 -> float16 is fine, float -> int is not);
- the gear comes from ``batch=`` / ``hw=`` / ``dims=`` or from the input shapes (the
  batch axis, H and W as the input's format places them, or every -1 axis in shape order);
- every shape is then checked against the descriptor with each -1 resolved to that gear;
- a static-AIPP input (`TensorDesc.aipp_dims`) takes the source image in the model's AIPP
  input format, shaped as ``aclmdlGetInputDimsV2`` reports (e.g. (1, 336, 224, 1) uint8 for
  a YUV420SP 224x224 image): that is what ACL's input buffer holds, not an array of `dims`.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..hostbuf import check_host_memory
from ..om.enums import tensor_size
from ..om.model import TensorDesc
from ..runtime.gears import MBATCH_INPUT, input_dims, largest, shape_order_inputs, user_inputs
from .errors import InputError, InputNameError, InputTypeError, refuse_masked

Gear = tuple[int, ...]

#: (H, W) axes of a 4-D input by its format, for messages about image-size gears.
_HW_AXES = {"NCHW": (2, 3), "NHWC": (1, 2), "NC1HWC0": (2, 3), "CHWN": (1, 2), "HWCN": (0, 1)}


@dataclass(frozen=True)
class Prepared:
    """The arrays to copy (one per user input, in model order), the gear and the batch."""

    arrays: tuple[np.ndarray, ...]
    gear: Optional[Gear]
    batch: int
    copied: tuple[bool, ...]  # True where the caller's array had to be converted


def _names(users: Sequence[TensorDesc]) -> str:
    return ", ".join(repr(t.name) for t in users) or "none"


def gear_text(kind: Optional[str], gears: Sequence[Gear]) -> str:
    """The gears as a person reads them: "1, 4, 8" / "224x224, 448x640" / "(128, 128), ..."."""
    if kind == "batch":
        return ", ".join(str(g[0]) for g in gears)
    if kind == "hw":
        return ", ".join(f"{g[0]}x{g[1]}" for g in gears)
    return ", ".join("(" + ", ".join(map(str, g)) + ")" for g in gears)


def _match(model: Any, users: list[TensorDesc], inputs: Any) -> list[Any]:
    """The caller's values aligned with the user inputs."""
    if inputs is None:
        raise InputTypeError(f"model {model.name!r} needs {len(users)} input(s) ({_names(users)}); pass an array, "
                             "a list in input order or a dict name -> array")
    if isinstance(inputs, Mapping):
        if MBATCH_INPUT in inputs:
            raise InputNameError(f"{MBATCH_INPUT!r} is not yours to give: the library sets the gear through "
                                 "ACL's set call (use batch=, hw= or dims= to choose it)")
        unknown = [k for k in inputs if k not in {t.name for t in users}]
        if unknown:
            raise InputNameError(f"model {model.name!r} has no input named {unknown[0]!r}; "
                                 f"its inputs are {_names(users)}")
        missing = [t.name for t in users if t.name not in inputs]
        if missing:
            raise InputNameError(f"input {missing[0]!r} is missing; model {model.name!r} needs {_names(users)}")
        return [inputs[t.name] for t in users]
    if isinstance(inputs, (list, tuple)):
        if len(inputs) != len(users):
            raise InputError(f"{len(inputs)} inputs given, model {model.name!r} has {len(users)} ({_names(users)}); "
                             "pass one array per input (a single input: the array itself, e.g. np.asarray(x))")
        return list(inputs)
    if len(users) != 1:
        raise InputTypeError(f"one array given, model {model.name!r} has {len(users)} inputs ({_names(users)}); "
                             "pass a list in input order or a dict name -> array")
    return [inputs]


def _convert(t: TensorDesc, value: Any) -> tuple[np.ndarray, bool]:
    """The input as a C-contiguous array of its dtype; True when a copy was made."""
    refuse_masked(value, f"input {t.name!r}")
    target = t.numpy_dtype
    if isinstance(value, np.ndarray) and value.flags.c_contiguous and (target is None or value.dtype == target):
        return value, False
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists, objects numpy cannot read
        raise InputTypeError(f"input {t.name!r}: {type(value).__name__} is not an array ({exc})") from None
    if target is None:  # bfloat16, int4...: numpy cannot hold them; raw bytes are taken as they are
        return np.asarray(arr, order="C"), True  # not ascontiguousarray: it makes a 0-d input 1-d
    if arr.dtype == object or not np.can_cast(arr.dtype, target, casting="same_kind"):
        raise InputTypeError(f"input {t.name!r}: given {arr.dtype}, expected {target} and numpy's same_kind "
                             f"casting refuses that conversion; convert it yourself (x.astype(np.{target}))")
    return np.asarray(arr, dtype=target, order="C"), True


def _dynamic_values(t: TensorDesc, arr: np.ndarray) -> list[int]:
    """The values of `arr`'s axes where `t` has -1 (after checking rank and static axes)."""
    shape = arr.shape
    if len(shape) != len(t.dims):
        raise InputError(f"input {t.name!r}: given shape {shape} has rank {len(shape)}, expected rank "
                         f"{len(t.dims)} {tuple(t.dims)} (-1 = set by the gear)")
    for axis, (d, n) in enumerate(zip(t.dims, shape)):
        if d >= 0 and d != n:
            raise InputError(f"input {t.name!r}: given shape {shape}, expected {tuple(t.dims)} "
                             f"(axis {axis} must be {d}; -1 = set by the gear)")
    return [n for d, n in zip(t.dims, shape) if d == -1]


def _inferred_gear(model: Any, users: list[TensorDesc], arrays: Sequence[np.ndarray]) -> tuple[Gear, str]:
    """The gear the input shapes ask for, and the input that decided it."""
    dyn = model.dynamic
    by_name = {t.name: a for t, a in zip(users, arrays)}
    if dyn.kind == "dims":
        values: list[int] = []
        for t in shape_order_inputs(model.inputs, dyn.shape_order):
            values += _dynamic_values(t, by_name[t.name])
        return tuple(values), ", ".join(t.name for t in users)
    found: Optional[Gear] = None
    source = ""
    for t, arr in zip(users, arrays):
        if -1 not in t.dims:
            continue
        values = _dynamic_values(t, arr)
        if dyn.kind == "batch":
            if len(set(values)) > 1:
                raise InputError(f"input {t.name!r}: its -1 axes give batch sizes {sorted(set(values))}; they "
                                 "must agree")
            gear: Gear = (values[0],)
        else:
            axes = _HW_AXES.get(t.format) if len(t.dims) == 4 else None
            if axes and all(t.dims[a] == -1 for a in axes):  # H and W where the format puts them
                gear = (int(arr.shape[axes[0]]), int(arr.shape[axes[1]]))
            elif len(values) == 2:
                gear = (values[0], values[1])
            else:
                raise InputError(f"input {t.name!r} has {len(values)} dynamic axes; an image-size gear sets 2 (H, W)")
        if found is not None and gear != found:
            raise InputError(f"inputs {source!r} and {t.name!r} ask for different gears: "
                             f"{gear_text(dyn.kind, [found])} and {gear_text(dyn.kind, [gear])}")
        found, source = gear, t.name
    if found is None:
        raise InputError(f"model {model.name!r} has {dyn.kind} gears but no input with a -1 axis to choose one; "
                         f"pass {dyn.kind}= (gears: {gear_text(dyn.kind, dyn.gears)})")
    return found, source


def _explicit_gear(model: Any, batch: Any, hw: Any, dims: Any) -> Optional[Gear]:
    dyn = model.dynamic
    given = {k: v for k, v in (("batch", batch), ("hw", hw), ("dims", dims)) if v is not None}
    if not given:
        return None
    if not dyn.is_dynamic:
        for t in user_inputs(model.inputs):
            if not t.aipp_dims and any(d < 0 for d in t.dims):
                raise _shape_range(model, t)  # no gear to choose, and no static shape either
        raise InputError(f"model {model.name!r} is static (no gears); drop {', '.join(f'{k}=' for k in given)}")
    if len(given) > 1:
        raise InputError(f"give one of batch=, hw=, dims=, not {' and '.join(f'{k}=' for k in given)}")
    (key, value), = given.items()
    if key != dyn.kind:
        raise InputError(f"model {model.name!r} has {dyn.kind} gears ({gear_text(dyn.kind, dyn.gears)}); {key}= does "
                         f"not apply, use {dyn.kind}=")
    try:
        gear = (_whole(value),) if key == "batch" else tuple(_whole(v) for v in value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{key}= must be {'an int' if key == 'batch' else 'a tuple of ints'}, got {value!r}") \
            from None
    if gear not in dyn.gears:
        shown = gear[0] if key == "batch" else gear
        raise InputError(f"{key}={shown} is not a gear of model {model.name!r}; "
                         f"gears: {gear_text(dyn.kind, dyn.gears)}")
    return gear


def _whole(value: Any) -> int:
    """An int or numpy integer as itself; a float (4.0, 1.5, inf), bool or text is refused
    rather than truncated into some other gear."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a gear")
    return operator.index(value)


#: The most axes a numpy array has (numpy.MAXDIMS: 64 since numpy 2, 32 before); ACL allows 128.
NUMPY_MAX_DIMS = 64 if int(np.__version__.split(".")[0]) >= 2 else 32


def _shape_range(model: Any, t: TensorDesc) -> InputError:
    return InputError(f"input {t.name!r} has dims {tuple(t.dims)} and model {model.name!r} has no gears that fix the "
                      "unknown ones: a shape-range model (ATC --input_shape_range), which needs ACL's dynamic "
                      "tensor descs; run models with static dims or batch / image-size / dims gears")


def _shape(model: Any, t: TensorDesc, gear: Optional[Gear]) -> tuple[int, ...]:
    """The shape input `t` takes at `gear`: the AIPP view for a static-AIPP input. Refused,
    before any array is made, when no gear fixes its unknown axes (a shape-range model) or
    numpy cannot make an array of that rank."""
    dyn = model.dynamic
    shape = t.aipp_dims or tuple(input_dims(dyn.kind, t, gear, model.inputs, dyn.shape_order))
    if not dyn.is_dynamic and any(d < 0 for d in shape):
        raise _shape_range(model, t)
    if t.numpy_dtype is not None and len(shape) > NUMPY_MAX_DIMS:
        raise InputError(f"input {t.name!r} has {len(shape)} axes, more than the {NUMPY_MAX_DIMS} a numpy array "
                         f"can have, so model {model.name!r} cannot be fed from numpy")
    return shape


def _aipp_refusal(t: TensorDesc, given: tuple[int, ...]) -> InputError:
    shown = "" if given == tuple(t.dims) else f" (given shape {given})"
    return InputError(f"input {t.name!r} is a static-AIPP input: it takes the image in the model's AIPP input "
                      f"format, shape {t.aipp_dims} {t.dtype} = {t.size} bytes, not its dims {tuple(t.dims)}"
                      f"{shown}; the AIPP stage on the device turns it into the network's input")


def prepare(model: Any, inputs: Any, *, batch: Any = None, hw: Any = None, dims: Any = None) -> Prepared:
    """Match, convert and check the inputs, and choose the gear (see the module docstring)."""
    users = user_inputs(model.inputs)
    values = _match(model, users, inputs)
    converted = [_convert(t, v) for t, v in zip(users, values)]
    arrays = [a for a, _ in converted]
    dyn = model.dynamic
    gear = _explicit_gear(model, batch, hw, dims)
    if dyn.is_dynamic and gear is None:
        gear, source = _inferred_gear(model, users, arrays)
        if gear not in dyn.gears:
            raise InputError(f"input {source!r} asks for {dyn.kind} {gear_text(dyn.kind, [gear])}, which is not "
                             f"a gear of model {model.name!r}; gears: {gear_text(dyn.kind, dyn.gears)}")
    for t, arr in zip(users, arrays):
        want = _shape(model, t, gear)
        nbytes = tensor_size(want, t.acl_dtype)
        at = f" at {dyn.kind} gear {gear_text(dyn.kind, [gear])}" if gear is not None else ""
        if t.numpy_dtype is None:
            if arr.nbytes != nbytes:
                raise InputError(f"input {t.name!r} ({t.dtype}, which numpy cannot hold) takes raw bytes: given "
                                 f"{arr.nbytes} bytes, expected {nbytes} for shape {want}{at}")
            continue
        if t.aipp_dims and tuple(arr.shape) != want:
            raise _aipp_refusal(t, tuple(arr.shape))
        if tuple(arr.shape) != tuple(want):
            raise InputError(f"input {t.name!r}: given shape {tuple(arr.shape)}, expected {tuple(want)}{at}")
        if arr.nbytes != nbytes:
            raise InputError(f"input {t.name!r}: given {arr.nbytes} bytes, the model takes {nbytes}{at}")
    return Prepared(tuple(arrays), gear, _batch_of(model, gear, arrays), tuple(c for _, c in converted))


def _batch_of(model: Any, gear: Optional[Gear], arrays: Sequence[np.ndarray]) -> int:
    """Samples per run, for throughput: the batch gear, else the first input's first axis
    (ais_bench's rule), else 1."""
    if model.dynamic.kind == "batch" and gear:
        return int(gear[0])
    if arrays and arrays[0].ndim:
        return max(int(arrays[0].shape[0]), 1)
    return 1


def chosen_gear(model: Any, batch: Any = None, hw: Any = None, dims: Any = None) -> Optional[Gear]:
    """The gear `random_inputs` uses: the one asked for, else the largest (what ACL's
    buffers are sized for)."""
    gear = _explicit_gear(model, batch, hw, dims)
    if gear is None and model.dynamic.is_dynamic:
        gear = largest(model.dynamic.gears)
    return gear


def random_inputs(model: Any, *, batch: Any = None, hw: Any = None, dims: Any = None,
                  seed: Optional[int] = None) -> dict[str, np.ndarray]:
    """Random arrays matching the descriptors at a gear (see `chosen_gear`): floats in
    [-1, 1), integers in a small non-negative range, booleans at random; a static-AIPP
    input gets its AIPP-format shape (what `prepare` takes)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise InputTypeError(f"seed must be an int (or None for fresh randomness), not {seed!r}")
    if seed is not None and seed < 0:
        raise InputError(f"seed must be 0 or more, not {seed}")
    gear = chosen_gear(model, batch, hw, dims)
    shapes = {t.name: tuple(max(d, 0) for d in _shape(model, t, gear)) for t in user_inputs(model.inputs)}
    _check_room(model, shapes)
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for t in user_inputs(model.inputs):
        shape, dtype = shapes[t.name], t.numpy_dtype
        if dtype is None:
            out[t.name] = rng.integers(0, 256, tensor_size(shape, t.acl_dtype), dtype=np.uint8)
        elif dtype.kind == "f":
            values = rng.random(shape, dtype=np.float64 if dtype.itemsize > 4 else np.float32)
            values *= 2
            values -= 1  # [-1, 1), made in place: no float64 copy of a float32 or float16 input
            out[t.name] = values.astype(dtype, copy=False)
        elif dtype.kind == "b":
            out[t.name] = rng.integers(0, 2, shape, dtype=np.uint8).astype(bool)
        elif dtype.kind in "iu":
            out[t.name] = rng.integers(0, min(100, np.iinfo(dtype).max), shape, dtype=dtype)
        elif dtype.kind == "c":
            out[t.name] = (rng.uniform(-1, 1, shape) + 1j * rng.uniform(-1, 1, shape)).astype(dtype)
        else:
            out[t.name] = np.zeros(shape, dtype)
    return out


def _check_room(model: Any, shapes: dict[str, tuple[int, ...]]) -> None:
    """HostMemoryError when the arrays (and the widest one's scratch while it is made) would
    not fit in host memory: a model with a huge input must not get the kernel killed."""
    total = scratch = 0
    for t in user_inputs(model.inputs):
        dtype = t.numpy_dtype
        if dtype is None:
            total += tensor_size(shapes[t.name], t.acl_dtype)
            continue
        size = int(np.prod(shapes[t.name], dtype=object)) * dtype.itemsize
        total += size
        # what is made on the way: float32 for a float16, bytes for a bool, the parts of a complex
        extra = {"f": 2 * size if dtype.itemsize < 4 else 0, "b": size, "c": 4 * size}.get(dtype.kind, 0)
        scratch = max(scratch, extra)
    check_host_memory(f"a random input set for model {model.name!r}", total + scratch,
                      "pass arrays of your own, or choose a smaller gear (batch=, hw=, dims=)")


__all__ = ["Prepared", "chosen_gear", "gear_text", "prepare", "random_inputs"]
