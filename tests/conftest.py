"""Shared pytest fixtures (unit and e2e). Unit tests never need a cluster.

Fixtures:
  write_file(name, text|bytes)  -> Path in a temp folder
  kubeconfig(contexts=..., current=...) -> Path of a kubeconfig pointing at 127.0.0.1:1 (nothing listens)
  api_error(status, message, headers=None) -> a kubernetes ApiException like the API server sends
  fake_kube -> FakeKube: in-memory stand-in for kubetm.k8s.Kube (apply/get/list/delete/watch_until)
"""
from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any, Callable

import pytest

# A run started in the background by a non-interactive shell (`make test &`, nohup, some CI
# runners) inherits SIGINT *ignored*, and so does every kubetm process the tests start: Python then
# never raises KeyboardInterrupt, and the Ctrl-C tests would test nothing. Take SIGINT back here;
# children exec'd from now on start with the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, Any], Path]:
    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path
    return write


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Callable[..., Path]:
    def make(contexts: tuple[str, ...] = ("kind-kubetm", "other"), current: str | None = "kind-kubetm",
             server: str = "https://127.0.0.1:1") -> Path:
        cfg = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": c, "cluster": {"server": server, "insecure-skip-tls-verify": True}}
                         for c in contexts],
            "users": [{"name": c, "user": {"token": "not-a-secret"}} for c in contexts],
            "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in contexts],
        }
        if current:
            cfg["current-context"] = current
        path = tmp_path / "kubeconfig"
        path.write_text(json.dumps(cfg), encoding="utf-8")  # JSON is YAML
        return path
    return make


@pytest.fixture
def api_error() -> Callable[..., Exception]:
    from kubernetes.client.exceptions import ApiException

    def make(status: int, message: str = "boom", headers: dict | None = None) -> Exception:
        exc = ApiException(status=status, reason="Reason")
        exc.body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "code": status})
        exc.headers = headers or {}
        return exc
    return make


class FakeKube:
    """In-memory Kube: enough for CLI and lab unit tests. Records every call in ``calls``."""

    def __init__(self, namespace: str = "default"):
        self.namespace = namespace
        self.objects: dict[tuple, dict] = {}
        self.calls: list[tuple] = []

    def _key(self, kind: str, name: str, namespace: str | None) -> tuple:
        return (kind, namespace if kind not in ("Namespace", "Node", "PersistentVolume",
                                                "CustomResourceDefinition") else None, name)

    def apply(self, objs, namespace=None, force_conflicts=False, workers=4, **_):
        from kubetm.k8s import Result
        out = []
        for o in objs:
            ns = o["metadata"].get("namespace") or namespace or self.namespace
            key = self._key(o["kind"], o["metadata"]["name"], ns)
            action = "unchanged" if self.objects.get(key) == o else ("configured" if key in self.objects else "created")
            self.objects[key] = o
            out.append(Result(o["kind"], o["metadata"]["name"], key[1], action, o.get("apiVersion", "")))
        self.calls.append(("apply", len(out), namespace, force_conflicts))
        return out

    def get(self, kind, name, namespace=None, api_version=None):
        self.calls.append(("get", kind, name, namespace))
        return self.objects.get(self._key(kind, name, namespace or self.namespace))

    def list(self, kind, namespace=None, selector=None, **kw):
        self.calls.append(("list", kind, namespace, selector))
        return [o for (k, ns, _), o in self.objects.items() if k == kind]

    def delete(self, target, namespace=None, wait=True, timeout=180, **_):
        from kubetm.k8s import Result, parse_target
        objs = target if isinstance(target, list) else [target]
        out = []
        for o in objs:
            if isinstance(o, str):
                _, kind, name = parse_target(o)
                o = {"kind": kind, "metadata": {"name": name}}
            ns = o["metadata"].get("namespace") or namespace or self.namespace
            key = self._key(o["kind"], o["metadata"]["name"], ns)
            found = self.objects.pop(key, None) is not None
            out.append(Result(o["kind"], o["metadata"]["name"], key[1], "deleted" if found else "not found"))
        self.calls.append(("delete", len(out), namespace, wait))
        return out

    def watch_until(self, kind, name=None, predicate=lambda o: o is not None, **kw):
        self.calls.append(("watch_until", kind, name))
        obj = self.objects.get(self._key(kind, name, kw.get("namespace") or self.namespace)) if name else \
            [o for (k, _, _), o in self.objects.items() if k == kind]
        assert predicate(obj), f"FakeKube: predicate not satisfied for {kind}/{name}"
        return obj


@pytest.fixture
def fake_kube() -> FakeKube:
    return FakeKube()
