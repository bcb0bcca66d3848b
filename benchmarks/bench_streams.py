"""What a stream's queue costs (simulator, through ``import acl``), measured side by side.

Run: python benchmarks/bench_streams.py [--runs 2000] [--mib 1]

The same work (copy in, execute, copy out, on the same buffers) two ways: the synchronous
calls (``memcpy``, ``execute``, ``memcpy``), and the asynchronous pipeline (``memcpy_async``
from page-locked memory, ``execute_async``, ``memcpy_async`` back, ``synchronize_stream``), so
the queue's overhead is their ratio. Then the same pipeline with two events recorded around
the run, ``synchronize_event`` and ``event_elapsed_time`` (the cost of timing a run with
events), and how much of the measured event time the run itself is (the events time the
simulated compute, not the host's calls around it).
"""

from __future__ import annotations

import statistics

from bench_pyacl import arguments, median_us, pyacl_model  # the same image, model and timer


def main() -> None:
    args = arguments()
    acl, session, model_id, x = pyacl_model(args.mib)
    size = len(x)
    host_in, _ = acl.rt.malloc_host(size)
    host_out, _ = acl.rt.malloc_host(1024)
    acl.rt.memcpy(host_in, size, acl.util.bytes_to_ptr(x), size, 0)
    dev_in, _ = acl.rt.malloc(size, 0)
    dev_out, _ = acl.rt.malloc(1024, 0)
    ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
    acl.mdl.add_dataset_buffer(ins, acl.create_data_buffer(dev_in, size))
    acl.mdl.add_dataset_buffer(outs, acl.create_data_buffer(dev_out, 1024))
    stream, _ = acl.rt.create_stream()
    start, _ = acl.rt.create_event()
    end, _ = acl.rt.create_event()

    def synchronous() -> None:
        acl.rt.memcpy(dev_in, size, host_in, size, 1)
        acl.mdl.execute(model_id, ins, outs)
        acl.rt.memcpy(host_out, 1024, dev_out, 1024, 2)

    def queued() -> None:
        acl.rt.memcpy_async(dev_in, size, host_in, size, 1, stream)
        acl.mdl.execute_async(model_id, ins, outs, stream)
        acl.rt.memcpy_async(host_out, 1024, dev_out, 1024, 2, stream)
        acl.rt.synchronize_stream(stream)

    event_ms: list[float] = []

    def timed() -> None:
        acl.rt.memcpy_async(dev_in, size, host_in, size, 1, stream)
        acl.rt.record_event(start, stream)
        acl.mdl.execute_async(model_id, ins, outs, stream)
        acl.rt.record_event(end, stream)
        acl.rt.memcpy_async(host_out, 1024, dev_out, 1024, 2, stream)
        acl.rt.synchronize_event(end)
        event_ms.append(acl.rt.event_elapsed_time(start, end)[0])
        acl.rt.synchronize_stream(stream)

    for fn in (synchronous, queued, timed):
        median_us(fn, 50)  # warm up
    figures: dict = {synchronous: [], queued: [], timed: []}
    for _ in range(5):  # interleaved, so all see the same machine load
        for fn in figures:
            figures[fn].append(median_us(fn, args.runs // 5))
    s, q, t = (statistics.median(v) for v in figures.values())
    print(f"copy in + execute + copy out, {args.mib:g} MiB input: synchronous {s:.1f} us, on a stream {q:.1f} us "
          f"(ratio {q / s:.2f}x), with two events timing the run {t:.1f} us (ratio {t / s:.2f}x)")
    print(f"the run's event time is {statistics.median(event_ms) * 1000 / t:.2f} of the timed sequence's wall time")
    session.shutdown()


if __name__ == "__main__":
    main()
