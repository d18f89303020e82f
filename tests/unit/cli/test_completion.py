"""Shell completion: names complete through Click's/Typer's env-var protocol (in a subprocess, as a
shell runs it), and --install-completion / --show-completion write and print the scripts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kubetm.labs.catalog import names as lab_names


def _kubetm(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubetm", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _complete(words: str, instruction: str = "bash_complete") -> list[str]:
    parts = words.split(" ")
    cp = _kubetm(
        [],
        {"_KUBETM_COMPLETE": instruction, "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)},
    )
    assert cp.returncode == 0, cp.stderr
    return cp.stdout.split()


@pytest.mark.parametrize("instruction", ["bash_complete", "complete_bash"])  # Click's, Typer's
def test_lab_run_p_offers_the_labs_starting_with_p(instruction):
    assert _complete("kubetm lab run p", instruction) == ["pod", "pod-lifecycle", "probes"]


def test_lab_show_offers_every_lab_then_all():
    assert _complete("kubetm lab show ") == [*lab_names(), "all"]


def test_demo_and_image_names_complete():
    assert _complete("kubetm demo run r") == ["recreate", "rolling-update"]
    assert _complete("kubetm demo delete b") == ["blue-green"]
    assert _complete("kubetm image build ") == ["hello", "app", "init", "ports", "all"]
    assert _complete("kubetm image run ") == ["hello", "app", "ports"]  # the HTTP servers


def test_commands_complete():
    assert "doctor" in _complete("kubetm d")


def test_zsh_and_fish_complete_too():
    zsh = _kubetm(
        [], {"_KUBETM_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "kubetm lab show p"}
    )
    assert '"pod"' in zsh.stdout and '"probes"' in zsh.stdout
    fish = _kubetm(
        [],
        {
            "_KUBETM_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "kubetm lab show p",
        },
    )
    assert fish.stdout.split() == ["pod", "pod-lifecycle", "probes"]


@pytest.mark.parametrize(
    "shell, script",
    [
        ("bash", ".bash_completions/kubetm.sh"),
        ("zsh", ".zfunc/_kubetm"),
        ("fish", ".config/fish/completions/kubetm.fish"),
    ],
)
def test_install_and_show_completion(tmp_path, shell, script):
    """The shell is detected from the parent process (shellingham); here it is named."""
    env = {"HOME": str(tmp_path), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = _kubetm(["--show-completion", shell], env)
    assert shown.returncode == 0 and "_KUBETM_COMPLETE" in shown.stdout, shown.stderr
    installed = _kubetm(["--install-completion", shell], env)
    assert installed.returncode == 0, installed.stderr
    assert f"{shell} completion installed" in installed.stdout
    assert "_KUBETM_COMPLETE" in (tmp_path / script).read_text()


def test_install_completion_detects_the_running_shell(tmp_path):
    installed = _kubetm(["--install-completion"], {"HOME": str(tmp_path)})
    assert installed.returncode == 0 and "completion installed in" in installed.stdout
