"""A grid of digit images with what the model said and what is true, as a PNG.

Drawn on a bare Agg `Figure` (never pyplot), like the panel's memory plot: no global figure
state, no double display in notebooks, and the same picture in JupyterLab, Voila and a test.
"""

from __future__ import annotations

import io
from typing import Optional

import numpy as np

RIGHT, WRONG = "#2e7d32", "#c62828"


def prediction_png(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, *, columns: int = 8,
                   title: Optional[str] = None, dpi: int = 100) -> bytes:
    """PNG of `images` [N,1,28,28] (or [N,28,28]), each titled with the predicted class and its
    probability, green when it equals the true label and red (with the truth) when not."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pics = np.asarray(images, np.float32).reshape(len(images), *np.shape(images)[-2:])
    probs = np.asarray(probabilities, np.float32)
    if not (len(pics) == len(labels) == len(probs)):
        raise ValueError(f"{len(pics)} images, {len(labels)} labels and {len(probs)} probability rows: "
                         "give one of each per sample")
    if not len(pics):
        raise ValueError("no images to show")
    columns = max(1, min(columns, len(pics)))
    rows = -(-len(pics) // columns)
    top = 0.35 if title else 0.0
    fig = Figure(figsize=(1.05 * columns, 1.3 * rows + top), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - (top + 0.05) / (1.3 * rows + top),
                        hspace=0.45, wspace=0.12)
    if title:
        fig.suptitle(title, fontsize=10)
    for i, (pic, truth, p) in enumerate(zip(pics, labels, probs)):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(pic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        guess = int(np.argmax(p))
        ok = guess == int(truth)
        text = f"{guess}  {p[guess]:.0%}" if ok else f"{guess} (true {int(truth)})"
        ax.set_title(text, fontsize=9, color=RIGHT if ok else WRONG, pad=3)
        for spine in ax.spines.values():
            spine.set_color(RIGHT if ok else WRONG)
            spine.set_linewidth(1.0 if ok else 2.0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def show_predictions(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, **kwargs) -> object:
    """`prediction_png` as an `IPython.display.Image`, the last line of a notebook cell."""
    from IPython.display import Image

    return Image(data=prediction_png(images, labels, probabilities, **kwargs), format="png")
