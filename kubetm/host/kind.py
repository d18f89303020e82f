"""The kind CLI: which kind binary, and the cluster commands kubetm runs (create, delete, get, load).

``kind_binary`` is the one answer to "which kind": kind from PATH, else the kind that
hack/offline/build-go.sh built at the pinned KIND_VERSION (hack/offline/versions.env) into the
offline cache, built on demand when Go is available. Never "the newest kind found in the cache":
kind and its node image come in pairs (a kind release knows the node image layout and kubeadm
config of its era), and versions.env is where that pair is pinned.

Nothing here prints: ``kind create cluster`` hands each output line to ``on_line``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from kubetm.errors import CommandFailed, KubetmError, NotFound, Unreachable
from kubetm.host import docker, offline
from kubetm.host import exec as hexec
from kubetm.host.exec import LineFn


def install_hint() -> str:
    return (
        f"install kind (go install sigs.k8s.io/kind@{offline.versions()['KIND_VERSION']}) "
        "or run `make cluster`"
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
    if found:
        return found
    built = _cached()
    if built is None and build and shutil.which("go"):
        offline.run_script("build-go.sh", "kind", what="building kind from source", on_line=on_line)
        built = _cached()
    if built is not None:
        return built
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
    """``kind load docker-image``: copy local images into every node of ``cluster``."""
    try:
        hexec.run(
            [kind_binary(), "load", "docker-image", "--name", cluster, *refs],
            what="kind load docker-image",
        )
    except CommandFailed as e:
        if "no nodes found" in e.output:
            raise NotFound(
                f"kind cluster {cluster!r} does not exist", hint="kubetm cluster up"
            ) from None
        if docker.engine_down(e.output):
            raise Unreachable(docker.DOCKER_DOWN) from None
        raise
