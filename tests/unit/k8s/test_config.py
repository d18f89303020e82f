"""kubetm/k8s/config.py: kubeconfig files and contexts."""

from __future__ import annotations

import pytest

from kubetm.errors import KubetmError
from kubetm.k8s import Kube


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
