"""kubetm.cluster: decisions made before anything is created (no Docker, no kind: docker is faked)."""

from __future__ import annotations

import socket
from collections import namedtuple

import pytest
from host.fake_docker import install

from kubetm import cluster
from kubetm.errors import KubetmError
from kubetm.host.offline import versions


@pytest.fixture
def fake(monkeypatch):
    return install(monkeypatch)


def test_kind_config_has_three_nodes_publishing_on_their_own_loopback_address():
    cfg = cluster.kind_config("kubetm", offline=False)
    assert [n["role"] for n in cfg["nodes"]] == ["control-plane", "worker", "worker"]
    for i, node in enumerate(cfg["nodes"]):
        addrs = {m["listenAddress"] for m in node["extraPortMappings"]}
        ports = sorted(m["hostPort"] for m in node["extraPortMappings"])
        assert addrs == {f"127.0.0.{i + 1}"}
        assert ports == [18080] + list(range(30000, 30010))
    assert "config_path" in cfg["containerdConfigPatches"][0]
    assert "kubeadmConfigPatches" not in cfg


def test_offline_config_points_kubeadm_at_the_preloaded_images():
    cfg = cluster.kind_config("kubetm", offline=True)
    patch = cfg["kubeadmConfigPatches"][0]
    assert "kind: ClusterConfiguration" in patch and "imageRepository: kubetm.local" in patch


@pytest.mark.parametrize("env,expected", [("1", True), ("true", True), ("0", False)])
def test_kubetm_offline_env_decides(fake, monkeypatch, env, expected):
    monkeypatch.setenv("KUBETM_OFFLINE", env)
    assert cluster.plan().offline is expected
    assert not any(c[1] == "pull" for c in fake.calls)


def test_the_cluster_asks_about_the_stock_node_image(fake):
    """cluster.plan uses the same decision for the kind node image (no second decide_offline)."""
    fake.present.add(cluster.stock_node_image())
    p = cluster.plan()
    assert (p.offline, p.reason, p.node_image) == (
        False,
        f"{cluster.stock_node_image()} is available",
        None,
    )
    fake.present.clear()
    p = cluster.plan()
    assert (
        p.offline
        and p.reason == f"{cluster.stock_node_image()} is neither present locally nor pullable"
    )
    assert p.node_image == versions()["NODE_IMAGE"]


def test_out_of_disk_is_one_clear_line(monkeypatch, tmp_path):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(cluster.shutil, "disk_usage", lambda p: Usage(100e9, 99e9, 1e9))
    with pytest.raises(KubetmError) as e:
        cluster.check_disk(offline=True, paths=[str(tmp_path)])
    assert "out of disk" in str(e.value) and "1.0 GB free" in str(e.value)


def test_enough_disk_passes(monkeypatch, tmp_path):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(cluster.shutil, "disk_usage", lambda p: Usage(100e9, 10e9, 90e9))
    cluster.check_disk(offline=True, paths=[str(tmp_path / "not" / "yet")])


def test_busy_node_port_is_refused_before_kind_starts(monkeypatch):
    monkeypatch.setattr(cluster, "NODE_PORTS", [18099])
    with socket.socket() as s:
        s.bind(("127.0.0.2", 18099))
        s.listen()
        with pytest.raises(KubetmError) as e:
            cluster._check_ports()
    assert "127.0.0.2:18099 is already in use" in str(e.value)


KCM = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "kube-controller-manager", "namespace": "kube-system"},
    "spec": {
        "containers": [
            {
                "name": "kube-controller-manager",
                "command": ["kube-controller-manager", "--leader-elect=true"],
                "volumeMounts": [{"name": "k8s-certs", "mountPath": "/etc/kubernetes/pki"}],
            }
        ],
        "volumes": [{"name": "k8s-certs", "hostPath": {"path": "/etc/kubernetes/pki"}}],
    },
}


def test_recycler_patch_adds_flag_and_mount_once():
    patched = cluster.with_recycler(KCM)
    ctr = patched["spec"]["containers"][0]
    assert ctr["command"][:2] == KCM["spec"]["containers"][0]["command"]
    assert ctr["command"][-1] == f"{cluster.RECYCLER_FLAG}={cluster.RECYCLER_TEMPLATE}"
    assert {"name": "kubetm-recycler", "mountPath": cluster.RECYCLER_DIR, "readOnly": True} in ctr[
        "volumeMounts"
    ]
    assert any(v["name"] == "kubetm-recycler" for v in patched["spec"]["volumes"])
    assert cluster.with_recycler(patched) == patched  # idempotent: no second rewrite
    assert len(KCM["spec"]["containers"][0]["command"]) == 2  # the input is not changed


def test_recycler_pod_template_is_what_the_controller_manager_accepts():
    pod = cluster.recycler_pod("kubetm.local/kubetm-provisioner:v0.1.0")
    assert len(pod["spec"]["volumes"]) == 1  # the recycler swaps in the PV as volume 0
    ctr = pod["spec"]["containers"][0]
    assert ctr["volumeMounts"][0]["name"] == pod["spec"]["volumes"][0]["name"]
    assert ctr["imagePullPolicy"] == "IfNotPresent"
    assert pod["spec"]["nodeSelector"] == {"kubetm.io/course-node": "k8s-node1"}
