"""The kernel's view of a Ray cluster: one actor per NPU, each an acl-notebook session.

Ray does the scheduling (the `NPU` resource, one per actor, with
``ASCEND_RT_VISIBLE_DEVICES`` set by Ray on each worker), the transport (the object store)
and the calls (actor methods); this module only decides what to ask and how to read the
answers. Every remote call is bounded by a timeout, so no call hangs the kernel. A worker
whose actor or node died is marked lost, with Ray's reason, and its models are marked
lost; the other workers go on.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional, Sequence

from ..grid import DeviceCell, MemoryGrid
from .results import (
    ClusterError,
    ClusterModel,
    ClusterModels,
    ClusterStatus,
    ClusterTimeoutError,
    RemoteModel,
    WorkerInfo,
    WorkerState,
    first_line,
)

log = logging.getLogger("acl_notebook.cluster")

DEFAULT_TIMEOUT = 60.0  # seconds a remote call may take before the kernel gives up on it


class Failure:
    """What one worker's call gave instead of a value (kept apart from exceptions it returned)."""

    def __init__(self, exc: BaseException, lost: bool = False) -> None:
        self.exc, self.lost = exc, lost


class Worker:
    """One actor and what the kernel knows about it."""

    def __init__(self, actor: Any, info: WorkerInfo) -> None:
        self.actor = actor
        self.info = info
        self.state = "ok"
        self.reason = ""
        self.last_cell: Optional[DeviceCell] = None

    @property
    def alive(self) -> bool:
        return self.state == "ok"

    @property
    def where(self) -> str:
        return f"host {self.info.host} device {self.info.device}"


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise ClusterError("the cluster needs Ray: pip install 'acl-notebook[cluster]'") from None
    return ray


def actor_class() -> Any:
    """`NpuWorker` as a Ray actor needing one NPU (and no CPU, so a small box fits several)."""
    from .worker import NpuWorker

    # max_concurrency > 1: memory reads and pings answer while a long run or bench is busy.
    return _ray().remote(num_cpus=0, resources={"NPU": 1}, max_concurrency=4, max_restarts=0)(NpuWorker)


