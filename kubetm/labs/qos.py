"""Lab `qos` — Pod QoS Classes (중급편): Guaranteed, Burstable, BestEffort.

manifests/qos/: pod-guaranteed (requests = limits), pod-burstable1 (requests below limits),
pod-burstable2 (requests only in one container, none in the other), pod-besteffort (nothing).

The checks read what the API decided (``status.qosClass``, compared with what the spec implies) and
what the kubelet made of it: each container's ``oom_score_adj`` (read inside the container from
``/proc/1/oom_score_adj`` through the API's exec stream). That number is the eviction order the
lesson teaches when a node runs out of memory: Guaranteed -997 (killed last), BestEffort 1000
(first), Burstable in between, ranked by memory request against the node's memory.

Not reproduced: real eviction under node memory pressure. kind nodes are containers that share the
host's memory, so filling one node would starve the machine (and every other node) first.
"""

from __future__ import annotations

from kubetm.labs.base import Check, Lab, LabContext
from kubetm.labs.observe import exec_ok, quantity_bytes, ready_pod

GUARANTEED, BURSTABLE, BEST_EFFORT = "Guaranteed", "Burstable", "BestEffort"
# pod -> (the class the lesson expects, the container whose oom_score_adj the checks read)
PODS = {
    "pod-guaranteed": (GUARANTEED, "container"),
    "pod-burstable1": (BURSTABLE, "container"),
    "pod-burstable2": (BURSTABLE, "container1"),
    "pod-besteffort": (BEST_EFFORT, "container"),
}
# What the kubelet writes (pkg/kubelet/qos/policy.go).
GUARANTEED_ADJ, BEST_EFFORT_ADJ = -997, 1000

_WHY = {
    GUARANTEED: "every container has cpu and memory requests equal to its limits",
    BEST_EFFORT: "no container has any request or limit",
    BURSTABLE: "some requests or limits, but not requests = limits for cpu and memory everywhere",
}


# ------------------------------------------------------------------------------ pure logic


def _resources(container: dict) -> tuple[dict, dict]:
    res = container.get("resources") or {}
    return dict(res.get("requests") or {}), dict(res.get("limits") or {})


def qos_of(pod: dict) -> str:
    """The QoS class the spec implies (Kubernetes' rule; a limit without a request sets the request)."""
    containers = list((pod.get("spec") or {}).get("containers") or []) + list(
        (pod.get("spec") or {}).get("initContainers") or []
    )
    any_set, guaranteed = False, True
    for c in containers:
        requests, limits = _resources(c)
        requests = {**limits, **requests}  # defaulting: request := limit when only the limit is set
        if any(k in requests or k in limits for k in ("cpu", "memory")):
            any_set = True
        for k in ("cpu", "memory"):
            if k not in limits or k not in requests or _amount(requests[k]) != _amount(limits[k]):
                guaranteed = False
    if not any_set:
        return BEST_EFFORT
    return GUARANTEED if guaranteed else BURSTABLE


def _amount(value) -> float:
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    try:
        return quantity_bytes(text)
    except ValueError:
        return float("nan")


def resources_text(pod: dict) -> str:
    """``container: requests cpu=100m,memory=128Mi limits ...`` for every container, or 'none'."""
    parts = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        requests, limits = _resources(c)
        fmt = lambda d: ",".join(f"{k}={d[k]}" for k in sorted(d)) or "-"  # noqa: E731
        parts.append(f"{c.get('name')}: requests {fmt(requests)} limits {fmt(limits)}")
    return "; ".join(parts)


