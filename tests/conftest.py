"""Shared fixtures: the real models, an isolated IPython/Jupyter home, and the two backends."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

import pytest
from backends import MODES, STATIC, Runner, build
from hypothesis import settings
from shared_models import MODELS_DIR

# Keep the user's IPython/Jupyter configuration out of every test run.
_HOME = Path(tempfile.mkdtemp(prefix="acl-notebook-test-home-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ.setdefault("IPYTHONDIR", str(_HOME / "ipython"))
os.environ.setdefault("MPLBACKEND", "agg")
# Tests choose their backend explicitly; never let a developer's env pick one.
os.environ.pop("ACL_NOTEBOOK_BACKEND", None)
os.environ.pop("ACL_NOTEBOOK_SOC", None)
# The suite is the gate CI runs, so property tests draw the same examples on every run (a
# run that found a counterexample once must not turn a later, unrelated landing red).
# HYPOTHESIS_PROFILE=explore draws fresh examples while you hunt for them.
settings.register_profile("gate", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))

def _panel_timers() -> set:
    import threading

    return {t for t in threading.enumerate() if t.name == "acl-notebook-panel-timer"}


@pytest.fixture(autouse=True)
def no_panel_timer_left_running():
    """A test that opens a panel closes it: a timer left running samples and redraws in the tests
    after it (a leaked %acl_panel's PNGs made test_reference_budget's traced peaks 7 MiB too high)."""
    before = _panel_timers()
    yield
    left = _panel_timers() - before
    assert not left, f"the test left {len(left)} panel timer(s) running: close the panels it opened"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not MODELS_DIR.is_dir():
        pytest.fail(f"{MODELS_DIR} is missing: the tests expect ../shared/models beside the repository")
    return MODELS_DIR


def _acl_rig(monkeypatch, tmp_path_factory):
    from abi_lib import FakeAclControl, build_fake_acl
    from rig import Rig

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    return Rig("acl", monkeypatch, FakeAclControl(lib), lib.parents[1])


@pytest.fixture(params=["sim", "acl"])
def rig(request, monkeypatch, tmp_path_factory):
    """The shared behavioural suite's device: the simulator, or the ctypes binding over the
    compiled C library with ACL's ABI (tests/abi)."""
    from rig import Rig

    r = _acl_rig(monkeypatch, tmp_path_factory) if request.param == "acl" else Rig("sim", monkeypatch)
    yield r
    r.close()


@pytest.fixture
def acl_rig(monkeypatch, tmp_path_factory):
    """The ctypes backend over the C test library alone (`rig`'s "acl" half)."""
    r = _acl_rig(monkeypatch, tmp_path_factory)
    yield r
    r.close()


# -- the backend-layer tests' devices (test_runtime_*.py, test_run.py; helpers in backends.py) --
@pytest.fixture(params=list(MODES))
def mode(request) -> str:
    """The run mode a backend test runs in, each in turn: a key of `backends.MODES`."""
    return request.param


@pytest.fixture
def dev(rig, mode):
    """A started session whose context is current on this thread, in EP or RC."""
    s = rig.session(soc=MODES[mode])
    s._use(0)
    return s


@pytest.fixture
def static(rig, mode):
    """A `backends.Runner` (datasets allocated, nothing copied yet) for a `backends.STATIC`
    model loaded in a session of `mode`, its context current."""
    s = rig.session(soc=MODES[mode])
    m = s.load(build(MODES[mode], *STATIC))
    s._use(0)
    r = Runner(s, m)
    yield r
    r.close()


@pytest.fixture
def sim_dev():
    """A started simulator session on an EP SoC, its context current: for what only the
    simulator can show (work waits on a stream until something waits for it)."""
    from acl_notebook.session import Config, Session

    s = Session(Config(backend="sim", soc="Ascend910B1"))
    s.start()
    s._use(0)
    yield s
    s.shutdown()


# -- the pyACL tests' programs' view (test_pyacl_*.py; helpers in pyacl_helpers.py) -----------
@pytest.fixture
def env(rig):
    """(acl, session): the pyACL image installed and initialised over a `rig` session on an
    EP SoC, as a program sees it after ``acl.init()``; uninstalled afterwards."""
    from pyacl_helpers import pyacl_installed

    session = rig.session(soc="Ascend910B1")
    with pyacl_installed(session) as acl:
        yield acl, session


