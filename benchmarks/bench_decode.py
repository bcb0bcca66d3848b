"""Decode-only-what-is-read, parse-once-per-load and cold start, side by side with the previous code.

Run: ``python benchmarks/bench_decode.py [--old-rev REV] [--rounds 5]`` (a few minutes).

The previous code is main before issue 13 (``--old-rev``, default below), exported with
``git archive`` into a temporary folder; each measurement runs in a fresh child process
with either tree first on ``sys.path``, alternating old/new every round so machine noise
hits both alike. Figures are medians over rounds, printed as ratios.

Cases, each on a3c (25 ops), anenet (547 ops, 1.3 MB ModelDef) and writer models of 2k /
20k / 100k ops with MODEL_INOUT_INFO:

* ``inspect(path)``: new vs old; and new vs a bare ``ParseFromString`` of the slim schema
  (target <= 1.2x) and per op (linear up to 100k ops);
* a simulator load/unload cycle from bytes and from the path, over ``inspect`` of the same
  source (target <= 1.2x);
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
OLD_REV = "f06d5e1"  # main just before issue 13 landed

# Runs in a child: argv = tree, case, model path, repeats. Prints the median seconds.
_CHILD = r"""
import json, mmap, statistics, sys, time
sys.path.insert(0, sys.argv[1])
case, path, repeat = sys.argv[2], sys.argv[3], int(sys.argv[4])
from acl_notebook.om import inspect, parse

def timed(fn):
    fn(); fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); out.append(time.perf_counter() - t0)
    return statistics.median(out)

data = open(path, "rb").read()
if case == "inspect_path":
    result = timed(lambda: inspect(path))
elif case == "inspect_bytes":
    result = timed(lambda: parse(data))
elif case == "inspect_mmap":
    f = open(path, "rb"); mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    result = timed(lambda: parse(memoryview(mm)))
elif case == "slim_bare":
    from acl_notebook.om import _proto
    info = parse(data)
    part = next(p for p in info.partitions if p.type == 0 and p.model == 0)
    blob = data[part.offset:part.offset + part.size]
    cls = _proto.message_class("SlimModelDef")
    result = timed(lambda: cls().ParseFromString(blob))
elif case.startswith("cycle_"):
    import acl_notebook as acl
    acl.configure(backend="sim", soc=parse(data).soc_version or "Ascend910B1", memory=64 * 1024**3)
    source = data if case == "cycle_bytes" else path
    def cycle():
        acl.unload(acl.load(source, force=True))
    result = timed(cycle)
