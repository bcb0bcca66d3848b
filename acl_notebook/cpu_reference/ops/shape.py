"""Shape and reduction ops on logical tensors: concat, split, slice, transpose, pad, reshape,
reductions, softmax and argmax. Axes always refer to the logical (framework) shape, even when
the tensors travel as NC1HWC0 or FRACTAL_NZ (om-execution.md §5)."""

from __future__ import annotations

import numpy as np

from ..registry import OpView, Unsupported, logical_count, register
from ._util import axis_list, f32


def _const_or_attr(op: OpView, xs, slot: int, name: str):
    if op.has(name):
        return op.attr(name)
    if slot < len(xs) and xs[slot] is not None:
        return np.asarray(xs[slot]).reshape(-1).tolist()
    raise Unsupported(f"{name} is neither an attr nor an input")


def _check(op: OpView, slot: int, name: str) -> None:
    if not op.has(name) and not op.present(slot):
        raise Unsupported(f"{name} is neither an attr nor an input")


@register("ConcatD", "ConcatV2D", "Concat", "ConcatV2")
def concat(op: OpView):
    """ConcatD / ConcatV2D: `concat_dim` / `axis` attr; Concat: the axis is input 0; ConcatV2: the last input."""
    ndim = len(op.out().logical_shape)
    if op.type in ("ConcatD", "ConcatV2D"):
        axis = op.attr("concat_dim", op.attr("axis"))
        if axis is None:
            raise Unsupported("concat_dim is not in the file")
        dim = int(axis) % ndim
        op.cost(held=op.out_as_input(), makes=None)

        return lambda xs: np.concatenate([x for x in xs if x is not None], axis=dim)
    axis_first = op.type == "Concat"
    op.cost(held=op.out_as_input(0, 1 if axis_first else 0), makes=op.inp(1 if axis_first else 0).dtype)

    def kernel(xs):
        xs = [x for x in xs if x is not None]
        axis_value, data = (xs[0], xs[1:]) if axis_first else (xs[-1], xs[:-1])
        return np.concatenate(data, axis=int(np.asarray(axis_value).reshape(-1)[0]) % ndim)

    return kernel


@register("SplitD", "SplitVD", "Split", "SplitV")
def split(op: OpView):
    ndim = len(op.inp(0).logical_shape if op.type in ("SplitD", "SplitVD") else op.inp(1).logical_shape)
    sizes = [d.logical_shape for d in op.node.output_descs]
    if op.type in ("SplitD", "SplitVD"):
        dim = op.attr("split_dim", op.attr("axis"))
        if dim is None:
            raise Unsupported("split_dim is not in the file")
        dim = int(dim) % ndim
    else:
        dim = None
    data_slot = 1 if op.type == "Split" else 0
    op.cost(held=0, makes=op.inp(data_slot).dtype, views=(data_slot,) * len(sizes))  # np.split: views of the input

    def kernel(xs):
        d = dim
        if d is None:
            d = int(np.asarray(xs[0] if op.type == "Split" else xs[2]).reshape(-1)[0]) % ndim
        x = xs[data_slot]
        bounds = np.cumsum([s[d] for s in sizes])[:-1]
        return np.split(x, bounds, axis=d)

    return kernel


def strided_slice(x: np.ndarray, begin, end, strides, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0) -> np.ndarray:
    """TensorFlow's StridedSlice with its five bit masks."""
    index: list = []
    spec = len(begin)
    dim = 0
    for i in range(spec):
        if ellipsis_mask >> i & 1:
            covered = x.ndim - (spec - i - 1 - sum(new_axis_mask >> j & 1 for j in range(i + 1, spec))) - dim
            index.extend([slice(None)] * max(covered, 0))
            dim += max(covered, 0)
            continue
        if new_axis_mask >> i & 1:
            index.append(None)
            continue
        if shrink_axis_mask >> i & 1:
            index.append(int(begin[i]))
        else:
            b = None if begin_mask >> i & 1 else int(begin[i])
            e = None if end_mask >> i & 1 else int(end[i])
            index.append(slice(b, e, int(strides[i]) if strides else 1))
        dim += 1
    return x[tuple(index)]


