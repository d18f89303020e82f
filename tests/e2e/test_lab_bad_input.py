"""e2e: `lab verify` when the student's own objects are wrong — exit 4, and the failing check's
detail says what differs (a Role missing a verb; a "headless" Service that got a ClusterIP).

Each test applies its lab, breaks one object with kubectl (the student's hand, an independent
client), verifies, and deletes the lab whatever happened.
"""

from __future__ import annotations

import json
import re

import pytest

from .conftest import kubectl, lab_shares
from .test_labs import kubetm


def _verify(lab: str) -> tuple[int, dict]:
    cp = kubetm("lab", "verify", lab, "-o", "json", timeout=600)
    try:
        return cp.returncode, json.loads(cp.stdout)
    except ValueError:
        pytest.fail(f"lab verify {lab}: exit {cp.returncode}, no JSON; stderr: {cp.stderr[-800:]}")


def _apply(lab: str) -> None:
    cp = kubetm("lab", "apply", lab, timeout=300)
    assert cp.returncode == 0, cp.stderr


@pytest.mark.timeout(900)
@pytest.mark.shares(*lab_shares("authorization"))
def test_role_missing_a_verb_fails_verify_naming_the_verb(cluster):
    try:
        _apply("authorization")
        kubectl(
            "-n",
            "kubetm-lab-authorization",
            "patch",
            "role",
            "r-01",
            "--type=json",
            "-p",
            '[{"op": "replace", "path": "/rules/0/verbs", "value": ["get"]}]',
        )
        code, payload = _verify("authorization")
        checks = {c["name"]: c for c in payload["checks"]}
        assert code == 4, payload
        broken = checks["role-allows-pods"]
        assert not broken["ok"]
        assert "-> 403" in broken["detail"] and "access review: denied" in broken["detail"]
        assert broken["detail"].endswith("Role r-01 differs from the course's: pods lacks list")
        assert checks["role-denies-other-namespace"]["ok"]  # the rest of the lesson still holds
    finally:
        kubetm("lab", "delete", "authorization", timeout=300)


NOT_HEADLESS = """apiVersion: v1
kind: Service
metadata:
  name: headless1
  namespace: kubetm-lab-service-discovery
spec:
  selector:
    svc: headless
  ports:
    - port: 80
      targetPort: 8080
"""


@pytest.mark.timeout(900)
@pytest.mark.shares(*lab_shares("service-discovery"))
def test_headless_service_with_a_cluster_ip_fails_verify_naming_it(cluster):
    try:
        _apply("service-discovery")
        kubectl("-n", "kubetm-lab-service-discovery", "delete", "service", "headless1")
        kubectl("apply", "-f", "-", input=NOT_HEADLESS)
        ip = kubectl(
            "-n",
            "kubetm-lab-service-discovery",
            "get",
            "service",
            "headless1",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ).strip()
        assert re.fullmatch(r"[0-9.]+", ip), ip
        code, payload = _verify("service-discovery")
        checks = {c["name"]: c for c in payload["checks"]}
        assert code == 4, payload
        broken = checks["headless-dns"]
        assert not broken["ok"]
        assert broken["detail"].startswith(
            f"headless1 has clusterIP {ip}, a headless Service has None"
        ), broken["detail"]
        assert f"headless1 -> {ip} instead of the pods'" in broken["detail"]
        assert checks["clusterip-dns"]["ok"]
    finally:
        kubetm("lab", "delete", "service-discovery", timeout=300)
