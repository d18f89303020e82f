"""Issue 3 acceptance: `kubetm deploy hello`, `kubetm apply -f` idempotence, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CONTEXT, HELLO, http_get, kubectl, kubectl_json

ROOT = Path(__file__).resolve().parents[2]


def kubetm(*args: str, check: bool = True, env: dict | None = None, timeout: float = 300):
    cp = subprocess.run(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    if check:
        assert cp.returncode == 0, (
            f"kubetm {' '.join(args)} -> {cp.returncode}: {cp.stderr.strip()[-800:]}"
        )
    return cp


def _free_hello_nodeport() -> None:
    """NodePort 30000 is hello's: a hello left in another namespace (a user's `deploy hello`) holds it."""
    for svc in kubectl_json("get", "svc", "-A")["items"]:
        if any(p.get("nodePort") == 30000 for p in svc["spec"].get("ports", [])):
            kubectl(
                "-n",
                svc["metadata"]["namespace"],
                "delete",
                "svc",
                svc["metadata"]["name"],
                "--wait=true",
            )


@pytest.mark.shares(*HELLO)
def test_deploy_hello_answers_hello_kubernetes(cluster, namespace):
    _free_hello_nodeport()
    cp = kubetm("-n", namespace, "deploy", "hello", "-o", "json")
    out = json.loads(cp.stdout)
    assert "Hello Kubernetes!" in out["body"]
    # an independent look: the Service exists with the course's ports and the host gets the same body
    svc = kubectl_json("-n", namespace, "get", "svc", "hello-svc")
    assert svc["spec"]["ports"][0]["port"] == 8200 and svc["spec"]["ports"][0]["targetPort"] == 8000
    status, body = http_get(out["url"])
    assert status == 200 and body == "Hello Kubernetes!\n"
    pod = kubectl_json("-n", namespace, "get", "pod", "hello-pod")
    assert pod["metadata"]["labels"]["app"] == "hello"
    assert pod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubetm"
    # idempotent: a second deploy changes nothing and still answers
    again = json.loads(kubetm("-n", namespace, "deploy", "hello", "-o", "json").stdout)
    assert "Hello Kubernetes!" in again["body"]
    kubetm("-n", namespace, "delete", "hello")
    assert kubectl("-n", namespace, "get", "pod,svc", "-o", "name").strip() == ""


def _kubetm_writes(namespace: str) -> dict:
    """Per object: generation and the time of kubetm's last write (status updates by the kubelet
    change resourceVersion, not these)."""
    out = {}
    for o in kubectl_json("-n", namespace, "get", "pod,svc", "--show-managed-fields")["items"]:
        times = sorted(
            m.get("time", "") for m in o["metadata"]["managedFields"] if m["manager"] == "kubetm"
        )
        out[o["metadata"]["name"]] = (o["metadata"].get("generation"), times)
    return out


@pytest.mark.shares(*HELLO)
def test_apply_twice_changes_nothing_the_second_time(cluster, namespace):
    _free_hello_nodeport()
    path = str(ROOT / "manifests" / "getting-started")
    first = json.loads(kubetm("-n", namespace, "apply", "-f", path, "-o", "json").stdout)
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/hello-pod", "--timeout=120s")
    rv1 = _kubetm_writes(namespace)
    second = json.loads(kubetm("-n", namespace, "apply", "-f", path, "-o", "json").stdout)
    rv2 = _kubetm_writes(namespace)
    assert {r["action"] for r in first} == {"created"}
    assert {r["action"] for r in second} == {"unchanged"}
    assert (
        rv1 == rv2
    )  # kubectl agrees: kubetm wrote nothing (same generation, same kubetm field times)
    fields = kubectl_json("-n", namespace, "get", "svc", "hello-svc", "--show-managed-fields")
    managers = {m["manager"] for m in fields["metadata"]["managedFields"]}
    assert "kubetm" in managers
    kubetm("-n", namespace, "delete", "-f", path)


def test_unknown_context_is_one_clear_line(cluster):
    cp = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetm",
            "--context",
            "no-such-context",
            "apply",
            "-f",
            str(ROOT / "manifests" / "getting-started"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cp.returncode != 0
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no-such-context" in lines[0] and "Traceback" not in cp.stderr


def test_api_server_unreachable_is_one_clear_line(cluster, tmp_path):
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(kubectl("config", "view", "--minify", "--raw"))
    text = cfg.read_text()
    import re

    cfg.write_text(re.sub(r"server: https://[^\s]+", "server: https://127.0.0.1:1", text))
    cp = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetm",
            "--kubeconfig",
            str(cfg),
            "apply",
            "-f",
            str(ROOT / "manifests" / "getting-started"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cp.returncode != 0
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "API server" in lines[0] and "Traceback" not in cp.stderr
