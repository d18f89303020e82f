"""The suite leaves nothing behind (issue 13): runs LAST (serial phase of `make test`, after the
fault tests), so two `make test` back to back start from the same cluster.

kubectl is the oracle. After every lab, demo and e2e test has run and cleaned up:
- no namespace kubetm-lab-* or kubetm-demo-* (every command waits for its own deletion), and no
  kubetm-e2e-* namespace left once their deletion (started without waiting) is through;
- no taint on a node but the control plane's own, no node label under kubetm.io/ but the course
  node names `kubetm cluster up` puts (kubetm.io/course-node);
- no PersistentVolume a lab made (label kubetm.io/lab) and none bound to a kubetm-* namespace;
- no CustomResourceDefinition a lab made (group *.kubetm.io, or label kubetm.io/lab).
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from .conftest import kubectl_json

pytestmark = [pytest.mark.shares("cluster"), pytest.mark.leftover_check]

PREFIXES = ("kubetm-lab-", "kubetm-demo-", "kubetm-e2e-")
CONTROL_PLANE_TAINT = ("node-role.kubernetes.io/control-plane", "NoSchedule")
CLUSTER_UP_LABELS = {"kubetm.io/course-node"}
SETTLE = 180  # s: kubetm-e2e-* namespaces are deleted without waiting; give them time to go


def _left() -> list[str]:
    found = []
    for ns in kubectl_json("get", "namespaces")["items"]:
        name = ns["metadata"]["name"]
        if name.startswith(PREFIXES):
            found.append(f"namespace {name} ({ns['status'].get('phase')})")
    for node in kubectl_json("get", "nodes")["items"]:
        name = node["metadata"]["name"]
        for t in node["spec"].get("taints") or []:
            if (t.get("key"), t.get("effect")) != CONTROL_PLANE_TAINT:
                found.append(f"node {name}: taint {t.get('key')}:{t.get('effect')}")
        for key in node["metadata"].get("labels") or {}:
            if key.startswith("kubetm.io/") and key not in CLUSTER_UP_LABELS:
                found.append(f"node {name}: label {key}")
    for pv in kubectl_json("get", "pv")["items"]:
        claim = (pv["spec"].get("claimRef") or {}).get("namespace", "")
        if "kubetm.io/lab" in (pv["metadata"].get("labels") or {}) or claim.startswith("kubetm-"):
            found.append(f"pv {pv['metadata']['name']} (claim namespace {claim or '-'})")
    for crd in kubectl_json("get", "crd")["items"]:  # helm's crds/ carry no labels: by group
        name = crd["metadata"]["name"]
        if name.endswith(".kubetm.io") or "kubetm.io/lab" in (crd["metadata"].get("labels") or {}):
            found.append(f"crd {name}")
    return found


@pytest.mark.timeout(SETTLE + 60)
def test_the_suite_left_nothing_behind(cluster):
    deadline = time.monotonic() + SETTLE
    left = _left()
    # Only what is still on its way out may take a moment: e2e namespaces deleted with
    # --wait=false and the local-path PVs of their claims. Anything else fails at once.
    while left and time.monotonic() < deadline:
        if any(not _going(x) for x in left):
            break
        time.sleep(2)
        left = _left()
    assert left == [], "left behind after the suite:\n  " + "\n  ".join(left)


def _going(item: str) -> bool:
    return (item.startswith("namespace kubetm-e2e-") and "Terminating" in item) or (
        item.startswith("pv ") and "kubetm-e2e-" in item
    )


def test_no_removed_node_left_its_disk_behind(cluster):
    """A kind node container keeps its /var (containerd's images, the kubelet's pods, ~1.5 GB) in
    an anonymous volume; a node removed without it (`docker rm -f` without -v: test_cluster_states
    did so until 2026-12-02, 13 such volumes, 21.7 GB) leaves it dangling until the disk runs out.
    Docker is the oracle; a volume counts when it is dangling and holds lib/containerd and
    lib/kubelet (read on the host: this machine runs the suite as root)."""
    names = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", "dangling=true"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    mounts = (
        subprocess.run(
            ["docker", "volume", "inspect", "--format", "{{.Name}} {{.Mountpoint}}", *names],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.splitlines()
        if names
        else []
    )
    left = []
    for line in mounts:
        name, mount = line.split(" ", 1)
        if all(os.path.isdir(os.path.join(mount, "lib", d)) for d in ("containerd", "kubelet")):
            left.append(f"volume {name} (a node's /var at {mount})")
    assert left == [], "left behind after the suite:\n  " + "\n  ".join(left)
