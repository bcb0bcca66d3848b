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
import weakref
from typing import Any, Callable, Optional

import ipywidgets as W

from ..api import socs
from ..display import (
    copies_word,
    device_span,
    duration,
    error_line,
    human_bytes,
    model_list_title,
    model_listing,
    render_html,
)
from ..session import DeviceMemoryError, Session, get_session, unique_name
from .group_tab import GroupTab
from .memory_view import MemorySection
from .refusal import FORCE, RETRY, SWITCH_SOC, plan_for
from .tabs import Action, FileTab, ModelTab
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
.acl-panel .acl-plot, .acl-panel .acl-util-plot { border: 1px solid var(--jp-border-color2, #e0e3e8);
  border-radius: 4px; height: auto; }
.acl-panel .acl-refused .acl-actions .widget-button { margin-right: 4px; }
.acl-panel .widget-upload { min-width: 150px; }
</style>"""


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
        self._views: dict[int, ModelTab] = {}  # single models' tabs, by model id
        self._groups: dict[str, GroupTab] = {}  # model groups' tabs, by group name
        self._files: dict[str, FileTab] = {}  # tabs of files shown but not loaded, by key
        self._tab_ids: list[Any] = []  # key of each tab, in tab order
        self._status_lines: list[str] = []

        info = self._session.info()  # starts the session: the panel is about a live device
        self.device = info.device if device is None else _valid_device(device, info.device_count)
        self._device_count = info.device_count

        self.header = W.HTML(layout=W.Layout(flex="1 1 auto"))
        self.soc_picker = W.Dropdown(description="Simulated SoC", layout=W.Layout(width="auto"),
                                     style={"description_width": "initial"})
        self.soc_picker.add_class("acl-soc")
        self.upload = W.FileUpload(accept=".om", multiple=True, description="Upload .om", icon="upload",
                                   tooltip="Load Ascend offline models (.om) from memory")
        self.describe_only = W.Checkbox(value=False, description="only describe (do not load)", indent=False,
                                        layout=W.Layout(width="auto"))
        self.describe_only.add_class("acl-describe-only")
        self.device_picker = W.Dropdown(description="Device", layout=W.Layout(width="150px"),
                                        style={"description_width": "initial"})
        note, warn = limit_note()
        tone = "acl-warn" if warn else "acl-muted"
        self.limit_line = W.HTML(f'<span class="acl-note {tone}">{note}</span>',
                                 layout=W.Layout(flex="1 1 320px"))
        self.limit_line.add_class("acl-limit")
        self.path = W.Text(placeholder="…or a path on the kernel's machine, e.g. /models/resnet50.om",
                           layout=W.Layout(flex="1 1 320px", max_width="520px"))
        self.path.add_class("acl-path")
        self.path_load = W.Button(description="Load", icon="upload", layout=W.Layout(width="auto"),
                                  tooltip="Load the file at this path (memory-mapped, never copied)")
        self.path_describe = W.Button(description="Describe", icon="search", layout=W.Layout(width="auto"),
                                      tooltip="Read the file's descriptors, gears and memory needs without loading")
        self.status = W.HTML()
        self.status.add_class("acl-status")
        self.suggestions = W.HBox(layout=W.Layout(flex_flow="row wrap", grid_gap="6px"))
        self.memory = MemorySection(self._session)
        self.memory_view = self.memory.report  # the report: bar, summary, table
        self.plot = self.memory.plot
        self.util_plot = self.memory.util_plot
        self.tabs = W.Tab()
        self.empty_note = W.HTML(
            '<div class="acl-muted acl-note">No model loaded yet: upload a <code>.om</code> file above, '
            "or run <code>%acl_load PATH.om</code>. Models loaded anywhere in this kernel show up here.</div>"
        )
        self._models_title = W.HTML()

        head = W.HBox([self.header, self.soc_picker])
        head.add_class("acl-row")
        controls = W.HBox([self.upload, self.describe_only, self.device_picker, self.limit_line])
        controls.add_class("acl-row")
        path_row = W.HBox([self.path, self.path_describe, self.path_load])
        path_row.add_class("acl-row")
        self._containers = (head, controls, path_row)
        self.children = [head, controls, path_row, self.status, self.suggestions, self.memory.box,
                         self._models_title, self.empty_note, self.tabs]
        self.add_class("acl-panel")

        self.upload.observe(self._on_upload, names="value")
        self.upload.observe(self._on_upload_error, names="error")
        self.path_load.on_click(lambda _b: self._from_path(load=True))
        self.path_describe.on_click(lambda _b: self._from_path(load=False))
        self.memory.mode.observe(lambda _c: self._render_memory(), names="value")
        self._update_devices(info)
        self._update_socs(info)
        self.device_picker.observe(self._on_device, names="value")
        self.soc_picker.observe(self._on_soc, names="value")
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
            for view in [*self._views.values(), *self._groups.values(), *self._files.values()]:
                view.close()
            self._views.clear()
            self._groups.clear()
            self._files.clear()
            owned = [self.header, self.soc_picker, self.upload, self.describe_only, self.device_picker,
                     self.limit_line, self.path, self.path_load, self.path_describe, self.status, self.suggestions,
                     self.tabs, self.empty_note, self._models_title, *self.memory.widgets(), *self._containers]
            for widget in owned:
                widget.close()
        super().close()

    # -- session events ------------------------------------------------------------------------
    def _on_event(self, event: str, payload: Any) -> None:
        if self._closed:
            return
        if event == "configure":
            with self._lock:
                self._update_devices(payload)
                self._update_socs(payload)
                self._render_header(payload)
        self.refresh()
        if event == "load" and payload is not None:
            self._select(self._tab_key(payload))
        if event in ("load", "unload") and self._session.started:  # shut down: do not start it again
            with self._lock:
                info = self._session.info()  # soc auto: a load can change the simulated SoC
                self._update_socs(info)
                self._render_header(info)

    def _on_views(self, change: dict) -> None:
        if change["new"]:
            self._views_seen = True

    def _tick(self) -> None:
        """Timer body: sample the device, redraw only if its numbers changed; the host line
        every tick (host memory moves with no load or unload). The host line is read and drawn
        under the lock, as every redraw is: a tick that read it before a load's redraw and drew
        it after would put the older figure back over the newer one."""
        if self._closed or not self.shown or not self._session.started:
            return
        sample = self._session.sample(self.device)
        with self._lock:
            if self._closed:
                return
            if sample.level() != self.memory.last_key:
                self._render_memory()
            else:
                self.memory.draw_host()

    # -- uploads and paths ---------------------------------------------------------------------
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
                if self.describe_only.value:
                    lines.append(self._describe(upload.filename, content=upload.content, upload=upload))
                else:
                    lines.append(self._load_one(upload, lines))
                upload = None
                self._set_status(*lines)
        finally:
            self.upload.disabled = False

    def _load_one(self, upload: Upload, done: list[str]) -> str:
        what = f"{upload.filename} ({human_bytes(upload.size)})"
        self._set_status(*done, _line("busy", f"Loading {what} on device {self.device}…"))
        try:
            model = self._session.load(upload.content, name=upload.name, device=self.device,
                                       label=upload.label)
        except Exception as exc:  # every refusal: one clear line, a tab if we can read the file
            return self._refused(upload.filename, exc, content=upload.content, upload=upload)
        self._offer_unloads(None)
        return self._loaded_line(model, what)

    def _loaded_line(self, model: Any, what: str) -> str:
        # the same measurement the tab shows (Model.load_seconds), in the same words
        return _line("ok", f"Loaded {model.name} from {what} on device {model.device} "
                           f"in {duration(model.load_seconds)}")

    def _from_path(self, load: bool) -> None:
        path = self.path.value.strip()
        if not path:
            self._set_status(_line("err", "Type the path of an .om file on the kernel's machine first"))
            return
        if not load:
            self._set_status(self._describe(path, path=path))
            return
        self._set_status(_line("busy", f"Loading {path} on device {self.device}…"))
        try:
            model = self._session.load(path, device=self.device)
        except Exception as exc:
            self._set_status(self._refused(path, exc, path=path))
            return
        self._offer_unloads(None)
        self._set_status(self._loaded_line(model, path))

    def _read(self, source: Any) -> Any:
        from ..om.reader import inspect

        return inspect(source)

    def _describe(self, filename: str, *, content: Optional[memoryview] = None, path: Optional[str] = None,
                  upload: Optional[Upload] = None) -> str:
        """A tab with what our reader sees in the file; nothing is loaded."""
        try:
            info = self._read(content if content is not None else path)
        except Exception as exc:
            return _line("err", f"{filename}: {error_line(exc)}")
        tab = self._file_tab(filename, info, content, path, upload)
        self._show_file(tab, None)
        return _line("ok", f"Read {filename}: {info.name or '(unnamed)'}, built for "
                           f"{info.soc_version or 'any SoC'}, needs {human_bytes(info.memory.total)}; not loaded")

    def _refused(self, filename: str, exc: BaseException, *, content: Optional[memoryview] = None,
                 path: Optional[str] = None, upload: Optional[Upload] = None) -> str:
        """The status line for a refusal, and a tab for it when our reader can read the file."""
        if isinstance(exc, DeviceMemoryError):
            self._offer_unloads(exc)
        try:
            info = self._read(content if content is not None else path)
        except Exception:  # bad bytes: the one line is all there is to show
            info = None
        if info is not None:
            self._show_file(self._file_tab(filename, info, content, path, upload), exc)
        if isinstance(exc, DeviceMemoryError):
            return render_html(exc)
        return _line("err", f"{filename}: {error_line(exc)}")

    @staticmethod
    def _file_tab(filename: str, info: Any, content: Optional[memoryview], path: Optional[str],
                  upload: Optional[Upload]) -> FileTab:
        tab = FileTab(filename, info, content=content, path=path)
        if upload is not None:  # loaded later under the name the upload rule gave it
            tab.load_as, tab.label = upload.name, upload.label
        return tab

    def _show_file(self, tab: FileTab, error: Optional[BaseException]) -> None:
        with self._lock:
            self._files[tab.key] = tab
            self._plan_file(tab, error)
            self._sync_models()
            self._select(tab.key)

    def _plan_file(self, tab: FileTab, error: Optional[BaseException]) -> None:
        """Fill a file tab's buttons and advice for `error` (None: only described)."""
        close = Action("Close", "times", "Close this tab (and let go of the file's bytes)",
                       lambda: self._close_file(tab.key))
        if error is None:
            load = Action("Load", "upload", f"Load {tab.filename} on device {self.device}",
                          lambda: self._load_file(tab.key), "primary")
            tab.show([load, close])
            return
        info = self._session.info()
        plan = plan_for(error, tab.info, simulated=info.simulated,
                        loaded=[m.name for m in self._session.models()], socs=socs(), device_soc=info.soc)
        actions = []
        if RETRY in plan.offers:
            actions.append(Action("Try again", "redo", "Load it again once room has been made",
                                  lambda: self._load_file(tab.key), "primary"))
        if FORCE in plan.offers:
            actions.append(Action("Load anyway", "exclamation-triangle",
                                  "Skip the memory pre-check (force=True); the runtime decides",
                                  lambda: self._load_file(tab.key, force=True), "warning"))
        if SWITCH_SOC in plan.offers:
            actions.append(Action(f"Simulate {plan.soc} and load", "microchip",
                                  f"Switch the simulated SoC to {plan.soc} (nothing is loaded), then load",
                                  lambda soc=plan.soc: self._switch_and_load(tab.key, soc), "primary"))
        tab.show([*actions, close], error, plan.advice)

    def _load_file(self, key: str, force: bool = False) -> None:
        tab = self._files.get(key)
        if tab is None:
            return
        taken = [m.name for m in self._session.models()]
        name = unique_name(tab.load_as, taken) if tab.load_as else None  # taken meanwhile: -2, -3...
        try:
            model = self._session.load(tab.source, name=name, device=self.device, force=force, label=tab.label)
        except Exception as exc:
            with self._lock:
                self._plan_file(tab, exc)
                self._sync_models()
            if isinstance(exc, DeviceMemoryError):
                self._offer_unloads(exc)
                self._set_status(render_html(exc))
            else:
                self._set_status(_line("err", f"{tab.filename}: {error_line(exc)}"))
            return
        self._close_file(key)
        self._offer_unloads(None)
        self._set_status(self._loaded_line(model, tab.filename))
        self._select(self._tab_key(model))

    def _switch_and_load(self, key: str, soc: str) -> None:
        try:
            self._switch_soc(soc)
        except Exception as exc:
            self._set_status(_line("err", error_line(exc)))
            return
        self._load_file(key)

    def _close_file(self, key: str) -> None:
        with self._lock:
            tab = self._files.pop(key, None)
            self._sync_models()
            if tab is not None:
                tab.close()

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

    def _unload_group(self, name: str) -> None:
        """Unload every copy of group `name` still loaded (the group tab's Unload all)."""
        copies = [m for m in self._session.models() if m.group == name and m.loaded]
        done: list[Any] = []
        try:
            for model in copies:
                done.append(self._session.unload(model.id))
        except Exception as exc:  # e.g. one copy gone meanwhile: say so, the others are as they are
            self._set_status(_line("err", error_line(exc)))
            self.refresh()
            return
        if not done:
            self._set_status(_line("err", f"Model group {name} has no copy loaded any more"))
            return
        freed = sum(m.memory for m in done)
        self._set_status(_line("ok", f"Unloaded {name} ({copies_word(len(done))}): {human_bytes(freed)} of device "
                                     f"memory released on devices {device_span([m.device for m in done])}"))

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
            self.memory.last_key = None
            self._render_memory()

    def _on_soc(self, change: dict) -> None:
        new = change["new"]
        if self._updating_socs or not new or new == self._configured_soc():
            return
        try:
            self._switch_soc(new)
        except Exception as exc:  # e.g. models loaded meanwhile: say so, show the SoC in force
            self._set_status(_line("err", error_line(exc)))
            self._update_socs()
            return
        self._set_status(_line("ok", f"The simulated SoC is now {self._session.info().soc}"
                                     + (" until a model decides (auto)" if new == "auto" else "")))

    def _switch_soc(self, soc: str) -> None:
        # the same call as acl.configure(soc=...) on the panel's session; it refuses while
        # models are loaded, and its "configure" event redraws the header and devices
        self._session.configure(soc=soc)

    # -- rendering ---------------------------------------------------------------------------
    _updating_socs = False

    def _configured_soc(self) -> str:
        return self._session.config.soc or "auto"

    def _update_socs(self, info: Any = None) -> None:
        """The SoC picker: "auto" and the simulator's SoCs, the setting in force selected;
        usable only while nothing is loaded (a reconfigure would be refused); absent on
        real hardware. The header chip shows the SoC the simulator is right now."""
        info = info if info is not None else self._session.info()
        if not info.simulated:
            self.soc_picker.layout.display = "none"
            return
        names = list(socs())
        current = self._configured_soc()
        if current not in names:
            names.insert(0, current)
        loaded = len(self._session.models())
        self._updating_socs = True
        try:
            if list(self.soc_picker.options) != names:
                self.soc_picker.options = names
            self.soc_picker.value = current
        finally:
            self._updating_socs = False
        self.soc_picker.disabled = bool(loaded)
        self.soc_picker.tooltip = (f"Unload the {loaded} loaded model(s) to switch the simulated SoC" if loaded
                                   else "The SoC the simulator pretends to be (acl.configure(soc=...))")
        self.soc_picker.layout.display = None

    def _update_devices(self, info: Any) -> None:
        count = info.device_count
        self._device_count = count
        if not 0 <= self.device < count:
            self.device = info.device
        self.device_picker.options = [(f"{i}", i) for i in range(count)]
        self.device_picker.value = self.device
        self.device_picker.layout.display = None if count > 1 else "none"

    def _render_header(self, info: Any) -> None:
        backend = "simulated AscendCL" if info.simulated else "AscendCL"
        soc = info.soc or "unknown SoC"
        source = getattr(info, "soc_source", "")
        if source.startswith("auto"):
            soc += " (auto)"
        chips = [backend, soc, f"{info.device_count} device" +
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
        listing = model_listing(models)  # as %acl_models lists them: a group is one entry
        singles = {item.id: item for kind, item in listing if kind == "model"}
        groups = dict(item for kind, item in listing if kind == "group")
        for model_id in [i for i in self._views if i not in singles]:
            self._views.pop(model_id).close()
        for name in [g for g in self._groups if g not in groups]:  # its last copy went
            self._groups.pop(name).close()
        tabs: list[Any] = []
        for kind, item in listing:
            if kind == "model":
                view = self._views.get(item.id)
                if view is None:
                    view = self._views[item.id] = ModelTab(item, self._session, self._unload)
                else:
                    view.update(item)
                tabs.append(view)
                continue
            name, copies = item
            group = self._groups.get(name)
            if group is None:
                group = self._groups[name] = GroupTab(name, copies, self._session, self._unload,
                                                      self._unload_group)
            else:
                group.update(copies)
            tabs.append(group)
        tabs += list(self._files.values())
        old_ids, new_ids = self._tab_ids, [t.key for t in tabs]
        titles = tuple(t.title for t in tabs)
        if new_ids != old_ids or titles != tuple(self.tabs.titles):
            selected = self.tabs.selected_index
            selected_id = old_ids[selected] if selected is not None and selected < len(old_ids) else None
            self.tabs.children = [t.box for t in tabs]
            self.tabs.titles = titles
            self._tab_ids = new_ids
            if new_ids:
                # keep the tab the user was looking at; if it went away, its neighbour
                if selected_id in new_ids:
                    self.tabs.selected_index = new_ids.index(selected_id)
                else:
                    self.tabs.selected_index = min(selected or 0, len(new_ids) - 1)
        count = model_list_title(models)  # the words %acl_models uses: "1 model and 1 model group (4 copies), ..."
        if self._files:
            count += f"; {len(self._files)} not loaded"
        self._models_title.value = (f'<div class="acl-section">Models '
                                    f'<span class="acl-muted">({count})</span></div>')
        self.empty_note.layout.display = "none" if tabs else None
        self.tabs.layout.display = None if tabs else "none"

    @staticmethod
    def _tab_key(model: Any) -> Any:
        """The key of the tab that shows `model`: its group's tab for a group's copy."""
        return ("group", model.group) if getattr(model, "group", None) else model.id

    def _select(self, key: Any) -> None:
        with self._lock:
            if key in self._tab_ids:
                self.tabs.selected_index = self._tab_ids.index(key)

    def _render_memory(self) -> None:
        self.memory.draw(self.device, self._device_count)


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
