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


# -- graphs whose run the file sizes past any host (issue 13, the compute side) --------------
# Each builds a small file (a few KB) whose CPU-reference run, believed, would allocate or
# compute what its descriptors and attrs declare: terabytes, or hours.

GRAPH_CASES = {}


def _graph_case(fn):
    GRAPH_CASES[fn.__name__] = fn
    return fn


def _nd(shape, dtype="float32"):
    from acl_notebook.om.opgraph import Tensor

    return Tensor(shape, dtype, "ND", "ND")


def _nchw(shape, dtype="float32"):
    from acl_notebook.om.opgraph import Tensor

    return Tensor(shape, dtype, "NCHW", "NCHW")


def _small(kind: str, shape, **attrs) -> bytes:
    """x [1,8] -> one `kind` op declaring `shape` -> a ReduceSum to a small output."""
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("big", kind, ["x"], _nd(shape), **attrs)
    g.op("sum", "ReduceSumD", ["big"], _nd((1,)), axes=list(range(len(shape))), keep_dims=False)
    return g.build("sum")


@_graph_case
def tile_16g() -> bytes:
    """A Tile (no CPU kernel: a placeholder) declaring a 16 GiB float32 output."""
    return _small("Tile", (2**16, 2**16), multiples=[2**16, 2**13])


@_graph_case
def fill_4t() -> bytes:
    return _small("Fill", (2**20, 2**20))


@_graph_case
def broadcast_to_int64_overflow() -> bytes:
    """Dims whose product is past int64: numpy's own "array is too big" if believed."""
    return _small("BroadcastTo", (2**40, 2**40))


@_graph_case
def relu_64g() -> bytes:
    """An op the reference computes, declaring a 64 GiB output (its plan: the output and the
    kernel's float32 result, which are one array here, past any host this runs on)."""
    return _small("Relu", (2**17, 2**17))


@_graph_case
def pad_attr_3g() -> bytes:
    """PadD whose paddings attr asks for 3 GiB while the file declares [1, 8]."""
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("pad", "PadD", ["x"], _nd((1, 8)), paddings=[[0, 0], [0, 3 * 2**28]])
    return g.build("pad")


@_graph_case
def broadcast_outer() -> bytes:
    """Add of [65536,1] and [1,65536] declared [1,1]: numpy's broadcast is 16 GiB."""
    from graph_builder import Graph

    g = Graph()
    g.input("a", (2**16, 1), "float32", "ND")
    g.input("b", (1, 2**16), "float32", "ND")
    g.op("add", "Add", ["a", "b"], _nd((1, 1)))
    return g.build("add")


@_graph_case
def resize_64g() -> bytes:
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 1, 4, 4), "float32", "NCHW")
    g.op("resize", "ResizeBilinearV2D", ["x"], _nchw((1, 1, 2**17, 2**17)), size=[2**17, 2**17])
    g.op("sum", "ReduceSumD", ["resize"], _nd((1,)), axes=[0, 1, 2, 3])
    return g.build("sum")


@_graph_case
def conv_pads_huge() -> bytes:
    """A Conv2D whose pads (consistent with its declared 2^16 x 2^16 output) need 336 GiB."""
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 1, 4, 4), "float32", "NCHW")
    g.op("conv", "Conv2D", ["x", "x"], _nchw((1, 1, 2**16, 2**16)), strides=[1, 1, 1, 1],
         pads=[2**15, 2**15 - 1, 2**15, 2**15 - 1], dilations=[1, 1, 1, 1], groups=1, data_format="NCHW")
    g.op("sum", "ReduceSumD", ["conv"], _nd((1,)), axes=[0, 1, 2, 3])
    return g.build("sum")


@_graph_case
def pool_pads_huge() -> bytes:
    """MaxPoolV3 with pads of 2^33 and strides that still give the declared 2x2 output."""
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 1, 4, 4), "float32", "NCHW")
    g.op("pool", "MaxPoolV3", ["x"], _nchw((1, 1, 2, 2)), ksize=[1, 1, 1, 1], strides=[1, 1, 2**34, 2**34],
         pads=[2**33, 2**33, 2**33, 2**33], padding_mode="CALCULATED", data_format="NCHW")
    return g.build("pool")


