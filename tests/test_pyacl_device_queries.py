"""The calls around inference public programs make besides the core surface, on both backends:
``acl.get_version``, ``acl.rt.get_device``, ``acl.rt.get_device_utilization_rate``,
``acl.rt.synchronize_stream_with_timeout`` and ``acl.mdl.get_input_dims_range``, with pyACL's
return shapes and ACL's codes."""

from __future__ import annotations

import threading
import time

import pytest
from pyacl_helpers import H2D, Program, batch_spec, image, outputs_on, pyacl_installed

UTILIZATION_KEYS = {"cube_utilization", "vector_utilization", "aicpu_utilization", "memory_utilization",
                    "utilization_extend"}


@pytest.fixture
def two_device_env(rig):
    """`env` on a machine with two devices, and the rig under it."""
    session = rig.session(soc="Ascend910B1", devices=2)
    with pyacl_installed(session) as acl:
        yield acl, session, rig


def in_thread(fn):
    box = []
    t = threading.Thread(target=lambda: box.append(fn()))
    t.start()
    t.join()
    return box[0]


def test_get_version_is_the_runtimes_api_version(two_device_env):
    acl, session, _ = two_device_env
    major, minor, patch, ret = acl.get_version()
    assert ret == 0
    assert f"{major}.{minor}.{patch}" == session.backend.versions().acl_api != ""


def test_get_device_follows_the_threads_current_context(two_device_env):
    # in a thread of the program's own (the test's main thread holds the session's context)
    acl, _, _ = two_device_env

    def program():
        assert acl.rt.get_device() == (0, 107002)  # no device set yet: libraries read this as "set one up"
        assert "107002" in acl.get_recent_err_msg()
        assert acl.rt.set_device(1) == 0
        assert acl.rt.get_device() == (1, 0)
        ctx0, ret = acl.rt.create_context(0)
        assert ret == 0 and acl.rt.get_device() == (0, 0)  # the new context is current
        assert in_thread(acl.rt.get_device) == (0, 107002)  # contexts are per thread
        assert in_thread(lambda: (acl.rt.set_context(ctx0), acl.rt.get_device())[1]) == (0, 0)
        assert acl.rt.destroy_context(ctx0) == 0
        assert acl.rt.reset_device(1) == 0
        return acl.rt.get_device()[1]

    assert in_thread(program) == 107002


def test_utilization_rate_has_pyacls_keys_and_the_runtimes_figures(two_device_env):
    acl, session, rig = two_device_env
    if rig.kind == "acl":
        rig.control.set_utilization(1, 37, -1, 5)
        info, ret = acl.rt.get_device_utilization_rate(1)
        assert ret == 0
        assert info == {"cube_utilization": 37, "vector_utilization": -1, "aicpu_utilization": 5,
                        "memory_utilization": -1, "utilization_extend": 0}
    else:
        assert acl.rt.set_device(0) == 0
        idle, ret = acl.rt.get_device_utilization_rate(0)
        assert ret == 0 and set(idle) == UTILIZATION_KEYS and idle["cube_utilization"] == 0
        p = Program(acl)
        p.feed(image(1))
        end = time.monotonic() + 0.4  # the simulator reports the share of the last second spent executing
        while time.monotonic() < end:
            assert acl.mdl.execute(p.model_id, p.ins, p.outs) == 0
        busy, ret = acl.rt.get_device_utilization_rate(0)
        assert ret == 0 and busy["cube_utilization"] > 0 and busy["memory_utilization"] == -1
        assert busy["vector_utilization"] == busy["cube_utilization"]  # the 910B has a Vector unit


def test_utilization_rate_refusals_keep_the_dict_shape(two_device_env):
    acl, _, _ = two_device_env
    info, ret = acl.rt.get_device_utilization_rate(7)
    assert ret == 107001 and info == dict.fromkeys(UTILIZATION_KEYS, 0)
    assert acl.finalize() == 0
    info, ret = acl.rt.get_device_utilization_rate(0)
    assert ret == 100001 and set(info) == UTILIZATION_KEYS
    assert acl.init() == 0
    with pytest.raises(TypeError):
        acl.rt.get_device_utilization_rate("0")


