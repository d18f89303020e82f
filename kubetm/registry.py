"""The local registry on localhost:5001 (container ``kubetm-registry``).

A real registry: the CNCF distribution server packaged by Debian (``docker-registry``), in an
image built from images/registry/ on the Debian base (offline: kubetm.local/debian:bookworm) with
the host's /usr/bin/docker-registry copied in, or installed from Debian when the host lacks it.
No container registry is needed to build it. It runs with restart=always, published on
127.0.0.1:5001 -> 5000, stores blobs on the named volume ``kubetm-registry-data``, and joins the
docker network ``kind`` (nodes reach it as http://kubetm-registry:5000).

    >>> from kubetm import registry
    >>> registry.ensure()              # idempotent: {"name": "kubetm-registry", "running": True, ...}
    >>> registry.status()["catalog"]   # ['kubetm/hello', ...]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kubetm import labels
from kubetm.bases import base_images, images_dir
from kubetm.errors import KubetmError
from kubetm.host import docker, net
from kubetm.host.exec import last_error_line

NAME = "kubetm-registry"
PORT = 5001
IMAGE = "kubetm.local/registry:2"
VOLUME = "kubetm-registry-data"
HOST_BINARY = Path("/usr/bin/docker-registry")
CONTEXT_LABEL = labels.CONTEXT


def ensure(
    port: int = PORT, name: str = NAME, network: str | None = "kind", progress: bool = True
) -> dict:
    """Start the registry unless it already runs; connect it to ``network`` when that exists.

    >>> ensure()["url"]        # 'localhost:5001'
    """
    docker.require_docker()
    info = _container(name)
    if (
        info is not None
        and (info["Config"].get("Labels") or {}).get(labels.MANAGED_BY) != labels.MANAGED_BY_VALUE
    ):
        raise KubetmError(
            f"a container named {name} exists and was not created by kubetm",
            hint=f"remove it (docker rm -f {name}) and retry",
        )
    if info is None:
        _check_port(port)  # refuse before building anything
    image_id = docker.inspect_images([ensure_image(progress=progress)])[0]["Id"]
    if info is not None and (_published_port(info) != port or info["Image"] != image_id):
        docker.remove(name, what=f"replacing {name}")  # blobs stay on the volume
        info = None
    created = False
    if info is None:
        _check_port(port)
        docker.run_container(
            [
                "--name",
                name,
                "--restart=always",
                "--label",
                labels.MANAGED_SELECTOR,
                "--label",
                f"{labels.COMPONENT}=registry",
                "--publish",
                f"127.0.0.1:{port}:5000",
                "--volume",
                f"{VOLUME}:/var/lib/registry",
                IMAGE,
            ],
            what=f"starting the registry container {name}",
        )
        created = True
    elif not info["State"]["Running"]:
        _check_port(port)
        docker.start(name, what=f"starting {name}")
    _wait_up(port, name)
    if network:
        connect(network, name)
    return status(port, name) | {"created": created}


def _check_port(port: int) -> None:
    if not net.port_free(port):
        raise KubetmError(
            f"port 127.0.0.1:{port} for the local registry is already in use by {docker.port_user(port)}",
            hint="stop it and retry",
        )


def connect(network: str = "kind", name: str = NAME) -> bool:
    """Attach the registry to a docker network (idempotent). False when the network does not exist.

    >>> connect("kind")   # called by cluster.up() once kind has created its network
    """
    if not docker.network_exists(network):
        return False
    info = _container(name)
    if info is None:
        raise KubetmError(f"registry container {name} does not exist", hint="kubetm cluster up")
    if network in (info["NetworkSettings"].get("Networks") or {}):
        return True
    docker.network_connect(network, name)
    return True


def status(port: int = PORT, name: str = NAME) -> dict:
    """Whether the registry runs, its networks, and its catalog (/v2/_catalog) with tags."""
    docker.require_docker()
    info = _container(name)
    running = bool(info and info["State"]["Running"])
    out: dict[str, Any] = {
        "name": name,
        "exists": info is not None,
        "running": running,
        "image": IMAGE,
        "url": f"localhost:{port}",
        "port": port,
        "volume": VOLUME,
        "networks": sorted((info or {}).get("NetworkSettings", {}).get("Networks") or {}),
        "catalog": [],
        "tags": {},
    }
    if running:
        try:
            out["catalog"] = _get(port, "/v2/_catalog?n=1000").get("repositories") or []
            out["tags"] = {r: _tags(port, r) for r in out["catalog"]}
        except (OSError, ValueError) as e:
            out["error"] = f"registry does not answer on 127.0.0.1:{port}: {e}"
    return out


def _tags(port: int, repository: str) -> list[str]:
    """The tags of one repository of the catalog. A repository whose first push is under way
    (its layers are stored, its manifest not yet: e.g. a helm chart being pushed) is already in
    the catalog while its tags list answers 404 NAME_UNKNOWN: no tags yet, not a registry that
    does not answer."""
    try:
        return sorted(_get(port, f"/v2/{repository}/tags/list").get("tags") or [])
    except _HTTPStatus as e:
        if e.status == 404:
            return []
        raise


def has_tag(repository: str, tag: str, port: int = PORT) -> bool:
    """Does the local registry serve ``repository:tag``? False when it does not answer at all."""
    try:
        return tag in _tags(port, repository)
    except (OSError, ValueError):
        return False


def remove(name: str = NAME, volume: bool = False) -> dict:
    """Delete the registry container (and its storage volume with ``volume=True``)."""
    docker.require_docker()
    existed = _container(name) is not None
    if existed:
        docker.remove(name, what=f"removing {name}")
    vol = False
    if volume:
        vol = docker.volume_remove(VOLUME)
    return {"name": name, "removed": existed, "volume_removed": vol}


def ensure_image(progress: bool = False, offline: bool | None = None) -> str:
    """Build the registry image unless one built from the current images/registry/ exists."""
    src = images_dir() / "registry"
    digest = _context_hash(src)
    if docker.image_label(IMAGE, CONTEXT_LABEL) == digest:
        return IMAGE
    bases, _, _ = base_images({"debian"}, offline)
    if progress:
        from kubetm import progress as report

        report.note(f"building the local registry image {IMAGE} (FROM {bases['debian']})")
    use_host = HOST_BINARY.exists()
    for attempt in [True, False] if use_host else [False]:
        if _build(src, bases["debian"], digest, attempt):
            return IMAGE
    raise KubetmError(f"building {IMAGE} failed", hint="see `docker build images/registry` output")


def _build(src: Path, base: str, digest: str, host_binary: bool) -> bool:
    """One build attempt; with host_binary the host's docker-registry is copied in, else Debian's is installed.

    The Dockerfile runs `docker-registry --version`, so a binary that cannot run there fails the build.
    """
    with tempfile.TemporaryDirectory(prefix="kubetm-registry-") as tmp:
        ctx = Path(tmp)
        for f in ("Dockerfile", "config.yml"):
            shutil.copy2(src / f, ctx / f)
        (ctx / "bin").mkdir()
        (ctx / "bin" / ".keep").touch()
        if host_binary:
            shutil.copy2(HOST_BINARY, ctx / "bin" / "docker-registry")
        try:
            docker.build(
                str(ctx),
                IMAGE,
                build_args={"BASE": base},
                labels={CONTEXT_LABEL: digest},
                what=f"building {IMAGE} (FROM {base})",
            )
        except KubetmError:
            if (
                host_binary
            ):  # the copied binary did not run in the base (e.g. the host's libc is newer)
                return False
            raise
    return True


def _context_hash(src: Path) -> str:
    h = hashlib.sha256()
    for f in ("Dockerfile", "config.yml"):
        h.update((src / f).read_bytes())
    if HOST_BINARY.exists():
        st = HOST_BINARY.stat()
        h.update(f"{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _container(name: str) -> dict | None:
    return docker.inspect_container(name)


def _published_port(info: dict) -> int | None:
    bindings = (info.get("HostConfig") or {}).get("PortBindings") or {}
    for b in bindings.get("5000/tcp") or []:
        if b.get("HostPort"):
            return int(b["HostPort"])
    return None


class _HTTPStatus(ValueError):
    """The registry answered, but not 200 (``status``)."""

    def __init__(self, status: int, path: str) -> None:
        super().__init__(f"HTTP {status} for {path}")
        self.status = status


def _get(port: int, path: str) -> dict:
    status, body = net.http_get(f"http://127.0.0.1:{port}{path}", timeout=5)
    if status != 200:
        raise _HTTPStatus(status, path)
    return json.loads(body or b"{}")


def _wait_up(port: int, name: str, timeout: float = 30) -> None:
    """Retry GET /v2/ (backoff) until the registry answers; fail early if its container exited."""

    def alive() -> None:
        info = _container(name)
        if info is None or (not info["State"]["Running"] and not info["State"].get("Restarting")):
            raise KubetmError(
                f"registry container {name} exited", hint=last_error_line(docker.logs_tail(name))
            )

    net.wait_answer(
        f"http://127.0.0.1:{port}/v2/", alive, timeout, what=f"the registry on 127.0.0.1:{port}"
    )
