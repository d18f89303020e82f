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
    monkeypatch.delenv("KUBETM_NODE_IMAGE", raising=False)
    monkeypatch.delenv("KUBETM_PORT_SCHEME", raising=False)
    monkeypatch.delenv("KUBETM_HOST_PORT_OFFSET", raising=False)
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

    monkeypatch.setattr(offline, "can_build", lambda *a: (True, ""))
    fake.present.add(cluster.stock_node_image())
    p = cluster.plan()
    assert (p.offline, p.reason, p.node_image) == (
        False,
        f"{cluster.stock_node_image()} is available",
        cluster.stock_node_image(),
    )
    fake.present.clear()
    p = cluster.plan()
    assert (
        p.offline
        and p.reason
        == f"no registry answers ({cluster.stock_node_image()} cannot be pulled), the offline build can run here"
    )
    assert p.node_image == versions()["NODE_IMAGE"]


def test_out_of_disk_is_one_clear_line(fake, monkeypatch, tmp_path):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(cluster.shutil, "disk_usage", lambda p: Usage(100e9, 99e9, 1e9))
    with pytest.raises(KubetmError) as e:
        cluster.check_disk(offline=True, paths=[str(tmp_path)])
    assert "out of disk" in str(e.value) and "1.0 GB free" in str(e.value)
    assert "the offline build and cluster need about 16 GB" in str(e.value)


def test_enough_disk_passes(fake, monkeypatch, tmp_path):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(cluster.shutil, "disk_usage", lambda p: Usage(100e9, 10e9, 90e9))
    cluster.check_disk(offline=True, paths=[str(tmp_path / "not" / "yet")])


def test_a_built_node_image_needs_only_the_clusters_room(fake, monkeypatch, tmp_path):
    """Rehearsal s7b: 15.0 GB free, the offline node image built long ago, and `cluster up`
    refused to recreate the cluster because the offline *build* needs ~16 GB."""
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(cluster.shutil, "disk_usage", lambda p: Usage(100e9, 90e9, 10e9))
    node_image = versions()["NODE_IMAGE"]
    assert cluster.disk_needed_gb(offline=True) == 16  # nothing built yet
    with pytest.raises(KubetmError, match="the offline build and cluster need about 16 GB"):
        cluster.check_disk(offline=True, paths=[str(tmp_path)])
    fake.present.add(node_image)
    assert cluster.disk_needed_gb(offline=True) == cluster.disk_needed_gb(offline=False) == 6
    cluster.check_disk(offline=True, paths=[str(tmp_path)])
    monkeypatch.setattr(cluster.shutil, "disk_usage", lambda p: Usage(100e9, 95e9, 5e9))
    with pytest.raises(KubetmError, match=r"5\.0 GB free .* the cluster needs about 6 GB"):
        cluster.check_disk(offline=True, paths=[str(tmp_path)])


def test_plan_goes_offline_with_a_built_node_image_on_a_fuller_disk(fake, monkeypatch):
    """No registry answers, 10 GB free: offline with the node image built, one clear line without."""
    import shutil

    from kubetm.host import offline

    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(100e9, 90e9, 10e9))
    monkeypatch.setattr(offline.os, "geteuid", lambda: 0)
    with pytest.raises(KubetmError, match=r"the offline build needs ~16 GB, 10\.0 GB free"):
        cluster.plan()
    fake.present.add(versions()["NODE_IMAGE"])
    p = cluster.plan()
    assert p.offline and p.node_image == versions()["NODE_IMAGE"]


def test_busy_node_port_is_refused_before_kind_starts(monkeypatch):
    monkeypatch.setattr(cluster, "NODE_PORTS", [18099])
    with socket.socket() as s:
        s.bind(("127.0.0.2", 18099))
        s.listen()
        with pytest.raises(KubetmError) as e:
            cluster._check_ports(cluster.kind_config("kubetm", offline=False))
    assert "127.0.0.2:18099 is already in use" in str(e.value)
    assert "KUBETM_HOST_PORT_OFFSET" in e.value.hint


def test_a_missing_address_is_told_apart_from_a_busy_port(monkeypatch):
    """macOS without sudo: 127.0.0.2 does not exist (EADDRNOTAVAIL) -> the localhost scheme."""
    problems = {("127.0.0.2", 30000): "not available"}
    monkeypatch.setattr(cluster.net, "bind_problem", lambda port, host: problems.get((host, port)))
    with pytest.raises(KubetmError) as e:
        cluster._check_ports(cluster.kind_config("kubetm", offline=False))
    assert str(e.value).startswith("address 127.0.0.2 is not available on this host")
    assert "KUBETM_PORT_SCHEME=localhost" in e.value.hint


def test_the_stock_node_image_is_pinned_by_digest_and_always_passed(fake, monkeypatch):
    pinned = versions()["KIND_NODE_IMAGE"]
    assert pinned.startswith("kindest/node:v1.34.0@sha256:") and len(pinned.split(":")[-1]) == 64
    assert cluster.stock_node_image() == pinned
    monkeypatch.setenv("KUBETM_OFFLINE", "0")
    assert cluster.plan().node_image == pinned  # never None (kind's built-in default)
    monkeypatch.setenv("KUBETM_NODE_IMAGE", "kindest/node:rehearsal")
    assert cluster.plan().node_image == "kindest/node:rehearsal"


