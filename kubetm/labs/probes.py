"""Lab `probes` — ReadinessProbe, LivenessProbe.

manifests/probes/: Deployment readiness (2 app pods, readinessProbe /ready) + svc-readiness,
pod-liveness (livenessProbe /health) + svc-liveness.

The checks flip the app's own switches from inside its pod (the app image is Node.js, no curl):
GET /ready/off | /ready/on for readiness, GET /status500 for liveness; then they watch the pod's
conditions, the Service's EndpointSlices and the container's restartCount.
"""

from __future__ import annotations

import json
import time

from kubetm.errors import KubetmError
from kubetm.labels import SERVICE_NAME
from kubetm.labs.base import Check, Lab, LabContext

DEPLOYMENT = "readiness"
SERVICE = "svc-readiness"
LIVENESS_POD = "pod-liveness"
APP_PORT = 8080

# GET a URL from inside an app container with Node's http module; retries refused connections for a
# few seconds (a container that just restarted may not listen yet). Prints {"status": N, "body": "..."}.
_NODE_GET = """
const [url, n, tries] = [process.argv[1], Number(process.argv[2] || 1), Number(process.argv[3] || 20)];
const http = require('http');
const out = [];
function once(left, done) {
  http.get(url, {timeout: 3000}, (r) => {
    let b = ''; r.on('data', (c) => b += c); r.on('end', () => done({status: r.statusCode, body: b.trim()}));
  }).on('error', (e) => left > 0 ? setTimeout(() => once(left - 1, done), 250) : done({error: e.message}));
}
(function next(i) {
  if (i >= n) { process.stdout.write(JSON.stringify(out)); return; }
  once(tries, (r) => { out.push(r); next(i + 1); });
})(0);
"""


def pod_get(kube, pod: str, namespace: str, url: str, times: int = 1) -> list[dict]:
    """GET ``url`` ``times`` times from inside ``pod``: [{"status": 200, "body": "..."}|{"error": ...}]."""
    rc, out, err = kube.exec(
        pod, ["node", "-e", _NODE_GET, url, str(times)], namespace=namespace, timeout=60
    )
    if rc != 0:
        raise KubetmError(
            f"GET {url} inside pod {pod} failed (exit {rc}): {' '.join((err or out).split())[:200]}"
        )
    try:
        return json.loads(out)
    except ValueError:
        raise KubetmError(f"GET {url} inside pod {pod}: unexpected output {out[:100]!r}") from None


def _local(kube, pod: str, namespace: str, path: str) -> dict:
    return pod_get(kube, pod, namespace, f"http://localhost:{APP_PORT}{path}")[0]


def _name(obj: dict) -> str:
    return obj["metadata"]["name"]


def _ready(pod: dict | None) -> bool:
    return pod is not None and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _restarts(pod: dict | None) -> int:
    return sum(
        cs.get("restartCount", 0)
        for cs in ((pod or {}).get("status") or {}).get("containerStatuses") or []
    )


def endpoint_state(slices: list[dict]) -> dict[str, bool]:
    """{pod name: ready} over a Service's EndpointSlices (a pod listed not-ready gets no traffic)."""
    out: dict[str, bool] = {}
    for s in slices or []:
        for ep in s.get("endpoints") or []:
            ref = ep.get("targetRef") or {}
            if ref.get("kind") == "Pod" and ref.get("name"):
                ready = (ep.get("conditions") or {}).get("ready")
                out[ref["name"]] = out.get(ref["name"], False) or ready is not False
    return out


def _serving(state: dict[str, bool]) -> list[str]:
    return sorted(p for p, ok in state.items() if ok)


def _watch_endpoints(ctx: LabContext, pred, what: str, timeout: float) -> dict[str, bool]:
    slices = ctx.kube.watch_until(
        "EndpointSlice",
        None,
        lambda ss: pred(endpoint_state(ss)),
        selector={SERVICE_NAME: SERVICE},
        namespace=ctx.namespace,
        api_version="discovery.k8s.io/v1",
        timeout=timeout,
        what=what,
    )
    return endpoint_state(slices)


