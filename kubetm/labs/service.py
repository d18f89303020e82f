"""Lab `service` — 서비스 (Service): ClusterIP, NodePort (30001, 30002 Local), LoadBalancer.

manifests/service/: pod-1 (k8s-node1), pod-2 (k8s-node2), svc-1 ClusterIP, svc-2 NodePort 30001,
pod-local + svc-local NodePort 30002 externalTrafficPolicy Local, svc-lb LoadBalancer.

From the host, kubetm sends traffic only to the nodes' published addresses (nodes.host_endpoint:
127.0.0.x, or 127.0.0.1 with per-node ports on kind); a ClusterIP is tried from inside a pod only.
"""

from __future__ import annotations

import ipaddress
import time

from kubetm.errors import Timeout
from kubetm.labs.base import Check, Lab
from kubetm.labs.observe import (
    fetch_many_in_pod,
    host_http_answer,
    ready_pod,
    short,
    wait_endpoints,
)

APP_PODS = ("pod-1", "pod-2")
LB_WAIT_SECONDS = (
    15.0  # how long svc-lb may take to get an address from an installed implementation
)


def _node_endpoints(ctx, port: int) -> list[tuple[str, str | None]]:
    """(node, host:port where the host reaches the node's ``port``; None: not published)."""
    from kubetm import nodes

    listed = nodes.list_nodes(ctx.kube)
    return [
        (
            n["metadata"]["name"],
            nodes.host_endpoint_from(listed, n["metadata"]["name"], port, required=False),
        )
        for n in listed
    ]


def _host_route(ip: str, table: str = "/proc/net/route") -> str | None:
    """The host's most specific IPv4 route to ``ip`` as "dest/len dev <if>" (Linux only), else None."""
    try:
        with open(table, encoding="ascii") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return None
    target = int(ipaddress.IPv4Address(ip))
    best: tuple[int, str] | None = None
    for row in rows:
        parts = row.split()
        if len(parts) < 8:
            continue
        dest = int.from_bytes(bytes.fromhex(parts[1]), "little")
        mask = int.from_bytes(bytes.fromhex(parts[7]), "little")
        if target & mask == dest and (best is None or mask > best[0]):
            prefix = mask.bit_count()
            best = (mask, f"{ipaddress.IPv4Address(dest)}/{prefix} dev {parts[0]}")
    return best[1] if best else None


def clusterip_reaches_pods(ctx) -> tuple[bool, str]:
    """svc-1 answers on its ClusterIP from a pod (both pods serve), not from the host."""
    for name in APP_PODS:
        ready_pod(ctx, name)
    eps = wait_endpoints(ctx, "svc-1", lambda found: set(APP_PODS) <= set(found))
    svc = ctx.kube.get("Service", "svc-1", namespace=ctx.namespace)
    ip, port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["port"]
    url = f"http://{ip}:{port}/hostname"
    # kube-proxy programs the node a moment after the EndpointSlice is ready (longer on a busy
    # machine), and may have programmed one endpoint before the other: count in batches of 12,
    # bounded, until a batch shows both pods (the lesson) or the time is up (the check fails).
    deadline = time.monotonic() + 30
    while True:
        answers = fetch_many_in_pod(ctx, "pod-1", url, count=12)
        served = sorted({body.strip() for status, body in answers if status == 200})
        failed = [body for status, body in answers if status != 200]
        inside_ok = not failed and set(served) == set(APP_PODS)
        if inside_ok or time.monotonic() >= deadline:
            break
    # From the host: no node publishes the service port, and the ClusterIP is routed nowhere near
    # the cluster (only the host's default route covers it). Nothing is sent to the ClusterIP.
    node_port = any(p.get("nodePort") for p in svc["spec"]["ports"])
    answered = []
    for node, endpoint in _node_endpoints(ctx, port):
        if endpoint is None:  # the node publishes nothing for this port on the host
            continue
        ok, _ = host_http_answer(
            f"http://{endpoint}/hostname",
            lambda s, b: b.strip() in APP_PODS,
            attempts=1,
            timeout=1.0,
        )
        if ok:
            answered.append(f"{node} ({endpoint})")
    route = _host_route(ip)
    outside_ok = not node_port and not answered and (route is None or route.startswith("0.0.0.0/0"))
    host = (
        "from the host: no node port, "
        + (
            f"{port} answered on {', '.join(answered)}"
            if answered
            else f"{port} on the nodes' addresses: no answer"
        )
        + (
            f", {ip} only via the default route ({route.split(' dev ')[-1]})"
            if route and route.startswith("0.0.0.0/0")
            else f", host route to {ip}: {route}"
            if route
            else ""
        )
    )
    inside = (
        f"from pod-1: {ip}:{port} answered {len(answers) - len(failed)}/{len(answers)} "
        f"(served by {', '.join(served) or 'none'}; endpoints {', '.join(sorted(eps))})"
    )
    if failed:
        inside += f", failures: {short(', '.join(failed), 60)}"
    return inside_ok and outside_ok, f"{inside}; {host}"


