"""Error mapping: KubetmError formatting, API errors -> one line, retries in Kube.call, kubeconfig."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import urllib3

from kubetm.k8s import client as kube_mod
from kubetm.errors import KubetmError, format_error
from kubetm.k8s import Kube, objects
from kubetm.k8s.errors import map_api_error


def test_format_error_one_line_with_hint():
    e = KubetmError("bad\nthing   happened", hint="try\nthis")
    assert format_error(e) == "error: bad thing happened (try this)"
    assert e.exit_code == 1
    assert format_error(KubetmError("x", exit_code=3)) == "error: x"
    assert format_error(ValueError("v")) == "error: ValueError: v"


def test_long_messages_are_capped():
    assert len(KubetmError("x" * 5000).message) <= 400


@pytest.mark.parametrize("status,expect", [
    (404, 'pod default/p: pods "p" not found'),
    (403, "pod default/p: forbidden: nope"),
    (422, "pod default/p: rejected by the API server: Pod \"p\" is invalid"),
    (400, "pod default/p: rejected by the API server: bad"),
    (409, "pod default/p: conflict: busy"),
])
def test_map_api_error_uses_api_message(api_error, status, expect):
    msg = {404: 'pods "p" not found', 403: "nope", 422: 'Pod "p" is invalid', 400: "bad", 409: "busy"}[status]
    err = map_api_error(api_error(status, msg), "pod default/p")
    assert err.message == expect


def test_map_api_error_unauthorized_has_hint(api_error):
    err = map_api_error(api_error(401, "Unauthorized"), "list pods")
    assert "unauthorized" in err.message and "--context" in err.hint


def test_map_connection_error_says_cluster_is_down():
    exc = urllib3.exceptions.MaxRetryError(None, "/api", urllib3.exceptions.NewConnectionError(None, "refused"))
    err = map_api_error(exc, "x", "https://127.0.0.1:6443")
    assert err.message == "cannot reach the API server at https://127.0.0.1:6443: is the cluster running?"
    assert err.hint == "try `kubetm cluster up`"


def _kube(retry_seconds=2.0) -> Kube:
    k = Kube(retry_seconds=retry_seconds)
    k._configuration = SimpleNamespace(host="https://127.0.0.1:6443")
    return k


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
    monkeypatch.setattr(kube_mod, "FIRST_CONTACT_SECONDS", 0.5)
    refused = urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(None, "refused"))
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


# --------------------------------------------------------------------------------- kubeconfig

def test_missing_kubeconfig(tmp_path):
    k = Kube(kubeconfig=str(tmp_path / "nope"))
    with pytest.raises(KubetmError) as e:
        k.api_client
    assert "no kubeconfig found" in e.value.message and "kubetm cluster up" in e.value.hint


def test_broken_kubeconfig_says_where(write_file):
    p = write_file("kc", "apiVersion: v1\nclusters: [\n")
    with pytest.raises(KubetmError) as e:
        Kube(kubeconfig=str(p)).api_client
    assert e.value.message.startswith(f"broken kubeconfig {p}:")


def test_unknown_context_lists_valid_ones(kubeconfig):
    with pytest.raises(KubetmError) as e:
        Kube(kubeconfig=str(kubeconfig()), context="kind-nope").api_client
    assert e.value.message == "context 'kind-nope' not found in kubeconfig"
    assert e.value.hint == "valid contexts: kind-kubetm, other"


def test_no_current_context(kubeconfig):
    with pytest.raises(KubetmError) as e:
        Kube(kubeconfig=str(kubeconfig(current=None))).api_client
    assert "no current context" in e.value.message


def test_context_and_namespace_defaults(kubeconfig):
    k = Kube(kubeconfig=str(kubeconfig()))
    assert k.server == "https://127.0.0.1:1" and k.context == "kind-kubetm"
    assert k.namespace == "default"
    assert Kube(kubeconfig=str(kubeconfig()), namespace="x").namespace == "x"


def test_unreachable_api_server_one_line(kubeconfig, monkeypatch):
    monkeypatch.setattr(kube_mod, "FIRST_CONTACT_SECONDS", 0.3)
    k = Kube(kubeconfig=str(kubeconfig()), retry_seconds=5)
    with pytest.raises(KubetmError) as e:
        k.check_connection()
    assert e.value.message == "cannot reach the API server at https://127.0.0.1:1: is the cluster running?"


def test_parse_target():
    assert objects.parse_target("po/x") == ("v1", "Pod", "x")
    assert objects.parse_target("deploy/web") == ("apps/v1", "Deployment", "web")
    assert objects.parse_target("widgets.example.com/w") == ("", "widgets.example.com", "w")
    for bad in ("pod", "/x", "pod/", "a/b/c"):
        with pytest.raises(KubetmError):
            objects.parse_target(bad)


def test_apply_label_added_and_resource_version_dropped():
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "resourceVersion": "5", "labels": {"a": "b"}}}
    out = objects.with_label(obj)
    assert out["metadata"]["labels"] == {"a": "b", "app.kubernetes.io/managed-by": "kubetm"}
    assert "resourceVersion" not in out["metadata"]
    assert obj["metadata"]["resourceVersion"] == "5"  # input untouched


# ------------------------------------------------- apply results, 409 conflicts, watch recovery

class FakeResource:
    def __init__(self, store, kind="Pod", namespaced=True):
        self.store, self.kind, self.namespaced = store, kind, namespaced
        self.group_version, self.name = "v1", kind.lower() + "s"

    def get(self, name=None, namespace=None, label_selector=None, field_selector=None, **kw):
        if field_selector and field_selector.startswith("metadata.name="):
            name = field_selector.split("=", 1)[1]
            return {"metadata": {"resourceVersion": str(self.store.rv)},
                    "items": [o for o in [self.store.objs.get(name)] if o]}
        if name is not None:
            if name not in self.store.objs:
                raise self.store.error(404, f'{self.name} "{name}" not found')
            return self.store.objs[name]
        return {"metadata": {"resourceVersion": str(self.store.rv)}, "items": list(self.store.objs.values())}

    def delete(self, name=None, namespace=None, **kw):
        if name not in self.store.objs:
            raise self.store.error(404, "not found")
        self.store.deleting.add(name)


class FakeDynamic:
    def __init__(self, api_error):
        self.error = api_error
        self.objs: dict[str, dict] = {}
        self.rv = 10
        self.conflicts = 0
        self.applied: list[dict] = []
        self.watch_script: list = []   # list of lists of events, or exceptions, per watch call
        self.watch_calls = []
        self.deleting: set[str] = set()

    def server_side_apply(self, res, body=None, name=None, namespace=None, field_manager=None,
                          force_conflicts=None, **kw):
        assert field_manager == "kubetm"
        if self.conflicts:
            self.conflicts -= 1
            raise self.error(409, "Apply failed with 1 conflict: conflict with \"kubectl\"")
        self.applied.append(body)
        old = self.objs.get(name)
        new_spec = body.get("spec")
        if old is None or old.get("spec") != new_spec or old["metadata"].get("labels") != body["metadata"].get("labels"):
            self.rv += 1
            self.objs[name] = {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.rv)}}
        return self.objs[name]

    def watch(self, res, namespace=None, name=None, label_selector=None, resource_version=None, timeout=None,
              watcher=None):
        self.watch_calls.append(resource_version)
        step = self.watch_script.pop(0) if self.watch_script else []
        if isinstance(step, Exception):
            raise step
        for ev in step:
            if ev["type"] == "DELETED":
                self.objs.pop(ev["raw_object"]["metadata"]["name"], None)
            else:
                self.objs[ev["raw_object"]["metadata"]["name"]] = ev["raw_object"]
            yield ev


@pytest.fixture
def fake(api_error):
    dyn = FakeDynamic(api_error)
    k = _kube()
    k._dynamic = dyn
    k._namespace = "default"

    def events(res, watcher, namespace=None, field_selector=None, label_selector=None, resource_version=None,
               timeout_seconds=None, _request_timeout=None):
        assert _request_timeout[1] > timeout_seconds   # our read timeout never cuts a live watch short
        name = (field_selector or "").partition("metadata.name=")[2] or None
        return dyn.watch(res, namespace=namespace, name=name, label_selector=label_selector,
                         resource_version=resource_version, timeout=timeout_seconds, watcher=watcher)

    k._watch_events = events
    res = FakeResource(dyn)
    k.resource = lambda kind, api_version=None: res
    return k, dyn


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}


def test_apply_created_unchanged_configured(fake):
    k, dyn = fake
    assert [r.action for r in k.apply([POD])] == ["created"]
    assert dyn.applied[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubetm"
    assert dyn.applied[0]["metadata"]["namespace"] == "default"
    assert [r.action for r in k.apply([POD])] == ["unchanged"]
    changed = {**POD, "spec": {"containers": [{"name": "c2"}]}}
    r = k.apply([changed])[0]
    assert (r.action, r.namespace, str(r)) == ("configured", "default", "pod/default/p configured")


def test_apply_conflict_is_retried_then_reported_without_forcing(fake):
    k, dyn = fake
    dyn.conflicts = 1
    assert k.apply([POD])[0].action == "created"
    dyn.conflicts = 10
    with pytest.raises(KubetmError) as e:
        k.apply([POD])
    assert "conflict" in e.value.message and "--force-conflicts" in e.value.hint


def _ev(etype, name, rv, ready=False):
    return {"type": etype, "raw_object": {"metadata": {"name": name, "resourceVersion": str(rv)},
                                          "status": {"conditions": [{"type": "Ready",
                                                                     "status": "True" if ready else "False"}]}}}


def test_watch_until_reads_first(fake):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3, ready=True)["raw_object"]
    from kubetm.k8s.conditions import pod_ready
    assert k.watch_until("Pod", "p", pod_ready, timeout=5)["metadata"]["name"] == "p"
    assert dyn.watch_calls == []  # satisfied by the initial read, no watch opened


def test_watch_until_relists_after_410_gone(fake, api_error):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3)["raw_object"]
    dyn.watch_script = [[_ev("MODIFIED", "p", 11)], api_error(410, "too old resource version"),
                        [_ev("MODIFIED", "p", 13, ready=True)]]
    from kubetm.k8s.conditions import pod_ready
    got = k.watch_until("Pod", "p", pod_ready, timeout=5)
    assert got["metadata"]["resourceVersion"] == "13"
    assert dyn.watch_calls[0] == "10" and len(dyn.watch_calls) == 3


def test_watch_until_times_out_with_state_hint(fake):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3)["raw_object"]
    from kubetm.k8s.conditions import pod_ready
    with pytest.raises(KubetmError) as e:
        k.watch_until("Pod", "p", pod_ready, timeout=0.2)
    assert e.value.exit_code == 3 and "timed out" in e.value.message and "Ready=False" in e.value.hint


def test_watch_predicate_can_abort(fake):
    k, dyn = fake
    pod = _ev("ADDED", "p", 3)["raw_object"]
    pod["status"]["containerStatuses"] = [{"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]
    dyn.objs["p"] = pod
    from kubetm.k8s.conditions import pod_ready
    with pytest.raises(KubetmError) as e:
        k.watch_until("Pod", "p", pod_ready, timeout=5)
    assert "ImagePullBackOff" in e.value.message and "kubetm image push" in e.value.hint


def test_delete_waits_until_gone_and_reports_missing(fake):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3)["raw_object"]
    dyn.watch_script = [[_ev("DELETED", "p", 12)]]
    results = k.delete([POD, {**POD, "metadata": {"name": "q"}}])
    assert [(r.name, r.action) for r in results] == [("p", "deleted"), ("q", "not found")]
    assert "p" not in dyn.objs
