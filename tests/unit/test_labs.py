"""Unit tests of the lab framework (fake labs, fake cluster) and of every lab's manifests. No cluster."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from kubetm import labs
from kubetm.errors import KubetmError
from kubetm.labs import registry, runner
from kubetm.labs.base import NOT_IMPLEMENTED, Check, Lab, LabContext, not_implemented

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"
COURSE_IMAGES = {f"localhost:5001/kubetm/{i}" for i in
                 ("hello:1.0", "app:v1", "app:v2", "app:v3", "init:1.0", "ports:1.0")}
RESERVED_NODEPORTS = {30001: "service", 30002: "service"}  # docs/DESIGN.md: ports lab manifests may use


# ------------------------------------------------------------------------------- fakes

class Result:
    def __init__(self, kind, name, namespace, action, api_version="v1"):
        self.kind, self.name, self.namespace, self.action, self.api_version = kind, name, namespace, action, api_version


class FakeKube:
    """Just enough of kubetm.kube.Kube for the runner: apply, get, list, delete, watch_until."""

    def __init__(self):
        self.objects: dict[tuple, dict] = {}
        self.calls: list[tuple] = []
        self.lock = threading.Lock()

    def apply(self, objs):
        out = []
        with self.lock:
            for o in objs:
                meta = o["metadata"]
                key = (o["kind"], meta.get("namespace"), meta["name"])
                self.calls.append(("apply", key))
                action = "configured" if key in self.objects else "created"
                self.objects[key] = o
                out.append(Result(o["kind"], meta["name"], meta.get("namespace"), action))
        return out

    def get(self, kind, name, namespace=None, api_version=None):
        with self.lock:
            return self.objects.get((kind, namespace, name))

    def list(self, kind, namespace=None, selector=None, **_):
        sel = selector or {}
        with self.lock:
            return [o for (k, ns, _n), o in self.objects.items()
                    if k == kind and (namespace is None or ns == namespace)
                    and all((o["metadata"].get("labels") or {}).get(a) == b for a, b in sel.items())]

    def delete(self, targets, wait=True, **_):
        out = []
        with self.lock:
            for o in targets:
                name = o["metadata"]["name"]
                self.calls.append(("delete", (o["kind"], name)))
                found = [k for k in self.objects if k[0] == o["kind"] and k[2] == name]
                if o["kind"] == "Namespace":  # a namespace takes its objects along
                    found += [k for k in self.objects if k[1] == name]
                for k in found:
                    del self.objects[k]
                out.append(Result(o["kind"], name, None, "deleted" if found else "not found"))
        return out

    def watch_until(self, kind, name=None, predicate=None, **_):
        self.calls.append(("wait", (kind, name)))


def _write_fake_manifests(folder: Path, name: str, steps: bool = True) -> None:
    folder.mkdir(parents=True)
    ns = f"kubetm-lab-{name}"
    (folder / "00-namespace.yaml").write_text(
        f"# 강의: Fake — a test lab.\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
        f"  labels: {{app.kubernetes.io/managed-by: kubetm, kubetm.io/lab: {name}}}\n")
    (folder / "10-pod.yaml").write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: {ns}\nspec:\n"
        f"  containers: [{{name: c, image: localhost:5001/kubetm/hello:1.0}}]\n---\n"
        f"apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {ns}-pv\n"
        f"  labels: {{kubetm.io/lab: {name}}}\nspec: {{capacity: {{storage: 1Gi}}}}\n")
    if steps:
        (folder / "steps").mkdir()
        (folder / "steps" / "extra.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: {ns}\n")


def _lab(tmp_path, name="fake", checks=(), **kw) -> Lab:
    folder = tmp_path / name
    _write_fake_manifests(folder, name)
    return Lab(name=name, title=f"가짜 — {name}", lesson="a fake lesson", checks=tuple(checks),
               manifests_dir=folder, **kw)


@pytest.fixture
def fake_registry(monkeypatch):
    """Replace the lab list with fakes: call register(lab) for each."""
    monkeypatch.setattr(registry, "LAB_MODULES", {})
    monkeypatch.setattr(registry, "_cache", {})

    def register(lab: Lab) -> Lab:
        registry.LAB_MODULES[lab.name] = lab.name
        registry._cache[lab.name] = lab
        return lab

    return register


def ok_check(name, detail="fine", delay=0.0, log=None):
    def fn(ctx):
        if log is not None:
            log.append((ctx.lab.name, name))
        time.sleep(delay)
        return True, detail
    return Check(name, fn, f"{name} holds")


def bad_check(name, detail="broken"):
    return Check(name, lambda ctx: (False, detail), f"{name} holds")


# ------------------------------------------------------------------------ base objects

def test_lab_defaults_and_validation(tmp_path):
    lab = _lab(tmp_path, checks=[ok_check("a")])
    assert lab.namespace == "kubetm-lab-fake" and lab.namespaces == ("kubetm-lab-fake",)
    assert [p.name for p in lab.manifest_files()] == ["00-namespace.yaml", "10-pod.yaml"]
    assert [p.name for p in lab.step_files()] == ["extra.yaml"]
    assert lab.step_path("extra") == (lab.folder / "steps" / "extra.yaml").resolve()
    with pytest.raises(ValueError):
        lab.step_path("../00-namespace")
    with pytest.raises(ValueError):
        Lab("Bad_Name", "t", "l")
    with pytest.raises(ValueError):
        Lab("dup", "t", "l", checks=(ok_check("a"), ok_check("a")))
    with pytest.raises(ValueError):
        Lab("lonely", "t", "l", exclusive=True)  # must say why
    with pytest.raises(ValueError):
        Check("Not Kebab", lambda ctx: (True, ""))


def test_placeholder_never_passes(tmp_path):
    fn = not_implemented("later")
    assert fn(None) == (False, NOT_IMPLEMENTED)
    assert fn.not_implemented is True


# ------------------------------------------------------------------------------ verify

def test_verify_runs_checks_in_order_timed_and_catches_errors(tmp_path, fake_registry):
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

    fake_registry(_lab(tmp_path, checks=[
        ok_check("first", log=order), Check("boom", boom), Check("user-error", user_error),
        Check("wrong-shape", lambda ctx: "yes"), Check("budget", seen_timeout, timeout=7),
        Check("todo", not_implemented()),
    ]))
    kube = FakeKube()
    labs.apply(kube, "fake")
    applied_calls = len(kube.calls)
    events = []
    result = labs.verify(kube, "fake", on_event=lambda e, lab, data: events.append((e, lab)))
    assert order == [("fake", "first"), "boom", "user", 7]
    assert [c.name for c in result.checks] == ["first", "boom", "user-error", "wrong-shape", "budget", "todo"]
    assert [c.ok for c in result.checks] == [True, False, False, False, True, False]
    assert result.checks[1].detail == "RuntimeError: kaput second line"  # one line
    assert result.checks[2].detail == "pod p not found (apply first)"
    assert "expected (ok, detail)" in result.checks[3].detail
    assert result.checks[5].detail == NOT_IMPLEMENTED
    assert all(c.seconds >= 0 for c in result.checks)
    assert result.ok is False
    assert events.count(("check", "fake")) == 6 and events.count(("checked", "fake")) == 6
    # verify only observes: nothing applied or deleted during it
    assert kube.calls[applied_calls:] == []


def test_verify_all_passing_and_json_and_lines(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path, checks=[ok_check("a"), ok_check("b", detail="")]))
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


def test_verify_refuses_a_lab_that_is_not_applied(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path, checks=[ok_check("a")]))
    with pytest.raises(KubetmError, match="not applied"):
        labs.verify(FakeKube(), "fake")


def test_lab_without_checks_is_not_ok(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path))
    kube = FakeKube()
    labs.apply(kube, "fake")
    assert labs.verify(kube, "fake").ok is False


# ------------------------------------------------------------------------ apply/delete

def test_apply_applies_folder_but_not_steps_and_steps_on_demand(tmp_path, fake_registry):
    def use_step(ctx: LabContext):
        ctx.apply_step("extra")
        return ctx.kube.get("ConfigMap", "extra", ctx.namespace) is not None, "step applied"

    fake_registry(_lab(tmp_path, checks=[Check("step", use_step)]))
    kube = FakeKube()
    labs.apply(kube, "fake")
    assert ("ConfigMap", "kubetm-lab-fake", "extra") not in kube.objects
    assert ("Pod", "kubetm-lab-fake", "p") in kube.objects
    assert labs.verify(kube, "fake").ok


def test_apply_rewrites_registry(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path, checks=[ok_check("a")]))
    kube = FakeKube()
    labs.apply(kube, "fake", registry="reg.example:5000")
    pod = kube.objects[("Pod", "kubetm-lab-fake", "p")]
    assert pod["spec"]["containers"][0]["image"] == "reg.example:5000/kubetm/hello:1.0"


def test_apply_rechecks_course_node_labels(tmp_path, fake_registry, monkeypatch):
    lab = fake_registry(_lab(tmp_path, name="pinned", checks=[ok_check("a")]))
    (lab.folder / "20-pinned.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: kubetm-lab-pinned}\n"
        "spec:\n  nodeSelector: {kubetm.io/course-node: k8s-node1}\n  containers: [{name: c, image: x}]\n")
    seen = []
    from kubetm import nodes

    monkeypatch.setattr(nodes, "ensure_course_labels", lambda kube: seen.append(kube) or {})
    kube = FakeKube()
    labs.apply(kube, "pinned")
    assert seen == [kube]


def test_broken_manifest_is_refused_before_any_api_call(tmp_path, fake_registry):
    lab = fake_registry(_lab(tmp_path, checks=[ok_check("a")]))
    (lab.folder / "steps" / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {}\n")
    kube = FakeKube()
    with pytest.raises(KubetmError, match="broken.yaml"):
        labs.apply(kube, "fake")
    with pytest.raises(KubetmError, match="broken.yaml"):
        labs.run(kube, "fake")
    assert kube.calls == []


def test_delete_removes_namespaces_and_labelled_cluster_objects_and_runs_cleanup(tmp_path, fake_registry):
    cleaned = []
    fake_registry(_lab(tmp_path, checks=[ok_check("a")], cleanup=lambda ctx: cleaned.append(ctx.lab.name)))
    kube = FakeKube()
    labs.apply(kube, "fake")
    kube.apply([{"apiVersion": "v1", "kind": "PersistentVolume",
                 "metadata": {"name": "someone-elses", "labels": {"kubetm.io/lab": "other"}}}])
    labs.delete(kube, "fake")
    assert cleaned == ["fake"]
    assert list(kube.objects) == [("PersistentVolume", None, "someone-elses")]
    assert ("wait", ("Namespace", "kubetm-lab-fake")) in kube.calls
    assert ("wait", ("PersistentVolume", "kubetm-lab-fake-pv")) in kube.calls
    labs.delete(kube, "fake")  # idempotent


def test_delete_refuses_a_foreign_namespace(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path, checks=[ok_check("a")]))
    kube = FakeKube()
    kube.objects[("Namespace", None, "kubetm-lab-fake")] = {
        "kind": "Namespace", "metadata": {"name": "kubetm-lab-fake", "labels": {}}}
    with pytest.raises(KubetmError, match="not created by kubetm"):
        labs.delete(kube, "fake")
    assert ("Namespace", None, "kubetm-lab-fake") in kube.objects


# --------------------------------------------------------------------------------- run

def test_run_applies_verifies_deletes(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path, checks=[ok_check("a")]))
    kube = FakeKube()
    [result] = labs.run(kube, "fake")
    assert result.ok and kube.objects == {}
    kinds = [c[0] for c in kube.calls]
    assert kinds.index("apply") < kinds.index("delete")


def test_run_deletes_on_failure_and_keep_keeps(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path, checks=[bad_check("a")]))
    kube = FakeKube()
    [result] = labs.run(kube, "fake")
    assert not result.ok and kube.objects == {}
    [result] = labs.run(kube, "fake", keep=True)
    assert not result.ok and ("Pod", "kubetm-lab-fake", "p") in kube.objects


def test_run_deletes_when_apply_fails(tmp_path, fake_registry):
    fake_registry(_lab(tmp_path, checks=[ok_check("a")]))

    class Refusing(FakeKube):
        def apply(self, objs):
            super().apply(objs[:1])
            raise KubetmError("apply pod/p: forbidden")

    kube = Refusing()
    [result] = labs.run(kube, "fake")
    assert not result.ok and "forbidden" in result.error
    assert result.to_dict()["error"] == result.error
    assert kube.objects == {}


def test_run_deletes_on_ctrl_c(tmp_path, fake_registry):
    def interrupt(ctx):
        raise KeyboardInterrupt

    fake_registry(_lab(tmp_path, checks=[Check("ctrl-c", interrupt)]))
    kube = FakeKube()
    with pytest.raises(KeyboardInterrupt):
        labs.run(kube, "fake")
    assert kube.objects == {}
    with pytest.raises(KeyboardInterrupt):
        labs.run(kube, "fake", keep=True)
    assert ("Pod", "kubetm-lab-fake", "p") in kube.objects


def test_run_all_uses_a_pool_and_runs_exclusive_labs_alone(tmp_path, fake_registry):
    active: set[str] = set()
    overlaps: list[tuple[str, frozenset]] = []
    max_active = [0]
    lock = threading.Lock()

    def tracked(name):
        def fn(ctx):
            with lock:
                active.add(ctx.lab.name)
                max_active[0] = max(max_active[0], len(active))
                overlaps.append((ctx.lab.name, frozenset(active)))
            time.sleep(0.2)
            with lock:
                active.discard(ctx.lab.name)
            return True, ""
        return Check(name, fn)

    for n in ("one", "two", "three"):
        fake_registry(_lab(tmp_path, name=n, checks=[tracked("c")]))
    fake_registry(_lab(tmp_path, name="node-breaker", checks=[tracked("c")],
                       exclusive=True, exclusive_reason="stops a node"))
    fake_registry(_lab(tmp_path, name="four", checks=[tracked("c")]))

    class WithDiscovery(FakeKube):
        def resource(self, kind, api_version=None):
            self.calls.append(("resource", kind, threading.current_thread() is threading.main_thread()))

    kube = WithDiscovery()
    results = labs.run(kube, "all", workers=3)
    assert [r.lab for r in results] == ["one", "two", "three", "node-breaker", "four"]  # order asked
    assert all(r.ok for r in results)
    assert max_active[0] >= 2  # shared labs overlapped (observed, not timed)
    discovery = [i for i, c in enumerate(kube.calls) if c[0] == "resource"]
    assert discovery and all(kube.calls[i][2] for i in discovery)  # warmed on the main thread
    assert max(discovery) < min(i for i, c in enumerate(kube.calls) if c[0] == "apply")
    assert {c[1] for c in kube.calls if c[0] == "resource"} >= {"Namespace", "Pod", "ConfigMap", "Node"}
    for lab, others in overlaps:
        if lab == "node-breaker":
            assert others == {"node-breaker"}
        else:
            assert "node-breaker" not in others
    assert kube.objects == {}


def test_run_all_one_broken_lab_does_not_stop_the_others(tmp_path, fake_registry):
    def explode(ctx):
        raise ValueError("bug in a check")

    fake_registry(_lab(tmp_path, name="good", checks=[ok_check("a")]))
    fake_registry(_lab(tmp_path, name="bad", checks=[Check("a", explode)]))
    results = labs.run(FakeKube(), ["good", "bad"], workers=2)
    assert [(r.lab, r.ok) for r in results] == [("good", True), ("bad", False)]
    assert results[1].checks[0].detail == "ValueError: bug in a check"
    payload = labs.as_json(results, ["good", "bad"])
    assert [p["lab"] for p in payload] == ["good", "bad"]


def test_run_all_ctrl_c_cleans_up_started_labs(tmp_path, fake_registry, monkeypatch):
    gate = threading.Event()

    def slow(ctx):
        gate.wait(5)
        ctx.check_cancelled()
        return True, ""

    for n in ("one", "two"):
        fake_registry(_lab(tmp_path, name=n, checks=[Check("slow", slow), ok_check("after")]))
    kube = FakeKube()
    real_pool = runner._pool

    def interrupted_pool(labs_, fn, workers, cancel):
        threading.Timer(0.3, gate.set).start()
        t = threading.Thread(target=real_pool, args=(labs_, fn, workers, cancel), daemon=True)
        t.start()
        time.sleep(0.2)  # both labs applied, checks waiting
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_pool", interrupted_pool)
    with pytest.raises(KeyboardInterrupt):
        labs.run(kube, "all", workers=2)
    assert not any(k[0] == "Namespace" for k in kube.objects)  # both started labs deleted


def test_unknown_lab_lists_valid_names():
    with pytest.raises(KubetmError) as err:
        labs.show("pods")
    assert "unknown lab 'pods'" in err.value.message
    assert "pod, service, volume" in err.value.hint
    for fn in (lambda: labs.run(FakeKube(), ["pod", "nope"]), lambda: labs.verify(FakeKube(), "nope"),
               lambda: labs.apply(FakeKube(), "nope"), lambda: labs.delete(FakeKube(), "nope")):
        with pytest.raises(KubetmError, match="unknown lab 'nope'"):
            fn()
    with pytest.raises(KubetmError):
        labs.run(FakeKube(), ["all", "pod"])


# ------------------------------------------------------------------ the real course labs

LAB_NAMES = ["pod", "service", "volume", "config", "namespace", "replicaset", "daemonset-job-cronjob",
             "probes", "autoscaling", "helm-basics", "helm-templates", "helm-hooks"]


def test_registry_lists_the_course_labs_in_order():
    assert labs.names() == LAB_NAMES
    rows = labs.list_labs()
    assert [r["name"] for r in rows] == LAB_NAMES
    assert {r["name"] for r in rows if r["exclusive"]} == {"replicaset", "daemonset-job-cronjob"}


@pytest.mark.parametrize("name", LAB_NAMES)
def test_show_every_lab(name):
    info = labs.show(name)
    assert info["title"] and info["lesson"] and info["checks"]
    assert info["namespaces"][0] == f"kubetm-lab-{name}"
    assert f"Namespace/kubetm-lab-{name}" in info["objects"]
    assert len(info["lessons"]) == len(list((MANIFESTS / name).glob("*.yaml"))) + \
        len(list((MANIFESTS / name).glob("steps/*.yaml")))  # every file names its lesson
    assert labs.render_show(info).startswith(f"{name}: ")


@pytest.mark.parametrize("name", LAB_NAMES)
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


# ------------------------------------------------------------------------- manifests

def _manifest_files():
    return sorted(p for name in LAB_NAMES for p in (MANIFESTS / name).rglob("*.yaml"))


def _docs(path):
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _schema_errors(value, typ, path, models):
    """Unknown fields and wrong shapes against the kubernetes client's OpenAPI models."""
    errors = []
    typ = typ.replace("List[", "list[").replace("Dict[", "dict(")  # newer clients write typing names
    if typ.startswith("dict(") and typ.endswith("]"):
        typ = typ[:-1] + ")"
    if typ.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        for i, v in enumerate(value):
            errors += _schema_errors(v, typ[5:-1], f"{path}[{i}]", models)
    elif typ.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping"]
        inner = typ[5:-1].split(", ", 1)[1]
        for k, v in value.items():
            errors += _schema_errors(v, inner, f"{path}.{k}", models)
    elif typ == "str":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {value!r} (quote it)")
    elif typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: expected an integer, got {value!r}")
    elif typ == "bool":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected true/false, got {value!r}")
    elif typ in ("object", "float", "datetime", "date"):
        pass
    else:
        cls = getattr(models, typ)
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping ({typ})"]
        json_to_attr = {v: k for k, v in cls.attribute_map.items()}
        for k, v in value.items():
            if k not in json_to_attr:
                errors.append(f"{path}.{k}: unknown field of {typ}")
                continue
            errors += _schema_errors(v, cls.openapi_types[json_to_attr[k]], f"{path}.{k}", models)
    return errors


