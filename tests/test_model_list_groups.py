"""`%acl_models` / `acl.models()` show a ModelGroup (one model on several devices) as one row
with its devices summarised and its copies listed under it, each with the id that
`%acl_unload ID` takes; in text and HTML, on both backends."""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

import acl_notebook as acl
from acl_notebook.display import device_span, render_html, render_text
from acl_notebook.group import load_group
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

MiB = 1 << 20


def om(name: str, work: int = 3 * MiB) -> bytes:
    return write_om(ModelSpec(name=name, soc_version="Ascend910B1", inputs=[TensorSpec("x", (1, 4), "float32", "ND")],
                              outputs=[TensorSpec("y", (1, 4), "float32", "ND"), TensorSpec("z", (1,), "int32", "ND")],
                              work_size=work, weight_size=MiB))


@pytest.mark.parametrize("devices, text", [((0, 1, 2, 3), "0-3"), ((0, 2, 5, 6, 7), "0, 2, 5-7"), ((3,), "3"),
                                           ((4, 0, 1), "0-1, 4")])
def test_device_span(devices, text):
    assert device_span(devices) == text


def test_a_group_is_one_row_with_its_copies_under_it(rig):
    s = rig.session(devices=4)
    first = s.load(om("small", work=MiB), name="small")
    group = load_group(s, om("resnet50"), "all", name="resnet50")
    last = s.load(om("tail", work=MiB), name="tail", device=2)
    listing = render_text(s.models(), width=120)
    lines = listing.splitlines()
    assert lines[0] == "2 models and 1 model group (4 copies), 20.0 MiB of device memory charged"
    table = [line for line in lines[3:] if not line.startswith("  a group")]
    assert len(table) == 7  # small, the group's row, its 4 copies, tail: in load order
    assert table[0].split()[:3] == [str(first.id), "small", "0"]
    group_row = table[1].split()
    assert group_row[:5] == ["resnet50", "(4", "copies)", "0-3", "1/2"] and group_row[5:7] == ["16.0", "MiB"]
    for line, copy, branch in zip(table[2:6], group, "├├├└"):
        assert line.split()[:4] == [str(copy.id), branch, copy.name, str(copy.device)]
        assert "4.0 MiB" in line and "1/2" not in line and "<bytes>" not in line  # shared cells: the group row
    assert table[6].split()[:3] == [str(last.id), "tail", "2"]
    assert lines[-1].strip() == ("a group's name unloads all its copies (%acl_unload resnet50); "
                                 "a copy's id unloads that copy alone")


def test_html_groups_the_copies_and_keeps_their_ids(rig):
    s = rig.session(devices=2)
    s.load(om("solo"), name="solo")
    group = load_group(s, om("net"), "0-1", name="<net&>")
    page = render_html(s.models())
    assert "1 model and 1 model group (2 copies)" in page
    body = re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>")[1])
    assert len(body) == 4
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in body]
    assert cells[1][0] == "" and "<b " in cells[1][1] and "&lt;net&amp;&gt; (2 copies)" in cells[1][1]
    assert cells[1][2] == "0-1" and "<net&>" not in page
    for row, copy in zip(cells[2:], group):
        assert row[0] == str(copy.id) and "padding-left" in row[1] and copy.name.replace("&", "&amp;").replace(
            "<", "&lt;").replace(">", "&gt;") in row[1]
        assert row[3] == ""  # in/out: on the group's row
    assert "%acl_unload &lt;net&amp;&gt;" in page


def test_a_list_with_no_group_reads_as_before(rig):
    s = rig.session()
    s.load(om("a"), name="a")
    s.load(om("b"), name="b")
    text = render_text(s.models(), width=120)
    assert text.splitlines()[0] == "2 models, 8.0 MiB of device memory charged"
    assert "copies" not in text and "├" not in text and "a group's name" not in text
    assert "a group's name" not in render_html(s.models())


def test_a_copy_unloaded_after_the_listing_is_marked_and_not_charged(rig):
    s = rig.session(devices=3)
    group = load_group(s, om("net"), "all", name="net")
    listed = s.models()
    s.unload(group[1])
    text = render_text(listed, width=120)
    assert "net (3 copies)" in text and re.search(r"0-2\s+1/2\s+8.0 MiB", text)  # two copies charged
    assert re.search(rf"{group[1].id}\s+├ net@1 \(unloaded\)", text)
    now = render_text(s.models(), width=120)
    assert "net (2 copies)" in now and re.search(r"net \(2 copies\)\s+0, 2\s", now)


@pytest.fixture
def four_device_shell():
    """A shell with the extension loaded over a four-device Ascend910B1 simulator."""
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "acl_notebook")
    acl.unload_all()
    acl.configure(backend="sim", soc="Ascend910B1", devices=4, device=0)
    yield ip
    acl.unload_all()
    ip.run_line_magic("unload_ext", "acl_notebook")


