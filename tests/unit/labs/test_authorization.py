"""kubetm/labs/authorization.py: answers vs access reviews, the Role diff, the cleanup (no cluster)."""

from __future__ import annotations

import base64

import pytest
from fakekube import FakeKube

from kubetm.labs import authorization as authz
from kubetm.labs.base import LabContext
from kubetm.labs.catalog import get

from .conftest import DictKube

NS1, NS2 = authz.NS1, authz.NS2


def token_secret():
    return {"data": {"token": base64.b64encode(b"tok").decode()}}


def role(verbs):
    return {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": verbs}]}


def ctx(kube):
    return LabContext(kube=kube, lab=get("authorization"), timeout=5)


@pytest.fixture
def rbac(monkeypatch):
    """The API's answers from a table {(resource, namespace): allowed}; the review says ``review``."""
    state = {"allowed": {}, "review": None}

    def fake_api(kube, path, *, client_cert=False, token=None, method="GET", body=None):
        if client_cert:
            return 404, {"message": "the server could not find the requested resource"}
        parts = path.strip("/").split("/")
        res, ns = (parts[-1], parts[-2]) if "namespaces" in parts else (parts[-1], None)
        ok = state["allowed"].get((res, ns), False)
        return (200, {"items": []}) if ok else (403, {"message": f"{res} is forbidden"})

    def fake_may(kube, token, verb, resource, namespace=None):
        allowed = state["allowed"].get((resource, namespace), False)
        if state["review"] is not None:
            allowed = state["review"]
        return allowed, "RBAC: allowed by RoleBinding" if allowed else ""

    monkeypatch.setattr(authz, "api", fake_api)
    monkeypatch.setattr(authz, "may", fake_may)
    monkeypatch.setattr(authz, "whoami", lambda kube, **_: {"username": "sa"})
    monkeypatch.setattr(authz, "OBSERVE_SECONDS", 0.0)
    return state


def kube_with(role_verbs=("get", "list")):
    return DictKube(
        {
            ("Secret", "default-token"): token_secret(),
            ("Secret", "sa-02-token"): token_secret(),
            ("Role", "r-01"): role(list(role_verbs)),
        }
    )


def test_role_allows_pods_and_review_agrees(rbac):
    rbac["allowed"][("pods", NS1)] = True
    ok, detail = authz.role_allows_pods(ctx(kube_with()))
    assert (
        ok
        and f"GET /api/v1/namespaces/{NS1}/pods -> 200 (0 items); access review: allowed" in detail
    )


def test_a_role_missing_a_verb_fails_naming_the_verb(rbac):
    ok, detail = authz.role_allows_pods(ctx(kube_with(["get"])))
    assert not ok
    assert detail.endswith("Role r-01 differs from the course's: pods lacks list")


def test_an_answer_the_review_contradicts_fails(rbac):
    rbac["allowed"][("pods", NS1)] = True
    rbac["review"] = False
    ok, _ = authz.role_allows_pods(ctx(kube_with()))
    assert not ok


def test_services_and_other_namespace_are_refused(rbac):
    ok, detail = authz.role_denies_services(ctx(kube_with()))
    assert (
        ok and "-> 403" in detail and "service -> 404 even with the admin's certificate" in detail
    )
    ok, detail = authz.role_denies_other_namespace(ctx(kube_with()))
    assert ok and f"/namespaces/{NS2}/pods -> 403" in detail
    rbac["allowed"][("services", NS1)] = True  # a Role that grants too much
    ok, detail = authz.role_denies_services(ctx(kube_with(["get", "list"])))
    assert not ok


def test_clusterrole_needs_200_everywhere(rbac):
    for r, ns in [("pods", NS1), ("services", NS1), ("pods", NS2), ("pods", "kube-system")]:
        rbac["allowed"][(r, ns)] = True
    ok, detail = authz.clusterrole_allows_everything(ctx(kube_with()))
    assert not ok and "/api/v1/nodes -> 403" in detail
    rbac["allowed"][("nodes", None)] = True
    ok, detail = authz.clusterrole_allows_everything(ctx(kube_with()))
    assert ok and detail.endswith("access review: allowed for each")


def test_cleanup_deletes_only_the_labs_cluster_objects():
    kube = FakeKube()
    mine = {"kubetm.io/lab": "authorization"}
    kube.apply(
        [
            {"kind": "ClusterRole", "metadata": {"name": "cr-02", "labels": mine}},
            {"kind": "ClusterRoleBinding", "metadata": {"name": "rb-02", "labels": mine}},
            {"kind": "ClusterRole", "metadata": {"name": "someone-elses"}},
        ]
    )
    authz.cleanup(ctx(kube))
    assert [k[2] for k in kube.objects] == ["someone-elses"]


def test_lab_declares_its_cluster_objects():
    lab = get("authorization")
    assert lab.namespaces == (NS1, NS2)
    assert lab.shares == ("object:ClusterRole/cr-02", "object:ClusterRoleBinding/rb-02")
