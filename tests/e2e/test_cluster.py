"""Issue 2 acceptance: the kind cluster (offline-built here) behaves like a stock one.

Each test asserts what a user would observe: node readiness, DNS answers, cross-node pod traffic,
volumes, dynamic provisioning and a pushed image answering through a NodePort from the host.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from .conftest import (
    CONTEXT,
    apply,
    http_get_eventually,
    image,
    kubectl,
    kubectl_json,
    node_endpoints,
    pod_exec,
    wait_pods_ready,
)


def test_three_nodes_all_ready(cluster):
    nodes = kubectl_json("get", "nodes")["items"]
    assert len(nodes) == 3
    roles = sorted(
        "control-plane"
        if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]
        else "worker"
        for n in nodes
    )
    assert roles == ["control-plane", "worker", "worker"]
    for n in nodes:
        ready = {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"]
        assert ready == "True", n["metadata"]["name"]


def test_workers_carry_course_node_names(cluster):
    labels = sorted(
        n["metadata"]["labels"].get("kubetm.io/course-node", "")
        for n in kubectl_json("get", "nodes")["items"]
    )
    assert labels == ["", "k8s-node1", "k8s-node2"]


def test_kube_proxy_and_coredns_run(cluster):
    ds = kubectl_json("-n", "kube-system", "get", "daemonset", "kube-proxy")
    assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 3
    dns = kubectl_json("-n", "kube-system", "get", "deployment", "coredns")
    assert dns["status"].get("readyReplicas", 0) >= 1


POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  nodeSelector: {{kubetm.io/course-node: {node}}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    {extra}
"""


def _pod(name, app, node, img, extra=""):
    return POD.format(name=name, app=app, node=node, image=img, extra=extra)


def test_dns_resolves_a_service_by_name(namespace):
    apply(
        namespace,
        _pod("web", "web", "k8s-node1", image("app:v1"))
        + """
---
apiVersion: v1
kind: Service
metadata: {name: web-svc}
spec:
  selector: {app: web}
  ports: [{port: 8080}]
"""
        + "---"
        + _pod("client", "client", "k8s-node2", image("init:1.0"), 'command: ["sleep", "3600"]'),
    )
    wait_pods_ready(namespace, "app in (web,client)")
    fqdn = f"web-svc.{namespace}.svc.cluster.local"
    out = pod_exec(namespace, "client", "getent", "hosts", "web-svc")
    svc_ip = kubectl_json("-n", namespace, "get", "svc", "web-svc")["spec"]["clusterIP"]
    assert svc_ip in out and fqdn in out
    # kube-proxy programs the Service on k8s-node2 a moment after the pods are Ready (until then
    # the node rejects it: curl exit 7): retry, bounded, test-side.
    deadline, body = time.monotonic() + 30, ""
    while True:
        cp = subprocess.run(
            [
                "kubectl",
                "--context",
                CONTEXT,
                "-n",
                namespace,
                "exec",
                "client",
                "--",
                "curl",
                "-s",
                "--max-time",
                "5",
                "http://web-svc:8080/version",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        body = cp.stdout
        if cp.returncode == 0 or time.monotonic() >= deadline:
            break
        time.sleep(1)
    assert body.strip() == "v1", cp.stderr


def test_pod_reaches_pod_on_the_other_worker(namespace):
    apply(
        namespace,
        _pod("a", "pair", "k8s-node1", image("app:v1"))
        + "---"
        + _pod("b", "pair", "k8s-node2", image("app:v1")),
    )
    wait_pods_ready(namespace, "app=pair")
    pods = {p["metadata"]["name"]: p for p in kubectl_json("-n", namespace, "get", "pods")["items"]}
    assert pods["a"]["spec"]["nodeName"] != pods["b"]["spec"]["nodeName"]
    b_ip = pods["b"]["status"]["podIP"]
    out = pod_exec(
        namespace,
        "a",
        "node",
        "-e",
        f"require('http').get('http://{b_ip}:8080/hostname', r => {{let d='';"
        f"r.on('data', c => d += c); r.on('end', () => console.log(d))}})",
    )
    assert out.strip() == "b"


def test_hostpath_survives_pod_recreation(namespace):
    path = f"/tmp/kubetm-e2e/{namespace}"
    spec = _pod(
        "writer",
        "hp",
        "k8s-node1",
        image("init:1.0"),
        'command: ["sh", "-c", "cat /data/note 2>/dev/null; echo kept-by-hostPath > /data/note; sleep 3600"]\n'
        "    volumeMounts: [{name: data, mountPath: /data}]\n"
        f"  volumes: [{{name: data, hostPath: {{path: {path}, type: DirectoryOrCreate}}}}]",
    )
    apply(namespace, spec)
    wait_pods_ready(namespace, "app=hp")
    kubectl("-n", namespace, "delete", "pod", "writer", "--wait=true")
    apply(namespace, spec)
    wait_pods_ready(namespace, "app=hp")
    assert "kept-by-hostPath" in kubectl("-n", namespace, "logs", "writer")


def test_pvc_binds_through_local_path(namespace):
    apply(
        namespace,
        """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
"""
        + _pod(
            "user",
            "pvc",
            "k8s-node2",
            image("init:1.0"),
            'command: ["sh", "-c", "echo through-pvc > /data/f && sleep 3600"]\n'
            "    volumeMounts: [{name: data, mountPath: /data}]\n"
            "  volumes: [{name: data, persistentVolumeClaim: {claimName: claim}}]",
        ),
    )
    wait_pods_ready(namespace, "app=pvc", timeout=180)
    pvc = kubectl_json("-n", namespace, "get", "pvc", "claim")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pod_exec(namespace, "user", "cat", "/data/f").strip() == "through-pvc"


@pytest.mark.shares("nodeport:30009")
def test_pushed_image_answers_through_nodeport_on_every_node(namespace):
    apply(
        namespace,
        _pod("hello", "hello-e2e", "k8s-node1", image("hello:1.0"))
        + """
---
apiVersion: v1
kind: Service
metadata: {name: hello-np}
spec:
  type: NodePort
  selector: {app: hello-e2e}
  ports: [{port: 8000, nodePort: 30009}]
""",
    )
    wait_pods_ready(namespace, "app=hello-e2e")
    endpoints = node_endpoints(30009)
    assert len(endpoints) == 3
    for endpoint in endpoints.values():
        assert "Hello Kubernetes!" in http_get_eventually(
            f"http://{endpoint}/", "Hello Kubernetes!"
        )
    status = kubectl_json("-n", namespace, "get", "pod", "hello")["status"]["containerStatuses"][0]
    assert status["image"].startswith("localhost:5001/kubetm/hello")
    assert json.dumps(status["imageID"]).count("sha256:") == 1
