"""Hostile files (issue 13): each case reproduced first, then refused with one clear error.

Rows: non-regular paths, negative / absurd / wrapping memory sizes, a MODEL_DEF sized to the
whole file, SIGBUS from a shrinking mapping, compressed attr names with a 0x00 digit,
duplicated MODEL_INOUT_INFO blocks. The files come from `hostile.py` (the writer).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import hostile
import numpy as np
import pytest

import acl_notebook as acl
from acl_notebook.om import ModelSpec, OMFormatError, TensorSpec, inspect, parse, write_om
from acl_notebook.om import modeldef as modeldef_mod
from acl_notebook.runtime.errors import AclError

REPO = Path(__file__).resolve().parents[1]


def _both(source):
    """Call inspect and a fresh simulator load on `source`; return the two exceptions."""
    from acl_notebook.session import Config, Session

    errors = []
    for call in (inspect, lambda src: Session(Config(backend="sim")).load(src)):
        try:
            call(source)
        except Exception as exc:  # noqa: BLE001 - the test inspects what came out
            errors.append(exc)
        else:
            errors.append(None)
    return errors


# -- 1. paths that are not regular files --------------------------------------------------------
def _fifo(tmp_path):
    path = tmp_path / "pipe.om"
    os.mkfifo(path)
    return path


def _socket(tmp_path):
    path = tmp_path / "sock.om"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return path, sock


def _block_device(tmp_path):
    """A block device node (made here, never opened), or the machine's first one."""
    import stat

    path = tmp_path / "disk.om"
    try:
        os.mknod(path, stat.S_IFBLK | 0o600, os.makedev(7, 0))
        return path
    except OSError:
        found = [p for p in Path("/dev").iterdir() if p.is_block_device()]
        assert found, "no block device to test with"
        return found[0]


@pytest.mark.parametrize("kind", ["fifo", "socket", "block", "/dev/zero", "/dev/null", "/proc/self/status",
                                  "/proc/self/mem", "/sys/kernel/mm/transparent_hugepage/enabled"])
def test_non_regular_paths_are_refused_before_open_by_both_entry_points(tmp_path, kind):
    keep = None
    if kind == "fifo":
        path, words = _fifo(tmp_path), "FIFO"
    elif kind == "socket":
        (path, keep), words = _socket(tmp_path), "socket"
    elif kind == "block":
        path, words = _block_device(tmp_path), "block device"
    else:
        path = Path(kind)
        if not path.exists():
            pytest.fail(f"{kind} is missing on this machine")
        words = "character device" if kind.startswith("/dev") else "/proc or /sys"
    result: list = []
    # a FIFO with no writer blocks open() forever: run in a thread and give it 10 s
    worker = threading.Thread(target=lambda: result.append(_both(path)), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), f"inspect/load of a {kind} hung"
    for exc in result[0]:
        assert type(exc) is OSError, exc
        message = str(exc)
        assert words in message and str(path) in message and "not a model" in message, message
        assert "empty" not in message
    if keep is not None:
        keep.close()


def test_a_path_swapped_for_a_fifo_after_the_check_cannot_hang(tmp_path, monkeypatch):
    """The race: stat says regular file, then the path becomes a FIFO before open()."""
    import acl_notebook.hostbuf as hostbuf

    real = tmp_path / "m.om"
    real.write_bytes(hostile.with_model_attrs())
    real_stat = os.stat
    swapped = []

    def stat_then_swap(p, *a, **k):
        st = real_stat(p, *a, **k)
        if str(p) == str(real) and not swapped:
            swapped.append(True)
            real.unlink()
            os.mkfifo(real)
        return st

    monkeypatch.setattr(hostbuf.os, "stat", stat_then_swap)
    t0 = time.monotonic()
    with pytest.raises(OSError, match="replaced while it was being opened"):
        inspect(real)
    assert time.monotonic() - t0 < 5


# -- 2. memory sizes -------------------------------------------------------------------------
BAD_SIZES = {
    "negative work": dict(memory_size=-(2**40)),
    "work the C side wraps to 2**64-1": dict(memory_size=-1),
    "absurd work": dict(memory_size=2**62),
    "negative weight": dict(weight_size=-5),
    "negative zero copy": dict(zero_copy_memory_size=-1),
}


@pytest.mark.parametrize("case", BAD_SIZES)
def test_bad_memory_sizes_are_refused_by_the_reader(case):
    data = hostile.with_model_attrs(**BAD_SIZES[case])
    (attr, value), = BAD_SIZES[case].items()
    with pytest.raises(OMFormatError, match=rf"{attr} is {value} bytes.*no device"):
        parse(data)


