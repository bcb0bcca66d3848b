"""The trained digits CNN as ATC would compile it: the ops, layouts and attributes of an .om graph.

What an ONNX export of `train`'s network looks like after ``atc --framework=5
--input_fp16_nodes=images --soc_version=...`` (om-execution.md §1-§7):

* activations travel as fp16 in NC1HWC0 (C0 = 16); a TransData at the input edge packs the
  NCHW image, and one before the dense layer unpacks it again;
* conv weights are fp16 FRACTAL_Z, the dense weight fp16 FRACTAL_NZ, biases fp16 ND;
* each Conv + bias + ReLU is one fused Conv2D: the kernel name spells the fused types
  (``te_fused_op_conv2d_relu_<hash>``), ``_datadump_original_op_names`` /
  ``_datadump_original_op_types`` / ``pass_name`` record the chain, and the convolution keeps
  its ``strides`` / ``pads`` / ``dilations`` / ``groups`` / ``data_format``;
* the Flatten is erased: the TransData after it reads the NCHW bytes as ND ``[N, 784]``
  (its own input descriptor) and packs them into FRACTAL_NZ for the MatMulV2;
* the output is unpacked to ND, soft-maxed and cast back to fp32 before the NetOutput.

`ops_and_consts(weights, batch)` gives the writer's `OpSpec` / `ConstSpec` lists for one
static batch size; `digits.build` wraps them into a static or a multi-gear model.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..om.opgraph import ConstSpec, OpSpec, Tensor
from .train import CLASSES, CONV1, CONV2, FLAT, Weights

INPUT = "images"
OUTPUT_OP = "output_cast"
OUTPUT = f"{OUTPUT_OP}:0:probabilities"  # node:index:tensor, as ATC names an ONNX model's outputs
_AICORE = "AIcoreEngine"


def _kernel(types: str, name: str) -> str:
    """A TBE kernel name as ATC prints it: the fused op types in snake case plus a hash."""
    return f"te_fused_op_{types}_{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _fused_conv(name: str, parts: list[str], x: str, w: str, b: str, out: Tensor) -> OpSpec:
    return OpSpec(name, "Conv2D", [x, w, b, ""], [out], {
        "strides": [1, 1, 1, 1], "pads": [1, 1, 1, 1], "dilations": [1, 1, 1, 1], "groups": 1,
        "data_format": "NCHW", "offset_x": 0,
        "_datadump_original_op_names": parts, "_datadump_original_op_types": ["Relu"],
        "pass_name": ["AutomaticUbFusion"], "pass_name_ub": ["AutomaticUbFusion"],
        "_is_fusion_op": True, "_is_compiled_fusion_op": True,
        "_kernel_bin_id": _kernel("conv2d_relu", name), "_lxfusion_engine_name": _AICORE,
    })


def _pool(name: str, x: str, out: Tensor) -> OpSpec:
    return OpSpec(name, "MaxPoolV3", [x], [out], {
        "ksize": [1, 1, 2, 2], "strides": [1, 1, 2, 2], "padding_mode": "CALCULATED", "pads": [0, 0, 0, 0],
        "data_format": "NCHW", "global_pooling": False, "ceil_mode": False,
        "_kernel_bin_id": _kernel("max_pool_v3", name), "_lxfusion_engine_name": _AICORE,
    })


def _transdata(name: str, x: str, src: str, dst: str, out: Tensor, read_as: Tensor | None = None) -> OpSpec:
    return OpSpec(name, "TransData", [x], [out], {
        "src_format": src, "dst_format": dst, "src_subformat": 0, "dst_subformat": 0, "groups": 1,
        "_kernel_bin_id": _kernel("trans_data", name), "_lxfusion_engine_name": _AICORE,
    }, input_descs=[read_as] if read_as is not None else None)


def consts(weights: Weights) -> list[ConstSpec]:
    """The weights as ATC stores them: fp16, conv filters FRACTAL_Z, the dense matrix FRACTAL_NZ."""
    h = np.float16
    return [
        ConstSpec("conv1.weight", weights.conv1_w.astype(h), "FRACTAL_Z", "NCHW"),
        ConstSpec("conv1.bias", weights.conv1_b.astype(h), "ND"),
        ConstSpec("conv2.weight", weights.conv2_w.astype(h), "FRACTAL_Z", "NCHW"),
        ConstSpec("conv2.bias", weights.conv2_b.astype(h), "ND"),
        ConstSpec("fc.weight", weights.fc_w.astype(h), "FRACTAL_NZ", "ND"),
        ConstSpec("fc.bias", weights.fc_b.astype(h), "ND"),
    ]


def ops(batch: int) -> list[OpSpec]:
    """The compute ops for a static batch size, in an order where every input comes first."""
    def act(c: int, hw: int) -> Tensor:
        return Tensor((batch, c, hw, hw), "float16", "NC1HWC0", "NCHW")

    nd = Tensor((batch, FLAT), "float16", "ND", "ND")
    return [
        _transdata("trans_TransData_0", INPUT, "NCHW", "NC1HWC0", act(1, 28)),
        _fused_conv("/conv1/Conv/relu1/Relu", ["/conv1/Conv", "/relu1/Relu"], "trans_TransData_0",
                    "conv1.weight", "conv1.bias", act(CONV1, 28)),
        _pool("/pool1/MaxPool", "/conv1/Conv/relu1/Relu", act(CONV1, 14)),
        _fused_conv("/conv2/Conv/relu2/Relu", ["/conv2/Conv", "/relu2/Relu"], "/pool1/MaxPool",
                    "conv2.weight", "conv2.bias", act(CONV2, 14)),
        _pool("/pool2/MaxPool", "/conv2/Conv/relu2/Relu", act(CONV2, 7)),
        _transdata("trans_TransData_1", "/pool2/MaxPool", "NC1HWC0", "NCHW",
                   Tensor((batch, CONV2, 7, 7), "float16", "NCHW", "NCHW")),
        # /flatten/Flatten is erased: the next op reads the NCHW bytes as ND [N, 784]
        _transdata("trans_TransData_2", "trans_TransData_1", "ND", "FRACTAL_NZ",
                   Tensor((batch, FLAT), "float16", "FRACTAL_NZ", "ND"), read_as=nd),
        OpSpec("/fc/Gemm", "MatMulV2", ["trans_TransData_2", "fc.weight", "fc.bias", ""],
               [Tensor((batch, CLASSES), "float16", "FRACTAL_NZ", "ND")],
               {"transpose_x1": False, "transpose_x2": False, "offset_x": 0, "has_bias": True,
                "_kernel_bin_id": _kernel("mat_mul", "/fc/Gemm"), "_lxfusion_engine_name": _AICORE}),
        _transdata("trans_TransData_3", "/fc/Gemm", "FRACTAL_NZ", "ND",
                   Tensor((batch, CLASSES), "float16", "ND", "ND")),
        OpSpec("/softmax/Softmax", "SoftmaxV2", ["trans_TransData_3"],
               [Tensor((batch, CLASSES), "float16", "ND", "ND")],
               {"axes": [-1], "_kernel_bin_id": _kernel("softmax_v2", "/softmax/Softmax"),
                "_lxfusion_engine_name": _AICORE}),
        OpSpec(OUTPUT_OP, "Cast", ["/softmax/Softmax"], [Tensor((batch, CLASSES), "float32", "ND", "ND")],
               {"dst_type": 0, "truncate": False, "_kernel_bin_id": _kernel("cast", OUTPUT_OP),
                "_lxfusion_engine_name": _AICORE}),
    ]
