"""The helm-* labs without a cluster: their charts (static), helmkit's flags, Secrets and cleanup
hook against a fake kube and a fake `helm` on PATH."""
from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest
import yaml

from kubetm.labs import helmkit, registry, runner
from kubetm.labs.base import LabContext

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
HELM_LABS = ("helm-basics", "helm-templates", "helm-hooks")
COURSE_IMAGES = {"app:v1", "app:v2", "app:v3", "init:1.0", "hello:1.0", "ports:1.0"}


def test_the_helm_labs_are_registered_in_course_order_after_the_kubernetes_labs():
    names = registry.names()
    assert [n for n in names if n.startswith("helm-")] == list(HELM_LABS)
    assert names.index("helm-basics") > names.index("autoscaling")


@pytest.mark.parametrize("lab", HELM_LABS)
def test_each_helm_lab_shows_and_every_check_is_implemented(lab):
    info = runner.show(lab)
    assert info["namespaces"][0] == f"kubetm-lab-{lab}"
    assert info["checks"] and all(c["implemented"] for c in info["checks"])
    assert "reconstructed" in info["lesson"]            # the course pages could not be read
    assert registry.get(lab).cleanup is not None        # releases, CRDs, helm-made namespaces


def test_chart_analysis_is_listed_as_not_covered_with_why():
    lesson = runner.show("helm-hooks")["lesson"]
    assert "Not covered" in lesson and "03-chart-analysis" in lesson and "tomcat" in lesson


@pytest.mark.parametrize("chart", ["mychart", "hookchart"])
def test_charts_are_helm_3_charts_whose_versions_the_labs_install(chart):
    meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == chart
    from kubetm.labs import helm_basics, helm_hooks, helm_templates

    wanted = helm_hooks.VERSION if chart == "hookchart" else helm_basics.VERSION
    assert meta["version"] == wanted
    if chart == "mychart":
        assert helm_templates.VERSION == wanted


def test_mychart_values_files_differ_where_the_precedence_check_looks():
    base = yaml.safe_load((CHARTS / "mychart" / "values.yaml").read_text())
    prod = yaml.safe_load((CHARTS / "mychart" / "values_prod.yaml").read_text())
    assert base["replicaCount"] != prod["replicaCount"]
    for key in ("MESSAGE", "ENVIRONMENT"):
        assert base["configmap"]["data"][key] != prod["configmap"]["data"][key]
    assert "image" not in prod       # the image tag shows what only values.yaml sets


def test_chart_images_are_course_images():
    base = yaml.safe_load((CHARTS / "mychart" / "values.yaml").read_text())
    assert base["image"]["repository"] == "localhost:5001/kubetm/app" and f"app:{base['image']['tag']}" in COURSE_IMAGES
    hooks = yaml.safe_load((CHARTS / "hookchart" / "values.yaml").read_text())
    assert hooks["image"]["registry"] == "localhost:5001"
    for ref in (hooks["image"]["app"], hooks["image"]["shell"]):
        assert ref.startswith("kubetm/") and ref.removeprefix("kubetm/") in COURSE_IMAGES


def test_hookchart_weights_make_a_different_order_than_names():
    v = yaml.safe_load((CHARTS / "hookchart" / "values.yaml").read_text())
    for group in ("weighted", "misspelled"):
        by_weight = [h["name"] for h in sorted(v[group], key=lambda h: int(h["weight"]))]
        by_name = sorted(h["name"] for h in v[group])
        assert by_weight != by_name, f"{group}: weights must change the order, or the check proves nothing"
    text = (CHARTS / "hookchart" / "templates" / "hooks-install.yaml").read_text()
    assert '"helm.sh/hook-weight"' in text and '"helm.sh/weight"' in text


def test_the_hookchart_crd_is_the_one_the_cleanup_deletes():
    from kubetm.labs import helm_hooks

    crd = yaml.safe_load((CHARTS / "hookchart" / "crds" / "crontabs.yaml").read_text())
    assert crd["metadata"]["name"] == helm_hooks.CRD
    assert re.search(r"\{\{", (CHARTS / "hookchart" / "crds" / "crontabs.yaml").read_text()) is None


def test_mychart_rolls_on_config_checksum_and_random_annotation():
    text = (CHARTS / "mychart" / "templates" / "deployment.yaml").read_text()
    assert 'checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}' in text
    assert "randAlphaNum" in text
    # the checksum covers only the app's configuration, not the per-revision release info
    assert ".Release.Revision" not in (CHARTS / "mychart" / "templates" / "configmap.yaml").read_text()


# ------------------------------------------------------------------------- helmkit, fakes

