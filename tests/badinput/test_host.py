"""Bad input from the machine rather than from a file: a kind of another version, a pull that keeps
failing, podman answering as `docker`, a loopback address that does not exist, a kind binary built
for another architecture in the offline cache.

Each runs the real command line and asserts: exit != 0, exactly one `error: ...` line naming the
problem (progress lines before it are allowed, no traceback), and nothing created: no kind cluster
`kubetm-bad`, no build. The shared cluster is only read (its containers hold the ports; a cluster
named `kubetm-bad` would collide on them, so the port check stops `cluster up` even if the case's
own check did not).
"""

from __future__ import annotations

import errno
import json
import os
import platform
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BAD = "kubetm-bad"
VERSIONS = dict(
    ln.split("=", 1)
    for ln in (ROOT / "hack/offline/versions.env").read_text().splitlines()
    if "=" in ln and not ln.startswith("#")
)
PINNED_KIND = VERSIONS["KIND_VERSION"]


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _env(tmp_path: Path, bin_dir: Path | None = None, real_docker: bool = True, **extra) -> dict:
    """PATH = the case's fakes, then the real docker's folder (no kind, no go from elsewhere)."""
    dirs = [str(bin_dir)] if bin_dir else []
    if real_docker:
        dirs.append(str(Path(shutil.which("docker")).parent))
    dirs.append(str(Path(sys.executable).parent))
    return {
        **{k: v for k, v in os.environ.items() if k not in ("KUBETM_OFFLINE", "KUBETM_CACHE")},
        "PATH": os.pathsep.join(dirs + ["/bin"]),
        "PYTHONPATH": str(ROOT),
        "KUBETM_NO_HELP_CACHE": "1",
        "COLUMNS": "200",
        **extra,
    }


