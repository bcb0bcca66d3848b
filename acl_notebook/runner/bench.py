"""`bench`: time a loaded model the way msame and ais_bench do, and report it their way.

Exactly ``n + warmup`` runs, each one copy per input, one `aclmdlExecute`, one copy per
output (on the same reused device buffers). The warmup runs are not recorded, as
ais_bench clears its timers after warmup. Per recorded run we keep four figures, in
milliseconds: `execute` (only `aclmdlExecute` inside its timer, ais_bench's
NPU_compute_time and msame's "Inference time"), `h2d`, `d2h` (ais_bench's H2D_latency /
D2H_latency) and `total` (the whole run). Each gets min, p50, p90, p99, mean, max and
count (numpy's linear percentiles, like ais_bench), and throughput = 1000 x batch / mean
execute ms. `to_dict` / `to_json` use ais_bench's summary key names where they map.
"""

from __future__ import annotations

import json
import operator
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from .._rich import _repr_html_, _repr_pretty_
from .execute import execute, resolve
from .inputs import prepare, random_inputs

FIGURES = ("execute", "h2d", "d2h", "total")
STATS = ("min", "p50", "p90", "p99", "mean", "max", "count")
#: our figure -> ais_bench's summary key
AIS_KEYS = {"execute": "NPU_compute_time", "h2d": "H2D_latency", "d2h": "D2H_latency"}
#: our statistic -> ais_bench's key inside each figure
AIS_STATS = {"min": "min", "max": "max", "mean": "mean", "p50": "median", "p90": "percentile(90%)",
             "p99": "percentile(99%)", "count": "count"}
_BAR_FROM = 20  # show a progress bar in notebooks from this many runs on
#: The most recorded runs one bench takes: a notebook cell must finish (a million runs of a
#: 2 ms model are half an hour) and the samples stay small (4 figures x 1e6 floats, ~130 MB).
MAX_RUNS = 1_000_000
#: The most warmup runs: warmup only settles clocks and caches, a few thousand always do.
MAX_WARMUP = 10_000


def stats(samples_ms: list[float]) -> dict[str, float]:
    """min, p50, p90, p99, mean, max (ms) and count of one figure."""
    import numpy as np

    if not samples_ms:
        return {k: 0.0 for k in STATS[:-1]} | {"count": 0}
    a = np.asarray(samples_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"min": float(a.min()), "p50": float(p50), "p90": float(p90), "p99": float(p99),
            "mean": float(a.mean()), "max": float(a.max()), "count": int(a.size)}


def json_summary(summary: dict, path: Optional[str] = None) -> str:
    """`summary` as indented JSON text, also written to `path` when given (a bench's --json file)."""
    text = json.dumps(summary, indent=2)
    if path is not None:
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return text


@dataclass(frozen=True)
class BenchResult:
    """Timings of `n` runs of a model (after `warmup` unrecorded ones), in milliseconds."""

    model: str
    backend: str
    n: int
    warmup: int
    batch: int
    gear: Optional[tuple[int, ...]]
    samples: dict[str, list[float]]  # figure -> ms per recorded run
    simulated: bool = False
    fidelity: Optional[str] = None
    figures: dict[str, dict[str, float]] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "figures", {k: stats(self.samples.get(k, [])) for k in FIGURES})

    @property
    def throughput(self) -> float:
        """Samples per second: 1000 x batch / mean execute ms (ais_bench's definition)."""
        mean = self.figures["execute"]["mean"]
        return 1000.0 * self.batch / mean if mean > 0 else 0.0

    def __getitem__(self, figure: str) -> dict[str, float]:
        return self.figures[figure]

    def histogram(self, figure: str = "execute", bins: int = 20) -> tuple[list[int], list[float], int]:
        """(counts, edges in ms, runs beyond the last edge) of one figure. A few slow outliers
        (a page fault, the machine busy elsewhere) would squash every other run into the first
        bin, so the range stops at p90 + 4 x (p90 - p50) when the slowest run is beyond it;
        the runs left out are counted."""
        import numpy as np

        data = np.asarray(self.samples.get(figure, []), dtype=np.float64)
        if not data.size:
            return [], [], 0
        lo, hi = float(data.min()), float(data.max())
        p50, p90 = (float(v) for v in np.percentile(data, [50, 90]))
        if p90 > p50:
            hi = min(hi, p90 + 4 * (p90 - p50))
        counts, edges = np.histogram(data, bins=bins, range=(lo, hi))
        return [int(c) for c in counts], [float(e) for e in edges], int((data > hi).sum())

    def to_dict(self) -> dict[str, Any]:
        """ais_bench's summary shape (NPU_compute_time, H2D_latency, D2H_latency, throughput,
        npu_compute_time_list) plus what it lacks (p90, total, the run's context)."""
        out: dict[str, Any] = {}
        for figure in FIGURES:
            key = AIS_KEYS.get(figure, "total_time")
            out[key] = {AIS_STATS[s]: self.figures[figure][s] for s in STATS}
        out["throughput"] = self.throughput
        out["npu_compute_time_list"] = list(self.samples.get("execute", []))
        out["acl_notebook"] = {"model": self.model, "backend": self.backend, "n": self.n, "warmup": self.warmup,
                               "batch": self.batch, "gear": list(self.gear) if self.gear else None,
                               "simulated": self.simulated, "fidelity": self.fidelity, "unit": "ms",
                               "figures": self.figures}
        return out

    def to_json(self, path: Optional[str] = None) -> str:
        """The summary as JSON text; also written to `path` when given."""
        return json_summary(self.to_dict(), path)

    _repr_html_ = _repr_html_
    _repr_pretty_ = _repr_pretty_


