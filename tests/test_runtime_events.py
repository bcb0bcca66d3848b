"""Events through the backend layer, on both backends, in EP and RC, and the simulator's model.

Both backends: the call sequence programs use (record around a run, synchronize, elapsed
time, query), and ACL's codes for each misuse. The simulator only: records are tasks in
stream order, observing an event performs its stream up to it and no further, a stream
that waits for an event waits for the other stream's work, and an event's time is taken
when the stream reaches it (so it measures the simulated compute). Facts: `sim_events`.
"""

from __future__ import annotations

import time

import numpy as np
from backends import D2H, H2D, STATIC, Runner, build, check_values, code_of, in_thread, pinned, read_host

from acl_notebook.runtime import sim_outputs
from acl_notebook.runtime.sim_events import EVENT_SYNC, EVENT_TIME_LINE


def test_timing_a_run_with_two_events(rig, static):
    r, b = static, static.b
    a, bb = np.arange(16, dtype=np.float32), np.array([4, 0, -4], np.int8)
    r.put(0, a)
    r.put(1, bb)
    stream = b.create_stream()
    start, end = b.create_event(), b.create_event()
    assert rig.live(r.s)["events"] == 2
    b.record_event(start, stream)
    b.execute_async(r.m.id, r.inputs, r.outputs, stream)
    b.record_event(end, stream)
    b.synchronize_event(end)
    assert b.query_event_status(end) is True
    ms = b.event_elapsed_time(start, end)
    assert isinstance(ms, float) and ms >= 0.0
    for j, t in enumerate(r.m.outputs):  # synchronizing the end event finished the run before it
        check_values(rig, r.s, r.get(j, t.size), [a, bb], j)
    for e in (start, end):
        b.destroy_event(e)
    assert rig.live(r.s)["events"] == 0
    b.destroy_stream(stream)


def test_event_codes(dev):
    b = dev.backend
    stream = b.create_stream()
    assert code_of(b.create_event, 0) == 107000, "a flag of 0"
    assert code_of(b.create_event, 0x40) == 107000, "an unknown flag bit"
    assert in_thread(lambda: code_of(b.create_event)) == 107002
    event = b.create_event()
    assert code_of(b.record_event, 0, stream) == 100000
    assert code_of(b.record_event, event, stream + 16) == 107017, "not a stream"
    assert code_of(b.synchronize_event, 0) == 100000
    assert code_of(b.query_event_status, 0) == 100000
    assert code_of(b.stream_wait_event, stream, 0) == 100000
    assert b.query_event_status(event) is False, "never recorded: NOT_READY"
    b.synchronize_event(event)  # nothing to wait for
    other = b.create_event()
    assert code_of(b.event_elapsed_time, event, other) == 507000, "no record: the runtime's recorder-null"
    b.record_event(event, stream)
    b.record_event(other, 0)  # the default stream
    b.synchronize_stream(stream)
    b.synchronize_stream(0)
    b.event_elapsed_time(event, other)
    b.reset_event(other, stream)
    b.synchronize_stream(stream)
    assert b.query_event_status(other) is False, "reset clears the record"
    assert code_of(b.event_elapsed_time, event, other) == 507000
    sync_only = b.create_event(EVENT_SYNC)
    b.record_event(sync_only, stream)
    b.synchronize_event(sync_only)
    assert b.query_event_status(sync_only) is True
    assert code_of(b.event_elapsed_time, event, sync_only) == 107006, "an event without TIME_LINE takes no time"
    timed = b.create_event(EVENT_TIME_LINE | EVENT_SYNC)
    b.record_event(timed, stream)
    assert b.event_elapsed_time(event, timed) >= 0.0
    b.destroy_event(other)
    for call, args in ((b.record_event, (other, stream)), (b.synchronize_event, (other,)),
                       (b.query_event_status, (other,)), (b.event_elapsed_time, (event, other)),
                       (b.destroy_event, (other,)), (b.stream_wait_event, (stream, other))):
        assert code_of(call, *args) == 107017, f"{call.__name__} of a destroyed event"
    for e in (event, sync_only, timed):
        b.destroy_event(e)
    b.destroy_stream(stream)


def test_a_stream_of_another_context_is_refused(dev):
    b = dev.backend
    stream, event = b.create_stream(), b.create_event()
    other = b.create_context(0)
    assert code_of(b.record_event, event, stream) == 107003
    assert code_of(b.stream_wait_event, stream, event) == 107003
    b.destroy_context(other)
    dev._use(0)
    b.destroy_event(event)
    b.destroy_stream(stream)


def test_extended_events(dev):
    b = dev.backend
    event = b.create_event(EVENT_TIME_LINE, extended=True)
    b.record_event(event, 0)
    b.synchronize_event(event)
    assert b.query_event_status(event) is True
    b.destroy_event(event)


