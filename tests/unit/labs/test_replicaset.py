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


# ------------------------------------------------- the course's pod1 / replica1 (template)

from kubetm.labs import observe  # noqa: E402

from .conftest import DictKube, _ctx  # noqa: E402


def _web_pod(name, uid, image="app:v1", owner="replica1"):
    meta = {"name": name, "uid": uid, "labels": {"type": "web"}}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "controller": True}]
    return {
        "metadata": meta,
        "spec": {"containers": [{"image": f"localhost:5001/kubetm/{image}"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


class TemplateKube(DictKube):
    """replica1 and its pods; ``on_template`` says what the RS does when its template changes."""

    def __init__(self, pods, on_template=None, on_delete=None):
        rs = {
            "metadata": {"name": "replica1", "generation": 1},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1},
        }
        super().__init__({("ReplicaSet", "replica1"): rs})
        self.pods, self.on_template, self.on_delete = pods, on_template, on_delete

    def list(self, kind, namespace=None, selector=None, **_):
        return list(self.pods) if kind == "Pod" else super().list(kind)

    def apply(self, objs):
        super().apply(objs)
        if objs[0]["kind"] == "ReplicaSet" and self.on_template:
            self.pods = self.on_template(objs[0])
        return []

    def delete(self, objs, **_):
        super().delete([objs] if isinstance(objs, dict) else objs)
        if self.on_delete:
            self.pods = self.on_delete()
        return []


def test_rs_adopts_existing_pod(monkeypatch):
    monkeypatch.setattr(
        observe, "ready_pod", lambda ctx, name, **_: _web_pod(name, "u1", owner=None)
    )
    kube = TemplateKube([_web_pod("pod1", "u1")])
    ctx = _ctx(kube, "replicaset")
    ok, detail = replicaset.rs_adopts_existing_pod(ctx)
    assert ok and "holds pod1 (ReplicaSet/replica1): it adopted pod1 and created none" in detail
    assert ctx.state["replicaset.pod1_uid"] == "u1"
    assert [o["kind"] for o in kube.applied] == ["Pod", "ReplicaSet"]
    kube = TemplateKube([_web_pod("pod1", "u1"), _web_pod("replica1-x", "u2")])
    ok, detail = replicaset.rs_adopts_existing_pod(_ctx(kube, "replicaset"))
    assert not ok and "replica1-x" in detail


def test_template_change_leaves_pod1_and_the_replacement_is_new():
    kube = TemplateKube(
        [_web_pod("pod1", "u1")],
        on_template=lambda rs: [_web_pod("pod1", "u1")],
        on_delete=lambda: [_web_pod("replica1-new", "u2", image="app:v2")],
    )
    ok, detail = replicaset.template_change_only_new_pods(
        _ctx(kube, "replicaset", **{"replicaset.pod1_uid": "u1"})
    )
    assert ok and "pod1 kept running app:v1" in detail and "replica1-new runs app:v2" in detail
    image = kube.applied[0]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "localhost:5001/kubetm/app:v2"


def test_template_change_that_replaces_running_pods_fails():
    kube = TemplateKube(
        [_web_pod("pod1", "u1")],
        on_template=lambda rs: [_web_pod("replica1-y", "u3", image="app:v2")],
    )
    ok, detail = replicaset.template_change_only_new_pods(
        _ctx(kube, "replicaset", **{"replicaset.pod1_uid": "u1"})
    )
    assert not ok and "replica1-y (app:v2)" in detail


def test_template_change_needs_the_adoption_check():
    ok, detail = replicaset.template_change_only_new_pods(_ctx(TemplateKube([]), "replicaset"))
    assert not ok and "needs replica1" in detail


def test_selector_mismatch_must_be_refused(monkeypatch):
    msg = (
        'apply replicaset kubetm-lab-replicaset-2/replica-mismatch: invalid: ReplicaSet.apps "replica-mismatch" '
        'is invalid: spec.template.metadata.labels: Invalid value: {"type":"web","ver":"v2"}: '
        "`selector` does not match template `labels`"
    )
    monkeypatch.setattr(observe, "api_refusal", lambda ctx, step: (True, msg))
    ok, detail = replicaset.selector_must_match_template(_ctx(DictKube(), "replicaset"))
    assert ok and detail.endswith(
        'refused: spec.template.metadata.labels: Invalid value: {"type":"web","ver":"v2"}: `selector` does not match template `labels`'
    )
    monkeypatch.setattr(
        observe, "api_refusal", lambda ctx, step: (False, "steps/selector-mismatch was accepted")
    )
    ok, detail = replicaset.selector_must_match_template(_ctx(DictKube(), "replicaset"))
    assert not ok and "ACCEPTED" in detail