class _Progress:
    """An ipywidgets bar while a long benchmark runs, in a notebook only; else nothing."""

    def __init__(self, total: int, label: str) -> None:
        self.bar: Any = None
        self.total = total
        if total < _BAR_FROM or not _in_notebook():
            return
        try:
            import ipywidgets as widgets
            from IPython.display import display
        except ImportError:
            return
        self.bar = widgets.IntProgress(min=0, max=total, description=label,
                                       layout=widgets.Layout(width="50%"))
        display(self.bar)
        self.step = max(total // 100, 1)

    def update(self, done: int) -> None:
        if self.bar is not None and (done % self.step == 0 or done == self.total):
            self.bar.value = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def _count(name: str, value: Any, low: int, high: int) -> int:
    """`value` as an int in [low, high]: a numpy integer is one; a bool, a float (even 5.0) or
    text is a TypeError, anything out of range a ValueError, both naming the argument."""
    if isinstance(value, bool):
        raise TypeError(f"argument {name} must be an int (a count of runs), got {value!r}")
    try:
        count = operator.index(value)
    except TypeError:
        raise TypeError(f"argument {name} must be an int (a count of runs), "
                        f"got {type(value).__name__} {value!r}") from None
    if not low <= count <= high:
        raise ValueError(f"argument {name} must be an int from {low} to {high:,}, got {count:,}; "
                         + ("a bench is one notebook cell: time fewer runs, or bench several times"
                            if count > high else f"use {name}={low} or more"))
    return count


def counts(n: Any, warmup: Any) -> tuple[int, int]:
    """`n` and `warmup` checked before any run (`MAX_RUNS`, `MAX_WARMUP`): one clear error
    rather than a cell that runs for days or a numpy integer refused."""
    return _count("n", n, 1, MAX_RUNS), _count("warmup", warmup, 0, MAX_WARMUP)


def bench(model: Any, n: int = 100, warmup: int = 5, *, inputs: Any = None, batch: Optional[int] = None,
          hw: Optional[tuple[int, int]] = None, dims: Optional[tuple[int, ...]] = None,
          seed: Optional[int] = 0) -> BenchResult:
    """Time `n` runs after `warmup` unrecorded ones; random inputs matching the descriptors
    unless `inputs` are given (see the module docstring for the figures)."""
    n, warmup = counts(n, warmup)
    model = resolve(model)
    if inputs is None:
        inputs = random_inputs(model, batch=batch, hw=hw, dims=dims, seed=seed)
    prepared = prepare(model, inputs, batch=batch, hw=hw, dims=dims)
    samples: dict[str, list[float]] = {k: [] for k in FIGURES}
    progress = _Progress(n + warmup, f"bench {model.name}")
    simulated, fidelity = False, None
    try:
        for i in range(n + warmup):
            out = execute(model, prepared)
            t, simulated, fidelity = out.timing, out.simulated, out.fidelity
            del out  # dropped at once, so the next run can reuse its arrays
            if i >= warmup:
                for figure in FIGURES:
                    samples[figure].append(getattr(t, figure) * 1000.0)
            progress.update(i + 1)
    finally:
        progress.close()
    return BenchResult(model.name, model.backend, n, warmup, prepared.batch, prepared.gear, samples,
                       simulated=simulated, fidelity=fidelity)


__all__ = ["AIS_KEYS", "BenchResult", "FIGURES", "MAX_RUNS", "MAX_WARMUP", "STATS", "bench", "counts", "stats"]
