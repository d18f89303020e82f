"""kubetm/labs/authentication.py and apiaccess.py: checks on canned API answers (no cluster)."""

from __future__ import annotations

import base64
import json
import os

import pytest

from kubetm.labs import apiaccess
from kubetm.labs import authentication as auth

from .conftest import DictKube, _ctx

NS = "kubetm-lab-authentication"


def jwt(sub):
    body = base64.urlsafe_b64encode(json.dumps({"sub": sub}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2lnbmF0dXJl"


class ApiKube(DictKube):
    context = "kind-kubetm"

    def tls_files(self):
        return {
            "server": "https://127.0.0.1:6443",
            "ca_file": "/ca",
            "cert_file": "/c",
            "key_file": "/k",
        }


@pytest.fixture
def answers(monkeypatch):
    """Canned answers of apiaccess.api by (path, credential): credential 'cert', 'anon' or the token."""
    table: dict = {}
    calls: list = []

    def fake_api(kube, path, *, client_cert=False, token=None, method="GET", body=None):
        who = "cert" if client_cert else (token or "anon")
        calls.append((method, path, who))
        return table[(path, who)]

    monkeypatch.setattr(apiaccess, "api", fake_api)
    monkeypatch.setattr(auth, "api", fake_api)
    table["calls"] = calls
    return table


REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def test_client_certificate_names_user_groups_and_nodes(answers):
    answers[("/api/v1/nodes", "cert")] = (200, {"items": [{"metadata": {"name": "n1"}}]})
    answers[(REVIEW, "cert")] = (
        201,
        {
            "status": {
                "userInfo": {
                    "username": "kubernetes-admin",
                    "groups": ["kubeadm:cluster-admins", "system:authenticated"],
                }
            }
        },
    )
    ok, detail = auth.client_certificate(_ctx(ApiKube(), "authentication"))
    assert ok, detail
    assert (
        "-> 200 (n1)" in detail and "user kubernetes-admin, groups kubeadm:cluster-admins" in detail
    )
    assert "no longer in system:masters" in detail
    answers[("/api/v1/nodes", "cert")] = (401, {"message": "Unauthorized"})
    ok, detail = auth.client_certificate(_ctx(ApiKube(), "authentication"))
    assert not ok and "-> 401 (Unauthorized)" in detail


def test_anonymous_must_be_refused_as_system_anonymous(answers):
    msg = 'nodes is forbidden: User "system:anonymous" cannot list resource "nodes"'
    answers[("/api/v1/nodes", "anon")] = (403, {"kind": "Status", "message": msg})
    ok, detail = auth.anonymous_forbidden(_ctx(ApiKube(), "authentication"))
    assert ok and detail.endswith(msg)
    answers[("/api/v1/nodes", "anon")] = (401, {"message": "Unauthorized"})
    assert not auth.anonymous_forbidden(_ctx(ApiKube(), "authentication"))[0]


def test_no_token_secret_fails_when_the_service_account_lists_one():
    sa = {"metadata": {"name": "default"}, "secrets": []}
    kube = ApiKube({("ServiceAccount", "default"): sa})
    ok, detail = auth.no_token_secret_by_default(_ctx(kube, "authentication"))
    assert ok, detail
    sa["secrets"] = [{"name": "default-token-abcde"}]
    kube.objects[("Secret", "default-token-abcde")] = {
        "metadata": {"name": "default-token-abcde"},
        "type": apiaccess.SA_TOKEN_TYPE,
    }
    ok, detail = auth.no_token_secret_by_default(_ctx(kube, "authentication"))
    assert not ok and "default-token-abcde" in detail


def test_token_secret_detail_hides_the_token():
    token = jwt(f"system:serviceaccount:{NS}:default")
    data = {
        k: base64.b64encode(v.encode()).decode()
        for k, v in {"token": token, "ca.crt": "CA", "namespace": NS}.items()
    }
    secret = {"metadata": {"name": "default-token"}, "type": apiaccess.SA_TOKEN_TYPE, "data": data}
    kube = ApiKube({("Secret", "default-token"): secret})
    ok, detail = auth.token_secret_filled(_ctx(kube, "authentication"))
    assert ok, detail
    assert token not in detail and data["token"] not in detail
    assert f"<hidden, {len(token)} bytes>, a JWT for system:serviceaccount:{NS}:default" in detail
    assert kube.applied[0]["metadata"]["name"] == "default-token"  # the step was applied


def test_claims_reads_the_payload_only():
    assert apiaccess.claims(jwt("me")) == {"sub": "me"}
    assert apiaccess.claims("not-a-jwt") == {}


def test_kubeconfig_file_is_private_and_removed():
    with apiaccess.kubeconfig_file({"kind": "Config", "users": [{"user": {"token": "t"}}]}) as p:
        assert os.stat(p).st_mode & 0o777 == 0o600
        assert "token: t" in open(p, encoding="utf-8").read()
    assert not os.path.exists(p) and not os.path.exists(os.path.dirname(p))