def nodeport_on_every_node(ctx) -> tuple[bool, str]:
    """NodePort 30001 answers from the host through every node (control plane included)."""
    for name in APP_PODS:
        ready_pod(ctx, name)
    wait_endpoints(ctx, "svc-2", lambda found: set(APP_PODS) <= set(found))
    seen: list[str] = []
    bad: list[str] = []
    for node, endpoint in _node_endpoints(ctx, 30001):
        if endpoint is None:
            bad.append(f"{node} (30001 not published on the host)")
            continue
        ok, last = host_http_answer(
            f"http://{endpoint}/hostname", lambda s, b: s == 200 and b.strip() in APP_PODS
        )
        (seen if ok else bad).append(f"{node} ({endpoint}) -> {last}")
    total = len(seen) + len(bad)
    detail = f"{len(seen)}/{total} nodes answered on 30001: " + "; ".join(
        seen + [f"NO ANSWER {b}" for b in bad]
    )
    return not bad and total > 0, detail


def nodeport_local_only_pod_node(ctx) -> tuple[bool, str]:
    """NodePort 30002 (externalTrafficPolicy: Local) answers only on nodes that run a pod-local."""
    ready_pod(ctx, "pod-local")
    eps = wait_endpoints(ctx, "svc-local", lambda found: bool(found))
    pod_nodes = set(eps.values())
    addrs = _node_endpoints(ctx, 30002)
    good: list[str] = []
    bad: list[str] = []
    # Nodes with a pod first: once they answer, kube-proxy has programmed the port everywhere.
    for node, endpoint in sorted(addrs, key=lambda na: na[0] not in pod_nodes):
        if endpoint is None:
            bad.append(f"{node}: 30002 not published on the host")
            continue
        url = f"http://{endpoint}/hostname"
        if node in pod_nodes:
            ok, last = host_http_answer(url, lambda s, b: s == 200 and b.strip() in eps)
            (good if ok else bad).append(
                f"{node} runs {', '.join(p for p, n in eps.items() if n == node)}: "
                + (f"answered {last}" if ok else f"NO ANSWER ({last})")
            )
        else:
            ok, last = host_http_answer(url, lambda s, b: s == 200, attempts=1, timeout=3.0)
            (bad if ok else good).append(
                f"{node}: " + (f"ANSWERED {last}" if ok else f"no answer ({last})")
            )
    return not bad, "30002: " + "; ".join(good + bad)


def loadbalancer_pending(ctx) -> tuple[bool, str]:
    """svc-lb gets a node port; its external IP stays <pending> unless an implementation assigns one."""

    def ingress(svc: dict | None) -> bool:
        return bool(((svc or {}).get("status") or {}).get("loadBalancer", {}).get("ingress"))

    svc = ctx.kube.get("Service", "svc-lb", namespace=ctx.namespace)
    if svc is None:
        return False, "service svc-lb not found"
    ports = [str(p.get("nodePort")) for p in svc["spec"].get("ports") or [] if p.get("nodePort")]
    base = (
        f"svc-lb (type {svc['spec'].get('type')}, cluster IP {svc['spec'].get('clusterIP')}, "
        f"node port {', '.join(ports) or 'none'})"
    )
    if not ports:
        return False, f"{base}: a LoadBalancer service should get a node port too"
    try:
        svc = ctx.kube.watch_until(
            "Service",
            "svc-lb",
            ingress,
            namespace=ctx.namespace,
            timeout=min(LB_WAIT_SECONDS, ctx.timeout),
            what="an external IP for svc-lb",
        )
    except Timeout:
        return True, (
            f"{base}: EXTERNAL-IP <pending> after {min(LB_WAIT_SECONDS, ctx.timeout):g}s "
            "(no load-balancer implementation installed)"
        )
    addrs = [i.get("ip") or i.get("hostname") for i in svc["status"]["loadBalancer"]["ingress"]]
    return (
        True,
        f"{base}: external address {', '.join(a for a in addrs if a)} (a load-balancer implementation is installed)",
    )


LAB = Lab(
    name="service",
    part="초급",
    page="k8s/03-beginner-basic-resource/service",
    title="서비스 — Service",
    lesson="ClusterIP, NodePort, LoadBalancer: a stable address in front of pods, inside the cluster or on every node",
    shares=("nodeport:30001", "nodeport:30002"),
    shares_reason="svc-2 and svc-3 use the course's NodePorts 30001 and 30002",
    checks=(
        Check(
            "clusterip-reaches-pods",
            clusterip_reaches_pods,
            "svc-1 (ClusterIP 9000) has both pods as endpoints and answers from inside the cluster, not from the host",
            timeout=90,
        ),
        Check(
            "nodeport-on-every-node",
            nodeport_on_every_node,
            "NodePort 30001 answers on every node's host endpoint (nodes.host_endpoint)",
            timeout=90,
        ),
        Check(
            "nodeport-local-only-pod-node",
            nodeport_local_only_pod_node,
            "NodePort 30002 (externalTrafficPolicy Local) answers on k8s-node1 only, always from pod-local",
            timeout=90,
        ),
        Check(
            "loadbalancer-pending",
            loadbalancer_pending,
            "svc-lb got a node port; its external IP is <pending> without a load-balancer implementation",
            timeout=60,
        ),
    ),
)

__all__ = ["LAB"]
