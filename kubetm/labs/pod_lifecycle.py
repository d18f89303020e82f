"""Lab `pod-lifecycle` — Pod Lifecycle (중급편): phases, conditions, container states, probes.

manifests/pod-lifecycle/: pod-completed / pod-error (restartPolicy Never, exit 0 / exit 1), pod-crash
(Always, keeps failing), the course's probe page objects (svc-readiness, pod1, svc-liveness, pod2,
pod-liveness-httpget1) and node-shell (the student's shell on the node); steps/pod-start.yaml,
steps/pod-init.yaml (watched from creation), steps/pod-readiness-exec1.yaml (the course's exec
readinessProbe on a hostPath file, applied once the file is known to be absent).

The lifecycle lesson has no YAML on the course site (kubetm.github.io/k8s/06-intermediate-pod/ lists
only Probe and Node Scheduling): those pods are reconstructed from the lecture; the probe pods are
the course's own (k8s/06-intermediate-pod/probe). `lab show` says so through the manifests' comments.
"""

from __future__ import annotations

import time
from datetime import datetime

from kubetm.errors import KubetmError
from kubetm.labs.base import Check, Lab, LabContext
from kubetm.labs.observe import container_status, exec_ok, fetch_in_pod, ready_pod, short, wait_pod

CONDITION_ORDER = ("PodScheduled", "Initialized", "ContainersReady", "Ready")
READY_FILE = (
    "/node-tmp/readiness/ready.txt"  # /tmp/readiness/ready.txt on the node, seen by node-shell
)
READINESS_POD, READINESS_SERVICE = "pod-readiness-exec1", "svc-readiness"
LIVENESS_POD = "pod-liveness-httpget1"


# ------------------------------------------------------------------------------ pure logic


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def condition_times(pod: dict | None) -> dict[str, datetime | None]:
    """{condition type: lastTransitionTime} of the pod's conditions that are True."""
    out: dict[str, datetime | None] = {}
    for c in ((pod or {}).get("status") or {}).get("conditions") or []:
        if c.get("status") == "True":
            out[c.get("type", "?")] = _ts(c.get("lastTransitionTime"))
    return out


def in_order(times: dict[str, datetime | None], order=CONDITION_ORDER) -> bool:
    """Every condition of ``order`` is True and their times never go backwards."""
    stamps = [times.get(t) for t in order]
    if any(s is None for s in stamps):
        return False
    return all(a <= b for a, b in zip(stamps, stamps[1:]))  # type: ignore[operator]


def container_state(pod: dict | None, container: str = "container") -> str:
    """``Waiting/ContainerCreating``, ``Running``, ``Terminated/Completed`` ... for one container."""
    state = container_status(pod, container).get("state") or {}
    for key in ("waiting", "running", "terminated"):
        if key in state:
            reason = (state[key] or {}).get("reason")
            return key.capitalize() + (f"/{reason}" if reason else "")
    return "?"


def _phase(pod: dict | None) -> str:
    return str(((pod or {}).get("status") or {}).get("phase") or "?")


def _ready(pod: dict | None) -> bool:
    return "Ready" in condition_times(pod)


def _restarts(pod: dict | None, container: str) -> int:
    return int(container_status(pod, container).get("restartCount") or 0)


def _timeline(seen: list[str]) -> str:
    """Consecutive duplicates dropped: 'Pending ContainerCreating -> Running'."""
    out: list[str] = []
    for s in seen:
        if not out or out[-1] != s:
            out.append(s)
    return " -> ".join(out)


# ------------------------------------------------------------------------------------ checks


def _watch_from_creation(ctx: LabContext, step: str, name: str, done, what: str):
    """Apply a step pod (deleting a leftover first) and watch it, recording phase/state per event."""
    ctx.kube.delete(
        [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": ctx.namespace},
            }
        ],
        wait=True,
        timeout=ctx.timeout / 3,
    )
    seen: list[str] = []

    def pred(pod):
        if pod is not None:
            seen.append(f"{_phase(pod)} {container_state(pod)}")
        return done(pod)

    ctx.apply_step(step)
    pod = wait_pod(ctx, name, pred, what)
    return pod, seen