def _readiness_pods(ctx: LabContext, timeout: float) -> list[dict]:
    from kubetm.k8s import conditions

    kube, ns = ctx.kube, ctx.namespace
    kube.watch_until(
        "Deployment",
        DEPLOYMENT,
        conditions.deployment_available,
        namespace=ns,
        timeout=timeout,
        what=f"deployment {DEPLOYMENT} Available",
    )
    pods = [
        p
        for p in kube.list("Pod", namespace=ns, selector={"app": DEPLOYMENT})
        if not p["metadata"].get("deletionTimestamp")
    ]
    return sorted(pods, key=_name)


# ------------------------------------------------------------------------------------ checks


def readiness_gates_endpoints(ctx: LabContext) -> tuple[bool, str]:
    pods = _readiness_pods(ctx, ctx.timeout / 2)
    names = {_name(p) for p in pods}
    state = _watch_endpoints(
        ctx,
        lambda st: set(_serving(st)) == names,
        f"{SERVICE} to list both pods as ready",
        ctx.timeout / 2,
    )
    ips = ", ".join(f"{_name(p)} ({(p.get('status') or {}).get('podIP')})" for p in pods)
    return (
        True,
        f"{len(pods)} pods Ready, {len(_serving(state))} ready in {SERVICE}'s endpoints: {ips}",
    )


