"""ACL / GE enumerations the reader and both backends translate.

Values are facts from the public ACL headers and GE sources (see the project's
``shared/docs``). Two dtype numberings exist: the ModelDef protobuf uses
``ge.proto.DataType``, everything at the C level (MODEL_INOUT_INFO, ``aclDataType``) uses
``ge::DataType``. We convert once, here, and name everything by ACL's numbering.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Optional


# aclDataType / ge::DataType value -> lower-case name (numpy's spelling where it has one).
ACL_DTYPE_NAMES: dict[int, str] = {
    -1: "undefined",
    0: "float32",
    1: "float16",
    2: "int8",
    3: "int32",
    4: "uint8",
    6: "int16",
    7: "uint16",
    8: "uint32",
    9: "int64",
    10: "uint64",
    11: "float64",
    12: "bool",
    13: "string",
    14: "dual_sub_int8",
    15: "dual_sub_uint8",
    16: "complex64",
    17: "complex128",
    18: "qint8",
    19: "qint16",
    20: "qint32",
    21: "quint8",
    22: "quint16",
    23: "resource",
    24: "string_ref",
    25: "dual",
    26: "variant",
    27: "bfloat16",
    28: "undefined",
    29: "int4",
    30: "uint1",
    31: "int2",
    32: "uint2",
    33: "complex32",
    34: "hifloat8",
    35: "float8_e5m2",
    36: "float8_e4m3fn",
    37: "float8_e8m0",
    38: "float6_e3m2",
    39: "float6_e2m3",
    40: "float4_e2m1",
    41: "float4_e1m2",
    42: "hifloat4",
}
ACL_DTYPE_VALUES: dict[str, int] = {name: value for value, name in ACL_DTYPE_NAMES.items() if value != 28}

# Bits per element, for byte sizes; types ACL packs below a byte are counted in bits.
DTYPE_BITS: dict[int, int] = {
    0: 32, 1: 16, 2: 8, 3: 32, 4: 8, 6: 16, 7: 16, 8: 32, 9: 64, 10: 64, 11: 64, 12: 8,
    16: 64, 17: 128, 18: 8, 19: 16, 20: 32, 21: 8, 22: 16, 27: 16, 29: 4, 30: 1, 31: 2,
    32: 2, 33: 32, 34: 8, 35: 8, 36: 8, 37: 8, 38: 6, 39: 6, 40: 4, 41: 4, 42: 4,
}

# Names numpy understands directly.
_NUMPY_NAMES = {
    "float32", "float16", "int8", "int32", "uint8", "int16", "uint16", "uint32",
    "int64", "uint64", "float64", "bool", "complex64", "complex128",
}

# ge.proto.DataType (ModelDef protobuf) -> ge::DataType / aclDataType.
PROTO_TO_ACL_DTYPE: dict[int, int] = {
    0: -1, 1: 0, 2: 1, 3: 2, 4: 4, 5: 6, 6: 7, 7: 3, 8: 9, 9: 8, 10: 10, 11: 12, 12: 11,
    13: 13, 14: 14, 15: 15, 16: 16, 17: 17, 18: 18, 19: 19, 20: 20, 21: 21, 22: 22,
    23: 23, 24: 24, 25: 25, 26: 26, 27: 27, 28: 29, 29: 30, 30: 31, 31: 32, 32: 33,
    33: 34, 34: 35, 35: 36, 36: 37, 37: 38, 38: 39, 39: 40, 40: 41, 41: 42,
}
ACL_TO_PROTO_DTYPE: dict[int, int] = {acl: proto for proto, acl in PROTO_TO_ACL_DTYPE.items()}

# `__tensor_desc_data_type__` tensor attr value -> ge::DataType / aclDataType. GE stores a few
# "self-defined" types this way and the attr wins over the TensorDescriptor's dtype field.
SELF_DEFINED_DTYPE_TO_ACL: dict[int, int] = {
    13: 25, 14: 14, 15: 15, 16: 16, 17: 17, 18: 18, 19: 19, 20: 20, 21: 21, 22: 22,
}

# domi::FrameworkType, as older models store `framework_type` (an int; newer ones a string).
FRAMEWORK_NAMES: dict[int, str] = {0: "Caffe", 1: "MindSpore", 3: "TensorFlow", 4: "Android_NN", 5: "Onnx"}

# ge::Format = aclFormat numbering.
FORMAT_NAMES: dict[int, str] = {
    -1: "UNDEFINED", 0: "NCHW", 1: "NHWC", 2: "ND", 3: "NC1HWC0", 4: "FRACTAL_Z",
    5: "NC1C0HWPAD", 6: "NHWC1C0", 7: "FSR_NCHW", 8: "FRACTAL_DECONV", 9: "C1HWNC0",
    10: "FRACTAL_DECONV_TRANSPOSE", 11: "FRACTAL_DECONV_SP_STRIDE_TRANS", 12: "NC1HWC0_C04",
    13: "FRACTAL_Z_C04", 14: "CHWN", 15: "FRACTAL_DECONV_SP_STRIDE8_TRANS", 16: "HWCN",
    17: "NC1KHKWHWC0", 18: "BN_WEIGHT", 19: "FILTER_HWCK", 20: "HASHTABLE_LOOKUP_LOOKUPS",
    21: "HASHTABLE_LOOKUP_KEYS", 22: "HASHTABLE_LOOKUP_VALUE", 23: "HASHTABLE_LOOKUP_OUTPUT",
    24: "HASHTABLE_LOOKUP_HITS", 25: "C1HWNCoC0", 26: "MD", 27: "NDHWC", 28: "FRACTAL_ZZ",
    29: "FRACTAL_NZ", 30: "NCDHW", 31: "DHWCN", 32: "NDC1HWC0", 33: "FRACTAL_Z_3D", 34: "CN",
    35: "NC", 36: "DHWNC", 37: "FRACTAL_Z_3D_TRANSPOSE", 38: "FRACTAL_ZN_LSTM",
    39: "FRACTAL_Z_G", 40: "RESERVED", 41: "ALL", 42: "NULL", 43: "ND_RNN_BIAS",
    44: "FRACTAL_ZN_RNN", 45: "NYUV", 46: "NYUV_A", 47: "NCL", 48: "FRACTAL_Z_WINO",
    49: "C1HWC0", 50: "FRACTAL_NZ_C0_16", 51: "FRACTAL_NZ_C0_32",
}
FORMAT_VALUES: dict[str, int] = {name: value for value, name in FORMAT_NAMES.items()}

# ModelPartitionType.
PARTITION_NAMES: dict[int, str] = {
    0: "MODEL_DEF", 1: "WEIGHTS_DATA", 2: "TASK_INFO", 3: "TBE_KERNELS",
    4: "CUST_AICPU_KERNELS", 5: "SO_BINS", 6: "FLOW_MODEL", 7: "FLOW_SUBMODEL",
    8: "MODEL_INOUT_INFO", 9: "STATIC_TASK_DESC", 10: "DYNAMIC_TASK_DESC", 11: "TASK_PARAM",
    12: "TILING_DATA", 20: "PRE_MODEL_DESC", 21: "PRE_MODEL_SQE", 22: "PRE_KERNEL_ARGS",
    23: "PRE_MODEL_DESC_EXTEND", 24: "BUNDLE_MODEL_INFO", 25: "BUNDLE_MODEL_VAR_INFO",
    26: "CUSTOM_OPS",
}

# Case-op `mbatch_dynamic_type` / DynamicInputType.
DYNAMIC_KINDS: dict[int, Optional[str]] = {0: None, 1: "batch", 2: "hw", 3: "dims"}


def dtype_name(acl_dtype: int) -> str:
    """Readable name of an aclDataType value; unknown values stay visible as numbers."""
    return ACL_DTYPE_NAMES.get(acl_dtype, f"dtype_{acl_dtype}")


def numpy_dtype_name(acl_dtype: int) -> Optional[str]:
    name = ACL_DTYPE_NAMES.get(acl_dtype)
    return name if name in _NUMPY_NAMES else None


def format_name(acl_format: int) -> str:
    # format_for_int may carry sub-format bits in its upper bytes; the base is the low byte.
    base = acl_format & 0xFF if acl_format >= 0 else acl_format
    return FORMAT_NAMES.get(base, f"format_{acl_format}")


def tensor_size(dims: tuple[int, ...], acl_dtype: int) -> int:
    """Byte size ACL reports for a tensor: element count x dtype size, unknown dims as 0."""
    count = 1
    for d in dims:
        count *= max(d, 0)
    bits = DTYPE_BITS.get(acl_dtype, 0)
    return (count * bits + 7) // 8
