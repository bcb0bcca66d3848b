"""Hostile arguments to the run API, the magics, the panel and the pyACL image (issue 13): each
is refused with one error that names the argument and says what to do, before any device work,
and every loaded model stays loaded. Both backends where a backend is involved."""

from __future__ import annotations

import re

import numpy as np
import pytest
from graph_builder import Graph
from magics_helpers import fails_with_one_line, registry

import acl_notebook as acl
from acl_notebook.group import load_group
from acl_notebook.om.opgraph import Tensor
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runner.bench import MAX_RUNS, MAX_WARMUP, bench


def tiny(name: str = "clf") -> bytes:
    return write_om(ModelSpec(name=name, soc_version="Ascend910B1",
                              inputs=[TensorSpec("x", (1, 4), "float32", "ND")],
                              outputs=[TensorSpec("y", (1, 4), "float32", "ND")]))


# -- 1. run counts -----------------------------------------------------------------------------
HUGE = (2**64, 2**31, MAX_RUNS + 1, np.int64(2**40))


@pytest.mark.parametrize("n", HUGE)
def test_a_bench_count_no_cell_can_finish_is_refused_before_any_run(rig, n):
    s = rig.session()
    m = s.load(tiny())
    before = rig.calls(s, "aclmdlExecute")
    with pytest.raises(ValueError, match=r"^argument n must be an int from 1 to 1,000,000, got .*time fewer runs"):
        bench(m, n=n)
    with pytest.raises(ValueError, match=r"^argument warmup must be an int from 0 to 10,000"):
        bench(m, n=1, warmup=MAX_WARMUP + 1 if n == HUGE[0] else n)
    assert rig.calls(s, "aclmdlExecute") == before
    assert m.loaded and s.find("clf") is m


@pytest.mark.parametrize(("kw", "kind", "fragment"), [
    ({"n": 0}, ValueError, "argument n must be an int from 1 to 1,000,000, got 0; use n=1 or more"),
    ({"n": -5}, ValueError, "argument n must be an int from 1 to 1,000,000, got -5"),
    ({"warmup": -1}, ValueError, "argument warmup must be an int from 0 to 10,000, got -1; use warmup=0 or more"),
    ({"n": 3.0}, TypeError, "argument n must be an int (a count of runs), got float 3.0"),
    ({"n": float("inf")}, TypeError, "argument n must be an int"),
    ({"n": True}, TypeError, "argument n must be an int (a count of runs), got True"),
    ({"warmup": False}, TypeError, "argument warmup must be an int"),
    ({"n": "10"}, TypeError, "argument n must be an int (a count of runs), got str '10'"),
    ({"warmup": None}, TypeError, "argument warmup must be an int"),
    ({"n": np.float64(4)}, TypeError, "argument n must be an int"),
])
def test_a_bench_count_that_is_not_a_count_names_the_argument(rig, kw, kind, fragment):
    s = rig.session()
    m = s.load(tiny())
    with pytest.raises(kind) as info:
        acl.bench(m, **kw)
    assert str(info.value).startswith(fragment)
    assert rig.calls(s, "aclmdlExecute") == 0 and m.loaded


