"""One error contract for both entry points (README, "Errors"): `inspect` and `load` refuse
the same inputs with the same exception type and the same words.

Path problems are OSError subclasses; a buffer whose items are not bytes, or no buffer at
all, is a TypeError; a bytes buffer in an unusable state is a ValueError; bytes that are not
a readable model are an OMFormatError (a ValueError too).
"""

from __future__ import annotations

import mmap
import os

import hostile
import numpy as np
import pytest

from acl_notebook.om import OMFormatError, inspect
from acl_notebook.session import Config, Session


def _closed_mmap(tmp_path):
    path = tmp_path / "m.om"
    path.write_bytes(hostile.with_model_attrs())
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    mm.close()
    return mm


def _released_view(_tmp_path):
    view = memoryview(hostile.with_model_attrs())
    view.release()
    return view


def _loop(tmp_path):
    a, b = tmp_path / "a.om", tmp_path / "b.om"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def _dangling(tmp_path):
    link = tmp_path / "gone.om"
    link.symlink_to(tmp_path / "never-there.om")
    return link


def _inside_a_file(tmp_path):
    outer = tmp_path / "model.om"
    outer.write_bytes(hostile.with_model_attrs())
    return str(outer / "inner.om")


def _empty_file(tmp_path):
    path = tmp_path / "empty.om"
    path.write_bytes(b"")
    return path


def _model_array():
    return np.frombuffer(bytearray(hostile.with_model_attrs()), np.uint8)


# (row, source builder, exception type (exactly), words the message must hold)
ROWS = [
    ("missing file", lambda t: t / "nope.om", FileNotFoundError, "no such model file"),
    ("dangling symlink", _dangling, FileNotFoundError, "symbolic link to a file that does not exist"),
    ("symlink loop", _loop, OSError, "symbolic link loop"),
    ("directory", lambda t: t, IsADirectoryError, "is a directory"),
    ("empty path", lambda t: "", FileNotFoundError, "the path is empty"),
    ("NUL byte in the path", lambda t: str(t / "a\0b.om"), OSError, "NUL byte"),
    ("5000-character path", lambda t: "/tmp/" + "x" * 5000 + ".om", OSError, "too long (5008 characters)"),
    ("a file used as a directory", _inside_a_file, NotADirectoryError, "is a file, not a directory"),
    ("empty file", _empty_file, OMFormatError, "empty (0 bytes)"),
    ("not a model", lambda t: b"hello" * 100, OMFormatError, "not an Ascend offline model"),
    ("empty bytes", lambda t: b"", OMFormatError, "empty (0 bytes)"),
    ("non-contiguous array", lambda t: _model_array()[::2], ValueError, "not C-contiguous"),
    ("Fortran-order array", lambda t: np.asfortranarray(_model_array()[:4096].reshape(64, 64)), ValueError,
     "not C-contiguous"),
    ("closed mmap", _closed_mmap, ValueError, "mmap is closed"),
    ("released memoryview", _released_view, ValueError, "cannot be read any more"),
    ("float16 view of model bytes", lambda t: _model_array()[:4096].view(np.float16), TypeError,
     "must hold bytes (uint8)"),
    ("not a buffer", lambda t: [1, 2, 3], TypeError, "cannot read a model from a list"),
]


@pytest.fixture(scope="module")
def session():
    s = Session(Config(backend="sim"))
    s.start()
    yield s
    s.shutdown()


@pytest.mark.parametrize("row, make, error, words", ROWS, ids=[r[0] for r in ROWS])
def test_inspect_and_load_follow_one_contract(tmp_path, session, row, make, error, words):
    loaded = session.load(hostile.with_model_attrs(), name="keep")
    source = make(tmp_path)
    outcomes = []
    try:
        for call in (inspect, session.load):
            with pytest.raises(Exception) as info:  # noqa: PT011 - the exact type is checked below
                call(source)
            outcomes.append(info.value)
        assert [m.id for m in session.models()] == [loaded.id], "a refusal leaves loaded models loaded"
    finally:
        session.unload(loaded)
    for exc in outcomes:
        assert type(exc) is error, f"{row}: {type(exc).__name__}: {exc}"
        assert words in str(exc), f"{row}: {exc}"
        assert "\n" not in str(exc)
    assert str(outcomes[0]).replace(os.getcwd(), "") == str(outcomes[1]).replace(os.getcwd(), "") or \
        error is OMFormatError  # inspect names the file in front of a bad-bytes message


def test_path_errors_keep_their_errno(tmp_path):
    import errno

    with pytest.raises(OSError) as info:
        inspect(_loop(tmp_path))
    assert info.value.errno == errno.ELOOP
    with pytest.raises(FileNotFoundError) as missing:
        inspect(tmp_path / "nope.om")
    assert missing.value.errno == errno.ENOENT
