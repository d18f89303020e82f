"""Fault injection: the API server goes away mid-command (`docker restart kubetm-control-plane`).

Not part of a plain `pytest tests/e2e`: it restarts the control plane everyone shares, so
pyproject's addopts deselect it (-m "not fault"). `make test` (and so CI) runs it last, after the
rest of the suite; alone: `make fault` or

    pytest -m fault tests/e2e/test_fault.py

For `kubetm lab run pod` and `kubetm demo rolling-update`, started in a subprocess, the control
plane is restarted ~10 s in. The command must either finish correctly (exit 0: Kube.call retried
through the outage) or end with ONE clear `error: ...` line (no traceback), and leave nothing
behind that kubetm did not label: every object in the kubetm-lab-*/kubetm-demo-* namespaces
carries app.kubernetes.io/managed-by=kubetm (or is owned by such an object, e.g. a ReplicaSet's
pods, or is something Kubernetes itself puts in every namespace).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CONTEXT, kubectl

# Only `fault` (not `e2e`): `pytest -m e2e` must not restart the shared control plane.
pytestmark = [pytest.mark.fault, pytest.mark.shares("cluster")]

ROOT = Path(__file__).resolve().parents[2]
CONTROL_PLANE = "kubetm-control-plane"
MANAGED_BY = "app.kubernetes.io/managed-by"
RESTART_AFTER = 10.0
# Objects Kubernetes creates in every namespace, or on behalf of objects kubetm created.
AUTOMATIC = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}
AUTOMATIC_KINDS = {"Event", "Endpoints", "EndpointSlice", "Lease", "ControllerRevision"}


def _api_ready(within: float = 240) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        cp = subprocess.run(
            ["kubectl", "--context", CONTEXT, "get", "--raw", "/readyz"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if cp.returncode == 0:
            return
        time.sleep(2)
    raise AssertionError(f"the API server did not come back within {within:.0f} s")


def _namespaces(prefixes: tuple[str, ...]) -> list[str]:
    names = kubectl("get", "namespaces", "-o", "name").split()
    return [n.split("/", 1)[1] for n in names if n.split("/", 1)[1].startswith(prefixes)]


def _unlabelled(ns: str) -> list[str]:
    """Objects in ns that neither carry the kubetm label nor are owned by/automatic for kubetm's."""
    kinds = kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").split()
    items = json.loads(
        kubectl("-n", ns, "get", ",".join(kinds), "-o", "json", "--ignore-not-found")
        or '{"items": []}'
    )["items"]
    bad = []
    for o in items:
        meta = o.get("metadata", {})
        if (meta.get("labels") or {}).get(MANAGED_BY) == "kubetm":
            continue
        if o.get("kind") in AUTOMATIC_KINDS or (o.get("kind"), meta.get("name")) in AUTOMATIC:
            continue
        if meta.get(
            "ownerReferences"
        ):  # pods of a kubetm ReplicaSet, ReplicaSets of a kubetm Deployment
            continue
        bad.append(f"{o.get('kind')}/{meta.get('name')}")
    return bad


def _run_with_restart(args: list[str], timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KUBETM_NO_HELP_CACHE": "1"}
    p = subprocess.Popen(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    time.sleep(RESTART_AFTER)
    assert p.poll() is None, (
        f"kubetm {' '.join(args)} ended before the restart: the fault hit nothing"
    )
    restart = subprocess.run(
        ["docker", "restart", CONTROL_PLANE], capture_output=True, text=True, timeout=180
    )
    assert restart.returncode == 0, restart.stderr
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
    _api_ready()
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _assert_finished_or_one_clear_line(cp: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in cp.stderr, cp.stderr[-2000:]
    if cp.returncode == 0:
        return
    errors = [ln for ln in cp.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, (
        f"exit {cp.returncode} without exactly one error line:\n{cp.stderr[-2000:]}"
    )
    assert len(errors[0]) <= 420


@pytest.mark.parametrize(
    "args,prefixes,cleanup",
    [
        (["lab", "run", "pod"], ("kubetm-lab-",), ["lab", "delete", "pod"]),
        (["demo", "rolling-update"], ("kubetm-demo-",), ["demo", "delete", "rolling-update"]),
    ],
    ids=["lab-run-pod", "demo-rolling-update"],
)
@pytest.mark.timeout(1500)  # the command (up to 900 s), the API coming back, the cleanup
def test_control_plane_restart_mid_command(cluster, args, prefixes, cleanup):
    cp = _run_with_restart(args)
    last = (cp.stderr.strip().splitlines() or [""])[-1]
    print(
        f"kubetm {' '.join(args)} under a control-plane restart: exit {cp.returncode}; last line: {last}"
    )  # -rA
    _assert_finished_or_one_clear_line(cp)
    for ns in _namespaces(prefixes):
        assert _unlabelled(ns) == [], f"objects without the kubetm label left in {ns}"
    # The cluster recovered: kubetm's own delete of whatever is left finishes (a namespace whose
    # deletion hangs, e.g. on a stale metrics.k8s.io after the restart, fails it).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *cleanup],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, (
        f"kubetm {' '.join(cleanup)} after the restart: {done.stderr[-1500:]}"
    )
    assert not _namespaces((prefixes[0] + args[-1],)), "namespace still there after kubetm's delete"
