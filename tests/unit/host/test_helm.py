"""kubetm/host/helm.py against a fake `helm` script on PATH (no cluster, no real helm).

The fake logs its argument list (one JSON line per call) to $FAKE_HELM_LOG and answers by verb
from $FAKE_HELM_<VERB>_OUT / _ERR / _RC / _SLEEP.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from kubetm.errors import CommandFailed, KubetmError, Timeout
from kubetm.host import helm as h

REPO = Path(__file__).resolve().parents[3]

FAKE = f"""#!{sys.executable}
import json, os, sys, time
args = sys.argv[1:]
with open(os.environ["FAKE_HELM_LOG"], "a") as f:
    f.write(json.dumps(args) + "\\n")
verb = next((a for a in args if not a.startswith("-")), "none").upper()
time.sleep(float(os.environ.get(f"FAKE_HELM_{{verb}}_SLEEP", "0")))
sys.stdout.write(os.environ.get(f"FAKE_HELM_{{verb}}_OUT", ""))
sys.stderr.write(os.environ.get(f"FAKE_HELM_{{verb}}_ERR", ""))
sys.exit(int(os.environ.get(f"FAKE_HELM_{{verb}}_RC", "0")))
"""


def _write_fake(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def fake_helm(tmp_path, monkeypatch):
    """A fake helm on PATH, no pinned build in the (empty) cache, no KUBETM_HELM."""
    bindir = tmp_path / "bin"
    _write_fake(bindir / "helm")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KUBETM_HELM", raising=False)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_HELM_LOG", str(log))

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


def test_the_pinned_version_is_helm_3_and_the_build_script_builds_it():
    assert h.pinned_version().startswith("v3."), "the labs teach Helm 3 (see versions.env)"
    script = (REPO / "hack" / "offline" / "build-go.sh").read_text()
    assert "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" in script
    assert 'stamp_ok helm "$HELM_VERSION"' in script


def test_the_pinned_build_lives_in_the_kubetm_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path))
    assert h.built_path().parent.parent == tmp_path / "offline" / "bin"
    assert h.built_path().name == "helm"


def test_helm_on_path_is_used_without_a_pinned_build(fake_helm, tmp_path):
    assert h.binary(build_missing=False) == str(tmp_path / "bin" / "helm")


def test_the_pinned_build_wins_over_path(fake_helm, tmp_path):
    built = _write_fake(h.built_path())
    assert h.binary(build_missing=False) == str(built)


def test_kubetm_helm_wins_over_everything(fake_helm, tmp_path, monkeypatch):
    other = _write_fake(tmp_path / "elsewhere" / "helm")
    _write_fake(h.built_path())
    monkeypatch.setenv("KUBETM_HELM", str(other))
    assert h.binary(build_missing=False) == str(other)


def test_kubetm_helm_that_is_not_executable_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBETM_HELM", str(tmp_path / "nope"))
    with pytest.raises(KubetmError, match=r"KUBETM_HELM=.*nope is not an executable file"):
        h.binary()


def test_no_helm_anywhere_names_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KUBETM_HELM", raising=False)
    with pytest.raises(KubetmError) as e:
        h.binary(build_missing=False)
    assert e.value.message == "helm is not installed"
    assert "make helm" in e.value.hint


def test_helm_passes_args_then_context_kubeconfig_namespace(fake_helm, monkeypatch):
    monkeypatch.setenv("FAKE_HELM_LIST_OUT", "[]\n")
    out = h.helm(
        ["list", "--all", "-o", "json"],
        kube_context="kind-kubetm",
        kubeconfig="/k/config",
        namespace="kubetm-lab-helm-basics",
    )
    assert out == "[]\n"
    assert fake_helm() == [
        [
            "list",
            "--all",
            "-o",
            "json",
            "--kube-context",
            "kind-kubetm",
            "--kubeconfig",
            "/k/config",
            "--namespace",
            "kubetm-lab-helm-basics",
        ]
    ]


def test_without_context_or_namespace_helm_gets_only_the_args(fake_helm):
    h.helm(["version", "--short"])
    assert fake_helm() == [["version", "--short"]]


# Helm 3's own words for the issue's three bad inputs (as helm v3.22 prints them).
BAD_INPUT = {
    "template error": (
        "Error: INSTALLATION FAILED: parse error at (mychart/templates/broken.yaml:2): "
        'function "nosuchfunc" not defined\n\nUse --debug flag to render out invalid YAML\n',
        "nosuchfunc",
    ),
    "values not yaml": (
        "Error: INSTALLATION FAILED: failed to parse /tmp/v.yaml: error converting YAML to JSON: "
        "yaml: line 2: did not find expected ',' or ']'\n",
        "error converting YAML to JSON",
    ),
    "missing version": (
        "Error: INSTALLATION FAILED: localhost:5001/charts/mychart:9.9.9: not found\n",
        "mychart:9.9.9: not found",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_naming_the_verb_and_helms_error(fake_helm, monkeypatch, case):
    stderr, words = BAD_INPUT[case]
    monkeypatch.setenv("FAKE_HELM_INSTALL_ERR", "WARNING: some warning first\n" + stderr)
    monkeypatch.setenv("FAKE_HELM_INSTALL_RC", "1")
    with pytest.raises(CommandFailed) as e:
        h.helm(["install", "web", "oci://localhost:5001/charts/mychart"], namespace="ns")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("helm install failed: INSTALLATION FAILED: ")
    assert words in msg and "Error: " not in msg
    assert e.value.returncode == 1
    assert "WARNING: some warning first" in e.value.output  # the whole output is kept for --debug


def test_a_failure_without_output_still_says_something(fake_helm, monkeypatch):
    monkeypatch.setenv("FAKE_HELM_PUSH_RC", "2")
    with pytest.raises(CommandFailed, match=r"^helm push failed: no output$"):
        h.helm(["push", "x.tgz", "oci://localhost:5001/charts"])


def test_a_helm_that_hangs_is_cut_at_the_timeout(fake_helm, monkeypatch):
    monkeypatch.setenv("FAKE_HELM_TEST_SLEEP", "5")
    with pytest.raises(Timeout, match="helm test did not finish within 1 s"):
        h.helm(["test", "web"], timeout=1)


def test_error_line_drops_helms_prefix():
    assert (
        h.error_line("line\nError: UPGRADE FAILED: x is immutable\n")
        == "UPGRADE FAILED: x is immutable"
    )
    assert h.error_line("") == "no output"


def test_helm_never_builds_on_its_own(tmp_path, monkeypatch):
    """A lab must not start a minutes-long compile inside a check: no helm is one line, at once."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KUBETM_HELM", raising=False)
    monkeypatch.setattr(h, "build", lambda on_line=None: pytest.fail("helm() started a build"))
    with pytest.raises(KubetmError, match="helm is not installed"):
        h.helm(["version"])