class Cluster:
    """The workers of one Ray cluster and the models loaded on them."""

    def __init__(self, workers: Sequence[Worker], *, timeout: float = DEFAULT_TIMEOUT, owns_ray: bool = False,
                 address: str = "") -> None:
        self.workers = list(workers)
        self.timeout = timeout
        self.owns_ray = owns_ray
        self.address = address
        self._models: dict[str, dict[tuple[str, int], RemoteModel]] = {}
        self._infos: dict[str, Any] = {}  # name -> our parse (its gears plan split runs)
        self._lock = threading.RLock()  # the registry: the kernel's thread and the live view's timer
        self.closed = False

    # -- calls --------------------------------------------------------------------------
    def _lose(self, worker: Worker, exc: BaseException) -> None:
        with self._lock:  # the live view's timer thread calls too
            if worker.alive:
                worker.state, worker.reason = "lost", first_line(exc)
                log.info("%s lost: %s", worker.where, worker.reason)
            key = (worker.info.host, worker.info.device)
            for copies in self._models.values():
                if key in copies and copies[key].state == "loaded":
                    copies[key] = _with_state(copies[key], "lost")

    def call(self, method: str, *args: Any, workers: Optional[Sequence[Worker]] = None,
             timeout: Optional[float] = None, **kwargs: Any) -> list[tuple[Worker, Any]]:
        """`method(*args)` on every (alive) worker at once; each answer or a `Failure`.

        All calls share one deadline, so N workers cost one timeout, not N.
        """
        ray = _ray()
        if self.closed:
            raise ClusterError("this cluster was shut down; start one with acl.cluster.local() or connect()")
        targets = [w for w in (self.workers if workers is None else workers) if w.alive]
        refs = []
        for w in targets:
            try:
                refs.append(getattr(w.actor, method).remote(*args, **kwargs))
            except Exception as exc:  # a dead handle can fail at submit time
                refs.append(exc)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        out: list[tuple[Worker, Any]] = []
        for w, ref in zip(targets, refs):
            if isinstance(ref, BaseException):
                self._lose(w, ref)
                out.append((w, Failure(ref, lost=True)))
                continue
            out.append((w, self._get(ray, w, ref, method, limit, deadline)))
        return out

    def _get(self, ray: Any, w: Worker, ref: Any, method: str, limit: float, deadline: float) -> Any:
        try:
            return ray.get(ref, timeout=max(deadline - time.monotonic(), 0.0))
        except ray.exceptions.GetTimeoutError:
            return Failure(ClusterTimeoutError(
                f"{w.where} did not answer {method} within {limit:g} s; it may be busy or its node unreachable "
                "(the kernel did not wait longer; try again, or pass a larger timeout)"))
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            return Failure(cause if isinstance(cause, Exception) else ClusterError(f"{w.where}: {first_line(exc)}"))
        except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as exc:
            self._lose(w, exc)
            return Failure(ClusterError(f"{w.where} is lost: {w.reason}"), lost=True)

    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.alive]

    def _need_alive(self) -> list[Worker]:
        alive = self.alive()
        if not alive:
            raise ClusterError("no device of the cluster is alive; see acl.cluster.status() for why")
        return alive

    # -- models -------------------------------------------------------------------------
    def _model(self, name: str) -> ClusterModel:
        copies = self._models.get(name)
        if copies is None:
            known = ", ".join(self._models) or "none"
            raise KeyError(f"no model {name!r} on the cluster; loaded: {known}")
        return ClusterModel(name, tuple(copies.values()))

    def load(self, source: Any, *, name: Optional[str] = None, force: bool = False, priority: Optional[int] = None,
             label: Optional[str] = None, timeout: Optional[float] = None) -> ClusterModel:
        """Put the model bytes into the object store once; every device loads them from there.

        Each worker gets a read-only view of the store's shared memory (Ray's zero-copy read
        of a numpy array), which its session loads with ``aclmdlLoadFromMem``. Every device is
        pre-checked first: a refusal is the `DeviceMemoryError` of the device that refused,
        naming its host, and nothing is loaded. A failure after that keeps the copies that
        loaded (as on one host, see `group.py`) and says which devices failed.
        """
        import numpy as np

        from ..hostbuf import open_source
        from ..om.reader import parse
        from ..session import unique_name

        ray = _ray()
        alive = self._need_alive()
        with open_source(source) as buf:
            info = parse(buf.view)  # bad bytes never reach the cluster
            if name is not None and name in self._models:
                raise ValueError(f"a model named {name!r} is already on the cluster; choose another name or "
                                 "unload it first")
            model_name = name or unique_name(info.name or "model", self._models)
            ref = ray.put(np.frombuffer(buf.view, dtype=np.uint8))  # the one copy: into shared memory
            shown = label or buf.label
        try:
            if not force:
                for _w, answer in self.call("precheck", ref, model_name, workers=alive, timeout=timeout):
                    if isinstance(answer, Failure) and not answer.lost:
                        raise answer.exc
            answers = self.call("load", ref, model_name, force=force, priority=priority, label=shown,
                                workers=alive, timeout=timeout)
        finally:
            del ref  # the store may free the bytes once every worker has loaded them
        copies = {(w.info.host, w.info.device): a for w, a in answers if not isinstance(a, Failure)}
        failed = [(w, a) for w, a in answers if isinstance(a, Failure)]
        if copies:
            with self._lock:
                self._models[model_name] = copies
                self._infos[model_name] = info
        if failed:
            where = "; ".join(f"{w.where}: {_line(a.exc)}" for w, a in failed)
            kept = (f"the copies on {len(copies)} other device(s) stay loaded "
                    f"(acl.cluster.unload({model_name!r}) drops them)") if copies else "nothing was loaded"
            raise ClusterError(f"{model_name!r} failed on {where}; {kept}")
        return self._model(model_name)

    def unload(self, name: str, timeout: Optional[float] = None) -> ClusterModel:
        model = self._model(name)
        holders = [w for w in self.alive() if (w.info.host, w.info.device) in self._models[name]]
        errors = [(w, a) for w, a in self.call("unload", name, workers=holders, timeout=timeout)
                  if isinstance(a, Failure) and not a.lost]
        with self._lock:
            del self._models[name]
            self._infos.pop(name, None)
        if errors:
            where = "; ".join(f"{w.where}: {_line(a.exc)}" for w, a in errors)
            raise ClusterError(f"unloading {name!r} failed on {where}")
        return ClusterModel(name, tuple(_with_state(c, "unloaded" if c.state == "loaded" else c.state)
                                        for c in model.copies))

    def models(self) -> ClusterModels:
        with self._lock:
            return ClusterModels(ClusterModel(n, tuple(c.values())) for n, c in self._models.items())

    # -- running ------------------------------------------------------------------------
    def _holders(self, name: str) -> list[Worker]:
        self._model(name)
        holders = [w for w in self.alive() if (w.info.host, w.info.device) in self._models[name]
                   and self._models[name][(w.info.host, w.info.device)].state == "loaded"]
        if not holders:
            raise ClusterError(f"no live device holds {name!r}; see acl.cluster.status()")
        return holders

    def run(self, name: str, inputs: Any, *, split: bool = False, timeout: Optional[float] = None) -> Any:
        """Run `name` on every live device that holds it.

        split=False: the same inputs everywhere (put into the object store once); a
        `DeviceOutputs`. split=True: axis 0 is cut into one shard per device, each run at
        the model's accepted batch sizes; a device lost during the run has its shard rerun
        on the others, so a `SplitOutputs` still covers every row.
        """
        from ..fanout import DeviceOutputs, Shard, SplitOutputs, join, split_plan, take
        from ..runner.outputs import Outputs

        ray = _ray()
        holders = self._holders(name)
        t0 = time.perf_counter()
        if not split:
            ref = ray.put(inputs)
            answers = self.call("run", name, ref, workers=holders, timeout=timeout)
            del ref
            self._raise_failed(name, answers)
            outs = [Outputs(a["arrays"], names=a["names"], gear=a["gear"], timing=a["timing"],
                            simulated=a["simulated"], fidelity=a["fidelity"], notes=a["notes"], model=a["model"])
                    for _w, a in answers]
            return DeviceOutputs(outs, [w.where for w, _ in answers], time.perf_counter() - t0, name)
        plans = split_plan(self._infos[name], inputs, len(holders))
        pending = [(w, runs) for w, runs in zip(holders, plans) if runs]
        results: dict[int, list] = {}  # first row of a piece -> its trimmed outputs
        shards: list[Shard] = []
        names: tuple = ()
        for attempt in range(2):  # the first round, then one rerun of what lost devices held
            args = [([take(inputs, p) for p in runs], runs) for _w, runs in pending]
            answers = self._call_each("run", name, args, [w for w, _ in pending], timeout)
            orphans = []
            for (w, runs), (_w, a) in zip(pending, answers):
                if isinstance(a, Failure):
                    if not a.lost:
                        raise a.exc
                    orphans += runs
                    continue
                names = a["names"]
                results.update({p.start: part for p, part in zip(runs, a["parts"])})
                shards.append(Shard(w.where, runs[0].start, runs[-1].stop, len(runs),
                                    sum(p.padding for p in runs), a["seconds"]))
            if not orphans:
                break
            survivors = [w for w in self.alive() if w in holders]
            if not survivors or attempt:
                raise ClusterError(f"rows of the split run of {name!r} were lost with their devices and no live "
                                   "device could rerun them; see acl.cluster.status()")
            pending = [(survivors[i % len(survivors)], [p]) for i, p in enumerate(orphans)]
        parts = [results[k] for k in sorted(results)]
        return SplitOutputs(join(parts), names, sorted(shards, key=lambda s: s.start), time.perf_counter() - t0)

    def _call_each(self, method: str, name: str, args: list[tuple], workers: list[Worker],
                   timeout: Optional[float]) -> list[tuple[Worker, Any]]:
        """`method(name, *args[i])` on workers[i], all at once, one shared deadline."""
        ray = _ray()
        refs = []
        for w, a in zip(workers, args):
            try:
                refs.append(getattr(w.actor, method).remote(name, *a))
            except Exception as exc:
                refs.append(exc)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        out = []
        for w, ref in zip(workers, refs):
            if isinstance(ref, BaseException):
                self._lose(w, ref)
                out.append((w, Failure(ref, lost=True)))
            else:
                out.append((w, self._get(ray, w, ref, method, limit, deadline)))
        return out

    def bench(self, name: str, n: int = 100, warmup: int = 5, *, timeout: Optional[float] = None,
              **options: Any) -> Any:
        """`acl_notebook.bench` of `name` on every live device at once (one process each);
        a `FleetBench` with per-device figures, the summary, and any device lost meanwhile."""
        from ..fanout import FleetBench

        holders = self._holders(name)
        t0 = time.perf_counter()
        answers = self.call("bench", name, n, warmup, options, workers=holders, timeout=timeout)
        wall = time.perf_counter() - t0
        done = [(w, a) for w, a in answers if not isinstance(a, Failure)]
        lost = tuple((w.where, w.reason) for w, a in answers if isinstance(a, Failure) and a.lost)
        errors = [(w, a) for w, a in answers if isinstance(a, Failure) and not a.lost]
        if errors:
            raise errors[0][1].exc
        if not done:
            raise ClusterError(f"every device benchmarking {name!r} was lost: "
                               + "; ".join(f"{w}: {why}" for w, why in lost))
        return FleetBench(name, tuple(w.where for w, _ in done), tuple(a for _, a in done), wall, lost)

    def _raise_failed(self, name: str, answers: list[tuple[Worker, Any]]) -> None:
        failed = [(w, a) for w, a in answers if isinstance(a, Failure)]
        if not failed:
            return
        if len(failed) == len(answers) and not failed[0][1].lost and len({str(a.exc) for _w, a in failed}) == 1:
            raise failed[0][1].exc  # the same mistake everywhere (a bad input): say it once, as itself
        raise ClusterError(f"running {name!r} failed on " + "; ".join(f"{w.where}: {_line(a.exc)}" for w, a in failed)
                           + f" ({len(answers) - len(failed)} of {len(answers)} devices answered)")

    # -- memory and status -----------------------------------------------------------------
    def memory(self, timeout: Optional[float] = None) -> MemoryGrid:
        """Every device of every host, live; lost devices as last seen, marked lost."""
        answers = dict((id(w), a) for w, a in self.call("memory", timeout=timeout))
        cells = []
        for w in self.workers:
            answer = answers.get(id(w))
            if w.alive and isinstance(answer, DeviceCell):
                w.last_cell = answer
                cells.append(answer)
            else:
                cells.append(self._lost_cell(w, answer))
        backend = self.workers[0].info.backend if self.workers else ""
        return MemoryGrid(tuple(cells), title="Cluster memory", backend=backend)

    def _lost_cell(self, w: Worker, answer: Any) -> DeviceCell:
        from ..grid import CellShare

        key = (w.info.host, w.info.device)
        with self._lock:
            shares = tuple(CellShare(n, n, c[key].memory, "lost" if not w.alive else "loaded")
                           for n, c in self._models.items() if key in c)
        reason = w.reason or (_line(answer.exc) if isinstance(answer, Failure) else "no answer")
        state = "lost" if not w.alive else "unanswered"
        last = w.last_cell
        return DeviceCell(w.info.host, w.info.device, last.kind if last else "", w.info.total, 0, 0, shares,
                          w.info.soc, state=state, reason=reason)

    def status(self, timeout: float = 10.0) -> ClusterStatus:
        """Ping every worker (a dead one is found here) and report each one's state."""
        self.call("ping", timeout=timeout)
        states = []
        for w in self.workers:
            key = (w.info.host, w.info.device)
            with self._lock:
                names = tuple(n for n, c in self._models.items() if key in c)
            states.append(WorkerState(w.info.host, w.info.device, w.state, w.reason, w.info.pid, w.info.backend,
                                      w.info.soc, names))
        return ClusterStatus(states)

    # -- teardown -----------------------------------------------------------------------
    def shutdown(self, timeout: float = 20.0) -> None:
        """Unload every model, release every device, end every actor (and Ray, if we started it)."""
        if self.closed:
            return
        ray = _ray()
        try:
            self.call("shutdown", timeout=timeout)
        finally:
            for w in self.workers:
                try:
                    ray.kill(w.actor, no_restart=True)
                except Exception as exc:  # already gone
                    log.debug("kill %s: %s", w.where, exc)
            self._models.clear()
            self.closed = True
            if self.owns_ray:
                ray.shutdown()


