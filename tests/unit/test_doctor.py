"""kubetm.doctor: each check judged on made-up host facts (no docker, no /proc read)."""

from __future__ import annotations

import json

import pytest

from kubetm import doctor
from kubetm.errors import KubetmError
from kubetm.host import facts
from kubetm.host.facts import FREE, IN_USE, NO_ADDRESS, Facts
from kubetm.host.offline import versions

GiB = 1024**3
PINNED = versions()


def healthy(**over) -> Facts:
    """A machine every check passes on: Linux, Docker Engine, cgroup v2, enough of everything."""
    f = Facts(
        system="linux",
        machine="x86_64",
        uid=1000,
        user="student",
        groups=["student", "docker"],
        docker_cli="/usr/bin/docker",
        docker_cli_version="Docker version 28.2.2, build e6534b4",
        info={
            "ServerVersion": "28.2.2",
            "OperatingSystem": "Ubuntu 24.04 LTS",
            "OSType": "linux",
            "CgroupVersion": "2",
            "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
            "MemTotal": 16 * GiB,
            "NCPU": 8,
            "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"]],
            "DockerRootDir": "/var/lib/docker",
        },
        server_components=["Engine", "containerd", "runc"],
        buildx=True,
        host_cgroup2=True,
        inotify_instances=8192,
        inotify_watches=524288,
        disk_free=100 * GiB,
        disk_path="/var/lib/docker",
        ports={"127.0.0.1:30000": FREE, "127.0.0.2:30000": FREE, "127.0.0.1:5001": FREE},
        kind_path="/usr/local/bin/kind",
        kind_version=PINNED["KIND_VERSION"],
        helm_path="/usr/local/bin/helm",
        helm_version=PINNED["HELM_VERSION"],
    )
    for k, v in over.items():
        setattr(f, k, v)
    return f


def by_name(f: Facts) -> dict[str, doctor.Check]:
    return {c.name: c for c in doctor.checks(f)}


def test_a_healthy_machine_passes_every_check():
    rep = doctor.report(healthy())
    assert rep["ok"] and rep["problems"] == []
    assert [c["status"] for c in rep["checks"]] == ["ok"] * len(rep["checks"])
    assert [c["name"] for c in rep["checks"]] == [
        "engine",
        "docker-group",
        "platform",
        "cgroup",
        "inotify",
        "disk",
        "memory",
        "image-store",
        "builder",
        "kind",
        "helm",
        "ports",
    ]
    json.dumps(rep)  # -o json
    assert "ready for `kubetm cluster up`" in doctor.render(rep)


# ------------------------------------------------------------------------------ engine


def test_no_docker_cli_is_fatal():
    c = by_name(healthy(docker_cli=None, info=None))["engine"]
    assert c.failed_fatally and "Docker is not installed" in c.problems[0]


@pytest.mark.parametrize(
    "over",
    [
        {"docker_cli_version": "podman version 4.9.3"},  # podman-docker's shim
        {"server_components": ["Podman Engine", "Conmon"]},  # docker CLI -> podman's socket
        {"docker_host": "unix:///run/user/1000/podman/podman.sock"},
    ],
)
def test_podman_is_not_supported_and_says_why(over):
    c = by_name(healthy(**over))["engine"]
    assert c.failed_fatally
    assert c.problems[0].startswith("podman is not supported: kubetm drives Docker")
    assert "fix: use Docker Engine or Docker Desktop" in c.problems[0]


def test_engine_down_and_permission_denied_are_told_apart():
    down = by_name(healthy(info=None, info_error="Cannot connect to the Docker daemon"))["engine"]
    assert down.failed_fatally and down.problems[0].startswith("Docker is not running")
    assert "systemctl start docker" in down.problems[0]
    denied = healthy(
        info=None,
        groups=["student"],
        info_error="permission denied while trying to connect to the Docker daemon socket",
    )
    checks = by_name(denied)
    assert checks["engine"].failed_fatally and "usermod -aG docker" in checks["engine"].problems[0]
    assert checks["docker-group"].failed_fatally


def test_docker_desktop_is_named_and_needs_no_group():
    f = healthy(
        system="darwin", groups=[], info={**healthy().info, "OperatingSystem": "Docker Desktop"}
    )
    checks = by_name(f)
    assert checks["engine"].detail.startswith("Docker Desktop 28.2.2")
    assert checks["docker-group"].status == "ok"
    assert checks["inotify"].status == "ok" and "VM" in checks["inotify"].detail


def test_windows_containers_are_refused():
    f = healthy(system="win32", info={**healthy().info, "OSType": "windows"})
    assert by_name(f)["engine"].failed_fatally


# ------------------------------------------------------------------------------ cgroups


def test_cgroup_v1_is_a_known_limit_not_a_failure():
    c = by_name(healthy(info={**healthy().info, "CgroupVersion": "1"}))["cgroup"]
    assert c.status == "warn" and not c.failed_fatally
    assert "cgroup v1: a known limit here" in c.detail


