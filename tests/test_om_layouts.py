"""om.layouts: the packed formats follow om-execution.md §4 element by element, and round-trip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from graph_builder import fp16
from shared_models import model_path

from acl_notebook.om import layouts


@pytest.mark.parametrize("n, c, h, w, c0", [(2, 19, 5, 4, 16), (1, 3, 2, 2, 16), (1, 40, 3, 1, 32), (3, 16, 1, 1, 16)])
def test_nc1hwc0_element_rule(n, c, h, w, c0):
    x = fp16((n, c, h, w))
    p = layouts.to_physical(x, "NC1HWC0", "NCHW", c0)
    assert p.shape == (n, -(-c // c0), h, w, c0)
    for i, j, k, m in itertools.product(range(n), range(c), range(h), range(w)):
        assert p[i, j // c0, k, m, j % c0] == x[i, j, k, m]
    assert np.count_nonzero(p) == np.count_nonzero(x)  # padding is zero
    assert np.array_equal(layouts.to_logical(p, "NC1HWC0", x.shape, "NCHW", c0), x)
    nhwc = x.transpose(0, 2, 3, 1)
    assert np.array_equal(layouts.to_physical(nhwc, "NC1HWC0", "NHWC", c0), p)
    assert np.array_equal(layouts.to_logical(p, "NC1HWC0", nhwc.shape, "NHWC", c0), nhwc)


@pytest.mark.parametrize("n, c, h, w", [(20, 19, 3, 2), (16, 16, 1, 1), (4, 3, 3, 3), (33, 1, 2, 2)])
def test_fractal_z_element_rule(n, c, h, w):
    c0 = 16
    x = fp16((n, c, h, w), seed=1)
    p = layouts.to_physical(x, "FRACTAL_Z", "NCHW", c0)
    assert p.shape == (-(-c // c0) * h * w, -(-n // 16), 16, c0)
    for i, j, k, m in itertools.product(range(n), range(c), range(h), range(w)):
        assert p[(j // c0) * h * w + k * w + m, i // 16, i % 16, j % c0] == x[i, j, k, m]
    assert np.array_equal(layouts.to_logical(p, "FRACTAL_Z", x.shape, "NCHW", c0), x)
    hwcn = x.transpose(2, 3, 1, 0)  # TensorFlow's filter layout
    assert np.array_equal(layouts.to_physical(hwcn, "FRACTAL_Z", "HWCN", c0), p)
    assert np.array_equal(layouts.to_logical(p, "FRACTAL_Z", hwcn.shape, "HWCN", c0), hwcn)


@pytest.mark.parametrize("shape, c0", [((35, 20), 16), ((3, 17, 40), 16), ((6,), 16), ((5, 70), 32)])
def test_fractal_nz_element_rule(shape, c0):
    x = fp16(shape, seed=2)
    p = layouts.to_physical(x, "FRACTAL_NZ", "ND", c0)
    m = x.reshape((1,) + shape) if len(shape) == 1 else x
    *batch, rows, cols = m.shape
    assert p.shape == (*batch, -(-cols // c0), -(-rows // 16), 16, c0)
    for idx in itertools.product(*(range(d) for d in m.shape)):
        *b, i, j = idx
        assert p[(*b, j // c0, i // 16, i % 16, j % c0)] == m[idx]
    assert np.array_equal(layouts.to_logical(p, "FRACTAL_NZ", shape, "ND", c0), x)


def test_c0_comes_from_format_for_int_or_the_dtype():
    assert layouts.c0_for(2, 0x05000004) == 16  # FRACTAL_Z with C0 = 2^(5-1)
    assert layouts.c0_for(1, 0x06000003) == 32
    assert layouts.c0_for(2, 0x04000003) == 8
    assert layouts.c0_for(2, None) == 16 and layouts.c0_for(1, None) == 32 and layouts.c0_for(2, 0) == 16
    assert layouts.format_for_int("FRACTAL_Z", 16) == 0x05000004
    assert layouts.format_for_int("NC1HWC0", 16) == 83886083  # as the anenet sample stores it
    assert layouts.format_for_int("NCHW", 16) == 0


def test_a_bias_vector_packs_like_the_sample():
    v = fp16((13,))
    p = layouts.to_physical(v, "NC1HWC0", "NCHW", 16)
    assert p.shape == (1, 1, 1, 1, 16) and np.array_equal(p.reshape(-1)[:13], v)
    assert np.array_equal(layouts.to_logical(p, "NC1HWC0", (13,), "NCHW", 16), v)


def _real_const(name: str, layout: str):
    """(physical array, logical shape, origin format, c0) of every Const in a real model stored in `layout`."""
    from acl_notebook.cpu_reference.graph import load_graph

    data = model_path(name).read_bytes()
    graph = load_graph(data)
    found = []
    for node in graph.nodes:
        d = node.const
        if node.type == "Const" and d is not None and d.layout == layout and d.origin_shape:
            raw = np.frombuffer(graph.weights, d.dtype, d.count, d.data_offset).reshape(d.shape)
            found.append((raw, d.logical_shape, d.logical_format, d.c0))
    return found


@pytest.mark.parametrize("name, layout", [("a3c_pong_model_v2", "FRACTAL_Z"), ("a3c_pong_model_v2", "FRACTAL_NZ"),
                                          ("my_122_anenet", "FRACTAL_Z"), ("my_122_anenet", "NC1HWC0")])
def test_real_weights_decode_with_zero_padding_exactly_where_the_rules_put_it(name, layout):
    consts = _real_const(name, layout)
    assert consts
    for raw, shape, fmt, c0 in consts:
        logical = layouts.to_logical(raw, layout, shape, fmt, c0)
        assert logical.shape == tuple(shape)
        # re-encoding reproduces the file's bytes, so every non-zero byte is a logical element
        assert np.array_equal(layouts.to_physical(logical, layout, fmt, c0), raw)


@pytest.mark.parametrize("layout, shape, origin", [
    ("FRACTAL_NZ", (1, 4096), "ND"),  # one logical row: a contiguous cut of 16 stored rows
    ("NC1HWC0", (1, 3, 32, 32), "NCHW"),  # batch 1, C 3 of 16
    ("FRACTAL_Z", (8, 16, 3, 3), "NCHW"),  # whole C0 groups, N 8 of 16
])
def test_a_decoded_tensor_does_not_keep_its_padded_copy_alive(layout, shape, origin):
    """The logical array owns its bytes: a view of the decoded padded copy would hold up to 16x
    its size for as long as the value is used (the CPU reference's plan counts the logical bytes)."""
    x = np.arange(int(np.prod(shape)), dtype=np.float16).reshape(shape)
    stored = layouts.to_physical(x, layout, origin, 16)
    out = layouts.to_logical(stored, layout, shape, origin, 16)
    assert np.array_equal(out, x)
    base = out if out.base is None else out.base
    assert base.nbytes == x.nbytes and not np.shares_memory(out, stored)
