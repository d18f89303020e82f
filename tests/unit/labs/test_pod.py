"""kubetm/labs/pod.py: the port-conflict check's reading of container statuses (no cluster)."""

from __future__ import annotations

import pytest

from kubetm.errors import KubetmError
from kubetm.labs import pod


def _cs(name, state=None, last=None):
    return {"name": name, "state": state or {"running": {}}, "lastState": last or {}}


@pytest.mark.parametrize("which", ["container1", "container2"])
def test_port_conflict_either_container_may_fail(which):
    bad = {"waiting": {"reason": "CrashLoopBackOff"}}
    statuses = [_cs("container1"), _cs("container2")]
    idx = 0 if which == "container1" else 1
    statuses[idx] = _cs(which, bad, {"terminated": {"exitCode": 1, "reason": "Error"}})
    found = pod._failed_container({"status": {"containerStatuses": statuses}})
    assert found["name"] == which
    assert (
        pod._failed_container(
            {"status": {"containerStatuses": [_cs("container1"), _cs("container2")]}}
        )
        is None
    )


def test_port_conflict_image_problem_stops_the_wait():
    p = {
        "status": {
            "containerStatuses": [_cs("container1", {"waiting": {"reason": "ImagePullBackOff"}})]
        }
    }
    with pytest.raises(KubetmError, match="ImagePullBackOff"):
        pod._failed_container(p)
