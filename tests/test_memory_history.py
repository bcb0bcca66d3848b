"""The session's memory history under quick loads and unloads: spaced samples, nothing lost.

Loads and unloads closer together than `SAMPLE_SPACING` share one sample, taken by the
next reader of the history at the latest, so a loop of loads neither costs a sample each
nor pushes the session's earlier history out of the bounded buffer.
"""

from __future__ import annotations

import time

from backends import small_model

from acl_notebook import session as session_module

MiB = 1 << 20


def test_a_burst_of_loads_keeps_the_history_from_the_start_and_ends_on_the_last_state(rig):
    s = rig.session()
    idle = s.memory()
    first = s.history.samples(0)[0]  # taken when the session started
    blob = small_model("burst", 4 * MiB, 4 * MiB)
    before = len(s.history)
    t0 = time.monotonic()
    for _ in range(300):
        s.unload(s.load(blob))
    elapsed = time.monotonic() - t0
    added = len(s.history) - before
    # at most one sample per spacing (plus the first one of the burst and the deferred last one)
    assert 1 <= added <= elapsed / session_module.SAMPLE_SPACING + 3, (added, elapsed)
    assert s.history.samples(0)[0] == first
    last = s.history.latest(0)
    assert last.per_model == {} and last.free == idle.free


def test_a_reader_sees_a_load_made_right_after_another(rig):
    s = rig.session()
    a = s.load(small_model("first", 4 * MiB, 4 * MiB))
    b = s.load(small_model("second", 8 * MiB, 4 * MiB))  # within the spacing of the first
    last = s.history.latest(0)  # reading the history takes the sample the second load put off
    assert last.per_model == {a.name: a.memory, b.name: b.memory}
    assert last.used >= a.memory + b.memory
    s.unload(b)
    assert s.history.latest(0).per_model == {a.name: a.memory}
    s.unload(a)


def test_a_put_off_sample_is_stamped_with_the_time_of_the_change(make_session):
    s = make_session()
    s.memory()
    time.sleep(session_module.SAMPLE_SPACING * 2)
    m = s.load(small_model("brief", 4 * MiB, 4 * MiB))  # sampled now
    unloaded = time.time()
    s.unload(m)  # within the spacing: put off
    time.sleep(0.2)
    last = s.history.latest(0)  # taken by this read, dated when the unload happened
    assert last.per_model == {}
    assert abs(last.t - unloaded) < 0.1


def test_a_load_that_cannot_sample_its_memory_still_loads(make_session, monkeypatch):
    from acl_notebook.runtime.errors import AclError

    s = make_session()
    s.memory()
    time.sleep(session_module.SAMPLE_SPACING * 2)

    def unsupported(attr):  # a virtual NPU instance without aclrtGetMemInfo
        raise AclError(507899, "aclrtGetMemInfo", "not supported here")
    monkeypatch.setattr(s.backend, "mem_info", unsupported)
    m = s.load(small_model("forced", 4 * MiB, 4 * MiB), force=True)  # force: no pre-check to fail
    assert [x.name for x in s.models()] == [m.name] and m.loaded


def test_samples_put_off_before_a_restart_are_dropped_with_the_old_runtime(make_session):
    s = make_session(devices=4)
    m = s.load(small_model("late", 4 * MiB, 4 * MiB), device=3)
    s.unload(m)  # within the spacing of the load's sample: put off
    s.configure(devices=2)  # device 3 no longer exists
    assert all(x.device < 2 for x in s.history.samples())  # reading never fails, nor opens device 3
    assert 3 not in s.open_devices()
