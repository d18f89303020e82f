"""The demo runner under faults: a new pod on a NotReady node fails at once, with one line."""

from __future__ import annotations

import pytest

from kubetm.demos.options import validate_options
from kubetm.demos.runner import DemoRun
from kubetm.demos.strategies import strategy_of
from kubetm.errors import KubetmError


def _pod(name, tag, node, ready=False):
    return {
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"image": f"localhost:5001/kubetm/app:{tag}"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


class NodesKube:
    def __init__(self, dead):
        self.dead = dead
        self.node_lists = 0

    def list(self, kind, **_):
        self.node_lists += 1
        return [
            {
                "metadata": {"name": n},
                "status": {
                    "conditions": [
                        {"type": "Ready", "status": "Unknown" if n in self.dead else "True"}
                    ]
                },
            }
            for n in ("cp", "w1", "w2")
        ]


def _run(kube):
    return DemoRun(
        kube, strategy_of("rolling-update"), validate_options("rolling-update"), None, print
    )


def test_new_pod_on_a_notready_node_is_one_clear_error():
    run = _run(NodesKube(dead={"w2"}))
    with pytest.raises(KubetmError, match=r"pod app-new \(v2\) is on node w2, which is NotReady"):
        run._check_nodes([_pod("app-old", "v1", "w2"), _pod("app-new", "v2", "w2")])


def test_old_pods_on_a_dead_node_and_new_pods_elsewhere_go_on():
    kube = NodesKube(dead={"w2"})
    run = _run(kube)
    run._check_nodes([_pod("app-old", "v1", "w2"), _pod("app-new", "v2", "w1")])
    run._check_nodes([_pod("app-new", "v2", "w2", ready=True)])


def test_nodes_are_listed_only_while_a_new_pod_is_not_ready():
    kube = NodesKube(dead=set())
    run = _run(kube)
    run._check_nodes([_pod("app-new", "v2", "w1", ready=True), _pod("app-old", "v1", "w2")])
    assert kube.node_lists == 0
