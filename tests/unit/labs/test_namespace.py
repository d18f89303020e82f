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


# ------------------------------------------------------------------ the namespace exceptions

from .conftest import DictKube, _ctx  # noqa: E402

GI = 2**30


def _pod(name, ip="10.244.1.5", node="kubetm-worker"):
    return {
        "metadata": {"name": name, "uid": f"uid-{name}"},
        "spec": {"nodeName": node, "containers": [{"image": "x/app:v1"}]},
        "status": {"podIP": ip, "phase": "Running"},
    }


def test_pod_ip_across_namespaces_curls_the_other_pods_ip(no_wait):
    kube = DictKube({("Pod", "pod-1"): _pod("pod-1", ip="10.244.2.7")}, exec_out={"pod-1": "pod-1"})
    calls = []
    real = kube.exec
    kube.exec = lambda pod, cmd, **kw: calls.append(cmd) or real(pod, cmd, **kw)
    ok, detail = namespace.pod_ip_across_namespaces(_ctx(kube, "namespace"))
    assert ok and "http://10.244.2.7:8080/hostname" in calls[0][-1] and "'pod-1'" in detail
    kube.exec_out["pod-1"] = "curl: (28) Connection timed out"
    ok, detail = namespace.pod_ip_across_namespaces(_ctx(kube, "namespace"))
    assert not ok and "timed out" in detail


def _svc(node_port):
    return {"metadata": {"name": "svc-2"}, "spec": {"ports": [{"nodePort": node_port}]}}


def test_nodeport_in_another_namespace_must_be_refused_as_already_allocated(monkeypatch):
    kube = DictKube({("Service", "svc-2"): _svc(30009)})
    msg = (
        'apply service kubetm-lab-namespace-2/svc-2: invalid: Service "svc-2" is invalid: '
        "spec.ports[0].nodePort: Invalid value: 30009: provided port is already allocated"
    )
    monkeypatch.setattr(namespace, "api_refusal", lambda ctx, step: (True, msg))
    ok, detail = namespace.nodeport_cluster_wide(_ctx(kube, "namespace"))
    assert ok and detail.endswith(
        "refused: spec.ports[0].nodePort: Invalid value: 30009: provided port is already allocated"
    )
    monkeypatch.setattr(namespace, "api_refusal", lambda ctx, step: (False, "was accepted"))
    ok, detail = namespace.nodeport_cluster_wide(_ctx(kube, "namespace"))
    assert not ok and "ACCEPTED" in detail
    ok, detail = namespace.nodeport_cluster_wide(
        _ctx(DictKube({("Service", "svc-2"): _svc(30001)}), "namespace")
    )
    assert not ok and "should hold nodePort 30009" in detail


class _HostPathKube(DictKube):
    """pod-2 in two namespaces: a file written by one shows in the other when ``shared``."""

    def __init__(self, shared=True, nodes=("kubetm-worker", "kubetm-worker")):
        super().__init__()
        self.shared, self.nodes, self.files = shared, dict(zip(("a", "b"), nodes)), {}

    def get(self, kind, name, namespace=None, api_version=None):
        node = self.nodes["a" if namespace == namespace_mod.NS1 else "b"]
        return _pod(name, node=node)

    def exec(self, pod, cmd, container=None, namespace=None, timeout=60, stdin=None):
        key = "node" if self.shared else namespace
        if cmd[0] == "sh":
            self.files[key] = cmd[2].split()[1] + "\n"
            return 0, "", ""
        if cmd[0] == "cat":
            if key not in self.files:
                return 1, "", "cat: /mount1/hello.txt: No such file or directory"
            return 0, self.files[key], ""
        self.files.pop(key, None)
        return 0, "", ""


namespace_mod = namespace


