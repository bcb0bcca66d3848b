"""``acl``'s tensor-desc calls and ``acl.mdl``'s dataset entry descs, with pyACL's signatures and returns.

Dynamic-shape programs describe each input's real shape before a run
(``acl.create_tensor_desc(dtype, dims, format)`` then ``acl.mdl.set_dataset_tensor_desc(dataset,
desc, index)``, which returns ``(dataset, ret)``) and read each output's after it
(``acl.mdl.get_dataset_tensor_desc(dataset, index)`` then ``acl.get_tensor_desc_num_dims`` and
``acl.get_tensor_desc_dim_v2``, which returns ``(dim, ret)``). The getters return ACL's values
(-1, 0 or "" for a NULL desc); ``destroy_tensor_desc`` and ``set_tensor_desc_name`` return None.

Every desc handed back is looked up in the ledger first: one the program created and has not
destroyed, or a dataset entry's own copy that is still that entry's (asked of the runtime: a
run gives output entries fresh descs). Any other is treated as NULL and never reaches C, where
it would be a dangling pointer; destroying a dataset's own copy is refused too, since the
dataset frees it (in C that would be a double free).
"""

from __future__ import annotations

import operator
from typing import Any

from ...runtime.errors import AclError
from ..core import INT64, INVALID_PARAM, PROGRAM, signed, text, unsigned

_P = PROGRAM
_MISSING = object()


def _dims_list(dims: Any, py: str) -> list[int]:
    """pyACL's list of int64 dims (GetValuesFromPyList): a list of ints, nothing else."""
    if not isinstance(dims, list):
        raise TypeError("argument 2 is not list")
    values = []
    for d in dims:
        try:
            v = operator.index(d)
        except TypeError:
            raise TypeError(f"{py} args parse failed: dims must be ints") from None
        if not INT64[0] <= v <= INT64[1]:
            raise TypeError(f"{py} args parse failed: a dim does not fit in int64")
        values.append(v)
    return values


def _live(value: Any, py: str) -> int:
    """The desc if the program may name it now, else 0 (what the getters answer as NULL)."""
    handle = unsigned(value, py)
    owner = _P.ledger.tensor_descs.get(handle, _MISSING)
    if owner is _MISSING:
        return 0
    if owner is None:
        return handle
    dataset, index = owner
    try:
        current = _P.call("dataset_tensor_desc", dataset, index) if dataset in _P.ledger.datasets else 0
    except AclError:
        current = 0
    if current != handle:  # the dataset was destroyed, or a run gave the entry a fresh desc
        _P.ledger.tensor_descs.pop(handle, None)
        return 0
    return handle


def create_tensor_desc(data_type: Any, dims: Any, format: Any) -> int:  # noqa: A002 (pyACL's name)
    py = "acl.create_tensor_desc"
    dt, values, fmt = signed(data_type, py), _dims_list(dims, py), signed(format, py)
    try:
        handle = _P.call("create_tensor_desc", dt, values, fmt)
    except AclError as exc:
        _P.failed(exc, "aclCreateTensorDesc")
        return 0
    if handle:
        _P.ledger.tensor_descs[handle] = None
    return handle


def destroy_tensor_desc(desc: Any) -> None:
    handle = unsigned(desc, "acl.destroy_tensor_desc")
    owner = _P.ledger.tensor_descs.get(handle, _MISSING)
    if owner is not None:  # NULL, unknown or a dataset's own copy: nothing to free here
        if owner is not _MISSING:
            _P.fail(INVALID_PARAM, "aclDestroyTensorDesc", "that desc belongs to a dataset entry, which frees it")
        return
    _P.void("aclDestroyTensorDesc", "destroy_tensor_desc", handle)
    del _P.ledger.tensor_descs[handle]


def get_tensor_desc_type(desc: Any) -> int:
    handle = _live(desc, "acl.get_tensor_desc_type")
    return _P.get("aclGetTensorDescType", -1, "tensor_desc_type", handle) if handle else -1


def get_tensor_desc_format(desc: Any) -> int:
    handle = _live(desc, "acl.get_tensor_desc_format")
    return _P.get("aclGetTensorDescFormat", -1, "tensor_desc_format", handle) if handle else -1


def get_tensor_desc_size(desc: Any) -> int:
    handle = _live(desc, "acl.get_tensor_desc_size")
    return _P.get("aclGetTensorDescSize", 0, "tensor_desc_size", handle) if handle else 0


