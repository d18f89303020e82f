"""Fixtures of the CLI tests: the shared FakeKube behind every State.kube."""

from __future__ import annotations

import pytest

from kubetm import cli


@pytest.fixture
def use_fake(monkeypatch, fake_kube):
    """Every State.kube is the shared FakeKube; remembers the global options it was built from."""
    seen = {}

    def kube(self):
        seen.update(kubeconfig=self.kubeconfig, context=self.context, namespace=self.namespace)
        fake_kube.namespace = self.namespace or "default"
        return fake_kube

    monkeypatch.setattr(cli.State, "kube", property(kube))
    fake_kube.seen = seen
    return fake_kube


@pytest.fixture
def no_cluster(monkeypatch, fake_kube):
    """Every State.kube is the shared FakeKube (records calls; a command that validates first makes none)."""
    monkeypatch.setattr(cli.State, "kube", property(lambda self: fake_kube))
    return fake_kube
