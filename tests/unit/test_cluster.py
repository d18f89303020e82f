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


def test_the_cluster_asks_about_the_stock_node_image(fake, monkeypatch):
    """cluster.plan uses the same decision for the kind node image (no second decide_offline)."""
    from kubetm.host import offline

    monkeypatch.setattr(offline, "can_build", lambda: (True, ""))
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
        and p.reason
        == f"no registry answers ({cluster.stock_node_image()} cannot be pulled), the offline build can run here"
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
