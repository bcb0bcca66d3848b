"""Loads through a config handle (acl.mdl.create_config_handle / set_config_opt /
load_with_config / destroy_config_handle), on both backends, and a program in the samples'
memory-pool style run through `python -m acl_notebook.pyacl`.

Every load type reaches the runtime as one aclmdlLoadWithConfig, the model joins the registry
as the program's, runs, and leaves at unload; every refusal is ACL's code and leaves nothing
loaded.
"""

from __future__ import annotations

import ctypes
import mmap

import numpy as np
import pytest
from pyacl_helpers import (
    ACL_HBM_MEM,
    D2H,
    H2D,
    classifier_spec,
    image,
    outputs_on,
    pyacl_installed,
    run_program,
    simulated_outputs,
    write,
)

from acl_notebook.om.writer import write_om

PRIORITY, LOAD_TYPE, PATH, MEM_ADDR, MEM_SIZE, WEIGHT_ADDR, WEIGHT_SIZE, WORK_ADDR, WORK_SIZE = range(9)
INPUTQ_NUM, INPUTQ_ADDR, OUTPUTQ_NUM, OUTPUTQ_ADDR, MEM_OPTIMIZE, WEIGHT_PATH = range(9, 15)
WITHOUT_GRAPH = 28
FROM_FILE, FROM_FILE_WITH_MEM, FROM_MEM, FROM_MEM_WITH_MEM, FROM_FILE_WITH_Q, FROM_MEM_WITH_Q = range(1, 7)
MODES = {"file": FROM_FILE, "file_with_mem": FROM_FILE_WITH_MEM, "mem": FROM_MEM, "mem_with_mem": FROM_MEM_WITH_MEM}


@pytest.fixture
def env_with_model(env_with_device, tmp_path):
    """`env_with_device` and the path of a classifier .om written for it."""
    acl, session = env_with_device
    return acl, session, write(tmp_path, classifier_spec())


def configure(acl, options) -> int:
    handle = acl.mdl.create_config_handle()
    assert handle
    for attr, value in options:
        assert acl.mdl.set_config_opt(handle, attr, value) == 0, (attr, value, acl.get_recent_err_msg())
    return handle


def source_options(acl, mode, path, om):
    """The options naming the model: its path, or its bytes' address and size."""
    if mode.startswith("file"):
        return [(PATH, str(path))]
    return [(MEM_ADDR, acl.util.bytes_to_ptr(om)), (MEM_SIZE, len(om))]


def run_once(acl, model_id, x):
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc(desc, model_id) == 0
    sizes = [acl.mdl.get_input_size_by_index(desc, 0), acl.mdl.get_output_size_by_index(desc, 0)]
    (in_ptr, _), (out_ptr, _) = (acl.rt.malloc(n, 0) for n in sizes)
    datasets = []
    for ptr, size in ((in_ptr, sizes[0]), (out_ptr, sizes[1])):
        ds = acl.mdl.create_dataset()
        buf = acl.create_data_buffer(ptr, size)
        assert acl.mdl.add_dataset_buffer(ds, buf)[1] == 0
        datasets.append((ds, buf))
    data = x.tobytes()
    assert acl.rt.memcpy(in_ptr, sizes[0], acl.util.bytes_to_ptr(data), len(data), H2D) == 0
    assert acl.mdl.execute(model_id, datasets[0][0], datasets[1][0]) == 0
    host = bytes(sizes[1])
    assert acl.rt.memcpy(acl.util.bytes_to_ptr(host), sizes[1], out_ptr, sizes[1], D2H) == 0
    for ds, buf in datasets:
        assert acl.destroy_data_buffer(buf) == 0 and acl.mdl.destroy_dataset(ds) == 0
    assert acl.rt.free(in_ptr) == 0 and acl.rt.free(out_ptr) == 0 and acl.mdl.destroy_desc(desc) == 0
    return host