def test_synchronize_with_timeout_makes_async_outputs_final(two_device_env):
    acl, session, _ = two_device_env
    p = Program(acl)
    x = image(4)
    p.feed(x)
    stream, _ = acl.rt.create_stream()
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, stream) == 0
    assert acl.rt.synchronize_stream_with_timeout(stream, 1000) == 0
    (want,) = outputs_on(session, p.om, [x])
    assert p.read() == want
    assert acl.rt.synchronize_stream_with_timeout(stream, -1) == 0  # -1: wait as long as it takes
    assert acl.rt.synchronize_stream_with_timeout(0, 5) == 0  # the context's default stream
    assert acl.rt.destroy_stream(stream) == 0


def test_synchronize_with_timeout_checks_the_timeout_first(two_device_env):
    acl, _, _ = two_device_env
    p = Program(acl)
    stream, _ = acl.rt.create_stream()
    assert acl.rt.synchronize_stream_with_timeout(stream, -2) == 107000
    assert acl.rt.synchronize_stream_with_timeout(0xBAD0, -5) == 107000  # before the stream is looked at
    assert acl.rt.synchronize_stream_with_timeout(0xBAD0, 10) == 107017
    assert acl.rt.destroy_stream(stream) == 0
    assert acl.rt.synchronize_stream_with_timeout(stream, 10) == 107017  # destroyed: stale
    assert in_thread(lambda: acl.rt.synchronize_stream_with_timeout(0, 10)) == 107002  # no context there
    with pytest.raises(TypeError):
        acl.rt.synchronize_stream_with_timeout(0, 2**31)  # a C int
    del p


def test_feeding_while_a_timed_sync_waits_for_the_right_stream(two_device_env):
    # two streams: the timed sync of one leaves the other's queued run alone (on the simulator
    # its output changes only when that stream is synchronized)
    acl, session, rig = two_device_env
    p = Program(acl)
    x = image(6)
    p.feed(x)
    first, _ = acl.rt.create_stream()
    second, _ = acl.rt.create_stream()
    ptr, size = p.out_ptrs[0]
    mark = b"\xcd" * size
    assert acl.rt.memcpy(ptr, size, acl.util.bytes_to_ptr(mark), size, H2D) == 0
    assert acl.mdl.execute_async(p.model_id, p.ins, p.outs, second) == 0
    assert acl.rt.synchronize_stream_with_timeout(first, 100) == 0
    if rig.kind == "sim":
        assert p.read() == mark  # not yet: its stream was not the one synchronized
    assert acl.rt.synchronize_stream_with_timeout(second, 100) == 0
    assert p.read() == outputs_on(session, p.om, [x])[0]
    assert acl.rt.destroy_stream(first) == 0 and acl.rt.destroy_stream(second) == 0


def test_input_dims_range_as_acl_reports_it(two_device_env):
    acl, _, _ = two_device_env
    static = Program(acl)
    assert acl.mdl.get_input_dims_range(static.desc, 0) == (
        {"rangeCount": 4, "range": [[1, 1], [3, 3], [16, 16], [16, 16]]}, 0)  # a static input: [d, d]
    assert acl.mdl.get_input_dims_range(static.desc, 1) == ({"rangeCount": 0, "range": []}, 100000)
    geared = Program(acl, batch_spec())
    for i in range(acl.mdl.get_num_inputs(geared.desc)):  # a multi-gear model has no shape ranges
        assert acl.mdl.get_input_dims_range(geared.desc, i) == ({"rangeCount": 0, "range": []}, 0)
    empty = acl.mdl.create_desc()
    assert acl.mdl.get_input_dims_range(empty, 0)[1] == 100000
    assert acl.mdl.get_input_dims_range(0xDEAD, 0)[1] == 100000
    assert acl.mdl.destroy_desc(empty) == 0