@pytest.mark.parametrize("side", ["input", "output"])
def test_tensor_sizes_beyond_any_device_are_refused_by_the_reader(rig, side):
    """An older file (no MODEL_INOUT_INFO) takes its I/O sizes from the ops' descriptors: dims
    whose product no device holds are damage there too, for `parse` and for a load, and a
    refused load leaves the device as it was (found by a fuzz run: a flipped bit in a dim)."""
    huge = TensorSpec("big", (2**17, 2**17, 2**17), "float32", "ND")  # 8 PiB: fits int64, no device
    ok = TensorSpec("small", (1, 10), "float32", "ND")
    data = write_om(ModelSpec(name="huge", inout_info=False, work_size=1 << 20,
                              inputs=[huge if side == "input" else ok], outputs=[huge if side == "output" else ok]))
    with pytest.raises(OMFormatError, match=r"tensor '?big.*more than any device holds"):
        parse(data)
    session = rig.session()
    free = session.memory().free
    with pytest.raises(OMFormatError, match="more than any device holds"):
        session.load(data)
    assert len(session.models()) == 0 and session.memory().free == free


def settings(info):
    """A SessionInfo without its host-memory reading, which moves with everything else on the host."""
    return dataclasses.replace(info, host_memory=None)


@pytest.mark.parametrize("change, words", [({"devices": 10**9}, "devices must be at most 256"),
                                           ({"memory": 2**70}, "memory must be at most 1125899906842624 bytes")])
def test_configure_refuses_what_no_host_could_simulate(change, words):
    """A typo'd device count built a billion simulated devices until the kernel was killed for
    memory (found by probing configure); a memory past 1 PiB only failed later, as a "broken
    runtime". Both are refused at once, and the session keeps its settings."""
    from acl_notebook.session import Config, Session

    session = Session(Config(backend="sim", soc="Ascend910B1"))
    session.start()
    try:
        before, total = settings(session.info()), session.memory().total
        with pytest.raises(ValueError, match=words):
            session.configure(**change)
        assert settings(session.info()) == before and session.memory().total == total
    finally:
        session.shutdown()
    if "devices" in change:  # the simulator refuses it too, whoever builds one
        from acl_notebook.runtime.simulator import SimulatorBackend

        with pytest.raises(ValueError, match="devices must be 1 to 256"):
            SimulatorBackend(devices=change["devices"])


@pytest.mark.parametrize("case", ["negative work", "work the C side wraps to 2**64-1"])
def test_a_negative_size_never_reaches_the_accounts(rig, case):
    """The reproduction: a -2**40 work size was charged as negative (free > total, then a
    2 GiB model loaded on a 1 GiB device without force)."""
    s = rig.session(memory=1024**3)
    before = s.memory()
    with pytest.raises(OMFormatError, match="memory_size"):
        s.load(hostile.with_model_attrs(**BAD_SIZES[case]))
    after = s.memory()
    assert (after.free, after.used, after.total) == (before.free, before.used, before.total)
    assert after.free <= after.total and s.models() == ()
    with pytest.raises(acl.DeviceMemoryError):
        s.load(hostile.with_model_attrs(memory_size=2 * 1024**3))  # a 2 GiB model on a 1 GiB device


def test_the_c_side_really_wraps_a_negative_size(acl_rig):
    """Why the session checks what the runtime reports: through ctypes, -1 is 2**64-1."""
    s = acl_rig.session()
    s._use(0)
    work, _weight = s.backend.query_size(memoryview(hostile.with_model_attrs(memory_size=-1)))
    assert work == 2**64 - 1


def test_runtime_sizes_beyond_any_device_are_refused_by_the_session(rig, monkeypatch):
    """A size our reader would let through (its bound lifted here) but the runtime reports
    as absurd: the session refuses it with an AclError and charges nothing."""
    monkeypatch.setattr(modeldef_mod, "MAX_BYTES", 2**63)
    s = rig.session()
    before = s.memory()
    with pytest.raises(AclError, match=r"work size of 9223372036854775807 bytes, which no device has") as info:
        s.load(hostile.with_model_attrs(memory_size=2**63 - 1), force=True)
    assert info.value.call == "aclmdlQuerySizeFromMem"
    assert s.models() == () and s.memory().free == before.free


def test_runtime_memory_info_that_cannot_be_true_is_refused(monkeypatch):
    from acl_notebook.runtime.simulator import SimulatorBackend
    from acl_notebook.session import Config, Session

    s = Session(Config(backend="sim"))
    s.start()
    monkeypatch.setattr(SimulatorBackend, "mem_info", lambda self, attr: (2**64 - 1, 2**30))
    with pytest.raises(AclError, match="free of|no device has"):
        s.memory()
    s.shutdown()


