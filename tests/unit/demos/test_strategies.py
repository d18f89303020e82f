"""The strategy catalogue: each strategy's objects from manifests/demo, its knobs, its update step."""

from __future__ import annotations

import pytest

from kubetm.demos import objects, strategies
from kubetm.demos.options import DemoOptions, validate_options

from .objs import rs

# ------------------------------------------------------------------------- demo objects


def _deployments(objs):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}


@pytest.mark.parametrize(
    "name, port", [("recreate", 30003), ("rolling-update", 30004), ("blue-green", 30005)]
)
def test_manifests_follow_the_design(name, port):
    objs = strategies.build_objects(name, DemoOptions())
    ns = f"kubetm-demo-{name}"
    assert objs[0]["kind"] == "Namespace" and objs[0]["metadata"]["name"] == ns
    for o in objs:
        assert o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubetm"
        assert o["metadata"]["labels"]["kubetm.io/demo"] == name
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == ns
    svc = next(o for o in objs if o["kind"] == "Service")
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["nodePort"] == port
    for dep in _deployments(objs).values():
        pod = dep["spec"]["template"]["spec"]
        c = pod["containers"][0]
        assert c["image"].startswith("localhost:5001/kubetm/app:")
        assert c["readinessProbe"]["httpGet"]["path"] in ("/ready", "/healthz")
        assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
        assert dep["spec"]["minReadySeconds"] == 10
        sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
        assert sleep < pod["terminationGracePeriodSeconds"]
        if name == "recreate":  # the sleep is part of Recreate's measured downtime: the course's 10
            assert (sleep, pod["terminationGracePeriodSeconds"]) == (5, 10)
        else:  # kube-proxy's lag on a busy machine (manifests/demo/rolling-update.yaml)
            assert (sleep, pod["terminationGracePeriodSeconds"]) == (15, 30)


