"""How much host memory this kernel may still take, and which limit says so: `acl.host_memory()`.

Runs, random inputs and the CPU reference fill host memory, and the host checks
(`hostbuf.host_shortfall`) refuse what would not fit. A user should see that room before a
refusal, and see it right: in a container (a 2 GiB mybinder.org pod on a 120 GiB node)
/proc/meminfo shows the node, while the kernel is OOM-killed at the pod's cgroup limit. So
this reads both, the same way the checks do (MemAvailable, and `cgroup.WATCH`), and keeps
both figures, so the display can say "container limit 2.0 GiB, 0.9 GiB in use" and what
the node shows beside it. Reading is cheap (one /proc/meminfo, a few cgroup files).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ._rich import _repr_html_, _repr_pretty_

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Optional

#: Where the host's figures come from (tests point it at a fake file).
MEMINFO = "/proc/meminfo"

#: What `HostMemory.limited_by` can be.
CONTAINER, HOST, UNKNOWN = "container", "host", "unknown"


@dataclass(frozen=True)
class HostMemory:
    """Host memory the kernel may still take (`available`) and what bounds it (`limited_by`).

    `available` is the smaller of the host's MemAvailable and what the container's memory
    cgroup leaves (its `limit` less what it has `in_use`); `limited_by` is "container" when
    the cgroup is the tighter (or the host's figure is unreadable), "host" when MemAvailable
    is, "unknown" when neither can be read (then `available` is None). `host_available` and
    `host_total` are /proc/meminfo's MemAvailable and MemTotal (None where unreadable);
    `limit` and `in_use` are None where no container limit applies.
    """

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    available: Optional[int]
    limited_by: str
    host_available: Optional[int] = None
    host_total: Optional[int] = None
    limit: Optional[int] = None
    in_use: Optional[int] = None

    @property
    def container(self) -> bool:
        """True when a container memory limit (cgroup) applies, tighter or not."""
        return self.limit is not None

    def to_dict(self) -> dict:
        return asdict(self)


def read() -> HostMemory:
    """The host's and the container's figures now (the cgroup usage read fresh)."""
    from . import cgroup
    from .hostbuf import meminfo

    host_total, host_available = meminfo(MEMINFO)
    room = cgroup.WATCH.room()
    limit = in_use = None
    if room is not None:
        limit, in_use = room.limit, room.used
    if room is not None and (host_available is None or room.available < host_available):
        return HostMemory(room.available, CONTAINER, host_available, host_total, limit, in_use)
    if host_available is not None:
        return HostMemory(host_available, HOST, host_available, host_total, limit, in_use)
    return HostMemory(None, UNKNOWN, None, host_total)


__all__ = ["CONTAINER", "HOST", "MEMINFO", "UNKNOWN", "HostMemory", "read"]