def test_numpy_integers_are_counts(rig):
    s = rig.session()
    m = s.load(tiny())
    r = bench(m, n=np.int64(3), warmup=np.uint8(2))
    assert (r.n, r.warmup) == (3, 2) and type(r.n) is int and type(r.warmup) is int
    assert rig.calls(s, "aclmdlExecute") == 5
    r = bench(m, n=MAX_RUNS // MAX_RUNS, warmup=MAX_WARMUP // MAX_WARMUP - 1)  # the bounds themselves are fine
    assert (r.n, r.warmup) == (1, 0)


def test_a_group_bench_refuses_once_before_any_device_runs(rig):
    s = rig.session(devices=2)
    g = load_group(s, tiny(), "all")
    with pytest.raises(ValueError, match=r"^argument n must be an int from 1 to 1,000,000"):
        acl.bench(g, n=2**64)
    with pytest.raises(TypeError, match=r"^argument warmup must be an int"):
        g.bench(2, warmup=1.5)
    assert rig.calls(s, "aclmdlExecute") == 0 and g.loaded


def test_acl_bench_magic_refuses_counts_in_one_line(ip, capsys):
    ip.user_ns["blob"] = tiny()
    ip.run_line_magic("acl_load", "-v blob")
    before = registry()
    line = fails_with_one_line(ip, capsys, "%acl_bench clf -n 18446744073709551616")
    assert "Argument n must be an int from 1 to 1,000,000, got 18,446,744,073,709,551,616" in line
    # the argument's name keeps its case: "Warmup must be ..." named no argument
    line = fails_with_one_line(ip, capsys, "%acl_bench clf --warmup 99999")
    assert "Argument warmup must be an int from 0 to 10,000" in line
    line = fails_with_one_line(ip, capsys, "%acl_bench clf -n -3")
    assert "Argument n must be an int from 1 to 1,000,000, got -3" in line
    assert "argument -n/--runs: invalid int value: '2.5'" in fails_with_one_line(ip, capsys, "%acl_bench clf -n 2.5")
    assert registry() == before


def test_the_panels_bench_box_cannot_ask_for_more_than_a_bench_takes():
    pytest.importorskip("ipywidgets")
    from acl_notebook.session import Config, Session
    from acl_notebook.widgets.run_box import RunBox

    s = Session(Config(backend="sim", soc="Ascend910B1"))
    m = s.load(tiny())
    box = RunBox(m)
    assert box.runs.max == MAX_RUNS
    box.runs.value = 10**12
    assert box.runs.value == MAX_RUNS  # clamped by the widget, so the click asks for a count bench takes
    box.close()
    s.shutdown()


# -- 3. masked arrays --------------------------------------------------------------------------
def masked() -> np.ma.MaskedArray:
    return np.ma.masked_array(np.arange(4, dtype=np.float32).reshape(1, 4), mask=[[0, 1, 0, 0]])


def test_a_masked_input_is_refused_with_what_to_pass_instead(rig):
    s = rig.session()
    m = s.load(tiny())
    x = masked()
    fix = "pass arr.filled(value) with the value the masked entries should have"
    before = rig.calls(s, "aclrtMemcpy")
    for given in (x, [x], {"x": x}, x.astype(np.float64), np.ma.masked_array(np.ones((1, 4), np.float32))):
        with pytest.raises(TypeError) as info:
            m.run(given)
        assert str(info.value).startswith("input 'x' is a numpy masked array") and fix in str(info.value)
    with pytest.raises(TypeError, match="masked array"):
        acl.bench(m, n=2, inputs=x)
    assert rig.calls(s, "aclrtMemcpy") == before, "refused before any copy"
    out = m.run(x.filled(0))  # what the message says works, and the model is still loaded
    assert out[0].shape == (1, 4) and m.loaded


def test_the_cpu_reference_refuses_masked_inputs_and_overrides():
    g = Graph()
    g.input("x", (1, 4), dtype="float32", fmt="ND")
    g.op("y", "Relu", ["x"], Tensor((1, 4), "float32", "ND"), input_descs=[Tensor((1, 4), "float32", "ND")])
    src = g.build("y")
    with pytest.raises(TypeError, match=r"^input 'x' is a numpy masked array.*arr\.filled\(value\)"):
        acl.reference(src, masked())
    out = acl.reference(src, masked().filled(-1))
    assert out[0].tolist() == [[0.0, 0.0, 2.0, 3.0]], "the filled value is what runs"
    with pytest.raises(TypeError, match=r"^override 'y:0' is a numpy masked array"):
        acl.reference(src, np.ones((1, 4), np.float32), override={"y:0": masked()})


def test_a_split_group_run_refuses_a_masked_batch_before_cutting_it(rig):
    s = rig.session(devices=2)
    g = load_group(s, tiny(), "all")
    with pytest.raises(TypeError, match="masked array"):
        g.run(np.ma.masked_array(np.ones((4, 4), np.float32), mask=False), split=True)
    with pytest.raises(TypeError, match="masked array"):
        g.run(masked())
    assert rig.calls(s, "aclmdlExecute") == 0 and g.loaded


def test_acl_run_from_a_masked_variable_is_one_line(ip, capsys):
    ip.user_ns["blob"] = tiny()
    ip.run_line_magic("acl_load", "-v blob")
    ip.user_ns["arr"] = masked()
    before = registry()
    line = fails_with_one_line(ip, capsys, "%acl_run clf -i arr")
    assert "Input 'x' is a numpy masked array" in line and "arr.filled(value)" in line
    assert "masked array" in fails_with_one_line(ip, capsys, "%acl_bench clf -n 2 -i arr")
    assert registry() == before
    ip.user_ns["arr"] = masked().filled(0)
    assert ip.run_line_magic("acl_run", "clf -i arr")[0].shape == (1, 4)


# -- 4. names keep their case in sentences -------------------------------------------------------
NAMES = ("clf", "model", "a", "no", "9lives", "it's", 'say "hi"', "resnet50.om", "x-y", "ümlaut")


def two_inputs(name: str) -> bytes:
    return write_om(ModelSpec(name=name, soc_version="Ascend910B1",
                              inputs=[TensorSpec("x", (1, 4), "float32", "ND"), TensorSpec("z", (-1, 4), "float32",
                                                                                           "ND")],
                              outputs=[TensorSpec("y", (1, 4), "float32", "ND")],
                              dynamic_kind="batch", gears=[(1,), (2,)]))


@pytest.mark.parametrize("name", NAMES)
def test_a_refusal_never_changes_the_case_of_the_models_name(name):
    from acl_notebook.display import error_line, error_text
    from acl_notebook.session import Config, Session

    s = Session(Config(backend="sim", soc="Ascend910B1"))
    m = s.load(two_inputs(name), name=name)
    x = np.ones((1, 4), np.float32)
    refusals = [
        lambda: m.run(None),
        lambda: m.run({"x": x, "w": x}),
        lambda: m.run({"x": x}),
        lambda: m.run([x]),
        lambda: m.run(x),
        lambda: m.run([x, x], batch=3),
        lambda: m.run([x, x], hw=(1, 1)),
    ]
    try:
        for refuse in refusals:
            with pytest.raises(Exception) as info:
                refuse()
            for text in (error_text(info.value), error_line(info.value)):
                assert repr(name) in text, text  # the name as given, quoted, never re-cased
                bare = re.escape(name.capitalize()) + r"\s(?!')"  # "Clf has ...", not "Model 'model' ..."
                assert name.capitalize() == name or not re.match(bare, text), text
    finally:
        s.shutdown()


@pytest.mark.parametrize("name", NAMES)
def test_an_upload_refusal_never_changes_the_case_of_the_files_name(name):
    from acl_notebook.display import error_text
    from acl_notebook.widgets.upload import UploadError, check_upload

    entries = [{"name": name, "content": b""}, {"name": name, "content": None},
               {"name": name, "content": b"IMOD", "size": 9}]
    if not name.endswith(".om"):  # any .om name goes on to the reader, which says what is wrong
        entries.append({"name": name, "content": b"not a model"})
    for entry in entries:
        with pytest.raises(UploadError) as info:
            check_upload(entry, set())
        for text in (str(info.value), error_text(info.value)):
            assert text.startswith(repr(name)), text  # quoted, so never re-cased


@pytest.mark.parametrize(("text", "shown"), [
    ("clf: not an .om model", "clf: not an .om model."),  # a label before a colon is a name
    ("model, the one", "Model, the one."),
    ("no loaded model 'clf'", "No loaded model 'clf'."),
    ("'clf' has no input", "'clf' has no input."),
    ("n must be an int", "n must be an int."),
    ("9lives is loaded", "9lives is loaded."),
])
def test_sentence_capitalises_prose_only(text, shown):
    from acl_notebook.display import sentence

    assert sentence(text) == shown


# -- 5. the pyACL runner's leak report lists undestroyed handles ---------------------------------------
LEAVES = """\
import acl
assert acl.init() == 0 and acl.rt.set_device(0) == 0
kept = acl.create_tensor_desc(0, [1, 4], 2)
gone = acl.create_tensor_desc(0, [2], 2)
acl.destroy_tensor_desc(gone)
ptr, ret = acl.rt.malloc(64, 0)
buf = acl.create_data_buffer(ptr, 64)
ds = acl.mdl.create_dataset()
ds, ret = acl.mdl.add_dataset_buffer(ds, buf)
entry = acl.create_tensor_desc(0, [1, 16], 2)
ds, ret = acl.mdl.set_dataset_tensor_desc(ds, entry, 0)
assert ret == 0
acl.destroy_tensor_desc(entry)  # the dataset keeps its own copy
model_desc = acl.mdl.create_desc()
config = acl.mdl.create_config_handle()
if CLEAN:
    for call, handle in ((acl.destroy_tensor_desc, kept), (acl.mdl.destroy_dataset, ds),
                         (acl.destroy_data_buffer, buf), (acl.mdl.destroy_desc, model_desc),
                         (acl.mdl.destroy_config_handle, config)):
        call(handle)
acl.rt.free(ptr)
acl.rt.reset_device(0)
acl.finalize()
"""


@pytest.mark.parametrize("backend", ["sim", "acl"])
def test_the_leak_report_lists_tensor_descs_and_the_other_handles_left(tmp_path, tmp_path_factory, backend):
    from pyacl_helpers import run_program

    env = {"ACL_NOTEBOOK_BACKEND": backend}
    if backend == "acl":
        from abi_lib import build_fake_acl

        env["ASCEND_HOME_PATH"] = str(build_fake_acl(tmp_path_factory.getbasetemp() / "abi").parents[1])
    script = tmp_path / "leaves.py"
    script.write_text("CLEAN = False\n" + LEAVES)
    r = run_program(str(script), env=env)
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("acl-notebook:")]
    assert lines == ["acl-notebook: the program ended with 1 tensor desc(s), 1 dataset(s) (holding 1 tensor "
                     "desc(s) of their entries), 1 data buffer(s), 1 model desc(s) and 1 config handle(s) not "
                     "destroyed; each holds host memory until the process exits (acl.destroy_tensor_desc, "
                     "acl.mdl.destroy_dataset, acl.destroy_data_buffer, acl.mdl.destroy_desc, "
                     "acl.mdl.destroy_config_handle free them)"], r.stderr
    script.write_text("CLEAN = True\n" + LEAVES)
    clean = run_program(str(script), env=env)
    assert clean.returncode == 0 and "acl-notebook:" not in clean.stderr, clean.stderr
    script.write_text("CLEAN = False\n" + LEAVES)
    quiet = run_program(str(script), env=env, runner_args=["--no-leak-report"])
    assert quiet.returncode == 0 and quiet.stderr == ""


