"""`kubetm deploy hello` / `kubetm delete hello`: the course's first app, end to end.

Server-side applies manifests/getting-started (Pod hello-pod + NodePort Service hello-svc
on 30000), waits on a watch until the pod is Ready and the Service has a ready endpoint, then
makes a real HTTP GET to the NodePort on the node running the pod and returns the body.

Example:
    result = hello(Kube(context="kind-kubetm"))   # {"url": "http://127.0.0.2:30000/" (loopback port scheme), "body": ...}
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubetm.errors import KubetmError
from kubetm.labels import SERVICE_NAME

__all__ = ["BUNDLES", "hello", "delete_hello", "http_get", "HELLO_NODE_PORT"]

HELLO_MANIFESTS = "getting-started"
HELLO_POD = "hello-pod"
HELLO_SERVICE = "hello-svc"
HELLO_NODE_PORT = 30000


def _objects(registry: str | None) -> list[dict]:
    from kubetm import manifests

    return manifests.load(manifests.manifest_dir(HELLO_MANIFESTS), registry=registry)


def hello(kube, registry: str | None = None, timeout: float = 180, progress=None) -> dict[str, Any]:
    """Deploy hello-pod + hello-svc, wait until served, GET it. Idempotent. ``progress`` (optional)
    receives a status line for each wait."""
    from kubetm import nodes
    from kubetm.k8s import conditions

    objs = _objects(registry)
    ns = kube.namespace
    applied = kube.apply(objs, namespace=ns)
    pod = kube.watch_until(
        "Pod",
        HELLO_POD,
        conditions.pod_ready,
        namespace=ns,
        timeout=timeout,
        what=f"pod {HELLO_POD} to be Ready",
        progress=progress,
    )
    kube.watch_until(
        "EndpointSlice",
        None,
        conditions.has_ready_endpoint,
        namespace=ns,
        selector={SERVICE_NAME: HELLO_SERVICE},
        timeout=60,
        what=f"service {HELLO_SERVICE} endpoints",
        progress=progress,
    )
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise KubetmError(f"pod {HELLO_POD} is Ready but has no node")
    url = f"http://{nodes.host_endpoint(kube, node, HELLO_NODE_PORT)}/"
    status, body = http_get(url)
    return {
        "namespace": ns,
        "applied": [r.to_dict() for r in applied],
        "pod": HELLO_POD,
        "node": node,
        "url": url,
        "status": status,
        "body": body,
    }


def delete_hello(kube, wait: bool = True) -> list:
    """Delete what `deploy hello` created (missing objects are reported as "not found")."""
    objs = _objects(None)
    return kube.delete(objs, namespace=kube.namespace, wait=wait)


def http_get(url: str, timeout: float = 5, total: float = 20) -> tuple[int, str]:
    """GET ``url`` without any proxy, retrying briefly while kube-proxy programs the NodePort.

    Only loopback or node addresses are ever passed here (nodes.host_endpoint).
    """
    import urllib.parse

    import tenacity

    from kubetm.host import net

    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise KubetmError(f"refusing to send traffic to non-IP host {host!r}") from None

    class HTTPStatus(Exception):
        def __init__(self, code: int):
            super().__init__(f"HTTP {code}")
            self.code = code

    def once() -> tuple[int, str]:
        status, body = net.http_get(url, timeout=timeout, limit=1 << 20)
        if status >= 400:
            raise HTTPStatus(status)
        return status, body.decode("utf-8", "replace")

    retryable = (OSError, HTTPStatus)
    try:
        for attempt in tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(retryable),
            stop=tenacity.stop_after_delay(total),
            wait=tenacity.wait_exponential(multiplier=0.2, max=2),
            reraise=True,
        ):
            with attempt:
                return once()
    except HTTPStatus as e:
        raise KubetmError(f"GET {url} answered HTTP {e.code}") from None
    except OSError as e:
        reason = getattr(e, "reason", e)
        raise KubetmError(
            f"GET {url} failed: {reason}",
            hint="is the NodePort published on the host? `kubetm cluster up` maps 30000-30009",
        ) from None
    raise AssertionError("unreachable")  # pragma: no cover


# Named bundles `kubetm delete NAME` understands.
BUNDLES = {"hello": delete_hello}
