"""The docker CLI, as kubetm uses it: the engine check, images, containers, networks, volumes.

Why the docker CLI, not the Docker SDK: the docker CLI is what students already have, handles
credential helpers, and adds no dependency. Commands are argument lists, never shell strings;
registry credentials stay in docker's own store (docker login / credential helpers), never on argv
or in output. Nothing here prints: long commands (build, push) hand each line to ``on_line``.

Every failure is one line: ``CommandFailed("<what> failed: <most telling line>")``, or
``Unreachable(DOCKER_DOWN)`` when the engine stopped answering, or "Docker is not installed".

    >>> from kubetm.host import docker
    >>> docker.require_docker()
    >>> docker.image_present("kubetm.local/debian:bookworm")    # True / False
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence

from kubetm.errors import CommandFailed, KubetmError, Timeout, Unreachable
from kubetm.host import exec as hexec
from kubetm.host.exec import LineFn, Result, last_error_line

DOCKER_DOWN = "Docker is not running: start it (or run hack/docker-up.sh)"
# The classic builder, only where it is all there is (no buildx): DOCKER_BUILDKIT=0 is deprecated.
CLASSIC_BUILDER = {"DOCKER_BUILDKIT": "0"}
_builder: dict[str, str] = {}  # "kind" -> "buildkit" | "classic", asked once per process


def engine_down(output: str) -> bool:
    """Whether a docker (or kind) output says the engine does not answer."""
    text = output or ""
    return "Cannot connect to the Docker daemon" in text or "Is the docker daemon running" in text


def disk_full(output: str) -> bool:
    """Whether a docker output says the engine ran out of disk (ENOSPC in its data root)."""
    return "no space left on device" in (output or "").lower()


DISK_FULL_HINT = (
    "free space: `docker system prune` removes stopped containers and dangling images "
    "(`docker image prune -a`: every unused image), or give Docker's disk more room "
    "(Docker Desktop: Settings > Resources)"
)


def disk_free(root: str) -> int | None:
    """Free bytes at Docker's data root, measured there (None when it is not on this host's
    filesystem, as with Docker Desktop, whose data root lives inside its VM)."""
    if not root or not os.path.exists(root):
        return None
    try:
        return shutil.disk_usage(root).free
    except OSError:
        return None


def data_root_space() -> tuple[str, int | None]:
    """Docker's data root (``root_dir``) and its free bytes when it is a path on this machine."""
    root = root_dir()
    return root, disk_free(root)


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


def _disk_full_error(what: str, output: str) -> CommandFailed:
    root, free = data_root_space()
    where = f"Docker's data root {root} is full" + (
        f" ({_human(free)} free)" if free is not None else ""
    )
    return CommandFailed(
        f"{what} failed: {where}: no space left on device", hint=DISK_FULL_HINT, output=output
    )


def error(output: str, what: str) -> KubetmError:
    """The one-line error for a failed docker command that printed ``output``."""
    if engine_down(output):
        return Unreachable(DOCKER_DOWN)
    if disk_full(output):
        return _disk_full_error(what, output)
    return CommandFailed(f"{what} failed: {last_error_line(output)}", output=output)


def _reraise(e: CommandFailed) -> KubetmError:
    if engine_down(e.output):
        return Unreachable(DOCKER_DOWN)
    if disk_full(e.output):
        return _disk_full_error(e.message.split(" failed: ", 1)[0], e.output)
    return e


def run(
    args: Sequence[str],
    *,
    check: bool = True,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    what: str = "",
    input: str | bytes | None = None,
) -> Result:
    """``docker <args>``, output captured; with ``check`` a failure raises one line."""
    try:
        return hexec.run(
            ["docker", *args],
            check=check,
            timeout=timeout,
            env=env,
            input=input,
            what=what or f"docker {' '.join(args[:2])}",
        )
    except CommandFailed as e:
        raise _reraise(e) from None


def stream(
    args: Sequence[str],
    on_line: LineFn | None = None,
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    what: str = "",
    timeout: float | None = None,
) -> Result:
    """``docker <args>``, each output line handed to ``on_line``; the result keeps the tail."""
    try:
        return hexec.stream(
            ["docker", *args],
            on_line,
            check=check,
            env=env,
            what=what or f"docker {' '.join(args[:2])}",
            timeout=timeout,
        )
    except CommandFailed as e:
        raise _reraise(e) from None


# ------------------------------------------------------------------------------ the engine


def require_docker() -> None:
    """Raise the one-line 'Docker is not installed' / 'Docker is not running' unless an engine answers."""
    if not shutil.which("docker"):
        raise hexec.missing("docker")
    cp = run(["version", "--format", "{{.Server.Version}}"], check=False)
    if cp.returncode != 0 or not cp.stdout.strip():
        raise Unreachable(DOCKER_DOWN)


def root_dir() -> str:
    """Docker's data root (where images and containers take disk space)."""
    cp = run(["info", "--format", "{{.DockerRootDir}}"], check=False)
    return cp.stdout.strip() or "/var/lib/docker"


