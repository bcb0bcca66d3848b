"""Model-load config handles: ``acl.mdl.create_config_handle``, ``set_config_opt``,
``destroy_config_handle``, and the plan ``acl.mdl.load_with_config`` loads from.

A config handle only records options, as ACL's ``aclmdlConfigHandle`` does; each option is
checked when it is set and the set as a whole when the model is loaded (``plan``), with the
codes ACL gives (all 100000, ACL_ERROR_INVALID_PARAM):

- ``set_config_opt``: a handle that is not live, an attribute ACL does not take (the
  aclmdlConfigAttr values past WEIGHT_PATH_PTR, except WITHOUT_GRAPH_INT32), a NULL model
  address or weight path, a load type outside 1-6, WORKSPACE_MEM_OPTIMIZE outside 0-1, a
  priority outside the stream priority range 0-7. WITHOUT_GRAPH_INT32 always fails: pyACL
  passes every plain value as 8 bytes and ACL wants 4.
- ``plan``: no load type; a file load without PATH_PTR or with WEIGHT_PATH_PTR; a memory load
  without MEM_ADDR_PTR or MEM_SIZET; FROM_MEM_WITH_MEM with WEIGHT_PATH_PTR; a queue load
  without all four queue options.

Values are parsed as pyACL parses them: PRIORITY as a C int, PATH_PTR as a str, the four
address options (MEM_ADDR, WEIGHT_ADDR, WORKSPACE_ADDR, WEIGHT_PATH) as pointers, every other
option as a uint64. What `plan` returns is mapped onto the backend calls by ``acl.mdl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..core import INVALID_PARAM, PROGRAM, signed, takes_no_arguments, text, unsigned
from ..ledger import Config

_P = PROGRAM

# aclmdlConfigAttr (shared/docs/acl-api.md §3)
PRIORITY_INT32, LOAD_TYPE_SIZET, PATH_PTR, MEM_ADDR_PTR, MEM_SIZET = 0, 1, 2, 3, 4
WEIGHT_ADDR_PTR, WEIGHT_SIZET, WORKSPACE_ADDR_PTR, WORKSPACE_SIZET = 5, 6, 7, 8
INPUTQ_NUM_SIZET, INPUTQ_ADDR_PTR, OUTPUTQ_NUM_SIZET, OUTPUTQ_ADDR_PTR = 9, 10, 11, 12
WORKSPACE_MEM_OPTIMIZE, WEIGHT_PATH_PTR, WITHOUT_GRAPH_INT32 = 13, 14, 28

# ACL_MDL_LOAD_TYPE_SIZET values
FROM_FILE, FROM_FILE_WITH_MEM, FROM_MEM, FROM_MEM_WITH_MEM, FROM_FILE_WITH_Q, FROM_MEM_WITH_Q = 1, 2, 3, 4, 5, 6
LOAD_TYPE_NAMES = {FROM_FILE: "FROM_FILE", FROM_FILE_WITH_MEM: "FROM_FILE_WITH_MEM", FROM_MEM: "FROM_MEM",
                   FROM_MEM_WITH_MEM: "FROM_MEM_WITH_MEM", FROM_FILE_WITH_Q: "FROM_FILE_WITH_Q",
                   FROM_MEM_WITH_Q: "FROM_MEM_WITH_Q"}

_TAKEN = frozenset(range(WEIGHT_PATH_PTR + 1)) | {WITHOUT_GRAPH_INT32}  # the attributes ACL accepts
_POINTERS = frozenset({MEM_ADDR_PTR, WEIGHT_ADDR_PTR, WORKSPACE_ADDR_PTR, WEIGHT_PATH_PTR})  # parsed as "k"
_NOT_NULL = frozenset({PATH_PTR, MEM_ADDR_PTR, INPUTQ_ADDR_PTR, OUTPUTQ_ADDR_PTR, WEIGHT_PATH_PTR})
_PRIORITIES = range(0, 8)  # aclrtDeviceGetStreamPriorityRange: greatest 0, least 7
_CALL = "aclmdlSetConfigOpt"


@dataclass(frozen=True)
class LoadPlan:
    """What a complete config asks ``aclmdlLoadWithConfig`` to do."""

    load_type: int
    path: str = ""  # file loads
    address: int = 0  # memory loads
    size: int = 0
    work: int = 0  # the *_WITH_MEM loads: memory the program supplies (0 lets ACL allocate it)
    work_size: int = 0
    weight: int = 0
    weight_size: int = 0
    priority: Optional[int] = None

    @property
    def from_file(self) -> bool:
        return self.load_type in (FROM_FILE, FROM_FILE_WITH_MEM, FROM_FILE_WITH_Q)

    @property
    def with_mem(self) -> bool:
        return self.load_type in (FROM_FILE_WITH_MEM, FROM_MEM_WITH_MEM)

    @property
    def with_queues(self) -> bool:
        return self.load_type in (FROM_FILE_WITH_Q, FROM_MEM_WITH_Q)

    def label(self) -> str:
        """How the registry names the load (``pyACL load_with_config FROM_FILE PATH``)."""
        where = self.path if self.from_file else f"({self.size:,} bytes at 0x{self.address:x})"
        extra = f", priority {self.priority}" if self.priority is not None else ""
        return f"pyACL load_with_config {LOAD_TYPE_NAMES[self.load_type]} {where}{extra}"


@takes_no_arguments
def create_config_handle() -> int:
    _P.runtime()  # ties the handle to the running runtime, like every handle
    return _P.ledger.new_config()


def _config(handle: int) -> Optional[Config]:
    return _P.ledger.configs.get(handle)


def destroy_config_handle(config_handle: Any) -> int:
    handle = unsigned(config_handle, "acl.mdl.destroy_config_handle")
    if _P.ledger.configs.pop(handle, None) is None:
        return _P.fail(INVALID_PARAM, "aclmdlDestroyConfigHandle", "handle is NULL or not a live config handle")
    return 0


def _parse(attr: int, value: Any) -> Any:
    """The value as pyACL's wrapper parses it for `attr` (a TypeError when it cannot)."""
    py = "acl.mdl.set_config_opt"
    if attr == PRIORITY_INT32:
        return signed(value, py)
    if attr == PATH_PTR:
        return text(value, py)
    return unsigned(value, py)  # "k" for the pointers, "K" for the rest: both wrap to 64 bits


