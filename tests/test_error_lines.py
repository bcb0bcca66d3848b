"""The README's contract for what a person sees when something is refused: one red sentence that
says what happened and what to do, with no Python type name in front. Found probing the panel
and the magics from outside: the run checks' errors (InputError, InputTypeError, InputNameError),
the cluster's (ClusterError, ClusterTimeoutError) and a device group's (GroupRunError,
GroupLoadError) were shown as "InputError: input 'x': ...", "ClusterError: no cluster: ...".
"""

from __future__ import annotations

import numpy as np
import pytest
from magics_helpers import fails_with_one_line

from acl_notebook.cluster.results import ClusterError, ClusterTimeoutError
from acl_notebook.display import error_line, error_text
from acl_notebook.fanout import GroupRunError
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runner import InputError, InputNameError, InputTypeError

KINDS = [InputError("input 'x': given shape (2, 2), expected (1, 4)"),
         InputTypeError("input 'x': given <U1, expected float32"),
         InputNameError("m has no input named 'nope'; its inputs are 'x'"),
         ClusterError("no cluster: call acl.cluster.local(devices=4)"),
         ClusterTimeoutError("the cluster did not answer within 60 s"),
         GroupRunError("device 1: out of memory")]


@pytest.mark.parametrize("exc", KINDS, ids=lambda e: type(e).__name__)
def test_our_errors_are_shown_without_their_type_name(exc):
    message = exc.args[0]
    for shown in (error_text(exc), error_line(exc)):
        assert type(exc).__name__ not in shown
        assert shown.lower().startswith(message[:12].lower())  # the message itself (a KeyError's without quotes)


def test_a_run_magic_refusal_is_one_sentence_without_a_type_name(ip, capsys):
    ip.user_ns["blob"] = write_om(ModelSpec(name="clf", inputs=[TensorSpec("x", (1, 4), "float32", "ND")],
                                            outputs=[TensorSpec("y", (1, 4), "float32", "ND")]))
    ip.run_line_magic("acl_load", "-v blob")
    ip.user_ns["arr"] = np.ones((2, 2), np.float32)
    line = fails_with_one_line(ip, capsys, "%acl_run clf -i arr")
    assert line == "UsageError: Input 'x': given shape (2, 2), expected (1, 4)."
    ip.user_ns["named"] = {"nope": np.ones((1, 4), np.float32)}
    assert fails_with_one_line(ip, capsys, "%acl_run clf -i named").endswith(
        ": Model 'clf' has no input named 'nope'; its inputs are 'x'.")  # the name keeps its case


def test_the_panels_run_shows_the_refusal_without_a_type_name(make_session, make_panel):
    session = make_session()
    panel = make_panel(session)
    model = session.load(write_om(ModelSpec(name="ranged", inputs=[TensorSpec("x", (-1, 4), "float32", "ND")],
                                            outputs=[TensorSpec("y", (1, 4), "float32", "ND")])))
    panel.refresh()
    runner = panel._views[model.id].runner
    assert runner.run() is None
    assert "InputError" not in runner.output.value
    assert "Input &#x27;x&#x27; has dims (-1, 4) and model &#x27;ranged&#x27; has no gears" in runner.output.value
