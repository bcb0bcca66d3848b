"""Run an offline model's graph on the CPU with numpy, honestly labelled.

Execution follows om-execution.md: one pass in stored order; every edge carries the
producer's logical array plus its output descriptor, and a consumer whose input descriptor
describes the bytes differently (an erased Reshape, a layout change) gets exactly what the
device would read: the producer's bytes re-read with the consumer's descriptor. Kernels
compute in float32; each output is stored in its descriptor's dtype (fp16 rounding where
the device stores fp16). An array is dropped as soon as its last consumer has run.

Only ops that feed the outputs run (and none behind an ``override``). Each op's planner says
whether it is computed from the file, approximate (something guessed, with a note), or a
placeholder (with the reason); the result's fidelity is the worst of those, so a value that
is not the model's is never labelled "computed". Kernel failures at run time also become
placeholders with a note, never an exception out of `run`. The first placeholder ends the
run: every output is then the placeholder function of the inputs, so nothing after it is
allocated or computed. Before anything runs, `budget` refuses a run whose declared work or
memory is past what the host can do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import Any, Optional

import numpy as np

from ..hostbuf import HostMemoryError, check_host_memory
from ..om import layouts
from ..om.errors import OMFormatError
from ..om.reader import parse
from ..runner.errors import refuse_masked
from . import budget
from .branches import gear_case, pick_branch
from .graph import Desc, Graph, Node, load_graph
from .inputs import user_inputs
from .placeholder import NOTE as PLACEHOLDER_NOTE
from .placeholder import placeholder_output
from .registry import OpView, Unsupported, planner_for
from .result import APPROXIMATE, COMPUTED, FIDELITIES, PLACEHOLDER, Coverage, Result

_KINDS = {"f": "f", "i": "iu", "u": "iu", "b": "b"}  # override dtypes accepted for each tensor kind
_SOURCES = frozenset({"Data", "AippData", "AnnData", "Const", "Constant", "NetOutput"})


class OverrideError(ValueError):
    """An ``override`` names no tensor of the model, or gives the wrong shape or dtype."""


@dataclass
class Step:
    """The plan of one op: its kernel (None for a placeholder), status and notes."""

    kernel: Any
    status: str
    notes: list[str]
    label: str  # "Type" or "FrameworkOp RandomStandardNormal", for the coverage line
    macs: int = 0  # what the planner declared with `OpView.cost` (see `budget`)
    held: Optional[int] = None
    makes: Optional[str] = "float32"
    views: tuple[Optional[int], ...] = ()


# What a planner or kernel raises on values the file got wrong (an attr of inf, an axis past
# the rank, numpy's own refusals): the op becomes a placeholder, never an exception out of run.
_OP_FAILURES = (ValueError, TypeError, IndexError, KeyError, ArithmeticError, MemoryError)


class Interpreter:
    """The model in `data` (any bytes-like object; kept alive, never copied), ready to run many times."""

    def __init__(self, data: Any, *, graph: Optional[Graph] = None, info: Any = None) -> None:
        """From the model bytes, or from an already built `graph` and its `info` (a detached
        model's, see `graph.detach_model`: no bytes needed)."""
        self._data = data
        try:
            self.info = info if info is not None else parse(data)
            self.graph: Graph = graph if graph is not None else load_graph(data)
        except OMFormatError:
            raise
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise OMFormatError(f"the model's graph could not be read ({type(exc).__name__}: {exc})") from None
        self._steps: dict[str, Step] = {}
        self._case = gear_case(self.graph)
        self._branches: dict[str, Interpreter] = {}
        self._plans: dict[frozenset, budget.Plan] = {}

    def _branch(self, name: str) -> Interpreter:
        """The interpreter of one gear's sub-graph (same bytes and model info, its own plans)."""
        hit = self._branches.get(name)
        if hit is None:
            hit = object.__new__(Interpreter)
            hit._data, hit.info, hit.graph = self._data, self.info, self.graph.subgraphs[name]
            hit._steps, hit._case, hit._branches, hit._plans = {}, None, {}, {}
            self._branches[name] = hit
        return hit

    # ------------------------------------------------------------------ planning
    def step(self, node: Node) -> Step:
        hit = self._steps.get(node.name)
        if hit is None:
            hit = self._steps[node.name] = self._plan(node)
        return hit

    def _plan(self, node: Node) -> Step:
        label = node.type
        if node.type == "FrameworkOp":
            label = f"FrameworkOp {node.attrs.get('original_type') or '(unknown)'}"
        unsized = next((d for d in node.output_descs if d.present and min(d.shape, default=0) < 0), None)
        if unsized is not None:
            return Step(None, PLACEHOLDER, [f"{node.type} '{node.name}': declares an output of shape "
                                            f"{list(unsized.shape)}, which has no size to compute; its outputs "
                                            "are not computed"], label)
        planner = planner_for(node.type)
        if planner is None:
            return Step(None, PLACEHOLDER, [f"{node.type} '{node.name}': no CPU implementation of this op type; "
                                            "not computed"], label)
        view = OpView(node, self.graph.framework)
        try:
            kernel = planner(view)
        except Unsupported as exc:
            return Step(None, PLACEHOLDER, view.notes + [f"{node.type} '{node.name}': {exc}; not computed"],
                        label)
        except _OP_FAILURES as exc:
            return Step(None, PLACEHOLDER, view.notes + [f"{node.type} '{node.name}': could not be planned "
                                                         f"({exc}); not computed"], label)
        return Step(kernel, APPROXIMATE if view.notes else COMPUTED, view.notes, label, view.macs, view.held,
                    view.makes, view.views)

    def _needed(self, overridden: set[tuple[str, int]]) -> list[Node]:
        """Nodes whose values reach the outputs, in graph order, not looking behind overrides."""
        graph = self.graph
        need = {graph.netoutput.name}
        stack = [graph.netoutput]
        while stack:
            node = stack.pop()
            for ref in node.inputs:
                if ref is None or ref in overridden or ref[0] in need:
                    continue
                producer = graph.by_name[ref[0]]
                outs = len(producer.output_descs)
                if outs and all((producer.name, k) in overridden for k in range(outs)):
                    continue
                need.add(ref[0])
                stack.append(producer)
        return [n for n in graph.nodes if n.name in need]

    def coverage(self) -> Coverage:
        """What a run would compute, guess or leave as placeholder, without running anything."""
        if self._case is not None:  # a multi-gear shell: the worst of its branches
            parts = [self._branch(name).coverage() for name in self._case.subgraphs]
            worst = max(parts, key=lambda c: FIDELITIES.index(c.fidelity))
            return Coverage(worst.fidelity, tuple(dict.fromkeys(n for c in parts for n in c.notes)), worst.ops,
                            worst.guessed, tuple(dict.fromkeys(p for c in parts for p in c.placeholders)))
        statuses, notes, blocked = [], [], []
        order = self._needed(set())
        for node in order:
            if node.type in _SOURCES:
                continue
            step = self.step(node)
            statuses.append(step.status)
            notes.extend(step.notes)
            if step.status == PLACEHOLDER:
                blocked.append(step.label)
        try:  # a run the budget refuses is not computed either: say so before anything runs
            self._check_cost(order, {})
        except (budget.ReferenceLimitError, HostMemoryError) as exc:
            statuses.append(PLACEHOLDER)
            notes.append(f"a run is refused: {exc}")
            blocked.append("past the CPU reference's bounds")
        return Coverage(
            fidelity=_worst(statuses),
            notes=tuple(notes),
            ops=len(statuses),
            guessed=sum(s == APPROXIMATE for s in statuses),
            placeholders=tuple(dict.fromkeys(blocked)),
        )

    # ------------------------------------------------------------------ running
    def run(self, inputs: Sequence[Any], override: Optional[dict[str, Any]] = None) -> Result:
        """Outputs for `inputs` (one array per model input, in order, already validated).

        Refuses, before computing anything, a run the file sizes past what the host can do
        (`budget.ReferenceLimitError`, `hostbuf.HostMemoryError`). Stops at the first op that
        cannot be computed: from there the outputs are placeholders whatever follows."""
        if self._case is not None:  # a multi-gear model: the branch for these shapes computes it
            _, branch = pick_branch(self.graph, self._case, inputs)
            return self._branch(branch.name).run(inputs, override)
        graph = self.graph
        given = self._overrides(override or {})
        order = self._needed(set(given))
        self._check_cost(order, given)
        refs: dict[tuple[str, int], int] = {}
        for node in order:
            for ref in node.inputs:
                if ref is not None:
                    refs[ref] = refs.get(ref, 0) + 1
        env: dict[tuple[str, int], tuple[Any, Desc]] = {}
        for key, (value, desc) in given.items():
            env[key] = (value, desc)
        statuses: list[str] = []
        notes: list[str] = [f"'{k[0]}:{k[1]}' was given by the caller (override=)" for k in given]
        data_nodes = {n.name: i for i, n in enumerate(graph.inputs)}
        outputs: list[np.ndarray] = []
        stopped: Optional[int] = None
        with np.errstate(all="ignore"):
            for at, node in enumerate(order):
                if node.type in ("Data", "AippData", "AnnData"):
                    env[(node.name, 0)] = self._data_value(node, inputs[data_nodes[node.name]])
                    continue
                if node.type in ("Const", "Constant"):
                    env[(node.name, 0)] = (None, node.output_descs[0] if node.output_descs else node.const)
                    continue
                try:
                    xs = [self._read(env, ref, desc) if ref is not None else None
                          for ref, desc in zip(node.inputs, node.input_descs)]
                except (Unsupported, *_OP_FAILURES) as exc:
                    if node.type == "NetOutput":
                        raise OMFormatError(f"the model's outputs cannot be read: {exc}") from None
                    statuses.append(PLACEHOLDER)
                    notes.append(f"{node.type} '{node.name}': its inputs cannot be read ({exc}); not computed")
                    stopped = at
                    break
                if node.type == "NetOutput":
                    outputs = [self._final(x, d, t.dims) for x, d, t in zip(xs, node.input_descs, self.info.outputs)]
                    break
                status, produced, extra = self._execute(node, xs)
                statuses.append(status)
                notes.extend(extra)
                del xs
                if status == PLACEHOLDER:
                    stopped = at
                    break
                for k, value in enumerate(produced):
                    if (node.name, k) not in given:
                        env[(node.name, k)] = (value, node.output_descs[k])
                del produced
                for ref in node.inputs:  # free what no later op reads
                    if ref is not None:
                        refs[ref] -= 1
                        if refs[ref] == 0:
                            env.pop(ref, None)
        names = tuple(t.name for t in self.info.outputs)
        if stopped is not None:  # not the model's values: make that impossible to miss
            env.clear()
            for node in order[stopped + 1:]:  # what the ops not run would have said (as coverage does)
                if node.type not in _SOURCES:
                    notes.extend(self.step(node).notes)
            notes.append(PLACEHOLDER_NOTE)
            return Result(self._placeholders(inputs), names, PLACEHOLDER, tuple(dict.fromkeys(notes)))
        return Result(tuple(outputs), names, _worst(statuses), tuple(notes))

    def _check_cost(self, order: list[Node], given: dict) -> None:
        """`budget.check` of this run; the plan is kept per set of overridden tensors."""
        key = frozenset(given)
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) >= 64:  # many different override sets: keep the cache bounded
                self._plans.clear()
            found = self._plans[key] = budget.plan(order, self.step, lambda n: n.type in _SOURCES, PLACEHOLDER,
                                                   self._given_dtypes())
        budget.check(found)

    def _given_dtypes(self) -> dict[str, str]:
        """Data op -> the dtype of the array `run` hands it (the model input's, as `normalize`
        casts it), for the budget: an op whose own dtype differs holds a converted copy."""
        wanted = user_inputs(self.info.inputs)
        return {node.name: wanted[i].numpy_dtype.name for i, node in enumerate(self.graph.inputs)
                if i < len(wanted) and wanted[i].numpy_dtype is not None}

    def _placeholders(self, inputs: Sequence[Any]) -> tuple[np.ndarray, ...]:
        """The placeholder values in the shapes and dtypes the model's outputs are handed over in
        (`_final`), made without running anything."""
        shaped = []
        for desc, t in zip(self.graph.netoutput.input_descs, self.info.outputs):
            dims = tuple(t.dims)
            shape = dims if dims and all(d >= 0 for d in dims) and prod(dims) == prod(desc.shape) else desc.shape
            shape, dtype = tuple(max(d, 0) for d in shape), np.dtype(desc.dtype or np.float32)
            if prod(d for d in shape if d) * dtype.itemsize >= 2**63:  # numpy refuses it, even holding 0 values
                raise OMFormatError(f"the model's output {t.name!r} is declared {list(shape)}, which no array "
                                    "can have; the ModelDef is damaged")
            shaped.append((shape, dtype))
        check_host_memory("the CPU reference's placeholder outputs",
                          budget.PLACEHOLDER_COPIES * sum(prod(s) * d.itemsize for s, d in shaped))
        raw = [np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in inputs]
        return tuple(placeholder_output(raw, j, prod(s) * d.itemsize).view(d).reshape(s)
                     for j, (s, d) in enumerate(shaped))

    def _execute(self, node: Node, xs: list) -> tuple[str, list, list[str]]:
        """(status, logical outputs, notes) of one op; a placeholder produces no arrays."""
        step = self.step(node)
        if step.kernel is None:
            return PLACEHOLDER, [], list(step.notes)
        try:
            ys = step.kernel(xs)
            ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
            return step.status, [_store(y, d) for y, d in zip(ys, node.output_descs)], list(step.notes)
        except _OP_FAILURES as exc:
            failure = f"{node.type} '{node.name}': failed on the CPU ({type(exc).__name__}: {exc}); not computed"
            return PLACEHOLDER, [], list(step.notes) + [failure]

    def _data_value(self, node: Node, array: Any) -> tuple[Any, Desc]:
        desc = node.output_descs[0] if node.output_descs else node.input_descs[0]
        x = np.asarray(array)
        if desc.dtype:
            x = x.astype(desc.dtype, copy=False)
        shape = desc.logical_shape if desc.packed else desc.shape
        try:
            return x.reshape(shape), desc
        except ValueError:  # the op's descriptor disagrees with the model's input: damage
            raise OMFormatError(f"the Data op '{node.name}' describes its input as {list(shape)}, which the "
                                f"model's input of {x.size} values cannot fill; the ModelDef is damaged") from None

    def _const_value(self, node: Node) -> Any:
        desc = node.const
        if desc is None or desc.dtype is None:
            raise Unsupported(f"Const '{node.name}' has a dtype numpy cannot hold")
        if node.const_data:
            raw = np.frombuffer(node.const_data, dtype=desc.dtype, count=desc.count)
        else:
            raw = np.frombuffer(self.graph.weights, dtype=desc.dtype, count=desc.count, offset=desc.data_offset)
        return _decode(raw, desc)

    def _read(self, env: dict, ref: tuple[str, int], desc: Desc) -> Any:
        found = env.get(ref)
        if found is None:  # a damaged graph: an op reads an output its producer does not have
            raise ValueError(f"it reads output {ref[1]} of '{ref[0]}', which has no output {ref[1]}")
        value, pdesc = found
        if value is None:  # a Const, decoded when first read
            value = self._const_value(self.graph.by_name[ref[0]])
            env[ref] = (value, pdesc)
        if not desc.present or desc is pdesc:
            return value
        return reinterpret(value, pdesc, desc)

    def _final(self, value: Any, desc: Desc, dims: tuple[int, ...]) -> np.ndarray:
        """A model output as ACL hands it over: the physical bytes in the reported dims."""
        physical = _encode(value, desc)
        shape = tuple(d for d in dims) if dims and all(d >= 0 for d in dims) else desc.shape
        out = np.ascontiguousarray(physical).reshape(shape) if physical.size == prod(shape) else physical
        return out if out.flags.writeable and out.base is None else out.copy()

    def check_override(self, override: dict[str, Any]) -> None:
        """Raise `OverrideError` for an override this model cannot take (before anything runs)."""
        target = self._branch(self._case.subgraphs[0]) if self._case is not None else self
        target._overrides(override)

    def _overrides(self, override: dict[str, Any]) -> dict[tuple[str, int], tuple[Any, Desc]]:
        out: dict[tuple[str, int], tuple[Any, Desc]] = {}
        for key, value in override.items():
            if not isinstance(key, str):
                raise OverrideError(f"override keys are tensor names like 'op_name:0', not {type(key).__name__}")
            name, index = _split(key)
            node = self.graph.by_name.get(name)
            if node is None or node.type == "NetOutput":
                import difflib

                near = difflib.get_close_matches(name, list(self.graph.by_name), n=3)
                hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
                raise OverrideError(f"override {key!r}: the model has no op named {name!r}{hint}")
            if index >= len(node.output_descs):
                raise OverrideError(f"override {key!r}: op {name!r} has {len(node.output_descs)} output(s)")
            desc = node.output_descs[index]
            refuse_masked(value, f"override {key!r}")
            array = np.asarray(value)
            want = desc.logical_shape
            if desc.dtype and array.dtype.kind not in _KINDS.get(np.dtype(desc.dtype).kind, ""):
                raise OverrideError(f"override {key!r}: expected {desc.dtype} values, got {array.dtype}")
            if tuple(array.shape) == tuple(want):
                logical = array
            elif desc.packed and tuple(array.shape) == desc.shape:
                logical = _decode(array, desc)
            else:
                raise OverrideError(f"override {key!r}: expected shape {list(want)}, got {list(array.shape)}")
            out[(name, index)] = (np.asarray(logical, dtype=desc.dtype or logical.dtype), desc)
        return out


