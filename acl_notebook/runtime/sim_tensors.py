"""The simulator's tensor descs (aclCreateTensorDesc and its getters) and a dataset's per-entry descs.

A mixin of `SimulatorBackend` beside `sim_exec.ExecutionMixin` (it uses the backend's lock and
the dataset table). What it copies from ACL (hicann/ge tensor_desc_internal.cpp, model.cpp):

- aclCreateTensorDesc keeps the data type, dims and format as given (nothing is checked; a
  negative dim count, which a Python list cannot give, is NULL). aclDestroyTensorDesc of NULL
  does nothing.
- the getters' answers for NULL: type and format -1, dim count, element count and size 0,
  name ""; aclGetTensorDescDimV2 says 100000 for NULL or an index past the dims. A first dim
  of -2 (unknown rank) makes the dim count ACL_UNKNOWN_RANK; the element count is 1 for no
  dims and 0 when a dim is negative or the product overflows size_t; the size is the element
  count times the type's size in bytes.
- aclmdlSetDatasetTensorDesc copies the desc into the dataset's entry (0 drops the entry's
  copy; NULL dataset or an index past its buffers is 100000); aclmdlGetDatasetTensorDesc
  returns that copy (NULL when there is none), which the dataset owns: destroying the dataset
  destroys it.
- ModelExecute: when any input entry carries a desc, every output entry gets a fresh desc
  with no dims, type -1 and format -1 once the run is launched (the previous one destroyed).
  A shape-range model's runtime would then fill in the real output shapes; the static and
  multi-gear models the simulator runs get none (GE reports output descs only for those).
  Any described input entry sets the flag (ACL's SetInputData); GE ignores the input descs of
  a static model, so they change nothing else about the run.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from ..om.enums import DTYPE_BITS
from . import errors as E
from .cvalues import ENUM, INT64, c_text, c_value

ACL_UNKNOWN_RANK = 0xFFFFFFFFFFFFFFFE
_UNKNOWN_RANK_DIM = -2
_SIZE_MAX = (1 << 64) - 1


@dataclass
class _TensorDesc:
    dtype: int
    dims: list[int]
    fmt: int
    name: str = ""
    owner: Optional[tuple[int, int]] = None  # (dataset, index) for a dataset entry's own copy


@dataclass
class _Entries:
    """A dataset's described entries: index -> the handle of the copy it owns."""

    descs: dict[int, int] = field(default_factory=dict)


