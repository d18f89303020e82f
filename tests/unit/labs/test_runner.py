"""kubetm/labs/runner.py: verify, apply, delete and run of fake labs on the shared FakeKube, and of
every course lab (show; placeholders on a fake cluster; file-by-file apply). No cluster."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fakekube import FakeKube

from kubetm import labs
from kubetm.errors import KubetmError
from kubetm.labs import catalog, runner
from kubetm.labs.base import NOT_IMPLEMENTED, Check, LabContext, not_implemented

from .conftest import MANIFESTS, _lab, bad_check, ok_check

# ------------------------------------------------------------------------------ verify


def test_verify_runs_checks_in_order_timed_and_catches_errors(tmp_path, fake_catalog):
    order = []

    def boom(ctx):
        order.append("boom")
        raise RuntimeError("kaput\nsecond line")

    def user_error(ctx):
        order.append("user")
        raise KubetmError("pod p not found", hint="apply first")

    def seen_timeout(ctx):
        order.append(ctx.timeout)
        return True, ""

    fake_catalog(
        _lab(
            tmp_path,
            checks=[
                ok_check("first", log=order),
                Check("boom", boom),
                Check("user-error", user_error),
                Check("wrong-shape", lambda ctx: "yes"),
                Check("budget", seen_timeout, timeout=7),
                Check("todo", not_implemented()),
            ],
        )
    )
    kube = FakeKube()
    labs.apply(kube, "fake")
    applied_writes = len(kube.writes())
    events = []
    result = labs.verify(kube, "fake", on_event=lambda e, lab, data: events.append((e, lab)))
    assert order == [("fake", "first"), "boom", "user", 7]
    assert [c.name for c in result.checks] == [
        "first",
        "boom",
        "user-error",
        "wrong-shape",
        "budget",
        "todo",
    ]
    assert [c.ok for c in result.checks] == [True, False, False, False, True, False]
    assert result.checks[1].detail == "RuntimeError: kaput second line"  # one line
    assert result.checks[2].detail == "pod p not found (apply first)"
    assert "expected (ok, detail)" in result.checks[3].detail
    assert result.checks[5].detail == NOT_IMPLEMENTED
    assert all(c.seconds >= 0 for c in result.checks)
    assert result.ok is False
    assert events.count(("check", "fake")) == 6 and events.count(("checked", "fake")) == 6
    # verify only observes: nothing applied or deleted during it
    assert kube.writes()[applied_writes:] == []


def test_tracks_run_side_by_side_in_order_within_each_and_report_in_the_labs_order(
    tmp_path, fake_catalog
):
    gate = threading.Event()  # "b1" waits for "m1": only possible if the tracks overlap
    seen: list[tuple[str, float]] = []

    def step(name, wait_for=None, set_=None, budget=None):
        def fn(ctx):
            if wait_for is not None:
                assert wait_for.wait(5), f"{name}: the other track never ran beside this one"
            if set_ is not None:
                set_.set()
            seen.append((name, ctx.timeout))
            ctx.state[name] = True
            return True, name

        return Check(name, fn, timeout=budget or 10, track="memory" if name[0] == "m" else "")

    fake_catalog(
        _lab(
            tmp_path,
            checks=[
                step("a1", budget=3),
                step("b1", wait_for=gate),
                step("m1", set_=gate, budget=4),
                step("m2", budget=5),
            ],
        )
    )
    kube = FakeKube()
    labs.apply(kube, "fake")
    events = []
    result = labs.verify(kube, "fake", on_event=lambda e, lab, data: events.append(e))
    assert [c.name for c in result.checks] == ["a1", "b1", "m1", "m2"] and result.ok
    order = [n for n, _ in seen]
    assert order.index("a1") < order.index("b1") and order.index("m1") < order.index("m2")
    assert dict(seen) == {"a1": 3, "b1": 10, "m1": 4, "m2": 5}  # each track its own budget
    assert events.count("check") == 4 and events.count("checked") == 4
    show = labs.show("fake")
    assert [c["track"] for c in show["checks"]] == ["", "", "memory", "memory"]
    assert "[track memory: beside the other checks]" in runner.render_show(show)


def test_a_cancelled_track_stops_the_lab(tmp_path, fake_catalog):
    from kubetm.labs.base import Cancelled

    def cancelled(ctx):
        raise Cancelled("lab fake interrupted")

    def slow(ctx):
        for _ in range(1000):  # 10 s if nothing stopped it
            ctx.check_cancelled()
            time.sleep(0.01)
        return True, ""

    fake_catalog(
        _lab(tmp_path, checks=[Check("slow", slow), Check("gone", cancelled, track="other")])
    )
    kube = FakeKube()
    labs.apply(kube, "fake")
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        labs.verify(kube, "fake")
    assert time.monotonic() - t0 < 5  # the slow track (10 s) stopped at its next step


def test_verify_all_passing_and_json_and_lines(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path, checks=[ok_check("a"), ok_check("b", detail="")]))
    kube = FakeKube()
    labs.apply(kube, "fake")
    result = labs.verify(kube, "fake")
    assert result.ok
    data = json.loads(json.dumps(result.to_dict()))
    assert data["lab"] == "fake" and data["ok"] is True
    assert [set(c) for c in data["checks"]] == [{"name", "ok", "detail", "seconds"}] * 2
    lines = result.lines()
    assert lines[0].startswith("✓ lab fake: 2/2")
    assert lines[1].strip().startswith("✓ a (") and lines[1].endswith(": fine")
    assert labs.as_json([result], "fake") == result.to_dict()
    assert labs.as_json([result], "all") == [result.to_dict()]
    assert labs.as_json([result], ["fake"]) == [result.to_dict()]


def test_verify_refuses_a_lab_that_is_not_applied(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path, checks=[ok_check("a")]))
    with pytest.raises(KubetmError, match="not applied"):
        labs.verify(FakeKube(), "fake")


def test_lab_without_checks_is_not_ok(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path))
    kube = FakeKube()
    labs.apply(kube, "fake")
    assert labs.verify(kube, "fake").ok is False


# ------------------------------------------------------------------------ apply/delete


def test_apply_applies_folder_but_not_steps_and_steps_on_demand(tmp_path, fake_catalog):
    def use_step(ctx: LabContext):
        ctx.apply_step("extra")
        return ctx.kube.get("ConfigMap", "extra", ctx.namespace) is not None, "step applied"

    fake_catalog(_lab(tmp_path, checks=[Check("step", use_step)]))
    kube = FakeKube()
    labs.apply(kube, "fake")
    assert ("ConfigMap", "kubetm-lab-fake", "extra") not in kube.objects
    assert ("Pod", "kubetm-lab-fake", "p") in kube.objects
    assert labs.verify(kube, "fake").ok


def test_apply_rewrites_registry(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path, checks=[ok_check("a")]))
    kube = FakeKube()
    labs.apply(kube, "fake", registry="reg.example:5000")
    pod = kube.objects[("Pod", "kubetm-lab-fake", "p")]
    assert pod["spec"]["containers"][0]["image"] == "reg.example:5000/kubetm/hello:1.0"


def test_apply_rechecks_course_node_labels(tmp_path, fake_catalog, monkeypatch):
    lab = fake_catalog(_lab(tmp_path, name="pinned", checks=[ok_check("a")]))
    (lab.folder / "20-pinned.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: kubetm-lab-pinned}\n"
        "spec:\n  nodeSelector: {kubetm.io/course-node: k8s-node1}\n  containers: [{name: c, image: x}]\n"
    )
    seen = []
    from kubetm import nodes

    monkeypatch.setattr(nodes, "ensure_course_labels", lambda kube: seen.append(kube) or {})
    kube = FakeKube()
    labs.apply(kube, "pinned")
    assert seen == [kube]


def test_broken_manifest_is_refused_before_any_api_call(tmp_path, fake_catalog):
    lab = fake_catalog(_lab(tmp_path, checks=[ok_check("a")]))
    (lab.folder / "steps" / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {}\n")
    kube = FakeKube()
    with pytest.raises(KubetmError, match="broken.yaml"):
        labs.apply(kube, "fake")
    with pytest.raises(KubetmError, match="broken.yaml"):
        labs.run(kube, "fake")
    assert kube.calls == []


def test_delete_removes_namespaces_and_labelled_cluster_objects_and_runs_cleanup(
    tmp_path, fake_catalog
):
    cleaned = []
    fake_catalog(
        _lab(tmp_path, checks=[ok_check("a")], cleanup=lambda ctx: cleaned.append(ctx.lab.name))
    )
    kube = FakeKube()
    labs.apply(kube, "fake")
    kube.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": "someone-elses", "labels": {"kubetm.io/lab": "other"}},
            }
        ]
    )
    labs.delete(kube, "fake")
    assert cleaned == ["fake"]
    assert list(kube.objects) == [("PersistentVolume", None, "someone-elses")]
    assert ("wait", "Namespace", "kubetm-lab-fake") in kube.calls
    assert ("wait", "PersistentVolume", "kubetm-lab-fake-pv") in kube.calls
    labs.delete(kube, "fake")  # idempotent


def test_delete_refuses_a_foreign_namespace(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path, checks=[ok_check("a")]))
    kube = FakeKube()
    kube.objects[("Namespace", None, "kubetm-lab-fake")] = {
        "kind": "Namespace",
        "metadata": {"name": "kubetm-lab-fake", "labels": {}},
    }
    with pytest.raises(KubetmError, match="not created by kubetm"):
        labs.delete(kube, "fake")
    assert ("Namespace", None, "kubetm-lab-fake") in kube.objects


# --------------------------------------------------------------------------------- run


def test_run_applies_verifies_deletes(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path, checks=[ok_check("a")]))
    kube = FakeKube()
    [result] = labs.run(kube, "fake")
    assert result.ok and kube.objects == {}
    kinds = [c[0] for c in kube.calls]
    assert kinds.index("apply") < kinds.index("delete")


def test_run_deletes_on_failure_and_keep_keeps(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path, checks=[bad_check("a")]))
    kube = FakeKube()
    [result] = labs.run(kube, "fake")
    assert not result.ok and kube.objects == {}
    [result] = labs.run(kube, "fake", keep=True)
    assert not result.ok and ("Pod", "kubetm-lab-fake", "p") in kube.objects


def test_run_deletes_when_apply_fails(tmp_path, fake_catalog):
    fake_catalog(_lab(tmp_path, checks=[ok_check("a")]))

    class Refusing(FakeKube):
        def apply(self, objs):
            super().apply(objs[:1])
            raise KubetmError("apply pod/p: forbidden")

    kube = Refusing()
    [result] = labs.run(kube, "fake")
    assert not result.ok and "forbidden" in result.error
    assert result.to_dict()["error"] == result.error
    assert kube.objects == {}


def test_run_deletes_on_ctrl_c(tmp_path, fake_catalog):
    def interrupt(ctx):
        raise KeyboardInterrupt

    fake_catalog(_lab(tmp_path, checks=[Check("ctrl-c", interrupt)]))
    kube = FakeKube()
    with pytest.raises(KeyboardInterrupt):
        labs.run(kube, "fake")
    assert kube.objects == {}
    with pytest.raises(KeyboardInterrupt):
        labs.run(kube, "fake", keep=True)
    assert ("Pod", "kubetm-lab-fake", "p") in kube.objects


class Tracker:
    """Checks that record which labs run at the same moment (observed, not timed)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.active: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()  # (a, b): b was running while a ran
        self.most = 0

    def check(self, name="c", hold=0.15, meet=None):
        """A check that holds its lab active for `hold` s; with `meet` (a Barrier) it waits until
        the barrier's other parties are running too (fails if the scheduler never lets them)."""

        def fn(ctx):
            lab = ctx.lab.name
            with self.lock:
                for other in self.active:
                    self.pairs |= {(lab, other), (other, lab)}
                self.active.add(lab)
                self.most = max(self.most, len(self.active))
            try:
                if meet is not None:
                    meet.wait(timeout=5)  # BrokenBarrierError fails the check: they never met
                time.sleep(hold)
            finally:
                with self.lock:
                    self.active.discard(lab)
            return True, ""

        return Check(name, fn)

    def beside(self, lab: str) -> set[str]:
        """Every lab seen running while `lab` ran."""
        return {b for a, b in self.pairs if a == lab}


