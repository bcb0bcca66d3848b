"""Every handle and pointer a pyACL program got from us, so each one it hands back can be checked.

Real pyACL passes ints straight to C: a stale or made-up pointer is a segfault, or worse,
a silent write somewhere. Here each handle is looked up first and an unknown one gets
ACL's code for it, on either backend (on the ctypes backend the check is what keeps the
kernel alive). The ledger knows:

- device memory from ``acl.rt.malloc`` (and outputs ACL allocated during an execute), and
  ACL host memory from ``acl.rt.malloc_host``; interior pointers are fine, as in C;
- Python memory converted with ``acl.util.bytes_to_ptr`` / ``numpy_to_ptr``. Such a
  pointer is only as alive as its object: when the ledger is the object's last holder the
  program has dropped it, so the pointer is stale (pyACL documents exactly this lifetime
  rule) and the entry is discarded;
- data buffers, datasets, streams, events, contexts, model descs, model-load config
  handles and tensor descs it created, and the tensor descs datasets own that it was given.

Any other host pointer (``arr.ctypes.data``, ``ctypes.addressof(buf)``: real programs use
them, and on a device they work) is the program's own memory if the kernel says it is mapped
with the access the call needs (`hostmem.accessible`, which never touches it); `reach`
answers both questions in that order. A pointer that starts inside a known allocation or
object but runs past its end is refused without asking: the kernel would call the
neighbouring heap memory mapped.
"""

from __future__ import annotations

import bisect
import ctypes
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from . import hostmem

DEVICE, ACL_HOST, PYTHON = "device", "acl-host", "python"
RAW = "raw"  # host memory the program made itself, vouched for by the kernel at the time of the call


@dataclass
class Region:
    """A span of memory the program may name by pointer."""

    address: int
    size: int
    kind: str  # DEVICE, ACL_HOST, PYTHON or RAW
    device: int = 0
    owner: Any = None  # the bytes / ndarray behind a PYTHON region

    def holds(self, address: int, count: int) -> bool:
        return self.address <= address and address + count <= self.address + max(self.size, 1)

    @property
    def stale(self) -> bool:
        # our own reference and getrefcount's argument: nobody else holds the object
        return self.kind == PYTHON and sys.getrefcount(self.owner) <= 2


@dataclass
class Desc:
    """An ``aclmdlDesc`` as the program sees it: empty until ``get_desc`` fills it."""

    model_id: Optional[int] = None
    inputs: tuple = ()
    outputs: tuple = ()
    dynamic: Any = None
    live: int = 0  # the backend's own desc handle (for the getters that ask the runtime)


@dataclass
class Config:
    """An ``aclmdlConfigHandle`` as the program filled it: the options set so far, by
    aclmdlConfigAttr value. Like ACL's own handle it only records them; the load reads them."""

    options: dict[int, Any] = field(default_factory=dict)


