"""`acl.cluster.*`: start or join a Ray cluster and drive its NPUs from the kernel.

The kernel holds at most one cluster at a time (like it holds one session); every
function below works on it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Iterator, Optional

from ..grid import MemoryGrid
from .fleet import DEFAULT_TIMEOUT, Cluster, _ray, start_workers
from .results import ClusterError, ClusterModel, ClusterModels, ClusterStatus

_current: Optional[Cluster] = None
_lock = threading.Lock()


def current() -> Cluster:
    """The kernel's cluster, or a clear error saying how to get one."""
    cluster = _current
    if cluster is None or cluster.closed:
        raise ClusterError("no cluster: call acl.cluster.local(devices=4) for a simulated one, or "
                           "acl.cluster.connect() to join a running Ray cluster")
    return cluster


def _replace(cluster: Cluster) -> Cluster:
    global _current
    with _lock:
        _current = cluster
    return cluster


def _free_slot() -> None:
    """A new cluster may replace the old one only when the old one holds no model."""
    old = _current
    if old is not None and not old.closed:
        if old.models():
            names = ", ".join(m.name for m in old.models())
            raise ClusterError(f"a cluster is already in use with models loaded ({names}); "
                               "call acl.cluster.shutdown() first")
        old.shutdown()


@contextlib.contextmanager
def _quiet_npu_probe() -> Iterator[None]:
    """Ray probes for pyACL when a node has NPUs and logs a traceback where there is none
    (a laptop, CI, Binder); that probe is not ours to fail, so keep it out of the notebook."""
    probe = logging.getLogger("ray._private.accelerators.npu")
    level = probe.level
    probe.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        probe.setLevel(level)


def local(devices: int = 4, *, soc: Optional[str] = None, memory: Optional[int] = None,
          timeout: float = DEFAULT_TIMEOUT, object_store_memory: Optional[int] = None) -> Cluster:
    """Start a Ray cluster on this machine whose `devices` NPUs are simulated, one actor each.

    What CI, laptops and Binder use. `soc` and `memory` describe each simulated device.
    Ray is started with one CPU and no dashboard (the actors need no CPU slot), and stopped
    again by `shutdown()`.
    """
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ValueError(f"devices must be a positive int, got {devices!r}")
    ray = _ray()
    _free_slot()
    if ray.is_initialized():
        raise ClusterError("Ray is already running in this kernel; use acl.cluster.connect() to use it, "
                           "or ray.shutdown() first to start a simulated one")
    with _quiet_npu_probe():
        ray.init(num_cpus=1, resources={"NPU": devices}, include_dashboard=False, log_to_driver=False,
                 namespace="acl_notebook", object_store_memory=object_store_memory)
    try:
        plan = [{"backend": "sim", "soc": soc, "memory": memory} for _ in range(devices)]
        workers = start_workers(plan, timeout=timeout)
    except BaseException:
        ray.shutdown()
        raise
    workers.sort(key=lambda w: (w.info.host, w.info.device))
    return _replace(Cluster(workers, timeout=timeout, owns_ray=True, address="local"))


def connect(address: str = "auto", *, timeout: float = DEFAULT_TIMEOUT, backend: str = "auto") -> Cluster:
    """Join a running Ray cluster and start one worker per NPU on every alive node.

    Each node's NPUs are what Ray reports as its `NPU` resource (Ray counts
    ``/dev/davinci*``, or take ``ray start --resources='{"NPU": 8}'``). Each worker is
    pinned to its node and gets one NPU, with ``ASCEND_RT_VISIBLE_DEVICES`` set by Ray.
    """
    ray = _ray()
    _free_slot()
    owns = False
    if not ray.is_initialized():
        with _quiet_npu_probe():
            ray.init(address=address, namespace="acl_notebook", log_to_driver=False)
        owns = True
    plan = []
    for node in ray.nodes():
        npus = int(node.get("Resources", {}).get("NPU", 0)) if node.get("Alive") else 0
        host = node.get("NodeManagerHostname") or node.get("NodeManagerAddress", "")
        plan += [{"backend": backend, "host": host, "node_id": node["NodeID"]} for _ in range(npus)]
    if not plan:
        if owns:
            ray.shutdown()
        raise ClusterError(f"the Ray cluster at {address!r} has no NPU resource on any alive node; start Ray on each "
                           "host with its NPUs visible (ray start ... --resources='{\"NPU\": 8}' if Ray does not "
                           "find /dev/davinci*)")
    workers = start_workers(plan, timeout=timeout)
    workers.sort(key=lambda w: (w.info.host, w.info.device))
    return _replace(Cluster(workers, timeout=timeout, owns_ray=owns, address=address))


def load(source: Any, *, name: Optional[str] = None, force: bool = False, priority: Optional[int] = None,
         label: Optional[str] = None, timeout: Optional[float] = None) -> ClusterModel:
    """Load a model on every device of the cluster, the bytes sent once through the object store."""
    return current().load(source, name=name, force=force, priority=priority, label=label, timeout=timeout)


def unload(name: str) -> ClusterModel:
    """Unload a model from every device that holds it."""
    return current().unload(name)


def models() -> ClusterModels:
    """Every model of the cluster, with its copies per host and device (lost ones marked)."""
    return current().models()


def run(name: str, inputs: Any, *, split: bool = False, timeout: Optional[float] = None) -> Any:
    """Run a cluster model: the same inputs on every device, or (split=True) the batch cut
    across devices and joined back; see `Cluster.run`."""
    return current().run(name, inputs, split=split, timeout=timeout)


def bench(name: str, n: int = 100, warmup: int = 5, *, timeout: Optional[float] = None, **options: Any) -> Any:
    """Benchmark a cluster model on every device at once: per-device figures and the summary."""
    from ..runner.bench import counts

    n, warmup = counts(n, warmup)  # refused here, not once per worker
    return current().bench(name, n, warmup, timeout=timeout, **options)


def memory(timeout: Optional[float] = None) -> MemoryGrid:
    """Memory of every device of every host (lost devices marked, with the reason)."""
    return current().memory(timeout=timeout)


def status() -> ClusterStatus:
    """Which workers are up and which are lost, and why."""
    return current().status()


def panel(interval: float = 2.0) -> Any:
    """The cluster view: hosts x devices, memory and models per device, lost devices marked; live."""
    from ..widgets.device_grid import cluster_view

    current()  # no cluster: the same clear error as every other call
    return cluster_view(interval=interval)


def shutdown() -> None:
    """Unload everything, end every worker, and stop Ray if `local()` started it."""
    global _current
    with _lock:
        cluster, _current = _current, None
    if cluster is not None:
        cluster.shutdown()


__all__ = ["bench", "connect", "current", "load", "local", "memory", "models", "panel", "run", "shutdown", "status",
           "unload"]
