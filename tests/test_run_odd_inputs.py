"""What the run API says about models and arguments it cannot serve, found by probing it from
outside: one line that names the input and says what to do, before any array is made or any ACL
call, and the model stays loaded and runs afterwards, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import acl_notebook as acl
from acl_notebook.display import render_html, render_text
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runner import InputError, InputTypeError


def _model(session, name, dims):
    return session.load(write_om(ModelSpec(name=name, inputs=[TensorSpec("x", dims, "float32", "ND")],
                                           outputs=[TensorSpec("y", (1, 4), "float32", "ND")])), name=name)


def test_a_shape_range_model_is_refused_with_the_reason_not_a_shape_it_never_asked_for(rig):
    """Before: random_inputs made shape (0, 4) for dims (-1, 4) and the run then said
    "given shape (0, 4), expected (-1, 4)"; a caller's (3, 4) got "expected (-1, 4)" too."""
    session = rig.session()
    m = _model(session, "ranged", (-1, 4))
    for call in (lambda: acl.random_inputs(m), lambda: m.run(np.ones((3, 4), np.float32)),
                 lambda: acl.bench(m, n=1, warmup=0), lambda: m.run(np.ones((3, 4), np.float32), dims=(3,)),
                 lambda: acl.random_inputs(m, batch=3)):  # not "ranged is static (no gears); drop dims="
        with pytest.raises(InputError, match=r"input 'x' has dims \(-1, 4\) and model 'ranged' "
                                           r"has no gears.*shape-range"):
            call()
    for shown in (render_text(m.info), render_html(m.info)):  # %acl_desc and the panel's tab, before any run
        assert "shape-range model" in shown and "static shapes" not in shown
    static = _model(session, "static", (1, 4))
    assert "Gears: none (static shapes)" in render_text(static.info)
    assert static.run(acl.random_inputs(static))[0].shape == (1, 4)
    assert {x.name for x in session.models()} == {"ranged", "static"}


def test_an_input_of_more_axes_than_numpy_has_is_refused_in_words(rig):
    """ACL allows 128 dims, numpy 64: before, random_inputs / bench / the panel's Run raised numpy's
    "maximum supported dimension for an ndarray is currently 64, found 100"."""
    session = rig.session()
    m = _model(session, "deep", (1,) * 100)
    for call in (lambda: acl.random_inputs(m), lambda: acl.bench(m, n=1, warmup=0)):
        with pytest.raises(InputError, match=r"input 'x' has 100 axes, more than the \d+ a numpy array can have"):
            call()
    assert session.find("deep") is m


@pytest.mark.parametrize("seed, error", [(-1, InputError), ("x", InputTypeError), (1.5, InputTypeError),
                                         (True, InputTypeError)])
def test_random_inputs_says_what_a_seed_must_be(rig, seed, error):
    session = rig.session()
    m = _model(session, "seeded", (1, 4))
    with pytest.raises(error, match="seed must be"):
        acl.random_inputs(m, seed=seed)
    a, b = acl.random_inputs(m, seed=np.int64(7)), acl.random_inputs(m, seed=7)
    assert (a["x"] == b["x"]).all()  # numpy ints are seeds too, and the same seed gives the same arrays


def test_a_numpy_scalar_is_a_0_d_input(rig):
    """A numpy scalar (np.float32(2)) or a Python float is a 0-d array: it feeds a scalar input
    as is, and a wrong input is told 'given shape ()'. Before, the copy made it 1-d, so a scalar
    input refused its own value ('given shape (1,), expected ()')."""
    session = rig.session()
    m = _model(session, "scalar", ())
    for value in (np.float32(2.0), np.float64(2.0), 2.0, np.array(2.0, np.float16)):
        out = m.run(value)
        assert out[0].shape == (1, 4), value
    vector = _model(session, "vector", (1, 4))
    with pytest.raises(InputError, match=r"given shape \(\), expected \(1, 4\)"):
        vector.run(np.float32(1.0))
    assert {x.name for x in session.models()} == {"scalar", "vector"}
