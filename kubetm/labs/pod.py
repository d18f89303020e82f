"""Lab `pod` — 파드 (Pod): containers, labels, node scheduling, resources.

manifests/pod/: pod-1 (8000 + 8080 over localhost), labelled pods + svc-web, pod-node1 (nodeSelector
k8s-node1), pod-too-big (1000Gi, Pending), pod-oom (OOMKilled); steps/port-conflict.yaml.
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="pod",
    title="파드 — Pod",
    lesson="Container, Label, Node Schedule: containers share a pod's network; labels select; nodeSelector and resources decide the node",
    checks=(
        Check("containers-share-localhost", not_implemented(),
              "pod-1: container2 reaches container1 on localhost:8000 and container1 reaches 8080", timeout=90),
        Check("same-port-fails", not_implemented(),
              "steps/port-conflict: a second container on port 8000 fails (Error / CrashLoopBackOff)", timeout=90),
        Check("service-selects-labels", not_implemented(),
              "svc-web's endpoints are exactly the pods labelled type=web (pod-web-dev, pod-web-prod)", timeout=60),
        Check("node-selector-pins", not_implemented(),
              "pod-node1 runs on the node labelled kubetm.io/course-node=k8s-node1", timeout=60),
        Check("too-big-stays-pending", not_implemented(),
              "pod-too-big (1000Gi) stays Pending with a FailedScheduling event (Insufficient memory)", timeout=60),
        Check("memory-limit-oomkilled", not_implemented(),
              "pod-oom's container is OOMKilled past its 64Mi limit and restarted (restartCount >= 1)", timeout=120),
    ),
)
