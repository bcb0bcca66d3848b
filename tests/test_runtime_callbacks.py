"""Host callbacks on a stream through the backend layer, on both backends.

aclrtSubscribeReport binds a stream to a thread, aclrtLaunchCallback queues a host function
on the stream, and the subscribed thread's aclrtProcessReport calls it once the work before
it has run. The same assertions hold for the simulator (`runtime/sim_reports.py`) and for
real ctypes calls into the C library (tests/abi/fakeacl.c), whose callbacks come back
through one ctypes trampoline. Codes: see sim_reports' docstring.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest
from backends import STATIC, Runner, build, code_of, in_thread

from acl_notebook.runtime.errors import AclError

SOC = "Ascend910B1"


@pytest.fixture
def run(rig):
    s = rig.session(soc=SOC)
    m = s.load(build(SOC, *STATIC))
    s._use(0)
    r = Runner(s, m)
    r.put(0, np.arange(16, dtype=np.float32))
    r.put(1, np.array([5, -3, 9], dtype=np.int8))
    yield r
    r.close()


class Reporter:
    """A thread in the context of the test's session that loops in process_report, as the
    samples' callback threads do, until told to stop; it records what each call returned."""

    def __init__(self, backend, context: int, timeout: int = 50) -> None:
        self.b, self.ctx, self.timeout = backend, context, timeout
        self.codes: list[int] = []
        self.raised: list[BaseException] = []
        self.go = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        self.ident = self.thread.ident

    def loop(self) -> None:
        self.b.set_current_context(self.ctx)
        self.go.wait(10)
        while not self.stop:
            try:
                self.b.process_report(self.timeout)
                self.codes.append(0)
            except AclError as exc:
                self.codes.append(exc.code)
            except Exception as exc:  # noqa: BLE001 - a callback's own error, for the test
                self.raised.append(exc)

    def close(self) -> None:
        self.go.set()
        self.stop = True
        self.thread.join(10)
        assert not self.thread.is_alive()


def wait_for(predicate, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while not predicate() and time.monotonic() < end:
        time.sleep(0.005)
    return predicate()


def test_a_callback_runs_on_the_subscribed_thread_after_the_run_before_it(run):
    r, b = run, run.b
    sync = Runner.__new__(Runner)  # the same run, synchronously, into other outputs: the expected bytes
    sync.s, sync.b, sync.m, sync.ptrs, sync.bufs = r.s, b, r.m, [], []
    sync.inputs, sync.outputs = sync.dataset([]), sync.dataset([t.size for t in r.m.outputs])
    b.execute(r.m.id, r.inputs, sync.outputs)
    want = [sync.get(j, t.size) for j, t in enumerate(r.m.outputs)]
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    seen: dict = {}

    def callback() -> None:
        seen["thread"] = threading.get_ident()
        seen["outputs"] = [r.get(j, t.size) for j, t in enumerate(r.m.outputs)]

    b.execute_async(r.m.id, r.inputs, r.outputs, stream)
    b.launch_callback(callback, 0, stream)
    rep.go.set()
    assert wait_for(lambda: "outputs" in seen)
    b.synchronize_stream(stream)
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    assert seen["thread"] == rep.ident
    assert all((g == w).all() for g, w in zip(seen["outputs"], want))
    assert 0 in rep.codes and not rep.raised
    b.destroy_stream(stream)
    sync.close()


def test_each_launch_calls_its_function_once_in_launch_order(run):
    b = run.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    calls: list[int] = []
    for i in range(5):
        b.launch_callback(lambda i=i: calls.append(i), i % 2, stream)
    rep.go.set()
    b.synchronize_stream(stream)  # waits for the blocking ones
    b.unsubscribe_report(rep.ident, stream)  # and this for the rest
    rep.close()
    assert calls == [0, 1, 2, 3, 4]
    b.destroy_stream(stream)


def test_synchronize_waits_for_a_blocking_callback_to_return(run):
    b = run.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    order: list[str] = []
    b.launch_callback(lambda: (time.sleep(0.2), order.append("callback")), 1, stream)
    rep.go.set()
    b.synchronize_stream(stream)
    order.append("synchronized")
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    assert order == ["callback", "synchronized"]
    b.destroy_stream(stream)


def test_unsubscribe_waits_for_the_callbacks_the_stream_posted(run):
    b = run.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    ran = threading.Event()
    b.launch_callback(ran.set, 0, stream)
    b.synchronize_stream(stream)
    threading.Timer(0.1, rep.go.set).start()
    b.unsubscribe_report(rep.ident, stream)
    assert ran.is_set()
    rep.close()
    b.destroy_stream(stream)


def test_a_callbacks_exception_comes_out_of_process_report(run):
    b = run.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)

    def broken() -> None:
        raise ValueError("the callback's own bug")

    b.launch_callback(broken, 1, stream)
    rep.go.set()
    b.synchronize_stream(stream)
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    assert [str(e) for e in rep.raised] == ["the callback's own bug"]
    b.destroy_stream(stream)


