"""Panel benchmarks (simulator): a 100 MB upload, and what the memory timer costs.

Run: python benchmarks/bench_panel.py [--size-mb 100] [--seconds 10] [--interval 2.0]

Figures printed:
- upload: seconds from the bytes reaching the kernel (the FileUpload's value being set with
  a memoryview, as ipywidgets' deserializer does for a websocket message) to the model's tab
  being in the panel (target < 2 s);
- the extra kernel memory while doing so: tracemalloc peak (Python allocations) and peak RSS
  growth, as a percentage of the model size (target < 10%: the bytes are never copied);
- whether the upload buffer was released afterwards (a bytearray can only grow again once
  no memoryview of it is alive);
- timer: CPU time of the panel's timer thread and of the whole process over `--seconds`
  with a view open, as % of one core (target well under 1%), and how many redraws it made.
Each part runs in a fresh subprocess so one does not inherit another's high-water mark.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from memtools import peak_rss, rss_now

MB = 1000 * 1000


def make_model(path: str, size_mb: int) -> int:
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om_file

    spec = ModelSpec(
        name="bench_upload",
        inputs=[TensorSpec("images", (8, 3, 640, 640), "float32", "NCHW")],
        outputs=[TensorSpec("boxes", (8, 25200, 85), "float32", "ND")],
        work_size=512 << 20,
        weight_size=size_mb * MB,
    )
    return write_om_file(spec, path)


def child_upload(path: str, trace: bool) -> dict:
    """One upload; with `trace`, tracemalloc watches it (which slows Python down, so the
    time is taken from a run without it)."""
    import tracemalloc

    from acl_notebook.session import Config, Session
    from acl_notebook.widgets.panel import Panel

    session = Session(Config(backend="sim"))
    panel = Panel(session, autostart=False)  # imports, first render: not part of the upload
    size = os.path.getsize(path)
    data = bytearray(size)
    with open(path, "rb") as f:
        f.readinto(memoryview(data))
    name = os.path.basename(path)
    entry = {"name": name, "type": "", "size": size, "content": memoryview(data), "last_modified": 0}

    base_rss = max(peak_rss(), rss_now())
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    panel.upload.set_state({"value": [entry]})  # the bytes are now in the kernel, as after a websocket message
    seconds = time.perf_counter() - t0
    _, traced_peak = tracemalloc.get_traced_memory() if trace else (0, 0)
    tracemalloc.stop()
    rss_growth = max(peak_rss() - base_rss, 0)
    shown = name[: -len(".om")] in panel.tabs.titles
    del entry
    try:
        data.append(0)  # fails with BufferError while any view of the upload is alive
        released = True
    except BufferError:
        released = False
    status = panel.status.value
    panel.close()
    session.shutdown()
    return {"size": size, "seconds": seconds, "shown": shown, "traced_peak": traced_peak,
            "rss_growth": rss_growth, "released": released, "ok": "Loaded" in status}


def child_timer(seconds: float, interval: float) -> dict:
    import threading

    import psutil

    from acl_notebook.om.writer import ModelSpec, write_om
    from acl_notebook.session import Config, Session
    from acl_notebook.widgets.panel import Panel

    session = Session(Config(backend="sim"))
    session.load(write_om(ModelSpec(name="resident", weight_size=4 * MB, work_size=64 << 20)), name="resident")
    panel = Panel(session, interval=interval)
    panel._view_count = 1  # as when the front end shows the panel: the timer samples
    renders = {"n": 0}
    original = panel._render_memory

    def counted() -> None:
        renders["n"] += 1
        original()

    panel._render_memory = counted
    tick_cpu = {"s": 0.0}
    tick = panel.timer.fn

    def timed_tick() -> None:  # CPU time of each tick, measured on the timer's own thread
        c0 = time.thread_time()
        try:
            tick()
        finally:
            tick_cpu["s"] += time.thread_time() - c0

    panel.timer.fn = timed_tick
    time.sleep(interval * 1.5)  # let the thread start and settle
    native = panel.timer.thread.native_id
    proc = psutil.Process()

    def thread_cpu() -> float:
        for t in proc.threads():
            if t.id == native:
                return t.user_time + t.system_time
        return 0.0

    threads_before = threading.active_count()
    cpu0, proc0, ticks0, wall0 = thread_cpu(), time.process_time(), panel.timer.ticks, time.perf_counter()
    renders0, tick0 = renders["n"], tick_cpu["s"]
    time.sleep(seconds)
    cpu1, proc1, ticks1, wall1 = thread_cpu(), time.process_time(), panel.timer.ticks, time.perf_counter()
    renders1, tick1 = renders["n"], tick_cpu["s"]
    wall = wall1 - wall0
    # one change behind the session's back (another process takes memory): one redraw
    session.backend.devices[0].idle_used += 256 << 20
    time.sleep(interval * 2.5)
    renders2 = renders["n"]
    thread = panel.timer.thread
    panel.close()
    session.shutdown()
    return {
        "wall": wall, "ticks": ticks1 - ticks0, "tick_cpu_pct": 100 * (tick1 - tick0) / wall,
        "tick_ms": 1000 * (tick1 - tick0) / max(ticks1 - ticks0, 1), "thread_cpu_pct": 100 * (cpu1 - cpu0) / wall,
        "process_cpu_pct": 100 * (proc1 - proc0) / wall, "redraws_idle": renders1 - renders0,
        "redraws_after_change": renders2 - renders1,
        "stopped": not thread.is_alive(), "threads": threads_before,
    }


def _run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--child", choices=("upload", "upload-traced", "timer"))
    parser.add_argument("--path")
    args = parser.parse_args()

    if args.child in ("upload", "upload-traced"):
        print(json.dumps(child_upload(args.path, trace=args.child == "upload-traced")))
        return
    if args.child == "timer":
        print(json.dumps(child_timer(args.seconds, args.interval)))
        return

    with tempfile.TemporaryDirectory(prefix="acl-bench-panel-") as tmp:
        path = os.path.join(tmp, f"upload_{args.size_mb}mb.om")
        size = make_model(path, args.size_mb)
        up = _run_child("--child", "upload", "--path", path)
        traced = _run_child("--child", "upload-traced", "--path", path)
        up["traced_peak"] = traced["traced_peak"]
        up["rss_growth"] = max(up["rss_growth"], traced["rss_growth"])
    print(f"upload of a {size / MB:.1f} MB model (set_state with a memoryview, simulator):")
    print(f"  bytes in kernel -> tab shown: {up['seconds']:.3f} s (target < 2 s)  shown={up['shown']} "
          f"loaded={up['ok']}")
    print(f"  tracemalloc peak: {up['traced_peak'] / MB:.2f} MB = {100 * up['traced_peak'] / size:.2f}% of the model")
    print(f"  peak RSS growth:  {up['rss_growth'] / MB:.2f} MB = {100 * up['rss_growth'] / size:.2f}% of the model "
          f"(target < 10%)")
    print(f"  upload buffer released afterwards: {up['released']}")

    tm = _run_child("--child", "timer", "--seconds", str(args.seconds), "--interval", str(args.interval))
    print(f"timer ({args.interval:g} s interval, view open) over {tm['wall']:.1f} s: {tm['ticks']} ticks")
    print(f"  timer CPU (thread_time of the ticks): {tm['tick_cpu_pct']:.4f}% of one core, "
          f"{tm['tick_ms']:.3f} ms per tick (target well under 1%)")
    print(f"  timer thread CPU (psutil, 10 ms resolution): {tm['thread_cpu_pct']:.3f}% of one core")
    print(f"  whole process CPU while idle: {tm['process_cpu_pct']:.3f}% of one core")
    print(f"  redraws while nothing changed: {tm['redraws_idle']}; after one memory change: "
          f"{tm['redraws_after_change']}")
    print(f"  thread stopped by close(): {tm['stopped']}")


if __name__ == "__main__":
    main()
