"""The panel's tabs: one per loaded model, one per model file shown but not loaded.

A loaded model's tab is a row of actions (Unload, then whatever extensions add) above its
description and the Run / Bench row (`run_box`). A file's tab (described on request, or refused by the
runtime) shows what our reader sees in the bytes, why it was not loaded and what to do,
with the buttons that make sense for that refusal. All text comes from `display`.

Extending: `register_tab_extension(factory)` adds ``factory(model, session)``'s widget
to the action row of every loaded model's tab made from then on (a model group's tab,
`group_tab`, passes its `ModelGroup` as `model`).
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Optional

import ipywidgets as W

from ..display import coverage_html, error_line, render_html
from .run_box import RunBox

#: ``factory(model, session) -> widget or None``, called once per loaded model's tab.
TabExtension = Callable[[Any, Any], Optional[W.Widget]]
_EXTENSIONS: list[TabExtension] = []
_keys = itertools.count(1)


def register_tab_extension(factory: TabExtension) -> Callable[[], None]:
    """Add a widget to each loaded model's tab (after Unload); returns the undo function.

    A factory that raises or returns None adds nothing: an extension never breaks a tab.
    """
    _EXTENSIONS.append(factory)

    def remove() -> None:
        if factory in _EXTENSIONS:
            _EXTENSIONS.remove(factory)

    return remove


def extension_widgets(target: Any, session: Any) -> list[W.Widget]:
    """What the registered extensions add for `target` (a Model, or a group's ModelGroup)."""
    extras = []
    for factory in list(_EXTENSIONS):
        try:
            widget = factory(target, session)
        except Exception:  # a broken extension loses its buttons, not the tab
            widget = None
        if widget is not None:
            extras.append(widget)
    return extras


def make_button(label: str, icon: str, tooltip: str, style: str = "") -> W.Button:
    return W.Button(description=label, icon=icon, tooltip=tooltip, button_style=style,
                    layout=W.Layout(width="auto"))


def coverage_summary(model: Any) -> str:
    """What the CPU reference can compute for the model, or why it cannot say."""
    from .. import api

    try:
        return api.coverage(model).summary
    except Exception as exc:  # the tab is still worth showing
        return f"unavailable ({error_line(exc)})"


class ModelTab:
    """The tab of one loaded model: actions (Unload + extensions), caption, description."""

    def __init__(self, model: Any, session: Any, on_unload: Callable[[int], None]) -> None:
        self.key: Any = model.id
        self.model_id = model.id
        self.title = model.name
        self.button = make_button("Unload", "eject", f"Unload {model.name} (id {model.id}) and free its device memory")
        self.button.add_class("acl-unload")
        self.button.on_click(lambda _b: on_unload(self.model_id))
        self.actions = W.HBox([self.button, *extension_widgets(model, session)])
        self.actions.add_class("acl-actions")
        where = f"device {model.device} · model id {model.id} · {model.backend} backend"
        self.caption = W.HTML(f'<span class="acl-muted acl-note">{html.escape(where)}</span>')
        bar = W.HBox([self.actions, self.caption])
        bar.add_class("acl-row")
        self.memory = model.memory
        self.details = W.HTML(render_html(model))
        self.coverage = W.HTML(coverage_html(coverage_summary(model)))  # before anything runs
        self.coverage.add_class("acl-coverage")
        self.runner = RunBox(model)  # "Run (random input)" and "Bench (n)"
        self.box = W.VBox([bar, self.details, self.coverage, self.runner.box])
        self.box.add_class("acl-model-view")

    def update(self, model: Any) -> None:
        """Redraw the description when what it shows changed (the I/O buffers' charge)."""
        if model.memory != self.memory:
            self.memory = model.memory
            self.details.value = render_html(model)

    def close(self) -> None:
        self.runner.close()
        bar = self.box.children[0]
        for widget in (*self.actions.children, self.actions, self.caption, self.details, self.coverage, bar,
                       self.box):
            widget.close()


@dataclass(frozen=True)
class Action:
    """A button of a file tab: what it says and does."""

    label: str
    icon: str
    tooltip: str
    run: Callable[[], None]
    style: str = ""


class FileTab:
    """A model file the panel read but did not load: its description, and for a refusal
    the reason, the advice and the actions that make sense (Load anyway, switch SoC...).

    It holds the file's bytes (an upload) or its path until it is loaded or closed, so
    "Load" does not need the file again; `close()` lets the bytes go.
    """

    def __init__(self, filename: str, info: Any, *, content: Optional[memoryview] = None,
                 path: Optional[str] = None) -> None:
        self.key: Any = f"file:{next(_keys)}"
        self.filename = filename
        self.info = info
        self.content = content
        self.path = path
        self.error: Optional[BaseException] = None
        #: the model name and source label a later load uses (an upload's); None: the session's
        self.load_as: Optional[str] = None
        self.label: Optional[str] = None
        stem = info.name or filename
        self.title = stem
        self.actions = W.HBox()
        self.actions.add_class("acl-actions")
        self.caption = W.HTML()
        bar = W.HBox([self.actions, self.caption])
        bar.add_class("acl-row")
        self.reason = W.HTML()
        self.reason.add_class("acl-refusal")
        self.details = W.HTML(render_html(info))
        self.box = W.VBox([bar, self.reason, self.details])
        self.box.add_class("acl-file-view")

    @property
    def source(self) -> Any:
        """What `load` takes for this file: the kept bytes, or the path."""
        return self.content if self.content is not None else self.path

    def show(self, actions: list[Action], error: Optional[BaseException] = None, advice: tuple[str, ...] = (),
             ) -> None:
        """Describe the file as refused (`error` with `advice`) or as only read (no error)."""
        from ..display import refusal_html

        self.error = error
        self.title = f"✗ {self.info.name or self.filename}" if error is not None else \
            f"{self.info.name or self.filename} (not loaded)"
        old = list(self.actions.children)
        buttons = []
        for action in actions:
            button = make_button(action.label, action.icon, action.tooltip, action.style)
            button.on_click(lambda _b, run=action.run: run())
            buttons.append(button)
        self.actions.children = buttons
        for button in old:
            button.close()
        state = "refused" if error is not None else "read from the file, not loaded"
        self.caption.value = f'<span class="acl-muted acl-note">{html.escape(self.filename)} · {state}</span>'
        self.reason.value = refusal_html(error, advice) if error is not None else ""
        self.box.remove_class("acl-refused")
        if error is not None:
            self.box.add_class("acl-refused")

    def close(self) -> None:
        self.content = None  # the upload's bytes can go now
        bar = self.box.children[0]
        for widget in (*self.actions.children, self.actions, self.caption, self.reason, self.details, bar,
                       self.box):
            widget.close()


__all__ = ["Action", "FileTab", "ModelTab", "TabExtension", "register_tab_extension"]
