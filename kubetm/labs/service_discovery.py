"""Lab `service-discovery` — 서비스 (중급): Headless, Endpoint, ExternalName.

manifests/service-discovery/: clusterip1 + pod1, request-pod (the client: init image with dig and
curl), headless1 (clusterIP None) + pod4 (hostname pod-a) + pod5 (pod-b), endpoint1 (selector) +
pod7, endpoint2 (no selector) + pod9, endpoint3 (no selector), externalname1 (ExternalName);
steps/endpoints.yaml: the hand-made Endpoints of endpoint2 (pod9's IP) and endpoint3 (the
control-plane node's API server on 6443, behind the course's Service port 80, instead of the
course's GitHub address). The YAML follows the course page object by object; pod5 (hostname pod-b)
is the pod the course looks up as pod-b.headless1 without showing its YAML.

Every lookup and request runs inside request-pod (``dig``/``curl`` through the Kubernetes exec
API). CoreDNS and kube-proxy follow the API a moment later: each check observes (bounded, a few
seconds apart) until the answer is there or its budget is spent, then asserts on what it saw.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from kubetm.errors import Timeout
from kubetm.labels import SERVICE_NAME
from kubetm.labs.base import Check, Lab
from kubetm.labs.observe import exec_ok, observe_until, ready_pod, short

CLIENT = "request-pod"
OBSERVE_SECONDS = 30.0  # how long DNS/kube-proxy may lag behind the API before a check fails
MIRROR_MANAGER = "endpointslicemirroring-controller.k8s.io"

_DIG = (
    'for n in "$@"; do printf "%s|" "$n"; '
    'dig +search +short +time=2 +tries=2 "$n" A | tr "\\n" " "; echo; done'
)


def _fqdn(ctx, service: str) -> str:
    return f"{service}.{ctx.namespace}.svc.cluster.local"


def parse_dig(out: str) -> dict[str, dict[str, list[str]]]:
    """``name|tok tok ...`` lines -> {name: {"ips": [...], "cnames": [...]}} (other tokens dropped)."""
    found: dict[str, dict[str, list[str]]] = {}
    for line in out.splitlines():
        if "|" not in line:
            continue
        name, _, rest = line.partition("|")
        ips, cnames = [], []
        for tok in rest.split():
            try:
                ips.append(str(ipaddress.ip_address(tok)))
            except ValueError:
                if tok.endswith(".") and not tok.startswith(";"):
                    cnames.append(tok.rstrip("."))
        found[name] = {"ips": sorted(ips), "cnames": cnames}
    return found


def lookup(ctx, names: list[str]) -> dict[str, dict[str, list[str]]]:
    """A records (and the CNAME chain) of ``names`` as request-pod's resolver sees them."""
    out = exec_ok(ctx, CLIENT, ["sh", "-c", _DIG, "sh", *names], timeout=30)
    return parse_dig(out)


def curl(ctx, url: str, insecure: bool = False) -> tuple[int, str]:
    """One GET from request-pod: (HTTP status, body); status 0 = no answer (curl's exit code)."""
    cmd = ["curl", "-s", "-m", "3", "-o", "-", "-w", "\n%{http_code}", url]
    if insecure:  # the API server's certificate is not for the endpoint3 name
        cmd.insert(1, "-k")
    rc, out, _ = ctx.kube.exec(CLIENT, cmd, namespace=ctx.namespace, timeout=20)
    body, _, code = out.rpartition("\n")
    try:
        status = int(code.strip())
    except ValueError:
        status = 0
    return (status if rc == 0 else 0), body.strip()


def observe(fn: Callable[[], Any], good: Callable[[Any], bool]) -> Any:
    """Bounded observation (``OBSERVE_SECONDS``): DNS and kube-proxy lag the API by seconds."""
    return observe_until(fn, good, seconds=OBSERVE_SECONDS)


def _ips(seen: dict, name: str) -> list[str]:
    return (seen.get(name) or {}).get("ips") or []


def _show(seen: dict, name: str, label: str | None = None) -> str:
    return f"{label or name} -> {', '.join(_ips(seen, name)) or 'no address'}"


def _pod_ip(ctx, name: str) -> str:
    pod = ready_pod(ctx, name)
    return (pod.get("status") or {}).get("podIP") or ""


