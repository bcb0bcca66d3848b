"""Helpers shared by the headless panel tests (test_panel*.py).

Uploads are delivered exactly as the front end delivers them (`FileUpload.set_state` runs
ipywidgets' real deserializer), buttons are clicked through their real handlers, and
pictures are checked by counting pixels of a colour. The fixtures (make_session, make_panel) are in conftest.py.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

from acl_notebook.widgets.panel import Panel

MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
MiB = 1 << 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def real(name: str) -> bytes:
    path = MODELS / f"{name}.om"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the tests expect ../shared/models beside the repository")
    return path.read_bytes()


def om(name: str, *, work: int = 4 * MiB, weight: int = 64 * 1024, soc: str = "",
       inputs=(("images", (1, 3, 32, 32), "float32", "NCHW"),),
       outputs=(("logits", (1, 10), "float32", "ND"),)) -> bytes:
    """A valid offline model made by our writer, needing `work` + `weight` device bytes."""
    from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

    return write_om(ModelSpec(name=name, soc_version=soc, inputs=[TensorSpec(*t) for t in inputs],
                              outputs=[TensorSpec(*t) for t in outputs], work_size=work, weight_size=weight))


def upload(panel: Panel, *files: tuple[str, object]) -> None:
    """Deliver files to the panel's FileUpload exactly as the front end does."""
    value = []
    for filename, data in files:
        view = data if isinstance(data, memoryview) else memoryview(data)
        value.append({"name": filename, "type": "", "size": view.nbytes, "content": view, "last_modified": 0})
    panel.upload.set_state({"value": value})


def status(panel: Panel) -> str:
    return panel.status.value


def tab_html(panel: Panel, title: str) -> str:
    """The model description shown in the tab titled `title` (children: button row, details)."""
    return panel.tabs.children[panel.tabs.titles.index(title)].children[1].value


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC, "not a PNG"
    return struct.unpack(">II", data[16:24])


def buttons(box) -> dict:
    """The action buttons of a tab (its first row), by label."""
    return {b.description: b for b in box.children[0].children[0].children}


def pixels_of(png: bytes, rgb: tuple[int, int, int]) -> int:
    import io

    import numpy as np
    from matplotlib.image import imread

    image = (imread(io.BytesIO(png), format="png")[..., :3] * 255).round().astype(int)
    # layers are drawn with a little transparency over white: allow for the blend
    return int((np.abs(image - np.array(rgb)).max(axis=-1) <= 40).sum())
