"""Every piece of text and HTML the package shows, in one module.

Magics, widgets, the CLI and the objects' own ``_repr_html_``/``_repr_pretty_`` all come
here, so a model looks the same wherever it appears and the escaping rules live in one
place. The module imports nothing heavy (no numpy, widgets or session) because
``%load_ext acl_notebook`` imports it; objects from `acl_notebook.session` are recognised
by class name for the same reason (and to avoid an import cycle: session calls us).

Two entry points dispatch on the object's type: `render_text` (aligned, width-aware
columns for terminals and ``text/plain``) and `render_html` (self-contained HTML with
inline styles only, JupyterLab theme variables with fallbacks, every string escaped).
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import re
import shutil
import textwrap
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from .history import PROGRAM_BUFFERS
from .hostbuf import shown_path
from .om.enums import PARTITION_NAMES
from .om.model import DynamicInfo, MemoryNeeds, ModelInfo, TensorDesc
from .units import human_bytes

__all__ = [
    "Descriptors",
    "Group",
    "PALETTE",
    "device_rows_html",
    "device_span",
    "duration",
    "error_line",
    "error_text",
    "GROUP_COPY_HEADERS",
    "copies_word",
    "grid_colors",
    "group_copy_cells",
    "group_copy_header_cells",
    "group_head_html",
    "group_tab_title",
    "host_row_html",
    "io_html",
    "model_list_title",
    "model_listing",
    "model_colour",
    "refusal_html",
    "human_bytes",
    "render_html",
    "sentence",
    "render_text",
    "repr_pretty",
]

_DYNAMIC_NOTE = "-1 = dynamic axis (its size is set per gear or per call); -2 = unknown rank"


# ----------------------------------------------------------------------------------------
# numbers and small words
# ----------------------------------------------------------------------------------------
def _exact(n: int) -> str:
    return f"{int(n):,} B"


def _bytes_both(n: int) -> str:
    """Human and exact: "1.5 MiB (1,572,864 B)"; small sizes once ("512 B")."""
    return human_bytes(n) if abs(n) < 1024 else f"{human_bytes(n)} ({_exact(n)})"


def _percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def _seconds(s: Optional[float]) -> str:
    if s is None:
        return "-"
    if s < 0.001:
        return "<1 ms"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    return f"{s:.2f} s"


def _clock(value: Any, full: bool = False) -> str:
    """A datetime or a time.time() float as local wall-clock text."""
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value)
    if not isinstance(value, _dt.datetime):
        return str(value)
    if value.tzinfo is not None:
        value = value.astimezone()  # the session stamps UTC; people read local time
    return value.strftime("%Y-%m-%d %H:%M:%S" if full else "%H:%M:%S")


def _dims(dims: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _width(width: Optional[int]) -> int:
    """Target text width: explicit, else the terminal's (100 in a kernel), never below 60."""
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    return max(60, int(width))


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", str(text)).strip()


# ----------------------------------------------------------------------------------------
# plain-text building blocks
# ----------------------------------------------------------------------------------------
_BREAK_AFTER = "/_:.-, "


def _chunks(text: str, width: int, breaks: str = _BREAK_AFTER) -> list[str]:
    """Cut `text` into pieces of at most `width` chars, preferring to cut after a separator.

    Model output names are long unbroken strings such as
    ``PartitionedCall_/binary_transposed_conv/..._53:0:binary_logits``; cutting after ``/``,
    ``_`` or ``:`` keeps the parts readable.
    """
    text = str(text)
    width = max(1, width)
    pieces: list[str] = []
    while len(text) > width:
        window = text[:width]
        cut = max(window.rfind(c) for c in breaks) + 1
        if cut <= 0 or cut < width // 2:
            cut = width
        pieces.append(text[:cut].rstrip() or text[:cut])
        text = text[cut:].lstrip(" ")
    pieces.append(text)
    return pieces


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    width: int,
    right: Sequence[int] = (),
    wrap: Sequence[int] = (),
    indent: int = 2,
    breaks: Optional[dict[int, str]] = None,
    floors: Optional[dict[int, int]] = None,
) -> list[str]:
    """Aligned columns; the `wrap` columns shrink (and wrap) until the table fits `width`.

    Wrap columns give way in the order listed, each down to a floor (12 characters unless
    `floors` says otherwise); `breaks` overrides, per column, the characters a cell may be
    cut after.
    """
    breaks, floors = breaks or {}, floors or {}
    cells = [[str(c) for c in row] for row in rows]
    ncols = len(headers)
    widths = [max([len(headers[i])] + [len(r[i]) for r in cells]) for i in range(ncols)]
    gap = 2
    excess = indent + sum(widths) + gap * (ncols - 1) - width
    for i in wrap:
        if excess <= 0:
            break
        take = min(excess, max(widths[i] - max(floors.get(i, 12), len(headers[i])), 0))
        widths[i] -= take
        excess -= take

    def line(parts: Sequence[str]) -> str:
        out = []
        for i, part in enumerate(parts):
            out.append(part.rjust(widths[i]) if i in right else part.ljust(widths[i]))
        return (" " * indent + (" " * gap).join(out)).rstrip()

    lines = [line(headers), line(["-" * w for w in widths])]
    for row in cells:
        wrapped = [
            _chunks(row[i], widths[i], breaks.get(i, _BREAK_AFTER)) if i in wrap else [row[i]] for i in range(ncols)
        ]
        height = max(len(w) for w in wrapped)
        for k in range(height):
            lines.append(line([w[k] if k < len(w) else "" for w in wrapped]))
    return lines


def _pack(items: Sequence[Any], room: int, sep: str = ", ") -> list[str]:
    """Join items with `sep`, starting a new line between items rather than inside one."""
    lines: list[str] = []
    for item in map(str, items):
        if lines and len(lines[-1]) + len(sep) + len(item) <= room:
            lines[-1] += sep + item
        else:
            if lines:
                lines[-1] += sep.rstrip()
            lines.append(item)
    return lines or [""]


def _fields(pairs: Sequence[tuple[str, Any]], *, width: int, indent: int = 2) -> list[str]:
    """A "label  value" block; long values wrap under themselves."""
    pairs = [(k, v) for k, v in pairs if v is not None and str(v) != ""]
    if not pairs:
        return []
    label_w = max(len(k) for k, _ in pairs)
    room = max(20, width - indent - label_w - 2)
    lines = []
    for key, value in pairs:
        if isinstance(value, (list, tuple)):
            parts = _pack(value, room)
        else:
            parts = textwrap.wrap(str(value), room, break_long_words=True, break_on_hyphens=False) or [""]
        lines.append(" " * indent + key.ljust(label_w) + "  " + parts[0])
        lines.extend(" " * (indent + label_w + 2) + p for p in parts[1:])
    return lines


# ----------------------------------------------------------------------------------------
# shared pieces of several views
# ----------------------------------------------------------------------------------------
def _extra_columns(tensors: Sequence[TensorDesc], detail: bool) -> list[str]:
    """Columns the detailed view adds: ACL enum codes, and dims ranges when any tensor has one."""
    if not detail:
        return []
    return (["dims range"] if any(t.dims_range for t in tensors) else []) + ["ACL dtype/fmt"]


def _extra_cells(t: TensorDesc, extra: Sequence[str]) -> list[str]:
    cells = {"dims range": lambda: _ranges(t.dims_range), "ACL dtype/fmt": lambda: f"{t.acl_dtype}/{t.acl_format}"}
    return [cells[c]() for c in extra]


def _io_rows(tensors: Sequence[TensorDesc], detail: bool) -> list[list[str]]:
    extra = _extra_columns(tensors, detail)
    return [
        [str(i), t.name, _dims(t.dims), t.dtype, t.format, *_extra_cells(t, extra), _bytes_both(t.size)]
        for i, t in enumerate(tensors)
    ]


def _io_headers(tensors: Sequence[TensorDesc], detail: bool) -> list[str]:
    return ["#", "name", "dims", "dtype", "format", *_extra_columns(tensors, detail), "size"]


def _ranges(ranges: Sequence[tuple[int, int]]) -> str:
    return " ".join(f"{lo}..{hi}" for lo, hi in ranges) if ranges else "-"


def _io_text(title: str, tensors: Sequence[TensorDesc], width: int, detail: bool = False) -> list[str]:
    lines = [f"{title} ({len(tensors)})"]
    if not tensors:
        return lines + ["  (none)"]
    headers = _io_headers(tensors, detail)
    size = len(headers) - 1
    rows = _io_rows(tensors, detail)
    # the size cell may fold before its exact "(1,572,864 B)" part, never inside it
    exact = max(len(f"({_exact(t.size)})") for t in tensors)
    return lines + _table(
        headers, rows, width=width, right=(0, size), wrap=(1, size), breaks={size: " "}, floors={size: exact}
    )


def _has_dynamic(*groups: Sequence[TensorDesc]) -> bool:
    return any(t.is_dynamic for g in groups for t in g)


def _no_gears(inputs: Sequence[TensorDesc]) -> str:
    """The gear line of a model without gears: static, or unknown dims nothing fixes (a shape-range model)."""
    if any(t.is_dynamic and not t.aipp_dims for t in inputs if t.name != "ascend_mbatch_shape_data"):
        return "Gears: none, but unknown (-1) dims: a shape-range model, which acl-notebook cannot run"
    return "Gears: none (static shapes)"


def _gear_lines(
    dyn: DynamicInfo, inputs: Sequence[TensorDesc], outputs: Sequence[TensorDesc] = ()
) -> list[str]:
    """Gears as sentences: batch sizes, H x W pairs, or dims per input in shape order."""
    if not dyn.is_dynamic:
        return [_no_gears(inputs)]
    n = len(dyn.gears)
    if dyn.kind == "batch":
        lines = [f"Dynamic batch, {_plural(n, 'gear')}: " + ", ".join(str(g[0]) for g in dyn.gears if g)]
    elif dyn.kind == "hw":
        pairs = ", ".join("x".join(str(v) for v in g) for g in dyn.gears)
        lines = [f"Dynamic image size (H x W), {_plural(n, 'gear')}: {pairs}"]
    else:
        order = ", ".join(dyn.shape_order) if dyn.shape_order else "input order"
        lines = [f"Dynamic dims, {_plural(n, 'gear')} (shape order: {order})"]
        for i, gear in enumerate(dyn.gears):
            lines.append(f"  gear {i}: {_dims_gear_text(gear, dyn.shape_order, inputs)}")
    shapes = _output_shapes(dyn.output_shapes, outputs)
    if shapes:
        lines.append("Output shapes per gear:")
        lines += [f"  gear {g}: " + "  ".join(f"{name}={_dims(d)}" for name, d in outs) for g, outs in shapes]
    elif dyn.output_shapes:
        lines.append("Output shapes per gear: " + "; ".join(dyn.output_shapes))
    return lines


def _output_shapes(
    entries: Sequence[str], outputs: Sequence[TensorDesc]
) -> list[tuple[str, list[tuple[str, tuple[int, ...]]]]]:
    """GE's per-gear output dims ("gear,output,d0,d1,..." strings) grouped by gear.

    Returns [] when any entry does not have that shape, so the caller shows them raw.
    """
    grouped: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for entry in entries:
        try:
            values = [int(v) for v in entry.split(",")]
        except ValueError:
            return []
        if len(values) < 2:
            return []
        gear, index, dims = values[0], values[1], tuple(values[2:])
        name = outputs[index].name if 0 <= index < len(outputs) else f"output {index}"
        grouped.setdefault(str(gear), []).append((name, dims))
    return list(grouped.items())


