"""kubetm/labs/namespace.py: the lab's namespaces and how a refused step is reported (no cluster)."""

from __future__ import annotations

import pytest

from kubetm.errors import Forbidden, Unreachable
from kubetm.labs import catalog, namespace


def test_namespace_lab_namespaces_cover_its_steps():
    lab = catalog.get("namespace")
    from kubetm import manifests

    used = {
        d.obj["metadata"].get("namespace") or d.obj["metadata"]["name"]
        for f in lab.manifest_files() + lab.step_files()
        for d in manifests.load_docs(f)
    }
    assert used <= set(lab.namespaces), (
        "lab delete must reach every namespace the lab or its steps use"
    )


class _StepCtx:
    def __init__(self, error=None):
        self.error, self.deleted = error, []

    def apply_step(self, step):
        if self.error:
            raise self.error

    def delete_step(self, step, wait=True):
        self.deleted.append(step)


def test_refusal_shows_the_api_reason():
    msg = (
        'apply pod kubetm-lab-namespace-3/pod-over-quota: forbidden: pods "pod-over-quota" is forbidden: '
        "exceeded quota: rq-1, requested: requests.memory=450Mi, used: requests.memory=100Mi, "
        "limited: requests.memory=500Mi"
    )
    ok, detail = namespace._refused(
        _StepCtx(Forbidden(msg)), "pod-over-quota", "exceeded quota", "intro"
    )
    assert ok
    assert detail == (
        "intro: refused: exceeded quota: rq-1, requested: requests.memory=450Mi, "
        "used: requests.memory=100Mi, limited: requests.memory=500Mi"
    )


def test_an_unreachable_cluster_is_not_a_refusal():
    with pytest.raises(Unreachable):
        namespace._refused(
            _StepCtx(Unreachable("cannot reach the API server")), "pod-over-quota", "quota", "intro"
        )


def test_accepted_step_fails_and_is_cleaned_up():
    ctx = _StepCtx()
    ok, detail = namespace._refused(ctx, "pod-over-max", "maximum memory", "intro")
    assert not ok and "ACCEPTED" in detail and ctx.deleted == ["pod-over-max"]


def test_refusal_for_another_reason_fails():
    ok, detail = namespace._refused(
        _StepCtx(Forbidden('apply pod x: forbidden: pods "x" is forbidden: exceeded quota: rq-1')),
        "pod-over-max",
        "maximum memory",
        "i",
    )
    assert not ok and "exceeded quota" in detail
