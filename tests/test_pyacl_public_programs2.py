"""What a second round of public pyACL programs needed, on both backends.

Model inspectors describe an .om without loading it (``acl.mdl.get_desc_from_file`` /
``get_desc_from_mem``, aclmdlGetDescFromFile / FromMem: the desc is cleared first, then filled
from the file; no model id, so the gear-state getter has no model to ask). Serving backends map
request priorities to streams with ``acl.rt.device_get_stream_priority_range`` (``(least,
greatest, ret)``: 7 and 0, the range create_stream_with_config takes). Wrapper classes that clean
up in ``__del__`` reach the pyACL getters after the session was finalized at exit: a C getter
returns its NULL / 0 / -1 there, never an exception.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyacl_helpers import batch_spec, classifier_spec, hw_spec, run_program, two_input_spec, write
from shared_models import model_path

from acl_notebook.om.writer import write_om

GE_MODEL_ID_INVALID = 145003
PATH_INVALID = 145002
INVALID_PARAM = 100000


def described(acl, desc) -> dict:
    """Everything the desc getters say, as an inspector prints it."""
    n_in, n_out = acl.mdl.get_num_inputs(desc), acl.mdl.get_num_outputs(desc)
    batch, _ = acl.mdl.get_dynamic_batch(desc)
    hw, _ = acl.mdl.get_dynamic_hw(desc, -1)
    count, _ = acl.mdl.get_input_dynamic_gear_count(desc, -1)
    return {
        "inputs": [(acl.mdl.get_input_name_by_index(desc, i), acl.mdl.get_input_dims(desc, i),
                    acl.mdl.get_input_data_type(desc, i), acl.mdl.get_input_format(desc, i),
                    acl.mdl.get_input_size_by_index(desc, i)) for i in range(n_in)],
        "outputs": [(acl.mdl.get_output_name_by_index(desc, i), acl.mdl.get_output_dims(desc, i),
                     acl.mdl.get_output_data_type(desc, i), acl.mdl.get_output_format(desc, i),
                     acl.mdl.get_output_size_by_index(desc, i)) for i in range(n_out)],
        "gears": (batch, hw, acl.mdl.get_input_dynamic_dims(desc, -1, count) if count else None),
    }


def loaded_description(acl, path: str) -> dict:
    """The same, from a loaded model's desc (the reference the file desc must equal)."""
    model_id, ret = acl.mdl.load_from_file(path)
    assert ret == 0
    desc = acl.mdl.create_desc()
    try:
        assert acl.mdl.get_desc(desc, model_id) == 0
        return described(acl, desc)
    finally:
        acl.mdl.destroy_desc(desc)
        assert acl.mdl.unload(model_id) == 0


@pytest.mark.parametrize("source", ["my_122_anenet", "a3c_pong_model_v2", "batch", "dims"])
def test_get_desc_from_file_describes_a_model_without_loading_it(rig, tmp_path, source):
    from pyacl_helpers import pyacl_installed

    specs = {"batch": batch_spec, "dims": two_input_spec}
    path = str(write(tmp_path, specs[source]()) if source in specs else model_path(source))
    session = rig.session(soc="Ascend310B4" if source == "my_122_anenet" else "Ascend910B1")
    with pyacl_installed(session, set_device=True) as acl:
        before = rig.live(session)
        desc = acl.mdl.create_desc()
        assert acl.mdl.get_desc_from_file(desc, path) == 0
        found = described(acl, desc)
        assert len(session.models()) == 0 and rig.live(session)["device_allocations"] == before["device_allocations"]
        assert acl.mdl.destroy_desc(desc) == 0
        assert found == loaded_description(acl, path)
        assert found["inputs"] and found["outputs"]


def test_get_desc_from_mem_reads_the_programs_bytes(env_with_device, rig, tmp_path):
    acl, session = env_with_device
    data = write_om(two_input_spec())
    want = loaded_description(acl, str(write(tmp_path, two_input_spec())))
    for ptr in (acl.util.bytes_to_ptr(data), np.frombuffer(data, np.uint8).ctypes.data):
        desc = acl.mdl.create_desc()
        assert acl.mdl.get_desc_from_mem(desc, ptr, len(data)) == 0
        assert described(acl, desc) == want
        acl.mdl.destroy_desc(desc)
    assert len(session.models()) == 0


