"""What `kubetm doctor` needs to know about this machine, gathered in one place.

``gather()`` reads the host (the docker CLI and engine, /proc and /sys, the user's groups, disk
and memory, the ports kubetm publishes, kind's and helm's versions) into one ``Facts`` value, a
plain dataclass the checks in kubetm/doctor.py judge. Unit tests build ``Facts`` by hand; nothing
here judges or prints. Every probe is best effort: what cannot be read stays None (the check then
says "could not be measured"), never an exception.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kubetm.errors import KubetmError
from kubetm.host import exec as hexec

# A port probe's answer: free, held by someone (in use), or the address does not exist here.
FREE, IN_USE, NO_ADDRESS, DENIED = "free", "in use", "address not available", "permission denied"


@dataclass
class Facts:
    """Everything the doctor judges. Absent knowledge is None."""

    system: str = "linux"  # sys.platform: linux, darwin, win32
    machine: str = "x86_64"
    uid: int | None = 0  # None on Windows
    user: str = "root"
    groups: list[str] = field(default_factory=list)  # the user's group names
    docker_group_exists: bool = True
    docker_cli: str | None = "docker"  # path of the docker CLI, None when missing
    docker_cli_version: str = ""  # `docker --version` (podman's shim says "podman version ...")
    docker_host: str = ""  # $DOCKER_HOST
    info: dict | None = None  # `docker info --format '{{json .}}'`, None when it failed
    info_error: str = ""  # the most telling line when `docker info` failed
    server_components: list[str] = field(default_factory=list)  # `docker version` component names
    buildx: bool = False  # BuildKit usable: buildx with a docker-driver builder (docker.builder)
    host_cgroup2: bool | None = None  # /sys/fs/cgroup is cgroup2 (the host's, not the engine's)
    delegated_controllers: list[str] | None = None  # rootless: cgroup controllers delegated to us
    inotify_instances: int | None = None
    inotify_watches: int | None = None
    disk_free: int | None = None  # bytes free where Docker keeps its data (DockerRootDir)
    disk_path: str = ""
    ports: dict[str, str] = field(default_factory=dict)  # "addr:port" -> FREE / IN_USE / ...
    port_holders: dict[str, str] = field(default_factory=dict)  # "addr:port" -> container name
    kind_path: str | None = None
    kind_version: str | None = None  # "v0.30.0"
    kind_error: str = ""  # e.g. "exec format error" for a binary of another architecture
    helm_path: str | None = None
    helm_version: str | None = None
    helm_error: str = ""


# ------------------------------------------------------------------------------ small probes


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _run(cmd: list[str], timeout: float = 20) -> hexec.Result | None:
    """A probe command; None when it cannot start (missing, not executable, wrong architecture)."""
    try:
        return hexec.run(cmd, check=False, timeout=timeout)
    except Exception:
        return None


def port_state(port: int, host: str = "127.0.0.1") -> str:
    """Whether ``host:port`` can be bound now (kubetm.host.net.bind_problem): FREE, IN_USE,
    NO_ADDRESS (the loopback alias does not exist, as on macOS for 127.0.0.2 until
    `ifconfig lo0 alias`), or DENIED (any other refusal)."""
    from kubetm.host import net

    problem = net.bind_problem(port, host)
    if problem is None:
        return FREE
    return {"in use": IN_USE, "not available": NO_ADDRESS}.get(problem, DENIED)


def program_version(path: str, args: list[str]) -> tuple[str | None, str]:
    """(version, error) of a program: the first ``vX.Y.Z`` word of its answer, or why none.

    A binary built for another architecture cannot start: the error then says "exec format error"
    with the file and this machine's architecture.
    """
    try:
        cp = hexec.run([path, *args], check=False, timeout=20)
    except KubetmError as e:  # a binary of another architecture, a missing program, a timeout
        return None, e.message
    for word in cp.output.replace("+", " ").split():
        w = word.strip(",")
        if w.startswith("v") and w[1:2].isdigit():
            return w, ""
    return None, hexec.last_error_line(cp.output)


def _delegated() -> list[str] | None:
    """Rootless: the cgroup v2 controllers systemd delegated to the user's session."""
    uid = os.getuid()
    path = f"/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service/cgroup.controllers"
    try:
        return Path(path).read_text().split()
    except OSError:
        return None


def _groups() -> tuple[list[str], bool]:
    try:
        import grp

        names = []
        for gid in os.getgroups():
            try:
                names.append(grp.getgrgid(gid).gr_name)
            except KeyError:
                pass
        try:
            grp.getgrnam("docker")
            exists = True
        except KeyError:
            exists = False
        return names, exists
    except ImportError:  # Windows
        return [], False