def _shared(tmp_path, fake_catalog, name, check, *shares):
    kw = {"shares": shares, "shares_reason": "test"} if shares else {}
    return fake_catalog(_lab(tmp_path, name=name, checks=[check], **kw))


def test_run_all_runs_side_by_side_but_never_two_labs_whose_shares_intersect(
    tmp_path, fake_catalog
):
    t = Tracker()
    meet = threading.Barrier(3)  # free-a, free-b and port-a must run at once
    _shared(tmp_path, fake_catalog, "free-a", t.check(meet=meet))
    _shared(tmp_path, fake_catalog, "port-a", t.check(meet=meet), "nodeport:30006")
    _shared(tmp_path, fake_catalog, "port-b", t.check(), "nodeport:30006")
    _shared(tmp_path, fake_catalog, "labeller", t.check(), "nodes", "hostport:18080")
    _shared(tmp_path, fake_catalog, "tainter", t.check(), "nodes")
    _shared(tmp_path, fake_catalog, "node-breaker", t.check(), "cluster")
    _shared(tmp_path, fake_catalog, "free-b", t.check(meet=meet))

    class WithDiscovery(FakeKube):
        def resource(self, kind, api_version=None):
            self.calls.append(
                ("resource", kind, threading.current_thread() is threading.main_thread())
            )

    kube = WithDiscovery()
    results = labs.run(kube, "all", jobs=4)
    assert [r.lab for r in results] == [
        "free-a",
        "port-a",
        "port-b",
        "labeller",
        "tainter",
        "node-breaker",
        "free-b",
    ]  # the order asked, whatever order they ran in
    assert all(r.ok for r in results), [r.lines() for r in results]
    assert t.most == 4  # --jobs 4: never more, and reached
    assert "port-b" not in t.beside("port-a") and "port-a" not in t.beside("port-b")
    assert "tainter" not in t.beside("labeller")
    assert t.beside("node-breaker") == set()  # cluster: nothing beside it
    assert {"free-b", "port-a"} <= t.beside("free-a")  # met at the barrier
    # timing in -o json: the conflicting pair's intervals do not overlap
    rows = {r["lab"]: r for r in labs.as_json(results, "all")}
    a, b = sorted((rows["port-a"], rows["port-b"]), key=lambda r: r["start_s"])
    assert 0 <= a["start_s"] < a["end_s"] <= b["start_s"] < b["end_s"]
    assert all(set(r) >= {"started", "ended", "start_s", "end_s"} for r in rows.values())
    discovery = [i for i, c in enumerate(kube.calls) if c[0] == "resource"]
    assert discovery and all(kube.calls[i][2] for i in discovery)  # warmed on the main thread
    assert max(discovery) < min(i for i, c in enumerate(kube.calls) if c[0] == "apply")
    assert kube.objects == {}


