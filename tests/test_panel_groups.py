"""The panel shows a model group (one model loaded on several devices) as one tab, headless,
on both backends: its descriptors once, a table of its copies with their own Unload, Run /
Bench on the whole group or one chosen copy, and the tab follows the session as copies go.
Buttons are clicked through their real handlers; the models are our writer's."""

from __future__ import annotations

import re

import pytest
from panel_kit import MiB, om

from acl_notebook.display import render_html
from acl_notebook.fanout import DeviceOutputs, FleetBench
from acl_notebook.group import GroupLoadError, ModelGroup, load_group
from acl_notebook.runner.bench import BenchResult
from acl_notebook.runner.outputs import Outputs
from acl_notebook.widgets.group_tab import ALL
from acl_notebook.widgets.panel import Panel
from acl_notebook.widgets.tabs import register_tab_extension


@pytest.fixture
def panels():
    made: list[Panel] = []

    def make(session) -> Panel:
        p = Panel(session, autostart=False)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def _net(name: str = "resnet50", work: int = 6 * MiB) -> bytes:
    return om(name, work=work, weight=2 * MiB, inputs=(("images", (1, 3, 16, 16), "float32", "NCHW"),),
              outputs=(("prob", (1, 10), "float32", "ND"),))


def _title(panel: Panel) -> str:
    return re.sub(r"<[^>]+>", "", panel._models_title.value)


def _rows(tab) -> list[list[str]]:
    """The copy table's rows as text (header first), the Unload button of a row as its label."""
    texts = [re.sub(r"<[^>]+>", "", getattr(c, "value", "")) or getattr(c, "description", "")
             for c in tab.table.children]
    return [texts[i:i + 5] for i in range(0, len(texts), 5)]


def test_a_group_is_one_tab_with_its_copies_and_the_title_counts_it(rig, panels):
    s = rig.session(devices=4)
    single = s.load(_net("single"), name="single", device=1)
    panel = panels(s)
    group = load_group(s, _net(), "all", name="resnet50")
    assert panel.tabs.titles == ("single", "resnet50 (4 copies)")  # not resnet50@0 ... @3
    assert panel.tabs.selected_index == 1  # the load's tab is the one shown
    assert _title(panel) == "Models (1 model and 1 model group (4 copies), 40.0 MiB of device memory charged)"
    tab = panel._groups["resnet50"]
    assert panel.tabs.children[1] is tab.box and list(panel._views) == [single.id]
    assert "4 copies on devices 0-3" in tab.head.value and "32.0 MiB charged in all, 8.0 MiB per copy" in tab.head.value
    assert tab.io.value.count("images") == 1 and tab.io.value.count("prob:0") == 1  # once, not per copy
    rows = _rows(tab)
    assert rows[0] == ["device", "id", "memory", "state", ""]
    assert rows[1:] == [[f"NPU {m.device}", str(m.id), "8.0 MiB", "loaded", "Unload"] for m in group]
    assert tab.unload_all.description == "Unload all 4"
    assert [v for _, v in tab.target.options] == [ALL, *[m.id for m in group]]


def test_run_and_bench_the_whole_group_or_one_copy(rig, panels):
    s = rig.session(devices=4)
    group = load_group(s, _net(), "all", name="resnet50")
    panel = panels(s)
    tab = panel._groups["resnet50"]
    box = tab.runner
    tab.target.value = group[2].id  # one chosen copy: only it runs
    box.run_button.click()
    assert isinstance(box.result, Outputs) and box.result.names == ("prob:0",)
    assert [m.io_bytes > 0 for m in group] == [False, False, True, False]
    assert "has run" in _rows(tab)[3][3] and _rows(tab)[1][3] == "loaded"  # the table follows
    tab.target.value = ALL
    box.run_button.click()
    assert isinstance(box.result, DeviceOutputs) and box.result.where == tuple(f"device {d}" for d in range(4))
    assert box.output.value == render_html(box.result) and "on 4 devices at once" in box.output.value
    assert all(m.io_bytes > 0 for m in group)
    box.runs.value = 12
    box.bench_button.click()
    assert isinstance(box.result, FleetBench) and [r.n for r in box.result.results] == [12] * 4
    assert "summary throughput" in box.output.value
    tab.target.value = group[0].id
    box.bench_button.click()
    assert isinstance(box.result, BenchResult) and box.result.n == 12


