"""Lab `probes` — ReadinessProbe, LivenessProbe.

manifests/probes/: Deployment readiness (2 app pods, readinessProbe /ready) + svc-readiness,
pod-liveness (livenessProbe /health) + svc-liveness.
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="probes",
    title="레디니스, 라이브니스 프로브 — ReadinessProbe, LivenessProbe",
    lesson="ReadinessProbe removes a pod from service traffic while it is not ready; LivenessProbe restarts a broken container",
    checks=(
        Check("readiness-gates-endpoints", not_implemented(),
              "both readiness pods are Ready and listed in svc-readiness's endpoints", timeout=90),
        Check("readiness-off-removes-endpoint", not_implemented(),
              "GET /ready/off on one pod: it turns NotReady and leaves the endpoints, without a restart", timeout=60),
        Check("readiness-on-restores-endpoint", not_implemented(),
              "GET /ready/on: the pod is Ready and back in the endpoints", timeout=60),
        Check("liveness-restarts-container", not_implemented(),
              "GET /status500 on pod-liveness: the kubelet restarts it (restartCount +1) and /health answers 200 again", timeout=90),
    ),
)