@_graph_case
def conv_hours() -> bytes:
    """A 64x64 kernel over 64 channels of 512x512: 4.4e12 multiply-adds from 64 MiB of inputs."""
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 64, 512, 512), "float16", "NCHW")
    g.input("w", (64, 64, 64, 64), "float16", "NCHW")
    g.op("conv", "Conv2D", ["x", "w"], _nchw((1, 64, 512, 512), "float16"), strides=[1, 1, 1, 1],
         pads=[32, 31, 32, 31], dilations=[1, 1, 1, 1], groups=1, data_format="NCHW")
    g.op("sum", "ReduceSumD", ["conv"], _nd((1,), "float16"), axes=[0, 1, 2, 3])
    return g.build("sum")


@_graph_case
def concat_dim_inf() -> bytes:
    """ConcatD whose concat_dim is a float infinity (int() of it is OverflowError)."""
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("cat", "ConcatD", ["x", "x"], _nd((2, 8)), concat_dim=float("inf"))
    return g.build("cat")


@_graph_case
def reduce_axes_nan() -> bytes:
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("sum", "ReduceSumD", ["x"], _nd((1,)), axes=[float("nan")])
    return g.build("sum")


@_graph_case
def negative_dim() -> bytes:
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.op("neg", "Relu", ["x"], _nd((1, -5)))
    g.op("y", "Relu", ["neg"], _nd((1, 8)))
    return g.build("y")


def const_declaring(dims) -> bytes:
    """x + w, where the Const w stores 32 bytes but its descriptors declare `dims` float32."""
    import numpy as np
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.const("w", np.ones((1, 8), np.float32))
    g.op("add", "Add", ["x", "w"], _nd((1, 8)))

    def edit(message):
        for op in message.graph[0].op:
            if op.name == b"w":
                descs = [op.output_desc[0]] + [e.value.t.desc for e in op.attr if e.value.HasField("t")]
                for d in descs:
                    del d.shape.dim[:]
                    d.shape.dim.extend(dims)

    return with_modeldef(g.build("add"), edit)


@_graph_case
def const_shape_lies() -> bytes:
    return const_declaring([2**20, 2**20])


@_graph_case
def batch_matmul_broadcast() -> bytes:
    """[65536,1,1,1] @ [1,65536,1,1] declared [1,1,1,1]: numpy's batch broadcast is 2**32 products."""
    from graph_builder import Graph

    g = Graph()
    g.input("a", (2**16, 1, 1, 1), "float32", "ND")
    g.input("b", (1, 2**16, 1, 1), "float32", "ND")
    g.op("mm", "BatchMatMulV2", ["a", "b"], _nd((1, 1, 1, 1)), adj_x1=False, adj_x2=False)
    return g.build("mm")


@_graph_case
def bias_wider_than_channels() -> bytes:
    """BiasAdd of a 65536-value bias to [1,1,256,256]: numpy broadcasts it to 16 GiB."""
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 1, 256, 256), "float32", "NCHW")
    g.input("b", (2**16,), "float32", "ND")
    g.op("bias", "BiasAdd", ["x", "b"], _nchw((1, 1, 256, 256)), data_format="NCHW")
    return g.build("bias")


@_graph_case
def const_offset_past_weights() -> bytes:
    """A Const whose data_offset points 1 TiB past a 1 KiB WEIGHTS_DATA."""
    import numpy as np
    from graph_builder import Graph

    g = Graph()
    g.input("x", (1, 8), "float32", "ND")
    g.const("w", np.ones((1, 8), np.float32))
    g.op("add", "Add", ["x", "w"], _nd((1, 8)))

    def edit(message):
        for op in message.graph[0].op:
            if op.name == b"w":
                for d in [op.output_desc[0]] + [e.value.t.desc for e in op.attr if e.value.HasField("t")]:
                    d.data_offset = 2**40

    return with_modeldef(g.build("add"), edit)
