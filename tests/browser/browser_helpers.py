"""Constants and page-flow helpers shared by the browser tests and their fixtures: where the
real models are, opening the demo notebook in JupyterLab, and reading and driving its panel."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import traceback
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
NOTEBOOK = REPO / "notebooks" / "panel.ipynb"
CHROMIUM = Path(os.environ.get("ACL_NOTEBOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Lab settings for a quiet, deterministic page: no news toast, the app object reachable
# from the page so cells can be run through JupyterLab's own command.
LAB_ARGS = ["--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True"]

SERVER_READY_S = 90
PAGE_S = 90_000  # ms, page-level waits (first JupyterLab load builds its caches)
MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"


def copy_notebook(root: Path, name: str) -> str:
    """A fresh copy of the demo notebook under `root` (a new path means a new kernel)."""
    shutil.copyfile(NOTEBOOK, root / name)
    return name


def write_notebook(root: Path, name: str, cells: list[str]) -> str:
    """A notebook of these code cells under `root`, on the python3 kernel, for a flow to open."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                            "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": src} for i, src in enumerate(cells)]}
    (root / name).write_text(json.dumps(nb))
    return name


#: Notebook cells that write a 144 MiB resnet50-shaped writer model to `path` and load it as
#: a group on every device and once more as 'single' on device 1 (acl and MiB must exist).
GROUP_CELLS = [
    "from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om_file\n"
    "spec = ModelSpec(name='resnet50', soc_version='Ascend910B1',\n"
    "                 inputs=[TensorSpec('images', (1, 3, 224, 224), 'float32', 'NCHW')],\n"
    "                 outputs=[TensorSpec('prob', (1, 1000), 'float32', 'ND')],\n"
    "                 work_size=96 * MiB, weight_size=48 * MiB)\n"
    "path = Path(tempfile.mkdtemp()) / 'resnet50.om'\nwrite_om_file(spec, path)",
    "%acl_load {path} --device all",
    "%acl_load {path} --name single --device 1",
]


def run_flow(new_page: Callable, artifacts: Path, name: str, flow: Callable) -> None:
    """Run `flow(page)` on a fresh page; on failure keep a screenshot and retry once.

    The retry uses a new page (and the flow a new notebook copy, so a new kernel): a
    first JupyterLab load that stalls should not fail the suite, a real bug fails twice.
    """
    for attempt in (1, 2):
        page = new_page()
        try:
            flow(page, attempt)
            return
        except Exception as exc:
            try:
                page.screenshot(path=str(artifacts / f"{name}-failed-{attempt}.png"), full_page=True)
            except Exception:
                pass
            errors = getattr(page, "console_errors", [])
            print(f"{name}: attempt {attempt} failed: {type(exc).__name__}: {exc}")
            if errors:
                print("browser console errors:\n  " + "\n  ".join(errors))
            if attempt == 2:
                raise
            traceback.print_exception(type(exc), exc, exc.__traceback__)


def real_model(name: str) -> Path:
    """The shared model `name`.om (read where it is, never copied into the repository)."""
    path = MODELS / f"{name}.om"
    if not path.is_file():
        pytest.fail(f"test model {path} is missing: the tests expect ../shared/models beside the repository")
    return path


KERNEL_READY = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


def open_notebook(page, server, name: str) -> None:
    """Open `name` in JupyterLab, wait for its kernel to be connected and idle, run it all."""
    page.goto(server.url(f"lab/tree/{name}") + "&reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook", state="visible", timeout=PAGE_S)
    # the toolbar's "idle" can show before the kernel's websocket is up; cells run then are lost
    page.wait_for_function(KERNEL_READY, timeout=PAGE_S, polling=250)
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".acl-panel .widget-upload", state="visible", timeout=PAGE_S)
    page.locator(".acl-panel").scroll_into_view_if_needed()


def memory_text(panel) -> str:
    """The panel's memory view as text."""
    return panel.locator(".acl-memory").inner_text(timeout=PAGE_S)


def upload(page, panel, path: Path, timeout_ms: int) -> None:
    """Pick `path` in the panel's file chooser and wait for the kernel to report it loaded."""
    stem = path.name[: -len(".om")]
    with page.expect_file_chooser(timeout=PAGE_S) as chooser:
        panel.locator(".widget-upload").click()
    chooser.value.set_files(str(path))
    # the "(1)" label can appear before the bytes reach the kernel: wait for the kernel's word
    panel.locator(".acl-status").get_by_text(re.compile(rf"Loaded {re.escape(stem)}\b")).wait_for(
        state="visible", timeout=timeout_ms)


def wait_memory_changed(panel, before: str) -> str:
    """The memory view's text once it differs from `before` (it redraws on a timer)."""
    deadline = time.monotonic() + PAGE_S / 1000
    while time.monotonic() < deadline:
        now = memory_text(panel)
        if now != before:
            return now
        panel.page.wait_for_timeout(200)
    raise AssertionError(f"the memory view did not change after the upload:\n{before}")


def show_tab(panel, name: str):
    """Click model `name`'s tab and return its (visible) model view."""
    tab = panel.get_by_role("tab", name=name)
    tab.wait_for(state="visible", timeout=PAGE_S)
    tab.click()
    return panel.locator(".acl-model-view:visible")
