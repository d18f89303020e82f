"""Rules checked on kubetm's source (no cluster): subprocesses only with argument lists (no shell),
YAML only through safe loading, no `docker login` and no registry password or auth header on any
command line. The rules are shown to catch planted offenders."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "kubetm"


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
