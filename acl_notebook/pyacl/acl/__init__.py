"""The ``acl`` module image: CANN's pyACL inference surface on acl-notebook's runtime.

``acl_notebook.pyacl.install()`` (or ``python -m acl_notebook.pyacl SCRIPT``) makes
``import acl`` give this module. Top level: ``init``, ``finalize``, ``get_soc_name``,
``get_recent_err_msg``, ``app_log``, the data-buffer calls and the tensor-desc calls
(`tensors`); ``acl.rt``, ``acl.mdl`` and ``acl.util`` hold the rest. Signatures, return
shapes and codes are pyACL's; see the README's "pyACL programs" section for what is covered.
"""

from __future__ import annotations

import logging
import os
import struct
from typing import Any, Optional

from ...runtime import errors as E
from ...runtime.errors import AclError
from ..core import INVALID_PARAM, PROGRAM, signed, takes_no_arguments, text, unsigned
from . import mdl, rt, util
from .tensors import (
    create_tensor_desc,
    destroy_tensor_desc,
    get_tensor_desc_dim,
    get_tensor_desc_dim_v2,
    get_tensor_desc_element_count,
    get_tensor_desc_format,
    get_tensor_desc_name,
    get_tensor_desc_num_dims,
    get_tensor_desc_size,
    get_tensor_desc_type,
    set_tensor_desc_name,
)

_P = PROGRAM
_log = logging.getLogger("acl_notebook.pyacl")
_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}

#: marks this module as acl-notebook's image of pyACL (the real one has no such attribute)
__acl_notebook__ = True


def init(config_path: Optional[str] = None) -> int:
    call = "aclInit"
    path = text(config_path, "acl.init") if config_path is not None else ""
    if path and not os.path.isfile(path):
        return _P.fail(100003, call, f"no config file at {path!r}")  # ACL_ERROR_INVALID_FILE
    if _P.initialised:
        return _P.fail(E.ACL_ERROR_REPEAT_INITIALIZE, call, "acl.init was already called")
    try:
        _P.runtime()
    except AclError as exc:
        return _P.failed(exc, call)
    _P.initialised, _P.finalized = True, False
    return 0


@takes_no_arguments
def finalize() -> int:
    if _P.finalized:
        return _P.fail(E.ACL_ERROR_REPEAT_FINALIZE, "aclFinalize", "acl.finalize was already called")
    # The process's runtime stays up for the notebook (panel, magics): only the program's
    # view of ACL ends. What it left loaded or allocated stays visible as its leak.
    _P.initialised, _P.finalized = False, True
    return 0


@takes_no_arguments
def get_soc_name() -> Optional[str]:
    if not _P.initialised:
        return None
    try:
        return _P.call("soc_name") or None
    except AclError:
        return None


@takes_no_arguments
def get_version() -> tuple[int, int, int, int]:
    """aclrtGetVersion: ``(major, minor, patch, ret)`` of the ACL API the runtime implements
    (the simulator says 1.17.0); 200001 when the library cannot say (no aclrtGetVersion)."""
    call = "aclrtGetVersion"
    try:
        version = _P.call("versions").acl_api
    except AclError as exc:
        return 0, 0, 0, _P.failed(exc, call)
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return 0, 0, 0, _P.fail(E.ACL_ERROR_API_NOT_SUPPORT, call, "this libascendcl cannot report its version")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch, 0


@takes_no_arguments
def get_recent_err_msg() -> Optional[str]:
    return _P.take_message()


def app_log(log_level: Any, message: Any) -> None:
    level = signed(log_level, "acl.app_log")
    _log.log(_LEVELS.get(level, logging.INFO), text(message, "acl.app_log"))


# -- data buffers ----------------------------------------------------------------------------------
def create_data_buffer(data: Any, size: Any) -> int:
    ptr, n = unsigned(data, "acl.create_data_buffer"), unsigned(size, "acl.create_data_buffer")
    try:
        handle = _P.call("create_data_buffer", ptr, n)
    except AclError as exc:
        _P.failed(exc, "aclCreateDataBuffer")
        return 0
    if handle:
        _P.ledger.buffers.add(handle)
    return handle


