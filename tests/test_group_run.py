"""Running a model group: the same input on every device, a batch split across devices
with the model's gears, and a benchmark of all devices at once, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import acl_notebook as acl
from acl_notebook import display
from acl_notebook.fanout import DeviceOutputs, FleetBench, SplitOutputs, take, trim
from acl_notebook.group import load_group
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.shard import Piece, batch_sizes, pieces, plan, shard_rows

MiB = 1024**2


def batch_model(gears=(1, 2, 4)) -> bytes:
    return write_om(ModelSpec(
        name="net", soc_version="Ascend910B1",
        inputs=[TensorSpec("x", (-1, 3, 8, 8), "float16", "NCHW")],
        outputs=[TensorSpec("y", (-1, 10), "float32", "ND")],
        dynamic_kind="batch", gears=[(g,) for g in gears], work_size=4 * MiB, weight_size=MiB,
    ))


def static_model(batch=1) -> bytes:
    return write_om(ModelSpec(
        name="fixed", soc_version="Ascend910B1",
        inputs=[TensorSpec("x", (batch, 3, 8, 8), "float16", "NCHW")],
        outputs=[TensorSpec("y", (batch, 10), "float32", "ND")], work_size=4 * MiB, weight_size=MiB,
    ))


def rows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, 8, 8)).astype(np.float16)


# -- the shard planner ---------------------------------------------------------------------
def test_shards_are_contiguous_and_even():
    assert shard_rows(11, 4) == [(0, 3), (3, 6), (6, 9), (9, 11)]
    assert shard_rows(2, 4) == [(0, 1), (1, 2), (2, 2), (2, 2)]
    with pytest.raises(ValueError):
        shard_rows(4, 0)


def test_pieces_use_only_accepted_batch_sizes_and_pad_the_tail():
    assert pieces(0, 7, (1, 2, 4)) == [Piece(0, 4, 4), Piece(4, 6, 2), Piece(6, 7, 1)]
    assert pieces(0, 5, (2, 4)) == [Piece(0, 4, 4), Piece(4, 5, 2)]  # last row padded up to gear 2
    assert pieces(0, 3, (8,)) == [Piece(0, 3, 8)]
    assert pieces(2, 5, None) == [Piece(2, 5, 3)]
    assert pieces(3, 3, (1,)) == []
    for shard in plan(37, 3, (1, 4, 8)):
        assert all(p.batch in (1, 4, 8) and 0 < p.rows <= p.batch for p in shard)
    with pytest.raises(ValueError, match="empty"):
        plan(0, 2, None)


def test_take_pads_with_the_last_row_and_trim_drops_it():
    x = rows(5)
    p = Piece(3, 5, 4)
    part = take({"x": x}, p)["x"]
    assert part.shape == (4, 3, 8, 8) and np.array_equal(part[:2], x[3:5])
    assert np.array_equal(part[2], x[4]) and np.array_equal(part[3], x[4])
    assert trim([np.zeros((4, 10))], p)[0].shape == (2, 10)


# -- runs --------------------------------------------------------------------------------
def test_run_gives_every_device_the_same_input(rig):
    s = rig.session(devices=4, memory=1024 * MiB)
    g = load_group(s, batch_model(), "all")
    x = rows(4)
    out = g.run(x)
    assert isinstance(out, DeviceOutputs) and out.where == ("device 0", "device 1", "device 2", "device 3")
    alone = g[0].run(x)
    for o in out:
        assert o.gear == (4,) and np.array_equal(o[0], alone[0])
    assert "Ran 'net' on 4 devices at once" in display.render_text(out)


def test_split_cuts_the_batch_across_devices_within_the_gears(rig):
    s = rig.session(devices=4, memory=1024 * MiB)
    g = load_group(s, batch_model((1, 2, 4)), "all")
    x = rows(11, seed=1)
    out = g.run(x, split=True)
    assert isinstance(out, SplitOutputs) and out[0].shape == (11, 10) and out[out.names[0]] is out[0]
    assert [(sh.where, sh.start, sh.stop) for sh in out.shards] == [
        ("device 0", 0, 3), ("device 1", 3, 6), ("device 2", 6, 9), ("device 3", 9, 11)]
    for shard, model in zip(plan(11, 4, (1, 2, 4)), g):
        for p in shard:  # every row is what its own device computes for its own piece
            expect = trim(list(model.run(take(x, p))), p)[0]
            assert np.array_equal(out[0][p.start:p.stop], expect)
    assert "Split run: 11 rows over 4 devices" in display.render_text(out)


def test_split_pads_a_tail_no_gear_fits_and_trims_it_again(rig):
    s = rig.session(devices=2, memory=1024 * MiB)
    g = load_group(s, batch_model((2, 4)), "all")
    out = g.run(rows(5), split=True)
    assert out[0].shape == (5, 10)
    assert [(sh.runs, sh.padded) for sh in out.shards] == [(2, 1), (1, 0)]  # 3 rows = 2 + (1 padded to 2)


def test_split_of_a_static_model_runs_its_fixed_batch(rig):
    s = rig.session(devices=2, memory=1024 * MiB)
    g = load_group(s, static_model(1), "all")
    assert batch_sizes(g[0]) == (1,)
    out = g.run(rows(3), split=True)
    assert out[0].shape == (3, 10) and [sh.runs for sh in out.shards] == [2, 1]


def test_split_mistakes_are_refused_before_any_run(rig):
    s = rig.session(devices=2, memory=1024 * MiB)
    g = load_group(s, batch_model(), "all")
    with pytest.raises(ValueError, match="do not pass batch="):
        g.run(rows(4), split=True, batch=2)
    with pytest.raises(ValueError, match="batch axis"):
        g.run(np.float16(1.0), split=True)


def test_a_bad_input_is_said_once_as_itself_and_the_group_stays_loaded(rig):
    s = rig.session(devices=3, memory=1024 * MiB)
    g = load_group(s, batch_model(), "all")
    single = None
    try:
        g[0].run(rows(3).astype(np.int32))
    except Exception as exc:
        single = exc
    assert single is not None
    with pytest.raises(type(single)) as err:
        g.run(rows(3).astype(np.int32))
    assert str(err.value) == str(single) and g.loaded  # device 0's words, once
    assert len(g.run(rows(2))) == 3  # still usable


def test_a_group_with_an_unloaded_copy_says_which(rig):
    s = rig.session(devices=2, memory=1024 * MiB)
    g = load_group(s, batch_model(), "all")
    g[1].unload()
    with pytest.raises(ValueError, match="not loaded on 1"):
        g.run(rows(1))


# -- bench -------------------------------------------------------------------------------
def test_bench_runs_every_device_at_once_and_sums_the_throughput(rig):
    s = rig.session(devices=3, memory=1024 * MiB)
    g = load_group(s, batch_model(), "all")
    b = g.bench(n=20, warmup=2, inputs=rows(4))
    assert isinstance(b, FleetBench) and b.where == ("device 0", "device 1", "device 2")
    assert [r.n for r in b.results] == [20, 20, 20] and all(r.batch == 4 for r in b.results)
    assert b.throughput == pytest.approx(sum(r.throughput for r in b.results))
    assert b.samples == 3 * 20 * 4 and b.wall_seconds > 0
    assert set(b.to_dict()["devices"]) == {"device 0", "device 1", "device 2"}
    text = display.render_text(b)
    assert "on 3 devices at once" in text and "summary throughput" in text


def test_api_bench_takes_a_group_or_its_name():
    acl.configure(backend="sim", devices=2, memory=1024 * MiB)
    try:
        g = acl.load(batch_model(), device="all")
        assert isinstance(acl.bench(g, n=5, warmup=1), FleetBench)
        assert acl.bench("net", n=5, warmup=1).where == ("device 0", "device 1")
    finally:
        acl.unload_all()


def test_run_and_bench_magics_take_a_group_by_name(tmp_path):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "acl_notebook")
    acl.configure(backend="sim", devices=2, memory=1024 * MiB)
    try:
        acl.load(batch_model(), device="all")
        ip.user_ns["x"] = rows(7)
        out = ip.run_line_magic("acl_run", "net -i x --split")
        assert isinstance(out, SplitOutputs) and out[0].shape == (7, 10)
        each = ip.run_line_magic("acl_run", "net --random")
        assert isinstance(each, DeviceOutputs) and len(each) == 2
        path = tmp_path / "fleet.json"
        b = ip.run_line_magic("acl_bench", f"net -n 5 --warmup 1 --json {path}")
        assert isinstance(b, FleetBench) and '"throughput"' in path.read_text()
        with pytest.raises(UsageError, match="split=True shards a batch"):
            acl.load(batch_model(), name="one", device=0)
            ip.run_line_magic("acl_run", "one -i x --split")
    finally:
        ip.user_ns.pop("x", None)
        acl.unload_all()
        ip.run_line_magic("unload_ext", "acl_notebook")
