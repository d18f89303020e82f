"""e2e: the helm-* labs leave nothing behind — after `lab delete` and after Ctrl-C.

(`tests/e2e/test_lab_run_all.py` runs every lab of the catalog, the helm ones included: each check passes,
among them the bad-input checks template-error, values-not-yaml and missing-chart-version.)
kubectl is the oracle; helm itself is not needed by the test.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from kubetm.labs import catalog

from .conftest import CONTEXT, kubectl, lab_shares
from .test_labs import REPO, kubetm

CRDS = ("crontabs.helm.kubetm.io", "widgets.helm.kubetm.io")


def _leftovers(lab: str) -> list[str]:
    found = []
    present = set(kubectl("get", "namespaces", "-o", "name").split())
    found += [
        f"namespace {ns}" for ns in catalog.get(lab).namespaces if f"namespace/{ns}" in present
    ]
    secrets = json.loads(kubectl("get", "secrets", "-A", "-l", "owner=helm", "-o", "json"))["items"]
    found += [
        f"secret {s['metadata']['namespace']}/{s['metadata']['name']}"
        for s in secrets
        if s["metadata"]["namespace"].startswith(f"kubetm-lab-{lab}")
    ]
    crds = kubectl("get", "crd", "-o", "name").split()
    found += [c for c in crds if c.split("/", 1)[-1] in CRDS]
    pvs = kubectl("get", "pv", "-l", f"kubetm.io/lab={lab}", "-o", "name").split()
    return found + pvs


@pytest.mark.timeout(900)
@pytest.mark.shares(
    *lab_shares("helm-basics"), *catalog.get("helm-hooks").shares
)  # _leftovers: CRDs
def test_lab_delete_after_keep_leaves_no_release_secret_namespace_or_crd(cluster):
    lab = "helm-basics"
    cp = kubetm("lab", "run", lab, "--keep", "-o", "json", timeout=600)
    assert cp.returncode == 0, cp.stderr[-1500:]
    kept = _leftovers(lab)
    assert any(x.startswith("secret ") for x in kept), f"--keep kept no release: {kept}"
    assert f"namespace {catalog.get(lab).namespaces[1]}" in kept, (
        kept
    )  # made by helm --create-namespace
    cp = kubetm("lab", "delete", lab, timeout=400)
    assert cp.returncode == 0, cp.stderr[-1500:]
    assert _leftovers(lab) == []


@pytest.mark.timeout(900)
@pytest.mark.shares(*lab_shares("helm-hooks"))
def test_ctrl_c_during_a_helm_lab_leaves_nothing(cluster):
    lab = "helm-hooks"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubetm", "--context", CONTEXT, "lab", "run", lab],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # test-side polling: wait for the CRD from crds/
            if f"customresourcedefinition.apiextensions.k8s.io/{CRDS[0]}" in kubectl(
                "get", "crd", "-o", "name"
            ):
                break
            assert proc.poll() is None, f"lab run ended early: {proc.communicate()[1][-1500:]}"
            time.sleep(1)
        else:
            pytest.fail("the helm-hooks release never installed its CRD")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-1500:]
    assert "Traceback" not in err
    assert _leftovers(lab) == []


def _broken_chart(tmp_path):
    import shutil

    chart = tmp_path / "mychart"
    shutil.copytree(REPO / "charts" / "mychart", chart)
    (chart / "templates" / "broken.yaml").write_text("x: {{ .Values.image.tag | nosuchfunc }}\n")
    return ["install", "broken", str(chart)], 'function "nosuchfunc" not defined'


def _values_not_yaml(tmp_path):
    bad = tmp_path / "values.yaml"
    bad.write_text("replicaCount: [2\n")
    return [
        "install",
        "badvalues",
        str(REPO / "charts" / "mychart"),
        "-f",
        str(bad),
    ], "error converting YAML to JSON"


def _missing_version(tmp_path):
    from .conftest import REGISTRY

    return (
        [
            "install",
            "missing",
            f"oci://{REGISTRY}/charts/mychart",
            "--version",
            "9.9.9",
            "--plain-http",
        ],
        "mychart:9.9.9: not found",
    )


@pytest.mark.parametrize(
    "case",
    [_broken_chart, _values_not_yaml, _missing_version],
    ids=["template-error", "values-not-yaml", "missing-chart-version"],
)
def test_bad_input_to_helm_is_one_line_and_installs_nothing(cluster, namespace, tmp_path, case):
    """The issue's three bad inputs through kubetm's helm adapter (what every helm lab calls):
    helm exits non-zero, kubetm raises one line naming Helm's error, kubectl finds nothing."""
    from kubetm.errors import CommandFailed
    from kubetm.host.helm import helm

    args, words = case(tmp_path)
    with pytest.raises(CommandFailed) as e:
        helm(args, kube_context=CONTEXT, namespace=namespace, timeout=120)
    assert e.value.returncode not in (0, None)
    message = str(e.value)
    assert (
        "\n" not in message and message.startswith("helm install failed: ") and words in message
    ), message
    assert (
        kubectl(
            "-n",
            namespace,
            "get",
            "secrets,configmaps,deployments,services",
            "-l",
            "app.kubernetes.io/managed-by=Helm",
            "-o",
            "name",
        ).strip()
        == ""
    )
    assert (
        kubectl("-n", namespace, "get", "secrets", "-l", "owner=helm", "-o", "name").strip() == ""
    )
