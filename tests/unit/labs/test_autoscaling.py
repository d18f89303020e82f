"""kubetm/labs/autoscaling.py: the HPA's CPU utilization read from its status (no cluster)."""

from __future__ import annotations

from kubetm.labs import autoscaling


def test_cpu_utilization_from_hpa_status():
    hpa = {
        "status": {
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "current": {"averageUtilization": 180, "averageValue": "180m"},
                    },
                }
            ]
        }
    }
    assert autoscaling.cpu_utilization(hpa) == 180
    assert (
        autoscaling.cpu_utilization(
            {
                "status": {
                    "currentMetrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "current": {}}}
                    ]
                }
            }
        )
        is None
    )
    assert autoscaling.cpu_utilization(None) is None


# ------------------------------------------------------------------ memory (AverageValue)

import pytest  # noqa: E402

from kubetm.errors import Timeout  # noqa: E402
from kubetm.labs import observe  # noqa: E402

from .conftest import DictKube, _ctx  # noqa: E402

MIB = 2**20


def _mem_hpa(avg=None, desired=2, current=2, window=30):
    status = {"currentReplicas": current, "desiredReplicas": desired}
    if avg is not None:
        status["currentMetrics"] = [
            {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": avg}}}
        ]
    return {
        "metadata": {"name": "hpa-resource-memory"},
        "spec": {
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "48Mi"},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": window}},
        },
        "status": status,
    }


def test_memory_average_from_hpa_status():
    assert autoscaling.memory_average(_mem_hpa("41943040")) == 40 * MIB
    assert autoscaling.memory_average(_mem_hpa("150Mi")) == 150 * MIB
    assert autoscaling.memory_average(_mem_hpa("15634Ki")) == 15634 * 1024  # as the HPA writes it
    assert autoscaling.memory_average(_mem_hpa()) is None
    assert autoscaling.memory_average(None) is None


class MemKube(DictKube):
    """The memory HPA answers ``rest`` first, then (once pods hold memory) ``loaded``."""

    def __init__(self, rest, loaded, pods=2):
        pod_objs = {
            ("Pod", f"stateless-memory1-{i}"): {
                "metadata": {"name": f"stateless-memory1-{i}"},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
            for i in range(pods)
        }
        dep = {"metadata": {"name": "stateless-memory1"}, "spec": {"replicas": 2}, "status": {}}
        super().__init__({**pod_objs, ("Deployment", "stateless-memory1"): dep})
        self.rest, self.loaded, self.held = rest, loaded, []

    def watch_until(self, kind, name=None, predicate=None, **_):
        if kind == "Deployment":
            return self.objects[("Deployment", name)]
        assert kind == "HorizontalPodAutoscaler"
        hpa = self.loaded if self.held else self.rest
        if not predicate(hpa):
            raise Timeout("hpa: timed out")
        return hpa

    def get(self, kind, name, namespace=None, api_version=None):
        if kind == "HorizontalPodAutoscaler":
            return self.loaded if self.held else self.rest
        return super().get(kind, name)

    def events(self, namespace=None, involved_name=None):
        return [
            {
                "reason": "SuccessfulRescale",
                "message": "New size: 4; reason: memory resource above target",
            }
        ]


@pytest.fixture
def deployment_available(monkeypatch):
    from kubetm.k8s import conditions

    monkeypatch.setattr(conditions, "deployment_available", lambda d: True)


def test_memory_hpa_scales_out_after_the_pods_hold_memory(monkeypatch, deployment_available):
    kube = MemKube(_mem_hpa("40Mi"), _mem_hpa("140Mi", desired=4))

    def fetch(ctx, pod, url, **_):
        kube.held.append((pod, url))
        return 200, "allocated 100 MB, holding 100 MB\n"

    monkeypatch.setattr(observe, "fetch_in_pod", fetch)
    ctx = _ctx(kube, "autoscaling")
    ok, detail = autoscaling.memory_hpa_scales_out(ctx)
    assert ok and ctx.state["autoscaling.memory_out"] == 4
    assert ctx.state["autoscaling.memory_held"] == ["stateless-memory1-0", "stateless-memory1-1"]
    assert [u for _, u in kube.held] == ["http://127.0.0.1:8080/memory?mb=100"] * 2
    assert (
        "at rest: 40Mi per pod with 2 pods" in detail and "average 140Mi, scaled 2 -> 4" in detail
    )


def test_memory_hpa_that_never_scales_out_times_out(monkeypatch, deployment_available):
    kube = MemKube(_mem_hpa("40Mi"), _mem_hpa("50Mi", desired=2))
    monkeypatch.setattr(
        observe, "fetch_in_pod", lambda ctx, pod, url, **_: kube.held.append(pod) or (200, "ok")
    )
    with pytest.raises(Timeout):
        autoscaling.memory_hpa_scales_out(_ctx(kube, "autoscaling"))


def test_memory_hpa_stays_out_while_the_memory_is_held():
    kube = MemKube(_mem_hpa("90Mi", desired=4, current=4), None)
    kube.objects[("Deployment", "stateless-memory1")]["spec"]["replicas"] = 4
    ok, detail = autoscaling.memory_hpa_stays_out(
        _ctx(
            kube,
            "autoscaling",
            **{"autoscaling.memory_out": 4, "autoscaling.memory_held": ["m-a", "m-b"]},
        )
    )
    assert ok and "m-a, m-b still hold 100 MB each" in detail
    assert "stays at 4 replicas" in detail and "average 90Mi (target 48Mi)" in detail


def test_memory_hpa_that_scales_in_fails():
    kube = MemKube(_mem_hpa("30Mi", desired=2, current=4), None)
    ok, detail = autoscaling.memory_hpa_stays_out(
        _ctx(kube, "autoscaling", **{"autoscaling.memory_out": 4})
    )
    assert not ok and "scaled in to 2" in detail


def test_memory_hpa_stays_out_needs_the_scale_out():
    ok, detail = autoscaling.memory_hpa_stays_out(
        _ctx(MemKube(_mem_hpa("40Mi"), None), "autoscaling")
    )
    assert not ok and "skipped" in detail
