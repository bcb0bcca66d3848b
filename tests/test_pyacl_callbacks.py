"""pyACL's callback family: acl.util.start_thread / stop_thread, acl.rt.subscribe_report,
launch_callback, process_report and unsubscribe_report, on both backends.

Signatures and returns are pyACL's (hicann/runtime python/pyACL/util/thread.cpp and
rt/rt_synchronize.cpp): start_thread returns ``(thread id, 0)`` and calls ``fn(args)``;
stop_thread joins and returns 0 (and raises RuntimeError when the function raised);
launch_callback calls ``fn(user_data_list)`` on the subscribed thread; each rt call returns
``ret``. The image checks the stream and the thread a program names before the runtime
sees them. The program at the end is written in the samples' asynchronous style and run
through ``python -m acl_notebook.pyacl``.
"""

from __future__ import annotations

import errno
import threading
import time

import numpy as np
import pytest
from pyacl_helpers import Program, classifier_spec, image, outputs_on, run_program, simulated_outputs, write

from acl_notebook.session import Config, Session


def reporter(acl, context, state, timeout=50):
    """The samples' callback thread: bind the context, loop in process_report until told."""

    def loop(args):
        ctx, ms = args
        assert acl.rt.set_context(ctx) == 0
        while not state["exit"]:
            state.setdefault("codes", []).append(acl.rt.process_report(ms))

    tid, ret = acl.util.start_thread(loop, [context, timeout])
    assert ret == 0
    return tid


def test_start_thread_calls_the_function_with_its_list_and_stop_thread_joins_it(env):
    acl, _ = env
    seen = {}

    def body(args):
        time.sleep(0.05)
        seen["args"], seen["ident"] = args, threading.get_ident()

    tid, ret = acl.util.start_thread(body, [1, "two"])
    assert ret == 0 and isinstance(tid, int) and tid > 0
    assert acl.util.stop_thread(tid) == 0
    assert seen == {"args": [1, "two"], "ident": tid}, "the id is the thread's pthread_t"
    assert acl.util.stop_thread(tid) == errno.ESRCH, "already joined"
    assert acl.util.stop_thread(12345) == errno.ESRCH, "never started"
    both = {}
    tid, _ = acl.util.start_thread(lambda: both.setdefault("none", True), None)  # None: called with no argument
    assert acl.util.stop_thread(tid) == 0 and both == {"none": True}


def test_thread_misuse(env, capsys):
    acl, _ = env
    with pytest.raises(TypeError, match="parameter must be callable"):
        acl.util.start_thread(42, [])
    with pytest.raises(TypeError):
        acl.util.start_thread(print)  # two arguments, as pyACL parses "OO"
    box = {}
    tid, _ = acl.util.start_thread(lambda a: box.setdefault("self", acl.util.stop_thread(threading.get_ident())), [])
    assert acl.util.stop_thread(tid) == 0
    assert box["self"] == errno.EDEADLK

    def broken(args):
        raise KeyError("inside the thread")

    tid, _ = acl.util.start_thread(broken, [])
    with pytest.raises(RuntimeError, match=r"^exception=KeyError,msg=thread call failed;$"):
        acl.util.stop_thread(tid)
    assert "KeyError: 'inside the thread'" in capsys.readouterr().err, "printed when it happened"