def test_localhost_scheme_config_publishes_every_node_on_127_0_0_1(fake, monkeypatch):
    monkeypatch.setenv("KUBETM_OFFLINE", "0")
    monkeypatch.setenv("KUBETM_PORT_SCHEME", "localhost")
    monkeypatch.setenv("KUBETM_HOST_PORT_OFFSET", "1000")
    p = cluster.plan("kubetm-online")
    assert (p.port_scheme, p.port_offset) == ("localhost", 1000)
    seen = set()
    for i, node in enumerate(p.config["nodes"]):
        by_port = {m["containerPort"]: m for m in node["extraPortMappings"]}
        assert {m["listenAddress"] for m in by_port.values()} == {"127.0.0.1"}
        assert by_port[30001]["hostPort"] == 31001 + 100 * i
        assert by_port[18080]["hostPort"] == 19080 + 100 * i
        seen |= {m["hostPort"] for m in by_port.values()}
    assert len(seen) == 3 * len(cluster.NODE_PORTS)  # no two nodes share a host port


def test_scheme_follows_what_the_host_can_bind(fake, monkeypatch):
    monkeypatch.setenv("KUBETM_OFFLINE", "0")
    monkeypatch.setattr(cluster.net, "address_available", lambda host: host == "127.0.0.1")
    p = cluster.plan()
    assert p.port_scheme == "localhost" and "127.0.0.2 cannot be bound" in p.port_scheme_reason
    monkeypatch.setattr(cluster.net, "address_available", lambda host: True)
    assert cluster.plan().port_scheme == "loopback"


def test_metrics_server_online_uses_the_local_image_else_pulls_by_digest(fake):
    pinned = versions()["METRICS_SERVER_IMAGE"]
    tagged = pinned.split("@")[0]
    assert "@sha256:" in pinned and tagged.endswith(":" + versions()["METRICS_SERVER_VERSION"])
    fake.present.add(tagged)  # a local copy under the public name (the rehearsal's retag)
    assert cluster.online_metrics_server_image() == (
        tagged,
        "present locally (by its tag, not checked against the digest)",
    )
    assert not any(c[1] == "pull" for c in fake.calls)
    fake.present.clear()
    with pytest.raises(KubetmError, match="neither present locally nor pullable"):
        cluster.online_metrics_server_image()
    assert ["docker", "pull", pinned] in fake.calls  # streamed: progress, retries, deadline
    fake.pull_ok = True
    assert cluster.online_metrics_server_image() == (tagged, "pulled by digest")
    assert ["docker", "tag", pinned, tagged] in fake.calls
    assert not any("build" in c or "component-images.sh" in " ".join(c) for c in fake.calls)


def test_metrics_server_manifest_gets_the_online_image():
    from kubetm import manifests

    objs = manifests.load(manifests.manifest_root() / "cluster")
    out = cluster._metrics_server_image(objs, "upstream/metrics-server:v0.8.0")
    dep = next(o for o in out if o["kind"] == "Deployment")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "upstream/metrics-server:v0.8.0"
    )


def test_containment_runs_node_contain_sh_in_the_node(fake):
    from kubetm.host.offline import OFFLINE_DIR

    cluster.contain_node("kubetm-online-worker")
    call = fake.calls[-1]
    assert call[1:] == ["exec", "-i", "kubetm-online-worker", "sh", "-s"]
    script = fake.inputs[-1]
    assert script == (OFFLINE_DIR / "node-contain.sh").read_text()  # the boot unit's own rules
    assert "ip route replace unreachable" in script and "-j REJECT" in script


def test_host_port_bindings_read_back_from_docker(fake, monkeypatch):
    monkeypatch.setattr(
        cluster, "node_containers", lambda name: [{"Names": "x-worker", "State": "running"}]
    )
    fake.containers["x-worker"] = {
        "HostConfig": {
            "PortBindings": {
                "30000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "30100"}],
                "6443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "40000"}],
            }
        }
    }
    assert cluster.host_port_bindings("x") == {"x-worker": {30000: ("127.0.0.1", 30100)}}


def test_status_text_shows_where_the_host_reaches_each_node():
    report = {
        "name": "kubetm-online",
        "exists": True,
        "context": "kind-kubetm-online",
        "nodes": [
            {
                "name": f"kubetm-online-{n}",
                "ready": True,
                "version": "v1.34.3",
                "course_node": None,
                "host_address": "127.0.0.1",
                "host_ports": {"30000": f"127.0.0.1:{31000 + 100 * i}"},
            }
            for i, n in enumerate(["control-plane", "worker", "worker2"])
        ],
        "registry": {},
    }
    text = cluster.render(report)
    assert "NODEPORT 30000 FROM THE HOST" in text
    assert "127.0.0.1:31100" in text and "127.0.0.1:31200" in text


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


