"""The simulated SoC follows the models (`soc="auto"`, the default), and every SoC name an
.om carries in practice has a profile; an explicit SoC keeps the strict rule, and real
hardware (the ABI library) keeps its one SoC whatever the setting says."""

from __future__ import annotations

import pytest
from shared_models import model_path

from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runtime.errors import AclError
from acl_notebook.runtime.socs import FALLBACK_SOC, PROFILES, get_profile, profile_for_model, soc_family
from acl_notebook.session import Config, DeviceMemoryError, Session

MiB, GiB = 1024**2, 1024**3
PONG, LANE = model_path("a3c_pong_model_v2"), model_path("my_122_anenet")  # no SoC / Ascend310B4

# Every name ATC is given in practice (torch_npu's SocVersion enum, CANN's platform files).
PRACTICE = (
    ["Ascend310", "Ascend310P1", "Ascend310P3", "Ascend310P5", "Ascend310P7"]
    + [f"Ascend310B{i}" for i in range(1, 5)]
    + ["Ascend910", "Ascend910A", "Ascend910B", "Ascend910ProA", "Ascend910ProB", "Ascend910PremiumA"]
    + [f"Ascend910B{i}" for i in range(1, 5)] + ["Ascend910B4-1"]
    + ["Ascend910_9391", "Ascend910_9392", "Ascend910_9381", "Ascend910_9382", "Ascend910_9372", "Ascend910_9362"]
)


def om(name: str, soc: str, work: int = 4 * MiB, weight: int = 1 * MiB) -> bytes:
    return write_om(ModelSpec(name=name, soc_version=soc, inputs=[TensorSpec("x", (1, 8), "float32", "ND")],
                              outputs=[TensorSpec("y", (1, 8), "float32", "ND")],
                              work_size=work, weight_size=weight))


@pytest.fixture
def default():
    """A session with the default configuration (what a new user gets)."""
    s = Session(Config(backend="sim"))
    yield s
    s.shutdown()


# -- profiles ----------------------------------------------------------------------------
@pytest.mark.parametrize("soc", PRACTICE)
def test_every_practical_soc_has_a_profile_with_a_source(soc):
    p = get_profile(soc)
    assert p.memory_kind == ("DDR" if soc.startswith("Ascend310") else "HBM")
    assert 2 * GiB < p.total < 64 * GiB and 0 < p.idle_used < p.total // 2
    assert p.source.startswith("[") and p.source.split()[0] in ("[doc", "[spec", "[est")


def test_published_sizes():
    # Totals are the product's memory less the reservation (1/64 of HBM, 1/16 of DDR).
    assert get_profile("Ascend910B1").total == 64 * GiB - GiB
    assert get_profile("Ascend910B4").total == 32 * GiB - GiB // 2
    assert get_profile("Ascend910ProB").total == 32 * GiB - GiB // 2
    assert get_profile("Ascend910_9391").total == 63 * GiB
    assert get_profile("Ascend310P3").total == 24 * GiB - (24 * GiB) // 16
    assert get_profile("Ascend310B4").total == 8 * GiB - GiB // 2


def test_families_keep_the_first_generation_apart_from_a2():
    assert soc_family("Ascend910B1") == soc_family("Ascend910B4-1") == "Ascend910B"
    assert {soc_family(s) for s in ("Ascend910", "Ascend910A", "Ascend910B", "Ascend910ProB",
                                    "Ascend910PremiumA")} == {"Ascend910"}
    assert soc_family("Ascend910_9372") == "Ascend910_93"
    assert soc_family("Ascend310P7") == "Ascend310P" != soc_family("Ascend310B1") == "Ascend310B"
    assert soc_family("Ascend310") == "Ascend310"
    assert profile_for_model("Ascend910B9").family == "Ascend910B"  # a newer member: its family
    assert profile_for_model("Ascend999X1") is None


def test_unknown_soc_setting_lists_auto_and_the_profiles():
    with pytest.raises(ValueError) as info:
        Session().configure(backend="sim", soc="Ascend999")
    assert "'auto'" in str(info.value) and "Ascend310P5" in str(info.value)


# -- auto --------------------------------------------------------------------------------
def test_first_model_decides_and_says_so(default):
    assert default.info().soc == FALLBACK_SOC
    assert "first model" in default.info().soc_source
    lane = default.load(LANE)
    assert default.info().soc == "Ascend310B4"
    assert "became an Ascend310B4" in lane.soc_note and FALLBACK_SOC in lane.soc_note
    assert default.info().soc_source == f"auto: adopted from model {lane.name!r}"
    report = default.memory()
    assert (report.kind, report.total) == ("DDR", get_profile("Ascend310B4").total)
    assert report.soc == "Ascend310B4"
    # Said once: the next model of the family loads quietly.
    again = default.load(LANE)
    assert again.soc_note == ""


@pytest.mark.parametrize("order", [(PONG, LANE), (LANE, PONG)])
def test_both_real_models_load_in_either_order(default, order):
    first, second = (default.load(p) for p in order)
    assert first.loaded and second.loaded
    assert default.info().soc == "Ascend310B4"
    assert sum(m.memory for m in default.models()) == default.memory().used - default.memory().other


def test_model_without_soc_says_it_does_not_decide(default):
    pong = default.load(PONG)
    assert "names no SoC" in pong.soc_note and default.info().soc == FALLBACK_SOC
    assert "first model" in default.info().soc_source