def _service(ctx, name: str) -> dict:
    from kubetm.errors import KubetmError

    svc = ctx.kube.get("Service", name, namespace=ctx.namespace)
    if svc is None:
        raise KubetmError(f"service {name} not found in {ctx.namespace}")
    return svc


def clusterip_dns(ctx) -> tuple[bool, str]:
    """clusterip1 and its FQDN resolve to its ClusterIP; a request by name reaches pod1."""
    ready_pod(ctx, CLIENT)
    _pod_ip(ctx, "pod1")
    ip = _service(ctx, "clusterip1")["spec"].get("clusterIP")
    names = ["clusterip1", _fqdn(ctx, "clusterip1") + "."]
    seen = observe(lambda: lookup(ctx, names), lambda s: all(_ips(s, n) == [ip] for n in names))
    status, body = observe(lambda: curl(ctx, "http://clusterip1/hostname"), lambda a: a[0] == 200)
    ok = all(_ips(seen, n) == [ip] for n in names) and status == 200 and body == "pod1"
    return ok, (
        f"from {CLIENT}: {_show(seen, names[0])}, {_show(seen, names[1], names[1].rstrip('.'))} "
        f"(clusterip1's ClusterIP is {ip}); curl http://clusterip1/hostname -> {status} {body!r}"
    )


def headless_dns(ctx) -> tuple[bool, str]:
    """headless1 (clusterIP None) resolves to the pods' IPs; pod-a.headless1 to pod4 alone."""
    svc = _service(ctx, "headless1")
    cluster_ip = svc["spec"].get("clusterIP")
    pods = {"pod4": _pod_ip(ctx, "pod4"), "pod5": _pod_ip(ctx, "pod5")}
    ready_pod(ctx, CLIENT)
    want = sorted(pods.values())
    names = ["headless1", "pod-a.headless1", "pod-b.headless1"]
    if cluster_ip != "None":  # the student's headless1 is not headless: say what DNS answers
        seen = lookup(ctx, names[:1])
        return False, (
            f"headless1 has clusterIP {cluster_ip}, a headless Service has None "
            f"(spec.clusterIP: None); {_show(seen, 'headless1')} instead of the pods' "
            f"{', '.join(want)}"
        )

    def good(s: dict) -> bool:
        return (
            _ips(s, "headless1") == want
            and _ips(s, "pod-a.headless1") == [pods["pod4"]]
            and _ips(s, "pod-b.headless1") == [pods["pod5"]]
        )

    seen = observe(lambda: lookup(ctx, names), good)
    status, body = observe(
        lambda: curl(ctx, "http://pod-a.headless1:8080/hostname"), lambda a: a[0] == 200
    )
    detail = (
        f"headless1 clusterIP {cluster_ip}; pod4 {pods['pod4']} (hostname pod-a), "
        f"pod5 {pods['pod5']} (pod-b); from {CLIENT}: "
        + "; ".join(_show(seen, n) for n in names)
        + f"; curl http://pod-a.headless1:8080/hostname -> {status} {body!r}"
    )
    return good(seen) and status == 200 and body == "pod-a", detail


def _endpoints(ctx, name: str) -> dict | None:
    return ctx.kube.get("Endpoints", name, namespace=ctx.namespace)


def endpoint_addresses(ep: dict | None) -> list[str]:
    """``ip:port`` of every ready address of an Endpoints object (sorted)."""
    out: list[str] = []
    for subset in (ep or {}).get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for a in subset.get("addresses") or []:
            out.extend(f"{a.get('ip')}:{p}" if p else str(a.get("ip")) for p in ports)
    return sorted(out)


def _slices(ctx, service: str) -> list[dict]:
    return ctx.kube.list(
        "EndpointSlice",
        namespace=ctx.namespace,
        selector={SERVICE_NAME: service},
        api_version="discovery.k8s.io/v1",
    )


def slice_addresses(slices: list[dict]) -> list[str]:
    return sorted(a for s in slices for ep in s.get("endpoints") or [] for a in ep["addresses"])


