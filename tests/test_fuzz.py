"""A bounded, deterministic fuzz run: mutated writer models and mutated shared real models.

Asserts only the contract: `parse` gives a ModelInfo whose sizes can be believed or an
OMFormatError; a simulator `load` gives a Model or one of the documented errors, and the
device accounts stay true (free <= total, nothing left charged). Each case is bounded in
time and the whole run in memory. Seeds are fixed, so a failure names a case that can be
replayed with `mutate(seed_bytes, case)`.
"""

from __future__ import annotations

import random
import resource
import time

import pytest
from om_mutations import mutate, mutate_modeldef
from shared_models import REAL_MODELS, model_path

from acl_notebook.om import ModelSpec, OMFormatError, TensorSpec, parse, write_om
from acl_notebook.om.model import MAX_BYTES
from acl_notebook.runtime.errors import AclError
from acl_notebook.session import Config, DeviceMemoryError, Session

SEED = 1313
PARSE_CASES = 2400
LOAD_CASES = 300
CASE_SECONDS = 2.0
RUN_RSS_MIB = 256

def writer_seeds() -> dict[str, bytes]:
    io = dict(inputs=[TensorSpec("x", (-1, 3, 16, 16), "float16")],
              outputs=[TensorSpec("y", (-1, 10), "float32", "ND")])
    return {
        "static": write_om(ModelSpec(name="static", weight_size=2048, op_count=40)),
        "batch": write_om(ModelSpec(name="batch", dynamic_kind="batch", gears=[(1,), (4,)], **io)),
        "compressed-no-inout": write_om(ModelSpec(name="cmp", compress_attrs=True, inout_info=False, op_count=30,
                                                  dynamic_kind="batch", gears=[(1,), (2,)], **io)),
        "v1-narrow": write_om(ModelSpec(name="old", header_version=1, inout_info=False)),
        "submodels": write_om(ModelSpec(name="subs", submodels=3)),
    }


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    out = writer_seeds()
    for name in REAL_MODELS:  # read at test time, never copied into the repository
        out[name] = model_path(name).read_bytes()
    return out


def _believable(info) -> None:
    for size in (info.memory.work, info.memory.weight, info.memory.zero_copy):
        assert 0 <= size <= MAX_BYTES
    assert info.op_count >= 0 and info.file_size > 0
    for t in info.inputs + info.outputs:
        assert 0 <= t.size <= MAX_BYTES


def test_fuzz_parse(seeds):
    rng = random.Random(SEED)
    names = sorted(seeds)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    slowest, outcomes = 0.0, {"ok": 0, "refused": 0}
    for case in range(PARSE_CASES):
        name = names[case % len(names)]
        data = mutate(seeds[name], rng)
        t0 = time.perf_counter()
        try:
            info = parse(data)
        except OMFormatError as exc:
            assert str(exc) and "\n" not in str(exc), (name, case)
            outcomes["refused"] += 1
        else:
            _believable(info)
            outcomes["ok"] += 1
        spent = time.perf_counter() - t0
        slowest = max(slowest, spent)
        assert spent < CASE_SECONDS, f"case {case} ({name}) took {spent:.2f} s"
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mib < RUN_RSS_MIB, f"the run grew the peak RSS by {grown_mib:.0f} MiB"
    assert outcomes["ok"] > 100 and outcomes["refused"] > 100, outcomes  # both sides were exercised


def test_fuzz_simulator_load(seeds):
    rng = random.Random(SEED + 1)
    names = sorted(seeds)
    session = Session(Config(backend="sim", soc="Ascend910B1", memory=8 * 1024**3))
    session.start()
    keep = session.load(seeds["static"], name="kept", force=True)
    base = session.memory()
    loaded = 0
    try:
        for case in range(LOAD_CASES):
            name = names[case % len(names)]
            data = mutate(seeds[name], rng)
            t0 = time.perf_counter()
            try:
                model = session.load(data, force=rng.random() < 0.5)
            except (OMFormatError, AclError, DeviceMemoryError) as exc:
                assert str(exc), (name, case)
            else:
                loaded += 1
                assert 0 <= model.memory <= 2 * MAX_BYTES
                session.unload(model)
            assert time.perf_counter() - t0 < CASE_SECONDS, f"case {case} ({name})"
            report = session.memory()
            assert 0 <= report.free <= report.total and report.used >= 0 and report.other >= 0
            assert report.free == base.free, f"case {case} ({name}) left memory charged"
            assert [m.id for m in session.models()] == [keep.id]
    finally:
        session.shutdown()
    assert loaded > 10


RUN_CASES = 400
# Mutations of a3c that longer runs of the test below found failing, replayed first as
# (offset, new byte) edits: a Data op's dim made 0 (numpy's bare "cannot reshape" out of a
# run), an op input pointing at a Const's output 8 (KeyError out of `reference`), and sizes
# that disagree with dims (ACL's own 107000 from the copy, which a device gives too).
KNOWN_RUN_CASES = (
    ((731, 0), (4644, 70), (15882, 17)), ((827, 208), (6699, 73)),
    ((6706, 21), (11354, 56), (21465, 223), (31916, 91)), ((9508, 49), (16597, 114), (23687, 76), (29206, 71)),
    ((5393, 107), (19085, 56), (25271, 225)), ((826, 112), (4504, 93), (16578, 112)), ((728, 17), (4207, 117)),
)