def test_acl_models_groups_and_acl_unload_takes_a_listed_id(four_device_shell, tmp_path):
    path = tmp_path / "resnet.om"
    path.write_bytes(om("resnet"))
    four_device_shell.run_line_magic("acl_load", f"{path} --device all")
    four_device_shell.run_line_magic("acl_load", f"{path} --name single")
    text = render_text(four_device_shell.run_line_magic("acl_models", ""), width=140)
    assert "1 model and 1 model group (4 copies)" in text and re.search(r"resnet \(4 copies\)\s+0-3", text)
    copy_on_2 = next(line for line in text.splitlines() if "resnet@2" in line)
    copy_id = copy_on_2.split()[0]
    assert copy_id.isdigit()
    four_device_shell.run_line_magic("acl_unload", copy_id)  # the id read off the listing unloads that copy
    text = render_text(four_device_shell.run_line_magic("acl_models", ""), width=140)
    assert "resnet@2" not in text and re.search(r"resnet \(3 copies\)\s+0-1, 3\s", text)
    assert "single" in text
    four_device_shell.run_line_magic("acl_unload", "resnet")  # the group's name: all its copies
    text = render_text(four_device_shell.run_line_magic("acl_models", ""), width=140)
    assert text.splitlines()[0].startswith("1 model, ") and "copies" not in text


def test_acl_unload_by_a_group_name_unloads_the_group_not_a_model_aliased_so(four_device_shell, tmp_path):
    """A group named 'fast' (of a.om) and a single model whose file is fast.om (name 'fast-2',
    alias 'fast'): %acl_unload fast unloads the group, as acl.unload('fast') and the listing's
    note say, and leaves the single model loaded."""
    ip = four_device_shell
    (tmp_path / "a.om").write_bytes(om("a"))
    (tmp_path / "fast.om").write_bytes(om("fast"))
    ip.run_line_magic("acl_load", f"{tmp_path / 'a.om'} --device 0-1 --name fast")
    single = ip.run_line_magic("acl_load", str(tmp_path / "fast.om"))
    assert single.name == "fast-2" and "fast" in single.aliases
    done = ip.run_line_magic("acl_unload", "fast")
    assert sorted(m.name for m in done) == ["fast@0", "fast@1"]
    assert [m.name for m in acl.models()] == ["fast-2"] and single.loaded


def test_acl_run_and_bench_by_a_group_name_run_the_group_not_a_model_aliased_so(four_device_shell, tmp_path):
    """The same pair: %acl_run fast / %acl_bench fast act on every copy of group 'fast', not on
    the single model 'fast-2' whose alias is 'fast'."""
    ip = four_device_shell
    (tmp_path / "a.om").write_bytes(om("a"))
    (tmp_path / "fast.om").write_bytes(om("fast"))
    ip.run_line_magic("acl_load", f"{tmp_path / 'a.om'} --device 0-1 --name fast")
    ip.run_line_magic("acl_load", str(tmp_path / "fast.om"))
    ran = ip.run_line_magic("acl_run", "fast --random")
    assert ran.where == ("device 0", "device 1")
    timed = ip.run_line_magic("acl_bench", "fast -n 2 -w 0")
    assert timed.where == ("device 0", "device 1")


def test_acl_compare_by_a_group_name_compares_a_copy(four_device_shell, tmp_path):
    """%acl_compare GROUP (and acl.compare(group)) compare the group's first copy: its copies
    are one model, and %acl_run / %acl_bench take the same name. It said 'expected a Model,
    a name or an id, got ModelGroup'."""
    from graph_builder import Graph

    from acl_notebook.om.opgraph import Tensor

    g = Graph()
    g.input("x", (1, 4), dtype="float32", fmt="ND")
    g.op("y", "Relu", ["x"], Tensor((1, 4), "float32", "ND"), input_descs=[Tensor((1, 4), "float32", "ND")])
    ip = four_device_shell
    (tmp_path / "net.om").write_bytes(g.build("y"))
    group = ip.run_line_magic("acl_load", f"{tmp_path / 'net.om'} --device 1-2 --name net")
    shown = ip.run_line_magic("acl_compare", "net --random")
    assert shown.model == "net@1" and len(shown.outputs) == 1 and shown.outputs[0].cosine is not None
    assert acl.compare(group).model == "net@1"
    acl.unload(group[0])
    assert acl.compare("net").model == "net@2"  # the copy still loaded
    assert group[1].loaded


def test_acl_desc_by_a_group_name_shows_its_descriptors(four_device_shell, tmp_path):
    """%acl_desc GROUP shows the descriptors the copies share, as the group's tab does; it said
    "'net' is neither a loaded model nor a file ... names several loaded models"."""
    ip = four_device_shell
    (tmp_path / "net.om").write_bytes(om("net"))
    ip.run_line_magic("acl_load", f"{tmp_path / 'net.om'} --device 0-1")
    text = render_text(ip.run_line_magic("acl_desc", "net"), width=120)
    assert "net@0" in text and re.search(r"\bx\b.*float32", text) and re.search(r"\by\b.*float32", text)
