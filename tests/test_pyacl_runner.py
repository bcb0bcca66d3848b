"""`python -m acl_notebook.pyacl SCRIPT ARGS` runs SCRIPT exactly as `python SCRIPT ARGS` would,
with `import acl` giving acl-notebook's image; `install()` / `uninstall()` do it in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pyacl_helpers import classifier_spec, outputs_on, run_program, write

from acl_notebook import pyacl

PROBE = textwrap.dedent("""
    import json, os, sys
    try:
        import acl
    except ImportError:  # plain python on a machine without CANN
        acl = None
    print(json.dumps({"argv": sys.argv, "path0": sys.path[0], "name": __name__, "file": __file__,
                      "image": getattr(acl, "__acl_notebook__", False), "acl_file": getattr(acl, "__file__", ""),
                      "cwd": os.getcwd()}))
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
""")


@pytest.fixture
def probe(tmp_path):
    folder = tmp_path / "prog"
    folder.mkdir()
    script = folder / "probe.py"
    script.write_text(PROBE)
    return script


def test_the_script_sees_what_python_gives_a_script(probe, tmp_path):
    r = run_program(str(probe), "3", "--flag", "x y", cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    seen = json.loads(r.stdout)
    assert seen["argv"] == [str(probe), "3", "--flag", "x y"]
    assert seen["path0"] == str(probe.parent)
    assert seen["name"] == "__main__" and seen["file"] == str(probe)
    assert seen["image"] is True and seen["cwd"] == str(tmp_path)
    plain = subprocess.run([sys.executable, str(probe), "3", "--flag", "x y"], capture_output=True, text=True,
                           cwd=tmp_path)
    mine, theirs = json.loads(r.stdout), json.loads(plain.stdout)
    for key in ("argv", "path0", "name", "file", "cwd"):
        assert mine[key] == theirs[key], key
    assert plain.returncode == r.returncode


def test_a_relative_script_path_and_its_sibling_modules(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    (tmp_path / "main.py").write_text("import sys, helper\nprint(sys.argv[0], helper.VALUE)\n")
    r = run_program("main.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["main.py", "42"]


def test_an_uncaught_exception_exits_1_with_the_scripts_traceback(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("def f():\n    raise KeyError('nope')\n\nf()\n")
    r = run_program(str(script))
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert r.returncode == plain.returncode == 1
    assert r.stderr.splitlines()[0] == "Traceback (most recent call last):"
    assert "runpy" not in r.stderr and "acl_notebook" not in r.stderr
    assert r.stderr.splitlines()[-1] == plain.stderr.splitlines()[-1] == "KeyError: 'nope'"


def test_sys_exit_with_a_message(tmp_path):
    script = tmp_path / "bye.py"
    script.write_text("import sys\nsys.exit('bad input')\n")
    r = run_program(str(script))
    assert r.returncode == 1 and r.stderr.strip() == "bad input"


def test_a_missing_script_is_exit_2(tmp_path):
    r = run_program(str(tmp_path / "nope.py"))
    assert r.returncode == 2 and "can't open file" in r.stderr


def test_a_real_pyacl_is_left_alone_unless_forced(probe, tmp_path):
    cann = tmp_path / "cann"
    cann.mkdir()
    (cann / "acl.py").write_text("REAL = True\n")
    env = {"PYTHONPATH": os.pathsep.join([str(cann), os.environ.get("PYTHONPATH", "")])}
    r = run_program(str(probe), env=env)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["image"] is False and seen["acl_file"] == str(cann / "acl.py")
    assert "left alone" in r.stderr and "--force" in r.stderr
    forced = run_program(str(probe), env=env, runner_args=["--force"])
    assert json.loads(forced.stdout)["image"] is True


def test_acl_notebook_backend_is_honoured(tmp_path_factory, tmp_path, monkeypatch):
    from abi_lib import build_fake_acl

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    script = tmp_path / "which.py"
    script.write_text("import acl, acl_notebook\nacl.init()\nprint(acl_notebook.info().backend)\n")
    env = {"ACL_NOTEBOOK_BACKEND": "acl", "ASCEND_HOME_PATH": str(lib.parents[1])}
    r = run_program(str(script), env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "acl"
    # the classic program, through real ctypes calls into the C library
    r = run_program("classify.py", str(model), str(out), env=env)
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    from acl_notebook.session import Config, Session

    monkeypatch.setenv("ASCEND_HOME_PATH", env["ASCEND_HOME_PATH"])
    same = Session(Config(backend="acl"))  # what the C library computes for that input
    try:
        (want,) = outputs_on(same, model.read_bytes(), [saved["input0"]])
    finally:
        same.shutdown()
    assert saved["output0"].tobytes() == want


def test_install_and_uninstall_in_process(monkeypatch):
    monkeypatch.delitem(sys.modules, "acl", raising=False)
    before = pyacl.real_acl_location()
    status = pyacl.install()
    try:
        if before:  # a machine with CANN: left alone unless forced
            assert not status.installed
            status = pyacl.install(force=True)
        assert status.installed and pyacl.installed()
        import acl
        import acl.rt

        assert acl.__acl_notebook__ and acl.rt is acl.rt
        assert "bytes_to_ptr" in dir(acl.util)  # how acllite probes for the newer helper
    finally:
        assert pyacl.uninstall()
    assert "acl" not in sys.modules and not pyacl.installed()
    assert not pyacl.uninstall()


def test_install_keeps_and_restores_a_real_module(monkeypatch, tmp_path):
    (tmp_path / "acl.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acl", raising=False)
    import acl as real

    assert real.REAL
    status = pyacl.install()
    assert not status.installed and status.real_acl == str(tmp_path / "acl.py")
    assert sys.modules["acl"] is real
    assert pyacl.install(force=True).installed
    assert sys.modules["acl"] is not real
    assert pyacl.uninstall()
    assert sys.modules["acl"] is real