# ------------------------------------------------------------------------------ images


def image_present(image: str) -> bool:
    return run(["image", "inspect", "--format", "{{.Id}}", image], check=False).returncode == 0


def local_ref(pinned: str) -> str | None:
    """The local image to use for a public ``name:tag@sha256:...``: the pinned ref itself when
    Docker has it (pulled by digest), else ``name:tag`` when that is present (a local copy or
    retag, not verified against the digest), else None (it must be pulled)."""
    if image_present(pinned):
        return pinned
    tagged = pinned.split("@", 1)[0]
    if tagged != pinned and image_present(tagged):
        return tagged
    return None


def inspect_images(refs: Sequence[str]) -> list[dict]:
    """``docker image inspect`` of every ref (all must exist)."""
    return json.loads(run(["image", "inspect", *refs], what="docker image inspect").stdout)


def image_label(image: str, key: str) -> str | None:
    """One label of a local image; None when the image is absent."""
    cp = run(
        ["image", "inspect", "--format", f'{{{{index .Config.Labels "{key}"}}}}', image],
        check=False,
    )
    return cp.stdout.strip() if cp.returncode == 0 else None


def image_refs(label: str) -> list[str]:
    """``repository:tag`` of every local image carrying ``label``."""
    return run(
        ["image", "ls", "--filter", f"label={label}", "--format", "{{.Repository}}:{{.Tag}}"]
    ).stdout.split()


# How a failed `docker pull` reads: no registry answers at all (name resolution, no route,
# refused), a transient failure worth retrying, or a refusal (unknown image, denied).
PULL_UNREACHABLE = (
    "no such host",
    "name resolution",
    "server misbehaving",
    "network is unreachable",
    "no route to host",
    "connection refused",
    "proxyconnect",
)
PULL_TRANSIENT = (
    "timeout",
    "timed out",
    "connection reset",
    "unexpected eof",
    "toomanyrequests",
    "too many requests",
    "500 internal",
    "502 bad gateway",
    "503 service",
    "504 gateway",
    "tls handshake",
)


class PullFailed(KubetmError):
    """``docker pull`` failed; ``reason`` is "unreachable", "transient" or "refused"."""

    def __init__(self, message: str, reason: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reason = reason


def pull_failure(output: str) -> str:
    """ "unreachable", "transient" or "refused", read from a failed pull's output."""
    text = (output or "").lower()
    if any(p in text for p in PULL_UNREACHABLE):
        return "unreachable"
    if any(p in text for p in PULL_TRANSIENT):
        return "transient"
    return "refused"


def pull(image: str, on_line: LineFn | None = None) -> bool:
    """``pull_image`` (retries, deadline) as a yes/no: False when the image cannot be pulled."""
    try:
        pull_image(image, on_line)
    except PullFailed:
        return False
    return True


def pull_image(
    image: str,
    on_line: LineFn | None = None,
    *,
    deadline: float = 900,
    attempts: int = 4,
    wait: float = 2.0,
) -> None:
    """``docker pull IMAGE``, each output line to ``on_line``, within ``deadline`` seconds in all.

    A transient failure (timeout, reset, 429, 5xx) is retried with exponential backoff (tenacity)
    up to ``attempts`` times; then, or on any other failure, ``PullFailed`` (one line; its
    ``reason`` says whether no registry answered at all)."""
    import time

    from tenacity import (
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        stop_after_delay,
        wait_exponential,
    )

    end = time.monotonic() + deadline

    def attempt() -> None:
        left = max(1.0, end - time.monotonic())
        try:
            result = stream(
                ["pull", image], on_line, check=False, what=f"docker pull {image}", timeout=left
            )
        except Timeout as e:  # the deadline
            raise PullFailed(
                f"pulling {image} did not finish within {deadline:.0f} s", "transient"
            ) from e
        if result.returncode != 0:
            reason = pull_failure(result.output)
            raise PullFailed(f"pulling {image} failed: {last_error_line(result.output)}", reason)

    try:
        for a in Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, PullFailed) and e.reason == "transient"
            ),
            stop=stop_after_attempt(attempts) | stop_after_delay(deadline),
            wait=wait_exponential(multiplier=wait, max=30),
            reraise=True,
        ):
            with a:
                attempt()
    except PullFailed as e:
        if e.reason == "transient":
            raise PullFailed(
                f"{e.message} (after {attempts} tries)",
                "transient",
                hint="retry later, or build everything from source with --offline",
            ) from None
        raise


def save(refs: Sequence[str], archive: str, timeout: float = 900) -> None:
    """``docker save -o ARCHIVE REF...``: the images as one OCI/docker archive (works with the
    classic image store and the containerd one alike)."""
    run(["save", "-o", archive, *refs], timeout=timeout, what=f"docker save {' '.join(refs)}")


def tag(source: str, target: str) -> None:
    run(["tag", source, target], what=f"docker tag {target}")


