"""Memory of many devices at once, as one value: what `acl.memory(device="all")`,
`acl.cluster.memory()`, the panel's device grid and the cluster view all show.

A cell is one device (of this host or of a cluster node); each model share carries a
`key`, the group it belongs to, so a model loaded on several devices is drawn in ONE
colour across them. The same type serves one host and many, so the display code and the
widgets have one shape to draw.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ._rich import _repr_html_, _repr_pretty_


@dataclass(frozen=True)
class CellShare:
    """One model's share of one device. `key` is its group (or its own name)."""

    name: str
    key: str
    bytes: int
    state: str = "loaded"  # "loaded" or "lost" (its device is gone)


@dataclass(frozen=True)
class DeviceCell:
    """One device: memory as `aclrtGetMemInfo` reports it and the models on it."""

    host: str
    device: int
    kind: str
    total: int
    free: int
    used: int
    models: tuple[CellShare, ...] = ()
    soc: str = ""
    state: str = "ok"  # "ok" or "lost"
    reason: str = ""  # why a lost device is lost

    @property
    def other(self) -> int:
        return max(self.used - sum(s.bytes for s in self.models if s.state == "loaded"), 0)


@dataclass(frozen=True)
class MemoryGrid:
    """Every device's memory, host by host, in one value (rendered as a grid of bars)."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    cells: tuple[DeviceCell, ...]
    title: str = "Device memory"
    backend: str = ""
    timestamp: float = field(default_factory=time.time)

    @property
    def hosts(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for c in self.cells:
            seen.setdefault(c.host, None)
        return tuple(seen)

    @property
    def keys(self) -> tuple[str, ...]:
        """Model keys in first-seen order: the colour order, stable across devices."""
        seen: dict[str, None] = {}
        for c in self.cells:
            for s in c.models:
                seen.setdefault(s.key, None)
        return tuple(seen)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.cells if c.state == "ok")

    @property
    def free(self) -> int:
        return sum(c.free for c in self.cells if c.state == "ok")

    @property
    def used(self) -> int:
        return sum(c.used for c in self.cells if c.state == "ok")

    def cell(self, device: int, host: Optional[str] = None) -> DeviceCell:
        for c in self.cells:
            if c.device == device and (host is None or c.host == host):
                return c
        raise KeyError(f"no device {device}{f' on host {host}' if host else ''} in this report")

    def to_dict(self) -> dict:
        return asdict(self)


def local_grid(session: Any, devices: tuple[int, ...], host: str = "") -> MemoryGrid:
    """The grid of this host's `devices` from the session's memory reports."""
    import socket

    host = host or socket.gethostname()
    groups = {m.name: (m.group or m.name) for m in session.models()}
    cells = []
    for d in devices:
        r = session.memory(d)
        shares = tuple(CellShare(s.name, groups.get(s.name, s.name), s.bytes) for s in r.models)
        cells.append(DeviceCell(host, d, r.kind, r.total, r.free, r.used, shares, r.soc))
    backend = session.info().backend
    return MemoryGrid(tuple(cells), title=f"Device memory on {host}", backend=backend)


__all__ = ["CellShare", "DeviceCell", "MemoryGrid", "local_grid"]
