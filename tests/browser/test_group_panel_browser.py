"""In real Chromium (JupyterLab): a model loaded on the 4 devices of a simulator is one tab in
the panel, "resnet50 (4 copies)", beside the tab of a single model. The tab shows the
descriptors once and a table of its copies, each with its own Unload; Run and Bench run the
group on every device at once; unloading one copy leaves a 3-copy tab. Screenshots go to
artifacts/browser/ for a person to look at; assertions are on DOM text."""

from __future__ import annotations

import re
from pathlib import Path

from browser_helpers import GROUP_CELLS, PAGE_S, open_notebook, run_flow, write_notebook


def _notebook(root: Path, name: str, devices: int = 4) -> str:
    cells = [
        "%load_ext acl_notebook\nimport tempfile\nfrom pathlib import Path\nimport acl_notebook as acl\n"
        f"acl.configure(backend='sim', soc='Ascend910B1', devices={devices})\nMiB = 1 << 20",
        *GROUP_CELLS,
        "acl.panel()",
    ]
    return write_notebook(root, name, cells)


def _tab_names(panel) -> list[str]:
    return [t.strip() for t in panel.get_by_role("tab").all_inner_texts()]


def test_lab_panel_shows_a_group_as_one_tab(lab_server, lab_root, new_page, artifacts):
    def flow(page, attempt: int) -> None:
        page.set_viewport_size({"width": 1280, "height": 2400})  # the whole panel fits: one clean screenshot
        open_notebook(page, lab_server, _notebook(lab_root, f"group-panel-{attempt}.ipynb"))
        panel = page.locator(".acl-panel")
        tab = panel.get_by_role("tab", name="resnet50 (4 copies)")
        tab.wait_for(state="visible", timeout=PAGE_S)
        assert _tab_names(panel) == ["resnet50 (4 copies)", "single"], _tab_names(panel)
        head = panel.locator(".acl-section", has_text="Models").inner_text()
        assert "1 model and 1 model group (4 copies)" in head, head
        tab.click()
        view = panel.locator(".acl-group-view:visible")
        view.wait_for(state="visible", timeout=PAGE_S)
        text = view.inner_text()
        assert "model group · 4 copies on devices 0-3" in text, text
        assert text.count("images") == 1 and text.count("prob") == 1, text  # descriptors shown once
        table = view.locator(".acl-copies")
        assert table.locator(".acl-unload-copy").count() == 4
        rows = table.inner_text()
        for device in range(4):
            assert f"NPU {device}" in rows, rows
        assert "Unload all 4" in view.locator(".acl-unload-group").inner_text()
        view.screenshot(path=str(artifacts / "panel-group-tab.png"))

        view.locator(".acl-run").click()
        result = view.locator(".acl-run-result")
        result.get_by_text("on 4 devices at once").wait_for(state="visible", timeout=PAGE_S)
        for device in range(4):
            assert re.search(rf"device {device}\b", result.inner_text()), result.inner_text()
        view.locator(".acl-bench").click()
        result.get_by_text("summary throughput").wait_for(state="visible", timeout=PAGE_S)
        bench = result.inner_text()
        assert "Bench 'resnet50' on 4 devices at once" in bench, bench
        assert table.inner_text().count("has run") == 4  # every copy ran: its I/O buffers are charged
        view.screenshot(path=str(artifacts / "panel-group-bench.png"))

        table.locator(".acl-unload-copy").nth(2).click()  # the copy on NPU 2 alone
        panel.get_by_role("tab", name="resnet50 (3 copies)").wait_for(state="visible", timeout=PAGE_S)
        panel.locator(".acl-status").get_by_text("Unloaded resnet50@2").wait_for(state="visible", timeout=PAGE_S)
        assert table.locator(".acl-unload-copy").count() == 3
        assert "NPU 2" not in table.inner_text()
        assert "This result is from before the copies changed" in result.inner_text()  # it ran on NPU 2 too
        assert "1 model and 1 model group (3 copies)" in panel.locator(".acl-section", has_text="Models").inner_text()
        panel.screenshot(path=str(artifacts / "panel-group-3-copies.png"))

    run_flow(new_page, artifacts, "lab-group-panel", flow)