def _split(key: str) -> tuple[str, int]:
    name, sep, idx = key.rpartition(":")
    if sep and idx.isdigit():
        return name, int(idx)
    return key, 0


def _worst(statuses: list[str]) -> str:
    if PLACEHOLDER in statuses:
        return PLACEHOLDER
    return APPROXIMATE if APPROXIMATE in statuses else COMPUTED


def _store(y: Any, desc: Desc) -> np.ndarray:
    """A kernel's output in its descriptor's logical shape and dtype (fp16 rounding happens here)."""
    arr = np.asarray(y)
    want = desc.logical_shape
    if arr.shape != tuple(want):
        if arr.size != prod(want):
            raise ValueError(f"the kernel made {list(arr.shape)}, the file declares {list(want)}")
        arr = arr.reshape(want)
    return arr.astype(desc.dtype, copy=False) if desc.dtype else arr


def _decode(raw: np.ndarray, desc: Desc) -> np.ndarray:
    raw = raw.reshape(desc.shape)
    if desc.packed:
        return layouts.to_logical(raw, desc.layout, desc.logical_shape, desc.logical_format, desc.c0)
    return raw


def _encode(value: Any, desc: Desc) -> np.ndarray:
    x = np.asarray(value)
    if desc.dtype:
        x = x.astype(desc.dtype, copy=False)
    if desc.packed:
        return layouts.to_physical(x, desc.layout, desc.logical_format, desc.c0)
    return x


def reinterpret(value: Any, produced: Desc, wanted: Desc) -> Any:
    """What a consumer with descriptor `wanted` reads from bytes written as `produced`."""
    plain = not produced.packed and not wanted.packed
    if plain and produced.dtype == wanted.dtype and np.asarray(value).size == wanted.count:
        return np.asarray(value).reshape(wanted.shape)
    if produced.packed and wanted.packed and (produced.dtype, produced.layout, produced.shape, produced.logical_shape,
                                              produced.logical_format, produced.c0) == (
            wanted.dtype, wanted.layout, wanted.shape, wanted.logical_shape, wanted.logical_format, wanted.c0):
        return value
    raw = np.ascontiguousarray(_encode(value, produced)).reshape(-1).view(np.uint8)
    if wanted.dtype is None or raw.size < wanted.nbytes:
        raise ValueError(f"an input described as {wanted.text()} reads {raw.size} bytes written as {produced.text()}")
    return _decode(raw[: wanted.nbytes].view(wanted.dtype), wanted)