def pending_container_creating(ctx: LabContext) -> tuple[bool, str]:
    try:
        pod, seen = _watch_from_creation(
            ctx, "pod-start", "pod-start", _ready, "pod-start to be Ready"
        )
    finally:
        ctx.delete_step("pod-start", wait=False)
    creating = any(s.startswith("Pending Waiting/ContainerCreating") for s in seen)
    ok = creating and _phase(pod) == "Running"
    return ok, f"pod-start: {_timeline(seen)}" + (
        "" if creating else " (never seen Pending with ContainerCreating)"
    )


def conditions_in_order(ctx: LabContext) -> tuple[bool, str]:
    try:
        pod, seen = _watch_from_creation(
            ctx, "pod-init", "pod-init", _ready, "pod-init to be Ready"
        )
    finally:
        ctx.delete_step("pod-init", wait=False)
    times = condition_times(pod)
    start = times.get("PodScheduled")
    rel = ", ".join(
        f"{t} +{(times[t] - start).total_seconds():.0f}s"  # type: ignore[operator]
        for t in CONDITION_ORDER
        if times.get(t) is not None and start is not None
    )
    ok = in_order(times)
    init_took = (
        (times["Initialized"] - start).total_seconds()  # type: ignore[operator]
        if ok and start is not None
        else 0.0
    )
    ok = ok and init_took >= 2  # the init container sleeps 3 s before Initialized turns True
    detail = f"pod-init conditions True at {rel or 'none'} (init container ran {init_took:.0f}s)"
    return ok, f"{detail}; phases: {_timeline(seen)}"


def _ended(name: str, phase: str, reason: str, code: int):
    def check(ctx: LabContext) -> tuple[bool, str]:
        pod = wait_pod(
            ctx,
            name,
            lambda p: _phase(p) in ("Succeeded", "Failed"),
            f"pod {name} to finish",
        )
        term = (container_status(pod, "container").get("state") or {}).get("terminated") or {}
        ready: dict = next(
            (
                c
                for c in ((pod or {}).get("status") or {}).get("conditions") or []
                if c.get("type") == "Ready"
            ),
            {},
        )
        ok = (
            _phase(pod) == phase
            and term.get("reason") == reason
            and term.get("exitCode") == code
            and ready.get("status") == "False"
            and _restarts(pod, "container") == 0
        )
        return ok, (
            f"{name} (restartPolicy Never): phase {_phase(pod)}, container Terminated "
            f"reason {term.get('reason')} exit {term.get('exitCode')}, Ready {ready.get('status')} "
            f"({ready.get('reason') or '-'}), restarts {_restarts(pod, 'container')}"
        )

    return check


def crash_loop_backoff(ctx: LabContext) -> tuple[bool, str]:
    counts: list[int] = []

    def pred(pod):
        if pod is None:
            return False
        n = _restarts(pod, "container")
        if not counts or counts[-1] != n:
            counts.append(n)
        return n >= 2 and container_state(pod) == "Waiting/CrashLoopBackOff"

    pod = wait_pod(ctx, "pod-crash", pred, "pod-crash in CrashLoopBackOff, restarted twice")
    last = (container_status(pod, "container").get("lastState") or {}).get("terminated") or {}
    ok = _phase(pod) == "Running"
    return ok, (
        f"pod-crash (restartPolicy Always): {container_state(pod)}, restartCount "
        f"{' -> '.join(map(str, counts))}, last exit {last.get('reason')}/{last.get('exitCode')}; "
        f"the pod's phase stays {_phase(pod)}"
    )


def _node_shell(ctx: LabContext, script: str) -> str:
    return exec_ok(ctx, "node-shell", ["sh", "-c", script], container="shell")


