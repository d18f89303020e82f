"""Issue 2: bad states end in one clear line; a stale cluster is reused if healthy, recreated if not.

Runs after the other cluster tests (file order); the recreate test stops a worker container and lets
`kubetm cluster up` notice and rebuild the cluster, so it is the slowest test of this file (~1-2 min).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from .conftest import kubectl_json

# `cluster up` may recreate the cluster: nothing else runs meanwhile (serial phase of `make test`).
pytestmark = pytest.mark.shares("cluster")

NAME = "kubetm"


def kubetm(*args: str, env: dict | None = None, timeout: float = 900):
    return subprocess.run(
        [sys.executable, "-m", "kubetm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr
    return lines[-1]


def test_no_docker_engine_is_one_clear_line(cluster):
    cp = kubetm("cluster", "up", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert cp.returncode != 0
    assert "Docker is not running" in one_line(cp.stderr)


def test_healthy_cluster_is_reused_quickly(cluster):
    t = time.monotonic()
    cp = kubetm("cluster", "up", "-o", "json")
    assert cp.returncode == 0, cp.stderr[-500:]
    report = json.loads(cp.stdout)
    assert report["reused"] is True
    assert [n["ready"] for n in report["nodes"]] == [True, True, True]
    assert time.monotonic() - t < 120


def test_unhealthy_cluster_is_recreated(cluster):
    subprocess.run(
        ["docker", "stop", "-t", "1", f"{NAME}-worker2"], check=True, capture_output=True
    )
    cp = kubetm("cluster", "up", "-o", "json")
    assert cp.returncode == 0, cp.stderr[-800:]
    assert "not healthy" in cp.stderr and "recreating" in cp.stderr
    report = json.loads(cp.stdout)
    assert report["reused"] is False
    nodes = kubectl_json("get", "nodes")["items"]
    assert len(nodes) == 3
    assert all(
        {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"] == "True"
        for n in nodes
    )
