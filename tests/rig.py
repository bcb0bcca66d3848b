"""A test rig that gives the same behavioural tests a simulated or an ABI-library device.

`Rig.session(soc=..., memory=..., devices=...)` returns a fresh, started `Session` whose
device has those properties: on "sim" through `configure`, on "acl" by telling the compiled
fake libascendcl (tests/abi) what to be and pointing the binding at it through
ASCEND_HOME_PATH, the way a user would.
"""

from __future__ import annotations

from typing import Optional

from acl_notebook.runtime.socs import FALLBACK_SOC
from acl_notebook.session import Config, Session


class Rig:
    def __init__(self, kind: str, monkeypatch, control=None, root=None) -> None:
        self.kind = kind
        self.monkeypatch = monkeypatch
        self.control = control  # FakeAclControl for "acl"
        self.root = root
        self.sessions: list[Session] = []

    def session(self, soc: str = FALLBACK_SOC, memory: Optional[int] = None, devices: int = 1,
                idle: Optional[int] = None) -> Session:
        if self.kind == "sim":
            s = Session(Config(backend="sim", soc=soc, memory=memory, devices=devices))
        else:
            c = self.control
            c.reset()
            c.set_soc(soc)
            c.set_device_count(devices)
            if memory is not None:
                c.set_memory(memory, idle if idle is not None else min(memory // 8, 2 * 1024**3))
            self.monkeypatch.setenv("ASCEND_HOME_PATH", str(self.root))
            s = Session(Config(backend="acl"))
        s.start()
        self.sessions.append(s)
        return s

    def close(self) -> None:
        for s in self.sessions:
            s.shutdown()
