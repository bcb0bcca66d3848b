"""A small CNN for the generated digits, trained in plain numpy (no framework to install).

Network (what the .om computes, in framework terms, NCHW like an ONNX export):

    x [N,1,28,28] -> Conv 3x3 pad 1 (8)  + bias + ReLU -> MaxPool 2x2 -> [N, 8,14,14]
                  -> Conv 3x3 pad 1 (16) + bias + ReLU -> MaxPool 2x2 -> [N,16, 7, 7]
                  -> Flatten (C, H, W order) -> MatMul [784,10] + bias -> Softmax

Training keeps activations NHWC so that im2col is a plain reshape of a sliding-window view;
only the flatten before the dense layer goes through NCHW, to match the exported graph.
Adam, mini-batches of 50, a fixed seed: the same weights on every run of the same numpy.
A few thousand samples and three epochs reach about 99 % on held-back samples in a few
seconds on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CONV1, CONV2, CLASSES = 8, 16, 10
FLAT = CONV2 * 7 * 7


@dataclass
class Weights:
    """Trained float32 parameters in framework layouts (OIHW convs, [in, out] dense)."""

    conv1_w: np.ndarray  # [8, 1, 3, 3]
    conv1_b: np.ndarray  # [8]
    conv2_w: np.ndarray  # [16, 8, 3, 3]
    conv2_b: np.ndarray  # [16]
    fc_w: np.ndarray  # [784, 10], rows in (C, H, W) flatten order
    fc_b: np.ndarray  # [10]

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def init_weights(rng: np.random.Generator) -> Weights:
    """He-normal initialisation, zero biases."""
    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    return Weights(
        he((CONV1, 1, 3, 3), 9), np.zeros(CONV1, np.float32),
        he((CONV2, CONV1, 3, 3), 9 * CONV1), np.zeros(CONV2, np.float32),
        he((FLAT, CLASSES), FLAT), np.zeros(CLASSES, np.float32),
    )


# ----------------------------------------------------------------------------- layers (NHWC)
def _im2col(x: np.ndarray) -> np.ndarray:
    """[B,H,W,C] -> [B*H*W, C*9] patches of a 3x3 'same' convolution, in (c, kh, kw) order."""
    b, h, w, c = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return sliding_window_view(padded, (3, 3), axis=(1, 2)).reshape(b * h * w, c * 9)


def _col2im(cols: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    b, h, w, c = shape
    patches = cols.reshape(b, h, w, c, 3, 3)
    out = np.zeros((b, h + 2, w + 2, c), np.float32)
    for i in range(3):
        for j in range(3):
            out[:, i:i + h, j:j + w, :] += patches[..., i, j]
    return out[:, 1:-1, 1:-1, :]


_QUADRANTS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _pool(x: np.ndarray) -> np.ndarray:
    """2x2 max pool, stride 2, NHWC: the maximum of the four strided quadrants (numpy's
    reduction over two small non-adjacent axes is several times slower)."""
    a, b, c, d = (x[:, i::2, j::2] for i, j in _QUADRANTS)
    return np.maximum(np.maximum(a, b), np.maximum(c, d))


def _unpool(grad: np.ndarray, x: np.ndarray, top: np.ndarray) -> np.ndarray:
    """The pool's gradient, to the first maximum of each window (ties are common: a flat
    background gives every pixel of a window the same ReLU(bias))."""
    out = np.zeros_like(x)
    taken = np.zeros(top.shape, bool)
    for i, j in _QUADRANTS:
        hit = (x[:, i::2, j::2] == top) & ~taken
        taken |= hit
        out[:, i::2, j::2] = grad * hit
    return out


def _conv_relu(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b, h, w, _ = x.shape
    cols = _im2col(x)
    out = cols @ weight.reshape(weight.shape[0], -1).T + bias
    return np.maximum(out, 0).reshape(b, h, w, -1), cols


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _one_blas_thread() -> Any:
    """BLAS limited to one thread (see `train` for why)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def logits(weights: Weights, images: np.ndarray) -> np.ndarray:
    """Float32 forward pass: images [N,1,28,28] -> logits [N,10]."""
    with _one_blas_thread():
        return _logits(weights, images)