def test_a_file_desc_has_names_but_no_model_to_ask_for_its_gear(env_with_device, tmp_path):
    acl, _ = env_with_device
    path = str(write(tmp_path, two_input_spec()))
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc_from_file(desc, path) == 0
    assert acl.mdl.get_input_index_by_name(desc, "ascend_mbatch_shape_data") == (2, 0)
    assert acl.mdl.get_input_index_by_name(desc, "nope") == (0, INVALID_PARAM)
    assert acl.mdl.get_output_index_by_name(desc, "score:0") == (0, 0)
    assert acl.mdl.get_cur_output_dims(desc, 0) == ({}, GE_MODEL_ID_INVALID)
    # the same desc, filled by get_desc after a load, asks the loaded model
    model_id, _ = acl.mdl.load_from_file(path)
    assert acl.mdl.get_desc(desc, model_id) == 0
    dims, ret = acl.mdl.get_cur_output_dims(desc, 0)
    assert ret == 0 and dims["dims"] == [8, 4]
    acl.mdl.destroy_desc(desc)
    acl.mdl.unload(model_id)


@pytest.mark.parametrize("spec", [batch_spec, hw_spec, two_input_spec], ids=["batch", "hw", "dims"])
def test_the_mbatch_input_is_int32_as_atc_makes_it(env_with_device, tmp_path, spec):
    """ATC adds ``ascend_mbatch_shape_data`` as DT_INT32, one value a dynamic dim (GE's
    MultiBatchClonePass). mmdeploy's Ascend wrapper maps every input's dtype through
    ``{0: float32, 3: int32}`` (a KeyError for anything else) and AclPredictor sizes the batch
    buffer as one int32; a set call then writes 4 bytes a value and the run reads them back."""
    acl, _ = env_with_device
    dtypes = {0: np.float32, 3: np.int32}  # mmdeploy's _from_acl_data_type
    model_id, ret = acl.mdl.load_from_file(str(write(tmp_path, spec())))
    assert ret == 0
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc(desc, model_id) == 0
    index, ret = acl.mdl.get_input_index_by_name(desc, "ascend_mbatch_shape_data")
    assert ret == 0
    width = len(spec().gears[0])  # one value a dynamic dim
    assert acl.mdl.get_input_data_type(desc, index) == 3, "ACL_INT32"
    assert acl.mdl.get_input_size_by_index(desc, index) == 4 * width
    assert acl.mdl.get_input_dims(desc, index)[0]["dims"] == [width]
    assert [dtypes[acl.mdl.get_input_data_type(desc, i)] for i in range(acl.mdl.get_num_inputs(desc))]
    acl.mdl.destroy_desc(desc)
    assert acl.mdl.unload(model_id) == 0


def test_a_bad_model_file_is_reported_under_the_programs_own_call(env_with_device, tmp_path):
    """The image reads a model file and hands its bytes to the backend's from-memory call; a
    diagnostic program (load_from_file, then get_recent_err_msg) must see the call it made,
    not aclmdlLoadFromMem, a name it never used."""
    acl, _ = env_with_device
    bad = tmp_path / "bad.om"
    bad.write_bytes(b"IMOD garbage")
    path = str(bad)
    work, _ = acl.rt.malloc(1 << 16, 0)
    weight, _ = acl.rt.malloc(1 << 16, 0)
    config = acl.mdl.create_config_handle()
    assert acl.mdl.set_config_opt(config, 1, 1) == 0 and acl.mdl.set_config_opt(config, 2, path) == 0
    desc = acl.mdl.create_desc()
    calls = {
        "aclmdlLoadFromFile": lambda: acl.mdl.load_from_file(path)[-1],
        "aclmdlQuerySize": lambda: acl.mdl.query_size(path)[-1],
        "aclmdlLoadFromFileWithMem": lambda: acl.mdl.load_from_file_with_mem(path, work, 1 << 16, weight, 1 << 16)[-1],
        "aclmdlLoadWithConfig": lambda: acl.mdl.load_with_config(config)[-1],
        "aclmdlGetDescFromFile": lambda: acl.mdl.get_desc_from_file(desc, path),
    }
    for name, call in calls.items():
        assert call() != 0
        message = acl.get_recent_err_msg()
        assert message.startswith(f"{name} failed:"), message
    acl.mdl.destroy_desc(desc)
    acl.mdl.destroy_config_handle(config)
    for ptr in (work, weight):
        assert acl.rt.free(ptr) == 0


