"""How long the digits demo takes to build, and what the CPU reference costs per image.

The issue's budget is a whole build (data generation, training, writing the .om) in under
30 s on the 2-core CI machine; each run here is a fresh interpreter (nothing cached), timed
phase by phase, and the figure is the median of `--runs`. The second part runs the held-back
images through the CPU reference (the simulator's answer) side by side with the plain
float32 numpy forward pass of the same weights, in one process, and reports the ratio:
what reading the graph from the file (layouts, fused ops, fp16 storage) adds over numpy.

    python benchmarks/bench_demo.py [--runs 3] [--images 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

_BUILD = textwrap.dedent("""
    import json, time
    c0 = time.process_time()
    t0 = time.perf_counter()
    from acl_notebook.demo.data import make_digits
    from acl_notebook.demo import digits, train
    from acl_notebook.om.writer import write_om
    t1 = time.perf_counter()
    x, y = make_digits(digits.TRAIN_SAMPLES, seed=1)
    xt, yt = make_digits(digits.HELD_BACK, seed=2)
    t2 = time.perf_counter()
    weights, losses = train.train(x, y, seed=0)
    accuracy = float((train.predict(weights, xt) == yt).mean())
    t3 = time.perf_counter()
    run = digits.Trained(weights, accuracy, xt, yt, tuple(losses), t3 - t1)
    om = write_om(digits.spec(run, gears=digits.DEFAULT_GEARS))
    t4 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "data": t2 - t1, "train + held-back accuracy": t3 - t2,
                      "write the .om (gears 1/4/8)": t4 - t3, "total": t4 - t0,
                      "total CPU time (what a quiet machine's wall time would be)": time.process_time() - c0,
                      "accuracy": accuracy}))
""")


def build_figures(runs: int) -> dict:
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _BUILD], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def reference_figures(images: int) -> dict:
    import numpy as np

    from acl_notebook.cpu_reference import open_model, reference
    from acl_notebook.demo import digits

    model = digits.build()
    interp = open_model(model.om)
    x = model.images[:images].astype(np.float16)
    reference(interp, x[:8])  # plan once
    t0 = time.perf_counter()
    got = np.concatenate([reference(interp, x[i:i + 8]).outputs[0] for i in range(0, len(x), 8)])
    t1 = time.perf_counter()
    want = np.concatenate([model.probabilities(x[i:i + 8].astype(np.float32)) for i in range(0, len(x), 8)])
    t2 = time.perf_counter()
    return {
        "images": len(x),
        "reference ms / batch of 8": 1000 * (t1 - t0) / (len(x) / 8),
        "numpy float32 ms / batch of 8": 1000 * (t2 - t1) / (len(x) / 8),
        "ratio reference / numpy": (t1 - t0) / (t2 - t1),
        "same class": float((got.argmax(1) == want.argmax(1)).mean()),
        "max |difference|": float(np.abs(got - want).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    build = build_figures(args.runs)
    print(f"digits demo build, median of {args.runs} fresh interpreters (budget: 30 s); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:")
    for k, v in build.items():
        print(f"  {k:<60} {v:.3f}" + ("" if k == "accuracy" else " s"))
    ref = reference_figures(args.images)
    print("CPU reference vs plain numpy, held-back images in batches of 8 (one process):")
    for k, v in ref.items():
        print(f"  {k:<60} {v:.4g}")


if __name__ == "__main__":
    main()
