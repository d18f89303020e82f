"""e2e: the statefulset lab with the cluster's StorageClass "fast" (kubetm-provisioner, made by
`cluster up`, not by the lab): it uses that class, passes, and leaves it in place (never deletes what it did not create);
no PV of the lab is left."""

from __future__ import annotations

import json

import pytest

from .conftest import kubectl, lab_shares
from .test_labs import kubetm


@pytest.mark.timeout(900)
@pytest.mark.shares(*lab_shares("statefulset"))
def test_statefulset_lab_uses_and_keeps_a_fast_class_it_did_not_make(cluster):
    # `kubetm cluster up` installs StorageClass fast (kubetm-provisioner, Immediate): the lab must
    # use it, pass, and leave it as it was (never delete or relabel what it did not create)
    uid = kubectl("get", "storageclass", "fast", "-o", "jsonpath={.metadata.uid}")
    assert uid, "the cluster has no StorageClass fast: run `kubetm cluster up`"
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
