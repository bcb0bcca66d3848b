"""Static-AIPP inputs: the model takes the source image in the AIPP input format.

ATC puts an AIPP stage in front of such a network; `aclmdlGetInputDims` then reports the
image's shape (NHWC [1, 224, 224, 3] uint8), `aclmdlGetInputSizeByIndex` the AIPP format's
bytes (YUV420SP_U8: 224 * 224 * 1.5 = 75264) and `aclmdlGetInputDimsV2` dims whose product
is that size ([1, 336, 224, 1]). Writer-made models carry that in MODEL_INOUT_INFO's dimsV2
(and the Data op's ``input_dims``); these tests run them on both backends (`rig`).
"""

from __future__ import annotations

import numpy as np
import pytest
from backends import check_outputs

import acl_notebook as acl
from acl_notebook.om.reader import parse
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runner.errors import InputError
from acl_notebook.runtime.sim_outputs import PLACEHOLDER

MiB = 1 << 20
DIMS, V2, YUV_BYTES = (1, 224, 224, 3), (1, 336, 224, 1), 75264


def aipp_model(soc: str = "Ascend910B1", inout_info: bool = True, **extra) -> bytes:
    return write_om(ModelSpec(
        name="aipp_net", soc_version=soc, work_size=MiB, weight_size=MiB, inout_info=inout_info,
        inputs=[TensorSpec("image", DIMS, "uint8", "NHWC", dims_v2=V2)],
        outputs=[TensorSpec("prob", (1, 10), "float32", "ND")], **extra))


def plain_model() -> bytes:
    return write_om(ModelSpec(inputs=[TensorSpec("x", (1, 3, 8, 8))], outputs=[TensorSpec("y", (1, 4), format="ND")]))


@pytest.mark.parametrize("inout_info", [True, False], ids=["inout-info", "modeldef-only"])
def test_the_reader_gives_dims_size_and_the_aipp_view(inout_info):
    (t,) = parse(aipp_model(inout_info=inout_info)).inputs
    assert (t.dims, t.dims_v2, t.size, t.dtype, t.format) == (DIMS, V2, YUV_BYTES, "uint8", "NHWC")
    assert t.aipp_dims == V2
    assert t.to_dict()["dims_v2"] == list(V2)


def test_ordinary_models_have_no_aipp_view_and_write_the_same_bytes():
    plain = ModelSpec(inputs=[TensorSpec("x", (1, 3, 8, 8))], outputs=[TensorSpec("y", (1, 4), format="ND")])
    (t,) = parse(write_om(plain)).inputs
    assert t.dims_v2 == () and t.aipp_dims == () and "dims_v2" not in t.to_dict()
    # dims_v2 equal to dims is no AIPP view: the same file as without it
    same = ModelSpec(inputs=[TensorSpec("x", (1, 3, 8, 8), dims_v2=(1, 3, 8, 8))], outputs=plain.outputs)
    assert parse(write_om(same)).inputs[0].dims_v2 == ()


def test_a_view_whose_bytes_disagree_with_the_size_is_not_taken():
    from dataclasses import replace

    (t,) = parse(aipp_model()).inputs
    assert replace(t, dims_v2=(1, 300, 224, 1)).aipp_dims == (), "its bytes are not the input's size"
    assert replace(t, size=150528).aipp_dims == (), "dims already give the size: nothing to convert"


def test_the_writer_refuses_aipp_with_gears():
    with pytest.raises(ValueError, match="static AIPP"):
        write_om(ModelSpec(inputs=[TensorSpec("x", (-1, 224, 224, 3), "uint8", "NHWC", dims_v2=(-1, 336, 224, 1))],
                           dynamic_kind="batch", gears=[(1,), (2,)]))


def test_both_backends_describe_dims_and_dims_v2(rig):
    s = rig.session()
    m = s.load(aipp_model())
    (t,) = m.inputs
    assert (t.dims, t.dims_v2, t.size) == (DIMS, V2, YUV_BYTES)


def test_a_yuv_shaped_image_runs_on_both_backends(rig):
    s = rig.session()
    m = s.load(aipp_model())
    image = np.random.default_rng(3).integers(0, 256, V2, dtype=np.uint8)
    out = m.run(image)
    assert out[0].shape == (1, 10) and out[0].dtype == np.float32
    check_outputs(rig, out, [image])  # the bytes the device got are the caller's 75264
    if rig.kind == "sim":
        assert out.fidelity == PLACEHOLDER
        assert any("static-AIPP" in n and "AIPP stage" in n and "[1, 336, 224, 1]" in n for n in out.notes)
    other = m.run(image ^ 1)
    assert (other[0] != out[0]).any(), "the outputs depend on the image"


