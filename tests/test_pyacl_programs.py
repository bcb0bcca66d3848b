"""pyACL programs in the styles real code uses, run unchanged through `python -m acl_notebook.pyacl`.

Each program saves its inputs and what it read back from the output buffers; the read-back
must be exactly what the simulator computes for those inputs at that gear.
"""

from __future__ import annotations

import numpy as np
from pyacl_helpers import batch_spec, classifier_spec, hw_spec, run_program, simulated_outputs, two_input_spec, write

from acl_notebook.om.writer import write_om


def test_static_classifier_load_from_file(tmp_path):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("classify.py", str(model), str(out), "5")
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    (want,) = simulated_outputs(model.read_bytes(), [saved["input0"]])
    assert saved["output0"].shape == (1, 10)
    assert saved["output0"].tobytes() == want
    top5 = np.argsort(saved["output0"].reshape(-1))[::-1][:5]
    assert r.stdout.strip() == "top5: " + " ".join(str(int(i)) for i in top5)
    assert "acl-notebook:" not in r.stderr  # cleaned up: no leak report


def test_load_from_mem_helper_with_dynamic_batch(tmp_path):
    spec = batch_spec()
    model = write(tmp_path, spec)
    out = tmp_path / "out.npz"
    r = run_program("batch_helper.py", str(model), str(out), "2", "8", "3", "1")
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    assert "gears: [1, 2, 8]" in r.stdout
    for n, batch in ((0, 2), (1, 8), (3, 1)):
        x, y = saved[f"input{n}"], saved[f"output{n}"]
        assert x.shape == (batch, 3, 8, 8) and y.shape == (batch, 10)
        (want,) = simulated_outputs(write_om(spec), [x], (batch,))
        assert y.tobytes() == want
    # 3 is not a gear: the set call is refused with ACL's code and nothing runs
    assert saved["refused2"].tolist() == [3, 145013]


def test_dynamic_image_size(tmp_path):
    spec = hw_spec()
    model = write(tmp_path, spec)
    out = tmp_path / "out.npz"
    r = run_program("image_size.py", str(model), str(out), "16,24", "32,48")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "hw gears: [[16, 24], [32, 48]]" in r.stdout
    saved = np.load(out)
    for n, hw in enumerate([(16, 24), (32, 48)]):
        y = saved[f"output{n}"]
        assert y.shape == (1, 2, *hw)
        (want,) = simulated_outputs(model.read_bytes(), [saved[f"input{n}"]], hw)
        assert y.tobytes() == want


def test_async_stream_pipeline_in_a_worker_thread(tmp_path):
    model = write(tmp_path, classifier_spec())
    out = tmp_path / "out.npz"
    r = run_program("async_pipeline.py", str(model), str(out), "4")
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    assert saved["outputs"].shape == (4, 10)
    for x, y in zip(saved["inputs"], saved["outputs"]):
        (want,) = simulated_outputs(model.read_bytes(), [x])
        assert y.tobytes() == want
    assert len({y.tobytes() for y in saved["outputs"]}) == 4  # each frame its own result


def test_two_input_model_with_dims_gears(tmp_path):
    spec = two_input_spec()
    model = write(tmp_path, spec)
    for index, (a_shape, b_shape, gear) in enumerate([((1, 2), (1, 4), (2, 1)), ((1, 8), (8, 4), (8, 8))]):
        out = tmp_path / f"out{index}.npz"
        r = run_program("two_inputs.py", str(model), str(out), str(index))
        assert r.returncode == 0, r.stderr + r.stdout
        saved = np.load(out)
        # the gear as aclmdlGetInputDynamicDims reports it: both inputs' dims, concatenated
        assert saved["gear"].tolist() == [*a_shape, *b_shape]
        assert saved["a"].shape == a_shape and saved["b"].shape == b_shape
        (want,) = simulated_outputs(model.read_bytes(), [saved["a"], saved["b"]], gear)
        assert saved["output"].tobytes() == want


def test_static_classifier_in_rc_mode_copies_device_to_device(tmp_path):
    # On an Atlas 200I A2 (RC) the program copies with DEVICE_TO_DEVICE, its own memory included
    model = write(tmp_path, classifier_spec("Ascend310B4"))
    out = tmp_path / "out.npz"
    r = run_program("classify.py", str(model), str(out), "9", env={"ACL_NOTEBOOK_SOC": "Ascend310B4"})
    assert r.returncode == 0, r.stderr
    saved = np.load(out)
    (want,) = simulated_outputs(model.read_bytes(), [saved["input0"]])
    assert saved["output0"].tobytes() == want
