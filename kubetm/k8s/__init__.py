"""The Kubernetes client package: the only part of kubetm that imports ``kubernetes`` (lazily,
inside functions), and it prints nothing.

    config.py      kubeconfig files and contexts -> a client Configuration
    client.py      Kube: clients, ``call`` (retry, /readyz), discovery, get/list; facade for the rest
    errors.py      ApiException -> NotFound / Conflict / Invalid / Forbidden / Unreachable; retryable?
    apply.py       server-side apply planner, delete, the interrupt clean-up
    watch.py       watch_until, wait_ready, wait_nodes_ready
    conditions.py  the predicates (pod_ready, deployment_available, ...)
    pods.py        exec, logs, events, state hints
    schema.py      OpenAPI lookups (the closest valid field of a misspelt one)
    objects.py     kind aliases, parse_target, Result

Example:
    from kubetm.k8s import Kube, conditions
    kube = Kube(context="kind-kubetm")
    kube.watch_until("Pod", "hello-pod", conditions.pod_ready, timeout=60)
"""

from __future__ import annotations

from kubetm.k8s import conditions
from kubetm.k8s.apply import cleanup_on_interrupt
from kubetm.k8s.client import Kube, Progress
from kubetm.k8s.objects import Result, parse_target

__all__ = ["Kube", "Progress", "Result", "cleanup_on_interrupt", "conditions", "parse_target"]
