"""The container's memory limit (`acl_notebook.cgroup`) read from fake /proc and cgroup trees.

Every tree is built in tmp_path the way the kernel shows it to a process in a container
(tests/fake_cgroup.py): cgroup v2 and v1, nested limits, "max" and the huge v1 sentinel, a
cgroup path the namespace hides, garbage, usage past the limit. Then `hostbuf`'s checks,
whose MemFree fast path must not skip a limit that applies.
"""

from __future__ import annotations

import os

import pytest
from fake_cgroup import V1_UNLIMITED, GiB, MiB, v1, v2, write

from acl_notebook import cgroup, hostbuf
from acl_notebook.cgroup import Room, Watch
from acl_notebook.display import render_html, render_text

POD = "/kubepods/burstable/pod1/ctr"


def room_of(root) -> Room | None:
    """What a fresh process under `root` would be told its cgroup leaves."""
    return Watch(str(root)).room()


# ----------------------------------------------------------------------------- v2
def test_v2_limit_less_usage_less_reclaimable_page_cache(tmp_path):
    root = v2(tmp_path, "/user.slice/ctr", {"": (None, 50 * GiB, 0), "user.slice": ("max", 20 * GiB, 0),
                                             "user.slice/ctr": (2 * GiB, 1300 * MiB, 200 * MiB)})
    found = cgroup.find(str(root))
    assert found.v1 is False
    base = root / "sys/fs/cgroup"
    assert found.dirs == (str(base / "user.slice/ctr"), str(base / "user.slice"), str(base))
    assert cgroup.limits(found) == ((str(root / "sys/fs/cgroup/user.slice/ctr"), 2 * GiB),)
    r = room_of(root)
    assert (r.available, r.limit, r.used) == (2 * GiB - 1100 * MiB, 2 * GiB, 1100 * MiB)
    assert r.says() == "the container's memory limit (cgroup) of 2.0 GiB leaves only 948.0 MiB (1.1 GiB in use)"


def test_v2_max_everywhere_is_no_limit(tmp_path):
    root = v2(tmp_path, "/a/b", {"": (None, GiB, 0), "a": ("max", GiB, 0), "a/b": ("max", GiB, 0)})
    assert cgroup.find(str(root)) is not None and room_of(root) is None
    assert Watch(str(root)).fits_cheaply(10**15)


def test_v2_a_parent_smaller_than_the_child_binds(tmp_path):
    """The kernel enforces every ancestor's memory.max: a 4 GiB child of a 1 GiB pod has 1 GiB."""
    root = v2(tmp_path, "/pod/ctr", {"": (None, 9 * GiB, 0), "pod": (GiB, 600 * MiB, 100 * MiB),
                                     "pod/ctr": (4 * GiB, 300 * MiB, 0)})
    r = room_of(root)
    assert (r.limit, r.used, r.available) == (GiB, 500 * MiB, 524 * MiB)


def test_v2_a_parent_with_a_larger_limit_binds_when_its_siblings_fill_it(tmp_path):
    """What is left is the smallest headroom of any level, not the smallest limit."""
    root = v2(tmp_path, "/pod/ctr", {"pod": (3 * GiB, 2900 * MiB, 0), "pod/ctr": (2 * GiB, 100 * MiB, 0)})
    r = room_of(root)
    assert (r.limit, r.available) == (3 * GiB, 3 * GiB - 2900 * MiB)


def test_v2_a_path_the_namespace_hides_falls_back_to_the_mount_root(tmp_path):
    """In a container with its own cgroup namespace mounted at /sys/fs/cgroup, the path from
    /proc/self/cgroup may be the host's: it is not there, and the mount root is the container."""
    root = v2(tmp_path, POD, {"": (512 * MiB, 100 * MiB, 0)})
    assert not (root / "sys/fs/cgroup" / POD.lstrip("/")).exists()
    assert cgroup.find(str(root)).dirs == (str(root / "sys/fs/cgroup"),)
    assert room_of(root).available == 412 * MiB


