"""Hostile graphs RUN (issue 13, the compute side): `acl.reference`, a simulator run,
`acl.compare` and a pyACL execute of files whose descriptors and attrs ask for terabytes or
hours, whose attrs are inf or NaN, whose dims are negative, whose Consts lie about their size.

Each case is a writer model (`hostile.GRAPH_CASES`) run in a child process under an address
space limit, so a missing check shows as numpy's bare MemoryError (or the run's time) instead
of paging this machine out. The contract: `reference` refuses with one documented error and a
one-line message naming the op, or returns placeholder values with a note saying why; the
simulator (a device would run the model) always returns placeholder values with that note;
nothing is left loaded; every run is over in well under a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from graph_builder import Graph
from hostile import GRAPH_CASES, conv_hours
from magics_helpers import fails_with_one_line

import acl_notebook as acl
from acl_notebook.cpu_reference import budget
from acl_notebook.om.opgraph import Tensor
from acl_notebook.session import Config, Session

LIMIT_MIB = 1024  # address space the child may add once its models are built
SECONDS = 2.0

# case -> (what `reference` does: "placeholder" or the error's type name, text its note / message holds)
EXPECT = {
    "tile_16g": ("placeholder", "Tile 'big': no CPU implementation"),
    "fill_4t": ("placeholder", "Fill 'big': no CPU implementation"),
    "broadcast_to_int64_overflow": ("placeholder", "BroadcastTo 'big': no CPU implementation"),
    "relu_64g": ("HostMemoryError", "working memory for this run with a 25% margin (at ReduceSumD 'sum') is 80.0 GiB "
                 "but the host has only"),
    "pad_attr_3g": ("placeholder", "make [1, 805306376], the file declares [1, 8]"),
    "broadcast_outer": ("placeholder", "broadcast to [65536, 65536], more than the 1 values"),
    "resize_64g": ("HostMemoryError", "(at ResizeBilinearV2D 'resize')"),
    "conv_pads_huge": ("HostMemoryError", "(at Conv2D 'conv')"),
    "pool_pads_huge": ("HostMemoryError", "(at MaxPoolV3 'pool')"),
    "conv_hours": ("ReferenceLimitError", "about 4.4e+12 operations for this run (Conv2D 'conv' alone 4.4e+12)"),
    "concat_dim_inf": ("placeholder", "ConcatD 'cat': could not be planned (cannot convert float infinity"),
    "reduce_axes_nan": ("placeholder", "ReduceSumD 'sum': failed on the CPU"),
    "negative_dim": ("placeholder", "Relu 'neg': declares an output of shape [1, -5]"),
    "const_shape_lies": ("OMFormatError", "Const op 'w' declares 4398046511104 bytes of values but the file stores 32"),
    "const_offset_past_weights": ("OMFormatError", "Const op 'w' points at WEIGHTS_DATA[1099511627776:"),
    "batch_matmul_broadcast": ("placeholder", "broadcast to [65536, 65536, 1, 1], more than the 1 values"),
    "bias_wider_than_channels": ("placeholder", "broadcast to [1, 65536, 256, 256], more than the 65536 values"),
}


def test_every_hostile_graph_has_an_expectation():
    assert sorted(EXPECT) == sorted(GRAPH_CASES)


@pytest.fixture(scope="module")
def reports() -> dict:
    child = Path(__file__).parent / "hostile_run_child.py"
    done = subprocess.run([sys.executable, str(child), str(LIMIT_MIB), *EXPECT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {r["case"]: r for r in lines}


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_reference_refuses_or_labels_placeholder(reports, case):
    want, text = EXPECT[case]
    got = reports[case]["reference"]
    assert got["seconds"] < SECONDS
    if want == "placeholder":
        assert "raised" not in got, got
        assert got["fidelity"] == "placeholder" and any(text in n for n in got["notes"]), got
    else:
        assert got.get("raised") == want, got
        assert text in got["message"] and "\n" not in got["message"], got


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_simulator_runs_it_as_placeholder_with_the_reason(reports, case):
    """A device would run the model: the simulator's values are placeholders, the note says why."""
    report = reports[case]
    got = report["run"]
    assert "raised" not in got, got
    assert got["fidelity"] == "placeholder" and got["seconds"] < SECONDS
    assert any(EXPECT[case][1] in n for n in got["notes"]), got["notes"]
    assert report["pyacl"]["value"] == 0  # aclmdlExecute succeeds through the pyACL image too
    assert report["models_left"] == 0


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_compare_refuses_as_reference_does(reports, case):
    want = EXPECT[case][0]
    got = reports[case]["compare"]
    if want == "placeholder":
        assert got["fidelity"] == "placeholder", got
    else:  # a model whose graph cannot be read at load says so as UnreadableGraph (a ValueError)
        assert got.get("raised") == ("UnreadableGraph" if want == "OMFormatError" else want), got


