"""kubetm/labs/daemonset_job_cronjob.py: tolerations, node choice, concurrency and CronJob job names
(no cluster)."""

from __future__ import annotations

from datetime import datetime

from kubetm.labs import daemonset_job_cronjob as djc

from .conftest import CP_TAINT, node


def t(hms: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-30T{hms}+00:00")


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


# ------------------------------------------------------- deleting a CronJob takes its manual Job

from kubetm.errors import Timeout  # noqa: E402

from .conftest import DictKube, _ctx  # noqa: E402


class CronKube(DictKube):
    """Applies CronJobs/Jobs into the dict; deleting a CronJob deletes the Jobs it owns when ``gc``."""

    def __init__(self, gc=True):
        super().__init__()
        self.gc, self.deletes = gc, []

    def apply(self, objs):
        super().apply(objs)
        for o in objs:
            o = {**o, "metadata": {**o["metadata"], "uid": f"uid-{o['metadata']['name']}"}}
            self.objects[(o["kind"], o["metadata"]["name"])] = o
        return []

    def delete(self, objs, **kw):
        self.deletes.append((objs["kind"], objs["metadata"]["name"], kw.get("propagation")))
        self.objects.pop((objs["kind"], objs["metadata"]["name"]), None)
        if self.gc:
            for key, o in list(self.objects.items()):
                if djc._owned_by(o, objs["kind"], objs["metadata"]["name"]):
                    del self.objects[key]
        return []

    def watch_until(self, kind, name=None, predicate=None, **_):
        obj = self.get(kind, name)
        if not (predicate or (lambda o: o is not None))(obj):
            raise Timeout(f"{kind} {name}: timed out")
        return obj


def test_cronjob_delete_takes_the_job_made_by_hand():
    kube = CronKube()
    ok, detail = djc.cronjob_delete_deletes_manual_job(_ctx(kube, "daemonset-job-cronjob"))
    job = next(o for o in kube.applied if o["kind"] == "Job")
    assert job["metadata"]["ownerReferences"][0]["name"] == "cron-delete"
    assert job["metadata"]["annotations"][djc.MANUAL_ANNOTATION] == "manual"
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].endswith("kubetm/init:1.0")
    assert kube.deletes == [("CronJob", "cron-delete", "Background")], "like kubectl delete"
    assert ok and "the garbage collector deleted the job" in detail
    assert ("Job", job["metadata"]["name"]) not in kube.objects


def test_cronjob_delete_fails_when_the_job_stays():
    import pytest

    with pytest.raises(Timeout):
        djc.cronjob_delete_deletes_manual_job(_ctx(CronKube(gc=False), "daemonset-job-cronjob"))
