"""kubetm.host.kind: the one kind binary (pinned by hack/offline/versions.env) and its commands."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from kubetm.errors import CommandFailed, KubetmError, NotFound
from kubetm.host import kind, offline


@pytest.fixture
def no_kind_on_path(monkeypatch, tmp_path):
    real = shutil.which
    monkeypatch.setattr(
        shutil,
        "which",
        lambda name, *a, **k: None if name in ("kind", "go") else real(name, *a, **k),
    )
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path))
    return tmp_path


def _fake_kind(path, script: str = 'echo "$@"') -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_kind_binary_falls_back_to_the_offline_cache(no_kind_on_path):
    tmp_path = no_kind_on_path
    with pytest.raises(KubetmError, match="kind is not installed"):
        kind.kind_binary()
    kind_path = tmp_path / "offline" / "bin" / "v1.34.3" / "kind"
    kind_path.parent.mkdir(parents=True)
    kind_path.write_text("")
    assert kind.kind_binary() == str(kind_path)


def test_kind_binary_is_the_pinned_one_not_the_newest(no_kind_on_path):
    """An older cache directory's kind is never picked, however new its file is."""
    v = offline.versions()
    pinned = _fake_kind(no_kind_on_path / "offline" / "bin" / v["K8S_VERSION"] / "kind")
    other = _fake_kind(no_kind_on_path / "offline" / "bin" / "v1.99.0" / "kind")
    os.utime(other, (2e9, 2e9))
    assert kind.kind_binary() == pinned


def test_kind_built_at_another_kind_version_is_not_used(no_kind_on_path):
    v = offline.versions()
    _fake_kind(no_kind_on_path / "offline" / "bin" / v["K8S_VERSION"] / "kind")
    stamps = no_kind_on_path / "offline" / "stamps"
    stamps.mkdir(parents=True)
    (stamps / "kind").write_text("v0.1.0")
    with pytest.raises(KubetmError) as e:
        kind.kind_binary(build=True)  # no Go on PATH: nothing can build it
    assert e.value.message == "kind is not installed"
    assert f"sigs.k8s.io/kind@{v['KIND_VERSION']}" in e.value.hint
    (stamps / "kind").write_text(v["KIND_VERSION"])
    assert kind.kind_binary().endswith(f"/{v['K8S_VERSION']}/kind")


def _on_path(monkeypatch, tmp_path, version: str) -> str:
    exe = _fake_kind(tmp_path / "path" / "kind", f'echo "kind {version} go1.24 linux/amd64"')
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: exe if name == "kind" else None)
    monkeypatch.setenv("KUBETM_CACHE", str(tmp_path / "cache"))
    kind.version_of.cache_clear()
    return exe


def test_kind_from_path_wins_at_the_pinned_version(monkeypatch, tmp_path):
    exe = _on_path(monkeypatch, tmp_path, kind.pinned())
    assert kind.kind_binary() == exe


def test_kind_of_another_version_on_path_is_one_line_with_the_install_command(
    monkeypatch, tmp_path
):
    exe = _on_path(monkeypatch, tmp_path, "v0.20.0")
    with pytest.raises(KubetmError) as e:
        kind.kind_binary(build=True)  # no Go: nothing can build the pinned one
    assert e.value.message == (
        f"kind v0.20.0 at {exe} is not the pinned kind {kind.pinned()} "
        "(kind and its node image come in pairs)"
    )
    assert f"go install sigs.k8s.io/kind@{kind.pinned()}" in e.value.hint


def test_kind_of_another_version_on_path_gives_way_to_the_pinned_build(monkeypatch, tmp_path):
    _on_path(monkeypatch, tmp_path, "v0.20.0")
    built = _fake_kind(
        tmp_path / "cache" / "offline" / "bin" / offline.versions()["K8S_VERSION"] / "kind"
    )
    assert kind.kind_binary() == built


