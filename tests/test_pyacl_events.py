"""The event family of the pyACL image: pyACL's signatures and returns, ACL's codes for
misuse on both backends (a stale or made-up event never reaches C), and programs that time
inference with events or order two streams with one.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyacl_helpers import D2H, Program, classifier_spec, image, outputs_on, run_program, simulated_outputs, write

COMPLETE, NOT_READY = 1, 0  # aclrtEventRecordedStatus
WAIT_COMPLETE, WAIT_NOT_READY = 0, 1  # aclrtEventWaitStatus
TIME_LINE, SYNC = 0x8, 0x1


def test_return_shapes(env):
    acl, _ = env
    Program(acl)
    stream, _ = acl.rt.create_stream()
    event, ret = acl.rt.create_event()
    assert ret == 0 and isinstance(event, int) and event
    timed, ret = acl.rt.create_event_with_flag(TIME_LINE)
    assert ret == 0 and timed
    ex, ret = acl.rt.create_event_ex_with_flag(TIME_LINE | SYNC)
    assert ret == 0 and ex
    assert acl.rt.query_event_status(event) == (NOT_READY, 0)
    assert acl.rt.record_event(event, stream) == 0
    assert acl.rt.record_event(timed, stream) == 0
    assert acl.rt.synchronize_event(timed) == 0
    assert acl.rt.query_event_status(timed) == (COMPLETE, 0)
    ms, ret = acl.rt.event_elapsed_time(event, timed)
    assert ret == 0 and isinstance(ms, float) and ms >= 0.0
    assert acl.rt.stream_wait_event(stream, timed) == 0
    assert acl.rt.reset_event(timed, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0
    assert acl.rt.query_event_status(timed) == (NOT_READY, 0)
    for e in (event, timed, ex):
        assert acl.rt.destroy_event(e) == 0
    assert acl.rt.destroy_stream(stream) == 0


def test_misuse_gets_acls_codes(env):
    acl, _ = env
    Program(acl)
    stream, _ = acl.rt.create_stream()
    assert acl.rt.create_event_with_flag(0) == (0, 107000)
    start, _ = acl.rt.create_event()
    end, _ = acl.rt.create_event()
    assert acl.rt.event_elapsed_time(start, end) == (0.0, 507000), "never recorded"
    assert acl.rt.record_event(0, stream) == 100000
    assert acl.rt.synchronize_event(0) == 100000
    assert acl.rt.query_event_status(0) == (0, 100000)
    assert acl.rt.record_event(start, stream + 0x40) == 107017, "a made-up stream"
    for made_up in (start + 0x8, 0xBAD0000):
        assert acl.rt.record_event(made_up, stream) == 107017
        assert acl.rt.synchronize_event(made_up) == 107017
        assert acl.rt.query_event_status(made_up) == (0, 107017)
        assert acl.rt.event_elapsed_time(start, made_up) == (0.0, 107017)
        assert acl.rt.stream_wait_event(stream, made_up) == 107017
    assert "is not a live event" in acl.get_recent_err_msg()
    sync_only, _ = acl.rt.create_event_with_flag(SYNC)
    for e in (start, sync_only):
        assert acl.rt.record_event(e, stream) == 0
    assert acl.rt.event_elapsed_time(start, sync_only) == (0.0, 107006), "no TIME_LINE: no timestamp"
    for e in (start, end, sync_only):
        assert acl.rt.destroy_event(e) == 0
    assert acl.rt.destroy_event(end) == 107017, "destroyed twice"
    assert acl.rt.record_event(end, stream) == 107017, "a destroyed event"
    assert acl.rt.event_elapsed_time(start, end) == (0.0, 107017)
    with pytest.raises(TypeError):
        acl.rt.record_event("event", stream)
    assert acl.rt.destroy_stream(stream) == 0


def test_an_end_event_finishes_the_run_before_it(env):
    acl, session = env
    p = Program(acl)
    x = image(12)
    p.feed(x)
    stream, _ = acl.rt.create_stream()
    start, _ = acl.rt.create_event()
    end, _ = acl.rt.create_event()
    assert acl.rt.record_event(start, stream) == 0
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.record_event(end, stream) == 0
    assert acl.rt.synchronize_event(end) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want
    assert acl.rt.event_elapsed_time(start, end)[1] == 0
    for e in (start, end):
        assert acl.rt.destroy_event(e) == 0
    assert acl.rt.destroy_stream(stream) == 0


def test_a_consumer_stream_waits_for_the_producers_event(sim_env):
    """Two streams: the producer runs the model, the consumer waits for the producer's event
    and copies the output back; synchronizing only the consumer is enough."""
    acl, session = sim_env
    p = Program(acl)
    x = image(13)
    p.feed(x)
    out_ptr, out_size = p.out_ptrs[0]
    back, ret = acl.rt.malloc_host(out_size)
    assert ret == 0
    producer, _ = acl.rt.create_stream()
    consumer, _ = acl.rt.create_stream()
    done, _ = acl.rt.create_event()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, producer) == 0
    assert acl.rt.record_event(done, producer) == 0
    assert acl.rt.stream_wait_event(consumer, done) == 0
    assert acl.rt.memcpy_async(back, out_size, out_ptr, out_size, D2H, consumer) == 0
    assert acl.rt.synchronize_stream(consumer) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert acl.util.ptr_to_bytes(back, out_size) == want
    assert acl.rt.destroy_event(done) == 0
    for s in (producer, consumer):
        assert acl.rt.destroy_stream(s) == 0
    assert acl.rt.free_host(back) == 0


def test_the_wait_status_of_an_event(env):
    """aclrtQueryEventWaitStatus (a pyACL event test suite calls it after stream_wait_event):
    aclrtEventWaitStatus 0 COMPLETE when no stream waits on the event or every waiting stream
    got past its wait; ACL's codes for NULL and stale events."""
    acl, _ = env
    Program(acl)
    producer, _ = acl.rt.create_stream()
    consumer, _ = acl.rt.create_stream()
    event, _ = acl.rt.create_event()
    assert acl.rt.query_event_wait_status(event) == (WAIT_COMPLETE, 0), "no stream waits on it"
    assert acl.rt.record_event(event, producer) == 0
    assert acl.rt.synchronize_event(event) == 0
    assert acl.rt.stream_wait_event(consumer, event) == 0
    assert acl.rt.query_event_wait_status(event) == (WAIT_COMPLETE, 0), "the consumer is observed past its wait"
    assert acl.rt.query_event_wait_status(0) == (0, 100000)
    assert acl.rt.query_event_wait_status(0xBAD0000) == (0, 107017)
    assert acl.rt.destroy_event(event) == 0
    assert acl.rt.query_event_wait_status(event) == (0, 107017)
    for s in (producer, consumer):
        assert acl.rt.destroy_stream(s) == 0


