"""Lab `service` — 서비스 (Service): ClusterIP, NodePort (30001, 30002 Local), LoadBalancer.

manifests/service/: pod-1 (k8s-node1), pod-2 (k8s-node2), svc-1 ClusterIP, svc-2 NodePort 30001,
pod-local + svc-local NodePort 30002 externalTrafficPolicy Local, svc-lb LoadBalancer.
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="service",
    title="서비스 — Service",
    lesson="ClusterIP, NodePort, LoadBalancer: a stable address in front of pods, inside the cluster or on every node",
    checks=(
        Check("clusterip-reaches-pods", not_implemented(),
              "svc-1 (ClusterIP 9000) has both pods as endpoints and answers from inside the cluster", timeout=90),
        Check("nodeport-on-every-node", not_implemented(),
              "NodePort 30001 answers on every node's host address (127.0.0.x on kind)", timeout=90),
        Check("nodeport-local-only-pod-node", not_implemented(),
              "NodePort 30002 (externalTrafficPolicy Local) answers on k8s-node1 only, always from pod-local", timeout=90),
        Check("loadbalancer-pending", not_implemented(),
              "svc-lb got a node port but no external IP (no load-balancer implementation: <pending>)", timeout=60),
    ),
)
