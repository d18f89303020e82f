"""kubetm/labs/statefulset.py: creation order, the "fast" class and the cleanup (no cluster)."""

from __future__ import annotations

from fakekube import FakeKube

from kubetm.labs import statefulset as st
from kubetm.labs.base import LabContext
from kubetm.labs.catalog import get

NS = "kubetm-lab-statefulset"


def pod(name, created, ready):
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ready}]
        },
    }


def test_creation_order_needs_each_pod_after_the_one_before_is_ready():
    ordered = [
        pod("s-0", "2026-12-01T10:00:00Z", "2026-12-01T10:00:02Z"),
        pod("s-1", "2026-12-01T10:00:02Z", "2026-12-01T10:00:04Z"),  # same second counts
        pod("s-2", "2026-12-01T10:00:05Z", "2026-12-01T10:00:06Z"),
    ]
    ok, notes = st.creation_order(ordered)
    assert ok, notes
    assert notes[0] == "s-1 created 10:00:02 after s-0 was Ready (10:00:02)"
    parallel = [
        pod("s-0", "2026-12-01T10:00:00Z", "2026-12-01T10:00:03Z"),
        pod("s-1", "2026-12-01T10:00:00Z", "2026-12-01T10:00:03Z"),
    ]
    ok, notes = st.creation_order(parallel)
    assert not ok and "BEFORE s-0 was Ready" in notes[0]


def ctx(kube):
    return LabContext(kube=kube, lab=get("statefulset"), timeout=5)


def test_fast_is_made_only_when_the_cluster_has_none():
    kube = FakeKube()
    seen = st.ensure_fast(ctx(kube))
    assert "made by the lab" in seen and "rancher.io/local-path" in seen
    sc = kube.get("StorageClass", "fast")
    assert sc["metadata"]["labels"]["kubetm.io/lab"] == "statefulset"
    assert sc["reclaimPolicy"] == "Delete"

    theirs = FakeKube()
    theirs.apply(
        [
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": "fast"},
                "provisioner": "example.com/ssd",
            }
        ]
    )
    assert "the cluster's own, example.com/ssd" in st.ensure_fast(ctx(theirs))
    assert not theirs.get("StorageClass", "fast")["metadata"].get("labels")


def pv(name, namespace, policy="Delete"):
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {"claimRef": {"namespace": namespace}, "persistentVolumeReclaimPolicy": policy},
    }


def test_cleanup_removes_the_labs_class_and_volumes_never_a_foreign_class():
    kube = FakeKube()
    st.ensure_fast(ctx(kube))
    kube.apply([pv("pvc-retained", NS, "Retain"), pv("pvc-other", "elsewhere")])
    st.cleanup(ctx(kube))
    assert kube.get("StorageClass", "fast") is None
    assert kube.get("PersistentVolume", "pvc-retained") is None  # Retain: deleted by the lab
    assert kube.get("PersistentVolume", "pvc-other") is not None  # not the lab's claim

    theirs = FakeKube()
    theirs.apply(
        [
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": "fast"},
                "provisioner": "example.com/ssd",
            }
        ]
    )
    st.cleanup(ctx(theirs))
    assert theirs.get("StorageClass", "fast") is not None


def test_lab_declares_the_shared_class():
    lab = get("statefulset")
    assert lab.shares == ("object:StorageClass/fast",) and lab.cleanup is st.cleanup
    assert st.short_pv("pvc-8fc9760a-cc90-4334-aefd-ef8e6f01e249") == "pvc-8fc9760a"
