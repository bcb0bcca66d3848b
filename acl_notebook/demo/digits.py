"""Build the digits demo: generate the data, train the CNN, write the .om as ATC would.

Everything is deterministic for a seed and runs in seconds on two cores; the training is
cached per process, so building the static and the multi-gear model (or the notebook and the
panel asking for it) trains once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from ..om.writer import ModelSpec, TensorSpec, write_om
from . import graph
from .data import SIZE, make_digits
from .train import CLASSES, Weights, predict, probabilities, train

TRAIN_SAMPLES = 8000
HELD_BACK = 1000
DEFAULT_GEARS = (1, 4, 8)
DEFAULT_SOC = "Ascend310P3"  # Atlas 300I inference card: where a small classifier is deployed
NAME = "digits_cnn"


@dataclass(frozen=True)
class Trained:
    """The outcome of one training run; `accuracy` is measured on the held-back samples."""

    weights: Weights
    accuracy: float
    test_images: np.ndarray = field(repr=False)
    test_labels: np.ndarray = field(repr=False)
    losses: tuple[float, ...]
    seconds: float


@lru_cache(maxsize=4)
def trained(seed: int = 0) -> Trained:
    """Generate data (train and held-back sets from different seeds) and train; cached per seed."""
    start = time.perf_counter()
    x, y = make_digits(TRAIN_SAMPLES, seed=2 * seed + 1)
    xt, yt = make_digits(HELD_BACK, seed=2 * seed + 2)
    weights, losses = train(x, y, seed=seed)
    accuracy = float((predict(weights, xt) == yt).mean())
    xt.setflags(write=False)
    yt.setflags(write=False)
    return Trained(weights, accuracy, xt, yt, tuple(losses), time.perf_counter() - start)


@dataclass(frozen=True)
class DigitsModel:
    """The demo model's bytes, with what a notebook needs to show it: held-back samples and truth.

    `om` loads with `acl.load(model.om)`; `probabilities(x)` is the float32 numpy forward pass
    of the same trained weights, the answer the NPU (or the CPU reference) should match to fp16
    rounding.
    """

    om: bytes = field(repr=False)
    name: str
    soc: str
    gears: tuple[int, ...]
    accuracy: float
    trained: Trained = field(repr=False)

    @property
    def images(self) -> np.ndarray:
        """Held-back images, float32 [N, 1, 28, 28] in [0, 1] (cast to float16 to run them)."""
        return self.trained.test_images

    @property
    def labels(self) -> np.ndarray:
        """The true class of each held-back image."""
        return self.trained.test_labels

    def samples(self, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """`n` held-back images and labels for a picture: the first of each digit in held-back
        order, so up to ten are all different digits (more repeat the walk)."""
        if not 0 < n <= len(self.labels):
            raise ValueError(f"n must be between 1 and {len(self.labels)}, not {n}")
        picked: list[int] = []
        while len(picked) < n:
            seen: set[int] = set()
            for i, label in enumerate(self.labels.tolist()):
                if label not in seen and i not in picked and len(picked) < n:
                    seen.add(label)
                    picked.append(i)
        index = np.array(picked)
        return self.images[index], self.labels[index]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Float32 softmax output of the trained weights, computed with plain numpy."""
        return probabilities(self.trained.weights, images)


def build(*, gears: Optional[Sequence[int]] = DEFAULT_GEARS, soc: str = DEFAULT_SOC, seed: int = 0,
          name: str = NAME) -> DigitsModel:
    """Train (or reuse this process's training) and write the model.

    `gears`: batch sizes of a dynamic-batch model (ATC's ``--dynamic_batch_size``); None or
    empty gives a static batch-1 model.
    """
    gears = tuple(int(g) for g in gears or ())
    if any(g <= 0 for g in gears) or len(set(gears)) != len(gears):
        raise ValueError(f"gears must be distinct positive batch sizes, not {list(gears)}")
    run = trained(seed)
    om = write_om(spec(run, gears=gears, soc=soc, name=name))
    return DigitsModel(om, name, soc, gears, run.accuracy, run)


def spec(run: Trained, *, gears: tuple[int, ...] = (), soc: str = DEFAULT_SOC, name: str = NAME) -> ModelSpec:
    """The writer's spec: a static batch-1 graph, or one graph per batch gear behind a Case op.

    The held-back accuracy goes into the model's attributes (`ModelInfo.attrs`), so a model
    file says how good it is wherever it is inspected.
    """
    largest = max(gears) if gears else 1
    branches = [graph.ops(g) for g in gears]
    ops = [] if gears else graph.ops(1)
    return ModelSpec(
        name=name,
        soc_version=soc,
        inputs=[TensorSpec(graph.INPUT, (-1 if gears else 1, 1, SIZE, SIZE), "float16", "NCHW")],
        outputs=[TensorSpec(graph.OUTPUT, (largest, CLASSES), "float32", "ND")],
        dynamic_kind="batch" if gears else None,
        gears=[(g,) for g in gears],
        consts=graph.consts(run.weights),
        ops=ops,
        branches=branches,
        work_size=_work_size(branches[-1] if gears else ops),
        model_attrs={
            "demo_heldback_accuracy": run.accuracy,
            "demo_heldback_samples": len(run.test_labels),
            "demo_dataset": "digits rendered from matplotlib's fonts with random warps and noise (28x28)",
            "demo_training": f"numpy CNN, Adam, {TRAIN_SAMPLES} samples x {len(run.losses)} epochs",
        },
    )


def _work_size(ops: list) -> int:
    """Feature-map memory as GE plans it without reuse: each op output 32-padded, 512-aligned."""
    total = 0
    for op in ops:
        for t in op.outputs:
            size = int(np.prod(t.physical_shape)) * np.dtype(t.dtype).itemsize
            total += -(-((size + 31) // 32 * 32 + 32) // 512) * 512
    return total
