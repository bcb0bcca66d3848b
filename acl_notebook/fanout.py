"""Running one model on many devices: the same input everywhere, a batch split across
devices, and a benchmark of all devices at once. Shared by `ModelGroup` (threads, one per
device, each making its own device's context current through the session) and by the
cluster (one Ray worker per device).

The results say where each part ran (`where`: "device 2" or "host h device 2"), so a
group and a cluster read the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from ._rich import _repr_html_, _repr_pretty_
from .shard import Piece, batch_sizes, plan


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
class DeviceOutputs(tuple):
    """`run(x)` on every device: one `Outputs` per device, in device order (`where` says which)."""

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    def __new__(cls, outputs: Sequence[Any], where: Sequence[str], seconds: float, model: str = "") -> DeviceOutputs:
        self = super().__new__(cls, tuple(outputs))
        self.where = tuple(where)
        self.seconds = seconds
        self.model = model
        return self

    def __reduce__(self) -> tuple:
        return (DeviceOutputs, (tuple(self), self.where, self.seconds, self.model))


@dataclass(frozen=True)
class Shard:
    """Rows [start, stop) of the batch, run on `where` in `runs` runs (`padded` rows added)."""

    where: str
    start: int
    stop: int
    runs: int
    padded: int
    seconds: float


class SplitOutputs(tuple):
    """`run(x, split=True)`: the outputs of the whole batch, joined back in row order.

    A tuple of arrays in output order (``out["name"]`` works too); `shards` says which
    rows ran where, `seconds` is the wall time of the whole split run.
    """

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    def __new__(cls, arrays: Sequence[Any], names: Sequence[str], shards: Sequence[Shard], seconds: float,
                simulated: bool = False) -> SplitOutputs:
        self = super().__new__(cls, tuple(arrays))
        self.names, self.shards, self.seconds, self.simulated = tuple(names), tuple(shards), seconds, simulated
        return self

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self.names:
                raise KeyError(f"no output named {key!r}; the outputs are {', '.join(map(repr, self.names))}")
            key = self.names.index(key)
        return tuple.__getitem__(self, key)

    def __reduce__(self) -> tuple:
        return (SplitOutputs, (tuple(self), self.names, self.shards, self.seconds, self.simulated))


@dataclass(frozen=True)
class FleetBench:
    """`bench` on several devices at once: each device's `BenchResult` and the summary.

    `throughput` is the sum of the devices' throughputs (ais_bench's summary over devices,
    each 1000 x batch / mean execute ms); `wall_throughput` counts every recorded sample
    over the wall time from the common start to the last device's end. `lost` lists the
    devices that died during the benchmark, with the reason.
    """

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_

    model: str
    where: tuple[str, ...]
    results: tuple[Any, ...]
    wall_seconds: float
    lost: tuple[tuple[str, str], ...] = ()

    @property
    def throughput(self) -> float:
        return sum(r.throughput for r in self.results)

    @property
    def samples(self) -> int:
        return sum(r.n * r.batch for r in self.results)

    @property
    def wall_throughput(self) -> float:
        return self.samples / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self, path: Optional[str] = None) -> str:
        """The summary and every device's ais_bench-style figures as JSON (also to `path`)."""
        from .runner.bench import json_summary

        return json_summary(self.to_dict(), path)

    def to_dict(self) -> dict:
        return {"model": self.model, "throughput": self.throughput, "wall_throughput": self.wall_throughput,
                "wall_seconds": self.wall_seconds,
                "devices": {w: r.to_dict() for w, r in zip(self.where, self.results)},
                "lost": {w: why for w, why in self.lost}}


class GroupRunError(RuntimeError):
    """Some devices of a multi-device run failed; the message names each and why."""


# --------------------------------------------------------------------------------------
# splitting inputs and joining outputs
# --------------------------------------------------------------------------------------
def _arrays(inputs: Any) -> list[Any]:
    if isinstance(inputs, Mapping):
        return list(inputs.values())
    if isinstance(inputs, (list, tuple)):
        return list(inputs)
    return [inputs]


def batch_of(inputs: Any) -> int:
    """Rows on axis 0, the same for every input (what `split=True` cuts)."""
    import numpy as np

    from .runner.errors import refuse_masked

    given = _arrays(inputs)
    for a in given:
        refuse_masked(a, "an input")  # cutting it with np.asarray would drop the mask
    arrays = [np.asarray(a) for a in given]
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise ValueError("split=True cuts axis 0 of every input; pass arrays with a batch axis")
    rows = {a.shape[0] for a in arrays}
    if len(rows) != 1:
        raise ValueError(f"split=True needs the same batch (axis 0) in every input, got {sorted(rows)}")
    return rows.pop()


