"""Parse once per load: the session's parse is handed to the simulator, which reuses it for
the query and the load only while the buffer still holds the bytes that parse was made from."""

from __future__ import annotations

import mmap

import pytest

from acl_notebook.hostbuf import HostBuffer, open_source
from acl_notebook.om import ModelSpec, fullwire, modeldef, parse, reader, slimwire, write_om
from acl_notebook.session import Config, Session


def _model(work: int, weights: int = 4096, inout: bool = True) -> bytes:
    return write_om(ModelSpec(name="once", work_size=work, weight_size=weights, inout_info=inout))


@pytest.fixture
def decodes(monkeypatch):
    """Records each ModelDef decode by schema ("full" or "slim"), whichever decoder runs:
    protobuf, or the Python wire walk (`slimwire`, `fullwire`) of a process's first decode."""
    calls = []
    real_load, real_slim, real_full = modeldef.load, slimwire.parse, fullwire.parse

    def counted_load(blob, full=True):
        calls.append("full" if full else "slim")
        return real_load(blob, full)

    def counted_slim(blob):
        calls.append("slim")
        return real_slim(blob)

    def counted_full(blob):
        calls.append("full")
        return real_full(blob)

    monkeypatch.setattr(modeldef, "load", counted_load)
    monkeypatch.setattr(slimwire, "parse", counted_slim)
    monkeypatch.setattr(fullwire, "parse", counted_full)
    return calls


@pytest.fixture
def session():
    s = Session(Config(backend="sim", soc="Ascend910B1"))
    s.start()
    yield s
    s.shutdown()


@pytest.mark.parametrize("inout", [True, False])
@pytest.mark.parametrize("kind", ["bytes", "bytearray", "new file", "settled file"])
def test_a_simulator_load_decodes_the_modeldef_once(session, decodes, tmp_path, settle, inout, kind):
    data = _model(1 << 20, inout=inout)
    source = {"bytes": data, "bytearray": bytearray(data)}.get(kind)
    if source is None:
        source = tmp_path / "m.om"
        source.write_bytes(data)
        if kind == "settled file":
            settle()
    model = session.load(source)
    # before: session, query and load each parsed. Now the session parses once. Bytes that
    # may change or be freed after the load (a bytearray; a file written so recently that its
    # times cannot show the next write) are decoded once more, to copy the weights its ops
    # read; immutable bytes and a settled file are read at the first run instead
    assert len(decodes) == (2 if kind in ("bytearray", "new file") else 1), decodes
    assert decodes.count("slim") == (1 if inout else 0)  # with MODEL_INOUT_INFO: no op decoded
    assert model.needs.work == 1 << 20
    session.unload(model)


def _same_size_models() -> tuple[bytes, bytes]:
    a, b = _model(1000), _model(2000)
    assert len(a) == len(b) and a != b
    return a, b


def test_a_buffer_changed_after_the_parse_is_parsed_again(session, decodes):
    a, b = _same_size_models()
    buf_bytes = bytearray(a)
    with open_source(buf_bytes) as buf:
        parsed = reader.read(buf, keep=True)
        session._use(0)
        session.backend.adopt_parse(parsed)
        assert session.backend.query_size(buf.view)[0] == 1000
        reused = len(decodes)
        buf_bytes[:] = b  # same size, another ModelDef: the old parse must not be reused
        assert session.backend.query_size(buf.view)[0] == 2000
        assert len(decodes) == reused + 1


@pytest.mark.parametrize("settled", [False, True])
def test_a_file_rewritten_under_its_mapping_is_parsed_again(session, tmp_path, settle, settled):
    a, b = _same_size_models()
    path = tmp_path / "m.om"
    path.write_bytes(a)
    if settled:
        settle()
    with open_source(path) as buf:
        parsed = reader.read(buf, keep=True)
        session._use(0)
        session.backend.adopt_parse(parsed)
        assert session.backend.query_size(buf.view)[0] == 1000
        with open(path, "r+b") as f:
            f.write(b)  # in place: the shared mapping sees the new bytes
        assert session.backend.query_size(buf.view)[0] == 2000


def test_bytes_the_parse_never_read_do_not_invalidate_it(session, decodes):
    data = bytearray(_model(1000, weights=1 << 16))
    weights = next(p for p in parse(bytes(data)).partitions if p.name == "WEIGHTS_DATA")
    with open_source(data) as buf:
        parsed = reader.read(buf, keep=True)
        assert all(not (off < weights.offset + weights.size and weights.offset < off + len(raw))
                   for off, raw in parsed.regions), "the weights are not part of the parse"
        session._use(0)
        session.backend.adopt_parse(parsed)
        data[weights.offset : weights.offset + 16] = b"\xff" * 16
        before = len(decodes)
        assert session.backend.query_size(buf.view) == (1000, 1 << 16)
        assert len(decodes) == before  # reused: the weights do not change the parse


def test_a_parse_of_another_buffer_is_never_used(session, decodes):
    a, b = _same_size_models()
    with open_source(a) as buf_a:
        session.backend.adopt_parse(reader.read(buf_a, keep=True))
    session._use(0)
    assert session.backend.query_size(memoryview(b))[0] == 2000


def test_a_mapped_caller_buffer_is_checked_without_sigbus_risk(session, tmp_path):
    path = tmp_path / "m.om"
    path.write_bytes(_model(3000))
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        model = session.load(memoryview(mm))
        assert model.needs.work == 3000
        session.unload(model)


@pytest.mark.parametrize("settled", [False, True])
def test_a_settled_file_is_checked_by_its_stamp_not_by_reading_it_again(session, tmp_path, settle,
                                                                        monkeypatch, settled):
    path = tmp_path / "m.om"
    path.write_bytes(_model(5000))
    if settled:
        settle()
    reads = []
    real = HostBuffer.holds
    monkeypatch.setattr(HostBuffer, "holds", lambda self, off, data: reads.append(off) or real(self, off, data))
    model = session.load(path)
    assert model.needs.work == 5000
    # a new file is compared byte for byte at the query and at the load; a settled one by fstat
    assert (len(reads) == 0) is settled, reads
    session.unload(model)
