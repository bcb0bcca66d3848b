"""End to end in a real browser: the panel in JupyterLab and in Voila, real uploads.

What only a browser can show: the file really travels browser -> websocket -> kernel
(a 200 MB one too, which Jupyter's default 10 MiB websocket limit would drop silently),
the panel's widgets render, and the DOM shows the model's inputs and the memory moving.
Screenshots go to artifacts/browser/ for a person to look at; assertions are on DOM text.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from browser_helpers import (
    KERNEL_READY,
    NOTEBOOK,
    PAGE_S,
    SERVER_READY_S,
    copy_notebook,
    memory_text,
    open_notebook,
    real_model,
    run_flow,
    show_tab,
    upload,
    wait_memory_changed,
)

from acl_notebook.lab import start_server

BIG_MB = 200


@pytest.fixture(scope="module")
def big_model(tmp_path_factory) -> Path:
    """A 200 MB offline model made by our OM writer (its weights make up the size)."""
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om_file

    path = tmp_path_factory.mktemp("big") / f"big_{BIG_MB}mb.om"
    spec = ModelSpec(
        name=f"big_{BIG_MB}mb",
        inputs=[TensorSpec("pixels", (1, 3, 1024, 1024), "float32", "NCHW")],
        outputs=[TensorSpec("mask", (1, 1, 1024, 1024), "float16", "NCHW")],
        work_size=256 << 20,
        weight_size=BIG_MB * 1000 * 1000,
    )
    write_om_file(spec, path)
    return path


# ---------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------
def test_lab_upload_real_model(lab_server, lab_root, new_page, artifacts):
    model = real_model("a3c_pong_model_v2")

    def flow(page, attempt: int) -> None:
        open_notebook(page, lab_server, copy_notebook(lab_root, f"real-{attempt}.ipynb"))
        panel = page.locator(".acl-panel")
        before = memory_text(panel)
        upload(page, panel, model, timeout_ms=PAGE_S)
        after = wait_memory_changed(panel, before)
        assert "a3c_pong_model_v2" in after  # its share is listed in the memory view
        view = show_tab(panel, "a3c_pong_model_v2")
        text = view.inner_text()
        # the input "s" [1, 42, 42, 1] and the output "out_a:0", as the runtime reported them
        assert "out_a:0" in text and "[1, 42, 42, 1]" in text, text
        assert re.search(r"\bs\b", text)
        assert "upload:a3c_pong_model_v2.om" in text
        # what the CPU reference can compute, said before anything runs
        assert "CPU reference: approximate: 3 ops guessed" in text, text
        # the upload widget was cleared in the kernel, so its label went back to (0)
        panel.locator(".widget-upload").get_by_text("(0)").wait_for(timeout=PAGE_S)
        page.screenshot(path=str(artifacts / "lab-page.png"), full_page=True)
        panel.screenshot(path=str(artifacts / "lab-panel-real-model.png"))

    run_flow(new_page, artifacts, "lab-real", flow)


def test_lab_upload_both_real_models_on_a_default_session(lab_server, lab_root, new_page, artifacts):
    """A new user's first contact: both shared real models (one built for Ascend310B4, one
    for no SoC), picked together, load on a default session (soc auto) and get their tabs."""
    models = [real_model("a3c_pong_model_v2"), real_model("my_122_anenet")]

    def flow(page, attempt: int) -> None:
        open_notebook(page, lab_server, copy_notebook(lab_root, f"both-{attempt}.ipynb"))
        panel = page.locator(".acl-panel")
        before = memory_text(panel)
        with page.expect_file_chooser(timeout=PAGE_S) as chooser:
            panel.locator(".widget-upload").click()
        chooser.value.set_files([str(p) for p in models])
        status = panel.locator(".acl-status")
        for path in models:
            status.get_by_text(re.compile(rf"Loaded {re.escape(path.stem)}\b")).wait_for(state="visible",
                                                                                        timeout=PAGE_S)
        assert "✗" not in status.inner_text()  # neither was refused
        after = wait_memory_changed(panel, before)
        assert "a3c_pong_model_v2" in after and "my_122_anenet" in after
        # the simulator took the SoC of the model that names one, and says so
        assert "Ascend310B4 (auto)" in panel.locator(".acl-head").inner_text()
        assert "instance_embedding" in show_tab(panel, "my_122_anenet").inner_text()
        assert "out_a:0" in show_tab(panel, "a3c_pong_model_v2").inner_text()
        panel.screenshot(path=str(artifacts / "lab-panel-both-real-models.png"))

    run_flow(new_page, artifacts, "lab-both-real", flow)


def test_lab_memory_view_with_three_model_sizes(lab_server, lab_root, new_page, artifacts):
    """The memory view a person reads at a glance: a few MiB, a few hundred MiB and a few GiB
    on one device, each its own band and colour, with the zoom onto the models."""
    name = _three_sizes_notebook(lab_root)

    def flow(page, attempt: int) -> None:
        page.goto(lab_server.url(f"lab/tree/{name}") + "&reset", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook", state="visible", timeout=PAGE_S)
        page.wait_for_function(KERNEL_READY, timeout=PAGE_S, polling=250)
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        panel = page.locator(".acl-panel")
        panel.wait_for(state="visible", timeout=PAGE_S)
        memory = panel.locator(".acl-memory")
        for model in ("small_4mib", "medium_300mib", "large_3gib"):
            memory.get_by_text(model).wait_for(timeout=PAGE_S)
        panel.locator(".acl-plot").scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # the PNG swap
        panel.screenshot(path=str(artifacts / "memory-view-three-sizes.png"))
        shutil.copyfile(artifacts / "memory-view-three-sizes.png", artifacts.parent / "memory-view.png")
        panel.get_by_role("radio", name="Models only").or_(panel.get_by_text("Models only")).first.click()
        page.wait_for_timeout(800)
        panel.screenshot(path=str(artifacts / "memory-view-three-sizes-models-only.png"))

    run_flow(new_page, artifacts, "memory-three-sizes", flow)


def _three_sizes_notebook(root: Path) -> str:
    """A notebook that loads three writer-built models of very different sizes, with pauses
    so the plot shows the steps, and shows the panel."""
    import nbformat

    code = [
        "%load_ext acl_notebook",
        "import time\n"
        "import acl_notebook as acl\n"
        "from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om\n"
        "\n"
        "def model(name, work):\n"
        "    return write_om(ModelSpec(name=name, inputs=[TensorSpec('x', (1, 3, 224, 224), 'float32', 'NCHW')],\n"
        "                              outputs=[TensorSpec('y', (1, 1000), 'float32', 'ND')],\n"
        "                              work_size=work, weight_size=1 << 20))\n"
        "\n"
        "acl.panel()",
        "time.sleep(4); acl.load(model('small_4mib', 3 << 20))\n"
        "time.sleep(4); acl.load(model('medium_300mib', 299 << 20))\n"
        "time.sleep(4); large = acl.load(model('large_3gib', 3 << 30))\n"
        "time.sleep(2); acl.bench(large, 800)  # busy AI Cores for the utilisation row\n"
        "time.sleep(3); acl.unload('medium_300mib')\n"
        "time.sleep(3); acl.load(model('medium_300mib', 299 << 20)); time.sleep(2)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in code])
    nb.metadata = nbformat.read(str(NOTEBOOK), as_version=4).metadata  # its kernel, so no kernel picker
    name = "three-sizes.ipynb"
    nbformat.write(nb, str(root / name))
    return name


def test_lab_upload_200mb_model(lab_server, lab_root, new_page, artifacts, big_model):
    """A 200 MB upload arrives: the websocket limit set through acl_notebook.lab is in force."""
    stem = big_model.name[: -len(".om")]

    def flow(page, attempt: int) -> None:
        open_notebook(page, lab_server, copy_notebook(lab_root, f"big-{attempt}.ipynb"))
        panel = page.locator(".acl-panel")
        assert "Uploads up to 1.0 GiB" in panel.locator(".acl-limit").inner_text()
        before = memory_text(panel)
        started = time.monotonic()
        upload(page, panel, big_model, timeout_ms=180_000)
        print(f"{BIG_MB} MB upload: file chosen -> panel says loaded in {time.monotonic() - started:.1f} s")
        after = wait_memory_changed(panel, before)
        assert stem in after
        text = show_tab(panel, stem).inner_text()
        assert "pixels" in text and "mask" in text
        panel.screenshot(path=str(artifacts / "lab-panel-200mb.png"))

    run_flow(new_page, artifacts, "lab-200mb", flow)


def test_voila_renders_panel(lab_root, new_page, artifacts, chromium):
    """`voila notebooks/panel.ipynb` through acl_notebook.lab: the panel and its tabs show."""
    notebook = lab_root / copy_notebook(lab_root, "voila-panel.ipynb")
    model = real_model("a3c_pong_model_v2")
    server = start_server(notebook, voila=True, isolated=True, log_path=artifacts / "voila-server.log")
    try:
        server.wait_ready(SERVER_READY_S)

        def flow(page, attempt: int) -> None:
            page.goto(server.url(""), wait_until="domcontentloaded")
            panel = page.locator(".acl-panel")
            panel.locator(".widget-upload").wait_for(state="visible", timeout=PAGE_S)
            tabs = panel.get_by_role("tab")
            tabs.first.wait_for(state="visible", timeout=PAGE_S)
            assert tabs.count() >= 1
            before = memory_text(panel)
            upload(page, panel, model, timeout_ms=PAGE_S)
            wait_memory_changed(panel, before)
            assert "out_a:0" in show_tab(panel, "a3c_pong_model_v2").inner_text()
            page.screenshot(path=str(artifacts / "voila-page.png"), full_page=True)
            panel.screenshot(path=str(artifacts / "voila-panel.png"))

        run_flow(new_page, artifacts, "voila", flow)
    finally:
        server.stop()
