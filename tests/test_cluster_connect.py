"""`acl.cluster.connect()` joins a Ray cluster someone else started (here: a Ray instance
started in this process with two NPUs declared, as `ray start --resources` would) and
leaves it running when done."""

from __future__ import annotations

import pytest

import acl_notebook as acl
from acl_notebook.cluster.results import ClusterError
from acl_notebook.om.writer import ModelSpec, write_om

MiB = 1024**2


@pytest.fixture(scope="module")
def user_ray():
    import ray

    ray.init(num_cpus=1, resources={"NPU": 2}, include_dashboard=False, log_to_driver=False, namespace="user")
    yield ray
    acl.cluster.shutdown()
    ray.shutdown()


def test_connect_starts_one_worker_per_npu_pinned_to_its_node_and_leaves_ray_running(user_ray):
    ray = user_ray
    c = acl.cluster.connect(timeout=90)
    node = next(n for n in ray.nodes() if n["Alive"])
    infos = [w.info for w in c.workers]
    assert sorted(i.device for i in infos) == [0, 1]  # the NPU ids Ray handed out
    assert {i.node_id for i in infos} == {node["NodeID"]}
    assert {i.host for i in infos} == {node["NodeManagerHostname"]}
    assert {i.backend for i in infos} == {"sim"}  # no CANN on this machine: "auto" picks the simulator
    m = acl.cluster.load(write_om(ModelSpec(name="net", soc_version="Ascend910B1", work_size=MiB, weight_size=MiB)))
    assert len(m.loaded) == 2
    acl.cluster.shutdown()
    assert ray.is_initialized()  # a cluster we joined is not ours to stop
    with pytest.raises(ClusterError, match="no cluster"):
        acl.cluster.models()


def test_connect_to_a_cluster_without_npus_says_how_to_declare_them(user_ray, monkeypatch):
    monkeypatch.setattr(user_ray, "nodes", lambda: [{"Alive": True, "NodeID": "n1", "Resources": {"CPU": 4.0}}])
    with pytest.raises(ClusterError, match=r"no NPU resource on any alive node.*--resources"):
        acl.cluster.connect()