def test_v2_mount_root_below_the_hierarchy_and_an_escaped_mount_point(tmp_path):
    """mountinfo's root field says which cgroup is mounted; the mount point is octal-escaped."""
    root = v2(tmp_path, "/machine/vm1/ctr", {"ctr": (256 * MiB, 56 * MiB, 0)}, mount="/cg root",
              mount_root="/machine/vm1")
    text = (root / "proc/self/mountinfo").read_text().replace("/cg root", "/cg\\040root")
    (root / "proc/self/mountinfo").write_text(text)
    found = cgroup.find(str(root))
    assert found.dirs == (str(root / "cg root/ctr"), str(root / "cg root"))
    assert room_of(root).available == 200 * MiB


def test_usage_past_the_limit_leaves_zero_never_negative(tmp_path):
    root = v2(tmp_path, "/", {"": (64 * MiB, 80 * MiB, MiB)})
    r = room_of(root)
    assert (r.available, r.used) == (0, 79 * MiB)
    assert hostbuf.HostMemoryError("x", 1, r).available == 0


def test_inactive_file_larger_than_usage_counts_as_no_usage(tmp_path):
    root = v2(tmp_path, "/", {"": (64 * MiB, 10 * MiB, 0)})
    write(root, {"sys/fs/cgroup/memory.stat": "inactive_file 99999999999\n"})
    assert room_of(root).available == 64 * MiB


# ----------------------------------------------------------------------------- v1
def test_v1_container_path_with_its_own_limit(tmp_path):
    root = v1(tmp_path, "/docker/abc", {"": (V1_UNLIMITED, 9 * GiB, GiB),
                                        "docker": (V1_UNLIMITED, 5 * GiB, 0),
                                        "docker/abc": (2 * GiB, 1200 * MiB, 100 * MiB)})
    found = cgroup.find(str(root))
    assert found.v1 and found.dirs[0] == str(root / "sys/fs/cgroup/memory/docker/abc")
    r = room_of(root)
    assert (r.limit, r.used, r.available) == (2 * GiB, 1100 * MiB, 948 * MiB)


def test_v1_huge_sentinel_is_no_limit_on_a_hybrid_host(tmp_path):
    """This machine's layout: v1 memory beside a unified mount, a container path, no limit."""
    root = v1(tmp_path, "/process_api/7938e1", {"": (V1_UNLIMITED, 10 * GiB, 8 * GiB),
                                                "process_api": (V1_UNLIMITED, GiB, 0),
                                                "process_api/7938e1": (V1_UNLIMITED, GiB, 900 * MiB)})
    found = cgroup.find(str(root))
    assert found.v1 and len(found.dirs) == 3
    assert cgroup.limits(found) == () and room_of(root) is None


def test_v1_hierarchical_limit_covers_an_ancestor_the_mount_hides(tmp_path):
    """docker without a cgroup namespace: mountinfo's root is the container's own cgroup, whose
    ancestors are not visible; memory.stat's hierarchical_memory_limit still names theirs."""
    root = v1(tmp_path, "/kubepods/pod1/abc", {"": (V1_UNLIMITED, 300 * MiB, 50 * MiB)},
              hierarchical=GiB, mount_root="/kubepods/pod1/abc")
    found = cgroup.find(str(root))
    assert found.dirs == (str(root / "sys/fs/cgroup/memory"),)
    r = room_of(root)
    assert (r.limit, r.used, r.available) == (GiB, 250 * MiB, 774 * MiB)


def test_v1_hierarchical_limit_no_tighter_than_a_visible_one_is_not_counted_twice(tmp_path):
    root = v1(tmp_path, "/a", {"": (V1_UNLIMITED, GiB, 0), "a": (GiB, 100 * MiB, 0)})
    assert cgroup.limits(cgroup.find(str(root))) == ((str(root / "sys/fs/cgroup/memory/a"), GiB),)


