"""The one interface both backends implement.

Each method is a thin, faithful image of one or two ACL calls, so the session above can
follow ACL's rules (same context for load / query / unload, pre-check before load) without
knowing which backend it drives. Failures are `AclError` with ACL's own codes.

Model bytes arrive as a 1-D, C-contiguous ``memoryview`` of unsigned bytes (possibly
read-only); a backend must not copy it (the `acl` backend passes its address to C, the
simulator parses it in place).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Optional

from ..om.model import DynamicInfo, TensorDesc


class RunMode(enum.IntEnum):
    """aclrtRunMode: where the application runs relative to the NPU."""

    DEVICE = 0  # RC form: the app runs on the board's own CPU
    HOST = 1  # EP form: a PCIe card in a host server


class MemAttr(enum.IntEnum):
    """aclrtMemAttr (the subset we query)."""

    DDR = 0
    HBM = 1
    DDR_HUGE = 2
    DDR_NORMAL = 3
    HBM_HUGE = 4
    HBM_NORMAL = 5


# aclmdlConfigAttr values we set, and the load type for "from memory".
MDL_PRIORITY_INT32 = 0
MDL_LOAD_TYPE_SIZET = 1
MDL_MEM_ADDR_PTR = 3
MDL_MEM_SIZET = 4
MDL_LOAD_FROM_MEM = 3


@dataclass(frozen=True)
class ModelDesc:
    """What `aclmdlGetDesc` and its getters say about a model."""

    inputs: tuple[TensorDesc, ...]
    outputs: tuple[TensorDesc, ...]
    dynamic: DynamicInfo = field(default_factory=DynamicInfo)


@dataclass(frozen=True)
class Versions:
    """Version strings a backend can report; empty where the library cannot say."""

    acl_api: str = ""  # aclrtGetVersion, e.g. "1.17.0"
    cann: str = ""  # aclsysGetVersionStr("CANN") or the install's version file
    driver: str = ""


class Backend(ABC):
    """A driver for one AscendCL implementation (real library or simulator)."""

    #: ``"acl"`` or ``"sim"``
    kind: str = ""
    #: path of the loaded library, or ``"(embedded simulator)"``
    library: str = ""

    # -- process ----------------------------------------------------------------------
    @abstractmethod
    def init(self) -> bool:
        """aclInit(NULL). True if this call initialised ACL, False if it already was
        (ACL_ERROR_REPEAT_INITIALIZE is not an error for us)."""

    @abstractmethod
    def finalize(self) -> None:
        """aclFinalize()."""

    @abstractmethod
    def versions(self) -> Versions: ...

    @abstractmethod
    def run_mode(self) -> RunMode:
        """aclrtGetRunMode()."""

    @abstractmethod
    def soc_name(self) -> str:
        """aclrtGetSocName() (needs a device set); "" when unknown."""

    # -- devices and contexts -----------------------------------------------------------
    @abstractmethod
    def device_count(self) -> int:
        """aclrtGetDeviceCount()."""

    @abstractmethod
    def set_device(self, device: int) -> None: ...

    @abstractmethod
    def reset_device(self, device: int) -> None: ...

    @abstractmethod
    def create_context(self, device: int) -> int:
        """aclrtCreateContext(); returns an opaque handle (an address for `acl`). The new
        context becomes current on the calling thread."""

    @abstractmethod
    def destroy_context(self, context: int) -> None: ...

    @abstractmethod
    def set_current_context(self, context: int) -> None:
        """aclrtSetCurrentContext(): binds the context to the calling thread."""

    @abstractmethod
    def get_current_context(self) -> Optional[int]:
        """aclrtGetCurrentContext(); None when the thread has none."""

    @abstractmethod
    def mem_info(self, attr: MemAttr) -> tuple[int, int]:
        """aclrtGetMemInfo(attr) for the current context's device: (free, total) bytes."""

    # -- models ---------------------------------------------------------------------------
    @abstractmethod
    def query_size(self, model: memoryview) -> tuple[int, int]:
        """aclmdlQuerySizeFromMem(): (work size, weight size) in bytes."""

    @abstractmethod
    def load_from_mem(self, model: memoryview) -> int:
        """aclmdlLoadFromMem(); returns the model id."""

    @abstractmethod
    def load_with_config(self, model: memoryview, priority: Optional[int] = None) -> int:
        """aclmdlCreateConfigHandle + aclmdlSetConfigOpt(LOAD_TYPE=FROM_MEM, MEM_ADDR,
        MEM_SIZE[, PRIORITY]) + aclmdlLoadWithConfig; the handle is always destroyed."""

    @abstractmethod
    def get_desc(self, model_id: int) -> ModelDesc:
        """aclmdlCreateDesc + aclmdlGetDesc + getters + aclmdlDestroyDesc."""

    @abstractmethod
    def unload(self, model_id: int) -> None:
        """aclmdlUnload()."""
