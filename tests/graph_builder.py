"""A tiny builder for writer models with a real graph, so CPU-reference tests read like the op they test;
and `conv_model`, the one such model the reference API and load tests both run."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import reference_naive as naive

from acl_notebook.om import ModelSpec, TensorSpec, write_om
from acl_notebook.om.opgraph import ConstSpec, OpSpec, Tensor


class Graph:
    """Add inputs, consts and ops, then `build()` the .om bytes; names are the op names."""

    def __init__(self, framework: str = "Onnx", compress: bool = False) -> None:
        self.inputs: list[TensorSpec] = []
        self.consts: list[ConstSpec] = []
        self.ops: list[OpSpec] = []
        self.tensors: dict[str, Tensor] = {}
        self.framework = framework
        self.compress = compress

    def input(self, name: str, shape, dtype: str = "float16", fmt: str = "NCHW") -> str:
        self.inputs.append(TensorSpec(name, tuple(shape), dtype, fmt))
        self.tensors[name] = Tensor(shape, dtype, fmt, fmt)
        return name

    def const(self, name: str, value: Any, layout: str = "ND", origin: Optional[str] = None,
              dtype: Optional[str] = None) -> str:
        self.consts.append(ConstSpec(name, np.asarray(value), layout, origin, dtype))
        self.tensors[name] = self.consts[-1].tensor()
        return name

    def op(self, name: str, kind: str, inputs: list[str], outputs, input_descs=None, **attrs) -> str:
        outs = outputs if isinstance(outputs, list) else [outputs]
        self.ops.append(OpSpec(name, kind, list(inputs), outs, attrs, input_descs))
        self.tensors[name] = outs[0]
        return name

    def to5hd(self, name: str, src: str) -> str:
        """A TransData from a plain NCHW/NHWC tensor to NC1HWC0 (what ATC puts after the Data op)."""
        t = self.tensors[src]
        return self.op(name, "TransData", [src], Tensor(t.shape, t.dtype, "NC1HWC0", t.layout),
                       src_format=t.layout, dst_format="NC1HWC0")

    def from5hd(self, name: str, src: str, fmt: str = "NCHW") -> str:
        t = self.tensors[src]
        return self.op(name, "TransData", [src], Tensor(t.shape, t.dtype, fmt, fmt), src_format="NC1HWC0",
                       dst_format=fmt)

    def build(self, *outputs: str, **spec: Any) -> bytes:
        outs = []
        for ref in outputs:
            name = ref.split(":")[0]
            index = int(ref.split(":")[1]) if ":" in ref else 0
            t = self.ops_by_name(name).outputs[index] if index else self.tensors[name]
            outs.append(TensorSpec(f"{name}:{index}", t.physical_shape, t.dtype, t.layout))
        return write_om(ModelSpec(name="graph", inputs=self.inputs, outputs=outs, consts=self.consts, ops=self.ops,
                                  framework=self.framework, compress_attrs=self.compress, **spec))

    def ops_by_name(self, name: str) -> OpSpec:
        return next(o for o in self.ops if o.name == name)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def fp16(shape, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return (rng(seed).standard_normal(shape) * scale).astype(np.float16)


def conv_model() -> tuple[bytes, np.ndarray, np.ndarray]:
    """A conv + bias + ReLU stored as ATC stores it (5HD activations, FRACTAL_Z weights), an
    input for it, and the answer loop code (reference_naive) gives: (model, x, want)."""
    w = fp16((6, 3, 3, 3), seed=1, scale=0.3)
    b = fp16((6,), seed=2)
    g = Graph()
    g.input("x", (1, 3, 8, 8), dtype="float32")
    g.const("w", w, "FRACTAL_Z", "NCHW")
    g.const("b", b)
    g.op("half", "Cast", ["x"], Tensor((1, 3, 8, 8), "float16", "NCHW"), dst_type=1)
    g.to5hd("x5", "half")
    g.op("conv", "Conv2D", ["x5", "w", "b", ""], Tensor((1, 6, 8, 8), "float16", "NC1HWC0", "NCHW"),
         strides=[1, 1, 1, 1], pads=[1, 1, 1, 1], dilations=[1, 1, 1, 1], groups=1, data_format="NCHW",
         _datadump_original_op_types=["Relu"])
    g.from5hd("y16", "conv")
    g.op("y", "Cast", ["y16"], Tensor((1, 6, 8, 8), "float32", "NCHW"), dst_type=0)
    x = np.random.default_rng(3).standard_normal((1, 3, 8, 8)).astype(np.float32)
    want = np.maximum(naive.conv2d(x.astype(np.float16), w, pads=(1, 1, 1, 1)) + b.reshape(1, -1, 1, 1), 0)
    return g.build("y"), x, want