def endpoints_follow_selector(ctx) -> tuple[bool, str]:
    """endpoint1 (selector) gets Endpoints with pod7's IP; endpoint2 (no selector) gets none."""
    ip7 = _pod_ip(ctx, "pod7")
    ctx.delete_step("endpoints")  # what an earlier verify wrote by hand: start from none
    ep1 = ctx.kube.watch_until(
        "Endpoints",
        "endpoint1",
        lambda ep: f"{ip7}:8080" in endpoint_addresses(ep),
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what=f"endpoint1's Endpoints to list pod7 ({ip7})",
    )
    ep2 = _endpoints(ctx, "endpoint2")
    try:  # the mirroring controller removes an earlier verify's mirrored slice a moment later
        slices2 = ctx.kube.watch_until(
            "EndpointSlice",
            None,
            lambda items: not items,
            selector={SERVICE_NAME: "endpoint2"},
            namespace=ctx.namespace,
            api_version="discovery.k8s.io/v1",
            timeout=min(ctx.timeout, 15.0),
            what="no EndpointSlice for endpoint2",
        )
    except Timeout:
        slices2 = _slices(ctx, "endpoint2")
    ok = ep2 is None and not slices2
    return ok, (
        f"endpoint1 (selector svc=endpoint): Endpoints {', '.join(endpoint_addresses(ep1))} "
        f"(pod7 is {ip7}); endpoint2 (no selector): "
        + (
            "no Endpoints, no EndpointSlice"
            if ok
            else f"Endpoints {endpoint_addresses(ep2) if ep2 else 'none'}, "
            f"{len(slices2)} EndpointSlice(s) (expected none)"
        )
    )


def _control_plane(ctx) -> tuple[str, str]:
    """(name, InternalIP) of a control-plane node, where the API server listens on 6443."""
    from kubetm.errors import KubetmError

    for node in ctx.kube.list("Node"):
        labels = node["metadata"].get("labels") or {}
        if "node-role.kubernetes.io/control-plane" not in labels:
            continue
        for a in (node.get("status") or {}).get("addresses") or []:
            if a.get("type") == "InternalIP":
                return node["metadata"]["name"], a["address"]
    raise KubetmError("no control-plane node with an InternalIP (endpoint3 points at it)")


def apply_endpoints(ctx) -> dict[str, str]:
    """Write pod9's IP and the control-plane's InternalIP into steps/endpoints.yaml, apply it."""
    addresses = {"endpoint2": _pod_ip(ctx, "pod9"), "endpoint3": _control_plane(ctx)[1]}
    objs = ctx.load_step("endpoints")
    for obj in objs:
        for subset in obj.get("subsets") or []:
            subset["addresses"] = [{"ip": addresses[obj["metadata"]["name"]]}]
    ctx.check_cancelled()
    ctx.kube.apply(objs)
    return addresses


def manual_endpoints_route(ctx) -> tuple[bool, str]:
    """Endpoints written by hand for endpoint2 (pod9's IP) route traffic to pod9 and are
    mirrored into an EndpointSlice."""
    ip9 = apply_endpoints(ctx)["endpoint2"]
    ready_pod(ctx, CLIENT)
    slices = ctx.kube.watch_until(
        "EndpointSlice",
        None,
        lambda items: ip9 in slice_addresses(items or []),
        selector={SERVICE_NAME: "endpoint2"},
        namespace=ctx.namespace,
        api_version="discovery.k8s.io/v1",
        timeout=min(ctx.timeout, OBSERVE_SECONDS),
        what="endpoint2's EndpointSlice to mirror pod9's address",
    )
    managers = sorted(
        {
            (s["metadata"].get("labels") or {}).get("endpointslice.kubernetes.io/managed-by", "?")
            for s in slices
        }
    )
    status, body = observe(
        lambda: curl(ctx, "http://endpoint2:8080/hostname"), lambda a: a[0] == 200
    )
    ok = status == 200 and body == "pod9" and managers == [MIRROR_MANAGER]
    return ok, (
        f"Endpoints endpoint2 -> {ip9}:8080 (pod9, no label selects it); EndpointSlice "
        f"{', '.join(s['metadata']['name'] for s in slices)} holds {', '.join(slice_addresses(slices))}"
        f" (managed by {', '.join(managers)}); curl http://endpoint2:8080/hostname -> {status} {body!r}"
    )


