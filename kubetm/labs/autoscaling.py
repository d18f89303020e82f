"""Lab `autoscaling` — HorizontalPodAutoscaler (autoscaling/v2): CPU 50 %, 1..4 replicas; and the
course's memory HPA (Resource memory, target AverageValue), 2..4 replicas.

manifests/autoscaling/: Deployment + Service hpa-app (cpu request 100m, limit 200m), HPA hpa-app
(scale-down stabilization 30 s); steps/load.yaml (a pod in the cluster looping GET /cpu?ms=100 on
hpa-app); Deployment stateless-memory1 (memory request 32Mi, limit 160Mi) and HPA
hpa-resource-memory (averageValue 48Mi, scale-down stabilization 30 s): the checks ask each of its
pods to hold 100 MB (GET /memory?mb=100). Needs metrics-server (installed by `kubetm cluster up`).

The checks read what the HPA controller reports (status.currentMetrics, currentReplicas,
desiredReplicas, SuccessfulRescale events) and what the Deployment then does.
"""

from __future__ import annotations

import time

from kubetm.errors import KubetmError, Timeout
from kubetm.labs.base import Check, Lab, LabContext

HPA = "hpa-app"
DEPLOYMENT = "hpa-app"
LOAD_STEP = "load"


def cpu_utilization(hpa: dict | None) -> int | None:
    """The HPA's current average CPU utilization in % of the request, or None while unknown."""
    for m in ((hpa or {}).get("status") or {}).get("currentMetrics") or []:
        res = m.get("resource") or {}
        if m.get("type") == "Resource" and res.get("name") == "cpu":
            value = (res.get("current") or {}).get("averageUtilization")
            if value is not None:
                return int(value)
    return None


def _target(hpa: dict) -> str:
    for m in (hpa.get("spec") or {}).get("metrics") or []:
        value = ((m.get("resource") or {}).get("target") or {}).get("averageUtilization")
        if value is not None:
            return f"{value}%"
    return "?"


def _replicas(hpa: dict | None) -> int:
    return int(((hpa or {}).get("status") or {}).get("currentReplicas") or 0)


def _desired(hpa: dict | None) -> int:
    return int(((hpa or {}).get("status") or {}).get("desiredReplicas") or 0)


def _rescales(ctx: LabContext) -> list[str]:
    """SuccessfulRescale event messages about the HPA ("New size: 4; reason: cpu ... above target")."""
    out = []
    for e in ctx.kube.events(namespace=ctx.namespace, involved_name=HPA):
        if e.get("reason") == "SuccessfulRescale":
            out.append(" ".join(str(e.get("message") or "").split()))
    return out


def _why_no_metrics(hpa: dict | None) -> str:
    """The HPA's own explanation (condition ScalingActive=False: FailedGetResourceMetric ...)."""
    for c in ((hpa or {}).get("status") or {}).get("conditions") or []:
        if c.get("status") != "True":
            return f"hpa says {c.get('type')}={c.get('status')} {c.get('reason')}: {' '.join(str(c.get('message')).split())[:160]}"
    return "the HPA reports no condition yet (is metrics-server installed? `kubectl top pods` should work)"


def hpa_reads_metrics(ctx: LabContext) -> tuple[bool, str]:
    from kubetm.k8s import conditions

    kube, ns = ctx.kube, ctx.namespace
    kube.watch_until(
        "Deployment",
        DEPLOYMENT,
        conditions.deployment_available,
        namespace=ns,
        timeout=ctx.timeout / 3,
        what=f"deployment {DEPLOYMENT} Available",
    )
    t0 = time.monotonic()
    try:
        hpa = kube.watch_until(
            "HorizontalPodAutoscaler",
            HPA,
            lambda h: cpu_utilization(h) is not None,
            namespace=ns,
            timeout=ctx.timeout * 2 / 3,
            what=f"hpa {HPA} to report CPU utilization (is metrics-server running?)",
        )
    except KubetmError as e:
        ctx.state["autoscaling.metrics"] = False
        return (
            False,
            f"{e.message}; {_why_no_metrics(kube.get('HorizontalPodAutoscaler', HPA, namespace=ns))}",
        )
    spec = hpa["spec"]
    ctx.state["autoscaling.metrics"] = True
    return True, (
        f"{HPA} reads CPU {cpu_utilization(hpa)}% of the request (target {_target(hpa)}) with "
        f"{_replicas(hpa)} replica(s), min {spec.get('minReplicas', 1)} max {spec.get('maxReplicas')}; "
        f"first metric after {time.monotonic() - t0:.0f}s"
    )


