"""What runs inside each Ray actor: one acl-notebook session for one NPU.

The actor is an ordinary acl-notebook user. It calls the public API of its own process
(its own session, its own ACL context), so everything the single-host library guarantees
(the pre-check, one context, nothing lost on a bad load) holds on every device of a
cluster. On a real node Ray gives the actor one NPU and sets ``ASCEND_RT_VISIBLE_DEVICES``
to it, so inside the actor that NPU is device 0; the physical id (what `npu-smi` shows)
comes from Ray's runtime context and is what the kernel displays.

This class is plain Python; `fleet.py` wraps it with ``ray.remote`` so importing this
module never needs Ray (and unit tests can drive it directly).
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Optional

from ..grid import CellShare, DeviceCell
from .results import RemoteModel, WorkerInfo


def _physical_device() -> int:
    """The NPU id Ray assigned to this actor (0 outside Ray or when Ray says nothing)."""
    try:
        import ray

        ids = ray.get_runtime_context().get_accelerator_ids().get("NPU") or []
        return int(ids[0]) if ids else 0
    except Exception:
        visible = os.environ.get("ASCEND_RT_VISIBLE_DEVICES", "").split(",")[0]
        return int(visible) if visible.isdigit() else 0


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id()
    except Exception:
        return ""


class NpuWorker:
    """One device's session; every method returns plain, picklable values."""

    def __init__(self, backend: str = "auto", soc: Optional[str] = None, memory: Optional[int] = None,
                 host: Optional[str] = None) -> None:
        from ..session import Config, Session

        # A simulated worker imitates one NPU; a real one sees exactly the NPU Ray gave it.
        devices = 1 if backend == "sim" else None
        self.session = Session(Config(backend=backend, soc=soc, memory=memory, devices=devices))
        self.session.start()
        self.device = _physical_device()
        self.host = host or socket.gethostname()
        self.node_id = _node_id()
        self._stop = threading.Event()

    # -- who am I -----------------------------------------------------------------------
    def describe(self) -> WorkerInfo:
        info = self.session.info()
        report = self.session.memory(0)
        return WorkerInfo(host=self.host, device=self.device, node_id=self.node_id, pid=os.getpid(),
                          backend=info.backend, soc=info.soc, total=report.total)

    def ping(self) -> int:
        return os.getpid()

    def host_memory(self) -> dict[str, int]:
        """This worker's resident memory now and at its peak (bytes): what a model load costs
        the host, which stays small because the bytes are read from the shared object store."""
        import resource

        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        return {"rss": rss, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}

    # -- models -------------------------------------------------------------------------
    def _summary(self, model: Any, state: str = "loaded") -> RemoteModel:
        return RemoteModel(name=model.name, id=model.id, host=self.host, device=self.device, memory=model.memory,
                           inputs=len(model.inputs), outputs=len(model.outputs),
                           load_seconds=model.load_seconds, state=state)

    def precheck(self, data: Any, name: str) -> int:
        """The pre-check alone; raises `DeviceMemoryError` naming this host and device."""
        try:
            return self.session.check_fits(data, 0, name=name).total
        except Exception as exc:
            raise self._named(exc) from None

    def load(self, data: Any, name: str, force: bool = False, priority: Optional[int] = None,
             label: Optional[str] = None) -> RemoteModel:
        """Load from `data`, which Ray hands over as a read-only view of the object store
        (a numpy array over shared memory): the model bytes are not copied into this process."""
        try:
            model = self.session.load(data, name=name, device=0, force=force, priority=priority, label=label)
        except Exception as exc:
            raise self._named(exc) from None
        return self._summary(model)

    def unload(self, name: str) -> RemoteModel:
        model = self.session.unload(name)
        return self._summary(model, state="unloaded")

    def unload_all(self) -> int:
        return self.session.unload_all()

    def models(self) -> list[RemoteModel]:
        return [self._summary(m) for m in self.session.models()]

    # -- running ------------------------------------------------------------------------
    def run(self, name: str, inputs: Any, pieces: Optional[list] = None) -> dict[str, Any]:
        """Run `name` on `inputs` (the arrays arrive zero-copy from the object store).

        With `pieces` (a split run), `inputs` is this worker's list of padded batches, one
        per piece, and the outputs come back trimmed; else one run. Plain values only, so
        the answer crosses Ray intact."""
        import time

        from ..fanout import trim

        model = self.session.find(name)
        t0 = time.perf_counter()
        if pieces is None:
            out = model.run(inputs)
            return {"arrays": list(out), "names": out.names, "gear": out.gear, "timing": out.timing,
                    "simulated": out.simulated, "fidelity": out.fidelity, "notes": out.notes, "model": out.model}
        parts = [trim(list(model.run(batch)), piece) for batch, piece in zip(inputs, pieces)]
        return {"parts": parts, "names": tuple(t.name for t in model.outputs), "seconds": time.perf_counter() - t0}

    def bench(self, name: str, n: int, warmup: int, options: dict[str, Any]) -> Any:
        """`acl_notebook.bench` of `name` on this device (a `BenchResult`)."""
        from ..runner.bench import bench

        return bench(self.session.find(name), n, warmup, **options)

    def memory(self) -> DeviceCell:
        r = self.session.memory(0)
        shares = tuple(CellShare(s.name, s.name, s.bytes) for s in r.models)
        return DeviceCell(self.host, self.device, r.kind, r.total, r.free, r.used, shares, r.soc)

    def shutdown(self) -> int:
        """Unload everything and release the device (before the actor is killed)."""
        count = len(self.session.models())
        self.session.shutdown()
        return count

    # -- errors -------------------------------------------------------------------------
    def _named(self, exc: BaseException) -> BaseException:
        """A refusal that says where it happened: host and device, as the kernel shows them."""
        from ..session import DeviceMemoryError

        if isinstance(exc, DeviceMemoryError):
            return DeviceMemoryError(exc.model_name, self.device, exc.needed, exc.free, exc.total,
                                     exc.candidates, host=self.host)
        return exc


__all__ = ["NpuWorker"]