def readiness_off_removes_endpoint(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    pods = _readiness_pods(ctx, ctx.timeout / 3)
    if len(pods) < 2:
        return False, f"deployment {DEPLOYMENT} has {len(pods)} pod(s), expected 2"
    target, other = pods[0], pods[1]
    name = _name(target)
    ctx.state["probes.not_ready_pod"] = name
    before = _restarts(target)
    t0 = time.monotonic()
    answer = _local(kube, name, ns, "/ready/off")
    if answer.get("status") != 200:
        return False, f"GET /ready/off in {name} answered {answer}"
    pod = kube.watch_until(
        "Pod",
        name,
        lambda p: p is not None and not _ready(p),
        namespace=ns,
        timeout=ctx.timeout / 3,
        what=f"pod {name} NotReady",
    )
    not_ready = time.monotonic() - t0
    state = _watch_endpoints(
        ctx,
        lambda st: not st.get(name, False) and st.get(_name(other), False),
        f"{name} out of {SERVICE}'s ready endpoints",
        ctx.timeout / 3,
    )
    removed = time.monotonic() - t0
    # Traffic through the Service now reaches only the ready pod.
    svc = kube.get("Service", SERVICE, namespace=ns) or {}
    ip, port = (
        (svc.get("spec") or {}).get("clusterIP"),
        ((svc.get("spec") or {}).get("ports") or [{}])[0].get("port"),
    )
    # kube-proxy rewrites each node's rules a moment after the EndpointSlice changes (longer on a
    # busy machine): send batches of 6, bounded, until a batch reaches only the ready pod (the
    # lesson) or the time is up (the check fails, naming who answered).
    deadline = time.monotonic() + 30
    while True:
        answers = pod_get(kube, _name(other), ns, f"http://{ip}:{port}/hostname", times=6)
        hosts = sorted({a.get("body", a.get("error", "?")) for a in answers})
        if hosts == [_name(other)] or time.monotonic() >= deadline:
            break
    routed = time.monotonic() - t0
    restarts = _restarts(kube.get("Pod", name, namespace=ns) or pod)
    ok = restarts == before and hosts == [_name(other)]
    return ok, (
        f"{name}: /ready/off -> NotReady after {not_ready:.0f}s, out of {SERVICE}'s endpoints after "
        f"{removed:.0f}s (ready: {', '.join(_serving(state))}); 6 requests to {SERVICE} answered by "
        f"{', '.join(hosts)} (kube-proxy caught up after {routed:.0f}s); restarts {before} -> {restarts}"
    )


def readiness_on_restores_endpoint(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    name = ctx.state.get("probes.not_ready_pod")
    if not name:
        return False, "readiness-off-removes-endpoint did not run (no pod was made not ready)"
    pod = kube.get("Pod", name, namespace=ns)
    if pod is None:
        return False, f"pod {name} is gone"
    before = _restarts(pod)
    t0 = time.monotonic()
    answer = _local(kube, name, ns, "/ready/on")
    if answer.get("status") != 200:
        return False, f"GET /ready/on in {name} answered {answer}"
    pod = kube.watch_until(
        "Pod", name, _ready, namespace=ns, timeout=ctx.timeout / 2, what=f"pod {name} Ready"
    )
    ready_after = time.monotonic() - t0
    state = _watch_endpoints(
        ctx,
        lambda st: st.get(name, False) and len(_serving(st)) >= 2,
        f"{name} back in {SERVICE}'s ready endpoints",
        ctx.timeout / 2,
    )
    restarts = _restarts(pod)
    return restarts == before, (
        f"{name}: /ready/on -> Ready after {ready_after:.0f}s and back in {SERVICE}'s "
        f"endpoints after {time.monotonic() - t0:.0f}s (ready: {', '.join(_serving(state))}); "
        f"restarts {before} -> {restarts}"
    )


def liveness_restarts_container(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    from kubetm.k8s import conditions

    pod = kube.watch_until(
        "Pod",
        LIVENESS_POD,
        conditions.pod_ready,
        namespace=ns,
        timeout=ctx.timeout / 3,
        what=f"pod {LIVENESS_POD} Ready",
    )
    before = _restarts(pod)
    health = _local(kube, LIVENESS_POD, ns, "/health")
    t0 = time.monotonic()
    answer = _local(kube, LIVENESS_POD, ns, "/status500")
    if answer.get("status") != 200:
        return False, f"GET /status500 in {LIVENESS_POD} answered {answer}"
    pod = kube.watch_until(
        "Pod",
        LIVENESS_POD,
        lambda p: _restarts(p) > before and _ready(p),
        namespace=ns,
        timeout=ctx.timeout * 2 / 3,
        what=f"the kubelet to restart {LIVENESS_POD}'s container",
    )
    restarted = time.monotonic() - t0
    after = _local(kube, LIVENESS_POD, ns, "/health")
    events = kube.events(namespace=ns, involved_name=LIVENESS_POD)
    unhealthy = sum(int(e.get("count") or 1) for e in events if e.get("reason") == "Unhealthy")
    killing = [e.get("message") for e in events if e.get("reason") == "Killing"]
    last = ((pod["status"].get("containerStatuses") or [{}])[0].get("lastState") or {}).get(
        "terminated"
    ) or {}
    ok = after.get("status") == 200 and health.get("status") == 200
    detail = (
        f"{LIVENESS_POD}: /health {health.get('status')} -> /status500 -> {unhealthy} failed liveness probe(s), "
        f"container restarted after {restarted:.0f}s (restartCount {before} -> {_restarts(pod)}, last exit "
        f"{last.get('reason', '?')}/{last.get('exitCode', '?')}); /health answers {after.get('status')} again"
    )
    if killing:
        detail += f"; kubelet: {' '.join(str(killing[-1]).split())[:90]}"
    return ok, detail


LAB = Lab(
    name="probes",
    part="중급",
    page="k8s/06-intermediate-pod/probe",
    title="레디니스, 라이브니스 프로브 — ReadinessProbe, LivenessProbe",
    lesson="ReadinessProbe removes a pod from service traffic while it is not ready; LivenessProbe restarts a broken container",
    checks=(
        Check(
            "readiness-gates-endpoints",
            readiness_gates_endpoints,
            "both readiness pods are Ready and listed in svc-readiness's endpoints",
            timeout=90,
        ),
        Check(
            "readiness-off-removes-endpoint",
            readiness_off_removes_endpoint,
            "GET /ready/off on one pod: it turns NotReady and leaves the endpoints (Service traffic goes to the other), without a restart",
            timeout=60,
        ),
        Check(
            "readiness-on-restores-endpoint",
            readiness_on_restores_endpoint,
            "GET /ready/on: the pod is Ready and back in the endpoints",
            timeout=60,
        ),
        Check(
            "liveness-restarts-container",
            liveness_restarts_container,
            "GET /status500 on pod-liveness: the kubelet restarts it (restartCount +1) and /health answers 200 again",
            timeout=90,
        ),
    ),
)
