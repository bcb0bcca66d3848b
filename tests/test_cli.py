"""`acl-notebook inspect` / `demo-model`: JSON and text output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from om_helpers import REAL_MODELS, expected, model_path

from acl_notebook.__main__ import main
from acl_notebook.om import ModelSpec, TensorSpec, write_om_file


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", REAL_MODELS)
def test_inspect_json_matches_expect_json(capsys, name):
    code, out, err = _run(capsys, "inspect", str(model_path(name)), "--json")
    assert code == 0 and err == ""
    got = json.loads(out)
    exp = expected(name)
    for group in ("inputs", "outputs"):
        assert len(got[group]) == len(exp[group])
        for g, e in zip(got[group], exp[group]):
            assert {k: g[k] for k in e} == e
    assert got["memory"]["work"] == exp["memory"]["work"]
    assert got["memory"]["weight"] == exp["memory"]["weight"]
    if "soc_version" in exp:
        assert got["soc_version"] == exp["soc_version"]
    assert {"name", "soc_version", "inputs", "outputs", "dynamic", "memory"} <= set(got)


@pytest.mark.parametrize("name", REAL_MODELS)
def test_inspect_text_shows_the_descriptors(capsys, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping of the long output names
    code, out, err = _run(capsys, "inspect", str(model_path(name)))
    assert code == 0 and err == ""
    exp = expected(name)
    for t in exp["inputs"] + exp["outputs"]:
        assert t["name"] in out
        assert str(t["dims"]) in out
        assert t["dtype"] in out and t["format"] in out
        if "size" in t:
            assert f"{t['size']:,}" in out
    assert f"{exp['memory']['work'] + exp['memory']['weight']:,}" in out  # total memory needs
    if "soc_version" in exp:
        assert exp["soc_version"] in out


def test_inspect_text_shows_gears(capsys, tmp_path):
    path = tmp_path / "gears.om"
    write_om_file(ModelSpec(inputs=[TensorSpec("x", (-1, 3, 8, 8))], dynamic_kind="batch",
                            gears=[(1,), (6,), (12,)]), path)
    code, out, _ = _run(capsys, "inspect", str(path))
    assert code == 0
    assert "1, 6, 12" in out and "ascend_mbatch_shape_data" in out


@pytest.mark.parametrize("args, needle", [
    (["inspect", "/no/such/model.om"], "No such model file"),
    (["inspect", "/"], "directory"),
])
def test_errors_are_one_line_with_status_2(capsys, args, needle):
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("acl-notebook: error:") and needle in err
    assert "Traceback" not in err


def test_bad_file_is_one_line_with_status_2(capsys, tmp_path):
    bad = tmp_path / "notes.om"
    bad.write_text("hello, not a model\n" * 20)
    code, _, err = _run(capsys, "inspect", str(bad), "--json")
    assert code == 2
    assert err.count("\n") == 1 and "not an Ascend offline model" in err and "68 65 6c 6c 6f" in err


def test_usage_errors(capsys):
    assert main([]) == 2
    assert main(["inspect"]) == 2  # missing MODEL
    assert main(["frobnicate"]) == 2
    assert main(["--help"]) == 0
    assert "inspect" in capsys.readouterr().out


def test_demo_model(capsys, tmp_path):
    path = tmp_path / "demo.om"
    code, out, _ = _run(capsys, "demo-model", str(path), "--size-mb", "1.5")
    assert code == 0 and str(path) in out
    code, out, _ = _run(capsys, "inspect", str(path), "--json")
    info = json.loads(out)
    assert info["memory"]["weight"] == int(1.5 * (1 << 20))
    assert info["dynamic"]["kind"] == "batch" and info["inputs"][0]["dims"][0] == -1
    assert path.stat().st_size > info["memory"]["weight"]


def test_demo_model_bad_size_is_a_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "demo-model", str(tmp_path / "x.om"), "--size-mb", "-3")
    assert code == 2 and "size_mb" in err


def test_python_dash_m_entry_point():
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "acl_notebook", "inspect", str(model_path("a3c_pong_model_v2")),
                           "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"][0]["name"] == "out_a:0"
    proc = subprocess.run([sys.executable, "-m", "acl_notebook", "inspect", "/no/such.om"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("acl-notebook")
    if not script.exists():
        pytest.fail(f"{script} missing: install the package (pip install -e .) before running the tests")
    proc = subprocess.run([str(script), "inspect", str(model_path("my_122_anenet")), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["name"] == "my_122_anenet"


def test_lab_and_voila_commands_open_the_repo_notebooks(monkeypatch):
    import acl_notebook.lab as lab

    calls = []
    monkeypatch.setattr(lab, "launch_lab", lambda nb, port=None, extra_args=(), voila=False:
                        calls.append((nb, port, list(extra_args), voila)) or 0)
    assert main(["lab", "--port", "8123", "--", "--no-browser"]) == 0
    assert main(["voila"]) == 0
    assert main(["lab", "somewhere/else.ipynb"]) == 0
    (nb, port, extra, voila), (nb2, _, _, voila2), (nb3, _, _, _) = calls
    assert nb.endswith("notebooks/01-quickstart.ipynb") and port == 8123 and extra == ["--no-browser"]
    assert not voila
    assert nb2.endswith("notebooks/panel.ipynb") and voila2
    assert nb3 == "somewhere/else.ipynb"


def test_lab_with_a_missing_notebook_is_one_line(capsys):
    assert main(["lab", "no/such/notebook.ipynb"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No such notebook" in err


def test_inspect_json_carries_what_the_text_shows(capsys):
    path = model_path("my_122_anenet")
    code, out, _ = _run(capsys, "inspect", str(path), "--json")
    got = json.loads(out)
    assert code == 0 and "path" not in got  # one file: ModelInfo.to_dict() exactly
    # framework, partitions, streams and events are in the text; the JSON must have them too
    assert got["framework"] == "Onnx" and (got["stream_num"], got["event_num"]) == (1, 0)
    assert [p["name"] for p in got["partitions"]] == [
        "MODEL_INOUT_INFO", "MODEL_DEF", "WEIGHTS_DATA", "TBE_KERNELS", "TASK_INFO"]
    assert got["partitions"][2]["size"] == 2_203_648
    assert got["opp_version"] == "7.6.0.1.220" and got["header"]["platform_version"] == "1.11.z.0"
    code, text, _ = _run(capsys, "inspect", str(path))
    for p in got["partitions"]:
        assert p["name"] in text
    assert "Onnx" in text and "streams 1" in text and "events 0" in text


def test_inspect_several_files(capsys, tmp_path):
    paths = [str(model_path(n)) for n in REAL_MODELS]
    code, out, err = _run(capsys, "inspect", *paths, "--json")
    got = json.loads(out)
    assert code == 0 and err == "" and [g["path"] for g in got] == paths
    code, out, err = _run(capsys, "inspect", *paths)
    assert code == 0 and all(f"== {p}" in out for p in paths)
    # a bad file among good ones: reported, the others still shown, status 2
    missing = str(tmp_path / "gone.om")
    code, out, err = _run(capsys, "inspect", paths[0], missing, paths[1], "--json")
    assert code == 2 and [g["path"] for g in json.loads(out)] == [paths[0], paths[1]]
    assert err.count("\n") == 1 and "gone.om" in err


def test_lab_prints_an_ssh_forward_when_it_binds_to_localhost(monkeypatch):
    from acl_notebook.lab import bind_host, remote_hint

    hint = remote_hint(8899)
    monkeypatch.setattr("socket.getfqdn", lambda: "localhost")  # /etc/hosts maps the name to 127.0.0.1
    monkeypatch.setattr("socket.gethostname", lambda: "atlas-box")
    assert remote_hint(8899).split("`")[1].endswith("@atlas-box")
    assert "ssh -N -L 8899:localhost:8899 " in hint and "@" in hint
    assert remote_hint(8899, ["--ServerApp.ip=127.0.0.1"]) is not None
    assert remote_hint(8899, ["--ip=0.0.0.0"]) is None and remote_hint(8899, ["--ip", "10.0.0.5"]) is None
    assert bind_host(["--Voila.ip='0.0.0.0'"]) == "0.0.0.0" and bind_host([]) == "localhost"