def get_tensor_desc_element_count(desc: Any) -> int:
    handle = _live(desc, "acl.get_tensor_desc_element_count")
    return _P.get("aclGetTensorDescElementCount", 0, "tensor_desc_element_count", handle) if handle else 0


def get_tensor_desc_num_dims(desc: Any) -> int:
    """The dim count; ACL_UNKNOWN_RANK (0xFFFFFFFFFFFFFFFE) for a desc of unknown rank."""
    handle = _live(desc, "acl.get_tensor_desc_num_dims")
    return _P.get("aclGetTensorDescNumDims", 0, "tensor_desc_num_dims", handle) if handle else 0


def get_tensor_desc_dim_v2(desc: Any, index: Any) -> tuple[int, int]:
    py = "acl.get_tensor_desc_dim_v2"
    handle, i = _live(desc, py), unsigned(index, py)
    if not handle:
        return 0, _P.fail(INVALID_PARAM, "aclGetTensorDescDimV2", "desc is NULL or not a live tensor desc")
    return _P.out("aclGetTensorDescDimV2", lambda: _P.call("tensor_desc_dim", handle, i), 0)


def get_tensor_desc_dim(desc: Any, index: Any) -> int:
    """The deprecated form of get_tensor_desc_dim_v2: the dim, or -1 when V2 would fail."""
    py = "acl.get_tensor_desc_dim"
    handle, i = _live(desc, py), unsigned(index, py)
    if not handle:
        _P.fail(INVALID_PARAM, "aclGetTensorDescDim", "desc is NULL or not a live tensor desc")
        return -1
    dim, _ = _P.out("aclGetTensorDescDim", lambda: _P.call("tensor_desc_dim", handle, i), -1)
    return dim


def get_tensor_desc_name(desc: Any) -> str:
    handle = _live(desc, "acl.get_tensor_desc_name")
    return _P.get("aclGetTensorDescName", "", "tensor_desc_name", handle) if handle else ""


def set_tensor_desc_name(desc: Any, name: Any) -> None:
    py = "acl.set_tensor_desc_name"
    handle, value = _live(desc, py), text(name, py)
    if handle:
        _P.void("aclSetTensorDescName", "set_tensor_desc_name", handle, value)


# -- a dataset entry's own desc (acl.mdl) ------------------------------------------------------------
def set_dataset_tensor_desc(dataset: Any, tensor_desc: Any, index: Any) -> tuple[int, int]:
    """aclmdlSetDatasetTensorDesc: the entry keeps its own copy (0 drops it); ``(dataset, ret)``."""
    call, py = "aclmdlSetDatasetTensorDesc", "acl.mdl.set_dataset_tensor_desc"
    ds, td, i = unsigned(dataset, py), unsigned(tensor_desc, py), unsigned(index, py)
    if ds and ds not in _P.ledger.datasets:
        return ds, _P.fail(INVALID_PARAM, call, f"0x{ds:x} is not a live dataset")
    if td and not _live(td, py):
        return ds, _P.fail(INVALID_PARAM, call, f"0x{td:x} is not a live tensor desc")
    return ds, _P.ret(call, "set_dataset_tensor_desc", ds, td, i)


def get_dataset_tensor_desc(dataset: Any, index: Any) -> int:
    """aclmdlGetDatasetTensorDesc: the entry's own desc (0 when it has none). After a run with
    described inputs every output entry has a fresh one; for the static and multi-gear models
    our runtimes run it holds no dims (GE fills output shapes in only for shape-range models)."""
    py = "acl.mdl.get_dataset_tensor_desc"
    ds, i = unsigned(dataset, py), unsigned(index, py)
    if ds not in _P.ledger.datasets:
        return 0
    try:
        handle = _P.call("dataset_tensor_desc", ds, i)
    except AclError as exc:
        _P.failed(exc, "aclmdlGetDatasetTensorDesc")
        return 0
    if handle:
        _P.ledger.tensor_descs[handle] = (ds, i)
    return handle


__all__ = [
    "create_tensor_desc", "destroy_tensor_desc", "get_dataset_tensor_desc", "get_tensor_desc_dim",
    "get_tensor_desc_dim_v2", "get_tensor_desc_element_count", "get_tensor_desc_format", "get_tensor_desc_name",
    "get_tensor_desc_num_dims", "get_tensor_desc_size", "get_tensor_desc_type", "set_dataset_tensor_desc",
    "set_tensor_desc_name",
]
