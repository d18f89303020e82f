"""`kubetm doctor -o json` on this machine, next to the shared cluster: every check is reported,
the cluster's own ports count as kubetm's, and what this machine is (cgroup v1, no buildx) is named
as it is, read independently from /sys and the docker CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHECKS = [
    "engine",
    "docker-group",
    "platform",
    "cgroup",
    "inotify",
    "disk",
    "memory",
    "image-store",
    "builder",
    "kind",
    "helm",
    "ports",
]


def _doctor() -> tuple[int, dict]:
    cp = subprocess.run(
        [sys.executable, "-m", "kubetm", "doctor", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return cp.returncode, json.loads(cp.stdout)


def test_doctor_reports_every_check_on_this_machine(cluster):
    code, rep = _doctor()
    checks = {c["name"]: c for c in rep["checks"]}
    assert list(checks) == CHECKS
    assert all(c["status"] in ("ok", "warn", "fail") for c in checks.values())
    assert code == (0 if rep["ok"] else 1)
    # the shared cluster is up: its published ports are held by its own containers, not "in use"
    assert checks["ports"]["status"] == "ok", checks["ports"]
    assert "held by kubetm's own containers" in checks["ports"]["detail"]
    root = subprocess.run(
        ["docker", "info", "--format", "{{.DockerRootDir}}"], capture_output=True, text=True
    ).stdout.strip()
    assert f"at {root} (Docker's data root)" in checks["disk"]["detail"]
    if not Path("/sys/fs/cgroup/cgroup.controllers").exists():  # cgroup v1, as on this machine
        assert checks["cgroup"]["status"] == "warn"
        assert checks["cgroup"]["detail"].startswith("cgroup v1: a known limit here")
    else:
        assert checks["cgroup"]["detail"].startswith("cgroup v2")
    buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0
    assert checks["builder"]["status"] == ("ok" if buildx else "warn")
    instances = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    assert (checks["inotify"]["status"] == "ok") == (
        instances >= 512
        and int(Path("/proc/sys/fs/inotify/max_user_watches").read_text()) >= 524288
    )
