"""Predicates for ``Kube.watch_until``: the one set of readiness rules in kubetm.

A predicate takes the object as a dict (or None when it does not exist), or for selector waits the
list of matching objects, and returns True when the wait is over; it may raise ``KubetmError`` to
stop early when the state cannot recover (an image that cannot be pulled, a failed Job).

Example:
    kube.watch_until("Deployment", "web", deployment_available, timeout=60)
    kube.watch_until("Deployment", "web", condition("Available"), timeout=60)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubetm.errors import KubetmError

__all__ = [
    "Predicate",
    "condition",
    "deleted",
    "exists",
    "pod_problem",
    "pod_ready",
    "is_ready",
    "deployment_rolled_out",
    "deployment_available",
    "scaled_to_zero",
    "replicas_ready",
    "daemonset_ready",
    "job_complete",
    "crd_established",
    "all_pods_ready",
    "node_ready",
    "nodes_ready",
    "endpoint_pods",
    "has_ready_endpoint",
    "only_ready_endpoints_of",
    "PREDICATES",
    "READY_WORD",
    "FATAL_WAITING",
]

Predicate = Callable[[Any], bool]

# Waiting reasons that do not heal by waiting longer.
FATAL_WAITING = {
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
}


def _conditions(obj: dict | None) -> dict[str, str]:
    if not obj:
        return {}
    return {
        c.get("type"): c.get("status") for c in (obj.get("status") or {}).get("conditions") or []
    }


def _observed(obj: dict) -> bool:
    """The controller has seen the latest spec (status.observedGeneration >= metadata.generation)."""
    return (obj.get("status") or {}).get("observedGeneration", 0) >= (
        obj.get("metadata") or {}
    ).get("generation", 0)


def condition(type_: str, status: str = "True") -> Predicate:
    """``condition("Ready")`` -> predicate true when status.conditions[type] == status."""

    def pred(obj: dict | None) -> bool:
        return _conditions(obj).get(type_) == status

    pred.__name__ = f"condition={type_}"
    return pred


def deleted(obj: Any) -> bool:
    return obj is None


def exists(obj: Any) -> bool:
    return obj is not None


# ------------------------------------------------------------------------------------ pods


def pod_problem(pod: dict) -> str | None:
    """A reason why this pod will not become Ready by itself, else None."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Failed", "Succeeded"):
        return f"pod phase is {status['phase']}"
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in FATAL_WAITING:
            msg = " ".join(str(waiting.get("message") or "").split())[:200]
            return f"container {cs.get('name')}: {waiting['reason']}" + (f": {msg}" if msg else "")
    return None


def is_ready(pod: dict | None) -> bool:
    """Condition Ready=True, without ``pod_ready``'s early failure on image-pull/crash-loop states."""
    return _conditions(pod).get("Ready") == "True"


def pod_ready(obj: dict | None) -> bool:
    """Pod has condition Ready=True; raises KubetmError on image-pull/crash-loop states."""
    if obj is None:
        return False
    if is_ready(obj):
        return True
    problem = pod_problem(obj)
    if problem:
        name = (obj.get("metadata") or {}).get("name")
        hint = (
            "is the image built and pushed? try `kubetm image push`"
            if "Image" in problem
            else f"see `kubectl describe pod {name}`"
        )
        raise KubetmError(f"pod {name} will not become Ready: {problem}", hint=hint)
    return False


def all_pods_ready(count: int | None = None) -> Predicate:
    """For selector waits: every matching pod Ready (and at least ``count`` of them)."""

    def pred(pods: list[dict]) -> bool:
        live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
        if count is not None and len(live) < count or not live:
            return False
        return all(pod_ready(p) for p in live)

    return pred


# ----------------------------------------------------------------------------- workloads


def deployment_rolled_out(dep: dict | None) -> bool:
    """`kubectl rollout status` done: generation observed, updated == replicas == available ==
    spec.replicas. Raises KubetmError when the Deployment exceeded its progress deadline."""
    if dep is None or not _observed(dep):
        return False
    status = dep.get("status") or {}
    for c in status.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            raise KubetmError(
                f"deployment {dep['metadata']['name']} exceeded its progress deadline",
                hint=c.get("message"),
            )
    want = (dep.get("spec") or {}).get("replicas", 1)
    return (
        status.get("updatedReplicas", 0) == want
        and status.get("replicas", 0) == want
        and status.get("availableReplicas", 0) == want
    )


