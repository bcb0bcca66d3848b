"""The ModelDef schema: committed descriptor set == .proto, field numbers per om-format §4, packaging."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from acl_notebook.om import _proto

OM_DIR = Path(__file__).resolve().parents[1] / "acl_notebook" / "om"


def test_committed_descriptor_set_matches_the_proto(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (a dev tool) regenerates the descriptor set")
    out = tmp_path / "ge_ir.desc"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "--include_imports", f"--descriptor_set_out={out}",
         f"-I{OM_DIR}", str(OM_DIR / "ge_ir.proto")],
        check=True, capture_output=True,
    )
    from google.protobuf import descriptor_pb2

    fresh = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    committed = descriptor_pb2.FileDescriptorSet.FromString((OM_DIR / "ge_ir.desc").read_bytes())
    # compared as messages, so a protoc that orders bytes differently cannot fail us
    assert fresh == committed, "ge_ir.desc is stale: regenerate it with the protoc command in ge_ir.proto"


def _fields(message: str) -> dict[str, int]:
    return {f.name: f.number for f in _proto.message_class(message).DESCRIPTOR.fields}


@pytest.mark.parametrize("message, expected", [
    ("ModelDef", {"name": 1, "version": 2, "custom_version": 3, "graph": 7, "attr": 11}),
    ("GraphDef", {"name": 1, "input": 4, "output": 5, "op": 6, "attr": 11}),
    ("OpDef", {"name": 1, "type": 2, "input": 5, "attr": 10, "id": 21, "stream_id": 22, "src_name": 24,
               "src_index": 25, "is_input_const": 32, "input_desc": 33, "output_desc": 34, "subgraph_name": 35}),
    ("TensorDescriptor", {"name": 1, "dtype": 2, "shape": 3, "layout": 4, "attr": 5, "size": 10,
                          "weight_size": 11, "device_type": 14, "real_dim_cnt": 16, "data_offset": 18}),
    ("ShapeDef", {"dim": 1}),
    ("AttrDef", {"list": 1, "s": 2, "i": 3, "f": 4, "b": 5, "bt": 7, "t": 12, "list_list_int": 14, "dt": 15}),
    ("TensorDef", {"desc": 1, "data": 2}),
    ("ListValue", {"s": 2, "i": 3, "f": 4, "b": 5, "bt": 7, "dt": 12, "val_type": 20}),
    ("AttrEntry", {"key": 1, "value": 2}),  # the wire shape of a map<string, AttrDef> entry
])
def test_field_numbers_follow_ge_ir(message, expected):
    assert _fields(message) == expected


def test_classes_live_in_a_private_pool():
    from google.protobuf import descriptor_pool

    with pytest.raises(KeyError):
        descriptor_pool.Default().FindMessageTypeByName("acl_notebook.ge.ModelDef")
    assert _proto.message_class("ModelDef").DESCRIPTOR.full_name == "acl_notebook.ge.ModelDef"


def test_importing_the_om_package_does_not_import_protobuf():
    code = "import sys, acl_notebook.om; print('google.protobuf' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_wheel_ships_the_proto_and_descriptor_set(tmp_path):
    builders = pytest.importorskip("hatchling.builders.wheel", reason="hatchling builds the wheel")
    root = Path(__file__).resolve().parents[1]
    wheel = next(iter(builders.WheelBuilder(str(root)).build(directory=str(tmp_path), versions=["standard"])))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"acl_notebook/om/ge_ir.proto", "acl_notebook/om/ge_ir.desc", "acl_notebook/om/reader.py"} <= names


def test_a_cold_inspect_of_a_small_model_with_inout_info_imports_neither_protobuf_nor_typing(tmp_path):
    """What keeps a cold `acl-notebook inspect --json` of an ATC 7.x model cheap: the slim
    ModelDef is read off the wire, and no module on that path imports typing or shutil."""
    from acl_notebook.om import ModelSpec, write_om_file

    path = tmp_path / "small.om"
    write_om_file(ModelSpec(name="small", weight_size=1 << 12), path)
    code = ("import io, contextlib, json, sys; base = set(sys.modules)\n"
            "from acl_notebook.__main__ import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out): code = main(['inspect', '--json', sys.argv[1]])\n"
            "new = set(sys.modules) - base\n"
            "print(json.dumps([code, json.loads(out.getvalue())['name'], sorted(m for m in new if m.startswith("
            "('google', 'typing', 'shutil', 'threading')))]))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True,
                         cwd=tmp_path).stdout
    status, name, heavy = __import__("json").loads(out)
    assert (status, name) == (0, "small") and heavy == []


def test_a_cold_inspect_of_a_small_older_model_imports_neither_protobuf_nor_argparse(tmp_path):
    """Without MODEL_INOUT_INFO the ops must be decoded: a cold process reads a small
    ModelDef whole in Python (`fullwire`) and a plain ``inspect --json MODEL`` skips argparse,
    and the answer is the one a warm process (upb) gives."""
    from acl_notebook.om import ModelSpec, TensorSpec, inspect, write_om_file

    path = tmp_path / "old.om"
    write_om_file(ModelSpec(name="old", inout_info=False, op_count=12, dynamic_kind="batch", gears=[(1,), (4,)],
                            inputs=[TensorSpec("x", (-1, 3, 8, 8), "float16")],
                            outputs=[TensorSpec("y", (-1, 10), "float32", "ND")]), path)
    code = ("import io, contextlib, json, sys; base = set(sys.modules)\n"
            "from acl_notebook.__main__ import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out): code = main(['inspect', sys.argv[1], '--json'])\n"
            "new = set(sys.modules) - base\n"
            "print(json.dumps([code, json.loads(out.getvalue()), sorted(m for m in new if m.startswith("
            "('google', 'argparse', 'typing', 'shutil')))]))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True,
                         cwd=tmp_path).stdout
    status, cold, heavy = __import__("json").loads(out)
    warm = inspect(path).to_dict()
    assert status == 0 and heavy == []
    assert cold == __import__("json").loads(__import__("json").dumps(warm))
    assert cold["inputs"][0]["name"] == "x" and cold["dynamic"]["gears"]


def test_only_a_processs_first_small_modeldef_is_walked_in_python(tmp_path):
    """The Python wire walk saves a cold process the protobuf import once; after that every
    decode is upb's, which is many times faster (a kernel inspecting small models, or a
    first ModelDef too large to walk), and each answer is the same as upb's."""
    from acl_notebook.om import ModelSpec, inspect, write_om_file

    small, second, big = tmp_path / "small.om", tmp_path / "second.om", tmp_path / "big.om"
    write_om_file(ModelSpec(name="small", op_count=40), small)
    write_om_file(ModelSpec(name="second", op_count=40, inout_info=False), second)
    write_om_file(ModelSpec(name="big", op_count=2000), big)  # a ModelDef over slimwire.MAX_BYTES
    code = ("import json, sys\n"
            "from acl_notebook.om import _proto, fullwire, inspect, slimwire\n"
            "walks = []\n"
            "for mod in (slimwire, fullwire):\n"
            "    real = mod.parse\n"
            "    mod.parse = lambda blob, real=real, name=mod.__name__: walks.append(name) or real(blob)\n"
            "out = []\n"
            "for path in sys.argv[1:]:\n"
            "    info = inspect(path)\n"
            "    out.append([info.name, info.op_count, 'google.protobuf' in sys.modules, len(walks)])\n"
            "print(json.dumps(out))")
    for order, want in (([small, second, small], [["small", 40, False, 1], ["second", 40, True, 1],
                                                  ["small", 40, True, 1]]),
                        ([big, small], [["big", 2000, True, 0], ["small", 40, True, 0]])):
        out = subprocess.run([sys.executable, "-c", code, *map(str, order)], check=True, capture_output=True,
                             text=True, cwd=tmp_path).stdout
        assert __import__("json").loads(out) == want, order
    assert inspect(second).op_count == 40 and inspect(big).name == "big"


def test_the_pure_wire_schema_is_the_descriptor_sets():
    """fullwire.SCHEMA names every field of ge_ir.proto's messages with its number, type and label."""
    from acl_notebook.om import _proto, fullwire

    kinds = {9: "bytes", 12: "bytes", 3: "int64", 5: "int32", 13: "uint32", 8: "bool", 2: "float"}

    def repeated(f) -> bool:  # protobuf 6 dropped `label` for `is_repeated`
        return f.is_repeated if hasattr(f, "is_repeated") else f.label == 3

    for message, fields in fullwire.SCHEMA.items():
        descriptor = _proto.message_class(message).DESCRIPTOR
        want = {f.number: (f.name, f.message_type.name if f.message_type else kinds[f.type], repeated(f))
                for f in descriptor.fields}
        assert fields == want, message
        oneofs = [o.name for o in descriptor.oneofs]
        assert oneofs == ([fullwire.ONEOF[message]] if message in fullwire.ONEOF else [])
