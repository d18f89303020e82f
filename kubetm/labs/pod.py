"""Lab `pod` — 파드 (Pod): containers, labels, node scheduling, resources.

manifests/pod/: pod-1 (8000 + 8080 over localhost), labelled pods + svc-web, pod-node1 (nodeSelector
k8s-node1), pod-too-big (1000Gi, Pending), pod-oom (OOMKilled); steps/port-conflict.yaml.
"""

from __future__ import annotations

from kubetm.errors import KubetmError
from kubetm.labels import COURSE_NODE
from kubetm.labs.base import Check, Lab
from kubetm.labs.observe import (
    container_status,
    fetch_in_pod,
    ready_pod,
    short,
    wait_endpoints,
    wait_pod,
)


def containers_share_localhost(ctx) -> tuple[bool, str]:
    """pod-1: container2 GETs localhost:8000 (container1), container1 GETs localhost:8080 (container2)."""
    ready_pod(ctx, "pod-1")
    seen = []
    ok = True
    for src, port in (("container2", 8000), ("container1", 8080)):
        status, body = fetch_in_pod(ctx, "pod-1", f"http://localhost:{port}/", container=src)
        good = status == 200 and f"port={port}" in body
        ok &= good
        seen.append(f"{src} -> localhost:{port} answered {short(body, 40)!r}")
    return ok, "; ".join(seen)


def _failed_container(pod: dict | None) -> dict | None:
    """The container status of a container that exited non-zero (now or in its last state)."""
    for cs in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            raise KubetmError(
                f"container {cs.get('name')}: {waiting['reason']}",
                hint="is the image built and pushed? try `kubetm image push`",
            )
        for state in (
            (cs.get("state") or {}).get("terminated"),
            (cs.get("lastState") or {}).get("terminated"),
        ):
            if state and state.get("exitCode", 0) != 0:
                return cs
    return None


def same_port_fails(ctx) -> tuple[bool, str]:
    """Apply steps/port-conflict (two containers on 8000): one of them exits with an error."""
    ctx.apply_step("port-conflict")
    try:
        pod = wait_pod(
            ctx,
            "pod-port-conflict",
            lambda p: _failed_container(p) is not None,
            "a container of pod-port-conflict to fail",
        )
        failed = _failed_container(pod)
        assert pod is not None and failed is not None  # what the watch above waited for
        name = failed["name"]
        term = (
            (failed.get("state") or {}).get("terminated")
            or (failed.get("lastState") or {}).get("terminated")
            or {}
        )
        other = [cs for cs in pod["status"]["containerStatuses"] if cs["name"] != name]
        other_running = any((cs.get("state") or {}).get("running") for cs in other)
        try:
            log = ctx.kube.pod_logs(
                "pod-port-conflict",
                namespace=ctx.namespace,
                container=name,
                previous=not (failed.get("state") or {}).get("terminated"),
                tail_lines=3,
            )
        except KubetmError:
            log = ""
        log_line = next((ln for ln in (log or "").splitlines() if "in use" in ln), "")
        detail = (
            f"{name} exited {term.get('exitCode')} ({term.get('reason') or 'Error'})"
            + (f": {short(log_line, 100)!r}" if log_line else "")
            + (
                "; " + ", ".join(cs["name"] for cs in other) + " keeps running on 8000"
                if other_running
                else ""
            )
        )
        return True, detail
    finally:
        ctx.delete_step("port-conflict", wait=False)


def service_selects_labels(ctx) -> tuple[bool, str]:
    """svc-web's ready endpoints are exactly the pods its selector matches (type=web)."""
    svc = ctx.kube.get("Service", "svc-web", namespace=ctx.namespace)
    if svc is None:
        return False, "service svc-web not found"
    selector = (svc.get("spec") or {}).get("selector") or {}
    matching = {
        p["metadata"]["name"]
        for p in ctx.kube.list("Pod", namespace=ctx.namespace, selector=selector)
    }
    if not matching:
        return False, f"no pod carries {selector}"
    for name in sorted(matching):
        ready_pod(ctx, name)
    eps = wait_endpoints(ctx, "svc-web", lambda found: set(found) == matching)
    others = sorted(
        p["metadata"]["name"]
        for p in ctx.kube.list("Pod", namespace=ctx.namespace)
        if p["metadata"]["name"] not in matching
        and ((p["metadata"].get("labels") or {}).get("type"))
    )
    sel = ",".join(f"{k}={v}" for k, v in selector.items())
    left_out = f"; left out: {', '.join(others)}" if others else ""
    return set(eps) == matching, f"svc-web ({sel}) endpoints: {', '.join(sorted(eps))}{left_out}"