def _live_buffer(value: Any, py: str) -> int:
    handle = unsigned(value, py)
    return handle if handle in _P.ledger.buffers else 0


def destroy_data_buffer(data_buffer: Any) -> int:
    call = "aclDestroyDataBuffer"
    handle = _live_buffer(data_buffer, "acl.destroy_data_buffer")
    if not handle:
        return _P.fail(INVALID_PARAM, call, "dataBuffer is NULL or not a live data buffer")
    ret = _P.ret(call, "destroy_data_buffer", handle)
    if not ret:
        _P.ledger.buffers.discard(handle)
    return ret


def get_data_buffer_addr(data_buffer: Any) -> int:
    handle = _live_buffer(data_buffer, "acl.get_data_buffer_addr")
    return _P.get("aclGetDataBufferAddr", 0, "data_buffer_addr", handle) if handle else 0


def get_data_buffer_size_v2(data_buffer: Any) -> int:
    handle = _live_buffer(data_buffer, "acl.get_data_buffer_size_v2")
    return _P.get("aclGetDataBufferSizeV2", 0, "data_buffer_size", handle) if handle else 0


def get_data_buffer_size(data_buffer: Any) -> int:
    """The deprecated uint32 form of get_data_buffer_size_v2."""
    handle = _live_buffer(data_buffer, "acl.get_data_buffer_size")
    return (_P.get("aclGetDataBufferSize", 0, "data_buffer_size", handle) & 0xFFFFFFFF) if handle else 0


def update_data_buffer(data_buffer: Any, data: Any, size: Any) -> int:
    call = "aclUpdateDataBuffer"
    handle = _live_buffer(data_buffer, "acl.update_data_buffer")
    ptr, n = unsigned(data, "acl.update_data_buffer"), unsigned(size, "acl.update_data_buffer")
    if not handle:
        return _P.fail(INVALID_PARAM, call, "dataBuffer is NULL or not a live data buffer")
    return _P.ret(call, "update_data_buffer", handle, ptr, n)


# -- small helpers pyACL also exports ----------------------------------------------------------------
def float16_to_float(value: Any) -> float:
    bits = unsigned(value, "acl.float16_to_float") & 0xFFFF
    return float(struct.unpack("<e", struct.pack("<H", bits))[0])


def float_to_float16(value: Any) -> int:
    if not isinstance(value, (int, float)):
        raise TypeError("acl.float_to_float16 args parse failed")
    number = float(value)
    try:
        return struct.unpack("<H", struct.pack("<e", number))[0]
    except OverflowError:  # past float16's range: infinity, as a C conversion rounds it
        return 0xFC00 if number < 0 else 0x7C00


def data_type_size(data_type: Any) -> int:
    from ...om.enums import tensor_size

    dt = signed(data_type, "acl.data_type_size")
    try:
        return tensor_size((1,), dt)
    except (KeyError, ValueError):
        return 0


__all__ = [
    "app_log", "create_data_buffer", "create_tensor_desc", "data_type_size", "destroy_data_buffer",
    "destroy_tensor_desc", "finalize", "float16_to_float", "float_to_float16", "get_data_buffer_addr",
    "get_data_buffer_size", "get_data_buffer_size_v2", "get_recent_err_msg", "get_soc_name", "get_tensor_desc_dim",
    "get_tensor_desc_dim_v2", "get_tensor_desc_element_count", "get_tensor_desc_format", "get_tensor_desc_name",
    "get_tensor_desc_num_dims", "get_tensor_desc_size", "get_tensor_desc_type", "get_version", "init", "mdl", "rt",
    "set_tensor_desc_name", "update_data_buffer", "util",
]


def __dir__() -> list[str]:
    """What pyACL's own module lists: its calls, not the image's imports and helpers."""
    return sorted(__all__)
