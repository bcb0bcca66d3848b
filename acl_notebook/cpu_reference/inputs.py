"""Model inputs in the forms `Model.run` takes: one array, a list/tuple in input order, or a dict by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..om.model import TensorDesc
from ..runner.errors import refuse_masked

MBATCH_INPUT = "ascend_mbatch_shape_data"


def user_inputs(descs: tuple[TensorDesc, ...]) -> list[TensorDesc]:
    return [d for d in descs if d.name != MBATCH_INPUT]


def normalize(inputs: Any, descs: tuple[TensorDesc, ...]) -> list[np.ndarray]:
    """One array per user input, in order, cast (numpy `same_kind`) to its dtype and checked against its dims."""
    wanted = user_inputs(descs)
    names = [d.name for d in wanted]
    if isinstance(inputs, Mapping):
        unknown = [k for k in inputs if k not in names]
        if unknown:
            raise KeyError(f"no input named {unknown[0]!r}; the model's inputs are: {', '.join(names)}")
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(f"input {missing[0]!r} is missing; the model's inputs are: {', '.join(names)}")
        given = [inputs[n] for n in names]
    elif isinstance(inputs, (list, tuple)):
        given = list(inputs)
    else:
        given = [inputs]
    if len(given) != len(wanted):
        raise ValueError(f"the model takes {len(wanted)} input(s) ({', '.join(names)}), {len(given)} given")
    out = []
    for desc, value in zip(wanted, given):
        refuse_masked(value, f"input {desc.name!r}")
        array = np.asarray(value)
        dtype = desc.numpy_dtype
        if dtype is None:
            raise TypeError(f"input {desc.name!r} is {desc.dtype}, which numpy cannot hold")
        if array.dtype != dtype:
            if not np.can_cast(array.dtype, dtype, "same_kind"):
                raise TypeError(f"input {desc.name!r} expects {dtype}, got {array.dtype} (not a same-kind cast)")
            array = array.astype(dtype)
        dims = tuple(desc.dims)
        if any(d < 0 for d in dims):
            ok = len(array.shape) == len(dims) and all(d < 0 or d == s for d, s in zip(dims, array.shape))
        else:
            ok = tuple(array.shape) == dims
        if not ok:
            raise ValueError(f"input {desc.name!r} expects shape {list(dims)}, got {list(array.shape)}")
        out.append(array)
    return out
