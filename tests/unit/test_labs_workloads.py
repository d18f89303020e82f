"""Unit tests of the workload labs' pure helpers (replicaset, daemonset-job-cronjob, probes, autoscaling) No cluster,
no Docker."""

from __future__ import annotations

from datetime import datetime

import pytest

from kubetm.errors import KubetmError
from kubetm.labs import autoscaling, probes, replicaset
from kubetm.labs import daemonset_job_cronjob as djc
from kubetm.labs.base import LabContext

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name, taints=(), labels=None, provider="kind://docker/kubetm/{}"):
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": list(taints), "providerID": provider.format(name) if provider else None},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


def t(hms: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-30T{hms}+00:00")


# ---------------------------------------------------------------------------- daemonset


def test_tolerations_match_like_kubernetes():
    assert not djc.tolerates(CP_TAINT, [])
    assert djc.tolerates(CP_TAINT, [{"key": CP_TAINT["key"], "operator": "Exists"}])
    assert djc.tolerates(CP_TAINT, [{"operator": "Exists"}])  # tolerate everything
    assert not djc.tolerates(
        CP_TAINT, [{"key": CP_TAINT["key"], "operator": "Exists", "effect": "NoExecute"}]
    )
    assert djc.tolerates(
        {"key": "a", "value": "1", "effect": "NoSchedule"}, [{"key": "a", "value": "1"}]
    )
    assert not djc.tolerates(
        {"key": "a", "value": "1", "effect": "NoSchedule"}, [{"key": "a", "value": "2"}]
    )
    assert djc.tolerates({"key": "x", "effect": "PreferNoSchedule"}, [])


def test_schedulable_nodes_skip_the_tainted_control_plane_and_follow_node_selector():
    nodes = [
        node("kubetm-control-plane", [CP_TAINT]),
        node("kubetm-worker", labels={"kubetm.io/ds": "true"}),
        node(
            "kubetm-worker2", [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
        ),
    ]
    ok, skipped = djc.schedulable_nodes(nodes, {})
    assert ok == ["kubetm-worker", "kubetm-worker2"]  # DaemonSets tolerate unschedulable
    assert "control-plane:NoSchedule" in skipped["kubetm-control-plane"]
    ok, skipped = djc.schedulable_nodes(nodes, {"nodeSelector": {"kubetm.io/ds": "true"}})
    assert ok == ["kubetm-worker"] and "nodeSelector" in skipped["kubetm-worker2"]


def test_max_concurrency_back_to_back_pods_do_not_overlap():
    waves = [
        (t("02:00:00"), t("02:00:05")),
        (t("02:00:00"), t("02:00:06")),
        (t("02:00:05"), t("02:00:10")),
        (t("02:00:06"), t("02:00:11")),
    ]
    assert djc.max_concurrency(waves) == 2
    assert djc.max_concurrency(waves + [(t("02:00:04"), t("02:00:07"))]) == 3
    assert djc.max_concurrency([]) == 0


def job(name, start, end=None, owner="cron-allow"):
    status = {"startTime": start}
    if end:
        status["completionTime"] = end
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": start,
            "ownerReferences": [{"kind": "CronJob", "name": owner, "controller": True}],
        },
        "status": status,
    }


def test_cronjob_job_names_carry_the_scheduled_minute_and_overlaps_are_found():
    minute = int(t("02:31:00").timestamp()) // 60
    a = job(f"cron-allow-{minute}", "2026-11-30T02:31:01Z", "2026-11-30T02:32:22Z")
    b = job(f"cron-allow-{minute + 1}", "2026-11-30T02:32:01Z")
    assert djc.scheduled_time(a, "cron-allow") == t("02:31:00")
    assert (
        djc.scheduled_time(job("cron-allow-manual-1", "2026-11-30T02:31:01Z"), "cron-allow") is None
    )
    assert djc.overlapping([a, b]) == (a, b)
    done = job(f"cron-allow-{minute + 1}", "2026-11-30T02:32:22Z", "2026-11-30T02:33:40Z")
    assert djc.overlapping([a, done]) is None  # one ends when the other starts
    manual = job("cron-allow-manual-1", "2026-11-30T02:31:01Z")
    assert [j["metadata"]["name"] for j in djc._cron_jobs([b, manual, a], "cron-allow")] == [
        f"cron-allow-{minute}",
        f"cron-allow-{minute + 1}",
    ]


# ------------------------------------------------------------------------------ probes