def endpoints_to_node(ctx) -> tuple[bool, str]:
    """endpoint3's hand-made Endpoints point outside the pod network (the control-plane node's
    API server, instead of the course's GitHub address): a request by the Service name is answered."""
    import json

    node, ip = _control_plane(ctx)
    apply_endpoints(ctx)
    ready_pod(ctx, CLIENT)
    status, body = observe(
        lambda: curl(ctx, "https://endpoint3:80/version", insecure=True), lambda a: a[0] == 200
    )
    try:
        version = json.loads(body).get("gitVersion")
    except ValueError:
        version = None
    ok = status == 200 and bool(version)
    return ok, (
        f"Endpoints endpoint3 -> {ip}:6443 (node {node}, the API server); "
        f"Service port 80; curl -k https://endpoint3:80/version -> {status} "
        + (f"gitVersion {version}" if version else repr(short(body, 60)))
    )


def externalname_cname(ctx) -> tuple[bool, str]:
    """externalname1's name is a CNAME to its externalName (here clusterip1's FQDN)."""
    svc = _service(ctx, "externalname1")
    target = svc["spec"].get("externalName") or ""
    ip = _service(ctx, "clusterip1")["spec"].get("clusterIP")
    ready_pod(ctx, CLIENT)
    name = _fqdn(ctx, "externalname1") + "."
    seen = observe(
        lambda: lookup(ctx, [name]),
        lambda s: (s.get(name) or {}).get("cnames") == [target] and _ips(s, name) == [ip],
    )
    got = seen.get(name) or {"ips": [], "cnames": []}
    status, body = observe(
        lambda: curl(ctx, "http://externalname1/hostname"), lambda a: a[0] == 200
    )
    ok = (
        svc["spec"].get("type") == "ExternalName"
        and got["cnames"] == [target]
        and got["ips"] == [ip]
        and status == 200
        and body == "pod1"
    )
    return ok, (
        f"externalname1 (type {svc['spec'].get('type')}, clusterIP "
        f"{svc['spec'].get('clusterIP') or 'none'}): {name.rstrip('.')} -> CNAME "
        f"{', '.join(got['cnames']) or 'none'} -> {', '.join(got['ips']) or 'no address'} "
        f"(externalName {target}, clusterip1 {ip}); curl http://externalname1/hostname -> "
        f"{status} {body!r}"
    )


LAB = Lab(
    name="service-discovery",
    title="서비스 (중급) — Headless, Endpoint, ExternalName",
    lesson=(
        "Service discovery by DNS: a Service name resolves to its ClusterIP, a headless one to its "
        "pods; Endpoints made by the selector or by hand; ExternalName is a CNAME. The YAML is "
        "the course page's, in namespace kubetm-lab-service-discovery (the course: default). "
        "Deviations: the course's Internet targets are replaced: endpoint3's Endpoints -> the "
        "control-plane node's API server (InternalIP:6443 behind Service port 80; the course: "
        "GitHub 185.199.110.153:80), externalname1 -> clusterip1's FQDN (the course: "
        "github.github.io); the checks run dig where the course types nslookup"
    ),
    part="중급",
    page="k8s/07-intermediate-basic-resource/service",
    checks=(
        Check(
            "clusterip-dns",
            clusterip_dns,
            "from request-pod, clusterip1 and clusterip1.<ns>.svc.cluster.local resolve to its "
            "ClusterIP; http://clusterip1/hostname answers pod1",
            timeout=90,
        ),
        Check(
            "headless-dns",
            headless_dns,
            "headless1 (clusterIP None) resolves to pod4's and pod5's IPs; pod-a.headless1 "
            "(hostname + subdomain) resolves to pod4 and answers pod-a",
            timeout=90,
        ),
        Check(
            "endpoints-follow-selector",
            endpoints_follow_selector,
            "endpoint1 (selector) gets Endpoints with pod7's IP; endpoint2 (no selector) has none",
            timeout=60,
        ),
        Check(
            "manual-endpoints-route",
            manual_endpoints_route,
            "steps/endpoints: Endpoints endpoint2 -> pod9's IP; http://endpoint2:8080 answers "
            "pod9; the EndpointSlice mirroring controller copies it",
            timeout=90,
        ),
        Check(
            "endpoints-to-node",
            endpoints_to_node,
            "Endpoints endpoint3 -> the control-plane node's API server (the course: GitHub); "
            "https://endpoint3:80/version (Service port 80 -> 6443) answers from outside the pod "
            "network",
            timeout=60,
        ),
        Check(
            "externalname-cname",
            externalname_cname,
            "externalname1 resolves as a CNAME to its externalName (clusterip1's FQDN here; the "
            "course: github.github.io) and answers through it",
            timeout=90,
        ),
    ),
)

__all__ = ["LAB"]
