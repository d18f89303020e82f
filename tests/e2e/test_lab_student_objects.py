"""e2e: `lab verify` judges the objects the student made, not the lab's own YAML.

The qos lab is applied, then the student's pod-guaranteed is replaced (with kubectl, the student's
tool) by one whose limits differ from its requests: `kubetm lab verify qos` must exit 4 and the
failing check must say what differs (the class the API gave, the resources, the class expected).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .conftest import REGISTRY, kubectl, lab_shares
from .test_labs import kubetm

REPO = Path(__file__).resolve().parents[2]
NS = "kubetm-lab-qos"


def _wrong_guaranteed_pod() -> str:
    docs = yaml.safe_load_all((REPO / "manifests/qos/10-qos-pods.yaml").read_text(encoding="utf-8"))
    pod = next(d for d in docs if d and d["metadata"]["name"] == "pod-guaranteed")
    container = pod["spec"]["containers"][0]
    container["image"] = container["image"].replace("localhost:5001", REGISTRY)
    container["resources"]["limits"]["cpu"] = "200m"  # no longer equal to the request (100m)
    return yaml.safe_dump(pod)


@pytest.mark.shares(*lab_shares("qos"))
def test_verify_fails_naming_what_differs_in_the_students_pod(cluster):
    applied = kubetm("lab", "apply", "qos", timeout=300)
    assert applied.returncode == 0, applied.stderr
    try:
        kubectl("delete", "pod", "pod-guaranteed", "-n", NS, "--wait=true")
        kubectl("apply", "-f", "-", input=_wrong_guaranteed_pod())
        cp = kubetm("lab", "verify", "qos", "-o", "json", timeout=300)
        assert cp.returncode == 4, (cp.returncode, cp.stdout[-800:], cp.stderr[-800:])
        checks = {c["name"]: c for c in json.loads(cp.stdout)["checks"]}
        bad = checks["qos-class-guaranteed"]
        assert bad["ok"] is False
        assert "pod-guaranteed is Burstable" in bad["detail"], bad["detail"]
        assert "limits cpu=200m,memory=128Mi" in bad["detail"], bad["detail"]
        assert "expected Guaranteed" in bad["detail"], bad["detail"]
        assert checks["qos-class-besteffort"]["ok"] is True  # only the wrong pod fails
    finally:
        done = kubetm("lab", "delete", "qos", timeout=300)
        assert done.returncode == 0, done.stderr
    assert NS not in kubectl("get", "namespaces", "-o", "name")
