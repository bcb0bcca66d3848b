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

from .cvalues import ENUM, INT32, INT64, POINTER, SIZE_T, c_text, c_value, fits


class TensorDescsMixin:
    """The tensor-desc calls of `AclBackend` (it provides `_fn` and `_call`)."""

    _fn: Any
    _call: Any

    def create_tensor_desc(self, dtype: int, dims: Sequence[int], fmt: int) -> int:
        call = "aclCreateTensorDesc"
        values = (c_int64 * max(len(dims), 1))(*[c_value(d, INT64, call, f"dims[{i}]") for i, d in enumerate(dims)])
        return self._fn(call)(c_value(dtype, ENUM, call, "dataType"), c_value(len(dims), INT32, call, "numDims"),
                              values, c_value(fmt, ENUM, call, "format")) or 0

    def _get(self, name: str, desc: int, nothing: Any) -> Any:
        """A getter of a desc: C's answer, or its answer for NULL (`nothing`) for a handle no
        pointer holds (ctypes would pass its low 64 bits: another desc, or NULL)."""
        return self._fn(name)(desc or None) if fits(desc or 0, POINTER) else nothing

    def destroy_tensor_desc(self, desc: int) -> None:
        self._get("aclDestroyTensorDesc", desc, None)

    def tensor_desc_type(self, desc: int) -> int:
        return int(self._get("aclGetTensorDescType", desc, -1))

    def tensor_desc_format(self, desc: int) -> int:
        return int(self._get("aclGetTensorDescFormat", desc, -1))

    def tensor_desc_num_dims(self, desc: int) -> int:
        return int(self._get("aclGetTensorDescNumDims", desc, 0))

    def tensor_desc_dim(self, desc: int, index: int) -> int:
        call = "aclGetTensorDescDimV2"
        dim = c_int64(0)
        self._call(call, c_value(desc or 0, POINTER, call, "desc"), c_value(index, SIZE_T, call, "index"), byref(dim))
        return int(dim.value)

    def tensor_desc_element_count(self, desc: int) -> int:
        return int(self._get("aclGetTensorDescElementCount", desc, 0))

    def tensor_desc_size(self, desc: int) -> int:
        return int(self._get("aclGetTensorDescSize", desc, 0))

    def tensor_desc_name(self, desc: int) -> str:
        raw: Optional[bytes] = self._get("aclGetTensorDescName", desc, None)
        return raw.decode("utf-8", "replace") if raw else ""

    def set_tensor_desc_name(self, desc: int, name: Optional[str]) -> None:
        call = "aclSetTensorDescName"
        text = b"" if name == "" else c_text(name, call, "name")
        if fits(desc or 0, POINTER):
            self._fn(call)(desc or None, text)

    def set_dataset_tensor_desc(self, dataset: int, desc: int, index: int) -> None:
        call = "aclmdlSetDatasetTensorDesc"
        self._call(call, c_value(dataset or 0, POINTER, call, "dataset"),
                   c_value(desc or 0, POINTER, call, "tensorDesc"), c_value(index, SIZE_T, call, "index"))

    def dataset_tensor_desc(self, dataset: int, index: int) -> int:
        if not (fits(dataset or 0, POINTER) and fits(index, SIZE_T)):
            return 0  # C's NULL for a dataset or an index C could not be given
        return self._fn("aclmdlGetDatasetTensorDesc")(dataset or None, index) or 0


__all__ = ["TensorDescsMixin"]
