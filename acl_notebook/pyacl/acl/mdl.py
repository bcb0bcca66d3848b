"""``acl.mdl``: load, describe, feed and run offline models, with pyACL's signatures and returns.

Return shapes follow the pyACL sources: dims are ``{"name", "dimCount", "dims"}`` dicts
(an empty dict when the call fails), gears ``{"batchCount", "batch"}`` and
``{"hwCount", "hw": [[h, w], ...]}``, ``get_input_dynamic_dims`` a list of dims dicts,
and ``add_dataset_buffer`` returns ``(dataset, ret)``.

A model the program loads joins the session's registry (``%acl_models``, ``acl.memory()``,
the panel) as loaded by pyACL, and leaves it when the program unloads it. Datasets and
data buffers are checked against the ledger before a run, so a stale or made-up handle or
pointer gets ACL's code instead of reaching C.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from ...runtime import errors as E
from ...runtime.errors import AclError
from ..core import (
    INT64,
    INVALID_PARAM,
    PROGRAM,
    RT_INVALID_HANDLE,
    RT_PARAM_INVALID,
    takes_no_arguments,
    text,
    uint32,
    unsigned,
)
from ..ledger import DEVICE, RAW, Desc, view_of
from ..ledger import copy_of as _copy_of  # a helper, not a call: kept out of dir(acl.mdl)
from . import mdl_config
from .mdl_config import create_config_handle, destroy_config_handle, set_config_opt
from .tensors import get_dataset_tensor_desc, set_dataset_tensor_desc

_P = PROGRAM
_NOT_INIT = E.ACL_ERROR_GE_EXEC_NOT_INIT
_PATH_INVALID = 145002  # ACL_ERROR_GE_EXEC_MODEL_PATH_INVALID
_DT_UNDEFINED = -1
_FORMAT_UNDEFINED = -1
_SIZE_MAX = (1 << 64) - 1
_MAX_SHAPE_COUNT = 128  # ACL_MAX_SHAPE_COUNT: the most dims gears a model has


def _gate(call: str) -> int:
    return 0 if _P.initialised else _P.fail(_NOT_INIT, call, "acl.init has not been called")


# -- loading ---------------------------------------------------------------------------------------
def _open_file(path: str, call: str) -> tuple[Any, int]:
    from ...hostbuf import open_source

    if not os.path.isfile(path):
        return None, _P.fail(_PATH_INVALID, call, f"no model file at {path!r}")
    try:
        return open_source(path), 0
    except (OSError, ValueError) as exc:
        return None, _P.fail(_PATH_INVALID, call, str(exc))


def _host_view(ptr: int, size: int, call: str) -> tuple[Optional[memoryview], int]:
    """Model bytes the program points at: live memory it can name, or mapped host memory.

    Raw memory (``arr.ctypes.data``) is copied, as ACL copies the model: the program may free
    it right after the load, and the runtime and the registry keep reading the bytes."""
    if not ptr or not size:
        return memoryview(b""), 0  # the runtime answers NULL / size 0 itself (100000)
    region = _P.ledger.reach(ptr, size)
    if region is None:
        return None, _P.fail(INVALID_PARAM, call, f"0x{ptr:x} + {size} bytes is neither live memory of this "
                                                   "program nor mapped host memory (freed, unmapped, or made up)")
    if region.kind == DEVICE and not _P.rc():
        return None, _P.fail(INVALID_PARAM, call, "in EP mode the model must be in host memory, not device memory")
    if region.kind == RAW:
        from ...hostbuf import host_shortfall

        refused = host_shortfall(size)  # the copy is this host's memory: past its room, a kill
        if refused is not None:
            return None, _P.fail(E.ACL_ERROR_BAD_ALLOC, call, f"copying the model's {size:,} bytes would take more "
                                                              f"host memory than this process may ({refused.says()})")
        return memoryview(_copy_of(ptr, size)), 0
    return view_of(region, ptr, size), 0



def _loaded(model_id: int, view: memoryview, source: str, user_memory: int = 0) -> None:
    ctx = _P.current_context()
    device = _P.ledger.contexts.get(ctx, 0) if ctx is not None else 0
    _P.ledger.models[model_id] = ctx or 0
    try:
        desc = _P.call("get_desc", model_id)
        _P.ledger.model_io[model_id] = (len(desc.inputs), len(desc.outputs))
    except AclError:
        pass
    _P.bridge.adopt_model(model_id, view, source, ctx, device, user_memory)


def load_from_file(model_path: Any) -> tuple[int, int]:
    call = "aclmdlLoadFromFile"
    path = text(model_path, "acl.mdl.load_from_file")
    if _gate(call):
        return 0, _NOT_INIT
    buf, ret = _open_file(path, call)
    if ret:
        return 0, ret
    with buf, _P.speaking_for(call):
        model_id, ret = _P.out(call, lambda: _P.call("load_from_mem", buf.view), 0)
        if not ret:
            _loaded(model_id, buf.view, f"pyACL load_from_file {path}")
    return model_id, ret


def load_from_mem(model: Any, model_size: Any) -> tuple[int, int]:
    call = "aclmdlLoadFromMem"
    ptr, size = unsigned(model, "acl.mdl.load_from_mem"), unsigned(model_size, "acl.mdl.load_from_mem")
    if _gate(call):
        return 0, _NOT_INIT
    view, ret = _host_view(ptr, size, call)
    if ret:
        return 0, ret
    model_id, ret = _P.out(call, lambda: _P.call("load_from_mem", view), 0)
    if not ret:
        _loaded(model_id, view, f"pyACL load_from_mem ({size:,} bytes at 0x{ptr:x})")
    return model_id, ret


def _user_memory(call: str, ptr: int, size: int, what: str) -> int:
    """0 when `ptr` is 0 (ACL manages that part) or names enough live device memory."""
    if not ptr:
        return 0
    region = _P.ledger.allocation(ptr, size)
    if region is None or region.kind != DEVICE:
        return _P.fail(RT_PARAM_INVALID, call, f"{what} 0x{ptr:x} + {size} bytes is not live acl.rt.malloc memory")
    return 0


def _with_mem(call: str, view: memoryview, source: str, work: int, work_size: int, weight: int,
              weight_size: int, load: Optional[Callable[[], int]] = None) -> tuple[int, int]:
    """`load`: the backend call (default: load_with_mem with these pointers)."""
    for ptr, size, what in ((work, work_size, "work_ptr"), (weight, weight_size, "weight_ptr")):
        ret = _user_memory(call, ptr, size, what)
        if ret:
            return 0, ret
    load = load or (lambda: _P.call("load_with_mem", view, work, work_size, weight, weight_size))
    model_id, ret = _P.out(call, load, 0)
    if not ret:
        try:  # the parts of the model's needs the program supplied, which the runtime did not take
            needs = _P.call("query_size", view)
        except AclError:
            needs = (work_size, weight_size)
        _loaded(model_id, view, source, (needs[0] if work else 0) + (needs[1] if weight else 0))
        _P.bridge.attribute(model_id, [p for p in (work, weight) if p])
    return model_id, ret


def load_from_file_with_mem(model_path: Any, work_ptr: Any, work_size: Any, weight_ptr: Any,
                            weight_size: Any) -> tuple[int, int]:
    call = "aclmdlLoadFromFileWithMem"
    name = "acl.mdl.load_from_file_with_mem"
    path = text(model_path, name)
    args = [unsigned(v, name) for v in (work_ptr, work_size, weight_ptr, weight_size)]
    if _gate(call):
        return 0, _NOT_INIT
    buf, ret = _open_file(path, call)
    if ret:
        return 0, ret
    with buf, _P.speaking_for(call):
        return _with_mem(call, buf.view, f"pyACL load_from_file_with_mem {path}", *args)


def load_from_mem_with_mem(model: Any, model_size: Any, work_ptr: Any, work_size: Any, weight_ptr: Any,
                           weight_size: Any) -> tuple[int, int]:
    call = "aclmdlLoadFromMemWithMem"
    name = "acl.mdl.load_from_mem_with_mem"
    ptr, size = unsigned(model, name), unsigned(model_size, name)
    args = [unsigned(v, name) for v in (work_ptr, work_size, weight_ptr, weight_size)]
    if _gate(call):
        return 0, _NOT_INIT
    view, ret = _host_view(ptr, size, call)
    if ret:
        return 0, ret
    return _with_mem(call, view, f"pyACL load_from_mem_with_mem ({size:,} bytes at 0x{ptr:x})", *args)


def load_with_config(config_handle: Any) -> tuple[int, int]:
    """aclmdlLoadWithConfig: the config's load type picks the source (a file or host memory)
    and whether the program supplies work / weight memory; the backend gets one
    load_with_config call with the model bytes, the priority and that memory. Queue loads
    need acltdt queues, which the image does not have (200001, as ACL's OM2 loader says)."""
    call = "aclmdlLoadWithConfig"
    plan, ret = mdl_config.plan(config_handle, call)
    if plan is None:
        return 0, ret
    if _gate(call):
        return 0, _NOT_INIT
    if plan.with_queues:
        return 0, _P.fail(E.ACL_ERROR_API_NOT_SUPPORT, call,
                          "loads with input/output queues need acltdt queues, which this image does not provide")
    if not plan.from_file:
        view, ret = _host_view(plan.address, plan.size, call)
        return (0, ret) if ret else _config_load(call, plan, view)
    buf, ret = _open_file(plan.path, call)
    if ret:
        return 0, ret
    with buf, _P.speaking_for(call):
        return _config_load(call, plan, buf.view)


def _config_load(call: str, plan: mdl_config.LoadPlan, view: memoryview) -> tuple[int, int]:
    if plan.with_mem:
        args = (plan.work, plan.work_size, plan.weight, plan.weight_size)
        return _with_mem(call, view, plan.label(), *args,
                         load=lambda: _P.call("load_with_config", view, plan.priority, *args))
    model_id, ret = _P.out(call, lambda: _P.call("load_with_config", view, plan.priority), 0)
    if not ret:
        _loaded(model_id, view, plan.label())
    return model_id, ret


def query_size(file_name: Any) -> tuple[int, int, int]:
    call = "aclmdlQuerySize"
    path = text(file_name, "acl.mdl.query_size")
    if _gate(call):
        return 0, 0, _NOT_INIT
    buf, ret = _open_file(path, call)
    if ret:
        return 0, 0, ret
    with buf, _P.speaking_for(call):
        return _sizes(call, buf.view)


def query_size_from_mem(model: Any, model_size: Any) -> tuple[int, int, int]:
    call = "aclmdlQuerySizeFromMem"
    ptr, size = unsigned(model, "acl.mdl.query_size_from_mem"), unsigned(model_size, "acl.mdl.query_size_from_mem")
    if _gate(call):
        return 0, 0, _NOT_INIT
    view, ret = _host_view(ptr, size, call)
    if ret:
        return 0, 0, ret
    return _sizes(call, view)


def _sizes(call: str, view: memoryview) -> tuple[int, int, int]:
    try:
        work, weight = _P.call("query_size", view)
        return work, weight, 0
    except AclError as exc:
        return 0, 0, _P.failed(exc, call)


def unload(model_id: Any) -> int:
    mid = uint32(model_id, "acl.mdl.unload")
    ret = _P.ret("aclmdlUnload", "unload", mid)
    if not ret:
        _P.ledger.models.pop(mid, None)
        _P.ledger.model_io.pop(mid, None)
        _P.bridge.forget_model(mid)
    return ret


# -- model descs ----------------------------------------------------------------------------------
@takes_no_arguments
def create_desc() -> int:
    _P.runtime()
    return _P.ledger.new_desc()


def _desc(handle: Any, call: str) -> Optional[Desc]:
    return _P.ledger.descs.get(unsigned(handle, call))


def get_desc(model_desc: Any, model_id: Any) -> int:
    call = "aclmdlGetDesc"
    desc, mid = _desc(model_desc, "acl.mdl.get_desc"), uint32(model_id, "acl.mdl.get_desc")
    if desc is None:
        return _P.fail(INVALID_PARAM, call, "modelDesc is NULL or not a live acl.mdl.create_desc handle")
    try:
        found = _P.call("get_desc", mid)
        live = _P.call("create_desc", mid)
    except AclError as exc:
        return _P.failed(exc, call)
    if desc.live:
        _quietly_destroy(desc.live)
    desc.model_id, desc.inputs, desc.outputs, desc.dynamic, desc.live = \
        mid, found.inputs, found.outputs, found.dynamic, live
    return 0


def get_desc_from_file(model_desc: Any, model_path: Any) -> int:
    """aclmdlGetDescFromFile: fill the desc from a model file without loading it."""
    call, py = "aclmdlGetDescFromFile", "acl.mdl.get_desc_from_file"
    desc, path = _desc(model_desc, py), text(model_path, py)
    if desc is None:
        return _P.fail(INVALID_PARAM, call, "modelDesc is NULL or not a live acl.mdl.create_desc handle")
    _clear(desc)  # ACL clears the desc before it reads the file, so a failed read leaves it empty
    buf, ret = _open_file(path, call)
    if ret:
        return ret
    with buf, _P.speaking_for(call):
        return _describe(desc, buf.view, call)


def get_desc_from_mem(model_desc: Any, model: Any, model_size: Any) -> int:
    """aclmdlGetDescFromMem: fill the desc from model bytes in host memory without loading them."""
    call, py = "aclmdlGetDescFromMem", "acl.mdl.get_desc_from_mem"
    desc, ptr, size = _desc(model_desc, py), unsigned(model, py), unsigned(model_size, py)
    if desc is None or not ptr or not size:
        return _P.fail(INVALID_PARAM, call, "modelDesc, model or modelSize is NULL / 0")
    _clear(desc)
    view, ret = _host_view(ptr, size, call)
    return ret or _describe(desc, view, call)


def _describe(desc: Desc, view: memoryview, call: str) -> int:
    found, ret = _P.out(call, lambda: _P.call("get_desc_from_mem", view), None)
    if not ret:  # a desc of no loaded model: no model id, no runtime desc (see get_cur_output_dims)
        desc.model_id, desc.inputs, desc.outputs, desc.dynamic = 0, found.inputs, found.outputs, found.dynamic
    return ret


def _clear(desc: Desc) -> None:
    if desc.live:
        _quietly_destroy(desc.live)
    desc.model_id, desc.inputs, desc.outputs, desc.dynamic, desc.live = None, (), (), None, 0


def _quietly_destroy(live: int) -> None:
    try:
        _P.call("destroy_desc", live)
    except AclError:
        pass


def destroy_desc(model_desc: Any) -> int:
    handle = unsigned(model_desc, "acl.mdl.destroy_desc")
    desc = _P.ledger.descs.pop(handle, None)
    if desc is None:
        return _P.fail(INVALID_PARAM, "aclmdlDestroyDesc", "modelDesc is NULL or not a live desc")
    if desc.live:
        _quietly_destroy(desc.live)
    return 0


def _tensor(model_desc: Any, index: Any, outputs: bool, call: str) -> Any:
    desc = _desc(model_desc, call)
    i = unsigned(index, call)
    if desc is None:
        return None
    tensors = desc.outputs if outputs else desc.inputs
    return tensors[i] if i < len(tensors) else None


def get_num_inputs(model_desc: Any) -> int:
    desc = _desc(model_desc, "acl.mdl.get_num_inputs")
    return len(desc.inputs) if desc else 0


def get_num_outputs(model_desc: Any) -> int:
    desc = _desc(model_desc, "acl.mdl.get_num_outputs")
    return len(desc.outputs) if desc else 0


def get_input_size_by_index(model_desc: Any, index: Any) -> int:
    t = _tensor(model_desc, index, False, "acl.mdl.get_input_size_by_index")
    return t.size if t else 0


def get_output_size_by_index(model_desc: Any, index: Any) -> int:
    t = _tensor(model_desc, index, True, "acl.mdl.get_output_size_by_index")
    if t is None:
        return 0
    return t.size or _largest_output(_desc(model_desc, "acl.mdl.get_output_size_by_index"), index)[1]


def _largest_output(desc: Desc, index: Any) -> tuple[tuple[int, ...], int]:
    """An output's dims and bytes at the model's largest gear: what ACL reports for the
    outputs of a multi-gear model (aclmdlGetOutputDims: "the maximum profile")."""
    from ...om.enums import tensor_size
    from ...runtime import gears as G

    i = unsigned(index, "acl.mdl")
    t = desc.outputs[i]
    dyn = desc.dynamic
    if dyn is None or not dyn.is_dynamic or -1 not in t.dims:
        return tuple(t.dims), t.size
    gear = G.largest(dyn.gears)
    if dyn.kind == "dims" and gear is not None and len(gear) == sum(
            len(x.dims) for x in G.shape_order_inputs(desc.inputs, dyn.shape_order)):
        gear = G.gear_from_full(desc.inputs, dyn.shape_order, gear) or gear
    dims = tuple(max(d, 0) for d in G.output_dims(dyn, desc.outputs, i, gear))
    return dims, tensor_size(dims, t.acl_dtype)


def _dims_dict(name: str, dims: Any) -> dict:
    return {"name": name, "dimCount": len(dims), "dims": [int(d) for d in dims]}


def _dims(model_desc: Any, index: Any, outputs: bool, py: str, call: str, v2: bool = False) -> tuple[dict, int]:
    t = _tensor(model_desc, index, outputs, py)
    if t is None:
        return {}, _P.fail(INVALID_PARAM, call, "modelDesc is not filled or the index is out of range")
    return _dims_dict(t.name, (v2 and t.dims_v2) or t.dims), 0


def get_input_dims(model_desc: Any, index: Any) -> tuple[dict, int]:
    return _dims(model_desc, index, False, "acl.mdl.get_input_dims", "aclmdlGetInputDims")


def get_input_dims_v2(model_desc: Any, index: Any) -> tuple[dict, int]:
    """The dimsV2 view: for a static-AIPP input the AIPP-format image's dims, whose product
    is the input's byte size; for any other input its dims."""
    return _dims(model_desc, index, False, "acl.mdl.get_input_dims_v2", "aclmdlGetInputDimsV2", True)


def get_input_dims_range(model_desc: Any, index: Any) -> tuple[dict, int]:
    """``({"rangeCount", "range": [[min, max], ...]}, ret)`` as ACL answers: a multi-gear
    model reports no ranges (rangeCount 0); a tensor without shape ranges reports each of its
    dims as [d, d]; an empty desc or an index past the inputs is 100000."""
    py = "acl.mdl.get_input_dims_range"
    t = _tensor(model_desc, index, False, py)
    if t is None:
        return {"rangeCount": 0, "range": []}, _P.fail(INVALID_PARAM, "aclmdlGetInputDimsRange",
                                                       "modelDesc is not filled or the index is out of range")
    dyn = _desc(model_desc, py).dynamic
    if dyn is not None and dyn.is_dynamic:
        return {"rangeCount": 0, "range": []}, 0
    ranges = [[int(lo), int(hi)] for lo, hi in t.dims_range] or [[int(d), int(d)] for d in t.dims]
    return {"rangeCount": len(ranges), "range": ranges}, 0


def get_output_dims(model_desc: Any, index: Any) -> tuple[dict, int]:
    """A multi-gear model's output comes back at its largest gear, as in ACL."""
    found, ret = _dims(model_desc, index, True, "acl.mdl.get_output_dims", "aclmdlGetOutputDims")
    if not ret:
        dims, _ = _largest_output(_desc(model_desc, "acl.mdl.get_output_dims"), index)
        found = _dims_dict(found["name"], dims)
    return found, ret


def get_cur_output_dims(model_desc: Any, index: Any) -> tuple[dict, int]:
    call = "aclmdlGetCurOutputDims"
    desc = _desc(model_desc, "acl.mdl.get_cur_output_dims")
    i = unsigned(index, "acl.mdl.get_cur_output_dims")
    if desc is None or desc.model_id is None:
        return {}, _P.fail(INVALID_PARAM, call, "modelDesc is NULL or not filled by acl.mdl.get_desc")
    if not desc.live:  # filled from a file or memory: GE has no model 0 to ask for its gear
        return {}, _P.fail(E.ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, call, "the desc describes a model file, not a "
                                                                        "loaded model: get_desc it after a load")
    try:
        dims = _P.call("cur_output_dims", desc.live, i)
    except AclError as exc:
        return {}, _P.failed(exc, call)
    return _dims_dict(desc.outputs[i].name, dims), 0


def get_input_data_type(model_desc: Any, index: Any) -> int:
    t = _tensor(model_desc, index, False, "acl.mdl.get_input_data_type")
    return t.acl_dtype if t else _DT_UNDEFINED


def get_output_data_type(model_desc: Any, index: Any) -> int:
    t = _tensor(model_desc, index, True, "acl.mdl.get_output_data_type")
    return t.acl_dtype if t else _DT_UNDEFINED


def get_input_format(model_desc: Any, index: Any) -> int:
    t = _tensor(model_desc, index, False, "acl.mdl.get_input_format")
    return t.acl_format if t else _FORMAT_UNDEFINED


def get_output_format(model_desc: Any, index: Any) -> int:
    t = _tensor(model_desc, index, True, "acl.mdl.get_output_format")
    return t.acl_format if t else _FORMAT_UNDEFINED


def get_input_name_by_index(model_desc: Any, index: Any) -> Optional[str]:
    t = _tensor(model_desc, index, False, "acl.mdl.get_input_name_by_index")
    return t.name if t else None


def get_output_name_by_index(model_desc: Any, index: Any) -> Optional[str]:
    t = _tensor(model_desc, index, True, "acl.mdl.get_output_name_by_index")
    return t.name if t else None


def get_input_index_by_name(model_desc: Any, name: Any) -> tuple[int, int]:
    call = "aclmdlGetInputIndexByName"
    py = "acl.mdl.get_input_index_by_name"
    desc, wanted = _desc(model_desc, py), text(name, py)
    if desc is None or desc.model_id is None:
        return 0, _P.fail(INVALID_PARAM, call, "modelDesc is NULL or not filled by acl.mdl.get_desc")
    if not desc.live:  # filled from a file: the names are all ACL looks at
        for i, t in enumerate(desc.inputs):
            if t.name == wanted:
                return i, 0
        return 0, _P.fail(INVALID_PARAM, call, f"the model has no input named {wanted!r}")
    return _P.out(call, lambda: _P.call("input_index_by_name", desc.live, wanted), 0)


def get_output_index_by_name(model_desc: Any, name: Any) -> tuple[int, int]:
    call = "aclmdlGetOutputIndexByName"
    py = "acl.mdl.get_output_index_by_name"
    desc, wanted = _desc(model_desc, py), text(name, py)
    if desc is not None:
        for i, t in enumerate(desc.outputs):
            if t.name == wanted:
                return i, 0
    return 0, _P.fail(INVALID_PARAM, call, f"the model has no output named {wanted!r}")


# -- gears -------------------------------------------------------------------------------------------
def _gears(desc: Optional[Desc], kind: str) -> Optional[tuple]:
    if desc is None or desc.dynamic is None:
        return None
    return desc.dynamic.gears if desc.dynamic.kind == kind else ()


def get_dynamic_batch(model_desc: Any) -> tuple[dict, int]:
    gears = _gears(_desc(model_desc, "acl.mdl.get_dynamic_batch"), "batch")
    if gears is None:
        return {}, _P.fail(INVALID_PARAM, "aclmdlGetDynamicBatch", "modelDesc is NULL or not filled")
    return {"batchCount": len(gears), "batch": [int(g[0]) for g in gears]}, 0


def get_dynamic_hw(model_desc: Any, index: Any) -> tuple[dict, int]:
    unsigned(index, "acl.mdl.get_dynamic_hw")  # reserved (-1) and ignored, as in ACL
    gears = _gears(_desc(model_desc, "acl.mdl.get_dynamic_hw"), "hw")
    if gears is None:
        return {}, _P.fail(INVALID_PARAM, "aclmdlGetDynamicHW", "modelDesc is NULL or not filled")
    return {"hwCount": len(gears), "hw": [[int(h), int(w)] for h, w in gears]}, 0


def get_input_dynamic_gear_count(model_desc: Any, index: Any) -> tuple[int, int]:
    call, py = "aclmdlGetInputDynamicGearCount", "acl.mdl.get_input_dynamic_gear_count"
    desc, i = _desc(model_desc, py), unsigned(index, py)
    gears = _gears(desc, "dims")
    if gears is None or i != _SIZE_MAX:
        return 0, _P.fail(INVALID_PARAM, call, "modelDesc is not filled, or index is not -1")
    return len(gears), 0


def get_input_dynamic_dims(model_desc: Any, index: Any, gear_count: Any) -> tuple[list, int]:
    call = "aclmdlGetInputDynamicDims"
    py = "acl.mdl.get_input_dynamic_dims"
    desc, i, count = _desc(model_desc, py), unsigned(index, py), unsigned(gear_count, py)
    gears = _gears(desc, "dims")
    if gears is None or i != _SIZE_MAX or count < len(gears):
        return [], _P.fail(INVALID_PARAM, call, "modelDesc is not filled, index is not -1, or gear_count is "
                                                "smaller than the model's gear count")
    if count > _MAX_SHAPE_COUNT:  # pyACL would allocate that many aclmdlIODims (1 KiB each)
        return [], _P.fail(INVALID_PARAM, call, f"gear_count {count} is more than the {_MAX_SHAPE_COUNT} gears a "
                                                "model can have (ACL_MAX_SHAPE_COUNT); pass "
                                                "acl.mdl.get_input_dynamic_gear_count's answer")
    full = [_full_dims(desc, gear) for gear in gears]
    full += [[] for _ in range(count - len(gears))]
    return [{"name": "", "dimCount": len(d), "dims": d} for d in full], 0


def _full_dims(desc: Desc, gear: tuple) -> list[int]:
    """A dims gear as aclmdlGetInputDynamicDims reports it: every user input's dims,
    concatenated in the model's shape order, the -1 positions filled in. (The ctypes
    backend already reports gears that way; the simulator keeps one value per -1.)"""
    from ...runtime import gears as G

    inputs = desc.inputs
    order = desc.dynamic.shape_order
    if len(gear) == sum(len(t.dims) for t in G.shape_order_inputs(inputs, order)):
        return [int(v) for v in gear]
    full = G.full_dims(inputs, order, tuple(gear))
    return [int(v) for v in (full or gear)]


def _check_mbatch(model_id: int, dataset: int, index: int, call: str, valid_gear: bool) -> int:
    """Before a set call writes the mbatch buffer: its data buffer and memory must be live."""
    if not valid_gear or dataset not in _P.ledger.datasets:
        return 0  # the runtime refuses first (dataset 100000, gear 145013) without touching memory
    try:
        count = _P.call("dataset_num_buffers", dataset)
        buffer = _P.call("dataset_buffer", dataset, index) if index < count else 0
    except AclError:
        return 0
    if buffer and buffer not in _P.ledger.buffers:
        return _P.fail(INVALID_PARAM, call, f"dataset entry {index} is not a live data buffer")
    if buffer:
        addr, size = _P.call("data_buffer_addr", buffer), _P.call("data_buffer_size", buffer)
        if addr and _P.ledger.reach(addr, size, write=True) is None:
            return _P.fail(RT_PARAM_INVALID, call, f"the mbatch buffer 0x{addr:x} is not live device memory")
    return 0


def _model_gears(model_id: int, kind: str) -> tuple:
    try:
        dyn = _P.call("get_desc", model_id).dynamic
    except AclError:
        return ()
    return dyn.gears if dyn.kind == kind else ()


def set_dynamic_batch_size(model_id: Any, dataset: Any, index: Any, batch_size: Any) -> int:
    call, py = "aclmdlSetDynamicBatchSize", "acl.mdl.set_dynamic_batch_size"
    mid, ds, i, batch = uint32(model_id, py), unsigned(dataset, py), unsigned(index, py), unsigned(batch_size, py)
    if ds and ds not in _P.ledger.datasets:
        return _P.fail(INVALID_PARAM, call, "dataset is not a live acl.mdl.create_dataset handle")
    ret = _check_mbatch(mid, ds, i, call, (batch,) in _model_gears(mid, "batch"))
    return ret or _P.ret(call, "set_dynamic_batch_size", mid, ds, i, batch)


def set_dynamic_hw_size(model_id: Any, dataset: Any, index: Any, height: Any, width: Any) -> int:
    call, py = "aclmdlSetDynamicHWSize", "acl.mdl.set_dynamic_hw_size"
    mid, ds, i = uint32(model_id, py), unsigned(dataset, py), unsigned(index, py)
    h, w = unsigned(height, py), unsigned(width, py)
    if ds and ds not in _P.ledger.datasets:
        return _P.fail(INVALID_PARAM, call, "dataset is not a live acl.mdl.create_dataset handle")
    ret = _check_mbatch(mid, ds, i, call, (h, w) in _model_gears(mid, "hw"))
    return ret or _P.ret(call, "set_dynamic_hw_size", mid, ds, i, h, w)


def set_input_dynamic_dims(model_id: Any, dataset: Any, index: Any, dims: Any) -> int:
    call, py = "aclmdlSetInputDynamicDims", "acl.mdl.set_input_dynamic_dims"
    mid, ds, i = uint32(model_id, py), unsigned(dataset, py), unsigned(index, py)
    if not isinstance(dims, dict):
        raise TypeError("argument 4 is not dict")
    values = dims.get("dims")
    if not isinstance(values, list):
        raise TypeError("The dims of parameter 4 is not a list.")
    count = unsigned(dims.get("dimCount", 0), py)
    if count > len(values) or any(not isinstance(v, int) for v in values[:count]):
        raise TypeError("the dims of fourth parameter is not list of int")
    if any(not INT64[0] <= v <= INT64[1] for v in values[:count]):  # ctypes would wrap it into a gear
        raise TypeError(f"{py} args parse failed: a dim does not fit in int64")
    given = tuple(int(v) for v in values[:count])
    if ds and ds not in _P.ledger.datasets:
        return _P.fail(INVALID_PARAM, call, "dataset is not a live acl.mdl.create_dataset handle")
    ret = _check_mbatch(mid, ds, i, call, bool(given))
    return ret or _P.ret(call, "set_input_dynamic_dims", mid, ds, i, given)


# -- datasets ----------------------------------------------------------------------------------------
@takes_no_arguments
def create_dataset() -> int:
    try:
        handle = _P.call("create_dataset")
    except AclError as exc:
        _P.failed(exc, "aclmdlCreateDataset")
        return 0
    _P.ledger.datasets.add(handle)
    return handle


def destroy_dataset(dataset: Any) -> int:
    call = "aclmdlDestroyDataset"
    ds = unsigned(dataset, "acl.mdl.destroy_dataset")
    if ds and ds not in _P.ledger.datasets:
        return _P.fail(INVALID_PARAM, call, f"0x{ds:x} is not a live dataset")
    ret = _P.ret(call, "destroy_dataset", ds)
    if not ret:
        _P.ledger.datasets.discard(ds)
    return ret


def add_dataset_buffer(dataset: Any, data_buffer: Any) -> tuple[int, int]:
    call = "aclmdlAddDatasetBuffer"
    ds, buf = unsigned(dataset, "acl.mdl.add_dataset_buffer"), unsigned(data_buffer, "acl.mdl.add_dataset_buffer")
    if ds and ds not in _P.ledger.datasets:
        return ds, _P.fail(INVALID_PARAM, call, f"0x{ds:x} is not a live dataset")
    return ds, _P.ret(call, "add_dataset_buffer", ds, buf)


def get_dataset_num_buffers(dataset: Any) -> int:
    ds = unsigned(dataset, "acl.mdl.get_dataset_num_buffers")
    return _P.get("aclmdlGetDatasetNumBuffers", 0, "dataset_num_buffers", ds) if ds in _P.ledger.datasets else 0


def get_dataset_buffer(dataset: Any, index: Any) -> int:
    ds, i = unsigned(dataset, "acl.mdl.get_dataset_buffer"), unsigned(index, "acl.mdl.get_dataset_buffer")
    return _P.get("aclmdlGetDatasetBuffer", 0, "dataset_buffer", ds, i) if ds in _P.ledger.datasets else 0


# -- execution ----------------------------------------------------------------------------------------
def execute(model_id: Any, input: Any, output: Any) -> int:  # noqa: A002 (pyACL's own names)
    py = "acl.mdl.execute"
    return _execute("aclmdlExecute", uint32(model_id, py), unsigned(input, py), unsigned(output, py), None)


def execute_async(model_id: Any, input: Any, output: Any, stream: Any) -> int:  # noqa: A002
    py = "acl.mdl.execute_async"
    return _execute("aclmdlExecuteAsync", uint32(model_id, py), unsigned(input, py), unsigned(output, py),
                    unsigned(stream, py))


def _entries(dataset: int) -> list[tuple[int, int, int]]:
    """(buffer, address, size) of each entry of a live dataset."""
    out = []
    for i in range(_P.call("dataset_num_buffers", dataset)):
        b = _P.call("dataset_buffer", dataset, i)
        live = b in _P.ledger.buffers
        out.append((b if live else -1, _P.call("data_buffer_addr", b) if live else 0,
                    _P.call("data_buffer_size", b) if live else 0))
    return out


def _execute(call: str, model_id: int, inputs: int, outputs: int, stream: Optional[int]) -> int:
    ledger = _P.ledger
    for ds in (inputs, outputs):
        if ds and ds not in ledger.datasets:
            return _P.fail(INVALID_PARAM, call, f"0x{ds:x} is not a live dataset")
    if stream and stream not in ledger.streams:
        return _P.fail(RT_INVALID_HANDLE, call, f"0x{stream:x} is not a live stream")
    try:
        ins = _entries(inputs) if inputs else []
        outs = _entries(outputs) if outputs else []
    except AclError as exc:
        return _P.failed(exc, call)
    if any(b == -1 for b, _, _ in ins + outs):
        return _P.fail(INVALID_PARAM, call, "a dataset entry is not a live data buffer")
    ret = _check_pointers(call, model_id, ins, outs)
    if ret:
        return ret
    args = (model_id, inputs, outputs) if stream is None else (model_id, inputs, outputs, stream)
    ret = _P.ret(call, "execute" if stream is None else "execute_async", *args)
    if not ret:
        _after_run(model_id, ins, outs)
    return ret


def _check_pointers(call: str, model_id: int, ins: list, outs: list) -> int:
    """Unknown memory in a dataset is refused (107000) once the runtime would reach it: the
    model is one the program loaded, the counts match, and this is its context."""
    ledger = _P.ledger
    if model_id not in ledger.models or ledger.models[model_id] != (_P.current_context() or 0):
        return 0
    if ledger.model_io.get(model_id) != (len(ins), len(outs)):
        return 0
    for side, entries in (("input", ins), ("output", outs)):
        for i, (_, addr, size) in enumerate(entries):
            if addr and ledger.reach(addr, size, write=side == "output") is None:
                return _P.fail(RT_PARAM_INVALID, call, f"{side} {i} points at 0x{addr:x} (+{size} bytes), which "
                                                       "is not live memory of this program")
    return 0


def _after_run(model_id: int, ins: list, outs: list) -> None:
    """Attribute the program's buffers to the model; record outputs ACL allocated itself."""
    from ...runtime.base import malloc_charge

    ledger = _P.ledger
    pointers = [addr for _, addr, _ in ins + outs if addr]
    for buffer, addr, _ in outs:
        if addr:
            continue
        new, size = _P.call("data_buffer_addr", buffer), _P.call("data_buffer_size", buffer)
        if new:  # a sync execute allocated it; the program frees it with acl.rt.free
            device = ledger.contexts.get(_P.current_context(), 0)
            ledger.add_region(new, size, DEVICE, device)
            _P.bridge.note_alloc(new, size, malloc_charge(size, 0), device)
            pointers.append(new)
    _P.bridge.attribute(model_id, pointers)


__all__ = [
    "add_dataset_buffer", "create_config_handle", "create_dataset", "create_desc", "destroy_config_handle",
    "destroy_dataset", "destroy_desc", "execute", "execute_async", "get_cur_output_dims", "get_dataset_buffer",
    "get_dataset_num_buffers", "get_dataset_tensor_desc", "get_desc", "get_desc_from_file", "get_desc_from_mem",
    "get_dynamic_batch", "get_dynamic_hw", "get_input_data_type", "get_input_dims", "get_input_dims_range",
    "get_input_dims_v2", "get_input_dynamic_dims", "get_input_dynamic_gear_count", "get_input_format",
    "get_input_index_by_name", "get_input_name_by_index", "get_input_size_by_index", "get_num_inputs",
    "get_num_outputs", "get_output_data_type", "get_output_dims", "get_output_format", "get_output_index_by_name",
    "get_output_name_by_index", "get_output_size_by_index", "load_from_file", "load_from_file_with_mem",
    "load_from_mem", "load_from_mem_with_mem", "load_with_config", "query_size", "query_size_from_mem",
    "set_config_opt", "set_dataset_tensor_desc", "set_dynamic_batch_size", "set_dynamic_hw_size",
    "set_input_dynamic_dims", "unload",
]


def __dir__() -> list[str]:
    """What pyACL's own module lists: its calls, not the image's imports and helpers."""
    return sorted(__all__)
