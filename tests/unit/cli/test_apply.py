"""`kubetm apply -f`, `kubetm delete`, `kubetm deploy hello`: wiring, global options, exit codes;
an interrupted `kubetm apply` names what it kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kubetm import deploy

from .run import run_main


def test_global_options_before_command(use_fake, write_file, capsys):
    p = write_file("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code, out, err = run_main(
        ["--kubeconfig", "/k", "--context", "ctx", "-n", "ns1", "apply", "-f", str(p)], capsys
    )
    assert code == 0, err
    assert use_fake.seen == {"kubeconfig": "/k", "context": "ctx", "namespace": "ns1"}
    assert out.strip() == "configmap/ns1/c created"
    assert use_fake.calls[-1] == ("apply", 1, "ns1", False)


def test_apply_json_and_force_conflicts(use_fake, write_file, capsys):
    p = write_file("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    run_main(["apply", "-f", str(p)], capsys)
    code, out, _ = run_main(["apply", "-f", str(p), "-o", "json", "--force-conflicts"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data == [
        {
            "kind": "ConfigMap",
            "name": "c",
            "namespace": "default",
            "action": "unchanged",
            "api_version": "v1",
        }
    ]
    assert use_fake.calls[-1][-1] is True


def test_broken_manifest_fails_before_any_api_call(use_fake, write_file, capsys):
    p = write_file("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\n")
    code, out, err = run_main(["apply", "-f", str(p)], capsys)
    assert code == 1 and out == ""
    assert err == f"error: {p}:3: Pod needs metadata.name (a non-empty string)\n"
    assert use_fake.calls == []


def test_bad_output_format(use_fake, write_file, capsys):
    p = write_file("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code, _, err = run_main(["apply", "-f", str(p), "-o", "yaml"], capsys)
    assert code == 2 and "unknown output format" in err


def test_delete_needs_exactly_one_target(use_fake, capsys):
    assert run_main(["delete"], capsys)[0] == 2
    assert run_main(["delete", "hello", "-f", "x.yaml"], capsys)[0] == 2
    code, _, err = run_main(["delete", "nothing"], capsys)
    assert code == 2 and "unknown name 'nothing'" in err


def test_delete_kind_name_and_file(use_fake, write_file, capsys):
    p = write_file("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    run_main(["apply", "-f", str(p)], capsys)
    code, out, _ = run_main(["delete", "-f", str(p)], capsys)
    assert code == 0 and out.strip() == "configmap/default/c deleted"
    code, out, _ = run_main(["delete", "po/ghost", "--no-wait", "-o", "json"], capsys)
    assert code == 0 and json.loads(out)[0]["action"] == "not found"
    assert use_fake.calls[-1] == ("delete", 1, None, False)


def test_deploy_and_delete_hello(use_fake, monkeypatch, capsys):
    monkeypatch.setattr("kubetm.nodes.host_endpoint", lambda kube, node, port: f"127.0.0.2:{port}")
    monkeypatch.setattr(deploy, "http_get", lambda url: (200, "Hello Kubernetes!\n"))

    def ready_pod(kind, name=None, predicate=None, **kw):
        if kind == "Pod":
            obj = use_fake.objects[("Pod", use_fake.namespace, "hello-pod")]
            obj = {
                **obj,
                "spec": {**obj["spec"], "nodeName": "kubetm-worker"},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
        else:
            obj = [{"endpoints": [{"conditions": {"ready": True}}]}]
        assert predicate(obj)
        return obj

    use_fake.watch_until = ready_pod
    use_fake.resource = lambda kind, api_version=None: type(
        "R", (), {"kind": kind, "group_version": "v1"}
    )()
    code, out, err = run_main(["-n", "demo", "deploy", "hello"], capsys)
    assert code == 0, err
    assert out.splitlines() == [
        "pod/hello-pod created",
        "service/hello-svc created",
        "pod hello-pod Ready on node kubetm-worker",
        "GET http://127.0.0.2:30000/",
        "Hello Kubernetes!",
    ]
    code, out, _ = run_main(["-n", "demo", "deploy", "hello", "-o", "json"], capsys)
    data = json.loads(out)
    assert data["url"] == "http://127.0.0.2:30000/" and data["body"].startswith("Hello Kubernetes!")
    assert {a["action"] for a in data["applied"]} == {"unchanged"}  # idempotent
    labels = use_fake.objects[("Pod", "demo", "hello-pod")]["metadata"]["labels"]
    assert labels["app"] == "hello"
    code, out, _ = run_main(["-n", "demo", "delete", "hello"], capsys)
    assert code == 0 and out.splitlines() == [
        "pod/demo/hello-pod deleted",
        "service/demo/hello-svc deleted",
    ]
    assert run_main(["deploy", "world"], capsys)[0] == 2


# ======================================================================= interruption

ROOT = Path(__file__).resolve().parents[3]


def test_cli_apply_interrupted_names_what_it_kept(api, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(30):
        (folder / f"cm-{i:02d}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02d}}}\n"
        )
    api.script(
        "PATCH",
        r"/configmaps/",
        [("sleep", 0.3, (200, {"kind": "ConfigMap", "metadata": {"name": "x"}}, {}))],
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubetm",
            "--kubeconfig",
            api.kubeconfig(tmp_path),
            "apply",
            "-f",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [
        r for r in api.requests("PATCH") if "dryRun" not in r[2]
    ]:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    written = sorted(
        r[2].split("?")[0].rsplit("/", 1)[1] for r in api.requests("PATCH") if "dryRun" not in r[2]
    )
    assert 0 < len(written) < 30
    kept_line = [ln for ln in err.splitlines() if ln.startswith("interrupted: kept")]
    assert len(kept_line) == 1 and f"kept {len(written)} of 30 object(s)" in kept_line[0], err
    named = sorted(x.split("/")[-1].split()[0] for x in kept_line[0].split(": ", 2)[2].split(", "))
    assert named == written
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "terminated"
