"""kubetm/labs/replicaset.py: the kind node behind a Node, the auto-healing check's refusals and
restore, and the selector cases (no cluster, no Docker)."""

from __future__ import annotations

import pytest

from kubetm.errors import KubetmError
from kubetm.labs import replicaset
from kubetm.labs.base import LabContext

from .conftest import CP_TAINT, node


def test_kind_node_container_from_provider_id_and_refusals():
    assert replicaset.kind_node_container(node("kubetm-worker")) == "kubetm-worker"
    with pytest.raises(KubetmError, match="not a kind node"):
        replicaset.kind_node_container(node("ip-10-0-0-1", provider="aws:///eu-west-1a/i-0abc"))
    with pytest.raises(KubetmError, match="not a kind node"):
        replicaset.kind_node_container(node("n1", provider=""))
    with pytest.raises(KubetmError, match="podman"):
        replicaset.kind_node_container(node("n1", provider="kind://podman/kubetm/{}"))


class HealKube:
    """Two Ready heal pods on two non-kind workers; any Docker call fails the test."""

    def __init__(self, provider):
        self.nodes = [
            node(
                "cp",
                [CP_TAINT],
                labels={"node-role.kubernetes.io/control-plane": ""},
                provider=provider,
            ),
            node("w1", provider=provider),
            node("w2", provider=provider),
        ]
        self.pods = [
            {
                "metadata": {"name": f"heal-{n}", "uid": n},
                "spec": {"nodeName": n},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
            for n in ("w1", "w2")
        ]

    def watch_until(self, kind, name=None, predicate=None, **_):
        assert kind == "Pod" and predicate(self.pods)
        return self.pods

    def list(self, kind, **_):
        return self.nodes if kind == "Node" else []


def test_auto_healing_refuses_a_non_kind_cluster_without_touching_docker(monkeypatch):
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"docker was called: {a}"))
    ctx = LabContext(kube=HealKube("aws:///eu-west-1a/{}"), lab=replicaset.LAB, timeout=240)
    with pytest.raises(KubetmError, match="not a kind node"):
        replicaset.auto_healing_node_down(ctx)


def test_auto_healing_always_restores_the_node(monkeypatch):
    calls = []

    def docker(args, **kw):
        from kubetm.host.exec import Result

        calls.append(args[0] if args[0] != "exec" or args[-2:] != ["sh", "-s"] else "contain")
        out = (
            "# /etc/containerd/certs.d/localhost:5001/hosts.toml\n[host]\n"
            if args[0] == "exec"
            else ""
        )
        return Result(("docker", *args), 0, out, "")

    class Kube(HealKube):
        def watch_until(self, kind, name=None, predicate=None, **kw):
            if kind == "Node" and "NotReady" in (kw.get("what") or ""):
                raise KubetmError("timed out waiting for node NotReady")
            if kind == "Node":
                return self.nodes[2]
            return super().watch_until(kind, name, predicate, **kw)

    from kubetm.host import docker as host_docker

    monkeypatch.setattr(host_docker, "run", docker)
    ctx = LabContext(kube=Kube("kind://docker/kubetm/{}"), lab=replicaset.LAB, timeout=240)
    with pytest.raises(KubetmError, match="NotReady"):
        replicaset.auto_healing_node_down(ctx)
    assert calls == [
        "exec",
        "stop",
        "start",
        "contain",
        "exec",
    ]  # config read, stop, ALWAYS start, containment re-applied, config re-checked


def test_selector_cases_report_what_each_selector_picked():
    pods = {"type=web": ["pod-web-v1", "pod-web-v2"], "type=db": ["pod-db"]}

    class Kube:
        def watch_until(self, *a, **k):
            return None

        def list(self, kind, namespace=None, selector=None):
            return [{"metadata": {"name": n}} for n in pods.get(selector, [])]

    ok, detail = replicaset._selector_cases(
        Kube(),
        "ns",
        [
            ("type=web", "type=web", {"pod-web-v1", "pod-web-v2"}),
            ("type=db", "type=db", {"pod-db-v3", "pod-db"}),
        ],
    )
    assert not ok
    assert "type=web -> pod-web-v1, pod-web-v2" in detail
    assert "type=db selected ['pod-db'], expected ['pod-db', 'pod-db-v3']" in detail
