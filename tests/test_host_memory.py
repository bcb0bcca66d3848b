"""What a user sees of host memory before any refusal: `acl.host_memory()`, `acl.info()` /
`%acl_info` and the panel's memory view, on a host with a fake /proc/meminfo and fake memory
cgroup trees (v2 and v1): the smaller of MemAvailable and the container's room, saying
which, in text, HTML and the panel; and the room shown is the room the checks enforce."""

from __future__ import annotations

import itertools
import re
import threading

import pytest
from fake_cgroup import GiB, MiB, v1, v2

import acl_notebook as acl
from acl_notebook import cgroup, hostbuf, hostmemory
from acl_notebook.display import host_row_html, render_html, render_text

POD = "/kubepods/burstable/pod1/ctr"


@pytest.fixture
def host(monkeypatch, tmp_path):
    """Returns `pretend(total, available)`: /proc/meminfo says so (None leaves a figure out,
    and `pretend(None, None)` makes the file unreadable), for the display and the checks."""
    path = tmp_path / "meminfo"

    def pretend(total, available):
        lines = [f"MemTotal: {total // 1024} kB", "MemFree: 1024 kB"] if total is not None else ["MemFree: 1024 kB"]
        if available is not None:
            lines.append(f"MemAvailable: {available // 1024} kB")
        if total is None and available is None:
            monkeypatch.setattr(hostmemory, "MEMINFO", str(tmp_path / "no-such-meminfo"))
        else:
            path.write_text("\n".join(lines) + "\nBuffers: 0 kB\n")
            monkeypatch.setattr(hostmemory, "MEMINFO", str(path))
        monkeypatch.setattr(hostbuf, "host_available_memory", lambda: available)
        monkeypatch.setattr(hostbuf, "_free_memory", lambda: 0)  # every check reads

    return pretend


@pytest.fixture
def container(monkeypatch, tmp_path):
    """Returns `pretend(tree)`: the process's cgroup is the fake tree `tree(root)` builds."""
    made = []

    def pretend(build):
        made.append(build)
        root = build(tmp_path / f"cgroup-root-{len(made)}")
        monkeypatch.setattr(cgroup, "WATCH", cgroup.Watch(str(root)))
        return root

    return pretend


def no_container(root):
    root.mkdir(parents=True, exist_ok=True)  # no /proc/self/cgroup: no limit known
    return root


def pod_v2(limit, current, inactive=0):
    return lambda root: v2(root, POD, {"": (limit, current, inactive)})


