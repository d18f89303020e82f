"""kubetm.host.offline: pinned versions, the build scripts, and the one online/offline decision."""

from __future__ import annotations

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


def test_offline_when_public_base_is_neither_local_nor_pullable(fake):
    off, reason = offline.decide_offline(["debian:bookworm-slim"])
    assert off and reason == "debian:bookworm-slim is neither present locally nor pullable"


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
