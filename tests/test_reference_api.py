"""acl.reference / acl.coverage / acl.compare, Model.run on the simulator computing real outputs,
override= on both backends, and what %acl_desc, %acl_compare and the panel say."""

from __future__ import annotations

import hostile
import numpy as np
import pytest
from graph_builder import Graph, conv_model
from magics_helpers import fails_with_one_line
from shared_models import model_path

import acl_notebook as acl
from acl_notebook.comparison import compare_arrays
from acl_notebook.display import render_html, render_text
from acl_notebook.om.opgraph import Tensor
from acl_notebook.runner.errors import InputTypeError


def random_op_model() -> bytes:
    """A TensorFlow-style model whose noise comes from a FrameworkOp on the AI CPU."""
    g = Graph(framework="TensorFlow")
    g.input("x", (1, 4), dtype="float32", fmt="ND")
    g.op("noise", "FrameworkOp", ["x"], Tensor((1, 4), "float32", "ND"), original_type="RandomStandardNormal")
    g.op("y", "Add", ["x", "noise"], Tensor((1, 4), "float32", "ND"))
    return g.build("y")


@pytest.mark.parametrize("kind", ["path", "bytes", "bytearray"])
def test_the_simulator_runs_what_the_reference_computes(default_session, tmp_path, kind):
    blob, x, want = conv_model()
    path = tmp_path / "conv.om"
    path.write_bytes(blob)
    source = {"path": str(path), "bytes": blob, "bytearray": bytearray(blob)}[kind]
    m = default_session.load(source)
    if kind == "bytearray":
        source[:] = bytes(len(source))  # ACL lets the caller reuse its buffer after the load
    out = m.run(x)
    ref = acl.reference(blob, x)
    assert out.fidelity == ref.fidelity == "computed" and out.notes == ref.notes == ()
    assert out.simulated is False and ref.simulated is False
    assert out[0].dtype == np.float32 and np.array_equal(out[0], ref[0])
    np.testing.assert_allclose(out[0], want.astype(np.float16).astype(np.float32), rtol=2e-3, atol=2e-3)
    assert np.array_equal(acl.reference(m, x)[0], out[0])  # a loaded model is its own source


def test_the_simulator_runs_a_real_model_as_the_reference_does(default_session):
    m = default_session.load(str(model_path("a3c_pong_model_v2")))
    x = np.random.default_rng(4).random((1, 42, 42, 1)).astype(np.float32)
    out, ref = m.run(x), acl.reference(str(model_path("a3c_pong_model_v2")), x)
    assert np.array_equal(out[0], ref[0]) and out[0].dtype == np.int32
    assert out.fidelity == ref.fidelity == "approximate" and out.notes == ref.notes and len(out.notes) == 3
    assert out.simulated is True
    assert "approximate" in render_text(out) and "see .notes" in render_html(out)


def test_override_on_the_simulator_and_refused_on_acl(rig):
    s = rig.session()
    m = s.load(random_op_model())
    x = np.ones((1, 4), np.float32)
    noise = np.float32([[0.5, -1.0, 2.0, 0.0]])
    if rig.kind == "acl":
        before = rig.calls(s, "aclmdlExecute")
        with pytest.raises(InputTypeError, match="override=.*acl.reference"):
            m.run(x, override={"noise": noise})
        assert rig.calls(s, "aclmdlExecute") == before
        return
    plain = m.run(x)
    assert plain.fidelity == "placeholder" and plain.simulated
    assert any("RandomStandardNormal" in n for n in plain.notes)
    given = m.run(x, override={"noise": noise})
    assert given.fidelity == "computed" and not given.simulated
    assert np.array_equal(given[0], x + noise)
    ref = acl.reference(m, x, override={"noise:0": noise})
    assert np.array_equal(ref[0], given[0]) and ref.notes == given.notes
    before = rig.calls(s, "aclmdlExecute")
    with pytest.raises(acl.OverrideError, match="no op named 'nois'"):
        m.run(x, override={"nois": noise})
    with pytest.raises(acl.OverrideError, match="expected shape"):
        m.run(x, override={"noise": noise[0]})
    assert rig.calls(s, "aclmdlExecute") == before, "a bad override is refused before executing"
    assert m.run(x).fidelity == "placeholder", "an override lasts one run"


