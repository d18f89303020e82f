"""kubetm/labs/node_scheduling.py: the node patch that records what the lab changed, the clean-up
that undoes it from that record alone, and which pods a NoExecute taint would evict (no cluster)."""

from __future__ import annotations

import json

import pytest

from kubetm.errors import Conflict
from kubetm.labels import NODE_CHANGES
from kubetm.labs import node_scheduling as ns

from .conftest import DictKube, _ctx


def _node(name="w1", labels=None, taints=(), annotations=None, rv="7"):
    return {
        "metadata": {
            "name": name,
            "labels": dict(labels or {}),
            "annotations": dict(annotations or {}),
            "resourceVersion": rv,
        },
        "spec": {"taints": list(taints)},
    }


def _apply(node, patch):
    """What a strategic-merge patch does to labels, annotations and the (replaced) taint list."""
    meta = node["metadata"]
    for key in ("labels", "annotations"):
        for k, v in (patch["metadata"].get(key) or {}).items():
            if v is None:
                meta[key].pop(k, None)
            else:
                meta[key][k] = v
    node["spec"]["taints"] = list(patch["spec"]["taints"] or [])
    return node


def test_patch_records_before_it_changes_and_restores_previous_values():
    node = _node(labels={"a-team": "user-value"})
    patch = ns.node_patch(
        node, set_labels={"kr": "az-1", "a-team": "1"}, add_taints=(ns.NOSCHEDULE,)
    )
    assert patch["metadata"]["resourceVersion"] == "7"  # a concurrent change fails, not overwritten
    rec = json.loads(patch["metadata"]["annotations"][NODE_CHANGES])
    assert rec["labels"] == {"kr": None, "a-team": "user-value"}
    assert rec["taints"] == [ns.NOSCHEDULE]
    _apply(node, patch)
    assert node["metadata"]["labels"] == {"kr": "az-1", "a-team": "1"}
    assert node["spec"]["taints"] == [ns.NOSCHEDULE]
    # Setting again keeps the first previous value (not kubetm's own).
    _apply(node, ns.node_patch(node, set_labels={"a-team": "2"}))
    assert (
        json.loads(node["metadata"]["annotations"][NODE_CHANGES])["labels"]["a-team"]
        == "user-value"
    )
    _apply(
        node, ns.node_patch(node, restore_labels=("kr", "a-team"), remove_taints=(ns.NOSCHEDULE,))
    )
    assert node["metadata"]["labels"] == {"a-team": "user-value"}
    assert node["spec"]["taints"] == []
    assert NODE_CHANGES not in node["metadata"]["annotations"]  # nothing left to undo


def test_only_taints_the_lab_added_are_removed():
    theirs = {
        "key": "hw",
        "value": "gpu",
        "effect": "NoSchedule",
    }  # same key, not recorded by kubetm
    node = _node(taints=[theirs])
    _apply(node, ns.node_patch(node, add_taints=(ns.NOSCHEDULE,)))
    assert node["spec"]["taints"] == [theirs]  # already there: not added, not recorded
    _apply(node, ns.node_patch(node, remove_taints=(ns.NOSCHEDULE,)))
    assert node["spec"]["taints"] == [theirs]


class NodeKube(DictKube):
    """Nodes in a dict; patch_node applies the strategic-merge patch; optional 409s."""

    def __init__(self, nodes, conflicts=0):
        super().__init__({("Node", n["metadata"]["name"]): n for n in nodes})
        self.conflicts = conflicts
        self.core = self
        self.patches = []

    def patch_node(self, name, body):
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict("the object has been modified")
        self.patches.append((name, body))
        _apply(self.objects[("Node", name)], body)

    def call(self, fn, *args, what="", **kw):
        return fn(*args, **kw)

    def list(self, kind, namespace=None, selector=None, **_):
        return [o for (k, _n), o in self.objects.items() if k == kind]


