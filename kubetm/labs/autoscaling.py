"""Lab `autoscaling` — HorizontalPodAutoscaler (autoscaling/v2, CPU 50 %, 1..4 replicas).

manifests/autoscaling/: Deployment + Service hpa-app (cpu request 100m, limit 200m), HPA hpa-app
(scale-down stabilization 30 s); steps/load.yaml (a curl loop on /cpu). Needs metrics-server.
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="autoscaling",
    title="오토스케일러 — HPA (HorizontalPodAutoscaler)",
    lesson="HPA: replicas follow average CPU utilization (relative to requests) between minReplicas and maxReplicas",
    checks=(
        Check("hpa-reads-metrics", not_implemented(),
              "hpa-app reports a current CPU utilization (metrics-server works) with 1 replica", timeout=150),
        Check("hpa-scales-out", not_implemented(),
              "with steps/load applied, utilization goes above 50% and hpa-app scales out (up to 4)", timeout=240),
        Check("hpa-scales-in", not_implemented(),
              "with steps/load deleted, hpa-app scales back to 1 after the 30 s stabilization window", timeout=240),
    ),
)
