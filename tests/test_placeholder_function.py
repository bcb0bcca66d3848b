"""The placeholder function (`cpu_reference.placeholder`): the values its docstring defines, for
inputs shorter and longer than the output, in memory of about twice the output.

The simulator writes it for every run whose outputs it cannot compute, and the CPU reference
for a run that stops, so what it holds is on a run's path: tiny inputs (a scalar, a flag) and
a large output must not hold many times the output (np.resize held 41 bytes per output byte
for a one-byte input).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from acl_notebook.cpu_reference.placeholder import placeholder_output


def by_the_formula(inputs: list[bytes], index: int, size: int) -> bytes:
    s = sum(sum(b) for b in inputs) % 256
    c = b"".join(inputs)
    return bytes(((c[k % len(c)] if c else 0) ^ ((s + 31 * index + 7 * k) % 256)) for k in range(size))


@pytest.mark.parametrize("inputs, index, size", [
    ([b"\x07"], 0, 1000), ([b"ab", b"cde"], 2, 777), ([bytes(range(256)) * 3], 1, 500), ([], 0, 300),
    ([b"xyz"], 3, 0), ([b"\xff" * 10, b""], 1, 10),
])
def test_the_values_are_the_documented_function(inputs, index, size):
    arrays = [np.frombuffer(b, np.uint8) for b in inputs]
    got = placeholder_output(arrays, index, size)
    assert got.dtype == np.uint8 and got.size == size
    assert got.tobytes() == by_the_formula(inputs, index, size)


@pytest.mark.parametrize("length", [1, 3, 1000])
def test_a_big_output_of_a_tiny_input_holds_about_twice_the_output(length):
    size = 8 << 20
    x = [np.full(length, 5, np.uint8)]
    tracemalloc.start()
    try:
        out = placeholder_output(x, 0, size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.size == size and out[:length].tolist() == [5 ^ ((5 * length + 7 * k) % 256) for k in range(length)]
    assert peak <= 2 * size + (64 << 10), f"{peak / size:.1f} x the output"