NO_METRICS = "skipped: the HPA reads no CPU metric (see hpa-reads-metrics), so it cannot scale"


def hpa_scales_out(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    if ctx.state.get("autoscaling.metrics") is False:
        return False, NO_METRICS
    start_hpa = kube.get("HorizontalPodAutoscaler", HPA, namespace=ns) or {}
    start = _replicas(start_hpa)
    seen: dict[str, int] = {"max_cpu": 0}

    def scaled_out(h: dict | None) -> bool:
        cpu = cpu_utilization(h)
        if cpu is not None:
            seen["max_cpu"] = max(seen["max_cpu"], cpu)
        return _desired(h) > max(start, 1)

    t0 = time.monotonic()
    ctx.apply_step(LOAD_STEP)
    hpa = kube.watch_until(
        "HorizontalPodAutoscaler",
        HPA,
        scaled_out,
        namespace=ns,
        timeout=ctx.timeout * 3 / 4,
        what=f"hpa {HPA} to scale out under load",
    )
    decided = time.monotonic() - t0
    want = _desired(hpa)

    def ready(d: dict | None) -> bool:
        s = (d or {}).get("status") or {}
        return (d or {}).get("spec", {}).get("replicas", 0) >= want and s.get(
            "readyReplicas", 0
        ) >= want

    kube.watch_until(
        "Deployment",
        DEPLOYMENT,
        ready,
        namespace=ns,
        timeout=ctx.timeout / 4,
        what=f"{want} Ready pods of {DEPLOYMENT}",
    )
    events = _rescales(ctx)
    return True, (
        f"under load CPU reached {seen['max_cpu']}% (target {_target(hpa)}): {HPA} scaled {start} -> {want} "
        f"replicas after {decided:.0f}s, all Ready after {time.monotonic() - t0:.0f}s"
        + (f"; event: {events[-1]}" if events else "")
    )


def hpa_scales_in(ctx: LabContext) -> tuple[bool, str]:
    kube, ns = ctx.kube, ctx.namespace
    if ctx.state.get("autoscaling.metrics") is False:
        return False, NO_METRICS
    dep0 = kube.get("Deployment", DEPLOYMENT, namespace=ns) or {}
    before = max(
        _replicas(kube.get("HorizontalPodAutoscaler", HPA, namespace=ns)),
        int((dep0.get("spec") or {}).get("replicas") or 0),
    )
    t0 = time.monotonic()
    ctx.delete_step(LOAD_STEP)
    stopped = time.monotonic() - t0
    hpa = kube.watch_until(
        "HorizontalPodAutoscaler",
        HPA,
        lambda h: _desired(h) == 1,
        namespace=ns,
        timeout=max(30.0, ctx.timeout - stopped),
        what=f"hpa {HPA} to decide 1 replica",
    )
    decided = time.monotonic() - t0
    dep = kube.watch_until(
        "Deployment",
        DEPLOYMENT,
        lambda d: (
            bool(d)
            and d["spec"].get("replicas") == 1
            and (d.get("status") or {}).get("replicas", 0) <= 1
        ),
        namespace=ns,
        timeout=60,
        what=f"deployment {DEPLOYMENT} at 1 pod",
    )
    events = _rescales(ctx)
    window = ((hpa["spec"].get("behavior") or {}).get("scaleDown") or {}).get(
        "stabilizationWindowSeconds"
    )
    ok = (dep.get("spec") or {}).get("replicas") == 1
    return ok, (
        f"load stopped: CPU {cpu_utilization(hpa)}%, {HPA} scaled {before} -> 1 after {decided:.0f}s "
        f"(scale-down stabilization {window}s), deployment at 1 pod after {time.monotonic() - t0:.0f}s"
        + (f"; event: {events[-1]}" if events else "")
    )


# ------------------------------------------------------------------ memory (AverageValue)

MEM_HPA = "hpa-resource-memory"
MEM_DEPLOYMENT = "stateless-memory1"
MEM_SELECTOR = {"resource": "memory"}
HOLD_MB = 100
MIB = 2**20


def memory_average(hpa: dict | None) -> float | None:
    """The HPA's current average memory per pod in bytes, or None while unknown."""
    from kubetm.labs.observe import quantity_bytes

    for m in ((hpa or {}).get("status") or {}).get("currentMetrics") or []:
        res = m.get("resource") or {}
        if m.get("type") == "Resource" and res.get("name") == "memory":
            value = (res.get("current") or {}).get("averageValue")
            if value is not None:
                return quantity_bytes(value)
    return None


def _memory_target(hpa: dict) -> float | None:
    from kubetm.labs.observe import quantity_bytes

    for m in (hpa.get("spec") or {}).get("metrics") or []:
        value = ((m.get("resource") or {}).get("target") or {}).get("averageValue")
        if value is not None:
            return quantity_bytes(value)
    return None


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value / MIB:.0f}Mi"