def build(
    context: str,
    image: str,
    *,
    build_args: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    on_line: LineFn | None = None,
    what: str = "",
) -> Result:
    """Build ``image`` from ``context``: BuildKit (``docker buildx build --load``) where the current
    builder uses the docker driver, so the image lands in the engine's own store and a local base
    (the offline ``kubetm.local/...`` ones) is used as is; the classic builder where that is all
    there is. ``on_line`` hears the classic builder's "Step N/M" lines or BuildKit's plain ones."""
    buildkit = builder() == "buildkit"
    # the classic builder's --force-rm: a failed step's container goes too (a full disk keeps
    # nothing half-built)
    args = (
        ["buildx", "build", "--load", "--progress=plain"] if buildkit else ["build", "--force-rm"]
    )
    for k, v in (build_args or {}).items():
        args += ["--build-arg", f"{k}={v}"]
    for k, v in (labels or {}).items():
        args += ["--label", f"{k}={v}"]
    args += ["--tag", image, context]
    env = None if buildkit else CLASSIC_BUILDER
    return stream(args, on_line, env=env, what=what or f"building {image}")


def builder() -> str:
    """ "buildkit" when ``docker buildx`` is there and its current builder uses the docker driver
    (images land in the engine's store; a docker-container builder would need a registry for its
    bases), else "classic"."""
    if "kind" not in _builder:
        cp = run(["buildx", "inspect"], check=False, timeout=30)
        driver = ""
        for line in cp.stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Driver":
                driver = value.strip()
                break
        _builder["kind"] = "buildkit" if cp.returncode == 0 and driver == "docker" else "classic"
    return _builder["kind"]


def push(image: str, on_line: LineFn | None = None) -> Result:
    """``docker push``; never raises on a failed push: the caller reads the output (see images.push)."""
    return stream(["push", image], on_line, check=False, what=f"pushing {image}")


# ------------------------------------------------------------------------------ containers


def inspect_container(name: str) -> dict | None:
    """``docker container inspect``; None when there is no such container."""
    cp = run(["container", "inspect", name], check=False)
    return json.loads(cp.stdout)[0] if cp.returncode == 0 else None


def running(name: str) -> bool:
    info = inspect_container(name)
    return bool(info and (info.get("State") or {}).get("Running"))


def run_container(args: Sequence[str], what: str = "") -> str:
    """``docker run --detach <args>``; returns the container id."""
    return run(["run", "--detach", *args], what=what or "docker run").stdout.strip()


def remove(name: str, what: str = "", check: bool = True) -> None:
    """``docker rm --force`` (a container that is already gone is fine with check=False)."""
    run(["rm", "--force", name], what=what or f"removing {name}", check=check)


def start(name: str, timeout: float | None = None, what: str = "") -> None:
    run(["start", name], timeout=timeout, what=what or f"docker start {name}")


def stop(name: str, grace: int = 10, timeout: float | None = None, what: str = "") -> None:
    """``docker stop --time <grace>``: SIGTERM, then SIGKILL after ``grace`` seconds."""
    run(["stop", "--time", str(grace), name], timeout=timeout, what=what or f"docker stop {name}")


def exec_in(
    container: str,
    cmd: Sequence[str],
    *,
    input: str | None = None,
    timeout: float | None = None,
    what: str = "",
) -> str:
    """``docker exec [-i] <container> <cmd>``: the command's standard output."""
    args = ["exec", *(["-i"] if input is not None else []), container, *cmd]
    return run(
        args, input=input, timeout=timeout, what=what or f"docker exec {container} {cmd[0]}"
    ).stdout


def logs_tail(name: str, lines: int = 5) -> str:
    """The last lines a container printed (stdout and stderr), '' when it cannot be read."""
    cp = run(["logs", "--tail", str(lines), name], check=False)
    return cp.stderr + cp.stdout


def ps(filters: Sequence[str] = (), all: bool = False) -> list[dict]:
    """``docker ps --filter F ... --format '{{json .}}'``: one dict per container."""
    args = ["ps", *(["-a"] if all else [])]
    for f in filters:
        args += ["--filter", f]
    cp = run([*args, "--format", "{{json .}}"], what="docker ps")
    return [json.loads(line) for line in cp.stdout.splitlines() if line.strip().startswith("{")]


def port_user(port: int) -> str:
    """Who holds a host port, for error messages: a container name when Docker publishes it."""
    cp = run(["ps", "--filter", f"publish={port}", "--format", "{{.Names}}"], check=False)
    names = cp.stdout.split()
    return f"container {names[0]}" if names else "another program"


# ------------------------------------------------------------------------------ networks, volumes


def network_exists(network: str) -> bool:
    return run(["network", "inspect", network], check=False).returncode == 0


def network_connect(network: str, container: str) -> None:
    """Attach a container to a network; already attached is fine."""
    cp = run(["network", "connect", network, container], check=False)
    if cp.returncode != 0 and "already exists" not in cp.stderr:
        raise error(cp.stderr, f"connecting {container} to network {network}")


def volume_remove(volume: str) -> bool:
    return run(["volume", "rm", volume], check=False).returncode == 0