def test_jobs_1_runs_one_lab_at_a_time_in_priority_order(tmp_path, fake_catalog):
    t = Tracker()
    order = []

    def log(ctx):
        order.append(ctx.lab.name)
        return t.check().fn(ctx)

    fake_catalog(_lab(tmp_path, name="short", checks=[Check("c", log, timeout=10)]))
    fake_catalog(_lab(tmp_path, name="long", checks=[Check("c", log, timeout=300)]))
    fake_catalog(
        _lab(
            tmp_path,
            name="alone",
            checks=[Check("c", log, timeout=900)],
            shares=("cluster",),
            shares_reason="stops a node",
        )
    )
    results = labs.run(FakeKube(), "all", jobs=1)
    assert all(r.ok for r in results) and t.most == 1
    assert order == ["long", "short", "alone"]  # longest budget first, cluster labs last


def test_schedule_starts_a_waiting_lab_as_soon_as_its_resource_is_free(tmp_path, fake_catalog):
    """port-b waits for port-a (same NodePort) while a free lab passes it; it starts when
    port-a ends, not when the free lab does."""
    release = {n: threading.Event() for n in ("port-a", "slow")}
    events: list[str] = []

    def held(ctx):
        events.append(f"start {ctx.lab.name}")
        if ctx.lab.name in release:
            assert release[ctx.lab.name].wait(5)
        events.append(f"end {ctx.lab.name}")
        return True, ""

    for name, shares, budget in [
        ("port-a", ("nodeport:30006",), 300),
        ("port-b", ("nodeport:30006",), 200),
        ("slow", (), 100),
    ]:
        kw = {"shares": shares, "shares_reason": "test"} if shares else {}
        fake_catalog(_lab(tmp_path, name=name, checks=[Check("c", held, timeout=budget)], **kw))
    done = threading.Event()
    out: list = []
    threading.Thread(
        target=lambda: (out.extend(labs.run(FakeKube(), "all", jobs=3)), done.set()), daemon=True
    ).start()
    deadline = time.monotonic() + 5
    while {"start port-a", "start slow"} - set(events) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "start port-b" not in events  # a free slot, but its NodePort is taken
    release["port-a"].set()
    assert done.wait(0.01) is False
    deadline = time.monotonic() + 5
    while "start port-b" not in events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "end slow" not in events  # it started when port-a ended, not when a slot freed
    release["slow"].set()
    assert done.wait(5) and all(r.ok for r in out)


