"""Constants and page-flow helpers shared by the browser tests and their fixtures."""

from __future__ import annotations

import os
import shutil
import traceback
from pathlib import Path
from typing import Callable

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


def copy_notebook(root: Path, name: str) -> str:
    """A fresh copy of the demo notebook under `root` (a new path means a new kernel)."""
    shutil.copyfile(NOTEBOOK, root / name)
    return name


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
