"""kubetm.host.offline: pinned versions, the build scripts, and the one online/offline decision."""

from __future__ import annotations

import functools

import pytest

from kubetm.errors import CommandFailed, KubetmError
from kubetm.host import offline

from .fake_docker import install


def test_versions_are_read_from_the_one_pinned_file():
    v = offline.versions()
    assert v["K8S_VERSION"].startswith("v1.") and v["NODE_IMAGE"].endswith(v["K8S_VERSION"])


@pytest.fixture
def fake(monkeypatch):
    return install(monkeypatch)


def test_bin_dir_is_where_build_go_installs(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path))
    assert offline.bin_dir() == tmp_path / "offline" / "bin" / offline.versions()["K8S_VERSION"]
    lib = (offline.OFFLINE_DIR / "lib.sh").read_text()
    assert (
        "CACHE=${KUBETM_CACHE:-$HOME/.cache/kubetm}/offline" in lib
        and "BIN=$CACHE/bin/$K8S_VERSION" in lib
    )


# --------------------------------------------------------------------------- online or offline


@pytest.mark.parametrize("env,expected", [("1", True), ("true", True), ("0", False)])
def test_offline_from_environment(fake, monkeypatch, env, expected):
    monkeypatch.setenv("KUBETM_OFFLINE", env)
    assert offline.decide_offline(["node:20-slim"])[0] is expected
    assert not any(c[1] == "pull" for c in fake.calls)


def test_an_explicit_choice_wins(fake, monkeypatch):
    monkeypatch.setenv("KUBETM_OFFLINE", "1")
    assert offline.decide_offline(["node:20-slim"], offline=False) == (False, "asked")
    assert fake.calls == []


def test_online_when_public_base_is_local(fake):
    fake.present.add("node:20-slim")
    assert offline.decide_offline(["node:20-slim"]) == (False, "public base images available")


def test_online_when_public_base_is_pullable(fake):
    fake.pull_ok = True
    heard = []
    assert offline.decide_offline(["node:20-slim"], on_pull=heard.append)[0] is False
    assert heard == ["node:20-slim is not present locally: trying to pull it"]


def test_offline_only_when_no_registry_answers_and_the_offline_build_can_run(fake, monkeypatch):
    monkeypatch.setattr(offline, "can_build", lambda *a: (True, ""))
    heard = []
    off, reason = offline.decide_offline(["debian:bookworm-slim"], on_pull=heard.append)
    assert off and reason == (
        "no registry answers (debian:bookworm-slim cannot be pulled), the offline build can run here"
    )
    assert heard[-1].startswith("pulling debian:bookworm-slim: Error response from daemon")
    assert sum(c[1] == "pull" for c in fake.calls) == 1  # no such host: not retried


def test_no_registry_and_no_offline_build_is_one_line(fake, monkeypatch):
    monkeypatch.setattr(
        offline, "can_build", lambda *a: (False, "the offline build needs root (debootstrap)")
    )
    with pytest.raises(KubetmError) as e:
        offline.decide_offline(["debian:bookworm-slim"], on_pull=lambda _: None)
    assert e.value.message.startswith(
        "no container registry answers (pulling debian:bookworm-slim failed"
    )
    assert e.value.message.endswith("and the offline build needs root (debootstrap)")


def test_a_transient_pull_error_is_retried_with_backoff_then_suggests_offline(fake, monkeypatch):
    monkeypatch.setattr(offline, "can_build", lambda *a: (True, ""))
    monkeypatch.setattr(
        offline.docker, "pull_image", functools.partial(offline.docker.pull_image, wait=0)
    )
    fake.streams["pull"] = (
        1,
        "Error response from daemon: Get https://r/v2/: net/http: TLS handshake timeout",
    )
    with pytest.raises(KubetmError) as e:
        offline.decide_offline(["debian:bookworm-slim"], on_pull=lambda _: None)
    assert sum(c[1] == "pull" for c in fake.calls) == 4
    assert e.value.message == (
        "pulling debian:bookworm-slim failed: Error response from daemon: Get https://r/v2/: "
        "net/http: TLS handshake timeout (after 4 tries)"
    )
    assert e.value.hint == "retry later, or build everything from source with --offline"


def test_a_refused_pull_is_not_a_reason_to_go_offline(fake, monkeypatch):
    monkeypatch.setattr(offline, "can_build", lambda *a: (True, ""))
    fake.streams["pull"] = (
        1,
        "Error response from daemon: manifest for node:99 not found: manifest unknown",
    )
    with pytest.raises(KubetmError, match="manifest unknown"):
        offline.decide_offline(["node:99"], on_pull=lambda _: None)
    assert sum(c[1] == "pull" for c in fake.calls) == 1


def test_pull_has_a_deadline(monkeypatch):
    import subprocess
    import sys

    real = subprocess.Popen
    monkeypatch.setattr(
        offline.docker.hexec.subprocess,
        "Popen",
        lambda argv, **kw: real([sys.executable, "-c", "import time; time.sleep(30)"], **kw),
    )
    with pytest.raises(offline.docker.PullFailed) as e:
        offline.docker.pull_image("x:1", deadline=1, attempts=1, wait=0)
    assert e.value.message.startswith("pulling x:1 did not finish within 1 s")


# --------------------------------------------------------------------------- build scripts


def test_run_script_streams_its_lines_and_fails_with_the_exit_code(monkeypatch, tmp_path):
    (tmp_path / "ok.sh").write_text(
        '#!/bin/sh\necho "[offline] building $1"\necho "TOOLBOX=$TOOLBOX_IMAGE" >&2\n'
    )
    (tmp_path / "bad.sh").write_text("#!/bin/sh\necho half way\nexit 3\n")
    for f in tmp_path.iterdir():
        f.chmod(0o755)
    monkeypatch.setattr(offline, "OFFLINE_DIR", tmp_path)
    lines = []
    offline.run_script(
        "ok.sh", "kind", what="building kind", on_line=lines.append, env={"TOOLBOX_IMAGE": "t"}
    )
    assert lines == ["[offline] building kind", "TOOLBOX=t"]
    with pytest.raises(CommandFailed) as e:
        offline.run_script(
            "bad.sh", what="building the offline kind node image", on_line=lines.append
        )
    assert (
        str(e.value)
        == "building the offline kind node image failed (exit 3) (see the output above)"
    )
    assert lines[-1] == "half way"


def test_a_missing_script_says_to_run_from_a_checkout(monkeypatch, tmp_path):
    monkeypatch.setattr(offline, "OFFLINE_DIR", tmp_path)
    with pytest.raises(KubetmError, match="run from a kubetm source checkout"):
        offline.run_script("node-image.sh", what="x")
