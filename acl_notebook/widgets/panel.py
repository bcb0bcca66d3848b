"""The interactive panel: upload models into device memory, see their I/O and the memory.

One `Panel` shows the kernel's `Session`, and nothing else is its truth: the panel never
keeps its own list of models, it re-reads the session after every event the session
publishes. So a model loaded with ``%acl_load`` appears here, and one unloaded here is
gone from ``%acl_models``, whichever thread did it.

Uploads are loaded from the widget's buffer as they are (a ``memoryview`` into the
kernel's receive buffer; no temp file, no copy), then the widget's value is cleared so
that buffer can be freed.
"""

from __future__ import annotations

import html
import logging
import threading
import time
import weakref
from typing import Any, Callable, Optional

import ipywidgets as W

from ..display import PALETTE, error_line, human_bytes, render_html
from ..session import DeviceMemoryError, Session, get_session
from .memory_plot import render_png
from .run_box import RunBox
from .ticker import Ticker
from .upload import Upload, UploadError, check_upload, limit_note

log = logging.getLogger("acl_notebook.widgets")

#: Seconds between two memory samples while the panel is shown.
DEFAULT_INTERVAL = 2.0

_open_lock = threading.Lock()

_STYLE = """<style>
.acl-panel { border: 1px solid var(--jp-border-color2, #d0d4da); border-radius: 6px;
  padding: 10px 14px 12px 14px; max-width: 1100px; background: var(--jp-layout-color0, #fff); }
.acl-panel .acl-row { align-items: center; gap: 10px; flex-wrap: wrap; }
.acl-panel .acl-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.acl-panel .acl-head-title { font-size: var(--jp-ui-font-size3, 16px); font-weight: 600; }
.acl-panel .acl-muted { color: var(--jp-ui-font-color2, #616161); }
.acl-panel .acl-chip { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 0.88em;
  background: var(--jp-layout-color2, #eef0f3); color: var(--jp-ui-font-color1, #222); }
.acl-panel .acl-note { font-size: 0.9em; line-height: 1.35; }
.acl-panel .acl-warn { color: var(--jp-warn-color0, #b45309); }
.acl-panel .acl-ok { color: var(--jp-success-color0, #2e7d32); }
.acl-panel .acl-err { color: var(--jp-error-color1, #d32f2f); }
.acl-panel .acl-section { font-weight: 600; margin: 10px 0 2px 0; padding-top: 6px;
  border-top: 1px solid var(--jp-border-color2, #e0e3e8); }
.acl-panel .acl-plot img { border: 1px solid var(--jp-border-color2, #e0e3e8); border-radius: 4px; }
.acl-panel .widget-upload { min-width: 150px; }
</style>"""


class _ModelView:
    """The tab of one loaded model: its description (from display) and an Unload button."""

    def __init__(self, model: Any, on_unload: Callable[[int], None]) -> None:
        self.model_id = model.id
        self.name = model.name
        self.memory = model.memory
        self.details = W.HTML(render_html(model))
        self.button = W.Button(description="Unload", icon="eject", layout=W.Layout(width="auto"),
                               tooltip=f"Unload {model.name} (id {model.id}) and free its device memory")
        self.button.add_class("acl-unload")
        self.button.on_click(lambda _b: on_unload(self.model_id))
        where = f"device {model.device} · model id {model.id} · {model.backend} backend"
        self.caption = W.HTML(f'<span class="acl-muted acl-note">{html.escape(where)}</span>')
        bar = W.HBox([self.button, self.caption])
        bar.add_class("acl-row")
        self.runner = RunBox(model)  # "Run (random input)" and "Bench (n)"
        self.box = W.VBox([bar, self.details, self.runner.box])
        self.box.add_class("acl-model-view")

    def update(self, model: Any) -> None:
        """Redraw the description when what it shows changed (the I/O buffers' charge)."""
        if model.memory != self.memory:
            self.memory = model.memory
            self.details.value = render_html(model)

    def close(self) -> None:
        self.runner.close()
        for widget in (self.details, self.button, self.caption, *self.box.children, self.box):
            widget.close()