print(json.dumps(result))
"""


def write_models(tmp: Path) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from acl_notebook.om import ModelSpec, TensorSpec, write_om_file

    out = {name: MODELS / f"{name}.om" for name in ("a3c_pong_model_v2", "my_122_anenet")}
    for ops in (2_000, 20_000, 100_000):
        spec = ModelSpec(name=f"ops{ops}", soc_version="", op_count=ops, weight_size=1 << 20, compress_attrs=True,
                         inputs=[TensorSpec(f"in{i}", (1, 3, 224, 224)) for i in range(4)],
                         outputs=[TensorSpec(f"out{i}", (1, 1000), format="ND") for i in range(4)])
        path = tmp / f"ops{ops}.om"
        write_om_file(spec, path)
        out[f"writer {ops // 1000}k ops"] = path
    return out


def export_old(rev: str, tmp: Path) -> Path:
    dest = tmp / "old"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "acl_notebook"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def child(tree: Path, case: str, path: Path, repeat: int) -> float:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tree), case, str(path), str(repeat)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def cold(cmd: list[str], env: dict) -> float:
    import time

    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-rev", default=OLD_REV, help=f"git revision of the previous code (default {OLD_REV})")
    parser.add_argument("--rounds", type=int, default=5, help="alternating old/new rounds (default 5)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per child (default 15)")
    parser.add_argument("--cold", type=int, default=20, help="cold CLI starts per variant (default 20)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = write_models(tmp)
        trees = {"new": ROOT, "old": export_old(args.old_rev, tmp)}
        runs: dict[tuple, list[float]] = {}
        plan = [("inspect_path", t) for t in trees] + [("inspect_bytes", "new"), ("inspect_mmap", "new"),
                                                      ("inspect_bytes", "old"), ("slim_bare", "new"),
                                                      ("cycle_bytes", "new"), ("cycle_path", "new"),
                                                      ("cycle_bytes", "old"), ("cycle_path", "old")]
        for _ in range(args.rounds):
            for label, path in models.items():
                big = "100k" in label
                for case, tree in plan:
                    if big and case.startswith("cycle"):
                        continue  # 100k ops: the op-count curve only
                    repeat = max(3, args.repeat // (10 if big else 1))
                    runs.setdefault((label, case, tree), []).append(child(trees[tree], case, path, repeat))
        med = {k: statistics.median(v) for k, v in runs.items()}
        rows = [("model", "case", "new", "old", "ratio")]

        def ms(x: float) -> str:
            return f"{x * 1e3:.2f} ms"

        for label in models:
            m = {(c, t): v for (lab, c, t), v in med.items() if lab == label}
            rows.append((label, "inspect(path), new / old", ms(m["inspect_path", "new"]), ms(m["inspect_path", "old"]),
                         f"{m['inspect_path', 'new'] / m['inspect_path', 'old']:.2f}x"))
            rows.append((label, "inspect(bytes) / bare slim ParseFromString", ms(m["inspect_bytes", "new"]),
                         ms(m["slim_bare", "new"]), f"{m['inspect_bytes', 'new'] / m['slim_bare', 'new']:.2f}x"))
            rows.append((label, "inspect(memoryview(mmap)) / inspect(bytes)", ms(m["inspect_mmap", "new"]), "",
                         f"{m['inspect_mmap', 'new'] / m['inspect_bytes', 'new']:.2f}x"))
            rows.append((label, "inspect(path) / inspect(bytes)", "", "",
                         f"new {m['inspect_path', 'new'] / m['inspect_bytes', 'new']:.2f}x, "
                         f"old {m['inspect_path', 'old'] / m['inspect_bytes', 'old']:.2f}x"))
            if ("cycle_bytes", "new") in m:
                for src in ("bytes", "path"):
                    new = m[f"cycle_{src}", "new"] / m[f"inspect_{src}", "new"]
                    old = m[f"cycle_{src}", "old"] / m[f"inspect_{src}", "old"]
                    rows.append((label, f"sim load+unload / inspect, from {src}", ms(m[f"cycle_{src}", "new"]),
                                 ms(m[f"cycle_{src}", "old"]), f"new {new:.2f}x, old {old:.2f}x"))
        per_op = {lab: med[lab, "inspect_path", t] for lab in models if "ops" in lab for t in ("new",)}
        for t in ("new", "old"):
            curve = ", ".join(f"{lab.split()[1]}: {med[lab, 'inspect_path', t] / int(lab.split()[1][:-1]) * 1e3:.2f} "
                              "us/kop" for lab in models if "ops" in lab)
            rows.append(("writer models", f"inspect(path) per 1k ops ({t})", curve, "", ""))
        del per_op

        env_new = dict(os.environ, PYTHONPATH=str(trees["new"]))
        env_old = dict(os.environ, PYTHONPATH=str(trees["old"]))
        small = str(models["a3c_pong_model_v2"])
        cli = [sys.executable, "-c", "import sys; from acl_notebook.__main__ import main; sys.exit(main(sys.argv[1:]))",
               "inspect", "--json", small]
        ipy = [sys.executable, "-c", "import IPython"]
        times: dict[str, list[float]] = {"new": [], "old": [], "ipython": []}
        for _ in range(args.cold):
            times["new"].append(cold(cli, env_new))
            times["old"].append(cold(cli, env_old))
            times["ipython"].append(cold(ipy, env_new))
        c = {k: statistics.median(v) for k, v in times.items()}
        rows.append(("a3c", "cold `inspect --json` / `import IPython`", ms(c["new"]), ms(c["old"]),
                     f"new {c['new'] / c['ipython']:.2f}x, old {c['old'] / c['ipython']:.2f}x "
                     f"(IPython {ms(c['ipython'])})"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} CPUs, previous code: {args.old_rev}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
