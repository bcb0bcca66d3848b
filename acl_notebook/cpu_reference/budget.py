"""What one CPU-reference run may cost, settled from the file's declarations before anything runs.

A file declares every tensor's shape and the attrs that size an op's work, so a hostile (or
merely huge) model can ask for terabytes or for hours of CPU. numpy would only find out while
computing: an allocation past the host's RAM can succeed (overcommit) and page the host out or
get the kernel killed when touched, and a long GEMM cannot be interrupted. So before a run
walks the graph, `plan` adds up, from the descriptors and each planner's `OpView.cost`:

- **work**: per op the larger of its multiply-adds and the elements it reads and writes;
  past `MAX_WORK` for the run the reference refuses (`ReferenceLimitError`);
- **memory**: the live intermediates in run order (freed after their last reader, as the
  interpreter frees them) plus the op's own scratch (float32 temporaries of its size, and
  what its planner declares: im2col, padding, interpolation rows); past
  what the host has available it refuses with `hostbuf.HostMemoryError`, the project's one
  host-memory check.

Ops from the first placeholder on are not counted: a run stops there (its values would not
be the model's anyway), so nothing behind it is allocated or computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..hostbuf import HostMemoryError, host_shortfall

#: Element operations (multiply-adds, elements read and written) one run may take: about 250
#: ResNet-50 images (4.1e9 each). At the rates measured on this project's 2-core machines that
#: is 2 to 6 minutes of ResNet-style convs, or 20 minutes of my_122_anenet's (1.4e9 in 1.9 s).
#: Raise it to let the reference compute bigger models.
MAX_WORK = 10**12

#: What one iteration of a kernel's Python loop counts as in `MAX_WORK` (a microsecond or so).
LOOP_WORK = 1000

_F32 = 4  # kernels compute in float32
# float32 temporaries of an op's size (its inputs and outputs) a kernel may hold at once beyond
# what it declares: numpy expressions such as np.where(x >= 0, x, x * s) on fp16 inputs make a
# float32 copy per use, a mask, a product and the result
_TEMPORARIES = 4
#: Arrays of the outputs' size a run holds at its end (the computed ones encoded and copied, or
#: the placeholder function's table, inputs and result).
OUTPUT_COPIES = 3


class ReferenceLimitError(ValueError):
    """The CPU reference would take too long for this model (`MAX_WORK`); nothing was computed."""


@dataclass(frozen=True)
class Plan:
    """The cost of one run's ops, in run order: total work and peak bytes, and the ops that set them."""

    work: int
    heaviest: Optional[Any]  # the Node doing the most work
    heaviest_work: int
    peak: int
    peak_at: Optional[Any]  # the Node at which memory peaks


def plan(order: Sequence[Any], step_of: Callable[[Any], Any], is_source: Callable[[Any], bool],
         placeholder: str) -> Plan:
    """Work and peak memory of running `order` (see the module docstring); `step_of(node)` is the
    node's planned `Step` (kernel, status, macs, scratch)."""
    refs: dict[tuple[str, int], int] = {}
    for node in order:
        for ref in node.inputs:
            if ref is not None:
                refs[ref] = refs.get(ref, 0) + 1
    live, peak, work, heaviest, heavy, peak_at = 0, 0, 0, None, 0, None
    sizes: dict[tuple[str, int], int] = {}
    for node in order:  # plain loops: this runs once per op of a model at its first run
        if node.type == "NetOutput":
            break
        if is_source(node):
            continue
        step = step_of(node)
        if step.status == placeholder:  # the run stops here: what it has made is dropped
            live = 0
            break
        read = written = out_bytes = 0
        for desc in node.input_descs:
            read += desc.count
        for k, desc in enumerate(node.output_descs):
            written += desc.count
            size = sizes[(node.name, k)] = desc.logical_bytes
            out_bytes += size
        op_work = step.macs if step.macs > read + written else read + written
        work += op_work
        if op_work > heavy:
            heaviest, heavy = node, op_work
        here = live + out_bytes + step.scratch + _TEMPORARIES * _F32 * (read + written)
        if here > peak:
            peak, peak_at = here, node
        live += out_bytes
        for ref in node.inputs:
            if ref is not None:
                left = refs[ref] = refs[ref] - 1
                if not left:
                    live -= sizes.pop(ref, 0)
    final = next((n for n in reversed(order) if n.type == "NetOutput"), None)
    if final is not None:  # the outputs handed over: each made in its layout, copied (or the placeholder's)
        here = live + OUTPUT_COPIES * sum(desc.logical_bytes for desc in final.input_descs)
        if here > peak:
            peak, peak_at = here, final
    return Plan(work, heaviest, heavy, peak, peak_at)


def check(p: Plan) -> None:
    """Refuse a run whose work is past `MAX_WORK` or whose memory the host cannot give."""
    if p.work > MAX_WORK:
        op = p.heaviest
        raise ReferenceLimitError(
            f"the CPU reference would take about {p.work:.2g} operations for this run ({op.type} '{op.name}' alone "
            f"{p.heaviest_work:.2g}), past its bound of {MAX_WORK:.0e} (minutes to tens of minutes of CPU); run "
            "the model on a device, give that op's output with override=, or raise "
            "acl_notebook.cpu_reference.budget.MAX_WORK")
    available = host_shortfall(p.peak) if p.peak else None
    if available is not None:
        op = p.peak_at
        raise HostMemoryError(f"the CPU reference's working memory for this run (at {op.type} '{op.name}')",
                              p.peak, available, "run the model on a device, give that op's output with "
                              "override=, or free host memory")
