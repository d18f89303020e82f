"""kubetm/labs/pod_lifecycle.py: condition order, container states and the checks' verdicts over a
dict-backed kube (no cluster)."""

from __future__ import annotations

from kubetm.labs import pod_lifecycle as lc

from .conftest import DictKube, _ctx


def _cond(kind, at, status="True", reason=None):
    c = {"type": kind, "status": status, "lastTransitionTime": f"2026-12-01T10:00:{at:02d}Z"}
    if reason:
        c["reason"] = reason
    return c


def _pod(name, phase, conditions=(), state=None, last=None, restarts=0, container="container"):
    cs = {"name": container, "state": state or {}, "restartCount": restarts}
    if last:
        cs["lastState"] = last
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": container}]},
        "status": {"phase": phase, "conditions": list(conditions), "containerStatuses": [cs]},
    }


ORDERED = [
    _cond("PodScheduled", 0),
    _cond("Initialized", 4),
    _cond("ContainersReady", 5),
    _cond("Ready", 5),
]


def test_in_order_needs_all_four_true_and_time_never_going_back():
    times = lc.condition_times(_pod("p", "Running", ORDERED))
    assert lc.in_order(times)
    backwards = [_cond("PodScheduled", 6)] + ORDERED[1:]
    assert not lc.in_order(lc.condition_times(_pod("p", "Running", backwards)))
    missing = ORDERED[:2] + [_cond("ContainersReady", 5, status="False"), _cond("Ready", 5)]
    assert not lc.in_order(lc.condition_times(_pod("p", "Running", missing)))


def test_container_state_names_state_and_reason():
    assert lc.container_state(
        _pod("p", "Pending", state={"waiting": {"reason": "ContainerCreating"}})
    ) == ("Waiting/ContainerCreating")
    assert lc.container_state(_pod("p", "Running", state={"running": {}})) == "Running"
    assert lc.container_state(None) == "?"


def test_timeline_drops_repeats():
    assert lc._timeline(["a", "a", "b", "b", "a"]) == "a -> b -> a"


def test_ended_pods_pass_only_with_the_lessons_phase_and_reason():
    done = _pod(
        "pod-completed",
        "Succeeded",
        [_cond("Ready", 3, status="False", reason="PodCompleted")],
        state={"terminated": {"reason": "Completed", "exitCode": 0}},
    )
    check = lc._ended("pod-completed", "Succeeded", "Completed", 0)
    ok, detail = check(_ctx(DictKube({("Pod", "pod-completed"): done}), lab="pod-lifecycle"))
    assert ok and "phase Succeeded" in detail and "reason Completed exit 0" in detail
    failed = _pod(
        "pod-completed",
        "Failed",
        [_cond("Ready", 3, status="False", reason="PodFailed")],
        state={"terminated": {"reason": "Error", "exitCode": 1}},
    )
    ok, detail = check(_ctx(DictKube({("Pod", "pod-completed"): failed}), lab="pod-lifecycle"))
    assert not ok and "phase Failed" in detail and "reason Error exit 1" in detail


def test_crash_loop_needs_two_restarts_and_a_running_phase():
    pod = _pod(
        "pod-crash",
        "Running",
        state={"waiting": {"reason": "CrashLoopBackOff"}},
        last={"terminated": {"reason": "Error", "exitCode": 1}},
        restarts=2,
    )
    ok, detail = lc.crash_loop_backoff(
        _ctx(DictKube({("Pod", "pod-crash"): pod}), lab="pod-lifecycle")
    )
    assert ok and "Waiting/CrashLoopBackOff" in detail and "phase stays Running" in detail


def test_cleanup_touches_nothing_when_node_shell_never_ran():
    kube = DictKube({("Pod", "node-shell"): _pod("node-shell", "Pending", container="shell")})
    calls = []
    kube.exec = lambda *a, **k: calls.append(a) or (0, "", "")
    lc.remove_ready_file(_ctx(kube, lab="pod-lifecycle"))
    assert calls == []
    kube.objects[("Pod", "node-shell")]["status"]["phase"] = "Running"
    lc.remove_ready_file(_ctx(kube, lab="pod-lifecycle"))
    assert calls and "rm -rf /node-tmp/readiness" in calls[0][1][-1]