@pytest.mark.parametrize("mode", list(MODES))
def test_each_load_type_loads_runs_shows_as_pyacl_and_unloads(env_with_model, mode):
    acl, session, path = env_with_model
    om = path.read_bytes()
    options = [(LOAD_TYPE, MODES[mode]), (PRIORITY, 3), *source_options(acl, mode, path, om)]
    pool = []
    if mode.endswith("with_mem"):
        work, weight, ret = acl.mdl.query_size(str(path))
        assert ret == 0
        pool = [acl.rt.malloc(work, 0)[0], acl.rt.malloc(weight, 0)[0]]
        options += [(WORK_ADDR, pool[0]), (WORK_SIZE, work), (WEIGHT_ADDR, pool[1]), (WEIGHT_SIZE, weight)]
    handle = configure(acl, options)
    model_id, ret = acl.mdl.load_with_config(handle)
    assert ret == 0, acl.get_recent_err_msg()
    assert acl.mdl.destroy_config_handle(handle) == 0  # the model does not need the handle any more
    (model,) = session.models()
    assert model.id == model_id and model.origin == "pyACL"
    assert model.source.startswith(f"pyACL load_with_config FROM_{mode.upper()} ")
    assert model.source.endswith("priority 3")
    x = image()
    assert run_once(acl, model_id, x) == outputs_on(session, om, [x])[0]
    assert acl.mdl.unload(model_id) == 0
    assert list(session.models()) == []
    for ptr in pool:
        assert acl.rt.free(ptr) == 0


def test_with_mem_loads_take_the_programs_memory_not_more(env_with_model):
    acl, session, path = env_with_model
    work, weight, _ = acl.mdl.query_size(str(path))
    free0, _, _ = acl.rt.get_mem_info(ACL_HBM_MEM)
    plain, ret = acl.mdl.load_with_config(configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(path))]))
    assert ret == 0
    free1, _, _ = acl.rt.get_mem_info(ACL_HBM_MEM)
    assert free0 - free1 == work + weight  # ACL allocated both itself
    work_ptr, _ = acl.rt.malloc(work, 0)
    weight_ptr, _ = acl.rt.malloc(weight, 0)
    free2, _, _ = acl.rt.get_mem_info(ACL_HBM_MEM)
    own, ret = acl.mdl.load_with_config(configure(acl, [
        (LOAD_TYPE, FROM_FILE_WITH_MEM), (PATH, str(path)), (WORK_ADDR, work_ptr), (WORK_SIZE, work),
        (WEIGHT_ADDR, weight_ptr), (WEIGHT_SIZE, weight)]))
    assert ret == 0, acl.get_recent_err_msg()
    assert acl.rt.get_mem_info(ACL_HBM_MEM)[0] == free2  # it runs in the program's memory
    # the registry charges that memory to the model, as for load_from_file_with_mem
    models = {m.id: m for m in session.models()}
    assert models[own].memory >= work + weight
    assert acl.mdl.unload(plain) == 0 and acl.mdl.unload(own) == 0
    assert acl.rt.free(work_ptr) == 0 and acl.rt.free(weight_ptr) == 0


def test_only_the_weight_supplied_leaves_the_work_memory_to_acl(env_with_model):
    acl, session, path = env_with_model
    work, weight, _ = acl.mdl.query_size(str(path))
    weight_ptr, _ = acl.rt.malloc(weight, 0)
    free0, _, _ = acl.rt.get_mem_info(ACL_HBM_MEM)
    om = path.read_bytes()
    model_id, ret = acl.mdl.load_with_config(configure(acl, [
        (LOAD_TYPE, FROM_MEM_WITH_MEM), (MEM_ADDR, acl.util.bytes_to_ptr(om)), (MEM_SIZE, len(om)),
        (WEIGHT_ADDR, weight_ptr), (WEIGHT_SIZE, weight)]))
    assert ret == 0, acl.get_recent_err_msg()
    assert free0 - acl.rt.get_mem_info(ACL_HBM_MEM)[0] == work
    assert acl.mdl.unload(model_id) == 0 and acl.rt.free(weight_ptr) == 0


def test_plain_load_types_ignore_memory_options(env_with_model):
    # FROM_FILE / FROM_MEM pass no work or weight memory to the runtime whatever is set (ACL's switch)
    acl, session, path = env_with_model
    work, weight, _ = acl.mdl.query_size(str(path))
    free0, _, _ = acl.rt.get_mem_info(ACL_HBM_MEM)
    model_id, ret = acl.mdl.load_with_config(configure(acl, [
        (LOAD_TYPE, FROM_FILE), (PATH, str(path)), (WORK_ADDR, 0xDEAD000), (WORK_SIZE, 1 << 40)]))
    assert ret == 0, acl.get_recent_err_msg()
    assert free0 - acl.rt.get_mem_info(ACL_HBM_MEM)[0] == work + weight
    assert acl.mdl.unload(model_id) == 0


