"""The public API: what notebooks, scripts, the magics and the panel call.

Every function works on the process's session (`session.get_session()`), so a model loaded
with `%acl_load` is the same object `acl_notebook.models()` lists and the panel shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from .session import MemoryReport, Model, ModelList, SessionInfo, get_session

if TYPE_CHECKING:
    from .grid import MemoryGrid
    from .group import ModelGroup
    from .hostmemory import HostMemory
    from .runtime.base import Utilization


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


def load(source: Any, *, name: Optional[str] = None, device: Any = None, force: bool = False,
         priority: Optional[int] = None, label: Optional[str] = None) -> Union[Model, ModelGroup]:
    """Load an offline model from memory into the kernel's context.

    source: a path to a .om file (memory-mapped, not copied) or bytes, bytearray,
    memoryview, mmap or a numpy uint8 array (passed to the runtime without a copy).
    The device memory the model needs is checked first; force=True skips that check.
    priority: load through aclmdlLoadWithConfig with this priority (0-7, 0 the greatest). label: how the source
    is shown (defaults to the path or the buffer's type).
    device: one id (a `Model`), or several: "all", "0-3", "0,2" or [0, 2] (a `ModelGroup`,
    one copy per device; every device is pre-checked before any loads).
    """
    session = get_session()
    if device is None:
        return session.load(source, name=name, force=force, priority=priority, label=label)
    from .devices import device_id, is_single

    if is_single(device):
        dev = device_id(device)  # numpy's integers too
        return session.load(source, name=name, device=dev, force=force, priority=priority, label=label)
    from .group import load_group

    return load_group(session, source, device, name=name, force=force, priority=priority, label=label)


def models() -> ModelList:
    """The loaded models, in load order."""
    return get_session().models()


def find(model: Union[Model, str, int]) -> Model:
    """A loaded model by its name, an alias (the name stored in the file, or the file's stem),
    or its id. A miss raises KeyError naming the close match ("did you mean ...")."""
    return get_session().find(model)


def unload(model: Union[Model, ModelGroup, str, int]) -> Union[Model, ModelGroup]:
    """Unload a model given as a Model, its name, an alias or its id, or every copy of a group
    (a ModelGroup or its name)."""
    session = get_session()
    if isinstance(model, (Model, int)):  # one copy: no group to look for
        return session.unload(model)
    from .group import ModelGroup, find_group

    if isinstance(model, ModelGroup):
        return model.unload()
    if isinstance(model, str):
        group = find_group(session, model)
        if group is not None:
            return group.unload()
    return session.unload(model)


def unload_all() -> int:
    """Unload every model; returns how many were unloaded."""
    return get_session().unload_all()


def memory(device: Any = None) -> Union[MemoryReport, MemoryGrid]:
    """Free / used / total device memory and each loaded model's share.

    device: one id (a `MemoryReport`), or several ("all", "0-3", [0, 2]): a `MemoryGrid`,
    one cell per device, where a model group keeps one colour across its devices.
    """
    from .devices import device_id, is_single

    session = get_session()
    if device is None or is_single(device):
        return session.memory(None if device is None else device_id(device))
    from .devices import parse_devices
    from .grid import local_grid

    return local_grid(session, parse_devices(device, session.device_count))


def host_memory() -> HostMemory:
    """Host memory the kernel may still take: the smaller of the host's MemAvailable and what
    the container's memory limit (cgroup v1 or v2) leaves, with both figures and which one is
    tighter (`limited_by`). Runs, random inputs and the CPU reference are held there, and are
    refused (`HostMemoryError`) past it."""
    from .hostmemory import read

    return read()


def utilization(device: Optional[int] = None) -> Optional[Utilization]:
    """AI Core (`cube`), `vector` and `aicpu` utilisation of a device in percent (None for a
    unit the chip cannot measure), or None when the runtime cannot say at all (CANN
    without aclrtGetDeviceUtilizationRate). The simulator reports the share of the last
    second its device spent running models."""
    return get_session().utilization(device)


def socs() -> tuple[str, ...]:
    """What ``configure(soc=...)`` takes on the simulator: "auto" (the first model's SoC
    decides) and the SoC names it has profiles for."""
    from .runtime.socs import AUTO, PROFILES

    return (AUTO, *PROFILES)


def info() -> SessionInfo:
    """Backend, library path, versions, SoC, device count and run mode."""
    return get_session().info()


def panel(device: Any = None) -> Any:
    """The interactive panel: upload models, see their I/O and device memory live.

    device="all" (or "0-3", [0, 2]... any several devices) gives the device grid instead:
    one live memory bar per device, a model group in one colour across them.
    """
    from .devices import device_id, is_single

    if device is not None and not is_single(device):
        from .devices import parse_devices
        from .widgets.device_grid import GridView

        session = get_session()
        ids = parse_devices(device, session.device_count)
        return GridView(lambda: memory(device=list(ids)))
    from .widgets.panel import get_panel

    # One live panel per session: re-running a cell must not add another timer thread.
    return get_panel(get_session(), device=None if device is None else device_id(device))


def _group_of(model: Any) -> Optional[ModelGroup]:
    """`model` as a ModelGroup when it is one or names one, else None."""
    from .group import ModelGroup, find_group

    if isinstance(model, ModelGroup):
        return model
    return find_group(get_session(), model) if isinstance(model, str) else None


def run(model: Union[Model, str, int], inputs: Any = None, *, batch: Optional[int] = None,
        hw: Optional[tuple[int, int]] = None, dims: Optional[tuple[int, ...]] = None, split: bool = False,
        override: Optional[dict] = None) -> Any:
    """Run a loaded model (a Model, its name or id) on numpy inputs; returns `Outputs`.
    Same as ``model.run(inputs, ...)``. A `ModelGroup` (or its name) runs on all its devices
    (`ModelGroup.run`; split=True shards the batch across them). `override` (simulator only):
    see `reference`."""
    group = _group_of(model)
    if group is not None:
        if override is not None:
            raise ValueError("override= applies to one model; run a copy of the group (group.models[i]) with it")
        return group.run(inputs, split=split, batch=batch, hw=hw, dims=dims)
    if split:
        raise ValueError("split=True shards a batch across the devices of a model group; load the model with "
                         "device='all' (or a list of devices) first")
    from .runner.execute import run as _run

    return _run(model, inputs, batch=batch, hw=hw, dims=dims, override=override)


def reference(source: Any, inputs: Any, *, override: Optional[dict] = None) -> Any:
    """Compute a model's outputs on the CPU from the .om bytes alone (any backend); returns `Outputs`.

    source: a path, bytes-like data or a loaded `Model`; inputs as for `Model.run`.
    `Outputs.fidelity` says how far to trust the values: "computed" (every op from the file),
    "approximate" (something guessed or solved from shapes) or "placeholder" (some op cannot
    be computed; the values are not the model's); `Outputs.notes` names each op and what was
    guessed or missing. override: ``{"op_name:index" (or "op_name"): array}`` replaces those op
    outputs (random or custom ops, probes); unknown names, shapes or dtypes are refused.
    """
    from .cpuref import reference as _reference

    return _reference(source, inputs, override=override)


def coverage(source: Any) -> Any:
    """What `reference` can compute for a model, without running it: a `Coverage` whose
    `summary` reads "computed", "approximate: 12 ops guessed" or "placeholder: FrameworkOp ..."."""
    from .cpuref import coverage as _coverage

    return _coverage(source)


def compare(model: Union[Model, str, int], inputs: Any = None, *, source: Any = None) -> Any:
    """Run a loaded model on its device and through `reference`; a `Comparison` with, per output,
    max abs / rel error, mean abs error, cosine similarity, argmax agreement and NaN / Inf counts.
    Random inputs unless given. source: the .om path or bytes, for a model loaded from a buffer on
    real hardware (ACL keeps no copy the reference could read). A `ModelGroup` (or its name)
    compares its first loaded copy: the copies are one model, loaded from the same bytes."""
    from .comparison import compare as _compare

    group = _group_of(model)
    if group is not None:
        live = [m for m in group if m.loaded]
        if not live:
            raise ValueError(f"group {group.name!r} has no copy loaded; load it again with "
                             "acl_notebook.load(source, device=...)")
        model = live[0]
    return _compare(model, inputs, source=source)


def random_inputs(model: Union[Model, str, int], *, batch: Optional[int] = None,
                  hw: Optional[tuple[int, int]] = None, dims: Optional[tuple[int, ...]] = None,
                  seed: Optional[int] = None) -> dict:
    """Random numpy inputs (name -> array) matching a model's descriptors at a gear (the one
    given, else the largest)."""
    from .runner.execute import resolve
    from .runner.inputs import random_inputs as _random

    group = _group_of(model)
    return _random(group[0] if group is not None else resolve(model), batch=batch, hw=hw, dims=dims, seed=seed)


def bench(model: Union[Model, str, int], n: int = 100, warmup: int = 5, *, inputs: Any = None,
          batch: Optional[int] = None, hw: Optional[tuple[int, int]] = None,
          dims: Optional[tuple[int, ...]] = None) -> Any:
    """Time `n` runs after `warmup` unrecorded ones (random inputs unless given); returns a
    `BenchResult` with msame/ais_bench-style figures in milliseconds.

    A `ModelGroup` (or its name) is benchmarked on all its devices at once, one thread per
    device in its own context: a `FleetBench` with per-device figures and the summary."""
    group = _group_of(model)
    if group is not None:
        return group.bench(n, warmup, inputs=inputs, batch=batch, hw=hw, dims=dims)
    from .runner.bench import bench as _bench

    return _bench(model, n, warmup, inputs=inputs, batch=batch, hw=hw, dims=dims)
