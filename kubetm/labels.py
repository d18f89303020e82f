"""Every label and annotation key kubetm writes or reads, once.

Objects kubetm applies carry ``MANAGED_BY=MANAGED_BY_VALUE``; lab-owned cluster-scoped objects
carry ``LAB=<lab>``; demo objects ``DEMO=<strategy>``; the course's node names are the node label
``COURSE_NODE`` (docs/DESIGN.md, "Per-cluster values").
"""

from __future__ import annotations

FIELD_MANAGER = "kubetm"

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "kubetm"
MANAGED_SELECTOR = f"{MANAGED_BY}={MANAGED_BY_VALUE}"

LAB = "kubetm.io/lab"
DEMO = "kubetm.io/demo"
COURSE_NODE = "kubetm.io/course-node"
IMAGE = "kubetm.io/image"
COMPONENT = "kubetm.io/component"
CONTEXT = "kubetm.io/context"
CONFIGMAP_CHANGED = "kubetm.io/configmap-changed"
# On a Node: the labels and taints a lab added (JSON: labels with their previous values, taints), so
# `lab delete` can undo them after a crash (kubetm/labs/node_scheduling.py).
NODE_CHANGES = "kubetm.io/lab-node-changes"
# Set by Kubernetes itself on the EndpointSlices of a Service (kubetm reads it).
SERVICE_NAME = "kubernetes.io/service-name"