def _dims_gear_parts(
    gear: Sequence[int], order: Sequence[str], inputs: Sequence[TensorDesc]
) -> Optional[list[tuple[str, tuple[int, ...]]]]:
    """Split one dims gear into (input name, full dims) pairs when the numbers allow it.

    A gear lists either every dim of the inputs in `order`, or only their dynamic (-1)
    axes; either way we can show whole shapes. Returns None when neither count fits.
    """
    names = list(order) or [t.name for t in inputs]
    by_name = {t.name: t for t in inputs}
    tensors = [by_name.get(name) for name in names]
    if not names or any(t is None for t in tensors):
        return None
    values = list(gear)
    if sum(len(t.dims) for t in tensors) == len(values):
        out, k = [], 0
        for t in tensors:
            out.append((t.name, tuple(values[k : k + len(t.dims)])))
            k += len(t.dims)
        return out
    if sum(1 for t in tensors for d in t.dims if d == -1) == len(values):
        it = iter(values)
        return [(t.name, tuple(next(it) if d == -1 else d for d in t.dims)) for t in tensors]
    return None


def _dims_gear_text(gear: Sequence[int], order: Sequence[str], inputs: Sequence[TensorDesc]) -> str:
    parts = _dims_gear_parts(gear, order, inputs)
    if parts is None:
        return _dims(gear)
    return "  ".join(f"{name}={_dims(d)}" for name, d in parts)


def _needs_items(needs: MemoryNeeds) -> list[str]:
    items = [f"work {human_bytes(needs.work)} + weights {human_bytes(needs.weight)} = {_bytes_both(needs.total)}"]
    if needs.zero_copy:
        items.append(f"zero-copy I/O {human_bytes(needs.zero_copy)}")
    return items


def _needs_text(needs: MemoryNeeds) -> str:
    return ", ".join(_needs_items(needs))


def _partitions_items(parts: Sequence[Any]) -> list[str]:
    return [f"{PARTITION_NAMES.get(p.type, f'type {p.type}')} {human_bytes(p.size)}" for p in parts]


def _info_subtitle(info: ModelInfo) -> str:
    size = f" · {_bytes_both(info.file_size)}" if info.file_size else ""
    return f"offline model, OM {info.om_version}{size}"


def _soc_text(soc: str) -> str:
    return soc or "(none recorded: loads on any SoC)"


# ----------------------------------------------------------------------------------------
# text views
# ----------------------------------------------------------------------------------------
def _text_model_info(info: ModelInfo, width: int) -> str:
    lines = [f"{info.name or '(unnamed)'}: {_info_subtitle(info)}"]
    versions = info.atc_version
    if info.opp_version and info.opp_version != info.atc_version:
        versions += f" (OPP {info.opp_version})"
    lines += _fields(
        [
            ("SoC", _soc_text(info.soc_version)),
            ("ATC version", versions or "-"),
            ("Framework", info.framework or None),
            ("Operators", f"{info.op_count}   streams {info.stream_num}   events {info.event_num}"),
            ("Submodels", info.submodels if info.submodels != 1 else None),
            ("Partitions", _partitions_items(info.partitions) or None),
            ("Memory needs", _needs_items(info.memory)),
        ],
        width=width,
    )
    lines += _io_sections(info.inputs, info.outputs, info.dynamic, width)
    return "\n".join(lines)


#: bytes per pixel of the AIPP input formats, for naming the one an input's sizes imply
_AIPP_FORMATS = {1.5: "YUV420SP", 1.0: "YUV400", 3.0: "RGB888", 4.0: "XRGB8888"}
_IMAGE_HW = {"NHWC": (1, 2), "NCHW": (2, 3)}  # where an image input's H and W sit


def _aipp_note(t: TensorDesc) -> str:
    """One line about a static-AIPP input: the shape it takes instead of its dims."""
    kind = ""
    axes = _IMAGE_HW.get(t.format) if len(t.dims) == 4 and t.dtype == "uint8" else None
    if axes:
        pixels = t.dims[0] * t.dims[axes[0]] * t.dims[axes[1]]
        name = _AIPP_FORMATS.get(t.size / pixels) if pixels else None
        kind = f", {name}-style" if name else ""
    return (f"AIPP input {t.name!r} takes {_dims(t.aipp_dims)} {t.dtype} (the image in its AIPP input format"
            f"{kind}, {_exact(t.size)}), not its dims; the device's AIPP stage converts it")


def _aipp_notes(inputs: Sequence[TensorDesc]) -> list[str]:
    return [_aipp_note(t) for t in inputs if t.aipp_dims]


def _io_sections(
    inputs: Sequence[TensorDesc],
    outputs: Sequence[TensorDesc],
    dyn: DynamicInfo,
    width: int,
    detail: bool = False,
) -> list[str]:
    lines = [""] + _io_text("Inputs", inputs, width, detail)
    for note in _aipp_notes(inputs):
        lines += textwrap.wrap(f"note: {note}", _width(width) - 2, initial_indent="  ", subsequent_indent="        ",
                               break_on_hyphens=False)
    lines += [""] + _io_text("Outputs", outputs, width, detail)
    if _has_dynamic(inputs, outputs):
        lines.append(f"  note: {_DYNAMIC_NOTE}")
    return lines + [""] + _gear_lines(dyn, inputs, outputs)


def _memory_words(model: Any, needs: Any) -> str:
    """ "2.1 MiB (...) charged (work 1 MiB + weights 1 MiB + I/O buffers 128 KiB)"."""
    memory = _bytes_both(getattr(model, "memory", 0))
    if needs is not None:
        memory += f" charged (work {human_bytes(needs.work)} + weights {human_bytes(needs.weight)}"
        io = getattr(model, "io_bytes", 0)
        memory += f" + I/O buffers {human_bytes(io)})" if io else ")"
    return memory


def _status(model: Any) -> str:
    if not getattr(model, "loaded", True):
        return "unloaded"
    return f"loaded on device {getattr(model, 'device', '?')} ({getattr(model, 'backend', '?')})"


def _text_model(model: Any, width: int) -> str:
    info = getattr(model, "info", None)
    needs = getattr(model, "needs", None)
    lines = [f"Model #{model.id} {model.name!r}: {_status(model)}"]
    memory = _memory_words(model, needs)
    loaded = _clock(getattr(model, "loaded_at", None), full=True)
    lines += _fields(
        [
            ("Source", getattr(model, "source", "")),
            ("Built for SoC", _soc_text(info.soc_version) if info is not None else None),
            ("Simulated SoC", getattr(model, "soc_note", "") or None),
            ("Device memory", memory),
            ("Loaded", f"{loaded} in {_seconds(getattr(model, 'load_seconds', None))}"),
        ],
        width=width,
    )
    lines += _io_sections(model.inputs, model.outputs, model.dynamic, width)
    return "\n".join(lines)


def _model_row(m: Any) -> list[str]:
    row = [str(m.id), m.name, str(m.device), f"{len(m.inputs)}/{len(m.outputs)}", human_bytes(m.memory),
           _clock(getattr(m, "loaded_at", None)), _seconds(getattr(m, "load_seconds", None)),
           str(getattr(m, "source", ""))]
    if not getattr(m, "loaded", True):
        row[1] += " (unloaded)"
    return row


def device_span(devices: Sequence[int]) -> str:
    """Device ids as people write them: "0-3", "0, 2, 5-7"."""
    runs: list[list[int]] = []
    for d in sorted(devices):
        if runs and d == runs[-1][1] + 1:
            runs[-1][1] = d
        else:
            runs.append([d, d])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _listing(models: Sequence[Any]) -> list[tuple[str, Any]]:
    """The models in load order, each group's copies gathered where its first copy is:
    ("model", model) or ("group", (name, copies))."""
    out: list[tuple[str, Any]] = []
    groups: dict[str, list[Any]] = {}
    for m in models:
        name = getattr(m, "group", None)
        if not name:
            out.append(("model", m))
        elif name in groups:
            groups[name].append(m)
        else:
            groups[name] = [m]
            out.append(("group", (name, groups[name])))
    return out


def _group_summary_row(name: str, copies: Sequence[Any]) -> list[str]:
    """A group's own row: no id (its name unloads every copy), its devices, the memory of its
    loaded copies, when the first loaded and how long all took."""
    live = [m for m in copies if getattr(m, "loaded", True)]
    took = [m.load_seconds for m in copies if getattr(m, "load_seconds", None) is not None]
    first = copies[0]
    n = len(copies)
    return ["", f"{name} ({'1 copy' if n == 1 else f'{n} copies'})", device_span([m.device for m in copies]),
            f"{len(first.inputs)}/{len(first.outputs)}", human_bytes(sum(m.memory for m in live)),
            _clock(getattr(first, "loaded_at", None)), _seconds(sum(took)) if took else "-",
            str(getattr(first, "source", ""))]


def _copy_row(m: Any, last: bool) -> list[str]:
    """A group's copy, under its group: its own id (what `%acl_unload ID` takes), device,
    memory and load time; what every copy shares (I/O count, source) is on the group's row."""
    row = _model_row(m)
    row[1] = ("└ " if last else "├ ") + row[1]
    row[3] = row[7] = ""
    return row


def _model_rows(models: Sequence[Any]) -> list[tuple[str, str, list[str]]]:
    """(kind, model or group name, cells) per table row; kind is "model", "group" (a group's
    own row) or "copy" (one of its copies, listed under it)."""
    rows: list[tuple[str, str, list[str]]] = []
    for kind, item in _listing(models):
        if kind == "model":
            rows.append(("model", item.name, _model_row(item)))
            continue
        name, copies = item
        rows.append(("group", name, _group_summary_row(name, copies)))
        rows += [("copy", m.name, _copy_row(m, i == len(copies) - 1)) for i, m in enumerate(copies)]
    return rows


_MODEL_HEADERS = ["id", "name", "device", "in/out", "memory", "loaded at", "took", "source"]
_GROUP_NOTE = ("a group's name unloads all its copies (%acl_unload {name}); a copy's id unloads that "
               "copy alone")


def _model_list_title(models: Sequence[Any]) -> str:
    total = sum(m.memory for m in models if getattr(m, "loaded", True))
    listing = _listing(models)
    groups = [item for kind, item in listing if kind == "group"]
    charged = f"{human_bytes(total)} of device memory charged"
    if not groups:
        return f"{_plural(len(models), 'model')}, {charged}"
    singles = len(listing) - len(groups)
    copies = sum(len(c) for _, c in groups)
    parts = ([_plural(singles, "model")] if singles else []) + [
        f"{_plural(len(groups), 'model group')} ({copies} {'copy' if copies == 1 else 'copies'})"]
    return f"{' and '.join(parts)}, {charged}"


def _group_note(models: Sequence[Any]) -> str:
    names = [item[0] for kind, item in _listing(models) if kind == "group"]
    return _GROUP_NOTE.format(name=names[0]) if names else ""


def _text_model_list(models: Sequence[Any], width: int) -> str:
    if not models:
        return "No models loaded. Load one with %acl_load PATH.om or acl_notebook.load(...)."
    lines = [_model_list_title(models)]
    rows = [cells for _, _, cells in _model_rows(models)]
    lines += _table(_MODEL_HEADERS, rows, width=width, right=(0, 2, 4), wrap=(7, 1))  # paths give way first
    note = _group_note(models)
    return "\n".join(lines + textwrap.wrap(note, max(40, width - 2), initial_indent="  ", subsequent_indent="  "))


def _bar_segments(report: Any, cells: int) -> list[tuple[str, int]]:
    """(kind, cell count) for models / other / free; boundaries are rounded cumulatively so
    the parts add up to `cells`, and a non-zero part always gets at least one cell."""
    total = max(int(report.total), 1)
    # program buffers (pyACL) count with the models: memory a user's code holds, not the runtime's
    model_bytes = sum(s.bytes for s in report.models) + getattr(report, "programs", 0)
    other = max(report.used - model_bytes, 0)
    free = max(report.free, 0)
    m = round(cells * model_bytes / total)
    m = max(m, 1) if model_bytes else 0
    o = max(round(cells * (model_bytes + other) / total) - m, 0)
    o = max(o, 1) if other else 0
    f = cells - m - o
    if free and f < 1:
        f = 1
    while m + o + f > cells:  # take the excess from the larger used part
        if o >= m and o > 1:
            o -= 1
        elif m > 1:
            m -= 1
        else:
            f = max(f - 1, 0)
            break
    return [("models", m), ("other", o), ("free", f)]


_BAR_CHARS = {"models": "#", "other": "+", "free": "."}