def test_a_wait_behind_a_blocking_callback_is_not_ready(sim_env):
    """The consumer's wait sits behind a blocking callback its report thread has still to run:
    the query says NOT_READY without waiting, and COMPLETE once the callback returned."""
    import threading

    acl, _ = sim_env
    Program(acl)
    producer, _ = acl.rt.create_stream()
    consumer, _ = acl.rt.create_stream()
    event, _ = acl.rt.create_event()
    release, done = threading.Event(), threading.Event()

    def serve():
        while not done.is_set():
            acl.rt.process_report(50)

    tid, _ = acl.util.start_thread(serve, None)
    assert acl.rt.subscribe_report(tid, consumer) == 0
    assert acl.rt.launch_callback(lambda _: release.wait(10), [], 1, consumer) == 0
    assert acl.rt.record_event(event, producer) == 0
    assert acl.rt.stream_wait_event(consumer, event) == 0
    assert acl.rt.query_event_wait_status(event) == (WAIT_NOT_READY, 0)
    assert acl.rt.query_event_status(event) == (COMPLETE, 0), "the record itself is done"
    release.set()
    assert acl.rt.synchronize_stream(consumer) == 0
    assert acl.rt.query_event_wait_status(event) == (WAIT_COMPLETE, 0)
    assert acl.rt.unsubscribe_report(tid, consumer) == 0
    done.set()
    assert acl.util.stop_thread(tid) == 0


def test_event_timing_loop_program(tmp_path):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("event_timing.py", str(model), str(out), "5")
    assert r.returncode == 0, r.stderr
    assert "5 runs: mean" in r.stdout
    saved = np.load(out)
    device_ms, host_ms = saved["device_ms"], saved["host_ms"]
    assert device_ms.shape == (5,) and (device_ms > 0).all()
    assert (device_ms <= host_ms).all(), "the run's device time lies inside the host's wall time of the loop"
    (want,) = simulated_outputs(model.read_bytes(), [saved["input"].reshape(1, 3, 16, 16)])
    assert saved["output"].tobytes() == want


def test_a_destroyed_contexts_streams_and_events_are_stale_handles(env):
    """After aclrtDestroyContext (or aclrtResetDevice for the default context) its streams and
    events are gone: the image refuses them with 107017 before they reach the runtime (a real
    one would get freed objects), on both backends, and a new context's work is unaffected."""
    acl, _ = env
    assert acl.init() in (0, 100002) and acl.rt.set_device(0) == 0
    ctx, ret = acl.rt.create_context(0)
    assert ret == 0
    stream, _ = acl.rt.create_stream()
    event, _ = acl.rt.create_event()
    assert acl.rt.record_event(event, stream) == 0
    assert acl.rt.destroy_context(ctx) == 0
    other, ret = acl.rt.create_context(0)
    assert ret == 0
    assert acl.rt.synchronize_stream(stream) == 107017
    assert acl.rt.record_event(event, 0) == 107017
    assert acl.rt.destroy_event(event) == 107017 and acl.rt.destroy_stream(stream) == 107017
    fresh, ret = acl.rt.create_stream()
    assert ret == 0 and acl.rt.synchronize_stream(fresh) == 0 and acl.rt.destroy_stream(fresh) == 0
    assert acl.rt.destroy_context(other) == 0
    assert acl.rt.set_device(0) == 0  # the device's default context is current again
    default_stream, ret = acl.rt.create_stream()
    assert ret == 0 and default_stream
    default_event, _ = acl.rt.create_event()
    assert acl.rt.reset_device(0) == 0
    assert acl.rt.set_device(0) == 0
    assert acl.rt.synchronize_stream(default_stream) == 107017 and acl.rt.destroy_event(default_event) == 107017


def test_the_simulator_forgets_a_destroyed_contexts_streams_events_and_subscriptions():
    import threading

    from acl_notebook.runtime.errors import AclError
    from acl_notebook.runtime.simulator import SimulatorBackend

    b = SimulatorBackend(soc="Ascend910B1")
    b.init()
    b.set_device(0)
    ctx = b.create_context(0)
    s, e = b.create_stream(), b.create_event()
    b.subscribe_report(threading.get_ident(), s)
    b.destroy_context(ctx)
    assert not b._subscribed
    b.create_context(0)
    for call, args in ((b.synchronize_stream, (s,)), (b.destroy_event, (e,)), (b.record_event, (e, 0))):
        with pytest.raises(AclError) as info:
            call(*args)
        assert info.value.code == 107017, call
    b.finalize()
