"""Tensor descs and a dataset's entry descs for the `acl` backend: one C call each.

Dynamic-shape programs describe each input's real shape with aclCreateTensorDesc and
aclmdlSetDatasetTensorDesc before a run and read the outputs' with aclmdlGetDatasetTensorDesc
and the aclGetTensorDesc* getters after it. The runtime owns the semantics (see
`sim_tensors` for what the simulator copies of it); this mixin only marshals: dims as an
int64 array, names as UTF-8, NULL as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from ctypes import byref, c_int64
from typing import Any, Optional


class TensorDescsMixin:
    """The tensor-desc calls of `AclBackend` (it provides `_fn` and `_call`)."""

    _fn: Any
    _call: Any

    def create_tensor_desc(self, dtype: int, dims: Sequence[int], fmt: int) -> int:
        values = (c_int64 * max(len(dims), 1))(*[int(d) for d in dims])
        return self._fn("aclCreateTensorDesc")(int(dtype), len(dims), values, int(fmt)) or 0

    def destroy_tensor_desc(self, desc: int) -> None:
        self._fn("aclDestroyTensorDesc")(desc or None)

    def tensor_desc_type(self, desc: int) -> int:
        return int(self._fn("aclGetTensorDescType")(desc or None))

    def tensor_desc_format(self, desc: int) -> int:
        return int(self._fn("aclGetTensorDescFormat")(desc or None))

    def tensor_desc_num_dims(self, desc: int) -> int:
        return int(self._fn("aclGetTensorDescNumDims")(desc or None))

    def tensor_desc_dim(self, desc: int, index: int) -> int:
        dim = c_int64(0)
        self._call("aclGetTensorDescDimV2", desc or None, int(index), byref(dim))
        return int(dim.value)

    def tensor_desc_element_count(self, desc: int) -> int:
        return int(self._fn("aclGetTensorDescElementCount")(desc or None))

    def tensor_desc_size(self, desc: int) -> int:
        return int(self._fn("aclGetTensorDescSize")(desc or None))

    def tensor_desc_name(self, desc: int) -> str:
        raw: Optional[bytes] = self._fn("aclGetTensorDescName")(desc or None)
        return raw.decode("utf-8", "replace") if raw else ""

    def set_tensor_desc_name(self, desc: int, name: Optional[str]) -> None:
        self._fn("aclSetTensorDescName")(desc or None, None if name is None else name.encode("utf-8"))

    def set_dataset_tensor_desc(self, dataset: int, desc: int, index: int) -> None:
        self._call("aclmdlSetDatasetTensorDesc", dataset or None, desc or None, int(index))

    def dataset_tensor_desc(self, dataset: int, index: int) -> int:
        return self._fn("aclmdlGetDatasetTensorDesc")(dataset or None, int(index)) or 0


__all__ = ["TensorDescsMixin"]
