"""kubetm/k8s/client.py: the one door (Kube.call: retries, typed errors, /readyz probing),
first against plain callables, then against a REAL local HTTP server (tests/unit/fakeapi.py):
nothing in the client stack is mocked there."""

from __future__ import annotations

import time

import pytest
import urllib3
from fakeapi import FakeAPI, status_body

from kubetm.errors import KubetmError
from kubetm.k8s import Kube
from kubetm.k8s import client as client_mod

from .conftest import _kube


class Flaky:
    def __init__(self, errors, result="ok"):
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    def __call__(self, *a, **kw):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_transient_statuses_are_retried(api_error, status, monkeypatch):
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda s: None)
    fn = Flaky([api_error(status), api_error(status)])
    assert _kube().call(fn, what="x") == "ok"
    assert fn.calls == 3


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_client_errors_are_not_retried(api_error, status):
    fn = Flaky([api_error(status, "nope")])
    with pytest.raises(KubetmError) as e:
        _kube().call(fn, what="get pod p")
    assert fn.calls == 1
    assert e.value.message.startswith("get pod p")
    assert e.value.__cause__.status == status


def test_retry_after_is_honoured(api_error, monkeypatch):
    sleeps = []
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda s: sleeps.append(s))
    fn = Flaky([api_error(429, headers={"Retry-After": "1.5"})])
    assert _kube(retry_seconds=10).call(fn) == "ok"
    assert sleeps and abs(sleeps[0] - 1.5) < 0.1


def test_retries_are_bounded_in_total_time(api_error):
    fn = Flaky([api_error(503)] * 1000)
    start = time.monotonic()
    with pytest.raises(KubetmError) as e:
        _kube(retry_seconds=1.0).call(fn, what="list pods")
    assert time.monotonic() - start < 3
    assert "kept failing" in e.value.message
    assert fn.calls > 1


def test_connection_refused_fails_fast_before_first_contact(monkeypatch):
    monkeypatch.setattr(client_mod, "FIRST_CONTACT_SECONDS", 0.5)
    refused = urllib3.exceptions.MaxRetryError(
        None, "/", urllib3.exceptions.NewConnectionError(None, "refused")
    )
    fn = Flaky([refused] * 1000)
    start = time.monotonic()
    with pytest.raises(KubetmError) as e:
        _kube(retry_seconds=30).call(fn)
    assert time.monotonic() - start < 3
    assert "cannot reach the API server at https://127.0.0.1:6443" in e.value.message


def test_connection_reset_after_contact_is_retried(monkeypatch):
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda s: None)
    k = _kube()
    k._contact_ok = True
    fn = Flaky([urllib3.exceptions.ProtocolError("reset"), ConnectionResetError()])
    assert k.call(fn) == "ok" and fn.calls == 3


def test_unreachable_api_server_one_line(kubeconfig, monkeypatch):
    monkeypatch.setattr(client_mod, "FIRST_CONTACT_SECONDS", 0.3)
    k = Kube(kubeconfig=str(kubeconfig()), retry_seconds=5)
    with pytest.raises(KubetmError) as e:
        k.check_connection()
    assert (
        e.value.message
        == "cannot reach the API server at https://127.0.0.1:1: is the cluster running?"
    )


# ================================================== against a real local HTTP server

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default", "resourceVersion": "7"},
}


def _pod_gets(api, name: str = "p") -> list:
    return api.requests("GET", f"/api/v1/namespaces/default/pods/{name}")


def test_429_retry_after_is_honoured_by_the_real_client(api, kube):
    api.script(
        "GET",
        r"/pods/p$",
        [(429, status_body(429, "too many requests"), {"Retry-After": "1"}), (200, POD, {})],
    )
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    seen = _pod_gets(api)
    assert len(seen) == 2
    assert seen[1][0] - seen[0][0] >= 0.9, "the client did not wait Retry-After: 1"


