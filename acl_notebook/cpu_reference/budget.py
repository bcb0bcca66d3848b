"""What one CPU-reference run may cost, settled from the file's declarations before anything runs.

A file declares every tensor's shape and the attrs that size an op's work, so a hostile (or
merely huge) model can ask for terabytes or for hours of CPU. numpy would only find out while
computing: an allocation past the host's RAM can succeed (overcommit) and page the host out or
get the kernel killed when touched, and a long GEMM cannot be interrupted. So before a run
walks the graph, `plan` adds up, from the descriptors and each planner's `OpView.cost`:

- **work**: per op the larger of its multiply-adds and the elements it reads and writes;
  past `MAX_WORK` for the run the reference refuses (`ReferenceLimitError`);
- **memory**: the arrays the run holds in run order, as the interpreter holds them (an op's
  outputs until their last reader; a view, such as a reshape or a slice, keeps the array it
  views; a Const decoded at its first reader), plus at each op what reading its inputs costs
  (a descriptor that differs: the bytes encoded and re-read) and what its kernel holds at once,
  which its planner declares (`OpView.cost`: float32 copies, im2col columns, padding,
  temporaries, its outputs) from what tracemalloc shows numpy allocating, then the converted
  copies of its outputs; at the end the outputs encoded and copied out. It is an upper bound
  of the traced peak and a close one (tests/test_reference_budget.py: at most 1.5x; 1.0x to
  1.1x on the shared models, 1.0x to 1.3x on graphs of each kernel family), so the host
  check refuses only runs that would not fit. When the peak with `MARGIN` (a quarter more,
  for what tracemalloc never sees) is past what the host or its container has available, it
  refuses with `hostbuf.HostMemoryError`, the project's one host-memory check.

Ops from the first placeholder on are not counted: a run stops there (its values would not
be the model's anyway), so nothing behind it is allocated or computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import Any, Callable, Optional

from ..hostbuf import HostMemoryError, host_shortfall
from ..om.layouts import physical_shape
from .graph import ITEMSIZE

#: Element operations (multiply-adds, elements read and written) one run may take: about 250
#: ResNet-50 images (4.1e9 each). At the rates measured on this project's 2-core machines that
#: is 2 to 6 minutes of ResNet-style convs, or 20 minutes of my_122_anenet's (1.4e9 in 1.9 s).
#: Raise it to let the reference compute bigger models.
MAX_WORK = 10**12

#: What one iteration of a kernel's Python loop counts as in `MAX_WORK` (a microsecond or so).
LOOP_WORK = 1000

_F32 = 4  # kernels compute in float32
#: Float32 copies of an op's inputs and outputs held at once by a kernel whose planner declares
#: nothing (`OpView.cost(held=...)`): a safe bound for a new op family until it says what it holds.
UNDECLARED_COPIES = 4
#: Arrays of the outputs' size the placeholder function holds at once while it makes one output
#: (its byte table, the inputs' bytes concatenated, the result); see `placeholder.py`.
PLACEHOLDER_COPIES = 3
#: What the run's own Python objects hold beside numpy's arrays: a base, and per op run (its
#: entries in the run's dicts and lists, the array objects in flight, the notes): measured at
#: 130 to 450 bytes an op (a chain of 5000 ops, my_122_anenet).
PYTHON_BASE, PYTHON_PER_OP = 64 << 10, 512
_CONSTS = ("Const", "Constant")


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


def decode_cost(desc: Any) -> tuple[int, int]:
    """(peak, kept) bytes of decoding a stored tensor into its logical array (`layouts.to_logical`):
    the axes moved into one copy of the stored size, then cut to the logical array; a plain
    layout is a view."""
    if not desc.packed:
        return 0, 0
    return _stored(desc) + desc.logical_bytes, desc.logical_bytes


def _stored(desc: Any) -> int:
    return desc.count * (desc.itemsize or _F32)


def encoded_bytes(desc: Any, shape: Sequence[int]) -> int:
    """Bytes of an array of logical `shape` encoded in `desc`'s layout and dtype (what
    `layouts.to_physical` makes of it: its own shape decides, which a damaged descriptor's
    stored shape may not match)."""
    size = desc.itemsize or _F32
    if not desc.packed:
        return prod(max(int(d), 0) for d in shape) * size
    try:
        return prod(max(d, 0) for d in physical_shape(desc.layout, tuple(shape), desc.logical_format, desc.c0)) * size
    except (ValueError, TypeError, IndexError):  # the interpreter refuses it the same way: the op is a placeholder
        return _stored(desc)


def read_cost(produced: Any, wanted: Any, producer: Any = None) -> tuple[int, int]:
    """(peak, kept while the op runs) bytes of `interpreter.reinterpret`: an input whose descriptor
    describes the producer's bytes differently is the producer's value (`_value_shape`) encoded,
    then re-read."""
    if produced is None or not wanted.present or wanted is produced:
        return 0, 0
    if not produced.packed and not wanted.packed and produced.dtype == wanted.dtype and produced.count == wanted.count:
        return 0, 0  # a reshape
    if produced.packed and wanted.packed and (produced.dtype, produced.layout, produced.shape, produced.logical_shape,
                                              produced.logical_format, produced.c0) == (
            wanted.dtype, wanted.layout, wanted.shape, wanted.logical_shape, wanted.logical_format, wanted.c0):
        return 0, 0
    # layouts.to_physical: zero-padded, then moved into a contiguous copy
    shape = produced.logical_shape if producer is None else _value_shape(producer, produced)
    encoded = encoded_bytes(produced, shape) if produced.packed else 0
    peak, kept = decode_cost(wanted)
    if not wanted.packed:  # the result views the encoded bytes
        return 2 * encoded, encoded
    return max(2 * encoded, encoded + peak), kept


def _value_shape(producer: Any, desc: Any) -> tuple[int, ...]:
    """The logical shape of the value a producer's output holds in the run (a Const's is decoded
    with its own descriptor, whatever its output descriptor says)."""
    if producer.type in _CONSTS and producer.const is not None:
        return producer.const.logical_shape
    return desc.logical_shape


class _Buffers:
    """The arrays a run holds, by tensor: an op output that views an input keeps that input's
    array alive, so arrays are counted once and freed when the last tensor on them is."""

    def __init__(self) -> None:
        self.live = 0
        self._next = 0
        self._of: dict[tuple[str, int], int] = {}  # tensor -> array id
        self._size: dict[int, int] = {}
        self._users: dict[int, int] = {}

    def holds(self, ref: tuple[str, int]) -> bool:
        return ref in self._of

    def new(self, ref: tuple[str, int], size: int) -> None:
        key = self._next = self._next + 1
        self._of[ref], self._size[key], self._users[key] = key, size, 1
        self.live += size

    def share(self, ref: tuple[str, int], base: Optional[tuple[str, int]]) -> bool:
        key = self._of.get(base) if base is not None else None
        if key is None:
            return False
        self._of[ref] = key
        self._users[key] += 1
        return True

    def drop(self, ref: tuple[str, int]) -> None:
        key = self._of.pop(ref, None)
        if key is None:
            return
        self._users[key] -= 1
        if not self._users[key]:
            del self._users[key]
            self.live -= self._size.pop(key)


def _reads(node: Any, producers: dict[str, Any], buffers: _Buffers) -> tuple[int, int, int]:
    """(peak, kept) bytes of reading `node`'s inputs, in order, above what the run holds (a Const
    read for the first time is decoded into the run's arrays, `buffers`), and the values of the
    inputs the file does not describe (fewer input descriptors than inputs): the op's planner
    sized its kernel without them, which come as their producers made them."""
    peak = kept = blind = 0
    for ref, desc in zip(node.inputs, node.input_descs):
        if ref is None:
            continue
        producer = producers.get(ref[0])
        if producer is None:  # given by the caller (override=), or a damaged graph: nothing decoded
            continue
        if not desc.present:
            outs = producer.output_descs
            blind += outs[ref[1]].count if ref[1] < len(outs) else 0
        if not buffers.holds(ref):
            made, keep = decode_cost(producer.const) if producer.type in _CONSTS and producer.const else (0, 0)
            peak = max(peak, kept + made)
            buffers.new(ref, keep)
        outs = producer.output_descs  # the value's descriptor in the run: the output's, or a Const's own
        produced = outs[ref[1]] if ref[1] < len(outs) else None if outs else producer.const
        if produced is not desc and produced is not None:
            made, keep = read_cost(produced, desc, producer)
            peak, kept = max(peak, kept + made), kept + keep
    return peak, kept, blind


def _kernel(node: Any, step: Any) -> tuple[int, list[bool]]:
    """Bytes `node`'s kernel and the store of its outputs hold at once, and which outputs are
    stored as a new array (converted to the descriptor's dtype) rather than as the kernel made them."""
    made_as = step.makes or next((d.dtype for d in node.input_descs if d.present), None)
    made_size = ITEMSIZE.get(made_as or "", 0) or _F32
    made = stored = 0
    converted = []
    for desc in node.output_descs:
        count = desc.logical_bytes // (desc.itemsize or _F32)
        new = bool(desc.dtype) and desc.dtype != made_as
        converted.append(new)
        made += count * made_size
        stored += desc.logical_bytes if new else 0
    held = step.held
    if held is None:  # undeclared: float32 copies of everything it touches
        held = UNDECLARED_COPIES * _F32 * (sum(d.count for d in node.input_descs) +
                                           sum(d.count for d in node.output_descs))
    return max(held, made + stored), converted


def plan(order: Sequence[Any], step_of: Callable[[Any], Any], is_source: Callable[[Any], bool],
         placeholder: str, given: Optional[dict[str, str]] = None) -> Plan:
    """Work and peak memory of running `order` (see the module docstring); `step_of(node)` is the
    node's planned `Step` (kernel, status, macs and what the kernel holds); `given`: the dtype of
    the array the caller hands each Data op (by name), which the op converts to its own."""
    refs: dict[tuple[str, int], int] = {}
    producers: dict[str, Any] = {}
    for node in order:
        producers[node.name] = node
        for ref in node.inputs:
            if ref is not None:
                refs[ref] = refs.get(ref, 0) + 1
    buffers = _Buffers()
    peak, work, heaviest, heavy, peak_at = 0, 0, None, 0, None
    stopped = False
    for node in order:  # plain loops: this runs once per op of a model at its first run
        if node.type == "NetOutput":
            break
        if is_source(node):  # a Data op's array is the caller's; a Const is decoded when first read
            desc = (node.output_descs or node.input_descs or [None])[0]
            if given and node.name in given and desc is not None and desc.dtype and desc.dtype != given[node.name]:
                buffers.new((node.name, 0), desc.logical_bytes)  # converted to the op's dtype
                if buffers.live > peak:
                    peak, peak_at = buffers.live, node
            continue
        step = step_of(node)
        if step.status == placeholder:  # the run reads its inputs, stops here and drops what it made
            read_peak = _reads(node, producers, buffers)[0]  # (it adds the Consts it decodes to buffers)
            here = buffers.live + read_peak
            if here > peak:
                peak, peak_at = here, node
            stopped = True
            break
        read = written = 0
        for desc in node.input_descs:
            read += desc.count
        for desc in node.output_descs:
            written += desc.count
        op_work = step.macs if step.macs > read + written else read + written
        work += op_work
        if op_work > heavy:
            heaviest, heavy = node, op_work
        read_peak, kept, blind = _reads(node, producers, buffers)
        held, converted = _kernel(node, step)
        held += UNDECLARED_COPIES * _F32 * blind  # float32 copies of what its planner never saw
        here = buffers.live + max(read_peak, kept + held)
        if here > peak:
            peak, peak_at = here, node
        views = step.views
        for k, desc in enumerate(node.output_descs):
            ref = (node.name, k)
            base = node.inputs[views[k]] if k < len(views) and views[k] is not None and not converted[k] else None
            if not buffers.share(ref, base):
                buffers.new(ref, desc.logical_bytes)
        for ref in node.inputs:
            if ref is not None:
                left = refs[ref] = refs[ref] - 1
                if not left:
                    buffers.drop(ref)
    final = next((n for n in reversed(order) if n.type == "NetOutput"), None)
    if final is not None:
        here = _handed_over(final, producers, buffers, stopped)
        if here > peak:
            peak, peak_at = here, final
    peak += PYTHON_BASE + PYTHON_PER_OP * len(order)
    return Plan(work, heaviest, heavy, peak, peak_at)


def _handed_over(final: Any, producers: dict[str, Any], buffers: _Buffers, stopped: bool) -> int:
    """Bytes held while the outputs are made: the placeholder function's (a run that stopped, or
    an op that fails at run time, after which the run holds nothing else), or, for a run that
    computed them, each read as the NetOutput's descriptor says, encoded in its layout and copied
    out beside the run's arrays."""
    made = here = 0
    for desc in final.input_descs:
        size = desc.count * (desc.itemsize or _F32)
        here, made = max(here, made + PLACEHOLDER_COPIES * size), made + size
    if stopped:
        return here
    read_peak, kept, _ = _reads(final, producers, buffers)
    made = handed = 0
    for desc in final.input_descs:
        size = encoded_bytes(desc, desc.logical_shape)
        handed, made = max(handed, made + (2 * size if desc.packed else size)), made + size
    return max(here, buffers.live + max(read_peak, kept + handed))


#: What a run asks the host for, as a share of its planned peak. The plan bounds what numpy
#: reports to tracemalloc, closely (1.0x to 1.3x); the process also pays what that never sees:
#: the allocator's fragmentation, page-table and arena overhead, and any kernel a plan misjudges
#: (a review found three below their real peak). A run that would take the last fifth of the
#: memory left is refused rather than risk the kernel being killed.
MARGIN = 1.25


def asked(p: Plan) -> int:
    """The host memory a run of plan `p` is checked against: its peak with `MARGIN`."""
    return int(p.peak * MARGIN) + 1


def check(p: Plan) -> None:
    """Refuse a run whose work is past `MAX_WORK` or whose memory (with `MARGIN`) the host cannot give."""
    if p.work > MAX_WORK:
        op = p.heaviest
        raise ReferenceLimitError(
            f"the CPU reference would take about {p.work:.2g} operations for this run ({op.type} '{op.name}' alone "
            f"{p.heaviest_work:.2g}), past its bound of {MAX_WORK:.0e} (minutes to tens of minutes of CPU); run "
            "the model on a device, give that op's output with override=, or raise "
            "acl_notebook.cpu_reference.budget.MAX_WORK")
    available = host_shortfall(asked(p)) if p.peak else None
    if available is not None:
        op = p.peak_at
        margin = f"{MARGIN - 1:.0%}"
        what = f"the CPU reference's working memory for this run with a {margin} margin (at {op.type} '{op.name}')"
        raise HostMemoryError(what, asked(p), available,
                              "run the model on a device, give that op's output with override=, or free host memory")
