"""e2e: the statefulset lab with a StorageClass "fast" it did not make: it uses that class, passes,
and leaves it in place (never deletes what it did not create); no PV of the lab is left."""

from __future__ import annotations

import json

import pytest

from .conftest import kubectl
from .test_labs import kubetm

THEIR_FAST = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  labels:
    kubetm-e2e: their-fast
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
"""


@pytest.mark.timeout(900)
def test_statefulset_lab_uses_and_keeps_a_fast_class_it_did_not_make(cluster):
    existing = kubectl("get", "storageclass", "fast", "--ignore-not-found", "-o", "name").strip()
    if existing:
        pytest.skip("the cluster already has a StorageClass fast (not this test's to replace)")
    kubectl("apply", "-f", "-", input=THEIR_FAST)
    try:
        uid = kubectl("get", "storageclass", "fast", "-o", "jsonpath={.metadata.uid}")
        cp = kubetm("lab", "run", "statefulset", "-o", "json", timeout=900)
        payload = json.loads(cp.stdout)
        assert cp.returncode == 0 and payload["ok"], cp.stdout[-2000:] + cp.stderr[-1000:]
        details = {c["name"]: c["detail"] for c in payload["checks"]}
        assert "class fast (the cluster's own" in details["replicaset-shares-one-claim"]
        assert kubectl("get", "storageclass", "fast", "-o", "jsonpath={.metadata.uid}") == uid
        labels = kubectl("get", "storageclass", "fast", "-o", "jsonpath={.metadata.labels}")
        assert "kubetm.io/lab" not in labels  # the lab did not take it over
        claims = kubectl("get", "pv", "-o", "jsonpath={.items[*].spec.claimRef.namespace}").split()
        assert "kubetm-lab-statefulset" not in claims, claims
    finally:
        kubectl("delete", "storageclass", "fast", "--ignore-not-found")
