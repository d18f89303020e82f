"""Every lab declares what it shares (issue 13): a lab whose manifests or code use something other
labs could use too, but which does not declare it, is caught here, before it meets another lab
in `lab run all`.

What is read from the lab (manifests/<lab>/*.yaml and steps/, and the lab's module source):
- a Service ``nodePort: N``                         -> ``nodeport:N``
- a container ``hostPort: N``                       -> ``hostport:N``
- a PersistentVolume or claim of storageClassName "" -> ``setting:pv-binding`` (base.PV_BINDING)
- a cluster-scoped object other than its Namespace/PVs -> ``object:Kind/name``
- code that patches a Node (labels, taints)          -> ``nodes``
- code that stops a node                            -> ``cluster``
(Helm charts are installed by code: helm-templates' PV is declared by hand, and checked below.)
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from kubetm import manifests
from kubetm.labs import catalog
from kubetm.labs.base import CLUSTER, NODES, PV_BINDING, Lab

from .conftest import _lab

NAMESPACED_OR_OWN = {"Namespace", "PersistentVolume"}
CLUSTER_SCOPED = {
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "RuntimeClass",
}


def _walk(obj):
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            yield cur
            stack.extend(v for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            stack.extend(v for v in cur if isinstance(v, (dict, list)))


def needed(lab: Lab, source: str = "") -> set[str]:
    """What the lab's manifests and code show it uses that another lab could too."""
    need: set[str] = set()
    files = lab.manifest_files() + lab.step_files()
    for f in files:
        for doc in manifests.load_docs(f):
            obj = doc.obj
            kind = obj.get("kind", "")
            if kind in ("PersistentVolume", "PersistentVolumeClaim"):
                if (obj.get("spec") or {}).get("storageClassName") == "":
                    need.add(PV_BINDING)
            if kind in CLUSTER_SCOPED:
                need.add(f"object:{kind}/{obj['metadata']['name']}")
            for d in _walk(obj):
                if kind == "Service" and isinstance(d.get("nodePort"), int):
                    need.add(f"nodeport:{d['nodePort']}")
                if isinstance(d.get("hostPort"), int):
                    need.add(f"hostport:{d['hostPort']}")
    if "patch_node" in source:
        need.add(NODES)
    if "stop_kind_node(" in source or "docker.stop(" in source:
        need.add(CLUSTER)
    return need


def _source(lab_name: str) -> str:
    import importlib

    return inspect.getsource(
        importlib.import_module(f"kubetm.labs.{catalog.LAB_MODULES[lab_name]}")
    )


@pytest.mark.parametrize("name", catalog.names())
def test_every_lab_declares_what_its_manifests_and_code_share(name):
    lab = catalog.get(name)
    missing = needed(lab, _source(name)) - set(lab.shares)
    assert not missing, f"lab {name} uses but does not declare: {sorted(missing)} (Lab.shares)"


def test_helm_templates_declares_the_pv_its_chart_installs():
    assert "persistentVolume.enabled=true" in _source("helm-templates")
    assert PV_BINDING in catalog.get("helm-templates").shares


def test_an_undeclared_nodeport_is_caught(tmp_path: Path):
    lab = _lab(tmp_path, name="sneaky")
    (lab.folder / "20-svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: kubetm-lab-sneaky}\n"
        "spec:\n  type: NodePort\n  selector: {app: a}\n  ports: [{port: 80, nodePort: 30007}]\n"
    )
    (lab.folder / "30-ds.yaml").write_text(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d, namespace: kubetm-lab-sneaky}\n"
        "spec:\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n"
        "    spec:\n      containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 18081}]}]\n"
    )
    assert needed(lab, "kube.core.patch_node(name, body)") == {
        "nodeport:30007",
        "hostport:18081",
        NODES,
    }
    declared = Lab(
        name="sneaky",
        title="t",
        lesson="l",
        manifests_dir=lab.folder,
        shares=("nodeport:30007", "hostport:18081", NODES),
        shares_reason="test",
    )
    assert needed(declared) - set(declared.shares) == set()
