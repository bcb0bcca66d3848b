"""The session's memory history under quick loads and unloads: spaced samples, nothing lost.

Loads and unloads closer together than `SAMPLE_SPACING` share one sample, taken by the
next reader of the history at the latest, so a loop of loads neither costs a sample each
nor pushes the session's earlier history out of the bounded buffer.
"""

from __future__ import annotations

import time

from test_runtime import small_model

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
