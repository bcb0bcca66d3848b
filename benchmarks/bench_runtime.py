"""Runtime benchmarks (simulator): zero-copy loads of a 1 GiB model, 10,000 load/unload cycles,
and what the host-memory checks cost.

Run: python benchmarks/bench_runtime.py [--size-mib 1024] [--cycles 10000] [--host-checks-only]

Figures printed:
- peak RSS growth while loading a 1 GiB model from bytes / bytearray / memoryview / numpy /
  a path (mmap), as a percentage of the model size (target < 5%);
- after N load/unload cycles: models left, device memory charged, RSS growth (target: 0, 0, ~0).
- `hostbuf.host_shortfall` per call, this code against the code before it read the container's
  memory cgroup (`OLD_HOSTBUF`, loaded from git beside the new one, taken in turns in one
  process): on this machine's own cgroup, and in a fake container (a cgroup v2 tree in a temp
  folder) with a small size (the fast path), a size near what is left (usage read each time)
  and one past MemFree; then a whole simulator ``m(x)`` of a small model with either check.
Each load measurement runs in a fresh subprocess so one does not inherit another's high-water mark.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from memtools import peak_rss, rss_now

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1024**2
#: main before the host-memory checks read the memory cgroup
OLD_HOSTBUF = "f6a8493:acl_notebook/hostbuf.py"


def child_load(path: str, kind: str) -> dict:
    import numpy as np

    import acl_notebook as acl

    acl.configure(backend="sim", soc="Ascend910B1")
    acl.info()
    size = os.path.getsize(path)
    if kind == "path":
        source = path
    else:
        with open(path, "rb") as f:
            if kind == "bytes":
                raw = f.read()
            else:
                raw = bytearray(size)
                f.readinto(memoryview(raw))
        source = {"bytes": lambda: raw, "bytearray": lambda: raw, "memoryview": lambda: memoryview(raw),
                  "numpy": lambda: np.frombuffer(raw, dtype=np.uint8)}[kind]()
    base_peak = max(peak_rss(), rss_now())
    t0 = time.perf_counter()
    model = acl.load(source)
    seconds = time.perf_counter() - t0
    grown = max(peak_rss() - base_peak, 0)
    acl.unload(model)
    return {"kind": kind, "size": size, "peak_growth": grown, "seconds": seconds}


def child_cycles(path: str, cycles: int) -> dict:
    import acl_notebook as acl
    from acl_notebook.session import get_session

    acl.configure(backend="sim", soc="Ascend910B1")
    with open(path, "rb") as f:
        blob = f.read()
    idle = acl.memory()
    # Warm up allocators and fill the bounded memory history (samples of alternating levels;
    # loads share one sample per 20 ms), so what is left to measure is growth that would go
    # on for ever: a leak.
    from dataclasses import replace

    for _ in range(cycles):
        acl.unload(acl.load(blob))
    history = get_session().history
    latest = history.latest(0)
    while len(history) < history._samples.maxlen:
        history.add(replace(latest, t=latest.t + len(history), free=latest.free - len(history) % 2))
    rss0 = rss_now()
    t0 = time.perf_counter()
    for _ in range(cycles):
        acl.unload(acl.load(blob))
    seconds = time.perf_counter() - t0
    rss1 = rss_now()
    after = acl.memory()
    backend = get_session().backend
    return {
        "cycles": cycles, "seconds": seconds, "models_left": len(acl.models()),
        "runtime_models_left": len(backend.loaded_ids()),
        "charged_left": idle.free - after.free, "rss_growth": rss1 - rss0,
    }


def _old_hostbuf():
    """The previous hostbuf module, from git, as a sibling of the new one (its lazy relative
    imports resolve in this package)."""
    import importlib.util

    source = subprocess.run(["git", "-C", HERE, "show", OLD_HOSTBUF], check=True, capture_output=True,
                            text=True).stdout
    spec = importlib.util.spec_from_loader("acl_notebook._old_hostbuf", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "acl_notebook"
    exec(compile(source, OLD_HOSTBUF, "exec"), module.__dict__)
    return module


def _per_call(fns: dict, arg, calls: int, rounds: int) -> dict:
    """Best-of-`rounds` seconds per call of each fn(arg), the fns taken in turns each round."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                fn(arg)
            best[name] = min(best[name], (time.perf_counter() - t0) / calls)
    return best


