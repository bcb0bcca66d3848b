"""The Ray cluster on a real local Ray instance with simulated NPUs: load on every device
through the object store, memory of every device, refusals that name host and device, a
worker killed while the others work, and a teardown that leaves nothing behind.

One cluster serves the whole module (Ray takes seconds to start on a small machine);
tests that kill a worker run last and the module fixture shuts everything down.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

import acl_notebook as acl
from acl_notebook import display
from acl_notebook.cluster.results import ClusterError, ClusterTimeoutError
from acl_notebook.fanout import DeviceOutputs, FleetBench, SplitOutputs, take, trim
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.session import DeviceMemoryError
from acl_notebook.shard import plan

MiB = 1024**2
DEVICES = 3


def model(name: str, work: int, weight: int) -> bytes:
    return write_om(ModelSpec(name=name, soc_version="Ascend910B1", work_size=work, weight_size=weight))


def batch_model(name: str = "bnet", side: int = 8) -> bytes:
    return write_om(ModelSpec(
        name=name, soc_version="Ascend910B1",
        inputs=[TensorSpec("x", (-1, 3, side, side), "float16", "NCHW")],
        outputs=[TensorSpec("y", (-1, 10), "float32", "ND")],
        dynamic_kind="batch", gears=[(1,), (2,), (4,)], work_size=4 * MiB, weight_size=MiB,
    ))


def rows(n: int, side: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, side, side)).astype(np.float16)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture(scope="module")
def cluster():
    c = acl.cluster.local(devices=DEVICES, memory=1024 * MiB, timeout=60)
    pids = [w.info.pid for w in c.workers]
    yield c
    acl.cluster.shutdown()
    import ray

    # Teardown leaves nothing behind: no worker process, no Ray.
    assert not ray.is_initialized()
    assert wait_until(lambda: not any(pid_alive(p) for p in pids)), "a worker process outlived the shutdown"


@pytest.fixture
def clean(cluster):
    yield cluster
    for m in list(acl.cluster.models()):
        acl.cluster.unload(m.name)


def test_no_cluster_is_one_clear_error():
    acl.cluster.shutdown()  # nothing to shut: still fine
    with pytest.raises(ClusterError, match=r"acl.cluster.local\(devices=4\)"):
        acl.cluster.models()


def test_one_worker_per_npu_each_its_own_process_and_device(cluster):
    infos = [w.info for w in cluster.workers]
    assert sorted(i.device for i in infos) == list(range(DEVICES))
    assert len({i.pid for i in infos}) == DEVICES and os.getpid() not in {i.pid for i in infos}
    assert {i.backend for i in infos} == {"sim"} and {i.total for i in infos} == {1024 * MiB}
    status = acl.cluster.status()
    assert [w.state for w in status] == ["ok"] * DEVICES and not status.lost
    assert "all up" in display.render_text(status)


def test_load_puts_a_copy_on_every_device_and_memory_adds_up(clean):
    before = acl.cluster.memory()
    m = acl.cluster.load(model("net", 60 * MiB, 40 * MiB))
    assert m.name == "net" and len(m.loaded) == DEVICES and not m.lost
    assert sorted(c.device for c in m.copies) == list(range(DEVICES))
    after = acl.cluster.memory()
    assert after.total == before.total == DEVICES * 1024 * MiB
    assert after.used - before.used == DEVICES * 100 * MiB
    for cell in after.cells:
        assert [(s.name, s.key, s.bytes) for s in cell.models] == [("net", "net", 100 * MiB)]
    assert [x.name for x in acl.cluster.models()] == ["net"]
    second = acl.cluster.load(model("net", MiB, MiB))
    assert second.name == "net-2"
    with pytest.raises(ValueError, match="already on the cluster"):
        acl.cluster.load(model("x", MiB, MiB), name="net")
    text = display.render_text(acl.cluster.memory())
    assert "Cluster memory: 3 devices" in text and "net 100.0 MiB" in text
    gone = acl.cluster.unload("net")
    assert {c.state for c in gone.copies} == {"unloaded"}
    assert acl.cluster.memory().used - before.used == DEVICES * 2 * MiB


def test_load_from_a_path_and_bad_bytes_never_reach_the_cluster(clean, tmp_path):
    path = tmp_path / "net.om"
    path.write_bytes(model("net", MiB, MiB))
    m = acl.cluster.load(str(path))
    assert len(m.loaded) == DEVICES
    # bad bytes never reach the cluster
    with pytest.raises(acl.OMFormatError):
        acl.cluster.load(b"not a model at all" * 20)
    assert [x.name for x in acl.cluster.models()] == ["net"]


def test_workers_read_the_model_from_the_object_store_without_copying_it(clean):
    acl.cluster.load(model("warm", MiB, MiB))  # first-load imports are not what we measure
    size = 256 * MiB
    data = model("big", MiB, size)
    assert len(data) > size
    before = {w.info.pid: a["rss"] for w, a in clean.call("host_memory")}
    m = acl.cluster.load(data)
    after = {w.info.pid: a["rss"] for w, a in clean.call("host_memory")}
    assert len(m.loaded) == DEVICES
    for pid, rss in after.items():
        assert rss - before[pid] < 0.10 * size, f"worker {pid} grew by {(rss - before[pid]) / MiB:.0f} MiB"


def test_a_refusal_is_the_device_memory_error_naming_host_and_device(clean):
    base = acl.cluster.memory().used
    with pytest.raises(DeviceMemoryError) as err:
        acl.cluster.load(model("huge", 900 * MiB, 200 * MiB))
    e = err.value
    assert e.host and e.device in range(DEVICES)
    assert f"device {e.device} on host {e.host}" in str(e) and e.needed == 1100 * MiB
    assert acl.cluster.memory().used == base and not acl.cluster.models()  # nothing loaded anywhere


def test_magics_load_and_show_the_cluster(clean):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "acl_notebook")
    try:
        ip.user_ns["blob"] = model("det", 2 * MiB, MiB)
        m = ip.run_line_magic("acl_load", "-v blob --cluster")
        assert m.name == "det" and len(m.loaded) == DEVICES
        grid = ip.run_line_magic("acl_mem", "--cluster")
        assert all(c.models and c.models[0].name == "det" for c in grid.cells)
        with pytest.raises(UsageError, match="not both"):
            ip.run_line_magic("acl_load", "-v blob --cluster --device 0")
        with pytest.raises(UsageError, match="Model '.*' needs .* on host"):
            ip.user_ns["blob"] = model("huge", 2000 * MiB, 0)
            ip.run_line_magic("acl_load", "-v blob --cluster")
    finally:
        ip.user_ns.pop("blob", None)
        ip.run_line_magic("unload_ext", "acl_notebook")


def test_a_call_that_takes_too_long_gives_up_with_a_clear_error(clean):
    # a pre-check answers in well under a second; a zero budget cannot be met
    with pytest.raises(ClusterTimeoutError, match="did not answer precheck within"):
        acl.cluster.load(model("slow", MiB, MiB), timeout=0.0)
    assert all(w.alive for w in clean.workers)  # a late answer is not a death


def test_the_cluster_view_is_live_and_bounded(clean):
    view = acl.cluster.panel(interval=60)  # ticks by hand below
    try:
        assert view.grid_html.value.count("acl-cell") == DEVICES and "No models on the cluster" in view.extra_html.value
        acl.cluster.load(model("net", 3 * MiB, MiB))
        assert view.refresh() is True and "net" in view.extra_html.value
        assert view.refresh() is False
    finally:
        view.close()


@pytest.fixture(scope="module")
def here():
    """The same model in this process's own session: what each device should compute."""
    acl.configure(backend="sim", devices=1)
    m = acl.load(batch_model())
    yield m
    acl.unload_all()


