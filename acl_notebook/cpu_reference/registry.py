"""The op registry: one planner per op type, and the view of an op that planners read.

A planner runs once per op before anything is computed. It reads the op's attributes and
descriptors through an `OpView`, settles everything the kernel needs (geometry solved from
shapes, fused post-ops, ...), records what it had to guess with `OpView.note` (the op is
then "approximate") and returns the kernel: a function from the op's logical input arrays
(None for an absent optional input) to its logical output arrays. A planner that cannot
compute the op raises `Unsupported` with the reason (the op is then "placeholder").
Planning without running is what `coverage` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional

from .graph import ABSENT, Desc, Node

Kernel = Callable[[Sequence[Any]], Any]
Planner = Callable[["OpView"], Kernel]

_PLANNERS: dict[str, Planner] = {}
_loaded = False


class Unsupported(Exception):
    """The op cannot be computed from the file; the message says why (one line)."""


def register(*types: str) -> Callable[[Planner], Planner]:
    """Register the decorated planner for each op type in `types`."""

    def deco(fn: Planner) -> Planner:
        for t in types:
            _PLANNERS[t] = fn
        return fn

    return deco


def planner_for(op_type: str) -> Optional[Planner]:
    global _loaded
    if not _loaded:
        from . import ops  # noqa: F401  (importing the package registers every op family)

        _loaded = True
    return _PLANNERS.get(op_type)


def known_types() -> frozenset[str]:
    planner_for("")
    return frozenset(_PLANNERS)


class OpView:
    """An op as its planner sees it: attrs, descriptors, the source framework, and `note`."""

    def __init__(self, node: Node, framework: str = "") -> None:
        self.node = node
        self.name = node.name
        self.type = node.type
        self.framework = framework
        self.notes: list[str] = []
        self.macs = 0  # multiply-adds one run of the kernel does, when more than it reads and writes
        self.scratch = 0  # bytes the kernel allocates beyond float32 copies of its inputs and outputs

    def attr(self, name: str, default: Any = None) -> Any:
        value = self.node.attrs.get(name)
        return default if value is None else value

    def has(self, name: str) -> bool:
        return self.node.attrs.get(name) is not None

    def inp(self, i: int) -> Desc:
        descs = self.node.input_descs
        return descs[i] if 0 <= i < len(descs) else ABSENT

    def out(self, i: int = 0) -> Desc:
        descs = self.node.output_descs
        return descs[i] if 0 <= i < len(descs) else ABSENT

    def present(self, i: int) -> bool:
        inputs = self.node.inputs
        return 0 <= i < len(inputs) and inputs[i] is not None

    @property
    def n_inputs(self) -> int:
        return len(self.node.inputs)

    def cost(self, macs: int = 0, scratch: int = 0, loops: int = 0) -> None:
        """Declare what the kernel will cost, from the shapes it was planned for (see `..budget`):
        multiply-adds, bytes beyond float32 copies of its inputs and outputs, and iterations of
        a Python loop (per group, per kernel tap). A run is refused before it starts when the
        model's total is past what the host can do."""
        from .budget import LOOP_WORK

        self.macs, self.scratch = int(macs) + LOOP_WORK * int(loops), int(scratch)

    def note(self, text: str) -> None:
        """Record a guess; the op (and any result depending on it) becomes "approximate"."""
        self.notes.append(f"{self.type} '{self.name}': {text}")