def host_checks(calls: int = 20000, rounds: int = 7) -> None:
    import numpy as np

    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    from fake_cgroup import v2

    from acl_notebook import cgroup, hostbuf
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
    from acl_notebook.runner import execute
    from acl_notebook.runtime import sim_exec
    from acl_notebook.session import Config, Session

    old = _old_hostbuf()
    pair = {"old": old.host_shortfall, "new": hostbuf.host_shortfall}
    free = hostbuf._free_memory()
    print(f"\nhost_shortfall per call, new / old (best of {rounds} x {calls:,} calls, in turns; "
          f"MemFree {free / MiB:,.0f} MiB):")

    def show(label: str, size: int, n: int = calls) -> None:
        t = _per_call(pair, size, n, rounds)
        print(f"  {label:<58} {t['new'] * 1e6:8.2f} / {t['old'] * 1e6:6.2f} us = {t['new'] / t['old']:6.2f}x")

    show(f"this machine's cgroup ({'limit' if cgroup.WATCH.room() else 'no limit'}), 1 MiB", MiB)
    with tempfile.TemporaryDirectory() as tmp:
        root = v2(__import__("pathlib").Path(tmp), "/kubepods/pod/ctr", {"": (2048 * MiB, 1024 * MiB, 0)})
        real, cgroup.WATCH = cgroup.WATCH, cgroup.Watch(root)
        try:
            show("fake container 2 GiB, 1 GiB used: 1 MiB (no file read)", MiB)
            show("fake container: 600 MiB, near the 1 GiB left (usage read)", 600 * MiB, calls // 10)
            between = (free + (hostbuf.host_available_memory() or free)) // 2  # both read meminfo
            show("fake container: between MemFree and MemAvailable", between, calls // 10)
        finally:
            cgroup.WATCH = real

    session = Session(Config(backend="sim", soc="Ascend910B1"))
    session.start()
    try:
        m = session.load(write_om(ModelSpec(name="tiny", soc_version="Ascend910B1",
                                            inputs=[TensorSpec("x", (1, 16), "float32", "ND")],
                                            outputs=[TensorSpec("y", (1, 16), "float32", "ND")],
                                            work_size=MiB, weight_size=MiB)))
        x = np.ones((1, 16), np.float32)

        def run_with(shortfall, check):
            def go(_):
                sim_exec.host_shortfall, execute.check_host_memory = shortfall, check
                m(x)
            return go

        asked = []
        counting = lambda size: asked.append(size) or hostbuf.host_shortfall(size)  # noqa: E731
        run_with(counting, lambda what, size, fix=None: counting(size))(None)
        runs = {"old": run_with(old.host_shortfall, old.check_host_memory),
                "new": run_with(hostbuf.host_shortfall, hostbuf.check_host_memory)}
        t = _per_call(runs, None, max(calls // 5, 100), rounds)
        label = f"a simulator m(x) of a 16-value model ({len(asked)} checks), whole"
        print(f"  {label:<58} {t['new'] * 1e6:8.2f} / {t['old'] * 1e6:6.2f} us = {t['new'] / t['old']:6.2f}x")
    finally:
        sim_exec.host_shortfall, execute.check_host_memory = hostbuf.host_shortfall, hostbuf.check_host_memory
        session.shutdown()


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--cycles", type=int, default=10000)
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--host-checks-only", action="store_true", help="only the host-memory check figures")
    args = ap.parse_args()
    if args.host_checks_only:
        host_checks()
        return
    if args.child:
        what, *rest = args.child
        result = child_load(*rest) if what == "load" else child_cycles(rest[0], int(rest[1]))
        print(json.dumps(result))
        return

    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om, write_om_file

    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.om")
        spec = ModelSpec(
            name="big", soc_version="Ascend910B1",
            inputs=[TensorSpec("images", (1, 3, 1024, 1024), "float16", "NCHW")],
            outputs=[TensorSpec("out", (1, 1000), "float32", "ND")],
            work_size=256 * MiB, weight_size=args.size_mib * MiB,
        )
        write_om_file(spec, big)
        size = os.path.getsize(big)
        print(f"model: {size / MiB:.0f} MiB")
        print(f"{'source':<11} {'peak RSS growth':>16} {'% of model':>11} {'load s':>8}")
        for kind in ("path", "bytes", "bytearray", "memoryview", "numpy"):
            r = run_child("load", big, kind)
            pct = 100.0 * r["peak_growth"] / size
            print(f"{kind:<11} {r['peak_growth'] / MiB:>12.1f} MiB {pct:>10.2f}% {r['seconds']:>8.3f}")

        small = os.path.join(tmp, "small.om")
        with open(small, "wb") as f:
            f.write(write_om(ModelSpec(
                name="small", soc_version="Ascend910B1",
                inputs=[TensorSpec("x", (1, 3, 224, 224), "float16", "NCHW")],
                outputs=[TensorSpec("y", (1, 1000), "float32", "ND")],
                work_size=8 * MiB, weight_size=64 * 1024,
            )))
        r = run_child("cycles", small, str(args.cycles))
        print(f"\n{r['cycles']} load/unload cycles in {r['seconds']:.1f} s "
              f"({1e6 * r['seconds'] / r['cycles']:.0f} us/cycle)")
        print(f"models left: {r['models_left']} (runtime: {r['runtime_models_left']}), "
              f"memory still charged: {r['charged_left']} B, RSS growth: {r['rss_growth'] / 1024:.0f} KiB")
    host_checks()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    main()
