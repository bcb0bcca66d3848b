"""Values the cluster returns: plain, frozen, picklable, rendered by `display.py`.

Workers send these back through Ray, so they hold only numbers and strings; nothing
here imports Ray.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .._rich import _repr_html_, _repr_pretty_


class ClusterError(RuntimeError):
    """A cluster call failed: no cluster, a lost device, or a worker's own error (it says
    which host and device)."""


class ClusterTimeoutError(ClusterError, TimeoutError):
    """A worker did not answer within the cluster's timeout; the kernel is not blocked."""


@dataclass(frozen=True)
class WorkerInfo:
    """Who a worker is: its host, its NPU (the physical id), its process and backend."""

    host: str
    device: int
    node_id: str
    pid: int
    backend: str
    soc: str
    total: int


@dataclass(frozen=True)
class RemoteModel:
    """One copy of a model on one worker's device."""

    name: str
    id: int
    host: str
    device: int
    memory: int
    inputs: int
    outputs: int
    load_seconds: float
    state: str = "loaded"  # "loaded", "unloaded" or "lost"


@dataclass(frozen=True)
class ClusterModel:
    """A model as the cluster holds it: one `RemoteModel` per device it was loaded on."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    name: str
    copies: tuple[RemoteModel, ...]

    @property
    def loaded(self) -> tuple[RemoteModel, ...]:
        return tuple(c for c in self.copies if c.state == "loaded")

    @property
    def lost(self) -> tuple[RemoteModel, ...]:
        return tuple(c for c in self.copies if c.state == "lost")

    @property
    def memory(self) -> int:
        return sum(c.memory for c in self.loaded)

    def to_dict(self) -> dict:
        return asdict(self)


class ClusterModels(tuple):
    """Every model of the cluster (`acl.cluster.models()`), in load order."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_


@dataclass(frozen=True)
class WorkerState:
    """One worker as the kernel last saw it."""

    host: str
    device: int
    state: str  # "ok" or "lost"
    reason: str
    pid: int
    backend: str
    soc: str
    models: tuple[str, ...]


class ClusterStatus(tuple):
    """Every worker's state (`acl.cluster.status()`): which devices are up, which are lost and why."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    @property
    def lost(self) -> tuple[WorkerState, ...]:
        return tuple(w for w in self if w.state != "ok")


def first_line(exc: Any, limit: int = 240) -> str:
    """A short reason from a long Ray error: the line that says why ("... because ..."),
    else its first line."""
    text = str(getattr(exc, "error_msg", "") or exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    why = next((ln for ln in lines if "because" in ln), lines[0])
    return why if len(why) <= limit else why[: limit - 3] + "..."


__all__ = ["ClusterError", "ClusterModel", "ClusterModels", "ClusterStatus", "ClusterTimeoutError",
           "RemoteModel", "WorkerInfo", "WorkerState", "first_line"]