def test_the_default_stream_can_be_subscribed_too(run):
    b = run.b
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, 0)
    ran = threading.Event()
    b.launch_callback(ran.set, 1, 0)
    rep.go.set()
    b.synchronize_stream(0)
    assert ran.is_set()
    b.unsubscribe_report(rep.ident, 0)
    rep.close()


def test_subscription_codes(rig, run):
    b = run.b
    stream = b.create_stream()
    me = threading.get_ident()
    other = threading.Thread(target=lambda: None)
    other.start()
    other.join()
    assert code_of(b.launch_callback, lambda: None, 0, stream) == 107015, "nobody subscribed the stream"
    assert code_of(b.unsubscribe_report, me, stream) == 107011
    assert code_of(b.process_report, 50) == 107012, "this thread subscribed no stream"
    b.subscribe_report(me, stream)
    assert code_of(b.subscribe_report, me, stream) == 107011, "a stream has one thread"
    assert code_of(b.subscribe_report, other.ident, stream) == 107011
    assert code_of(b.unsubscribe_report, other.ident, stream) == 107012, "subscribed by another thread"
    assert code_of(b.launch_callback, lambda: None, 2, stream) == 100000, "block type is 0 or 1"
    assert code_of(b.launch_callback, lambda: None, -1, stream) == 100000
    assert code_of(b.process_report, 0) == 107000
    assert code_of(b.process_report, -2) == 107000
    began = time.monotonic()
    assert code_of(b.process_report, 60) == 507012, "nothing came within the timeout"
    assert time.monotonic() - began >= 0.05
    assert in_thread(lambda: code_of(b.launch_callback, lambda: None, 0, stream)) == 107002
    ctx = b.get_current_context()
    second = b.create_context(0)
    assert code_of(b.launch_callback, lambda: None, 0, stream) == 107003, "the stream is another context's"
    b.destroy_context(second)
    b.set_current_context(ctx)
    b.unsubscribe_report(me, stream)
    assert code_of(b.process_report, 50) == 107012
    b.destroy_stream(stream)


def test_a_thread_serves_the_streams_of_one_device(rig):
    s = rig.session(soc=SOC, devices=2)
    s._use(0)
    b = s.backend
    s0 = b.create_stream()
    ctx1 = b.create_context(1)
    s1 = b.create_stream()
    me = threading.get_ident()
    b.subscribe_report(me, s0)
    assert code_of(b.subscribe_report, me, s1) == 107012
    b.destroy_stream(s1)
    b.destroy_context(ctx1)
    s._use(0)
    b.unsubscribe_report(me, s0)
    b.destroy_stream(s0)


def test_the_subscribed_thread_may_wait_for_ever(run):
    b = run.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context(), timeout=-1)
    b.subscribe_report(rep.ident, stream)
    rep.go.set()
    time.sleep(0.1)
    ran = threading.Event()
    b.launch_callback(ran.set, 1, stream)
    b.synchronize_stream(stream)
    assert ran.is_set()
    b.launch_callback(lambda: setattr(rep, "stop", True), 1, stream)  # the loop ends after this one
    b.synchronize_stream(stream)
    rep.close()
    b.unsubscribe_report(rep.ident, stream)
    b.destroy_stream(stream)


# -- the simulator's lazy streams: what has run when a callback is called -----------------
@pytest.fixture
def sim_run():
    from acl_notebook.session import Config, Session

    s = Session(Config(backend="sim", soc=SOC))
    s.start()
    m = s.load(build(SOC, *STATIC))
    s._use(0)
    r = Runner(s, m)
    r.put(0, np.arange(16, dtype=np.float32))
    r.put(1, np.array([5, -3, 9], dtype=np.int8))
    later = Runner.__new__(Runner)  # a second run's outputs, filled with a mark beforehand
    later.s, later.b, later.m, later.ptrs, later.bufs = s, s.backend, m, [], []
    later.inputs, later.outputs = r.inputs, later.dataset([t.size for t in m.outputs])
    for j, t in enumerate(m.outputs):
        s.backend.memset(later.addr(later.outputs, j), t.size, 0xAB, t.size)
    yield r, later
    s.backend.destroy_dataset(later.outputs)
    for buf in later.bufs:
        s.backend.destroy_data_buffer(buf)
    for ptr in later.ptrs:
        s.backend.free(ptr)
    r.close()
    s.shutdown()