def test_the_limit_is_on_the_whole_run_and_names_the_heaviest_op(monkeypatch):
    g = Graph()
    g.input("x", (64, 64), "float32", "ND")
    g.op("a", "Relu", ["x"], Tensor((64, 64), "float32", "ND", "ND"))
    g.op("b", "MatMulV2", ["a", "a"], Tensor((64, 64), "float32", "ND", "ND"), transpose_x1=False,
         transpose_x2=False)
    g.op("c", "Relu", ["b"], Tensor((64, 64), "float32", "ND", "ND"))
    data = g.build("c")
    x = np.ones((64, 64), np.float32)
    assert acl.reference(data, x).fidelity == "computed"
    monkeypatch.setattr(budget, "MAX_WORK", 64**3 + 2 * 2 * 64 * 64 - 1)  # each op fits, all three do not
    with pytest.raises(acl.ReferenceLimitError, match=r"MatMulV2 'b' alone 2\.6e\+05"):
        acl.reference(data, x)


def test_an_override_of_the_heavy_op_lets_the_rest_run():
    data = conv_hours()
    x, w = np.ones((1, 64, 512, 512), np.float16), np.ones((64, 64, 64, 64), np.float16)
    with pytest.raises(acl.ReferenceLimitError):
        acl.reference(data, [x, w])
    given = np.zeros((1, 64, 512, 512), np.float16)
    given[0, 1, 2, 3], given[0, 63, 511, 511] = 2.5, 4
    out = acl.reference(data, [x, w], override={"conv:0": given})
    assert out.fidelity == "computed" and float(out[0][0]) == 6.5


def test_intermediates_past_the_host_are_refused_before_allocation(small_host):
    g = Graph()
    g.input("x", (1024, 1024), "float16", "ND")
    g.op("a", "Relu", ["x"], Tensor((1024, 1024), "float16", "ND", "ND"))
    g.op("s", "ReduceSumD", ["a"], Tensor((1,), "float32", "ND", "ND"), axes=[0, 1])
    data = g.build("s")
    x = np.ones((1024, 1024), np.float16)
    assert float(acl.reference(data, x)[0][0]) == 1024 * 1024
    small_host(6 << 20)  # Relu holds its input and its result as float32: 8 MiB at the peak
    with pytest.raises(acl.HostMemoryError, match=r"at Relu 'a'"):
        acl.reference(data, x)
    session = Session(Config(backend="sim", soc="Ascend910B1"))
    session.start()
    try:
        out = session.load(data, force=True).run(x)
        assert out.fidelity == "placeholder" and "at Relu 'a'" in out.notes[0]
    finally:
        session.shutdown()


def test_a_deep_graph_runs_without_recursion():
    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    prev = "x"
    for i in range(5000):
        prev = g.op(f"r{i}", "Neg", [prev], Tensor((1, 8), "float32", "ND", "ND"))
    x = np.arange(8, dtype=np.float32).reshape(1, 8) - 4
    out = acl.reference(g.build(prev), x)
    assert out.fidelity == "computed" and np.array_equal(out[0], x)  # 5000 negations


def test_a_graph_that_feeds_itself_is_refused():
    from hostile import with_modeldef

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("a", "Relu", ["x"], Tensor((1, 8), "float32", "ND", "ND"))
    g.op("b", "Relu", ["a"], Tensor((1, 8), "float32", "ND", "ND"))

    def loop(message):
        next(op for op in message.graph[0].op if op.name == b"a").input[0] = b"b:0"

    with pytest.raises(acl.OMFormatError, match="reads 'b', which is not an earlier op"):
        acl.reference(with_modeldef(g.build("b"), loop), np.ones((1, 8), np.float32))


def test_zero_size_tensors_compute():
    g = Graph()
    g.input("x", (2, 8), "float32", "ND")
    g.op("none", "StridedSliceD", ["x"], Tensor((0, 8), "float32", "ND", "ND"), begin=[0, 0], end=[0, 8],
         strides=[1, 1])
    g.op("cat", "ConcatD", ["x", "none"], Tensor((2, 8), "float32", "ND", "ND"), concat_dim=0)
    x = np.arange(16, dtype=np.float32).reshape(2, 8)
    out = acl.reference(g.build("cat"), x)
    assert out.fidelity == "computed" and np.array_equal(out[0], x)