def test_reference_sources_and_their_refusals(rig, tmp_path):
    blob, x, _ = conv_model()
    path = tmp_path / "conv.om"
    path.write_bytes(blob)
    s = rig.session()
    from_path = s.load(str(path))
    assert np.array_equal(acl.reference(from_path, x)[0], acl.reference(str(path), x)[0])
    from_bytes = s.load(blob, name="from_bytes")
    if rig.kind == "acl":  # ACL keeps no copy we could read back
        with pytest.raises(ValueError, match="pass its path or bytes"):
            acl.reference(from_bytes, x)
    else:
        assert acl.reference(from_bytes, x).fidelity == "computed"
    with pytest.raises(ValueError, match="expects shape"):
        acl.reference(blob, x[:, :2])
    with pytest.raises(acl.OMFormatError):
        acl.reference(b"IMOD" + bytes(300), x)


def test_coverage_says_what_the_reference_can_do_without_running():
    assert acl.coverage(conv_model()[0]).summary == "computed"
    assert acl.coverage(str(model_path("a3c_pong_model_v2"))).summary == "approximate: 3 ops guessed"
    assert acl.coverage(str(model_path("my_122_anenet"))).summary == "approximate: 48 ops guessed"
    assert acl.coverage(random_op_model()).summary == "placeholder: FrameworkOp RandomStandardNormal"


