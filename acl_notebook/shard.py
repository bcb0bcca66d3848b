"""How a batch is cut across devices when `run(x, split=True)` shards it.

The batch axis (axis 0 of every user input) is cut into one contiguous shard per device,
as even as possible. A model only accepts the batch sizes it was built for (its batch
gears, or its static batch), so each shard is then run as one or more runs of accepted
sizes: the largest that fits first, and a last short piece padded up to the smallest
accepted size that holds it (its padded rows are dropped from the outputs). Pure
arithmetic, no device: the group and the cluster share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class Piece:
    """One run: rows [start, stop) of the whole batch, run at batch size `batch` (>= rows)."""

    start: int
    stop: int
    batch: int

    @property
    def rows(self) -> int:
        return self.stop - self.start

    @property
    def padding(self) -> int:
        return self.batch - self.rows


def batch_sizes(model: Any) -> Optional[tuple[int, ...]]:
    """The batch sizes `model` accepts on axis 0 of its first input; None when any size is."""
    dyn = model.dynamic
    first = model.inputs[0].dims if model.inputs and model.inputs[0].dims else ()
    if dyn.kind == "batch" and dyn.gears:
        return tuple(sorted({g[0] for g in dyn.gears}))
    if dyn.kind == "dims" and dyn.gears and first and first[0] < 0:
        return tuple(sorted({g[0] for g in dyn.gears}))
    if first and first[0] > 0:
        return (first[0],)
    return None


def shard_rows(n: int, parts: int) -> list[tuple[int, int]]:
    """[start, stop) of each of `parts` contiguous shards of `n` rows (sizes differ by <= 1)."""
    if parts < 1:
        raise ValueError("need at least one device to shard across")
    base, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def pieces(start: int, stop: int, sizes: Optional[tuple[int, ...]]) -> list[Piece]:
    """The runs that cover rows [start, stop) using only the accepted batch `sizes`."""
    if stop <= start:
        return []
    if sizes is None:
        return [Piece(start, stop, stop - start)]
    out, at = [], start
    while at < stop:
        left = stop - at
        fits = [s for s in sizes if s <= left]
        if fits:
            size = max(fits)
            out.append(Piece(at, at + size, size))
            at += size
        else:  # the short tail: pad it up to the smallest gear that holds it
            out.append(Piece(at, stop, min(s for s in sizes if s >= left)))
            at = stop
    return out


def plan(n: int, parts: int, sizes: Optional[tuple[int, ...]]) -> list[list[Piece]]:
    """For each of `parts` devices, its runs over its shard of `n` rows."""
    if n < 1:
        raise ValueError("the batch to split is empty (axis 0 has no rows)")
    return [pieces(a, b, sizes) for a, b in shard_rows(n, parts)]


__all__ = ["Piece", "batch_sizes", "pieces", "plan", "shard_rows"]
