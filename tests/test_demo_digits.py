"""The digits demo: generated data, the numpy-trained CNN, and its .om as ATC would write it.

The forward pass here is the test's own, written the plain way (a loop over the nine kernel
taps, NCHW throughout), so a slip in the package's im2col or flatten order cannot hide.
"""

from __future__ import annotations

import numpy as np
import pytest

import acl_notebook as acl
from acl_notebook.__main__ import main
from acl_notebook.demo import digits
from acl_notebook.demo.data import make_digits

HELD_BACK_MIN = 200


@pytest.fixture(scope="module")
def run() -> digits.Trained:
    return digits.trained(0)


def _conv_relu(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    n, _, h, wd = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[0], h, wd), np.float32)
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", padded[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return np.maximum(out + b[None, :, None, None], 0)


def _maxpool(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def reference_probabilities(weights, images: np.ndarray) -> np.ndarray:
    x = _maxpool(_conv_relu(images.astype(np.float32), weights.conv1_w, weights.conv1_b))
    x = _maxpool(_conv_relu(x, weights.conv2_w, weights.conv2_b))
    logits = x.reshape(len(x), -1) @ weights.fc_w + weights.fc_b
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- data
def test_data_is_deterministic_balanced_and_in_range():
    x1, y1 = make_digits(300, seed=7)
    x2, y2 = make_digits(300, seed=7)
    x3, _ = make_digits(300, seed=8)
    assert x1.shape == (300, 1, 28, 28) and x1.dtype == np.float32 and y1.dtype == np.int64
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert np.bincount(y1, minlength=10).tolist() == [30] * 10
    assert 0.0 <= x1.min() and x1.max() <= 1.0
    # every image holds a digit: bright ink on a dark background, away from the border
    ink = (x1[:, 0] > 0.5).sum(axis=(1, 2))
    assert ink.min() > 15
    assert x1[:, 0, 4:24, 4:24].mean() > 2 * x1[:, 0, :2, :].mean()


def test_batches_do_not_change_the_samples():
    a, _ = make_digits(50, seed=3, batch=7)
    b, _ = make_digits(50, seed=3, batch=1024)
    assert np.array_equal(a, b)


def test_negative_count_is_refused():
    with pytest.raises(ValueError, match="n must be"):
        make_digits(-1)


# ----------------------------------------------------------------------------- training
def test_gradients_match_finite_differences():
    """Backprop (im2col, pooling with tied windows, flatten order) against central differences."""
    from acl_notebook.demo import train as T

    x, y = make_digits(4, seed=11)
    rng = np.random.default_rng(5)
    w = T.init_weights(np.random.default_rng(0))
    for name, value in w.arrays().items():  # float64, and biases off zero so ReLU kinks are rare
        shift = 0.05 * rng.standard_normal(value.shape) if name.endswith("_b") else 0.0
        setattr(w, name, value.astype(np.float64) + shift)
    x = x.astype(np.float64)
    _, grads = T._gradients(w, x, y)
    for name in w.arrays():
        param = getattr(w, name)
        for _ in range(3):
            idx = tuple(int(rng.integers(0, s)) for s in param.shape)
            old = param[idx]
            param[idx] = old + 1e-6
            up, _ = T._gradients(w, x, y)
            param[idx] = old - 1e-6
            down, _ = T._gradients(w, x, y)
            param[idx] = old
            assert grads[name][idx] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-7), name


def test_held_back_accuracy(run):
    assert len(run.test_labels) >= HELD_BACK_MIN
    assert run.accuracy >= 0.95, run.accuracy
    assert run.losses[-1] < run.losses[0] / 5


def test_package_forward_matches_a_plain_one(run):
    ours = digits.DigitsModel(b"", "x", "s", (), run.accuracy, run).probabilities(run.test_images[:64])
    plain = reference_probabilities(run.weights, run.test_images[:64])
    np.testing.assert_allclose(ours, plain, atol=1e-5)
    predicted = reference_probabilities(run.weights, run.test_images).argmax(axis=1)
    assert (predicted == run.test_labels).mean() == pytest.approx(run.accuracy)


def test_training_is_deterministic(run):
    again = digits.trained.__wrapped__(0)
    for name, value in run.weights.arrays().items():
        assert np.array_equal(value, again.weights.arrays()[name]), name


# ----------------------------------------------------------------------------- the .om
def test_static_model_describes_itself():
    model = digits.build(gears=None)
    info = acl.inspect(model.om)
    assert info.soc_version == digits.DEFAULT_SOC
    assert [(t.name, t.dims, t.dtype, t.format) for t in info.inputs] == [
        ("images", (1, 1, 28, 28), "float16", "NCHW")]
    assert [(t.name, t.dims, t.dtype) for t in info.outputs] == [("output_cast:0:probabilities", (1, 10), "float32")]
    assert not info.dynamic.kind
    # fp16 weights: 2 bytes per parameter at least (plus ATC's packing and 512-byte alignment)
    params = sum(v.size for v in model.trained.weights.arrays().values())
    assert info.memory.weight >= 2 * params


@pytest.fixture(scope="module")
def dynamic() -> digits.DigitsModel:
    return digits.build()


def test_dynamic_model_has_the_gears_and_records_its_accuracy(dynamic):
    info = acl.inspect(dynamic.om)
    assert info.dynamic.kind == "batch" and info.dynamic.gears == ((1,), (4,), (8,))
    assert info.inputs[0].dims == (-1, 1, 28, 28) and info.outputs[0].dims == (8, 10)
    assert info.attrs["demo_heldback_accuracy"] == pytest.approx(dynamic.accuracy, abs=1e-6)
    assert info.attrs["demo_heldback_samples"] == len(dynamic.labels) >= HELD_BACK_MIN


