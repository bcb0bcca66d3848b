"""Procedurally generated handwritten-looking digits, 28x28, white on black like MNIST.

Why generated: no model hub or data set can be downloaded here, scikit-learn's bundled 8x8
digits would add a large dependency for one array, and 8x8 images are too coarse to show in a
notebook. matplotlib (already a dependency) ships twenty TrueType fonts; each digit of each
font is rasterised once with FreeType, and every sample is one of those glyphs under its own
random affine warp (rotation, scale, aspect, shear, shift), stroke width (0-2 dilations: a
font's strokes are thinner than a pen's), contrast and noise. The result is deterministic for
a seed, needs no file beyond matplotlib's own fonts, and takes about a second for thousands
of samples.

Images are rendered at twice the size and averaged 2x2, which anti-aliases the edges as a
scanner would.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.ft2font import FT2Font

SIZE = 28  # output side, as MNIST
_SUPER = 2  # render at 2x and average down
_CANVAS = SIZE * _SUPER
_HEIGHT = 40  # glyph height on the canvas: 20 of 28 output pixels, MNIST's digit box
# matplotlib's bundled fonts: sans, serif, mono, Computer Modern, STIX; regular, bold, italic.
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf", "cmti10.ttf",
)


@lru_cache(maxsize=1)
def glyphs() -> np.ndarray:
    """Every digit of every font, centred on a blank canvas: float32 [fonts, 10, 56, 56] in [0, 1]."""
    from matplotlib import get_data_path
    from matplotlib.ft2font import FT2Font

    root = f"{get_data_path()}/fonts/ttf"
    out = np.zeros((len(FONTS), 10, _CANVAS, _CANVAS), np.float32)
    for f, name in enumerate(FONTS):
        font = FT2Font(f"{root}/{name}")
        for digit in range(10):
            out[f, digit] = _place(_render(font, str(digit), 48))
            # second pass at the size that makes the glyph _HEIGHT pixels tall
            height = _ink_rows(out[f, digit])
            if height and height != _HEIGHT:
                out[f, digit] = _place(_render(font, str(digit), 48 * _HEIGHT / height))
    return out


def _render(font: FT2Font, text: str, size: float) -> np.ndarray:
    font.set_size(size, 72)
    font.set_text(text)
    font.draw_glyphs_to_bitmap(antialiased=True)
    img = np.asarray(font.get_image(), np.float32) / 255.0
    rows, cols = np.nonzero(img > 0.05)
    return img[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _ink_rows(canvas: np.ndarray) -> int:
    rows = np.nonzero(canvas.max(axis=1) > 0.05)[0]
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def _place(img: np.ndarray) -> np.ndarray:
    """The bitmap centred (by its bounding box) on an empty canvas, cropped if too large."""
    canvas = np.zeros((_CANVAS, _CANVAS), np.float32)
    h, w = min(img.shape[0], _CANVAS), min(img.shape[1], _CANVAS)
    top, left = (_CANVAS - h) // 2, (_CANVAS - w) // 2
    canvas[top:top + h, left:left + w] = img[:h, :w]
    return canvas


def make_digits(n: int, *, seed: int = 0, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """`n` random digit images and their labels: float32 [n, 1, 28, 28] in [0, 1], int64 [n].

    Labels cycle through 0-9 in a shuffled order, so classes are balanced to within one.
    Every random choice is drawn up front, so `batch` (the working-set size) never changes
    the samples.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    rng = np.random.default_rng(seed)
    source = glyphs()
    labels = np.resize(np.arange(10), n)
    rng.shuffle(labels)
    draws = {
        "font": rng.integers(0, len(FONTS), n),
        "angle": np.radians(rng.uniform(-14, 14, n)),
        "scale": rng.uniform(0.78, 1.1, n),
        "aspect": rng.uniform(0.8, 1.15, n),
        "shear": rng.uniform(-0.3, 0.3, n),
        "shift": rng.uniform(-2.5, 2.5, (n, 2)) * _SUPER,
        "stroke": rng.integers(0, 3, n),
        "contrast": rng.uniform(0.75, 1.0, n),
        "noise": rng.uniform(0.0, 0.12, n),
    }
    noise = rng.standard_normal((n, SIZE, SIZE), dtype=np.float32)
    images = np.empty((n, 1, SIZE, SIZE), np.float32)
    for start in range(0, n, batch):
        part = slice(start, min(start + batch, n))
        glyph = source[draws["font"][part], labels[part]]
        images[part, 0] = _samples(glyph, {k: v[part] for k, v in draws.items()}, noise[part])
    return images, labels.astype(np.int64)