def memory_hpa_scales_out(ctx: LabContext) -> tuple[bool, str]:
    """stateless-memory1 at rest (2 pods, memory under the 48Mi target); each pod is asked to hold
    100 MB; hpa-resource-memory scales out."""
    from kubetm.k8s import conditions
    from kubetm.labs.observe import fetch_in_pod, live, name_of

    kube, ns = ctx.kube, ctx.namespace
    t0 = time.monotonic()
    kube.watch_until(
        "Deployment",
        MEM_DEPLOYMENT,
        conditions.deployment_available,
        namespace=ns,
        timeout=ctx.timeout / 4,
        what=f"deployment {MEM_DEPLOYMENT} Available",
    )
    try:
        rest = kube.watch_until(
            "HorizontalPodAutoscaler",
            MEM_HPA,
            lambda h: memory_average(h) is not None,
            namespace=ns,
            timeout=ctx.timeout / 3,
            what=f"hpa {MEM_HPA} to report memory (is metrics-server running?)",
        )
    except KubetmError as e:
        why = _why_no_metrics(kube.get("HorizontalPodAutoscaler", MEM_HPA, namespace=ns))
        return False, f"{e.message}; {why}"
    target = _memory_target(rest)
    at_rest, start = memory_average(rest), max(_replicas(rest), 1)
    pods = [
        p
        for p in live(kube.list("Pod", namespace=ns, selector=MEM_SELECTOR))
        if conditions.pod_ready(p)
    ]
    held = []
    for p in pods:
        ctx.check_cancelled()
        status, body = fetch_in_pod(
            ctx, name_of(p), f"http://127.0.0.1:8080/memory?mb={HOLD_MB}", timeout=20
        )
        if status != 200:
            return False, f"GET /memory?mb={HOLD_MB} in {name_of(p)} answered {status} {body!r}"
        held.append(name_of(p))
    t_load = time.monotonic()
    seen = {"max": at_rest or 0.0}

    def scaled_out(h: dict | None) -> bool:
        avg = memory_average(h)
        if avg is not None:
            seen["max"] = max(seen["max"], avg)
        return _desired(h) > start

    hpa = kube.watch_until(
        "HorizontalPodAutoscaler",
        MEM_HPA,
        scaled_out,
        namespace=ns,
        timeout=max(30.0, ctx.timeout - (t_load - t0) - 20),
        what=f"hpa {MEM_HPA} to scale out",
    )
    decided = time.monotonic() - t_load
    ctx.state["autoscaling.memory_out"] = _desired(hpa)
    ctx.state["autoscaling.memory_held"] = held
    events = _rescales_of(ctx, MEM_HPA)
    return True, (
        f"{MEM_HPA} (memory, target averageValue {_mib(target)}) at rest: {_mib(at_rest)} per pod "
        f"with {start} pods; {', '.join(held)} each asked to hold {HOLD_MB} MB: average "
        f"{_mib(seen['max'])}, scaled {start} -> {_desired(hpa)} after {decided:.0f}s"
        + (f"; event: {events[-1]}" if events else "")
    )


def _rescales_of(ctx: LabContext, hpa: str) -> list[str]:
    return [
        " ".join(str(e.get("message") or "").split())
        for e in ctx.kube.events(namespace=ctx.namespace, involved_name=hpa)
        if e.get("reason") == "SuccessfulRescale"
    ]


MEM_SYNCS = 2  # HPA sync periods (15 s each) watched past the scale-down stabilization window
HPA_SYNC_SECONDS = 15


