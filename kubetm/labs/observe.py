"""Small observation helpers shared by the lab checks (pod, service, volume, config, namespace).

Everything goes through ``ctx.kube`` (kubetm/k8s/); every wait is a watch with the check's
budget (``ctx.timeout``). The only retry loop is ``host_http``: a short, bounded HTTP probe from
the host to a published node address (loopback on kind).

Example:
    pod = ready_pod(ctx, "pod-1")
    out = exec_ok(ctx, "pod-1", ["sh", "-c", "echo hi"])
    status, body = host_http(f"http://{nodes.host_endpoint(ctx.kube, node, 30001)}/hostname")
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from kubetm.errors import Forbidden, Invalid, KubetmError
from kubetm.k8s import conditions
from kubetm.k8s.conditions import endpoint_pods
from kubetm.labels import SERVICE_NAME

__all__ = [
    "api_refusal",
    "container_status",
    "exec_ok",
    "fetch_in_pod",
    "fetch_many_in_pod",
    "host_http",
    "host_http_answer",
    "quantity_bytes",
    "ready_pod",
    "recreate_pod",
    "short",
    "token",
    "wait_endpoints",
    "wait_pod",
]


def name_of(obj: dict) -> str:
    return obj["metadata"]["name"]


def live(objs: list[dict] | None) -> list[dict]:
    """Objects not being deleted (a controller no longer counts a terminating pod)."""
    return [o for o in objs or [] if not o["metadata"].get("deletionTimestamp")]


def token(prefix: str = "kubetm") -> str:
    """A value unique to this run (so leftovers of an earlier run can never make a check pass)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def short(text: str, limit: int = 80) -> str:
    """One line, at most ``limit`` characters (for check details)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _budget(ctx, timeout: float | None) -> float:
    return float(timeout if timeout is not None else ctx.timeout)


def ready_pod(ctx, name: str, namespace: str | None = None, timeout: float | None = None) -> dict:
    """Watch until pod ``name`` is Ready; raises KubetmError (image pull, crash loop, timeout),
    at once when the pod sits on a node that is not Ready (stopped: it cannot become Ready)."""

    def ready(pod: dict | None) -> bool:
        if conditions.pod_ready(pod):
            return True
        node = ((pod or {}).get("spec") or {}).get("nodeName")
        if node and not conditions.node_ready(ctx.kube.get("Node", node)):
            raise KubetmError(
                f"pod {name} is on node {node}, which is not Ready: "
                "it cannot become Ready while the node is down"
            )
        return False

    return ctx.kube.watch_until(
        "Pod",
        name,
        ready,
        namespace=namespace or ctx.namespace,
        timeout=_budget(ctx, timeout),
        what=f"pod {name} to be Ready",
    )


def wait_pod(
    ctx,
    name: str,
    predicate: Callable[[dict | None], bool],
    what: str,
    namespace: str | None = None,
    timeout: float | None = None,
) -> dict | None:
    """Watch pod ``name`` until ``predicate(pod_or_None)`` holds."""
    return ctx.kube.watch_until(
        "Pod",
        name,
        predicate,
        namespace=namespace or ctx.namespace,
        timeout=_budget(ctx, timeout),
        what=what,
    )


def container_status(pod: dict | None, container: str) -> dict:
    for cs in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == container:
            return cs
    return {}


def exec_ok(
    ctx,
    pod: str,
    cmd: Sequence[str],
    container: str | None = None,
    namespace: str | None = None,
    timeout: float = 30,
) -> str:
    """Run ``cmd`` in a pod; its stdout, or KubetmError naming the command and its stderr."""
    rc, out, err = ctx.kube.exec(
        pod, list(cmd), container=container, namespace=namespace or ctx.namespace, timeout=timeout
    )
    if rc != 0:
        where = f"{pod}/{container}" if container else pod
        raise KubetmError(
            f"`{' '.join(cmd)[:80]}` in {where} exited {rc}: {short(err or out, 160)}"
        )
    return out


# GETs for images that have Node.js but no curl (ports, app): a new connection per request (no
# keep-alive, so a Service can pick another pod each time). Prints JSON [[status, body], ...];
# status 0 means the request failed (body: the error code, e.g. ECONNREFUSED, ENOTFOUND, timeout).
_NODE_GET = """const http=require('http');const u={url};const n={n};const out=[];
function one(i){{if(i>=n){{process.stdout.write(JSON.stringify(out));return;}}
const req=http.get(u,{{agent:false,timeout:{ms}}},res=>{{let b='';res.setEncoding('utf8');
res.on('data',d=>b+=d);res.on('end',()=>{{out.push([res.statusCode,b]);one(i+1);}});}});
req.on('timeout',()=>req.destroy(Object.assign(new Error('timeout'),{{code:'timeout'}})));
req.on('error',e=>{{out.push([0,String(e.code||e.message)]);one(i+1);}});}}
one(0);"""


def fetch_many_in_pod(
    ctx,
    pod: str,
    url: str,
    count: int = 1,
    container: str | None = None,
    namespace: str | None = None,
    timeout: float = 5.0,
) -> list[tuple[int, str]]:
    """``count`` GETs of ``url`` from inside a Node.js container (ports/app images), one exec.

    Returns [(status, body)]; status 0 = the request failed (body = the error code).
    """
    script = _NODE_GET.format(url=json.dumps(url), n=int(count), ms=int(timeout * 1000))
    out = exec_ok(
        ctx,
        pod,
        ["node", "-e", script],
        container=container,
        namespace=namespace,
        timeout=count * timeout + 15,
    )
    try:
        return [(int(s), str(b)) for s, b in json.loads(out)]
    except (ValueError, TypeError) as e:
        raise KubetmError(f"GET {url} in pod {pod}: unexpected output {short(out, 80)!r}") from e


def fetch_in_pod(
    ctx,
    pod: str,
    url: str,
    container: str | None = None,
    namespace: str | None = None,
    timeout: float = 5.0,
) -> tuple[int, str]:
    """One GET of ``url`` from inside a Node.js container: (status, body); status 0 = failed."""
    return fetch_many_in_pod(
        ctx, pod, url, 1, container=container, namespace=namespace, timeout=timeout
    )[0]


# ------------------------------------------------------------------------------ from the host


def host_http(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """One GET from the host: (status, body); raises OSError on refused/reset/timeout."""
    from kubetm.host import net

    status, body = net.http_get(url, timeout=timeout)
    return status, body.decode("utf-8", "replace")


def host_http_answer(
    url: str,
    accept: Callable[[int, str], bool],
    attempts: int = 10,
    timeout: float = 2.0,
    pause: float = 0.5,
) -> tuple[bool, str]:
    """A short bounded retry of ``host_http`` until ``accept(status, body)``: (ok, last outcome).

    The retry only covers kube-proxy programming a new port; it is bounded (``attempts``).
    """
    last = "no attempt"
    for i in range(attempts):
        try:
            status, body = host_http(url, timeout=timeout)
            last = f"HTTP {status} {short(body, 60)!r}"
            if accept(status, body):
                return True, body.strip()
        except OSError as e:
            reason = getattr(e, "reason", None) or e
            last = "timeout" if "timed out" in str(reason) else short(str(reason), 60)
        if i + 1 < attempts:
            time.sleep(pause)
    return False, last


# ------------------------------------------------------------------------------ services


def wait_endpoints(
    ctx,
    service: str,
    predicate: Callable[[dict[str, str]], bool],
    namespace: str | None = None,
    timeout: float | None = None,
) -> dict[str, str]:
    """Watch the Service's EndpointSlices until ``predicate({pod: node})`` holds; returns that map."""
    slices = ctx.kube.watch_until(
        "EndpointSlice",
        None,
        lambda items: predicate(endpoint_pods(items)),
        selector={SERVICE_NAME: service},
        namespace=namespace or ctx.namespace,
        api_version="discovery.k8s.io/v1",
        timeout=_budget(ctx, timeout),
        what=f"endpoints of service {service}",
    )
    return endpoint_pods(slices)