@pytest.fixture
def env_with_device(rig):
    """`env` with ``acl.rt.set_device(0)`` done too, as most programs start."""
    from pyacl_helpers import pyacl_installed

    session = rig.session(soc="Ascend910B1")
    with pyacl_installed(session, set_device=True) as acl:
        yield acl, session


@pytest.fixture
def sim_env():
    """(acl, session) as `env`, on the simulator alone: for what only it can show (work waits
    on a stream until something waits for it)."""
    from pyacl_helpers import pyacl_installed

    from acl_notebook.session import Config, Session

    session = Session(Config(backend="sim", soc="Ascend910B1"))
    with pyacl_installed(session) as acl:
        yield acl, session
    session.shutdown()


# -- the magics tests' shell (helpers in magics_helpers.py) ------------------------------
@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """One InteractiveShell for the module, with its IPYTHONDIR in a temp dir."""
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    ip = InteractiveShell.instance()
    assert "ipython" in os.environ["IPYTHONDIR"] and Path(os.environ["IPYTHONDIR"]) != Path.home() / ".ipython"
    return ip


@pytest.fixture
def ip(shell):
    """The shell with the extension loaded and a fresh two-device Ascend910B1 simulator."""
    import acl_notebook as acl

    shell.run_line_magic("load_ext", "acl_notebook")
    acl.unload_all()
    acl.configure(backend="sim", soc="Ascend910B1", memory=16 << 30, devices=2, device=0)
    yield shell
    acl.unload_all()
    shell.run_line_magic("unload_ext", "acl_notebook")
    for name in ("m", "blob", "arr", "p"):
        shell.user_ns.pop(name, None)
    # %config writes into the shell's config too; start the next test without it
    shell.config.pop("AclMagics", None)


@pytest.fixture
def small_host(monkeypatch):
    """Returns `pretend(available)`: from then on the host has `available` bytes (MemAvailable)
    and no MemFree to spare, so every host-memory check (`hostbuf.host_shortfall`) asks."""
    from acl_notebook import hostbuf

    def pretend(available: int) -> None:
        monkeypatch.setattr(hostbuf, "_free_memory", lambda: 0)
        monkeypatch.setattr(hostbuf, "host_available_memory", lambda: available)

    return pretend


@pytest.fixture
def small_cgroup(monkeypatch, tmp_path):
    """Returns `pretend(limit, used=0)`: from then on the process sits in a container whose
    memory cgroup (a fake v2 tree, the namespace root mounted as containers see it) allows
    `limit` bytes, `used` of them in use; the host keeps its real MemFree and MemAvailable."""
    from fake_cgroup import v2

    from acl_notebook import cgroup

    def pretend(limit: int, used: int = 0):
        root = v2(tmp_path / "cgroup-root", "/kubepods/burstable/pod1/ctr", {"": (limit, used, 0)})
        monkeypatch.setattr(cgroup, "WATCH", cgroup.Watch(str(root)))
        return root

    return pretend


@pytest.fixture
def settle(monkeypatch):
    """Makes files count as settled 0.05 s after their last write (2.5 s in real use,
    `hostbuf.SETTLED_SECONDS`), and returns the wait that settles a file just written."""
    from acl_notebook import hostbuf

    monkeypatch.setattr(hostbuf, "SETTLED_SECONDS", 0.05)
    return lambda: time.sleep(0.1)


# -- the panel tests' sessions and panels (closed after each test) ----------------------
@pytest.fixture()
def default_session():
    """What a new user gets: the default configuration (soc auto) on the simulator, started."""
    from acl_notebook.session import Config, Session

    s = Session(Config(backend="sim"))
    s.start()
    yield s
    s.shutdown()


@pytest.fixture()
def kernel_session(monkeypatch):
    """A fresh simulated session (default configuration) standing in for the kernel's: the one
    the public API, the magics and a panel made with no session use."""
    import acl_notebook.session as session_mod

    s = session_mod.Session(session_mod.Config(backend="sim"))
    monkeypatch.setattr(session_mod, "_session", s)
    yield s
    s.shutdown()


@pytest.fixture()
def make_session():
    from acl_notebook.session import Config, Session

    made: list[Session] = []

    def make(soc: str = "Ascend910B1", memory: Optional[int] = None,
             devices: Optional[int] = None) -> Session:
        s = Session(Config(backend="sim", soc=soc, memory=memory, devices=devices))
        s.start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.shutdown()


@pytest.fixture()
def make_panel():
    from acl_notebook.widgets.panel import Panel

    made: list = []

    def make(session, **kw):
        kw.setdefault("autostart", False)
        p = Panel(session, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
