"""What the pyACL image costs over the backend calls it makes (simulator), measured side by side.

Run: python benchmarks/bench_pyacl.py [--runs 2000] [--mib 1]

The same sequence (host-to-device copy, execute, device-to-host copy) on the same buffers,
once through ``import acl`` (argument parsing, the handle ledger's checks, the registry
hooks) and once as bare backend calls through the session's pass-through. Printed: the
median microseconds per sequence for both and their ratio; and the ledger's lookup cost
with 1,000 live allocations and 100 converted objects (it must stay flat, not grow with
what the program holds). Then raw host pointers (``arr.ctypes.data``, which the kernel is
asked about on every call) against converted ones in the same sequence and in a 64-byte
copy, and what one question to the kernel costs each way it can be asked.
"""

from __future__ import annotations

import argparse
import statistics
import time


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--mib", type=float, default=1.0, help="input size in MiB")
    return parser.parse_args()


def pyacl_model(mib: float) -> tuple:
    """(acl, session, model_id, x): the image installed over a simulator session, device 0 set,
    a model of one `mib`-MiB float32 input and a 1 KiB output loaded, and an input's bytes."""
    import numpy as np

    from acl_notebook import pyacl
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
    from acl_notebook.session import Config, Session

    session = Session(Config(backend="sim"))
    assert pyacl.install(force=True, session=session).installed
    import acl

    n = int(mib * 2**20) // 4
    om = write_om(ModelSpec(name="bench", inputs=[TensorSpec("x", (1, n), "float32", "ND")],
                            outputs=[TensorSpec("y", (1, 256), "float32", "ND")]))
    acl.init()
    acl.rt.set_device(0)
    model_id, _ = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(om), len(om))
    x = np.random.default_rng(0).random((1, n), dtype=np.float32).tobytes()
    return acl, session, model_id, x


def median_us(fn, runs: int) -> float:
    """The median wall time of one call of `fn`, in microseconds, over `runs` calls."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    import numpy as np

    args = arguments()
    acl, session, model_id, x = pyacl_model(args.mib)
    out = bytes(1024)
    xp, op = acl.util.bytes_to_ptr(x), acl.util.bytes_to_ptr(out)
    dev_in, _ = acl.rt.malloc(len(x), 0)
    dev_out, _ = acl.rt.malloc(1024, 0)
    ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
    acl.mdl.add_dataset_buffer(ins, acl.create_data_buffer(dev_in, len(x)))
    acl.mdl.add_dataset_buffer(outs, acl.create_data_buffer(dev_out, 1024))
    raw = session.programs()

    def through_image() -> None:
        acl.rt.memcpy(dev_in, len(x), xp, len(x), 1)
        acl.mdl.execute(model_id, ins, outs)
        acl.rt.memcpy(op, 1024, dev_out, 1024, 2)

    def bare() -> None:
        raw.call("memcpy", dev_in, len(x), xp, len(x), 1)
        raw.call("execute", model_id, ins, outs)
        raw.call("memcpy", op, 1024, dev_out, 1024, 2)

    for fn in (through_image, bare):
        median_us(fn, 50)  # warm up
    image_us, bare_us = [], []
    for _ in range(5):  # interleaved, so both see the same machine load
        image_us.append(median_us(through_image, args.runs // 5))
        bare_us.append(median_us(bare, args.runs // 5))
    a, b = statistics.median(image_us), statistics.median(bare_us)
    print(f"copy in + execute + copy out, {args.mib:g} MiB input: image {a:.1f} us, bare {b:.1f} us, "
          f"ratio {a / b:.2f}x")

    def lookups() -> float:
        return median_us(lambda: acl.rt.memcpy(dev_in, 64, xp, 64, 1), 2000)

    empty = lookups()
    held = [acl.rt.malloc(64, 0)[0] for _ in range(1000)]
    keep = [bytes(64) for _ in range(100)]
    for k in keep:
        acl.util.bytes_to_ptr(k)
    full = lookups()
    print(f"a 64-byte memcpy: {empty:.1f} us with 2 allocations, {full:.1f} us with 1,002 allocations and "
          f"100 converted objects ({full / empty:.2f}x)")
    for p in held:
        acl.rt.free(p)

    xa = np.frombuffer(x, dtype=np.uint8).copy()
    oa = np.zeros(1024, dtype=np.uint8)
    xr, orr = xa.ctypes.data, oa.ctypes.data

    def through_raw() -> None:
        acl.rt.memcpy(dev_in, len(x), xr, len(x), 1)
        acl.mdl.execute(model_id, ins, outs)
        acl.rt.memcpy(orr, 1024, dev_out, 1024, 2)

    median_us(through_raw, 50)
    conv_us, raw_us = [], []
    for _ in range(5):
        conv_us.append(median_us(through_image, args.runs // 5))
        raw_us.append(median_us(through_raw, args.runs // 5))
    a, b = statistics.median(raw_us), statistics.median(conv_us)
    print(f"the same sequence with raw arr.ctypes.data pointers: {a:.1f} us, converted {b:.1f} us, "
          f"ratio {a / b:.2f}x")
    small_conv = median_us(lambda: acl.rt.memcpy(dev_in, 64, xp, 64, 1), 2000)
    small_raw = median_us(lambda: acl.rt.memcpy(dev_in, 64, xr, 64, 1), 2000)
    print(f"a 64-byte memcpy: raw pointer {small_raw:.1f} us, converted {small_conv:.1f} us "
          f"({small_raw / small_conv:.2f}x)")

    from acl_notebook.pyacl import hostmem

    chosen = hostmem.method()
    for way in ("madvise", "process_vm", "proc-maps"):
        hostmem._use(way)
        tiny = median_us(lambda: hostmem.accessible(xr, 64, True), 500)
        big = median_us(lambda: hostmem.accessible(xr, len(x), True), 100)
        print(f"asking the kernel by {way}: {tiny:.1f} us for 64 bytes, {big:.1f} us for {args.mib:g} MiB")
    hostmem._use(chosen)
    session.shutdown()


if __name__ == "__main__":
    main()