def test_priority_reaches_the_runtime(acl_rig, tmp_path):
    session = acl_rig.session(soc="Ascend910B1")
    path = write(tmp_path, classifier_spec())
    with pyacl_installed(session, set_device=True) as acl:
        model_id, ret = acl.mdl.load_with_config(configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(path)),
                                                                 (PRIORITY, 6)]))
        assert ret == 0
        assert acl_rig.control.last_priority() == 6
        assert acl.mdl.unload(model_id) == 0
        model_id, ret = acl.mdl.load_with_config(configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(path))]))
        assert ret == 0 and acl_rig.control.last_priority() is None  # not set: not passed
        assert acl.mdl.unload(model_id) == 0


@pytest.mark.parametrize("attr, value, why", [
    (15, 1, "not a model-load option"),  # MODEL_DESC_PTR .. FIFO_SIZET are not settable
    (25, 0, "not a model-load option"),  # MEM_MALLOC_POLICY_SIZET: "not supported in this version"
    (29, 1, "not a model-load option"),
    (-1, 1, "not a model-load option"),
    (0xFFFF, 1, "not a model-load option"),
    (WITHOUT_GRAPH, 1, "4-byte"),
    (PRIORITY, 8, "priority 8"),
    (PRIORITY, -1, "priority -1"),
    (LOAD_TYPE, 0, "load type 0"),
    (LOAD_TYPE, 7, "load type 7"),
    (MEM_ADDR, 0, "NULL"),
    (WEIGHT_PATH, 0, "NULL"),
    (INPUTQ_ADDR, 0, "NULL"),
    (OUTPUTQ_ADDR, 0, "NULL"),
    (MEM_OPTIMIZE, 2, "0 or 1"),
])
def test_set_config_opt_refuses_what_acl_refuses(env_with_model, attr, value, why):
    acl, _, _ = env_with_model
    handle = acl.mdl.create_config_handle()
    assert acl.mdl.set_config_opt(handle, attr, value) == 100000
    message = acl.get_recent_err_msg()
    assert "aclmdlSetConfigOpt" in message and "100000" in message and why in message
    # the refused option is not recorded: the handle is as it was
    assert acl.mdl.load_with_config(handle) == (0, 100000)
    assert "LOAD_TYPE_SIZET is not set" in acl.get_recent_err_msg()
    assert acl.mdl.destroy_config_handle(handle) == 0


def test_options_acl_takes_even_when_this_image_has_no_use_for_them(env_with_model):
    acl, _, _ = env_with_model
    handle = acl.mdl.create_config_handle()
    for attr, value in ((MEM_OPTIMIZE, 0), (MEM_OPTIMIZE, 1), (WORK_ADDR, 0), (WEIGHT_ADDR, 0), (INPUTQ_NUM, 2),
                        (OUTPUTQ_NUM, 1), (PRIORITY, 0), (PRIORITY, 7), (LOAD_TYPE, FROM_MEM_WITH_Q)):
        assert acl.mdl.set_config_opt(handle, attr, value) == 0, attr
    assert acl.mdl.destroy_config_handle(handle) == 0


def test_arguments_pyacl_cannot_parse_raise_type_error(env_with_model):
    acl, _, path = env_with_model
    handle = acl.mdl.create_config_handle()
    with pytest.raises(TypeError):
        acl.mdl.set_config_opt(handle, PATH, 12345)  # PATH_PTR is a str
    with pytest.raises(TypeError):
        acl.mdl.set_config_opt(handle, MEM_ADDR, "0x1000")
    with pytest.raises(TypeError):
        acl.mdl.set_config_opt(handle, PRIORITY, 2**31)  # a C int
    with pytest.raises(TypeError):
        acl.mdl.set_config_opt("handle", LOAD_TYPE, 1)
    with pytest.raises(TypeError):
        acl.mdl.load_with_config(None)
    assert acl.mdl.destroy_config_handle(handle) == 0


