"""Mutations of .om bytes for the fuzz tests: anywhere in the file (mostly the header, tables
and MODEL_INOUT_INFO at its start), or only inside the MODEL_DEF partition, the graph that a
run and the CPU reference read. Seeded by the caller's `random.Random`, so a failing case
can be drawn again."""

from __future__ import annotations

import random
import struct

from acl_notebook.om import parse

#: Values that sit on the edges of the integer fields a reader checks.
BOUNDARY = (0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 2**31 - 1, 2**31, 2**32 - 1)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One mutation: bit flips, a boundary value in a structural field, a cut, or a splice."""
    buf = bytearray(data)
    kind = rng.randrange(6)
    hot = min(len(buf), 4096)  # header, tables and MODEL_INOUT_INFO live here
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(hot) if rng.random() < 0.7 else rng.randrange(len(buf))
            buf[pos] ^= 1 << rng.randrange(8)
    elif kind in (1, 2):
        width = 4 if kind == 1 else 8
        pos = rng.randrange(0, max(hot - width, 1))
        value = rng.choice(BOUNDARY) if rng.random() < 0.8 else rng.getrandbits(8 * width)
        struct.pack_into("<I" if width == 4 else "<Q", buf, pos, value & ((1 << 8 * width) - 1))
    elif kind == 3:
        del buf[rng.randrange(len(buf)):]
    elif kind == 4:
        pos = rng.randrange(len(buf))
        buf[pos:pos] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    else:
        a, b = sorted(rng.randrange(len(buf)) for _ in range(2))
        buf[a:b] = bytes(b - a)
    return bytes(buf)


def mutate_modeldef(data: bytes, rng: random.Random) -> bytes:
    """Bit flips and boundary values inside the MODEL_DEF partition only: the graph, its op
    descriptors and wiring, which is what a run and the CPU reference read."""
    part = next(p for p in parse(data).partitions if p.type == 0 and p.model == 0)
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.7:
            buf[part.offset + rng.randrange(part.size)] ^= 1 << rng.randrange(8)
        else:
            pos = part.offset + rng.randrange(max(part.size - 8, 1))
            struct.pack_into("<Q", buf, pos, rng.choice(BOUNDARY))
    return bytes(buf)
