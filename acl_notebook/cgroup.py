"""What the process's memory cgroup still allows: the container's memory limit.

In a container (a mybinder.org pod, JupyterHub on Kubernetes, ``docker --memory``) the kernel
OOM-kills the process at its cgroup's limit however much the node has, and /proc/meminfo
still shows the node's memory (often fifty times the limit). So every host-memory check
(`hostbuf.host_shortfall`) asks here too. Both hierarchies are read:

- v2 (unified): the ``0::/path`` line of /proc/self/cgroup and a ``cgroup2`` mount. Every
  level from the process's cgroup up to the mount root may set ``memory.max`` ("max": none);
  what a level leaves is its limit less ``memory.current`` less the reclaimable
  ``inactive_file`` of its ``memory.stat`` (page cache the kernel drops before it kills).
- v1: the line naming the ``memory`` controller and a ``cgroup`` mount with that option:
  ``memory.limit_in_bytes`` per level (a huge page-rounded value means none), less
  ``memory.usage_in_bytes`` and ``total_inactive_file``; the leaf's
  ``hierarchical_memory_limit`` also covers ancestors above the mount, which a container
  cannot see.

Inside a container the path in /proc/self/cgroup often names a host cgroup that is not under
the mount (the namespace's own root is mounted instead): then the mount root is taken as the
process's cgroup, as container runtimes and the JVM do. Every file is read under `root`, so
tests build whole fake trees. Anything missing, unreadable or garbled means "no limit known"
for that level (or for all, when the cgroup itself cannot be found), never an exception.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Optional

#: A v1 limit at or past this is "none": the kernel's unlimited value is 2**63 - 1 rounded down
#: to the page size (9223372036854771712 with 4 KiB pages, less with bigger pages).
NO_LIMIT = 1 << 62

#: (limit file, usage file, the memory.stat key of reclaimable page cache) per hierarchy.
_V2 = ("memory.max", "memory.current", "inactive_file")
_V1 = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")

class Room(tuple):
    """What may still be allocated (`available`, never negative) and the limit that says so:
    `limit` is the cgroup's limit and `used` its usage, or both None for the host's MemAvailable."""

    __slots__ = ()

    def __new__(cls, available: int, limit: Optional[int] = None, used: Optional[int] = None) -> Room:
        return tuple.__new__(cls, (max(0, available), limit, used))

    available = property(lambda self: self[0])
    limit = property(lambda self: self[1])
    used = property(lambda self: self[2])

    def says(self) -> str:
        """Which limit this is, in the words of a refusal ("... is 3 GiB but {says}")."""
        from .units import human_bytes

        if self.limit is None:
            return f"the host has only {human_bytes(self.available)} available"
        return (f"the container's memory limit (cgroup) of {human_bytes(self.limit)} leaves only "
                f"{human_bytes(self.available)} ({human_bytes(self.used or 0)} in use)")


class Hierarchy(tuple):
    """The process's memory cgroup: its directories (leaf first, up to the mount root) and the
    file names of its hierarchy (v1 or v2)."""

    __slots__ = ()

    def __new__(cls, dirs: tuple[str, ...], v1: bool) -> Hierarchy:
        return tuple.__new__(cls, (dirs, v1))

    dirs = property(lambda self: self[0])
    v1 = property(lambda self: self[1])

    @property
    def files(self) -> tuple[str, str, str]:
        return _V1 if self.v1 else _V2


# ----------------------------------------------------------------------------- finding it
def find(root: str = "/") -> Optional[Hierarchy]:
    """The process's memory cgroup under `root`, or None where there is none to be found.

    A v1 ``memory`` controller wins over the unified line: on a hybrid host (v1 controllers
    beside a ``cgroup2`` mount at /sys/fs/cgroup/unified) memory is accounted in v1."""
    cgroups = _cgroup_paths(_read(root, "proc/self/cgroup"))
    mounts = _mounts(_read(root, "proc/self/mountinfo"))
    for v1, key, fstype in ((True, "memory", "cgroup"), (False, "", "cgroup2")):
        path = cgroups.get(key)
        candidates = [(r, m) for kind, opts, r, m in mounts
                      if kind == fstype and (not v1 or "memory" in opts)]
        if path is None or not candidates:
            continue
        mount_root, point = _best_mount(candidates, path)
        return Hierarchy(_levels(_under(root, point), _relative(path, mount_root)), v1)
    return None


def _cgroup_paths(text: Optional[str]) -> dict[str, str]:
    """{controller: path} from /proc/self/cgroup ("" is the unified hierarchy's line)."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        if parts[0] == "0" and parts[1] == "":
            out.setdefault("", parts[2])
        for name in parts[1].split(","):
            if name:
                out.setdefault(name, parts[2])
    return out


def _mounts(text: Optional[str]) -> list[tuple[str, set[str], str, str]]:
    """(fstype, super options, mount root, mount point) of each cgroup mount in mountinfo."""
    out = []
    for line in (text or "").splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or not tail[0].startswith("cgroup"):
            continue
        out.append((tail[0], set(tail[2].split(",")), _unescape(fields[3]), _unescape(fields[4])))
    return out


def _unescape(field: str) -> str:
    """mountinfo writes a space, tab, newline or backslash in a path as \\ooo (octal)."""
    parts = field.split("\\")
    out = [parts[0]]
    for part in parts[1:]:
        code = part[:3]
        ok = len(code) == 3 and all(c in "01234567" for c in code)
        out.append(chr(int(code, 8)) + part[3:] if ok else "\\" + part)
    return "".join(out)


def _best_mount(candidates: list[tuple[str, str]], path: str) -> tuple[str, str]:
    """The mount whose root holds `path` and shows the most of its ancestors (the shortest
    root: the whole hierarchy "/" first, since an ancestor above a mount's root cannot be
    read through it), else the first."""
    holding = [c for c in candidates if _relative(path, c[0]) is not None]
    return min(holding, key=lambda c: len(c[0].rstrip("/"))) if holding else candidates[0]


def _relative(path: str, mount_root: str) -> Optional[str]:
    """`path` below `mount_root`, or None when the mount does not hold it."""
    if mount_root == "/":
        return path
    if path == mount_root or path.startswith(mount_root.rstrip("/") + "/"):
        return path[len(mount_root.rstrip("/")):] or "/"
    return None


def _levels(top: str, relative: Optional[str]) -> tuple[str, ...]:
    """The cgroup's directory and each ancestor up to the mount point `top`. A path that is not
    there (a host path seen from a container's namespace) means the mount root is ours."""
    leaf = os.path.normpath(os.path.join(top, (relative or "/").lstrip("/")))
    if not (leaf == top or leaf.startswith(top.rstrip("/") + "/")) or not os.path.isdir(leaf):
        leaf = top
    dirs = [leaf]
    while dirs[-1] != top:
        dirs.append(os.path.dirname(dirs[-1]))
    return tuple(dirs)


def _under(root: str, path: str) -> str:
    return os.path.normpath(os.path.join(root, path.lstrip("/")))


# ----------------------------------------------------------------------------- reading it
def limits(h: Hierarchy) -> tuple[tuple[str, int], ...]:
    """(directory, limit) of each level that sets one; for v1 also the leaf's hierarchical limit
    when an ancestor the mount hides is tighter than every level seen."""
    limit_file = h.files[0]
    out = []
    for d in h.dirs:
        value = _number(_read(d, limit_file), v2_none="max")
        if value is not None and value < NO_LIMIT:
            out.append((d, value))
    if h.v1:
        hier = _stat(_read(h.dirs[0], "memory.stat"), "hierarchical_memory_limit")
        if hier is not None and hier < min((v for _, v in out), default=NO_LIMIT):
            out.append((h.dirs[0], hier))
    return tuple(out)


def room(h: Hierarchy, levels: tuple[tuple[str, int], ...]) -> Optional[Room]:
    """What the tightest of `levels` leaves now (usage read fresh), or None where no level's
    usage can be read."""
    _, usage_file, inactive_key = h.files
    best: Optional[Room] = None
    for d, limit in levels:
        usage = _number(_read(d, usage_file))
        if usage is None:
            continue
        inactive = _stat(_read(d, "memory.stat"), inactive_key) or 0
        used = max(0, usage - min(inactive, usage))
        here = Room(limit - used, limit, used)
        if best is None or here.available < best.available:
            best = here
    return best


#: The most of one file read: mountinfo of a node with many mounts (pods' volumes, overlay
#: layers) passes 64 KiB, and a cgroup mount may come after them.
_READ_CAP = 1 << 24


def _read(base: str, name: str) -> Optional[str]:
    """A file's text; paths in /proc/self/cgroup and mountinfo are raw bytes (mountinfo escapes
    only space, tab, newline and backslash), so any byte is kept as the file system would
    take it back (surrogateescape): a mount of a folder named in another script must not make
    the whole file unreadable. Number files are checked to be ASCII digits (`_number`)."""
    try:
        with open(os.path.join(base, name), encoding="utf-8", errors="surrogateescape") as f:
            return f.read(_READ_CAP)
    except (OSError, ValueError):
        return None


def _number(text: Optional[str], v2_none: str = "") -> Optional[int]:
    """A byte count from a one-value file; None for a missing, garbled or "max" (no limit) one."""
    if text is None:
        return None
    word = text.strip()
    if v2_none and word == v2_none:
        return None
    return int(word) if word.isascii() and word.isdigit() and len(word) < 40 else None


def _stat(text: Optional[str], key: str) -> Optional[int]:
    """One key of a memory.stat file ("key value" lines), None where absent or garbled."""
    for line in (text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return _number(value)
    return None


# ----------------------------------------------------------------------------- one process's view
class Watch:
    """The limit of this process's cgroup, read rarely, and its usage, read when it matters.

    Host-memory checks sit on hot paths (each simulated execute), so: the cgroup and its limits
    are found once and again every `REFIND_SECONDS` (a pod's limit can be resized); usage is
    re-read only when a size is over half of what was left at the last reading (less what was
    granted since) or that reading is older than `FRESH_SECONDS`; a size of `FRESH_BYTES` or
    more always reads (usage may have grown by much since, outside any check, and one reading,
    tens of microseconds, is little beside filling that many bytes). A refusal always comes
    from a fresh reading. Plain attribute updates: racing threads can only make the estimate stale
    within those bounds, never raise.
    """

    REFIND_SECONDS = 60.0
    FRESH_SECONDS = 1.0
    FRESH_BYTES = 64 << 20

    def __init__(self, root: str = "/") -> None:
        self.root = root
        self._found_at = -1e18
        self._hierarchy: Optional[Hierarchy] = None
        self._levels: tuple[tuple[str, int], ...] = ()
        self._left = 0  # what was left at the last reading, less what was granted since
        self._read_at = -1e18

    def fits_cheaply(self, size: int) -> bool:
        """True when `size` surely fits without reading usage: no limit applies, or it is well
        within what a recent reading left. False means "read and see" (`room`)."""
        now = time.monotonic()
        if now - self._found_at > self.REFIND_SECONDS:
            self._refind(now)
        if not self._levels:
            return True
        if size < self.FRESH_BYTES and now - self._read_at <= self.FRESH_SECONDS and 2 * size <= self._left:
            self._left -= size
            return True
        return False

    def room(self, size: int = 0) -> Optional[Room]:
        """What the cgroup leaves now (a fresh reading), or None where no limit is known;
        `size`, when it fits, is counted as granted until the next reading."""
        now = time.monotonic()
        if now - self._found_at > self.REFIND_SECONDS:
            self._refind(now)
        if self._hierarchy is None or not self._levels:
            return None
        left = room(self._hierarchy, self._levels)
        if left is None:  # no usage to be read: no limit known until the next find
            self._levels = ()
            return None
        self._left, self._read_at = left.available - (size if size <= left.available else 0), now
        return left

    def _refind(self, now: float) -> None:
        try:
            self._hierarchy = find(self.root)
            self._levels = limits(self._hierarchy) if self._hierarchy else ()
        except (OSError, ValueError):  # a tree that changes under us: as if no limit were known
            self._hierarchy, self._levels = None, ()
        self._found_at, self._read_at = now, -1e18


#: This process's view of its own cgroup (tests put a Watch over a fake tree in its place).
WATCH = Watch()

__all__ = ["NO_LIMIT", "WATCH", "Hierarchy", "Room", "Watch", "find", "limits", "room"]