class FakeKube:
    context = "kind-test"
    kubeconfig = None

    def __init__(self, objects=()):
        self.objects = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
        self.deleted: list[tuple[str, str]] = []

    def get(self, kind, name, namespace=None, api_version=None):
        return self.objects.get((kind, namespace, name))

    def list(self, kind, namespace=None, selector=None, **_):
        sel = selector or {}
        return [o for (k, ns, _n), o in self.objects.items() if k == kind and ns == namespace
                and all((o["metadata"].get("labels") or {}).get(a) == b for a, b in sel.items())]

    def apply(self, objs):
        for o in objs:
            key = (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
            old = self.objects.get(key, {"kind": o["kind"], "metadata": {"name": o["metadata"]["name"]}})
            labels = {**(old["metadata"].get("labels") or {}), **(o["metadata"].get("labels") or {})}
            self.objects[key] = {**old, "metadata": {**old["metadata"], "labels": labels}}
        return []

    def delete(self, objs, **_):
        for o in objs:
            self.deleted.append((o["kind"], o["metadata"]["name"]))
        return []


FAKE_HELM = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_HELM_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


@pytest.fixture
def fake_helm(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "helm").write_text(FAKE_HELM)
    (bindir / "helm").chmod(0o755 | stat.S_IEXEC)
    monkeypatch.setenv("KUBETM_HELM", str(bindir / "helm"))
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_HELM_LOG", str(log))
    return lambda: [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def _release_secret(release, namespace, revision=1, typ="helm.sh/release.v1"):
    return {"kind": "Secret", "type": typ, "metadata": {
        "name": f"sh.helm.release.v1.{release}.v{revision}", "namespace": namespace,
        "labels": {"owner": "helm", "name": release, "version": str(revision)}}}


def _ns(name, labels=None):
    return {"kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def test_cleanup_uninstalls_every_release_marks_helm_made_namespaces_and_deletes_crds(fake_helm, monkeypatch):
    lab = registry.get("helm-basics")
    ns, nm1 = lab.namespaces
    kube = FakeKube([_ns(ns, {"kubetm.io/lab": "helm-basics", "app.kubernetes.io/managed-by": "kubetm"}),
                     _ns(nm1, {"kubernetes.io/metadata.name": nm1}),
                     _release_secret("basics", ns, 3), _release_secret("basics", ns, 4),
                     _release_secret("missing", ns), _release_secret("nm1", nm1),
                     _release_secret("other", ns, typ="Opaque")])
    ctx = LabContext(kube=kube, lab=lab, timeout=30)
    helmkit.cleanup_releases(ctx, crds=("crontabs.helm.kubetm.io",))
    uninstalled = [(c[1], c[c.index("--namespace") + 1]) for c in fake_helm() if c[0] == "uninstall"]
    assert uninstalled == [("basics", ns), ("missing", ns), ("nm1", nm1)]
    assert all("--kube-context" in c and c[c.index("--kube-context") + 1] == "kind-test" for c in fake_helm())
    # the namespace helm made now carries the lab label, so `lab delete` may delete it
    assert kube.get("Namespace", nm1)["metadata"]["labels"]["kubetm.io/lab"] == "helm-basics"
    assert kube.deleted == [("CustomResourceDefinition", "crontabs.helm.kubetm.io")]


def test_cleanup_calls_no_helm_when_nothing_is_installed(fake_helm):
    lab = registry.get("helm-templates")
    helmkit.cleanup_releases(LabContext(kube=FakeKube(), lab=lab, timeout=30))
    kube = FakeKube([_ns(lab.namespace, {"kubetm.io/lab": lab.name})])
    helmkit.cleanup_releases(LabContext(kube=kube, lab=lab, timeout=30))
    assert fake_helm() == []


def test_release_secrets_are_helms_type_in_revision_order():
    kube = FakeKube([_release_secret("web", "ns", 10), _release_secret("web", "ns", 9),
                     _release_secret("web", "ns", 2, typ="Opaque")])
    ctx = LabContext(kube=kube, lab=registry.get("helm-basics"))
    assert helmkit.release_secrets(ctx, "web", namespace="ns") == ["sh.helm.release.v1.web.v9",
                                                                     "sh.helm.release.v1.web.v10"]


def test_chart_sets_label_every_object_with_the_lab_and_rewrite_the_registry():
    lab = registry.get("helm-templates")
    default = helmkit.chart_sets(LabContext(kube=None, lab=lab), "mychart")
    assert default == ["--set", "commonLabels.kubetm\\.io/lab=helm-templates"]
    other = helmkit.chart_sets(LabContext(kube=None, lab=lab, registry="reg.example:5000"), "mychart")
    assert other[-2:] == ["--set", "image.repository=reg.example:5000/kubetm/app"]
    hooks = helmkit.chart_sets(LabContext(kube=None, lab=lab, registry="reg.example:5000"), "hookchart")
    assert hooks[-2:] == ["--set", "image.registry=reg.example:5000"]
    assert helmkit.oci_repo(LabContext(kube=None, lab=lab)) == "oci://localhost:5001/charts"


def test_unknown_chart_is_one_line_with_a_hint():
    from kubetm.errors import KubetmError

    with pytest.raises(KubetmError, match="chart nope not found"):
        helmkit.chart_dir("nope")


def test_helm_refuses_a_kube_without_a_context_instead_of_using_helms_default(fake_helm):
    """A fake or unconfigured handle must never make helm act on the current kubeconfig context."""
    from kubetm.errors import KubetmError

    class NoContext(FakeKube):
        context = None

    ctx = LabContext(kube=NoContext(), lab=registry.get("helm-basics"))
    with pytest.raises(KubetmError, match="helm needs the kubeconfig context"):
        helmkit.helm(ctx, ["list"])
    assert fake_helm() == []


def test_the_phase1_fake_cluster_run_of_a_helm_lab_reaches_no_helm(monkeypatch, tmp_path):
    """tests/unit/test_labs.py verifies every lab on an in-memory kube; the helm labs must fail
    there without running helm against whatever cluster the kubeconfig points at."""
    from kubetm import labs

    log = tmp_path / "calls"
    spy = tmp_path / "helm"
    spy.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv) + '\\n')\n")
    spy.chmod(0o755)
    monkeypatch.setenv("KUBETM_HELM", str(spy))

    class Kube(FakeKube):
        context = None

        def watch_until(self, *a, **k):
            return None

    kube = Kube([])
    for lab in HELM_LABS:
        kube.objects[("Namespace", None, f"kubetm-lab-{lab}")] = _ns(f"kubetm-lab-{lab}", {"kubetm.io/lab": lab})
        result = labs.verify(kube, lab)
        assert not result.ok and all("helm needs the kubeconfig context" in c.detail or not c.ok
                                     for c in result.checks)
    assert not log.exists(), log.read_text()
