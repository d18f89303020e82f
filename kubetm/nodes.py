"""Node discovery: the course's node names and how the host reaches a node's published ports.

The course names its workers k8s-node1 and k8s-node2. kubetm maps them to the first two
workers (nodes without the control-plane role, sorted by name) and records that as the node
label ``kubetm.io/course-node``; manifests select nodes with that label (docs/DESIGN.md).

How the host reaches a node's NodePorts (30000-30009) and hostPort 18080 is decided here, and
only here: every lab, demo and test asks ``host_endpoint`` (or ``host_endpoint_from``). On a kind
cluster kubetm created, ``kubetm cluster up`` publishes those ports by one of two schemes
(``published``) and records on every Node, as the annotation ``kubetm.io/host-ports``, where
Docker really published each port (read back from the node container):

- ``loopback`` (Linux, the default where 127.0.0.2 and 127.0.0.3 can be bound): node i (sorted
  by name) on 127.0.0.(i+1), the same port numbers: 127.0.0.2:30001 is worker 1's NodePort 30001;
- ``localhost`` (Docker Desktop on macOS, where only 127.0.0.1 exists without sudo; or forced by
  ``KUBETM_PORT_SCHEME=localhost``): every node on 127.0.0.1, node i's port p on p + 100*i:
  the control plane keeps 30000-30009 and 18080, worker 1 has 30100-30109 and 18180, worker 2
  30200-30209 and 18280.

``KUBETM_HOST_PORT_OFFSET=N`` adds N to every host port of either scheme, so a second kind
cluster can publish beside the first (the online rehearsal e2e uses 1000). A kind node without
the annotation (a cluster made before it existed) is read as ``loopback`` with offset 0; other
clusters: the node's ExternalIP, else InternalIP, and the port itself.

Example:
    ensure_course_labels(kube)                      # {"k8s-node1": "kubetm-worker", ...}
    host_endpoint(kube, "kubetm-worker", 30000)     # "127.0.0.2:30000" (loopback scheme)
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping

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
    "host_endpoint",
    "host_endpoint_from",
    "node_addresses",
    "PUBLISHED_PORTS",
    "SCHEMES",
    "published",
    "port_scheme",
    "port_offset",
    "host_ports_annotation",
    "annotate_host_ports",
]

# what `kubetm cluster up` publishes from every kind node: the reserved NodePorts and hostPort 18080
PUBLISHED_PORTS: tuple[int, ...] = tuple(range(30000, 30010)) + (18080,)
SCHEMES = ("loopback", "localhost")
PORT_STRIDE = 100  # localhost scheme: node i's ports are shifted by i * PORT_STRIDE
HOST_PORTS = "kubetm.io/host-ports"  # Node annotation: {"<container port>": "<host>:<port>"}

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


def kind_parts(node: dict) -> tuple[str, str, str] | None:
    """(provider, cluster, container) of a kind node, from providerID
    ``kind://<provider>/<cluster>/<node>`` (the node's container is named like the node); None
    for any other node."""
    pid = str((node.get("spec") or {}).get("providerID") or "")
    parts = pid.removeprefix("kind://").split("/")
    if not pid.startswith("kind://") or len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def _is_kind(node: dict) -> bool:
    return str((node.get("spec") or {}).get("providerID") or "").startswith("kind://")


def published(scheme: str, index: int, port: int, offset: int = 0) -> tuple[str, int]:
    """Where node ``index`` (sorted by name) publishes its ``port`` on the host: (address, port)."""
    if scheme == "loopback":
        if index > 253:
            raise KubetmError(f"node {index}: too many nodes to publish on 127.0.0.x")
        return f"127.0.0.{index + 1}", port + offset
    if scheme == "localhost":
        return "127.0.0.1", port + offset + PORT_STRIDE * index
    raise KubetmError(f"unknown port scheme {scheme!r}", hint="use " + " or ".join(SCHEMES))


def port_offset(env: Mapping[str, str] | None = None) -> int:
    """``KUBETM_HOST_PORT_OFFSET`` (default 0): added to every host port kubetm publishes."""
    raw = (os.environ if env is None else env).get("KUBETM_HOST_PORT_OFFSET", "").strip() or "0"
    top = 65535 - max(PUBLISHED_PORTS) - PORT_STRIDE * 2
    if not raw.isdigit() or int(raw) > top:
        raise KubetmError(
            f"KUBETM_HOST_PORT_OFFSET={raw!r} is not a whole number from 0 to {top}", exit_code=2
        )
    return int(raw)


def port_scheme(can_bind, env: Mapping[str, str] | None = None, nodes: int = 3) -> tuple[str, str]:
    """The scheme ``kubetm cluster up`` publishes by, and why.

    ``KUBETM_PORT_SCHEME`` (loopback | localhost) forces it; else ``loopback`` when the host can
    bind 127.0.0.2 .. 127.0.0.<nodes> (``can_bind(address)``), else ``localhost``.
    """
    forced = (os.environ if env is None else env).get("KUBETM_PORT_SCHEME", "").strip().lower()
    if forced:
        if forced not in SCHEMES:
            raise KubetmError(
                f"KUBETM_PORT_SCHEME={forced!r} is not a port scheme",
                hint="use " + " or ".join(SCHEMES),
                exit_code=2,
            )
        return forced, f"KUBETM_PORT_SCHEME={forced}"
    for i in range(1, nodes):
        addr = f"127.0.0.{i + 1}"
        if not can_bind(addr):
            return "localhost", f"{addr} cannot be bound on this host: every node on 127.0.0.1"
    return "loopback", "node i on 127.0.0.(i+1)"


def host_ports_annotation(bindings: Mapping[int, tuple[str, int]]) -> str:
    """The ``kubetm.io/host-ports`` value for {container port: (host address, host port)}."""
    return json.dumps(
        {str(p): f"{a}:{hp}" for p, (a, hp) in sorted(bindings.items())}, separators=(",", ":")
    )


def _recorded(node: dict) -> dict[str, str] | None:
    raw = ((node.get("metadata") or {}).get("annotations") or {}).get(HOST_PORTS)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def host_endpoint_from(
    nodes: list[dict], node_name: str, port: int, required: bool = True
) -> str | None:
    """Pure version of ``host_endpoint`` over a node list; with ``required=False`` a port the
    node does not publish on the host gives None instead of an error."""
    ordered = sorted(nodes, key=lambda n: n["metadata"]["name"])
    for i, n in enumerate(ordered):
        if n["metadata"]["name"] != node_name:
            continue
        recorded = _recorded(n)
        if recorded is not None:
            found = recorded.get(str(port))
            if found is None and required:
                raise KubetmError(
                    f"node {node_name} does not publish port {port} on the host",
                    hint="published: " + ", ".join(sorted(recorded)),
                )
            return found
        if _is_kind(n):
            addr, host_port = published("loopback", i, port)
            return f"{addr}:{host_port}"
        return f"{host_address_from(ordered, node_name)}:{port}"
    raise KubetmError(
        f"node {node_name!r} not found",
        hint="valid nodes: " + ", ".join(n["metadata"]["name"] for n in ordered),
    )


def host_endpoint(kube, node: str, port: int) -> str:
    """``host:port`` where the host reaches ``node``'s NodePort/hostPort ``port`` (module doc)."""
    found = host_endpoint_from(list_nodes(kube), node, port)
    assert found is not None  # required=True raises instead
    return found


def host_address_from(nodes: list[dict], node_name: str) -> str:
    """The host address part of a node's published ports (see ``host_endpoint_from``)."""
    ordered = sorted(nodes, key=lambda n: n["metadata"]["name"])
    for i, n in enumerate(ordered):
        if n["metadata"]["name"] != node_name:
            continue
        recorded = _recorded(n)
        if recorded:
            return next(iter(recorded.values())).rsplit(":", 1)[0]
        if _is_kind(n):
            return published("loopback", i, 0)[0]
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
    """The host address of ``node``'s published ports; the port may differ from the node's
    (localhost scheme): reach a port with ``host_endpoint``."""
    return host_address_from(list_nodes(kube), node)


def annotate_host_ports(kube, bindings: Mapping[str, Mapping[int, tuple[str, int]]]) -> None:
    """Record on every Node where the host reaches its ports ({node: {port: (addr, host port)}})."""
    for name, ports in sorted(bindings.items()):
        body = {"metadata": {"annotations": {HOST_PORTS: host_ports_annotation(ports)}}}
        kube.call(kube.core.patch_node, name, body, what=f"annotate node {name}")
