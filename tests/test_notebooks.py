"""Every notebook in notebooks/ runs top to bottom and teaches what it says it does.

Each notebook is executed once, in a fresh kernel of this interpreter with the notebook's folder
as the working directory (as JupyterLab would), and cached for the checks below. The kernel gets
``ACL_NOTEBOOK_BACKEND=sim``: the notebooks themselves never name a backend (they must run
unchanged on an Atlas box), but the assertions here need the simulator's known numbers and codes.

A run fails on any error output or any traceback printed to stderr. Committed notebooks must be
stripped (no outputs, no execution counts, no saved widget state).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat
import nbutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.notebooks

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
SHARED_MODELS = REPO.parent / "shared" / "models"
TEACHING = ("01-quickstart", "02-memory-planning", "03-dynamic-shapes", "04-real-atlas-box",
            "05-run-and-bench", "06-pyacl-on-the-simulator")
ALL_NOTEBOOKS = sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_ENV = {"ACL_NOTEBOOK_BACKEND": "sim"}
CELL_TIMEOUT = 120  # seconds; a normal cell takes well under one

_runs: dict[str, nbformat.NotebookNode] = {}


def executed(stem: str) -> nbformat.NotebookNode:
    """The notebook after one execution (shared by every test that inspects it)."""
    if stem not in _runs:
        _runs[stem] = nbutil.execute_file(NOTEBOOK_DIR / f"{stem}.ipynb", timeout=CELL_TIMEOUT, env=KERNEL_ENV)
    return _runs[stem]


def text_of(stem: str, tag: str) -> str:
    return nbutil.output_text(nbutil.tagged(executed(stem), tag))


# ------------------------------------------------------------------------------ committed form
def test_a_print_the_kernel_flushed_in_pieces_reads_as_printed():
    """ipykernel may send one print as two stream messages (its flush timer, another thread's
    output): notebook 07's 'left on this host: 0 models' came back as 'left on this host:' and
    ' 0 models' and the check of that line failed once in a landing run."""
    cell = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "left on this host:"},
                        {"output_type": "stream", "name": "stdout", "text": " 0 models\n"},
                        {"output_type": "stream", "name": "stderr", "text": "a warning\n"},
                        {"output_type": "execute_result", "data": {"text/plain": "3"}},
                        {"output_type": "stream", "name": "stdout", "text": "after\n"}]}
    assert nbutil.output_text(cell) == "left on this host: 0 models\n\na warning\n\n3\nafter\n"


def test_teaching_notebooks_are_present():
    missing = [s for s in TEACHING if s not in ALL_NOTEBOOKS]
    assert not missing, f"missing notebooks in {NOTEBOOK_DIR}: {missing}"


@pytest.mark.parametrize("stem", ALL_NOTEBOOKS)
def test_committed_notebook_is_valid_and_stripped(stem):
    nb = nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nbutil.unstripped(nb) == [], f"{stem}.ipynb must be committed without outputs"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_unstripped_detects_outputs_counts_and_widget_state():
    # The stripped check above is only worth something if it can fail.
    cell = new_code_cell("1 + 1", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)]
    nb = new_notebook(cells=[cell], metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {}}})
    problems = nbutil.unstripped(nb)
    assert len(problems) == 3, problems


# ------------------------------------------------------------------------------ the kernel
def test_kernel_runs_this_interpreter_and_this_checkout(tmp_path):
    nb = new_notebook(cells=[new_code_cell(
        "import os, sys, acl_notebook\n"
        "print(sys.executable)\nprint(acl_notebook.__file__)\nprint(os.getcwd())\nprint(os.environ['IPYTHONDIR'])"
    )])
    nbutil.execute(nb, tmp_path, timeout=CELL_TIMEOUT)
    executable, package, cwd, ipython_dir = nbutil.output_text(nb.cells[0]).split()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(package).resolve().is_relative_to(REPO / "acl_notebook")
    assert Path(cwd).resolve() == tmp_path.resolve()
    assert not Path(ipython_dir).resolve().is_relative_to(Path.home().resolve() / ".ipython")


# ------------------------------------------------------------------------------ every notebook
@pytest.mark.parametrize("stem", ALL_NOTEBOOKS)
def test_notebook_runs_without_errors(stem):
    nb = executed(stem)
    problems = nbutil.error_outputs(nb)
    assert not problems, f"{stem}.ipynb:\n" + "\n".join(problems)
    ran = [c for _, c in nbutil.code_cells(nb)]
    assert ran and all(c.execution_count is not None for c in ran), "some cells did not run"


# ------------------------------------------------------------------------------ 01 quick start
def test_quickstart_leaves_device_memory_as_it_found_it():
    out = text_of("01-quickstart", "memory-restored")
    assert "loaded now: 0 models" in out
    assert "back to the start: True" in out


def test_quickstart_loads_without_copying_the_model():
    out = text_of("01-quickstart", "zero-copy")
    match = re.search(r"\(([\d.]+) % of the model\)", out)
    assert match, out
    assert float(match.group(1)) < 5.0, out


def test_quickstart_loads_real_models_and_explains_a_soc_mismatch():
    assert SHARED_MODELS.is_dir(), f"{SHARED_MODELS} is missing: these tests need ../shared/models"
    out = text_of("01-quickstart", "real-models")
    assert "loaded a3c_pong from ../../shared/models/a3c_pong_model_v2.om" in out
    assert "input s [1, 42, 42, 1] float32, output int32" in out
    # The simulator took the SoC of the first model (resnet50, built for an Ascend910B1); the
    # LaneNet was built for an Ascend310B4, and the refusal says what to do on the simulator.
    assert "lanenet refused" in out and "ACL_ERROR_RT_SOC_VERSION (507008)" in out
    assert "adopted from model 'resnet50'" in out and "%acl_config --soc Ascend310B4" in out


def test_quickstart_ends_with_a_loaded_model_in_the_panel():
    nb = executed("01-quickstart")
    code = [c for _, c in nbutil.code_cells(nb)]
    assert code[-1].source.strip() == "%acl_panel", "the last thing the quick start runs is the panel"
    assert "loaded resnet50 on device 0" in text_of("01-quickstart", "final-load")
    # The panel's tabs (kept in the notebook's widget state by the run) show the loaded model.
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    tabs = [m["state"] for m in state.values() if m.get("model_name") == "TabModel"]
    assert any(list(t.get("titles", [])) == ["resnet50"] for t in tabs), tabs


def test_quickstart_shows_the_panel_widget():
    nb = executed("01-quickstart")
    panel_cells = [c for _, c in nbutil.code_cells(nb) if c.source.strip() == "%acl_panel"]
    assert panel_cells, "the quick start should show %acl_panel"
    mimes = {m for out in panel_cells[0].outputs for m in out.get("data", {})}
    assert nbutil.WIDGET_MIME in mimes


def test_quickstart_digits_model_gives_the_right_answers():
    out = text_of("01-quickstart", "digits-build")
    assert re.search(r"digits_cnn: [\d.]+ KiB of OM bytes, batch gears \(1, 4, 8\), 9\d\.\d% right on 1,000", out), out
    out = text_of("01-quickstart", "digits-run")
    assert "gear (8,), fidelity 'computed', output [8, 10] float32" in out, out
    predicted = re.search(r"predicted: (\[.*\])", out).group(1)
    true = re.search(r"true: +(\[.*\])", out).group(1)
    assert predicted == true and len(set(true.strip("[]").split(","))) == 8, out
    assert "same classes as float32 numpy: True" in text_of("01-quickstart", "digits-check")
    picture = nbutil.tagged(executed("01-quickstart"), "digits-picture")
    assert any(o.get("data", {}).get("image/png") for o in picture.outputs)
    assert "digits: 50 runs after 5 warmup" in text_of("01-quickstart", "digits-bench")


def test_run_and_bench_runs_the_digits_model_for_real():
    out = text_of("05-run-and-bench", "digits-run")
    assert "gear (4,), simulated: False, fidelity: 'computed'" in out, out
    match = re.search(r"predicted (\[.*\]), true (\[.*\])", out)
    assert match and match.group(1) == match.group(2), out
    picture = nbutil.tagged(executed("05-run-and-bench"), "digits-run")
    assert any(o.get("data", {}).get("image/png") for o in picture.outputs)
    out = text_of("05-run-and-bench", "digits-bench")
    assert re.search(r"digits, batch 8: p50 execute [\d.]+ ms, throughput [\d,]+ images/s", out), out


# ------------------------------------------------------------------------------ 02 memory planning
def test_memory_planning_predicts_what_will_not_fit():
    lines = text_of("02-memory-planning", "plan").splitlines()
    verdicts = [line.rsplit(":", 1)[1].split(" in ")[0].strip() for line in lines if line.strip()]
    assert verdicts == ["fits", "fits", "does NOT fit"], lines


def test_memory_planning_shows_the_precheck_refusal_with_numbers():
    out = text_of("02-memory-planning", "refusal")
    assert out.startswith("DeviceMemoryError: model 'upscaler' needs"), out
    assert re.search(r"needed [\d.]+ GiB, free [\d.]+ MiB", out), out
    assert "unloading ['detector'] would make room" in out


def test_memory_planning_force_reaches_the_runtime_and_changes_nothing():
    out = text_of("02-memory-planning", "force")
    assert "the runtime said ACL_ERROR_RT_MEMORY_ALLOCATION (207001)" in out
    assert "still loaded: ['detector', 'segmenter']" in out
    assert "free memory unchanged: True" in out


def test_memory_planning_makes_room_then_loads():
    out = text_of("02-memory-planning", "room")
    assert "loaded upscaler; loaded now: ['segmenter', 'upscaler']" in out


def test_memory_planning_thread_gets_the_sessions_context():
    out = text_of("02-memory-planning", "threads")
    assert "context on a new thread before loading: None" in out
    assert "same context as the main thread after acl.load there: True" in out
    assert "unloaded from the main thread: from-a-thread" in out


def test_memory_planning_ends_with_an_empty_device():
    out = text_of("02-memory-planning", "cleanup")
    assert "unloaded 2 models" in out and "free memory back to the start: True" in out


def test_memory_planning_plots_the_history():
    nb = executed("02-memory-planning")
    assert any("image/png" in out.get("data", {}) for _, c in nbutil.code_cells(nb) for out in c.outputs)


# ------------------------------------------------------------------------------ 03 dynamic shapes
@pytest.mark.parametrize("tag, width, gears", [
    ("batch", 1, "[[1], [2], [4], [8]]"),
    ("hw", 2, "[[256, 512], [512, 1024], [720, 1280]]"),
    ("dims", 4, "[[1, 128, 1, 128], [4, 128, 4, 128], [4, 512, 4, 512]]"),
])
def test_dynamic_models_show_gears_and_the_added_input(tag, width, gears):
    out = text_of("03-dynamic-shapes", tag)
    assert f"gear kind: {tag}; gears: {gears}" in out
    assert re.search(rf"ascend_mbatch_shape_data\s+dims=\[{width}\]\s+int32", out), out
    assert "-1" in out.split("ascend_mbatch_shape_data")[0]  # the varying axes read as -1


def test_dynamic_gears_agree_between_file_and_runtime():
    out = text_of("03-dynamic-shapes", "agree")
    assert out.count("file and runtime agree: True") == 3, out


# ------------------------------------------------------------------------------ 04 real box
def test_real_box_explains_missing_npu_smi():
    out = text_of("04-real-atlas-box", "npu-smi")
    if shutil.which("npu-smi") is None:
        assert out.startswith("npu-smi not found"), out
    else:
        assert "npu-smi not found" not in out


def test_real_box_refuses_a_stub_library():
    out = text_of("04-real-atlas-box", "stub")
    assert "libascendcl.so (AscendCL) was not found" in out
    assert "link-time stub" in out


def test_real_box_lists_the_search_order():
    out = text_of("04-real-atlas-box", "discovery")
    assert "/usr/local/Ascend/ascend-toolkit/latest" in out
    assert "found:" in out


def test_real_box_quick_start_cleans_up():
    assert "back to the start: True" in text_of("04-real-atlas-box", "memory-restored")


# ------------------------------------------------------------------------------ 05 run and bench
def test_run_and_bench_runs_a_model_and_charges_its_buffers():
    out = text_of("05-run-and-bench", "run")
    assert "outputs: ('logits:0',), shapes: [(1, 10)], simulated: True" in out
    assert re.search(r"I/O buffers now charged to the model: [1-9][\d,]* B", out), out
    assert "argmax" in out and "NaN" in out  # the Outputs table


def test_run_and_bench_results_stay_valid():
    out = text_of("05-run-and-bench", "outputs")
    assert "first result unchanged after another run: True" in out
    assert re.search(r"execute [\d.]+ ms, H2D [\d.]+ ms, D2H [\d.]+ ms", out), out


def test_run_and_bench_picks_gears_from_shapes():
    out = text_of("05-run-and-bench", "gears")
    for n in (1, 4, 8):
        assert f"batch {n}: gear ({n},), logits ({n}, 10)" in out


def test_run_and_bench_refuses_in_one_line_each():
    lines = text_of("05-run-and-bench", "refusal").splitlines()
    assert lines[0].startswith("InputError: input 'images' asks for batch 3") and "gears: 1, 4, 8" in lines[0]
    assert lines[1].startswith("InputTypeError: input 'images': given complex64")
    assert lines[2].startswith("InputNameError: model 'classifier' has no input named 'image'")
    assert lines[3] == "still loaded: ['classifier', 'batched']"


def test_run_and_bench_reports_figures_and_ais_bench_keys():
    out = text_of("05-run-and-bench", "bench")
    assert re.search(r"p50 execute [\d.]+ ms, p99 [\d.]+ ms, throughput [\d,]+ samples/s", out), out
    assert "['D2H_latency', 'H2D_latency', 'NPU_compute_time', 'acl_notebook']" in out
    cell = nbutil.tagged(executed("05-run-and-bench"), "bench")
    html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    assert "<svg" in html and "200 runs after 5 warmup" in html


def test_run_and_bench_frees_everything():
    out = text_of("05-run-and-bench", "cleanup")
    assert "unloaded 3 models; device memory freed: True" in out  # classifier, batched, digits


# ------------------------------------------------------------------------------ 07 many devices
def test_many_devices_loads_a_group_on_every_device():
    out = text_of("07-many-devices", "members")
    assert "classifier: devices [0, 1, 2, 3], 4 models in the registry" in out
    assert "the copy on device 2: classifier@2" in out
    grid = nbutil.tagged(executed("07-many-devices"), "grid")
    html = "".join(o.get("data", {}).get("text/html", "") for o in grid.outputs)
    assert html.count("acl-cell") == 4 and "classifier@3" in html


def test_many_devices_runs_splits_and_benches_the_group():
    assert "Ran 'classifier' on 4 devices at once" in text_of("07-many-devices", "group-run")
    split = text_of("07-many-devices", "group-split")
    assert "scores: (22, 1000)" in split and "Split run: 22 rows over 4 devices" in split
    assert re.search(r"device 2\s+12\.\.16\s+5\s+2\s+0", split), split  # 5 rows = gears 4 + 1
    assert "Bench 'classifier' on 4 devices at once: summary throughput" in text_of("07-many-devices", "group-bench")
    assert "scores of every row: (22, 1000)" in text_of("07-many-devices", "cluster-split")
    assert "on 4 devices at once" in text_of("07-many-devices", "cluster-bench")


def test_many_devices_refusal_names_the_device_and_loads_nothing():
    out = text_of("07-many-devices", "refusal")
    assert "refused on device 2: model 'detector' needs 2.0 GiB" in out and "nothing new loaded: True" in out
    assert "left on this host: 0 models" in text_of("07-many-devices", "host-cleanup")


def test_many_devices_cluster_loads_refuses_and_survives_a_lost_worker():
    assert "Cluster: 4 NPU workers, all up" in text_of("07-many-devices", "cluster-up")
    assert "loaded on 4 of 4 devices" in text_of("07-many-devices", "cluster-load")
    assert "Cluster memory: 4 devices" in text_of("07-many-devices", "cluster-memory")
    assert re.search(r"refused on host \S+ device \d", text_of("07-many-devices", "cluster-refusal"))
    lost = text_of("07-many-devices", "lost")
    # Ray words the death by when the kill lands: "... killed by `ray.kill`." once it has, "The
    # actor died unexpectedly before finishing this task." on a busy machine where the ping won
    assert re.search(r"device 1 \(The actor (is dead|died)[^)]*\); its models: \['classifier'\]", lost), lost
    survivors = text_of("07-many-devices", "survivors")
    assert "the others keep working: [0, 2, 3]" in survivors
    assert "a split run still covers every row: True" in survivors and "device 1'" not in survivors


def test_many_devices_shows_the_live_cluster_view_and_leaves_nothing_running():
    panel = nbutil.tagged(executed("07-many-devices"), "cluster-panel")
    assert nbutil.WIDGET_MIME in {m for out in panel.outputs for m in out.get("data", {})}
    assert "workers left: 0 · Ray running: False" in text_of("07-many-devices", "teardown")


# ------------------------------------------------------------------------------ 06 pyACL
def test_pyacl_notebook_installs_the_image():
    assert "import acl now gives acl-notebook's pyACL image" in text_of("06-pyacl-on-the-simulator", "install")


def test_pyacl_model_joins_the_registry_as_the_programs():
    out = text_of("06-pyacl-on-the-simulator", "loaded")
    assert "input  {'name': 'image', 'dimCount': 4, 'dims': [1, 3, 64, 64]}" in out
    assert "in the registry: classifier (id 1), loaded by pyACL, source: pyACL load_from_file" in out


def test_pyacl_buffers_show_then_count_as_the_models_io():
    out = text_of("06-pyacl-on-the-simulator", "buffers")
    match = re.search(r"pyACL buffers not used by a model yet: (\d+) bytes", out)
    assert match and int(match.group(1)) > 0, out
    assert "pyACL buffers (no model)" in out
    run = text_of("06-pyacl-on-the-simulator", "run")
    assert re.search(r"top-5 classes: \[(\d+, ){4}\d+\]", run), run
    assert f"work + weight + {match.group(1)} of I/O buffers" in run


def test_pyacl_async_run_is_certain_only_after_the_sync_and_timed_by_events():
    out = text_of("06-pyacl-on-the-simulator", "async")
    # the simulator performs queued work when the stream is waited for, so the early read is stale
    assert "read before the sync: the old bytes" in out
    assert "after the sync, the same values as the synchronous run: True" in out
    ms = re.search(r"the stream's work took (\d+\.\d+) ms between the two events", out)
    assert ms and float(ms.group(1)) > 0, out


def test_pyacl_mistakes_get_acl_codes_not_crashes():
    out = text_of("06-pyacl-on-the-simulator", "mistakes")
    assert "device memory, which the host cannot read in EP mode" in out
    assert "memcpy from a made-up pointer: 107000" in out
    assert "memcpy with a kind aclrtMemcpy does not take: 100000" in out
    assert "execute from another context: 107004" in out


def test_pyacl_cleanup_returns_the_device_and_the_script_reports_its_leak():
    out = text_of("06-pyacl-on-the-simulator", "cleanup")
    assert "models loaded: 0; pyACL buffers: 0 bytes" in out and "back to the start: True" in out
    script = text_of("06-pyacl-on-the-simulator", "script")
    assert "exit status 0" in script and "loaded model 1 ret 0" in script
    assert "the program ended with 1 model(s) loaded: classifier (id 1)" in script


def test_error_outputs_catches_errors_and_stderr_tracebacks():
    # The run check is only worth something if it can fail.
    failing = new_code_cell("1/0")
    failing.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                              traceback=[])]
    noisy = new_code_cell("start_thread()")
    noisy.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                            text="Exception in thread Thread-1:\nTraceback (most recent call last):\n")]
    quiet = new_code_cell("print('fine')")
    quiet.outputs = [nbformat.v4.new_output("stream", name="stderr", text="a harmless warning\n")]
    problems = nbutil.error_outputs(new_notebook(cells=[failing, noisy, quiet]))
    assert len(problems) == 2 and "ZeroDivisionError" in problems[0] and "Traceback" in problems[1]


def test_run_notebook_shows_what_the_simulator_computed():
    out = text_of("05-run-and-bench", "computed")
    assert "CPU reference coverage: approximate: 3 ops guessed" in out
    assert out.count("fidelity approximate, simulated True") == 3
    assert "strides/pads not in the file (erased by fusion)" in out
    assert "acl.reference gives the same action: True" in out


# ------------------------------------------------------------------------------ 03 dynamic shapes
def test_dynamic_batch_shows_each_gears_own_output_shape():
    out = text_of("03-dynamic-shapes", "desc-batch")
    for gear, batch in enumerate((1, 2, 4, 8)):
        assert f"gear {gear}: logits:0=[{batch}, 1000]" in out, out
