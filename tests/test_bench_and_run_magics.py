"""`acl.bench` (both backends), `Outputs` / `BenchResult` rendering, and `%acl_run` / `%acl_bench`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from magics_helpers import fails_with_one_line, registry

import acl_notebook as acl
from acl_notebook.display import render_html, render_text
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runner.bench import FIGURES, BenchResult, bench
from acl_notebook.runner.outputs import Outputs, Timing

MiB = 1 << 20


def batch_model(soc: str = "Ascend910B1", name: str = "clf") -> bytes:
    return write_om(ModelSpec(
        name=name, soc_version=soc, work_size=MiB, weight_size=MiB,
        inputs=[TensorSpec("x", (-1, 3, 8, 8), "float32", "NCHW")],
        outputs=[TensorSpec("logits", (-1, 10), "float16", "ND")], dynamic_kind="batch", gears=[(1,), (4,)]))


# -- bench -----------------------------------------------------------------------------------------
def test_bench_runs_exactly_n_plus_warmup_and_reports_ms(rig):
    s = rig.session()
    m = s.load(batch_model())
    before = rig.calls(s, "aclmdlExecute")
    r = bench(m, n=30, warmup=4, batch=4)
    assert rig.calls(s, "aclmdlExecute") - before == 34
    assert rig.calls(s, "aclrtMalloc") == 3, "x, the mbatch input and logits, once for the whole benchmark"
    assert (r.n, r.warmup, r.batch, r.gear) == (30, 4, 4, (4,))
    for figure in FIGURES:
        f = r[figure]
        assert f["count"] == 30 and len(r.samples[figure]) == 30
        assert 0 <= f["min"] <= f["p50"] <= f["p90"] <= f["p99"] <= f["max"]
        assert f["min"] <= f["mean"] <= f["max"]
        assert f["mean"] == pytest.approx(np.mean(r.samples[figure]))
        assert f["p90"] == pytest.approx(np.percentile(r.samples[figure], 90))
    assert r["execute"]["mean"] <= r["total"]["mean"]
    assert r.throughput == pytest.approx(1000 * 4 / r["execute"]["mean"])
    assert r.simulated is (rig.kind == "sim")


def test_bench_summary_uses_ais_bench_key_names(rig, tmp_path):
    s = rig.session()
    m = s.load(batch_model())
    x = np.zeros((1, 3, 8, 8), np.float32)
    r = acl.bench(m, n=10, warmup=0, inputs=x)
    assert r.batch == 1 and r.gear == (1,)
    path = tmp_path / "summary.json"
    text = r.to_json(path)
    data = json.loads(path.read_text())
    assert json.loads(text) == data
    for key in ("NPU_compute_time", "H2D_latency", "D2H_latency"):
        assert set(data[key]) == {"min", "max", "mean", "median", "percentile(90%)", "percentile(99%)", "count"}
    assert data["NPU_compute_time"]["median"] == r["execute"]["p50"]
    assert data["throughput"] == r.throughput
    assert data["npu_compute_time_list"] == r.samples["execute"]
    assert data["acl_notebook"]["unit"] == "ms"


def test_bench_refuses_bad_counts_and_inputs_before_running(rig):
    s = rig.session()
    m = s.load(batch_model())
    for n, warmup in ((0, 1), (5, -1)):
        with pytest.raises(ValueError):
            bench(m, n=n, warmup=warmup)
    for n, warmup in ((True, 1), (2.5, 1)):  # not a count at all (tests/test_hostile_args.py has the rest)
        with pytest.raises(TypeError):
            bench(m, n=n, warmup=warmup)
    with pytest.raises(ValueError, match="gears: 1, 4"):
        bench(m, n=3, batch=2)
    assert rig.calls(s, "aclmdlExecute") == 0


# -- rendering ----------------------------------------------------------------------------------------
def test_outputs_show_stats_and_flag_overflow():
    prob = np.array([[0.1, 0.7, 0.2]], np.float32)
    half = np.array([1.0, np.inf, -np.inf, np.nan, 3.0], np.float16)
    out = Outputs([prob, half], names=["prob:0", "h:0"], gear=(1,), timing=Timing(0.001, 0.002, 0.0005, 0.004),
                  simulated=True, fidelity="placeholder", notes=("n",), model="clf")
    rows = out.summary()
    assert rows[0] == {"name": "prob:0", "shape": (1, 3), "dtype": "float32", "min": pytest.approx(0.1),
                       "max": pytest.approx(0.7), "mean": pytest.approx(1 / 3), "argmax": (0, 1), "nan": 0, "inf": 0}
    assert (rows[1]["nan"], rows[1]["inf"], rows[1]["max"], rows[1]["argmax"]) == (1, 2, 3.0, (1,))
    text = render_text(out)
    assert "prob:0" in text and "0.7" in text and "(0, 1)" in text and "simulated" in text
    assert "execute 2.000 ms" in text
    html = render_html(out)
    assert "prob:0" in html and "d32f2f" in html.split("h:0")[1], "Inf/NaN counts are shown in the error colour"
    assert "<script" not in html
    assert out._repr_html_() == html
    assert repr(out) == "Outputs(prob:0: (1, 3) float32, h:0: (5,) float16, simulated)"


def test_bench_result_renders_a_table_and_a_histogram():
    samples = {f: [1.0 + i / 10 for i in range(50)] for f in FIGURES}
    r = BenchResult("clf", "acl", 50, 5, 8, (8,), samples)
    text = render_text(r)
    assert "50 runs after 5 warmup" in text and "execute (aclmdlExecute)" in text and "p99" in text
    assert "simulated" not in text
    html = render_html(r)
    assert html.count("<rect") == 20 and "<svg" in html and "runs per bin" in html
    counts, edges, beyond = r.histogram()
    assert sum(counts) == 50 and edges[0] == 1.0 and beyond == 0
    slow = BenchResult("clf", "acl", 101, 0, 1, None, {f: [1 + i / 100 for i in range(100)] + [50.0] for f in FIGURES})
    counts, edges, beyond = slow.histogram()
    assert beyond == 1 and sum(counts) == 100 and edges[-1] < 50, "one outlier does not squash the rest"
    assert "1 slower run beyond" in render_html(slow)


# -- magics -------------------------------------------------------------------------------------------
def test_acl_run_random_and_from_a_variable(ip, capsys):
    ip.user_ns["blob"] = batch_model()
    ip.run_line_magic("acl_load", "-v blob")
    out = ip.run_line_magic("acl_run", "clf --random --batch 4 -o res")
    assert isinstance(out, Outputs) and out.gear == (4,) and out[0].shape == (4, 10)
    assert ip.user_ns["res"] is out
    ip.user_ns["arr"] = np.ones((1, 3, 8, 8), np.float32)
    again = ip.run_line_magic("acl_run", "-i arr")
    assert again.gear == (1,)
    ip.user_ns.pop("res", None)


@pytest.mark.parametrize("line,fragment", [
    ("clf", "-i VAR"),
    ("clf -i arr --random", "not both"),
    ("nope --random", "No loaded model 'nope'"),
    ("clf -i missing", "No variable named 'missing'"),
    ("clf -i arr", "gears: 1, 4"),
    ("clf --random --batch 3", "gears: 1, 4"),
    ("clf --random --hw 4", "--hw takes two integers"),
    ("clf --random --dims a,b", "integers separated by commas"),
    ("clf --random --batch 1 --hw 2,2", "one of --batch"),
])
def test_acl_run_errors_are_one_line(ip, capsys, line, fragment):
    ip.user_ns["blob"] = batch_model()
    ip.run_line_magic("acl_load", "-v blob")
    ip.user_ns["arr"] = np.ones((2, 3, 8, 8), np.float32)
    before = registry()
    message = fails_with_one_line(ip, capsys, f"%acl_run {line}")
    assert fragment in message
    assert registry() == before


def test_acl_bench_magic_and_json(ip, tmp_path):
    ip.user_ns["blob"] = batch_model()
    ip.run_line_magic("acl_load", "-v blob")
    path = tmp_path / "b.json"
    r = ip.run_line_magic("acl_bench", f"clf -n 12 --warmup 2 --batch 4 --json {path}")
    assert isinstance(r, BenchResult) and r.n == 12 and r.batch == 4
    assert json.loads(path.read_text())["NPU_compute_time"]["count"] == 12


def test_acl_bench_errors_are_one_line(ip, capsys):
    ip.user_ns["blob"] = batch_model()
    ip.run_line_magic("acl_load", "-v blob")
    assert "Argument n must be an int from 1 to 1,000,000" in fails_with_one_line(ip, capsys, "%acl_bench clf -n 0")
    assert "gears: 1, 4" in fails_with_one_line(ip, capsys, "%acl_bench clf --batch 9")
    ip.user_ns["blob2"] = batch_model(name="other")
    ip.run_line_magic("acl_load", "-v blob2")
    assert "Several models are loaded" in fails_with_one_line(ip, capsys, "%acl_bench")
    ip.user_ns.pop("blob2")


def test_bench_prints_nothing_outside_a_notebook(rig, capsys):
    s = rig.session()
    m = s.load(batch_model())
    bench(m, n=40, warmup=1)  # long enough for a bar in a notebook
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
