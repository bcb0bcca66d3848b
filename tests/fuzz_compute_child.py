"""A bounded, deterministic fuzz of the compute side: random small graphs whose declared
shapes and attrs are drawn from hostile pools (huge, negative and zero dims; inf, NaN and
out-of-range attrs), run through `acl.reference` and a simulator run.

usage: python fuzz_compute_child.py LIMIT_MIB HOST_MIB SEED CASES

Run by tests/test_fuzz_compute.py in a child process, under an address-space limit and
with the host pretending to have HOST_MIB available (so the budget's memory refusals are
exercised at small sizes). Prints one JSON summary: outcome counts, the exceptions outside
the contract (with the case to replay), the slowest case (in CPU time: the machine may be
busy) and the largest traced peak.
"""

from __future__ import annotations

import json
import random
import resource
import struct
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
from graph_builder import Graph  # noqa: E402

import acl_notebook as acl  # noqa: E402
from acl_notebook import hostbuf  # noqa: E402
from acl_notebook.om.opgraph import Tensor  # noqa: E402

DIMS = (0, 1, 2, 3, 4, 7, -1, -5, 2**16, 2**20, 2**31, 2**40)
INTS = (0, 1, -1, 2, 3, 5, 2**16, 2**31, 2**62, -(2**62))
FLOATS = (float("inf"), float("-inf"), float("nan"), 0.5, -2.0)
UNARY = ("Relu", "Neg", "Sigmoid", "Exp", "Sqrt", "Cast", "Reshape", "Identity", "Tile", "Fill", "BroadcastTo",
         "ConstantOfShape", "Range")
BINARY = ("Add", "Mul", "RealDiv", "Maximum", "Sub")


def _int(rng: random.Random):
    return rng.choice(INTS) if rng.random() < 0.8 else rng.choice(FLOATS)


def _ints(rng: random.Random, n: int) -> list:
    return [_int(rng) if rng.random() < 0.5 else rng.randint(0, 3) for _ in range(n)]


def _attrs(kind: str, rng: random.Random) -> dict:
    if kind == "ConcatD":
        return {"concat_dim": _int(rng)}
    if kind == "PadD":
        return {"paddings": [[rng.choice((0, 1, _int(rng))), rng.choice((0, 2, _int(rng)))] for _ in range(4)]}
    if kind in ("ReduceSumD", "ReduceMaxD", "SoftmaxV2"):
        return {"axes": _ints(rng, rng.randint(1, 2)), "keep_dims": rng.random() < 0.5}
    if kind == "TransposeD":
        return {"perm": rng.choice(([0, 1, 3, 2], _ints(rng, 4)))}
    if kind == "StridedSliceD":
        return {"begin": _ints(rng, 4), "end": _ints(rng, 4), "strides": _ints(rng, 4)}
    if kind in ("Conv2D", "MaxPoolV3", "AvgPoolV2"):
        ones = [1, 1, 1, 1]
        out = {"strides": rng.choice((ones, [1, 1] + _ints(rng, 2))), "pads": rng.choice(([0] * 4, _ints(rng, 4))),
               "data_format": "NCHW"}
        if kind == "Conv2D":
            out.update(dilations=rng.choice((ones, [1, 1] + _ints(rng, 2))), groups=rng.choice((1, _int(rng))))
        else:
            out.update(ksize=[1, 1] + _ints(rng, 2), padding_mode="CALCULATED")
        return out
    if kind in ("ResizeBilinearV2D", "ResizeNearestNeighborV2D"):
        return {"align_corners": rng.random() < 0.5, "size": _ints(rng, 2)}
    if kind == "MatMulV2":
        return {"transpose_x1": rng.random() < 0.5, "transpose_x2": rng.random() < 0.5}
    if kind == "LeakyRelu":
        return {"negative_slope": rng.choice(FLOATS)}
    if kind in ("Conv2DTransposeD", "DepthwiseConv2D"):
        return {"strides": [1, 1] + _ints(rng, 2), "pads": _ints(rng, 4), "dilations": [1, 1, 1, 1],
                "groups": rng.choice((1, _int(rng))), "data_format": "NCHW"}
    if kind in ("Scale", "FullyConnection"):
        return {"axis": _int(rng)}
    if kind == "SplitD":
        return {"split_dim": _int(rng), "num_split": 1}
    if kind == "ArgMaxV2":
        return {"dimension": _int(rng)}
    return {}


KINDS = UNARY + BINARY + (
    "ConcatD", "PadD", "ReduceSumD", "ReduceMaxD", "SoftmaxV2", "TransposeD", "StridedSliceD", "Conv2D",
    "DepthwiseConv2D", "Conv2DTransposeD", "MaxPoolV3", "AvgPoolV2", "ResizeBilinearV2D", "ResizeNearestNeighborV2D",
    "MatMulV2", "BatchMatMulV2", "FullyConnection", "LeakyRelu", "BiasAdd", "PRelu", "Scale", "ClipByValue",
    "ArgMaxV2", "SplitD", "Pad")
PAIRS = ("ConcatD", "Conv2D", "DepthwiseConv2D", "Conv2DTransposeD", "MatMulV2", "BatchMatMulV2", "FullyConnection",
         "BiasAdd", "PRelu", "Scale", "Pad")