def _agree(got: np.ndarray, want: np.ndarray) -> None:
    """Same class wherever the float32 answer is not a near tie that fp16 rounding could flip."""
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.01
    assert clear.mean() > 0.98
    assert np.array_equal(got.argmax(axis=1)[clear], want.argmax(axis=1)[clear])
    np.testing.assert_allclose(got, want, atol=0.02)


def test_cpu_reference_computes_the_trained_network(dynamic):
    from acl_notebook.cpu_reference import coverage, open_model, reference

    assert coverage(dynamic.om).summary == "computed"
    model = open_model(dynamic.om)
    images = dynamic.images.astype(np.float16)
    got = []
    for start in range(0, len(images), 8):
        result = reference(model, images[start:start + 8])
        assert result.fidelity == "computed" and result.notes == ()
        got.append(result.outputs[0])
    probs = np.concatenate(got)
    want = reference_probabilities(dynamic.trained.weights, images.astype(np.float32))
    _agree(probs, want)
    assert (probs.argmax(axis=1) == dynamic.labels).mean() == pytest.approx(dynamic.accuracy, abs=0.003)
    for batch in (1, 4):  # the smaller gears' branches compute the same answers
        np.testing.assert_allclose(reference(model, images[:batch]).outputs[0], probs[:batch], atol=2e-3)


def test_simulator_run_gives_the_trained_networks_answers(kernel_session, dynamic):
    """`m.run` on the simulator: the CPU reference's values, per gear, trimmed to the batch."""
    model = acl.load(dynamic.om, name="digits")
    images = dynamic.images.astype(np.float16)
    runs = [model.run(images[i:i + 8]) for i in range(0, len(images), 8)]
    assert {(r.gear, r.fidelity, r.simulated) for r in runs} == {((8,), "computed", False)}
    probs = np.concatenate([r[0] for r in runs])
    _agree(probs, reference_probabilities(dynamic.trained.weights, images.astype(np.float32)))
    assert (probs.argmax(axis=1) == dynamic.labels).mean() == pytest.approx(dynamic.accuracy, abs=0.003)
    for batch in (1, 4):
        out = model(images[:batch])
        assert out.gear == (batch,) and out[0].shape == (batch, 10)
        np.testing.assert_allclose(out[0], probs[:batch], atol=2e-3)
    with pytest.raises(ValueError):
        model(images[:3])  # no such gear: refused before any ACL call, the model stays loaded
    assert model.loaded


def test_samples_are_different_digits(dynamic):
    images, labels = dynamic.samples(8)
    assert images.shape == (8, 1, 28, 28) and len(set(labels.tolist())) == 8
    _, more = dynamic.samples(12)
    assert sorted(set(more.tolist())) == list(range(10))
    with pytest.raises(ValueError, match="between 1 and"):
        dynamic.samples(0)


def test_gears_are_validated():
    for bad in ((0, 4), (4, 4)):
        with pytest.raises(ValueError, match="gears"):
            digits.build(gears=bad)


# ----------------------------------------------------------------------------- CLI
def test_cli_writes_the_digits_model(tmp_path, capsys):
    out = tmp_path / "digits.om"
    assert main(["demo-model", "--kind", "digits", "--gears", "none", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "held-back accuracy" in printed and "static batch 1" in printed
    assert acl.inspect(out).name == digits.NAME


@pytest.mark.parametrize("argv, message", [
    (["--kind", "digits", "--gears", "1,x"], "--gears takes"),
    (["--kind", "digits", "--size-mb", "3"], "--size-mb applies"),
    (["--gears", "1,4"], "--gears applies"),
])
def test_cli_refuses_options_of_the_other_kind(tmp_path, capsys, argv, message):
    assert main(["demo-model", *argv, str(tmp_path / "x.om")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.om").exists()


def test_cli_default_kind_is_unchanged(tmp_path, capsys):
    out = tmp_path / "r.om"
    assert main(["demo-model", "--size-mb", "1", str(out)]) == 0
    info = acl.inspect(out)
    assert info.name == "resnet50_demo" and info.dynamic.kind == "batch"


# ----------------------------------------------------------------------------- picture and button
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_prediction_grid_is_a_png_sized_by_its_grid(run):
    from acl_notebook.demo.plot import prediction_png

    probs = reference_probabilities(run.weights, run.test_images[:12])
    png = prediction_png(run.test_images[:12], run.test_labels[:12], probs, columns=6, dpi=50)
    assert png.startswith(PNG_MAGIC)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (round(1.05 * 6 * 50), round(1.3 * 2 * 50))
    with pytest.raises(ValueError, match="one of each per sample"):
        prediction_png(run.test_images[:3], run.test_labels[:2], probs[:3])


def test_button_builds_and_loads_the_model_once(kernel_session):
    from acl_notebook.widgets.demo_button import DigitsButton

    button = DigitsButton()
    button.button.click()
    button.wait(120)
    assert not button.button.disabled
    assert [m.name for m in kernel_session.models()] == ["digits"]
    loaded = kernel_session.models()[0]
    assert loaded.info.dynamic.gears == ((1,), (4,), (8,))
    assert loaded.info.soc_version == kernel_session.info().soc
    assert button.status.value.startswith("Loaded digits: 99") and button.status.style.text_color is None
    button.button.click()
    button.wait(120)
    assert len(kernel_session.models()) == 1 and "already loaded" in button.status.value


def test_button_failure_is_one_red_line_and_changes_nothing(kernel_session):
    from acl_notebook.widgets.demo_button import DigitsButton

    button = DigitsButton(gears=(4, 4), background=False)
    button.button.click()
    assert kernel_session.models() == ()
    assert button.status.value.startswith("Gears must be distinct")
    assert button.status.style.text_color == "#c62828" and not button.button.disabled
