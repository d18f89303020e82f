"""Human text of the demos."""

from __future__ import annotations

from kubetm.demos import rendering

from .objs import rs


def test_replicaset_line():
    line = rendering.replicaset_line(
        [
            rs(
                "app-new",
                2,
                replicas=1,
                ready=0,
                image="localhost:5001/kubetm/app:v2",
                created="2026-01-01T00:01:00Z",
            ),
            rs("app-old", 1, replicas=2),
            rs("app-older", 0),
        ]
    )
    assert line == "pods: app-old v1 2/2 ready · app-new v2 0/1 ready"
    assert rendering.replicaset_line([]) == "pods: none"
