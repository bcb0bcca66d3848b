"""CPU reference: time and peak memory per run, and what im2col / layout work add over the GEMMs.

Models: the two shared real models, and a writer-built ResNet-50 (224x224, bottlenecks
3-4-6-3, fp16 weights in FRACTAL_Z, NC1HWC0 activations, residual adds fused into the convs
as FixPipe does, 25.5 M parameters). For the ResNet every conv's time is set beside numpy's
own GEMM of the same matrices (``W[O, C*k*k] @ cols[C*k*k, Ho*Wo]``, timed alone), and the
layout work (TransData, weight decoding from FRACTAL_Z) is timed apart.

Run: python benchmarks/bench_reference.py  (about a minute on two busy cores); `--load-only`: only
the RSS a simulator load of the ResNet-50 keeps, from a path, bytes and a bytearray (seconds);
`--plan [REV]`: only how close the memory plan (`cpu_reference/budget.py`) is to the traced peak
of a run, and what the plan costs, on the shared models and one writer graph per kernel family
(tests/budget_graphs.py), this code beside the code at REV (default `f6a8493`, the blanket plan);
`--checks [REV]`: only what the hostile-file bounds cost a normal run (issue 13: the budget planned
before a run, the kernels' size checks): the same runs with the budget switched off in this
process, and against the code at REV (default `6f7a518`, before them, exported with `git archive`)
in child processes taking turns, CPU time per run (a few minutes).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from bench_decode import export_old  # the previous tree, as git archive exports it

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acl_notebook.cpu_reference import open_model  # noqa: E402
from acl_notebook.cpu_reference.interpreter import Interpreter  # noqa: E402
from acl_notebook.om import ModelSpec, TensorSpec, write_om  # noqa: E402
from acl_notebook.om.opgraph import ConstSpec, OpSpec, Tensor  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"


def resnet50() -> bytes:
    rng = np.random.default_rng(0)
    consts, ops = [], []
    shape = {"x5": (1, 3, 224, 224)}

    def act(c, h):
        return Tensor((1, c, h, h), "float16", "NC1HWC0", "NCHW")

    def conv(name, src, cout, k, stride, relu=True, residual=None):
        _, cin, h, _ = shape[src]
        pad = k // 2
        out = (h + 2 * pad - k) // stride + 1
        w = (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2 / (cin * k * k))).astype(np.float16)
        consts.append(ConstSpec(f"{name}_w", w, "FRACTAL_Z", "NCHW"))
        consts.append(ConstSpec(f"{name}_b", np.zeros(cout, np.float16)))
        inputs = [src, f"{name}_w", f"{name}_b", ""]
        types = ["Relu"] if relu else []
        if residual is not None:
            inputs += [residual] + [""] * 8
            types = ["Add", "Relu"]
        ops.append(OpSpec(name, "Conv2D", inputs, [act(cout, out)],
                          dict(strides=[1, 1, stride, stride], pads=[pad] * 4, dilations=[1, 1, 1, 1], groups=1,
                               data_format="NCHW", _datadump_original_op_types=types)))
        shape[name] = (1, cout, out, out)
        return name

    ops.append(OpSpec("x5", "TransData", ["x"], [act(3, 224)]))
    x = conv("stem", "x5", 64, 7, 2)
    ops.append(OpSpec("pool", "MaxPoolV3", [x], [act(64, 56)],
                      dict(ksize=[1, 1, 3, 3], strides=[1, 1, 2, 2], padding_mode="CALCULATED", pads=[1, 1, 1, 1],
                           data_format="NCHW")))
    shape["pool"] = (1, 64, 56, 56)
    x = "pool"
    for stage, (blocks, width) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        for b in range(blocks):
            stride = 2 if b == 0 and stage > 0 else 1
            name = f"s{stage}b{b}"
            short = x
            if b == 0:
                short = conv(f"{name}_down", x, width * 4, 1, stride, relu=False)
            y = conv(f"{name}_a", x, width, 1, 1)
            y = conv(f"{name}_b", y, width, 3, stride)
            x = conv(f"{name}_c", y, width * 4, 1, 1, residual=short)
    ops.append(OpSpec("gap", "AvgPoolV2", [x], [act(2048, 1)],
                      dict(ksize=[1, 1, 7, 7], strides=[1, 1, 1, 1], padding_mode="VALID", pads=[0, 0, 0, 0],
                           data_format="NCHW")))
    fc = (rng.standard_normal((1000, 2048, 1, 1)) * 0.02).astype(np.float16)
    consts.append(ConstSpec("fc_w", fc, "FRACTAL_Z", "NCHW"))
    consts.append(ConstSpec("fc_b", np.zeros(1000, np.float16)))
    ops.append(OpSpec("fc", "FullyConnection", ["gap", "fc_w", "fc_b"], [Tensor((1, 1000), "float16", "ND")],
                      dict(num_output=1000, transpose=False, axis=1)))
    return write_om(ModelSpec(name="resnet50_ref", inputs=[TensorSpec("x", (1, 3, 224, 224), "float16", "NCHW")],
                              outputs=[TensorSpec("fc:0", (1, 1000), "float16", "ND")], consts=consts, ops=ops))


def inputs_for(model: Interpreter, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(t.dims).astype(t.numpy_dtype) for t in model.info.inputs]


def per_run(model: Interpreter, x: list, runs: int) -> tuple[float, float]:
    """Median seconds per run and peak traced memory (MiB) of one run."""
    model.run(x)  # plans and imports outside the figures
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        model.run(x)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    model.run(x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def breakdown(model: Interpreter, x: list, repeats: int = 3) -> dict:
    """Seconds by op type (each op's best of `repeats` runs), weight decoding apart, and each
    conv's GEMM timed alone on warm arrays of the same sizes (best of `repeats`)."""
    from acl_notebook.cpu_reference.ops import conv as conv_ops

    best: dict[tuple[str, str], float] = {}
    gemms: dict[str, tuple[int, int, int]] = {}
    current: list[str] = [""]
    real_execute, real_const, real_im2col = model._execute, model._const_value, conv_ops._im2col

    def record(key, seconds):
        best[key] = min(best.get(key, seconds), seconds)

    def execute(node, xs):
        current[0] = node.name
        t0 = time.perf_counter()
        try:
            return real_execute(node, xs)
        finally:
            record((node.type, node.name), time.perf_counter() - t0)

    def const(node):
        t0 = time.perf_counter()
        try:
            return real_const(node)
        finally:
            record(("weights (FRACTAL_Z decode)", node.name), time.perf_counter() - t0)

    def im2col(*args):
        cols = real_im2col(*args)
        gemms[current[0]] = cols.shape
        return cols

    model._execute, model._const_value, conv_ops._im2col = execute, const, im2col
    try:
        for _ in range(repeats):
            model.run(x)
    finally:
        model._execute, model._const_value, conv_ops._im2col = real_execute, real_const, real_im2col
    spent: dict[str, float] = {}
    for (kind, _name), seconds in best.items():
        spent[kind] = spent.get(kind, 0.0) + seconds
    rng = np.random.default_rng(1)
    gemm = 0.0
    for node in (n for n in model.graph.nodes if n.type == "Conv2D"):
        k, m = gemms[node.name]
        o = node.output_descs[0].logical_shape[1]
        w, cols = rng.standard_normal((o, k)).astype(np.float32), rng.standard_normal((k, m)).astype(np.float32)
        out = np.empty((o, m), np.float32)
        np.matmul(w, cols, out=out)  # warm
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.matmul(w, cols, out=out)
            times.append(time.perf_counter() - t0)
        gemm += min(times)
    spent["GEMM alone (same sizes)"] = gemm
    return spent


def load_growth(blob: bytes, tmp: Path) -> list[tuple[str, float]]:
    """RSS growth (MiB) of a simulator load of `blob`, each in a fresh process, by source: a
    settled path and bytes are held (nothing copied until the first run), a bytearray has the
    weights its graph reads copied at load, as an NPU copies them to device memory."""
    import json
    import subprocess

    path = tmp / "resnet50_ref.om"
    path.write_bytes(blob)
    time.sleep(2.6)  # settled, as a model file on disk is (hostbuf.FileStamp)
    here = str(Path(__file__).resolve().parent)
    code = (
        f"import sys, json; sys.path.insert(0, {here!r}); from memtools import rss_now; "
        f"import acl_notebook as acl; acl.configure(backend='sim'); p = {str(path)!r}; "
        "src = p if sys.argv[1] == 'path' else open(p, 'rb').read(); "
        "src = bytearray(src) if sys.argv[1] == 'bytearray' else src; "
        "before = rss_now(); m = acl.load(src); print(json.dumps((rss_now() - before) / 2**20))"
    )
    out = []
    for kind in ("path", "bytes", "bytearray"):
        res = subprocess.run([sys.executable, "-c", code, kind], capture_output=True, text=True, check=True)
        out.append((kind, json.loads(res.stdout.strip().splitlines()[-1])))
    return out


def deep_chain(n: int) -> bytes:
    """n Neg ops in a row on a [1,64] float32: per-op costs (planning, checks) with no arithmetic to hide them."""
    ops, prev = [], "x"
    for i in range(n):
        ops.append(OpSpec(f"n{i}", "Neg", [prev], [Tensor((1, 64), "float32", "ND", "ND")]))
        prev = f"n{i}"
    return write_om(ModelSpec(name="deep", inputs=[TensorSpec("x", (1, 64), "float32", "ND")],
                              outputs=[TensorSpec(f"{prev}:0", (1, 64), "float32", "ND")], ops=ops))


def _check_models() -> list[tuple[str, bytes, int]]:
    """(name, bytes, warm runs per turn) of the models the checks' cost is measured on."""
    return [("a3c_pong_model_v2", (SHARED / "a3c_pong_model_v2.om").read_bytes(), 50),
            ("my_122_anenet", (SHARED / "my_122_anenet.om").read_bytes(), 2),
            ("resnet50 (writer)", resnet50(), 2),
            ("5000 Neg ops (writer)", deep_chain(5000), 10)]


def budget_cost(repeat: int = 200) -> list[tuple[str, float, float, float, float]]:
    """(model, plan seconds, check seconds, first-run seconds, warm-run seconds): the budget's two
    steps timed alone (best of `repeat`) beside runs of the same interpreter in this process. The
    plan is made at a model's first run (its ops are planned then rather than one by one during
    it) and kept; every run pays the check (a host-memory question)."""
    return [(name, *_budget_one(blob, runs, repeat)) for name, blob, runs in _check_models()]


def _budget_one(blob: bytes, runs: int, repeat: int) -> tuple[float, float, float, float]:
    from acl_notebook.cpu_reference import budget
    from acl_notebook.cpu_reference.interpreter import _SOURCES, PLACEHOLDER

    model = Interpreter(blob)
    x = inputs_for(model)
    t0 = time.perf_counter()
    model.run(x)
    first = time.perf_counter() - t0
    order = model._needed(set())
    plan_s = min(_timed(lambda: budget.plan(order, model.step, lambda n: n.type in _SOURCES, PLACEHOLDER))
                 for _ in range(max(repeat // 20, 3)))
    kept = next(iter(model._plans.values()))
    check_s = min(_timed(lambda: budget.check(kept)) for _ in range(repeat))
    warm = min(_timed(lambda: model.run(x)) for _ in range(runs))
    return plan_s, check_s, first, warm


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from acl_notebook.cpu_reference import Interpreter
data = open(sys.argv[2], "rb").read()
runs = int(sys.argv[3])
model = Interpreter(data)
rng = np.random.default_rng(0)
x = [rng.standard_normal(t.dims).astype(t.numpy_dtype) for t in model.info.inputs]
t0 = time.process_time()
model.run(x)
first = time.process_time() - t0
times = []
for _ in range(runs):
    t0 = time.process_time()
    model.run(x)
    times.append(time.process_time() - t0)
print(json.dumps([first, statistics.median(times), model.run(x).fidelity]))
"""


def against_previous(rev: str, rounds: int = 3) -> list[tuple[str, float, float, float, str]]:
    """(model, warm new/previous, first-run new/previous, new warm seconds, fidelity): child
    processes of this tree and of `rev`'s, taking turns, CPU time, medians over `rounds`."""
    root = Path(__file__).resolve().parents[1]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        old = export_old(rev, Path(tmp))
        # one BLAS thread: idle BLAS threads spin, which a busy machine turns into noise on CPU time
        env = {**os.environ, "PYTHONPATH": "", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        for name, blob, runs in _check_models():
            path = Path(tmp) / "model.om"
            path.write_bytes(blob)
            got: dict[str, list] = {"new": [], "old": []}
            for _ in range(rounds):
                for label, tree in (("new", root), ("old", old)):
                    done = subprocess.run([sys.executable, "-c", _CHILD, str(tree), str(path), str(runs)], check=True,
                                          capture_output=True, text=True, cwd=tmp, env=env)
                    got[label].append(json.loads(done.stdout))
            med = {k: [statistics.median(r[i] for r in v) for i in (0, 1)] for k, v in got.items()}
            out.append((name, med["new"][1] / med["old"][1], med["new"][0] / med["old"][0], med["new"][1],
                        got["new"][0][2]))
    return out


_PLAN_CHILD = """
import gc, json, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import numpy as np
import acl_notebook as acl
import acl_notebook.cpuref, acl_notebook.runner.outputs  # imported outside the figures
from acl_notebook.cpu_reference import budget, open_model
from acl_notebook.cpu_reference.interpreter import _SOURCES, PLACEHOLDER
from budget_graphs import FAMILIES
from bench_reference import SHARED, deep_chain, resnet50

def one(source, x):
    model = open_model(source)
    if x is None:
        rng = np.random.default_rng(0)
        x = [rng.standard_normal(t.dims).astype(t.numpy_dtype) for t in model.info.inputs]
    t0 = time.perf_counter()
    acl.reference(model, x)
    first = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    acl.reference(model, x)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    (plan,) = model._plans.values()
    order = model._needed(set())
    spent = []
    for _ in range(5):
        t0 = time.perf_counter()
        budget.plan(order, model.step, lambda n: n.type in _SOURCES, PLACEHOLDER)
        spent.append(time.perf_counter() - t0)
    return [plan.peak, traced, min(spent), first]

cases = [(name, str(SHARED / (name + ".om")), None) for name in ("a3c_pong_model_v2", "my_122_anenet")]
cases += [("resnet50 (writer)", resnet50(), None), ("5000 Neg ops (writer)", deep_chain(5000), None)]
cases += [(name, *build()) for name, build in FAMILIES.items()]
print(json.dumps({name: one(src, x) for name, src, x in cases}))
"""


def plan_against(rev: str) -> dict[str, tuple[list, list]]:
    """case -> ([planned, traced, plan seconds, first-run seconds] of this tree, the same of
    `rev`'s): the shared models, the writer ResNet-50, a 5000-op chain and one writer graph per
    kernel family (tests/budget_graphs.py), each tree in its own child process."""
    root = Path(__file__).resolve().parents[1]
    got = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = export_old(rev, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(root / "benchmarks"), "OPENBLAS_NUM_THREADS": "1"}
        for label, tree in (("new", root), ("old", old)):
            done = subprocess.run([sys.executable, "-c", _PLAN_CHILD, str(tree), str(root / "tests")], check=True,
                                  capture_output=True, text=True, cwd=tmp, env=env)
            got[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return {name: (got["new"][name], got["old"][name]) for name in got["new"]}


def print_plan(rev: str) -> None:
    head = f"{'case':40s} {'this code: plan / traced MiB':>30s} {rev + ': plan / traced':>26s}"
    print(f"{head}  plan cost (this / {rev})")
    for name, (new, old) in plan_against(rev).items():
        mib = 2**20
        print(f"{name:40s} {new[0] / mib:8.2f} / {new[1] / mib:6.2f} = {new[0] / new[1]:4.2f}x "
              f"{old[0] / mib:8.2f} / {old[1] / mib:6.2f} = {old[0] / old[1]:4.2f}x  "
              f"{new[2] * 1e3:6.3f} ms / {old[2] * 1e3:6.3f} ms ({new[2] / old[2]:.2f}x; "
              f"{new[2] / new[3] * 100:.1f}% of a first run)")


def print_checks_cost(rev: str) -> None:
    for name, plan_s, check_s, first, warm in budget_cost():
        print(f"{name:24s} budget plan {plan_s * 1e6:.0f} us (first run {first * 1000:.1f} ms: "
              f"{(first + plan_s) / first:.3f}x), check {check_s * 1e6:.1f} us (warm run {warm * 1000:.1f} ms: "
              f"{(warm + check_s) / warm:.4f}x)")
    for name, warm, first, seconds, fidelity in against_previous(rev):
        print(f"{name:24s} this code / {rev}: warm run {warm:.3f}x ({seconds * 1000:.1f} ms CPU), "
              f"first run {first:.3f}x ({fidelity})")


def main() -> None:

    if "--load-only" in sys.argv:  # only what a load keeps, by source (seconds, not minutes)
        return print_load_growth()
    if "--plan" in sys.argv:  # only how close the memory plan is to the traced peak, against REV
        at = sys.argv.index("--plan")
        return print_plan(sys.argv[at + 1] if len(sys.argv) > at + 1 else "f6a8493")
    if "--checks" in sys.argv:  # only what the hostile-file bounds cost a normal run
        at = sys.argv.index("--checks")
        return print_checks_cost(sys.argv[at + 1] if len(sys.argv) > at + 1 else "6f7a518")
    rows = []
    models = [("a3c_pong_model_v2", open_model(SHARED / "a3c_pong_model_v2.om"), 20),
              ("my_122_anenet", open_model(SHARED / "my_122_anenet.om"), 3),
              ("resnet50 (writer)", Interpreter(resnet50()), 3)]
    for name, model, runs in models:
        x = inputs_for(model)
        seconds, peak = per_run(model, x, runs)
        rows.append((name, seconds, peak, model.run(x).fidelity))
        print(f"{name:22s} {seconds * 1000:9.1f} ms/run  peak {peak:7.1f} MiB  ({rows[-1][3]})")
    resnet = models[2][1]
    spent = breakdown(resnet, inputs_for(resnet))
    conv, gemm = spent["Conv2D"], spent["GEMM alone (same sizes)"]
    layout = spent.get("TransData", 0.0) + spent["weights (FRACTAL_Z decode)"]
    print(f"resnet50 conv ops {conv:.3f} s vs their GEMMs alone {gemm:.3f} s: im2col, bias and post-ops add "
          f"{(conv - gemm) / gemm * 100:.0f}% (target <= 50%)")
    print(f"resnet50 layout work (TransData + FRACTAL_Z weight decoding) {layout:.3f} s = "
          f"{layout / gemm * 100:.0f}% of the GEMMs; with im2col {(conv - gemm + layout) / gemm * 100:.0f}%")
    for kind, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:32s} {s:.3f} s")
    print_load_growth()


def print_load_growth() -> None:
    import tempfile

    blob = resnet50()
    with tempfile.TemporaryDirectory() as tmp:
        for kind, grown in load_growth(blob, Path(tmp)):
            print(f"simulator load of the {len(blob) / 2**20:.1f} MiB ResNet-50 from {kind}: RSS +{grown:.1f} MiB")


if __name__ == "__main__":
    main()