def test_a_dims_shaped_array_is_refused_with_both_shapes(rig):
    s = rig.session()
    m = s.load(aipp_model())
    with pytest.raises(InputError) as err:
        m.run(np.zeros(DIMS, np.uint8))
    text = str(err.value)
    assert "'image' is a static-AIPP input" in text
    assert "shape (1, 336, 224, 1) uint8 = 75264 bytes, not its dims (1, 224, 224, 3)" in text
    with pytest.raises(InputError, match=r"given shape \(1, 75264\)"):
        m.run(np.zeros((1, YUV_BYTES), np.uint8))
    assert m in s.models() and m.run(np.zeros(V2, np.uint8))[0].shape == (1, 10), "still loaded and usable"


def test_random_inputs_and_bench_give_the_aipp_shape(rig):
    s = rig.session()
    m = s.load(aipp_model())
    made = acl.random_inputs(m, seed=1)
    assert made["image"].shape == V2 and made["image"].dtype == np.uint8 and made["image"].nbytes == YUV_BYTES
    result = acl.bench(m, n=3, warmup=1)
    assert result.n == 3


def test_pyacl_program_sees_acls_three_views_and_runs_a_yuv_image(rig):
    """A sample-style pyACL program: dims, V2 dims and size as ACL reports them, and an
    input buffer of the V2 size that takes the image."""
    from pyacl_helpers import pyacl_installed

    s = rig.session()
    om = aipp_model()
    with pyacl_installed(s, set_device=True) as acl:
        model_id, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(om), len(om))
        assert ret == 0, acl.get_recent_err_msg()
        desc = acl.mdl.create_desc()
        assert acl.mdl.get_desc(desc, model_id) == 0
        assert acl.mdl.get_input_dims(desc, 0) == ({"name": "image", "dimCount": 4, "dims": list(DIMS)}, 0)
        assert acl.mdl.get_input_dims_v2(desc, 0) == ({"name": "image", "dimCount": 4, "dims": list(V2)}, 0)
        assert acl.mdl.get_input_size_by_index(desc, 0) == YUV_BYTES
        # an ordinary input's V2 view is its dims
        plain = plain_model()
        other, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(plain), len(plain))
        plain_desc = acl.mdl.create_desc()
        assert ret == 0 and acl.mdl.get_desc(plain_desc, other) == 0
        assert acl.mdl.get_input_dims_v2(plain_desc, 0)[0]["dims"] == [1, 3, 8, 8]
        assert acl.mdl.get_input_dims_v2(desc, 3)[1] == 100000
        for d in (desc, plain_desc):
            assert acl.mdl.destroy_desc(d) == 0
        assert acl.mdl.unload(model_id) == 0 and acl.mdl.unload(other) == 0


def test_the_ctypes_backend_asks_the_library_for_the_v2_dims(acl_rig):
    """The acl backend's descriptors come from the library's getters, V2 included: a model
    described from memory has the view, and an ordinary one has none."""
    s = acl_rig.session()
    backend = s.backend
    (t,) = backend.get_desc_from_mem(memoryview(aipp_model())).inputs
    assert (t.dims, t.dims_v2, t.size) == (DIMS, V2, YUV_BYTES)
    plain = plain_model()
    assert backend.get_desc_from_mem(memoryview(plain)).inputs[0].dims_v2 == ()


def test_an_older_cann_without_the_v2_call_reports_no_view(tmp_path_factory):
    """No aclmdlGetInputDimsV2 in the library: the model is still described (dims, size),
    with no AIPP view rather than an error."""
    from abi_lib import FakeAclControl, build_fake_acl

    from acl_notebook.runtime.acl import AclBackend

    old = build_fake_acl(tmp_path_factory.mktemp("fakeacl-old-aipp"), "old")
    fake = FakeAclControl(old)
    fake.reset()
    backend = AclBackend(str(old))
    assert backend.init() is True
    backend.set_device(0)
    model_id = backend.load_from_mem(memoryview(aipp_model()))
    (t,) = backend.get_desc(model_id).inputs
    assert (t.dims, t.dims_v2, t.size, t.aipp_dims) == (DIMS, (), YUV_BYTES, ())
    backend.unload(model_id)
    fake.reset()


