"""Is a raw host pointer mapped memory we may read (or write)? Asked of the kernel, never by touching it.

Real programs hand pyACL host pointers they made themselves: ``arr.ctypes.data``,
``arr.__array_interface__['data'][0]``, ``ctypes.addressof(buf)``. On a device those work
whenever the memory is mapped; a made-up or unmapped one is a segfault. Dereferencing
the pointer to find out would be that segfault, so the kernel is asked, fresh every time
(a cached answer could call a page mapped after an ``munmap``), in the cheapest way it
offers here:

1. ``madvise(MADV_POPULATE_READ / _WRITE)`` (Linux 5.14+): prefaults the range as a read
   or write would, without accessing it, and fails with ENOMEM for an unmapped page,
   EINVAL for one without the access, EFAULT for one that would SIGBUS (a file mapping past
   its end). A page-table walk: about 2 us for 1 MiB of resident memory.
2. ``process_vm_readv`` / ``process_vm_writev`` on our own pid, one byte per page (a write
   puts back the byte it just read; the GIL is held, so no Python thread writes between).
   Fails with EFAULT. About 0.5 us per page.
3. ``/proc/self/maps``, read and searched on every question (for sandboxes that refuse both).

Freed heap memory is still mapped, so the kernel cannot call it stale; nor can anyone,
since the allocator hands the same addresses to the program's next array. Such a pointer
is accepted as the device would accept it; memory that is really gone is refused.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
from typing import Any, Optional

PAGE = mmap.PAGESIZE
_POPULATE_READ, _POPULATE_WRITE = 22, 23  # MADV_POPULATE_READ / MADV_POPULATE_WRITE
_EPERM, _EINTR, _EAGAIN, _ENOSYS = 1, 4, 11, 38
_IOV_MAX = 1024  # the kernel's UIO_MAXIOV: iovecs per process_vm_* call
_USER_END = 1 << 63  # no user-space address reaches this


class _IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Kernel:
    """The calls, bound once, and which of the three ways works in this process."""

    def __init__(self) -> None:
        self.way = "proc-maps"
        self._lock = threading.Lock()  # the process_vm scratch buffers are shared
        try:
            # PyDLL keeps the GIL: no Python thread runs between a probe's read and write-back
            libc = ctypes.PyDLL(None, use_errno=True)
            self._madvise = libc.madvise
            self._madvise.restype = ctypes.c_int
            self._madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            self._vm = []
            for name in ("process_vm_readv", "process_vm_writev"):
                fn = getattr(libc, name)
                fn.restype = ctypes.c_ssize_t
                fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                               ctypes.c_ulong]
                self._vm.append(fn)
        except (OSError, AttributeError):
            return
        self._scratch = (ctypes.c_char * _IOV_MAX)()
        self._local = _IOVec(ctypes.addressof(self._scratch), 0)
        self._remote = (_IOVec * _IOV_MAX)()
        sample = mmap.mmap(-1, PAGE)  # a page we know is mapped read-write
        address = ctypes.addressof(ctypes.c_char.from_buffer(sample))
        try:
            for way in ("madvise", "process_vm"):
                self.way = way
                if self.ask(address, PAGE, True) is True:
                    return
            self.way = "proc-maps"
        finally:
            sample.close()

    def ask(self, address: int, size: int, write: bool) -> Optional[bool]:
        """The answer, or None when this way is refused here."""
        if self.way == "madvise":
            lo, hi = address - address % PAGE, -(-(address + size) // PAGE) * PAGE
            while True:
                if self._madvise(lo, hi - lo, _POPULATE_WRITE if write else _POPULATE_READ) == 0:
                    return True
                err = ctypes.get_errno()
                if err not in (_EINTR, _EAGAIN):
                    # EINVAL is also an old kernel's answer; only the probe in __init__ reads it so
                    return None if err in (_EPERM, _ENOSYS) else False
        if self.way == "process_vm":
            return self._pages(address, size, write)
        return _maps_allow(address, size, write)

    def _pages(self, address: int, size: int, write: bool) -> Optional[bool]:
        first, last = address // PAGE, (address + size - 1) // PAGE
        pid = os.getpid()
        with self._lock:
            page = first
            while page <= last:
                n = min(_IOV_MAX, last - page + 1)
                for i in range(n):
                    self._remote[i].base, self._remote[i].len = (page + i) * PAGE, 1
                if page == first:
                    self._remote[0].base = address
                self._local.len = n
                got = self._vm[0](pid, ctypes.byref(self._local), 1, self._remote, n, 0)
                if got == n and write:
                    got = self._vm[1](pid, ctypes.byref(self._local), 1, self._remote, n, 0)
                if got != n:
                    return None if got < 0 and ctypes.get_errno() in (_EPERM, _ENOSYS) else False
                page += n
        return True


def _maps_allow(address: int, size: int, write: bool) -> bool:
    """Every byte of the range in mappings with the access, per /proc/self/maps (read now)."""
    end, need = address + size, "w" if write else "r"
    try:
        with open("/proc/self/maps", "rb") as f:
            lines = f.read().decode("ascii", "replace").splitlines()
    except OSError:
        return False
    for line in lines:
        span, perms = line.split(" ", 2)[:2]
        lo, hi = (int(x, 16) for x in span.split("-"))
        if hi <= address:
            continue
        if lo > address or need not in perms:
            return False  # a hole, or a mapping without the access
        if hi >= end:
            return True
        address = hi
    return False


_KERNEL: Optional[_Kernel] = None
_KERNEL_LOCK = threading.Lock()


def _kernel() -> _Kernel:
    global _KERNEL
    if _KERNEL is None:
        with _KERNEL_LOCK:
            if _KERNEL is None:
                _KERNEL = _Kernel()
    return _KERNEL


def accessible(address: int, size: int, write: bool = False) -> bool:
    """True if every byte of ``[address, address + size)`` is mapped host memory this process
    may read (and, with `write`, write). Never touches memory it is not sure of."""
    if size <= 0:
        return address > 0
    if address <= 0 or address + size > _USER_END:
        return False
    kernel = _kernel()
    answer = kernel.ask(address, size, write)
    if answer is None:  # refused mid-run (a seccomp filter installed later): fall back for good
        kernel.way = "proc-maps"
        answer = _maps_allow(address, size, write)
    return answer


def method() -> str:
    """How `accessible` asks here: ``"madvise"``, ``"process_vm"`` or ``"proc-maps"``."""
    return _kernel().way


def _use(way: str) -> Any:
    """Tests: force one way (returns the previous one so it can be restored)."""
    kernel = _kernel()
    previous, kernel.way = kernel.way, way
    return previous


__all__ = ["accessible", "method"]