def test_cli_demo_model_loads_on_a_default_session(default, tmp_path, capsys):
    from acl_notebook.__main__ import main

    out = tmp_path / "demo.om"
    assert main(["demo-model", str(out), "--size-mb", "2"]) == 0
    m = default.load(out)
    assert m.loaded and m.info.soc_version == "Ascend310P3"
    assert default.info().soc == "Ascend310P3" and default.memory().kind == "DDR"


def test_another_family_is_refused_with_the_simulator_fix(default):
    lane = default.load(LANE, name="lane")
    with pytest.raises(AclError) as info:
        default.load(om("big", "Ascend910B3"))
    err = info.value
    assert err.code == 507008 and err.name == "ACL_ERROR_RT_SOC_VERSION"
    assert "%acl_config --soc Ascend910B3" in err.hint and "unload lane" in err.hint
    assert "ATC" not in err.hint
    assert [m.id for m in default.models()] == [lane.id] and default.info().soc == "Ascend310B4"


def test_unloading_the_deciding_model_lets_the_next_one_decide(default):
    pong = default.load(PONG)
    lane = default.load(LANE)
    default.unload(lane)
    assert default.info().soc == "Ascend310B4"  # stays until a model decides again
    big = default.load(om("big", "Ascend910B3"))
    assert default.info().soc == "Ascend910B3" and "became an Ascend910B3" in big.soc_note
    assert pong.loaded and default.memory().kind == "HBM"


def test_a_refused_adoption_changes_nothing(default):
    default.configure(memory=64 * MiB)
    pong = default.load(PONG)
    before = default.memory()
    with pytest.raises((DeviceMemoryError, AclError)):
        default.load(om("huge", "Ascend310P3", work=80 * MiB))
    after = default.memory()
    assert (after.soc, after.kind, after.free, after.total) == (before.soc, before.kind, before.free, before.total)
    assert [m.id for m in default.models()] == [pong.id]


def test_auto_with_forced_load_that_does_not_fit_changes_nothing(default):
    default.configure(memory=64 * MiB)
    with pytest.raises(AclError) as info:
        default.load(om("huge", "Ascend310P3", work=80 * MiB), force=True)
    assert info.value.code == 207001
    assert default.info().soc == FALLBACK_SOC and "first model" in default.info().soc_source


def test_explicit_soc_is_strict_and_names_the_setting():
    s = Session(Config(backend="sim", soc="Ascend910B1"))
    try:
        keep = s.load(PONG)
        assert keep.soc_note == ""
        assert s.info().soc_source == "set by configuration"
        with pytest.raises(AclError) as info:
            s.load(LANE)
        assert info.value.code == 507008
        assert "set by configuration" in info.value.hint and "--soc Ascend310B4" in info.value.hint
        assert "--soc auto" in info.value.hint
        s.unload(keep)
        s.configure(soc="auto")
        assert s.load(LANE).loaded and s.info().soc == "Ascend310B4"
    finally:
        s.shutdown()


def test_soc_auto_setting_equals_the_default_and_needs_no_restart(default):
    m = default.load(PONG)
    default.configure(soc="auto")  # same as the default: no restart, nothing unloaded
    assert m.loaded and default.models()[0] is m


def test_env_auto(monkeypatch):
    monkeypatch.setenv("ACL_NOTEBOOK_SOC", "AUTO")
    monkeypatch.setenv("ACL_NOTEBOOK_BACKEND", "sim")
    s = Session()
    try:
        assert s.config.soc is None and s.load(LANE).loaded and s.info().soc == "Ascend310B4"
    finally:
        s.shutdown()


# -- real hardware: one SoC, auto does not apply ------------------------------------------
def test_acl_backend_keeps_its_soc(acl_rig):
    s = acl_rig.session(soc="Ascend910B1")
    info = s.info()
    assert (info.backend, info.soc, info.soc_source) == ("acl", "Ascend910B1", "")
    assert "ignored" not in info.note  # auto is the default, not a setting to warn about
    with pytest.raises(AclError) as err:
        s.load(LANE)
    assert err.value.code == 507008 and "ATC" in err.value.hint  # rebuild: the device is fixed
    assert s.info().soc == "Ascend910B1" and s.models() == ()
    assert s.load(PONG).soc_note == ""


def test_fake_acl_family_rule_matches(acl_rig):
    """The ABI library and the simulator agree on first-generation 910 vs 910B."""
    s = acl_rig.session(soc="Ascend910B1")
    with pytest.raises(AclError) as err:
        s.load(om("gen1", "Ascend910B"))  # first-generation variant B, not an A2
    assert err.value.code == 507008
    assert s.load(om("a2", "Ascend910B4-1")).loaded
    sim = Session(Config(backend="sim", soc="Ascend910B1"))
    try:
        with pytest.raises(AclError):
            sim.load(om("gen1", "Ascend910B"))
        assert sim.load(om("a2", "Ascend910B4-1")).loaded
    finally:
        sim.shutdown()


def test_profiles_table_has_no_duplicates_or_blank_products():
    assert len(PROFILES) == len(set(PROFILES)) and all(p.product for p in PROFILES.values())


def test_info_and_configure_keep_a_programs_own_context(default):
    """info() now asks the device for its total: a program's current context must survive it."""
    default.start()
    own = default.backend.create_context(0)  # a program's context, current on this thread
    default.info()
    default.configure(device=0)
    assert default.backend.get_current_context() == own