def memory_hpa_stays_out(ctx: LabContext) -> tuple[bool, str]:
    """No more load, the memory stays held: for the scale-down window plus two HPA syncs,
    hpa-resource-memory never decides fewer replicas."""
    kube, ns = ctx.kube, ctx.namespace
    out = ctx.state.get("autoscaling.memory_out")
    if not out:
        return False, "skipped: hpa-resource-memory did not scale out (see memory-hpa-scales-out)"
    hpa = kube.get("HorizontalPodAutoscaler", MEM_HPA, namespace=ns) or {}
    window = ((hpa.get("spec", {}).get("behavior") or {}).get("scaleDown") or {}).get(
        "stabilizationWindowSeconds", 300
    )
    watch_for = float(window) + MEM_SYNCS * HPA_SYNC_SECONDS
    target = _memory_target(hpa)
    held = ctx.state.get("autoscaling.memory_held") or []
    seen: dict = {"min_desired": _desired(hpa) or out, "avgs": [], "last": None}

    def scaled_in(h: dict | None) -> bool:
        avg = memory_average(h)
        stamp = ((h or {}).get("status") or {}).get("lastScaleTime")
        if avg is not None and (not seen["avgs"] or seen["avgs"][-1] != avg):
            seen["avgs"].append(avg)
        seen["last"] = stamp
        seen["min_desired"] = min(seen["min_desired"], _desired(h) or seen["min_desired"])
        return bool(h) and _desired(h) < out

    t0 = time.monotonic()
    try:
        h = kube.watch_until(
            "HorizontalPodAutoscaler",
            MEM_HPA,
            scaled_in,
            namespace=ns,
            timeout=watch_for,
            what=f"hpa {MEM_HPA} to scale in",
        )
    except Timeout:
        h = kube.get("HorizontalPodAutoscaler", MEM_HPA, namespace=ns) or {}
        avg = memory_average(h)
        dep = kube.get("Deployment", MEM_DEPLOYMENT, namespace=ns) or {}
        replicas = (dep.get("spec") or {}).get("replicas")
        ok = _desired(h) >= out and replicas == _desired(h)
        return ok, (
            f"no load for {time.monotonic() - t0:.0f}s (the {window}s scale-down window + "
            f"{MEM_SYNCS} syncs) but {', '.join(held) or 'the first pods'} still hold "
            f"{HOLD_MB} MB each: average "
            f"{_mib(avg)} (target {_mib(target)}), {MEM_HPA} stays at {_desired(h)} replicas "
            f"(deployment {replicas}): memory that stays up never scales back in"
        )
    return False, (
        f"{MEM_HPA} scaled in to {_desired(h)} after {time.monotonic() - t0:.0f}s with average "
        f"{_mib(memory_average(h))} (target {_mib(target)}): the held memory went down?"
    )


LAB = Lab(
    name="autoscaling",
    part="중급",
    page="k8s/08-intermediate-controller/hpa",
    title="오토스케일러 — HPA (HorizontalPodAutoscaler)",
    lesson=(
        "HPA: replicas follow average CPU utilization (relative to requests) between minReplicas and "
        "maxReplicas, out under load and back in; a memory HPA (target AverageValue) scales out "
        "and, as memory the app holds does not go down, never back in (course values raised to "
        "what the app needs: requests 32Mi / limits 160Mi, target 48Mi, max 4)"
    ),
    checks=(
        Check(
            "hpa-reads-metrics",
            hpa_reads_metrics,
            "hpa-app reports a current CPU utilization (metrics-server works) with 1 replica",
            timeout=150,
        ),
        Check(
            "hpa-scales-out",
            hpa_scales_out,
            "with steps/load applied, utilization goes above 50% and hpa-app scales out (up to 4)",
            timeout=240,
        ),
        Check(
            "hpa-scales-in",
            hpa_scales_in,
            "with steps/load deleted, hpa-app scales back to 1 after the 30 s stabilization window",
            timeout=240,
        ),
        Check(
            "memory-hpa-scales-out",
            memory_hpa_scales_out,
            "hpa-resource-memory (memory, AverageValue 48Mi) reads stateless-memory1's pods at rest; "
            "each asked to hold 100 MB, it scales out (up to 4)",
            timeout=180,
            track="memory",
        ),
        Check(
            "memory-hpa-stays-out",
            memory_hpa_stays_out,
            "the memory stays held without load: for the 30 s scale-down window plus two HPA syncs "
            "hpa-resource-memory never decides fewer replicas",
            timeout=90,
            track="memory",
        ),
    ),
)
