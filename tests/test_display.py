"""The display layer: sizes, text tables, HTML safety and the one-line error messages.

Objects are built by hand (the session's own result types, a ModelInfo with made-up
tensors) so every view is checked against numbers we chose, not against our own output.
"""

from __future__ import annotations

import io
import re
import time
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from IPython.lib.pretty import RepresentationPrinter, pretty

from acl_notebook import display
from acl_notebook.display import Descriptors, error_line, error_text, human_bytes, render_html, render_text
from acl_notebook.om.errors import OMFormatError
from acl_notebook.om.model import DynamicInfo, MemoryNeeds, ModelInfo, OMHeader, Partition, TensorDesc
from acl_notebook.runtime.errors import AclError
from acl_notebook.session import DeviceMemoryError, MemoryReport, Model, ModelList, ModelShare, SessionInfo

EVIL = "<script>alert('x')</script>"
LONG = "PartitionedCall_/binary_transposed_conv/ConvTranspose_Conv2DTranspose_53:0:binary_logits"
STATIC = DynamicInfo()
MiB = 1024**2
GiB = 1024**3


def header(name: str = "net") -> OMHeader:
    return OMHeader(0x20000000, 0, 0, 0, 0, 0, name, 2, 1, "1.11.z.0", 1, 0, 0, 0)


def tensor(name: str, dims: tuple[int, ...], dtype: str = "float32", fmt: str = "NCHW",
           size: int = 0) -> TensorDesc:
    return TensorDesc(name, dims, dtype, fmt, size, acl_dtype=0, acl_format=0)


def make_info(
    name: str = "lanenet",
    inputs: tuple[TensorDesc, ...] = (),
    outputs: tuple[TensorDesc, ...] = (),
    dynamic: DynamicInfo = STATIC,
    soc: str = "Ascend310B4",
) -> ModelInfo:
    inputs = inputs or (tensor("input_image", (1, 3, 256, 512), size=1_572_864),)
    outputs = outputs or (tensor(LONG, (1, 2, 256, 512), size=1_048_576),)
    return ModelInfo(
        name=name, soc_version=soc, atc_version="7.6.0.1.220", op_count=547, inputs=inputs, outputs=outputs,
        dynamic=dynamic, memory=MemoryNeeds(work=11_275_776, weight=2_203_648, zero_copy=4_720_128),
        header=header(name), partitions=(Partition(8, "", 384, 507), Partition(0, "", 891, 1_297_461)),
        file_size=3_960_562, framework="Onnx", opp_version="7.6.0.1.220", stream_num=1,
    )


def make_model(model_id: int = 1, name: str = "lanenet", source: str = "/models/lanenet.om",
               work: int = 10 * MiB, weight: int = 2 * MiB, info: ModelInfo = None) -> Model:
    info = info or make_info(name)
    return Model(None, model_id, name, 0, info, info.inputs, info.outputs, info.dynamic,
                 MemoryNeeds(work, weight), source, 0.0123, "sim")


def make_report(shares=(("lanenet", 1, 25 * MiB),), total=100 * MiB, free=50 * MiB) -> MemoryReport:
    models = tuple(ModelShare(n, i, b) for n, i, b in shares)
    used = total - free
    return MemoryReport(0, "HBM", total, free, used, models, used - sum(s.bytes for s in models),
                        "Ascend910B1", "sim", time.time())


def make_session_info(note: str = "no CANN installation found") -> SessionInfo:
    return SessionInfo(backend="sim", simulated=True, library="(embedded simulator)", acl_version="1.17.0",
                       cann_version="8.0.0", soc="Ascend910B1", device_count=2, device=1,
                       run_mode="EP (ACL_HOST)", memory_kind="HBM", models_loaded=3, note=note)


