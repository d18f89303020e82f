"""Unit-test fixtures: ``fake_kube`` (the one in-memory Kube, tests/unit/fakekube.py), ``api`` (a real
local HTTP server playing the Kubernetes API, tests/unit/fakeapi.py) and ``kube`` (a Kube pointed at it)."""

from __future__ import annotations

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