# ------------------------------------------------------------------------------------ reading
def test_a_2_gib_pod_on_a_large_node_is_limited_by_the_container(host, container):
    host(128 * GiB, 120 * GiB)
    container(pod_v2(2 * GiB, int(1.5 * GiB), inactive=GiB // 2))  # page cache the kernel drops first
    hm = acl.host_memory()
    assert hm == hostmemory.HostMemory(available=GiB, limited_by="container", host_available=120 * GiB,
                                        host_total=128 * GiB, limit=2 * GiB, in_use=GiB)
    assert hm.container
    text = render_text(hm, width=100)
    assert text.splitlines()[0] == ("Host memory: 1.0 GiB free for this kernel: container limit 2.0 GiB, "
                                    "1.0 GiB in use (the host shows 120.0 GiB available)")
    assert "50.0% of the container limit used" in text
    assert re.search(r"Container limit\s+2.0 GiB \(2,147,483,648 B\)", text)


def test_a_v1_container_and_its_hierarchical_limit(host, container):
    host(64 * GiB, 60 * GiB)
    # docker --memory 4g on cgroup v1, under a parent limit of 3 GiB the mount hides
    container(lambda root: v1(root, "/docker/abc", {"": (4 * GiB, GiB, 0)}, hierarchical=3 * GiB))
    hm = acl.host_memory()
    assert (hm.limited_by, hm.limit, hm.in_use, hm.available) == ("container", 3 * GiB, GiB, 2 * GiB)
    assert "container limit 3.0 GiB, 1.0 GiB in use" in render_text(hm)


def test_a_node_short_of_memory_is_tighter_than_a_roomy_container(host, container):
    host(128 * GiB, 3 * GiB)
    container(pod_v2(16 * GiB, 5 * GiB))
    hm = acl.host_memory()
    assert (hm.available, hm.limited_by, hm.limit, hm.in_use) == (3 * GiB, "host", 16 * GiB, 5 * GiB)
    assert render_text(hm).splitlines()[0] == (
        "Host memory: 3.0 GiB free for this kernel: host MemAvailable of 128.0 GiB (container limit "
        "16.0 GiB, 5.0 GiB in use, which would leave 11.0 GiB)")


def test_no_container_shows_the_host(host, container):
    host(16 * GiB, 12 * GiB)
    container(no_container)
    hm = acl.host_memory()
    assert (hm.available, hm.limited_by, hm.limit, hm.in_use, hm.container) == (12 * GiB, "host", None, None, False)
    text = render_text(hm)
    assert text.splitlines()[0] == ("Host memory: 12.0 GiB free for this kernel: host MemAvailable of 16.0 GiB "
                                    "(no container limit)")
    assert "25.0% of the host used" in text and "none found" in text


def test_nothing_readable_is_said_and_shown_without_a_bar(host, container):
    host(None, None)
    container(no_container)
    hm = acl.host_memory()
    assert (hm.available, hm.limited_by) == (None, "unknown")
    assert "unknown: /proc/meminfo cannot be read" in render_text(hm)
    row = host_row_html(hm)
    assert "unknown" in row and 'role="img"' not in row
    assert "unknown" in render_html(hm)


def test_a_container_without_meminfo_still_shows_its_limit(host, container):
    host(None, None)
    container(pod_v2(2 * GiB, GiB))
    hm = acl.host_memory()
    assert (hm.available, hm.limited_by, hm.host_available) == (GiB, "container", None)
    assert render_text(hm).splitlines()[0].endswith("container limit 2.0 GiB, 1.0 GiB in use")


def test_usage_is_read_fresh_each_time(host, container):
    host(128 * GiB, 120 * GiB)
    root = container(pod_v2(2 * GiB, GiB))
    assert acl.host_memory().available == GiB
    (root / "sys/fs/cgroup/memory.current").write_text(f"{int(1.75 * GiB)}\n")
    assert acl.host_memory().in_use == int(1.75 * GiB) and acl.host_memory().available == GiB // 4
    (root / "sys/fs/cgroup/memory.current").write_text(f"{3 * GiB}\n")  # past the limit: never negative
    assert acl.host_memory().available == 0


@pytest.mark.parametrize("tree", [pod_v2(2 * GiB, GiB), no_container])
def test_what_is_shown_is_what_the_checks_enforce(host, container, tree):
    host(128 * GiB, 8 * GiB)
    container(tree)
    room = acl.host_memory().available
    assert room == hostbuf.host_room().available
    hostbuf.check_host_memory("an array", room - MiB)  # fits
    with pytest.raises(acl.HostMemoryError) as refused:
        hostbuf.check_host_memory("an array", room + MiB)
    assert refused.value.available == room


# ------------------------------------------------------------------------------------ shown
def test_info_and_acl_info_show_host_memory(host, container, tmp_path):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    host(128 * GiB, 120 * GiB)
    container(pod_v2(2 * GiB, GiB))
    acl.configure(backend="sim", soc="Ascend910B1")
    info = acl.info()
    assert info.host_memory == acl.host_memory()
    assert info.to_dict()["host_memory"]["limit"] == 2 * GiB
    want = "1.0 GiB free for this kernel: container limit 2.0 GiB, 1.0 GiB in use"
    text = render_text(info, width=160)
    assert re.search(r"\n  Host memory\s+" + re.escape(want) + r" \(the host shows 120.0 GiB available\)", text)
    assert re.search(r"Host memory</th><td[^>]*>" + re.escape(want), render_html(info))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "acl_notebook")
    try:
        assert want in render_text(shell.run_line_magic("acl_info", ""), width=160)
        assert shell.run_line_magic("acl_mem", "--host") == acl.host_memory()
        with pytest.raises(UsageError, match="Give --host alone"):  # a red line in a notebook
            shell.run_line_magic("acl_mem", "--host --all")
    finally:
        shell.run_line_magic("unload_ext", "acl_notebook")


def test_html_escapes_and_carries_the_figures(host, container):
    host(128 * GiB, 120 * GiB)
    container(pod_v2(2 * GiB, int(1.9 * GiB)))  # 0.1 GiB left: below a tenth, the warning colour
    hm = acl.host_memory()
    page = render_html(hm)
    assert "set by the container limit" in page and "container limit 2.0 GiB, 1.9 GiB in use" in page
    assert 'aria-label="95.0% of the container limit used"' in page
    row = host_row_html(hm)
    assert 'data-limited-by="container"' in row
    assert "1.9 GiB / 2.0 GiB container limit (95.0%)" in row and "102.4 MiB free" in row
    assert "the host shows 120.0 GiB available" in row
    assert "--jp-warn-color1" in row  # little left: the free figure and the bar say so


def test_the_panel_shows_host_memory_and_follows_it(host, container, make_session, make_panel):
    host(128 * GiB, 120 * GiB)
    root = container(pod_v2(2 * GiB, GiB))
    panel = make_panel(make_session())
    line = panel.memory.host.value
    assert "Host RAM" in line and "1.0 GiB / 2.0 GiB container limit (50.0%)" in line
    assert "the host shows 120.0 GiB available" in line
    assert panel.memory.host in panel.memory.box.children
    (root / "sys/fs/cgroup/memory.current").write_text(f"{int(1.5 * GiB)}\n")
    panel._tick()  # the device did not change: the host line is redrawn anyway
    assert "1.5 GiB / 2.0 GiB container limit (75.0%)" in panel.memory.host.value
    container(no_container)
    panel._tick()
    assert "8.0 GiB / 128.0 GiB host (6.2%)" in panel.memory.host.value
    assert 'data-limited-by="host"' in panel.memory.host.value


class _WatchedLock:
    """The panel's lock, saying when a thread has to wait for it."""

    def __init__(self, lock) -> None:
        self.lock, self.waited = lock, threading.Event()

    def __enter__(self):
        if not self.lock.acquire(blocking=False):
            self.waited.set()
            self.lock.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.lock.release()


def test_a_tick_never_puts_an_older_host_line_back(make_session, make_panel, monkeypatch):
    """The timer read and drew the host line outside the panel's lock: a tick that read host
    memory, then lost the processor to a load's redraw (which drew a newer reading), then drew
    its own, left the older figure on the panel until the next tick."""
    from acl_notebook.widgets import memory_view

    panel = make_panel(make_session())
    readings, tick_has_read, go_on = itertools.count(1), threading.Event(), threading.Event()
    last = [0]
    tick = threading.Thread(target=panel._tick)

    def host_memory():
        last[0] = n = next(readings)
        if threading.current_thread() is tick:  # the tick has its figure: let the redraw run now
            tick_has_read.set()
            go_on.wait(10)
        return n

    monkeypatch.setattr(memory_view, "host_memory", host_memory)
    monkeypatch.setattr(memory_view, "host_row_html", lambda n: f"reading {n}")
    panel._lock = watched = _WatchedLock(panel._lock)
    panel._tick()  # the device's numbers are drawn: the next tick draws the host line alone
    tick.start()
    assert tick_has_read.wait(10)
    redraw = threading.Thread(target=panel.refresh)  # what a load or an unload does
    redraw.start()
    while redraw.is_alive() and not watched.waited.wait(0.01):
        pass  # the redraw either ran or waits for the tick to let go of the lock
    go_on.set()
    tick.join(10)
    redraw.join(10)
    assert not tick.is_alive() and not redraw.is_alive()
    assert panel.memory.host.value == f"reading {last[0]}"  # the newest figure read is the one shown