class Panel(W.VBox):
    """The panel widget (an ``ipywidgets.VBox``; display it, or just return it from a cell).

    `session` defaults to the kernel's (`get_session()`); `device` is the device uploads
    go to and whose memory is shown (default: the session's default device). A timer
    thread samples that device every `interval` seconds while a view of the panel is open;
    `close()` stops it and unsubscribes from the session.
    """

    def __init__(self, session: Optional[Session] = None, device: Optional[int] = None, *,
                 interval: float = DEFAULT_INTERVAL, autostart: bool = True) -> None:
        super().__init__()
        self._closed = True  # until fully built: close() then has nothing of ours to undo
        self._session = session if session is not None else get_session()
        self._lock = threading.RLock()
        self._views: dict[int, _ModelView] = {}
        self._tab_ids: list[int] = []  # model id shown in each tab, in tab order
        self._last_key: Any = None
        self._status_lines: list[str] = []
        self._loaded_at = 0.0  # perf_counter() of the last "load" event, to time uploads

        info = self._session.info()  # starts the session: the panel is about a live device
        self.device = info.device if device is None else _valid_device(device, info.device_count)

        self.header = W.HTML()
        self.upload = W.FileUpload(accept=".om", multiple=True, description="Upload .om", icon="upload",
                                   tooltip="Load Ascend offline models (.om) from memory")
        self.device_picker = W.Dropdown(description="Device", layout=W.Layout(width="150px"),
                                        style={"description_width": "initial"})
        note, warn = limit_note()
        tone = "acl-warn" if warn else "acl-muted"
        self.limit_line = W.HTML(f'<span class="acl-note {tone}">{note}</span>',
                                 layout=W.Layout(flex="1 1 320px"))
        self.limit_line.add_class("acl-limit")
        self.status = W.HTML()
        self.status.add_class("acl-status")
        self.suggestions = W.HBox(layout=W.Layout(flex_flow="row wrap", grid_gap="6px"))
        self.memory_view = W.HTML(layout=W.Layout(flex="1 1 480px", min_width="320px"))
        self.memory_view.add_class("acl-memory")
        # min_width: an <img> otherwise refuses to shrink below its natural size and wraps
        self.plot = W.Image(format="png", layout=W.Layout(flex="1 1 400px", max_width="560px", min_width="280px",
                                                          object_fit="contain"))
        self.plot.add_class("acl-plot")
        self.tabs = W.Tab()
        self.empty_note = W.HTML(
            '<div class="acl-muted acl-note">No model loaded yet: upload a <code>.om</code> file above, '
            "or run <code>%acl_load PATH.om</code>. Models loaded anywhere in this kernel show up here.</div>"
        )
        self._memory_title = W.HTML('<div class="acl-section">Device memory</div>')
        self._models_title = W.HTML()

        controls = W.HBox([self.upload, self.device_picker, self.limit_line])
        controls.add_class("acl-row")
        memory_row = W.HBox([self.memory_view, self.plot],
                            layout=W.Layout(flex_flow="row wrap", grid_gap="16px", align_items="flex-start"))
        self._containers = (controls, memory_row)
        self.children = [self.header, controls, self.status, self.suggestions, self._memory_title, memory_row,
                         self._models_title, self.empty_note, self.tabs]
        self.add_class("acl-panel")

        self.upload.observe(self._on_upload, names="value")
        self.upload.observe(self._on_upload_error, names="error")
        self._update_devices(info)
        self.device_picker.observe(self._on_device, names="value")
        self._ticker = Ticker(self._tick, interval)
        # Let the front end count views (ipywidgets' _view_count), so the timer can idle while
        # no view is open. Front ends that never report a view still get a live panel.
        self._views_seen = False
        self.observe(self._on_views, names="_view_count")
        self._view_count = 0
        self._set_status(_line("muted", "Ready: pick one or more .om files; they are loaded from memory, "
                                        "without a temporary file."))
        self._render_header(info)
        self._closed = False
        self._unsubscribe: Optional[Callable[[], None]] = self._session.subscribe(self._on_event)
        try:
            self.refresh()
            if autostart:
                self._ticker.start()
        except BaseException:
            self.close()
            raise

    # -- public ------------------------------------------------------------------------------
    @property
    def widget(self) -> Panel:
        """The displayable widget (the panel itself), for code that expects ``.widget``."""
        return self

    @property
    def session(self) -> Session:
        return self._session

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def timer(self) -> Ticker:
        return self._ticker

    @property
    def shown(self) -> bool:
        """False only when the front end counts views and has none open."""
        return not (self._views_seen and not self._view_count)

    def refresh(self) -> None:
        """Re-read the session: model tabs, memory report and plot."""
        with self._lock:
            if self._closed:
                return
            self._sync_models()
            self._render_memory()

    def close(self) -> None:
        """Stop the timer, unsubscribe from the session, close every widget of the panel."""
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = True
        self._ticker.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._lock:
            for view in self._views.values():
                view.close()
            self._views.clear()
            owned = [self.header, self.upload, self.device_picker, self.limit_line, self.status,
                     self.suggestions, self.memory_view, self.plot, self.tabs, self.empty_note,
                     self._memory_title, self._models_title, *self._containers]
            for widget in owned:
                widget.close()
        super().close()

    # -- session events ------------------------------------------------------------------------
    def _on_event(self, event: str, payload: Any) -> None:
        if event == "load":
            self._loaded_at = time.perf_counter()  # before we spend time redrawing
        if self._closed:
            return
        if event == "configure":
            with self._lock:
                self._update_devices(payload)
                self._render_header(payload)
        self.refresh()
        if event == "load" and payload is not None:
            self._select(payload.id)

    def _on_views(self, change: dict) -> None:
        if change["new"]:
            self._views_seen = True

    def _tick(self) -> None:
        """Timer body: sample the device, redraw only if the numbers changed."""
        if self._closed or not self.shown or not self._session.started:
            return
        sample = self._session.sample(self.device)
        key = (sample.device, sample.total, sample.free, tuple(sorted(sample.per_model.items())))
        if key != self._last_key:
            with self._lock:
                if not self._closed:
                    self._render_memory()

    # -- uploads ---------------------------------------------------------------------------------
    def _on_upload(self, change: dict) -> None:
        entries = change["new"]
        if not entries:
            return
        try:
            self._load_uploads(entries)
        finally:
            # Drop the widget's hold on the received buffers (they can be hundreds of MB).
            entries = None
            self.upload.value = ()

    def _load_uploads(self, entries: Any) -> None:
        self.upload.disabled = True
        lines: list[str] = []
        try:
            for entry in entries:
                taken = [m.name for m in self._session.models()]
                try:
                    upload = check_upload(entry, taken)
                except UploadError as exc:
                    lines.append(_line("err", str(exc)))
                    self._set_status(*lines)
                    continue
                lines.append(self._load_one(upload, lines))
                upload = None
                self._set_status(*lines)
        finally:
            self.upload.disabled = False

    def _load_one(self, upload: Upload, done: list[str]) -> str:
        what = f"{upload.filename} ({human_bytes(upload.size)})"
        self._set_status(*done, _line("busy", f"Loading {what} on device {self.device}…"))
        t0 = time.perf_counter()
        try:
            model = self._session.load(upload.content, name=upload.name, device=self.device,
                                       label=upload.label)
        except DeviceMemoryError as exc:
            self._offer_unloads(exc)
            return render_html(exc)
        except Exception as exc:  # every other refusal: one clear line, the panel stays usable
            return _line("err", f"{upload.filename}: {error_line(exc)}")
        ms = (max(self._loaded_at, t0) - t0) * 1000  # bytes in hand -> loaded, our redraw excluded
        self._offer_unloads(None)
        return _line("ok", f"Loaded {model.name} from {what} on device {model.device} in {ms:,.0f} ms")

    def _on_upload_error(self, change: dict) -> None:
        if change["new"]:
            self._set_status(_line("err", f"The browser could not read the file: {change['new']}"))

    # -- actions -----------------------------------------------------------------------------
    def _unload(self, model_id: int) -> None:
        try:
            model = self._session.unload(model_id)
        except Exception as exc:
            self._set_status(_line("err", error_line(exc)))
            self.refresh()
            return
        self._set_status(_line("ok", f"Unloaded {model.name}: {human_bytes(model.memory)} of device memory "
                                     f"released on device {model.device}"))

    def _offer_unloads(self, exc: Optional[DeviceMemoryError]) -> None:
        """Under a pre-check refusal, one button per model whose unloading would make room."""
        for button in self.suggestions.children:
            button.close()
        buttons = []
        for name, size in (exc.candidates if exc is not None else ()):
            button = W.Button(description=f"Unload {name} ({human_bytes(size)})", icon="eject",
                              layout=W.Layout(width="auto"), button_style="warning")
            button.on_click(lambda _b, n=name: self._unload_suggested(n))
            buttons.append(button)
        self.suggestions.children = buttons

    def _unload_suggested(self, name: str) -> None:
        try:
            model = self._session.find(name)
        except Exception as exc:
            self._set_status(_line("err", error_line(exc)))
        else:
            self._unload(model.id)
        self._offer_unloads(None)

    def _on_device(self, change: dict) -> None:
        if change["new"] is None or change["new"] == self.device:
            return
        with self._lock:
            self.device = int(change["new"])
            self._last_key = None
            self._render_memory()

    # -- rendering ---------------------------------------------------------------------------
    def _update_devices(self, info: Any) -> None:
        count = info.device_count
        if not 0 <= self.device < count:
            self.device = info.device
        self.device_picker.options = [(f"{i}", i) for i in range(count)]
        self.device_picker.value = self.device
        self.device_picker.layout.display = None if count > 1 else "none"

    def _render_header(self, info: Any) -> None:
        backend = "simulated AscendCL" if info.simulated else "AscendCL"
        chips = [backend, info.soc or "unknown SoC", f"{info.device_count} device" +
                 ("s" if info.device_count != 1 else ""), info.run_mode, info.memory_kind]
        chip_html = "".join(f'<span class="acl-chip">{html.escape(str(c))}</span>' for c in chips if c)
        note = f'<div class="acl-muted acl-note">{html.escape(info.note)}</div>' if info.note else ""
        title = '<span class="acl-head-title">Ascend models</span>'
        self.header.value = f'{_STYLE}<div class="acl-head">{title}{chip_html}</div>{note}'

    def _set_status(self, *lines: str) -> None:
        self._status_lines = list(lines)
        self.status.value = "".join(lines)

    def _sync_models(self) -> None:
        models = [m for m in self._session.models() if m.loaded]
        current = {m.id for m in models}
        for model_id in [i for i in self._views if i not in current]:
            self._views.pop(model_id).close()
        for model in models:
            if model.id not in self._views:
                self._views[model.id] = _ModelView(model, self._unload)
            else:
                self._views[model.id].update(model)
        old_ids, new_ids = self._tab_ids, [m.id for m in models]
        if new_ids != old_ids:
            selected = self.tabs.selected_index
            selected_id = old_ids[selected] if selected is not None and selected < len(old_ids) else None
            self.tabs.children = [self._views[i].box for i in new_ids]
            self.tabs.titles = tuple(m.name for m in models)
            self._tab_ids = new_ids
            if new_ids:
                # keep the tab the user was looking at; if it went away, its neighbour
                if selected_id in new_ids:
                    self.tabs.selected_index = new_ids.index(selected_id)
                else:
                    self.tabs.selected_index = min(selected or 0, len(new_ids) - 1)
        total = sum(m.memory for m in models)
        count = f"{len(models)} loaded, {human_bytes(total)} charged" if models else "none loaded"
        self._models_title.value = (f'<div class="acl-section">Models '
                                    f'<span class="acl-muted">({count})</span></div>')
        self.empty_note.layout.display = "none" if models else None
        self.tabs.layout.display = None if models else "none"

    def _select(self, model_id: int) -> None:
        with self._lock:
            if model_id in self._tab_ids:
                self.tabs.selected_index = self._tab_ids.index(model_id)

    def _render_memory(self) -> None:
        try:
            self._draw_memory()
        except Exception as exc:  # e.g. the runtime refusing a query: say so where the numbers go
            log.debug("memory view failed", exc_info=True)
            self.memory_view.value = f'<div class="acl-err acl-note">{html.escape(error_line(exc))}</div>'

    def _draw_memory(self) -> None:
        if not self._session.started:
            # shut down (e.g. %unload_ext): asking for memory would start the runtime again
            self.memory_view.value = ('<div class="acl-muted acl-note">The session is shut down; it starts '
                                      "again with the next load.</div>")
            return
        report = self._session.memory(self.device)
        self.memory_view.value = render_html(report)
        samples = self._session.history.samples(self.device)
        if samples:
            last = samples[-1]
            self._last_key = (last.device, last.total, last.free, tuple(sorted(last.per_model.items())))
        colours = {share.name: PALETTE[i % len(PALETTE)] for i, share in enumerate(report.models)}
        self.plot.value = render_png(samples, title=f"Device {self.device} memory over time ({report.kind})",
                                     now=time.time(), colours=colours, width=5.6, height=2.4)


