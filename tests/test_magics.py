"""The %acl_* magics, driven through a real InteractiveShell with the simulator backend.

Every error case checks three things: the cell fails with a UsageError, the output is one
line without a traceback, and the registry of loaded models is exactly what it was.
"""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from IPython.core.error import UsageError
from magics_helpers import fails_with_one_line, registry

import acl_notebook as acl
from acl_notebook import display
from acl_notebook.magics import AclMagics, parse_size
from acl_notebook.om.writer import ModelSpec, write_om
from acl_notebook.session import MemoryReport, Model, ModelList, SessionInfo

MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
PONG = MODELS / "a3c_pong_model_v2.om"  # no soc_version: loads on any SoC
LANE = MODELS / "my_122_anenet.om"  # built for Ascend310B4
MiB = 1024**2
GiB = 1024**3


def expect(path: Path) -> dict:
    return json.loads(path.with_suffix(".expect.json").read_text())


@pytest.fixture(scope="module", autouse=True)
def shared_models():
    # Fail loudly (never skip) when the shared models are missing: CI has them.
    for path in (PONG, LANE):
        assert path.is_file(), f"{path} is missing: the tests expect ../shared/models beside the repository"




# ------------------------------------------------------------------------------------------
# %acl_load
# ------------------------------------------------------------------------------------------
def test_load_by_path_assigns_the_model(ip):
    result = ip.run_cell(f"m = %acl_load {PONG}")
    assert result.success
    m = ip.user_ns["m"]
    assert isinstance(m, Model) and m.loaded and m.backend == "sim"
    want = expect(PONG)
    assert [t.name for t in m.inputs] == [t["name"] for t in want["inputs"]]
    assert list(m.inputs[0].dims) == want["inputs"][0]["dims"]
    assert m.outputs[0].dtype == want["outputs"][0]["dtype"]
    assert m.needs.work == want["memory"]["work"] and m.needs.weight == want["memory"]["weight"]
    assert m.source == str(PONG)
    assert registry() == [(m.id, m.name, 0, True)]


def test_load_lanenet_on_its_own_soc(ip):
    acl.configure(soc="Ascend310B4")
    m = ip.run_line_magic("acl_load", f"{LANE} --name lane")
    want = expect(LANE)
    assert m.name == "lane" and m.info.soc_version == want["soc_version"]
    assert [t.name for t in m.outputs] == [t["name"] for t in want["outputs"]]
    assert [t.size for t in m.outputs] == [t["size"] for t in want["outputs"]]


def test_a_loaded_model_shows_richly_in_the_cell(ip):
    m = ip.run_line_magic("acl_load", str(PONG))
    data, _ = ip.display_formatter.format(m)
    assert "out_a:0" in data["text/html"] and "<table" in data["text/html"]


@pytest.mark.parametrize(
    "make, label",
    [
        (lambda b: b, "<bytes>"),
        (bytearray, "<bytearray>"),
        (memoryview, "<memoryview>"),
        (lambda b: np.frombuffer(b, dtype=np.uint8), "<ndarray>"),
    ],
)
def test_load_from_a_variable(ip, make, label):
    ip.user_ns["blob"] = make(PONG.read_bytes())
    m = ip.run_line_magic("acl_load", "-v blob --name from_var")
    assert m.name == "from_var" and m.source == f"{label} blob"
    assert m.inputs[0].name == "s"


