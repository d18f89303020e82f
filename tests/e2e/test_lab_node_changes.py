"""e2e: the node labels and taints of lab node-scheduling never outlive kubetm.

`kubetm lab run node-scheduling` is killed with SIGKILL (no clean-up of its own can run) right after
it has labelled a node; `kubetm lab delete node-scheduling`, a new process that knows only the
cluster, must remove every label and taint the lab added (found by the node annotation
kubetm.io/lab-node-changes) and leave the course labels alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CONTEXT, kubectl, lab_shares

REPO = Path(__file__).resolve().parents[2]
ANNOTATION = "kubetm.io/lab-node-changes"
LAB_KEYS = {"key1", "kr", "us", "ch", "a-team", "gpu"}


def _nodes() -> list[dict]:
    return json.loads(kubectl("get", "nodes", "-o", "json"))["items"]


def _marked(nodes: list[dict]) -> list[str]:
    return [
        n["metadata"]["name"]
        for n in nodes
        if ANNOTATION in (n["metadata"].get("annotations") or {})
    ]


@pytest.mark.timeout(600)
@pytest.mark.shares(*lab_shares("node-scheduling"))  # "cluster": serial
@pytest.mark.beside_online  # labels and taints, no timing
def test_lab_delete_undoes_node_changes_of_a_killed_run(cluster):
    before = {n["metadata"]["name"]: n for n in _nodes()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, "lab", "run", "node-scheduling"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, marked = time.monotonic() + 180, []
        while time.monotonic() < deadline and not marked:
            marked = _marked(_nodes())  # test-side polling of an independent oracle (kubectl)
            time.sleep(0.2)
        assert marked, "lab run never labelled a node within 180 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    left = [n for n in _nodes() if n["metadata"]["name"] in marked]
    assert any(
        set(n["metadata"].get("labels") or {}) & LAB_KEYS or n["spec"].get("taints") for n in left
    )

    cp = subprocess.run(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, "lab", "delete", "node-scheduling"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert cp.returncode == 0, cp.stderr
    for n in _nodes():
        name, meta = n["metadata"]["name"], n["metadata"]
        assert ANNOTATION not in (meta.get("annotations") or {}), name
        assert not set(meta.get("labels") or {}) & LAB_KEYS, (name, meta.get("labels"))
        assert meta["labels"].get("kubetm.io/course-node") == (
            before[name]["metadata"]["labels"].get("kubetm.io/course-node")
        )
        assert n["spec"].get("taints") == before[name]["spec"].get("taints"), name
    assert "kubetm-lab-node-scheduling" not in kubectl("get", "namespaces", "-o", "name")