def _holders(ps_lines: Iterable[str]) -> dict[str, str]:
    """ "addr:port" -> container name, from `docker ps --format '{{.Names}}\t{{.Ports}}'`."""
    held: dict[str, str] = {}
    for line in ps_lines:
        name, _, ports = line.partition("\t")
        for spec in ports.split(","):
            host_side = spec.strip().split("->")[0]
            if "->" not in spec or ":" not in host_side:
                continue
            addr, _, prange = host_side.rpartition(":")
            lo, _, hi = prange.partition("-")
            if not lo.isdigit():
                continue
            for p in range(int(lo), int(hi or lo) + 1):
                held[f"{addr}:{p}"] = name.strip()
    return held


# ------------------------------------------------------------------------------ gather


def gather(published: Iterable[tuple[str, int]] = (), kind: str | None = None) -> Facts:
    """Read this machine. ``published``: the (address, port) pairs kubetm's cluster and registry
    publish; ``kind``: the kind binary kubetm would use (None: not found)."""
    f = Facts(system=sys.platform, machine=platform.machine())
    f.uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        import getpass

        f.user = getpass.getuser()
    except Exception:
        f.user = ""
    f.groups, f.docker_group_exists = _groups()
    f.docker_host = os.environ.get("DOCKER_HOST", "")
    f.docker_cli = shutil.which("docker")
    if f.docker_cli:
        cp = _run([f.docker_cli, "--version"])
        f.docker_cli_version = cp.output.strip() if cp else ""
        cp = _run([f.docker_cli, "info", "--format", "{{json .}}"], timeout=30)
        if cp is not None and cp.ok and cp.stdout.strip().startswith("{"):
            f.info = json.loads(cp.stdout)
            if f.info.get("ServerErrors"):
                f.info_error = str(f.info["ServerErrors"][0])
                f.info = None
        else:
            f.info_error = hexec.last_error_line(cp.output) if cp else "docker could not start"
        if f.info is not None:
            _engine_details(f)
    if sys.platform.startswith("linux"):
        f.host_cgroup2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
        f.inotify_instances = _read_int("/proc/sys/fs/inotify/max_user_instances")
        f.inotify_watches = _read_int("/proc/sys/fs/inotify/max_user_watches")
        if f.uid:
            f.delegated_controllers = _delegated()
    for addr, port in published:
        f.ports[f"{addr}:{port}"] = port_state(port, addr)
    f.kind_path = kind
    _versions(f)
    return f


def _engine_details(f: Facts) -> None:
    """The engine's components, builder, disk and port holders: asked at once (threads)."""
    from concurrent.futures import ThreadPoolExecutor

    from kubetm.host import docker

    cli = f.docker_cli or "docker"
    with ThreadPoolExecutor(max_workers=3) as pool:
        version = pool.submit(_run, [cli, "version", "--format", "{{json .Server}}"])
        builder = pool.submit(docker.builder)
        ps = pool.submit(_run, [cli, "ps", "--format", "{{.Names}}\t{{.Ports}}"])
        cp = version.result()
        try:
            server = json.loads(cp.stdout) if cp and cp.ok else {}
            f.server_components = [c.get("Name", "") for c in server.get("Components") or []]
        except ValueError:
            pass
        try:
            f.buildx = builder.result() == "buildkit"
        except Exception:
            f.buildx = False
        cp = ps.result()
        f.port_holders = _holders(cp.stdout.splitlines()) if cp and cp.ok else {}
    root = (f.info or {}).get("DockerRootDir", "")
    if engine_elsewhere(f):  # the data root is in a VM or on another machine, not on this disk
        f.disk_free, f.disk_path = None, root
    else:
        f.disk_free, f.disk_path = docker.disk_free(root), root


def engine_elsewhere(f: Facts) -> bool:
    """The engine runs in Docker Desktop's VM or behind a remote DOCKER_HOST: paths it reports
    (DockerRootDir) are not this machine's, even when the same path exists here."""
    desktop = "docker desktop" in str((f.info or {}).get("OperatingSystem", "")).lower()
    return desktop or f.docker_host.startswith(("tcp://", "ssh://", "http"))


def _versions(f: Facts) -> None:
    """kind's and helm's versions (helm only where kubetm would find one, never building it)."""
    from kubetm.host import helm

    if f.kind_path:
        f.kind_version, f.kind_error = program_version(f.kind_path, ["version"])
    try:
        f.helm_path = helm.binary(build_missing=False)
    except Exception:
        f.helm_path = None
    if f.helm_path:
        f.helm_version, f.helm_error = program_version(f.helm_path, ["version", "--short"])
