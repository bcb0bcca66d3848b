"""Hostile model files, each made by the writer (never a copy of a shared model).

Every builder returns bytes (or writes a path) that reproduces one row of issue 13: a
negative or absurd memory size, a duplicated MODEL_INOUT_INFO block, a compressed attr
name with a 0x00 digit, a MODEL_DEF partition sized to the whole (sparse) file.
"""

from __future__ import annotations

import struct
from pathlib import Path

from acl_notebook.om import ModelSpec, TensorSpec, parse, write_om
from acl_notebook.om.header import VERSION_2, pack_header
from acl_notebook.om.inout import encode
from acl_notebook.om.partitions import pack_table


def spec(**changes) -> ModelSpec:
    base = dict(name="hostile", inputs=[TensorSpec("x", (1, 3, 8, 8), "float16")],
                outputs=[TensorSpec("y", (1, 10), "float32", "ND")], weight_size=4096)
    base.update(changes)
    return ModelSpec(**base)


def with_model_attrs(**attrs) -> bytes:
    """A small model whose ModelDef carries these model attrs (e.g. memory_size=-2**40)."""
    return write_om(spec(model_attrs=attrs))


def duplicate_inout_block(which: str) -> bytes:
    """MODEL_INOUT_INFO with a second input (or output) block after the usual two."""
    info = parse(write_om(spec()))
    blocks = encode(info.inputs, info.outputs)
    (first_len,) = struct.unpack_from("<I", blocks, 4)
    input_block = blocks[: 8 + first_len]
    output_block = blocks[8 + first_len :]
    extra = input_block if which == "input" else output_block
    return write_om(spec(inout_payload=blocks + extra))


def with_modeldef(data: bytes, edit) -> bytes:
    """`data` (one root model) with its ModelDef decoded, changed by `edit(message)` and
    written back, the partition table and header sized to it: damage the writer refuses to make."""
    from acl_notebook.om import model_def

    info = parse(data)
    message = model_def(data)
    edit(message)
    raw = message.SerializeToString()
    bodies = [raw if p.type == 0 else data[p.offset:p.offset + p.size] for p in info.partitions]
    wide = info.header.model_length != 0
    payload = pack_table([(p.type, len(b)) for p, b in zip(info.partitions, bodies)], wide) + b"".join(bodies)
    head = pack_header(version=info.header.version, name=info.header.name, payload_size=len(payload),
                       wide_table=wide, platform_version=info.header.platform_version,
                       platform_type=info.header.platform_type, om_ir_version=info.header.om_ir_version)
    return head + payload


def zero_digit_attr_name() -> bytes:
    """A compressed model (I/O read from the ops) whose first compressed attr key has a 0x00 digit."""
    data = bytearray(write_om(spec(compress_attrs=True, inout_info=False)))
    at = data.index(b"\x0a\x02\x00")  # AttrEntry.key, 2 bytes: NUL + one digit
    data[at + 3] = 0
    return bytes(data)


def modeldef_spanning_file(path: Path, size: int, framed: bool = False) -> Path:
    """A sparse file of `size` bytes whose single MODEL_DEF partition spans everything after
    the table (zeros on disk cost nothing; a reader that copies it would pay `size`).

    It starts like a ModelDef (a 4-byte name) and is zeros after that; `framed` makes the
    name field span the whole partition instead, so it is a well-formed (huge) message.
    """
    payload_size = size - 256
    mdef_size = payload_size - len(pack_table([(0, 0)], wide=True))
    table = pack_table([(0, mdef_size)], wide=True)
    header = pack_header(version=VERSION_2, name="huge", payload_size=payload_size, wide_table=True)
    if framed:
        length, key = mdef_size - 6, b"\x0a"  # key + a 5-byte varint length + the name
        varint = bytes([(length >> (7 * i)) & 0x7F | (0x80 if i < 4 else 0) for i in range(5)])
        start = key + varint
    else:
        start = b"\x0a\x04huge"
    with open(path, "wb") as f:
        f.write(header + table + start)
        f.truncate(size)
    return path