def _with_state(c: RemoteModel, state: str) -> RemoteModel:
    return RemoteModel(c.name, c.id, c.host, c.device, c.memory, c.inputs, c.outputs, c.load_seconds, state)


def _line(exc: BaseException) -> str:
    from ..display import error_line

    return error_line(exc)


def start_workers(plan: Sequence[dict[str, Any]], *, timeout: float, make: Optional[Callable] = None) -> list[Worker]:
    """Create one actor per entry of `plan` (its constructor keywords and `node_id`) and wait,
    within `timeout`, until each has said who it is."""
    ray = _ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    cls = make() if make is not None else actor_class()
    actors = []
    for entry in plan:
        entry = dict(entry)
        node_id = entry.pop("node_id", None)
        options = {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id, soft=False)} if node_id else {}
        actors.append(cls.options(**options).remote(**entry))
    refs = [a.describe.remote() for a in actors]
    ready, pending = ray.wait(refs, num_returns=len(refs), timeout=timeout)
    if pending:
        for a in actors:
            ray.kill(a, no_restart=True)
        raise ClusterTimeoutError(f"{len(pending)} of {len(actors)} NPU workers did not start within {timeout:g} s; "
                                  "check that every host has its NPUs in Ray (ray status shows the NPU resource)")
    try:
        infos = ray.get(refs, timeout=timeout)
    except Exception as exc:
        for a in actors:
            ray.kill(a, no_restart=True)
        raise ClusterError(f"an NPU worker failed to start: {first_line(exc)}") from None
    return [Worker(a, i) for a, i in zip(actors, infos)]


__all__ = ["Cluster", "DEFAULT_TIMEOUT", "Failure", "Worker", "actor_class", "start_workers"]
