"""Condition helpers used with ``Kube.watch_until`` (event-driven: read, then watch).

A predicate takes the object as a dict (or None when it does not exist) and returns True when
the wait is over; it may raise ``KubetmError`` to stop early when the state cannot recover.

Example:
    pod = wait_ready(kube, "Pod", "hello-pod", namespace="default", timeout=120)
    kube.watch_until("Deployment", "web", condition("Available"), timeout=60)
"""

from __future__ import annotations

from typing import Any, Callable

from kubetm.errors import KubetmError

__all__ = [
    "condition", "deleted", "exists", "pod_ready", "deployment_available", "replicas_ready",
    "daemonset_ready", "job_complete", "crd_established", "all_pods_ready", "wait_ready",
    "wait_deleted", "PREDICATES", "available", "node_ready", "nodes_ready",
]

Predicate = Callable[[Any], bool]

# Waiting reasons that do not heal by waiting longer.
FATAL_WAITING = {"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                 "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff"}


def _conditions(obj: dict | None) -> dict[str, str]:
    if not obj:
        return {}
    return {c.get("type"): c.get("status") for c in (obj.get("status") or {}).get("conditions") or []}


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


def pod_ready(obj: dict | None) -> bool:
    """Pod has condition Ready=True; raises KubetmError on image-pull/crash-loop states."""
    if obj is None:
        return False
    if _conditions(obj).get("Ready") == "True":
        return True
    problem = pod_problem(obj)
    if problem:
        name = (obj.get("metadata") or {}).get("name")
        hint = "is the image built and pushed? try `kubetm image push`" if "Image" in problem else \
            f"see `kubectl describe pod {name}`"
        raise KubetmError(f"pod {name} will not become Ready: {problem}", hint=hint)
    return False


def deployment_available(obj: dict | None) -> bool:
    """Like `kubectl rollout status`: updated, available, no old replicas, observed generation."""
    if obj is None:
        return False
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < (obj.get("metadata") or {}).get("generation", 0):
        return False
    conds = _conditions(obj)
    for c in status.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            raise KubetmError(f"deployment {obj['metadata']['name']} exceeded its progress deadline",
                              hint=c.get("message"))
    return (conds.get("Available") == "True"
            and status.get("updatedReplicas", 0) == want
            and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want)


def replicas_ready(obj: dict | None) -> bool:
    """ReplicaSet / ReplicationController / StatefulSet: readyReplicas == spec.replicas."""
    if obj is None:
        return False
    want = (obj.get("spec") or {}).get("replicas", 1)
    status = obj.get("status") or {}
    if status.get("observedGeneration", 0) < (obj.get("metadata") or {}).get("generation", 0):
        return False
    return status.get("readyReplicas", 0) == want and status.get("replicas", 0) == want


def daemonset_ready(obj: dict | None) -> bool:
    if obj is None:
        return False
    s = obj.get("status") or {}
    if s.get("observedGeneration", 0) < (obj.get("metadata") or {}).get("generation", 0):
        return False
    want = s.get("desiredNumberScheduled", -1)
    return want >= 0 and s.get("numberReady", 0) == want and s.get("updatedNumberScheduled", 0) == want


def job_complete(obj: dict | None) -> bool:
    conds = _conditions(obj)
    if conds.get("Failed") == "True":
        raise KubetmError(f"job {obj['metadata']['name']} failed")
    return conds.get("Complete") == "True"


def crd_established(obj: dict | None) -> bool:
    return _conditions(obj).get("Established") == "True"


def all_pods_ready(count: int | None = None) -> Predicate:
    """For selector waits: every matching pod Ready (and at least ``count`` of them)."""
    def pred(pods: list[dict]) -> bool:
        live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
        if count is not None and len(live) < count or not live:
            return False
        return all(pod_ready(p) for p in live)
    return pred


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


def wait_ready(kube, kind: str, name: str, namespace: str | None = None, timeout: float = 180,
               api_version: str | None = None, description: str | None = "") -> dict:
    """Wait (watch) until an object is ready the way its kind defines it; returns the object."""
    res = kube.resource(kind, api_version)
    pred = PREDICATES.get(res.kind, exists)
    label = {"Pod": "Ready", "Deployment": "Available", "Job": "Complete"}.get(res.kind, "ready")
    desc = description if description != "" else f"waiting for {res.kind.lower()} {name} to be {label}"
    return kube.watch_until(res.kind, name, pred, namespace=namespace, api_version=res.group_version,
                            timeout=timeout, description=desc)


def wait_deleted(kube, kind: str, name: str, namespace: str | None = None, timeout: float = 180,
                 api_version: str | None = None) -> None:
    kube.watch_until(kind, name, deleted, namespace=namespace, api_version=api_version, timeout=timeout,
                     description=f"waiting for {kind.lower()} {name} to be deleted")


def available(kube, kind: str, name: str, namespace: str | None = None, timeout: float = 180,
              api_version: str | None = None) -> dict:
    """Alias of ``wait_ready`` (reads well for Deployments: ``wait.available(kube, "Deployment", "web")``)."""
    return wait_ready(kube, kind, name, namespace=namespace, timeout=timeout, api_version=api_version)


def node_ready(node: dict | None) -> bool:
    return _conditions(node).get("Ready") == "True"


def nodes_ready(kube, count: int | None = None, timeout: float = 300) -> list[dict]:
    """Wait until every node (and at least ``count`` of them) reports Ready=True."""
    def pred(nodes: list[dict]) -> bool:
        if not nodes or (count is not None and len(nodes) < count):
            return False
        return all(node_ready(n) for n in nodes)

    want = f"{count} " if count else ""
    return kube.watch_until("Node", None, pred, timeout=timeout,
                            description=f"waiting for {want}nodes to be Ready")