def test_503_twice_then_200(api, kube):
    api.script(
        "GET",
        r"/pods/p$",
        [
            (503, status_body(503, "unavailable"), {}),
            (503, status_body(503, "unavailable"), {}),
            (200, POD, {}),
        ],
    )
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 3


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_transient_statuses_are_retried_once_then_succeed(api, kube, status):
    api.script("GET", r"/pods/p$", [(status, status_body(status, "transient"), {}), (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 2


def test_connection_reset_once_then_200(api, kube):
    api.script("GET", r"/pods/p$", ["reset", (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 2


def test_connection_reset_on_the_very_first_request_is_retried(api, kube):
    version = {
        "major": "1",
        "minor": "34",
        "gitVersion": "v1.34.0",
        "gitCommit": "x",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
    api.script("GET", r"^/version", ["reset", (200, version, {})])
    info = kube.check_connection()
    assert "v1.34.0" in (info.get("gitVersion"), info.get("git_version"))
    assert api.count("GET", "/version") == 2


@pytest.mark.parametrize(
    "status,message,expect",
    [
        (
            403,
            'pods "p" is forbidden: User "student" cannot get resource "pods"',
            "pod default/p: forbidden: pods",
        ),
        (404, 'pods "p" not found', None),  # Kube.get maps 404 to None
        (
            422,
            'Pod "p" is invalid: spec.containers: Required value',
            'rejected by the API server: Pod "p" is invalid',
        ),
    ],
)
def test_client_errors_are_not_retried_and_are_one_clear_line(api, kube, status, message, expect):
    api.script("GET", r"/pods/p$", [(status, status_body(status, message), {})])
    if expect is None:
        assert kube.get("Pod", "p") is None
    else:
        with pytest.raises(KubetmError) as e:
            kube.get("Pod", "p")
        assert expect in e.value.message and "\n" not in str(e.value)
    assert len(_pod_gets(api)) == 1


FORBIDDEN = (
    403,
    status_body(403, 'pods "p" is forbidden: User "kubernetes-admin" cannot get resource "pods"'),
    {},
)


NOT_READY = (
    500,
    status_body(500, "[-]poststarthook/rbac/bootstrap-roles failed: not finished"),
    {},
)


def test_403_from_a_restarting_server_is_retried_until_readyz_is_ok(api, kube):
    # the control plane restarts: the connection drops, then RBAC denies until its caches load
    api.script("GET", r"/pods/p$", ["reset", FORBIDDEN, FORBIDDEN, (200, POD, {})])
    api.script("GET", r"^/readyz", [NOT_READY, NOT_READY, (200, None, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"
    assert len(_pod_gets(api)) == 4
    assert api.count("GET", "/readyz") == 2


def test_403_while_readyz_is_denied_is_retried_only_right_after_an_outage(api, kube):
    denied = (403, status_body(403, 'forbidden: User "x" cannot get path "/readyz"'), {})
    api.script("GET", r"^/readyz", [denied])
    api.script("GET", r"/pods/p$", [FORBIDDEN])
    with pytest.raises(KubetmError) as e:  # no outage seen: a real 403, at once
        kube.get("Pod", "p")
    assert "forbidden" in e.value.message and len(_pod_gets(api)) == 1
    api.script("GET", r"/pods/p$", ["reset", FORBIDDEN, (200, POD, {})])
    assert kube.get("Pod", "p")["metadata"]["name"] == "p"  # after an outage: retried


def test_403_from_a_ready_server_is_not_retried(api, kube):
    api.script("GET", r"^/readyz", [(200, None, {})])
    api.script("GET", r"/pods/p$", ["reset", FORBIDDEN])
    with pytest.raises(KubetmError) as e:
        kube.get("Pod", "p")
    assert "forbidden: pods" in e.value.message
    assert len(_pod_gets(api)) == 2 and api.count("GET", "/readyz") == 1


def test_a_server_that_keeps_failing_is_given_up_on_in_bounded_time(api, tmp_path):
    api.script("GET", r"/pods/p$", [(503, status_body(503, "etcd leader changed"), {})])
    k = Kube(kubeconfig=api.kubeconfig(tmp_path), retry_seconds=2)
    start = time.monotonic()
    with pytest.raises(KubetmError) as e:
        k.get("Pod", "p")
    assert time.monotonic() - start < 6
    assert "kept failing (HTTP 503: etcd leader changed)" in e.value.message
    assert 2 <= len(_pod_gets(api)) <= 12


def test_api_server_down_fails_fast_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(client_mod, "FIRST_CONTACT_SECONDS", 1.0)
    cfg = FakeAPI.__new__(FakeAPI)  # only for its kubeconfig writer
    cfg.url, cfg.port = "http://127.0.0.1:1", 1
    k = Kube(kubeconfig=FakeAPI.kubeconfig(cfg, tmp_path), retry_seconds=30)
    start = time.monotonic()
    with pytest.raises(KubetmError) as e:
        k.check_connection()
    assert time.monotonic() - start < client_mod.FIRST_CONTACT_SECONDS + 3
    assert (
        e.value.message
        == "cannot reach the API server at http://127.0.0.1:1: is the cluster running?"
    )


def test_resource_lookups_from_many_threads_at_once(kube):
    """Labs resolve kinds from worker threads: every lookup gets its resource, none fails, and the
    lookups never run inside discovery at the same time (the dynamic client's cache is not
    thread-safe)."""
    import threading

    inside, overlap = [0], []
    real = kube._resource

    def tracked(kind, api_version=None):
        inside[0] += 1
        if inside[0] > 1:
            overlap.append(kind)
        try:
            return real(kind, api_version)
        finally:
            inside[0] -= 1

    kube._resource = tracked
    kinds = ["Pod", "ConfigMap", "Namespace", "Pod", "ConfigMap", "Namespace"] * 4
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def look(i: int, kind: str) -> None:
        try:
            results[i] = kube.resource(kind).kind
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=look, args=(i, k)) for i, k in enumerate(kinds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert [results[i] for i in range(len(kinds))] == kinds
    assert overlap == []
