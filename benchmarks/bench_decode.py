"""Decode-only-what-is-read, parse-once-per-load and cold start, side by side with the previous code.

Run: ``python benchmarks/bench_decode.py [--old-rev REV] [--rounds 5]`` (a few minutes), or
only some cases, e.g. ``--cases slim_bare,inspect_bytes`` (the inspect ratio and the per-op
curve, a minute) or ``--cases cold``.

The previous code is main before issue 13 (``--old-rev``, default below), exported with
``git archive`` into a temporary folder; each measurement runs in a fresh child process
with either tree first on ``sys.path``, alternating old/new every round so machine noise
hits both alike. Each figure is CPU time (``process_time``, best of ``--repeat`` runs in a
child, then the median over rounds; for cold starts the child's user + system time), which
the other jobs on a shared machine disturb far less than wall time. Printed as ratios.

Cases, each on a3c (25 ops), anenet (547 ops, 1.3 MB ModelDef) and writer models of 500
(a 108 KB ModelDef) / 2k / 20k / 100k ops with MODEL_INOUT_INFO:

* ``inspect(path)``: new vs old; ``inspect(bytes)`` against a bare ``ParseFromString`` of
  the slim schema, taken in turns in one process (target <= 1.2x); and per op (linear up
  to 100k ops);
* a simulator load/unload cycle (``acl.unload(acl.load(source))``) from bytes and from the
  path, over ``inspect`` of the same source (target <= 1.2x): in turns in one process, so
  both meet the same heap (the figure for the target), and from separate children, new vs old;
* the two in-turns ratios are each taken with the heap in two fixed states (`HEAPS`: pages
  kept, or faulted in afresh for every call), because a big parse's cost swings 10x between
  them and a child's default state is an accident of what else it allocated;
* what SIGBUS safety costs: ``inspect`` of a ``memoryview(mmap)`` (kernel-copied reads)
  and of the path (``pread``) against ``inspect(bytes)``;
* cold ``acl-notebook inspect --json`` of a3c against ``python -c "import IPython"``
  (target <= 0.5x), new and old.
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
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
OLD_REV = "f06d5e1"  # main just before issue 13 landed
_CLI = "import sys; from acl_notebook.__main__ import main; sys.exit(main(sys.argv[1:]))"

# Runs in a child: argv = tree, case, model path, repeats, heap. Prints the median seconds.
_CHILD = r"""
import json, mmap, statistics, sys, time
sys.path.insert(0, sys.argv[1])
case, path, repeat, heap = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
from acl_notebook.om import inspect, parse
if heap == "fresh":  # give freed memory back before each timed call (outside the timer)
    import ctypes
    trim = ctypes.CDLL(None).malloc_trim
else:
    trim = None

def timed(fn):
    fn(); fn()
    out = []
    for _ in range(repeat):  # CPU time, best of: robust to the other jobs on a shared machine
        if trim is not None:
            trim(0)
        t0 = time.process_time(); fn(); out.append(time.process_time() - t0)
    return min(out)

data = open(path, "rb").read()
if case == "inspect_path":
    result = timed(lambda: inspect(path))
elif case == "inspect_bytes":
    result = timed(lambda: parse(data))
elif case == "inspect_mmap":
    f = open(path, "rb"); mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    result = timed(lambda: parse(memoryview(mm)))
elif case == "slim_bare":  # in turns with inspect(bytes) in this one process, so both meet the same heap
    from acl_notebook.om import _proto
    info = parse(data)
    part = next(p for p in info.partitions if p.type == 0 and p.model == 0)
    blob = memoryview(data)[part.offset:part.offset + part.size]
    cls = _proto.message_class("SlimModelDef")
    bare, full = [], []
    for _ in range(3):
        bare.append(timed(lambda: cls().ParseFromString(blob)))
        full.append(timed(lambda: parse(data)))
    result = min(full) / min(bare)
elif case.startswith("cycle_"):
    import acl_notebook as acl
    acl.configure(backend="sim", soc=parse(data).soc_version or "Ascend910B1", memory=64 * 1024**3)
    source = data if case.endswith("_bytes") else path
    def cycle():  # what a user types: the memory pre-check included
        acl.unload(acl.load(source))
    if case.startswith("cycle_turns_"):  # in turns with inspect of the same source, one process
        cycles, looks = [], []
        for _ in range(3):
            cycles.append(timed(cycle))
            looks.append(timed(lambda: inspect(source)))
        result = min(cycles) / min(looks)
    else:
        result = timed(cycle)