def marked(later) -> bool:
    return all((later.get(j, t.size) == 0xAB).all() for j, t in enumerate(later.m.outputs))


@pytest.mark.parametrize("block", [0, 1])
def test_process_report_runs_the_work_before_the_callback_and_not_after(sim_run, block):
    r, later = sim_run
    b = r.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    seen: dict = {}

    def callback() -> None:
        seen["first"] = [r.get(j, t.size) for j, t in enumerate(r.m.outputs)]
        seen["later_marked"] = marked(later)

    mark = [r.get(j, t.size) for j, t in enumerate(r.m.outputs)]
    b.execute_async(r.m.id, r.inputs, r.outputs, stream)
    b.launch_callback(callback, block, stream)
    b.execute_async(r.m.id, later.inputs, later.outputs, stream)
    rep.go.set()
    assert wait_for(lambda: "later_marked" in seen)
    assert any((f != m).any() for f, m in zip(seen["first"], mark)), "the run before it had run"
    assert seen["later_marked"], "the run after it had not"
    assert marked(later), "and still has not: nothing waited for the stream"
    b.synchronize_stream(stream)
    assert not marked(later)
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    b.destroy_stream(stream)


def test_a_blocking_callback_holds_the_work_after_it_until_it_returns(sim_run):
    r, later = sim_run
    b = r.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    started, seen = threading.Event(), {}

    def callback() -> None:
        started.set()
        time.sleep(0.3)  # meanwhile the test's thread synchronizes the stream
        seen["later_marked"] = marked(later)

    b.launch_callback(callback, 1, stream)
    b.execute_async(r.m.id, later.inputs, later.outputs, stream)
    rep.go.set()
    assert started.wait(10)
    b.synchronize_stream(stream)
    assert seen["later_marked"] is True, "the run after the callback waited for it to return"
    assert not marked(later)
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    b.destroy_stream(stream)


def test_a_non_blocking_callback_lets_the_stream_go_on(sim_run):
    r, later = sim_run
    b = r.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    started, synced, seen = threading.Event(), threading.Event(), {}

    def callback() -> None:
        started.set()
        synced.wait(10)
        seen["later_marked"] = marked(later)

    b.launch_callback(callback, 0, stream)
    b.execute_async(r.m.id, later.inputs, later.outputs, stream)
    rep.go.set()
    assert started.wait(10)
    b.synchronize_stream(stream)  # does not wait for the callback
    synced.set()
    assert wait_for(lambda: "later_marked" in seen)
    assert seen["later_marked"] is False, "the run after it ran while the callback was still running"
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    b.destroy_stream(stream)


def test_a_synchronize_posts_the_callbacks_it_reaches_to_the_subscribed_thread(sim_run):
    r, _later = sim_run
    b = r.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    where: list[int] = []
    b.launch_callback(lambda: where.append(threading.get_ident()), 0, stream)
    b.synchronize_stream(stream)  # reaches it: posted, not called here
    assert where == [] and b.pending_callbacks() == 1
    rep.go.set()
    assert wait_for(lambda: where == [rep.ident])
    assert b.pending_callbacks() == 0
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    b.destroy_stream(stream)


def test_destroying_a_stream_unsubscribes_it(sim_run):
    b = sim_run[0].b
    stream = b.create_stream()
    me = threading.get_ident()
    b.subscribe_report(me, stream)
    b.destroy_stream(stream)
    assert code_of(b.process_report, 50) == 107012


def test_a_callback_the_thread_s_own_synchronize_runs_raises_at_its_next_process_report(sim_run):
    b = sim_run[0].b
    stream = b.create_stream()
    me = threading.get_ident()
    b.subscribe_report(me, stream)
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise OSError("late")

    b.launch_callback(broken, 1, stream)
    b.launch_callback(lambda: calls.append("next"), 1, stream)
    b.synchronize_stream(stream)  # the subscribed thread reaches them itself: both run here
    assert calls == ["broken", "next"]
    with pytest.raises(OSError, match="late"):
        b.process_report(50)
    assert code_of(b.process_report, 50) == 507012
    b.unsubscribe_report(me, stream)
    b.destroy_stream(stream)