# ------------------------------------------------------------------------------------------
# human_bytes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0 B"),
        (1, "1 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (MiB - 1, "1.0 MiB"),  # rounds up into the next unit, never "1024.0 KiB"
        (int(1.5 * MiB), "1.5 MiB"),
        (64 * GiB, "64.0 GiB"),
        (-2048, "-2.0 KiB"),
        (1024**6 * 3, "3.0 EiB"),
    ],
)
def test_human_bytes_edges(n, text):
    assert human_bytes(n) == text


@given(st.integers(min_value=0, max_value=2**62))
def test_human_bytes_reads_back_close_to_the_number(n):
    number, unit = human_bytes(n).split()
    scale = 1024 ** ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"].index(unit)
    assert float(number) < 1024
    assert abs(float(number) * scale - n) <= 0.05 * scale + n * 1e-12  # half a digit, plus float rounding


# ------------------------------------------------------------------------------------------
# text views
# ------------------------------------------------------------------------------------------
def test_model_info_text_has_header_facts_io_and_memory():
    text = render_text(make_info(), width=120)
    for fact in ("lanenet", "OM 2.0", "Ascend310B4", "7.6.0.1.220", "Onnx", "547", "MODEL_INOUT_INFO",
                 "MODEL_DEF", "input_image", "[1, 3, 256, 512]", "float32", "NCHW",
                 "1.5 MiB (1,572,864 B)", "3,960,562 B", "work 10.8 MiB", "weights 2.1 MiB",
                 "13,479,424 B", "Gears: none"):
        assert fact in text, fact


def test_text_marks_dynamic_axes_and_lists_batch_gears():
    dyn = DynamicInfo("batch", ((1,), (2,), (4,), (8,)))
    info = make_info(inputs=(tensor("images", (-1, 3, 224, 224), size=4 * 602_112),), dynamic=dyn)
    text = render_text(info, width=120)
    assert "[-1, 3, 224, 224]" in text
    assert "-1 = dynamic axis" in text
    assert "Dynamic batch, 4 gears: 1, 2, 4, 8" in text


def test_static_model_has_no_dynamic_note():
    assert "dynamic axis" not in render_text(make_info(), width=120)


def test_text_lists_hw_gears():
    dyn = DynamicInfo("hw", ((224, 224), (448, 640)))
    text = render_text(make_info(inputs=(tensor("x", (1, 3, -1, -1)),), dynamic=dyn), width=120)
    assert "224x224" in text and "448x640" in text and "2 gears" in text


def test_dims_gears_are_split_per_input_in_shape_order():
    # Gear values list only the dynamic axes, in the designated shape order (len, then data).
    inputs = (tensor("data", (-1, 3, -1, 224)), tensor("len", (-1,), "int32", "ND"))
    dyn = DynamicInfo("dims", ((1, 2, 112), (4, 8, 448)), shape_order=("len", "data"))
    text = render_text(make_info(inputs=inputs, dynamic=dyn), width=120)
    assert "shape order: len, data" in text
    assert "len=[1]  data=[2, 3, 112, 224]" in text
    assert "len=[4]  data=[8, 3, 448, 224]" in text


def test_dims_gears_with_full_shapes_and_unmatched_counts():
    inputs = (tensor("a", (-1, 4)), tensor("b", (-1,)))
    full = DynamicInfo("dims", ((2, 4, 2),), shape_order=("a", "b"))
    assert "a=[2, 4]  b=[2]" in render_text(make_info(inputs=inputs, dynamic=full), width=120)
    odd = DynamicInfo("dims", ((9, 9, 9, 9, 9),), shape_order=("a", "b"))
    assert "gear 0: [9, 9, 9, 9, 9]" in render_text(make_info(inputs=inputs, dynamic=odd), width=120)