print(json.dumps(result))
"""


_PLAN = [("inspect_path", "new"), ("inspect_path", "old"), ("inspect_bytes", "new"), ("inspect_bytes", "old"),
         ("inspect_mmap", "new"), ("slim_bare", "new"), ("cycle_bytes", "new"), ("cycle_bytes", "old"),
         ("cycle_path", "new"), ("cycle_path", "old"), ("cycle_turns_bytes", "new"), ("cycle_turns_path", "new")]
CASES = tuple(dict.fromkeys(case for case, _tree in _PLAN)) + ("cold",)


def write_writer_model(ops: int, tmp: Path) -> Path:
    """A writer model of `ops` ops with MODEL_INOUT_INFO (4 inputs, 4 outputs, compressed
    attrs), in `tmp`; bench_netron.py measures the same ones."""
    sys.path.insert(0, str(ROOT))
    from acl_notebook.om import ModelSpec, TensorSpec, write_om_file

    spec = ModelSpec(name=f"ops{ops}", soc_version="", op_count=ops, weight_size=1 << 20, compress_attrs=True,
                     inputs=[TensorSpec(f"in{i}", (1, 3, 224, 224)) for i in range(4)],
                     outputs=[TensorSpec(f"out{i}", (1, 1000), format="ND") for i in range(4)])
    path = tmp / f"ops{ops}.om"
    write_om_file(spec, path)
    return path


def write_models(tmp: Path) -> dict[str, Path]:
    out = {name: MODELS / f"{name}.om" for name in ("a3c_pong_model_v2", "my_122_anenet")}
    for ops in (500, 2_000, 20_000, 100_000):
        out[f"writer {ops // 1000}k ops" if ops >= 1000 else f"writer {ops} ops"] = write_writer_model(ops, tmp)
    # A file written in the last 2.5 s has not settled, and the simulator copies what its ops
    # read at load (hostbuf.FileStamp): measure the common case, a model file already on disk.
    time.sleep(2.6)
    return out


def ms(x: float) -> str:
    return f"{x * 1e3:.2f} ms"


def _ops(label: str) -> int:
    count = label.split()[1]
    return int(count[:-1]) * 1000 if count.endswith("k") else int(count)


def export_old(rev: str, tmp: Path) -> Path:
    dest = tmp / "old"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "acl_notebook"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


#: The heap a child's parses meet, for the cases whose ratio depends on it (`HEAP_CASES`).
#: A 1.3 MB ModelDef's slim parse takes 0.04 ms when upb's arena lands on pages the process
#: already has, and 0.5 ms to 1 ms when glibc has just trimmed them back to the kernel and they
#: must be faulted in again; which one a child gets by default depends on what else it
#: allocated, so the ratios are taken in two fixed states instead:
#: * "kept": freed memory stays in the heap (glibc's trim and mmap thresholds at 1 GiB): the
#:   CPU cost of the parse and of our work around it, as in a kernel that inspects often;
#: * "fresh": ``malloc_trim(0)`` before every timed call, so each call faults its pages in,
#:   as a process's first inspect or load of a model does.
HEAPS: dict[str, dict[str, str]] = {
    "kept": {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 30)},
    "fresh": {},
}
HEAP_CASES = ("slim_bare", "cycle_turns_bytes", "cycle_turns_path")


def child(tree: Path, case: str, path: Path, repeat: int, heap: str = "as-is") -> float:
    env = dict(os.environ, **HEAPS.get(heap, {}))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tree), case, str(path), str(repeat), heap],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def cold(cmd: list[str], env: dict, cwd: Path, out: Optional[Path] = None) -> float:
    """CPU seconds (user + system) one cold process spends, from wait4's rusage; what it
    prints goes to `out` when given (bench_netron.py checks it), else nowhere.

    Run from `cwd` (not the checkout: ``python -c`` puts the working directory first on
    sys.path, which would shadow the tree chosen by PYTHONPATH)."""
    with open(out if out is not None else os.devnull, "w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, env=env, cwd=cwd)
        _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed with {proc.returncode}")
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-rev", default=OLD_REV, help=f"git revision of the previous code (default {OLD_REV})")
    parser.add_argument("--rounds", type=int, default=5, help="alternating old/new rounds (default 5)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per child (default 15)")
    parser.add_argument("--cold", type=int, default=20, help="cold CLI starts per variant (default 20)")
    parser.add_argument("--cases", default="", help=f"comma-separated subset of: {', '.join(CASES)} (default all)")
    args = parser.parse_args(argv)
    chosen = set(args.cases.split(",")) - {""} if args.cases else set(CASES)
    if chosen - set(CASES):
        parser.error(f"unknown cases {sorted(chosen - set(CASES))}; choose from {', '.join(CASES)}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = write_models(tmp)
        trees = {"new": ROOT, "old": export_old(args.old_rev, tmp)}
        runs: dict[tuple, list[float]] = {}
        plan = [(case, tree) for case, tree in _PLAN if case in chosen]
        for _ in range(args.rounds):
            for label, path in models.items():
                big = "100k" in label
                for case, tree in plan:
                    if big and case.startswith("cycle"):
                        continue  # 100k ops: the op-count curve only
                    repeat = max(3, args.repeat // (10 if big else 1))
                    for heap in HEAPS if case in HEAP_CASES else ("as-is",):
                        key = (label, case if heap == "as-is" else f"{case}@{heap}", tree)
                        runs.setdefault(key, []).append(child(trees[tree], case, path, repeat, heap))
        med = {k: statistics.median(v) for k, v in runs.items()}
        rows = [("model", "case", "measured (new vs old)", "target")]
        for label in models:
            m = {(c, t): v for (lab, c, t), v in med.items() if lab == label}
            if ("inspect_path", "new") in m and ("inspect_path", "old") in m:
                new, old = m["inspect_path", "new"], m["inspect_path", "old"]
                rows.append((label, "inspect(path)", f"{ms(new)} vs {ms(old)} = {new / old:.2f}x", "faster"))
            for heap in HEAPS:
                if (f"slim_bare@{heap}", "new") in m:
                    rows.append((label, f"inspect(bytes) / bare slim ParseFromString, same process, heap {heap}",
                                 f"{m[f'slim_bare@{heap}', 'new']:.2f}x", "<= 1.2x (big graphs)"))
            if ("inspect_mmap", "new") in m and ("inspect_bytes", "new") in m:
                rows.append((label, "SIGBUS-safe reads: memoryview(mmap) / bytes",
                             f"{m['inspect_mmap', 'new'] / m['inspect_bytes', 'new']:.2f}x", "cost shown"))
            if all((c, t) in m for c in ("inspect_path", "inspect_bytes") for t in ("new", "old")):
                rows.append((label, "SIGBUS-safe reads: path / bytes",
                             f"{new / m['inspect_bytes', 'new']:.2f}x vs {old / m['inspect_bytes', 'old']:.2f}x",
                             "cost shown"))
            for src in ("bytes", "path"):
                for heap in HEAPS:
                    if (f"cycle_turns_{src}@{heap}", "new") in m:
                        rows.append((label, f"sim load+unload / inspect, from {src}, in turns, heap {heap}",
                                     f"{m[f'cycle_turns_{src}@{heap}', 'new']:.2f}x", "<= 1.2x"))
                if all((c, t) in m for c in (f"cycle_{src}", f"inspect_{src}") for t in ("new", "old")):
                    ratio_new = m[f"cycle_{src}", "new"] / m[f"inspect_{src}", "new"]
                    ratio_old = m[f"cycle_{src}", "old"] / m[f"inspect_{src}", "old"]
                    rows.append((label, f"sim load+unload / inspect, from {src}, separate processes",
                                 f"{ratio_new:.2f}x vs {ratio_old:.2f}x ({ms(m[f'cycle_{src}', 'new'])} vs "
                                 f"{ms(m[f'cycle_{src}', 'old'])})", "<= 1.2x"))
        for tree in ("new", "old"):
            curved = [lab for lab in models if "ops" in lab and _ops(lab) >= 2000]  # past the fixed cost
            if all((lab, "inspect_bytes", tree) in med for lab in curved):
                curve = ", ".join(f"{lab.split()[1]}: {med[lab, 'inspect_bytes', tree] / _ops(lab) * 1e9:.0f}"
                                  for lab in curved)
                rows.append(("writer models", f"inspect(bytes), ns per op ({tree})", curve, "flat (linear)"))
        if "cold" in chosen:
            rows += cold_rows(args, tmp, trees, models)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} CPUs, previous code: {args.old_rev}")
    return 0


def cold_rows(args: argparse.Namespace, tmp: Path, trees: dict[str, Path], models: dict[str, Path]) -> list[tuple]:
    """Cold `acl-notebook inspect --json`, new and old, against ``python -c "import IPython"``."""
    rows = []
    for tree in trees.values():  # byte-compiled, as installed code is (PYTHONDONTWRITEBYTECODE may be set)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "acl_notebook")], check=True,
                       stdout=subprocess.DEVNULL)
    env_new = dict(os.environ, PYTHONPATH=str(trees["new"]))
    env_old = dict(os.environ, PYTHONPATH=str(trees["old"]))
    from acl_notebook.om import ModelSpec, write_om_file

    small_inout = tmp / "small.om"
    write_om_file(ModelSpec(name="small", weight_size=1 << 16), small_inout)
    ipy = [sys.executable, "-c", "import IPython"]
    for label, path in (("a3c (no MODEL_INOUT_INFO)", models["a3c_pong_model_v2"]),
                        ("writer, ATC 7.x layout", small_inout)):
        cli = [sys.executable, "-c", _CLI, "inspect", "--json", str(path)]
        times: dict[str, list[float]] = {"new": [], "old": [], "ipython": []}
        for _ in range(args.cold):
            times["new"].append(cold(cli, env_new, tmp))
            times["old"].append(cold(cli, env_old, tmp))
            times["ipython"].append(cold(ipy, env_new, tmp))
        c = {k: statistics.median(v) for k, v in times.items()}
        rows.append((label, "cold `inspect --json` / `import IPython` (CPU)",
                     f"{c['new'] / c['ipython']:.2f}x vs {c['old'] / c['ipython']:.2f}x ({ms(c['new'])} vs "
                     f"{ms(c['old'])}, IPython {ms(c['ipython'])})", "<= 0.5x"))
    return rows


if __name__ == "__main__":
    sys.exit(main())