def test_a_non_blocking_callback_the_thread_s_own_synchronize_reaches_waits_for_its_process_report(sim_run):
    b = sim_run[0].b
    stream = b.create_stream()
    me = threading.get_ident()
    b.subscribe_report(me, stream)
    calls: list[str] = []
    b.launch_callback(lambda: calls.append("ran"), 0, stream)
    b.synchronize_stream(stream)
    assert calls == [], "posted to this thread, as a device would"
    b.process_report(50)
    assert calls == ["ran"]
    b.unsubscribe_report(me, stream)
    b.destroy_stream(stream)


def test_a_second_synchronize_waits_for_what_the_first_one_took_off_the_stream(run):
    """Thread A's synchronize is held by a blocking callback; a synchronize of the same stream on
    this thread meanwhile returns only once the callback has run."""
    second_synchronize(run.b, "stream")


def test_an_event_synchronize_waits_for_a_record_another_synchronize_took_off_the_stream(sim_run):
    """The same for aclrtSynchronizeEvent of a record queued after the callback (the C library
    records an event at launch: only the simulator queues it behind the callback)."""
    second_synchronize(sim_run[0].b, "event")


def second_synchronize(b, second: str) -> None:
    stream, event = b.create_stream(), b.create_event()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, stream)
    done: list[str] = []
    b.launch_callback(lambda: (time.sleep(0.3), done.append("callback")), 1, stream)
    b.record_event(event, stream)
    first = in_thread_started(b, lambda: b.synchronize_stream(stream))
    time.sleep(0.05)  # A has taken the callback off the stream and waits for it
    rep.go.set()
    time.sleep(0.05)
    if second == "stream":
        b.synchronize_stream(stream)
    else:
        b.synchronize_event(event)
        assert b.query_event_status(event), "the event's record is done once it is synchronized"
    assert done == ["callback"], "a synchronize returned before the stream's callback had run"
    first.join(10)
    assert not first.is_alive()
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    b.destroy_event(event)
    b.destroy_stream(stream)


def in_thread_started(b, fn) -> threading.Thread:
    """`fn` on a new thread in this thread's current context (already running on return)."""
    ctx = b.get_current_context()

    def body() -> None:
        b.set_current_context(ctx)
        fn()

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t


def test_a_callback_that_synchronizes_a_stream_held_by_its_own_thread_s_callback_runs_that_one(sim_run):
    """A blocking callback synchronizes stream 2, which another thread's synchronize holds at a
    blocking callback for this same (busy) thread: that one runs here, before the synchronize returns."""
    b = sim_run[0].b
    ctx = b.get_current_context()
    s1, s2 = b.create_stream(), b.create_stream()
    rep = Reporter(b, ctx)
    b.subscribe_report(rep.ident, s1)
    b.subscribe_report(rep.ident, s2)
    log: list[str] = []

    def first() -> None:
        b.synchronize_stream(s2)
        log.append("s2 synchronized")

    b.launch_callback(first, 1, s1)
    b.launch_callback(lambda: log.append("second"), 1, s2)
    threads = [in_thread_started(b, lambda s=s: b.synchronize_stream(s)) for s in (s1, s2)]
    time.sleep(0.1)  # both callbacks are posted to the reporter
    rep.go.set()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert log == ["second", "s2 synchronized"]
    for s in (s1, s2):
        b.unsubscribe_report(rep.ident, s)
        b.destroy_stream(s)
    rep.close()
    assert not rep.raised


def test_finalize_lets_go_of_the_callbacks_c_will_never_call(acl_rig):
    """The ctypes backend keeps each launched callable until C calls it back; after aclFinalize
    C never will, so the table must not keep it (and what it holds) alive for ever."""
    s = acl_rig.session(soc=SOC)
    s._use(0)
    b = s.backend
    stream = b.create_stream()
    b.subscribe_report(threading.get_ident(), stream)

    class Payload:
        pass

    held = Payload()
    gone = weakref.ref(held)
    b.launch_callback(lambda held=held: None, 0, stream)  # never processed
    del held
    s.shutdown()
    gc.collect()
    assert gone() is None, "the trampoline table still holds a callback of a finalized runtime"


