"""Ops that compute nothing on a CPU (stream and memory helpers), and ops that cannot be computed.

Send / Recv synchronise streams, AtomicAddrClean zeroes memory before accumulating ops:
with one array per op output, executed in graph order, none of them changes a value
(om-execution.md §6). FrameworkOp runs a framework kernel on the AI CPU from a serialized
NodeDef; random ones cannot be reproduced at all, so we say which op it wraps and let the
caller supply its output (``override=``).
"""

from __future__ import annotations

from ..registry import OpView, Unsupported, register

HELPERS = ("Send", "Recv", "AtomicAddrClean", "DynamicAtomicAddrClean", "MemSet", "LabelSet", "LabelGoto",
           "LabelGotoEx", "LabelSwitchByIndex", "StreamActive", "StreamSwitch", "StreamMerge", "NoOp",
           "EndGraph", "ModelExit", "Enter", "Exit", "NextIteration", "HcomBroadcast")


@register(*HELPERS)
def no_op(op: OpView):
    """No value changes; a helper with data outputs passes its first input through."""
    outs = len(op.node.output_descs)
    present = [i for i in range(op.n_inputs) if op.present(i)]
    op.cost(held=0, makes=None, views=tuple(present[:outs]))  # its inputs, passed through

    def kernel(xs):
        data = [x for x in xs if x is not None]
        return data[:outs] if outs else []

    return kernel


@register("FrameworkOp")
def framework_op(op: OpView):
    original = op.attr("original_type", "")
    raise Unsupported(
        f"runs the framework op {original or '(type not recorded)'} on the AI CPU; its kernel is not in a form "
        "numpy can run" + ("; it is random, pass its output with override=" if "Random" in str(original) else "")
    )