_open_panels: weakref.WeakValueDictionary[int, Panel] = weakref.WeakValueDictionary()


def get_panel(session: Optional[Session] = None, device: Optional[int] = None) -> Panel:
    """The open panel of `session` (default: the kernel's), made on first use.

    ``%acl_panel`` and ``acl_notebook.panel()`` call this, so running the cell again shows
    the same panel (one timer, one subscription) instead of stacking up new ones; a
    closed panel is replaced. `device`, if given, selects that device in it.
    """
    session = session if session is not None else get_session()
    with _open_lock:
        panel = _open_panels.get(id(session))
        if panel is None or panel.closed or panel.session is not session:
            panel = Panel(session, device=device)
            _open_panels[id(session)] = panel
            return panel
    if device is not None:
        panel.device_picker.value = _valid_device(device, len(panel.device_picker.options))
    return panel


def _valid_device(device: Any, count: int) -> int:
    if isinstance(device, bool) or not isinstance(device, int):
        raise TypeError(f"device must be an int, got {device!r}")
    if not 0 <= device < count:
        raise ValueError(f"device {device} does not exist; valid devices are 0..{count - 1}")
    return device


_LINE_CLASS = {"ok": "acl-ok", "err": "acl-err", "busy": "acl-muted", "muted": "acl-muted"}
_LINE_MARK = {"ok": "✓ ", "err": "✗ ", "busy": "⏳ ", "muted": ""}


def _line(kind: str, text: str) -> str:
    """One status line; `kind` picks its colour and mark, the text is escaped."""
    return (f'<div class="acl-note {_LINE_CLASS[kind]}" data-status="{kind}">{_LINE_MARK[kind]}'
            f"{html.escape(text)}</div>")


__all__ = ["DEFAULT_INTERVAL", "Panel", "get_panel"]
