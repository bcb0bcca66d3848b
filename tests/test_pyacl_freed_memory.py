"""A pointer a program already gave back (``acl.rt.free``, ``acl.rt.free_host``) is refused with
107000 by every call that would write or read through it, on both backends, in EP and RC.

Why a child process: on the ctypes backend the C library's device and pinned host memory are
its own malloc heap, and a small freed block stays mapped there. Before this test the library
wrote through such a pointer (aclrtMemset, a host side of aclrtMemcpy / aclrtMemcpyAsync) and
corrupted the heap: glibc aborted the process ("malloc(): invalid size") or it segfaulted. The
runtime must refuse the stale pointer as the simulator does (it holds freed blocks back and
says 107000); each scenario runs in its own interpreter so a regression is a failure here, not
the end of the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CHILD = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {tests!r})
    backend, soc, scenario = sys.argv[1:4]
    import numpy as np
    from acl_notebook.runtime.socs import get_profile
    from acl_notebook.session import Config, Session
    if backend == "acl":
        from abi_lib import FakeAclControl
        control = FakeAclControl(os.environ["FAKEACL_LIB"])
        control.reset()
        control.set_soc(soc)
        control.set_run_mode(int(get_profile(soc).run_mode))
        session = Session(Config(backend="acl"))
    else:
        session = Session(Config(backend="sim", soc=soc))
    session.start()
    from acl_notebook import pyacl
    assert pyacl.install(force=True, session=session).installed
    import acl
    assert acl.init() == 0 and acl.rt.set_device(0) == 0
    stream, ret = acl.rt.create_stream()
    SIZE = 4096  # small: a freed block of the C library stays in its heap, mapped
    dev, _ = acl.rt.malloc(SIZE, 0)
    other, _ = acl.rt.malloc(SIZE, 0)
    host, _ = acl.rt.malloc_host(SIZE)
    data = bytes(SIZE)
    codes = []
    if scenario == "memset_device":
        acl.rt.free(dev)
        codes.append(acl.rt.memset(dev, SIZE, 0x5A, SIZE))
    elif scenario == "memset_async_device":
        acl.rt.free(dev)
        codes.append(acl.rt.memset_async(dev, SIZE, 0x5A, SIZE, stream))
        codes.append(acl.rt.synchronize_stream(stream) and -1)
    elif scenario == "memset_host":
        acl.rt.free_host(host)
        codes.append(acl.rt.memset(host, SIZE, 0x5A, SIZE))
    elif scenario == "memcpy_to_freed_host":
        acl.rt.free_host(host)
        codes.append(acl.rt.memcpy(host, SIZE, other, SIZE, 2))  # DEVICE_TO_HOST
    elif scenario == "memcpy_async_to_freed_host":
        acl.rt.free_host(host)
        codes.append(acl.rt.memcpy_async(host, SIZE, other, SIZE, 2, stream))
        codes.append(acl.rt.synchronize_stream(stream) and -1)
    elif scenario == "memcpy_d2d_to_freed":
        acl.rt.free(dev)
        codes.append(acl.rt.memcpy(dev, SIZE, other, SIZE, 3))  # DEVICE_TO_DEVICE
    elif scenario == "memcpy_from_freed_host":
        acl.rt.free_host(host)
        codes.append(acl.rt.memcpy(other, SIZE, host, SIZE, 1))  # HOST_TO_DEVICE
    # the heap must still be sound: allocate and touch a lot of small host memory
    keep = [np.full(n, 7, np.uint8) for n in (48, 4096, 4000, 8192) for _ in range(50)]
    assert sum(int(k.sum()) for k in keep) == 7 * 50 * (48 + 4096 + 4000 + 8192)
    print(json.dumps(codes))
""").format(tests=str(TESTS))

SCENARIOS = ["memset_device", "memset_async_device", "memset_host", "memcpy_to_freed_host",
             "memcpy_async_to_freed_host", "memcpy_d2d_to_freed", "memcpy_from_freed_host"]


@pytest.fixture(scope="module")
def child_env(tmp_path_factory):
    from abi_lib import build_fake_acl, cann_root

    lib = build_fake_acl(tmp_path_factory.getbasetemp() / "abi")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACL_NOTEBOOK_")}
    env.update(FAKEACL_LIB=str(lib), ASCEND_HOME_PATH=str(cann_root(lib)))
    return env


@pytest.mark.parametrize("soc", ["Ascend910B1", "Ascend310B4"])  # EP, RC
@pytest.mark.parametrize("backend", ["sim", "acl"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_freed_pointer_is_refused_and_the_process_lives(child_env, backend, soc, scenario):
    proc = subprocess.run([sys.executable, "-c", CHILD, backend, soc, scenario], capture_output=True, text=True,
                          env=child_env, timeout=120)
    assert proc.returncode == 0, f"the process died ({proc.returncode}):\n{proc.stderr[-2000:]}"
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert codes[0] == 107000, f"{scenario} on {backend}/{soc} answered {codes}, not 107000"
    assert codes[1:] in ([], [0]), codes  # the stream is still usable
