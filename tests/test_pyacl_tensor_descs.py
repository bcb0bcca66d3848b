"""The calls public pyACL programs make beyond the core surface, on both backends: tensor descs
and a dataset's entry descs (dynamic-shape programs), cached device memory, streams with a
config, and the deprecated event query; and a program written the way those programs use them,
whose read-back equals `Model.run`'s.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyacl_helpers import (
    D2H,
    Program,
    batch_spec,
    classifier_spec,
    outputs_on,
    pyacl_installed,
    run_program,
    simulated_outputs,
    write,
)

from acl_notebook.om.writer import write_om
from acl_notebook.runtime.base import malloc_charge

FLOAT, FLOAT16, INT64 = 0, 1, 9
NCHW, ND = 0, 2
UNKNOWN_RANK = 0xFFFFFFFFFFFFFFFE
COMPLETE, NOT_READY = 0, 1  # aclrtEventStatus (the deprecated query's numbering)


def live_tensor_descs(rig, session) -> int:
    return session.backend.live_tensor_descs() if rig.kind == "sim" else rig.control.live_tensor_descs()


# -- tensor descs ------------------------------------------------------------------------------------
def test_a_tensor_desc_reports_what_it_was_made_with(env):
    acl, _ = env
    desc = acl.create_tensor_desc(FLOAT16, [2, 3, 16, 16], NCHW)
    assert isinstance(desc, int) and desc
    assert acl.get_tensor_desc_type(desc) == FLOAT16
    assert acl.get_tensor_desc_format(desc) == NCHW
    assert acl.get_tensor_desc_num_dims(desc) == 4
    assert [acl.get_tensor_desc_dim_v2(desc, i) for i in range(4)] == [(2, 0), (3, 0), (16, 0), (16, 0)]
    assert acl.get_tensor_desc_dim(desc, 1) == 3
    assert acl.get_tensor_desc_element_count(desc) == 2 * 3 * 16 * 16
    assert acl.get_tensor_desc_size(desc) == 2 * 3 * 16 * 16 * 2
    assert acl.get_tensor_desc_name(desc) == ""
    assert acl.set_tensor_desc_name(desc, "image") is None
    assert acl.get_tensor_desc_name(desc) == "image"
    assert acl.get_tensor_desc_dim_v2(desc, 4) == (0, 100000), "an index past the dims"
    assert "out of range" in acl.get_recent_err_msg()
    assert acl.get_tensor_desc_dim(desc, 4) == -1
    assert acl.destroy_tensor_desc(desc) is None


def test_acls_answers_for_edge_shapes(env):
    acl, _ = env
    scalar = acl.create_tensor_desc(INT64, [], ND)
    assert acl.get_tensor_desc_num_dims(scalar) == 0
    assert acl.get_tensor_desc_element_count(scalar) == 1 and acl.get_tensor_desc_size(scalar) == 8
    unknown_rank = acl.create_tensor_desc(FLOAT, [-2], ND)
    assert acl.get_tensor_desc_num_dims(unknown_rank) == UNKNOWN_RANK
    dynamic = acl.create_tensor_desc(FLOAT, [-1, 3], ND)
    assert acl.get_tensor_desc_num_dims(dynamic) == 2 and acl.get_tensor_desc_dim_v2(dynamic, 0) == (-1, 0)
    assert acl.get_tensor_desc_element_count(dynamic) == 0 and acl.get_tensor_desc_size(dynamic) == 0
    huge = acl.create_tensor_desc(FLOAT, [1 << 40, 1 << 30], ND)
    assert acl.get_tensor_desc_element_count(huge) == 0, "the product overflows size_t"
    for d in (scalar, unknown_rank, dynamic, huge):
        acl.destroy_tensor_desc(d)


def test_a_null_or_stale_desc_gets_the_null_answers(env, rig):
    acl, session = env
    before = live_tensor_descs(rig, session)
    desc = acl.create_tensor_desc(FLOAT, [4], ND)
    assert live_tensor_descs(rig, session) == before + 1
    acl.destroy_tensor_desc(desc)
    assert live_tensor_descs(rig, session) == before
    acl.destroy_tensor_desc(desc)  # twice: never reaches C, where it would be a double free
    assert live_tensor_descs(rig, session) == before
    for stale in (0, desc, 0xBAD0000):
        assert acl.get_tensor_desc_type(stale) == -1 and acl.get_tensor_desc_format(stale) == -1
        assert acl.get_tensor_desc_num_dims(stale) == 0 and acl.get_tensor_desc_size(stale) == 0
        assert acl.get_tensor_desc_element_count(stale) == 0 and acl.get_tensor_desc_name(stale) == ""
        assert acl.get_tensor_desc_dim_v2(stale, 0) == (0, 100000)
        assert acl.get_tensor_desc_dim(stale, 0) == -1
        assert acl.set_tensor_desc_name(stale, "x") is None
    with pytest.raises(TypeError, match="not list"):
        acl.create_tensor_desc(FLOAT, (1, 2), ND)
    with pytest.raises(TypeError):
        acl.create_tensor_desc(FLOAT, [1, "2"], ND)
    with pytest.raises(TypeError):
        acl.set_tensor_desc_name(desc, 3)


# -- a dataset's entry descs ------------------------------------------------------------------------
def test_a_dataset_entry_keeps_its_own_copy(env, rig):
    acl, session = env
    p = Program(acl)
    assert acl.mdl.get_dataset_tensor_desc(p.ins, 0) == 0, "no desc until one is set"
    desc = acl.create_tensor_desc(FLOAT, [1, 3, 16, 16], NCHW)
    assert acl.mdl.set_dataset_tensor_desc(p.ins, desc, 0) == (p.ins, 0)
    entry = acl.mdl.get_dataset_tensor_desc(p.ins, 0)
    assert entry and entry != desc, "the entry owns a copy"
    acl.destroy_tensor_desc(desc)
    assert [acl.get_tensor_desc_dim_v2(entry, i)[0] for i in range(4)] == [1, 3, 16, 16]
    other = acl.create_tensor_desc(FLOAT16, [7], ND)
    assert acl.mdl.set_dataset_tensor_desc(p.ins, other, 0) == (p.ins, 0)
    assert acl.mdl.get_dataset_tensor_desc(p.ins, 0) == entry, "ACL copies into the entry's desc"
    assert acl.get_tensor_desc_type(entry) == FLOAT16 and acl.get_tensor_desc_num_dims(entry) == 1
    acl.destroy_tensor_desc(entry)  # the dataset frees it: refused, it stays usable
    assert "belongs to a dataset entry" in acl.get_recent_err_msg()
    assert acl.get_tensor_desc_dim_v2(entry, 0) == (7, 0)
    assert acl.mdl.set_dataset_tensor_desc(p.ins, 0, 0) == (p.ins, 0), "NULL drops the entry's desc"
    assert acl.mdl.get_dataset_tensor_desc(p.ins, 0) == 0
    assert acl.get_tensor_desc_num_dims(entry) == 0, "the dropped copy is stale"
    before = live_tensor_descs(rig, session)
    assert acl.mdl.set_dataset_tensor_desc(p.ins, other, 0) == (p.ins, 0)
    assert live_tensor_descs(rig, session) == before + 1
    kept = acl.mdl.get_dataset_tensor_desc(p.ins, 0)
    assert acl.mdl.destroy_dataset(p.ins) == 0
    assert live_tensor_descs(rig, session) == before, "destroying the dataset destroys its copies"
    assert acl.get_tensor_desc_num_dims(kept) == 0 and acl.mdl.get_dataset_tensor_desc(p.ins, 0) == 0
    acl.destroy_tensor_desc(other)


def test_set_dataset_tensor_desc_misuse_gets_acls_codes(env):
    acl, _ = env
    p = Program(acl)
    desc = acl.create_tensor_desc(FLOAT, [1], ND)
    assert acl.mdl.set_dataset_tensor_desc(p.ins, desc, 1) == (p.ins, 100000), "past the dataset's one buffer"
    assert acl.mdl.set_dataset_tensor_desc(0, desc, 0) == (0, 100000)
    assert acl.mdl.set_dataset_tensor_desc(p.ins + 0x8, desc, 0) == (p.ins + 0x8, 100000), "a made-up dataset"
    assert acl.mdl.set_dataset_tensor_desc(p.ins, 0xBAD0000, 0) == (p.ins, 100000), "a made-up desc"
    assert "is not a live tensor desc" in acl.get_recent_err_msg()
    assert acl.mdl.get_dataset_tensor_desc(p.ins, 5) == 0 and acl.mdl.get_dataset_tensor_desc(0, 0) == 0
    acl.destroy_tensor_desc(desc)


def test_a_run_with_described_inputs_gives_the_outputs_fresh_descs(env):
    acl, session = env
    p = Program(acl)
    x = np.linspace(-1, 1, 3 * 16 * 16, dtype=np.float32).reshape(1, 3, 16, 16)
    p.feed(x)
    mine = acl.create_tensor_desc(FLOAT, [1, 10], ND)
    assert acl.mdl.set_dataset_tensor_desc(p.outs, mine, 0)[1] == 0
    before = acl.mdl.get_dataset_tensor_desc(p.outs, 0)
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 0
    assert acl.mdl.get_dataset_tensor_desc(p.outs, 0) == before, "undescribed inputs: the outputs are left alone"
    desc = acl.create_tensor_desc(FLOAT, list(x.shape), NCHW)
    assert acl.mdl.set_dataset_tensor_desc(p.ins, desc, 0)[1] == 0
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 0
    fresh = acl.mdl.get_dataset_tensor_desc(p.outs, 0)
    assert fresh, "ModelExecute gives every output entry a desc"
    # a static model's runtime reports no output shape: an empty desc, type and format undefined
    assert acl.get_tensor_desc_num_dims(fresh) == 0
    assert acl.get_tensor_desc_type(fresh) == -1 and acl.get_tensor_desc_format(fresh) == -1
    assert acl.get_tensor_desc_element_count(fresh) == 1
    if fresh != before:  # C may reuse the freed address; elsewhere the old handle is stale
        assert acl.get_tensor_desc_num_dims(before) == 0 and acl.get_tensor_desc_dim_v2(before, 0)[1] == 100000
    dims, ret = acl.mdl.get_cur_output_dims(p.desc, 0)
    assert ret == 0 and dims["dims"] == [1, 10], "what such programs fall back to"
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want
    acl.destroy_tensor_desc(desc)
    acl.destroy_tensor_desc(mine)


# -- cached memory, configured streams, the deprecated event query ---------------------------------------
def test_cached_memory_is_device_memory_a_model_runs_with(env):
    acl, session = env
    p = Program(acl)
    size = acl.mdl.get_output_size_by_index(p.desc, 0)
    before = session.memory().programs
    ptr, ret = acl.rt.malloc_cached(size, 0)
    assert ret == 0 and ptr
    assert session.memory().programs == before + malloc_charge(size, 0), "shown as the program's buffers"
    assert acl.rt.mem_flush(ptr, size) == 0 and acl.rt.mem_invalidate(ptr + 8, size - 8) == 0
    buffer = acl.mdl.get_dataset_buffer(p.outs, 0)
    assert acl.update_data_buffer(buffer, ptr, size) == 0
    x = np.full((1, 3, 16, 16), 0.25, np.float32)
    p.feed(x)
    assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 0
    assert acl.rt.mem_invalidate(ptr, size) == 0
    host = bytes(size)
    assert acl.rt.memcpy(acl.util.bytes_to_ptr(host), size, ptr, size, D2H) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert host == want
    assert acl.rt.mem_flush(0, size) == 100000 and acl.rt.mem_invalidate(ptr, 0) == 100000
    assert acl.rt.mem_flush(ptr, size + 1) == 107000, "past the allocation's end"
    assert acl.rt.mem_invalidate(0xBAD0000, 16) == 107000
    assert acl.rt.malloc_cached(0, 0) == (0, 100000)
    (model,) = [m for m in session.models() if m.origin == "pyACL"]
    carried = model.program_io
    assert carried >= malloc_charge(size, 0), "charged to the model it ran with"
    assert acl.rt.free(ptr) == 0
    assert model.program_io == carried - malloc_charge(size, 0)
    assert acl.rt.free(ptr) == 107000
    assert acl.rt.mem_flush(ptr, size) == 107000, "freed"


def test_a_stream_with_config_runs_like_any_stream(env):
    acl, session = env
    p = Program(acl)
    stream, ret = acl.rt.create_stream_with_config(9, 0x1 | 0x2)  # a priority past 7 is taken as 7
    assert ret == 0 and stream
    x = np.full((1, 3, 16, 16), -0.5, np.float32)
    p.feed(x)
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want
    assert acl.rt.destroy_stream(stream) == 0
    assert acl.rt.synchronize_stream(stream) == 107017, "destroyed"
    with pytest.raises(TypeError):
        acl.rt.create_stream_with_config("high", 0)


def test_synchronize_event_with_timeout_codes(env):
    acl, _ = env
    Program(acl)
    stream, _ = acl.rt.create_stream()
    event, _ = acl.rt.create_event()
    assert acl.rt.synchronize_event_with_timeout(event, 10) == 0, "never recorded: nothing to wait for"
    assert acl.rt.record_event(event, stream) == 0
    assert acl.rt.synchronize_event_with_timeout(event, -1) == 0
    assert acl.rt.synchronize_event_with_timeout(event, 0) == 0
    assert acl.rt.synchronize_event_with_timeout(0, -2) == 107000, "the timeout is checked before the event"
    assert acl.rt.synchronize_event_with_timeout(0, 10) == 100000
    assert acl.rt.synchronize_event_with_timeout(0xBAD0000, 10) == 107017
    assert acl.rt.destroy_event(event) == 0
    assert acl.rt.synchronize_event_with_timeout(event, 10) == 107017


def test_the_deprecated_event_query(env):
    acl, _ = env
    Program(acl)
    stream, _ = acl.rt.create_stream()
    event, _ = acl.rt.create_event()
    assert acl.rt.query_event(event) == (COMPLETE, 0), "never recorded: nothing pending (Event::Query)"
    assert acl.rt.query_event_status(event) == (0, 0), "while the newer query says NOT_READY"
    assert acl.rt.record_event(event, stream) == 0
    assert acl.rt.query_event(event) == (COMPLETE, 0)
    assert acl.rt.query_event(0) == (0, 100000)
    assert acl.rt.query_event(0xBAD0000) == (0, 107017)
    assert acl.rt.destroy_event(event) == 0
    assert acl.rt.query_event(event) == (0, 107017)


def test_a_record_behind_a_blocking_callback_is_pending(rig):
    """Behind a blocking callback still running on its thread the record is launched and not
    reached: the deprecated query says NOT_READY and a timed wait expires (507047) until the
    callback returns (the simulator defers stream work; the C library completes it at launch,
    so there it is never pending)."""
    import threading

    session = rig.session(soc="Ascend910B1")
    with pyacl_installed(session) as acl:
        Program(acl)
        stream, _ = acl.rt.create_stream()
        event, _ = acl.rt.create_event()
        ran, done = threading.Event(), threading.Event()

        def serve():
            while not done.is_set():
                acl.rt.process_report(50)

        tid, ret = acl.util.start_thread(serve, None)
        assert ret == 0 and acl.rt.subscribe_report(tid, stream) == 0
        assert acl.rt.launch_callback(lambda _: ran.wait(5), [], 1, stream) == 0
        assert acl.rt.record_event(event, stream) == 0
        status, ret = acl.rt.query_event(event)
        assert ret == 0 and status == (NOT_READY if rig.kind == "sim" else COMPLETE)
        # the timed wait for the record gives up while the callback before it still runs
        assert acl.rt.synchronize_event_with_timeout(event, 50) == (507047 if rig.kind == "sim" else 0)
        if rig.kind == "sim":
            assert "has not returned within the timeout" in acl.get_recent_err_msg()
            assert acl.rt.query_event(event) == (NOT_READY, 0), "the record stays queued"
        ran.set()
        assert acl.rt.synchronize_event_with_timeout(event, 5000) == 0
        assert acl.rt.synchronize_stream(stream) == 0
        assert acl.rt.query_event(event) == (COMPLETE, 0)
        assert acl.rt.unsubscribe_report(tid, stream) == 0
        done.set()
        assert acl.util.stop_thread(tid) == 0


@pytest.mark.parametrize("wait", ["event", "stream"])
def test_a_timed_wait_behind_a_callback_already_running_expires(monkeypatch, wait):
    """The subscribed thread has already taken the blocking callback off the stream and is
    running it when the timed wait starts: the wait still expires (507047 / 507046) instead of
    waiting for the callback to return (it used to, which made the test above flaky when the
    report thread won the race). Simulator only: the C library completes work at launch."""
    import threading

    from rig import Rig

    sim = Rig("sim", monkeypatch)
    try:
        with pyacl_installed(sim.session(soc="Ascend910B1")) as acl:
            Program(acl)
            stream, _ = acl.rt.create_stream()
            event, _ = acl.rt.create_event()
            started, release, done = threading.Event(), threading.Event(), threading.Event()

            def serve():
                while not done.is_set():
                    acl.rt.process_report(50)

            tid, _ = acl.util.start_thread(serve, None)
            assert acl.rt.subscribe_report(tid, stream) == 0
            assert acl.rt.launch_callback(lambda _: (started.set(), release.wait(10)), [], 1, stream) == 0
            assert acl.rt.record_event(event, stream) == 0
            assert started.wait(10), "the report thread ran the callback"
            if wait == "event":
                assert acl.rt.synchronize_event_with_timeout(event, 50) == 507047
                assert acl.rt.query_event(event) == (NOT_READY, 0)
            else:
                assert acl.rt.synchronize_stream_with_timeout(stream, 50) == 507046
            assert not release.is_set() and acl.rt.query_event(event) == (NOT_READY, 0), "nothing skipped"
            release.set()
            assert acl.rt.synchronize_event_with_timeout(event, 5000) == 0
            assert acl.rt.query_event(event) == (COMPLETE, 0)
            assert acl.rt.unsubscribe_report(tid, stream) == 0
            done.set()
            assert acl.util.stop_thread(tid) == 0
    finally:
        sim.close()


# -- a program in the public programs' style ------------------------------------------------------------
@pytest.mark.parametrize("spec, batches", [(classifier_spec(), []), (batch_spec(), [2, 8])])
def test_described_io_program(tmp_path, spec, batches):
    model = write(tmp_path, spec)
    out = tmp_path / "out.npz"
    r = run_program("described_io.py", str(model), str(out), *map(str, batches))
    assert r.returncode == 0, r.stderr
    assert "acl-notebook:" not in r.stderr, "nothing left loaded or allocated"
    saved = np.load(out)
    for n, batch in enumerate(batches or [None]):
        x, y = saved[f"input{n}"], saved[f"output{n}"]
        assert y.shape == ((batch or 1), 10)
        (want,) = simulated_outputs(write_om(spec), [x], None if batch is None else (batch,))
        assert y.tobytes() == want
    assert r.stdout.count("0 shape(s) from the output descs") == len(batches or [None])


def test_described_io_program_on_the_ctypes_backend(tmp_path_factory, tmp_path, monkeypatch):
    from abi_lib import build_fake_acl

    from acl_notebook.session import Config, Session

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    model = write(tmp_path, batch_spec())
    out = tmp_path / "out.npz"
    env = {"ACL_NOTEBOOK_BACKEND": "acl", "ASCEND_HOME_PATH": str(lib.parents[1])}
    r = run_program("described_io.py", str(model), str(out), "8", env=env)
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("ASCEND_HOME_PATH", env["ASCEND_HOME_PATH"])
    same = Session(Config(backend="acl"))  # what the C library computes for that input
    try:
        saved = np.load(out)
        (want,) = outputs_on(same, model.read_bytes(), [saved["input0"]], (8,))
        assert saved["output0"].shape == (8, 10) and saved["output0"].tobytes() == want
    finally:
        same.shutdown()


def test_a_program_whose_del_unloads_at_exit_ends(tmp_path):
    """Wrapper classes unload in ``__del__`` (the "Net" style above); left to interpreter exit,
    that call comes while the script's module is torn down, before the runtime shuts down (ACL
    is up then on a device too): the model is unloaded, nothing is reported left, and the
    process ends. (A call after the shutdown, when no thread can start, gets 100001 instead of
    hanging: test_pyacl_public_programs2's walk kept by another module.)"""
    model = write(tmp_path, classifier_spec())
    script = tmp_path / "net_del.py"
    script.write_text(
        "import sys\nimport acl\n\n\nclass Net:\n    def __init__(self, path):\n"
        "        self.model_id, ret = acl.mdl.load_from_file(path)\n        assert ret == 0\n\n"
        "    def __del__(self):\n        print('unload at exit:', acl.mdl.unload(self.model_id), flush=True)\n\n\n"
        "assert acl.init() == 0 and acl.rt.set_device(0) == 0\nnet = Net(sys.argv[1])\n")
    r = run_program(str(script), str(model))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "unload at exit: 0"
    assert r.stderr == ""
