"""kubetm/k8s/conditions.py: the one set of readiness predicates."""

from __future__ import annotations

import pytest

from kubetm.errors import KubetmError
from kubetm.k8s import conditions


def dep(gen=2, observed=2, replicas=2, updated=2, total=2, available=2, conditions=(), name="app"):
    return {
        "metadata": {"name": name, "generation": gen},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
            "conditions": list(conditions),
        },
    }


def test_deployment_rolled_out_needs_everything():
    assert conditions.deployment_rolled_out(dep())
    assert not conditions.deployment_rolled_out(None)
    assert not conditions.deployment_rolled_out(dep(observed=1))
    assert not conditions.deployment_rolled_out(dep(available=1))
    assert not conditions.deployment_rolled_out(dep(total=3))
    assert not conditions.deployment_rolled_out(dep(updated=1))


def test_scaled_to_zero():
    assert conditions.scaled_to_zero(dep(total=0))
    assert not conditions.scaled_to_zero(dep(total=1))
    assert not conditions.scaled_to_zero(dep(total=0, observed=1))


def _slice(*eps):
    return {
        "endpoints": [
            {"conditions": {"ready": ready}, "targetRef": {"kind": "Pod", "name": n}}
            for n, ready in eps
        ]
    }


def test_only_ready_endpoints_of():
    pred = conditions.only_ready_endpoints_of("app-green")
    assert pred([_slice(("app-green-5d9f-abcde", True), ("app-green-5d9f-xyz12", True))])
    assert pred(
        [_slice(("app-green-5d9f-abcde", True), ("app-blue-7c8d-aaaaa", False))]
    )  # terminating blue
    assert not pred([_slice(("app-green-5d9f-abcde", True), ("app-blue-7c8d-aaaaa", True))])
    assert not pred([_slice()]) and not pred([])
    assert not conditions.only_ready_endpoints_of("app")([_slice(("app-green-5d9f-abcde", True))])


def test_endpoint_pods_only_ready_pod_targets():
    slices = [
        {
            "endpoints": [
                {
                    "targetRef": {"kind": "Pod", "name": "a"},
                    "nodeName": "n1",
                    "conditions": {"ready": True},
                },
                {
                    "targetRef": {"kind": "Pod", "name": "b"},
                    "nodeName": "n2",
                    "conditions": {"ready": False},
                },
                {"targetRef": {"kind": "Node", "name": "x"}},
                {"addresses": ["10.0.0.1"]},
            ]
        }
    ]
    assert conditions.endpoint_pods(slices) == {"a": "n1"}
    assert conditions.endpoint_pods(slices, ready_only=False) == {"a": "n1", "b": "n2"}


def test_deployment_available_also_needs_the_available_condition():
    available = [{"type": "Available", "status": "True"}]
    assert conditions.deployment_available(dep(conditions=available))
    assert not conditions.deployment_available(dep())
    assert not conditions.deployment_available(dep(observed=1, conditions=available))
    with pytest.raises(KubetmError, match="progress deadline"):
        conditions.deployment_available(
            dep(
                updated=1,
                conditions=[
                    {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "status": "False"}
                ],
            )
        )


def test_node_and_nodes_ready():
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    not_ready = {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}
    assert (
        conditions.node_ready(ready)
        and not conditions.node_ready(not_ready)
        and not conditions.node_ready(None)
    )
    assert conditions.nodes_ready(2)([ready, ready]) and not conditions.nodes_ready(3)(
        [ready, ready]
    )
    assert not conditions.nodes_ready()([ready, not_ready]) and not conditions.nodes_ready()([])


def test_has_ready_endpoint():
    assert conditions.has_ready_endpoint([_slice(("a", False)), _slice(("b", True))])
    assert not conditions.has_ready_endpoint(
        [_slice(("a", False))]
    ) and not conditions.has_ready_endpoint([])


def test_is_ready_never_raises_but_pod_ready_does_on_a_fatal_state():
    pod = {
        "metadata": {"name": "p"},
        "status": {
            "containerStatuses": [
                {"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
            ]
        },
    }
    assert not conditions.is_ready(pod)
    with pytest.raises(KubetmError, match="ImagePullBackOff"):
        conditions.pod_ready(pod)