def _kind_node(name: str, cluster_name: str = "kubetm") -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"providerID": f"kind://docker/{cluster_name}/{name}"},
    }


def test_forgetting_node_port_connections_asks_each_kind_node(fake, monkeypatch):
    """conntrack -D in every kind node container for the NodePort; the counts come from its
    stderr (it exits 1 when nothing matched); a remote (non-kind) node is never touched."""
    answers = {
        "kubetm-worker": fake.cp(
            0,
            "tcp 6 59 SYN_SENT ...\n",
            "conntrack v1.4.7 (conntrack-tools): 273 flow entries have been deleted.\n",
        ),
        "kubetm-worker2": fake.cp(
            1, "", "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n"
        ),
    }
    plain = fake.answer
    monkeypatch.setattr(
        fake, "answer", lambda a: answers[a[1]] if a[0] == "exec" and a[1] in answers else plain(a)
    )
    remote = {"metadata": {"name": "gke-node"}, "spec": {"providerID": "gce://p/z/gke-node"}}
    counts = cluster.forget_node_port_connections(
        [_kind_node("kubetm-worker"), _kind_node("kubetm-worker2"), remote], 30004
    )
    assert counts == {"kubetm-worker": 273, "kubetm-worker2": 0}
    execs = [c[1:] for c in fake.calls if c[1] == "exec"]
    assert execs == [
        ["exec", n, "conntrack", "-D", "-p", "tcp", "--orig-port-dst", "30004"]
        for n in ("kubetm-worker", "kubetm-worker2")
    ]


def test_forgetting_connections_skips_a_node_without_conntrack(fake, monkeypatch):
    plain = fake.answer
    monkeypatch.setattr(
        fake,
        "answer",
        lambda a: (
            fake.cp(126, "", 'OCI runtime exec failed: exec: "conntrack": not found')
            if a[0] == "exec"
            else plain(a)
        ),
    )
    assert cluster.forget_node_port_connections([_kind_node("kubetm-worker")], 30003) == {}


class _StartingKube:
    """The API server of a cluster whose Docker engine just restarted: refuses connections for
    ``refusals`` calls, then lists nodes that are Ready once waited for."""

    def __init__(self, refusals: int, ready_after_wait: bool = True):
        self.refusals = refusals
        self.ready = False
        self.ready_after_wait = ready_after_wait
        self.waits = 0

    def list(self, kind):
        from kubetm.errors import Unreachable

        if self.refusals:
            self.refusals -= 1
            raise Unreachable("cannot reach the API server at https://127.0.0.1:6443")
        cond = "True" if self.ready else "Unknown"
        return [
            {"metadata": {"name": n}, "status": {"conditions": [{"type": "Ready", "status": cond}]}}
            for n in ("kubetm-control-plane", "kubetm-worker", "kubetm-worker2")
        ]

    def wait_nodes_ready(self, count=None, timeout=300, progress=None):
        self.waits += 1
        if not self.ready_after_wait:
            raise KubetmError(
                f"timed out after {timeout:.0f}s waiting for {count} nodes to be Ready"
            )
        self.ready = True


def _containers(monkeypatch, states):
    monkeypatch.setattr(
        cluster,
        "node_containers",
        lambda name: [{"Names": n, "State": st} for n, st in states.items()],
    )


def test_a_cluster_restarting_after_docker_is_healed_in_place(fake, monkeypatch):
    """Docker engine restarted: a node container that did not come back is started, the API
    server refusing connections is waited for, then the nodes; nothing is recreated."""
    states = {
        "kubetm-control-plane": "running",
        "kubetm-worker": "exited",
        "kubetm-worker2": "running",
    }
    _containers(monkeypatch, states)
    started = []
    monkeypatch.setattr(
        cluster.docker, "start", lambda n, **kw: (started.append(n), states.update({n: "running"}))
    )
    kube = _StartingKube(refusals=2)
    lines = []
    ok, why = cluster._settle("kubetm", kube, lines.append, within=30)
    assert (ok, why) == (True, "healthy")
    assert started == ["kubetm-worker"] and kube.waits == 1
    assert any(
        "starting the cluster's stopped node containers: kubetm-worker" in ln for ln in lines
    )
    assert any("giving it up to 30s" in ln for ln in lines)


def test_a_cluster_that_never_settles_is_reported_unhealthy(fake, monkeypatch):
    _containers(
        monkeypatch,
        dict.fromkeys(("kubetm-control-plane", "kubetm-worker", "kubetm-worker2"), "running"),
    )
    kube = _StartingKube(refusals=0, ready_after_wait=False)
    ok, why = cluster._settle("kubetm", kube, lambda line: None, within=1)
    assert not ok and why.startswith("nodes not Ready")


def test_a_cluster_missing_a_node_container_is_not_waited_for(fake, monkeypatch):
    _containers(monkeypatch, {"kubetm-control-plane": "running", "kubetm-worker": "running"})
    kube = _StartingKube(refusals=0)
    ok, why = cluster._settle("kubetm", kube, lambda line: None, within=30)
    assert (ok, why) == (False, "2 node containers instead of 3") and kube.waits == 0
