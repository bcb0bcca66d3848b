"""Turn what a user hands us (a path or a buffer) into model bytes without copying them.

`aclmdlLoadFromMem` wants the model in host memory; Python buffers already are, so the
only job here is to avoid a second copy: paths are memory-mapped, buffers are viewed
through `memoryview`. A file larger than the host's available memory is refused before a
byte is read, so a big model cannot get the kernel killed.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any, Optional


class HostMemoryError(RuntimeError):
    """The model file is larger than the host memory available to hold it."""

    def __init__(self, path: str, size: int, available: int) -> None:
        from .units import human_bytes

        self.path, self.size, self.available = path, size, available
        super().__init__(
            f"{path} is {human_bytes(size)} but the host has only {human_bytes(available)} available; "
            "free host memory (close other kernels) or load it on a machine with more RAM"
        )


def host_available_memory() -> Optional[int]:
    """MemAvailable from /proc/meminfo (Linux), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class HostBuffer:
    """A read-only, 1-D unsigned-byte view of model bytes plus what keeps them alive."""

    def __init__(self, view: memoryview, label: str, owner: Any = None, mapped: Optional[mmap.mmap] = None):
        self.view = view
        self.label = label  # shown as the model's source
        self._owner = owner
        self._mapped = mapped

    @property
    def size(self) -> int:
        return self.view.nbytes

    def close(self) -> None:
        """Release the view and unmap a mapped file (a no-op for caller-owned buffers)."""
        self.view.release()
        if self._mapped is not None:
            try:
                self._mapped.close()
            except BufferError:
                pass  # something still holds a view; the map goes with it
            self._mapped = None
        self._owner = None

    def __enter__(self) -> HostBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _as_bytes_view(view: memoryview) -> memoryview:
    """The same memory as a flat unsigned-byte view (a cast, never a copy)."""
    if not view.c_contiguous:
        raise ValueError("model buffer must be C-contiguous; pass bytes(buffer) or numpy.ascontiguousarray(a)")
    if view.itemsize != 1:
        raise TypeError(
            f"model buffer must hold bytes (uint8), got items of {view.itemsize} bytes "
            f"(format {view.format!r}); use arr.view(numpy.uint8)"
        )
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def open_source(source: Any) -> HostBuffer:
    """A HostBuffer for a path (mapped read-only) or any bytes-like object (viewed)."""
    if isinstance(source, (str, os.PathLike)):
        return _open_path(Path(os.path.expanduser(os.fspath(source))))
    kind = "mmap" if isinstance(source, mmap.mmap) else type(source).__name__
    try:
        view = memoryview(source)
    except TypeError:
        raise TypeError(
            f"cannot load a model from a {kind}: pass a path to a .om file or bytes, bytearray, "
            "memoryview, mmap or a numpy uint8 array"
        ) from None
    return HostBuffer(_as_bytes_view(view), f"<{kind}>", owner=source)


def _open_path(path: Path) -> HostBuffer:
    if not path.exists():
        raise FileNotFoundError(f"no such model file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give the path of a .om file inside it")
    size = path.stat().st_size
    available = host_available_memory()
    if available is not None and size > available:
        raise HostMemoryError(str(path), size, available)
    with open(path, "rb") as f:
        if size == 0:
            return HostBuffer(memoryview(b""), str(path))
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return HostBuffer(memoryview(mapped), str(path), mapped=mapped)
