"""The panel's views a newcomer meets first, headless: the SoC picker, files shown without
loading, the memory plot read at a glance (axis to the total, per-model colours, MiB
models visible, history from the session's start), the per-device rows, utilisation
(present on the simulator, absent on an older CANN), and one load-time measurement."""

from __future__ import annotations

import html
import io
import time

import numpy as np
import pytest
from panel_kit import MiB, buttons, om, real, status, tab_html, upload

from acl_notebook.display import duration, model_colour
from acl_notebook.history import MemorySample
from acl_notebook.runtime.base import Utilization
from acl_notebook.session import Config, Session
from acl_notebook.widgets.memory_plot import (
    LEFT_IN,
    MIN_BAND_PX,
    OTHER_COLOUR,
    RIGHT_IN,
    has_utilization,
    render_png,
    render_util_png,
)
from acl_notebook.widgets.panel import Panel
from acl_notebook.widgets.tabs import register_tab_extension

GiB = 1 << 30


def rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def image(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    return (imread(io.BytesIO(png), format="png")[..., :3] * 255).round().astype(int)


def mask(png: bytes, colour: str, tol: int = 12) -> np.ndarray:
    """Pixels of `colour` (layers are drawn opaque, so the match can be tight)."""
    return np.abs(image(png) - np.array(rgb(colour))).max(axis=-1) <= tol


# ---------------------------------------------------------------------------------------
# the simulated SoC
# ---------------------------------------------------------------------------------------
def test_soc_picker_shows_the_setting_and_switches_it_while_nothing_is_loaded(default_session, make_panel):
    s = default_session
    panel = make_panel(s)
    assert panel.soc_picker.layout.display is None and not panel.soc_picker.disabled
    assert panel.soc_picker.value == "auto" and "Ascend310P3" in panel.soc_picker.options
    panel.soc_picker.value = "Ascend310P3"  # what a user does in the dropdown
    assert s.config.soc == "Ascend310P3" and s.info().soc == "Ascend310P3"
    assert "Ascend310P3" in panel.header.value and "DDR" in panel.header.value
    assert "simulated SoC is now Ascend310P3" in status(panel)
    upload(panel, ("small.om", om("small")))
    assert panel.soc_picker.disabled and "Unload" in panel.soc_picker.tooltip  # a switch would be refused
    buttons(panel.tabs.children[0])["Unload"].click()
    assert not panel.soc_picker.disabled
    panel.soc_picker.value = "auto"
    assert s.config.soc is None


def test_soc_auto_header_follows_the_first_model(default_session, make_panel):
    panel = make_panel(default_session)
    upload(panel, ("my_122_anenet.om", real("my_122_anenet")))
    assert panel.tabs.titles == ("my_122_anenet",)
    assert "Ascend310B4 (auto)" in panel.header.value and panel.soc_picker.value == "auto"


def test_both_real_models_load_on_a_default_session(default_session, make_panel):
    panel = make_panel(default_session)
    upload(panel, ("a3c_pong_model_v2.om", real("a3c_pong_model_v2")), ("my_122_anenet.om", real("my_122_anenet")))
    assert panel.tabs.titles == ("a3c_pong_model_v2", "my_122_anenet")
    assert status(panel).count('data-status="ok"') == 2


# ---------------------------------------------------------------------------------------
# files shown without loading
# ---------------------------------------------------------------------------------------
def test_describe_only_upload_shows_the_file_and_loads_on_request(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    panel.describe_only.value = True
    data = bytearray(om("peek", work=24 * MiB))
    upload(panel, ("peek.om", memoryview(data)))
    assert s.models() == () and panel.tabs.titles == ("peek (not loaded)",)
    tab = panel.tabs.children[0]
    assert tab.children[1].value == ""  # nothing was refused
    details = tab.children[2].value
    assert "images" in details and "[1, 3, 32, 32]" in details and "Memory needs" in details
    assert "Read peek.om" in status(panel) and "not loaded" in status(panel)
    assert set(buttons(tab)) == {"Load", "Close"}
    buttons(tab)["Load"].click()
    assert [m.name for m in s.models()] == ["peek"] and panel.tabs.titles == ("peek",)
    assert s.models()[0].source == "upload:peek.om"
    del tab
    data.append(0)  # the kept bytes were let go once the file was loaded


def test_describe_a_path_then_close_it(make_session, make_panel, tmp_path):
    s = make_session()
    panel = make_panel(s)
    path = tmp_path / "on_disk.om"
    path.write_bytes(om("on_disk"))
    panel.path.value = str(path)
    panel.path_describe.click()
    assert panel.tabs.titles == ("on_disk (not loaded)",) and s.models() == ()
    buttons(panel.tabs.children[0])["Close"].click()
    assert panel.tabs.titles == () and panel.empty_note.layout.display is None
    panel.path_load.click()
    assert [m.source for m in s.models()] == [str(path)] and panel.tabs.titles == ("on_disk",)


def test_a_bad_path_is_one_line_and_no_tab(make_session, make_panel, tmp_path):
    panel = make_panel(make_session())
    panel.path.value = str(tmp_path / "missing.om")
    panel.path_describe.click()
    assert 'data-status="err"' in status(panel) and "missing.om" in status(panel)
    panel.path_load.click()
    assert 'data-status="err"' in status(panel) and panel.tabs.titles == ()
    panel.path.value = ""
    panel.path_load.click()
    assert "Type the path" in status(panel)


# ---------------------------------------------------------------------------------------
# one load time, one tab structure others can extend
# ---------------------------------------------------------------------------------------
def test_status_line_and_tab_show_the_same_load_time(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    upload(panel, ("timed.om", om("timed")))
    (model,) = s.models()
    shown = html.escape(f"in {duration(model.load_seconds)}")
    assert shown in status(panel) and shown in tab_html(panel, "timed")


def test_tab_extensions_add_buttons_and_a_broken_one_adds_nothing(make_session, make_panel):
    import ipywidgets as W

    seen = []

    def run_button(model, session):
        seen.append((model.name, session))
        return W.Button(description="Run")

    def broken(model, session):
        raise RuntimeError("extension bug")

    remove_run, remove_broken = register_tab_extension(run_button), register_tab_extension(broken)
    try:
        s = make_session()
        panel = make_panel(s)
        upload(panel, ("ext.om", om("ext")))
        assert list(buttons(panel.tabs.children[0])) == ["Unload", "Run"]
        assert seen == [("ext", s)]
    finally:
        remove_run()
        remove_broken()
    upload(panel, ("plain.om", om("plain")))
    assert list(buttons(panel.tabs.children[1])) == ["Unload"]


# ---------------------------------------------------------------------------------------
# colours
# ---------------------------------------------------------------------------------------
def test_a_model_keeps_its_colour_across_unloads_and_reloads(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    upload(panel, ("col_a.om", om("col_a")), ("col_b.om", om("col_b")))
    a, b = model_colour("col_a"), model_colour("col_b")
    assert a != b and a in panel.memory_view.value and b in panel.memory_view.value
    buttons(panel.tabs.children[0])["Unload"].click()  # col_a goes: col_b keeps its colour
    assert b in panel.memory_view.value and a not in panel.memory_view.value
    upload(panel, ("col_a.om", om("col_a")))  # and col_a comes back in its own
    assert model_colour("col_a") == a and a in panel.memory_view.value
    # the plot uses the same colour for the same model
    assert mask(panel.plot.value, a).sum() > 20


# ---------------------------------------------------------------------------------------
# the memory plot
# ---------------------------------------------------------------------------------------
T0 = 1_700_000_000.0


def series(total=64 * GiB, idle=3 * GiB, steps=((0, {}),)):
    out = []
    for dt, per_model in steps:
        used = idle + sum(per_model.values())
        out.append(MemorySample(T0 + dt, 0, total, total - used, used, per_model))
    return out


def axes_columns(png: bytes, width_in: float = 6.4, dpi: int = 150) -> slice:
    """The pixel columns of the plot's axes (fixed margins: LEFT_IN and RIGHT_IN inches)."""
    return slice(int(LEFT_IN * dpi) + 2, int((width_in - RIGHT_IN) * dpi) - 2)


def in_axes(png: bytes, pixels: np.ndarray, dpi: int = 150) -> np.ndarray:
    """`pixels` cut to the plot's axes: without the title, the tick labels and the legend
    rows under it (the x axis sits 0.42 in above the legend; the top margin is 0.14 in)."""
    height = pixels.shape[0]
    legend_rows = round((height / dpi - 2.5) / 0.23)
    bottom = int((0.42 + legend_rows * 0.23 + 0.06) * dpi)
    return pixels[int(0.14 * dpi) + 1 : height - bottom - 1, axes_columns(png)]


def test_y_axis_runs_to_the_device_total(make_session):
    # 8 GiB of models on a 64 GiB device: in "total" mode they fill about an eighth of the
    # axis height; zoomed onto the models they fill most of it
    samples = series(steps=((0, {"big": 8 * GiB}),))
    colour = "#ff0000"
    full = mask(render_png(samples, now=T0 + 60, colours={"big": colour}), colour)
    zoom = mask(render_png(samples, now=T0 + 60, mode="models", colours={"big": colour}), colour)
    full_rows = np.nonzero(in_axes(b"", full).any(axis=1))[0]
    zoom_rows = np.nonzero(in_axes(b"", zoom).any(axis=1))[0]
    full_height, zoom_height = np.ptp(full_rows), np.ptp(zoom_rows)
    # 8 of 64 * 1.04 GiB of axis vs 8 of 8 * 1.22 GiB: the zoom is 6.8 times taller
    assert 5.5 < zoom_height / full_height < 8.0


def test_the_axis_follows_the_device_as_it_is_now():
    """soc auto: the simulator became an 8 GiB board after the session started on a 64 GiB
    default; the axis is the board's, not the old total's."""
    before = MemorySample(T0, 0, 64 * GiB, 61 * GiB, 3 * GiB, {})
    after = MemorySample(T0 + 30, 0, 8 * GiB, 3 * GiB, 5 * GiB, {"board": 4 * GiB})
    colour = "#ff0000"
    png = render_png([before, after], now=T0 + 60, colours={"board": colour})
    rows = np.nonzero(in_axes(png, mask(png, colour)).any(axis=1))[0]
    assert np.ptp(rows) > 110  # 4 of 8.3 GiB of a 290-pixel axis; against 64 GiB it would be 17


def test_a_mib_model_on_a_64_gib_device_stays_visible():
    colour = "#ff0000"
    samples = series(steps=((0, {}), (10, {"tiny": 2 * MiB})))
    png = render_png(samples, now=T0 + 60, colours={"tiny": colour})
    band = in_axes(png, mask(png, colour))
    rows_per_column = band.sum(axis=0)
    drawn = rows_per_column[rows_per_column > 0]
    assert drawn.size > 100, "the band is not drawn across the time it was loaded"
    assert np.median(drawn) >= MIN_BAND_PX  # 2 MiB is 0.005 px at true scale


def test_history_starts_at_the_session_start_not_a_blank_axis():
    # a session started 10 minutes ago that loaded a model just now: the runtime's share is
    # drawn from the first column of the axis, not after a blank stretch
    samples = series(steps=((0, {}), (600, {"late": 1 * GiB})))
    png = render_png(samples, now=T0 + 605)
    grey = mask(png, OTHER_COLOUR, tol=6)[:, axes_columns(png)]
    columns = grey.any(axis=0)
    assert columns.mean() > 0.97, f"only {columns.mean():.0%} of the axis shows history"
    # an explicit session start before the first sample of this device starts the axis there
    late = render_png(samples[1:], now=T0 + 605, start=T0)
    assert mask(late, OTHER_COLOUR, tol=6)[:, axes_columns(late)].any(axis=0).mean() < 0.1


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="total, models"):
        render_png(series(), mode="log")


def test_zoom_toggle_redraws_the_plot(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    upload(panel, ("zoomed.om", om("zoomed", work=6 * MiB)))
    before = panel.plot.value
    panel.memory.mode.value = "models"
    assert panel.plot.value != before
    colour = model_colour("zoomed")
    assert mask(panel.plot.value, colour).sum() > 5 * mask(before, colour).sum()


# ---------------------------------------------------------------------------------------
# several devices
# ---------------------------------------------------------------------------------------
def test_device_rows_show_every_device_and_open_none_behind_the_users_back(make_session, make_panel):
    s = make_session(devices=3)
    panel = make_panel(s)
    rows = panel.memory.devices
    assert rows.layout.display is None
    assert rows.value.count('class="acl-device-row"') == 3
    assert "NPU 1" in rows.value and "not opened by this kernel" in rows.value
    assert s.open_devices() == (0,)  # drawing the rows opened nothing
    panel.device_picker.value = 2
    upload(panel, ("on_two.om", om("on_two", work=300 * MiB)))
    assert s.open_devices() == (0, 2)
    assert rows.value.count("not opened by this kernel") == 1
    assert model_colour("on_two") in rows.value  # its share is in device 2's bar
    assert "AI Core 0%" in rows.value  # the simulator reports utilisation


def test_one_device_has_no_device_rows(make_session, make_panel):
    panel = make_panel(make_session())
    assert panel.memory.devices.layout.display == "none"


# ---------------------------------------------------------------------------------------
# utilisation
# ---------------------------------------------------------------------------------------
def test_simulator_utilisation_is_idle_then_follows_runs(make_session, make_panel):
    s = make_session()
    assert s.utilization() == Utilization(cube=0, vector=0, aicpu=0)
    panel = make_panel(s)
    assert panel.util_plot.layout.display is None and panel.util_plot.value[:4] == b"\x89PNG"
    # a run that kept the AI Cores busy for the last half second (what model execution records)
    now = time.monotonic()
    s.backend.devices[0].record_run(now - 0.5, now)
    busy = s.utilization()
    assert 40 <= busy.cube <= 60 and busy.vector == busy.cube
    idle_png = panel.util_plot.value
    s.sample(0)
    panel.refresh()
    assert panel.util_plot.value != idle_png


def test_running_a_model_shows_up_as_ai_core_utilisation(make_session):
    import acl_notebook.session as session_mod

    s = make_session()
    previous, session_mod._session = session_mod._session, s  # acl.bench runs on the kernel's session
    try:
        import acl_notebook as acl

        model = s.load(om("busy", work=8 * MiB, inputs=(("x", (1, 3, 512, 512), "float32", "NCHW"),)))
        assert s.utilization().cube == 0
        acl.bench(model, 150)
        assert s.utilization().cube > 0  # the runs kept the simulated AI Cores busy
    finally:
        session_mod._session = previous


def test_a_chip_without_vector_reports_none_for_it(make_session):
    s = make_session("Ascend910ProA")
    util = s.utilization()
    assert util.cube == 0 and util.vector is None


def test_util_plot_draws_only_what_is_measured():
    samples = [MemorySample(T0, 0, 8 * GiB, 4 * GiB, 4 * GiB, {}, Utilization(cube=70, vector=None, aicpu=0))]
    png = render_util_png(samples, now=T0 + 30)
    assert mask(png, "#2F6FB0").sum() > 200  # the AI Core line (and its fill)
    assert mask(png, "#D9822B").sum() == 0  # no Vector line on a chip without one
    no_util = [MemorySample(T0, 0, 8 * GiB, 4 * GiB, 4 * GiB, {})]
    assert not has_utilization(no_util) and render_util_png(no_util) is None


def test_without_the_symbol_the_util_row_is_hidden_and_the_panel_works(monkeypatch, tmp_path_factory, make_panel):
    """An older CANN has no aclrtGetDeviceUtilizationRate: no row, nothing broken."""
    from abi_lib import FakeAclControl, build_fake_acl, cann_root

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi-old", "old")
    fake = FakeAclControl(lib)
    fake.reset()
    monkeypatch.setenv("ASCEND_HOME_PATH", str(cann_root(lib)))
    s = Session(Config(backend="acl"))
    try:
        s.start()
        assert s.utilization() is None
        panel = make_panel(s)
        assert panel.util_plot.layout.display == "none"
        assert panel.soc_picker.layout.display == "none"  # real hardware keeps its SoC
        upload(panel, ("a3c_pong_model_v2.om", real("a3c_pong_model_v2")))
        assert panel.tabs.titles == ("a3c_pong_model_v2",)
        assert "a3c_pong_model_v2" in panel.memory_view.value
    finally:
        s.shutdown()
        fake.reset()


def test_with_the_symbol_the_util_row_shows_what_acl_reports(monkeypatch, tmp_path_factory, make_panel):
    from abi_lib import FakeAclControl, build_fake_acl, cann_root

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    fake = FakeAclControl(lib)
    fake.reset()
    fake.set_device_count(2)
    fake.set_utilization(0, 63, 12)
    monkeypatch.setenv("ASCEND_HOME_PATH", str(cann_root(lib)))
    s = Session(Config(backend="acl"))
    try:
        s.start()
        assert s.utilization() == Utilization(cube=63, vector=12, aicpu=0)
        panel = make_panel(s)
        assert panel.util_plot.layout.display is None
        assert "AI Core 63% · Vector 12%" in panel.memory.devices.value
        assert isinstance(panel, Panel)
    finally:
        s.shutdown()
        fake.reset()


# ---------------------------------------------------------------------------------------
# what a refusal offers, case by case
# ---------------------------------------------------------------------------------------
def test_refusal_plans():
    from types import SimpleNamespace

    from acl_notebook.runtime.errors import AclError
    from acl_notebook.session import DeviceMemoryError
    from acl_notebook.widgets.refusal import FORCE, RETRY, SWITCH_SOC, plan_for

    info = SimpleNamespace(name="m", soc_version="Ascend310P3")  # the ModelInfo fields a plan reads
    soc = AclError(507008, "aclmdlLoadFromMem")
    common = dict(socs=("auto", "Ascend310P3", "Ascend910B1"), device_soc="Ascend910B1")
    plan = plan_for(soc, info, simulated=True, loaded=(), **common)
    assert plan.offers == (SWITCH_SOC,) and plan.soc == "Ascend310P3"
    assert plan_for(soc, info, simulated=True, loaded=("a",), **common).offers == ()
    real = plan_for(soc, info, simulated=False, loaded=(), **common)
    assert real.offers == () and "rebuild the model for it with ATC (--soc_version=Ascend910B1)" in real.advice[0]
    odd = plan_for(soc, SimpleNamespace(soc_version="Ascend999"), simulated=True, loaded=(), **common)
    assert odd.offers == () and "no Ascend999 profile" in odd.advice[0]
    memory = DeviceMemoryError("m", 0, 10 * GiB, 1 * GiB, 8 * GiB, (("big", 6 * GiB),))
    plan = plan_for(memory, info, simulated=True, loaded=("big",), **common)
    assert plan.offers == (RETRY, FORCE) and "Unload big (6.0 GiB)" in plan.advice[0]
    oom = plan_for(AclError(207001, "aclmdlLoadFromMem"), info, simulated=True, loaded=(), **common)
    assert oom.offers == (RETRY,)
    other = plan_for(AclError(145006, "aclmdlLoadFromMem"), info, simulated=True, loaded=(), **common)
    assert other.offers == ()