def build(rng: random.Random) -> bytes:
    """One random graph: x [1,2,4,4] NCHW, one to four ops over earlier tensors, declared shapes
    either plausible or drawn from `DIMS`."""
    g = Graph()
    g.input("x", (1, 2, 4, 4), "float32", "NCHW")
    names, shapes = ["x"], {"x": (1, 2, 4, 4)}
    for i in range(rng.randint(1, 4)):
        kind = rng.choice(KINDS)
        arity = 3 if kind == "ClipByValue" else 2 if kind in BINARY + PAIRS else 1
        inputs = [rng.choice(names) for _ in range(arity)]
        if rng.random() < 0.5:
            shape = shapes[inputs[0]]
        else:
            shape = tuple(rng.choice(DIMS) if rng.random() < 0.6 else rng.randint(1, 4)
                          for _ in range(rng.choice((1, 2, 4, 4))))
        layout = "NCHW" if len(shape) == 4 else "ND"
        name = f"op{i}"
        g.op(name, kind, inputs, Tensor(shape, "float32", layout, layout), **_attrs(kind, rng))
        names.append(name)
        shapes[name] = shape
    return g.build(names[-1])


def main() -> None:
    limit_mib, host_mib, seed, cases = (int(v) for v in sys.argv[1:5])
    hostbuf._free_memory = lambda: 0  # every host check asks, and the host has HOST_MIB
    hostbuf.host_available_memory = lambda: host_mib << 20
    from acl_notebook.cpu_reference import budget

    budget.MAX_WORK = 10**9  # a second or so: every case stays short, and the bound is reached
    from acl_notebook.cpu_reference.budget import ReferenceLimitError
    from acl_notebook.runner.errors import InputError, InputTypeError
    from acl_notebook.runtime.errors import AclError
    from acl_notebook.session import DeviceMemoryError

    allowed_ref = (acl.OMFormatError, acl.HostMemoryError, ReferenceLimitError)
    allowed_run = (acl.OMFormatError, acl.HostMemoryError, AclError, DeviceMemoryError, InputError, InputTypeError)
    acl.configure(backend="sim", memory=1 << 40)
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + (limit_mib << 20),) * 2)
    counts: dict = {}
    escaped, slowest, peak = [], (0.0, None), (0, None)
    tracemalloc.start()
    _within_plan(build(random.Random(0)), [np.ones((1, 2, 4, 4), np.float32)], -1, [])  # imports outside the figures
    for case in range(cases):
        rng = random.Random(seed * 100_003 + case)
        try:
            data = build(rng)
        except (ValueError, TypeError, OverflowError, struct.error):  # the writer cannot write it (out of range)
            counts["unbuildable"] = counts.get("unbuildable", 0) + 1
            continue
        t0 = time.process_time()
        try:
            info = acl.inspect(data)
            x = [np.ones([max(d, 1) for d in t.dims], t.numpy_dtype or np.float32) for t in info.inputs]
            _within_plan(data, x, case, escaped)
            tracemalloc.reset_peak()
            out = acl.reference(data, x)
        except allowed_ref as exc:
            key = f"reference {type(exc).__name__}"
            if not str(exc) or "\n" in str(exc):
                escaped.append((case, key, str(exc)[:200]))
        except BaseException as exc:  # outside the contract: reported with the case to replay
            key = "escaped"
            escaped.append((case, f"reference {type(exc).__name__}", str(exc)[:200]))
        else:
            key = f"reference {out.fidelity}"
            if out.fidelity != "computed" and not out.notes:
                escaped.append((case, "unlabelled", out.fidelity))
        counts[key] = counts.get(key, 0) + 1
        traced = tracemalloc.get_traced_memory()[1]  # the reference's own peak (the simulator's blocks apart)
        if traced > peak[0]:
            peak = (traced, case)
        if case % 3 == 0:
            key = _run(data, case, allowed_run, escaped)
            counts[key] = counts.get(key, 0) + 1
        spent = time.process_time() - t0
        if spent > slowest[0]:
            slowest = (spent, case)
    print(json.dumps({"counts": counts, "escaped": escaped, "slowest": slowest, "peak": peak,
                      "models_left": len(acl.models())}))


def _within_plan(data: bytes, x: list, case: int, escaped: list) -> None:
    """The interpreter's traced peak for this run stays within what its budget planned (the
    plan must bound what numpy allocates, or the host check before it means nothing)."""
    from acl_notebook.cpu_reference import Interpreter
    from acl_notebook.cpu_reference.inputs import normalize

    try:
        model = Interpreter(data)
        arrays = normalize(x, model.info.inputs)
    except (acl.OMFormatError, ValueError):
        return  # what `reference` says about it is checked next
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        model.run(arrays)
    except BaseException:
        return
    used = tracemalloc.get_traced_memory()[1] - base
    planned = max((p.peak for p in model._plans.values()), default=0)
    if used > planned + (64 << 10):  # the Python objects of a first run (its ops planned then)
        escaped.append((case, "more than planned", f"traced {used} bytes, planned {planned}"))


def _run(data: bytes, case: int, allowed: tuple, escaped: list) -> str:
    try:
        model = acl.load(data, force=True)
    except allowed as exc:
        return f"load {type(exc).__name__}"
    except BaseException as exc:
        escaped.append((case, f"load {type(exc).__name__}", str(exc)[:200]))
        return "escaped"
    try:
        out = model.run([np.ones([max(d, 1) for d in t.dims], t.numpy_dtype or np.float32) for t in model.inputs])
    except allowed as exc:
        return f"run {type(exc).__name__}"
    except BaseException as exc:
        escaped.append((case, f"run {type(exc).__name__}", str(exc)[:200]))
        return "escaped"
    finally:
        acl.unload(model)
    if out.fidelity != "computed" and not out.notes:
        escaped.append((case, "run unlabelled", out.fidelity))
    return f"run {out.fidelity}"


if __name__ == "__main__":
    main()
