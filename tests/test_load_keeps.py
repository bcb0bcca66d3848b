"""What the simulator keeps of a loaded model for its runs, by what the bytes were.

ACL lets the caller free (or reuse) its buffer once the load returns, and a device holds
the bytes it loaded. The simulator copies nothing it can avoid: immutable ``bytes`` are
held, a settled file is held open and read at the first run, anything else is copied at
load. Each way, a run computes the model that was loaded, or says plainly why it cannot.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from graph_builder import conv_model

import acl_notebook as acl
from acl_notebook import hostbuf


@pytest.fixture
def sim(make_session):
    return make_session()


@pytest.fixture
def settled_file(tmp_path, settle):
    """Writes bytes to a file that counts as settled (see conftest's `settle`)."""
    def write(data: bytes, name: str = "conv.om"):
        path = tmp_path / name
        path.write_bytes(data)
        settle()
        return path
    return write


def _fds_on(path) -> int:
    """How many of this process's descriptors are open on `path` (also once it is deleted)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target in (str(path), f"{path} (deleted)")
    return count


def test_immutable_bytes_are_held_not_copied_and_let_go_at_unload(sim):
    blob, x, _want = conv_model()
    blob = bytes(bytearray(blob))  # a bytes object only this test refers to
    before = sys.getrefcount(blob)
    m = sim.load(blob)
    assert sys.getrefcount(blob) > before  # held for the runs
    assert sim.reference_of(m).copied == 0  # no weight copied at load
    first = m.run(x)
    assert first.fidelity == "computed"
    sim.unload(m)
    assert sys.getrefcount(blob) == before  # nothing of it kept after the unload


def test_a_settled_file_runs_after_it_is_deleted_and_releases_its_descriptor(sim, settled_file):
    blob, x, _want = conv_model()
    path = settled_file(blob)
    m = sim.load(path)
    assert _fds_on(path) == 1  # the file is held open, its weights not yet read
    assert sim.reference_of(m).copied == 0
    path.unlink()  # the held descriptor still reads the loaded file
    out = m.run(x)
    assert out.fidelity == "computed" and out.notes == ()
    assert sim.reference_of(m).copied > 0  # read at the first run
    assert _fds_on(path) == 0  # and the file let go once its weights were copied
    sim.unload(m)


def test_a_settled_file_held_but_never_run_is_let_go_at_unload(sim, settled_file):
    blob, _x, _want = conv_model()
    path = settled_file(blob)
    m = sim.load(path)
    assert _fds_on(path) == 1
    sim.unload(m)
    assert _fds_on(path) == 0


def test_a_settled_file_replaced_by_a_new_one_still_runs_the_loaded_model(sim, settled_file, tmp_path):
    blob, x, want = conv_model()
    path = settled_file(blob)
    m = sim.load(path)
    other = tmp_path / "other.om"
    other.write_bytes(bytes(len(blob)))
    os.replace(other, path)  # how most tools save a file: the loaded one is untouched
    out = m.run(x)
    assert out.fidelity == "computed"
    np.testing.assert_allclose(out[0], want.astype(np.float16).astype(np.float32), rtol=2e-3, atol=2e-3)
    sim.unload(m)


def test_a_settled_file_written_in_place_after_the_load_is_said_to_have_changed(sim, settled_file):
    blob, x, _want = conv_model()
    path = settled_file(blob)
    m = sim.load(path)
    with open(path, "r+b") as f:  # the same file, rewritten where it is
        f.write(blob)
    out = m.run(x)
    assert out.fidelity == "placeholder" and out.simulated
    assert len(out.notes) == 1 and "was written after the model was loaded from it" in out.notes[0]
    assert "load it again" in out.notes[0] and str(path) in out.notes[0]
    sim.unload(m)
    again = sim.load(path)  # and loading it again computes the model
    assert again.run(x).fidelity == "computed"


def test_a_file_just_written_is_copied_at_load_so_a_rewrite_cannot_reach_the_run(sim, tmp_path):
    blob, x, want = conv_model()
    path = tmp_path / "conv.om"
    path.write_bytes(blob)  # its times cannot show a write in the same clock tick: copy now
    m = sim.load(path)
    assert _fds_on(path) == 0 and sim.reference_of(m).copied > 0
    with open(path, "r+b") as f:
        f.write(bytes(len(blob)))
    out = m.run(x)
    assert out.fidelity == "computed"
    np.testing.assert_allclose(out[0], want.astype(np.float16).astype(np.float32), rtol=2e-3, atol=2e-3)
    sim.unload(m)


def _other_weights(blob: bytes) -> bytes:
    """The same model with other weights: every byte a parse reads is equal, so only identity
    (or reading the weights) tells the two apart."""
    from acl_notebook.om import parse

    weights = next(p for p in parse(blob).partitions if p.name == "WEIGHTS_DATA")
    other = bytearray(blob)
    other[weights.offset : weights.offset + weights.size] = bytes(weights.size)
    return bytes(other)


def test_a_buffer_equal_to_the_handed_parse_but_for_its_weights_runs_its_own_weights(sim, settled_file):
    from acl_notebook.hostbuf import open_source
    from acl_notebook.om.reader import read

    blob, x, _want = conv_model()
    path = settled_file(blob)
    other = _other_weights(blob)
    backend = sim.backend
    sim._use(0)
    with open_source(path) as buf:
        backend.adopt_parse(read(buf, keep=True))  # the session's parse of the file, on offer
        model_id = backend.load_from_mem(memoryview(bytearray(other)))  # a program's own buffer
        backend.adopt_parse(None)
    kept = backend.reference_of(model_id)
    assert kept.copied > 0  # copied from its own buffer at load, not the session's file held
    out = kept.interpreter().run([x]).outputs[0]
    assert np.array_equal(out, acl.reference(other, x)[0])
    assert not np.array_equal(out, acl.reference(blob, x)[0])
    backend.unload(model_id)


def test_a_parse_handed_on_one_thread_is_never_used_on_another(sim, monkeypatch):
    import threading

    from acl_notebook.hostbuf import open_source
    from acl_notebook.om import reader

    blob, _x, _want = conv_model()
    parses = []
    real = reader.parse
    monkeypatch.setattr(reader, "parse", lambda data: parses.append(1) or real(data))
    backend = sim.backend
    sim._use(0)
    ctx = sim._contexts[0]
    with open_source(blob) as buf:
        backend.adopt_parse(reader.read(buf, keep=True))

        def program() -> None:  # a pyACL program's thread, loading the same bytes meanwhile
            backend.set_current_context(ctx)
            backend.query_size(buf.view)
        thread = threading.Thread(target=program)
        thread.start()
        thread.join()
        backend.adopt_parse(None)
    assert parses == [1]  # the other thread parsed for itself


def test_a_refused_load_keeps_nothing_of_the_callers_bytes(make_session):
    from backends import small_model

    from acl_notebook.session import DeviceMemoryError

    s = make_session(memory=256 << 20)
    blob = bytes(bytearray(small_model("huge", 1 << 30, 1 << 20)))
    before = sys.getrefcount(blob)
    with pytest.raises(DeviceMemoryError):
        s.load(blob)
    assert sys.getrefcount(blob) == before


def test_a_run_still_queued_when_its_model_is_unloaded_computes_the_model(sim):
    from backends import Runner

    blob, x, want = conv_model()
    m = sim.load(blob)
    backend = sim.backend
    sim._use(0)
    runner = Runner(sim, m)
    runner.put(0, x)
    stream = backend.create_stream()
    backend.execute_async(m.id, runner.inputs, runner.outputs, stream)
    backend.unload(m.id)  # what a pyACL program may do before it synchronises
    backend.synchronize_stream(stream)
    report = backend.last_execution()
    assert report.fidelity == "computed" and report.notes == ()
    backend.destroy_stream(stream)
    runner.close()


def test_past_the_held_files_limit_a_settled_file_is_copied_at_load(sim, settled_file, monkeypatch):
    monkeypatch.setattr(hostbuf.KeptFile, "MAX_LIVE", hostbuf.KeptFile.live + 1)
    blob, x, _want = conv_model()
    first, second = settled_file(blob, "first.om"), settled_file(blob, "second.om")
    a = sim.load(first)
    b = sim.load(second)  # one descriptor is the limit here: copy now instead
    assert (_fds_on(first), _fds_on(second)) == (1, 0)
    assert sim.reference_of(a).copied == 0 and sim.reference_of(b).copied > 0
    assert a.run(x).fidelity == b.run(x).fidelity == "computed"
    sim.unload(a)
    sim.unload(b)
    assert hostbuf.KeptFile.live < hostbuf.KeptFile.MAX_LIVE