@pytest.mark.parametrize("handle", [0, 12345, 0xC0F1600000 + 0x40 * 999])
def test_made_up_handles_get_acls_code(env_with_model, handle):
    acl, session, path = env_with_model
    assert acl.mdl.set_config_opt(handle, LOAD_TYPE, FROM_FILE) == 100000
    assert acl.mdl.load_with_config(handle) == (0, 100000)
    assert acl.mdl.destroy_config_handle(handle) == 100000
    assert "not a live" in acl.get_recent_err_msg()


def test_a_destroyed_handle_is_stale(env_with_model):
    acl, session, path = env_with_model
    handle = configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(path))])
    assert acl.mdl.destroy_config_handle(handle) == 0
    assert acl.mdl.destroy_config_handle(handle) == 100000
    assert acl.mdl.set_config_opt(handle, PRIORITY, 1) == 100000
    assert acl.mdl.load_with_config(handle) == (0, 100000)
    assert list(session.models()) == []


def test_one_handle_loads_the_model_again(env_with_model):
    # the handle only records options: loading twice gives two models, as in ACL
    acl, session, path = env_with_model
    handle = configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(path))])
    first, ret1 = acl.mdl.load_with_config(handle)
    second, ret2 = acl.mdl.load_with_config(handle)
    assert (ret1, ret2) == (0, 0) and first != second
    assert sorted(m.id for m in session.models()) == sorted([first, second])
    assert acl.mdl.unload(first) == 0 and acl.mdl.unload(second) == 0
    assert acl.mdl.destroy_config_handle(handle) == 0


@pytest.mark.parametrize("options, why", [
    ([(PATH, "x.om")], "LOAD_TYPE_SIZET is not set"),
    ([(LOAD_TYPE, FROM_FILE)], "needs ACL_MDL_PATH_PTR"),
    ([(LOAD_TYPE, FROM_FILE_WITH_MEM), (MEM_ADDR, 0x1000), (MEM_SIZE, 10)], "needs ACL_MDL_PATH_PTR"),
    ([(LOAD_TYPE, FROM_FILE), (PATH, "{path}"), (WEIGHT_PATH, 0x1000)], "must not set ACL_MDL_WEIGHT_PATH_PTR"),
    ([(LOAD_TYPE, FROM_MEM), (MEM_ADDR, 0x1000)], "MEM_ADDR_PTR and ACL_MDL_MEM_SIZET"),
    ([(LOAD_TYPE, FROM_MEM), (MEM_SIZE, 100)], "MEM_ADDR_PTR and ACL_MDL_MEM_SIZET"),
    ([(LOAD_TYPE, FROM_MEM_WITH_MEM), (MEM_ADDR, 0x1000), (MEM_SIZE, 10), (WEIGHT_PATH, 0x1000)],
     "FROM_MEM_WITH_MEM must not set"),
    ([(LOAD_TYPE, FROM_FILE_WITH_Q), (PATH, "{path}"), (INPUTQ_NUM, 1)], "INPUTQ and OUTPUTQ"),
])
def test_an_incomplete_config_is_refused_before_anything_loads(env_with_model, options, why):
    acl, session, path = env_with_model
    options = [(a, v.format(path=path) if isinstance(v, str) else v) for a, v in options]
    assert acl.mdl.load_with_config(configure(acl, options)) == (0, 100000)
    message = acl.get_recent_err_msg()
    assert "aclmdlLoadWithConfig" in message and why in message
    assert list(session.models()) == []


def test_a_complete_queue_load_is_not_supported(env_with_model):
    acl, session, path = env_with_model
    handle = configure(acl, [(LOAD_TYPE, FROM_FILE_WITH_Q), (PATH, str(path)), (INPUTQ_ADDR, 0x1000),
                             (INPUTQ_NUM, 1), (OUTPUTQ_ADDR, 0x2000), (OUTPUTQ_NUM, 1)])
    assert acl.mdl.load_with_config(handle) == (0, 200001)
    assert "acltdt queues" in acl.get_recent_err_msg()
    assert list(session.models()) == []


