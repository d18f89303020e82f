"""Lab `replicaset` — Replication Controller, ReplicaSet: template, replicas, selector, auto healing.

manifests/replicaset/: replication-1 (RC), pods for selector practice, replica-exp (matchExpressions),
replica-heal (tolerationSeconds 10); steps/replicaset-adopt.yaml (replica-1, same selector as the RC).
Exclusive: the auto-healing check stops a worker node.
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="replicaset",
    title="레플리카셋 — Replication Controller, ReplicaSet",
    lesson="Template, Replicas, Selector: a controller keeps N pods, recreates lost ones and adopts matching orphans",
    exclusive=True,
    exclusive_reason="the auto-healing check takes a worker node down; other labs' pods would move",
    checks=(
        Check("rc-keeps-replicas", not_implemented(),
              "replication-1 keeps 2 pods: a deleted pod is replaced from the template", timeout=90),
        Check("rs-adopts-orphans", not_implemented(),
              "replication-1 deleted with propagation Orphan; steps/replicaset-adopt's replica-1 adopts its 2 pods, creates none", timeout=90),
        Check("selector-match-labels", not_implemented(),
              "type=web selects pod-web-v1 and pod-web-v2 only", timeout=30),
        Check("selector-match-expressions", not_implemented(),
              "ver In (v1,v2), ver NotIn (v2), ver Exists, ver DoesNotExist select the expected pods", timeout=30),
        Check("replicaset-expressions-template", not_implemented(),
              "replica-exp (matchLabels + matchExpressions) runs 1 pod made from its template", timeout=90),
        Check("auto-healing-node-down", not_implemented(),
              "a node of replica-heal's pods goes down; after ~10 s tolerations the pods are recreated on another node", timeout=240),
    ),
)
