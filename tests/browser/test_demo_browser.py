"""The Voila page's "Try the digits model" button, in a real browser.

Clicking it must train the demo CNN in the kernel, load it from memory and give it a tab in
the panel beside it, with the batch gears the model was written with. Assertions are on DOM
text; the screenshot goes to artifacts/browser/ for a person to look at.
"""

from __future__ import annotations

import re

from browser_helpers import PAGE_S, SERVER_READY_S, copy_notebook, run_flow

from acl_notebook.lab import start_server

BUILD_MS = 180_000  # training on a busy 2-core machine, plus the kernel's start


def test_voila_digits_button_loads_the_demo(lab_root, new_page, artifacts, chromium):
    notebook = lab_root / copy_notebook(lab_root, "voila-digits.ipynb")
    server = start_server(notebook, voila=True, isolated=True, log_path=artifacts / "voila-digits-server.log")
    try:
        server.wait_ready(SERVER_READY_S)

        def flow(page, attempt: int) -> None:
            page.goto(server.url(""), wait_until="domcontentloaded")
            panel = page.locator(".acl-panel")
            panel.locator(".widget-upload").wait_for(state="visible", timeout=PAGE_S)
            button = page.get_by_role("button", name=re.compile("Try the digits model"))
            button.wait_for(state="visible", timeout=PAGE_S)
            button.click()
            page.get_by_text(re.compile(r"Loaded digits: \d+\.\d% right on 1000 held-back digits")).wait_for(
                state="visible", timeout=BUILD_MS)
            page.locator(".widget-hbox").filter(has=button).screenshot(path=str(artifacts / "voila-digits-button.png"))
            tab = panel.get_by_role("tab", name="digits")
            tab.wait_for(state="visible", timeout=PAGE_S)
            tab.click()
            view = panel.locator(".acl-model-view:visible")
            text = view.inner_text(timeout=PAGE_S)
            assert "images" in text and "probabilities" in text, text
            page.screenshot(path=str(artifacts / "voila-digits.png"), full_page=True)

        run_flow(new_page, artifacts, "voila-digits", flow)
    finally:
        server.stop()


_KERNEL_READY = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


def test_lab_quickstart_shows_the_digits_predictions(lab_server, lab_root, new_page, artifacts):
    """The quick start run in JupyterLab: the digits cell shows eight right answers as a picture."""
    import shutil

    from browser_helpers import REPO

    def flow(page, attempt: int) -> None:
        name = f"quickstart-{attempt}.ipynb"
        shutil.copyfile(REPO / "notebooks" / "01-quickstart.ipynb", lab_root / name)
        page.set_viewport_size({"width": 1100, "height": 900})
        # Render every cell (JupyterLab 4 detaches cells outside the viewport), so the digits
        # cells can be read and framed; the server's settings are its own, not the user's.
        page.goto(lab_server.url("lab"), wait_until="domcontentloaded")
        page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.serviceManager)", timeout=PAGE_S)
        page.evaluate("""() => window.jupyterapp.serviceManager.settings.save(
            '@jupyterlab/notebook-extension:tracker', JSON.stringify({windowingMode: 'none'}))""")
        page.goto(lab_server.url(f"lab/tree/{name}") + "&reset", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook", state="visible", timeout=PAGE_S)
        page.wait_for_function(_KERNEL_READY, timeout=PAGE_S, polling=250)
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        # the last cell's output says the run is over; then bring the digits cells into view
        page.get_by_text("back to the start: True").wait_for(state="visible", timeout=BUILD_MS)
        run_cell = page.locator(".jp-CodeCell").filter(has_text="out = cnn(images")
        picture = page.locator(".jp-CodeCell").filter(has_text="show_predictions(images")
        run_cell.scroll_into_view_if_needed(timeout=PAGE_S)
        text = run_cell.locator(".jp-OutputArea-output").inner_text(timeout=PAGE_S)
        assert "fidelity 'computed'" in text, text
        lines = dict(line.split(":", 1) for line in text.splitlines() if line.startswith(("predicted", "true")))
        assert lines["predicted"].strip() == lines["true"].strip(), text
        image = picture.locator(".jp-OutputArea-output img")
        image.scroll_into_view_if_needed(timeout=PAGE_S)
        image.wait_for(state="visible", timeout=PAGE_S)
        page.evaluate("(el) => el.scrollIntoView({block: 'end'})", image.element_handle())
        top, bottom = run_cell.bounding_box(), picture.bounding_box()
        clip = {"x": top["x"], "y": max(top["y"], 0), "width": max(top["width"], bottom["width"])}
        clip["height"] = bottom["y"] + bottom["height"] - clip["y"]
        page.screenshot(path=str(artifacts / "lab-quickstart-digits.png"), clip=clip)

    run_flow(new_page, artifacts, "lab-quickstart-digits", flow)
