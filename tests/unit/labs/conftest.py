"""Fixtures and fakes of the kubetm/labs unit tests (no cluster).

- ``fake_catalog``: replaces the lab list with fake labs (``register(_lab(tmp_path, ...))``);
  ``_lab``/``ok_check``/``bad_check`` build them (a real manifests folder in tmp_path).
- ``DictKube`` + ``_ctx``: a Kube over a dict for running single checks of the real labs (exec
  answers, ``watch_until`` asserts its predicate holds); ``no_wait``: ``ready_pod`` without waiting.
  Whole labs run on the shared FakeKube (tests/unit/fakekube.py, fixture ``fake_kube``).
- ``REPO``/``MANIFESTS``: the checkout and its manifests/ folder.
- ``node``/``CP_TAINT``: Node objects for the daemonset and replicaset helpers.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kubetm.labs import catalog, config, namespace, pod, service, volume
from kubetm.labs.base import Check, Lab, LabContext

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = REPO / "manifests"

# ------------------------------------------------------------------------- fake labs


def _write_fake_manifests(folder: Path, name: str, steps: bool = True) -> None:
    folder.mkdir(parents=True)
    ns = f"kubetm-lab-{name}"
    (folder / "00-namespace.yaml").write_text(
        f"# 강의: Fake — a test lab.\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
        f"  labels: {{app.kubernetes.io/managed-by: kubetm, kubetm.io/lab: {name}}}\n"
    )
    (folder / "10-pod.yaml").write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: {ns}\nspec:\n"
        f"  containers: [{{name: c, image: localhost:5001/kubetm/hello:1.0}}]\n---\n"
        f"apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {ns}-pv\n"
        f"  labels: {{kubetm.io/lab: {name}}}\nspec: {{capacity: {{storage: 1Gi}}}}\n"
    )
    if steps:
        (folder / "steps").mkdir()
        (folder / "steps" / "extra.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: {ns}\n"
        )


def _lab(tmp_path, name="fake", checks=(), **kw) -> Lab:
    folder = tmp_path / name
    _write_fake_manifests(folder, name)
    return Lab(
        name=name,
        title=f"가짜 — {name}",
        lesson="a fake lesson",
        checks=tuple(checks),
        manifests_dir=folder,
        **kw,
    )


@pytest.fixture
def fake_catalog(monkeypatch):
    """Replace the lab list with fakes: call register(lab) for each."""
    monkeypatch.setattr(catalog, "LAB_MODULES", {})
    monkeypatch.setattr(catalog, "_cache", {})

    def register(lab: Lab) -> Lab:
        catalog.LAB_MODULES[lab.name] = lab.name
        catalog._cache[lab.name] = lab
        return lab

    return register


def ok_check(name, detail="fine", delay=0.0, log=None):
    def fn(ctx):
        if log is not None:
            log.append((ctx.lab.name, name))
        time.sleep(delay)
        return True, detail

    return Check(name, fn, f"{name} holds")


def bad_check(name, detail="broken"):
    return Check(name, lambda ctx: (False, detail), f"{name} holds")


# ---------------------------------------------------------- single checks of real labs


class DictKube:
    """get/list/exec/watch_until/apply/delete over a dict, enough for single checks."""

    def __init__(self, objects=None, exec_out=None):
        self.objects = objects or {}
        self.exec_out = exec_out or {}
        self.applied, self.deleted = [], []

    def get(self, kind, name, namespace=None, api_version=None):
        return self.objects.get((kind, name))

    def list(self, kind, namespace=None, selector=None, **_):
        return [o for (k, _n), o in self.objects.items() if k == kind]

    def exec(self, pod_name, cmd, container=None, namespace=None, timeout=60, stdin=None):
        return 0, self.exec_out.get(pod_name, ""), ""

    def watch_until(self, kind, name=None, predicate=None, **_):
        obj = self.get(kind, name) if name else self.list(kind)
        assert predicate(obj)
        return obj

    def apply(self, objs):
        self.applied.extend(objs)
        return []

    def delete(self, objs, **_):
        self.deleted.extend(objs)
        return []


def _ctx(kube, lab="config", **state):
    return LabContext(kube=kube, lab=catalog.get(lab), state=dict(state))


@pytest.fixture
def no_wait(monkeypatch):
    for module in (config, namespace, pod, service, volume):
        if hasattr(module, "ready_pod"):
            monkeypatch.setattr(
                module,
                "ready_pod",
                lambda ctx, name, namespace=None, timeout=None: ctx.kube.get("Pod", name),
            )


# ---------------------------------------------------------------------------- nodes

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name, taints=(), labels=None, provider="kind://docker/kubetm/{}"):
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": list(taints), "providerID": provider.format(name) if provider else None},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
