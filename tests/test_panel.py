"""The panel, headless: uploads as the front end delivers them, buttons, timer, devices.

No kernel and no browser: `FileUpload.set_state` runs ipywidgets' real deserializer (the
content arrives as a memoryview, as from the websocket), `Button.click()` fires the real
handlers, and we read back the widgets' state. Models are the real ATC files in
../shared/models and ones our OM writer builds with sizes we choose.
"""

from __future__ import annotations

import threading
import time

import pytest
from panel_kit import (
    PNG_MAGIC,
    MiB,
    buttons,
    om,
    pixels_of,
    png_size,
    real,
    status,
    tab_html,
    upload,
    wait_until,
)

from acl_notebook.display import human_bytes
from acl_notebook.lab import (
    DEFAULT_WEBSOCKET_LIMIT,
    UPLOAD_LIMIT_ENV,
    parse_size,
    server_command,
    server_env,
    upload_limit_in_force,
    websocket_limit,
    write_server_config,
)
from acl_notebook.widgets.memory_plot import render_png
from acl_notebook.widgets.panel import Panel, get_panel
from acl_notebook.widgets.upload import UploadError, check_upload, model_name


# ---------------------------------------------------------------------------------------
# uploads
# ---------------------------------------------------------------------------------------
def test_upload_real_model_shows_its_io_and_moves_the_memory_view(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    memory_before = panel.memory_view.value
    used_before = s.memory().used
    assert panel.tabs.titles == () and panel.empty_note.layout.display is None

    upload(panel, ("a3c_pong_model_v2.om", real("a3c_pong_model_v2")))

    (model,) = s.models()
    assert model.name == "a3c_pong_model_v2"
    assert model.source == "upload:a3c_pong_model_v2.om"
    assert panel.tabs.titles == ("a3c_pong_model_v2",)
    assert panel.tabs.selected_index == 0
    assert panel.empty_note.layout.display == "none"
    details = tab_html(panel, "a3c_pong_model_v2")
    assert ">s<" in details and "out_a:0" in details and "[1, 42, 42, 1]" in details
    assert "Loaded a3c_pong_model_v2" in status(panel) and 'data-status="ok"' in status(panel)
    # the memory view follows the device: used grew by exactly what the model charges
    used_after = s.memory().used
    assert used_after - used_before == model.memory > 0
    assert panel.memory_view.value != memory_before
    assert human_bytes(used_after) in panel.memory_view.value
    assert "a3c_pong_model_v2" in panel.memory_view.value
    # and the widget let go of the upload
    assert panel.upload.value == ()


def test_model_built_for_another_soc_is_refused_but_still_shown(make_session, make_panel):
    s = make_session("Ascend910B1")
    panel = make_panel(s)
    upload(panel, ("my_122_anenet.om", real("my_122_anenet")))
    text = status(panel)
    assert 'data-status="err"' in text and "507008" in text and "Ascend310B4" in text
    assert s.models() == ()
    # the refused model still gets a tab: what our reader sees, why, and what to do
    assert panel.tabs.titles == ("✗ my_122_anenet",)
    tab = panel.tabs.children[0]
    refusal, details = tab.children[1].value, tab.children[2].value
    assert "Not loaded" in refusal and "ACL_ERROR_RT_SOC_VERSION" in refusal and "507008" in refusal
    assert "Simulate Ascend310B4 and load" in refusal  # the advice names the fix on the simulator
    assert "input_image" in details and "[1, 3, 256, 512]" in details and "binary_logits" in details
    assert "Memory needs" in details and "Ascend310B4" in details
    actions = buttons(tab)
    assert "Load anyway" not in actions  # forcing skips only our pre-check: it cannot help here
    # nothing is loaded, so the simulator can become the model's SoC and load it
    actions["Simulate Ascend310B4 and load"].click()
    assert s.info().soc == "Ascend310B4" and [m.name for m in s.models()] == ["my_122_anenet"]
    assert panel.tabs.titles == ("my_122_anenet",)
    assert "Loaded my_122_anenet" in status(panel)
    assert panel.soc_picker.value == "Ascend310B4" and panel.soc_picker.disabled


def test_soc_refusal_with_models_loaded_offers_no_switch(make_session, make_panel):
    s = make_session("Ascend910B1")
    panel = make_panel(s)
    upload(panel, ("keeper.om", om("keeper")))
    upload(panel, ("my_122_anenet.om", real("my_122_anenet")))
    assert panel.tabs.titles == ("keeper", "✗ my_122_anenet")
    refused = panel.tabs.children[1]
    assert set(buttons(refused)) == {"Close"}
    assert "unload them, then switch the simulated SoC to Ascend310B4" in refused.children[1].value
    buttons(refused)["Close"].click()
    assert panel.tabs.titles == ("keeper",) and [m.name for m in s.models()] == ["keeper"]


def test_lanenet_on_its_own_soc_lists_both_long_output_names(make_session, make_panel):
    panel = make_panel(make_session("Ascend310B4"))
    upload(panel, ("my_122_anenet.om", real("my_122_anenet")))
    assert panel.tabs.titles == ("my_122_anenet",)
    details = tab_html(panel, "my_122_anenet")
    assert "input_image" in details and "[1, 3, 256, 512]" in details
    assert "binary_logits" in details and "instance_embedding" in details
    assert "DDR" in panel.memory_view.value  # a 310B has no HBM


def test_several_files_in_one_pick_and_repeated_names(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    a, b = om("alpha", work=8 * MiB), om("beta", work=16 * MiB)
    upload(panel, ("alpha.om", a), ("beta.om", b))
    assert panel.tabs.titles == ("alpha", "beta")
    assert panel.tabs.selected_index == 1  # the newest model is shown
    assert [m.memory for m in s.models()] == [8 * MiB + 64 * 1024, 16 * MiB + 64 * 1024]
    upload(panel, ("alpha.om", a))  # the same file again gets its own name
    assert panel.tabs.titles == ("alpha", "beta", "alpha-2")
    assert status(panel).count('data-status="ok"') == 1


def test_upload_buffer_is_released_after_loading(make_session, make_panel):
    panel = make_panel(make_session())
    data = bytearray(om("released"))
    upload(panel, ("released.om", memoryview(data)))
    assert panel.tabs.titles == ("released",)
    # a bytearray cannot grow while any memoryview of it is alive: nobody kept one
    data.append(0)


@pytest.mark.parametrize(
    ("filename", "payload", "expect"),
    [
        ("notes.txt", b"just some text, not a model", "not an .om model"),
        ("photo.png", PNG_MAGIC + b"\x00" * 64, "not an .om model"),
        ("empty.om", b"", "is empty"),
        ("broken.om", b"IMOD" + b"\x00" * 100, "Truncated OM file"),
    ],
)
def test_bad_uploads_give_one_clear_line(make_session, make_panel, filename, payload, expect):
    panel = make_panel(make_session())
    upload(panel, (filename, payload))
    text = status(panel)
    assert expect in text and filename in text and 'data-status="err"' in text
    assert panel.tabs.titles == () and panel.session.models() == ()
    assert panel.upload.value == () and panel.upload.disabled is False


def test_a_bad_file_does_not_stop_the_good_ones(make_session, make_panel):
    panel = make_panel(make_session())
    upload(panel, ("readme.txt", b"hello"), ("good.om", om("good")))
    assert panel.tabs.titles == ("good",)
    assert 'data-status="err"' in status(panel) and "Loaded good" in status(panel)


def test_precheck_refusal_shows_numbers_and_what_to_unload(make_session, make_panel):
    s = make_session(memory=256 * MiB)
    panel = make_panel(s)
    big = s.load(om("big", work=150 * MiB), name="big")
    free = s.memory().free
    upload(panel, ("huge.om", om("huge", work=120 * MiB)))
    text = status(panel)
    assert "DeviceMemoryError" in text
    needed = 120 * MiB + 64 * 1024
    assert human_bytes(needed) in text and human_bytes(free) in text and human_bytes(256 * MiB) in text
    assert "big" in text
    (button,) = panel.suggestions.children
    assert button.description == f"Unload big ({human_bytes(big.memory)})"
    assert [m.name for m in s.models()] == ["big"]
    assert panel.tabs.titles == ("big", "✗ huge")  # the refused model is shown, with its needs
    refused = panel.tabs.children[1]
    reason = refused.children[1].value
    assert "Not loaded: Model &#x27;huge&#x27; needs" in reason and "Unload big" in reason
    assert human_bytes(needed) in refused.children[2].value
    assert set(buttons(refused)) == {"Try again", "Load anyway", "Close"}
    button.click()
    assert s.models() == () and panel.tabs.titles == ("✗ huge",)
    assert panel.suggestions.children == ()
    buttons(panel.tabs.children[0])["Try again"].click()  # now it fits
    assert panel.tabs.titles == ("huge",) and [m.name for m in s.models()] == ["huge"]
    assert s.models()[0].source == "upload:huge.om"


def test_load_anyway_forces_past_the_precheck_and_a_runtime_refusal_updates_the_tab(make_session, make_panel):
    s = make_session(memory=256 * MiB)
    panel = make_panel(s)
    s.load(om("big", work=150 * MiB), name="big")
    upload(panel, ("huge.om", om("huge", work=120 * MiB)))
    buttons(panel.tabs.children[1])["Load anyway"].click()
    # the pre-check was skipped and the runtime itself refused: the tab says so, nothing changed
    refused = panel.tabs.children[1]
    assert "ACL_ERROR_RT_MEMORY_ALLOCATION" in refused.children[1].value
    assert set(buttons(refused)) == {"Try again", "Close"}  # forcing again cannot help
    assert [m.name for m in s.models()] == ["big"] and "207001" in status(panel)
    # another process lets go of memory behind the pre-check's back: a forced load can now win
    upload(panel, ("huge.om", om("huge", work=120 * MiB)))
    s.backend.devices[0].idle_used = 0
    s.backend.devices[0].total = 290 * MiB
    buttons(panel.tabs.children[2])["Load anyway"].click()
    assert [m.name for m in s.models()] == ["big", "huge"]
    assert panel.tabs.titles == ("big", "huge", "✗ huge")
    # the first refused copy, loaded now, takes the upload's name rule: "huge" is taken
    s.backend.devices[0].total = 500 * MiB
    buttons(panel.tabs.children[2])["Try again"].click()
    assert [m.name for m in s.models()] == ["big", "huge", "huge-2"]
    assert s.find("huge-2").source == "upload:huge.om" and panel.tabs.titles == ("big", "huge", "huge-2")


def test_unload_button_removes_the_tab_and_frees_memory(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    upload(panel, ("one.om", om("one", work=32 * MiB)), ("two.om", om("two", work=8 * MiB)))
    used = s.memory().used
    panel.tabs.selected_index = 0
    unload_one = buttons(panel.tabs.children[0])["Unload"]
    assert unload_one.description == "Unload"
    unload_one.click()
    assert [m.name for m in s.models()] == ["two"]
    assert panel.tabs.titles == ("two",) and panel.tabs.selected_index == 0
    assert s.memory().used == used - (32 * MiB + 64 * 1024)
    assert "Unloaded one" in status(panel)
    assert human_bytes(s.memory().used) in panel.memory_view.value


# ---------------------------------------------------------------------------------------
# one truth with the magics and the API
# ---------------------------------------------------------------------------------------
@pytest.fixture()
def kernel_ip(kernel_session):
    """A shell with the extension loaded over `kernel_session` (the magics see that session)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "acl_notebook")
    yield shell
    shell.run_line_magic("unload_ext", "acl_notebook")


def test_panel_and_magics_show_one_truth(kernel_ip, kernel_session, make_panel, tmp_path):
    panel = kernel_ip.run_line_magic("acl_panel", "")
    assert isinstance(panel, Panel) and panel.session is kernel_session
    try:
        path = tmp_path / "from_magic.om"
        path.write_bytes(om("from_magic"))
        kernel_ip.run_line_magic("acl_load", str(path))
        assert panel.tabs.titles == ("from_magic",)  # loaded elsewhere, shown here
        upload(panel, ("from_panel.om", om("from_panel")))
        assert [m.name for m in kernel_ip.run_line_magic("acl_models", "")] == ["from_magic", "from_panel"]
        buttons(panel.tabs.children[0])["Unload"].click()  # Unload from_magic in the panel
        assert [m.name for m in kernel_ip.run_line_magic("acl_models", "")] == ["from_panel"]
        kernel_ip.run_line_magic("acl_unload", "from_panel")
        assert panel.tabs.titles == ()
    finally:
        panel.close()


def test_get_panel_reuses_the_open_panel_of_a_session(make_session):
    s = make_session(devices=2)
    first = get_panel(s)
    try:
        assert get_panel(s) is first  # re-running %acl_panel shows the same panel, one timer
        assert get_panel(s, device=1) is first and first.device == 1
        with pytest.raises(ValueError, match="valid devices are 0..1"):
            get_panel(s, device=2)
        other = make_session()
        second = get_panel(other)
        assert second is not first and second.session is other
        second.close()
    finally:
        first.close()
    third = get_panel(s)  # a closed panel is replaced
    try:
        assert third is not first and not third.closed
    finally:
        third.close()


def test_session_shutdown_does_not_restart_the_runtime(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    upload(panel, ("gone.om", om("gone")))
    s.shutdown()  # what %unload_ext does
    assert not s.started
    assert panel.tabs.titles == () and "shut down" in panel.memory_view.value
    upload(panel, ("back.om", om("back")))  # a new load starts it again, and the panel follows
    assert s.started and panel.tabs.titles == ("back",) and "back" in panel.memory_view.value


def test_a_load_from_another_thread_shows_up(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    worker = threading.Thread(target=lambda: s.load(om("threaded"), name="threaded"))
    worker.start()
    worker.join(10)
    assert panel.tabs.titles == ("threaded",)


def test_reconfigure_updates_header_and_devices(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    assert "Ascend910B1" in panel.header.value
    assert panel.device_picker.layout.display == "none"
    s.configure(soc="Ascend310P3", devices=3)
    assert "Ascend310P3" in panel.header.value and "3 devices" in panel.header.value
    assert panel.device_picker.layout.display is None
    assert [v for _, v in panel.device_picker.options] == [0, 1, 2]


# ---------------------------------------------------------------------------------------
# devices, timer, plot
# ---------------------------------------------------------------------------------------
def test_device_selector_targets_uploads_and_memory(make_session, make_panel):
    s = make_session(devices=2)
    panel = make_panel(s)
    assert [v for _, v in panel.device_picker.options] == [0, 1]
    assert panel.device_picker.layout.display is None
    panel.device_picker.value = 1
    assert panel.device == 1 and "Device 1" in panel.memory_view.value
    upload(panel, ("on_one.om", om("on_one", work=64 * MiB)))
    (model,) = s.models()
    assert model.device == 1
    assert "on_one" in panel.memory_view.value
    assert s.memory(0).used < s.memory(1).used
    panel.device_picker.value = 0
    assert "on_one" not in panel.memory_view.value and "Device 0" in panel.memory_view.value


def test_single_device_hides_the_selector_and_bad_device_is_refused(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    assert panel.device_picker.layout.display == "none"
    with pytest.raises(ValueError, match="valid devices are 0..0"):
        Panel(s, device=3, autostart=False)


def test_timer_samples_only_while_shown_and_stops_on_close(make_session):
    s = make_session()
    panel = Panel(s, interval=0.02)

    def newest() -> float:
        return s.history.latest(0).t

    try:
        thread = panel.timer.thread
        assert thread is not None and thread.is_alive()
        t = newest()
        # a front end that never reports views: the timer samples regardless
        assert wait_until(lambda: newest() > t)
        panel._view_count = 1  # the front end reports a view...
        panel._view_count = 0  # ...and its removal: nobody is looking, the timer idles
        assert not panel.shown
        time.sleep(0.05)
        t = newest()
        ticks = panel.timer.ticks
        assert wait_until(lambda: panel.timer.ticks > ticks + 5)
        assert newest() == t
        panel._view_count = 1
        assert wait_until(lambda: newest() > t)
        # a flat level is kept as its first and latest sample, however many ticks pass
        assert len(s.history) <= 3
        png = panel.plot.value
        s.load(om("while_shown"), name="while_shown")  # the subscription redraws at once
        assert panel.plot.value != png
    finally:
        panel.close()
    assert not thread.is_alive()
    assert panel.closed
    count = len(s.history)
    s.load(om("after_close"), name="after_close")  # no longer subscribed: nothing breaks
    time.sleep(0.1)
    assert len(s.history) == count + 1  # only the session's own load sample


def test_timer_redraws_when_memory_changes_behind_its_back(make_session):
    s = make_session()
    panel = Panel(s, interval=0.02)
    try:
        panel._view_count = 1
        before_html, before_png = panel.memory_view.value, panel.plot.value
        used = s.memory().used
        # another process takes 512 MiB of the device: no session event, only the timer sees it
        s.backend.devices[0].idle_used += 512 * MiB
        assert wait_until(lambda: human_bytes(used + 512 * MiB) in panel.memory_view.value)
        assert panel.memory_view.value != before_html
        assert wait_until(lambda: panel.plot.value != before_png)  # drawn right after the report
        # nothing changes any more: the timer keeps sampling but does not redraw
        png = panel.plot.value
        ticks = panel.timer.ticks
        assert wait_until(lambda: panel.timer.ticks > ticks + 5)
        assert panel.plot.value == png
    finally:
        panel.close()


def test_plot_is_a_png_that_changes_after_a_load(make_session, make_panel):
    s = make_session()
    panel = make_panel(s)
    first = panel.plot.value
    assert png_size(first)[0] > 300
    upload(panel, ("plotted.om", om("plotted", work=512 * MiB)))
    second = panel.plot.value
    assert second != first and png_size(second)[0] > 300
    assert panel.plot.format == "png"


def test_render_png_shows_each_model_share(tmp_path):
    from acl_notebook.history import MemorySample

    t = 1_700_000_000.0
    total = 64 << 30
    samples = [
        MemorySample(t, 0, total, total - (3 << 30), 3 << 30, {}),
        MemorySample(t + 5, 0, total, total - (5 << 30), 5 << 30, {"a": 2 << 30}),
    ]
    one = render_png(samples, now=t + 10)
    two = render_png(samples, now=t + 10, colours={"a": "#000000"})
    assert png_size(one) == png_size(two) and one != two  # the share is drawn, in the colour asked
    assert png_size(render_png([]))[0] > 0  # an empty history still draws


def test_a_level_drawn_right_after_a_load_is_visible():
    """Steps are drawn "post": without a sliver after the newest sample, a plot redrawn at
    the moment of a load would show the level from before it."""
    from acl_notebook.history import MemorySample

    t = 1_700_000_000.0
    total = 64 << 30
    samples = [
        MemorySample(t, 0, total, total - (3 << 30), 3 << 30, {}),
        MemorySample(t + 30, 0, total, total - (6 << 30), 6 << 30, {"new": 3 << 30}),
    ]
    png = render_png(samples, now=t + 30, colours={"new": "#ff0000"})
    drawn = pixels_of(png, (255, 0, 0))
    assert drawn > 500, f"the newest level is not drawn ({drawn} red pixels, a legend patch is ~160)"


# ---------------------------------------------------------------------------------------
# the size limit shown to the user, and the server configuration behind it
# ---------------------------------------------------------------------------------------
def test_limit_note_warns_without_the_launcher(make_session, make_panel, monkeypatch):
    monkeypatch.delenv(UPLOAD_LIMIT_ENV, raising=False)
    panel = make_panel(make_session())
    text = panel.limit_line.value
    assert "10.0 MiB" in text and "acl-notebook lab" in text and "%acl_load PATH" in text
    assert "acl-warn" in text


def test_limit_note_states_the_limit_in_force(make_session, make_panel, monkeypatch):
    monkeypatch.setenv(UPLOAD_LIMIT_ENV, str(1 << 30))
    panel = make_panel(make_session())
    assert "Uploads up to 1.0 GiB" in panel.limit_line.value
    assert "acl-warn" not in panel.limit_line.value


def test_size_parsing_and_env():
    assert parse_size("1073741824") == 1 << 30
    assert parse_size("512M") == parse_size("512MiB") == 512 * MiB
    assert parse_size("1.5 GiB") == 3 << 29
    for bad in ("", "lots", "-5", "0", "12 parsecs"):
        with pytest.raises(ValueError, match=UPLOAD_LIMIT_ENV):
            parse_size(bad)
    assert websocket_limit({}) == DEFAULT_WEBSOCKET_LIMIT
    assert websocket_limit({UPLOAD_LIMIT_ENV: "2G"}) == 2 << 30
    with pytest.raises(ValueError):
        websocket_limit({UPLOAD_LIMIT_ENV: "huge"})
    assert upload_limit_in_force({}) is None
    assert upload_limit_in_force({UPLOAD_LIMIT_ENV: "huge"}) is None
    assert upload_limit_in_force({UPLOAD_LIMIT_ENV: "300M"}) == 300 * MiB


def test_server_config_sets_the_tornado_limit(tmp_path):
    from traitlets.config import Config as TConfig

    path = write_server_config(tmp_path, 300 * MiB)
    assert path.name == "jupyter_server_config.py"
    for name, app in (("jupyter_server_config.py", "ServerApp"), ("voila.py", "Voila")):
        c = TConfig()
        exec(compile((tmp_path / name).read_text(), name, "exec"), {"c": c})
        assert c[app]["tornado_settings"] == {"websocket_max_message_size": 300 * MiB}
    write_server_config(tmp_path, 400 * MiB)  # ours: rewritten
    assert str(400 * MiB) in path.read_text()


def test_server_config_never_clobbers_a_users_file(tmp_path):
    mine = tmp_path / "jupyter_server_config.py"
    mine.write_text("c.ServerApp.port = 9999\n")
    with pytest.raises(FileExistsError, match="websocket_max_message_size"):
        write_server_config(tmp_path)
    assert mine.read_text() == "c.ServerApp.port = 9999\n"
    write_server_config(tmp_path, overwrite=True)
    assert "websocket_max_message_size" in mine.read_text()


def test_server_env_and_command(tmp_path):
    env = server_env(tmp_path, 123, base={"JUPYTER_CONFIG_PATH": "/etc/extra"})
    assert env["JUPYTER_CONFIG_PATH"].split(":") == [str(tmp_path), "/etc/extra"]
    assert env[UPLOAD_LIMIT_ENV] == "123"
    lab = server_command("nb.ipynb", port=8899, open_browser=False)
    assert lab[1:4] == ["-m", "jupyter", "lab"] and "nb.ipynb" in lab
    assert "--ServerApp.port=8899" in lab and "--ServerApp.port_retries=0" in lab and "--no-browser" in lab
    voila = server_command("nb.ipynb", port=8866, voila=True)
    assert voila[1:3] == ["-m", "voila"] and "--port=8866" in voila


# ---------------------------------------------------------------------------------------
# upload rules
# ---------------------------------------------------------------------------------------
def test_model_names_from_file_names():
    assert model_name("resnet50.om") == "resnet50"
    assert model_name("C:\\models\\yolo.OM") == "yolo"
    assert model_name("net.om", taken={"net", "net-2"}) == "net-3"
    assert model_name(".om") == ".om"


def test_check_upload_rules():
    good = check_upload({"name": "x.bin", "size": 8, "content": memoryview(b"IMODxxxx")})
    assert good.name == "x.bin" and good.label == "upload:x.bin"  # the magic is enough
    with pytest.raises(UploadError, match="cut short"):
        check_upload({"name": "x.om", "size": 100, "content": memoryview(b"IMOD")})
    with pytest.raises(UploadError, match="no data"):
        check_upload({"name": "x.om", "size": 0})
