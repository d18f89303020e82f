"""kubectl's rollout status / history / undo semantics (revision choice, the JSON patch), no cluster."""

from __future__ import annotations

import pytest

from kubetm.demos import rollout
from kubetm.errors import KubetmError

from .objs import dep, rs


def test_rollout_state_messages():
    assert rollout.rollout_state(dep(observed=1)) == (
        "Waiting for deployment spec update to be observed...",
        False,
    )
    assert "1 out of 2 new replicas have been updated" in rollout.rollout_state(dep(updated=1))[0]
    assert "1 old replicas are pending termination" in rollout.rollout_state(dep(total=3))[0]
    assert "1 of 2 updated replicas are available" in rollout.rollout_state(dep(available=1))[0]
    assert rollout.rollout_state(dep()) == ('deployment "app" successfully rolled out', True)
    with pytest.raises(KubetmError, match="progress deadline"):
        rollout.rollout_state(
            dep(
                updated=1,
                conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}],
            )
        )


# ------------------------------------------------------------------- rollout history / undo


def deployment(revision="3", template=None, annotations=None, paused=False):
    ann = {
        rollout.REVISION: revision,
        "kubernetes.io/change-cause": "kubetm demo: image kubetm/app:v3",
        "deployment.kubernetes.io/desired-replicas": "2",
        **(annotations or {}),
    }
    return {
        "metadata": {"name": "app", "uid": "u-1", "annotations": ann, "generation": 3},
        "spec": {
            "replicas": 2,
            "paused": paused,
            "template": template
            or {
                "metadata": {"labels": {"app": "app"}},
                "spec": {
                    "containers": [{"name": "container", "image": "localhost:5001/kubetm/app:v3"}]
                },
            },
        },
    }


HISTORY = [
    rs("app-aaa", 1, cause="image v1"),
    rs(
        "app-ccc",
        3,
        replicas=2,
        image="localhost:5001/kubetm/app:v3",
        cause="kubetm demo: image kubetm/app:v3",
    ),
    rs("app-bbb", 2, image="localhost:5001/kubetm/app:v2"),
    rs("app-other", 7, uid="u-2"),  # another Deployment's ReplicaSet
    rs("app-bad", "x"),  # unparsable revision: kubectl skips it
]


def test_history_is_kubectl_like():
    rows = rollout.history_from(deployment(), HISTORY)
    assert [(r["revision"], r["change_cause"]) for r in rows] == [
        (1, "image v1"),
        (2, None),
        (3, "kubetm demo: image kubetm/app:v3"),
    ]
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
    target = rs(
        "app-bbb",
        2,
        image="localhost:5001/kubetm/app:v2",
        cause="image v2",
        extra_ann={"deployment.kubernetes.io/desired-replicas": "5", "team": "blue"},
    )
    ops = rollout.undo_patch(
        deployment(
            annotations={
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "note": "dropped",
            }
        ),
        target,
    )
    assert [o["op"] for o in ops] == ["replace", "replace"]
    assert [o["path"] for o in ops] == ["/spec/template", "/metadata/annotations"]
    template = ops[0]["value"]
    assert template["metadata"]["labels"] == {"app": "app"}  # pod-template-hash removed
    assert template["spec"]["containers"][0]["image"] == "localhost:5001/kubetm/app:v2"
    assert ops[1]["value"] == {
        rollout.REVISION: "3",  # kept from the Deployment
        "deployment.kubernetes.io/desired-replicas": "2",  # kept from the Deployment
        "kubectl.kubernetes.io/last-applied-configuration": "{}",  # kept from the Deployment
        rollout.CHANGE_CAUSE: "image v2",
        "team": "blue",  # copied from the ReplicaSet
    }
    assert (
        target["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "bbb"
    )  # input untouched


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
    assert (
        result["result"] == "rolled back"
        and result["to_revision"] == 2
        and result["from_revision"] == 3
    )
    ((name, ns, body, kw),) = kube.patches
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
