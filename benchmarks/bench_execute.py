"""Run overhead: `m(x)` against a bare ctypes sequence of the same ACL calls, on the C test library.

Run: python benchmarks/bench_execute.py [--runs 200] [--big-runs 20]

Both sides drive the same compiled libascendcl stand-in (tests/abi/fakeacl.c, which
really computes every output byte from the input bytes in C) on the same loaded model,
in the same context:

- bare: aclrtMemcpy H2D, aclmdlExecute, aclrtMemcpy D2H into a preallocated array, with
  the buffers, data buffers and datasets made once beforehand (what a careful C++ client
  such as ais_bench does);
- ours: ``m(x)``: input checks, the same three calls on the model's reused buffers, the
  output-dims bookkeeping, a fresh output array and the `Outputs` object.

The two are timed interleaved (one of each, repeatedly) and the ratio of the medians is
reported for a 1 MiB and a 64 MiB float32 input (targets: <= 1.5x and <= 1.05x), with the
ratio of the best runs beside it (less sensitive to a busy machine). Also
checked: the pointer `m(x)` hands to aclrtMemcpy is the array's own address (zero host
copies), and the number of aclrtMalloc calls does not grow across runs.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the C library's build helper lives with the tests

MiB = 1 << 20
H2D, D2H = 1, 2


def _bare(lib: ctypes.CDLL, model_id: int, nbytes: int):
    """Set up buffers once; return a function doing one bare run, and a cleanup."""
    c = ctypes
    vp, sz = c.c_void_p, c.c_size_t
    for name, res, args in (
        ("aclrtMalloc", c.c_int, [c.POINTER(vp), sz, c.c_int]), ("aclrtFree", c.c_int, [vp]),
        ("aclrtMemcpy", c.c_int, [vp, sz, vp, sz, c.c_int]), ("aclCreateDataBuffer", vp, [vp, sz]),
        ("aclDestroyDataBuffer", c.c_int, [vp]), ("aclmdlCreateDataset", vp, []),
        ("aclmdlDestroyDataset", c.c_int, [vp]), ("aclmdlAddDatasetBuffer", c.c_int, [vp, vp]),
        ("aclmdlExecute", c.c_int, [c.c_uint32, vp, vp]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    dev_in, dev_out = vp(), vp()
    assert lib.aclrtMalloc(c.byref(dev_in), nbytes, 0) == 0 and lib.aclrtMalloc(c.byref(dev_out), nbytes, 0) == 0
    bufs = [lib.aclCreateDataBuffer(dev_in, nbytes), lib.aclCreateDataBuffer(dev_out, nbytes)]
    ins, outs = lib.aclmdlCreateDataset(), lib.aclmdlCreateDataset()
    lib.aclmdlAddDatasetBuffer(ins, bufs[0])
    lib.aclmdlAddDatasetBuffer(outs, bufs[1])
    memcpy, execute = lib.aclrtMemcpy, lib.aclmdlExecute

    def run(x, out) -> None:
        assert memcpy(dev_in, nbytes, x.ctypes.data, nbytes, H2D) == 0
        assert execute(model_id, ins, outs) == 0
        assert memcpy(out.ctypes.data, nbytes, dev_out, nbytes, D2H) == 0

    def cleanup() -> None:
        lib.aclmdlDestroyDataset(ins)
        lib.aclmdlDestroyDataset(outs)
        for b in bufs:
            lib.aclDestroyDataBuffer(b)
        lib.aclrtFree(dev_in)
        lib.aclrtFree(dev_out)

    return run, cleanup


def measure(size: int, runs: int, control, lib) -> dict:
    import numpy as np

    import acl_notebook as acl
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

    n = size // 4
    spec = ModelSpec(name=f"copy{size // MiB}m", soc_version="Ascend910B1", work_size=MiB, weight_size=MiB,
                     inputs=[TensorSpec("x", (n,), "float32", "ND")], outputs=[TensorSpec("y", (n,), "float32", "ND")])
    m = acl.load(write_om(spec))
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    out = np.empty_like(x)
    first = m(x)  # allocates the model's buffers
    log = control.memcpy_log()
    zero_copy = log[-2][1] == x.ctypes.data and log[-2][3] == H2D
    bare, cleanup = _bare(lib, m.id, size)
    bare(x, out)
    assert (out.view(np.uint8) == first[0].view(np.uint8)).all(), "both paths compute the same outputs"
    mallocs = control.calls("aclrtMalloc")
    ours_t, bare_t = [], []
    for _ in range(runs):
        t = time.perf_counter()
        m(x)
        ours_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare(x, out)
        bare_t.append(time.perf_counter() - t)
    allocations_constant = control.calls("aclrtMalloc") == mallocs
    cleanup()
    acl.unload(m)
    ours, base = statistics.median(ours_t), statistics.median(bare_t)
    return {"size_mib": size // MiB, "runs": runs, "ours_ms": ours * 1e3, "bare_ms": base * 1e3,
            "ratio": ours / base, "ratio_best": min(ours_t) / min(bare_t), "zero_copy": zero_copy,
            "allocations_constant": allocations_constant}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="interleaved pairs at 1 MiB")
    parser.add_argument("--big-runs", type=int, default=60, help="interleaved pairs at 64 MiB")
    args = parser.parse_args()
    from abi_lib import FakeAclControl, build_fake_acl, cann_root

    tmp = Path(tempfile.mkdtemp(prefix="bench-execute-"))
    library = build_fake_acl(tmp)
    os.environ["ASCEND_HOME_PATH"] = str(cann_root(library))
    control = FakeAclControl(library)
    control.reset()
    import acl_notebook as acl

    acl.configure(backend="acl")
    lib = ctypes.CDLL(str(library))
    rows = [measure(MiB, args.runs, control, lib), measure(64 * MiB, args.big_runs, control, lib)]
    target = {1: 1.5, 64: 1.05}
    print(f"{'input':>8} {'runs':>5} {'m(x) ms':>9} {'bare ms':>9} {'median':>7} {'best':>7} {'target':>7} "
          f"{'zero-copy':>9} {'allocs const':>12}")
    for r in rows:
        print(f"{r['size_mib']:>5} MiB {r['runs']:>5} {r['ours_ms']:>9.3f} {r['bare_ms']:>9.3f} {r['ratio']:>6.3f}x "
              f"{r['ratio_best']:>6.3f}x {'<=' + str(target[r['size_mib']]):>7} {str(r['zero_copy']):>9} "
              f"{str(r['allocations_constant']):>12}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
