"""One model on several devices of one host (`acl.load(..., device="all")`), on both
backends: the simulator and the ctypes binding over the C test library."""

from __future__ import annotations

import pytest

import acl_notebook as acl
from acl_notebook import display
from acl_notebook.devices import is_single, parse_devices
from acl_notebook.group import GroupLoadError, ModelGroup, find_group, load_group
from acl_notebook.om.writer import ModelSpec, write_om
from acl_notebook.session import DeviceMemoryError

MiB = 1024**2


def model(name: str, work: int, weight: int) -> bytes:
    return write_om(ModelSpec(name=name, soc_version="Ascend910B1", work_size=work, weight_size=weight))


def used(session, device: int) -> int:
    return session.memory(device).used


# -- device lists ------------------------------------------------------------------------
@pytest.mark.parametrize("spec, ids", [
    ("all", (0, 1, 2, 3)), ("ALL", (0, 1, 2, 3)), ("0-3", (0, 1, 2, 3)), ("1-2", (1, 2)), ("0,2", (0, 2)),
    ("0-1, 3", (0, 1, 3)), ([2, 0], (0, 2)), ((3,), (3,)), (range(2), (0, 1)), (1, (1,)),
])
def test_device_lists_people_write(spec, ids):
    assert parse_devices(spec, 4) == ids


@pytest.mark.parametrize("spec, message", [
    ("0-4", "device 4 does not exist; valid devices are 0..3"),
    ("3-1", "runs backwards"),
    ("0,0", "device 0 is named twice"),
    ("zero", "cannot read device list 'zero'"),
    ([], "no device named"),
    ([0, "1"], "device ids must be ints"),
    (True, "device must be an int"),
    (1.5, "device must be an int"),
])
def test_device_list_mistakes_say_what_to_write(spec, message):
    with pytest.raises((ValueError, TypeError), match=message):
        parse_devices(spec, 4)


def test_one_id_is_a_model_everything_else_a_group():
    assert is_single(2) and is_single("2") and is_single(" 3 ")
    assert not is_single("all") and not is_single([2]) and not is_single("0,1") and not is_single(True)


def test_numpy_integers_name_devices_as_ints_do(four):
    """A device picked with numpy (np.argmax of the free memory, np.arange(4)) is a device id:
    they were refused as 'device must be an int ... got int64'. numpy's bool is not one."""
    import numpy as np

    assert is_single(np.int64(2)) and not is_single(np.bool_(True)) and not is_single(np.arange(2))
    assert parse_devices(np.arange(1, 3), 4) == (1, 2) and parse_devices([np.int32(3), 0], 4) == (0, 3)
    with pytest.raises(TypeError, match="device ids must be ints"):
        parse_devices([np.bool_(True)], 4)
    data = model("net", MiB, MiB)
    single = acl.load(data, device=np.int64(2))
    assert isinstance(single, acl.Model) and single.device == 2 and type(single.device) is int
    g = acl.load(data, device=np.arange(2))
    assert isinstance(g, acl.ModelGroup) and g.devices == (0, 1)
    assert acl.memory(np.int64(2)).used >= single.memory
    assert len(acl.memory([np.int64(0), np.int64(1)]).cells) == 2


# -- loading on several devices ----------------------------------------------------------
def test_group_puts_one_copy_on_each_device_from_one_buffer(rig):
    s = rig.session(devices=4, memory=1024 * MiB)
    data = model("net", 60 * MiB, 40 * MiB)
    before = [used(s, d) for d in range(4)]
    g = load_group(s, data, "all")
    assert isinstance(g, ModelGroup) and g.devices == (0, 1, 2, 3) and g.name == "net"
    assert [m.name for m in g] == ["net@0", "net@1", "net@2", "net@3"]
    assert [m.device for m in g] == [0, 1, 2, 3] and all(m.group == "net" for m in g)
    for d in range(4):
        report = s.memory(d)
        assert report.used - before[d] == 100 * MiB
        assert [sh.name for sh in report.models] == [f"net@{d}"]
    assert g.memory == 400 * MiB and g.loaded and g.on(2) is g[2]
    with pytest.raises(KeyError, match="no copy on device 5"):
        g.on(5)


def test_group_on_some_devices_leaves_the_others_alone(rig):
    s = rig.session(devices=4, memory=1024 * MiB)
    g = load_group(s, model("net", 10 * MiB, 10 * MiB), "1,3")
    assert g.devices == (1, 3)
    assert [bool(s.memory(d).models) for d in range(4)] == [False, True, False, True]


def test_a_device_without_room_refuses_before_anything_loads(rig):
    s = rig.session(devices=4, memory=1024 * MiB)
    hog = s.load(model("hog", 500 * MiB, 200 * MiB), device=2)
    before = [used(s, d) for d in range(4)]
    with pytest.raises(DeviceMemoryError) as err:
        load_group(s, model("net", 300 * MiB, 100 * MiB), "all")
    assert err.value.device == 2 and "device 2" in str(err.value)
    assert err.value.candidates == (("hog", 700 * MiB),)
    assert [used(s, d) for d in range(4)] == before  # nothing loaded anywhere
    assert list(s.models()) == [hog] and hog.loaded


