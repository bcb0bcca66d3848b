"""Layout and type conversions: TransData and Cast.

Both are pure on logical values: the interpreter already decodes every input with its own
descriptor and encodes nothing until a consumer needs different bytes, so TransData only
has to move axes when its logical formats differ (e.g. NCHW data leaving as NHWC), and Cast
only has to let the interpreter store the result in the output dtype.
"""

from __future__ import annotations

import numpy as np

from ..registry import OpView, logical_count, register
from ._util import from_nchw, to_nchw


@register("TransData", "TransDataRNN")
def trans_data(op: OpView):
    src, dst = op.inp(0), op.out(0)
    fsrc, fdst = src.logical_format, dst.logical_format
    shape = dst.logical_shape
    spatial = {"NCHW", "NHWC", "HWCN"}
    moves = len(src.logical_shape) == 4 and len(shape) == 4 and fsrc != fdst and {fsrc, fdst} <= spatial
    # a view of the input: the axes moved (made contiguous for NHWC), or a reshape, which copies a
    # strided view
    op.cost(held=op.out_as_input(), makes=None, views=(0,))

    def kernel(xs):
        x = xs[0]
        if moves:
            x = from_nchw(to_nchw(x, fsrc), fdst)
        return np.reshape(x, shape)

    return kernel


@register("Cast", "CastV2")
def cast(op: OpView):
    out = op.out(0).dtype
    if out in ("int32", "int64", "int8", "uint8", "int16") and op.inp(0).dtype in ("float16", "float32"):
        op.cost(held=op.out_as_input(), makes=None)  # the truncated values, then stored as ints
    elif out == "bool":
        op.cost(held=logical_count(op.out()), makes="bool")
    else:  # the input itself, stored in the output's dtype
        op.cost(held=0, makes=None, views=(0,))

    def kernel(xs):
        x = np.asarray(xs[0])
        if out in ("int32", "int64", "int8", "uint8", "int16") and x.dtype.kind == "f":
            return np.trunc(x)  # C and TensorFlow casts truncate toward zero
        if out == "bool":
            return x != 0
        return x

    return kernel
