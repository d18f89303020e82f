"""kubetm/labs/helmkit.py: what the helm-* labs share (charts/ lookup, helm flags, release Secrets,
the cleanup hook), against the shared FakeKube and a fake `helm` (KUBETM_HELM); the course charts'
static shape and that all three helm labs are registered and fully implemented. No cluster."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from fakekube import FakeKube

from kubetm import labs
from kubetm.errors import KubetmError
from kubetm.labs import catalog, helmkit, runner
from kubetm.labs.base import LabContext

from .conftest import REPO

CHARTS = REPO / "charts"
HELM_LABS = ("helm-basics", "helm-templates", "helm-hooks")
COURSE_IMAGES = {"app:v1", "app:v2", "app:v3", "init:1.0", "hello:1.0", "ports:1.0"}


class HelmKube(FakeKube):
    """The shared FakeKube with the kubeconfig context helm is pointed at."""

    context: str | None = "kind-test"
    kubeconfig = None


FAKE_HELM = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_HELM_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


@pytest.fixture
def fake_helm(tmp_path, monkeypatch):
    """A helm that only logs its arguments; returns a function reading the calls."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "helm").write_text(FAKE_HELM)
    (bindir / "helm").chmod(0o755)
    monkeypatch.setenv("KUBETM_HELM", str(bindir / "helm"))
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_HELM_LOG", str(log))
    return lambda: [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def _release_secret(release, namespace, revision=1, typ="helm.sh/release.v1"):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": typ,
        "metadata": {
            "name": f"sh.helm.release.v1.{release}.v{revision}",
            "namespace": namespace,
            "labels": {"owner": "helm", "name": release, "version": str(revision)},
        },
    }


def _ns(name, labels=None):
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}},
    }


def _kube(*objs, cls=HelmKube) -> FakeKube:
    kube = cls()
    kube.apply(list(objs))
    return kube


# ------------------------------------------------------------------------- the labs, registered


def test_the_helm_labs_are_registered_in_course_order_after_the_kubernetes_labs():
    names = catalog.names()
    assert [n for n in names if n.startswith("helm-")] == list(HELM_LABS)
    assert names.index("helm-basics") > names.index("autoscaling")


@pytest.mark.parametrize("lab", HELM_LABS)
def test_each_helm_lab_shows_and_every_check_is_implemented(lab):
    info = runner.show(lab)
    assert info["namespaces"][0] == f"kubetm-lab-{lab}"
    assert info["checks"] and all(c["implemented"] for c in info["checks"])
    assert "reconstructed" in info["lesson"]  # the course pages could not be read
    assert catalog.get(lab).cleanup is not None  # releases, CRDs, helm-made namespaces


# ------------------------------------------------------------------------------ charts/


def test_charts_are_found_through_the_data_folders(monkeypatch, tmp_path):
    assert helmkit.chart_root().resolve() == CHARTS.resolve()
    assert helmkit.chart_dir("mychart") == helmkit.chart_root() / "mychart"
    (tmp_path / "mychart").mkdir()
    (tmp_path / "mychart" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: mychart\nversion: 0.0.1\n"
    )
    monkeypatch.setenv("KUBETM_CHARTS_DIR", str(tmp_path))
    assert helmkit.chart_dir("mychart") == tmp_path / "mychart"


def test_unknown_chart_is_one_line_with_a_hint():
    with pytest.raises(KubetmError, match="chart nope not found") as e:
        helmkit.chart_dir("nope")
    assert "\n" not in str(e.value) and e.value.hint


def test_a_missing_charts_folder_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBETM_CHARTS_DIR", str(tmp_path / "gone"))
    with pytest.raises(KubetmError, match=r"kubetm's charts/ folder is missing"):
        helmkit.chart_dir("mychart")


@pytest.mark.parametrize("chart", ["mychart", "hookchart"])
def test_charts_are_helm_3_charts_whose_versions_the_labs_install(chart):
    from kubetm.labs import helm_basics, helm_hooks, helm_templates

    meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == chart
    wanted = helm_hooks.VERSION if chart == "hookchart" else helm_basics.VERSION
    assert meta["version"] == wanted
    if chart == "mychart":
        assert helm_templates.VERSION == wanted


def test_chart_images_are_course_images():
    base = yaml.safe_load((CHARTS / "mychart" / "values.yaml").read_text())
    assert base["image"]["repository"] == "localhost:5001/kubetm/app"
    assert f"app:{base['image']['tag']}" in COURSE_IMAGES
    hooks = yaml.safe_load((CHARTS / "hookchart" / "values.yaml").read_text())
    assert hooks["image"]["registry"] == "localhost:5001"
    for ref in (hooks["image"]["app"], hooks["image"]["shell"]):
        assert ref.startswith("kubetm/") and ref.removeprefix("kubetm/") in COURSE_IMAGES


# ------------------------------------------------------------------------ helm flags, Secrets