def test_recreate_and_rolling_update_objects():
    rec = _deployments(strategies.build_objects("recreate", DemoOptions()))["app"]
    assert rec["spec"]["strategy"] == {"type": "Recreate"} and rec["spec"]["replicas"] == 2
    opts = validate_options(
        "rolling-update",
        replicas=3,
        from_tag="v2",
        to_tag="v3",
        max_surge="50%",
        min_ready_seconds=4,
    )
    ru = _deployments(
        strategies.build_objects("rolling-update", opts, registry="reg.example:5000")
    )["app"]
    assert ru["spec"]["replicas"] == 3 and ru["spec"]["minReadySeconds"] == 4
    assert ru["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0},
    }
    assert (
        ru["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.example:5000/kubetm/app:v2"
    )
    assert ru["metadata"]["annotations"]["kubernetes.io/change-cause"].endswith("kubetm/app:v2")


def test_blue_green_objects_and_switch():
    deps = _deployments(
        strategies.build_objects("blue-green", validate_options("blue-green", replicas=3))
    )
    blue, green = deps["app-blue"], deps["app-green"]
    assert (blue["spec"]["replicas"], green["spec"]["replicas"]) == (3, 0)
    assert blue["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1")
    assert green["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v2")
    assert blue["spec"]["selector"]["matchLabels"] == {"app": "app", "color": "blue"}
    svc = next(
        o for o in strategies.build_objects("blue-green", DemoOptions()) if o["kind"] == "Service"
    )
    assert svc["spec"]["selector"] == {"app": "app", "color": "blue"}
    switched = objects.with_selector_color(svc, "green")
    assert (
        switched["spec"]["selector"] == {"app": "app", "color": "green"}
        and svc["spec"]["selector"]["color"] == "blue"
    )


def test_old_replicasets_scaled_down():
    pred = strategies.old_replicasets_scaled_down("2")
    assert pred([rs("app-a", 1), rs("app-b", 2, replicas=2)])
    assert not pred([rs("app-a", 1, replicas=1), rs("app-b", 2, replicas=2)])
    assert not pred([rs("app-a", 1, status_replicas=1), rs("app-b", 2, replicas=2)])


# ------------------------------------------------------------------ the Strategy interface


def test_catalogue_one_object_per_strategy():
    assert list(strategies.STRATEGIES) == ["recreate", "rolling-update", "blue-green"]
    for name, s in strategies.STRATEGIES.items():
        assert isinstance(s, strategies.Strategy) and s.name == name
        assert s.namespace == f"kubetm-demo-{name}"
        assert type(s).update is not strategies.Strategy.update  # each has an update step
    assert len({s.node_port for s in strategies.STRATEGIES.values()}) == 3
    assert [s.name for s in strategies.STRATEGIES.values() if s.rolling_knobs] == ["rolling-update"]
    assert strategies.strategy_of("Blue_Green") is strategies.STRATEGIES["blue-green"]
    assert strategies.strategy_of("rolling").name == "rolling-update"


def test_orchestration_never_names_a_strategy():
    """Behaviour is picked by the Strategy object, never by `if name == "blue-green"` in the runner."""
    import ast
    from pathlib import Path

    from kubetm.demos import runner

    tree = ast.parse(Path(runner.__file__).read_text())
    compared = {
        n.value
        for c in ast.walk(tree)
        if isinstance(c, ast.Compare)
        for n in ast.walk(c)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert not compared & set(strategies.STRATEGIES)
    old = ast.parse('if self.s.name == "blue-green": pass')  # what this test catches
    assert any(isinstance(c, ast.Compare) for c in ast.walk(old))


class RecordingKube:
    """Records apply / watch_until; a watch returns what the update step reads from it."""

    def __init__(self):
        self.calls = []

    def apply(self, objs, **kw):
        self.calls += [("apply", o["kind"], o["metadata"]["name"], o) for o in objs]

    def watch_until(self, kind, name, predicate, **kw):
        self.calls.append(("watch", kind, name, kw["namespace"], kw["what"]))
        if kind == "Deployment" and name == "app":
            return {
                "metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}},
                "spec": {"selector": {"matchLabels": {"app": "app"}}},
            }
        return None


class Run:
    def __init__(self, strategy, opts):
        self.kube, self.ns, self.opts = RecordingKube(), strategy.namespace, opts
        self.objects = strategy.objects(opts)


@pytest.mark.parametrize("name", ["recreate", "rolling-update"])
def test_template_update_step(name):
    s = strategies.strategy_of(name)
    run = Run(s, validate_options(name, to_tag="v3"))
    marks = s.update(run)
    steps = [c[:3] if c[0] == "apply" else c[:3] + c[4:] for c in run.kube.calls]
    assert steps == [
        ("apply", "Deployment", "app"),
        ("watch", "Deployment", "app", "deployment app rollout to finish"),
        ("watch", "ReplicaSet", None, "old replicasets scaled to 0"),
    ]
    applied = run.kube.calls[0][3]
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/kubetm/app:v3")
    assert all(c[3] == s.namespace for c in run.kube.calls if c[0] == "watch")
    assert set(marks) == {"complete", "done"} and marks["complete"] <= marks["done"]
    assert s.extras(marks, marks["done"]) == {}


def test_blue_green_update_step():
    s = strategies.strategy_of("blue-green")
    run = Run(s, validate_options("blue-green", replicas=3))
    marks = s.update(run)
    steps = [c[:3] for c in run.kube.calls]
    assert steps == [
        ("apply", "Deployment", "app-green"),
        ("watch", "Deployment", "app-green"),
        ("apply", "Service", "app"),
        ("watch", "EndpointSlice", None),
        ("apply", "Deployment", "app-blue"),
        ("watch", "Deployment", "app-blue"),
    ]
    green, svc, blue = (c[3] for c in run.kube.calls if c[0] == "apply")
    assert green["spec"]["replicas"] == 3 and blue["spec"]["replicas"] == 0
    assert svc["spec"]["selector"]["color"] == "green"
    assert marks["switch"] <= marks["switched"] <= marks["done"]
    assert s.extras(marks, marks["switch"] - 0.25) == {"switch_ms": 250.0}
