"""Deployment strategy demos and rollout history/undo: the pure logic (no cluster).

Option validation, the demo objects built from manifests/demo, the rollout predicates, kubectl's
rollout history / undo semantics (revision choice, the JSON patch), and the CLI refusing bad
values before any API call.
"""

from __future__ import annotations

import copy
import sys

import pytest

from kubetm import cli
from kubetm.demos import rollout, strategies
from kubetm.demos.strategies import DemoOptions, validate_options
from kubetm.errors import KubetmError

# ----------------------------------------------------------------------------- validation


def test_defaults_are_valid():
    opts = validate_options("rolling-update")
    assert opts == DemoOptions(2, "v1", "v2", None, None, None, 20.0, 2.0)


@pytest.mark.parametrize("kw, words", [
    ({"replicas": 0}, "--replicas"),
    ({"replicas": -1}, "--replicas"),
    ({"replicas": 11}, "--replicas"),
    ({"rate": 0}, "--rate"),
    ({"rate": -5}, "--rate"),
    ({"rate": float("nan")}, "--rate"),
    ({"rate": 1000}, "--rate"),
    ({"duration": -1}, "--duration"),
    ({"min_ready_seconds": -1}, "--min-ready-seconds"),
    ({"from_tag": "v2"}, "same tag"),
    ({"to_tag": "v1"}, "same tag"),
    ({"to_tag": "bad:tag"}, "not a valid image tag"),
    ({"to_tag": ".hidden"}, "not a valid image tag"),
    ({"to_tag": "-x"}, "not a valid image tag"),
    ({"to_tag": ""}, "not a valid image tag"),
    ({"from_tag": "a" * 129}, "not a valid image tag"),
    ({"to_tag": "v 2"}, "not a valid image tag"),
    ({"max_surge": "-1"}, "--max-surge"),
    ({"max_surge": "150%"}, "--max-surge"),
    ({"max_unavailable": "abc"}, "--max-unavailable"),
    ({"max_surge": 0}, "cannot both be 0"),
    ({"max_surge": "0%", "max_unavailable": "0"}, "cannot both be 0"),
])
def test_bad_values_are_one_clear_line(kw, words):
    with pytest.raises(KubetmError) as e:
        validate_options("rolling-update", **kw)
    assert words in e.value.message and "\n" not in str(e.value) and e.value.exit_code == 2


def test_good_values():
    opts = validate_options("rolling-update", replicas=3, from_tag="v2", to_tag="v3_rc.1-a", max_surge="50%",
                            max_unavailable=1, min_ready_seconds=0, rate=40, duration=0)
    assert (opts.max_surge, opts.max_unavailable, opts.min_ready_seconds, opts.rate) == ("50%", 1, 0, 40.0)
    assert validate_options("rolling-update", max_surge="0", max_unavailable="1").max_surge == 0
    assert validate_options("rolling-update", to_tag="_" + "a" * 127).to_tag.startswith("_")


@pytest.mark.parametrize("strategy", ["recreate", "blue-green"])
def test_surge_only_for_rolling_update(strategy):
    with pytest.raises(KubetmError, match="only applies to the rolling-update"):
        validate_options(strategy, max_surge=1)


def test_unknown_strategy():
    with pytest.raises(KubetmError, match="unknown demo") as e:
        validate_options("canary")
    assert "rolling-update" in (e.value.hint or "")


def test_plot_validation():
    assert strategies.validate_plot(None) is None
    assert strategies.validate_plot("out/run.svg") == "out/run.svg"
    with pytest.raises(KubetmError, match="unknown format"):
        strategies.validate_plot("run.jpg")


# ------------------------------------------------------------------------- demo objects


def _deployments(objs):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}


@pytest.mark.parametrize("name, port", [("recreate", 30003), ("rolling-update", 30004), ("blue-green", 30005)])
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
        assert pod["terminationGracePeriodSeconds"] == 10 and dep["spec"]["minReadySeconds"] == 10
        sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
        assert sleep < pod["terminationGracePeriodSeconds"]


