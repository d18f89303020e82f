"""kubetm/k8s/apply.py: the apply planner (results, 409 retry, dry run, interruption, journal),
delete and the interrupt clean-up; first on an in-memory dynamic client, then against a REAL
local HTTP server (tests/unit/fakeapi.py); last, Secret values never shown by `kubetm apply`
(output, API errors, --debug) unless --show-secrets."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fakeapi import status_body

from kubetm.errors import KubetmError
from kubetm.k8s import Kube, cleanup_on_interrupt

from .conftest import _ev

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {"containers": [{"name": "c"}]},
}


def test_apply_created_unchanged_configured(fake):
    k, dyn = fake
    assert [r.action for r in k.apply([POD])] == ["created"]
    assert dyn.applied[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubetm"
    assert dyn.applied[0]["metadata"]["namespace"] == "default"
    assert [r.action for r in k.apply([POD])] == ["unchanged"]
    changed = {**POD, "spec": {"containers": [{"name": "c2"}]}}
    r = k.apply([changed])[0]
    assert (r.action, r.namespace, str(r)) == ("configured", "default", "pod/default/p configured")


def test_apply_conflict_is_retried_then_reported_without_forcing(fake):
    k, dyn = fake
    dyn.conflicts = 1
    assert k.apply([POD])[0].action == "created"
    dyn.conflicts = 10
    with pytest.raises(KubetmError) as e:
        k.apply([POD])
    assert "conflict" in e.value.message and "--force-conflicts" in e.value.hint


def test_delete_waits_until_gone_and_reports_missing(fake):
    k, dyn = fake
    dyn.objs["p"] = _ev("ADDED", "p", 3)["raw_object"]
    dyn.watch_script = [[_ev("DELETED", "p", 12)]]
    results = k.delete([POD, {**POD, "metadata": {"name": "q"}}])
    assert [(r.name, r.action) for r in results] == [("p", "deleted"), ("q", "not found")]
    assert "p" not in dyn.objs


def test_kube_delete_passes_the_propagation_policy(monkeypatch):
    calls = []

    class Res:
        kind, namespaced, group_version = "ReplicationController", True, "v1"

        def delete(self, **kw):
            calls.append(kw)

    kube = Kube(namespace="lab")
    monkeypatch.setattr(kube, "resource", lambda kind, api_version=None: Res())
    obj = {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "replication-1"},
    }
    [result] = kube.delete(obj, wait=False, propagation="Orphan")
    assert result.action == "deleted"
    assert calls[0]["propagation_policy"] == "Orphan" and calls[0]["namespace"] == "lab"
    kube.delete(obj, wait=False)
    assert calls[1]["propagation_policy"] == "Foreground"
    with pytest.raises(KubetmError, match="propagation"):
        kube.delete(obj, propagation="orphan")


# ================================================== against a real local HTTP server


def test_unknown_kind_in_a_multi_object_apply_writes_nothing(api, kube):
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}},
        {"apiVersion": "widgets.example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
    ]
    with pytest.raises(KubetmError) as e:
        kube.apply(objs)
    assert "unknown kind Widget (widgets.example.com/v1)" in e.value.message
    assert api.count("PATCH") == 0


def test_dry_run_rejection_of_the_second_object_writes_nothing(api, kube):
    api.script(
        "PATCH",
        r"/configmaps/bad$",
        [
            (
                422,
                status_body(422, 'ConfigMap "bad" is invalid: data[a b]: Invalid value: "a b"'),
                {},
            )
        ],
    )
    api.script(
        "PATCH",
        r"/configmaps/good$",
        [(200, {"kind": "ConfigMap", "metadata": {"name": "good"}}, {})],
    )
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}, "data": {"a": "1"}}
        for n in ("good", "bad")
    ]
    with pytest.raises(KubetmError) as e:
        kube.apply(objs, dry_run_first=True)
    assert (
        'configmap default/bad: rejected by the API server: ConfigMap "bad" is invalid'
        in e.value.message
    )
    assert [r for r in api.requests("PATCH") if "dryRun=All" not in r[2]] == []


def _configmaps(n: int) -> list[dict]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:02d}"},
            "data": {"i": str(i)},
        }
        for i in range(n)
    ]


def _ctrl_c_at_write(api, n: int) -> None:
    """Ctrl-C (a real SIGINT to this process) when the server receives the n-th write: always
    while kube.apply is running, never later (it would hit pytest itself)."""
    writes = []

    def hook(method: str, path: str) -> None:
        if method == "PATCH" and "dryRun" not in path:
            writes.append(path)
            if len(writes) == n:
                os.kill(os.getpid(), signal.SIGINT)

    api.hook = hook


def test_interrupted_apply_stops_sending_and_knows_exactly_what_it_wrote(api, kube):
    api.script(
        "PATCH",
        r"/configmaps/",
        [("sleep", 0.15, (200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {}))],
    )
    _ctrl_c_at_write(api, 5)
    with pytest.raises(KeyboardInterrupt):
        kube.apply(_configmaps(40), workers=2)
    written = {r[2].split("?")[0].rsplit("/", 1)[1] for r in api.requests("PATCH")}
    assert 0 < len(written) < 40, "pending writes must be cancelled on Ctrl-C"
    assert {r.name for r in kube.applied} == written  # exactly what the server saw
    assert all(r.action == "created" for r in kube.applied)


def test_cleanup_on_interrupt_deletes_only_what_the_block_created(api, kube):
    api.script(
        "PATCH", r"/configmaps/", [(200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {})]
    )
    # cm-00 exists already (configured, must stay); cm-01 and cm-02 are new
    api.script(
        "GET",
        r"/configmaps/cm-00$",
        [(200, {"kind": "ConfigMap", "metadata": {"name": "cm-00", "resourceVersion": "1"}}, {})],
    )
    api.script(
        "GET",
        r"/configmaps$",
        [(200, {"kind": "ConfigMapList", "items": [], "metadata": {"resourceVersion": "5"}}, {})],
    )
    api.script("DELETE", r"/configmaps/", [(200, status_body(200, "deleted"), {})])
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with cleanup_on_interrupt(kube, report=lines.append):
            kube.apply(_configmaps(3))
            raise KeyboardInterrupt
    deleted = sorted(r[2].split("?")[0].rsplit("/", 1)[1] for r in api.requests("DELETE"))
    assert deleted == ["cm-01", "cm-02"]
    assert lines == [
        "interrupted: deleted the 2 object(s) it created: configmap/default/cm-01, "
        "configmap/default/cm-02"
    ] or lines == [
        "interrupted: deleted the 2 object(s) it created: configmap/default/cm-02, configmap/default/cm-01"
    ]


def test_cleanup_on_interrupt_keep_and_errors(api, kube):
    api.script(
        "PATCH", r"/configmaps/", [(200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {})]
    )
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with cleanup_on_interrupt(kube, keep=True, report=lines.append):
            kube.apply(_configmaps(1))
            raise KeyboardInterrupt
    assert lines == [
        "interrupted: kept the 1 object(s) it created (--keep): configmap/default/cm-00"
    ]
    with pytest.raises(KubetmError):  # an error is not an interruption: nothing is deleted
        with cleanup_on_interrupt(kube, report=lines.append):
            kube.apply(_configmaps(2))
            raise KubetmError("timed out")
    assert api.count("DELETE") == 0 and len(lines) == 1


# ===================================== defects: a misspelt field, a removed API version

MISSPELT = "requiredDuringSchedulingIngnoredDuringExecution"
SMD_500 = (
    "failed to create typed patch object (/v1, Kind=Pod): "
    f".spec.affinity.nodeAffinity.{MISSPELT}: field not declared in schema"
)


def _ref(name: str) -> dict:
    return {"allOf": [{"$ref": f"#/components/schemas/io.k8s.api.core.v1.{name}"}]}


POD_SCHEMA = {
    "components": {
        "schemas": {
            "io.k8s.api.core.v1.Pod": {
                "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}],
                "properties": {
                    "apiVersion": {},
                    "kind": {},
                    "metadata": {},
                    "spec": _ref("PodSpec"),
                },
            },
            "io.k8s.api.core.v1.PodSpec": {
                "properties": {
                    "affinity": _ref("Affinity"),
                    "containers": {"type": "array", "items": _ref("Container")},
                }
            },
            "io.k8s.api.core.v1.Container": {
                "properties": {"name": {}, "image": {}, "imagePullPolicy": {}}
            },
            "io.k8s.api.core.v1.Affinity": {
                "properties": {"nodeAffinity": _ref("NodeAffinity"), "podAffinity": {}}
            },
            "io.k8s.api.core.v1.NodeAffinity": {
                "properties": {
                    "preferredDuringSchedulingIgnoredDuringExecution": {},
                    "requiredDuringSchedulingIgnoredDuringExecution": {},
                }
            },
        }
    }
}


def _misspelt_pod() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "x"}],
            "affinity": {"nodeAffinity": {MISSPELT: {"nodeSelectorTerms": []}}},
        },
    }


def _serve_schema(api) -> None:
    api.script(
        "GET",
        r"^/openapi/v3$",
        [(200, {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=ABC"}}}, {})],
    )
    api.script("GET", r"^/openapi/v3/api/v1$", [(200, POD_SCHEMA, {})])


@pytest.mark.parametrize(
    "status,message",
    [
        (500, SMD_500),  # what server-side apply answers for a field its schema lacks
        (
            400,
            f'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field '
            f'"spec.affinity.nodeAffinity.{MISSPELT}"',
        ),
    ],
)
def test_a_misspelt_field_is_invalid_at_once_with_the_closest_valid_name(
    api, kube, status, message
):
    from kubetm.errors import Invalid

    api.script("PATCH", r"/pods/p$", [(status, status_body(status, message), {})])
    _serve_schema(api)
    with pytest.raises(Invalid) as e:
        kube.apply([_misspelt_pod()])
    # at once: one PATCH, not retried (a retried 500 would PATCH again until retry_seconds ran out);
    # counted, not timed, so a starved test process (make test runs it at nice 19) cannot fail it
    assert api.count("PATCH", "/pods/p") == 1
    assert (
        e.value.message
        == f"apply pod default/p: unknown field spec.affinity.nodeAffinity.{MISSPELT}"
    )
    assert e.value.hint == "did you mean requiredDuringSchedulingIgnoredDuringExecution?"
    patches = api.requests("PATCH", "/pods/p")
    assert len(patches) == 1, "a schema error must never be retried"
    assert "fieldValidation=Strict" in patches[0][2] and "fieldManager=kubetm" in patches[0][2]


def test_a_misspelt_field_without_a_schema_still_fails_at_once(api, kube):
    from kubetm.errors import Invalid

    api.script("PATCH", r"/pods/p$", [(500, status_body(500, SMD_500), {})])  # /openapi/v3: 404
    with pytest.raises(Invalid) as e:
        kube.apply([_misspelt_pod()])
    assert e.value.hint is None and MISSPELT in e.value.message
    assert api.count("PATCH") == 1


def test_cli_apply_of_a_misspelt_field_is_one_line_with_the_suggestion(api, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    api.script("PATCH", r"/pods/p$", [(500, status_body(500, SMD_500), {})])
    _serve_schema(api)
    f = tmp_path / "pod.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n"
        f"  affinity:\n    nodeAffinity:\n      {MISSPELT}:\n        nodeSelectorTerms: []\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "TMPDIR": str(tmp_path),
        "KUBETM_NO_HELP_CACHE": "1",
    }
    cp = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetm",
            "--kubeconfig",
            api.kubeconfig(tmp_path),
            "apply",
            "-f",
            str(f),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert cp.returncode == 1
    assert cp.stderr.splitlines() == [
        f"error: apply pod default/p: unknown field spec.affinity.nodeAffinity.{MISSPELT} "
        "(did you mean requiredDuringSchedulingIgnoredDuringExecution?)"
    ], cp.stderr


def test_a_removed_api_version_names_the_served_one(api, kube):
    from kubetm.errors import NotFound

    cj = {
        "apiVersion": "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {"name": "cron-job"},
        "spec": {"schedule": "*/1 * * * *", "jobTemplate": {}},
    }
    with pytest.raises(NotFound) as e:
        kube.apply([cj])
    assert e.value.message == "CronJob is not served as batch/v1beta1 on this cluster"
    assert e.value.hint == "use batch/v1"
    assert api.count("PATCH") == 0


def test_a_kind_no_version_serves_still_gets_the_crd_hint(api, kube):
    from kubetm.errors import NotFound

    with pytest.raises(NotFound) as e:
        kube.apply([{"apiVersion": "batch/v1", "kind": "Widget", "metadata": {"name": "w"}}])
    assert e.value.message == "unknown kind Widget (batch/v1) on this cluster"
    assert "CustomResourceDefinition" in e.value.hint


def test_dry_run_first_is_a_constructor_option(api, tmp_path):
    api.script(
        "PATCH", r"/configmaps/c$", [(200, {"kind": "ConfigMap", "metadata": {"name": "c"}}, {})]
    )
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    Kube(kubeconfig=api.kubeconfig(tmp_path), retry_seconds=5).apply([cm])
    assert [("dryRun=All" in r[2]) for r in api.requests("PATCH")] == [False]
    Kube(kubeconfig=api.kubeconfig(tmp_path), retry_seconds=5, dry_run_first=True).apply([cm])
    assert [("dryRun=All" in r[2]) for r in api.requests("PATCH")] == [False, True, False]


# =========================================== Secrets through `kubetm apply` (a real process)

ROOT = Path(__file__).resolve().parents[3]
SECRET = "hunter2-kubetm-s3cret"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()


def _secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "secret.yaml"
    p.write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: {SECRET_B64}\n",
        encoding="utf-8",
    )
    return p


def _kubetm(args: list[str], tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(tmp_path),
        "KUBETM_NO_HELP_CACHE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "kubetm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )


def _no_secret(text: str) -> None:
    assert SECRET not in text and SECRET_B64 not in text, text


def test_apply_of_a_secret_never_prints_its_data(api, tmp_path):
    echoed = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": "s", "namespace": "default", "resourceVersion": "9"},
        "data": {"password": SECRET_B64},
    }
    api.script("PATCH", r"/secrets/s$", [(200, echoed, {})])  # dry run and apply echo the object
    cfg = api.kubeconfig(tmp_path)
    for debug, output in (
        ([], []),
        ([], ["-o", "json"]),
        (["--debug"], []),
        (["--debug"], ["-o", "json"]),
    ):
        cp = _kubetm(
            ["--kubeconfig", cfg, *debug, "apply", "-f", str(_secret_file(tmp_path)), *output],
            tmp_path,
        )
        assert cp.returncode == 0, cp.stderr
        _no_secret(cp.stdout + cp.stderr)
        assert "secret/default/s created" in cp.stdout or '"name": "s"' in cp.stdout
    patches = api.requests("PATCH", "/secrets/s")
    assert any(b"dryRun=All" in r[2].encode() for r in patches) and any(
        "dryRun" not in r[2] for r in patches
    )


def test_api_errors_that_echo_a_secret_are_redacted(api, tmp_path):
    message = (
        f'Secret "s" is invalid: data[password]: Invalid value: "{SECRET}" ({SECRET_B64}): '
        f"must be a valid docker config"
    )
    api.script("PATCH", r"/secrets/s$", [(422, status_body(422, message, "Invalid"), {})])
    cfg = api.kubeconfig(tmp_path)
    cp = _kubetm(["--kubeconfig", cfg, "apply", "-f", str(_secret_file(tmp_path))], tmp_path)
    assert cp.returncode == 1
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert (
        len(lines) == 1 and "rejected by the API server" in lines[0] and "<redacted>" in lines[0]
    ), cp.stderr
    _no_secret(cp.stdout + cp.stderr)
    dbg = _kubetm(
        ["--kubeconfig", cfg, "--debug", "apply", "-f", str(_secret_file(tmp_path))], tmp_path
    )
    assert dbg.returncode == 1 and "Traceback" in dbg.stderr  # --debug shows the traceback ...
    _no_secret(dbg.stdout + dbg.stderr)  # ... still without the value
    shown = _kubetm(
        ["--kubeconfig", cfg, "--show-secrets", "apply", "-f", str(_secret_file(tmp_path))],
        tmp_path,
    )
    assert shown.returncode == 1 and SECRET in shown.stderr  # ... unless asked for
    assert len([ln for ln in shown.stderr.splitlines() if ln.strip()]) == 1
    # refused on the dry run: nothing was written
    assert all("dryRun=All" in r[2] for r in api.requests("PATCH", "/secrets/s"))
