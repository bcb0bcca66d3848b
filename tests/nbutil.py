"""Run notebooks the way a reader does, and read what they showed.

The tests execute every notebook in a fresh kernel. Two things make that trustworthy:

- the kernel is *this* interpreter (a kernelspec written to a temp dir whose argv starts with
  ``sys.executable``), so a stray ``python3`` kernelspec in the user's Jupyter path cannot run
  the notebooks against some other Python or some other copy of the package;
- the kernel gets a temp ``IPYTHONDIR``, so a profile that auto-loads extensions (as Binder's
  does) cannot hide a missing ``%load_ext`` in a notebook.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
KERNEL_NAME = "python3"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _kernel_manager(spec_root: Path) -> AsyncKernelManager:
    """A KernelManager that can only find our kernelspec, pointing at sys.executable."""
    spec_dir = spec_root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python {sys.version_info.major}.{sys.version_info.minor} (tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    ksm = KernelSpecManager(kernel_dirs=[str(spec_root / "kernels")], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm)


def kernel_env(ipython_dir: Path, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The environment of a test kernel: ours, plus the repo on the path and a clean profile."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the test run may force "agg"; a kernel draws inline like Jupyter's
    env["IPYTHONDIR"] = str(ipython_dir)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning on stderr
    env.update(extra or {})
    return env


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 120,
            env: Optional[dict[str, str]] = None) -> nbformat.NotebookNode:
    """Execute `nb` in place in a fresh kernel started in `cwd`; returns it.

    Errors do not stop the run (``allow_errors``) so that a failing test can list every
    broken cell at once; callers check `error_outputs` afterwards. A cell that runs longer than
    `timeout` seconds still raises.
    """
    with tempfile.TemporaryDirectory(prefix="acl-nb-") as tmp:
        root = Path(tmp)
        km = _kernel_manager(root / "jupyter")
        (root / "ipython").mkdir()
        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            allow_errors=True,
            resources={"metadata": {"path": str(cwd)}},
        )
        client.execute(env=kernel_env(root / "ipython", env))
    return nb


def execute_file(path: Path, timeout: int = 120, env: Optional[dict[str, str]] = None) -> nbformat.NotebookNode:
    """Read and execute a notebook file with its own folder as the working directory."""
    nb = nbformat.read(path, as_version=4)
    return execute(nb, path.parent, timeout=timeout, env=env)


def code_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, Any]]:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            yield i, cell


def output_text(cell: Any) -> str:
    """Everything a reader would see from a cell as text: streams, text/plain and text/html."""
    parts: list[str] = []
    stream = None  # the stream the last part came from
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            # the kernel flushes a stream when it likes, even within one print (another thread's
            # output, a timer): the pieces of one stream in a row are the text as written
            if stream == out.get("name"):
                parts[-1] += out.get("text", "")
            else:
                parts.append(out.get("text", ""))
            stream = out.get("name")
            continue
        stream = None
        if kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            for mime in ("text/plain", "text/html"):
                if mime in data:
                    value = data[mime]
                    parts.append("".join(value) if isinstance(value, list) else value)
        elif kind == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "\n".join(parts)


def tagged(nb: nbformat.NotebookNode, tag: str) -> Any:
    """The one cell carrying `tag` (tests find cells by tag, not by fragile index)."""
    found = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    if len(found) != 1:
        raise LookupError(f"expected exactly one cell tagged {tag!r}, found {len(found)}")
    return found[0]


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """One readable line per failure a reader would see: error outputs and tracebacks on stderr."""
    problems: list[str] = []
    for i, cell in code_cells(nb):
        head = cell.source.strip().splitlines()[0] if cell.source.strip() else "<empty>"
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i} ({head!r}): {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr" and "Traceback" in out.get(
                "text", ""
            ):
                problems.append(f"cell {i} ({head!r}): traceback on stderr:\n{out['text'][-1500:]}")
    return problems


def unstripped(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps a committed notebook from being 'stripped': outputs, counts, saved widget state."""
    problems = []
    for i, cell in code_cells(nb):
        if cell.get("outputs"):
            problems.append(f"cell {i} has {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i} has execution_count {cell.execution_count}")
    if "widgets" in nb.metadata:
        problems.append("notebook metadata holds saved widget state (it can embed uploaded model bytes)")
    return problems