def _samples(glyph: np.ndarray, d: dict[str, np.ndarray], noise: np.ndarray) -> np.ndarray:
    """Warp, thicken, shrink 2x and add noise: [b, 56, 56] glyphs -> [b, 28, 28]."""
    b = glyph.shape[0]
    # forward map: rotate . shear . scale; sampling needs its inverse
    cos, sin, scale, aspect, shear = np.cos(d["angle"]), np.sin(d["angle"]), d["scale"], d["aspect"], d["shear"]
    fwd = np.empty((b, 2, 2))
    fwd[:, 0, 0] = cos * scale * aspect
    fwd[:, 0, 1] = (cos * shear - sin) * scale
    fwd[:, 1, 0] = sin * scale * aspect
    fwd[:, 1, 1] = (sin * shear + cos) * scale
    inv = np.linalg.inv(fwd).astype(np.float32)
    shift = d["shift"].astype(np.float32)
    centre = (_CANVAS - 1) / 2
    axis = np.arange(_CANVAS, dtype=np.float32) - centre
    rx = axis[None, None, :] - shift[:, 0, None, None]  # [b, 1, W]
    ry = axis[None, :, None] - shift[:, 1, None, None]  # [b, H, 1]
    sx = inv[:, 0, 0, None, None] * rx + inv[:, 0, 1, None, None] * ry + centre
    sy = inv[:, 1, 0, None, None] * rx + inv[:, 1, 1, None, None] * ry + centre
    warped = _stroke(_bilinear(glyph, sx, sy), d["stroke"])
    small = warped.reshape(b, SIZE, _SUPER, SIZE, _SUPER).mean(axis=(2, 4))
    out = small * d["contrast"][:, None, None] + noise * d["noise"][:, None, None].astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample each image of `img` [b, H, W] at its own points (x, y) [b, H, W]; outside is 0."""
    b, h, w = img.shape
    stride = w + 2
    padded = np.zeros((b, h + 2, stride), np.float32)  # a zero ring, so edge taps read 0
    padded[:, 1:-1, 1:-1] = img
    x = np.clip(x + 1, 0, w)
    y = np.clip(y + 1, 0, h)
    x0 = np.minimum(x.astype(np.intp), w)  # x >= 0, so the cast floors
    y0 = np.minimum(y.astype(np.intp), h)
    fx, fy = x - x0, y - y0
    flat = padded.ravel()
    base = y0 * stride + x0 + (np.arange(b) * (h + 2) * stride)[:, None, None]
    top = flat[base] * (1 - fx) + flat[base + 1] * fx
    bottom = flat[base + stride] * (1 - fx) + flat[base + stride + 1] * fx
    return top * (1 - fy) + bottom * fy


def _stroke(img: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Dilate each image `steps[i]` times with a 3x3 cross (thicker strokes, as a pen draws)."""
    out = img.copy()
    for k in range(1, int(steps.max(initial=0)) + 1):
        grow = steps >= k
        p = np.pad(out[grow], ((0, 0), (1, 1), (1, 1)))
        out[grow] = np.maximum.reduce([p[:, 1:-1, 1:-1], p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2],
                                       p[:, 1:-1, 2:]])
    return out