def _endpoints(ctx: LabContext, pred, what: str, timeout: float) -> dict[str, bool]:
    from kubetm.labels import SERVICE_NAME
    from kubetm.labs.probes import endpoint_state

    slices = ctx.kube.watch_until(
        "EndpointSlice",
        None,
        lambda ss: pred(endpoint_state(ss)),
        selector={SERVICE_NAME: READINESS_SERVICE},
        namespace=ctx.namespace,
        api_version="discovery.k8s.io/v1",
        timeout=timeout,
        what=what,
    )
    return endpoint_state(slices)


def _unhealthy(ctx: LabContext, pod: str, minimum: int, timeout: float) -> list[dict]:
    def mine(events: list[dict]) -> list[dict]:
        return [
            e
            for e in events or []
            if e.get("reason") == "Unhealthy" and (e.get("involvedObject") or {}).get("name") == pod
        ]

    events = ctx.kube.watch_until(
        "Event",
        None,
        lambda evs: sum(int(e.get("count") or 1) for e in mine(evs)) >= minimum,
        namespace=ctx.namespace,
        timeout=timeout,
        what=f"{minimum} failed probes of {pod}",
    )
    return mine(events)


def readiness_success_threshold(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    ready_pod(ctx, "node-shell", timeout=ctx.timeout / 6)
    ready_pod(ctx, "pod1", timeout=ctx.timeout / 6)
    _node_shell(ctx, f"rm -f {READY_FILE}")  # a leftover of an interrupted run would pass at once
    kube.delete(
        [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": READINESS_POD, "namespace": ns}}],
        wait=True,
        timeout=ctx.timeout / 6,
    )
    ctx.apply_step(READINESS_POD)
    failed = _unhealthy(ctx, READINESS_POD, 2, ctx.timeout / 3)
    pod = kube.get("Pod", READINESS_POD, namespace=ns)
    before = _endpoints(
        ctx,
        lambda st: st.get("pod1") is True and READINESS_POD in st,
        f"{READINESS_SERVICE} to list pod1 ready and {READINESS_POD}",
        ctx.timeout / 6,
    )
    if _ready(pod) or before.get(READINESS_POD):
        return False, f"{READINESS_POD} is Ready before {READY_FILE} exists"
    message = short(str(failed[-1].get("message") or ""), 70) if failed else ""
    ctx.check_cancelled()
    _node_shell(ctx, f"mkdir -p $(dirname {READY_FILE}) && touch {READY_FILE}")
    t0 = time.monotonic()
    pod = (
        wait_pod(ctx, READINESS_POD, _ready, f"{READINESS_POD} Ready", timeout=ctx.timeout / 2)
        or {}
    )
    took = time.monotonic() - t0
    after = _endpoints(
        ctx,
        lambda st: st.get(READINESS_POD) is True,
        f"{READINESS_POD} ready in {READINESS_SERVICE}",
        ctx.timeout / 6,
    )
    probe = next(c for c in pod["spec"]["containers"] if c["name"] == "readiness")["readinessProbe"]
    period, threshold = probe.get("periodSeconds", 10), probe.get("successThreshold", 1)
    ok = took >= period * (threshold - 1) - 1 and after.get("pod1") is True
    return ok, (
        f"{READINESS_POD} Running but not Ready: {len(failed)} Unhealthy event(s) ({message!r}), "
        f"listed not-ready in {READINESS_SERVICE} beside pod1; ready.txt touched on "
        f"{pod['spec'].get('nodeName')}: Ready {took:.0f}s later (successThreshold {threshold} x "
        f"periodSeconds {period}: at least {period * (threshold - 1)}s), now ready in "
        f"{READINESS_SERVICE}: {', '.join(sorted(p for p, r in after.items() if r))}"
    )


def liveness_failure_threshold(ctx: LabContext) -> tuple[bool, str]:
    pod = ready_pod(ctx, LIVENESS_POD, timeout=ctx.timeout / 4)
    before = _restarts(pod, "liveness")
    status, _ = fetch_in_pod(ctx, LIVENESS_POD, "http://localhost:8080/health")
    answer, body = fetch_in_pod(ctx, LIVENESS_POD, "http://localhost:8080/status500")
    if answer != 200:
        raise KubetmError(f"GET /status500 in {LIVENESS_POD} answered {answer}: {short(body, 60)}")
    t0 = time.monotonic()
    pod = (
        wait_pod(
            ctx,
            LIVENESS_POD,
            lambda p: _restarts(p, "liveness") > before and _ready(p),
            f"the kubelet to restart {LIVENESS_POD}",
            timeout=ctx.timeout * 2 / 3,
        )
        or pod
    )
    took = time.monotonic() - t0
    failures = sum(int(e.get("count") or 1) for e in _unhealthy(ctx, LIVENESS_POD, 3, 10))
    again, _ = fetch_in_pod(ctx, LIVENESS_POD, "http://localhost:8080/health")
    probe = next(c for c in pod["spec"]["containers"] if c["name"] == "liveness")["livenessProbe"]
    period, threshold = probe.get("periodSeconds", 10), probe.get("failureThreshold", 3)
    ok = again == 200 and took >= period * (threshold - 1) - 1
    return ok, (
        f"{LIVENESS_POD}: /health {status}, then /status500; {failures} failed liveness probes, "
        f"restarted {took:.0f}s later (failureThreshold {threshold} x periodSeconds {period}: at "
        f"least {period * (threshold - 1)}s), restartCount {before} -> {_restarts(pod, 'liveness')}; "
        f"/health answers {again} again"
    )


def remove_ready_file(ctx: LabContext) -> None:
    """Cleanup: /tmp/readiness on the node goes with the lab (node-shell removes it, if it still runs)."""
    if _phase(ctx.kube.get("Pod", "node-shell", namespace=ctx.namespace)) != "Running":
        return  # never started: it touched nothing
    try:
        _node_shell(ctx, "rm -rf /node-tmp/readiness")
    except KubetmError:
        pass  # node-shell not running (the lab failed before it started): nothing was touched


LAB = Lab(
    name="pod-lifecycle",
    title="파드 라이프사이클 — Pod Lifecycle",
    lesson="a pod's phase, conditions and container states from creation to its end; probes decide Ready and restarts",
    part="중급",
    page="k8s/06-intermediate-pod",
    cleanup=remove_ready_file,
    checks=(
        Check(
            "pending-container-creating",
            pending_container_creating,
            "a new pod is Pending with its container Waiting/ContainerCreating, then Running and Ready",
        ),
        Check(
            "conditions-in-order",
            conditions_in_order,
            "pod-init's conditions turn True in order: PodScheduled, Initialized (after its 3 s init "
            "container), ContainersReady, Ready (lastTransitionTime)",
        ),
        Check(
            "never-exit-0-succeeded",
            _ended("pod-completed", "Succeeded", "Completed", 0),
            "restartPolicy Never, exit 0: pod Succeeded, container Terminated/Completed",
        ),
        Check(
            "never-exit-1-failed",
            _ended("pod-error", "Failed", "Error", 1),
            "restartPolicy Never, exit 1: pod Failed, container Terminated/Error",
        ),
        Check(
            "always-crash-loop-backoff",
            crash_loop_backoff,
            "restartPolicy Always, a failing container: Waiting/CrashLoopBackOff, restartCount growing, "
            "the pod stays Running",
        ),
        Check(
            "readiness-success-threshold",
            readiness_success_threshold,
            "the course's exec readinessProbe: pod-readiness-exec1 is not Ready and not served by "
            "svc-readiness until /tmp/readiness/ready.txt exists, then Ready only after 3 successes "
            "(>= 20 s)",
            timeout=90,
            track="readiness",  # its own pod: beside the other checks
        ),
        Check(
            "liveness-failure-threshold",
            liveness_failure_threshold,
            "the course's httpGet livenessProbe: after /status500, 3 failures (>= 20 s) and the "
            "kubelet restarts the container; /health answers 200 again",
            timeout=90,
            track="liveness",  # its own pod: beside the other checks
        ),
    ),
)

__all__ = ["LAB", "condition_times", "container_state", "in_order"]
