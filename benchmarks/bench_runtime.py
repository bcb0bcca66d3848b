"""Runtime benchmarks (simulator): zero-copy loads of a 1 GiB model, and 10,000 load/unload cycles.

Run: python benchmarks/bench_runtime.py [--size-mib 1024] [--cycles 10000]

Figures printed:
- peak RSS growth while loading a 1 GiB model from bytes / bytearray / memoryview / numpy /
  a path (mmap), as a percentage of the model size (target < 5%);
- after N load/unload cycles: models left, device memory charged, RSS growth (target: 0, 0, ~0).
Each measurement runs in a fresh subprocess so one does not inherit another's high-water mark.
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


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--cycles", type=int, default=10000)
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
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


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    main()
