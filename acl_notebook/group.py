"""One model on several devices of this host: `acl.load(source, device="all")`.

ACL loads a model into one device's context, so a multi-device load is N ordinary loads
of the same bytes (mapped once, never copied), one per device, each in that device's
context through the session. The group only remembers which `Model` sits on which device.

Failure rules, chosen so that a bad load never costs the user work already done:

- Every device is pre-checked (`aclmdlQuerySizeFromMem` + `aclrtGetMemInfo`) before any
  load. A device without room refuses with the usual `DeviceMemoryError`, naming that
  device, and nothing is loaded anywhere.
- A runtime failure during the loads themselves (after the pre-check passed) stops at the
  device that failed. The copies already loaded STAY loaded, as a partial group: a big
  model's copies on seven devices are not thrown away because the eighth failed. The
  `GroupLoadError` names the failing device and the ACL reason, and carries the partial
  group (`err.group`) so `err.group.unload()` drops it in one call. Models that were
  loaded before the call are never touched.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from ._rich import _repr_html_, _repr_pretty_
from .devices import parse_devices
from .hostbuf import open_source
from .session import Model, Session


class GroupLoadError(RuntimeError):
    """A device failed while loading a model group; the copies that loaded stay loaded."""

    def __init__(self, device: int, reason: BaseException, group: ModelGroup, pending: tuple[int, ...]) -> None:
        from .display import error_line

        self.device, self.reason, self.group, self.pending = device, reason, group, pending
        loaded = ", ".join(str(d) for d in group.devices) or "none"
        skipped = f"; not tried: {', '.join(map(str, pending))}" if pending else ""
        keep = (f"the copies on devices {loaded} stay loaded as group {group.name!r} "
                f"(unload them with acl_notebook.unload({group.name!r}) or %acl_unload {group.name})"
                if group.models else "nothing was loaded")
        super().__init__(f"device {device} refused {group.name!r}: {error_line(reason)}{skipped}; {keep}")


class ModelGroup:
    """The same model loaded on several devices: one `Model` per device, in device order.

    `group[i]` and iteration give the members; `group.on(device)` the copy on a device.
    """

    def __init__(self, session: Session, name: str, models: tuple[Model, ...]) -> None:
        self._session = session
        self.name = name
        self.models = models

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    # -- what it holds --------------------------------------------------------------------
    @property
    def devices(self) -> tuple[int, ...]:
        return tuple(m.device for m in self.models)

    @property
    def info(self) -> Any:
        return self.models[0].info if self.models else None

    @property
    def inputs(self) -> tuple:
        return self.models[0].inputs if self.models else ()

    @property
    def outputs(self) -> tuple:
        return self.models[0].outputs if self.models else ()

    @property
    def memory(self) -> int:
        """Device memory charged over all devices (loaded copies only)."""
        return sum(m.memory for m in self.models if m.loaded)

    @property
    def loaded(self) -> bool:
        return bool(self.models) and all(m.loaded for m in self.models)

    def on(self, device: int) -> Model:
        for m in self.models:
            if m.device == device:
                return m
        raise KeyError(f"group {self.name!r} has no copy on device {device}; it is on devices "
                       f"{', '.join(map(str, self.devices))}")

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[Model]:
        return iter(self.models)

    def __getitem__(self, index: int) -> Model:
        return self.models[index]

    # -- what it does ---------------------------------------------------------------------
    def unload(self) -> ModelGroup:
        """Unload every copy still loaded (each in its own device's context)."""
        for m in self.models:
            if m.loaded:
                self._session.unload(m)
        return self

    def _live(self) -> tuple[Model, ...]:
        gone = [m.device for m in self.models if not m.loaded]
        if gone or not self.models:
            where = ", ".join(map(str, gone)) or "any device"
            raise ValueError(f"group {self.name!r} is not loaded on {where}; load it again with "
                             f"acl_notebook.load(source, device=...)")
        return self.models

    def run(self, inputs: Any = None, *, split: bool = False, batch: Optional[int] = None,
            hw: Optional[tuple[int, int]] = None, dims: Optional[tuple[int, ...]] = None) -> Any:
        """Run on every device at once, one thread per device in its own context.

        split=False: the same `inputs` on every device; a `DeviceOutputs` (one `Outputs` per
        device). split=True: axis 0 of the inputs is cut into one shard per device, each run
        at the batch sizes the model accepts (its gears; a short tail is padded and trimmed
        again); a `SplitOutputs` with the outputs joined back in row order.
        """
        from .fanout import run_group

        gear = {k: v for k, v in (("batch", batch), ("hw", hw), ("dims", dims)) if v is not None}
        return run_group(self.name, self._live(), inputs, split=split, **gear)

    def bench(self, n: int = 100, warmup: int = 5, **options: Any) -> Any:
        """`acl_notebook.bench` on every device at once (see `FleetBench`)."""
        from .fanout import bench_group

        return bench_group(self.name, self._live(), n, warmup, **options)

    def __repr__(self) -> str:
        state = "" if self.loaded else ", not all loaded"
        return f"<ModelGroup {self.name!r} devices={list(self.devices)} memory={self.memory}{state}>"


def member_name(group: str, device: int) -> str:
    """How each copy is registered: `resnet50@0`, `resnet50@1`, ..."""
    return f"{group}@{device}"


def _group_name(session: Session, wanted: Optional[str], default: str, devices: tuple[int, ...]) -> str:
    taken = {m.name for m in session.models()}
    groups = {m.group for m in session.models() if m.group}

    def free(base: str) -> bool:
        return base not in groups and base not in taken and all(member_name(base, d) not in taken for d in devices)

    if wanted is not None:
        if not free(wanted):
            raise ValueError(f"the name {wanted!r} is already used by a loaded model or group; "
                             "choose another name or unload it first")
        return wanted
    base, n = default, 2
    while not free(base):
        base, n = f"{default}-{n}", n + 1
    return base


def load_group(session: Session, source: Any, devices: Any, *, name: Optional[str] = None, force: bool = False,
               priority: Optional[int] = None, label: Optional[str] = None) -> ModelGroup:
    """Load `source` on every device `devices` names ("all", "0-3", "0,2", [0, 2])."""
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    from .om.reader import parse

    with open_source(source) as buf:
        info = parse(buf.view)  # bad bytes are refused once, before any device is touched
        ids = parse_devices(devices, session.device_count)
        base = _group_name(session, name, info.name or "model", ids)
        if not force:
            for d in ids:  # every device says yes before any of them loads
                session.check_fits(buf.view, d, name=base)
        members: list[Model] = []
        for i, d in enumerate(ids):
            try:
                members.append(session.load(buf.view, name=member_name(base, d), device=d, force=force,
                                            priority=priority, label=label or buf.label, group=base))
            except Exception as exc:
                raise GroupLoadError(d, exc, ModelGroup(session, base, tuple(members)), ids[i + 1:]) from exc
    return ModelGroup(session, base, tuple(members))


def find_group(session: Session, name: str) -> Optional[ModelGroup]:
    """The loaded copies registered under group `name`, or None."""
    members = tuple(m for m in session.models() if m.group == name)
    return ModelGroup(session, name, members) if members else None


__all__ = ["GroupLoadError", "ModelGroup", "find_group", "load_group", "member_name"]