def test_load_from_an_mmap_variable(ip):
    with open(PONG, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        ip.user_ns["blob"] = mm
        m = ip.run_line_magic("acl_load", "-v blob")
        assert m.source == "<mmap> blob"
        acl.unload(m)
        ip.user_ns.pop("blob")


def test_a_bare_variable_name_loads_that_variable(ip):
    ip.user_ns["blob"] = PONG.read_bytes()
    m = ip.run_line_magic("acl_load", "blob --device 1")
    assert m.device == 1 and m.source == "<bytes> blob"


def test_a_variable_holding_a_path_loads_the_file(ip):
    ip.user_ns["p"] = str(PONG)
    assert ip.run_line_magic("acl_load", "-v p").source == str(PONG)


@pytest.fixture
def odd_dir(tmp_path):
    """A directory whose name has spaces and a quote, holding a symlink to the pong model."""
    folder = tmp_path / "my model's dir"
    folder.mkdir()
    (folder / "pong v2.om").symlink_to(PONG)
    return folder


def test_paths_with_spaces_and_quotes(ip, odd_dir):
    path = odd_dir / "pong v2.om"
    first = ip.run_line_magic("acl_load", f'"{path}" --name quoted')
    escaped = str(path).replace(" ", "\\ ").replace("'", "\\'")
    second = ip.run_line_magic("acl_load", f"{escaped} --name escaped")
    third = ip.run_line_magic("acl_load", f"{path} --name bare")
    assert first.source == second.source == third.source == str(path)
    assert [m.name for m in acl.models()] == ["quoted", "escaped", "bare"]


def test_tilde_is_expanded(ip, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "pong.om").symlink_to(PONG)
    m = ip.run_line_magic("acl_load", "~/pong.om")
    assert m.source == str(tmp_path / "pong.om")


def test_force_skips_the_pre_check(ip, capsys):
    acl.configure(soc="Ascend310B4", memory=12 * MiB)
    refused = fails_with_one_line(ip, capsys, f"%acl_load {LANE}")
    assert refused.startswith("UsageError: Model 'my_122_anenet' needs 12.9 MiB")
    # With --force the pre-check is skipped and the runtime's own refusal is shown.
    forced = fails_with_one_line(ip, capsys, f"%acl_load {LANE} --force")
    assert "ACL_ERROR_RT_MEMORY_ALLOCATION (207001)" in forced
    assert registry() == []


def test_priority_loads_through_the_config_path(ip):
    m = ip.run_line_magic("acl_load", f"{PONG} --priority 1")
    assert m.loaded and registry() == [(m.id, m.name, 0, True)]


def test_load_help_prints_usage(ip, capsys):
    capsys.readouterr()
    assert ip.run_line_magic("acl_load", "--help") is None
    out = capsys.readouterr().out
    assert "%acl_load" in out and "--force" in out and "--var" in out
    assert registry() == []


def test_every_magic_has_help_text():
    for name in ("acl_load", "acl_unload", "acl_models", "acl_desc", "acl_mem", "acl_info", "acl_config",
                 "acl_panel"):
        doc = getattr(AclMagics, name).__doc__
        assert f"%{name}" in doc and len(doc.splitlines()) > 3, name


# ------------------------------------------------------------------------------------------
# errors: one line, registry untouched
# ------------------------------------------------------------------------------------------
@pytest.fixture
def two_loaded(ip):
    ip.run_line_magic("acl_load", f"{PONG} --name a")
    ip.run_line_magic("acl_load", f"{PONG} --name b --device 1")
    return registry()


def test_missing_file(ip, capsys, two_loaded):
    line = fails_with_one_line(ip, capsys, "%acl_load no/such/model.om")
    assert line.startswith("UsageError: No such model file: no/such/model.om (working directory: ")
    assert "Error:" not in line.removeprefix("UsageError:")
    assert registry() == two_loaded


def test_not_an_om_file(ip, capsys, two_loaded, tmp_path):
    junk = tmp_path / "notes.om"
    junk.write_bytes(b"PK\x03\x04 this is a zip, not a model" * 20)
    line = fails_with_one_line(ip, capsys, f"%acl_load {junk}")
    assert line.startswith("UsageError: This is an OM2 zip package") and "IMOD" in line
    assert registry() == two_loaded


def test_a_directory(ip, capsys, two_loaded, tmp_path):
    line = fails_with_one_line(ip, capsys, f"%acl_load {tmp_path}")
    assert "is a directory" in line and "Error" not in line.removeprefix("UsageError:")
    assert registry() == two_loaded


def test_out_of_device_memory_names_what_to_unload(ip, capsys):
    acl.configure(soc="Ascend310B4", memory=24 * MiB)
    ip.run_line_magic("acl_load", f"{LANE} --name first")
    before = registry()
    line = fails_with_one_line(ip, capsys, f"%acl_load {LANE} --name second")
    assert line.startswith("UsageError: Model 'second' needs 12.9 MiB") and "unload first" in line
    assert registry() == before


def test_unknown_model(ip, capsys, two_loaded):
    line = fails_with_one_line(ip, capsys, "%acl_unload nosuch")
    assert "nosuch" in line and "a (id" in line and "b (id" in line
    assert registry() == two_loaded


def test_unloading_several_checks_them_all_first(ip, capsys, two_loaded):
    fails_with_one_line(ip, capsys, "%acl_unload a nosuch")
    assert registry() == two_loaded


def test_wrong_device(ip, capsys, two_loaded):
    line = fails_with_one_line(ip, capsys, f"%acl_load {PONG} --device 7")
    assert "UsageError: Device 7 does not exist" in line and "0..1" in line
    assert registry() == two_loaded
    fails_with_one_line(ip, capsys, "%acl_mem --device 9")


def test_bad_arguments(ip, capsys, two_loaded):
    fails_with_one_line(ip, capsys, f"%acl_load {PONG} --device one")
    fails_with_one_line(ip, capsys, "%acl_load")
    fails_with_one_line(ip, capsys, f"%acl_load {PONG} -v blob")
    assert "nosuchvar" in fails_with_one_line(ip, capsys, "%acl_load -v nosuchvar")
    ip.user_ns["blob"] = 42
    assert "Cannot read a model from an int" in fails_with_one_line(ip, capsys, "%acl_load -v blob")
    assert "already loaded" in fails_with_one_line(ip, capsys, f"%acl_load {PONG} --name a")
    assert registry() == two_loaded


def test_unexpected_internal_errors_are_not_hidden(ip, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal bug")

    monkeypatch.setattr("acl_notebook.api.load", broken)
    with pytest.raises(RuntimeError, match="internal bug"):
        ip.run_line_magic("acl_load", str(PONG))


# ------------------------------------------------------------------------------------------
# %acl_unload, %acl_models, %acl_desc
# ------------------------------------------------------------------------------------------
def test_unload_by_name_and_by_id(ip, two_loaded):
    (id_a, *_), (id_b, *_) = two_loaded
    gone = ip.run_line_magic("acl_unload", "a")
    assert isinstance(gone, Model) and gone.name == "a" and not gone.loaded
    gone = ip.run_line_magic("acl_unload", str(id_b))
    assert gone.name == "b" and registry() == []


def test_unload_several_and_all(ip, two_loaded):
    ip.run_line_magic("acl_load", f"{PONG} --name c")
    both = ip.run_line_magic("acl_unload", "a c")
    assert isinstance(both, ModelList) and [m.name for m in both] == ["a", "c"]
    rest = ip.run_line_magic("acl_unload", "--all")
    assert [m.name for m in rest] == ["b"] and all(not m.loaded for m in rest)
    assert registry() == []
    assert ip.run_line_magic("acl_unload", "--all") == ()


def test_unload_needs_a_target(ip, capsys, two_loaded):
    line = fails_with_one_line(ip, capsys, "%acl_unload")
    assert "a (id" in line
    fails_with_one_line(ip, capsys, "%acl_unload a --all")
    assert registry() == two_loaded


def test_models_lists_in_load_order(ip, two_loaded):
    listed = ip.run_line_magic("acl_models", "")
    assert isinstance(listed, ModelList)
    assert [(m.id, m.name, m.device, m.loaded) for m in listed] == two_loaded
    html = ip.display_formatter.format(listed)[0]["text/html"]
    assert ">a<" in html and ">b<" in html


def test_desc_of_a_loaded_model_by_name_id_or_alone(ip):
    m = ip.run_line_magic("acl_load", f"{PONG} --name pong")
    for key in ("pong", str(m.id), ""):
        d = ip.run_line_magic("acl_desc", key)
        assert isinstance(d, display.Descriptors)
        assert d.inputs == m.inputs and d.outputs == m.outputs
        assert "sim backend" in d.title
    text = display.render_text(d)
    assert "[1, 42, 42, 1]" in text and "out_a:0" in text and "Gears: none" in text


def test_desc_of_a_file_or_variable_reads_without_loading(ip):
    d = ip.run_line_magic("acl_desc", str(LANE))
    assert "not loaded" in d.title
    assert [t.name for t in d.outputs] == [t["name"] for t in expect(LANE)["outputs"]]
    ip.user_ns["blob"] = PONG.read_bytes()
    assert ip.run_line_magic("acl_desc", "-v blob").inputs[0].name == "s"
    assert registry() == []


def test_desc_and_run_of_a_static_aipp_model(ip):
    """%acl_desc notes what a static-AIPP input takes; %acl_run feeds it that shape."""
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

    ip.user_ns["blob"] = write_om(ModelSpec(
        name="yuv", inputs=[TensorSpec("image", (1, 224, 224, 3), "uint8", "NHWC", dims_v2=(1, 336, 224, 1))],
        outputs=[TensorSpec("prob", (1, 10), "float32", "ND")]))
    d = ip.run_line_magic("acl_desc", "-v blob")
    assert d.inputs[0].dims_v2 == (1, 336, 224, 1)
    assert "AIPP input 'image' takes [1, 336, 224, 1] uint8" in display.render_text(d, 100)
    m = ip.run_line_magic("acl_load", "-v blob")
    out = ip.run_line_magic("acl_run", f"{m.name} --random")
    assert out[0].shape == (1, 10) and any("AIPP stage" in n for n in out.notes)


def test_desc_errors(ip, capsys, two_loaded):
    assert "Several models" in fails_with_one_line(ip, capsys, "%acl_desc")
    assert "neither a loaded model nor a file" in fails_with_one_line(ip, capsys, "%acl_desc zzz")
    acl.unload_all()
    assert "No model is loaded" in fails_with_one_line(ip, capsys, "%acl_desc")


# ------------------------------------------------------------------------------------------
# %acl_mem, %acl_info, %acl_config, %acl_panel
# ------------------------------------------------------------------------------------------
def test_mem_reports_the_default_or_a_chosen_device(ip, two_loaded):
    report = ip.run_line_magic("acl_mem", "")
    assert isinstance(report, MemoryReport) and report.device == 0
    assert [s.name for s in report.models] == ["a"] and report.kind == "HBM"
    report1 = ip.run_line_magic("acl_mem", "--device 1")
    assert report1.device == 1 and [s.name for s in report1.models] == ["b"]
    both = ip.run_line_magic("acl_mem", "--all")
    assert [r.device for r in both] == [0, 1]
    assert "Device 1" in display.render_text(both)


def test_info(ip):
    info = ip.run_line_magic("acl_info", "")
    assert isinstance(info, SessionInfo)
    assert info.backend == "sim" and info.soc == "Ascend910B1" and info.device_count == 2


def test_soc_auto_in_magics(ip, capsys):
    """`--soc auto`: the first model picks the SoC, the load result and %acl_info say so,
    and another family is refused with the simulator's fix, not ATC's."""
    info = ip.run_line_magic("acl_config", "--soc auto")
    assert "first model" in info.soc_source and "auto" in display.render_text(info)
    lane = ip.run_line_magic("acl_load", f"{LANE} --name lane")
    assert "became an Ascend310B4" in display.render_text(lane)
    assert "became an Ascend310B4" in lane._repr_html_()
    pong = ip.run_line_magic("acl_load", str(PONG))
    assert "Simulated SoC" not in display.render_text(pong)  # said once
    shown = display.render_text(ip.run_line_magic("acl_info", ""))
    assert "Ascend310B4 (auto: adopted from model 'lane')" in shown
    ip.user_ns["other"] = write_om(ModelSpec(name="a2net", soc_version="Ascend910B2"))
    line = fails_with_one_line(ip, capsys, "%acl_load -v other")
    assert "507008" in line and "ACL_ERROR_RT_SOC_VERSION" in line
    assert "%acl_config --soc Ascend910B2" in line and "unload lane" in line and "ATC" not in line
    assert [m.name for m in acl.models()] == ["lane", pong.name]
    ip.user_ns.pop("other")


def test_default_shell_session_loads_both_real_models_and_the_demo(tmp_path):
    """A fresh IPython with nothing configured (the simulator found by default)."""
    demo = tmp_path / "demo.om"
    from acl_notebook.__main__ import main

    assert main(["demo-model", str(demo), "--size-mb", "1"]) == 0
    code = (
        "%load_ext acl_notebook\n"
        f"a = %acl_load {PONG}\n"
        f"b = %acl_load {LANE}\n"
        "import acl_notebook\n"
        "print('RESULT', a.loaded, b.loaded, acl_notebook.info().soc)\n"
        "acl_notebook.unload_all()\n"
        f"c = %acl_load {demo}\n"
        "print('DEMO', c.loaded, acl_notebook.info().soc, acl_notebook.memory().kind)\n"
    )
    done = _run(code, tmp_path, "-m", "IPython", "--no-banner")
    out = done.stdout + done.stderr
    assert "RESULT True True Ascend310B4" in out, out
    assert "DEMO True Ascend310P3 DDR" in out, out


def test_config_says_what_it_changed_including_simulated_memory(ip):
    info = ip.run_line_magic("acl_config", "--soc Ascend310B4 --memory 512MiB")
    assert ("soc", "Ascend910B1", "Ascend310B4") in info.changed
    assert ("memory", "16.0 GiB HBM", "512.0 MiB DDR") in info.changed
    text = display.render_text(info)
    assert "Changed" in text and "memory 16.0 GiB HBM → 512.0 MiB DDR" in text
    assert "Changed" in info._repr_html_() and "512.0 MiB DDR" in info._repr_html_()
    again = ip.run_line_magic("acl_config", "--soc Ascend310B4")
    assert again.changed == () and "nothing" in display.render_text(again)
    shown = ip.run_line_magic("acl_config", "")  # no options: the session, no change row
    assert shown.changed is None and "Changed" not in display.render_text(shown)
    assert "512.0 MiB DDR on device 0" in display.render_text(shown)


def test_panel_in_a_terminal_says_why_and_shows_memory(tmp_path):
    done = _run("%load_ext acl_notebook\n%acl_panel\n", tmp_path, "-m", "IPython", "--no-banner")
    out = done.stdout + done.stderr
    assert "The panel needs a notebook front end" in out, out
    assert "Device 0 · HBM" in out and "free" in out  # %acl_mem's text
    assert "Panel(" not in out and "Traceback" not in out


def test_unload_ext_says_which_models_it_unloaded(shell, capsys):
    shell.run_line_magic("load_ext", "acl_notebook")
    acl.configure(backend="sim", soc="Ascend910B1", memory=16 * GiB, devices=2, device=0)
    a = shell.run_line_magic("acl_load", f"{PONG} --name a")
    b = shell.run_line_magic("acl_load", f"{PONG} --name b")
    capsys.readouterr()
    shell.run_line_magic("unload_ext", "acl_notebook")
    out = capsys.readouterr().out
    assert f"unloaded 2 model(s): a (id {a.id}), b (id {b.id})" in out
    shell.run_line_magic("load_ext", "acl_notebook")
    capsys.readouterr()
    shell.run_line_magic("unload_ext", "acl_notebook")
    assert "no models were loaded" in capsys.readouterr().out


def test_config_shows_and_changes_the_session(ip):
    assert ip.run_line_magic("acl_config", "").soc == "Ascend910B1"
    info = ip.run_line_magic("acl_config", "--soc Ascend310B4 --memory 512MiB --devices 3 --device 2")
    assert (info.soc, info.device_count, info.device, info.memory_kind) == ("Ascend310B4", 3, 2, "DDR")
    assert acl.memory().total == 512 * MiB and acl.memory().device == 2
    assert ip.run_line_magic("acl_config", "--backend sim --memory 1e9").backend == "sim"
    assert acl.memory().total == 10**9


def test_config_refusals(ip, capsys, two_loaded):
    assert "unload" in fails_with_one_line(ip, capsys, "%acl_config --soc Ascend310B4")
    assert "Ascend910B1" in fails_with_one_line(ip, capsys, "%acl_config --soc Ascend999")
    assert "8GiB" in fails_with_one_line(ip, capsys, "%acl_config --memory lots")
    fails_with_one_line(ip, capsys, "%acl_config --backend cuda")
    assert registry() == two_loaded
    assert acl.info().soc == "Ascend910B1"


@pytest.mark.parametrize(
    "text, value",
    [("8GiB", 8 * GiB), ("512MiB", 512 * MiB), ("1e9", 10**9), ("1.5G", int(1.5 * GiB)), ("64GB", 64 * 10**9),
     ("4096", 4096), ("2 KiB", 2048)],
)
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "lots", "8 parsecs", "-1GiB", "0", "1e400", "1e300TiB"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


@pytest.mark.parametrize("cell", ["%acl_load 'my model.om", '%acl_unload "half', "%acl_run m --batch '2",
                                  "%acl_config --memory 1e400"])
def test_lines_that_cannot_be_read_are_one_usage_line(ip, capsys, cell):
    """An unclosed quote (shlex's bare ValueError before) or a size past any float is one
    UsageError saying what to fix, and the loaded models stay as they were."""
    ip.run_cell(f"%acl_load {PONG}")
    before = registry()
    line = fails_with_one_line(ip, capsys, cell)
    assert ("close the quote" in line) if "'" in cell or '"' in cell else ("too large" in line)
    assert registry() == before


def test_panel_returns_the_widget(ip):
    panel = ip.run_line_magic("acl_panel", "")
    try:
        assert type(panel).__name__ == "Panel" and type(panel).__module__ == "acl_notebook.widgets.panel"
    finally:
        panel.close()  # its timer would go on sampling the kernel's session in the tests after this one


def test_every_result_shows_as_our_text_and_html(ip, two_loaded):
    """What a terminal (text/plain) and a notebook (text/html) show for each magic's result."""
    results = [ip.run_line_magic(name, args) for name, args in (
        ("acl_models", ""), ("acl_mem", ""), ("acl_mem", "--all"), ("acl_info", ""), ("acl_config", ""),
        ("acl_desc", "a"), ("acl_desc", str(LANE)),
    )]
    results.append(ip.run_line_magic("acl_load", f"{PONG} --name c"))
    results.append(ip.run_line_magic("acl_unload", "c"))
    results.append(acl.inspect(PONG))  # what `acl-notebook inspect` and acl.inspect() show
    for obj in results:
        data, _ = ip.display_formatter.format(obj)
        assert data["text/plain"] == display.render_text(obj), type(obj).__name__
        assert data["text/html"] == display.render_html(obj), type(obj).__name__


# ------------------------------------------------------------------------------------------
# traitlets options
# ------------------------------------------------------------------------------------------
def test_config_magic_sets_the_default_device(ip):
    ip.run_line_magic("config", "AclMagics.device = 1")
    try:
        assert acl.info().device == 1
        assert ip.run_line_magic("acl_load", str(PONG)).device == 1
    finally:
        ip.run_line_magic("config", "AclMagics.device = 0")
    assert acl.info().device == 0


def test_a_refused_option_is_reverted(ip, two_loaded):
    magics = ip.magics_manager.registry["AclMagics"]
    ip.run_line_magic("config", "AclMagics.device = 9")  # %config logs the error itself
    assert magics.device == 0 and acl.info().device == 0
    ip.run_line_magic("config", "AclMagics.soc = 'Ascend310B4'")  # busy: models are loaded
    assert magics.soc == "" and acl.info().soc == "Ascend910B1"
    assert registry() == two_loaded


def test_a_bad_configured_option_warns_once_and_keeps_the_magics(ip, capsys):
    # %config also stores the value in the shell's config, so a reload meets it again.
    ip.run_line_magic("config", "AclMagics.device = 9")
    capsys.readouterr()
    ip.run_line_magic("reload_ext", "acl_notebook")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not apply AclMagics settings" in err and "Device 9" in err
    assert ip.run_line_magic("acl_models", "") == ()


def test_options_set_with_config_survive_a_reload(ip):
    ip.run_line_magic("config", "AclMagics.device = 1")
    ip.run_line_magic("reload_ext", "acl_notebook")
    assert ip.magics_manager.registry["AclMagics"].device == 1
    assert acl.info().device == 1


def test_config_magic_changes_the_simulated_soc(ip):
    ip.run_line_magic("config", "AclMagics.soc = 'Ascend310B4'")
    try:
        assert acl.info().soc == "Ascend310B4"
    finally:
        ip.run_line_magic("config", "AclMagics.soc = ''")


# ------------------------------------------------------------------------------------------
# the extension
# ------------------------------------------------------------------------------------------
def test_loading_twice_registers_once(ip):
    from acl_notebook.magics import load_ipython_extension

    first = ip.magics_manager.registry["AclMagics"]
    assert load_ipython_extension(ip) is first
    assert sum(isinstance(c, AclMagics) for c in ip.configurables) == 1


def test_unload_removes_magics_and_shuts_the_session_down(shell):
    shell.run_line_magic("load_ext", "acl_notebook")
    acl.configure(backend="sim", soc="Ascend910B1", memory=16 * GiB, devices=2, device=0)
    m = shell.run_line_magic("acl_load", str(PONG))
    shell.run_line_magic("unload_ext", "acl_notebook")
    assert not m.loaded and not any(isinstance(c, AclMagics) for c in shell.configurables)
    assert "acl_load" not in shell.magics_manager.magics["line"]
    assert "AclMagics" not in shell.magics_manager.registry
    with pytest.raises(UsageError):
        shell.run_line_magic("acl_models", "")
    # and it comes back
    shell.run_line_magic("load_ext", "acl_notebook")
    try:
        acl.configure(backend="sim", soc="Ascend910B1", memory=16 * GiB, devices=2, device=0)
        assert shell.run_line_magic("acl_models", "") == ()
    finally:
        shell.run_line_magic("unload_ext", "acl_notebook")


def test_reload_ext(ip):
    ip.run_line_magic("acl_load", str(PONG))
    ip.run_line_magic("reload_ext", "acl_notebook")
    acl.configure(backend="sim", soc="Ascend910B1", memory=16 * GiB, devices=2, device=0)
    assert registry() == []  # the reload tore the session down
    assert ip.run_line_magic("acl_load", str(PONG)).loaded


def _run(code: str, ipythondir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, IPYTHONDIR=str(ipythondir))
    env.pop("ACL_NOTEBOOK_BACKEND", None)
    return subprocess.run([sys.executable, *args, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, cwd=str(ipythondir))


def test_autoload_from_a_fresh_shell_config(tmp_path):
    """c.InteractiveShellApp.extensions = ["acl_notebook"] plus AclMagics options in the file."""
    profile = tmp_path / "profile_default"
    profile.mkdir()
    (profile / "ipython_config.py").write_text(textwrap.dedent("""
        c.InteractiveShellApp.extensions = ["acl_notebook"]
        c.AclMagics.backend = "sim"
        c.AclMagics.soc = "Ascend310B4"
    """))
    code = (
        f"m = %acl_load {LANE}\n"
        "import acl_notebook\n"
        "print('RESULT', acl_notebook.info().soc, m.loaded, m.info.soc_version)\n"
    )
    done = _run(code, tmp_path, "-m", "IPython", "--no-banner")
    assert "RESULT Ascend310B4 True Ascend310B4" in done.stdout, done.stdout + done.stderr


def test_load_ext_does_not_import_heavy_packages(tmp_path):
    code = textwrap.dedent("""
        import sys
        import acl_notebook
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "acl_notebook")
        assert "acl_load" in ip.magics_manager.magics["line"]
        heavy = ("matplotlib", "ipywidgets", "numpy", "google.protobuf", "acl_notebook.session")
        print("LOADED", [m for m in heavy if m in sys.modules])
    """)
    done = _run(code, tmp_path)
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


# -- %acl_pyacl ---------------------------------------------------------------------------------
def test_acl_pyacl_installs_the_image_and_models_show_in_acl_models(ip, capsys, monkeypatch):
    from acl_notebook import pyacl
    from acl_notebook.pyacl.core import PROGRAM

    monkeypatch.delitem(sys.modules, "acl", raising=False)
    try:
        ip.run_line_magic("acl_pyacl", "--force")
        assert "import acl now gives acl-notebook's pyACL image" in capsys.readouterr().out
        ip.run_cell("import acl\nacl.init(); acl.rt.set_device(0)\n"
                    "from acl_notebook.om.writer import ModelSpec, write_om\n"
                    "om = write_om(ModelSpec(name='from_pyacl'))\n"
                    "mid, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(om), len(om))\n")
        assert ip.user_ns["ret"] == 0
        listing = display.render_text(ip.run_line_magic("acl_models", ""))
        assert "from_pyacl" in listing and "pyACL load_from_mem" in listing
        ip.run_cell("assert acl.mdl.unload(mid) == 0")
        assert "from_pyacl" not in display.render_text(ip.run_line_magic("acl_models", ""))
        ip.run_line_magic("acl_pyacl", "--off")
        assert "gives what it gave before" in capsys.readouterr().out
        assert not pyacl.installed()
    finally:
        pyacl.uninstall()
        PROGRAM.bind(None)
        for name in ("acl", "om", "mid", "ret"):
            ip.user_ns.pop(name, None)
