"""kubectl habits: -n/--namespace, --context, --kubeconfig, --debug after the command too."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from kubetm import cli
from kubetm.cli.argv import global_options, hoist_global_options
from kubetm.errors import KubetmError

from .run import run_main

ROOT = typer.main.get_command(cli.app)


@pytest.mark.parametrize(
    "args, expect",
    [
        (["rollout", "history", "-n", "ns1", "app"], ["-n", "ns1", "rollout", "history", "app"]),
        (
            ["rollout", "undo", "app", "--namespace", "ns1"],
            ["--namespace", "ns1", "rollout", "undo", "app"],
        ),
        (
            ["rollout", "undo", "--namespace=ns1", "app"],
            ["--namespace=ns1", "rollout", "undo", "app"],
        ),
        (["rollout", "history", "-nns1", "app"], ["-nns1", "rollout", "history", "app"]),
        (
            ["lab", "run", "pod", "--context", "c", "--kubeconfig", "/k"],
            ["--context", "c", "--kubeconfig", "/k", "lab", "run", "pod"],
        ),
        (
            ["rollout", "-n", "ns1", "history", "app"],
            ["-n", "ns1", "rollout", "history", "app"],
        ),  # on the group
        (["apply", "-f", "x.yaml", "--debug"], ["--debug", "apply", "-f", "x.yaml"]),
        # the last one wins, as in kubectl: the hoisted options go after the ones already in front
        (
            ["-n", "a", "lab", "apply", "pod", "-n", "b"],
            ["-n", "a", "-n", "b", "lab", "apply", "pod"],
        ),
        # root options in front are left alone, with their values (a value is never taken for a command)
        (["--context", "lab", "lab", "list"], ["--context", "lab", "lab", "list"]),
        # an option's value is never taken for a global option
        (["image", "build", "--tag", "-n"], ["image", "build", "--tag", "-n"]),
        (["apply", "-f", "--context"], ["apply", "-f", "--context"]),
        # a command's own option of the same name keeps its meaning (cluster down --registry is a flag)
        (["cluster", "down", "--registry"], ["cluster", "down", "--registry"]),
        (["image", "push", "--registry", "r:5000"], ["--registry", "r:5000", "image", "push"]),
        # eager options are not moved; after `--` nothing is
        (["lab", "list", "--version"], ["lab", "list", "--version"]),
        (["lab", "show", "--", "-n", "x"], ["lab", "show", "--", "-n", "x"]),
        # nothing to move
        (["lab", "list", "-o", "json"], ["lab", "list", "-o", "json"]),
        ([], []),
    ],
)
def test_hoist(args, expect):
    assert hoist_global_options(ROOT, args) == expect


def test_a_global_option_without_its_value_is_a_usage_error():
    with pytest.raises(KubetmError, match="requires an argument") as e:
        hoist_global_options(ROOT, ["rollout", "history", "app", "-n"])
    assert e.value.exit_code == 2


def test_the_movable_options_are_the_roots():
    assert global_options(ROOT) == {
        "--kubeconfig": True,
        "--context": True,
        "-n": True,
        "--namespace": True,
        "--registry": True,
        "--debug": False,
        "--show-secrets": False,
    }


@pytest.mark.parametrize(
    "args",
    [
        ["rollout", "history", "-n", "ns1", "web"],  # the two commands
        ["rollout", "undo", "-n", "ns1", "web"],
        ["rollout", "status", "web", "--namespace", "ns1", "--timeout", "1"],
        ["--context", "other", "rollout", "history", "web", "-n", "ns1"],
    ],
)
def test_rollout_takes_the_namespace_after_the_command(use_fake, capsys, args):
    code, _, err = run_main(args, capsys)
    assert "No such option" not in err
    assert use_fake.seen["namespace"] == "ns1"
    assert ("get", "Deployment", "web", "ns1") in use_fake.calls  # asked in ns1, where it is not
    assert (
        code == 1
        and err
        == "error: deployment 'web' not found in namespace ns1 "
        "(pass -n NAMESPACE (demos run in kubetm-demo-<strategy>))\n"
    )


def test_every_global_option_after_the_command(use_fake, write_file, capsys):
    p = write_file("m.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code, out, err = run_main(
        ["apply", "-f", str(p), "--kubeconfig", "/k", "--context", "ctx", "-n", "ns1"], capsys
    )
    assert code == 0, err
    assert use_fake.seen == {"kubeconfig": "/k", "context": "ctx", "namespace": "ns1"}
    assert out.strip() == "configmap/ns1/c created"


def test_debug_after_the_command_shows_the_traceback(monkeypatch, capsys):
    from kubetm import deploy

    def boom(*a, **kw):
        raise KubetmError("boom")

    monkeypatch.setattr(deploy, "hello", boom)
    code, _, err = run_main(["deploy", "hello", "--debug"], capsys)
    assert code == 1 and "Traceback" in err and err.rstrip().splitlines()[-1] == "error: boom"


def test_console_script_takes_kubeconfig_after_the_command(tmp_path):
    """The real entry point (python -m kubetm): the options reach the client, not Click's parser."""
    missing = tmp_path / "nowhere" / "config"
    env = {**os.environ, "KUBETM_NO_HELP_CACHE": "1"}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetm",
            "rollout",
            "history",
            "-n",
            "ns1",
            "app",
            "--kubeconfig",
            str(missing),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith(f"error: no kubeconfig found at {missing}"), p.stderr
