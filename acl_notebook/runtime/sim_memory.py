"""The simulator's memory: a validated device address space, and the one door to host memory.

Why a separate address space: on an EP machine (a PCIe card) device memory is not host
memory, and a program that reads a device pointer on the host, or copies from a pointer
it made up, is wrong. The simulator must say so with ACL's code instead of crashing the
kernel. So in EP mode device blocks live at synthetic addresses that no host access can
reach, are handed out by a bump allocator (never reused, so a stale pointer stays
detectably stale), and every device access is checked against the live blocks. In RC mode
(the app runs on the board, host and device share one DDR) device blocks are real process
memory at real addresses, as they are on the board.

Every read or write of *host* memory the simulator does goes through `host_view`: it is
the single place where a host pointer is trusted, so a layer that hands the simulator
foreign pointers (a pyACL shim) can add its validation there.
"""

from __future__ import annotations

import bisect
import collections
import ctypes
import threading
from dataclasses import dataclass
from typing import Optional

#: Where synthetic EP device addresses start (shaped like a real Ascend device VA).
EP_DEVICE_BASE = 0x12C0_0000_0000
_ALIGN = 64  # ACL documents 64-byte-aligned starts
#: How many freed real-memory blocks, and how many of their bytes, stay refused (and held).
FREED_BLOCKS = 4096
FREED_BYTES = 32 << 20


class HostAccessError(ValueError):
    """A host pointer the simulator was asked to touch is not usable memory."""


def host_view(address: int, size: int, writable: bool = False) -> memoryview:
    """A zero-copy view of `size` bytes of host memory at `address`.

    The one function through which the simulator reads or writes host memory (memcpy's
    host side, and nothing else). It trusts the address: validating host pointers is left
    to the layer that receives them from users.
    """
    if address <= 0 or size < 0:
        raise HostAccessError(f"host address 0x{address:x} is not a valid pointer")
    del writable  # ctypes views are always writable; kept for the validator's benefit
    return memoryview((ctypes.c_char * size).from_address(address)).cast("B")


@dataclass
class Block:
    """One live allocation (device or ACL host memory)."""

    address: int
    size: int  # bytes the caller asked for
    charge: int  # bytes taken from the device (rounding and padding included)
    device: int
    host: bool  # True for aclrtMallocHost memory in EP (page-locked host memory)
    view: memoryview  # the bytes
    owner: object  # keeps the backing storage alive


class AddressSpace:
    """Live blocks by address; lookups accept interior pointers."""

    def __init__(self, rc: bool) -> None:
        self.rc = rc
        self._lock = threading.Lock()
        self._bases: list[int] = []
        self._blocks: dict[int, Block] = {}
        self._next = EP_DEVICE_BASE
        # Freed real-memory blocks (RC, and host blocks): (start, end, storage). A stale pointer
        # into one gets a code. Each is refused exactly while its storage is held back here, so
        # the heap can never hand its addresses to another allocation (a numpy array the program
        # makes next) that would then be refused too; the oldest go, storage and refusal together,
        # past `FREED_BLOCKS` blocks or `FREED_BYTES` bytes (a bigger block goes at once).
        self._freed: collections.deque = collections.deque()
        self._freed_bytes = 0
        #: every allocation ever made, for tests that count them
        self.allocations = 0

    def allocate(self, size: int, charge: int, device: int, host: bool = False) -> Block:
        """A new block of `size` bytes (uninitialised in ACL; zeros here)."""
        length = max(size, 1)
        if self.rc or host:  # real memory, 64-byte aligned like ACL's
            storage = (ctypes.c_char * (length + _ALIGN))()
            skip = -ctypes.addressof(storage) % _ALIGN
            address = ctypes.addressof(storage) + skip
            view = memoryview(storage).cast("B")[skip: skip + length]  # the slice keeps storage alive
        else:
            storage = bytearray(length)
            view = memoryview(storage)
            with self._lock:
                address = self._next
                self._next += (charge + _ALIGN - 1) // _ALIGN * _ALIGN + _ALIGN  # a gap: overruns miss
        block = Block(address, size, charge, device, host and not self.rc, view, storage)
        with self._lock:
            bisect.insort(self._bases, address)
            self._blocks[address] = block
            self.allocations += 1
        return block

    def release(self, address: int) -> Optional[Block]:
        """Forget the block starting at `address` (None if there is none)."""
        with self._lock:
            block = self._blocks.pop(address, None)
            if block is not None:
                del self._bases[bisect.bisect_left(self._bases, address)]
                if self.rc or block.host:
                    self._freed.append((block.address, block.address + max(block.size, 1), block.owner))
                    self._freed_bytes += len(block.owner)
                    while self._freed and (len(self._freed) > FREED_BLOCKS or self._freed_bytes > FREED_BYTES):
                        _lo, _hi, storage = self._freed.popleft()
                        self._freed_bytes -= len(storage)
            return block

    def was_freed(self, address: int) -> bool:
        """True if `address` lies in a recently freed real-memory block (and no live one)."""
        with self._lock:
            return any(lo <= address < hi for lo, hi, _storage in self._freed)

    def find(self, address: int, count: int = 0) -> Optional[Block]:
        """The live block holding ``[address, address + count)``, or None."""
        with self._lock:
            i = bisect.bisect_right(self._bases, address) - 1
            if i < 0:
                return None
            block = self._blocks[self._bases[i]]
        if address + count <= block.address + max(block.size, 1):
            return block
        return None

    def is_synthetic(self, address: int) -> bool:
        """True for an address in the EP device range (never valid host memory)."""
        return not self.rc and EP_DEVICE_BASE <= address < max(self._next, EP_DEVICE_BASE + 1) + (1 << 40)

    def live(self) -> list[Block]:
        with self._lock:
            return list(self._blocks.values())


__all__ = ["AddressSpace", "Block", "HostAccessError", "EP_DEVICE_BASE", "host_view"]