@register("StridedSliceD", "StridedSlice", "StridedSliceV2")
def strided_slice_op(op: OpView):
    masks = {k: int(op.attr(k, 0)) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                            "shrink_axis_mask")}
    if op.type == "StridedSliceD":
        for name in ("begin", "end"):
            if not op.has(name):
                raise Unsupported(f"{name} is not in the file")
    out_shape = op.out().logical_shape
    # a view of the input; reshaped, a copy when the slice has steps
    op.cost(held=op.out_as_input(), makes=None, views=(0,))

    def kernel(xs):
        begin = _const_or_attr(op, xs, 1, "begin")
        end = _const_or_attr(op, xs, 2, "end")
        strides = _const_or_attr(op, xs, 3, "strides") if (op.has("strides") or op.present(3)) else None
        return strided_slice(xs[0], begin, end, strides, **masks).reshape(out_shape)

    return kernel


@register("SliceD", "Slice")
def slice_op(op: OpView):
    out_shape = op.out().logical_shape
    op.cost(held=0, makes=None, views=(0,))

    def kernel(xs):
        offsets = _const_or_attr(op, xs, 1, "offsets")
        index = tuple(slice(int(o), int(o) + int(n)) for o, n in zip(offsets, out_shape))
        return xs[0][index]

    return kernel


@register("TransposeD", "Transpose", "Permute")
def transpose(op: OpView):
    name = "order" if op.type == "Permute" else "perm"
    if op.type != "Transpose":
        _check(op, 1, name)
    op.cost(held=op.out_as_input(), makes=None)

    def kernel(xs):
        perm = _const_or_attr(op, xs, 1, name)
        return np.ascontiguousarray(np.transpose(xs[0], [int(p) for p in perm]))

    return kernel


@register("PadD", "Pad", "PadV2", "PadV3", "PadV2D", "PadV3D")
def pad(op: OpView):
    mode = str(op.attr("mode", "constant")).lower()
    if mode not in ("constant", "reflect", "edge", "symmetric"):
        raise Unsupported(f"pad mode {mode} is not modelled")
    if op.type.endswith("D"):
        _check(op, 1, "paddings")
    out_shape = tuple(op.out().logical_shape)
    op.cost(held=op.out_as_input(), makes=None)

    def kernel(xs):
        paddings = op.attr("paddings")
        if paddings is None:
            paddings = np.asarray(xs[1]).reshape(-1, 2).tolist()
        pairs = [tuple(int(v) for v in p) for p in np.asarray(paddings).reshape(-1, 2)]
        padded = tuple(d + a + b for d, (a, b) in zip(np.shape(xs[0]), pairs))
        if padded != out_shape:  # checked before np.pad allocates what the paddings ask for
            raise ValueError(f"paddings {pairs} make {list(padded)}, the file declares {list(out_shape)}")
        value = op.attr("constant_values", 0)
        if op.type in ("PadV2", "PadV3") and len(xs) > 2 and xs[2] is not None:
            value = np.asarray(xs[2]).reshape(-1)[0]
        if mode == "constant":
            return np.pad(xs[0], pairs, constant_values=value)
        return np.pad(xs[0], pairs, mode=mode)

    return kernel


@register("Reshape", "Flatten", "FlattenV2", "Squeeze", "SqueezeV2", "Unsqueeze", "ExpandDims", "Identity",
          "MemcpyAsync", "MemcpyAddrAsync", "StopGradient", "Snapshot", "IdentityN", "PreventGradient")
def reshape(op: OpView):
    """Reinterpret: the output desc says the shape (the bytes do not change)."""
    shapes = [d.logical_shape for d in op.node.output_descs]
    present = [i for i in range(op.n_inputs) if op.present(i)]
    views = tuple(present[k] if k < len(present) else None for k in range(len(shapes))) if op.type == "IdentityN" \
        else (present[0] if present else None,)
    # views of the inputs; a reshape of a strided view copies
    op.cost(held=sum(op.out_as_input(k, i or 0) for k, i in enumerate(views)), makes=None, views=views)

    def kernel(xs):
        data = [x for x in xs if x is not None]
        if op.type == "IdentityN":
            return [np.reshape(x, s) for x, s in zip(data, shapes)]
        return np.reshape(data[0], shapes[0]) if shapes else data[0]

    return kernel


