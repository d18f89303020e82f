"""kubetm/labs/deployment.py: versions from images, Ready pods per version, and the
revisionHistoryLimit verdict over a dict-backed kube (no cluster)."""

from __future__ import annotations

from kubetm.labs import deployment as dl

from .conftest import DictKube, _ctx


def _pod(name, tag, ready=True, deleting=False):
    meta = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T10:00:00Z"
    return {
        "metadata": meta,
        "spec": {"containers": [{"image": f"localhost:5001/kubetm/app:{tag}"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_version_and_ready_by_version():
    assert dl.version_of(_pod("a", "v2")) == "v2"
    pods = [
        _pod("a", "v1"),
        _pod("b", "v2"),
        _pod("c", "v2", ready=False),
        _pod("d", "v1", deleting=True),
    ]
    assert dl.ready_by_version(pods) == {"v1": 1, "v2": 1}  # terminating pods no longer count


def _rs(name, rev, uid="dep-uid", replicas=0):
    return {
        "metadata": {
            "name": name,
            "annotations": {"deployment.kubernetes.io/revision": str(rev)},
            "ownerReferences": [{"controller": True, "kind": "Deployment", "uid": uid}],
        },
        "spec": {"replicas": replicas},
    }


def _dep(rev, limit=1):
    return {
        "metadata": {
            "name": "deployment-1",
            "uid": "dep-uid",
            "annotations": {"deployment.kubernetes.io/revision": str(rev)},
        },
        "spec": {"replicas": 2, "revisionHistoryLimit": limit},
        "status": {
            "replicas": 2,
            "updatedReplicas": 2,
            "availableReplicas": 2,
            "observedGeneration": 1,
        },
    }


def test_history_limit_verdict_names_what_was_kept(monkeypatch):
    monkeypatch.setattr(dl, "_apply_image", lambda ctx, name, tag: None)
    kube = DictKube(
        {
            ("Deployment", "deployment-1"): _dep(2),
            ("ReplicaSet", "rs2"): _rs("rs2", 2),
            ("ReplicaSet", "rs3"): _rs("rs3", 3, replicas=2),
        }
    )
    applied = iter([_dep(3)])
    kube.watch_until = lambda kind, name=None, predicate=None, **kw: (
        next(applied) if kind == "Deployment" else None
    )
    ok, detail = dl.revision_history_limit(
        _ctx(kube, lab="deployment", **{"deployment.rev1": ["rs1"]})
    )
    assert ok, detail
    assert (
        "revisionHistoryLimit 1 keeps 1 old ReplicaSet" in detail
        and "revision 1 (rs1) deleted" in detail
    )


def test_history_limit_fails_when_the_student_keeps_more(monkeypatch):
    monkeypatch.setattr(dl, "_apply_image", lambda ctx, name, tag: None)
    kube = DictKube(
        {
            ("Deployment", "deployment-1"): _dep(2, limit=10),
            ("ReplicaSet", "rs1"): _rs("rs1", 1),
            ("ReplicaSet", "rs2"): _rs("rs2", 2),
            ("ReplicaSet", "rs3"): _rs("rs3", 3, replicas=2),
        }
    )
    applied = iter([_dep(3, limit=10)])
    kube.watch_until = lambda kind, name=None, predicate=None, **kw: (
        next(applied) if kind == "Deployment" else None
    )
    ok, detail = dl.revision_history_limit(
        _ctx(kube, lab="deployment", **{"deployment.rev1": ["rs1"]})
    )
    assert not ok
    assert (
        "revisionHistoryLimit 10 keeps 2 old ReplicaSet" in detail
        and "revision 1 still kept" in detail
    )
