"""A test rig that gives the same behavioural tests a simulated or an ABI-library device.

`Rig.session(soc=..., memory=..., devices=...)` returns a fresh, started `Session` whose
device has those properties: on "sim" through `configure`, on "acl" by telling the compiled
fake libascendcl (tests/abi) what to be and pointing the binding at it through
ASCEND_HOME_PATH, the way a user would.
"""

from __future__ import annotations

from typing import Optional

from acl_notebook.runtime.socs import FALLBACK_SOC, get_profile
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
            c.set_run_mode(int(get_profile(soc).run_mode))  # RC on the 310B boards, as the simulator
            if memory is not None:
                c.set_memory(memory, idle if idle is not None else min(memory // 8, 2 * 1024**3))
            self.monkeypatch.setenv("ASCEND_HOME_PATH", str(self.root))
            s = Session(Config(backend="acl"))
        s.start()
        self.sessions.append(s)
        return s

    def live(self, session: Session) -> dict[str, int]:
        """Live allocations, data buffers, datasets, streams and descs in the runtime."""
        if self.kind == "sim":
            return session.backend.live_objects()
        return self.control.live_objects()

    def calls(self, session: Session, func: str) -> int:
        """How many times the runtime saw `func` called (since the session was made)."""
        if self.kind == "sim":
            return session.backend.calls.get(func, 0)
        return self.control.calls(func)

    def memcpy_log(self, session: Session) -> list[tuple[int, int, int, int]]:
        """The last aclrtMemcpy calls the runtime saw, oldest first: (dst, src, count, kind)."""
        if self.kind == "sim":
            return list(session.backend.memcpy_log)
        return self.control.memcpy_log()

    def close(self) -> None:
        for s in self.sessions:
            s.shutdown()
        if self.kind != "sim":  # the C library is one per process: leave it as a fresh one has it
            self.control.reset()  # (a test that opens it without a rig must not get this one's SoC)