_REDUCE = {"Mean": np.mean, "Max": np.max, "Sum": np.sum, "Min": np.min, "Prod": np.prod}


@register(*[f"Reduce{k}{d}" for k in _REDUCE for d in ("", "D")])
def reduce(op: OpView):
    kind = op.type[len("Reduce"):].rstrip("D") if op.type.endswith("D") else op.type[len("Reduce"):]
    fn = _REDUCE[kind]
    keep = bool(op.attr("keep_dims", op.attr("keepdims", False)))
    ndim = len(op.inp(0).logical_shape)
    out_shape = op.out().logical_shape
    if op.type.endswith("D"):
        _check(op, 1, "axes")
    # np.mean divides its sum in place with the count as a float64 operand, through numpy's
    # buffered iterator: two float64 buffers of up to 8192 values (128 KiB)
    divide = 16 * min(logical_count(op.out()), 8192) if kind == "Mean" else 0
    op.cost(held=op.f32(0) + op.out32() + divide)

    def kernel(xs):
        axes = op.attr("axes")
        if axes is None:
            axes = np.asarray(xs[1]).reshape(-1).tolist() if len(xs) > 1 and xs[1] is not None else None
        ax = tuple(axis_list(axes, ndim)) if axes not in (None, []) else tuple(range(ndim))
        return np.reshape(fn(f32(xs[0]), axis=ax, keepdims=keep), out_shape)

    return kernel


@register("SoftmaxV2", "Softmax", "LogSoftmaxV2", "LogSoftmax")
def softmax(op: OpView):
    ndim = len(op.inp(0).logical_shape)
    axes = op.attr("axes", op.attr("axis", [-1]))
    ax = tuple(axis_list(axes if isinstance(axes, list) else [axes], ndim))
    log = op.type.startswith("Log")
    shape = op.inp(0).logical_shape
    kept = 1
    for i, d in enumerate(shape):
        kept *= 1 if i in ax else max(d, 0)
    # x - max, its exp, the result; the maxima and the sums
    op.cost(held=op.f32(0) + 3 * max(4 * logical_count(op.inp(0)), op.out32()) + 8 * kept)

    def kernel(xs):
        x = f32(xs[0])
        shifted = x - x.max(axis=ax, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=ax, keepdims=True)
        return shifted - np.log(total) if log else e / total

    return kernel


@register("ArgMaxD", "ArgMaxV2", "ArgMax", "ArgMinD", "ArgMinV2", "ArgMaxWithValue", "ArgMin")
def argmax(op: OpView):
    ndim = len(op.inp(0).logical_shape)
    pick = np.argmin if "ArgMin" in op.type else np.argmax
    out_shapes = [d.logical_shape for d in op.node.output_descs]
    if op.type in ("ArgMaxD", "ArgMinD", "ArgMaxWithValue") and not op.has("dimension"):
        raise Unsupported("dimension is not in the file")
    # numpy's argmax along an axis that is not the last moves it last in a contiguous float32
    # copy of the whole input (an axis read from an input at run time may be any)
    dim = op.attr("dimension")
    last = dim is not None and ndim > 0 and int(dim) % ndim == ndim - 1
    moved = 0 if last else 4 * logical_count(op.inp(0))
    # int64 indices (and the maxima as float32)
    op.cost(held=op.f32(0) + moved + sum(8 * logical_count(d) for d in op.node.output_descs), makes="int64")

    def kernel(xs):
        dim = op.attr("dimension")
        if dim is None:
            dim = np.asarray(xs[1]).reshape(-1)[0]
        d = int(dim) % ndim
        x = f32(xs[0])
        idx = pick(x, axis=d)
        if op.type == "ArgMaxWithValue":
            return [idx.reshape(out_shapes[0]), np.max(x, axis=d).reshape(out_shapes[1])]
        return idx.reshape(out_shapes[0])

    return kernel
