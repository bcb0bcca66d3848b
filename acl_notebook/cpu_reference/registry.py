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
        self.held: Optional[int] = None  # bytes the kernel holds at once (see `cost`); None: not declared
        self.makes: Optional[str] = "float32"  # the dtype of the arrays it returns (None: its input's)
        self.views: tuple[Optional[int], ...] = ()  # per output, the input whose array it views

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

    def cost(self, macs: int = 0, held: Optional[int] = None, loops: int = 0, makes: Optional[str] = "float32",
             views: tuple[Optional[int], ...] = ()) -> None:
        """Declare what the kernel will cost, from the shapes it was planned for (see `..budget`).

        macs: multiply-adds; loops: iterations of a Python loop (per group, per kernel tap).
        held: the most bytes the kernel allocates at once, its outputs included, given its inputs
        as the interpreter hands them (each in its descriptor's dtype): what numpy really holds,
        measured with tracemalloc (tests/test_reference_budget.py), not a blanket factor.
        makes: the dtype of the arrays it returns ("float32", or None for its first input's), so
        the budget knows when the interpreter stores a converted copy. views: per output, the input
        whose array the output is a view of (a reshape, a slice), which then stays alive with it.
        A run is refused before it starts when the model's total is past what the host can do."""
        from .budget import LOOP_WORK

        self.macs, self.held = int(macs) + LOOP_WORK * int(loops), None if held is None else int(held)
        self.makes, self.views = makes, tuple(views)

    def f32(self, i: int) -> int:
        """Bytes of the float32 copy a kernel makes of input `i` (`_util.f32`: none of a float32 one)."""
        desc = self.inp(i)
        return 0 if desc.dtype == "float32" or not desc.present else 4 * logical_count(desc)

    def out32(self, k: int = 0) -> int:
        """Bytes of output `k` as a float32 array."""
        return 4 * logical_count(self.out(k))

    def out_as_input(self, k: int = 0, i: int = 0) -> int:
        """Bytes of output `k` in input `i`'s dtype (what a shape op makes)."""
        return logical_count(self.out(k)) * (self.inp(i).itemsize or 4)

    def note(self, text: str) -> None:
        """Record a guess; the op (and any result depending on it) becomes "approximate"."""
        self.notes.append(f"{self.type} '{self.name}': {text}")


def logical_count(desc: Desc) -> int:
    """Values of a descriptor's logical array."""
    return desc.logical_bytes // (desc.itemsize or 4)