# -- 2. tensor descs: ACL keeps any number of dims ---------------------------------------------------
def test_a_tensor_desc_keeps_200_dims_and_odd_values_as_acl_does(env):
    """aclCreateTensorDesc (hicann/ge tensor_desc_internal.cpp, CANN 2019-2025) refuses only
    numDims < 0 and NULL dims with numDims > 0 (NULL); it does not cap at ACL_MAX_DIM_CNT (128,
    the size of aclmdlIODims, a different struct) nor check a dim's value. Both backends and the
    image agree with it."""
    acl, _ = env
    many = acl.create_tensor_desc(0, list(range(1, 201)), 2)
    assert many and acl.get_tensor_desc_num_dims(many) == 200
    assert acl.get_tensor_desc_dim_v2(many, 199) == (200, 0)
    assert acl.get_tensor_desc_dim_v2(many, 200) == (0, 100000)
    assert acl.get_tensor_desc_element_count(many) == 0, "200! overflows size_t"
    ones = acl.create_tensor_desc(1, [1] * 5000, 2)
    assert acl.get_tensor_desc_num_dims(ones) == 5000 and acl.get_tensor_desc_size(ones) == 2
    odd = acl.create_tensor_desc(0, [-3, 4, -(1 << 63)], 2)
    assert [acl.get_tensor_desc_dim_v2(odd, i)[0] for i in range(3)] == [-3, 4, -(1 << 63)]
    assert acl.get_tensor_desc_num_dims(odd) == 3, "only a first dim of -2 means unknown rank"
    assert acl.get_tensor_desc_element_count(odd) == 0 and acl.get_tensor_desc_size(odd) == 0
    for bad in ([1 << 63], [1.0], (1, 2), None):  # what pyACL's list parsing refuses
        with pytest.raises(TypeError):
            acl.create_tensor_desc(0, bad, 2)
    for d in (many, ones, odd):
        acl.destroy_tensor_desc(d)


