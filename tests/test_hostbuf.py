"""Model bytes are viewed, never copied; what cannot be viewed as bytes is refused clearly."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

from acl_notebook.hostbuf import open_source


@pytest.mark.parametrize("make", [bytes, bytearray, lambda b: np.frombuffer(bytearray(b), np.uint8).reshape(2, 4),
                                  lambda b: np.frombuffer(bytearray(b), np.int8)])
def test_buffers_become_flat_byte_views_of_the_same_memory(make):
    source = make(b"IMODdata")
    with open_source(source) as buf:
        assert buf.view.format == "B" and buf.view.ndim == 1 and buf.size == 8
        assert bytes(buf.view) == b"IMODdata"
        if not isinstance(source, bytes):
            memoryview(source).cast("B")[0] = ord("X")  # same memory, not a copy
            assert bytes(buf.view[:1]) == b"X"


def test_mmap_is_labelled_and_viewed(tmp_path):
    path = tmp_path / "m.om"
    path.write_bytes(b"IMOD" * 4)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        buf = open_source(mapped)
        assert buf.label == "<mmap>" and buf.size == 16
        buf.close()


@pytest.mark.parametrize("bad, error, words", [
    ([1, 2, 3], TypeError, "cannot read a model from a list"),
    (np.zeros(4, np.float32), TypeError, "must hold bytes (uint8)"),
    (np.zeros((4, 4), np.uint8)[:, ::2], ValueError, "C-contiguous"),
])
def test_what_is_not_bytes_is_refused_with_what_to_do(bad, error, words):
    with pytest.raises(error) as info:
        open_source(bad)
    assert words in str(info.value)


def test_safe_reads_of_a_mapping_from_many_threads_leave_no_descriptor_behind(tmp_path):
    import gc
    import os
    import threading

    from acl_notebook.hostbuf import read_view

    path = tmp_path / "m.om"
    path.write_bytes(bytes(range(256)) * 64)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        got = []
        threads = [threading.Thread(target=lambda: got.append(bytes(read_view(view, 100, 300))))
                   for _ in range(20)]
        before = len(os.listdir("/proc/self/fd"))
        for t in threads:
            t.start()
            t.join()
        gc.collect()
        assert got == [(bytes(range(256)) * 2)[100:400]] * 20  # a copy of the right bytes
        assert len(os.listdir("/proc/self/fd")) <= before + 1
        view.release()