def test_recreate_and_rolling_update_objects():
    rec = _deployments(strategies.build_objects("recreate", DemoOptions()))["app"]
    assert rec["spec"]["strategy"] == {"type": "Recreate"} and rec["spec"]["replicas"] == 2
    opts = validate_options("rolling-update", replicas=3, from_tag="v2", to_tag="v3", max_surge="50%",
                            min_ready_seconds=4)
    ru = _deployments(strategies.build_objects("rolling-update", opts, registry="reg.example:5000"))["app"]
    assert ru["spec"]["replicas"] == 3 and ru["spec"]["minReadySeconds"] == 4
    assert ru["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}}
    assert ru["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.example:5000/kubetm/app:v2"
    assert ru["metadata"]["annotations"]["kubernetes.io/change-cause"].endswith("kubetm/app:v2")


def test_blue_green_objects_and_switch():
    deps = _deployments(strategies.build_objects("blue-green", validate_options("blue-green", replicas=3)))
    blue, green = deps["app-blue"], deps["app-green"]
    assert (blue["spec"]["replicas"], green["spec"]["replicas"]) == (3, 0)
    assert blue["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v1")
    assert green["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v2")
    assert blue["spec"]["selector"]["matchLabels"] == {"app": "app", "color": "blue"}
    svc = next(o for o in strategies.build_objects("blue-green", DemoOptions()) if o["kind"] == "Service")
    assert svc["spec"]["selector"] == {"app": "app", "color": "blue"}
    switched = strategies.with_selector_color(svc, "green")
    assert switched["spec"]["selector"] == {"app": "app", "color": "green"} and svc["spec"]["selector"]["color"] == "blue"


def test_with_image_keeps_the_rest():
    dep = _deployments(strategies.build_objects("rolling-update", DemoOptions()))["app"]
    new = strategies.with_image(dep, "v2", "rolling-update")
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost:5001/kubetm/app:v2"
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost:5001/kubetm/app:v1"
    a, b = copy.deepcopy(new), copy.deepcopy(dep)
    for o in (a, b):  # only the image and the change-cause differ: server-side apply keeps every field
        o["spec"]["template"]["spec"]["containers"][0].pop("image")
        o["metadata"]["annotations"].pop("kubernetes.io/change-cause")
    assert a == b


@pytest.mark.parametrize("image, tag, expect", [
    ("localhost:5001/kubetm/app:v1", "v2", "localhost:5001/kubetm/app:v2"),
    ("localhost:5001/kubetm/app", "v2", "localhost:5001/kubetm/app:v2"),
    ("app:v1", "v3", "app:v3"),
    ("reg:5000/kubetm/app:v1@sha256:abc", "v2", "reg:5000/kubetm/app:v2"),
])
def test_set_image_tag(image, tag, expect):
    assert strategies.set_image_tag(image, tag) == expect
    assert strategies.image_tag(expect) == tag
    assert strategies.image_tag("localhost:5001/kubetm/app") is None


# --------------------------------------------------------------------------- predicates


def dep(gen=2, observed=2, replicas=2, updated=2, total=2, available=2, conditions=(), name="app", **meta):
    return {"metadata": {"name": name, "generation": gen, "uid": "u-1", **meta},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "app"}}}},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available, "conditions": list(conditions)}}


def test_rollout_state_messages():
    assert rollout.rollout_state(dep(observed=1)) == ("Waiting for deployment spec update to be observed...", False)
    assert "1 out of 2 new replicas have been updated" in rollout.rollout_state(dep(updated=1))[0]
    assert "1 old replicas are pending termination" in rollout.rollout_state(dep(total=3))[0]
    assert "1 of 2 updated replicas are available" in rollout.rollout_state(dep(available=1))[0]
    assert rollout.rollout_state(dep()) == ('deployment "app" successfully rolled out', True)
    with pytest.raises(KubetmError, match="progress deadline"):
        rollout.rollout_state(dep(updated=1, conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]))


def rs(name, revision, replicas=0, uid="u-1", image="localhost:5001/kubetm/app:v1", cause=None, ready=None,
       created="2026-01-01T00:00:00Z", status_replicas=None, extra_ann=None):
    ann = {} if revision is None else {rollout.REVISION: str(revision)}
    if cause:
        ann[rollout.CHANGE_CAUSE] = cause
    ann.update(extra_ann or {})
    return {"metadata": {"name": name, "annotations": ann, "creationTimestamp": created,
                         "ownerReferences": [{"kind": "Deployment", "name": "app", "uid": uid, "controller": True}]},
            "spec": {"replicas": replicas, "template": {
                "metadata": {"labels": {"app": "app", "pod-template-hash": name.split("-")[-1]}},
                "spec": {"containers": [{"name": "container", "image": image}]}}},
            "status": {"replicas": replicas if status_replicas is None else status_replicas,
                       "readyReplicas": replicas if ready is None else ready}}


def test_old_replicasets_scaled_down():
    pred = strategies.old_replicasets_scaled_down("2")
    assert pred([rs("app-a", 1), rs("app-b", 2, replicas=2)])
    assert not pred([rs("app-a", 1, replicas=1), rs("app-b", 2, replicas=2)])
    assert not pred([rs("app-a", 1, status_replicas=1), rs("app-b", 2, replicas=2)])


