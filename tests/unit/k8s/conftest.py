"""Fixtures for kubetm/k8s unit tests without any server: a Kube whose dynamic client is an
in-memory fake (``fake`` -> (kube, FakeDynamic)) and ``make_kube`` (a Kube that never loads a
kubeconfig)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kubetm.k8s import Kube


def _kube(retry_seconds=2.0) -> Kube:
    k = Kube(retry_seconds=retry_seconds)
    k._configuration = SimpleNamespace(host="https://127.0.0.1:6443")
    return k


@pytest.fixture
def make_kube():
    return _kube


class FakeResource:
    def __init__(self, store, kind="Pod", namespaced=True):
        self.store, self.kind, self.namespaced = store, kind, namespaced
        self.group_version, self.name = "v1", kind.lower() + "s"

    def get(self, name=None, namespace=None, label_selector=None, field_selector=None, **kw):
        if field_selector and field_selector.startswith("metadata.name="):
            name = field_selector.split("=", 1)[1]
            return {
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": [o for o in [self.store.objs.get(name)] if o],
            }
        if name is not None:
            if name not in self.store.objs:
                raise self.store.error(404, f'{self.name} "{name}" not found')
            return self.store.objs[name]
        return {
            "metadata": {"resourceVersion": str(self.store.rv)},
            "items": list(self.store.objs.values()),
        }

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
        self.watch_script: list = []  # list of lists of events, or exceptions, per watch call
        self.watch_calls = []
        self.deleting: set[str] = set()

    def server_side_apply(
        self,
        res,
        body=None,
        name=None,
        namespace=None,
        field_manager=None,
        force_conflicts=None,
        **kw,
    ):
        assert field_manager == "kubetm"
        if self.conflicts:
            self.conflicts -= 1
            raise self.error(409, 'Apply failed with 1 conflict: conflict with "kubectl"')
        self.applied.append(body)
        old = self.objs.get(name)
        new_spec = body.get("spec")
        if (
            old is None
            or old.get("spec") != new_spec
            or old["metadata"].get("labels") != body["metadata"].get("labels")
        ):
            self.rv += 1
            self.objs[name] = {
                **body,
                "metadata": {**body["metadata"], "resourceVersion": str(self.rv)},
            }
        return self.objs[name]

    def watch(
        self,
        res,
        namespace=None,
        name=None,
        label_selector=None,
        resource_version=None,
        timeout=None,
        watcher=None,
    ):
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

    def events(
        res,
        watcher,
        namespace=None,
        field_selector=None,
        label_selector=None,
        resource_version=None,
        timeout_seconds=None,
        _request_timeout=None,
    ):
        assert (
            _request_timeout[1] > timeout_seconds
        )  # our read timeout never cuts a live watch short
        name = (field_selector or "").partition("metadata.name=")[2] or None
        return dyn.watch(
            res,
            namespace=namespace,
            name=name,
            label_selector=label_selector,
            resource_version=resource_version,
            timeout=timeout_seconds,
            watcher=watcher,
        )

    k._watch_events = events
    res = FakeResource(dyn)
    k.resource = lambda kind, api_version=None: res
    return k, dyn


def _ev(etype, name, rv, ready=False):
    return {
        "type": etype,
        "raw_object": {
            "metadata": {"name": name, "resourceVersion": str(rv)},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
        },
    }