def test_descriptors_say_what_an_aipp_input_takes():
    from acl_notebook.display import render_html, render_text

    info = parse(aipp_model())
    text = render_text(info, 100)
    assert "AIPP input 'image' takes [1, 336, 224, 1] uint8" in text and "YUV420SP-style" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "AIPP input &#x27;image&#x27; takes [1, 336, 224, 1] uint8" in render_html(info)
    plain = parse(plain_model())
    assert "AIPP" not in render_text(plain, 100) and "AIPP" not in render_html(plain)


@pytest.mark.parametrize(("v2", "name"), [((1, 224, 224, 1), "YUV400"), ((1, 224, 224, 4), "XRGB8888")])
def test_the_note_names_the_format_the_sizes_imply(v2, name):
    from acl_notebook.display import render_text

    om = write_om(ModelSpec(inputs=[TensorSpec("image", DIMS, "uint8", "NHWC", dims_v2=v2)],
                            outputs=[TensorSpec("prob", (1, 10), "float32", "ND")]))
    assert f"{name}-style" in render_text(parse(om), 120)


def test_the_panels_run_button_runs_an_aipp_model():
    from acl_notebook.runner.outputs import Outputs
    from acl_notebook.session import Config, Session
    from acl_notebook.widgets.panel import Panel

    s = Session(Config(backend="sim", soc="Ascend910B1"))
    s.start()
    panel = None
    try:
        m = s.load(aipp_model())
        panel = Panel(s, autostart=False)
        view = panel._views[m.id]
        assert "AIPP input" in view.details.value
        view.runner.run_button.click()
        assert isinstance(view.runner.result, Outputs), view.runner.output.value
        assert "static-AIPP" in view.runner.output.value
    finally:
        if panel is not None:
            panel.close()
        s.shutdown()


def cast_model() -> bytes:
    """A static-AIPP model with a graph the CPU reference can run (a Cast of the network input)."""
    from acl_notebook.om.opgraph import OpSpec, Tensor

    return write_om(ModelSpec(
        name="aipp_cast", inputs=[TensorSpec("image", (1, 4, 4, 3), "uint8", "NHWC", dims_v2=(1, 6, 4, 1))],
        outputs=[TensorSpec("prob", (1, 4, 4, 3), "float32", "ND")],
        ops=[OpSpec("prob", "Cast", ["image"], [Tensor((1, 4, 4, 3), "float32")], attrs={"dst_type": 0})]))


def test_the_simulator_does_not_label_a_graph_it_could_run_as_computed():
    """The graph after AIPP is computable, but the bytes given are the AIPP image, not its
    input: the simulator says placeholder (and refuses override=) instead of computing
    something from misread bytes; acl.reference, given the network's input, computes it."""
    from acl_notebook.cpu_reference import OverrideError
    from acl_notebook.session import Config, Session

    om = cast_model()
    x = np.arange(48, dtype=np.uint8).reshape(1, 4, 4, 3)
    ref = acl.reference(om, x)
    assert ref.fidelity == "computed" and (ref[0] == x).all()
    s = Session(Config(backend="sim", soc="Ascend910B1"))
    s.start()
    try:
        m = s.load(om)
        yuv = np.arange(24, dtype=np.uint8).reshape(1, 6, 4, 1)
        out = m.run(yuv)
        assert out.simulated and out.fidelity == PLACEHOLDER
        assert "the simulator does not compute the AIPP stage" in out.notes[0]
        check_placeholder = out[0].reshape(-1).view(np.uint8)
        from acl_notebook.runtime.sim_outputs import placeholder_output

        assert (check_placeholder == placeholder_output([yuv.reshape(-1)], 0, out[0].nbytes)).all()
        with pytest.raises(OverrideError, match="static-AIPP"):
            m.run(yuv, override={"prob": np.zeros((1, 4, 4, 3), np.float32)})
        assert m in s.models()
    finally:
        s.shutdown()


def test_compare_refuses_an_aipp_model_and_keeps_it(rig):
    s = rig.session()
    m = s.load(aipp_model())
    with pytest.raises(InputError, match=r"static-AIPP input .*\(1, 336, 224, 1\) uint8 AIPP-format image"):
        acl.compare(m)
    assert m in s.models()
