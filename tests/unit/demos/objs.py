"""Builders of Deployments and ReplicaSets as the API server returns them (demo tests)."""

from __future__ import annotations

from kubetm.demos import rollout


def dep(
    gen=2,
    observed=2,
    replicas=2,
    updated=2,
    total=2,
    available=2,
    conditions=(),
    name="app",
    **meta,
):
    return {
        "metadata": {"name": name, "generation": gen, "uid": "u-1", **meta},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "app"}}}},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
            "conditions": list(conditions),
        },
    }


def rs(
    name,
    revision,
    replicas=0,
    uid="u-1",
    image="localhost:5001/kubetm/app:v1",
    cause=None,
    ready=None,
    created="2026-01-01T00:00:00Z",
    status_replicas=None,
    extra_ann=None,
):
    ann = {} if revision is None else {rollout.REVISION: str(revision)}
    if cause:
        ann[rollout.CHANGE_CAUSE] = cause
    ann.update(extra_ann or {})
    return {
        "metadata": {
            "name": name,
            "annotations": ann,
            "creationTimestamp": created,
            "ownerReferences": [
                {"kind": "Deployment", "name": "app", "uid": uid, "controller": True}
            ],
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "metadata": {"labels": {"app": "app", "pod-template-hash": name.split("-")[-1]}},
                "spec": {"containers": [{"name": "container", "image": image}]},
            },
        },
        "status": {
            "replicas": replicas if status_replicas is None else status_replicas,
            "readyReplicas": replicas if ready is None else ready,
        },
    }
