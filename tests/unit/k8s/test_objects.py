"""kubetm/k8s/objects.py: parse_target, the managed-by label, the one result type."""

from __future__ import annotations

import pytest

from kubetm.errors import KubetmError
from kubetm.k8s import objects


def test_parse_target():
    assert objects.parse_target("po/x") == ("v1", "Pod", "x")
    assert objects.parse_target("deploy/web") == ("apps/v1", "Deployment", "web")
    assert objects.parse_target("widgets.example.com/w") == ("", "widgets.example.com", "w")
    for bad in ("pod", "/x", "pod/", "a/b/c"):
        with pytest.raises(KubetmError):
            objects.parse_target(bad)


def test_apply_label_added_and_resource_version_dropped():
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "resourceVersion": "5", "labels": {"a": "b"}},
    }
    out = objects.with_label(obj)
    assert out["metadata"]["labels"] == {"a": "b", "app.kubernetes.io/managed-by": "kubetm"}
    assert "resourceVersion" not in out["metadata"]
    assert obj["metadata"]["resourceVersion"] == "5"  # input untouched