def _kubetm(args: list[str], env: dict, cwd: Path, timeout: float = 180):
    return subprocess.run(
        [sys.executable, "-m", "kubetm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def _one_error_line(cp) -> str:
    assert cp.returncode != 0, f"exit 0; stdout={cp.stdout[-300:]!r}"
    assert "Traceback" not in cp.stderr + cp.stdout
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], cp.stderr
    assert len(errors[0]) <= 420
    return errors[0][len("error: ") :]


def _nothing_created() -> None:
    if shutil.which("docker") is None:
        return
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={BAD}", "-q"],
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == "", f"containers of cluster {BAD} were created"


def test_kind_of_another_version_stops_cluster_up(tmp_path):
    bin_dir = tmp_path / "bin"
    kind = _script(bin_dir / "kind", 'echo "kind v0.20.0 go1.21.0 linux/amd64"')
    env = _env(tmp_path, bin_dir, KUBETM_CACHE=str(tmp_path / "cache"))  # no pinned kind cached
    line = _one_error_line(_kubetm(["cluster", "up", "--name", BAD], env, tmp_path))
    assert line.startswith(f"kind v0.20.0 at {kind} is not the pinned {PINNED_KIND}")
    assert f"go install sigs.k8s.io/kind@{PINNED_KIND}" in line
    _nothing_created()


def test_a_kind_built_for_another_architecture_in_the_offline_cache(tmp_path):
    other, machine = ("aarch64", 183) if platform.machine() == "x86_64" else ("x86_64", 62)
    cache = tmp_path / "cache" / "offline"
    versions = dict(
        ln.split("=", 1)
        for ln in (ROOT / "hack/offline/versions.env").read_text().splitlines()
        if "=" in ln and not ln.startswith("#")
    )
    kind = cache / "bin" / versions["K8S_VERSION"] / "kind"
    kind.parent.mkdir(parents=True)
    kind.write_bytes(
        b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 44
    )
    kind.chmod(0o755)
    (cache / "stamps").mkdir()
    (cache / "stamps" / "kind").write_text(PINNED_KIND)
    env = _env(tmp_path, KUBETM_CACHE=str(tmp_path / "cache"))
    line = _one_error_line(_kubetm(["cluster", "up", "--name", BAD], env, tmp_path))
    assert line.startswith(
        f"{kind} cannot run here: exec format error (built for {other}, "
        f"this machine is {platform.machine()})"
    )
    _nothing_created()
    # the same binary met outside the preflight (image load) is the same one line
    line = _one_error_line(_kubetm(["image", "load", "hello", "--cluster", BAD], env, tmp_path))
    assert "exec format error" in line and str(kind) in line


FAKE_DOCKER = r"""
echo "$*" >> "$(dirname "$0")/calls"
case "$1" in
  --version) echo "{cli_version}" ;;
  version) case "$*" in *Server.Version*) echo "{server}" ;; *) echo '{components}' ;; esac ;;
  info) echo '{info}' ;;
  image) exit 1 ;;
  pull) echo "{pull_error}" >&2; exit 1 ;;
  ps) ;;
  buildx) exit 1 ;;
  *) exit 0 ;;
esac
"""


def _fake_docker(bin_dir: Path, **kw) -> Path:
    values = {
        "cli_version": "Docker version 28.2.2, build e6534b4",
        "server": "28.2.2",
        "components": json.dumps({"Components": [{"Name": "Engine"}]}),
        "info": json.dumps(
            {
                "ServerVersion": "28.2.2",
                "OperatingSystem": "Ubuntu 24.04",
                "OSType": "linux",
                "CgroupVersion": "2",
                "MemTotal": 16 * 1024**3,
                "DockerRootDir": str(bin_dir),
            }
        ),
        "pull_error": "",
        **kw,
    }
    return _script(bin_dir / "docker", FAKE_DOCKER.format(**values))


def test_podman_as_the_engine_is_refused_with_why(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_docker(
        bin_dir,
        cli_version="podman version 4.9.3",
        components=json.dumps({"Components": [{"Name": "Podman Engine"}]}),
    )
    env = _env(tmp_path, bin_dir, real_docker=False)
    line = _one_error_line(_kubetm(["cluster", "up", "--name", BAD], env, tmp_path))
    assert line.startswith("podman is not supported: kubetm drives Docker")
    assert "use Docker Engine or Docker Desktop" in line
    calls = (bin_dir / "calls").read_text().splitlines()
    assert not any(c.split()[0] in ("run", "create", "network", "build") for c in calls), calls
    doctor = _kubetm(["doctor", "-o", "json"], env, tmp_path)
    assert doctor.returncode == 1
    engine = json.loads(doctor.stdout)["checks"][0]
    assert engine["name"] == "engine" and engine["status"] == "fail"


def test_a_pull_that_keeps_failing_is_retried_then_one_line_suggesting_offline(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_docker(
        bin_dir,
        pull_error='Error response from daemon: Get \\"https://r.example/v2/\\": '
        "net/http: TLS handshake timeout",
    )
    env = _env(tmp_path, bin_dir, real_docker=False)
    line = _one_error_line(_kubetm(["image", "build", "hello"], env, tmp_path))
    assert line == (
        f"pulling {VERSIONS['NODEJS_IMAGE']} failed: "
        'Error response from daemon: Get "https://r.example/v2/": '
        "net/http: TLS handshake timeout (after 4 tries) "
        "(retry later, or build everything from source with --offline)"
    )
    calls = (bin_dir / "calls").read_text().splitlines()
    assert sum(c.startswith("pull ") for c in calls) == 4
    assert not any(c.startswith(("build", "buildx build")) for c in calls), calls


def test_a_missing_loopback_address_is_address_not_available_not_in_use(monkeypatch, capsys):
    """As on macOS, where 127.0.0.2 exists only after `ifconfig lo0 alias`, with the loopback port
    scheme asked for (unasked, `cluster up` picks the localhost scheme there). This Linux kernel
    binds any 127.x, so binding 127.0.0.2 is made to fail the way macOS fails (EADDRNOTAVAIL); the
    rest (docker, kind, the other ports) is this machine."""
    from kubetm.cli import main
    from kubetm.host import net

    class NoAlias(socket.socket):
        def bind(self, address):
            if address[0] == "127.0.0.2":
                raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
            return super().bind(address)

    monkeypatch.setattr(net.socket, "socket", NoAlias)
    monkeypatch.setenv("KUBETM_PORT_SCHEME", "loopback")
    monkeypatch.delenv("KUBETM_HOST_PORT_OFFSET", raising=False)
    code = main(["cluster", "up", "--name", BAD])
    err = capsys.readouterr().err
    assert code == 1
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(
        "error: 127.0.0.2: address not available (this loopback address does not exist here"
    ), err
    assert "in use" not in lines[0]
    assert lines[0].endswith(
        "(sudo ip addr add 127.0.0.2/8 dev lo, or publish every node on 127.0.0.1: "
        "KUBETM_PORT_SCHEME=localhost; `kubetm doctor` lists every check)"
    )
    _nothing_created()
    # for the cluster that holds the other ports, doctor names only the missing address
    assert main(["doctor", "-o", "json"]) == 1
    ports = json.loads(capsys.readouterr().out)["checks"][-1]
    assert ports["name"] == "ports" and ports["status"] == "fail"
    assert [p.split(" (")[0] for p in ports["problems"]] == ["127.0.0.2: address not available"]


@pytest.fixture(autouse=True)
def _no_leftovers():
    yield
    _nothing_created()
