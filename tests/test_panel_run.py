"""The panel's "Run (random input)" and "Bench (n)" buttons, headless (real button handlers)."""

from __future__ import annotations

import pytest

import acl_notebook.session as session_mod
from acl_notebook.display import render_html
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runner.bench import BenchResult
from acl_notebook.runner.outputs import Outputs
from acl_notebook.session import Config, Session
from acl_notebook.widgets.panel import Panel

MiB = 1 << 20


@pytest.fixture()
def kernel_session_910b(monkeypatch):
    """`kernel_session` on an Ascend910B1 (the models here are built for it)."""
    s = Session(Config(backend="sim", soc="Ascend910B1"))
    monkeypatch.setattr(session_mod, "_session", s)
    yield s
    s.shutdown()


def model(name="clf", dims=(1, 3, 16, 16)) -> bytes:
    return write_om(ModelSpec(name=name, soc_version="Ascend910B1", work_size=2 * MiB, weight_size=MiB,
                              inputs=[TensorSpec("x", dims, "float32", "NCHW")],
                              outputs=[TensorSpec("y", (1, 10), "float32", "ND")]))


def test_run_and_bench_buttons_show_the_api_objects(kernel_session_910b):
    s = kernel_session_910b
    m = s.load(model())
    panel = Panel(s, autostart=False)
    try:
        view = panel._views[m.id]
        box = view.runner
        before_memory = panel.memory_view.value
        before_details = view.details.value
        box.run_button.click()
        assert isinstance(box.result, Outputs) and box.result.names == ("y:0",)
        assert box.output.value == render_html(box.result)
        assert "y:0" in box.output.value and "placeholder" in box.output.value
        # the I/O buffers now count as part of the model, in the memory view and the tab
        assert m.io_bytes > 0
        assert panel.memory_view.value != before_memory
        assert view.details.value != before_details and "I/O buffers" in view.details.value
        box.runs.value = 25
        assert box.bench_button.description == "Bench (25)"
        box.bench_button.click()
        assert isinstance(box.result, BenchResult) and box.result.n == 25
        assert "<svg" in box.output.value and "throughput" in box.output.value
    finally:
        panel.close()


def test_a_failing_run_shows_one_red_line_and_keeps_the_model(kernel_session_910b):
    s = kernel_session_910b
    free = s.memory().free
    # fits as a model, but its I/O buffers do not fit what is left
    m = s.load(write_om(ModelSpec(name="tight", soc_version="Ascend910B1", work_size=free - 8 * MiB,
                                  inputs=[TensorSpec("x", (4 * MiB,), "float32", "ND")],
                                  outputs=[TensorSpec("y", (1,), "float32", "ND")])))
    panel = Panel(s, autostart=False)
    try:
        box = panel._views[m.id].runner
        box.run_button.click()
        assert box.result is None
        assert "acl-err" in box.output.value and "needs 16.0 MiB of device memory" in box.output.value
        assert not box.run_button.disabled and m.loaded
    finally:
        panel.close()