def test_desc_from_file_and_mem_refusals(env_with_device, tmp_path):
    acl, session = env_with_device
    good = str(write(tmp_path, classifier_spec()))
    junk = tmp_path / "junk.om"
    junk.write_bytes(b"not a model at all" * 40)
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc_from_file(0, good) == INVALID_PARAM
    assert acl.mdl.get_desc_from_file(0x5D0000 + 0x40 * 999, good) == INVALID_PARAM  # never made
    with pytest.raises(TypeError):
        acl.mdl.get_desc_from_file(desc, None)  # pyACL parses the path with "s"
    assert acl.mdl.get_desc_from_file(desc, good) == 0 and acl.mdl.get_num_inputs(desc) == 1
    # ACL clears the desc before reading: a failed read leaves it empty, with the load's code
    assert acl.mdl.get_desc_from_file(desc, str(tmp_path / "missing.om")) == PATH_INVALID
    assert acl.mdl.get_num_inputs(desc) == 0 and acl.mdl.get_input_dims(desc, 0) == ({}, INVALID_PARAM)
    _, load_code = acl.mdl.load_from_file(str(junk))
    assert load_code != 0 and acl.mdl.get_desc_from_file(desc, str(junk)) == load_code
    data = junk.read_bytes()
    assert acl.mdl.get_desc_from_mem(desc, acl.util.bytes_to_ptr(data), len(data)) == load_code
    assert acl.mdl.get_desc_from_mem(desc, 0, 100) == INVALID_PARAM
    assert acl.mdl.get_desc_from_mem(desc, acl.util.bytes_to_ptr(data), 0) == INVALID_PARAM
    assert acl.mdl.destroy_desc(desc) == 0
    assert len(session.models()) == 0


def _program_env(tmp_path_factory, backend: str):
    """The environment a standalone program runs in: the simulator's (None), or the ctypes
    backend over the C test library."""
    if backend != "acl":
        return None
    from abi_lib import build_fake_acl

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    return {"ACL_NOTEBOOK_BACKEND": "acl", "ASCEND_HOME_PATH": str(lib.parents[1])}


@pytest.mark.parametrize("backend", ["sim", "acl"])
def test_an_inspector_program_takes_the_no_load_path(tmp_path_factory, tmp_path, backend):
    env = _program_env(tmp_path_factory, backend)
    model = write(tmp_path, batch_spec())
    r = run_program("inspect_model.py", str(model), env=env)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["path"] == "get_desc_from_file" and report["loaded"] == []
    assert [i["name"] for i in report["inputs"]] == ["x", "ascend_mbatch_shape_data"]
    assert report["inputs"][0]["dims"] == [-1, 3, 8, 8] and report["outputs"][0]["dims"] == [8, 10]
    assert report["batch"] == [1, 2, 8] and report["cur_output_dims_ret"] == GE_MODEL_ID_INVALID
    assert "acl-notebook:" not in r.stderr  # nothing loaded, nothing left


def test_getters_in_a_del_at_exit_return_their_failure_values(tmp_path):
    """A wrapper whose ``__del__`` walks its datasets at interpreter exit: held by the script,
    it goes with the script's module while ACL is still up (as on a device) and sees its
    datasets; held by another module, it goes after the session was finalized and gets the C
    getters' failure values and the destroy calls' codes, never an exception out of a getter."""
    model = write(tmp_path, classifier_spec())
    during = {"num_buffers": 1, "buffer": True, "size": 3072, "num_dims": 4, "type": 0}
    for where, at_exit in (([], {**during, "name": "", "destroy_dataset": 0}),
                           (["elsewhere"], {"num_buffers": 0, "buffer": False, "size": 0, "num_dims": 0, "type": -1,
                                            "name": "", "destroy_dataset": 100001})):
        r = run_program("del_walks_datasets.py", str(model), *where)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
        walked = json.loads(r.stdout.strip().splitlines()[-1])
        assert walked == {"during_run": during, "at_exit": at_exit}


