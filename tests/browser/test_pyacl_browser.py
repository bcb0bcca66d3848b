"""Notebook 06 in a real JupyterLab: a pyACL program run cell by cell while the panel watches.

What only a browser shows: the panel, opened before the program starts, gets the program's
model as a tab and its device buffers as "pyACL buffers (no model)" while the cells run, and
loses them again when the program releases them. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from browser_helpers import PAGE_S, run_flow

NOTEBOOK_06 = Path(__file__).resolve().parents[2] / "notebooks" / "06-pyacl-on-the-simulator.ipynb"

_KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

_CELLS_RUN = """(n) => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    return nb.widgets.slice(0, n).every(c => c.model.type !== 'code' || (c.model.executionCount !== null
        && c.model.executionCount !== undefined));
}"""


def _run_cells(page, start: int, upto: int) -> None:
    """Run cells `start` .. `upto - 1` one at a time, as a person pressing Shift+Enter would."""
    page.evaluate(f"() => {{ window.jupyterapp.shell.currentWidget.content.activeCellIndex = {start}; }}")
    for _ in range(start, upto):
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell-and-select-next')")
        page.wait_for_timeout(150)
        page.wait_for_function(_KERNEL_IDLE, timeout=PAGE_S, polling=250)
    page.wait_for_function(_CELLS_RUN, arg=upto, timeout=PAGE_S, polling=250)


def _cell_index(tag_text: str) -> int:
    import nbformat

    nb = nbformat.read(NOTEBOOK_06, as_version=4)
    for i, cell in enumerate(nb.cells):
        if tag_text in cell.metadata.get("tags", []):
            return i
    raise AssertionError(f"no cell tagged {tag_text!r} in {NOTEBOOK_06.name}")


def test_the_panel_follows_a_pyacl_program_cell_by_cell(lab_server, lab_root, new_page, artifacts):
    buffers, cleanup, run_async = _cell_index("buffers"), _cell_index("cleanup"), _cell_index("async")

    def flow(page, attempt):
        name = f"06-pyacl-{attempt}.ipynb"  # a new copy is a new kernel
        shutil.copy(NOTEBOOK_06, lab_root / name)
        page.goto(lab_server.url(f"lab/tree/{name}") + "&reset", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook", state="visible", timeout=PAGE_S)
        page.wait_for_function(_KERNEL_IDLE, timeout=PAGE_S, polling=250)
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        _run_cells(page, 0, buffers + 1)
        panel = page.locator(".acl-panel")
        panel.get_by_role("tab", name="classifier").wait_for(state="visible", timeout=PAGE_S)
        memory = panel.locator(".acl-memory")
        memory.get_by_text("pyACL buffers (no model)").first.wait_for(state="visible", timeout=PAGE_S)
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=str(artifacts / "pyacl-panel-during.png"))
        text = memory.inner_text()
        assert "classifier" in text and "pyACL buffers (no model)" in text
        _run_cells(page, buffers + 1, cleanup + 1)
        panel.get_by_role("tab", name="classifier").wait_for(state="detached", timeout=PAGE_S)
        memory.get_by_text("pyACL buffers (no model)").first.wait_for(state="detached", timeout=PAGE_S)
        panel.screenshot(path=str(artifacts / "pyacl-panel-after.png"))
        streamed = page.locator(".jp-Notebook .jp-Cell").nth(run_async).locator(".jp-OutputArea")
        streamed.scroll_into_view_if_needed()
        streamed.screenshot(path=str(artifacts / "pyacl-async-cell.png"))
        assert "after the sync, the same values as the synchronous run: True" in streamed.inner_text()
        assert not page.console_errors, page.console_errors

    run_flow(new_page, artifacts, "pyacl-panel", flow)
