"""In real Chromium (JupyterLab), a kernel in a fake 2 GiB container (a cgroup v2 tree the
notebook builds, as `tests/fake_cgroup.py` does) on this host: `%acl_info` and the panel's
memory view say the container's limit bounds host memory, and `%acl_models` shows a model
group as one row with its copies under it. Screenshots go to artifacts/browser/."""

from __future__ import annotations

import re
from pathlib import Path

from browser_helpers import GROUP_CELLS, PAGE_S, open_notebook, run_flow, write_notebook

TESTS = Path(__file__).resolve().parents[1]


def _notebook(root: Path, name: str) -> str:
    cells = [
        f"import sys, tempfile\nsys.path.insert(0, {str(TESTS)!r})\nfrom pathlib import Path\n"
        "from fake_cgroup import GiB, MiB, v2\nfrom acl_notebook import cgroup\n"
        "tree = v2(Path(tempfile.mkdtemp()), '/kubepods/burstable/pod1/ctr', {'': (2 * GiB, 900 * MiB, 0)})\n"
        "cgroup.WATCH = cgroup.Watch(str(tree))  # this kernel now sits in a 2 GiB pod",
        "%load_ext acl_notebook\nimport acl_notebook as acl\n"
        "acl.configure(backend='sim', soc='Ascend910B1', devices=4);  # no session table here: %acl_info shows it",
        *GROUP_CELLS,
        "%acl_info",
        "%acl_models",
        "acl.panel()",
    ]
    return write_notebook(root, name, cells)


def test_lab_container_limit_and_model_group(lab_server, lab_root, new_page, artifacts):
    def flow(page, attempt: int) -> None:
        open_notebook(page, lab_server, _notebook(lab_root, f"host-memory-{attempt}.ipynb"))
        info = page.locator(".jp-OutputArea-output", has_text="acl-notebook session")
        info.wait_for(state="visible", timeout=PAGE_S)
        text = info.inner_text()
        assert re.search(r"Host memory\s+1\.1 GiB free for this kernel: container limit 2\.0 GiB, "
                         r"900\.0 MiB in use \(the host shows [\d.]+ GiB available\)", text), text
        info.scroll_into_view_if_needed()
        info.screenshot(path=str(artifacts / "acl-info-container-limit.png"))

        # the %acl_models cell (the panel's Models title counts in the same words)
        models = page.locator(".jp-OutputArea-output", has_text="of device memory charged",
                              has_not=page.locator(".acl-panel"))
        text = models.inner_text()
        assert "1 model and 1 model group (4 copies)" in text, text
        assert re.search(r"resnet50 \(4 copies\)\s+0-3", text), text
        for device in range(4):
            assert re.search(rf"\n{device + 1}\s+[├└] resnet50@{device}\s+{device}\b", text), text
        assert "%acl_unload resnet50" in text
        models.scroll_into_view_if_needed()
        models.screenshot(path=str(artifacts / "acl-models-group.png"))

        panel = page.locator(".acl-panel")
        row = panel.locator(".acl-host-row")
        row.wait_for(state="visible", timeout=PAGE_S)
        text = row.inner_text()
        assert "Host RAM" in text and "900.0 MiB / 2.0 GiB container limit (43.9%)" in text, text
        assert "1.1 GiB free" in text and "the host shows" in text, text
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=str(artifacts / "panel-host-memory-container.png"))

    run_flow(new_page, artifacts, "lab-host-memory", flow)
