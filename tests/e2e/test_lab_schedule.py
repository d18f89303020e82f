"""The lab scheduler on the real cluster (issue 13): two labs that claim the same NodePort never
overlap in time when they declare it, and do when they do not (so this test can fail).

Two small test-only labs (manifests in a tmp folder, registered in the lab catalogue for this
process only), each a pod of the course's app:v1 behind a NodePort Service on 30006 (a free
reserved port); the check asks 127.0.0.1:30006/hostname until its own pod answers. They run through
kubetm's own runner (`labs.run(..., jobs=2)`) against kind-kubetm. The oracle is kubectl: a
`kubectl get namespaces --watch` started before the run timestamps each lab namespace's creation
and deletion on the host; the labs overlap exactly when those lifetimes intersect.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request

import pytest

from .conftest import CONTEXT, image

PORT = 30006
pytestmark = [pytest.mark.shares(f"nodeport:{PORT}"), pytest.mark.timeout(600)]
NAMES = ("e2e-port-a", "e2e-port-b")

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels: {{app.kubernetes.io/managed-by: kubetm, kubetm.io/lab: {lab}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: {lab}
  namespace: {ns}
  labels: {{app: {lab}}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: app, image: {image}}}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: {ns}
spec:
  type: NodePort
  selector: {{app: {lab}}}
  ports: [{{port: 8080, nodePort: {port}}}]
"""


def _answers_on_the_port(ctx):
    """Its pod Ready, then 127.0.0.1:30006/hostname answers with that pod's name (bounded)."""
    from kubetm.k8s import conditions

    lab = ctx.lab.name
    ctx.kube.watch_until(
        "Pod", lab, conditions.pod_ready, namespace=ctx.namespace, timeout=90, what=f"pod {lab}"
    )
    deadline, last = time.monotonic() + 30, ""
    while time.monotonic() < deadline:  # kube-proxy programs the NodePort a moment later
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/hostname", timeout=3) as r:
                last = r.read().decode().strip()
        except OSError as e:
            last = str(e)
        if last == lab:
            return True, f"NodePort {PORT} answered by {lab}"
        time.sleep(0.5)
    return False, f"NodePort {PORT} never answered by {lab} (last: {last})"


class NamespaceWatch:
    """`kubectl get namespaces --watch`: host time of each lab namespace's first and last sight."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["kubectl", "--context", CONTEXT, "get", "namespaces", "--watch", "-o", "json"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.born: dict[str, float] = {}
        self.gone: dict[str, float] = {}
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        decoder, buf = json.JSONDecoder(), ""
        for line in self.proc.stdout:
            buf += line
            try:
                obj, end = decoder.raw_decode(buf.lstrip())
            except ValueError:
                continue
            buf = buf.lstrip()[end:]
            name, now = obj["metadata"]["name"], time.monotonic()
            if not name.startswith("kubetm-lab-e2e-port-"):
                continue
            if obj["metadata"].get("deletionTimestamp"):
                self.gone.setdefault(name, now)  # its deletion began: the lab is cleaning up
            else:
                self.born.setdefault(name, now)

    def lifetimes(self, names, within: float = 120) -> dict[str, tuple[float, float]]:
        deadline = time.monotonic() + within
        while set(names) - set(self.gone) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.proc.terminate()
        return {n: (self.born[n], self.gone[n]) for n in names}


@pytest.fixture
def port_labs(tmp_path, monkeypatch):
    """register(declare) -> the two labs, in the catalogue of this process only."""
    from kubetm.labs import catalog
    from kubetm.labs.base import Check, Lab

    monkeypatch.setattr(catalog, "LAB_MODULES", dict(catalog.LAB_MODULES))
    monkeypatch.setattr(catalog, "_cache", dict(catalog._cache))

    def register(declare: bool) -> list[str]:
        for name in NAMES:
            folder = tmp_path / f"{name}-{declare}"
            folder.mkdir()
            (folder / "00-lab.yaml").write_text(
                MANIFEST.format(ns=f"kubetm-lab-{name}", lab=name, image=image("app:v1"), port=PORT)
            )
            shares = (
                {"shares": (f"nodeport:{PORT}",), "shares_reason": "svc web"} if declare else {}
            )
            lab = Lab(
                name=name,
                title=name,
                lesson="test-only",
                checks=(Check("answers-on-the-port", _answers_on_the_port, timeout=150),),
                manifests_dir=folder,
                **shares,
            )
            catalog.LAB_MODULES[name] = name
            catalog._cache[name] = lab
        return list(NAMES)

    return register


def _run(names):
    from kubetm import labs
    from kubetm.k8s import Kube

    watch = NamespaceWatch()
    time.sleep(1)  # the watch lists what exists first
    results = labs.run(Kube(context=CONTEXT), names, jobs=2)
    life = watch.lifetimes([f"kubetm-lab-{n}" for n in names])
    return results, life


def _overlap(life: dict[str, tuple[float, float]]) -> float:
    (a0, a1), (b0, b1) = life.values()
    return min(a1, b1) - max(a0, b0)  # > 0: both namespaces existed at once


def test_labs_declaring_the_same_nodeport_never_overlap(cluster, port_labs):
    results, life = _run(port_labs(declare=True))
    assert [r.ok for r in results] == [True, True], [r.lines() for r in results]
    assert _overlap(life) <= 0, f"declared labs overlapped {_overlap(life):.1f} s (kubectl)"
    a, b = sorted((r.to_dict() for r in results), key=lambda r: r["start_s"])
    assert a["end_s"] <= b["start_s"], (a, b)  # kubetm's own record agrees


def test_the_same_labs_undeclared_do_overlap(cluster, port_labs):
    """The control: without the declaration the scheduler starts both at once, and kubectl sees it
    (one of them then fails to get its NodePort: 'provided port is already allocated')."""
    results, life = _run(port_labs(declare=False))
    assert _overlap(life) > 0, f"undeclared labs did not overlap: {life}"
    assert not all(r.ok for r in results), [r.lines() for r in results]
