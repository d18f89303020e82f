"""e2e: the config lab after a run that was killed while its ConfigMap was changed (issue 14's
kill -9 row hit this in CI): the next `lab run config` re-applies cm-file, and the mounted file,
still holding the killed run's value, must come back at once, not at the kubelet's next periodic
sync (up to about a minute, past the check's 30 s bound)."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import kubectl, lab_shares
from .test_labs import kubetm

NS = "kubetm-lab-config"
LEFT = "left by a killed run"


def _mounted() -> str:
    return kubectl("-n", NS, "exec", "pod-mount", "--", "cat", "/mount/file-c.txt", check=False)


@pytest.mark.timeout(300)
@pytest.mark.shares(*lab_shares("config"))
def test_a_changed_value_left_in_the_mounted_file_comes_back_at_once(cluster):
    try:
        cp = kubetm("lab", "apply", "config", timeout=180)
        assert cp.returncode == 0, cp.stderr[-1000:]
        kubectl("-n", NS, "wait", "--for=condition=Ready", "pod/pod-mount", "--timeout=120s")
        # what the killed run had done: cm-file changed by kubetm's own field manager, and the
        # kubelet nudged so the file shows it
        cm = json.loads(kubectl("-n", NS, "get", "configmap", "cm-file", "-o", "json"))
        key = min(cm["data"])
        meta = cm["metadata"]
        changed = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm-file", "namespace": NS, "labels": meta.get("labels") or {}},
            "data": {**cm["data"], key: LEFT + "\n"},
        }
        kubectl(
            "apply",
            "--server-side",
            "--field-manager=kubetm",
            "--force-conflicts",
            "-f",
            "-",
            input=json.dumps(changed),
        )
        kubectl("-n", NS, "annotate", "pod", "pod-mount", f"e2e-nudge={time.time()}", "--overwrite")
        deadline = time.monotonic() + 60
        while LEFT not in _mounted():  # test-side polling of an independent oracle (kubectl)
            assert time.monotonic() < deadline, "the changed value never reached the file"
            time.sleep(1)
        run = kubetm("lab", "run", "config", "-o", "json", timeout=240)
        doc = json.loads(run.stdout)
        checks = {c["name"]: c for c in doc["checks"]}
        assert run.returncode == 0 and doc["ok"], checks.get("volume-mount-files")
        assert checks["volume-mount-files"]["seconds"] < 20, checks["volume-mount-files"]
    finally:
        kubetm("lab", "delete", "config", timeout=180)