def node_selector_pins(ctx) -> tuple[bool, str]:
    """pod-node1 runs on the node whose kubetm.io/course-node label its nodeSelector names."""
    pod = ready_pod(ctx, "pod-node1")
    wanted = ((pod.get("spec") or {}).get("nodeSelector") or {}).get(COURSE_NODE)
    node_name = (pod.get("spec") or {}).get("nodeName")
    node = ctx.kube.get("Node", node_name) if node_name else None
    label = ((node or {}).get("metadata", {}).get("labels") or {}).get(COURSE_NODE)
    ok = bool(wanted) and label == wanted
    return (
        ok,
        f"pod-node1 (nodeSelector {COURSE_NODE}={wanted}) runs on {node_name} ({COURSE_NODE}={label})",
    )


def too_big_stays_pending(ctx) -> tuple[bool, str]:
    """pod-too-big: a FailedScheduling event appears and the pod stays Pending, unscheduled."""

    def failed_scheduling(events: list[dict]) -> bool:
        return any(
            e.get("reason") == "FailedScheduling"
            and (e.get("involvedObject") or {}).get("name") == "pod-too-big"
            for e in events
        )

    events = ctx.kube.watch_until(
        "Event",
        None,
        failed_scheduling,
        namespace=ctx.namespace,
        timeout=ctx.timeout,
        what="a FailedScheduling event for pod-too-big",
    )
    event = [
        e
        for e in events
        if e.get("reason") == "FailedScheduling"
        and (e.get("involvedObject") or {}).get("name") == "pod-too-big"
    ][-1]
    pod = ctx.kube.get("Pod", "pod-too-big", namespace=ctx.namespace) or {}
    phase = (pod.get("status") or {}).get("phase")
    node = (pod.get("spec") or {}).get("nodeName")
    ok = phase == "Pending" and not node
    return (
        ok,
        f"pod-too-big is {phase}{' on ' + node if node else ''}; FailedScheduling: {short(event.get('message', ''), 140)}",
    )


def memory_limit_oomkilled(ctx) -> tuple[bool, str]:
    """pod-oom: its container is OOMKilled (past its memory limit) and restarted by the kubelet."""

    def oom_restarted(pod: dict | None) -> bool:
        cs = container_status(pod, "container")
        last = (cs.get("lastState") or {}).get("terminated") or {}
        return cs.get("restartCount", 0) >= 1 and last.get("reason") == "OOMKilled"

    pod = wait_pod(ctx, "pod-oom", oom_restarted, "pod-oom OOMKilled and restarted")
    assert pod is not None  # oom_restarted(None) is False
    cs = container_status(pod, "container")
    last = (cs.get("lastState") or {}).get("terminated") or {}
    spec: dict = next((c for c in pod["spec"]["containers"] if c["name"] == "container"), {})
    limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory", "?")
    return True, (
        f"pod-oom (memory limit {limit}) restarted {cs.get('restartCount')}x, "
        f"last reason {last.get('reason')} (exit {last.get('exitCode')})"
    )


LAB = Lab(
    name="pod",
    part="초급",
    page="k8s/03-beginner-basic-resource/pod",
    title="파드 — Pod",
    lesson="Container, Label, Node Schedule: containers share a pod's network; labels select; nodeSelector and resources decide the node",
    checks=(
        Check(
            "containers-share-localhost",
            containers_share_localhost,
            "pod-1: container2 reaches container1 on localhost:8000 and container1 reaches 8080",
            timeout=90,
        ),
        Check(
            "same-port-fails",
            same_port_fails,
            "steps/port-conflict: a second container on port 8000 fails (Error / CrashLoopBackOff)",
            timeout=90,
        ),
        Check(
            "service-selects-labels",
            service_selects_labels,
            "svc-web's endpoints are exactly the pods labelled type=web (pod-web-dev, pod-web-prod)",
            timeout=60,
        ),
        Check(
            "node-selector-pins",
            node_selector_pins,
            "pod-node1 runs on the node labelled kubetm.io/course-node=k8s-node1",
            timeout=60,
        ),
        Check(
            "too-big-stays-pending",
            too_big_stays_pending,
            "pod-too-big (1000Gi) stays Pending with a FailedScheduling event (Insufficient memory)",
            timeout=60,
        ),
        Check(
            "memory-limit-oomkilled",
            memory_limit_oomkilled,
            "pod-oom's container is OOMKilled past its 64Mi limit and restarted (restartCount >= 1)",
            timeout=120,
        ),
    ),
)

__all__ = ["LAB"]