def test_replicaset_line():
    line = strategies.replicaset_line([
        rs("app-new", 2, replicas=1, ready=0, image="localhost:5001/kubetm/app:v2", created="2026-01-01T00:01:00Z"),
        rs("app-old", 1, replicas=2),
        rs("app-older", 0),
    ])
    assert line == "pods: app-old v1 2/2 ready · app-new v2 0/1 ready"
    assert strategies.replicaset_line([]) == "pods: none"


# ------------------------------------------------------------------- rollout history / undo


def deployment(revision="3", template=None, annotations=None, paused=False):
    ann = {rollout.REVISION: revision, "kubernetes.io/change-cause": "kubetm demo: image kubetm/app:v3",
           "deployment.kubernetes.io/desired-replicas": "2", **(annotations or {})}
    return {"metadata": {"name": "app", "uid": "u-1", "annotations": ann, "generation": 3},
            "spec": {"replicas": 2, "paused": paused, "template": template or {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [{"name": "container", "image": "localhost:5001/kubetm/app:v3"}]}}}}


HISTORY = [
    rs("app-aaa", 1, cause="image v1"),
    rs("app-ccc", 3, replicas=2, image="localhost:5001/kubetm/app:v3", cause="kubetm demo: image kubetm/app:v3"),
    rs("app-bbb", 2, image="localhost:5001/kubetm/app:v2"),
    rs("app-other", 7, uid="u-2"),            # another Deployment's ReplicaSet
    rs("app-bad", "x"),                        # unparsable revision: kubectl skips it
]


def test_history_is_kubectl_like():
    rows = rollout.history_from(deployment(), HISTORY)
    assert [(r["revision"], r["change_cause"]) for r in rows] == [
        (1, "image v1"), (2, None), (3, "kubetm demo: image kubetm/app:v3")]
    assert [r["current"] for r in rows] == [False, False, True]
    assert rows[1]["images"] == ["localhost:5001/kubetm/app:v2"] and rows[2]["replicas"] == 2
    text = rollout.render_history(rows)
    assert text.splitlines()[0].split()[:2] == ["REVISION", "CHANGE-CAUSE"]
    assert "<none>" in text.splitlines()[2] and "3 *" in text.splitlines()[3]
    assert rollout.render_history([]) == "No rollout history found."


def test_history_missing_revision_is_zero():
    assert [r["revision"] for r in rollout.history_from(deployment(), [rs("app-zzz", None)])] == [0]


def test_find_revision_previous_and_explicit():
    assert rollout.find_revision(deployment(), HISTORY)["metadata"]["name"] == "app-bbb"
    assert rollout.find_revision(deployment(), HISTORY, 1)["metadata"]["name"] == "app-aaa"
    with pytest.raises(KubetmError, match="unable to find specified revision 9 in history"):
        rollout.find_revision(deployment(), HISTORY, 9)
    with pytest.raises(KubetmError, match="no rollout history found"):
        rollout.find_revision(deployment(), [HISTORY[1]])


