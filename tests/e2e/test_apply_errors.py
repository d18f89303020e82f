"""Issue 11 defects, on the live cluster: what `kubetm apply -f` says about a manifest the API
server cannot take. Each answer is one line, at once, and tells the user what to write instead."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .conftest import CONTEXT, kubectl

ROOT = Path(__file__).resolve().parents[2]

# The course's own ReplicaSet page spells the node-affinity field this way.
MISSPELT = "requiredDuringSchedulingIngnoredDuringExecution"


# A retried error keeps failing the same way, so a retry lasts the whole retry budget: with the
# budget set to RETRY_BUDGET, "answered well under it" means "not retried" whatever the machine's
# load (a fixed 2 s bound measured the interpreter's start-up under a busy suite, not retries).
RETRY_BUDGET = 60.0
NOT_RETRIED = 15.0


def kubetm(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KUBETM_RETRY_SECONDS": str(RETRY_BUDGET)},
        cwd=ROOT,
    )


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_misspelt_field_is_one_line_at_once_with_the_closest_valid_name(
    cluster, namespace, tmp_path
):
    manifest = _write(
        tmp_path,
        f"""\
apiVersion: v1
kind: Pod
metadata:
  name: pod-misspelt
spec:
  affinity:
    nodeAffinity:
      {MISSPELT}:
        nodeSelectorTerms:
        - matchExpressions:
          - {{key: kubetm.io/course-node, operator: In, values: [k8s-node1]}}
  containers:
  - name: container
    image: localhost:5001/kubetm/hello:1.0
""",
    )
    start = time.monotonic()
    cp = kubetm("-n", namespace, "apply", "-f", str(manifest))
    elapsed = time.monotonic() - start
    assert cp.returncode == 1, cp.stderr
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, cp.stderr
    assert (
        lines[0].startswith("error: ")
        and f"unknown field spec.affinity.nodeAffinity.{MISSPELT}" in lines[0]
    )
    assert "(did you mean requiredDuringSchedulingIgnoredDuringExecution?)" in lines[0], lines[0]
    assert elapsed < NOT_RETRIED, (
        f"took {elapsed:.2f}s of a {RETRY_BUDGET:.0f} s retry budget (a schema error must not be retried)"
    )
    # nothing was written (kubectl as the independent oracle)
    assert kubectl("-n", namespace, "get", "pods", "-o", "name").strip() == ""


def test_a_removed_api_version_names_the_served_one(cluster, namespace, tmp_path):
    manifest = _write(
        tmp_path,
        """\
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: cron-job
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: container
            image: localhost:5001/kubetm/init:1.0
""",
    )
    cp = kubetm("-n", namespace, "apply", "-f", str(manifest))
    assert cp.returncode == 1, cp.stderr
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert lines == [
        "error: CronJob is not served as batch/v1beta1 on this cluster (use batch/v1)"
    ], cp.stderr
    assert "CustomResourceDefinition" not in cp.stderr
    assert kubectl("-n", namespace, "get", "cronjobs", "-o", "name").strip() == ""