def test_conv_geometry_is_solved_in_closed_form_as_the_search_finds_it():
    """`solve` / `transpose_solve` read the stride range instead of searching it (a file may
    declare a 2**40-wide axis): the same answer as the search on every small case."""
    from acl_notebook.cpu_reference.geometry import Axis, candidates, solve, transpose_solve

    def searched(size, out, k, framework):
        found = candidates(size, out, k)
        if not found:
            return None
        stride = min(s for s, _, _ in found)
        totals = sorted({b + a for s, b, a in found if s == stride})
        even = [t for t in totals if t % 2 == 0]
        total = totals[0] if framework == "TensorFlow" or not even else even[0]
        return Axis(stride, total // 2, total - total // 2), len({(s, b) for s, b, _ in found}) == 1 and k == 1

    def searched_transpose(size, out, k):
        for s in range(1, max(out, k) + 1):
            total = (size - 1) * s + k - out
            if 0 <= total <= 2 * (k - 1):
                return Axis(s, total // 2, total - total // 2), k == 1 and size == out
        return None

    def answer(fn, *args):
        try:
            return fn(*args)[:2]
        except ValueError:
            return None

    for size in range(1, 40):
        for out in range(1, 40):
            for k in range(1, 10):
                for framework in ("TensorFlow", "Onnx"):
                    assert answer(solve, size, out, k, framework) == searched(size, out, k, framework)
                assert answer(transpose_solve, size, out, k) == searched_transpose(size, out, k)
    assert solve(2**40, 2**39, 3, "Onnx")[0] == Axis(2, 1, 1)  # instantly
    with pytest.raises(ValueError):
        solve(7, 2**40, 3, "Onnx")


def test_output_dims_no_array_can_have_are_refused_by_the_reader(tmp_path):
    """Dims whose product is past what numpy can index (2**40 x 2**20 x 0 x 2 float32 holds no
    value, but numpy refuses the shape): one OMFormatError, from the reader since its axes
    without the zero hold more than any device (it used to load and fail at the first run), and
    the models already loaded stay loaded."""
    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("y", "Relu", ["x"], Tensor((2**40, 2**20, 0, 2), "float32", "ND", "ND"))
    data = g.build("y")
    session = Session(Config(backend="sim", soc="Ascend910B1"))
    session.start()
    try:
        kept = session.load(conv_hours(), force=True)
        with pytest.raises(acl.OMFormatError, match=r"tensor 'y:0' has dims \[1099511627776, 1048576, 0, 2\]"):
            session.load(data, force=True)
        assert [m.id for m in session.models()] == [kept.id]
    finally:
        session.shutdown()
    with pytest.raises(acl.OMFormatError, match="more than any device"):
        acl.reference(data, np.ones((1, 8), np.float32))


def test_an_output_of_more_axes_than_numpy_has_is_refused_by_the_run():
    """ACL takes up to 128 dims, numpy 64: such an output loads (as on a device) and its run is
    one OMFormatError that says why, not numpy's "maximum supported dimension"; the model stays."""
    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("y", "Relu", ["x"], Tensor((1,) * 70, "float32", "ND", "ND"))
    session = Session(Config(backend="sim", soc="Ascend910B1"))
    session.start()
    try:
        model = session.load(g.build("y"), force=True)
        with pytest.raises(acl.OMFormatError, match=r"output 'y:0' has 70 axes, more than the \d+ a numpy array"):
            model.run(np.ones((1, 8), np.float32))
        assert [m.id for m in session.models()] == [model.id]
    finally:
        session.shutdown()


def test_coverage_says_a_run_would_be_refused():
    data = conv_hours()
    cover = acl.coverage(data)
    assert cover.fidelity == "placeholder" and cover.summary == "placeholder: past the CPU reference's bounds"
    assert "a run is refused: the CPU reference would take about 4.4e+12 operations" in cover.notes[-1]


def test_magics_show_the_refusal_as_one_line_and_run_as_placeholder(ip, capsys, tmp_path):
    path = tmp_path / "conv_hours.om"
    path.write_bytes(conv_hours())
    assert ip.run_line_magic("acl_desc", str(path)).coverage == "placeholder: past the CPU reference's bounds"
    m = ip.run_line_magic("acl_load", str(path))
    out = ip.run_line_magic("acl_run", f"{m.name} --random")
    assert out.fidelity == "placeholder" and "past its bound of 1e+12" in out.notes[0]
    line = fails_with_one_line(ip, capsys, f"%acl_compare {m.name} --random")
    assert line.startswith("UsageError: The CPU reference would take about 4.4e+12 operations for this run "
                           "(Conv2D 'conv' alone") and "override=" in line  # no Python type name in front
    assert m.loaded and [x.id for x in acl.models()] == [m.id]


def test_an_unreadable_graph_is_one_omformaterror_from_every_source(tmp_path):
    """A descriptor-only model (its graph wires an output op to nothing) loads and runs with
    placeholder values; `acl.reference` of it refuses the same way whether given the loaded
    Model, the bytes or the path: one `acl.OMFormatError` naming the op (from a Model it is the
    subclass UnreadableGraph, which used to be a bare ValueError that `except OMFormatError` missed)."""
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

    data = write_om(ModelSpec(name="bare", inputs=[TensorSpec("x", (1, 4), "float32", "ND")],
                              outputs=[TensorSpec("y", (1, 4), "float32", "ND")]))
    path = tmp_path / "bare.om"
    path.write_bytes(data)
    session = Session(Config(backend="sim", soc="Ascend910B1"))
    session.start()
    try:
        model = session.load(data, name="bare")
        x = np.ones((1, 4), np.float32)
        assert model.run(x).fidelity == "placeholder"
        for source in (model, data, str(path)):
            with pytest.raises(acl.OMFormatError, match="'Node_Output' reads output 0 of 'y'"):
                acl.reference(source, x)
        assert session.find("bare") is model
    finally:
        session.shutdown()