def test_a_callback_reads_the_run_before_it_on_the_callback_thread(env):
    acl, session = env
    p = Program(acl)
    x = image(7)
    p.feed(x)
    ctx, _ = acl.rt.get_context()
    stream, _ = acl.rt.create_stream()
    state = {"exit": False}
    tid = reporter(acl, ctx, state)
    assert acl.rt.subscribe_report(tid, stream) == 0
    got = {}

    def on_done(user_data):
        got["data"], got["thread"], got["outputs"] = user_data, threading.get_ident(), p.read()

    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.launch_callback(on_done, ["frame", 0], 1, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0  # a blocking callback: it has returned
    assert acl.rt.unsubscribe_report(tid, stream) == 0
    state["exit"] = True
    assert acl.util.stop_thread(tid) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert got == {"data": ["frame", 0], "thread": tid, "outputs": want}
    assert set(state["codes"]) <= {0, 507012, 107012} and 0 in state["codes"]  # 107012 until subscribed
    assert acl.rt.destroy_stream(stream) == 0


def test_handles_are_checked_before_the_runtime(env):
    acl, _ = env
    stream, _ = acl.rt.create_stream()
    me = threading.get_ident()
    assert acl.rt.subscribe_report(me, 0xDEAD0) == 107017, "a made-up stream"
    assert acl.rt.launch_callback(print, [], 1, 0xDEAD0) == 107017
    assert acl.rt.unsubscribe_report(me, 0xDEAD0) == 107017
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    assert acl.rt.subscribe_report(gone.ident, stream) == 100000, "a thread that has ended"
    assert acl.rt.subscribe_report(7, stream) == 100000, "a made-up thread id"
    assert "not a live thread" in acl.get_recent_err_msg()
    with pytest.raises(TypeError, match="parameter must be callable"):
        acl.rt.launch_callback("not a function", [], 1, stream)
    with pytest.raises(TypeError):
        acl.rt.process_report("100")
    with pytest.raises(TypeError):
        acl.rt.launch_callback(print, [], 1 << 40, stream)  # block type is a C int
    assert acl.rt.destroy_stream(stream) == 0


def test_the_runtime_codes_come_back_as_ret(env):
    acl, _ = env
    stream, _ = acl.rt.create_stream()
    me = threading.get_ident()
    assert acl.rt.launch_callback(print, [], 1, stream) == 107015
    assert "ACL_ERROR_RT_STREAM_NO_CB_REG" in acl.get_recent_err_msg()
    assert acl.rt.process_report(50) == 107012
    assert acl.rt.subscribe_report(me, stream) == 0
    assert acl.rt.subscribe_report(me, stream) == 107011
    assert acl.rt.launch_callback(print, [], 3, stream) == 100000
    assert acl.rt.process_report(0) == 107000
    assert acl.rt.process_report(30) == 507012
    assert acl.rt.unsubscribe_report(me, stream) == 0
    assert acl.rt.unsubscribe_report(me, stream) == 107011
    assert acl.rt.destroy_stream(stream) == 0


def test_a_callbacks_exception_comes_out_of_process_report_on_its_thread(env):
    acl, _ = env
    stream, _ = acl.rt.create_stream()
    me = threading.get_ident()
    assert acl.rt.subscribe_report(me, stream) == 0

    def broken(user_data):
        raise ZeroDivisionError(user_data[0])

    assert acl.rt.launch_callback(broken, ["bad frame"], 0, stream) == 0
    with pytest.raises(ZeroDivisionError, match="bad frame"):
        for _ in range(20):  # the C library posts it at once; the simulator when this reaches it
            acl.rt.process_report(50)
    assert acl.rt.unsubscribe_report(me, stream) == 0
    assert acl.rt.destroy_stream(stream) == 0


# -- the samples' asynchronous style, as a program ------------------------------------------
@pytest.mark.parametrize("block_type", [0, 1])
def test_async_callback_program(tmp_path, block_type):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("async_callbacks.py", str(model), str(out), "5", str(block_type))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "5 frames, callbacks on the callback thread: True"
    assert "acl-notebook:" not in r.stderr, "nothing left loaded or allocated, the thread stopped"
    saved = np.load(out)
    for x, y in zip(saved["inputs"], saved["outputs"]):
        (want,) = simulated_outputs(model.read_bytes(), [x])
        assert y.tobytes() == want
    assert len({y.tobytes() for y in saved["outputs"]}) == 5


def test_async_callback_program_on_the_ctypes_backend(tmp_path_factory, tmp_path, monkeypatch):
    from abi_lib import build_fake_acl

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    env = {"ACL_NOTEBOOK_BACKEND": "acl", "ASCEND_HOME_PATH": str(lib.parents[1])}
    r = run_program("async_callbacks.py", str(model), str(out), "3", "1", env=env)
    assert r.returncode == 0, r.stderr
    assert "acl-notebook:" not in r.stderr
    monkeypatch.setenv("ASCEND_HOME_PATH", env["ASCEND_HOME_PATH"])
    same = Session(Config(backend="acl"))  # what the C library computes for those inputs
    try:
        saved = np.load(out)
        for x, y in zip(saved["inputs"], saved["outputs"]):
            (want,) = outputs_on(same, model.read_bytes(), [x])
            assert y.tobytes() == want
    finally:
        same.shutdown()


def test_a_program_that_forgets_stop_thread_is_told(tmp_path):
    script = tmp_path / "forgets.py"
    script.write_text("import time, acl\nacl.init()\ntid, ret = acl.util.start_thread(lambda a: time.sleep(60), [])\n"
                      "print(ret)\n")
    r = run_program(str(script))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0"
    assert "1 thread(s) from acl.util.start_thread still running" in r.stderr