def test_fuzz_simulator_run_and_reference():
    """Mutated graphs of a real model (a3c, whose ops the CPU reference computes) loaded and
    run on the simulator and through `reference`: a run gives Outputs (placeholder, with a
    note, where the reference cannot follow the graph, as a device would still run it) or a
    documented refusal; `reference` gives Outputs or OMFormatError / ValueError; nothing is
    left loaded. Longer runs of this found a KeyError out of `reference` and numpy's bare
    "cannot reshape" out of a run."""

    import acl_notebook as acl
    from acl_notebook.runner.errors import InputError, InputTypeError

    seed = model_path("a3c_pong_model_v2").read_bytes()
    rng = random.Random(SEED + 4)
    session = Session(Config(backend="sim", soc="Ascend910B1", memory=8 * 1024**3))
    session.start()
    outcomes = {"ran": 0, "placeholder": 0, "refused": 0}

    def known(edits) -> bytes:
        buf = bytearray(seed)
        for offset, value in edits:
            buf[offset] = value
        return bytes(buf)

    cases = [known(edits) for edits in KNOWN_RUN_CASES]
    try:
        for case in range(len(cases) + RUN_CASES):
            data = cases[case] if case < len(cases) else mutate_modeldef(seed, rng)
            t0 = time.perf_counter()
            try:
                model = session.load(data, force=True)
            except (OMFormatError, AclError, DeviceMemoryError):
                outcomes["refused"] += 1
                continue
            try:
                inputs = acl.random_inputs(model, seed=case)
                for source in (model, data):
                    try:
                        out = model(inputs) if source is model else acl.reference(data, inputs)
                    except (AclError, InputError, InputTypeError) as exc:  # ACL's own answers, the runner's checks
                        assert source is model and str(exc), case
                    except (OMFormatError, ValueError) as exc:
                        assert source is data and str(exc), case
                    else:
                        outcomes["ran"] += 1
                        outcomes["placeholder"] += out.fidelity == "placeholder"
                        assert out.fidelity in ("computed", "approximate", "placeholder")
                        assert out.fidelity == "computed" or out.notes, case
            finally:
                session.unload(model)
            assert time.perf_counter() - t0 < CASE_SECONDS, f"case {case}"
        assert len(session.models()) == 0
    finally:
        session.shutdown()
    assert outcomes["ran"] > 100 and outcomes["placeholder"] > 5 and outcomes["refused"] > 50, outcomes


SLIM_CASES = 3000


def _describe_both(blob: bytes):
    """describe() of the pure-Python slim reading and of protobuf's, or the error each raised."""
    from acl_notebook.om import _proto, modeldef, slimwire

    out = []
    for decode in (slimwire.parse, lambda b: _upb_slim(_proto, b)):
        try:
            out.append(modeldef.describe(decode(blob), scan_ops=False))
        except OMFormatError:
            out.append(OMFormatError)
    return out


def _upb_slim(proto, blob: bytes):
    model = proto.message_class("SlimModelDef")()
    try:
        model.ParseFromString(blob)
    except proto.decode_error():
        raise OMFormatError("DecodeError") from None
    return model


FULL_CASES = 2000


def _describe_full_both(blob: bytes):
    """describe(scan_ops=True) of the pure-Python whole-ModelDef reading and of upb's, or the
    error each raised."""
    from acl_notebook.om import fullwire, modeldef

    out = []
    for decode in (fullwire.parse, lambda b: modeldef.load(b, full=True)):
        try:
            out.append(modeldef.describe(decode(blob), scan_ops=True))
        except OMFormatError:
            out.append(OMFormatError)
    return out


def test_fuzz_pure_full_reading_equals_protobuf(seeds):
    """The whole ModelDef read in Python (a cold start on a small older file) gives exactly
    the I/O, gears and attrs upb's full decode gives, on every small seed ModelDef (with
    and without compressed attr names and gears) and on thousands of mutations of them."""
    from acl_notebook.om import fullwire

    rng = random.Random(SEED + 3)
    blobs = []
    for data in seeds.values():
        info = parse(data)
        part = next(p for p in info.partitions if p.type == 0 and p.model == 0)
        if part.size <= fullwire.MAX_BYTES:
            blobs.append(data[part.offset : part.offset + part.size])
    assert len(blobs) >= 5
    for blob in blobs:
        pure, upb = _describe_full_both(blob)
        assert pure == upb and pure is not OMFormatError
    differ, refused, read, with_inputs = [], 0, 0, 0
    for case in range(FULL_CASES):
        mutated = mutate(blobs[case % len(blobs)], rng)
        pure, upb = _describe_full_both(mutated)
        if pure != upb:
            differ.append((case, pure, upb))
        refused += pure is OMFormatError
        read += pure is not OMFormatError
        with_inputs += pure is not OMFormatError and bool(pure.inputs)
    assert not differ, differ[:3]
    assert refused > 100 and read > 100 and with_inputs > 100, (refused, read, with_inputs)


def test_fuzz_pure_slim_reading_equals_protobuf(seeds):
    """The slim ModelDef read in Python (small files, cold starts) says exactly what upb says,
    on every seed's ModelDef and on thousands of mutations of them."""
    rng = random.Random(SEED + 2)
    blobs = []
    for data in seeds.values():
        info = parse(data)
        part = next(p for p in info.partitions if p.type == 0 and p.model == 0)
        blobs.append(data[part.offset : part.offset + part.size])
    for blob in blobs:
        pure, upb = _describe_both(blob)
        assert pure == upb and pure is not OMFormatError
    differ, refused, read = [], 0, 0
    for case in range(SLIM_CASES):
        blob = blobs[case % len(blobs)]
        if len(blob) > 200_000 and case % 10:
            continue  # the big real ModelDef: every tenth case only, to stay within seconds
        mutated = mutate(blob, rng)
        pure, upb = _describe_both(mutated)
        if pure != upb:
            differ.append((case, pure, upb))
        refused += pure is OMFormatError
        read += pure is not OMFormatError
    assert not differ, differ[:3]
    assert refused > 200 and read > 200, (refused, read)  # both outcomes were compared
