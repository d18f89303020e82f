"""Node discovery: the course's node names and how the host reaches a node's published ports.

The course names its workers k8s-node1 and k8s-node2. kubetm maps them to the first two
workers (nodes without the control-plane role, sorted by name) and records that as the node
label ``kubetm.io/course-node``; manifests select nodes with that label (docs/DESIGN.md).

Example:
    ensure_course_labels(kube)                      # {"k8s-node1": "kubetm-worker", ...}
    host_address(kube, "kubetm-worker")             # "127.0.0.2" on the kind cluster
"""

from __future__ import annotations

import ipaddress

from kubetm.errors import KubetmError
from kubetm.labels import COURSE_NODE

__all__ = [
    "COURSE_NODES",
    "list_nodes",
    "is_control_plane",
    "workers",
    "course_nodes",
    "ensure_course_labels",
    "host_address",
    "node_addresses",
]

COURSE_NODES = ("k8s-node1", "k8s-node2")
_CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def list_nodes(kube) -> list[dict]:
    """All nodes as dicts, sorted by name."""
    return sorted(kube.list("Node"), key=lambda n: n["metadata"]["name"])


def is_control_plane(node: dict) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return any(label in labels for label in _CONTROL_PLANE_LABELS)


def workers(nodes: list[dict]) -> list[dict]:
    """Nodes without the control-plane role, sorted by name."""
    return sorted(
        (n for n in nodes if not is_control_plane(n)), key=lambda n: n["metadata"]["name"]
    )


def course_nodes_from(nodes: list[dict]) -> dict[str, str]:
    """Pure mapping {k8s-node1: name, k8s-node2: name} from a node list.

    Uses the first two workers; with one worker both names map to it; a cluster with only a
    control-plane node (single-node kind) maps both to that node.
    """
    if not nodes:
        raise KubetmError("the cluster has no nodes", hint="try `kubetm cluster up`")
    pool = workers(nodes) or sorted(nodes, key=lambda n: n["metadata"]["name"])
    names = [n["metadata"]["name"] for n in pool]
    first = names[0]
    second = names[1] if len(names) > 1 else first
    return {COURSE_NODES[0]: first, COURSE_NODES[1]: second}


def course_nodes(kube) -> dict[str, str]:
    """{"k8s-node1": <node>, "k8s-node2": <node>} for the cluster behind ``kube``."""
    return course_nodes_from(list_nodes(kube))


def ensure_course_labels(kube) -> dict[str, str]:
    """Put ``kubetm.io/course-node=k8s-nodeN`` on the mapped workers (and only there).

    On a one-worker cluster the node carries ``k8s-node1`` (a label holds one value); nodes
    that carry a stale course label lose it. Uses strategic-merge patches on Node labels only.
    Returns the mapping.
    """
    nodes = list_nodes(kube)
    mapping = course_nodes_from(nodes)
    wanted: dict[str, str] = {}
    for course, node in reversed(list(mapping.items())):  # k8s-node1 wins on a shared node
        wanted[node] = course
    for n in nodes:
        name = n["metadata"]["name"]
        current = (n["metadata"].get("labels") or {}).get(COURSE_NODE)
        target = wanted.get(name)
        if current == target:
            continue
        body = {"metadata": {"labels": {COURSE_NODE: target}}}  # None removes the label
        kube.call(kube.core.patch_node, name, body, what=f"label node {name}")
    return mapping


def node_addresses(node: dict) -> dict[str, str]:
    return {
        a.get("type"): a.get("address") for a in (node.get("status") or {}).get("addresses") or []
    }


def _is_kind(node: dict) -> bool:
    return str((node.get("spec") or {}).get("providerID") or "").startswith("kind://")


def host_address_from(nodes: list[dict], node_name: str) -> str:
    """Pure version of ``host_address`` over a node list."""
    ordered = sorted(nodes, key=lambda n: n["metadata"]["name"])
    for i, n in enumerate(ordered):
        if n["metadata"]["name"] != node_name:
            continue
        if _is_kind(n):
            if i > 253:
                raise KubetmError(f"node {node_name}: too many nodes to publish on 127.0.0.x")
            return f"127.0.0.{i + 1}"
        addrs = node_addresses(n)
        addr = addrs.get("ExternalIP") or addrs.get("InternalIP")
        if not addr:
            raise KubetmError(f"node {node_name} reports no ExternalIP or InternalIP address")
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise KubetmError(f"node {node_name} reports an invalid address {addr!r}") from None
        return addr
    raise KubetmError(
        f"node {node_name!r} not found",
        hint="valid nodes: " + ", ".join(n["metadata"]["name"] for n in ordered),
    )


def host_address(kube, node: str) -> str:
    """How the host reaches ``node``'s NodePorts/hostPorts.

    kind nodes (providerID kind://...): 127.0.0.(i+1), i = index among all nodes sorted by name
    (the loopback addresses `kubetm cluster up` publishes). Other clusters: ExternalIP, else
    InternalIP.
    """
    return host_address_from(list_nodes(kube), node)