def test_cleanup_finds_the_changes_by_the_annotation_alone():
    w1, w2, cp = _node("w1"), _node("w2", labels={"us": "theirs"}), _node("cp")
    kube = NodeKube([w1, w2, cp])
    ctx = _ctx(kube, lab="node-scheduling")
    ns.change_node(ctx, "w1", set_labels={"kr": "az-1"}, add_taints=(ns.NOEXECUTE,))
    ns.change_node(ctx, "w2", set_labels={"us": "az-1", "ch": "az-1"})
    # A crash here: cleanup starts from scratch (a new process, only the nodes).
    ns.restore_nodes(_ctx(kube, lab="node-scheduling"))
    assert w1["metadata"]["labels"] == {} and w1["spec"]["taints"] == []
    assert w2["metadata"]["labels"] == {"us": "theirs"}
    assert all(NODE_CHANGES not in n["metadata"]["annotations"] for n in (w1, w2, cp))
    assert [name for name, _ in kube.patches].count("cp") == 0  # untouched nodes are not patched


def test_change_node_retries_a_conflict_then_gives_up():
    kube = NodeKube([_node("w1")], conflicts=2)
    ns.change_node(_ctx(kube, lab="node-scheduling"), "w1", set_labels={"kr": "az-1"})
    assert kube.objects[("Node", "w1")]["metadata"]["labels"] == {"kr": "az-1"}
    kube = NodeKube([_node("w1")], conflicts=9)
    with pytest.raises(Conflict):
        ns.change_node(_ctx(kube, lab="node-scheduling"), "w1", set_labels={"kr": "az-1"})


def _pod(ns_name, name, tolerations=(), phase="Running"):
    return {
        "metadata": {"namespace": ns_name, "name": name},
        "spec": {"tolerations": list(tolerations)},
        "status": {"phase": phase},
    }


def test_evicted_by_names_pods_outside_the_lab_that_do_not_tolerate():
    pods = [
        _pod("kube-system", "kube-proxy-x", [{"operator": "Exists"}]),
        _pod("kube-system", "metrics-server-y"),  # would be evicted
        _pod(
            "kube-system",
            "waits-30s",
            [
                {
                    "key": "out-of-disk",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 30,
                }
            ],
        ),
        _pod("kubetm-lab-node-scheduling", "pod2-without-no-execute"),  # the lab's own
        _pod("default", "done", phase="Succeeded"),
    ]
    assert ns.evicted_by(ns.NOEXECUTE, pods, "kubetm-lab-node-scheduling") == [
        "kube-system/metrics-server-y",
        "kube-system/waits-30s",
    ]


def test_roles_put_noexecute_where_nothing_foreign_runs(monkeypatch):
    from kubetm import nodes

    monkeypatch.setattr(nodes, "course_nodes", lambda kube: {"k8s-node1": "w1", "k8s-node2": "w2"})
    busy = {
        "metadata": {"namespace": "kube-system", "name": "metrics-server"},
        "spec": {"nodeName": "w2"},
        "status": {"phase": "Running"},
    }
    kube = DictKube({("Pod", "metrics-server"): busy})
    kube.list = lambda kind, namespace=None, **kw: [busy]
    ctx = _ctx(kube, lab="node-scheduling")
    assert ns._roles(ctx) == ("w2", "w1")  # course's k8s-node2 is busy: NoExecute goes to k8s-node1
    busy["spec"]["nodeName"] = "w1"
    assert ns._roles(_ctx(kube, lab="node-scheduling")) == ("w1", "w2")
    kube.list = lambda kind, namespace=None, **kw: [busy, {**busy, "spec": {"nodeName": "w2"}}]
    with pytest.raises(Exception, match="no worker can take the NoExecute taint"):
        ns._roles(_ctx(kube, lab="node-scheduling"))


def test_a_pod_the_kubelet_rejected_for_a_label_it_had_not_seen_is_recognised():
    from kubetm.labs.node_scheduling import _rejected_by_a_stale_kubelet

    rejected = {
        "status": {
            "phase": "Failed",
            "reason": "NodeAffinity",
            "message": "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
        }
    }
    assert _rejected_by_a_stale_kubelet(rejected)
    assert not _rejected_by_a_stale_kubelet({"status": {"phase": "Failed", "reason": "Evicted"}})
    assert not _rejected_by_a_stale_kubelet({"status": {"phase": "Running"}})
    assert not _rejected_by_a_stale_kubelet(None)
