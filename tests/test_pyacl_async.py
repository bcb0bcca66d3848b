"""aclmdlExecuteAsync's outputs are final only once the stream is synchronized.

On a device the run happens some time after the call returns, so a program that reads its
output buffer before ``acl.rt.synchronize_stream`` may see the buffer's previous contents.
The simulator queues the run on its stream and computes it when the stream is synchronized
(or destroyed, or its context destroyed, its device reset, ACL finalized), so the
forgot-to-sync bug shows there as it could on hardware. A synchronous ``aclrtMemcpy`` or
``aclmdlExecute`` does not wait for other streams. The correct pattern reads exactly what
``Model.run`` computes, on both backends.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyacl_helpers import H2D, Program, classifier_spec, image, outputs_on, write

SENTINEL = b"\xab"


def fill(acl, p, byte=SENTINEL):
    ptr, size = p.out_ptrs[0]
    mark = byte * size
    assert acl.rt.memcpy(ptr, size, acl.util.bytes_to_ptr(mark), size, H2D) == 0
    return mark


def test_the_correct_pattern_reads_what_model_run_computes(env):
    acl, session = env
    p = Program(acl)
    x = image(5)
    p.feed(x)
    fill(acl, p)
    stream, _ = acl.rt.create_stream()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want
    assert acl.rt.destroy_stream(stream) == 0


def test_reading_before_synchronize_shows_the_previous_contents(sim_env):
    acl, session = sim_env
    p = Program(acl)
    x = image(6)
    p.feed(x)
    mark = fill(acl, p)
    stream, _ = acl.rt.create_stream()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert p.read() == mark  # forgot to synchronize: the run has not happened yet
    assert acl.rt.synchronize_stream(stream) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want
    assert acl.rt.synchronize_stream(stream) == 0  # nothing left: the values stay
    assert p.read() == want
    assert acl.rt.destroy_stream(stream) == 0


def test_queued_runs_happen_in_launch_order_and_read_their_inputs_when_they_run(sim_env):
    acl, session = sim_env
    p = Program(acl)
    stream, _ = acl.rt.create_stream()
    first, second = image(1), image(2)
    p.feed(first)
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    p.feed(second)  # overwrites the input the queued run has not read yet (a race on a device too)
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.synchronize_stream(stream) == 0
    (want,) = outputs_on(session, p.om, [second])
    assert p.read() == want
    assert acl.rt.destroy_stream(stream) == 0


def test_a_synchronous_execute_does_not_wait_for_another_stream(sim_env):
    acl, session = sim_env
    p = Program(acl)
    other = Program.__new__(Program)  # a second output dataset for the same model
    other.acl, other.desc = acl, p.desc
    other.outs, other.out_ptrs = p._dataset(1, acl.mdl.get_output_size_by_index)
    x = image(3)
    p.feed(x)
    mark = fill(acl, p)
    stream, _ = acl.rt.create_stream()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.mdl.execute(p.model_id, p.ins, other.outs) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert other.read() == want  # the sync run is done when it returns
    assert p.read() == mark  # the queued one still is not
    assert acl.rt.synchronize_device() == 0  # waits for every stream of the device
    assert p.read() == want


@pytest.mark.parametrize("finish", ["destroy_stream", "default_stream", "destroy_context", "reset_device"])
def test_what_else_waits_for_the_queue(sim_env, finish):
    acl, session = sim_env
    p = Program(acl)
    x = image(4)
    p.feed(x)
    mark = fill(acl, p)
    (want,) = outputs_on(session, p.om, [x])
    stream = 0
    if finish != "default_stream":
        stream, _ = acl.rt.create_stream()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert p.read() == mark
    ptr, size = p.out_ptrs[0]
    host = bytes(size)
    if finish == "destroy_stream":
        assert acl.rt.destroy_stream(stream) == 0  # aclrtDestroyStream waits for the stream's tasks
    elif finish == "default_stream":
        assert acl.rt.synchronize_stream(0) == 0
    else:
        if finish == "destroy_context":
            assert acl.rt.destroy_context(p.ctx) == 0  # its streams' queued work is done first
        else:
            assert acl.rt.reset_device(0) == 0  # the device's queued work is done first
        # the device memory is still the program's until freed: read it from a fresh context
        assert acl.rt.set_device(0) == 0
        assert acl.rt.memcpy(acl.util.bytes_to_ptr(host), size, ptr, size, 2) == 0
        assert host == want
        return
    assert p.read() == want


def test_a_program_that_forgets_to_synchronize(tmp_path):
    """The classic bug, in a script run through the runner: it reads the output buffer right
    after execute_async, and only a later synchronize makes the values appear."""
    from pyacl_helpers import run_program, simulated_outputs

    model = write(tmp_path, classifier_spec())
    script = tmp_path / "forgot.py"
    script.write_text(
        "import sys\nimport acl\nimport numpy as np\n"
        "acl.init(); acl.rt.set_device(0); ctx, _ = acl.rt.create_context(0); stream, _ = acl.rt.create_stream()\n"
        "mid, _ = acl.mdl.load_from_file(sys.argv[1])\n"
        "desc = acl.mdl.create_desc(); acl.mdl.get_desc(desc, mid)\n"
        "n_in, n_out = acl.mdl.get_input_size_by_index(desc, 0), acl.mdl.get_output_size_by_index(desc, 0)\n"
        "d_in, _ = acl.rt.malloc(n_in, 0); d_out, _ = acl.rt.malloc(n_out, 0)\n"
        "ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()\n"
        "acl.mdl.add_dataset_buffer(ins, acl.create_data_buffer(d_in, n_in))\n"
        "acl.mdl.add_dataset_buffer(outs, acl.create_data_buffer(d_out, n_out))\n"
        "x = np.random.default_rng(9).standard_normal((1, 3, 16, 16)).astype(np.float32)\n"
        "acl.rt.memcpy(d_in, n_in, x.ctypes.data, x.nbytes, 1)\n"
        "acl.mdl.execute_async(mid, ins, outs, stream)\n"
        "early = np.zeros(n_out // 4, np.float32)\n"
        "acl.rt.memcpy(early.ctypes.data, early.nbytes, d_out, n_out, 2)  # forgot synchronize_stream\n"
        "acl.rt.synchronize_stream(stream)\n"
        "late = np.zeros(n_out // 4, np.float32)\n"
        "acl.rt.memcpy(late.ctypes.data, late.nbytes, d_out, n_out, 2)\n"
        "np.savez(sys.argv[2], x=x, early=early, late=late)\n")
    out = tmp_path / "out.npz"
    r = run_program(str(script), str(model), str(out))
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    (want,) = simulated_outputs(model.read_bytes(), [saved["x"]])
    assert not saved["early"].any()  # the fresh buffer's previous contents (the simulator zeroes it)
    assert saved["late"].tobytes() == want


def _short_once(monkeypatch) -> None:
    """The simulator's next host-memory check fails (a pretend shortage); later ones are real."""
    from acl_notebook.cgroup import Room
    from acl_notebook.runtime import sim_exec

    real, calls = sim_exec.host_shortfall, []

    def short_once(size):
        calls.append(size)
        return Room(1) if len(calls) == 1 else real(size)

    monkeypatch.setattr(sim_exec, "host_shortfall", short_once)


