"""The interactive panel (`%acl_panel`, `acl_notebook.panel()`) and its parts.

Nothing here imports ipywidgets or matplotlib until a panel is made: `Panel` is resolved
on first use, so ``import acl_notebook.widgets`` stays as cheap as ``%load_ext``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Panel"]


def __getattr__(name: str) -> Any:
    if name == "Panel":
        from .panel import Panel

        return Panel
    raise AttributeError(f"module 'acl_notebook.widgets' has no attribute {name!r}")