def test_a_copy_unloaded_elsewhere_updates_the_tab_and_the_last_one_removes_it(rig, panels):
    s = rig.session(devices=4)
    single = s.load(_net("single"), name="single", device=0)
    group = load_group(s, _net(), "all", name="resnet50")
    panel = panels(s)
    tab = panel._groups["resnet50"]
    tab.target.value = group[1].id
    tab.runner.run_button.click()
    assert "before the copies changed" not in tab.runner.output.value
    s.unload(group[1].id)  # what %acl_unload ID does, outside the panel
    # the result shown ran on device 1 too: it says it is from before
    assert "This result is from before the copies changed; resnet50 is now on devices 0, 2-3." in \
        tab.runner.output.value
    assert panel.tabs.titles == ("single", "resnet50 (3 copies)")
    assert [r[0] for r in _rows(tab)[1:]] == ["NPU 0", "NPU 2", "NPU 3"]
    assert tab.target.value == ALL and group[1].id not in [v for _, v in tab.target.options]
    assert _title(panel).startswith("Models (1 model and 1 model group (3 copies), ")
    tab.runner.run_button.click()  # the group now runs where it still is
    assert isinstance(tab.runner.result, DeviceOutputs) and len(tab.runner.result) == 3
    tab.copy_buttons[group[2].id].click()  # a copy's own Unload
    assert not group[2].loaded and group[0].loaded and group[3].loaded
    assert "Unloaded resnet50@2" in panel.status.value
    assert panel.tabs.titles == ("single", "resnet50 (2 copies)") and tab.unload_all.description == "Unload all 2"
    s.unload(group[0].id)
    tab.copy_buttons[group[3].id].click()  # the last copy: the tab goes, the single model stays
    assert panel.tabs.titles == ("single",) and "resnet50" not in panel._groups
    assert list(s.models()) == [single] and single.loaded
    assert _title(panel).startswith("Models (1 model, ")


def test_unload_all_unloads_every_copy_and_nothing_else(rig, panels):
    s = rig.session(devices=4)
    single = s.load(_net("single"), name="single", device=3)
    idle = s.memory(0).used
    group = load_group(s, _net(), "all", name="resnet50")
    panel = panels(s)
    assert s.memory(0).used > idle
    panel._groups["resnet50"].unload_all.click()
    assert not any(m.loaded for m in group) and single.loaded
    assert "Unloaded resnet50 (4 copies): 32.0 MiB of device memory released on devices 0-3" in panel.status.value
    assert panel.tabs.titles == ("single",) and s.memory(0).used == idle


def test_a_partial_group_from_a_failed_load_is_a_tab_too(rig, panels):
    s = rig.session(devices=4, memory=1024 * MiB)
    hog = s.load(om("hog", work=500 * MiB, weight=200 * MiB), name="hog", device=2)
    panel = panels(s)
    with pytest.raises(GroupLoadError) as err:  # force skips the pre-check: device 2's runtime refuses
        load_group(s, om("net", work=300 * MiB, weight=100 * MiB), "all", name="net", force=True)
    assert panel.tabs.titles == ("hog", "net (2 copies)")
    tab = panel._groups["net"]
    assert "2 copies on devices 0-1" in tab.head.value and [r[0] for r in _rows(tab)[1:]] == ["NPU 0", "NPU 1"]
    tab.runner.run_button.click()
    assert isinstance(tab.runner.result, DeviceOutputs) and len(tab.runner.result) == 2
    err.value.group.unload()
    assert panel.tabs.titles == ("hog",) and hog.loaded


def test_extensions_get_the_group_and_a_single_model_keeps_its_own_tab(rig, panels):
    seen = []

    def probe(target, session):
        seen.append(target)
        return None

    remove = register_tab_extension(probe)
    try:
        s = rig.session(devices=2)
        panel = panels(s)
        group = load_group(s, _net(), "all", name="resnet50")
        solo = s.load(_net("solo"), name="solo", device=1)
    finally:
        remove()
    assert panel.tabs.titles == ("resnet50 (2 copies)", "solo")
    assert len(seen) == 2 and isinstance(seen[0], ModelGroup) and seen[1] is solo
    assert seen[0].models == tuple(group.models)  # kept current: both copies, though made at the first
    assert list(panel._views) == [solo.id]


def test_a_group_name_is_text_everywhere_in_its_tab(rig, panels):
    s = rig.session(devices=2)
    evil = "<img src=x onerror=alert(1)>&net"
    panel = panels(s)
    load_group(s, _net(), "all", name=evil)
    tab = panel._groups[evil]
    assert panel.tabs.titles == (f"{evil} (2 copies)",)  # a tab title is plain text in the front end
    shown = [tab.head.value, tab.caption.value, tab.copies_title.value, tab.io.value, panel._models_title.value,
             *(getattr(c, "value", "") for c in tab.table.children)]
    for value in shown:
        assert "<img" not in value
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;net" in tab.head.value
    assert "%acl_unload &lt;img" in tab.caption.value