def test_undo_patch_is_kubectls_json_patch():
    target = rs("app-bbb", 2, image="localhost:5001/kubetm/app:v2", cause="image v2",
                extra_ann={"deployment.kubernetes.io/desired-replicas": "5", "team": "blue"})
    ops = rollout.undo_patch(deployment(annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}",
                                                     "note": "dropped"}), target)
    assert [o["op"] for o in ops] == ["replace", "replace"]
    assert [o["path"] for o in ops] == ["/spec/template", "/metadata/annotations"]
    template = ops[0]["value"]
    assert template["metadata"]["labels"] == {"app": "app"}  # pod-template-hash removed
    assert template["spec"]["containers"][0]["image"] == "localhost:5001/kubetm/app:v2"
    assert ops[1]["value"] == {
        rollout.REVISION: "3",                                             # kept from the Deployment
        "deployment.kubernetes.io/desired-replicas": "2",                  # kept from the Deployment
        "kubectl.kubernetes.io/last-applied-configuration": "{}",          # kept from the Deployment
        rollout.CHANGE_CAUSE: "image v2", "team": "blue",                  # copied from the ReplicaSet
    }
    assert target["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "bbb"  # input untouched


def test_templates_equal_ignores_the_hash():
    current = deployment()["spec"]["template"]
    assert rollout.templates_equal(HISTORY[1]["spec"]["template"], current)
    assert not rollout.templates_equal(HISTORY[2]["spec"]["template"], current)


class RolloutKube:
    """Just enough of Kube for rollout.undo/history: get, list, a recorded patch call."""

    namespace = "ns"

    def __init__(self, dep, rss):
        self.dep, self.rss, self.patches = dep, rss, []

        class Apps:
            @staticmethod
            def patch_namespaced_deployment(name, ns, body, **kw):
                self.patches.append((name, ns, body, kw))
        self.apps = Apps()

    def get(self, kind, name, namespace=None):
        return self.dep if kind == "Deployment" and name == self.dep["metadata"]["name"] else None

    def list(self, kind, namespace=None, **kw):
        return self.rss

    def call(self, fn, *args, what="", **kw):
        return fn(*args, **kw)


def test_undo_sends_one_json_patch():
    kube = RolloutKube(deployment(), HISTORY)
    result = rollout.undo(kube, "deployment/app")
    assert result["result"] == "rolled back" and result["to_revision"] == 2 and result["from_revision"] == 3
    (name, ns, body, kw), = kube.patches
    assert (name, ns) == ("app", "ns") and kw["_content_type"] == "application/json-patch+json"
    assert body == rollout.undo_patch(deployment(), HISTORY[2])
    assert "rolled back to revision 2" in rollout.render_undo(result)


def test_undo_skips_when_template_matches():
    kube = RolloutKube(deployment(), HISTORY)
    result = rollout.undo(kube, "app", to_revision=3)
    assert result["result"] == "skipped rollback" and not kube.patches
    assert "skipped rollback" in rollout.render_undo(result)


def test_undo_refuses_paused_missing_and_negative():
    with pytest.raises(KubetmError, match="paused"):
        rollout.undo(RolloutKube(deployment(paused=True), HISTORY), "app")
    with pytest.raises(KubetmError, match="not found"):
        rollout.undo(RolloutKube(deployment(), HISTORY), "web")
    with pytest.raises(KubetmError, match="positive integer"):
        rollout.undo(RolloutKube(deployment(), HISTORY), "app", to_revision=-1)
    with pytest.raises(KubetmError, match="Deployments"):
        rollout.undo(RolloutKube(deployment(), HISTORY), "pod/app")


# ---------------------------------------------------------------------------------- CLI


@pytest.fixture
def no_cluster(monkeypatch, fake_kube):
    monkeypatch.setattr(cli.State, "kube", property(lambda self: fake_kube))
    return fake_kube


def run_main(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [
    ["demo", "rolling-update", "--rate", "0"],
    ["demo", "recreate", "--replicas", "-2"],
    ["demo", "blue-green", "--to", "no:pe"],
    ["demo", "compare", "--duration", "-1"],
    ["demo", "compare", "--max-surge", "0"],
    ["demo", "run", "rolling-update", "--min-ready-seconds", "-1"],
    ["demo", "rolling-update", "--plot", "out.gif"],
    ["demo", "run", "canary"],
])
def test_cli_refuses_bad_values_before_any_api_call(args, capsys, no_cluster):
    code, out, err = run_main(args, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert no_cluster.calls == []


def test_cli_passes_knobs(monkeypatch, capsys, no_cluster):
    seen = {}

    def fake_run_demo(kube, name, opts, *, registry=None, keep=False, note=None):
        seen[name] = (opts, keep, registry)
        return {"strategy": name, "requests": 10, "failures": 0, "downtime_ms": 0.0, "overlap_ms": 50.0,
                "first_new_ms": 1.0, "last_old_ms": 51.0, "rollout_seconds": 3.2, "timeline": []}

    monkeypatch.setattr(strategies, "run_demo", fake_run_demo)
    code, out, _ = run_main(["--registry", "reg:5000", "demo", "rolling-update", "--replicas", "3", "--from", "v2",
                             "--to", "v3", "--max-surge", "25%", "--rate", "40", "--keep", "-o", "json"], capsys)
    assert code == 0 and '"overlap_ms": 50.0' in out
    opts, keep, registry = seen["rolling-update"]
    assert (opts.replicas, opts.from_tag, opts.to_tag, opts.max_surge, opts.rate) == (3, "v2", "v3", "25%", 40.0)
    assert keep and registry == "reg:5000"
    seen.clear()
    code, out, _ = run_main(["demo", "compare", "--max-unavailable", "1", "-o", "json"], capsys)
    import json

    assert code == 0 and [r["strategy"] for r in json.loads(out)["runs"]] == ["recreate", "rolling-update"]
    assert seen["recreate"][0].max_unavailable is None and seen["rolling-update"][0].max_unavailable == 1
    code, out, _ = run_main(["demo", "compare"], capsys)
    assert code == 0 and "recreate" in out and "rolling-update" in out and "lesson" not in out.splitlines()[0]


def test_demo_modules_import_nothing_heavy():
    import subprocess

    p = subprocess.run([sys.executable, "-c", "import kubetm.demos, sys; "
                        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                        "('kubernetes','rich','yaml','matplotlib','tenacity')))"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "[]"