@dataclass
class Ledger:
    """The program's handles; one per process, reset when the runtime is replaced."""

    token: Optional[int] = None  # the runtime these handles belong to (ProgramBridge.start)
    regions: dict[int, Region] = field(default_factory=dict)  # device / ACL host, by base
    python: dict[int, Region] = field(default_factory=dict)  # converted objects, by id(owner)
    buffers: set[int] = field(default_factory=set)
    datasets: set[int] = field(default_factory=set)
    streams: dict[int, int] = field(default_factory=dict)  # stream -> context
    events: dict[int, int] = field(default_factory=dict)  # event -> context it was created in
    contexts: dict[int, int] = field(default_factory=dict)  # context -> device
    defaults: dict[int, int] = field(default_factory=dict)  # device -> its default context (set_device)
    descs: dict[int, Desc] = field(default_factory=dict)
    configs: dict[int, Config] = field(default_factory=dict)  # acl.mdl.create_config_handle
    models: dict[int, int] = field(default_factory=dict)  # model id -> context it was loaded in
    model_io: dict[int, tuple[int, int]] = field(default_factory=dict)  # model id -> (inputs, outputs)
    # tensor desc -> None (acl.create_tensor_desc) or the (dataset, index) whose own copy it is
    tensor_descs: dict[int, Optional[tuple[int, int]]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _bases: list[int] = field(default_factory=list)
    _py_starts: list[tuple[int, int]] = field(default_factory=list)  # (address, id(owner)), sorted
    _py_longest: int = 0  # the largest converted object: no region starting further below can hold a pointer
    _desc_handles: Any = None
    _config_handles: Any = None

    # -- device and ACL host memory ---------------------------------------------------------
    def add_region(self, address: int, size: int, kind: str, device: int = 0) -> None:
        with self.lock:
            if address not in self.regions:
                bisect.insort(self._bases, address)
            self.regions[address] = Region(address, size, kind, device)

    def drop_region(self, address: int) -> Optional[Region]:
        with self.lock:
            region = self.regions.pop(address, None)
            if region is not None:
                del self._bases[bisect.bisect_left(self._bases, address)]
            return region

    def allocation(self, address: int, count: int = 0) -> Optional[Region]:
        """The device / ACL host allocation holding ``[address, address + count)``."""
        with self.lock:
            i = bisect.bisect_right(self._bases, address) - 1
            if i < 0:
                return None
            region = self.regions[self._bases[i]]
            return region if region.holds(address, count) else None

    # -- Python memory -------------------------------------------------------------------------
    def add_python(self, owner: Any, address: int, size: int) -> None:
        with self.lock:
            self.prune()
            key = id(owner)
            if key in self.python:
                self._forget_python(key)
            self.python[key] = Region(address, size, PYTHON, owner=owner)
            bisect.insort(self._py_starts, (address, key))
            self._py_longest = max(self._py_longest, size)

    def _forget_python(self, key: int) -> None:
        region = self.python.pop(key)
        i = bisect.bisect_left(self._py_starts, (region.address, key))
        if i < len(self._py_starts) and self._py_starts[i] == (region.address, key):
            del self._py_starts[i]

    def prune(self) -> None:
        """Forget converted objects the program no longer holds (their pointers are stale)."""
        with self.lock:
            for key in [k for k, r in self.python.items() if r.stale]:
                self._forget_python(key)

    def python_region(self, address: int, count: int = 0) -> Optional[Region]:
        """The live converted object holding the range: found from the nearest start below
        it (objects may overlap: numpy views of one array), stale ones dropped on the way."""
        with self.lock:
            i = bisect.bisect_right(self._py_starts, (address, float("inf"))) - 1
            while i >= 0 and self._py_starts[i][0] + self._py_longest >= address + count:
                key = self._py_starts[i][1]
                region = self.python[key]
                if region.stale:
                    self._forget_python(key)
                elif region.holds(address, count):
                    return region
                i -= 1
            return None

    def find(self, address: int, count: int = 0) -> Optional[Region]:
        """Any live region holding ``[address, address + count)``."""
        return self.allocation(address, count) or self.python_region(address, count)

    def reach(self, address: int, count: int, write: bool = False) -> Optional[Region]:
        """The region a call may use for ``[address, address + count)``: a live one we know,
        else (outside all of them) raw host memory the kernel says is mapped with the access."""
        region = self.find(address, count)
        if region is not None:
            return region
        start = self.find(address)
        if start is not None and (write or start.kind != PYTHON):
            return None  # runs past the end of an ACL allocation, or would write past an object's
        # a read that runs past a Python object's end reads the memory that follows, as a device
        # would (the dynamic image-size sample copies the largest gear's size out of a smaller
        # input): allowed where the kernel says it is mapped and readable, never a write
        if hostmem.accessible(address, max(count, 1), write):
            return Region(address, count, RAW)
        return None

    # -- descs ---------------------------------------------------------------------------------
    def new_desc(self) -> int:
        with self.lock:
            if self._desc_handles is None:
                import itertools

                self._desc_handles = itertools.count(0x5D0000, 0x40)
            handle = next(self._desc_handles)
            self.descs[handle] = Desc()
            return handle

    def new_config(self) -> int:
        """A fresh config handle: an address-like int in a range no desc handle reaches."""
        with self.lock:
            if self._config_handles is None:
                import itertools

                self._config_handles = itertools.count(0xC0F1600000, 0x40)
            handle = next(self._config_handles)
            self.configs[handle] = Config()
            return handle

    def clear(self, token: Optional[int]) -> None:
        """Every handle is stale: the runtime they belonged to is gone."""
        with self.lock:
            self.token = token
            self.regions.clear()
            self._bases.clear()
            self.buffers.clear()
            self.datasets.clear()
            self.streams.clear()
            self.events.clear()
            self.contexts.clear()
            self.defaults.clear()
            self.descs.clear()
            self.configs.clear()
            self.models.clear()
            self.model_io.clear()
            self.tensor_descs.clear()


def view_of(region: Region, address: int, count: int) -> memoryview:
    """A zero-copy byte view of ``[address, address + count)`` inside a live host-readable region.

    For Python objects the view is taken from the object itself, so it keeps it alive for
    as long as the runtime holds the view.
    """
    if region.kind == PYTHON:
        base = memoryview(region.owner)
        if base.c_contiguous:
            flat = base.cast("B") if base.format != "B" or base.ndim != 1 else base
            offset = address - region.address
            return flat[offset: offset + count]
    return memoryview((ctypes.c_char * count).from_address(address)).cast("B")


def copy_of(address: int, count: int) -> bytes:
    """A copy of the `count` bytes at `address` (raw memory the program may free once the call
    returns). Not ctypes.string_at: it hands C the count as an int, so 2**32 + 5 bytes came back
    as 5, and 2**31 or more as the bytes up to the first NUL."""
    return bytes(memoryview((ctypes.c_char * count).from_address(address)).cast("B")) if count else b""


__all__ = ["ACL_HOST", "DEVICE", "PYTHON", "Config", "Desc", "Ledger", "Region", "copy_of", "view_of"]