def test_run_gives_every_device_the_same_input(clean, here):
    acl.cluster.load(batch_model())
    x = rows(4)
    out = acl.cluster.run("bnet", x)
    assert isinstance(out, DeviceOutputs) and len(out) == DEVICES
    assert sorted(out.where) == sorted(w.where for w in clean.workers)
    expect = here.run(x)[0]
    for o in out:
        assert o.gear == (4,) and np.array_equal(o[0], expect)


def test_split_run_covers_every_row_in_order(clean, here):
    acl.cluster.load(batch_model())
    x = rows(10, seed=3)
    out = acl.cluster.run("bnet", x, split=True)
    assert isinstance(out, SplitOutputs) and out[0].shape == (10, 10)
    assert [(sh.start, sh.stop) for sh in out.shards] == [(0, 4), (4, 7), (7, 10)]
    for shard in plan(10, DEVICES, (1, 2, 4)):
        for p in shard:
            assert np.array_equal(out[0][p.start:p.stop], trim(list(here.run(take(x, p))), p)[0])
    with pytest.raises(KeyError, match="no model .nope."):
        acl.cluster.run("nope", x)


def test_bench_runs_every_device_at_once(clean):
    acl.cluster.load(batch_model())
    b = acl.cluster.bench("bnet", n=30, warmup=2)
    assert isinstance(b, FleetBench) and len(b.results) == DEVICES and not b.lost
    assert all(r.n == 30 and r.batch == 4 for r in b.results)
    assert b.throughput == pytest.approx(sum(r.throughput for r in b.results)) and b.wall_seconds > 0


