"""Random programs of copies, event records, waits, syncs and queries on two streams, checked
against a plain model of the simulator's rule: a stream's tasks are performed in launch order,
only when the program waits for them or observes them, and only as far as it needs.

Each stream has its own device buffer D and page-locked buffer P: a "put" copies a constant
pattern into D, a "get" copies D into P. After every step the bytes in both P buffers (read
with a synchronous copy, which performs nothing) must be the model's.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from acl_notebook.runtime.simulator import SimulatorBackend

H2H, H2D, D2H = 0, 1, 2
N = 16

ops = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, 1), st.integers(1, 4)),
    st.tuples(st.just("get"), st.integers(0, 1)),
    st.tuples(st.just("record"), st.integers(0, 1)),
    st.tuples(st.just("wait"), st.integers(0, 1), st.integers(0, 1)),
    st.tuples(st.just("sync"), st.integers(0, 1)),
    st.tuples(st.just("observe"), st.integers(0, 1)),
), min_size=4, max_size=40)


class Model:
    """The rule, written plainly: pending tasks per stream, performed on demand."""

    def __init__(self) -> None:
        self.pending: list[list] = [[], []]
        self.d, self.p = [0, 0], [0, 0]
        self.latest: list = [None, None]  # each event's latest record task
        self.recorded = [False, False]

    def perform(self, i: int, through=None) -> None:
        queue = self.pending[i]
        if through is not None and not any(t is through for t in queue):
            return
        while queue:
            task = queue.pop(0)
            kind = task[0]
            if kind == "put":
                self.d[i] = task[1]
            elif kind == "get":
                self.p[i] = self.d[i]
            elif kind == "record":
                self.recorded[task[1]] = True
            elif kind == "wait" and task[1] is not None:
                self.perform(task[2], task[1])
            if task is through:
                return


def read(b, ptr: int) -> int:
    out = np.zeros(N, np.uint8)
    b.memcpy(out.ctypes.data, N, ptr, N, H2H)
    assert len(set(out.tolist())) == 1
    return int(out[0])


@settings(max_examples=300, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])
@given(ops)
@example([("put", 0, 1), ("record", 0), ("get", 0), ("observe", 0)])  # no further than the record
@example([("put", 1, 2), ("get", 1), ("record", 1), ("wait", 0, 1), ("sync", 0)])  # the wait performs stream 1
@example([("put", 1, 3), ("record", 1), ("get", 1), ("wait", 0, 1), ("sync", 0)])  # ... only up to the record
def test_random_stream_programs_follow_the_rule(program):
    b = SimulatorBackend(soc="Ascend910B1")
    b.init()
    b.create_context(0)
    streams = [b.create_stream(), b.create_stream()]
    events = [b.create_event(), b.create_event()]
    dev = [b.malloc(N) for _ in range(2)]
    pinned = [b.malloc_host(N) for _ in range(2)]
    for ptr in pinned:
        b.memcpy(ptr, N, np.zeros(N, np.uint8).ctypes.data, N, H2H)
    sources = {}
    for v in range(1, 5):
        sources[v] = b.malloc_host(N)
        b.memcpy(sources[v], N, np.full(N, v, np.uint8).ctypes.data, N, H2H)
    for ptr in dev:
        b.memcpy(ptr, N, np.zeros(N, np.uint8).ctypes.data, N, H2D)
    m = Model()
    for op in program:
        kind, i = op[0], op[1]
        if kind == "put":
            b.memcpy_async(dev[i], N, sources[op[2]], N, H2D, streams[i])
            m.pending[i].append(("put", op[2]))
        elif kind == "get":
            b.memcpy_async(pinned[i], N, dev[i], N, D2H, streams[i])
            m.pending[i].append(("get",))
        elif kind == "record":
            b.record_event(events[i], streams[i])
            task = ("record", i)
            m.pending[i].append(task)
            m.latest[i] = task
        elif kind == "wait":
            j = op[2]
            b.stream_wait_event(streams[i], events[j])
            m.pending[i].append(("wait", m.latest[j], j))
        elif kind == "sync":
            b.synchronize_stream(streams[i])
            m.perform(i)
        else:
            done = b.query_event_status(events[i])
            if m.latest[i] is not None:
                m.perform(i, m.latest[i])
            assert done == m.recorded[i]
        assert [read(b, p) for p in pinned] == m.p, f"after {op}"
    for i in range(2):
        b.synchronize_stream(streams[i])
        m.perform(i)
    assert [read(b, p) for p in pinned] == m.p
    b.finalize()