def test_a_timed_synchronize_gives_up_on_a_blocking_callback_nobody_runs(sim_run):
    """aclrtSynchronizeStreamWithTimeout: a blocking callback its (busy) thread has not run holds
    the stream past the timeout: 507046 after about that long; the callback and the run after it
    stay queued, and run once (each) when the thread gets to it and the stream is synchronized."""
    r, later = sim_run
    b = r.b
    stream = b.create_stream()
    rep = Reporter(b, b.get_current_context())  # not processing until told to
    b.subscribe_report(rep.ident, stream)
    calls: list[int] = []
    b.launch_callback(lambda: calls.append(1), 1, stream)
    b.execute_async(r.m.id, later.inputs, later.outputs, stream)
    began = time.monotonic()
    assert code_of(b.synchronize_stream_with_timeout, stream, 150) == 507046
    assert 0.1 <= time.monotonic() - began < 5
    assert calls == [] and marked(later), "the callback and the run after it are still to come"
    assert b.pending_callbacks() == 1
    rep.go.set()
    b.synchronize_stream_with_timeout(stream, 10_000)
    assert calls == [1] and not marked(later)
    b.synchronize_stream(stream)
    assert calls == [1] and b.pending_callbacks() == 0
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    b.destroy_stream(stream)


def test_an_event_query_never_waits_for_a_blocking_callback(sim_run):
    """aclrtQueryEventStatus answers at once: behind a blocking callback its (busy) thread has not
    run, the record is NOT_READY; once the thread has run it (once), the record is complete."""
    b = sim_run[0].b
    stream, event = b.create_stream(), b.create_event()
    rep = Reporter(b, b.get_current_context())  # not processing until told to
    b.subscribe_report(rep.ident, stream)
    calls: list[int] = []
    b.launch_callback(lambda: calls.append(1), 1, stream)
    b.record_event(event, stream)
    began = time.monotonic()
    assert b.query_event_status(event) is False
    assert b.query_event_status(event) is False
    assert time.monotonic() - began < 2, "the query waited for the callback"
    assert calls == []
    rep.go.set()
    assert wait_for(lambda: b.query_event_status(event))
    assert calls == [1]
    b.synchronize_stream(stream)
    assert calls == [1] and b.pending_callbacks() == 0
    b.unsubscribe_report(rep.ident, stream)
    rep.close()
    b.destroy_event(event)
    b.destroy_stream(stream)


def test_an_interrupted_process_report_leaves_nothing_for_a_synchronize_to_wait_for(sim_run, monkeypatch):
    """KeyboardInterrupt while process_report runs the work before a callback (the subscribed
    thread may be the notebook's main thread): the callback it took is dropped, and a
    synchronize of the stream afterwards returns instead of waiting for it for ever."""
    from acl_notebook.runtime import sim_streams

    b = sim_run[0].b
    stream = b.create_stream()
    me = threading.get_ident()
    b.subscribe_report(me, stream)
    src, dst = b.malloc(64), b.malloc(64)
    b.memcpy_async(dst, 64, src, 64, 3, stream)
    b.launch_callback(lambda: None, 1, stream)

    def interrupted(self, backend):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim_streams.CopyTask, "perform", interrupted)
    with pytest.raises(KeyboardInterrupt):
        b.process_report(100)
    monkeypatch.undo()
    other = in_thread_started(b, lambda: b.synchronize_stream(stream))
    other.join(5)
    assert not other.is_alive(), "the synchronize waits for a callback nobody will run"
    b.unsubscribe_report(me, stream)
    b.destroy_stream(stream)
    for p in (src, dst):
        b.free(p)


def test_a_blocking_callback_holds_its_own_stream_only(run):
    """While the subscribed thread runs a blocking callback of stream 1, a synchronize of stream 2
    returns (a callback may wait for the program's work on another stream, as on a device)."""
    b = run.b
    s1, s2 = b.create_stream(), b.create_stream()
    rep = Reporter(b, b.get_current_context())
    b.subscribe_report(rep.ident, s1)
    inside, synced, seen = threading.Event(), threading.Event(), {}

    def callback() -> None:
        inside.set()
        seen["synced"] = synced.wait(5)

    b.launch_callback(callback, 1, s1)
    src, dst = b.malloc(64), b.malloc(64)
    b.memcpy_async(dst, 64, src, 64, 3, s2)
    rep.go.set()
    assert inside.wait(10)
    began = time.monotonic()
    b.synchronize_stream(s2)
    synced.set()
    assert time.monotonic() - began < 2, "stream 2 waited for stream 1's callback"
    b.synchronize_stream(s1)
    assert seen == {"synced": True}
    b.unsubscribe_report(rep.ident, s1)
    rep.close()
    for s in (s1, s2):
        b.destroy_stream(s)
    for p in (src, dst):
        b.free(p)