def test_a_runtime_failure_keeps_the_copies_that_loaded_and_says_which_device(rig):
    s = rig.session(devices=4, memory=1024 * MiB)
    hog = s.load(model("hog", 500 * MiB, 200 * MiB), device=2)
    with pytest.raises(GroupLoadError) as err:  # force skips the pre-check: the runtime itself refuses
        load_group(s, model("net", 300 * MiB, 100 * MiB), "all", force=True)
    e = err.value
    assert e.device == 2 and e.pending == (3,)
    assert "device 2 refused 'net'" in str(e) and "ACL_ERROR_RT_MEMORY_ALLOCATION" in str(e)
    assert "stay loaded as group 'net'" in str(e)
    assert e.group.devices == (0, 1) and e.group.loaded
    assert {m.name for m in s.models()} == {"hog", "net@0", "net@1"}
    e.group.unload()
    assert list(s.models()) == [hog] and hog.loaded
    assert [used(s, d) for d in (0, 1, 3)] == [used(s, 3)] * 3  # back to idle on every other device


def test_group_names_never_collide(rig):
    s = rig.session(devices=2, memory=1024 * MiB)
    data = model("net", MiB, MiB)
    a = load_group(s, data, "all")
    b = load_group(s, data, "all")
    assert (a.name, b.name) == ("net", "net-2")
    with pytest.raises(ValueError, match="already used"):
        load_group(s, data, "all", name="net")
    assert find_group(s, "net-2").devices == (0, 1) and find_group(s, "nope") is None


# -- the public API and the magics --------------------------------------------------------
@pytest.fixture
def four():
    acl.configure(backend="sim", devices=4, memory=1024 * MiB)
    yield acl
    acl.unload_all()


def test_api_load_returns_a_model_for_one_id_and_a_group_for_several(four):
    data = model("net", MiB, MiB)
    assert isinstance(acl.load(data, device=1), acl.Model)
    assert isinstance(acl.load(data, device="2"), acl.Model)
    g = acl.load(data, device="0-3")
    assert isinstance(g, acl.ModelGroup) and len(g) == 4
    acl.unload(g.name)  # a group unloads by its name
    assert not g.loaded and all(not m.loaded for m in g)
    assert [m.device for m in acl.models()] == [1, 2]


def test_group_shows_as_one_row_with_a_column_per_device(four):
    g = acl.load(model("net", 3 * MiB, MiB), device="all")
    text = display.render_text(g)
    lines = text.splitlines()
    assert "4 copies on devices 0, 1, 2, 3" in lines[0]
    assert all(f"device {d}" in lines[1] for d in range(4))
    assert len(lines) == 4 and "#" in lines[3] and "4.0 MiB" in lines[3]  # header, rule, ONE row
    html = display.render_html(g)
    assert html.count("<tr>") == 2 and html.count("device ") >= 4
    g[1].unload()
    assert "unloaded" in display.render_text(g)


def test_memory_grid_draws_a_group_in_one_colour_on_every_device(four):
    s = acl.load(model("solo", 8 * MiB, 0), device=0)
    g = acl.load(model("net", 30 * MiB, 10 * MiB), device="all")
    grid = acl.memory(device="all")
    assert [c.device for c in grid.cells] == [0, 1, 2, 3]
    assert grid.keys == ("solo", "net")
    for c in grid.cells:
        assert any(sh.key == "net" and sh.bytes == 40 * MiB for sh in c.models)
    colors = display.grid_colors(grid)
    html = display.render_html(grid)
    assert html.count(f"background:{colors['net']}") >= 4 + 1  # a bar segment per device, plus the legend
    assert colors["net"] != colors["solo"]
    assert grid.used == sum(acl.memory(d).used for d in range(4))
    text = display.render_text(grid)
    assert "net@3 40.0 MiB" in text and s.name in text and g.name in text


def test_magics_load_list_and_unload_groups(four):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "acl_notebook")
    ip.user_ns["blob"] = model("net", MiB, MiB)
    g = ip.run_line_magic("acl_load", "-v blob --device 0,2")
    assert isinstance(g, acl.ModelGroup) and g.devices == (0, 2)
    single = ip.run_line_magic("acl_load", "-v blob --device 3")
    assert isinstance(single, acl.Model) and single.name == "net-2"  # "net" is the group's name
    grid = ip.run_line_magic("acl_mem", "--device all")
    assert len(grid.cells) == 4
    with pytest.raises(UsageError, match="Device 4 does not exist"):
        ip.run_line_magic("acl_load", "-v blob --device 0-7")
    ip.run_line_magic("acl_unload", "net")
    assert [m.device for m in acl.models()] == [3]
    ip.user_ns.pop("blob")
    ip.run_line_magic("unload_ext", "acl_notebook")


def test_device_grid_widget_redraws_only_when_a_device_changes(four):
    view = acl.panel(device="all")
    try:
        assert view.timer.alive and view.grid.cells and len(view.grid.cells) == 4
        assert view.grid_html.value.count("acl-cell") == 4
        assert view.refresh() is False  # nothing changed: no redraw
        g = acl.load(model("net", 5 * MiB, 0), device="1-2")
        assert view.refresh() is True
        assert "net@1" in view.grid_html.value and "net@2" in view.grid_html.value
        g.unload()
        assert view.refresh() is True and "net@1" not in view.grid_html.value
    finally:
        view.close()
    assert not view.timer.alive and view.refresh() is False


def test_the_panel_draws_a_group_in_one_colour_on_every_device_row(four):
    from acl_notebook.widgets.panel import Panel

    solo = acl.load(model("solo", 8 * MiB, 0), device=0)
    acl.load(model("net", 30 * MiB, 10 * MiB), device="all")
    panel = Panel(autostart=False)
    try:
        panel.refresh()
        rows = panel.memory.devices.value
        net, other = display.model_colour("net"), display.model_colour(solo.name)
        assert display.model_colour("net@3") == net != other
        assert rows.count("acl-device-row") == 4
        for chunk in rows.split("acl-device-row")[1:]:
            assert f"background:{net}" in chunk  # every device's bar: the group's one colour
    finally:
        panel.close()
