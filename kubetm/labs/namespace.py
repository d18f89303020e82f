"""Lab `namespace` — Namespace, ResourceQuota, LimitRange.

manifests/namespace/: kubetm-lab-namespace (pod-1 app, svc-1), kubetm-lab-namespace-2 (pod-1 client),
kubetm-lab-namespace-3 (lr-1, rq-1, pod-default); steps/pod-over-{quota,max,ratio}.yaml.
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="namespace",
    title="네임스페이스, 리소스쿼터, 리밋레인지 — Namespace, ResourceQuota, LimitRange",
    lesson="Namespace, ResourceQuota, LimitRange: names and selection are per namespace, the network is not; quotas and limits bound resources",
    namespaces=("kubetm-lab-namespace", "kubetm-lab-namespace-2", "kubetm-lab-namespace-3"),
    checks=(
        Check("same-name-two-namespaces", not_implemented(),
              "pod-1 exists in kubetm-lab-namespace and kubetm-lab-namespace-2 (two different pods)", timeout=90),
        Check("service-selects-own-namespace", not_implemented(),
              "svc-1's endpoints hold only the pod-1 of its own namespace, though both carry app=pod", timeout=60),
        Check("cross-namespace-dns", not_implemented(),
              "from kubetm-lab-namespace-2/pod-1, svc-1.kubetm-lab-namespace.svc.cluster.local:9000 answers", timeout=90),
        Check("limitrange-defaults", not_implemented(),
              "pod-default got lr-1's default request 100Mi / limit 200Mi and counts in rq-1's used", timeout=60),
        Check("quota-refuses-excess", not_implemented(),
              "steps/pod-over-quota is refused: exceeded quota rq-1 (requests.memory)", timeout=30),
        Check("limitrange-refuses-max", not_implemented(),
              "steps/pod-over-max is refused: limit 600Mi above lr-1's max 512Mi", timeout=30),
        Check("limitrange-refuses-ratio", not_implemented(),
              "steps/pod-over-ratio is refused: limit/request 6 above maxLimitRequestRatio 3", timeout=30),
    ),
)