def test_run_all_one_broken_lab_does_not_stop_the_others(tmp_path, fake_catalog):
    def explode(ctx):
        raise ValueError("bug in a check")

    fake_catalog(_lab(tmp_path, name="good", checks=[ok_check("a")]))
    fake_catalog(_lab(tmp_path, name="bad", checks=[Check("a", explode)]))
    results = labs.run(FakeKube(), ["good", "bad"], jobs=2)
    assert [(r.lab, r.ok) for r in results] == [("good", True), ("bad", False)]
    assert results[1].checks[0].detail == "ValueError: bug in a check"
    payload = labs.as_json(results, ["good", "bad"])
    assert [p["lab"] for p in payload] == ["good", "bad"]


def test_schedule_stops_starting_labs_after_one_raises_and_reraises(tmp_path, fake_catalog):
    started: list[str] = []

    def fn(lab):
        started.append(lab.name)
        if lab.name == "first":
            raise KeyboardInterrupt

    cancel = threading.Event()
    lab_list = [
        _lab(tmp_path, name="first", checks=[Check("c", lambda ctx: (True, ""), timeout=900)]),
        _lab(tmp_path, name="second", checks=[ok_check("c")]),
        _lab(tmp_path, name="third", checks=[ok_check("c")]),
    ]
    for lab in lab_list:
        object.__setattr__(lab, "shares", ("cluster",))  # one at a time, on threads
    with pytest.raises(KeyboardInterrupt):
        runner.schedule(lab_list, fn, 2, cancel)
    assert started == ["first"] and cancel.is_set()


