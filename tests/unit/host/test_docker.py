"""kubetm.host.docker: the engine check and failures as one line (the docker CLI is faked at the
subprocess door, tests/unit/host/fake_docker.py)."""

from __future__ import annotations

import shutil

import pytest

from kubetm.errors import CommandFailed, KubetmError, Unreachable
from kubetm.host import docker

from .fake_docker import install


def test_no_docker_engine_is_one_line(fake):
    fake.running = False
    with pytest.raises(KubetmError) as e:
        docker.require_docker()
    assert str(e.value) == "Docker is not running: start it (or run hack/docker-up.sh)"


@pytest.fixture
def fake(monkeypatch):
    return install(monkeypatch)


def test_docker_not_installed(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(KubetmError, match="Docker is not installed"):
        docker.require_docker()


def test_docker_missing_mid_command_is_the_same_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(KubetmError) as e:
        docker.run(["version"])
    assert e.value.message == "Docker is not installed" and "hack/docker-up.sh" in e.value.hint


def test_daemon_gone_mid_command_maps_to_the_same_line():
    err = docker.error(
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?",
        "docker push",
    )
    assert err.message == docker.DOCKER_DOWN and isinstance(err, Unreachable)


def test_daemon_gone_while_streaming_is_the_same_line(fake):
    fake.streams["build"] = (
        1,
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
    )
    with pytest.raises(Unreachable) as e:
        docker.build("/ctx", "x:1")
    assert e.value.message == docker.DOCKER_DOWN


def test_a_failed_command_names_what_and_the_telling_line(fake):
    fake.answer = lambda a: fake.cp(1, "", "Error response from daemon: No such container: ghost")
    with pytest.raises(CommandFailed) as e:
        docker.start("ghost")
    assert (
        e.value.message
        == "docker start ghost failed: Error response from daemon: No such container: ghost"
    )
    assert e.value.returncode == 1 and fake.calls[-1] == ["docker", "start", "ghost"]


def test_build_uses_the_classic_builder_and_passes_args_and_labels(fake):
    lines = []
    fake.streams["build"] = (0, "Step 1/2 : FROM b\nStep 2/2 : CMD x\n")
    docker.build("/ctx", "r/x:1", build_args={"BASE": "b"}, labels={"k": "v"}, on_line=lines.append)
    assert fake.calls[-1] == [
        "docker",
        "build",
        "--force-rm",
        "--build-arg",
        "BASE=b",
        "--label",
        "k=v",
        "--tag",
        "r/x:1",
        "/ctx",
    ]
    assert fake.envs[-1]["DOCKER_BUILDKIT"] == "0"
    assert lines == ["Step 1/2 : FROM b", "Step 2/2 : CMD x"]


@pytest.mark.parametrize("driver", ["docker", "docker-container"])
def test_build_uses_buildkit_where_the_builder_loads_into_the_engine(fake, driver):
    fake.buildx_driver = driver
    docker.build("/ctx", "r/x:1", build_args={"BASE": "b"})
    if driver == "docker":
        assert fake.calls[-1][:5] == ["docker", "buildx", "build", "--load", "--progress=plain"]
        assert fake.calls[-1][-3:] == ["--tag", "r/x:1", "/ctx"]
        assert fake.envs[-1] is None  # no DOCKER_BUILDKIT=0
    else:  # a docker-container builder cannot see local bases: the classic one
        assert fake.calls[-1][:2] == ["docker", "build"]
        assert fake.envs[-1]["DOCKER_BUILDKIT"] == "0"


def test_push_failure_is_returned_for_the_caller_to_explain(fake):
    fake.streams["push"] = (1, "denied: requested access to the resource is denied")
    result = docker.push("r/x:1")
    assert not result.ok and "denied" in result.output


def test_exec_in_passes_stdin_only_when_given(fake):
    docker.exec_in("node", ["cp", "/dev/stdin", "/f"], input="data")
    docker.exec_in("node", ["true"])
    assert fake.calls[-2] == ["docker", "exec", "-i", "node", "cp", "/dev/stdin", "/f"]
    assert fake.calls[-1] == ["docker", "exec", "node", "true"]


def test_stop_gives_the_grace_period(fake):
    docker.stop("kubetm-worker", grace=5, timeout=90)
    assert fake.calls[-1] == ["docker", "stop", "--time", "5", "kubetm-worker"]


def test_ps_parses_one_json_object_per_line(fake):
    fake.answer = lambda a: fake.cp(
        0, '{"Names":"kubetm-worker","State":"running"}\n{"Names":"kubetm-worker2"}\n'
    )
    assert [c["Names"] for c in docker.ps(["label=io.x-k8s.kind.cluster=kubetm"], all=True)] == [
        "kubetm-worker",
        "kubetm-worker2",
    ]
    assert fake.calls[-1][:3] == ["docker", "ps", "-a"]


def test_port_user_names_the_container_or_another_program(fake):
    assert docker.port_user(5001) == "container someone-else"
    fake.answer = lambda a: fake.cp(0, "")
    assert docker.port_user(5001) == "another program"


def test_network_connect_accepts_already_connected(fake):
    exists = "Error response from daemon: endpoint with name r already exists in network kind"
    fake.answer = lambda a: fake.cp(1, "", exists)
    docker.network_connect("kind", "r")
    fake.answer = lambda a: fake.cp(1, "", "Error response from daemon: network kind not found")
    with pytest.raises(
        KubetmError, match="connecting r to network kind failed: .*network kind not found"
    ):
        docker.network_connect("kind", "r")


def test_a_build_that_fills_the_disk_names_docker_s_data_root_and_its_free_space(fake, tmp_path):
    fake.streams["build"] = (
        1,
        "Step 1/8 : FROM kubetm.local/nodejs:bookworm\nStep 2/8 : LABEL x=y\n"
        "failed to copy files: copy file range failed: no space left on device\n",
    )
    plain = fake.answer
    fake.answer = lambda a: fake.cp(0, f"{tmp_path}\n") if a[0] == "info" else plain(a)
    with pytest.raises(CommandFailed) as e:
        docker.build("/ctx", "localhost:5001/kubetm/app:v1", what="building kubetm/app:v1")
    msg = e.value.message
    assert msg.startswith(f"building kubetm/app:v1 failed: Docker's data root {tmp_path} is full (")
    assert msg.endswith(" free): no space left on device")
    assert "docker system prune" in e.value.hint


def test_disk_full_inside_docker_desktop_s_vm_names_the_root_without_free_space(fake):
    plain = fake.answer
    fake.answer = lambda a: (
        fake.cp(0, "/var/lib/docker-in-the-vm\n") if a[0] == "info" else plain(a)
    )
    err = docker.error("write /var/lib/docker/tmp/x: no space left on device", "loading x")
    assert err.message == (
        "loading x failed: Docker's data root /var/lib/docker-in-the-vm is full: "
        "no space left on device"
    )