def test_a_graph_the_reference_cannot_read_is_covered_as_what_the_simulator_runs(default_session):
    """A descriptor-only model (the writer's demo models: I/O and memory, no compute graph)
    loads and runs on the simulator with placeholder values; coverage says the same thing for
    the file and for the model loaded from bytes, instead of "unavailable"."""
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

    blob = write_om(ModelSpec(name="descr", inputs=[TensorSpec("x", (1, 3, 8, 8), "float32")],
                              outputs=[TensorSpec("y", (1, 10), "float32")], op_count=40, weight_size=4096))
    m = default_session.load(blob)
    out = m.run(np.zeros((1, 3, 8, 8), np.float32))
    assert out.fidelity == "placeholder" and out.simulated
    for source in (blob, m):
        cov = acl.coverage(source)
        assert cov.fidelity == "placeholder" and cov.summary == "placeholder: graph not readable"
        assert len(cov.notes) == 1 and "cannot read this model's graph" in cov.notes[0]
    assert acl.coverage(m).notes == out.notes  # the reason the run gives
    with pytest.raises(ValueError, match="cannot read this model's graph"):
        acl.reference(m, np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(acl.OMFormatError):  # not an OM at all is still the reader's refusal
        acl.coverage(b"IMOD" + bytes(300))


def test_compare_arrays_figures():
    ref = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    dev = ref.copy()
    dev[0, 0], dev[1, 0] = 1.5, 9.0  # row 1's class changes: half the rows agree
    r = compare_arrays("y", dev, ref)
    assert r.max_abs == pytest.approx(5.0) and r.max_rel == pytest.approx(1.25)
    assert r.mean_abs == pytest.approx(5.5 / 6)
    assert r.argmax_agreement == pytest.approx(0.5)
    assert r.cosine == pytest.approx(float(dev.ravel() @ ref.ravel() / np.linalg.norm(dev) / np.linalg.norm(ref)))
    dev[1, 2], ref[0, 1] = np.nan, np.inf
    r = compare_arrays("y", dev, ref)
    assert (r.nan_device, r.inf_device, r.nan_reference, r.inf_reference) == (1, 0, 0, 1)
    assert r.max_abs == pytest.approx(5.0)  # NaN / Inf pairs are counted, not averaged
    assert compare_arrays("y", -ref[1:], ref[1:]).cosine == pytest.approx(-1.0)


def test_compare_on_the_simulator_is_exact_and_renders(rig, tmp_path):
    s = rig.session()
    blob, x, _ = conv_model()
    path = tmp_path / "conv.om"
    path.write_bytes(blob)
    m = s.load(str(path))
    c = acl.compare(m, x)
    (row,) = c.outputs
    if rig.kind == "sim":
        assert (row.max_abs, row.mean_abs, row.cosine, row.argmax_agreement) == (0.0, 0.0, 1.0, 1.0)
        assert "zero by construction" in render_text(c)
    assert c.fidelity == "computed" and row.shape == (1, 6, 8, 8)
    html = render_html(c)
    assert "cosine" in html and "argmax" in html and "CPU reference" in html
    assert acl.compare(m).outputs[0].shape == (1, 6, 8, 8)  # random inputs
    from_bytes = s.load(blob, name="from_bytes")
    assert acl.compare(from_bytes, x, source=blob).fidelity == "computed"


def test_magics_compare_and_desc_coverage(ip, capsys, tmp_path):
    path = str(model_path("a3c_pong_model_v2"))
    desc = ip.run_line_magic("acl_desc", path)
    assert desc.coverage == "approximate: 3 ops guessed"
    assert "CPU reference: approximate: 3 ops guessed" in render_text(desc)
    assert "CPU reference" in render_html(desc)
    m = ip.run_line_magic("acl_load", path)
    assert ip.run_line_magic("acl_desc", m.name).coverage == "approximate: 3 ops guessed"
    ip.user_ns["arr"] = np.zeros((1, 42, 42, 1), np.float32)
    c = ip.run_line_magic("acl_compare", f"{m.name} -i arr")
    assert c.fidelity == "approximate" and c.outputs[0].argmax_agreement == 1.0
    assert ip.run_line_magic("acl_compare", f"{m.name} --random").outputs[0].shape == (1,)
    line = fails_with_one_line(ip, capsys, f"%acl_compare {m.name}")
    assert "-i VAR" in line and "--random" in line


def test_the_panel_tab_says_what_the_reference_can_do(ip):
    from acl_notebook.widgets.panel import Panel

    panel = Panel(autostart=False)
    try:
        acl.load(str(model_path("a3c_pong_model_v2")))
        view = next(iter(panel._views.values()))
        assert "CPU reference" in view.coverage.value and "approximate: 3 ops guessed" in view.coverage.value
    finally:
        panel.close()


def test_an_op_reading_an_output_its_producer_lacks_is_placeholder_not_a_crash():
    """A damaged graph (found by a fuzz run on a3c: a flipped bit in an input's "name:index")
    where an op reads output 3 of a one-output Const: that op and what it feeds become
    placeholder with a note naming the reference, never a KeyError out of `reference`."""
    import acl_notebook as acl

    g = Graph()
    g.input("x", (1, 4), dtype="float32", fmt="ND")
    g.const("konst", np.ones((1, 4), np.float32))
    g.op("y", "Add", ["x", "konst"], Tensor((1, 4), "float32", "ND"))
    good = g.build("y")

    def read_output_3(model) -> None:
        add = next(op for op in model.graph[0].op if op.name == b"y")
        assert add.input[1] == b"konst"
        add.input[1] = b"konst:3"

    data = hostile.with_modeldef(good, read_output_3)  # the writer refuses to write the damage itself
    assert acl.reference(good, np.zeros((1, 4), np.float32)).fidelity == "computed"
    out = acl.reference(data, np.zeros((1, 4), np.float32))
    assert out.fidelity == "placeholder"
    assert any("reads output 3 of 'konst', which has no output 3" in n for n in out.notes), out.notes


def test_a_data_op_that_disagrees_with_the_input_is_refused_by_reference_and_placeholder_on_the_simulator(
        default_session):
    """A damaged Data op descriptor (found by a fuzz run: a dim of a3c's input flipped to 0)
    left numpy's "cannot reshape" as the whole answer of a simulator run. The device would run
    such a model, so the simulator now does, with placeholder values and a note saying why;
    `reference` refuses it with OMFormatError naming the op."""
    g = Graph()
    g.input("x", (1, 4), dtype="float32", fmt="ND")
    g.const("k", np.ones((1, 4), np.float32))
    g.op("y", "Add", ["x", "k"], Tensor((1, 4), "float32", "ND"))

    def widen_data_op(model) -> None:
        data_op = next(op for op in model.graph[0].op if op.type == b"Data")
        for desc in (*data_op.input_desc, *data_op.output_desc):
            desc.shape.dim[:] = [1, 5]

    data = hostile.with_modeldef(g.build("y"), widen_data_op)
    x = np.zeros((1, 4), np.float32)
    with pytest.raises(acl.OMFormatError, match=r"Data op 'x' describes its input as \[1, 5\]"):
        acl.reference(data, x)
    out = default_session.load(data)(x)
    assert out.fidelity == "placeholder" and out[0].shape == (1, 4)
    assert any("cannot run this model's graph" in n and "Data op 'x'" in n for n in out.notes), out.notes


def test_compare_arrays_counts_signalling_nans_without_a_warning():
    """Placeholder outputs are bytes of the inputs, so a float32 output can hold signalling
    NaNs, whose widening raises the FPU's invalid flag: numpy warned "invalid value
    encountered in cast" under every compare of such a model. They are counted as NaN."""
    import warnings

    dev = np.array([0x7F800001, 0x3F800000, 0xFFA00000, 0x40000000], np.uint32).view(np.float32)
    ref = np.array([1.0, 1.0, 2.0, 2.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = compare_arrays("y", dev, ref)
    assert r.nan_device == 2 and r.max_abs == pytest.approx(0.0)