def test_run_all_ctrl_c_cleans_up_started_labs(tmp_path, fake_catalog, monkeypatch):
    gate = threading.Event()

    def slow(ctx):
        gate.wait(5)
        ctx.check_cancelled()
        return True, ""

    for n in ("one", "two"):
        fake_catalog(_lab(tmp_path, name=n, checks=[Check("slow", slow), ok_check("after")]))
    kube = FakeKube()
    real_schedule = runner.schedule

    def interrupted(labs_, fn, jobs, cancel, seconds=None):
        threading.Timer(0.3, gate.set).start()
        t = threading.Thread(
            target=real_schedule, args=(labs_, fn, jobs, cancel, seconds), daemon=True
        )
        t.start()
        time.sleep(0.2)  # both labs applied, checks waiting
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "schedule", interrupted)
    with pytest.raises(KeyboardInterrupt):
        labs.run(kube, "all", jobs=2)
    assert not any(k[0] == "Namespace" for k in kube.objects)  # both started labs deleted


# ------------------------------------------------------------------ the real course labs


@pytest.mark.parametrize("name", catalog.names())
def test_show_every_lab(name):
    info = labs.show(name)
    assert info["title"] and info["lesson"] and info["checks"]
    assert info["namespaces"][0] == f"kubetm-lab-{name}"
    assert f"Namespace/kubetm-lab-{name}" in info["objects"]
    assert len(info["lessons"]) == len(list((MANIFESTS / name).glob("*.yaml"))) + len(
        list((MANIFESTS / name).glob("steps/*.yaml"))
    )  # every file names its lesson
    assert labs.render_show(info).startswith(f"{name}: ")


@pytest.mark.parametrize("name", catalog.names())
def test_phase1_placeholders_fail_on_a_fake_cluster(name, monkeypatch):
    from kubetm import nodes

    monkeypatch.setattr(nodes, "ensure_course_labels", lambda kube: {})
    kube = FakeKube()
    labs.apply(kube, name)
    result = labs.verify(kube, name)
    assert not result.ok
    for c in result.checks:  # a placeholder must never pass
        if c.detail == NOT_IMPLEMENTED:
            assert not c.ok
    labs.delete(kube, name)
    assert kube.objects == {}


