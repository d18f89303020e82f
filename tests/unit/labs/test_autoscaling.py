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
