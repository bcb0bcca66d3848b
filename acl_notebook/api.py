"""The public API: what notebooks, scripts, the magics and the panel call.

Every function works on the process's session (`session.get_session()`), so a model loaded
with `%acl_load` is the same object `acl_notebook.models()` lists and the panel shows.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from .session import MemoryReport, Model, ModelList, SessionInfo, get_session


def configure(backend: Optional[str] = None, soc: Optional[str] = None, device: Optional[int] = None,
              library: Optional[str] = None, memory: Optional[int] = None,
              devices: Optional[int] = None) -> SessionInfo:
    """Choose the backend and its settings; with no arguments, start the session and report it.

    backend: "auto" (real CANN if found, else the simulator), "sim" or "acl".
    soc, memory, devices: the simulated SoC (e.g. "Ascend910B1", "Ascend310B4", or "auto", the
    default: while nothing is loaded, the first model that names a SoC makes the simulator that
    SoC), device memory total in bytes and device count; ignored on real hardware. device: the
    default device.
    library: an explicit path to libascendcl.so.
    """
    return get_session().configure(backend=backend, soc=soc, device=device, library=library,
                                   memory=memory, devices=devices)


def load(source: Any, *, name: Optional[str] = None, device: Optional[int] = None, force: bool = False,
         priority: Optional[int] = None, label: Optional[str] = None) -> Model:
    """Load an offline model from memory into the kernel's context.

    source: a path to a .om file (memory-mapped, not copied) or bytes, bytearray,
    memoryview, mmap or a numpy uint8 array (passed to the runtime without a copy).
    The device memory the model needs is checked first; force=True skips that check.
    priority: load through aclmdlLoadWithConfig with this priority. label: how the source
    is shown (defaults to the path or the buffer's type).
    """
    return get_session().load(source, name=name, device=device, force=force, priority=priority, label=label)


def models() -> ModelList:
    """The loaded models, in load order."""
    return get_session().models()


def unload(model: Union[Model, str, int]) -> Model:
    """Unload a model given as a Model, its name or its id."""
    return get_session().unload(model)


def unload_all() -> int:
    """Unload every model; returns how many were unloaded."""
    return get_session().unload_all()


def memory(device: Optional[int] = None) -> MemoryReport:
    """Free / used / total device memory and each loaded model's share."""
    return get_session().memory(device)


def info() -> SessionInfo:
    """Backend, library path, versions, SoC, device count and run mode."""
    return get_session().info()


def panel(device: Optional[int] = None) -> Any:
    """The interactive panel: upload models, see their I/O and device memory live."""
    from .widgets.panel import get_panel

    # One live panel per session: re-running a cell must not add another timer thread.
    return get_panel(get_session(), device=device)