def test_a_wrapper_released_in_del_at_exit_finds_acl_still_up(tmp_path):
    """A wrapper left alive at exit releases in ``__del__`` while the script's module is torn
    down: ACL is still up then, as on a device, so every release is 0 and nothing is reported
    left (it was 100001, an 'Exception ignored' and a leak report). A program's own exit
    handler runs before, with the model loaded; it keeps the namespace alive, so the wrapper
    goes in the interpreter's teardown, where the runtime is still up for it."""
    model = write(tmp_path, classifier_spec())
    released = "released [" + ", ".join(["0"] * 11) + "]"
    r = run_program("del_releases_at_exit.py", str(model))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["ran", released]
    assert r.stderr == ""
    r = run_program("del_releases_at_exit.py", str(model), "atexit")
    assert r.returncode == 0 and "Exception ignored" not in r.stderr, r.stderr
    assert r.stdout.splitlines() == ["ran", "atexit execute 0", released]


def test_stream_priority_range_is_the_range_create_stream_with_config_takes(env_with_device):
    acl, _ = env_with_device
    assert acl.rt.device_get_stream_priority_range() == (7, 0, 0)  # least, greatest: 0 is the greatest
    for priority in (0, 7):
        stream, ret = acl.rt.create_stream_with_config(priority, 0)
        assert ret == 0 and acl.rt.destroy_stream(stream) == 0


def test_stream_priority_range_before_init_and_on_an_older_cann(monkeypatch, tmp_path_factory):
    from abi_lib import FakeAclControl, build_fake_acl, cann_root
    from pyacl_helpers import pyacl_installed

    from acl_notebook import pyacl
    from acl_notebook.pyacl.core import PROGRAM
    from acl_notebook.session import Config, Session

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi-old", "old")
    FakeAclControl(lib).reset()
    monkeypatch.setenv("ASCEND_HOME_PATH", str(cann_root(lib)))
    session = Session(Config(backend="acl"))
    try:
        session.start()
        assert session.backend.stream_priority_range() is None  # no such symbol
        assert pyacl.install(force=True, session=session).installed
        import acl

        try:
            assert acl.rt.device_get_stream_priority_range() == (0, 0, 100001)  # before acl.init
        finally:
            pyacl.uninstall()
            PROGRAM.bind(None)
        with pyacl_installed(session) as acl:
            assert acl.rt.device_get_stream_priority_range() == (0, 0, 200001)
            assert "no aclrtDeviceGetStreamPriorityRange" in acl.get_recent_err_msg()
    finally:
        session.shutdown()


@pytest.mark.parametrize("backend", ["sim", "acl"])
def test_a_priority_scheduler_program_runs_on_both_ends_of_the_range(tmp_path_factory, tmp_path, backend):
    from pyacl_helpers import simulated_outputs

    env = _program_env(tmp_path_factory, backend)
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("priority_streams.py", str(model), str(out), env=env)
    assert r.returncode == 0, r.stderr
    assert "priority range: least 7, greatest 0" in r.stdout
    saved = np.load(out)
    for label in ("greatest", "least"):
        (want,) = simulated_outputs(model.read_bytes(), [saved[f"x_{label}"].reshape(1, 3, 16, 16)])
        assert saved[f"y_{label}"].tobytes() == want
    assert "acl-notebook:" not in r.stderr


