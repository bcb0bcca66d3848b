"""Process memory figures the benchmarks share (Linux)."""

from __future__ import annotations

import os
import resource


def rss_now() -> int:
    """Resident set size right now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """The process's high-water resident set size, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