def _refusal(attr: int, value: Any) -> str:
    """Why ACL refuses this option ("" when it takes it)."""
    if attr not in _TAKEN:
        return f"attr {attr} is not a model-load option ACL takes"
    if attr == WITHOUT_GRAPH_INT32:
        return "ACL_MDL_WITHOUT_GRAPH_INT32 needs a 4-byte value and pyACL passes 8"
    if attr in _NOT_NULL and not value:
        return f"attr {attr} must not be NULL"
    if attr == PRIORITY_INT32 and value not in _PRIORITIES:
        return f"priority {value} is outside the stream priority range [0, 7]"
    if attr == LOAD_TYPE_SIZET and value not in LOAD_TYPE_NAMES:
        return f"load type {value} is not one of 1-6 (ACL_MDL_LOAD_FROM_FILE .. FROM_MEM_WITH_Q)"
    if attr == WORKSPACE_MEM_OPTIMIZE and value not in (0, 1):
        return f"ACL_MDL_WORKSPACE_MEM_OPTIMIZE takes 0 or 1, not {value}"
    return ""


def set_config_opt(config_handle: Any, attr: Any, attr_value: Any) -> int:
    handle = unsigned(config_handle, "acl.mdl.set_config_opt")
    option = signed(attr, "acl.mdl.set_config_opt")
    value = _parse(option, attr_value)
    config = _config(handle)
    if config is None:
        return _P.fail(INVALID_PARAM, _CALL, "handle is NULL or not a live acl.mdl.create_config_handle handle")
    why = _refusal(option, value)
    if why:
        return _P.fail(INVALID_PARAM, _CALL, why)
    config.options[option] = value
    return 0


def _missing(options: dict[int, Any]) -> str:
    """ACL's check of the whole config before a load ("" when it is complete)."""
    kind = options.get(LOAD_TYPE_SIZET)
    if kind is None:
        return "ACL_MDL_LOAD_TYPE_SIZET is not set"
    if kind in (FROM_FILE, FROM_FILE_WITH_MEM, FROM_FILE_WITH_Q):
        if PATH_PTR not in options:
            return "a load from file needs ACL_MDL_PATH_PTR"
        if WEIGHT_PATH_PTR in options:
            return "a load from file must not set ACL_MDL_WEIGHT_PATH_PTR"
    else:
        if MEM_ADDR_PTR not in options or MEM_SIZET not in options:
            return "a load from memory needs ACL_MDL_MEM_ADDR_PTR and ACL_MDL_MEM_SIZET"
        if kind == FROM_MEM_WITH_MEM and WEIGHT_PATH_PTR in options:
            return "ACL_MDL_LOAD_FROM_MEM_WITH_MEM must not set ACL_MDL_WEIGHT_PATH_PTR"
    if kind in (FROM_FILE_WITH_Q, FROM_MEM_WITH_Q):
        if not {INPUTQ_ADDR_PTR, INPUTQ_NUM_SIZET, OUTPUTQ_ADDR_PTR, OUTPUTQ_NUM_SIZET} <= options.keys():
            return "a load with queues needs the INPUTQ and OUTPUTQ address and count options"
    return ""


def plan(config_handle: Any, call: str = "aclmdlLoadWithConfig") -> tuple[Optional[LoadPlan], int]:
    """The load a live, complete config asks for, or (None, ACL's code)."""
    config = _config(unsigned(config_handle, "acl.mdl.load_with_config"))
    if config is None:
        return None, _P.fail(INVALID_PARAM, call, "handle is NULL or not a live acl.mdl.create_config_handle handle")
    options = dict(config.options)
    why = _missing(options)
    if why:
        return None, _P.fail(INVALID_PARAM, call, why)
    return LoadPlan(
        load_type=options[LOAD_TYPE_SIZET], path=options.get(PATH_PTR, ""), address=options.get(MEM_ADDR_PTR, 0),
        size=options.get(MEM_SIZET, 0), work=options.get(WORKSPACE_ADDR_PTR, 0),
        work_size=options.get(WORKSPACE_SIZET, 0), weight=options.get(WEIGHT_ADDR_PTR, 0),
        weight_size=options.get(WEIGHT_SIZET, 0), priority=options.get(PRIORITY_INT32)), 0


__all__ = ["LOAD_TYPE_NAMES", "LoadPlan", "create_config_handle", "destroy_config_handle", "plan", "set_config_opt"]