def test_endpoint_state_reads_ready_conditions_per_pod():
    slices = [
        {
            "endpoints": [
                {"targetRef": {"kind": "Pod", "name": "a"}, "conditions": {"ready": True}},
                {"targetRef": {"kind": "Pod", "name": "b"}, "conditions": {"ready": False}},
                {"targetRef": {"kind": "Pod", "name": "c"}, "conditions": {}},  # unset means ready
            ]
        },
        {"endpoints": None},
    ]
    assert probes.endpoint_state(slices) == {"a": True, "b": False, "c": True}
    assert probes._serving(probes.endpoint_state(slices)) == ["a", "c"]


# ------------------------------------------------------------------------- autoscaling


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


# -------------------------------------------------------------------------- replicaset


def test_kind_node_container_from_provider_id_and_refusals():
    assert replicaset.kind_node_container(node("kubetm-worker")) == "kubetm-worker"
    with pytest.raises(KubetmError, match="not a kind node"):
        replicaset.kind_node_container(node("ip-10-0-0-1", provider="aws:///eu-west-1a/i-0abc"))
    with pytest.raises(KubetmError, match="not a kind node"):
        replicaset.kind_node_container(node("n1", provider=""))
    with pytest.raises(KubetmError, match="podman"):
        replicaset.kind_node_container(node("n1", provider="kind://podman/kubetm/{}"))


class HealKube:
    """Two Ready heal pods on two non-kind workers; any Docker call fails the test."""

    def __init__(self, provider):
        self.nodes = [
            node(
                "cp",
                [CP_TAINT],
                labels={"node-role.kubernetes.io/control-plane": ""},
                provider=provider,
            ),
            node("w1", provider=provider),
            node("w2", provider=provider),
        ]
        self.pods = [
            {
                "metadata": {"name": f"heal-{n}", "uid": n},
                "spec": {"nodeName": n},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
            for n in ("w1", "w2")
        ]

    def watch_until(self, kind, name=None, predicate=None, **_):
        assert kind == "Pod" and predicate(self.pods)
        return self.pods

    def list(self, kind, **_):
        return self.nodes if kind == "Node" else []


def test_auto_healing_refuses_a_non_kind_cluster_without_touching_docker(monkeypatch):
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"docker was called: {a}"))
    ctx = LabContext(kube=HealKube("aws:///eu-west-1a/{}"), lab=replicaset.LAB, timeout=240)
    with pytest.raises(KubetmError, match="not a kind node"):
        replicaset.auto_healing_node_down(ctx)


def test_auto_healing_always_restores_the_node(monkeypatch):
    calls = []

    def docker(args, **kw):
        from kubetm.host.exec import Result

        calls.append(args[0])
        out = (
            "# /etc/containerd/certs.d/localhost:5001/hosts.toml\n[host]\n"
            if args[0] == "exec"
            else ""
        )
        return Result(("docker", *args), 0, out, "")

    class Kube(HealKube):
        def watch_until(self, kind, name=None, predicate=None, **kw):
            if kind == "Node" and "NotReady" in (kw.get("what") or ""):
                raise KubetmError("timed out waiting for node NotReady")
            if kind == "Node":
                return self.nodes[2]
            return super().watch_until(kind, name, predicate, **kw)

    from kubetm.host import docker as host_docker

    monkeypatch.setattr(host_docker, "run", docker)
    ctx = LabContext(kube=Kube("kind://docker/kubetm/{}"), lab=replicaset.LAB, timeout=240)
    with pytest.raises(KubetmError, match="NotReady"):
        replicaset.auto_healing_node_down(ctx)
    assert calls == [
        "exec",
        "stop",
        "start",
        "exec",
    ]  # config read, stop, ALWAYS start, config re-checked


def test_selector_cases_report_what_each_selector_picked():
    pods = {"type=web": ["pod-web-v1", "pod-web-v2"], "type=db": ["pod-db"]}

    class Kube:
        def watch_until(self, *a, **k):
            return None

        def list(self, kind, namespace=None, selector=None):
            return [{"metadata": {"name": n}} for n in pods.get(selector, [])]

    ok, detail = replicaset._selector_cases(
        Kube(),
        "ns",
        [
            ("type=web", "type=web", {"pod-web-v1", "pod-web-v2"}),
            ("type=db", "type=db", {"pod-db-v3", "pod-db"}),
        ],
    )
    assert not ok
    assert "type=web -> pod-web-v1, pod-web-v2" in detail
    assert "type=db selected ['pod-db'], expected ['pod-db', 'pod-db-v3']" in detail
