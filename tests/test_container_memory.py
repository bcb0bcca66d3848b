"""End to end in a container allowing 64 MiB (a fake cgroup v2 tree, `small_cgroup`) on a host
with gigabytes free: what the kernel would be OOM-killed for is refused through the public
API with `acl.HostMemoryError` naming the container's limit, and what is loaded stays loaded.
Both backends (the simulator, and ctypes over the C test library)."""

from __future__ import annotations

import numpy as np
import pytest
from graph_builder import Graph

import acl_notebook as acl
from acl_notebook import hostbuf
from acl_notebook.om.opgraph import Tensor
from acl_notebook.om.writer import ModelSpec, TensorSpec, write_om
from acl_notebook.runtime.errors import AclError

MiB = 1 << 20
LIMIT = 64 * MiB
CGROUP = r"the container's memory limit \(cgroup\) of 64.0 MiB leaves only 48.0 MiB \(16.0 MiB in use\)"


def model(name: str, inputs, outputs) -> bytes:
    return write_om(ModelSpec(name=name, soc_version="Ascend910B1", inputs=inputs, outputs=outputs,
                              work_size=MiB, weight_size=MiB))


def test_random_inputs_past_the_container_limit(rig, small_cgroup):
    s = rig.session()
    tiny = [TensorSpec("x", (1, 4), "float32", "ND")], [TensorSpec("y", (1, 4), "float32", "ND")]
    small = s.load(model("small", *tiny))
    big = s.load(model("big", [TensorSpec("x", (1, 5, 2048, 2048), "float32", "NCHW")],
                       [TensorSpec("y", (1, 10), "float32", "ND")]))  # an 80 MiB input
    assert hostbuf.host_shortfall(80 * MiB) is None  # the host alone has room for it
    small_cgroup(LIMIT, used=16 * MiB)
    for call in (lambda: acl.random_inputs(big), lambda: acl.bench(big, n=1, warmup=0)):
        with pytest.raises(acl.HostMemoryError, match=r"random input set for model 'big' is 80.0 MiB but " + CGROUP
                           + r"; pass arrays of your own"):
            call()
    assert [m.name for m in s.models()] == ["small", "big"] and big.loaded
    assert small(np.ones((1, 4), np.float32))[0].shape == (1, 4)  # what fits still runs


def test_a_run_whose_outputs_pass_the_container_limit(rig, small_cgroup):
    s = rig.session()
    m = s.load(model("wide", [TensorSpec("x", (1, 4), "float32", "ND")],
                     [TensorSpec("y", (1, 20 * MiB), "float32", "ND")]))  # an 80 MiB output
    x = np.ones((1, 4), np.float32)
    small_cgroup(LIMIT, used=16 * MiB)
    if rig.kind == "sim":  # its device memory is this host's RAM: ACL's own out-of-memory answer
        with pytest.raises(AclError, match=r"cannot give 80.0 MiB now \(" + CGROUP) as refused:
            m(x)
        assert refused.value.code == 207001
    else:  # the C library holds the device side; the output array is what this host must hold
        with pytest.raises(acl.HostMemoryError, match=r"output 'y(:0)?' is 80.0 MiB but " + CGROUP
                           + "; run a smaller gear"):
            m(x)
    assert m.loaded and [n.name for n in s.models()] == ["wide"]
    small_cgroup(LIMIT * 4)  # the pod is resized
    assert m(x)[0].shape == (1, 20 * MiB)


def test_reference_whose_working_memory_passes_the_container_limit(small_cgroup):
    g = Graph()
    g.input("x", (2048, 4096), "float16", "ND")  # 16 MiB in; the Relu holds it and its result as float32: 64 MiB
    g.op("a", "Relu", ["x"], Tensor((2048, 4096), "float16", "ND", "ND"))
    g.op("s", "ReduceSumD", ["a"], Tensor((1,), "float32", "ND", "ND"), axes=[0, 1])
    data = g.build("s")
    x = np.ones((2048, 4096), np.float16)
    assert float(acl.reference(data, x)[0][0]) == 2048 * 4096
    small_cgroup(LIMIT, used=16 * MiB)
    with pytest.raises(acl.HostMemoryError,
                       match=r"working memory for this run with a 25% margin \(at Relu 'a'\) is .* but " + CGROUP):
        acl.reference(data, x)
