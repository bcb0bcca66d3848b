"""Turn what a user hands us (a path or a buffer) into model bytes, without copying them.

`aclmdlLoadFromMem` wants the model in host memory; Python buffers already are, so the job
here is to avoid a second copy: paths are memory-mapped, buffers are viewed through
`memoryview`. Both entry points (`inspect` and `load`) come through here, so they accept
and refuse exactly the same things (the error contract is in the README):

- a path that is not a regular file (FIFO, socket, device, ``/proc`` or ``/sys`` entry) is
  refused from `os.stat` before anything opens it, so nothing can block in ``open()``;
- every path problem is an `OSError` subclass whose message names the path and what to do;
- a buffer that is not bytes (``float16`` items) is a `TypeError`; a bytes buffer in a
  state we cannot use (not C-contiguous, a closed mmap, a released memoryview) a `ValueError`.

Reading a file-backed mapping can raise SIGBUS, which kills the process, when the file
shrinks under it. `HostBuffer.read` is the SIGBUS-safe way to read the small parts the
reader parses: ``pread`` on the file for paths, and for buffers that may be mapped (an
mmap, or any exporter we cannot prove lives on the heap) a copy made by the kernel, which
reports a vanished page as EFAULT instead of a signal.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import time
from _thread import _local as _thread_local  # threading.local without importing threading
from _thread import allocate_lock

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    from typing import Any, Optional

    from .cgroup import Room

_PSEUDO_FS = ("/proc", "/sys")
_HEAP_TYPES = (bytes, bytearray)


#: What a HostMemoryError says to do, unless its raiser knows better: when the host refused it,
_MAKE_ROOM = "free host memory (close other kernels) or load it on a machine with more RAM"
#: and when the container's memory limit did.
_MAKE_ROOM_CGROUP = ("free memory in this container (close other kernels, del big arrays) or ask for a "
                     "larger memory limit (docker --memory, the pod's resources.limits.memory, a bigger "
                     "Binder or JupyterHub profile)")


class HostMemoryError(RuntimeError):
    """Something the host would have to hold (a model, its ModelDef, random inputs, a run's
    output array) is larger than the memory the process may still take: said before the
    allocation, since filling more than that gets the process killed rather than a MemoryError.

    `available` is that memory; `limit` and `used` are the container's memory limit (cgroup)
    and its usage when that limit refused it (None when the host's MemAvailable did)."""

    def __init__(self, path: str, size: int, available: int | Room, fix: Optional[str] = None) -> None:
        from .units import human_bytes

        cgroup = _cg or _load_cgroup()
        room = available if isinstance(available, cgroup.Room) else cgroup.Room(available)
        self.path, self.size, self.available = path, size, room.available
        self.limit, self.used = room.limit, room.used
        if fix is None:
            fix = _MAKE_ROOM if room.limit is None else _MAKE_ROOM_CGROUP
        super().__init__(f"{path} is {human_bytes(size)} but {room.says()}; {fix}")


def host_available_memory() -> Optional[int]:
    """MemAvailable from /proc/meminfo (Linux): the HOST's memory, blind to a container's
    limit (`host_room` is both); None where it cannot be read."""
    return meminfo()[1]


def meminfo(path: str = "/proc/meminfo") -> tuple[Optional[int], Optional[int]]:
    """(MemTotal, MemAvailable) in bytes from a meminfo file; None for what it lacks or
    garbles. Both come in its first lines, so the read stops there."""
    found: dict[str, int] = {}
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    words = rest.split()
                    if words and words[0].isdigit() and (len(words) == 1 or words[1] == "kB"):
                        found[key] = int(words[0]) * 1024
                    if len(found) == 2:
                        break
    except OSError:
        pass
    return found.get("MemTotal"), found.get("MemAvailable")


_cg = None  # acl_notebook.cgroup, imported by the first host check (a cold `inspect` makes none)


def _load_cgroup() -> Any:
    global _cg
    from . import cgroup

    _cg = cgroup
    return cgroup


def host_room() -> Room:
    """What the process may still take: the smaller of the host's MemAvailable (0 where it
    cannot be read) and what its memory cgroup leaves (`cgroup.WATCH`)."""
    cgroup = _cg or _load_cgroup()
    host = cgroup.Room(host_available_memory() or 0)
    group = cgroup.WATCH.room()
    return group if group is not None and group.available < host.available else host


def host_shortfall(size: int) -> Optional[Room]:
    """The `Room` that cannot give `size` more bytes (the host's MemAvailable or the
    container's memory limit, whichever is tighter), else None. Filling more than that gets
    the whole process killed for memory, not a MemoryError, so big allocations ask first.

    Cheap for small sizes: MemFree (one sysinfo) is a lower bound of MemAvailable, and
    `cgroup.WATCH` reads the cgroup's usage only when `size` is near what it last left, so
    /proc/meminfo and the cgroup files are read only for sizes that might not fit."""
    cgroup = _cg or _load_cgroup()
    over_free = size > _free_memory()
    if not over_free and cgroup.WATCH.fits_cheaply(size):
        return None
    refused = None
    if over_free:
        available = host_available_memory()
        if available is not None and size > available:
            refused = cgroup.Room(available)
    group = cgroup.WATCH.room(size)
    if group is not None and size > group.available and (refused is None or group.available < refused.available):
        refused = group
    return refused


def check_host_memory(what: str, size: int, fix: Optional[str] = None) -> None:
    """HostMemoryError for `what` when the host or the container cannot give `size` bytes
    (`host_shortfall`); `fix` says what to do (default: by which limit refused)."""
    refused = host_shortfall(size)
    if refused is not None:
        raise HostMemoryError(what, size, refused, fix)


def _free_memory() -> int:
    """The host's free memory in bytes (MemFree, from sysinfo: no file read), a lower bound of
    MemAvailable (not of what a cgroup leaves); 0 where it cannot be had (then MemAvailable is
    always read)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


class HostBuffer:
    """A read-only, 1-D unsigned-byte view of model bytes, what keeps them alive, and a safe reader.

    `view` is what a backend receives (the runtime reads it in place). `read` is what our
    own parser uses: it never touches a page that could raise SIGBUS.
    """

    def __init__(self, view: memoryview, label: str, owner: Any = None, mapped: Optional[mmap.mmap] = None,
                 fd: Optional[int] = None, heap: bool = False, stamp: Optional[FileStamp] = None) -> None:
        self.view = view
        self.label = label  # shown as the model's source
        self._owner = owner
        self._mapped = mapped
        self._fd = fd  # open while the buffer lives, for pread and the size recheck
        self._heap = heap
        self.stamp = stamp  # a path's file as it was when opened, if it had settled by then

    @property
    def size(self) -> int:
        return self.view.nbytes

    def read(self, offset: int, size: int) -> Any:
        """Up to `size` bytes at `offset`; fewer only when the backing file shrank meanwhile."""
        if self._fd is not None:
            return _pread(self._fd, offset, size)
        return read_view(self.view, offset, size, heap=self._heap)

    def holds(self, offset: int, expected: bytes) -> bool:
        """Whether the bytes at `offset` are still `expected` (read as safely as `read`)."""
        if self._fd is not None:
            return _pread_equals(self._fd, offset, expected)
        return same_bytes(self.view, offset, expected)

    def unchanged(self) -> bool:
        """True when the file behind this path's mapping provably has not been written since it
        was opened: it had settled then (see `FileStamp`) and fstat still reports the same stamp.
        One fstat, where comparing the bytes costs a read of everything parsed. False means
        "cannot tell this way", never "changed"."""
        return self.stamp is not None and self._fd is not None and self.stamp.holds(self._fd)

    def keep_file(self) -> Optional[KeptFile]:
        """The file behind a settled path's mapping, held open (a new descriptor) so it can be
        read after this buffer is closed; None for a buffer, or a file written too recently
        for its stamp to tell a later change (`FileStamp`)."""
        if self.stamp is None or self._fd is None or KeptFile.live >= KeptFile.MAX_LIVE or not self.unchanged():
            return None
        return KeptFile(os.dup(self._fd), self.label, self.stamp, self.size)

    def changed(self) -> str:
        """Why the bytes can no longer be read whole ("" while they can): the file behind the
        mapping is now shorter than the mapping."""
        if self._heap:
            return ""  # no file behind heap memory
        if self._fd is not None:
            now = os.fstat(self._fd).st_size
        else:
            mapped = _mmap_behind(self.view)
            if mapped is None:
                return ""
            try:
                now = mapped.size()
            except (OSError, ValueError):
                return "the mmap was closed"
        if now < self.size:
            return f"the file behind the mapping shrank from {self.size} to {now} bytes"
        return ""

    def close(self) -> None:
        """Release the view, unmap a mapped file, close its descriptor (caller buffers stay as they are)."""
        self.view.release()
        if self._mapped is not None:
            try:
                self._mapped.close()
            except BufferError:
                pass  # something still holds a view; the map goes with it
            self._mapped = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._owner = None

    def __enter__(self) -> HostBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: A file whose mtime and ctime are at least this old when it is opened has "settled": any
#: later write gives it a newer mtime, even on file systems that keep times in whole seconds.
#: A younger file may be rewritten within the same clock tick without its times changing (the
#: "racy" case git's index knows), so its bytes are compared instead.
SETTLED_SECONDS = 2.5


class FileStamp(tuple):
    """(device, inode, size, mtime_ns) of a file: equal stamps mean an unwritten file.

    Sound only for a file that had settled when the first stamp was taken (`settled`: its
    mtime and ctime both old enough). The ctime is not compared: deleting, renaming over or
    chmod-ing the file changes it, not the bytes. The holes that remain are a write whose
    mtime is then set back on purpose (``touch -r``), a network file system whose server clock
    runs far behind ours, and a page another process keeps dirty through its own writable
    mapping (no new mtime then).
    """

    __slots__ = ()

    @classmethod
    def of(cls, st: os.stat_result) -> FileStamp:
        return cls((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))

    def holds(self, fd: int) -> bool:
        """Whether the file open as `fd` still has this stamp (one fstat)."""
        return FileStamp.of(os.fstat(fd)) == self

    @staticmethod
    def settled(st: os.stat_result, now_ns: int) -> bool:
        return max(st.st_mtime_ns, st.st_ctime_ns) <= now_ns - int(SETTLED_SECONDS * 1e9)


class KeptFile:
    """A model file held open after a load (its own descriptor), and its stamp at that time.

    What the simulator keeps of a model loaded from a settled path instead of copying its
    weights at load: `read` maps it again later, and `unchanged` says whether it still holds
    the bytes that were loaded (a real device would have copied them at load).
    """

    #: At most this many are held open at once (a descriptor each); past it `keep_file`
    #: declines and the simulator copies at load, so many loaded models never exhaust the
    #: process's descriptors.
    MAX_LIVE = 64
    live = 0
    _count_lock = allocate_lock()

    def __init__(self, fd: int, label: str, stamp: FileStamp, size: int) -> None:
        self._fd: Optional[int] = fd
        self.label, self.stamp, self.size = label, stamp, size
        with KeptFile._count_lock:
            KeptFile.live += 1

    def unchanged(self) -> bool:
        return self._fd is not None and self.stamp.holds(self._fd)

    def read(self) -> HostBuffer:
        """A fresh read-only mapping of the file (reads through it are SIGBUS-safe, like a path's)."""
        if self._fd is None or self.size == 0:
            raise ValueError(f"{shown_path(self.label)} is closed")
        mapped = mmap.mmap(self._fd, self.size, access=mmap.ACCESS_READ)
        try:
            fd = os.dup(self._fd)
        except OSError:
            mapped.close()
            raise
        return HostBuffer(memoryview(mapped), self.label, mapped=mapped, fd=fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with KeptFile._count_lock:
                KeptFile.live -= 1
            os.close(fd)

    def __del__(self) -> None:
        self.close()


# ----------------------------------------------------------------------------- buffers
def open_source(source: Any, check_memory: bool = True) -> HostBuffer:
    """A HostBuffer for a path (mapped read-only) or any bytes-like object (viewed).

    `check_memory` refuses a file larger than the host's available memory (a load needs
    it resident; an inspect, which reads a few pages, passes False).
    """
    if isinstance(source, (str, os.PathLike)):
        return open_path(source, check_memory)
    return open_buffer(source)


def open_buffer(source: Any) -> HostBuffer:
    """A HostBuffer viewing a bytes-like object in place (the contract's buffer rows)."""
    if type(source) is bytes:  # the common case, and the one that needs no checks
        return HostBuffer(memoryview(source), "<bytes>", owner=source, heap=True)
    kind = "mmap" if isinstance(source, mmap.mmap) else type(source).__name__
    if isinstance(source, mmap.mmap) and source.closed:
        raise ValueError("the mmap is closed; map the model file again (or pass its path)")
    try:
        view = memoryview(source)
    except TypeError:
        raise TypeError(
            f"cannot read a model from {'an' if kind[:1] in 'aeiou' else 'a'} {kind}: pass a path to a .om file or "
            "bytes, bytearray, "
            "memoryview, mmap or a numpy uint8 array"
        ) from None
    except ValueError as exc:  # a released memoryview, a closed mmap
        raise ValueError(f"the {kind} cannot be read any more ({exc}); pass the model's bytes again") from None
    flat = _as_bytes_view(view, kind)
    buf = HostBuffer(flat, f"<{kind}>", owner=source, heap=_on_heap(flat))
    problem = buf.changed()
    if problem:
        buf.close()
        raise ValueError(f"{problem}; the mapping can no longer be read, map the file again")
    return buf


def _as_bytes_view(view: memoryview, kind: str) -> memoryview:
    """The same memory as a flat unsigned-byte view (a cast, never a copy)."""
    try:
        if view.itemsize != 1:
            raise TypeError(
                f"model buffer must hold bytes (uint8), got items of {view.itemsize} bytes "
                f"(format {view.format!r}); pass arr.view(numpy.uint8) or bytes(buffer)"
            )
        if not view.c_contiguous:
            raise ValueError(
                f"the {kind} is not C-contiguous (a strided or Fortran-order array); "
                "pass numpy.ascontiguousarray(a) or bytes(buffer)"
            )
        return view if view.format == "B" and view.ndim == 1 else view.cast("B")
    except BaseException:
        view.release()
        raise


def _on_heap(view: memoryview) -> bool:
    """True when the bytes provably live in ordinary heap memory (no file page behind them).

    Follows the exporter chain (memoryview -> numpy base -> ...) to bytes/bytearray; an mmap
    or anything we do not recognise counts as possibly mapped.
    """
    obj: Any = view.obj
    for _ in range(32):
        if isinstance(obj, _HEAP_TYPES):
            return True
        if isinstance(obj, mmap.mmap):
            return False
        if isinstance(obj, memoryview):
            obj = obj.obj
            continue
        if hasattr(obj, "__array_interface__"):  # numpy: base is None when it owns its data
            base = getattr(obj, "base", None)
            if base is None:
                return type(obj).__name__ == "ndarray"
            obj = base
            continue
        return False
    return False


def _mmap_behind(view: memoryview) -> Optional[mmap.mmap]:
    obj: Any = view.obj
    for _ in range(32):
        if isinstance(obj, mmap.mmap):
            return obj
        if isinstance(obj, memoryview):
            obj = obj.obj
        elif getattr(obj, "base", None) is not None:
            obj = obj.base
        else:
            return None
    return None


def read_view(view: memoryview, offset: int, size: int, heap: Optional[bool] = None) -> Any:
    """`view[offset:offset+size]`, read so that a vanished file page cannot raise SIGBUS.

    Heap memory is sliced in place; anything else is copied by the kernel (a memfd write,
    which reports a page past the end of a shrunk file as EFAULT), so the copy can come
    back short instead of killing the process.
    """
    part = view[offset : offset + size]
    if heap if heap is not None else _on_heap(view):
        return part
    return _kernel_copy(part)


def same_bytes(view: memoryview, offset: int, expected: bytes) -> bool:
    """Whether `view` holds `expected` at `offset` (SIGBUS-safe, like `read_view`)."""
    if offset + len(expected) > view.nbytes:
        return False
    part = view[offset : offset + len(expected)]
    # startswith of an equal-length buffer is one memcmp, with no copy; memoryview == bytes
    # would compare item by item (20x slower)
    if _on_heap(view):
        return expected.startswith(part)
    fd, done = _to_memfd(part)
    if fd is None:  # pragma: no cover - not Linux
        return expected.startswith(bytes(part))
    return done == len(expected) and _pread_equals(fd, 0, expected)


_KEEP_SCRATCH = 8 << 20  # a scratch file bigger than this is emptied after use


class _Memfd:
    """A scratch memfd, closed when its owner (one thread's local storage) lets it go."""

    def __init__(self) -> None:
        create = getattr(os, "memfd_create", None)
        self.fd = create("acl-notebook-read", getattr(os, "MFD_CLOEXEC", 0)) if create else None

    def __del__(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


_scratch = _thread_local()  # .memfd: one per thread, dropped (and closed) with the thread


def _kernel_copy(part: memoryview) -> bytes:
    """Copy `part` through a per-thread memfd: write(2) reports a page past the end of a
    shrunk file as EFAULT (or a short count), where a plain read would raise SIGBUS."""
    fd, done = _to_memfd(part)
    if fd is None:  # pragma: no cover - not Linux: no safe copy available, plain read
        return bytes(part)
    out = os.pread(fd, done, 0) if done else b""
    if done > _KEEP_SCRATCH:
        os.ftruncate(fd, 0)
    return out


def _to_memfd(part: memoryview) -> tuple[Optional[int], int]:
    """Write `part` to this thread's scratch memfd: (its fd, how many bytes could be read
    from `part`), or (None, 0) where there is no memfd."""
    memfd = getattr(_scratch, "memfd", None)
    if memfd is None:
        memfd = _scratch.memfd = _Memfd()
    fd = memfd.fd
    if fd is None:  # pragma: no cover - not Linux
        return None, 0
    done = 0
    while done < part.nbytes:
        try:
            n = os.pwrite(fd, part[done:], done)
        except OSError as exc:
            if exc.errno == errno.EFAULT:
                break  # the rest of the mapping is gone
            raise
        if n <= 0:
            break
        done += n
    return fd, done


def _pread_equals(fd: int, offset: int, expected: bytes) -> bool:
    """Whether the file holds `expected` at `offset`: read into this thread's reusable buffer
    and compared in one memcmp. Checking a parse this way costs no allocation (a fresh
    buffer per check costs more in page faults than the copy and the compare together)."""
    size = len(expected)
    buf = getattr(_scratch, "buffer", None)
    if buf is None or len(buf) < size:
        buf = bytearray(size)
        if size <= _KEEP_SCRATCH:
            _scratch.buffer = buf
    with memoryview(buf) as whole:
        view = whole[:size]
        got = 0
        while got < size:
            n = os.preadv(fd, [view[got:]], offset + got)
            if n <= 0:
                return False  # the file is shorter now
            got += n
        return expected.startswith(view)


def _pread(fd: int, offset: int, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = os.pread(fd, size - got, offset + got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# ----------------------------------------------------------------------------- paths
def shown_path(text: str) -> str:
    """A path as a message that starts with it shows it: quoted when it holds a space, comma or
    semicolon, so a reader sees where it ends and `display.sentence` never takes its first word
    for prose and re-cases it ("my net.om: ..." must not become "My net.om: ..."), and quoted
    when it is one lower-case word, which `sentence` would take for prose too ("models is a
    directory" became "Models is a directory", a folder no one can find by that name)."""
    word = text == "a" or (len(text) > 1 and text.isascii() and text.isalpha() and text.islower())
    return repr(text) if word or any(c.isspace() or c in ",;" for c in text) else text


def _path_error(cls: type, code: int, message: str) -> OSError:
    exc = cls(message)
    exc.errno = code  # str() stays the message alone; callers can still test .errno
    return exc


def _pseudo_devices() -> set[int]:
    out = set()
    for root in _PSEUDO_FS:
        try:
            out.add(os.stat(root).st_dev)
        except OSError:
            pass
    return out


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _stat_path(text: str) -> os.stat_result:
    """os.stat with every failure turned into one OSError that says what to do."""
    try:
        return os.stat(text)
    except FileNotFoundError:
        if os.path.lexists(text):
            message = f"{shown_path(text)} is a symbolic link to a file that does not exist; fix or remove the link"
            raise _path_error(FileNotFoundError, errno.ENOENT, message) from None
        from .suggest import close_path, did_you_mean

        raise _path_error(FileNotFoundError, errno.ENOENT, f"no such model file: {text}"
                          f"{did_you_mean(close_path(text))} (working directory: {os.getcwd()})") from None
    except NotADirectoryError:
        raise _path_error(NotADirectoryError, errno.ENOTDIR,
                          f"{shown_path(text)}: a part of the path before the last '/' is a file, not a directory; "
                          "give the path of the .om file itself") from None
    except PermissionError:
        raise _path_error(PermissionError, errno.EACCES,
                          f"permission denied reading {text}; check the file's permissions") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            message = f"{shown_path(text)} is a symbolic link loop (too many levels of links); fix the links"
        elif exc.errno == errno.ENAMETOOLONG:
            message = f"the path is too long ({len(text)} characters): {text[:60]}...; shorten it"
        else:
            message = f"cannot open {text}: {exc.strerror or exc}"
        raise _path_error(OSError, exc.errno or errno.EINVAL, message) from None


def open_path(source: Any, check_memory: bool = True) -> HostBuffer:
    """Map a model file read-only, after refusing anything that is not a regular file."""
    text = os.path.expanduser(os.fspath(source))
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "":
        raise _path_error(FileNotFoundError, errno.ENOENT, "the path is empty; give the path of a .om file")
    if "\0" in text:
        raise _path_error(OSError, errno.EINVAL,
                          f"the path {text!r} contains a NUL byte, so no file can have it; check how it was built")
    st = _stat_path(text)
    if stat.S_ISDIR(st.st_mode):
        raise _path_error(IsADirectoryError, errno.EISDIR,
                          f"{shown_path(text)} is a directory; give the path of a .om file inside it")
    if not stat.S_ISREG(st.st_mode):
        raise _path_error(OSError, errno.EINVAL,
                          f"{shown_path(text)} is {_kind(st.st_mode)}, not a model file; "
                          "copy the .om into a regular file")
    if st.st_dev in _pseudo_devices():
        raise _path_error(OSError, errno.EINVAL,
                          f"{shown_path(text)} is a file of the kernel's /proc or /sys, not a model; pass a .om file")
    if check_memory:
        check_host_memory(shown_path(text), st.st_size)
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(text, flags)  # O_NONBLOCK: if the path was swapped for a FIFO meanwhile, no hang
    except OSError:
        _stat_path(text)  # the same words as above for whatever it has become
        raise
    try:
        now = os.fstat(fd)
        # a file written too recently has no stamp: its times may not show the next write
        stamp = FileStamp.of(now) if FileStamp.settled(now, time.time_ns()) else None
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
            raise _path_error(OSError, errno.EAGAIN,
                              f"{shown_path(text)} was replaced while it was being opened; try again")
        size = now.st_size
        if size == 0:
            return HostBuffer(memoryview(b""), text, fd=fd)
        try:
            mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        except ValueError:  # the file shrank between fstat and mmap
            raise _path_error(OSError, errno.EAGAIN,
                              f"{shown_path(text)} changed while it was being opened; try again") from None
    except BaseException:
        os.close(fd)
        raise
    return HostBuffer(memoryview(mapped), text, mapped=mapped, fd=fd, stamp=stamp)