def test_v1_memory_wins_over_the_unified_line(tmp_path):
    """A hybrid host lists ``0::/`` too; memory is accounted in v1 there."""
    root = v1(tmp_path, "/a", {"": (V1_UNLIMITED, GiB, 0), "a": (GiB, 100 * MiB, 0)})
    write(root, {"sys/fs/cgroup/unified/memory.max": f"{MiB}\n", "sys/fs/cgroup/unified/memory.current": "0\n"})
    assert room_of(root).limit == GiB


# ----------------------------------------------------------------------------- garbage
GARBAGE = ["", "\x00\x01\xff", "lots\n", "-5\n", "1e9\n", "9" * 400, "max max\n", "12 34\n"]


@pytest.mark.parametrize("text", GARBAGE)
@pytest.mark.parametrize("name", ["memory.max", "memory.current", "memory.stat"])
def test_a_garbled_file_is_no_limit_known_never_an_exception(tmp_path, name, text):
    root = v2(tmp_path, "/", {"": (64 * MiB, 10 * MiB, 0)})
    path = root / "sys/fs/cgroup" / name
    path.write_bytes(text.encode("latin-1"))
    r = room_of(root)
    if name == "memory.stat":  # only the reclaimable part is lost: usage is counted whole
        assert r.available == 54 * MiB
    else:
        assert r is None


@pytest.mark.parametrize("text", GARBAGE + ["0::\n", "0::relative\n", "4:memory\n", "::::\n" * 50])
@pytest.mark.parametrize("name", ["proc/self/cgroup", "proc/self/mountinfo"])
def test_garbled_proc_files_mean_no_limit_known(tmp_path, name, text):
    root = v2(tmp_path, "/", {"": (64 * MiB, 10 * MiB, 0)})
    (root / name).write_bytes(text.encode("latin-1"))
    assert room_of(root) is None


def test_unreadable_usage_stops_the_reads_until_the_next_find(tmp_path, monkeypatch):
    """A limit whose usage cannot be read is no limit known: checks go back to the fast path
    instead of reading the broken file each time."""
    root = v2(tmp_path, "/", {"": (64 * MiB, 10 * MiB, 0)})
    (root / "sys/fs/cgroup/memory.current").write_text("garbage\n")
    w = Watch(str(root))
    assert not w.fits_cheaply(MiB) and w.room() is None
    reads = []
    monkeypatch.setattr(cgroup, "_read", lambda base, name: reads.append(name))
    assert w.fits_cheaply(100 * MiB) and reads == []


def test_a_limit_file_that_cannot_be_read_is_no_limit(tmp_path):
    root = v2(tmp_path, "/", {"": (64 * MiB, 10 * MiB, 0)})
    (root / "sys/fs/cgroup/memory.max").unlink()
    (root / "sys/fs/cgroup/memory.max").mkdir()  # reading a directory fails as EISDIR
    assert room_of(root) is None


def test_no_proc_at_all_and_no_cgroup_mount(tmp_path):
    assert room_of(tmp_path) is None and cgroup.find(str(tmp_path)) is None
    root = v2(tmp_path, "/", {"": (64 * MiB, 0, 0)})
    (root / "proc/self/mountinfo").write_text("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n")
    assert room_of(root) is None


def test_the_real_tree_of_this_machine_is_read_without_error():
    """Whatever this host has (here: v1 memory with a container path, no limit), reading it
    finds directories that exist and limits that are real numbers."""
    found = cgroup.find("/")
    if found is not None:
        assert all(os.path.isdir(d) for d in found.dirs)
        assert all(0 < limit < cgroup.NO_LIMIT for _, limit in cgroup.limits(found))
    r = Watch().room()
    assert r is None or 0 <= r.available <= r.limit


