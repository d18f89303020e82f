"""A command killed during its clean-up leaves its namespace Terminating; running it again must wait
for that namespace to go and then apply, not fail with "... because it is being terminated".

The namespace is held in Terminating by a ConfigMap with a finalizer of our own, released after a
few seconds while `kubetm apply -f` is waiting.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .conftest import CONTEXT, kubectl, kubectl_json

ROOT = Path(__file__).resolve().parents[2]
HOLD = 6.0


def _hold(ns: str, finalizers: list[str] | None, check: bool = True) -> None:
    """Set (a list) or release (None) the finalizers of ConfigMap `held` in ``ns``."""
    patch = json.dumps({"metadata": {"finalizers": finalizers}})
    kubectl("-n", ns, "patch", "configmap", "held", "--type=merge", "-p", patch, check=check)


def test_apply_waits_for_its_terminating_namespace_then_applies(cluster, tmp_path):
    ns = f"kubetm-e2e-term-{uuid.uuid4().hex[:6]}"
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: {ns}\n"
        "data:\n  lesson: applied again\n"
    )
    kubectl("create", "namespace", ns)
    kubectl("-n", ns, "create", "configmap", "held")
    _hold(ns, ["kubetm.io/e2e-hold"])
    kubectl("delete", "namespace", ns, "--wait=false")
    try:
        assert kubectl_json("get", "namespace", ns)["status"]["phase"] == "Terminating"
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubetm", "--context", CONTEXT, "apply", "-f", str(manifest)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        time.sleep(HOLD)  # test-side: hold the namespace in Terminating while kubetm waits
        assert proc.poll() is None, f"kubetm did not wait: {proc.communicate()}"
        _hold(ns, None)
        out, err = proc.communicate(timeout=180)
        took = time.monotonic() - start
        assert proc.returncode == 0, err
        assert took >= HOLD, took
        assert kubectl_json("get", "namespace", ns)["status"]["phase"] == "Active"
        assert kubectl_json("-n", ns, "get", "configmap", "cm")["data"] == {
            "lesson": "applied again"
        }
    finally:
        _hold(ns, None, check=False)
        kubectl("delete", "namespace", ns, "--wait=false", check=False)