def test_apply_goes_file_by_file_so_lessons_that_need_order_hold(monkeypatch):
    from kubetm import nodes

    monkeypatch.setattr(nodes, "ensure_course_labels", lambda kube: {})

    class Batches(FakeKube):
        def __init__(self):
            super().__init__()
            self.batches = []

        def apply(self, objs, **kw):
            self.batches.append([o["kind"] for o in objs])
            self.calls.append(("applying", [(o["kind"], o["metadata"]["name"]) for o in objs]))
            return super().apply(objs, **kw)

    kube = Batches()
    labs.apply(kube, "volume")
    pv_batch = next(i for i, b in enumerate(kube.batches) if "PersistentVolume" in b)
    pvc_batch = next(i for i, b in enumerate(kube.batches) if "PersistentVolumeClaim" in b)
    assert kube.batches[0] == ["Namespace"] and pv_batch < pvc_batch
    assert "PersistentVolumeClaim" not in kube.batches[pv_batch]
    # every PV is seen by the PV controller (watched out of phase Pending) before any claim exists
    first_claim = next(
        i
        for i, c in enumerate(kube.calls)
        if c[0] == "applying" and any(k == "PersistentVolumeClaim" for k, _ in c[1])
    )
    pvs = {n for c in kube.calls if c[0] == "applying" for k, n in c[1] if k == "PersistentVolume"}
    waited = {
        c[2] for c in kube.calls[:first_claim] if c[0] == "wait" and c[1] == "PersistentVolume"
    }
    assert pvs and waited == pvs
    kube = Batches()
    labs.apply(kube, "namespace")
    lr = next(i for i, b in enumerate(kube.batches) if "LimitRange" in b)
    quota = next(i for i, b in enumerate(kube.batches) if "ResourceQuota" in b)
    assert lr < quota and "Pod" not in kube.batches[lr]


def test_budget_is_the_longest_track(tmp_path):
    def fn(ctx):
        return True, ""

    lab = _lab(
        tmp_path,
        checks=(
            Check("a", fn, timeout=100),
            Check("b", fn, timeout=50),
            Check("m", fn, timeout=120, track="memory"),
        ),
    )
    assert runner.budget(lab) == 150
    assert catalog.get("autoscaling").checks[-1].track == "memory"
    assert runner.budget(catalog.get("autoscaling")) == 150 + 240 + 240


def test_measured_seconds_order_the_next_run_and_only_passing_labs_are_recorded(
    tmp_path, fake_catalog
):
    fake_catalog(_lab(tmp_path, name="short", checks=[ok_check("a")]))
    fake_catalog(_lab(tmp_path, name="long", checks=[ok_check("a", delay=0.2)]))
    fake_catalog(_lab(tmp_path, name="broken", checks=[bad_check("a")]))
    big = Check("a", lambda ctx: (True, ""), timeout=999)
    fake_catalog(_lab(tmp_path, name="budgeted", checks=[big]))
    assert runner.measured_seconds() == {}
    results = labs.run(FakeKube(), ["short", "long", "broken"], jobs=1)
    seconds = runner.measured_seconds()
    assert set(seconds) == {"short", "long"}  # broken failed: not recorded
    assert seconds["long"] >= 0.2 > seconds["short"]
    assert [r.lab for r in results] == ["short", "long", "broken"]
    order = [
        lab.name
        for lab in runner.priority([catalog.get(n) for n in ("short", "long", "budgeted")], seconds)
    ]
    assert order == ["budgeted", "long", "short"]  # never measured: its budget, so first
    runner._seconds_path().write_text("not json")
    assert runner.measured_seconds() == {}  # unreadable: the budgets decide


def test_labs_that_share_a_resource_start_early_as_one_chain(tmp_path, fake_catalog):
    def lab(name, shares=()):
        why = "binds PVs" if shares else ""
        return fake_catalog(
            _lab(tmp_path, name=name, checks=[ok_check("a")], shares=shares, shares_reason=why)
        )

    solo = lab("solo")  # 100 s alone
    pv = [lab(f"pv-{i}", ("setting:pv-binding",)) for i in range(3)]  # 3 x 40 s, one at a time
    short = lab("short")
    seconds = {"solo": 100, "pv-0": 40, "pv-1": 40, "pv-2": 40, "short": 10}
    order = [x.name for x in runner.priority([short, solo, *pv], seconds)]
    assert order == ["pv-0", "pv-1", "pv-2", "solo", "short"]  # the 120 s chain before 100 s