def test_the_load_itself_gives_the_runtimes_codes(env_with_model, tmp_path):
    acl, session, path = env_with_model
    # no file there: the path code, as load_from_file gives it
    assert acl.mdl.load_with_config(configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(tmp_path / "no.om"))])) \
        == (0, 145002)
    # not an OM file
    junk = tmp_path / "junk.om"
    junk.write_bytes(b"\0" * 1024)
    assert acl.mdl.load_with_config(configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(junk))]))[1] == 145006
    # a made-up model address: refused (100000), never read
    assert acl.mdl.load_with_config(configure(acl, [(LOAD_TYPE, FROM_MEM), (MEM_ADDR, 0x10), (MEM_SIZE, 4096)])) \
        == (0, 100000)
    # unmapped memory (the program closed the mmap its model was in) is refused too
    om = path.read_bytes()
    region = mmap.mmap(-1, len(om))
    region.write(om)
    address = ctypes.addressof(ctypes.c_char.from_buffer(region))
    handle = configure(acl, [(LOAD_TYPE, FROM_MEM), (MEM_ADDR, address), (MEM_SIZE, len(om))])
    region.close()
    assert acl.mdl.load_with_config(handle) == (0, 100000)
    # work memory that is not device memory, and too little of it
    work, weight, _ = acl.mdl.query_size(str(path))
    host = bytearray(work)
    assert acl.mdl.load_with_config(configure(acl, [
        (LOAD_TYPE, FROM_FILE_WITH_MEM), (PATH, str(path)), (WORK_ADDR, acl.util.bytes_to_ptr(bytes(host))),
        (WORK_SIZE, work)]))[1] == 107000
    small, _ = acl.rt.malloc(work // 2, 0)
    assert acl.mdl.load_with_config(configure(acl, [
        (LOAD_TYPE, FROM_FILE_WITH_MEM), (PATH, str(path)), (WORK_ADDR, small), (WORK_SIZE, work // 2)]))[1] == 145000
    assert list(session.models()) == []  # nothing of any of these stayed loaded
    assert acl.rt.free(small) == 0


def test_before_init_the_load_is_refused_with_the_executors_code(env_with_model):
    acl, session, path = env_with_model
    handle = configure(acl, [(LOAD_TYPE, FROM_FILE), (PATH, str(path))])
    assert acl.finalize() == 0
    assert acl.mdl.load_with_config(handle) == (0, 145001)
    assert acl.init() == 0
    model_id, ret = acl.mdl.load_with_config(handle)
    assert ret == 0 and acl.mdl.unload(model_id) == 0


def test_a_model_from_memory_is_copied_so_the_program_may_drop_its_bytes(env_with_model):
    acl, session, path = env_with_model
    om = bytearray(path.read_bytes())
    raw = (ctypes.c_char * len(om)).from_buffer(om)
    handle = configure(acl, [(LOAD_TYPE, FROM_MEM), (MEM_ADDR, ctypes.addressof(raw)), (MEM_SIZE, len(om))])
    model_id, ret = acl.mdl.load_with_config(handle)
    assert ret == 0, acl.get_recent_err_msg()
    x = image(3)
    expected = outputs_on(session, bytes(om), [x])[0]
    om[:] = b"\0" * len(om)  # the program reuses its buffer
    assert run_once(acl, model_id, x) == expected
    assert acl.mdl.unload(model_id) == 0


@pytest.mark.parametrize("mode", list(MODES))
def test_a_memory_pool_program_runs_unchanged(tmp_path, mode):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("config_load.py", str(model), str(out), mode, "2", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(f"{mode}: 3 images")
    saved = np.load(out)
    for n in range(3):
        (want,) = simulated_outputs(write_om(classifier_spec()), [saved[f"input{n}"]])
        assert saved[f"output{n}"].tobytes() == want
    assert len({saved[f"output{n}"].tobytes() for n in range(3)}) == 3
    assert "acl-notebook:" not in r.stderr  # it cleaned up: no leak report


def test_a_program_with_a_priority_acl_refuses_fails_with_acls_code(tmp_path):
    model = write(tmp_path, classifier_spec())
    r = run_program("config_load.py", str(model), str(tmp_path / "out.npz"), "mem", "8", "1")
    assert r.returncode == 1
    assert "ret=100000" in r.stderr and "priority 8" in r.stderr