def deployment_available(obj: dict | None) -> bool:
    """Rolled out (``deployment_rolled_out``) and condition Available=True."""
    return deployment_rolled_out(obj) and _conditions(obj).get("Available") == "True"


def scaled_to_zero(dep: dict | None) -> bool:
    """A Deployment / ReplicaSet that is gone or runs no pod any more (generation observed)."""
    if dep is None:
        return True
    return _observed(dep) and not (dep.get("status") or {}).get("replicas")


def replicas_ready(obj: dict | None) -> bool:
    """ReplicaSet / ReplicationController / StatefulSet: readyReplicas == spec.replicas."""
    if obj is None or not _observed(obj):
        return False
    want = (obj.get("spec") or {}).get("replicas", 1)
    status = obj.get("status") or {}
    return status.get("readyReplicas", 0) == want and status.get("replicas", 0) == want


def daemonset_ready(obj: dict | None) -> bool:
    if obj is None or not _observed(obj):
        return False
    s = obj.get("status") or {}
    want = s.get("desiredNumberScheduled", -1)
    return (
        want >= 0 and s.get("numberReady", 0) == want and s.get("updatedNumberScheduled", 0) == want
    )


def job_complete(obj: dict | None) -> bool:
    conds = _conditions(obj)
    if obj is not None and conds.get("Failed") == "True":
        raise KubetmError(f"job {obj['metadata']['name']} failed")
    return conds.get("Complete") == "True"


def crd_established(obj: dict | None) -> bool:
    return _conditions(obj).get("Established") == "True"


# --------------------------------------------------------------------------------- nodes


def node_ready(node: dict | None) -> bool:
    return _conditions(node).get("Ready") == "True"


def nodes_ready(count: int | None = None) -> Predicate:
    """For a wait on all Nodes: every node Ready (and at least ``count`` of them)."""

    def pred(nodes: list[dict]) -> bool:
        if not nodes or (count is not None and len(nodes) < count):
            return False
        return all(node_ready(n) for n in nodes)

    return pred


# ------------------------------------------------------------------------ EndpointSlices


def endpoint_pods(slices: list[dict] | None, ready_only: bool = True) -> dict[str, str]:
    """{pod name: node name} of the (ready) endpoints in a Service's EndpointSlices. An endpoint
    whose ready condition is absent counts as ready (the API's own rule)."""
    found: dict[str, str] = {}
    for s in slices or []:
        for ep in s.get("endpoints") or []:
            if ready_only and (ep.get("conditions") or {}).get("ready") is False:
                continue
            ref = ep.get("targetRef") or {}
            if ref.get("kind") == "Pod" and ref.get("name"):
                found[ref["name"]] = ep.get("nodeName") or ""
    return found


def has_ready_endpoint(slices: list[dict]) -> bool:
    """Some endpoint of the Service reports ready=True."""
    return any(
        (ep.get("conditions") or {}).get("ready") for s in slices for ep in s.get("endpoints") or []
    )


def only_ready_endpoints_of(deployment: str) -> Predicate:
    """Over a Service's EndpointSlices: some endpoint ready, and all ready ones are pods of
    ``deployment`` (pod names ``<deployment>-<hash>-<suffix>``)."""
    prefix = deployment + "-"

    def pred(slices: list[dict]) -> bool:
        ready = [
            ep
            for sl in slices
            for ep in sl.get("endpoints") or []
            if (ep.get("conditions") or {}).get("ready") is not False
        ]
        names = [((ep.get("targetRef") or {}).get("name") or "") for ep in ready]
        return bool(names) and all(
            n.startswith(prefix) and n[len(prefix) :].count("-") == 1 for n in names
        )

    return pred


# ------------------------------------------------------------------------ by kind

PREDICATES: dict[str, Predicate] = {
    "Pod": pod_ready,
    "Deployment": deployment_available,
    "ReplicaSet": replicas_ready,
    "ReplicationController": replicas_ready,
    "StatefulSet": replicas_ready,
    "DaemonSet": daemonset_ready,
    "Job": job_complete,
    "CustomResourceDefinition": crd_established,
    "PersistentVolumeClaim": lambda o: bool(o) and (o.get("status") or {}).get("phase") == "Bound",
    "Namespace": lambda o: bool(o) and (o.get("status") or {}).get("phase") == "Active",
}

# How a kind's readiness reads in a status line ("waiting for pod p to be Ready").
READY_WORD = {"Pod": "Ready", "Deployment": "Available", "Job": "Complete"}
