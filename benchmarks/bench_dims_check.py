"""What the reader's I/O dims check (`om.model.dims_refusal`, once per input and output tensor of
every parse) costs `inspect`: the same bytes inspected with the check and with it stubbed out,
in turns in one process, best of 5 x 200 calls each turn, the middle of 3 turns.

    python benchmarks/bench_dims_check.py

The real models (../shared/models) have a handful of I/O tensors; a writer model with 64 inputs
and 64 outputs shows the cost per tensor.
"""

from __future__ import annotations

import timeit
from pathlib import Path

import acl_notebook.om.inout as inout
import acl_notebook.om.modeldef as modeldef
from acl_notebook.om import inspect
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _cases() -> dict[str, bytes]:
    cases = {p.stem: p.read_bytes() for p in sorted(MODELS.glob("*.om"))}
    cases["writer, 128 I/O tensors"] = write_om(ModelSpec(
        name="io", inputs=[TensorSpec(f"x{i}", (1, 3, 8, 8), "float32", "NCHW") for i in range(64)],
        outputs=[TensorSpec(f"y{i}", (1, 10), "float32", "ND") for i in range(64)]))
    return cases


def _best(data: bytes) -> float:
    return min(timeit.repeat(lambda: inspect(data), number=200, repeat=5)) / 200


def main() -> None:
    real = (inout.dims_refusal, modeldef.dims_refusal)
    try:
        for name, data in _cases().items():
            turns = []
            for _ in range(3):
                inout.dims_refusal, modeldef.dims_refusal = real
                with_check = _best(data)
                inout.dims_refusal = modeldef.dims_refusal = lambda *_args: None
                turns.append((with_check, _best(data)))
            on = sorted(t[0] for t in turns)[1]
            off = sorted(t[1] for t in turns)[1]
            print(f"{name}: {on * 1e6:.1f} us with the check, {off * 1e6:.1f} us without: {on / off:.3f}x")
    finally:
        inout.dims_refusal, modeldef.dims_refusal = real


if __name__ == "__main__":
    main()