# -- the simulator's model of completion ------------------------------------------------------------
def test_synchronizing_an_event_performs_its_stream_up_to_it_and_no_further(sim_dev):
    b = sim_dev.backend
    src = pinned(b, b"\x21" * 64)
    first, second = pinned(b, bytes(64)), pinned(b, bytes(64))
    device = b.malloc(64)
    stream, event = b.create_stream(), b.create_event()
    b.memcpy_async(device, 64, src, 64, H2D, stream)
    b.memcpy_async(first, 64, device, 64, D2H, stream)
    b.record_event(event, stream)
    b.memcpy_async(second, 64, device, 64, D2H, stream)
    assert read_host(b, first, 64) == bytes(64)
    b.synchronize_event(event)
    assert read_host(b, first, 64) == b"\x21" * 64, "before the event: done"
    assert read_host(b, second, 64) == bytes(64), "after the event: still queued"
    b.synchronize_stream(stream)
    assert read_host(b, second, 64) == b"\x21" * 64
    b.destroy_event(event)
    b.destroy_stream(stream)


def test_querying_an_event_observes_the_work_before_it(sim_dev):
    b = sim_dev.backend
    src, dst = pinned(b, b"\x33" * 32), pinned(b, bytes(32))
    device = b.malloc(32)
    stream, event = b.create_stream(), b.create_event()
    b.memcpy_async(device, 32, src, 32, H2D, stream)
    b.memcpy_async(dst, 32, device, 32, D2H, stream)
    b.record_event(event, stream)
    assert read_host(b, dst, 32) == bytes(32)
    assert b.query_event_status(event) is True
    assert read_host(b, dst, 32) == b"\x33" * 32
    b.destroy_event(event)
    b.destroy_stream(stream)


def test_a_stream_waiting_for_an_event_waits_for_the_other_streams_work(sim_dev):
    b = sim_dev.backend
    src, dst = pinned(b, b"\x44" * 48), pinned(b, bytes(48))
    device = b.malloc(48)
    producer, consumer = b.create_stream(), b.create_stream()
    ready = b.create_event()
    b.memcpy_async(device, 48, src, 48, H2D, producer)
    b.record_event(ready, producer)
    b.stream_wait_event(consumer, ready)
    b.memcpy_async(dst, 48, device, 48, D2H, consumer)
    b.synchronize_stream(consumer)  # the wait performs the producer up to the record first
    assert read_host(b, dst, 48) == b"\x44" * 48
    b.destroy_event(ready)
    for s in (producer, consumer):
        b.destroy_stream(s)


def test_a_later_record_supersedes_an_earlier_one(sim_dev):
    b = sim_dev.backend
    stream, start, end = b.create_stream(), b.create_event(), b.create_event()
    b.record_event(start, stream)
    b.record_event(end, stream)
    b.synchronize_stream(stream)
    first = b.event_elapsed_time(start, end)
    time.sleep(0.02)
    b.record_event(end, stream)  # end again, 20 ms later
    assert b.query_event_status(end) is True
    assert b.event_elapsed_time(start, end) >= first + 15.0
    for e in (start, end):
        b.destroy_event(e)
    b.destroy_stream(stream)


def test_elapsed_time_measures_the_simulated_compute(sim_dev, monkeypatch):
    """A run that takes 60 ms (a slowed interpreter) between two records is 60 ms of event
    time; two records with nothing between them are far less."""
    real = sim_outputs.compute

    def slow(*args, **kwargs):
        time.sleep(0.06)
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_outputs, "compute", slow)
    m = sim_dev.load(build("Ascend910B1", *STATIC))
    sim_dev._use(0)
    r = Runner(sim_dev, m)
    b = sim_dev.backend
    stream = b.create_stream()
    events = [b.create_event() for _ in range(4)]
    b.record_event(events[0], stream)
    b.record_event(events[1], stream)
    b.execute_async(m.id, r.inputs, r.outputs, stream)
    b.record_event(events[2], stream)
    b.record_event(events[3], stream)
    launched = time.monotonic()
    time.sleep(0.03)  # host time before the program waits does not count: the stream had not run
    b.synchronize_event(events[3])
    run_ms = b.event_elapsed_time(events[1], events[2])
    empty_ms = b.event_elapsed_time(events[0], events[1])
    assert run_ms >= 60.0
    assert run_ms < (time.monotonic() - launched) * 1000.0
    assert empty_ms < run_ms / 4
    for e in events:
        b.destroy_event(e)
    b.destroy_stream(stream)
    r.close()


def test_a_pipeline_of_records_and_waits_keeps_no_performed_waits(sim_dev):
    """A program that records on one stream and waits on another every iteration, and never
    asks query_event_wait_status, must not keep every wait for the event's life."""
    b = sim_dev.backend
    producer, consumer = b.create_stream(), b.create_stream()
    event = b.create_event()
    for _ in range(200):
        b.record_event(event, producer)
        b.stream_wait_event(consumer, event)
        b.synchronize_stream(consumer)
    assert len(b._events[event].waits) <= 1
    assert b.query_event_wait_status(event) == 0
    b.destroy_event(event)
    for s in (producer, consumer):
        b.destroy_stream(s)
