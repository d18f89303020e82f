"""main(): the one error/interrupt funnel, exit codes, help (cached), the fast lists, lazy imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from kubetm import cli, deploy
from kubetm.errors import KubetmError

from .run import run_main

runner = CliRunner()
PY = sys.executable


def test_help_lists_commands():
    r = runner.invoke(cli.app, ["--help"])
    assert r.exit_code == 0
    for word in (
        "apply",
        "delete",
        "deploy",
        "cluster",
        "image",
        "lab",
        "demo",
        "rollout",
        "--kubeconfig",
        "--context",
        "--namespace",
        "--debug",
        "--version",
    ):
        assert word in r.output


def test_version(capsys):
    code, out, _ = run_main(["--version"], capsys)
    assert code == 0 and out.strip().startswith("kubetm ")


def test_unknown_command_is_usage_error(capsys):
    code, _, err = run_main(["bogus"], capsys)
    assert code == 2 and "No such command" in err


def test_kubetm_error_is_one_line_and_debug_shows_traceback(monkeypatch, capsys):
    def boom(*a, **kw):
        raise KubetmError(
            "cannot reach the API server at https://127.0.0.1:1: is the cluster running?",
            hint="try `kubetm cluster up`",
        )

    monkeypatch.setattr(deploy, "hello", boom)
    code, out, err = run_main(["deploy", "hello"], capsys)
    assert code == 1 and out == ""
    assert err == (
        "error: cannot reach the API server at https://127.0.0.1:1: is the cluster running? "
        "(try `kubetm cluster up`)\n"
    )
    code, _, err = run_main(["--debug", "deploy", "hello"], capsys)
    assert code == 1 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("error: ")


def test_unexpected_exception_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(deploy, "hello", lambda *a, **kw: 1 / 0)
    code, _, err = run_main(["deploy", "hello"], capsys)
    assert code == 1 and err.count("\n") == 1 and "ZeroDivisionError" in err and "--debug" in err


def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy, "hello", interrupted)
    assert run_main(["deploy", "hello"], capsys)[0] == 130


def test_missing_sub_module_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(
        sys.modules, "kubetm.demos.rollout", None
    )  # import fails like a missing module
    code, _, err = run_main(["rollout", "history", "web"], capsys)
    assert code == 1 and err.startswith("error: ")


def _subprocess(code: str, *args, **kw):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run(
        [PY, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60, **kw
    )


def test_sigterm_exits_143():
    code = textwrap.dedent("""
        import os, signal, sys, threading
        from kubetm import cli
        @cli.app.command("sleepy")
        def sleepy():
            threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
            threading.Event().wait(30)
        cli.main()
    """)
    env = {**os.environ}
    p = subprocess.run(
        [PY, "-c", code, "sleepy"], capture_output=True, text=True, timeout=60, env=env
    )
    assert p.returncode == 143, p.stderr
    assert p.stderr.strip() == "terminated"


def test_help_imports_no_heavy_modules():
    env = {**os.environ, "KUBETM_NO_HELP_CACHE": "1"}  # the full Typer path, not the cached text
    p = subprocess.run(
        [PY, "-X", "importtime", "-m", "kubetm", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert p.returncode == 0
    imported = {
        line.split("|")[-1].strip().split(".")[0] for line in p.stderr.splitlines() if "|" in line
    }
    assert not imported & {"kubernetes", "rich", "yaml", "tenacity", "matplotlib", "urllib3"}, (
        imported
    )


def test_cached_help_is_identical_to_typer_help(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "COLUMNS": "100"}
    first = subprocess.run(
        [PY, "-m", "kubetm", "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    cached = list((tmp_path / "kubetm").glob("help-*.txt"))
    assert len(cached) == 1
    second = subprocess.run(
        [PY, "-X", "importtime", "-m", "kubetm", "-h"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout == cached[0].read_text()
    assert "typer" not in second.stderr  # served without importing Typer


@pytest.mark.parametrize(
    "args",
    [
        ["lab", "list"],
        ["lab", "list", "-o", "json"],
        ["lab", "list", "--output=json"],
        ["demo", "list"],
        ["demo", "list", "-ojson"],
    ],
)
def test_fast_list_is_identical_to_typer_and_skips_typer(args, capsys):
    fast = subprocess.run(
        [PY, "-X", "importtime", "-m", "kubetm", *args], capture_output=True, text=True, timeout=60
    )
    assert fast.returncode == 0
    assert "typer" not in {
        ln.split("|")[-1].strip().split(".")[0] for ln in fast.stderr.splitlines() if "|" in ln
    }
    code, out, _ = run_main(args, capsys)  # the Typer command itself
    assert code == 0 and out == fast.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["lab", "list", "-o", "yaml"],
        ["lab", "list", "extra"],
        ["lab", "list", "-o"],
        ["lab", "list", "-o=json"],
        ["demo", "list", "--help"],
    ],
)
def test_fast_list_leaves_anything_else_to_typer(args):
    from kubetm.__main__ import _output_of

    assert _output_of(args[2:]) is None
