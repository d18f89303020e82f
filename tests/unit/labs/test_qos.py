"""kubetm/labs/qos.py: the QoS class a spec implies, the kubelet's oom_score_adj formula, and the
checks' verdicts over a dict-backed kube (no cluster)."""

from __future__ import annotations

import pytest

from kubetm.labs import qos

from .conftest import DictKube, _ctx

READY = {"conditions": [{"type": "Ready", "status": "True"}]}


def _pod(name, *containers, qos_class=None, node="kubetm-worker"):
    spec_containers = [
        {
            "name": cname,
            "image": "localhost:5001/kubetm/app:v1",
            **({"resources": res} if res else {}),
        }
        for cname, res in containers
    ]
    status = dict(READY)
    if qos_class:
        status["qosClass"] = qos_class
    return {
        "metadata": {"name": name},
        "spec": {"containers": spec_containers, "nodeName": node},
        "status": status,
    }


G = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "0.1", "memory": "128Mi"}}
B = {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "200m", "memory": "200Mi"}}


@pytest.mark.parametrize(
    "containers,expected",
    [
        ([("c", G)], "Guaranteed"),  # 0.1 cpu == 100m
        (
            [("c", {"limits": {"cpu": "1", "memory": "1Gi"}})],
            "Guaranteed",
        ),  # requests default to limits
        ([("c", B)], "Burstable"),
        ([("c", {"requests": {"memory": "500Mi"}}), ("d", None)], "Burstable"),
        ([("c", G), ("d", None)], "Burstable"),  # one container without resources
        (
            [("c", {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "100m"}})],
            "Burstable",
        ),
        ([("c", None), ("d", {})], "BestEffort"),
    ],
)
def test_qos_of_follows_the_lessons_rule(containers, expected):
    assert qos.qos_of(_pod("p", *containers)) == expected


def test_expected_adj_is_the_kubelets_formula():
    gi = 2**30
    assert qos.expected_adj(100 * 2**20, 24 * gi) == 1000 - int(1000 * 100 * 2**20 // (24 * gi))
    assert qos.expected_adj(0, 24 * gi) == 999  # never 1000 (that is BestEffort's)
    assert qos.expected_adj(24 * gi, 24 * gi) == 2  # never below 2 (Guaranteed is negative)
    assert qos.expected_adj(100 * 2**20, 24 * gi) > qos.expected_adj(500 * 2**20, 24 * gi)


def _kube(**overrides):
    pods = {
        "pod-guaranteed": _pod("pod-guaranteed", ("container", G), qos_class="Guaranteed"),
        "pod-burstable1": _pod("pod-burstable1", ("container", B), qos_class="Burstable"),
        "pod-burstable2": _pod(
            "pod-burstable2",
            ("container1", {"requests": {"cpu": "100m", "memory": "500Mi"}}),
            ("container2", None),
            qos_class="Burstable",
        ),
        "pod-besteffort": _pod("pod-besteffort", ("container", None), qos_class="BestEffort"),
    }
    pods.update(overrides)
    objects = {("Pod", n): p for n, p in pods.items()}
    objects[("Node", "kubetm-worker")] = {
        "metadata": {"name": "kubetm-worker"},
        "status": {"capacity": {"memory": "24684092Ki"}},
    }
    exec_out = {
        "pod-guaranteed": "-997\n",
        "pod-burstable1": "996\n",
        "pod-burstable2": "980\n",
        "pod-besteffort": "1000\n",
    }
    return DictKube(objects, exec_out)


def test_class_checks_pass_and_name_the_resources():
    ctx = _ctx(_kube(), lab="qos")
    ok, detail = qos.qos_guaranteed(ctx)
    assert ok and "pod-guaranteed is Guaranteed" in detail and "memory=128Mi" in detail
    ok, detail = qos.qos_burstable(ctx)
    assert (
        ok and "pod-burstable1 is Burstable" in detail and "pod-burstable2 is Burstable" in detail
    )
    assert qos.qos_besteffort(ctx)[0]


def test_a_wrong_pod_fails_saying_what_differs():
    bad = _pod("pod-guaranteed", ("container", B), qos_class="Burstable")
    ok, detail = qos.qos_guaranteed(_ctx(_kube(**{"pod-guaranteed": bad}), lab="qos"))
    assert not ok
    assert "pod-guaranteed is Burstable" in detail and "expected Guaranteed" in detail
    assert "limits cpu=200m,memory=200Mi" in detail


def test_oom_order_passes_and_notes_a_node_that_cannot_go_negative():
    kube = _kube()
    ok, detail = qos.oom_score_order(_ctx(kube, lab="qos"))
    assert ok and detail.index("pod-guaranteed") < detail.index("pod-besteffort")
    assert "could only lower" not in detail
    kube.exec_out["pod-guaranteed"] = "0\n"
    ok, detail = qos.oom_score_order(_ctx(kube, lab="qos"))
    assert ok and "could only lower it to 0" in detail


def test_oom_order_fails_when_besteffort_is_not_first_to_go():
    kube = _kube()
    kube.exec_out["pod-besteffort"] = "900\n"
    ok, detail = qos.oom_score_order(_ctx(kube, lab="qos"))
    assert not ok and "expected -997 < Burstable < 1000" in detail


def test_burstable_ranking_compares_with_the_formula():
    kube = _kube()
    cap = 24684092 * 1024
    kube.exec_out["pod-burstable1"] = f"{qos.expected_adj(100 * 2**20, cap)}\n"
    kube.exec_out["pod-burstable2"] = f"{qos.expected_adj(500 * 2**20, cap)}\n"
    ok, detail = qos.burstable_request_ranks(_ctx(kube, lab="qos"))
    assert ok, detail
    assert "pod-burstable1 (smaller request) would be killed before pod-burstable2" in detail
    kube.exec_out["pod-burstable1"] = "500\n"
    ok, detail = qos.burstable_request_ranks(_ctx(kube, lab="qos"))
    assert not ok and "does not rank above" in detail