# ------------------------------------------------------------------------------ objects


def api_refusal(ctx, step: str) -> tuple[bool, str]:
    """Apply a step that the API must refuse: (refused, the API's message or what got created).

    When the API accepts it (the lesson failed), the created objects are deleted again.
    """
    try:
        ctx.apply_step(step)
    except (Forbidden, Invalid) as e:  # admission (quota, LimitRange) or validation said no
        msg = e.message
        # "apply pod ns/name: forbidden: pods "x" is forbidden: <reason>" -> keep the API's reason
        m = re.search(r"is forbidden: (.*)$", msg)
        return True, (m.group(1) if m else msg)
    ctx.delete_step(step, wait=False)
    return False, f"steps/{step} was accepted (expected the API to refuse it)"


def recreate_pod(ctx, file: str, name: str, namespace: str | None = None) -> dict:
    """Delete pod ``name`` (wait until gone), apply it again from the lab's ``file``, wait Ready.

    ``file`` is a manifest of this lab (``manifests/<lab>/<file>``); only the pod ``name`` is applied.
    """
    from kubetm import manifests

    ns = namespace or ctx.namespace
    objs = [
        o
        for o in manifests.load(ctx.lab.folder / file, registry=ctx.registry)
        if o.get("kind") == "Pod" and o["metadata"]["name"] == name
    ]
    if not objs:
        raise KubetmError(f"lab {ctx.lab.name}: no pod {name} in {file}")
    ctx.kube.delete(
        [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}}],
        wait=True,
        timeout=ctx.timeout,
    )
    ctx.check_cancelled()
    ctx.kube.apply(objs)
    return ready_pod(ctx, name, namespace=ns)


_UNITS = {
    "m": 10**-3,
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,  # the API writes binary kilo as "Ki" (node capacity: "24684092Ki")
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def quantity_bytes(value: Any) -> float:
    """Kubernetes quantity (``"100Mi"``, ``"1Gi"``, ``"500M"``, ``104857600``, ``"322122547200m"``
    as the API writes 0.3Gi) -> bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i|[kMGT]|m|)\s*", str(value))
    if not m:
        raise ValueError(f"not a memory quantity: {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def observe_until(
    fn: Callable[[], Any], good: Callable[[Any], bool], seconds: float = 30.0, pause: float = 1.0
) -> Any:
    """Call ``fn`` until ``good(result)`` or ``seconds`` are spent, ``pause`` between tries;
    returns the last result for the check to assert on. For what follows the API with a lag and
    has nothing to watch (CoreDNS answers, kube-proxy rules seen through a request): bounded.
    """
    deadline = time.monotonic() + seconds
    while True:
        seen = fn()
        if good(seen) or time.monotonic() >= deadline:
            return seen
        time.sleep(pause)
