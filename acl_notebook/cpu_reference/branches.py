"""Multi-gear models: the Case op ATC puts in front of one cloned graph per gear.

A dynamic batch / image-size / dims model's root graph is only a shell: its Data ops, a
``Case`` op carrying the gears (``_batch_num``, ``_pred_value_<i>``) and naming one sub-graph
per gear, and a NetOutput of the Case's outputs. Each sub-graph is the whole computation at
that gear's static shapes; on the device the mbatch input selects it. On the CPU the gear
is determined by the user inputs' shapes, so the branch whose Data ops take exactly those
shapes is the one that runs, and what it computes is the model's answer (nothing guessed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from .graph import Graph, Node


def gear_case(graph: Graph) -> Optional[Node]:
    """The root's Case op when the graph is a multi-gear shell whose branches are all in the file."""
    for node in graph.nodes:
        if node.type == "Case" and node.subgraphs and all(s in graph.subgraphs for s in node.subgraphs):
            return node
    return None


def branch_shapes(branch: Graph) -> list[tuple[int, ...]]:
    """The input shapes a branch takes, in model input order."""
    out = []
    for data in branch.inputs:
        desc = data.output_descs[0] if data.output_descs else data.input_descs[0]
        out.append(desc.logical_shape if desc.packed else desc.shape)
    return out


def pick_branch(graph: Graph, case: Node, inputs: Sequence[Any]) -> tuple[int, Graph]:
    """The gear index and sub-graph whose inputs have exactly the given arrays' shapes."""
    given = [tuple(getattr(x, "shape", ())) for x in inputs]
    for i, name in enumerate(case.subgraphs):
        branch = graph.subgraphs[name]
        if branch_shapes(branch) == given:
            return i, branch
    known = "; ".join(" ".join(str(list(s)) for s in branch_shapes(graph.subgraphs[n])) for n in case.subgraphs)
    raise ValueError(f"input shapes {' '.join(str(list(s)) for s in given)} match none of the model's gears "
                     f"(branches take {known})")
