"""Fake /proc/self and memory-cgroup trees under a temporary root, for `acl_notebook.cgroup`.

Each builder writes what the kernel would show a process in a container: its
/proc/self/cgroup line, a mountinfo with the cgroup mounts, and per cgroup level the limit,
usage and memory.stat files of that hierarchy. Levels are paths inside the hierarchy
("" is the mount root); a level whose limit is None has no limit file (v2's root has none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

#: What cgroup v1 shows for "no limit" with 4 KiB pages (2**63 - 1 rounded down to a page).
V1_UNLIMITED = 9223372036854771712
MiB, GiB = 1 << 20, 1 << 30

_ROOT_MOUNT = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"


def write(root: Path, files: dict[str, str]) -> Path:
    """Write `files` ({path relative to root: text}) under `root`; returns `root`."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _dir(mount: str, level: str) -> str:
    return "/".join(p for p in (mount.strip("/"), level.strip("/")) if p)


def v2(root: Path, path: str, levels: dict[str, tuple[Optional[object], int, int]],
       mount: str = "/sys/fs/cgroup", mount_root: str = "/") -> Path:
    """A unified hierarchy: `path` is the process's cgroup (its ``0::`` line); `levels` maps a
    level to (memory.max: a number, "max" or None for no file, memory.current, inactive_file)."""
    files = {
        "proc/self/cgroup": f"0::{path}\n",
        "proc/self/mountinfo": _ROOT_MOUNT + f"35 22 0:30 {mount_root} {mount} rw,nosuid,nodev,noexec,relatime "
                               "shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
    }
    for level, (limit, current, inactive) in levels.items():
        d = _dir(mount, level)
        files[f"{d}/cgroup.controllers"] = "cpuset cpu io memory pids\n"
        if limit is not None:
            files[f"{d}/memory.max"] = f"{limit}\n"
        files[f"{d}/memory.current"] = f"{current}\n"
        files[f"{d}/memory.stat"] = (f"anon {current - inactive}\nfile {inactive}\nactive_file 0\n"
                                     f"inactive_file {inactive}\nslab 0\n")
    return write(root, files)


def v1(root: Path, path: str, levels: dict[str, tuple[int, int, int]], hierarchical: Optional[int] = None,
       mount: str = "/sys/fs/cgroup/memory", mount_root: str = "/") -> Path:
    """A v1 memory controller beside other v1 controllers and an empty unified mount (a hybrid
    host, as Docker on cgroup v1 shows it): `levels` maps a level to (memory.limit_in_bytes,
    memory.usage_in_bytes, total_inactive_file); the leaf's memory.stat reports
    `hierarchical` (default: the smallest limit on the way up)."""
    files = {
        "proc/self/cgroup": f"12:pids:/\n11:cpu,cpuacct:/\n4:memory:{path}\n1:name=systemd:/\n0::/\n",
        "proc/self/mountinfo": _ROOT_MOUNT
        + "31 22 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        + "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
        + f"35 31 0:32 {mount_root} {mount} rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory\n"
        + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
    }
    smallest = min((limit for limit, _, _ in levels.values()), default=V1_UNLIMITED)
    for level, (limit, usage, inactive) in levels.items():
        d = _dir(mount, level)
        files[f"{d}/memory.limit_in_bytes"] = f"{limit}\n"
        files[f"{d}/memory.usage_in_bytes"] = f"{usage}\n"
        hier = hierarchical if hierarchical is not None else smallest
        files[f"{d}/memory.stat"] = (f"cache {inactive}\nrss {usage - inactive}\ninactive_file {inactive}\n"
                                     f"hierarchical_memory_limit {hier}\ntotal_cache {inactive}\n"
                                     f"total_inactive_file {inactive}\n")
    return write(root, files)
