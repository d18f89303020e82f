"""Checks of the dynamic-provisioning lab over a dict-backed kube: each passes on what the cluster
shows when the lesson holds, and fails (naming what it saw) when it does not."""

from __future__ import annotations

import pytest

from kubetm.labs import dynamic_provisioning as dp
from tests.unit.labs.conftest import DictKube, _ctx

NS = "kubetm-lab-dynamic-provisioning"


def pvc(name, phase="Bound", volume=None, cls=None):
    return {
        "metadata": {"name": name, "namespace": NS},
        "spec": {"volumeName": volume, "storageClassName": cls},
        "status": {"phase": phase},
    }


def pv(name, phase="Bound", node="kubetm-worker", by=dp.PROVISIONER, policy="Delete", claim=None):
    return {
        "metadata": {"name": name, "annotations": {dp.PROVISIONED_BY: by} if by else {}},
        "spec": {
            "hostPath": {"path": f"{dp.BASE_DIR}/{name}"},
            "persistentVolumeReclaimPolicy": policy,
            "claimRef": {"name": claim} if claim else None,
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/hostname", "values": [node]}]}
                    ]
                }
            }
            if node
            else None,
        },
        "status": {"phase": phase},
    }


def sc(name, default=False, mode="WaitForFirstConsumer", provisioner="rancher.io/local-path"):
    ann = {dp.DEFAULT_CLASS: "true"} if default else {}
    return {
        "metadata": {"name": name, "annotations": ann},
        "provisioner": provisioner,
        "volumeBindingMode": mode,
    }


def event(obj, reason, message=""):
    return {"involvedObject": {"name": obj}, "reason": reason, "message": message}


def ctx_of(objects, events=()):
    kube = DictKube({**objects, **{("Event", str(i)): e for i, e in enumerate(events)}})
    return _ctx(kube, lab="dynamic-provisioning"), kube


def test_static_pv_binds_only_the_courses_pv():
    ctx, _ = ctx_of(
        {("PersistentVolumeClaim", "pvc-hostpath1"): pvc("pvc-hostpath1", volume=dp.PV_HOSTPATH)}
    )
    ok, detail = dp.static_pv_binds_empty_class(ctx)
    assert ok and dp.PV_HOSTPATH in detail
    ctx, _ = ctx_of(
        {("PersistentVolumeClaim", "pvc-hostpath1"): pvc("pvc-hostpath1", volume="other-pv")}
    )
    ok, detail = dp.static_pv_binds_empty_class(ctx)
    assert not ok and "other-pv" in detail


def test_fast_binds_before_any_pod_and_names_the_node():
    objs = {
        ("PersistentVolumeClaim", "pvc-fast1"): pvc("pvc-fast1", volume="pvc-123"),
        ("PersistentVolume", "pvc-123"): pv("pvc-123", node="kubetm-worker2"),
    }
    ctx, _ = ctx_of(objs)
    ok, detail = dp.fast_binds_before_any_pod(ctx)
    assert ok and "kubetm-worker2" in detail and "none" in detail
    user = {
        "metadata": {"name": "p"},
        "spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "pvc-fast1"}}]},
    }
    ctx, _ = ctx_of({**objs, ("Pod", "p"): user})
    ok, detail = dp.fast_binds_before_any_pod(ctx)
    assert not ok and "pods using it: p" in detail
    ctx, _ = ctx_of(
        {**objs, ("PersistentVolume", "pvc-123"): pv("pvc-123", by="rancher.io/local-path")}
    )
    assert not dp.fast_binds_before_any_pod(ctx)[0]


def test_no_class_gets_the_wait_for_first_consumer_default():
    objs = {
        ("StorageClass", "standard"): sc("standard", default=True),
        ("StorageClass", "fast"): sc("fast", mode="Immediate", provisioner=dp.PROVISIONER),
        ("PersistentVolumeClaim", "pvc-default1"): pvc("pvc-default1", "Pending", cls="standard"),
    }
    ctx, _ = ctx_of(objs, [event("pvc-default1", "WaitForFirstConsumer")])
    ok, detail = dp.no_class_gets_default(ctx)
    assert ok and "standard" in detail and "WaitForFirstConsumer" in detail
    objs[("PersistentVolumeClaim", "pvc-default1")] = pvc("pvc-default1", "Pending", cls="fast")
    ctx, _ = ctx_of(objs)
    ok, detail = dp.no_class_gets_default(ctx)
    assert not ok and "'fast'" in detail


def test_no_class_needs_exactly_one_default():
    objs = {
        ("StorageClass", "a"): sc("a", default=True),
        ("StorageClass", "b"): sc("b", default=True),
    }
    ctx, _ = ctx_of(objs)
    ok, detail = dp.no_class_gets_default(ctx)
    assert not ok and "a, b" in detail


def test_too_big_claim_surfaces_the_provisioning_failure():
    msg = "not enough room: the claim asks for 20Gi, each node holds 10Gi (kubetm-worker 10Gi free)"
    objs = {("PersistentVolumeClaim", "pvc-fast-toobig"): pvc("pvc-fast-toobig", "Pending")}
    ctx, kube = ctx_of(objs, [event("pvc-fast-toobig", "ProvisioningFailed", msg)])
    ctx.apply_step = lambda step: None  # type: ignore[method-assign]
    ok, detail = dp.too_big_claim_fails(ctx)
    assert ok and msg in detail
    ctx, kube = ctx_of(objs, [event("pvc-fast-toobig", "ProvisioningFailed", "no node")])
    ctx.apply_step = lambda step: None  # type: ignore[method-assign]
    ok, detail = dp.too_big_claim_fails(ctx)
    assert not ok and "no node" in detail


def test_pv_node_reads_the_hostname_affinity():
    assert dp._pv_node(pv("x", node="w1")) == "w1"
    assert dp._pv_node(pv("x", node=None)) == ""


@pytest.mark.parametrize("phases_in", [["Bound", "Released"]])
def test_watch_pv_records_each_phase_once(phases_in):
    seen: list[str] = []
    objs = iter([pv("x", phase=p) for p in phases_in])

    class Kube:
        def watch_until(self, kind, name, predicate, **_):
            for o in objs:
                predicate(o)
                predicate(o)
            return o

    class Ctx:
        kube = Kube()
        timeout = 1

    dp._watch_pv(Ctx(), "x", seen, lambda o: True)
    assert seen == phases_in