def test_hostpath_is_shared_across_namespaces(monkeypatch):
    monkeypatch.setattr(
        namespace,
        "ready_pod",
        lambda ctx, name, namespace=None, timeout=None: ctx.kube.get("Pod", name, namespace),
    )
    kube = _HostPathKube()
    ok, detail = namespace.hostpath_shared_across_namespaces(_ctx(kube, "namespace"))
    assert ok and "read 'hostpath-" in detail and kube.files == {}, "the file is removed again"
    ok, detail = namespace.hostpath_shared_across_namespaces(
        _ctx(_HostPathKube(shared=False), "namespace")
    )
    assert not ok and "No such file" in detail
    ok, detail = namespace.hostpath_shared_across_namespaces(
        _ctx(_HostPathKube(nodes=("kubetm-worker", "kubetm-worker2")), "namespace")
    )
    assert not ok and "one node" in detail


def _lr(name, default):
    return {
        "metadata": {"name": name},
        "spec": {"limits": [{"type": "Container", "default": {"memory": default}}]},
    }


def _two_lr_kube():
    return DictKube(
        {("LimitRange", "lr-5"): _lr("lr-5", "0.5Gi"), ("LimitRange", "lr-3"): _lr("lr-3", "0.3Gi")}
    )


def _admitted(mem="322122547200m"):
    return {
        "spec": {
            "containers": [{"resources": {"requests": {"memory": mem}, "limits": {"memory": mem}}}]
        }
    }


REFUSAL = "maximum memory usage per Container is 322122547200m, but limit is 512Mi"


def _outcomes(monkeypatch, seq):
    it = iter(seq)
    sent = []

    def fake(ctx, obj):
        sent.append(obj["metadata"]["name"])
        return next(it)

    monkeypatch.setattr(namespace, "_dry_run_create", fake)
    return sent


def test_two_limitranges_both_outcomes_counted(monkeypatch):
    sent = _outcomes(monkeypatch, [(None, REFUSAL), (_admitted(), "")] * 50)
    ok, detail = namespace.two_limitranges(_ctx(_two_lr_kube(), "namespace"))
    assert ok and len(sent) == namespace.TWO_LR_MIN_TRIES, (
        "stops once both showed (after the minimum)"
    )
    assert (
        "refused 10 times" in detail
        and "admitted 10 times with requests/limits 307.2Mi/307.2Mi" in detail
    )
    assert "not fixed" in detail


def test_two_limitranges_only_refusals_is_the_course_outcome(monkeypatch):
    sent = _outcomes(monkeypatch, [(None, REFUSAL)] * 100)
    ok, detail = namespace.two_limitranges(_ctx(_two_lr_kube(), "namespace"))
    assert (
        ok and len(sent) == 100 and "refused 100 times" in detail and "admitted 0 times" in detail
    )


def test_two_limitranges_never_refused_fails(monkeypatch):
    _outcomes(monkeypatch, [(_admitted(), "")] * 100)
    ok, detail = namespace.two_limitranges(_ctx(_two_lr_kube(), "namespace"))
    assert not ok and "never refused" in detail


def test_two_limitranges_other_defaults_or_reasons_fail(monkeypatch):
    _outcomes(monkeypatch, [(None, REFUSAL), (_admitted("512Mi"), "")] * 50)
    ok, detail = namespace.two_limitranges(_ctx(_two_lr_kube(), "namespace"))
    assert not ok and "admitted with 512Mi/512Mi, not lr-3's default" in detail
    _outcomes(monkeypatch, [(None, "exceeded quota: rq"), (_admitted(), "")] * 50)
    ok, detail = namespace.two_limitranges(_ctx(_two_lr_kube(), "namespace"))
    assert not ok and "refused for another reason" in detail


def test_two_limitranges_needs_both_limitranges(monkeypatch):
    _outcomes(monkeypatch, [])
    kube = DictKube({("LimitRange", "lr-5"): _lr("lr-5", "0.5Gi")})
    ok, detail = namespace.two_limitranges(_ctx(kube, "namespace"))
    assert not ok and "should hold lr-5 and lr-3 (found lr-5)" in detail
