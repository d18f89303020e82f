"""Unit-test fixtures: ``fake_kube`` (the one in-memory Kube, tests/unit/fakekube.py), ``api`` (a real
local HTTP server playing the Kubernetes API, tests/unit/fakeapi.py) and ``kube`` (a Kube pointed at it).

Unit tests never reach a cluster: helm (which the helm labs run) is replaced by a script that fails,
unless a test sets KUBETM_HELM to its own fake (``_no_real_helm``, autouse)."""

from __future__ import annotations

import sys

import pytest
from fakeapi import FakeAPI
from fakekube import FakeKube

from kubetm.k8s import Kube


@pytest.fixture
def api(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the dynamic client's discovery cache
    with FakeAPI() as server:
        yield server


@pytest.fixture
def kube(api, tmp_path) -> Kube:
    return Kube(kubeconfig=api.kubeconfig(tmp_path), retry_seconds=10)


@pytest.fixture
def fake_kube() -> FakeKube:
    return FakeKube()


@pytest.fixture(autouse=True)
def _no_real_helm(tmp_path_factory, monkeypatch):
    fake = tmp_path_factory.getbasetemp() / "no-real-helm"
    if not fake.exists():
        fake.write_text(
            f"#!{sys.executable}\nimport sys\nsys.stderr.write('Error: helm must not run in unit tests\\n')\n"
            "sys.exit(1)\n"
        )
        fake.chmod(0o755)
    monkeypatch.setenv("KUBETM_HELM", str(fake))


@pytest.fixture(autouse=True)
def _lab_seconds_in_tmp(tmp_path, monkeypatch):
    """`lab run` records each lab's measured time in kubetm's cache: here in the test's tmp."""
    from kubetm.labs import runner

    monkeypatch.setattr(runner, "_seconds_path", lambda: tmp_path / "lab-seconds.json")