def test_a_queued_run_that_fails_does_not_drop_the_runs_after_it(sim_env, monkeypatch):
    """Two runs of one model queued on one stream, into two output datasets: the first fails
    (the host cannot hold its outputs), synchronize reports 207001, and the second still runs."""
    acl, session = sim_env
    p, x = Program(acl), image(4)
    p.feed(x)
    first_outs, first_ptrs = p.outs, p.out_ptrs
    mark = fill(acl, p)
    p.outs, p.out_ptrs = p._dataset(acl.mdl.get_num_outputs(p.desc), acl.mdl.get_output_size_by_index)
    fill(acl, p)
    stream, _ = acl.rt.create_stream()
    for outs in (first_outs, p.outs):
        assert acl.mdl.execute_async(p.model_id, p.ins, outs, stream) == 0
    _short_once(monkeypatch)
    assert acl.rt.synchronize_stream(stream) == 207001
    assert "outputs in this host's RAM" in acl.get_recent_err_msg()
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want  # the second run happened
    p.out_ptrs = first_ptrs
    assert p.read() == mark  # the failed one wrote nothing
    assert acl.rt.destroy_stream(stream) == 0


def test_synchronize_device_waits_for_every_stream_even_after_one_fails(sim_env, monkeypatch):
    """aclrtSynchronizeDevice over two programs' streams: the first stream's run fails, the
    call reports 207001, and the other stream's run still happens (before, the image stopped
    at the first failing stream and left the rest queued)."""
    acl, session = sim_env
    x = image(4)
    programs, marks = [], []
    for _ in range(2):
        p = Program(acl)  # its own context, current now
        p.feed(x)
        marks.append(fill(acl, p))
        stream, ret = acl.rt.create_stream()
        assert ret == 0 and acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
        programs.append(p)
    _short_once(monkeypatch)
    assert acl.rt.synchronize_device() == 207001
    (want,) = outputs_on(session, programs[1].om, [x])
    assert programs[0].read() == marks[0] and programs[1].read() == want
