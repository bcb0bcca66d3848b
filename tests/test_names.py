"""One name rule for a file (by path or by upload), aliases that work everywhere, and
"did you mean" for a mistyped name, an id written as text and a path missing ``.om``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from shared_models import model_path

import acl_notebook as acl
from acl_notebook import display
from acl_notebook.session import Config, ModelNotFoundError, Session, file_stem
from acl_notebook.suggest import close_name, close_path, id_in_text
from acl_notebook.widgets.upload import check_upload

PONG = model_path("a3c_pong_model_v2")  # stored name "a3c_pong_model"


@pytest.fixture
def s():
    session = Session(Config(backend="sim", soc="Ascend910B1"))
    yield session
    session.shutdown()


# -- the rule --------------------------------------------------------------------------------
def test_path_and_upload_of_one_file_get_the_same_name_and_alias(s):
    by_path = s.load(PONG)
    entry = {"name": PONG.name, "content": memoryview(PONG.read_bytes()), "size": PONG.stat().st_size}
    up = check_upload(entry, [m.name for m in s.models()])
    by_upload = s.load(up.content, name=up.name, label=up.label)
    assert by_path.name == "a3c_pong_model_v2" and by_upload.name == "a3c_pong_model_v2-2"
    assert by_path.aliases == by_upload.aliases == ("a3c_pong_model",)  # the name stored in the file


def test_bytes_that_came_from_a_file_are_named_like_the_path(s):
    m = s.load(PONG.read_bytes(), filename=f"uploads/{PONG.name}")
    assert m.name == "a3c_pong_model_v2" and m.aliases == ("a3c_pong_model",)


def test_bytes_with_no_file_use_the_stored_name(s):
    m = s.load(PONG.read_bytes())
    assert m.name == "a3c_pong_model" and m.aliases == ()


def test_a_given_name_keeps_both_others_as_aliases(s):
    m = s.load(PONG, name="pong")
    assert m.aliases == ("a3c_pong_model", "a3c_pong_model_v2")
    assert s.find("a3c_pong_model") is m and s.find("a3c_pong_model_v2") is m


def test_file_stem():
    assert file_stem("dir/resnet50.om") == "resnet50"
    assert file_stem("C:\\models\\yolo.OM") == "yolo"
    assert file_stem(".om") == ".om" and file_stem("noext") == "noext"


def test_an_alias_shared_by_two_models_is_refused_with_both(s):
    a = s.load(PONG, name="a")
    b = s.load(PONG, name="b")
    with pytest.raises(ModelNotFoundError) as info:
        s.find("a3c_pong_model")
    assert f"a (id {a.id})" in str(info.value) and f"b (id {b.id})" in str(info.value)
    assert s.find("a") is a  # names still win


# -- did you mean --------------------------------------------------------------------------
def test_mistyped_name_suggests_the_close_one(s):
    s.load(PONG, name="lanenet")
    with pytest.raises(ModelNotFoundError) as info:
        s.unload("lanenett")
    assert "did you mean 'lanenet'?" in str(info.value)
    with pytest.raises(ModelNotFoundError) as info:
        s.find("LANENET ")
    assert "did you mean 'lanenet'?" in str(info.value)
    with pytest.raises(ModelNotFoundError) as info:
        s.find("zzz")
    assert "did you mean" not in str(info.value) and "loaded: lanenet" in str(info.value)


def test_an_id_written_as_text_is_suggested(s):
    m = s.load(PONG)
    for text in (f"#{m.id}", f"id {m.id}", f"id={m.id}", f"model {m.id}"):
        with pytest.raises(ModelNotFoundError) as info:
            s.find(text)
        assert f"did you mean id {m.id}, {m.name}?" in str(info.value), text
    assert s.find(str(m.id)) is m and s.find(m.id) is m


def test_suggest_helpers(tmp_path):
    assert close_name("resnt50", ["resnet50", "yolo"]) == "resnet50"
    assert close_name("qq", ["resnet50"]) is None
    assert id_in_text("#12") == 12 and id_in_text("12") is None and id_in_text("id twelve") is None
    (tmp_path / "yolov5s.om").write_bytes(b"x")
    assert close_path(str(tmp_path / "yolov5s")) == str(tmp_path / "yolov5s.om")
    assert close_path(str(tmp_path / "yolov5x.om")) == str(tmp_path / "yolov5s.om")
    assert close_path(str(tmp_path / "other")) is None
    assert close_path(str(tmp_path / "yolov5s.om")) is None  # it exists: nothing to suggest


def test_a_path_missing_om_is_suggested_for_load_and_inspect(s, tmp_path):
    shutil.copy(PONG, tmp_path / "pong.om")
    for call in (s.load, acl.inspect):
        with pytest.raises(FileNotFoundError) as info:
            call(str(tmp_path / "pong"))
        assert f"did you mean '{tmp_path / 'pong.om'}'?" in display.error_text(info.value)
    assert s.models() == ()


# -- in the magics -------------------------------------------------------------------------
def one_line_error(ip, capsys, line: str) -> str:
    capsys.readouterr()
    result = ip.run_cell(line)
    out = capsys.readouterr()
    assert type(result.error_in_exec) is UsageError
    lines = [x for x in (out.out + out.err).splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert "KeyError" not in lines[0] and "ModelNotFoundError" not in lines[0]
    return lines[0]


def test_aliases_work_in_every_magic(ip):
    m = ip.run_line_magic("acl_load", f"{PONG}")
    assert m.name == "a3c_pong_model_v2"
    assert ip.run_line_magic("acl_desc", "a3c_pong_model").title.startswith(f"Model #{m.id} ")
    assert ip.run_line_magic("acl_unload", "a3c_pong_model") is m and not m.loaded


def test_magics_say_did_you_mean(ip, capsys, tmp_path):
    m = ip.run_line_magic("acl_load", f"{PONG} --name lanenet")
    line = one_line_error(ip, capsys, "%acl_unload lanenett")
    assert line.startswith("UsageError: No loaded model 'lanenett' (did you mean 'lanenet'?)")
    line = one_line_error(ip, capsys, f"%acl_desc #{m.id}")
    assert f"did you mean id {m.id}, lanenet?" in line
    shutil.copy(PONG, tmp_path / "pong.om")
    line = one_line_error(ip, capsys, f"%acl_load {tmp_path / 'pong'}")
    assert f"did you mean '{tmp_path / 'pong.om'}'?" in line
    line = one_line_error(ip, capsys, f"%acl_desc {tmp_path / 'pong'}")
    assert "neither a loaded model nor a file" in line and f"'{tmp_path / 'pong.om'}'" in line
    assert [x.name for x in acl.models()] == ["lanenet"]


def test_desc_of_the_file_stem_alias_shows_the_loaded_model(ip):
    m = ip.run_line_magic("acl_load", f"{PONG} --name p")
    shown = ip.run_line_magic("acl_desc", "a3c_pong_model_v2")
    assert shown.title == f"Model #{m.id} 'p': descriptors from the sim backend" and Path(m.source) == PONG