def _logits(weights: Weights, images: np.ndarray) -> np.ndarray:
    x = np.asarray(images, np.float32).transpose(0, 2, 3, 1)
    p1 = _pool(_conv_relu(x, weights.conv1_w, weights.conv1_b)[0])
    p2 = _pool(_conv_relu(p1, weights.conv2_w, weights.conv2_b)[0])
    flat = p2.transpose(0, 3, 1, 2).reshape(len(x), FLAT)
    return flat @ weights.fc_w + weights.fc_b


def probabilities(weights: Weights, images: np.ndarray) -> np.ndarray:
    """Float32 softmax output [N,10], what the exported model computes."""
    return _softmax(logits(weights, images))


def predict(weights: Weights, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """Class indices [N] for images [N,1,28,28]."""
    with _one_blas_thread():
        return np.concatenate([_logits(weights, images[i:i + batch]).argmax(axis=1)
                               for i in range(0, len(images), batch)] or [np.zeros(0, np.int64)])


# ----------------------------------------------------------------------------- training
def _gradients(w: Weights, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy loss of one batch and the gradient of every parameter."""
    b = len(x)
    x = x.transpose(0, 2, 3, 1)
    a1, cols1 = _conv_relu(x, w.conv1_w, w.conv1_b)
    p1 = _pool(a1)
    a2, cols2 = _conv_relu(p1, w.conv2_w, w.conv2_b)
    p2 = _pool(a2)
    flat = p2.transpose(0, 3, 1, 2).reshape(b, FLAT)
    probs = _softmax(flat @ w.fc_w + w.fc_b)
    loss = float(-np.log(probs[np.arange(b), y] + 1e-12).mean())

    d = probs
    d[np.arange(b), y] -= 1.0
    d /= b
    g = {"fc_w": flat.T @ d, "fc_b": d.sum(axis=0)}
    dp2 = (d @ w.fc_w.T).reshape(b, CONV2, 7, 7).transpose(0, 2, 3, 1)
    da2 = _unpool(dp2, a2, p2) * (a2 > 0)
    da2 = da2.reshape(-1, CONV2)
    g["conv2_w"] = (da2.T @ cols2).reshape(w.conv2_w.shape)
    g["conv2_b"] = da2.sum(axis=0)
    dp1 = _col2im(da2 @ w.conv2_w.reshape(CONV2, -1), p1.shape)
    da1 = (_unpool(dp1, a1, p1) * (a1 > 0)).reshape(-1, CONV1)
    g["conv1_w"] = (da1.T @ cols1).reshape(w.conv1_w.shape)
    g["conv1_b"] = da1.sum(axis=0)
    return loss, g


def train(images: np.ndarray, labels: np.ndarray, *, seed: int = 0, epochs: int = 3, batch: int = 50,
          lr: float = 1e-2) -> tuple[Weights, list[float]]:
    """Train from scratch with Adam; returns the weights and the mean loss of each epoch.

    BLAS runs single-threaded here: these matrices are small, so a second thread only adds
    synchronisation, and on a shared machine spinning BLAS threads made training 3-4x slower
    (13 s against 48 s with one core busy elsewhere). One thread also fixes the summation
    order, so the weights do not depend on the machine's core count.
    """
    with _one_blas_thread():
        return _train(images, labels, seed=seed, epochs=epochs, batch=batch, lr=lr)


def _train(images: np.ndarray, labels: np.ndarray, *, seed: int, epochs: int, batch: int,
           lr: float) -> tuple[Weights, list[float]]:
    rng = np.random.default_rng(seed)
    w = init_weights(rng)
    params = w.arrays()
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    history = []
    x_all = np.asarray(images, np.float32)
    total = epochs * -(-len(x_all) // batch)
    for _ in range(epochs):
        order = rng.permutation(len(x_all))
        losses = []
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            loss, grads = _gradients(w, x_all[idx], labels[idx])
            losses.append(loss)
            step += 1
            rate = lr * (1 - (step - 1) / total)  # linear decay to zero: a calmer last epoch
            for k, grad in grads.items():
                m[k] = beta1 * m[k] + (1 - beta1) * grad
                v[k] = beta2 * v[k] + (1 - beta2) * grad * grad
                update = rate * (m[k] / (1 - beta1 ** step)) / (np.sqrt(v[k] / (1 - beta2 ** step)) + eps)
                params[k] -= update.astype(np.float32)
        history.append(float(np.mean(losses)))
    return w, history
