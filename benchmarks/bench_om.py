"""OM reader figures: ModelDef parse overhead, inspect latency, memory to inspect a huge model.

Run: ``python benchmarks/bench_om.py`` (about half a minute; ``--big-mib 64`` for a quick run).
Prints one table; targets from the project brief are in the last column.

* ModelDef of ~20k ops (writer-built): our decode (protobuf parse + everything the reader
  takes from it) against a bare ``ParseFromString`` of the same bytes. Two cases: with
  MODEL_INOUT_INFO (no op scan) and without (one pass over the op types).
* ``inspect`` of ../shared/models/my_122_anenet.om (547 ops) from its path.
* Peak extra memory to ``parse`` a 1 GiB model through a memoryview of an mmap, measured in a
  fresh subprocess with ru_maxrss (RSS high-water mark) and tracemalloc (Python heap peak).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acl_notebook.om import (  # noqa: E402
    ModelSpec,
    TensorSpec,
    _proto,
    inspect,
    modeldef,
    parse,
    write_om,
    write_om_file,
)

ANENET = ROOT.parent / "shared" / "models" / "my_122_anenet.om"


def _times(fn, repeat: int) -> list[float]:
    fn()  # warm up (class creation, page cache)
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench_modeldef(ops: int, repeat: int, compress: bool) -> list[tuple[str, str, str]]:
    spec = ModelSpec(
        name="bench20k",
        inputs=[TensorSpec(f"in{i}", (1, 3, 224, 224)) for i in range(4)],
        outputs=[TensorSpec(f"out{i}", (1, 1000), format="ND") for i in range(4)],
        op_count=ops, weight_size=1 << 20, compress_attrs=compress, inout_info=False,
    )
    data = write_om(spec)
    info = parse(data)
    part = next(p for p in info.partitions if p.type == 0)
    blob = data[part.offset : part.offset + part.size]
    cls = _proto.message_class("ModelDef")

    def bare():
        cls().ParseFromString(blob)

    def with_scan():
        modeldef.describe(modeldef.load(blob), scan_ops=True)

    def without_scan():
        modeldef.describe(modeldef.load(blob), scan_ops=False)

    # interleave the three so machine noise hits them alike; compare the medians
    runs = {"bare": [], "scan": [], "noscan": []}
    for _ in range(repeat):
        runs["bare"] += _times(bare, 1)
        runs["scan"] += _times(with_scan, 1)
        runs["noscan"] += _times(without_scan, 1)
    med = {k: statistics.median(v) for k, v in runs.items()}
    mb = len(blob) / 1e6
    names = "compressed attr names" if compress else "plain attr names"
    return [
        (f"bare ParseFromString, {ops:,} ops, {names} ({mb:.1f} MB)", f"{med['bare'] * 1e3:.1f} ms", ""),
        ("reader decode, no MODEL_INOUT_INFO (op scan)",
         f"{med['scan'] * 1e3:.1f} ms = {med['scan'] / med['bare']:.2f}x", "<= 1.5x"),
        ("reader decode, with MODEL_INOUT_INFO",
         f"{med['noscan'] * 1e3:.1f} ms = {med['noscan'] / med['bare']:.2f}x", "<= 1.5x"),
    ]


def bench_inspect(repeat: int) -> list[tuple[str, str, str]]:
    if not ANENET.is_file():
        return [("inspect my_122_anenet.om", f"missing: {ANENET}", "< 20 ms")]
    times = _times(lambda: inspect(ANENET), repeat)
    return [(
        "inspect my_122_anenet.om (547 ops, path)",
        f"median {statistics.median(times) * 1e3:.1f} ms, best {min(times) * 1e3:.1f} ms",
        "< 20 ms (Netron ~43)",
    )]


# Runs in a fresh interpreter. The RSS high-water mark (VmHWM) is reset just before the
# parse by writing "5" to /proc/self/clear_refs (Linux >= 4.0), so the figure is the peak of
# the parse itself, file-backed pages of the mapping included.
_CHILD = r"""
import json, mmap, sys, tracemalloc
sys.path.insert(0, sys.argv[2])
from acl_notebook.om import ModelSpec, parse, write_om

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

parse(write_om(ModelSpec()))  # import protobuf and build the classes before measuring
with open(sys.argv[1], "rb") as f:
    mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
view = memoryview(mm)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
tracemalloc.start()
info = parse(view)
heap = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = status("VmHWM")
print(json.dumps({"rss": peak - before, "heap": heap, "size": len(view), "weight": info.memory.weight}))
"""


def bench_big(mib: int) -> list[tuple[str, str, str]]:
    spec = ModelSpec(name="huge", weight_size=mib << 20, op_count=2000, compress_attrs=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "huge.om"
        t0 = time.perf_counter()
        size = write_om_file(spec, path)
        wrote = time.perf_counter() - t0
        out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(ROOT)],
                             check=True, capture_output=True, text=True).stdout
    got = json.loads(out)
    assert got["weight"] == spec.weight_size and got["size"] == size
    return [
        (f"write_om_file, {size / 2**20:,.0f} MiB model", f"{wrote:.2f} s", ""),
        ("parse(memoryview(mmap)) extra peak RSS",
         f"{got['rss'] / 2**20:.2f} MiB = {100 * got['rss'] / size:.3f}% of model", "< 5%"),
        ("parse(memoryview(mmap)) Python heap peak",
         f"{got['heap'] / 2**20:.2f} MiB = {100 * got['heap'] / size:.3f}% of model", "< 5%"),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20_000, help="ops in the big ModelDef (default 20000)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per case (default 15)")
    parser.add_argument("--big-mib", type=int, default=1024, help="weights of the huge model in MiB (1024)")
    args = parser.parse_args(argv)
    rows = bench_modeldef(args.ops, args.repeat, compress=True) + bench_modeldef(args.ops, args.repeat, False)
    rows += bench_inspect(args.repeat * 4) + bench_big(args.big_mib)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    header = ("case", "measured", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\npython {sys.version.split()[0]}, protobuf backend: {_backend()}, {os.cpu_count()} CPUs")
    return 0


def _backend() -> str:
    from google.protobuf.internal import api_implementation

    return api_implementation.Type()


if __name__ == "__main__":
    sys.exit(main())
