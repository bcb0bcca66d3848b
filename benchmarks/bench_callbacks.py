"""What pyACL host callbacks cost per frame against synchronizing after every frame, side by side.

Run: python benchmarks/bench_callbacks.py [--frames 200] [--rounds 5]

The same frames, through ``import acl``, on the simulator and on the ctypes backend over
the C test library (tests/abi, compiled with gcc):

- *sync*: per frame, copy in, ``execute_async``, ``synchronize_stream``, copy out;
- *callbacks*: per frame, copy in, ``execute_async`` and ``launch_callback`` (blocking),
  whose callback copies the frame's output out on a thread from ``acl.util.start_thread``
  looping in ``process_report``; one ``synchronize_stream`` at the end.

Printed: the median microseconds per frame of each, in rounds that alternate, and the ratio
callbacks / sync. On a device the callback pattern keeps the NPU fed while the host reads
results; here the model's work is the simulator's (or the C library's) and the ratio is
the price of the callback machinery: the queue, the hand-over to the callback thread and
back, and on the ctypes backend the trampoline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the C library's build helper lives with the tests


def measure(acl, frames: int, rounds: int) -> tuple[float, float]:
    import numpy as np

    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

    om = write_om(ModelSpec(name="bench", inputs=[TensorSpec("x", (1, 3, 16, 16), "float32", "NCHW")],
                            outputs=[TensorSpec("y", (1, 10), "float32", "ND")]))
    assert acl.init() == 0 and acl.rt.set_device(0) == 0
    ctx, _ = acl.rt.create_context(0)
    stream, _ = acl.rt.create_stream()
    model_id, _ = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(om), len(om))
    x = np.random.default_rng(0).random((1, 3, 16, 16), dtype=np.float32).tobytes()
    xp = acl.util.bytes_to_ptr(x)
    out = bytes(40)
    op = acl.util.bytes_to_ptr(out)
    slots = []
    for _ in range(frames):  # each frame its own device buffers, as the samples keep them
        dev_in, _ = acl.rt.malloc(len(x), 0)
        dev_out, _ = acl.rt.malloc(40, 0)
        ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
        acl.mdl.add_dataset_buffer(ins, acl.create_data_buffer(dev_in, len(x)))
        acl.mdl.add_dataset_buffer(outs, acl.create_data_buffer(dev_out, 40))
        slots.append((dev_in, dev_out, ins, outs))
    state = {"exit": False}

    def loop(args):
        acl.rt.set_context(args[0])
        while not state["exit"]:
            acl.rt.process_report(100)

    tid, _ = acl.util.start_thread(loop, [ctx])
    while acl.rt.subscribe_report(tid, stream) != 0:  # the thread exists once start_thread returns
        time.sleep(0.001)

    def copy_out(slot):
        acl.rt.memcpy(op, 40, slot[1], 40, 2)

    def sync_each() -> None:
        for slot in slots:
            acl.rt.memcpy(slot[0], len(x), xp, len(x), 1)
            acl.mdl.execute_async(model_id, slot[2], slot[3], stream)
            acl.rt.synchronize_stream(stream)
            copy_out(slot)

    def with_callbacks() -> None:
        for slot in slots:
            acl.rt.memcpy(slot[0], len(x), xp, len(x), 1)
            acl.mdl.execute_async(model_id, slot[2], slot[3], stream)
            acl.rt.launch_callback(copy_out, slot, 1, stream)
        acl.rt.synchronize_stream(stream)

    per_frame = {sync_each: [], with_callbacks: []}
    for fn in per_frame:
        fn()  # warm up
    for _ in range(rounds):
        for fn, times in per_frame.items():
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) / frames * 1e6)
    acl.rt.unsubscribe_report(tid, stream)
    state["exit"] = True
    acl.util.stop_thread(tid)
    acl.mdl.unload(model_id)
    acl.rt.destroy_stream(stream)
    acl.rt.destroy_context(ctx)
    acl.rt.reset_device(0)
    acl.finalize()
    return statistics.median(per_frame[sync_each]), statistics.median(per_frame[with_callbacks])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from abi_lib import build_fake_acl, cann_root

    from acl_notebook import pyacl
    from acl_notebook.pyacl.core import PROGRAM
    from acl_notebook.session import Config, Session

    os.environ["ASCEND_HOME_PATH"] = str(cann_root(build_fake_acl(Path(tempfile.mkdtemp(prefix="bench-cb-")))))
    for kind in ("sim", "acl"):
        session = Session(Config(backend=kind))
        assert pyacl.install(force=True, session=session).installed
        import acl

        sync_us, cb_us = measure(acl, args.frames, args.rounds)
        print(f"{kind}: {args.frames} frames, per frame: sync each {sync_us:.1f} us, callbacks {cb_us:.1f} us, "
              f"ratio {cb_us / sync_us:.2f}x")
        pyacl.uninstall()
        PROGRAM.bind(None)
        session.shutdown()


if __name__ == "__main__":
    main()