def test_rootless_needs_cgroup_v2_and_delegated_controllers():
    rootless = {**healthy().info, "SecurityOptions": ["name=seccomp", "name=rootless"]}
    v1 = by_name(healthy(info={**rootless, "CgroupVersion": "1"}))["cgroup"]
    assert v1.failed_fatally and "rootless kind needs cgroup v2" in v1.problems[0]
    missing = by_name(healthy(info=rootless, delegated_controllers=["memory", "pids"]))["cgroup"]
    assert missing.failed_fatally and "controllers cpu are not delegated" in missing.detail
    assert "Delegate=yes" in missing.problems[0]
    ok = by_name(
        healthy(info=rootless, delegated_controllers=["cpuset", "cpu", "io", "memory", "pids"])
    )
    assert ok["cgroup"].status == "ok" and ok["docker-group"].detail.startswith("rootless")


# ------------------------------------------------------------------------------ limits


def test_inotify_limits_below_kinds_values_warn_with_the_sysctl():
    c = by_name(healthy(inotify_instances=128, inotify_watches=8192))["inotify"]
    assert c.status == "warn" and len(c.problems) == 2
    assert "sudo sysctl fs.inotify.max_user_instances=512" in c.problems[0]
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in c.problems[1]


@pytest.mark.parametrize("free, status", [(3, "fail"), (10, "warn"), (40, "ok")])
def test_disk_is_measured_at_dockers_data_root(free, status):
    c = by_name(healthy(disk_free=free * GiB, disk_path="/mnt/docker"))["disk"]
    assert c.status == status and "/mnt/docker" in c.detail
    assert c.failed_fatally == (status == "fail")


def test_disk_inside_a_vm_is_not_measurable_and_says_where_to_look():
    f = healthy(
        system="darwin",
        disk_free=None,
        info={**healthy().info, "OperatingSystem": "Docker Desktop"},
    )
    c = by_name(f)["disk"]
    assert c.status == "warn" and "Settings > Resources > Disk" in c.problems[0]


@pytest.mark.parametrize("gib, status", [(1, "fail"), (3, "warn"), (8, "ok")])
def test_memory(gib, status):
    assert (
        by_name(healthy(info={**healthy().info, "MemTotal": gib * GiB}))["memory"].status == status
    )


# ------------------------------------------------------------------------------ ports


def test_ports_held_by_kubetms_own_containers_are_fine():
    f = healthy(
        ports={"127.0.0.1:30000": IN_USE, "127.0.0.2:30000": IN_USE, "127.0.0.1:5001": IN_USE},
        port_holders={
            "127.0.0.1:30000": "kubetm-control-plane",
            "127.0.0.2:30000": "kubetm-worker",
            "127.0.0.1:5001": "kubetm-registry",
        },
    )
    c = by_name(f)["ports"]
    assert c.status == "ok" and "3 held by kubetm's own containers" in c.detail


def test_a_port_held_by_someone_else_is_in_use():
    f = healthy(
        ports={"127.0.0.1:30000": IN_USE, "127.0.0.1:5001": IN_USE},
        port_holders={"127.0.0.1:5001": "my-registry"},
    )
    c = by_name(f)["ports"]
    assert c.failed_fatally
    assert c.problems == [
        "port in use: 127.0.0.1:30000 (another program), 127.0.0.1:5001 (container my-registry) "
        "(fix: stop what listens there (ss -ltnp, or lsof -i :PORT on macOS), or publish "
        "elsewhere with KUBETM_HOST_PORT_OFFSET=1000)"
    ]


def test_a_missing_loopback_alias_is_address_not_available_not_in_use():
    """macOS has only 127.0.0.1 until `ifconfig lo0 alias`: binding 127.0.0.2 fails EADDRNOTAVAIL."""
    f = healthy(
        system="darwin",
        ports={
            "127.0.0.1:30000": FREE,
            "127.0.0.2:30000": NO_ADDRESS,
            "127.0.0.2:18080": NO_ADDRESS,
        },
    )
    c = by_name(f)["ports"]
    assert c.failed_fatally and len(c.problems) == 1
    assert c.problems[0].startswith("127.0.0.2: address not available")
    assert "in use" not in c.problems[0]
    assert c.problems[0].endswith(
        "(fix: sudo ifconfig lo0 alias 127.0.0.2 up, or publish every node on 127.0.0.1: "
        "KUBETM_PORT_SCHEME=localhost)"
    )


def test_port_state_tells_a_missing_address_from_a_busy_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert facts.port_state(port, "127.0.0.1") == IN_USE
    # 192.0.2.1 (TEST-NET-1) is on no interface here: like 127.0.0.2 on macOS
    assert facts.port_state(port, "192.0.2.1") == NO_ADDRESS


def test_holders_are_read_from_docker_ps_ranges():
    held = facts._holders(
        [
            "kubetm-worker\t127.0.0.2:18080->18080/tcp, 127.0.0.2:30000-30009->30000-30009/tcp",
            "kubetm-registry\t127.0.0.1:5001->5000/tcp",
            "plain\t",
        ]
    )
    assert (
        held["127.0.0.2:30005"] == "kubetm-worker" and held["127.0.0.1:5001"] == "kubetm-registry"
    )
    assert len(held) == 12


