"""The kernel's ACL session: one runtime, one context per device, a registry of models.

ACL asks that a model be loaded, queried, executed and unloaded in the same context, and
that the caller check device memory before loading. A notebook kernel calls us from the
main thread, from widget callbacks and from timers, so every backend call here goes
through `_use(device)`, which makes the session's context for that device current on the
calling thread first. State changes happen under one lock and only after the runtime
said yes, so a failed call leaves every loaded model loaded and the registry as it was.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Optional, Union

from ._rich import _repr_html_, _repr_pretty_
from .history import PROGRAM_BUFFERS, MemoryHistory, MemorySample
from .hostbuf import HostMemoryError, open_source, shown_path
from .hostmemory import HostMemory
from .hostmemory import read as read_host_memory
from .om.errors import OMFormatError
from .om.model import MAX_BYTES, DynamicInfo, MemoryNeeds, ModelInfo, TensorDesc
from .om.reader import read
from .runtime.base import Backend, MemAttr, RunMode, Utilization
from .runtime.errors import (
    ACL_ERROR_GE_EXEC_MODEL_ID_INVALID,
    ACL_ERROR_INVALID_PARAM,
    ACL_ERROR_RT_SOC_VERSION,
    AclError,
)

log = logging.getLogger("acl_notebook")

BACKENDS = ("auto", "sim", "acl")
#: Seconds: loads and unloads closer together than this share one memory sample (a plot
#: cannot show a shorter step, and a loop of loads would flood the bounded history).
SAMPLE_SPACING = 0.02


# --------------------------------------------------------------------------------------
# Errors a user can meet
# --------------------------------------------------------------------------------------
class DeviceMemoryError(RuntimeError):
    """The pre-check refused a load: the model needs more device memory than is free."""

    def __init__(self, model_name: str, device: int, needed: int, free: int, total: int,
                 candidates: tuple[tuple[str, int], ...], host: str = "") -> None:
        from .units import human_bytes as hb

        self.model_name, self.device, self.host = model_name, device, host
        self.needed, self.free, self.total = needed, free, total
        self.candidates = candidates
        if candidates:
            names = ", ".join(f"{n} ({hb(b)})" for n, b in candidates)
            todo = f"unload {names} to make room, or pass force=True (--force) to try anyway"
        else:
            todo = (f"unloading every model would not make room (device total {hb(total)}); "
                    "use a device with more memory or a smaller model")
        super().__init__(
            f"model {model_name!r} needs {hb(needed)} of device memory but device {device}"
            f"{f' on host {host}' if host else ''} has "
            f"{hb(free)} free of {hb(total)}; {todo}"
        )

    def __reduce__(self) -> tuple:
        # Crosses process boundaries intact (a cluster worker's refusal reaches the kernel).
        return (type(self), (self.model_name, self.device, self.needed, self.free, self.total,
                             self.candidates, self.host))

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_


class ModelNotFoundError(KeyError):
    """No loaded model matches the name or id given."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "model not found"


class SessionBusyError(RuntimeError):
    """A configuration change needs a fresh runtime but models are still loaded."""


# --------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------
class Model:
    """A model loaded on a device through the session.

    `inputs`, `outputs` and `dynamic` are what the runtime reports (`aclmdlGetDesc`);
    `info` is our own reading of the bytes, which adds what ACL does not tell (SoC, ATC
    version, op count). `memory` is the device memory charged (work + weight).
    """

    def __init__(self, session: Session, model_id: int, name: str, device: int, info: ModelInfo,
                 inputs: tuple[TensorDesc, ...], outputs: tuple[TensorDesc, ...], dynamic: DynamicInfo,
                 needs: MemoryNeeds, source: str, load_seconds: float, backend: str,
                 origin: str = "", context: Optional[int] = None) -> None:
        self._session = session
        self.id = model_id
        self.name = name
        self.device = device
        self.info = info
        self.inputs = inputs
        self.outputs = outputs
        self.dynamic = dynamic
        self.needs = needs
        #: device bytes of the I/O buffers (allocated at the first run, freed at unload)
        self.io_bytes = 0
        self._io: Any = None  # session_io.ModelIO once the model has run
        self._run_lock = threading.Lock()  # ACL: one model id is never executed by two threads at once
        self.source = source
        self.loaded_at = datetime.now(timezone.utc)
        self.load_seconds = load_seconds
        self.backend = backend
        self.loaded = True
        #: Set when loading this model decided the simulated SoC (``soc="auto"``): said once.
        self.soc_note = ""
        self.group: Optional[str] = None  # the ModelGroup this copy belongs to (a multi-device load)
        #: who loaded it: "" for the session itself, "pyACL" for a program using the pyACL image
        self.origin = origin
        #: the context it was loaded in, when that is not the session's (a program's own)
        self.context = context
        #: device memory the program allocated and ran this model with (part of `memory`)
        self.program_io = 0
        #: what the runtime itself charged for the model (work + weight, less memory the
        #: program supplied to a load_*_with_mem)
        self.runtime_charge = needs.total
        #: Other names that find this model: the name stored in the file, the file's stem.
        self.aliases: tuple[str, ...] = ()

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    @property
    def memory(self) -> int:
        """Device memory charged to the model: what the runtime took for it (work + weight),
        plus its I/O buffers (the session's, allocated at the first run, or a program's)."""
        return self.runtime_charge + self.program_io + self.io_bytes

    def unload(self) -> Model:
        """Unload this model (same as ``acl_notebook.unload(model)``)."""
        return self._session.unload(self)

    def run(self, inputs: Any = None, *, batch: Optional[int] = None, hw: Optional[tuple[int, int]] = None,
            dims: Optional[tuple[int, ...]] = None, override: Any = None) -> Any:
        """Run the model on numpy inputs and return its `Outputs` (see `acl_notebook.run`)."""
        from .runner.execute import run

        return run(self, inputs, batch=batch, hw=hw, dims=dims, override=override)

    def __call__(self, inputs: Any = None, **gear: Any) -> Any:
        """``m(x)`` is ``m.run(x)``."""
        return self.run(inputs, **gear)

    def __repr__(self) -> str:
        state = "" if self.loaded else ", unloaded"
        return f"<Model {self.name!r} id={self.id} device={self.device} memory={self.memory}{state}>"