# ----------------------------------------------------------------------------- caching
def test_usage_is_reread_only_near_what_was_left(tmp_path, monkeypatch):
    """With 40 MiB left at the last reading, sizes up to half of what is left (less what was
    granted since) pass without a file read; a larger one reads again and sees the truth."""
    root = v2(tmp_path, "/", {"": (100 * MiB, 60 * MiB, 0)})
    w = Watch(str(root))
    assert w.room().available == 40 * MiB
    reads = []
    real = cgroup._read
    monkeypatch.setattr(cgroup, "_read", lambda base, name: reads.append(name) or real(base, name))
    (root / "sys/fs/cgroup/memory.current").write_text(f"{100 * MiB}\n")  # the container filled up meanwhile
    assert w.fits_cheaply(12 * MiB) and w.fits_cheaply(12 * MiB)  # 24 <= 40, then 24 <= 28
    assert reads == []
    assert not w.fits_cheaply(12 * MiB)  # 24 > 16 left: near, so read
    r = w.room(12 * MiB)
    assert r.available == 0 and reads == ["memory.current", "memory.stat"]
    assert not w.fits_cheaply(1)


def test_an_old_reading_is_not_trusted(tmp_path, monkeypatch):
    root = v2(tmp_path, "/", {"": (2 * GiB, 0, 0)})
    w = Watch(str(root))
    w.room()
    assert w.fits_cheaply(MiB)
    monkeypatch.setattr(Watch, "FRESH_SECONDS", -1.0)
    assert not w.fits_cheaply(MiB)


def test_a_resized_limit_is_seen_after_refind_seconds(tmp_path, monkeypatch):
    """The limit is found once per REFIND_SECONDS (a pod can be resized in place)."""
    root = v2(tmp_path, "/", {"": ("max", GiB, 0)})
    w = Watch(str(root))
    assert w.room() is None
    (root / "sys/fs/cgroup/memory.max").write_text(f"{2 * GiB}\n")
    assert w.room() is None  # still the limit found a moment ago
    monkeypatch.setattr(Watch, "REFIND_SECONDS", -1.0)
    assert w.room().available == GiB


# ----------------------------------------------------------------------------- hostbuf's checks
def test_the_memfree_fast_path_does_not_skip_the_container_limit(small_cgroup):
    """MemFree of this host is gigabytes; a container allowing 64 MiB still refuses 100 MiB."""
    assert hostbuf._free_memory() > 100 * MiB
    small_cgroup(64 * MiB, used=20 * MiB)
    refused = hostbuf.host_shortfall(100 * MiB)
    assert (refused.limit, refused.used, refused.available) == (64 * MiB, 20 * MiB, 44 * MiB)
    assert hostbuf.host_shortfall(10 * MiB) is None
    assert hostbuf.host_room() == refused
    with pytest.raises(hostbuf.HostMemoryError) as caught:
        hostbuf.check_host_memory("the thing", 100 * MiB)
    err = caught.value
    assert str(err) == ("the thing is 100.0 MiB but the container's memory limit (cgroup) of 64.0 MiB leaves only "
                        "44.0 MiB (20.0 MiB in use); free memory in this container (close other kernels, del big "
                        "arrays) or ask for a larger memory limit (docker --memory, the pod's resources.limits.memory, "
                        "a bigger Binder or JupyterHub profile)")
    assert (err.size, err.available, err.limit, err.used) == (100 * MiB, 44 * MiB, 64 * MiB, 20 * MiB)
    text, html = render_text(err), render_html(err)
    assert "container limit" in text and "64.0 MiB" in text and "in use" in text and "short by" in text
    assert "container limit" in html and "20.0 MiB" in html


def test_the_tighter_of_host_and_container_refuses(small_cgroup, small_host):
    small_cgroup(GiB)
    small_host(100 * MiB)  # the host has less than the container would allow
    refused = hostbuf.host_shortfall(200 * MiB)
    assert (refused.available, refused.limit) == (100 * MiB, None)
    assert refused.says() == "the host has only 100.0 MiB available"
    small_host(4 * GiB)  # now the container is the tighter one
    assert hostbuf.host_shortfall(2 * GiB).limit == GiB
    small_host(MiB)
    with pytest.raises(hostbuf.HostMemoryError, match=r"is 2.0 GiB but the host has only 1.0 MiB available; free host"):
        hostbuf.check_host_memory("x", 2 * GiB)


def test_a_caller_fix_is_kept_when_the_container_refuses(small_cgroup):
    small_cgroup(64 * MiB)
    with pytest.raises(hostbuf.HostMemoryError, match=r"\(0 B in use\); pass smaller arrays$"):
        hostbuf.check_host_memory("x", 65 * MiB, "pass smaller arrays")


