"""One truth: what a pyACL program loads and allocates is what %acl_models, acl.memory() and
the panel show, marked as the program's, and it goes away when the program releases it."""

from __future__ import annotations

import ctypes
import mmap

import numpy as np
from pyacl_helpers import HUGE_FIRST, classifier_spec, libc, run_program, write

from acl_notebook.om.reader import parse
from acl_notebook.om.writer import write_om
from acl_notebook.runtime.base import malloc_charge
from acl_notebook.session import PROGRAM_BUFFERS


def load(acl, om):
    model_id, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(om), len(om))
    assert ret == 0
    return model_id


def test_a_loaded_model_joins_the_registry_marked_as_pyacl(env_with_device):
    acl, session = env_with_device
    om = write_om(classifier_spec())
    info = parse(om)
    before = session.memory()
    model_id = load(acl, om)
    (model,) = session.models()
    assert (model.id, model.name, model.origin) == (model_id, "classifier", "pyACL")
    assert model.source.startswith("pyACL load_from_mem")
    assert model.memory == info.memory.work + info.memory.weight
    report = session.memory()
    assert report.models[0].bytes == model.memory
    assert before.free - report.free == model.memory  # the runtime's numbers agree with ours
    assert acl.mdl.unload(model_id) == 0
    assert session.models() == () and not model.loaded


def test_buffers_are_visible_then_attributed_to_the_model_they_ran(env_with_device):
    acl, session = env_with_device
    om = write_om(classifier_spec())
    model_id = load(acl, om)
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc(desc, model_id) == 0
    sizes = [acl.mdl.get_input_size_by_index(desc, 0), acl.mdl.get_output_size_by_index(desc, 0)]
    ptrs = [acl.rt.malloc(n, HUGE_FIRST)[0] for n in sizes]
    charges = sum(malloc_charge(n, HUGE_FIRST) for n in sizes)
    report = session.memory()
    assert report.programs == charges  # allocated, not yet used by a model
    session.sample()
    assert session.history.samples()[-1].per_model[PROGRAM_BUFFERS] == charges
    ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
    for ds, ptr, n in ((ins, ptrs[0], sizes[0]), (outs, ptrs[1], sizes[1])):
        acl.mdl.add_dataset_buffer(ds, acl.create_data_buffer(ptr, n))
    assert acl.mdl.execute(model_id, ins, outs) == 0
    (model,) = session.models()
    assert model.program_io == charges and model.memory == model.needs.total + charges
    assert session.memory().programs == 0
    assert acl.mdl.unload(model_id) == 0
    assert session.memory().programs == charges  # the program's again, until freed
    for p in ptrs:
        assert acl.rt.free(p) == 0
    assert session.memory().programs == 0


def test_outputs_acl_allocates_are_the_programs_to_free(env_with_device):
    acl, session = env_with_device
    om = write_om(classifier_spec())
    model_id = load(acl, om)
    desc = acl.mdl.create_desc()
    acl.mdl.get_desc(desc, model_id)
    n = acl.mdl.get_input_size_by_index(desc, 0)
    x, _ = acl.rt.malloc(n, HUGE_FIRST)
    ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
    acl.mdl.add_dataset_buffer(ins, acl.create_data_buffer(x, n))
    out_buf = acl.create_data_buffer(0, 0)  # ACL allocates the output during a sync execute
    acl.mdl.add_dataset_buffer(outs, out_buf)
    assert acl.mdl.execute(model_id, ins, outs) == 0
    addr = acl.get_data_buffer_addr(out_buf)
    assert addr and acl.get_data_buffer_size_v2(out_buf) == 40
    (model,) = session.models()
    assert model.program_io == malloc_charge(n, 0) + malloc_charge(40, 0)
    assert acl.rt.free(addr) == 0  # the caller frees it, as ACL documents
    assert session.models()[0].program_io == malloc_charge(n, 0)


def test_the_panel_shows_the_programs_model_and_drops_it_on_unload(env_with_device):
    from acl_notebook.widgets.panel import Panel

    acl, session = env_with_device
    panel = Panel(session=session, autostart=False)
    try:
        model_id = load(acl, write_om(classifier_spec()))
        assert panel.tabs.titles == ("classifier",)
        assert "pyACL load_from_mem" in panel.tabs.children[0].children[1].value
        assert "classifier" in panel.memory_view.value
        assert acl.mdl.unload(model_id) == 0
        assert panel.tabs.titles == ()
    finally:
        panel.close()


def test_the_notebook_can_unload_a_programs_model_in_its_context(env_with_device):
    acl, session = env_with_device
    ctx, _ = acl.rt.create_context(0)
    model_id = load(acl, write_om(classifier_spec()))
    session.unload(model_id)  # %acl_unload: done in the program's context, as ACL needs
    assert session.models() == ()
    assert acl.mdl.unload(model_id) == 145003  # what ACL says when someone else unloaded it
    assert acl.rt.get_context() == (ctx, 0)


def test_the_program_may_drop_the_model_bytes_after_loading(env_with_device):
    acl, session = env_with_device
    om = write_om(classifier_spec())
    ptr = acl.util.bytes_to_ptr(om)
    model_id, ret = acl.mdl.load_from_mem(ptr, len(om))
    del om  # ACL copied what it needs
    assert ret == 0
    desc = acl.mdl.create_desc()
    assert acl.mdl.get_desc(desc, model_id) == 0
    pages = libc.mmap(None, mmap.PAGESIZE, 3, 0x22, -1, 0)  # PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS
    arr = np.ctypeslib.as_array((ctypes.c_uint8 * mmap.PAGESIZE).from_address(pages))
    gone = acl.util.numpy_contiguous_to_ptr(arr)
    del arr
    assert libc.munmap(pages, mmap.PAGESIZE) == 0
    assert acl.mdl.load_from_mem(gone, 100) == (0, 100000)  # a pointer into memory that is gone
    assert acl.mdl.unload(model_id) == 0


def test_a_program_that_leaks_is_reported(tmp_path):
    model = write(tmp_path, classifier_spec())
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        "import sys, acl\n"
        "acl.init(); acl.rt.set_device(0)\n"
        "model_id, ret = acl.mdl.load_from_file(sys.argv[1])\n"
        "ptr, ret = acl.rt.malloc(1 << 20, 0)\n"
        "import acl_notebook\n"
        "m, = acl_notebook.models()\n"
        "print(m.origin, m.name, acl_notebook.memory().programs)\n"
    )
    r = run_program(str(leaky), str(model))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["pyACL", "classifier", str(malloc_charge(1 << 20, 0))]
    assert "1 model(s) loaded: classifier (id 1)" in r.stderr
    assert "1 device allocation(s) not freed (1.0 MiB)" in r.stderr
    quiet = run_program(str(leaky), str(model), runner_args=["--no-leak-report"])
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_program_that_cleans_up_leaves_nothing(tmp_path):
    model = write(tmp_path, classifier_spec())
    check = tmp_path / "check.py"
    check.write_text(
        "import runpy, sys\n"
        "import acl_notebook\n"
        "sys.argv = [sys.argv[1], *sys.argv[2:]]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "s = acl_notebook.memory()\n"
        "print(len(acl_notebook.models()), s.programs, s.models)\n"
    )
    from pyacl_helpers import PROGRAMS

    r = run_program(str(check), str(PROGRAMS / "classify.py"), str(model), str(tmp_path / "o.npz"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "0 0 ()"
    assert np.load(tmp_path / "o.npz")["output0"].shape == (1, 10)