class ModelList(tuple):
    """The loaded models, in load order."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    def __repr__(self) -> str:
        return f"ModelList({list(self)!r})"


@dataclass(frozen=True)
class ModelShare:
    name: str
    id: int
    bytes: int


@dataclass(frozen=True)
class MemoryReport:
    """Device memory as `aclrtGetMemInfo` reports it, split by loaded model."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    device: int
    kind: str
    total: int
    free: int
    used: int
    models: tuple[ModelShare, ...]
    other: int
    soc: str
    backend: str
    timestamp: float
    #: device memory pyACL programs allocated that no loaded model has run with (yet)
    programs: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SessionInfo:
    """What `acl_notebook.info()` reports: backend, library, versions, SoC, devices, run mode."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_
    backend: str
    simulated: bool
    library: str
    acl_version: str
    cann_version: str
    soc: str
    device_count: int
    device: int
    run_mode: str
    memory_kind: str
    models_loaded: int
    buffers: str = ""
    note: str = ""
    soc_source: str = ""  # how the simulated SoC was chosen (auto / configured); "" on hardware
    memory_total: int = 0  # bytes aclrtGetMemInfo reports as total on the default device
    #: Host memory the kernel may still take (`hostmemory.HostMemory`): runs, inputs and the
    #: CPU reference live there, and in a container its limit, not the node's RAM, bounds it.
    host_memory: Optional[HostMemory] = None
    #: What `configure` changed, as (setting, before, after); None when nothing was asked.
    changed: Optional[tuple[tuple[str, str, str], ...]] = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Config:
    backend: str = "auto"
    soc: Optional[str] = None
    device: int = 0
    library: Optional[str] = None
    memory: Optional[int] = None
    devices: Optional[int] = None

    # Fields whose change needs a fresh runtime (the device id does not).
    RESTART = ("backend", "soc", "library", "memory", "devices")


def _default_config() -> Config:
    backend = os.environ.get("ACL_NOTEBOOK_BACKEND", "auto").strip().lower() or "auto"
    soc = os.environ.get("ACL_NOTEBOOK_SOC", "").strip() or None
    if soc is not None and soc.lower() == "auto":
        soc = None
    return Config(backend=backend if backend in BACKENDS else "auto", soc=soc)


# --------------------------------------------------------------------------------------
# The session
# --------------------------------------------------------------------------------------
def _keeps_caller_context(method: Callable) -> Callable:
    """Session calls make the session's context current on the calling thread (`_use`).
    A program on that thread that manages its own contexts (pyACL) expects its context
    back afterwards, as ACL would keep it; this restores it when the method returns."""
    @functools.wraps(method)
    def wrapper(self: Session, *args: Any, **kwargs: Any) -> Any:
        backend = self._backend
        before = _current_or_none(backend)
        try:
            return method(self, *args, **kwargs)
        finally:
            if before is not None and self._backend is backend and before not in self._contexts.values():
                _quietly(backend.set_current_context, before)
    return wrapper


def _current_or_none(backend: Optional[Backend]) -> Optional[int]:
    if backend is None:
        return None
    try:
        return backend.get_current_context()
    except Exception:
        return None


class Session:
    """Owns the runtime for this process (a notebook kernel). Use `get_session()`."""

    def __init__(self, config: Optional[Config] = None) -> None:
        self.config = config or _default_config()
        self.history = MemoryHistory(flush=self._flush_samples)
        self._sampled_at: dict[int, float] = {}  # device -> time.monotonic() of its last sample
        self._unsampled: dict[int, float] = {}  # device -> time.time() of a change not yet sampled
        self._lock = threading.RLock()
        self._backend: Optional[Backend] = None
        self._we_initialised = False
        self._contexts: dict[int, int] = {}
        self._models: dict[int, Model] = {}
        self._subscribers: list[Callable[[str, Any], None]] = []
        self._note = ""
        self._soc = ""
        self._device_count = 0
        self._atexit = False
        self._exit_hook = True  # shut down in an atexit hook (see `shutdown_at_exit`)
        self._program_allocs: dict[int, Any] = {}  # ptr -> programs.ProgramAlloc
        self._bridge: Any = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def device_count(self) -> int:
        """How many devices the runtime reports (starts the session)."""
        self.start()
        return self._device_count

    @property
    def started(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> Backend:
        backend = self._backend
        if backend is None:
            self.start()
            backend = self._backend
            assert backend is not None
        return backend

    def start(self) -> None:
        """aclInit, set the default device and create the kernel's context (once)."""
        if self._backend is not None:  # started: no lock needed to see it (set once per start)
            return
        with self._lock:
            if self._backend is not None:
                return
            backend, note = self._make_backend()
            we_init = backend.init()
            try:
                count = backend.device_count()
                device = self.config.device
                if not 0 <= device < count:
                    raise ValueError(f"device {device} does not exist; this machine has devices 0..{count - 1}")
                backend.set_device(device)
                ctx = backend.create_context(device)
            except BaseException:
                if we_init:
                    _quietly(backend.finalize)
                raise
            self._backend, self._we_initialised, self._note = backend, we_init, note
            self._contexts = {device: ctx}
            self._device_count = count
            self._soc = backend.soc_name()
            if not self._atexit and self._exit_hook:
                atexit.register(self.shutdown)
                self._atexit = True
        self.sample(self.config.device)

    def _make_backend(self) -> tuple[Backend, str]:
        cfg = self.config
        if cfg.backend in ("auto", "acl"):
            from .runtime.library import find_library

            path = find_library(cfg.library)
            if path or cfg.backend == "acl":
                from .runtime.acl import AclBackend

                try:
                    backend = AclBackend(path or cfg.library)  # found once, not searched again
                except Exception as exc:
                    if cfg.backend == "acl":
                        raise
                    return self._simulator(), f"found {path} but could not load it ({exc}); using the simulator"
                ignored = [k for k in ("soc", "memory", "devices") if getattr(cfg, k) not in (None, "auto")]
                note = f"simulator-only settings ignored on real hardware: {', '.join(ignored)}" if ignored else ""
                return backend, note
            return self._simulator(), "no CANN installation found (set ASCEND_HOME_PATH to use a real NPU)"
        return self._simulator(), "simulator selected by configuration"

    def _simulator(self) -> Backend:
        from .runtime.simulator import SimulatorBackend
        from .runtime.socs import DEFAULT_SOC

        cfg = self.config
        return SimulatorBackend(cfg.soc or DEFAULT_SOC, memory=cfg.memory, devices=cfg.devices)

    def shutdown_at_exit(self, enabled: bool) -> None:
        """Whether the session shuts itself down in an atexit hook (the default, for a kernel).

        The pyACL runner turns it off and shuts the session down itself once the program's
        module is gone: on a device ACL stays up until the process ends, so a wrapper's
        ``__del__`` at exit still unloads its model and frees its memory, which an earlier
        shutdown would refuse with 100001."""
        self._exit_hook = bool(enabled)
        if not enabled and self._atexit:
            atexit.unregister(self.shutdown)
            self._atexit = False
        elif enabled and self.started and not self._atexit:
            atexit.register(self.shutdown)
            self._atexit = True

    def shutdown(self) -> list[Model]:
        """Unload every model (freeing its I/O buffers), destroy the contexts, reset devices,
        aclFinalize if we did aclInit. Returns the models it unloaded (so `%unload_ext` can
        say which)."""
        with self._lock:
            pending = list(self._models.values())
        # Lock order is always run lock, then session lock: wait for runs in flight (bounded,
        # so a stuck run cannot hang the kernel's exit).
        held = [m for m in pending if m._run_lock.acquire(timeout=10)]
        try:
            return self._shutdown_locked()
        finally:
            for m in held:
                m._run_lock.release()

    def _shutdown_locked(self) -> list[Model]:
        with self._lock:
            backend = self._backend
            if backend is None:
                return []
            unloaded = list(self._models.values())
            for model in unloaded:
                _quietly(self._enter_model_context, model)
                _quietly(self._close_io, model)
                _quietly(backend.unload, model.id)
                model.loaded = False
            self._models.clear()
            self._program_allocs.clear()  # the runtime that held them is going away
            for device, ctx in self._contexts.items():
                _quietly(backend.destroy_context, ctx)
                _quietly(backend.reset_device, device)
            if self._we_initialised:
                _quietly(backend.finalize)
            self._backend, self._contexts, self._we_initialised = None, {}, False
            self._unsampled, self._sampled_at = {}, {}  # of the runtime that is gone
        for model in unloaded:
            self._emit("unload", model)
        return unloaded

    @_keeps_caller_context
    def configure(self, **changes: Any) -> SessionInfo:
        """Change settings; a change of backend/SoC/memory/devices/library restarts the runtime."""
        changes = {k: v for k, v in changes.items() if v is not None}
        new = replace(self.config, **_validated(changes))
        with self._lock:
            restart = self.started and any(getattr(new, k) != getattr(self.config, k) for k in Config.RESTART)
            if restart and self._models:
                names = ", ".join(m.name for m in self._models.values())
                raise SessionBusyError(
                    f"{len(self._models)} model(s) are loaded ({names}); unload them first "
                    "(acl_notebook.unload_all() or %acl_unload --all), then reconfigure"
                )
            old = self.config
            # Before the first start there is no device to ask: compare what was asked for.
            before = self._effective() if self.started else _configured(old, changes)
            if restart:
                self.shutdown()
                self.history.clear()  # samples of the old device would mislead the plot
            self.config = new
            try:
                self.start()
                if new.device != old.device:
                    self._check_device(new.device)
            except BaseException:
                if restart or not self.started:
                    self.shutdown()
                self.config = old
                raise
            after = self._effective()
            diff = tuple((k, before[k], after[k]) for k in after if k in before and before[k] != after[k])
            info = replace(self.info(), changed=diff if changes else None)
        self._emit("configure", info)
        return info

    def _effective(self) -> dict[str, str]:
        """The settings as the running session has them, as `configure` reports a change."""
        from .units import human_bytes

        self._use(self.config.device)
        total = self.backend.mem_info(self._mem_attr())[1]
        return {"backend": self.backend.kind, "library": self.backend.library, "soc": self._soc,
                "devices": str(self._device_count), "device": str(self.config.device),
                "memory": f"{human_bytes(total)} {self.memory_kind()}"}

    # -- context discipline ---------------------------------------------------------------
    def _check_device(self, device: Any) -> int:
        if isinstance(device, bool) or not isinstance(device, int):
            raise TypeError(f"device must be an int, got {device!r}")
        if not 0 <= device < self._device_count:
            raise ValueError(f"device {device} does not exist; valid devices are 0..{self._device_count - 1}")
        return device

    def _use(self, device: int) -> int:
        """Make the session's context for `device` current on this thread (create it once)."""
        backend = self.backend
        ctx = self._contexts.get(device)
        if ctx is None:
            backend.set_device(device)
            ctx = backend.create_context(device)
            self._contexts[device] = ctx
        else:
            backend.set_current_context(ctx)
        return ctx

    def _enter_model_context(self, model: Model) -> None:
        """Make the context `model` lives in current: the session's, or the program's own
        for a model a program loaded (ACL unloads only from the loading context)."""
        if model.context is None:
            self._use(model.device)
        else:
            self.backend.set_current_context(model.context)

    # -- models ------------------------------------------------------------------------
    @_keeps_caller_context
    def load(self, source: Any, *, name: Optional[str] = None, device: Optional[int] = None,
             force: bool = False, priority: Optional[int] = None, label: Optional[str] = None,
             group: Optional[str] = None, filename: Optional[str] = None) -> Model:
        """Load a model from memory (path -> mmap, buffers as they are) after the memory pre-check.

        group: the name of the multi-device load this copy belongs to (see `group.py`).
        The name rule is the same for a path and for bytes that came from a file (`filename`,
        as the panel's upload gives): the file's stem, made unique. Bytes with no file are
        named by the name stored in the model. The other of the two names is an alias.
        """
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise TypeError(f"priority must be an int, got {priority!r}")
        with open_source(source) as buf:
            parsed = read(buf, keep=True)  # bad bytes are refused before the device is touched
            info = parsed.info
            with self._lock, _handed(self.backend, parsed):  # parse once per load
                dev = self._check_device(self.config.device if device is None else device)
                if filename is None and isinstance(source, (str, os.PathLike)):
                    filename = os.fspath(source)
                stem = file_stem(filename) if filename else ""
                model_name = self._unique_name(name, stem or info.name or "model")
                backend = self.backend
                needs = self._precheck(buf.view, info, dev, model_name, force)
                changed = buf.changed()
                if changed:  # the runtime would read past the end of the file: SIGBUS
                    raise OMFormatError(f"{shown_path(buf.label)}: {changed} before it was loaded; load it again")
                t0 = time.perf_counter()
                try:
                    if priority is None:
                        model_id = backend.load_from_mem(buf.view)
                    else:
                        model_id = backend.load_with_config(buf.view, priority)
                except AclError as exc:
                    if exc.code != ACL_ERROR_RT_SOC_VERSION or backend.kind != "sim":
                        raise
                    raise AclError(exc.code, exc.call, exc.detail,
                                   self._soc_refusal_hint(info.soc_version)) from None
                seconds = time.perf_counter() - t0
                try:
                    desc = backend.get_desc(model_id)
                except BaseException:
                    _quietly(backend.unload, model_id)
                    raise
                model = Model(self, model_id, model_name, dev, info, desc.inputs, desc.outputs,
                              _with_parsed_extras(desc.dynamic, info.dynamic, desc.inputs), needs,
                              label or buf.label,
                              seconds, backend.kind)
                model.soc_note = self._soc_decided(model)
                model.group = group
                model.aliases = tuple(dict.fromkeys(a for a in (info.name, stem) if a and a != model_name))
                self._models[model_id] = model
                self._memory_changed(dev)
        self._emit("load", model)
        return model

    def _precheck(self, view: memoryview, info: ModelInfo, device: int, model_name: str, force: bool) -> MemoryNeeds:
        """aclmdlQuerySizeFromMem + aclrtGetMemInfo in `device`'s context; refuse what does not fit."""
        self._use(device)
        work, weight = _sizes("aclmdlQuerySizeFromMem", "work size", "weight size", *self.backend.query_size(view))
        needs = MemoryNeeds(work=work, weight=weight, zero_copy=info.memory.zero_copy)
        if force:  # the check is skipped, so is asking for the numbers it compares
            return needs
        free, total = self._mem_info()
        if needs.total > free:
            raise DeviceMemoryError(model_name, device, needs.total, free, total,
                                    self._candidates(device, needs.total - free))
        return needs

    def check_fits(self, source: Any, device: int, name: str = "model") -> MemoryNeeds:
        """The load pre-check alone (nothing is loaded): what a multi-device load runs on
        every device first, so a refusal on one device loads nothing anywhere."""
        with open_source(source) as buf:
            parsed = read(buf, keep=True)
            with self._lock, _handed(self.backend, parsed):
                self.start()
                return self._precheck(buf.view, parsed.info, self._check_device(device), name, False)

    def _unique_name(self, name: Optional[str], default: str) -> str:
        taken = {m.name: m.id for m in self._models.values()}
        # a group's name stands for all its copies, so no single model may take it
        taken.update({m.group: m.id for m in self._models.values() if m.group})
        if name is not None:
            if name in taken:
                raise ValueError(f"a model named {name!r} is already loaded (id {taken[name]}); "
                                 "choose another name or unload it first")
            return name
        return unique_name(default, taken)

    # -- the simulated SoC (soc="auto") ----------------------------------------------------
    def _soc_auto(self) -> bool:
        return bool(getattr(self._backend, "auto", False))

    def _soc_decided(self, model: Model) -> str:
        """What to tell the user when this load decided the simulated SoC (else "")."""
        before, self._soc = self._soc, self.backend.soc_name()
        if not self._soc_auto():
            return ""
        if getattr(self._backend, "adopted_by", None) == model.id:  # happens once per decision
            was = f" (it was {_an(before)})" if before != self._soc else ""
            return (f"the simulator became {_an(self._soc)}{was}, the SoC this model was built for "
                    "(soc auto); other SoC families are refused until it is unloaded")
        if not self._models and not model.info.soc_version:
            return (f"this model names no SoC: it runs on the simulated {self._soc}; the first model "
                    "that names one still decides the device (soc auto)")
        return ""

    def _soc_source(self) -> str:
        backend = self._backend
        if backend is None or backend.kind != "sim":
            return ""
        if not self._soc_auto():
            return "set by configuration"
        owner = self._models.get(getattr(backend, "adopted_by", None) or -1)
        if owner is not None:
            return f"auto: adopted from model {owner.name!r}"
        return "auto: the first model that names a SoC decides"

    def _soc_refusal_hint(self, model_soc: str) -> str:
        """The fix for a 507008 on the simulator: its setting, not ATC."""
        soc = self._soc
        fix = (f"%acl_config --soc {model_soc} (acl_notebook.configure(soc={model_soc!r}))"
               if model_soc else "%acl_config --soc NAME")
        if self._soc_auto():
            owner = self._models.get(getattr(self._backend, "adopted_by", None) or -1)
            why = f"adopted from model {owner.name!r}" if owner is not None else "soc auto"
            names = ", ".join(m.name for m in self._models.values() if m.info.soc_version) or "the models"
            return (f"the simulated device is {_an(soc)} ({why}); unload {names} so the next model "
                    f"chooses the SoC, or choose it yourself after unloading: {fix}")
        return (f"the simulator imitates {_an(soc)} (set by configuration); unload the models, then "
                f"{fix}, or --soc auto to follow the models")

    def _candidates(self, device: int, shortfall: int, exclude: int = -1) -> tuple[tuple[str, int], ...]:
        """The fewest loaded models (largest first) whose unloading frees `shortfall` bytes."""
        chosen, freed = [], 0
        mine = (m for m in self._models.values() if m.device == device and m.id != exclude)
        for m in sorted(mine, key=lambda m: -m.memory):
            if freed >= shortfall:
                break
            chosen.append((m.name, m.memory))
            freed += m.memory
        return tuple(chosen) if freed >= shortfall else ()

    def find(self, target: Union[Model, str, int]) -> Model:
        """A loaded model by Model object, name, alias, or id (an int or a string of digits).

        A miss says what was meant when it can: the closest name or alias, or the model whose
        id was written as text ("#3", "id 3").
        """
        with self._lock:
            models = list(self._models.values())
            if isinstance(target, Model):
                found = self._models.get(target.id)
                if found is target:
                    return found
                label = target.name
            elif isinstance(target, int) and not isinstance(target, bool):
                if target in self._models:
                    return self._models[target]
                label = target
            elif isinstance(target, str):
                key = target.strip()
                for m in models:
                    if m.name == key:
                        return m
                if key.isdigit() and int(key) in self._models:
                    return self._models[int(key)]
                by_alias = [m for m in models if key in m.aliases]
                if len(by_alias) == 1:
                    return by_alias[0]
                if by_alias:
                    several = ", ".join(f"{m.name} (id {m.id})" for m in by_alias)
                    raise ModelNotFoundError(f"{key!r} names several loaded models ({several}); "
                                             "give the name or the id")
                label = target
            else:
                raise TypeError(f"expected a Model, a name or an id, got {type(target).__name__}")
            raise ModelNotFoundError(_not_loaded(label, models))

    @_keeps_caller_context
    def unload(self, target: Union[Model, str, int]) -> Model:
        model = self.find(target)
        with model._run_lock:  # never under a run in flight (lock order: run lock, session lock)
            return self._unload_locked(model)

    def _unload_locked(self, model: Model) -> Model:
        with self._lock:
            model = self.find(model)
            self._enter_model_context(model)
            _quietly(self._close_io, model)  # best effort: the unload itself must still happen
            try:
                self.backend.unload(model.id)
            except AclError as exc:
                if exc.code != ACL_ERROR_GE_EXEC_MODEL_ID_INVALID:
                    raise
                # The runtime no longer knows it: drop our stale entry so the two agree.
                log.warning("model %s (id %s) was already gone from the runtime", model.name, model.id)
            del self._models[model.id]
            model.loaded = False
            self._memory_changed(model.device)
        self._emit("unload", model)
        return model

    def unload_all(self) -> int:
        with self._lock:
            targets = list(self._models.values())
        for model in targets:
            self.unload(model)
        return len(targets)

    def models(self) -> ModelList:
        with self._lock:
            return ModelList(self._models.values())

    # -- programs that drive ACL themselves (see programs.py) -------------------------------
    def programs(self) -> Any:
        """The `ProgramBridge`: pass-through and registry hooks for pyACL programs."""
        with self._lock:
            if self._bridge is None:
                from .programs import ProgramBridge

                self._bridge = ProgramBridge(self)
            return self._bridge

    def _adopt(self, model_id: int, view: memoryview, source: str, context: Optional[int], device: int,
               origin: str, user_memory: int = 0) -> Model:
        """Register a model a program loaded itself (its load already succeeded)."""
        from .om.reader import parse

        info = parse(view)
        with self._lock:
            backend = self.backend
            desc = backend.get_desc(model_id)
            needs = MemoryNeeds(work=info.memory.work, weight=info.memory.weight, zero_copy=info.memory.zero_copy)
            name = self._unique_name(None, info.name or "model")
            model = Model(self, model_id, name, device, info, desc.inputs, desc.outputs,
                          _with_parsed_extras(desc.dynamic, info.dynamic), needs, source, 0.0, backend.kind,
                          origin=origin, context=context)
            model.runtime_charge = max(needs.total - user_memory, 0)
            self._models[model_id] = model
            self._refresh_program_model(model_id)
            _quietly(self._sample_locked, device)
        self._emit("load", model)
        return model

    def _forget(self, model_id: int) -> None:
        """A program unloaded `model_id` itself: the registry follows the runtime."""
        with self._lock:
            model = self._models.pop(model_id, None)
            if model is None:
                return
            model.loaded = False
            for alloc in self._program_allocs.values():
                if alloc.model_id == model_id:
                    alloc.model_id = None  # still allocated: the program's buffers again
            _quietly(self._sample_locked, model.device)
        self._emit("unload", model)

    def _refresh_program_model(self, model_id: int) -> None:
        """Recompute what a model is charged: work + weight + the program buffers it ran with."""
        model = self._models.get(model_id)
        if model is None:
            return
        model.program_io = sum(a.charge for a in self._program_allocs.values() if a.model_id == model_id)

    # -- running ------------------------------------------------------------------------
    @_keeps_caller_context
    def execute(self, model: Model, host_inputs: Any, gear: Optional[tuple[int, ...]],
                make_output: Callable[[int, tuple[int, ...]], tuple[int, int]],
                override: Optional[dict] = None) -> tuple[Any, Any]:
        """One run of a loaded model: ``(RunRecord, ExecutionReport or None)``.

        `host_inputs` is (address, bytes) per user input in model order; `make_output(j,
        dims)` gives (address, capacity) of host memory for output j. The model's I/O
        buffers are allocated at its first run (pre-checked like a load) and reused. Runs
        of one model are serialised by its run lock; the session's context is made current
        on the calling thread first. `override` (simulator only) replaces op outputs in the
        simulator's CPU reference for this run; it is checked before anything executes."""
        first = False
        with model._run_lock:
            with self._lock:
                model = self.find(model)
                self._enter_model_context(model)
                io = model._io
                if io is None:
                    io = self._open_io(model)
                    first = True
                backend = self.backend
            if override is not None:
                backend.set_next_override(model.id, override)
            try:
                record = io.run(host_inputs, gear, make_output)
            finally:
                if override is not None:
                    backend.set_next_override(model.id, None)
            report = backend.last_execution()
        if first:
            with self._lock:
                self._sample_locked(model.device)
            self._emit("io", model)
        return record, report

    def reference_of(self, model: Model) -> Any:
        """The simulator's CPU reference record of `model` (``interpreter()``, ``problem``); None on acl."""
        with self._lock:
            model = self.find(model)
            return self.backend.reference_of(model.id)

    def _open_io(self, model: Model) -> Any:
        """Allocate the model's I/O buffers after the same pre-check as a load."""
        from .runtime.base import RunMode
        from .session_io import ModelIO, io_charge

        need = io_charge(model)
        free, total = self.backend.mem_info(self._mem_attr())
        if need > free:
            raise DeviceMemoryError(f"{model.name} (I/O buffers)", model.device, need, free, total,
                                    self._candidates(model.device, need - free, exclude=model.id))
        io = ModelIO(self.backend, model, rc=self.backend.run_mode() == RunMode.DEVICE)
        model._io, model.io_bytes = io, io.charge
        return io

    def _close_io(self, model: Model) -> None:
        io, model._io = model._io, None
        model.io_bytes = 0
        if io is not None:
            io.close()

    # -- memory ------------------------------------------------------------------------
    def memory_kind(self) -> str:
        profile = getattr(self._backend, "profile", None)
        if profile is not None:
            return profile.memory_kind
        return "DDR" if self._soc.startswith("Ascend310") else "HBM"

    def _mem_attr(self) -> MemAttr:
        """The memory kind this device really has: HBM on A2/A3, DDR on 310P/310B."""
        return MemAttr.DDR if self.memory_kind() == "DDR" else MemAttr.HBM

    @_keeps_caller_context
    def memory(self, device: Optional[int] = None) -> MemoryReport:
        with self._lock:
            self.start()
            dev = self._check_device(self.config.device if device is None else device)
            self._use(dev)
            free, total = self._mem_info()
            shares = tuple(ModelShare(m.name, m.id, m.memory) for m in self._models.values() if m.device == dev)
            programs = self._loose_program_bytes(dev)
            used = total - free
            return MemoryReport(dev, self.memory_kind(), total, free, used, shares,
                                max(used - sum(s.bytes for s in shares) - programs, 0), self._soc,
                                self.backend.kind, time.time(), programs=programs)

    def _mem_info(self) -> tuple[int, int]:
        """aclrtGetMemInfo for the current device, refused when the sizes cannot be true."""
        free, total = _sizes("aclrtGetMemInfo", "free", "total", *self.backend.mem_info(self._mem_attr()))
        if free > total:
            raise AclError(ACL_ERROR_INVALID_PARAM, "aclrtGetMemInfo",
                           f"the runtime reports {free} bytes free of {total}: more free than exists")
        return free, total

    def _loose_program_bytes(self, device: int) -> int:
        """Device memory programs allocated that no loaded model has run with."""
        return sum(a.charge for a in self._program_allocs.values()
                   if a.device == device and (a.model_id is None or a.model_id not in self._models))

    def _memory_changed(self, device: int) -> None:
        """Sample `device` after a load or unload, unless its last sample is under
        `SAMPLE_SPACING` old: then the change is sampled by the next reader of the history (or
        the next change after that), so a burst of loads costs one sample and cannot push
        the session's earlier history out of the bounded buffer."""
        if time.monotonic() - self._sampled_at.get(device, -SAMPLE_SPACING) >= SAMPLE_SPACING:
            _quietly(self._sample_locked, device)  # the load or unload has happened: never fail it now
        else:
            self._unsampled[device] = time.time()

    def _flush_samples(self) -> None:
        """Take the samples `_memory_changed` put off (the history calls this before every read,
        so when there are none this costs one check)."""
        if self._unsampled:
            self._take_put_off_samples()

    @_keeps_caller_context
    def _take_put_off_samples(self) -> None:
        with self._lock:
            pending, self._unsampled = self._unsampled, {}
            if self._backend is None:
                return
            for device, when in sorted(pending.items()):
                if device in self._contexts:  # never open a device just to sample it
                    _quietly(self._sample_at, device, when)

    def _sample_at(self, device: int, when: float) -> None:
        self._use(device)
        self._sample_locked(device, when)

    def _sample_locked(self, device: int, when: Optional[float] = None) -> MemorySample:
        """Record `device`'s memory now, stamped `when` (the time of the change it shows, for a
        sample put off by `_memory_changed`; else now)."""
        self._unsampled.pop(device, None)
        self._sampled_at[device] = time.monotonic()
        free, total = self._mem_info()
        per_model = {m.name: m.memory for m in self._models.values() if m.device == device}
        loose = self._loose_program_bytes(device)
        if loose:
            per_model[PROGRAM_BUFFERS] = loose
        sample = MemorySample(time.time() if when is None else when, device, total, free, total - free, per_model,
                              self._utilization_locked(device))
        self.history.add(sample)
        return sample

    def _utilization_locked(self, device: int) -> Optional[Utilization]:
        try:
            util = self.backend.utilization(device)
        except AclError as exc:  # e.g. a virtual instance or profiling on: no figures, no failure
            log.debug("utilisation of device %s not available: %s", device, exc)
            return None
        return util if util is not None and util.known else None

    def utilization(self, device: Optional[int] = None) -> Optional[Utilization]:
        """AI Core / Vector / AI CPU utilisation of a device, or None where the runtime
        cannot say (older CANN without aclrtGetDeviceUtilizationRate)."""
        with self._lock:
            self.start()
            dev = self._check_device(self.config.device if device is None else device)
            return self._utilization_locked(dev)

    def open_devices(self) -> tuple[int, ...]:
        """Devices this session holds a context on (queried without opening any other)."""
        with self._lock:
            return tuple(sorted(self._contexts))

    @_keeps_caller_context
    def sample(self, device: Optional[int] = None) -> MemorySample:
        """Record one memory sample (the panel's timer calls this from its own thread)."""
        with self._lock:
            self.start()
            dev = self._check_device(self.config.device if device is None else device)
            self._use(dev)
            return self._sample_locked(dev)

    # -- info ----------------------------------------------------------------------------
    @_keeps_caller_context  # it asks the device for its memory total
    def info(self) -> SessionInfo:
        with self._lock:
            self.start()
            backend = self.backend
            versions = backend.versions()
            mode = backend.run_mode()
            if mode == RunMode.HOST:
                run_mode = "EP (ACL_HOST)"
                buffers = "model bytes stay in host memory, as aclmdlLoadFromMem requires in EP form"
            else:
                run_mode = "RC (ACL_DEVICE)"
                buffers = ("the kernel runs on the board's own CPU, whose DDR the NPU shares: "
                           "Python buffers are already device-visible memory")
            return SessionInfo(
                backend=backend.kind, simulated=backend.kind == "sim", library=backend.library,
                acl_version=versions.acl_api, cann_version=versions.cann, soc=self._soc,
                device_count=self._device_count, device=self.config.device, run_mode=run_mode,
                memory_kind=self.memory_kind(), models_loaded=len(self._models), buffers=buffers,
                note=self._note, soc_source=self._soc_source(), memory_total=self._default_total(),
                host_memory=read_host_memory(),
            )

    def _default_total(self) -> int:
        self._use(self.config.device)
        return self.backend.mem_info(self._mem_attr())[1]

    # -- events ----------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[str, Any], None]) -> Callable[[], None]:
        """Call `callback(event, payload)` after every load, unload and configure."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: str, payload: Any) -> None:
        if not self._subscribers:  # no panel open: a load or unload tells nobody
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event, payload)
            except Exception:  # a broken view must not break a load
                log.exception("acl_notebook subscriber failed on %s", event)


def _not_loaded(label: Any, models: list[Model]) -> str:
    """ "no loaded model 'x'; did you mean ...?; loaded: ..." for a `find` miss."""
    from .suggest import close_name, did_you_mean, id_in_text

    known = ", ".join(f"{m.name} (id {m.id})" for m in models) or "none"
    if isinstance(label, int):
        return f"no loaded model has id {label}; loaded: {known}"
    hint = ""
    as_id = id_in_text(str(label))
    by_id = next((m for m in models if m.id == as_id), None)
    if by_id is not None:
        hint = f" (did you mean id {by_id.id}, {by_id.name}? give the id as a bare number)"
    elif models:
        names = [m.name for m in models] + [a for m in models for a in m.aliases]
        hint = did_you_mean(close_name(str(label), names))
    return f"no loaded model {str(label)!r}{hint}; loaded: {known}"


def file_stem(filename: str) -> str:
    """A model's name from its file: ``"dir/resnet50.om"`` -> ``"resnet50"`` (any OS's slashes)."""
    base = os.path.basename(str(filename).replace("\\", "/"))
    return base[:-3] if base.lower().endswith(".om") and len(base) > 3 else base


def unique_name(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`... whichever is not taken: how a second load of the
    same model gets a distinct name."""
    taken = set(taken)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _validated(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - {"backend", "soc", "device", "library", "memory", "devices"}
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    out = dict(changes)
    if "backend" in out:
        b = str(out["backend"]).strip().lower()
        b = {"simulator": "sim", "ascend": "acl"}.get(b, b)
        if b not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {out['backend']!r}")
        out["backend"] = b
    if "soc" in out:
        from .runtime.socs import AUTO, get_profile

        out["soc"] = str(out["soc"]).strip()
        if out["soc"].lower() == AUTO:
            out["soc"] = None  # the default: the first model decides
        else:
            get_profile(out["soc"])  # raises with the list of known SoCs
    from .runtime.socs import MAX_DEVICES

    for key, most in (("memory", MAX_BYTES), ("devices", MAX_DEVICES)):
        if key in out:
            value = out[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{key} must be a positive int, got {value!r}")
            if value > most:  # a typo: refused before the runtime is rebuilt with it
                unit = " bytes (1 PiB)" if key == "memory" else " (simulated devices on one host)"
                raise ValueError(f"{key} must be at most {most}{unit}, got {value}")
    if "device" in out:
        value = out["device"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"device must be a non-negative int, got {value!r}")
    if "library" in out:
        out["library"] = os.fspath(out["library"])
    return out


def _with_parsed_extras(reported: DynamicInfo, parsed: DynamicInfo,
                        inputs: tuple[TensorDesc, ...] = ()) -> DynamicInfo:
    """The runtime's gears, plus what ACL has no getter for (shape order, dynamic output
    shapes) taken from our own parse when both agree on the gears.

    ACL reports a dims gear as every input's dims concatenated in shape order; we keep the
    -1 positions only (one value per dynamic axis), reading the order from our parse."""
    if reported.kind == "dims":
        from .runtime.gears import gear_from_full

        own = tuple(gear_from_full(inputs, parsed.shape_order, g) for g in reported.gears)
        if all(g is not None for g in own):
            reported = replace(reported, gears=own)  # type: ignore[arg-type]
    if reported.kind != parsed.kind or reported.gears != parsed.gears:
        return reported
    if (reported.shape_order or not parsed.shape_order) and (reported.output_shapes or not parsed.output_shapes):
        return reported  # nothing to add (a static model)
    return replace(reported, shape_order=reported.shape_order or parsed.shape_order,
                   output_shapes=reported.output_shapes or parsed.output_shapes)


def _configured(config: Config, asked: dict[str, Any]) -> dict[str, str]:
    """The settings `asked` for, as a not yet started session had them configured."""
    out = {"backend": config.backend, "soc": config.soc or "auto", "device": str(config.device),
           "library": config.library or "(searched)", "devices": str(config.devices or "(profile's)"),
           "memory": "(profile's)" if config.memory is None else str(config.memory)}
    return {k: v for k, v in out.items() if k in asked}


def _an(soc: str) -> str:
    """ "an Ascend310B4": every SoC name starts with a vowel, but say it right anyway."""
    return f"{'an' if soc[:1].lower() in 'aeiou' else 'a'} {soc}"
class _handed:
    """Offer the backend our parse for the duration of one load (so it parses once), and
    withdraw it after, so nothing of the model is kept alive by the offer. (A class, not a
    generator context manager: this is on every load's path.)"""

    __slots__ = ("backend",)

    def __init__(self, backend: Backend, parsed: Any) -> None:
        self.backend = backend
        backend.adopt_parse(parsed)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.backend.adopt_parse(None)


def _sizes(call: str, first: str, second: str, *values: Any) -> tuple[int, int]:
    """Two byte counts a runtime reported, refused when they cannot be true: negative, or
    beyond any device (a C size_t of -1 reads as 2**64-1), so accounting never goes wrong."""
    a, b = values
    if type(a) is int and type(b) is int and 0 <= a <= MAX_BYTES and 0 <= b <= MAX_BYTES:
        return a, b  # every load asks twice: the common case without the loop
    for what, value in zip((first, second), values):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BYTES:
            raise AclError(ACL_ERROR_INVALID_PARAM, call,
                           f"the runtime reported a {what} of {value!r} bytes, which no device has "
                           f"(at most {MAX_BYTES}); the model or the runtime is broken")
    return values[0], values[1]


def _quietly(fn: Callable, *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:  # teardown goes on whatever one step says
        log.debug("ignored during teardown: %s", exc)


_session: Optional[Session] = None
_session_lock = threading.Lock()


def get_session() -> Session:
    """The process's session (created on first use, started lazily)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = Session()
        return _session


__all__ = [
    "DeviceMemoryError", "HostMemoryError", "MemoryReport", "Model", "ModelList", "ModelNotFoundError",
    "ModelShare", "Session", "SessionBusyError", "SessionInfo", "get_session",
]

