"""Hardening (no cluster): Secret redaction, the CLI's apply against a REAL local HTTP server
(tests/unit/fakeapi.py), argument-list subprocesses and safe YAML only. The client's retry policy
and the apply planner are tested in tests/unit/k8s/."""

from __future__ import annotations

import ast
import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakeapi import status_body

from kubetm import errors as errors_mod
from kubetm.errors import KubetmError, redact, register_secret, register_secret_object

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "kubetm"
SECRET = "hunter2-kubetm-s3cret"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()


# ====================================================================== Secret redaction


def test_redact_hides_registered_values_plain_and_base64():
    register_secret("correct-horse-battery")
    text = "x correct-horse-battery y " + base64.b64encode(b"correct-horse-battery").decode()
    assert redact(text) == "x <redacted> y <redacted>"
    assert (
        "correct-horse" not in KubetmError(f"boom {text}", hint="correct-horse-battery").__str__()
    )
    assert "correct-horse" not in errors_mod.format_error(ValueError(text))


def test_show_secrets_turns_redaction_off_and_back_on():
    register_secret("shown-on-request-value")
    try:
        errors_mod.show_secrets(True)
        assert (
            errors_mod.secrets_shown()
            and redact("x shown-on-request-value") == "x shown-on-request-value"
        )
    finally:
        errors_mod.show_secrets(False)
    assert redact("x shown-on-request-value") == "x <redacted>"


def test_secret_objects_register_data_and_string_data():
    register_secret_object(
        {
            "kind": "Secret",
            "data": {"a": base64.b64encode(b"from-data-value").decode()},
            "stringData": {"b": "from-string-data"},
        }
    )
    assert redact("from-data-value from-string-data") == "<redacted> <redacted>"
    assert redact(base64.b64encode(b"from-data-value").decode()) == "<redacted>"
    register_secret_object({"kind": "ConfigMap", "data": {"a": "not-a-secret"}})
    assert redact("not-a-secret") == "not-a-secret"


def test_loading_a_secret_manifest_registers_its_values(write_file):
    from kubetm import manifests

    value = "loaded-secret-value-42"
    manifests.load(
        write_file(
            "s.yaml",
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n"
            f"stringData: {{password: {value}}}\n",
        )
    )
    assert redact(f"echo {value}") == "echo <redacted>"


def test_secret_value_type_errors_do_not_print_the_value(write_file):
    from kubetm import manifests

    p = write_file(
        "s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  pin: 123456789\n",
    )
    with pytest.raises(KubetmError) as e:
        manifests.load(p)
    assert str(e.value).startswith(f"{p}:5: Secret stringData.pin must be a string")
    assert "123456789" not in str(e.value)


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


# ======================================================================= interruption


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


# ============================================================ subprocesses and YAML: static


def _sources() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_subprocesses_only_with_argument_lists():
    """No shell: no shell=True, no os.system/os.popen, no command given as one string."""
    spawners = {
        "run",
        "call",
        "check_call",
        "check_output",
        "Popen",
        "getoutput",
        "getstatusoutput",
    }
    problems = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            owner = getattr(fn.value, "id", "") if isinstance(fn, ast.Attribute) else ""
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if owner == "os" and (
                name in ("system", "popen") or name.startswith(("exec", "spawn"))
            ):
                problems.append(f"{where}: os.{name}")
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    problems.append(f"{where}: shell=")
            if owner == "subprocess" and name in spawners:
                if name in ("getoutput", "getstatusoutput"):
                    problems.append(f"{where}: subprocess.{name} runs a shell")
                elif node.args and isinstance(
                    node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)
                ):
                    problems.append(f"{where}: subprocess.{name} with a string command")
    assert not problems, "\n".join(problems)


def test_yaml_only_through_safe_loading():
    import re

    bad = re.compile(
        r"yaml\.(load|load_all|full_load|full_load_all|unsafe_load|unsafe_load_all)\s*\(|"
        r"yaml\.(Loader|FullLoader|UnsafeLoader|UnsafeConstructor|FullConstructor|Constructor)\b|"
        r"\b(FullLoader|UnsafeLoader)\b"
    )
    hits = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in _sources()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if bad.search(line)
    ]
    assert not hits, "\n".join(hits)


def test_the_static_checks_catch_what_they_look_for(tmp_path, monkeypatch):
    """The two greps above are not vacuous: planted offenders are found."""
    evil = tmp_path / "kubetm"
    evil.mkdir()
    (evil / "evil.py").write_text(
        "import os, subprocess, yaml\nos.system('x')\nsubprocess.run('ls', shell=True)\n"
        "subprocess.Popen(f'ls {x}')\nyaml.load(s, Loader=yaml.FullLoader)\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PKG", evil)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError) as e:
        test_subprocesses_only_with_argument_lists()
    assert (
        "os.system" in str(e.value)
        and "shell=" in str(e.value)
        and "string command" in str(e.value)
    )
    with pytest.raises(AssertionError):
        test_yaml_only_through_safe_loading()


def test_python_tags_construct_nothing(tmp_path, write_file):
    from kubetm import manifests

    marker = tmp_path / "pwned"
    for tag in (
        "!!python/object/apply:os.system",
        "!!python/object/new:os.system",
        "!!python/name:os.system",
        "!!python/object/apply:subprocess.check_call",
    ):
        p = write_file(
            "evil.yaml",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n"
            f'data:\n  a: {tag} ["touch {marker}"]\n',
        )
        with pytest.raises(KubetmError) as e:
            manifests.load(p)
        assert str(e.value).startswith(f"{p}:5:")
    assert not marker.exists()


def test_deploy_refuses_a_non_positive_timeout(capsys):
    from kubetm import cli

    assert cli.main(["deploy", "hello", "--timeout", "0"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: --timeout must be a positive number of seconds, got 0"
    )


def test_registry_credentials_are_never_taken_nor_echoed():
    from kubetm.manifests import registry_from_env

    with pytest.raises(KubetmError) as e:
        registry_from_env("alice:hunter2@registry.example:5000")
    assert "hunter2" not in str(e.value) and "docker login" in str(e.value)


def test_no_docker_login_or_password_on_any_command_line():
    """Registry credentials stay in docker's config / credential helpers: kubetm never runs
    `docker login`, never passes a password or an auth header on argv."""
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.List, ast.Tuple)):
                words = [
                    n.value
                    for n in node.elts
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                ]
                if "login" in words or any(w in ("--password", "--password-stdin") for w in words):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {words}")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.lower() in ("x-registry-auth", "registryauth", "identitytoken")
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert not offenders, "\n".join(offenders)
