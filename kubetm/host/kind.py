"""The kind CLI: which kind binary, and the cluster commands kubetm runs (create, delete, get, load).

``kind_binary`` is the one answer to "which kind": kind from PATH, else the kind that
hack/offline/build-go.sh built at the pinned KIND_VERSION (hack/offline/versions.env) into the
offline cache, built on demand when Go is available. Never "the newest kind found in the cache":
kind and its node image come in pairs (a kind release knows the node image layout and kubeadm
config of its era), and versions.env is where that pair is pinned.

Nothing here prints: ``kind create cluster`` hands each output line to ``on_line``.
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kubetm.errors import CommandFailed, KubetmError, NotFound, Unreachable
from kubetm.host import docker, offline
from kubetm.host import exec as hexec
from kubetm.host.exec import LineFn


def pinned() -> str:
    """KIND_VERSION from hack/offline/versions.env (e.g. ``v0.30.0``)."""
    return offline.versions()["KIND_VERSION"]


def install_command(system: str | None = None) -> str:
    """How to install the pinned kind on ``system`` (sys.platform; default: this machine's)."""
    v = pinned()
    system = system or sys.platform
    if system == "darwin":
        return (
            f"brew install kind (check `kind version` says {v}), or go install sigs.k8s.io/kind@{v}"
        )
    if system.startswith("win"):
        return f"choco install kind --version {v.lstrip('v')}"
    return f"go install sigs.k8s.io/kind@{v}"


def install_hint() -> str:
    return f"install kind ({install_command()}) or run `make cluster`"


@functools.lru_cache(maxsize=8)
def version_of(path: str) -> str:
    """``kind version`` of the binary at ``path``: "v0.30.0" ('' when it does not say). A binary of
    another architecture is one line naming the file and both architectures."""
    out = hexec.run([path, "version"], check=False, timeout=30, what="kind version").output
    for word in out.split():
        if word.startswith("v") and word[1:2].isdigit():
            return word
    return ""


def mismatch(path: str, found: str) -> KubetmError:
    """The one line for a kind whose version is not the pinned one."""
    return KubetmError(
        f"kind {found or '(unknown version)'} at {path} is not the pinned kind {pinned()} "
        "(kind and its node image come in pairs)",
        hint=f"install it: {install_command()}; or remove {path} and let kubetm build it",
    )


def _cached() -> str | None:
    """The kind build-go.sh built, when it is at the pinned version (or its stamp is absent)."""
    built = offline.bin_dir() / "kind"
    stamped = offline.built_version("kind")
    if built.exists() and stamped in (None, offline.versions()["KIND_VERSION"]):
        return str(built)
    return None


def kind_binary(build: bool = False, on_line: LineFn | None = None) -> str:
    """kind from PATH, else the pinned one under the offline cache; with ``build`` (and Go on PATH)
    build that one from source first (hack/offline/build-go.sh kind, output to ``on_line``)."""
    found = shutil.which("kind")
    if found and version_of(found) == pinned():
        return found
    built = _cached()
    if built is None and build and shutil.which("go"):
        offline.run_script("build-go.sh", "kind", what="building kind from source", on_line=on_line)
        built = _cached()
    if built is not None:
        return built
    if found:  # a kind of another version, and no pinned one to use instead
        raise mismatch(found, version_of(found))
    raise KubetmError("kind is not installed", hint=install_hint())


def clusters() -> list[str]:
    """``kind get clusters``."""
    out = hexec.run([kind_binary(), "get", "clusters"], what="kind get clusters").stdout
    return [c for c in out.split() if c]


def create_cluster(
    name: str, config_path: str, image: str | None = None, on_line: LineFn | None = None
) -> None:
    """``kind create cluster --name NAME --config PATH [--image IMAGE]``, output to ``on_line``."""
    args = [
        kind_binary(),
        "create",
        "cluster",
        "--name",
        name,
        "--config",
        config_path,
        "--retain=false",
    ]
    if image:
        args += ["--image", image]
    hexec.stream(args, on_line, what="kind create cluster")


def delete_cluster(name: str, timeout: float | None = 300) -> None:
    hexec.run(
        [kind_binary(), "delete", "cluster", "--name", name],
        timeout=timeout,
        what="kind delete cluster",
    )


def load_images(cluster: str, refs: Sequence[str]) -> None:
    """Copy local images into every node of ``cluster``: ``docker save`` to an archive, then
    ``kind load image-archive``. (``kind load docker-image`` fails with Docker's containerd image
    store, "content digest ... not found", kind#3795; an archive works with either store.)"""
    kind = kind_binary()
    with tempfile.TemporaryDirectory(prefix="kubetm-load-") as tmp:
        archive = str(Path(tmp) / "images.tar")
        docker.save(refs, archive)
        try:
            hexec.run(
                [kind, "load", "image-archive", "--name", cluster, archive],
                what="kind load image-archive",
            )
        except CommandFailed as e:
            raise _load_error(e, cluster) from None


def _load_error(e: CommandFailed, cluster: str) -> KubetmError:
    if "no nodes found" in e.output:
        return NotFound(f"kind cluster {cluster!r} does not exist", hint="kubetm cluster up")
    if docker.engine_down(e.output):
        return Unreachable(docker.DOCKER_DOWN)
    return e
