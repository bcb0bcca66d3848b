"""Fleet benchmarks on a local Ray cluster with simulated NPUs.

Run: python benchmarks/bench_fleet.py [--size-mib 1024] [--devices 4]

Figures printed:
- fan-out load of a big model to every worker (the bytes put into Ray's object store once,
  every worker loading them zero-copy from shared memory) against the same number of single
  loads one after another (each putting the bytes and loading on one worker): the time ratio;
- each worker's RSS growth during its load, against the model size (target: far below it);
- concurrent bench throughput on 1, 2 and 4 simulated devices: of one host (a ModelGroup, a
  thread per device) and of a local Ray cluster (a worker process per device).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1024**2


def fanout(path: str, devices: int) -> None:
    import ray

    import acl_notebook as acl

    size = os.path.getsize(path)
    c = acl.cluster.local(devices=devices, memory=64 * 1024 * MiB, object_store_memory=int(2.5 * size) + 256 * MiB)
    try:
        def rss() -> list[dict]:
            return [a for _w, a in c.call("host_memory")]

        import numpy as np

        from acl_notebook.hostbuf import open_source

        def put() -> object:
            with open_source(path) as buf:
                return ray.put(np.frombuffer(buf.view, dtype=np.uint8))

        del_ref = put()  # first touch of the store's shared memory, paid before either side is timed
        del del_ref
        before = rss()
        t0 = time.perf_counter()
        m = acl.cluster.load(path, name="fan")
        first_s = time.perf_counter() - t0
        after = rss()
        acl.cluster.unload("fan")
        t0 = time.perf_counter()  # again, now that every worker has the store mapped
        m = acl.cluster.load(path, name="fan")
        fan_s = time.perf_counter() - t0
        assert len(m.loaded) == devices
        acl.cluster.unload("fan")

        singles = []
        for i, w in enumerate(c.workers):
            t0 = time.perf_counter()
            ref = put()
            [(_w, r)] = c.call("load", ref, f"one{i}", workers=[w])
            del ref
            singles.append(time.perf_counter() - t0)
            assert r.state == "loaded", r
        single_s = sum(singles)
        print(f"model {size / MiB:.0f} MiB on {devices} workers")
        print(f"fan-out load (one put, {devices} loads at once): {fan_s:.2f} s "
              f"(the very first: {first_s:.2f} s, while each worker maps the store)")
        print(f"{devices} single loads one after another:        {single_s:.2f} s "
              f"(each {statistics.median(singles):.2f} s median)")
        print(f"ratio fan-out / single loads: {fan_s / single_s:.2f}x")
        for w, b, a in zip(c.workers, before, after):
            grow = a["rss"] - b["rss"]
            peak = a["peak_rss"] - b["rss"]
            print(f"  device {w.info.device}: RSS growth {grow / MiB:7.1f} MiB ({100 * grow / size:5.2f}% of model), "
                  f"peak above start {max(peak, 0) / MiB:7.1f} MiB ({100 * max(peak, 0) / size:5.2f}%)")
    finally:
        acl.cluster.shutdown()


def _bench_model() -> bytes:
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

    return write_om(ModelSpec(
        name="net", soc_version="Ascend910B1",
        inputs=[TensorSpec("x", (8, 3, 64, 64), "float16", "NCHW")],
        outputs=[TensorSpec("y", (8, 1000), "float32", "ND")],
        work_size=64 * MiB, weight_size=16 * MiB,
    ))


def _line(label: str, r: object, base: float) -> str:
    return (f"  {label}: summary throughput {r.throughput:10.1f} /s ({r.throughput / base:.2f}x of 1 device), "
            f"over the wall time {r.wall_throughput:9.1f} /s ({r.wall_seconds:.2f} s)")


def group_bench(devices_list: list[int], n: int) -> None:
    """One host, a thread per device (ModelGroup): the simulator's execute is Python, so the
    threads share one interpreter lock; on an NPU aclmdlExecute runs outside it."""
    import acl_notebook as acl

    data = _bench_model()
    acl.configure(backend="sim", devices=max(devices_list))
    print(f"\none host, one thread per device (acl.bench(group)), {n} runs each, batch 8, simulator:")
    base = None
    for d in devices_list:
        g = acl.load(data, device=f"0-{d - 1}")
        r = acl.bench(g, n=n, warmup=3)
        base = base or r.throughput
        print(_line(f"{d} device(s)", r, base))
        g.unload()


def cluster_bench(devices_list: list[int], n: int) -> None:
    """A local Ray cluster, one worker process per simulated NPU (acl.cluster.bench)."""
    import acl_notebook as acl

    data = _bench_model()
    print(f"\nRay cluster, one worker process per device (acl.cluster.bench), {n} runs each, batch 8, "
          f"simulator, {os.cpu_count()} CPU cores:")
    base = None
    for d in devices_list:
        acl.cluster.local(devices=d)
        try:
            acl.cluster.load(data)
            r = acl.cluster.bench("net", n=n, warmup=3)
            base = base or r.throughput
            print(_line(f"{d} device(s)", r, base))
        finally:
            acl.cluster.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--runs", type=int, default=2000)
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om_file

    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.om")
        write_om_file(ModelSpec(
            name="big", soc_version="Ascend910B1",
            inputs=[TensorSpec("images", (1, 3, 1024, 1024), "float16", "NCHW")],
            outputs=[TensorSpec("out", (1, 1000), "float32", "ND")],
            work_size=256 * MiB, weight_size=args.size_mib * MiB,
        ), big)
        fanout(big, args.devices)
    group_bench([1, 2, 4], args.runs)
    cluster_bench([1, 2, 4], args.runs)


if __name__ == "__main__":
    main()