def test_every_manifest_is_plain_valid_kubernetes_yaml():
    from kubernetes.client import models

    files = _manifest_files()
    assert len(files) >= 40
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# 강의:"), f"{path}: first line names the lesson"
        for doc in _docs(path):
            assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), path
            version = doc["apiVersion"].split("/")[-1]
            cls_name = version[0].upper() + version[1:] + doc["kind"]
            errors = _schema_errors(doc, cls_name, f"{path.relative_to(REPO)}:{doc['kind']}/{doc['metadata']['name']}",
                                    models)
            assert not errors, "\n".join(errors)


def test_manifests_follow_the_conventions():
    seen_nodeports: dict[int, str] = {}
    for path in _manifest_files():
        lab = path.relative_to(MANIFESTS).parts[0]
        for doc in _docs(path):
            meta = doc["metadata"]
            where = f"{path.relative_to(REPO)} {doc['kind']}/{meta['name']}"
            labels = meta.get("labels") or {}
            assert labels.get("app.kubernetes.io/managed-by") == "kubetm", where
            assert labels.get("kubetm.io/lab") == lab, where
            if doc["kind"] in ("Namespace", "PersistentVolume"):
                assert "namespace" not in meta, where
                assert meta["name"].startswith(f"kubetm-lab-{lab}"), where
            else:
                assert meta.get("namespace", "").startswith(f"kubetm-lab-{lab}"), where
            if doc["kind"] == "PersistentVolume":
                terms = doc["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
                assert terms[0]["matchExpressions"][0]["key"] == "kubetm.io/course-node", where
            for port in (doc.get("spec") or {}).get("ports") or []:
                if "nodePort" in port:
                    assert RESERVED_NODEPORTS.get(port["nodePort"]) == lab, where
                    assert port["nodePort"] not in seen_nodeports, where
                    seen_nodeports[port["nodePort"]] = where
            _check_pod_specs(doc, where)


def _check_pod_specs(obj, where):
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for key in ("containers", "initContainers"):
                for c in cur.get(key) or []:
                    assert c["image"] in COURSE_IMAGES, f"{where}: image {c['image']} is not a course image"
            sel = cur.get("nodeSelector")
            if isinstance(sel, dict) and "kubetm.io/course-node" in sel:
                assert sel["kubetm.io/course-node"] in ("k8s-node1", "k8s-node2"), where
            if "hostPort" in cur:
                assert cur["hostPort"] == 18080, where
            stack.extend(v for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            stack.extend(cur)


def test_manifests_load_through_kubetm_manifests():
    from kubetm import manifests

    for name in LAB_NAMES:
        objs = manifests.load(MANIFESTS / name)
        assert objs[0]["kind"] == "Namespace"
        assert not any(o["metadata"]["name"] in ("pod-port-conflict", "load", "replica-1", "pod-volume-4")
                       for o in objs), "step objects must not be applied with the lab"


def test_apply_goes_file_by_file_so_lessons_that_need_order_hold(monkeypatch):
    from kubetm import nodes

    monkeypatch.setattr(nodes, "ensure_course_labels", lambda kube: {})

    class Batches(FakeKube):
        def __init__(self):
            super().__init__()
            self.batches = []

        def apply(self, objs):
            self.batches.append([o["kind"] for o in objs])
            return super().apply(objs)

    kube = Batches()
    labs.apply(kube, "volume")
    pv_batch = next(i for i, b in enumerate(kube.batches) if "PersistentVolume" in b)
    pvc_batch = next(i for i, b in enumerate(kube.batches) if "PersistentVolumeClaim" in b)
    assert kube.batches[0] == ["Namespace"] and pv_batch < pvc_batch
    assert "PersistentVolumeClaim" not in kube.batches[pv_batch]
    # every PV is seen by the PV controller (watched out of phase Pending) before any claim exists
    first_claim = next(i for i, c in enumerate(kube.calls) if c[0] == "apply" and c[1][0] == "PersistentVolumeClaim")
    pvs = {c[1][2] for c in kube.calls if c[0] == "apply" and c[1][0] == "PersistentVolume"}
    waited = {c[1][1] for c in kube.calls[:first_claim] if c == ("wait", ("PersistentVolume", c[1][1]))}
    assert pvs and waited == pvs
    kube = Batches()
    labs.apply(kube, "namespace")
    lr = next(i for i, b in enumerate(kube.batches) if "LimitRange" in b)
    quota = next(i for i, b in enumerate(kube.batches) if "ResourceQuota" in b)
    assert lr < quota and "Pod" not in kube.batches[lr]