@pytest.mark.parametrize(
    "system, command",
    [
        ("linux", "go install sigs.k8s.io/kind@V"),
        ("darwin", "brew install kind"),
        ("win32", "choco install kind --version V"),
    ],
)
def test_install_command_per_os(system, command):
    v = kind.pinned()
    assert command.replace("@V", f"@{v}").replace("version V", f"version {v[1:]}") in (
        kind.install_command(system)
    )


def test_commands_are_the_documented_argument_lists(monkeypatch, tmp_path):
    exe = _fake_kind(
        tmp_path / "kind",
        'echo "$@" >> "$(dirname "$0")/argv"; [ "$2" = clusters ] && echo kubetm; true',
    )
    monkeypatch.setattr(kind, "kind_binary", lambda build=False, on_line=None: exe)
    assert kind.clusters() == ["kubetm"]
    lines = []
    kind.create_cluster(
        "kubetm", "/tmp/c.yaml", image="kubetm.local/kind-node:v1", on_line=lines.append
    )
    kind.delete_cluster("kubetm")
    saved = []
    monkeypatch.setattr(kind.docker, "save", lambda refs, archive: saved.append((refs, archive)))
    kind.load_images("kubetm", ["a:1", "b:2"])
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[:3] == [
        "get clusters",
        "create cluster --name kubetm --config /tmp/c.yaml --retain=false --image kubetm.local/kind-node:v1",
        "delete cluster --name kubetm",
    ]
    # docker save + kind load image-archive: works with the classic and the containerd image store
    assert saved == [(["a:1", "b:2"], saved[0][1])] and saved[0][1].endswith("/images.tar")
    assert argv[3] == f"load image-archive --name kubetm {saved[0][1]}"


def test_create_output_goes_to_on_line_and_failure_is_one_line(monkeypatch, tmp_path):
    exe = _fake_kind(
        tmp_path / "kind",
        'echo "Creating cluster"; echo "ERROR: failed to create cluster: boom" >&2; exit 1',
    )
    monkeypatch.setattr(kind, "kind_binary", lambda build=False, on_line=None: exe)
    lines = []
    with pytest.raises(CommandFailed) as e:
        kind.create_cluster("kubetm", "/tmp/c.yaml", on_line=lines.append)
    assert lines == ["Creating cluster", "ERROR: failed to create cluster: boom"]
    assert e.value.message == "kind create cluster failed: ERROR: failed to create cluster: boom"


def test_load_into_a_missing_cluster_says_so(monkeypatch, tmp_path):
    exe = _fake_kind(
        tmp_path / "kind", "echo 'ERROR: no nodes found for cluster \"kubetm\"' >&2; exit 1"
    )
    monkeypatch.setattr(kind, "kind_binary", lambda build=False, on_line=None: exe)
    monkeypatch.setattr(kind.docker, "save", lambda refs, archive: None)
    with pytest.raises(NotFound) as e:
        kind.load_images("kubetm", ["a:1"])
    assert (
        e.value.message == "kind cluster 'kubetm' does not exist"
        and e.value.hint == "kubetm cluster up"
    )


def test_a_kind_built_for_another_architecture_is_one_line_naming_file_and_arch(tmp_path):
    """exec format error: an aarch64 ELF on x86_64 (or the reverse) in the offline cache."""
    import platform

    other = "aarch64" if platform.machine() == "x86_64" else "x86_64"
    machine = 183 if other == "aarch64" else 62
    exe = tmp_path / "kind"
    exe.write_bytes(
        b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 44
    )
    exe.chmod(0o755)
    kind.version_of.cache_clear()
    with pytest.raises(KubetmError) as e:
        kind.version_of(str(exe))
    assert e.value.message == (
        f"{exe} cannot run here: exec format error (built for {other}, "
        f"this machine is {platform.machine()})"
    )
    assert e.value.hint == f"delete {exe}; kubetm rebuilds the pinned one for this machine"
