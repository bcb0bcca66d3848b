"""The panel's tab of a model group (`acl.load(src, device="all")`): one tab for all copies.

A teacher with an 8-NPU box thinks of "resnet50 on 8 devices", not of eight models, so the
group gets one tab: what its copies share (descriptors, gears, source) shown once, a small
table of its copies (device, id, memory, state) each with its own Unload, an Unload for the
whole group, and Run / Bench on every device at once (`ModelGroup.run` / `.bench`, the same
`DeviceOutputs` / `FleetBench` the API returns) or on one chosen copy.

The tab keeps no list of its own: the panel hands it the copies the session has each time
it redraws, so a copy unloaded by ``%acl_unload ID`` drops out of the table, and the panel
closes the tab when the last one is gone. All text and HTML come from `display`.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Sequence

import ipywidgets as W

from ..display import (
    coverage_html,
    device_span,
    group_copy_cells,
    group_copy_header_cells,
    group_head_html,
    group_tab_title,
    io_html,
)
from ..group import ModelGroup
from .run_box import RunBox
from .tabs import coverage_summary, extension_widgets, make_button

#: the "Run on" value that runs every copy at once
ALL = "all"


class GroupTab:
    """The tab of one model group: its copies (from the session, in device order), shared
    description, per-copy and whole-group Unload, and Run / Bench on the group or one copy.

    `on_unload(model_id)` unloads one copy, `on_unload_group(name)` every copy; both are
    the panel's, so the status line says what happened.
    """

    def __init__(self, name: str, copies: Sequence[Any], session: Any, on_unload: Callable[[int], None],
                 on_unload_group: Callable[[str], None]) -> None:
        self.name = name
        self.key: Any = ("group", name)
        self._session = session
        self._on_unload = on_unload
        self._shown: Any = None  # what the copy table and description were last drawn from
        self.copies: tuple[Any, ...] = ()
        #: the ModelGroup Run / Bench and extensions act on; kept current as copies come and go
        self.group = ModelGroup(session, name, tuple(copies))
        self.title = group_tab_title(name, copies)
        self.unload_all = make_button("Unload all", "eject", "")
        self.unload_all.add_class("acl-unload-group")
        self.unload_all.on_click(lambda _b: on_unload_group(self.name))
        first = copies[0]
        self.actions = W.HBox([self.unload_all, *extension_widgets(self.group, session)])
        self.actions.add_class("acl-actions")
        self.caption = W.HTML()
        bar = W.HBox([self.actions, self.caption])
        bar.add_class("acl-row")
        self.head = W.HTML()
        self.copies_title = W.HTML()
        self.table = W.GridBox(layout=W.Layout(grid_template_columns="auto auto auto minmax(8em, auto) auto",
                                               grid_gap="2px 14px", align_items="center", width="max-content",
                                               max_width="100%"))
        self.table.add_class("acl-copies")
        self.copy_buttons: dict[int, W.Button] = {}
        self.io = W.HTML(io_html(first))
        self.coverage = W.HTML(coverage_html(coverage_summary(first)))  # the same file on every copy
        self.coverage.add_class("acl-coverage")
        self.target = W.Dropdown(description="Run on", layout=W.Layout(width="17em"),
                                 style={"description_width": "initial"})
        self.target.add_class("acl-run-target")
        self.runner = RunBox(first, lead=(self.target,))
        self.target.observe(self._retarget, names="value")
        self.box = W.VBox([bar, self.head, self.copies_title, self.table, self.io, self.coverage, self.runner.box])
        self.box.add_class("acl-model-view")
        self.box.add_class("acl-group-view")
        self.update(copies)

    # -- redraw from the session's copies -------------------------------------------------------
    def update(self, copies: Sequence[Any]) -> None:
        """Show `copies` (the group's loaded copies, as the session has them now)."""
        copies = tuple(sorted(copies, key=lambda m: m.device))
        shown = tuple((m.id, m.memory, m.io_bytes) for m in copies)
        if shown == self._shown:
            return
        ids_changed = tuple(m.id for m in copies) != tuple(m.id for m in self.copies)
        self._shown, self.copies = shown, copies
        self.title = group_tab_title(self.name, copies)
        self.head.value = group_head_html(self.name, copies)
        n = len(copies)
        devices = device_span([m.device for m in copies])
        self.caption.value = (f'<span class="acl-muted acl-note">every copy, as <code>'
                              f'{html.escape(f"%acl_unload {self.name}")}</code> does</span>')
        self.unload_all.description = f"Unload all {n}" if n > 1 else "Unload"
        self.unload_all.tooltip = (f"Unload every copy of {self.name} (devices {devices}) and free their device "
                                   "memory")
        self.copies_title.value = (f'<div class="acl-note" style="font-weight:600;margin-top:6px;">Copies '
                                   f'<span class="acl-muted" style="font-weight:normal;">(an id unloads that copy '
                                   f'alone: %acl_unload ID; the name {html.escape(self.name)} unloads them all)'
                                   f'</span></div>')
        self._draw_table(copies)
        if ids_changed:
            self.group.models = copies
            self._update_targets(copies)
            self.runner.mark_stale(f"This result is from before the copies changed; {self.name} is now on "
                                   f"devices {devices}.")

    def _draw_table(self, copies: Sequence[Any]) -> None:
        old = list(self.table.children)
        cells: list[W.Widget] = [W.HTML(c) for c in group_copy_header_cells()] + [W.HTML("")]
        self.copy_buttons = {}
        for m in copies:
            cells += [W.HTML(c) for c in group_copy_cells(m)]
            unload = make_button("Unload", "eject", f"Unload {m.name} (id {m.id}) alone; the other copies stay")
            unload.add_class("acl-unload-copy")
            unload.layout.height = "26px"
            unload.on_click(lambda _b, model_id=m.id: self._on_unload(model_id))
            self.copy_buttons[m.id] = unload
            cells.append(unload)
        self.table.children = cells
        for widget in old:
            widget.close()

    def _update_targets(self, copies: Sequence[Any]) -> None:
        n = len(copies)
        everyone = f"all {n} devices at once" if n > 1 else "its one device"
        options = [(everyone, ALL)] + [(f"NPU {m.device} only (id {m.id})", m.id) for m in copies]
        keep = self.target.value if self.target.value in {v for _, v in options} else ALL
        self.target.options = options
        self.target.value = keep
        self._retarget({"new": keep})

    def _retarget(self, change: dict) -> None:
        chosen = change["new"]
        model = next((m for m in self.copies if m.id == chosen), None)
        target = model if model is not None else self.group
        if target is not None:
            self.runner.retarget(target)

    def close(self) -> None:
        self.runner.close()
        bar = self.box.children[0]
        for widget in (*self.actions.children, self.actions, self.caption, self.head, self.copies_title,
                       *self.table.children, self.table, self.io, self.coverage, self.target, bar, self.box):
            widget.close()


__all__ = ["ALL", "GroupTab"]