# ------------------------------------------------------------------------------ store, builder, versions


def test_image_store_names_containerd_or_classic():
    snap = {
        **healthy().info,
        "Driver": "overlayfs",
        "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
    }
    assert by_name(healthy(info=snap))["image-store"].detail.startswith("containerd image store")
    assert by_name(healthy())["image-store"].detail.startswith("classic image store")


def test_no_buildx_warns_that_the_classic_builder_is_used():
    c = by_name(healthy(buildx=False))["builder"]
    assert c.status == "warn" and "classic builder" in c.detail


def test_kind_of_another_version_fails_with_the_install_command_for_the_os():
    for system, command in (
        ("linux", "go install sigs.k8s.io/kind@"),
        ("darwin", "brew install kind"),
        ("win32", "choco install kind"),
    ):
        c = by_name(healthy(system=system, kind_version="v0.20.0"))["kind"]
        assert c.failed_fatally and command in c.problems[0], system


def test_kind_missing_is_fine_when_go_can_build_it(monkeypatch):
    import shutil

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda n, *a, **k: "/usr/bin/go" if n == "go" else real(n))
    assert by_name(healthy(kind_path=None, kind_version=None))["kind"].status == "ok"
    monkeypatch.setattr(shutil, "which", lambda n, *a, **k: None if n == "go" else real(n))
    assert by_name(healthy(kind_path=None, kind_version=None))["kind"].failed_fatally


def test_helm_mismatch_only_warns():
    c = by_name(healthy(helm_version="v3.10.0"))["helm"]
    assert c.status == "warn" and not c.fatal


# ------------------------------------------------------------------------------ preflight


def test_preflight_raises_the_first_fatal_problem_as_one_line():
    with pytest.raises(KubetmError) as e:
        doctor.preflight(healthy(docker_cli_version="podman version 5.0", kind_version="v0.1.0"))
    assert e.value.message.startswith("podman is not supported")
    assert e.value.hint == "use Docker Engine or Docker Desktop; `kubetm doctor` lists every check"


def test_preflight_passes_warnings():
    doctor.preflight(
        healthy(inotify_instances=128, buildx=False, info={**healthy().info, "CgroupVersion": "1"})
    )


def test_report_is_not_ok_when_a_fatal_check_fails():
    rep = doctor.report(healthy(disk_free=1 * GiB))
    assert not rep["ok"] and "not ready: disk" in doctor.render(rep)


# ------------------------------------------------------------------------------ gathering


def _gather_with(monkeypatch, answers: dict[str, tuple[int, str]], **env) -> Facts:
    """facts.gather with the docker CLI answered by ``answers`` (first two argv words -> rc, out)."""
    from kubetm.host import docker
    from kubetm.host.exec import Result

    def run(cmd, timeout=20):
        key = " ".join(cmd[1:3])
        rc, out = next((v for k, v in answers.items() if key.startswith(k)), (0, ""))
        return Result(tuple(cmd), rc, out, "")

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(facts, "_run", run)
    monkeypatch.setattr(facts.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(docker, "builder", lambda: "classic")
    return facts.gather([("127.0.0.1", 0)])


def test_gather_reads_docker_info_and_measures_disk_at_its_data_root(monkeypatch, tmp_path):
    info = {**healthy().info, "DockerRootDir": str(tmp_path)}
    f = _gather_with(
        monkeypatch,
        {
            "--version": (0, "Docker version 28.2.2"),
            "info --format": (0, json.dumps(info)),
            "version --format": (0, json.dumps({"Components": [{"Name": "Engine"}]})),
            "ps --format": (0, "kubetm-registry\t127.0.0.1:5001->5000/tcp\n"),
        },
    )
    assert f.info["ServerVersion"] == "28.2.2" and f.server_components == ["Engine"]
    assert f.disk_path == str(tmp_path) and f.disk_free and f.disk_free > 0
    assert f.port_holders == {"127.0.0.1:5001": "kubetm-registry"}
    assert f.ports == {"127.0.0.1:0": FREE}


def test_gather_keeps_the_engines_error_when_info_fails(monkeypatch):
    f = _gather_with(
        monkeypatch,
        {
            "info --format": (
                1,
                "permission denied while trying to connect to the Docker daemon socket at "
                "unix:///var/run/docker.sock",
            )
        },
    )
    assert f.info is None and f.info_error.startswith("permission denied")


def test_gather_does_not_measure_a_disk_that_is_not_here(monkeypatch, tmp_path):
    """Docker Desktop's data root is inside its VM; a remote DOCKER_HOST's on another machine."""
    desktop = {
        **healthy().info,
        "OperatingSystem": "Docker Desktop",
        "DockerRootDir": str(tmp_path),
    }
    f = _gather_with(monkeypatch, {"info --format": (0, json.dumps(desktop))})
    assert f.disk_free is None
    remote = {**healthy().info, "DockerRootDir": str(tmp_path)}
    f = _gather_with(
        monkeypatch, {"info --format": (0, json.dumps(remote))}, DOCKER_HOST="tcp://10.0.0.5:2376"
    )
    assert f.disk_free is None
