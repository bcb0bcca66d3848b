"""The panel's Run and Bench buttons in real Chromium: a click runs the model in the kernel and the
result (the Outputs table, the benchmark table and its latency histogram) renders in the tab."""

from __future__ import annotations

from browser_helpers import PAGE_S, copy_notebook, memory_text, open_notebook, real_model, run_flow, show_tab, upload


def test_lab_run_and_bench_buttons(lab_server, lab_root, new_page, artifacts):
    model = real_model("a3c_pong_model_v2")

    def flow(page, attempt: int) -> None:
        open_notebook(page, lab_server, copy_notebook(lab_root, f"run-{attempt}.ipynb"))
        panel = page.locator(".acl-panel")
        upload(page, panel, model, timeout_ms=PAGE_S)
        view = show_tab(panel, "a3c_pong_model_v2")
        before = memory_text(panel)
        view.locator(".acl-run").click()
        result = view.locator(".acl-run-result")
        result.get_by_text("argmax").wait_for(state="visible", timeout=PAGE_S)
        text = result.inner_text()
        assert "out_a:0" in text and "[1]" in text and "int32" in text, text
        # the simulator computed the real model's answer, and says how far to trust it
        assert "approximate: computed on the CPU" in text and "see .notes" in text
        deadline = 50
        while memory_text(panel) == before and deadline:  # the I/O buffers join the model's share
            page.wait_for_timeout(200)
            deadline -= 1
        assert memory_text(panel) != before
        view.screenshot(path=str(artifacts / "lab-panel-run.png"))
        view.locator(".acl-bench").click()
        result.get_by_text("throughput").wait_for(state="visible", timeout=PAGE_S)
        assert result.locator("svg rect").count() == 20
        assert "100 runs after 5 warmup" in result.inner_text()
        view.screenshot(path=str(artifacts / "lab-panel-bench.png"))

    run_flow(new_page, artifacts, "lab-run", flow)


def test_lab_run_refusal_keeps_the_name_and_the_bench_box_stops_at_the_bound(lab_server, lab_root, new_page,
                                                                              artifacts, tmp_path):
    """A lower-case model name stays lower-case in the red line, and the runs box cannot hold more
    runs than a bench takes (1,000,000)."""
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om_file

    model = tmp_path / "ranged.om"  # -1 dims and no gears: the panel's Run is refused
    write_om_file(ModelSpec(name="ranged", inputs=[TensorSpec("x", (-1, 4), "float32", "ND")],
                            outputs=[TensorSpec("y", (1, 4), "float32", "ND")]), model)

    def flow(page, attempt: int) -> None:
        open_notebook(page, lab_server, copy_notebook(lab_root, f"refuse-{attempt}.ipynb"))
        panel = page.locator(".acl-panel")
        upload(page, panel, model, timeout_ms=PAGE_S)
        view = show_tab(panel, "ranged")
        view.locator(".acl-run").click()
        line = view.locator(".acl-run-result .acl-err")
        line.wait_for(state="visible", timeout=PAGE_S)
        text = line.inner_text()
        assert "model 'ranged' has no gears" in text and "Ranged" not in text, text
        box = view.locator(".acl-row input[type=number]")
        box.fill("99999999")
        box.press("Enter")
        page.wait_for_timeout(500)
        assert box.input_value() == "1000000"
        view.get_by_text("Bench (1000000)").wait_for(state="visible", timeout=PAGE_S)
        view.screenshot(path=str(artifacts / "lab-panel-run-refusal.png"))

    run_flow(new_page, artifacts, "lab-refusal", flow)
