"""The offline build (hack/offline/): its pinned versions, its cache, its scripts, and the decision
whether to use it.

kubetm builds everything from source when no container registry is reachable: the kind node image
(node-image.sh), the Debian base images of the course images (base-images.sh), kind and the
components (build-go.sh, component-images.sh). Versions are pinned once, in
hack/offline/versions.env; the scripts put what they build under ~/.cache/kubetm/offline
(KUBETM_CACHE overrides ~/.cache/kubetm).

``decide_offline`` is the one online/offline decision, for the cluster (the stock kind node image)
and for the course images (their public bases): asked for (argument, KUBETM_OFFLINE), else offline
exactly when one of the public images is neither present locally nor pullable.

Nothing here prints: scripts hand each output line to ``on_line``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kubetm.errors import CommandFailed, KubetmError
from kubetm.host import docker
from kubetm.host import exec as hexec
from kubetm.host.exec import LineFn
from kubetm.resources import find

OFFLINE_DIR = find("hack") / "offline"  # the checkout's hack/offline, or the wheel's copy


def versions() -> dict[str, str]:
    """hack/offline/versions.env as a dict (the one place versions are pinned)."""
    out: dict[str, str] = {}
    for line in (OFFLINE_DIR / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def cache_root() -> Path:
    """kubetm's cache folder: $KUBETM_CACHE, else ~/.cache/kubetm."""
    return Path(os.environ.get("KUBETM_CACHE") or Path.home() / ".cache" / "kubetm")


def cache_dir() -> Path:
    """Where hack/offline/*.sh keep what they build (lib.sh's $CACHE)."""
    return cache_root() / "offline"


def bin_dir() -> Path:
    """Where build-go.sh installs the programs it builds (lib.sh's $BIN)."""
    return cache_dir() / "bin" / versions()["K8S_VERSION"]


def built_version(name: str) -> str | None:
    """The version build-go.sh stamped for ``name`` (None: never built, or built by hand)."""
    stamp = cache_dir() / "stamps" / name
    return stamp.read_text().strip() if stamp.is_file() else None


def run_script(
    script: str,
    *args: str,
    what: str,
    on_line: LineFn | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run hack/offline/<script> [args], each output line to ``on_line``.

    Fails with one line: '<what> failed (exit N)' (the script's own output, already shown through
    ``on_line``, says why).
    """
    path = OFFLINE_DIR / script
    if not path.exists():
        raise KubetmError(
            f"{path} not found",
            hint="reinstall kubetm (its wheel carries hack/), or run from a kubetm source checkout",
        )
    result = hexec.stream([str(path), *args], on_line, check=False, env=env, what=what)
    if result.returncode != 0:
        raise CommandFailed(
            f"{what} failed (exit {result.returncode})",
            hint="see the output above",
            cmd=[str(path), *args],
            output=result.stdout,
            returncode=result.returncode,
        )


OFFLINE_DISK_GB = 16  # the offline build and the cluster (cluster.py's DISK_NEEDED_GB["offline"])


def can_build(disk_gb: float = OFFLINE_DISK_GB) -> tuple[bool, str]:
    """Whether the offline build can run here, and why not: it needs Linux (debootstrap, the node
    image's rootfs), root (debootstrap, chroot) and ``disk_gb`` free at Docker's data root and in
    the cache (about 16 GB to build; less when its result is already there: the caller knows)."""
    import shutil
    import sys

    if not sys.platform.startswith("linux"):
        return False, f"the offline build runs on Linux only (this is {sys.platform})"
    if os.geteuid() != 0:
        return False, "the offline build needs root (debootstrap)"
    for path in (docker.root_dir(), str(cache_dir())):
        probe = Path(path)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free / 1e9
        if free < disk_gb:
            return (
                False,
                f"the offline build needs ~{disk_gb:g} GB, {free:.1f} GB free at {path}",
            )
    return True, ""


def decide_offline(
    images: Sequence[str],
    offline: bool | None = None,
    *,
    online_reason: str = "public base images available",
    on_pull: Callable[[str], None] | None = None,
    offline_disk_gb: Callable[[], float] = lambda: OFFLINE_DISK_GB,
) -> tuple[bool, str]:
    """Whether to use the offline build, and why. Never a silent switch:

    ``offline`` (an explicit --offline/--online) wins, then KUBETM_OFFLINE=1/0. Else online when
    every one of ``images`` (the public images the online way needs) is present or pulls; offline
    only when no registry answers at all AND the offline build can run here (``can_build``). A pull
    that keeps failing for another reason (retried with backoff first) is one line suggesting
    --offline. ``on_pull`` (default: kubetm.progress) hears the pull's progress.
    ``offline_disk_gb``: the room the offline way needs (``can_build``), asked only when no
    registry answers; less than the build's when the caller already has its result (the
    cluster's node image built earlier).
    """
    if offline is not None:
        return offline, "asked"
    env = os.environ.get("KUBETM_OFFLINE", "").strip().lower()
    if env in ("1", "true", "yes"):
        return True, "KUBETM_OFFLINE=1"
    if env in ("0", "false", "no"):
        return False, "KUBETM_OFFLINE=0"
    if on_pull is None:
        from kubetm import progress

        on_pull = progress.note
    heard: Callable[[str], None] = on_pull
    for image in images:
        if docker.image_present(image):
            continue
        heard(f"{image} is not present locally: trying to pull it")

        def on_line(line: str, image: str = image) -> None:
            heard(f"pulling {image}: {line}")

        try:
            docker.pull_image(image, on_line=on_line)
        except docker.PullFailed as e:
            if e.reason != "unreachable":
                raise KubetmError(
                    e.message,
                    hint=e.hint or "check the image name, or build from source with --offline",
                ) from None
            ok, why = can_build(offline_disk_gb())
            if not ok:
                raise KubetmError(
                    f"no container registry answers ({e.message}) and {why}",
                    hint="connect to the network (or a registry mirror) and retry",
                ) from None
            return (
                True,
                f"no registry answers ({image} cannot be pulled), the offline build can run here",
            )
    return False, online_reason