class TensorDescsMixin:
    """Tensor descs and dataset entry descs for the simulator (see the module docstring)."""

    _lock: threading.RLock
    _datasets: dict
    _fail: Any

    def _init_tensor_descs(self) -> None:
        self._tensor_descs: dict[int, _TensorDesc] = {}
        self._described: dict[int, _Entries] = {}  # dataset -> its described entries
        self._tensor_handles = itertools.count(0x7D000010, 16)

    def _new_tensor_desc(self, desc: _TensorDesc) -> int:
        handle = next(self._tensor_handles)
        self._tensor_descs[handle] = desc
        return handle

    def create_tensor_desc(self, dtype: int, dims: Sequence[int], fmt: int) -> int:
        call = "aclCreateTensorDesc"  # what C can be given of each value, as the ctypes backend checks
        values = [c_value(d, INT64, call, f"dims[{i}]") for i, d in enumerate(dims)]
        desc = _TensorDesc(c_value(dtype, ENUM, call, "dataType"), values, c_value(fmt, ENUM, call, "format"))
        with self._lock:
            return self._new_tensor_desc(desc)

    def destroy_tensor_desc(self, desc: int) -> None:
        with self._lock:
            self._tensor_descs.pop(desc, None)

    def _tdesc(self, desc: int) -> Optional[_TensorDesc]:
        return self._tensor_descs.get(desc) if desc else None

    def tensor_desc_type(self, desc: int) -> int:
        found = self._tdesc(desc)
        return found.dtype if found else -1

    def tensor_desc_format(self, desc: int) -> int:
        found = self._tdesc(desc)
        return found.fmt if found else -1

    def tensor_desc_num_dims(self, desc: int) -> int:
        found = self._tdesc(desc)
        if found is None:
            return 0
        return ACL_UNKNOWN_RANK if found.dims[:1] == [_UNKNOWN_RANK_DIM] else len(found.dims)

    def tensor_desc_dim(self, desc: int, index: int) -> int:
        call = "aclGetTensorDescDimV2"
        found = self._tdesc(desc)
        if found is None:
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "desc is NULL")
        if not 0 <= index < len(found.dims):
            raise self._fail(E.ACL_ERROR_INVALID_PARAM, call,
                             f"index {index} is out of range: the desc has {len(found.dims)} dims")
        return found.dims[index]

    def tensor_desc_element_count(self, desc: int) -> int:
        found = self._tdesc(desc)
        if found is None:
            return 0
        count = 1
        for d in found.dims:
            count *= d
            if d < 0 or count > _SIZE_MAX:
                return 0
        return count

    def tensor_desc_size(self, desc: int) -> int:
        found = self._tdesc(desc)
        if found is None:
            return 0
        size = self.tensor_desc_element_count(desc) * ((DTYPE_BITS.get(found.dtype, 0) + 7) // 8)
        return size if size <= _SIZE_MAX else 0

    def tensor_desc_name(self, desc: int) -> str:
        found = self._tdesc(desc)
        return found.name if found else ""

    def set_tensor_desc_name(self, desc: int, name: Optional[str]) -> None:
        c_text(name, "aclSetTensorDescName", "name")  # C would keep it cut at a NUL
        with self._lock:
            found = self._tdesc(desc)
            if found is not None:
                found.name = name or ""

    def set_dataset_tensor_desc(self, dataset: int, desc: int, index: int) -> None:
        call = "aclmdlSetDatasetTensorDesc"
        with self._lock:
            ds = self._datasets.get(dataset) if dataset else None
            if ds is None:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, "dataset is NULL or not a live aclmdlDataset")
            if not 0 <= index < len(ds.buffers):
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call,
                                 f"index {index} must be smaller than the dataset's {len(ds.buffers)} buffers")
            source = self._tdesc(desc)
            if desc and source is None:
                raise self._fail(E.ACL_ERROR_INVALID_PARAM, call, f"0x{desc:x} is not a live aclTensorDesc")
            entries = self._described.setdefault(dataset, _Entries())
            if source is None:
                self._tensor_descs.pop(entries.descs.pop(index, 0), None)
                return
            self._own(dataset, index, _TensorDesc(source.dtype, list(source.dims), source.fmt, source.name))

    def _own(self, dataset: int, index: int, copy: _TensorDesc) -> None:
        """Under `_lock`: entry `index` of `dataset` now owns `copy` (ACL copies into the entry's
        existing desc when it has one, so its handle stays the same)."""
        entries = self._described.setdefault(dataset, _Entries())
        copy.owner = (dataset, index)
        held = entries.descs.get(index)
        if held in self._tensor_descs:
            self._tensor_descs[held] = copy
        else:
            entries.descs[index] = self._new_tensor_desc(copy)

    def dataset_tensor_desc(self, dataset: int, index: int) -> int:
        with self._lock:
            ds = self._datasets.get(dataset) if dataset else None
            if ds is None or not 0 <= index < len(ds.buffers):
                return 0
            entries = self._described.get(dataset)
            return entries.descs.get(index, 0) if entries else 0

    def _dataset_gone(self, dataset: int) -> None:
        """Under `_lock`: a destroyed dataset's entry descs go with it."""
        entries = self._described.pop(dataset, None)
        for handle in entries.descs.values() if entries else ():
            self._tensor_descs.pop(handle, None)

    def _outputs_described(self, inputs: int, outputs: int, count: int) -> None:
        """Under `_lock`, once a run is launched: ModelExecute's fresh output descs, when any
        input entry carries one (their previous descs are destroyed, so new handles)."""
        described = self._described.get(inputs)
        if described is None or not described.descs:
            return
        entries = self._described.setdefault(outputs, _Entries())
        for index in range(count):
            self._tensor_descs.pop(entries.descs.pop(index, 0), None)
            entries.descs[index] = self._new_tensor_desc(_TensorDesc(-1, [], -1, owner=(outputs, index)))

    def live_tensor_descs(self) -> int:
        """Tensor descs alive now, the ones datasets own included (for tests)."""
        with self._lock:
            return len(self._tensor_descs)


__all__ = ["ACL_UNKNOWN_RANK", "TensorDescsMixin"]
