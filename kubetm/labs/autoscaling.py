"""Lab `autoscaling` — HorizontalPodAutoscaler (autoscaling/v2, CPU 50 %, 1..4 replicas).

manifests/autoscaling/: Deployment + Service hpa-app (cpu request 100m, limit 200m), HPA hpa-app
(scale-down stabilization 30 s); steps/load.yaml (a pod in the cluster looping GET /cpu?ms=100 on
hpa-app). Needs metrics-server (installed by `kubetm cluster up`).

The checks read what the HPA controller reports (status.currentMetrics, currentReplicas,
desiredReplicas, SuccessfulRescale events) and what the Deployment then does.
"""

from __future__ import annotations

import time

from kubetm.errors import KubetmError
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
    before = _replicas(kube.get("HorizontalPodAutoscaler", HPA, namespace=ns))
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


LAB = Lab(
    name="autoscaling",
    part="중급",
    page="k8s/08-intermediate-controller/hpa",
    title="오토스케일러 — HPA (HorizontalPodAutoscaler)",
    lesson="HPA: replicas follow average CPU utilization (relative to requests) between minReplicas and maxReplicas",
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
    ),
)