def _text_memory(report: Any, width: int) -> str:
    soc = f" · {report.soc}" if getattr(report, "soc", "") else ""
    lines = [f"Device {report.device} · {report.kind}{soc} ({report.backend}) at {_clock(report.timestamp)}"]
    cells = max(20, min(50, width - 20))
    bar = "".join(_BAR_CHARS[k] * n for k, n in _bar_segments(report, cells))
    lines.append(f"  [{bar}] {_percent(report.used, report.total)} used")
    lines.append(
        f"  used {human_bytes(report.used)} of {human_bytes(report.total)} · free {human_bytes(report.free)}"
        f"   ({_BAR_CHARS['models']} models, {_BAR_CHARS['other']} other, {_BAR_CHARS['free']} free)"
    )
    rows = [[s.name, str(s.id), _bytes_both(s.bytes), _percent(s.bytes, report.total)] for s in report.models]
    programs = getattr(report, "programs", 0)
    if programs:
        rows.append([_PROGRAMS_ROW, "", _bytes_both(programs), _percent(programs, report.total)])
    other = report.other
    rows.append(["other (runtime, other processes)", "", _bytes_both(other), _percent(other, report.total)])
    lines += _table(["model", "id", "bytes", "of total"], rows, width=width, right=(1, 2, 3), wrap=(0,))
    return "\n".join(lines)


def _session_pairs(info: Any) -> list[tuple[str, Any]]:
    versions = info.acl_version or "-"
    if info.cann_version:
        versions += f"   CANN {info.cann_version}"
    pairs: list[tuple[str, Any]] = [
        ("Backend", f"{info.backend} ({'simulated' if info.simulated else 'real AscendCL'})"),
        ("Library", info.library),
        ("ACL version", versions),
        ("SoC", (info.soc or "-") + (f" ({info.soc_source})" if getattr(info, "soc_source", "") else "")),
        ("Devices", f"{info.device_count} (default device {info.device})"),
        ("Run mode", info.run_mode),
        ("Device memory", f"{human_bytes(info.memory_total)} {info.memory_kind} on device {info.device}"
         if getattr(info, "memory_total", 0) else info.memory_kind),
        ("Host memory", _host_words(info.host_memory) if getattr(info, "host_memory", None) else None),
        ("Model buffers", getattr(info, "buffers", "") or None),
        ("Models loaded", info.models_loaded),
        ("Note", info.note or None),
    ]
    changed = getattr(info, "changed", None)
    if changed is not None:
        text = "; ".join(f"{k} {a} → {b}" for k, a, b in changed) or "nothing (already running with these settings)"
        pairs.insert(0, ("Changed", text))
    return pairs


def _text_session(info: Any, width: int) -> str:
    title = "acl-notebook session: " + ("simulated AscendCL" if info.simulated else "AscendCL")
    return "\n".join([title] + _fields(_session_pairs(info), width=width))


def _memory_error_pairs(exc: Any) -> list[tuple[str, Any]]:
    """The numbers of a DeviceMemoryError (needed/free/total) or HostMemoryError (size/available,
    and the container's limit and usage when its cgroup refused)."""
    pairs: list[tuple[str, Any]] = [
        ("model", getattr(exc, "model_name", None)),
        ("what", getattr(exc, "path", None)),  # a HostMemoryError's: a file, or "a random input set for ..."
        ("device", getattr(exc, "device", None)),
    ]
    for label, attr in (("needed", "needed"), ("size", "size"), ("free", "free"),
                        ("available", "available"), ("container limit", "limit"), ("in use", "used"),
                        ("total", "total")):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and not isinstance(value, bool):
            pairs.append((label, _bytes_both(value)))
    want = _first_int(exc, "needed", "size")
    have = _first_int(exc, "free", "available")
    if want is not None and have is not None and want > have:
        pairs.append(("short by", _bytes_both(want - have)))
    return pairs


def _first_int(obj: Any, *names: str) -> Optional[int]:
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, int):
            return value
    return None


def _candidates(exc: Any) -> list[tuple[str, int]]:
    return [(str(n), int(b)) for n, b in (getattr(exc, "candidates", None) or ())]


def _text_memory_error(exc: BaseException, width: int) -> str:
    lines = [f"{type(exc).__name__}: {_one_line(str(exc))}"]
    lines += _fields(_memory_error_pairs(exc), width=width)
    cands = _candidates(exc)
    if cands:
        lines.append("  Unloading these together would make room:")
        lines += [f"    {name}  ({human_bytes(size)})" for name, size in cands]
    return "\n".join(lines)


def _text_descriptors(d: Descriptors, width: int) -> str:
    lines = [d.title] + ([f"  {d.note}"] if d.note else [])
    if d.coverage:
        lines.append(f"  CPU reference: {d.coverage}")
    lines += _io_sections(d.inputs, d.outputs, d.dynamic, width, detail=True)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# HTML building blocks (inline styles only; theme variables with fallbacks)
# ----------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


_BORDER = "var(--jp-border-color2, rgba(128,128,128,0.35))"
_ROOT = (
    "font-family:var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif);"
    "font-size:var(--jp-ui-font-size1, 13px);color:var(--jp-ui-font-color1, inherit);"
    "line-height:1.4;max-width:100%;overflow-x:auto;"
)
_TITLE = "font-weight:600;font-size:var(--jp-ui-font-size2, 14px);margin:2px 0 4px 0;"
_SUB = "font-weight:600;margin:8px 0 2px 0;"
_MUTED = "color:var(--jp-ui-font-color2, inherit);opacity:0.85;"
_CODE = "font-family:var(--jp-code-font-family, SFMono-Regular, Menlo, Consolas, monospace);font-size:0.95em;"
_WRAP = "overflow-wrap:anywhere;word-break:break-word;"
_WRAP_CELL = _WRAP + "min-width:12em;"
_NOWRAP = "white-space:nowrap;"
_TABLE = "border-collapse:collapse;table-layout:auto;margin:2px 0;border:none;width:auto;"
_CELL = (
    f"text-align:left;vertical-align:top;padding:2px 12px 2px 0;border:none;"
    f"border-bottom:1px solid {_BORDER};background:transparent;"
)
_TH = _CELL + "font-weight:600;white-space:nowrap;"
_NUM = "text-align:right;white-space:nowrap;"
_DYN = "color:var(--jp-warn-color0, #d97706);font-weight:600;"
_ERR = "color:var(--jp-error-color1, #d32f2f);"
_OK = "color:var(--jp-success-color1, #2e7d32);"
_WARN = "color:var(--jp-warn-color1, #b45309);"
# Model colours in memory bars (the panel's plot uses them too): mid tones that read on
# light and dark backgrounds alike, none of them grey (grey is "other").
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
           "#ff9da7")


_GROUP_COPY = re.compile(r"@\d+$")  # group.member_name: "<group>@<device>"


class _ModelColours:
    """One colour per model name for the whole process, handed out in first-seen order.

    A colour picked by position in the current list would change whenever an earlier model
    is unloaded; keyed by name, a model keeps its colour in the bar, the table and the plot,
    and gets it back when it is loaded again under the same name.
    """

    def __init__(self, palette: Sequence[str] = PALETTE) -> None:
        self._palette = tuple(palette)
        self._by_name: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> str:
        if name == PROGRAM_BUFFERS:
            return PROGRAM_BUFFERS_COLOUR  # not a model: the plot's band for a program's loose buffers
        name = _GROUP_COPY.sub("", name)  # a group's copies (net@0, net@1) share the group's colour
        with self._lock:
            colour = self._by_name.get(name)
            if colour is None:
                colour = self._palette[len(self._by_name) % len(self._palette)]
                self._by_name[name] = colour
            return colour


#: ``model_colour(name)``: the colour of a model in every memory view.
model_colour = _ModelColours()
# "other" is striped so it never looks like "free", whatever the theme's greys are.
_OTHER_COLOR = "repeating-linear-gradient(45deg, rgba(128,128,128,0.85) 0 3px, rgba(128,128,128,0.4) 3px 6px)"
_FREE_COLOR = "var(--jp-layout-color3, rgba(128,128,128,0.18))"
# device memory a pyACL program allocated that no model has run with yet (or any more)
_PROGRAMS_COLOR = "repeating-linear-gradient(-45deg, #d9822b 0 3px, #f3c98b 3px 6px)"
_PROGRAMS_ROW = "pyACL buffers (no model)"
#: the same band's solid colour in the memory plot
PROGRAM_BUFFERS_COLOUR = "#e39a48"


def _root(inner: str) -> str:
    return f'<div class="acl-notebook" style="{_ROOT}">{inner}</div>'