def test_chart_sets_label_every_object_with_the_lab_and_rewrite_the_registry():
    lab = catalog.get("helm-templates")
    default = helmkit.chart_sets(LabContext(kube=None, lab=lab), "mychart")
    assert default == ["--set", "commonLabels.kubetm\\.io/lab=helm-templates"]
    other = helmkit.chart_sets(
        LabContext(kube=None, lab=lab, registry="reg.example:5000"), "mychart"
    )
    assert other[-2:] == ["--set", "image.repository=reg.example:5000/kubetm/app"]
    hooks = helmkit.chart_sets(
        LabContext(kube=None, lab=lab, registry="reg.example:5000"), "hookchart"
    )
    assert hooks[-2:] == ["--set", "image.registry=reg.example:5000"]
    assert helmkit.oci_repo(LabContext(kube=None, lab=lab)) == "oci://localhost:5001/charts"


def test_release_secrets_are_helms_type_in_revision_order():
    kube = _kube(
        _release_secret("web", "ns", 10),
        _release_secret("web", "ns", 9),
        _release_secret("web", "ns", 2, typ="Opaque"),
    )
    ctx = LabContext(kube=kube, lab=catalog.get("helm-basics"))
    assert helmkit.release_secrets(ctx, "web", namespace="ns") == [
        "sh.helm.release.v1.web.v9",
        "sh.helm.release.v1.web.v10",
    ]


def test_helm_gets_the_kubes_context_and_kubeconfig(fake_helm):
    kube = HelmKube()
    kube.kubeconfig = "/k/config"
    ctx = LabContext(kube=kube, lab=catalog.get("helm-basics"))
    helmkit.helm(ctx, ["list"])
    assert fake_helm() == [
        [
            "list",
            "--kube-context",
            "kind-test",
            "--kubeconfig",
            "/k/config",
            "--namespace",
            ctx.namespace,
        ]
    ]


def test_helm_reads_the_context_a_real_kube_settles_on_loading(fake_helm, kube):
    """kubetm.k8s.Kube without --context: loading its kubeconfig fills ``kube.context``."""
    assert kube.context is None
    ctx = LabContext(kube=kube, lab=catalog.get("helm-basics"))
    helmkit.helm(ctx, ["list"])
    (call,) = fake_helm()
    assert call[call.index("--kube-context") + 1] == kube.context and kube.context
    assert call[call.index("--kubeconfig") + 1] == kube.kubeconfig


def test_helm_refuses_a_kube_without_a_context_instead_of_using_helms_default(fake_helm):
    """A fake or unconfigured handle must never make helm act on the current kubeconfig context."""

    class NoContext(HelmKube):
        context = None

    ctx = LabContext(kube=NoContext(), lab=catalog.get("helm-basics"))
    with pytest.raises(KubetmError, match="helm needs the kubeconfig context"):
        helmkit.helm(ctx, ["list"])
    assert fake_helm() == []


# ------------------------------------------------------------------------------ cleanup hook


def test_cleanup_uninstalls_every_release_marks_helm_made_namespaces_and_deletes_crds(fake_helm):
    lab = catalog.get("helm-basics")
    ns, nm1 = lab.namespaces
    kube = _kube(
        _ns(ns, {"kubetm.io/lab": "helm-basics", "app.kubernetes.io/managed-by": "kubetm"}),
        _ns(nm1, {"kubernetes.io/metadata.name": nm1}),
        _release_secret("basics", ns, 3),
        _release_secret("basics", ns, 4),
        _release_secret("missing", ns),
        _release_secret("nm1", nm1),
        _release_secret("other", ns, typ="Opaque"),
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.helm.kubetm.io"},
        },
    )
    helmkit.cleanup_releases(
        LabContext(kube=kube, lab=lab, timeout=30), crds=("crontabs.helm.kubetm.io",)
    )
    calls = fake_helm()
    uninstalled = [(c[1], c[c.index("--namespace") + 1]) for c in calls if c[0] == "uninstall"]
    assert uninstalled == [("basics", ns), ("missing", ns), ("nm1", nm1)]
    assert all(c[c.index("--kube-context") + 1] == "kind-test" for c in calls)
    # the namespace helm made now carries the lab label, so `lab delete` may delete it
    assert kube.get("Namespace", nm1)["metadata"]["labels"]["kubetm.io/lab"] == "helm-basics"
    assert kube.get("CustomResourceDefinition", "crontabs.helm.kubetm.io") is None


def test_cleanup_calls_no_helm_when_nothing_is_installed(fake_helm):
    lab = catalog.get("helm-templates")
    helmkit.cleanup_releases(LabContext(kube=HelmKube(), lab=lab, timeout=30))
    kube = _kube(_ns(lab.namespace, {"kubetm.io/lab": lab.name}))
    helmkit.cleanup_releases(LabContext(kube=kube, lab=lab, timeout=30))
    assert fake_helm() == []


def test_a_fake_cluster_run_of_the_helm_labs_reaches_no_helm(monkeypatch, tmp_path, fake_kube):
    """The runner tests verify every lab on the shared FakeKube (no context): the helm labs must fail
    there without running helm against whatever cluster the kubeconfig points at."""
    log = tmp_path / "calls"
    spy = tmp_path / "helm"
    spy.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv) + '\\n')\n"
    )
    spy.chmod(0o755)
    monkeypatch.setenv("KUBETM_HELM", str(spy))
    for lab in HELM_LABS:
        fake_kube.apply([_ns(f"kubetm-lab-{lab}", {"kubetm.io/lab": lab})])
        result = labs.verify(fake_kube, lab)
        assert not result.ok
        assert any("helm needs the kubeconfig context" in c.detail for c in result.checks)
    assert not log.exists(), log.read_text()