# -- faults (these run last: they kill a worker) -------------------------------------------
def test_a_worker_killed_mid_bench_is_lost_and_the_others_keep_working(clean):
    import ray

    acl.cluster.load(model("net", 10 * MiB, 10 * MiB))
    acl.cluster.load(batch_model("slow", side=96))
    victim = clean.workers[1]
    probe = acl.cluster.bench("slow", n=100, warmup=1)
    per_run_ms = max(r.figures["total"]["mean"] for r in probe.results)  # a whole run, call overhead aside
    runs = min(int(12000 / max(per_run_ms, 1e-3)), 500_000)  # several seconds of runs on every worker
    done: dict = {}
    bench = threading.Thread(target=lambda: done.setdefault("b", acl.cluster.bench("slow", n=runs, warmup=1,
                                                                                     timeout=120)))
    bench.start()
    time.sleep(1.5)  # every worker is benchmarking by now, and none is done
    ray.kill(victim.actor, no_restart=True)
    bench.join(150)
    assert not bench.is_alive(), "the bench hung after a worker died"
    b = done["b"]
    assert [w for w, _why in b.lost] == [victim.where] and "ray.kill" in b.lost[0][1]
    assert len(b.results) == DEVICES - 1 and victim.where not in b.where
    assert "1 lost" in display.render_text(b)

    assert wait_until(lambda: not pid_alive(victim.info.pid))
    status = acl.cluster.status()
    lost = status.lost
    assert [(w.host, w.device) for w in lost] == [(victim.info.host, victim.info.device)]
    assert "ray.kill" in lost[0].reason and set(lost[0].models) == {"net", "slow"}
    net = next(m for m in acl.cluster.models() if m.name == "net")
    assert len(net.lost) == 1 and net.lost[0].device == victim.info.device and len(net.loaded) == DEVICES - 1
    grid = acl.cluster.memory()
    cell = grid.cell(victim.info.device)
    assert cell.state == "lost" and "ray.kill" in cell.reason and cell.models[0].state == "lost"
    assert "lost" in display.render_text(grid) and "acl-lost" in display.render_html(grid)
    # the others keep working: a new load lands on every live device, a split run uses them
    more = acl.cluster.load(model("more", MiB, MiB))
    assert sorted(c.device for c in more.loaded) == sorted(w.info.device for w in clean.workers if w.alive)
    out = acl.cluster.run("slow", rows(6, side=96), split=True)
    assert out[0].shape == (6, 10) and victim.where not in {sh.where for sh in out.shards}


def test_a_worker_lost_during_a_split_run_has_its_rows_rerun_on_the_others(clean):
    import ray

    acl.cluster.load(batch_model())
    alive = [w for w in clean.workers if w.alive]
    assert len(alive) >= 2
    victim = alive[-1]
    ray.kill(victim.actor, no_restart=True)  # the kernel does not know yet: its rows go out to it
    assert wait_until(lambda: not pid_alive(victim.info.pid))
    out = acl.cluster.run("bnet", rows(8, seed=5), split=True)
    assert out[0].shape == (8, 10) and sum(sh.stop - sh.start for sh in out.shards) == 8
    assert victim.where not in {sh.where for sh in out.shards} and not victim.alive
