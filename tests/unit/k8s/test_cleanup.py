"""Namespace deletion that a dead node cannot block (kubetm/k8s/cleanup.py)."""

from __future__ import annotations

import pytest

from kubetm.errors import Timeout
from kubetm.k8s.cleanup import delete_namespaces


def _node(name, ready):
    return {
        "metadata": {"name": name},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "Unknown"}]},
    }


class PodAPI:
    def __init__(self, kube):
        self.kube = kube

    def delete(self, name, namespace=None, body=None):
        assert body["gracePeriodSeconds"] == 0
        self.kube.forced.append(f"{namespace}/{name}")
        self.kube.pods = [p for p in self.kube.pods if p["metadata"]["name"] != name]


class StuckKube:
    """A namespace that goes away only once its pod on the stopped node is gone."""

    def __init__(self, node_ready=False):
        self.nodes = [_node("w1", True), _node("w2", node_ready)]
        self.pods = [
            {"metadata": {"name": "on-w1"}, "spec": {"nodeName": "w1"}},
            {"metadata": {"name": "on-w2"}, "spec": {"nodeName": "w2"}},
        ]
        self.ns = {"metadata": {"name": "kubetm-lab-x"}}
        self.forced: list = []
        self.deletes: list = []

    def get(self, kind, name, namespace=None, **_):
        return self.ns

    def delete(self, obj, wait=True, propagation="Foreground", **_):
        self.deletes.append((obj["metadata"]["name"], wait, propagation))
        self.ns["metadata"]["deletionTimestamp"] = "now"

    def list(self, kind, namespace=None, **_):
        return self.nodes if kind == "Node" else list(self.pods)

    def resource(self, kind, api_version=None):
        return PodAPI(self)

    def call(self, fn, *args, what="", **kwargs):
        return fn(*args, **kwargs)

    def watch_until(self, kind, name, predicate, timeout=0, **_):
        if any(p["spec"]["nodeName"] == "w2" for p in self.pods):
            raise Timeout("still terminating")
        self.ns = None
        return None


def test_pods_on_a_notready_node_are_forced_so_the_namespace_goes():
    kube = StuckKube(node_ready=False)
    done = delete_namespaces(kube, ["kubetm-lab-x"], timeout=30, check_every=0.01)
    assert kube.deletes == [("kubetm-lab-x", False, "Background")]
    assert kube.forced == ["kubetm-lab-x/on-w2"]  # only the pod on the dead node
    assert done.deleted == ["kubetm-lab-x"] and done.forced == ["kubetm-lab-x/on-w2 on w2"]
    assert done.line().startswith("namespace kubetm-lab-x deleted in ")
    assert "force-deleted 1 pod(s) on NotReady nodes" in done.line()


def test_nothing_is_forced_while_every_node_is_ready():
    kube = StuckKube(node_ready=True)
    with pytest.raises(Timeout, match="still terminating after 0.05s"):
        delete_namespaces(kube, ["kubetm-lab-x"], timeout=0.05, check_every=0.01)
    assert kube.forced == []


def test_missing_namespace_is_nothing_to_do():
    kube = StuckKube()
    kube.ns = None
    done = delete_namespaces(kube, ["kubetm-lab-x"])
    assert done.deleted == [] and kube.deletes == [] and done.line() == "nothing to delete"


def test_pods_at_once_deletes_every_pod_with_grace_0_first():
    kube = StuckKube(node_ready=True)  # every node Ready: nothing would be forced otherwise
    done = delete_namespaces(kube, ["kubetm-lab-x"], timeout=30, pods_at_once=True)
    assert kube.forced == ["kubetm-lab-x/on-w1", "kubetm-lab-x/on-w2"]
    assert done.at_once == 2 and done.forced == []
    assert "(2 pod(s) deleted at once, grace period 0)" in done.line()
    assert done.to_dict()["at_once"] == 2