def _html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    raw: Sequence[int] = (),
    wrap: Sequence[int] = (),
) -> str:
    """A table; cells in `raw` are already HTML, everything else is escaped here.

    Only the `wrap` columns (names, paths) may break, and not below a readable width;
    short cells such as "float32" or "<1 ms" stay on one line.
    """
    head = "".join(
        f'<th style="{_TH}{_NUM if i in right else ""}">{_e(h)}</th>' for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        tds = []
        for i, cell in enumerate(row):
            if i in right:
                # raw right-aligned cells (sizes) decide their own break points
                style = _CELL + ("text-align:right;" if i in raw else _NUM)
            else:
                style = _CELL + (_WRAP_CELL if i in wrap else _NOWRAP)
            tds.append(f'<td style="{style}">{cell if i in raw else _e(cell)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _html_fields(pairs: Sequence[tuple[str, Any]]) -> str:
    rows = []
    for key, value in pairs:
        if value is None or str(value) == "":
            continue
        if isinstance(value, (list, tuple)):
            shown = ", ".join(f'<span style="white-space:nowrap;">{_e(v)}</span>' for v in value)
        else:
            shown = _e(value)
        rows.append(
            f'<tr><th style="{_TH}{_MUTED}font-weight:normal;">{_e(key)}</th>'
            f'<td style="{_CELL}{_WRAP}">{shown}</td></tr>'
        )
    return f'<table style="{_TABLE}"><tbody>{"".join(rows)}</tbody></table>'


def _html_bytes(n: int) -> str:
    """ "1.5 MiB (1,572,864 B)" that may fold between its two parts, never inside one."""
    if abs(n) < 1024:
        return f'<span style="{_NOWRAP}">{_e(human_bytes(n))}</span>'
    return (
        f'<span style="{_NOWRAP}">{_e(human_bytes(n))}</span> '
        f'<span style="{_NOWRAP}{_MUTED}">({_e(_exact(n))})</span>'
    )


def _html_dims(dims: Sequence[int]) -> str:
    parts = []
    for d in dims:
        if d == -1:
            parts.append(f'<span style="{_DYN}" title="dynamic axis">-1</span>')
        elif d < -1:
            parts.append(f'<span style="{_DYN}" title="unknown rank">{d}</span>')
        else:
            parts.append(str(d))
    return f'<span style="{_CODE}white-space:nowrap;">[{", ".join(parts)}]</span>'


def _html_io(title: str, tensors: Sequence[TensorDesc], detail: bool = False) -> str:
    head = f'<div style="{_SUB}">{_e(title)} ({len(tensors)})</div>'
    if not tensors:
        return head + f'<div style="{_MUTED}">(none)</div>'
    rows = []
    for i, t in enumerate(tensors):
        size = _html_bytes(t.size)
        name = f'<span style="{_CODE}{_WRAP}">{_e(t.name)}</span>'
        extra = _extra_cells(t, _extra_columns(tensors, detail))
        rows.append([str(i), name, _html_dims(t.dims), t.dtype, t.format, *extra, size])
    raw = (1, 2, len(rows[0]) - 1)
    headers = _io_headers(tensors, detail)
    return head + _html_table(headers, rows, right=(0, len(rows[0]) - 1), raw=raw, wrap=(1,))


def _html_gears(dyn: DynamicInfo, inputs: Sequence[TensorDesc], outputs: Sequence[TensorDesc] = ()) -> str:
    if not dyn.is_dynamic:
        return f'<div style="{_MUTED}margin-top:6px;">{html.escape(_no_gears(inputs))}</div>'
    n = len(dyn.gears)
    if dyn.kind == "batch":
        head = f"Dynamic batch, {_plural(n, 'gear')}"
        rows = [[str(i), str(g[0]) if g else ""] for i, g in enumerate(dyn.gears)]
        table = _html_table(["gear", "batch"], rows, right=(0, 1))
    elif dyn.kind == "hw":
        head = f"Dynamic image size, {_plural(n, 'gear')}"
        rows = [[str(i)] + [str(v) for v in g[:2]] for i, g in enumerate(dyn.gears)]
        table = _html_table(["gear", "height", "width"], rows, right=(0, 1, 2))
    else:
        order = ", ".join(dyn.shape_order) if dyn.shape_order else "input order"
        head = f"Dynamic dims, {_plural(n, 'gear')} (shape order: {order})"
        rows = []
        for i, gear in enumerate(dyn.gears):
            parts = _dims_gear_parts(gear, dyn.shape_order, inputs)
            if parts is None:
                cell = _html_dims(gear)
            else:
                cell = "<br>".join(
                    f'<span style="{_CODE}{_WRAP}">{_e(nm)}</span> = {_html_dims(d)}' for nm, d in parts
                )
            rows.append([str(i), cell])
        table = _html_table(["gear", "shapes"], rows, right=(0,), raw=(1,), wrap=(1,))
    out = f'<div style="{_SUB}">{_e(head)}</div>{table}'
    shapes = _output_shapes(dyn.output_shapes, outputs)
    if shapes:
        rows = [
            [gear, "<br>".join(f'<span style="{_CODE}{_WRAP}">{_e(nm)}</span> = {_html_dims(d)}' for nm, d in outs)]
            for gear, outs in shapes
        ]
        out += f'<div style="{_SUB}">Output shapes per gear</div>'
        out += _html_table(["gear", "shapes"], rows, right=(0,), raw=(1,), wrap=(1,))
    elif dyn.output_shapes:
        raw = "".join(f'<div style="{_CODE}{_WRAP}">{_e(s)}</div>' for s in dyn.output_shapes)
        out += f'<div style="{_SUB}">Output shapes per gear</div>{raw}'
    return out


def _html_io_sections(
    inputs: Sequence[TensorDesc], outputs: Sequence[TensorDesc], dyn: DynamicInfo, detail: bool = False
) -> str:
    out = _html_io("Inputs", inputs, detail)
    out += "".join(f'<div style="{_MUTED}font-size:0.9em;">{_e(n)}</div>' for n in _aipp_notes(inputs))
    out += _html_io("Outputs", outputs, detail)
    if _has_dynamic(inputs, outputs):
        out += f'<div style="{_MUTED}font-size:0.9em;">{_e(_DYNAMIC_NOTE)}</div>'
    return out + _html_gears(dyn, inputs, outputs)


# ----------------------------------------------------------------------------------------
# HTML views
# ----------------------------------------------------------------------------------------
def _html_model_info(info: ModelInfo) -> str:
    title = (
        f'<div style="{_TITLE}{_WRAP}">{_e(info.name or "(unnamed)")} '
        f'<span style="{_MUTED}font-weight:normal;">{_e(_info_subtitle(info))}</span></div>'
    )
    versions = info.atc_version
    if info.opp_version and info.opp_version != info.atc_version:
        versions += f" (OPP {info.opp_version})"
    fields = _html_fields(
        [
            ("SoC", _soc_text(info.soc_version)),
            ("ATC version", versions or "-"),
            ("Framework", info.framework or None),
            ("Operators", f"{info.op_count} · streams {info.stream_num} · events {info.event_num}"),
            ("Submodels", info.submodels if info.submodels != 1 else None),
            ("Partitions", _partitions_items(info.partitions) or None),
            ("Memory needs", _needs_items(info.memory)),
        ]
    )
    return _root(title + fields + _html_io_sections(info.inputs, info.outputs, info.dynamic))


def _html_model(model: Any) -> str:
    info = getattr(model, "info", None)
    needs = getattr(model, "needs", None)
    state = _status(model)
    style = _MUTED if getattr(model, "loaded", True) else _ERR
    title = (
        f'<div style="{_TITLE}{_WRAP}">Model #{_e(model.id)} {_e(model.name)} '
        f'<span style="{style}font-weight:normal;">{_e(state)}</span></div>'
    )
    memory = _memory_words(model, needs)
    loaded = _clock(getattr(model, "loaded_at", None), full=True)
    fields = _html_fields(
        [
            ("Source", getattr(model, "source", "")),
            ("Built for SoC", _soc_text(info.soc_version) if info is not None else None),
            ("Simulated SoC", getattr(model, "soc_note", "") or None),
            ("Device memory", memory),
            ("Loaded", f"{loaded} in {_seconds(getattr(model, 'load_seconds', None))}"),
        ]
    )
    return _root(title + fields + _html_io_sections(model.inputs, model.outputs, model.dynamic))


_COPY_NAME = "padding-left:1.4em;"


def _html_model_list(models: Sequence[Any]) -> str:
    if not models:
        return _root(
            f'<div style="{_MUTED}">No models loaded. Load one with <code>%acl_load PATH.om</code> '
            "or <code>acl_notebook.load(...)</code>.</div>"
        )
    title = f'<div style="{_TITLE}">{_e(_model_list_title(models))}</div>'
    rows = []
    for kind, name, row in _model_rows(models):
        cells = list(row)
        cells[7] = f'<span style="{_CODE}{_WRAP}font-size:0.9em;">{_e(row[7])}</span>'
        if kind == "group":  # the group's own row: bold, in the colour its copies share
            cells[1] = f'{_swatch(model_colour(name))}<b style="{_WRAP}">{_e(row[1])}</b>'
        elif kind == "copy":
            cells[1] = f'<span style="{_COPY_NAME}{_WRAP}">{_e(row[1])}</span>'
        else:
            cells[1] = _e(row[1])
        rows.append(cells)
    note = _group_note(models)
    note = f'<div style="{_MUTED}font-size:0.9em;">{_e(note)}</div>' if note else ""
    return _root(title + _html_table(_MODEL_HEADERS, rows, right=(0, 2, 4), raw=(1, 7), wrap=(1, 7))
                 + note)


def _html_bar(report: Any) -> str:
    total = max(int(report.total), 1)
    segs = []
    for share in report.models:
        color = model_colour(share.name)
        tip = f"{share.name} (#{share.id}): {human_bytes(share.bytes)}"
        segs.append((share.bytes, color, tip))
    programs = getattr(report, "programs", 0)
    if programs:
        segs.append((programs, _PROGRAMS_COLOR, f"{_PROGRAMS_ROW}: {human_bytes(programs)}"))
    segs.append((max(report.other, 0), _OTHER_COLOR, f"other: {human_bytes(report.other)}"))
    segs.append((max(report.free, 0), _FREE_COLOR, f"free: {human_bytes(report.free)}"))
    # a model's segment is at least 4 px and never shrinks, so a MiB model on a 64 GiB
    # device still shows in its colour (the rounded corner would eat a thinner one)
    n_models = len(report.models)
    divs = "".join(
        f'<div title="{_e(tip)}" style="width:{100.0 * size / total:.3f}%;'
        f'min-width:{(4 if i < n_models else 2) if size else 0}px;flex-shrink:{0 if i < n_models else 1};'
        f'background:{color};height:100%;"></div>'
        for i, (size, color, tip) in enumerate(segs)
    )
    return (
        f'<div style="display:flex;width:100%;max-width:40em;height:14px;border-radius:3px;overflow:hidden;'
        f'border:1px solid {_BORDER};margin:4px 0;" role="img" '
        f'aria-label="{_e(_percent(report.used, report.total))} used">{divs}</div>'
    )


def _swatch(color: str) -> str:
    return (
        f'<span style="display:inline-block;width:0.8em;height:0.8em;border-radius:2px;'
        f'background:{color};margin-right:4px;vertical-align:middle;"></span>'
    )


def _html_memory(report: Any) -> str:
    soc = f" · {report.soc}" if getattr(report, "soc", "") else ""
    title = (
        f'<div style="{_TITLE}">Device {_e(report.device)} · {_e(report.kind)}{_e(soc)} '
        f'<span style="{_MUTED}font-weight:normal;">'
        f"({_e(report.backend)}, {_e(_clock(report.timestamp))})</span></div>"
    )
    summary = (
        f"<div><b>{_e(_percent(report.used, report.total))}</b> used: {_e(human_bytes(report.used))} "
        f"of {_e(human_bytes(report.total))} · free {_e(human_bytes(report.free))}</div>"
    )
    rows = []
    for share in report.models:
        name = _swatch(model_colour(share.name)) + f'<span style="{_WRAP}">{_e(share.name)}</span>'
        rows.append([name, str(share.id), _html_bytes(share.bytes), _percent(share.bytes, report.total)])
    programs = getattr(report, "programs", 0)
    if programs:
        rows.append([_swatch(_PROGRAMS_COLOR) + _e(_PROGRAMS_ROW), "", _html_bytes(programs),
                     _percent(programs, report.total)])
    rows.append(
        [_swatch(_OTHER_COLOR) + "other (runtime, other processes)", "", _html_bytes(report.other),
         _percent(report.other, report.total)]
    )
    free = report.free
    rows.append([_swatch(_FREE_COLOR) + "free", "", _html_bytes(free), _percent(free, report.total)])
    table = _html_table(["model", "id", "bytes", "of total"], rows, right=(1, 2, 3), raw=(0, 2), wrap=(0,))
    return _root(title + _html_bar(report) + summary + table)


def duration(seconds: Optional[float]) -> str:
    """A load or run time as people read it ("<1 ms", "35 ms", "1.25 s"), the same everywhere."""
    return _seconds(seconds)


def refusal_html(error: BaseException, advice: Sequence[str] = ()) -> str:
    """Why a model was not loaded (the error's one line) and what the user can do about it."""
    todo = "".join(f"<li>{_e(a)}</li>" for a in advice)
    todo = f'<div style="{_SUB}">What you can do</div><ul style="margin:2px 0 4px 1.2em;padding:0;">{todo}</ul>' \
        if advice else ""
    box = ("border-left:3px solid var(--jp-error-color1, #d32f2f);padding:4px 10px;margin:4px 0 8px 0;"
           "background:var(--jp-layout-color2, rgba(211,47,47,0.06));")
    return _root(f'<div style="{box}"><div style="{_ERR}{_WRAP}font-weight:600;">Not loaded: '
                 f"{_e(error_line(error))}</div>{todo}</div>")


def _util_text(util: Any) -> str:
    """ "AI Core 12% · Vector 3%" (the AI Cores' figures); units the device cannot measure
    are left out."""
    parts = [(label, getattr(util, attr, None)) for label, attr in
             (("AI Core", "cube"), ("Vector", "vector"))]
    return " · ".join(f"{label} {value}%" for label, value in parts if value is not None)


def device_rows_html(rows: Sequence[tuple[int, Any, Any, bool]]) -> str:
    """One compact line per device, nvitop style: a stacked bar, used / total, utilisation.

    `rows` are ``(device, MemoryReport or None, utilisation or None, selected)``; a device
    the kernel has not opened has no report (opening it would take device resources just to
    draw a bar), and says how to open it.
    """
    lines = []
    for device, report, util, selected in rows:
        label = f'<span style="{_NOWRAP}font-weight:{600 if selected else 400};flex:0 0 4.5em;">' \
            f"{'▸ ' if selected else ''}NPU {_e(device)}</span>"
        if report is None:
            body = f'<span style="{_MUTED}">not opened by this kernel: pick it under Device to open it</span>'
        else:
            bar = _html_bar(report).replace("max-width:40em;", "max-width:22em;min-width:8em;flex:1 1 12em;")
            used = (f'<span style="{_NOWRAP}">{_e(human_bytes(report.used))} / {_e(human_bytes(report.total))} '
                    f"{_e(report.kind)} ({_e(_percent(report.used, report.total))})</span>")
            shown = _util_text(util) if util is not None else ""
            body = bar + used + (f'<span style="{_NOWRAP}{_MUTED}">{_e(shown)}</span>' if shown else "")
        lines.append(f'<div class="acl-device-row" data-device="{_e(device)}" style="display:flex;'
                     f'align-items:center;gap:10px;flex-wrap:wrap;margin:1px 0;">{label}{body}</div>')
    return _root("".join(lines))


# ----------------------------------------------------------------------------------------
# host memory: what the kernel may still take (the container's limit or the host's MemAvailable)
# ----------------------------------------------------------------------------------------
_HOST_USED = "var(--jp-brand-color1, #1976d2)"
_HOST_LOW = "var(--jp-warn-color1, #b45309)"


def _host_words(hm: Any) -> str:
    """How much the kernel may still take and which limit says so, in one phrase."""
    if hm.available is None:
        return "unknown: /proc/meminfo cannot be read and no container limit was found"
    free = f"{human_bytes(hm.available)} free for this kernel"
    container = (f"container limit {human_bytes(hm.limit)}, {human_bytes(hm.in_use or 0)} in use"
                 if hm.limit is not None else "")
    if hm.limited_by == "container":
        seen = (f" (the host shows {human_bytes(hm.host_available)} available)"
                if hm.host_available is not None else "")
        return f"{free}: {container}{seen}"
    of = f" of {human_bytes(hm.host_total)}" if hm.host_total else ""
    if container:
        left = max(0, hm.limit - (hm.in_use or 0))
        return f"{free}: host MemAvailable{of} ({container}, which would leave {human_bytes(left)})"
    return f"{free}: host MemAvailable{of} (no container limit)"


def _host_bar(hm: Any) -> Optional[tuple[int, int, str]]:
    """(used, whole, what the whole is) of the limit in force; None when there is no whole."""
    if hm.limited_by == "container" and hm.limit:
        return hm.limit - hm.available, hm.limit, "container limit"
    if hm.limited_by == "host" and hm.host_total:
        return max(0, hm.host_total - hm.available), hm.host_total, "host"
    return None


def _text_host_memory(hm: Any, width: int) -> str:
    lines = [f"Host memory: {_host_words(hm)}"]
    bar = _host_bar(hm)
    if bar is not None:
        used, whole, what = bar
        cells = max(20, min(50, width - 30))
        filled = min(cells, round(cells * used / whole))
        lines.append(f"  [{'#' * filled}{'.' * (cells - filled)}] {_percent(used, whole)} of the {what} used")
    lines += _fields([
        ("Container limit", _bytes_both(hm.limit) if hm.limit is not None else "none found (no memory cgroup limit)"),
        ("Container in use", _bytes_both(hm.in_use) if hm.in_use is not None else None),
        ("Host available", _bytes_both(hm.host_available) if hm.host_available is not None else "unreadable"),
        ("Host total", _bytes_both(hm.host_total) if hm.host_total else None),
    ], width=width)
    return "\n".join(lines)


def _html_host_bar(hm: Any, max_width: str = "40em") -> str:
    bar = _host_bar(hm)
    if bar is None:
        return ""
    used, whole, what = bar
    share = 100.0 * used / max(whole, 1)
    colour = _HOST_LOW if hm.available < whole / 10 else _HOST_USED
    tip = f"{human_bytes(used)} of the {what} {human_bytes(whole)} in use; {human_bytes(hm.available)} free"
    return (
        f'<div title="{_e(tip)}" style="display:flex;width:100%;max-width:{max_width};height:14px;'
        f'border-radius:3px;overflow:hidden;border:1px solid {_BORDER};margin:4px 0;" role="img" '
        f'aria-label="{_e(_percent(used, whole))} of the {_e(what)} used">'
        f'<div style="width:{share:.3f}%;min-width:{2 if used else 0}px;background:{colour};height:100%;"></div>'
        f'<div style="flex:1 1 auto;background:{_FREE_COLOR};height:100%;"></div></div>'
    )


def _html_host_memory(hm: Any) -> str:
    what = {"container": "container limit", "host": "host MemAvailable"}.get(hm.limited_by, "unknown")
    title = (f'<div style="{_TITLE}">Host memory <span style="{_MUTED}font-weight:normal;">'
             f"(set by the {_e(what)})</span></div>")
    summary = f'<div style="{_WRAP}">{_e(_host_words(hm))}</div>'
    pairs = [
        ("container limit", human_bytes(hm.limit) if hm.limit is not None else "none found"),
        ("container in use", human_bytes(hm.in_use) if hm.in_use is not None else None),
        ("host available", human_bytes(hm.host_available) if hm.host_available is not None else "unreadable"),
        ("host total", human_bytes(hm.host_total) if hm.host_total else None),
    ]
    return _root(title + _html_host_bar(hm) + summary + _html_fields(pairs))


def host_row_html(hm: Any) -> str:
    """The panel's host line, in the style of its device rows: a bar of the limit in force,
    used / whole, what is free for this kernel, and what the host shows when a container's
    limit is the tighter."""
    label = f'<span style="{_NOWRAP}flex:0 0 4.5em;">Host RAM</span>'
    bar = _host_bar(hm)
    if bar is None:
        body = f'<span style="{_MUTED}{_WRAP}">{_e(_host_words(hm))}</span>'
    else:
        used, whole, what = bar
        tone = _WARN if hm.available < whole / 10 else ""
        figures = (f'<span style="{_NOWRAP}">{_e(human_bytes(used))} / {_e(human_bytes(whole))} {_e(what)} '
                   f'({_e(_percent(used, whole))}) · <b style="{tone}">{_e(human_bytes(hm.available))} free</b></span>')
        aside = ""
        if hm.limited_by == "container" and hm.host_available is not None:
            aside = f"the host shows {human_bytes(hm.host_available)} available"
        elif hm.limit is not None:
            aside = f"container limit {human_bytes(hm.limit)}"
        body = (_html_host_bar(hm, "22em").replace("width:100%;", "min-width:8em;flex:1 1 12em;", 1) + figures
                + (f'<span style="{_NOWRAP}{_MUTED}">{_e(aside)}</span>' if aside else ""))
    return _root(f'<div class="acl-host-row" data-limited-by="{_e(hm.limited_by)}" style="display:flex;'
                 f'align-items:center;gap:10px;flex-wrap:wrap;margin:1px 0;">{label}{body}</div>')


def _html_session(info: Any) -> str:
    title = "acl-notebook session: " + ("simulated AscendCL" if info.simulated else "AscendCL")
    return _root(f'<div style="{_TITLE}">{_e(title)}</div>' + _html_fields(_session_pairs(info)))


def _html_memory_error(exc: BaseException) -> str:
    title = f'<div style="{_TITLE}{_ERR}{_WRAP}">{_e(type(exc).__name__)}: {_e(_one_line(str(exc)))}</div>'
    body = _html_fields(_memory_error_pairs(exc))
    cands = _candidates(exc)
    if cands:
        rows = [[_e(name), _html_bytes(size)] for name, size in cands]
        body += f'<div style="{_SUB}">Unloading these together would make room</div>'
        body += _html_table(["model", "charged"], rows, right=(1,), raw=(0, 1), wrap=(0,))
    return _root(title + body)


def _html_error(exc: BaseException) -> str:
    return _root(f'<div style="{_ERR}{_WRAP}">{_e(error_line(exc))}</div>')


def _html_descriptors(d: Descriptors) -> str:
    title = f'<div style="{_TITLE}{_WRAP}">{_e(d.title)}</div>'
    note = f'<div style="{_MUTED}{_WRAP}">{_e(d.note)}</div>' if d.note else ""
    note += _html_coverage(d.coverage) if d.coverage else ""
    return _root(title + note + _html_io_sections(d.inputs, d.outputs, d.dynamic, detail=True))


def _coverage_color(summary: str) -> str:
    return _OK if summary.startswith("computed") else _ERR if summary.startswith("placeholder") else _WARN


def coverage_html(summary: str) -> str:
    """The one line saying what the CPU reference can compute for a model (the panel's model tab)."""
    return _root(_html_coverage(summary))


def _html_coverage(summary: str) -> str:
    """The one line saying what the CPU reference can compute for a model."""
    return (f'<div style="{_WRAP}">CPU reference: <span style="{_coverage_color(summary)}font-weight:600;">'
            f'{_e(summary)}</span></div>')


# ----------------------------------------------------------------------------------------
# a run's outputs and a benchmark
# ----------------------------------------------------------------------------------------
def _num(value: Any) -> str:
    """A statistic: compact, exact for ints, "-" when there is none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _gear_words(gear: Any) -> str:
    return "static" if not gear else "gear " + "x".join(str(g) for g in gear)


def _outputs_title(out: Any) -> str:
    t = out.timing
    return (f"{_plural(len(out), 'output')} of {out.model or 'the model'} ({_gear_words(out.gear)}): "
            f"execute {t.execute * 1000:.3f} ms, H2D {t.h2d * 1000:.3f} ms, D2H {t.d2h * 1000:.3f} ms, "
            f"total {t.total * 1000:.3f} ms")


def _outputs_flag(out: Any) -> str:
    """How far to trust the values (the fidelity of the CPU reference that computed them)."""
    notes = len(out.notes)
    if out.fidelity == "placeholder":
        why = out.notes[0] if out.notes else "the model could not be computed"
        more = f" (+{_plural(notes - 1, 'more note')} in .notes)" if notes > 1 else ""
        said = "deterministic function" in why  # the note says it already: once is enough
        tail = "" if said else "; the values are a deterministic function of the inputs, not the model's"
        return f"simulated placeholder: {why}{more}{tail}"
    if out.fidelity == "approximate":
        return (f"approximate: computed on the CPU, but {_plural(notes, 'op')} had attributes guessed or solved "
                "from shapes (see .notes)")
    if out.fidelity == "computed":
        return "computed on the CPU from the file: every op with the attributes the file records"
    return ""


_OUTPUT_HEADERS = ["#", "name", "shape", "dtype", "min", "max", "mean", "argmax", "NaN", "Inf"]


def _output_rows(out: Any) -> list[list[str]]:
    rows = []
    for i, r in enumerate(out.summary()):
        argmax = "-" if r["argmax"] is None else "(" + ", ".join(map(str, r["argmax"])) + ")"
        rows.append([str(i), r["name"], _dims(r["shape"]), r["dtype"], _num(r["min"]), _num(r["max"]),
                     _num(r["mean"]), argmax, str(r["nan"]), str(r["inf"])])
    return rows


def _text_outputs(out: Any, width: int) -> str:
    lines = [_outputs_title(out)]
    lines += _table(_OUTPUT_HEADERS, _output_rows(out), width=width, right=(0, 4, 5, 6, 8, 9), wrap=(1,))
    flag = _outputs_flag(out)
    if flag:
        lines.append(f"  note: {flag}")
    return "\n".join(lines)


def _html_outputs(out: Any) -> str:
    rows = _output_rows(out)
    for row in rows:
        warn = row[8] != "0" or row[9] != "0"
        row[1] = f'<span style="{_CODE}{_WRAP}">{_e(row[1])}</span>'
        if warn:  # fp16 overflow shows up as Inf/NaN: make it impossible to miss
            row[8], row[9] = (f'<span style="{_ERR}font-weight:600;">{_e(v)}</span>' for v in row[8:10])
        else:
            row[8], row[9] = _e(row[8]), _e(row[9])
    table = _html_table(_OUTPUT_HEADERS, rows, right=(0, 4, 5, 6, 8, 9), raw=(1, 8, 9), wrap=(1,))
    flag = _outputs_flag(out)
    note = f'<div style="{_MUTED}font-size:0.9em;">{_e(flag)}</div>' if flag else ""
    return _root(f'<div style="{_TITLE}">{_e(_outputs_title(out))}</div>{table}{note}')


_BENCH_HEADERS = ["ms", "min", "p50", "p90", "p99", "mean", "max", "count"]
_BENCH_LABELS = {"execute": "execute (aclmdlExecute)", "h2d": "H2D copies", "d2h": "D2H copies",
                 "total": "total per run"}


def _bench_title(r: Any) -> str:
    return (f"{r.model}: {r.n} runs after {r.warmup} warmup on {r.backend} ({_gear_words(r.gear)}, batch {r.batch}); "
            f"throughput {r.throughput:,.1f} samples/s")


def _bench_rows(r: Any) -> list[list[str]]:
    rows = []
    for figure, label in _BENCH_LABELS.items():
        f = r.figures[figure]
        rows.append([label, *(f"{f[k]:.3f}" for k in ("min", "p50", "p90", "p99", "mean", "max")), str(f["count"])])
    return rows


def _bench_flag(r: Any) -> str:
    if r.simulated:
        return "simulated: times are the simulator's on this CPU, not an NPU's"
    return ""


def _text_bench(r: Any, width: int) -> str:
    lines = [_bench_title(r)]
    lines += _table(_BENCH_HEADERS, _bench_rows(r), width=width, right=tuple(range(1, 8)))
    if _bench_flag(r):
        lines.append(f"  note: {_bench_flag(r)}")
    return "\n".join(lines)


def _svg_histogram(counts: Sequence[int], edges: Sequence[float], title: str, beyond: int = 0) -> str:
    """An inline SVG bar chart of a latency histogram (no plotting library, no script)."""
    if not counts:
        return ""
    w, h, pad, axis = 360, 120, 4, 18
    top = max(counts) or 1
    bar = (w - 2 * pad) / len(counts)
    bars = []
    for i, c in enumerate(counts):
        bh = (h - axis - pad) * c / top
        x, y = pad + i * bar, h - axis - bh
        tip = f"{edges[i]:.3f}-{edges[i + 1]:.3f} ms: {c} runs"
        bars.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" height="{bh:.1f}" '
                    f'fill="{PALETTE[0]}"><title>{_e(tip)}</title></rect>')
    label = "font-size:10px;fill:currentColor;"
    ticks = (f'<text x="{pad}" y="{h - 4}" style="{label}">{edges[0]:.3f}</text>'
             f'<text x="{w - pad}" y="{h - 4}" text-anchor="end" style="{label}">{edges[-1]:.3f} ms</text>')
    more = (f'<div style="{_MUTED}font-size:0.9em;">{_plural(beyond, "slower run")} beyond '
            f'{edges[-1]:.3f} ms not drawn</div>') if beyond else ""
    return (f'<div style="{_SUB}">{_e(title)}</div>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'role="img" aria-label="{_e(title)}">{"".join(bars)}{ticks}</svg>{more}')


def _html_bench(r: Any) -> str:
    table = _html_table(_BENCH_HEADERS, _bench_rows(r), right=tuple(range(1, 8)))
    counts, edges, beyond = r.histogram("execute")
    chart = _svg_histogram(counts, edges, "aclmdlExecute latency (ms), runs per bin", beyond)
    flag = f'<div style="{_MUTED}font-size:0.9em;">{_e(_bench_flag(r))}</div>' if _bench_flag(r) else ""
    return _root(f'<div style="{_TITLE}">{_e(_bench_title(r))}</div>{table}{chart}{flag}')


def _html_many(items: Sequence[Any]) -> str:
    sep = f'<hr style="border:none;border-top:1px solid {_BORDER};margin:8px 0;">'
    return sep.join(render_html(x) for x in items)


# ----------------------------------------------------------------------------------------
# the descriptor view %acl_desc returns
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Descriptors:
    """I/O descriptors and gears of one model, with ACL enum codes and dims ranges.

    `%acl_desc` returns this rather than the whole `Model`, so the cell shows exactly
    what the library (or, for a file not loaded, our parse) says about the tensors.
    """

    title: str
    inputs: tuple[TensorDesc, ...]
    outputs: tuple[TensorDesc, ...]
    dynamic: DynamicInfo = DynamicInfo()
    note: str = ""
    coverage: str = ""  # what the CPU reference can compute ("computed", "approximate: 3 ops guessed", ...)

    @classmethod
    def of(cls, obj: Any, note: str = "", coverage: str = "") -> Descriptors:
        """From a loaded `Model` (the backend's descriptors) or a `ModelInfo` (our parse)."""
        if isinstance(obj, ModelInfo):
            title = f"{obj.name or '(unnamed)'}: descriptors parsed from the file (not loaded)"
        else:
            title = f"Model #{obj.id} {obj.name!r}: descriptors from the {obj.backend} backend"
        return cls(title, tuple(obj.inputs), tuple(obj.outputs), obj.dynamic, note, coverage)

    def _repr_html_(self) -> str:
        return render_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        repr_pretty(self, p, cycle)


class Group(tuple):
    """Several renderable objects shown one after another (e.g. `%acl_mem --all`)."""

    def _repr_html_(self) -> str:
        return render_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        repr_pretty(self, p, cycle)


# ----------------------------------------------------------------------------------------
# many devices: model groups and memory grids (one host or a cluster)
# ----------------------------------------------------------------------------------------
def _group_cell(model: Any) -> str:
    if not getattr(model, "loaded", True):
        return "unloaded"
    return f"#{model.id} {human_bytes(model.memory)}"


def _group_row(group: Any) -> tuple[list[str], list[str]]:
    headers = ["name", "in/out"] + [f"device {m.device}" for m in group.models] + ["source"]
    source = str(getattr(group.models[0], "source", "")) if group.models else ""
    row = [group.name, f"{len(group.inputs)}/{len(group.outputs)}"]
    row += [_group_cell(m) for m in group.models] + [source]
    return headers, row


def _group_title(group: Any) -> str:
    devices = ", ".join(str(d) for d in group.devices) or "none"
    copies = "1 copy" if len(group.models) == 1 else f"{len(group.models)} copies"
    return f"Model group {group.name!r}: {copies} on devices {devices}, {human_bytes(group.memory)} charged in all"


def _text_model_group(group: Any, width: int) -> str:
    if not group.models:
        return f"Model group {group.name!r}: no copy loaded"
    headers, row = _group_row(group)
    n = len(headers)
    return "\n".join([_group_title(group)] + _table(headers, [row], width=width, wrap=(0, n - 1)))


def _html_model_group(group: Any) -> str:
    title = f'<div style="{_TITLE}{_WRAP}">{_e(_group_title(group))}</div>'
    if not group.models:
        return _root(title)
    headers, row = _group_row(group)
    n = len(headers)
    row[-1] = f'<span style="{_CODE}{_WRAP}font-size:0.9em;">{_e(row[-1])}</span>'
    return _root(title + _html_table(headers, [row], right=tuple(range(2, n - 1)), raw=(n - 1,), wrap=(0, n - 1)))


# ----------------------------------------------------------------------------------------
# the panel's tab of a model group: what its copies share, once; then one row per copy
# ----------------------------------------------------------------------------------------
def model_listing(models: Sequence[Any]) -> list[tuple[str, Any]]:
    """The models as `%acl_models` lists them, for views that follow it (the panel's tabs):
    ("model", model) or ("group", (name, copies)), in load order, each group where its
    first copy is."""
    return _listing(models)


def model_list_title(models: Sequence[Any]) -> str:
    """The headline `%acl_models` shows ("1 model and 1 model group (4 copies), 720.0 MiB of
    device memory charged"), so the panel counts what the listing counts."""
    return _model_list_title(models) if models else "none loaded"


def copies_word(n: int) -> str:
    """ "1 copy", "4 copies"."""
    return "1 copy" if n == 1 else f"{n} copies"


def group_tab_title(name: str, copies: Sequence[Any]) -> str:
    """A group's tab title: its name and how many copies are loaded ("resnet50 (4 copies)")."""
    return f"{name} ({copies_word(len(copies))})"


def _per_copy(copies: Sequence[Any]) -> str:
    sizes = sorted({m.memory for m in copies})
    if len(sizes) == 1:
        return f"{human_bytes(sizes[0])} per copy"
    return f"{human_bytes(sizes[0])} to {human_bytes(sizes[-1])} per copy"  # some copies have run


def _group_pairs(copies: Sequence[Any]) -> list[tuple[str, Any]]:
    first = copies[0]
    info = getattr(first, "info", None)
    total = sum(m.memory for m in copies)
    took = [m.load_seconds for m in copies if getattr(m, "load_seconds", None) is not None]
    notes = [m.soc_note for m in copies if getattr(m, "soc_note", "")]
    return [
        ("Source", getattr(first, "source", "")),
        ("Built for SoC", _soc_text(info.soc_version) if info is not None else None),
        ("Simulated SoC", notes[0] if notes else None),
        ("Device memory", f"{human_bytes(total)} charged in all, {_per_copy(copies)}"),
        ("Loaded", f"{_clock(getattr(first, 'loaded_at', None), full=True)}, "
                   f"{_seconds(sum(took)) if took else '-'} for all copies"),
    ]


def group_head_html(name: str, copies: Sequence[Any]) -> str:
    """The top of a group's tab: its name in the colour its copies share, where the copies
    are, and what they share (source, SoC, memory in all, load time), said once."""
    first = copies[0]
    where = (f"model group · {copies_word(len(copies))} on devices {device_span([m.device for m in copies])}"
             f" · {getattr(first, 'backend', '?')} backend")
    title = (f'<div style="{_TITLE}{_WRAP}">{_swatch(model_colour(name))}{_e(name)} '
             f'<span style="{_MUTED}font-weight:normal;">{_e(where)}</span></div>')
    return _root(title + _html_fields(_group_pairs(copies)))


def io_html(model: Any) -> str:
    """A loaded model's inputs, outputs and gears (a group's, shown once for all its copies)."""
    return _root(_html_io_sections(model.inputs, model.outputs, model.dynamic))


#: the columns of a group tab's copy table (the panel adds a column of Unload buttons)
GROUP_COPY_HEADERS = ("device", "id", "memory", "state")


def _copy_state(m: Any) -> str:
    if not getattr(m, "loaded", True):
        return "unloaded"
    io = getattr(m, "io_bytes", 0)
    return f"loaded, has run (I/O buffers {human_bytes(io)})" if io else "loaded"


def group_copy_cells(m: Any) -> tuple[str, ...]:
    """One copy's cells in its group's tab, as HTML: device, id (what `%acl_unload ID`
    takes), memory charged, state."""
    state = _copy_state(m)
    style = _ERR if state == "unloaded" else _MUTED if state == "loaded" else ""
    return (f'<span style="{_NOWRAP}">NPU {_e(m.device)}</span>',
            f'<span style="{_NOWRAP}{_CODE}">{_e(m.id)}</span>',
            f'<span style="{_NOWRAP}">{_e(human_bytes(m.memory))}</span>',
            f'<span style="{style}{_WRAP}">{_e(state)}</span>')


def group_copy_header_cells() -> tuple[str, ...]:
    """The copy table's header cells, as HTML."""
    return tuple(f'<span style="font-weight:600;{_NOWRAP}">{_e(h)}</span>' for h in GROUP_COPY_HEADERS)


def grid_colors(grid: Any) -> dict[str, str]:
    """One colour per model key (group), the same on every device and every refresh order."""
    return {key: model_colour(key) for key in grid.keys}  # the colour the model has everywhere


def _grid_title(grid: Any) -> str:
    live = [c for c in grid.cells if c.state == "ok"]
    lost = len(grid.cells) - len(live)
    hosts = len(grid.hosts)
    where = f" on {_plural(hosts, 'host')}" if hosts > 1 else ""
    text = (f"{grid.title}: {_plural(len(grid.cells), 'device')}{where}, {human_bytes(grid.used)} used of "
            f"{human_bytes(grid.total)}")
    return text + (f", {lost} lost" if lost else "")


def _cell_models_text(cell: Any) -> str:
    parts = [f"{s.name} {human_bytes(s.bytes)}" + (" (lost)" if s.state != "loaded" else "") for s in cell.models]
    return ", ".join(parts) or "-"


def _text_memory_grid(grid: Any, width: int) -> str:
    if not grid.cells:
        return f"{grid.title}: no devices"
    rows = []
    for c in grid.cells:
        if c.state != "ok":
            rows.append([c.host, str(c.device), c.state, "", "", "", f"{c.reason} (models: {_cell_models_text(c)})"])
            continue
        rows.append([c.host, str(c.device), human_bytes(c.used), human_bytes(c.free), human_bytes(c.total),
                     _percent(c.used, c.total), _cell_models_text(c)])
    headers = ["host", "device", "used", "free", "total", "use", "models"]
    table = _table(headers, rows, width=width, right=(1, 2, 3, 4), wrap=(6, 0, 5))
    return "\n".join([_grid_title(grid)] + table)


def _html_cell_bar(cell: Any, colors: dict[str, str]) -> str:
    total = max(int(cell.total), 1)
    segs = [(s.bytes, colors.get(s.key, PALETTE[0]), f"{s.name}: {human_bytes(s.bytes)}")
            for s in cell.models if s.state == "loaded"]
    segs.append((cell.other, _OTHER_COLOR, f"other: {human_bytes(cell.other)}"))
    segs.append((max(cell.free, 0), _FREE_COLOR, f"free: {human_bytes(cell.free)}"))
    divs = "".join(
        f'<div title="{_e(tip)}" style="width:{100.0 * size / total:.3f}%;min-width:{2 if size else 0}px;'
        f'background:{color};height:100%;"></div>'
        for size, color, tip in segs
    )
    return (f'<div style="display:flex;width:100%;height:12px;border-radius:3px;overflow:hidden;'
            f'border:1px solid {_BORDER};margin:3px 0;" role="img" '
            f'aria-label="{_e(_percent(cell.used, cell.total))} used">{divs}</div>')


_CARD = (f"border:1px solid {_BORDER};border-radius:4px;padding:4px 8px;margin:0 6px 6px 0;"
         "width:14em;box-sizing:border-box;")


def _html_cell(cell: Any, colors: dict[str, str]) -> str:
    head = f'<div style="font-weight:600;">device {_e(cell.device)} <span style="{_MUTED}font-weight:normal;">' \
        f'{_e(cell.kind)}</span></div>'
    if cell.state != "ok":
        models = ", ".join(_e(s.name) for s in cell.models) or "none"
        return (f'<div class="acl-cell acl-lost" style="{_CARD}border-color:var(--jp-error-color1, #d32f2f);">{head}'
                f'<div style="{_ERR}{_WRAP}">{_e(cell.state)}: {_e(cell.reason)}</div>'
                f'<div style="{_MUTED}{_WRAP}font-size:0.9em;">models lost: {models}</div></div>')
    names = "".join(
        f'<div style="{_WRAP}font-size:0.9em;">{_swatch(colors.get(s.key, PALETTE[0]))}{_e(s.name)} '
        f'<span style="{_MUTED}">{_e(human_bytes(s.bytes))}</span></div>'
        for s in cell.models
    )
    usage = (f'<div style="font-size:0.9em;"><b>{_e(_percent(cell.used, cell.total))}</b> · '
             f'<span style="{_NOWRAP}">{_e(human_bytes(cell.used))} of {_e(human_bytes(cell.total))}</span></div>')
    return f'<div class="acl-cell" style="{_CARD}">{head}{_html_cell_bar(cell, colors)}{usage}{names}</div>'


def _html_memory_grid(grid: Any) -> str:
    colors = grid_colors(grid)
    title = f'<div style="{_TITLE}{_WRAP}">{_e(_grid_title(grid))}</div>'
    legend = " ".join(
        f'<span style="white-space:nowrap;margin-right:10px;">{_swatch(c)}{_e(k)}</span>' for k, c in colors.items()
    )
    legend_div = f'<div style="margin:2px 0 6px 0;">{legend}</div>' if legend else ""
    rows = []
    for host in grid.hosts:
        cards = "".join(_html_cell(c, colors) for c in grid.cells if c.host == host)
        label = f'<div style="{_SUB}{_WRAP}">{_e(host)}</div>' if len(grid.hosts) > 1 or host else ""
        rows.append(f'{label}<div style="display:flex;flex-wrap:wrap;">{cards}</div>')
    return _root(title + legend_div + "".join(rows))


# ----------------------------------------------------------------------------------------
# runs and benchmarks on many devices
# ----------------------------------------------------------------------------------------
def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _shape_text(a: Any) -> str:
    shape = getattr(a, "shape", None)
    return f"{list(shape)} {getattr(a, 'dtype', '')}".strip() if shape is not None else type(a).__name__


def _device_outputs_rows(outs: Any) -> list[list[str]]:
    rows = []
    for where, o in zip(outs.where, outs):
        timing = getattr(o, "timing", None)
        gear = getattr(o, "gear", None)
        rows.append([where, ", ".join(map(str, gear)) if gear else "-",
                     _ms(timing.execute) if timing else "-", "; ".join(_shape_text(a) for a in o),
                     "yes" if getattr(o, "simulated", False) else "no"])
    return rows


_DEVICE_OUT_HEADERS = ["where", "gear", "execute", "outputs", "simulated values"]


def _device_outputs_title(outs: Any) -> str:
    model = outs.model or (getattr(outs[0], "model", "") if len(outs) else "")
    return f"Ran {model!r} on {_plural(len(outs), 'device')} at once in {_ms(outs.seconds)}"


def _text_device_outputs(outs: Any, width: int) -> str:
    return "\n".join([_device_outputs_title(outs)] + _table(_DEVICE_OUT_HEADERS, _device_outputs_rows(outs),
                                                            width=width, right=(2,), wrap=(3,)))


def _html_device_outputs(outs: Any) -> str:
    title = f'<div style="{_TITLE}">{_e(_device_outputs_title(outs))}</div>'
    return _root(title + _html_table(_DEVICE_OUT_HEADERS, _device_outputs_rows(outs), right=(2,), wrap=(3,)))


def _split_rows(outs: Any) -> list[list[str]]:
    return [[sh.where, f"{sh.start}..{sh.stop - 1}" if sh.stop > sh.start else "-", str(sh.stop - sh.start),
             str(sh.runs), str(sh.padded), _ms(sh.seconds)] for sh in outs.shards]


_SPLIT_HEADERS = ["where", "rows", "count", "runs", "padded", "took"]


def _split_title(outs: Any) -> str:
    rows = sum(sh.stop - sh.start for sh in outs.shards)
    where = len({sh.where for sh in outs.shards})
    return f"Split run: {_plural(rows, 'row')} over {_plural(where, 'device')} in {_ms(outs.seconds)}"


def _split_outputs_line(outs: Any) -> str:
    return "outputs: " + "; ".join(f"{n} {_shape_text(a)}" for n, a in zip(outs.names, outs))


def _text_split_outputs(outs: Any, width: int) -> str:
    return "\n".join([_split_title(outs), "  " + _split_outputs_line(outs)]
                     + _table(_SPLIT_HEADERS, _split_rows(outs), width=width, right=(2, 3, 4, 5)))


def _html_split_outputs(outs: Any) -> str:
    title = f'<div style="{_TITLE}">{_e(_split_title(outs))}</div>'
    line = f'<div style="{_WRAP}">{_e(_split_outputs_line(outs))}</div>'
    return _root(title + line + _html_table(_SPLIT_HEADERS, _split_rows(outs), right=(2, 3, 4, 5)))


def _fleet_bench_rows(b: Any) -> list[list[str]]:
    rows = []
    for where, r in zip(b.where, b.results):
        ex = r.figures["execute"]
        rows.append([where, str(r.batch), str(r.n), f"{ex['mean']:.3f}", f"{ex['p50']:.3f}", f"{ex['p99']:.3f}",
                     f"{r.throughput:,.1f}"])
    rows += [[where, "", "", "", "", "", f"lost: {why}"] for where, why in b.lost]
    return rows


_FLEET_BENCH_HEADERS = ["where", "batch", "runs", "execute mean ms", "p50 ms", "p99 ms", "throughput /s"]


def _fleet_bench_title(b: Any) -> str:
    lost = f", {len(b.lost)} lost" if b.lost else ""
    return (f"Bench {b.model!r} on {_plural(len(b.results), 'device')} at once{lost}: summary throughput "
            f"{b.throughput:,.1f} /s (sum over devices), {b.wall_throughput:,.1f} /s over the wall time "
            f"({b.wall_seconds:.2f} s)")


def _text_fleet_bench(b: Any, width: int) -> str:
    return "\n".join([_fleet_bench_title(b)] + _table(_FLEET_BENCH_HEADERS, _fleet_bench_rows(b), width=width,
                                                      right=(1, 2, 3, 4, 5), wrap=(6, 0)))


def _html_fleet_bench(b: Any) -> str:
    title = f'<div style="{_TITLE}{_WRAP}">{_e(_fleet_bench_title(b))}</div>'
    return _root(title + _html_table(_FLEET_BENCH_HEADERS, _fleet_bench_rows(b), right=(1, 2, 3, 4, 5),
                                     wrap=(6, 0)))


# ----------------------------------------------------------------------------------------
# the cluster: its models and its workers
# ----------------------------------------------------------------------------------------
def _cluster_model_title(model: Any) -> str:
    n, lost = len(model.copies), len(model.lost)
    loaded = len(model.loaded)
    text = f"Cluster model {model.name!r}: loaded on {loaded} of {_plural(n, 'device')}"
    if lost:
        text += f" ({lost} lost)"
    return text + f", {human_bytes(model.memory)} in all"


def _cluster_copy_rows(model: Any) -> list[list[str]]:
    return [[c.host, str(c.device), str(c.id), human_bytes(c.memory), _seconds(c.load_seconds), c.state]
            for c in model.copies]


_COPY_HEADERS = ["host", "device", "id", "memory", "took", "state"]


def _text_cluster_model(model: Any, width: int) -> str:
    return "\n".join([_cluster_model_title(model)]
                     + _table(_COPY_HEADERS, _cluster_copy_rows(model), width=width, right=(1, 2, 3), wrap=(0,)))


def _html_cluster_model(model: Any) -> str:
    rows = _cluster_copy_rows(model)
    for row in rows:
        if row[5] != "loaded":
            row[5] = f'<span style="{_ERR}">{_e(row[5])}</span>' if row[5] == "lost" else _e(row[5])
        else:
            row[5] = _e(row[5])
    title = f'<div style="{_TITLE}{_WRAP}">{_e(_cluster_model_title(model))}</div>'
    return _root(title + _html_table(_COPY_HEADERS, rows, right=(1, 2, 3), raw=(5,), wrap=(0,)))


def _cluster_models_rows(models: Sequence[Any]) -> list[list[str]]:
    rows = []
    for m in models:
        hosts = sorted({c.host for c in m.copies})
        each = human_bytes(m.copies[0].memory) if m.copies else "-"
        rows.append([m.name, f"{len(m.loaded)}/{len(m.copies)}", str(len(m.lost)), each, human_bytes(m.memory),
                     ", ".join(hosts)])
    return rows


_CLUSTER_MODELS_HEADERS = ["name", "devices", "lost", "each", "in all", "hosts"]


def _text_cluster_models(models: Sequence[Any], width: int) -> str:
    if not models:
        return "No models on the cluster. Load one with acl.cluster.load(PATH) or %acl_load --cluster PATH."
    return "\n".join([f"{_plural(len(models), 'model')} on the cluster"]
                     + _table(_CLUSTER_MODELS_HEADERS, _cluster_models_rows(models), width=width, right=(1, 2, 3, 4),
                              wrap=(0, 5)))


def _html_cluster_models(models: Sequence[Any]) -> str:
    if not models:
        return _root(f'<div style="{_MUTED}">{_e(_text_cluster_models(models, 100))}</div>')
    title = f'<div style="{_TITLE}">{_e(_plural(len(models), "model"))} on the cluster</div>'
    return _root(title + _html_table(_CLUSTER_MODELS_HEADERS, _cluster_models_rows(models), right=(1, 2, 3, 4),
                                     wrap=(0, 5)))


def _status_rows(status: Sequence[Any]) -> list[list[str]]:
    return [[w.host, str(w.device), w.state, str(w.pid), f"{w.backend} {w.soc}".strip(), ", ".join(w.models) or "-",
             w.reason] for w in status]


_STATUS_HEADERS = ["host", "device", "state", "pid", "backend", "models", "reason"]


def _status_title(status: Sequence[Any]) -> str:
    lost = sum(1 for w in status if w.state != "ok")
    return f"Cluster: {_plural(len(status), 'NPU worker')}" + (f", {lost} lost" if lost else ", all up")


def _text_cluster_status(status: Sequence[Any], width: int) -> str:
    return "\n".join([_status_title(status)]
                     + _table(_STATUS_HEADERS, _status_rows(status), width=width, right=(1, 3), wrap=(6, 5, 0)))


def _html_cluster_status(status: Sequence[Any]) -> str:
    rows = _status_rows(status)
    for row in rows:
        row[2] = f'<span style="{_ERR}font-weight:600;">{_e(row[2])}</span>' if row[2] != "ok" else _e(row[2])
    title = f'<div style="{_TITLE}">{_e(_status_title(status))}</div>'
    return _root(title + _html_table(_STATUS_HEADERS, rows, right=(1, 3), raw=(2,), wrap=(6, 5, 0)))


# ----------------------------------------------------------------------------------------
# device vs CPU reference
# ----------------------------------------------------------------------------------------
_COMPARE_HEADERS = ["output", "shape", "max abs", "max rel", "mean abs", "cosine", "argmax", "NaN/Inf device",
                    "NaN/Inf reference"]


def _compare_title(c: Any) -> str:
    return f"{c.model}: {c.backend} run vs CPU reference ({c.fidelity})"


def _compare_rows(c: Any) -> list[list[str]]:
    rows = []
    for r in c.outputs:
        agree = "-" if r.argmax_agreement is None else f"{r.argmax_agreement * 100:.1f}%"
        rows.append([r.name, _dims(r.shape), _num(r.max_abs), _num(r.max_rel), _num(r.mean_abs), _num(r.cosine),
                     agree, f"{r.nan_device}/{r.inf_device}", f"{r.nan_reference}/{r.inf_reference}"])
    return rows


def _compare_note(c: Any) -> str:
    if c.backend == "sim":
        return "on the simulator the device run is the CPU reference itself: the errors are zero by construction"
    if c.fidelity != "computed":
        return f"the reference is {c.fidelity} ({_plural(len(c.notes), 'note')}): differences may be its own"
    return ""


def _text_comparison(c: Any, width: int) -> str:
    lines = [_compare_title(c)]
    lines += _table(_COMPARE_HEADERS, _compare_rows(c), width=width, right=(2, 3, 4, 5, 6), wrap=(0,))
    note = _compare_note(c)
    if note:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _html_comparison(c: Any) -> str:
    rows = _compare_rows(c)
    for row, r in zip(rows, c.outputs):
        row[0] = f'<span style="{_CODE}{_WRAP}">{_e(row[0])}</span>'
        for k, bad in ((7, r.nan_device + r.inf_device), (8, r.nan_reference + r.inf_reference)):
            row[k] = f'<span style="{_ERR}font-weight:600;">{_e(row[k])}</span>' if bad else _e(row[k])
    table = _html_table(_COMPARE_HEADERS, rows, right=(2, 3, 4, 5, 6), raw=(0, 7, 8), wrap=(0,))
    note = _compare_note(c)
    extra = f'<div style="{_MUTED}font-size:0.9em;">{_e(note)}</div>' if note else ""
    fidelity = _html_coverage(c.fidelity)
    return _root(f'<div style="{_TITLE}">{_e(_compare_title(c))}</div>{fidelity}{table}{extra}')


# ----------------------------------------------------------------------------------------
# dispatch
# ----------------------------------------------------------------------------------------
# Session types, by class name (see the module docstring for why not by import).
_TEXT_BY_NAME: dict[str, Callable[[Any, int], str]] = {
    "ModelList": _text_model_list,
    "Model": _text_model,
    "MemoryReport": _text_memory,
    "SessionInfo": _text_session,
    "DeviceMemoryError": _text_memory_error,
    "HostMemoryError": _text_memory_error,
    "HostMemory": _text_host_memory,
    "ModelGroup": _text_model_group,
    "MemoryGrid": _text_memory_grid,
    "ClusterModel": _text_cluster_model,
    "ClusterModels": _text_cluster_models,
    "ClusterStatus": _text_cluster_status,
    "Outputs": _text_outputs,
    "BenchResult": _text_bench,
    "DeviceOutputs": _text_device_outputs,
    "SplitOutputs": _text_split_outputs,
    "FleetBench": _text_fleet_bench,
    "Comparison": _text_comparison,
}
_HTML_BY_NAME: dict[str, Callable[[Any], str]] = {
    "ModelList": _html_model_list,
    "Model": _html_model,
    "MemoryReport": _html_memory,
    "SessionInfo": _html_session,
    "DeviceMemoryError": _html_memory_error,
    "HostMemoryError": _html_memory_error,
    "HostMemory": _html_host_memory,
    "ModelGroup": _html_model_group,
    "MemoryGrid": _html_memory_grid,
    "ClusterModel": _html_cluster_model,
    "ClusterModels": _html_cluster_models,
    "ClusterStatus": _html_cluster_status,
    "Outputs": _html_outputs,
    "BenchResult": _html_bench,
    "DeviceOutputs": _html_device_outputs,
    "SplitOutputs": _html_split_outputs,
    "FleetBench": _html_fleet_bench,
    "Comparison": _html_comparison,
}


def _by_name(obj: Any, table: dict[str, Callable]) -> Optional[Callable]:
    for klass in type(obj).__mro__:
        fn = table.get(klass.__name__)
        if fn is not None:
            return fn
    return None


def _kind_of_sequence(obj: Any) -> Optional[str]:
    """"io" for TensorDescs, "models" for Models, "many" for other renderables."""
    if not isinstance(obj, (list, tuple)) or isinstance(obj, str):
        return None
    if obj and all(isinstance(x, TensorDesc) for x in obj):
        return "io"
    if obj and all(_by_name(x, {"Model": len}) for x in obj):
        return "models"
    if obj and all(_renderable(x) for x in obj):
        return "many"
    return None


def _renderable(x: Any) -> bool:
    return isinstance(x, (ModelInfo, Descriptors, BaseException)) or _by_name(x, _TEXT_BY_NAME) is not None


def render_text(obj: Any, width: Optional[int] = None) -> str:
    """Plain text for any object the package shows; unknown objects fall back to repr().

    `width` defaults to the terminal width (100 columns inside a kernel).
    """
    w = _width(width)
    if isinstance(obj, ModelInfo):
        return _text_model_info(obj, w)
    if isinstance(obj, Descriptors):
        return _text_descriptors(obj, w)
    if isinstance(obj, DynamicInfo):
        return "\n".join(_gear_lines(obj, ()))
    if isinstance(obj, MemoryNeeds):
        return _needs_text(obj)
    fn = _by_name(obj, _TEXT_BY_NAME)
    if fn is not None:
        return fn(obj, w)
    if isinstance(obj, BaseException):
        return error_text(obj)
    kind = _kind_of_sequence(obj)
    if kind == "io":
        lines = _io_text("Tensors", obj, w)
        if _has_dynamic(obj):
            lines.append(f"  note: {_DYNAMIC_NOTE}")
        return "\n".join(lines)
    if kind == "models":
        return _text_model_list(obj, w)
    if kind == "many":
        return "\n\n".join(render_text(x, w) for x in obj)
    return repr(obj)


def render_html(obj: Any) -> str:
    """Self-contained HTML (inline styles, no scripts) for any object the package shows."""
    if isinstance(obj, ModelInfo):
        return _html_model_info(obj)
    if isinstance(obj, Descriptors):
        return _html_descriptors(obj)
    if isinstance(obj, DynamicInfo):
        return _root(_html_gears(obj, ()))
    if isinstance(obj, MemoryNeeds):
        return _root(_e(_needs_text(obj)))
    fn = _by_name(obj, _HTML_BY_NAME)
    if fn is not None:
        return fn(obj)
    if isinstance(obj, BaseException):
        return _html_error(obj)
    kind = _kind_of_sequence(obj)
    if kind == "io":
        note = f'<div style="{_MUTED}font-size:0.9em;">{_e(_DYNAMIC_NOTE)}</div>' if _has_dynamic(obj) else ""
        return _root(_html_io("Tensors", obj) + note)
    if kind == "models":
        return _html_model_list(obj)
    if kind == "many":
        return _html_many(obj)
    return f'<pre style="{_CODE}">{_e(repr(obj))}</pre>'


def repr_pretty(obj: Any, p: Any, cycle: bool) -> None:
    """Body of an object's ``_repr_pretty_(self, p, cycle)``: IPython's text display."""
    if cycle:
        p.text(f"<{type(obj).__name__} ...>")
    else:
        p.text(render_text(obj))


# ----------------------------------------------------------------------------------------
# error messages
# ----------------------------------------------------------------------------------------
# A leading lower-case word followed by a space, comma or semicolon is prose; "n" is a
# parameter's name, and a word before a colon is a label (a file or model name: "clf: ...").
_PLAIN_WORD = re.compile(r"^(?:a|[a-z]{2,})(?=[\s,;])")
_OUR_KINDS = ("OMFormatError", "AclError", "LibraryNotFoundError", "FunctionNotFoundError", "DeviceMemoryError",
              "HostMemoryError", "SessionBusyError", "ModelNotFoundError", "UploadError", "ReferenceLimitError",
              "OverrideError", "UnreadableGraph", "InputError", "InputTypeError", "InputNameError", "ClusterError",
              "GroupRunError", "GroupLoadError")


def sentence(text: str) -> str:
    """Capitalise a leading plain word and end with a stop. Never a name: our messages quote
    model and file names (`model 'clf' has no input named 'y'`), and a leading word before a
    colon is a label, so a name keeps its case (tests/test_hostile_args.py)."""
    text = text.strip()
    if _PLAIN_WORD.match(text):
        text = text[0].upper() + text[1:]
    return text if not text or text[-1] in ".!?:" else text + "."


def _speaks_for_itself(exc: BaseException) -> bool:
    """Our errors and the builtins we raise with a message need no type name in front."""
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & set(_OUR_KINDS)) or type(exc) in (KeyError, ValueError, TypeError, AttributeError) or (
        isinstance(exc, OSError))


def error_text(exc: BaseException) -> str:
    """What a magic shows for a failure: sentences that say what went wrong and what to do.

    No Python type name in front (our messages say what happened); an ACL error keeps its
    name and code. A message of several lines (the library search: what was tried, what
    to do) becomes a short first line and the rest indented below it.
    """
    from .runtime.errors import AclError  # cheap: a table and some classes

    if isinstance(exc, AclError):
        head = f"{exc.name} ({exc.code})" + (f" from {exc.call}" if exc.call else "")
        text = f"{head}: {exc.meaning}" + (f" ({exc.detail})" if exc.detail else "")
        return _one_line(sentence(text) + " " + sentence(exc.hint or "see the CANN error-code reference"))
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)) and exc.filename:
        what = {
            FileNotFoundError: (exc.strerror or "no such file").lower(),  # ours may say "did you mean"
            IsADirectoryError: "is a directory, not an .om file",
            PermissionError: "permission denied",
        }
        reason = next(v for k, v in what.items() if isinstance(exc, k))
        where = "check the path"
        if not os.path.isabs(str(exc.filename)):
            where += f" (relative paths start at {os.getcwd()})"
        return sentence(f"{shown_path(str(exc.filename))}: {reason}; {where}")
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        message = exc.args[0]  # str(KeyError) would add quotes
    else:
        message = str(exc)
    lines = [line.rstrip() for line in message.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    first = lines[0] if _speaks_for_itself(exc) else f"{type(exc).__name__}: {lines[0]}"
    if len(lines) == 1:
        return sentence(first)
    # Several parts (the library search and its advice): keep them, indented under the first.
    indent = min(len(line) - len(line.lstrip()) for line in lines[1:])
    return "\n".join([sentence(first)] + ["    " + line[indent:] for line in lines[1:]])


def error_line(exc: BaseException) -> str:
    """`error_text` on one line, for places with room for one (the panel's status line)."""
    return _one_line(error_text(exc))