def test_the_c_library_answers_a_negative_count_and_null_dims_with_null(acl_rig):
    import ctypes

    lib = ctypes.CDLL(str(acl_rig.control.path))
    create, count = lib.aclCreateTensorDesc, lib.aclGetTensorDescNumDims
    create.restype, create.argtypes = ctypes.c_void_p, [ctypes.c_int, ctypes.c_int,
                                                        ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
    count.restype, count.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
    lib.aclDestroyTensorDesc.argtypes = [ctypes.c_void_p]
    dims = (ctypes.c_int64 * 200)(*range(1, 201))
    assert create(0, -1, dims, 2) is None and create(0, -(1 << 31), dims, 2) is None
    assert create(0, 3, None, 2) is None
    for n, values, want in ((200, dims, 200), (0, None, 0), (129, dims, 129)):
        desc = create(0, n, values, 2)
        assert desc and count(desc) == want
        lib.aclDestroyTensorDesc(desc)


def test_dynamic_dims_beyond_int64_are_refused_not_wrapped_into_a_gear(env):
    """aclmdlIODims.dims is int64_t: a dim of 2**64 + 8 stored into it by ctypes became 8 and
    chose the gear on the ctypes backend while the simulator said 'not a gear'. pyACL parses the
    list as int64 (as create_tensor_desc's dims), so it is a TypeError on both."""
    from pyacl_helpers import Program, two_input_spec

    acl, _ = env
    q = Program(acl, two_input_spec())
    mb, _ = acl.mdl.get_input_index_by_name(q.desc, "ascend_mbatch_shape_data")
    for dims in ([1, 8 + (1 << 64), 8, 4], [1, 8, 8, 1 << 63], [1, 8, 8, -(1 << 63) - 1]):
        with pytest.raises(TypeError, match="int64"):
            acl.mdl.set_input_dynamic_dims(q.model_id, q.ins, mb, {"dimCount": 4, "name": "", "dims": dims})
    assert acl.mdl.set_input_dynamic_dims(q.model_id, q.ins, mb, {"dimCount": 4, "name": "",
                                                                   "dims": [1, 8, 8, 4]}) == 0


def test_a_cluster_bench_refuses_counts_before_it_looks_for_workers():
    from acl_notebook import cluster

    with pytest.raises(ValueError, match=r"^argument n must be an int from 1 to 1,000,000"):
        cluster.bench("net", n=2**64)  # no cluster is connected: the count is refused first
    with pytest.raises(TypeError, match=r"^argument warmup must be an int"):
        cluster.bench("net", n=1, warmup=2.0)


def test_the_masked_check_survives_numpy_ma_being_imported_by_another_thread(monkeypatch):
    """numpy imports numpy.ma lazily: while one device's thread imports it, another sees the module
    half made, without MaskedArray; a group bench then failed on three of four devices."""
    import sys
    import types

    from acl_notebook.runner.errors import refuse_masked

    for half_made in ("numpy.ma", "numpy.ma.core"):
        monkeypatch.setitem(sys.modules, half_made, types.ModuleType(half_made))
    refuse_masked(np.ones(3), "input 'x'")  # no AttributeError: nothing can be masked yet
    monkeypatch.undo()
    with pytest.raises(TypeError, match="masked array"):
        refuse_masked(masked(), "input 'x'")


@pytest.mark.parametrize("name", ["my net.om", "my models", "a,b.om", "no; model.om"])
def test_a_refusal_never_changes_the_case_of_a_paths_first_word(tmp_path, monkeypatch, name):
    """A path with a space, comma or semicolon is quoted where a refusal starts with it, so
    sentence() cannot take its first word for prose: "my net.om: not an ..." became
    "My net.om: not an ...", a file the user cannot find by that name."""
    from acl_notebook.display import error_text

    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    if name == "my models":
        path.mkdir()
        calls = [lambda: acl.inspect(name), lambda: acl.load(name)]
    else:
        path.write_bytes(b"not a model at all, only text")
        calls = [lambda: acl.inspect(name)]
    for call in calls:
        with pytest.raises(Exception) as info:
            call()
        text = error_text(info.value)
        assert text.startswith(repr(name)), text


@pytest.mark.parametrize("name", ["models", "net", "a"])
def test_a_path_of_one_lower_case_word_keeps_its_case(tmp_path, monkeypatch, name):
    """sentence() takes a leading lower-case word for prose: "models is a directory; give the
    path ..." became "Models is a directory", a folder no one can find by that name. Such a path
    is quoted where a refusal starts with it, by the loader, the inspector and the CPU reference."""
    from acl_notebook.display import error_text

    monkeypatch.chdir(tmp_path)
    (tmp_path / name).mkdir()
    (tmp_path / "empty").write_bytes(b"")
    calls = [lambda: acl.inspect(name), lambda: acl.load(name), lambda: acl.reference(name, None),
             lambda: acl.reference("empty", None)]
    for call in calls:
        with pytest.raises(Exception) as info:
            call()
        text = error_text(info.value)
        assert text.startswith((repr(name), repr("empty"))), text
    missing = FileNotFoundError(2, "No such file or directory", name)  # as open() raises it
    assert error_text(missing).startswith(f"{name!r}: no such file or directory"), error_text(missing)
