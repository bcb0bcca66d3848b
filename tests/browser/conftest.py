"""Fixtures for the real-browser tests: Debian's Chromium driven by Playwright, servers
started through `acl_notebook.lab` exactly as ``acl-notebook lab`` / ``voila`` start them.

Every server runs in its own process group with private Jupyter/IPython directories and is
killed (group and all) when its fixture ends, even after a failure. Waits are on DOM
conditions with generous timeouts, never fixed sleeps; `run_flow` reruns a flow on a
fresh page once, because a first-time JupyterLab page load is the usual source of flakes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from browser_helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LAB_ARGS, NOTEBOOK, PAGE_S, SERVER_READY_S

from acl_notebook.lab import ServerProcess, start_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; its absence fails the run in CI (and skips elsewhere)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = (f"Chromium not found at {CHROMIUM}: apt-get install chromium "
                  "(Playwright cannot download its own browser here)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser_context(chromium: Path) -> Iterator:
    """One headless Chromium with a fresh user-data dir for the whole browser suite."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed: pip install -e '.[browser]'"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)

    profile = tempfile.mkdtemp(prefix="acl-notebook-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        context.set_default_timeout(PAGE_S)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def new_page(browser_context) -> Iterator[Callable]:
    """Factory of pages that are all closed at the end of the test; console errors recorded."""
    pages = []

    def make():
        page = browser_context.new_page()
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        pages.append(page)
        return page

    yield make
    for page in pages:
        try:
            page.close()
        except Exception:
            pass


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory) -> Path:
    """The folder JupyterLab serves: copies of the demo notebook, one per test flow."""
    if not NOTEBOOK.is_file():
        pytest.fail(f"{NOTEBOOK} is missing")
    return tmp_path_factory.mktemp("lab-root")


@pytest.fixture(scope="module")
def lab_server(lab_root: Path, artifacts: Path, chromium: Path) -> Iterator[ServerProcess]:
    server = start_server(root_dir=lab_root, isolated=True, extra_args=LAB_ARGS,
                          log_path=artifacts / "jupyterlab-server.log")
    try:
        server.wait_ready(SERVER_READY_S)
        yield server
    finally:
        server.stop()
