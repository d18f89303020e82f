"""kubetm/labs/helm_basics.py: its namespaces and the nm-1 rule (a namespace from an earlier verify
is removed first, one that is not the lab's is never touched). No cluster, no helm."""

from __future__ import annotations

import pytest
from fakekube import FakeKube

from kubetm.errors import KubetmError
from kubetm.labs import catalog, helm_basics
from kubetm.labs.base import LabContext


class HelmKube(FakeKube):
    context = "kind-test"
    kubeconfig = None


def _ctx(*objs) -> tuple[LabContext, FakeKube]:
    kube = HelmKube()
    kube.apply(list(objs))
    return LabContext(kube=kube, lab=catalog.get("helm-basics"), timeout=30), kube


def _ns(name, labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def test_the_lab_owns_its_namespace_and_the_one_helm_creates():
    assert catalog.get("helm-basics").namespaces == (helm_basics.NS, helm_basics.NM1)
    assert helm_basics.NM1 == "kubetm-lab-helm-basics-nm-1"


def test_a_foreign_nm1_namespace_is_never_touched():
    ctx, kube = _ctx(_ns(helm_basics.NM1, {"team": "someone-else"}))
    with pytest.raises(KubetmError, match="exists and is not the lab's"):
        helm_basics._remove_nm1(ctx)
    assert kube.get("Namespace", helm_basics.NM1) is not None
    assert not [c for c in kube.writes() if c[0] == "delete"]


def test_the_labs_own_nm1_from_an_earlier_verify_is_removed_first():
    ctx, kube = _ctx(_ns(helm_basics.NM1, {"kubetm.io/lab": "helm-basics"}))
    helm_basics._remove_nm1(ctx)  # no release Secrets in it: no helm call
    assert kube.get("Namespace", helm_basics.NM1) is None