# -- 3. a MODEL_DEF sized to the whole file ---------------------------------------------------
@pytest.mark.parametrize("gib", [2, 64])
def test_a_modeldef_spanning_a_huge_file_is_refused_without_copying(tmp_path, gib):
    path = hostile.modeldef_spanning_file(tmp_path / "huge.om", gib * 1024**3)
    code = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {str(REPO)!r})
        from acl_notebook.om import inspect, OMFormatError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            inspect({str(path)!r})
        except OMFormatError as exc:
            print("OMFormatError", exc)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print("grown_kib", grown)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "OMFormatError" in out.stdout, out.stdout
    assert ("2 GiB" if gib > 2 else "is not framed like a ModelDef") in out.stdout, out.stdout
    grown = int(out.stdout.split("grown_kib")[1])
    assert grown < 64 * 1024, f"refusing cost {grown} KiB of RSS"


def test_a_big_modeldef_that_the_host_cannot_hold_is_a_host_memory_error(tmp_path, small_host):
    path = hostile.modeldef_spanning_file(tmp_path / "big.om", 1024**3, framed=True)
    small_host(256 * 1024**2)
    with pytest.raises(acl.HostMemoryError, match="ModelDef"):
        inspect(path)


def test_memory_error_while_decoding_is_never_raised_bare(monkeypatch):
    def no_memory(blob, full=True):
        raise MemoryError

    monkeypatch.setattr(modeldef_mod, "load", no_memory)
    with pytest.raises(acl.HostMemoryError):
        parse(hostile.with_model_attrs())


# -- 4. SIGBUS: mappings whose file shrinks -------------------------------------------------------
_SIGBUS_CHILD = r"""
import mmap, os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import acl_notebook as acl
from acl_notebook.hostbuf import open_source
from acl_notebook.om import reader
from acl_notebook.om.writer import ModelSpec, write_om_file

path = sys.argv[2]
results = []

def fresh():
    write_om_file(ModelSpec(name="shrink", weight_size=1 << 20, op_count=300), path)
    f = open(path, "rb")
    return f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)

def attempt(label, fn):
    try:
        fn()
        results.append(f"{label}: no error")
    except acl.AclError as exc:
        results.append(f"{label}: AclError {exc.code}")
    except Exception as exc:
        results.append(f"{label}: {type(exc).__name__}")

acl.configure(backend="sim")
for wrap in ("mmap", "memoryview", "numpy"):
    f, mm = fresh()
    source = {"mmap": mm, "memoryview": memoryview(mm), "numpy": np.frombuffer(mm, np.uint8)}[wrap]
    os.truncate(path, 4096)
    attempt(f"inspect {wrap}", lambda: acl.inspect(source))
    attempt(f"load {wrap}", lambda: acl.load(source))

# a path load racing a truncation: the file shrinks after it is mapped, before it is parsed
write_om_file(ModelSpec(name="shrink", weight_size=1 << 20, op_count=300), path)
buf = open_source(path)
os.truncate(path, 300)
attempt("parse after truncation", lambda: reader.read(buf, keep=True))
buf.close()
# ... and after the session's parse, before the backend reads the mapping
write_om_file(ModelSpec(name="shrink", weight_size=1 << 20, op_count=300), path)
from acl_notebook.session import get_session
s = get_session()
buf = open_source(path)
parsed = reader.read(buf, keep=True)
os.truncate(path, 300)
s._use(0)
s.backend.adopt_parse(parsed)
attempt("simulator query after truncation", lambda: s.backend.query_size(buf.view))
attempt("simulator load after truncation", lambda: s.backend.load_from_mem(buf.view))
print("|".join(results))
"""