def test_long_names_wrap_within_the_width_and_columns_stay_aligned():
    text = render_text(make_info(), width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    # The 88-char output name is cut at separators and nothing is lost.
    out = lines.index(next(line for line in lines if line.startswith("Outputs")))
    head = lines[out + 1]
    col = head.index("name")
    dims_col = head.index("dims")
    pieces = [line[col:dims_col].strip() for line in lines[out + 3 : out + 12] if line.strip()[:1] != "n"]
    joined = "".join(pieces)
    assert joined.startswith(LONG)
    row = lines[out + 3]
    assert row[dims_col:].startswith("[1, 2, 256, 512]")  # values start under their header


def test_a_wide_terminal_keeps_long_names_on_one_line():
    assert LONG in render_text(make_info(), width=200)


@given(st.text(alphabet="ab/_:.-xyz0", min_size=1, max_size=300), st.integers(min_value=1, max_value=40))
def test_chunks_never_exceed_width_and_lose_nothing(text, width):
    pieces = display._chunks(text, width)
    assert all(len(p) <= width for p in pieces)
    assert "".join(pieces) == text


def test_model_text_shows_state_memory_source_and_local_time():
    m = make_model()
    text = render_text(m, width=120)
    assert "Model #1 'lanenet': loaded on device 0 (sim)" in text
    assert "12.0 MiB (12,582,912 B) charged (work 10.0 MiB + weights 2.0 MiB)" in text
    assert "/models/lanenet.om" in text
    assert "12 ms" in text
    local = m.loaded_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert local in text
    m.loaded = False
    assert "unloaded" in render_text(m, width=120)


def test_model_list_table():
    pong = make_model(7, "pong", "<bytes>", work=90_624, weight=320_000)
    models = ModelList([make_model(1, "lanenet"), pong])
    text = render_text(models, width=120)
    lines = text.splitlines()
    assert lines[0].startswith("2 models, 12.4 MiB")
    header = lines[1]
    for col in ("id", "name", "device", "in/out", "memory", "loaded at", "took", "source"):
        assert col in header
    pong = next(line for line in lines if "pong" in line)
    assert pong.split()[0] == "7" and "1/1" in pong and "401.0 KiB" in pong and "<bytes>" in pong


def test_empty_model_list_says_how_to_load():
    assert "%acl_load" in render_text(ModelList([]))
    assert "%acl_load" in render_html(ModelList([]))


def test_memory_report_text_bar_is_proportional():
    report = make_report(total=100 * MiB, free=50 * MiB)  # 25 MiB model, 25 MiB other
    text = render_text(report, width=100)
    bar = re.search(r"\[([#+.]+)\]", text).group(1)
    assert len(bar) == 50
    assert bar.count("#") == 12 or bar.count("#") == 13
    assert bar.count(".") == 25
    assert "50.0% used" in text
    assert "used 50.0 MiB of 100.0 MiB" in text and "free 50.0 MiB" in text
    assert "lanenet" in text and "25.0%" in text
    assert "other (runtime, other processes)" in text


def test_memory_bar_shows_a_tiny_model_and_keeps_its_width():
    report = make_report(shares=(("tiny", 3, 1024),), total=64 * GiB, free=60 * GiB)
    bar = re.search(r"\[([#+.]+)\]", render_text(report, width=100)).group(1)
    assert bar.count("#") == 1 and len(bar) == 50


def test_session_info_text():
    text = render_text(make_session_info(), width=100)
    for fact in ("simulated AscendCL", "(embedded simulator)", "1.17.0", "CANN 8.0.0", "Ascend910B1",
                 "2 (default device 1)", "EP (ACL_HOST)", "HBM", "no CANN installation found"):
        assert fact in text, fact


def test_device_memory_error_text_lists_numbers_and_candidates():
    exc = DeviceMemoryError("big", 0, needed=3 * GiB, free=1 * GiB, total=4 * GiB,
                            candidates=(("a", 1536 * MiB), ("b", 600 * MiB)))
    text = render_text(exc, width=100)
    assert "needed" in text and "3.0 GiB (3,221,225,472 B)" in text
    assert "short by" in text and "2.0 GiB" in text
    assert "a  (1.5 GiB)" in text and "b  (600.0 MiB)" in text


def test_tensor_sequences_render_as_an_io_table():
    tensors = (tensor("x", (-1, 3)), tensor("y", (2,)))
    text = render_text(tensors, width=100)
    assert "Tensors (2)" in text and "[-1, 3]" in text and "dynamic axis" in text
    assert "<table" in render_html(tensors)


def test_descriptors_show_acl_codes_and_ranges():
    t = TensorDesc("x", (-1, 3), "float16", "ND", 12, acl_dtype=1, acl_format=2, dims_range=((1, 8), (3, 3)))
    d = Descriptors("Model #4 'm'", (t,), (), DynamicInfo())
    text = render_text(d, width=120)
    assert "1..8 3..3" in text and "1/2" in text and "ACL dtype/fmt" in text


def test_unknown_objects_fall_back_to_repr():
    assert render_text({"a": 1}) == "{'a': 1}"
    assert render_html(object()).startswith("<pre")


def test_repr_pretty_is_the_text_view():
    d = Descriptors("t", (tensor("x", (1,)),), ())
    assert pretty(d) == render_text(d)
    group = display.Group([make_report(), make_session_info()])
    assert pretty(group) == render_text(group)
    assert "Device 0" in pretty(group) and "simulated AscendCL" in pretty(group)


def test_repr_pretty_helper_writes_the_text_view_and_guards_cycles():
    report = make_report()
    stream = io.StringIO()
    printer = RepresentationPrinter(stream)
    display.repr_pretty(report, printer, False)
    printer.flush()
    assert stream.getvalue() == render_text(report)
    stream = io.StringIO()
    printer = RepresentationPrinter(stream)
    display.repr_pretty(report, printer, True)
    printer.flush()
    assert stream.getvalue() == "<MemoryReport ...>"


# ------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------
def _all_views_with(evil: str) -> list:
    info = make_info(name=evil, inputs=(tensor(evil, (1, -1)),), outputs=(tensor(evil + "_out", (1,)),),
                     dynamic=DynamicInfo("dims", ((2,),), shape_order=(evil,)), soc=evil)
    model = make_model(3, evil, source=evil, info=info)
    exc = DeviceMemoryError(evil, 0, needed=2 * GiB, free=GiB, total=4 * GiB, candidates=((evil, GiB),))
    return [info, model, ModelList([model]), make_report(shares=((evil, 3, GiB),), total=4 * GiB, free=GiB),
            make_session_info(note=evil), exc, Descriptors.of(model), Descriptors.of(info),
            OMFormatError(evil), display.Group([info, model])]


@pytest.mark.parametrize("index", range(10))
def test_html_escapes_every_string(index):
    obj = _all_views_with(EVIL)[index]
    out = render_html(obj)
    assert "<script" not in out.lower()
    assert "&lt;script&gt;" in out


@pytest.mark.parametrize("index", range(10))
def test_html_is_self_contained_and_theme_aware(index):
    out = render_html(_all_views_with("m")[index])
    assert "<style" not in out and "<link" not in out and "javascript:" not in out
    assert not re.search(r"\son[a-z]+=", out)  # no event handlers
    assert "class=" not in out.replace('class="acl-notebook"', "")  # no stylesheet needed
    assert "var(--jp-" in out
    # every theme variable carries a fallback, so VS Code and plain HTML still read well
    assert not re.search(r"var\(--jp-[a-z0-9-]+\)", out)


def test_html_names_can_break_and_dims_mark_dynamic_axes():
    out = render_html(make_info(inputs=(tensor("x", (-1, 3)),)))
    assert LONG in out
    assert "overflow-wrap:anywhere" in out
    assert 'title="dynamic axis">-1</span>' in out


def test_html_memory_bar_segments_follow_the_numbers():
    out = render_html(make_report(total=100 * MiB, free=50 * MiB))
    widths = [float(w) for w in re.findall(r"width:([0-9.]+)%;min-width", out)]
    assert widths == [25.0, 25.0, 50.0]  # model, other, free
    assert "50.0%" in out and "lanenet" in out


def test_html_gears_tables():
    batch = render_html(DynamicInfo("batch", ((1,), (16,))))
    assert ">16</td>" in batch and "2 gears" in batch
    hw = render_html(DynamicInfo("hw", ((224, 320),)))
    assert ">224</td>" in hw and ">320</td>" in hw


# ------------------------------------------------------------------------------------------
# error_line
# ------------------------------------------------------------------------------------------
def test_acl_error_line_names_code_meaning_and_advice():
    line = error_line(AclError(145003, call="aclmdlUnload"))
    assert line == ("ACL_ERROR_GE_EXEC_MODEL_ID_INVALID (145003) from aclmdlUnload: no model is loaded with "
                    "this id. List loaded models with %acl_models; ids are never reused after unload.")


def test_acl_error_line_for_an_unknown_code_still_says_what_to_do():
    line = error_line(AclError(424242))
    assert line.startswith("ACL_ERROR_424242 (424242): unknown ACL error code. See the CANN")


def test_file_not_found_line_names_the_path_and_the_working_directory():
    exc = FileNotFoundError(2, "No such file or directory", "missing.om")
    line = error_line(exc)
    assert line.startswith("missing.om: no such file or directory; check the path")
    assert "relative paths start at" in line and line.endswith(").")


def test_error_lines_have_no_type_name_and_read_as_sentences():
    assert error_text(KeyError("no loaded model 'x'; loaded: none")) == "No loaded model 'x'; loaded: none."
    assert error_text(ValueError("name must be a non-empty string")) == "Name must be a non-empty string."
    # a leading name is never capitalised; a stop is not doubled
    assert error_text(OMFormatError("resnet50.om is empty.")) == "resnet50.om is empty."
    exc = DeviceMemoryError("big", 0, needed=3 * GiB, free=GiB, total=4 * GiB, candidates=(("a", 2 * GiB),))
    assert error_text(exc).startswith("Model 'big' needs 3.0 GiB of device memory")
    # the CPU reference's refusals are ours too
    from acl_notebook.cpu_reference.interpreter import OverrideError
    from acl_notebook.cpuref import UnreadableGraph

    assert error_text(UnreadableGraph("the CPU reference cannot read this model's graph (x)")) == (
        "The CPU reference cannot read this model's graph (x).")
    assert error_text(OverrideError("override of 'y' has shape [2], the op makes [3]")).startswith("Override of 'y'")
    # an error that is not ours keeps its type, which is all that explains it
    assert error_text(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero."


def test_multi_part_message_is_a_short_line_and_indented_detail():
    from acl_notebook.runtime.errors import LibraryNotFoundError

    exc = LibraryNotFoundError("libascendcl.so was not found.\nPlaces tried, in order:\n  - /a: no match\n"
                               "  - /b: not there\nWhat to do: source set_env.sh")
    text = error_text(exc)
    assert text.splitlines() == ["libascendcl.so was not found.", "    Places tried, in order:",
                                 "      - /a: no match", "      - /b: not there", "    What to do: source set_env.sh"]
    assert "\n" not in error_line(exc)  # the panel's status line keeps one line


def test_device_memory_error_line_keeps_both_numbers():
    exc = DeviceMemoryError("big", 0, needed=3 * GiB, free=GiB, total=4 * GiB, candidates=(("a", 2 * GiB),))
    line = error_line(exc)
    assert "3.0 GiB" in line and "1.0 GiB" in line and "DeviceMemoryError" not in line
    assert "\n" not in line


def test_clock_reads_datetimes_and_timestamps():
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert display._clock(stamp, full=True) == stamp.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert display._clock(stamp.timestamp()) == stamp.astimezone().strftime("%H:%M:%S")