def expected_adj(memory_request: float, memory_capacity: float) -> int:
    """The kubelet's oom_score_adj for a Burstable container (policy.go): 1000 - 1000*req/capacity,
    clamped to 2..999."""
    adj = 1000 - int(1000 * memory_request // memory_capacity)
    return max(2, min(adj, 999))


# ------------------------------------------------------------------------------------ checks


def _class_check(ctx: LabContext, names: list[str]) -> tuple[bool, str]:
    ok, parts = True, []
    for name in names:
        want = PODS[name][0]
        pod = ready_pod(ctx, name)
        got = (pod.get("status") or {}).get("qosClass")
        implied = qos_of(pod)
        if got != want:
            ok = False
            parts.append(f"{name} is {got} ({resources_text(pod)}), expected {want}: {_WHY[want]}")
        elif implied != got:
            ok = False
            parts.append(f"{name} is {got} but its spec implies {implied} ({resources_text(pod)})")
        else:
            parts.append(f"{name} is {got} ({resources_text(pod)})")
    return ok, "; ".join(parts)


def qos_guaranteed(ctx: LabContext) -> tuple[bool, str]:
    return _class_check(ctx, ["pod-guaranteed"])


def qos_burstable(ctx: LabContext) -> tuple[bool, str]:
    return _class_check(ctx, ["pod-burstable1", "pod-burstable2"])


def qos_besteffort(ctx: LabContext) -> tuple[bool, str]:
    return _class_check(ctx, ["pod-besteffort"])


def _adj(ctx: LabContext, pod: str) -> int:
    container = PODS[pod][1]
    out = exec_ok(ctx, pod, ["cat", "/proc/1/oom_score_adj"], container=container)
    return int(out.strip())


def oom_score_order(ctx: LabContext) -> tuple[bool, str]:
    """oom_score_adj: Guaranteed -997 < Burstable < BestEffort 1000 (the eviction order)."""
    adj = {}
    for name in PODS:
        ready_pod(ctx, name)
        adj[name] = _adj(ctx, name)
    g, be = adj["pod-guaranteed"], adj["pod-besteffort"]
    burst = [adj["pod-burstable1"], adj["pod-burstable2"]]
    ok = be == BEST_EFFORT_ADJ and g <= 0 and all(g < b < be for b in burst)
    seen = ", ".join(
        f"{n} ({PODS[n][0]}) {v}" for n, v in sorted(adj.items(), key=lambda kv: kv[1])
    )
    verdict = (
        "killed last to first: "
        if ok
        else f"expected {GUARANTEED_ADJ} < Burstable < {BEST_EFFORT_ADJ}: "
    )
    note = ""
    if g != GUARANTEED_ADJ and g <= 0:
        # The runtime cannot go below the node's own value when the node container lacks
        # CAP_SYS_RESOURCE (some sandboxes): the kubelet asked for -997, the kernel kept g.
        note = f" (the kubelet asks {GUARANTEED_ADJ} for Guaranteed; this node could only lower it to {g})"
    return ok, f"oom_score_adj {verdict}{seen}{note}"


def burstable_request_ranks(ctx: LabContext) -> tuple[bool, str]:
    """Among Burstable pods the smaller memory request gets the higher oom_score_adj (goes first)."""
    rows = []
    for name in ("pod-burstable1", "pod-burstable2"):
        pod = ready_pod(ctx, name)
        container = PODS[name][1]
        spec = next(c for c in pod["spec"]["containers"] if c["name"] == container)
        request = _resources(spec)[0].get("memory", "0")
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = ctx.kube.get("Node", node_name) or {}
        capacity = ((node.get("status") or {}).get("capacity") or {}).get("memory")
        if not capacity:
            return False, f"node {node_name} reports no memory capacity"
        want = expected_adj(quantity_bytes(request), quantity_bytes(capacity))
        rows.append((name, container, request, node_name, capacity, want, _adj(ctx, name)))
    ok = all(abs(got - want) <= 1 for *_, want, got in rows)
    (n1, _, r1, *_, a1), (n2, _, r2, *_, a2) = rows
    ok = ok and quantity_bytes(r1) < quantity_bytes(r2) and a1 > a2
    detail = "; ".join(
        f"{n}/{c} request {r} on {node} ({cap}): oom_score_adj {got} (kubelet formula {want})"
        for n, c, r, node, cap, want, got in rows
    )
    order = (
        f"{n1} (smaller request) would be killed before {n2}"
        if a1 > a2
        else f"{n1} does not rank above {n2}"
    )
    return ok, f"{detail}; {order}"


LAB = Lab(
    name="qos",
    title="QoS 클래스 — Guaranteed, Burstable, BestEffort",
    lesson="requests and limits decide a pod's QoS class, and the class decides who is killed first when a node runs out of memory "
    "(shown by the oom_score_adj the kubelet sets; real eviction under node memory pressure is not reproduced: kind nodes share the host's memory)",
    part="중급",
    page="k8s/06-intermediate-pod",
    checks=(
        Check(
            "qos-class-guaranteed",
            qos_guaranteed,
            "pod-guaranteed (cpu and memory requests = limits) gets status.qosClass Guaranteed",
        ),
        Check(
            "qos-class-burstable",
            qos_burstable,
            "pod-burstable1 (requests < limits) and pod-burstable2 (requests in one container only) are Burstable",
        ),
        Check(
            "qos-class-besteffort",
            qos_besteffort,
            "pod-besteffort (no requests, no limits) is BestEffort",
        ),
        Check(
            "oom-score-order",
            oom_score_order,
            "the kubelet's oom_score_adj (read in each container): Guaranteed -997 < Burstable < BestEffort 1000, "
            "the order pods are killed under memory pressure (real eviction is not reproduced: kind nodes share the host's memory)",
        ),
        Check(
            "burstable-request-ranks",
            burstable_request_ranks,
            "between Burstable pods the smaller memory request gets the higher oom_score_adj "
            "(1000 - 1000 x request / node memory), so it goes first",
        ),
    ),
)

__all__ = ["LAB", "expected_adj", "qos_of", "resources_text"]