def test_shrinking_mappings_never_raise_sigbus(tmp_path):
    out = subprocess.run([sys.executable, "-c", _SIGBUS_CHILD, str(REPO), str(tmp_path / "m.om")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"the process died (signal {-out.returncode}): {out.stderr[-2000:]}"
    results = dict(line.split(": ") for line in out.stdout.strip().split("|"))
    for wrap in ("mmap", "memoryview", "numpy"):
        assert results[f"inspect {wrap}"] == "ValueError", results
        assert results[f"load {wrap}"] == "ValueError", results
    assert results["parse after truncation"] == "OMFormatError"
    # the simulator's header check reads the shrunk mapping safely: the size rule fails, as in GE
    assert results["simulator query after truncation"] == "AclError 145006"
    assert results["simulator load after truncation"] == "AclError 145006"


def test_the_session_rechecks_the_file_before_the_runtime_reads_it(tmp_path, monkeypatch):
    """After the parse the runtime reads the whole mapping; a file that shrank by then is
    refused with OMFormatError instead of handing C a mapping that would SIGBUS."""
    from acl_notebook.om.writer import ModelSpec, write_om_file
    from acl_notebook.runtime.simulator import SimulatorBackend
    from acl_notebook.session import Config, Session

    path = tmp_path / "m.om"
    write_om_file(ModelSpec(name="shrink", weight_size=1 << 20), path)
    real_query = SimulatorBackend.query_size

    def query_then_truncate(self, model):
        sizes = real_query(self, model)
        os.truncate(path, 4096)
        return sizes

    monkeypatch.setattr(SimulatorBackend, "query_size", query_then_truncate)
    s = Session(Config(backend="sim"))
    with pytest.raises(OMFormatError, match="shrank"):
        s.load(path)
    assert s.models() == ()
    s.shutdown()


# -- 6. compressed attr names with a 0x00 digit -----------------------------------------------
def test_a_zero_digit_in_a_compressed_attr_name_is_refused():
    with pytest.raises(OMFormatError, match="0x00 digit"):
        parse(hostile.zero_digit_attr_name())


def test_decode_index_refuses_zero_digits_and_empty_keys():
    from acl_notebook.om.attrs import decode_index, encode_index

    assert decode_index(encode_index(127 * 5 + 3)) == 127 * 5 + 3
    for key in (b"\x00\x00", b"\x00\x05\x00", b"\x00"):
        with pytest.raises(OMFormatError):
            decode_index(key)


# -- 7. duplicate MODEL_INOUT_INFO blocks -------------------------------------------------------
@pytest.mark.parametrize("which", ["input", "output"])
def test_duplicate_inout_blocks_are_refused_like_the_runtime_does(rig, which):
    data = hostile.duplicate_inout_block(which)
    with pytest.raises(OMFormatError, match=rf"second {which} block.*545002"):
        parse(data)
    s = rig.session()
    s._use(0)
    with pytest.raises(AclError) as info:  # the runtime itself (simulator or C library) agrees
        s.backend.query_size(memoryview(data))
    assert info.value.code == 545002


# -- I/O dims no runtime and no array can have ------------------------------------------------
BAD_DIMS = {
    "zero_beside_2**62": (0, 2**62, 2**62),  # 0 bytes, so the size rule alone let it through
    "2**63-1_beside_zero": (2**63 - 1, 0),
    "unknown_and_zero_beside_2**62": (-1, 0, 2**62),
    "130_dims": (1,) * 130,  # past ACL_MAX_DIM_CNT: the C library refuses such a record too
}


@pytest.mark.parametrize("inout", [True, False], ids=["MODEL_INOUT_INFO", "ModelDef"])
@pytest.mark.parametrize("side", ["input", "output"])
@pytest.mark.parametrize("case", sorted(BAD_DIMS))
def test_io_dims_that_no_array_can_have_are_refused_by_the_reader(case, side, inout):
    """Found probing the run API: such a model inspected and loaded, and its first random input
    (the panel's Run, acl.bench) failed with numpy's "array is too big" or "maximum supported
    dimension for an ndarray is currently 64"."""
    bad = TensorSpec("bad", BAD_DIMS[case], "float32", "ND")
    ok = TensorSpec("ok", (1, 10), "float32", "ND")
    data = write_om(ModelSpec(name="dims", inout_info=inout, inputs=[bad if side == "input" else ok],
                              outputs=[bad if side == "output" else ok]))
    with pytest.raises(OMFormatError, match=r"tensor '?bad.*has dims \[.*with (130 dims|axes that)"):
        parse(data)


def test_a_model_with_such_dims_is_refused_and_the_loaded_ones_stay(rig):
    session = rig.session()
    kept = session.load(write_om(ModelSpec(name="kept", inputs=[TensorSpec("x", (1, 4), "float32", "ND")],
                                           outputs=[TensorSpec("y", (1, 4), "float32", "ND")])))
    free = session.memory().free
    bad = write_om(ModelSpec(name="dims", inputs=[TensorSpec("x", (0, 2**62, 2**62), "float32", "ND")],
                             outputs=[TensorSpec("y", (1, 4), "float32", "ND")]))
    with pytest.raises(OMFormatError, match="more than any device"):
        session.load(bad)
    assert [m.name for m in session.models()] == ["kept"] and session.memory().free == free
    assert kept.run(np.ones((1, 4), np.float32))[0].shape == (1, 4)
