"""Many hosts, many NPUs: acl-notebook on a Ray cluster (``pip install 'acl-notebook[cluster]'``).

One Ray actor per NPU, each holding an acl-notebook session for its device; Ray schedules
them (its ``NPU`` resource), moves the bytes (its object store) and carries the calls.
``acl.cluster.local(devices=4)`` starts a simulated cluster on this machine,
``acl.cluster.connect()`` joins a real one. Importing this package does not import Ray.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "connect": ".api",
    "local": ".api",
    "load": ".api",
    "unload": ".api",
    "models": ".api",
    "memory": ".api",
    "status": ".api",
    "shutdown": ".api",
    "current": ".api",
    "panel": ".api",
    "run": ".api",
    "bench": ".api",
    "ClusterError": ".results",
    "ClusterTimeoutError": ".results",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
