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