# ----------------------------------------------------------------------------- review fixes
def test_a_big_allocation_after_usage_grew_is_refused(tmp_path):
    """A reading left 1 GiB; then the container filled (another process, arrays made without a
    check). A 400 MiB allocation a moment later must see that, not pass on the old reading: the
    kernel would OOM-kill the kernel instead of the check refusing it."""
    root = v2(tmp_path, "/", {"": (2 * GiB, GiB, 0)})
    w = Watch(str(root))
    assert w.room().available == GiB
    (root / "sys/fs/cgroup/memory.current").write_text(f"{2 * GiB - 100 * MiB}\n")
    assert not w.fits_cheaply(400 * MiB)
    assert w.room(400 * MiB).available == 100 * MiB


def test_the_mount_that_shows_every_ancestor_is_used(tmp_path):
    """Two cgroup2 mounts hold the process's cgroup (docker without a cgroup namespace: its own
    cgroup at /sys/fs/cgroup, and the host's whole hierarchy at /host/sys/fs/cgroup, as node
    agents and kind nodes have it). Only the whole one shows the pod's 1 GiB limit above the
    container's 4 GiB one, and cgroup v2 has no hierarchical limit file to tell it otherwise."""
    ctr = "/kubepods/pod1/ctr"
    root = v2(tmp_path, ctr, {"": (4 * GiB, 300 * MiB, 0)}, mount_root=ctr)
    v2(root / "host", ctr, {"": (None, 9 * GiB, 0), "kubepods": ("max", 2 * GiB, 0),
                               "kubepods/pod1": (GiB, 300 * MiB, 0), "kubepods/pod1/ctr": (4 * GiB, 300 * MiB, 0)})
    with open(root / "proc/self/mountinfo", "a") as f:
        f.write("40 22 0:30 / /host/sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n")
    assert room_of(root).limit == GiB


def test_a_long_mountinfo_is_read_to_its_end(tmp_path):
    """A node with many mounts (pods' secrets, overlay layers, snaps) has a mountinfo far past
    64 KiB; the cgroup mount listed after them still counts."""
    root = v2(tmp_path, "/", {"": (64 * MiB, 10 * MiB, 0)})
    path = root / "proc/self/mountinfo"
    lines = path.read_text().splitlines(keepends=True)
    filler = "".join(f"{100 + i} 22 0:{100 + i} / /var/lib/kubelet/pods/p{i}/volumes/secret rw - tmpfs tmpfs rw\n"
                     for i in range(2000))
    path.write_text(lines[0] + filler + "".join(lines[1:]))
    assert path.stat().st_size > 1 << 17
    assert room_of(root).available == 54 * MiB


def test_a_mount_with_a_non_ascii_path_does_not_hide_the_limit(tmp_path):
    """mountinfo escapes only space, tab, newline and backslash: a bind mount of a folder named
    in any other script (``docker -v /home/josé/data:/data``) is raw UTF-8 there, and a cgroup
    named so is raw in /proc/self/cgroup too. Neither may make the limit unknown."""
    root = v2(tmp_path, "/pods/josé", {"": (None, GiB, 0), "pods/josé": (64 * MiB, 10 * MiB, 0)})
    path = root / "proc/self/mountinfo"
    lines = path.read_text().splitlines(keepends=True)
    path.write_bytes((lines[0] + "30 22 8:1 /home/josé/données /data rw - ext4 /dev/sda1 rw\n"
                      + "".join(lines[1:])).encode())
    assert room_of(root).available == 54 * MiB


@pytest.mark.parametrize("text", ["\u00b2\n", "\u0663\u0663\n", "12\u00b2\n"])
def test_a_non_ascii_digit_in_a_number_file_is_garbage(tmp_path, text):
    root = v2(tmp_path, "/", {"": (64 * MiB, 10 * MiB, 0)})
    (root / "sys/fs/cgroup/memory.max").write_bytes(text.encode())
    assert room_of(root) is None