def take(inputs: Any, piece: Piece) -> Any:
    """The inputs of one run: rows [start, stop), padded with the last row up to the gear."""
    import numpy as np

    def cut(a: Any) -> Any:
        a = np.asarray(a)
        part = a[piece.start:piece.stop]
        if piece.padding:
            part = np.concatenate([part, np.repeat(part[-1:], piece.padding, axis=0)])
        return np.ascontiguousarray(part)

    if isinstance(inputs, Mapping):
        return {k: cut(v) for k, v in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        return [cut(v) for v in inputs]
    return cut(inputs)


def trim(arrays: Sequence[Any], piece: Piece) -> list[Any]:
    """Drop the padded rows again (outputs whose axis 0 is the run's batch)."""
    if not piece.padding:
        return list(arrays)
    return [a[:piece.rows] if getattr(a, "ndim", 0) and a.shape[0] == piece.batch else a for a in arrays]


def join(parts: Sequence[Sequence[Any]]) -> list[Any]:
    """Per output, the pieces' arrays concatenated in row order."""
    import numpy as np

    if not parts:
        return []
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


def split_plan(model_like: Any, inputs: Any, parts: int) -> list[list[Piece]]:
    """Each device's runs over its shard, with the model's accepted batch sizes."""
    return plan(batch_of(inputs), parts, batch_sizes(model_like))


# --------------------------------------------------------------------------------------
# one host: a thread per device
# --------------------------------------------------------------------------------------
def _parallel(jobs: Sequence[Callable[[], Any]]) -> list[tuple[Any, Optional[BaseException]]]:
    """Run each job on its own thread, started together; (value, error) per job."""
    results: list[tuple[Any, Optional[BaseException]]] = [(None, None)] * len(jobs)
    start = threading.Barrier(len(jobs)) if jobs else None

    def work(i: int, job: Callable[[], Any]) -> None:
        try:
            assert start is not None
            start.wait()
            results[i] = (job(), None)
        except BaseException as exc:  # reported per device below
            results[i] = (None, exc)

    threads = [threading.Thread(target=work, args=(i, j), name=f"acl-notebook-device-{i}", daemon=True)
               for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _raise_failures(where: Sequence[str], results: Sequence[tuple[Any, Optional[BaseException]]]) -> None:
    failed = [(w, e) for w, (_v, e) in zip(where, results) if e is not None]
    if not failed:
        return
    kinds = {type(e) for _w, e in failed}
    if len(failed) == len(results) and len(kinds) == 1 and isinstance(failed[0][1], (ValueError, TypeError, KeyError)):
        raise failed[0][1]  # the same mistake everywhere (a bad input): say it once, as itself
    from .display import error_line

    raise GroupRunError("; ".join(f"{w}: {error_line(e)}" for w, e in failed)
                        + f" ({len(results) - len(failed)} of {len(results)} devices ran)")


def run_group(name: str, models: Sequence[Any], inputs: Any, *, split: bool = False, **gear: Any) -> Any:
    """`ModelGroup.run`: see there."""
    where = [f"device {m.device}" for m in models]
    t0 = time.perf_counter()
    if not split:
        results = _parallel([lambda m=m: m.run(inputs, **gear) for m in models])
        _raise_failures(where, results)
        return DeviceOutputs([v for v, _ in results], where, time.perf_counter() - t0, name)
    if gear:
        raise ValueError("split=True picks each run's gear from its shard; do not pass batch=, hw= or dims=")
    pieces = split_plan(models[0], inputs, len(models))

    def shard(m: Any, runs: list[Piece]) -> tuple[list[list[Any]], float]:
        s0 = time.perf_counter()
        outs = [trim(m.run(take(inputs, p)), p) for p in runs]
        return outs, time.perf_counter() - s0

    results = _parallel([lambda m=m, r=r: shard(m, r) for m, r in zip(models, pieces)])
    _raise_failures(where, results)
    parts = [o for value, _ in results for o in value[0]]
    shards = [Shard(w, r[0].start, r[-1].stop, len(r), sum(p.padding for p in r), value[1])
              for w, r, (value, _) in zip(where, pieces, results) if r]
    names = [t.name for t in models[0].outputs]
    return SplitOutputs(join(parts), names, shards, time.perf_counter() - t0)


def bench_group(name: str, models: Sequence[Any], n: int, warmup: int, **options: Any) -> FleetBench:
    """`acl.bench(group)`: every device at once, each on its own thread and context."""
    from .runner.bench import bench, counts

    n, warmup = counts(n, warmup)  # refused once, before any device thread starts
    where = [f"device {m.device}" for m in models]
    t0 = time.perf_counter()
    results = _parallel([lambda m=m: bench(m, n, warmup, **options) for m in models])
    wall = time.perf_counter() - t0
    _raise_failures(where, results)
    return FleetBench(name, tuple(where), tuple(v for v, _ in results), wall)


__all__ = ["DeviceOutputs", "FleetBench", "GroupRunError", "Shard", "SplitOutputs", "batch_of", "bench_group",
           "join", "run_group", "split_plan", "take", "trim"]
