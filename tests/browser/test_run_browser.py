"""The panel's Run and Bench buttons in real Chromium: a click runs the model in the kernel and the
result (the Outputs table, the benchmark table and its latency histogram) renders in the tab."""

from __future__ import annotations

from browser_helpers import PAGE_S, copy_notebook, run_flow
from test_panel_browser import _memory_text, _open_notebook, _real_model, _show_tab, _upload


def test_lab_run_and_bench_buttons(lab_server, lab_root, new_page, artifacts):
    model = _real_model("a3c_pong_model_v2")

    def flow(page, attempt: int) -> None:
        _open_notebook(page, lab_server, copy_notebook(lab_root, f"run-{attempt}.ipynb"))
        panel = page.locator(".acl-panel")
        _upload(page, panel, model, timeout_ms=PAGE_S)
        view = _show_tab(panel, "a3c_pong_model_v2")
        before = _memory_text(panel)
        view.locator(".acl-run").click()
        result = view.locator(".acl-run-result")
        result.get_by_text("argmax").wait_for(state="visible", timeout=PAGE_S)
        text = result.inner_text()
        assert "out_a:0" in text and "[1]" in text and "int32" in text, text
        # the simulator computed the real model's answer, and says how far to trust it
        assert "approximate: computed on the CPU" in text and "see .notes" in text
        deadline = 50
        while _memory_text(panel) == before and deadline:  # the I/O buffers join the model's share
            page.wait_for_timeout(200)
            deadline -= 1
        assert _memory_text(panel) != before
        view.screenshot(path=str(artifacts / "lab-panel-run.png"))
        view.locator(".acl-bench").click()
        result.get_by_text("throughput").wait_for(state="visible", timeout=PAGE_S)
        assert result.locator("svg rect").count() == 20
        assert "100 runs after 5 warmup" in result.inner_text()
        view.screenshot(path=str(artifacts / "lab-panel-bench.png"))

    run_flow(new_page, artifacts, "lab-run", flow)