def test_a_layer_updates_its_state_in_place_and_feeds_the_next_layer(env_with_device):
    """The zero-copy layer chain of a public RWKV engine: a state input and the matching state
    output are one device buffer (updated in place each run), and a layer's output buffer is the
    next layer's input, with no copy between. Each run reads every input before writing."""
    from acl_notebook.om.writer import ModelSpec, TensorSpec

    acl, session = env_with_device
    spec = ModelSpec(name="layer", inputs=[TensorSpec("x", (1, 8), "float32", "ND"),
                                           TensorSpec("state", (1, 8), "float32", "ND")],
                     outputs=[TensorSpec("x_out", (1, 8), "float32", "ND"),
                              TensorSpec("state_out", (1, 8), "float32", "ND")])
    data = write_om(spec)
    ids = [acl.mdl.load_from_mem(acl.util.bytes_to_ptr(data), len(data))[0] for _ in range(2)]
    x_dev, mid_dev, out_dev, s0_dev, s1_dev = (acl.rt.malloc(32, 0)[0] for _ in range(5))
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8)
    start = np.full((1, 8), 0.25, np.float32)
    for dev, host in ((x_dev, x), (s0_dev, start), (s1_dev, start)):
        assert acl.rt.memcpy(dev, 32, host.ctypes.data, 32, 1) == 0

    def dataset(*ptrs):
        ds = acl.mdl.create_dataset()
        for p in ptrs:
            acl.mdl.add_dataset_buffer(ds, acl.create_data_buffer(p, 32))
        return ds

    layers = [(ids[0], dataset(x_dev, s0_dev), dataset(mid_dev, s0_dev)),
              (ids[1], dataset(mid_dev, s1_dev), dataset(out_dev, s1_dev))]

    def read(dev):
        host = np.empty((1, 8), np.float32)
        assert acl.rt.memcpy(host.ctypes.data, 32, dev, 32, 2) == 0
        return host

    m = session.load(data, name="expected")
    states = [start, start]
    for _ in range(3):  # the states carry over from step to step
        for model_id, ins, outs in layers:
            assert acl.mdl.execute(model_id, ins, outs) == 0
        mid, states[0] = m.run([x, states[0]])
        out, states[1] = m.run([mid, states[1]])
        assert read(mid_dev).tobytes() == mid.tobytes() and read(out_dev).tobytes() == out.tobytes()
        assert read(s0_dev).tobytes() == states[0].tobytes() and read(s1_dev).tobytes() == states[1].tobytes()


def test_calls_an_older_cann_lacks_return_200001_not_an_exception(monkeypatch, tmp_path_factory, tmp_path):
    """On a libascendcl without aclmdlGetDescFromMem (and the other newer symbols) a model
    inspector's get_desc_from_file / get_desc_from_mem return ACL_ERROR_API_NOT_SUPPORT, as
    device_get_stream_priority_range does, instead of raising FunctionNotFoundError out of
    the program; so do create_stream_with_config and create_event_ex_with_flag."""
    from abi_lib import FakeAclControl, build_fake_acl, cann_root
    from pyacl_helpers import pyacl_installed

    from acl_notebook.session import Config, Session

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi-old", "old")
    FakeAclControl(lib).reset()
    monkeypatch.setenv("ASCEND_HOME_PATH", str(cann_root(lib)))
    file = write(tmp_path, classifier_spec())
    path, data = str(file), file.read_bytes()
    session = Session(Config(backend="acl"))
    try:
        with pyacl_installed(session, set_device=True) as acl:
            desc = acl.mdl.create_desc()
            assert acl.mdl.get_desc_from_file(desc, path) == 200001
            message = acl.get_recent_err_msg()  # the program's call, and the symbol this CANN lacks
            assert message.startswith("aclmdlGetDescFromFile failed:") and "aclmdlGetDescFromMem is not" in message
            assert acl.mdl.get_desc_from_mem(desc, acl.util.bytes_to_ptr(data), len(data)) == 200001
            message = acl.get_recent_err_msg()  # an ACL call, never the bridge's 'get_desc_from_mem'
            assert message.startswith("aclmdlGetDescFromMem failed:") and "is not exported" in message, message
            assert acl.mdl.get_num_inputs(desc) == 0  # cleared, as ACL clears it first
            assert acl.rt.create_stream_with_config(0, 0)[1] == 200001
            assert acl.rt.create_event_ex_with_flag(0)[1] == 200001
            model_id, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(data), len(data))
            assert ret == 0 and acl.mdl.get_desc(desc, model_id) == 0 and acl.mdl.get_num_inputs(desc) == 1
            assert acl.mdl.unload(model_id) == 0 and acl.mdl.destroy_desc(desc) == 0
    finally:
        session.shutdown()
